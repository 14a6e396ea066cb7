"""Received invoices: listed at Pagero Online, downloaded into the inbound folder, then acknowledged.

Each received document goes through these steps, and a crash anywhere loses nothing and writes nothing twice:

1. **listed**: a row in ``inbound_documents`` (state ``unfetched``), keyed by the service's id;
2. **downloaded**: the target document is written to ``received-<row id>.<xml|pdf>`` in the inbound
   folder (a temporary name, fsync, rename, folder fsync).  The name comes from our row id and the
   content's own first bytes, never from a string the service sent;
3. the row becomes ``downloaded`` with the file's path;
4. **acknowledged** at the service (``POST /document/v1/documents/fetch``), so that it is not offered again;
5. the row becomes ``fetched``.

A crash between 2 and 3 writes the same file again under the same name; between 3 and 5 the next round
repeats the acknowledgement, which the service accepts any number of times.  Nothing is acknowledged
before its file is durable.  In ``automatic`` mode every listed document is downloaded; in ``manual``
mode they wait until someone fetches them (``pagero-connect inbound --fetch``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from connect_core.config import Config
from connect_core.errors import StoreError
from connect_core.fsutil import write_durably
from connect_core.online.client import OnlineClient, OnlineError, client_for
from connect_core.store import Database, utcnow
from connect_core.store.schema import inbound_documents

log = logging.getLogger("connect_core.online.inbound")

UNFETCHED, DOWNLOADED, FETCHED = "unfetched", "downloaded", "fetched"
PAGE = 100


class UnknownReceived(StoreError):
    """A received invoice was named by a number we do not know."""


@dataclass
class Inbound:
    """Lists, downloads and acknowledges received documents for one Pagero Online account."""

    db: Database
    client: OnlineClient
    folder: Path
    automatic: bool = False
    poll_interval: float = 60.0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round -----------------------------------------------------------------------------

    def poll_once(self) -> tuple[int, int]:
        """List what the service holds; in automatic mode fetch what is new.  Returns (listed, fetched)."""
        listed = self.list_received()
        fetched = len(self.fetch(None)) if self.automatic else len(self._finish_downloaded())
        return listed, fetched

    def list_received(self) -> int:
        """Record every received document the service lists that we do not know yet; returns how many."""
        known = self._known()
        new = 0
        offset = 0
        while True:
            page = self.client.received(limit=PAGE, offset=offset)
            items = [item for item in page.get("items") or [] if isinstance(item, dict)]
            for item in items:
                remote_id = str(item.get("id") or "")[:100]
                if not remote_id or remote_id in known:
                    continue
                if item.get("isFetched"):
                    continue  # fetched before, by us or by another client of the account
                self._record(remote_id, item)
                known.add(remote_id)
                new += 1
            if len(items) < PAGE:
                return new
            offset += PAGE

    def fetch(self, ids: list[int] | None) -> list[int]:
        """Download and acknowledge the given rows (every waiting one for None); returns the ids fetched.

        Rows fetched before are skipped; an id we do not know is :class:`UnknownReceived`, before anything is done.
        """
        missing = unknown_received(self.db, ids) if ids else []
        if missing:
            raise UnknownReceived(f"no received invoice {', '.join(map(str, missing))}")
        query = select(inbound_documents).where(inbound_documents.c.state.in_([UNFETCHED, DOWNLOADED]))
        if ids is not None:
            query = query.where(inbound_documents.c.id.in_(ids))
        with self.db.reader.connect() as conn:
            rows = conn.execute(query.order_by(inbound_documents.c.id)).all()
        done = []
        for row in rows:
            path = Path(row.path) if row.state == DOWNLOADED and row.path else self._download(row.id, row.remote_id)
            self.client.acknowledge([row.remote_id])
            with self.db.writer.begin() as conn:
                conn.execute(update(inbound_documents).where(inbound_documents.c.id == row.id)
                             .values(state=FETCHED, path=str(path), fetched_at=utcnow()))
            log.info("received invoice %d saved as %s", row.id, path)
            done.append(row.id)
        return done

    def _finish_downloaded(self) -> list[int]:
        """Manual mode still completes a fetch that a crash interrupted after the download."""
        with self.db.reader.connect() as conn:
            waiting = [r.id for r in conn.execute(
                select(inbound_documents.c.id).where(inbound_documents.c.state == DOWNLOADED))]
        return self.fetch(waiting) if waiting else []

    # -- steps ---------------------------------------------------------------------------------

    def _known(self) -> set[str]:
        with self.db.reader.connect() as conn:
            return {remote_id for (remote_id,) in conn.execute(select(inbound_documents.c.remote_id))}

    def _record(self, remote_id: str, item: dict[str, Any]) -> None:
        info = _mapping(item.get("documentInfo"))
        amounts = _mapping(info.get("amounts"))
        with self.db.writer.begin() as conn:
            conn.execute(insert(inbound_documents).values(
                remote_id=remote_id,
                document_number=_text(info.get("documentIdentifier")),
                sender=_text(info.get("senderName")),
                issue_date=_date(info.get("issueDate")),
                currency=_currency(amounts.get("currency")),
                total=_amount(amounts.get("totalAmount")),
                state=UNFETCHED,
                created_at=utcnow(),
            ))

    def _download(self, row_id: int, remote_id: str) -> Path:
        data = self.client.target_document(remote_id)
        suffix = ".pdf" if data[:5] == b"%PDF-" else ".xml"
        target = self.folder / f"received-{row_id:06d}{suffix}"
        write_durably(target, data, 0o640)
        with self.db.writer.begin() as conn:
            conn.execute(update(inbound_documents).where(inbound_documents.c.id == row_id)
                         .values(state=DOWNLOADED, path=str(target)))
        return target

    # -- the background loop ---------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="inbound", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except OnlineError as error:
                log.warning("could not check for received invoices: %s", error.message)
            except Exception:
                log.exception("checking for received invoices failed; trying again later")
            self._stop.wait(self.poll_interval)


def make_inbound(config: Config, db: Database) -> Inbound | None:
    """The receiver for the configured Pagero Online account, or None when no account is set up."""
    client = client_for(config)
    if client is None:
        return None
    folder = Path(config.inbound.folder) if config.inbound.folder else config.data_dir / "received"
    return Inbound(db, client, folder, automatic=config.inbound.mode == "automatic",
                   poll_interval=config.inbound.poll_seconds)


def unknown_received(db: Database, ids: list[int]) -> list[int]:
    """Those of ``ids`` that name no received invoice we know of, in order."""
    with db.reader.connect() as conn:
        known = {row_id for (row_id,) in conn.execute(
            select(inbound_documents.c.id).where(inbound_documents.c.id.in_(ids)))}
    return sorted(set(ids) - known)


def list_inbound(db: Database) -> list[dict[str, Any]]:
    """Every received document we know of, newest first (the CLI's ``inbound``)."""
    with db.reader.connect() as conn:
        rows = conn.execute(select(inbound_documents).order_by(inbound_documents.c.id.desc())).all()
    return [{"id": r.id, "remote_id": r.remote_id, "number": r.document_number, "sender": r.sender,
             "issue_date": r.issue_date.isoformat() if r.issue_date else None, "currency": r.currency,
             "total": str(r.total) if r.total is not None else None, "state": r.state, "path": r.path}
            for r in rows]


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object, limit: int = 300) -> str | None:
    """A name or number from the service as one line of text (line breaks and tabs become spaces)."""
    if not isinstance(value, str | int):
        return None
    text = " ".join(str(value).split())[:limit]
    return text or None


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _currency(value: object) -> str | None:
    text = str(value or "")
    return text if len(text) == 3 and text.isalpha() and text.isascii() else None


def _amount(value: object) -> Decimal | None:
    try:
        amount = Decimal(str(value)) if value is not None and value != "" else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() and abs(amount) < Decimal("1e15") else None
