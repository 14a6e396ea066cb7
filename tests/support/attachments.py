"""Files a person attaches to invoices, made by real tools: PDFs of an exact size, TIFF scans at a resolution,
a Word document (the Office Open XML parts Word writes)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pikepdf
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def pdf_bytes(text: str = "Lieferschein 4711") -> bytes:
    """A one-page PDF saying ``text``."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawString(72, 770, text)
    page.showPage()
    page.save()
    return out.getvalue()


def pdf_of_size(size: int, text: str = "Lieferschein 4711") -> bytes:
    """A valid PDF of exactly ``size`` bytes: a page plus an unused stream padded to fit."""
    padding = max(0, size - 2000)
    for _ in range(8):
        with pikepdf.open(io.BytesIO(pdf_bytes(text))) as pdf:
            pdf.Root.Padding = pdf.make_stream(b"0" * padding)
            out = io.BytesIO()
            pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable,
                     deterministic_id=True)
        data = out.getvalue()
        if len(data) == size:
            return data
        padding += size - len(data)
    raise AssertionError(f"could not make a PDF of exactly {size} bytes")


def tiff_bytes(dpi: int, pages: int = 1) -> bytes:
    """A grey A4-ish scan as TIFF at ``dpi`` (small: 1-inch square pages)."""
    frames = [Image.new("L", (dpi, dpi), 255) for _ in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", dpi=(dpi, dpi), save_all=pages > 1, append_images=frames[1:],
                   compression="tiff_lzw")
    return out.getvalue()


def docx_bytes(text: str = "Zeitnachweis März") -> bytes:
    """A minimal Word document (the parts and content types Word itself writes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                         'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                         '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("word/document.xml",
                         '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats'
                         f'.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
                         '</w:body></w:document>')
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
