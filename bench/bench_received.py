"""Received e-invoices: reading the XML and rendering the readable PDF ("View target invoice").

A 100-line UBL invoice (a corpus invoice with its lines repeated, distinct IDs) is read with
``read_einvoice`` and rendered with ``render_pdf``; the peer in the same run, interleaved, is the
same 100 lines drawn as a bare reportlab platypus Table with no styling, the least any renderer must
do.  Every corpus e-invoice is also read and rendered once per round.  p50/p95 over the runs.

Run ``python -m bench received`` (or ``python bench/bench_received.py [--quick]``).  Prints Markdown;
each section is one function in :data:`SECTIONS`, so more can be appended.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import reportlab  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.platypus import SimpleDocTemplate, Table  # noqa: E402

from connect_core.received.einvoice import ReceivedInvoice, read_einvoice  # noqa: E402
from connect_core.received.render import render_pdf  # noqa: E402
from tests.unit.connect_core.received.einvoices import corpus_files, with_lines  # noqa: E402


@dataclass(frozen=True)
class Options:
    """How much to measure: ``runs`` rounds of each timing (fewer with ``--quick``)."""

    runs: int
    quick: bool


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float], q: float) -> str:
    return f"{pct(values, q) * 1000:.1f}"


def bare_table(invoice: ReceivedInvoice) -> bytes:
    """The peer: the invoice's lines as a plain platypus Table, default font and no styling at all."""
    buffer = io.BytesIO()
    rows = [["#", "Description", "Quantity", "Unit", "Unit price", "Net amount"]]
    rows += [[line.id or "", line.name or "", str(line.quantity), line.unit_code or "", str(line.unit_price),
              str(line.net_amount)] for line in invoice.lines]
    SimpleDocTemplate(buffer, pagesize=A4, invariant=1).build([Table(rows, repeatRows=1)])
    return buffer.getvalue()


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def rendering(options: Options) -> str:
    """Reading and rendering a 100-line invoice against the bare table, and every corpus invoice."""
    data = with_lines(100)
    invoice = read_einvoice(data)
    ours, peer = render_pdf(invoice), bare_table(invoice)  # warm: fonts registered, modules loaded
    corpus = [path.read_bytes() for path in corpus_files()]
    durations: dict[str, list[float]] = {"read": [], "render": [], "bare": [], "corpus": []}
    for _ in range(options.runs):
        for name, work in (("read", lambda: read_einvoice(data)), ("render", lambda: render_pdf(invoice)),
                           ("bare", lambda: bare_table(invoice))):
            start = time.perf_counter()
            work()
            durations[name].append(time.perf_counter() - start)
    for _ in range(max(1, options.runs // 10)):
        for xml in corpus:
            start = time.perf_counter()
            render_pdf(read_einvoice(xml))
            durations["corpus"].append(time.perf_counter() - start)
    bare = pct(durations["bare"], 0.5)
    rows = [
        ("`read_einvoice`, 100-line UBL invoice", f"{len(data) / 1024:.0f} KiB XML", durations["read"], None),
        ("`render_pdf`, 100-line UBL invoice", f"{pages(ours)} pages, {len(ours) / 1024:.0f} KiB",
         durations["render"], pct(durations["render"], 0.5) / bare),
        ("bare platypus Table of the same 100 lines (peer)", f"{pages(peer)} pages, {len(peer) / 1024:.0f} KiB",
         durations["bare"], 1.0),
        (f"read + render, each of the {len(corpus)} corpus e-invoices", "1 page each", durations["corpus"], None),
    ]
    lines = ["### Reading and rendering (one process, warm, interleaved)", "",
             "| what | output | runs | p50 ms | p95 ms | p50 ratio to bare table |", "|---|---|---:|---:|---:|---:|"]
    for label, output, values, ratio in rows:
        shown_ratio = f"{ratio:.2f}" if ratio is not None else ""
        lines.append(f"| {label} | {output} | {len(values)} | {ms(values, 0.5)} | {ms(values, 0.95)} | {shown_ratio} |")
    return "\n".join(lines) + "\n"


SECTIONS: list[Callable[[Options], str]] = [rendering]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few runs, to try it")
    arguments = parser.parse_args(argv)
    options = Options(runs=5 if arguments.quick else int(os.environ.get("BENCH_RUNS", "30")), quick=arguments.quick)
    print("## Received e-invoices" + (" — quick run" if options.quick else "") + "\n", flush=True)
    for section in SECTIONS:
        print(section(options), flush=True)
    print(f"Python {sys.version.split()[0]}, reportlab {reportlab.Version}, {os.cpu_count()} CPUs (shared).")


if __name__ == "__main__":
    main()
