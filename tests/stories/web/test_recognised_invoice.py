"""A scanned invoice on the status page: its fields say they come from recognised text, and how sure that was."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.support import scans
from tests.support.cli import wait_for_invoices, write_config
from tests.support.harness import CORPUS, Server
from tests.support.ippclient import Client
from tests.support.web import DESKTOP, add_user, login, shot

INVOICE = CORPUS / "printed" / "intarsys__BASIC__zugferd_2p0_BASIC_Einfach.pdf"


def test_a_scanned_invoice_shows_where_its_fields_were_recognised(browser: Browser, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml", "ocr:\n  languages: [deu, eng]\n")
    server = Server(tmp_path / "data", config=config)
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    server.start()
    try:
        scan = scans.scan(INVOICE, tmp_path / "scan.jpg")  # two pages: an image-only PDF, as a scanner makes
        Client(server.uri).print_file(scan, name="Scan 2026-12-06", fmt="application/pdf", user="anna")
        (row,) = wait_for_invoices(server.data_dir, 1, timeout=300)
        assert row["invoice_number"] == "471102"

        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        login(page, server.url, "anna")
        page.goto(f"{server.url}/invoices/{row['id']}")
        fields = page.locator("table.fields")
        expect(fields).to_contain_text("471102")
        sources = fields.locator("td.muted").all_inner_texts()
        assert sources and all(re.fullmatch(r"recognised text, page [12] \(\d+ %\)", text) for text in sources
                               if text != "–"), sources
        expect(page.locator("body")).to_contain_text("Text recognised on 2 of 2 pages")
        shot(page, "invoice-recognised-desktop")
        context.close()
    finally:
        server.stop()
