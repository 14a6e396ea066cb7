"""The hook between the printer and whoever keeps jobs (the aiosmtpd ``handler`` idea).

The printer owns the protocol; a :class:`JobSink` owns storage.  The printer never
knows where documents live or what happens to them after they are stored.  All sink
methods are synchronous.  :meth:`JobSink.accepting`, :meth:`JobSink.open_document` and the
:class:`DocumentWriter` run on the event loop, so they must be quick (no fsync, no database);
the others may block (fsync, database commits) and are called from a worker thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from ipp.status import JobState, StatusCode


class SinkRefused(Exception):
    """The sink refuses a request; the printer answers with ``status`` and ``message``."""

    def __init__(self, status: StatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class JobTicket:
    """What a client asked for when it created a job (already validated by the printer)."""

    job_name: str
    user_name: str
    document_format: str
    document_name: str = ""
    origin_host: str = ""
    attributes: dict[str, object] = field(default_factory=dict)
    """Job template attributes the client sent (name -> plain Python value), kept as data."""


@dataclass(frozen=True)
class JobInfo:
    """The printer's view of one job, as the sink keeps it."""

    job_id: int
    job_uuid: str
    job_name: str
    user_name: str
    state: JobState
    state_reasons: tuple[str, ...]
    state_message: str
    document_format: str
    k_octets: int
    created: dt.datetime
    processing: dt.datetime | None = None
    completed: dt.datetime | None = None
    impressions: int = 0
    documents: int = 0


class DocumentWriter(Protocol):
    """A document being received: bytes go to a private partial file."""

    def write(self, data: bytes) -> None:
        """Append ``data``; raises :class:`SinkRefused` (e.g. disk full)."""

    def abort(self) -> None:
        """Drop what was written; nothing of it remains on disk."""


class JobSink(Protocol):
    """Storage for jobs and their documents, as the printer needs it."""

    def accepting(self) -> tuple[bool, tuple[str, ...]]:
        """Whether new jobs are accepted now, and the printer-state-reasons that explain it (quick)."""

    def open_document(self, ticket: JobTicket) -> DocumentWriter:
        """Start receiving a document (quick); nothing is visible to anyone until :meth:`store_document`."""

    def store_document(
        self, writer: DocumentWriter, ticket: JobTicket, job_id: int | None, last: bool
    ) -> JobInfo:
        """Make the document durable and record it, then return the job.

        ``job_id`` is None for Print-Job (the job is created now) and the job's id for
        Send-Document.  When this returns, the document is fsynced in the spool and its
        row is committed.  Raises :class:`SinkRefused` to refuse the document.
        """

    def create_job(self, ticket: JobTicket) -> JobInfo:
        """Create-Job: a committed job that waits for its document."""

    def close_job(self, job_id: int) -> JobInfo:
        """Close-Job: no more documents will come for this job."""

    def get_job(self, job_id: int) -> JobInfo | None:
        """One job, or None when there is no such job."""

    def list_jobs(self, which: str, user_name: str | None, limit: int | None) -> list[JobInfo]:
        """Jobs for Get-Jobs: ``which`` is ``completed``, ``not-completed`` or ``all``;
        newest first for completed, oldest first otherwise."""

    def queued_job_count(self) -> int:
        """Jobs that have not ended (queued-job-count)."""

    def cancel_job(self, job_id: int, user_name: str) -> JobInfo:
        """Cancel a job that has not ended; raises :class:`SinkRefused` otherwise."""
