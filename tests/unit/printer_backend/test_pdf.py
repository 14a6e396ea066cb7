"""A PDF is checked in a limited child: kept as it is, repaired, or refused with a reason."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pypdf
import pytest
from reportlab.lib.pagesizes import letter

from printer_backend.errors import ConversionRefused
from printer_backend.limits import Limits
from printer_backend.pdf import check_pdf, usable_text
from tests.support.printed import INVOICE_NUMBER, INVOICE_TOTAL, PRINTED, invoice_pdf


def test_a_sound_invoice_is_left_alone_and_described(tmp_path: Path) -> None:
    source = invoice_pdf(tmp_path / "invoice.pdf", pages=3)
    repaired = tmp_path / "repaired.pdf"
    check = check_pdf(source, repaired, limits=Limits())
    assert (check.pages, check.has_text, check.repaired) == (3, True, False)
    assert check.page_sizes == ((595.28, 841.89),) * 3
    assert repaired.stat().st_size == 0  # nothing written: the caller keeps the input


@pytest.mark.parametrize("pdf", PRINTED, ids=lambda p: p.name[:50])
def test_every_printed_corpus_invoice_is_sound_and_has_text(pdf: Path) -> None:
    check = check_pdf(pdf, None, limits=Limits())
    assert not check.repaired
    assert check.has_text, check.notes
    assert check.pages == len(pikepdf.open(pdf).pages)


def test_a_broken_cross_reference_table_is_repaired(tmp_path: Path) -> None:
    data = invoice_pdf(tmp_path / "invoice.pdf", pages=2).read_bytes()
    offset = list(re.finditer(rb"startxref\s+(\d+)", data))[-1]
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(data[: offset.start(1)] + b"1234" + data[offset.end(1) :])

    repaired = tmp_path / "repaired.pdf"
    check = check_pdf(damaged, repaired, limits=Limits())

    assert check.repaired and check.pages == 2
    assert any(note.startswith("repaired:") for note in check.notes)
    with pikepdf.open(repaired) as pdf:
        assert not pdf.get_warnings()
    text = pypdf.PdfReader(repaired).pages[0].extract_text()
    assert INVOICE_NUMBER in text and INVOICE_TOTAL in text


def test_damage_is_a_refusal_when_no_repair_is_wanted(tmp_path: Path) -> None:
    data = invoice_pdf(tmp_path / "invoice.pdf").read_bytes()
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(data.replace(b"startxref", b"startxrefX"))
    with pytest.raises(ConversionRefused, match="damaged"):
        check_pdf(damaged, None, limits=Limits())


def test_a_truncated_pdf_is_refused(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(PRINTED[0].read_bytes()[:600])
    with pytest.raises(ConversionRefused, match="damaged beyond repair"):
        check_pdf(truncated, tmp_path / "out.pdf", limits=Limits())


def test_a_repair_that_would_lose_page_content_is_refused(tmp_path: Path) -> None:
    data = PRINTED[0].read_bytes()
    half = tmp_path / "half.pdf"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionRefused, match="damaged beyond repair"):
        check_pdf(half, tmp_path / "out.pdf", limits=Limits())


def test_a_pdf_locked_with_a_user_password_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(invoice_pdf(tmp_path / "invoice.pdf")) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    with pytest.raises(ConversionRefused, match="password"):
        check_pdf(locked, tmp_path / "out.pdf", limits=Limits())


def test_a_pdf_with_only_an_owner_password_opens_and_keeps_its_text(tmp_path: Path) -> None:
    restricted = tmp_path / "restricted.pdf"
    with pikepdf.open(invoice_pdf(tmp_path / "invoice.pdf")) as pdf:
        pdf.save(restricted, encryption=pikepdf.Encryption(user="", owner="owner"))
    check = check_pdf(restricted, tmp_path / "out.pdf", limits=Limits())
    assert not check.repaired and check.has_text
    assert any("owner password" in note for note in check.notes)


def test_a_decompression_bomb_is_refused_within_the_memory_limit(bomb_pdf: Path, tmp_path: Path) -> None:
    limits = Limits(memory_bytes=384 * 2**20)
    with pytest.raises(ConversionRefused) as refused:
        check_pdf(bomb_pdf, tmp_path / "out.pdf", limits=limits)
    assert re.search("decompression bomb|memory limit", refused.value.reason)
    assert refused.value.peak_memory_bytes is not None
    assert refused.value.peak_memory_bytes <= limits.memory_bytes


def test_a_tighter_memory_limit_stops_the_bomb_sooner(bomb_pdf: Path, tmp_path: Path) -> None:
    with pytest.raises(ConversionRefused, match="memory limit reached"):
        check_pdf(bomb_pdf, tmp_path / "out.pdf", limits=Limits(memory_bytes=128 * 2**20))


def test_too_many_pages_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConversionRefused, match="more than the limit of 2"):
        check_pdf(invoice_pdf(tmp_path / "long.pdf", pages=3), None, limits=Limits(max_pages=2))


def test_page_sizes_are_as_displayed(tmp_path: Path) -> None:
    source = invoice_pdf(tmp_path / "letter.pdf", pages=2, pagesize=letter)
    with pikepdf.open(source, allow_overwriting_input=True) as pdf:
        pdf.pages[1].obj["/Rotate"] = 90
        pdf.save(source)
    check = check_pdf(source, None, limits=Limits())
    assert check.page_sizes == ((612.0, 792.0), (792.0, 612.0))


def test_a_pdf_without_text_is_marked(tmp_path: Path) -> None:
    blank = tmp_path / "blank.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(blank)
    check = check_pdf(blank, None, limits=Limits())
    assert not check.has_text and "no usable text layer" in check.notes


def test_a_check_that_runs_out_of_time_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(ConversionRefused, match="time limit reached"):
        check_pdf(PRINTED[0], None, limits=Limits(wall_seconds=0.001))


@pytest.mark.parametrize(
    "text",
    [
        "Rechnung Nr. 471102 vom 05.03.2018\nMuster GmbH, Hauptstraße 1\nGesamtbetrag 1.234,56 €",
        "FACTURE n° F-2024-12 Total TTC : 99,00 € Échéance 30/04/2024",
        "請求書 番号 12345 合計金額 ¥10,000 お支払い期限 2024年4月30日 株式会社サンプル",
    ],
)
def test_real_words_are_usable_text(text: str) -> None:
    assert usable_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n  ",
        "\x01\x02\x03\x04\x05\x06\x03\x07\x05\x02\x08\t\x06\x03\n\x01\x0b\x0c\x03\r\x03\x0e\x0f\x10\x0f\x03\x11",
        "✁✂✄☎✆✝☎☎✁ ✞✟✠ ✡☎✆☛☞✠✌☞✍✝✟✎✏ ✑☎✠ ✒✓✡ ✔✕☞✁☎✎ ✖✗✎ ✘✙✚✛☎ ✜✕ ✢✣✤✔✜☎✍✝✎✟✎✏☎✎",
        '!"#$%&\'()*+,-./0123 !"#$ %&\'( )*+, -./0 1234 !"#$%&',
        "xqzkrt bvnmpl trkzq wrtzpl kjhgf dfghj sdfgh wrtz",
    ],
)
def test_glyph_numbers_and_letter_soup_are_not_usable_text(text: str) -> None:
    assert not usable_text(text)
