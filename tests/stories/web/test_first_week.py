"""An office admin's first week on the status page, with the traps of issue 13 closed.

Searching with a decimal comma finds the invoice; a word in an amount field says what to type;
nothing found says so.  *Send* with nothing ticked says to tick first.  *Sent invoices* shows
where each went (Test is marked) and when.  An approved duplicate keeps a marker pointing at its
twin.  An invalid document's page explains why there is no PDF and offers what was printed.
Switching to automatic sending offers to send what already waits.
"""

from __future__ import annotations

from pathlib import Path

import requests
from playwright.sync_api import Browser, expect

from tests.support.cli import cli, invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.web import DESKTOP, PHONE, add_user, login, shot

JUNK = bytes(range(256)) * 8


def _ids(server: Server) -> dict[str, int]:
    return {f"{row['invoice_number'] or row['state']}#{row['id']}": row["id"] for row in invoices(server.data_dir)}


def test_the_first_week_without_a_trap(browser: Browser, data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml", mode="manual"))
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    server.start()
    try:
        first = invoice_pdf(data_root / "a.pdf", "RE-148", total="148,51")
        junk = data_root / "scan.bin"
        junk.write_bytes(JUNK)
        for path in (first, first, junk, invoice_pdf(data_root / "b.pdf", "RE-200", total="200,00"),
                     invoice_pdf(data_root / "c.pdf", "RE-300", total="300,00")):
            cli(server.data_dir, "import", str(path), "--user", "anna", config=server.config, check=False)
        rows = sorted(invoices(server.data_dir), key=lambda row: row["id"])
        original, twin, invalid, second, third = (row["id"] for row in rows)
        assert [row["state"] for row in rows] == ["ready", "possible-duplicate", "invalid", "ready", "ready"]

        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        login(page, server.url, "anna")

        # Send with nothing ticked: a word on the same page, not an error page.
        page.goto(f"{server.url}/outbound/files-to-send")
        page.click("button[name=what][value=selected]")
        expect(page.locator("[role=alert]")).to_contain_text("Tick the invoices to send first")
        assert page.url.startswith(f"{server.url}/outbound/files-to-send")

        # An approved duplicate keeps a marker that points at its twin.
        page.goto(f"{server.url}/outbound/needs-attention")
        expect(page.locator(f"#invoice-{twin} [data-test=duplicate]")).to_contain_text(f"repeats #{original}")
        page.locator(f"#invoice-{twin} button[data-action=approve]").click()
        page.goto(f"{server.url}/outbound/files-to-send")
        expect(page.locator(f"#invoice-{twin} [data-test=duplicate]")).to_contain_text(
            f"approved duplicate of #{original}")

        # Search: a decimal comma finds it; a word explains itself; nothing found says so.
        page.goto(f"{server.url}/search?amount_min=148,51&amount_max=148,51")
        expect(page.locator("table.invoices tbody tr")).to_have_count(2)
        expect(page.locator(f"#invoice-{original}")).to_contain_text("RE-148")
        page.goto(f"{server.url}/search?amount_min=hundred")
        expect(page.locator("[role=alert]")).to_contain_text("148.51 or 148,51")
        expect(page.locator("table.invoices")).to_have_count(0)
        page.goto(f"{server.url}/search?number=NO-SUCH-NUMBER")
        expect(page.locator("[data-test=empty]")).to_contain_text("No invoices match these filters")
        shot(page, "search-nothing-found-desktop", full_page=False)

        # Sent invoices: where each went and when; Test is marked as such.
        cli(server.data_dir, "send", str(original), "--environment", "Test", config=server.config)
        cli(server.data_dir, "send", str(second), config=server.config)
        wait_until(lambda: {r["id"]: r["state"] for r in invoices(server.data_dir)}[second] in ("sent", "delivered",
                                                                                                 "fetched"),
                   timeout=90, message="the Production invoice was not sent")
        wait_until(lambda: {r["id"]: r["sent"] for r in invoices(server.data_dir)}[original], timeout=90)
        page.goto(f"{server.url}/outbound/sent")
        expect(page.locator(f"#invoice-{original} [data-test=environment]")).to_have_text("Test")
        expect(page.locator(f"#invoice-{original} [data-test=environment]")).to_have_class("env env-test")
        expect(page.locator(f"#invoice-{second} [data-test=environment]")).to_have_text("Production")
        expect(page.locator(f"#invoice-{second} td[data-label=Sent]")).not_to_have_text("–")
        shot(page, "sent-invoices-desktop")

        # The invalid document's page: why there is no PDF, and what was printed, byte for byte.
        page.goto(f"{server.url}/invoices/{invalid}")
        expect(page.locator("[data-test=no-pdf]")).to_contain_text("could not be turned into a PDF")
        expect(page.locator("iframe")).to_have_count(0)
        expect(page.locator("dl[data-test=job]")).not_to_contain_text("1–")
        with page.expect_download() as download:
            page.click("[data-test=printed]")
        assert Path(download.value.path()).read_bytes() == JUNK
        shot(page, "invoice-invalid-desktop")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert requests.get(f"{server.url}/invoices/{invalid}/pdf", cookies=cookies, timeout=30).status_code == 404
        # An error page leads back to where the person was (on this site only).
        host = server.url.removeprefix("http://")
        lost = requests.get(f"{server.url}/invoices/999999", cookies=cookies, timeout=30,
                            headers={"Referer": f"{server.url}/outbound/sent?number=RE"})
        assert lost.status_code == 404 and 'href="/outbound/sent?number=RE" data-test="back"' in lost.text
        foreign = requests.get(f"{server.url}/invoices/999999", cookies=cookies, timeout=30,
                               headers={"Referer": "http://evil.example/outbound/sent", "Host": host})
        assert 'data-test="back"' not in foreign.text

        # Automatic sending: the invoices already waiting are offered, not forgotten.
        page.goto(f"{server.url}/settings")
        page.check("input[name=sending_mode][value=automatic]")
        page.click("form.settings button[type=submit]")
        expect(page.locator("[data-test=message]")).to_contain_text("Saved: sending mode")
        expect(page.locator("[data-test=offer-send]")).to_contain_text("2 invoices still wait in Files to send")
        shot(page, "settings-offer-send-desktop")
        page.click("[data-test=offer-send] button")
        wait_until(lambda: {r["id"]: r["state"] for r in invoices(server.data_dir)}[third] != "ready", timeout=30)
        assert {r["id"]: r["state"] for r in invoices(server.data_dir)}[twin] != "ready"

        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        small = phone.new_page()
        login(small, server.url, "anna")
        small.goto(f"{server.url}/outbound/sent")
        shot(small, "sent-invoices-phone")
        phone.close()
        context.close()
    finally:
        server.stop()
