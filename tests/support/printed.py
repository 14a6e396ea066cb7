"""Real documents made with real tools (reportlab, Ghostscript) once per run: helpers and their fixtures."""

from __future__ import annotations

import hashlib
import io
import secrets
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.support.harness import CORPUS

PRINTED = sorted((CORPUS / "printed").glob("*.pdf"))
# A two-page ZUGFeRD invoice whose fonts are subsets without usable glyph names once printed.
UNMAPPED_SOURCE = CORPUS / "printed" / "intarsys__EN16931__zugferd_2p0_EN16931_Einfach.pdf"

INVOICE_NUMBER = "INV-2026-0042"
INVOICE_TOTAL = "1.234,56 EUR"

A4_POINTS = (595.28, 841.89)
LETTER_POINTS = (612.0, 792.0)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gs(*args: str) -> None:
    """Run the real Ghostscript to make test input (never on untrusted input)."""
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", *args], check=True, capture_output=True, timeout=120)


def invoice_pdf(path: Path, *, pages: int = 1, pagesize: tuple[float, float] = A4) -> Path:
    """A plain invoice made by reportlab (standard fonts: text maps to Unicode)."""
    pdf = canvas.Canvas(str(path), pagesize=pagesize)
    width, height = pagesize
    for page in range(pages):
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(72, height - 72, f"Invoice {INVOICE_NUMBER}")
        pdf.setFont("Helvetica", 10)
        pdf.drawString(72, height - 100, "Muster GmbH, Hauptstrasse 1, 10115 Berlin")
        for line in range(30):
            pdf.drawString(72, height - 130 - 15 * line, f"Item {line + 1}: office chair, quantity 2, price 41,15 EUR")
        pdf.drawString(72, 90, f"Total {INVOICE_TOTAL}")
        pdf.drawString(width - 120, 60, f"Page {page + 1} of {pages}")
        pdf.showPage()
    pdf.save()
    return path


PAGE_PS = """%!PS
<< /PageSize [{w} {h}] >> setpagedevice
/Helvetica findfont 24 scalefont setfont
1 1 2 {{
  /n exch def
  72 {h} 144 sub moveto (Invoice INV-2026-0042  Total 1.234,56 EUR) show
  0.2 0.4 0.8 setrgbcolor 72 72 200 100 rectfill 0 setgray
  showpage
}} for
"""


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("backend-samples")


@pytest.fixture(scope="session")
def invoice_ps(samples: Path) -> Path:
    """PostScript whose fonts map to Unicode: a reportlab invoice through Ghostscript's ps2write."""
    source = invoice_pdf(samples / "invoice.pdf", pages=2)
    target = samples / "invoice.ps"
    gs("-sDEVICE=ps2write", f"-sOutputFile={target}", str(source))
    return target


@pytest.fixture(scope="session")
def unmapped_ps(samples: Path) -> Path:
    """PostScript printed from a corpus invoice with pdf2ps: its text is glyph numbers, not words."""
    target = samples / "unmapped.ps"
    subprocess.run(["pdf2ps", str(UNMAPPED_SOURCE), str(target)], check=True, capture_output=True, timeout=120)
    return target


@pytest.fixture(scope="session")
def two_page_ps(samples: Path) -> Callable[[str], Path]:
    """Two pages with text and a blue box, on A4 or Letter."""

    def make(paper: str) -> Path:
        w, h = {"a4": (595, 842), "letter": (612, 792)}[paper]
        path = samples / f"two-pages-{paper}.ps"
        if not path.exists():
            path.write_text(PAGE_PS.format(w=w, h=h))
        return path

    return make


def flate_bomb_pdf(path: Path, gigabytes: int = 4) -> Path:
    """A tiny PDF whose page content inflates to ``gigabytes`` GB of spaces (two nested Flate layers)."""
    megabyte = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = megabyte.compress(b" " * 2**20) + megabyte.flush(zlib.Z_FULL_FLUSH)
    count = gigabytes * 1024
    checksum = 1
    for _ in range(count):
        checksum = zlib.adler32(b" " * 2**20, checksum)
    inner = io.BytesIO()
    inner.write(b"\x78\xda")
    for _ in range(count):
        inner.write(block)
    inner.write(b"\x03\x00" + checksum.to_bytes(4, "big"))
    stream = zlib.compress(inner.getvalue(), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter [/FlateDecode /FlateDecode] >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.5\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture(scope="session")
def bomb_pdf(samples: Path) -> Path:
    return flate_bomb_pdf(samples / "bomb.pdf")


@dataclass
class Canaries:
    """Secrets a print job must never reach, and places it must never write."""

    token: str
    in_tmp: Path  # a canary file right in /tmp
    other_job: Path  # a canary in another job's spool directory
    spool: Path  # the spool holding this job (job-1) and the other one (job-2)
    work_root: Path  # where the Ghostscript job directories go

    @property
    def canary_texts(self) -> list[str]:
        return [self.in_tmp.read_text(), self.other_job.read_text(), "root:x:0:0"]

    def forbidden_writes(self) -> list[Path]:
        return [Path(f"/tmp/pagero-pwned-{self.token}"), self.spool / "job-2" / "evil.ps"]

    def job(self, postscript: str) -> Path:
        path = self.spool / "job-1" / "in.ps"
        path.write_text(postscript)
        return path

    def tree(self) -> set[Path]:
        return set(self.spool.rglob("*"))


@pytest.fixture
def canaries() -> Iterator[Canaries]:
    token = secrets.token_hex(6)
    # World-readable places, so that only Ghostscript's own sandbox can be what refuses.
    spool = Path(tempfile.mkdtemp(prefix="pagero-spool-", dir="/tmp"))
    work_root = Path(tempfile.mkdtemp(prefix="pagero-work-", dir="/tmp"))
    for directory in (spool, spool / "job-1", spool / "job-2", work_root):
        directory.mkdir(exist_ok=True)
        directory.chmod(0o755)
    in_tmp = Path(f"/tmp/pagero-canary-{token}.txt")
    in_tmp.write_text(f"CANARY-TMP-{token}")
    other_job = spool / "job-2" / "invoice.txt"
    other_job.write_text(f"CANARY-OTHER-JOB-{token}")
    for canary in (in_tmp, other_job):
        canary.chmod(0o644)
    yield Canaries(token, in_tmp, other_job, spool, work_root)
    in_tmp.unlink()
    shutil.rmtree(spool)
    shutil.rmtree(work_root)
