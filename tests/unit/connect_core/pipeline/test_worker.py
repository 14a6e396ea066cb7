"""The pipeline worker: every acknowledged print job ends as exactly the invoices it holds.

``Pipeline.convert_job`` converts a stored document to PDF, reads each invoice in it,
splits a job holding several into one PDF per invoice, checks each, and records the
invoices (with their history, owned by the job's user) in the same transaction that
completes the job, fenced on the job still being ``processing``: running it again, or
twice at once, never records an invoice twice.  A document that cannot be converted
aborts the job with the reason in ``job-state-message`` and leaves one ``invalid``
invoice.  A good invoice is ``ready`` (manual sending) or ``queued`` (automatic); a
repeated one is a ``possible-duplicate``; one whose fields cannot be read needs attention.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select

from connect_core.config import Config, load_config
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.invoices.states import State
from connect_core.pipeline.worker import Pipeline, make_pipeline
from connect_core.store import Database, open_database, print_jobs
from connect_core.store.schema import events, invoices
from ipp.status import JobState
from printer_backend.convert import Conversion, convert
from tests.support.documents import invoice_pdf
from tests.support.emulator import wait_until


@dataclass
class Office:
    """A data dir with its store, spool, intake and pipeline, as ``serve`` wires them."""

    root: Path
    config: Config
    db: Database
    spool: Spool
    intake: PrintIntake
    pipeline: Pipeline

    def accept(self, path: Path, user: str = "ben") -> int:
        return self.intake.accept_file(path, door="import", user=user)

    def print(self, path: Path, user: str = "ben") -> int:
        """Take ``path`` in as ``import`` does and run the pipeline on it; returns the job id."""
        job_id = self.accept(path, user)
        self.pipeline.convert_job(job_id)
        return job_id

    def job(self, job_id: int) -> Any:
        with self.db.reader.connect() as conn:
            return conn.execute(select(print_jobs).where(print_jobs.c.id == job_id)).one()

    def invoices(self, job_id: int | None = None) -> list[Any]:
        query = select(invoices).order_by(invoices.c.id)
        if job_id is not None:
            query = query.where(invoices.c.job_id == job_id)
        with self.db.reader.connect() as conn:
            return list(conn.execute(query))

    def history(self, invoice_id: int) -> list[Any]:
        with self.db.reader.connect() as conn:
            return list(conn.execute(select(events).where(events.c.invoice_id == invoice_id).order_by(events.c.id)))

    def everything(self) -> tuple[list[Any], list[Any], list[Any]]:
        """Every job, invoice and history row, to compare before and after."""
        with self.db.reader.connect() as conn:
            return (list(conn.execute(select(print_jobs).order_by(print_jobs.c.id))),
                    list(conn.execute(select(invoices).order_by(invoices.c.id))),
                    list(conn.execute(select(events).order_by(events.c.id))))


def open_office(root: Path, **settings: Any) -> Office:
    data_dir = root / "data"
    data_dir.mkdir(exist_ok=True)
    config = load_config(None, {"storage.data_dir": str(data_dir), **settings})
    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    return Office(root, config, db, spool, PrintIntake(db, spool), make_pipeline(config, db, spool))


@pytest.fixture
def office(data_root: Path) -> Iterator[Office]:
    office = open_office(data_root)
    yield office
    office.db.dispose()


@pytest.fixture
def automatic_office(data_root: Path) -> Iterator[Office]:
    office = open_office(data_root, **{"sending.mode": "automatic"})
    yield office
    office.db.dispose()


def two_invoices_pdf(folder: Path) -> Path:
    """One PDF holding two one-page invoices from different sellers (as a batch print makes)."""
    first = invoice_pdf(folder / "first.pdf", "RE-2026-0101", "410,00", seller="ACME Bürobedarf GmbH")
    second = invoice_pdf(folder / "second.pdf", "RE-2026-0202", "88,50", seller="Papier Schmidt KG")
    writer = PdfWriter()
    for source in (first, second):
        for page in PdfReader(source).pages:
            writer.add_page(page)
    target = folder / "batch.pdf"
    with open(target, "wb") as handle:
        writer.write(handle)
    return target


def invoice_without_total(path: Path) -> Path:
    """An invoice page with a seller and a number but no amount anywhere."""
    page = canvas.Canvas(str(path), pagesize=A4)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 770, "ACME Bürobedarf GmbH")
    page.setFont("Helvetica", 11)
    page.drawString(72, 700, "Rechnung Nr. RE-2026-0777")
    page.drawString(72, 680, "Rechnungsdatum: 05.03.2026")
    page.showPage()
    page.save()
    return path


def test_a_readable_one_invoice_pdf_becomes_one_ready_invoice_with_its_fields_read(office: Office) -> None:
    job_id = office.print(invoice_pdf(office.root / "a.pdf", "RE-2026-0001", "1.234,56"))

    job = office.job(job_id)
    assert job.state == JobState.COMPLETED
    assert job.state_reasons == "job-completed-successfully"
    assert job.state_message == "Converted to PDF (1 page)."
    assert (job.source_format, job.pages, job.has_text) == ("application/pdf", 1, True)
    (invoice,) = office.invoices()
    assert invoice.state == State.READY.value and invoice.reason == ""
    assert invoice.invoice_number == "RE-2026-0001"
    assert invoice.issue_date == dt.date(2026, 3, 5)
    assert invoice.due_date == dt.date(2026, 4, 4)
    assert invoice.total == Decimal("1234.56")
    assert invoice.currency == "EUR"
    assert invoice.seller == "ACME Bürobedarf GmbH"
    assert (invoice.job_id, invoice.pages, invoice.first_page, invoice.last_page) == (job_id, 1, 1, 1)
    assert invoice.sha256 == job.sha256
    assert (office.spool.job_dir(job.document_uuid) / invoice.pdf_name).is_file()


def test_in_automatic_mode_a_good_invoice_is_queued_for_sending(automatic_office: Office) -> None:
    job_id = automatic_office.print(invoice_pdf(automatic_office.root / "a.pdf", "RE-2026-0002"))

    assert automatic_office.job(job_id).state == JobState.COMPLETED
    (invoice,) = automatic_office.invoices()
    assert invoice.state == State.QUEUED.value
    assert invoice.invoice_number == "RE-2026-0002"
    assert automatic_office.history(invoice.id)[-1].what == "queued for sending"


def test_a_pdf_holding_two_invoices_is_split_into_two_each_with_its_own_pdf(office: Office) -> None:
    job_id = office.print(two_invoices_pdf(office.root))

    job = office.job(job_id)
    assert job.state == JobState.COMPLETED and job.pages == 2
    first, second = office.invoices(job_id)
    assert [(i.invoice_number, i.seller, i.total) for i in (first, second)] == [
        ("RE-2026-0101", "ACME Bürobedarf GmbH", Decimal("410.00")),
        ("RE-2026-0202", "Papier Schmidt KG", Decimal("88.50")),
    ]
    assert [(i.first_page, i.last_page, i.pages) for i in (first, second)] == [(1, 1, 1), (2, 2, 1)]
    assert {first.state, second.state} == {State.READY.value}
    folder = office.spool.job_dir(job.document_uuid)
    assert first.pdf_name != second.pdf_name and "document.pdf" not in (first.pdf_name, second.pdf_name)
    for invoice in (first, second):
        pdf = folder / invoice.pdf_name
        assert len(PdfReader(pdf).pages) == 1
        text = PdfReader(pdf).pages[0].extract_text()
        assert invoice.invoice_number in text
        assert invoice.size_bytes == pdf.stat().st_size
    assert "RE-2026-0202" not in PdfReader(folder / first.pdf_name).pages[0].extract_text()
    # Each piece has its own identity, so the second is not a duplicate of the first.
    assert first.sha256 != second.sha256 and job.sha256 in first.sha256
    assert "pages 2–2 of the print job" in office.history(second.id)[1].what


def test_an_invoice_missing_its_total_needs_attention_and_the_reason_names_the_total(office: Office) -> None:
    office.print(invoice_without_total(office.root / "no-total.pdf"))

    (invoice,) = office.invoices()
    assert invoice.state == State.NEEDS_ATTENTION.value
    assert invoice.invoice_number == "RE-2026-0777" and invoice.total is None
    assert "The total could not be read." in invoice.reason
    assert "invoice number" not in invoice.reason


def test_a_page_with_no_invoice_on_it_needs_attention_naming_every_missing_field(office: Office) -> None:
    letter = office.root / "letter.txt"
    letter.write_text("Dear colleagues,\nthe office is closed on Friday.\n")
    job_id = office.print(letter)

    assert office.job(job_id).state == JobState.COMPLETED
    (invoice,) = office.invoices()
    assert invoice.state == State.NEEDS_ATTENTION.value
    for field in ("invoice number", "issue date", "total", "currency"):
        assert f"The {field} could not be read." in invoice.reason


def test_an_image_print_needs_attention_because_no_text_can_be_read_from_it(office: Office) -> None:
    scan = office.root / "scan.jpg"
    Image.new("RGB", (400, 300), "white").save(scan, "JPEG")
    job_id = office.print(scan)

    job = office.job(job_id)
    assert job.state == JobState.COMPLETED
    assert job.state_message == "Converted to PDF (1 page). Text recognised on 0 of 1 page. Page 1: no text found."
    (invoice,) = office.invoices()
    assert invoice.state == State.NEEDS_ATTENTION.value
    assert not invoice.has_text and invoice.source_format == "image/jpeg"
    assert invoice.reason == "No text found: the page holds no text that could be recognised. Check it and approve."

    office.pipeline.ocr = None  # ocr.enabled: off
    Image.new("RGB", (400, 301), "white").save(scan, "JPEG")
    job = office.job(office.print(scan))
    assert "no usable text layer" in job.state_message
    assert "It arrived as an image" in office.invoices()[-1].reason


def test_a_document_that_cannot_be_converted_aborts_the_job_and_leaves_one_invalid_invoice(office: Office) -> None:
    broken = office.root / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a PDF at all\n")
    job_id = office.print(broken)

    job = office.job(job_id)
    assert job.state == JobState.ABORTED
    assert job.state_reasons == "document-format-error"
    assert job.state_message.startswith("Refused: ") and len(job.state_message) > len("Refused: ")
    (invoice,) = office.invoices()
    assert invoice.state == State.INVALID.value
    assert invoice.reason == job.state_message.removeprefix("Refused: ")
    assert invoice.invoice_number is None and invoice.pages == 0
    assert [(e.from_state, e.to_state, e.what) for e in office.history(invoice.id)] == [
        (None, "received", "received from import (broken.pdf)"),
        ("received", "invalid", "conversion refused"),
    ]


def test_the_same_document_printed_twice_is_held_as_a_possible_duplicate_of_the_first(office: Office) -> None:
    document = invoice_pdf(office.root / "a.pdf", "RE-2026-0003")
    office.print(document)
    office.print(document)

    first, second = office.invoices()
    assert first.state == State.READY.value
    assert second.state == State.POSSIBLE_DUPLICATE.value
    assert f"invoice {first.id}" in second.reason


def test_the_same_invoice_reprinted_as_a_different_file_is_a_possible_duplicate(office: Office) -> None:
    office.print(invoice_pdf(office.root / "a.pdf", "RE-2026-0004", "10,00"))
    # Same number and seller, different bytes (here: a corrected total).
    office.print(invoice_pdf(office.root / "b.pdf", "RE-2026-0004", "12,00"))

    first, second = office.invoices()
    assert first.sha256 != second.sha256
    assert second.state == State.POSSIBLE_DUPLICATE.value and f"invoice {first.id}" in second.reason


def test_with_duplicate_checks_turned_off_a_repeated_document_is_ready_again(data_root: Path) -> None:
    office = open_office(data_root, **{"validation.duplicates": False})
    try:
        document = invoice_pdf(office.root / "a.pdf", "RE-2026-0005")
        office.print(document)
        office.print(document)
        assert [i.state for i in office.invoices()] == [State.READY.value, State.READY.value]
    finally:
        office.db.dispose()


def test_converting_a_finished_job_again_changes_nothing(office: Office) -> None:
    done = office.print(two_invoices_pdf(office.root))
    broken = office.root / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nbroken\n")
    refused = office.print(broken)
    before = office.everything()

    office.pipeline.convert_job(done)
    office.pipeline.convert_job(refused)
    office.pipeline.convert_job(9999)  # no such job: nothing to do

    assert office.everything() == before
    assert len(before[1]) == 3


def test_two_workers_converting_the_same_job_at_once_record_its_invoice_once(office: Office) -> None:
    job_id = office.accept(invoice_pdf(office.root / "a.pdf", "RE-2026-0006"))
    failures: list[Exception] = []

    def work() -> None:
        try:
            office.pipeline.convert_job(job_id)
        except Exception as error:  # reported below, not swallowed
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures
    assert office.job(job_id).state == JobState.COMPLETED
    (invoice,) = office.invoices()
    assert invoice.state == State.READY.value


def test_a_conversion_interrupted_before_its_commit_runs_again_and_records_the_invoice_once(office: Office) -> None:
    """The converter is the pipeline's injection seam: this one writes the PDF, then fails as a crash would."""

    def interrupted(*args: Any, **kwargs: Any) -> Conversion:
        convert(*args, **kwargs)
        raise RuntimeError("the process died here")

    job_id = office.accept(invoice_pdf(office.root / "a.pdf", "RE-2026-0007"))
    failing = Pipeline(office.db, office.spool, converter=interrupted)
    with pytest.raises(RuntimeError):
        failing.convert_job(job_id)
    assert office.job(job_id).state == JobState.PROCESSING
    assert office.invoices() == []

    office.pipeline.convert_job(job_id)
    office.pipeline.convert_job(job_id)

    assert office.job(job_id).state == JobState.COMPLETED
    (invoice,) = office.invoices()
    assert invoice.state == State.READY.value and invoice.invoice_number == "RE-2026-0007"


def test_the_invoice_belongs_to_the_user_who_printed_it(office: Office) -> None:
    office.print(invoice_pdf(office.root / "a.pdf", "RE-2026-0008"), user="clara")
    office.print(two_invoices_pdf(office.root), user="dirk")

    owners = [(i.invoice_number, i.owner) for i in office.invoices()]
    assert owners == [("RE-2026-0008", "clara"), ("RE-2026-0101", "dirk"), ("RE-2026-0202", "dirk")]
    first_lines = [office.history(i.id)[0] for i in office.invoices()]
    assert [line.who for line in first_lines] == ["clara", "dirk", "dirk"]


def test_every_invoice_has_a_history_from_received_to_the_state_it_is_in(office: Office) -> None:
    office.print(invoice_pdf(office.root / "a.pdf", "RE-2026-0009"))
    office.print(invoice_pdf(office.root / "a.pdf", "RE-2026-0009"))  # a duplicate
    office.print(two_invoices_pdf(office.root))
    office.print(invoice_without_total(office.root / "no-total.pdf"))
    broken = office.root / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nbroken\n")
    office.print(broken)

    rows = office.invoices()
    assert {r.state for r in rows} == {"ready", "possible-duplicate", "needs-attention", "invalid"}
    for invoice in rows:
        history = office.history(invoice.id)
        assert history, f"invoice {invoice.id} has no history"
        assert (history[0].from_state, history[0].to_state) == (None, State.RECEIVED.value)
        assert history[0].what.startswith("received from import")
        changes = [line for line in history if line.to_state is not None]
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_state == before.to_state, f"invoice {invoice.id}: a gap in its history"
        assert changes[-1].to_state == invoice.state
        if invoice.reason:
            assert changes[-1].why == invoice.reason


def test_a_job_cancelled_before_it_was_converted_yields_no_invoice(office: Office) -> None:
    job_id = office.accept(invoice_pdf(office.root / "a.pdf", "RE-2026-0010"))
    office.intake.cancel_job(job_id, "ben")

    office.pipeline.convert_job(job_id)

    assert office.job(job_id).state == JobState.CANCELED
    assert office.invoices() == []


def test_started_workers_pick_up_a_document_a_previous_run_left_unconverted(office: Office) -> None:
    job_id = office.accept(invoice_pdf(office.root / "a.pdf", "RE-2026-0011"))
    office.pipeline.start()
    try:
        wait_until(lambda: office.job(job_id).state != JobState.PROCESSING, timeout=60, interval=0.05,
                   message="the unfinished job was not resumed")
    finally:
        office.pipeline.stop()
    assert office.job(job_id).state == JobState.COMPLETED
    assert [i.invoice_number for i in office.invoices()] == ["RE-2026-0011"]
