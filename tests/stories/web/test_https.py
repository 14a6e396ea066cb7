"""The status page over HTTPS (``tls.enabled``, on unless the admin turns it off): a plain-HTTP page request
is redirected, and Chromium logs in over TLS with a session cookie that is Secure, HttpOnly and SameSite."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser

from ipp.tls import fingerprint
from tests.support.harness import Server
from tests.support.web import PASSWORD, add_user


@pytest.fixture
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("https") / "data", tls=None).start()  # the product's default
    yield server
    server.stop()


def test_a_page_asked_for_over_http_is_redirected_and_the_cookies_are_secure(tls_server: Server,
                                                                            browser: Browser) -> None:
    plain = requests.get(f"http://127.0.0.1:{tls_server.port}/outbound/sent?x=1", allow_redirects=False, timeout=10)
    assert plain.status_code == 308
    assert plain.headers["location"] == f"https://127.0.0.1:{tls_server.port}/outbound/sent?x=1"
    evil = requests.get(f"http://127.0.0.1:{tls_server.port}/", headers={"Host": "evil.example/x"},
                        allow_redirects=False, timeout=10)
    assert evil.headers["location"].startswith("https://127.0.0.1:")  # a Host no browser sends is not echoed
    add_user(tls_server.data_dir, "anna", admin=True)
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{tls_server.port}/login")
        assert page.url.startswith("https://")
        page.fill("input[name=username]", "anna")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"https://.*/outbound/"))
        cookies = {c["name"]: c for c in context.cookies()}
        session = [c for name, c in cookies.items() if "session" in name]
        assert session and all(c["secure"] and c["httpOnly"] and c["sameSite"] == "Strict" for c in session)
        page.goto(f"https://127.0.0.1:{tls_server.port}/settings")
        shown = page.locator("[data-test=fingerprint]").inner_text()
        assert shown == fingerprint(tls_server.data_dir / "tls" / "cert.pem")
    finally:
        context.close()
