"""The outbox: every queued invoice reaches Pagero Online exactly once, whatever fails.

``send_one`` claims the next due queued invoice (``uploading``, "outcome unknown" set),
uploads its own PDF with its uuid as ``senderReference`` and records ``sent`` with the
file id.  A connection error, 408, 429 or 5xx puts it back to ``queued`` with the error
and a later ``next_attempt_at`` (full-jitter backoff, at least ``Retry-After``); after
``max_attempts`` it needs attention.  A refusal (4xx) stops it in ``needs-attention`` with
the service's words.  Whenever an attempt's outcome is unknown (a 5xx, a lost answer,
a crash that ``recover`` finds in ``uploading``) the next attempt looks the invoice up
by its ``senderReference`` first and never sends it twice.  A circuit breaker holds
invoices without spending attempts while the service fails.  ``poll_once`` follows each
sent invoice as Pagero Online moves it on: delivered, fetched, or stopped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from connect_core.config import load_config
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.invoices import service
from connect_core.invoices.states import State
from connect_core.online.client import Account, OnlineClient
from connect_core.online.outbox import RETRY_AFTER_CAP, Breaker, Outbox, SendingPolicy, make_outbox
from connect_core.pipeline.worker import Pipeline, make_pipeline
from connect_core.store import Database, open_database, utcnow
from connect_core.store.schema import events, invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import free_port

QUICK = SendingPolicy(poll_interval=0.1, idle_wait=0.1)
"""Default retries and breaker; sent invoices may be checked again after 50 ms."""


@dataclass
class Desk:
    """A data dir whose pipeline queues good invoices, and an outbox for the emulated service."""

    root: Path
    db: Database
    spool: Spool
    intake: PrintIntake
    pipeline: Pipeline
    outbox: Outbox
    client: OnlineClient

    def print(self, number: str, *, seller: str = "ACME Bürobedarf GmbH") -> int:
        """Print one invoice through the pipeline; returns its invoice id."""
        path = invoice_pdf(self.root / f"{number}.pdf", number, seller=seller)
        job_id = self.intake.accept_file(path, door="import", user="ben")
        self.pipeline.convert_job(job_id)
        with self.db.reader.connect() as conn:
            return int(conn.execute(select(invoices.c.id).where(invoices.c.job_id == job_id)).scalar_one())

    def row(self, invoice_id: int) -> Any:
        with self.db.reader.connect() as conn:
            return conn.execute(select(invoices).where(invoices.c.id == invoice_id)).one()

    def history(self, invoice_id: int) -> list[str]:
        with self.db.reader.connect() as conn:
            return [e.what for e in conn.execute(select(events).where(events.c.invoice_id == invoice_id)
                                                 .order_by(events.c.id))]

    def pdf(self, invoice_id: int) -> Path:
        row = self.row(invoice_id)
        return self.spool.job_dir(row.document_uuid) / row.pdf_name

    def set(self, invoice_id: int, **values: Any) -> None:
        """Change stored columns as time or a crash would (the store is the outbox's only memory)."""
        with self.db.writer.begin() as conn:
            conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(**values))

    def due_now(self, invoice_id: int) -> None:
        """Let the retry time pass."""
        self.set(invoice_id, next_attempt_at=utcnow() - dt.timedelta(seconds=1))


def account(emulator: Emulator) -> Account:
    return Account(url=emulator.url, username="demo", password="demo", company_id="demo")


def open_desk(root: Path, emulator: Emulator, policy: SendingPolicy = QUICK, *, mode: str = "automatic",
              rng: random.Random | None = None) -> Desk:
    data_dir = root / "data"
    data_dir.mkdir(exist_ok=True)
    config = load_config(None, {"storage.data_dir": str(data_dir), "sending.mode": mode})
    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    client = OnlineClient(account(emulator))
    outbox = Outbox(db, spool, client, policy=policy, rng=rng or random.Random(7))
    return Desk(root, db, spool, PrintIntake(db, spool), make_pipeline(config, db, spool), outbox, client)


@pytest.fixture
def desk(data_root: Path, emulator: Emulator) -> Iterator[Desk]:
    desk = open_desk(data_root, emulator)
    yield desk
    desk.db.dispose()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- sending --------------------------------------------------------------------------------


def test_a_queued_invoice_is_uploaded_once_and_becomes_sent_with_its_file_id(data_root: Path,
                                                                            emulator: Emulator) -> None:
    data_dir = data_root / "data"
    data_dir.mkdir()
    config = load_config(None, {
        "storage.data_dir": str(data_dir), "sending.mode": "automatic", "online.url": emulator.url,
        "online.username": "demo", "online.password": "demo", "online.company_id": "demo"})
    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    try:
        outbox = make_outbox(config, db, spool)
        assert outbox is not None
        job_id = PrintIntake(db, spool).accept_file(invoice_pdf(data_root / "a.pdf", "RE-2026-0001"),
                                                   door="import", user="ben")
        make_pipeline(config, db, spool).convert_job(job_id)
        with db.reader.connect() as conn:
            (queued,) = conn.execute(select(invoices)).all()
        assert queued.state == State.QUEUED.value

        assert outbox.send_one() is True
        assert outbox.send_one() is False  # nothing else to do: it is not sent again

        with db.reader.connect() as conn:
            sent = conn.execute(select(invoices).where(invoices.c.id == queued.id)).one()
        (file,) = emulator.files()
        assert sent.state == State.SENT.value
        assert sent.remote_file_id == file["id"]
        assert file["senderReference"] == sent.uuid
        assert file["sendMode"] == "Production" and file["sendingCompanyId"] == "demo"
        assert file["sha256"] == sha256(spool.job_dir(sent.document_uuid) / sent.pdf_name)
        assert (sent.attempts, bool(sent.outcome_unknown), sent.last_error) == (1, False, "")
        assert sent.sent_at is not None and sent.next_attempt_at is None
        with db.reader.connect() as conn:
            history = [e.what for e in conn.execute(select(events).where(events.c.invoice_id == sent.id))]
        assert history[-1] == "uploaded to Pagero Online (Production)"
    finally:
        db.dispose()


def test_without_an_online_account_there_is_no_outbox(data_root: Path) -> None:
    config = load_config(None, {"storage.data_dir": str(data_root)})
    db = open_database(None, data_root)
    try:
        assert make_outbox(config, db, Spool(data_root / "spool")) is None
    finally:
        db.dispose()


def test_an_invoice_a_person_sends_goes_in_the_environment_they_chose(data_root: Path, emulator: Emulator) -> None:
    desk = open_desk(data_root, emulator, mode="manual")
    try:
        invoice_id = desk.print("RE-2026-0002")
        assert desk.row(invoice_id).state == State.READY.value
        assert desk.outbox.send_one() is False  # ready is not queued: it waits for a person

        assert service.send(desk.db, [invoice_id], "Test") == [invoice_id]
        assert desk.outbox.send_one() is True

        assert desk.row(invoice_id).state == State.SENT.value
        assert [f["sendMode"] for f in emulator.files()] == ["Test"]
        assert "uploaded to Pagero Online (Test)" in desk.history(invoice_id)
    finally:
        desk.db.dispose()


def test_each_invoice_of_a_split_print_job_uploads_its_own_pdf(desk: Desk, emulator: Emulator) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for number, seller in (("RE-2026-0301", "ACME Bürobedarf GmbH"), ("RE-2026-0302", "Papier Schmidt KG")):
        for page in PdfReader(invoice_pdf(desk.root / f"{number}.pdf", number, seller=seller)).pages:
            writer.add_page(page)
    with open(desk.root / "batch.pdf", "wb") as handle:
        writer.write(handle)
    job_id = desk.intake.accept_file(desk.root / "batch.pdf", door="import", user="ben")
    desk.pipeline.convert_job(job_id)
    with desk.db.reader.connect() as conn:
        ids = [r.id for r in conn.execute(select(invoices.c.id).where(invoices.c.job_id == job_id))]
    assert len(ids) == 2

    assert desk.outbox.send_one() and desk.outbox.send_one()
    assert desk.outbox.send_one() is False

    files = {f["senderReference"]: f for f in emulator.files()}
    assert len(files) == 2
    for invoice_id in ids:
        row = desk.row(invoice_id)
        assert row.state == State.SENT.value
        assert files[row.uuid]["sha256"] == sha256(desk.pdf(invoice_id))
        assert files[row.uuid]["id"] == row.remote_file_id


# -- failures ---------------------------------------------------------------------------------


def test_a_5xx_puts_the_invoice_back_in_the_queue_for_later_with_the_error_recorded(data_root: Path,
                                                                                   emulator: Emulator) -> None:
    # base 30 s: the first retry comes 0-60 s later, never "right now".
    desk = open_desk(data_root, emulator, SendingPolicy(base_delay=30.0, poll_interval=0.1))
    try:
        invoice_id = desk.print("RE-2026-0003")
        emulator.faults(error_rate=1.0)
        before = utcnow()

        assert desk.outbox.send_one() is True

        row = desk.row(invoice_id)
        assert row.state == State.QUEUED.value
        assert row.attempts == 1
        assert "Pagero Online answered 5" in row.last_error
        assert before < row.next_attempt_at <= before + dt.timedelta(seconds=61)
        assert row.next_attempt_at > utcnow()
        assert row.outcome_unknown  # a gateway's 5xx may hide a stored file
        assert desk.history(invoice_id)[-2:] == ["upload attempt 1", "will retry"]
        assert desk.outbox.send_one() is False  # not due yet: no attempt is spent
        assert desk.row(invoice_id).attempts == 1
        assert emulator.files() == []

        # The service recovers and the retry time comes: it is looked up, not found, and sent once.
        emulator.faults()
        desk.due_now(invoice_id)
        assert desk.outbox.send_one() is True
        row = desk.row(invoice_id)
        assert row.state == State.SENT.value and row.attempts == 2 and row.last_error == ""
        assert [f["senderReference"] for f in emulator.files()] == [row.uuid]
    finally:
        desk.db.dispose()


def test_a_429_waits_at_least_retry_after_and_does_not_count_against_the_breaker(data_root: Path,
                                                                                emulator: Emulator) -> None:
    desk = open_desk(data_root, emulator, SendingPolicy(breaker_threshold=1, poll_interval=0.1))
    try:
        invoice_id = desk.print("RE-2026-0004")
        emulator.faults(throttle_rate=1.0, retry_after=120)
        before = utcnow()

        assert desk.outbox.send_one() is True

        row = desk.row(invoice_id)
        assert row.state == State.QUEUED.value
        assert "429" in row.last_error
        assert row.next_attempt_at >= before + dt.timedelta(seconds=120)
        assert not row.outcome_unknown  # a 429 means the file was not taken
        assert desk.outbox.breaker.state == "closed"
    finally:
        desk.db.dispose()


def test_a_refusal_stops_the_invoice_in_needs_attention_with_the_services_words(desk: Desk,
                                                                               emulator: Emulator) -> None:
    invoice_id = desk.print("RE-2026-0005")
    emulator.admin("/_emulator/reject", {"status": 422, "message": "Buyer reference (BT-10) is missing"})

    assert desk.outbox.send_one() is True

    row = desk.row(invoice_id)
    assert row.state == State.NEEDS_ATTENTION.value
    assert "Buyer reference (BT-10) is missing" in row.reason and "422" in row.reason
    assert row.last_error == row.reason
    assert row.next_attempt_at is None
    assert desk.history(invoice_id)[-1] == "refused by Pagero Online"
    assert desk.outbox.send_one() is False  # it waits for a person
    assert desk.outbox.breaker.state == "closed" and desk.outbox.breaker.failures == 0
    assert emulator.files() == []


def test_after_the_last_allowed_attempt_the_invoice_needs_attention(data_root: Path, emulator: Emulator) -> None:
    desk = open_desk(data_root, emulator, SendingPolicy(max_attempts=2, poll_interval=0.1))
    try:
        invoice_id = desk.print("RE-2026-0006")
        emulator.faults(error_rate=1.0)
        assert desk.outbox.send_one() is True
        assert desk.row(invoice_id).state == State.QUEUED.value
        desk.due_now(invoice_id)

        assert desk.outbox.send_one() is True

        row = desk.row(invoice_id)
        assert row.state == State.NEEDS_ATTENTION.value
        assert row.attempts == 2
        assert "2 attempts failed" in row.reason and "answered 5" in row.reason
        assert desk.history(invoice_id)[-1] == "gave up sending"
        assert desk.outbox.send_one() is False
    finally:
        desk.db.dispose()


# -- unknown outcomes: looked up, never sent twice ---------------------------------------------


def test_an_interrupted_upload_the_service_already_has_is_recorded_not_sent_again(desk: Desk,
                                                                                 emulator: Emulator) -> None:
    invoice_id = desk.print("RE-2026-0007")
    row = desk.row(invoice_id)
    # The crash came after the service stored the file and before the answer was committed.
    file_id = desk.client.upload(desk.pdf(invoice_id), sender_reference=row.uuid, send_mode="Production")
    desk.set(invoice_id, state=State.UPLOADING.value, outcome_unknown=True, attempts=1)

    assert desk.outbox.recover() == 1
    row = desk.row(invoice_id)
    assert row.state == State.QUEUED.value and row.outcome_unknown
    assert desk.history(invoice_id)[-1] == "upload interrupted"

    assert desk.outbox.send_one() is True

    row = desk.row(invoice_id)
    assert row.state == State.SENT.value
    assert row.remote_file_id == file_id
    assert not row.outcome_unknown
    assert "found at Pagero Online after an interrupted upload; not sent again" in desk.history(invoice_id)
    assert [f["id"] for f in emulator.files()] == [file_id]


def test_an_interrupted_upload_the_service_never_got_is_sent_once_after_the_look_up(desk: Desk,
                                                                                   emulator: Emulator) -> None:
    invoice_id = desk.print("RE-2026-0008")
    desk.set(invoice_id, state=State.UPLOADING.value, outcome_unknown=True, attempts=1)
    assert desk.outbox.recover() == 1

    assert desk.outbox.send_one() is True

    row = desk.row(invoice_id)
    assert row.state == State.SENT.value and row.attempts == 2
    (file,) = emulator.files()
    assert (file["senderReference"], file["id"]) == (row.uuid, row.remote_file_id)


def test_an_answer_lost_after_the_service_stored_the_file_is_not_sent_twice(desk: Desk, emulator: Emulator) -> None:
    invoice_id = desk.print("RE-2026-0009")
    emulator.faults(drop_response_rate=1.0)  # stored, then the connection is reset before the answer

    assert desk.outbox.send_one() is True
    row = desk.row(invoice_id)
    assert row.state == State.QUEUED.value and row.outcome_unknown
    (file,) = emulator.files()

    emulator.faults()
    desk.due_now(invoice_id)
    assert desk.outbox.send_one() is True

    row = desk.row(invoice_id)
    assert row.state == State.SENT.value and row.remote_file_id == file["id"]
    assert [f["id"] for f in emulator.files()] == [file["id"]]


def test_recover_leaves_invoices_that_were_not_uploading_alone(desk: Desk) -> None:
    queued = desk.print("RE-2026-0010")
    assert desk.outbox.recover() == 0
    row = desk.row(queued)
    assert row.state == State.QUEUED.value and not row.outcome_unknown


# -- the breaker and the backoff ---------------------------------------------------------------


def test_the_breaker_opens_after_its_threshold_and_holds_invoices_without_spending_attempts(
        data_root: Path, emulator: Emulator) -> None:
    desk = open_desk(data_root, emulator, SendingPolicy(breaker_threshold=3, breaker_cooldown=600,
                                                        poll_interval=0.1))
    try:
        ids = [desk.print(f"RE-2026-04{n:02d}") for n in range(4)]
        emulator.faults(error_rate=1.0)

        assert [desk.outbox.send_one() for _ in range(3)] == [True, True, True]
        assert desk.outbox.breaker.state == "open"

        assert desk.outbox.send_one() is False
        assert desk.outbox.poll_once() == 0
        assert [desk.row(i).attempts for i in ids] == [1, 1, 1, 0]
        assert {desk.row(i).state for i in ids} == {State.QUEUED.value}
        assert emulator.files() == []
    finally:
        desk.db.dispose()


def test_after_the_cooldown_one_probe_goes_out_and_its_success_closes_the_breaker(data_root: Path,
                                                                                 emulator: Emulator) -> None:
    desk = open_desk(data_root, emulator, SendingPolicy(breaker_threshold=1, breaker_cooldown=0.5,
                                                        poll_interval=0.1))
    try:
        failing, waiting = desk.print("RE-2026-0501"), desk.print("RE-2026-0502")
        emulator.faults(error_rate=1.0)
        assert desk.outbox.send_one() is True
        assert desk.outbox.breaker.state == "open"
        assert desk.outbox.send_one() is False
        emulator.faults()

        wait_until(lambda: desk.outbox.breaker.state == "half-open", timeout=30, interval=0.05)
        assert desk.outbox.send_one() is True

        assert desk.outbox.breaker.state == "closed"
        assert desk.row(waiting).state == State.SENT.value
        assert desk.row(failing).state == State.QUEUED.value  # still waits for its own retry time
    finally:
        desk.db.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_lets_one_probe_through_per_cooldown_and_a_failed_probe_reopens_it() -> None:
    clock = Clock()
    breaker = Breaker(threshold=2, cooldown=10, clock=clock)
    breaker.failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()

    clock.now += 10
    assert breaker.state == "half-open"
    assert breaker.allow() is True
    assert breaker.allow() is False  # one probe per cooldown
    breaker.failure()  # the probe failed: another full cooldown
    clock.now += 9
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.failures == 0 and breaker.allow()


def unconnected_outbox(data_root: Path, policy: SendingPolicy, seed: int) -> Outbox:
    """An outbox whose service is never contacted (``backoff`` is pure arithmetic)."""
    nowhere = Account(url=f"http://127.0.0.1:{free_port()}", username="demo", password="demo", company_id="demo")
    return Outbox(open_database(None, data_root), Spool(data_root / "spool"), OnlineClient(nowhere), policy=policy,
                  rng=random.Random(seed))


def test_backoff_stays_between_zero_and_the_growing_ceiling_capped_at_the_maximum(data_root: Path) -> None:
    policy = SendingPolicy(base_delay=1.0, max_retry_delay=60.0)
    outbox = unconnected_outbox(data_root, policy, seed=11)
    try:
        for attempts in range(0, 40):
            ceiling = min(60.0, 2.0 ** attempts)
            delays = [outbox.backoff(attempts, None) for _ in range(200)]
            assert all(0 <= d <= ceiling for d in delays), attempts
            # Full jitter spreads over the whole range, not only near its top.
            assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9, attempts
    finally:
        outbox.db.dispose()


def test_backoff_waits_at_least_what_retry_after_asked(data_root: Path) -> None:
    outbox = unconnected_outbox(data_root, SendingPolicy(base_delay=1.0, max_retry_delay=3600.0), seed=5)
    try:
        for attempts in (1, 3, 8, 20):
            ceiling = min(3600.0, 2.0 ** attempts)
            for _ in range(100):
                delay = outbox.backoff(attempts, 30.0)
                assert 30.0 <= delay <= max(30.0, ceiling)
    finally:
        outbox.db.dispose()


def test_a_retry_after_is_believed_up_to_an_hour_or_the_longest_delay(data_root: Path) -> None:
    for name in ("short", "long"):
        (data_root / name).mkdir(mode=0o700)
    short = unconnected_outbox(data_root / "short", SendingPolicy(base_delay=1.0, max_retry_delay=600.0), seed=5)
    long = unconnected_outbox(data_root / "long", SendingPolicy(base_delay=1.0, max_retry_delay=7200.0), seed=5)
    try:
        assert {short.backoff(attempts, 86_400.0) for attempts in (1, 5, 30)} == {RETRY_AFTER_CAP}
        assert {long.backoff(attempts, 86_400.0) for attempts in (1, 5)} == {7200.0}
        assert short.backoff(1, 900.0) == 900.0  # longer than max_retry_delay, but believed
    finally:
        short.db.dispose()
        long.db.dispose()


# -- following sent invoices -------------------------------------------------------------------


def test_poll_once_follows_a_sent_invoice_to_delivered_and_fetched(desk: Desk, emulator: Emulator) -> None:
    invoice_id = desk.print("RE-2026-0011")
    assert desk.outbox.send_one() is True
    seen = [desk.row(invoice_id).state]
    changes = 0

    def fetched() -> bool:
        nonlocal changes
        changes += desk.outbox.poll_once()
        state = desk.row(invoice_id).state
        if state != seen[-1]:
            seen.append(state)
        return state == State.FETCHED.value

    wait_until(fetched, timeout=60, interval=0.1, message="the sent invoice never reached fetched")

    assert seen[0] == State.SENT.value and seen[-1] == State.FETCHED.value
    order = [State.SENT.value, State.DELIVERED.value, State.FETCHED.value]
    assert [order.index(s) for s in seen] == sorted({order.index(s) for s in seen}), seen  # never backwards
    assert changes == len(seen) - 1
    row = desk.row(invoice_id)
    assert row.delivery_status == "DoneFetched" and row.checked_at is not None
    assert desk.history(invoice_id)[-1] == "Pagero Online: DoneFetched"
    assert desk.outbox.poll_once() == 0  # fetched is followed, but nothing changes any more


def test_a_file_part_stopped_in_error_makes_the_invoice_need_attention_with_the_message(desk: Desk,
                                                                                       emulator: Emulator) -> None:
    emulator.admin("/_emulator/filepart-error", {"message": "Customer number 4711 not in the customer register"})
    invoice_id = desk.print("RE-2026-0012")
    assert desk.outbox.send_one() is True
    assert desk.row(invoice_id).state == State.SENT.value

    assert desk.outbox.poll_once() == 1

    row = desk.row(invoice_id)
    assert row.state == State.NEEDS_ATTENTION.value
    assert "Customer number 4711 not in the customer register" in row.reason
    assert row.delivery_status == "Error" and row.remote_filepart_id
    assert desk.history(invoice_id)[-1] == "stopped at Pagero Online"


def test_an_invoice_cancelled_at_pagero_online_becomes_cancelled_and_the_others_are_still_followed(
        desk: Desk, emulator: Emulator) -> None:
    cancelled, other = desk.print("RE-2026-0013"), desk.print("RE-2026-0014")
    assert desk.outbox.send_one() and desk.outbox.send_one()
    # Someone cancels the first file at the service (the File API's file part action).
    desk.client.filepart_action(f"{desk.row(cancelled).remote_file_id}-1", "Cancel")

    def other_moved_on() -> bool:
        desk.outbox.poll_once()
        return desk.row(other).state != State.SENT.value

    wait_until(other_moved_on, timeout=30, interval=0.1, message="the other sent invoice was never followed")
    assert desk.row(cancelled).state == State.CANCELLED.value
    assert desk.row(cancelled).delivery_status == "Cancelled"


def test_a_refused_login_holds_every_invoice_without_spending_attempts_until_the_account_is_fixed(
        desk: Desk, emulator: Emulator) -> None:
    wrong = Outbox(desk.db, desk.spool, OnlineClient(Account(url=emulator.url, username="demo", password="wrong",
                                                             company_id="demo")), policy=QUICK)
    first, second = desk.print("RE-LOGIN-1"), desk.print("RE-LOGIN-2")
    assert wrong.send_one()
    row = desk.row(first)
    assert row.state == State.QUEUED.value and row.attempts == 0, "the invoice is not to blame"
    assert "login to Pagero Online failed" in row.last_error
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    assert desk.row(second).state == State.QUEUED.value
    assert emulator.files() == []
    # The admin fixes the password: both go, once each.
    desk.due_now(first)
    while desk.outbox.send_one():
        pass
    assert {desk.row(first).state, desk.row(second).state} == {State.SENT.value}
    assert sorted(f["senderReference"] for f in emulator.files()) == sorted(
        [desk.row(first).uuid, desk.row(second).uuid])
    assert "waits for a working Pagero Online account" in desk.history(first)
