"""A PDF writer for full-page images that streams: one row in memory, never a whole page.

Raster jobs can be hundreds of pages of 600 dpi colour; libraries that build the document in
memory (img2pdf, Pillow's PDF plugin) would hold every page at once.  This writer appends each
page's image as a Flate-compressed XObject while the decoder produces rows, and writes the page
tree and cross-reference table at the end.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import BinaryIO

COLOUR_SPACES = {"gray": (b"/DeviceGray", 1), "rgb": (b"/DeviceRGB", 3), "cmyk": (b"/DeviceCMYK", 4)}


class ImagePdfWriter:
    """Write ``out`` as a PDF with one image page per :meth:`add_page`, then :meth:`close`."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._position = 0
        self._offsets: dict[int, int] = {}
        self._pages: list[int] = []
        self._next_number = 3  # 1 is the catalog, 2 the page tree
        self._write(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def add_page(
        self,
        *,
        width_px: int,
        height_px: int,
        colour: str,
        bits: int,
        size_pt: tuple[float, float],
        rows: Iterable[tuple[bytes, int]],
        inverted: bool = False,
    ) -> None:
        """Append a page showing one image that fills it.

        ``colour`` is "gray", "rgb" or "cmyk"; ``bits`` per component; ``rows`` yields
        ``(row, times)``: each packed row of samples, repeated ``times``; ``inverted`` means
        the samples count ink (0 = white), as in PWG's black colour space.
        """
        space, components = COLOUR_SPACES[colour]
        image, length = self._reserve(), self._reserve()
        decode = b" /Decode [" + b"1 0 " * components + b"]" if inverted else b""
        self._begin(image)
        self._write(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d%s"
            b" /Filter /FlateDecode /Length %d 0 R >>\nstream\n" % (width_px, height_px, space, bits, decode, length)
        )
        start = self._position
        compressor = zlib.compressobj(6)
        for row, times in rows:
            for _ in range(times):
                chunk = compressor.compress(row)
                if chunk:
                    self._write(chunk)
        self._write(compressor.flush())
        size = self._position - start
        self._write(b"\nendstream\nendobj\n")
        self._begin(length)
        self._write(b"%d\nendobj\n" % size)

        width_pt, height_pt = size_pt
        content = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (width_pt, height_pt)
        contents = self._reserve()
        self._begin(contents)
        self._write(b"<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(content), content))
        page = self._reserve()
        self._begin(page)
        self._write(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] /Resources << /XObject << /Im0 %d 0 R >> >>"
            b" /Contents %d 0 R >>\nendobj\n" % (width_pt, height_pt, image, contents)
        )
        self._pages.append(page)

    def close(self) -> None:
        """Write the page tree, catalog, cross-reference table and trailer."""
        kids = b" ".join(b"%d 0 R" % n for n in self._pages)
        self._begin(2)
        self._write(b"<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n" % (kids, len(self._pages)))
        self._begin(1)
        self._write(b"<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
        xref = self._position
        count = self._next_number
        lines = [b"xref\n0 %d\n" % count, b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % self._offsets[n] for n in range(1, count)]
        self._write(b"".join(lines))
        self._write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref))
        self._out.flush()

    def _reserve(self) -> int:
        number = self._next_number
        self._next_number += 1
        return number

    def _begin(self, number: int) -> None:
        self._offsets[number] = self._position
        self._write(b"%d 0 obj\n" % number)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._position += len(data)
