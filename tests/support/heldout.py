"""The held-out invoice set: public invoice PDFs from producers the invoice reader was not written for.

``tests/data/heldout`` holds ``<producer>__<name>.pdf`` files taken unchanged from packages on
public registries (invoice2data's real-world test bills, OCA Odoo modules' test PDFs, invoicing
libraries' sample output; see the NOTICE there), each with ``<producer>__<name>.json``: the
ground truth of the printed invoice (invoice number, issue and due dates, total with VAT signed
as printed, currency, seller and buyer names), its kind (``machine`` or ``real-world``), its
language, where the truth came from and the licence.  A PDF carrying an embedded XML is kept as
published: read it through an XML-free copy (``tests.support.corpus.strip_xml``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.harness import REPO

HELDOUT = REPO / "tests" / "data" / "heldout"

#: The truth fields of every JSON, in order; ``None`` where the page does not print the value unambiguously.
TRUTH_FIELDS = ("invoice_number", "issue_date", "due_date", "total", "currency", "seller", "buyer", "credit_note")
#: The keys describing the sample rather than the invoice.
META_FIELDS = ("kind", "language", "truth_source", "source", "licence", "licence_file")
KINDS = ("machine", "real-world")
TRUTH_SOURCES = (
    "embedded XML",
    "invoice2data expected output",
    "belegradar expected output",
    "read by hand from the page",
)


@dataclass(frozen=True)
class HeldOut:
    """One held-out invoice: the PDF as published and its typed ground truth."""

    path: Path
    producer: str
    kind: str
    language: str
    truth: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name


def producer(path: Path) -> str:
    """The producer a held-out file belongs to: its name before ``__``."""
    return path.name.split("__")[0]


def typed_truth(raw: dict[str, Any]) -> dict[str, Any]:
    """A JSON truth with its dates as ``datetime.date`` and its total as ``Decimal`` (``None`` stays ``None``)."""
    truth = dict(raw)
    for key in ("issue_date", "due_date"):
        if truth.get(key) is not None:
            truth[key] = dt.date.fromisoformat(truth[key])
    if truth.get("total") is not None:
        truth["total"] = Decimal(truth["total"])
    return truth


def truth_file(pdf: Path) -> Path:
    return pdf.with_suffix(".json")


def heldout_pdfs() -> list[Path]:
    return sorted(HELDOUT.glob("*.pdf"), key=lambda path: path.name)


def heldout_samples() -> list[HeldOut]:
    """Every held-out PDF with its truth, sorted by file name."""
    samples = []
    for pdf in heldout_pdfs():
        raw = json.loads(truth_file(pdf).read_text(encoding="utf-8"))
        samples.append(HeldOut(pdf, producer(pdf), raw["kind"], raw["language"], typed_truth(raw)))
    return samples
