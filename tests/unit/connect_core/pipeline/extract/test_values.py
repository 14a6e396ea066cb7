"""Labels, dates and amounts in German, French, English, Dutch and Swedish, read from page text.

None of these layouts is in the corpus: they show the reader is not just fitted to it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connect_core.pipeline.extract.reader import invoice_number, lines_of, normalize, read_fields
from connect_core.pipeline.extract.values import find_amounts, parse_amount, parse_date


def read(text: str) -> dict[str, object]:
    return {name: found.value for name, found in read_fields(lines_of([(1, normalize(text))])).items()}


GERMAN = """Muster GmbH · Hauptstraße 1 · 10115 Berlin
Kunde AG
Beispielweg 5
80331 München
Rechnung
Rechnungsnummer: RE-2024-0815
Rechnungsdatum: 05.03.2024
Kundennummer: K-4711
Bestellnummer: PO-99812
Pos. Beschreibung Menge Einzelpreis Gesamt
1 Beratung 10 120,00 € 1.200,00 €
Nettobetrag 1.200,00 €
zzgl. 19 % USt. 228,00 €
Gesamtbetrag 1.428,00 €
Zahlbar bis 04.04.2024 ohne Abzug."""

FRENCH = """Boulangerie Martin SAS
Facture n° F2024-042 du 18 avril 2024
Client : Société Dupont SARL
Date d'échéance : 18/05/2024
Total HT 1 000,00 €
TVA 20 % 200,00 €
Total TTC 1 200,00 €
Net à payer 1 200,00 €"""

ENGLISH = """ACME Ltd
Invoice No: INV-10023
Invoice date: March 5, 2024
Due date: 04/15/2024
Bill to:
Globex Corporation
Subtotal $1,000.00
Tax $80.00
Total due $1,080.00"""

DUTCH = """Bakkerij Jansen B.V.
Factuurnummer: 2024-117
Factuurdatum: 12-03-2024
Vervaldatum: 11-04-2024
Klant:
De Vries Catering
Subtotaal € 850,00
BTW 21% € 178,50
Totaal € 1.028,50"""

SWEDISH = """Snickeri Berg AB
Fakturanummer: 10045
Fakturadatum: 18 april 2014
Förfallodatum: 2014-05-18
Kund:
Andersson AB
Summa exkl. moms 1 000,00 kr
Moms 25 % 250,00 kr
Att betala 1 250,00 kr"""


@pytest.mark.parametrize(("text", "expected"), [
    (GERMAN, ("RE-2024-0815", dt.date(2024, 3, 5), dt.date(2024, 4, 4), "EUR", Decimal("1428.00"),
              "Muster GmbH", "Kunde AG")),
    (FRENCH, ("F2024-042", dt.date(2024, 4, 18), dt.date(2024, 5, 18), "EUR", Decimal("1200.00"),
              "Boulangerie Martin SAS", "Société Dupont SARL")),
    (ENGLISH, ("INV-10023", dt.date(2024, 3, 5), dt.date(2024, 4, 15), "USD", Decimal("1080.00"),
               "ACME Ltd", "Globex Corporation")),
    (DUTCH, ("2024-117", dt.date(2024, 3, 12), dt.date(2024, 4, 11), "EUR", Decimal("1028.50"),
             "Bakkerij Jansen B.V.", "De Vries Catering")),
    (SWEDISH, ("10045", dt.date(2014, 4, 18), dt.date(2014, 5, 18), "SEK", Decimal("1250.00"),
               "Snickeri Berg AB", "Andersson AB")),
], ids=["de", "fr", "en", "nl", "sv"])
def test_one_invoice_per_language(text: str, expected: tuple[object, ...]) -> None:
    fields = read(text)
    names = ("invoice_number", "issue_date", "due_date", "currency", "total", "seller", "buyer")
    assert tuple(fields.get(name) for name in names) == expected


@pytest.mark.parametrize(("label", "language"), [
    ("Rechnung Nr. 4711", "de"), ("Rechnungs-Nr.: 4711", "de"), ("Rechnungsnummer 4711", "de"),
    ("Facture n° 4711", "fr"), ("N° de facture : 4711", "fr"), ("Invoice No. 4711", "en"),
    ("Invoice # 4711", "en"), ("Invoice number: 4711", "en"), ("Factuurnummer: 4711", "nl"),
    ("Factuur nr. 4711", "nl"), ("Fakturanummer 4711", "sv"), ("Faktura nr: 4711", "sv"),
])
def test_invoice_number_labels(label: str, language: str) -> None:
    assert invoice_number(f"Firma\n{label}\nSeite 1") == "4711", language


def test_a_number_label_ending_its_line_takes_the_value_below() -> None:
    assert invoice_number("Rechnungsnummer Rechnungsdatum\nR-100 05.03.2018") == "R-100"


def test_a_colon_between_digits_belongs_to_the_number_and_a_colon_after_the_label_does_not() -> None:
    assert invoice_number("Rechnungsnummer Datum\n2024:1337 23. Juli 2026") == "2024:1337"
    assert invoice_number("Invoice No.:4711") == "4711"


@pytest.mark.parametrize("reference", [
    "Bestellnummer: 4711", "Lieferschein Nr. 4711", "Auftragsnummer 4711", "Kundennummer: 4711",
    "Order no. 4711", "PO 4711", "Rechnung gemäß Bestellung Nr. 4711", "Facture liée FA-4711",
    "Korrektur zu Rechnung Nr. 4711", "Numéro de commande 4711", "Customer no. 4711", "Ordernummer 4711",
])
def test_other_references_are_not_invoice_numbers(reference: str) -> None:
    assert invoice_number(f"Seite 2\n{reference}") is None


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("05.03.2018", "dmy", dt.date(2018, 3, 5)), ("2018-03-05", "dmy", dt.date(2018, 3, 5)),
    ("5 March 2018", "dmy", dt.date(2018, 3, 5)), ("March 5, 2018", "mdy", dt.date(2018, 3, 5)),
    ("18 april 2014", "dmy", dt.date(2014, 4, 18)), ("5. März 2018", "dmy", dt.date(2018, 3, 5)),
    ("1er mars 2018", "dmy", dt.date(2018, 3, 1)), ("5 mei 2018", "dmy", dt.date(2018, 5, 5)),
    ("5 maj 2018", "dmy", dt.date(2018, 5, 5)), ("05/03/2018", "dmy", dt.date(2018, 3, 5)),
    ("05/03/2018", "mdy", dt.date(2018, 5, 3)), ("05-03-2018", "dmy", dt.date(2018, 3, 5)),
    ("05.03.18", "dmy", dt.date(2018, 3, 5)), ("31.02.2018", "dmy", None), ("01.234.567.8-2018-1", "dmy", None),
    # A space the PDF's text run puts before the comma; a two-digit year after a month name; a time is no year.
    ("August 3 , 2014", "mdy", dt.date(2014, 8, 3)), ("28 Jan 15", "dmy", dt.date(2015, 1, 28)),
    ("3 May 12:30", "dmy", None),
    # A month name between dashes (Oracle's DD-MON-YY, Indian and British bills); day first whatever the order.
    ("Dated 2-Aug-23", "mdy", dt.date(2023, 8, 2)), ("02-AUG-2023", "dmy", dt.date(2023, 8, 2)),
    ("INV-12-Aug-2023", "dmy", None),
])
def test_date_formats(text: str, order: str, expected: dt.date | None) -> None:
    assert parse_date(text, order) == expected


def test_an_order_date_stands_in_only_when_no_other_date_is_printed() -> None:
    shop = "Tax Invoice\nTo: Jane Doe | Order date: 28 Jan 15\nInvoice No. 12429647\nInvoice Total: $101.00"
    assert read(shop)["issue_date"] == dt.date(2015, 1, 28)
    fields = read_fields(lines_of([(1, normalize(shop))]))
    assert fields["issue_date"].confidence < 0.5  # a guess: a person confirms it
    assert read("Order date: 28 Jan 15\nDate: 30 Jan 15\nInvoice No. 12429647")["issue_date"] == dt.date(2015, 1, 30)


def test_slash_dates_follow_the_document() -> None:
    # English labels read 03/05 month-first, unless another date on the page has a day over 12 first.
    assert read("Invoice date 03/05/2018")["issue_date"] == dt.date(2018, 3, 5)
    assert read("Invoice date 03/05/2018\nDelivered 25/04/2018")["issue_date"] == dt.date(2018, 5, 3)
    assert read("Date de facture 03/05/2018")["issue_date"] == dt.date(2018, 5, 3)
    assert read("Factuurdatum 03/05/2018")["issue_date"] == dt.date(2018, 5, 3)


@pytest.mark.parametrize(("text", "expected", "currency"), [
    ("1.234,56 €", Decimal("1234.56"), "EUR"), ("1,234.56 EUR", Decimal("1234.56"), "EUR"),
    ("€ 1.234,56", Decimal("1234.56"), "EUR"), ("$1,234.56", Decimal("1234.56"), "USD"),
    ("USD 1,234.56", Decimal("1234.56"), "USD"), ("1 234,56 kr", Decimal("1234.56"), "SEK"),
    ("SEK 1 234,56", Decimal("1234.56"), "SEK"), ("1234,56", Decimal("1234.56"), None),
    ("-8,79", Decimal("-8.79"), None), ("- 1,12 EUR", Decimal("-1.12"), "EUR"),
    ("233,47-", Decimal("-233.47"), None), ("1.234.567,00", Decimal("1234567.00"), None),
    ("₹135.01", Decimal("135.01"), "INR"),
])
def test_amount_formats(text: str, expected: Decimal, currency: str | None) -> None:
    (amount,) = list(find_amounts(text))
    assert (amount.value, amount.currency) == (expected, currency)


def test_three_digit_groups_follow_the_document_separator() -> None:
    assert parse_amount("1.234", ",") == Decimal("1234")
    assert parse_amount("1,234", ".") == Decimal("1234")
    assert parse_amount("1,234", ",") == Decimal("1.234")


def test_the_grand_total_wins_over_net_tax_and_amount_due() -> None:
    text = "Total HT 624,90 €\nTotal taxes 46,25 €\nTotal TTC 671,15 €\nSolde à payer 470,15 €"
    assert read(text)["total"] == Decimal("671.15")
    text = "Net total 2,076.76 €\nTax Total 0.00 €\nTotal 2,076.76 €\nResidual 1,453.76 €"
    assert read(text)["total"] == Decimal("2076.76")
    text = "Gesamtbetrag der Zuschläge 5,80\nRechnungssumme ohne USt. 177,49\nBruttosumme 197,65\nZahlbetrag 147,65"
    assert read(text)["total"] == Decimal("197.65")


def test_a_credit_note_total_keeps_the_sign_printed() -> None:
    assert read("Avoir AV-1\nTotal TTC -233,47 €")["total"] == Decimal("-233.47")
    assert read("Avoir AV-1\nTotal TTC 233,47 €")["total"] == Decimal("233.47")
    assert read("Rechnungskorrektur Nr. RK-1\nBruttosumme -8,79")["total"] == Decimal("-8.79")


def test_a_cash_discount_date_is_not_the_due_date() -> None:
    text = "Zahlbar mit 2% Skonto bis 14.11.2018\nZahlbar ohne Abschlag bis 20.11.2018"
    assert read(text)["due_date"] == dt.date(2018, 11, 20)


def test_a_service_period_end_is_not_the_due_date() -> None:
    assert "due_date" not in read("Rechnung Nr. 5\nLeistungszeitraum 01.03.2024 bis zum 31.03.2024")
    assert read("Bitte überweisen Sie den Betrag bis zum 15.04.2024.")["due_date"] == dt.date(2024, 4, 15)


def test_page_counters_and_words_are_not_numbers_or_currencies() -> None:
    assert invoice_number("Invoice 2 of 3\nContinued") is None
    assert "currency" not in read("We try to deliver on time.\nTotal 12.50")
