"""The pipeline: what happens to a stored document, one named step after another.

Steps run on worker threads inside ``serve``; their progress lives in the store, so
a restart picks up every document that had not finished (nothing is held only in
memory).  Step one, *convert*, turns the stored print document into a PDF with
``printer_backend``; the IPP job is completed once the PDF exists, or aborted with
the reason when the document is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from connect_core.config import Company, Config
from connect_core.crash import crash_point
from connect_core.intake.spool import Spool
from connect_core.invoices.history import record, transition
from connect_core.invoices.model import source_in_words
from connect_core.invoices.states import State
from connect_core.pipeline.extract import InvoiceFields, Template, read_invoices
from connect_core.pipeline.layouts import folder_of, load_template_files, note_use
from connect_core.pipeline.recognition import ocr_settings
from connect_core.pipeline.split import split_pdf
from connect_core.pipeline.validate import Candidate, Policy, duplicate_of, run_checks, verdict
from connect_core.store import Database, print_jobs, utcnow
from connect_core.store.schema import invoices
from ipp.status import JobState
from printer_backend.convert import Conversion, convert
from printer_backend.errors import BackendError
from printer_backend.limits import Limits
from printer_backend.ocr import OcrSettings

log = logging.getLogger("connect_core.pipeline.worker")

Converter = Callable[..., Conversion]


@dataclass
class Pipeline:
    """Worker threads that carry stored documents through the steps."""

    db: Database
    spool: Spool
    paper: str = "A4"
    limits: Limits = field(default_factory=Limits)
    workers: int = 1
    policy: Policy = field(default_factory=Policy)
    converter: Converter = convert
    companies: tuple[Company, ...] = ()
    """The office's own companies: the seller of what it prints."""
    default_currency: str = ""
    ocr: OcrSettings | None = None
    """How pages without text are recognised; None: they are not."""
    _queue: queue.Queue[int | None] = field(default_factory=queue.Queue, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)
    _busy: set[int] = field(default_factory=set, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)
    quiet: float = 0.3
    """Conversion waits until no document has arrived for this long (at most ``max_defer``), so a
    burst of print jobs is answered first: converting shares the CPU with the printer."""
    max_defer: float = 5.0
    _last_arrival: float = field(default=0.0, init=False)
    _layout_files: dict[str, str] = field(default_factory=dict, init=False)
    """Each layout's name → its file name, as last loaded (to count its uses)."""
    _refused: set[str] = field(default_factory=set, init=False)
    """The refusals of layout files already logged (each is said once, not at every job)."""

    def start(self) -> None:
        """Start the workers and queue every document a previous run left unfinished."""
        with self.db.reader.connect() as conn:
            pending = [jid for (jid,) in conn.execute(
                select(print_jobs.c.id)
                .where(print_jobs.c.state == int(JobState.PROCESSING), print_jobs.c.document_uuid.is_not(None))
                .order_by(print_jobs.c.id)
            )]
        if pending:
            log.info("resuming %d unfinished document(s)", len(pending))
        for job_id in pending:
            self._queue.put(job_id)
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"pipeline-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self, job_id: int) -> None:
        """A document was just stored: process it soon."""
        self._last_arrival = time.monotonic()
        self._queue.put(job_id)

    def _wait_for_quiet(self) -> None:
        start = time.monotonic()
        while not self._stopping.is_set():
            now = time.monotonic()
            calm = now - self._last_arrival
            if calm >= self.quiet or now - start >= self.max_defer:
                return
            time.sleep(min(self.quiet - calm, self.max_defer - (now - start)))

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the documents being worked on; the queued rest waits in the store for the next start."""
        self._stopping.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def idle(self) -> bool:
        """Nothing queued and nothing being worked on (for tests and benchmarks)."""
        with self._lock:
            return self._queue.empty() and not self._busy

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._stopping.is_set():
                return
            with self._lock:
                if job_id in self._busy:
                    continue
                self._busy.add(job_id)
            try:
                self._wait_for_quiet()
                self.convert_job(job_id)
            except Exception:
                log.exception("job %d: unexpected error; it stays queued for the next start", job_id)
            finally:
                with self._lock:
                    self._busy.discard(job_id)

    # -- step: convert ------------------------------------------------------------------

    def convert_job(self, job_id: int) -> None:
        """Turn job ``job_id``'s document into a PDF, check it, and record the invoice.

        The job's completion and the invoice row commit in one transaction fenced on the
        job still being ``processing``: a crash anywhere before it means the step runs
        again after the restart, and it can never produce the invoice twice.
        """
        with self.db.reader.connect() as conn:
            row = conn.execute(select(print_jobs).where(print_jobs.c.id == job_id)).first()
        if row is None or row.state != JobState.PROCESSING or row.document_uuid is None:
            return
        source: Path = self.spool.document_path(row.document_uuid)
        target = self.spool.pdf_path(row.document_uuid)
        crash_point("during_conversion")
        extra: dict[str, Any] = {}
        if self.ocr is not None:
            extra = {"ocr": self.ocr, "progress": self._progress_of(job_id)}
        try:
            result = self.converter(source, target, paper=self.paper, limits=self.limits,
                                    claimed_format=row.document_format, **extra)
        except BackendError as error:
            log.warning("job %d refused: %s", job_id, error.reason)
            self._finish(row, JobState.ABORTED, "document-format-error", f"Refused: {error.reason}", None)
            return
        note = _text_note(result)
        self._finish(
            row, JobState.COMPLETED, "job-completed-successfully",
            f"Converted to PDF ({result.pages} page{'s' if result.pages != 1 else ''}).{note}", result,
        )
        log.info("job %d converted: %s, %d page(s)", job_id, result.source_format, result.pages)

    def _progress_of(self, job_id: int) -> Callable[[int, int], None]:
        """What the job says while its pages are recognised (the status page and IPP's job-state-message)."""

        def progress(done: int, total: int) -> None:
            message = f"Recognising text: page {done + 1} of {total}" if total > 1 else "Recognising text"
            with self.db.writer.begin() as conn:
                conn.execute(update(print_jobs)
                             .where(print_jobs.c.id == job_id, print_jobs.c.state == int(JobState.PROCESSING))
                             .values(state_message=message))

        return progress

    def _finish(self, job: Any, state: JobState, reason: str, message: str, result: Conversion | None) -> None:
        now = utcnow()
        values: dict[str, object] = {}
        pieces: list[Piece] = []
        if result is not None:
            values = {"source_format": result.source_format, "pages": result.pages, "has_text": result.has_text,
                      "impressions": result.pages}
            pieces = self.read_and_split(job, result)
        with self.db.writer.begin() as conn:
            done = conn.execute(
                update(print_jobs)
                .where(print_jobs.c.id == job.id, print_jobs.c.state == int(JobState.PROCESSING))
                .values(state=int(state), state_reasons=reason, state_message=message, completed_at=now, **values)
            )
            if done.rowcount != 1:
                return  # another worker finished it first
            each: list[Piece | None] = list(pieces) or [None]
            for piece in each:
                self._record_invoice(conn, job, result, piece, message, now)
            crash_point("before_invoice_commit")

    # -- step: read the fields, one file per invoice -----------------------------------------

    def read_and_split(self, job: Any, result: Conversion) -> list[Piece]:
        """The invoices in a converted document: their fields, pages and own PDF files.

        Runs before the transaction that records them; split files are written
        atomically under fixed names, so running this again after a crash gives the
        same files.  A document whose fields cannot be read is one invoice without fields.
        """
        pdf = self.spool.pdf_path(job.document_uuid)
        whole = Piece(None, 1, result.pages, pdf.name, job.sha256, pdf.stat().st_size if pdf.exists() else 0)
        try:
            found = read_invoices(pdf, self._templates(), self.companies, self.default_currency or None,
                                  self.limits)
        except Exception as error:  # a reader bug must not stop the document: a person reads it instead
            log.warning("job %d: invoice fields could not be read: %s", job.id, error)
            return [whole]
        if len(found) <= 1:
            return [Piece(found[0] if found else None, 1, result.pages, pdf.name, job.sha256, whole.size_bytes)]
        ranges = [fields.pages for fields in found]
        files = split_pdf(pdf, ranges, self.spool.job_dir(job.document_uuid))
        return [
            Piece(fields, first, last, path.name, f"{job.sha256}:{first}-{last}", path.stat().st_size)
            for fields, (first, last), path in zip(found, ranges, files, strict=True)
        ]

    def _templates(self) -> list[Template]:
        """The layouts in ``<data dir>/templates`` that load; a refused file is logged (one line) and skipped."""
        usable: list[Template] = []
        files: dict[str, str] = {}
        for item in load_template_files(folder_of(self.spool.root.parent)):
            if item.template is None:
                if item.error not in self._refused:
                    self._refused.add(item.error)
                    log.warning("layout refused, skipped until it is fixed: %s", item.error)
                continue
            usable.append(item.template)
            files.setdefault(item.template.name, item.path.name)
        self._layout_files = files
        return usable

    def _record_invoice(self, conn: Connection, job: Any, result: Conversion | None, piece: Piece | None,
                        message: str, now: dt.datetime) -> None:
        """Insert one invoice of a converted (or refused) document, with its history."""
        fields = piece.fields if piece else None
        pages = (piece.last - piece.first + 1) if piece else (result.pages if result else 0)
        candidate = Candidate(
            pages=pages,
            has_text=result.has_text if result else False,
            size_bytes=piece.size_bytes if piece else job.size_bytes,
            sha256=piece.sha256 if piece else job.sha256,
            source_format=result.source_format if result else (job.document_format or ""),
            invoice_number=fields.invoice_number if fields else None,
            total=fields.total if fields else None,
            seller=fields.seller if fields else None,
            not_ready=fields.not_ready if fields else ("The invoice fields could not be read.",),
            no_text=_no_text(result),
        )
        row = {
            "uuid": str(uuid.uuid4()), "job_id": job.id, "owner": job.user_name, "state": State.RECEIVED.value,
            "document_uuid": job.document_uuid, "first_page": piece.first if piece else 1,
            "last_page": piece.last if piece else (pages or None), "pages": pages, "has_text": candidate.has_text,
            "source_format": candidate.source_format, "sha256": candidate.sha256,
            "size_bytes": candidate.size_bytes, "pdf_name": piece.pdf_name if piece else "document.pdf",
            "created_at": job.created_at, "updated_at": now,
        }
        if fields is not None:
            row.update(invoice_number=fields.invoice_number, issue_date=fields.issue_date, due_date=fields.due_date,
                       currency=fields.currency, total=fields.total, seller=fields.seller, buyer=fields.buyer,
                       fields=json.dumps(fields.sources))
        invoice_id = int(conn.execute(insert(invoices).values(row)).inserted_primary_key[0])  # type: ignore[index]
        source = job.source_name or job.name
        record(conn, invoice_id, f"received from {job.door} ({source})", to_state=State.RECEIVED.value,
               who=job.user_name, at=job.created_at)
        if result is None:
            transition(conn, invoice_id, State.INVALID, "conversion refused", why=message.removeprefix("Refused: "))
            return
        pages_note = f" (pages {piece.first}–{piece.last} of the print job)" if piece and piece.pdf_name != \
            "document.pdf" else ""
        transition(conn, invoice_id, State.CONVERTED, "converted to PDF" + pages_note, why=message)
        if fields is not None:
            found = ", ".join(f"{name} ({source_in_words(str(info.get('source', '?')))})"
                              for name, info in fields.sources.items())
            record(conn, invoice_id, "fields read", why=found or "no fields found")
            if fields.layout is not None and fields.layout in self._layout_files:
                note_use(conn, self._layout_files[fields.layout], now)
        findings = run_checks(candidate, self.policy)
        duplicate = duplicate_of(conn, candidate, self.policy, now, exclude=invoice_id)
        target, why = verdict(findings, duplicate, self.policy)
        if target is State.POSSIBLE_DUPLICATE:
            conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(duplicate_of=duplicate))
        what = {State.READY: "ready to send", State.QUEUED: "queued for sending"}.get(target, "checked")
        transition(conn, invoice_id, target, what, why=why)


@dataclass(frozen=True)
class Piece:
    """One invoice of a document: its fields, page range, PDF file (in the job folder) and identity."""

    fields: InvoiceFields | None
    first: int
    last: int
    pdf_name: str
    sha256: str
    size_bytes: int


def _no_text(result: Conversion | None) -> str:
    """Why a document whose pages were given to text recognition still has no text."""
    if result is None or not result.recognised or result.has_text:
        return ""
    reasons = sorted({page.failed for page in result.recognised if page.failed})
    if reasons == ["no text found"]:
        return "No text found: the page holds no text that could be recognised."
    return "Its text could not be recognised (" + "; ".join(reasons) + ")."


def _text_note(result: Conversion) -> str:
    """What the job's message says about the document's text: recognised pages, and pages left without."""
    if result.recognised:
        read, tried = sum(1 for page in result.recognised if page.words), len(result.recognised)
        said = f" Text recognised on {read} of {tried} page{'s' if tried != 1 else ''}."
        for page in result.recognised:
            if page.failed:
                said += f" Page {page.page}: {page.failed}."
        return said + "".join(f" {note[0].upper()}{note[1:]}." for note in result.notes
                              if note.startswith(("text recognised on the first", "OCR languages not installed")))
    if not result.has_text:
        unavailable = next((note for note in result.notes if note.startswith("no text recognised")), None)
        return " It has no usable text layer." + (f" {unavailable[0].upper()}{unavailable[1:]}." if unavailable else "")
    return ""


def make_pipeline(config: Config, db: Database, spool: Spool) -> Pipeline:
    """The pipeline with the office's choices from the configuration."""
    return Pipeline(db, spool, paper=config.printer.paper, policy=policy_of(config), limits=conversion_limits(config),
                    companies=config.companies, default_currency=config.company.currency, ocr=ocr_settings(config))


def policy_of(config: Config) -> Policy:
    """The checks and the sending mode the office chose."""
    return Policy(
        automatic=config.sending.mode == "automatic",
        duplicates=config.validation.duplicates,
        duplicate_window_days=config.validation.duplicate_window_days,
        max_pages=config.validation.max_pages,
    )


def conversion_limits(config: Config) -> Limits:
    """What one conversion may use: ``limits.convert_seconds`` of CPU (twice that of wall clock) and memory."""
    seconds = config.limits.convert_seconds
    return Limits(cpu_seconds=max(1, int(seconds)), wall_seconds=2 * seconds,
                  memory_bytes=config.limits.convert_memory_bytes)
