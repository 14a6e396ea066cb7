"""Which files may go with an invoice as attachments: decided on the file's content, never on its name.

Pagero Online accepts PDF, JPEG, TIFF, GIF, BMP, SVG, PostScript, Office documents, text, RTF,
CSV, e-mail, XML, HTML, ZIP and signed-data files, each at most 5 MB.  What reaches the
recipient depends on how the invoice is distributed:

- **EPrint** (a PDF by e-mail): PDF or TIFF only, and a TIFF must be 300 dpi;
- **OriginalPrint** (paper): PDF only;
- **Electronic** (an e-invoice): every accepted type, with PDF recommended.

A name that claims one type for content of another (``report.pdf`` holding text) is refused:
the recipient's program would be told the wrong thing.  Every refusal names its rule and says
what to do.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from connect_core.errors import ConnectError

MAX_BYTES = 5 * 1024 * 1024
"""5 MB per attachment (Pagero Online's recommendation; exactly 5 MB passes)."""

TIFF_DPI = 300

ELECTRONIC, EPRINT, ORIGINAL_PRINT = "Electronic", "EPrint", "OriginalPrint"
CHANNEL_WORDS = {ELECTRONIC: "as an e-invoice", EPRINT: "as a PDF by e-mail (E-print)",
                 ORIGINAL_PRINT: "on paper (Original print)"}

KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # kind: (words, content type, the name endings that may carry it)
    "pdf": ("a PDF", "application/pdf", (".pdf",)),
    "tiff": ("a TIFF image", "image/tiff", (".tif", ".tiff")),
    "jpeg": ("a JPEG image", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif")),
    "png": ("a PNG image", "image/png", (".png",)),
    "gif": ("a GIF image", "image/gif", (".gif",)),
    "bmp": ("a BMP image", "image/bmp", (".bmp",)),
    "svg": ("an SVG image", "image/svg+xml", (".svg",)),
    "postscript": ("a PostScript file", "application/postscript", (".ps", ".eps")),
    "docx": ("a Word document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             (".docx",)),
    "xlsx": ("an Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    "pptx": ("a PowerPoint presentation",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",)),
    "office97": ("an older Office document", "application/msword", (".doc", ".xls", ".ppt")),
    "zip": ("a ZIP archive", "application/zip", (".zip",)),
    "rtf": ("an RTF document", "application/rtf", (".rtf",)),
    "xml": ("an XML file", "application/xml", (".xml",)),
    "html": ("an HTML page", "text/html", (".html", ".htm")),
    "eml": ("an e-mail", "message/rfc822", (".eml",)),
    "signed": ("signed data", "application/pkcs7-mime", (".p7m", ".p7b", ".p7s", ".pk7")),
    "text": ("a text file", "text/plain", (".txt", ".csv", ".text")),
}
ACCEPTED_WORDS = "PDF, JPEG, TIFF, GIF, BMP, PNG, SVG, PostScript, Word, Excel, PowerPoint, text, CSV, RTF, XML, " \
                 "HTML, e-mail, ZIP or signed data (P7M)"


class AttachmentRefused(ConnectError):
    """A file that may not go with this invoice; ``rule`` names the rule, the message says what to do."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class Verdict:
    """A file that may go: what it is, its content type, and advice for the person (empty when none)."""

    kind: str
    content_type: str
    advice: str


def check(data: bytes, filename: str, distribution: str | None) -> Verdict:
    """Whether ``data`` (named ``filename``) may go with an invoice distributed by ``distribution``."""
    name = PurePath(filename).name or "the file"
    if len(data) > MAX_BYTES:
        raise AttachmentRefused("size", f"{name} has {len(data):,} bytes; an attachment may have at most "
                                f"{MAX_BYTES:,} (5 MB). Make it smaller (e.g. scan at a lower resolution) or split it.")
    if not data:
        raise AttachmentRefused("empty", f"{name} is empty; choose the file again.")
    kind = sniff(data)
    if kind == "pdf" and not _opens_as_pdf(data):
        raise AttachmentRefused("damaged", f"{name} starts like a PDF but cannot be read as one (damaged or cut "
                                "short); save or export it again and attach the new file.")
    if kind is None:
        raise AttachmentRefused("type", f"{name} is not a kind of file Pagero Online accepts as an attachment "
                                f"({ACCEPTED_WORDS}); save it as a PDF and attach that.")
    words, content_type, endings = KINDS[kind]
    suffix = PurePath(name).suffix.lower()
    claimed = next((k for k, (_, _, ends) in KINDS.items() if suffix in ends), None)
    if claimed is not None and claimed != kind and not (claimed == "text" and kind in ("xml", "html", "eml")):
        raise AttachmentRefused("name", f"{name} is named like {KINDS[claimed][0]} but its content is {words}; "
                                f"rename it to end in {endings[0]} or attach the right file.")
    channel = distribution or ELECTRONIC
    if channel == ORIGINAL_PRINT and kind != "pdf":
        raise AttachmentRefused("channel", f"{name} is {words}; this invoice is sent {CHANNEL_WORDS[channel]}, "
                                "which takes PDF attachments only. Save it as a PDF and attach that.")
    if channel == EPRINT and kind not in ("pdf", "tiff"):
        raise AttachmentRefused("channel", f"{name} is {words}; this invoice is sent {CHANNEL_WORDS[channel]}, "
                                "which takes PDF or TIFF attachments only. Save it as a PDF and attach that.")
    if channel == EPRINT and kind == "tiff":
        dpi = tiff_dpi(data)
        if dpi != TIFF_DPI:
            found = "no resolution" if dpi is None else f"{dpi} dpi"
            raise AttachmentRefused("tiff-dpi", f"{name} is a TIFF with {found}; a TIFF sent {CHANNEL_WORDS[channel]} "
                                    f"must be {TIFF_DPI} dpi. Scan it again at {TIFF_DPI} dpi, or attach a PDF.")
    advice = ""
    if channel == ELECTRONIC and kind != "pdf":
        advice = f"{name} is {words}: accepted, but PDF is recommended, as every recipient can open it."
    return Verdict(kind, content_type, advice)


def sniff(data: bytes) -> str | None:
    """What ``data`` is, by its content (a key of :data:`KINDS`), or None for anything not accepted."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and len(data) > 26:
        return "bmp"
    if head[:4] == b"%!PS" or head[:4] == b"\xc5\xd0\xd3\xc6":
        return "postscript"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "office97"
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        return _zip_kind(data)
    if head[:5] == b"{\\rtf":
        return "rtf"
    if head[:1] == b"\x30" and len(head) > 11 and b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07" in head[:64]:
        return "signed"  # DER: SEQUENCE … OID 1.2.840.113549.1.7 (PKCS #7)
    text = _text(data)
    if text is None:
        return None
    start = text.lstrip("\ufeff \t\r\n")[:512].lower()
    if start.startswith("<svg") or ("<svg" in start and start.startswith("<?xml")):
        return "svg"
    if start.startswith(("<!doctype html", "<html")):
        return "html"
    if start.startswith("<?xml") or (start.startswith("<") and not start.startswith("<!")):
        return "xml"
    if _looks_like_mail(start):
        return "eml"
    return "text"


def tiff_dpi(data: bytes) -> float | None:
    """The resolution of every page of a TIFF when they agree (as dots per inch), else None."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            found: set[float] = set()
            for frame in range(getattr(image, "n_frames", 1)):
                image.seek(frame)
                dpi = image.info.get("dpi")
                if not dpi:
                    return None
                found.update(round(float(value), 1) for value in dpi)
    except (OSError, ValueError, SyntaxError):
        return None
    if len(found) != 1:
        return None
    value = found.pop()
    return int(value) if value.is_integer() else value


def _opens_as_pdf(data: bytes) -> bool:
    """Whether a PDF reader finds pages in ``data`` (pypdf: pure Python, no outside parser)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        return len(PdfReader(io.BytesIO(data), strict=False).pages) > 0
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError):
        return False


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "zip"
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return kind
    return "zip"


def _text(data: bytes) -> str | None:
    """``data`` as text when it is text (UTF-8 or Latin-1, no control characters but tab and line ends)."""
    if b"\x00" in data[:65536]:
        return None
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:65536]
        if all(ch.isprintable() or ch in "\t\r\n\f\ufeff" for ch in sample):
            return text
    return None


def _looks_like_mail(start: str) -> bool:
    lines = start.splitlines()[:8]
    headers = [line.split(":", 1)[0] for line in lines if ":" in line]
    return sum(h in ("from", "to", "subject", "date", "message-id", "mime-version", "received", "return-path")
               for h in headers) >= 2
