"""Who sees what, and what a forged request gets: markup in print attributes, CSRF, owners, sessions, throttling."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from argon2 import PasswordHasher
from playwright.sync_api import Browser, expect

from tests.support.documents import invoice_pdf
from tests.support.harness import REPO, Server
from tests.support.web import DESKTOP, PASSWORD, add_user, api_login, ipp_print, login, login_page_uris, set_fields

XSS = "<img src=x onerror=alert(1)>"


@dataclass
class Office:
    """One running product with an admin, two clerks and an invoice each (plus one printed with markup)."""

    server: Server
    ids: dict[str, int]

    @property
    def url(self) -> str:
        return self.server.url


def _import(data_dir: Path, pdf: Path, user: str) -> None:
    argv = [sys.executable, "-m", "connect_core.cli", "import", str(pdf), "--user", user, "--data-dir", str(data_dir)]
    subprocess.run(argv, check=True, capture_output=True, cwd=REPO, timeout=120)


@pytest.fixture(scope="module")
def office() -> Iterator[Office]:
    root = Path(tempfile.mkdtemp(prefix="pagero-test-", dir="/var/tmp"))
    data = root / "data"
    data.mkdir()
    add_user(data, "admin", admin=True)
    add_user(data, "alice", print_names=("alice", "Alice Smith"))
    add_user(data, "bob")
    for n, owner in enumerate(("alice", "Alice Smith", "bob")):
        _import(data, invoice_pdf(root / f"{n}.pdf", f"SEC-{n}", total=f"{n + 1}00,00"), owner)
    with sqlite3.connect(data / "connect.db") as conn:
        ids = {owner: i for i, owner in conn.execute("SELECT id, owner FROM invoices")}
    for owner, invoice_id in ids.items():
        set_fields(data, invoice_id, invoice_number=f"SEC-{owner.replace(' ', '-')}", buyer=f"Buyer of {owner}")
    server = Server(data, config=_config(root)).start()
    try:
        yield Office(server, ids)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _config(root: Path) -> Path:
    path = root / "config.yaml"
    path.write_text("sending:\n  mode: manual\n")
    return path


# -- T23: markup in print attributes -----------------------------------------------------------


def test_a_job_named_with_markup_shows_as_text(browser: Browser, office: Office, data_root: Path) -> None:
    ipp_print(office.server.uri, invoice_pdf(data_root / "x.pdf", "XSS-1"), user="bob", job_name=XSS)
    context = browser.new_context(viewport=DESKTOP)
    dialogs: list[str] = []
    requested: list[str] = []
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: requested.append(request.url))
        login(page, office.url, "bob")
        row = page.locator("table.invoices tbody tr").filter(has_not_text="SEC-bob")
        expect(row).to_have_count(1, timeout=90_000)
        row.locator("a").click()
        response = page.reload()
        assert response is not None
        assert "default-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator("[data-test=job]")).to_contain_text(XSS)
        expect(page.locator("[data-test=history]")).to_contain_text(f"received from ipp ({XSS})")
        assert page.locator("img[src=x]").count() == 0
        page.wait_for_timeout(500)
    finally:
        context.close()
    assert dialogs == []
    assert not [url for url in requested if url.endswith("/x")]


# -- T21: CSRF and Origin --------------------------------------------------------------------


def _state(office: Office, invoice_id: int) -> str:
    with sqlite3.connect(office.server.data_dir / "connect.db") as conn:
        return str(conn.execute("SELECT state FROM invoices WHERE id = ?", (invoice_id,)).fetchone()[0])


def test_forged_changes_get_403_and_change_nothing(office: Office) -> None:
    alice, alice_csrf = api_login(office.url, "alice")
    bob, bob_csrf = api_login(office.url, "bob")
    mine = office.ids["alice"]
    form = f"{office.url}/invoices/{mine}/delete"
    api = f"{office.url}/api/invoices/{mine}"
    forged = [
        alice.post(form, data={}, allow_redirects=False),  # no token
        alice.post(form, data={"csrf": bob_csrf}, allow_redirects=False),  # another session's token
        alice.post(form, data={"csrf": alice_csrf}, headers={"Origin": "http://evil.example"}, allow_redirects=False),
        alice.post(form, data={"csrf": alice_csrf}, headers={"Referer": "http://evil.example/page"},
                   allow_redirects=False),
        alice.delete(api),
        alice.delete(api, headers={"X-CSRF-Token": bob_csrf}),
        alice.delete(api, headers={"X-CSRF-Token": alice_csrf, "Origin": "https://127.0.0.1.evil.example"}),
        requests.post(f"{office.url}/login", data={"username": "alice", "password": PASSWORD},
                      allow_redirects=False),  # login without the login form's token
    ]
    assert [r.status_code for r in forged] == [403] * len(forged)
    # No change over GET.
    assert alice.get(form, allow_redirects=False).status_code == 405
    assert _state(office, mine) == "ready"
    # The real thing, from our own page, works.
    done = alice.post(form, data={"csrf": alice_csrf, "back": "/outbound/files-to-send"},
                      headers={"Origin": office.url}, allow_redirects=False)
    assert done.status_code == 303 and _state(office, mine) == "deleted"
    assert bob.get(f"{office.url}/api/session").status_code == 200


# -- T20: owners -----------------------------------------------------------------------------


def test_a_clerk_sees_own_invoices_and_gets_404_for_another_clerks(office: Office) -> None:
    alice, alice_csrf = api_login(office.url, "Alice")  # one user, however it is spelled
    bob, _ = api_login(office.url, "bob")
    admin, _ = api_login(office.url, "admin")
    everything = {r["owner"] for r in admin.get(f"{office.url}/api/invoices").json()["items"]}
    assert {"alice", "Alice Smith", "bob"} <= everything
    alice_sees = {r["owner"] for r in alice.get(f"{office.url}/api/invoices").json()["items"]}
    assert alice_sees <= {"alice", "Alice Smith"} and "Alice Smith" in alice_sees
    assert {r["owner"] for r in bob.get(f"{office.url}/api/invoices").json()["items"]} == {"bob"}
    # Without printing passwords (printer.authentication: none), a clerk's lists say what "theirs" rests on.
    whose = re.search(r'data-test="whose">(.*?)</p>', alice.get(f"{office.url}/outbound/sent").text, re.S)
    assert whose is not None
    assert "“Alice Smith”, “alice”" in whose.group(1) and "takes on trust" in whose.group(1)
    assert 'data-test="whose"' not in admin.get(f"{office.url}/outbound/sent").text

    theirs = office.ids["bob"]
    for path in (f"/invoices/{theirs}", f"/invoices/{theirs}/pdf", f"/invoices/{theirs}/pdf?download=1",
                 f"/api/invoices/{theirs}", f"/api/invoices/{theirs}/history", f"/api/invoices/{theirs}/pdf"):
        answer = alice.get(office.url + path, allow_redirects=False)
        assert answer.status_code == 404, path
        assert "SEC-bob" not in answer.text and "Buyer of bob" not in answer.text
        assert bob.get(office.url + path).status_code == 200, path
        assert admin.get(office.url + path).status_code == 200, path
    acted = alice.post(f"{office.url}/api/invoices/{theirs}/approve", headers={"X-CSRF-Token": alice_csrf})
    assert acted.status_code == 404
    sent = alice.post(f"{office.url}/api/invoices/send", json={"ids": [theirs], "environment": "Test"},
                      headers={"X-CSRF-Token": alice_csrf})
    assert sent.status_code == 404 and _state(office, theirs) == "ready"
    # Guessing ids finds nothing of anyone else's.
    for guess in range(1, 12):
        answer = alice.get(f"{office.url}/api/invoices/{guess}")
        assert answer.status_code == 404 or answer.json()["owner"] in ("alice", "Alice Smith")
    # Settings are for admins.
    assert alice.get(f"{office.url}/settings").status_code == 403
    assert alice.get(f"{office.url}/api/settings").status_code == 403
    assert alice.put(f"{office.url}/api/settings", json={"sending_mode": "automatic"},
                     headers={"X-CSRF-Token": alice_csrf}).status_code == 403
    # Nobody logged in: pages send to the login form, the API says 401, and nothing leaks.
    for path in (f"/invoices/{theirs}", f"/invoices/{theirs}/pdf", "/outbound/sent", "/settings"):
        answer = requests.get(office.url + path, allow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    for path in (f"/api/invoices/{theirs}", "/api/invoices", "/api/status", "/api/settings"):
        answer = requests.get(office.url + path)
        assert answer.status_code == 401 and "SEC-" not in answer.text


def test_a_second_user_differing_only_in_case_is_refused(office: Office) -> None:
    argv = [sys.executable, "-m", "connect_core.cli", "user", "add", "BOB", "--password-stdin",
            "--data-dir", str(office.server.data_dir)]
    result = subprocess.run(argv, input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2 and "already exists" in result.stderr


# -- T21: sessions -----------------------------------------------------------------------------


def test_sessions_are_new_at_login_httponly_samesite_and_end_at_logout(browser: Browser, office: Office) -> None:
    context = browser.new_context(viewport=DESKTOP)
    try:
        planted = "attacker-chosen-session-id-0123456789abcdef"
        context.add_cookies([{"name": "pagero_session", "value": planted, "url": office.url}])
        page = context.new_page()
        login(page, office.url, "bob")
        cookie = next(c for c in context.cookies() if c["name"] == "pagero_session")
        assert cookie["value"] != planted and len(cookie["value"]) >= 43  # 256 random bits
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie").find(cookie["value"]) == -1
        stolen = requests.Session()
        stolen.cookies.set("pagero_session", cookie["value"])
        assert stolen.get(f"{office.url}/api/session").status_code == 200
        page.click("button:has-text('Log out')")
        page.wait_for_url(re.compile(r".*/$"))
        assert stolen.get(f"{office.url}/api/session").status_code == 401  # ended on the server
    finally:
        context.close()


def test_session_ids_do_not_repeat(tmp_path: Path) -> None:
    from connect_core.accounts.sessions import start_session
    from connect_core.accounts.users import add_user as add
    from connect_core.store import open_database

    db = open_database(None, tmp_path)
    try:
        user = add(db, "someone", PASSWORD)
        ids = {start_session(db, user)[0] for _ in range(300)}
    finally:
        db.dispose()
    assert len(ids) == 300 and min(len(i) for i in ids) >= 43


# -- T22: throttling and password storage ------------------------------------------------------


def _login_status(url: str, name: str, password: str) -> tuple[int, str]:
    session = requests.Session()
    token = re.search(r'name="csrf" value="([^"]+)"', session.get(f"{url}/login").text)
    assert token is not None
    answer = session.post(f"{url}/login", data={"username": name, "password": password, "csrf": token.group(1)},
                          allow_redirects=False)
    message = re.search(r'role="alert">([^<]*)<', answer.text)
    return answer.status_code, message.group(1) if message else ""


def test_wrong_passwords_slow_down_the_account_with_one_generic_message(office: Office) -> None:
    unknown = _login_status(office.url, "nobody-here", "wrong password")
    wrong = _login_status(office.url, "admin", "wrong password")
    assert unknown == wrong == (401, "Wrong user name or password.")
    answers = [_login_status(office.url, "admin", f"wrong {n}")[0] for n in range(6)]
    assert answers[:4] == [401] * 4 and 429 in answers
    status, message = _login_status(office.url, "admin", PASSWORD)  # right, but too soon
    assert status == 429 and "Too many failed logins" in message
    with sqlite3.connect(office.server.data_dir / "connect.db") as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM users")]
    for stored in hashes:
        params = dict(p.split("=") for p in stored.split("$")[3].split(","))
        assert stored.startswith("$argon2id$")
        assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2


def test_a_forwarded_for_header_does_not_change_the_address_that_is_throttled(server: Server) -> None:
    """No proxy sits in front of the server: X-Forwarded-For is data, even from 127.0.0.1 (uvicorn's
    default trusts it from there, which would give every failed login a fresh address)."""
    statuses = []
    for n in range(24):
        session = requests.Session()
        headers = {"X-Forwarded-For": f"10.9.{n}.1"}
        token = re.search(r'name="csrf" value="([^"]+)"', session.get(f"{server.url}/login", headers=headers).text)
        assert token is not None
        answer = session.post(f"{server.url}/login", headers=headers, allow_redirects=False,
                              data={"username": f"someone-{n}", "password": "wrong", "csrf": token.group(1)})
        statuses.append(answer.status_code)
    # Each name is new, so only the address (127.0.0.1 throughout) can be what blocks.
    assert statuses[:20] == [401] * 20 and statuses[-1] == 429, statuses


def test_an_old_weak_hash_is_upgraded_at_login(office: Office) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("an old password")
    add_user(office.server.data_dir, "olduser", password="temporary password")
    with sqlite3.connect(office.server.data_dir / "connect.db") as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE name = 'olduser'", (weak,))
    api_login(office.url, "olduser", "an old password")
    with sqlite3.connect(office.server.data_dir / "connect.db") as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE name = 'olduser'").fetchone()
    assert stored != weak and "m=19456,t=2" in stored


# -- the way in ------------------------------------------------------------------------------


def test_first_visit_shows_the_login_form_with_the_user_add_hint_and_the_api_description(server: Server) -> None:
    page = requests.get(server.url + "/")
    assert page.status_code == 200
    assert 'action="/login"' in page.text and "pagero-connect user add NAME --admin" in page.text
    # plain HTTP (TLS turned off): the one printer URI there is
    assert login_page_uris(page.text) == [f"ipp://127.0.0.1:{server.port}/ipp/print"]
    document = requests.get(server.url + "/openapi.json")
    assert document.status_code == 200
    spec = document.json()
    assert spec["openapi"].startswith("3.") and "/api/invoices" in spec["paths"]
    add_user(server.data_dir, "first", admin=True)
    assert "pagero-connect user add" not in requests.get(server.url + "/").text


def test_after_login_only_pages_of_this_site_are_followed(office: Office) -> None:
    def location(next_page: str) -> str:
        session = requests.Session()
        token = re.search(r'name="csrf" value="([^"]+)"', session.get(f"{office.url}/login").text)
        assert token is not None
        answer = session.post(f"{office.url}/login", allow_redirects=False, data={
            "username": "bob", "password": PASSWORD, "csrf": token.group(1), "next": next_page})
        assert answer.status_code == 303
        return str(answer.headers["location"])

    assert location("/search?number=SEC") == "/search?number=SEC"
    for foreign in ("//evil.example/", "https://evil.example/", "/\t/evil.example/", "/\\evil.example/"):
        assert location(foreign) == "/outbound/files-to-send", foreign
