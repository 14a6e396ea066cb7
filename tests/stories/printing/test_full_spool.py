"""A full disk: the printer stops accepting jobs with a reason clients show, and resumes by itself.

Each story runs a real ``pagero-connect serve`` whose spool lives on a small loopback file system.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipp.codec import Attribute, Tag, encode
from ipp.status import Operation, StatusCode
from tests.support.cli import cli, write_config
from tests.support.harness import Server, stray_documents
from tests.support.ippclient import Client, request
from tests.support.privilege import as_root
from tests.support.rawhttp import LIVENESS, converse, document, http_head, ipp_status, job_ids

# -- a full spool ------------------------------------------------------------------------------------

FLOOR = 16 * 2**20
"""``limits.min_free_bytes`` on the 64 MiB spool filesystem."""


@pytest.fixture
def small_disk(data_root: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs (mounted by this test, as root) to hold a data dir and a filler file."""
    mount = data_root / "disk"
    mount.mkdir()
    options = f"size=64m,mode=0700,uid={os.getuid()},gid={os.getgid()}"
    subprocess.run(as_root(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)]), check=True)
    try:
        yield mount
    finally:
        subprocess.run(as_root(["umount", "-l", str(mount)]), check=True)


def _fill(path: Path, leave_free: int) -> None:
    """Write a filler file until the filesystem holding ``path`` has about ``leave_free`` bytes free."""
    free = shutil.disk_usage(path.parent).free
    with open(path, "ab") as handle:
        handle.write(bytes(max(0, free - leave_free)))


def _printer_state(server: Server) -> tuple[bool, set[str]]:
    client = Client(server.uri, timeout=LIVENESS)
    try:
        attributes = client.printer_attributes("printer-is-accepting-jobs", "printer-state-reasons")
    finally:
        client.close()
    accepting = attributes["printer-is-accepting-jobs"].value
    assert isinstance(accepting, bool)
    return accepting, {str(v) for v in attributes["printer-state-reasons"].plain()}


def _wait_state(server: Server, accepting: bool) -> set[str]:
    deadline = time.monotonic() + LIVENESS
    while True:
        now_accepting, reasons = _printer_state(server)
        if now_accepting == accepting or time.monotonic() > deadline:
            assert now_accepting == accepting, reasons
            return reasons
        time.sleep(0.2)


def _pdf(name: str) -> bytes:
    return b"%PDF-1.4\n% " + name.encode() + b"\n%%EOF\n"


def test_a_full_spool_refuses_new_jobs_and_resumes_when_space_returns(small_disk: Path) -> None:
    config = small_disk.parent / "pagero.yaml"
    config.write_text(f"limits:\n  min_free_bytes: {FLOOR}\n")
    server = Server(small_disk / "data", config).start()
    filler = small_disk / "filler"
    client = Client(server.uri, timeout=LIVENESS)
    try:
        assert client.print_job(_pdf("before")).code == StatusCode.SUCCESSFUL_OK
        before = job_ids(server)
        _fill(filler, leave_free=FLOOR // 2)
        reasons = _wait_state(server, accepting=False)
        assert "spool-area-full" in reasons
        assert client.print_job(_pdf("while full")).code == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
        create = client.send(request(Operation.CREATE_JOB, server.uri))
        assert create.code == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
        assert job_ids(server) == before
        filler.unlink()
        reasons = _wait_state(server, accepting=True)
        assert "spool-area-full" not in reasons
        assert client.print_job(_pdf("after")).code == StatusCode.SUCCESSFUL_OK
    finally:
        client.close()
        server.stop()
    assert not stray_documents(small_disk / "data")
    assert "Traceback" not in server.log_text()


def test_a_job_that_fills_the_disk_is_refused_cleanly(small_disk: Path) -> None:
    """Free space above the floor when the job starts, gone before it ends (ENOSPC while writing)."""
    config = small_disk.parent / "pagero.yaml"
    config.write_text(f"limits:\n  min_free_bytes: {FLOOR}\n")
    server = Server(small_disk / "data", config).start()
    filler = small_disk / "filler"
    client = Client(server.uri, timeout=LIVENESS)
    try:
        _fill(filler, leave_free=FLOOR + 8 * 2**20)
        assert _printer_state(server)[0] is True
        before = job_ids(server)
        ipp = encode(request(Operation.PRINT_JOB, server.uri,
                             Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf")))
        size = 48 * 2**20
        exchange = converse(server.port, http_head(server.port, f"Content-Length: {len(ipp) + size}") + ipp,
                            document(size))
        answers = exchange.answers()
        assert len(answers) == 1
        status, _ = ipp_status(answers[0])
        assert status == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
        assert not stray_documents(small_disk / "data")
        assert job_ids(server) == before
        # The partial document is gone, so the space is back and so is the printer.
        _wait_state(server, accepting=True)
        assert client.print_job(_pdf("small")).code == StatusCode.SUCCESSFUL_OK
    finally:
        client.close()
        server.stop()
    assert "Traceback" not in server.log_text()



def test_an_import_that_fills_the_disk_is_a_clear_error(small_disk: Path, data_root: Path) -> None:
    big = data_root / "big.pdf"
    with open(big, "wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(80 * 2**20)  # more than the 64 MiB disk holds
    # Refused before a byte is copied: the copy would not leave limits.min_free_bytes (64 MiB by default) free,
    # and with no floor at all it does not fit the disk.
    for floor, config in ((64 * 2**20, None), (0, write_config(data_root / "no-floor.yaml",
                                                               "limits:\n  min_free_bytes: 0\n"))):
        result = cli(small_disk / "data", "import", str(big), config=config, check=False)
        assert result.returncode == 2
        assert result.stderr.splitlines()[-1] == (
            f"pagero-connect: could not import {big}: the spool's disk is full: big.pdf ({80 * 2**20} bytes) does "
            f"not fit with limits.min_free_bytes ({floor} bytes) kept free; nothing was imported"), result.stderr
        assert "Traceback" not in result.stderr
        assert not stray_documents(small_disk / "data")

