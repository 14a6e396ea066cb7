"""Sample documents the stock ipptool suites name, made with real tools into a cache.

Debian does not ship ``document-a4.pdf`` and friends, so Ghostscript makes them:
``pdfwrite`` and ``ps2write`` for the documents, ``jpeg`` for the photos and
``pwgraster`` for the PWG raster samples of every resolution and colour space.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.support.harness import CACHE, IPPTOOL_DIR

SAMPLES = CACHE / "ipp-samples"

PAGE_PS = """%!PS
/Helvetica findfont 24 scalefont setfont
{pages} {{
  /n exch def
  72 {height} 144 sub moveto (Pagero Connect test document) show
  72 {height} 200 sub moveto (Invoice INV-2026-0042  Total 1.234,56 EUR) show
  72 {height} 260 sub moveto (Page ) show n 1 add 10 string cvs show
  0.2 0.4 0.8 setrgbcolor 72 72 200 100 rectfill 0 setgray
  showpage
}} for
"""

SIZES = {"a4": (595, 842), "letter": (612, 792)}


def _gs(*args: str) -> None:
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", *args], check=True, capture_output=True)


def _ps_source(folder: Path, size: str, pages: int = 2) -> Path:
    width, height = SIZES[size]
    path = folder / f"source-{size}.ps"
    text = PAGE_PS.format(pages=f"0 1 {pages - 1}", height=height)
    path.write_text(f"<< /PageSize [{width} {height}] >> setpagedevice\n" + text.replace("%!PS\n", ""))
    return path


ALL_RESOLUTIONS = (150, 180, 300, 360, 600, 720)
ALL_TYPES = ("black-1", "sgray-8", "srgb-8", "srgb-16", "cmyk-8")


def make_samples(resolutions: tuple[int, ...] = (300, 600),
                 types: tuple[str, ...] = ("black-1", "sgray-8", "srgb-8")) -> Path:
    """Make (once) and return the folder holding every sample the suites name.

    ``ipptool`` checks at load time that every FILE it names can be read, even for
    tests it will skip.  The resolutions and types the printer advertises get the
    real documents; every other combination gets a one-inch page at that
    resolution and type (still a real PWG raster file, never sent by the suite).
    """
    marker = SAMPLES / f".done-{'-'.join(map(str, resolutions))}-{'-'.join(types)}"
    if marker.exists():
        return SAMPLES
    SAMPLES.mkdir(parents=True, exist_ok=True)
    work = SAMPLES / ".work"
    work.mkdir(exist_ok=True)
    for size in SIZES:
        source = _ps_source(work, size)
        width, height = SIZES[size]
        _gs("-sDEVICE=pdfwrite", f"-sOutputFile={SAMPLES / f'document-{size}.pdf'}", str(source))
        _gs("-sDEVICE=ps2write", f"-sOutputFile={SAMPLES / f'document-{size}.ps'}", str(source))
        one = work / f"onepage-{size}.ps"
        one.write_text(source.read_text().replace("0 1 1 {", "0 1 0 {"))
    photo = work / "photo.ps"
    photo.write_text("%!PS\n<< /PageSize [288 432] >> setpagedevice\n"
                     "0 1 9 { /i exch def i 10 div 0.5 1 i 10 div sub setrgbcolor\n"
                     "  0 i 43.2 mul 288 43.2 rectfill } for\n"
                     "showpage\n")
    _gs("-sDEVICE=jpeg", "-r72", f"-sOutputFile={SAMPLES / 'color.jpg'}", str(photo))
    _gs("-sDEVICE=jpeggray", "-r72", f"-sOutputFile={SAMPLES / 'gray.jpg'}", str(photo))
    gs_colour = {"black-1": ("pwgraster", "-dcupsColorSpace=3", "-dcupsBitsPerColor=1"),
                 "sgray-8": ("pwgraster", "-dcupsColorSpace=18", "-dcupsBitsPerColor=8"),
                 "srgb-8": ("pwgraster", "-dcupsColorSpace=19", "-dcupsBitsPerColor=8"),
                 "srgb-16": ("pwgraster", "-dcupsColorSpace=19", "-dcupsBitsPerColor=16"),
                 "cmyk-8": ("pwgraster", "-dcupsColorSpace=6", "-dcupsBitsPerColor=8")}
    sources = {"document-a4": work / "source-a4.ps", "document-letter": work / "source-letter.ps",
               "onepage-a4": work / "onepage-a4.ps", "onepage-letter": work / "onepage-letter.ps",
               "color.jpg-4x6": photo, "gray.jpg-4x6": photo}
    inch = work / "inch.ps"
    inch.write_text("%!PS\n<< /PageSize [72 72] >> setpagedevice\n0 0 36 36 rectfill showpage\n")
    for dpi in ALL_RESOLUTIONS:
        for kind in ALL_TYPES:
            folder = SAMPLES / f"pwg-raster-samples-{dpi}dpi" / kind
            folder.mkdir(parents=True, exist_ok=True)
            device, *options = gs_colour[kind]
            real = dpi in resolutions and kind in types
            for name, source in sources.items():
                target = folder / f"{name}-{kind}-{dpi}dpi.pwg"
                _gs(f"-sDEVICE={device}", f"-r{dpi}", *options, f"-sOutputFile={target}", str(source if real else inch))
    shutil.rmtree(work)
    marker.touch()
    return SAMPLES


def suite_dir(dest: Path, *names: str) -> Path:
    """A copy of the stock suites beside the samples, so their FILE lines resolve."""
    samples = make_samples()
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(IPPTOOL_DIR / name, dest / name)
    for item in samples.iterdir():
        if item.name.startswith("."):
            continue
        target = dest / item.name
        if not target.exists():
            target.symlink_to(item)
    return dest


def expected_tests(path: Path) -> int:
    """How many tests a suite runs: its NAME lines plus those of the files it INCLUDEs."""
    count = 0
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith('NAME "'):
            count += 1
        match = re.match(r'INCLUDE "(.+)"', stripped)
        if match:
            count += expected_tests(path.parent / match.group(1))
    return count
