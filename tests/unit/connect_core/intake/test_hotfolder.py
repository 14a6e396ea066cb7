"""``connect_core/intake/hotfolder.py``: files put into a folder are imported like printed documents.

What ``HotFolder.scan(now)`` promises: a file is imported (through a real ``PrintIntake``, door
``folder``) only once its size and modification time stayed the same for ``settle`` seconds of
``now``; it is removed from the folder only after its job is committed; hidden and temporary
names (dot files, ``.part``, ``.tmp``, ``.crdownload``, ``~``), folders and symlinks are left
alone; and a file that cannot be imported (unreadable, or gone) neither stops the scan nor is lost:
it stays to be tried again.  ``start()``/``stop()`` run the same scan on a thread.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from connect_core.intake.hotfolder import HotFolder
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.store import Database, open_database
from tests.support.documents import invoice_pdf

SETTLE = 2.0
LIVENESS = 10.0


@dataclass
class Setup:
    folder: Path
    data_dir: Path
    db: Database
    spool: Spool
    intake: PrintIntake
    hot: HotFolder

    def rows(self) -> list[dict[str, object]]:
        """The job rows as another connection sees them, oldest first."""
        with sqlite3.connect(self.data_dir / "connect.db") as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute("SELECT * FROM print_jobs ORDER BY id")]

    def document(self, row: dict[str, object]) -> bytes:
        return self.spool.document_path(str(row["document_uuid"])).read_bytes()


class FailingIntake(PrintIntake):
    """The real intake, with a failure injected at the hot folder's one seam (its ``intake``) for some files.

    ``before[name]`` runs just before the file is imported (e.g. the file vanishes, or reading it
    fails); ``after[name]`` just after its job was committed.
    """

    def __init__(self, db: Database, spool: Spool) -> None:
        super().__init__(db, spool, min_free_bytes=0)
        self.before: dict[str, Callable[[Path], None]] = {}
        self.after: dict[str, Callable[[Path], None]] = {}

    def accept_file(self, path: Path, *, door: str, user: str, name: str | None = None) -> int:
        if path.name in self.before:
            self.before[path.name](path)
        job_id = super().accept_file(path, door=door, user=user, name=name)
        if path.name in self.after:
            self.after[path.name](path)
        return job_id


@pytest.fixture
def setup(data_root: Path) -> Iterator[Setup]:
    folder = data_root / "hot"
    folder.mkdir()
    data_dir = data_root / "data"
    data_dir.mkdir()
    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    intake = FailingIntake(db, spool)
    yield Setup(folder, data_dir, db, spool, intake, HotFolder(folder, intake, settle=SETTLE, poll=0.05))
    db.dispose()


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return invoice_pdf(tmp_path_factory.mktemp("pdf") / "invoice.pdf", "RE-2026-0099").read_bytes()


def test_a_file_is_imported_only_after_it_stayed_unchanged_for_settle_seconds(setup: Setup, pdf: bytes) -> None:
    (setup.folder / "invoice.pdf").write_bytes(pdf)
    assert setup.hot.scan(100.0) == []            # first seen
    assert setup.hot.scan(100.0 + SETTLE - 0.01) == []
    assert setup.rows() == []
    assert (setup.folder / "invoice.pdf").exists()
    jobs = setup.hot.scan(100.0 + SETTLE)
    assert len(jobs) == 1
    (row,) = setup.rows()
    assert row["id"] == jobs[0]
    assert row["door"] == "folder" and row["user_name"] == "hot-folder"
    assert row["name"] == "invoice.pdf" and row["source_name"] == "invoice.pdf"
    assert setup.document(row) == pdf
    assert row["sha256"] == hashlib.sha256(pdf).hexdigest()


def test_an_imported_file_is_removed_from_the_folder_and_not_imported_again(setup: Setup, pdf: bytes) -> None:
    (setup.folder / "invoice.pdf").write_bytes(pdf)
    setup.hot.scan(0.0)
    assert len(setup.hot.scan(SETTLE)) == 1
    assert list(setup.folder.iterdir()) == []
    assert setup.hot.scan(2 * SETTLE) == []
    assert setup.hot.scan(10 * SETTLE) == []
    assert len(setup.rows()) == 1


def test_a_file_that_changes_waits_for_settle_seconds_after_its_last_change(setup: Setup, pdf: bytes) -> None:
    target = setup.folder / "scan.pdf"
    third = len(pdf) // 3
    target.write_bytes(pdf[:third])
    setup.hot.scan(0.0)
    with open(target, "ab") as handle:   # still being copied
        handle.write(pdf[third : 2 * third])
    assert setup.hot.scan(SETTLE) == []
    with open(target, "ab") as handle:
        handle.write(pdf[2 * third :])
    assert setup.hot.scan(SETTLE + 1.5) == []
    assert setup.hot.scan(2 * SETTLE + 1.4) == []  # only 1.9 s since the last change was seen
    assert setup.rows() == []
    assert len(setup.hot.scan(2 * SETTLE + 1.5)) == 1
    (row,) = setup.rows()
    assert setup.document(row) == pdf


def test_a_file_with_a_new_modification_time_but_the_same_size_starts_settling_again(
        setup: Setup, pdf: bytes) -> None:
    target = setup.folder / "same-size.pdf"
    target.write_bytes(pdf)
    setup.hot.scan(0.0)
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert setup.hot.scan(SETTLE) == []
    assert len(setup.hot.scan(2 * SETTLE)) == 1


def test_a_file_that_left_before_settling_is_forgotten(setup: Setup, pdf: bytes) -> None:
    """A file taken away and put back (same size and time) must settle again, not count its first visit."""
    target = setup.folder / "back.pdf"
    target.write_bytes(pdf)
    stat = target.stat()
    setup.hot.scan(0.0)
    target.rename(setup.data_dir / "away.pdf")
    assert setup.hot.scan(1.0) == []
    (setup.data_dir / "away.pdf").rename(target)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert setup.hot.scan(10.0) == []
    assert setup.rows() == []
    assert len(setup.hot.scan(10.0 + SETTLE)) == 1


@pytest.mark.parametrize("name", [".hidden.pdf", ".~lock.invoice.pdf#", "invoice.pdf.part", "invoice.tmp",
                                  "invoice.pdf.crdownload", "invoice.pdf~"])
def test_hidden_and_temporary_files_are_left_alone(setup: Setup, pdf: bytes, name: str) -> None:
    (setup.folder / name).write_bytes(pdf)
    (setup.folder / "real.pdf").write_bytes(pdf)
    setup.hot.scan(0.0)
    jobs = setup.hot.scan(100.0)
    assert len(jobs) == 1
    (row,) = setup.rows()
    assert row["source_name"] == "real.pdf"
    assert (setup.folder / name).read_bytes() == pdf
    assert sorted(p.name for p in setup.folder.iterdir()) == [name]


def test_folders_and_symlinks_are_left_alone(setup: Setup, pdf: bytes, data_root: Path) -> None:
    elsewhere = data_root / "elsewhere.pdf"
    elsewhere.write_bytes(pdf)
    (setup.folder / "link.pdf").symlink_to(elsewhere)
    (setup.folder / "sub.pdf").mkdir()
    (setup.folder / "sub.pdf" / "inner.pdf").write_bytes(pdf)
    setup.hot.scan(0.0)
    assert setup.hot.scan(100.0) == []
    assert setup.rows() == []
    assert (setup.folder / "link.pdf").is_symlink() and elsewhere.exists()
    assert (setup.folder / "sub.pdf" / "inner.pdf").exists()


def test_a_file_that_cannot_be_read_stays_and_the_others_are_imported(setup: Setup, pdf: bytes) -> None:
    """Running as root, no file mode makes a file unreadable: the read error is injected at the intake."""
    def unreadable(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    setup.intake.before["a-locked.pdf"] = unreadable
    for name in ("a-locked.pdf", "b.pdf", "c.pdf"):
        (setup.folder / name).write_bytes(pdf + name.encode())
    setup.hot.scan(0.0)
    jobs = setup.hot.scan(SETTLE)
    assert len(jobs) == 2
    assert sorted(str(row["source_name"]) for row in setup.rows()) == ["b.pdf", "c.pdf"]
    assert [p.name for p in setup.folder.iterdir()] == ["a-locked.pdf"]
    # Once it can be read, the next scan imports it (it has long settled).
    del setup.intake.before["a-locked.pdf"]
    assert len(setup.hot.scan(SETTLE + 1.0)) == 1
    assert list(setup.folder.iterdir()) == []
    assert setup.document(setup.rows()[-1]) == pdf + b"a-locked.pdf"


def test_a_file_that_vanishes_as_it_is_imported_does_not_stop_the_scan(setup: Setup, pdf: bytes) -> None:
    setup.intake.before["a-gone.pdf"] = Path.unlink  # someone takes it away just as it is opened
    for name in ("a-gone.pdf", "b.pdf"):
        (setup.folder / name).write_bytes(pdf)
    setup.hot.scan(0.0)
    jobs = setup.hot.scan(SETTLE)
    assert len(jobs) == 1
    assert [row["source_name"] for row in setup.rows()] == ["b.pdf"]
    assert list(setup.folder.iterdir()) == []
    assert list(setup.spool.jobs.iterdir()) == [setup.spool.jobs / str(setup.rows()[0]["document_uuid"])]


def test_a_file_removed_by_someone_else_right_after_its_import_does_not_stop_the_scan(
        setup: Setup, pdf: bytes) -> None:
    """The job is committed, then the file is gone before the hot folder removes it: the scan goes on."""
    setup.intake.after["a-taken.pdf"] = Path.unlink
    for name in ("a-taken.pdf", "b.pdf"):
        (setup.folder / name).write_bytes(pdf)
    setup.hot.scan(0.0)
    jobs = setup.hot.scan(SETTLE)
    assert sorted(str(row["source_name"]) for row in setup.rows()) == ["a-taken.pdf", "b.pdf"]
    assert len(jobs) == 2
    assert list(setup.folder.iterdir()) == []


def test_the_watcher_thread_imports_settled_files_until_stopped(setup: Setup, pdf: bytes) -> None:
    hot = HotFolder(setup.folder, setup.intake, settle=0.2, poll=0.05)
    hot.start()
    try:
        (setup.folder / "invoice.pdf").write_bytes(pdf)
        deadline = time.monotonic() + LIVENESS
        while (setup.folder / "invoice.pdf").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (setup.folder / "invoice.pdf").exists(), f"not imported within {LIVENESS:g} s"
        (row,) = setup.rows()
        assert setup.document(row) == pdf
    finally:
        hot.stop()
    # Stopped: a settled file is no longer picked up (several poll and settle periods later).
    (setup.folder / "after-stop.pdf").write_bytes(pdf)
    time.sleep(0.5)
    assert (setup.folder / "after-stop.pdf").exists()
    assert len(setup.rows()) == 1
