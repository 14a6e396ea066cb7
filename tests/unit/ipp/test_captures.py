"""Real clients' request bytes (``tests/data/ipp-captures/``, made by ``tests/support/capture.py``)
through the codec.

Each body was sent by ``ipptool`` or CUPS's ``lp``/``lpstat`` to a stand-in printer.
The codec must decode it to what the client says it sent (ipptool's own ``-X``
report), hand back the document bytes that followed, and encode the message to the
very same bytes.  Then the product itself: an IPP/1.0 Get-Printer-Attributes, as
Windows sends, is answered in 1.0, and every version from 1.0 to 2.2 is echoed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import plistlib
import random
from typing import Any

import pytest

from ipp.codec import (
    Attribute,
    Collection,
    Group,
    GroupTag,
    Message,
    MessageReader,
    Range,
    Resolution,
    StringWithLanguage,
    Tag,
    Value,
    decode,
    encode,
)
from ipp.status import Operation
from tests.support.capture import JOB_TITLE, PRINTER, USER
from tests.support.harness import DATA

CAPTURES = DATA / "ipp-captures"
MANIFEST: dict[str, dict[str, Any]] = json.loads((CAPTURES / "manifest.json").read_text())
DOCUMENT = (CAPTURES / "document.pdf").read_bytes()
CUPS_GET_DEFAULT, CUPS_GET_PRINTERS = 0x4001, 0x4002


def load(fixture: str) -> tuple[Message, bytes, bytes]:
    """The decoded message, the bytes after it, and the whole body."""
    body = (CAPTURES / fixture).read_bytes()
    message, document = decode(body)
    return message, document, body


def scenario(name: str) -> list[tuple[Message, bytes]]:
    """Every request one client run sent, in order."""
    fixtures = sorted((f for f, info in MANIFEST.items() if info["scenario"] == name),
                      key=lambda f: int(MANIFEST[f]["index"]))
    assert fixtures, f"no capture for {name}"
    return [load(f)[:2] for f in fixtures]


def operation_attributes(message: Message) -> dict[str, Any]:
    """Operation attributes by name: the value, or the list of values of a 1setOf."""
    group = message.group(GroupTag.OPERATION)
    assert group is not None
    return {a.name: a.value if len(a.values) == 1 else a.plain() for a in group.attributes}


def test_every_capture_is_there() -> None:
    """The capture run covered ipptool at 1.0, 1.1 and 2.0, chunked and not, and CUPS lp and lpstat."""
    scenarios = {info["scenario"] for info in MANIFEST.values()}
    assert {"cups-lp", "cups-lpstat", "ipptool-create-job", "ipptool-print-job-media-col",
            "ipptool-windows-gpa-v1.0"} <= scenarios
    versions = {load(f)[0].version for f in MANIFEST}
    assert {(1, 0), (1, 1), (2, 0)} <= versions
    transfers = {str(info["headers"].get("Transfer-Encoding", "length")) for info in MANIFEST.values()}
    assert transfers == {"chunked", "length"}


@pytest.mark.parametrize("fixture", sorted(MANIFEST))
def test_capture_decodes_and_encodes_to_the_same_bytes(fixture: str) -> None:
    """The header re-encodes byte for byte; the rest is exactly the document the client sent (or nothing)."""
    message, document, body = load(fixture)
    assert encode(message) + document == body
    assert message.request_id > 0
    assert message.groups[0].tag == GroupTag.OPERATION
    op = operation_attributes(message)
    assert list(op)[:2] == ["attributes-charset", "attributes-natural-language"]
    assert op["attributes-charset"] == "utf-8"
    if message.code in (Operation.PRINT_JOB, Operation.SEND_DOCUMENT):
        sent = gzip.decompress(document) if op.get("compression") == "gzip" else document
        assert sent == DOCUMENT
        assert sent.startswith(b"%PDF-")
    else:
        assert document == b""


@pytest.mark.parametrize("fixture", sorted(MANIFEST))
def test_capture_read_in_random_pieces(fixture: str) -> None:
    """The incremental reader gives the same message whether the body comes 1 byte or 1,000 at a time."""
    message, document, body = load(fixture)
    rng = random.Random(fixture)
    reader = MessageReader()
    pos = 0
    while not reader.complete:
        size = rng.choice([1, 2, 3, 7, 64, 1000])
        reader.feed(body[pos : pos + size])
        pos += size
    assert reader.next_message() == message
    assert reader.leftover + body[pos:] == document


# -- against what ipptool says it sent ------------------------------------------------------


def plist_value(value: Value) -> object:
    """One value the way ipptool's -X report writes it."""
    v = value.value
    if value.tag in (Tag.UNSUPPORTED, Tag.UNKNOWN, Tag.NO_VALUE, Tag.NOT_SETTABLE, Tag.DELETE_ATTRIBUTE,
                     Tag.ADMIN_DEFINE):
        return f"<<{Tag(value.tag).name.lower().replace('_', '-')}>>"
    if isinstance(v, Collection):
        return {m.name: plist_attribute(m) for m in v.members}
    if isinstance(v, Resolution):
        return {"xres": v.x, "yres": v.y, "units": {3: "dpi", 4: "dpcm"}[v.units]}
    if isinstance(v, Range):
        return {"lower": v.lower, "upper": v.upper}
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).replace(tzinfo=None)  # plist dates are UTC
    return v


def plist_attribute(attribute: Attribute) -> object:
    values = [plist_value(v) for v in attribute.values]
    return values[0] if len(values) == 1 else values


def plist_groups(groups: list[Group]) -> list[dict[str, object]]:
    return [{a.name: plist_attribute(a) for a in g.attributes} for g in groups]


IPPTOOL_REPORTED = sorted(f for f, info in MANIFEST.items() if info["report"])


@pytest.mark.parametrize("fixture", IPPTOOL_REPORTED)
def test_ipptool_capture_matches_what_ipptool_reports_it_sent(fixture: str) -> None:
    """Version, operation, request-id and every attribute value agree with ipptool's own -X report."""
    message, _, _ = load(fixture)
    info = MANIFEST[fixture]
    report = plistlib.loads((CAPTURES / str(info["report"])).read_bytes())
    test = report["Tests"][int(info["index"])]
    assert test["Version"] == f"{message.version[0]}.{message.version[1]}"
    assert test["Operation"] == Operation(message.code).keyword
    # ipptool 2.4.2 reports the id before it increments it for the request.
    assert message.request_id == test["RequestId"] + 1
    assert plist_groups(message.groups) == test["RequestAttributes"]


def test_ipptool_versions_follow_dash_v() -> None:
    assert scenario("ipptool-windows-gpa-v1.0")[0][0].version == (1, 0)
    assert scenario("ipptool-windows-gpa-v1.1")[0][0].version == (1, 1)
    assert scenario("ipptool-print-job-v1.0")[0][0].version == (1, 0)
    assert scenario("ipptool-print-job-v1.1-length")[0][0].version == (1, 1)
    assert scenario("ipptool-print-job-v2.0")[0][0].version == (2, 0)
    # get-printer-attributes.test names VERSION 2.0 itself.
    assert scenario("ipptool-get-printer-attributes")[0][0].version == (2, 0)


def test_windows_style_get_printer_attributes() -> None:
    [(message, document)] = scenario("ipptool-windows-gpa-v1.0")
    assert (message.version, message.code) == ((1, 0), Operation.GET_PRINTER_ATTRIBUTES)
    op = operation_attributes(message)
    assert op["attributes-natural-language"] == "en-us"
    assert {"document-format-preferred", "mopria-certified", "printer-uuid"} <= set(op["requested-attributes"])
    assert document == b""


def test_create_job_then_send_document() -> None:
    """Send-Document names the job-id the printer answered and carries the PDF after its header."""
    (create, nothing), (send, document) = scenario("ipptool-create-job")
    assert (create.code, send.code) == (Operation.CREATE_JOB, Operation.SEND_DOCUMENT)
    assert send.request_id == create.request_id + 1
    assert nothing == b""
    op = operation_attributes(send)
    assert (op["job-id"], op["last-document"], op["document-format"]) == (1, True, "application/pdf")
    assert document == DOCUMENT


def test_print_job_with_media_col() -> None:
    [(message, document)] = scenario("ipptool-print-job-media-col")
    job = message.group(GroupTag.JOB)
    assert job is not None
    media_col = job.get("media-col")
    assert media_col is not None and isinstance(media_col.value, Collection)
    size = media_col.value.get("media-size")
    assert size is not None and isinstance(size.value, Collection)
    assert [(m.name, m.value) for m in size.value.members] == [("x-dimension", 10160), ("y-dimension", 15240)]
    assert [m.name for m in media_col.value.members][1:] == [
        "media-left-margin", "media-right-margin", "media-top-margin", "media-bottom-margin"]
    assert job.get("print-quality") == Attribute.of("print-quality", Tag.ENUM, 5)
    assert document == DOCUMENT


def test_print_job_gzip_document_follows_compressed() -> None:
    [(message, document)] = scenario("ipptool-print-job-gzip")
    assert operation_attributes(message)["compression"] == "gzip"
    assert document[:2] == b"\x1f\x8b" and gzip.decompress(document) == DOCUMENT


def test_value_tags_as_ipptool_writes_them() -> None:
    [(message, _)] = scenario("ipptool-value-tags")
    job = message.group(GroupTag.JOB)
    assert job is not None
    tags = {a.name: [Tag(v.tag) for v in a.values] for a in job.attributes}
    assert tags == {
        "copies": [Tag.INTEGER], "x-pagero-bool": [Tag.BOOLEAN], "orientation-requested": [Tag.ENUM],
        "job-password": [Tag.OCTET_STRING], "job-hold-until-time": [Tag.DATE_TIME],
        "printer-resolution": [Tag.RESOLUTION], "page-ranges": [Tag.RANGE_OF_INTEGER] * 2,
        "x-pagero-scheme": [Tag.URI_SCHEME], "x-pagero-language": [Tag.NATURAL_LANGUAGE], "sides": [Tag.KEYWORD],
        "media-type": [Tag.NO_VALUE], "x-pagero-unknown": [Tag.UNKNOWN], "media-col": [Tag.BEG_COLLECTION],
    }
    assert job.get("job-password") == Attribute.of("job-password", Tag.OCTET_STRING, b"secret")
    assert job.get("job-hold-until-time") == Attribute.of(
        "job-hold-until-time", Tag.DATE_TIME, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert job.get("printer-resolution") == Attribute.of("printer-resolution", Tag.RESOLUTION, Resolution(600, 600, 3))


def test_text_with_language_with_an_empty_language() -> None:
    """ipptool writes textWithLanguage with a zero-length language; it decodes and encodes back as sent."""
    [(message, _)] = scenario("ipptool-text-with-language")
    op = message.group(GroupTag.OPERATION)
    assert op is not None
    assert op.get("job-name") == Attribute.of("job-name", Tag.TEXT_WITH_LANGUAGE, StringWithLanguage("", "Rechnung"))


# -- CUPS's own clients ---------------------------------------------------------------------


def test_cups_lpstat_asks_the_scheduler_for_printers() -> None:
    requests = [m for m, _ in scenario("cups-lpstat")]
    assert [m.code for m in requests] == [CUPS_GET_DEFAULT, CUPS_GET_PRINTERS, CUPS_GET_PRINTERS]
    # libcups numbers the requests of one process 1, 2, 3, ...
    assert [m.request_id for m in requests] == [1, 2, 3]
    assert all(m.version == (2, 0) for m in requests)
    last = operation_attributes(requests[-1])
    assert last["requesting-user-name"] == USER
    assert {"printer-name", "printer-state", "printer-type"} <= set(last["requested-attributes"])


def test_cups_lp_creates_a_job_and_sends_the_file() -> None:
    requests = scenario("cups-lp")
    codes = [m.code for m, _ in requests]
    assert codes[-2:] == [Operation.CREATE_JOB, Operation.SEND_DOCUMENT]
    assert set(codes[:-2]) == {Operation.GET_PRINTER_ATTRIBUTES}
    assert [m.request_id for m, _ in requests] == list(range(1, len(requests) + 1))
    (create, _), (send, document) = requests[-2:]
    op = operation_attributes(create)
    assert str(op["printer-uri"]).endswith(f"/printers/{PRINTER}")
    assert (op["requesting-user-name"], op["job-name"]) == (USER, JOB_TITLE)
    job = create.group(GroupTag.JOB)
    assert job is not None and job.get("sides") == Attribute.of("sides", Tag.KEYWORD, "two-sided-long-edge")
    send_op = operation_attributes(send)
    assert (send_op["job-id"], send_op["last-document"], send_op["document-name"]) == (1, True, "document.pdf")
    assert document == DOCUMENT
