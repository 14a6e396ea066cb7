"""Received invoices: the listing fields read once (safely) from a UBL or CII file, copies for load tests, big files.

Nothing here reads a document whole unless it is small enough to parse (:data:`MAX_PARSE`); anything that is
not a well-formed UBL/CII document without a DTD is still a document, just one with unknown fields.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET

MAX_PARSE = 2 * 1024 * 1024
"""Documents larger than this are listed with unknown fields and never parsed."""
CHUNK = 1024 * 1024
CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})
"""UNTDID 1001 document type codes EN 16931 counts as credit notes (CII ``ExchangedDocument/TypeCode``)."""


def unknown_info() -> dict[str, Any]:
    """The listing fields of a document that cannot be read (too big, not XML, a DTD, a PDF)."""
    return {"documentType": "Invoice", "number": None, "sender": None, "issueDate": None, "currency": None,
            "total": None, "net": None, "vat": None, "attachments": []}


def document_info(path: Path) -> dict[str, Any]:
    """The header fields and embedded attachments of a UBL or CII e-invoice, for the Document API listing."""
    try:
        if path.stat().st_size > MAX_PARSE:
            return unknown_info()
        with open(path, "rb") as handle:
            if handle.read(5) == b"%PDF-":
                return unknown_info()
        # No DTD at all (so no entities, no external references): a received file is untrusted input.
        root = SafeET.parse(str(path), forbid_dtd=True, forbid_entities=True, forbid_external=True).getroot()
    except (OSError, ValueError, SyntaxError):  # defusedxml's refusals are ValueErrors, ET.ParseError a SyntaxError
        return unknown_info()
    return _read(root)


def _local(element: ET.Element) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def _all(root: ET.Element, path: str) -> list[ET.Element]:
    """The elements at a path of local names below the root ("A/B/C"), any namespace."""
    level = [root]
    for name in path.split("/"):
        level = [child for element in level for child in element if _local(child) == name]
    return level


def _text(element: ET.Element) -> str | None:
    value = (element.text or "").strip()
    return value or None


def _read(root: ET.Element) -> dict[str, Any]:
    def either(*paths: str, currency: str | None = None) -> str | None:
        """The first non-empty text at any of the paths (with a currency: preferably one in that currency)."""
        for path in paths:
            found = [element for element in _all(root, path) if _text(element) is not None]
            if currency is not None:
                found.sort(key=lambda element: element.get("currencyID", currency) != currency)
            if found:
                return _text(found[0])
        return None

    kind = _local(root)
    if kind == "CrossIndustryInvoice":
        settlement = "SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/"
        summation = settlement + "SpecifiedTradeSettlementHeaderMonetarySummation/"
        currency = either(settlement + "InvoiceCurrencyCode")
        code = either("ExchangedDocument/TypeCode")
        objects = _all(root, "SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement/"
                             "AdditionalReferencedDocument/AttachmentBinaryObject")
        return {
            "documentType": "CreditNote" if code in CREDIT_NOTE_CODES else "Invoice",
            "number": either("ExchangedDocument/ID"),
            "sender": either("SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement/SellerTradeParty/Name"),
            "issueDate": either("ExchangedDocument/IssueDateTime/DateTimeString"),
            "currency": currency,
            # totalAmount is net + VAT (the grand total), not what is left to pay after a prepayment
            "total": either(summation + "GrandTotalAmount", summation + "DuePayableAmount"),
            "net": either(summation + "TaxBasisTotalAmount"),
            "vat": either(summation + "TaxTotalAmount", currency=currency),
            "attachments": [_attachment(element) for element in objects],
        }
    currency = either("DocumentCurrencyCode")
    objects = _all(root, "AdditionalDocumentReference/Attachment/EmbeddedDocumentBinaryObject")
    return {
        "documentType": "CreditNote" if kind == "CreditNote" else "Invoice",
        "number": either("ID"),
        "sender": either("AccountingSupplierParty/Party/PartyLegalEntity/RegistrationName",
                         "AccountingSupplierParty/Party/PartyName/Name"),
        "issueDate": either("IssueDate"),
        "currency": currency,
        "total": either("LegalMonetaryTotal/TaxInclusiveAmount", "LegalMonetaryTotal/PayableAmount"),
        "net": either("LegalMonetaryTotal/TaxExclusiveAmount"),
        "vat": either("TaxTotal/TaxAmount", currency=currency),
        "attachments": [_attachment(element) for element in objects],
    }


def _attachment(element: ET.Element) -> dict[str, Any]:
    """File name, MIME code and decoded size of an embedded base64 attachment (computed, not decoded)."""
    data = "".join((element.text or "").split())
    size = max(len(data) * 3 // 4 - (len(data) - len(data.rstrip("="))), 0)
    return {"fileName": element.get("filename"), "mimeCode": element.get("mimeCode"), "size": size}


def renumbered(data: bytes, number: str) -> tuple[bytes, bytes]:
    """``data`` split around the text of the first ``ID`` element holding ``number`` (head, tail).

    A copy with another number is ``head + escape(new) + tail``; raises ValueError when there is none.
    """
    pattern = re.compile(rb"(<(?:[A-Za-z_][\w.-]*:)?ID\b[^>]*>)\s*" + re.escape(escape(number).encode())
                         + rb"\s*(</(?:[A-Za-z_][\w.-]*:)?ID\s*>)")
    match = pattern.search(data)
    if match is None:
        raise ValueError(f"the invoice number {number!r} is not the text of an ID element")
    return data[: match.end(1)], data[match.start(2) :]


LARGE_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
              b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">\n<!-- ')
LARGE_TAIL = b" -->\n</Invoice>\n"


def large_chunks(size: int) -> Iterator[bytes]:
    """A well-formed XML document of exactly ``size`` bytes (a root element padded with a comment), in chunks."""
    padding = size - len(LARGE_HEAD) - len(LARGE_TAIL)
    if padding < 0:
        raise ValueError(f"a document needs at least {len(LARGE_HEAD) + len(LARGE_TAIL)} bytes")
    yield LARGE_HEAD
    block = b"x" * CHUNK
    while padding > 0:
        step = min(padding, CHUNK)
        yield block[:step]
        padding -= step
    yield LARGE_TAIL
