"""Needs attention, by clicks: a duplicate approved, an invalid invoice deleted, a service error restarted,
a refused invoice resent."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.support.cli import cli
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.online import all_in
from tests.support.web import DESKTOP, PHONE, add_user, invoice_ids, login, set_fields, shot


def _history(server: Server, invoice_id: int) -> list[dict[str, str]]:
    return list(json.loads(cli(server.data_dir, "show", str(invoice_id), "--json").stdout)["history"])


def _click(page: Page, invoice_id: int, action: str) -> None:
    page.locator(f"#invoice-{invoice_id} button[data-action={action}]").click()
    page.wait_for_load_state()


def test_each_problem_is_fixed_by_a_click_and_recorded(browser: Browser, data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml", mode="manual"))
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    server.start()
    try:
        first = invoice_pdf(data_root / "a.pdf", "ATT-1", total="250,00")
        junk = data_root / "notes.bin"
        junk.write_bytes(bytes(range(256)) * 8)
        imported = cli(server.data_dir, "import", str(first), str(first), str(junk), "--user", "anna",
                       config=server.config, check=False)
        assert imported.returncode == 1 and "notes.bin: refused" in imported.stdout  # the junk, said so
        emulator.admin("/_emulator/filepart-error", {"message": "Customer number 4711 not in the customer register"})
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "b.pdf", "ATT-2")), "--user", "anna",
            config=server.config)
        original, duplicate, invalid, stopped = invoice_ids(server.data_dir)
        for invoice_id, buyer in ((original, "Kunde Eins AG"), (duplicate, "Kunde Eins AG"), (stopped, "Kunde Zwei")):
            set_fields(server.data_dir, invoice_id, buyer=buyer, currency="EUR")
        cli(server.data_dir, "send", str(stopped))
        wait_until(lambda: {r["state"] for r in all_in(server.data_dir, {"ready", "possible-duplicate", "invalid",
                                                                         "needs-attention"}, 4) or []}
                   >= {"needs-attention"}, timeout=90, message="the service error never showed")
        emulator.admin("/_emulator/filepart-error", {})  # fixed at Pagero Online; now Restart
        emulator.admin("/_emulator/reject", {"status": 422, "message": "Buyer reference (BT-10) is missing"})
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "c.pdf", "ATT-3")), "--user", "anna",
            config=server.config)
        refused = invoice_ids(server.data_dir)[-1]
        cli(server.data_dir, "send", str(refused))
        wait_until(lambda: _history(server, refused)[-1]["to"] == "needs-attention", timeout=90,
                   message="the refusal never showed")
        emulator.admin("/_emulator/reject", {})  # the buyer reference is added at the service; now Resend

        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        login(page, server.url, "anna")
        expect(page.locator("[data-test=attention]")).to_contain_text("4 need attention")
        page.click("nav >> text=Needs attention")
        expect(page.locator(f"#invoice-{duplicate}")).to_contain_text(f"received before as invoice {original}")
        expect(page.locator(f"#invoice-{invoice_ids(server.data_dir)[2]}")).to_contain_text("cannot print")
        expect(page.locator(f"#invoice-{stopped}")).to_contain_text("Customer number 4711")
        expect(page.locator(f"#invoice-{refused}")).to_contain_text("Buyer reference (BT-10) is missing")
        shot(page, "needs-attention-desktop")
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        small = phone.new_page()
        login(small, server.url, "anna")
        small.goto(f"{server.url}/outbound/needs-attention")
        shot(small, "needs-attention-phone")
        small.goto(f"{server.url}/outbound/files-to-send")
        expect(small.locator(f"#invoice-{original}")).to_be_visible()
        shot(small, "files-to-send-phone")
        phone.close()

        _click(page, duplicate, "approve")
        expect(page.locator(".notice.ok")).to_contain_text("Invoice approved")
        expect(page.locator(f"#invoice-{duplicate}")).to_have_count(0)
        _click(page, invalid, "delete")
        expect(page.locator(".notice.ok")).to_contain_text("Invoice deleted")
        expect(page.locator(f"#invoice-{invalid}")).to_have_count(0)
        _click(page, stopped, "restart")
        expect(page.locator(".notice.ok")).to_contain_text("Invoice restarted at Pagero Online")
        _click(page, refused, "resend")
        expect(page.locator(".notice.ok")).to_contain_text("Invoice queued to be sent again")
        expect(page.locator("[data-test=empty]")).to_contain_text("Nothing needs attention")
        context.close()

        assert ("approved", "possible-duplicate", "ready", "anna") in [
            (e["what"], e["from"], e["to"], e["who"]) for e in _history(server, duplicate)]
        assert ("deleted", "invalid", "deleted", "anna") in [
            (e["what"], e["from"], e["to"], e["who"]) for e in _history(server, invalid)]
        assert ("restarted at Pagero Online", "needs-attention", "sent", "anna") in [
            (e["what"], e["from"], e["to"], e["who"]) for e in _history(server, stopped)]
        assert ("resent", "needs-attention", "queued", "anna") in [
            (e["what"], e["from"], e["to"], e["who"]) for e in _history(server, refused)]
        for invoice_id in (stopped, refused):
            wait_until(lambda i=invoice_id: _history(server, i)[-1]["to"] in ("delivered", "fetched"), timeout=90,
                       message=f"invoice {invoice_id} was not delivered after the fix")
    finally:
        server.stop()
