"""PWG raster, Apple URF and JPEG print jobs to PDF: one image page per page, without text.

Ghostscript cannot read PWG raster (PWG 5102.4) or URF (Apple's "UniRast"), so we decode them:
both are a file header, then per page a header and lines compressed with a line-repeat byte and
a PackBits-like run scheme.  Pages are decoded and written one row at a time by
:class:`printer_backend.imagepdf.ImagePdfWriter`; every header is checked against the pixel and
page caps *before* a single row is decoded, so a header claiming 100,000 × 100,000 pixels is
refused at once.  JPEG is checked by Pillow (JPEG only, pixel cap, decoded at 1/8 scale to
validate the whole stream cheaply) and wrapped losslessly by img2pdf.  Decoding happens in a
limited child (:mod:`printer_backend.child`).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from printer_backend.child import ChildLimitError, run_limited
from printer_backend.errors import ConversionRefused
from printer_backend.imagepdf import ImagePdfWriter
from printer_backend.limits import Limits
from printer_backend.sniff import JPEG, PWG_RASTER, URF

PWG_HEADER_BYTES = 1796
URF_HEADER_BYTES = 32
_MAX_PAGE_POINTS = 14400.0  # the largest page a PDF reader must accept (200 in)

# PWG 5102.4 cupsColorSpace → (PDF colour, components, samples count ink).
_PWG_SPACES = {
    0: ("gray", 1, False),  # W (device gray)
    1: ("rgb", 3, False),  # RGB
    3: ("gray", 1, True),  # black
    6: ("cmyk", 4, False),  # CMYK
    18: ("gray", 1, False),  # sGray
    19: ("rgb", 3, False),  # sRGB
    20: ("rgb", 3, False),  # AdobeRGB, shown as device RGB
}
# URF colour space byte → same.
_URF_SPACES = {
    0: ("gray", 1, False),  # sGray
    1: ("rgb", 3, False),  # sRGB
    3: ("rgb", 3, False),  # AdobeRGB
    4: ("gray", 1, False),  # W
    5: ("rgb", 3, False),  # RGB
    6: ("cmyk", 4, False),  # CMYK
}


@dataclass(frozen=True)
class RasterResult:
    pages: int
    page_sizes: tuple[tuple[float, float], ...]
    notes: tuple[str, ...]


def convert_raster(source: Path, output: Path, *, source_format: str, limits: Limits) -> RasterResult:
    """Write ``output`` as a PDF with one image page per raster page (or the one JPEG image).

    ``source_format`` is the sniffed type: PWG raster, URF or JPEG.  Raises
    :class:`ConversionRefused` for images over ``limits.max_pixels``, documents over
    ``limits.max_pages``, unsupported colour spaces, truncated data or a limit reached.
    """
    step = {PWG_RASTER: raster_in_child, URF: raster_in_child, JPEG: jpeg_in_child}[source_format]
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        out = os.open(output, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            result = run_limited(
                step, source_format, limits.max_pixels, limits.max_pages, files=[src, out], limits=limits
            )
        finally:
            os.close(out)
    finally:
        os.close(src)
    return RasterResult(
        pages=int(result["pages"]),
        page_sizes=tuple((float(w), float(h)) for w, h in result["page_sizes"]),
        notes=tuple(str(n) for n in result["notes"]),
    )


@dataclass(frozen=True)
class PageHeader:
    """The fields of a raster page header that decoding needs, already checked."""

    width: int
    height: int
    bits_per_color: int
    bits_per_pixel: int
    bytes_per_line: int
    colour: str
    inverted: bool
    white: int  # the byte that fills a line's remainder (code 128)
    resolution: tuple[int, int]

    @property
    def size_points(self) -> tuple[float, float]:
        return (self.width * 72.0 / self.resolution[0], self.height * 72.0 / self.resolution[1])


def raster_in_child(src_fd: int, out_fd: int, source_format: str, max_pixels: int, max_pages: int) -> dict[str, Any]:
    """Child side of :func:`convert_raster` for PWG raster and URF."""
    sizes: list[tuple[float, float]] = []
    with open(src_fd, "rb", buffering=0, closefd=False) as raw, open(out_fd, "wb", closefd=False) as out:
        reader = RasterReader(raw)
        writer = ImagePdfWriter(out)
        pages = pwg_pages(reader, max_pixels) if source_format == PWG_RASTER else urf_pages(reader, max_pixels)
        for header in pages:
            if writer.page_count >= max_pages:
                raise ChildLimitError(f"the raster document has more than {max_pages} pages (the limit)")
            writer.add_page(
                width_px=header.width,
                height_px=header.height,
                colour=header.colour,
                bits=header.bits_per_color,
                size_pt=header.size_points,
                rows=decode_rows(reader, header),
                inverted=header.inverted,
            )
            sizes.append(header.size_points)
        if not writer.page_count:
            raise ConversionRefused("the raster document has no pages")
        writer.close()
    return {"pages": len(sizes), "page_sizes": sizes, "notes": []}


def pwg_pages(reader: RasterReader, max_pixels: int) -> Iterator[PageHeader]:
    """Yield each page header of a PWG raster stream; the caller decodes its rows before the next."""
    if reader.read(4) != b"RaS2":
        raise ConversionRefused("the PWG raster document has no RaS2 sync word")
    while True:
        raw = reader.read(PWG_HEADER_BYTES)
        if not raw:
            return
        if len(raw) < PWG_HEADER_BYTES:
            raise ConversionRefused("the PWG raster document ends inside a page header")
        yield _pwg_header(raw, max_pixels)


def _pwg_header(raw: bytes, max_pixels: int) -> PageHeader:
    def u32(offset: int) -> int:
        return int(struct.unpack_from(">I", raw, offset)[0])

    if raw[:64].rstrip(b"\x00") not in (b"PwgRaster", b""):
        raise ConversionRefused("the PWG raster page header is not a PwgRaster header")
    space = u32(400)
    if space not in _PWG_SPACES:
        raise ConversionRefused(f"PWG raster colour space {space} is not supported")
    if u32(396) != 0:
        raise ConversionRefused("PWG raster with banded or planar colour order is not supported")
    colour, components, inverted = _PWG_SPACES[space]
    return _checked_header(
        width=u32(372),
        height=u32(376),
        bits_per_color=u32(384),
        bits_per_pixel=u32(388),
        bytes_per_line=u32(392),
        components=components,
        colour=colour,
        inverted=inverted,
        resolution=(u32(276), u32(280)),
        max_pixels=max_pixels,
    )


def urf_pages(reader: RasterReader, max_pixels: int) -> Iterator[PageHeader]:
    """Yield each page header of a URF stream (a page count of 0 means "until the end")."""
    head = reader.read(12)
    if len(head) < 12 or head[:8] != b"UNIRAST\x00":
        raise ConversionRefused("the URF document has no UNIRAST header")
    declared = int(struct.unpack_from(">I", head, 8)[0])
    seen = 0
    while not declared or seen < declared:
        raw = reader.read(URF_HEADER_BYTES)
        if not raw:
            if declared:
                raise ConversionRefused(f"the URF document ends after {seen} of {declared} pages")
            return
        if len(raw) < URF_HEADER_BYTES:
            raise ConversionRefused("the URF document ends inside a page header")
        seen += 1
        yield _urf_header(raw, max_pixels)


def _urf_header(raw: bytes, max_pixels: int) -> PageHeader:
    bits_per_pixel, space = raw[0], raw[1]
    width, height, dpi = struct.unpack_from(">III", raw, 12)
    if space not in _URF_SPACES:
        raise ConversionRefused(f"URF colour space {space} is not supported")
    colour, components, inverted = _URF_SPACES[space]
    if bits_per_pixel % components or bits_per_pixel // components not in (8, 16):
        raise ConversionRefused(f"URF with {bits_per_pixel} bits per pixel is not supported")
    return _checked_header(
        width=width,
        height=height,
        bits_per_color=bits_per_pixel // components,
        bits_per_pixel=bits_per_pixel,
        bytes_per_line=width * bits_per_pixel // 8,
        components=components,
        colour=colour,
        inverted=inverted,
        resolution=(dpi, dpi),
        max_pixels=max_pixels,
    )


def _checked_header(
    *,
    width: int,
    height: int,
    bits_per_color: int,
    bits_per_pixel: int,
    bytes_per_line: int,
    components: int,
    colour: str,
    inverted: bool,
    resolution: tuple[int, int],
    max_pixels: int,
) -> PageHeader:
    if width <= 0 or height <= 0:
        raise ConversionRefused("a raster page has no pixels")
    if width * height > max_pixels:
        raise ChildLimitError(
            f"a raster page of {width} × {height} pixels is larger than the limit of {max_pixels:,} pixels"
        )
    if bits_per_color not in (1, 2, 4, 8, 16) or bits_per_pixel != bits_per_color * components:
        raise ConversionRefused(f"raster pages with {bits_per_pixel} bits per pixel are not supported")
    if bits_per_color < 8 and components != 1:
        raise ConversionRefused("colour raster pages need 8 or 16 bits per colour")
    if bytes_per_line != (width * bits_per_pixel + 7) // 8:
        raise ConversionRefused("the raster page header is inconsistent (bytes per line)")
    if not all(0 < r <= 10_000 for r in resolution):
        raise ConversionRefused(f"the raster page resolution {resolution[0]}×{resolution[1]} dpi is not plausible")
    header = PageHeader(
        width=width,
        height=height,
        bits_per_color=bits_per_color,
        bits_per_pixel=bits_per_pixel,
        bytes_per_line=bytes_per_line,
        colour=colour,
        inverted=inverted,
        white=0x00 if inverted or colour == "cmyk" else 0xFF,
        resolution=resolution,
    )
    if max(header.size_points) > _MAX_PAGE_POINTS:
        raise ConversionRefused("the raster page is larger than 200 inches")
    return header


def decode_rows(reader: RasterReader, header: PageHeader) -> Iterator[tuple[bytes, int]]:
    """Yield ``(row, times)`` for one page: the line-repeat byte, then PackBits-like runs.

    Per line: one byte *r* (the line appears *r* + 1 times), then runs until the line is full:
    a byte *n* < 128 repeats the next pixel *n* + 1 times; *n* > 128 is followed by 257 − *n*
    literal pixels; 128 fills the rest of the line with white.  Below 8 bits per pixel the
    run unit is a byte.
    """
    line_bytes = header.bytes_per_line
    unit = max(1, header.bits_per_pixel // 8)
    white = bytes([header.white])
    worst = 2 + line_bytes // unit + line_bytes + unit  # one control byte per pixel at most
    remaining = header.height
    while remaining > 0:
        data, pos = reader.window(worst)
        end = len(data)
        if pos >= end:
            raise ConversionRefused("the raster data ends in the middle of a page")
        times = min(data[pos] + 1, remaining)
        pos += 1
        line = bytearray()
        while len(line) < line_bytes:
            if pos >= end:
                raise ConversionRefused("the raster data ends in the middle of a line")
            code = data[pos]
            pos += 1
            if code < 128:
                pixel = data[pos : pos + unit]
                pos += unit
                line += pixel * (code + 1)
            elif code == 128:
                line += white * (line_bytes - len(line))
            else:
                # Like CUPS, a run never takes more than the line still needs.
                count = min((257 - code) * unit, line_bytes - len(line))
                line += data[pos : pos + count]
                pos += count
        if pos > end:
            raise ConversionRefused("the raster data ends in the middle of a line")
        reader.consumed(pos)
        del line[line_bytes:]
        remaining -= times
        yield bytes(line), times


class RasterReader:
    """Buffered reading of a raster stream that lets the decoder index bytes directly."""

    _CHUNK = 1 << 20

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._data = b""
        self._pos = 0

    def read(self, size: int) -> bytes:
        data, pos = self.window(size)
        chunk = data[pos : pos + size]
        self._pos = pos + len(chunk)
        return chunk

    def window(self, size: int) -> tuple[bytes, int]:
        """The buffer and the current position, with at least ``size`` bytes after it unless at EOF."""
        if len(self._data) - self._pos < size:
            parts = [self._data[self._pos :]]
            have = len(parts[0])
            while have < size:
                chunk = self._raw.read(max(self._CHUNK, size - have))
                if not chunk:
                    break
                parts.append(chunk)
                have += len(chunk)
            self._data, self._pos = b"".join(parts), 0
        return self._data, self._pos

    def consumed(self, pos: int) -> None:
        self._pos = pos


def warm_up() -> None:
    """Load Pillow's JPEG plugin, img2pdf and pikepdf (run once in the zygote)."""
    import img2pdf  # noqa: F401
    import pikepdf  # noqa: F401
    from PIL import JpegImagePlugin  # noqa: F401


def jpeg_in_child(src_fd: int, out_fd: int, source_format: str, max_pixels: int, max_pages: int) -> dict[str, Any]:
    """Child side of :func:`convert_raster` for JPEG: validate with Pillow, wrap with img2pdf."""
    import img2pdf
    import pikepdf
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    with open(src_fd, "rb", closefd=False) as source:
        try:
            image = Image.open(source, formats=["JPEG"])
        except Image.DecompressionBombError:
            raise ChildLimitError(f"the JPEG image is larger than the limit of {max_pixels:,} pixels") from None
        width, height = image.size
        if width * height > max_pixels:
            raise ChildLimitError(
                f"the JPEG image of {width} × {height} pixels is larger than the limit of {max_pixels:,} pixels"
            )
        # DCT scaling decodes at 1/8 size: the whole stream is checked, little memory is used.
        image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
        image.load()
        source.seek(0)
        data = source.read()
    with open(out_fd, "w+b", closefd=False) as out:
        img2pdf.convert(data, outputstream=out)
        out.flush()
        out.seek(0)
        with pikepdf.open(out) as pdf:
            x0, y0, x1, y1 = (float(v) for v in pdf.pages[0].mediabox)
    return {"pages": 1, "page_sizes": [(round(x1 - x0, 2), round(y1 - y0, 2))], "notes": []}
