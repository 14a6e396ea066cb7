"""Settings: admins only; the account's password is stored 0600 and never shown back; the connection is tested."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml
from playwright.sync_api import Browser, expect

from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server, free_port
from tests.support.online import DELIVERED, all_in
from tests.support.web import DESKTOP, PHONE, add_user, api_login, ipp_print, login, shot

SECRET = "n3w-Secret-Passw0rd"


def test_admin_changes_settings_and_tests_the_connection(browser: Browser, data_root: Path,
                                                         emulator: Emulator) -> None:
    config = emulator.product_config(data_root / "c.yaml", mode="manual")
    server = Server(data_root / "data", config=config)
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    add_user(server.data_dir, "bob")
    server.start()
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        login(page, server.url, "anna")
        page.click("nav >> text=Settings")
        page.click("button:has-text('Test connection')")
        expect(page.locator("[data-test=message]")).to_contain_text("Connected to Pagero Online")
        expect(page.locator("[data-test=connection]")).to_contain_text("Service reachable")
        expect(page.locator("[data-test=online]")).to_have_text("Online connected")
        shot(page, "settings-desktop")

        page.check("input[name=sending_mode][value=automatic]")
        page.fill("form.settings input[name=password]", SECRET)
        page.select_option("select[name=environment]", "Test")
        page.click("button:has-text('Save settings')")
        expect(page.locator("[data-test=message]")).to_contain_text("Saved")
        # Stored for the service's user only, and never sent back to a browser.
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        saved = yaml.safe_load(config.read_text())
        assert saved["online"]["password"] == SECRET and saved["sending"]["mode"] == "automatic"
        assert saved["online"]["environment"] == "Test" and saved["online"]["url"] == emulator.url
        assert SECRET not in page.content()
        password = page.locator("form.settings input[name=password]")
        expect(password).to_have_value("")
        expect(password).to_have_attribute("placeholder", "set — leave empty to keep it")
        api, csrf = api_login(server.url, "anna")
        shown = api.get(f"{server.url}/api/settings")
        assert SECRET not in shown.text and shown.json()["online"]["password_set"] is True

        # The office's own companies: typed as text, saved as lists, shown back normalised.
        page.fill("input[name=company_name]", "Acme GmbH")
        page.fill("input[name=company_vat_ids]", "DE 123 456 789 atu12345678")
        page.fill("textarea[name=company_others]", "Acme Services GmbH; DE987654321")
        page.click("button:has-text('Save settings')")
        expect(page.locator("[data-test=message]")).to_have_text(
            "Saved: company name, further companies, VAT ids. In force now.")
        expect(page.locator("input[name=company_vat_ids]")).to_have_value("DE123456789, ATU12345678")
        assert yaml.safe_load(config.read_text())["company"] == {
            "name": "Acme GmbH", "vat_ids": ["DE123456789", "ATU12345678"],
            "others": [{"name": "Acme Services GmbH", "vat_ids": ["DE987654321"]}]}
        page.fill("input[name=company_vat_ids]", "DE1")
        page.click("button:has-text('Save settings')")
        expect(page.locator("[data-test=problem]")).to_contain_text("company.vat_ids: 'DE1' is not a VAT id")
        expect(page.locator("input[name=company_vat_ids]")).to_have_value("DE1")  # as typed, to correct
        assert yaml.safe_load(config.read_text())["company"]["vat_ids"] == ["DE123456789", "ATU12345678"]

        # Text recognition: its languages follow the company's country (DE) until chosen; what this
        # machine lacks is said, a wrong code is refused naming the setting.
        page.goto(f"{server.url}/settings")
        status = page.locator("[data-test=ocr-status]")
        expect(status).to_contain_text("German, English (sandboxed)")
        page.fill("input[name=ocr_languages]", "fra, eng xyz")
        page.click("button:has-text('Save settings')")
        expect(page.locator("[data-test=message]")).to_have_text("Saved: OCR languages. In force now.")
        expect(status).to_contain_text("French, English (sandboxed); not installed: xyz")
        assert yaml.safe_load(config.read_text())["ocr"] == {"languages": ["fra", "eng", "xyz"]}
        page.fill("input[name=ocr_languages]", "../etc")
        page.click("button:has-text('Save settings')")
        expect(page.locator("[data-test=problem]")).to_contain_text("ocr.languages: '../etc' is not a Tesseract")
        page.fill("input[name=ocr_languages]", "")
        page.click("button:has-text('Save settings')")
        expect(status).to_contain_text("German, English (sandboxed)")

        # The account applies at once too: back to the emulator's real password, then the sending mode
        # (automatic since the save above) sends a printed invoice by itself, with no restart.
        back = api.put(f"{server.url}/api/settings", json={"password": "demo"}, headers={"X-CSRF-Token": csrf})
        assert back.status_code == 200
        ipp_print(server.uri, invoice_pdf(data_root / "auto.pdf", "AUTO-1"), user="anna", job_name="auto")
        wait_until(lambda: all_in(server.data_dir, DELIVERED, 1), timeout=90, message="not sent automatically")

        # A wrong address: Test connection says so, and the header too.
        dead = f"http://127.0.0.1:{free_port()}"
        changed = api.put(f"{server.url}/api/settings", json={"url": dead}, headers={"X-CSRF-Token": csrf})
        assert changed.status_code == 200 and changed.json()["online"]["url"] == dead
        page.goto(f"{server.url}/settings")
        page.click("button:has-text('Test connection')")
        expect(page.locator("[data-test=problem]")).to_contain_text("cannot be reached")
        expect(page.locator("[data-test=online]")).to_have_text("Online not connected")
        refused = api.put(f"{server.url}/api/settings", json={"sending_mode": "sometimes"},
                          headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 400 and "sending.mode" in refused.json()["error"]

        clerk = browser.new_context(viewport=DESKTOP)
        clerk_page = clerk.new_page()
        login(clerk_page, server.url, "bob")
        expect(clerk_page.locator("nav >> text=Settings")).to_have_count(0)
        response = clerk_page.goto(f"{server.url}/settings")
        assert response is not None and response.status == 403
        clerk.close()

        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        small = phone.new_page()
        login(small, server.url, "anna")
        small.goto(f"{server.url}/settings")
        shot(small, "settings-phone")
        phone.close()
    finally:
        context.close()
        server.stop()
