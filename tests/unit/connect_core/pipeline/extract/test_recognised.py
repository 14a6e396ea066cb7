"""Fields read from recognised text say so, are as sure as Tesseract was of their words, and failed pages hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from connect_core.pipeline.extract.fields import InvoiceFields
from connect_core.pipeline.extract.recognised import recognised_fields
from printer_backend.ocr import PageText

WORDS = (("Rechnung", 96), ("Nr.", 93), ("RE-2026-0042", 95), ("vom", 96), ("05.03.2026", 94), ("Summe", 95),
         ("1.234,56", 91), ("EUR", 95), ("Lieferant", 90), ("GmbH", 92))


def fields(**changes: object) -> InvoiceFields:
    base: dict[str, object] = dict(
        invoice_number="RE-2026-0042", issue_date=dt.date(2026, 3, 5), due_date=None, currency="EUR",
        total=Decimal("1234.56"), seller="Lieferant GmbH", buyer=None, pages=(1, 1), ready_to_send=True,
        sources={name: {"source": "text:page 1", "confidence": 0.95}
                 for name in ("invoice_number", "issue_date", "currency", "total", "seller")})
    base.update(changes)
    return InvoiceFields(**base)  # type: ignore[arg-type]


def test_fields_from_a_recognised_page_say_so_with_the_confidence_of_their_words() -> None:
    read = recognised_fields(fields(), {1: PageText(1, "...", WORDS, 0.94)})
    assert read.sources["invoice_number"] == {"source": "ocr:page 1", "confidence": 0.95, "recognised": 0.95}
    assert read.sources["issue_date"]["confidence"] == 0.94
    assert read.sources["total"]["confidence"] == 0.91  # the word "1.234,56" is 91 % sure
    assert read.sources["seller"]["confidence"] == 0.9  # the least sure of "Lieferant GmbH"
    assert read.ready_to_send and read.not_ready == ()


def test_an_unsure_word_holds_the_invoice_under_the_same_rule_as_any_field() -> None:
    unsure = tuple((word, 62 if word == "1.234,56" else conf) for word, conf in WORDS)
    read = recognised_fields(fields(), {1: PageText(1, "...", unsure, 0.9)})
    assert read.sources["total"]["confidence"] == 0.62
    assert not read.ready_to_send
    assert read.not_ready == ("The total is doubtful: the recognised text is only 62% sure of it.",)


def test_a_value_whose_words_cannot_be_matched_takes_the_pages_mean() -> None:
    read = recognised_fields(fields(invoice_number="RE 2026 42"), {1: PageText(1, "...", WORDS[:2], 0.7)})
    assert read.sources["invoice_number"]["confidence"] == 0.7
    assert not read.ready_to_send


def test_pages_with_their_own_text_are_left_alone() -> None:
    two = fields(pages=(1, 2), sources={"total": {"source": "text:page 2", "confidence": 0.95},
                                        "invoice_number": {"source": "text:page 1", "confidence": 0.95}})
    read = recognised_fields(two, {1: PageText(1, "...", WORDS, 0.94)})
    assert read.sources["total"] == {"source": "text:page 2", "confidence": 0.95}
    assert read.sources["invoice_number"]["source"] == "ocr:page 1"
    assert recognised_fields(fields(), {}) == fields()
    assert recognised_fields(fields(), {3: PageText(3, "...", WORDS, 0.94)}) == fields()


def test_a_page_without_text_says_so_and_waits_for_a_person() -> None:
    empty = fields(invoice_number=None, issue_date=None, currency=None, total=None, seller=None, sources={},
                   ready_to_send=False, not_ready=("The invoice number could not be read.",))
    read = recognised_fields(empty, {1: PageText(1, failed="no text found")})
    assert read.not_ready[0] == "No text found: the page holds no text that could be recognised."
    assert not read.ready_to_send


def test_a_page_not_recognised_in_time_is_named() -> None:
    two = fields(pages=(1, 2))
    read = recognised_fields(two, {1: PageText(1, "...", WORDS, 0.94),
                                   2: PageText(2, failed="text recognition did not finish within 60 s")})
    assert "Page 2: text recognition did not finish within 60 s." in read.not_ready
    assert not read.ready_to_send


def test_facturx_corrected_and_company_fields_are_never_touched() -> None:
    exact = fields(sources={"total": {"source": "facturx", "confidence": 1.0},
                            "invoice_number": {"source": "corrected by anna", "confidence": 1.0},
                            "seller": {"source": "company", "confidence": 0.95}})
    read = recognised_fields(exact, {1: PageText(1, "...", (("x", 10),), 0.1)})
    assert read.sources == exact.sources


def test_a_layout_over_recognised_pages_only_is_as_sure_as_their_words() -> None:
    read = fields(sources={"total": {"source": "template:acme", "confidence": 0.97}})
    assert recognised_fields(read, {1: PageText(1, "...", WORDS, 0.94)}).sources["total"] == {
        "source": "template:acme", "confidence": 0.91, "recognised": 0.91}
    two = fields(pages=(1, 2), sources={"total": {"source": "template:acme", "confidence": 0.97}})
    assert recognised_fields(two, {1: PageText(1, "...", WORDS, 0.94)}).sources["total"] == {
        "source": "template:acme", "confidence": 0.97}  # page 2 has its own text: the layout may have read it
