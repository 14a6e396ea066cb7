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


def downloading(options: Options) -> str:
    """Downloading received invoices from the emulator: ours (list, read, save durably, record, acknowledge each)
    against a bare client in the same run (the same listing and GETs, nothing checked, saved or acknowledged)."""
    import shutil
    import tempfile

    import requests

    from connect_core.config import load_config
    from connect_core.online.inbound import make_inbound
    from connect_core.store import open_database
    from tests.support.emulator import Emulator

    count = 200 if options.quick else 1000
    rounds = 1 if options.quick else 2
    root = Path(tempfile.mkdtemp(prefix="bench-received-", dir="/var/tmp"))
    seed = root / "seed"
    seed.mkdir()
    (root / "in").mkdir()
    shutil.copy(REPO / "tests/data/corpus/einvoices/XML-Rechnung__UBL__EN16931_Einfach.ubl.xml", seed / "a.xml")
    emulator = Emulator(root / "emulator", inbound=seed).start()
    results: dict[str, list[float]] = {"ours": [], "bare": []}
    try:
        config_file = emulator.product_config(root / "c.yaml")
        config_file.write_text(config_file.read_text() + f"inbound:\n  mode: manual\n  folder: {root / 'in'}\n")
        config = load_config(config_file, {"storage.data_dir": str(root / "data")})
        config.data_dir.mkdir()
        db = open_database(None, config.data_dir)
        inbound = make_inbound(config, db)
        assert inbound is not None
        session = requests.Session()
        token = session.post(f"{emulator.url}/oauth/v2/oauth-token", data={
            "grant_type": "password", "username": "demo", "password": "demo"}, timeout=10).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        inbound.list_received()
        inbound.fetch(None)  # the seed, and the client's login: warm

        def bare() -> int:
            offset, got = 0, 0
            while True:
                page = session.get(f"{emulator.url}/document/v1/documents", params={
                    "direction": "Received", "limit": 100, "offset": offset}, timeout=30).json()["items"]
                for item in page:
                    if item["id"] in fresh:
                        body = session.get(f"{emulator.url}/document/v1/documents/{item['id']}/targetdocument",
                                           timeout=30).content
                        got += bool(body)
                if len(page) < 100:
                    return got
                offset += 100

        def ours() -> int:
            inbound.list_received()
            return len(inbound.fetch(None))

        for n in range(rounds):
            fresh = set(emulator.add_received(generate={"count": count}))
            order = [("bare", bare), ("ours", ours)] if n % 2 == 0 else [("ours", ours), ("bare", bare)]
            for name, work in order:
                start = time.perf_counter()
                done = work()
                results[name].append(done / (time.perf_counter() - start))
                assert done == count, (name, done)
        db.dispose()
    finally:
        emulator.stop()
        shutil.rmtree(root, ignore_errors=True)
    best = {name: max(values) for name, values in results.items()}
    return "\n".join([
        f"### Downloading {count:,} received invoices from the emulator ({rounds} round{'s' if rounds > 1 else ''}, "
        "alternating which goes first; best round)", "",
        "| client | invoices/s | ratio to bare |", "|---|---:|---:|",
        f"| Pagero Connect (`Inbound`: list, read the XML safely, save durably under its name, record, acknowledge) "
        f"| {best['ours']:.0f} | {best['ours'] / best['bare']:.2f} |",
        f"| bare `requests` (list and GET each, nothing checked, saved or acknowledged) (peer) | {best['bare']:.0f} "
        "| 1.00 |", ""])


SECTIONS: list[Callable[[Options], str]] = [rendering, downloading]


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
