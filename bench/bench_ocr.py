"""Text recognition (OCR): accuracy over IPP per kind of client input, and its cost next to bare Tesseract.

Run ``python -m bench ocr`` (or ``python bench/bench_ocr.py [--quick] [--kinds pwg,scan] [--servers N]``).

1. **Accuracy over IPP.**  Every corpus invoice (its XML-free copy) is made into what a client
   prints (:mod:`tests.support.scans`: PWG raster and URF at 300 dpi, PostScript from ps2write,
   a 200 dpi JPEG scan turned by 2° with a little noise; a scan of several pages is an
   image-only PDF) and printed with ``ipptool`` (Print-Job with that document-format) to a real
   ``pagero-connect serve`` on 127.0.0.1 (one per kind, each with its own data dir and
   ``ocr.languages: [deu, fra, eng]``, ``sending.mode: manual``, no Online account, duplicate
   check off since the same corpus invoices repeat numbers).  When the server has turned every
   job into invoices (``pagero-connect list --json``), each job's first invoice is compared
   with what ``read_invoices`` reads from the original PDF: invoice number, issue date, total
   (the issue's bar: 95 % each, for each kind); then, for information, with the XML.
2. **Time per A4 page at 300 dpi, ours against bare Tesseract, A B A B in the same run:** a
   page from each of several producers as PWG raster through the whole ``convert(..., ocr=)``
   (raster to PDF, render, deskew, confined Tesseract, overlay) against
   ``tesseract page.png out -l deu+fra+eng --dpi 300 pdf`` (``OMP_THREAD_LIMIT=1``) on that page
   rendered once by ``pdftoppm -r 300 -gray``.
3. **Pages per minute with every core busy:** one multi-page PWG raster document converted with
   OCR (its pages side by side, one Tesseract per core), two such documents at once from two
   threads, and bare Tesseract on the same pages, one process per core.

Prints a Markdown section.  ``--quick`` takes a few invoices per kind and fewer pages, to try it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pypdf import PdfReader  # noqa: E402

from bench.bench_extraction import build  # noqa: E402
from bench.bench_ipp import machine_facts as ipp_machine_facts  # noqa: E402
from connect_core.pipeline.extract import InvoiceFields, read_invoices  # noqa: E402
from connect_core.pipeline.extract.fields import FIELD_NAMES  # noqa: E402
from printer_backend import child, ocr  # noqa: E402
from printer_backend.convert import Conversion, OcrSettings, convert  # noqa: E402
from tests.support import scans  # noqa: E402
from tests.support.corpus import Sample, samples, strip_xml  # noqa: E402
from tests.support.harness import Server  # noqa: E402
from tests.support.heldout import heldout_samples  # noqa: E402

LANGUAGES = ("deu", "fra", "eng")
FIELDS = ("invoice_number", "issue_date", "total")
LABELS = {"invoice_number": "number", "issue_date": "issue date", "total": "total"}
BAR = 0.95
TERMINAL = {7, 8, 9}  # IPP job states canceled, aborted, completed
UNSETTLED = {"received", "converted"}  # invoice states the pipeline moves on from by itself

CONFIG = """\
ocr:
  languages: [deu, fra, eng]
sending:
  mode: manual
validation:
  duplicates: false
"""

PRINT_TEST = """\
{
    NAME "Print a document"
    OPERATION Print-Job
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR naturalLanguage attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR name requesting-user-name "$requester"
    ATTR name job-name "$jobname"
    ATTR mimeMediaType document-format $format
    FILE $filename
    STATUS successful-ok
}
"""

RECOGNISED = re.compile(r"Text recognised on (\d+) of (\d+) page")


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def say(text: str) -> None:
    """Progress on stderr (stdout is the Markdown)."""
    print(text, file=sys.stderr, flush=True)


def emit(lines: Sequence[str]) -> None:
    print("\n".join(lines), flush=True)


# -- machine facts ------------------------------------------------------------------------


def machine_facts(folder: Path) -> list[str]:
    """bench_ipp's machine facts, and the OCR tools'."""
    engine = ocr.available()
    gs = subprocess.run(["gs", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    poppler = subprocess.run(["pdftoppm", "-v"], capture_output=True, text=True, check=False).stderr.splitlines()
    return [
        *ipp_machine_facts(folder),
        f"- {engine.version} (languages installed: {', '.join(engine.languages)}; orientation data: "
        f"{'yes' if engine.orientation else 'no'}), Ghostscript {gs or '?'}, {poppler[0] if poppler else 'pdftoppm ?'}",
        f"- Tesseract processes at once in one server or process (`ocr.CORES`): {ocr.CORES}",
    ]


# -- choosing pages -------------------------------------------------------------------------


def producer_of(path: Path) -> str:
    """The software that made a corpus PDF, from its metadata (Creator / Producer)."""
    meta = PdfReader(path).metadata
    if meta is None:
        return "(no metadata)"
    names = [str(name) for name in (meta.creator, meta.producer) if name]
    return " / ".join(names) or "(no metadata)"


def by_producer(corpus: Sequence[Sample]) -> list[Sample]:
    """The corpus reordered round-robin over its producers: the first few come from different software."""
    groups: dict[str, list[Sample]] = {}
    for sample in corpus:
        groups.setdefault(producer_of(sample.original), []).append(sample)
    queues = [list(group) for group in groups.values()]
    ordered: list[Sample] = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


def render_png(pdf: Path, stem: Path, *, single: bool = True) -> list[Path]:
    """``pdf`` rendered by pdftoppm at 300 dpi, grey; one PNG per page (``stem``.png or ``stem``-N.png)."""
    argv = ["pdftoppm", "-r", "300", "-gray", "-png"]
    if single:
        argv.append("-singlefile")
    subprocess.run([*argv, str(pdf), str(stem)], check=True, capture_output=True, timeout=300)
    if single:
        return [stem.with_suffix(".png")]
    return sorted(stem.parent.glob(f"{stem.name}-*.png"))


def bare_tesseract(png: Path, out: Path) -> float:
    """``tesseract png out -l deu+fra+eng --dpi 300 pdf`` with one thread; returns its seconds."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    start = time.perf_counter()
    subprocess.run(["tesseract", str(png), str(out), "-l", "+".join(LANGUAGES), "--dpi", "300", "pdf"],
                   check=True, capture_output=True, env=env, timeout=300)
    return time.perf_counter() - start


def settings() -> OcrSettings:
    return OcrSettings(languages=LANGUAGES)


def ours(source: Path, out: Path) -> tuple[float, Conversion]:
    """Our whole path on ``source``; returns its seconds and what it made (fails if OCR did not run)."""
    start = time.perf_counter()
    made = convert(source, out, ocr=settings(), claimed_format=scans.FORMAT["pwg"])
    seconds = time.perf_counter() - start
    if not made.recognised:
        raise RuntimeError(f"{source.name}: no page was recognised ({'; '.join(made.notes)})")
    return seconds, made


# -- 1. accuracy over IPP --------------------------------------------------------------------


@dataclass
class Printed:
    """One corpus invoice printed as one kind, and what the server made of it."""

    sample: Sample
    reference: InvoiceFields
    """What ``read_invoices`` reads from the original (XML-free) PDF."""
    file: str = ""
    accepted: bool = False
    job_state: int | None = None
    message: str = ""
    invoices: list[dict[str, Any]] = field(default_factory=list)
    """The job's invoices (``list --json`` rows), in page order."""
    ocr_read: int = 0
    ocr_tried: int = 0

    @property
    def first(self) -> dict[str, Any] | None:
        return self.invoices[0] if self.invoices else None

    def got(self, name: str) -> Any:
        row = self.first
        value = row.get(name) if row else None
        if value is None:
            return None
        if name == "issue_date":
            return dt.date.fromisoformat(value)
        if name == "total":
            try:
                return Decimal(value)
            except InvalidOperation:
                return value
        return value

    def hit(self, name: str, want: Any) -> bool:
        return self.first is not None and self.got(name) == want

    @property
    def ready(self) -> bool:
        return self.first is not None and self.first["state"] == "ready"


def print_job(uri: str, test: Path, file: Path, document_format: str, name: str) -> bool:
    argv = ["ipptool", "-q", "-T", "120", "-d", "requester=bench", "-d", f"jobname={name}",
            "-d", f"format={document_format}", "-f", str(file), uri, str(test)]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                          timeout=300).returncode == 0


def jobs_of(data_dir: Path) -> dict[str, tuple[int, int, str]]:
    """Every print job by name: (id, IPP job state, state message), read from the server's database."""
    db = sqlite3.connect(f"file:{data_dir / 'connect.db'}?mode=ro", uri=True, timeout=30)
    try:
        return {name: (job_id, state, message)
                for job_id, name, state, message in db.execute("SELECT id, name, state, state_message FROM print_jobs")}
    finally:
        db.close()


def listed(data_dir: Path, config: Path) -> list[dict[str, Any]]:
    """``pagero-connect list --json`` over the server's data dir."""
    result = subprocess.run([sys.executable, "-m", "connect_core.cli", "list", "--json", "--limit", "1000",
                             "--config", str(config), "--data-dir", str(data_dir)],
                            capture_output=True, text=True, check=True, cwd=REPO, timeout=120)
    rows: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return rows


def run_kind(kind: str, corpus: Sequence[Sample], references: dict[Path, InvoiceFields], root: Path,
             timeout: float) -> list[Printed]:
    """Make and print every sample as ``kind`` to a server of its own; wait for its invoices."""
    folder = root / kind
    folder.mkdir()
    config = folder / "pagero.yaml"
    config.write_text(CONFIG)
    test = folder / "print.test"
    test.write_text(PRINT_TEST)
    server = Server(folder / "data", config=config).start()
    results = [Printed(sample, references[sample.stripped]) for sample in corpus]
    jobs: dict[str, tuple[int, int, str]] = {}
    rows: list[dict[str, Any]] = []
    try:
        for item in results:
            made = scans.make(kind, item.sample.stripped, folder / "files")
            document_format = "application/pdf" if made.suffix == ".pdf" else scans.FORMAT[kind]
            item.file = made.name
            item.accepted = print_job(server.uri, test, made, document_format, item.sample.stripped.name)
            if not item.accepted:
                say(f"{kind}: {made.name} was not accepted")
        say(f"{kind}: {sum(r.accepted for r in results)} documents printed; waiting for the invoices")
        wanted = {r.sample.stripped.name for r in results if r.accepted}
        deadline = time.monotonic() + timeout
        while True:
            assert server.proc is not None
            if server.proc.poll() is not None:
                raise RuntimeError(f"{kind}: the server exited ({server.proc.returncode}); see {server.log}")
            jobs = jobs_of(server.data_dir)
            done = [name for name in wanted if name in jobs and jobs[name][1] in TERMINAL]
            if len(done) == len(wanted):
                rows = listed(server.data_dir, config)
                if not any(row["state"] in UNSETTLED for row in rows):
                    break
            if time.monotonic() > deadline:
                say(f"{kind}: gave up waiting after {timeout:.0f} s ({len(done)} of {len(wanted)} jobs done)")
                rows = listed(server.data_dir, config)
                break
            time.sleep(1.0)
    finally:
        server.stop()
    by_job: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_job.setdefault(row["job_id"], []).append(row)
    for item in results:
        job = jobs.get(item.sample.stripped.name)
        if job is None:
            continue
        job_id, item.job_state, item.message = job
        item.invoices = sorted(by_job.get(job_id, []), key=lambda row: row["first_page"])
        found = RECOGNISED.search(item.message)
        if found:
            item.ocr_read, item.ocr_tried = int(found.group(1)), int(found.group(2))
    return results


def rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.0f} %)" if total else "–"


def accuracy_tables(runs: dict[str, list[Printed]], references_row: list[Printed],
                    title: str = "### 1. Accuracy over IPP: fields read against those read from the original PDF",
                    ) -> list[str]:
    lines = [title, "",
             f"Bar: each of number, issue date and total ≥ {BAR:.0%} for each kind.", "",
             "| kind | invoices | number | issue date | total | bar met | ready to send | ready and wrong "
             "| OCR pages (text found / tried) |",
             "|---|---:|---:|---:|---:|:-:|---:|---:|---:|"]
    for kind, results in runs.items():
        n = len(results)
        hits = {name: sum(r.hit(name, getattr(r.reference, name)) for r in results) for name in FIELDS}
        met = all(n and hits[name] / n >= BAR for name in FIELDS)
        read = sum(r.ocr_read for r in results)
        tried = sum(r.ocr_tried for r in results)
        wrong = sum(r.ready and not all(r.hit(name, getattr(r.reference, name)) for name in FIELDS) for r in results)
        lines.append(f"| {kind} | {n} | " + " | ".join(rate(hits[name], n) for name in FIELDS)
                     + f" | {'yes' if met else '**no**'} | {rate(sum(r.ready for r in results), n)} | {wrong} "
                     f"| {read}/{tried} |")
    lines.append("")
    misses = []
    for kind, results in runs.items():
        for r in results:
            if r.first is None:
                why = "not accepted" if not r.accepted else (r.message or f"job state {r.job_state}")
                misses.append(f"- {kind} · {r.sample.original.name}: no invoice ({why})")
                continue
            for name in FIELDS:
                want = getattr(r.reference, name)
                if not r.hit(name, want):
                    misses.append(f"- {kind} · {r.sample.original.name}: {LABELS[name]} read {r.got(name)!s}, "
                                  f"original {want!s}")
            if not any(r.got(name) is not None for name in FIELDS) or r.ocr_read < r.ocr_tried:
                misses.append(f"- {kind} · {r.sample.original.name}: the job said “{r.message}”")
            if len(r.invoices) != 1:
                misses.append(f"- {kind} · {r.sample.original.name}: read as {len(r.invoices)} invoices "
                              f"(the first is compared)")
    lines += ["Misses (file, field, read over IPP vs read from the original PDF):", ""]
    lines += misses or ["- none"]
    lines.append("")
    not_ready = [f"- {kind} · {r.sample.original.name}: {r.first['state']}"
                 + (f" ({r.first['reason']})" if r.first.get("reason") else "")
                 for kind, results in runs.items() for r in results if r.first is not None and not r.ready]
    if not_ready:
        lines += ["Invoices not ready to send (state, reason):", "", *not_ready, ""]

    lines += ["Against the XML ground truth (informative; the first row is the original PDF's own text layer):", "",
              "| read from | invoices | number | issue date | total |", "|---|---:|---:|---:|---:|"]
    n = len(references_row)
    lines.append("| original PDF (`read_invoices`) | " + f"{n} | " + " | ".join(
        rate(sum(getattr(r.reference, name) == getattr(r.sample.truth, name) for r in references_row), n)
        for name in FIELDS) + " |")
    for kind, results in runs.items():
        n = len(results)
        lines.append(f"| {kind} over IPP | {n} | " + " | ".join(
            rate(sum(r.hit(name, getattr(r.sample.truth, name)) for r in results), n) for name in FIELDS) + " |")
    lines.append("")
    return lines


def accuracy(corpus: Sequence[Sample], kinds: Sequence[str], root: Path, servers: int,
             title: str | None = None) -> list[str]:
    references: dict[Path, InvoiceFields] = {}
    for sample in corpus:
        found = read_invoices(sample.stripped)
        if not found:
            raise RuntimeError(f"{sample.original.name}: no invoice read from the original")
        references[sample.stripped] = found[0]
    pages = sum(len(PdfReader(sample.stripped).pages) for sample in corpus)
    timeout = 120 + 30 * pages
    started = time.monotonic()
    runs: dict[str, list[Printed]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=servers) as pool:
        futures = {kind: pool.submit(run_kind, kind, corpus, references, root, timeout) for kind in kinds}
        for kind in kinds:
            runs[kind] = futures[kind].result()
            say(f"accuracy: {kind} done")
    wall = time.monotonic() - started
    references_row = [Printed(sample, references[sample.stripped]) for sample in corpus]
    lines = accuracy_tables(runs, references_row, *([title] if title else []))
    lines += [f"{len(corpus)} invoices ({pages} pages) per kind; {len(kinds)} kinds on {servers} server(s) at once "
              f"(one `serve` per kind; a server converts one job at a time, a job's pages side by side), "
              f"{wall:.0f} s in all, making the files included.", ""]
    return lines


def heldout(folder: Path) -> list[Sample]:
    """The held-out invoices (tests/data/heldout) as samples: an XML-free copy and the JSON ground truth."""
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for item in heldout_samples():
        truth = InvoiceFields(**{name: item.truth.get(name) for name in FIELD_NAMES}, pages=(1, 1))
        found.append(Sample(item.path, strip_xml(item.path, folder / item.name), truth))
    return found


# -- 2. time per page ------------------------------------------------------------------------


def per_page(corpus: Sequence[Sample], count: int, rounds: int, root: Path) -> list[str]:
    folder = root / "pages"
    folder.mkdir()
    chosen = by_producer(corpus)[:count]
    pages = []
    for n, sample in enumerate(chosen):
        pdf = build([(sample.stripped, 0)], folder / f"page-{n}.pdf")
        pwg = scans.pwg(pdf, folder / f"page-{n}.pwg")
        png = render_png(pdf, folder / f"page-{n}")[0]
        pages.append((sample, pwg, png))
    # Warm-up outside the clock: the zygote, the language data in the page cache.
    child.start()
    ours(pages[0][1], folder / "warm.pdf")
    bare_tesseract(pages[0][2], folder / "warm-bare")
    a: list[float] = []
    b: list[float] = []
    recognition: list[float] = []
    words: list[int] = []
    for _ in range(rounds):
        for n, (_sample, pwg, png) in enumerate(pages):
            seconds, made = ours(pwg, folder / f"ours-{n}.pdf")
            a.append(seconds)
            recognition.append(sum(page.seconds for page in made.recognised))
            words.append(sum(len(page.words) for page in made.recognised))
            b.append(bare_tesseract(png, folder / f"bare-{n}"))
    say("per page: done")
    ratio = pct(a, 0.5) / pct(b, 0.5)
    producers = "; ".join(f"{producer_of(s.original)} ({s.original.name})" for s, _, _ in pages)
    return [
        f"### 2. Time per A4 page at 300 dpi: our whole path against bare Tesseract ({len(pages)} pages × {rounds} "
        "rounds, A B A B)", "",
        "| path | runs | p50 s | p95 s | p50 ratio to bare |", "|---|---:|---:|---:|---:|",
        f"| ours: `convert(page.pwg, ocr=deu+fra+eng)` (raster → PDF, render, deskew, confined Tesseract, overlay) "
        f"| {len(a)} | {pct(a, 0.5):.2f} | {pct(a, 0.95):.2f} | {ratio:.2f} |",
        f"| of which recognition (`PageText.seconds`: render, deskew, Tesseract) | {len(recognition)} | "
        f"{pct(recognition, 0.5):.2f} | {pct(recognition, 0.95):.2f} | {pct(recognition, 0.5) / pct(b, 0.5):.2f} |",
        f"| bare `tesseract page.png out -l deu+fra+eng --dpi 300 pdf` (`OMP_THREAD_LIMIT=1`) | {len(b)} | "
        f"{pct(b, 0.5):.2f} | {pct(b, 0.95):.2f} | 1.00 |",
        "",
        f"Pages (page 1 of each, one per producer): {producers}. Words recognised per page, p50: "
        f"{pct(words, 0.5):.0f}. The bare PNG is rendered once, outside the clock, by "
        "`pdftoppm -r 300 -gray -png -singlefile` from the same page.",
        "",
    ]


# -- 3. pages per minute ---------------------------------------------------------------------


def together(jobs: Sequence[Callable[[], object]]) -> float:
    """Run ``jobs`` each in its own thread, started together; seconds until the last is done."""
    barrier = threading.Barrier(len(jobs) + 1)
    errors: list[Exception] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except Exception as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def throughput(corpus: Sequence[Sample], count: int, rounds: int, root: Path) -> list[str]:
    folder = root / "throughput"
    folder.mkdir()
    every = [(sample.stripped, index) for sample in by_producer(corpus)
             for index in range(len(PdfReader(sample.stripped).pages))]
    doc = build(every[:count], folder / "document.pdf")
    pwg = scans.pwg(doc, folder / "document.pwg")
    pngs = render_png(doc, folder / "page", single=False)
    assert len(pngs) == count, f"rendered {len(pngs)} pages, expected {count}"
    cores = ocr.CORES
    walls: dict[str, list[float]] = {"one": [], "two": [], "bare": []}

    def bare_all() -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=cores) as pool:
            list(pool.map(lambda item: bare_tesseract(item[1], folder / f"bare-{item[0]}"), enumerate(pngs)))

    plan: list[tuple[str, Callable[[], float]]] = [
        ("one", lambda: together([lambda: ours(pwg, folder / "one.pdf")])),
        ("two", lambda: together([lambda: ours(pwg, folder / "two-a.pdf"), lambda: ours(pwg, folder / "two-b.pdf")])),
        ("bare", lambda: together([bare_all])),
    ]
    for round_ in range(rounds):
        for key, measure in plan if round_ % 2 == 0 else plan[::-1]:
            walls[key].append(measure())
    say("throughput: done")

    def per_minute(key: str, documents: int) -> float:
        return documents * count * len(walls[key]) * 60 / sum(walls[key])

    bare = per_minute("bare", 1)
    one, two = per_minute("one", 1), per_minute("two", 2)
    return [
        f"### 3. Pages per minute with {cores} cores busy ({count}-page PWG raster document, 300 dpi, "
        f"{rounds} round{'s' if rounds != 1 else ''}, order alternating)", "",
        "| what | pages | pages/min | ratio to bare |", "|---|---:|---:|---:|",
        f"| ours: one document, `convert(..., ocr=)` (pages side by side, ≤ {cores} Tesseract) | {count} | "
        f"{one:.1f} | {one / bare:.2f} |",
        f"| ours: two documents at once, from two threads (≤ {cores} Tesseract in all) | {2 * count} | "
        f"{two:.1f} | {two / bare:.2f} |",
        f"| bare `tesseract … pdf` on the same pages, {cores} processes at once | {count} | {bare:.1f} | 1.00 |",
        "",
    ]


# -- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a few invoices per kind and fewer pages, to try it")
    parser.add_argument("--kinds", default=",".join(scans.KINDS),
                        help=f"comma-separated kinds for the accuracy part (default {','.join(scans.KINDS)})")
    parser.add_argument("--servers", type=int, default=0,
                        help="kinds printed at once, each to its own server (default: one per core)")
    parser.add_argument("--accuracy-only", action="store_true", help="only part 1 (accuracy over IPP)")
    options = parser.parse_args(argv)
    kinds = [kind.strip() for kind in options.kinds.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in scans.KINDS]
    if unknown or not kinds:
        parser.error(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(scans.KINDS)}")
    if "urf" in kinds and not scans.have_urf():
        say("this Ghostscript has no urf device: URF left out")
        kinds.remove("urf")
    servers = max(1, min(options.servers or ocr.CORES, len(kinds)))
    per_kind, single_pages, page_rounds, doc_pages, doc_rounds = (3, 3, 2, 4, 1) if options.quick else \
        (None, 8, 2, 10, 2)

    started = time.monotonic()
    # A SIGTERM unwinds like Ctrl-C, so that every server started here is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="pagero-bench-ocr-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        corpus = samples(root / "stripped")
        chosen = by_producer(corpus)[:per_kind] if per_kind else corpus
        emit(["## Text recognition (OCR)" + (" — quick run" if options.quick else ""), "", *machine_facts(root), ""])
        emit(accuracy(chosen, kinds, root, servers))
        held = heldout(root / "heldout-stripped")
        held = by_producer(held)[:per_kind] if per_kind else held
        (root / "heldout").mkdir()
        emit(accuracy(held, [kind for kind in ("pwg", "scan") if kind in kinds], root / "heldout", servers,
                      "### 1b. The same on the held-out invoices (producers not in the corpus, never tuned on)"))
        if not options.accuracy_only:
            emit(per_page(corpus, single_pages, page_rounds, root))
            emit(throughput(corpus, doc_pages, doc_rounds, root))
    emit([f"Load average (1 min) at the end: {os.getloadavg()[0]:.2f}; the run took "
          f"{time.monotonic() - started:.0f} s.", ""])


if __name__ == "__main__":
    main(sys.argv[1:])
