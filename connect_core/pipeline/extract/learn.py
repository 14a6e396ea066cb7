"""Learning a layout from one corrected invoice: where each value stands, and what recognises the layout.

For every field with a value (as the person corrected or confirmed it) the learner looks for the
cells that print that value, and for each a label to anchor it: the text before it in its own
cell (``after``), the cell left of it in its row (``right``), or the nearest text cell above it
in its column (``below``, with how many cells down).  A label is text without digits, so it is
printed the same on every invoice of the layout.  Each anchor is tried on the page before it is
kept: it must read back exactly the value the person gave.  Of several, a label the general
reader knows for that field wins, then the closest placement, and for the total the lowest on
the page.

The *fingerprint* is the page's fixed text: its text cells without digits, less those that
print the invoice's own values (the buyer), and the PDF's producer.  A later page shows the
layout when it prints most of them (:class:`~.templates.Fingerprint`).

    learned = learn_layout(page, {"invoice_number": "AB-7037", ...}, name="kessler-12")
    learned.template  # a Template, or None with learned.reason
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from connect_core.pipeline.extract.grid import Cell, labels, plain_lines
from connect_core.pipeline.extract.templates import (
    DEFAULT_SHARE,
    EXTRA_DATE_FORMATS,
    MAX_ROWS_BELOW,
    Anchor,
    Fingerprint,
    Template,
    column_partner,
    formatted_dates,
    label_cells,
    read_anchor,
)
from connect_core.pipeline.extract.values import SIGNS, find_amounts, find_currencies, find_dates

#: The fields a layout can learn, in the order they are tried.
LEARNABLE = ("invoice_number", "issue_date", "due_date", "currency", "total", "buyer")
#: At most this many fixed texts make a fingerprint.
MAX_TEXTS = 60
_PLACE_SCORE = {"after": 3.0, "right": 2.5, "below": 2.0}
_LETTERS = re.compile(r"[^\W\d_]")
_CURRENCY_AT_END = re.compile(r"\s*(?:" + SIGNS + r"|\b[A-Z]{3}|\bkr\.?|zł)\s*$")


@dataclass(frozen=True)
class LearnedPage:
    """An invoice's pages as the learner sees them: cells, their text, the producer, how it prints numbers."""

    rows: list[list[Cell]]
    producer: str | None
    date_order: str
    decimal: str | None

    @property
    def text(self) -> str:
        return plain_lines(self.rows)


@dataclass(frozen=True)
class Learned:
    """What one correction taught: a template (None when nothing) and why not, field by field."""

    template: Template | None
    fields: tuple[str, ...]
    reason: str = ""
    """Why nothing was learned (when ``template`` is None)."""
    unanchored: tuple[str, ...] = ()
    """Fields with a value for which no label on the page reads it back."""


def learn_layout(page: LearnedPage, values: Mapping[str, object], name: str,
                 base: Template | None = None, sure: Collection[str] = ()) -> Learned:
    """A template reading ``values`` from ``page``, named ``name`` (``base``'s anchors kept where not relearned).

    ``sure``: fields the general reader already read right and sure on this page.  Their anchors are
    learned too (the reader is not always as sure on the next invoice) but do not hold an invoice whose
    page lacks their label: another layout that prints the same labels is then left as the reader has it.
    """
    order = base.date_order if base is not None else page.date_order
    anchors, formats, unanchored = _anchor_all(page, values, base, order)
    anchors = {field: dataclasses.replace(anchor, hold=field not in sure) for field, anchor in anchors.items()}
    dates = [field for field in ("issue_date", "due_date") if values.get(field) is not None]
    if any(field in unanchored for field in dates):  # 03/05/2024: the corrected date says which way it reads
        other = "mdy" if order == "dmy" else "dmy"
        tried = _anchor_all(page, values, base, other)
        if len(tried[0]) > len(anchors):
            (anchors, formats, unanchored), order = tried, other
    if not anchors:
        return Learned(None, (), "no printed label on the page leads to the values given", tuple(unanchored))
    fingerprint = fingerprint_of(page, values, [anchor.label for anchor in anchors.values()])
    if fingerprint is None:
        return Learned(None, (), "the page has too little fixed text to recognise its layout again",
                       tuple(unanchored))
    template = Template(name, (), {}, tuple(formats), page.decimal, anchors, fingerprint, order)
    return Learned(template, template.field_names, "", tuple(unanchored))


def _anchor_all(page: LearnedPage, values: Mapping[str, object], base: Template | None, order: str
                ) -> tuple[dict[str, Anchor], list[str], list[str]]:
    """An anchor for every field with a value that one reads back, the date formats used, the fields without."""
    page = LearnedPage(page.rows, page.producer, order, page.decimal)
    anchors: dict[str, Anchor] = dict(base.anchors) if base is not None else {}
    formats = list(base.date_formats) if base is not None else []
    unanchored = []
    for field in LEARNABLE:
        value = values.get(field)
        if value is None:
            continue
        anchor = best_anchor(page, field, value, tuple(formats))
        if anchor is None and isinstance(value, dt.date):  # a spelling the general date reader lacks
            for fmt in EXTRA_DATE_FORMATS:
                if fmt not in formats and (anchor := best_anchor(page, field, value, (*formats, fmt))) is not None:
                    formats.append(fmt)
                    break
        if anchor is None:
            unanchored.append(field)
            anchors.pop(field, None)
        else:
            anchors[field] = anchor
    total = anchors.get("total")
    if total is not None and values.get("currency") is not None and \
            read_anchor(page.rows, "currency", total, order, page.decimal) == values["currency"]:
        anchors["currency"] = total  # "$26.98", "251,90 EUR": the currency printed with the total is the one
        if "currency" in unanchored:
            unanchored.remove("currency")
    return anchors, formats, unanchored


def best_anchor(page: LearnedPage, field: str, value: object, formats: Sequence[str] = ()) -> Anchor | None:
    """The most trustworthy label that reads ``value`` back from ``page`` for ``field``, or None."""
    best: tuple[float, Anchor] | None = None
    total_rows = max(1, len(page.rows))
    for index, cell, start, end in _occurrences(page.rows, field, value, formats):
        for anchor in _anchors_for(page.rows, index, cell, start, end, field, value):
            if read_anchor(page.rows, field, anchor, page.date_order, page.decimal, formats) != value:
                continue
            score = _PLACE_SCORE[anchor.at] + (1.0 if _known_label(field, anchor.label) else 0.0)
            score -= 0.05 * (anchor.row - 1) + 0.1 * anchor.nth
            if field == "total":
                score += 0.5 * index / total_rows
            if best is None or score > best[0]:
                best = (score, anchor)
    return None if best is None else best[1]


def fingerprint_of(page: LearnedPage, values: Mapping[str, object], labels: Sequence[str] = ()
                   ) -> Fingerprint | None:
    """The page's fixed texts and its producer: the labels of ``labels`` (the anchors), and every text cell
    without digits in a row without digits (so not the invoice lines, whose descriptions change from one
    invoice to the next) that is not one of the invoice's own values (the buyer)."""
    own = [str(value).casefold() for field, value in values.items()
           if isinstance(value, str) and field in ("buyer", "invoice_number") and value.strip()]
    texts: list[str] = list(dict.fromkeys(" ".join(label.split()) for label in labels))
    for row in page.rows:
        if any(c.isdigit() for cell in row for c in cell.text):
            continue
        for cell in row:
            text = " ".join(cell.text.split())
            folded = text.casefold()
            if (len(_LETTERS.findall(text)) < 3 or folded in (t.casefold() for t in texts)
                    or any(value in folded or folded in value for value in own)):
                continue
            texts.append(text)
    if len(texts) < 3:
        return None
    return Fingerprint(tuple(texts[:MAX_TEXTS]), page.producer, DEFAULT_SHARE)


# -- finding the value on the page ------------------------------------------------------------------


def _occurrences(rows: Sequence[Sequence[Cell]], field: str, value: object, formats: Sequence[str]
                 ) -> Iterator[tuple[int, Cell, int, int]]:
    """Every place a cell prints ``value``: (row index, cell, start, end in the cell's text)."""
    for index, row in enumerate(rows):
        for cell in row:
            for start, end in _spans(cell.text, field, value, formats):
                yield index, cell, start, end


def _spans(text: str, field: str, value: object, formats: Sequence[str]) -> Iterator[tuple[int, int]]:
    if field in ("issue_date", "due_date") and isinstance(value, dt.date):
        for when, start, end in formatted_dates(text, formats):
            if when == value:
                yield start, end
                return
        for order in ("dmy", "mdy"):
            for when, start, end in find_dates(text, order):
                if when == value:
                    yield start, end
                    return
    elif field == "total" and isinstance(value, Decimal):
        for separator in (",", "."):
            for amount in find_amounts(text, separator):
                if amount.value == value:
                    yield amount.start, amount.end
                    return
    elif field == "currency" and isinstance(value, str):
        if value in find_currencies(text):
            match = re.search(rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])", text)
            if match is not None:
                yield match.start(), match.end()
            else:
                symbol = re.search(SIGNS + r"|\bkr\b|zł", text)
                if symbol is not None:
                    yield symbol.start(), symbol.end()
    elif isinstance(value, str) and value.strip():
        flags = re.IGNORECASE if field == "buyer" else 0
        words = r"\s+".join(re.escape(word) for word in value.split())
        for match in re.finditer(rf"(?<![\w/-]){words}(?![\w/-])", text, flags):
            yield match.start(), match.end()


def _is_label(text: str) -> bool:
    """Printed text that can anchor a value: letters (or "n.", "#"), no digits, and not only a currency."""
    if re.fullmatch(r"\s*(?:#|№|n[°º.]?|no\.?|nr\.?)\s*:?\s*", text, re.IGNORECASE):
        return True
    text = text.strip(" :#.-|")
    if len(_LETTERS.findall(text)) < 2 or any(c.isdigit() for c in text):
        return False
    return re.fullmatch(r"(?:[A-Z]{3}|" + SIGNS + r"|kr|zł)", text) is None


def _anchors_for(rows: Sequence[Sequence[Cell]], index: int, cell: Cell, start: int, end: int, field: str,
                 value: object) -> Iterator[Anchor]:
    pattern = None  # an invoice number's shape varies too often (credit notes, new years) to be required
    before = cell.text[:start]
    if field in ("total", "currency"):  # "$26.98", "EUR 251,90": the currency sign is part of the amount
        before = _CURRENCY_AT_END.sub("", before)
    before = before.rstrip(" :#.-–")
    if before and _is_label(before):
        yield _numbered(rows, Anchor(" ".join(before.split()), "after", pattern=pattern), cell)
    if before.strip():
        return  # the value is inside a longer text: only its own cell's start can lead to it
    row = rows[index]
    for left in reversed([other for other in row if other.end <= cell.start]):
        if _is_label(left.text):
            yield _numbered(rows, Anchor(_label_text(left.text), "right", pattern=pattern), left)
            break
        if any(c.isdigit() for c in left.text):
            break  # another value stands between: the label is not this one's
    above = 0
    for row_above in reversed(rows[max(0, index - MAX_ROWS_BELOW):index]):
        over = column_partner(row, [other for other in row_above if other.page == cell.page], cell)
        if over is None:
            continue
        above += 1
        if _is_label(over.text):
            yield _numbered(rows, Anchor(_label_text(over.text), "below", row=above, pattern=pattern), over)
            return


def _label_text(text: str) -> str:
    return " ".join(text.split()).rstrip(" :")


def _numbered(rows: Sequence[Sequence[Cell]], anchor: Anchor, label_cell: Cell) -> Anchor:
    """``anchor`` with ``nth`` set to which of the cells printing its label ``label_cell`` is."""
    cells = [cell for cell, _end in label_cells(rows, anchor)]
    nth = cells.index(label_cell) if label_cell in cells else 0
    return Anchor(anchor.label, anchor.at, anchor.row, nth, anchor.pattern)


def _known_label(field: str, label: str) -> bool:
    """Whether the general reader's label table knows ``label`` for ``field``."""
    known = labels()
    pattern = known.other.get(field) if field in ("buyer", "currency") else known.strong.get(field)
    return pattern is not None and pattern.search(label) is not None
