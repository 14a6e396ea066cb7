"""Test documents made with real tools: one-page invoices drawn with reportlab."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def invoice_pdf(path: Path, number: str, total: str = "1.234,56", seller: str = "ACME Bürobedarf GmbH") -> Path:
    """A one-page German invoice with a text layer."""
    page = canvas.Canvas(str(path), pagesize=A4)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 770, seller)
    page.setFont("Helvetica", 11)
    page.drawString(72, 740, "Musterstraße 1, 10115 Berlin")
    page.drawString(72, 700, f"Rechnung Nr. {number}")
    page.drawString(72, 680, "Rechnungsdatum: 05.03.2026")
    page.drawString(72, 660, "Fällig am: 04.04.2026")
    page.drawString(72, 620, f"Gesamtbetrag: {total} EUR")
    page.showPage()
    page.save()
    return path


def invoices(folder: Path, count: int, prefix: str = "RE-2026-") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [invoice_pdf(folder / f"invoice-{n:04d}.pdf", f"{prefix}{n:04d}", f"{100 + n},00") for n in range(count)]
