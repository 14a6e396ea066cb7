"""The Printer object: checks requests, runs one function per operation, talks to the sink.

Modelled on CUPS ``ippeveprinter``: every operation is one method with one shape
(``async def print_job(self, req) -> Message``) and every answer goes through
:meth:`Printer.respond`.  The printer knows nothing of invoices or storage: documents
stream into a :class:`~ipp.sink.DocumentWriter` and the :class:`~ipp.sink.JobSink`
makes them durable before ``successful-ok`` is sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property

from ipp import attributes as A
from ipp.codec import (
    ASCII_TAGS,
    NAME_TAGS,
    TEXT_TAGS,
    Attribute,
    Collection,
    FixedAttribute,
    Group,
    GroupTag,
    Message,
    ProtocolError,
    Range,
    Resolution,
    StringWithLanguage,
    Tag,
    Value,
)
from ipp.compression import CompressionError, Inflater
from ipp.sink import DocumentWriter, JobInfo, JobSink, JobTicket, SinkRefused
from ipp.status import Operation, PrinterState, StatusCode

log = logging.getLogger("ipp.printer")

DocumentStream = AsyncIterator[bytes]

JOB_DESCRIPTION = (
    "job-id",
    "job-uri",
    "job-uuid",
    "job-name",
    "job-originating-user-name",
    "job-state",
    "job-state-reasons",
    "job-state-message",
    "job-printer-uri",
    "job-printer-up-time",
    "time-at-creation",
    "time-at-processing",
    "time-at-completed",
    "date-time-at-creation",
    "date-time-at-processing",
    "date-time-at-completed",
    "number-of-intervening-jobs",
    "job-k-octets",
    "job-impressions",
    "job-impressions-completed",
    "number-of-documents",
    "document-format-supplied",
)
JOB_TEMPLATE_VALUES = ("copies", "sides", "media", "print-color-mode", "print-quality", "orientation-requested")
MAX_NAME = 255
MAX_TEXT = 1023


class ClientGone(Exception):
    """The client disconnected or stalled before its request was complete: answer nobody."""


class RequestError(Exception):
    """A request the printer answers with an error status (and maybe unsupported attributes)."""

    def __init__(self, status: StatusCode, message: str, unsupported: list[Attribute] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.unsupported = unsupported or []


class DocumentTooLarge(RequestError):
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
    unsupported: list[Attribute] = field(default_factory=list)

    @cached_property
    def op(self) -> dict[str, Attribute]:
        """The operation attributes by name (looked up many times per request: built once)."""
        group = self.message.groups[0] if self.message.groups else None
        return {a.name: a for a in group.attributes} if group else {}

    def job_group(self) -> dict[str, Attribute]:
        result: dict[str, Attribute] = {}
        for group in self.message.groups_of(GroupTag.JOB):
            for attribute in group.attributes:
                result[attribute.name] = attribute
        return result


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Printer:
    """An IPP Everywhere printer for PDF (and the formats clients send instead)."""

    def __init__(self, config: A.PrinterConfig, sink: JobSink, path: str = "/ipp/print") -> None:
        self.config = config
        self.sink = sink
        self.path = path
        self.started = time.time()
        self.config_changed = _now()
        self.state_changed = _now()
        # Static for the printer's life: encoded once, then copied into every answer as bytes.
        self._template = [FixedAttribute.fixed(a) for a in A.job_template_attributes(config)]
        self._description = [FixedAttribute.fixed(a) for a in A.printer_description_attributes(config)]
        self._media_col_database = FixedAttribute.fixed(A.media_col_database(config))
        self._operations: dict[int, Callable[[Request], Awaitable[Message]]] = {
            Operation.PRINT_JOB: self.print_job,
            Operation.VALIDATE_JOB: self.validate_job,
            Operation.CREATE_JOB: self.create_job,
            Operation.SEND_DOCUMENT: self.send_document,
            Operation.CANCEL_JOB: self.cancel_job,
            Operation.CANCEL_MY_JOBS: self.cancel_my_jobs,
            Operation.CLOSE_JOB: self.close_job,
            Operation.GET_JOB_ATTRIBUTES: self.get_job_attributes,
            Operation.GET_JOBS: self.get_jobs,
            Operation.GET_PRINTER_ATTRIBUTES: self.get_printer_attributes,
            Operation.IDENTIFY_PRINTER: self.identify_printer,
        }

    # -- the one entry point ------------------------------------------------------------

    async def handle(self, req: Request) -> Message:
        """Answer one request; never raises for anything a client can send."""
        try:
            self._check_request(req)
            operation = self._operations.get(req.message.code)
            if operation is None:
                raise RequestError(StatusCode.SERVER_ERROR_OPERATION_NOT_SUPPORTED, "operation not supported")
            return await operation(req)
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
        """The response skeleton every operation answers with."""
        response = Message(req.message.version, status, req.message.request_id)
        op = response_group(GroupTag.OPERATION)
        op.attributes.append(Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"))
        op.attributes.append(Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"))
        if message:
            op.attributes.append(Attribute.of("status-message", Tag.TEXT_WITHOUT_LANGUAGE, message[:255]))
        response.groups.append(op)
        unsupported = (unsupported or []) + req.unsupported
        if unsupported:
            response.groups.append(response_group(GroupTag.UNSUPPORTED, unsupported))
        return response

    # -- request checks (RFC 8011 §4.1) --------------------------------------------------

    def _check_request(self, req: Request) -> None:
        msg = req.message
        if msg.version[0] not in (1, 2):
            raise RequestError(StatusCode.SERVER_ERROR_VERSION_NOT_SUPPORTED, "IPP version not supported")
        if msg.request_id <= 0:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "request-id must be greater than 0")
        if not msg.groups or msg.groups[0].tag != GroupTag.OPERATION:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "missing operation attributes")
        seen_operation = False
        for group in msg.groups:
            if group.tag == GroupTag.OPERATION:
                if seen_operation:
                    raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "operation attributes sent twice")
                seen_operation = True
            elif group.tag not in (GroupTag.JOB, GroupTag.DOCUMENT, GroupTag.PRINTER, GroupTag.SUBSCRIPTION):
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, f"unexpected group tag {group.tag}")
            for attribute in group.attributes:
                check_syntax(attribute)
        attrs = msg.groups[0].attributes
        if len(attrs) < 2 or attrs[0].name != "attributes-charset" or attrs[1].name != "attributes-natural-language":
            raise RequestError(
                StatusCode.CLIENT_ERROR_BAD_REQUEST,
                "attributes-charset and attributes-natural-language must come first",
            )
        charset, language = attrs[0], attrs[1]
        if charset.tag != Tag.CHARSET or len(charset.values) != 1:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad attributes-charset")
        if language.tag != Tag.NATURAL_LANGUAGE or len(language.values) != 1:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad attributes-natural-language")
        if str(charset.value).lower() not in ("utf-8", "us-ascii"):
            raise RequestError(
                StatusCode.CLIENT_ERROR_CHARSET_NOT_SUPPORTED,
                "charset not supported",
                [Attribute.of("attributes-charset", Tag.CHARSET, str(charset.value))],
            )
        op = req.op
        if "printer-uri" not in op and "job-uri" not in op:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "missing printer-uri")
        for name in ("printer-uri", "job-uri"):
            if name in op and (op[name].tag != Tag.URI or len(op[name].values) != 1):
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, f"bad {name}")

    # -- helpers --------------------------------------------------------------------------

    def printer_uri(self, req: Request) -> str:
        return f"ipp://{req.host}{self.path}"

    def web_url(self, req: Request, path: str = "/") -> str:
        return f"http://{req.host}{path}"

    def _user(self, req: Request) -> str:
        attribute = req.op.get("requesting-user-name")
        if attribute is None:
            return "anonymous"
        return _string(attribute.value)[:MAX_NAME] or "anonymous"

    async def _sink(self, fn: Callable[..., object], *args: object) -> object:
        try:
            return await asyncio.to_thread(fn, *args)
        except SinkRefused as refused:
            raise RequestError(refused.status, refused.message) from refused

    async def _target_job(self, req: Request) -> JobInfo:
        op = req.op
        job_id: int | None = None
        if "job-uri" in op:
            uri = _string(op["job-uri"].value)
            tail = uri.rstrip("/").rsplit("/", 1)[-1]
            # ASCII digits only ("²".isdigit() is true) and within the 32-bit job-id range.
            if not tail.isascii() or not tail.isdigit() or int(tail) > 0x7FFFFFFF:
                raise RequestError(StatusCode.CLIENT_ERROR_NOT_FOUND, "no such job")
            job_id = int(tail)
        elif "job-id" in op:
            attribute = op["job-id"]
            if attribute.tag != Tag.INTEGER or len(attribute.values) != 1:
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad job-id")
            job_id = int(attribute.value)  # type: ignore[call-overload]
        else:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "missing job-id")
        job = await self._sink(self.sink.get_job, job_id)
        if job is None:
            raise RequestError(StatusCode.CLIENT_ERROR_NOT_FOUND, f"job {job_id} not found")
        assert isinstance(job, JobInfo)
        return job

    def _ticket(self, req: Request) -> JobTicket:
        """Check the job-creation attributes and make the ticket the sink stores."""
        op = req.op
        fidelity = op.get("ipp-attribute-fidelity")
        if fidelity is not None and fidelity.tag != Tag.BOOLEAN:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad ipp-attribute-fidelity")
        document_format = self._document_format(req)
        self._compression(req)
        job_name = _optional_string(op, "job-name", NAME_TAGS) or _optional_string(
            op, "document-name", NAME_TAGS
        )
        document_name = _optional_string(op, "document-name", NAME_TAGS)
        if "job-k-octets" in op:
            octets = op["job-k-octets"]
            if octets.tag != Tag.INTEGER or len(octets.values) != 1:
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad job-k-octets")
            if int(octets.value) * 1024 > self.config.max_job_bytes:  # type: ignore[call-overload]
                raise RequestError(
                    StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
                    "job larger than the printer accepts",
                    [octets],
                )
        template: dict[str, object] = {}
        unsupported: list[Attribute] = []
        for name, attribute in req.job_group().items():
            if name in A.JOB_TEMPLATE_ATTRIBUTES or name in ("job-name",):
                if name == "job-name":
                    continue
                if check_template_value(attribute):
                    template[name] = _plain(attribute)
                else:
                    unsupported.append(attribute)
        if unsupported:
            if fidelity is not None and fidelity.value is True:
                raise RequestError(
                    StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                    "unsupported job attributes",
                    unsupported,
                )
            req.unsupported.extend(unsupported)
        return JobTicket(
            job_name=job_name or "Untitled",
            user_name=self._user(req),
            document_format=document_format,
            document_name=document_name,
            origin_host=_optional_string(op, "job-originating-host-name", NAME_TAGS),
            attributes=template,
        )

    def _document_format(self, req: Request) -> str:
        attribute = req.op.get("document-format")
        if attribute is None:
            return "application/octet-stream"
        if attribute.tag != Tag.MIME_MEDIA_TYPE or len(attribute.values) != 1:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad document-format")
        value = _string(attribute.value).lower()
        if value not in A.DOCUMENT_FORMATS:
            raise RequestError(
                StatusCode.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
                f"document format {value!r} is not supported",
                [attribute],
            )
        return value

    def _compression(self, req: Request) -> str:
        attribute = req.op.get("compression")
        if attribute is None:
            return "none"
        if attribute.tag != Tag.KEYWORD or len(attribute.values) != 1:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad compression")
        value = _string(attribute.value)
        if value not in A.KEYWORD_CHOICES["compression"]:
            raise RequestError(
                StatusCode.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED, f"compression {value!r} not supported", [attribute]
            )
        return value

    def _accepting(self) -> None:
        accepting, _reasons = self.sink.accepting()
        if not accepting:
            raise RequestError(StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS, "the printer is not accepting jobs")

    async def _receive_document(self, req: Request, writer: DocumentWriter) -> int:
        """Stream the document data into ``writer``; returns the decoded size in bytes."""
        compression = self._compression(req)
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
        try:
            writer = self.sink.open_document(ticket)
        except SinkRefused as refused:
            raise RequestError(refused.status, refused.message) from refused
        try:
            size = await self._receive_document(req, writer)
            if size == 0:
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "no document data")
            job = await self._sink(self.sink.store_document, writer, ticket, job_id, True)
        except BaseException:
            await asyncio.to_thread(writer.abort)
            raise
        assert isinstance(job, JobInfo)
        return job

    def _job_response(self, req: Request, job: JobInfo, message: str = "") -> Message:
        status = StatusCode.SUCCESSFUL_OK
        if req.unsupported:
            status = StatusCode.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
        response = self.respond(req, status, message)
        response.groups.append(
            response_group(
                GroupTag.JOB,
                self.job_attributes(req, job, {"job-id", "job-uri", "job-state", "job-state-reasons",
                                               "job-state-message"}),
            )
        )
        return response

    # -- operations ----------------------------------------------------------------------

    async def print_job(self, req: Request) -> Message:
        self._accepting()
        ticket = self._ticket(req)
        job = await self._store(req, ticket, None)
        log.info("job %d received from %s (%s)", job.job_id, _safe(ticket.user_name), _safe(ticket.job_name))
        return self._job_response(req, job)

    async def validate_job(self, req: Request) -> Message:
        self._accepting()
        self._ticket(req)
        status = StatusCode.SUCCESSFUL_OK
        if req.unsupported:
            status = StatusCode.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
        return self.respond(req, status)

    async def create_job(self, req: Request) -> Message:
        self._accepting()
        ticket = self._ticket(req)
        job = await self._sink(self.sink.create_job, ticket)
        assert isinstance(job, JobInfo)
        return self._job_response(req, job)

    async def send_document(self, req: Request) -> Message:
        job = await self._target_job(req)
        last = req.op.get("last-document")
        if last is None or last.tag != Tag.BOOLEAN or len(last.values) != 1:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "missing or bad last-document")
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
        job = await self._target_job(req)
        if job.state.ended:
            raise RequestError(StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job.job_id} has ended")
        job = await self._sink(self.sink.close_job, job.job_id)  # type: ignore[assignment]
        return self._job_response(req, job)

    async def cancel_job(self, req: Request) -> Message:
        job = await self._target_job(req)
        if job.state.ended:
            raise RequestError(
                StatusCode.CLIENT_ERROR_NOT_POSSIBLE, f"job {job.job_id} is already {job.state.name.lower()}"
            )
        await self._sink(self.sink.cancel_job, job.job_id, self._user(req))
        return self.respond(req, StatusCode.SUCCESSFUL_OK)

    async def cancel_my_jobs(self, req: Request) -> Message:
        user = self._user(req)
        ids_attr = req.op.get("job-ids")
        wanted: set[int] | None = None
        if ids_attr is not None:
            if any(v.tag != Tag.INTEGER for v in ids_attr.values):
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad job-ids")
            wanted = {int(v.value) for v in ids_attr.values}  # type: ignore[call-overload]
        jobs = await self._sink(self.sink.list_jobs, "not-completed", user, None)
        assert isinstance(jobs, list)
        for job in jobs:
            if wanted is None or job.job_id in wanted:
                await self._sink(self.sink.cancel_job, job.job_id, user)
        return self.respond(req, StatusCode.SUCCESSFUL_OK)

    async def get_job_attributes(self, req: Request) -> Message:
        job = await self._target_job(req)
        names = self._requested(req, default=("all",))
        response = self.respond(req, StatusCode.SUCCESSFUL_OK)
        response.groups.append(response_group(GroupTag.JOB, self.job_attributes(req, job, names)))
        return response

    async def get_jobs(self, req: Request) -> Message:
        op = req.op
        which = "not-completed"
        if "which-jobs" in op:
            attribute = op["which-jobs"]
            if attribute.tag != Tag.KEYWORD or len(attribute.values) != 1:
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad which-jobs")
            which = _string(attribute.value)
            if which not in A.KEYWORD_CHOICES["which-jobs"]:
                raise RequestError(
                    StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                    f"which-jobs {which!r} not supported",
                    [attribute],
                )
        limit: int | None = None
        if "limit" in op:
            attribute = op["limit"]
            if attribute.tag != Tag.INTEGER or len(attribute.values) != 1 or int(attribute.value) < 1:  # type: ignore[call-overload]
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad limit")
            limit = int(attribute.value)  # type: ignore[call-overload]
        user: str | None = None
        if "my-jobs" in op:
            attribute = op["my-jobs"]
            if attribute.tag != Tag.BOOLEAN or len(attribute.values) != 1:
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad my-jobs")
            if attribute.value is True:
                user = self._user(req)
        names = self._requested(req, default=("job-id", "job-uri"))
        jobs = await self._sink(self.sink.list_jobs, which, user, limit)
        assert isinstance(jobs, list)
        response = self.respond(req, StatusCode.SUCCESSFUL_OK)
        for job in jobs:
            response.groups.append(response_group(GroupTag.JOB, self.job_attributes(req, job, names)))
        return response

    async def get_printer_attributes(self, req: Request) -> Message:
        names = self._requested(req, default=("all",))
        if "document-format" in req.op:
            self._document_format(req)
        response = self.respond(req, StatusCode.SUCCESSFUL_OK)
        response.groups.append(response_group(GroupTag.PRINTER, await self.printer_attributes(req, names)))
        return response

    async def identify_printer(self, req: Request) -> Message:
        actions = req.op.get("identify-actions")
        if actions is not None and actions.tag != Tag.KEYWORD:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad identify-actions")
        log.info("identify-printer requested by %s", _safe(self._user(req)))
        return self.respond(req, StatusCode.SUCCESSFUL_OK)

    # -- attribute sets ----------------------------------------------------------------

    def _requested(self, req: Request, default: tuple[str, ...]) -> set[str]:
        attribute = req.op.get("requested-attributes")
        if attribute is None:
            return set(default)
        if attribute.tag != Tag.KEYWORD:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad requested-attributes")
        return {_string(v.value) for v in attribute.values}

    async def printer_attributes(self, req: Request, names: set[str]) -> list[Attribute]:
        """The printer's attributes filtered by requested-attributes (groups expand)."""
        everything = "all" in names
        want_template = everything or "job-template" in names
        want_description = everything or "printer-description" in names
        result: list[Attribute] = []
        if want_description or names & set(A.DYNAMIC_DESCRIPTION):
            result.extend(a for a in await self._dynamic(req) if want_description or a.name in names)
        result.extend(a for a in self._description if want_description or a.name in names)
        result.extend(a for a in self._template if want_template or a.name in names)
        if "media-col-database" in names:
            result.append(self._media_col_database)
        return result

    async def _dynamic(self, req: Request) -> list[Attribute]:
        accepting, reasons = self.sink.accepting()
        queued = await asyncio.to_thread(self.sink.queued_job_count)
        state = PrinterState.PROCESSING if queued else PrinterState.IDLE
        message = "Ready to print." if accepting else "Not accepting jobs: " + ", ".join(reasons)
        more_info = self.web_url(req)
        return [
            Attribute.of("printer-uri-supported", Tag.URI, self.printer_uri(req)),
            Attribute.of("printer-more-info", Tag.URI, more_info),
            Attribute.of(
                "printer-icons",
                Tag.URI,
                self.web_url(req, "/printer-icons/48.png"),
                self.web_url(req, "/printer-icons/128.png"),
                self.web_url(req, "/printer-icons/512.png"),
            ),
            Attribute.of("printer-supply-info-uri", Tag.URI, more_info),
            Attribute.of("printer-state", Tag.ENUM, int(state)),
            Attribute.of("printer-state-reasons", Tag.KEYWORD, *(reasons or ("none",))),
            Attribute.of("printer-state-message", Tag.TEXT_WITHOUT_LANGUAGE, message),
            Attribute.of("printer-is-accepting-jobs", Tag.BOOLEAN, accepting),
            Attribute.of("queued-job-count", Tag.INTEGER, queued),
            Attribute.of("printer-up-time", Tag.INTEGER, int(time.time())),
            Attribute.of("printer-current-time", Tag.DATE_TIME, _now()),
            Attribute.of("printer-state-change-time", Tag.INTEGER, int(self.state_changed.timestamp())),
            Attribute.of("printer-state-change-date-time", Tag.DATE_TIME, self.state_changed),
            Attribute.of("printer-config-change-time", Tag.INTEGER, int(self.config_changed.timestamp())),
            Attribute.of("printer-config-change-date-time", Tag.DATE_TIME, self.config_changed),
        ]

    def job_attributes(self, req: Request, job: JobInfo, names: set[str]) -> list[Attribute]:
        """One job's attributes filtered by requested-attributes."""
        everything = "all" in names
        want_description = everything or "job-description" in names
        want_template = everything or "job-template" in names
        uri = f"{self.printer_uri(req)}/{job.job_id}"

        def time_at(name: str, moment: dt.datetime | None) -> Attribute:
            if moment is None:
                return Attribute.of(name, Tag.NO_VALUE)
            return Attribute.of(name, Tag.INTEGER, int(moment.timestamp()))

        def date_at(name: str, moment: dt.datetime | None) -> Attribute:
            if moment is None:
                return Attribute.of(name, Tag.NO_VALUE)
            return Attribute.of(name, Tag.DATE_TIME, moment.astimezone(dt.UTC).replace(microsecond=0))

        description = [
            Attribute.of("job-id", Tag.INTEGER, job.job_id),
            Attribute.of("job-uri", Tag.URI, uri),
            Attribute.of("job-uuid", Tag.URI, job.job_uuid),
            Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, job.job_name[:MAX_NAME]),
            Attribute.of("job-originating-user-name", Tag.NAME_WITHOUT_LANGUAGE, job.user_name[:MAX_NAME]),
            Attribute.of("job-state", Tag.ENUM, int(job.state)),
            Attribute.of("job-state-reasons", Tag.KEYWORD, *(job.state_reasons or ("none",))),
            Attribute.of("job-state-message", Tag.TEXT_WITHOUT_LANGUAGE, job.state_message[:MAX_TEXT]),
            Attribute.of("job-printer-uri", Tag.URI, self.printer_uri(req)),
            Attribute.of("job-printer-up-time", Tag.INTEGER, int(time.time())),
            time_at("time-at-creation", job.created),
            time_at("time-at-processing", job.processing),
            time_at("time-at-completed", job.completed),
            date_at("date-time-at-creation", job.created),
            date_at("date-time-at-processing", job.processing),
            date_at("date-time-at-completed", job.completed),
            Attribute.of("number-of-intervening-jobs", Tag.INTEGER, 0),
            Attribute.of("job-k-octets", Tag.INTEGER, job.k_octets),
            Attribute.of("job-impressions", Tag.INTEGER, job.impressions),
            Attribute.of("job-impressions-completed", Tag.INTEGER, job.impressions if job.state.ended else 0),
            Attribute.of("number-of-documents", Tag.INTEGER, job.documents),
            Attribute.of("document-format-supplied", Tag.MIME_MEDIA_TYPE, job.document_format),
        ]
        template = [
            Attribute.of("copies", Tag.INTEGER, 1),
            Attribute.of("media", Tag.KEYWORD, self.config.media_default),
            Attribute.of("sides", Tag.KEYWORD, "one-sided"),
            Attribute.of("print-color-mode", Tag.KEYWORD, "auto"),
            Attribute.of("print-quality", Tag.ENUM, 4),
            Attribute.of("orientation-requested", Tag.ENUM, 3),
        ]
        return [a for a in description if want_description or a.name in names] + [
            a for a in template if want_template or a.name in names
        ]


# -- value checks -------------------------------------------------------------------------


def response_group(tag: int, attributes: list[Attribute] | None = None) -> Group:
    return Group(tag, list(attributes or []))


def _string(value: object) -> str:
    if isinstance(value, StringWithLanguage):
        return value.text
    return value if isinstance(value, str) else ""


def _safe(text: str) -> str:
    """A network string made safe for one log line."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:200]


def _optional_string(op: dict[str, Attribute], name: str, tags: frozenset[int]) -> str:
    attribute = op.get(name)
    if attribute is None:
        return ""
    if attribute.tag not in tags or len(attribute.values) != 1:
        raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, f"bad {name}")
    return _string(attribute.value)


def _plain(attribute: Attribute) -> object:
    values = [_plain_value(v) for v in attribute.values]
    return values[0] if len(values) == 1 else values


def _plain_value(value: Value) -> object:
    if isinstance(value.value, Collection):
        return {m.name: _plain(m) for m in value.value.members}
    if isinstance(value.value, Resolution):
        return [value.value.x, value.value.y, value.value.units]
    if isinstance(value.value, Range):
        return [value.value.lower, value.value.upper]
    if isinstance(value.value, StringWithLanguage):
        return value.value.text
    if isinstance(value.value, bytes | dt.datetime):
        return None
    return value.value


def check_syntax(attribute: Attribute, depth: int = 0) -> None:
    """Reject values that are not what their tag promises (RFC 8011 §5.1; CUPS limits)."""
    if not attribute.name or len(attribute.name) > 255 or not attribute.name.isascii():
        raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad attribute name")
    for value in attribute.values:
        tag, raw = value.tag, value.value
        if tag == Tag.BEG_COLLECTION:
            assert isinstance(raw, Collection)
            for member in raw.members:
                check_syntax(member, depth + 1)
            continue
        if tag == Tag.EXTENSION or (tag not in Tag._value2member_map_):
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, f"unsupported value tag in {_safe(attribute.name)}")
        if tag == Tag.DATE_TIME and not isinstance(raw, dt.datetime):
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, f"bad dateTime in {_safe(attribute.name)}")
        if tag == Tag.RANGE_OF_INTEGER and isinstance(raw, Range) and raw.lower > raw.upper:
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, f"bad range in {_safe(attribute.name)}")
        if tag == Tag.RESOLUTION and isinstance(raw, Resolution) and (
            raw.x <= 0 or raw.y <= 0 or raw.units not in (3, 4)
        ):
            raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, f"bad resolution in {_safe(attribute.name)}")
        text = raw.text if isinstance(raw, StringWithLanguage) else raw
        if isinstance(text, str):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as error:
                raise RequestError(
                    StatusCode.CLIENT_ERROR_BAD_REQUEST, f"invalid UTF-8 in {_safe(attribute.name)}"
                ) from error
            limit = MAX_TEXT if tag in TEXT_TAGS or tag in (Tag.URI, Tag.OCTET_STRING) else MAX_NAME
            if len(text.encode("utf-8")) > limit:
                raise RequestError(
                    StatusCode.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG,
                    f"value of {_safe(attribute.name)} too long",
                    [attribute],
                )
            if tag in ASCII_TAGS and (not text.isascii() or any(ord(c) < 0x20 for c in text)):
                raise RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, f"bad value in {_safe(attribute.name)}")
            if tag in NAME_TAGS and any(ord(c) < 0x20 and c not in "\t" for c in text):
                raise RequestError(
                    StatusCode.CLIENT_ERROR_BAD_REQUEST, f"control characters in {_safe(attribute.name)}"
                )


def check_template_value(attribute: Attribute) -> bool:
    """Whether a job template attribute's values are ones this printer supports."""
    name = attribute.name
    values = attribute.values
    if name in A.KEYWORD_CHOICES:
        return all(v.tag == Tag.KEYWORD and v.value in A.KEYWORD_CHOICES[name] for v in values)
    if name in A.ENUM_CHOICES:
        return all(v.tag == Tag.ENUM and v.value in A.ENUM_CHOICES[name] for v in values)
    if name in A.INTEGER_RANGES:
        low, high = A.INTEGER_RANGES[name]
        return len(values) == 1 and values[0].tag == Tag.INTEGER and low <= int(values[0].value) <= high  # type: ignore[call-overload]
    if name == "media":
        return len(values) == 1 and values[0].tag in (Tag.KEYWORD, Tag.NAME_WITHOUT_LANGUAGE) and (
            values[0].value in A.MEDIA_SIZES
        )
    if name == "media-col":
        return len(values) == 1 and values[0].tag == Tag.BEG_COLLECTION and _media_col_ok(values[0].value)
    if name == "printer-resolution":
        return len(values) == 1 and values[0].value in A.RESOLUTIONS
    if name == "page-ranges":
        return all(
            v.tag == Tag.RANGE_OF_INTEGER and isinstance(v.value, Range) and 1 <= v.value.lower <= v.value.upper
            for v in values
        )
    return True


def _media_col_ok(value: object) -> bool:
    if not isinstance(value, Collection):
        return False
    for member in value.members:
        if member.name == "media-size":
            size = member.value
            if not isinstance(size, Collection):
                return False
            x, y = size.get("x-dimension"), size.get("y-dimension")
            if x is None or y is None:
                return False
            if (x.value, y.value) not in A.MEDIA_SIZES.values():
                return False
        elif member.name in ("media-source", "media-type"):
            if member.value not in A.KEYWORD_CHOICES[member.name]:
                return False
        elif member.name in ("media-size-name",):
            if not isinstance(member.value, str) or member.value not in A.MEDIA_SIZES:
                return False
        elif member.name.endswith("-margin"):
            if member.value not in (0, A.MARGIN):
                return False
    return True
