"""Shared test machinery: a real ``pagero-connect serve`` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
"""Test data kept in the repository, each with its provenance."""
CORPUS = DATA / "corpus"
"""The invoices the tests print and receive (see its NOTICE for where they came from)."""
CACHE = REPO / ".test-cache"
IPPTOOL_DIR = Path("/usr/share/cups/ipptool")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class Server:
    """One ``serve`` process; :meth:`start` again after a crash reuses the data dir."""

    def __init__(self, data_dir: Path, config: Path | None = None, extra_env: dict[str, str] | None = None,
                 *, demo: bool = False, tls: bool | None = False) -> None:
        self.data_dir = data_dir
        self.tls = tls
        """TLS on the port (``tls.enabled``); None leaves the product's default (on).  Off by default here:
        most stories speak plain HTTP to the status page; the TLS stories turn it on."""
        self.config = config
        self.demo = demo
        """Start as ``make run`` does (``serve --demo``): the local emulator while no account is set up."""
        self.port = free_port()
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}-serve.log"

    @property
    def uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print"

    @property
    def url(self) -> str:
        return f"{'http' if self.tls is False else 'https'}://127.0.0.1:{self.port}"

    def start(self, env: dict[str, str] | None = None) -> Server:
        environment = dict(os.environ)
        environment.update({"PAGERO_PRINTER_DNSSD": "false", "PYTHONUNBUFFERED": "1"})
        environment.pop("PAGERO_CRASH_AT", None)
        environment.pop("PAGERO_TLS_ENABLED", None)
        if self.tls is not None:
            environment["PAGERO_TLS_ENABLED"] = "on" if self.tls else "off"
        environment.update(self.extra_env)
        environment.update(env or {})
        argv = [sys.executable, "-m", "connect_core.cli", "serve", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", str(self.data_dir)]
        if self.config is not None:
            argv += ["--config", str(self.config)]
        if self.demo:
            argv.append("--demo")
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=REPO)
        log.close()
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def wait_exit(self, timeout: float = 20) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def running(data_dir: Path, **kwargs: object) -> Iterator[Server]:
    server = Server(data_dir, **kwargs).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def stray_documents(data_dir: Path) -> list[Path]:
    """Documents in the spool that no job row names: partial or never-committed ones.

    Unused ready slots (a job folder holding only an empty ``document``) are not strays.
    Old-style partial files in ``incoming/`` are.
    """
    import sqlite3

    jobs = data_dir / "spool" / "jobs"
    with sqlite3.connect(data_dir / "connect.db") as conn:
        named = {row[0] for row in conn.execute("SELECT document_uuid FROM print_jobs") if row[0]}
    strays = sorted((data_dir / "spool" / "incoming").glob("*.part"))
    for folder in sorted(jobs.iterdir()) if jobs.exists() else []:
        if folder.name in named:
            continue
        try:  # the server may remove an aborted document's folder while we look: then it is no stray
            if any(entry.name != "document" or entry.stat().st_size for entry in folder.iterdir()):
                strays.append(folder)
        except FileNotFoundError:
            continue
    return strays
