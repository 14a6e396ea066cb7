"""The outbox: every queued invoice reaches Pagero Online exactly once, whatever fails.

Attempts and their next time live in the store.  Each attempt first commits
``uploading`` and "outcome unknown"; only an answer clears that mark.  Whenever an
attempt's outcome is unknown (a reset or timeout after sending, a crash between the
upload and the commit), the next attempt first looks the invoice up at Pagero Online
by its ``senderReference`` and records the file it finds instead of sending again.

Retries use full-jitter exponential backoff (``Retry-After`` honoured) on connection
errors, timeouts, 408, 429 and 5xx; a refusal (400, 401, 403, 409, 413, 422) stops
the invoice in "needs attention" with the service's words.  A circuit breaker keeps
invoices queued without spending attempts while the service is down.  A poller
follows each sent invoice until it reaches a final state.

With manual attachment handling at Pagero Online, a sent file waits there for its
attachments (the poller moves the invoice to ``awaiting-attachments``).  Once a person has
added them and pressed *Send*, :meth:`Outbox.attach_one` sends each attachment under the same
promise as uploads: "outcome unknown" is committed before it goes, and an unknown outcome is
looked up by the attachment's stable reference before it is sent again.  Then Pagero Online is
told to go on (the file part's ``Restart``).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, update

from connect_core.config import Config
from connect_core.crash import crash_point
from connect_core.intake.spool import Spool
from connect_core.invoices.history import record, transition
from connect_core.invoices.states import TRACKED, State
from connect_core.online.client import (
    Ambiguous,
    LoginRefused,
    OnlineClient,
    OnlineError,
    Rejected,
    Retryable,
    Unreachable,
    client_for,
)
from connect_core.store import Database, utcnow
from connect_core.store.schema import attachments, invoices

log = logging.getLogger("connect_core.online.outbox")

RETRY_AFTER_CAP = 3600.0
"""The longest Retry-After believed (seconds), unless ``sending.max_retry_delay`` is longer."""


@dataclass(frozen=True)
class SendingPolicy:
    max_retry_delay: float = 3600.0
    base_delay: float = 1.0
    max_attempts: int = 12
    max_age: float = 72 * 3600.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    poll_interval: float = 10.0
    idle_wait: float = 1.0


def sender_reference(invoice_uuid: str, generation: int) -> str:
    """The stable reference of one sending of an invoice (a deliberate re-send is a new generation)."""
    return invoice_uuid if generation == 0 else f"{invoice_uuid}-r{generation}"


class Breaker:
    """Closed → open after ``threshold`` failures in a row → one probe after ``cooldown``."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        self.failures = 0
        self.opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.cooldown else "open"

    def allow(self) -> bool:
        with self._lock:
            if self.opened_at is None:
                return True
            if self.clock() - self.opened_at >= self.cooldown:
                self.opened_at = self.clock()  # one probe per cooldown
                return True
            return False

    def success(self) -> None:
        with self._lock:
            if self.opened_at is not None:
                log.info("Pagero Online is reachable again; sending resumes")
            self.failures = 0
            self.opened_at = None

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold and self.opened_at is None:
                log.warning("Pagero Online is failing; holding invoices until it recovers")
                self.opened_at = self.clock()
            elif self.opened_at is not None:
                self.opened_at = self.clock()


@dataclass
class Outbox:
    db: Database
    spool: Spool
    client: OnlineClient
    environment: str = "Production"
    policy: SendingPolicy = field(default_factory=SendingPolicy)
    workers: int = 1
    rng: random.Random = field(default_factory=random.Random)
    breaker: Breaker = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _wake: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.breaker = Breaker(self.policy.breaker_threshold, self.policy.breaker_cooldown)

    # -- life --------------------------------------------------------------------------------

    def recover(self) -> int:
        """After a crash: attempts that were under way have an unknown outcome; queue them to be looked up."""
        with self.db.writer.begin() as conn:
            # attachments being sent when it stopped: due again at once (each one marked unknown is looked up)
            conn.execute(update(invoices).where(invoices.c.state == State.ATTACHING.value)
                         .values(next_attempt_at=None))
            rows = conn.execute(select(invoices.c.id).where(invoices.c.state == State.UPLOADING.value)).all()
            for (invoice_id,) in rows:
                conn.execute(update(invoices).where(invoices.c.id == invoice_id)
                             .values(outcome_unknown=True, next_attempt_at=None))
                transition(conn, invoice_id, State.QUEUED, "upload interrupted",
                           why="the program stopped during an upload; it will be looked up before sending again")
        return len(rows)

    def start(self) -> None:
        recovered = self.recover()
        if recovered:
            log.info("%d interrupted upload(s) will be checked at Pagero Online before any re-send", recovered)
        for n in range(self.workers):
            self._spawn(self._send_loop, f"outbox-{n}")
        self._spawn(self._poll_loop, "outbox-poller")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(30)
        self._threads.clear()

    def wake(self) -> None:
        self._wake.set()

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.send_one()
                worked = self.attach_one() or worked
            except Exception:
                log.exception("outbox: unexpected error")
                worked = False
            if not worked:
                self._wake.wait(self.policy.idle_wait)
                self._wake.clear()

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.policy.poll_interval):
            try:
                self.poll_once()
            except Exception:
                log.exception("status poller: unexpected error")

    # -- sending -----------------------------------------------------------------------------

    def _claim(self) -> tuple[Any, bool] | None:
        now = utcnow()
        with self.db.writer.begin() as conn:
            row = conn.execute(
                select(invoices)
                .where(invoices.c.state == State.QUEUED.value,
                       or_(invoices.c.next_attempt_at.is_(None), invoices.c.next_attempt_at <= now))
                .order_by(invoices.c.next_attempt_at, invoices.c.id).limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            # "Outcome unknown" is set with the claim: from here until an answer is recorded, a
            # crash means the service may have the file.  The row returned keeps the earlier
            # value, which says whether to look the invoice up before sending.
            conn.execute(update(invoices).where(invoices.c.id == row.id).values(
                attempts=invoices.c.attempts + 1, first_attempt_at=row.first_attempt_at or now,
                environment=row.environment or self.environment, outcome_unknown=True))
            transition(conn, row.id, State.UPLOADING, f"upload attempt {row.attempts + 1}", expect=State.QUEUED)
            claimed = conn.execute(select(invoices).where(invoices.c.id == row.id)).first()
            return claimed, bool(row.outcome_unknown)

    def send_one(self) -> bool:
        """Make one upload attempt for the next due invoice; False when there was nothing to do."""
        if not self.breaker.allow():
            return False
        claimed = self._claim()
        if claimed is None:
            return False
        invoice, look_up_first = claimed
        reference = sender_reference(invoice.uuid, invoice.send_generation)
        if look_up_first:
            try:
                found = self.client.find_sent(reference)
            except OnlineError as error:
                self._failed(invoice, error, unknown=True)  # still unknown: look again next time
                return True
            if found:
                self._sent(invoice, str(found[0].get("fileId") or found[0].get("id")),
                           "found at Pagero Online after an interrupted upload; not sent again")
                return True
        crash_point("before_upload")
        pdf = self.spool.job_dir(invoice.document_uuid) / invoice.pdf_name
        try:
            file_id = self.client.upload(pdf, sender_reference=reference, send_mode=invoice.environment,
                                         filename=f"invoice-{invoice.id}.pdf")
        except OnlineError as error:
            self._failed(invoice, error, unknown=_maybe_stored(error))
            return True
        crash_point("after_upload_before_commit")
        self._sent(invoice, file_id, f"uploaded to Pagero Online ({invoice.environment})")
        crash_point("after_commit")
        return True

    def _sent(self, invoice: Any, file_id: str, what: str) -> None:
        self.breaker.success()
        with self.db.writer.begin() as conn:
            conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                remote_file_id=file_id, outcome_unknown=False, sent_at=utcnow(), last_error="",
                next_attempt_at=None, delivery_status="Processing"))
            transition(conn, invoice.id, State.SENT, what, why=f"file {file_id}", expect=State.UPLOADING)
        log.info("invoice %d sent as file %s", invoice.id, file_id)

    def _failed(self, invoice: Any, error: OnlineError, *, unknown: bool) -> None:
        if isinstance(error, LoginRefused):
            # The account is wrong, not the invoice: every invoice waits (no attempt spent) until it is fixed.
            self.breaker.failure()
            delay = min(self.policy.max_retry_delay, self.policy.breaker_cooldown * 2 ** min(self.breaker.failures, 20))
            with self.db.writer.begin() as conn:
                conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                    attempts=invoices.c.attempts - 1, outcome_unknown=unknown, last_error=error.message,
                    next_attempt_at=utcnow() + dt.timedelta(seconds=delay)))
                transition(conn, invoice.id, State.QUEUED, "waits for a working Pagero Online account",
                           why=f"{error.message}; check the account in Settings", expect=State.UPLOADING)
            log.warning("invoice %d waits: %s (check the account in Settings)", invoice.id, error.message)
            return
        if isinstance(error, Rejected):
            self.breaker.success()  # the service is up; it just refuses this invoice
            with self.db.writer.begin() as conn:
                conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                    outcome_unknown=unknown, last_error=error.message, next_attempt_at=None))
                transition(conn, invoice.id, State.NEEDS_ATTENTION, "refused by Pagero Online", why=error.message,
                           expect=State.UPLOADING)
            log.warning("invoice %d refused by Pagero Online: %s", invoice.id, error.message)
            return
        if isinstance(error, Retryable) and error.status == 429:
            self.breaker.success()
        else:
            self.breaker.failure()
        now = utcnow()
        age = (now - (invoice.first_attempt_at or now)).total_seconds()
        with self.db.writer.begin() as conn:
            if invoice.attempts >= self.policy.max_attempts or age > self.policy.max_age:
                conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                    outcome_unknown=unknown, last_error=error.message, next_attempt_at=None))
                transition(conn, invoice.id, State.NEEDS_ATTENTION, "gave up sending",
                           why=f"{invoice.attempts} attempts failed; last: {error.message}. Resend when it is fixed.",
                           expect=State.UPLOADING)
                return
            delay = self.backoff(invoice.attempts, getattr(error, "retry_after", None))
            conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                outcome_unknown=unknown, last_error=error.message,
                next_attempt_at=now + dt.timedelta(seconds=delay)))
            transition(conn, invoice.id, State.QUEUED, "will retry", why=f"{error.message}; next try in {delay:.0f} s",
                       expect=State.UPLOADING)

    # -- attachments ---------------------------------------------------------------------------

    ATTACH_LEASE = dt.timedelta(minutes=10)

    def _claim_attaching(self) -> Any | None:
        """The next invoice whose attachments are due, leased for a while so no other worker takes it."""
        now = utcnow()
        with self.db.writer.begin() as conn:
            row = conn.execute(
                select(invoices).where(invoices.c.state == State.ATTACHING.value,
                                       or_(invoices.c.next_attempt_at.is_(None), invoices.c.next_attempt_at <= now))
                .order_by(invoices.c.next_attempt_at, invoices.c.id).limit(1).with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            conn.execute(update(invoices).where(invoices.c.id == row.id).values(
                attempts=invoices.c.attempts + 1, first_attempt_at=row.first_attempt_at or now,
                next_attempt_at=now + self.ATTACH_LEASE))
            return row

    def attach_one(self) -> bool:
        """Send the attachments of the next invoice due and let Pagero Online go on; False when none was due."""
        if not self.breaker.allow():
            return False
        invoice = self._claim_attaching()
        if invoice is None:
            return False
        generation = invoice.send_generation
        part = invoice.remote_filepart_id
        with self.db.reader.connect() as conn:
            waiting = conn.execute(select(attachments).where(
                attachments.c.invoice_id == invoice.id,
                or_(attachments.c.sent_generation.is_(None), attachments.c.sent_generation != generation,
                    attachments.c.remote_id.is_(None))).order_by(attachments.c.id)).all()
        try:
            for attachment in waiting:
                self._send_attachment(invoice, part, attachment)
            crash_point("before_release")
            self.client.filepart_action(part, "Restart")
        except OnlineError as error:
            self._attach_failed(invoice, error)
            return True
        self.breaker.success()
        with self.db.writer.begin() as conn:
            conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                remote_filepart_id=None, checked_at=None, next_attempt_at=None, last_error="",
                delivery_status="Processing"))
            transition(conn, invoice.id, State.SENT,
                       f"{len(waiting)} attachment{'s' if len(waiting) != 1 else ''} sent; Pagero Online goes on",
                       expect=State.ATTACHING)
        log.info("invoice %d: %d attachment(s) sent, file part %s released", invoice.id, len(waiting), part)
        return True

    def _send_attachment(self, invoice: Any, part: str, attachment: Any) -> None:
        """One attachment to Pagero Online exactly once: looked up first when an earlier try's outcome is unknown."""
        from connect_core.invoices.attachments import attachment_path, reference

        ref = reference(attachment.uuid, invoice.send_generation)
        remote_id: str | None = None
        if attachment.outcome_unknown:
            found = [a for a in self.client.attachments(part) if a.get("reference") == ref]
            remote_id = str(found[0].get("id")) if found else None
        if remote_id is None:
            with self.db.writer.begin() as conn:
                conn.execute(update(attachments).where(attachments.c.id == attachment.id)
                             .values(outcome_unknown=True))
            crash_point("before_attachment_upload")
            remote_id = self.client.add_attachment(
                part, attachment_path(self.spool, invoice.document_uuid, attachment.uuid),
                filename=attachment.filename, document_type=attachment.document_type, note=attachment.note,
                reference=ref, content_type=attachment.content_type)
            crash_point("after_attachment_before_commit")
        with self.db.writer.begin() as conn:
            conn.execute(update(attachments).where(attachments.c.id == attachment.id).values(
                remote_id=remote_id, sent_generation=invoice.send_generation, outcome_unknown=False))

    def _attach_failed(self, invoice: Any, error: OnlineError) -> None:
        refused = isinstance(error, Rejected) and not isinstance(error, LoginRefused)
        if refused or invoice.attempts >= self.policy.max_attempts:
            if refused:
                self.breaker.success()
            what = "attachments refused by Pagero Online" if refused else "gave up sending the attachments"
            with self.db.writer.begin() as conn:
                conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                    last_error=error.message, next_attempt_at=None))
                transition(conn, invoice.id, State.AWAITING_ATTACHMENTS, what,
                           why=f"{error.message}; change the attachments if needed and send again",
                           expect=State.ATTACHING)
            log.warning("invoice %d: %s: %s", invoice.id, what, error.message)
            return
        if not (isinstance(error, Retryable) and error.status == 429):
            self.breaker.failure()
        delay = self.backoff(invoice.attempts, getattr(error, "retry_after", None))
        with self.db.writer.begin() as conn:
            conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                last_error=error.message, next_attempt_at=utcnow() + dt.timedelta(seconds=delay)))
            record(conn, invoice.id, "attachments will be sent again",
                   why=f"{error.message}; next try in {delay:.0f} s")

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^attempts)], at least what Retry-After asked (the service knows
        best), but a Retry-After is believed only up to :data:`RETRY_AFTER_CAP` or ``max_retry_delay``, whichever is
        longer: a service asking for a week must not park an invoice for a week."""
        ceiling = min(self.policy.max_retry_delay, self.policy.base_delay * 2 ** min(attempts, 30))
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, max(self.policy.max_retry_delay, RETRY_AFTER_CAP)))
        return delay

    # -- status tracking ---------------------------------------------------------------------

    def poll_once(self, limit: int = 100) -> int:
        """Follow sent invoices at Pagero Online; returns how many changed state."""
        if self.breaker.state == "open":
            return 0
        cutoff = utcnow() - dt.timedelta(seconds=self.policy.poll_interval * 0.5)
        with self.db.reader.connect() as conn:
            rows = conn.execute(
                select(invoices).where(invoices.c.state.in_([s.value for s in TRACKED]),
                                       or_(invoices.c.checked_at.is_(None), invoices.c.checked_at < cutoff))
                .order_by(invoices.c.checked_at, invoices.c.id).limit(limit)
            ).all()
        changed = 0
        for invoice in rows:
            try:
                changed += self._check(invoice)
            except OnlineError as error:
                log.info("status check of invoice %d failed: %s", invoice.id, error.message)
                if isinstance(error, Unreachable | Ambiguous):
                    self.breaker.failure()
                    break
            except Exception:  # one odd answer must not stop the others from being followed
                log.exception("status check of invoice %d failed", invoice.id)
        return changed

    def _check(self, invoice: Any) -> int:
        file_id = invoice.remote_file_id
        stopped = self.client.fileparts(file_id) if invoice.state == State.SENT.value else []
        documents = [] if stopped else self.client.documents(fileId=file_id)
        with self.db.writer.begin() as conn:
            conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(checked_at=utcnow()))
            current = State(invoice.state)
            if stopped:
                part = stopped[0]
                conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                    remote_filepart_id=part.get("id"), delivery_status=part.get("status"),
                    distribution=_channel(part.get("distribution"))))
                if part.get("status") == "AwaitingInteraction" and part.get("reason") == "AwaitingAttachments":
                    again = " again after the resend" if invoice.send_generation else ""
                    transition(conn, invoice.id, State.AWAITING_ATTACHMENTS,
                               f"Pagero Online asks for attachments{again}",
                               why="add the attachments and press Send (manual attachment handling is on at "
                                   "Pagero Online)", expect=current)
                    return 1
                words = "; ".join((part.get("error") or {}).get("description") or []) or part.get("status", "")
                what = "stopped at Pagero Online" if part.get("status") == "Error" else "waits for interaction"
                transition(conn, invoice.id, State.NEEDS_ATTENTION, what, why=words, expect=current)
                return 1
            target = _state_from(documents)
            if documents:
                conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(
                    delivery_status=documents[0].get("deliveryStatus")))
            if target is None or target is current or not _later(current, target):
                return 0
            status = documents[0].get("deliveryStatus") or target.value
            transition(conn, invoice.id, target, f"Pagero Online: {status}", expect=current)
            return 1


CHANNELS = ("Electronic", "EPrint", "OriginalPrint")


def _channel(value: object) -> str | None:
    """Pagero Online's distribution channel, when it is one we know."""
    return value if isinstance(value, str) and value in CHANNELS else None


def _maybe_stored(error: OnlineError) -> bool:
    """Could the service have kept the file although the upload failed?

    A broken connection after sending, or a 5xx (a gateway may time out while the
    service goes on), leaves it open; a connection never made, a 408/429 or a
    refusal means it was not kept.
    """
    if isinstance(error, Ambiguous):
        return True
    return isinstance(error, Retryable) and (error.status or 0) >= 500


_ORDER = [State.SENT, State.DELIVERED, State.FETCHED, State.ACCEPTED]


def _later(current: State, target: State) -> bool:
    """Whether ``target`` moves an invoice on from ``current`` (a final answer always does; nothing goes back)."""
    if target in (State.REJECTED, State.ACCEPTED, State.CANCELLED):
        return True
    return _ORDER.index(target) > _ORDER.index(current) if current in _ORDER else False


def _state_from(documents: list[dict[str, Any]]) -> State | None:
    if not documents:
        return None
    document = documents[0]
    business = (document.get("latestBusinessStatus") or {}).get("businessStatus")
    if business in ("Accepted", "Approved", "Paid"):
        return State.ACCEPTED
    if business == "Rejected":
        return State.REJECTED
    delivery = document.get("deliveryStatus")
    return {"Done": State.DELIVERED, "DoneFetched": State.FETCHED, "Undeliverable": State.REJECTED,
            "Cancelled": State.CANCELLED}.get(str(delivery))


def make_outbox(config: Config, db: Database, spool: Spool) -> Outbox | None:
    """The uploader for the configured Pagero Online account, or None when no account is set up."""
    client = client_for(config)
    if client is None:
        return None
    policy = SendingPolicy(max_retry_delay=config.sending.max_retry_delay,
                           max_attempts=config.sending.max_attempts,
                           poll_interval=config.sending.poll_seconds,
                           breaker_cooldown=config.sending.breaker_cooldown)
    return Outbox(db, spool, client, environment=config.account.environment, policy=policy,
                  workers=config.sending.workers)
