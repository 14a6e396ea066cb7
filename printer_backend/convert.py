"""The one entry point: turn any print document into one PDF, or say in plain words why not.

The format comes from the content (:mod:`printer_backend.sniff`), never from the client's
claim.  PDF passes through byte for byte after a structural check (repaired when qpdf can);
PostScript goes through a confined Ghostscript; PWG raster, URF and JPEG become image pages;
plain text is typeset.  Heavy parsing always happens in a limited child process, and the
output appears atomically or not at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from printer_backend import child
from printer_backend import sniff as formats
from printer_backend.errors import BackendError, ConversionRefused, UnsupportedFormat
from printer_backend.ghostscript import keep_warm, run_ghostscript
from printer_backend.limits import Limits
from printer_backend.ocr import OcrSettings, OcrUnavailable, PageText, add_text_layer, pages_to_recognise
from printer_backend.pdf import check_pdf
from printer_backend.raster import convert_raster
from printer_backend.text import convert_text, paper_size

__all__ = [
    "BackendError",
    "Conversion",
    "ConversionRefused",
    "Limits",
    "OcrSettings",
    "UnsupportedFormat",
    "convert",
    "main",
    "start_converter",
    "stop_converter",
]

DEFAULT_LIMITS = Limits()

_CLAIM_ALIASES = {"image/jpg": formats.JPEG, "image/pjpeg": formats.JPEG, "application/x-pdf": formats.PDF}
_NO_CLAIM = {"", "application/octet-stream"}


@dataclass(frozen=True)
class Conversion:
    """What :func:`convert` made."""

    source_format: str  # the sniffed MIME type
    pages: int
    has_text: bool  # False for raster/JPEG and for PostScript without a usable text layer
    passthrough: bool  # True when the output is the input PDF byte for byte
    page_sizes: tuple[tuple[float, float], ...]  # points (w, h) per page
    notes: tuple[str, ...]  # e.g. "repaired: ...", "no usable text layer", the Ghostscript confinement
    recognised: tuple[PageText, ...] = ()  # the pages OCR read (with ``ocr``): their text or why none


#: Called while pages are recognised: (pages done, pages to do).
Progress = Callable[[int, int], None]


def convert(
    source: Path,
    output: Path,
    *,
    paper: str = "A4",
    limits: Limits = DEFAULT_LIMITS,
    claimed_format: str | None = None,
    ocr: OcrSettings | None = None,
    progress: Progress | None = None,
) -> Conversion:
    """Convert the print document ``source`` into the PDF ``output``.

    ``paper`` ("A4" or "Letter") is the page size of plain text and of PostScript that sets
    none.  ``claimed_format`` is the MIME type the client declared; when it contradicts the
    content it is ignored and noted.
    ``output`` is replaced atomically (temporary file, fsync, rename) and never left half
    written.  Raises :class:`UnsupportedFormat` for content we do not print (the reason names
    it) and :class:`ConversionRefused` for damaged, password-protected, hostile or over-limit
    documents; both are :class:`BackendError` with a plain-words ``reason``.

    With ``ocr``, pages without readable text (images, scans, PostScript whose fonts lost their
    character codes) get the text Tesseract recognises as an invisible layer
    (:mod:`printer_backend.ocr`); ``progress`` hears about each page.  OCR that is not installed
    leaves the pages as they are and says so in ``notes``.
    """
    source, output = Path(source), Path(output)
    paper_size(paper)  # a wrong paper name is a programming error: ValueError before any work
    try:
        with open(source, "rb") as stream:
            head = stream.read(formats.HEAD_BYTES)
    except OSError as exc:
        raise ConversionRefused(f"the document cannot be read ({exc.strerror or exc})") from None
    source_format = formats.sniff(head)
    if source_format is None:
        raise UnsupportedFormat(
            f"cannot print {formats.describe(head)}: send PDF, PostScript, PWG raster, URF, JPEG or plain text"
        )
    notes: list[str] = []
    claim = _normalise(claimed_format)
    if claim not in _NO_CLAIM and claim != source_format:
        notes.append(f"sent as {claim} but the content is {source_format}; converted as {source_format}")

    if source_format == formats.PDF and _same_file(source, output):
        check = check_pdf(source, None, limits=limits)
        return Conversion(source_format, check.pages, check.has_text, True, check.page_sizes, (*notes, *check.notes))

    with _atomic(output) as partial:
        made = _convert(source, partial, source_format, paper, limits)
        made = replace(made, notes=(*notes, *made.notes))
        if ocr is not None:
            made = _recognise(made, partial, ocr, limits, progress)
        return made


def _convert(source: Path, partial: Path, source_format: str, paper: str, limits: Limits) -> Conversion:
    if source_format == formats.PDF:
        check = check_pdf(source, partial, limits=limits)
        if not check.repaired:
            shutil.copyfile(source, partial)
        return Conversion(source_format, check.pages, check.has_text, not check.repaired, check.page_sizes, check.notes)
    if source_format == formats.POSTSCRIPT:
        run = run_ghostscript(source, partial, limits=limits, paper=paper)
        check = check_pdf(partial, None, limits=limits)
        notes = ("Ghostscript confined by " + ", ".join(run.isolation), *check.notes)
        return Conversion(source_format, check.pages, check.has_text, False, check.page_sizes, notes)
    if source_format == formats.TEXT:
        typeset = convert_text(source, partial, paper=paper, limits=limits)
        return Conversion(source_format, typeset.pages, True, False, typeset.page_sizes, typeset.notes)
    image = convert_raster(source, partial, source_format=source_format, limits=limits)
    return Conversion(source_format, image.pages, False, False, image.page_sizes, ("image pages", *image.notes))


def _recognise(made: Conversion, partial: Path, ocr: OcrSettings, limits: Limits,
               progress: Progress | None) -> Conversion:
    """``made`` with OCR's text laid over its pages that have none (``partial`` rewritten in place)."""
    if made.source_format == formats.TEXT:
        return made
    try:
        wanted = pages_to_recognise(partial, made.pages, limits=limits,
                                    images_only=made.source_format in (formats.PWG_RASTER, formats.URF, formats.JPEG))
        if not wanted:
            return made
        layered = partial.with_name(partial.name + ".ocr")
        try:
            recognition = add_text_layer(partial, layered, wanted, settings=ocr, limits=limits,
                                         page_sizes=made.page_sizes, progress=progress)
            os.replace(layered, partial)
        finally:
            with contextlib.suppress(FileNotFoundError):
                layered.unlink()
    except OcrUnavailable as error:
        return replace(made, notes=(*made.notes, f"no text recognised: {error.reason}"))
    read = sum(1 for page in recognition.pages if page.words)
    said = f"text recognised on {read} of {len(wanted)} page{'s' if len(wanted) != 1 else ''} without text"
    return replace(made, has_text=made.has_text or recognition.found_text, passthrough=False,
                   notes=(*made.notes, said, *recognition.notes), recognised=recognition.pages)


def start_converter(limits: Limits = DEFAULT_LIMITS, paper: str = "A4", *, zygote: bool = True) -> None:
    """Get ready for documents, so the first ones do not wait.

    Starts the process that forks the limited children (``zygote``; otherwise :func:`convert`
    starts it on first use, in about a second), and keeps one confined Ghostscript started
    ahead of the next PostScript job converted with ``limits`` and ``paper``
    (:func:`printer_backend.ghostscript.keep_warm`), which saves its 40 ms of start-up per job.
    The server calls this at start-up, after :func:`printer_backend.ghostscript.check_ghostscript`.
    """
    if zygote:
        child.start()
    keep_warm(True, limits=limits, paper=paper)


def stop_converter() -> None:
    """Stop the Ghostscript kept waiting by :func:`start_converter` (the zygote ends with the process)."""
    keep_warm(False)


def _normalise(claim: str | None) -> str:
    if claim is None:
        return ""
    bare = claim.split(";", 1)[0].strip().lower()
    return _CLAIM_ALIASES.get(bare, bare)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def _atomic(output: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``output``; on success fsync it and rename it into place."""
    partial = output.with_name(f".{output.name}.{secrets.token_hex(6)}.part")
    try:
        yield partial
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    directory = os.open(output.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def main(argv: Sequence[str] | None = None) -> int:
    """``convert INPUT -o OUTPUT.pdf [--paper A4|Letter] [--json] [--ocr [--languages deu+eng]]``: 0 on success,
    2 on refusal, 1 on I/O errors.

    ``argv`` are the arguments after the program name; a leading ``convert`` is accepted.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 2 and args[0] == "convert" and not args[1].startswith("-"):
        args = args[1:]
    parser = argparse.ArgumentParser(
        prog="pagero-connect convert", description="Turn a print document into one PDF."
    )
    parser.add_argument("input", type=Path, help="the print document (PDF, PostScript, PWG, URF, JPEG, text)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the PDF")
    parser.add_argument("--paper", default="A4", type=_paper_name, help="paper for plain text: A4 or Letter")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--ocr", action="store_true",
                        help="recognise the text of pages that have none (scans, raster, garbled PostScript)")
    parser.add_argument("--languages", default="eng", type=_languages,
                        help="with --ocr: Tesseract languages, e.g. deu+eng (default: eng)")
    options = parser.parse_args(args)
    ocr = OcrSettings(languages=options.languages) if options.ocr else None
    try:
        result = convert(options.input, options.output, paper=options.paper, ocr=ocr)
    except BackendError as exc:
        print(f"pagero-connect convert: refused: {exc.reason}", file=sys.stderr)
        return 2
    except OSError as exc:  # the output side: a missing folder, a full disk
        print(f"pagero-connect convert: cannot write {options.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if options.json:
        print(json.dumps(asdict(result)))
    else:
        text = "with text" if result.has_text else "without usable text"
        print(f"{options.output}: {result.pages} page(s) from {result.source_format}, {text}")
        for page in result.recognised:
            said = page.failed or (f"{len(page.words)} words recognised, {page.confidence:.0%} sure"
                                   + (f", straightened by {page.skew:g}°" if page.skew else "")
                                   + (f", turned by {page.turned}°" if page.turned else ""))
            print(f"  page {page.page}: {said}")
        for note in result.notes:
            if note.startswith(("no text recognised", "text recognised on the first", "OCR languages")):
                print(f"  {note}")
    return 0


def _languages(value: str) -> tuple[str, ...]:
    codes = tuple(code for code in value.replace(",", "+").split("+") if code)
    try:
        OcrSettings(languages=codes)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return codes


def _paper_name(value: str) -> str:
    try:
        paper_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return "Letter" if value.upper() == "LETTER" else "A4"
