"""Raster prints, PostScript that lost its text and scans become readable invoices, printed over IPP.

A real ``serve`` with OCR on, real client documents made by Ghostscript and Pillow from a corpus
invoice, the real Tesseract.  The invoice's fields must be those read from the original PDF, the
stored PDF must carry the text, and a page with no text says so instead of hanging.
"""

from __future__ import annotations

import re
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from connect_core.pipeline.extract import read_invoices
from ipp.status import JobState, StatusCode
from tests.stories.printing.test_printing_documents import finished_jobs
from tests.support import scans
from tests.support.cli import wait_for_invoices, write_config
from tests.support.corpus import strip_xml
from tests.support.harness import CORPUS, Server
from tests.support.ippclient import Client, job_id
from tests.support.web import add_user, api_login

INVOICE = CORPUS / "printed" / "Mustangproject__MustangGnuaccountingBeispielRE-20190610_507.pdf"
THREE_PAGES = CORPUS / "printed" / "intarsys__EN16931__zugferd_2p0_EN16931_Miete.pdf"
CONFIG = "ocr:\n  languages: [deu, eng]\nsending:\n  mode: manual\n"


@pytest.fixture
def ocr_server(tmp_path: Path) -> Any:
    server = Server(tmp_path / "data", config=write_config(tmp_path / "config.yaml", CONFIG)).start()
    yield server
    server.stop()


def stored_pdf(data_dir: Path, row: dict[str, Any]) -> Path:
    with sqlite3.connect(data_dir / "connect.db") as conn:
        document, name = conn.execute("SELECT document_uuid, pdf_name FROM invoices WHERE id = ?",
                                      (row["id"],)).fetchone()
    return data_dir / "spool" / "jobs" / document / name


def photo(path: Path) -> Path:
    picture = Image.new("RGB", (900, 1200), (90, 140, 200))
    draw = ImageDraw.Draw(picture)
    for n in range(12):
        draw.ellipse((40 * n, 60 * n, 40 * n + 300, 60 * n + 300), fill=(20 * n, 255 - 20 * n, 120))
    picture.save(path, format="JPEG", quality=85, dpi=(150, 150))
    return path


def test_raster_postscript_and_a_scan_print_into_the_invoice_the_original_reads_as(
        ocr_server: Server, tmp_path: Path) -> None:
    original = read_invoices(strip_xml(INVOICE, tmp_path / "original.pdf"))[0]
    client = Client(ocr_server.uri)
    kinds: dict[int, str] = {}
    for kind in scans.KINDS:
        made = scans.make(kind, INVOICE, tmp_path / "client")
        answer = client.print_file(made, name=f"{kind} print", fmt=scans.FORMAT[kind])
        assert answer.code == StatusCode.SUCCESSFUL_OK, kind
        kinds[job_id(answer)] = kind
    answer = client.print_file(photo(tmp_path / "photo.jpg"), name="a photo", fmt="image/jpeg")
    photo_job = job_id(answer)

    rows = {row["job_id"]: row for row in wait_for_invoices(ocr_server.data_dir, 5, timeout=300)}
    for job, kind in kinds.items():
        row = rows[job]
        assert (row["invoice_number"], row["issue_date"], row["total"]) == (
            original.invoice_number, original.issue_date.isoformat(), str(original.total)), kind
        pdf_text = subprocess.run(["pdftotext", str(stored_pdf(ocr_server.data_dir, row)), "-"],
                                  capture_output=True, text=True, check=True).stdout
        assert original.invoice_number in pdf_text, kind  # what is sent to Pagero Online can be searched

    # a photo: an invoice that waits for a person, saying there is no text (not a hang)
    pictured = rows[photo_job]
    assert pictured["state"] == "needs-attention"
    shown = subprocess.run([*CLI, "show", str(pictured["id"]), "--data-dir", str(ocr_server.data_dir)],
                           capture_output=True, text=True, timeout=60)
    assert "No text found" in shown.stdout, shown.stdout

    # the invoice's page says where each field came from, and how sure the recognition was
    add_user(ocr_server.data_dir, "office", admin=True)
    session, _csrf = api_login(ocr_server.url, "office")
    scanned = next(rows[job] for job, kind in kinds.items() if kind == "scan")
    page = session.get(f"{ocr_server.url}/invoices/{scanned['id']}", timeout=30).text
    assert re.search(r"recognised text, page 1 \(\d+ %\)", page), page
    assert "Text recognised on 1 of 1 page" in page


CLI = [sys.executable, "-m", "connect_core.cli"]


def processing_messages(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "connect.db") as conn:
        return [message or "" for (message,) in conn.execute(
            "SELECT state_message FROM print_jobs WHERE state = ?", (int(JobState.PROCESSING),))]


def test_the_printer_keeps_taking_jobs_while_four_documents_are_recognised(
        ocr_server: Server, tmp_path: Path) -> None:
    raster = scans.pwg(THREE_PAGES, tmp_path / "three.pwg", dpi=300)
    client = Client(ocr_server.uri)
    for n in range(4):
        assert client.print_file(raster, name=f"scan {n}", fmt="image/pwg-raster").code == StatusCode.SUCCESSFUL_OK
    add_user(ocr_server.data_dir, "office", admin=True)
    session, _csrf = api_login(ocr_server.url, "office")

    deadline = time.monotonic() + 120  # liveness: recognition starts
    while not any(m.startswith("Recognising text") for m in processing_messages(ocr_server.data_dir)):
        assert time.monotonic() < deadline, "no document is being recognised"
        time.sleep(0.1)
    listing = session.get(f"{ocr_server.url}/outbound/files-to-send", timeout=30).text
    assert "recognising text" in listing
    said = [str(job.get("job-state-message", "")) for job in client.get_jobs("not-completed")]
    assert any(message.startswith("Recognising text") for message in said), said  # what IPP clients see

    # while Tesseract is busy on both cores, Print-Job is still answered promptly (a liveness bound)
    answered: list[float] = []
    small = INVOICE.read_bytes()
    for n in range(5):
        started = time.monotonic()
        fresh = Client(ocr_server.uri)
        assert fresh.print_job(small, name=f"during OCR {n}").code == StatusCode.SUCCESSFUL_OK
        answered.append(time.monotonic() - started)
    assert max(answered) < 10, answered
    assert any(m.startswith("Recognising text") for m in processing_messages(ocr_server.data_dir)), \
        "the prints above were answered while recognition was still running"

    rows = wait_for_invoices(ocr_server.data_dir, 9, timeout=600)
    original = read_invoices(strip_xml(THREE_PAGES, tmp_path / "original.pdf"))[0]
    scanned = [row for row in rows if row["source_format"] == "image/pwg-raster"]
    assert len(scanned) == 4
    assert {(row["invoice_number"], row["total"]) for row in scanned} == {(original.invoice_number,
                                                                          str(original.total))}, scanned


def test_a_ten_thousand_page_raster_job_and_an_image_bomb_are_refused_with_their_reasons(
        ocr_server: Server, tmp_path: Path) -> None:
    client = Client(ocr_server.uri, timeout=120)
    huge = scans.blank_pwg(tmp_path / "huge.pwg", 10_000)
    pages = client.print_file(huge, name="10000 pages", fmt="image/pwg-raster")
    assert pages.code == StatusCode.SUCCESSFUL_OK  # taken in (it is only 18 MB), then refused when converted
    # a JPEG of a few KB whose header claims 60,000 × 60,000 pixels (3.6 gigapixels)
    picture = bytearray(scans.scan(INVOICE, tmp_path / "small.jpg", dpi=30).read_bytes())
    frame = picture.index(b"\xff\xc0")
    struct.pack_into(">HH", picture, frame + 5, 60000, 60000)
    bomb = client.print_job(bytes(picture), name="bomb", fmt="image/jpeg")
    assert bomb.code == StatusCode.SUCCESSFUL_OK

    rows = finished_jobs(ocr_server.data_dir, 2, timeout=300)
    assert rows[job_id(pages)]["state"] == JobState.ABORTED
    assert "more than 5000 pages" in rows[job_id(pages)]["state_message"], rows[job_id(pages)]["state_message"]
    assert rows[job_id(bomb)]["state"] == JobState.ABORTED
    assert "larger than the limit" in rows[job_id(bomb)]["state_message"], rows[job_id(bomb)]["state_message"]
    assert client.print_file(INVOICE, name="still printing").code == StatusCode.SUCCESSFUL_OK


def test_pages_beyond_the_ocr_limit_are_left_and_the_invoice_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml", "ocr:\n  languages: [deu]\n  max_pages: 2\n")
    with_limit = Server(tmp_path / "data", config=config).start()
    try:
        pages = scans.blank_pwg(tmp_path / "five.pwg", 5, size=300)
        answer = Client(with_limit.uri).print_file(pages, name="five pages", fmt="image/pwg-raster")
        (row,) = wait_for_invoices(with_limit.data_dir, 1, timeout=300)
        assert row["job_id"] == job_id(answer)
        shown = subprocess.run([*CLI, "show", str(row["id"]), "--data-dir", str(with_limit.data_dir)],
                               capture_output=True, text=True, timeout=60).stdout
        assert "Text recognised on 0 of 2 pages" in shown, shown
        assert "Text recognised on the first 2 pages only (the limit is 2); 3 more pages have no text." in shown
        assert row["state"] == "needs-attention"
    finally:
        with_limit.stop()


def test_ocr_settings_show_in_the_banner(ocr_server: Server) -> None:
    banner = ocr_server.log_text()
    assert re.search(r"OCR: +Tesseract 5[.\d]*: German, English \(sandboxed\)", banner), banner


def test_convert_ocr_reads_a_scan_for_a_one_off_file(tmp_path: Path) -> None:
    scan = scans.scan(INVOICE, tmp_path / "scan.jpg")
    config = write_config(tmp_path / "config.yaml", "company:\n  name: Bei Spiel GmbH\n  vat_ids: [DE136695976]\n")
    done = subprocess.run([*CLI, "convert", str(scan), "-o", str(tmp_path / "scan.pdf"), "--ocr",
                           "--config", str(config)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"page 1: \d+ words recognised, \d+% sure, straightened by -?[\d.]+°", done.stdout), done.stdout
    text = subprocess.run(["pdftotext", str(tmp_path / "scan.pdf"), "-"], capture_output=True, text=True).stdout
    assert "RE-20190610/507" in text
    # without --ocr the same scan stays an image
    plain = subprocess.run([*CLI, "convert", str(scan), "-o", str(tmp_path / "plain.pdf")],
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0 and "without usable text" in plain.stdout
