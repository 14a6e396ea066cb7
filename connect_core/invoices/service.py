"""Service functions on invoices: the CLI and the web pages call these and nothing else."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, union_all, update

from connect_core.errors import StoreError
from connect_core.invoices.states import APPROVABLE, State, allowed
from connect_core.store import Database, utcnow
from connect_core.store.schema import events, invoices, print_jobs


class NotFound(StoreError):
    """No such invoice (or not visible to the asking user)."""


class NotAllowed(StoreError):
    """The invoice's state does not allow this action."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a user name and whether they are an admin (sees everything).

    A non-admin sees the invoices whose owner (the IPP ``requesting-user-name``) is one of
    ``owners``, or their own name when ``owners`` is empty.
    """

    name: str = "system"
    admin: bool = True
    owners: frozenset[str] = frozenset()


SYSTEM = Actor()
"""The program itself (sees everything)."""


def record(conn: Connection, invoice_id: int, what: str, *, from_state: str | None = None,
           to_state: str | None = None, why: str = "", who: str = "system", at: dt.datetime | None = None) -> None:
    """Append one line to an invoice's history."""
    conn.execute(insert(events).values(invoice_id=invoice_id, at=at or utcnow(), from_state=from_state,
                                       to_state=to_state, what=what, why=why, who=who))


def transition(conn: Connection, invoice_id: int, target: State, what: str, *, why: str = "",
               who: str = "system", expect: State | None = None) -> State:
    """Move an invoice to ``target`` if the table allows it; returns the state it left.

    ``expect`` makes the move conditional on the current state (a fence against a
    concurrent change).  Raises :class:`NotAllowed` when the move is not allowed.
    """
    row = conn.execute(select(invoices.c.state).where(invoices.c.id == invoice_id)).first()
    if row is None:
        raise NotFound(f"invoice {invoice_id} not found")
    current = State(row.state)
    if expect is not None and current is not expect:
        raise NotAllowed(f"invoice {invoice_id} is {current.value}, not {expect.value}")
    if not allowed(current, target):
        raise NotAllowed(f"invoice {invoice_id} is {current.value}; it cannot become {target.value}")
    result = conn.execute(
        update(invoices).where(invoices.c.id == invoice_id, invoices.c.state == current.value)
        .values(state=target.value, reason=why if target not in (State.READY, State.QUEUED) else "",
                updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise NotAllowed(f"invoice {invoice_id} changed meanwhile; try again")
    record(conn, invoice_id, what, from_state=current.value, to_state=target.value, why=why, who=who)
    return current


def _visible(query: Any, actor: Actor) -> Any:
    if actor.admin:
        return query
    return query.where(invoices.c.owner.in_(sorted(actor.owners or {actor.name})))


def summary(row: Any) -> dict[str, Any]:
    """An invoice as plain data (what ``list --json`` prints)."""
    return {
        "id": row.id,
        "uuid": row.uuid,
        "state": row.state,
        "reason": row.reason,
        "job_id": row.job_id,
        "owner": row.owner,
        "pages": row.pages,
        "first_page": row.first_page,
        "last_page": row.last_page,
        "has_text": row.has_text,
        "source_format": row.source_format,
        "sha256": row.sha256,
        "invoice_number": row.invoice_number,
        "issue_date": row.issue_date.isoformat() if row.issue_date else None,
        "due_date": row.due_date.isoformat() if row.due_date else None,
        "currency": row.currency,
        "total": str(row.total) if row.total is not None else None,
        "seller": row.seller,
        "buyer": row.buyer,
        "environment": row.environment,
        "delivery_status": row.delivery_status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "restartable": bool(row.remote_filepart_id and row.remote_file_id),
        "sent": row.sent_at.replace(tzinfo=dt.UTC).isoformat() if row.sent_at else None,
        "created": row.created_at.replace(tzinfo=dt.UTC).isoformat(),
        "updated": row.updated_at.replace(tzinfo=dt.UTC).isoformat(),
    }


SORTS: dict[str, tuple[str, bool]] = {
    "newest": ("id", True), "oldest": ("id", False),
    "number": ("invoice_number", False), "-number": ("invoice_number", True),
    "issue_date": ("issue_date", False), "-issue_date": ("issue_date", True),
    "due_date": ("due_date", False), "-due_date": ("due_date", True),
    "total": ("total", False), "-total": ("total", True),
}
"""The orders a list can have: name → (column, descending).  Missing values sort last either way."""

_SUMMARY_KEY = {"invoice_number": "invoice_number", "issue_date": "issue_date", "due_date": "due_date",
                "total": "total", "id": "id"}


def sort_value(row: dict[str, Any], sort: str) -> Any:
    """The value of ``row`` (a :func:`summary`) that ``sort`` orders by: with the id, the next page's cursor."""
    return row[_SUMMARY_KEY[SORTS[sort][0]]]


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


def list_invoices(db: Database, *, state: str | None = None, actor: Actor = SYSTEM, limit: int = 50,
                  before_id: int | None = None, states: list[str] | tuple[str, ...] | None = None,
                  number: str | None = None, counterparty: str | None = None,
                  issued_from: dt.date | None = None, issued_to: dt.date | None = None,
                  due_from: dt.date | None = None, due_to: dt.date | None = None,
                  amount_min: Decimal | None = None, amount_max: Decimal | None = None,
                  sort: str = "newest", after: tuple[Any, int] | None = None) -> list[dict[str, Any]]:
    """Invoices matching every filter given, in ``sort`` order, ``limit`` at a time.

    Pages on by keyset: ``after`` is ``(sort value, id)`` of the last row of the previous
    page (see :func:`sort_value`); ``before_id`` is the same for the default newest-first
    order.  ``number`` and ``counterparty`` (seller or buyer) match any part, ignoring case.
    """
    column_name, descending = SORTS[sort]
    column = invoices.c[column_name]
    query = _visible(select(invoices), actor)
    wanted = [State(s).value for s in ([state] if state else []) + list(states or [])]
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
    if before_id is not None and after is None and sort == "newest":
        after = (before_id, before_id)
    if after is not None:
        value, last_id = _typed(column_name, after[0]), int(after[1])
        beyond = column < value if descending else column > value
        next_id = invoices.c.id < last_id if descending else invoices.c.id > last_id
        if column_name == "id":
            query = query.where(next_id)
        elif value is None:  # already among the rows missing this value (they come last)
            query = query.where(column.is_(None), next_id)
        else:
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
        return [summary(row) for row in conn.execute(query.limit(limit))]


def count_by_state(db: Database, actor: Actor = SYSTEM) -> dict[str, int]:
    query = _visible(select(invoices.c.state, func.count()).group_by(invoices.c.state), actor)
    with db.reader.connect() as conn:
        return {state: n for state, n in conn.execute(query)}


def get_invoice(db: Database, invoice_id: int, actor: Actor = SYSTEM) -> dict[str, Any]:
    """One invoice with its fields, its print job and its whole history."""
    with db.reader.connect() as conn:
        row = conn.execute(_visible(select(invoices).where(invoices.c.id == invoice_id), actor)).first()
        if row is None:
            raise NotFound(f"invoice {invoice_id} not found")
        job = conn.execute(select(print_jobs).where(print_jobs.c.id == row.job_id)).first()
        history = conn.execute(select(events).where(events.c.invoice_id == invoice_id).order_by(events.c.id)).all()
    data = summary(row)
    data["fields"] = json.loads(row.fields or "{}")
    data["job"] = None if job is None else {
        "id": job.id, "name": job.name, "user": job.user_name, "door": job.door, "source": job.source_name,
        "format": job.source_format or job.document_format, "received": job.created_at.isoformat(),
    }
    data["history"] = [
        {"at": e.at.replace(tzinfo=dt.UTC).isoformat(), "what": e.what, "from": e.from_state,
         "to": e.to_state, "why": e.why, "who": e.who}
        for e in history
    ]
    return data


def invoice_pdf(db: Database, invoice_id: int, actor: Actor = SYSTEM) -> tuple[str, str, str | None]:
    """Where an invoice's PDF is kept: ``(document uuid, file name, invoice number)``; checks who asks."""
    with db.reader.connect() as conn:
        row = conn.execute(_visible(select(invoices.c.document_uuid, invoices.c.pdf_name, invoices.c.invoice_number)
                                    .where(invoices.c.id == invoice_id), actor)).first()
    if row is None:
        raise NotFound(f"invoice {invoice_id} not found")
    return row.document_uuid, row.pdf_name, row.invoice_number


def approve(db: Database, invoice_id: int, actor: Actor = SYSTEM, *, automatic: bool = False) -> State:
    """A person releases a possible duplicate or an invoice needing attention."""
    target = State.QUEUED if automatic else State.READY
    with db.writer.begin() as conn:
        _check_visible(conn, invoice_id, actor)
        current = State(conn.execute(select(invoices.c.state).where(invoices.c.id == invoice_id)).scalar_one())
        if current not in APPROVABLE:
            raise NotAllowed(f"invoice {invoice_id} is {current.value}; only possible duplicates and invoices "
                             "needing attention can be approved")
        transition(conn, invoice_id, target, "approved", who=actor.name, expect=current)
    return target


def delete(db: Database, invoice_id: int, actor: Actor = SYSTEM) -> None:
    """Mark an invoice deleted (its local copy goes with retention)."""
    with db.writer.begin() as conn:
        _check_visible(conn, invoice_id, actor)
        transition(conn, invoice_id, State.DELETED, "deleted", who=actor.name)


def _check_visible(conn: Connection, invoice_id: int, actor: Actor) -> None:
    if conn.execute(_visible(select(invoices.c.id).where(invoices.c.id == invoice_id), actor)).first() is None:
        raise NotFound(f"invoice {invoice_id} not found")
