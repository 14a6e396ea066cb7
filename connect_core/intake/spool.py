"""The spool: documents on disk, written so that a crash never loses an answered one.

A document is received straight into ``jobs/<uuid>/document`` (mode 0600) and fsynced
before its job row is committed; the committed row is what makes it a job.  Only a
document whose data and name are both durable can be named by a committed row.

The name is made durable ahead of time: a background thread keeps a few *ready slots*,
empty ``jobs/<uuid>/document`` files whose folder entries are already fsynced, so taking a
document in costs one fsync (its data) instead of three.  When no slot is ready (a burst,
or a process that never started the thread) the folder is made on the spot and fsynced
with the document.  After a crash, :meth:`Spool.recover` removes unused slots and sets
aside (quarantines) any other folder that no row names: its client was never answered.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from connect_core.crash import crash_point
from connect_core.fsutil import fsync_dir

DOCUMENT = "document"
PDF = "document.pdf"
HEAD_BYTES = 4096
READY_SLOTS = 16
"""How many empty, durable document slots the background thread keeps ready."""

log = logging.getLogger("connect_core.intake.spool")


@dataclass(frozen=True)
class StoredDocument:
    """A document that is durably in the spool."""

    uuid: str
    path: Path
    size: int
    sha256: str


class PartialDocument:
    """A document being received; no job names it until its row is committed."""

    def __init__(self, path: Path, doc_uuid: str, *, durable_name: bool) -> None:
        self.path = path
        self.uuid = doc_uuid
        self.size = 0
        self.head = b""
        """The first bytes of the document, enough to tell its format."""
        self.durable_name = durable_name
        """True when the file's folder entries were fsynced before it was opened (a ready slot)."""
        self._hash = hashlib.sha256()
        flags = os.O_WRONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        if not durable_name:
            flags |= os.O_CREAT | os.O_EXCL
        self._fd: int | None = os.open(path, flags, 0o600)

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
        # A server starting up removes or quarantines folders no row names: a document another
        # process (the CLI's import) was still writing would no longer be where its row will say.
        written = os.fstat(self._fd)
        try:
            named = os.stat(self.path)
            removed = (named.st_dev, named.st_ino) != (written.st_dev, written.st_ino)
        except FileNotFoundError:
            removed = True
        os.close(self._fd)
        self._fd = None
        if removed:
            raise FileNotFoundError(f"the document {self.uuid} was removed from the spool while it was written")

    def abort(self) -> None:
        """Close and remove the document and its folder; safe to call twice."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        try:
            self.path.parent.rmdir()
        except OSError:  # already gone, or (never here) not empty
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
        self._ready: list[str] = []
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._filler: threading.Thread | None = None
        self._low = 0

    # -- ready slots --------------------------------------------------------------------

    def keep_slots_ready(self, count: int = READY_SLOTS) -> None:
        """Start the thread that keeps ``count`` durable empty slots ready (call after :meth:`recover`)."""
        if self._filler is not None:
            return
        self._stopping.clear()
        self._low = count // 2
        self._filler = threading.Thread(target=self._fill_slots, args=(count,), name="spool-slots", daemon=True)
        self._filler.start()

    def stop_slots(self) -> None:
        """Stop the slot thread; the slots it made stay on disk until the next :meth:`recover`."""
        if self._filler is None:
            return
        self._stopping.set()
        self._wanted.set()
        self._filler.join(30)
        self._filler = None

    def ready_slots(self) -> int:
        with self._lock:
            return len(self._ready)

    def _fill_slots(self, count: int) -> None:
        self._wanted.set()
        failing = False
        while not self._stopping.is_set():
            self._wanted.wait()
            self._wanted.clear()
            try:
                self._make_slots(count)
                failing = False
            except OSError as error:  # e.g. the disk is full: documents then make their own folders
                if not failing:
                    log.warning("could not prepare spool slots: %s", error)
                failing = True
                self._stopping.wait(5)

    def _make_slots(self, count: int) -> None:
        while not self._stopping.is_set():
            with self._lock:
                missing = count - len(self._ready)
            if missing <= 0:
                return
            made = [self._new_folder() for _ in range(missing)]
            for doc_uuid in made:
                os.close(os.open(self.jobs / doc_uuid / DOCUMENT, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            # Every entry is made before any is fsynced: on a journalling file system the first
            # fsync commits them all, and the others find nothing left to write.
            for doc_uuid in made:
                fsync_dir(self.jobs / doc_uuid)
            fsync_dir(self.jobs)
            with self._lock:
                self._ready.extend(made)

    def _new_folder(self) -> str:
        doc_uuid = str(uuid.uuid4())
        (self.jobs / doc_uuid).mkdir(mode=0o700)
        return doc_uuid

    # -- documents ----------------------------------------------------------------------

    def open(self) -> PartialDocument:
        """Start a new document: in a ready slot when there is one, else in a new job folder."""
        with self._lock:
            doc_uuid = self._ready.pop() if self._ready else None
            low = len(self._ready) <= self._low
        if low and self._filler is not None:
            self._wanted.set()  # top up in one batch: one fsync of jobs/ for many slots
        if doc_uuid is not None:
            return PartialDocument(self.jobs / doc_uuid / DOCUMENT, doc_uuid, durable_name=True)
        doc_uuid = self._new_folder()
        try:
            return PartialDocument(self.jobs / doc_uuid / DOCUMENT, doc_uuid, durable_name=False)
        except BaseException:
            (self.jobs / doc_uuid).rmdir()
            raise

    def keep(self, partial: PartialDocument) -> StoredDocument:
        """Make the document durable: fsync its data, and its folder entries unless a slot made them so."""
        partial.sync_and_close()
        if not partial.durable_name:
            fsync_dir(partial.path.parent)
            fsync_dir(self.jobs)
        crash_point("after_spool_fsync")
        return StoredDocument(partial.uuid, partial.path, partial.size, partial.sha256)

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
        """At start-up: remove unused slots, quarantine job folders no row names.

        Returns how many partial files (``incoming/*.part``, left by versions before slots)
        were removed and which folders were quarantined.  A folder with data
        but without a row belongs to a client that was never answered (the crash came while
        its document arrived or before its row was committed), so it is kept for an admin to
        look at but never processed.  Call it before :meth:`keep_slots_ready`.
        """
        removed = 0
        for part in self.incoming.glob("*.part"):
            part.unlink()
            removed += 1
        quarantined: list[str] = []
        for job_dir in self.jobs.iterdir():
            if job_dir.name in known:
                continue
            if _unused_slot(job_dir):
                shutil.rmtree(job_dir, ignore_errors=True)
                continue
            os.rename(job_dir, self.quarantine / job_dir.name)
            quarantined.append(job_dir.name)
        if quarantined:
            fsync_dir(self.jobs)
            fsync_dir(self.quarantine)
        return removed, quarantined


def _unused_slot(job_dir: Path) -> bool:
    """An empty folder, or one holding nothing but an empty ``document``."""
    entries = list(job_dir.iterdir()) if job_dir.is_dir() else [job_dir]
    return all(entry.name == DOCUMENT and entry.is_file() and entry.stat().st_size == 0 for entry in entries)
