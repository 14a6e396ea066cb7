"""Received invoices in a real browser: listed as Pagero Online offers them (a hostile sender's name shown as text),
downloaded by a click, found again in Fetched invoices and in Search, shown as a PDF — and only to those given the
inbound role."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.cli import cli
from tests.support.emulator import Emulator
from tests.support.harness import CORPUS, Server
from tests.support.web import DESKTOP, PHONE, add_user, login, shot

LIVE = 90_000  # ms: a liveness limit for the page updating by itself, not a speed target
HOSTILE = "<img src=x onerror=alert(1)>"
KEPT = "Pagero Online keeps received invoices for 90 days"
WITH_ATTACHMENT = "XML-Rechnung__UBL__XRECHNUNG_Betriebskostenabrechnung.ubl.xml"  # 471102, Grundbesitz GmbH & Co.
RENT = "XML-Rechnung__CII__EN16931_Miete.cii.xml"  # 9314110911/00/M/00/N, MUSTER-Autovermietung


def _offered(folder: Path) -> Path:
    """What Pagero Online offers: two corpus e-invoices, one with a hostile sender, one declaring entities."""
    folder.mkdir()
    for name in (WITH_ATTACHMENT, RENT):
        shutil.copy(CORPUS / "einvoices" / name, folder / name)
    text = (CORPUS / "einvoices" / "XML-Rechnung__UBL__EN16931_Einfach.ubl.xml").read_text(encoding="utf-8")
    text = text.replace("Lieferant GmbH", "&lt;img src=x onerror=alert(1)&gt;")
    text = text.replace("<cbc:ID>471102</cbc:ID>", "<cbc:ID>EVIL-&lt;b&gt;7</cbc:ID>", 1)
    (folder / "hostile.ubl.xml").write_text(text, encoding="utf-8")
    (folder / "entities.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE Invoice [<!ENTITY x "boom">]>\n'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&x;</ID></Invoice>\n',
        encoding="utf-8")
    return folder


def _signed_in(browser: Browser, server: Server, user: str, dialogs: list[Any], **options: Any) -> tuple[BrowserContext,
                                                                                                         Page]:
    context = browser.new_context(**({"viewport": DESKTOP} | options))
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, server.url, user)
    return context, page


def _row(page: Page, text: str) -> Any:
    return page.locator("table.received tbody tr", has_text=text)


def test_received_invoices_are_listed_downloaded_shown_and_searched(browser: Browser, data_root: Path,
                                                                    dialogs: list[Any]) -> None:
    emulator = Emulator(data_root / "emulator", inbound=_offered(data_root / "offered")).start()
    config = data_root / "c.yaml"
    config.write_text(f"online:\n  url: {emulator.url}\n  username: demo\n  password: demo\n  company_id: demo\n"
                      "sending:\n  mode: manual\ninbound:\n  mode: manual\n  poll_seconds: 0.5\n")
    server = Server(data_root / "data", config=config)
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    add_user(server.data_dir, "bob")
    server.start()
    folder = server.data_dir / "received"
    try:
        context, page = _signed_in(browser, server, "anna", dialogs)
        page.click("nav a[href='/inbound/unfetched']")
        rows = page.locator("table.received tbody tr")
        expect(rows).to_have_count(4, timeout=LIVE)  # listed by the receiver as it polls, shown without a reload
        expect(page.locator("[data-test=kept]")).to_contain_text(KEPT)
        expect(page.locator("[data-test=explain]")).to_contain_text("Download selected")
        expect(page.locator("nav [data-test=nav-inbound] .count").first).to_have_text("4")
        hostile = _row(page, "EVIL-")
        expect(hostile.locator("[data-test=sender]")).to_have_text(HOSTILE)  # as text, never as markup
        expect(hostile.locator("[data-test=number]")).to_have_text("EVIL-<b>7")
        expect(hostile.locator("[data-test=amount]")).to_have_text("529.87 EUR")
        landlord = _row(page, "471102")
        expect(landlord.locator("[data-test=sender]")).to_have_text("Grundbesitz GmbH & Co.")
        # the grand total (net + VAT) as the service lists it, the same the XML gives once downloaded
        expect(landlord.locator("[data-test=amount]")).to_have_text("18\u202f310.63 EUR")
        expect(page.locator("table.received img, table.received b")).to_have_count(0)
        shot(page, "inbound-unfetched-desktop")

        phone_context, phone = _signed_in(browser, server, "anna", dialogs, viewport=PHONE, is_mobile=True,
                                          has_touch=True)
        phone.goto(f"{server.url}/inbound/unfetched")
        expect(phone.locator("table.received tbody tr")).to_have_count(4)
        shot(phone, "inbound-unfetched-phone")

        # Download selected: the hostile one only.
        page.click("button[data-test=download-selected]")
        expect(page.locator(".notice.bad")).to_have_text("Tick the invoices to download first, or use Download all.")
        hostile.locator("input[type=checkbox]").check()
        page.click("button[data-test=download-selected]")
        expect(page.locator("[data-test=done]")).to_have_text(f"1 invoice saved in {folder}.")
        expect(rows).to_have_count(3)
        saved = sorted(path.name for path in folder.iterdir())
        assert saved == ["2018-03-05 (img src=x onerror=alert(1)) EVIL-(b)7.xml"], saved

        # Download all: two more are saved; the one declaring entities is refused and says why, in its row too.
        page.click("button[data-test=download-all]")
        expect(page.locator("[data-test=done]")).to_have_text(f"2 invoices saved in {folder}.")
        expect(page.locator("[data-test=alert]")).to_contain_text(
            re.compile(r"1 invoice not saved — #\d+ from an unknown sender: refused: the XML declares entities"))
        expect(rows).to_have_count(1)
        expect(rows.locator("[data-test=refused]")).to_have_text(
            "Not saved: refused: the XML declares entities (a DOCTYPE), which an e-invoice never needs")
        expect(rows.locator("input[type=checkbox]")).to_have_count(0)
        assert len(list(folder.glob("*.xml"))) == 3
        assert [f for f in folder.iterdir() if f.suffix == ".pdf"], "the attachment is saved beside its invoice"

        # Fetched: the saved file, the attachments that came with it, View target invoice.
        page.click("nav a[href='/inbound/fetched']")
        expect(rows).to_have_count(3)
        expect(page.locator("[data-test=kept]")).to_contain_text(KEPT)
        landlord = _row(page, "471102")
        expect(landlord.locator("a[data-test=original]")).to_have_text("2024-11-15 Grundbesitz GmbH & Co. 471102.xml")
        attachment = landlord.locator("[data-test=attachments] a")
        expect(attachment).to_have_text("Betriebskostenabrechnung.pdf")
        expect(_row(page, "EVIL-").locator("[data-test=sender]")).to_have_text(HOSTILE)
        shot(page, "inbound-fetched-desktop")

        view = context.request.get(server.url + str(landlord.locator("a[data-test=view]").get_attribute("href")))
        assert view.status == 200 and view.headers["content-type"] == "application/pdf"
        assert view.body().startswith(b"%PDF")
        assert view.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'self'"
        assert view.headers["x-frame-options"] == "SAMEORIGIN"
        assert view.headers["content-disposition"].startswith("inline; ")
        carried = context.request.get(server.url + str(attachment.get_attribute("href")))
        assert carried.status == 200 and carried.body().startswith(b"%PDF")
        assert carried.headers["content-disposition"] == ('attachment; filename="Betriebskostenabrechnung.pdf"; '
                                                          "filename*=UTF-8''Betriebskostenabrechnung.pdf")
        assert carried.headers["x-content-type-options"] == "nosniff"
        assert carried.headers["content-security-policy"] == "default-src 'none'"
        href = landlord.locator("a[data-test=original]").get_attribute("href")
        original = context.request.get(server.url + str(href))
        assert original.status == 200 and original.body() == (CORPUS / "einvoices" / WITH_ATTACHMENT).read_bytes()
        assert original.headers["content-type"] == "application/octet-stream"
        assert "filename*=UTF-8''2024-11-15%20Grundbesitz%20GmbH%20%26%20Co.%20471102.xml" in \
            original.headers["content-disposition"]

        # One received invoice: what it says, and the invoice itself in the page.
        with page.expect_response(lambda r: "/presentation" in r.url) as shown:
            landlord.locator("[data-test=number] a").click()
        assert shown.value.status == 200 and shown.value.headers["content-type"] == "application/pdf"
        expect(page.locator("[data-test=received]")).to_contain_text("Grundbesitz GmbH & Co.")
        expect(page.locator("iframe[data-test=pdf]")).to_be_visible()
        page.wait_for_timeout(3500)  # let the PDF viewer draw before the screenshot
        shot(page, "inbound-received-desktop", full_page=False)

        phone.goto(f"{server.url}/inbound/fetched")
        expect(phone.locator("table.received tbody tr")).to_have_count(3)
        shot(phone, "inbound-fetched-phone")
        phone_context.close()

        # Search → Received finds a received invoice by its number, and says how long Pagero Online keeps them.
        page.click("nav >> text=Search")
        page.select_option("select[name=direction]", "received")
        page.fill("input[name=number]", "9314110911")
        page.click("button:has-text('Filter')")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("MUSTER-Autovermietung")
        expect(page.locator("[data-test=kept]")).to_contain_text(KEPT)
        expect(page.locator("select[name=status]")).to_have_count(0)
        page.fill("input[name=number]", "NO-SUCH")
        page.click("button:has-text('Filter')")
        expect(page.locator("[data-test=empty]")).to_contain_text("No received invoices match")
        page.goto(f"{server.url}/search?direction=received&counterparty=grundbesitz")
        expect(rows).to_have_count(1)

        # bob has no inbound role: no Inbound in his navigation, 403 for the lists, 404 for one of them.
        bob_context, bob = _signed_in(browser, server, "bob", dialogs)
        expect(bob.locator("[data-test=nav-inbound]")).to_have_count(0)
        answer = bob.goto(f"{server.url}/inbound/unfetched")
        assert answer is not None and answer.status == 403
        expect(bob.locator("[data-test=error]")).to_have_text(
            "Only admins and users given the inbound role see received invoices.")
        assert bob.goto(f"{server.url}/search?direction=received").status == 403  # type: ignore[union-attr]
        assert bob_context.request.get(server.url + str(attachment.get_attribute("href"))).status == 404
        bob.goto(f"{server.url}/search")
        expect(bob.locator("select[name=direction]")).to_have_count(0)

        # anna gives him the role in Settings → Users; now he sees them.
        page.goto(f"{server.url}/settings")
        expect(page.locator("[data-test=inbound-bob]")).to_contain_text("does not see them")
        page.locator("[data-test=inbound-bob] button").click()
        expect(page.locator("[data-test=message]")).to_have_text("bob now sees received invoices.")
        expect(page.locator("[data-test=inbound-bob]")).to_contain_text("sees them")
        bob.goto(f"{server.url}/inbound/fetched")
        expect(bob.locator("[data-test=nav-inbound]")).to_be_visible()
        expect(bob.locator("table.received tbody tr")).to_have_count(3)
        cli(server.data_dir, "user", "inbound", "bob", "off")
        assert bob.goto(f"{server.url}/inbound/fetched").status == 403  # type: ignore[union-attr]
        bob_context.close()

        # A new user with the role from the start.
        page.fill("form.filters input[name=name]", "carla")
        page.fill("form.filters input[name=password]", "another long password")
        page.check("form.filters input[name=inbound]")
        page.click("form.filters button:has-text('Add user')")
        expect(page.locator("[data-test=message]")).to_have_text("User carla added. They see received invoices too.")
        expect(page.locator("[data-test=inbound-carla]")).to_contain_text("sees them")
        context.close()
    finally:
        server.stop()
        emulator.stop()
    assert dialogs == []
    assert not re.search(r"Traceback|ERROR", server.log_text())
