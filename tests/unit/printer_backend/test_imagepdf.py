"""The streaming image writer makes PDFs that other readers accept, sample for sample."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pikepdf

from printer_backend.imagepdf import ImagePdfWriter


def test_pages_of_every_colour_space_are_readable_and_exact(tmp_path: Path) -> None:
    path = tmp_path / "images.pdf"
    with open(path, "wb") as out:
        writer = ImagePdfWriter(out)
        writer.add_page(width_px=16, height_px=2, colour="gray", bits=1, size_pt=(72.0, 9.0),
                        rows=[(b"\xf0\x0f", 2)], inverted=True)
        writer.add_page(width_px=2, height_px=3, colour="rgb", bits=8, size_pt=(144.0, 216.0),
                        rows=[(b"\xff\x00\x00\x00\x00\xff", 1), (b"\x00\xff\x00\x00\xff\x00", 2)])
        writer.add_page(width_px=1, height_px=1, colour="cmyk", bits=8, size_pt=(10.0, 10.0),
                        rows=[(b"\x00\x80\xff\x10", 1)])
        writer.close()
    assert writer.page_count == 3
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    with pikepdf.open(path) as pdf:
        assert [list(map(float, page.mediabox)) for page in pdf.pages] == [
            [0, 0, 72, 9], [0, 0, 144, 216], [0, 0, 10, 10],
        ]
        images = [pikepdf.PdfImage(page.obj.Resources.XObject["/Im0"]) for page in pdf.pages]
        assert [image.read_bytes() for image in images] == [
            b"\xf0\x0f\xf0\x0f",
            b"\xff\x00\x00\x00\x00\xff" + b"\x00\xff\x00\x00\xff\x00" * 2,
            b"\x00\x80\xff\x10",
        ]
        assert pdf.pages[0].obj.Resources.XObject["/Im0"].Decode == [1, 0]
        assert [str(image.colorspace) for image in images] == ["/DeviceGray", "/DeviceRGB", "/DeviceCMYK"]
