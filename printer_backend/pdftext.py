"""The text of a PDF's pages as printed, each glyph in its column: poppler's ``pdftotext -layout``, confined.

Reading invoices needs the page's geometry (a label over its value, right-aligned totals), and
pdftotext keeps it in fixed-width text, at about a fifth of the time pypdf's layout mode takes
(see docs/benchmarks.md).  pdftotext is a C++ parser, so it gets the walls Ghostscript gets
(:mod:`printer_backend.confine`): a fixed argv with no path in it (the PDF arrives on standard
input), a clean environment with a private empty ``TMPDIR``, rlimits, no network, ``nobody``
when we are root, and a wall-clock limit.  At most ``max_chars`` characters are kept per page
and at most ``max_pages`` pages are read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from printer_backend.confine import NOBODY, base_environment, binary, confinement, limits_argv
from printer_backend.errors import BackendError
from printer_backend.limits import Limits

MAX_PAGE_CHARS = 60_000


class PdfTextUnavailable(BackendError):
    """pdftotext (poppler-utils) or prlimit is not installed."""


def check_pdftotext() -> str:
    """The pdftotext in use; :class:`PdfTextUnavailable` with a message for the administrator if there is none."""
    return _tools()[0]


def _tools() -> tuple[str, str]:
    pdftotext, prlimit = binary("pdftotext"), binary("prlimit")
    if pdftotext is None:
        raise PdfTextUnavailable("pdftotext (poppler-utils) is not installed; printed invoices cannot be read")
    if prlimit is None:
        raise PdfTextUnavailable("prlimit (util-linux) is missing; pdftotext cannot be confined")
    return pdftotext, prlimit


def page_texts(source: Path, pages: int, *, limits: Limits, max_chars: int = MAX_PAGE_CHARS) -> list[str]:
    """The layout text of each of the first ``pages`` pages of ``source`` (one string per page).

    A page pdftotext cannot read, or every page when it fails or is stopped by a limit, is the
    empty string: such a page simply has no text, and a person reads it.  Raises
    :class:`PdfTextUnavailable` if pdftotext is not installed, and OSError if ``source`` cannot
    be opened.
    """
    pages = min(pages, limits.max_pages)
    if pages <= 0:
        return []
    pdftotext, prlimit = _tools()
    with open(source, "rb") as document, tempfile.TemporaryDirectory(prefix="pagero-text-") as scratch:
        walls = confinement()
        drop = walls.can_drop_in(Path(scratch).parent)
        if drop:
            os.chown(scratch, NOBODY, NOBODY)
        argv = [*walls.prefix(drop, writable=Path(scratch)), *limits_argv(prlimit, limits),
                pdftotext, "-layout", "-enc", "UTF-8", "-eol", "unix", "-q", "-l", str(pages), "-", "-"]
        env = {**base_environment(), "TMPDIR": scratch, "TMP": scratch, "TEMP": scratch}
        process = subprocess.Popen(argv, env=env, cwd=scratch, stdin=document, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        output = read_output(process, limit=4 * max_chars * pages + 4096, wall_seconds=limits.wall_seconds)
    if output is None:
        return [""] * pages
    texts = output.decode("utf-8", "replace").split("\f")[:pages]
    texts += [""] * (pages - len(texts))
    return [text[:max_chars] for text in texts]


def read_output(process: subprocess.Popen[bytes], *, limit: int, wall_seconds: float) -> bytes | None:
    """All of the process's standard output, or None if it failed, wrote more than ``limit`` or ran too long."""
    kept = bytearray()
    overflow = threading.Event()

    def drain() -> None:
        read = process.stdout.read1  # type: ignore[union-attr]  # a BufferedReader: Popen's default buffering
        while chunk := read(65536):
            kept.extend(chunk)
            if len(kept) > limit:
                overflow.set()
                break

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    reader.join(wall_seconds)
    failed = reader.is_alive() or overflow.is_set()
    if failed:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        reader.join(5)
    assert process.stdout is not None
    process.stdout.close()
    returncode = process.wait()
    if failed or returncode != 0:
        return None
    return bytes(kept)
