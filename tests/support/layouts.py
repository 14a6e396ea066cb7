"""The repository's 55 e-invoices printed through deliberately different layouts and languages, with ground truth.

A generality check for the invoice reader: the printed corpus comes from a handful of producers,
so a reader can pass it by knowing their habits.  Here every EN 16931 e-invoice of
``tests/data/corpus/einvoices`` (UBL and CII, Apache-2.0, see the NOTICE there) is read with a
small namespaced ElementTree reader of this module (independent of the product's readers) and
drawn with reportlab into a PDF through one of ten layouts (``LAYOUTS``) in one of eleven
languages (``LANGUAGES``: our own label tables, test data, not the product's).  The ground truth
(``Rendered.truth``) is what the page prints, derived from the XML:

* ``invoice_number``, ``issue_date`` (BT-2), ``due_date`` (BT-9, ``None`` when the XML has none:
  then no due date is printed, and free-text payment terms are never printed either),
  ``currency``, ``seller``/``buyer`` (names as printed), ``seller_vat``/``buyer_vat`` (printed when
  the XML has them), ``credit_note`` (document type 381 and the other credit-note codes);
* ``total``: the invoice total with VAT (BT-112, as the product's Factur-X truth defines it),
  *signed as printed*: a credit note is printed with negative amounts by the layouts whose
  ``credit_negative`` is true and with positive amounts under its credit-note title by the others;
* extra keys: ``amount_due`` (BT-115, signed as printed; it differs from the total when
  something was prepaid, and then both are printed, each under its own label),
  ``type_code`` and ``seller_in_text`` (false where the seller's name is only an image).

Everything is deterministic: layouts and languages are assigned round-robin over the sorted
file names (``assignments()``), and the per-document variant (which date and number style of the
language) comes from a CRC of the file name.  ``Rendered`` also records the date and number
style each PDF used and the exact strings printed for the scored fields (``printed``).

Polish text needs DejaVu (``fonts-dejavu-core``, a product dependency): any string outside
Windows-1252 is drawn with the DejaVu face of the layout's family, the rest with the standard
PDF fonts (Helvetica, Times, Courier).
"""

from __future__ import annotations

import datetime as dt
import functools
import textwrap
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from tests.support.harness import CORPUS

EINVOICES = CORPUS / "einvoices"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

#: UNTDID 1001 document types that EN 16931 treats as credit notes.
CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})


# -- the e-invoice ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    name: str
    vat_id: str | None
    tax_number: str | None
    ident: str | None
    street: tuple[str, ...]
    postcode: str
    city: str
    country: str

    def __post_init__(self) -> None:
        if self.ident == self.name:  # one sample repeats the name as the party's identifier
            object.__setattr__(self, "ident", None)

    def address(self) -> list[str]:
        place = f"{self.postcode} {self.city}".strip()
        return [*self.street, *([place] if place else []), *([self.country] if self.country else [])]


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    price: Decimal | None
    amount: Decimal
    rate: Decimal | None


@dataclass(frozen=True)
class VatRow:
    category: str
    rate: Decimal | None
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True)
class EInvoice:
    """The fields of one UBL or CII e-invoice that the layouts print."""

    source: str
    syntax: str
    number: str
    type_code: str
    issue_date: dt.date
    due_date: dt.date | None
    delivery_date: dt.date | None
    currency: str
    seller: Party
    buyer: Party
    order_ref: str | None
    buyer_ref: str | None
    iban: str | None
    lines: tuple[Line, ...]
    vat: tuple[VatRow, ...]
    line_total: Decimal
    tax_basis: Decimal
    tax_total: Decimal
    grand_total: Decimal
    prepaid: Decimal
    payable: Decimal

    @property
    def credit_note(self) -> bool:
        return self.type_code in CREDIT_NOTE_CODES


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    joined = " ".join(text.split())
    return joined or None


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    return _clean(found.text) if found is not None else None


def _decimal(element: ET.Element | None, path: str, currency: str | None = None) -> Decimal | None:
    """The amount at ``path``; with ``currency``, the first one in that currency (or without currencyID)."""
    if element is None:
        return None
    for found in element.findall(path):
        if currency is not None and found.get("currencyID") not in (None, currency):
            continue
        value = _clean(found.text)
        if value is not None:
            return Decimal(value)
    return None


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    digits = value.replace("-", "")[:8]
    return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _parse(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()  # the corpus files are trusted test data
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = element.tag.rpartition("}")[2]
    return root


def read_einvoice(path: Path) -> EInvoice:
    """Read a UBL Invoice/CreditNote or a CII CrossIndustryInvoice (namespaces ignored)."""
    root = _parse(path)
    if root.tag in ("Invoice", "CreditNote"):
        return _read_ubl(root, path.name)
    if root.tag == "CrossIndustryInvoice":
        return _read_cii(root, path.name)
    raise ValueError(f"{path.name}: neither UBL nor CII (root element {root.tag})")


def _required(value: Any, what: str, source: str) -> Any:
    if value is None:
        raise ValueError(f"{source}: no {what}")
    return value


def _ubl_party(party: ET.Element | None) -> Party:
    vat = tax = None
    for scheme in party.findall("PartyTaxScheme") if party is not None else []:
        company = _text(scheme, "CompanyID")
        if _text(scheme, "TaxScheme/ID") == "VAT":
            vat = vat or company
        else:
            tax = tax or company
    street = tuple(s for s in (_text(party, "PostalAddress/StreetName"),
                               _text(party, "PostalAddress/AdditionalStreetName"),
                               _text(party, "PostalAddress/AddressLine/Line")) if s)
    return Party(
        name=_text(party, "PartyName/Name") or _text(party, "PartyLegalEntity/RegistrationName") or "",
        vat_id=vat, tax_number=tax, ident=_text(party, "PartyIdentification/ID"), street=street,
        postcode=_text(party, "PostalAddress/PostalZone") or "", city=_text(party, "PostalAddress/CityName") or "",
        country=_text(party, "PostalAddress/Country/IdentificationCode") or "")


def _read_ubl(root: ET.Element, source: str) -> EInvoice:
    currency = _required(_text(root, "DocumentCurrencyCode"), "currency", source)
    totals = root.find("LegalMonetaryTotal")
    vat: list[VatRow] = []
    tax_total: Decimal | None = None
    for block in root.findall("TaxTotal"):
        amount = block.find("TaxAmount")
        if amount is None or amount.get("currencyID") not in (None, currency):
            continue  # a second TaxTotal may be in the tax currency
        tax_total = Decimal(_required(_clean(amount.text), "tax total", source))
        for sub in block.findall("TaxSubtotal"):
            percent = _text(sub, "TaxCategory/Percent")
            vat.append(VatRow(_text(sub, "TaxCategory/ID") or "", Decimal(percent) if percent else None,
                              _decimal(sub, "TaxableAmount") or Decimal(0), _decimal(sub, "TaxAmount") or Decimal(0)))
    lines = []
    for line in root.findall("InvoiceLine") + root.findall("CreditNoteLine"):
        quantity = _decimal(line, "InvoicedQuantity")
        if quantity is None:
            quantity = _decimal(line, "CreditedQuantity")
        rate = _text(line, "Item/ClassifiedTaxCategory/Percent")
        lines.append(Line(_text(line, "Item/Name") or _text(line, "Item/Description") or "",
                          quantity if quantity is not None else Decimal(1), _decimal(line, "Price/PriceAmount"),
                          _required(_decimal(line, "LineExtensionAmount"), "line amount", source),
                          Decimal(rate) if rate else None))
    grand = _required(_decimal(totals, "TaxInclusiveAmount"), "TaxInclusiveAmount", source)
    tax_basis = _required(_decimal(totals, "TaxExclusiveAmount"), "TaxExclusiveAmount", source)
    return EInvoice(
        source=source, syntax="UBL",
        number=_required(_text(root, "ID"), "invoice number", source),
        type_code=_text(root, "InvoiceTypeCode") or _text(root, "CreditNoteTypeCode") or "380",
        issue_date=_required(_date(_text(root, "IssueDate")), "issue date", source),
        due_date=_date(_text(root, "DueDate") or _text(root, "PaymentMeans/PaymentDueDate")),
        delivery_date=_date(_text(root, "Delivery/ActualDeliveryDate")),
        currency=currency,
        seller=_ubl_party(root.find("AccountingSupplierParty/Party")),
        buyer=_ubl_party(root.find("AccountingCustomerParty/Party")),
        order_ref=_text(root, "OrderReference/ID"), buyer_ref=_text(root, "BuyerReference"),
        iban=_text(root, "PaymentMeans/PayeeFinancialAccount/ID"),
        lines=tuple(lines), vat=tuple(vat),
        line_total=_decimal(totals, "LineExtensionAmount") or Decimal(0), tax_basis=tax_basis,
        tax_total=tax_total if tax_total is not None else grand - tax_basis, grand_total=grand,
        prepaid=_decimal(totals, "PrepaidAmount") or Decimal(0),
        payable=_required(_decimal(totals, "PayableAmount"), "PayableAmount", source))


def _cii_party(party: ET.Element | None) -> Party:
    vat = tax = None
    for registration in party.findall("SpecifiedTaxRegistration/ID") if party is not None else []:
        if registration.get("schemeID") == "VA":
            vat = vat or _clean(registration.text)
        else:
            tax = tax or _clean(registration.text)
    address = party.find("PostalTradeAddress") if party is not None else None
    street = tuple(s for s in (_text(address, "LineOne"), _text(address, "LineTwo"), _text(address, "LineThree")) if s)
    return Party(name=_text(party, "Name") or "", vat_id=vat, tax_number=tax, ident=_text(party, "ID"), street=street,
                 postcode=_text(address, "PostcodeCode") or "", city=_text(address, "CityName") or "",
                 country=_text(address, "CountryID") or "")


def _read_cii(root: ET.Element, source: str) -> EInvoice:
    document = root.find("ExchangedDocument")
    transaction = _required(root.find("SupplyChainTradeTransaction"), "transaction", source)
    agreement = transaction.find("ApplicableHeaderTradeAgreement")
    settlement = transaction.find("ApplicableHeaderTradeSettlement")
    currency = _required(_text(settlement, "InvoiceCurrencyCode"), "currency", source)
    sums = settlement.find("SpecifiedTradeSettlementHeaderMonetarySummation") if settlement is not None else None
    due = None
    for terms in settlement.findall("SpecifiedTradePaymentTerms") if settlement is not None else []:
        due = due or _date(_text(terms, "DueDateDateTime/DateTimeString"))
    vat = []
    for tax in settlement.findall("ApplicableTradeTax") if settlement is not None else []:
        rate = _text(tax, "RateApplicablePercent")
        vat.append(VatRow(_text(tax, "CategoryCode") or "", Decimal(rate) if rate else None,
                          _decimal(tax, "BasisAmount") or Decimal(0), _decimal(tax, "CalculatedAmount") or Decimal(0)))
    lines = []
    for item in transaction.findall("IncludedSupplyChainTradeLineItem"):
        rate = _text(item, "SpecifiedLineTradeSettlement/ApplicableTradeTax/RateApplicablePercent")
        quantity = _decimal(item, "SpecifiedLineTradeDelivery/BilledQuantity")
        lines.append(Line(
            _text(item, "SpecifiedTradeProduct/Name") or "", quantity if quantity is not None else Decimal(1),
            _decimal(item, "SpecifiedLineTradeAgreement/NetPriceProductTradePrice/ChargeAmount"),
            _required(_decimal(item, "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/"
                                     "LineTotalAmount"), "line amount", source),
            Decimal(rate) if rate else None))
    grand = _required(_decimal(sums, "GrandTotalAmount", currency), "GrandTotalAmount", source)
    tax_basis = _required(_decimal(sums, "TaxBasisTotalAmount"), "TaxBasisTotalAmount", source)
    tax_total = _decimal(sums, "TaxTotalAmount", currency)
    return EInvoice(
        source=source, syntax="CII",
        number=_required(_text(document, "ID"), "invoice number", source),
        type_code=_text(document, "TypeCode") or "380",
        issue_date=_required(_date(_text(document, "IssueDateTime/DateTimeString")), "issue date", source),
        due_date=due,
        delivery_date=_date(_text(transaction, "ApplicableHeaderTradeDelivery/ActualDeliverySupplyChainEvent/"
                                               "OccurrenceDateTime/DateTimeString")),
        currency=currency,
        seller=_cii_party(agreement.find("SellerTradeParty") if agreement is not None else None),
        buyer=_cii_party(agreement.find("BuyerTradeParty") if agreement is not None else None),
        order_ref=_text(agreement, "BuyerOrderReferencedDocument/IssuerAssignedID"),
        buyer_ref=_text(agreement, "BuyerReference"),
        iban=_text(settlement, "SpecifiedTradeSettlementPaymentMeans/PayeePartyCreditorFinancialAccount/IBANID"),
        lines=tuple(lines), vat=tuple(vat),
        line_total=_decimal(sums, "LineTotalAmount") or Decimal(0), tax_basis=tax_basis,
        tax_total=tax_total if tax_total is not None else grand - tax_basis, grand_total=grand,
        prepaid=_decimal(sums, "TotalPrepaidAmount") or Decimal(0),
        payable=_required(_decimal(sums, "DuePayableAmount"), "DuePayableAmount", source))


# -- languages -------------------------------------------------------------------------------------


LABEL_KEYS = (
    "invoice", "credit_note", "corrected", "self_billed",
    "number", "number_short", "no", "dated", "date", "date_short", "due", "delivery", "customer_no", "order_no",
    "your_ref", "page", "seller", "buyer", "address", "vat_id", "your_vat", "tax_no",
    "pos", "description", "qty", "price", "amount", "rate",
    "subtotal", "adjustments", "vat", "net", "gross", "total", "prepaid", "amount_due",
    "pay_by", "thanks", "salutation", "intro",
)


@dataclass(frozen=True)
class Language:
    """One language's labels, month names, date templates and number styles (first = the usual one).

    Date templates use ``{d} {dd} {m} {mm} {yyyy} {month} {mon}``; a number style is written as
    the number 1234.56 looks in it (``"1.234,56"``, ``"1 234,56"``, ``"1'234.56"``...).
    """

    code: str
    labels: Mapping[str, str]
    months: tuple[str, ...]
    dates: tuple[str, ...]
    numbers: tuple[str, ...]
    symbol_first: bool = False

    def __post_init__(self) -> None:
        missing = set(LABEL_KEYS) - set(self.labels)
        assert not missing, f"{self.code}: labels missing: {sorted(missing)}"
        assert len(self.months) == 12, self.code

    def __getitem__(self, key: str) -> str:
        return self.labels[key]


def _labels(*values: str) -> dict[str, str]:
    assert len(values) == len(LABEL_KEYS), (len(values), values[:2])
    return dict(zip(LABEL_KEYS, values, strict=True))


LANGUAGES: dict[str, Language] = {
    "de": Language("de", _labels(
        "Rechnung", "Gutschrift", "Rechnungskorrektur", "Selbstfakturierte Rechnung",
        "Rechnungsnummer", "Rechnung Nr.", "Nr.", "vom", "Rechnungsdatum", "Datum", "Fällig am", "Lieferdatum",
        "Kundennummer", "Bestellnummer", "Ihre Referenz", "Seite", "Lieferant", "Rechnungsempfänger", "Anschrift",
        "USt-IdNr.", "Ihre USt-IdNr.", "Steuernummer",
        "Pos.", "Bezeichnung", "Menge", "Einzelpreis", "Betrag", "USt %",
        "Summe netto", "Zu-/Abschläge", "USt", "Netto", "Brutto", "Gesamtbetrag", "Bereits gezahlt", "Zahlbetrag",
        "Zahlbar bis", "Vielen Dank für Ihren Auftrag.", "Sehr geehrte Damen und Herren,",
        "wir berechnen Ihnen folgende Lieferungen und Leistungen:"),
        ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November",
         "Dezember"),
        ("{dd}.{mm}.{yyyy}", "{d}.{m}.{yyyy}", "{d}. {month} {yyyy}"), ("1.234,56", "1.234,56", "1'234.56")),
    "en": Language("en", _labels(
        "Invoice", "Credit Note", "Corrected Invoice", "Self-billed Invoice",
        "Invoice number", "Invoice #", "No.", "dated", "Invoice date", "Date", "Due date", "Delivery date",
        "Customer No.", "Order No.", "Your reference", "Page", "From", "Bill To", "Address",
        "VAT Reg. No.", "Your VAT No.", "Tax No.",
        "#", "Description", "Qty", "Unit price", "Amount", "VAT %",
        "Subtotal", "Allowances/charges", "VAT", "Net", "Gross", "Total", "Amount Paid", "Balance Due",
        "Payment due by", "Thank you for your business.", "Dear Sir or Madam,", "we invoice you as follows:"),
        ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
         "November", "December"),
        ("{d} {mon} {yyyy}", "{dd}/{mm}/{yyyy}", "{d} {month} {yyyy}", "{yyyy}-{mm}-{dd}"), ("1,234.56",),
        symbol_first=True),
    "fr": Language("fr", _labels(
        "Facture", "Avoir", "Facture rectificative", "Autofacture",
        "Numéro de facture", "Facture n°", "n°", "du", "Date de facture", "Date", "Date d'échéance",
        "Date de livraison", "N° client", "N° de commande", "Votre référence", "Page", "Fournisseur", "Client",
        "Adresse", "N° TVA intracom.", "Votre N° TVA", "N° fiscal",
        "N°", "Désignation", "Qté", "PU HT", "Montant HT", "TVA %",
        "Total HT", "Remises/frais", "TVA", "HT", "TTC", "Total TTC", "Acompte versé", "Net à payer",
        "À régler avant le", "Merci de votre confiance.", "Madame, Monsieur,",
        "veuillez trouver ci-dessous le détail de notre facturation :"),
        ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
         "novembre", "décembre"),
        ("{dd}/{mm}/{yyyy}", "{d} {month} {yyyy}", "{dd}.{mm}.{yyyy}"), ("1 234,56", "1\u00a0234,56", "1.234,56")),
    "nl": Language("nl", _labels(
        "Factuur", "Creditnota", "Gecorrigeerde factuur", "Zelffactuur",
        "Factuurnummer", "Factuur nr.", "nr.", "van", "Factuur datum", "Datum", "Vervaldatum", "Leverdatum",
        "Klant", "Order", "Uw referentie", "Pagina", "Leverancier", "Factuuradres", "Adres",
        "BTW-nummer", "Uw BTW-nummer", "Fiscaal nummer",
        "Nr.", "Omschrijving", "Aantal", "Prijs", "Bedrag", "BTW %",
        "Subtotaal", "Kortingen/toeslagen", "BTW", "Netto", "Bruto", "Factuur totaal", "Reeds betaald", "Te betalen",
        "Te betalen vóór", "Bedankt voor uw bestelling.", "Geachte heer/mevrouw,",
        "hierbij factureren wij u het volgende:"),
        ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
         "november", "december"),
        ("{d}-{m}-{yyyy}", "{dd}-{mm}-{yyyy}", "{d} {month} {yyyy}"), ("1.234,56",), symbol_first=True),
    "sv": Language("sv", _labels(
        "Faktura", "Kreditfaktura", "Korrigerad faktura", "Självfaktura",
        "Fakturanummer", "Faktura nr", "nr", "daterad", "Fakturadatum", "Datum", "Förfallodatum", "Leveransdatum",
        "Kundnummer", "Ordernummer", "Er referens", "Sida", "Säljare", "Fakturaadress", "Adress",
        "Momsreg.nr", "Ert momsreg.nr", "Skattenummer",
        "Rad", "Beskrivning", "Antal", "À-pris", "Belopp", "Moms %",
        "Summa exkl. moms", "Rabatter/avgifter", "Moms", "Netto", "Brutto", "Totalt", "Redan betalt", "Att betala",
        "Betalas senast", "Tack för din beställning!", "Hej,", "vi fakturerar härmed följande:"),
        ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
         "november", "december"),
        ("{yyyy}-{mm}-{dd}", "{d} {month} {yyyy}"), ("1 234,56",)),
    "es": Language("es", _labels(
        "Factura", "Nota de crédito", "Factura rectificativa", "Autofactura",
        "Número de factura", "Factura n.º", "n.º", "de fecha", "Fecha de factura", "Fecha", "Fecha de vencimiento",
        "Fecha de entrega", "N.º de cliente", "N.º de pedido", "Su referencia", "Página", "Emisor", "Cliente",
        "Dirección", "NIF-IVA", "Su NIF-IVA", "N.º fiscal",
        "N.º", "Descripción", "Cantidad", "Precio unitario", "Importe", "% IVA",
        "Base imponible", "Descuentos/recargos", "IVA", "Base", "Total", "Total factura", "Anticipo",
        "Total a pagar",
        "Vencimiento", "Gracias por su confianza.", "Estimado cliente:", "le facturamos lo siguiente:"),
        ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre"),
        ("{dd}/{mm}/{yyyy}", "{d} de {month} de {yyyy}", "{dd}-{mm}-{yyyy}"), ("1.234,56",)),
    "it": Language("it", _labels(
        "Fattura", "Nota di credito", "Fattura rettificativa", "Autofattura",
        "Numero fattura", "Fattura n.", "n.", "del", "Data fattura", "Data", "Data scadenza", "Data consegna",
        "Codice cliente", "Numero ordine", "Vs. riferimento", "Pagina", "Fornitore", "Cliente", "Indirizzo",
        "Partita IVA", "Vs. Partita IVA", "Codice fiscale",
        "N.", "Descrizione", "Quantità", "Prezzo unitario", "Importo", "IVA %",
        "Totale imponibile", "Sconti/maggiorazioni", "IVA", "Imponibile", "Totale", "Totale documento", "Acconto",
        "Totale da pagare",
        "Scadenza pagamento", "Grazie per averci scelto.", "Spettabile cliente,", "vi addebitiamo quanto segue:"),
        ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre",
         "novembre", "dicembre"),
        ("{dd}/{mm}/{yyyy}", "{d} {month} {yyyy}"), ("1.234,56",)),
    "pl": Language("pl", _labels(
        "Faktura", "Nota kredytowa", "Faktura korygująca", "Faktura (samofakturowanie)",
        "Nr faktury", "Faktura nr", "nr", "z dnia", "Data wystawienia", "Data", "Termin płatności", "Data dostawy",
        "Nr klienta", "Nr zamówienia", "Wasz znak", "Strona", "Sprzedawca", "Nabywca", "Adres",
        "NIP", "NIP nabywcy", "Nr podatkowy",
        "Lp.", "Nazwa towaru lub usługi", "Ilość", "Cena netto", "Wartość netto", "Stawka VAT",
        "Razem netto", "Rabaty/narzuty", "VAT", "Netto", "Brutto", "Razem brutto", "Zapłacono", "Do zapłaty",
        "Prosimy o zapłatę do", "Dziękujemy za zamówienie.", "Szanowni Państwo,",
        "fakturujemy następujące pozycje:"),
        ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
         "października", "listopada", "grudnia"),
        ("{dd}.{mm}.{yyyy}", "{yyyy}-{mm}-{dd}", "{d} {month} {yyyy}"), ("1 234,56",)),
    "da": Language("da", _labels(
        "Faktura", "Kreditnota", "Korrigeret faktura", "Selvfaktura",
        "Fakturanummer", "Faktura nr.", "nr.", "dateret", "Fakturadato", "Dato", "Forfaldsdato", "Leveringsdato",
        "Kundenummer", "Ordrenummer", "Jeres reference", "Side", "Sælger", "Faktureres til", "Adresse",
        "CVR/momsnr.", "Jeres momsnr.", "Skattenr.",
        "Nr.", "Beskrivelse", "Antal", "Enhedspris", "Beløb", "Moms %",
        "Subtotal", "Rabatter/gebyrer", "Moms", "Netto", "Brutto", "I alt", "Forudbetalt", "At betale",
        "Betales senest", "Tak for handlen.", "Kære kunde,", "vi fakturerer hermed følgende:"),
        ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
         "november", "december"),
        ("{dd}.{mm}.{yyyy}", "{dd}-{mm}-{yyyy}", "{d}. {month} {yyyy}"), ("1.234,56",)),
    "fi": Language("fi", _labels(
        "Lasku", "Hyvityslasku", "Korjattu lasku", "Itselaskutuslasku",
        "Laskun numero", "Lasku nro", "nro", "päivätty", "Laskun päivämäärä", "Päiväys", "Eräpäivä",
        "Toimituspäivä", "Asiakasnumero", "Tilausnumero", "Viitteenne", "Sivu", "Myyjä", "Laskutusosoite", "Osoite",
        "ALV-tunniste", "ALV-tunnisteenne", "Verotunniste",
        "Nro", "Kuvaus", "Määrä", "A-hinta", "Summa", "ALV %",
        "Veroton yhteensä", "Alennukset/lisät", "ALV", "Veroton", "Verollinen", "Yhteensä", "Ennakkomaksu",
        "Maksettava",
        "Maksettava viimeistään", "Kiitos tilauksestanne.", "Hyvä asiakas,", "laskutamme seuraavaa:"),
        ("tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta", "kesäkuuta", "heinäkuuta",
         "elokuuta", "syyskuuta", "lokakuuta", "marraskuuta", "joulukuuta"),
        ("{d}.{m}.{yyyy}", "{dd}.{mm}.{yyyy}"), ("1 234,56",)),
    "no": Language("no", _labels(
        "Faktura", "Kreditnota", "Korrigert faktura", "Selvfaktura",
        "Fakturanummer", "Faktura nr.", "nr.", "datert", "Fakturadato", "Dato", "Forfallsdato", "Leveringsdato",
        "Kundenummer", "Ordrenummer", "Deres referanse", "Side", "Selger", "Fakturaadresse", "Adresse",
        "MVA-nr.", "Deres MVA-nr.", "Skattenr.",
        "Nr.", "Beskrivelse", "Antall", "Enhetspris", "Beløp", "MVA %",
        "Sum eks. MVA", "Rabatter/gebyrer", "MVA", "Netto", "Brutto", "Sum inkl. MVA", "Forskuddsbetalt",
        "Å betale",
        "Betales innen", "Takk for handelen.", "Hei,", "vi fakturerer med dette følgende:"),
        ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
         "november", "desember"),
        ("{dd}.{mm}.{yyyy}", "{d}. {month} {yyyy}"), ("1 234,56",)),
}

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def format_number(value: Decimal, style: str, places: int = 2, *, grouping: bool = True) -> str:
    """``abs(value)`` rounded to ``places`` in ``style`` (see ``Language``); the caller adds the sign."""
    group = "" if style[1].isdigit() else style[1]
    point = style[-3]
    rounded = abs(value).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    integer, _, fraction = f"{rounded:f}".partition(".")
    if grouping and group:
        head = len(integer) % 3 or 3
        integer = group.join([integer[:head]] + [integer[i:i + 3] for i in range(head, len(integer), 3)])
    return integer + (point + fraction if places else "")


def format_date(value: dt.date, template: str, language: Language) -> str:
    month = language.months[value.month - 1]
    return template.format(d=value.day, dd=f"{value.day:02d}", m=value.month, mm=f"{value.month:02d}",
                           yyyy=value.year, month=month, mon=month[:3])


def _places(value: Decimal, least: int = 0, most: int = 4) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(least, min(most, -exponent if isinstance(exponent, int) and exponent < 0 else 0))


# -- one document as a layout sees it --------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """An e-invoice with the formatting choices of one rendering: language, styles, sign of a credit note."""

    inv: EInvoice
    lang: Language
    date_style: str
    number_style: str
    negative: bool
    """True when this credit note is printed with negative amounts."""
    grouping: bool = True
    trailing_minus: bool = False

    @property
    def needs_unicode(self) -> bool:
        """Whether the language's labels or months need more than Windows-1252 (and so DejaVu throughout)."""
        return not all(_fits_winansi(text) for text in (*self.lang.labels.values(), *self.lang.months))

    @property
    def sign(self) -> int:
        return -1 if self.negative else 1

    def label(self, key: str) -> str:
        return self.lang[key]

    @property
    def title(self) -> str:
        code = self.inv.type_code
        key = ("credit_note" if self.inv.credit_note else "corrected" if code == "384"
               else "self_billed" if code == "389" else "invoice")
        return self.lang[key]

    @property
    def number(self) -> str:
        return self.inv.number

    @property
    def currency(self) -> str:
        return self.inv.currency

    @property
    def symbol(self) -> str:
        return CURRENCY_SYMBOLS.get(self.inv.currency, self.inv.currency)

    def date(self, value: dt.date, template: str | None = None) -> str:
        return format_date(value, template or self.date_style, self.lang)

    def _signed(self, value: Decimal, places: int = 2) -> str:
        text = format_number(value, self.number_style, places, grouping=self.grouping)
        if value.quantize(Decimal(1).scaleb(-places)) < 0:
            return text + "-" if self.trailing_minus else "-" + text
        return text

    def amount(self, value: Decimal, currency: str | None = None) -> str:
        """A money amount of the XML as printed: the credit-note sign applied; currency "code", "symbol" or none."""
        text = self._signed(value * self.sign)
        if currency is None:
            return text
        unit = self.currency if currency == "code" else self.symbol
        if self.lang.symbol_first:
            gap = "" if currency == "symbol" and self.lang.code == "en" else " "
            return f"-{unit}{gap}{text[1:]}" if text.startswith("-") else f"{unit}{gap}{text}"
        return f"{text} {unit}"

    def price(self, value: Decimal | None) -> str:
        return "" if value is None else self._signed(value, _places(value, 2))

    def qty(self, value: Decimal) -> str:
        return self._signed(value, _places(value))

    def rate(self, value: Decimal | None) -> str:
        return "" if value is None else f"{self._signed(value, _places(value))} %"

    @property
    def total(self) -> Decimal:
        return (self.inv.grand_total * self.sign).quantize(Decimal("0.01"))

    @property
    def amount_due(self) -> Decimal:
        return (self.inv.payable * self.sign).quantize(Decimal("0.01"))

    @property
    def prepaid(self) -> bool:
        return self.inv.prepaid != 0 or self.inv.payable != self.inv.grand_total

    def rows(self) -> list[dict[str, str]]:
        return [{"pos": str(i), "description": line.description, "qty": self.qty(line.quantity),
                 "price": self.price(line.price), "amount": self.amount(line.amount), "rate": self.rate(line.rate)}
                for i, line in enumerate(self.inv.lines, 1)]

    def vat_label(self, row: VatRow) -> str:
        return f"{self.lang['vat']} {self.rate(row.rate)}".strip() if row.rate is not None else self.lang["vat"]

    def totals(self, *, total_label: str | None = None, currency: str | None = None) -> list[tuple[str, str, bool]]:
        """(label, amount, bold) rows: net, VAT per rate, total, and prepaid/amount due when they differ."""
        inv = self.inv
        rows: list[tuple[str, str, bool]] = []
        adjustments = inv.tax_basis - inv.line_total
        if adjustments and inv.lines:
            rows.append((self.lang["net"], self.amount(inv.line_total), False))
            rows.append((self.lang["adjustments"], self.amount(adjustments), False))
        rows.append((self.lang["subtotal"], self.amount(inv.tax_basis), False))
        for row in inv.vat:
            rows.append((self.vat_label(row), self.amount(row.tax), False))
        rows.append((total_label or self.lang["total"], self.amount(inv.grand_total, currency), True))
        if self.prepaid:
            rows.append((self.lang["prepaid"], self.amount(-inv.prepaid), False))
            rows.append((self.lang["amount_due"], self.amount(inv.payable, currency), True))
        return rows

    # identifiers a layout may print beside the invoice number (never equal to it)
    @property
    def customer_no(self) -> str:
        return self.inv.buyer.ident or f"K{zlib.crc32(self.inv.source.encode()) % 100000:05d}"

    @property
    def order_no(self) -> str:
        return self.inv.order_ref or f"SO{zlib.crc32(self.inv.source.encode()[::-1]) % 10**8:08d}"


# -- drawing helpers -------------------------------------------------------------------------------

FAMILIES = {
    "Helvetica": ("Helvetica", "Helvetica-Bold", "DejaVuSans", "DejaVuSans-Bold"),
    "Times": ("Times-Roman", "Times-Bold", "DejaVuSerif", "DejaVuSerif-Bold"),
    "Courier": ("Courier", "Courier-Bold", "DejaVuSansMono", "DejaVuSansMono-Bold"),
}
BLACK = (0.0, 0.0, 0.0)
GREY = (0.45, 0.45, 0.45)
LIGHT = (0.92, 0.92, 0.92)


def unicode_fonts_available() -> bool:
    return all((DEJAVU / f"{name}.ttf").exists() for names in FAMILIES.values() for name in names[2:])


@functools.cache
def _unicode_font(name: str) -> str:
    path = DEJAVU / f"{name}.ttf"
    if not path.exists():
        raise RuntimeError(f"{path} is needed for text outside Windows-1252 (install fonts-dejavu-core)")
    pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


def _fits_winansi(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


class Pen:
    """Text and rules on a canvas in one font family; text outside Windows-1252 goes to DejaVu.

    With ``unicode`` (a language whose labels need it, Polish) the whole document uses DejaVu, so
    that a page does not mix two faces of a family.
    """

    def __init__(self, canvas: Canvas, family: str = "Helvetica", size: float = 9, *, unicode: bool = False) -> None:
        self.c, self.family, self.size, self.unicode = canvas, family, size, unicode

    def font(self, text: str, bold: bool = False, family: str | None = None) -> str:
        names = FAMILIES[family or self.family]
        if self.unicode or not _fits_winansi(text):
            return _unicode_font(names[2 + int(bold)])
        return names[int(bold)]

    def width(self, text: str, size: float | None = None, bold: bool = False, family: str | None = None) -> float:
        return float(pdfmetrics.stringWidth(text, self.font(text, bold, family), size or self.size))

    def text(self, x: float, y: float, text: str, size: float | None = None, *, bold: bool = False,
             align: str = "left", family: str | None = None, color: tuple[float, float, float] = BLACK) -> None:
        if not text:
            return
        self.c.setFont(self.font(text, bold, family), size or self.size)
        self.c.setFillColorRGB(*color)
        if align == "right":
            self.c.drawRightString(x, y, text)
        elif align == "center":
            self.c.drawCentredString(x, y, text)
        else:
            self.c.drawString(x, y, text)
        self.c.setFillColorRGB(*BLACK)

    def fit(self, text: str, width: float, size: float, bold: bool = False) -> float:
        """``size``, or the smaller size at which ``text`` fits in ``width``."""
        return min(size, size * width / max(self.width(text, size, bold), 1.0))

    def lines(self, x: float, y: float, texts: Iterable[str], size: float | None = None, leading: float | None = None,
              **options: Any) -> float:
        """Draw ``texts`` downwards from ``y``; returns the baseline below the last one."""
        step = leading or (size or self.size) * 1.25
        for text in texts:
            self.text(x, y, text, size, **options)
            y -= step
        return y

    def wrap(self, text: str, width: float, size: float | None = None, bold: bool = False) -> list[str]:
        words, lines, current = text.split(), [], ""
        for word in words:
            candidate = f"{current} {word}".strip()
            if current and self.width(candidate, size, bold) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        return [*lines, current] if current else lines or [""]

    def rule(self, x1: float, y: float, x2: float, width: float = 0.5,
             color: tuple[float, float, float] = BLACK) -> None:
        self.c.setStrokeColorRGB(*color)
        self.c.setLineWidth(width)
        self.c.line(x1, y, x2, y)
        self.c.setStrokeColorRGB(*BLACK)

    def box(self, x: float, y: float, w: float, h: float, *, width: float = 0.5,
            fill: tuple[float, float, float] | None = None, stroke: bool = True) -> None:
        self.c.setLineWidth(width)
        if fill is not None:
            self.c.setFillColorRGB(*fill)
        self.c.rect(x, y, w, h, stroke=int(stroke), fill=int(fill is not None))
        self.c.setFillColorRGB(*BLACK)


@dataclass(frozen=True)
class Col:
    """A line-table column: the cell key of ``Doc.rows()``, its left edge, width and alignment."""

    key: str
    x: float
    width: float
    align: str = "left"
    header: str | None = None

    @property
    def anchor(self) -> float:
        return self.x + self.width if self.align == "right" else self.x


class Sheet:
    """Pages of one PDF: breaks a page when a block does not fit, with the layout's footer on each page."""

    def __init__(self, pen: Pen, doc: Doc, *, left: float, top: float, bottom: float,
                 footer: Callable[[int], None]) -> None:
        self.pen, self.doc, self.left, self.top, self.bottom, self.footer = pen, doc, left, top, bottom, footer
        self.page = 1

    def need(self, y: float, height: float) -> tuple[float, bool]:
        """``y`` if ``height`` fits above the bottom margin, else the top of a new page; and whether it broke."""
        if y - height >= self.bottom:
            return y, False
        self.footer(self.page)
        self.pen.c.showPage()
        self.page += 1
        self.pen.text(self.left, self.top, f"{self.doc.title} {self.doc.number} · {self.doc.label('page')} "
                                           f"{self.page}", 8, color=GREY)
        return self.top - 24, True

    def close(self) -> None:
        self.footer(self.page)
        self.pen.c.showPage()


def line_table(sheet: Sheet, y: float, cols: Sequence[Col], *, size: float = 8.5, leading: float | None = None,
               header_bold: bool = True, header_fill: tuple[float, float, float] | None = None,
               header_color: tuple[float, float, float] = BLACK, rules: bool = True, grid: bool = False,
               upper: bool = False) -> float:
    """The invoice lines under a header row; returns the y below the table."""
    pen, doc = sheet.pen, sheet.doc
    step = leading or size * 1.35
    left, right = cols[0].x - 3, cols[-1].x + cols[-1].width + 3

    def header(y: float) -> float:
        if header_fill is not None:
            pen.box(left, y - 4, right - left, step + 3, fill=header_fill, stroke=grid)
        for col in cols:
            text = col.header if col.header is not None else doc.label(col.key)
            text = text.upper() if upper else text
            pen.text(col.anchor, y, text, pen.fit(text, col.width - 4, size, header_bold), bold=header_bold,
                     align=col.align, color=header_color)
        if rules:
            pen.rule(left, y - 4, right, 0.7)
        return y - step - 4

    y = header(y)
    for row in doc.rows():
        described = next((c for c in cols if c.key == "description"), None)
        texts = pen.wrap(row["description"], described.width, size) if described else [""]
        height = step * len(texts) + 2
        y, broke = sheet.need(y, height)
        if broke:
            y = header(y)
        for col in cols:
            if col.key == "description":
                pen.lines(col.x, y, texts, size, step)
            else:
                pen.text(col.anchor, y, row[col.key], size, align=col.align)
        if grid:
            pen.box(left, y - height + step - 4, right - left, height, width=0.3)
        y -= height
    if rules and not grid:
        pen.rule(left, y + step - 5, right, 0.5)
    return y - 4


def totals_block(sheet: Sheet, y: float, rows: Sequence[tuple[str, str, bool]], *, label_x: float, value_x: float,
                 size: float = 9, step: float | None = None, label_align: str = "left", colon: bool = False,
                 keep: float = 0) -> float:
    """Label/amount rows; with ``keep``, that much room below them stays on the same page (closing text)."""
    pen = sheet.pen
    step = step or size * 1.45
    y, _ = sheet.need(y, step * len(rows) + 6 + keep)
    for label, value, bold in rows:
        if bold:
            pen.rule(label_x - (0 if label_align == "left" else 120), y + size + 1, value_x, 0.6)
        pen.text(label_x, y, label + (":" if colon else ""), size, bold=bold, align=label_align)
        pen.text(value_x, y, value, size, bold=bold, align="right")
        y -= step
    return y


def _vat_ids(doc: Doc, party: Party, label: str) -> list[str]:
    lines = []
    if party.vat_id:
        lines.append(f"{doc.label(label)} {party.vat_id}")
    if party.tax_number and label == "vat_id":
        lines.append(f"{doc.label('tax_no')} {party.tax_number}")
    return lines


# -- the layouts -----------------------------------------------------------------------------------

PAGE_W, PAGE_H = A4


def draw_din_letter(c: Canvas, d: Doc) -> None:
    """German business letter (DIN 5008): sender line over the address window, "Label: value" block at right."""
    pen = Pen(c, "Helvetica", 9.5, unicode=d.needs_unicode)
    inv, top, left, right = d.inv, PAGE_H, 25 * mm, PAGE_W - 20 * mm
    seller = inv.seller

    def footer(page: int) -> None:
        pen.rule(left, 22 * mm, right, 0.4, GREY)
        pen.lines(left, 18 * mm, [seller.name, *seller.address()[:3]], 7, 8.5, color=GREY)
        pen.lines(left + 60 * mm, 18 * mm, _vat_ids(d, seller, "vat_id"), 7, 8.5, color=GREY)
        pen.lines(left + 120 * mm, 18 * mm, [f"IBAN {inv.iban}"] if inv.iban else [], 7, 8.5, color=GREY)
        pen.text(right, 28 * mm, f"{d.label('page')} {page}", 7, align="right", color=GREY)

    pen.text(right, top - 22 * mm, seller.name, 16, bold=True, align="right")
    pen.lines(right, top - 28 * mm, seller.address(), 8.5, 10.5, align="right", color=GREY)
    for fold in (105, 210):
        pen.rule(4 * mm, top - fold * mm, 8 * mm, 0.3)
    pen.text(left, top - 50 * mm, " · ".join([seller.name, *seller.address()[:-1]]), 6.5)
    pen.rule(left, top - 51 * mm, left + pen.width(" · ".join([seller.name, *seller.address()[:-1]]), 6.5), 0.3)
    pen.lines(left, top - 58 * mm, [inv.buyer.name, *inv.buyer.address()], 10.5, 13)

    info: list[tuple[str, str]] = [(d.label("number"), d.number), (d.label("date"), d.date(inv.issue_date))]
    if inv.delivery_date:
        info.append((d.label("delivery"), d.date(inv.delivery_date)))
    if inv.buyer.ident:
        info.append((d.label("customer_no"), inv.buyer.ident))
    if inv.order_ref:
        info.append((d.label("order_no"), inv.order_ref))
    if inv.buyer.vat_id:
        info.append((d.label("your_vat"), inv.buyer.vat_id))
    if inv.due_date:
        info.append((d.label("due"), d.date(inv.due_date)))
    y = top - 52 * mm
    for label, value in info:
        pen.text(122 * mm, y, f"{label}:", 8.5)
        pen.text(158 * mm, y, value, 8.5)
        y -= 12
    y = min(y, top - 98 * mm) - 8
    pen.text(left, y, f"{d.title} {d.number}", 12.5, bold=True)
    y -= 24
    pen.text(left, y, d.label("salutation"), 9.5)
    pen.text(left, y - 13, d.label("intro"), 9.5)
    sheet = Sheet(pen, d, left=left, top=top - 20 * mm, bottom=34 * mm, footer=footer)
    y = line_table(sheet, y - 36, [
        Col("pos", left, 16), Col("description", left + 22, 220), Col("qty", left + 245, 40, "right"),
        Col("price", left + 290, 62, "right"), Col("rate", left + 356, 40, "right"),
        Col("amount", right - 62, 62, "right")], size=8.5)
    y = totals_block(sheet, y - 6, d.totals(currency="code"), label_x=left + 250, value_x=right, size=9, keep=40)
    y, _ = sheet.need(y - 10, 40)
    if inv.due_date:
        pen.text(left, y, f"{d.label('pay_by')} {d.date(inv.due_date)}.", 9.5)
        y -= 14
    pen.text(left, y, d.label("thanks"), 9.5)
    sheet.close()


def draw_erp_row(c: Canvas, d: Doc) -> None:
    """ERP print: labels ABOVE values in one row across the page (customer and order number beside the number)."""
    pen = Pen(c, "Helvetica", 8.5, unicode=d.needs_unicode)
    inv, top, left, right = d.inv, PAGE_H, 15 * mm, PAGE_W - 15 * mm

    def footer(page: int) -> None:
        parts = [inv.seller.name, *inv.seller.address()[:2], *_vat_ids(d, inv.seller, "vat_id")]
        if inv.iban:
            parts.append(f"IBAN {inv.iban}")
        pen.text(PAGE_W / 2, 12 * mm, "  |  ".join(parts), 6.5, align="center", color=GREY)
        pen.text(right, 18 * mm, f"{d.label('page')} {page}", 7, align="right")

    pen.text(left, top - 18 * mm, inv.seller.name, 13, bold=True)
    pen.text(left, top - 18 * mm - 12, ", ".join(inv.seller.address()), 7.5, color=GREY)
    pen.text(right, top - 18 * mm, d.title.upper(), 17, bold=True, align="right")
    pen.lines(left, top - 40 * mm, [inv.buyer.name, *inv.buyer.address()], 9.5, 12)

    heads = [(d.label("customer_no"), d.customer_no), (d.label("order_no"), d.order_no),
             (d.label("date"), d.date(inv.issue_date)), (d.title, d.number)]
    if inv.due_date:
        heads.append((d.label("due"), d.date(inv.due_date)))
    xs = [left, left + 36 * mm, left + 76 * mm, left + 108 * mm, left + 146 * mm]
    y = top - 82 * mm
    pen.rule(left, y + 12, right, 0.8)
    for x, (label, value) in zip(xs, heads, strict=False):
        pen.text(x, y, label, 8, bold=True)
        pen.text(x, y - 12, value, 9)
    extra = []
    if inv.buyer.vat_id:
        extra.append((d.label("your_vat"), inv.buyer.vat_id))
    if inv.buyer_ref:
        extra.append((d.label("your_ref"), inv.buyer_ref))
    if inv.delivery_date:
        extra.append((d.label("delivery"), d.date(inv.delivery_date)))
    y -= 32
    for x, (label, value) in zip(xs[::2], extra, strict=False):
        pen.text(x, y, label, 8, bold=True)
        pen.text(x, y - 12, value, 9)
    y -= 20 if extra else -12
    pen.rule(left, y, right, 0.8)
    sheet = Sheet(pen, d, left=left, top=top - 15 * mm, bottom=26 * mm, footer=footer)
    y = line_table(sheet, y - 16, [
        Col("description", left, 95 * mm), Col("qty", left + 98 * mm, 18 * mm, "right"),
        Col("price", left + 118 * mm, 22 * mm, "right"), Col("rate", left + 142 * mm, 14 * mm, "right"),
        Col("amount", right - 22 * mm, 22 * mm, "right")], size=8)
    rows = d.totals(total_label=f"{d.label('total')} {d.currency}")
    y = totals_block(sheet, y - 8, rows, label_x=left + 100 * mm, value_x=right, size=9, step=14)
    sheet.close()


def draw_info_box(c: Canvas, d: Doc) -> None:
    """Seller letterhead left, a framed two-column info box at top right (labels left, values right-aligned)."""
    pen = Pen(c, "Times", 10, unicode=d.needs_unicode)
    inv, top, left, right = d.inv, PAGE_H, 20 * mm, PAGE_W - 20 * mm

    def footer(page: int) -> None:
        pen.rule(left, 20 * mm, right, 0.3)
        pen.text(PAGE_W / 2, 15 * mm, d.label("thanks"), 9, align="center")
        pen.text(right, 10 * mm, f"{d.label('page')} {page}", 8, align="right")

    pen.text(left, top - 25 * mm, inv.seller.name, 18, bold=True)
    y = pen.lines(left, top - 25 * mm - 16, inv.seller.address(), 9.5, 11.5)
    pen.lines(left, y, _vat_ids(d, inv.seller, "vat_id") + ([f"IBAN {inv.iban}"] if inv.iban else []), 9, 11)

    box_x, box_w = 118 * mm, right - 118 * mm
    pen.text(right, top - 22 * mm, d.title, 15, bold=True, align="right")
    info = [(d.label("number"), d.number), (d.label("date"), d.date(inv.issue_date))]
    if inv.due_date:
        info.append((d.label("due"), d.date(inv.due_date)))
    if inv.buyer.ident:
        info.append((d.label("customer_no"), inv.buyer.ident))
    if inv.buyer_ref:
        info.append((d.label("your_ref"), inv.buyer_ref))
    box_h = 14 * len(info) + 8
    box_top = top - 27 * mm
    pen.box(box_x, box_top - box_h, box_w, box_h, width=0.8)
    y = box_top - 14
    for label, value in info:
        pen.text(box_x + 6, y, label, 9.5)
        pen.text(right - 6, y, value, 9.5, align="right")
        y -= 14

    y = min(y - 20, top - 72 * mm)
    pen.text(left, y, d.label("buyer"), 9, bold=True)
    y = pen.lines(left, y - 13, [inv.buyer.name, *inv.buyer.address(), *_vat_ids(d, inv.buyer, "your_vat")], 10, 12.5)
    sheet = Sheet(pen, d, left=left, top=top - 20 * mm, bottom=28 * mm, footer=footer)
    y = line_table(sheet, y - 24, [
        Col("pos", left, 18), Col("description", left + 24, 250), Col("qty", left + 276, 40, "right"),
        Col("price", left + 322, 62, "right"), Col("amount", right - 70, 70, "right")],
        size=9.5, header_fill=LIGHT)
    y = totals_block(sheet, y - 8, d.totals(currency="code"), label_x=right - 70, value_x=right, size=10,
                     label_align="right")
    sheet.close()


def draw_us_invoice(c: Canvas, d: Doc) -> None:
    """US letter size: big INVOICE title, "Invoice #", "Date:", "Bill To:", a shaded Balance Due box."""
    pen = Pen(c, "Helvetica", 9, unicode=d.needs_unicode)
    width, height = LETTER
    inv, top, left, right = d.inv, height, 0.75 * 72, width - 0.75 * 72

    def footer(page: int) -> None:
        pen.text(width / 2, 0.5 * 72, f"{d.label('page')} {page}", 7.5, align="center", color=GREY)

    pen.text(left, top - 72, inv.seller.name, 17, bold=True)
    pen.lines(left, top - 88, [*inv.seller.address(), *_vat_ids(d, inv.seller, "vat_id")], 9, 11.5, color=GREY)
    pen.text(right, top - 76, d.title.upper(), 30, align="right", color=(0.3, 0.3, 0.3))
    due_label = d.label("total") if inv.credit_note else d.label("amount_due")
    meta = [(f"{d.label('number_short')}", d.number), (f"{d.label('date_short')}:", d.date(inv.issue_date))]
    if inv.due_date:
        meta.append((f"{d.label('due')}:", d.date(inv.due_date)))
    y = top - 108
    for label, value in meta:
        pen.text(right - 150, y, label, 9.5, align="right", color=GREY)
        pen.text(right, y, value, 9.5, align="right")
        y -= 17
    pen.box(right - 250, y - 6, 250, 19, fill=LIGHT, stroke=False)
    pen.text(right - 150, y, f"{due_label}:", 10, bold=True, align="right")
    pen.text(right, y - 0.5, d.amount(inv.payable, "symbol"), 10, bold=True, align="right")

    pen.text(left, top - 190, f"{d.label('buyer')}:", 9.5, color=GREY)
    y = pen.lines(left, top - 205, [inv.buyer.name, *inv.buyer.address(), *_vat_ids(d, inv.buyer, "your_vat")],
                  10, 12.5)
    sheet = Sheet(pen, d, left=left, top=top - 54, bottom=72, footer=footer)
    y = line_table(sheet, min(y, top - 290) - 16, [
        Col("description", left + 4, 250, header="Item"), Col("qty", left + 262, 50, "right", header="Quantity"),
        Col("price", left + 318, 70, "right", header="Rate"), Col("amount", right - 74, 70, "right")],
        size=9, header_fill=(0.2, 0.2, 0.2), header_color=(1.0, 1.0, 1.0), rules=False, leading=16)
    money = d.totals(currency="symbol")
    if not d.prepaid and not inv.credit_note:
        money.append((d.label("amount_due"), d.amount(inv.payable, "symbol"), True))
    y = totals_block(sheet, y - 10, [(f"{label}:", value, bold) for label, value, bold in money],
                     label_x=right - 110, value_x=right, size=9.5, label_align="right", step=16, keep=50)
    y, _ = sheet.need(y - 20, 30)
    pen.text(left, y, "Notes:", 9, color=GREY)
    pen.text(left, y - 13, d.label("thanks"), 9)
    sheet.close()


def draw_vat_table(c: Canvas, d: Doc) -> None:
    """Pipe-separated header line; the total only as the last row of the VAT table (rate | net | VAT | gross)."""
    pen = Pen(c, "Times", 10, unicode=d.needs_unicode)
    inv, top, left, right = d.inv, PAGE_H, 18 * mm, PAGE_W - 18 * mm

    def footer(page: int) -> None:
        pen.text(left, 12 * mm, " – ".join([inv.seller.name, *_vat_ids(d, inv.seller, "vat_id")]), 7.5, color=GREY)
        pen.text(right, 12 * mm, f"{page}", 7.5, align="right", color=GREY)

    pen.text(PAGE_W / 2, top - 18 * mm, d.title, 20, bold=True, align="center")
    y = top - 32 * mm
    pen.text(left, y, d.label("seller"), 8, color=GREY)
    pen.lines(left, y - 12, [inv.seller.name, *inv.seller.address(), *_vat_ids(d, inv.seller, "vat_id")], 9.5, 11.5)
    pen.text(PAGE_W / 2 + 10 * mm, y, d.label("buyer"), 8, color=GREY)
    y = pen.lines(PAGE_W / 2 + 10 * mm, y - 12,
                  [inv.buyer.name, *inv.buyer.address(), *_vat_ids(d, inv.buyer, "your_vat")], 9.5, 11.5)
    y = min(y, top - 80 * mm) - 10
    parts = [f"{d.label('no')} {d.number}", f"{d.label('date_short')} {d.date(inv.issue_date)}"]
    if inv.due_date:
        parts.append(f"{d.label('due')} {d.date(inv.due_date)}")
    if inv.order_ref:
        parts.append(f"{d.label('order_no')} {inv.order_ref}")
    pen.rule(left, y + 12, right, 0.4)
    pen.text(left, y, "  |  ".join(parts), 9.5)
    pen.rule(left, y - 6, right, 0.4)
    sheet = Sheet(pen, d, left=left, top=top - 18 * mm, bottom=24 * mm, footer=footer)
    y = line_table(sheet, y - 26, [
        Col("pos", left, 16), Col("description", left + 20, 240), Col("qty", left + 262, 46, "right"),
        Col("price", left + 312, 66, "right"), Col("amount", right - 70, 70, "right")], size=9.5, rules=True)

    xs = [left + 150, left + 250, left + 330, right]
    y, _ = sheet.need(y - 14, 14 * len(inv.vat) + 90)
    for x, key in zip(xs, ("rate", "net", "vat", "gross"), strict=True):
        pen.text(x, y, d.label(key), 9, bold=True, align="right")
    pen.rule(left + 90, y - 4, right, 0.5)
    y -= 17
    for row in inv.vat:
        cells = [d.rate(row.rate) or row.category, d.amount(row.taxable), d.amount(row.tax),
                 d.amount(row.taxable + row.tax)]
        for x, cell in zip(xs, cells, strict=True):
            pen.text(x, y, cell, 9.5, align="right")
        y -= 14
    pen.rule(left + 90, y + 10, right, 0.9)
    last = [d.currency, d.amount(inv.tax_basis), d.amount(inv.tax_total), d.amount(inv.grand_total)]
    for x, cell in zip(xs, last, strict=True):
        pen.text(x, y - 2, cell, 10, bold=True, align="right")
    y -= 30
    if d.prepaid:
        pen.text(left, y, f"{d.label('prepaid')} {d.amount(inv.prepaid)} {d.currency} — "
                          f"{d.label('amount_due')} {d.amount(inv.payable)} {d.currency}", 9.5)
        y -= 16
    if inv.due_date:
        pen.text(left, y, f"{d.label('pay_by')} {d.date(inv.due_date)}", 9.5)
    sheet.close()


@functools.cache
def _logo_image(lines: tuple[str, ...]) -> Any:
    """The seller's name (and address) as a PNG-like image: no text layer for them."""
    from PIL import Image, ImageDraw, ImageFont

    scale = 4

    def font(bold: bool, size: int) -> Any:
        path = DEJAVU / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
        return ImageFont.truetype(str(path), size * scale) if path.exists() else ImageFont.load_default(size * scale)

    fonts = [font(True, 17)] + [font(False, 8)] * (len(lines) - 1)
    boxes = [f.getbbox(text) for f, text in zip(fonts, lines, strict=True)]
    width = max(box[2] for box in boxes) + 6 * scale
    heights = [(22 if i == 0 else 10) * scale for i in range(len(lines))]
    image = Image.new("RGB", (width, sum(heights) + 4 * scale), "white")
    draw = ImageDraw.Draw(image)
    y = 2 * scale
    for f, text, h, i in zip(fonts, lines, heights, range(len(lines)), strict=True):
        draw.text((2 * scale, y), text, font=f, fill=(20, 60, 120) if i == 0 else (90, 90, 90))
        y += h
    return image, scale


def draw_logo(c: Canvas, d: Doc) -> None:
    """The seller only as a logo image (name and address as pixels); its VAT id is the footer's only text of it."""
    pen = Pen(c, "Helvetica", 9, unicode=d.needs_unicode)
    inv, top, left, right = d.inv, PAGE_H, 18 * mm, PAGE_W - 18 * mm

    def footer(page: int) -> None:
        ids = _vat_ids(d, inv.seller, "vat_id")[:1] or [f"{d.label('tax_no')} {inv.seller.tax_number or ''}"]
        pen.rule(left, 16 * mm, right, 0.3, GREY)
        pen.text(PAGE_W / 2, 11 * mm, f"{ids[0]}  ·  {d.label('page')} {page}", 7.5, align="center", color=GREY)

    c.setFillColorRGB(0.08, 0.24, 0.47)
    c.circle(left + 9 * mm, top - 22 * mm, 8 * mm, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.rect(left + 5 * mm, top - 25 * mm, 8 * mm, 6 * mm, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    image, scale = _logo_image((inv.seller.name, *inv.seller.address()))
    w, h = image.size[0] / scale, image.size[1] / scale
    c.drawImage(ImageReader(image), left + 20 * mm, top - 14 * mm - h, w, h)

    pen.text(right, top - 20 * mm, d.title, 22, bold=True, align="right", color=(0.08, 0.24, 0.47))
    info = [(d.label("number"), d.number), (d.label("date"), d.date(inv.issue_date))]
    if inv.due_date:
        info.append((d.label("due"), d.date(inv.due_date)))
    if inv.order_ref:
        info.append((d.label("order_no"), inv.order_ref))
    y = top - 32 * mm
    for label, value in info:
        pen.text(right - 62 * mm, y, label, 8.5, color=GREY)
        pen.text(right - 28 * mm, y, value, 9, bold=True)
        y -= 13
    y = min(y, top - 58 * mm) - 10
    pen.text(left, y, d.label("buyer").upper(), 7.5, bold=True, color=GREY)
    y = pen.lines(left, y - 13, [inv.buyer.name, *inv.buyer.address(), *_vat_ids(d, inv.buyer, "your_vat")], 9.5, 12)
    sheet = Sheet(pen, d, left=left, top=top - 18 * mm, bottom=24 * mm, footer=footer)
    y = line_table(sheet, y - 22, [
        Col("description", left + 3, 270), Col("qty", left + 280, 44, "right"),
        Col("price", left + 330, 64, "right"), Col("amount", right - 66, 66, "right")],
        size=9, header_fill=(0.86, 0.9, 0.96), rules=False, upper=True, leading=15)
    y = totals_block(sheet, y - 10, d.totals(currency="symbol"), label_x=right - 190, value_x=right, size=9.5,
                     keep=24)
    if inv.iban:
        y, _ = sheet.need(y - 14, 14)
        pen.text(left, y, f"IBAN {inv.iban}", 8.5)
    sheet.close()


def draw_facture_fr(c: Canvas, d: Doc) -> None:
    """French invoice: "Facture n° … du 5 mars 2024", buyer in a framed box at right, "Net à payer" at the end."""
    pen = Pen(c, "Times", 10.5, unicode=d.needs_unicode)
    inv, top, left, right = d.inv, PAGE_H, 22 * mm, PAGE_W - 18 * mm

    def footer(page: int) -> None:
        pen.text(PAGE_W / 2, 16 * mm, " – ".join([inv.seller.name, *inv.seller.address()[:2]]), 7.5, align="center")
        pen.text(PAGE_W / 2, 12 * mm, " – ".join(_vat_ids(d, inv.seller, "vat_id") +
                                                 ([f"IBAN {inv.iban}"] if inv.iban else [])), 7.5, align="center")
        pen.text(right, 22 * mm, f"{page}", 8, align="right")

    pen.text(left, top - 22 * mm, inv.seller.name, 15, bold=True)
    pen.lines(left, top - 22 * mm - 15, inv.seller.address(), 10, 12)
    box_x = 110 * mm
    lines = [inv.buyer.name, *inv.buyer.address()]
    pen.box(box_x, top - 70 * mm, right - box_x, 14 * len(lines) + 20, width=0.6)
    pen.text(box_x + 8, top - 70 * mm + 14 * len(lines) + 8, d.label("buyer"), 8.5, color=GREY)
    pen.lines(box_x + 8, top - 70 * mm + 14 * len(lines) - 6, lines, 10.5, 14)

    y = top - 88 * mm
    pen.text(left, y, f"{d.title} {d.label('no')} {d.number} {d.label('dated')} {d.date(inv.issue_date)}", 14,
             bold=True)
    y -= 20
    details = []
    if inv.due_date:
        details.append(f"{d.label('due')} : {d.date(inv.due_date)}")
    if inv.buyer.ident:
        details.append(f"{d.label('customer_no')} : {inv.buyer.ident}")
    if inv.buyer.vat_id:
        details.append(f"{d.label('your_vat')} : {inv.buyer.vat_id}")
    if inv.order_ref:
        details.append(f"{d.label('order_no')} : {inv.order_ref}")
    y = pen.lines(left, y, details, 10, 13)
    sheet = Sheet(pen, d, left=left, top=top - 18 * mm, bottom=28 * mm, footer=footer)
    y = line_table(sheet, y - 14, [
        Col("description", left, 230), Col("qty", left + 234, 36, "right"), Col("price", left + 276, 62, "right"),
        Col("rate", left + 342, 40, "right"), Col("amount", right - 66, 66, "right")],
        size=9.5, grid=True, header_fill=LIGHT, rules=False, leading=14)
    rows = [(label, value, False) for label, value, _ in d.totals(currency="symbol")]
    if not d.prepaid:
        rows.append((d.label("amount_due"), d.amount(inv.payable, "symbol"), True))
    else:
        rows[-1] = (rows[-1][0], rows[-1][1], True)
    y = totals_block(sheet, y - 10, rows, label_x=right - 180, value_x=right, size=10.5, step=15, colon=True,
                     keep=40)
    y, _ = sheet.need(y - 10, 30)
    if inv.due_date:
        pen.text(left, y, f"{d.label('pay_by')} {d.date(inv.due_date)}.", 9.5)
        y -= 13
    pen.text(left, y, "En cas de retard de paiement, une pénalité égale à trois fois le taux d'intérêt légal sera "
                      "exigible.", 7.5, color=GREY)
    sheet.close()


def draw_nordic(c: Canvas, d: Doc) -> None:
    """Nordic invoice: a grid of small labelled boxes at top right, a band of boxes with the amount to pay."""
    pen = Pen(c, "Helvetica", 9, unicode=d.needs_unicode)
    inv, top, left, right = d.inv, PAGE_H, 16 * mm, PAGE_W - 16 * mm

    def footer(page: int) -> None:
        y = 24 * mm
        pen.rule(left, y, right, 0.6)
        columns = [(d.label("address"), [inv.seller.name, *inv.seller.address()[:3]]),
                   (d.label("vat_id"), [inv.seller.vat_id or inv.seller.tax_number or ""]),
                   ("IBAN", [inv.iban or ""]), (d.label("page"), [str(page)])]
        for i, (head, texts) in enumerate(columns):
            x = left + i * 48 * mm
            pen.text(x, y - 9, head, 6.5, bold=True)
            pen.lines(x, y - 18, texts, 7.5, 9)

    pen.text(left, top - 20 * mm, inv.seller.name, 14, bold=True)
    pen.text(right, top - 20 * mm, d.title.upper(), 20, bold=True, align="right")
    cells = [(d.label("number"), d.number), (d.label("date"), d.date(inv.issue_date)),
             (d.label("customer_no"), d.customer_no), (d.label("due"), d.date(inv.due_date) if inv.due_date else ""),
             (d.label("your_ref"), inv.buyer_ref or ""), (d.label("order_no"), inv.order_ref or "")]
    if not inv.due_date:
        cells = [cell for cell in cells if cell[0] != d.label("due")]
    grid_x, cell_w, cell_h = 108 * mm, (right - 108 * mm) / 2, 10 * mm
    for i, (label, value) in enumerate(cells):
        x = grid_x + (i % 2) * cell_w
        y = top - 30 * mm - (i // 2) * cell_h
        pen.box(x, y - cell_h, cell_w, cell_h, width=0.4)
        pen.text(x + 3, y - 8, label, 6.5, color=GREY)
        pen.text(x + 3, y - 21, value, pen.fit(value, cell_w - 6, 9.5))
    pen.lines(left, top - 45 * mm, [inv.buyer.name, *inv.buyer.address(), *_vat_ids(d, inv.buyer, "your_vat")],
              10, 12.5)
    sheet = Sheet(pen, d, left=left, top=top - 16 * mm, bottom=34 * mm, footer=footer)
    y = line_table(sheet, top - 92 * mm, [
        Col("description", left, 250), Col("qty", left + 256, 40, "right"), Col("price", left + 300, 62, "right"),
        Col("rate", left + 366, 44, "right"), Col("amount", right - 66, 66, "right")], size=8.5)
    band = [(d.label("subtotal"), d.amount(inv.tax_basis)), (d.label("vat"), d.amount(inv.tax_total))]
    if d.prepaid:
        band += [(d.label("total"), d.amount(inv.grand_total, "code")),
                 (d.label("prepaid"), d.amount(-inv.prepaid)),
                 (d.label("amount_due"), d.amount(inv.payable, "code"))]
    else:
        band.append((d.label("amount_due"), d.amount(inv.grand_total, "code")))
    y, _ = sheet.need(y - 16, 64)
    width = (right - left) / len(band)
    for i, (label, value) in enumerate(band):
        last = i == len(band) - 1
        x = left + i * width
        pen.box(x, y - 28, width, 28, width=1.0 if last else 0.4, fill=LIGHT if last else None)
        pen.text(x + 4, y - 9, label, 7, bold=last)
        pen.text(x + width - 4, y - 22, value, 11 if last else 9.5, bold=last, align="right")
    y -= 46
    if inv.due_date:
        pen.text(left, y, f"{d.label('pay_by')} {d.date(inv.due_date)}. {d.label('thanks')}", 9)
    sheet.close()


def draw_southern(c: Canvas, d: Doc) -> None:
    """Southern/eastern European invoice: seller and buyer boxes side by side, a boxed header table, grid lines."""
    pen = Pen(c, "Helvetica", 8.5, unicode=d.needs_unicode)
    inv, top, left, right = d.inv, PAGE_H, 14 * mm, PAGE_W - 14 * mm

    def footer(page: int) -> None:
        pen.text(PAGE_W / 2, 10 * mm, f"{d.label('page')} {page}", 7, align="center", color=GREY)

    pen.text(left, top - 18 * mm, f"{d.title.upper()} {d.label('no')} {d.number}", 16, bold=True)
    pen.text(right, top - 18 * mm, f"{d.label('date')}: {d.date(inv.issue_date)}", 9, align="right")
    half = (right - left - 6 * mm) / 2
    bottom = top - 26 * mm
    for i, (head, party, label) in enumerate(((d.label("seller"), inv.seller, "vat_id"),
                                              (d.label("buyer"), inv.buyer, "your_vat"))):
        x = left + i * (half + 6 * mm)
        texts = [party.name, *party.address(), *_vat_ids(d, party, label)]
        h = 12 * len(texts) + 20
        pen.box(x, top - 26 * mm - h, half, h, width=0.5)
        pen.box(x, top - 26 * mm - 14, half, 14, fill=LIGHT, width=0.5)
        pen.text(x + 4, top - 26 * mm - 10, head.upper(), 8, bold=True)
        pen.lines(x + 4, top - 26 * mm - 26, texts, 8.5, 12, bold=False)
        bottom = min(bottom, top - 26 * mm - h)
    y = bottom - 20 * mm
    heads = [(d.label("number"), d.number), (d.label("date"), d.date(inv.issue_date))]
    if inv.due_date:
        heads.append((d.label("due"), d.date(inv.due_date)))
    if inv.buyer.ident:
        heads.append((d.label("customer_no"), inv.buyer.ident))
    if inv.order_ref:
        heads.append((d.label("order_no"), inv.order_ref))
    width = (right - left) / len(heads)
    for i, (label, value) in enumerate(heads):
        x = left + i * width
        pen.box(x, y, width, 14, fill=LIGHT, width=0.5)
        pen.box(x, y - 16, width, 16, width=0.5)
        pen.text(x + width / 2, y + 4, label, 7.5, bold=True, align="center")
        pen.text(x + width / 2, y - 11, value, 9, align="center")
    sheet = Sheet(pen, d, left=left, top=top - 14 * mm, bottom=22 * mm, footer=footer)
    y = line_table(sheet, y - 38, [
        Col("pos", left + 2, 16), Col("description", left + 24, 228), Col("qty", left + 256, 40, "right"),
        Col("price", left + 300, 62, "right"), Col("rate", left + 366, 50, "right"),
        Col("amount", right - 68, 66, "right")], size=8, grid=True, header_fill=LIGHT, rules=False, leading=13)
    y, _ = sheet.need(y - 16, 12 * len(inv.vat) + 96)
    xs = [right - 190, right - 120, right - 2]
    for x, key in zip(xs, ("subtotal", "rate", "vat"), strict=True):
        pen.text(x, y, d.label(key), 8, bold=True, align="right")
    y -= 13
    for row in inv.vat:
        for x, cell in zip(xs, (d.amount(row.taxable), d.rate(row.rate), d.amount(row.tax)), strict=True):
            pen.text(x, y, cell, 8.5, align="right")
        y -= 12
    pen.text(xs[1], y, f"{d.label('total')}:", 9, align="right")
    pen.text(right - 2, y, d.amount(inv.grand_total, "symbol"), 9, align="right")
    y -= 26
    if d.prepaid:
        pen.text(xs[1], y + 12, f"{d.label('prepaid')}:", 8.5, align="right")
        pen.text(right - 2, y + 12, d.amount(-inv.prepaid, "symbol"), 8.5, align="right")
        y -= 6
    pen.box(right - 250, y - 8, 250, 22, width=1.2, fill=LIGHT)
    pen.text(right - 244, y, f"{d.label('amount_due').upper()}", 11, bold=True)
    pen.text(right - 6, y, d.amount(inv.payable, "symbol"), 12, bold=True, align="right")
    if inv.iban:
        pen.text(left, y, f"IBAN: {inv.iban}", 8.5)
    if inv.due_date:
        pen.text(left, y - 14, f"{d.label('pay_by')}: {d.date(inv.due_date)}", 8.5)
    sheet.close()


def draw_courier_print(c: Canvas, d: Doc) -> None:
    """Dot-matrix style ERP print: one monospaced grid, upper-case labels, no digit grouping, SAP trailing minus."""
    pen = Pen(c, "Courier", 9, unicode=d.needs_unicode)
    inv, top, left = d.inv, PAGE_H, 16 * mm
    step = 11.0
    width = 84

    def footer(page: int) -> None:
        ids = " ".join(_vat_ids(d, inv.seller, "vat_id"))
        pen.text(left, 14 * mm, f"{ids[:width - 12]:<{width - 12}}{d.label('page').upper():>7} {page:>3}", 8)

    def pad(left_text: str, right_text: str = "") -> str:
        return f"{left_text:<44}{right_text}"

    out: list[str] = [inv.seller.name, " ".join(inv.seller.address()), "=" * width, ""]
    header = [(d.title.upper(), ""), (d.label("number").upper(), d.number),
              (d.label("date").upper(), d.date(inv.issue_date))]
    if inv.due_date:
        header.append((d.label("due").upper(), d.date(inv.due_date)))
    header.append((d.label("customer_no").upper(), d.customer_no))
    if inv.order_ref:
        header.append((d.label("order_no").upper(), inv.order_ref))
    buyer = [inv.buyer.name, *inv.buyer.address(), *_vat_ids(d, inv.buyer, "your_vat")]
    for i in range(max(len(header), len(buyer))):
        label, value = header[i] if i < len(header) else ("", "")
        info = f"{label[:18]:<18}: {value}" if value else label
        out.append(pad(buyer[i] if i < len(buyer) else "", info))
    out += ["", "-" * width]
    heads = (d.label("pos"), d.label("description"), d.label("qty"), d.label("price"), d.label("amount"))
    out.append(f"{heads[0][:4].upper():<5}{heads[1][:34].upper():<35}{heads[2][:10].upper():>10}"
               f"{heads[3][:16].upper():>17}{heads[4][:16].upper():>17}")
    out.append("-" * width)
    for row in d.rows():
        first, *rest = textwrap.wrap(row["description"], 34) or [""]
        out.append(f"{row['pos']:<5}{first:<35}{row['qty']:>10}{row['price']:>17}{row['amount']:>17}")
        out += [f"{'':<5}{text}" for text in rest]
    out.append("-" * width)
    for label, value, _bold in d.totals(total_label=f"{d.label('total')} {d.currency}"):
        out.append(f"{'':<34}{label.upper()[:32]:<33}{value:>17}")
    out.append("=" * width)
    if inv.iban:
        out.append(f"IBAN {inv.iban}")

    sheet = Sheet(pen, d, left=left, top=top - 16 * mm, bottom=24 * mm, footer=footer)
    y = top - 16 * mm
    for text in out:
        y, _ = sheet.need(y, step)
        pen.text(left, y, text, 9)
        y -= step
    sheet.close()


@dataclass(frozen=True)
class Layout:
    """One way to print an invoice: its drawing function and the choices it makes."""

    name: str
    draw: Callable[[Canvas, Doc], None]
    languages: tuple[str, ...]
    """The languages it is assigned, round-robin, by ``assignments()`` (any language can be rendered)."""
    credit_negative: bool
    """True: a credit note's amounts are printed negative; False: positive under the credit-note title."""
    pagesize: tuple[float, float] = A4
    dates: tuple[str, ...] | None = None
    """Date templates replacing the language's (the US layout prints month first)."""
    grouping: bool = True
    trailing_minus: bool = False
    seller_in_text: bool = True
    total_currency: str | None = None
    spelt_dates: bool = False
    """Dates with the month spelt out ("5 mars 2024"), in the language's first such template."""
    """How the total shows its currency: "code" (EUR), "symbol" (€) or None (given elsewhere on the page)."""

    def __call__(self, canvas: Canvas, doc: Doc) -> None:
        self.draw(canvas, doc)

    @property
    def summary(self) -> str:
        return (self.draw.__doc__ or "").strip().splitlines()[0]


LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    Layout("din_letter", draw_din_letter, ("de", "nl", "da", "pl", "de", "fi"), credit_negative=True,
           total_currency="code"),
    Layout("erp_row", draw_erp_row, ("nl", "sv", "en", "de", "no", "it"), credit_negative=True),
    Layout("info_box", draw_info_box, ("fr", "es", "de", "en", "sv", "da"), credit_negative=False,
           total_currency="code"),
    Layout("us_invoice", draw_us_invoice, ("en",), credit_negative=False, pagesize=LETTER,
           dates=("{mon} {d}, {yyyy}", "{mm}/{dd}/{yyyy}", "{month} {d}, {yyyy}", "{d} {mon} {yyyy}"),
           total_currency="symbol"),
    Layout("vat_table", draw_vat_table, ("it", "pl", "de", "nl", "fi", "no"), credit_negative=True),
    Layout("logo", draw_logo, ("de", "fr", "sv", "es", "en"), credit_negative=False, seller_in_text=False,
           total_currency="symbol"),
    Layout("facture_fr", draw_facture_fr, ("fr",), credit_negative=False, total_currency="symbol",
           spelt_dates=True),
    Layout("nordic", draw_nordic, ("sv", "da", "fi", "no", "sv"), credit_negative=False, total_currency="code"),
    Layout("southern", draw_southern, ("es", "it", "pl", "es", "it"), credit_negative=True,
           total_currency="symbol"),
    Layout("courier_print", draw_courier_print, ("de", "en", "nl", "pl", "fi"), credit_negative=True,
           grouping=False, trailing_minus=True),
)}


# -- rendering -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """One printed e-invoice: where it is, how it was drawn, and what it says (``truth``, see the module doc)."""

    path: Path
    layout: str
    language: str
    source: str
    truth: dict[str, Any]
    credit_negative: bool
    date_style: str
    number_style: str
    printed: dict[str, str]
    """The strings printed for number, issue/due date and total (to find them in the page text)."""


def einvoice_files() -> list[Path]:
    return sorted(EINVOICES.glob("*.xml"))


def assignments(files: Sequence[Path] | None = None) -> list[tuple[Path, Layout, Language]]:
    """Round-robin: file i gets layout i mod 10 and that layout's next language."""
    files = einvoice_files() if files is None else files
    layouts = list(LAYOUTS.values())
    result = []
    for i, path in enumerate(files):
        layout = layouts[i % len(layouts)]
        result.append((path, layout, LANGUAGES[layout.languages[(i // len(layouts)) % len(layout.languages)]]))
    return result


def make_doc(inv: EInvoice, layout: Layout, language: Language, variant: int | None = None) -> Doc:
    variant = zlib.crc32(inv.source.encode()) if variant is None else variant
    dates = layout.dates or language.dates
    if layout.spelt_dates:
        dates = tuple(t for t in dates if "{month}" in t)[:1] or dates
    return Doc(inv, language, date_style=dates[variant % len(dates)],
               number_style=language.numbers[(variant // 7) % len(language.numbers)],
               negative=inv.credit_note and layout.credit_negative, grouping=layout.grouping,
               trailing_minus=layout.trailing_minus)


def render(einvoice_path: Path, layout: Layout | str, language: Language | str, out_path: Path,
           variant: int | None = None) -> Rendered:
    """Print one e-invoice file through ``layout`` in ``language`` to ``out_path``."""
    return render_einvoice(read_einvoice(einvoice_path), layout, language, out_path, variant)


def render_einvoice(inv: EInvoice, layout: Layout | str, language: Language | str, out_path: Path,
                    variant: int | None = None) -> Rendered:
    """Print one read (or made-up) e-invoice through ``layout`` in ``language`` to ``out_path``."""
    layout = LAYOUTS[layout] if isinstance(layout, str) else layout
    language = LANGUAGES[language] if isinstance(language, str) else language
    doc = make_doc(inv, layout, language, variant)
    assert inv.number not in (doc.customer_no, doc.order_no), inv.source
    out_path.parent.mkdir(parents=True, exist_ok=True)
    canvas = Canvas(str(out_path), pagesize=layout.pagesize, invariant=True)
    canvas.setTitle(f"{doc.title} {inv.number}")
    canvas.setCreator("tests/support/layouts.py")
    layout(canvas, doc)
    canvas.save()
    truth: dict[str, Any] = {
        "invoice_number": inv.number, "issue_date": inv.issue_date, "due_date": inv.due_date,
        "currency": inv.currency, "total": doc.total, "seller": inv.seller.name, "buyer": inv.buyer.name,
        "seller_vat": inv.seller.vat_id, "buyer_vat": inv.buyer.vat_id, "credit_note": inv.credit_note,
        "amount_due": doc.amount_due, "type_code": inv.type_code, "seller_in_text": layout.seller_in_text,
    }
    printed = {"invoice_number": inv.number, "issue_date": doc.date(inv.issue_date),
               "total": doc.amount(inv.grand_total, layout.total_currency)}
    if inv.due_date:
        printed["due_date"] = doc.date(inv.due_date)
    return Rendered(out_path, layout.name, language.code, inv.source, truth,
                    credit_negative=layout.credit_negative, date_style=doc.date_style,
                    number_style=doc.number_style, printed=printed)


def render_all(out_dir: Path) -> list[Rendered]:
    """Every e-invoice of the corpus printed once, layouts and languages assigned by ``assignments()``."""
    return [render(path, layout, language, out_dir / f"{path.stem}.{layout.name}.{language.code}.pdf")
            for path, layout, language in assignments()]
