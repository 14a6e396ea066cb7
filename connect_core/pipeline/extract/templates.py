"""Layout templates (invoice2data-style YAML): keywords recognise a layout, one regex per field reads it.

A template file looks like::

    name: au-bon-moulin
    keywords: ["Au bon moulin", "SIRET"]      # all must occur in the invoice's text
    fields:                                   # each regex has exactly one group
      invoice_number: 'Facture (FA-\\d{4}-\\d{4})'
      issue_date: 'Date de facture (\\S+)'
      total: 'Total TTC ([\\d ,.-]+)'
    date_formats: ["%d/%m/%Y"]               # optional; else the general date reader
    decimal_separator: ","                    # optional; else guessed per amount

The text matched is what ``pagero-connect extract FILE --text`` prints: pypdf's page
text with spaces collapsed, pages joined by newlines.  Regexes run with ``re.MULTILINE``.
Templates are tried in file-name order; the first whose keywords all occur is used.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connect_core.pipeline.extract.fields import FIELD_NAMES, ExtractError, Found
from connect_core.pipeline.extract.values import currency_code, parse_amount, parse_date

#: A template names a layout someone checked, so what it reads is nearly certain.
TEMPLATE_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Template:
    """One layout: its name, the keywords that recognise it, a regex per field and how to read values."""

    name: str
    keywords: tuple[str, ...]
    fields: dict[str, re.Pattern[str]]
    date_formats: tuple[str, ...] = ()
    decimal_separator: str | None = None

    def matches(self, text: str) -> bool:
        """True if every keyword occurs in ``text``."""
        return all(keyword in text for keyword in self.keywords)

    def read(self, text: str) -> dict[str, Found]:
        """The fields this template's regexes find in ``text``; a field whose regex misses is absent."""
        source = f"template:{self.name}"
        found: dict[str, Found] = {}
        for name, pattern in self.fields.items():
            match = pattern.search(text)
            if match is None or match.group(1) is None:
                continue
            value = self._value(name, " ".join(match.group(1).split()))
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
            return parse_date(raw, "mdy" if any(f.startswith("%m") for f in self.date_formats) else "dmy")
        if name == "total":
            return parse_amount(raw, self.decimal_separator)
        if name == "currency":
            return currency_code(raw)
        return raw


def load_templates(folder: Path) -> list[Template]:
    """Every ``*.yaml``/``*.yml`` template in ``folder``, in file-name order; a bad file raises ExtractError."""
    if not folder.is_dir():
        raise ExtractError(f"template folder {folder} does not exist")
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [parse_template(_load_yaml(path), str(path)) for path in paths]


def parse_template(data: Any, origin: str = "template") -> Template:
    """Check one template's data (as loaded from YAML) and compile it; errors name the file and the key."""
    if not isinstance(data, dict):
        raise ExtractError(f"{origin}: a template is a mapping with name, keywords and fields")
    unknown = set(data) - {"name", "keywords", "fields", "date_formats", "decimal_separator"}
    if unknown:
        raise ExtractError(f"{origin}: unknown key(s) {', '.join(sorted(unknown))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ExtractError(f"{origin}: 'name' must be a non-empty string")
    keywords = data.get("keywords")
    if isinstance(keywords, str):
        keywords = [keywords]
    if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) and k for k in keywords):
        raise ExtractError(f"{origin}: 'keywords' must be a non-empty list of strings (all must occur in the text)")
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ExtractError(f"{origin}: 'fields' must map field names to regexes")
    compiled: dict[str, re.Pattern[str]] = {}
    for field, pattern in fields.items():
        if field not in FIELD_NAMES:
            raise ExtractError(f"{origin}: fields.{field} is not one of {', '.join(FIELD_NAMES)}")
        if not isinstance(pattern, str):
            raise ExtractError(f"{origin}: fields.{field} must be a regex string")
        try:
            compiled[field] = re.compile(pattern, re.MULTILINE)
        except re.error as error:
            raise ExtractError(f"{origin}: fields.{field} is not a valid regex: {error}") from error
        if compiled[field].groups != 1:
            raise ExtractError(f"{origin}: fields.{field} must have exactly one group, it has {compiled[field].groups}")
    formats = data.get("date_formats", [])
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise ExtractError(f"{origin}: 'date_formats' must be a list of strptime formats such as '%d.%m.%Y'")
    separator = data.get("decimal_separator")
    if separator not in (None, ",", "."):
        raise ExtractError(f"{origin}: 'decimal_separator' must be ',' or '.'")
    return Template(name.strip(), tuple(keywords), compiled, tuple(formats), separator)


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ExtractError(f"{path}: cannot read the template: {error}") from error
