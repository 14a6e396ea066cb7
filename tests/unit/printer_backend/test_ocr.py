"""OCR: pages without readable text get an invisible, well-placed text layer from a confined Tesseract.

Every page here is made by real tools (Ghostscript, Pillow) from a real corpus invoice, and read
by the real Tesseract.  Readable pages are never touched; a page that cannot be read says why.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from printer_backend.confine import NOBODY
from printer_backend.convert import Conversion, OcrSettings, convert
from printer_backend.ocr import (
    MIN_DPI,
    _dpi,
    _placement,
    _Word,
    available,
    languages_for_country,
    layout_text,
    recognised_pages,
)
from printer_backend.readable import readable
from tests.support import scans
from tests.support.harness import CORPUS
from tests.support.processes import descends_from

INVOICE = CORPUS / "printed" / "Mustangproject__MustangGnuaccountingBeispielRE-20190610_507.pdf"
NUMBER = "RE-20190610/507"
OCR = OcrSettings(languages=("deu", "eng"))


def text_of(pdf: Path, *options: str) -> str:
    return subprocess.run(["pdftotext", *options, str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def render(pdf: Path, dpi: int = 50) -> Image.Image:
    png = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", str(pdf)],
                         capture_output=True, check=True, timeout=60).stdout
    return Image.open(io.BytesIO(png)).convert("L")


@pytest.fixture(scope="module")
def pwg_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scans.pwg(INVOICE, tmp_path_factory.mktemp("pwg") / "invoice.pwg")


def test_tesseract_is_here_with_the_offices_languages() -> None:
    engine = available()
    assert {"eng", "deu", "fra", "nld", "swe", "spa", "ita", "pol", "dan", "fin", "nor"} <= set(engine.languages)
    assert engine.orientation


def watch_children(stop: threading.Event, seen: dict[str, dict[str, Any]]) -> None:
    """Note, for each OCR tool this process started, its uid, network namespace, memory limit and niceness."""
    while not stop.is_set():
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                name = (entry / "comm").read_text().strip()
                if name not in ("tesseract", "pdftoppm") or name in seen:
                    continue
                status = (entry / "status").read_text()
                if not descends_from(int(entry.name), os.getpid()):  # ours, through the walls' wrappers
                    continue
                uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
                limits = (entry / "limits").read_text()
                memory = next(line for line in limits.splitlines() if line.startswith("Max address space"))
                seen[name] = {"uid": uid, "net": os.readlink(entry / "ns" / "net"), "memory": memory.split()[3],
                              "nice": int((entry / "stat").read_text().rsplit(")", 1)[1].split()[16])}
            except (OSError, StopIteration, ValueError, IndexError):
                continue
        time.sleep(0.01)


@contextlib.contextmanager
def watching() -> Iterator[dict[str, dict[str, Any]]]:
    available()  # its probe (tesseract --list-langs, on no document) is not what is watched
    stop, seen = threading.Event(), {}  # type: ignore[var-annotated]
    watcher = threading.Thread(target=watch_children, args=(stop, seen))
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join()


def assert_confined(seen: dict[str, dict[str, Any]], name: str) -> None:
    facts = seen[name]
    assert facts["net"] != os.readlink("/proc/self/ns/net"), name
    assert facts["memory"] == str(OCR.memory_bytes), name
    assert facts["nice"] >= 10, name
    if os.geteuid() == 0:
        assert facts["uid"] == NOBODY, name


def test_a_raster_page_gets_an_invisible_text_layer_from_a_confined_tesseract(pwg_page: Path, tmp_path: Path) -> None:
    plain = convert(pwg_page, tmp_path / "plain.pdf")
    with watching() as seen:
        made = convert(pwg_page, tmp_path / "ocr.pdf", ocr=OCR)

    assert made.has_text and not plain.has_text and made.pages == 1
    assert NUMBER in text_of(tmp_path / "ocr.pdf")  # selectable text, what Pagero Online gets
    page = made.recognised[0]
    assert page.page == 1 and page.failed is None and page.confidence > 0.8 and len(page.words) > 50
    assert recognised_pages(PdfReader(tmp_path / "ocr.pdf"))[1].text == page.text
    assert NUMBER in page.text
    # the page looks exactly as before: the text is invisible
    assert render(tmp_path / "ocr.pdf").tobytes() == render(tmp_path / "plain.pdf").tobytes()
    # Tesseract and the renderer ran behind the walls, below the printer's priority
    assert set(seen) == {"tesseract"}, seen  # a raster page is read from its own pixels: nothing rendered
    assert_confined(seen, "tesseract")


def test_readable_pages_are_never_recognised(tmp_path: Path) -> None:
    made = convert(INVOICE, tmp_path / "out.pdf", ocr=OCR)
    assert made.passthrough and made.recognised == ()
    assert (tmp_path / "out.pdf").read_bytes() == INVOICE.read_bytes()
    text = tmp_path / "letter.txt"
    text.write_text("Rechnung 4711\nSumme 12,00 EUR\n")
    assert convert(text, tmp_path / "letter.pdf", ocr=OCR).recognised == ()


def test_postscript_that_lost_its_character_codes_is_read_and_its_garbage_hidden(tmp_path: Path) -> None:
    postscript = scans.ps2write(INVOICE, tmp_path / "invoice.ps")
    convert(postscript, tmp_path / "plain.pdf")
    garbage = text_of(tmp_path / "plain.pdf", "-layout")
    assert len(garbage.split()) > 100 and not readable(garbage)  # "text", but garbage

    with watching() as seen:
        made = convert(postscript, tmp_path / "ocr.pdf", ocr=OcrSettings(languages=("deu", "eng", "xyz")))
    assert_confined(seen, "pdftoppm")  # a page drawn with text and lines is rendered first, behind the same walls
    assert_confined(seen, "tesseract")
    extracted = text_of(tmp_path / "ocr.pdf", "-layout")
    assert NUMBER in extracted and readable(extracted)
    assert "\x01" not in extracted and "<," not in extracted  # the garbage layer is hidden from extraction
    assert "OCR languages not installed, left out: xyz" in made.notes
    assert render(tmp_path / "ocr.pdf").tobytes() == render(tmp_path / "plain.pdf").tobytes()


def test_a_skewed_noisy_scan_is_straightened_and_its_words_lie_over_the_print(tmp_path: Path) -> None:
    jpeg = scans.scan(INVOICE, tmp_path / "scan.jpg", dpi=200, skew=2.0)
    made = convert(jpeg, tmp_path / "ocr.pdf", ocr=OCR)
    page = made.recognised[0]
    assert abs(page.skew + 2.0) < 0.5, page.skew
    assert NUMBER in page.text
    assert any(line.strip().startswith("Invoice # " + NUMBER) for line in page.text.splitlines()), page.text

    # where pdftotext says the invoice number is, the scan has ink (the layer is turned back with the scan)
    boxes = text_of(tmp_path / "ocr.pdf", "-bbox")
    found = [line for line in boxes.splitlines() if f">{NUMBER}<" in line]
    assert found, boxes[:2000]
    box = {key: float(value) for key, value in
           (part.split("=") for part in found[0].split("<word ", 1)[1].split(">")[0].replace('"', "").split())}
    picture = render(tmp_path / "ocr.pdf", 72)
    crop = picture.crop((int(box["xMin"]), int(box["yMin"]), int(box["xMax"]) + 1, int(box["yMax"]) + 1))
    dark = sum(crop.histogram()[:128])
    assert dark > 0.08 * crop.width * crop.height, (box, dark)


def test_a_page_scanned_sideways_is_turned_upright_and_read(tmp_path: Path) -> None:
    page = render(INVOICE, 200).rotate(90, expand=True)
    page.save(tmp_path / "sideways.jpg", format="JPEG", quality=85, dpi=(200, 200))
    made = convert(tmp_path / "sideways.jpg", tmp_path / "ocr.pdf", ocr=OCR)
    assert made.recognised[0].turned in (90, 270)
    assert NUMBER in made.recognised[0].text
    assert NUMBER in text_of(tmp_path / "ocr.pdf")


def photo(path: Path) -> Path:
    rng = random.Random(7)
    picture = Image.new("RGB", (1200, 900), (90, 140, 200))
    draw = ImageDraw.Draw(picture)
    for _ in range(40):
        x, y, r = rng.randrange(1200), rng.randrange(900), rng.randrange(20, 160)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    picture.save(path, format="JPEG", quality=85, dpi=(150, 150))
    return path


def test_a_photo_has_no_text_and_says_so(tmp_path: Path) -> None:
    made = convert(photo(tmp_path / "photo.jpg"), tmp_path / "ocr.pdf", ocr=OCR)
    assert made.recognised[0].failed == "no text found"
    assert not made.has_text
    assert "text recognised on 0 of 1 page without text" in made.notes


def dense_page(path: Path) -> Path:
    drawing = canvas.Canvas(str(path), pagesize=A4)
    drawing.setFont("Helvetica", 7)
    for line in range(100):
        drawing.drawString(20, 820 - 8 * line, " ".join(f"Posten {line}-{n} 12,50 EUR" for n in range(8)))
    drawing.save()
    return path


def test_a_page_not_recognised_in_time_is_left_without_text(tmp_path: Path) -> None:
    raster = scans.pwg(dense_page(tmp_path / "dense.pdf"), tmp_path / "dense.pwg")
    started = time.monotonic()
    made = convert(raster, tmp_path / "ocr.pdf", ocr=OcrSettings(languages=("deu",), page_seconds=1))
    assert time.monotonic() - started < 60  # liveness only
    assert made.recognised[0].failed == "text recognition did not finish within 1 s"
    assert made.pages == 1 and not made.has_text
    assert len(PdfReader(tmp_path / "ocr.pdf").pages) == 1


def test_pages_beyond_the_limit_are_left_as_they_are_and_said(tmp_path: Path) -> None:
    pages = tmp_path / "three.pdf"
    drawing = canvas.Canvas(str(pages), pagesize=(200, 100))
    for n in range(3):
        drawing.setFont("Helvetica", 20)
        drawing.drawString(20, 40, f"Seite {n + 1}")
        drawing.showPage()
    drawing.save()
    made = convert(scans.pwg(pages, tmp_path / "three.pwg", dpi=150), tmp_path / "ocr.pdf",
                   ocr=OcrSettings(languages=("deu",), max_pages=2))
    assert [page.page for page in made.recognised] == [1, 2]
    assert [page.text.strip() for page in made.recognised] == ["Seite 1", "Seite 2"]
    assert "text recognised on the first 2 pages only (the limit is 2); 1 more pages have no text" in made.notes
    assert sorted(recognised_pages(PdfReader(tmp_path / "ocr.pdf"))) == [1, 2]


def test_a_huge_page_is_read_at_a_lower_resolution_or_not_at_all(tmp_path: Path) -> None:
    assert _dpi((595.0, 842.0), 300) == 300
    assert MIN_DPI <= _dpi((2384.0, 3370.0), 300) < 300  # A0: fewer dots, never more than MAX_PIXELS  # type: ignore[operator]
    assert _dpi((14400.0, 14400.0), 300) is None  # 200 × 200 inches
    # a tiny image stretched over a 200-inch page (a page size bomb) is not rendered for OCR
    huge = tmp_path / "huge.pdf"
    Image.new("L", (20, 20), 255).save(huge, format="PDF", resolution=0.1)
    made = convert(huge, tmp_path / "ocr.pdf", ocr=OCR)
    assert made.recognised[0].failed is not None and "too large to recognise" in made.recognised[0].failed


def test_a_record_in_a_clients_pdf_that_is_not_ours_is_ignored(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.add_blank_page()
    pdf.pages[0].obj.PieceInfo = pikepdf.Dictionary(PageroConnect=pikepdf.Dictionary(
        Private=pikepdf.Stream(pdf, b"not json")))
    pdf.pages[1].obj.PieceInfo = pikepdf.Dictionary(PageroConnect=pikepdf.Dictionary(
        Private=pikepdf.Stream(pdf, b"x" * (3 * 2**20))))
    pdf.save(tmp_path / "client.pdf")
    assert recognised_pages(PdfReader(tmp_path / "client.pdf")) == {}


def word(text: str, left: int, top: int, line: tuple[int, int, int], width: int | None = None) -> _Word:
    return _Word(text, 95, line, left, top, left + (width or 10 * len(text)), top + 20)


def test_layout_text_keeps_phrases_together_and_columns_apart() -> None:
    words = [word("Invoice", 0, 100, (1, 1, 1)), word("No.", 80, 100, (1, 1, 1)),
             word("4711", 120, 102, (2, 1, 1)),  # another Tesseract block, right beside: the same phrase
             word("Total", 0, 200, (3, 1, 1)), word("12,50", 400, 201, (3, 1, 1)),  # far apart: two cells
             word("Date", 400, 98, (4, 1, 1)), word("05.03.2026", 460, 99, (4, 1, 1))]
    assert layout_text(words).splitlines() == ["Invoice No. 4711                        Date 05.03.2026",
                                               "Total                                   12,50"]
    assert layout_text([]) == ""
    # a reference Tesseract split at its hyphen is one again; a hyphenated word before another stays apart
    split = [word("INV-", 0, 0, (1, 1, 1)), word("2025-001", 45, 0, (1, 1, 1)),
             word("Liefer-", 0, 40, (2, 1, 1)), word("und", 75, 40, (2, 1, 1)), word("Nr.", 120, 40, (2, 1, 1)),
             word("-42", 155, 40, (2, 1, 1))]
    assert layout_text(split).splitlines() == ["INV-2025-001", "Liefer- und Nr. -42"]
    lone = [word("INV", 0, 0, (1, 1, 1)), word("-", 35, 0, (1, 1, 1)), word("2025-002", 50, 0, (1, 1, 1)),
            word("Seite", 0, 40, (2, 1, 1)), word("-", 60, 40, (2, 1, 1)), word("2", 75, 40, (2, 1, 1))]
    assert layout_text(lone).splitlines() == ["INV-2025-002", "Seite - 2"]


def test_the_text_layer_is_placed_back_by_the_same_turns() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(600, 800))
    page = pdf.pages[0]

    def apply(matrix: list[float], x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = matrix
        return round(a * x + c * y + e, 3), round(b * x + d * y + f, 3)

    assert _placement(page, (600, 800), 0, 0.0) == [1, 0, 0, 1, 0, 0]
    # read turned by 90° (the text page is 800 × 600): its top left is the page's top right... and so on
    turned = _placement(page, (800, 600), 90, 0.0)
    assert apply(turned, 0, 0) == (600.0, 0.0) or apply(turned, 0, 0) == (0.0, 800.0)
    assert {apply(turned, *corner) for corner in [(0, 0), (800, 0), (0, 600), (800, 600)]} == \
        {(0.0, 0.0), (600.0, 0.0), (0.0, 800.0), (600.0, 800.0)}
    # straightened by 2°: the centre stays, a corner moves back by the same angle
    skewed = _placement(page, (600, 800), 0, 2.0)
    assert apply(skewed, 300, 400) == (300.0, 400.0)
    assert apply(skewed, 600, 400)[1] < 400  # turned clockwise, back onto the scan


def test_the_languages_follow_the_country_unless_chosen() -> None:
    assert languages_for_country("DE") == ("deu", "eng")
    assert languages_for_country("BE") == ("nld", "fra", "deu", "eng")
    assert languages_for_country("GB") == ("eng",)
    assert languages_for_country(None) == ("deu", "fra", "eng")
    assert languages_for_country("SE", ("fin", "swe", "fin")) == ("fin", "swe")
    with pytest.raises(ValueError, match="Tesseract codes"):
        OcrSettings(languages=("../etc",))
    with pytest.raises(ValueError):
        OcrSettings(languages=())


def test_without_ocr_nothing_is_recognised(pwg_page: Path, tmp_path: Path) -> None:
    made: Conversion = convert(pwg_page, tmp_path / "plain.pdf")
    assert made.recognised == () and not made.has_text and "image pages" in made.notes
