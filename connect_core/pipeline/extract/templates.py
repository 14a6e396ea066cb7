"""Layout templates: what recognises one layout, and where each field stands on its pages.

A template file written by hand looks like (invoice2data-style)::

    name: au-bon-moulin
    keywords: ["Au bon moulin", "SIRET"]      # all must occur in the invoice's text
    fields:                                   # each regex has exactly one group
      invoice_number: 'Facture (FA-\\d{4}-\\d{4})'
      issue_date: 'Date de facture (\\S+)'
      total: 'Total TTC ([\\d ,.-]+)'
    date_formats: ["%d/%m/%Y"]               # optional; else the general date reader
    decimal_separator: ","                    # optional; else guessed per amount

The text a regex matches is what ``pagero-connect extract FILE --text`` prints: one printed row
per line, its cells joined by `` | ``.  Regexes run with ``re.MULTILINE``.

A template *learned* from a person's correction (:mod:`.learn`) has the same keys; its fields say
where the value stands relative to a printed label instead of a regex, and a ``fingerprint``
recognises the layout instead of keywords someone typed::

    name: kessler-feinmechanik-kg-12
    keywords: []
    fingerprint:                              # most of these must be printed on the page
      texts: ["Kessler Feinmechanik KG", "Abrechnung", "Beleg-Kennung", "Endsumme EUR"]
      producer: "ReportLab PDF Library - www.reportlab.com"   # the PDF's producer counts as one text
      share: 0.6
    fields:
      invoice_number: {label: "Beleg-Kennung", at: below, pattern: '[A-Za-z]+-\\d+'}
      issue_date: {label: "Ausgestellt", at: below}
      total: {label: "Endsumme EUR", at: right}
      buyer: {label: "Kessler Feinmechanik KG", at: below, row: 2}
    date_order: dmy
    decimal_separator: ","

``at`` is ``after`` (the rest of the label's cell), ``right`` (the next cell in its row) or
``below`` (the ``row``-th cell under it in its column, default 1); ``nth`` picks among several
cells printing the same label (0 = the first).  A field whose label is not on a page is left to
the general reader, and a required one holds the invoice for a person unless ``hold: false`` (a field
the reader was already sure of where the layout was learned).  Of several templates the one
recognising the page best is used: a hand-written one whose keywords all occur, else the learned one
with the largest share.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connect_core.pipeline.extract.fields import FIELD_NAMES, ExtractError, Found
from connect_core.pipeline.extract.grid import Cell
from connect_core.pipeline.extract.values import (
    REFERENCE,
    currency_code,
    find_amounts,
    find_currencies,
    find_dates,
    parse_amount,
    parse_date,
)

#: A template names a layout someone checked, so what it reads is nearly certain.
TEMPLATE_CONFIDENCE = 0.95
#: How a value stands relative to its label.
PLACES = ("after", "right", "below")
#: How many rows under its label a ``below`` value may stand.
MAX_ROWS_BELOW = 12
#: The share of a learned layout's anchors that must find a value on a page for the layout to be recognised.
ANCHORS_FOUND = 0.6
#: The share of a fingerprint's texts a page must print, unless the template says otherwise.
DEFAULT_SHARE = 0.6
KEYS = {"name", "keywords", "fields", "date_formats", "decimal_separator", "date_order", "fingerprint"}
_TOKEN = re.compile(REFERENCE)
_SPACED_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9./\-_]*(?: ?[/-] ?[A-Za-z0-9][A-Za-z0-9./\-_]*)+")


@dataclass(frozen=True)
class Anchor:
    """Where one field's value stands: relative to a printed label."""

    label: str
    at: str = "right"
    row: int = 1
    """For ``below``: the value is the ``row``-th cell under the label in its column."""
    nth: int = 0
    """Which of the cells printing ``label`` (0 = the first in reading order)."""
    pattern: re.Pattern[str] | None = None
    """For the invoice number: its shape (``[A-Za-z]+-\\d+``), to take from a longer cell."""
    hold: bool = True
    """Whether a page without this label holds the invoice (False: the general reader was sure of this
    field where the layout was learned, so it is left to it when the label is missing)."""

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"label": self.label, "at": self.at}
        if not self.hold:
            data["hold"] = False
        if self.at == "below" and self.row != 1:
            data["row"] = self.row
        if self.nth:
            data["nth"] = self.nth
        if self.pattern is not None:
            data["pattern"] = self.pattern.pattern
        return data


@dataclass(frozen=True)
class Fingerprint:
    """What recognises a learned layout: printed fixed texts (and the PDF's producer), most of which must occur."""

    texts: tuple[str, ...]
    producer: str | None = None
    share: float = DEFAULT_SHARE

    def score(self, text: str, producer: str | None) -> float:
        """The share of this fingerprint that ``text`` (and ``producer``) shows, 0..1."""
        folded = " ".join(text.split()).casefold()
        hits = sum(1 for item in self.texts if _occurs(item, folded))
        total = len(self.texts)
        if self.producer:
            total += 1
            hits += producer is not None and " ".join(producer.split()) == self.producer
        return hits / total if total else 0.0

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"texts": list(self.texts)}
        if self.producer:
            data["producer"] = self.producer
        data["share"] = self.share
        return data


def _occurs(item: str, folded_text: str) -> bool:
    needle = " ".join(item.split()).casefold()
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", folded_text) is not None


@dataclass(frozen=True)
class Template:
    """One layout: what recognises it and where (regex, or a label's place) each field stands."""

    name: str
    keywords: tuple[str, ...]
    fields: dict[str, re.Pattern[str]]
    date_formats: tuple[str, ...] = ()
    decimal_separator: str | None = None
    anchors: dict[str, Anchor] = field(default_factory=dict)
    fingerprint: Fingerprint | None = None
    date_order: str = "dmy"

    @property
    def learned(self) -> bool:
        """Recognised by a fingerprint (learned from a correction) rather than by keywords."""
        return self.fingerprint is not None

    @property
    def field_names(self) -> tuple[str, ...]:
        """The fields this template reads, in display order."""
        return tuple(name for name in FIELD_NAMES if name in self.fields or name in self.anchors)

    def matches(self, text: str, producer: str | None = None) -> bool:
        """True if the page text shows this layout."""
        return self.score(text, producer) > 0

    def score(self, text: str, producer: str | None = None, rows: Sequence[Sequence[Cell]] | None = None) -> float:
        """How well ``text`` shows this layout: 0 (not at all) .. 1; keywords must all occur, then the fingerprint.

        Given the page's ``rows``, a learned layout must also find a value where most of its anchors
        say: another program's page may print the same labels, but not with the values in the same places.
        """
        if not all(keyword in text for keyword in self.keywords):
            return 0.0
        if self.fingerprint is None:
            return 1.0
        share = self.fingerprint.score(text, producer)
        if share < self.fingerprint.share:
            return 0.0
        labels = [anchor.label for anchor in self.anchors.values()]
        folded = " ".join(text.split()).casefold()
        if labels and 2 * sum(_occurs(label, folded) for label in labels) < len(labels):
            return 0.0
        if rows is not None and self.anchors:
            found = sum(read_anchor(rows, name, anchor, self.date_order, self.decimal_separator, self.date_formats)
                        is not None for name, anchor in self.anchors.items())
            if found < ANCHORS_FOUND * len(self.anchors):
                return 0.0
        return share

    def read(self, text: str, rows: Sequence[Sequence[Cell]] = ()) -> dict[str, Found]:
        """The fields this template finds in ``text`` (regexes) and ``rows`` (anchors); a field it misses is absent."""
        source = f"template:{self.name}"
        found: dict[str, Found] = {}
        for name, pattern in self.fields.items():
            match = pattern.search(text)
            if match is None or match.group(1) is None:
                continue
            value = self._value(name, " ".join(match.group(1).split()))
            if value is not None:
                found[name] = Found(value, source, TEMPLATE_CONFIDENCE)
        for name, anchor in self.anchors.items():
            value = read_anchor(rows, name, anchor, self.date_order, self.decimal_separator, self.date_formats)
            if value is not None:
                found[name] = Found(value, source, TEMPLATE_CONFIDENCE)
        return found

    def _value(self, name: str, raw: str) -> object:
        if not raw:
            return None
        if name in ("issue_date", "due_date"):
            for fmt in self.date_formats:
                try:
                    return dt.datetime.strptime(raw, fmt).date()
                except ValueError:
                    continue
            order = "mdy" if any(f.startswith("%m") for f in self.date_formats) else self.date_order
            return parse_date(raw, order)
        if name == "total":
            return parse_amount(raw, self.decimal_separator)
        if name == "currency":
            return currency_code(raw)
        return raw


# -- anchors: a value beside or below its label ----------------------------------------------------


def label_pattern(label: str) -> re.Pattern[str]:
    """A label as printed at the start of a cell: its words with any spacing, any case, an optional colon."""
    words = r"\s+".join(re.escape(word) for word in label.split())
    edge = r"(?!\w)" if label[-1:].isalnum() else ""
    return re.compile(rf"^\s*{words}{edge}\s*:?", re.IGNORECASE)


def label_cells(rows: Sequence[Sequence[Cell]], anchor: Anchor) -> list[tuple[Cell, int]]:
    """The cells printing ``anchor.label`` in reading order, each with where the label ends in it.

    For ``right`` and ``below`` the cell must be the label alone; for ``after`` it starts with it.
    """
    pattern = label_pattern(anchor.label)
    found = []
    for row in rows:
        for cell in row:
            match = pattern.match(cell.text)
            if match is None:
                continue
            if anchor.at != "after" and cell.text[match.end():].strip(" :#.-"):
                continue
            found.append((cell, match.end()))
    return found


#: Numeric date spellings the general date reader does not know, tried by the learner (and in this order).
EXTRA_DATE_FORMATS = ("%Y.%m.%d", "%Y. %m. %d", "%Y/%m/%d", "%Y%m%d", "%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%d-%m-%y")
_DIRECTIVES = {"%Y": r"\d{4}", "%m": r"\d{1,2}", "%d": r"\d{1,2}", "%y": r"\d{2}"}


def format_pattern(fmt: str) -> re.Pattern[str]:
    """A regex finding dates printed as strptime format ``fmt`` (numeric directives only)."""
    parts = re.split(r"(%[Ymdy])", fmt)
    body = "".join(_DIRECTIVES.get(part, re.escape(part)) for part in parts)
    return re.compile(rf"(?<![\d.]){body}(?!\d)")


def formatted_dates(text: str, formats: Sequence[str]) -> Iterator[tuple[dt.date, int, int]]:
    """Every date in ``text`` printed in one of ``formats``: (date, start, end)."""
    for fmt in formats:
        for match in format_pattern(fmt).finditer(text):
            try:
                yield dt.datetime.strptime(match.group(), fmt).date(), match.start(), match.end()
            except ValueError:
                continue


def value_of(name: str, text: str, order: str = "dmy", decimal: str | None = None,
             pattern: re.Pattern[str] | None = None, formats: Sequence[str] = ()) -> object:
    """The first value of field ``name`` printed in ``text`` (a date, an amount, a currency, a token), or None."""
    text = text.strip()
    if not text:
        return None
    if name in ("issue_date", "due_date"):
        found = next((when for when, _start, _end in formatted_dates(text, formats)), None)
        return found or next((when for when, _start, _end in find_dates(text, order)), None)
    if name == "total":
        return next((amount.value for amount in find_amounts(text, decimal)), None)
    if name == "currency":
        return next(iter(find_currencies(text)), None)
    if name == "invoice_number":
        if pattern is not None:
            match = re.search(rf"(?<![\w/-])(?:{pattern.pattern})(?![\w/-])", text)
            return match.group() if match is not None else None
        if _SPACED_NUMBER.fullmatch(text) and any(c.isdigit() for c in text):
            return " ".join(text.split())  # the whole text is one number: "018304 / 28865"
        return next((token.group() for token in _TOKEN.finditer(text) if any(c.isdigit() for c in token.group())),
                    None)
    return " ".join(text.split()) or None


#: How far (in characters) a value may stand beside its column's label and still be under it.
COLUMN_SLACK = 12


def _apart(a: Cell, b: Cell) -> int:
    """How far apart two cells' columns are: 0 when they overlap, else the nearest of their starts, ends or middles
    (a left-aligned header over right-aligned amounts lines up by neither edge alone)."""
    if a.start < b.end and b.start < a.end:
        return 0
    return min(abs(a.start - b.start), abs(a.end - b.end), abs((a.start + a.end) - (b.start + b.end)) // 2)


def nearest_cell(row: Sequence[Cell], target: Cell) -> Cell | None:
    """The cell of ``row`` whose columns are nearest ``target``'s, if near enough."""
    best = min(row, key=lambda cell: _apart(cell, target), default=None)
    return best if best is not None and _apart(best, target) <= COLUMN_SLACK else None


def column_partner(row: Sequence[Cell], other_row: Sequence[Cell], cell: Cell) -> Cell | None:
    """The cell of ``other_row`` in ``cell``'s column (``cell`` is in ``row``), or None.

    Two rows with as many cells are a table's header and values: they pair by position.
    Otherwise each must be the other's nearest cell, so that a value stays out of its
    neighbour's column.
    """
    if len(row) == len(other_row) and len(row) > 1:
        return other_row[row.index(cell)] if cell in row else None
    partner = nearest_cell(other_row, cell)
    return partner if partner is not None and nearest_cell(row, partner) is cell else None


def _cells_below(rows: Sequence[Sequence[Cell]], label: Cell) -> Iterator[Cell]:
    """The cells under ``label`` in its column on its page, nearest first."""
    index = next((n for n, row in enumerate(rows) if row and row[0].row == label.row), None)
    if index is None:
        return
    for row in rows[index + 1:index + 1 + MAX_ROWS_BELOW]:
        cell = column_partner(rows[index], [cell for cell in row if cell.page == label.page], label)
        if cell is not None:
            yield cell


def read_anchor(rows: Sequence[Sequence[Cell]], name: str, anchor: Anchor, order: str = "dmy",
                decimal: str | None = None, formats: Sequence[str] = ()) -> object:
    """Field ``name``'s value where ``anchor`` says it stands, or None when its label is not on the page."""
    cells = label_cells(rows, anchor)
    if len(cells) <= anchor.nth:
        return None
    cell, end = cells[anchor.nth]

    def value(text: str) -> object:
        return value_of(name, text, order, decimal, anchor.pattern, formats)

    if anchor.at in ("after", "right"):
        rest = value(cell.text[end:])
        if rest is not None:
            return rest
        row = next((r for r in rows if r and r[0].row == cell.row), [])
        # the first cell to its right holding such a value (a currency sign may stand between)
        return next((found for other in row if other.start > cell.start
                     if (found := value(other.text)) is not None), None)
    below = list(_cells_below(rows, cell))
    return value(below[anchor.row - 1].text) if len(below) >= anchor.row else None


# -- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateFile:
    """One template file: its template, or why it is refused (then it is skipped)."""

    path: Path
    template: Template | None
    error: str = ""


def load_templates(folder: Path) -> list[Template]:
    """Every ``*.yaml``/``*.yml`` template in ``folder``, in file-name order; a bad file raises ExtractError."""
    if not folder.is_dir():
        raise ExtractError(f"template folder {folder} does not exist")
    return [parse_template(_load_yaml(path), str(path)) for path in _template_paths(folder)]


def load_template_files(folder: Path) -> list[TemplateFile]:
    """Every template file in ``folder`` in file-name order, a refused one with its one-line error (no raise)."""
    files = []
    for path in _template_paths(folder) if folder.is_dir() else []:
        try:
            files.append(TemplateFile(path, parse_template(_load_yaml(path), str(path))))
        except ExtractError as error:
            files.append(TemplateFile(path, None, " ".join(str(error).split())))
    return files


def _template_paths(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def parse_template(data: Any, origin: str = "template") -> Template:
    """Check one template's data (as loaded from YAML) and compile it; errors name the file and the key."""
    if not isinstance(data, dict):
        raise ExtractError(f"{origin}: a template is a mapping with name, keywords and fields")
    unknown = set(data) - KEYS
    if unknown:
        raise ExtractError(f"{origin}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ExtractError(f"{origin}: 'name' must be a non-empty string")
    fingerprint = _fingerprint(data.get("fingerprint"), origin)
    keywords = data.get("keywords", [] if fingerprint else None)
    if isinstance(keywords, str):
        keywords = [keywords]
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords) or \
            (not keywords and fingerprint is None):
        raise ExtractError(f"{origin}: 'keywords' must be a non-empty list of strings (all must occur in the text)")
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ExtractError(f"{origin}: 'fields' must map field names to regexes or to {{label, at}}")
    compiled: dict[str, re.Pattern[str]] = {}
    anchors: dict[str, Anchor] = {}
    for key, spec in fields.items():
        if key not in FIELD_NAMES:
            raise ExtractError(f"{origin}: fields.{key} is not one of {', '.join(FIELD_NAMES)}")
        if isinstance(spec, dict):
            anchors[key] = _anchor(spec, f"{origin}: fields.{key}")
        elif isinstance(spec, str):
            compiled[key] = _regex(spec, f"{origin}: fields.{key}", groups=1)
        else:
            raise ExtractError(f"{origin}: fields.{key} must be a regex string or a mapping {{label, at}}")
    formats = data.get("date_formats", [])
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise ExtractError(f"{origin}: 'date_formats' must be a list of strptime formats such as '%d.%m.%Y'")
    separator = data.get("decimal_separator")
    if separator not in (None, ",", "."):
        raise ExtractError(f"{origin}: 'decimal_separator' must be ',' or '.'")
    order = data.get("date_order", "dmy")
    if order not in ("dmy", "mdy"):
        raise ExtractError(f"{origin}: 'date_order' must be dmy or mdy")
    return Template(name.strip(), tuple(keywords), compiled, tuple(formats), separator, anchors, fingerprint, order)


def _regex(pattern: str, where: str, groups: int | None = None) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern, re.MULTILINE)
    except re.error as error:
        raise ExtractError(f"{where} is not a valid regex: {error}") from error
    if groups is not None and compiled.groups != groups:
        raise ExtractError(f"{where} must have exactly one group, it has {compiled.groups}")
    return compiled


def _anchor(spec: dict[Any, Any], where: str) -> Anchor:
    unknown = set(spec) - {"label", "at", "row", "nth", "pattern", "hold"}
    if unknown:
        raise ExtractError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    label = spec.get("label")
    if not isinstance(label, str) or not label.split():
        raise ExtractError(f"{where}.label must be the printed label, a non-empty string")
    at = spec.get("at", "right")
    if at not in PLACES:
        raise ExtractError(f"{where}.at must be one of {', '.join(PLACES)}")
    row, nth = spec.get("row", 1), spec.get("nth", 0)
    if not isinstance(row, int) or isinstance(row, bool) or not 1 <= row <= MAX_ROWS_BELOW:
        raise ExtractError(f"{where}.row must be a whole number from 1 to {MAX_ROWS_BELOW}")
    if not isinstance(nth, int) or isinstance(nth, bool) or not 0 <= nth <= 50:
        raise ExtractError(f"{where}.nth must be a whole number from 0 to 50")
    pattern = spec.get("pattern")
    if pattern is not None and not isinstance(pattern, str):
        raise ExtractError(f"{where}.pattern must be a regex string")
    compiled = None if pattern is None else _regex(pattern, f"{where}.pattern")
    hold = spec.get("hold", True)
    if not isinstance(hold, bool):
        raise ExtractError(f"{where}.hold must be true or false")
    return Anchor(" ".join(label.split()), at, row, nth, compiled, hold)


def _fingerprint(data: Any, origin: str) -> Fingerprint | None:
    if data is None:
        return None
    where = f"{origin}: fingerprint"
    if not isinstance(data, dict):
        raise ExtractError(f"{where} must be a mapping with texts (and producer, share)")
    unknown = set(data) - {"texts", "producer", "share"}
    if unknown:
        raise ExtractError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    texts = data.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.split() for t in texts):
        raise ExtractError(f"{where}.texts must be a non-empty list of printed texts")
    producer = data.get("producer")
    if producer is not None and not isinstance(producer, str):
        raise ExtractError(f"{where}.producer must be a string")
    share = data.get("share", DEFAULT_SHARE)
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0.3 <= share <= 1:
        raise ExtractError(f"{where}.share must be a number from 0.3 to 1")
    return Fingerprint(tuple(" ".join(t.split()) for t in texts), " ".join(producer.split()) if producer else None,
                       float(share))


def template_data(template: Template) -> dict[str, Any]:
    """``template`` as the mapping its YAML file holds (what :func:`parse_template` reads back)."""
    data: dict[str, Any] = {"name": template.name, "keywords": list(template.keywords)}
    if template.fingerprint is not None:
        data["fingerprint"] = template.fingerprint.to_data()
    data["fields"] = {name: (template.anchors[name].to_data() if name in template.anchors
                             else template.fields[name].pattern) for name in template.field_names}
    if template.date_formats:
        data["date_formats"] = list(template.date_formats)
    if template.decimal_separator:
        data["decimal_separator"] = template.decimal_separator
    if template.date_order != "dmy" or template.anchors:
        data["date_order"] = template.date_order
    return data


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ExtractError(f"{path}: cannot read the template: {' '.join(str(error).split())}") from error
