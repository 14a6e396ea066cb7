"""New job rows that arrive together are committed together, and only reported once committed."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from connect_core.intake.group_commit import GroupCommit
from connect_core.intake.sink import PrintIntake
from connect_core.store import Database, open_database
from ipp.sink import JobTicket
from ipp.status import JobState


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(None, tmp_path)
    yield database
    database.dispose()


def _row(document_uuid: str | None = None) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    return {**PrintIntake._new_row(JobTicket("job", "anna", "application/pdf"), now),
            "document_uuid": document_uuid or str(uuid.uuid4()), "sha256": "0" * 64, "size_bytes": 1,
            "documents": 1, "state": int(JobState.PROCESSING), "state_reasons": "job-transforming",
            "processing_at": now, "door": "ipp", "source_name": "a.pdf"}


def _commits(db: Database) -> list[int]:
    counted = [0]

    @event.listens_for(db.writer, "commit")
    def _count(_conn: object) -> None:
        counted[0] += 1

    return counted


def _in_store(tmp_path: Path) -> set[int]:
    with sqlite3.connect(tmp_path / "connect.db") as conn:
        return {job_id for (job_id,) in conn.execute("SELECT id FROM print_jobs")}


def _run_while_held(group: GroupCommit, rows: list[dict[str, object]]) -> list[int | BaseException]:
    """Queue every row while the commit lock is held, then let them go: they must share one commit."""
    results: list[int | BaseException] = [0] * len(rows)

    def insert(index: int) -> None:
        try:
            results[index] = group.insert(rows[index])
        except BaseException as error:  # noqa: B036 - reported to the test
            results[index] = error

    with group._commit_lock:
        threads = [threading.Thread(target=insert, args=(n,)) for n in range(len(rows))]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(group._queue) < len(rows) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(group._queue) == len(rows), "the rows never queued"
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "an insert hangs"
    return results


def test_rows_that_arrive_together_share_one_commit_and_each_gets_its_own_id(db: Database, tmp_path: Path) -> None:
    group = GroupCommit(db)
    commits = _commits(db)
    ids = _run_while_held(group, [_row() for _ in range(5)])
    assert all(isinstance(job_id, int) for job_id in ids), ids
    assert len(set(ids)) == 5
    assert commits[0] == 1
    assert set(ids) <= _in_store(tmp_path)  # on disk when insert returned
    # A row alone is committed on its own, at once.
    alone = group.insert(_row())
    assert commits[0] == 2 and alone in _in_store(tmp_path)


def test_a_failed_commit_fails_every_row_in_it_and_commits_none(db: Database, tmp_path: Path) -> None:
    group = GroupCommit(db)
    taken = str(uuid.uuid4())
    first = group.insert(_row(taken))
    # The third row repeats a document_uuid (unique): the transaction holding all three rolls back.
    results = _run_while_held(group, [_row(), _row(), _row(taken)])
    assert all(isinstance(result, BaseException) for result in results), results
    assert _in_store(tmp_path) == {first}
    # The next rows are not affected.
    assert group.insert(_row()) in _in_store(tmp_path)


def test_many_threads_each_get_a_committed_distinct_id(db: Database, tmp_path: Path) -> None:
    group = GroupCommit(db)
    found: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            job_id = group.insert(_row())
            with lock:
                found.append(job_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive()
    assert len(found) == len(set(found)) == 200
    assert set(found) == _in_store(tmp_path)
