"""Print-Job over ``ipps://`` against ``ipp://`` (issue 18), on our printer and on CUPS ``ippeveprinter``, in one run.

Both printers serve plain IPP and IPPS on one free 127.0.0.1 port each (ours with ``tls.enabled``, telling
the two apart by the first byte; ippeveprinter as CUPS does), so there are four targets: each printer over
each scheme.  The same one-page PDF as ``bench_ipp.py`` goes to all four, two ways:

- **kept-alive**: one client process per target (``http.client`` + our codec; for ``ipps`` an ``ssl``
  context that does not verify the self-signed certificate) holds one connection, made before the clock
  starts, and sends its Print-Jobs one after another on it;
- **ipptool per job**: one ``ipptool -t -T 20 -f DOC URI print-job.test`` process per job, so each job pays
  for a new connection and, over ``ipps``, a full TLS handshake (CUPS's GnuTLS client).

ippeveprinter refuses a Print-Job with ``server-error-busy`` while its previous job still runs; such a
job is sent again at once (CUPS's ipp backend, too, retries a busy printer, though after a pause), its
latency runs until it is accepted, and the refusals are counted.  Any other outcome is a failure: the
bench then exits non-zero.

The work is split into rounds; each round runs every target once, in an order reversed every other round,
so a change in the machine's load hits all four alike.  Each round also times bare connects and TLS
handshakes (no request) from this process, to show the handshake alone.

ipptool runs with a private ``CUPS_SERVERROOT`` and ``HOME`` whose ``client.conf`` states CUPS's defaults
for certificates (``AllowAnyRoot Yes``, ``ValidateCerts No``, ``TrustOnFirstUse Yes``), so it takes both
printers' self-signed certificates whatever the machine's own CUPS configuration or stored certificates say.

ippeveprinter makes itself an RSA 2048 certificate, ours is EC P-256; ``BENCH_TLS_EVE_EC=1`` gives ippeveprinter
an EC P-256 one made as ours is (:func:`ipp.tls.make_self_signed`), to compare the two TLS stacks like for like.

Sizes: ``BENCH_TLS_JOBS`` (kept-alive jobs per target, 200), ``BENCH_TLS_IPPTOOL`` (ipptool jobs per target,
40), ``BENCH_TLS_HANDSHAKES`` (bare connects per target, 100), ``BENCH_TLS_ROUNDS`` (4).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_ipp import PRINT_JOB_TEST, Run, machine_facts, one_page_pdf, pct  # noqa: E402
from bench.ipp_peers import Target, cpu_seconds, ippeveprinter, pagero, wait_idle  # noqa: E402

JOBS = int(os.environ.get("BENCH_TLS_JOBS", "200"))
IPPTOOL_JOBS = int(os.environ.get("BENCH_TLS_IPPTOOL", "40"))
HANDSHAKES = int(os.environ.get("BENCH_TLS_HANDSHAKES", "100"))
ROUNDS = int(os.environ.get("BENCH_TLS_ROUNDS", "4"))
EVE_EC = os.environ.get("BENCH_TLS_EVE_EC", "") not in ("", "0")
BUSY = 0x0507
"""``server-error-busy``: ippeveprinter's answer while its previous job is still active."""
BUSY_LIMIT = 10.0
"""Seconds a job may be refused as busy before it counts as failed."""
CLIENT_CONF = "AllowAnyRoot Yes\nAllowExpiredCerts No\nValidateCerts No\nTrustOnFirstUse Yes\n"


def unverified_context() -> ssl.SSLContext:
    """A client context that takes any certificate (both printers' are self-signed)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# -- the kept-alive client (its own process) ----------------------------------------------


def client_main(uri: str, document_path: str) -> None:
    """One kept-alive client (``--client URI DOC``), driven over stdin/stdout with one JSON line each way.

    It connects (over TLS for ``ipps``), reports the connection, and then per ``run N`` line sends N
    Print-Jobs on that connection and reports them.  A connection the printer closed while the client was
    idle between rounds is made again before the clock starts, and counted.
    """
    import http.client

    from ipp.codec import Attribute, Tag, decode, encode
    from ipp.status import Operation
    from tests.support.ippclient import request

    document = Path(document_path).read_bytes()
    scheme, rest = uri.split("://", 1)
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    context = unverified_context() if scheme == "ipps" else None

    def connect() -> http.client.HTTPConnection:
        conn = (http.client.HTTPSConnection(host, int(port), timeout=60, context=context) if context
                else http.client.HTTPConnection(host, int(port), timeout=60))
        conn.connect()
        return conn

    def closed_by_peer(conn: http.client.HTTPConnection) -> bool:
        # Between answers nothing may arrive; a readable socket means the printer closed (or broke) it.
        return conn.sock is None or bool(select.select([conn.sock], [], [], 0)[0])

    def print_job(conn: http.client.HTTPConnection) -> int:
        message = request(Operation.PRINT_JOB, uri,
                          Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "bench"),
                          Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"))
        conn.request("POST", "/" + path, body=encode(message) + document, headers={"Content-Type": "application/ipp"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return decode(data)[0].code

    conn = connect()
    hello: dict[str, object] = {"tls": None}
    if isinstance(conn.sock, ssl.SSLSocket):
        hello["tls"] = f"{conn.sock.version()} {conn.sock.cipher()[0]}"  # type: ignore[index]
        hello["key"] = _key_kind(conn.sock.getpeercert(binary_form=True) or b"")
    print(json.dumps(hello), flush=True)
    reconnects = 0
    for line in sys.stdin:
        count = int(line.split()[1])
        if closed_by_peer(conn):
            conn.close()
            conn = connect()
            reconnects += 1
        latencies: list[float] = []
        failures: list[str] = []
        busy = accepted = 0
        start = time.perf_counter()
        for _ in range(count):
            began = time.perf_counter()
            while True:
                try:
                    code = print_job(conn)
                except (OSError, http.client.HTTPException, RuntimeError, ValueError) as error:
                    failures.append(f"{type(error).__name__}: {error}")
                    conn.close()
                    conn = connect()
                    reconnects += 1
                    break
                if code == BUSY and time.perf_counter() - began < BUSY_LIMIT:
                    busy += 1
                    continue
                if code < 0x0100:
                    accepted += 1
                else:
                    failures.append(f"status 0x{code:04x}")
                break
            latencies.append(time.perf_counter() - began)
        end = time.perf_counter()
        print(json.dumps({"start": start, "end": end, "latencies": latencies, "accepted": accepted, "busy": busy,
                          "failures": failures, "reconnects": reconnects}), flush=True)
    conn.close()


def _key_kind(der: bytes) -> str:
    """The certificate's key, as ``RSA 2048`` or ``EC secp256r1``."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = x509.load_der_x509_certificate(der).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__


class KeptAlive:
    """The bench's side of one client process."""

    def __init__(self, uri: str, document: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--client", uri, str(document)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = self._answer()
        self.tls: str | None = hello.get("tls")
        self.key: str | None = hello.get("key")
        self.reconnects = 0

    def _answer(self) -> dict:  # type: ignore[type-arg]
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 900)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"kept-alive client exited or hung (exit {self.proc.poll()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def run(self, count: int) -> tuple[Run, int, list[str]]:
        """``count`` jobs on the kept connection: the run, busy refusals, failures."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {count}\n")
        self.proc.stdin.flush()
        report = self._answer()
        self.reconnects = report["reconnects"]
        return (Run(report["latencies"], report["accepted"], report["end"] - report["start"]), report["busy"],
                report["failures"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- ipptool and bare handshakes ------------------------------------------------------------


def ipptool_jobs(uri: str, document: Path, count: int, env: dict[str, str]) -> tuple[Run, int, list[str]]:
    """``count`` jobs, one ``ipptool`` process each (again while refused as busy): the run, refusals, failures."""
    argv = ["ipptool", "-t", "-T", "20", "-f", str(document), uri, str(PRINT_JOB_TEST)]
    latencies: list[float] = []
    failures: list[str] = []
    busy = accepted = 0
    start = time.perf_counter()
    for _ in range(count):
        began = time.perf_counter()
        while True:
            try:
                result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
            except subprocess.TimeoutExpired:
                failures.append("ipptool still running after 60 s")
                break
            if result.returncode == 0:
                accepted += 1
            elif "server-error-busy" in result.stdout and time.perf_counter() - began < BUSY_LIMIT:
                busy += 1
                continue
            else:
                report = " ".join((result.stdout + result.stderr).split())
                failures.append(f"ipptool exit {result.returncode}: {report[-300:]}")
            break
        latencies.append(time.perf_counter() - began)
    return Run(latencies, accepted, time.perf_counter() - start), busy, failures


def connect_times(uri: str, count: int) -> tuple[list[float], list[str]]:
    """Seconds for ``count`` bare connects (``ipp``) or connects + TLS handshakes (``ipps``), each closed at once."""
    scheme, rest = uri.split("://", 1)
    host, _, port = rest.partition("/")[0].rpartition(":")
    context = unverified_context() if scheme == "ipps" else None
    seconds: list[float] = []
    failures: list[str] = []
    for _ in range(count):
        began = time.perf_counter()
        try:
            with socket.create_connection((host, int(port)), timeout=30) as raw:
                if context is not None:
                    with context.wrap_socket(raw, server_hostname=None):
                        seconds.append(time.perf_counter() - began)
                else:
                    seconds.append(time.perf_counter() - began)
        except (OSError, ssl.SSLError) as error:
            failures.append(f"connect: {error}")
    return seconds, failures


# -- the run -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Everything measured against one target (one printer over one scheme), pooled over the rounds."""

    printer: str
    scheme: str
    target: Target
    kept: Run | None = None
    tool: Run | None = None
    connects: list[float] = field(default_factory=list)
    connect_cpu: float = 0.0
    """CPU seconds the printer spent on the bare connects (and handshakes)."""
    kept_busy: int = 0
    tool_busy: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.target.uri.replace("ipp://", f"{self.scheme}://", 1)

    @property
    def name(self) -> str:
        return f"{self.printer} {self.scheme}"


def measured(target: Target, measure: Callable[[], tuple[Run, int, list[str]]]) -> tuple[Run, int, list[str]]:
    """One batch against an idle printer, with the CPU it spends until it is idle again."""
    wait_idle(target.uri)
    before = cpu_seconds(target.pid)
    run, busy, failures = measure()
    wait_idle(target.uri)
    run.cpu = cpu_seconds(target.pid) - before
    return run, busy, failures


def _pool(old: Run | None, new: Run) -> Run:
    return new if old is None else old + new


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "–"


def mode_table(outcomes: dict[tuple[str, str], Outcome], which: str) -> list[str]:
    """One table for one way of sending: a column per target, then ipps/ipp per printer and Pagero/eve per scheme."""
    eve_ipp, eve_ipps = outcomes["eve", "ipp"], outcomes["eve", "ipps"]
    ours_ipp, ours_ipps = outcomes["ours", "ipp"], outcomes["ours", "ipps"]

    def run(o: Outcome) -> Run:
        got = o.kept if which == "kept" else o.tool
        assert got is not None
        return got

    def busy(o: Outcome) -> int:
        return o.kept_busy if which == "kept" else o.tool_busy

    lines = ["| metric | eve ipp | eve ipps | Pagero ipp | Pagero ipps | eve ipps/ipp | Pagero ipps/ipp "
             "| Pagero/eve ipp | Pagero/eve ipps |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    cells = " | ".join(f"{run(o).accepted}/{run(o).total}" for o in (eve_ipp, eve_ipps, ours_ipp, ours_ipps))
    lines.append(f"| jobs accepted | {cells} | | | | |")
    cells = " | ".join(str(busy(o)) for o in (eve_ipp, eve_ipps, ours_ipp, ours_ipps))
    lines.append(f"| busy refusals (sent again) | {cells} | | | | |")
    metrics: list[tuple[str, Callable[[Run], float], int]] = [
        ("jobs/s", lambda r: r.rate, 0),
        ("p50 ms", lambda r: r.ms(0.5), 1),
        ("p95 ms", lambda r: r.ms(0.95), 1),
        ("printer CPU ms/job", lambda r: r.cpu_ms, 2),
    ]
    for metric, value, digits in metrics:
        ei, es, oi, os_ = (value(run(o)) for o in (eve_ipp, eve_ipps, ours_ipp, ours_ipps))
        lines.append(f"| {metric} | {_fmt(ei, digits)} | {_fmt(es, digits)} | {_fmt(oi, digits)} | {_fmt(os_, digits)} "
                     f"| {_ratio(es, ei)} | {_ratio(os_, oi)} | {_ratio(oi, ei)} | {_ratio(os_, es)} |")
    return lines


def handshake_table(outcomes: dict[tuple[str, str], Outcome]) -> list[str]:
    """The TLS handshake's cost: per ipptool run (ipps − ipp) and alone, from a Python client."""
    lines = ["| | ippeveprinter | Pagero | Pagero/eve |", "|---|---:|---:|---:|"]

    def tool_p50(printer: str, scheme: str) -> float:
        run = outcomes[printer, scheme].tool
        assert run is not None
        return run.ms(0.5)

    def tool_cpu(printer: str, scheme: str) -> float:
        run = outcomes[printer, scheme].tool
        assert run is not None
        return run.cpu_ms

    rows: list[tuple[str, float, float, int]] = [
        ("ipptool per job: p50 ipps − ipp, ms", tool_p50("eve", "ipps") - tool_p50("eve", "ipp"),
         tool_p50("ours", "ipps") - tool_p50("ours", "ipp"), 1),
        ("ipptool per job: printer CPU ipps − ipp, ms/job", tool_cpu("eve", "ipps") - tool_cpu("eve", "ipp"),
         tool_cpu("ours", "ipps") - tool_cpu("ours", "ipp"), 2),
    ]
    for scheme, what in (("ipp", "TCP connect alone"), ("ipps", "TCP connect + TLS handshake")):
        theirs, mine = outcomes["eve", scheme], outcomes["ours", scheme]
        for q in (0.5, 0.95):
            rows.append((f"{what} (Python client), p{round(q * 100)} ms", pct(theirs.connects, q) * 1000,
                         pct(mine.connects, q) * 1000, 2))
        rows.append((f"{what}: printer CPU ms each", theirs.connect_cpu * 1000 / max(1, len(theirs.connects)),
                     mine.connect_cpu * 1000 / max(1, len(mine.connects)), 2))
    for metric, eve, ours, digits in rows:
        lines.append(f"| {metric} | {_fmt(eve, digits)} | {_fmt(ours, digits)} | {_ratio(ours, eve)} |")
    return lines


def one_round(outcome: Outcome, client: KeptAlive, counts: tuple[int, int, int], document: Path,
              tool_env: dict[str, str]) -> int:
    """One round against one target: kept-alive jobs, ipptool jobs, bare connects; returns the jobs accepted."""
    jobs, tool_jobs, connects = counts
    run, busy, failures = measured(outcome.target, partial(client.run, jobs))
    outcome.kept, outcome.kept_busy = _pool(outcome.kept, run), outcome.kept_busy + busy
    outcome.failures += [f"kept-alive: {f}" for f in failures]
    tool, busy, failures = measured(outcome.target, partial(ipptool_jobs, outcome.uri, document, tool_jobs, tool_env))
    outcome.tool, outcome.tool_busy = _pool(outcome.tool, tool), outcome.tool_busy + busy
    outcome.failures += [f"ipptool: {f}" for f in failures]
    before = cpu_seconds(outcome.target.pid)
    seconds, failures = connect_times(outcome.uri, connects)
    time.sleep(0.1)  # let the printer see the last one closed
    outcome.connect_cpu += cpu_seconds(outcome.target.pid) - before
    outcome.connects += seconds
    outcome.failures += failures
    return run.accepted + tool.accepted


def log_trouble(log: Path) -> tuple[int, list[str]]:
    """Our server's log lines at WARNING, and those at ERROR or above with any traceback."""
    warnings, errors = 0, []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        level = line.split(" ", 3)[2] if line[:2] == "20" and line.count(" ") >= 3 else ""
        if level == "WARNING":
            warnings += 1
        elif level in ("ERROR", "CRITICAL") or line.startswith("Traceback"):
            errors.append(line[:300])
    return warnings, errors


def recorded_jobs(data_dir: Path) -> int:
    """Print jobs our server has committed in its database."""
    with sqlite3.connect(f"file:{data_dir / 'connect.db'}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM print_jobs").fetchone()[0])


def main() -> int:
    started = time.monotonic()
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pagero-bench-tls-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        document = one_page_pdf(root)
        cups_root = root / "cups-client"
        (cups_root / "ssl").mkdir(parents=True, mode=0o700)
        (cups_root / "client.conf").write_text(CLIENT_CONF)
        home = root / "home"
        (home / ".cups").mkdir(parents=True)
        (home / ".cups" / "client.conf").write_text(CLIENT_CONF)
        tool_env = {**os.environ, "CUPS_SERVERROOT": str(cups_root), "HOME": str(home)}
        facts = machine_facts(root)
        if EVE_EC:
            from ipp.tls import make_self_signed

            keys = root / "ippeve-keys"
            keys.mkdir(mode=0o700)
            make_self_signed(keys / "localhost.crt", keys / "localhost.key", ["localhost"], ["127.0.0.1"])
        ours_accepted = 0
        with ippeveprinter(root, tls=True) as eve, pagero(root, tls=True) as ours:
            outcomes = {(printer, scheme): Outcome(printer, scheme, target)
                        for printer, target in (("eve", eve), ("ours", ours)) for scheme in ("ipp", "ipps")}
            clients: dict[tuple[str, str], KeptAlive] = {}
            try:
                for key, outcome in outcomes.items():
                    clients[key] = KeptAlive(outcome.uri, document)
                # Warm up outside the clock: imports, caches, ippeveprinter's certificate, the first pages.
                for key, outcome in outcomes.items():
                    run, _, warm_failures = clients[key].run(5)
                    tool, _, tool_failures = ipptool_jobs(outcome.uri, document, 3, tool_env)
                    failures += [f"{outcome.name} warm-up: {f}" for f in warm_failures + tool_failures]
                    if key[0] == "ours":
                        ours_accepted += run.accepted + tool.accepted
                order = list(outcomes)
                for round_ in range(ROUNDS):
                    share = JOBS // ROUNDS + (round_ < JOBS % ROUNDS)
                    tool_share = IPPTOOL_JOBS // ROUNDS + (round_ < IPPTOOL_JOBS % ROUNDS)
                    connect_share = HANDSHAKES // ROUNDS + (round_ < HANDSHAKES % ROUNDS)
                    for key in order if round_ % 2 == 0 else order[::-1]:
                        accepted = one_round(outcomes[key], clients[key], (share, tool_share, connect_share),
                                             document, tool_env)
                        if key[0] == "ours":
                            ours_accepted += accepted
                    print(f"round {round_ + 1}/{ROUNDS} measured", file=sys.stderr, flush=True)
            finally:
                for client in clients.values():
                    client.close()
            wait_idle(ours.uri)
            recorded = recorded_jobs(root / "pagero-data")
            if recorded != ours_accepted:
                failures.append(f"Pagero answered {ours_accepted} Print-Jobs with success but recorded {recorded}")
            warnings, errors = log_trouble(root / "pagero-data-serve.log")
            failures += [f"Pagero's log: {line}" for line in errors]
            tls = {key: (clients[key].tls, clients[key].key) for key in clients if key[1] == "ipps"}
            reconnects = {outcomes[key].name: client.reconnects for key, client in clients.items()}
        for outcome in outcomes.values():
            failures += [f"{outcome.name}: {f}" for f in outcome.failures]
    facts.append(f"- load average (1 min) at the end: {os.getloadavg()[0]:.2f}; "
                 f"the run took {time.monotonic() - started:.0f} s")
    per_round = f"{ROUNDS} rounds, targets in alternating order, pooled"
    lines = [
        "## TLS: Print-Job over ipps:// and ipp://", "", *facts,
        f"- TLS negotiated by the Python client: ippeveprinter {tls['eve', 'ipps'][0]} ({tls['eve', 'ipps'][1]} "
        f"certificate), Pagero {tls['ours', 'ipps'][0]} ({tls['ours', 'ipps'][1]} certificate)",
        "- kept-alive connections made again between rounds (the printer had closed an idle one): "
        + ", ".join(f"{name} {count}" for name, count in reconnects.items()),
        f"- Pagero: {recorded} print jobs recorded in its database for {ours_accepted} accepted "
        f"(warm-up included); its log: {warnings} warnings, {len(errors)} errors", "",
        f"Print-Job, one kept-alive connection per target, ×{JOBS} ({per_round}):", "",
        *mode_table(outcomes, "kept"), "",
        f"Print-Job, one `ipptool` process (and connection) per job, ×{IPPTOOL_JOBS} ({per_round}):", "",
        *mode_table(outcomes, "tool"), "",
        f"The TLS handshake's cost (bare connects ×{HANDSHAKES} per target, in the same rounds):", "",
        *handshake_table(outcomes), "",
    ]
    if failures:
        lines += [f"**{len(failures)} failure(s):**", "", *(f"- {f}" for f in failures[:50]), ""]
    print("\n".join(lines), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        client_main(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
