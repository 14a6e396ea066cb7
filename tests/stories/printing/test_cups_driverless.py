"""A Linux desktop adds Pagero Printer the driverless way (``lpadmin -m everywhere``) and prints to it.

Real CUPS (a private scheduler, tests/cupsd.py) talks IPP Everywhere to a real ``serve``: it builds
the queue's PPD from our Get-Printer-Attributes, converts what it is given to PDF with its own
filters, and hands the job over with its ``ipp`` backend.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cupsd import Cupsd, private_cupsd
from tests.support.harness import CORPUS, Server

QUEUE = "Pagero"
INVOICE = CORPUS / "printed" / "FNFE-factur-x-examples__Avoir_FR_type381_BASIC.pdf"


@pytest.fixture(scope="module")
def driverless() -> Iterator[tuple[Cupsd, Server]]:
    """A running product, and a private CUPS with a driverless queue for it that is ready to print."""
    root = Path(tempfile.mkdtemp(prefix="pagero-test-", dir="/var/tmp"))
    server = Server(root / "data").start()
    try:
        with private_cupsd() as cupsd:
            cupsd.run("lpadmin", "-p", QUEUE, "-v", server.uri, "-m", "everywhere", "-E")
            # The PPD is written after lpadmin returns; a job sent before would go out raw (cups#1574).
            cupsd.wait_ready(QUEUE)
            yield cupsd, server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def stored_job(data_dir: Path, name: str, timeout: float = 30) -> tuple[str, str]:
    """The (document_uuid, sha256) of the one job named ``name`` in the product's store."""
    deadline = time.monotonic() + timeout
    while True:
        db = sqlite3.connect(data_dir / "connect.db")
        try:
            rows = db.execute("SELECT document_uuid, sha256 FROM print_jobs WHERE name = ?", (name,)).fetchall()
        finally:
            db.close()
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(rows) == 1, f"expected one job named {name!r} in the store, found {rows}"
    return rows[0]


def pdfinfo(pdf: Path) -> dict[str, str]:
    output = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in output.splitlines())}


def page_size(pdf: Path) -> tuple[int, int]:
    """The first page's size in whole points, e.g. (595, 842) for A4."""
    width, _x, height, *_rest = pdfinfo(pdf)["Page size"].split()
    return round(float(width)), round(float(height))


def print_and_fetch(cupsd: Cupsd, server: Server, path: Path, *options: str) -> Path:
    """Print ``path`` on the driverless queue; returns the document the product stored for it.

    CUPS names the job after the file, and its ``ipp`` backend sends that name as job-name.
    """
    job = cupsd.lp(QUEUE, path, *options)
    cupsd.wait_completed(job)
    document_uuid, _sha = stored_job(server.data_dir, path.name)
    return server.data_dir / "spool" / "jobs" / document_uuid / "document"


A4 = (595, 842)


def test_the_driverless_queue_defaults_to_a4(driverless: tuple[Cupsd, Server]) -> None:
    cupsd, _server = driverless
    ppd = cupsd.ppd(QUEUE).read_text(errors="replace")
    assert "*DefaultPageSize: A4" in ppd
    # CUPS sends us PDF (not raster) for what it prints.
    assert '*cupsFilter2: "application/vnd.cups-pdf application/pdf' in ppd
    # The default must name one of the sizes offered, or CUPS's filters quietly fall back to
    # Letter.  CUPS 2.4.2 names zero-margin sizes "A4.Borderless" but writes the default as "A4".
    choices = re.findall(r"^\*PageSize ([^/:]+)", ppd, re.MULTILINE)
    assert "A4" in choices, f"*DefaultPageSize: A4 is not among the offered sizes {choices}"


def test_a_printed_pdf_invoice_arrives_as_pdf_and_cups_completes_the_job(
        driverless: tuple[Cupsd, Server]) -> None:
    cupsd, server = driverless
    document = print_and_fetch(cupsd, server, INVOICE)
    assert document.read_bytes().startswith(b"%PDF")
    # CUPS rewrites the PDF on the way (pdftopdf); every page must still be there.
    assert pdfinfo(document)["Pages"] == pdfinfo(INVOICE)["Pages"]


def test_a_printed_text_file_arrives_as_pdf_made_by_cups(driverless: tuple[Cupsd, Server], print_dir: Path) -> None:
    cupsd, server = driverless
    text = print_dir / "invoice-note.txt"
    text.write_text("Invoice 2024-0042\nTotal due: 125.00 EUR\n")
    document = print_and_fetch(cupsd, server, text)
    assert document.read_bytes().startswith(b"%PDF")
    info = pdfinfo(document)
    assert info["Pages"] == "1" and info["Creator"].startswith("texttopdf")


def test_an_a4_invoice_printed_with_the_queue_defaults_stays_a4(
        driverless: tuple[Cupsd, Server], print_dir: Path) -> None:
    cupsd, server = driverless
    # A copy under its own name, so this job is told apart from the one printed above.
    invoice = print_dir / "a4-invoice.pdf"
    invoice.write_bytes(INVOICE.read_bytes())
    assert page_size(invoice) == A4
    assert page_size(print_and_fetch(cupsd, server, invoice)) == A4
    text = print_dir / "a4-note.txt"
    text.write_text("Invoice 2024-0043\n")
    assert page_size(print_and_fetch(cupsd, server, text)) == A4


def test_a_scan_printed_with_lp_is_read_from_its_recognised_text(
        driverless: tuple[Cupsd, Server], print_dir: Path) -> None:
    from tests.support import scans

    cupsd, server = driverless
    # A scanned one-page invoice (JPEG, 200 dpi, a little turned), printed from a Linux desktop with lp:
    # CUPS sends the JPEG as it is (the printer takes image/jpeg); the product recognises its text.
    scan = scans.scan(CORPUS / "printed" / "Mustangproject__MustangGnuaccountingBeispielRE-20190610_507.pdf",
                      print_dir / "scanned-invoice.jpg")
    scan.chmod(0o644)
    document = print_and_fetch(cupsd, server, scan)
    assert document.read_bytes().startswith(b"\xff\xd8")
    deadline = time.monotonic() + 180  # liveness only
    while True:
        with sqlite3.connect(server.data_dir / "connect.db") as db:
            found = db.execute("SELECT i.invoice_number, i.total, i.fields FROM invoices i JOIN print_jobs j"
                               " ON i.job_id = j.id WHERE j.name = ?", (scan.name,)).fetchall()
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert [(number, str(total)) for number, total, _fields in found] == [("RE-20190610/507", "571.04")]
    assert '"source": "ocr:page 1"' in found[0][2]
