"""The durable hand-off: an answered job survives any crash; an unanswered one is absent or whole."""

from __future__ import annotations

import hashlib
import http.client
import sqlite3
import tempfile
from pathlib import Path

import pytest

from connect_core.crash import POINTS
from ipp.status import StatusCode
from tests.support.harness import Server, stray_documents
from tests.support.ippclient import Client, job_id


def document(n: int) -> bytes:
    return b"%PDF-1.4\n% test document " + str(n).encode() + b"\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def stored_jobs(data_dir: Path) -> dict[int, tuple[str, str]]:
    """Committed rows: job id -> (document uuid, sha256), read straight from the database."""
    with sqlite3.connect(data_dir / "connect.db") as conn:
        return {row[0]: (row[1], row[2]) for row in conn.execute(
            "SELECT id, document_uuid, sha256 FROM print_jobs WHERE document_uuid IS NOT NULL")}


def spool_sha256(data_dir: Path, doc_uuid: str) -> str:
    return hashlib.sha256((data_dir / "spool" / "jobs" / doc_uuid / "document").read_bytes()).hexdigest()


@pytest.mark.parametrize("point", POINTS)
def test_crash_point_never_loses_an_answered_job(point: str, data_root: Path) -> None:
    data_dir = data_root / "data"
    server = Server(data_dir).start()
    client = Client(server.uri)
    answered: dict[int, str] = {}
    for n in range(3):
        response = client.print_job(document(n))
        assert response.code == StatusCode.SUCCESSFUL_OK
        answered[job_id(response)] = hashlib.sha256(document(n)).hexdigest()
    client.close()
    # Restart with the crash point armed; the next Print-Job kills the process there.
    server.stop()
    server.start(env={"PAGERO_CRASH_AT": point})
    client = Client(server.uri, timeout=30)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        client.print_job(document(99))
    assert server.wait_exit() == -9, "the crash point did not fire"

    server.start()
    try:
        client = Client(server.uri)
        listed = {int(job["job-id"]): job for job in client.get_jobs("all")}  # type: ignore[call-overload]
        rows = stored_jobs(data_dir)
        for answered_id, digest in answered.items():
            assert answered_id in listed, f"answered job {answered_id} lost after {point}"
            doc_uuid, sha = rows[answered_id]
            assert sha == digest == spool_sha256(data_dir, doc_uuid)
        unanswered = set(rows) - set(answered)
        assert len(unanswered) <= 1
        for extra in unanswered:  # committed before the crash: it must be whole
            doc_uuid, sha = rows[extra]
            assert sha == hashlib.sha256(document(99)).hexdigest() == spool_sha256(data_dir, doc_uuid)
        if point == "after_commit_before_reply":
            assert len(unanswered) == 1
        else:
            assert not unanswered
        assert not stray_documents(data_dir), "a document no job names survived in the spool"
        named = {doc_uuid for doc_uuid, _ in rows.values()}
        assert named <= {p.name for p in (data_dir / "spool" / "jobs").iterdir()}
        # A job that was never answered and never committed is kept aside, never processed.
        quarantined = list((data_dir / "spool" / "quarantine").iterdir())
        if point in ("after_spool_fsync", "before_commit"):
            assert len(quarantined) == 1
            assert (quarantined[0] / "document").read_bytes() == document(99)
        else:
            assert not quarantined
        # The printer takes new work after recovery.
        assert client.print_job(document(100)).code == StatusCode.SUCCESSFUL_OK
    finally:
        server.stop()


def test_jobs_survive_kill_9_right_after_the_answer(data_root: Path) -> None:
    data_dir = data_root / "data"
    server = Server(data_dir).start()
    client = Client(server.uri)
    ids = [job_id(client.print_job(document(n))) for n in range(5)]
    assert server.proc is not None
    killed = server.proc.pid
    server.proc.kill()
    server.wait_exit()
    server.start()
    try:
        listed = {int(job["job-id"]) for job in Client(server.uri).get_jobs("all")}  # type: ignore[call-overload]
        assert set(ids) <= listed
        # The Ghostscript the killed server kept waiting quit at end-of-file; its folder was swept.
        assert not list(Path(tempfile.gettempdir()).glob(f"pagero-gs-{killed}-*"))
    finally:
        server.stop()


def test_durability_settings_are_in_force(server: Server) -> None:
    Client(server.uri).print_job(document(1))
    with sqlite3.connect(server.data_dir / "connect.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    from connect_core.store import open_database

    db = open_database(None, server.data_dir)
    try:
        with db.writer.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        db.dispose()
