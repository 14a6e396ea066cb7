"""Files awaiting attachments, by clicks: Pagero Online holds each sent invoice (manual attachment handling) until a
person adds its files on the invoice page and presses Send; the emulator then has each attachment exactly once."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.cli import cli, invoices
from tests.support.corpus import concatenate
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.web import DESKTOP, PHONE, add_user, api_login, login, shot

LIVE = 90_000  # ms: a liveness limit for the page updating by itself, not a speed target
MAX_BYTES = 5 * 1024 * 1024


def _docx(path: Path) -> Path:
    """A minimal Word document (what makes a .docx one: its content types and the word/ part)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                                'package/2006/content-types"/>')
        archive.writestr("word/document.xml", "<w:document xmlns:w='urn:x'/>")
    path.write_bytes(buffer.getvalue())
    return path


def _awaiting(server: Server, count: int) -> dict[str, dict[str, Any]]:
    """Wait until ``count`` invoices wait for attachments; them by invoice number."""
    def ready() -> dict[str, dict[str, Any]] | None:
        rows = [r for r in invoices(server.data_dir) if r["state"] == "awaiting-attachments"]
        return {r["invoice_number"]: r for r in rows} if len(rows) >= count else None
    return wait_until(ready, timeout=120, message="the invoices never waited for attachments")  # type: ignore


def _attached(emulator: Emulator) -> dict[str, list[str]]:
    """The attachments each file at the emulator holds, by the invoice's sender reference."""
    return {f["senderReference"]: [a["fileName"] for a in f["attachments"]] for f in emulator.files()}


def _signed_in(browser: Browser, server: Server, user: str, dialogs: list[Any], **options: Any) -> tuple[BrowserContext,
                                                                                                         Page]:
    context = browser.new_context(**({"viewport": DESKTOP} | options))
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, server.url, user)
    return context, page


def _add(page: Page, path: Path, kind: str, note: str = "") -> None:
    form = page.locator("form[data-test=add-attachment]")
    form.locator("input[name=file]").set_input_files(str(path))
    form.locator("select[name=document_type]").select_option(label=kind)
    form.locator("textarea[name=note]").fill(note)
    form.locator("button[data-test=add]").click()
    page.wait_for_load_state()


def test_attachments_are_added_checked_removed_and_sent_once(browser: Browser, data_root: Path,
                                                              dialogs: list[Any]) -> None:
    emulator = Emulator(data_root / "emulator", manual_attachments=True).start()
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml", mode="automatic"))
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    add_user(server.data_dir, "clara")
    add_user(server.data_dir, "bert")
    server.start()
    files = data_root / "files"
    files.mkdir()
    try:
        emulator.register({"AT-EPRINT": "EPrint"}, default="Electronic")
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "a.pdf", "AT-100")), "--user", "clara",
            config=server.config)
        single = _awaiting(server, 1)["AT-100"]
        invoice_id = single["id"]

        # -- clara: the list, then the invoice page ------------------------------------------------------------
        context, page = _signed_in(browser, server, "clara", dialogs)
        page.click("nav >> text=Files awaiting attachments")
        expect(page.locator("nav [data-test=nav-awaiting] .count")).to_have_text("1")
        row = page.locator(f"#invoice-{invoice_id}")
        expect(row.locator("[data-test=attachment-count]")).to_have_text("0")
        expect(row.locator("[data-test=distribution]")).to_have_text("e-invoice")
        expect(row.locator("[data-test=state]")).to_have_text("Awaiting attachments")
        row.locator("a", has_text="AT-100").click()
        expect(page.locator("[data-test=reason]")).to_contain_text("add the attachments and press Send")
        expect(page.locator("[data-test=attach-explain]")).to_contain_text("as an e-invoice")

        # A PDF is accepted; the note is data, shown as typed.
        _add(page, invoice_pdf(files / "lieferschein.pdf", "LS-1"), "Delivery note", "Lieferschein <b>1</b>")
        expect(page.locator("[data-test=done]")).to_have_text("Added lieferschein.pdf (Delivery note).")
        expect(page.locator("[data-test=info]")).to_have_count(0)
        table = page.locator("table[data-test=attachments]")
        expect(table.locator("tbody tr")).to_have_count(1)
        expect(table).to_contain_text("Lieferschein <b>1</b>")

        # A Word document goes with an e-invoice, with the advice to send a PDF.
        _add(page, _docx(files / "stundenzettel.docx"), "Time sheet")
        expect(page.locator("[data-test=done]")).to_have_text("Added stundenzettel.docx (Time sheet).")
        expect(page.locator("[data-test=info]")).to_contain_text("accepted, but PDF is recommended")
        expect(table.locator("tbody tr")).to_have_count(2)
        shot(page, "invoice-attachments-desktop")

        # Text named like a PDF is refused on its content; the page says so and keeps what was chosen.
        fake = files / "rechnung-kopie.pdf"
        fake.write_text("Nur ein Text, kein PDF.\n")
        with page.expect_response(lambda r: r.url.endswith(f"/invoices/{invoice_id}/attachments")) as answer:
            _add(page, fake, "Contract", "the contract")
        assert answer.value.status == 400
        problem = page.locator("[data-test=attach-problem]")
        expect(problem).to_contain_text("rechnung-kopie.pdf is named like a PDF but its content is a text file")
        expect(page.locator("select[name=document_type]")).to_have_value("Contract")
        expect(page.locator("textarea[name=note]")).to_have_value("the contract")
        expect(table.locator("tbody tr")).to_have_count(2)

        # One byte over 5 MB reaches the page and is refused in words (never read whole beyond that).
        big = files / "scan.pdf"
        big.write_bytes(b"%PDF-1.4\n" + b"0" * (MAX_BYTES + 1 - 9))
        _add(page, big, "Other")
        expect(problem).to_contain_text("scan.pdf has 5,242,881 bytes; an attachment may have at most 5,242,880")
        # Far larger is refused before it is read, in the same words.
        token = page.locator("form[data-test=add-attachment] input[name=csrf]").get_attribute("value")
        oversized = {"name": "huge.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"0" * 3 * MAX_BYTES}
        huge = context.request.post(f"{server.url}/invoices/{invoice_id}/attachments", headers={"Origin": server.url},
                                    multipart={"csrf": str(token), "document_type": "Other", "file": oversized})
        assert huge.status == 413 and "at most 5,242,880 bytes" in huge.text()

        # Open: a download with safe headers; the exact name in filename*.
        link = table.locator("tr", has_text="lieferschein.pdf").locator("a[data-test=open]")
        opened = context.request.get(server.url + str(link.get_attribute("href")))
        assert opened.status == 200 and opened.body().startswith(b"%PDF")
        assert opened.headers["content-type"] == "application/pdf"
        assert opened.headers["content-disposition"].startswith('attachment; filename="lieferschein.pdf"')
        assert "filename*=UTF-8''lieferschein.pdf" in opened.headers["content-disposition"]
        assert opened.headers["x-content-type-options"] == "nosniff"
        assert opened.headers["content-security-policy"] == "default-src 'none'"
        word = context.request.get(server.url + str(
            table.locator("tr", has_text="stundenzettel.docx").locator("a[data-test=open]").get_attribute("href")))
        assert word.headers["content-type"] == "application/octet-stream"
        docx_href = str(table.locator("tr", has_text="stundenzettel.docx").locator("a[data-test=open]")
                        .get_attribute("href"))

        # Remove the Word document again.
        table.locator("tr", has_text="stundenzettel.docx").locator("button[data-action=remove]").click()
        expect(page.locator("[data-test=done]")).to_have_text("Removed stundenzettel.docx.")
        expect(table.locator("tbody tr")).to_have_count(1)

        # -- bert sees none of it: the invoice, its attachment and its removal are 404 ------------------------
        other, csrf = api_login(server.url, "bert")
        assert other.get(f"{server.url}/invoices/{invoice_id}", timeout=30).status_code == 404
        pdf_href = str(link.get_attribute("href"))
        refused = other.get(server.url + pdf_href, timeout=30)
        assert refused.status_code == 404 and "No such attachment" in refused.text
        assert other.post(server.url + pdf_href + "/remove", data={"csrf": csrf},
                          headers={"Origin": server.url}, timeout=30).status_code == 404
        assert other.post(f"{server.url}/invoices/{invoice_id}/send-attachments", data={"csrf": csrf},
                          headers={"Origin": server.url}, timeout=30).status_code == 404
        assert context.request.get(server.url + docx_href).status == 404  # removed is gone

        # Send: the attachment goes once, then Pagero Online delivers the invoice.
        page.click("button[data-action=send-attachments]")
        expect(page.locator("[data-test=done]")).to_contain_text("Invoice sent on with its attachments")
        delivered = wait_until(lambda: next((r for r in invoices(server.data_dir) if r["id"] == invoice_id
                                             and r["state"] in ("delivered", "fetched")), None), timeout=120,
                               message="the invoice never went on after its attachments")
        held = _attached(emulator)
        assert held == {single["uuid"]: ["lieferschein.pdf"]}, held
        page.reload()
        expect(page.locator("table[data-test=attachments] [data-test=sent]")).to_have_text("yes")
        expect(page.locator("button[data-action=remove]")).to_have_count(0)
        expect(page.locator("form[data-test=add-attachment]")).to_have_count(0)
        assert delivered["state"] in ("delivered", "fetched")
        context.close()

        # -- a print of two invoices where only one has an attachment: Send asks first --------------------------
        two = concatenate([invoice_pdf(files / "p1.pdf", "AT-201"), invoice_pdf(files / "p2.pdf", "AT-EPRINT-202")],
                          data_root / "two.pdf")
        cli(server.data_dir, "import", str(two), "--user", "anna", config=server.config)
        waiting = _awaiting(server, 2)
        first, second = waiting["AT-201"]["id"], waiting["AT-EPRINT-202"]["id"]
        assert waiting["AT-201"]["job_id"] == waiting["AT-EPRINT-202"]["job_id"]
        context, page = _signed_in(browser, server, "anna", dialogs)
        page.goto(f"{server.url}/outbound/awaiting-attachments")
        expect(page.locator(f"#invoice-{second} [data-test=distribution]")).to_have_text("PDF by e-mail (E-print)")
        page.goto(f"{server.url}/invoices/{first}")
        _add(page, invoice_pdf(files / "zeitnachweis.pdf", "ZN-7"), "Time sheet")
        expect(page.locator("[data-test=done]")).to_have_text("Added zeitnachweis.pdf (Time sheet).")
        page.click("nav >> text=Files awaiting attachments")
        expect(page.locator(f"#invoice-{first} [data-test=attachment-count]")).to_have_text("1")
        expect(page.locator(f"#invoice-{second} [data-test=attachment-count]")).to_have_text("0")
        shot(page, "awaiting-attachments-desktop")

        page.click("button[data-test=send-selected]")
        expect(page.locator(".notice.bad")).to_have_text("Tick the invoices whose attachments to send first.")
        page.check(f"#invoice-{first} input[type=checkbox]")
        page.click("button[data-test=send-selected]")
        question = page.locator("[data-test=question]")
        expect(question).to_contain_text("Some invoices of this print have no attachment (invoice AT-EPRINT-202). "
                                         "Send anyway?")
        back = question.locator("a[data-test=back]")
        assert back.get_attribute("href") == "/outbound/awaiting-attachments"
        assert _attached(emulator)[waiting["AT-201"]["uuid"]] == []  # nothing went yet
        shot(page, "awaiting-attachments-confirm-desktop")
        question.locator("button[data-test=confirm]").click()
        expect(page.locator("[data-test=done]")).to_have_text(
            "1 invoice sent on with its attachments: Pagero Online goes on once they are there.")
        wait_until(lambda: ["zeitnachweis.pdf"] in _attached(emulator).values(), timeout=120,
                   message="the attachment never reached the emulator")
        wait_until(lambda: next(r for r in invoices(server.data_dir) if r["id"] == first)["state"]
                   in ("sent", "delivered", "fetched"), timeout=120, message="the invoice never went on")
        held = _attached(emulator)
        assert held == {single["uuid"]: ["lieferschein.pdf"], waiting["AT-201"]["uuid"]: ["zeitnachweis.pdf"],
                        waiting["AT-EPRINT-202"]["uuid"]: []}, held  # each exactly once
        expect(page.locator(f"#invoice-{first}")).to_have_count(0, timeout=LIVE)
        expect(page.locator(f"#invoice-{second}")).to_be_visible()
        context.close()

        # -- a phone ----------------------------------------------------------------------------------------------
        context, page = _signed_in(browser, server, "anna", dialogs, viewport=PHONE, is_mobile=True, has_touch=True)
        page.goto(f"{server.url}/outbound/awaiting-attachments")
        expect(page.locator(f"#invoice-{second}")).to_be_visible()
        shot(page, "awaiting-attachments-phone")
        page.goto(f"{server.url}/invoices/{second}")
        expect(page.locator("[data-test=attach-explain]")).to_contain_text("as a PDF by e-mail (E-print)")
        _add(page, invoice_pdf(files / "auftrag.pdf", "AB-3"), "Order", "Auftragsbestätigung")
        expect(page.locator("[data-test=done]")).to_have_text("Added auftrag.pdf (Order).")
        page.locator("#attachments").scroll_into_view_if_needed()
        shot(page, "invoice-attachments-phone", full_page=False)
        # E-print takes PDF or TIFF only: the Word document is refused here, with what to do instead.
        _add(page, files / "stundenzettel.docx", "Time sheet")
        expect(page.locator("[data-test=attach-problem]")).to_contain_text("PDF or TIFF attachments only")
        context.close()
    finally:
        server.stop()
        emulator.stop()
    assert dialogs == []
    assert not re.search(r"Traceback|ERROR", server.log_text())
