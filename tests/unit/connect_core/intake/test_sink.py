"""``connect_core/intake/sink.py``: ``PrintIntake``, the printer's JobSink, on a real store and spool.

What it promises: when ``store_document`` (or ``accept_file``, the door of the hot folder and
``import``) returns, the document is byte-identical and durable in ``spool/jobs/<uuid>/document``
and its ``print_jobs`` row is committed (another connection sees it); ``on_stored`` is told the
job id once that is so.  Jobs made by Create-Job wait for one document; ``close_job`` aborts a
job that never got one; ``cancel_job`` ends a job that has not ended.  ``get_job``/``list_jobs``/
``queued_job_count`` answer from the store as Get-Jobs needs it.  ``accepting()`` refuses with
``spool-area-full`` when free space is under ``min_free_bytes``.  A document that is refused or
aborted leaves no file and no row, and ``recover()`` after a crash quarantines every job folder
no committed row names while keeping the committed ones.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.store import Database, open_database
from ipp.sink import JobInfo, JobTicket, SinkRefused
from ipp.status import JobState, StatusCode
from tests.support.documents import invoice_pdf


@dataclass
class Intake:
    data_dir: Path
    db: Database
    spool: Spool
    sink: PrintIntake
    stored: list[int] = field(default_factory=list)
    """Job ids ``on_stored`` was called with, in order."""

    def row(self, job_id: int) -> dict[str, object] | None:
        """The job's row as a fresh connection (another process) sees it."""
        with sqlite3.connect(self.data_dir / "connect.db") as conn:
            conn.row_factory = sqlite3.Row
            found = conn.execute("SELECT * FROM print_jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(found) if found is not None else None

    def row_count(self) -> int:
        with sqlite3.connect(self.data_dir / "connect.db") as conn:
            return int(conn.execute("SELECT count(*) FROM print_jobs").fetchone()[0])

    def folders(self) -> set[str]:
        return {p.name for p in self.spool.jobs.iterdir()}


def make_intake(data_dir: Path, min_free_bytes: int = 0) -> Intake:
    data_dir.mkdir(mode=0o700, exist_ok=True)
    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    stored: list[int] = []
    sink = PrintIntake(db, spool, min_free_bytes=min_free_bytes, on_stored=stored.append)
    return Intake(data_dir, db, spool, sink, stored)


@pytest.fixture
def intake(data_root: Path) -> Iterator[Intake]:
    made = make_intake(data_root / "data")
    yield made
    made.db.dispose()


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real one-page invoice PDF drawn with reportlab."""
    return invoice_pdf(tmp_path_factory.mktemp("pdf") / "invoice.pdf", "RE-2026-0042").read_bytes()


def ticket(user: str = "anna", name: str = "invoice", document_name: str = "invoice.pdf") -> JobTicket:
    return JobTicket(job_name=name, user_name=user, document_format="application/pdf", document_name=document_name,
                     origin_host="desk-7", attributes={"copies": 1, "sides": "one-sided"})


def print_document(intake: Intake, data: bytes, job: JobTicket | None = None, job_id: int | None = None) -> JobInfo:
    """What the printer does for Print-Job (or Send-Document with ``job_id``): open, write in pieces, store."""
    job = job or ticket()
    writer = intake.sink.open_document(job)
    for start in range(0, len(data), 1000):
        writer.write(data[start : start + 1000])
    return intake.sink.store_document(writer, job, job_id, True)


# -- storing a printed document ------------------------------------------------------------------------------


def test_a_stored_document_is_byte_identical_in_the_spool_and_its_row_committed(intake: Intake, pdf: bytes) -> None:
    job = print_document(intake, pdf)
    row = intake.row(job.job_id)
    assert row is not None
    assert row["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert row["size_bytes"] == len(pdf)
    assert row["documents"] == 1
    assert row["door"] == "ipp"
    assert row["source_name"] == "invoice.pdf"
    assert row["name"] == "invoice" and row["user_name"] == "anna" and row["origin_host"] == "desk-7"
    assert json.loads(str(row["attributes"])) == {"copies": 1, "sides": "one-sided"}
    assert row["state"] == JobState.PROCESSING
    path = intake.spool.document_path(str(row["document_uuid"]))
    assert path.read_bytes() == pdf
    assert path.stat().st_mode & 0o777 == 0o600
    assert intake.folders() == {row["document_uuid"]}


def test_store_document_answers_with_the_job_as_committed(intake: Intake, pdf: bytes) -> None:
    job = print_document(intake, pdf)
    assert job.state == JobState.PROCESSING
    assert job.state_reasons == ("job-transforming",)
    assert job.documents == 1
    assert job.k_octets == (len(pdf) + 1023) // 1024
    assert job.job_name == "invoice" and job.user_name == "anna"
    assert job.processing is not None and job.processing.tzinfo is not None
    # The answer is built from the row it inserted: it must be what a later read finds.
    assert intake.sink.get_job(job.job_id) == job


def test_the_row_and_the_document_are_durable_before_on_stored_and_the_answer(intake: Intake, pdf: bytes) -> None:
    seen: list[tuple[int, dict[str, object] | None, bytes | None]] = []

    def on_stored(job_id: int) -> None:
        row = intake.row(job_id)  # another connection: only a committed row is visible
        document = intake.spool.document_path(str(row["document_uuid"])).read_bytes() if row else None
        seen.append((job_id, row, document))

    intake.sink.on_stored = on_stored
    job = print_document(intake, pdf)
    assert len(seen) == 1
    job_id, row, document = seen[0]
    assert job_id == job.job_id
    assert row is not None and row["state"] == JobState.PROCESSING
    assert document == pdf


def test_on_stored_is_called_with_each_new_job_id(intake: Intake, pdf: bytes) -> None:
    first = print_document(intake, pdf)
    second = print_document(intake, pdf + b"\n")
    assert intake.stored == [first.job_id, second.job_id]
    assert first.job_id != second.job_id


def test_a_document_the_printer_cannot_print_is_refused_and_leaves_nothing(intake: Intake) -> None:
    with pytest.raises(SinkRefused) as refused:
        print_document(intake, b"PK\x03\x04" + bytes(5000))
    assert refused.value.status == StatusCode.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED
    assert "ZIP" in refused.value.message
    assert intake.row_count() == 0
    assert intake.folders() == set()
    assert intake.stored == []


def test_an_aborted_document_leaves_no_file_and_no_row(intake: Intake, pdf: bytes) -> None:
    writer = intake.sink.open_document(ticket())
    writer.write(pdf[:5000])
    assert len(intake.folders()) == 1
    writer.abort()
    writer.abort()  # the printer may abort twice
    assert intake.folders() == set()
    assert intake.row_count() == 0
    assert intake.stored == []


def test_a_document_removed_from_the_spool_while_written_is_refused_without_a_row(intake: Intake, pdf: bytes) -> None:
    """Another process recovering the spool may remove a folder no row names yet: the job must not name it."""
    writer = intake.sink.open_document(ticket())
    writer.write(pdf)
    (folder,) = intake.spool.jobs.iterdir()
    shutil.rmtree(folder)
    with pytest.raises(SinkRefused) as refused:
        intake.sink.store_document(writer, ticket(), None, True)
    writer.abort()
    assert refused.value.status == StatusCode.SERVER_ERROR_INTERNAL_ERROR
    assert intake.row_count() == 0
    assert intake.stored == []


def test_documents_stored_at_once_from_several_threads_each_get_their_own_committed_job(
        intake: Intake, pdf: bytes) -> None:
    documents = [pdf + f"% copy {n}\n".encode() for n in range(6)]
    jobs: list[JobInfo | BaseException] = [RuntimeError("not run")] * len(documents)

    def store(index: int) -> None:
        try:
            jobs[index] = print_document(intake, documents[index])
        except BaseException as error:  # noqa: B036 - reported below
            jobs[index] = error

    threads = [threading.Thread(target=store, args=(n,)) for n in range(len(documents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    done = [job for job in jobs if isinstance(job, JobInfo)]
    assert len(done) == len(documents), jobs
    assert len({job.job_id for job in done}) == len(documents)
    for document, job in zip(documents, done, strict=True):
        row = intake.row(job.job_id)
        assert row is not None
        assert intake.spool.document_path(str(row["document_uuid"])).read_bytes() == document
    assert sorted(intake.stored) == sorted(job.job_id for job in done)


# -- the import and hot-folder door ---------------------------------------------------------------------------


def test_accept_file_copies_the_file_into_the_spool_and_commits_its_job(intake: Intake, data_root: Path) -> None:
    source = invoice_pdf(data_root / "scan 0042.pdf", "RE-2026-0043")
    content = source.read_bytes()
    job_id = intake.sink.accept_file(source, door="import", user="bob")
    assert source.read_bytes() == content, "the file is copied, never moved or changed"
    row = intake.row(job_id)
    assert row is not None
    assert row["door"] == "import"
    assert row["user_name"] == "bob"
    assert row["name"] == "scan 0042.pdf" and row["source_name"] == "scan 0042.pdf"
    assert row["sha256"] == hashlib.sha256(content).hexdigest()
    assert row["state"] == JobState.PROCESSING
    assert intake.spool.document_path(str(row["document_uuid"])).read_bytes() == content
    assert intake.stored == [job_id]


def test_accept_file_takes_the_job_name_it_is_given(intake: Intake, pdf: bytes, data_root: Path) -> None:
    source = data_root / "a.pdf"
    source.write_bytes(pdf)
    job_id = intake.sink.accept_file(source, door="folder", user="hot-folder", name="March invoices")
    row = intake.row(job_id)
    assert row is not None and row["name"] == "March invoices" and row["source_name"] == "a.pdf"
    assert row["door"] == "folder"


def test_accept_file_of_a_missing_file_raises_and_leaves_nothing(intake: Intake, data_root: Path) -> None:
    with pytest.raises(FileNotFoundError):
        intake.sink.accept_file(data_root / "nowhere.pdf", door="import", user="bob")
    assert intake.row_count() == 0
    assert intake.folders() == set()
    assert intake.stored == []


def test_accept_file_that_would_leave_too_little_space_is_refused_and_leaves_nothing(data_root: Path,
                                                                                      pdf: bytes) -> None:
    source = data_root / "invoice.pdf"
    source.write_bytes(pdf)
    full = make_intake(data_root / "data", min_free_bytes=shutil.disk_usage(data_root).free)
    try:
        with pytest.raises(OSError) as refused:
            full.sink.accept_file(source, door="folder", user="hot-folder")
        assert refused.value.errno == errno.ENOSPC and "min_free_bytes" in str(refused.value)
        assert full.row_count() == 0 and full.folders() == set() and full.stored == []
        assert source.read_bytes() == pdf  # the file stays where it was, to be tried again
    finally:
        full.db.dispose()


# -- Create-Job, Send-Document, Close-Job, Cancel-Job -------------------------------------------------------------


def test_a_created_job_waits_for_its_document_and_then_holds_it(intake: Intake, pdf: bytes) -> None:
    created = intake.sink.create_job(ticket(name="two-step"))
    assert created.state == JobState.PENDING
    assert created.state_reasons == ("job-incoming",)
    assert created.documents == 0
    assert intake.row(created.job_id) is not None
    assert intake.stored == []
    job = print_document(intake, pdf, ticket(name="two-step"), job_id=created.job_id)
    assert job.job_id == created.job_id
    assert job.state == JobState.PROCESSING and job.documents == 1
    row = intake.row(created.job_id)
    assert row is not None and row["uuid"] == created.job_uuid.removeprefix("urn:uuid:")
    assert intake.spool.document_path(str(row["document_uuid"])).read_bytes() == pdf
    assert intake.stored == [created.job_id]
    assert intake.row_count() == 1


def test_a_second_document_for_a_job_is_refused_and_the_job_keeps_the_first(intake: Intake, pdf: bytes) -> None:
    created = intake.sink.create_job(ticket())
    print_document(intake, pdf, job_id=created.job_id)
    writer = intake.sink.open_document(ticket())
    writer.write(b"%PDF-1.4 second\n")
    with pytest.raises(SinkRefused) as refused:
        intake.sink.store_document(writer, ticket(), created.job_id, True)
    writer.abort()  # as the printer does with a refused document
    assert refused.value.status == StatusCode.CLIENT_ERROR_NOT_POSSIBLE
    row = intake.row(created.job_id)
    assert row is not None and row["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert intake.folders() == {row["document_uuid"]}
    assert intake.stored == [created.job_id]


def test_close_job_aborts_a_job_that_never_got_its_document(intake: Intake, pdf: bytes) -> None:
    created = intake.sink.create_job(ticket())
    closed = intake.sink.close_job(created.job_id)
    assert closed.state == JobState.ABORTED
    assert closed.state_reasons == ("aborted-by-system",)
    assert closed.completed is not None
    # A closed job takes no document any more.
    with pytest.raises(SinkRefused) as refused:
        print_document(intake, pdf, job_id=created.job_id)
    assert refused.value.status == StatusCode.CLIENT_ERROR_NOT_POSSIBLE


def test_close_job_leaves_a_job_with_its_document_as_it_is(intake: Intake, pdf: bytes) -> None:
    created = intake.sink.create_job(ticket())
    stored = print_document(intake, pdf, job_id=created.job_id)
    assert intake.sink.close_job(created.job_id) == intake.sink.get_job(created.job_id)
    after = intake.sink.get_job(created.job_id)
    assert after is not None and after.state == JobState.PROCESSING == stored.state


def test_close_job_of_an_unknown_job_is_not_found(intake: Intake) -> None:
    with pytest.raises(SinkRefused) as refused:
        intake.sink.close_job(404)
    assert refused.value.status == StatusCode.CLIENT_ERROR_NOT_FOUND


def test_cancel_job_ends_a_job_that_has_not_ended_once(intake: Intake, pdf: bytes) -> None:
    pending = intake.sink.create_job(ticket())
    processing = print_document(intake, pdf)
    for job in (pending, processing):
        canceled = intake.sink.cancel_job(job.job_id, "carla")
        assert canceled.state == JobState.CANCELED
        assert canceled.state_reasons == ("job-canceled-by-user",)
        assert canceled.state_message == "Canceled by carla."
        assert canceled.completed is not None
        row = intake.row(job.job_id)
        assert row is not None and row["state"] == JobState.CANCELED
        with pytest.raises(SinkRefused) as again:
            intake.sink.cancel_job(job.job_id, "carla")
        assert again.value.status == StatusCode.CLIENT_ERROR_NOT_POSSIBLE


def test_cancel_job_of_an_unknown_job_is_refused(intake: Intake) -> None:
    with pytest.raises(SinkRefused) as refused:
        intake.sink.cancel_job(404, "carla")
    assert refused.value.status == StatusCode.CLIENT_ERROR_NOT_POSSIBLE


# -- questions about jobs --------------------------------------------------------------------------------------------


def test_get_job_of_an_unknown_job_is_none(intake: Intake) -> None:
    assert intake.sink.get_job(1) is None


def test_list_jobs_follows_which_jobs_the_user_and_the_limit(intake: Intake, pdf: bytes) -> None:
    a1 = print_document(intake, pdf, ticket(user="anna")).job_id          # processing
    b1 = intake.sink.create_job(ticket(user="bob")).job_id                # pending
    a2 = intake.sink.create_job(ticket(user="anna")).job_id               # canceled below
    b2 = intake.sink.create_job(ticket(user="bob")).job_id                # aborted below
    a3 = intake.sink.create_job(ticket(user="anna")).job_id               # pending
    intake.sink.cancel_job(a2, "anna")
    intake.sink.close_job(b2)

    def ids(which: str, user: str | None = None, limit: int | None = None) -> list[int]:
        return [job.job_id for job in intake.sink.list_jobs(which, user, limit)]

    assert ids("all") == [a1, b1, a2, b2, a3]
    assert ids("not-completed") == [a1, b1, a3]          # oldest first
    assert ids("completed") == [b2, a2]                  # newest first
    assert ids("all", "anna") == [a1, a2, a3]
    assert ids("not-completed", "bob") == [b1]
    assert ids("completed", "anna") == [a2]
    assert ids("all", "nobody") == []
    assert ids("not-completed", None, 2) == [a1, b1]
    assert ids("completed", None, 1) == [b2]
    assert intake.sink.queued_job_count() == 3


def test_queued_job_count_counts_the_jobs_that_have_not_ended(intake: Intake, pdf: bytes) -> None:
    assert intake.sink.queued_job_count() == 0
    first = intake.sink.create_job(ticket())
    assert intake.sink.queued_job_count() == 1
    print_document(intake, pdf)
    assert intake.sink.queued_job_count() == 2
    intake.sink.cancel_job(first.job_id, "anna")
    assert intake.sink.queued_job_count() == 1


def test_job_times_are_utc_and_ordered(intake: Intake, pdf: bytes) -> None:
    before = dt.datetime.now(dt.UTC)
    created = intake.sink.create_job(ticket())
    job = print_document(intake, pdf, job_id=created.job_id)
    after = dt.datetime.now(dt.UTC)
    assert job.processing is not None
    assert before <= job.created <= job.processing <= after


# -- a full spool --------------------------------------------------------------------------------------------------


def test_accepting_refuses_with_spool_area_full_below_the_free_space_floor(data_root: Path) -> None:
    free = shutil.disk_usage(data_root).free
    full = make_intake(data_root / "data", min_free_bytes=free + 2**40)
    try:
        assert full.sink.accepting() == (False, ("spool-area-full",))
        with pytest.raises(SinkRefused) as refused:
            full.sink.open_document(ticket())
        assert refused.value.status == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
        assert full.folders() == set()
    finally:
        full.db.dispose()


def test_accepting_says_yes_while_there_is_room(intake: Intake) -> None:
    assert intake.sink.accepting() == (True, ())


# -- recovery after a crash -------------------------------------------------------------------------------------------


def test_recover_quarantines_a_document_no_row_names_and_keeps_the_committed_ones(intake: Intake, pdf: bytes) -> None:
    committed = print_document(intake, pdf)
    committed_uuid = str((intake.row(committed.job_id) or {})["document_uuid"])
    # A crash after the document's fsync but before its row: a durable document no row names.
    partial = intake.spool.open()
    partial.write(b"%PDF-1.4 never answered\n")
    orphan = intake.spool.keep(partial).uuid
    # A crash while a document arrived: half of it, no row.
    half = intake.spool.open()
    half.write(b"%PDF-1.4 half")
    half_uuid = half.uuid
    # An unused ready slot (an empty document) and a partial file from before slots existed.
    slot = intake.spool.jobs / "00000000-0000-4000-8000-000000000000"
    slot.mkdir()
    (slot / "document").touch()
    (intake.spool.incoming / "old.part").write_bytes(b"partial")

    restarted = make_intake(intake.data_dir)
    try:
        restarted.sink.recover()
    finally:
        restarted.db.dispose()
        half.abort()  # only closes the file the "dead" writer held: its folder has moved

    assert intake.folders() == {committed_uuid}
    assert intake.spool.document_path(committed_uuid).read_bytes() == pdf
    assert {p.name for p in intake.spool.quarantine.iterdir()} == {orphan, half_uuid}
    assert (intake.spool.quarantine / orphan / "document").read_bytes() == b"%PDF-1.4 never answered\n"
    assert (intake.spool.quarantine / half_uuid / "document").read_bytes() == b"%PDF-1.4 half"
    assert list(intake.spool.incoming.iterdir()) == []
    assert intake.row_count() == 1


def test_recover_keeps_a_created_job_that_has_no_document_yet(intake: Intake) -> None:
    created = intake.sink.create_job(ticket())
    intake.sink.recover()
    assert intake.folders() == set()
    assert intake.sink.get_job(created.job_id) is not None
    assert list(intake.spool.quarantine.iterdir()) == []
