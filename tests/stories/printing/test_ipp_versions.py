"""IPP versions as Windows, macOS and CUPS send them: the running product answers each in its own version."""

from __future__ import annotations

import http.client

from ipp.codec import Attribute, Group, GroupTag, Message, Tag, decode, encode
from ipp.status import Operation, StatusCode
from tests.support.harness import DATA, Server

CAPTURES = DATA / "ipp-captures"


# -- the product answers in the request's version ------------------------------------------------


def post(server: Server, message: Message | bytes) -> Message:
    """POST one request to the running product; the decoded response."""
    body = encode(message) if isinstance(message, Message) else message
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/ipp/print", body=body, headers={"Content-Type": "application/ipp"})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    assert response.status == 200, data[:200]
    answer, rest = decode(data)
    assert rest == b""
    return answer


def get_printer_attributes(server: Server, version: tuple[int, int], request_id: int) -> Message:
    return Message(version, Operation.GET_PRINTER_ATTRIBUTES, request_id, [Group(GroupTag.OPERATION, [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en-us"),
        Attribute.of("printer-uri", Tag.URI, server.uri),
        Attribute.of("requesting-user-name", Tag.NAME_WITHOUT_LANGUAGE, "windows-user"),
        Attribute.of("requested-attributes", Tag.KEYWORD, "printer-name", "ipp-versions-supported",
                     "document-format-supported", "printer-state"),
    ])])


def test_the_printer_answers_each_ipp_version_in_that_version(server: Server) -> None:
    """1.0 (Windows), 1.1, 2.0, 2.1 and 2.2 are echoed with printer attributes; 0.0 and 3.0 are refused."""
    for request_id, version in enumerate([(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)], start=11):
        answer = post(server, get_printer_attributes(server, version, request_id))
        assert (answer.version, answer.code, answer.request_id) == (version, StatusCode.SUCCESSFUL_OK, request_id)
        printer = answer.group(GroupTag.PRINTER)
        assert printer is not None, f"no printer attributes for IPP/{version}"
        assert {"printer-name", "ipp-versions-supported", "document-format-supported", "printer-state"} <= {
            a.name for a in printer.attributes}
        versions = printer.get("ipp-versions-supported")
        assert versions is not None and "1.0" in versions.plain()
    for request_id, version in enumerate([(0, 0), (3, 0)], start=21):
        answer = post(server, get_printer_attributes(server, version, request_id))
        assert answer.code == StatusCode.SERVER_ERROR_VERSION_NOT_SUPPORTED, f"IPP/{version}"
        assert answer.request_id == request_id
        assert answer.group(GroupTag.PRINTER) is None


def test_the_captured_ipp_1_0_request_gets_a_1_0_answer(server: Server) -> None:
    """The bytes ipptool -V 1.0 sent, replayed to the product as they are."""
    body = (CAPTURES / "ipptool-windows-gpa-v1.0.0.ipp").read_bytes()
    sent = decode(body)[0]
    answer = post(server, body)
    assert (answer.version, answer.code, answer.request_id) == ((1, 0), StatusCode.SUCCESSFUL_OK, sent.request_id)
    printer = answer.group(GroupTag.PRINTER)
    assert printer is not None
    assert printer.get("document-format-supported") is not None
    preferred = printer.get("document-format-preferred")
    assert preferred is not None and preferred.value == "application/pdf"
