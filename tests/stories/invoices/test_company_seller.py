"""An office that invoices for two companies: the seller is the company whose VAT id the page shows,
and duplicates are the same invoice number *from the same seller* (issue 14)."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ipp.status import StatusCode
from tests.support.cli import wait_for_invoices, write_config
from tests.support.harness import Server
from tests.support.ippclient import Client

COMPANIES = """\
company:
  name: Nordlicht Handel GmbH
  vat_ids: [DE811111118]
  others:
    - {name: Nordlicht Service GmbH, vat_ids: [DE822222226]}
"""


def invoice(path: Path, number: str, seller_vat: str, total: str) -> Path:
    """An invoice whose letterhead is a logo (no seller name in the text): only the footer's VAT id tells."""
    page = canvas.Canvas(str(path), pagesize=A4)
    page.rect(72, 760, 120, 40, fill=1)  # the logo
    page.setFont("Helvetica", 11)
    page.drawString(72, 720, "Kundenwerk AG")
    page.drawString(72, 706, "Am Hafen 3, 20457 Hamburg")
    page.drawString(72, 660, f"Rechnung Nr. {number}")
    page.drawString(72, 644, "Rechnungsdatum: 05.03.2026")
    page.drawString(72, 600, f"Gesamtbetrag: {total} EUR")
    page.setFont("Helvetica", 8)
    page.drawString(72, 60, f"USt-IdNr.: {seller_vat} · Amtsgericht Hamburg")
    page.showPage()
    page.save()
    return path


def test_the_same_number_from_two_own_companies_is_two_invoices_and_from_one_is_a_duplicate(data_root: Path,
                                                                                               tmp_path: Path) -> None:
    config = write_config(data_root / "config.yaml", COMPANIES)
    server = Server(data_root / "data", config=config).start()
    try:
        client = Client(server.uri)
        handel = invoice(tmp_path / "handel.pdf", "RE-1001", "DE 811 111 118", "119,00")
        service = invoice(tmp_path / "service.pdf", "RE-1001", "DE822222226", "238,00")
        handel_again = invoice(tmp_path / "handel-again.pdf", "RE-1001", "DE811111118", "357,00")
        for number, pdf in enumerate((handel, service, handel_again), 1):
            assert client.print_file(pdf).code == StatusCode.SUCCESSFUL_OK
            wait_for_invoices(server.data_dir, number)  # one at a time: the order decides which is the original
        rows = sorted(wait_for_invoices(server.data_dir, 3), key=lambda row: row["id"])
        assert [row["seller"] for row in rows] == ["Nordlicht Handel GmbH", "Nordlicht Service GmbH",
                                                   "Nordlicht Handel GmbH"]
        assert [row["invoice_number"] for row in rows] == ["RE-1001"] * 3
        assert "possible-duplicate" not in (rows[0]["state"], rows[1]["state"])
        assert rows[2]["state"] == "possible-duplicate" and str(rows[0]["id"]) in rows[2]["reason"]
    finally:
        server.stop()
