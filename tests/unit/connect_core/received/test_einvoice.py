"""Reading received e-invoices (``connect_core.received.einvoice``).

What it promises: every real UBL and CII e-invoice of the corpus reads, with the values its XML holds;
credit notes say so; embedded attachments come out decoded (a broken one is left out, not fatal); and
anything hostile (entity expansion, external entities, any DOCTYPE, oversize, not XML, not an invoice,
cut short) is refused with a reason an office person can read, before it can do harm.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from connect_core.errors import ConnectError
from connect_core.received.einvoice import MAX_XML_BYTES, Refused, read_einvoice
from tests.unit.connect_core.received.einvoices import CORPUS, EINFACH_UBL, corpus_files

UBL_HEAD = ('<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
            'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
            'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">')


def ubl(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{UBL_HEAD}{body}</Invoice>'.encode()


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_every_corpus_einvoice_reads_with_its_essentials(path: Path) -> None:
    invoice = read_einvoice(path.read_bytes())
    assert invoice.number
    assert isinstance(invoice.issue_date, dt.date)
    assert invoice.seller.name
    assert invoice.currency == "EUR"
    assert isinstance(invoice.totals.tax_inclusive, Decimal)
    assert invoice.lines and all(line.name for line in invoice.lines)
    assert invoice.syntax == ("CII" if ".cii." in path.name else "UBL")


def test_the_simple_ubl_invoice_reads_as_its_xml_says() -> None:
    invoice = read_einvoice(EINFACH_UBL.read_bytes())
    assert (invoice.kind, invoice.syntax, invoice.type_code) == ("invoice", "UBL", "380")
    assert invoice.number == "471102" and invoice.issue_date == dt.date(2018, 3, 5)
    assert invoice.seller.name == "Lieferant GmbH"
    assert invoice.seller.vat_id == "DE123456789" and invoice.seller.tax_number == "201/113/40209"
    assert invoice.seller.gln == "4000001123452"
    assert invoice.seller.address_lines == ("Lieferantenstraße 20", "80333 München") and invoice.seller.country == "DE"
    assert invoice.buyer.name == "Kunden AG Mitte"
    assert [(line.id, line.name, line.quantity, line.unit_code, line.unit_price, line.net_amount)
            for line in invoice.lines] == [
        ("1", "Trennblätter A4", Decimal(20), "H87", Decimal("9.9"), Decimal(198)),
        ("2", "Joghurt Banane", Decimal(50), "H87", Decimal("5.5"), Decimal(275)),
    ]
    assert [(row.category, row.rate, row.taxable_amount, row.tax_amount) for row in invoice.vat] == [
        ("S", Decimal(7), Decimal(275), Decimal("19.25")), ("S", Decimal(19), Decimal(198), Decimal("37.62"))]
    totals = invoice.totals
    assert (totals.line_total, totals.tax_exclusive, totals.tax_amount, totals.tax_inclusive, totals.payable) == (
        Decimal(473), Decimal(473), Decimal("56.87"), Decimal("529.87"), Decimal("529.87"))
    assert invoice.payment.terms and invoice.payment.terms.startswith("Zahlbar innerhalb 30 Tagen netto")
    assert invoice.notes[0] == "Rechnung gemäß Bestellung vom 01.03.2018."
    assert invoice.notes[1].startswith("Lieferant GmbH\nLieferantenstraße 20\n")  # "#REG#" dropped, lines kept


def test_the_full_cii_invoice_reads_as_its_xml_says() -> None:
    path = CORPUS / "XML-Rechnung__CII__not_validating_full_invoice_based_onTest_EeISI_300_CENfullmodel.cii.xml"
    invoice = read_einvoice(path.read_bytes())
    assert (invoice.kind, invoice.syntax, invoice.number) == ("invoice", "CII", "Test_EeISI_100")
    assert (invoice.issue_date, invoice.due_date) == (dt.date(2018, 11, 12), dt.date(2018, 11, 30))
    assert (invoice.buyer_reference, invoice.order_reference, invoice.preceding_invoice) == ("123", "abc", "abc123")
    assert invoice.seller.name == "Seller name" and invoice.seller.trading_name == "Seller trading name"
    assert invoice.seller.vat_id == "DE12345677" and invoice.seller.email == "seller@contact.de"
    assert invoice.buyer.organisation_number == "Buyer legal registration identifier"
    assert invoice.buyer.address_lines[:3] == ("Buyer address line 1", "Buyer address line 2", "Buyer address line 3")
    # two TaxTotalAmounts: the invoice currency's (EUR 5.00) wins over the tax currency's (NOK 4.60)
    assert invoice.totals.tax_amount == Decimal("5.00") and invoice.totals.tax_inclusive == Decimal("205.00")
    assert (invoice.totals.allowances, invoice.totals.charges) == (Decimal("10.00"), Decimal("10.00"))
    assert invoice.payment.ibans == ("IT1212341234123412",)
    assert (invoice.payment.account_name, invoice.payment.reference) == ("Payment account name",
                                                                         "Remittance information")
    assert [(a.file_name, a.mime_code, a.description, a.data) for a in invoice.attachments] == [
        ("filename0", "application/pdf", "Supporting document descr", b"default")]
    assert invoice.lines[0].price_base_quantity == Decimal("1.00")


def test_a_ubl_credit_note_is_a_credit_note_with_its_amounts_as_printed() -> None:
    invoice = read_einvoice((CORPUS / "XML-Rechnung__UBL__ubl-tc434-creditnote1.xml").read_bytes())
    assert (invoice.kind, invoice.type_code, invoice.number) == ("credit-note", "381", "018304 / 28865")
    assert invoice.totals.payable == Decimal("100.11")
    assert invoice.lines[0].quantity == Decimal("1.00") and invoice.lines[0].name == "Exonération du versement du PP"
    assert invoice.payment.ibans == ("BE91000000143476",) and invoice.payment.bic == "BPOTBEB1"
    assert invoice.payment.reference == "010676609538"
    assert invoice.seller.organisation_number == "0000000196"


def test_a_cii_invoice_with_type_code_381_is_a_credit_note() -> None:
    data = (CORPUS / "XML-Rechnung__CII__EN16931_Einfach.cii.xml").read_bytes()
    data = data.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:TypeCode>381</ram:TypeCode>")
    assert read_einvoice(data).kind == "credit-note"


def test_an_embedded_attachment_comes_out_decoded_and_a_broken_one_is_left_out() -> None:
    pdf = b"%PDF-1.4\n% a delivery note\n"
    invoice = read_einvoice(ubl(f"""
        <cbc:ID>A-1</cbc:ID><cbc:IssueDate>2026-03-05</cbc:IssueDate>
        <cac:AdditionalDocumentReference>
          <cbc:ID>DN-7</cbc:ID><cbc:DocumentDescription>Delivery note</cbc:DocumentDescription>
          <cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="delivery.pdf">
            {base64.encodebytes(pdf).decode()}</cbc:EmbeddedDocumentBinaryObject></cac:Attachment>
        </cac:AdditionalDocumentReference>
        <cac:AdditionalDocumentReference>
          <cbc:ID>broken</cbc:ID>
          <cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode="image/png" filename="x.png">not*base64!
          </cbc:EmbeddedDocumentBinaryObject></cac:Attachment>
        </cac:AdditionalDocumentReference>"""))
    assert invoice.number == "A-1"
    assert [(a.file_name, a.mime_code, a.description, a.data) for a in invoice.attachments] == [
        ("delivery.pdf", "application/pdf", "Delivery note", pdf)]


def test_the_corpus_attachments_are_real_files() -> None:
    invoice = read_einvoice((CORPUS / "XML-Rechnung__UBL__XRECHNUNG_Elektron.ubl.xml").read_bytes())
    by_name = {attachment.file_name: attachment.data for attachment in invoice.attachments}
    assert by_name["ElektronRapport.pdf"].startswith(b"%PDF") and by_name["Aufmass.png"].startswith(b"\x89PNG")


def test_a_minimal_invoice_reads_with_everything_optional_missing() -> None:
    invoice = read_einvoice(ubl("<cbc:ID>1</cbc:ID>"))
    assert invoice.number == "1" and invoice.issue_date is None and invoice.due_date is None
    assert invoice.seller.name is None and invoice.seller.address_lines == () and invoice.lines == ()
    assert invoice.totals.payable is None and invoice.payment.ibans == () and invoice.attachments == ()
    assert read_einvoice(b"<CrossIndustryInvoice/>").syntax == "CII"


def test_strings_are_data_without_controls_or_bidi_overrides_and_capped() -> None:
    invoice = read_einvoice(ubl(f"""
        <cbc:ID>  47&#x9;11\u202e02  </cbc:ID><cbc:IssueDate>2026-02-30</cbc:IssueDate>
        <cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>{'Lieferant ' * 1000}</cbc:Name>
        </cac:PartyName></cac:Party></cac:AccountingSupplierParty>
        <cac:LegalMonetaryTotal><cbc:PayableAmount>1E+999999</cbc:PayableAmount>
        <cbc:TaxInclusiveAmount>1,000.00</cbc:TaxInclusiveAmount><cbc:PrepaidAmount>-0.50</cbc:PrepaidAmount>
        </cac:LegalMonetaryTotal>"""))
    assert invoice.number == "47 1102"
    assert invoice.issue_date is None  # 30 February
    assert invoice.seller.name is not None and len(invoice.seller.name) == 500 and invoice.seller.name.endswith("…")
    assert invoice.totals.payable is None and invoice.totals.tax_inclusive is None
    assert invoice.totals.prepaid == Decimal("-0.50")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<Invoice><ID>&lol9;</ID></Invoice>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Invoice><ID>&secret;</ID></Invoice>"""

DOCTYPE_ALONE = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice>
<Invoice><ID>1</ID></Invoice>"""


@pytest.mark.parametrize(("data", "reason"), [
    (BILLION_LAUGHS, "refused: the XML declares entities (a DOCTYPE), which an e-invoice never needs"),
    (EXTERNAL_ENTITY, "refused: the XML refers to an outside file or address (file:///etc/passwd), "
                      "which an e-invoice never does"),
    (DOCTYPE_ALONE, "refused: the XML has a DOCTYPE, which an e-invoice never needs"),
    (b'<!DOCTYPE Invoice SYSTEM "http://attacker.example/x.dtd"><Invoice/>',
     "refused: the XML refers to an outside file or address (http://attacker.example/x.dtd)"),
    (b"Invoice 471102, total 529.87 EUR", "refused: not XML (syntax error: line 1, column 0)"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "refused: not XML (a PDF file)"),
    (b'<?xml version="1.0" encoding="no-such-encoding"?><Invoice/>', "refused: not XML (unknown encoding"),
    (b"", "refused: the file is empty"),
    (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>',
     "refused: XML but neither a UBL nor a CII invoice (root element Order)"),
    (EINFACH_UBL.read_bytes()[:3000], "refused: the XML is cut short ("),
], ids=["billion-laughs", "external-entity", "doctype-alone", "external-dtd", "text", "pdf", "encoding", "empty",
        "an-order", "truncated"])
def test_hostile_or_wrong_input_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        read_einvoice(data)
    assert refused.value.reason.startswith(reason), refused.value.reason
    assert str(refused.value) == refused.value.reason
    assert isinstance(refused.value, ValueError) and isinstance(refused.value, ConnectError)


def test_more_than_50_mb_is_refused_before_parsing() -> None:
    data = b"<Invoice>" + b" " * (MAX_XML_BYTES + 1 - len(b"<Invoice>"))
    assert len(data) == MAX_XML_BYTES + 1
    with pytest.raises(Refused) as refused:
        read_einvoice(data)
    assert refused.value.reason == "refused: 52,428,801 bytes is more than the 52,428,800 an e-invoice may have"
