"""Decoding IPP messages (RFC 8010) incrementally, as their bytes arrive (sans-IO)."""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from ipp.messages import (
    OUT_OF_BAND,
    STRING_TAGS,
    Attribute,
    Collection,
    Group,
    GroupTag,
    IppError,
    LimitExceeded,
    Message,
    ProtocolError,
    Range,
    Resolution,
    StringWithLanguage,
    Tag,
    Value,
)
from ipp.writer import encode_date

_U16 = struct.Struct(">H")


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
    return value if encode_date(value) == raw else raw


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
        """Take the next bytes; raises :class:`LimitExceeded` past the limits, :class:`IppError` once complete."""
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
        """Whether the attribute section has ended."""
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
