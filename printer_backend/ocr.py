"""Recognising the text of pages that have none: Tesseract, confined like Ghostscript, as an invisible text layer.

A page gets OCR when it has no text, or text that is garbage (:mod:`printer_backend.readable`):
raster and JPEG pages, scans, PostScript whose fonts lost their character codes.  Pages with
readable text are never touched.  For each such page:

1. a page that only draws one image (a raster print, a scan) gives that image, at its own
   resolution, from a limited child (:mod:`printer_backend.child`); a page that paints nothing is
   blank and read no further; any other page is rendered by poppler's ``pdftoppm`` (confined like
   pdftotext: stdin, a fixed argv, no network, rlimits, ``nobody``, ``nice``) to a grey PNG at
   ``dpi`` (less for very large pages: at most ``MAX_PIXELS``);
2. a limited child turns it upright by a quarter turn when asked and straightens a small skew
   (:mod:`printer_backend.skew`); an image with nothing darker than paper is blank;
3. ``tesseract`` reads it, confined the same way with one thread (``OMP_THREAD_LIMIT=1``) and a
   time limit per page, writing a text-only PDF (its words, invisible, where they are printed) and
   a TSV of the words with their confidence; a page with few or unsure words is asked for its
   orientation (``--psm 0``) and read again turned upright when Tesseract is sure it is sideways;
4. the layout text the readers see is made from the TSV's word boxes (:func:`layout_text`, like
   ``pdftotext -layout``: a printed line per row, phrases at their columns), upright whatever the
   scan's angle.

A last limited child writes the output PDF: each page unchanged, with the recognised words laid
over it as a form XObject turned back by the same angles (so a selection falls on the printed
words), a garbage text layer hidden from text extraction (an empty ``/ActualText``), and what was
recognised kept in the page's ``/PieceInfo`` (:func:`recognised_pages` reads it back): the upright
layout text, each word's confidence, the angles, or why the page has no text.

At most one Tesseract runs per core (``SLOTS``), whatever the number of callers.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import io
import itertools
import json
import math
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from printer_backend.child import run_limited
from printer_backend.confine import NOBODY, base_environment, binary, confinement, limits_argv
from printer_backend.errors import BackendError
from printer_backend.limits import Limits
from printer_backend.pdftext import page_texts, read_output
from printer_backend.readable import readability

__all__ = [
    "LANGUAGES", "OcrSettings", "OcrUnavailable", "PageText", "Recognition", "add_text_layer", "available",
    "languages_for_country", "pages_to_recognise", "recognised_pages",
]

#: Tesseract's names for the languages the product installs (Debian ``tesseract-ocr-<code>``).
LANGUAGES = {
    "eng": "English", "deu": "German", "fra": "French", "nld": "Dutch", "swe": "Swedish", "spa": "Spanish",
    "ita": "Italian", "pol": "Polish", "dan": "Danish", "fin": "Finnish", "nor": "Norwegian",
}
_COUNTRY_LANGUAGES = {
    "DE": ("deu",), "AT": ("deu",), "CH": ("deu", "fra", "ita"), "LI": ("deu",), "LU": ("fra", "deu"),
    "FR": ("fra",), "MC": ("fra",), "BE": ("nld", "fra", "deu"), "NL": ("nld",), "SE": ("swe",),
    "ES": ("spa",), "IT": ("ita",), "SM": ("ita",), "PL": ("pol",), "DK": ("dan",), "FI": ("fin", "swe"),
    "NO": ("nor",), "GB": (), "IE": (), "US": (), "CA": ("fra",),
}
#: The largest image handed to Tesseract (an A3 page at 300 dpi is 17.4 million pixels).
MAX_PIXELS = 36_000_000
MIN_DPI = 100
#: Rendering a page (bounded by MAX_PIXELS) may take this long whatever the recognition's time limit.
RENDER_SECONDS = 30.0
#: A first reading with fewer words or a lower mean confidence asks Tesseract for the page's orientation.
FEW_WORDS, UNSURE = 12, 0.6
#: A rendered page with no pixel darker than this (0 black, 255 white) is blank.
BLANK_LEVEL = 192
#: A smaller skew (degrees) is left as it is.
MIN_SKEW = 0.3
#: Tesseract's orientation confidence above which a sideways page is turned.
TURN_CONFIDENCE = 2.0
_NAME = re.compile(r"[a-z_]{3,16}")
MAX_PIECE_BYTES = 2 * 2**20
_OWNER = "/PageroConnect"

#: At most one Tesseract per core in this process.
CORES = max(1, os.cpu_count() or 1)
SLOTS = threading.BoundedSemaphore(CORES)


class OcrUnavailable(BackendError):
    """Tesseract (tesseract-ocr) or a tool it needs here is not installed."""


@dataclass(frozen=True)
class OcrSettings:
    """How pages are recognised: Tesseract ``languages`` (its codes, e.g. ``("deu", "eng")``), the
    rendering resolution, the time a page may take, the pages of one document recognised at most."""

    languages: tuple[str, ...] = ("eng",)
    dpi: int = 300
    page_seconds: float = 60.0
    max_pages: int = 50
    memory_bytes: int = 1536 * 2**20

    def __post_init__(self) -> None:
        if not self.languages or any(not _NAME.fullmatch(code) for code in self.languages):
            raise ValueError(f"OCR languages must be Tesseract codes such as deu or eng, not {self.languages!r}")
        if not MIN_DPI <= self.dpi <= 600 or self.page_seconds <= 0 or self.max_pages <= 0:
            raise ValueError("OCR dpi must be 100-600, page_seconds and max_pages positive")

    def limits(self) -> Limits:
        seconds = max(1, math.ceil(self.page_seconds))
        return Limits(cpu_seconds=seconds, memory_bytes=self.memory_bytes, output_bytes=256 * 2**20,
                      wall_seconds=self.page_seconds)


@dataclass(frozen=True)
class Engine:
    """The Tesseract on this machine."""

    path: str
    version: str
    languages: tuple[str, ...]  # installed, without "osd"
    orientation: bool  # osd.traineddata is installed: sideways pages can be turned


@dataclass(frozen=True)
class PageText:
    """What OCR made of one page (1-based ``page``)."""

    page: int
    text: str = ""  # layout text, upright (what the readers see)
    words: tuple[tuple[str, int], ...] = ()  # each word with Tesseract's confidence, 0-100
    confidence: float = 0.0  # mean word confidence, 0..1
    turned: int = 0  # quarter turns (degrees, counter-clockwise) applied before reading
    skew: float = 0.0  # degrees straightened before reading
    failed: str | None = None  # why the page has no recognised text
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "text": self.text, "words": [list(w) for w in self.words],
                "confidence": self.confidence, "turned": self.turned, "skew": self.skew, "failed": self.failed,
                "seconds": round(self.seconds, 3)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageText:
        words = tuple((str(w[0]), int(w[1])) for w in data.get("words", []) if isinstance(w, list) and len(w) == 2)
        failed = data.get("failed")
        return cls(page=int(data["page"]), text=str(data.get("text", "")), words=words,
                   confidence=float(data.get("confidence", 0.0)), turned=int(data.get("turned", 0)),
                   skew=float(data.get("skew", 0.0)), failed=str(failed) if failed else None,
                   seconds=float(data.get("seconds", 0.0)))


@dataclass(frozen=True)
class Recognition:
    """What :func:`add_text_layer` did."""

    pages: tuple[PageText, ...]
    notes: tuple[str, ...] = ()

    @property
    def found_text(self) -> bool:
        return any(page.words for page in self.pages)


# ---------------------------------------------------------------------------------------- engine


@functools.cache
def _engine() -> Engine | None:
    path = binary("tesseract")
    if path is None:
        return None
    try:
        version = subprocess.run([path, "--version"], env=base_environment(), capture_output=True, timeout=20)
        listed = subprocess.run([path, "--list-langs"], env=base_environment(), capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    first = (version.stdout or version.stderr).decode("utf-8", "replace").splitlines()
    names = [line.strip() for line in listed.stdout.decode("utf-8", "replace").splitlines()[1:]]
    installed = tuple(sorted(name for name in names if _NAME.fullmatch(name) and name != "osd"))
    return Engine(path, first[0].strip() if first else "tesseract", installed, "osd" in names)


def available() -> Engine:
    """The Tesseract in use; :class:`OcrUnavailable` with a message for the administrator if there is none."""
    engine = _engine()
    if engine is None:
        raise OcrUnavailable("Tesseract (tesseract-ocr) is not installed; pages without text cannot be read")
    if not engine.languages:
        raise OcrUnavailable("Tesseract has no language data installed (tesseract-ocr-eng, -deu, ...)")
    for tool in ("pdftoppm", "pdftotext", "prlimit"):
        if binary(tool) is None:
            raise OcrUnavailable(f"{tool} is not installed; pages cannot be recognised")
    return engine


def languages_for_country(country: str | None, chosen: Sequence[str] = ()) -> tuple[str, ...]:
    """The languages to recognise: ``chosen`` if given, else the country's languages and English."""
    if chosen:
        return tuple(dict.fromkeys(chosen))
    return tuple(dict.fromkeys((*_COUNTRY_LANGUAGES.get((country or "").upper(), ("deu", "fra")), "eng")))


# ------------------------------------------------------------------------------------- choosing


def pages_to_recognise(pdf: Path, pages: int, *, images_only: bool, limits: Limits) -> dict[int, bool]:
    """The pages of ``pdf`` that need OCR, each with whether it carries a text layer (garbage, to be hidden).

    ``images_only`` (raster, JPEG) skips reading the text: every page is an image without one.
    """
    if images_only:
        return dict.fromkeys(range(1, pages + 1), False)
    return {page: bool(text.strip()) for page, text in enumerate(page_texts(pdf, pages, limits=limits), 1)
            if not readability(text).readable}


# ---------------------------------------------------------------------------------- recognising


def add_text_layer(source: Path, output: Path, pages: dict[int, bool], *, settings: OcrSettings, limits: Limits,
                   page_sizes: Sequence[tuple[float, float]],
                   progress: Callable[[int, int], None] | None = None) -> Recognition:
    """Write ``source`` to ``output`` with the recognised text of ``pages`` laid over them.

    ``pages`` maps 1-based page numbers to whether they carry a text layer (garbage: it is hidden).
    Pages beyond ``settings.max_pages`` are left as they are, and said so.  ``progress(done, total)``
    is called before each page.  A page Tesseract cannot read in time, or at all, is kept without
    text and its ``failed`` says why.  Raises :class:`OcrUnavailable` if Tesseract is missing;
    BackendError if the output cannot be written.
    """
    engine = available()
    languages = [code for code in settings.languages if code in engine.languages] or [engine.languages[0]]
    chosen = sorted(pages)[:settings.max_pages]
    notes: list[str] = []
    if len(pages) > len(chosen):
        notes.append(f"text recognised on the first {len(chosen)} pages only (the limit is {settings.max_pages});"
                     f" {len(pages) - len(chosen)} more pages have no text")
    missing = [code for code in settings.languages if code not in engine.languages]
    if missing:
        notes.append("OCR languages not installed, left out: " + ", ".join(missing))
    with tempfile.TemporaryDirectory(prefix="pagero-ocr-") as scratch_name:
        scratch = Path(scratch_name)
        drop = confinement().can_drop_in(scratch.parent)
        if drop:
            os.chown(scratch, NOBODY, NOBODY)
        done = itertools.count()
        said = threading.Lock()

        def one(page: int) -> PageText:
            with SLOTS:
                if progress is not None:
                    with said:
                        progress(next(done), len(chosen))
                size = page_sizes[page - 1] if page - 1 < len(page_sizes) else (595.0, 842.0)
                return _recognise(engine, source, page, size, languages, settings, limits, scratch, drop)

        # pages side by side, one per core at most (SLOTS is shared by every document)
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(CORES, len(chosen)),
                                                   thread_name_prefix="ocr") as pool:
            results = list(pool.map(one, chosen))
        plan = []
        files = []
        for item in results:
            text_pdf = scratch / f"page-{item.page}" / "out.pdf"
            index = None
            if item.words and text_pdf.exists():
                files.append(os.open(text_pdf, os.O_RDONLY | os.O_CLOEXEC))
                index = len(files) - 1
            plan.append({"page": item.page, "text_pdf": index, "hide": pages[item.page],
                         "record": {**item.to_json(), "engine": engine.version, "languages": "+".join(languages)}})
        src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
        out = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            run_limited(overlay_in_child, json.dumps(plan), files=[src, out, *files], limits=limits)
        finally:
            for fd in (src, out, *files):
                os.close(fd)
    return Recognition(tuple(results), tuple(notes))


def _recognise(engine: Engine, source: Path, page: int, size: tuple[float, float], languages: Sequence[str],
               settings: OcrSettings, limits: Limits, scratch: Path, drop: bool) -> PageText:
    started = time.monotonic()
    folder = scratch / f"page-{page}"
    folder.mkdir()
    if drop:
        os.chown(folder, NOBODY, NOBODY)
    dpi = _dpi(size, settings.dpi)
    if dpi is None:
        return PageText(page, failed=f"the page is too large to recognise ({size[0]:.0f} × {size[1]:.0f} points)")
    image = folder / "page.png"
    native = _page_image(source, page, image, limits)
    if native == BLANK:
        return PageText(page, failed="no text found", seconds=time.monotonic() - started)
    if native:  # a scan or a raster page: its own pixels, at its own resolution
        dpi = native
    elif not _render(source, page, dpi, image, folder, drop, settings):
        return PageText(page, failed="the page could not be rendered for text recognition",
                        seconds=time.monotonic() - started)
    first = _read_page(engine, image, folder, drop, 0, dpi, languages, settings, limits)
    if first.failed is None and (len(first.words) < FEW_WORDS or first.confidence < UNSURE) and engine.orientation:
        turn = _orientation(engine, folder / "upright.png", folder, drop, dpi, settings)
        if turn:
            again = _read_page(engine, image, folder / "turned", drop, turn, dpi, languages, settings, limits)
            if again.failed is None and _better(again, first):
                (folder / "turned" / "out.pdf").replace(folder / "out.pdf")
                first = again
    if first.failed is None and not first.words:
        first = replace(first, failed="no text found")
    return replace(first, page=page, seconds=time.monotonic() - started)


def _better(a: PageText, b: PageText) -> bool:
    return sum(conf for _w, conf in a.words) > sum(conf for _w, conf in b.words)


def _dpi(size: tuple[float, float], dpi: int) -> int | None:
    """``dpi``, or less so the page stays within MAX_PIXELS; None when even MIN_DPI is too much."""
    width, height = (max(1.0, abs(v)) / 72 for v in size)
    best = min(dpi, int(math.sqrt(MAX_PIXELS / (width * height))))
    return best if best >= MIN_DPI else None


BLANK = -1


def _page_image(source: Path, page: int, image: Path, limits: Limits) -> int:
    """Write the page's one image to ``image`` when the page is nothing but an image: its dpi; :data:`BLANK` for
    a page that paints nothing; else 0."""
    native = image.with_name("native.png")
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    out = os.open(native, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        found = run_limited(image_page_in_child, page, MAX_PIXELS, files=[src, out], limits=limits)
    except BackendError:
        found = {}
    finally:
        os.close(src)
        os.close(out)
    dpi = int(found.get("dpi", 0))
    if found.get("blank"):
        dpi = BLANK
    if dpi > 0:
        native.replace(image)
    else:
        native.unlink()  # the renderer (maybe another user) writes the page image itself
    return dpi


def _render(source: Path, page: int, dpi: int, image: Path, folder: Path, drop: bool,
            settings: OcrSettings) -> bool:
    pdftoppm = binary("pdftoppm")
    assert pdftoppm is not None
    rendering = replace(settings, page_seconds=max(settings.page_seconds, RENDER_SECONDS))
    argv = [*_tool(pdftoppm, rendering, drop, folder), "-q", "-png", "-gray",
            "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", "-", "page"]
    with open(source, "rb") as document:
        process = subprocess.Popen(argv, env=_env(folder), cwd=folder, stdin=document, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        ok = _wait(process, rendering.page_seconds)
    return ok and image.exists() and image.stat().st_size > 0


def _read_page(engine: Engine, image: Path, folder: Path, drop: bool, turn: int, dpi: int,
               languages: Sequence[str], settings: OcrSettings, limits: Limits) -> PageText:
    """Straighten ``image`` (after ``turn`` degrees) into ``folder`` and let Tesseract read it there."""
    folder.mkdir(exist_ok=True)
    if drop:
        os.chown(folder, NOBODY, NOBODY)
    upright = folder / "upright.png"
    src = os.open(image, os.O_RDONLY | os.O_CLOEXEC)
    out = os.open(upright, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        prepared = run_limited(prepare_in_child, turn, dpi, dpi >= SPECK_DPI, files=[src, out], limits=limits)
    except BackendError as error:
        return PageText(0, failed=f"the page image could not be prepared ({error.reason})")
    finally:
        os.close(src)
        os.close(out)
    if prepared.get("blank"):
        return PageText(0, turned=turn, failed="no text found")
    skew = float(prepared.get("skew", 0.0))
    argv = [*_tool(engine.path, settings, drop, folder), "stdin", "out",
            "--dpi", str(dpi), "-l", "+".join(languages), "-c", "textonly_pdf=1", "pdf", "tsv"]
    with open(upright, "rb") as picture:
        process = subprocess.Popen(argv, env=_env(folder), cwd=folder, stdin=picture, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        ok = _wait(process, settings.page_seconds)
    if not ok:
        return PageText(0, turned=turn, skew=skew,
                        failed=f"text recognition did not finish within {settings.page_seconds:g} s")
    words = _words(folder / "out.tsv")
    confidence = round(sum(w.conf for w in words) / len(words) / 100, 3) if words else 0.0
    return PageText(0, text=layout_text(words), words=tuple((w.text, w.conf) for w in words),
                    confidence=confidence, turned=turn, skew=skew)


def _orientation(engine: Engine, image: Path, folder: Path, drop: bool, dpi: int, settings: OcrSettings) -> int:
    """Quarter turns (degrees counter-clockwise) that make the page upright, when Tesseract is sure; else 0."""
    argv = [*_tool(engine.path, settings, drop, folder), "stdin", "stdout",
            "--dpi", str(dpi), "--psm", "0"]
    with open(image, "rb") as picture:
        process = subprocess.Popen(argv, env=_env(folder), cwd=folder, stdin=picture, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        output = read_output(process, limit=4096, wall_seconds=settings.page_seconds)
    if output is None:
        return 0
    found = dict(line.split(":", 1) for line in output.decode("ascii", "replace").splitlines() if ":" in line)
    try:
        rotate, sure = int(found.get("Rotate", "0").strip()), float(found.get("Orientation confidence", "0").strip())
    except ValueError:
        return 0
    # Tesseract's "Rotate" is clockwise; PIL turns counter-clockwise.
    return (360 - rotate) % 360 if rotate in (90, 180, 270) and sure >= TURN_CONFIDENCE else 0


@dataclass(frozen=True)
class _Word:
    text: str
    conf: int
    line: tuple[int, int, int]  # Tesseract's block, paragraph, line
    left: int
    top: int
    right: int
    bottom: int


def _words(tsv: Path) -> list[_Word]:
    """The words of Tesseract's TSV output with their boxes (pixels) and confidence."""
    try:
        lines = tsv.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    words = []
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) == 12 and cells[0] == "5" and cells[11].strip():
            with contextlib.suppress(ValueError):
                left, top, width, height = (int(v) for v in cells[6:10])
                conf = max(0, min(100, round(float(cells[10]))))
                words.append(_Word(cells[11].strip(), conf, (int(cells[2]), int(cells[3]), int(cells[4])),
                                   left, top, left + width, top + height))
    return words


#: Words of one line further apart than this many character widths are separate cells (columns).
COLUMN_GAP = 2.5


def layout_text(words: Sequence[_Word]) -> str:
    """The words as fixed-width layout text, like ``pdftotext -layout``: one row per printed line, each phrase
    at the column of its position, phrases apart by two or more spaces, words of a phrase by one."""
    if not words:
        return ""
    widths = sorted((w.right - w.left) / len(w.text) for w in words if len(w.text) >= 2) or [10.0]
    char = max(1.0, widths[len(widths) // 2])
    segments: list[list[_Word]] = []
    for key in dict.fromkeys(w.line for w in words):
        line = sorted((w for w in words if w.line == key), key=lambda w: w.left)
        segment = [line[0]]
        for word in line[1:]:
            if word.left - segment[-1].right > COLUMN_GAP * char:
                segments.append(segment)
                segment = [word]
            else:
                segment.append(word)
        segments.append(segment)
    rows: list[list[list[_Word]]] = []
    for segment in sorted(segments, key=_middle):
        row = rows[-1] if rows else None
        if row is not None and abs(_middle(segment) - _middle(row[-1])) < 0.5 * _height(segment, row[-1]) and \
                not any(_overlap(segment, other) for other in row):
            row.append(segment)
        else:
            rows.append([segment])
    out = []
    for row in rows:
        text, right = "", 0
        for segment in sorted(row, key=lambda seg: seg[0].left):
            phrase = _phrase(segment, char)
            if text and segment[0].left - right <= COLUMN_GAP * char:
                text += " " + phrase  # Tesseract's lines split a phrase: one cell still
            else:
                column = max(round(segment[0].left / char), len(text) + 2 if text else 0)
                text = text.ljust(column) + phrase
            right = segment[-1].right
        out.append(text)
    return "\n".join(out)


def _phrase(segment: Sequence[_Word], char: float) -> str:
    """The words of one phrase, a space between each, except where Tesseract split a reference at its hyphen
    or slash ("INV-" "2025-001"): a joiner touching a digit across less than a character's width."""
    words = list(segment)
    for n in range(len(words) - 2, 0, -1):  # "INV" "-" "2025-002": the lone joiner first becomes "INV-"
        before, joiner, after = words[n - 1], words[n], words[n + 1]
        if joiner.text in ("-", "/") and before.text[-1].isalnum() and after.text[0].isdigit() \
                and joiner.left - before.right < char and after.left - joiner.right < char:
            words[n - 1:n + 1] = [replace(before, text=before.text + joiner.text, right=joiner.right)]
    text = words[0].text
    for before, word in itertools.pairwise(words):
        tight = word.left - before.right < char
        joined = tight and ((before.text[-1] in "-/" and word.text[0].isdigit() and before.text[:-1].isalnum())
                            or (word.text[0] in "-/" and word.text[1:2].isdigit() and before.text[-1].isalnum()))
        text += ("" if joined else " ") + word.text
    return text


def _middle(segment: Sequence[_Word]) -> float:
    return (min(w.top for w in segment) + max(w.bottom for w in segment)) / 2


def _height(a: Sequence[_Word], b: Sequence[_Word]) -> float:
    return max(max(w.bottom for w in a) - min(w.top for w in a), max(w.bottom for w in b) - min(w.top for w in b))


def _overlap(a: Sequence[_Word], b: Sequence[_Word]) -> bool:
    return a[0].left < b[-1].right and b[0].left < a[-1].right


def _tool(program: str, settings: OcrSettings, drop: bool, folder: Path) -> list[str]:
    """The confined argv up to ``program`` working in ``folder``: walls, rlimits, and a lower priority than
    taking in print jobs."""
    prlimit, nice = binary("prlimit"), binary("nice")
    assert prlimit is not None
    lower = [nice, "-n", "10"] if nice is not None else []
    return [*confinement().prefix(drop, writable=folder), *limits_argv(prlimit, settings.limits()), *lower, program]


def _env(folder: Path) -> dict[str, str]:
    return {**base_environment(), "TMPDIR": str(folder), "TMP": str(folder), "TEMP": str(folder),
            "OMP_THREAD_LIMIT": "1", "HOME": str(folder)}


def _wait(process: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        return process.wait(seconds) == 0
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait()
        return False


# ------------------------------------------------------------------------------ child processes


#: The operators that put something on a page; a page without any is blank.
_PAINTING = frozenset({"Tj", "TJ", "'", '"', "S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "Do", "BI"})
#: Scans and raster pages are read at their own resolution within these bounds (else rendered at ``dpi``).
NATIVE_DPI = (150, 600)


def image_page_in_child(src_fd: int, out_fd: int, page_number: int, max_pixels: int) -> dict[str, Any]:
    """Child: if page ``page_number`` only draws one image over the whole page, that image as a grey PNG."""
    import pikepdf
    from pikepdf import PdfImage

    with open(src_fd, "rb", closefd=False) as stream:
        pdf = pikepdf.open(io.BytesIO(stream.read()))
    page = pdf.pages[page_number - 1]
    if int(page.obj.get("/Rotate", 0)) % 360:
        return {"dpi": 0}
    operations = []
    for instruction in pikepdf.parse_content_stream(page):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            return {"dpi": 0}  # an inline image: rendered instead
        operations.append((list(instruction.operands), str(instruction.operator)))
    if not any(operator in _PAINTING for _operands, operator in operations):
        return {"dpi": 0, "blank": True}
    if any(operator not in ("q", "Q", "cm", "Do", "gs") for _operands, operator in operations):
        return {"dpi": 0}
    placed = [operands for operands, operator in operations if operator == "cm"]
    drawn = [operands for operands, operator in operations if operator == "Do"]
    if len(placed) != 1 or len(drawn) != 1:
        return {"dpi": 0}
    a, b, c, d, e, f = (float(v) for v in placed[0])
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    width, height = x1 - x0, y1 - y0
    if abs(b) > 1e-6 or abs(c) > 1e-6 or abs(a - width) > 0.01 * width or abs(d - height) > 0.01 * height \
            or abs(e - x0) > 2 or abs(f - y0) > 2:
        return {"dpi": 0}
    xobject = page.obj.Resources.XObject.get(str(drawn[0][0]))
    if not isinstance(xobject, pikepdf.Stream) or xobject.get("/Subtype") != pikepdf.Name.Image:
        return {"dpi": 0}
    picture = PdfImage(xobject)
    if picture.width * picture.height > max_pixels:
        return {"dpi": 0}
    dpi_x, dpi_y = picture.width / (width / 72), picture.height / (height / 72)
    if abs(dpi_x - dpi_y) > 0.02 * dpi_x or not NATIVE_DPI[0] <= dpi_x <= NATIVE_DPI[1]:
        return {"dpi": 0}
    dpi = round(dpi_x)
    with open(out_fd, "wb", closefd=False) as out:
        picture.as_pil_image().convert("L").save(out, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return {"dpi": dpi}


def prepare_in_child(src_fd: int, out_fd: int, turn: int, dpi: int, denoise: bool) -> dict[str, Any]:
    """Child: the page image turned by ``turn`` degrees, straightened, with its lone specks taken out if
    ``denoise``: a grey PNG.  (Brought up to 300 dpi, a 200 dpi scan read worse: 36 of 66 fields against 59.)"""
    from PIL import Image

    from printer_backend.skew import skew_angle, straighten

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with open(src_fd, "rb", closefd=False) as stream:
        opened = Image.open(io.BytesIO(stream.read()))
        opened.load()
    image = opened.convert("L")
    darkest, _lightest = image.getextrema()
    if isinstance(darkest, int | float) and darkest > BLANK_LEVEL:  # nothing printed: nothing to read
        return {"blank": True}
    if turn:
        image = image.rotate(turn, expand=True)
    angle = skew_angle(image)
    if abs(angle) < MIN_SKEW:  # straightening by less blurs more than it helps
        angle = 0.0
    image = straighten(image, angle)
    if denoise:
        image = _without_specks(image)
    with open(out_fd, "wb", closefd=False) as out:
        image.save(out, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return {"skew": round(angle, 2), "width": image.width, "height": image.height}


#: A dark pixel with at most this many dark pixels in its 5 × 5 neighbourhood (itself included) is a speck;
#: specks are taken out of images of at least SPECK_DPI (below, a printed full stop may be that small).
#: Measured on 200 dpi scans with noise: 59 of 66 hard fields read right with it, 46 without.
SPECK, SPECK_DPI = 3, 200


def _without_specks(image: Any) -> Any:
    """``image`` with its lone dark specks (scanner dust, noise) made white; strokes, dots and rules stay."""
    from PIL import ImageChops, ImageFilter

    ink = image.point(lambda v: 255 if v < 128 else 0)
    lonely = ink.filter(ImageFilter.BoxBlur(2)).point(lambda v: 255 if v <= 255 * SPECK / 25 else 0)
    return ImageChops.lighter(image, ImageChops.multiply(ink, lonely))


def overlay_in_child(src_fd: int, out_fd: int, *rest: Any) -> dict[str, Any]:
    """Child: the source PDF with each recognised page's text laid over it, and the record in its PieceInfo."""
    import pikepdf

    *text_fds, plan_json = rest
    plan = json.loads(plan_json)
    with open(src_fd, "rb", closefd=False) as stream:
        pdf = pikepdf.open(io.BytesIO(stream.read()))
    texts = []
    for fd in text_fds:
        with open(fd, "rb", closefd=False) as stream:
            texts.append(pikepdf.open(io.BytesIO(stream.read())))
    stamp = time.strftime("D:%Y%m%d%H%M%SZ", time.gmtime())
    for entry in plan:
        page = pdf.pages[int(entry["page"]) - 1]
        record = entry["record"]
        if entry["hide"]:
            _hide_text(pdf, page)
        if entry["text_pdf"] is not None:
            _lay_over(pdf, page, texts[int(entry["text_pdf"])].pages[0], record)
        private = pikepdf.Stream(pdf, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        page.obj.PieceInfo = pikepdf.Dictionary({_OWNER: pikepdf.Dictionary(
            LastModified=pikepdf.String(stamp), Private=private)})
        page.obj.LastModified = pikepdf.String(stamp)
    with open(out_fd, "wb", closefd=False) as out:
        pdf.save(out)
    return {"pages": len(plan)}


def _hide_text(pdf: Any, page: Any) -> None:
    """Mark the page's own content as having no text (an empty /ActualText): extraction then sees only ours."""
    import pikepdf

    page.contents_coalesce()
    body = page.obj.Contents.read_bytes()
    page.obj.Contents = pikepdf.Stream(pdf, b"/Span <</ActualText <FEFF>>> BDC\nq\n" + body + b"\nQ\nEMC\n")


def _lay_over(pdf: Any, page: Any, text_page: Any, record: dict[str, Any]) -> None:
    """Draw ``text_page`` (invisible words, upright) over ``page`` where the words are printed."""
    import pikepdf

    form = pdf.copy_foreign(text_page.as_form_xobject())
    name = page.add_resource(form, pikepdf.Name.XObject, prefix="PageroOCR")
    box = [float(v) for v in text_page.mediabox]
    matrix = _placement(page, (box[2] - box[0], box[3] - box[1]), int(record["turned"]), float(record["skew"]))
    placed = " ".join(_number(v) for v in matrix)
    page.contents_add(pikepdf.Stream(pdf, f"q {placed} cm {name} Do Q\n".encode("ascii")), prepend=False)


def _placement(page: Any, text_size: tuple[float, float], turned: int, skew: float) -> list[float]:
    """The matrix from the text page (the straightened, turned image) to the page's user space."""
    box = [float(v) for v in page.mediabox]
    x0, y0, width, height = box[0], box[1], box[2] - box[0], box[3] - box[1]
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    shown = (height, width) if rotate in (90, 270) else (width, height)
    # the text page is the shown page turned by `turned` and rotated by `skew`, both counter-clockwise
    tw, th = text_size
    scale_w = shown[0] / (th if turned in (90, 270) else tw)
    scale_h = shown[1] / (tw if turned in (90, 270) else th)
    steps = [
        [1, 0, 0, 1, x0, y0],
        _to_user(rotate, shown),
        _unturn(turned, shown),
        [scale_w, 0, 0, scale_h, 0, 0] if turned not in (90, 270) else [scale_h, 0, 0, scale_w, 0, 0],
        _unskew(skew, (tw, th)),
    ]
    result = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    for step in steps:  # outermost first: each later step applies to the form's coordinates first
        result = _multiply([float(v) for v in step], result)
    return result


def _to_user(rotate: int, shown: tuple[float, float]) -> list[float]:
    w, h = shown
    matrices: dict[int, list[float]] = {
        0: [1, 0, 0, 1, 0, 0], 90: [0, 1, -1, 0, h, 0], 180: [-1, 0, 0, -1, w, h], 270: [0, -1, 1, 0, 0, w]}
    return matrices[rotate]


def _unturn(turned: int, shown: tuple[float, float]) -> list[float]:
    """From the page turned counter-clockwise by ``turned`` (and scaled to points) back to the shown page."""
    w, h = shown
    matrices: dict[int, list[float]] = {
        0: [1, 0, 0, 1, 0, 0], 90: [0, -1, 1, 0, 0, h], 180: [-1, 0, 0, -1, w, h], 270: [0, 1, -1, 0, w, 0]}
    return matrices[turned]


def _unskew(skew: float, size: tuple[float, float]) -> list[float]:
    """Rotate clockwise by ``skew`` degrees about the centre of ``size``: undoes the straightening."""
    c, s = math.cos(math.radians(skew)), math.sin(math.radians(skew))
    cx, cy = size[0] / 2, size[1] / 2
    return [c, -s, s, c, cx - (c * cx + s * cy), cy - (-s * cx + c * cy)]


def _multiply(inner: list[float], outer: list[float]) -> list[float]:
    """PDF matrix product ``inner × outer``: a point goes through ``inner`` first."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer  # noqa: N806
    return [a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F]


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


# ----------------------------------------------------------------------------------- reading back


def recognised_pages(reader: Any) -> dict[int, PageText]:
    """What OCR recorded in a PDF's pages (a pypdf ``PdfReader``): 1-based page number → :class:`PageText`.

    Pages without a record are left out; a record that is not ours or too large is ignored.
    """
    found: dict[int, PageText] = {}
    for number, page in enumerate(reader.pages, 1):
        try:
            info = page.get("/PieceInfo")
            if info is None:
                continue
            mine = info.get_object().get(_OWNER)
            if mine is None:
                continue
            stream = mine.get_object().get("/Private")
            data = stream.get_object().get_data() if stream is not None else b""
            if len(data) > MAX_PIECE_BYTES:
                continue
            record = json.loads(data.decode("utf-8"))
            found[number] = replace(PageText.from_json(record), page=number)
        except (AttributeError, KeyError, TypeError, ValueError, UnicodeDecodeError):
            continue
        except Exception:  # noqa: BLE001  # a damaged object in a client's PDF: that page simply has no record
            continue
    return found
