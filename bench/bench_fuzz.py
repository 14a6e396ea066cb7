"""IPP fuzzing at scale (issue 3, T10): 100,000 fuzzipp cases against a real ``pagero-connect serve``.

The same cases as ``tests/test_fuzz.py`` (structured seeds, then CUPS-style mutated
requests, :mod:`tests.support.fuzzipp`), only more of them, from 4 keep-alive clients.  Every
answer must be a well-formed IPP response or HTTP 400/413 within 10 s; afterwards the
printer must still answer and its log must hold no traceback.

Prints a Markdown section: cases per second, latency percentiles, the server's peak
RSS, the count of each answer, and every failure (with its case index, to make it
again with ``fuzzipp.cases(uri, seed, index + 1)``).  Exits 1 on any failure.
Sizes: ``BENCH_FUZZ_CASES`` (100000), ``BENCH_FUZZ_SEED`` (1), ``BENCH_FUZZ_WORKERS`` (4).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import fuzzipp  # noqa: E402
from tests.support.harness import Server  # noqa: E402
from tests.support.ippclient import Client  # noqa: E402

CASES = int(os.environ.get("BENCH_FUZZ_CASES", "100000"))
SEED = int(os.environ.get("BENCH_FUZZ_SEED", "1"))
WORKERS = int(os.environ.get("BENCH_FUZZ_WORKERS", "4"))


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="pagero-bench-fuzz-", dir="/var/tmp"))
    config = root / "pagero.yaml"
    config.write_text("limits:\n  max_job_bytes: 4194304\n  idle_timeout: 10\n")
    server = Server(root / "data", config).start()
    last = [time.monotonic()]

    def progress(report: fuzzipp.Report) -> None:
        if time.monotonic() - last[0] > 10:
            last[0] = time.monotonic()
            print(f"<!-- {report.sent}/{CASES} cases, {len(report.failures)} failures -->", file=sys.stderr,
                  flush=True)

    try:
        assert server.proc is not None
        pid = server.proc.pid
        rss_start = _status_mb(pid, "VmRSS")
        report = fuzzipp.run(server.port, fuzzipp.cases(server.uri, SEED, CASES), workers=WORKERS, timeout=10.0,
                             progress=progress)
        peak = _status_mb(pid, "VmHWM")
        client = Client(server.uri, timeout=60.0)
        alive = client.printer_attributes("printer-is-accepting-jobs")["printer-is-accepting-jobs"].value is True
        queued = len(client.get_jobs("not-completed"))
        client.close()
    finally:
        code = server.stop()
        log = server.log_text()
        shutil.rmtree(root, ignore_errors=True)
    tracebacks = log.count("Traceback")
    latencies = report.latencies
    print("## IPP fuzzing (fuzzipp method)\n")
    print(f"{report.sent} cases (seed {SEED}, {WORKERS} keep-alive clients, {report.connections} connections) "
          f"in {report.seconds:.1f} s: **{report.sent / max(report.seconds, 1e-9):.0f} cases/s**.\n")
    print("| metric | value |\n|---|---|")
    print(f"| latency p50 / p99 / max | {_percentile(latencies, 0.5) * 1000:.1f} / "
          f"{_percentile(latencies, 0.99) * 1000:.1f} / {report.slowest * 1000:.0f} ms |")
    print(f"| server RSS at start / peak | {rss_start:.0f} / {peak:.0f} MB |")
    print(f"| failures | {len(report.failures)} |")
    print(f"| tracebacks in the server log | {tracebacks} |")
    print(f"| answers Get-Printer-Attributes afterwards | {'yes' if alive else 'NO'} |")
    print(f"| jobs not ended at the end (waiting for a document or converting) | {queued} |")
    print(f"| server exit status after SIGTERM | {code} |\n")
    if code != 0:
        # Not a fuzzing verdict: the pipeline finishes its whole queue before it stops, and the
        # harness kills a server that takes more than 20 s to stop.
        print(f"_The server did not stop cleanly with {queued} jobs not ended._\n")
    print("| answer | count |\n|---|---|")
    for label, count in sorted(report.counts.items()):
        print(f"| {label} | {count} |")
    for case, problem in report.failures[:100]:
        print(f"\n- FAIL case {case.index} ({case.name}): {problem}")
    if tracebacks:
        at = log.index("Traceback")
        print("\n```\n" + log[max(0, at - 300) : at + 3000] + "\n```")
    ok = not report.failures and not tracebacks and alive and report.sent == CASES
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
