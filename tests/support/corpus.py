"""The printed corpus as extraction test data: XML-free copies, their ground truth, and scoring.

Ground truth is each PDF's own embedded Factur-X/ZUGFeRD XML, read with the product's
facturx module.  The copies the readers are scored on keep every page and lose the XML:
only the pages are copied into a new PDF, then the copy is checked to carry no embedded
file, no /AF and no XML file name anywhere in its bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from connect_core.pipeline.extract import InvoiceFields
from connect_core.pipeline.extract.facturx import XML_NAMES, embedded_xml, read_xml
from tests.support.harness import CORPUS

PRINTED = CORPUS / "printed"
#: Held to the accuracy bar (seller and buyer are heuristics and reported only).
SCORED = ("invoice_number", "issue_date", "due_date", "total", "currency")
REPORTED = ("seller", "buyer")
BAR = {"invoice_number": 0.95, "issue_date": 0.95, "total": 0.95, "due_date": 0.90}


@dataclass(frozen=True)
class Sample:
    """One corpus invoice: the original, its XML-free copy and the XML's fields."""

    original: Path
    stripped: Path
    truth: InvoiceFields

    @property
    def producer(self) -> str:
        return producer(self.original)


def producer(path: Path) -> str:
    """The producer folder a corpus file came from: its name before ``__``."""
    return path.name.split("__")[0]


def corpus_files() -> list[Path]:
    return sorted(PRINTED.glob("*.pdf"))


def ground_truth(pdf: Path) -> InvoiceFields:
    reader = PdfReader(pdf)
    xml = embedded_xml(reader)
    assert xml is not None, f"{pdf.name} carries no Factur-X/ZUGFeRD XML"
    return read_xml(xml, (1, len(reader.pages)))


_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
"""CII D16B as Factur-X and ZUGFeRD 2 write it."""
_NS_ZUGFERD_1 = {
    "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}
"""ZUGFeRD 1.0 (CII D13B): other namespaces and other element names for the same business terms."""


def xpath_truth(pdf: Path) -> dict[str, Any]:
    """The XML's fields read a second, independent way: namespaced XPath over the trusted corpus XML."""
    xml = embedded_xml(PdfReader(pdf))
    assert xml is not None
    root = ET.fromstring(xml)  # noqa: S314 - the corpus files are trusted test data
    if root.tag == "{urn:ferd:CrossIndustryDocument:invoice:1p0}CrossIndustryDocument":
        namespaces, document = _NS_ZUGFERD_1, "rsm:HeaderExchangedDocument"
        transaction = "rsm:SpecifiedSupplyChainTradeTransaction"
        settlement = f"{transaction}/ram:ApplicableSupplyChainTradeSettlement"
        agreement = f"{transaction}/ram:ApplicableSupplyChainTradeAgreement"
        summation = f"{settlement}/ram:SpecifiedTradeSettlementMonetarySummation"
    else:
        namespaces, document = _NS, "rsm:ExchangedDocument"
        settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
        agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
        summation = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"

    def text(path: str) -> str | None:
        found = root.find(path, namespaces)
        return " ".join(found.text.split()) if found is not None and found.text else None  # as the product shows it

    def date(path: str) -> dt.date | None:
        value = text(path)
        return dt.datetime.strptime(value, "%Y%m%d").date() if value else None

    total = text(f"{summation}/ram:GrandTotalAmount")
    return {
        "invoice_number": text(f"{document}/ram:ID"),
        "issue_date": date(f"{document}/ram:IssueDateTime/udt:DateTimeString"),
        "due_date": date(f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"),
        "currency": text(f"{settlement}/ram:InvoiceCurrencyCode"),
        "total": Decimal(total) if total else None,
        "seller": text(f"{agreement}/ram:SellerTradeParty/ram:Name"),
        "buyer": text(f"{agreement}/ram:BuyerTradeParty/ram:Name"),
    }


def strip_xml(pdf: Path, out: Path) -> Path:
    """Copy only the pages of ``pdf`` to ``out`` and prove the copy carries no invoice XML."""
    writer = PdfWriter()
    for page in PdfReader(pdf).pages:
        writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()
    out.write_bytes(data)
    copy = PdfReader(out)
    assert embedded_xml(copy) is None and not copy.attachments, f"{out.name} still has embedded files"
    catalog = copy.root_object
    assert "/AF" not in catalog and "/Names" not in catalog
    lowered = data.lower()
    assert b"/embeddedfile" not in lowered and not any(name.encode() in lowered for name in XML_NAMES)
    assert len(copy.pages) == len(PdfReader(pdf).pages)
    return out


def samples(folder: Path) -> list[Sample]:
    """Every corpus invoice with an XML-free copy in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Sample(pdf, strip_xml(pdf, folder / pdf.name), ground_truth(pdf)) for pdf in corpus_files()]


def concatenate(pdfs: Iterable[Path], out: Path) -> Path:
    """One PDF holding all pages of ``pdfs`` in order (their embedded files are not copied)."""
    writer = PdfWriter()
    for pdf in pdfs:
        for page in PdfReader(pdf).pages:
            writer.add_page(page)
    with out.open("wb") as handle:
        writer.write(handle)
    return out


def matches(field: str, got: object, want: object) -> bool:
    """Exact equality for the scored fields; seller/buyer match if one name contains the other."""
    if field in REPORTED:
        return isinstance(got, str) and isinstance(want, str) and (
            got.casefold() in want.casefold() or want.casefold() in got.casefold())
    return got == want


def rates(pairs: Sequence[tuple[Sample, InvoiceFields]]) -> dict[str, tuple[int, int]]:
    """Per field: (hits, counted) over the pairs; due date counts only where the XML has one."""
    result: dict[str, tuple[int, int]] = {}
    for field in SCORED + REPORTED:
        counted = [(s, got) for s, got in pairs if not (field == "due_date" and s.truth.due_date is None)]
        hits = sum(matches(field, getattr(got, field), getattr(s.truth, field)) for s, got in counted)
        result[field] = (hits, len(counted))
    return result


def misses(pairs: Sequence[tuple[Sample, InvoiceFields]], field: str) -> list[str]:
    """One line per wrong value of ``field``: file, what was read, what the XML says."""
    lines = []
    for sample, got in pairs:
        want = getattr(sample.truth, field)
        if field == "due_date" and want is None:
            continue
        if not matches(field, getattr(got, field), want):
            lines.append(f"{sample.original.name}: read {getattr(got, field)!r}, XML {want!r}")
    return lines


def rate_table(groups: dict[str, Sequence[tuple[Sample, InvoiceFields]]]) -> str:
    """A Markdown table: one row per group, one column per field, ``hits/counted (percent)``."""
    fields = SCORED + REPORTED
    head = "| files | n | " + " | ".join(fields) + " |"
    rule = "|---|---:|" + "---:|" * len(fields)
    rows = [head, rule]
    for name, pairs in groups.items():
        cells = []
        for hits, counted in rates(pairs).values():
            cells.append(f"{hits}/{counted} ({100 * hits / counted:.0f}%)" if counted else "–")
        rows.append(f"| {name} | {len(pairs)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """Every printed corpus invoice with a verified XML-free copy and its XML ground truth (once per run)."""
    return samples(Path(tmp_path_factory.mktemp("stripped")))
