"""Every print document becomes one PDF whose text can still be read, or a clear reason why not."""

from __future__ import annotations

import ast
import json
import zipfile
from pathlib import Path

import pikepdf
import pypdf
import pytest

import printer_backend
from printer_backend.convert import BackendError, ConversionRefused, Limits, UnsupportedFormat, convert, main
from tests.support.printed import (
    INVOICE_NUMBER,
    INVOICE_TOTAL,
    PRINTED,
    UNMAPPED_SOURCE,
    Canaries,
    invoice_pdf,
    sha256,
)
from tests.unit.printer_backend.test_ghostscript import HOSTILE


@pytest.mark.parametrize("pdf", PRINTED, ids=lambda p: p.name[:50])
def test_every_printed_corpus_invoice_passes_through_byte_for_byte(pdf: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.pdf"
    result = convert(pdf, output)
    assert result.passthrough and result.source_format == "application/pdf"
    assert sha256(output) == sha256(pdf)
    assert result.has_text and result.pages == len(result.page_sizes) >= 1


def test_postscript_with_unicode_fonts_keeps_its_invoice_text(invoice_ps: Path, tmp_path: Path) -> None:
    output = tmp_path / "invoice.pdf"
    result = convert(invoice_ps, output)
    assert (result.source_format, result.pages, result.has_text, result.passthrough) == (
        "application/postscript", 2, True, False,
    )
    text = pypdf.PdfReader(output).pages[0].extract_text()
    assert INVOICE_NUMBER in text and INVOICE_TOTAL in text
    assert any(note.startswith("Ghostscript confined by -dSAFER") for note in result.notes)


def test_postscript_printed_from_a_pdf_without_unicode_maps_is_marked_without_text(
    unmapped_ps: Path, tmp_path: Path
) -> None:
    result = convert(unmapped_ps, tmp_path / "printed.pdf")
    with pikepdf.open(UNMAPPED_SOURCE) as original:
        sizes = [tuple(float(v) for v in page.mediabox[2:]) for page in original.pages]
    assert result.pages == len(sizes) == 2
    for (width, height), (want_w, want_h) in zip(result.page_sizes, sizes, strict=True):
        assert abs(width - want_w) <= 1 and abs(height - want_h) <= 1
    assert result.has_text is False
    assert "no usable text layer" in result.notes


@pytest.mark.parametrize(("paper", "size"), [("A4", (595.0, 842.0)), ("Letter", (612.0, 792.0))])
def test_postscript_without_a_page_size_gets_the_configured_paper(
    paper: str, size: tuple[float, float], tmp_path: Path
) -> None:
    source = tmp_path / "bare.ps"
    source.write_text("%!PS\n/Helvetica findfont 20 scalefont setfont 72 72 moveto (Total 12,00 EUR) show showpage\n")
    assert convert(source, tmp_path / "out.pdf", paper=paper).page_sizes == (size,)


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_a_hostile_postscript_job_gets_nothing(case: str, canaries: Canaries, tmp_path: Path) -> None:
    source = canaries.job(HOSTILE[case][0](canaries))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = canaries.tree()
    with pytest.raises(ConversionRefused, match="^conversion failed: "):
        convert(source, out_dir / "job.pdf", limits=Limits(cpu_seconds=10, wall_seconds=30))
    assert list(out_dir.iterdir()) == []
    assert not any(path.exists() for path in canaries.forbidden_writes())
    assert canaries.tree() == before


def test_an_endless_postscript_job_is_refused(canaries: Canaries, tmp_path: Path) -> None:
    with pytest.raises(ConversionRefused, match="CPU limit reached"):
        convert(canaries.job("%!PS\n{} loop\n"), tmp_path / "out.pdf", limits=Limits(cpu_seconds=2))
    assert not (tmp_path / "out.pdf").exists()


def test_a_pdf_decompression_bomb_is_refused_under_the_memory_limit(bomb_pdf: Path, tmp_path: Path) -> None:
    limits = Limits(memory_bytes=512 * 2**20)
    with pytest.raises(ConversionRefused) as refused:
        convert(bomb_pdf, tmp_path / "out.pdf", limits=limits)
    assert "decompression bomb" in refused.value.reason
    assert refused.value.peak_memory_bytes is not None and refused.value.peak_memory_bytes <= limits.memory_bytes
    assert list(tmp_path.iterdir()) == []


def test_a_raster_header_claiming_100000_by_100000_pixels_is_refused(tmp_path: Path) -> None:
    from tests.unit.printer_backend.test_raster import pwg_header

    bomb = tmp_path / "bomb.pwg"
    bomb.write_bytes(b"RaS2" + pwg_header(width=100_000, height=100_000, resolution=600))
    limits = Limits(memory_bytes=256 * 2**20)
    with pytest.raises(ConversionRefused, match="larger than the limit") as refused:
        convert(bomb, tmp_path / "out.pdf", limits=limits)
    assert refused.value.peak_memory_bytes is not None and refused.value.peak_memory_bytes <= limits.memory_bytes


def test_unknown_content_is_named(tmp_path: Path) -> None:
    archive = tmp_path / "invoice.pdf"  # the name lies; the content decides
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(UnsupportedFormat, match="cannot print a ZIP archive"):
        convert(archive, tmp_path / "out.pdf", claimed_format="application/pdf")


def test_a_damaged_pdf_is_repaired(tmp_path: Path) -> None:
    data = invoice_pdf(tmp_path / "invoice.pdf").read_bytes()
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(data.replace(b"startxref", b"startxrefX"))
    output = tmp_path / "out.pdf"
    result = convert(damaged, output)
    assert not result.passthrough and result.has_text
    assert any(note.startswith("repaired:") for note in result.notes)
    assert INVOICE_NUMBER in pypdf.PdfReader(output).pages[0].extract_text()


@pytest.mark.parametrize("damage", ["truncated", "locked"])
def test_hopeless_and_locked_pdfs_are_refused_with_a_reason(damage: str, tmp_path: Path) -> None:
    source = tmp_path / f"{damage}.pdf"
    if damage == "truncated":
        source.write_bytes(PRINTED[1].read_bytes()[:700])
        reason = "damaged beyond repair"
    else:
        with pikepdf.open(PRINTED[1]) as pdf:
            pdf.save(source, encryption=pikepdf.Encryption(user="1234", owner="5678"))
        reason = "protected by a password"
    with pytest.raises(ConversionRefused, match=reason):
        convert(source, tmp_path / "out.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


def test_a_claim_that_contradicts_the_content_is_ignored_and_noted(invoice_ps: Path, tmp_path: Path) -> None:
    text = tmp_path / "note.txt"
    text.write_text("Invoice 4711\nTotal 12,00 EUR\n")
    result = convert(text, tmp_path / "out.pdf", claimed_format="image/pwg-raster")
    assert result.source_format == "text/plain" and result.has_text
    assert "sent as image/pwg-raster but the content is text/plain; converted as text/plain" in result.notes
    agreeing = convert(text, tmp_path / "out2.pdf", claimed_format="text/plain; charset=utf-8")
    assert not any(note.startswith("sent as") for note in agreeing.notes)


def test_a_refusal_leaves_an_existing_output_untouched(tmp_path: Path) -> None:
    output = tmp_path / "out.pdf"
    output.write_bytes(b"previous")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02\x03" * 100)
    with pytest.raises(BackendError):
        convert(junk, output)
    assert output.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.bin", "out.pdf"]


def test_a_pdf_converted_onto_itself_is_left_alone(tmp_path: Path) -> None:
    pdf = tmp_path / "in-place.pdf"
    pdf.write_bytes(PRINTED[0].read_bytes())
    result = convert(pdf, pdf)
    assert result.passthrough and sha256(pdf) == sha256(PRINTED[0])


def test_cli_writes_a_pdf_and_exits_0(invoice_ps: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "cli.pdf"
    assert main(["convert", str(invoice_ps), "-o", str(output), "--paper", "Letter", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pages"] == 2 and report["has_text"] is True
    assert output.read_bytes().startswith(b"%PDF-")


def test_cli_refuses_with_exit_2_and_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "docs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("a.txt", "a")
    assert main([str(archive), "-o", str(tmp_path / "out.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ZIP archive" in err
    assert not (tmp_path / "out.pdf").exists()


def test_cli_refuses_a_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nothing.ps"), "-o", str(tmp_path / "out.pdf")]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_the_backend_imports_neither_the_core_nor_the_printer() -> None:
    package = Path(printer_backend.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            assert not any(n.split(".")[0] in ("connect_core", "ipp") for n in names), module.name
