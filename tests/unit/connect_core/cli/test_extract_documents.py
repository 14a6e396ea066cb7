"""``pagero-connect extract`` reads what ``import`` accepts: plain text is converted first, quietly."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support.cli import cli

PYPDF_NOISE = ("invalid pdf header", "EOF marker not found", "Stream has ended")


def test_a_text_invoice_is_converted_and_read(data_root: Path) -> None:
    text = data_root / "invoice.txt"
    text.write_text("ACME Supplies Ltd\nInvoice number: TXT-2026-7\nInvoice date: 2026-03-01\n"
                    "Total: 120.50 EUR\n")
    result = cli(data_root / "data", "extract", str(text), "--json")
    (invoice,) = json.loads(result.stdout)
    assert invoice["invoice_number"] == "TXT-2026-7" and invoice["total"] == "120.50"
    assert result.stderr == ""
    assert not (data_root / "data").exists()  # extract reads; it makes no store


def test_a_document_nothing_can_print_is_one_line_without_pypdf_noise(data_root: Path) -> None:
    junk = data_root / "bytes.bin"
    junk.write_bytes(b"\x98\x42\x5f\xc8" + os.urandom(2000))
    result = cli(data_root / "data", "extract", str(junk), check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"pagero-connect: {junk}: refused — cannot print binary data")
    assert result.stderr.count("\n") == 1
    assert not any(noise in result.stderr for noise in PYPDF_NOISE)


def test_a_damaged_pdf_is_one_line_without_pypdf_noise(data_root: Path) -> None:
    broken = data_root / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis PDF ends here")
    result = cli(data_root / "data", "extract", str(broken), check=False)
    assert result.returncode == 2 and result.stdout == ""
    # one line: pypdf's own warnings ("invalid pdf header", "EOF marker not found") no longer come first
    assert result.stderr.startswith(f"pagero-connect: {broken}: refused — the PDF is damaged beyond repair")
    assert result.stderr.count("\n") == 1
