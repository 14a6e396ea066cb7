"""A readable PDF of a received e-invoice ("View target invoice"), drawn with reportlab's platypus.

The XML stays the legal invoice; this is how an office person reads it.  Every string in it came from the
supplier, so it is hostile data here too: it is escaped for reportlab's paragraph mini-markup, capped in
length (and in count: lines, notes, attachments), and characters the font cannot show become "?" instead
of silently vanishing.  The font is DejaVu Sans (Debian's fonts-dejavu-core), which covers Latin, Greek,
Cyrillic, Hebrew, Arabic and more; without it the PDF falls back to Helvetica (Windows-1252 only).

Output is deterministic (reportlab's ``invariant``): the same invoice gives the same bytes.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from connect_core.received.einvoice import Line, Party, ReceivedInvoice

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

MAX_RENDERED_LINES = 2000
MAX_ROWS = 100  # VAT rows, notes, attachments, IBANs
NAME_CHARS = 500
NOTE_CHARS = 2000
ROW_CHARS = 200  # an address line or an id in the seller and buyer blocks
CELL_CHARS = 100  # a number, code or amount in a table cell
CELL_SIZE = 8.5
CELL_PADDING = 6  # reportlab's default left and right padding of a table cell

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN

TYPE_NAMES = {
    "204": "payment valuation", "326": "partial invoice", "380": "commercial invoice", "381": "credit note",
    "383": "debit note", "384": "corrected invoice", "386": "prepayment invoice", "387": "hire invoice",
    "389": "self-billed invoice", "393": "factored invoice", "396": "factored credit note",
    "575": "insurer's invoice", "751": "invoice information for accounting purposes",
    "875": "partial construction invoice", "876": "partial final construction invoice",
    "877": "final construction invoice",
}
VAT_CATEGORIES = {
    "S": "standard rate", "Z": "zero rated", "E": "exempt", "AE": "reverse charge", "K": "intra-community supply",
    "G": "export outside the EU", "O": "not subject to VAT", "L": "Canary Islands IGIC", "M": "Ceuta and Melilla IPSI",
}
UNITS = {
    "C62": "pcs", "H87": "pcs", "EA": "each", "XPP": "pcs", "HUR": "h", "MIN": "min", "DAY": "days",
    "WEE": "weeks", "MON": "months", "ANN": "years", "KGM": "kg", "TNE": "t", "MTR": "m", "KMT": "km",
    "MTK": "m²", "MTQ": "m³", "LTR": "l", "KWH": "kWh", "LS": "lump sum", "SET": "sets", "P1": "%",
}

# Where a character is missing from the font, a look-alike it does have before falling back to "?".
_SUBSTITUTES = {0x202F: " ", 0x00A0: " ", 0x2009: " ", 0x2011: "-", 0x2212: "-", 0x2026: "...", 0x00B2: "2",
                0x00B3: "3"}


def format_amount(value: Decimal | None, currency: str | None = None) -> str:
    """An amount as the PDF prints it: at least two decimals (more when the XML has them), thin-space thousands.

    ``format_amount(Decimal("1234.5"), "EUR") == "1\u202f234.50 EUR"``; ``None`` gives "".
    """
    if value is None:
        return ""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    text = f"{value:,.{places}f}".replace(",", "\u202f")
    return f"{text} {currency}" if currency else text


def format_quantity(value: Decimal | None) -> str:
    """A quantity or rate without trailing zeros (``20``, ``1.5``, ``19``)."""
    if value is None:
        return ""
    exponent = value.normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return f"{value:,.{places}f}".replace(",", "\u202f")


def render_pdf(invoice: ReceivedInvoice, *, font_dir: Path = DEJAVU) -> bytes:
    """An A4 PDF showing ``invoice`` for people to read; DejaVu Sans from ``font_dir``, else Helvetica."""
    look = _look(font_dir)
    buffer = io.BytesIO()
    title = _title(invoice)
    seller = invoice.seller.name or "an unnamed supplier"
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN + 6 * mm,
        title=look.shown(f"{title} from {seller}"), author=look.shown(seller), creator="Pagero Connect",
        subject=f"{invoice.syntax} e-invoice", invariant=1,
    )
    footer = (f"Rendered by Pagero Connect from the supplier's {invoice.syntax} e-invoice; "
              "the XML is the legal invoice")

    def draw_footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(look.regular, 7)
        canvas.setFillColor(colors.dimgrey)
        canvas.drawString(MARGIN, MARGIN, footer)
        canvas.drawRightString(A4[0] - MARGIN, MARGIN, f"Page {doc.page}")
        canvas.restoreState()

    document.build(_story(invoice, look), onFirstPage=draw_footer, onLaterPages=draw_footer)
    return buffer.getvalue()


# -- fonts and styles ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Look:
    """The fonts, what they can show, and the paragraph styles built on them."""

    regular: str
    bold: str
    covered: frozenset[int]
    body: ParagraphStyle
    strong: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle

    def shown(self, text: str, limit: int | None = None) -> str:
        """``text`` capped at ``limit``, without invisible format characters, and with only characters the
        font has (others become a look-alike or "?")."""
        if limit is not None and len(text) > limit:
            text = text[: limit - 1] + "…"
        if all(ord(char) in self.covered for char in text):
            return text
        return "".join(self._shown(char) for char in text if ord(char) not in _INVISIBLE)

    def _shown(self, char: str) -> str:
        if ord(char) in self.covered or char in "\n\t":
            return char
        substitute = _SUBSTITUTES.get(ord(char), "?")
        return substitute if all(ord(c) in self.covered for c in substitute) else "?"


# Bidi marks, zero-width characters and the like: nothing to draw, and wrong to draw as "?".  They are never
# "covered", so that shown() drops them.
_INVISIBLE = frozenset([0x00AD, 0x061C, 0xFEFF, *range(0x200B, 0x2010), *range(0x202A, 0x202F),
                        *range(0x2060, 0x2070)])


_FONT_LOCK = threading.Lock()
_LOOKS: dict[Path, _Look] = {}


def _look(font_dir: Path) -> _Look:
    """The look for ``font_dir``, its fonts registered with reportlab once per process."""
    with _FONT_LOCK:
        if font_dir not in _LOOKS:
            _LOOKS[font_dir] = _build_look(font_dir)
        return _LOOKS[font_dir]


def _build_look(font_dir: Path) -> _Look:
    regular_file, bold_file = font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf"
    if regular_file.is_file() and bold_file.is_file():
        regular, bold = TTFont("DejaVuSans", str(regular_file)), TTFont("DejaVuSans-Bold", str(bold_file))
        pdfmetrics.registerFont(regular)
        pdfmetrics.registerFont(bold)
        pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold",
                                      italic="DejaVuSans", boldItalic="DejaVuSans-Bold")
        covered = (frozenset(regular.face.charToGlyph) & frozenset(bold.face.charToGlyph)) - _INVISIBLE
        names = ("DejaVuSans", "DejaVuSans-Bold")
    else:
        names = ("Helvetica", "Helvetica-Bold")
        covered = frozenset(ord(bytes([byte]).decode("cp1252")) for byte in range(32, 256)
                            if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
    body = ParagraphStyle("body", fontName=names[0], fontSize=9, leading=11.5)
    return _Look(
        regular=names[0], bold=names[1], covered=covered, body=body,
        strong=ParagraphStyle("strong", parent=body, fontName=names[1]),
        small=ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        cell=ParagraphStyle("cell", parent=body, fontSize=CELL_SIZE, leading=CELL_SIZE * 1.25),
        heading=ParagraphStyle("heading", parent=body, fontName=names[1], fontSize=11, leading=14, spaceBefore=8,
                               spaceAfter=3),
        title=ParagraphStyle("title", parent=body, fontName=names[1], fontSize=16, leading=20, spaceAfter=6),
    )


# -- the story -----------------------------------------------------------------------------------------------------


def _title(invoice: ReceivedInvoice) -> str:
    word = "Credit note" if invoice.kind == "credit-note" else "Invoice"
    return f"{word} {invoice.number}" if invoice.number else f"{word} (no number)"


def _story(invoice: ReceivedInvoice, look: _Look) -> list[Flowable]:
    return [
        _para(_title(invoice), look.title, look, 200),
        _facts(invoice, look),
        Spacer(1, 4 * mm),
        _parties(invoice, look),
        *_lines(invoice, look),
        *_vat(invoice, look),
        *_totals(invoice, look),
        *_payment(invoice, look),
        *_notes(invoice, look),
        *_attachments(invoice, look),
    ]


def _para(text: str, style: ParagraphStyle, look: _Look, limit: int = NAME_CHARS) -> Paragraph:
    """A paragraph of supplier text: capped, limited to what the font shows, escaped, line breaks kept."""
    lines = look.shown(text, limit).split("\n")
    return Paragraph("<br/>".join(escape(line) for line in lines), style)


def _cell(text: str | None, look: _Look, width: float, *, size: float = CELL_SIZE, bold: bool = False,
          right: bool = True) -> str | Paragraph:
    """A table cell of supplier text in a column ``width`` wide: a plain string (drawn as is, never parsed as
    markup) when it fits on one line, else an escaped paragraph that wraps instead of running over its neighbours."""
    text = look.shown(" ".join((text or "").split()), CELL_CHARS)
    font = look.bold if bold else look.regular
    if pdfmetrics.stringWidth(text, font, size) <= width - 2 * CELL_PADDING:
        return text
    style = ParagraphStyle("cell", fontName=font, fontSize=size, leading=size * 1.25,
                           alignment=TA_RIGHT if right else TA_LEFT)
    return Paragraph(escape(text), style)


def _key_values(rows: Sequence[tuple[str, str | None]], look: _Look, key_width: float) -> Table | Spacer:
    shown = [(_para(key, look.strong, look), _para(value, look.body, look, NOTE_CHARS)) for key, value in rows
             if value]
    if not shown:
        return Spacer(1, 0)
    table = Table(shown, colWidths=[key_width, WIDTH - key_width], hAlign="LEFT", splitInRow=1)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _type_text(code: str | None) -> str | None:
    if code is None or code in ("380", "381"):
        return None
    return f"{code} ({TYPE_NAMES[code]})" if code in TYPE_NAMES else code


def _facts(invoice: ReceivedInvoice, look: _Look) -> Table | Spacer:
    return _key_values([
        ("Document type", _type_text(invoice.type_code)),
        ("Issue date", invoice.issue_date.isoformat() if invoice.issue_date else "not given"),
        ("Due date", invoice.due_date.isoformat() if invoice.due_date else None),
        ("Currency", invoice.currency),
        ("Buyer reference", invoice.buyer_reference),
        ("Order reference", invoice.order_reference),
        ("Preceding invoice", invoice.preceding_invoice),
    ], look, 34 * mm)


def _party_block(label: str, party: Party, look: _Look) -> list[Flowable]:
    ids = [("VAT ID", party.vat_id), ("Tax number", party.tax_number), ("GLN", party.gln),
           ("Org. number", party.organisation_number), ("E-mail", party.email)]
    rows: list[str] = [*party.address_lines[:10], *([party.country] if party.country else [])]
    rows += [f"{key}: {value}" for key, value in ids if value]
    block: list[Flowable] = [_para(label, look.small, look), _para(party.name or "(no name)", look.strong, look)]
    if party.trading_name:
        block.append(_para(party.trading_name, look.body, look))
    block += [_para(row, look.body, look, ROW_CHARS) for row in rows]
    return block


def _parties(invoice: ReceivedInvoice, look: _Look) -> Table:
    table = Table([[_party_block("Seller", invoice.seller, look), _party_block("Buyer", invoice.buyer, look)]],
                  colWidths=[WIDTH / 2, WIDTH / 2], splitInRow=1)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOX", (0, 0), (0, 0), 0.25, colors.lightgrey),
                               ("BOX", (1, 0), (1, 0), 0.25, colors.lightgrey),
                               ("LEFTPADDING", (0, 0), (-1, -1), 4)]))
    return table


def _heading(text: str, look: _Look) -> Paragraph:
    return Paragraph(escape(text), look.heading)


def _grid(rows: list[list[object]], widths: Sequence[float], look: _Look, *, right_from: int) -> Table:
    """A table with a header row repeated on every page and numbers right-aligned from column ``right_from``."""
    table = Table(rows, colWidths=list(widths), repeatRows=1, splitInRow=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), look.bold, 8), ("FONT", (0, 1), (-1, -1), look.regular, CELL_SIZE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (right_from, 0), (-1, -1), "RIGHT"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _price(line: Line) -> str:
    price = format_amount(line.unit_price)
    if price and line.price_base_quantity is not None and line.price_base_quantity != 1:
        return f"{price} / {format_quantity(line.price_base_quantity)}"
    return price


def _unit(code: str | None) -> str | None:
    return UNITS.get(code, code) if code else None


def _lines(invoice: ReceivedInvoice, look: _Look) -> list[Flowable]:
    if not invoice.lines:
        return []
    number, quantity, unit, price, rate, amount = 13 * mm, 18 * mm, 15 * mm, 26 * mm, 13 * mm, 26 * mm
    name = WIDTH - (number + quantity + unit + price + rate + amount)
    rows: list[list[object]] = [["#", "Description", "Quantity", "Unit", "Unit price", "VAT %", "Net amount"]]
    for line in invoice.lines[:MAX_RENDERED_LINES]:
        rows.append([_cell(line.id, look, number, right=False), _para(line.name or "", look.cell, look),
                     _cell(format_quantity(line.quantity), look, quantity), _cell(_unit(line.unit_code), look, unit),
                     _cell(_price(line), look, price), _cell(format_quantity(line.vat_rate), look, rate),
                     _cell(format_amount(line.net_amount), look, amount)])
    flowables: list[Flowable] = [_heading("Lines", look),
                                 _grid(rows, [number, name, quantity, unit, price, rate, amount], look, right_from=2)]
    if len(invoice.lines) > MAX_RENDERED_LINES:
        more = len(invoice.lines) - MAX_RENDERED_LINES
        flowables.append(Paragraph(f"… and {more:,} more lines, which only the XML shows.", look.body))
    return flowables


def _vat(invoice: ReceivedInvoice, look: _Look) -> list[Flowable]:
    if not invoice.vat:
        return []
    category_width, rate, taxable, tax = 44 * mm, 16 * mm, 30 * mm, 28 * mm
    rows: list[list[object]] = [["Category", "Rate %", "Taxable amount", "VAT amount", "Exemption reason"]]
    for row in invoice.vat[:MAX_ROWS]:
        category = f"{row.category} ({VAT_CATEGORIES[row.category]})" if row.category in VAT_CATEGORIES \
            else row.category
        rows.append([_para(category or "", look.cell, look, 60), _cell(format_quantity(row.rate), look, rate),
                     _cell(format_amount(row.taxable_amount), look, taxable),
                     _cell(format_amount(row.tax_amount), look, tax),
                     _para(row.exemption_reason or "", look.cell, look)])
    table = _grid(rows, [category_width, rate, taxable, tax, WIDTH - (category_width + rate + taxable + tax)], look,
                  right_from=1)
    table.setStyle(TableStyle([("ALIGN", (4, 0), (4, -1), "LEFT")]))
    return [_heading("VAT", look), table]


def _totals(invoice: ReceivedInvoice, look: _Look) -> list[Flowable]:
    totals, currency = invoice.totals, invoice.currency
    rows = [
        ("Sum of lines (net)", totals.line_total, False),
        ("Allowances", totals.allowances if totals.allowances else None, False),
        ("Charges", totals.charges if totals.charges else None, False),
        ("Total without VAT", totals.tax_exclusive, False),
        ("VAT", totals.tax_amount, False),
        ("Total with VAT", totals.tax_inclusive, True),
        ("Prepaid", totals.prepaid if totals.prepaid else None, False),
        ("Rounding", totals.rounding if totals.rounding else None, False),
        ("Amount due", totals.payable, True),
    ]
    label_width, amount_width = 50 * mm, 50 * mm
    shown = [(label, _cell(format_amount(value, currency), look, amount_width, size=9.5 if strong else 9, bold=strong),
              strong) for label, value, strong in rows if value is not None]
    if not shown:
        return [_heading("Totals", look), Paragraph("The XML gives no totals.", look.body)]
    table = Table([[label, amount] for label, amount, _ in shown], colWidths=[label_width, amount_width],
                  hAlign="RIGHT")
    style = [("FONT", (0, 0), (-1, -1), look.regular, 9), ("ALIGN", (1, 0), (1, -1), "RIGHT"),
             ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    for index, (_, _, strong) in enumerate(shown):
        if strong:
            style += [("FONT", (0, index), (-1, index), look.bold, 9.5),
                      ("LINEABOVE", (0, index), (-1, index), 0.5, colors.black)]
    table.setStyle(TableStyle(style))
    return [_heading("Totals", look), table]


def _payment(invoice: ReceivedInvoice, look: _Look) -> list[Flowable]:
    payment = invoice.payment
    means = payment.means_text or payment.means_code
    if means and payment.means_code and payment.means_text and payment.means_code not in payment.means_text:
        means = f"{payment.means_text} ({payment.means_code})"
    rows = [("Terms", payment.terms), ("Means", means),
            *(("IBAN / account", iban) for iban in payment.ibans[:MAX_ROWS]),
            ("BIC", payment.bic), ("Account name", payment.account_name), ("Payment reference", payment.reference)]
    if not any(value for _, value in rows):
        return []
    return [_heading("Payment", look), _key_values(rows, look, 38 * mm)]


def _notes(invoice: ReceivedInvoice, look: _Look) -> list[Flowable]:
    if not invoice.notes:
        return []
    return [_heading("Notes", look), *_paragraphs(invoice.notes[:MAX_ROWS], look, NOTE_CHARS)]


def _paragraphs(texts: Iterable[str], look: _Look, limit: int) -> list[Flowable]:
    flowables: list[Flowable] = []
    for text in texts:
        flowables += [_para(text, look.body, look, limit), Spacer(1, 2)]
    return flowables


def _attachments(invoice: ReceivedInvoice, look: _Look) -> list[Flowable]:
    if not invoice.attachments:
        return []
    described = []
    for attachment in invoice.attachments[:MAX_ROWS]:
        size = f"{len(attachment.data) / 1024:,.0f} KiB" if len(attachment.data) >= 1024 else \
            f"{len(attachment.data)} bytes"
        kind = f"{attachment.mime_code}, {size}" if attachment.mime_code else size
        text = f"{attachment.file_name or '(no file name)'} ({kind})"
        described.append(f"{text}: {attachment.description}" if attachment.description else text)
    return [_heading("Attachments embedded in the XML", look), *_paragraphs(described, look, NAME_CHARS * 2)]
