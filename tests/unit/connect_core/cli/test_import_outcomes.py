"""``pagero-connect import`` says per file what became of it; a refused document makes the exit status 1."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cli import INVOICE, cli, invoices


def junk(folder: Path) -> Path:
    """Random bytes nothing can print."""
    path = folder / "bytes.bin"
    path.write_bytes(b"\x98\x42\x5f\xc8" + os.urandom(4000))
    return path


def letter(folder: Path) -> Path:
    """Plain text that is no invoice: it converts, then needs attention."""
    path = folder / "letter.txt"
    path.write_text("Dear customer,\nthank you for your visit.\n")
    return path


def test_random_bytes_are_refused_with_the_reason_and_exit_status_1(data_root: Path) -> None:
    result = cli(data_root / "data", "import", str(junk(data_root)), check=False)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("bytes.bin: refused — cannot print binary data starting 98 42 5f c8")
    assert result.stdout.count("\n") == 1
    assert "Imported" not in result.stdout and "Traceback" not in result.stderr
    assert [row["state"] for row in invoices(data_root / "data")] == ["invalid"]


def test_an_invoice_says_where_it_went(data_root: Path) -> None:
    result = cli(data_root / "data", "import", str(INVOICE))
    (row,) = invoices(data_root / "data")
    assert result.stdout == f"{INVOICE.name}: 1 invoice ({row['id']}), ready\n"


def test_a_document_that_needs_attention_is_imported_not_failed(data_root: Path) -> None:
    result = cli(data_root / "data", "import", str(letter(data_root)))
    assert result.returncode == 0
    assert result.stdout.startswith("letter.txt: 1 invoice (1), needs-attention (")


def test_several_files_each_get_their_line_and_one_refusal_fails_the_command(data_root: Path) -> None:
    files = [INVOICE, junk(data_root), letter(data_root), INVOICE]
    result = cli(data_root / "data", "import", *map(str, files), check=False)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [INVOICE.name, "bytes.bin", "letter.txt", INVOICE.name]
    assert lines[0].endswith(", ready") and "refused — " in lines[1]
    assert "needs-attention" in lines[2] and "possible-duplicate" in lines[3]
    assert "4/4" in result.stderr  # the progress bar
    assert len(invoices(data_root / "data")) == 4
