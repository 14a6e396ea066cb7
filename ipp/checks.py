"""Request validation (RFC 8011 §4.1, §5.1) and typed attribute lookup.

Every check raises :class:`RequestError` with the status code and message the printer
answers with.  The lookups are modelled on CUPS's ``ippFindAttribute(request, name,
tag)``: an attribute that is there but has the wrong value tag or the wrong number of
values is answered ``client-error-bad-request`` with the message ``bad NAME``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection as Tags
from collections.abc import Mapping
from typing import Literal, overload

from ipp import attributes as A
from ipp.codec import (
    ASCII_TAGS,
    NAME_TAGS,
    TEXT_TAGS,
    Attribute,
    Collection,
    GroupTag,
    Message,
    Range,
    Resolution,
    StringWithLanguage,
    Tag,
    Value,
)
from ipp.sink import JobTicket
from ipp.status import StatusCode

MAX_NAME = 255
MAX_TEXT = 1023

OpAttributes = Mapping[str, Attribute]
"""A request's operation attributes by name."""

REQUEST_GROUPS = (GroupTag.JOB, GroupTag.DOCUMENT, GroupTag.PRINTER, GroupTag.SUBSCRIPTION)
"""The groups a request may have besides its one operation group."""


class RequestError(Exception):
    """A request the printer answers with an error status (and maybe unsupported attributes)."""

    def __init__(self, status: StatusCode, message: str, unsupported: list[Attribute] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.unsupported = unsupported or []


def bad_request(message: str) -> RequestError:
    """``client-error-bad-request`` with ``message``."""
    return RequestError(StatusCode.CLIENT_ERROR_BAD_REQUEST, message)


# -- typed lookup ---------------------------------------------------------------------------


def has_type(attribute: Attribute, tags: int | Tags[int], *, many: bool = False) -> bool:
    """Whether every value has one of ``tags`` and there is exactly one value (at least one with ``many``)."""
    allowed = (tags,) if isinstance(tags, int) else tags
    count_ok = len(attribute.values) >= 1 if many else len(attribute.values) == 1
    return count_ok and all(value.tag in allowed for value in attribute.values)


def check_type(attribute: Attribute, tags: int | Tags[int], *, many: bool = False) -> Attribute:
    """``attribute`` itself when it :func:`has_type`; else :class:`RequestError` ``bad NAME``."""
    if not has_type(attribute, tags, many=many):
        raise bad_request(f"bad {attribute.name}")
    return attribute


@overload
def find(
    op: OpAttributes, name: str, tags: int | Tags[int], *, required: Literal[True], many: bool = False
) -> Attribute: ...


@overload
def find(
    op: OpAttributes, name: str, tags: int | Tags[int], *, required: bool = False, many: bool = False
) -> Attribute | None: ...


def find(
    op: OpAttributes, name: str, tags: int | Tags[int], *, required: bool = False, many: bool = False
) -> Attribute | None:
    """The operation attribute ``name`` when it :func:`has_type`; None when it is absent and
    not ``required``.  Else :class:`RequestError`: ``bad NAME``, or ``missing or bad NAME`` for
    a ``required`` one (CUPS ``ippFindAttribute(request, name, tag)`` plus the count check)."""
    attribute = op.get(name)
    if attribute is not None and has_type(attribute, tags, many=many):
        return attribute
    if attribute is None and not required:
        return None
    raise bad_request(f"missing or bad {name}" if required else f"bad {name}")


def one_integer(op: OpAttributes, name: str) -> int | None:
    """The one integer value of ``name``, or None when absent."""
    attribute = find(op, name, Tag.INTEGER)
    return None if attribute is None else _integer(attribute.value, name)


def integers(op: OpAttributes, name: str) -> list[int] | None:
    """The integer values of the 1setOf ``name``, or None when absent."""
    attribute = find(op, name, Tag.INTEGER, many=True)
    return None if attribute is None else [_integer(v.value, name) for v in attribute.values]


def one_boolean(op: OpAttributes, name: str) -> bool | None:
    """The one boolean value of ``name``, or None when absent."""
    attribute = find(op, name, Tag.BOOLEAN)
    return None if attribute is None else attribute.value is True


def keywords(op: OpAttributes, name: str) -> list[str] | None:
    """The keyword values of the 1setOf ``name``, or None when absent."""
    attribute = find(op, name, Tag.KEYWORD, many=True)
    return None if attribute is None else [string(v.value) for v in attribute.values]


def optional_string(op: OpAttributes, name: str, tags: int | Tags[int]) -> str:
    """The one string value of ``name`` (text of a withLanguage value), or "" when absent."""
    attribute = find(op, name, tags)
    return "" if attribute is None else string(attribute.value)


def string(value: object) -> str:
    """A string value's text ("" for a value that is not a string)."""
    if isinstance(value, StringWithLanguage):
        return value.text
    return value if isinstance(value, str) else ""


def _integer(value: object, name: str) -> int:
    # The decoder gives int for every integer tag; a message built in Python may not.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise bad_request(f"bad {name}")


def safe(text: str) -> str:
    """A network string made safe for one log line."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:200]


# -- the request as a whole (RFC 8011 §4.1.1 - §4.1.5) -------------------------------------


def check_request(message: Message, op: OpAttributes) -> None:
    """Version, request-id, group order, every value's syntax, charset and language first,
    and a target (printer-uri or job-uri); raises :class:`RequestError` for the first problem."""
    if message.version[0] not in (1, 2):
        raise RequestError(StatusCode.SERVER_ERROR_VERSION_NOT_SUPPORTED, "IPP version not supported")
    if message.request_id <= 0:
        raise bad_request("request-id must be greater than 0")
    if not message.groups or message.groups[0].tag != GroupTag.OPERATION:
        raise bad_request("missing operation attributes")
    seen_operation = False
    for group in message.groups:
        if group.tag == GroupTag.OPERATION:
            if seen_operation:
                raise bad_request("operation attributes sent twice")
            seen_operation = True
        elif group.tag not in REQUEST_GROUPS:
            raise bad_request(f"unexpected group tag {group.tag}")
        for attribute in group.attributes:
            check_syntax(attribute)
    attrs = message.groups[0].attributes
    if len(attrs) < 2 or attrs[0].name != "attributes-charset" or attrs[1].name != "attributes-natural-language":
        raise bad_request("attributes-charset and attributes-natural-language must come first")
    charset = check_type(attrs[0], Tag.CHARSET)
    check_type(attrs[1], Tag.NATURAL_LANGUAGE)
    if str(charset.value).lower() not in ("utf-8", "us-ascii"):
        raise RequestError(
            StatusCode.CLIENT_ERROR_CHARSET_NOT_SUPPORTED,
            "charset not supported",
            [Attribute.of("attributes-charset", Tag.CHARSET, str(charset.value))],
        )
    if "printer-uri" not in op and "job-uri" not in op:
        raise bad_request("missing printer-uri")
    find(op, "printer-uri", Tag.URI)
    find(op, "job-uri", Tag.URI)


def check_syntax(attribute: Attribute) -> None:
    """Reject values that are not what their tag promises (RFC 8011 §5.1; CUPS limits)."""
    if not attribute.name or len(attribute.name) > 255 or not attribute.name.isascii():
        raise bad_request("bad attribute name")
    for value in attribute.values:
        tag, raw = value.tag, value.value
        if tag == Tag.BEG_COLLECTION:
            assert isinstance(raw, Collection)
            for member in raw.members:
                check_syntax(member)
            continue
        if tag == Tag.EXTENSION or (tag not in Tag._value2member_map_):
            raise bad_request(f"unsupported value tag in {safe(attribute.name)}")
        if tag == Tag.DATE_TIME and not isinstance(raw, dt.datetime):
            raise bad_request(f"bad dateTime in {safe(attribute.name)}")
        if tag == Tag.RANGE_OF_INTEGER and isinstance(raw, Range) and raw.lower > raw.upper:
            raise bad_request(f"bad range in {safe(attribute.name)}")
        if tag == Tag.RESOLUTION and isinstance(raw, Resolution) and (
            raw.x <= 0 or raw.y <= 0 or raw.units not in (3, 4)
        ):
            raise bad_request(f"bad resolution in {safe(attribute.name)}")
        text = raw.text if isinstance(raw, StringWithLanguage) else raw
        if isinstance(text, str):
            _check_string(attribute, tag, text)


def _check_string(attribute: Attribute, tag: int, text: str) -> None:
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise bad_request(f"invalid UTF-8 in {safe(attribute.name)}") from error
    limit = MAX_TEXT if tag in TEXT_TAGS or tag in (Tag.URI, Tag.OCTET_STRING) else MAX_NAME
    if len(encoded) > limit:
        raise RequestError(
            StatusCode.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG, f"value of {safe(attribute.name)} too long", [attribute]
        )
    if tag in ASCII_TAGS and (not text.isascii() or any(ord(c) < 0x20 for c in text)):
        raise bad_request(f"bad value in {safe(attribute.name)}")
    if tag in NAME_TAGS and any(ord(c) < 0x20 and c not in "\t" for c in text):
        raise bad_request(f"control characters in {safe(attribute.name)}")


# -- what operations ask for ----------------------------------------------------------------


def requesting_user(op: OpAttributes) -> str:
    """requesting-user-name as sent (at most 255 characters), else ``anonymous``."""
    attribute = op.get("requesting-user-name")
    if attribute is None:
        return "anonymous"
    return string(attribute.value)[:MAX_NAME] or "anonymous"


def requested(op: OpAttributes, default: tuple[str, ...]) -> set[str]:
    """The requested-attributes names, or ``default`` when the client named none."""
    names = keywords(op, "requested-attributes")
    return set(default) if names is None else set(names)


def target_job_id(op: OpAttributes) -> int:
    """The job a job operation is about, from job-uri (the last path segment) or job-id."""
    if "job-uri" in op:
        tail = string(op["job-uri"].value).rstrip("/").rsplit("/", 1)[-1]
        # ASCII digits only ("²".isdigit() is true) and within the 32-bit job-id range.
        if not tail.isascii() or not tail.isdigit() or int(tail) > 0x7FFFFFFF:
            raise RequestError(StatusCode.CLIENT_ERROR_NOT_FOUND, "no such job")
        return int(tail)
    job_id = one_integer(op, "job-id")
    if job_id is None:
        raise bad_request("missing job-id")
    return job_id


def document_format(op: OpAttributes) -> str:
    """document-format in lower case (``application/octet-stream`` when absent); refuses formats
    the printer does not list."""
    attribute = find(op, "document-format", Tag.MIME_MEDIA_TYPE)
    if attribute is None:
        return "application/octet-stream"
    value = string(attribute.value).lower()
    if value not in A.DOCUMENT_FORMATS:
        raise RequestError(
            StatusCode.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
            f"document format {value!r} is not supported",
            [attribute],
        )
    return value


def compression(op: OpAttributes) -> str:
    """compression (``none`` when absent); refuses the ones the printer cannot undo."""
    attribute = find(op, "compression", Tag.KEYWORD)
    if attribute is None:
        return "none"
    value = string(attribute.value)
    if value not in A.KEYWORD_CHOICES["compression"]:
        raise RequestError(
            StatusCode.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED, f"compression {value!r} not supported", [attribute]
        )
    return value


def job_ticket(
    op: OpAttributes, job: Mapping[str, Attribute], max_job_bytes: int
) -> tuple[JobTicket, list[Attribute]]:
    """Check the job-creation attributes; returns the ticket the sink stores and the job
    template attributes it ignores (refused instead when ipp-attribute-fidelity is true)."""
    fidelity = one_boolean(op, "ipp-attribute-fidelity")
    format_ = document_format(op)
    compression(op)
    job_name = optional_string(op, "job-name", NAME_TAGS) or optional_string(op, "document-name", NAME_TAGS)
    document_name = optional_string(op, "document-name", NAME_TAGS)
    octets = find(op, "job-k-octets", Tag.INTEGER)
    if octets is not None and _integer(octets.value, octets.name) * 1024 > max_job_bytes:
        raise RequestError(
            StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, "job larger than the printer accepts", [octets]
        )
    template: dict[str, object] = {}
    unsupported: list[Attribute] = []
    for name, attribute in job.items():
        if name not in A.JOB_TEMPLATE_ATTRIBUTES:
            continue
        if check_template_value(attribute):
            template[name] = _plain(attribute)
        else:
            unsupported.append(attribute)
    if unsupported and fidelity:
        raise RequestError(
            StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED, "unsupported job attributes", unsupported
        )
    ticket = JobTicket(
        job_name=job_name or "Untitled",
        user_name=requesting_user(op),
        document_format=format_,
        document_name=document_name,
        origin_host=optional_string(op, "job-originating-host-name", NAME_TAGS),
        attributes=template,
    )
    return ticket, unsupported


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
        value = values[0].value if len(values) == 1 and values[0].tag == Tag.INTEGER else None
        return isinstance(value, int) and low <= value <= high
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
        elif member.name == "media-size-name":
            if not isinstance(member.value, str) or member.value not in A.MEDIA_SIZES:
                return False
        elif member.name.endswith("-margin"):
            if member.value not in (0, A.MARGIN):
                return False
    return True


def _plain(attribute: Attribute) -> object:
    """A template attribute as JSON-friendly data for the ticket (one value, or a list)."""
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
