"""Encoding IPP messages to bytes (RFC 8010), and attributes whose wire form is kept once made."""

from __future__ import annotations

import datetime as dt
import struct

from ipp.messages import (
    OUT_OF_BAND,
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


class FixedAttribute(Attribute):
    """An attribute that is never changed after it is made (a printer's static attributes).

    Its wire form is encoded the first time it is needed and reused by every later
    :func:`encode`; changing its values afterwards would not be seen on the wire.
    """

    _wire: bytes | None = None

    @classmethod
    def fixed(cls, attribute: Attribute) -> FixedAttribute:
        """A fixed copy of ``attribute`` (the values list is copied; the values are immutable)."""
        return cls(attribute.name, list(attribute.values))

    @property
    def wire(self) -> bytes:
        """The encoded attribute, made on first use and kept."""
        if self._wire is None:
            out: list[bytes] = []
            _encode_values(self.name, self.values, out)
            self._wire = b"".join(out)
        return self._wire


_U16 = struct.Struct(">H")


def encode_date(value: dt.datetime) -> bytes:
    """The 11-octet dateTime of RFC 2579 (deci-seconds and a UTC offset in whole minutes)."""
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
        return encode_date(value)
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
