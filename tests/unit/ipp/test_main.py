"""``python -m ipp`` (``ipp/__main__.py``): the printer alone as a real process, held to the stock ipptool suites."""

from __future__ import annotations

import http.client
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipp.__main__ import parse_listen, uri_host
from tests.support.harness import IPPTOOL_DIR, REPO
from tests.support.samples import expected_tests, suite_dir

SUITES = [("ipp-1.1.test", "1.1"), ("ipp-2.0.test", "2.0"), ("ipp-everywhere.test", "2.0")]
URI = re.compile(r"Printer URI:\s+(ipp://127\.0\.0\.1:(\d+)/ipp/print)")


@dataclass
class Standalone:
    proc: subprocess.Popen[bytes]
    uri: str
    port: int
    log: Path

    def stop(self) -> int:
        """SIGTERM, then the exit code (killed after 20 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def start(log: Path, *args: str) -> Standalone:
    """``python -m ipp --listen 127.0.0.1:0`` once its banner names the printer URI."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "ipp", "--listen", "127.0.0.1:0", *args], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=err)
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    banner = ""
    while time.monotonic() < deadline and proc.poll() is None:
        if selector.select(timeout=0.5):
            # os.read, not readline: a buffered reader may hold the line the selector no longer sees.
            banner += os.read(proc.stdout.fileno(), 4096).decode(errors="replace")
            match = URI.search(banner)
            if match:
                return Standalone(proc, match.group(1), int(match.group(2)), log)
    proc.kill()
    proc.wait()
    raise AssertionError(f"no printer URI in {banner!r}; stderr: {log.read_text()}")


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[Standalone]:
    printer = start(tmp_path / "ipp.log")
    try:
        yield printer
    finally:
        if printer.proc.poll() is None:
            printer.stop()



@pytest.mark.parametrize(("suite", "version"), SUITES)
def test_stock_suite_passes_completely(suite: str, version: str, standalone: Standalone, tmp_path: Path) -> None:
    folder = suite_dir(tmp_path / "suite", *(name for name, _ in SUITES))
    result = subprocess.run(
        ["ipptool", "-I", "-t", "-T", "20", "-V", version, "-f", "document-a4.pdf", standalone.uri, suite],
        cwd=folder, capture_output=True, text=True, timeout=600,
    )
    report = result.stdout
    outcomes = re.findall(r"\[(PASS|FAIL|SKIP)\]", report)
    failed = [line for line in report.splitlines() if "[FAIL]" in line]
    assert not failed, f"{suite}: {len(failed)} failures\n" + report[-4000:]
    assert len(outcomes) == expected_tests(IPPTOOL_DIR / suite), f"{suite} stopped early\n{report[-2000:]}"
    assert outcomes.count("PASS") >= 30
    assert result.returncode == 0, result.stderr
    assert standalone.stop() == 0
    assert "Traceback" not in standalone.log.read_text()


def test_it_answers_404_off_the_printer_path_and_stops_cleanly(standalone: Standalone) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", standalone.port, timeout=10)
    for method, path in (("GET", "/"), ("GET", "/ipp/print"), ("POST", "/other")):
        conn.request(method, path, body=b"" if method == "POST" else None)
        response = conn.getresponse()
        response.read()
        assert response.status == 404, (method, path)
    conn.close()
    began = time.monotonic()
    assert standalone.stop() == 0
    assert time.monotonic() - began < 10
    assert "Traceback" not in standalone.log.read_text()


def test_sigint_stops_it_cleanly_too(tmp_path: Path) -> None:
    printer = start(tmp_path / "ipp.log", "--name", "Test Printer")
    printer.proc.send_signal(signal.SIGINT)
    assert printer.stop() == 0


def test_a_bad_listen_address_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "ipp", "--listen", "nowhere"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "expected HOST:PORT" in result.stderr


def test_listen_and_uri_hosts() -> None:
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_listen("[::1]:8632") == ("::1", 8632)
    for text in ("8632", ":8632", "host:", "host:65536", "host:-1"):
        with pytest.raises(ValueError):
            parse_listen(text)
    assert uri_host("127.0.0.1", 631) == "127.0.0.1:631"
    assert uri_host("::1", 631) == "[::1]:631"
    assert not uri_host("0.0.0.0", 631).startswith("0.0.0.0")
