"""Service functions on invoices: the CLI and the web pages call these and nothing else."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from connect_core.errors import StoreError
from connect_core.intake import utcnow
from connect_core.states import APPROVABLE, State, allowed
from connect_core.store import Database
from connect_core.store.schema import events, invoices, print_jobs


class NotFound(StoreError):
    """No such invoice (or not visible to the asking user)."""


class NotAllowed(StoreError):
    """The invoice's state does not allow this action."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a user name and whether they are an admin (sees everything)."""

    name: str = "system"
    admin: bool = True


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
    return query if actor.admin else query.where(invoices.c.owner == actor.name)


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
        "created": row.created_at.replace(tzinfo=dt.UTC).isoformat(),
        "updated": row.updated_at.replace(tzinfo=dt.UTC).isoformat(),
    }


def list_invoices(db: Database, *, state: str | None = None, actor: Actor = SYSTEM, limit: int = 50,
                  before_id: int | None = None) -> list[dict[str, Any]]:
    """Newest first, ``limit`` at a time; ``before_id`` pages on (keyset pagination)."""
    query = _visible(select(invoices), actor).order_by(invoices.c.id.desc()).limit(limit)
    if state:
        query = query.where(invoices.c.state == State(state).value)
    if before_id is not None:
        query = query.where(invoices.c.id < before_id)
    with db.reader.connect() as conn:
        return [summary(row) for row in conn.execute(query)]


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
