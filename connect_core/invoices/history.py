"""An invoice's history: every change of state goes through :func:`transition`, which checks the
table in :mod:`connect_core.invoices.states` and appends one line (what, when, why, who)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select, update

from connect_core.invoices.errors import NotAllowed, NotFound
from connect_core.invoices.states import State, allowed
from connect_core.store import utcnow
from connect_core.store.schema import events, invoices


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
        raise NotFound(f"no invoice {invoice_id}")
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
