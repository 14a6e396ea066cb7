"""An account set up on the status page is used by the uploader at once, without a restart."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import cli
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.online import DELIVERED, all_in
from tests.support.web import add_user, api_login


def test_saving_the_account_starts_sending_without_a_restart(data_root: Path, emulator: Emulator) -> None:
    config = data_root / "config.yaml"
    config.write_text("sending:\n  mode: automatic\n  poll_seconds: 0.3\n")  # no Online account yet
    server = Server(data_root / "data", config=config)
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    server.start()
    try:
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "a.pdf", "ACC-1")), config=config)
        assert wait_until(lambda: all_in(server.data_dir, {"queued"}, 1))
        assert emulator.files() == []
        api, csrf = api_login(server.url, "anna")
        saved = api.put(f"{server.url}/api/settings", headers={"X-CSRF-Token": csrf}, json={
            "url": emulator.url, "username": "demo", "password": "demo", "company_id": "demo"})
        assert saved.status_code == 200, saved.text
        rows = wait_until(lambda: all_in(server.data_dir, DELIVERED, 1), timeout=60, message="not sent")
        assert [f["senderReference"] for f in emulator.files()] == [rows[0]["uuid"]]
    finally:
        server.stop()
