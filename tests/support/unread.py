"""Invoices in layouts the general reader handles badly, drawn with reportlab: what a correction must teach.

Each layout is one office's ERP: fixed printed text (the company, labels, bank footer) and the
values of each invoice in the same places.  The reader misses at least one field on each, so
an invoice of these layouts lands in *Needs attention* until a person corrects one of them.

- ``above``: a table whose labels stand above the values, with labels the reader does not know
  ("Beleg-Kennung", "Ausgestellt", "Zahlbar bis", "Endsumme") and the customer and order
  numbers in the same row;
- ``magyar``: a Hungarian invoice (a language the reader lacks: "Számla sorszáma", "Kelt",
  "Fizetési határidő", "Fizetendő");
- ``unusual``: an English invoice whose number is printed only beside "Ref. code" and whose
  total stands after "Please remit".

    path = unread_invoice(tmp / "a.pdf", "above", UnreadInvoice("AB-7001", date(2026, 3, 5), ...))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

LAYOUTS = ("above", "magyar", "unusual")


@dataclass(frozen=True)
class UnreadInvoice:
    """The values printed on one invoice."""

    number: str
    issued: dt.date
    due: dt.date
    total: Decimal
    buyer: str
    currency: str = "EUR"
    items: tuple[tuple[str, Decimal], ...] = field(default=())

    def lines(self) -> tuple[tuple[str, Decimal], ...]:
        return self.items or (("Service", self.total),)


def _de(amount: Decimal) -> str:
    text = f"{amount:,.2f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def _hu(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",")


def unread_invoice(path: Path, layout: str, invoice: UnreadInvoice) -> Path:
    """Draw ``invoice`` in ``layout`` (one of :data:`LAYOUTS`) into ``path``."""
    page = canvas.Canvas(str(path), pagesize=A4)
    page.setTitle(f"{layout} {invoice.number}")
    {"above": _above, "magyar": _magyar, "unusual": _unusual}[layout](page, invoice)
    page.showPage()
    page.save()
    return path


def _above(page: canvas.Canvas, inv: UnreadInvoice) -> None:
    page.setFont("Helvetica-Bold", 15)
    page.drawString(56, 790, "Kessler Feinmechanik KG")
    page.setFont("Helvetica", 8)
    page.drawString(56, 776, "Kessler Feinmechanik KG · Werkstraße 12 · 73430 Aalen")
    page.setFont("Helvetica", 10)
    page.drawString(56, 740, inv.buyer)
    page.drawString(56, 726, "Lindenallee 4")
    page.drawString(56, 712, "80331 München")
    page.setFont("Helvetica-Bold", 13)
    page.drawString(56, 660, "Abrechnung")
    page.setFont("Helvetica-Bold", 9)
    columns = (56, 150, 250, 340, 440)
    for x, label in zip(columns, ("Kunde", "Auftrag", "Beleg-Kennung", "Ausgestellt", "Zahlbar bis"), strict=True):
        page.drawString(x, 630, label)
    page.setFont("Helvetica", 9)
    values = ("K-20417", "A-88812", inv.number, inv.issued.strftime("%d.%m.%Y"), inv.due.strftime("%d.%m.%Y"))
    for x, value in zip(columns, values, strict=True):
        page.drawString(x, 616, value)
    page.setFont("Helvetica-Bold", 9)
    page.drawString(56, 580, "Pos")
    page.drawString(90, 580, "Bezeichnung")
    page.drawRightString(530, 580, "Betrag")
    _lines_and_total(page, inv, 564, _de, f"Endsumme {inv.currency}", 340,
                     "Kessler Feinmechanik KG · Sitz Aalen · Kreissparkasse Ostalb · IBAN DE12 6145 0050 0000 1234 56",
                     numbered=True)


def _magyar(page: canvas.Canvas, inv: UnreadInvoice) -> None:
    page.setFont("Helvetica-Bold", 15)
    page.drawString(56, 790, "Tisza Nyomda Kft.")
    page.setFont("Helvetica", 9)
    page.drawString(56, 776, "6720 Szeged, Kárász utca 9.")
    page.drawString(56, 764, "Adószám: 12345678-2-06")
    page.setFont("Helvetica-Bold", 10)
    page.drawString(330, 740, "Vevő")
    page.setFont("Helvetica", 10)
    page.drawString(330, 726, inv.buyer)
    page.drawString(330, 712, "1051 Budapest, Nádor utca 7.")
    page.setFont("Helvetica-Bold", 14)
    page.drawString(56, 680, "SZÁMLA")
    page.setFont("Helvetica", 10)
    page.drawString(56, 650, "Számla sorszáma:")
    page.drawString(180, 650, inv.number)
    page.drawString(56, 636, "Kelt:")
    page.drawString(180, 636, inv.issued.strftime("%Y.%m.%d."))
    page.drawString(56, 622, "Fizetési határidő:")
    page.drawString(180, 622, inv.due.strftime("%Y.%m.%d."))
    page.drawString(56, 608, "Fizetés módja: átutalás")
    page.setFont("Helvetica-Bold", 9)
    page.drawString(56, 570, "Megnevezés")
    page.drawRightString(530, 570, "Bruttó érték")
    _lines_and_total(page, inv, 556, lambda amount: f"{_hu(amount)} {inv.currency}", "Fizetendő:", 330,
                     "Tisza Nyomda Kft. · Cégjegyzékszám: 06-09-000000 · OTP Bank")


def _unusual(page: canvas.Canvas, inv: UnreadInvoice) -> None:
    page.setFont("Helvetica-Bold", 15)
    page.drawString(56, 790, "Harbour Lane Studio Ltd")
    page.setFont("Helvetica", 9)
    page.drawString(56, 776, "7 Harbour Lane, Bristol BS1 4QA · VAT GB 123 4567 89")
    page.setFont("Helvetica", 10)
    page.drawString(56, 740, "Statement for")
    page.drawString(56, 726, inv.buyer)
    page.drawString(380, 740, "Ref. code")
    page.drawString(450, 740, inv.number)
    page.drawString(380, 726, "Dated")
    page.drawString(450, 726, inv.issued.strftime("%d %b %Y"))
    page.drawString(380, 712, "Settle by")
    page.drawString(450, 712, inv.due.strftime("%d %b %Y"))
    page.setFont("Helvetica-Bold", 9)
    page.drawString(56, 660, "Work")
    page.drawRightString(530, 660, inv.currency)
    _lines_and_total(page, inv, 646, lambda amount: f"{amount:,.2f}", f"Please remit {inv.currency}", 300,
                     "Harbour Lane Studio Ltd · Registered in England 01234567 · Barclays")


def _lines_and_total(page: canvas.Canvas, inv: UnreadInvoice, y: float, shown: Callable[[Decimal], str],
                     total_label: str, label_x: float, footer: str, *, numbered: bool = False) -> None:
    """The invoice lines from ``y`` down, the total under them after ``total_label``, and the footer."""
    page.setFont("Helvetica", 9)
    for n, (text, amount) in enumerate(inv.lines(), 1):
        if numbered:
            page.drawString(56, y, str(n))
        page.drawString(90 if numbered else 56, y, text)
        page.drawRightString(530, y, shown(amount))
        y -= 14
    page.setFont("Helvetica-Bold", 10)
    page.drawString(label_x, y - 20, total_label)
    page.drawRightString(530, y - 20, shown(inv.total))
    page.setFont("Helvetica", 7)
    page.drawString(56, 60, footer)


def series(layout: str, count: int, start: int = 1) -> list[UnreadInvoice]:
    """``count`` different invoices of one office (numbers, dates, buyers, items and totals vary)."""
    buyers = ("Nordlicht Handel GmbH", "Brückner & Söhne OHG", "Alpenblick Hotel AG", "Matyas Kereskedelmi Bt.",
              "Greenway Foods Ltd", "Rivière Conseil SARL")
    prefix = {"above": "AB-", "magyar": "TN/2026/", "unusual": "HLS"}[layout]
    made = []
    for n in range(start, start + count):
        issued = dt.date(2026, 1 + n % 12, 1 + (7 * n) % 27)
        items = tuple((f"Item {k} of order {n}", Decimal(100 * n + 17 * k) + Decimal("0.45"))
                      for k in range(1, 1 + n % 3 + 1))
        total = sum((amount for _text, amount in items), Decimal("0"))
        made.append(UnreadInvoice(f"{prefix}{7000 + 37 * n}", issued, issued + dt.timedelta(days=30), total,
                                  buyers[n % len(buyers)], items=items))
    return made
