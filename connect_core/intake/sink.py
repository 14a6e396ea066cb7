"""Intake: the printer's sink.  Every document that enters the product passes here.

The promise kept here: when :meth:`PrintIntake.store_document` returns, the document
is fsynced in the spool and its job row is committed, so the IPP ``successful-ok``
that follows never names a job a crash could lose.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, update

from connect_core.crash import crash_point
from connect_core.intake.group_commit import INSERT_JOB, GroupCommit
from connect_core.intake.spool import PartialDocument, Spool, StoredDocument
from connect_core.store import Database, print_jobs, utcnow
from ipp.sink import DocumentWriter, JobInfo, JobTicket, SinkRefused
from ipp.status import JobState, StatusCode
from printer_backend.sniff import describe, sniff

log = logging.getLogger("connect_core.intake.sink")

ENDED = (int(JobState.CANCELED), int(JobState.ABORTED), int(JobState.COMPLETED))



def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.replace(tzinfo=dt.UTC)


def job_info(row: Any) -> JobInfo:
    """A store row as the printer sees it."""
    return JobInfo(
        job_id=row.id,
        job_uuid=f"urn:uuid:{row.uuid}",
        job_name=row.name,
        user_name=row.user_name,
        state=JobState(row.state),
        state_reasons=tuple(r for r in row.state_reasons.split(",") if r),
        state_message=row.state_message,
        document_format=row.document_format,
        k_octets=(row.size_bytes + 1023) // 1024,
        created=_aware(row.created_at),  # type: ignore[arg-type]
        processing=_aware(row.processing_at),
        completed=_aware(row.completed_at),
        impressions=row.impressions,
        documents=row.documents,
    )


class PrintIntake:
    """The :class:`ipp.sink.JobSink` of the product: spool + job table."""

    def __init__(
        self,
        db: Database,
        spool: Spool,
        min_free_bytes: int = 64 * 1024 * 1024,
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.spool = spool
        self.min_free_bytes = min_free_bytes
        self.on_stored = on_stored
        self._space_checked = 0.0
        self._space_ok = True
        self._new_jobs = GroupCommit(db)

    # -- start-up ------------------------------------------------------------------------

    def recover(self) -> None:
        """Make the spool agree with the committed rows after a crash or a kill."""
        with self.db.reader.connect() as conn:
            known = {r for (r,) in conn.execute(select(print_jobs.c.document_uuid)) if r}
        removed, quarantined = self.spool.recover(known)
        if removed:
            log.warning("removed %d partial document(s) left by an interrupted upload", removed)
        for name in quarantined:
            log.warning("quarantined spool folder %s: no job was ever answered for it", name)

    # -- JobSink -------------------------------------------------------------------------

    def accepting(self) -> tuple[bool, tuple[str, ...]]:
        now = time.monotonic()
        if now - self._space_checked > 1.0:
            self._space_ok = shutil.disk_usage(self.spool.root).free >= self.min_free_bytes
            self._space_checked = now
        if not self._space_ok:
            return False, ("spool-area-full",)
        return True, ()

    def open_document(self, ticket: JobTicket) -> DocumentWriter:
        if not self.accepting()[0]:
            raise SinkRefused(StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS, "the spool is full")
        try:
            return _Writer(self.spool.open())
        except OSError as error:
            raise SinkRefused(
                StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS, f"could not store the document: {error.strerror or error}"
            ) from error

    def store_document(self, writer: DocumentWriter, ticket: JobTicket, job_id: int | None, last: bool) -> JobInfo:
        assert isinstance(writer, _Writer)
        head = writer.partial.head
        if sniff(head) is None:
            writer.abort()
            raise SinkRefused(
                StatusCode.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
                f"Pagero Printer cannot print {describe(head)}: send PDF, PostScript, PWG raster, URF, JPEG or text",
            )
        try:
            stored = self.spool.keep(writer.partial)
        except OSError as error:
            writer.abort()
            raise SinkRefused(
                StatusCode.SERVER_ERROR_INTERNAL_ERROR, f"could not store the document: {error}"
            ) from error
        return self._record(stored, ticket, job_id, door="ipp", source_name=ticket.document_name)

    def accept_file(self, path: Path, *, door: str, user: str, name: str | None = None) -> int:
        """Store a file from the hot folder or ``import`` exactly as a printed document; returns the job id.

        The file is copied (never moved) into the spool; the caller may remove it once
        this returns, because by then the copy is durable and its row committed.
        """
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if shutil.disk_usage(self.spool.root).free - size < self.min_free_bytes:
                raise OSError(errno.ENOSPC, f"the spool's disk is full: {path.name} ({size} bytes) does not fit "
                                            f"with limits.min_free_bytes ({self.min_free_bytes} bytes) kept free")
            partial = self.spool.open()
            try:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    partial.write(chunk)
                stored = self.spool.keep(partial)
            except BaseException:
                partial.abort()
                raise
        ticket = JobTicket(job_name=name or path.name, user_name=user, document_format="application/octet-stream",
                           document_name=path.name)
        return self._record(stored, ticket, None, door=door, source_name=path.name).job_id

    def _record(self, stored: StoredDocument, ticket: JobTicket, job_id: int | None, *, door: str,
                source_name: str) -> JobInfo:
        """Commit the job row for a document that is durably in the spool (every door ends here).

        Returns the job as committed.
        """
        now = utcnow()
        values = {
            "document_uuid": stored.uuid,
            "sha256": stored.sha256,
            "size_bytes": stored.size,
            "documents": 1,
            "document_format": ticket.document_format,
            "state": int(JobState.PROCESSING),
            "state_reasons": "job-transforming",
            "state_message": "Converting to PDF.",
            "processing_at": now,
            "door": door,
            "source_name": source_name,
        }
        new_row: dict[str, object] | None = None
        if job_id is None:
            new_row = {**self._new_row(ticket, now), **values}
            job_id = self._new_jobs.insert(new_row)
        else:
            with self.db.writer.begin() as conn:
                result = conn.execute(
                    update(print_jobs)
                    .where(print_jobs.c.id == job_id, print_jobs.c.documents == 0, print_jobs.c.state.not_in(ENDED))
                    .values(**values)
                )
                if result.rowcount != 1:
                    raise SinkRefused(StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job_id} takes no more documents")
                crash_point("before_commit")
        crash_point("after_commit_before_reply")
        if self.on_stored is not None:
            self.on_stored(job_id)
        if new_row is not None:
            # A new job is exactly the row just inserted: answering from it spares a read per job.
            return job_info(SimpleNamespace(**new_row, id=job_id, impressions=0, completed_at=None))
        job = self.get_job(job_id)
        assert job is not None
        return job

    def create_job(self, ticket: JobTicket) -> JobInfo:
        now = utcnow()
        with self.db.writer.begin() as conn:
            result = conn.execute(INSERT_JOB, {
                **self._new_row(ticket, now),
                "state": int(JobState.PENDING),
                "state_reasons": "job-incoming",
                "state_message": "Waiting for the document.",
            })
            job_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        job = self.get_job(job_id)
        assert job is not None
        return job

    def close_job(self, job_id: int) -> JobInfo:
        now = utcnow()
        with self.db.writer.begin() as conn:
            conn.execute(
                update(print_jobs)
                .where(print_jobs.c.id == job_id, print_jobs.c.documents == 0, print_jobs.c.state.not_in(ENDED))
                .values(
                    state=int(JobState.ABORTED),
                    state_reasons="aborted-by-system",
                    state_message="The job was closed without a document.",
                    completed_at=now,
                )
            )
        job = self.get_job(job_id)
        if job is None:
            raise SinkRefused(StatusCode.CLIENT_ERROR_NOT_FOUND, f"job {job_id} not found")
        return job

    def get_job(self, job_id: int) -> JobInfo | None:
        with self.db.reader.connect() as conn:
            row = conn.execute(select(print_jobs).where(print_jobs.c.id == job_id)).first()
        return job_info(row) if row is not None else None

    def list_jobs(self, which: str, user_name: str | None, limit: int | None) -> list[JobInfo]:
        query = select(print_jobs)
        if which == "completed":
            query = query.where(print_jobs.c.state.in_(ENDED)).order_by(print_jobs.c.id.desc())
        elif which == "not-completed":
            query = query.where(print_jobs.c.state.not_in(ENDED)).order_by(print_jobs.c.id)
        else:
            query = query.order_by(print_jobs.c.id)
        if user_name is not None:
            query = query.where(print_jobs.c.user_name == user_name)
        if limit is not None:
            query = query.limit(limit)
        with self.db.reader.connect() as conn:
            return [job_info(row) for row in conn.execute(query)]

    def queued_job_count(self) -> int:
        with self.db.reader.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(print_jobs).where(print_jobs.c.state.not_in(ENDED))).scalar_one()
            )

    def cancel_job(self, job_id: int, user_name: str) -> JobInfo:
        with self.db.writer.begin() as conn:
            result = conn.execute(
                update(print_jobs)
                .where(print_jobs.c.id == job_id, print_jobs.c.state.not_in(ENDED))
                .values(
                    state=int(JobState.CANCELED),
                    state_reasons="job-canceled-by-user",
                    state_message=f"Canceled by {user_name[:100]}.",
                    completed_at=utcnow(),
                )
            )
        if result.rowcount != 1:
            raise SinkRefused(StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job_id} cannot be canceled")
        job = self.get_job(job_id)
        assert job is not None
        return job

    @staticmethod
    def _new_row(ticket: JobTicket, now: dt.datetime) -> dict[str, object]:
        import uuid

        return {
            "uuid": str(uuid.uuid4()),
            "name": ticket.job_name,
            "user_name": ticket.user_name,
            "origin_host": ticket.origin_host,
            "document_format": ticket.document_format,
            "attributes": json.dumps(ticket.attributes, default=str),
            "created_at": now,
        }


class _Writer:
    """Adapts a spool partial document to the printer's DocumentWriter."""

    def __init__(self, partial: PartialDocument) -> None:
        self.partial = partial

    def write(self, data: bytes) -> None:
        try:
            self.partial.write(data)
        except OSError as error:
            self.partial.abort()
            raise SinkRefused(
                StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS, f"could not write the document: {error}"
            ) from error

    def abort(self) -> None:
        self.partial.abort()
