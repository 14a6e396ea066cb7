"""The embedded XML reader: safe against hostile XML, and reads the CII versions printers meet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from connect_core.pipeline.extract import ExtractError, read_invoices
from connect_core.pipeline.extract.facturx import parse_xml, read_xml
from tests.support.corpus import Sample

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
  <rsm:ExchangedDocument><ram:ID>&secret;</ram:ID></rsm:ExchangedDocument>
</rsm:CrossIndustryInvoice>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""

# ZUGFeRD 1.0 names its parts differently (HeaderExchangedDocument, ApplicableSupplyChainTrade...).
ZUGFERD_1 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
  <rsm:HeaderExchangedDocument><ram:ID>ZF1-2014-17</ram:ID>
    <ram:IssueDateTime><udt:DateTimeString format="102">20140418</udt:DateTimeString></ram:IssueDateTime>
  </rsm:HeaderExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableSupplyChainTradeAgreement>
      <ram:SellerTradeParty><ram:Name>Lieferant GmbH</ram:Name></ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>Kunden AG</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableSupplyChainTradeAgreement>
    <ram:ApplicableSupplyChainTradeSettlement>
      <ram:InvoiceCurrencyCode>SEK</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradePaymentTerms><ram:Description>30 Tage</ram:Description></ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradePaymentTerms>
        <ram:DueDateDateTime><udt:DateTimeString format="102">20140518</udt:DateTimeString></ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementMonetarySummation>
        <ram:GrandTotalAmount currencyID="EUR">111.00</ram:GrandTotalAmount>
        <ram:GrandTotalAmount currencyID="SEK">1250.00</ram:GrandTotalAmount>
      </ram:SpecifiedTradeSettlementMonetarySummation>
    </ram:ApplicableSupplyChainTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>"""


def with_attachment(pdf: Path, name: str, data: bytes, out: Path) -> Path:
    writer = PdfWriter()
    for page in PdfReader(pdf).pages:
        writer.add_page(page)
    writer.add_attachment(name, data)
    with out.open("wb") as handle:
        writer.write(handle)
    return out


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["external-entity", "entity-expansion"])
def test_doctype_and_entities_are_refused(xml: bytes) -> None:
    with pytest.raises(ExtractError, match="DOCTYPE"):
        parse_xml(xml)


def test_hostile_embedded_xml_falls_back_to_the_page_text(corpus: list[Sample], tmp_path: Path) -> None:
    sample = next(s for s in corpus if s.original.name.endswith("Facture_FR_BASICWL.pdf"))
    pdf = with_attachment(sample.stripped, "factur-x.xml", XXE, tmp_path / "xxe.pdf")
    (invoice,) = read_invoices(pdf)
    assert invoice.invoice_number == "FA-2017-0010"
    assert invoice.sources["invoice_number"]["source"] == "text:page 1"


def test_zugferd_1_names_and_the_invoice_currency_total() -> None:
    invoice = read_xml(ZUGFERD_1, (1, 2))
    assert (invoice.invoice_number, invoice.issue_date, invoice.due_date) == (
        "ZF1-2014-17", dt.date(2014, 4, 18), dt.date(2014, 5, 18))
    assert (invoice.currency, invoice.total) == ("SEK", Decimal("1250.00"))
    assert (invoice.seller, invoice.buyer, invoice.pages) == ("Lieferant GmbH", "Kunden AG", (1, 2))


def test_an_attachment_with_another_name_or_root_is_not_the_invoice(corpus: list[Sample], tmp_path: Path) -> None:
    sample = next(s for s in corpus if s.original.name.endswith("Facture_FR_BASICWL.pdf"))
    other = with_attachment(sample.stripped, "notes.xml", ZUGFERD_1, tmp_path / "notes.pdf")
    assert read_invoices(other)[0].sources["invoice_number"]["source"] == "text:page 1"
    ubl = with_attachment(sample.stripped, "factur-x.xml", b"<Invoice xmlns='urn:x'><ID>1</ID></Invoice>",
                          tmp_path / "ubl.pdf")
    assert read_invoices(ubl)[0].invoice_number == "FA-2017-0010"
    named = with_attachment(sample.stripped, "ZUGFeRD-invoice.xml", ZUGFERD_1, tmp_path / "zf1.pdf")
    (invoice,) = read_invoices(named)
    assert invoice.invoice_number == "ZF1-2014-17" and invoice.sources["total"]["source"] == "facturx"
