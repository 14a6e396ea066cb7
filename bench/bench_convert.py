"""How much the confined conversion costs over bare Ghostscript, and what a PDF passthrough costs.

Run ``python bench/bench_convert.py``: it makes 1-, 10- and 200-page invoices with reportlab,
prints them to PostScript with Ghostscript's ps2write (cached in ``.test-cache/bench``), then
times, interleaved in the same run, bare ``gs -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite``,
our Ghostscript wrapper alone, and the whole ``convert()`` (sniff, confined gs, text check in a
limited child, atomic fsynced output), plus ``convert()`` of the PDF itself (passthrough).
Ours runs cold (Ghostscript started for the job), warm (the Ghostscript the server starts
ahead is waiting, as when a job finds the printer idle) and back to back (the next job right
after the last, when the one started ahead may still be initialising).
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

from printer_backend.convert import convert, start_converter  # noqa: E402
from printer_backend.ghostscript import (  # noqa: E402
    ghostscript_version,
    isolation,
    keep_warm,
    run_ghostscript,
    warm_ready,
)
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


def waiting_for_input(pid: int, timeout: float = 10.0) -> None:
    """Wait until the process has initialised and blocks reading its standard input (Linux)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/wchan").read_text().endswith("pipe_read"):
                return
        except OSError:
            return
        time.sleep(0.002)
    raise RuntimeError(f"Ghostscript {pid} did not get ready within {timeout} s")


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

            def cold(action: Callable[[], object]) -> Callable[[], object]:
                keep_warm(False)
                return action

            def warm(action: Callable[[], object]) -> Callable[[], object]:
                # A job that finds the printer idle: the Ghostscript started after the last job waits.
                start_converter(limits, zygote=False)
                pid = warm_ready(timeout=30)
                if pid is None:
                    raise RuntimeError("no Ghostscript was started ahead")
                waiting_for_input(pid)
                return action

            def back_to_back(action: Callable[[], object]) -> Callable[[], object]:
                # A job right behind the last one: the spare may still be starting (it is used if it is ready).
                start_converter(limits, zygote=False)
                return action

            wrapper = lambda ps=ps: run_ghostscript(ps, out / "wrapper.pdf", limits=limits)  # noqa: E731
            ours = lambda ps=ps: convert(ps, out / "ours.pdf", limits=limits)  # noqa: E731
            actions: dict[str, tuple[Callable[[Callable[[], object]], Callable[[], object]], Callable[[], object]]] = {
                "bare": (cold, lambda ps=ps: bare_gs(ps, out / "bare.pdf")),
                "wrapper cold": (cold, wrapper),
                "wrapper warm": (warm, wrapper),
                "convert cold": (cold, ours),
                "convert warm": (warm, ours),
                "convert back-to-back": (back_to_back, ours),
                "passthrough": (cold, lambda pdf=pdf: convert(pdf, out / "same.pdf")),
            }
            times: dict[str, list[float]] = {name: [] for name in actions}
            for _ in range(RUNS):  # interleaved, so that load from elsewhere hits every column alike
                for name, (prepare, action) in actions.items():
                    times[name].append(timed(prepare(action)))
            keep_warm(False)
            median = {name: statistics.median(values) for name, values in times.items()}
            rows.append((pages, median))
    print(f"Ghostscript {ghostscript_version()}; confinement: {', '.join(isolation())}; median of {RUNS} runs\n")
    columns = ["bare", "wrapper cold", "wrapper warm", "convert cold", "convert warm", "convert back-to-back"]
    print("| pages | " + " | ".join(f"{name} (ms)" for name in columns) + " | wrapper warm/bare | convert cold/bare "
          "| convert warm/bare | back-to-back/bare | PDF passthrough (ms) |")
    print("|---:" * (len(columns) + 6) + "|")
    for pages, m in rows:
        cells = [f"{m[name] * 1000:.0f}" for name in columns]
        ratios = [f"{m[name] / m['bare']:.2f}" for name in ("wrapper warm", "convert cold", "convert warm",
                                                             "convert back-to-back")]
        print(f"| {pages} | " + " | ".join(cells + ratios) + f" | {m['passthrough'] * 1000:.0f} |")


if __name__ == "__main__":
    main()
