"""IPP messages as Python values (RFC 8010, RFC 8011): tags, value types, attributes, groups.

The types :mod:`ipp.reader` decodes into and :mod:`ipp.writer` encodes from; import them
from :mod:`ipp.codec`.
"""

from __future__ import annotations

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
        """The first member named ``name``, or None."""
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
        """The tag of the first value (the only one for most attributes)."""
        return self.values[0].tag

    @property
    def value(self) -> object:
        """The first value (the only one for most attributes)."""
        return self.values[0].value

    def plain(self) -> list[object]:
        """Every value, without tags."""
        return [v.value for v in self.values]


@dataclass
class Group:
    """An attribute group (operation, job, printer, unsupported, ...)."""

    tag: int
    attributes: list[Attribute] = field(default_factory=list)

    def get(self, name: str) -> Attribute | None:
        """The first attribute named ``name``, or None."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None

    def add(self, attribute: Attribute) -> None:
        """Append ``attribute`` to the group."""
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
        """The first group with ``tag``, or None."""
        for group in self.groups:
            if group.tag == tag:
                return group
        return None

    def groups_of(self, tag: int) -> Iterator[Group]:
        """Every group with ``tag``, in order."""
        return (g for g in self.groups if g.tag == tag)


def iter_attributes(message: Message, tag: int) -> Iterable[Attribute]:
    """All attributes of every group with ``tag``."""
    for group in message.groups_of(tag):
        yield from group.attributes
