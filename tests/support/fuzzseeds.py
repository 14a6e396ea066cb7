"""Structured seeds for the IPP fuzzer: requests at the edges of RFC 8010 that mutation rarely finds."""

from __future__ import annotations

import functools
import gzip
import struct
from collections.abc import Iterable

from ipp.codec import (
    Tag,
    encode,
)
from ipp.status import Operation
from tests.support.fuzzipp import DOCUMENT, print_job

_U16 = struct.Struct(">H")


def field_bytes(tag: int, name: bytes, value: bytes) -> bytes:
    """One raw attribute field; lengths are taken from the data (use :func:`raw_field` to lie)."""
    return bytes([tag]) + _U16.pack(len(name)) + name + _U16.pack(len(value)) + value


def raw_field(tag: int, name_len: int, name: bytes, value_len: int, value: bytes) -> bytes:
    return bytes([tag]) + _U16.pack(name_len) + name + _U16.pack(value_len) + value


def header(code: int = Operation.PRINT_JOB, request_id: int = 1, version: tuple[int, int] = (2, 0)) -> bytes:
    return struct.pack(">BBHI", version[0], version[1], code, request_id & 0xFFFFFFFF)


def op_fields(uri: str, user: bytes = b"seed") -> bytes:
    """The operation group tag and the four attributes every request starts with."""
    return b"\x01" + b"".join([
        field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-8"),
        field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", b"en"),
        field_bytes(Tag.URI, b"printer-uri", uri.encode()),
        field_bytes(Tag.NAME_WITHOUT_LANGUAGE, b"requesting-user-name", user),
    ])


def _pj(uri: str, *fields: bytes, job: Iterable[bytes] = (), document: bytes = DOCUMENT,
        code: int = Operation.PRINT_JOB) -> bytes:
    job = list(job)
    job_group = (b"\x02" + b"".join(job)) if job else b""
    return header(code) + op_fields(uri) + b"".join(fields) + job_group + b"\x03" + document


def _int(value: int) -> bytes:
    return struct.pack(">i", value)


def _date_bytes(year: int = 2026, month: int = 11, day: int = 28, hour: int = 12, minute: int = 0,
                second: int = 0, deci: int = 0, sign: bytes = b"+", tzh: int = 0, tzm: int = 0) -> bytes:
    return struct.pack(">HBBBBBB", year, month, day, hour, minute, second, deci) + sign + bytes([tzh, tzm])


def _with_lang(lang: bytes, text: bytes) -> bytes:
    return _U16.pack(len(lang)) + lang + _U16.pack(len(text)) + text


def _nested(depth: int, close: bool = True) -> bytes:
    """A job attribute ``deep`` whose collection nests ``depth`` levels."""
    out = [field_bytes(Tag.BEG_COLLECTION, b"deep", b"")]
    for _ in range(depth - 1):
        out.append(field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"inner"))
        out.append(field_bytes(Tag.BEG_COLLECTION, b"", b""))
    if close:
        out.extend(field_bytes(Tag.END_COLLECTION, b"", b"") for _ in range(depth))
    return b"".join(out)


def _media_col(member: bytes, tag: int, value: bytes) -> bytes:
    return b"".join([
        field_bytes(Tag.BEG_COLLECTION, b"media-col", b""),
        field_bytes(Tag.MEMBER_ATTR_NAME, b"", member),
        field_bytes(tag, b"", value),
        field_bytes(Tag.END_COLLECTION, b"", b""),
    ])


def _collection_value() -> bytes:
    """The value part of a member holding a one-member collection (begin, member, value, end)."""
    return b"".join([
        field_bytes(Tag.BEG_COLLECTION, b"", b""),
        field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"x"),
        field_bytes(Tag.INTEGER, b"", _int(1)),
        field_bytes(Tag.END_COLLECTION, b"", b""),
    ])


@functools.cache
def _bomb() -> bytes:
    """64 MiB of a "PDF" in about 64 KiB of gzip."""
    return gzip.compress(b"%PDF-1.4\n" + bytes(64 * 2**20), 9, mtime=0)


def edge_seeds(uri: str) -> list[tuple[str, bytes]]:
    """Hand-made malformed and hostile requests, each named by what it tries."""
    u = uri.encode()
    seeds: list[tuple[str, bytes]] = []

    def add(name: str, body: bytes) -> None:
        seeds.append((name, body))

    base = encode(print_job(uri)) + DOCUMENT
    # Framing of the message itself.
    add("empty body", b"")
    add("7-byte body", header()[:7])
    add("header only", header())
    add("header and end tag", header() + b"\x03")
    add("no end-of-attributes tag", header() + op_fields(uri))
    add("request-id 0", header(request_id=0) + op_fields(uri) + b"\x03" + DOCUMENT)
    add("request-id -1", header(request_id=-1) + op_fields(uri) + b"\x03" + DOCUMENT)
    add("version 0.0", header(version=(0, 0)) + op_fields(uri) + b"\x03" + DOCUMENT)
    add("version 255.255", header(version=(255, 255)) + op_fields(uri) + b"\x03")
    for code in (0x0000, 0x0001, 0x0003, 0x0012, 0x4001, 0xFFFF):
        add(f"operation 0x{code:04x}", header(code) + op_fields(uri) + b"\x03" + DOCUMENT)
    for group in (0x00, 0x05, 0x07, 0x0A, 0x0F):
        add(f"group tag 0x{group:02x}", header() + op_fields(uri) + bytes([group])
            + field_bytes(Tag.INTEGER, b"copies", _int(1)) + b"\x03" + DOCUMENT)
    add("two operation groups", header() + op_fields(uri) + op_fields(uri) + b"\x03" + DOCUMENT)
    add("attribute before any group", header() + field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-8")
        + b"\x03")
    add("additional value first", header() + b"\x01" + field_bytes(Tag.CHARSET, b"", b"utf-8") + b"\x03")
    add("attributes-charset missing", header() + b"\x01" + field_bytes(Tag.URI, b"printer-uri", u) + b"\x03")
    add("attributes in the wrong order", header() + b"\x01"
        + field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", b"en")
        + field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-8") + field_bytes(Tag.URI, b"printer-uri", u)
        + b"\x03")
    add("charset utf-16", header() + b"\x01" + field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-16")
        + field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", b"en")
        + field_bytes(Tag.URI, b"printer-uri", u) + b"\x03")
    add("printer-uri missing", header() + b"\x01" + field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-8")
        + field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", b"en") + b"\x03" + DOCUMENT)
    # Lengths that point past the end, or nowhere.
    add("name length past the end", header() + op_fields(uri) + raw_field(Tag.KEYWORD, 0xFFFF, b"x", 1, b"y"))
    add("value length past the end", header() + op_fields(uri) + raw_field(Tag.KEYWORD, 1, b"x", 0xFFFF, b"y"))
    add("value length past the end, then end tag", header() + op_fields(uri)
        + raw_field(Tag.INTEGER, 6, b"copies", 0x8000, _int(1)) + b"\x03" + DOCUMENT)
    add("name length cut", header() + op_fields(uri) + bytes([Tag.KEYWORD, 0x00]))
    add("value length cut", header() + op_fields(uri) + bytes([Tag.KEYWORD, 0x00, 0x01]) + b"x" + b"\x00")
    for cut in (9, 30, 100, len(base) // 2, len(base) - len(DOCUMENT) - 1):
        add(f"Print-Job truncated at {cut}", base[:cut])
    # Value tags: the extension tag and tags nobody defined.
    add("tag 0x7F extension", _pj(uri, field_bytes(0x7F, b"x-extension", b"\x40\x00\x00\x00" + b"payload")))
    add("tag 0x7F empty", _pj(uri, field_bytes(0x7F, b"x-extension", b"")))
    add("tag 0x7F in a collection", _pj(uri, job=[
        field_bytes(Tag.BEG_COLLECTION, b"media-col", b""), field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"media-size"),
        field_bytes(0x7F, b"", b"\x7f\xff\xff\xff"), field_bytes(Tag.END_COLLECTION, b"", b"")]))
    for tag in (0x11, 0x14, 0x20, 0x24, 0x2F, 0x38, 0x40, 0x43, 0x4B, 0x5F, 0x60, 0x7E, 0x80, 0xFF):
        add(f"unknown value tag 0x{tag:02x}", _pj(uri, field_bytes(tag, b"x-unknown", b"abc")))
    # 0-length and wrong-length values for every tag.
    for tag in (Tag.INTEGER, Tag.BOOLEAN, Tag.ENUM, Tag.DATE_TIME, Tag.RESOLUTION, Tag.RANGE_OF_INTEGER,
                Tag.TEXT_WITH_LANGUAGE, Tag.NAME_WITH_LANGUAGE, Tag.TEXT_WITHOUT_LANGUAGE,
                Tag.NAME_WITHOUT_LANGUAGE, Tag.KEYWORD, Tag.URI, Tag.URI_SCHEME, Tag.CHARSET,
                Tag.NATURAL_LANGUAGE, Tag.MIME_MEDIA_TYPE, Tag.OCTET_STRING):
        add(f"0-length {tag.name}", _pj(uri, field_bytes(tag, b"job-name", b""), job=[
            field_bytes(tag, b"copies", b""), field_bytes(tag, b"media", b"")]))
        add(f"5-byte {tag.name}", _pj(uri, job=[field_bytes(tag, b"copies", b"\x00\x00\x00\x00\x01")]))
    add("0-length attributes-charset", header() + b"\x01" + field_bytes(Tag.CHARSET, b"attributes-charset", b"")
        + field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", b"") + b"\x03")
    add("0-length printer-uri", header() + b"\x01" + field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-8")
        + field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", b"en")
        + field_bytes(Tag.URI, b"printer-uri", b"") + b"\x03" + DOCUMENT)
    add("0-length name", _pj(uri, field_bytes(Tag.KEYWORD, b"", b"orphan")))
    add("0-length document", _pj(uri, document=b""))
    for tag in (Tag.NO_VALUE, Tag.UNKNOWN, Tag.UNSUPPORTED, Tag.DELETE_ATTRIBUTE):
        add(f"out-of-band {tag.name} with a value", _pj(uri, field_bytes(tag, b"job-name", b"abcd")))
        add(f"out-of-band {tag.name} for every checked attribute", _pj(
            uri, *(field_bytes(tag, name, b"") for name in (
                b"job-name", b"document-format", b"compression", b"job-k-octets", b"ipp-attribute-fidelity",
                b"document-name", b"job-originating-host-name")),
            job=[field_bytes(tag, n, b"") for n in (b"copies", b"media", b"media-col", b"page-ranges")]))
    add("boolean 2", _pj(uri, field_bytes(Tag.BOOLEAN, b"ipp-attribute-fidelity", b"\x02")))
    # Many attributes and values.
    for count in (10_000, 100_000):
        add(f"{count} attributes", _pj(uri, job=(
            field_bytes(Tag.INTEGER, f"x-attr-{n}".encode(), _int(n)) for n in range(count))))
        add(f"{count} values of one attribute", _pj(uri, field_bytes(Tag.KEYWORD, b"requested-attributes", b"all"),
                                                    *(field_bytes(Tag.KEYWORD, b"", b"job-id") for _ in range(count)),
                                                    code=Operation.GET_JOBS, document=b""))
    ranges = [field_bytes(Tag.RANGE_OF_INTEGER, b"", _int(n) + _int(n)) for n in range(3, 10_003)]
    add("10000 page-ranges", _pj(uri, job=[field_bytes(Tag.RANGE_OF_INTEGER, b"page-ranges", _int(1) + _int(2)),
                                           *ranges]))
    add("10000 requested-attributes", header(Operation.GET_PRINTER_ATTRIBUTES) + op_fields(uri)
        + field_bytes(Tag.KEYWORD, b"requested-attributes", b"all")
        + b"".join(field_bytes(Tag.KEYWORD, b"", f"x-{n}".encode()) for n in range(10_000)) + b"\x03")
    # Collections.
    for depth in (31, 32, 33, 1000):
        add(f"collections {depth} deep", _pj(uri, job=[_nested(depth)]))
    add("collections 1000 deep, never closed", _pj(uri, job=[_nested(1000, close=False)]))
    add("endCollection without begCollection", _pj(uri, job=[field_bytes(Tag.END_COLLECTION, b"", b"")]))
    add("memberAttrName outside a collection", _pj(uri, job=[field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"x")]))
    add("collection value without a member name", _pj(uri, job=[
        field_bytes(Tag.BEG_COLLECTION, b"media-col", b""), field_bytes(Tag.INTEGER, b"", _int(1)),
        field_bytes(Tag.END_COLLECTION, b"", b"")]))
    add("named attribute inside a collection", _pj(uri, job=[
        field_bytes(Tag.BEG_COLLECTION, b"media-col", b""), field_bytes(Tag.INTEGER, b"copies", _int(1)),
        field_bytes(Tag.END_COLLECTION, b"", b"")]))
    add("group tag inside a collection", _pj(uri, job=[field_bytes(Tag.BEG_COLLECTION, b"media-col", b""), b"\x02"]))
    add("begCollection with a value", _pj(uri, job=[field_bytes(Tag.BEG_COLLECTION, b"media-col", b"xx"),
                                                    field_bytes(Tag.END_COLLECTION, b"", b"")]))
    add("collection member without values", _pj(uri, job=[
        field_bytes(Tag.BEG_COLLECTION, b"media-col", b""), field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"media-type"),
        field_bytes(Tag.END_COLLECTION, b"", b"")]))
    for member in (b"media-size", b"media-size-name", b"media-source", b"media-type", b"media-top-margin",
                   b"media-color"):
        add(f"media-col {member.decode()} as a collection", _pj(uri, job=[
            field_bytes(Tag.BEG_COLLECTION, b"media-col", b""), field_bytes(Tag.MEMBER_ATTR_NAME, b"", member),
            _collection_value(), field_bytes(Tag.END_COLLECTION, b"", b"")]))
        add(f"media-col {member.decode()} as octets", _pj(uri, job=[_media_col(member, Tag.OCTET_STRING, b"\xff")]))
        add(f"media-col {member.decode()} out of band", _pj(uri, job=[_media_col(member, Tag.NO_VALUE, b"")]))
    add("media-size members as collections", _pj(uri, job=[
        field_bytes(Tag.BEG_COLLECTION, b"media-col", b""), field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"media-size"),
        field_bytes(Tag.BEG_COLLECTION, b"", b""), field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"x-dimension"),
        _collection_value(), field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"y-dimension"), _collection_value(),
        field_bytes(Tag.END_COLLECTION, b"", b""), field_bytes(Tag.END_COLLECTION, b"", b"")]))
    for name in (b"copies", b"sides", b"media", b"print-quality", b"printer-resolution", b"page-ranges",
                 b"finishings", b"job-priority", b"number-up"):
        add(f"{name.decode()} as a collection", _pj(uri, job=[
            field_bytes(Tag.BEG_COLLECTION, name, b""), field_bytes(Tag.MEMBER_ATTR_NAME, b"", b"x"),
            field_bytes(Tag.INTEGER, b"", _int(1)), field_bytes(Tag.END_COLLECTION, b"", b"")]))
    # Long names and values.
    add("65535-byte name", _pj(uri, field_bytes(Tag.KEYWORD, b"n" * 0xFFFF, b"x")))
    add("65535-byte job-name", _pj(uri, field_bytes(Tag.NAME_WITHOUT_LANGUAGE, b"job-name", b"j" * 0xFFFF)))
    add("65535-byte text", _pj(uri, job=[field_bytes(Tag.TEXT_WITHOUT_LANGUAGE, b"job-message-to-operator",
                                                     b"t" * 0xFFFF)]))
    add("65535-byte printer-uri", header() + b"\x01" + field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-8")
        + field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", b"en")
        + field_bytes(Tag.URI, b"printer-uri", b"ipp://" + b"h" * 0xFFF0) + b"\x03")
    add("65535-byte language", _pj(uri, field_bytes(Tag.NAME_WITH_LANGUAGE, b"job-name",
                                                    _with_lang(b"l" * 0xFFF0, b"x"))))
    # Strings that are not what their tag promises.
    for label, bad in (("0xff", b"\xff\xfe"), ("overlong /", b"\xc0\xaf"), ("surrogate", b"\xed\xa0\x80"),
                       ("cut sequence", b"abc\xe2\x82"), ("NUL", b"a\x00b"), ("newline", b"a\r\nInjected: yes"),
                       ("ESC", b"\x1b[31mred")):
        add(f"{label} in job-name", _pj(uri, field_bytes(Tag.NAME_WITHOUT_LANGUAGE, b"job-name", bad)))
        add(f"{label} in requesting-user-name", header() + op_fields(uri, user=bad) + b"\x03" + DOCUMENT)
        add(f"{label} in nameWithLanguage", _pj(uri, field_bytes(Tag.NAME_WITH_LANGUAGE, b"job-name",
                                                                 _with_lang(bad, bad))))
        add(f"{label} in keyword", _pj(uri, job=[field_bytes(Tag.KEYWORD, b"sides", bad)]))
        add(f"{label} in document-format", _pj(uri, field_bytes(Tag.MIME_MEDIA_TYPE, b"document-format", bad)))
        add(f"{label} in attribute name", _pj(uri, field_bytes(Tag.KEYWORD, b"x-" + bad, b"v")))
        add(f"{label} in natural language", header() + b"\x01"
            + field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-8")
            + field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", bad)
            + field_bytes(Tag.URI, b"printer-uri", u) + b"\x03" + DOCUMENT)
        add(f"{label} in job-uri", header(Operation.GET_JOB_ATTRIBUTES) + op_fields(uri)
            + field_bytes(Tag.URI, b"job-uri", u + b"/" + bad) + b"\x03")
    add("withLanguage: bad language length", _pj(uri, field_bytes(Tag.NAME_WITH_LANGUAGE, b"job-name",
                                                                   b"\xff\xff" + b"en" + b"\x00\x01x")))
    add("withLanguage: bad text length", _pj(uri, field_bytes(Tag.NAME_WITH_LANGUAGE, b"job-name",
                                                               b"\x00\x02en\x00\x09x")))
    add("withLanguage: 3 bytes", _pj(uri, field_bytes(Tag.NAME_WITH_LANGUAGE, b"job-name", b"\x00\x00\x00")))
    add("document-format path", _pj(uri, field_bytes(Tag.MIME_MEDIA_TYPE, b"document-format", b"../../etc/passwd")))
    add("document-format as keyword", _pj(uri, field_bytes(Tag.KEYWORD, b"document-format", b"application/pdf")))
    add("printer-uri javascript:", header() + b"\x01" + field_bytes(Tag.CHARSET, b"attributes-charset", b"utf-8")
        + field_bytes(Tag.NATURAL_LANGUAGE, b"attributes-natural-language", b"en")
        + field_bytes(Tag.URI, b"printer-uri", b"javascript:alert(1)") + b"\x03" + DOCUMENT)
    # Integers out of range, negative where only positive values make sense.
    for name, value in ((b"copies", -1), (b"copies", 0), (b"copies", 2**31 - 1), (b"copies", -(2**31)),
                        (b"job-priority", -5), (b"number-up", -2), (b"print-quality", -1),
                        (b"orientation-requested", 2**31 - 1)):
        tag = Tag.ENUM if name in (b"print-quality", b"orientation-requested") else Tag.INTEGER
        add(f"{name.decode()} {value}", _pj(uri, field_bytes(Tag.BOOLEAN, b"ipp-attribute-fidelity", b"\x01"),
                                            job=[field_bytes(tag, name, _int(value))]))
    for value in (-1, 2**31 - 1, -(2**31)):
        add(f"job-k-octets {value}", _pj(uri, field_bytes(Tag.INTEGER, b"job-k-octets", _int(value))))
        for code in (Operation.GET_JOB_ATTRIBUTES, Operation.CANCEL_JOB, Operation.CLOSE_JOB):
            add(f"job-id {value} for 0x{code:04x}", header(code) + op_fields(uri)
                + field_bytes(Tag.INTEGER, b"job-id", _int(value)) + b"\x03")
        add(f"Send-Document job-id {value}", header(Operation.SEND_DOCUMENT) + op_fields(uri)
            + field_bytes(Tag.INTEGER, b"job-id", _int(value)) + field_bytes(Tag.BOOLEAN, b"last-document", b"\x01")
            + b"\x03" + DOCUMENT)
        add(f"Get-Jobs limit {value}", header(Operation.GET_JOBS) + op_fields(uri)
            + field_bytes(Tag.INTEGER, b"limit", _int(value)) + b"\x03")
        add(f"page-ranges ({value}, {value})", _pj(uri, job=[field_bytes(Tag.RANGE_OF_INTEGER, b"page-ranges",
                                                                         _int(value) + _int(value))]))
        add(f"printer-resolution {value}", _pj(uri, job=[field_bytes(
            Tag.RESOLUTION, b"printer-resolution", _int(value) + _int(value) + bytes([value & 0xFF]))]))
    add("page-ranges reversed", _pj(uri, job=[field_bytes(Tag.RANGE_OF_INTEGER, b"page-ranges", _int(9) + _int(2))]))
    add("Get-Jobs limit 0", header(Operation.GET_JOBS) + op_fields(uri) + field_bytes(Tag.INTEGER, b"limit", _int(0))
        + b"\x03")
    add("Cancel-My-Jobs job-ids of mixed tags", header(Operation.CANCEL_MY_JOBS) + op_fields(uri)
        + field_bytes(Tag.INTEGER, b"job-ids", _int(1)) + field_bytes(Tag.KEYWORD, b"", b"two")
        + field_bytes(Tag.NO_VALUE, b"", b"") + b"\x03")
    for label, tail in (("huge number", b"9" * 40), ("unicode digits", "١٢".encode()), ("superscript", "²".encode()),
                        ("negative", b"-1"), ("empty", b""), ("dot-dot", b"../../1")):
        for code in (Operation.GET_JOB_ATTRIBUTES, Operation.CANCEL_JOB, Operation.SEND_DOCUMENT,
                     Operation.CLOSE_JOB):
            add(f"job-uri {label} for 0x{code:04x}", header(code) + op_fields(uri)
                + field_bytes(Tag.URI, b"job-uri", u + b"/" + tail)
                + field_bytes(Tag.BOOLEAN, b"last-document", b"\x01") + b"\x03" + DOCUMENT)
    # dateTime values that are not dates.
    for label, raw in (("month 13", _date_bytes(month=13)), ("day 0", _date_bytes(day=0)),
                       ("hour 25", _date_bytes(hour=25)), ("second 61", _date_bytes(second=61)),
                       ("deci 10", _date_bytes(deci=10)), ("sign *", _date_bytes(sign=b"*")),
                       ("tz 15:99", _date_bytes(tzh=15, tzm=99)), ("year 0", _date_bytes(year=0)),
                       ("10 bytes", _date_bytes()[:10]), ("12 bytes", _date_bytes() + b"\x00"),
                       ("all 0xff", b"\xff" * 11)):
        add(f"dateTime {label}", _pj(uri, job=[field_bytes(Tag.DATE_TIME, b"job-hold-until-time", raw)]))
    # Compression that lies.
    add("compression gzip, data not gzip", _pj(uri, field_bytes(Tag.KEYWORD, b"compression", b"gzip")))
    add("compression deflate, data cut", _pj(uri, field_bytes(Tag.KEYWORD, b"compression", b"deflate"),
                                             document=gzip.compress(DOCUMENT)[10:40]))
    add("compression gzip, bomb", _pj(uri, field_bytes(Tag.KEYWORD, b"compression", b"gzip"), document=_bomb()))
    add("compression gzip, empty", _pj(uri, field_bytes(Tag.KEYWORD, b"compression", b"gzip"), document=b""))
    add("compression br", _pj(uri, field_bytes(Tag.KEYWORD, b"compression", b"br")))
    add("document not a known format", _pj(uri, document=bytes(range(256)) * 4))
    return seeds
