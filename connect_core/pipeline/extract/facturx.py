"""The structured invoice a Factur-X / ZUGFeRD PDF carries as an embedded CII XML file.

The XML is parsed with the standard library's expat, refusing any DOCTYPE or entity
declaration, so neither external entities (XXE) nor entity expansion bombs can run.
Elements are matched by local name, which reads Factur-X 1.0, ZUGFeRD 2.x and XRechnung CII
(namespace ``...CrossIndustryInvoice:100``) as well as ZUGFeRD 1.0 (``CrossIndustryDocument``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import NoReturn
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from pypdf import PdfReader

from connect_core.pipeline.extract.fields import ExtractError, InvoiceFields

#: File names the Factur-X, ZUGFeRD 1/2 and XRechnung-in-PDF conventions give the embedded XML.
XML_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")

#: A larger embedded "invoice" is not something a printer job should carry; refuse rather than parse.
MAX_XML_BYTES = 20 * 1024 * 1024

SOURCE = "facturx"


def embedded_xml(reader: PdfReader) -> bytes | None:
    """The bytes of the embedded Factur-X/ZUGFeRD XML file of an open PDF, or ``None`` if it has none."""
    try:
        attachments = reader.attachments
        names = list(attachments)
    except Exception:  # pypdf raises many types on a broken name tree: no usable XML, so read the page text
        return None
    for wanted in XML_NAMES:
        for name in names:
            if name.lower() == wanted:
                data = attachments[name][0]
                if len(data) > MAX_XML_BYTES:
                    raise ExtractError(f"embedded {name} is larger than {MAX_XML_BYTES} bytes")
                return data
    return None


def parse_xml(data: bytes) -> Element:
    """Parse XML bytes into an element tree whose tags are local names; DOCTYPEs and entities are refused."""
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")

    def refuse(*_args: object) -> NoReturn:
        raise ExtractError("the invoice XML declares a DOCTYPE or entities, which is refused")

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(_local(tag), {_local(key): value for key, value in attrs.items()})

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(_local(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise ExtractError(f"the invoice XML is not well-formed: {error}") from error
    return builder.close()


def read_xml(data: bytes, pages: tuple[int, int]) -> InvoiceFields:
    """The invoice fields of a CII invoice XML (BT-1, BT-2, BT-9, BT-5, BT-112, seller and buyer names).

    Every field found is marked source ``"facturx"`` with confidence 1.0.
    """
    root = parse_xml(data)
    if root.tag not in ("CrossIndustryInvoice", "CrossIndustryDocument"):
        raise ExtractError(f"the embedded XML is not a CII invoice (root element {root.tag})")
    document = _child(root, "ExchangedDocument", "HeaderExchangedDocument")
    transaction = _child(root, "SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
    agreement = _child(transaction, "ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement")
    settlement = _child(transaction, "ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement")

    currency = _text(_child(settlement, "InvoiceCurrencyCode"))
    values = {
        "invoice_number": _text(_child(document, "ID")),
        "issue_date": _date(_child(_child(document, "IssueDateTime"), "DateTimeString")),
        "due_date": _due_date(settlement),
        "currency": currency,
        "total": _grand_total(settlement, currency),
        "seller": _text(_child(_child(agreement, "SellerTradeParty"), "Name")),
        "buyer": _text(_child(_child(agreement, "BuyerTradeParty"), "Name")),
    }
    sources = {name: {"source": SOURCE, "confidence": 1.0} for name, value in values.items() if value is not None}
    return InvoiceFields(pages=pages, sources=sources, **values)  # type: ignore[arg-type]


# -- helpers ----------------------------------------------------------------------------------


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def _child(parent: Element | None, *names: str) -> Element | None:
    """The first child of ``parent`` whose tag is one of ``names`` (alternatives across CII versions)."""
    if parent is None:
        return None
    for element in parent:
        if element.tag in names:
            return element
    return None


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = " ".join(element.text.split())
    return text or None


def _date(element: Element | None) -> dt.date | None:
    """A UN/CEFACT date: format 102 is YYYYMMDD; ISO dates are accepted for lenient producers."""
    text = _text(element)
    if text is None:
        return None
    match = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?", text)
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _due_date(settlement: Element | None) -> dt.date | None:
    """BT-9: the first payment terms that carry a due date."""
    if settlement is None:
        return None
    for terms in settlement:
        if terms.tag == "SpecifiedTradePaymentTerms":
            found = _date(_child(_child(terms, "DueDateDateTime"), "DateTimeString"))
            if found is not None:
                return found
    return None


def _grand_total(settlement: Element | None, currency: str | None) -> Decimal | None:
    """BT-112 in the invoice currency (a second GrandTotalAmount may be in the tax currency), else BT-115."""
    summation = _child(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation",
                       "SpecifiedTradeSettlementMonetarySummation")
    if summation is None:
        return None
    for tag in ("GrandTotalAmount", "DuePayableAmount"):
        amounts = [element for element in summation if element.tag == tag]
        preferred = [a for a in amounts if a.get("currencyID") in (None, currency)] or amounts
        for element in preferred:
            text = _text(element)
            if text is None:
                continue
            try:
                return Decimal(text)
            except InvalidOperation:
                continue
    return None
