"""A Linux office prints to "Pagero Printer", a CUPS queue in front of Pagero Connect.

``pagero-connect install-cups-queue`` installs the ``pagero`` backend and the pass-through PPD
into a private CUPS (tests/cupsd.py) and creates the queue; ``lp`` then prints through real
cupsd, which runs the backend (as user lp), which hands the unchanged document to a real
``serve`` over loopback IPP.  When the product is not running, CUPS keeps the job and retries.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_core.intake.cups_backend import DISCOVERY_LINE
from connect_core.intake.cups_queue import unreachable_by_others
from tests.support.cupsd import Cupsd, private_cupsd
from tests.support.harness import CORPUS, REPO, Server, free_port
from tests.support.ippclient import Client

QUEUE = "Pagero_Printer"
INVOICE = CORPUS / "printed" / "FNFE-factur-x-examples__Facture_FR_MINIMUM.pdf"
LATE_INVOICE = CORPUS / "printed" / "FNFE-factur-x-examples__Facture_UE_MINIMUM.pdf"
SYSTEM_PYTHON = "/usr/bin/python3"


def backend_python() -> str:
    """An interpreter user lp can run: ours if every user may reach it, else the system's."""
    if unreachable_by_others(Path(sys.executable), stat.S_IXOTH) is None:
        return sys.executable
    return SYSTEM_PYTHON


def pagero_connect(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connect_core.cli", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_jobs(data_dir: Path, sha: str) -> list[tuple[str, str]]:
    """(job-name, user) of every job in the product's store whose document has SHA-256 ``sha``."""
    db = sqlite3.connect(data_dir / "connect.db")
    try:
        return db.execute("SELECT name, user_name FROM print_jobs WHERE sha256 = ?", (sha,)).fetchall()
    finally:
        db.close()


def spooled_document(data_dir: Path, sha: str) -> Path:
    """The spool file of the job whose document has SHA-256 ``sha``."""
    db = sqlite3.connect(data_dir / "connect.db")
    try:
        (document_uuid,), = db.execute("SELECT document_uuid FROM print_jobs WHERE sha256 = ?", (sha,)).fetchall()
    finally:
        db.close()
    return data_dir / "spool" / "jobs" / document_uuid / "document"


@pytest.fixture(scope="module")
def queue() -> Iterator[tuple[Cupsd, Server]]:
    """A running product, and a private CUPS with a Pagero_Printer queue made by install-cups-queue."""
    root = Path(tempfile.mkdtemp(prefix="pagero-test-", dir="/var/tmp"))
    server = Server(root / "data").start()
    try:
        with private_cupsd() as cupsd:
            result = pagero_connect(
                "install-cups-queue", "--backend-dir", str(cupsd.backend_dir), "--python", backend_python(),
                "--uri", f"pagero://127.0.0.1:{server.port}/ipp/print", env=cupsd.env)
            assert result.returncode == 0, result.stderr
            assert f"CUPS queue {QUEUE} prints to pagero://127.0.0.1:{server.port}/ipp/print" in result.stdout
            cupsd.wait_ready(QUEUE)
            yield cupsd, server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def run_backend(cupsd: Cupsd, device_uri: str, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run the installed backend the way cupsd does: argv and DEVICE_URI."""
    backend = cupsd.backend_dir / "pagero"
    return subprocess.run([str(backend), *args], input=stdin, capture_output=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "DEVICE_URI": device_uri})


# -- what install-cups-queue puts in place ------------------------------------------------


def test_the_ppd_in_the_package_is_the_one_in_packaging_and_cups_accepts_it() -> None:
    packaged = REPO / "connect_core" / "intake" / "pagero.ppd"
    assert packaged.read_bytes() == (REPO / "packaging" / "pagero.ppd").read_bytes()
    result = subprocess.run(["cupstestppd", str(packaged)], capture_output=True, text=True)
    assert result.returncode == 0 and "PASS" in result.stdout, result.stdout


def test_install_puts_a_backend_cups_runs_as_lp_and_a_pass_through_queue(queue: tuple[Cupsd, Server]) -> None:
    cupsd, server = queue
    backend = (cupsd.backend_dir / "pagero").stat()
    # World-readable and executable, so cupsd runs it as lp; owned by us (root) and not writable
    # by others, or cupsd refuses to run it.
    assert stat.S_IMODE(backend.st_mode) == 0o755 and backend.st_uid == os.geteuid()
    ppd = cupsd.ppd(QUEUE).read_text()
    assert '*ModelName: "Pagero Printer"' in ppd and "*DefaultPageSize: A4" in ppd
    printer = Client(f"ipp://127.0.0.1:{cupsd.port}/printers/{QUEUE}").printer_attributes(
        "device-uri", "printer-error-policy", "printer-info", "printer-is-shared", "printer-is-accepting-jobs")
    assert printer["device-uri"].value == f"pagero://127.0.0.1:{server.port}/ipp/print"
    assert printer["printer-error-policy"].value == "retry-job"
    assert printer["printer-info"].value == "Pagero Printer"
    assert printer["printer-is-shared"].value is False
    assert printer["printer-is-accepting-jobs"].value is True


def test_install_refuses_an_interpreter_lp_cannot_run_and_a_uri_off_this_machine(print_dir: Path) -> None:
    closed = print_dir / "closed"
    closed.mkdir(mode=0o700)
    (closed / "python3").symlink_to(sys.executable)
    result = pagero_connect("install-cups-queue", "--backend-dir", str(print_dir), "--python", str(closed / "python3"))
    assert result.returncode == 2 and "user lp" in result.stderr and str(closed) in result.stderr
    result = pagero_connect("install-cups-queue", "--backend-dir", str(print_dir), "--uri",
                            "pagero://192.0.2.10:8631/ipp/print")
    assert result.returncode == 2 and "not a loopback address" in result.stderr
    assert not (print_dir / "pagero").exists()


# -- the backend on its own, run as cupsd runs it -----------------------------------------


def test_the_backend_without_arguments_lists_the_pagero_scheme(queue: tuple[Cupsd, Server]) -> None:
    cupsd, _server = queue
    result = run_backend(cupsd, "")
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == [DISCOVERY_LINE]


def test_the_backend_streams_stdin_to_the_product_with_user_and_title(queue: tuple[Cupsd, Server]) -> None:
    cupsd, server = queue
    document = INVOICE.read_bytes() + b"\n%stdin copy\n"
    result = run_backend(cupsd, f"pagero://127.0.0.1:{server.port}/ipp/print",
                         "41", "alice", "Invoice from stdin", "1", "", stdin=document)
    assert result.returncode == 0, result.stderr
    assert b"INFO: Sent to Pagero Connect as job" in result.stderr
    assert stored_jobs(server.data_dir, hashlib.sha256(document).hexdigest()) == [("Invoice from stdin", "alice")]


def test_the_backend_tells_cups_to_cancel_what_the_product_refuses(queue: tuple[Cupsd, Server],
                                                                    print_dir: Path) -> None:
    cupsd, server = queue
    archive = print_dir / "invoices.zip"
    archive.write_bytes(b"PK\x03\x04" + bytes(200))
    result = run_backend(cupsd, f"pagero://127.0.0.1:{server.port}/ipp/print", "42", "bob", "zip", "1", "",
                         str(archive))
    assert result.returncode == 5, result.stderr  # CUPS_BACKEND_CANCEL
    assert b"ERROR: Pagero Connect refused the job: " in result.stderr and b"ZIP" in result.stderr


def test_the_backend_tells_cups_to_retry_when_the_product_is_not_running(queue: tuple[Cupsd, Server],
                                                                          print_dir: Path) -> None:
    cupsd, _server = queue
    result = run_backend(cupsd, f"pagero://127.0.0.1:{free_port()}/ipp/print", "43", "bob", "t", "1", "",
                         str(INVOICE))
    assert result.returncode == 6, result.stderr  # CUPS_BACKEND_RETRY
    assert b"STATE: +offline-report" in result.stderr and b"not running" in result.stderr


def test_the_backend_only_talks_to_this_machine(queue: tuple[Cupsd, Server]) -> None:
    cupsd, _server = queue
    # Refused before any connection or name lookup is tried.
    for uri in ("pagero://192.0.2.10:8631/ipp/print", "pagero://printer.example.com/ipp/print"):
        result = run_backend(cupsd, uri, "44", "bob", "t", "1", "", str(INVOICE))
        assert result.returncode == 4, result.stderr  # CUPS_BACKEND_STOP: the job waits for an administrator
        assert b"ERROR: " in result.stderr and b"not a loopback address" in result.stderr


# -- printing through CUPS ----------------------------------------------------------------


def test_a_pdf_and_a_text_file_printed_with_lp_arrive_unchanged(queue: tuple[Cupsd, Server],
                                                                 print_dir: Path) -> None:
    cupsd, server = queue
    text = print_dir / "remittance.txt"
    text.write_text("Invoice 2024-0042\nTotal due: 125.00 EUR\n")
    for path in (INVOICE, text):
        job = cupsd.lp(QUEUE, path)
        cupsd.wait_completed(job)
        # What arrives is what was sent (a text job may gain a converted document.pdf beside it).
        assert stored_jobs(server.data_dir, sha256(path)) == [(path.name, getpass.getuser())], cupsd.log_tail()
        assert sha256(spooled_document(server.data_dir, sha256(path))) == sha256(path)
    # cupsd ran the backend as lp, not root (its mode is 0755).
    assert "pagero backend running as lp" in cupsd.error_log.read_text(errors="replace")


def test_a_job_printed_while_the_product_is_stopped_waits_in_cups_and_arrives_once(
        queue: tuple[Cupsd, Server]) -> None:
    cupsd, server = queue
    sha = sha256(LATE_INVOICE)
    server.stop()
    job = cupsd.lp(QUEUE, LATE_INVOICE)
    time.sleep(30)
    assert job in cupsd.jobs(), cupsd.run("lpstat", "-l", "-o").stdout
    assert "could not be sent" in cupsd.error_log.read_text(errors="replace")  # the backend said: retry
    assert stored_jobs(server.data_dir, sha) == []
    server.start()
    cupsd.wait_completed(job, timeout=60)
    assert stored_jobs(server.data_dir, sha) == [(LATE_INVOICE.name, getpass.getuser())]
