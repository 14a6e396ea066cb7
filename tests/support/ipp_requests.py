"""Requests built in Python and answered by a :class:`~ipp.printer.Printer` in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from ipp.attributes import PrinterConfig
from ipp.codec import Attribute, Group, GroupTag, Message, Tag
from ipp.memory import MemorySink
from ipp.printer import Printer, Request
from tests.support.loop import run

HOST = "printer.test:631"
URI = f"ipp://{HOST}/ipp/print"


def op_attrs(*extra: Attribute, uri: str | None = URI, user: str | None = "anna") -> list[Attribute]:
    """The operation attributes every request starts with, then ``extra``."""
    attrs = [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"),
    ]
    if uri is not None:
        attrs.append(Attribute.of("printer-uri", Tag.URI, uri))
    if user is not None:
        attrs.append(Attribute.of("requesting-user-name", Tag.NAME_WITHOUT_LANGUAGE, user))
    return attrs + list(extra)


def request(code: int, *extra: Attribute, job: Iterable[Attribute] = (), version: tuple[int, int] = (2, 0),
            request_id: int = 7, uri: str | None = URI, user: str | None = "anna") -> Message:
    """A request message: operation attributes, then a job group when ``job`` has any."""
    groups = [Group(GroupTag.OPERATION, op_attrs(*extra, uri=uri, user=user))]
    job = list(job)
    if job:
        groups.append(Group(GroupTag.JOB, job))
    return Message(version, code, request_id, groups)


async def chunks(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def ask(printer: Printer, message: Message, *document: bytes) -> Message:
    """The printer's answer to ``message`` followed by ``document`` (in the pieces given)."""
    return run(printer.handle(Request(message=message, host=HOST, document=chunks(*document))))


def make_printer(max_job_bytes: int = 1024 * 1024) -> tuple[Printer, MemorySink]:
    sink = MemorySink(max_document_bytes=max_job_bytes, max_total_bytes=8 * max_job_bytes)
    return Printer(PrinterConfig(max_job_bytes=max_job_bytes), sink), sink


def status_message(response: Message) -> str:
    group = response.group(GroupTag.OPERATION)
    attribute = group.get("status-message") if group is not None else None
    return str(attribute.value) if attribute is not None else ""


def group_values(response: Message, tag: int, index: int = 0) -> dict[str, object]:
    """The ``index``-th group with ``tag`` as name -> value (a list for 1setOf)."""
    group = list(response.groups_of(tag))[index]
    return {a.name: a.value if len(a.values) == 1 else a.plain() for a in group.attributes}
