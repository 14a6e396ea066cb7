"""Invoice states and :func:`connect_core.invoices.history.transition`.

What they promise: one table (``TRANSITIONS``) says which moves exist — nothing leaves ``deleted``,
an invoice ``uploading`` cannot be deleted, every other state can; every state can be reached from
"no invoice yet".  ``transition`` is the only way to move: it refuses a move the table forbids and
one whose ``expect`` does not match the current state (changing nothing), and writes exactly one
history line (what, from, to, why, who) for each move it makes.  The actions a page offers
(``actions_for``) are moves the table allows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connect_core.config import load_config
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.invoices.actions import actions_for
from connect_core.invoices.errors import NotAllowed, NotFound
from connect_core.invoices.history import transition
from connect_core.invoices.model import Invoice
from connect_core.invoices.states import APPROVABLE, DONE, REACHED_RECIPIENT, TRANSITIONS, State, allowed
from connect_core.pipeline.worker import make_pipeline
from connect_core.store import Database, open_database
from connect_core.store.schema import events, invoices
from tests.support.documents import invoice_pdf

# -- the table ------------------------------------------------------------------------------


def test_nothing_leaves_deleted() -> None:
    assert [target for current, target in TRANSITIONS if current is State.DELETED] == []
    assert not any(allowed(State.DELETED, target) for target in State)


def test_an_invoice_uploading_or_sending_its_attachments_cannot_be_deleted() -> None:
    assert not allowed(State.UPLOADING, State.DELETED)
    assert not allowed(State.ATTACHING, State.DELETED)


@pytest.mark.parametrize("state", [s for s in State if s not in (State.DELETED, State.UPLOADING, State.ATTACHING)])
def test_every_other_state_can_be_deleted(state: State) -> None:
    assert allowed(state, State.DELETED)


def test_a_new_invoice_can_only_start_as_received() -> None:
    assert {target for current, target in TRANSITIONS if current is None} == {State.RECEIVED}
    assert not allowed(None, State.READY)


def test_every_state_can_be_reached_from_no_invoice_yet() -> None:
    reached: set[State | None] = {None}
    frontier: set[State | None] = {None}
    while frontier:
        frontier = {target for current, target in TRANSITIONS if current in frontier} - reached
        reached |= frontier
    assert reached == {None, *State}


def test_no_state_moves_to_itself() -> None:
    assert [pair for pair in TRANSITIONS if pair[0] is pair[1]] == []


def test_only_deleted_is_a_dead_end() -> None:
    dead_ends = {s for s in State if not any(current is s for current, _ in TRANSITIONS)}
    assert dead_ends == {State.DELETED}


def test_an_upload_under_way_can_only_end_sent_retried_or_held() -> None:
    assert {target for current, target in TRANSITIONS if current is State.UPLOADING} == {
        State.SENT, State.QUEUED, State.NEEDS_ATTENTION}


def test_every_sent_or_finished_state_can_be_sent_again() -> None:
    for state in REACHED_RECIPIENT | {State.SENT, State.CANCELLED}:
        assert allowed(state, State.QUEUED), state
    assert REACHED_RECIPIENT <= DONE


@pytest.mark.parametrize("state", sorted(APPROVABLE))
def test_an_approvable_state_can_be_released_to_ready_or_queued(state: State) -> None:
    assert allowed(state, State.READY) and allowed(state, State.QUEUED)


def test_only_queued_can_start_an_upload() -> None:
    assert {current for current, target in TRANSITIONS if target is State.UPLOADING} == {State.QUEUED}


def _invoice(state: State, *, restartable: bool = False, attempts: int = 0, last_error: str = "") -> Invoice:
    """An invoice in ``state`` as the service hands it out (fields that play no part here are None)."""
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    given = dict(id=1, uuid="u", state=state, reason="", job_id=1, owner="o", pages=1, first_page=1, last_page=1,
                 has_text=True, source_format="application/pdf", sha256="0", attempts=attempts,
                 last_error=last_error, restartable=restartable, created=now, updated=now)
    return Invoice(**{f.name: given.get(f.name) for f in dataclasses.fields(Invoice)})


ACTION_TARGETS = {"approve": (State.READY, State.QUEUED), "delete": (State.DELETED,), "resend": (State.QUEUED,),
                  "restart": (State.SENT,), "attach": (), "send-attachments": (State.ATTACHING,),
                  # checked again after a correction, it may land in any of the waiting states or be queued
                  "correct": (State.READY, State.QUEUED, State.NEEDS_ATTENTION, State.POSSIBLE_DUPLICATE)}


@pytest.mark.parametrize("state", list(State))
def test_every_action_a_page_offers_is_a_move_the_table_allows(state: State) -> None:
    variants = [_invoice(state), _invoice(state, attempts=3, last_error="HTTP 503"),
                _invoice(state, restartable=True)]
    for invoice in variants:
        for action in actions_for(invoice):
            for target in ACTION_TARGETS[action]:
                assert target is state or allowed(state, target), (state, action, target)


# -- transition over a real store --------------------------------------------------------------


class Store:
    """A real store holding one invoice taken in and converted by the real pipeline (it lands ``ready``)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.db: Database = open_database(None, root)
        spool = Spool(root / "spool")
        job = PrintIntake(self.db, spool).accept_file(invoice_pdf(root / "in.pdf", "RE-1"), door="import",
                                                      user="cleo")
        make_pipeline(load_config(None, {"storage.data_dir": str(root)}), self.db, spool).convert_job(job)
        with self.db.reader.connect() as conn:
            self.invoice_id = int(conn.execute(select(invoices.c.id)).scalar_one())

    def state(self) -> State:
        with self.db.reader.connect() as conn:
            return State(conn.execute(select(invoices.c.state).where(invoices.c.id == self.invoice_id)).scalar_one())

    def reason(self) -> str:
        with self.db.reader.connect() as conn:
            return str(conn.execute(select(invoices.c.reason).where(invoices.c.id == self.invoice_id)).scalar_one())

    def history(self) -> list[Any]:
        with self.db.reader.connect() as conn:
            return list(conn.execute(select(events).where(events.c.invoice_id == self.invoice_id)
                                     .order_by(events.c.id)))

    def force(self, state: State) -> None:
        """Put the invoice in ``state`` directly (a test set-up; only the outbox and Online reach most states)."""
        with sqlite3.connect(self.root / "connect.db", timeout=30) as conn:
            conn.execute("UPDATE invoices SET state = ? WHERE id = ?", (state.value, self.invoice_id))

    def move(self, target: State, what: str = "moved", *, why: str = "", who: str = "tester",
             expect: State | None = None) -> State:
        with self.db.writer.begin() as conn:
            return transition(conn, self.invoice_id, target, what, why=why, who=who, expect=expect)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    root = Path(tempfile.mkdtemp(prefix="pagero-states-", dir="/var/tmp"))
    try:
        made = Store(root / "data")
        yield made
        made.db.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_pipeline_went_through_transition_for_every_move(store: Store) -> None:
    store.force(State.READY)
    moves = [(row.from_state, row.to_state) for row in store.history() if row.to_state]
    assert moves[:3] == [(None, "received"), ("received", "converted"), ("converted", "ready")]


def test_an_allowed_move_changes_the_state_and_writes_one_history_line(store: Store) -> None:
    store.force(State.READY)
    before = len(store.history())
    assert store.move(State.QUEUED, "queued for a test", why="because", who="cleo") is State.READY
    assert store.state() is State.QUEUED
    lines = store.history()
    assert len(lines) == before + 1
    last = lines[-1]
    assert (last.what, last.from_state, last.to_state, last.why, last.who) == (
        "queued for a test", "ready", "queued", "because", "cleo")


def test_a_move_the_table_forbids_is_refused_and_changes_nothing(store: Store) -> None:
    store.force(State.READY)
    before = store.history()
    with pytest.raises(NotAllowed, match=rf"^invoice {store.invoice_id} is ready; it cannot become sent$"):
        store.move(State.SENT)
    assert store.state() is State.READY
    assert store.history() == before


def test_a_move_whose_expected_state_does_not_match_is_refused_and_changes_nothing(store: Store) -> None:
    store.force(State.READY)
    before = store.history()
    with pytest.raises(NotAllowed, match=rf"^invoice {store.invoice_id} is ready, not needs-attention$"):
        store.move(State.QUEUED, expect=State.NEEDS_ATTENTION)  # the table allows ready → queued
    assert store.state() is State.READY
    assert store.history() == before
    assert store.move(State.QUEUED, expect=State.READY) is State.READY


def test_nothing_moves_a_deleted_invoice(store: Store) -> None:
    store.force(State.DELETED)
    before = store.history()
    for target in State:
        with pytest.raises(NotAllowed):
            store.move(target)
    assert store.state() is State.DELETED
    assert store.history() == before


def test_an_unknown_invoice_is_not_found(store: Store) -> None:
    with store.db.writer.begin() as conn, pytest.raises(NotFound, match=r"^no invoice 999999$"):
        transition(conn, 999999, State.DELETED, "deleted")


def test_the_reason_is_kept_when_held_and_cleared_when_released(store: Store) -> None:
    store.force(State.QUEUED)
    store.move(State.NEEDS_ATTENTION, "held", why="Pagero Online said no")
    assert store.reason() == "Pagero Online said no"
    store.move(State.READY, "approved", why="a person looked")
    assert store.reason() == ""


def test_a_whole_life_is_one_history_line_per_move(store: Store) -> None:
    store.force(State.READY)
    before = len(store.history())
    life = [State.QUEUED, State.UPLOADING, State.QUEUED, State.UPLOADING, State.SENT, State.DELIVERED,
            State.FETCHED, State.ACCEPTED, State.QUEUED, State.UPLOADING, State.NEEDS_ATTENTION, State.DELETED]
    for target in life:
        store.move(target, f"to {target.value}")
    lines = store.history()[before:]
    assert [(row.from_state, row.to_state) for row in lines] == list(
        zip(["ready", *[s.value for s in life[:-1]]], [s.value for s in life], strict=True))
    assert all(row.who == "tester" for row in lines)


@settings(max_examples=40, deadline=None)
@given(start=st.sampled_from(list(State)), targets=st.lists(st.sampled_from(list(State)), min_size=1, max_size=8))
def test_any_sequence_of_moves_succeeds_exactly_where_the_table_allows(
        store: Store, start: State, targets: list[State]) -> None:
    store.force(start)
    current = start
    for target in targets:
        before = len(store.history())
        if allowed(current, target):
            assert store.move(target) is current
            current = target
            assert len(store.history()) == before + 1
        else:
            with pytest.raises(NotAllowed):
                store.move(target)
            assert len(store.history()) == before
        assert store.state() is current
