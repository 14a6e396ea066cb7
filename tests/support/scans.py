"""Invoices as a raster printer driver, a PostScript driver and an office scanner send them, made with real tools.

Each maker takes a PDF from the repository's corpus and writes what a client would print:
PWG raster or URF at 300 dpi (Ghostscript's ``pwgraster`` and ``urf`` devices, as CUPS's IPP
Everywhere driver and AirPrint clients send), PostScript from Ghostscript's ``ps2write`` (fonts
re-encoded: the text cannot be recovered), and a scan: each page rendered at 200 dpi, turned by a
small angle, with a little noise, saved as JPEG (one page: a ``.jpg``; more: an image-only PDF,
as a scanner's "scan to PDF" makes).  Ghostscript here only makes test input from our own files.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

KINDS = ("pwg", "urf", "ps2write", "scan")
SUFFIX = {"pwg": ".pwg", "urf": ".urf", "ps2write": ".ps", "scan": ".jpg"}
FORMAT = {"pwg": "image/pwg-raster", "urf": "image/urf", "ps2write": "application/postscript",
          "scan": "image/jpeg"}


def _gs(*args: str) -> None:
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", *args], check=True, capture_output=True,
                   timeout=300)


def pwg(pdf: Path, out: Path, dpi: int = 300) -> Path:
    """PWG raster, 8-bit grey, as CUPS's IPP Everywhere driver sends it."""
    _gs("-sDEVICE=pwgraster", "-dcupsColorSpace=18", "-dcupsBitsPerColor=8", f"-r{dpi}", f"-sOutputFile={out}",
        str(pdf))
    return out


def urf(pdf: Path, out: Path, dpi: int = 300) -> Path:
    """Apple raster (URF), 8-bit grey, as AirPrint clients send it (Ghostscript's default, 1 bit, is not URF's)."""
    _gs("-sDEVICE=urf", "-dcupsColorSpace=18", "-dcupsBitsPerColor=8", f"-r{dpi}", f"-sOutputFile={out}", str(pdf))
    return out


def ps2write(pdf: Path, out: Path) -> Path:
    """PostScript as a driver makes it: Ghostscript's ps2write, which re-encodes the fonts."""
    _gs("-sDEVICE=ps2write", f"-sOutputFile={out}", str(pdf))
    return out


def scan(pdf: Path, out: Path, dpi: int = 200, skew: float = 2.0, noise: float = 0.004, seed: int = 1) -> Path:
    """A scan: 200 dpi grey, turned by ``skew`` degrees, salt-and-pepper ``noise``, JPEG quality 80.

    One page gives ``out`` as a JPEG; several give an image-only PDF (``out`` with ``.pdf``).
    """
    with tempfile.TemporaryDirectory(prefix="scan-") as folder:
        _gs("-sDEVICE=pnggray", f"-r{dpi}", f"-sOutputFile={folder}/page-%03d.png", str(pdf))
        pictures = [_scanned(Image.open(path), skew, noise, random.Random(seed + n))
                    for n, path in enumerate(sorted(Path(folder).glob("page-*.png")))]
    if len(pictures) == 1:
        pictures[0].save(out, format="JPEG", quality=80, dpi=(dpi, dpi))
        return out
    target = out.with_suffix(".pdf")
    pictures[0].save(target, format="PDF", save_all=True, append_images=pictures[1:], resolution=float(dpi),
                     quality=80)
    return target


def _scanned(page: Image.Image, skew: float, noise: float, rng: random.Random) -> Image.Image:
    page = page.convert("L").rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=235)
    pixels = page.load()
    assert pixels is not None
    for _ in range(int(page.width * page.height * noise)):
        x, y = rng.randrange(page.width), rng.randrange(page.height)
        pixels[x, y] = 0 if rng.random() < 0.5 else 255
    return page


MAKERS: dict[str, Callable[[Path, Path], Path]] = {"pwg": pwg, "urf": urf, "ps2write": ps2write, "scan": scan}


def make(kind: str, pdf: Path, folder: Path) -> Path:
    """``pdf`` printed as ``kind`` into ``folder`` (named after the PDF)."""
    folder.mkdir(parents=True, exist_ok=True)
    return MAKERS[kind](pdf, folder / (pdf.stem + SUFFIX[kind]))


def have_urf() -> bool:
    """Whether this Ghostscript has the ``urf`` device (Debian's has)."""
    gs = shutil.which("gs")
    if gs is None:
        return False
    listed = subprocess.run([gs, "-h"], capture_output=True, text=True, timeout=30).stdout
    return " urf" in listed or "\turf" in listed or "\nurf" in listed


def blank_pwg(path: Path, pages: int, size: int = 8) -> Path:
    """A PWG raster job of ``pages`` white ``size`` × ``size`` pages (1.8 KB each: a 10,000-page job is 18 MB)."""
    header = bytearray(1796)
    header[0:9] = b"PwgRaster"
    struct.pack_into(">II", header, 276, 72, 72)
    struct.pack_into(">II", header, 352, size, size)
    struct.pack_into(">IIIIIIIII", header, 372, size, size, 0, 8, 8, size, 0, 18, 0)
    struct.pack_into(">I", header, 420, 1)
    lines, rest = bytearray(), size
    while rest:  # a white line shown up to 256 times, as often as needed
        shown = min(rest, 256)
        lines += bytes([shown - 1, 0x80])
        rest -= shown
    page = bytes(header) + bytes(lines)
    with path.open("wb") as out:
        out.write(b"RaS2")
        for _ in range(pages):
            out.write(page)
    return path
