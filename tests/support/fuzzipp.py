"""The CUPS ``fuzzipp`` method in Python, aimed at a running printer over HTTP.

CUPS (``cups/fuzzipp.c``) builds one Print-Job with every common value tag and
mutates it: each cycle overwrites 1-7 bytes or swaps two runs of 1-8 bytes.  Here each
case starts from a clean request (a Print-Job most of the time, other operations the
rest), applies 1-32 such cycles or cuts it short, and is POSTed to ``/ipp/print``.  In
front of the random cases come structured seeds for the bug classes CUPS has shipped
fixes for (bad lengths, request-id 0, version 0.0, tag 0x7F, 0-length values, 10k and
100k attributes, collections 1000 deep, a 65,535-byte name, invalid UTF-8, negative
integers, bad dateTime, ...).

Cases are a pure function of ``(seed, index)``, so a failure names a case that can be
made again.  The test (``tests/test_fuzz.py``) and the benchmark (``bench/bench_fuzz.py``)
share :func:`cases`, :class:`Poster` and :func:`run`.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import itertools
import random
import select
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ipp.codec import (
    Attribute,
    Collection,
    Group,
    GroupTag,
    Message,
    ProtocolError,
    Range,
    Resolution,
    StringWithLanguage,
    Tag,
    Value,
    decode,
    encode,
)
from ipp.status import Operation, StatusCode

PATH = "/ipp/print"
DOCUMENT = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
"""A small document sent with every Print-Job and Send-Document."""

MAX_CYCLES = 32
"""Mutation cycles per random case, at most (CUPS uses 32)."""


@dataclass(frozen=True)
class Case:
    """One request body to send, and a name that says how it was made."""

    index: int
    name: str
    body: bytes


# -- well-formed requests -------------------------------------------------------------------


def _op_group(uri: str, *extra: Attribute) -> Group:
    return Group(GroupTag.OPERATION, [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"),
        Attribute.of("printer-uri", Tag.URI, uri),
        Attribute.of("requesting-user-name", Tag.NAME_WITHOUT_LANGUAGE, "john-doe"),
        *extra,
    ])


def print_job(uri: str, request_id: int = 1) -> Message:
    """A Print-Job with all common value tags in its operation and job groups (as CUPS builds it)."""
    media_size = Collection([
        Attribute.of("x-dimension", Tag.INTEGER, 21000),
        Attribute.of("y-dimension", Tag.INTEGER, 29700),
    ])
    media_col = Collection([
        Attribute("media-size", [Value(Tag.BEG_COLLECTION, media_size)]),
        Attribute.of("media-color", Tag.KEYWORD, "blue"),
        Attribute.of("media-type", Tag.KEYWORD, "stationery"),
    ])
    operation = _op_group(
        uri,
        Attribute.of("job-name", Tag.NAME_WITH_LANGUAGE, StringWithLanguage("es-MX", "Factura José")),
        Attribute.of("document-name", Tag.NAME_WITHOUT_LANGUAGE, "invoice-1001.pdf"),
        Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"),
        Attribute.of("ipp-attribute-fidelity", Tag.BOOLEAN, False),
        Attribute.of("job-k-octets", Tag.INTEGER, 1),
        Attribute.of("compression", Tag.KEYWORD, "none"),
        Attribute.of("job-password", Tag.OCTET_STRING, b"8675309"),
        Attribute.of("job-password-encryption", Tag.KEYWORD, "none"),
        Attribute.of("job-originating-host-name", Tag.NAME_WITHOUT_LANGUAGE, "erp-01"),
    )
    job = Group(GroupTag.JOB, [
        Attribute.of("print-color-mode", Tag.KEYWORD, "color"),
        Attribute.of("print-quality", Tag.ENUM, 5),
        Attribute.of("printer-resolution", Tag.RESOLUTION, Resolution(600, 600, 3)),
        Attribute.of("copies", Tag.INTEGER, 2),
        Attribute.of("sides", Tag.KEYWORD, "two-sided-long-edge"),
        Attribute.of("finishings", Tag.ENUM, 3, 3),
        Attribute.of("page-ranges", Tag.RANGE_OF_INTEGER, Range(1, 5), Range(7, 50)),
        Attribute.of("some-boolean-option", Tag.BOOLEAN, True),
        Attribute.of("some-uri-scheme", Tag.URI_SCHEME, "mailto"),
        Attribute.of("some-text-with-language", Tag.TEXT_WITH_LANGUAGE, StringWithLanguage("es-MX", "¡Hola el mundo!")),
        Attribute.of("job-hold-until-time", Tag.DATE_TIME, _date()),
        Attribute.of("job-message-to-operator", Tag.TEXT_WITHOUT_LANGUAGE, "This is a test job."),
        Attribute.of("media", Tag.KEYWORD, "iso_a4_210x297mm"),
        Attribute("media-col", [Value(Tag.BEG_COLLECTION, media_col)]),
        Attribute.of("orientation-requested", Tag.ENUM, 3),
        Attribute.of("job-priority", Tag.INTEGER, 50),
    ])
    return Message((2, 0), Operation.PRINT_JOB, request_id, [operation, job])


def _date() -> dt.datetime:
    return dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.UTC)


def _other_requests(uri: str) -> list[tuple[str, bytes]]:
    """Well-formed requests for the other operations, each with the document data it takes."""
    gzipped = gzip.compress(DOCUMENT, mtime=0)

    def simple(code: int, *extra: Attribute, document: bytes = b"") -> bytes:
        return encode(Message((1, 1), code, 7, [_op_group(uri, *extra)])) + document

    return [
        ("Print-Job gzip", simple(
            Operation.PRINT_JOB,
            Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"),
            Attribute.of("compression", Tag.KEYWORD, "gzip"),
            document=gzipped,
        )),
        ("Validate-Job", simple(Operation.VALIDATE_JOB, Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "v"))),
        ("Create-Job", simple(Operation.CREATE_JOB, Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "c"))),
        ("Send-Document", simple(
            Operation.SEND_DOCUMENT, Attribute.of("job-id", Tag.INTEGER, 1),
            Attribute.of("last-document", Tag.BOOLEAN, True),
            Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"), document=DOCUMENT,
        )),
        ("Get-Printer-Attributes", simple(
            Operation.GET_PRINTER_ATTRIBUTES,
            Attribute.of("requested-attributes", Tag.KEYWORD, "printer-description", "media-col-database"),
            Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"),
        )),
        ("Get-Jobs", simple(
            Operation.GET_JOBS, Attribute.of("which-jobs", Tag.KEYWORD, "all"),
            Attribute.of("my-jobs", Tag.BOOLEAN, True), Attribute.of("limit", Tag.INTEGER, 5),
            Attribute.of("requested-attributes", Tag.KEYWORD, "job-id", "job-state"),
        )),
        ("Get-Job-Attributes", simple(Operation.GET_JOB_ATTRIBUTES, Attribute.of("job-id", Tag.INTEGER, 1))),
        ("Cancel-Job", simple(Operation.CANCEL_JOB, Attribute.of("job-uri", Tag.URI, uri + "/2"))),
        ("Cancel-My-Jobs", simple(Operation.CANCEL_MY_JOBS, Attribute.of("job-ids", Tag.INTEGER, 3, 4))),
        ("Close-Job", simple(Operation.CLOSE_JOB, Attribute.of("job-id", Tag.INTEGER, 5))),
        ("Identify-Printer", simple(Operation.IDENTIFY_PRINTER,
                                    Attribute.of("identify-actions", Tag.KEYWORD, "display"))),
    ]


def templates(uri: str) -> list[tuple[str, bytes]]:
    """The clean requests random cases start from; the first (the full Print-Job) is the main one."""
    return [("Print-Job", encode(print_job(uri)) + DOCUMENT), *_other_requests(uri)]


# -- mutation (cups/fuzzipp.c fuzzdata) ---------------------------------------------------------


def mutate(data: bytes, rng: random.Random, cycles: int) -> bytes:
    """``cycles`` rounds of: overwrite 1-7 random bytes (7 in 8) or swap two runs of 1-8 bytes."""
    buf = bytearray(data)
    for _ in range(cycles):
        choice = rng.randrange(8)
        if choice < 7:
            length = choice + 1
            pos = rng.randrange(len(buf) - length)
            buf[pos : pos + length] = rng.randbytes(length)
        else:
            length = rng.randrange(8) + 1
            pos, pos2 = rng.randrange(len(buf) - length), rng.randrange(len(buf) - length)
            first, second = bytes(buf[pos : pos + length]), bytes(buf[pos2 : pos2 + length])
            buf[pos2 : pos2 + length] = first
            buf[pos : pos + length] = second
    return bytes(buf)


def random_case(uri: str, seed: int, index: int, bases: list[tuple[str, bytes]] | None = None) -> Case:
    """Case ``index`` of the random stream for ``seed``: a mutated (or truncated) clean request."""
    rng = random.Random(f"fuzzipp:{seed}:{index}")
    bases = bases or templates(uri)
    name, base = bases[0] if rng.random() < 0.6 else rng.choice(bases[1:])
    roll = rng.random()
    if roll < 0.1:
        cut = rng.randrange(len(base))
        return Case(index, f"{name} truncated at {cut}", base[:cut])
    # Log-uniform from 1 to 32: few mutations get past the parser to the checks behind it,
    # many mutations stress the parser.
    cycles = int(MAX_CYCLES ** rng.random())
    body = mutate(base, rng, cycles)
    if roll < 0.2:
        cut = rng.randrange(len(body))
        return Case(index, f"{name} x{cycles} mutations, truncated at {cut}", body[:cut])
    return Case(index, f"{name} x{cycles} mutations", body)


# -- structured seeds ---------------------------------------------------------------------------

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


def cases(uri: str, seed: int, count: int) -> Iterator[Case]:
    """``count`` cases: every structured seed first (as far as ``count`` goes), then random ones."""
    seeds = edge_seeds(uri)
    bases = templates(uri)
    for index in range(count):
        if index < len(seeds):
            name, body = seeds[index]
            yield Case(index, f"seed: {name}", body)
        else:
            yield random_case(uri, seed, index, bases)


# -- sending ------------------------------------------------------------------------------------


class Hang(Exception):
    """No complete answer arrived in time."""


@dataclass
class Answer:
    """One HTTP answer: status, lower-case headers, body, and whether the connection stays open."""

    status: int
    headers: dict[str, str]
    body: bytes
    reusable: bool


class Poster:
    """POSTs bodies to one printer over a keep-alive connection, reconnecting when the server closes it.

    It keeps reading while it sends, the way CUPS clients do, so an answer the server
    sends before the body is read (and the reset that follows when it closes) is seen.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self.connections = 0

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def post(self, body: bytes, path: str = PATH, content_type: str = "application/ipp") -> Answer:
        """Send one request and return its answer; raises :class:`Hang` after ``timeout`` seconds."""
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self._sock.setblocking(False)
            self.connections += 1
        sock = self._sock
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            answer = self._exchange(sock, memoryview(head + body))
        except BaseException:
            self.close()
            raise
        if not answer.reusable:
            self.close()
        return answer

    def _exchange(self, sock: socket.socket, data: memoryview) -> Answer:
        deadline = time.monotonic() + self.timeout
        sent, received = 0, bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Hang(f"no answer after {self.timeout:g} s ({sent} of {len(data)} bytes sent)")
            writers = [sock] if sent < len(data) else []
            readable, writable, _ = select.select([sock], writers, [], remaining)
            if readable:
                try:
                    chunk = sock.recv(1 << 16)
                except (ConnectionResetError, BrokenPipeError):
                    chunk = b""
                except BlockingIOError:
                    continue
                received += chunk
                answer = parse_answer(bytes(received), eof=not chunk)
                if answer is not None:
                    answer.reusable = answer.reusable and sent == len(data) and bool(chunk)
                    return answer
            elif writable:
                try:
                    sent += sock.send(data[sent : sent + (1 << 16)])
                except BlockingIOError:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    sent = len(data)  # the server stopped reading; its answer may still be there


def parse_answer(data: bytes, eof: bool) -> Answer | None:
    """The answer in ``data`` once it is complete; None if more is needed.  Raises at EOF without one."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if eof:
            raise ConnectionError(f"connection closed without an answer ({len(data)} bytes received)")
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    rest = data[end + 4 :]
    if status == 100:
        return parse_answer(rest, eof) if rest or eof else None
    length = int(headers.get("content-length", "-1"))
    if length < 0:
        if not eof:
            return None
        length = len(rest)
    if len(rest) < length:
        if eof:
            raise ConnectionError(f"connection closed {length - len(rest)} bytes into the answer body")
        return None
    return Answer(status, headers, rest[:length], "close" not in headers.get("connection", "").lower())


# -- judging ------------------------------------------------------------------------------------


def check_answer(case: Case, answer: Answer) -> str | None:
    """Why ``answer`` is not acceptable for ``case``, or None if it is.

    Acceptable: a decodable IPP response (status class 0x00, 0x04 or 0x05, but never
    server-error-internal-error, which only an unexpected exception produces) with the
    request's request-id, or a plain HTTP 400/413.  Never a 5xx, never a traceback.
    """
    if b"Traceback" in answer.body:
        return f"traceback in the answer (HTTP {answer.status})"
    if answer.status in (400, 413):
        return None
    if answer.status != 200:
        return f"HTTP {answer.status}: {answer.body[:120]!r}"
    if answer.headers.get("content-type") != "application/ipp":
        return f"HTTP 200 with Content-Type {answer.headers.get('content-type')!r}"
    try:
        response, rest = decode(answer.body)
    except ProtocolError as error:
        return f"answer is not a well-formed IPP message: {error}"
    if rest:
        return f"{len(rest)} bytes after the IPP response"
    if response.code >> 8 not in (0x00, 0x04, 0x05):
        return f"status 0x{response.code:04x} is not 0x00xx, 0x04xx or 0x05xx"
    if response.code == StatusCode.SERVER_ERROR_INTERNAL_ERROR:
        return "server-error-internal-error (an unexpected exception in the server)"
    if len(case.body) >= 8 and response.request_id != struct.unpack(">i", case.body[4:8])[0]:
        return f"request-id {response.request_id} does not echo the request's"
    return None


def outcome(answer: Answer) -> str:
    """A label for counting answers: ``ipp 0x0400`` or ``http 413``."""
    if answer.status == 200 and answer.headers.get("content-type") == "application/ipp" and len(answer.body) >= 4:
        return f"ipp 0x{struct.unpack('>H', answer.body[2:4])[0]:04x}"
    return f"http {answer.status}"


@dataclass
class Report:
    """What a fuzz run saw."""

    sent: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[Case, str]] = field(default_factory=list)
    slowest: float = 0.0
    latencies: list[float] = field(default_factory=list)
    """Seconds from sending each case to its whole answer."""
    seconds: float = 0.0
    connections: int = 0


def run(port: int, stream: Iterable[Case], workers: int = 4, timeout: float = 10.0,
        progress: Callable[[Report], None] | None = None) -> Report:
    """Send every case in ``stream`` with ``workers`` keep-alive connections; judge every answer."""
    report = Report()
    lock = threading.Lock()
    source = iter(stream)
    started = time.monotonic()

    def work() -> None:
        poster = Poster(port, timeout=timeout)
        try:
            while True:
                with lock:
                    case = next(source, None)
                if case is None:
                    return
                began = time.monotonic()
                try:
                    answer = poster.post(case.body)
                    problem, label = check_answer(case, answer), outcome(answer)
                except Hang as error:
                    problem, label = f"hang: {error}", "hang"
                except (OSError, ValueError) as error:
                    problem, label = f"{type(error).__name__}: {error}", "error"
                elapsed = time.monotonic() - began
                with lock:
                    report.sent += 1
                    report.counts[label] += 1
                    report.slowest = max(report.slowest, elapsed)
                    report.latencies.append(elapsed)
                    if problem is not None:
                        report.failures.append((case, problem))
                    if progress is not None:
                        progress(report)
        finally:
            with lock:
                report.connections += poster.connections
            poster.close()

    threads = [threading.Thread(target=work, name=f"fuzz-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.seconds = time.monotonic() - started
    return report


def describe(report: Report, limit: int = 20) -> str:
    """A few lines for a failed assertion or the benchmark's output."""
    lines = [f"{report.sent} cases in {report.seconds:.1f} s ({report.sent / max(report.seconds, 1e-9):.0f}/s), "
             f"{report.connections} connections, slowest {report.slowest:.2f} s"]
    lines += [f"  {label}: {count}" for label, count in sorted(report.counts.items())]
    for case, problem in itertools.islice(report.failures, limit):
        lines.append(f"  FAIL case {case.index} ({case.name}): {problem}")
    return "\n".join(lines)
