"""Received invoices: listed at Pagero Online, downloaded into the inbound folder, then acknowledged.

Each received document goes through these steps, and a crash anywhere loses nothing and writes nothing twice:

1. **listed**: a row in ``inbound_documents`` (state ``unfetched``), keyed by the service's id;
2. **downloaded**: the target document is read (at most :data:`MAX_XML_BYTES`) and, an e-invoice, read
   safely (:mod:`connect_core.received.einvoice`: no DTDs, no entities); then it is written into the
   inbound folder under a name a person can use, ``2026-03-05 Lieferant GmbH 471102.xml``, made safe
   for every system and never overwriting a file (:mod:`connect_core.received.names`), beside the
   attachments it carries (``… - delivery note.pdf``).  A document that is too large or hostile is
   **refused**: its row says why, nothing is written and it is not acknowledged;
3. the row becomes ``downloaded`` with the file's path and the invoice's fields (sender and its ids,
   number, dates, totals), so it can be listed and searched without opening the file;
4. **acknowledged** at the service (``POST /document/v1/documents/fetch``, up to :data:`ACK_BATCH` saved
   documents in one call), so that it is not offered again;
5. the row becomes ``fetched``.

A crash between 2 and 3 finds the same bytes under the same name and keeps that file; between 3 and 5 the next round
repeats the acknowledgement, which the service accepts any number of times.  Nothing is acknowledged
before its file is durable.  In ``automatic`` mode every listed document is downloaded; in ``manual``
mode they wait until someone fetches them (``pagero-connect inbound --fetch``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from connect_core.config import Config
from connect_core.crash import crash_point
from connect_core.errors import StoreError
from connect_core.online.client import OnlineClient, OnlineError, TooLarge, client_for
from connect_core.received.einvoice import MAX_XML_BYTES, ReceivedInvoice, Refused, read_einvoice
from connect_core.received.names import file_name, save_new
from connect_core.store import Database, utcnow
from connect_core.store.schema import inbound_documents

log = logging.getLogger("connect_core.online.inbound")

UNFETCHED, DOWNLOADED, FETCHED, REFUSED = "unfetched", "downloaded", "fetched", "refused"
PAGE = 100
ACK_BATCH = 50
"""Saved documents acknowledged in one call (each only once it is durable and recorded as downloaded)."""


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
        done: list[int] = []
        saved: list[tuple[Any, Path]] = []
        try:
            for row in rows:
                path = Path(row.path) if row.state == DOWNLOADED and row.path else self._download(row)
                if path is None:
                    continue  # refused: the row says why; the others go on
                saved.append((row, path))
                if len(saved) >= ACK_BATCH:
                    done += self._acknowledge(saved)
                    saved = []
        finally:
            if saved:  # what is durable is acknowledged, even when a later download failed
                done += self._acknowledge(saved)
        return done

    def _acknowledge(self, saved: list[tuple[Any, Path]]) -> list[int]:
        """Tell the service that these saved documents are fetched (one call), then record it (one commit)."""
        crash_point("before_acknowledge")
        self.client.acknowledge([row.remote_id for row, _ in saved])
        with self.db.writer.begin() as conn:
            for row, path in saved:
                conn.execute(update(inbound_documents).where(inbound_documents.c.id == row.id)
                             .values(state=FETCHED, path=str(path), fetched_at=utcnow()))
        for row, path in saved:
            log.info("received invoice %d saved as %s", row.id, path)
        return [row.id for row, _ in saved]

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
        kind = {"Invoice": "invoice", "CreditNote": "credit-note"}.get(str(info.get("documentType")))
        listed = [{"name": _text(a.get("fileName"), 200), "mime": _text(a.get("mimeCode"), 100),
                   "size": a.get("size") if isinstance(a.get("size"), int) else None}
                  for a in item.get("attachments") or [] if isinstance(a, dict)][:50]
        created = _moment(item.get("createTime"))
        with self.db.writer.begin() as conn:
            conn.execute(insert(inbound_documents).values(
                remote_id=remote_id,
                document_number=_text(info.get("documentIdentifier")),
                sender=_text(info.get("senderName")),
                issue_date=_date(info.get("issueDate")),
                currency=_currency(amounts.get("currency")),
                total=_amount(amounts.get("totalAmount")),
                net=_amount(amounts.get("netAmount")),
                tax=_amount(amounts.get("vatAmount")),
                document_type=kind,
                received_at=created,
                attachments=json.dumps(listed),
                state=UNFETCHED,
                created_at=utcnow(),
            ))

    def _download(self, row: Any) -> Path | None:
        """Read, check and save one received document; None when it was refused (the row says why)."""
        try:
            data = self.client.target_document(row.remote_id, max_bytes=MAX_XML_BYTES)
        except TooLarge as error:
            self._refuse(row, f"refused: {error.message}")
            return None
        invoice: ReceivedInvoice | None = None
        if data[:5] == b"%PDF-":
            name = file_name(row.issue_date, row.sender, row.document_number, ".pdf")
        else:
            try:
                invoice = read_einvoice(data)
            except Refused as error:
                self._refuse(row, error.reason)
                return None
            name = file_name(invoice.issue_date or row.issue_date, invoice.seller.name or row.sender,
                             invoice.number or row.document_number, ".xml")
        path = save_new(self.folder, name, data, 0o640)
        values: dict[str, Any] = {"state": DOWNLOADED, "path": str(path), "problem": ""}
        if invoice is not None:
            values.update(_fields(invoice))
            values["attachments"] = json.dumps(self._save_attachments(path, invoice))
        with self.db.writer.begin() as conn:
            conn.execute(update(inbound_documents).where(inbound_documents.c.id == row.id).values(**values))
        return path

    def _save_attachments(self, saved: Path, invoice: ReceivedInvoice) -> list[dict[str, Any]]:
        """The files an e-invoice carries, saved beside it (``<its name> - <file name>``)."""
        kept = []
        for n, attachment in enumerate(invoice.attachments, 1):
            given = Path(attachment.file_name or f"attachment {n}")
            suffix = "".join(ch for ch in given.suffix if ch.isascii() and (ch.isalnum() or ch == "."))[:10]
            name = file_name(None, f"{saved.stem} - {given.stem}", None, suffix or ".bin")
            path = save_new(self.folder, name, attachment.data, 0o640)
            kept.append({"name": attachment.file_name or path.name, "mime": attachment.mime_code,
                         "size": len(attachment.data), "path": str(path)})
        return kept

    def _refuse(self, row: Any, reason: str) -> None:
        with self.db.writer.begin() as conn:
            conn.execute(update(inbound_documents).where(inbound_documents.c.id == row.id)
                         .values(state=REFUSED, problem=reason[:1000]))
        log.warning("received invoice %d (%s at Pagero Online) %s", row.id, row.remote_id, reason)

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
             "total": str(r.total) if r.total is not None else None, "state": r.state, "path": r.path,
             "problem": r.problem}
            for r in rows]


def _fields(invoice: ReceivedInvoice) -> dict[str, Any]:
    """The columns of ``inbound_documents`` read from the e-invoice itself (they win over the service's listing)."""
    seller, totals = invoice.seller, invoice.totals
    ids = {key: value for key, value in (("vat", seller.vat_id), ("gln", seller.gln),
                                         ("org", seller.organisation_number)) if value}
    values: dict[str, Any] = {
        "document_number": _text(invoice.number), "sender": _text(seller.name or seller.trading_name),
        "issue_date": invoice.issue_date, "due_date": invoice.due_date, "currency": _currency(invoice.currency),
        "total": _amount(totals.tax_inclusive if totals.tax_inclusive is not None else totals.payable),
        "net": _amount(totals.tax_exclusive), "tax": _amount(totals.tax_amount), "document_type": invoice.kind,
        "sender_ids": json.dumps(ids), "buyer": _text(invoice.buyer.name),
    }
    return {key: value for key, value in values.items() if value is not None}


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object, limit: int = 300) -> str | None:
    """A name or number from the service as one line of text (line breaks and tabs become spaces)."""
    if not isinstance(value, str | int):
        return None
    text = " ".join(str(value).split())[:limit]
    return text or None


def _moment(value: object) -> dt.datetime | None:
    """A time the service wrote (ISO 8601), as naive UTC like every time in the store."""
    try:
        moment = dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


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
