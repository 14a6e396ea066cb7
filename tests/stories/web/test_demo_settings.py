"""Demo mode: the emulator's account lives in memory only, and saving one setting writes only that one.

Started as ``make run`` starts it (``serve --demo``, no account configured), the status page
says on every page that invoices go to a local emulator.  An admin who switches to automatic
sending saves the sending mode, and nothing else, into the configuration file the server read;
the next start is a working demo again, sending to a fresh emulator.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from playwright.sync_api import Browser, expect

from tests.support.cli import invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import wait_until
from tests.support.harness import Server
from tests.support.web import DESKTOP, add_user, api_login, ipp_print, login, shot


def test_saving_in_demo_mode_writes_only_the_changed_setting_and_the_next_start_is_still_a_demo(
        data_root: Path, browser: Browser) -> None:
    config = data_root / "config.yaml"
    config.write_text("printer:\n  name: Office Printer\n")
    server = Server(data_root / "data", config, demo=True).start()
    try:
        add_user(server.data_dir, "anna", admin=True)
        web, csrf = api_login(server.url, "anna")
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        login(page, server.url, "anna")
        expect(page.locator("[data-test=demo]")).to_contain_text("Demo — invoices go to a local emulator")
        expect(page.locator("[data-test=online]")).to_have_text("Demo")
        page.goto(server.url + "/settings")
        expect(page.locator("[data-test=connection]")).to_contain_text("the emulator's address is never saved")
        expect(page.locator("input[name=username]")).to_have_value("")
        shot(page, "demo-desktop")
        context.close()
        shown = web.get(server.url + "/api/settings", timeout=30).json()
        assert shown["demo"] is True
        assert shown["online"]["username"] == "" and "127.0.0.1" not in shown["online"]["url"]
        # The form sends every field as shown, with only the sending mode changed.
        form = {"sending_mode": "automatic", "url": shown["online"]["url"], "username": shown["online"]["username"],
                "password": "", "company_id": shown["online"]["company_id"],
                "environment": shown["online"]["environment"]}
        saved = web.put(server.url + "/api/settings", json=form, headers={"X-CSRF-Token": csrf}, timeout=30)
        assert saved.status_code == 200, saved.text
        assert saved.json()["sending_mode"] == "automatic" and saved.json()["demo"] is True
        status = web.get(server.url + "/api/status", timeout=30).json()
        assert status["online"]["demo"] is True
    finally:
        assert server.stop() == 0

    written = config.read_text()
    assert yaml.safe_load(written) == {"printer": {"name": "Office Printer"}, "sending": {"mode": "automatic"}}
    assert "127.0.0.1" not in written and "demo" not in written
    assert config.stat().st_mode & 0o777 == 0o600

    again = Server(data_root / "data", config, demo=True).start()
    try:
        assert "demo: invoices go to the local Pagero Online emulator" in again.log_text()
        ipp_print(again.uri, invoice_pdf(data_root / "one.pdf", "RE-DEMO-1"), user="anna", job_name="RE-DEMO-1")
        wait_until(lambda: [r for r in invoices(again.data_dir) if r["state"] in ("sent", "delivered", "fetched")],
                   timeout=120, message="the invoice was not sent to the demo emulator after the restart")
        assert "Bad credentials" not in again.log_text()
    finally:
        again.stop()
