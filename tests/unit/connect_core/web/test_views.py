"""What the pages and the JSON API share (``connect_core.web.views``).

What it promises: every query parameter is checked by its declaration (``Param.parse``) and a bad
value is an ``HttpError(400)`` whose message names the parameter; ``parse_query`` ignores unknown
parameters and empty form fields; a list's ``next`` cursor round-trips through
``encode_cursor``/``decode_cursor`` and a cursor this list did not make is a 400; ``invoice_list``,
``invoice_detail``, ``act`` and ``send_invoices`` turn the service's answers into HTTP ones — another
person's invoice is a 404 (never a 409), a refused action a 409 in the refusal's words.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select

from connect_core.accounts.users import UserError
from connect_core.config import load_config
from connect_core.errors import ConfigError, ConnectError
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.invoices import service
from connect_core.invoices.access import Actor
from connect_core.invoices.actions import refusal
from connect_core.invoices.states import State
from connect_core.pipeline.worker import make_pipeline
from connect_core.store import open_database
from connect_core.store.schema import invoices as invoices_table
from connect_core.web.site import Site
from connect_core.web.views import (
    LIST_PARAMS,
    MAX_ID,
    SORTS,
    HttpError,
    Param,
    act,
    decode_cursor,
    encode_cursor,
    invoice_detail,
    invoice_list,
    parse_query,
    send_invoices,
    user_error,
)
from tests.support.documents import invoice_pdf

CLEO = Actor("cleo", admin=False, owners=frozenset({"CLEO-PC", "cleo"}))
BOB = Actor("bob", admin=False, owners=frozenset({"BOB-PC"}))
ADMIN = Actor("ada", admin=True)

PARAMS = {p.name: p for p in LIST_PARAMS}
ID = Param("id", "integer", "the invoice's id", minimum=1, maximum=MAX_ID)


def _http_error(call: Any, *args: Any, **kwargs: Any) -> HttpError:
    with pytest.raises(HttpError) as caught:
        call(*args, **kwargs)
    return caught.value


# -- Param.parse ----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("1", 1), ("200", 200), ("007", 7)])
def test_an_integer_within_its_bounds_is_its_value(raw: str, value: int) -> None:
    assert PARAMS["limit"].parse(raw) == value


@pytest.mark.parametrize("raw", ["0", "201", "-1", "+5", "1.0", "1e2", " 5", "5 ", "", "abc", "٣", "５",
                                 "1" * 17, "99999999999999999999"])
def test_an_integer_outside_its_bounds_or_not_a_plain_number_is_a_400_naming_it(raw: str) -> None:
    error = _http_error(PARAMS["limit"].parse, raw)
    assert error.status == 400
    assert error.message == "limit: give a whole number from 1 to 200"


def test_an_id_may_be_as_large_as_a_json_number_holds_exactly_and_no_larger() -> None:
    assert ID.parse(str(MAX_ID)) == 2**53 - 1
    assert _http_error(ID.parse, str(MAX_ID + 1)).status == 400


@pytest.mark.parametrize("raw", ["2026-03-01", "2024-02-29", "0001-01-01"])
def test_a_date_as_yyyy_mm_dd_is_a_date(raw: str) -> None:
    assert PARAMS["issued_from"].parse(raw) == dt.date.fromisoformat(raw)


@pytest.mark.parametrize("raw", ["2026-02-30", "2025-02-29", "2026-3-1", "20260301", "2026-03-01T00:00",
                                 "01.03.2026", "2026-W09-7", "", "２０２６-03-01", "2026-13-01"])
def test_a_date_in_any_other_form_is_a_400_naming_it(raw: str) -> None:
    error = _http_error(PARAMS["due_to"].parse, raw)
    assert (error.status, error.message) == (400, "due_to: give a date as YYYY-MM-DD")


@pytest.mark.parametrize(("raw", "value"), [("1250.00", Decimal("1250.00")), ("-5", Decimal("-5")),
                                            ("0.5", Decimal("0.5")), ("148,51", Decimal("148.51")),
                                            (" 42 ", Decimal("42")),
                                            ("999999999999999.99", Decimal("999999999999999.99"))])
def test_an_amount_with_a_decimal_point_or_comma_is_an_exact_decimal(raw: str, value: Decimal) -> None:
    parsed = PARAMS["amount_min"].parse(raw)
    assert parsed == value and isinstance(parsed, Decimal)


@pytest.mark.parametrize("raw", ["1,250.00", "1.250,00", "1250.001", "1e3", "NaN", "Infinity", "sNaN", ".5", "5.",
                                 "1_000", "", "   ", "€5", "5 €", "1" * 16, "٣", "1 000"])
def test_an_amount_in_any_other_form_is_a_400_naming_it(raw: str) -> None:
    error = _http_error(PARAMS["amount_max"].parse, raw)
    assert error.status == 400 and error.message.startswith("amount_max: ") and "amount" in error.message[12:]


def test_an_enum_takes_exactly_its_values() -> None:
    for sort in SORTS:
        assert PARAMS["sort"].parse(sort) == sort
    assert PARAMS["view"].parse("files-to-send") == "files-to-send"
    error = _http_error(PARAMS["sort"].parse, "NEWEST")
    assert error.status == 400 and error.message.startswith("sort: one of newest, oldest, ")
    assert _http_error(PARAMS["status"].parse, "Ready").message.startswith("status: one of received, ")


@pytest.mark.parametrize("raw", ["x" * 101, "a\x00b", "line\nbreak", "tab\there", "zero\u200bwidth", "\x1b[31m"])
def test_text_too_long_or_unprintable_is_a_400_naming_it(raw: str) -> None:
    error = _http_error(PARAMS["counterparty"].parse, raw)
    assert (error.status, error.message) == (400, "counterparty: at most 100 printable characters")


def test_text_of_the_allowed_length_is_taken_as_it_is() -> None:
    assert PARAMS["number"].parse("x" * 100) == "x" * 100
    assert PARAMS["counterparty"].parse("Bürobedarf & Söhne %_") == "Bürobedarf & Söhne %_"


def test_text_with_a_pattern_must_match_it() -> None:
    assert PARAMS["after"].parse("WzEsMl0") == "WzEsMl0"
    assert _http_error(PARAMS["after"].parse, "WzEs!Ml0").message == "after: not in the expected form"
    assert _http_error(PARAMS["after"].parse, "A" * 401).message == "after: at most 400 printable characters"


@settings(max_examples=400, deadline=None)
@given(param=st.sampled_from(LIST_PARAMS + (ID,)), raw=st.text(max_size=40))
def test_any_text_is_either_a_value_or_a_400_naming_the_parameter(param: Param, raw: str) -> None:
    try:
        param.parse(raw)
    except HttpError as error:
        assert error.status == 400
        assert error.message.startswith(f"{param.name}: ")


# -- parse_query ----------------------------------------------------------------------------


def test_parse_query_checks_the_declared_parameters_and_ignores_unknown_and_empty_ones() -> None:
    query = {"sort": "-total", "limit": "5", "number": "", "utm_source": "mail", "_": "1712",
             "issued_from": "2026-03-01"}
    assert parse_query(LIST_PARAMS, query) == {"sort": "-total", "limit": 5, "issued_from": dt.date(2026, 3, 1)}
    assert parse_query(LIST_PARAMS, {}) == {}


def test_parse_query_refuses_a_bad_value_of_a_declared_parameter() -> None:
    error = _http_error(parse_query, LIST_PARAMS, {"sort": "newest", "limit": "0"})
    assert error.status == 400 and error.message.startswith("limit: ")


def test_parse_query_leaves_known_extra_parameters_to_the_caller() -> None:
    assert parse_query(LIST_PARAMS, {"limit": "not a number", "view": "all"}, known_extra=("limit",)) == {
        "view": "all"}


# -- cursors ----------------------------------------------------------------------------------


def _cursor_values(sort: str) -> st.SearchStrategy[Any]:
    column = SORTS[sort][0]
    if column == "id":
        return st.integers(0, MAX_ID)
    if column in ("issue_date", "due_date"):
        return st.none() | st.dates().map(dt.date.isoformat)
    if column == "total":
        return st.none() | st.decimals(min_value=-10**15, max_value=10**15, places=2).map(str)
    return st.none() | st.text(max_size=200)


@st.composite
def cursors(draw: st.DrawFn) -> tuple[str, Any, int]:
    sort = draw(st.sampled_from(list(SORTS)))
    return sort, draw(_cursor_values(sort)), draw(st.integers(0, MAX_ID))


@settings(max_examples=300, deadline=None)
@given(cursors())
def test_a_cursor_round_trips_and_passes_as_the_after_parameter(case: tuple[str, Any, int]) -> None:
    sort, value, last_id = case
    text = encode_cursor(value, last_id)
    assert PARAMS["after"].parse(text) == text
    assert decode_cursor(text, sort) == (value, last_id)


def _forged(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(("text", "sort"), [
    ("%%%", "newest"), ("QQ", "newest"), (base64.urlsafe_b64encode(b"\xff\xfe").decode(), "newest"),
    (_forged({"a": 1}), "newest"), (_forged([1, 2, 3]), "newest"), (_forged([1]), "newest"), (_forged(5), "newest"),
    (_forged([1, -1]), "newest"), (_forged([1, MAX_ID + 1]), "newest"), (_forged([1, "7"]), "newest"),
    (_forged([1, 7.5]), "newest"), (_forged(["1", 7]), "newest"), (_forged([-3, 7]), "oldest"),
    (_forged([5, 7]), "number"), (_forged(["x" * 201, 7]), "number"), (_forged(["2026-02-30", 7]), "issue_date"),
    (_forged(["yesterday", 7]), "due_date"), (_forged(["12,50", 7]), "total"), (_forged([12.5, 7]), "-total"),
])
def test_a_cursor_this_list_did_not_make_is_a_400(text: str, sort: str) -> None:
    error = _http_error(decode_cursor, text, sort)
    assert error.status == 400 and error.message.startswith("after: ")


@pytest.mark.parametrize("value", ["sNaN", "NaN", "Infinity", "-Infinity"])
def test_a_cursor_with_a_total_that_is_not_a_number_is_a_400(value: str) -> None:
    """No list ever makes such a cursor (totals are finite amounts): it can only be forged."""
    error = _http_error(decode_cursor, _forged([value, 7]), "total")
    assert error.status == 400 and error.message.startswith("after: ")


@settings(max_examples=300, deadline=None)
@given(sort=st.sampled_from(list(SORTS)), text=st.from_regex(r"[A-Za-z0-9_=-]{1,60}", fullmatch=True))
def test_decoding_any_cursor_shaped_text_is_a_value_or_a_400(sort: str, text: str) -> None:
    try:
        value, last_id = decode_cursor(text, sort)
    except HttpError as error:
        assert error.status == 400
    else:
        assert isinstance(last_id, int) and 0 <= last_id <= MAX_ID
        assert value is None or isinstance(value, int | str)


# -- over a real store --------------------------------------------------------------------------


def _letter(path: Path, text: str) -> Path:
    page = canvas.Canvas(str(path), pagesize=A4)
    page.drawString(72, 700, text)
    page.showPage()
    page.save()
    return path


PRINTED = (("a", "CLEO-PC", State.READY), ("b", "cleo", State.READY), ("c", "BOB-PC", State.READY),
           ("d", "CLEO-PC", State.POSSIBLE_DUPLICATE), ("e", "cleo", State.NEEDS_ATTENTION),
           ("f", "BOB-PC", State.NEEDS_ATTENTION))
"""What the store holds: key, who printed it, the state the pipeline gives it."""


def _build(data_dir: Path, folder: Path) -> dict[str, int]:
    """Take every document of :data:`PRINTED` in through the real intake and pipeline; key → invoice id."""
    data_dir.mkdir(parents=True)
    folder.mkdir(parents=True)
    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    pipeline = make_pipeline(load_config(None, {"storage.data_dir": str(data_dir)}), db, spool)
    files = {"a": invoice_pdf(folder / "a.pdf", "RE-2026-0001", "100,00", "Alpha GmbH"),
             "b": invoice_pdf(folder / "b.pdf", "RE-2026-0002", "200,00", "Beta GmbH"),
             "c": invoice_pdf(folder / "c.pdf", "RE-2026-0003", "300,00", "Gamma GmbH"),
             "e": _letter(folder / "e.pdf", "A letter to Cleo."), "f": _letter(folder / "f.pdf", "A letter to Bob.")}
    files["d"] = files["a"]
    ids: dict[str, int] = {}
    try:
        for key, owner, _state in PRINTED:
            job = PrintIntake(db, spool).accept_file(files[key], door="import", user=owner)
            pipeline.convert_job(job)
            with db.reader.connect() as conn:
                ids[key] = int(conn.execute(select(invoices_table.c.id).where(invoices_table.c.job_id == job))
                               .scalar_one())
    finally:
        db.dispose()
    return ids


def _site(data_dir: Path, **overrides: str) -> Site:
    config = load_config(None, {"storage.data_dir": str(data_dir), **overrides})
    return Site(config, open_database(None, data_dir), Spool(data_dir / "spool"), "Pagero Printer")


@pytest.fixture(scope="module")
def template() -> Iterator[tuple[Path, dict[str, int]]]:
    root = Path(tempfile.mkdtemp(prefix="pagero-views-", dir="/var/tmp"))
    try:
        ids = _build(root / "data", root / "printed")
        yield root / "data", ids
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def shared(template: tuple[Path, dict[str, int]]) -> Iterator[tuple[Site, dict[str, int]]]:
    """A site over the store, for the tests that only read."""
    site = _site(template[0])
    yield site, template[1]
    site.db.dispose()


@pytest.fixture
def own(template: tuple[Path, dict[str, int]], data_root: Path) -> Iterator[tuple[Site, dict[str, int]]]:
    """A site over a private copy of the store, for a test that changes it."""
    shutil.copytree(template[0], data_root / "data")
    site = _site(data_root / "data")
    yield site, template[1]
    site.db.dispose()


def test_the_store_holds_what_was_printed(shared: tuple[Site, dict[str, int]]) -> None:
    site, ids = shared
    assert {key: service.get_invoice(site.db, ids[key]).state for key, _, _ in PRINTED} == {
        key: state for key, _, state in PRINTED}


def test_a_view_lists_its_states_and_a_clerk_only_hers(shared: tuple[Site, dict[str, int]]) -> None:
    site, ids = shared
    listing = invoice_list(site, CLEO, {"view": "files-to-send"})
    assert {inv.id for inv in listing["items"]} == {ids["a"], ids["b"]}
    assert listing["view"] == "files-to-send" and listing["next"] is None
    attention = invoice_list(site, ADMIN, {"view": "needs-attention"})
    assert {inv.id for inv in attention["items"]} == {ids["d"], ids["e"], ids["f"]}
    assert invoice_list(site, ADMIN, {"view": "sent"})["items"] == []
    assert {inv.id for inv in invoice_list(site, ADMIN, {})["items"]} == set(ids.values())  # default: all


def test_a_status_inside_the_view_narrows_it_and_one_outside_lists_nothing(
        shared: tuple[Site, dict[str, int]]) -> None:
    site, ids = shared
    narrowed = invoice_list(site, ADMIN, {"view": "needs-attention", "status": "possible-duplicate"})
    assert [inv.id for inv in narrowed["items"]] == [ids["d"]]
    assert invoice_list(site, ADMIN, {"view": "files-to-send", "status": "needs-attention"}) == {
        "items": [], "next": None, "view": "files-to-send"}
    assert {inv.id for inv in invoice_list(site, BOB, {"status": "ready"})["items"]} == {ids["c"]}


def test_filters_from_the_query_reach_the_list(shared: tuple[Site, dict[str, int]]) -> None:
    site, ids = shared
    values = parse_query(LIST_PARAMS, {"number": "re-2026-000", "amount_min": "150", "counterparty": "GMBH"})
    assert {inv.id for inv in invoice_list(site, ADMIN, values)["items"]} == {ids["b"], ids["c"]}
    assert {inv.id for inv in invoice_list(site, CLEO, values)["items"]} == {ids["b"]}


def _walk(site: Site, actor: Actor, values: dict[str, Any]) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor: str | None = None
    for _ in range(50):  # a liveness bound
        listing = invoice_list(site, actor, {**values, **({"after": cursor} if cursor else {})})
        pages.append([inv.id for inv in listing["items"]])
        cursor = listing["next"]
        if cursor is None:
            return pages
        assert PARAMS["after"].parse(cursor) == cursor  # a next cursor passes the parameter's own check
    raise AssertionError(f"the list never ended: {pages}")


@pytest.mark.parametrize("sort", ["newest", "oldest", "-total", "due_date"])
def test_following_next_walks_every_invoice_once_and_ends_with_no_next(
        shared: tuple[Site, dict[str, int]], sort: str) -> None:
    site, ids = shared
    whole = [inv.id for inv in invoice_list(site, ADMIN, {"sort": sort, "limit": 200})["items"]]
    assert sorted(whole) == sorted(ids.values())
    for limit in (1, 2, 4, 6):
        pages = _walk(site, ADMIN, {"sort": sort, "limit": limit})
        assert [i for page in pages for i in page] == whole
        assert all(len(page) == limit for page in pages[:-1]) and pages[-1]


def test_a_forged_cursor_with_a_total_that_is_not_a_number_is_a_400_not_a_database_error(
        shared: tuple[Site, dict[str, int]]) -> None:
    site, _ids = shared
    error = _http_error(invoice_list, site, ADMIN, {"sort": "total", "after": _forged(["sNaN", 1])})
    assert error.status == 400


def test_the_detail_of_another_clerks_invoice_is_a_404(shared: tuple[Site, dict[str, int]]) -> None:
    site, ids = shared
    error = _http_error(invoice_detail, site, CLEO, ids["c"])
    assert (error.status, error.message) == (404, "No such invoice.")
    assert _http_error(invoice_detail, site, ADMIN, 999999).status == 404
    detail = invoice_detail(site, CLEO, ids["a"])
    assert detail.invoice.id == ids["a"] and detail.actions == ("correct", "delete")


# -- acting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "delete", "resend", "restart"])
def test_a_clerk_acting_on_another_clerks_invoice_gets_a_404(own: tuple[Site, dict[str, int]], action: str) -> None:
    site, ids = own
    error = _http_error(act, site, CLEO, ids["f"], action, confirm=True)
    assert (error.status, error.message) == (404, "No such invoice.")
    assert service.get_invoice(site.db, ids["f"]).state is State.NEEDS_ATTENTION


def test_an_action_answers_the_invoices_new_state(own: tuple[Site, dict[str, int]]) -> None:
    site, ids = own
    assert act(site, CLEO, ids["d"], "approve") == {"id": ids["d"], "state": "ready"}
    assert act(site, CLEO, ids["e"], "delete") == {"id": ids["e"], "state": "deleted"}
    assert service.invoice_detail(site.db, ids["e"]).history[-1].who == "cleo"


def test_approve_follows_the_sending_mode_in_force(own: tuple[Site, dict[str, int]], data_root: Path) -> None:
    site, ids = own
    automatic = _site(data_root / "data", **{"sending.mode": "automatic"})
    try:
        assert act(automatic, CLEO, ids["d"], "approve") == {"id": ids["d"], "state": "queued"}
    finally:
        automatic.db.dispose()


def test_an_action_the_state_refuses_is_a_409_in_the_refusals_words(own: tuple[Site, dict[str, int]]) -> None:
    site, ids = own
    invoice = service.get_invoice(site.db, ids["a"])
    error = _http_error(act, site, CLEO, ids["a"], "approve")
    assert (error.status, error.message) == (409, refusal(invoice, "approve"))


def test_an_unknown_action_is_a_404(own: tuple[Site, dict[str, int]]) -> None:
    site, ids = own
    error = _http_error(act, site, ADMIN, ids["a"], "frobnicate")
    assert (error.status, error.message) == (404, "No action 'frobnicate'.")


def test_restart_without_an_online_account_is_a_409_saying_so(own: tuple[Site, dict[str, int]]) -> None:
    site, ids = own
    error = _http_error(act, site, ADMIN, ids["a"], "restart")
    assert (error.status, error.message) == (409, "No Pagero Online account is set up (Settings).")


def test_send_invoices_answers_400_404_and_409_and_queues_only_when_all_may_go(
        own: tuple[Site, dict[str, int]]) -> None:
    site, ids = own
    assert _http_error(send_invoices, site, CLEO, [ids["a"]], "Staging").status == 400
    assert _http_error(send_invoices, site, CLEO, [ids["a"], ids["c"]], "Test").status == 404
    refused = _http_error(send_invoices, site, CLEO, [ids["a"], ids["e"]], "Test")
    assert refused.status == 409 and f"{ids['e']} (needs-attention)" in refused.message
    assert service.get_invoice(site.db, ids["a"]).state is State.READY
    assert send_invoices(site, CLEO, None, "Test") == sorted([ids["a"], ids["b"]])
    assert service.get_invoice(site.db, ids["c"]).state is State.READY  # Bob's stays


def test_user_error_is_a_400_for_a_bad_user_or_setting_and_a_409_otherwise() -> None:
    assert user_error(UserError("no")).status == 400
    assert user_error(ConfigError("bad")).status == 400
    other = user_error(ConnectError("busy"))
    assert (other.status, other.message) == (409, "busy")


def test_a_delivered_invoice_is_listed_in_sent_and_resent_only_when_confirmed(own: tuple[Site, dict[str, int]]) -> None:
    site, ids = own
    # Only Pagero Online's answers make an invoice "delivered": set it directly.
    with sqlite3.connect(Path(site.config.data_dir) / "connect.db") as conn:
        conn.execute("UPDATE invoices SET state = 'delivered' WHERE id = ?", (ids["b"],))
    assert [inv.id for inv in invoice_list(site, CLEO, {"view": "sent"})["items"]] == [ids["b"]]
    unconfirmed = _http_error(act, site, CLEO, ids["b"], "resend")
    assert unconfirmed.status == 409 and unconfirmed.message.endswith(" — confirm to resend")
    assert service.get_invoice(site.db, ids["b"]).state is State.DELIVERED
    assert act(site, CLEO, ids["b"], "resend", confirm=True) == {"id": ids["b"], "state": "queued"}
