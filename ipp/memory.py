"""An in-memory :class:`~ipp.sink.JobSink`: the printer on its own, for tests and ``python -m ipp``.

Like aiosmtpd's reference ``Sink`` handler, it keeps the printer honest without the
product: jobs get ids, states and times exactly as the product's sink gives them, and
documents are kept as bytes.  There is nothing to convert, so a job is ``completed`` as
soon as its document is stored.

Memory is bounded twice: one document may be at most ``max_document_bytes`` (larger ones
are refused while they arrive), and all documents together at most ``max_total_bytes``
(to make room, the documents of the oldest jobs are forgotten; their jobs stay listed).
Every method may be called from any thread.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid
from dataclasses import dataclass, replace

from ipp.sink import DocumentWriter, JobInfo, JobTicket, SinkRefused
from ipp.status import JobState, StatusCode


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Job:
    info: JobInfo
    ticket: JobTicket
    document: bytes | None = None


class MemoryWriter:
    """One document arriving: bytes kept in a buffer until the sink stores or drops them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.aborted = False

    def write(self, data: bytes) -> None:
        """Append ``data``; raises :class:`SinkRefused` once the document passes the size cap."""
        if self.aborted:
            raise SinkRefused(StatusCode.SERVER_ERROR_INTERNAL_ERROR, "the document was dropped")
        if len(self.data) + len(data) > self.limit:
            self.abort()
            raise SinkRefused(
                StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, f"document larger than {self.limit} bytes"
            )
        self.data += data

    def abort(self) -> None:
        """Drop what was written (may be called more than once)."""
        self.aborted = True
        self.data = bytearray()


class MemorySink:
    """Jobs and documents in this process's memory (see the module docstring for the bounds)."""

    def __init__(self, max_document_bytes: int = 64 * 1024 * 1024, max_total_bytes: int = 256 * 1024 * 1024) -> None:
        if max_document_bytes > max_total_bytes:
            raise ValueError("max_document_bytes must not exceed max_total_bytes")
        self.max_document_bytes = max_document_bytes
        self.max_total_bytes = max_total_bytes
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._ids = itertools.count(1)
        self._stored_bytes = 0
        self._accepting = True
        self._reasons: tuple[str, ...] = ()

    # -- for whoever runs the printer ------------------------------------------------

    def set_accepting(self, accepting: bool, reasons: tuple[str, ...] = ()) -> None:
        """Accept new jobs or not; ``reasons`` become printer-state-reasons while not accepting."""
        with self._lock:
            self._accepting = accepting
            self._reasons = () if accepting else (reasons or ("other",))

    def document(self, job_id: int) -> bytes | None:
        """The stored document of a job; None when it has none (or it was forgotten to make room)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job.document if job is not None else None

    def ticket(self, job_id: int) -> JobTicket | None:
        """What the client asked for when it created the job; None for an unknown job."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job.ticket if job is not None else None

    @property
    def stored_bytes(self) -> int:
        """The bytes of all documents kept now (never more than ``max_total_bytes``)."""
        with self._lock:
            return self._stored_bytes

    # -- JobSink -------------------------------------------------------------------------

    def accepting(self) -> tuple[bool, tuple[str, ...]]:
        """Whether new jobs are accepted, and why not (set by :meth:`set_accepting`)."""
        with self._lock:
            return self._accepting, self._reasons

    def open_document(self, ticket: JobTicket) -> DocumentWriter:
        """A buffer for one document; refused while the sink is not accepting jobs."""
        if not self.accepting()[0]:
            raise SinkRefused(StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS, "the printer is not accepting jobs")
        return MemoryWriter(self.max_document_bytes)

    def store_document(self, writer: DocumentWriter, ticket: JobTicket, job_id: int | None, last: bool) -> JobInfo:
        """Keep the document and complete its job (a new one when ``job_id`` is None).

        Raises :class:`SinkRefused` for a job that is unknown, has ended or already has
        its document; the writer is left for the printer to abort.
        """
        if not isinstance(writer, MemoryWriter) or writer.aborted:
            raise SinkRefused(StatusCode.SERVER_ERROR_INTERNAL_ERROR, "the document was not received here")
        document = bytes(writer.data)
        now = _now()
        with self._lock:
            if job_id is None:
                job = self._new_job(ticket, now)
            else:
                found = self._jobs.get(job_id)
                if found is None or found.info.documents or found.info.state.ended:
                    raise SinkRefused(StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job_id} takes no more documents")
                job = found
            job.info = replace(
                job.info,
                state=JobState.COMPLETED,
                state_reasons=("job-completed-successfully",),
                state_message="Stored.",
                document_format=ticket.document_format,
                k_octets=(len(document) + 1023) // 1024,
                processing=now,
                completed=now,
                documents=1,
            )
            self._make_room(len(document))
            job.document = document
            self._stored_bytes += len(document)
            return job.info

    def create_job(self, ticket: JobTicket) -> JobInfo:
        """A pending job waiting for its document."""
        with self._lock:
            return self._new_job(ticket, _now()).info

    def close_job(self, job_id: int) -> JobInfo:
        """No document will come: a job still without one is aborted; others are left as they are."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise SinkRefused(StatusCode.CLIENT_ERROR_NOT_FOUND, f"job {job_id} not found")
            if not job.info.documents and not job.info.state.ended:
                job.info = replace(
                    job.info,
                    state=JobState.ABORTED,
                    state_reasons=("aborted-by-system",),
                    state_message="The job was closed without a document.",
                    completed=_now(),
                )
            return job.info

    def get_job(self, job_id: int) -> JobInfo | None:
        """One job, or None."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job.info if job is not None else None

    def list_jobs(self, which: str, user_name: str | None, limit: int | None) -> list[JobInfo]:
        """Jobs for Get-Jobs: ended ones newest first for ``completed``, else oldest first."""
        with self._lock:
            jobs = [job.info for job in self._jobs.values()]
        if which == "completed":
            jobs = [job for job in reversed(jobs) if job.state.ended]
        elif which == "not-completed":
            jobs = [job for job in jobs if not job.state.ended]
        if user_name is not None:
            jobs = [job for job in jobs if job.user_name == user_name]
        return jobs if limit is None else jobs[:limit]

    def queued_job_count(self) -> int:
        """Jobs that have not ended."""
        with self._lock:
            return sum(1 for job in self._jobs.values() if not job.info.state.ended)

    def cancel_job(self, job_id: int, user_name: str) -> JobInfo:
        """Cancel a job that has not ended; raises :class:`SinkRefused` for any other."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.info.state.ended:
                raise SinkRefused(StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job_id} cannot be canceled")
            job.info = replace(
                job.info,
                state=JobState.CANCELED,
                state_reasons=("job-canceled-by-user",),
                state_message=f"Canceled by {user_name[:100]}.",
                completed=_now(),
            )
            return job.info

    # -- inside the lock -----------------------------------------------------------------

    def _new_job(self, ticket: JobTicket, now: dt.datetime) -> _Job:
        job_id = next(self._ids)
        info = JobInfo(
            job_id=job_id,
            job_uuid=f"urn:uuid:{uuid.uuid4()}",
            job_name=ticket.job_name,
            user_name=ticket.user_name,
            state=JobState.PENDING,
            state_reasons=("job-incoming",),
            state_message="Waiting for the document.",
            document_format=ticket.document_format,
            k_octets=0,
            created=now,
        )
        job = self._jobs[job_id] = _Job(info, ticket)
        return job

    def _make_room(self, size: int) -> None:
        # Oldest first: dicts keep insertion order, and job ids only grow.
        for job in self._jobs.values():
            if self._stored_bytes + size <= self.max_total_bytes:
                return
            if job.document is not None:
                self._stored_bytes -= len(job.document)
                job.document = None
