"""Request checks and the typed attribute lookup (``ipp/checks.py``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipp import checks
from ipp.checks import RequestError
from ipp.codec import NAME_TAGS, Attribute, Collection, Group, GroupTag, Message, Range, Resolution, Tag, Value
from ipp.codec import StringWithLanguage as WithLanguage
from ipp.status import Operation, StatusCode
from tests.support.ipp_requests import URI, op_attrs, request

SAMPLE_VALUES: dict[int, object] = {
    Tag.INTEGER: 5,
    Tag.BOOLEAN: True,
    Tag.ENUM: 3,
    Tag.KEYWORD: "one-sided",
    Tag.NAME_WITHOUT_LANGUAGE: "anna",
    Tag.URI: URI,
    Tag.MIME_MEDIA_TYPE: "application/pdf",
    Tag.NO_VALUE: None,
}


def refusal(call: object, *args: object, **kwargs: object) -> tuple[int, str]:
    """The status and message of the RequestError ``call(*args)`` raises."""
    assert callable(call)
    with pytest.raises(RequestError) as error:
        call(*args, **kwargs)
    return error.value.status, error.value.message


def bad(message: str) -> tuple[int, str]:
    return StatusCode.CLIENT_ERROR_BAD_REQUEST, message


def op(*attributes: Attribute) -> dict[str, Attribute]:
    return {a.name: a for a in attributes}


# -- the typed lookup ---------------------------------------------------------------------------


def test_find_returns_a_well_typed_attribute_and_none_when_absent() -> None:
    limit = Attribute.of("limit", Tag.INTEGER, 5)
    assert checks.find(op(limit), "limit", Tag.INTEGER) is limit
    assert checks.find(op(), "limit", Tag.INTEGER) is None
    named = Attribute("job-name", [Value(Tag.NAME_WITH_LANGUAGE, WithLanguage("de", "Rechnung"))])
    assert checks.find(op(named), "job-name", NAME_TAGS) is named
    assert checks.optional_string(op(named), "job-name", NAME_TAGS) == "Rechnung"
    assert checks.optional_string(op(), "job-name", NAME_TAGS) == ""


def test_find_refuses_a_wrong_tag_or_two_values_as_bad_name() -> None:
    assert refusal(checks.find, op(Attribute.of("limit", Tag.KEYWORD, "5")), "limit", Tag.INTEGER) == bad("bad limit")
    assert refusal(checks.find, op(Attribute.of("limit", Tag.INTEGER, 1, 2)), "limit", Tag.INTEGER) == bad("bad limit")
    assert refusal(checks.one_integer, op(Attribute.of("limit", Tag.NO_VALUE)), "limit") == bad("bad limit")
    assert refusal(checks.one_integer, op(Attribute("limit", [])), "limit") == bad("bad limit")
    # The tag is what it claims but the Python value is not (a message built in code, not decoded).
    assert refusal(checks.one_integer, op(Attribute.of("limit", Tag.INTEGER, "5")), "limit") == bad("bad limit")


def test_many_takes_a_1setof_whose_every_value_has_the_tag() -> None:
    names = Attribute.of("requested-attributes", Tag.KEYWORD, "job-id", "job-state")
    assert checks.keywords(op(names), "requested-attributes") == ["job-id", "job-state"]
    mixed = Attribute("requested-attributes", [Value(Tag.KEYWORD, "job-id"), Value(Tag.INTEGER, 1)])
    assert refusal(checks.keywords, op(mixed), "requested-attributes") == bad("bad requested-attributes")
    assert checks.integers(op(Attribute.of("job-ids", Tag.INTEGER, 3, 4)), "job-ids") == [3, 4]
    assert checks.integers(op(), "job-ids") is None


def test_required_attribute_missing_or_bad() -> None:
    good = Attribute.of("last-document", Tag.BOOLEAN, False)
    assert checks.find(op(good), "last-document", Tag.BOOLEAN, required=True) is good
    expected = bad("missing or bad last-document")
    assert refusal(checks.find, op(), "last-document", Tag.BOOLEAN, required=True) == expected
    wrong = Attribute.of("last-document", Tag.INTEGER, 1)
    assert refusal(checks.find, op(wrong), "last-document", Tag.BOOLEAN, required=True) == expected


def test_the_one_value_family() -> None:
    attrs = op(Attribute.of("my-jobs", Tag.BOOLEAN, False), Attribute.of("which-jobs", Tag.KEYWORD, "all"),
               Attribute.of("limit", Tag.INTEGER, 3))
    assert checks.one_boolean(attrs, "my-jobs") is False
    assert checks.one_integer(attrs, "limit") == 3
    assert checks.one_boolean(attrs, "nothing") is None
    assert refusal(checks.one_boolean, attrs, "which-jobs") == bad("bad which-jobs")
    assert refusal(checks.keywords, attrs, "limit") == bad("bad limit")


TAGS = st.sampled_from(sorted(SAMPLE_VALUES))


@settings(max_examples=200, deadline=None)
@given(tags=st.lists(TAGS, max_size=4), wanted=TAGS, many=st.booleans())
def test_find_accepts_exactly_what_has_type_says(tags: list[int], wanted: int, many: bool) -> None:
    attribute = Attribute("x-test", [Value(tag, SAMPLE_VALUES[tag]) for tag in tags])
    count_ok = len(tags) >= 1 if many else len(tags) == 1
    if count_ok and all(tag == wanted for tag in tags):
        assert checks.find(op(attribute), "x-test", wanted, many=many) is attribute
    else:
        assert refusal(checks.find, op(attribute), "x-test", wanted, many=many) == bad("bad x-test")


def media_col(*members: Attribute) -> Attribute:
    return Attribute("media-col", [Value(Tag.BEG_COLLECTION, Collection(list(members)))])


def size(x: int, y: int) -> Attribute:
    return Attribute("media-size", [Value(Tag.BEG_COLLECTION, Collection([
        Attribute.of("x-dimension", Tag.INTEGER, x), Attribute.of("y-dimension", Tag.INTEGER, y)]))])


# -- the request as a whole (RFC 8011 §4.1) ------------------------------------------------------


def check(message: Message) -> None:
    group = message.groups[0] if message.groups else None
    checks.check_request(message, {a.name: a for a in group.attributes} if group else {})


def test_a_plain_request_passes() -> None:
    check(request(Operation.PRINT_JOB, job=[Attribute.of("copies", Tag.INTEGER, 1)]))
    check(request(Operation.GET_JOB_ATTRIBUTES, Attribute.of("job-uri", Tag.URI, f"{URI}/1"), uri=None))


def test_version_request_id_and_groups() -> None:
    assert refusal(check, request(Operation.PRINT_JOB, version=(0, 0))) == (
        StatusCode.SERVER_ERROR_VERSION_NOT_SUPPORTED, "IPP version not supported")
    assert refusal(check, request(Operation.PRINT_JOB, request_id=0)) == bad("request-id must be greater than 0")
    assert refusal(check, Message((2, 0), Operation.PRINT_JOB, 1, [])) == bad("missing operation attributes")
    job_first = Message((2, 0), Operation.PRINT_JOB, 1, [Group(GroupTag.JOB, []), Group(GroupTag.OPERATION, [])])
    assert refusal(check, job_first) == bad("missing operation attributes")
    twice = request(Operation.PRINT_JOB)
    twice.groups.append(Group(GroupTag.OPERATION, op_attrs()))
    assert refusal(check, twice) == bad("operation attributes sent twice")
    odd = request(Operation.PRINT_JOB)
    odd.groups.append(Group(GroupTag.UNSUPPORTED, []))
    assert refusal(check, odd) == bad("unexpected group tag 5")


def test_charset_and_language_come_first_and_are_well_formed() -> None:
    message = request(Operation.PRINT_JOB)
    attrs = message.groups[0].attributes
    attrs[0], attrs[1] = attrs[1], attrs[0]
    assert refusal(check, message) == bad("attributes-charset and attributes-natural-language must come first")
    without = request(Operation.PRINT_JOB)
    del without.groups[0].attributes[0]
    assert refusal(check, without) == bad("attributes-charset and attributes-natural-language must come first")
    as_keyword = request(Operation.PRINT_JOB)
    as_keyword.groups[0].attributes[0] = Attribute.of("attributes-charset", Tag.KEYWORD, "utf-8")
    assert refusal(check, as_keyword) == bad("bad attributes-charset")
    two = request(Operation.PRINT_JOB)
    two.groups[0].attributes[1] = Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en", "de")
    assert refusal(check, two) == bad("bad attributes-natural-language")
    latin = request(Operation.PRINT_JOB)
    latin.groups[0].attributes[0] = Attribute.of("attributes-charset", Tag.CHARSET, "iso-8859-1")
    with pytest.raises(RequestError) as error:
        check(latin)
    assert error.value.status == StatusCode.CLIENT_ERROR_CHARSET_NOT_SUPPORTED
    assert [a.value for a in error.value.unsupported] == ["iso-8859-1"]
    upper = request(Operation.PRINT_JOB)
    upper.groups[0].attributes[0] = Attribute.of("attributes-charset", Tag.CHARSET, "US-ASCII")
    check(upper)


def test_a_target_uri_is_required_and_must_be_one_uri() -> None:
    assert refusal(check, request(Operation.PRINT_JOB, uri=None)) == bad("missing printer-uri")
    as_name = request(Operation.PRINT_JOB, uri=None)
    as_name.groups[0].attributes.append(Attribute.of("printer-uri", Tag.NAME_WITHOUT_LANGUAGE, URI))
    assert refusal(check, as_name) == bad("bad printer-uri")
    two = request(Operation.PRINT_JOB, uri=None)
    two.groups[0].attributes.append(Attribute.of("printer-uri", Tag.URI, URI, URI))
    assert refusal(check, two) == bad("bad printer-uri")
    job_uri = request(Operation.CANCEL_JOB, Attribute.of("job-uri", Tag.KEYWORD, "x"))
    assert refusal(check, job_uri) == bad("bad job-uri")


@pytest.mark.parametrize(("attribute", "expected"), [
    (Attribute.of("", Tag.KEYWORD, "x"), bad("bad attribute name")),
    (Attribute.of("x" * 256, Tag.KEYWORD, "x"), bad("bad attribute name")),
    (Attribute.of("x-ext", Tag.EXTENSION, b"\x00"), bad("unsupported value tag in x-ext")),
    (Attribute("x-odd", [Value(0x5F, b"")]), bad("unsupported value tag in x-odd")),
    (Attribute.of("x-when", Tag.DATE_TIME, b"\x00" * 11), bad("bad dateTime in x-when")),
    (Attribute.of("page-ranges", Tag.RANGE_OF_INTEGER, Range(5, 1)), bad("bad range in page-ranges")),
    (Attribute.of("printer-resolution", Tag.RESOLUTION, Resolution(0, 300)),
     bad("bad resolution in printer-resolution")),
    (Attribute.of("printer-resolution", Tag.RESOLUTION, Resolution(300, 300, 9)),
     bad("bad resolution in printer-resolution")),
    (Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "a\udcffb"), bad("invalid UTF-8 in job-name")),
    (Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "a\x01b"), bad("control characters in job-name")),
    (Attribute.of("sides", Tag.KEYWORD, "één"), bad("bad value in sides")),
    (Attribute.of("sides", Tag.KEYWORD, "a\nb"), bad("bad value in sides")),
    (Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "n" * 256),
     (StatusCode.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG, "value of job-name too long")),
    (Attribute.of("job-message-to-operator", Tag.TEXT_WITHOUT_LANGUAGE, "t" * 1024),
     (StatusCode.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG, "value of job-message-to-operator too long")),
    (media_col(Attribute.of("media-type", Tag.KEYWORD, "a\x00")), bad("bad value in media-type")),
])
def test_check_syntax_refuses_values_that_break_their_tag(attribute: Attribute, expected: tuple[int, str]) -> None:
    assert refusal(checks.check_syntax, attribute) == expected
    # The same attribute anywhere in a request is refused the same way.
    assert refusal(check, request(Operation.PRINT_JOB, job=[attribute])) == expected


def test_check_syntax_takes_the_limits_themselves() -> None:
    checks.check_syntax(Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "n" * 255))
    checks.check_syntax(Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "tab\there"))
    checks.check_syntax(Attribute.of("x-text", Tag.TEXT_WITHOUT_LANGUAGE, "t" * 1023))
    checks.check_syntax(Attribute.of("x-name", Tag.NAME_WITH_LANGUAGE, WithLanguage("sv", "Åsa")))


# -- job template values ---------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.integers(-(2**31), 2**31 - 1))
def test_copies_are_supported_from_1_to_999(copies: int) -> None:
    assert checks.check_template_value(Attribute.of("copies", Tag.INTEGER, copies)) == (1 <= copies <= 999)


@pytest.mark.parametrize(("attribute", "supported"), [
    (Attribute.of("sides", Tag.KEYWORD, "two-sided-long-edge"), True),
    (Attribute.of("sides", Tag.KEYWORD, "three-sided"), False),
    (Attribute.of("sides", Tag.NAME_WITHOUT_LANGUAGE, "one-sided"), False),
    (Attribute.of("print-quality", Tag.ENUM, 5), True),
    (Attribute.of("print-quality", Tag.ENUM, 6), False),
    (Attribute.of("copies", Tag.INTEGER, 2, 3), False),
    (Attribute.of("media", Tag.KEYWORD, "iso_a4_210x297mm"), True),
    (Attribute.of("media", Tag.NAME_WITHOUT_LANGUAGE, "na_letter_8.5x11in"), True),
    (Attribute.of("media", Tag.KEYWORD, "iso_a0_841x1189mm"), False),
    (media_col(size(21000, 29700), Attribute.of("media-type", Tag.KEYWORD, "stationery")), True),
    (media_col(size(21000, 29701)), False),
    (media_col(Attribute.of("media-size-name", Tag.KEYWORD, "iso_a5_148x210mm"),
               Attribute.of("media-top-margin", Tag.INTEGER, 0)), True),
    (media_col(Attribute.of("media-top-margin", Tag.INTEGER, 1)), False),
    (media_col(Attribute.of("media-source", Tag.KEYWORD, "tray-9")), False),
    (Attribute.of("printer-resolution", Tag.RESOLUTION, Resolution(600, 600, 3)), True),
    (Attribute.of("printer-resolution", Tag.RESOLUTION, Resolution(1200, 1200, 3)), False),
    (Attribute.of("page-ranges", Tag.RANGE_OF_INTEGER, Range(1, 2), Range(4, 9)), True),
    (Attribute.of("page-ranges", Tag.RANGE_OF_INTEGER, Range(0, 2)), False),
    (Attribute.of("x-vendor-thing", Tag.KEYWORD, "anything"), True),
])
def test_check_template_value(attribute: Attribute, supported: bool) -> None:
    assert checks.check_template_value(attribute) is supported


# -- what operations ask for ------------------------------------------------------------------


def test_target_job_id_from_job_uri_or_job_id() -> None:
    assert checks.target_job_id(op(Attribute.of("job-uri", Tag.URI, f"{URI}/12"))) == 12
    assert checks.target_job_id(op(Attribute.of("job-uri", Tag.URI, f"{URI}/12/"))) == 12
    assert checks.target_job_id(op(Attribute.of("job-id", Tag.INTEGER, 5))) == 5
    for tail in ("²", "abc", str(2**31)):
        assert refusal(checks.target_job_id, op(Attribute.of("job-uri", Tag.URI, f"{URI}/{tail}"))) == (
            StatusCode.CLIENT_ERROR_NOT_FOUND, "no such job")
    assert refusal(checks.target_job_id, op()) == bad("missing job-id")
    assert refusal(checks.target_job_id, op(Attribute.of("job-id", Tag.ENUM, 5))) == bad("bad job-id")


def test_job_ticket_defaults_and_names() -> None:
    ticket, ignored = checks.job_ticket(op(), {}, 1024)
    assert (ticket.job_name, ticket.user_name, ticket.document_format) == (
        "Untitled", "anonymous", "application/octet-stream")
    assert ignored == []
    attrs = op(Attribute.of("document-name", Tag.NAME_WITHOUT_LANGUAGE, "inv.pdf"),
               Attribute.of("requesting-user-name", Tag.NAME_WITHOUT_LANGUAGE, "u" * 300),
               Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "Application/PDF"))
    ticket, _ = checks.job_ticket(attrs, {}, 1024)
    assert (ticket.job_name, ticket.document_name, ticket.document_format) == ("inv.pdf", "inv.pdf", "application/pdf")
    assert ticket.user_name == "u" * 255


def test_job_ticket_refusals() -> None:
    def ticket_for(*attributes: Attribute) -> object:
        return checks.job_ticket(op(*attributes), {}, 1024)

    assert refusal(ticket_for, Attribute.of("job-name", Tag.KEYWORD, "x")) == bad("bad job-name")
    assert refusal(ticket_for, Attribute.of("ipp-attribute-fidelity", Tag.INTEGER, 1)) == bad(
        "bad ipp-attribute-fidelity")
    assert refusal(ticket_for, Attribute.of("document-format", Tag.KEYWORD, "application/pdf")) == bad(
        "bad document-format")
    assert refusal(ticket_for, Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "image/gif"))[0] == (
        StatusCode.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED)
    assert refusal(ticket_for, Attribute.of("compression", Tag.KEYWORD, "compress"))[0] == (
        StatusCode.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED)
    assert refusal(ticket_for, Attribute.of("job-k-octets", Tag.INTEGER, 2)) == (
        StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, "job larger than the printer accepts")
    checks.job_ticket(op(Attribute.of("job-k-octets", Tag.INTEGER, 1)), {}, 1024)


def test_job_ticket_keeps_supported_template_values_as_data() -> None:
    job = op(Attribute.of("copies", Tag.INTEGER, 2), Attribute.of("page-ranges", Tag.RANGE_OF_INTEGER, Range(1, 3)),
             media_col(size(21000, 29700)), Attribute.of("sides", Tag.KEYWORD, "sideways"),
             Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "not a template attribute"))
    ticket, ignored = checks.job_ticket(op(), job, 1024)
    assert ticket.attributes == {"copies": 2, "page-ranges": [1, 3],
                                 "media-col": {"media-size": {"x-dimension": 21000, "y-dimension": 29700}}}
    assert [a.name for a in ignored] == ["sides"]
    fidelity = Attribute.of("ipp-attribute-fidelity", Tag.BOOLEAN, True)
    with pytest.raises(RequestError) as error:
        checks.job_ticket(op(fidelity), job, 1024)
    assert error.value.status == StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert [a.name for a in error.value.unsupported] == ["sides"]
