"""The service functions on invoices: the CLI, the web pages and the API call these and nothing else.

Every function takes the :class:`~connect_core.invoices.access.Actor` who asks: what they
may see is decided by :func:`~connect_core.invoices.access.visible_to`, what an invoice allows
by :func:`~connect_core.invoices.actions.actions_for`, and every change lands in the
invoice's history under the actor's name.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, union_all, update

from connect_core.config import ENVIRONMENTS
from connect_core.invoices.access import SYSTEM, Actor, visible_to
from connect_core.invoices.actions import SENT_STATES, VIEWS, actions_for, refusal
from connect_core.invoices.errors import NeedsConfirmation, NotAllowed, NotFound
from connect_core.invoices.history import transition
from connect_core.invoices.model import Event, Invoice, InvoiceDetail, PrintJob, fields_of
from connect_core.invoices.states import State
from connect_core.online.client import OnlineClient
from connect_core.store import Database, print_jobs
from connect_core.store.schema import events, invoices
from ipp.status import JobState

SORTS: dict[str, tuple[str, bool]] = {
    "newest": ("id", True), "oldest": ("id", False),
    "number": ("invoice_number", False), "-number": ("invoice_number", True),
    "issue_date": ("issue_date", False), "-issue_date": ("issue_date", True),
    "due_date": ("due_date", False), "-due_date": ("due_date", True),
    "total": ("total", False), "-total": ("total", True),
}
"""The orders a list can have: name → (column, descending).  Missing values sort last either way."""


# -- reading -------------------------------------------------------------------------------


def sort_value(invoice: Invoice, sort: str) -> Any:
    """The JSON value of ``invoice`` that ``sort`` orders by: with its id, the next page's cursor."""
    value = getattr(invoice, SORTS[sort][0])
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _typed(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in ("issue_date", "due_date"):
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if column == "total":
        return Decimal(str(value))
    if column == "id":
        return int(value)
    return str(value)


def list_invoices(db: Database, *, actor: Actor = SYSTEM, states: list[str] | tuple[str, ...] | None = None,
                  limit: int = 50, number: str | None = None, counterparty: str | None = None,
                  issued_from: dt.date | None = None, issued_to: dt.date | None = None,
                  due_from: dt.date | None = None, due_to: dt.date | None = None,
                  amount_min: Decimal | None = None, amount_max: Decimal | None = None,
                  sort: str = "newest", after: tuple[Any, int] | None = None) -> list[Invoice]:
    """Invoices ``actor`` may see matching every filter given, in ``sort`` order, ``limit`` at a time.

    Pages on by keyset: ``after`` is ``(sort value, id)`` of the last row of the previous
    page (see :func:`sort_value`).  ``number`` and ``counterparty`` (seller or buyer) match
    any part, ignoring case.  ``states`` empty or None means every state.
    """
    column_name, descending = SORTS[sort]
    column = invoices.c[column_name]
    query = select(invoices).where(visible_to(actor, invoices.c.owner))
    wanted = [State(s).value for s in states or []]
    if number:
        query = query.where(func.lower(invoices.c.invoice_number).like(_like(number), escape="\\"))
    if counterparty:
        pattern = _like(counterparty)
        query = query.where(or_(func.lower(invoices.c.seller).like(pattern, escape="\\"),
                                func.lower(invoices.c.buyer).like(pattern, escape="\\")))
    for col, low, high in ((invoices.c.issue_date, issued_from, issued_to), (invoices.c.due_date, due_from, due_to),
                           (invoices.c.total, amount_min, amount_max)):
        if low is not None:
            query = query.where(col >= low)
        if high is not None:
            query = query.where(col <= high)
    if after is not None:
        value, last_id = _typed(column_name, after[0]), int(after[1])
        next_id = invoices.c.id < last_id if descending else invoices.c.id > last_id
        if column_name == "id":
            query = query.where(next_id)
        elif value is None:  # already among the rows missing this value (they come last)
            query = query.where(column.is_(None), next_id)
        else:
            beyond = column < value if descending else column > value
            query = query.where(or_(beyond, and_(column == value, next_id), column.is_(None)))
    id_order = invoices.c.id.desc() if descending else invoices.c.id.asc()
    if column_name == "id" and len(wanted) > 1:
        # Newest first over several states: one short walk down the (state, id) index per state, or
        # (owner, state, id) for a clerk, merged.  A single "state IN (...) ORDER BY id" would read
        # and sort every matching row.
        ids = query.with_only_columns(invoices.c.id)
        parts = [select(ids.where(invoices.c.state == s).order_by(id_order).limit(limit).subquery())
                 for s in wanted]
        merged = union_all(*parts).subquery()
        page = select(merged.c.id).order_by(merged.c.id.desc() if descending else merged.c.id.asc()).limit(limit)
        query = select(invoices).where(invoices.c.id.in_(page)).order_by(id_order)
    elif column_name == "id":
        query = query.where(invoices.c.state.in_(wanted)) if wanted else query
        query = query.order_by(id_order)
    else:
        query = query.where(invoices.c.state.in_(wanted)) if wanted else query
        query = query.order_by(column.is_(None), column.desc() if descending else column.asc(), id_order)
    with db.reader.connect() as conn:
        return [Invoice.from_row(row) for row in conn.execute(query.limit(limit))]


def view_counts(db: Database, actor: Actor = SYSTEM) -> dict[str, int]:
    """How many invoices ``actor`` sees in *Files to send*, *Needs attention* and waiting for a person to add
    attachments (the header's counts)."""
    waiting = {"files_to_send": VIEWS["files-to-send"], "needs_attention": VIEWS["needs-attention"],
               "awaiting_attachments": (State.AWAITING_ATTACHMENTS,)}
    query = (select(invoices.c.state, func.count())
             .where(invoices.c.state.in_([s.value for group in waiting.values() for s in group]),
                    visible_to(actor, invoices.c.owner))
             .group_by(invoices.c.state))
    with db.reader.connect() as conn:
        by_state = {state: n for state, n in conn.execute(query)}
    return {name: sum(by_state.get(s.value, 0) for s in group) for name, group in waiting.items()}


def change_marker(db: Database) -> str:
    """Changes whenever anything a list or an invoice's page shows may have changed (cheap: keys and one index)."""
    with db.reader.connect() as conn:
        last_event = conn.execute(select(func.max(events.c.id))).scalar() or 0
        last_job = conn.execute(select(func.max(print_jobs.c.id))).scalar() or 0
        busy = [message or "" for (message,) in conn.execute(select(print_jobs.c.state_message).where(
            print_jobs.c.state == int(JobState.PROCESSING)))]
    # what a job being processed says ("Recognising text: page 2 of 5") changes what the list shows
    return f"{last_event}.{last_job}.{len(busy)}.{zlib.crc32(''.join(busy).encode())}"


def processing_jobs(db: Database, actor: Actor = SYSTEM, limit: int = 20) -> list[PrintJob]:
    """Print jobs ``actor`` may see that were received and are still being converted (invoices in a moment)."""
    query = (select(print_jobs).where(print_jobs.c.state == int(JobState.PROCESSING),
                                      visible_to(actor, print_jobs.c.user_name))
             .order_by(print_jobs.c.id.desc()).limit(limit))
    with db.reader.connect() as conn:
        return [_print_job(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class JobOutcome:
    """What became of one print job: ``completed`` or ``aborted`` (with why), and the invoices it gave."""

    job_id: int
    state: str
    message: str
    invoices: tuple[Invoice, ...]


def job_outcome(db: Database, job_id: int, actor: Actor = SYSTEM) -> JobOutcome:
    """What became of print job ``job_id``: its IPP state in words, its message and its invoices."""
    with db.reader.connect() as conn:
        job = conn.execute(select(print_jobs).where(print_jobs.c.id == job_id,
                                                    visible_to(actor, print_jobs.c.user_name))).first()
        if job is None:
            raise NotFound(f"no print job {job_id}")
        rows = conn.execute(select(invoices).where(invoices.c.job_id == job_id).order_by(invoices.c.id)).all()
    return JobOutcome(job_id, JobState(job.state).name.lower(), job.state_message,
                      tuple(Invoice.from_row(row) for row in rows))


def _print_job(job: Any) -> PrintJob:
    busy = job.state_message if job.state == int(JobState.PROCESSING) and job.state_message else ""
    return PrintJob(job.id, job.name, job.user_name, job.door, job.source_name,
                    job.source_format or job.document_format, job.created_at.replace(tzinfo=dt.UTC), busy)


def _visible_row(conn: Connection, invoice_id: int, actor: Actor) -> Any:
    row = conn.execute(select(invoices).where(invoices.c.id == invoice_id,
                                              visible_to(actor, invoices.c.owner))).first()
    if row is None:
        raise NotFound(f"no invoice {invoice_id}")
    return row


def get_invoice(db: Database, invoice_id: int, actor: Actor = SYSTEM) -> Invoice:
    """One invoice ``actor`` may see; :class:`NotFound` otherwise."""
    with db.reader.connect() as conn:
        return Invoice.from_row(_visible_row(conn, invoice_id, actor))


def invoice_detail(db: Database, invoice_id: int, actor: Actor = SYSTEM) -> InvoiceDetail:
    """One invoice with its fields (value, source, confidence), its print job, its history and its actions."""
    with db.reader.connect() as conn:
        row = _visible_row(conn, invoice_id, actor)
        job = conn.execute(select(print_jobs).where(print_jobs.c.id == row.job_id)).first()
        history = conn.execute(select(events).where(events.c.invoice_id == invoice_id).order_by(events.c.id)).all()
    invoice = Invoice.from_row(row)
    return InvoiceDetail(
        invoice=invoice,
        fields=fields_of(invoice, row.fields),
        job=None if job is None else _print_job(job),
        history=tuple(Event(e.at.replace(tzinfo=dt.UTC), e.what, e.from_state, e.to_state, e.why, e.who)
                      for e in history),
        actions=actions_for(invoice),
    )


@dataclass(frozen=True)
class InvoiceFiles:
    """Where an invoice's files are kept in the spool: the job folder's document as printed and its PDF."""

    document_uuid: str
    pdf_name: str
    source_format: str
    invoice_number: str | None


def invoice_files(db: Database, invoice_id: int, actor: Actor = SYSTEM) -> InvoiceFiles:
    """The spool names of an invoice's files, if ``actor`` may see it (:class:`NotFound` otherwise)."""
    with db.reader.connect() as conn:
        row = _visible_row(conn, invoice_id, actor)
    return InvoiceFiles(row.document_uuid, row.pdf_name, row.source_format, row.invoice_number)


# -- acting --------------------------------------------------------------------------------


def _allowing(conn: Connection, invoice_id: int, actor: Actor, action: str) -> Invoice:
    """The invoice, if ``actor`` may see it and its state allows ``action`` now."""
    invoice = Invoice.from_row(_visible_row(conn, invoice_id, actor))
    if action not in actions_for(invoice):
        raise NotAllowed(refusal(invoice, action))
    return invoice


def approve(db: Database, invoice_id: int, actor: Actor = SYSTEM, *, automatic: bool = False) -> State:
    """A person releases a possible duplicate or an invoice held by a check; returns where it went."""
    target = State.QUEUED if automatic else State.READY
    with db.writer.begin() as conn:
        invoice = _allowing(conn, invoice_id, actor, "approve")
        transition(conn, invoice_id, target, "approved", who=actor.name, expect=invoice.state)
    return target


def delete(db: Database, invoice_id: int, actor: Actor = SYSTEM) -> None:
    """Mark an invoice deleted: it is never sent (its local copy goes with retention)."""
    with db.writer.begin() as conn:
        invoice = _allowing(conn, invoice_id, actor, "delete")
        transition(conn, invoice_id, State.DELETED, "deleted", who=actor.name, expect=invoice.state)


def send(db: Database, ids: list[int] | None, environment: str, actor: Actor = SYSTEM) -> list[int]:
    """Queue invoices from *Files to send*; ``None`` sends every one ``actor`` sees there.  Returns the ids queued.

    All or nothing: an id ``actor`` cannot see is :class:`NotFound`, one not waiting in
    *Files to send* is :class:`NotAllowed`, and then none is queued.
    """
    if environment not in ENVIRONMENTS:
        raise NotAllowed(f"environment {environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    with db.writer.begin() as conn:
        query = select(invoices.c.id, invoices.c.state).where(visible_to(actor, invoices.c.owner))
        if ids is None:
            query = query.where(invoices.c.state == State.READY.value)
        else:
            query = query.where(invoices.c.id.in_(ids))
        found = {row.id: row.state for row in conn.execute(query)}
        missing = sorted(set(ids or ()) - set(found))
        if missing:
            raise NotFound(f"no invoice {', '.join(map(str, missing))}")
        waiting = [n for n, state in sorted(found.items()) if state == State.READY.value]
        others = sorted(set(found) - set(waiting))
        if others:
            raise NotAllowed("not waiting in Files to send: " + ", ".join(f"{n} ({found[n]})" for n in others))
        for invoice_id in waiting:
            conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(environment=environment))
            transition(conn, invoice_id, State.QUEUED, f"sent by {actor.name} ({environment})", who=actor.name,
                       expect=State.READY)
    return waiting


def resend(db: Database, invoice_id: int, actor: Actor = SYSTEM, *, confirm: bool = False) -> None:
    """Send again after the cause was fixed; an invoice already at Pagero Online needs ``confirm``."""
    with db.writer.begin() as conn:
        invoice = _allowing(conn, invoice_id, actor, "resend")
        if invoice.state is State.NEEDS_ATTENTION:
            conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(
                attempts=0, first_attempt_at=None, next_attempt_at=None))
            transition(conn, invoice_id, State.QUEUED, "resent", who=actor.name, expect=invoice.state)
            return
        assert invoice.state in SENT_STATES
        if not confirm:
            raise NeedsConfirmation(f"invoice {invoice_id} was already sent ({invoice.state.value}); sending it "
                                    "again means the recipient may get it twice")
        conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(
            attempts=0, first_attempt_at=None, next_attempt_at=None, outcome_unknown=False,
            send_generation=invoices.c.send_generation + 1, remote_file_id=None, remote_filepart_id=None))
        transition(conn, invoice_id, State.QUEUED, "resent after confirmation", who=actor.name, expect=invoice.state)


def restart(db: Database, client: OnlineClient, invoice_id: int, actor: Actor = SYSTEM) -> None:
    """Restart a file part that stopped in Error at Pagero Online (after fixing the cause there)."""
    with db.reader.connect() as conn:
        invoice = _allowing(conn, invoice_id, actor, "restart")
        part = conn.execute(select(invoices.c.remote_filepart_id).where(invoices.c.id == invoice_id)).scalar_one()
    client.filepart_action(part, "Restart")
    with db.writer.begin() as conn:
        conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(remote_filepart_id=None,
                                                                                checked_at=None))
        transition(conn, invoice_id, State.SENT, "restarted at Pagero Online", who=actor.name,
                   expect=invoice.state)
