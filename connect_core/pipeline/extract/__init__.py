"""Reading invoices from PDFs: embedded Factur-X/ZUGFeRD XML first, else templates, else the page text.

    invoices = read_invoices(Path("job.pdf"), load_templates(data_dir / "templates"))
    for invoice in invoices:
        print(invoice.pages, invoice.to_json())

A PDF that carries Factur-X/ZUGFeRD XML is exactly one invoice, read from the XML
(source ``"facturx"``, confidence 1.0).  Otherwise each page's invoice number splits the
PDF: a page with a different number starts a new invoice; a page with none (or only
order, delivery or customer numbers) continues the invoice before it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from connect_core.config import Company
from connect_core.pipeline.extract.decide import READY, REQUIRED, decide, not_ready_reasons
from connect_core.pipeline.extract.facturx import embedded_xml, read_xml
from connect_core.pipeline.extract.fields import FIELD_NAMES, ExtractError, FieldValue, Found, InvoiceFields
from connect_core.pipeline.extract.grid import Cell, candidates, cells_of, plain_lines
from connect_core.pipeline.extract.reader import conventions, invoice_number, layout_clean, lines_of, read_fields
from connect_core.pipeline.extract.recognised import recognised_fields
from connect_core.pipeline.extract.templates import Template, load_templates, parse_template
from printer_backend.limits import Limits
from printer_backend.ocr import PageText, recognised_pages
from printer_backend.pdftext import PdfTextUnavailable, page_texts

__all__ = [
    "ExtractError", "FieldValue", "InvoiceFields", "Template", "best_template", "invoice_ranges", "load_templates",
    "page_grids", "parse_template", "pdf_producer", "read_invoices", "read_text",
]

log = logging.getLogger(__name__)


def read_invoices(pdf: Path, templates: Sequence[Template] | None = None, companies: Sequence[Company] = (),
                  default_currency: str | None = None, limits: Limits | None = None) -> list[InvoiceFields]:
    """One entry per invoice in ``pdf``, in page order; the first template whose keywords match beats the text reader.

    ``companies`` are the office's own (the seller of what it prints); ``default_currency`` fills in
    when no currency is printed.  The page text comes from a confined pdftotext under ``limits``
    (default: :class:`Limits`).  Raises ExtractError if the file is not a readable PDF.  A PDF
    without pages yields no invoice.
    """
    reader = _open(pdf)
    count = len(reader.pages)
    if count == 0:
        return []
    xml = embedded_xml(reader)
    if xml is not None:
        try:
            return [read_xml(xml, (1, count))]
        except ExtractError as error:
            log.warning("%s: embedded invoice XML unusable (%s); reading the page text", pdf, error)
    recognised = recognised_pages(reader)
    grids = _grids(pdf, count, limits, recognised)
    texts = [plain_lines(rows) for rows in grids]
    templates = list(templates or [])
    producer = producer_of(reader)
    return [recognised_fields(_invoice(texts, grids, first, last, templates, companies, default_currency, producer),
                              recognised)
            for first, last in invoice_ranges(texts, templates, grids, producer)]


def producer_of(reader: PdfReader) -> str | None:
    """The PDF's producer (the program that wrote it), if it says."""
    try:
        producer = reader.metadata.producer if reader.metadata is not None else None
    except (PyPdfError, ValueError, TypeError, KeyError):
        return None
    return " ".join(str(producer).split()) or None if producer else None


def pdf_producer(pdf: Path) -> str | None:
    """The producer of the PDF at ``pdf`` (see :func:`producer_of`)."""
    return producer_of(_open(pdf))


def page_grids(pdf: Path, limits: Limits | None = None) -> list[list[list[Cell]]]:
    """Every page as rows of cells (what the readers and the layouts see)."""
    reader = _open(pdf)
    return _grids(pdf, len(reader.pages), limits, recognised_pages(reader))


def best_template(templates: Sequence[Template], text: str, producer: str | None,
                  rows: Sequence[Sequence[Cell]] | None = None) -> Template | None:
    """The template that recognises ``text`` (and ``rows``) best: hand-written ones (keywords) first, then the
    largest share."""
    best, best_score = None, 0.0
    for template in templates:
        score = template.score(text, producer, rows)
        if score > best_score:
            best, best_score = template, score
    return best


def read_text(pdf: Path, limits: Limits | None = None) -> list[str]:
    """The text of every page as the line reader and templates see it: one cell (a run without wide gaps) per line."""
    reader = _open(pdf)
    return [plain_lines(rows) for rows in _grids(pdf, len(reader.pages), limits, recognised_pages(reader))]


def _grids(pdf: Path, pages: int, limits: Limits | None,
           recognised: dict[int, PageText] | None = None) -> list[list[list[Cell]]]:
    """Each page as rows of cells: its own text, or for a page OCR read, the text recognised (upright)."""
    recognised = recognised or {}
    try:
        texts = page_texts(pdf, pages, limits=limits or Limits()) if len(recognised) < pages else [""] * pages
    except OSError as error:
        raise ExtractError(f"{pdf}: cannot be read: {error}") from error
    except PdfTextUnavailable as error:
        raise ExtractError(error.reason) from error
    for number, page in recognised.items():
        if number <= len(texts):
            texts[number - 1] = page.text
    grids: list[list[list[Cell]]] = []
    row = 0
    for number, text in enumerate(texts, 1):
        grids.append(cells_of(layout_clean(text), number, row))
        row += len(grids[-1])
    return grids


def invoice_ranges(texts: Sequence[str], templates: Sequence[Template] = (),
                   grids: Sequence[list[list[Cell]]] = (), producer: str | None = None) -> list[tuple[int, int]]:
    """Split pages into invoices by their invoice numbers: (first, last) page pairs, 1-based, covering all pages."""
    ranges: list[tuple[int, int]] = []
    current: str | None = None
    for number, text in enumerate(texts, 1):
        found = _page_number(text, templates, grids[number - 1] if grids else [], producer)
        if ranges and (found is None or current is None or found.casefold() == current.casefold()):
            ranges[-1] = (ranges[-1][0], number)
            current = current or found
        else:
            ranges.append((number, number))
            current = found
    return ranges


def _page_number(text: str, templates: Sequence[Template], rows: Sequence[Sequence[Cell]],
                 producer: str | None) -> str | None:
    template = best_template([t for t in templates if "invoice_number" in t.field_names], text, producer, rows)
    if template is not None:
        found = template.read(text, rows).get("invoice_number")
        if found is not None:
            return str(found.value)
    return invoice_number(text)


def _invoice(texts: Sequence[str], grids: Sequence[list[list[Cell]]], first: int, last: int,
             templates: Sequence[Template], companies: Sequence[Company], default_currency: str | None,
             producer: str | None = None) -> InvoiceFields:
    pages = [(number, texts[number - 1]) for number in range(first, last + 1)]
    lines = lines_of(pages)
    rows = [row for grid in grids[first - 1:last] for row in grid]
    order, decimal = conventions(lines)
    decision = decide(read_fields(lines), candidates(rows, order, decimal), rows, decimal, companies,
                      default_currency)
    found = decision.found
    general = dict(found)
    text = "\n".join(page for _number, page in pages)
    template = best_template(templates, text, producer, rows)
    read = template.read(text, rows) if template is not None else {}
    found.update(read)
    values: dict[str, object] = {}
    sources: dict[str, dict[str, object]] = {}
    for name in FIELD_NAMES:
        item: Found | None = found.get(name)
        if item is None or not _typed(name, item.value):
            values[name] = None
            continue
        values[name] = item.value
        sources[name] = {"source": item.source, "confidence": round(item.confidence, 2)}
    ready, not_ready = decision.ready, decision.not_ready
    if template is not None and template.learned:
        # Learned from a person's correction: each field it reads is as sure as the correction; a field
        # whose label is missing on this page is the general reader's, and holds the invoice by itself.
        # (only the fields sending needs: a page without a due date or a buyer line is not held for it)
        missed = tuple(f"The {name.replace('_', ' ')} was not where the layout {template.name} has it."
                       for name in template.field_names if name not in read and name in REQUIRED
                       and (name not in template.anchors or template.anchors[name].hold))
        # Where the page's own labels give another value for sure, a person decides which is right.
        disputed = tuple(f"The layout {template.name} reads the {name.replace('_', ' ')} as {_shown(read[name].value)};"
                         f" the page's labels say {_shown(general[name].value)}."
                         for name in REQUIRED if name in read and name in general
                         and general[name].confidence >= READY and general[name].value != read[name].value)
        not_ready = missed + disputed + tuple(not_ready_reasons(found))
        ready = not not_ready
    elif template is not None:  # a person wrote the template for this layout: what it reads is as sure as it says
        missing = [name for name in REQUIRED if values.get(name) is None]
        ready, not_ready = not missing, tuple(f"The {name.replace('_', ' ')} could not be read." for name in missing)
    return InvoiceFields(pages=(first, last), sources=sources, credit_note=decision.credit_note,
                         buyer_ids=decision.buyer_ids, ready_to_send=ready, not_ready=not_ready,
                         layout=template.name if template is not None and read else None,
                         **values)  # type: ignore[arg-type]


def _shown(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _typed(name: str, value: object) -> bool:
    if name in ("issue_date", "due_date"):
        return isinstance(value, dt.date)
    if name == "total":
        return isinstance(value, Decimal)
    return isinstance(value, str) and bool(value)


def _open(pdf: Path) -> PdfReader:
    try:
        return PdfReader(pdf)
    except (OSError, PyPdfError, ValueError) as error:
        raise ExtractError(f"{pdf}: not a readable PDF: {error}") from error
