"""Plain-text print jobs to PDF with reportlab, the way a line printer would lay them out.

Monospaced 10 pt type, 12 pt leading, half-inch margins on A4 or Letter; tabs stop every 8
columns, long lines wrap, a form feed starts a new page.  The text is UTF-8, else Windows-1252,
else Latin-1 (every byte string is Latin-1).  DejaVu Sans Mono (embedded, with a Unicode map)
is used when installed, else Courier.  Rendering runs in a limited child.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printer_backend.child import ChildLimitError, run_limited
from printer_backend.limits import Limits

PAPER_SIZES = {"A4": (595.28, 841.89), "LETTER": (612.0, 792.0)}
FONT_SIZE = 10.0
LEADING = 12.0
MARGIN = 36.0
TAB_STOP = 8
DEJAVU_MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")

_CHUNK = 1 << 20
# Control characters other than tab, newline and form feed print as nothing.
_DROP_CONTROLS = {c: None for c in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), *range(0x7F, 0xA0)]}
_ENCODING_NAMES = {"cp1252": "Windows-1252", "latin-1": "Latin-1"}


@dataclass(frozen=True)
class TextResult:
    pages: int
    page_sizes: tuple[tuple[float, float], ...]
    notes: tuple[str, ...]


def paper_size(paper: str) -> tuple[float, float]:
    """Width and height in points of "A4" or "Letter" (any case); ValueError for others."""
    try:
        return PAPER_SIZES[paper.upper()]
    except KeyError:
        raise ValueError(f"unknown paper size {paper!r}; use A4 or Letter") from None


def lines_per_page(paper: str) -> int:
    """How many lines fit on one page of ``paper``."""
    return int((paper_size(paper)[1] - 2 * MARGIN) // LEADING)


def columns(paper: str, char_width: float = 0.6 * FONT_SIZE) -> int:
    """How many characters fit on one line of ``paper`` for a font of that advance width."""
    return int((paper_size(paper)[0] - 2 * MARGIN) // char_width)


def convert_text(source: Path, output: Path, *, paper: str, limits: Limits) -> TextResult:
    """Render ``source`` (plain text) as a PDF at ``output``; raises ConversionRefused on limits."""
    paper_size(paper)
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        out = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            result = run_limited(render_in_child, paper, limits.max_pages, files=[src, out], limits=limits)
        finally:
            os.close(out)
    finally:
        os.close(src)
    return TextResult(
        pages=int(result["pages"]),
        page_sizes=tuple((float(w), float(h)) for w, h in result["page_sizes"]),
        notes=tuple(str(n) for n in result["notes"]),
    )


def warm_up() -> None:
    """Load reportlab and register the text font (run once in the zygote)."""
    _font()


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if not DEJAVU_MONO.is_file():
        return "Courier"
    if "DejaVuSansMono" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSansMono", str(DEJAVU_MONO)))
    return "DejaVuSansMono"


def render_in_child(src_fd: int, out_fd: int, paper: str, max_pages: int) -> dict[str, Any]:
    """Child side of :func:`convert_text`."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfgen import canvas

    font = _font()
    width, height = paper_size(paper)
    rows = lines_per_page(paper)
    cols = columns(paper, pdfmetrics.stringWidth("M", font, FONT_SIZE))
    encoding = _encoding_of(src_fd)
    with open(src_fd, "rb", closefd=False) as raw, open(out_fd, "wb", closefd=False) as out:
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline=None)
        pdf = canvas.Canvas(out, pagesize=(width, height), pageCompression=1, invariant=1)
        pdf.setTitle("Printed text")
        count = 0
        for page in paginate(text, cols, rows):
            count += 1
            if count > max_pages:
                raise ChildLimitError(f"the text runs to more than {max_pages} pages (the limit)")
            lines = pdf.beginText(MARGIN, height - MARGIN - FONT_SIZE)
            lines.setFont(font, FONT_SIZE, LEADING)
            for line in page:
                lines.textLine(line)
            pdf.drawText(lines)
            pdf.showPage()
        if count == 0:  # an empty file still prints one blank page
            pdf.showPage()
            count = 1
        pdf.save()
        text.detach()
    notes = [] if encoding == "utf-8-sig" else [f"text decoded as {_ENCODING_NAMES[encoding]}"]
    if font == "Courier":
        notes.append("DejaVu Sans Mono not installed; Courier used (Latin-1 only)")
    return {"pages": count, "page_sizes": [(width, height)] * count, "notes": notes}


def _encoding_of(fd: int) -> str:
    """UTF-8 if the whole file decodes as UTF-8, else Windows-1252 if it decodes so, else Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            while chunk := os.read(fd, _CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def paginate(text: Iterable[str], cols: int, rows: int) -> Iterator[list[str]]:
    """Lay out lines of text into pages of at most ``rows`` lines of at most ``cols`` characters.

    A form feed ends the current page (no blank page for a form feed at the very start or end),
    tabs expand to stops every 8 columns, other control characters are dropped, long lines
    wrap.  ``text`` yields lines as a text file does (with or without their newline).
    """
    page: list[str] = []
    for raw_line in text:
        segments = raw_line.rstrip("\n").split("\f")
        for index, segment in enumerate(segments):
            if index and page:
                yield page
                page = []
            if not segment and len(segments) > 1:
                continue  # the text beside a form feed, when there is none, is no blank line
            for piece in _wrap(segment.expandtabs(TAB_STOP).translate(_DROP_CONTROLS), cols):
                if len(page) == rows:
                    yield page
                    page = []
                page.append(piece)
    if page:
        yield page


def _wrap(line: str, cols: int) -> Iterator[str]:
    if not line:
        yield ""
        return
    for start in range(0, len(line), cols):
        yield line[start : start + cols]
