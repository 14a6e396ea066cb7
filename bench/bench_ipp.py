"""The printer's speed (issue 3), measured against CUPS ``ippeveprinter`` started in the same run.

Both printers run on 127.0.0.1 on free ports: ours as ``pagero-connect serve`` (its
answer waits for the document's fsync and the job row's commit), ippeveprinter with
``-c /bin/true`` so that it does not sleep 5-15 s per job.  The same one-page PDF goes
to both:

- Print-Job with one ``ipptool`` process per job (what a CUPS backend or a script does),
  sequentially and from 4 parallel clients;
- Print-Job from a persistent keep-alive client (http.client + our codec, one process
  per client), to see each server without the client's process start-up;
- Get-Printer-Attributes (``requested-attributes=all``) the same two ways.

A third peer, the *HTTP floor*, is our own HTTP stack (uvicorn with the same protocol
class and settings as ``serve``) answering every Print-Job at once with a fixed success,
storing nothing: the sequential Print-Job phases run against it too, to show how much of
each request is the web server and how much is the printer's durable hand-off.

Prints a Markdown section with each metric for both printers and the ratio.
Sizes: ``BENCH_IPP_JOBS`` (sequential jobs, 100), ``BENCH_IPP_PER_CLIENT`` (jobs per
parallel client, 50), ``BENCH_IPP_GPA`` (attribute requests, 200), ``BENCH_IPP_ROUNDS`` (1:
each phase is repeated, alternating which printer goes first, and the rounds pooled),
``BENCH_IPP_PHASES`` (all: a comma-separated list of phase numbers, 1-6, to run only those).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ipp_peers import Target, cpu_seconds, http_floor, ippeveprinter, pagero, wait_idle  # noqa: E402

JOBS = int(os.environ.get("BENCH_IPP_JOBS", "100"))
CLIENTS = 4
PER_CLIENT = int(os.environ.get("BENCH_IPP_PER_CLIENT", "50"))
GPA = int(os.environ.get("BENCH_IPP_GPA", "200"))
ROUNDS = int(os.environ.get("BENCH_IPP_ROUNDS", "1"))
PRINT_JOB_TEST = Path("/usr/share/cups/ipptool/print-job.test")

GPA_TEST = """{
  NAME "Get-Printer-Attributes all"
  OPERATION Get-Printer-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name $user
  ATTR keyword requested-attributes all
  STATUS successful-ok
}
"""

ONE_PAGE_PS = """%!PS
<< /PageSize [595 842] >> setpagedevice
/Helvetica-Bold findfont 16 scalefont setfont
72 770 moveto (ACME Office Supplies GmbH) show
/Helvetica findfont 11 scalefont setfont
72 720 moveto (Rechnung Nr. RE-2026-000042) show
72 700 moveto (Rechnungsdatum: 05.03.2026) show
72 640 moveto (Gesamtbetrag: 1.234,56 EUR) show
showpage
"""


# -- measurements ----------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` by nearest rank (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@dataclass
class Run:
    """One measured phase against one printer."""

    latencies: list[float]
    """Seconds from sending each request to having its whole answer, accepted or not."""
    accepted: int
    wall: float
    """Seconds from the first request's start to the last answer."""
    cpu: float = 0.0
    """CPU seconds the printer (with its child processes) spent from the first request until it was idle again."""

    def __add__(self, other: Run) -> Run:
        """Two rounds of the same phase pooled: their requests, wall time and CPU time together."""
        return Run(self.latencies + other.latencies, self.accepted + other.accepted, self.wall + other.wall,
                   self.cpu + other.cpu)

    @property
    def total(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Accepted requests per second of wall time."""
        return self.accepted / self.wall

    def ms(self, q: float) -> float:
        return pct(self.latencies, q) * 1000

    @property
    def cpu_ms(self) -> float:
        """Printer CPU milliseconds per request, accepted or not."""
        return self.cpu * 1000 / self.total


def ipptool(uri: str, test: Path, document: Path | None = None) -> tuple[bool, float]:
    """Run one ``ipptool`` process; returns whether its test passed and how long the process took."""
    argv = ["ipptool", "-q", "-T", "20"]
    if document is not None:
        argv += ["-f", str(document)]
    argv += [uri, str(test)]
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return result.returncode == 0, time.perf_counter() - start


def ipptool_run(uri: str, test: Path, document: Path | None, clients: int, each: int) -> Run:
    """``clients`` threads, each running ``each`` ipptool processes one after another, started together."""
    results: list[list[tuple[bool, float]]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(slot: int) -> None:
        barrier.wait()
        for _ in range(each):
            results[slot].append(ipptool(uri, test, document))

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    flat = [r for slot in results for r in slot]
    return Run([seconds for _, seconds in flat], sum(ok for ok, _ in flat), wall)


def python_run(uri: str, operation: str, document: Path, clients: int, each: int) -> Run:
    """``clients`` processes, each one keep-alive connection sending ``each`` requests, started together.

    Separate processes, so that the clients do not share one interpreter lock; each is
    connected and waiting before the clock starts.
    """
    argv = [sys.executable, __file__, "--client", uri, operation, str(each), str(document)]
    procs = [subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdin is not None  # both are pipes
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a client process could not connect to {uri}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = [json.loads(proc.communicate(timeout=600)[0]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc in procs:
        if proc.returncode != 0:
            raise RuntimeError(f"a client process failed with exit {proc.returncode}")
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    return Run([s for r in reports for s in r["latencies"]], sum(r["accepted"] for r in reports), wall)


def client_main(uri: str, operation: str, count: int, document_path: str) -> None:
    """One persistent client (``--client``): connect, say ready, wait for go, send, print a JSON report."""
    from ipp.codec import Attribute, Tag
    from ipp.status import Operation
    from tests.support.ippclient import Client, request

    document = Path(document_path).read_bytes()
    client = Client(uri)
    client.conn.connect()
    if operation == "print-job":
        def once() -> int:
            return client.print_job(document, name="bench").code
    else:
        def once() -> int:
            message = request(Operation.GET_PRINTER_ATTRIBUTES, uri,
                              Attribute.of("requested-attributes", Tag.KEYWORD, "all"))
            return client.send(message).code
    print("ready", flush=True)
    sys.stdin.readline()
    latencies, accepted = [], 0
    start = time.perf_counter()
    for _ in range(count):
        began = time.perf_counter()
        accepted += once() < 0x0100
        latencies.append(time.perf_counter() - began)
    end = time.perf_counter()
    client.close()
    # perf_counter is CLOCK_MONOTONIC on Linux: comparable across the client processes.
    print(json.dumps({"start": start, "end": end, "latencies": latencies, "accepted": accepted}))


# -- the report --------------------------------------------------------------------------


def one_page_pdf(folder: Path) -> Path:
    """A one-page A4 invoice-like PDF made by Ghostscript."""
    source = folder / "one-page.ps"
    source.write_text(ONE_PAGE_PS)
    target = folder / "one-page.pdf"
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", f"-sOutputFile={target}",
                    str(source)], check=True, capture_output=True)
    return target


def machine_facts(data_dir: Path) -> list[str]:
    """What the numbers were measured on, as Markdown bullet lines."""
    model = "?"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mount = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", str(data_dir)],
                           capture_output=True, text=True, check=False).stdout.split()
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    cups = subprocess.run(["ipptool", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return [
        f"- {dt.date.today().isoformat()}; {os.cpu_count()} cores ({model}), Debian {debian}, "
        f"kernel {platform.release()}, Python {platform.python_version()}, {cups or 'CUPS ?'}",
        f"- data and spool on {' '.join(mount) or '?'} ({data_dir.parent})",
        f"- load average (1 min) at the start: {os.getloadavg()[0]:.2f}",
    ]


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def table(phases: list[tuple[str, Run, Run]]) -> list[str]:
    """One row per metric and phase: ippeveprinter, ours, and ours/ippeveprinter."""
    lines = ["| phase | metric | ippeveprinter | Pagero | Pagero / ippeveprinter |", "|---|---|---:|---:|---:|"]
    for name, eve, ours in phases:
        lines.append(f"| **{name}** | accepted | {eve.accepted}/{eve.total} | {ours.accepted}/{ours.total} | |")
        rows: list[tuple[str, float, float, int]] = [
            ("accepted/s", eve.rate, ours.rate, 0),
            ("p50 ms", eve.ms(0.5), ours.ms(0.5), 1),
            ("p99 ms", eve.ms(0.99), ours.ms(0.99), 1),
            ("CPU ms/request", eve.cpu_ms, ours.cpu_ms, 2),
        ]
        for metric, a, b, digits in rows:
            ratio = f"{b / a:.2f}" if a else "–"
            lines.append(f"| | {metric} | {_fmt(a, digits)} | {_fmt(b, digits)} | {ratio} |")
    return lines


def handoff_probe(folder: Path, document: Path, count: int = 300) -> list[float]:
    """Seconds for the bare durable hand-off, in as little Python as it can be written.

    Per job: the document written into an empty file whose name is already durable (as a
    ready slot is) and fsynced, then one row inserted and committed in an SQLite WAL
    database with ``synchronous=FULL``, on the same disk as the printers' spools.  No
    HTTP, no IPP, no SQLAlchemy: the least any server that keeps this promise must add
    to an answer.
    """
    import sqlite3

    data = document.read_bytes()
    folder.mkdir()
    db = sqlite3.connect(folder / "probe.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, uuid TEXT, name TEXT, sha256 TEXT, size INTEGER)")
    slots = []
    for n in range(count):
        path = folder / f"slot-{n}"
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        slots.append(path)
    dir_fd = os.open(folder, os.O_RDONLY)
    os.fsync(dir_fd)
    os.close(dir_fd)
    seconds = []
    for n, path in enumerate(slots):
        began = time.perf_counter()
        fd = os.open(path, os.O_WRONLY)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO jobs (uuid, name, sha256, size) VALUES (?, ?, ?, ?)",
                   (f"{n:036d}", "one-page.pdf", "0" * 64, len(data)))
        db.execute("COMMIT")
        seconds.append(time.perf_counter() - began)
    db.close()
    return seconds


def floor_table(phases: list[tuple[str, Run, Run, Run]]) -> list[str]:
    """Accepted/s and p50 of ippeveprinter, ours and the HTTP floor, each as a ratio to ippeveprinter."""
    lines = ["| phase | metric | ippeveprinter | Pagero | HTTP floor | Pagero / eve | floor / eve |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, eve, ours, floor in phases:
        for metric, a, b, c in (("accepted/s", eve.rate, ours.rate, floor.rate),
                                ("p50 ms", eve.ms(0.5), ours.ms(0.5), floor.ms(0.5))):
            lines.append(f"| {name} | {metric} | {_fmt(a)} | {_fmt(b)} | {_fmt(c)} | "
                         f"{b / a:.2f} | {c / a:.2f} |" if a else f"| {name} | {metric} | – | – | – | – | – |")
    return lines


def measured(target: Target, measure: Callable[[str], Run]) -> Run:
    """One phase against one idle printer, with the CPU it spends until it is idle again."""
    if target.stores:
        wait_idle(target.uri)
    before = cpu_seconds(target.pid)
    run = measure(target.uri)
    if target.stores:
        wait_idle(target.uri)
    run.cpu = cpu_seconds(target.pid) - before
    return run


def main() -> None:
    started = time.monotonic()
    # A SIGTERM unwinds like Ctrl-C, so that every process started here is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="pagero-bench-ipp-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        document = one_page_pdf(root)
        gpa_test = root / "gpa-all.test"
        gpa_test.write_text(GPA_TEST)
        facts = machine_facts(root)
        # (name, measurement, whether the HTTP floor runs it too)
        plan: list[tuple[str, Callable[[str], Run], bool]] = [
            (f"Print-Job, ipptool per job, sequential ×{JOBS}",
             lambda uri: ipptool_run(uri, PRINT_JOB_TEST, document, 1, JOBS), True),
            (f"Print-Job, ipptool per job, {CLIENTS} clients ×{PER_CLIENT}",
             lambda uri: ipptool_run(uri, PRINT_JOB_TEST, document, CLIENTS, PER_CLIENT), False),
            (f"Print-Job, keep-alive client, sequential ×{JOBS}",
             lambda uri: python_run(uri, "print-job", document, 1, JOBS), True),
            (f"Print-Job, keep-alive clients, {CLIENTS} ×{PER_CLIENT}",
             lambda uri: python_run(uri, "print-job", document, CLIENTS, PER_CLIENT), False),
            (f"Get-Printer-Attributes all, ipptool per request ×{GPA}",
             lambda uri: ipptool_run(uri, gpa_test, None, 1, GPA), False),
            (f"Get-Printer-Attributes all, keep-alive client ×{GPA}",
             lambda uri: python_run(uri, "get-printer-attributes", document, 1, GPA), False),
        ]
        only = {int(n) for n in os.environ.get("BENCH_IPP_PHASES", "").split(",") if n.strip()}
        plan = [step for number, step in enumerate(plan, 1) if not only or number in only]
        with ippeveprinter(root) as eve, pagero(root) as ours, http_floor() as floor:
            # Warm both up (imports, caches, the first database pages) outside the clock.
            for target in (eve, ours):
                python_run(target.uri, "print-job", document, 1, 5)
                python_run(target.uri, "get-printer-attributes", document, 1, 5)
            phases = []
            floors = []
            for name, measure, with_floor in plan:
                pooled: dict[str, Run] = {}
                for round_ in range(ROUNDS):
                    # Alternate who goes first, so that a change in the machine's load hits all alike.
                    order = [("eve", eve), ("ours", ours), ("floor", floor)]
                    if not with_floor:
                        order.pop()
                    if round_ % 2:
                        order.reverse()
                    for key, target in order:
                        run = measured(target, measure)
                        pooled[key] = pooled[key] + run if key in pooled else run
                phases.append((name, pooled["eve"], pooled["ours"]))
                if with_floor:
                    floors.append((name, pooled["eve"], pooled["ours"], pooled["floor"]))
                print(f"measured: {name}", file=sys.stderr, flush=True)
        facts.append(f"- load average (1 min) at the end: {os.getloadavg()[0]:.2f}; "
                     f"the run took {time.monotonic() - started:.0f} s")
        rounds = f" (each phase {ROUNDS} rounds, pooled)" if ROUNDS > 1 else ""
        lines = ["## Printer (IPP)", "", *facts, "", f"Results{rounds}:", "", *table(phases), ""]
        if floors:
            handoff = handoff_probe(root / "handoff-probe", document)
            lines += ["The HTTP floor (uvicorn as `serve` runs it, answering without storing anything) in the same "
                      "rounds:", "", *floor_table(floors), "",
                      f"The bare durable hand-off (document fsync + one SQLite WAL commit, no server; "
                      f"`handoff_probe`), {len(handoff)} times right after: p50 {pct(handoff, 0.5) * 1000:.2f} ms, "
                      f"p99 {pct(handoff, 0.99) * 1000:.2f} ms.", ""]
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--client":
        client_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main()
