"""Invoice reading (issue 6): accuracy on the printed corpus and extraction time per PDF and per invoice.

Accuracy: every corpus PDF with its embedded XML removed, no templates, compared with that
XML (exact match; due date only where the XML has one; seller/buyer by name containment).
The reader is hand-written rules, so the leave-one-producer-out rows are the same reader
scored on each producer's files (see tests/unit/connect_core/pipeline/extract/test_corpus.py for the caveat).

Speed: ``read_invoices`` on 1-, 10- and 200-page PDFs made from XML-free corpus pages;
p50/p95 over repeated runs, per PDF and per invoice found.  Prints a Markdown section.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pypdf import PdfReader, PdfWriter  # noqa: E402

from connect_core.pipeline.extract import InvoiceFields, read_invoices  # noqa: E402
from printer_backend.limits import Limits  # noqa: E402
from printer_backend.pdftext import page_texts  # noqa: E402
from tests.support import reading  # noqa: E402
from tests.support.corpus import Sample, rate_table, samples  # noqa: E402
from tests.support.heldout import HELDOUT  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "20"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def accuracy(corpus: list[Sample]) -> str:
    pairs: list[tuple[Sample, InvoiceFields]] = []
    for sample in corpus:
        invoices = read_invoices(sample.stripped)
        pairs.append((sample, invoices[0]))
        if len(invoices) != 1:
            print(f"warning: {sample.original.name} read as {len(invoices)} invoices", file=sys.stderr)
    groups: dict[str, list[tuple[Sample, InvoiceFields]]] = defaultdict(list)
    for sample, got in pairs:
        groups[f"{sample.producer} (left out)"].append((sample, got))
    return rate_table({"all producers": pairs, **dict(sorted(groups.items()))})


def build(pages: list[tuple[Path, int]], out: Path) -> Path:
    """A PDF of the given (file, page index) pairs, in order."""
    readers: dict[Path, PdfReader] = {}
    writer = PdfWriter()
    for path, index in pages:
        reader = readers.setdefault(path, PdfReader(path))
        writer.add_page(reader.pages[index])
    with out.open("wb") as handle:
        writer.write(handle)
    return out


def all_pages(paths: list[Path]) -> list[tuple[Path, int]]:
    return [(path, index) for path in paths for index in range(len(PdfReader(path).pages))]


def timing(label: str, pdf: Path, runs: int) -> str:
    durations = []
    invoices: list[InvoiceFields] = []
    for _ in range(runs):
        start = time.perf_counter()
        invoices = read_invoices(pdf)
        durations.append(time.perf_counter() - start)
    pages = len(PdfReader(pdf).pages)
    count = len(invoices)
    p50, p95 = pct(durations, 0.5), pct(durations, 0.95)
    return (f"| {label} | {pages} | {count} | {runs} | {p50 * 1000:.0f} | {p95 * 1000:.0f} | "
            f"{p50 / count * 1000:.1f} | {p95 / count * 1000:.1f} |")


def peers(pdfs: list[Path], runs: int) -> str:
    """Per page, A B C A B C: the whole read, its page text alone, bare pdftotext, and pypdf's layout mode."""
    limits = Limits()
    ways = {
        "read_invoices (confined pdftotext + reader)": lambda pdf: read_invoices(pdf),
        "page text alone (confined pdftotext)": lambda pdf: page_texts(pdf, 1, limits=limits),
        "bare pdftotext -layout (peer)": lambda pdf: subprocess.run(
            ["pdftotext", "-layout", "-enc", "UTF-8", "-q", str(pdf), "-"], capture_output=True, check=True),
        "pypdf layout mode (the reader's text before)": lambda pdf: PdfReader(pdf).pages[0].extract_text(
            extraction_mode="layout"),
    }
    durations: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        for pdf in pdfs:
            for name, way in ways.items():
                start = time.perf_counter()
                way(pdf)
                durations[name].append(time.perf_counter() - start)
    bare = pct(durations["bare pdftotext -layout (peer)"], 0.5)
    lines = ["### One page, by way of reading (same run, interleaved)\n",
             "| way | runs | p50 ms | p95 ms | p50 ratio to bare pdftotext |", "|---|---:|---:|---:|---:|"]
    for name, values in durations.items():
        lines.append(f"| {name} | {len(values)} | {pct(values, 0.5) * 1000:.1f} | {pct(values, 0.95) * 1000:.1f} | "
                     f"{pct(values, 0.5) / bare:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as scratch:
        folder = Path(scratch)
        corpus = samples(folder / "stripped")
        by_name = {sample.original.name: sample for sample in corpus}
        print("## Invoice reading (issues 6 and 14)\n")
        print("### Exact-match rates, page text only (XML removed, no templates), and ready_to_send\n")
        results = reading.read_all(reading.corpus_cases(folder / "c") + reading.heldout_cases(folder / "h")
                                   + reading.layout_cases(folder / "l"))
        print(reading.report(results))
        print("\nThe reader is hand-written rules and label tables (no learned or data-chosen parts), so each "
              "leave-one-producer-out row is the same reader scored on that producer's files. "
              "See tests/support/reading.py for what each set is and how far it is held out.\n")
        everything = reading.read_all(reading.layout_cases(folder / "every", every_layout=True))
        print("All 55 e-invoices through every layout (550 PDFs):\n")
        print(reading.table({"layouts x 10": everything}) + "\n")

        # Order the corpus so that neighbours have different invoice numbers where possible;
        # neighbours with the same number are (correctly) read as one invoice.
        distinct = sorted(corpus, key=lambda s: (s.truth.invoice_number or "", s.original.name))
        interleaved = distinct[::2] + distinct[1::2]
        stripped = [sample.stripped for sample in interleaved]
        one = by_name["FNFE-factur-x-examples__Facture_FR_BASICWL.pdf"]
        ten_pages = all_pages(stripped)[:10]
        two_hundred = (all_pages(stripped) * 3)[:200]
        long_one = by_name["intarsys__EN16931__zugferd_2p0_EN16931_Miete.pdf"].stripped
        continuation = [(long_one, 0)] + [(long_one, 1 + i % 2) for i in range(199)]

        singles = [sample.stripped for sample in corpus if sample.truth.pages == (1, 1)]
        singles += [path for path in sorted(HELDOUT.glob("*.pdf")) if len(PdfReader(path).pages) == 1]
        print(peers(singles, max(3, RUNS // 4)))
        per_page = []
        for _ in range(max(3, RUNS // 4)):
            for pdf in singles:
                start = time.perf_counter()
                read_invoices(pdf)
                per_page.append(time.perf_counter() - start)
        rows = [
            f"| every one-page invoice, text ({len(singles)} files: corpus without XML, held-out) | 1 | 1 | "
            f"{len(per_page)} | {pct(per_page, 0.5) * 1000:.0f} | {pct(per_page, 0.95) * 1000:.0f} | "
            f"{pct(per_page, 0.5) * 1000:.1f} | {pct(per_page, 0.95) * 1000:.1f} |",
            timing("1 page, Factur-X XML", one.original, RUNS * 2),
            timing("1 page, text", one.stripped, RUNS * 2),
            timing("10 pages, several invoices", build(ten_pages, folder / "ten.pdf"), RUNS),
            timing("200 pages, concatenated corpus", build(two_hundred, folder / "200.pdf"), max(3, RUNS // 4)),
            timing("200 pages, one invoice", build(continuation, folder / "200-one.pdf"), max(3, RUNS // 4)),
        ]
        print("### Extraction time (`read_invoices`, one process, warm)\n")
        print("| PDF | pages | invoices found | runs | p50 ms | p95 ms | p50 ms/invoice | p95 ms/invoice |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nPeak RSS of the benchmark process: {peak:.0f} MiB. Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs (shared).")


if __name__ == "__main__":
    main()
