"""Received invoices for people: list, search, open, download (the service functions the web and CLI call).

Received invoices are the office's, not one clerk's: admins and users given the *inbound* role
see them (:attr:`~connect_core.invoices.access.Actor.inbound`); to anyone else they do not exist.
Pagero Online keeps them for 90 days; what was downloaded stays listed and searchable here, read
from the invoice's own XML (:mod:`connect_core.online.inbound`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

from connect_core.config import Config
from connect_core.invoices.access import SYSTEM, Actor
from connect_core.invoices.errors import NotAllowed, NotFound
from connect_core.online.inbound import DOWNLOADED, FETCHED, REFUSED, UNFETCHED, make_inbound, unknown_received
from connect_core.received.einvoice import read_einvoice
from connect_core.received.render import render_pdf
from connect_core.store import Database
from connect_core.store.schema import inbound_documents

SERVICE_DAYS = 90
KEPT_NOTE = (f"Pagero Online keeps received invoices for {SERVICE_DAYS} days; what was downloaded here stays "
             "listed and searchable here.")
STATES = (UNFETCHED, DOWNLOADED, FETCHED, REFUSED)
VIEWS = {"unfetched": (UNFETCHED, REFUSED), "fetched": (FETCHED, DOWNLOADED), "all": STATES}
"""The inbound views and the states each lists (a refused document waits beside the unfetched ones)."""


@dataclass(frozen=True)
class ReceivedAttachment:
    index: int
    name: str
    mime: str | None
    size: int | None
    saved: bool


@dataclass(frozen=True)
class Received:
    """One invoice a supplier sent the office through Pagero Online."""

    id: int
    remote_id: str
    state: str
    kind: str | None
    number: str | None
    sender: str | None
    sender_ids: dict[str, str]
    buyer: str | None
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str | None
    net: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    file_name: str | None
    problem: str
    attachments: tuple[ReceivedAttachment, ...]
    received: dt.datetime | None
    fetched: dt.datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Received:
        try:
            listed = json.loads(row.attachments or "[]")
            ids = json.loads(row.sender_ids or "{}")
        except ValueError:
            listed, ids = [], {}
        attachments = tuple(ReceivedAttachment(n, str(a.get("name") or f"attachment {n + 1}"), a.get("mime"),
                                               a.get("size"), bool(a.get("path")))
                            for n, a in enumerate(listed) if isinstance(a, dict))
        return cls(row.id, row.remote_id, row.state, row.document_type, row.document_number, row.sender,
                   {str(k): str(v) for k, v in ids.items()} if isinstance(ids, dict) else {}, row.buyer,
                   row.issue_date, row.due_date, row.currency, row.net, row.tax, row.total,
                   Path(row.path).name if row.path else None, row.problem or "", attachments,
                   _utc(row.received_at), _utc(row.fetched_at))

    def to_json(self) -> dict[str, Any]:
        def iso(value: dt.date | None) -> str | None:
            return value.isoformat() if value else None

        def text(value: Decimal | None) -> str | None:
            return str(value) if value is not None else None

        return {"id": self.id, "state": self.state, "kind": self.kind, "number": self.number, "sender": self.sender,
                "sender_ids": self.sender_ids, "buyer": self.buyer, "issue_date": iso(self.issue_date),
                "due_date": iso(self.due_date), "currency": self.currency, "net": text(self.net),
                "tax": text(self.tax), "total": text(self.total), "file": self.file_name, "problem": self.problem,
                "attachments": [{"name": a.name, "mime": a.mime, "size": a.size, "saved": a.saved}
                                for a in self.attachments],
                "received": self.received.isoformat() if self.received else None,
                "fetched": self.fetched.isoformat() if self.fetched else None}


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.replace(tzinfo=dt.UTC) if moment else None


def _require(actor: Actor) -> None:
    if not actor.inbound:
        raise NotAllowed("Only admins and users given the inbound role see received invoices.")


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_received(db: Database, actor: Actor = SYSTEM, *, view: str = "all", number: str | None = None,
                  counterparty: str | None = None, issued_from: dt.date | None = None,
                  issued_to: dt.date | None = None, due_from: dt.date | None = None, due_to: dt.date | None = None,
                  amount_min: Decimal | None = None, amount_max: Decimal | None = None, limit: int = 50,
                  before_id: int | None = None) -> list[Received]:
    """Received invoices matching every filter, newest first; ``before_id`` pages on."""
    _require(actor)
    columns = inbound_documents.c
    query = select(inbound_documents).where(columns.state.in_(VIEWS[view]))
    if number:
        query = query.where(func.lower(columns.document_number).like(_like(number), escape="\\"))
    if counterparty:
        pattern = _like(counterparty)
        query = query.where(or_(func.lower(columns.sender).like(pattern, escape="\\"),
                                func.lower(columns.sender_ids).like(pattern, escape="\\"),
                                func.lower(columns.buyer).like(pattern, escape="\\")))
    for column, low, high in ((columns.issue_date, issued_from, issued_to), (columns.due_date, due_from, due_to),
                              (columns.total, amount_min, amount_max)):
        if low is not None:
            query = query.where(column >= low)
        if high is not None:
            query = query.where(column <= high)
    if before_id is not None:
        query = query.where(columns.id < before_id)
    with db.reader.connect() as conn:
        rows = conn.execute(query.order_by(columns.id.desc()).limit(limit)).all()
    return [Received.from_row(row) for row in rows]


def received_counts(db: Database, actor: Actor = SYSTEM) -> dict[str, int]:
    """How many received invoices wait to be downloaded, and how many were refused (0 for those who may not see)."""
    if not actor.inbound:
        return {"unfetched": 0, "refused": 0}
    with db.reader.connect() as conn:
        by_state: dict[str, int] = dict(conn.execute(select(inbound_documents.c.state, func.count())
                                     .group_by(inbound_documents.c.state)).all())
    return {"unfetched": int(by_state.get(UNFETCHED, 0)), "refused": int(by_state.get(REFUSED, 0))}


def _row(db: Database, received_id: int, actor: Actor) -> Any:
    if not actor.inbound:
        raise NotFound(f"no received invoice {received_id}")
    with db.reader.connect() as conn:
        row = conn.execute(select(inbound_documents).where(inbound_documents.c.id == received_id)).first()
    if row is None:
        raise NotFound(f"no received invoice {received_id}")
    return row


def get_received(db: Database, received_id: int, actor: Actor = SYSTEM) -> Received:
    return Received.from_row(_row(db, received_id, actor))


def received_file(db: Database, received_id: int, actor: Actor = SYSTEM) -> Path:
    """The saved file of a received invoice (the XML or PDF as the supplier sent it)."""
    row = _row(db, received_id, actor)
    if not row.path or not Path(row.path).is_file():
        raise NotFound(f"received invoice {received_id} is not downloaded"
                       + (f" ({row.problem})" if row.problem else "; download it first"))
    return Path(row.path)


def presentation(db: Database, received_id: int, actor: Actor = SYSTEM) -> bytes:
    """*View target invoice*: an e-invoice rendered as a readable PDF; a PDF received as such, as it is."""
    data = received_file(db, received_id, actor).read_bytes()
    if data[:5] == b"%PDF-":
        return data
    return render_pdf(read_einvoice(data))


def received_attachment(db: Database, received_id: int, index: int, actor: Actor = SYSTEM) -> tuple[Path, str]:
    """The saved file of one attachment that came with a received invoice, and its name."""
    row = _row(db, received_id, actor)
    try:
        listed = json.loads(row.attachments or "[]")
        entry = listed[index] if 0 <= index < len(listed) else None
    except (ValueError, TypeError):
        entry = None
    if not isinstance(entry, dict) or not entry.get("path") or not Path(entry["path"]).is_file():
        raise NotFound(f"received invoice {received_id} has no saved attachment {index + 1}")
    return Path(entry["path"]), str(entry.get("name") or Path(entry["path"]).name)


def download_received(config: Config, db: Database, ids: list[int] | None, actor: Actor = SYSTEM) -> list[int]:
    """*Download all* (``None``) or *Download selected*: saved, then acknowledged; returns the ids saved."""
    _require(actor)
    if ids:
        missing = unknown_received(db, ids)
        if missing:
            raise NotFound(f"no received invoice {', '.join(map(str, missing))}")
    inbound = make_inbound(config, db)
    if inbound is None:
        raise NotAllowed("No Pagero Online account is set up (Settings), so nothing can be downloaded.")
    return inbound.fetch(ids)
