"""The hot folder: files put into a folder are imported like printed documents.

A file is picked up only once it has stopped changing (same size and modification
time for ``settle`` seconds), so a file still being copied or scanned in is left
alone.  It is removed from the folder only after its copy is durably in the spool
and its job row committed; if storing fails it stays where it is and is tried again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from connect_core.fsutil import fsync_dir
from connect_core.intake.sink import PrintIntake

log = logging.getLogger("connect_core.intake.hotfolder")

IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", "~")


@dataclass
class HotFolder:
    folder: Path
    intake: PrintIntake
    settle: float = 2.0
    poll: float = 1.0
    user: str = "hot-folder"
    _seen: dict[str, tuple[int, int, float]] = field(default_factory=dict, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hot-folder", daemon=True)
        self._thread.start()
        log.info("watching hot folder %s", self.folder)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.scan()
            except OSError as error:
                log.warning("hot folder %s: %s", self.folder, error)

    def scan(self, now: float | None = None) -> list[int]:
        """Import every settled file once; returns the new job ids."""
        now = time.monotonic() if now is None else now
        jobs: list[int] = []
        present: set[str] = set()
        for entry in os.scandir(self.folder):
            if not entry.is_file(follow_symlinks=False) or entry.name.startswith(".") or \
                    entry.name.endswith(IGNORED_SUFFIXES):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed since the folder was listed
                continue
            present.add(entry.name)
            signature = (info.st_size, info.st_mtime_ns)
            seen = self._seen.get(entry.name)
            if seen is None or seen[:2] != signature:
                self._seen[entry.name] = (*signature, now)
                continue
            if now - seen[2] < self.settle:
                continue
            path = Path(entry.path)
            try:
                job_id = self.intake.accept_file(path, door="folder", user=self.user)
            except OSError as error:
                log.warning("could not import %s (kept in the folder, will retry): %s", entry.name, error)
                continue
            path.unlink(missing_ok=True)  # someone may have removed it already: it is imported either way
            fsync_dir(self.folder)
            self._seen.pop(entry.name, None)
            log.info("imported %s from the hot folder as job %d", entry.name, job_id)
            jobs.append(job_id)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return jobs
