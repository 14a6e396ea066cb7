"""Check a PDF's structure, repair it when qpdf can, and tell whether its text can be read.

Ghostscript never touches a PDF.  The check runs in a resource-limited child
(:mod:`printer_backend.child`) with pikepdf (qpdf): it opens the file lazily, walks the page
tree, and copies only the first pages into a small sample for text extraction with pypdf, so
memory does not grow with the size of the file and a decompression bomb hits pypdf's per-stream
limits or the child's address-space limit, never the server.
"""

from __future__ import annotations

import io
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printer_backend.child import ChildLimitError, run_limited
from printer_backend.errors import ConversionRefused
from printer_backend.limits import Limits

TEXT_SAMPLE_PAGES = 3
"""How many leading pages are read (at most) to decide whether a document has a usable text layer."""

_MAP_AT_MOST = 32 * 2**20  # files up to this size are memory-mapped by qpdf
_RESOLVE_AT_MOST = 20_000  # objects parsed per sampled page when looking for damage
_SAMPLE_PAGE_KEYS = ("/Type", "/Parent", "/Resources", "/Contents", "/MediaBox", "/CropBox", "/Rotate")

# qpdf messages that mean a repair lost content: refuse rather than pass on half an invoice.
_LOSSY_REPAIR = ("unable to recover stream data", "treating stream as empty", "unable to find page tree")


@dataclass(frozen=True)
class PdfCheck:
    """What the check found out about one PDF."""

    pages: int
    page_sizes: tuple[tuple[float, float], ...]  # points (w, h) as displayed (after /Rotate)
    has_text: bool
    repaired: bool  # True: the repaired file was written to the output, which is then not the input
    notes: tuple[str, ...]


def check_pdf(source: Path, repaired_output: Path | None, *, limits: Limits) -> PdfCheck:
    """Check ``source`` in a limited child; write a repaired copy to ``repaired_output`` if needed.

    A sound PDF is left alone (``repaired=False``: the caller keeps the input byte for byte).
    A damaged one that qpdf can rebuild without losing content is written, repaired, to
    ``repaired_output``; with ``repaired_output=None`` damage is a refusal.  Raises
    :class:`ConversionRefused` for password-protected, hopelessly damaged, bomb-like or
    too-long documents and when a limit is reached.
    """
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    out = -1
    try:
        if repaired_output is not None:
            out = os.open(repaired_output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        if out < 0:
            result = run_limited(inspect_in_child, limits.max_pages, files=[src], limits=limits)
        else:
            result = run_limited(repair_in_child, limits.max_pages, files=[src, out], limits=limits)
    finally:
        os.close(src)
        if out >= 0:
            os.close(out)
    return PdfCheck(
        pages=int(result["pages"]),
        page_sizes=tuple((float(w), float(h)) for w, h in result["page_sizes"]),
        has_text=bool(result["has_text"]),
        repaired=bool(result["repaired"]),
        notes=tuple(str(n) for n in result["notes"]),
    )


def inspect_in_child(src_fd: int, max_pages: int) -> dict[str, Any]:
    """Child side of :func:`check_pdf` when damage is a refusal."""
    return _inspect(src_fd, None, max_pages)


def repair_in_child(src_fd: int, out_fd: int, max_pages: int) -> dict[str, Any]:
    """Child side of :func:`check_pdf` when a damaged PDF is to be repaired into ``out_fd``."""
    return _inspect(src_fd, out_fd, max_pages)


def _inspect(src_fd: int, out_fd: int | None, max_pages: int) -> dict[str, Any]:
    import pikepdf

    notes: list[str] = []
    with open(src_fd, "rb", closefd=False) as source:
        try:
            pdf = _open(pikepdf, src_fd, source)
        except pikepdf.PasswordError:
            raise ConversionRefused(
                "the PDF is protected by a password; print it again without one"
            ) from None
        except pikepdf.PdfError as exc:
            raise ConversionRefused(f"the PDF is damaged beyond repair ({_qpdf_message(exc)})") from None
        with pdf:
            if pdf.is_encrypted:
                notes.append("encrypted with an owner password only (opens without one)")
            count = len(pdf.pages)
            if count == 0:
                raise ConversionRefused("the PDF has no pages")
            if count > max_pages:
                raise ChildLimitError(f"the PDF has {count} pages, more than the limit of {max_pages}")
            sizes = [_displayed_size(page) for page in pdf.pages]
            for page in pdf.pages[:TEXT_SAMPLE_PAGES]:
                _resolve(page.obj)
            warnings = [_strip_name(w) for w in pdf.get_warnings()]
            lossy = [w for w in warnings if any(s in w for s in _LOSSY_REPAIR)]
            if lossy:
                raise ConversionRefused(f"the PDF is damaged beyond repair ({lossy[0]})")
            repaired = bool(warnings)
            if repaired:
                if out_fd is None:
                    raise ConversionRefused(f"the PDF is damaged ({warnings[0]})")
                with open(out_fd, "wb", closefd=False) as out:
                    pdf.save(out, stream_decode_level=pikepdf.StreamDecodeLevel.none, compress_streams=False)
                # qpdf writes an empty stream, with only a warning, when it cannot read one.
                lost = [_strip_name(w) for w in pdf.get_warnings()[len(warnings) :]]
                if lost:
                    raise ConversionRefused(f"the PDF is damaged beyond repair ({lost[0]})")
                notes.append(f"repaired: {'; '.join(dict.fromkeys(warnings[:3]))}")
            sample = _sample(pdf, TEXT_SAMPLE_PAGES)  # last: it takes the document apart
    has_text = usable_text(_extract_text(sample))
    if not has_text:
        notes.append("no usable text layer")
    return {"pages": count, "page_sizes": sizes, "has_text": has_text, "repaired": repaired, "notes": notes}


def warm_up() -> None:
    """Load pikepdf, pypdf and the tables they build lazily (run once in the zygote)."""
    import pikepdf
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.setFont("Helvetica", 10)
    page.drawString(72, 720, "Rechnung Nr. 1 über 1.234,56 €")
    page.save()
    with pikepdf.open(io.BytesIO(buffer.getvalue())) as pdf:
        usable_text(_extract_text(_sample(pdf, 1)))


def _open(pikepdf: Any, fd: int, source: Any) -> Any:
    """Open the PDF on descriptor ``fd`` the fastest way this process's identity allows."""
    # Mapping is fastest but counts against the address-space limit: only for small files.
    small = os.fstat(fd).st_size <= _MAP_AT_MOST
    mode = pikepdf.AccessMode.mmap if small else pikepdf.AccessMode.stream
    try:
        # qpdf reads a path itself; through a Python file object every read is a callback.
        return pikepdf.open(f"/proc/self/fd/{fd}", access_mode=mode)
    except (FileNotFoundError, PermissionError):
        return pikepdf.open(source, access_mode=mode)


def _resolve(page: Any) -> None:
    """Parse the objects a page draws with (not their stream data), so qpdf reports their damage."""
    import pikepdf

    seen: set[tuple[int, int]] = set()
    stack = [page.get("/Resources"), page.get("/Contents")]
    while stack and len(seen) < _RESOLVE_AT_MOST:
        item = stack.pop()
        if isinstance(item, pikepdf.Array):
            stack.extend(item)
        elif isinstance(item, (pikepdf.Dictionary, pikepdf.Stream)):
            if item.is_indirect:
                if item.objgen in seen:
                    continue
                seen.add(item.objgen)
            stack.extend(value for key, value in item.items() if key not in ("/Parent", "/P"))


def _sample(pdf: Any, pages: int) -> bytes:
    """The first ``pages`` pages as a small PDF: their content, fonts and forms, nothing else.

    Copying pages into a new PDF would read every image they show (pikepdf copies stream data
    at once), so instead the document itself is cut down in memory -- later pages, images,
    annotations, outlines, structure -- and saved with streams still encoded.  Only what is
    left is read.  The ``pdf`` object is not fit for anything else afterwards.
    """
    import pikepdf

    for page in pdf.pages[:pages]:
        resources = _inherited(page.obj, "/Resources")
        if resources is not None:
            page.obj.Resources = resources
        for key in list(page.obj.keys()):
            if key not in _SAMPLE_PAGE_KEYS:
                del page.obj[key]
        _keep_text_resources(page.obj.get("/Resources"), depth=0)
    del pdf.pages[pages:]
    for key in list(pdf.Root.keys()):
        if key not in ("/Type", "/Pages"):
            del pdf.Root[key]
    buffer = io.BytesIO()
    pdf.save(buffer, stream_decode_level=pikepdf.StreamDecodeLevel.none, compress_streams=False)
    return buffer.getvalue()


def _keep_text_resources(resources: Any, depth: int) -> None:
    """Keep fonts and form XObjects (cleaned the same way); drop images, patterns, soft masks."""
    import pikepdf

    if not isinstance(resources, pikepdf.Dictionary) or depth > 8:
        return
    for key in list(resources.keys()):
        if key not in ("/Font", "/XObject"):
            del resources[key]
    xobjects = resources.get("/XObject")
    if not isinstance(xobjects, pikepdf.Dictionary):
        return
    for name in list(xobjects.keys()):
        xobject = xobjects[name]
        if isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == pikepdf.Name.Form:
            _keep_text_resources(xobject.get("/Resources"), depth + 1)
        else:
            del xobjects[name]


def _extract_text(sample: bytes) -> str:
    import pypdf
    from pypdf.errors import LimitReachedError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(sample))
        for page in reader.pages:
            _inflate(page)
    except LimitReachedError:
        # pypdf caps every decoded stream (75 MB by default); an invoice page is far below that.
        raise ConversionRefused(
            "the PDF looks like a decompression bomb (a page's content expands beyond "
            f"{pypdf.get_configuration().zlib_maximum_output_length // 10**6} MB)"
        ) from None
    except MemoryError:
        raise
    except Exception:
        # The structure is sound (qpdf said so); text we cannot read is no reason to refuse.
        return ""
    texts: list[str] = []
    try:
        for page in reader.pages:
            texts.append(page.extract_text() or "")
            if _plainly_text(texts[-1]):
                break  # one page of plain words settles it; the next pages would only cost time
    except MemoryError:
        raise
    except Exception:
        pass
    return "\n".join(texts)


def _inflate(page: Any) -> None:
    """Decode a page's content and form streams (bounded by pypdf): extract_text hides bombs."""
    contents = page.get_contents()
    if contents is not None:
        contents.get_data()
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    for reference in (xobjects.get_object().values() if xobjects is not None else ()):
        xobject = reference.get_object()
        if xobject.get("/Subtype") == "/Form":
            xobject.get_data()


_WORD = re.compile(r"[^\W\d_]{3,}")
_VOWELS = set("aeiouyàáâäæèéêëìíîïòóôöœùúûüÿåø")


def usable_text(text: str) -> bool:
    """True when ``text`` reads like words, not like glyph numbers of fonts without a Unicode map.

    PostScript printed from PDF often carries subset fonts whose codes are glyph indices:
    extraction then yields control characters, dingbats or letter soup.  We want mostly
    letters, digits and punctuation, and enough real-looking words.
    """
    visible = [c for c in text if not c.isspace()]
    if len(visible) < 12:
        return False
    plain = sum(1 for c in visible if unicodedata.category(c)[0] in "LNP" or unicodedata.category(c) in ("Sc", "Sm"))
    if plain < 0.85 * len(visible):
        return False
    words = _WORD.findall(text)
    if len(words) < 3 or sum(map(len, words)) < 0.3 * len(visible):
        return False
    latin = [w for w in words if all(c < "\u0250" for c in w)]
    with_vowel = sum(1 for w in latin if _VOWELS & set(w.lower()))
    return not latin or with_vowel >= 0.6 * len(latin)


def _plainly_text(text: str) -> bool:
    return len(_WORD.findall(text)) >= 30 and usable_text(text)


def _displayed_size(page: Any) -> tuple[float, float]:
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    width, height = round(abs(x1 - x0), 2), round(abs(y1 - y0), 2)
    rotate = _inherited(page.obj, "/Rotate")
    if rotate is not None and int(rotate) % 180 == 90:
        return height, width
    return width, height


def _inherited(node: Any, key: str) -> Any:
    for _ in range(64):  # page trees are shallow; a cycle must not hang us
        if key in node:
            return node[key]
        if "/Parent" not in node:
            return None
        node = node["/Parent"]
    return None


def _strip_name(message: str) -> str:
    """qpdf prefixes warnings with the input's name; keep only the message."""
    return re.sub(r"^[^:]*(?: \([^)]*\))?: ", "", str(message), count=1)


def _qpdf_message(exc: Exception) -> str:
    return _strip_name(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:160]
