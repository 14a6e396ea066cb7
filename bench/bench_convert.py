"""How much the confined conversion costs over bare Ghostscript, and what a PDF passthrough costs.

Run ``python bench/bench_convert.py``: it makes 1-, 10- and 200-page invoices with reportlab,
prints them to PostScript with Ghostscript's ps2write (cached in ``.test-cache/bench``), then
times, interleaved in the same run, bare ``gs -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite``,
our Ghostscript wrapper alone, and the whole ``convert()`` (sniff, confined gs, text check in a
limited child, atomic fsynced output), plus ``convert()`` of the PDF itself (passthrough).
It prints a Markdown table of medians.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from printer_backend.convert import convert  # noqa: E402
from printer_backend.ghostscript import ghostscript_version, isolation, run_ghostscript  # noqa: E402
from printer_backend.limits import Limits  # noqa: E402

CACHE = REPO / ".test-cache" / "bench"
SIZES = (1, 10, 200)
RUNS = 5


def invoice(pages: int) -> tuple[Path, Path]:
    """A reportlab invoice of ``pages`` pages and its ps2write PostScript, made once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    pdf, ps = CACHE / f"invoice-{pages}.pdf", CACHE / f"invoice-{pages}.ps"
    if not ps.exists():
        drawing = canvas.Canvas(str(pdf), pagesize=A4)
        for page in range(pages):
            drawing.setFont("Helvetica-Bold", 16)
            drawing.drawString(72, 770, f"Invoice INV-2026-{page:04d}")
            drawing.setFont("Helvetica", 10)
            for line in range(40):
                drawing.drawString(72, 740 - 15 * line, f"Item {line + 1}: office chair, quantity 2, 41,15 EUR")
            drawing.drawString(72, 100, "Total 1.234,56 EUR")
            drawing.showPage()
        drawing.save()
        subprocess.run(
            ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=ps2write", f"-sOutputFile={ps}", str(pdf)],
            check=True,
        )
    return pdf, ps


def bare_gs(ps: Path, out: Path) -> None:
    subprocess.run(
        ["gs", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", f"-sOutputFile={out}", str(ps)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    limits = Limits()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pagero-bench-") as scratch:
        out = Path(scratch)
        for pages in SIZES:
            pdf, ps = invoice(pages)
            convert(ps, out / "warm.pdf")  # starts the zygote, probes the confinement once
            times: dict[str, list[float]] = {"bare": [], "wrapper": [], "convert": [], "passthrough": []}
            actions: dict[str, Callable[[], object]] = {
                "bare": lambda ps=ps: bare_gs(ps, out / "bare.pdf"),
                "wrapper": lambda ps=ps: run_ghostscript(ps, out / "wrapper.pdf", limits=limits),
                "convert": lambda ps=ps: convert(ps, out / "ours.pdf"),
                "passthrough": lambda pdf=pdf: convert(pdf, out / "same.pdf"),
            }
            for _ in range(RUNS):  # interleaved, so that load from elsewhere hits every column alike
                for name, action in actions.items():
                    times[name].append(timed(action))
            median = {name: statistics.median(values) for name, values in times.items()}
            rows.append((pages, median))
    print(f"Ghostscript {ghostscript_version()}; confinement: {', '.join(isolation())}; median of {RUNS} runs\n")
    print("| pages | bare gs (ms) | our gs wrapper (ms) | wrapper/bare | convert() (ms) | convert/bare "
          "| PDF passthrough (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for pages, m in rows:
        print(
            f"| {pages} | {m['bare'] * 1000:.0f} | {m['wrapper'] * 1000:.0f} | {m['wrapper'] / m['bare']:.2f} "
            f"| {m['convert'] * 1000:.0f} | {m['convert'] / m['bare']:.2f} | {m['passthrough'] * 1000:.0f} |"
        )


if __name__ == "__main__":
    main()
