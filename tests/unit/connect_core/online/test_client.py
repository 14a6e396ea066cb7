"""The API client: token refresh, one retry on 401, a private token file, only the configured hosts."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from connect_core.online.client import (
    Account,
    LoginRefused,
    OnlineClient,
    Rejected,
    Unreachable,
    default_auth_url,
)
from tests.support.emulator import Emulator
from tests.support.harness import free_port


def client_for(emulator: Emulator, token_file: Path, **extra: str) -> OnlineClient:
    return OnlineClient(Account(url=emulator.url, username="demo", password="demo", company_id="demo",
                                       **extra), token_file=token_file)


def test_token_is_refreshed_when_less_than_a_minute_remains(data_root: Path) -> None:
    emulator = Emulator(data_root / "emu", token_seconds=62).start()
    try:
        client = client_for(emulator, data_root / "token.json")
        first = client.access_token()
        assert client.access_token() == first  # 62 s left: still good
        time.sleep(2.5)  # now under 60 s remain
        second = client.access_token()
        assert second != first
        assert client.documents(direction="Received", limit=1)
    finally:
        emulator.stop()


def test_a_401_renews_the_token_once_and_retries(emulator: Emulator, data_root: Path) -> None:
    token_file = data_root / "token.json"
    client = client_for(emulator, token_file)
    client.access_token()
    emulator.stop()
    emulator.start()  # the service forgot every token: the next call gets 401
    assert client.documents(direction="Received", limit=1)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert client.access_token() not in (emulator.log.read_text() if emulator.log.exists() else "")


def test_only_the_configured_hosts_are_contacted(emulator: Emulator, data_root: Path) -> None:
    import socket

    with socket.socket() as canary:
        canary.bind(("127.0.0.1", 0))
        canary.listen()
        canary.settimeout(0.5)
        elsewhere = f"http://127.0.0.1:{canary.getsockname()[1]}/oauth/v2/oauth-token"
        client = client_for(emulator, data_root / "t.json")
        # Every request goes through one gate; a URL on another host never leaves the machine.
        with pytest.raises(Rejected, match="refusing to contact"):
            client._send("POST", elsewhere, data={"grant_type": "password"})
        with pytest.raises(TimeoutError):
            canary.accept()


def test_unreachable_service_is_reported_as_such(data_root: Path) -> None:
    client = OnlineClient(Account(url=f"http://127.0.0.1:{free_port()}", username="demo", password="demo",
                                         company_id="demo"), token_file=data_root / "t.json")
    with pytest.raises(Unreachable):
        client.access_token()
    assert client.check()["reachable"] is False


def test_default_token_url() -> None:
    assert default_auth_url("https://api.pageroonline.com") == "https://sso.pageroonline.com/oauth/v2/oauth-token"
    assert default_auth_url("http://127.0.0.1:8700/") == "http://127.0.0.1:8700/oauth/v2/oauth-token"


def test_the_connection_check_never_says_logged_in_when_the_service_cannot_be_reached(
        emulator: Emulator, data_root: Path) -> None:
    client = client_for(emulator, data_root / "token.json")
    assert client.check() == {"reachable": True, "logged_in": True, "message": "Connected to Pagero Online.",
                              "manual_attachments": False}
    emulator.manual_attachment_handling(True)  # the account's setting at Pagero Online, read by the client
    checked = client.check()
    assert checked["manual_attachments"] is True and "Files awaiting attachments" in checked["message"]
    assert client.attachment_types()["DeliveryNote"] == "Delivery note"
    emulator.stop()  # the token is still in hand, but nobody can confirm the login now
    result = client.with_timeouts(2.0, 2.0).check()
    assert (result["reachable"], result["logged_in"]) == (False, False)
    assert "cannot be reached" in result["message"]


def test_a_wrong_password_is_a_refused_login_not_an_unreachable_service(emulator: Emulator, data_root: Path) -> None:
    client = OnlineClient(Account(url=emulator.url, username="demo", password="wrong", company_id="demo"),
                          token_file=data_root / "token.json")
    with pytest.raises(LoginRefused):
        client.access_token()
    result = client.check()
    assert (result["reachable"], result["logged_in"]) == (True, False)
