"""What reading an invoice yields: field values with their source and confidence, one record per invoice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connect_core.errors import ConnectError

#: The fields every reader (Factur-X XML, template, page text) fills, in display order.
FIELD_NAMES = ("invoice_number", "issue_date", "due_date", "currency", "total", "seller", "buyer")


class ExtractError(ConnectError):
    """A PDF or a template cannot be read; the message says which and why."""


@dataclass(frozen=True)
class FieldValue:
    """One field as found: its text value, where it came from and how sure the reader is.

    ``source`` is ``"facturx"``, ``"template:<name>"`` or ``"text:page <n>"`` (1-based page);
    ``confidence`` is in 0..1 (1.0 only for structured XML).
    """

    value: str | None
    source: str
    confidence: float


@dataclass(frozen=True)
class Found:
    """A field value as a reader parsed it (str, date or Decimal), with its source and confidence."""

    value: object
    source: str
    confidence: float


@dataclass(frozen=True)
class InvoiceFields:
    """The fields of one invoice found in a PDF; ``None`` where a field was not found.

    ``pages`` is the first and last page (1-based, inclusive) of the invoice in the source PDF;
    ``sources`` maps each found field to ``{"source": str, "confidence": float}``.
    """

    invoice_number: str | None
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str | None
    total: Decimal | None
    seller: str | None
    buyer: str | None
    pages: tuple[int, int]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_note: bool = False
    """The page calls itself a credit note (Gutschrift, Avoir...); ``total`` keeps the sign printed."""
    buyer_ids: dict[str, str] = field(default_factory=dict)
    """The buyer's identifiers printed on the page: ``vat``, ``gln``, ``org`` (organisation number)."""
    ready_to_send: bool = False
    """Every field sending needs is certain enough to send without a person (see :mod:`.confidence`)."""
    not_ready: tuple[str, ...] = ()
    """Why not ready: one sentence per missing or doubtful field."""
    layout: str | None = None
    """The template (layout) that read some of the fields, if one did."""

    def field(self, name: str) -> FieldValue:
        """One field as text (dates ISO, the total a decimal string) with its source and confidence."""
        value = getattr(self, name)
        info = self.sources.get(name, {})
        text = value.isoformat() if isinstance(value, dt.date) else (None if value is None else str(value))
        return FieldValue(text, str(info.get("source", "")), float(info.get("confidence", 0.0)))

    def to_json(self) -> dict[str, Any]:
        """The invoice as JSON-ready data: dates as YYYY-MM-DD, the total as a decimal string, null if absent."""
        return {
            "invoice_number": self.invoice_number,
            "issue_date": self.issue_date.isoformat() if self.issue_date else None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "currency": self.currency,
            "total": str(self.total) if self.total is not None else None,
            "seller": self.seller,
            "buyer": self.buyer,
            "pages": [self.pages[0], self.pages[1]],
            "sources": {name: dict(info) for name, info in self.sources.items()},
            "credit_note": self.credit_note,
            "buyer_ids": dict(self.buyer_ids),
            "ready_to_send": self.ready_to_send,
            "not_ready": list(self.not_ready),
            "layout": self.layout,
        }
