"""Page text with its columns, from a confined pdftotext: what the invoice reader works on."""

from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from printer_backend.limits import Limits
from printer_backend.pdftext import page_texts


def two_pages(path: Path) -> Path:
    canvas = Canvas(str(path), pagesize=A4)
    canvas.setFont("Helvetica", 10)
    canvas.drawString(300, 700, "Invoice no.")
    canvas.drawString(420, 700, "Date")
    canvas.drawString(300, 688, "INV-4711")
    canvas.drawString(420, 688, "05.03.2024")
    canvas.showPage()
    canvas.setFont("Helvetica", 10)
    canvas.drawString(72, 700, "Page two")
    canvas.save()
    return path


def test_each_page_keeps_its_columns(tmp_path: Path) -> None:
    first, second = page_texts(two_pages(tmp_path / "two.pdf"), 2, limits=Limits())
    header = next(line for line in first.splitlines() if "Invoice no." in line)
    values = next(line for line in first.splitlines() if "INV-4711" in line)
    assert header.index("Invoice no.") == values.index("INV-4711")  # the value stands under its label
    assert header.index("Date") == values.index("05.03.2024")
    assert "Page two" in second and "INV-4711" not in second


def test_pages_beyond_the_document_or_the_page_limit_are_empty(tmp_path: Path) -> None:
    pdf = two_pages(tmp_path / "two.pdf")
    assert page_texts(pdf, 3, limits=Limits())[2] == ""
    assert len(page_texts(pdf, 2, limits=Limits(max_pages=1))) == 1
    assert page_texts(pdf, 0, limits=Limits()) == []


def test_a_damaged_document_is_pages_without_text_not_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 1000)
    assert page_texts(broken, 2, limits=Limits()) == ["", ""]


def test_the_file_name_never_reaches_a_command(tmp_path: Path) -> None:
    # The PDF is handed over on standard input: a name full of shell syntax is just a name.
    hostile = two_pages(tmp_path / "$(touch pwned); `touch pwned2` -o x.pdf")
    assert "INV-4711" in page_texts(hostile, 1, limits=Limits())[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == [hostile.name]


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        page_texts(tmp_path / "missing.pdf", 1, limits=Limits())
