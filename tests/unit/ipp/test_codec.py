"""The sans-IO IPP codec (``ipp/codec.py``): round trips for every RFC 8010 value tag, and refusals.

Round trips go both ways: ``decode(encode(m)) == m`` for messages built from Python
values, and ``encode(decode(b)) == b`` for wire bytes built field by field (any bytes
in strings, dates that are no dates, unknown tags).  A fixed table pins the wire layout
of each value to RFC 8010, so a mistake made the same way in encoder and decoder
still fails.  Real clients' bytes are in ``test_captures.py``.
"""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipp.codec import (
    OUT_OF_BAND,
    Attribute,
    Collection,
    FixedAttribute,
    Group,
    GroupTag,
    IppError,
    LimitExceeded,
    Limits,
    Message,
    MessageReader,
    ProtocolError,
    Range,
    Resolution,
    StringWithLanguage,
    Tag,
    Value,
    decode,
    encode,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies: Python values -----------------------------------------------------------

INT32 = st.integers(-(2**31), 2**31 - 1)
# Any Unicode but lone surrogates: those are how undecodable bytes come back (surrogateescape).
TEXT = st.text(st.characters(codec="utf-8"), max_size=24)
NAMES = st.one_of(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=30),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
)
# dateTime carries deci-seconds and a whole-minute UTC offset under 24 hours.
TIMEZONES = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
DATES = st.builds(
    lambda moment, deci, tz: moment.replace(microsecond=deci * 100000, tzinfo=tz),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.integers(0, 9),
    TIMEZONES,
)

# Tags whose value is a string; memberAttrName is one of them outside a collection.
STRING_TAGS = (
    Tag.TEXT_WITHOUT_LANGUAGE, Tag.NAME_WITHOUT_LANGUAGE, Tag.KEYWORD, Tag.URI, Tag.URI_SCHEME,
    Tag.CHARSET, Tag.NATURAL_LANGUAGE, Tag.MIME_MEDIA_TYPE, Tag.MEMBER_ATTR_NAME,
)
SIMPLE: dict[int, st.SearchStrategy[object]] = {
    Tag.INTEGER: INT32,
    Tag.ENUM: INT32,
    Tag.BOOLEAN: st.booleans(),
    Tag.OCTET_STRING: st.binary(max_size=40),
    Tag.DATE_TIME: DATES,
    Tag.RESOLUTION: st.builds(Resolution, INT32, INT32, st.integers(-128, 127)),
    Tag.RANGE_OF_INTEGER: st.builds(Range, INT32, INT32),
    Tag.TEXT_WITH_LANGUAGE: st.builds(StringWithLanguage, st.sampled_from(["", "en", "de-de", "sv"]), TEXT),
    Tag.NAME_WITH_LANGUAGE: st.builds(StringWithLanguage, st.sampled_from(["", "en", "fr-ca"]), TEXT),
    Tag.EXTENSION: st.binary(max_size=20),
    **{tag: TEXT for tag in STRING_TAGS},
    **{tag: st.none() for tag in OUT_OF_BAND},
}
EVERY_TAG = sorted(SIMPLE) + [Tag.BEG_COLLECTION]


def tagged(tag: int) -> st.SearchStrategy[Value]:
    """A value of ``tag``."""
    return SIMPLE[tag].map(lambda v: Value(tag, v))


def simple_values(exclude: frozenset[int] = frozenset()) -> st.SearchStrategy[Value]:
    """One non-collection value of any tag not in ``exclude``."""
    return st.one_of(*(tagged(tag) for tag in sorted(SIMPLE) if tag not in exclude))


def collections_of(inner: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    """A collection value whose members hold 1-3 values drawn from ``inner``."""
    members = st.lists(st.builds(Attribute, NAMES, st.lists(inner, min_size=1, max_size=3)), max_size=4)
    return st.builds(lambda ms: Value(Tag.BEG_COLLECTION, Collection(ms)), members)


# Inside a collection a memberAttrName field always starts the next member, so a member's
# value can never carry that tag: the wire format has no way to say it.
IN_COLLECTION = st.recursive(simple_values(frozenset({Tag.MEMBER_ATTR_NAME})), collections_of, max_leaves=12)
COLLECTIONS = collections_of(IN_COLLECTION)
VALUES = st.one_of(simple_values(), COLLECTIONS)
ATTRIBUTES = st.builds(Attribute, NAMES, st.lists(VALUES, min_size=1, max_size=4))
# Delimiter tags 0x01-0x0F except end-of-attributes (0x03); 0x0B-0x0F are unassigned but well-formed.
GROUP_TAGS = st.sampled_from([t for t in range(1, 0x10) if t != GroupTag.END])
GROUPS = st.builds(Group, GROUP_TAGS, st.lists(ATTRIBUTES, max_size=5))
MESSAGES = st.builds(
    Message,
    st.tuples(st.integers(0, 255), st.integers(0, 255)),
    st.integers(0, 0xFFFF),
    INT32,
    st.lists(GROUPS, max_size=4),
)


def roundtrip(message: Message) -> Message:
    """``message`` encoded and decoded; the bytes must also come back exactly."""
    wire = encode(message)
    decoded, rest = decode(wire)
    assert rest == b""
    # Byte equality catches what value equality forgives (datetimes compare as instants).
    assert encode(decoded) == wire
    return decoded


def one_attribute(*vals: Value, name: str = "x-test") -> Message:
    return Message((2, 0), 0x000B, 7, [Group(GroupTag.OPERATION, [Attribute(name, list(vals))])])


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag", EVERY_TAG, ids=lambda t: Tag(t).name)
@FAST
@given(data=st.data())
def test_every_value_tag_round_trips(tag: int, data: st.DataObject) -> None:
    """Each tag of RFC 8010, alone and as a 1setOf of that tag, decodes to what was encoded."""
    if tag == Tag.BEG_COLLECTION:
        value = data.draw(COLLECTIONS)
        more = data.draw(st.lists(COLLECTIONS, max_size=2))
    else:
        value = Value(tag, data.draw(SIMPLE[tag]))
        more = [Value(tag, v) for v in data.draw(st.lists(SIMPLE[tag], max_size=3))]
    message = one_attribute(value, *more)
    decoded = roundtrip(message)
    assert decoded == message
    assert [v.tag for v in decoded.groups[0].attributes[0].values] == [tag] * (1 + len(more))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_any_message_round_trips(message: Message) -> None:
    """Mixed 1setOf tags, nested collections, many and repeated groups: all kept, in order."""
    assert roundtrip(message) == message


@FAST
@given(MESSAGES)
def test_fixed_attributes_encode_exactly_as_plain_ones_every_time(message: Message) -> None:
    """The printer's static attributes are encoded once and reused: the bytes must not differ."""
    fixed = Message(message.version, message.code, message.request_id, [
        Group(group.tag, [FixedAttribute.fixed(a) for a in group.attributes]) for group in message.groups])
    assert encode(fixed) == encode(message)
    assert encode(fixed) == encode(message)  # the second time from the kept bytes


@FAST
@given(MESSAGES, st.binary(max_size=300), st.lists(st.integers(1, 64), min_size=1, max_size=200))
def test_reader_fed_in_random_chunks_gives_the_message_and_leaves_the_document(
    message: Message, document: bytes, sizes: list[int]
) -> None:
    """However the bytes are split, the reader hands out the message once, and what follows is the document."""
    stream = encode(message) + document
    reader = MessageReader()
    pos, index = 0, 0
    while not reader.complete:
        assert reader.next_message() is None
        assert pos < len(stream), "the reader wants more than the whole message"
        size = sizes[index % len(sizes)]
        reader.feed(stream[pos : pos + size])
        pos, index = pos + size, index + 1
    assert reader.next_message() == message
    assert reader.header == stream[:8]
    assert reader.leftover + stream[pos:] == document
    with pytest.raises(IppError):
        reader.feed(b"more")  # document data goes to whoever streams it on, not to the reader


def test_attribute_order_and_repeated_groups_are_kept() -> None:
    """Two job groups (as in a Get-Jobs response), names out of alphabetical order, a name twice."""
    groups = [
        Group(GroupTag.OPERATION, [
            Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
            Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"),
        ]),
        Group(GroupTag.JOB, [Attribute.of("job-id", Tag.INTEGER, 2), Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE,
                                                                                  "b")]),
        Group(GroupTag.JOB, [Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "a"),
                             Attribute.of("job-id", Tag.INTEGER, 1), Attribute.of("job-id", Tag.INTEGER, 3)]),
        Group(GroupTag.OPERATION, []),
    ]
    message = Message((1, 1), 0, 42, groups)
    decoded = roundtrip(message)
    assert [g.tag for g in decoded.groups] == [GroupTag.OPERATION, GroupTag.JOB, GroupTag.JOB, GroupTag.OPERATION]
    assert [a.name for a in decoded.groups[2].attributes] == ["job-name", "job-id", "job-id"]
    assert [a.value for a in next(decoded.groups_of(GroupTag.JOB)).attributes] == [2, "b"]
    assert decoded == message


def test_collections_nest_several_levels_and_hold_1setof_members() -> None:
    """media-col inside a 1setOf collection inside a collection, 5 levels down, with mixed member tags."""
    leaf = Collection([Attribute("x-dimension", [Value(Tag.INTEGER, 21000)]),
                       Attribute("y-dimension", [Value(Tag.INTEGER, 29700)])])
    level = Value(Tag.BEG_COLLECTION, leaf)
    for depth in range(4):
        level = Value(Tag.BEG_COLLECTION, Collection([
            Attribute(f"level-{depth}", [level, Value(Tag.BEG_COLLECTION, Collection())]),
            Attribute("mixed", [Value(Tag.KEYWORD, "auto"), Value(Tag.INTEGER, depth), Value(Tag.NO_VALUE)]),
        ]))
    decoded = roundtrip(one_attribute(level, name="media-col"))
    inner = decoded.groups[0].attributes[0].value
    for depth in reversed(range(4)):
        assert isinstance(inner, Collection)
        mixed = inner.get("mixed")
        assert mixed is not None and mixed.plain() == ["auto", depth, None]
        member = inner.get(f"level-{depth}")
        assert member is not None and member.values[1].value == Collection()
        inner = member.value
    assert inner == leaf


@pytest.mark.parametrize("tag", sorted(OUT_OF_BAND), ids=lambda t: f"0x{t:02x}")
def test_out_of_band_values_have_no_value_bytes(tag: int) -> None:
    """unsupported, unknown, no-value, not-settable, delete-attribute, admin-define: tag, name, length 0."""
    wire = encode(one_attribute(Value(tag), name="media"))
    assert wire[8:] == bytes([GroupTag.OPERATION, tag]) + b"\x00\x05media\x00\x00" + bytes([GroupTag.END])
    assert roundtrip(one_attribute(Value(tag), name="media")).groups[0].attributes[0].values == [Value(tag, None)]


def test_extension_tag_keeps_its_value_bytes() -> None:
    """Tag 0x7F (and tags RFC 8010 does not assign) come back as the opaque bytes that were sent."""
    raw = struct.pack(">i", 0x40000001) + b"\x00\xffopaque"
    for tag in (Tag.EXTENSION, 0x11, 0x4B, 0x7E, 0xA0):
        decoded = roundtrip(one_attribute(Value(tag, raw)))
        assert decoded.groups[0].attributes[0].values == [Value(tag, raw)]


def test_member_attr_name_as_a_value() -> None:
    """Outside a collection memberAttrName is an ordinary string value (as in media-col-ready listings)."""
    message = one_attribute(Value(Tag.MEMBER_ATTR_NAME, "media-size"), Value(Tag.KEYWORD, "media-source"))
    assert roundtrip(message) == message


# -- wire layout (RFC 8010 §3.1.4-§3.1.6, §3.9) ------------------------------------------------

LAYOUT = [
    (Value(Tag.INTEGER, -2), b"\xff\xff\xff\xfe"),
    (Value(Tag.ENUM, 3), b"\x00\x00\x00\x03"),
    (Value(Tag.BOOLEAN, True), b"\x01"),
    (Value(Tag.BOOLEAN, False), b"\x00"),
    (Value(Tag.OCTET_STRING, b"\x00pw"), b"\x00pw"),
    # RFC 2579 DateAndTime: year(2) month day hour min sec deci-sec, direction, hours, minutes from UTC.
    (Value(Tag.DATE_TIME, dt.datetime(2026, 1, 2, 3, 4, 5, 600000, dt.timezone(-dt.timedelta(hours=5, minutes=30)))),
     b"\x07\xea\x01\x02\x03\x04\x05\x06-\x05\x1e"),
    (Value(Tag.RESOLUTION, Resolution(600, 300, 3)), b"\x00\x00\x02\x58\x00\x00\x01\x2c\x03"),
    (Value(Tag.RANGE_OF_INTEGER, Range(1, 10)), b"\x00\x00\x00\x01\x00\x00\x00\x0a"),
    (Value(Tag.TEXT_WITH_LANGUAGE, StringWithLanguage("de", "Grüße")), b"\x00\x02de\x00\x07Gr\xc3\xbc\xc3\x9fe"),
    (Value(Tag.NAME_WITH_LANGUAGE, StringWithLanguage("", "x")), b"\x00\x00\x00\x01x"),
    (Value(Tag.NAME_WITHOUT_LANGUAGE, "Grüße"), b"Gr\xc3\xbc\xc3\x9fe"),
    (Value(Tag.URI, "ipp://h/ipp/print"), b"ipp://h/ipp/print"),
]


@pytest.mark.parametrize(("value", "field"), LAYOUT, ids=lambda v: Tag(v.tag).name if isinstance(v, Value) else None)
def test_values_have_the_rfc_8010_wire_layout(value: Value, field: bytes) -> None:
    wire = encode(one_attribute(value, name="n"))
    expected = bytes([value.tag]) + b"\x00\x01n" + struct.pack(">H", len(field)) + field
    assert wire == b"\x02\x00\x00\x0b\x00\x00\x00\x07" + bytes([GroupTag.OPERATION]) + expected + b"\x03"
    assert decode(wire)[0] == one_attribute(value, name="n")


def test_collection_wire_layout() -> None:
    """RFC 8010 §3.1.6: begCollection with the name, memberAttrName fields, endCollection, nameless values."""
    size = Collection([Attribute("x", [Value(Tag.INTEGER, 1), Value(Tag.INTEGER, 2)])])
    wire = encode(one_attribute(Value(Tag.BEG_COLLECTION, size), name="c"))
    assert wire[9:-1] == (
        b"\x34\x00\x01c\x00\x00"
        b"\x4a\x00\x00\x00\x01x"
        b"\x21\x00\x00\x00\x04\x00\x00\x00\x01"
        b"\x21\x00\x00\x00\x04\x00\x00\x00\x02"
        b"\x37\x00\x00\x00\x00"
    )


# -- bytes first: encode(decode(b)) == b ---------------------------------------------------------


def _with_language(lang: bytes, text: bytes) -> bytes:
    return struct.pack(">H", len(lang)) + lang + struct.pack(">H", len(text)) + text


# Raw value fields the decoder must accept and give back unchanged: any bytes in strings
# (invalid UTF-8 too), any 11 bytes as a dateTime, any signed units in a resolution.
RAW_FIELDS: st.SearchStrategy[tuple[int, bytes]] = st.one_of(
    st.tuples(st.sampled_from([Tag.INTEGER, Tag.ENUM]), st.binary(min_size=4, max_size=4)),
    st.tuples(st.just(Tag.BOOLEAN), st.sampled_from([b"\x00", b"\x01"])),
    st.tuples(st.just(Tag.DATE_TIME), st.binary(min_size=11, max_size=11)),
    st.tuples(st.just(Tag.RESOLUTION), st.binary(min_size=9, max_size=9)),
    st.tuples(st.just(Tag.RANGE_OF_INTEGER), st.binary(min_size=8, max_size=8)),
    st.tuples(st.sampled_from([Tag.TEXT_WITH_LANGUAGE, Tag.NAME_WITH_LANGUAGE]),
              st.builds(_with_language, st.binary(max_size=8), st.binary(max_size=20))),
    st.tuples(st.sampled_from([*STRING_TAGS, Tag.OCTET_STRING]), st.binary(max_size=30)),
    st.tuples(st.sampled_from(sorted(OUT_OF_BAND)), st.just(b"")),
    st.tuples(st.sampled_from([Tag.EXTENSION, 0x11, 0x14, 0x20, 0x38, 0x40, 0x4B, 0x80, 0xFF]), st.binary(max_size=20)),
)


def _field(tag: int, name: bytes, value: bytes) -> bytes:
    return bytes([tag]) + struct.pack(">H", len(name)) + name + struct.pack(">H", len(value)) + value


@st.composite
def wire_messages(draw: st.DrawFn) -> bytes:
    """A well-formed message assembled field by field, with raw value bytes."""
    out = [draw(st.binary(min_size=8, max_size=8))]
    for group in draw(st.lists(GROUP_TAGS, max_size=3)):
        out.append(bytes([group]))
        for _ in range(draw(st.integers(0, 4))):
            name = draw(st.binary(min_size=1, max_size=12))
            for index in range(draw(st.integers(1, 3))):
                this_name = name if index == 0 else b""
                if draw(st.integers(0, 5)) == 0:
                    tag, raw = draw(RAW_FIELDS)
                    out.append(_field(Tag.BEG_COLLECTION, this_name, b""))
                    out.append(_field(Tag.MEMBER_ATTR_NAME, b"", draw(st.binary(min_size=1, max_size=8))))
                    out.append(_field(tag if tag != Tag.MEMBER_ATTR_NAME else Tag.KEYWORD, b"", raw))
                    out.append(_field(Tag.END_COLLECTION, b"", b""))
                else:
                    tag, raw = draw(RAW_FIELDS)
                    out.append(_field(tag, this_name, raw))
    out.append(bytes([GroupTag.END]))
    return b"".join(out)


@settings(max_examples=200, deadline=None)
@given(wire_messages(), st.binary(max_size=50))
def test_any_well_formed_bytes_encode_back_exactly(wire: bytes, document: bytes) -> None:
    message, rest = decode(wire + document)
    assert rest == document
    assert encode(message) == wire


# -- refusals -----------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES.filter(lambda m: len(encode(m)) < 1500))
def test_a_message_cut_at_any_byte_never_decodes(message: Message) -> None:
    """Every proper prefix raises ProtocolError (nothing else), and a reader fed it waits for more."""
    wire = encode(message)
    for cut in range(len(wire)):
        with pytest.raises(ProtocolError):
            decode(wire[:cut])
        reader = MessageReader()
        reader.feed(wire[:cut])
        assert reader.next_message() is None and not reader.complete


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_garbage_raises_only_protocol_error(garbage: bytes) -> None:
    try:
        message, rest = decode(garbage)
    except ProtocolError:
        return
    assert encode(message) + rest == garbage


@settings(max_examples=300, deadline=None)
@given(wire_messages(), st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=8)), min_size=1,
                                 max_size=8))
def test_mutated_messages_decode_exactly_or_raise_protocol_error(wire: bytes, edits: list[tuple[int, bytes]]) -> None:
    """The CUPS fuzzipp method on the codec alone: overwrite runs of bytes anywhere, including lengths and tags."""
    mutated = bytearray(wire)
    for at, run in edits:
        start = at % len(mutated)
        mutated[start : start + len(run)] = run[: len(mutated) - start]
    data = bytes(mutated)
    try:
        message, rest = decode(data)
    except ProtocolError:
        return
    assert encode(message) + rest == data


@pytest.mark.parametrize(
    ("attribute_section", "reason"),
    [
        (b"\x01\x21\x00\x01n\x00\x03abc\x03", "integer of 3 octets"),
        (b"\x01\x22\x00\x01n\x00\x01\x02\x03", "boolean 2"),
        (b"\x01\x13\x00\x01n\x00\x01x\x03", "out-of-band with a value"),
        (b"\x01\x31\x00\x01n\x00\x01x\x03", "dateTime of 1 octet"),
        (b"\x01\x35\x00\x01n\x00\x04\x00\x09ab\x03", "withLanguage length past the end"),
        (b"\x21\x00\x01n\x00\x04\x00\x00\x00\x01\x03", "attribute before any group"),
        (b"\x01\x21\x00\x00\x00\x04\x00\x00\x00\x01\x03", "additional value without an attribute"),
        (b"\x01\x37\x00\x00\x00\x00\x03", "endCollection alone"),
        (b"\x01\x34\x00\x01c\x00\x00\x03", "unterminated collection"),
        (b"\x01\x34\x00\x01c\x00\x00\x21\x00\x00\x00\x04\x00\x00\x00\x01\x37\x00\x00\x00\x00\x03",
         "collection value without a member name"),
        (b"\x01\x34\x00\x01c\x00\x00\x4a\x00\x00\x00\x01m\x37\x00\x00\x00\x00\x03", "member without values"),
        (b"\x01\x34\x00\x01c\x00\x00\x02\x37\x00\x00\x00\x00\x03", "group tag inside a collection"),
        (b"\x00\x03", "reserved delimiter 0x00"),
        (b"", "no end-of-attributes tag"),
    ],
)
def test_malformed_attribute_sections_are_protocol_errors(attribute_section: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError):
        decode(b"\x02\x00\x00\x0b\x00\x00\x00\x01" + attribute_section)


def test_finish_before_the_end_tag_is_a_protocol_error() -> None:
    reader = MessageReader()
    reader.feed(encode(one_attribute(Value(Tag.INTEGER, 1)))[:-1])
    with pytest.raises(ProtocolError):
        reader.finish()


# -- limits -------------------------------------------------------------------------------------


def nested(depth: int) -> Message:
    """One attribute whose value is ``depth`` collections, one inside the next."""
    value = Value(Tag.INTEGER, 1)
    for _ in range(depth):
        value = Value(Tag.BEG_COLLECTION, Collection([Attribute("m", [value])]))
    return one_attribute(value, name="deep")


def test_max_depth() -> None:
    assert decode(encode(nested(5)), Limits(max_depth=5))[0] == nested(5)
    with pytest.raises(LimitExceeded):
        decode(encode(nested(6)), Limits(max_depth=5))
    # CUPS fuzzipp's 1000-deep collections, written by hand (the encoder recurses per level).
    member = b"\x4a\x00\x00\x00\x01m"
    deep = (b"\x02\x00\x00\x02\x00\x00\x00\x01\x02\x34\x00\x01c\x00\x00"
            + (member + b"\x34\x00\x00\x00\x00") * 999 + member + b"\x21\x00\x00\x00\x04\x00\x00\x00\x01"
            + b"\x37\x00\x00\x00\x00" * 1000 + b"\x03")
    assert decode(deep, Limits(max_depth=1000))[0].groups[0].attributes[0].name == "c"
    with pytest.raises(LimitExceeded):
        decode(deep)


def test_max_attributes() -> None:
    """The limit counts value fields; a stream of them is refused before its end arrives."""
    message = Message((2, 0), 2, 1, [Group(GroupTag.JOB, [Attribute.of(f"a{i}", Tag.INTEGER, i) for i in range(10)])])
    wire = encode(message)
    assert decode(wire, Limits(max_attributes=10))[0] == message
    with pytest.raises(LimitExceeded):
        decode(wire, Limits(max_attributes=9))
    reader = MessageReader(Limits(max_attributes=100))
    field = b"\x21\x00\x01n\x00\x04\x00\x00\x00\x01"
    with pytest.raises(LimitExceeded):
        reader.feed(wire[:9])
        for _ in range(101):
            reader.feed(field)


@pytest.mark.parametrize("chunk", [None, 1, 7, 100])
def test_max_header_bytes_however_the_bytes_arrive(chunk: int | None) -> None:
    """An attribute section of exactly the limit is read; one byte more is refused, whole or in pieces."""
    message = one_attribute(Value(Tag.TEXT_WITHOUT_LANGUAGE, "x" * 500))
    wire = encode(message)

    def read(limit: int) -> Message | None:
        reader = MessageReader(Limits(max_header_bytes=limit))
        step = chunk or len(wire)
        for start in range(0, len(wire), step):
            reader.feed(wire[start : start + step])
        return reader.next_message()

    assert read(len(wire)) == message
    with pytest.raises(LimitExceeded):
        read(len(wire) - 1)


def test_max_header_bytes_refuses_an_endless_attribute_section() -> None:
    reader = MessageReader(Limits(max_header_bytes=4096))
    reader.feed(b"\x02\x00\x00\x02\x00\x00\x00\x01\x02")
    field = b"\x44\x00\x04name\x00\x05value"
    with pytest.raises(LimitExceeded):
        for _ in range(1000):
            reader.feed(field)
    assert not reader.complete


def test_limit_exceeded_is_a_protocol_error() -> None:
    """Callers that answer ProtocolError with 400 also catch the limits (and may answer 413 first)."""
    assert issubclass(LimitExceeded, ProtocolError)
