"""Reading invoices in the pipeline: one invoice per invoice number, checks before sending, duplicates."""

from __future__ import annotations

import hashlib
import http.client
import sqlite3
from pathlib import Path

import pytest
from pypdf import PdfReader

from connect_core.crash import INTAKE_POINTS
from ipp.status import StatusCode
from tests.support.cli import invoices, wait_for_invoices, write_config
from tests.support.corpus import PRINTED, concatenate, ground_truth
from tests.support.documents import invoice_pdf
from tests.support.harness import Server
from tests.support.ippclient import Client

THREE = (
    "intarsys__BASIC__zugferd_2p0_BASIC_Einfach.pdf",
    "FNFE-factur-x-examples__Facture_FR_BASICWL.pdf",
    "intarsys__EN16931__zugferd_2p0_EN16931_Miete.pdf",
)


def three_invoices(folder: Path) -> tuple[Path, list[tuple[str, tuple[int, int]]]]:
    """The three corpus invoices as one PDF (pages only: no embedded XML), and what it holds."""
    parts = [PRINTED / name for name in THREE]
    expected, first = [], 1
    for part in parts:
        pages = len(PdfReader(part).pages)
        expected.append((str(ground_truth(part).invoice_number), (first, first + pages - 1)))
        first += pages
    return concatenate(parts, folder / "three.pdf"), expected


def check_three(server: Server, expected: list[tuple[str, tuple[int, int]]]) -> None:
    rows = sorted(wait_for_invoices(server.data_dir, 3), key=lambda row: row["first_page"])
    assert [(row["invoice_number"], (row["first_page"], row["last_page"])) for row in rows] == expected
    assert len({row["job_id"] for row in rows}) == 1, "the invoices keep the link to their print job"
    with sqlite3.connect(server.data_dir / "connect.db") as conn:
        files = conn.execute("SELECT document_uuid, pdf_name, first_page, last_page FROM invoices").fetchall()
    for doc, name, first, last in files:
        assert len(PdfReader(server.data_dir / "spool" / "jobs" / doc / name).pages) == last - first + 1


def test_three_invoices_printed_as_one_job_become_three(data_root: Path) -> None:
    pdf, expected = three_invoices(data_root)
    server = Server(data_root / "data").start()
    try:
        assert Client(server.uri).print_file(pdf).code == StatusCode.SUCCESSFUL_OK
        check_three(server, expected)
        assert {row["state"] for row in invoices(server.data_dir)} == {"ready"}
    finally:
        server.stop()


def test_automatic_mode_never_queues_a_page_without_an_invoice_number(data_root: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    letter = data_root / "letter.pdf"
    page = canvas.Canvas(str(letter), pagesize=A4)
    page.drawString(72, 770, "ACME Bürobedarf GmbH")
    page.drawString(72, 700, "Sehr geehrte Damen und Herren, anbei unser neuer Katalog.")
    page.save()
    config = write_config(data_root / "c.yaml", "sending:\n  mode: automatic\n")
    server = Server(data_root / "data", config=config).start()
    try:
        client = Client(server.uri)
        assert client.print_file(letter).code == StatusCode.SUCCESSFUL_OK
        assert client.print_file(invoice_pdf(data_root / "ok.pdf", "RE-77")).code == StatusCode.SUCCESSFUL_OK
        rows = {row["sha256"]: row for row in wait_for_invoices(server.data_dir, 2)}
        stray = rows[hashlib.sha256(letter.read_bytes()).hexdigest()]
        assert stray["state"] == "needs-attention"
        assert "invoice number" in stray["reason"]
        good = rows[hashlib.sha256((data_root / "ok.pdf").read_bytes()).hexdigest()]
        assert good["state"] == "queued"  # only an invoice that passed every check is queued
    finally:
        server.stop()


def test_same_number_from_the_same_seller_in_two_different_pdfs_is_a_possible_duplicate(data_root: Path) -> None:
    first = invoice_pdf(data_root / "a.pdf", "RE-2026-0042", total="1.234,56")
    second = invoice_pdf(data_root / "b.pdf", "RE-2026-0042", total="1.234,56 ")  # other bytes, same invoice
    assert first.read_bytes() != second.read_bytes()
    other_seller = invoice_pdf(data_root / "c.pdf", "RE-2026-0042", seller="Other Supplies AG")
    server = Server(data_root / "data").start()
    try:
        client = Client(server.uri)
        for pdf in (first, second, other_seller):
            assert client.print_file(pdf).code == StatusCode.SUCCESSFUL_OK
        rows = sorted(wait_for_invoices(server.data_dir, 3), key=lambda row: row["id"])
        assert [row["state"] for row in rows] == ["ready", "possible-duplicate", "ready"]
        assert str(rows[0]["id"]) in rows[1]["reason"]
    finally:
        server.stop()


@pytest.mark.parametrize("point", INTAKE_POINTS)
def test_crash_with_a_three_invoice_job_gives_exactly_three(point: str, data_root: Path) -> None:
    pdf, expected = three_invoices(data_root)
    server = Server(data_root / "data")
    server.start(env={"PAGERO_CRASH_AT": point})
    try:
        Client(server.uri, timeout=30).print_file(pdf)
    except (ConnectionError, http.client.HTTPException, OSError):
        pass
    assert server.wait_exit(60) == -9
    server.start()
    try:
        check_three(server, expected)
        assert len(invoices(server.data_dir)) == 3
    finally:
        server.stop()
