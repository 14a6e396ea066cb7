"""PWG raster, URF and JPEG jobs become image pages of the right size; image bombs are refused."""

from __future__ import annotations

import io
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageStat

from printer_backend.errors import ConversionRefused
from printer_backend.limits import Limits
from printer_backend.raster import PageHeader, RasterReader, convert_raster, decode_rows
from tests.support.printed import A4_POINTS, LETTER_POINTS, gs

PAPERS = {"a4": A4_POINTS, "letter": LETTER_POINTS}
# name → (Ghostscript device arguments, MIME type, is colour)
RASTERS = {
    "pwg-sgray8": (["-sDEVICE=pwgraster", "-dcupsColorSpace=18", "-dcupsBitsPerColor=8"], "image/pwg-raster", False),
    "pwg-srgb8": (["-sDEVICE=pwgraster", "-dcupsColorSpace=19", "-dcupsBitsPerColor=8"], "image/pwg-raster", True),
    "pwg-rgb8": (["-sDEVICE=pwgraster", "-dcupsColorSpace=1", "-dcupsBitsPerColor=8"], "image/pwg-raster", True),
    "pwg-black1": (["-sDEVICE=pwgraster", "-dcupsColorSpace=3", "-dcupsBitsPerColor=1"], "image/pwg-raster", False),
    "pwg-cmyk8": (["-sDEVICE=pwgraster", "-dcupsColorSpace=6", "-dcupsBitsPerColor=8"], "image/pwg-raster", True),
    "urf-sgray8": (["-sDEVICE=urf", "-dcupsColorSpace=18", "-dcupsBitsPerColor=8"], "image/urf", False),
    "urf-srgb8": (["-sDEVICE=urf", "-dcupsColorSpace=19", "-dcupsBitsPerColor=8"], "image/urf", True),
}


def rendered(pdf: Path, page: int = 1) -> Image.Image:
    """The page as a viewer shows it (poppler at 72 dpi: one pixel per point)."""
    png = subprocess.run(
        ["pdftoppm", "-r", "72", "-f", str(page), "-l", str(page), "-png", str(pdf)],
        capture_output=True, check=True, timeout=60,
    ).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


def mean_colour(image: Image.Image, x: int, y_from_bottom: int, size: int = 16) -> tuple[float, float, float]:
    top = image.height - y_from_bottom
    r, g, b = ImageStat.Stat(image.crop((x, top, x + size, top + size))).mean
    return r, g, b


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", RASTERS)
def test_raster_from_real_tools_becomes_pages_of_the_right_size(
    kind: str, paper: str, two_page_ps: Callable[[str], Path], tmp_path: Path
) -> None:
    device, mime, colour = RASTERS[kind]
    raster = tmp_path / f"{kind}.ras"
    gs(*device, "-r72", f"-sOutputFile={raster}", str(two_page_ps(paper)))
    output = tmp_path / "out.pdf"

    result = convert_raster(raster, output, source_format=mime, limits=Limits())

    assert result.pages == 2
    for width, height in result.page_sizes:
        assert abs(width - PAPERS[paper][0]) <= 1 and abs(height - PAPERS[paper][1]) <= 1
    with pikepdf.open(output) as pdf:
        assert len(pdf.pages) == 2
        width, height = (float(v) for v in pdf.pages[1].mediabox[2:])
        assert abs(width - PAPERS[paper][0]) <= 1 and abs(height - PAPERS[paper][1]) <= 1
    page = rendered(output, 2)
    r, g, b = mean_colour(page, 150, 140)  # inside the blue box
    paper_white = mean_colour(page, 400, 400)
    assert min(paper_white) > 250, "white paper must stay white (no inverted samples)"
    if colour:
        assert b > r + 60 and b > 150, (r, g, b)
    else:
        assert max(r, g, b) < 200, (r, g, b)


def test_a_higher_resolution_page_keeps_its_physical_size(two_page_ps: Callable[[str], Path], tmp_path: Path) -> None:
    raster = tmp_path / "a4-150.pwg"
    gs("-sDEVICE=pwgraster", "-dcupsColorSpace=19", "-dcupsBitsPerColor=8", "-r150", f"-sOutputFile={raster}",
       str(two_page_ps("a4")))
    result = convert_raster(raster, tmp_path / "out.pdf", source_format="image/pwg-raster", limits=Limits())
    assert result.pages == 2
    assert all(abs(w - A4_POINTS[0]) <= 1 and abs(h - A4_POINTS[1]) <= 1 for w, h in result.page_sizes)


def test_a_jpeg_becomes_one_page_of_its_size(two_page_ps: Callable[[str], Path], tmp_path: Path) -> None:
    gs("-sDEVICE=jpeg", "-r72", f"-sOutputFile={tmp_path}/page-%d.jpg", str(two_page_ps("letter")))
    output = tmp_path / "out.pdf"
    result = convert_raster(tmp_path / "page-1.jpg", output, source_format="image/jpeg", limits=Limits())
    assert result.pages == 1
    (width, height), = result.page_sizes
    assert abs(width - LETTER_POINTS[0]) <= 1 and abs(height - LETTER_POINTS[1]) <= 1
    r, g, b = mean_colour(rendered(output), 150, 140)
    assert b > r + 60


def pwg_header(*, width: int, height: int, space: int = 18, bits: int = 8, components: int = 1,
               resolution: int = 72) -> bytes:
    header = bytearray(1796)
    header[0:9] = b"PwgRaster"
    struct.pack_into(">II", header, 276, resolution, resolution)
    struct.pack_into(">II", header, 352, width * 72 // resolution, height * 72 // resolution)
    bpp = bits * components
    struct.pack_into(">IIIIIIIII", header, 372, width, height, 0, bits, bpp, (width * bpp + 7) // 8, 0, space, 0)
    struct.pack_into(">I", header, 420, components)
    return bytes(header)


def urf_page_header(*, width: int, height: int, bpp: int = 8, space: int = 0, dpi: int = 72) -> bytes:
    return struct.pack(">BBBBII III II", bpp, space, 1, 4, 0, 0, width, height, dpi, 0, 0)


def test_the_line_compression_is_decoded_exactly(tmp_path: Path) -> None:
    # 4 × 5 gray page: a line repeated twice, a literal run, a fill-with-white, a repeated pixel.
    data = (
        bytes([1, 0x01, 0x10, 0xFF, 0x20, 0x30])  # line shown twice: 0x10 twice, then 2 literal pixels
        + bytes([0, 0x00, 0x00, 0x80])  # 0x00 once, then white to the end of the line
        + bytes([1, 0x03, 0x7F])  # line shown twice: 0x7f four times
    )
    raster = tmp_path / "tiny.pwg"
    raster.write_bytes(b"RaS2" + pwg_header(width=4, height=5) + data)
    output = tmp_path / "out.pdf"
    convert_raster(raster, output, source_format="image/pwg-raster", limits=Limits())
    with pikepdf.open(output) as pdf:
        samples = pikepdf.PdfImage(pdf.pages[0].obj.Resources.XObject["/Im0"]).read_bytes()
    assert samples == bytes.fromhex("10102030" "10102030" "00ffffff" "7f7f7f7f" "7f7f7f7f")


@pytest.mark.parametrize(
    "raster",
    [
        b"RaS2" + pwg_header(width=100_000, height=100_000),
        b"UNIRAST\x00" + struct.pack(">I", 1) + urf_page_header(width=100_000, height=100_000, bpp=24, space=1),
    ],
    ids=["pwg", "urf"],
)
def test_a_header_claiming_100000_by_100000_pixels_is_refused_before_decoding(raster: bytes, tmp_path: Path) -> None:
    source = tmp_path / "bomb.ras"
    source.write_bytes(raster + b"\x00" * 1000)
    limits = Limits(memory_bytes=256 * 2**20)
    mime = "image/pwg-raster" if raster.startswith(b"RaS2") else "image/urf"
    with pytest.raises(ConversionRefused, match="100000 × 100000 pixels is larger than the limit") as refused:
        convert_raster(source, tmp_path / "out.pdf", source_format=mime, limits=limits)
    assert refused.value.peak_memory_bytes is not None
    assert refused.value.peak_memory_bytes <= limits.memory_bytes


def test_a_jpeg_claiming_huge_dimensions_is_refused(two_page_ps: Callable[[str], Path], tmp_path: Path) -> None:
    gs("-sDEVICE=jpeg", "-r20", f"-sOutputFile={tmp_path}/page-%d.jpg", str(two_page_ps("a4")))
    data = bytearray((tmp_path / "page-1.jpg").read_bytes())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 60000, 60000)
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(bytes(data))
    with pytest.raises(ConversionRefused, match="larger than the limit"):
        convert_raster(bomb, tmp_path / "out.pdf", source_format="image/jpeg", limits=Limits())


def test_many_large_pages_are_decoded_within_a_small_memory_limit(tmp_path: Path) -> None:
    # 30 pages of A4 at 300 dpi in gray: 261 MB of pixels, converted under a 200 MB address-space limit.
    width, height = 2480, 3508
    white_page = pwg_header(width=width, height=height, resolution=300) + bytes([255, 0x80]) * (height // 256 + 1)
    raster = tmp_path / "long.pwg"
    raster.write_bytes(b"RaS2" + white_page * 30)
    result = convert_raster(raster, tmp_path / "out.pdf", source_format="image/pwg-raster",
                            limits=Limits(memory_bytes=200 * 2**20))
    assert result.pages == 30


@pytest.mark.parametrize(
    ("raster", "reason"),
    [
        (b"RaS2" + pwg_header(width=100, height=100) + bytes([0, 0x80]) * 10, "ends in the middle of a page"),
        (b"RaS2" + pwg_header(width=100, height=100)[:900], "ends inside a page header"),
        (b"RaS2" + pwg_header(width=10, height=10, space=16, components=3, bits=8), "colour space 16"),
        (b"UNIRAST\x00" + struct.pack(">I", 2) + urf_page_header(width=8, height=1) + bytes([0, 0x80]),
         "ends after 1 of 2 pages"),
        (b"UNIRAST\x00" + struct.pack(">I", 1) + urf_page_header(width=8, height=1, bpp=1), "1 bits per pixel"),
        (b"RaS2", "no pages"),
    ],
)
def test_broken_raster_is_refused_with_a_reason(raster: bytes, reason: str, tmp_path: Path) -> None:
    source = tmp_path / "broken.ras"
    source.write_bytes(raster)
    mime = "image/pwg-raster" if raster.startswith(b"RaS2") else "image/urf"
    with pytest.raises(ConversionRefused, match=reason):
        convert_raster(source, tmp_path / "out.pdf", source_format=mime, limits=Limits())


HEADER = PageHeader(width=5, height=4, bits_per_color=8, bits_per_pixel=24, bytes_per_line=15, colour="rgb",
                    inverted=False, white=0xFF, resolution=(72, 72))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_any_compressed_data_gives_whole_lines_or_a_refusal(data: bytes) -> None:
    reader = RasterReader(io.BytesIO(data))
    try:
        rows = list(decode_rows(reader, HEADER))
    except ConversionRefused:
        return
    assert all(len(row) == HEADER.bytes_per_line for row, _ in rows)
    assert sum(times for _, times in rows) == HEADER.height
