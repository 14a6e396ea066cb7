"""Reading a received e-invoice (UBL 2.1 Invoice or CreditNote, UN/CEFACT CII) into plain, frozen values.

A received XML file comes from a stranger, so reading it is defensive from the first byte:

* its size is checked before anything parses it (:data:`MAX_XML_BYTES`);
* it is parsed by defusedxml with DTDs, entities and external references forbidden: an e-invoice never
  needs any of them, and they are how billion-laughs expansion and file-reading (XXE) attacks work;
* anything that is not XML, or XML that is not an invoice, is :class:`Refused` with a reason an office
  person can read; nothing else escapes;
* every string read is data: control characters and bidi overrides are removed, whitespace collapsed,
  lengths capped; amounts are plain decimals (no exponents, bounded digits) or ``None``;
* a missing optional element gives ``None`` or an empty tuple, never an exception.

Elements are matched by their local names, whatever namespace prefix the sender chose.  Amounts are kept
as printed: a UBL CreditNote's amounts are positive and its ``kind`` says it is a credit note.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from connect_core.errors import ConnectError

MAX_XML_BYTES = 50 * 1024 * 1024

NAME_CHARS = 500
NOTE_CHARS = 2000
ID_CHARS = 200
CODE_CHARS = 40

Kind = Literal["invoice", "credit-note"]
Syntax = Literal["UBL", "CII"]

# UNTDID 1001 document type codes that EN 16931 counts as credit notes.
CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})

# UNTDID 4461 payment means, for when the XML gives only the code.
PAYMENT_MEANS = {
    "1": "not defined", "10": "cash", "20": "cheque", "30": "credit transfer", "31": "debit transfer",
    "42": "payment to bank account", "48": "bank card", "49": "direct debit", "57": "standing agreement",
    "58": "SEPA credit transfer", "59": "SEPA direct debit", "97": "clearing between partners",
    "ZZZ": "mutually defined",
}


class Refused(ConnectError, ValueError):
    """The bytes are not an e-invoice we will read; ``reason`` says why, for an office person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Party:
    """A seller or buyer as the invoice names it."""

    name: str | None = None
    trading_name: str | None = None
    vat_id: str | None = None
    tax_number: str | None = None
    gln: str | None = None
    organisation_number: str | None = None
    address_lines: tuple[str, ...] = ()
    country: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Line:
    """One invoice line; ``unit_price`` is per ``price_base_quantity`` units when that is given."""

    id: str | None = None
    name: str | None = None
    quantity: Decimal | None = None
    unit_code: str | None = None
    unit_price: Decimal | None = None
    net_amount: Decimal | None = None
    vat_rate: Decimal | None = None
    price_base_quantity: Decimal | None = None


@dataclass(frozen=True)
class VatRow:
    """One row of the VAT breakdown."""

    category: str | None = None
    rate: Decimal | None = None
    taxable_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    exemption_reason: str | None = None


@dataclass(frozen=True)
class Totals:
    """The document totals, in the invoice currency, each ``None`` when the XML leaves it out."""

    line_total: Decimal | None = None
    allowances: Decimal | None = None
    charges: Decimal | None = None
    tax_exclusive: Decimal | None = None
    tax_amount: Decimal | None = None
    tax_inclusive: Decimal | None = None
    prepaid: Decimal | None = None
    rounding: Decimal | None = None
    payable: Decimal | None = None


@dataclass(frozen=True)
class Payment:
    """How to pay: the terms, the means and the payee's account(s) (IBANs, or national account numbers)."""

    terms: str | None = None
    means_code: str | None = None
    means_text: str | None = None
    ibans: tuple[str, ...] = ()
    bic: str | None = None
    account_name: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class EmbeddedAttachment:
    """A supporting document carried inside the XML (base64), already decoded."""

    file_name: str | None
    mime_code: str | None
    description: str | None
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ReceivedInvoice:
    """What a received e-invoice says, read from its XML."""

    kind: Kind
    syntax: Syntax
    number: str | None = None
    type_code: str | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    currency: str | None = None
    buyer_reference: str | None = None
    order_reference: str | None = None
    preceding_invoice: str | None = None
    seller: Party = field(default_factory=Party)
    buyer: Party = field(default_factory=Party)
    lines: tuple[Line, ...] = ()
    vat: tuple[VatRow, ...] = ()
    totals: Totals = field(default_factory=Totals)
    payment: Payment = field(default_factory=Payment)
    notes: tuple[str, ...] = ()
    attachments: tuple[EmbeddedAttachment, ...] = ()


def read_einvoice(data: bytes) -> ReceivedInvoice:
    """The invoice in ``data`` (UBL Invoice, UBL CreditNote or CII); raises :class:`Refused` for anything else."""
    root = _parse(data)
    name = _local(root.tag)
    if name in ("Invoice", "CreditNote"):
        return _read_ubl(root, credit_note_root=name == "CreditNote")
    if name == "CrossIndustryInvoice":
        return _read_cii(root)
    shown = clean(name, 80) or "without a name"
    raise Refused(f"refused: XML but neither a UBL nor a CII invoice (root element {shown})")


# -- parsing -------------------------------------------------------------------------------------------------

_ENTITY = re.compile(rb"<!ENTITY\s+(?:%\s*)?[^\s>]+\s+(?:(SYSTEM|PUBLIC)\s+)?[\"']([^\"']*)")
_TRUNCATED_CODES = {3, 5, 6}  # expat: no element found, unclosed token, partial character


def _parse(data: bytes) -> Element:
    if len(data) > MAX_XML_BYTES:
        raise Refused(f"refused: {len(data):,} bytes is more than the {MAX_XML_BYTES:,} an e-invoice may have")
    if not data.strip():
        raise Refused("refused: the file is empty")
    try:
        return defusedxml.ElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as error:
        raise Refused(_doctype_reason(data, error.sysid)) from None
    except defusedxml.EntitiesForbidden:
        raise Refused("refused: the XML declares entities (a DOCTYPE), which an e-invoice never needs") from None
    except defusedxml.ExternalReferenceForbidden as error:
        raise Refused(f"refused: the XML refers to an outside file or address ({clean(error.sysid or '', 200)}), "
                      "which an e-invoice never does") from None
    except ParseError as error:
        raise Refused(_syntax_reason(data, error)) from None
    except (LookupError, ValueError) as error:  # an unknown or impossible encoding declaration
        raise Refused(f"refused: not XML ({clean(str(error), 200)})") from None


def _doctype_reason(data: bytes, system_id: str | None) -> str:
    """Which of the DOCTYPE's dangers it carries, for the message (the parse stopped at the DOCTYPE itself)."""
    prolog = data[: data.find(b"]>") + 2] if b"]>" in data[:1_000_000] else data[:1_000_000]
    external = [match.group(2) for match in _ENTITY.finditer(prolog) if match.group(1)]
    if external or system_id:
        where = clean((external[0].decode("utf-8", "replace") if external else system_id) or "", 200)
        return f"refused: the XML refers to an outside file or address ({where}), which an e-invoice never does"
    if _ENTITY.search(prolog):
        return "refused: the XML declares entities (a DOCTYPE), which an e-invoice never needs"
    return "refused: the XML has a DOCTYPE, which an e-invoice never needs"


def _syntax_reason(data: bytes, error: ParseError) -> str:
    detail = clean(str(error), 200)
    if data.startswith(b"%PDF"):
        return "refused: not XML (a PDF file)"
    if getattr(error, "code", None) in _TRUNCATED_CODES and data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return f"refused: the XML is cut short ({detail}); the download may be incomplete"
    return f"refused: not XML ({detail})"


# -- text, amounts and dates as data --------------------------------------------------------------------------

# C0 and C1 controls other than tab/line breaks, DEL, and the bidi embeddings, overrides and isolates that
# can make an IBAN or an amount display in another order than it is stored.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str | None, limit: int, *, keep_lines: bool = False) -> str | None:
    """``text`` as safe data: no control characters, whitespace collapsed, at most ``limit`` characters.

    With ``keep_lines`` single line breaks survive (notes, payment terms); empty results are ``None``.
    """
    if not text:
        return None
    text = _UNWANTED.sub("", text[: limit * 8])
    if keep_lines:
        lines = (" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        text = "\n".join(line for line in lines if line)
    else:
        text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


_DECIMAL = re.compile(r"[+-]?(?:\d{1,18}(?:\.\d{0,10})?|\.\d{1,10})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_CII_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _decimal(text: str | None) -> Decimal | None:
    """An xs:decimal as printed; anything else (exponents, separators, 30 digits) is ``None``."""
    value = (text or "").strip()
    return Decimal(value) if _DECIMAL.fullmatch(value) else None


def _date(text: str | None) -> dt.date | None:
    value = (text or "").strip()
    match = _ISO_DATE.match(value) or _CII_DATE.fullmatch(value)
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


# -- finding elements by local name ----------------------------------------------------------------------------


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _all(element: Element | None, path: str) -> list[Element]:
    """Every element at ``path``, a "/"-separated list of local names below ``element``."""
    level = [element] if element is not None else []
    for name in path.split("/"):
        level = [child for parent in level for child in parent if _local(child.tag) == name]
    return level


def _one(element: Element | None, path: str) -> Element | None:
    found = _all(element, path)
    return found[0] if found else None


def _raw(element: Element | None, path: str) -> str | None:
    """The first non-blank text at ``path``, uncleaned (for codes, amounts, dates and base64)."""
    return next((child.text for child in _all(element, path) if child.text and child.text.strip()), None)


def _text(element: Element | None, path: str, limit: int = NAME_CHARS, *, keep_lines: bool = False) -> str | None:
    return clean(_raw(element, path), limit, keep_lines=keep_lines)


def _texts(element: Element | None, path: str, limit: int, *, keep_lines: bool = False) -> Iterator[str]:
    for child in _all(element, path):
        if (text := clean(child.text, limit, keep_lines=keep_lines)) is not None:
            yield text


def _with_scheme(elements: list[Element], scheme: str, limit: int = ID_CHARS) -> str | None:
    """The first element's text whose ``schemeID`` is ``scheme`` (e.g. 0088 for a GLN, VA for a VAT id)."""
    for element in elements:
        if (element.get("schemeID") or "").strip().upper() == scheme and (text := clean(element.text, limit)):
            return text
    return None


def _in_currency(elements: list[Element], currency: str | None) -> Element | None:
    """Of several amounts (the invoice and the tax currency), the one in the invoice currency."""
    return next((element for element in elements if element.get("currencyID") == currency),
                next((element for element in elements if element.get("currencyID") is None),
                     elements[0] if elements else None))


def _kind(type_code: str | None, credit_note_root: bool = False) -> Kind:
    return "credit-note" if credit_note_root or type_code in CREDIT_NOTE_TYPE_CODES else "invoice"


def _note(text: str) -> str:
    """A note without its EN 16931 subject-code prefix (``#REG#…``)."""
    return re.sub(r"^#[A-Z]{3}#\s*", "", text) or text


def _attachments(references: list[Element], binary_path: str,
                 described_by: tuple[str, str]) -> tuple[EmbeddedAttachment, ...]:
    """The embedded documents of these references; one with empty or broken base64 is left out, not fatal."""
    found = []
    for reference in references:
        description = _text(reference, described_by[0]) or _text(reference, described_by[1], ID_CHARS)
        for binary in _all(reference, binary_path):
            try:
                data = base64.b64decode("".join((binary.text or "").split()), validate=True)
            except (binascii.Error, ValueError):
                continue
            if data:
                found.append(EmbeddedAttachment(file_name=clean(binary.get("filename"), 255),
                                                mime_code=clean(binary.get("mimeCode"), 100),
                                                description=description, data=data))
    return tuple(found)


def _means(code: str | None, text: str | None) -> str | None:
    return text or (PAYMENT_MEANS.get(code) if code else None)


def _place(postcode: str | None, city: str | None) -> str | None:
    return " ".join(part for part in (postcode, city) if part) or None


# -- UBL ----------------------------------------------------------------------------------------------------------


def _read_ubl(root: Element, *, credit_note_root: bool) -> ReceivedInvoice:
    type_code = _text(root, "CreditNoteTypeCode" if credit_note_root else "InvoiceTypeCode", CODE_CHARS)
    currency = _text(root, "DocumentCurrencyCode", CODE_CHARS)
    tax_total = _ubl_tax_total(root, currency)
    line_tag, quantity_tag = ("CreditNoteLine", "CreditedQuantity") if credit_note_root else ("InvoiceLine",
                                                                                              "InvoicedQuantity")
    return ReceivedInvoice(
        kind=_kind(type_code, credit_note_root),
        syntax="UBL",
        number=_text(root, "ID", ID_CHARS),
        type_code=type_code,
        issue_date=_date(_raw(root, "IssueDate")),
        due_date=_date(_raw(root, "DueDate") or _raw(root, "PaymentMeans/PaymentDueDate")),
        currency=currency,
        buyer_reference=_text(root, "BuyerReference", ID_CHARS),
        order_reference=_text(root, "OrderReference/ID", ID_CHARS),
        preceding_invoice=_text(root, "BillingReference/InvoiceDocumentReference/ID", ID_CHARS),
        seller=_ubl_party(_one(root, "AccountingSupplierParty/Party")),
        buyer=_ubl_party(_one(root, "AccountingCustomerParty/Party")),
        lines=tuple(_ubl_line(line, quantity_tag) for line in _all(root, line_tag)),
        vat=tuple(_ubl_vat(subtotal) for subtotal in _all(tax_total, "TaxSubtotal")),
        totals=_ubl_totals(_one(root, "LegalMonetaryTotal"), tax_total),
        payment=_ubl_payment(root),
        notes=tuple(_note(note) for note in _texts(root, "Note", NOTE_CHARS, keep_lines=True)),
        attachments=_attachments(_all(root, "AdditionalDocumentReference"), "Attachment/EmbeddedDocumentBinaryObject",
                                 ("DocumentDescription", "ID")),
    )


def _ubl_tax_total(root: Element, currency: str | None) -> Element | None:
    """The TaxTotal in the invoice currency (a second one may give the VAT in the tax currency)."""
    tax_totals = _all(root, "TaxTotal")
    for tax_total in tax_totals:
        amount = _one(tax_total, "TaxAmount")
        if amount is not None and amount.get("currencyID") == currency:
            return tax_total
    return next((t for t in tax_totals if _one(t, "TaxSubtotal") is not None), tax_totals[0] if tax_totals else None)


def _ubl_party(party: Element | None) -> Party:
    if party is None:
        return Party()
    legal_name, trading_name = _text(party, "PartyLegalEntity/RegistrationName"), _text(party, "PartyName/Name")
    vat_id = tax_number = None
    for scheme in _all(party, "PartyTaxScheme"):
        if (_raw(scheme, "TaxScheme/ID") or "").strip().upper() == "VAT":
            vat_id = vat_id or _text(scheme, "CompanyID", ID_CHARS)
        else:
            tax_number = tax_number or _text(scheme, "CompanyID", ID_CHARS)
    address = _one(party, "PostalAddress")
    lines = [*_texts(address, "StreetName", NAME_CHARS), *_texts(address, "AdditionalStreetName", NAME_CHARS),
             *_texts(address, "AddressLine/Line", NAME_CHARS),
             _place(_text(address, "PostalZone", CODE_CHARS), _text(address, "CityName")),
             _text(address, "CountrySubentity")]
    return Party(
        name=legal_name or trading_name,
        trading_name=trading_name if trading_name != (legal_name or trading_name) else None,
        vat_id=vat_id,
        tax_number=tax_number,
        gln=_with_scheme(_all(party, "EndpointID") + _all(party, "PartyIdentification/ID"), "0088"),
        organisation_number=_text(party, "PartyLegalEntity/CompanyID", ID_CHARS),
        address_lines=tuple(line for line in lines if line),
        country=_text(address, "Country/IdentificationCode", CODE_CHARS),
        email=_text(party, "Contact/ElectronicMail") or _with_scheme(_all(party, "EndpointID"), "EM", NAME_CHARS),
    )


def _ubl_line(line: Element, quantity_tag: str) -> Line:
    quantity = _one(line, quantity_tag)
    return Line(
        id=_text(line, "ID", ID_CHARS),
        name=_text(line, "Item/Name") or _text(line, "Item/Description"),
        quantity=_decimal(quantity.text if quantity is not None else None),
        unit_code=clean(quantity.get("unitCode") if quantity is not None else None, CODE_CHARS),
        unit_price=_decimal(_raw(line, "Price/PriceAmount")),
        net_amount=_decimal(_raw(line, "LineExtensionAmount")),
        vat_rate=_decimal(_raw(line, "Item/ClassifiedTaxCategory/Percent")),
        price_base_quantity=_decimal(_raw(line, "Price/BaseQuantity")),
    )


def _ubl_vat(subtotal: Element) -> VatRow:
    return VatRow(
        category=_text(subtotal, "TaxCategory/ID", CODE_CHARS),
        rate=_decimal(_raw(subtotal, "TaxCategory/Percent")),
        taxable_amount=_decimal(_raw(subtotal, "TaxableAmount")),
        tax_amount=_decimal(_raw(subtotal, "TaxAmount")),
        exemption_reason=_text(subtotal, "TaxCategory/TaxExemptionReason")
        or _text(subtotal, "TaxCategory/TaxExemptionReasonCode", CODE_CHARS),
    )


def _ubl_totals(total: Element | None, tax_total: Element | None) -> Totals:
    return Totals(
        line_total=_decimal(_raw(total, "LineExtensionAmount")),
        allowances=_decimal(_raw(total, "AllowanceTotalAmount")),
        charges=_decimal(_raw(total, "ChargeTotalAmount")),
        tax_exclusive=_decimal(_raw(total, "TaxExclusiveAmount")),
        tax_amount=_decimal(_raw(tax_total, "TaxAmount")),
        tax_inclusive=_decimal(_raw(total, "TaxInclusiveAmount")),
        prepaid=_decimal(_raw(total, "PrepaidAmount")),
        rounding=_decimal(_raw(total, "PayableRoundingAmount")),
        payable=_decimal(_raw(total, "PayableAmount")),
    )


def _ubl_payment(root: Element) -> Payment:
    means = _one(root, "PaymentMeans")
    code_element = _one(means, "PaymentMeansCode")
    code = clean(code_element.text if code_element is not None else None, CODE_CHARS)
    named = clean(code_element.get("name") if code_element is not None else None, NAME_CHARS)
    return Payment(
        terms=clean("\n".join(_texts(root, "PaymentTerms/Note", NOTE_CHARS, keep_lines=True)), NOTE_CHARS,
                    keep_lines=True),
        means_code=code,
        means_text=_means(code, named),
        ibans=tuple(dict.fromkeys(_texts(root, "PaymentMeans/PayeeFinancialAccount/ID", ID_CHARS))),
        bic=_text(root, "PaymentMeans/PayeeFinancialAccount/FinancialInstitutionBranch/ID", ID_CHARS),
        account_name=_text(root, "PaymentMeans/PayeeFinancialAccount/Name"),
        reference=_text(root, "PaymentMeans/PaymentID", ID_CHARS),
    )


# -- CII ----------------------------------------------------------------------------------------------------------


def _read_cii(root: Element) -> ReceivedInvoice:
    document = _one(root, "ExchangedDocument")
    transaction = _one(root, "SupplyChainTradeTransaction")
    agreement = _one(transaction, "ApplicableHeaderTradeAgreement")
    settlement = _one(transaction, "ApplicableHeaderTradeSettlement")
    type_code = _text(document, "TypeCode", CODE_CHARS)
    currency = _text(settlement, "InvoiceCurrencyCode", CODE_CHARS)
    return ReceivedInvoice(
        kind=_kind(type_code),
        syntax="CII",
        number=_text(document, "ID", ID_CHARS),
        type_code=type_code,
        issue_date=_date(_raw(document, "IssueDateTime/DateTimeString")),
        due_date=_date(_raw(settlement, "SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString")),
        currency=currency,
        buyer_reference=_text(agreement, "BuyerReference", ID_CHARS),
        order_reference=_text(agreement, "BuyerOrderReferencedDocument/IssuerAssignedID", ID_CHARS),
        preceding_invoice=_text(settlement, "InvoiceReferencedDocument/IssuerAssignedID", ID_CHARS),
        seller=_cii_party(_one(agreement, "SellerTradeParty")),
        buyer=_cii_party(_one(agreement, "BuyerTradeParty")),
        lines=tuple(_cii_line(item) for item in _all(transaction, "IncludedSupplyChainTradeLineItem")),
        vat=tuple(_cii_vat(tax) for tax in _all(settlement, "ApplicableTradeTax")),
        totals=_cii_totals(_one(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation"), currency),
        payment=_cii_payment(settlement),
        notes=tuple(_note(note) for note in _texts(document, "IncludedNote/Content", NOTE_CHARS, keep_lines=True)),
        attachments=_attachments(_all(agreement, "AdditionalReferencedDocument"), "AttachmentBinaryObject",
                                 ("Name", "IssuerAssignedID")),
    )


def _cii_party(party: Element | None) -> Party:
    if party is None:
        return Party()
    name = _text(party, "Name")
    trading_name = _text(party, "SpecifiedLegalOrganization/TradingBusinessName")
    address = _one(party, "PostalTradeAddress")
    lines = [_text(address, "LineOne"), _text(address, "LineTwo"), _text(address, "LineThree"),
             _place(_text(address, "PostcodeCode", CODE_CHARS), _text(address, "CityName")),
             _text(address, "CountrySubDivisionName")]
    registrations = _all(party, "SpecifiedTaxRegistration/ID")
    return Party(
        name=name or trading_name,
        trading_name=trading_name if trading_name != (name or trading_name) else None,
        vat_id=_with_scheme(registrations, "VA"),
        tax_number=_with_scheme(registrations, "FC"),
        gln=_with_scheme(_all(party, "GlobalID") + _all(party, "URIUniversalCommunication/URIID"), "0088"),
        organisation_number=_text(party, "SpecifiedLegalOrganization/ID", ID_CHARS),
        address_lines=tuple(line for line in lines if line),
        country=_text(address, "CountryID", CODE_CHARS),
        email=_text(party, "DefinedTradeContact/EmailURIUniversalCommunication/URIID")
        or _with_scheme(_all(party, "URIUniversalCommunication/URIID"), "EM", NAME_CHARS),
    )


def _cii_line(item: Element) -> Line:
    quantity = _one(item, "SpecifiedLineTradeDelivery/BilledQuantity")
    price = _one(item, "SpecifiedLineTradeAgreement/NetPriceProductTradePrice")
    return Line(
        id=_text(item, "AssociatedDocumentLineDocument/LineID", ID_CHARS),
        name=_text(item, "SpecifiedTradeProduct/Name") or _text(item, "SpecifiedTradeProduct/Description"),
        quantity=_decimal(quantity.text if quantity is not None else None),
        unit_code=clean(quantity.get("unitCode") if quantity is not None else None, CODE_CHARS),
        unit_price=_decimal(_raw(price, "ChargeAmount")),
        net_amount=_decimal(_raw(item, "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/"
                                       "LineTotalAmount")),
        vat_rate=_decimal(_raw(item, "SpecifiedLineTradeSettlement/ApplicableTradeTax/RateApplicablePercent")),
        price_base_quantity=_decimal(_raw(price, "BasisQuantity")),
    )


def _cii_vat(tax: Element) -> VatRow:
    return VatRow(
        category=_text(tax, "CategoryCode", CODE_CHARS),
        rate=_decimal(_raw(tax, "RateApplicablePercent")),
        taxable_amount=_decimal(_raw(tax, "BasisAmount")),
        tax_amount=_decimal(_raw(tax, "CalculatedAmount")),
        exemption_reason=_text(tax, "ExemptionReason") or _text(tax, "ExemptionReasonCode", CODE_CHARS),
    )


def _cii_totals(summation: Element | None, currency: str | None) -> Totals:
    tax = _in_currency(_all(summation, "TaxTotalAmount"), currency)
    return Totals(
        line_total=_decimal(_raw(summation, "LineTotalAmount")),
        allowances=_decimal(_raw(summation, "AllowanceTotalAmount")),
        charges=_decimal(_raw(summation, "ChargeTotalAmount")),
        tax_exclusive=_decimal(_raw(summation, "TaxBasisTotalAmount")),
        tax_amount=_decimal(tax.text if tax is not None else None),
        tax_inclusive=_decimal(_raw(summation, "GrandTotalAmount")),
        prepaid=_decimal(_raw(summation, "TotalPrepaidAmount")),
        rounding=_decimal(_raw(summation, "RoundingAmount")),
        payable=_decimal(_raw(summation, "DuePayableAmount")),
    )


def _cii_payment(settlement: Element | None) -> Payment:
    means = _one(settlement, "SpecifiedTradeSettlementPaymentMeans")
    code = _text(means, "TypeCode", CODE_CHARS)
    accounts = "SpecifiedTradeSettlementPaymentMeans/PayeePartyCreditorFinancialAccount"
    return Payment(
        terms=clean("\n".join(_texts(settlement, "SpecifiedTradePaymentTerms/Description", NOTE_CHARS,
                                     keep_lines=True)), NOTE_CHARS, keep_lines=True),
        means_code=code,
        means_text=_means(code, _text(means, "Information")),
        ibans=tuple(dict.fromkeys([*_texts(settlement, f"{accounts}/IBANID", ID_CHARS),
                                   *_texts(settlement, f"{accounts}/ProprietaryID", ID_CHARS)])),
        bic=_text(settlement, "SpecifiedTradeSettlementPaymentMeans/PayeeSpecifiedCreditorFinancialInstitution/BICID",
                  ID_CHARS),
        account_name=_text(settlement, f"{accounts}/AccountName"),
        reference=_text(settlement, "PaymentReference", ID_CHARS),
    )
