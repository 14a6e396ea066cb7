"""Sans-IO IPP/2.x message codec (RFC 8010): bytes in, messages out, and back.

No sockets here (the h11 model).  :class:`MessageReader` takes bytes as they arrive
and hands out one :class:`Message` once the attribute section is complete; whatever
follows the end-of-attributes tag is document data, which the caller streams on.
:func:`encode` turns a message back into bytes.  Every value tag of RFC 8010 is
handled; unknown tags and the extension tag keep their value bytes as they are, so
``encode(decode(b)) == b`` for any message this module accepts.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum


class IppError(Exception):
    """The IPP package's exception family."""


class ProtocolError(IppError):
    """The bytes are not a well-formed IPP message."""


class LimitExceeded(ProtocolError):
    """The message is well-formed so far but larger or deeper than this reader accepts."""


class GroupTag(IntEnum):
    OPERATION = 0x01
    JOB = 0x02
    END = 0x03
    PRINTER = 0x04
    UNSUPPORTED = 0x05
    SUBSCRIPTION = 0x06
    EVENT_NOTIFICATION = 0x07
    RESOURCE = 0x08
    DOCUMENT = 0x09
    SYSTEM = 0x0A


class Tag(IntEnum):
    """Value tags (RFC 8010 §3.5.2)."""

    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    NOT_SETTABLE = 0x15
    DELETE_ATTRIBUTE = 0x16
    ADMIN_DEFINE = 0x17
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    OCTET_STRING = 0x30
    DATE_TIME = 0x31
    RESOLUTION = 0x32
    RANGE_OF_INTEGER = 0x33
    BEG_COLLECTION = 0x34
    TEXT_WITH_LANGUAGE = 0x35
    NAME_WITH_LANGUAGE = 0x36
    END_COLLECTION = 0x37
    TEXT_WITHOUT_LANGUAGE = 0x41
    NAME_WITHOUT_LANGUAGE = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    NATURAL_LANGUAGE = 0x48
    MIME_MEDIA_TYPE = 0x49
    MEMBER_ATTR_NAME = 0x4A
    EXTENSION = 0x7F


OUT_OF_BAND = frozenset(
    {Tag.UNSUPPORTED, Tag.UNKNOWN, Tag.NO_VALUE, Tag.NOT_SETTABLE, Tag.DELETE_ATTRIBUTE, Tag.ADMIN_DEFINE}
)
UTF8_TAGS = frozenset({Tag.TEXT_WITHOUT_LANGUAGE, Tag.NAME_WITHOUT_LANGUAGE})
ASCII_TAGS = frozenset(
    {
        Tag.KEYWORD,
        Tag.URI,
        Tag.URI_SCHEME,
        Tag.CHARSET,
        Tag.NATURAL_LANGUAGE,
        Tag.MIME_MEDIA_TYPE,
        Tag.MEMBER_ATTR_NAME,
    }
)
STRING_TAGS = UTF8_TAGS | ASCII_TAGS
TEXT_TAGS = frozenset({Tag.TEXT_WITHOUT_LANGUAGE, Tag.TEXT_WITH_LANGUAGE})
NAME_TAGS = frozenset({Tag.NAME_WITHOUT_LANGUAGE, Tag.NAME_WITH_LANGUAGE})


@dataclass(frozen=True)
class Resolution:
    """A resolution value: cross-feed, feed and units (3 = dots per inch, 4 = per cm)."""

    x: int
    y: int
    units: int = 3


@dataclass(frozen=True)
class Range:
    """A rangeOfInteger value, bounds included."""

    lower: int
    upper: int


@dataclass(frozen=True)
class StringWithLanguage:
    """A textWithLanguage or nameWithLanguage value."""

    language: str
    text: str


@dataclass
class Collection:
    """A collection value: its member attributes, in order."""

    members: list[Attribute] = field(default_factory=list)

    def get(self, name: str) -> Attribute | None:
        for member in self.members:
            if member.name == name:
                return member
        return None


@dataclass(frozen=True)
class Value:
    """One value of an attribute with its own tag (a 1setOf may mix tags).

    Python types by tag: int (integer, enum), bool, bytes (octetString, unknown tags,
    extension, a dateTime that is not a valid date), datetime, Resolution, Range,
    StringWithLanguage, Collection, str (text, name, keyword, uri, ...), None (out of band).
    """

    tag: int
    value: object = None


@dataclass
class Attribute:
    """A named attribute and its values, in the order they were sent."""

    name: str
    values: list[Value]

    @classmethod
    def of(cls, name: str, tag: int, *values: object) -> Attribute:
        """An attribute whose values all share one tag; no values means out-of-band ``tag``."""
        if not values:
            return cls(name, [Value(tag, None)])
        return cls(name, [Value(tag, v) for v in values])

    @property
    def tag(self) -> int:
        return self.values[0].tag

    @property
    def value(self) -> object:
        return self.values[0].value

    def plain(self) -> list[object]:
        return [v.value for v in self.values]


class FixedAttribute(Attribute):
    """An attribute that is never changed after it is made (a printer's static attributes).

    Its wire form is encoded the first time it is needed and reused by every later
    :func:`encode`; changing its values afterwards would not be seen on the wire.
    """

    _wire: bytes | None = None

    @classmethod
    def fixed(cls, attribute: Attribute) -> FixedAttribute:
        return cls(attribute.name, list(attribute.values))

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            out: list[bytes] = []
            _encode_values(self.name, self.values, out)
            self._wire = b"".join(out)
        return self._wire


@dataclass
class Group:
    """An attribute group (operation, job, printer, unsupported, ...)."""

    tag: int
    attributes: list[Attribute] = field(default_factory=list)

    def get(self, name: str) -> Attribute | None:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None

    def add(self, attribute: Attribute) -> None:
        self.attributes.append(attribute)

    def __contains__(self, name: object) -> bool:
        return any(a.name == name for a in self.attributes)


@dataclass
class Message:
    """An IPP request or response: ``code`` is the operation-id or the status-code."""

    version: tuple[int, int]
    code: int
    request_id: int
    groups: list[Group] = field(default_factory=list)

    def group(self, tag: int) -> Group | None:
        for group in self.groups:
            if group.tag == tag:
                return group
        return None

    def groups_of(self, tag: int) -> Iterator[Group]:
        return (g for g in self.groups if g.tag == tag)


# -- encoding ---------------------------------------------------------------------------

_U16 = struct.Struct(">H")


def _encode_date(value: dt.datetime) -> bytes:
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    direction = b"+" if minutes >= 0 else b"-"
    minutes = abs(minutes)
    return struct.pack(
        ">HBBBBBB", value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond // 100000,
    ) + direction + bytes([minutes // 60, minutes % 60])


def encode_value(tag: int, value: object) -> bytes:
    """The value field bytes of one (non-collection) value."""
    if tag in OUT_OF_BAND:
        return b""
    if isinstance(value, bytes):
        return value
    if tag in (Tag.INTEGER, Tag.ENUM):
        return struct.pack(">i", value)
    if tag == Tag.BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag == Tag.DATE_TIME and isinstance(value, dt.datetime):
        return _encode_date(value)
    if tag == Tag.RESOLUTION and isinstance(value, Resolution):
        return struct.pack(">iib", value.x, value.y, value.units)
    if tag == Tag.RANGE_OF_INTEGER and isinstance(value, Range):
        return struct.pack(">ii", value.lower, value.upper)
    if tag in (Tag.TEXT_WITH_LANGUAGE, Tag.NAME_WITH_LANGUAGE) and isinstance(value, StringWithLanguage):
        lang = value.language.encode("utf-8", "surrogateescape")
        text = value.text.encode("utf-8", "surrogateescape")
        return _U16.pack(len(lang)) + lang + _U16.pack(len(text)) + text
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise TypeError(f"cannot encode {value!r} with tag 0x{tag:02x}")


def _field(tag: int, name: bytes, value: bytes) -> bytes:
    if len(name) > 0xFFFF or len(value) > 0xFFFF:
        raise ValueError("IPP names and values are at most 65535 octets")
    return bytes([tag]) + _U16.pack(len(name)) + name + _U16.pack(len(value)) + value


def _encode_values(name: str, values: list[Value], out: list[bytes]) -> None:
    encoded_name = name.encode("utf-8", "surrogateescape")
    for index, value in enumerate(values):
        this_name = encoded_name if index == 0 else b""
        if value.tag == Tag.BEG_COLLECTION:
            assert isinstance(value.value, Collection)
            out.append(_field(Tag.BEG_COLLECTION, this_name, b""))
            for member in value.value.members:
                out.append(_field(Tag.MEMBER_ATTR_NAME, b"", member.name.encode("utf-8", "surrogateescape")))
                _encode_values("", member.values, out)
            out.append(_field(Tag.END_COLLECTION, b"", b""))
        else:
            out.append(_field(value.tag, this_name, encode_value(value.tag, value.value)))


def encode(message: Message) -> bytes:
    """The wire form of ``message`` (header, groups, end-of-attributes tag)."""
    out = [struct.pack(">BBHi", message.version[0], message.version[1], message.code, message.request_id)]
    for group in message.groups:
        out.append(bytes([group.tag]))
        for attribute in group.attributes:
            if isinstance(attribute, FixedAttribute):
                out.append(attribute.wire)
            else:
                _encode_values(attribute.name, attribute.values, out)
    out.append(bytes([GroupTag.END]))
    return b"".join(out)


# -- decoding ---------------------------------------------------------------------------


def _decode_date(raw: bytes) -> dt.datetime | bytes:
    if len(raw) != 11 or raw[8:9] not in (b"+", b"-"):
        return raw
    year, month, day, hour, minute, second, deci = struct.unpack(">HBBBBBB", raw[:8])
    sign = 1 if raw[8:9] == b"+" else -1
    try:
        tz = dt.timezone(sign * dt.timedelta(hours=raw[9], minutes=raw[10]))
        value = dt.datetime(year, month, day, hour, minute, second, deci * 100000, tzinfo=tz)
    except ValueError:
        return raw
    # Only keep the parsed form when it encodes back to exactly these bytes.
    return value if _encode_date(value) == raw else raw


def decode_value(tag: int, raw: bytes) -> object:
    """The Python value of one value field (see :class:`Value` for the types)."""
    if tag in OUT_OF_BAND:
        if raw:
            raise ProtocolError(f"out-of-band value tag 0x{tag:02x} with a value")
        return None
    if tag in (Tag.INTEGER, Tag.ENUM):
        if len(raw) != 4:
            raise ProtocolError("integer value is not 4 octets")
        return struct.unpack(">i", raw)[0]
    if tag == Tag.BOOLEAN:
        if len(raw) != 1 or raw[0] > 1:
            raise ProtocolError("boolean value is not one octet 0 or 1")
        return raw == b"\x01"
    if tag == Tag.DATE_TIME:
        if len(raw) != 11:
            raise ProtocolError("dateTime value is not 11 octets")
        return _decode_date(raw)
    if tag == Tag.RESOLUTION:
        if len(raw) != 9:
            raise ProtocolError("resolution value is not 9 octets")
        return Resolution(*struct.unpack(">iib", raw))
    if tag == Tag.RANGE_OF_INTEGER:
        if len(raw) != 8:
            raise ProtocolError("rangeOfInteger value is not 8 octets")
        return Range(*struct.unpack(">ii", raw))
    if tag in (Tag.TEXT_WITH_LANGUAGE, Tag.NAME_WITH_LANGUAGE):
        if len(raw) < 4:
            raise ProtocolError("withLanguage value too short")
        lang_len = _U16.unpack_from(raw, 0)[0]
        if 2 + lang_len + 2 > len(raw):
            raise ProtocolError("withLanguage value: bad language length")
        text_len = _U16.unpack_from(raw, 2 + lang_len)[0]
        if 4 + lang_len + text_len != len(raw):
            raise ProtocolError("withLanguage value: bad text length")
        return StringWithLanguage(
            raw[2 : 2 + lang_len].decode("utf-8", "surrogateescape"),
            raw[4 + lang_len :].decode("utf-8", "surrogateescape"),
        )
    if tag in STRING_TAGS:
        return raw.decode("utf-8", "surrogateescape")
    if tag == Tag.OCTET_STRING:
        return raw
    return raw  # unknown tags and the extension tag: kept as they came


def _scan_fields(buf: bytes | bytearray, pos: int) -> Iterator[tuple[int, int, bytes, bytes]]:
    """Yield (tag, next_pos, name, value) for each field of a complete attribute section."""
    end = len(buf)
    while pos < end:
        tag = buf[pos]
        if tag < 0x10:
            yield tag, pos + 1, b"", b""
            pos += 1
            continue
        name_len = _U16.unpack_from(buf, pos + 1)[0]
        name_end = pos + 3 + name_len
        value_len = _U16.unpack_from(buf, name_end)[0]
        value_end = name_end + 2 + value_len
        yield tag, value_end, bytes(buf[pos + 3 : name_end]), bytes(buf[name_end + 2 : value_end])
        pos = value_end


@dataclass(frozen=True)
class Limits:
    """How much of a message this reader accepts before the document data."""

    max_header_bytes: int = 4 * 1024 * 1024
    max_attributes: int = 20000
    max_depth: int = 32


class MessageReader:
    """Incremental reader: :meth:`feed` bytes, then :meth:`next_message`.

    Once a message is complete, :attr:`leftover` holds the bytes that followed it (the
    start of the document data) and the reader takes no more input.
    """

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self._buf = bytearray()
        self._scan = 8  # the first field starts after the 8-octet header
        self._fields = 0
        self._end: int | None = None
        self._message: Message | None = None
        self.leftover = b""

    def feed(self, data: bytes) -> None:
        if self._end is not None:
            raise IppError("the message is complete; feed document data elsewhere")
        self._buf += data
        self._advance()

    @property
    def header(self) -> bytes:
        """The first 8 octets (version, code, request-id) as far as they have arrived."""
        return bytes(self._buf[:8])

    @property
    def complete(self) -> bool:
        return self._end is not None

    def _advance(self) -> None:
        buf, pos = self._buf, self._scan
        size = len(buf)
        while True:
            if pos >= size:
                break
            tag = buf[pos]
            if tag < 0x10:
                pos += 1
                if tag == GroupTag.END:
                    self._end = pos
                    break
                continue
            if pos + 3 > size:
                break
            name_end = pos + 3 + ((buf[pos + 1] << 8) | buf[pos + 2])
            if name_end + 2 > size:
                break
            value_end = name_end + 2 + ((buf[name_end] << 8) | buf[name_end + 1])
            if value_end > size:
                break
            pos = value_end
            self._fields += 1
            if self._fields > self.limits.max_attributes:
                raise LimitExceeded("too many attribute values")
        self._scan = pos
        # Checked whether or not the end tag has come yet, so the limit does not depend on
        # how the bytes were split (a whole message in one feed is held to it too).
        if pos > self.limits.max_header_bytes:
            raise LimitExceeded("attribute section too large")
        if self._end is not None:
            self.leftover = bytes(buf[self._end :])
            del buf[self._end :]

    def next_message(self) -> Message | None:
        """The message once its attribute section is complete, else None (need more data)."""
        if self._end is None:
            return None
        if self._message is None:
            self._message = _parse(bytes(self._buf), self.limits)
        return self._message

    def finish(self) -> None:
        """The peer sent no more bytes: raise if the message is incomplete."""
        if self._end is None:
            raise ProtocolError("message ends before the end-of-attributes tag")


def decode(data: bytes, limits: Limits = Limits()) -> tuple[Message, bytes]:
    """Decode one whole message; returns it and the bytes that follow (document data)."""
    reader = MessageReader(limits)
    reader.feed(data)
    reader.finish()
    message = reader.next_message()
    assert message is not None
    return message, reader.leftover


def _parse(buf: bytes, limits: Limits) -> Message:
    if len(buf) < 9:
        raise ProtocolError("message shorter than its header")
    major, minor, code, request_id = struct.unpack_from(">BBHi", buf, 0)
    message = Message((major, minor), code, request_id)
    group: Group | None = None
    # Open collections, innermost last: (collection, member currently receiving values).
    stack: list[tuple[Collection, Attribute | None]] = []

    for tag, _next, name_bytes, raw in _scan_fields(buf, 8):
        if tag < 0x10:
            if stack:
                raise ProtocolError("group tag inside a collection")
            if tag == GroupTag.END:
                break
            if tag == 0:
                raise ProtocolError("reserved delimiter tag 0x00")
            group = Group(tag)
            message.groups.append(group)
            continue
        if group is None:
            raise ProtocolError("attribute before any group tag")

        if tag == Tag.END_COLLECTION:
            if not stack:
                raise ProtocolError("endCollection without begCollection")
            if name_bytes or raw:
                raise ProtocolError("endCollection with a name or value")
            stack.pop()
            continue
        if tag == Tag.MEMBER_ATTR_NAME and stack:
            if name_bytes:
                raise ProtocolError("memberAttrName with a name")
            if not raw:
                raise ProtocolError("empty member name")
            member = Attribute(raw.decode("utf-8", "surrogateescape"), [])
            collection = stack[-1][0]
            collection.members.append(member)
            stack[-1] = (collection, member)
            continue

        target: Attribute | None
        if stack:
            if name_bytes:
                raise ProtocolError("named attribute inside a collection")
            target = stack[-1][1]
            if target is None:
                raise ProtocolError("collection value without a member name")
        elif name_bytes:
            target = Attribute(name_bytes.decode("utf-8", "surrogateescape"), [])
            group.attributes.append(target)
        else:
            if not group.attributes:
                raise ProtocolError("additional value without an attribute")
            target = group.attributes[-1]

        if tag == Tag.BEG_COLLECTION:
            if raw:
                raise ProtocolError("begCollection with a value")
            if len(stack) >= limits.max_depth:
                raise LimitExceeded("collections nested too deeply")
            collection = Collection()
            target.values.append(Value(Tag.BEG_COLLECTION, collection))
            stack.append((collection, None))
            continue
        target.values.append(Value(tag, decode_value(tag, raw)))
    else:
        raise ProtocolError("message ends before the end-of-attributes tag")
    if stack:
        raise ProtocolError("unterminated collection")
    for each in message.groups:
        _check_values(each.attributes)
    return message


def _check_values(attributes: list[Attribute]) -> None:
    # A work list, not recursion: Limits.max_depth may be set above Python's recursion limit.
    pending = [attributes]
    while pending:
        for attribute in pending.pop():
            if not attribute.values:
                raise ProtocolError(f"attribute {attribute.name!r} without values")
            for value in attribute.values:
                if isinstance(value.value, Collection):
                    pending.append(value.value.members)


def iter_attributes(message: Message, tag: int) -> Iterable[Attribute]:
    """All attributes of every group with ``tag``."""
    for group in message.groups_of(tag):
        yield from group.attributes
