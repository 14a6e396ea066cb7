"""The held-out invoice set itself: each PDF has a well-formed truth that its page prints, and a written provenance."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import unicodedata
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from connect_core.pipeline.extract.facturx import embedded_xml, read_xml
from tests.support.heldout import (
    HELDOUT,
    KINDS,
    META_FIELDS,
    TRUTH_FIELDS,
    TRUTH_SOURCES,
    HeldOut,
    heldout_pdfs,
    heldout_samples,
    producer,
    truth_file,
)

SAMPLES = heldout_samples()
IDS = [sample.path.stem for sample in SAMPLES]
MAX_BYTES = 15 * 1024 * 1024

MONTHS = {
    "en": tuple("january february march april may june july august september october november december".split()),
    "fr": tuple("janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()),
    "de": tuple("januar februar märz april mai juni juli august september oktober november dezember".split()),
}
AMOUNT = re.compile(r"-?\d[\d.,'\u00a0\u202f ]*\d|-?\d")
NUMBER = re.compile(r"(?P<int>\d{1,3}(?:(?P<sep>[ .,'])\d{3})*|\d+)(?:(?P<dec>[.,])(?P<frac>\d{1,2}))?")


@functools.cache
def page_text(path: Path) -> str:
    """Every page's text (pypdf), whitespace collapsed; an accent that TeX sets as a spacing mark before its
    letter ("L´azaro", "M ´onica") is put back on the letter."""
    text = " ".join("\n".join(page.extract_text() or "" for page in PdfReader(path).pages).split())
    return unicodedata.normalize("NFC", re.sub(r"\u00b4(\w)", "\\1\u0301", text.replace(" \u00b4", "\u00b4")))


def raw_truth(sample: HeldOut) -> dict:
    return json.loads(truth_file(sample.path).read_text(encoding="utf-8"))


def parse_amount(token: str) -> Decimal | None:
    """An amount as printed ("1.234,56", "1,234.56", "1 234,56", "51.6", "-343,91"), or None if it is not one."""
    negative = token.startswith("-")
    match = NUMBER.fullmatch(token.lstrip("-"))
    if match is None or (match["sep"] and match["sep"] == match["dec"]):
        return None
    digits = re.sub(r"\D", "", match["int"]) + ("." + match["frac"] if match["frac"] else "")
    value = Decimal(digits)
    return -value if negative else value


def printed_amounts(text: str) -> set[Decimal]:
    """Every amount the text prints, reading runs of digits and separators every way they can split on spaces."""
    found: set[Decimal] = set()
    for run in AMOUNT.findall(text.replace("\u00a0", " ").replace("\u202f", " ")):
        parts = run.split(" ")
        for start in range(len(parts)):
            for end in range(start + 1, len(parts) + 1):
                value = parse_amount(" ".join(parts[start:end]).strip())
                if value is not None:
                    found.add(value)
    return found


def date_spellings(day: dt.date) -> set[str]:
    """The ways an invoice may print a date, lowercased."""
    spellings = {day.isoformat()}
    days = {f"{day.day:02d}", str(day.day)}
    monthnums = {f"{day.month:02d}", str(day.month)}
    years = {str(day.year), f"{day.year % 100:02d}"}
    for d in days:
        for m in monthnums:
            for y in years:
                for sep in "./-":
                    spellings.add(f"{d}{sep}{m}{sep}{y}")
                    spellings.add(f"{m}{sep}{d}{sep}{y}")
        for names in MONTHS.values():
            name = names[day.month - 1]
            for month in {name, name[:3]}:
                for y in years:
                    spellings.update({f"{d} {month} {y}", f"{d}. {month} {y}", f"{month} {d}, {y}",
                                      f"{d}-{month}-{y}"})
    return spellings


def flat_lower(text: str) -> str:
    return re.sub(r"\s+,", ",", " ".join(text.split())).lower()


def test_there_are_enough_samples_from_enough_producers() -> None:
    producers = Counter(sample.producer for sample in SAMPLES)
    assert len(SAMPLES) >= 15, len(SAMPLES)
    assert len(producers) >= 4, producers
    assert {sample.kind for sample in SAMPLES} == set(KINDS)


def test_every_pdf_has_its_truth_and_every_truth_its_pdf() -> None:
    pdfs = {path.stem for path in HELDOUT.glob("*.pdf")}
    truths = {path.stem for path in HELDOUT.glob("*.json")}
    assert pdfs == truths, {"pdf without json": pdfs - truths, "json without pdf": truths - pdfs}
    others = {path.name for path in HELDOUT.iterdir()} - {f"{stem}{ext}" for stem in pdfs for ext in (".pdf", ".json")}
    assert others == {"NOTICE"} | {name for name in others if name.startswith("LICENSE-")}, others


def test_file_names_are_producer_then_original_name() -> None:
    for path in heldout_pdfs():
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*__[^\s/]+\.pdf", path.name), path.name


def test_heldout_samples_are_sorted_and_typed() -> None:
    assert [sample.path for sample in SAMPLES] == sorted(HELDOUT.glob("*.pdf"), key=lambda path: path.name)
    for sample in SAMPLES:
        truth = sample.truth
        assert sample.producer == producer(sample.path)
        assert truth["issue_date"] is None or type(truth["issue_date"]) is dt.date
        assert truth["due_date"] is None or type(truth["due_date"]) is dt.date
        assert truth["total"] is None or isinstance(truth["total"], Decimal)
        assert (sample.kind, sample.language) == (truth["kind"], truth["language"])


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_truth_json_has_the_keys_and_valid_values(sample: HeldOut) -> None:
    raw = raw_truth(sample)
    assert set(raw) - {"notes"} == set(TRUTH_FIELDS) | set(META_FIELDS)
    assert isinstance(raw["invoice_number"], str) and raw["invoice_number"].strip() == raw["invoice_number"] != ""
    for key in ("issue_date", "due_date"):
        assert raw[key] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw[key]), raw[key]
    assert raw["issue_date"] is not None
    if raw["due_date"] is not None:
        assert dt.date.fromisoformat(raw["due_date"]) >= dt.date.fromisoformat(raw["issue_date"])
    assert raw["total"] is None or re.fullmatch(r"-?\d+(\.\d+)?", raw["total"]), raw["total"]
    if raw["total"] is not None and Decimal(raw["total"]) < 0:
        assert raw["credit_note"] is True, "only a credit note may be printed with a negative total"
    assert raw["currency"] is None or re.fullmatch(r"[A-Z]{3}", raw["currency"]), raw["currency"]
    for key in ("seller", "buyer"):
        assert raw[key] is None or (isinstance(raw[key], str) and raw[key].strip() != "")
    assert isinstance(raw["credit_note"], bool)
    assert raw["kind"] in KINDS
    assert re.fullmatch(r"[a-z]{2}", raw["language"]), raw["language"]
    assert raw["truth_source"] in TRUTH_SOURCES
    assert raw["source"].strip() and raw["licence"].strip()
    assert "notes" not in raw or (isinstance(raw["notes"], str) and raw["notes"].strip())


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_page_has_text(sample: HeldOut) -> None:
    """Not a scan: the reader is meant to find its fields in the PDF's text."""
    assert len(page_text(sample.path)) > 200, page_text(sample.path)


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_invoice_number_is_printed(sample: HeldOut) -> None:
    text = re.sub(r"\s", "", page_text(sample.path))
    assert re.sub(r"\s", "", sample.truth["invoice_number"]) in text


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_total_is_printed(sample: HeldOut) -> None:
    total = sample.truth["total"]
    if total is None:
        pytest.skip("no total in the truth")
    assert total in printed_amounts(page_text(sample.path))


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_dates_are_printed(sample: HeldOut) -> None:
    text = flat_lower(page_text(sample.path))
    for key in ("issue_date", "due_date"):
        day = sample.truth[key]
        if day is not None:
            assert any(spelling in text for spelling in date_spellings(day)), (key, day)


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_seller_and_buyer_are_printed(sample: HeldOut) -> None:
    text = flat_lower(page_text(sample.path))
    for key in ("seller", "buyer"):
        name = sample.truth[key]
        if name is not None:
            assert flat_lower(name) in text, (key, name)


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_embedded_xml_truth(sample: HeldOut) -> None:
    """A truth taken from embedded XML has a PDF carrying it; a PDF with CII XML agrees with the product's reader."""
    reader = PdfReader(sample.path)
    if sample.truth["truth_source"] == "embedded XML":
        assert list(reader.attachments), "the truth says embedded XML but the PDF carries no file"
    xml = embedded_xml(reader)
    if xml is None:
        return
    fields = read_xml(xml, (1, len(reader.pages)))
    text = flat_lower(page_text(sample.path))
    for key in ("invoice_number", "issue_date", "due_date", "currency", "total"):
        value = getattr(fields, key)
        if key == "due_date" and sample.truth[key] is None and value is not None:
            # the truth is what the page shows: an XML due date the page does not print is not on it
            assert not any(spelling in text for spelling in date_spellings(value)), value
            continue
        assert value == sample.truth[key], key


def test_notice_names_every_producer_and_licence_file() -> None:
    notice = (HELDOUT / "NOTICE").read_text(encoding="utf-8")
    for name in sorted({sample.producer for sample in SAMPLES}):
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", notice), name
    for name in sorted({sample.truth["licence_file"] for sample in SAMPLES}):
        assert name in notice, name


def test_every_licence_file_exists_and_is_used() -> None:
    referenced = {sample.truth["licence_file"] for sample in SAMPLES}
    for name in referenced:
        assert (HELDOUT / name).is_file(), name
        assert (HELDOUT / name).stat().st_size > 500, name
    present = {path.name for path in HELDOUT.glob("LICENSE-*")}
    assert present == referenced, present ^ referenced


def test_set_stays_small() -> None:
    size = sum(path.stat().st_size for path in HELDOUT.iterdir())
    assert size < MAX_BYTES, size
