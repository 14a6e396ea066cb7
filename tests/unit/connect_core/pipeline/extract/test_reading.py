"""Reading layouts by their geometry, the office as seller, and confidence that decides ``ready_to_send``.

Each page here is drawn with reportlab in the test itself, as a printing ERP would lay it out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from connect_core.config import Company
from connect_core.pipeline.extract import read_invoices

Text = tuple[float, float, str]  # x, y from the top (points), text


def page(path: Path, texts: Sequence[Text], size: int = 9) -> Path:
    canvas = Canvas(str(path), pagesize=A4)
    canvas.setFont("Helvetica", size)
    for x, y, text in texts:
        canvas.drawString(x, A4[1] - y, text)
    canvas.save()
    return path


def right(x: float, y: float, text: str) -> Text:
    """Text ending at ``x`` (amounts are right-aligned), drawn from its estimated start."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return x - stringWidth(text, "Helvetica", 9), y, text


def test_the_dutch_table_layout_pairs_each_header_with_the_value_under_it(tmp_path: Path) -> None:
    pdf = page(tmp_path / "nl.pdf", [
        (60, 60, "Koffiebranderij De Boon B.V."), (60, 72, "Havenstraat 4, 3011 Rotterdam"),
        (60, 140, "Klant"), (170, 140, "Order"), (280, 140, "Factuur datum"), (370, 140, "Factuur"),
        (470, 140, "Vervaldatum"),
        (60, 152, "SCONL0303006"), (170, 152, "SCONL000000444"), (280, 152, "8-9-2022"), (370, 152, "VF1005193039"),
        (470, 152, "22-9-2022"),
        (60, 200, "Omschrijving"), (400, 200, "Bedrag"),
        (60, 214, "Abonnement koffiemachine september"), right(440, 214, "41,31"),
        (280, 260, "Subtotaal"), right(540, 260, "41,31"),
        (280, 272, "BTW 21%"), right(540, 272, "8,68"),
        (280, 290, "Factuur totaal EUR"), right(540, 290, "49,99"),
    ])
    (invoice,) = read_invoices(pdf)
    assert invoice.invoice_number == "VF1005193039"  # not the customer or order number beside it
    assert invoice.issue_date == dt.date(2022, 9, 8) and invoice.due_date == dt.date(2022, 9, 22)
    assert invoice.total == Decimal("49.99") and invoice.currency == "EUR"
    assert invoice.sources["total"]["confidence"] >= 0.85  # net + VAT = total confirms it


def test_labels_above_their_values_in_a_narrow_box_are_read_in_their_column(tmp_path: Path) -> None:
    pdf = page(tmp_path / "box.pdf", [
        (60, 60, "Nordlys Hosting AS"),
        (330, 100, "Fakturanummer"), (450, 100, "Fakturadato"),
        (330, 112, "NH-2024-0815"), (450, 112, "05.03.2024"),
        (330, 130, "Kundenummer"), (450, 130, "Forfallsdato"),
        (330, 142, "77120"), (450, 142, "19.03.2024"),
        (60, 220, "Webhotell Pro, mars"), right(540, 220, "1 000,00"),
        (300, 260, "Sum eks. mva"), right(540, 260, "1 000,00"),
        (300, 272, "Mva 25 %"), right(540, 272, "250,00"),
        (300, 290, "Å betale NOK"), right(540, 290, "1 250,00"),
    ])
    (invoice,) = read_invoices(pdf)
    assert invoice.invoice_number == "NH-2024-0815"
    assert invoice.issue_date == dt.date(2024, 3, 5) and invoice.due_date == dt.date(2024, 3, 19)
    assert invoice.total == Decimal("1250.00") and invoice.currency == "NOK"


def test_a_totals_row_under_its_headers_gives_the_gross_not_what_is_left_to_pay(tmp_path: Path) -> None:
    # Left-aligned headers over right-aligned amounts, and a prepayment after the gross: the total is the
    # gross (net + VAT), not the amount still payable, and each amount belongs to the header on its left.
    pdf = page(tmp_path / "fi.pdf", [
        (60, 60, "Saimaan Puutarha Oy"), (380, 60, "LASKU"),
        (330, 100, "Laskunumero"), (450, 100, "Laskun päivämäärä"),
        (330, 112, "SP-2207"), (450, 112, "05.06.2024"),
        (60, 220, "Kuvaus"), (480, 220, "Summa"),
        (60, 232, "Puutarhasuunnittelu"), right(540, 232, "177,49"),
        (60, 300, "Veroton yhteensä"), (160, 300, "ALV"), (260, 300, "Yhteensä"), (360, 300, "Ennakkomaksu"),
        (460, 300, "Maksettava"),
        right(150, 312, "177,49"), right(250, 312, "20,16"), right(350, 312, "197,65 EUR"), right(450, 312, "-50,00"),
        right(550, 312, "147,65 EUR"),
    ])
    (invoice,) = read_invoices(pdf)
    assert invoice.invoice_number == "SP-2207" and invoice.issue_date == dt.date(2024, 6, 5)
    assert invoice.total == Decimal("197.65") and invoice.currency == "EUR"


def test_a_tax_summary_rows_column_sums_do_not_outrank_the_grand_total_above_them(tmp_path: Path) -> None:
    # The grand total stands alone after the lines; the tax summary under it ends with its own "Total" row of
    # column sums (taxable value, tax, tax total), whose last amount is the tax, not the invoice's total.
    pdf = page(tmp_path / "gst.pdf", [
        (60, 60, "Kaveri Cloud Services Pvt Ltd"), (330, 100, "Invoice No."), (450, 100, "Dated"),
        (330, 112, "KCS-7731"), (450, 112, "14-Mar-24"),
        (60, 200, "Particulars"), (480, 200, "Amount"),
        (60, 214, "Managed hosting, March"), right(540, 214, "10,000.00"),
        (60, 226, "IGST @ 18%"), right(540, 226, "1,800.00"),
        (300, 250, "Total"), right(540, 250, "INR 11,800.00"),
        (60, 300, "HSN/SAC"), (250, 300, "Taxable Value"), (350, 300, "Tax Amount"), (460, 300, "Total Tax"),
        (60, 312, "998315"), right(320, 312, "10,000.00"), right(420, 312, "1,800.00"), right(540, 312, "1,800.00"),
        (180, 324, "Total"), right(320, 324, "10,000.00"), right(420, 324, "1,800.00"), right(540, 324, "1,800.00"),
    ])
    (invoice,) = read_invoices(pdf)
    assert invoice.invoice_number == "KCS-7731" and invoice.issue_date == dt.date(2024, 3, 14)
    assert invoice.total == Decimal("11800.00") and invoice.currency == "INR"


def test_a_credit_note_keeps_its_negative_total_and_says_it_is_one(tmp_path: Path) -> None:
    pdf = page(tmp_path / "credit.pdf", [
        (60, 60, "Bürotechnik Weber GmbH"),
        (60, 120, "Gutschrift"),
        (330, 140, "Gutschriftsnummer:"), (450, 140, "GS-2024-017"),
        (330, 152, "Datum:"), (450, 152, "12.04.2024"),
        (60, 220, "Rücknahme Toner"), right(540, 220, "-100,00"),
        (300, 260, "Summe netto"), right(540, 260, "-100,00"),
        (300, 272, "MwSt 19 %"), right(540, 272, "-19,00"),
        (300, 290, "Gesamtbetrag EUR"), right(540, 290, "-119,00"),
    ])
    (invoice,) = read_invoices(pdf)
    assert invoice.credit_note
    assert invoice.invoice_number == "GS-2024-017" and invoice.total == Decimal("-119.00")
    assert invoice.to_json()["credit_note"] is True


def test_a_seller_printed_only_as_a_logo_is_the_configured_company_named_by_its_vat_id(tmp_path: Path) -> None:
    pdf = page(tmp_path / "logo.pdf", [
        (60, 110, "Kunden AG Mitte"), (60, 122, "Kundenstraße 15"), (60, 134, "69876 Frankfurt"),
        (60, 146, "USt-IdNr. des Kunden: DE136695976"),
        (330, 110, "Rechnungsnummer:"), (450, 110, "R-2024-1001"),
        (330, 122, "Rechnungsdatum:"), (450, 122, "02.05.2024"),
        (60, 220, "Beratung"), right(540, 220, "500,00"),
        (300, 260, "Summe netto"), right(540, 260, "500,00"),
        (300, 272, "MwSt 19 %"), right(540, 272, "95,00"),
        (300, 290, "Rechnungsbetrag EUR"), right(540, 290, "595,00"),
        (60, 800, "USt-IdNr. DE 123 456 789 · IBAN DE02 1203 0000 0000 2020 51"),
    ])
    office = [Company("Beratung Nord GmbH", ("DE123456789",)), Company("Beratung Süd GmbH", ("DE987654321",))]
    (alone,) = read_invoices(pdf)
    assert alone.seller is None or "Beratung" not in alone.seller  # the page never prints the seller's name
    (invoice,) = read_invoices(pdf, companies=office)
    assert invoice.seller == "Beratung Nord GmbH" and invoice.sources["seller"]["source"] == "company"
    assert invoice.buyer_ids.get("vat") == "DE136695976"
    assert invoice.buyer == "Kunden AG Mitte"  # the addressee, once the seller is known to be us
    assert invoice.sources["buyer"]["confidence"] <= 0.5
    assert invoice.ready_to_send, invoice.not_ready


def test_extract_json_gives_fields_sources_confidence_buyer_ids_and_ready_with_reasons(tmp_path: Path) -> None:
    doubtful = page(tmp_path / "doubt.pdf", [
        (60, 60, "Some Shop Ltd"), (60, 100, "Thank you for your order"), (60, 120, "Order 5512 of 03/04/2024"),
        (60, 200, "Item"), right(540, 200, "10.00"),
    ])
    (invoice,) = read_invoices(doubtful)
    data = invoice.to_json()
    assert data["ready_to_send"] is False
    assert "The invoice number could not be read." in data["not_ready"]
    assert set(data) >= {"invoice_number", "issue_date", "total", "currency", "sources", "buyer_ids", "not_ready"}
    for info in data["sources"].values():
        assert set(info) == {"source", "confidence"} and 0 < info["confidence"] <= 1


def test_a_date_that_reads_both_ways_is_doubtful_unless_the_page_settles_it(tmp_path: Path) -> None:
    def invoice_dated(date: str, other: str) -> Path:
        return page(tmp_path / f"{date.replace('/', '-')}-{other.replace('/', '-')}.pdf", [
            (60, 60, "Example Supplies Ltd"),
            (330, 100, "Invoice No."), (450, 100, "INV-3321"),
            (330, 112, "Invoice Date"), (450, 112, date),
            (330, 124, "Delivery Date"), (450, 124, other),
            (300, 260, "Subtotal"), right(540, 260, "100.00"),
            (300, 272, "VAT 20%"), right(540, 272, "20.00"),
            (300, 290, "Total GBP"), right(540, 290, "120.00"),
        ])
    (ambiguous,) = read_invoices(invoice_dated("04/03/2024", "04/03/2024"))
    assert not ambiguous.ready_to_send and any("issue date" in reason for reason in ambiguous.not_ready)
    (settled,) = read_invoices(invoice_dated("04/03/2024", "28/02/2024"))  # 28 can only be a day
    assert settled.issue_date == dt.date(2024, 3, 4) and settled.ready_to_send, settled.not_ready
