"""Validation: each check in ``CHECKS`` finds one problem in plain words, and ``verdict`` picks the state.

A document with no pages is ``invalid``; too many pages, a PDF too large, no usable text
layer, or invoice fields (number, total, seller) that cannot be read each need attention,
with a reason naming what is wrong.  ``verdict`` puts ``invalid`` before ``needs-attention``
before ``possible-duplicate``; a clean invoice is ``ready`` (manual) or ``queued``
(automatic).  ``duplicate_of`` finds an earlier, not deleted invoice in the store with the
same content, or the same number from the same seller, inside the window, unless the
office turned duplicate checks off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert

from connect_core.invoices.states import State
from connect_core.pipeline.validate import (
    CHECKS,
    Candidate,
    Finding,
    Policy,
    duplicate_of,
    invoice_fields,
    page_count,
    run_checks,
    size,
    text_layer,
    verdict,
)
from connect_core.store import Database, open_database, print_jobs, utcnow
from connect_core.store.schema import invoices
from ipp.status import JobState

GOOD = Candidate(pages=2, has_text=True, size_bytes=40_000, sha256="a" * 64, source_format="application/pdf",
                 invoice_number="RE-2026-0001", total=Decimal("1234.56"), seller="ACME Bürobedarf GmbH")
"""An invoice every check passes."""


def candidate(**changes: object) -> Candidate:
    return dataclasses.replace(GOOD, **changes)  # type: ignore[arg-type]


# -- the checks, one by one ---------------------------------------------------------------


def test_a_good_invoice_passes_every_check() -> None:
    assert run_checks(GOOD, Policy()) == []
    assert all(check(GOOD, Policy()) is None for check in CHECKS)


def test_a_document_without_pages_is_invalid() -> None:
    finding = page_count(candidate(pages=0), Policy())
    assert finding is not None
    assert (finding.check, finding.verdict) == ("pages", State.INVALID)
    assert "no pages" in finding.reason


def test_more_pages_than_the_limit_needs_attention_naming_the_count_and_the_limit() -> None:
    policy = Policy(max_pages=10)
    assert page_count(candidate(pages=10), policy) is None  # the limit itself is allowed
    finding = page_count(candidate(pages=11), policy)
    assert finding is not None and finding.verdict is State.NEEDS_ATTENTION
    assert "11 pages" in finding.reason and "10" in finding.reason


def test_a_pdf_larger_than_allowed_needs_attention_naming_both_sizes() -> None:
    policy = Policy(max_bytes=2 * 2**20)
    assert size(candidate(size_bytes=2 * 2**20), policy) is None
    finding = size(candidate(size_bytes=5 * 2**20), policy)
    assert finding is not None and (finding.check, finding.verdict) == ("size", State.NEEDS_ATTENTION)
    assert "5 MB" in finding.reason and "2 MB" in finding.reason


def test_no_text_layer_needs_attention_and_says_whether_it_was_an_image() -> None:
    assert text_layer(GOOD, Policy()) is None
    scanned = text_layer(candidate(has_text=False, source_format="image/jpeg"), Policy())
    assert scanned is not None and scanned.verdict is State.NEEDS_ATTENTION
    assert "an image" in scanned.reason
    unreadable = text_layer(candidate(has_text=False, source_format="application/postscript"), Policy())
    assert unreadable is not None and unreadable.verdict is State.NEEDS_ATTENTION
    assert "an image" not in unreadable.reason and "cannot be read" in unreadable.reason


def test_every_reason_the_reader_gives_for_not_sending_it_is_named_and_asks_a_person() -> None:
    reasons = ("The invoice number could not be read.", "The total is doubtful (12.50).")
    finding = invoice_fields(candidate(not_ready=reasons), Policy())
    assert finding is not None and (finding.check, finding.verdict) == ("fields", State.NEEDS_ATTENTION)
    assert all(reason in finding.reason for reason in reasons) and "approve" in finding.reason


def test_an_invoice_the_reader_is_sure_of_passes_the_fields_check() -> None:
    assert invoice_fields(candidate(not_ready=()), Policy()) is None


def test_without_a_text_layer_the_fields_check_stays_silent_and_the_text_check_speaks() -> None:
    blind = candidate(has_text=False, invoice_number=None, total=None, seller=None, not_ready=("No total.",))
    assert invoice_fields(blind, Policy()) is None
    assert [f.check for f in run_checks(blind, Policy())] == ["text"]


def test_run_checks_reports_every_problem_found_by_its_check() -> None:
    findings = run_checks(candidate(pages=600, size_bytes=200 * 2**20, not_ready=("No total.",)), Policy())
    assert [f.check for f in findings] == ["pages", "size", "fields"]
    assert all(isinstance(f, Finding) and f.reason for f in findings)


# -- the verdict ---------------------------------------------------------------------------


def test_a_clean_invoice_is_ready_when_sending_is_manual_and_queued_when_automatic() -> None:
    assert verdict([], None, Policy(automatic=False)) == (State.READY, "")
    assert verdict([], None, Policy(automatic=True)) == (State.QUEUED, "")


def test_a_duplicate_is_held_even_in_automatic_mode_and_the_reason_names_the_earlier_invoice() -> None:
    state, reason = verdict([], 41, Policy(automatic=True))
    assert state is State.POSSIBLE_DUPLICATE
    assert "invoice 41" in reason


def test_needs_attention_comes_before_duplicate_and_invalid_before_needs_attention() -> None:
    attention = Finding("text", State.NEEDS_ATTENTION, "No text.")
    invalid = Finding("pages", State.INVALID, "No pages.")
    assert verdict([attention], 7, Policy()) == (State.NEEDS_ATTENTION, "No text.")
    assert verdict([attention, invalid], 7, Policy()) == (State.INVALID, "No pages.")


def test_every_reason_of_the_deciding_kind_is_given() -> None:
    findings = run_checks(candidate(pages=600, not_ready=("The total could not be read.",)), Policy())
    state, reason = verdict(findings, None, Policy())
    assert state is State.NEEDS_ATTENTION
    assert "600 pages" in reason and "total" in reason


# -- duplicates against a real store ---------------------------------------------------------


@pytest.fixture
def db(data_root: Path) -> Iterator[Database]:
    database = open_database(None, data_root)
    yield database
    database.dispose()


def stored(conn: Connection, *, sha256: str, number: str | None = None, seller: str | None = None,
           state: State = State.READY, age_days: float = 0) -> int:
    """An earlier invoice in the store (with its print job), received ``age_days`` ago."""
    at = utcnow() - dt.timedelta(days=age_days)
    job_id = int(conn.execute(insert(print_jobs).values(
        uuid=str(uuid.uuid4()), name="earlier.pdf", user_name="ben", document_format="application/pdf",
        state=int(JobState.COMPLETED), created_at=at)).inserted_primary_key[0])  # type: ignore[index]
    return int(conn.execute(insert(invoices).values(
        uuid=str(uuid.uuid4()), job_id=job_id, owner="ben", state=state.value, document_uuid=str(uuid.uuid4()),
        sha256=sha256, invoice_number=number, seller=seller, created_at=at,
        updated_at=at)).inserted_primary_key[0])  # type: ignore[index]


def test_the_same_content_received_before_is_a_duplicate_of_that_invoice(db: Database) -> None:
    with db.writer.begin() as conn:
        earlier = stored(conn, sha256=GOOD.sha256, number="OTHER-1", seller="Someone else")
        assert duplicate_of(conn, GOOD, Policy(), utcnow()) == earlier


def test_the_same_number_from_the_same_seller_is_a_duplicate_whatever_the_bytes(db: Database) -> None:
    with db.writer.begin() as conn:
        earlier = stored(conn, sha256="b" * 64, number=GOOD.invoice_number, seller=GOOD.seller)
        assert duplicate_of(conn, GOOD, Policy(), utcnow()) == earlier


def test_the_same_number_from_another_seller_is_not_a_duplicate(db: Database) -> None:
    with db.writer.begin() as conn:
        stored(conn, sha256="b" * 64, number=GOOD.invoice_number, seller="Papier Schmidt KG")
        stored(conn, sha256="c" * 64, number="RE-2026-9999", seller=GOOD.seller)
        assert duplicate_of(conn, GOOD, Policy(), utcnow()) is None


def test_a_number_without_a_seller_is_not_enough_to_call_it_a_duplicate(db: Database) -> None:
    with db.writer.begin() as conn:
        stored(conn, sha256="b" * 64, number=GOOD.invoice_number, seller=None)
        assert duplicate_of(conn, candidate(seller=None), Policy(), utcnow()) is None


def test_an_invoice_received_before_the_window_is_not_a_duplicate(db: Database) -> None:
    policy = Policy(duplicate_window_days=30)
    with db.writer.begin() as conn:
        stored(conn, sha256=GOOD.sha256, number=GOOD.invoice_number, seller=GOOD.seller, age_days=31)
        assert duplicate_of(conn, GOOD, policy, utcnow()) is None
        inside = stored(conn, sha256=GOOD.sha256, age_days=29)
        assert duplicate_of(conn, GOOD, policy, utcnow()) == inside


def test_a_deleted_invoice_is_not_a_duplicate(db: Database) -> None:
    with db.writer.begin() as conn:
        stored(conn, sha256=GOOD.sha256, state=State.DELETED)
        assert duplicate_of(conn, GOOD, Policy(), utcnow()) is None


def test_an_invoice_is_never_a_duplicate_of_itself(db: Database) -> None:
    with db.writer.begin() as conn:
        itself = stored(conn, sha256=GOOD.sha256)
        assert duplicate_of(conn, GOOD, Policy(), utcnow(), exclude=itself) is None


def test_the_earliest_of_several_earlier_copies_is_named(db: Database) -> None:
    with db.writer.begin() as conn:
        first = stored(conn, sha256=GOOD.sha256, age_days=3)
        stored(conn, sha256=GOOD.sha256, age_days=1)
        assert duplicate_of(conn, GOOD, Policy(), utcnow()) == first


def test_with_duplicate_checks_off_nothing_is_a_duplicate(db: Database) -> None:
    with db.writer.begin() as conn:
        stored(conn, sha256=GOOD.sha256, number=GOOD.invoice_number, seller=GOOD.seller)
        assert duplicate_of(conn, GOOD, Policy(duplicates=False), utcnow()) is None
        assert duplicate_of(conn, GOOD, Policy(duplicates=True), utcnow()) is not None
