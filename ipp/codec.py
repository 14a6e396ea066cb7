"""Sans-IO IPP/2.x message codec (RFC 8010): bytes in, messages out, and back.

No sockets here (the h11 model).  :class:`MessageReader` takes bytes as they arrive
and hands out one :class:`Message` once the attribute section is complete; whatever
follows the end-of-attributes tag is document data, which the caller streams on.
:func:`encode` turns a message back into bytes.  Every value tag of RFC 8010 is
handled; unknown tags and the extension tag keep their value bytes as they are, so
``encode(decode(b)) == b`` for any message this module accepts.

This module is the codec's public surface: the types live in :mod:`ipp.messages`,
decoding in :mod:`ipp.reader` and encoding in :mod:`ipp.writer`.
"""

from __future__ import annotations

from ipp.messages import (
    ASCII_TAGS,
    NAME_TAGS,
    OUT_OF_BAND,
    STRING_TAGS,
    TEXT_TAGS,
    UTF8_TAGS,
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
    iter_attributes,
)
from ipp.reader import Limits, MessageReader, decode, decode_value
from ipp.writer import FixedAttribute, encode, encode_value

__all__ = [
    "ASCII_TAGS",
    "NAME_TAGS",
    "OUT_OF_BAND",
    "STRING_TAGS",
    "TEXT_TAGS",
    "UTF8_TAGS",
    "Attribute",
    "Collection",
    "FixedAttribute",
    "Group",
    "GroupTag",
    "IppError",
    "LimitExceeded",
    "Limits",
    "Message",
    "MessageReader",
    "ProtocolError",
    "Range",
    "Resolution",
    "StringWithLanguage",
    "Tag",
    "Value",
    "decode",
    "decode_value",
    "encode",
    "encode_value",
    "iter_attributes",
]
