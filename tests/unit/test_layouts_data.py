"""The layout test data: all 55 e-invoices print, every layout and language is used, and each page says its truth."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.support.layouts import (
    LANGUAGES,
    LAYOUTS,
    Rendered,
    einvoice_files,
    read_einvoice,
    render,
    render_all,
    render_einvoice,
    unicode_fonts_available,
)

pytestmark = pytest.mark.skipif(not unicode_fonts_available(),
                                reason="Polish text needs DejaVu (fonts-dejavu-core, a product dependency)")

CREDIT_NOTE = "XML-Rechnung__UBL__ubl-tc434-creditnote1.xml"


def flat(text: str) -> str:
    """Whitespace (spaces, no-break spaces, line breaks) collapsed: how the needles are looked for."""
    return " ".join(text.split())


def page_text(path: Path) -> str:
    return flat("\n".join(page.extract_text() or "" for page in PdfReader(path).pages))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Rendered], float]:
    start = time.perf_counter()
    result = render_all(tmp_path_factory.mktemp("layouts"))
    return result, time.perf_counter() - start


@pytest.fixture(scope="module")
def printed(rendered: tuple[list[Rendered], float]) -> list[tuple[Rendered, str]]:
    return [(item, page_text(item.path)) for item in rendered[0]]


def test_all_55_e_invoices_render_to_valid_pdfs_quickly(rendered: tuple[list[Rendered], float]) -> None:
    items, seconds = rendered
    files = einvoice_files()
    assert len(files) == 55
    assert sorted(item.source for item in items) == sorted(path.name for path in files)
    for item in items:
        data = item.path.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), item.path.name
        assert len(PdfReader(item.path).pages) >= 1, item.path.name
    assert seconds < 10, f"rendering all took {seconds:.1f} s"


def test_every_layout_and_language_is_used_several_times(rendered: tuple[list[Rendered], float]) -> None:
    items = rendered[0]
    assert len(LAYOUTS) >= 8
    assert set(LANGUAGES) == {"de", "fr", "en", "nl", "sv", "es", "it", "pl", "da", "fi", "no"}
    layouts = Counter(item.layout for item in items)
    languages = Counter(item.language for item in items)
    assert set(layouts) == set(LAYOUTS) and min(layouts.values()) >= 5, layouts
    assert set(languages) == set(LANGUAGES) and min(languages.values()) >= 3, languages
    assert len({(item.layout, item.language) for item in items}) >= 30


def test_the_invoice_number_and_the_printed_fields_are_in_the_page_text(printed: list[tuple[Rendered, str]]) -> None:
    for item, text in printed:
        truth, name = item.truth, item.path.name
        assert flat(truth["invoice_number"]) in text, name
        for field, value in item.printed.items():
            assert flat(value) in text, f"{name}: {field} printed as {value!r} not in the page text"
        assert flat(truth["buyer"]) in text, name
        for vat in (truth["seller_vat"], truth["buyer_vat"]):
            assert vat is None or vat in text, f"{name}: VAT id {vat} missing"
        assert truth["currency"] in text or "€" in text, name
        if truth["seller_in_text"]:
            assert flat(truth["seller"]) in text, name


def _parse_amount(text: str, style: str) -> Decimal:
    """A printed amount ("-€8.79", "1.234,56 EUR", "100,11-") read back in its number style."""
    group, point = ("" if style[1].isdigit() else style[1]), style[-3]
    text = re.sub(r"[^\d,.'\s-]", "", text).strip()  # the currency code or symbol
    negative = text.startswith("-") or text.endswith("-")
    digits = text.strip("-").strip()
    digits = digits.replace(group, "") if group else digits
    value = Decimal(digits.replace(point, "."))
    return -value if negative else value


def _parse_date(text: str, template: str, months: tuple[str, ...]) -> dt.date:
    """Read ``text`` back with ``template`` (a regex per token), independently of the formatter."""
    tokens = {"dd": r"(?P<d>\d{2})", "d": r"(?P<d>\d{1,2})", "mm": r"(?P<m>\d{2})", "m": r"(?P<m>\d{1,2})",
              "yyyy": r"(?P<y>\d{4})", "month": r"(?P<month>[^\W\d]+)", "mon": r"(?P<mon>[^\W\d]{3})"}
    pattern = re.sub(r"\\\{(\w+)\\\}", lambda m: tokens[m[1]], re.escape(template))
    match = re.fullmatch(pattern, text)
    assert match, (text, template)
    parts = match.groupdict()
    if parts.get("month"):
        month = months.index(parts["month"]) + 1
    elif parts.get("mon"):
        month = [m[:3] for m in months].index(parts["mon"]) + 1
    else:
        month = int(parts["m"])
    return dt.date(int(parts["y"]), month, int(parts["d"]))


def test_the_printed_strings_read_back_to_the_truth(rendered: tuple[list[Rendered], float]) -> None:
    for item in rendered[0]:
        truth, months = item.truth, LANGUAGES[item.language].months
        assert _parse_amount(item.printed["total"], item.number_style) == truth["total"], item.path.name
        assert _parse_date(item.printed["issue_date"], item.date_style, months) == truth["issue_date"]
        if truth["due_date"] is not None:
            assert _parse_date(item.printed["due_date"], item.date_style, months) == truth["due_date"]
        else:
            assert "due_date" not in item.printed


def test_the_logo_layout_prints_the_seller_only_as_an_image(printed: list[tuple[Rendered, str]]) -> None:
    logos = [(item, text) for item, text in printed if item.layout == "logo"]
    assert logos
    for item, text in logos:
        seller = item.truth["seller"]
        assert item.truth["seller_in_text"] is False
        assert seller.casefold() not in text.casefold(), item.path.name
        metadata = PdfReader(item.path).metadata
        assert metadata is None or not any(seller.casefold() in str(value).casefold() for value in metadata.values())
        assert item.truth["seller_vat"] and item.truth["seller_vat"] in text
        assert PdfReader(item.path).pages[0].images, "no logo image on the page"
    others = [item for item, _ in printed if item.layout != "logo"]
    assert all(item.truth["seller_in_text"] for item in others)


def test_credit_notes_are_marked_in_the_corpus_run(printed: list[tuple[Rendered, str]]) -> None:
    credits = [(item, text) for item, text in printed if item.truth["credit_note"]]
    assert [item.source for item, _ in credits] == [CREDIT_NOTE]
    for item, text in credits:
        assert LANGUAGES[item.language]["credit_note"].casefold() in text.casefold()
        assert (item.truth["total"] < 0) == item.credit_negative


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_credit_note_in_every_layout(layout: str, tmp_path: Path) -> None:
    """Negative amounts in the layouts that print them so, positive under the credit-note title in the others."""
    source = next(path for path in einvoice_files() if path.name == CREDIT_NOTE)
    language = LAYOUTS[layout].languages[0]
    item = render(source, layout, language, tmp_path / f"credit.{layout}.pdf")
    text = page_text(item.path)
    amount = read_einvoice(source).grand_total
    assert item.truth["credit_note"] is True
    assert LANGUAGES[language]["credit_note"].casefold() in text.casefold()
    assert item.truth["total"] == (-amount if LAYOUTS[layout].credit_negative else amount)
    assert flat(item.printed["total"]) in text
    shown = item.printed["total"]
    assert (shown.startswith("-") or shown.endswith("-")) == LAYOUTS[layout].credit_negative, shown
    assert ("-" in shown) == LAYOUTS[layout].credit_negative, shown
    assert {LAYOUTS[name].credit_negative for name in LAYOUTS} == {True, False}


def test_the_reader_agrees_with_the_products_cii_reader() -> None:
    """Our ElementTree reader against the product's expat one, on every CII file (an independent second read)."""
    from connect_core.pipeline.extract.facturx import read_xml

    checked = 0
    for path in einvoice_files():
        if ".cii." not in path.name:
            continue
        ours, theirs = read_einvoice(path), read_xml(path.read_bytes(), (1, 1))
        assert (ours.number, ours.issue_date, ours.due_date, ours.currency, ours.grand_total,
                ours.seller.name, ours.buyer.name) == (
            theirs.invoice_number, theirs.issue_date, theirs.due_date, theirs.currency, theirs.total,
            theirs.seller, theirs.buyer), path.name
        checked += 1
    assert checked == 27


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    source = einvoice_files()[0]
    first = render(source, "southern", "pl", tmp_path / "a.pdf")
    second = render(source, "southern", "pl", tmp_path / "b.pdf")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.truth == second.truth


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_long_invoice_breaks_pages_with_the_total_on_the_last(layout: str, tmp_path: Path) -> None:
    """Not needed by the corpus (at most 6 lines), but a layout must not draw over its footer when given more."""
    source = next(path for path in einvoice_files() if "EN16931_Miete.ubl" in path.name)
    long = dataclasses.replace(read_einvoice(source), lines=read_einvoice(source).lines * 20)
    item = render_einvoice(long, layout, LAYOUTS[layout].languages[-1], tmp_path / "long.pdf")
    pages = PdfReader(item.path).pages
    assert len(pages) >= 2
    last = flat(pages[-1].extract_text() or "")
    assert item.truth["invoice_number"] in last and flat(item.printed["total"]) in last
