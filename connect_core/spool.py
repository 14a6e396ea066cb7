"""The spool: documents on disk, written so that a crash never leaves one half-visible.

A document is received into ``incoming/<uuid>.part`` (created exclusively, mode 0600),
then fsynced, renamed to ``jobs/<uuid>/document`` and both folders fsynced.  Only a
document that went through all of that can be named by a committed job row.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from connect_core.crash import crash_point

DOCUMENT = "document"
PDF = "document.pdf"
HEAD_BYTES = 4096


def fsync_dir(path: Path) -> None:
    """Make a rename or create inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class StoredDocument:
    """A document that is durably in the spool."""

    uuid: str
    path: Path
    size: int
    sha256: str


class PartialDocument:
    """A document being received; invisible to everyone until :meth:`Spool.keep`."""

    def __init__(self, path: Path, doc_uuid: str) -> None:
        self.path = path
        self.uuid = doc_uuid
        self.size = 0
        self.head = b""
        """The first bytes of the document, enough to tell its format."""
        self._hash = hashlib.sha256()
        self._fd: int | None = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)

    def write(self, data: bytes) -> None:
        assert self._fd is not None, "document already closed"
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        self.size += len(data)
        self._hash.update(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def sync_and_close(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None

    def abort(self) -> None:
        """Close and remove the partial file; safe to call twice."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class Spool:
    """The spool folder of one data dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"
        self.jobs = root / "jobs"
        self.quarantine = root / "quarantine"
        for folder in (root, self.incoming, self.jobs, self.quarantine):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def open(self) -> PartialDocument:
        """Start a new document in ``incoming/``."""
        doc_uuid = str(uuid.uuid4())
        return PartialDocument(self.incoming / f"{doc_uuid}.part", doc_uuid)

    def keep(self, partial: PartialDocument) -> StoredDocument:
        """fsync the document, move it to its job folder, fsync both folders."""
        partial.sync_and_close()
        crash_point("after_spool_fsync")
        job_dir = self.jobs / partial.uuid
        job_dir.mkdir(mode=0o700)
        target = job_dir / DOCUMENT
        os.rename(partial.path, target)
        fsync_dir(job_dir)
        fsync_dir(self.jobs)
        # incoming/ is not fsynced: if its old entry survives a crash, recover() removes that name
        # and the document stays in jobs/ (both names are the same file).
        return StoredDocument(partial.uuid, target, partial.size, partial.sha256)

    def job_dir(self, doc_uuid: str) -> Path:
        return self.jobs / doc_uuid

    def document_path(self, doc_uuid: str) -> Path:
        return self.jobs / doc_uuid / DOCUMENT

    def pdf_path(self, doc_uuid: str) -> Path:
        """Where the document's PDF lives once converted."""
        return self.jobs / doc_uuid / PDF

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def recover(self, known: set[str]) -> tuple[int, list[str]]:
        """After a crash: drop partial files and quarantine job folders no row names.

        Returns how many partial files were removed and which folders were quarantined.
        A folder without a row belongs to a client that was never answered, so it is
        kept for an admin to look at but never processed.
        """
        removed = 0
        for part in self.incoming.glob("*.part"):
            part.unlink()
            removed += 1
        quarantined: list[str] = []
        for job_dir in self.jobs.iterdir():
            if job_dir.name not in known:
                os.rename(job_dir, self.quarantine / job_dir.name)
                quarantined.append(job_dir.name)
        if removed or quarantined:
            fsync_dir(self.jobs)
            fsync_dir(self.quarantine)
        return removed, quarantined
