"""The invoice as the service functions hand it out: typed, frozen, and turned into JSON at the edges."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connect_core.invoices.states import State

FIELD_LABELS = (("invoice_number", "Invoice number"), ("issue_date", "Invoice date"), ("due_date", "Due date"),
                ("currency", "Currency"), ("total", "Total"), ("seller", "Seller"), ("buyer", "Buyer"))
"""The invoice fields read from a document, in the order they are shown, with their labels."""


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.replace(tzinfo=dt.UTC)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class Invoice:
    """One invoice: what was read from its pages, where it is in its life, and what Pagero Online said."""

    id: int
    uuid: str
    state: State
    reason: str
    job_id: int
    owner: str
    """Printed by: the IPP ``requesting-user-name`` (or the door's user for imports and the hot folder)."""
    document_uuid: str
    """The print job's folder in the spool."""
    pdf_name: str
    pages: int
    first_page: int
    last_page: int | None
    has_text: bool
    source_format: str
    sha256: str
    invoice_number: str | None
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str | None
    total: Decimal | None
    seller: str | None
    buyer: str | None
    environment: str | None
    delivery_status: str | None
    attempts: int
    last_error: str
    restartable: bool
    """A file part of it stopped at Pagero Online and can be restarted there."""
    duplicate_of: int | None
    """The earlier invoice this one repeats (a possible duplicate, or one a person approved as such)."""
    distribution: str | None
    """How Pagero Online distributes it (``Electronic``, ``EPrint``, ``OriginalPrint``), once it said."""
    send_generation: int
    """How many times it was deliberately sent again (each sending is new at Pagero Online)."""
    sent: dt.datetime | None
    created: dt.datetime
    updated: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> Invoice:
        """An ``invoices`` row as an :class:`Invoice`."""
        return cls(
            id=row.id, uuid=row.uuid, state=State(row.state), reason=row.reason, job_id=row.job_id, owner=row.owner,
            document_uuid=row.document_uuid, pdf_name=row.pdf_name,
            pages=row.pages, first_page=row.first_page, last_page=row.last_page, has_text=bool(row.has_text),
            source_format=row.source_format, sha256=row.sha256, invoice_number=row.invoice_number,
            issue_date=row.issue_date, due_date=row.due_date, currency=row.currency, total=row.total,
            seller=row.seller, buyer=row.buyer, environment=row.environment, delivery_status=row.delivery_status,
            attempts=row.attempts, last_error=row.last_error,
            restartable=bool(row.remote_filepart_id and row.remote_file_id), duplicate_of=row.duplicate_of,
            distribution=row.distribution, send_generation=row.send_generation or 0,
            sent=_utc(row.sent_at), created=_utc(row.created_at), updated=_utc(row.updated_at),  # type: ignore[arg-type]
        )

    def to_json(self) -> dict[str, Any]:
        """As plain data (what ``list --json`` prints and the API sends)."""
        return {
            "id": self.id, "uuid": self.uuid, "state": self.state.value, "reason": self.reason,
            "job_id": self.job_id, "owner": self.owner, "pages": self.pages, "first_page": self.first_page,
            "last_page": self.last_page, "has_text": self.has_text, "source_format": self.source_format,
            "sha256": self.sha256, "invoice_number": self.invoice_number, "issue_date": _iso(self.issue_date),
            "due_date": _iso(self.due_date), "currency": self.currency,
            "total": str(self.total) if self.total is not None else None, "seller": self.seller, "buyer": self.buyer,
            "environment": self.environment, "delivery_status": self.delivery_status, "attempts": self.attempts,
            "last_error": self.last_error, "restartable": self.restartable, "duplicate_of": self.duplicate_of,
            "distribution": self.distribution, "sent": _iso(self.sent),
            "created": _iso(self.created), "updated": _iso(self.updated),
        }


def source_in_words(source: str) -> str:
    """Where a field was read, in words: ``facturx``, ``template:<name>``, ``text:page <n>``, ``ocr:page <n>``
    (recognised text); anything else (``corrected by anna``, ``company``) as it is."""
    kind, _, detail = source.partition(":")
    if kind == "ocr":
        return f"recognised text, {detail}" if detail else "recognised text"
    if kind == "facturx":
        return "Factur-X XML"
    if kind == "template":
        return f"template “{detail}”"
    if kind == "text":
        return f"text of {detail}" if detail else "page text"
    return source


@dataclass(frozen=True)
class Field:
    """One field read from the document: its value, where it was read and how sure the reader was."""

    name: str
    label: str
    value: Any
    source: str | None
    confidence: float | None

    def to_json(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        return {"name": self.name, "label": self.label, "value": value, "source": self.source,
                "confidence": self.confidence}


def fields_of(invoice: Invoice, stored: str | None) -> tuple[Field, ...]:
    """The invoice's fields with the source and confidence the reader stored (``invoices.fields`` JSON).

    The reader stores ``{field: {"source", "confidence"}}``, alone or under ``"sources"``.
    """
    try:
        data = json.loads(stored or "{}")
    except ValueError:
        data = {}
    sources = data.get("sources", data) if isinstance(data, dict) else {}
    found = []
    for name, label in FIELD_LABELS:
        value = getattr(invoice, name)
        info = sources.get(name) if isinstance(sources, dict) else None
        info = info if isinstance(info, dict) else {}
        confidence = info.get("confidence")
        found.append(Field(name, label, value,
                           str(info["source"]) if info.get("source") and value is not None else None,
                           float(confidence) if isinstance(confidence, int | float) else None))
    return tuple(found)


@dataclass(frozen=True)
class Event:
    """One line of an invoice's history."""

    at: dt.datetime
    what: str
    from_state: str | None
    to_state: str | None
    why: str
    who: str

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "what": self.what, "from": self.from_state, "to": self.to_state,
                "why": self.why, "who": self.who}


@dataclass(frozen=True)
class PrintJob:
    """The print job an invoice came from, as the invoice's page shows it."""

    id: int
    name: str
    user: str
    door: str
    source: str
    format: str | None
    received: dt.datetime
    busy: str = ""
    """While the job is being converted: what is happening, when it takes a while ("Recognising text")."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "user": self.user, "door": self.door, "source": self.source,
                "format": self.format, "received": self.received.isoformat(), "busy": self.busy}


@dataclass(frozen=True)
class InvoiceDetail:
    """An invoice with its fields, its print job, its whole history and the actions it offers now."""

    invoice: Invoice
    fields: tuple[Field, ...]
    job: PrintJob | None
    history: tuple[Event, ...]
    actions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.invoice.to_json(), "fields": [f.to_json() for f in self.fields],
                "job": self.job.to_json() if self.job else None, "history": [e.to_json() for e in self.history],
                "actions": list(self.actions)}
