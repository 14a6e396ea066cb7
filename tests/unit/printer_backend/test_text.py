"""Plain text is typeset like a line printer would: paginated, wrapped, readable back."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pypdf
import pytest

from printer_backend.limits import Limits
from printer_backend.text import columns, convert_text, lines_per_page, paginate


def numbered_lines(first: int, last: int) -> str:
    return "".join(f"Invoice line {n:03d}\n" for n in range(first, last + 1))


@pytest.mark.parametrize(("paper", "size"), [("A4", (595.28, 841.89)), ("Letter", (612.0, 792.0))])
def test_two_hundred_lines_with_a_form_feed_are_paginated(
    paper: str, size: tuple[float, float], tmp_path: Path
) -> None:
    source = tmp_path / "report.txt"
    source.write_text(numbered_lines(1, 125) + "\f" + numbered_lines(126, 200))
    output = tmp_path / "report.pdf"

    result = convert_text(source, output, paper=paper, limits=Limits())

    rows = lines_per_page(paper)
    expected = math.ceil(125 / rows) + math.ceil(75 / rows)
    assert (paper, expected) in {("A4", 4), ("Letter", 5)}  # 64 and 60 lines per page
    assert result.pages == expected and result.page_sizes == (size,) * expected
    reader = pypdf.PdfReader(output)
    assert len(reader.pages) == expected
    texts = [page.extract_text() for page in reader.pages]
    assert texts[0].startswith("Invoice line 001")
    assert texts[1].startswith(f"Invoice line {rows + 1:03d}")
    after_form_feed = math.ceil(125 / rows)
    assert texts[after_form_feed].startswith("Invoice line 126")
    assert "Invoice line 125" in texts[after_form_feed - 1]
    assert texts[-1].rstrip().endswith("Invoice line 200")
    assert [float(v) for v in reader.pages[0].mediabox[2:]] == pytest.approx(size, abs=0.01)


def test_long_lines_wrap_and_tabs_expand(tmp_path: Path) -> None:
    source = tmp_path / "wide.txt"
    long_line = "".join(f"{n % 10}" for n in range(200))
    source.write_text(f"Qty\tItem\tPrice\n{long_line}\n")
    output = tmp_path / "wide.pdf"
    convert_text(source, output, paper="A4", limits=Limits())
    lines = pypdf.PdfReader(output).pages[0].extract_text().splitlines()
    assert lines[0] == "Qty     Item    Price"
    cols = columns("A4", 0.602 * 10)
    assert lines[1:4] == [long_line[:cols], long_line[cols : 2 * cols], long_line[2 * cols :]]


@pytest.mark.parametrize(
    ("data", "expected", "note"),
    [
        ("Gesamtbetrag 1.234,56 € – fällig\n".encode(), "Gesamtbetrag 1.234,56 € – fällig", None),
        ("Total 99,00 € à payer\n".encode("cp1252"), "Total 99,00 € à payer", "Windows-1252"),
        (b"Caf\xe9 \x81bill\n", "Café bill", "Latin-1"),  # 0x81 is not Windows-1252
    ],
)
def test_text_is_decoded_as_utf8_else_windows_1252_else_latin1(
    data: bytes, expected: str, note: str | None, tmp_path: Path
) -> None:
    source = tmp_path / "bill.txt"
    source.write_bytes(data)
    output = tmp_path / "bill.pdf"
    result = convert_text(source, output, paper="A4", limits=Limits())
    text = pypdf.PdfReader(output).pages[0].extract_text()
    assert expected in text
    if note is None:
        assert not any("decoded as" in n for n in result.notes)
    else:
        assert any(note in n for n in result.notes)


def test_an_empty_file_prints_one_blank_page(tmp_path: Path) -> None:
    source = tmp_path / "empty.txt"
    source.write_bytes(b"")
    assert convert_text(source, tmp_path / "empty.pdf", paper="A4", limits=Limits()).pages == 1


def test_a_page_limit_stops_endless_text(tmp_path: Path) -> None:
    from printer_backend.errors import ConversionRefused

    source = tmp_path / "long.txt"
    source.write_text(numbered_lines(1, 500))
    with pytest.raises(ConversionRefused, match="more than 3 pages"):
        convert_text(source, tmp_path / "long.pdf", paper="A4", limits=Limits(max_pages=3))


@pytest.mark.parametrize(
    ("text", "pages"),
    [
        ("a\nb\n", [["a", "b"]]),
        ("a\fb\n", [["a"], ["b"]]),
        ("\fa\n", [["a"]]),  # a form feed before anything starts no blank page
        ("a\n\f", [["a"]]),  # nor one at the very end
        ("a\n\nb\n", [["a", "", "b"]]),  # blank lines stay
        ("1\n2\n3\n4\n", [["1", "2", "3"], ["4"]]),
        ("x\x00y\x1bz\n", [["xyz"]]),  # control characters print as nothing
    ],
)
def test_paginate(text: str, pages: list[list[str]]) -> None:
    assert list(paginate(io.StringIO(text), cols=10, rows=3)) == pages
