"""The printer (``ipp/printer.py``) answers each operation through ``Printer.handle`` with the memory sink."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import pytest

from ipp.codec import Attribute, FixedAttribute, GroupTag, Tag, decode, encode
from ipp.memory import MemorySink
from ipp.printer import ClientGone, Printer, Request
from ipp.sink import JobInfo, JobTicket
from ipp.status import JobState, Operation, StatusCode
from tests.support.ipp_requests import HOST, URI, ask, group_values, make_printer, request, status_message
from tests.support.loop import run

PDF = b"%PDF-1.7\n" + b"x" * 2000 + b"\n%%EOF\n"


def name(value: str) -> Attribute:
    return Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, value)


def pdf() -> Attribute:
    return Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf")


def job_id(value: int) -> Attribute:
    return Attribute.of("job-id", Tag.INTEGER, value)


def which(value: str) -> Attribute:
    return Attribute.of("which-jobs", Tag.KEYWORD, value)


def ticket_of(sink: MemorySink, job: int) -> JobTicket:
    ticket = sink.ticket(job)
    assert ticket is not None
    return ticket


def print_one(printer: Printer, document: bytes = PDF, *extra: Attribute, user: str = "anna") -> dict[str, object]:
    response = ask(printer, request(Operation.PRINT_JOB, name("invoice 1"), pdf(), *extra, user=user), document)
    assert response.code == StatusCode.SUCCESSFUL_OK, status_message(response)
    return group_values(response, GroupTag.JOB)


def test_print_job_stores_the_document_and_answers_the_job() -> None:
    printer, sink = make_printer()
    response = ask(printer, request(Operation.PRINT_JOB, name("invoice 1"), pdf()), PDF[:100], PDF[100:])
    assert response.code == StatusCode.SUCCESSFUL_OK
    assert (response.version, response.request_id) == ((2, 0), 7)
    job = group_values(response, GroupTag.JOB)
    assert job == {
        "job-id": 1,
        "job-uri": f"{URI}/1",
        "job-state": int(JobState.COMPLETED),
        "job-state-reasons": "job-completed-successfully",
        "job-state-message": "Stored.",
    }
    assert sink.document(1) == PDF
    ticket = sink.ticket(1)
    assert ticket is not None
    assert (ticket.job_name, ticket.user_name, ticket.document_format) == ("invoice 1", "anna", "application/pdf")
    # The answer encodes and decodes as the same message (what the ASGI layer sends).
    assert decode(encode(response))[0] == response


def test_print_job_undoes_gzip_compression() -> None:
    printer, sink = make_printer()
    packed = gzip.compress(PDF)
    response = ask(printer, request(Operation.PRINT_JOB, Attribute.of("compression", Tag.KEYWORD, "gzip")),
                   packed[:10], packed[10:])
    assert response.code == StatusCode.SUCCESSFUL_OK
    assert sink.document(1) == PDF
    assert ticket_of(sink, 1).document_format == "application/octet-stream"


def test_unsupported_template_values_are_ignored_or_refused_with_fidelity() -> None:
    printer, sink = make_printer()
    copies = Attribute.of("copies", Tag.INTEGER, 5000)
    sides = Attribute.of("sides", Tag.KEYWORD, "two-sided-long-edge")
    response = ask(printer, request(Operation.PRINT_JOB, job=[copies, sides]), PDF)
    assert response.code == StatusCode.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
    assert group_values(response, GroupTag.UNSUPPORTED) == {"copies": 5000}
    assert ticket_of(sink, 1).attributes == {"sides": "two-sided-long-edge"}
    fidelity = Attribute.of("ipp-attribute-fidelity", Tag.BOOLEAN, True)
    refused = ask(printer, request(Operation.PRINT_JOB, fidelity, job=[copies]), PDF)
    assert refused.code == StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert group_values(refused, GroupTag.UNSUPPORTED) == {"copies": 5000}
    assert len(sink.list_jobs("all", None, None)) == 1


def test_print_job_without_data_or_over_the_limit_stores_nothing() -> None:
    printer, sink = make_printer(max_job_bytes=1000)
    empty = ask(printer, request(Operation.PRINT_JOB))
    assert (empty.code, status_message(empty)) == (StatusCode.CLIENT_ERROR_BAD_REQUEST, "no document data")
    large = ask(printer, request(Operation.PRINT_JOB), b"x" * 600, b"x" * 600)
    assert large.code == StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    announced = ask(printer, request(Operation.PRINT_JOB, Attribute.of("job-k-octets", Tag.INTEGER, 2)), b"x")
    assert announced.code == StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    assert group_values(announced, GroupTag.UNSUPPORTED) == {"job-k-octets": 2}
    unsupported = ask(printer, request(Operation.PRINT_JOB, Attribute.of("document-format", Tag.MIME_MEDIA_TYPE,
                                                                         "application/x-foo")), b"x")
    assert unsupported.code == StatusCode.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED
    assert sink.list_jobs("all", None, None) == []
    assert sink.stored_bytes == 0


def test_create_job_then_send_document() -> None:
    printer, sink = make_printer()
    created = ask(printer, request(Operation.CREATE_JOB, name("two-step")))
    assert created.code == StatusCode.SUCCESSFUL_OK
    job = group_values(created, GroupTag.JOB)
    assert (job["job-id"], job["job-state"], job["job-state-reasons"]) == (1, JobState.PENDING, "job-incoming")
    last = Attribute.of("last-document", Tag.BOOLEAN, True)
    missing = ask(printer, request(Operation.SEND_DOCUMENT, job_id(1)), PDF)
    assert (missing.code, status_message(missing)) == (StatusCode.CLIENT_ERROR_BAD_REQUEST,
                                                        "missing or bad last-document")
    sent = ask(printer, request(Operation.SEND_DOCUMENT, job_id(1), last, pdf()), PDF)
    assert sent.code == StatusCode.SUCCESSFUL_OK
    assert group_values(sent, GroupTag.JOB)["job-state"] == JobState.COMPLETED
    assert sink.document(1) == PDF
    assert ticket_of(sink, 1).job_name == "two-step"
    again = ask(printer, request(Operation.SEND_DOCUMENT, job_id(1), last), PDF)
    assert (again.code, status_message(again)) == (StatusCode.CLIENT_ERROR_NOT_POSSIBLE, "job 1 has ended")
    nowhere = ask(printer, request(Operation.SEND_DOCUMENT, job_id(9), last), PDF)
    assert nowhere.code == StatusCode.CLIENT_ERROR_NOT_FOUND


def test_close_job_aborts_a_job_that_got_no_document() -> None:
    printer, sink = make_printer()
    ask(printer, request(Operation.CREATE_JOB))
    closed = ask(printer, request(Operation.CLOSE_JOB, job_id(1)))
    assert closed.code == StatusCode.SUCCESSFUL_OK
    assert group_values(closed, GroupTag.JOB)["job-state"] == JobState.ABORTED
    assert ask(printer, request(Operation.CLOSE_JOB, job_id(1))).code == StatusCode.CLIENT_ERROR_NOT_POSSIBLE


def test_get_jobs_lists_filters_and_limits() -> None:
    printer, _sink = make_printer()
    print_one(printer, user="anna")
    print_one(printer, user="bo")
    ask(printer, request(Operation.CREATE_JOB, user="anna"))

    def listed(*extra: Attribute, user: str = "anna") -> list[dict[str, object]]:
        response = ask(printer, request(Operation.GET_JOBS, *extra, user=user))
        assert response.code == StatusCode.SUCCESSFUL_OK, status_message(response)
        return [group_values(response, GroupTag.JOB, i) for i in range(len(list(response.groups_of(GroupTag.JOB))))]

    assert listed() == [{"job-id": 3, "job-uri": f"{URI}/3"}]
    assert [j["job-id"] for j in listed(which("completed"))] == [2, 1]
    assert [j["job-id"] for j in listed(which("all"))] == [1, 2, 3]
    assert [j["job-id"] for j in listed(which("all"), Attribute.of("my-jobs", Tag.BOOLEAN, True), user="bo")] == [2]
    assert [j["job-id"] for j in listed(which("all"), Attribute.of("limit", Tag.INTEGER, 2))] == [1, 2]
    named = listed(which("completed"), Attribute.of("requested-attributes", Tag.KEYWORD, "job-state", "copies"))
    assert named == [{"job-state": 9, "copies": 1}, {"job-state": 9, "copies": 1}]
    zero = ask(printer, request(Operation.GET_JOBS, Attribute.of("limit", Tag.INTEGER, 0)))
    assert (zero.code, status_message(zero)) == (StatusCode.CLIENT_ERROR_BAD_REQUEST, "bad limit")
    odd = ask(printer, request(Operation.GET_JOBS, which("fetchable")))
    assert odd.code == StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED


def test_get_job_attributes_by_id_or_uri() -> None:
    printer, _sink = make_printer()
    print_one(printer)
    by_id = ask(printer, request(Operation.GET_JOB_ATTRIBUTES, job_id(1)))
    assert by_id.code == StatusCode.SUCCESSFUL_OK
    job = group_values(by_id, GroupTag.JOB)
    assert job["job-printer-uri"] == URI
    assert (job["job-name"], job["job-originating-user-name"], job["job-k-octets"]) == ("invoice 1", "anna", 2)
    assert job["number-of-documents"] == 1 and job["document-format-supplied"] == "application/pdf"
    by_uri = ask(printer, request(Operation.GET_JOB_ATTRIBUTES, Attribute.of("job-uri", Tag.URI, f"{URI}/1"),
                                  Attribute.of("requested-attributes", Tag.KEYWORD, "job-id"), uri=None))
    assert group_values(by_uri, GroupTag.JOB) == {"job-id": 1}
    assert ask(printer, request(Operation.GET_JOB_ATTRIBUTES, job_id(2))).code == StatusCode.CLIENT_ERROR_NOT_FOUND
    assert ask(printer, request(Operation.GET_JOB_ATTRIBUTES)).code == StatusCode.CLIENT_ERROR_BAD_REQUEST


def test_cancel_job_and_cancel_my_jobs() -> None:
    printer, sink = make_printer()
    for user in ("anna", "anna", "bo", "anna"):
        ask(printer, request(Operation.CREATE_JOB, user=user))
    assert ask(printer, request(Operation.CANCEL_JOB, job_id(1))).code == StatusCode.SUCCESSFUL_OK
    canceled = sink.get_job(1)
    assert canceled is not None and canceled.state == JobState.CANCELED
    twice = ask(printer, request(Operation.CANCEL_JOB, job_id(1)))
    assert (twice.code, status_message(twice)) == (StatusCode.CLIENT_ERROR_NOT_POSSIBLE, "job 1 is already canceled")
    ids = Attribute.of("job-ids", Tag.INTEGER, 2, 3)
    assert ask(printer, request(Operation.CANCEL_MY_JOBS, ids)).code == StatusCode.SUCCESSFUL_OK
    states = {j.job_id: j.state for j in sink.list_jobs("all", None, None)}
    assert states == {1: JobState.CANCELED, 2: JobState.CANCELED, 3: JobState.PENDING, 4: JobState.PENDING}
    assert ask(printer, request(Operation.CANCEL_MY_JOBS)).code == StatusCode.SUCCESSFUL_OK
    assert [j.job_id for j in sink.list_jobs("not-completed", None, None)] == [3]


def test_validate_job_checks_without_creating_a_job() -> None:
    printer, sink = make_printer()
    assert ask(printer, request(Operation.VALIDATE_JOB, pdf())).code == StatusCode.SUCCESSFUL_OK
    odd = ask(printer, request(Operation.VALIDATE_JOB, job=[Attribute.of("media", Tag.KEYWORD, "roll_max_1x1in")]))
    assert odd.code == StatusCode.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
    bad = ask(printer, request(Operation.VALIDATE_JOB, Attribute.of("compression", Tag.KEYWORD, "lzw")))
    assert bad.code == StatusCode.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED
    assert sink.list_jobs("all", None, None) == []


@pytest.mark.parametrize("code", [Operation.HOLD_JOB, Operation.PAUSE_PRINTER, 0x4002, 0x7FFF])
def test_an_operation_not_in_the_table_is_not_supported(code: int) -> None:
    printer, _sink = make_printer()
    response = ask(printer, request(code))
    assert (response.code, status_message(response)) == (StatusCode.SERVER_ERROR_OPERATION_NOT_SUPPORTED,
                                                          "operation not supported")


def test_operations_supported_is_the_dispatch_table() -> None:
    printer, _sink = make_printer()
    response = ask(printer, request(Operation.GET_PRINTER_ATTRIBUTES,
                                    Attribute.of("requested-attributes", Tag.KEYWORD, "operations-supported")))
    advertised = group_values(response, GroupTag.PRINTER)["operations-supported"]
    assert advertised == list(Printer.OPERATIONS)
    assert len(Printer.OPERATIONS) == 11
    for code in Printer.OPERATIONS:
        assert ask(printer, request(code)).code != StatusCode.SERVER_ERROR_OPERATION_NOT_SUPPORTED


def test_not_accepting_refuses_new_jobs_and_says_why() -> None:
    printer, sink = make_printer()
    ask(printer, request(Operation.CREATE_JOB))
    sink.set_accepting(False, ("spool-area-full",))
    for code in (Operation.PRINT_JOB, Operation.CREATE_JOB, Operation.VALIDATE_JOB):
        response = ask(printer, request(code), PDF)
        assert response.code == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
    # A job created before is refused its document too: the memory sink takes none while not accepting.
    sent = ask(printer, request(Operation.SEND_DOCUMENT, job_id(1), Attribute.of("last-document", Tag.BOOLEAN, True)),
               PDF)
    assert sent.code == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
    state = group_values(ask(printer, request(Operation.GET_PRINTER_ATTRIBUTES)), GroupTag.PRINTER)
    assert state["printer-is-accepting-jobs"] is False
    assert state["printer-state-reasons"] == "spool-area-full"
    assert state["printer-state-message"] == "Not accepting jobs: spool-area-full"
    assert len(sink.list_jobs("all", None, None)) == 1


def test_printer_attributes_follow_host_state_and_requested_names() -> None:
    printer, _sink = make_printer()
    everything = ask(printer, request(Operation.GET_PRINTER_ATTRIBUTES))
    attrs = {a.name: a for a in everything.groups[1].attributes}
    assert attrs["printer-uri-supported"].value == URI
    assert attrs["printer-more-info"].value == f"http://{HOST}/"
    assert (attrs["printer-state"].value, attrs["queued-job-count"].value) == (3, 0)
    assert "media-col-database" not in attrs
    # Static attributes are the printer's encoded-once copies, not rebuilt per answer.
    assert isinstance(attrs["copies-supported"], FixedAttribute)
    assert isinstance(attrs["operations-supported"], FixedAttribute)
    again = ask(printer, request(Operation.GET_PRINTER_ATTRIBUTES))
    assert next(a for a in again.groups[1].attributes if a.name == "copies-supported") is attrs["copies-supported"]
    ask(printer, request(Operation.CREATE_JOB))
    wanted = Attribute.of("requested-attributes", Tag.KEYWORD, "printer-state", "queued-job-count", "sides-default",
                          "media-col-database")
    some = ask(printer, request(Operation.GET_PRINTER_ATTRIBUTES, wanted))
    assert [a.name for a in some.groups[1].attributes] == ["printer-state", "queued-job-count", "sides-default",
                                                           "media-col-database"]
    assert group_values(some, GroupTag.PRINTER)["queued-job-count"] == 1
    assert group_values(some, GroupTag.PRINTER)["printer-state"] == 4


def test_answers_echo_version_and_request_id_and_refuse_bad_requests() -> None:
    printer, _sink = make_printer()
    old = ask(printer, request(Operation.GET_PRINTER_ATTRIBUTES, version=(1, 1), request_id=4242))
    assert (old.code, old.version, old.request_id) == (StatusCode.SUCCESSFUL_OK, (1, 1), 4242)
    future = ask(printer, request(Operation.GET_PRINTER_ATTRIBUTES, version=(3, 0)))
    assert future.code == StatusCode.SERVER_ERROR_VERSION_NOT_SUPPORTED
    nowhere = ask(printer, request(Operation.GET_PRINTER_ATTRIBUTES, uri=None))
    assert (nowhere.code, status_message(nowhere)) == (StatusCode.CLIENT_ERROR_BAD_REQUEST, "missing printer-uri")
    assert [a.name for a in nowhere.groups[0].attributes] == ["attributes-charset", "attributes-natural-language",
                                                              "status-message"]


class BrokenSink(MemorySink):
    def get_job(self, job_id: int) -> JobInfo | None:
        raise RuntimeError("the disk caught fire")


def test_a_sink_failure_is_an_internal_error_not_a_crash() -> None:
    printer = Printer(make_printer()[0].config, BrokenSink())
    response = ask(printer, request(Operation.GET_JOB_ATTRIBUTES, job_id(1)))
    assert (response.code, status_message(response)) == (StatusCode.SERVER_ERROR_INTERNAL_ERROR,
                                                          "internal error; see the server log")


def test_a_client_gone_mid_document_gets_no_answer_and_leaves_nothing() -> None:
    printer, sink = make_printer()

    async def vanishing() -> AsyncIterator[bytes]:
        yield PDF[:100]
        raise ClientGone("client disconnected")

    req = Request(message=request(Operation.PRINT_JOB), host=HOST, document=vanishing())
    with pytest.raises(ClientGone):
        run(printer.handle(req))
    assert sink.list_jobs("all", None, None) == []
    assert sink.stored_bytes == 0
