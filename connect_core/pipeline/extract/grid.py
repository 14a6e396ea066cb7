"""Reading with the page's geometry: labels paired with the value beside them or below them in their column.

A page's text is taken in layout mode (pypdf keeps each glyph's column), cut into *cells*: runs
of text with no wide gap.  A label (from ``labels.yaml``) found in a cell takes its value from
the rest of that cell ("Rechnungsnummer: 4711"), else from the next cell to its right
("Invoice date      12 March 2024"), else from the cell under it in the same column (a table
header row: "Klant  Order  Factuur datum  Factuur" over the values).  Every such pairing is a
:class:`Candidate` with a score; :mod:`.decide` weighs them against the line reader's and
against each other.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml

from connect_core.pipeline.extract.values import (
    COLUMN_SUMS,
    REFERENCE,
    column_sums,
    find_amounts,
    find_currencies,
    find_dates,
)

LABELS_FILE = Path(__file__).with_name("labels.yaml")
#: How the value was placed relative to its label, and how much that placement is trusted.
PLACEMENT = {"after": 1.0, "right": 0.95, "below": 0.9}


@dataclass(frozen=True)
class Cell:
    """A run of text on one row of a page, and the character columns it spans."""

    page: int
    row: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Candidate:
    """A value a label offers for a field: how strong the label is and where the value stood."""

    field: str
    value: object
    score: float
    page: int
    placement: str
    label: str


@dataclass(frozen=True)
class Labels:
    strong: dict[str, re.Pattern[str]]
    weak: dict[str, re.Pattern[str]]
    title: re.Pattern[str]
    title_then_token: re.Pattern[str]
    other: dict[str, re.Pattern[str]]


def _pattern(patterns: Sequence[str], whole: bool = False) -> re.Pattern[str]:
    body = "|".join(f"(?:{pattern})" for pattern in patterns)
    if whole:
        return re.compile(rf"^(?:{body})\s*:?$", re.IGNORECASE)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


@cache
def labels() -> Labels:
    """The label tables of ``labels.yaml``, compiled once: one pattern per field and strength."""
    data = yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8"))

    def every(entry: dict[str, list[str]] | None) -> list[str]:
        return [pattern for patterns in (entry or {}).values() for pattern in patterns]

    fields = ("invoice_number", "issue_date", "due_date", "total")
    strong = {name: _pattern(every(data[name].get("strong"))) for name in fields}
    weak = {name: _pattern(every(data[name]["weak"])) for name in fields if "weak" in data[name]}
    other = {name: _pattern(every(data[name])) for name in
             ("not_grand", "gross", "net", "vat", "reference", "credit_note", "currency", "seller", "buyer")}
    titles = every(data["invoice_number"]["title"])
    title_then_token = re.compile(rf"^(?:{'|'.join(titles)})\s*[:#]?\s+(?=\S*\d)", re.IGNORECASE)
    return Labels(strong, weak, _pattern(titles, whole=True), title_then_token, other)


# -- the page as cells ---------------------------------------------------------------------------


def cells_of(text: str, page: int, first_row: int = 0) -> list[list[Cell]]:
    """Layout-mode text of one page as rows of cells; ``first_row`` numbers the rows across pages."""
    rows: list[list[Cell]] = []
    for line in text.split("\n"):
        found = [Cell(page, first_row + len(rows), match.start(), match.end(), match.group())
                 for match in re.finditer(r"\S+(?: \S+)*", line)]
        if found:
            rows.append(found)
    return rows


def plain_lines(rows: Sequence[Sequence[Cell]]) -> str:
    """The cells one per line, in reading order: the text the line reader and the templates see."""
    return "\n".join(" | ".join(cell.text for cell in row) for row in rows)


# -- pairing labels with values ------------------------------------------------------------------

_TOKEN = re.compile(REFERENCE)
_LEAD = re.compile(r"^[\s:.#°º\-–]*(?:(?:no|nr|n°|nº|num)\.?[\s:.#]*)?")


def _beside(rows: Sequence[Sequence[Cell]], cell: Cell, end: int) -> Iterator[tuple[str, str]]:
    """The texts a label ending at ``end`` in ``cell`` may take its value from, with their placement."""
    rest = cell.text[end:]
    stripped = _LEAD.sub("", rest).strip()
    if stripped:
        yield stripped, "after"
        return
    row = rows[cell.row - rows[0][0].row] if rows else []
    right = [other for other in row if other.start >= cell.end]
    if right:
        yield _LEAD.sub("", right[0].text).strip(), "right"
    for below in _rows_below(rows, cell):
        overlapping = [other for other in below if _under(row, cell, other)]
        if overlapping:
            best = max(overlapping, key=lambda other: min(other.end, cell.end) - max(other.start, cell.start))
            yield _LEAD.sub("", best.text).strip(), "below"
            return


def _under(row: Sequence[Cell], cell: Cell, other: Cell) -> bool:
    """Whether ``other`` (on a row below) stands in ``cell``'s column: overlapping it, or between its start and
    the start of the next cell on its row (a number right-aligned under a left-aligned header)."""
    if other.start < cell.end + 2 and other.end > cell.start - 2:
        return True
    following = next((right.start for right in row if right.start > cell.start), None)
    return other.start >= cell.start and (following is None or other.end < following)


def _rows_below(rows: Sequence[Sequence[Cell]], cell: Cell, depth: int = 2) -> list[Sequence[Cell]]:
    index = cell.row - rows[0][0].row
    return [row for row in rows[index + 1:index + 1 + depth] if row and row[0].page == cell.page]


_JOINED = re.compile(r"\s[/-]\s[A-Za-z0-9]*\d[A-Za-z0-9./\-_]*")


def _token(text: str) -> str | None:
    """The number at the start of ``text`` ("RE-2024/17"; also "018304 / 28865", spaced around its slash)."""
    match = _TOKEN.match(text)
    if match is None:
        return None
    token = match.group()
    if joined := _JOINED.match(text, match.end()):
        token += joined.group()
    if not re.search(r"\d", token) or len(token) > 30:
        return None
    if next(find_dates(token), None) is not None or re.fullmatch(r"\d{1,3}(?:[.,]\d{2})", token):
        return None
    return token


def _date(text: str, order: str) -> dt.date | None:
    for when, start, _end in find_dates(text, order):
        return when if start <= 3 else None
    return None


def candidates(rows: Sequence[Sequence[Cell]], order: str, decimal: str | None) -> list[Candidate]:
    """Every label-value pairing on the rows of one invoice (several pages' rows, in order)."""
    tables = labels()
    found: list[Candidate] = []
    references = _references(rows)
    header_rows = {row[0].row for row in rows if _labelled_cells(row) >= 2}
    for row in rows:
        for cell in row:
            for field in ("invoice_number", "issue_date", "due_date", "total"):
                for strength, table in (("strong", tables.strong), ("weak", tables.weak)):
                    pattern = table.get(field)
                    if pattern is None:
                        continue
                    for match in pattern.finditer(cell.text):
                        found.extend(_pair(rows, cell, match, field, strength, order, decimal, references))
                    if field != "total" and pattern.search(cell.text):
                        break  # a strong label hides the weak reading of the same cell
            titled = tables.title_then_token.match(cell.text)
            if titled is not None and (token := _token(cell.text[titled.end():])) and token not in references:
                found.append(Candidate("invoice_number", token, 0.8, cell.page, "after", titled.group()))
            if cell.row in header_rows and tables.title.match(cell.text):
                for text, placement in _beside(rows, cell, len(cell.text)):
                    if placement == "below" and (token := _token(text)) and token not in references:
                        found.append(Candidate("invoice_number", token, 0.8, cell.page, "below", cell.text))
    return found


def _pair(rows: Sequence[Sequence[Cell]], cell: Cell, match: re.Match[str], field: str, strength: str,
          order: str, decimal: str | None, references: set[str]) -> list[Candidate]:
    tables = labels()
    base = 0.9 if strength == "strong" else 0.6
    before = cell.text[:match.start()]
    if field == "invoice_number":
        if tables.other["reference"].search(before) or (strength == "weak" and match.start() > 0):
            return []
        for text, placement in _beside(rows, cell, match.end()):
            token = _token(text)
            if strength == "weak" and placement != "after":
                break
            if token is not None and token not in references:
                # a value cell holding more than the number leaves room for doubt about where the number ends
                partial = placement != "after" and token != text
                score = base * PLACEMENT[placement] - (0.1 if partial else 0.0)
                return [Candidate(field, token, score, cell.page, placement, match.group())]
        return []
    if field in ("issue_date", "due_date"):
        if strength == "weak" and match.start() > 0:
            return []
        for text, placement in _beside(rows, cell, match.end()):
            when = _date(text, order)
            if when is not None:
                return [Candidate(field, when, base * PLACEMENT[placement], cell.page, placement, match.group())]
        return []
    return _total(rows, cell, match, strength, decimal)


def _total(rows: Sequence[Sequence[Cell]], cell: Cell, match: re.Match[str], strength: str,
           decimal: str | None) -> list[Candidate]:
    tables = labels()
    near = cell.text[max(0, match.start() - 15):match.start()] + " " + cell.text[match.end():]
    if tables.other["not_grand"].search(near) and not tables.other["gross"].search(near):
        return []
    base = 0.85 if strength == "strong" else 0.6
    row = rows[cell.row - rows[0][0].row]
    rest = [cell.text[match.end():]] + [other.text for other in row if other.start >= cell.end]
    amounts = [amount for text in rest for amount in find_amounts(text, decimal) if not _percent(text, amount.end)]
    if amounts:
        currency = next((code for text in [cell.text, *rest] for code in find_currencies(text)), None)
        value = amounts[-1].value
        if column_sums([amount.value for amount in amounts]):
            base *= COLUMN_SUMS
        return [Candidate("total", (value, amounts[-1].currency or currency), base, cell.page, "right", match.group())]
    if len(row) >= 3 and _column_amounts(rows, row, cell, decimal) != 1:
        return []  # a column header of the item table ("Qty  Price  Total"): the cells below are line amounts
    for text, placement in _beside(rows, cell, match.end()):
        if placement != "below":
            continue
        below = list(find_amounts(text, decimal))
        if len(below) == 1:
            currency = below[0].currency or next(find_currencies(cell.text), None)
            return [Candidate("total", (below[0].value, currency), base * PLACEMENT["below"], cell.page, placement,
                              match.group())]
    return []


def _column_amounts(rows: Sequence[Sequence[Cell]], row: Sequence[Cell], cell: Cell, decimal: str | None,
                    depth: int = 3) -> int:
    """How many of the next rows hold an amount under ``cell`` (on ``row``): one for a label over its value, more
    for the header of a column of line amounts."""
    count = 0
    for below in _rows_below(rows, cell, depth):
        count += any(_under(row, cell, other) and next(find_amounts(other.text, decimal), None) is not None
                     for other in below)
    return count


def _percent(text: str, end: int) -> bool:
    return text[end:end + 2].strip().startswith("%")


def _labelled_cells(row: Sequence[Cell]) -> int:
    tables = labels()
    count = 0
    for cell in row:
        if len(cell.text) > 40:
            continue
        if (tables.title.match(cell.text) or tables.other["reference"].match(cell.text)
                or any(pattern.match(cell.text) for pattern in tables.strong.values())
                or tables.weak["issue_date"].match(cell.text)):
            count += 1
    return count


def _references(rows: Sequence[Sequence[Cell]]) -> set[str]:
    """Values printed under or after labels of other numbers (customer, order, VAT id...)."""
    reference = labels().other["reference"]
    number = labels().strong["invoice_number"]
    found: set[str] = set()
    for row in rows:
        for cell in row:
            match = reference.match(cell.text)
            if match is None or number.search(cell.text):
                continue
            for text, _placement in _beside(rows, cell, match.end()):
                token = _token(text)
                if token is not None:
                    found.add(token)
                break
    return found


# -- amounts that check each other ---------------------------------------------------------------


def vat_table_totals(rows: Sequence[Sequence[Cell]], decimal: str | None) -> list[Decimal]:
    """Gross amounts of rows holding net, VAT and gross side by side (net + VAT = gross, all of one sign, the VAT
    the smaller part); the rightmost such triple of a row, so a prepayment after the gross is no VAT."""
    found = []
    for row in rows:
        text = "  ".join(cell.text for cell in row)
        amounts = [amount.value for amount in find_amounts(text, decimal) if not _percent(text, amount.end)]
        for net, vat, gross in reversed(list(zip(amounts, amounts[1:], amounts[2:], strict=False))):
            if gross != 0 and vat != 0 and net + vat == gross and net * gross > 0 and vat * gross > 0 \
                    and abs(vat) < abs(net):
                found.append(gross)
                break
    return found


def labelled_amounts(rows: Sequence[Sequence[Cell]], name: str, decimal: str | None) -> list[Decimal]:
    """The last amount on each row whose first cells carry a ``net`` or ``vat`` label."""
    pattern = labels().other[name]
    found = []
    for row in rows:
        for index, cell in enumerate(row):
            if (label := pattern.search(cell.text)) is not None:
                texts = [cell.text[label.end():]] + [other.text for other in row[index + 1:]]
                amounts = [a.value for text in texts for a in find_amounts(text, decimal) if not _percent(text, a.end)]
                if amounts:
                    found.append(amounts[-1])
                break
    return found
