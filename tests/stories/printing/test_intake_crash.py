"""Crashes anywhere in intake: every acknowledged job ends as exactly one stored document."""

from __future__ import annotations

import hashlib
import http.client
import sqlite3
from pathlib import Path

import pytest

from connect_core.crash import INTAKE_POINTS
from ipp.status import StatusCode
from tests.support.cli import INVOICE, OTHER_INVOICE, wait_for_invoices
from tests.support.harness import Server
from tests.support.ippclient import Client


@pytest.mark.parametrize("point", INTAKE_POINTS)
def test_every_acknowledged_job_becomes_exactly_one_invoice(point: str, data_root: Path) -> None:
    server = Server(data_root / "data").start(env={"PAGERO_CRASH_AT": point})
    client = Client(server.uri, timeout=30)
    try:
        response = client.print_file(INVOICE)
        answered = response.code == StatusCode.SUCCESSFUL_OK
    except (ConnectionError, http.client.HTTPException, OSError):
        answered = False
    assert server.wait_exit(60) == -9, "the crash point did not fire"
    if point == "after_commit_before_reply":
        assert not answered
    # For the later points the worker may die before or after the answer goes out: either way the
    # job was committed first, and it must end as exactly one invoice.

    server.start()
    try:
        assert Client(server.uri).print_file(OTHER_INVOICE).code == StatusCode.SUCCESSFUL_OK
        rows = wait_for_invoices(server.data_dir, 2)
        with sqlite3.connect(server.data_dir / "connect.db") as conn:
            jobs = conn.execute("SELECT id, sha256 FROM print_jobs WHERE document_uuid IS NOT NULL").fetchall()
            per_job = dict(conn.execute("SELECT job_id, count(*) FROM invoices GROUP BY job_id").fetchall())
        digests = {hashlib.sha256(path.read_bytes()).hexdigest() for path in (INVOICE, OTHER_INVOICE)}
        assert {sha for _, sha in jobs} == digests, "the committed job was lost or doubled"
        assert len(jobs) == 2
        assert all(per_job.get(job_id) == 1 for job_id, _ in jobs), per_job
        assert len(rows) == 2
        assert {row["state"] for row in rows} == {"ready"}
    finally:
        server.stop()
