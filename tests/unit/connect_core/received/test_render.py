"""The readable PDF of a received e-invoice (``connect_core.received.render``).

What it promises: every corpus e-invoice renders to a PDF showing its number, its seller and its grand
total; a long invoice flows over several pages with every line present and the header row repeated;
supplier strings are shown as text, never read as markup, whatever they hold; text the font cannot show
becomes "?", not a crash; the same invoice gives the same bytes.  (How fast a 100-line invoice renders is
measured by bench/bench_received.py, not asserted here.)
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from connect_core.received.einvoice import (
    EmbeddedAttachment,
    Line,
    Party,
    Payment,
    ReceivedInvoice,
    Totals,
    VatRow,
    read_einvoice,
)
from connect_core.received.render import DEJAVU, format_amount, format_quantity, render_pdf
from tests.unit.connect_core.received.einvoices import EINFACH_UBL, corpus_files, with_lines


def pages_text(pdf: bytes) -> list[str]:
    """Each page's text with all whitespace (thin spaces and line breaks included) collapsed to one space."""
    return [" ".join(page.extract_text().replace("\u202f", " ").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def shown(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").split())


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_every_corpus_einvoice_renders_with_its_number_seller_and_grand_total(path: Path) -> None:
    invoice = read_einvoice(path.read_bytes())
    pdf = render_pdf(invoice)
    text = " ".join(pages_text(pdf))
    assert invoice.number and shown(invoice.number) in text
    assert invoice.seller.name and shown(invoice.seller.name) in text
    assert shown(format_amount(invoice.totals.tax_inclusive, invoice.currency)) in text
    assert "the XML is the legal invoice" in text


def test_the_pdf_shows_the_simple_invoice_and_names_it_in_its_metadata() -> None:
    invoice = read_einvoice(EINFACH_UBL.read_bytes())
    pdf = render_pdf(invoice)
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == "Invoice 471102 from Lieferant GmbH"
    text = pages_text(pdf)[0]
    for expected in ("Invoice 471102", "Issue date 2018-03-05", "VAT ID: DE123456789", "GLN: 4000001123452",
                     "Trennblätter A4", "Joghurt Banane", "9.90", "Total with VAT 529.87 EUR",
                     "Amount due 529.87 EUR", "VAT 56.87 EUR", "Zahlbar innerhalb 30 Tagen netto",
                     "Rendered by Pagero Connect from the supplier's UBL e-invoice; the XML is the legal invoice"):
        assert expected in text, expected


def test_a_credit_note_is_titled_credit_note() -> None:
    invoice = read_einvoice((EINFACH_UBL.parent / "XML-Rechnung__UBL__ubl-tc434-creditnote1.xml").read_bytes())
    text = pages_text(render_pdf(invoice))[0]
    assert "Credit note 018304 / 28865" in text and "BE91000000143476" in text and "BPOTBEB1" in text


def test_embedded_attachments_are_named() -> None:
    invoice = read_einvoice((EINFACH_UBL.parent / "XML-Rechnung__CII__XRECHNUNG_Elektron.cii.xml").read_bytes())
    text = " ".join(pages_text(render_pdf(invoice)))
    assert "Aufmass.png (image/png" in text and "ElektronRapport.pdf (application/pdf" in text


def test_a_100_line_invoice_flows_over_pages_with_every_line_and_the_header_on_each_page() -> None:
    invoice = read_einvoice(with_lines(100))
    assert len(invoice.lines) == 100
    pdf = render_pdf(invoice)
    pages = pages_text(pdf)
    assert len(pages) >= 3
    text = " ".join(pages)
    for line in invoice.lines:
        assert line.name and line.name in text, line.name
    line_pages = [page for page in pages if "(position" in page]
    assert all("Description Quantity Unit Unit price VAT % Net amount" in page for page in line_pages)
    assert all("the XML is the legal invoice" in page for page in pages)


def test_the_same_invoice_renders_to_the_same_bytes() -> None:
    invoice = read_einvoice(EINFACH_UBL.read_bytes())
    assert render_pdf(invoice) == render_pdf(invoice)


def test_amounts_and_quantities_are_formatted_as_printed() -> None:
    assert format_amount(Decimal("529.87"), "EUR") == "529.87 EUR"
    assert format_amount(Decimal("18310.6"), "EUR") == "18\u202f310.60 EUR"
    assert format_amount(Decimal("0.1234")) == "0.1234"
    assert format_amount(Decimal("-8.79")) == "-8.79"
    assert format_amount(Decimal("100")) == "100.00" and format_amount(None) == ""
    assert format_quantity(Decimal("20.000")) == "20" and format_quantity(Decimal("1.50")) == "1.5"


HOSTILE = [
    "<b>bold</b> & <i>", "<para>new paragraph</para>", "</para><font name='Nope' size='99'>", "&amp; &lt; &#x41;",
    "<img src='/etc/passwd'/>", "\u202eevil\u202c reversed \u200f\u200e mark", "A" * 10_000,
    "word " * 2_000, "tab\there\nnewline\x00nul\x07bell", "a line\n" * 1_000,
]


def hostile_invoice(text: str) -> ReceivedInvoice:
    party = Party(name=text, trading_name=text, vat_id=text, gln=text, organisation_number=text,
                  address_lines=(text, text), country=text, email=text)
    lines = tuple(Line(id=text, name=text, quantity=Decimal(1), unit_code=text, unit_price=Decimal("1.5"),
                       net_amount=Decimal("1.5")) for _ in range(3))
    return ReceivedInvoice(kind="invoice", syntax="UBL", number=text, currency=text[:3], buyer_reference=text,
                           order_reference=text, seller=party, buyer=party, lines=lines,
                           totals=Totals(tax_inclusive=Decimal("1.5"), payable=Decimal("1.5")), notes=(text, text),
                           vat=(VatRow(category=text, rate=Decimal(19), exemption_reason=text),),
                           payment=Payment(terms=text, means_code=text, means_text=text, ibans=(text, text), bic=text,
                                           account_name=text, reference=text),
                           attachments=(EmbeddedAttachment(file_name=text, mime_code=text, description=text,
                                                           data=b"x"),))


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_render_as_text(text: str) -> None:
    pdf = render_pdf(hostile_invoice(text))
    assert pdf.startswith(b"%PDF")
    assert PdfReader(io.BytesIO(pdf)).pages


def test_markup_in_a_name_is_shown_literally() -> None:
    text = " ".join(pages_text(render_pdf(hostile_invoice("<b>Bold & Co</b> <para>"))))
    assert "<b>Bold & Co</b> <para>" in text


def test_text_beyond_latin_1_is_shown_with_dejavu() -> None:
    assert (DEJAVU / "DejaVuSans.ttf").is_file(), "fonts-dejavu-core (packaging/debian-packages.txt) is missing"
    name = "Ελληνικά Προϊόντα ΑΕ / ООО Ромашка / שלום"
    text = " ".join(pages_text(render_pdf(hostile_invoice(name))))
    assert "Ελληνικά Προϊόντα ΑΕ" in text and "ООО Ромашка" in text


def test_without_dejavu_helvetica_shows_what_it_can_and_question_marks_for_the_rest(tmp_path: Path) -> None:
    pdf = render_pdf(hostile_invoice("Müller € ООО 中文"), font_dir=tmp_path)
    text = " ".join(pages_text(pdf))
    assert "Müller € ??? ??" in text
    assert b"DejaVu" not in pdf
