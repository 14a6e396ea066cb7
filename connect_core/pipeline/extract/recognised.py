"""Fields read from recognised text (OCR) say so, and are only as sure as the words they were read from.

A field found on a page OCR read gets the source ``ocr:page <n>`` ("recognised text, page n") and
its confidence becomes the lower of the reader's and Tesseract's confidence in the word(s) that
hold the value (the page's mean when the words cannot be matched).  Readiness then follows the
same rule as for any field (:data:`~connect_core.pipeline.extract.decide.READY`).  A page of the
invoice that OCR could not read says why, and holds the invoice for a person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal

from connect_core.pipeline.extract.decide import READY, REQUIRED
from connect_core.pipeline.extract.fields import InvoiceFields
from printer_backend.ocr import PageText

_DIGITS = re.compile(r"\D")
_EDGES = ".,:;()[]{}\"'"


def recognised_fields(fields: InvoiceFields, recognised: Mapping[int, PageText]) -> InvoiceFields:
    """``fields`` with what OCR contributed marked, its confidence applied and failed pages named."""
    first, last = fields.pages
    pages = {number: recognised[number] for number in range(first, last + 1) if number in recognised}
    if not pages:
        return fields
    sources = {name: dict(info) for name, info in fields.sources.items()}
    doubtful: list[str] = []
    for name, info in sources.items():
        kind, _, where = str(info.get("source", "")).partition(":")
        if kind == "text" and (page := _page_of(where)) in pages:  # read from a recognised page
            info["source"] = f"ocr:page {page}"
            read = [pages[page]]
        elif kind == "template" and len(pages) == last - first + 1:  # a layout read over recognised pages only
            read = list(pages.values())
        else:  # Factur-X, a correction, the office's own company, a page with its own text
            continue
        confidence = _confidence(getattr(fields, name), tuple(w for p in read for w in p.words))
        if confidence is None:  # the words holding the value cannot be told: as sure as the least sure page
            confidence = min((p.confidence for p in read if p.words), default=0.0)
        before = float(info.get("confidence", 0.0))
        info["confidence"] = round(min(before, confidence), 2)
        info["recognised"] = round(confidence, 2)
        if name in REQUIRED and before >= READY > info["confidence"]:
            doubtful.append(f"The {name.replace('_', ' ')} is doubtful: the recognised text is only "
                            f"{confidence:.0%} sure of it.")
    failed = [f"Page {number}: {page.failed}." for number, page in sorted(pages.items()) if page.failed]
    if failed and all(page.failed == "no text found" for page in pages.values()) and len(pages) == last - first + 1:
        failed = ["No text found: the page holds no text that could be recognised."]
    not_ready = (*failed, *doubtful, *fields.not_ready)
    return dataclasses.replace(fields, sources=sources, not_ready=not_ready,
                               ready_to_send=fields.ready_to_send and not failed and not doubtful)


def _page_of(where: str) -> int | None:
    number = where.removeprefix("page").strip()
    return int(number) if number.isdigit() else None


def _confidence(value: object, words: tuple[tuple[str, int], ...]) -> float | None:
    """Tesseract's confidence (0..1) in the word(s) that print ``value``; None when no word matches."""
    if value is None or not words:
        return None
    if isinstance(value, dt.date):
        shapes = {f"{value.day:02}{value.month:02}{value.year}", f"{value.day}{value.month}{value.year}",
                  f"{value.year}{value.month:02}{value.day:02}", f"{value.day:02}{value.month:02}{value.year % 100:02}",
                  f"{value.month:02}{value.day:02}{value.year}", f"{value.month}{value.day}{value.year}"}
        matched = [conf for word, conf in words if _DIGITS.sub("", word) in shapes]
    elif isinstance(value, Decimal):
        digits = _DIGITS.sub("", f"{abs(value):.2f}")
        matched = [conf for word, conf in words if _DIGITS.sub("", word) in (digits, digits.lstrip("0"))
                   and any(ch.isdigit() for ch in word)]
    else:
        tokens = {token.casefold() for token in str(value).split()}
        matched = [conf for word, conf in words if word.strip(_EDGES).casefold() in tokens]
        if len(tokens) > 1 and matched:
            return min(matched) / 100
    return max(matched) / 100 if matched else None
