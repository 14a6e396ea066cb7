"""Durable files: written whole or not at all, and still there after a power cut.

Every file the product writes outside the spool's streaming path (settings, tokens,
the printer's identity, received invoices, split PDFs, the service unit) goes through
:func:`durable_file`: a hidden temporary file beside the target, fsync, rename over the
target, then an fsync of the folder so the rename itself survives.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def fsync_dir(path: Path) -> None:
    """Make a rename or create inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def durable_file(path: Path, mode: int = 0o600, *, sync_folder: bool = True) -> Iterator[BinaryIO]:
    """A file to write that appears at ``path`` complete, with ``mode``, once the block ends without error.

    On an error nothing is left behind and an existing file at ``path`` is untouched.  With
    ``sync_folder=False`` the caller fsyncs the folder itself (once, after several files).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        os.fchmod(fd, mode)  # an older leftover may have had other permissions
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        partial.unlink(missing_ok=True)
        raise
    if sync_folder:
        fsync_dir(path.parent)


def write_durably(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Put ``data`` at ``path`` whole or not at all (see :func:`durable_file`)."""
    with durable_file(path, mode) as handle:
        handle.write(data)
