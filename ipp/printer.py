"""The Printer object: dispatches requests, runs one method per operation, talks to the sink.

Modelled on CUPS ``ippeveprinter``: every operation is one method with one shape
(``async def print_job(self, req) -> Message``), found in one table
(:attr:`Printer.OPERATIONS`, which is also what ``operations-supported`` says), and
every answer goes through :meth:`Printer.respond`.  Request checks live in
:mod:`ipp.checks` and the attribute sets in :mod:`ipp.live_attributes`.  The printer
knows nothing of invoices or storage: documents stream into a
:class:`~ipp.sink.DocumentWriter` and the :class:`~ipp.sink.JobSink` makes them
durable before ``successful-ok`` is sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, ParamSpec, TypeVar

from ipp import attributes as A
from ipp import checks
from ipp.checks import RequestError
from ipp.codec import Attribute, Group, GroupTag, Message, ProtocolError, Tag
from ipp.compression import CompressionError, Inflater
from ipp.live_attributes import JOB_RESPONSE, PrinterAttributes, PrinterStatus, wants_status
from ipp.sink import DocumentWriter, JobInfo, JobSink, JobTicket, SinkRefused
from ipp.status import Operation, StatusCode

log = logging.getLogger("ipp.printer")

DocumentStream = AsyncIterator[bytes]
P = ParamSpec("P")
T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected or stalled before its request was complete: answer nobody."""


class DocumentTooLarge(RequestError):
    """The document grew past the printer's job size limit while it arrived."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, f"document larger than {limit} bytes"
        )


@dataclass
class Request:
    """One request being answered: the message, where it came from, and its document data."""

    message: Message
    host: str
    document: DocumentStream
    peer: str = ""
    http_decoded: bool = False
    """True when the HTTP layer already undid a Content-Encoding of the body."""
    secure: bool = False
    """The request came over TLS (``ipps://``): job URIs are given as ``ipps://``."""
    user: str | None = None
    """The user HTTP authentication proved (``printer.authentication: basic``): it owns the job, whatever
    requesting-user-name says."""
    unsupported: list[Attribute] = field(default_factory=list)

    @property
    def user_name(self) -> str:
        """Who asks: the authenticated user, else the requesting-user-name the client sent."""
        return self.user or checks.requesting_user(self.op)

    @cached_property
    def op(self) -> dict[str, Attribute]:
        """The operation attributes by name (looked up many times per request: built once)."""
        group = self.message.groups[0] if self.message.groups else None
        return {a.name: a for a in group.attributes} if group else {}

    def job_group(self) -> dict[str, Attribute]:
        """The job attributes by name (from every job group, the last one sent winning)."""
        result: dict[str, Attribute] = {}
        for group in self.message.groups_of(GroupTag.JOB):
            for attribute in group.attributes:
                result[attribute.name] = attribute
        return result


Handler = Callable[["Printer", Request], Awaitable[Message]]


class Printer:
    """An IPP Everywhere printer for PDF (and the formats clients send instead)."""

    OPERATIONS: ClassVar[dict[int, Handler]]
    """Operation id -> method: what :meth:`handle` dispatches to and ``operations-supported`` lists."""

    def __init__(self, config: A.PrinterConfig, sink: JobSink, path: str = "/ipp/print") -> None:
        self.config = config
        self.sink = sink
        self.path = path
        self.attributes = PrinterAttributes(config, path, self.OPERATIONS)

    # -- the one entry point ------------------------------------------------------------

    async def handle(self, req: Request) -> Message:
        """Answer one request; never raises for anything a client can send (but :class:`ClientGone`)."""
        try:
            checks.check_request(req.message, req.op)
            operation = self.OPERATIONS.get(req.message.code)
            if operation is None:
                raise RequestError(StatusCode.SERVER_ERROR_OPERATION_NOT_SUPPORTED, "operation not supported")
            return await operation(self, req)
        except RequestError as error:
            return self.respond(req, error.status, error.message, error.unsupported)
        except ClientGone:
            raise
        except ProtocolError as error:
            return self.respond(req, StatusCode.CLIENT_ERROR_BAD_REQUEST, str(error))
        except Exception:
            log.exception("internal error answering operation 0x%04x", req.message.code)
            return self.respond(req, StatusCode.SERVER_ERROR_INTERNAL_ERROR, "internal error; see the server log")

    def respond(
        self,
        req: Request,
        status: StatusCode,
        message: str = "",
        unsupported: list[Attribute] | None = None,
    ) -> Message:
        """The answer to ``req`` with ``status``: the operation group every answer starts with,
        then the unsupported attributes (these and the ones the request collected), if any."""
        response = Message(req.message.version, status, req.message.request_id)
        op = Group(GroupTag.OPERATION)
        op.attributes.append(Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"))
        op.attributes.append(Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"))
        if message:
            op.attributes.append(Attribute.of("status-message", Tag.TEXT_WITHOUT_LANGUAGE, message[:255]))
        response.groups.append(op)
        unsupported = (unsupported or []) + req.unsupported
        if unsupported:
            response.groups.append(Group(GroupTag.UNSUPPORTED, unsupported))
        return response

    def _job_response(self, req: Request, job: JobInfo) -> Message:
        """The answer of an operation that created or changed ``job``."""
        status = StatusCode.SUCCESSFUL_OK
        if req.unsupported:
            status = StatusCode.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
        response = self.respond(req, status)
        response.groups.append(Group(GroupTag.JOB, self.attributes.job(req.host, job, JOB_RESPONSE, req.secure)))
        return response

    # -- the sink ---------------------------------------------------------------------------

    async def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a (maybe blocking) sink method in a worker thread; a refusal becomes the answer."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except SinkRefused as refused:
            raise RequestError(refused.status, refused.message) from refused

    async def _status(self) -> PrinterStatus:
        accepting, reasons = self.sink.accepting()
        queued = await asyncio.to_thread(self.sink.queued_job_count)
        return PrinterStatus(accepting, reasons, queued)

    def _check_accepting(self) -> None:
        accepting, _reasons = self.sink.accepting()
        if not accepting:
            raise RequestError(StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS, "the printer is not accepting jobs")

    async def _target_job(self, req: Request) -> JobInfo:
        job_id = checks.target_job_id(req.op)
        job = await self._call(self.sink.get_job, job_id)
        if job is None:
            raise RequestError(StatusCode.CLIENT_ERROR_NOT_FOUND, f"job {job_id} not found")
        return job

    def _ticket(self, req: Request) -> JobTicket:
        ticket, ignored = checks.job_ticket(req.op, req.job_group(), self.config.max_job_bytes)
        req.unsupported.extend(ignored)
        return dataclasses.replace(ticket, user_name=req.user) if req.user else ticket

    async def _receive_document(self, req: Request, writer: DocumentWriter) -> int:
        """Stream the document data into ``writer``; returns the decoded size in bytes."""
        compression = checks.compression(req.op)
        inflater = Inflater(compression) if compression != "none" and not req.http_decoded else None
        limit = self.config.max_job_bytes
        total = 0

        def take(piece: bytes) -> None:
            nonlocal total
            total += len(piece)
            if total > limit:
                raise DocumentTooLarge(limit)
            try:
                writer.write(piece)
            except SinkRefused as refused:  # e.g. the disk filled up while the document arrived
                raise RequestError(refused.status, refused.message) from refused

        try:
            async for chunk in req.document:
                if inflater is None:
                    take(chunk)
                    continue
                for piece in inflater.feed(chunk):
                    take(piece)
            if inflater is not None:
                take(inflater.finish())
        except CompressionError as error:
            raise RequestError(StatusCode.CLIENT_ERROR_COMPRESSION_ERROR, f"bad compressed data: {error}") from error
        return total

    async def _store(self, req: Request, ticket: JobTicket, job_id: int | None) -> JobInfo:
        """Receive the document and have the sink keep it; nothing of it remains if that fails."""
        try:
            writer = self.sink.open_document(ticket)
        except SinkRefused as refused:
            raise RequestError(refused.status, refused.message) from refused
        try:
            size = await self._receive_document(req, writer)
            if size == 0:
                raise checks.bad_request("no document data")
            return await self._call(self.sink.store_document, writer, ticket, job_id, True)
        except BaseException:
            await asyncio.to_thread(writer.abort)
            raise

    # -- operations (RFC 8011 §4.2, §4.3; PWG 5100.11, 5100.13) --------------------------

    async def print_job(self, req: Request) -> Message:
        """Print-Job (RFC 8011 §4.2.1): the job exists, with its document stored, when this answers successful-ok."""
        self._check_accepting()
        ticket = self._ticket(req)
        job = await self._store(req, ticket, None)
        log.info("job %d received from %s (%s)", job.job_id, checks.safe(ticket.user_name),
                 checks.safe(ticket.job_name))
        return self._job_response(req, job)

    async def validate_job(self, req: Request) -> Message:
        """Validate-Job (RFC 8011 §4.2.3): the checks of Print-Job, without a document or a job."""
        self._check_accepting()
        self._ticket(req)
        status = StatusCode.SUCCESSFUL_OK
        if req.unsupported:
            status = StatusCode.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
        return self.respond(req, status)

    async def create_job(self, req: Request) -> Message:
        """Create-Job (RFC 8011 §4.2.4): a pending job that waits for its one document."""
        self._check_accepting()
        ticket = self._ticket(req)
        job = await self._call(self.sink.create_job, ticket)
        return self._job_response(req, job)

    async def send_document(self, req: Request) -> Message:
        """Send-Document (RFC 8011 §4.3.1): the one document of a job made by Create-Job, stored before the answer."""
        job = await self._target_job(req)
        checks.find(req.op, "last-document", Tag.BOOLEAN, required=True)
        if job.state.ended:
            raise RequestError(StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job.job_id} has ended")
        if job.documents:
            raise RequestError(
                StatusCode.SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED, "this printer takes one document per job"
            )
        base = self._ticket(req)
        ticket = JobTicket(
            job_name=job.job_name,
            user_name=job.user_name,
            document_format=base.document_format,
            document_name=base.document_name,
            origin_host=base.origin_host,
            attributes=base.attributes,
        )
        job = await self._store(req, ticket, job.job_id)
        return self._job_response(req, job)

    async def close_job(self, req: Request) -> Message:
        """Close-Job (PWG 5100.11): no document will come for this job."""
        job = await self._target_job(req)
        if job.state.ended:
            raise RequestError(StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job.job_id} has ended")
        job = await self._call(self.sink.close_job, job.job_id)
        return self._job_response(req, job)

    async def cancel_job(self, req: Request) -> Message:
        """Cancel-Job (RFC 8011 §4.3.3): a job that has not ended is canceled."""
        job = await self._target_job(req)
        if job.state.ended:
            raise RequestError(
                StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job.job_id} is already {job.state.name.lower()}"
            )
        await self._call(self.sink.cancel_job, job.job_id, req.user_name)
        return self.respond(req, StatusCode.SUCCESSFUL_OK)

    async def cancel_my_jobs(self, req: Request) -> Message:
        """Cancel-My-Jobs (PWG 5100.11): the requesting user's jobs that have not ended (those of
        job-ids, if given) are canceled."""
        user = req.user_name
        wanted = checks.integers(req.op, "job-ids")
        jobs = await self._call(self.sink.list_jobs, "not-completed", user, None)
        for job in jobs:
            if wanted is None or job.job_id in wanted:
                await self._call(self.sink.cancel_job, job.job_id, user)
        return self.respond(req, StatusCode.SUCCESSFUL_OK)

    async def get_job_attributes(self, req: Request) -> Message:
        """Get-Job-Attributes (RFC 8011 §4.3.4): one job's attributes, filtered by requested-attributes."""
        job = await self._target_job(req)
        names = checks.requested(req.op, default=("all",))
        response = self.respond(req, StatusCode.SUCCESSFUL_OK)
        response.groups.append(Group(GroupTag.JOB, self.attributes.job(req.host, job, names, req.secure)))
        return response

    async def get_jobs(self, req: Request) -> Message:
        """Get-Jobs (RFC 8011 §4.2.6): the jobs of which-jobs (and my-jobs, limit); job-id and
        job-uri unless requested-attributes asks for more."""
        op = req.op
        which = "not-completed"
        attribute = checks.find(op, "which-jobs", Tag.KEYWORD)
        if attribute is not None:
            which = checks.string(attribute.value)
            if which not in A.KEYWORD_CHOICES["which-jobs"]:
                raise RequestError(
                    StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                    f"which-jobs {which!r} not supported",
                    [attribute],
                )
        limit = checks.one_integer(op, "limit")
        if limit is not None and limit < 1:
            raise checks.bad_request("bad limit")
        user = req.user_name if checks.one_boolean(op, "my-jobs") else None
        names = checks.requested(op, default=("job-id", "job-uri"))
        jobs = await self._call(self.sink.list_jobs, which, user, limit)
        response = self.respond(req, StatusCode.SUCCESSFUL_OK)
        for job in jobs:
            response.groups.append(Group(GroupTag.JOB, self.attributes.job(req.host, job, names, req.secure)))
        return response

    async def get_printer_attributes(self, req: Request) -> Message:
        """Get-Printer-Attributes (RFC 8011 §4.2.5): the printer's attributes, filtered by requested-attributes."""
        names = checks.requested(req.op, default=("all",))
        if "document-format" in req.op:
            checks.document_format(req.op)
        status = await self._status() if wants_status(names) else None
        response = self.respond(req, StatusCode.SUCCESSFUL_OK)
        response.groups.append(Group(GroupTag.PRINTER, self.attributes.printer(req.host, names, status)))
        return response

    async def identify_printer(self, req: Request) -> Message:
        """Identify-Printer (PWG 5100.13): logged, as there is nothing to flash or beep."""
        checks.keywords(req.op, "identify-actions")
        log.info("identify-printer requested by %s", checks.safe(req.user_name))
        return self.respond(req, StatusCode.SUCCESSFUL_OK)

    OPERATIONS = {
        Operation.PRINT_JOB: print_job,
        Operation.VALIDATE_JOB: validate_job,
        Operation.CREATE_JOB: create_job,
        Operation.SEND_DOCUMENT: send_document,
        Operation.CANCEL_JOB: cancel_job,
        Operation.GET_JOB_ATTRIBUTES: get_job_attributes,
        Operation.GET_JOBS: get_jobs,
        Operation.GET_PRINTER_ATTRIBUTES: get_printer_attributes,
        Operation.CANCEL_MY_JOBS: cancel_my_jobs,
        Operation.CLOSE_JOB: close_job,
        Operation.IDENTIFY_PRINTER: identify_printer,
    }
