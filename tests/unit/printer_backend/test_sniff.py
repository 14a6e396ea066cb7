"""A document's format comes from its first bytes, whatever the client says it is."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printer_backend.sniff import FORMATS, HEAD_BYTES, describe, sniff
from tests.support.printed import PRINTED


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b"\x00\x00 some junk a driver put first\n%PDF-1.4\n", "application/pdf"),
        (b"%!PS-Adobe-3.0\n%%Creator: test\n", "application/postscript"),
        (b"\x04%!PS-Adobe-3.0\n", "application/postscript"),  # ^D from a Windows driver
        (b"\r\n%!PS\n", "application/postscript"),
        (
            b"\x1b%-12345X@PJL JOB NAME=\"invoice\"\r\n@PJL ENTER LANGUAGE=POSTSCRIPT\r\n%!PS-Adobe-3.0\n",
            "application/postscript",
        ),
        (b"\x1b%-12345X@PJL SET RESOLUTION=600\r\n%!PS-Adobe-3.0\n", "application/postscript"),
        (b"\xc5\xd0\xd3\xc6" + struct.pack("<6IH", 30, 100, 0, 0, 0, 0, 0xFFFF) + b"%!PS", "application/postscript"),
        (b"RaS2PwgRaster\x00", "image/pwg-raster"),
        (b"UNIRAST\x00\x00\x00\x00\x02", "image/urf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"Invoice 4711\r\nTotal 1.234,56 EUR\f\tpage two\n", "text/plain"),
        ("Rechnung Nr. 4711 – Gesamtbetrag 1.234,56 €\n".encode(), "text/plain"),
        ("Facture n° 12 — total 99,00 €\n".encode("cp1252"), "text/plain"),  # legacy single-byte text
    ],
)
def test_recognises_each_format_from_its_first_bytes(head: bytes, expected: str) -> None:
    assert sniff(head) == expected


def test_utf8_text_cut_inside_a_character_at_the_head_boundary_is_still_text() -> None:
    text = ("ä" * HEAD_BYTES).encode()[:HEAD_BYTES - 1]  # ends on half of a two-byte character
    assert sniff(text) == "text/plain"


@pytest.mark.parametrize(
    ("head", "named"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "a ZIP archive"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a PNG image"),
        (b"\x7fELF\x02\x01\x01\x00", "a Linux program"),
        (b"MZ\x90\x00\x03\x00", "a Windows program"),
        (b"\x1bE\x1b&l0O", "a PCL printer job"),
        (b"\x1b%-12345X@PJL ENTER LANGUAGE=PCLXL\r\n) HP-PCL XL;2;0", "not PostScript"),
        (b"RaSt\x00\x00", "CUPS raster"),
        (b"", "an empty document"),
        (b"\x00\x01\x02\x03binary", "binary data starting 00 01 02 03"),
    ],
)
def test_refuses_what_it_does_not_print_and_names_it(head: bytes, named: str) -> None:
    assert sniff(head) is None
    assert named in describe(head)


def test_a_name_includes_the_first_bytes_so_an_admin_can_look_it_up() -> None:
    assert describe(b"MZ\x90\x00rest") == "a Windows program (starting 4d 5a 90 00)"


def test_text_with_nul_bytes_is_not_text() -> None:
    assert sniff(b"Invoice\x00\x00\x00 4711\n") is None


@pytest.mark.parametrize("pdf", PRINTED[:5], ids=lambda p: p.name[:40])
def test_real_invoices_are_pdf(pdf: Path) -> None:
    assert sniff(pdf.read_bytes()[:HEAD_BYTES]) == "application/pdf"


@given(st.binary(max_size=HEAD_BYTES))
def test_any_bytes_give_a_known_type_or_none(head: bytes) -> None:
    assert sniff(head) in (*FORMATS, None)
    assert describe(head)
