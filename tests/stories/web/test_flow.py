"""The daily story in a real browser: print, watch it arrive, Send, watch it be delivered, find it, read it."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.support.cli import INVOICE
from tests.support.corpus import ground_truth
from tests.support.emulator import Emulator
from tests.support.harness import Server
from tests.support.web import DESKTOP, PHONE, add_user, api_login, invoice_ids, ipp_print, login, shot

LIVE = 90_000  # ms: a liveness limit for the page updating by itself, not a speed target


def test_printed_invoice_appears_live_is_sent_delivered_found_and_shown(
        browser: Browser, data_root: Path, emulator: Emulator) -> None:
    # What the page must show is what the invoice's own Factur-X XML says (read here independently).
    truth = ground_truth(INVOICE)
    assert truth.invoice_number and truth.buyer and truth.issue_date
    number, buyer = truth.invoice_number, truth.buyer
    # The product as it starts by default: the status page over HTTPS with its self-signed certificate (the
    # browser takes it, as a person does after comparing the fingerprint), printing on plain ipp:// beside it.
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml", mode="manual"), tls=None)
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    server.start()
    assert server.url.startswith("https://") and server.uri.startswith("ipp://")
    context = browser.new_context(viewport=DESKTOP, ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        shot(page, "login-desktop")
        login(page, server.url, "anna")
        expect(page.locator("[data-test=empty]")).to_be_visible()
        page.evaluate("window.notReloaded = true")

        ipp_print(server.uri, INVOICE, user="anna", job_name="Invoice from the ERP")
        # It appears in Files to send by itself: no reload (the marker survives).
        row = page.locator("table.invoices tbody tr[data-state=ready]")
        expect(row).to_have_count(1, timeout=LIVE)
        assert page.evaluate("window.notReloaded") is True
        (invoice_id,) = invoice_ids(server.data_dir)
        expect(row).to_contain_text(number)  # read from the printed PDF by the product
        shot(page, "files-to-send-desktop")

        # Production is the default; Send the ticked invoice.
        expect(page.locator("select[name=environment]")).to_have_value("Production")
        page.check(f"#invoice-{invoice_id} input[type=checkbox]")
        page.click("button[name=what][value=selected]")
        expect(page.locator(".notice.ok")).to_contain_text("1 invoice queued for sending")
        expect(page.locator("[data-test=empty]")).to_be_visible()

        # Sent invoices: the row's status moves on by itself until delivered.
        page.click("nav >> text=Sent invoices")
        page.evaluate("window.notReloaded = true")
        row = page.locator(f"#invoice-{invoice_id}")
        delivered = page.locator(f"#invoice-{invoice_id}:is([data-state=delivered], [data-state=fetched])")
        expect(delivered).to_have_count(1, timeout=LIVE)
        assert page.evaluate("window.notReloaded") is True
        assert [f["sendMode"] for f in emulator.files()] == ["Production"]
        shot(page, "sent-invoices-desktop")

        # Filter by invoice number (part of it, any case) finds it; another number finds nothing.
        page.fill("input[name=number]", number[1:-1].lower())
        page.click("button:has-text('Filter')")
        expect(page.locator("table.invoices tbody tr")).to_have_count(1)
        expect(page.locator(f"#invoice-{invoice_id}")).to_contain_text(number)
        page.fill("input[name=number]", "NO-SUCH")
        page.click("button:has-text('Filter')")
        expect(page.locator("[data-test=empty]")).to_contain_text("No invoices match")
        counterparty = buyer.split()[0].lower()
        page.goto(f"{server.url}/search?counterparty={counterparty}&issued_from={truth.issue_date.isoformat()}")
        expect(page.locator(f"#invoice-{invoice_id}")).to_contain_text(re.compile("Delivered|Fetched"))
        shot(page, "search-desktop")

        # The invoice page: fields, the PDF shown in the page, the whole history, the print job.
        pdf_url = f"{server.url}/invoices/{invoice_id}/pdf"
        with page.expect_response(lambda response: response.url.startswith(pdf_url)) as shown:
            page.goto(f"{server.url}/invoices/{invoice_id}")
        assert shown.value.status == 200 and shown.value.headers["content-type"] == "application/pdf"
        expect(page.locator("[data-field=invoice_number]")).to_contain_text(number)
        expect(page.locator("[data-field=buyer]")).to_contain_text(buyer)
        expect(page.locator("[data-test=job]")).to_contain_text("Invoice from the ERP")
        # Pagero Online's deliveryStatus in words, not its code (DoneFetched).
        expect(page.locator("[data-test=job]")).to_contain_text(
            re.compile("Production — (delivered|fetched by the recipient)"))
        frame = page.locator("iframe[data-test=pdf]")
        expect(frame).to_be_visible()
        pdf = context.request.get(pdf_url)
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")
        history = page.locator("[data-test=history]")
        for step in ("Received", "Checking", "Ready to send", "Waiting to be sent", "Sending", "Sent", "Delivered"):
            expect(history).to_contain_text(step)
        expect(history).to_contain_text("sent by anna (Production)")
        page.wait_for_timeout(3500)  # let the PDF viewer draw before the screenshot
        shot(page, "invoice-desktop", full_page=False)  # resizing for a full-page shot makes the viewer redraw

        # The API says the same, step by step.
        api, _csrf = api_login(server.url, "anna", verify=False)
        steps = [e["to"] for e in api.get(f"{server.url}/api/invoices/{invoice_id}/history").json()["items"] if e["to"]]
        assert steps[:7] == ["received", "converted", "ready", "queued", "uploading", "sent", "delivered"]

        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, ignore_https_errors=True)
        try:
            small = phone.new_page()
            small.goto(server.url + "/")
            shot(small, "login-phone")
            login(small, server.url, "anna")
            small.goto(f"{server.url}/outbound/sent")
            expect(small.locator(f"#invoice-{invoice_id}")).to_be_visible()
            shot(small, "sent-invoices-phone")
            small.goto(f"{server.url}/search?counterparty={counterparty}")
            expect(small.locator(f"#invoice-{invoice_id}")).to_be_visible()
            shot(small, "search-phone")
            small.goto(f"{server.url}/invoices/{invoice_id}")
            small.wait_for_timeout(1500)
            shot(small, "invoice-phone")
        finally:
            phone.close()
    finally:
        context.close()
        server.stop()
    assert not re.search(r"Traceback|ERROR", server.log_text())
