"""What a print document is, from its first bytes (never from its name or the client's claim)."""

from __future__ import annotations

import re

HEAD_BYTES = 4096
"""How much of a document :func:`sniff` needs."""

PDF = "application/pdf"
POSTSCRIPT = "application/postscript"
PWG_RASTER = "image/pwg-raster"
URF = "image/urf"
JPEG = "image/jpeg"
TEXT = "text/plain"

FORMATS = (PDF, POSTSCRIPT, PWG_RASTER, URF, JPEG, TEXT)

_UEL = b"\x1b%-12345X"
_DOS_EPS = b"\xc5\xd0\xd3\xc6"
# Windows PostScript drivers may send ^D, a BOM or blank lines before "%!".
_PS_START = re.compile(rb"\A(?:\x04|\xef\xbb\xbf|[ \t\r\n])*%!")
# Control bytes that never occur in printable text: everything below 0x20 except
# tab, line feed, vertical tab, form feed and carriage return; and DEL.  ESC is
# excluded on purpose: it starts PCL jobs.
_NOT_TEXT = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")

_NAMED = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"RaSt", "a CUPS raster file (only PWG raster is accepted)"),
    (b"tSaR", "a CUPS raster file (only PWG raster is accepted)"),
    (b"RaS3", "a CUPS raster file (only PWG raster is accepted)"),
    (b"3SaR", "a CUPS raster file (only PWG raster is accepted)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b") HP-PCL XL", "a PCL XL printer job"),
    (b"\x1bE", "a PCL printer job"),
    (_UEL, "a PJL printer job that is not PostScript"),
)


def sniff(head: bytes) -> str | None:
    """Return the MIME type of a document from its first bytes, or None if we do not print it.

    ``head`` is the start of the document; :data:`HEAD_BYTES` bytes are enough.  Recognised:
    PDF (``%PDF-`` within the first KiB, as readers accept), PostScript (``%!``, also after a
    PJL header or a ^D, and DOS EPS binaries), PWG raster, Apple URF, JPEG and plain text
    (UTF-8, or single-byte text with no control bytes other than tab, newlines and form feed).
    """
    if head.startswith(_DOS_EPS) or _PS_START.match(head):
        return POSTSCRIPT
    if b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith(_UEL):
        return POSTSCRIPT if _pjl_language(head) == "postscript" else None
    if head.startswith(b"RaS2"):
        return PWG_RASTER
    if head.startswith(b"UNIRAST\x00"):
        return URF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head and _is_text(head):
        return TEXT
    return None


def describe(head: bytes) -> str:
    """Name what arrived in words for a refusal message, e.g. "a ZIP archive"."""
    if not head:
        return "an empty document"
    for magic, name in _NAMED:
        if head.startswith(magic):
            return f"{name} (starting {_hex(head)})"
    return f"binary data starting {_hex(head)}"


def _hex(head: bytes) -> str:
    return " ".join(f"{b:02x}" for b in head[:4])


def _pjl_language(head: bytes) -> str | None:
    """The language a PJL-wrapped job switches to: "postscript", "pdf", ... or None."""
    for line in head[len(_UEL) :].splitlines():
        stripped = line.strip()
        if stripped.startswith(b"%!"):
            return "postscript"
        if stripped.startswith(b"%PDF-"):
            return "pdf"
        upper = stripped.upper()
        if upper.startswith(b"@PJL ENTER LANGUAGE"):
            language = upper.split(b"=", 1)[-1].strip().decode("ascii", "replace")
            return language.lower()
        if stripped and not upper.startswith(b"@PJL"):
            return None
    return None


def _is_text(head: bytes) -> bool:
    # UTF-8 and the single-byte code pages (Latin-1, Windows-1252) alike are text when no control
    # byte occurs; binary formats have such bytes within their first few hundred bytes.
    return _NOT_TEXT.search(head) is None
