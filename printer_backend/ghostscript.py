"""PostScript to PDF with a confined Ghostscript.

Ghostscript's ``-dSAFER`` sandbox has been escaped many times (see reliability.md §1.3), so it
is only the first of several walls:

* a fixed argv with no user-derived string: ``gs -dSAFER -dBATCH -dNOPAUSE -dNOPROMPT -dQUIET
  -sDEVICE=pdfwrite -sPAPERSIZE=a4 -sOutputFile=<job>/out.pdf -_``; the PostScript arrives on
  standard input, so Ghostscript is given no path to it at all;
* a clean environment whose ``TMPDIR``/``TMP``/``TEMP`` is an empty private directory (before
  10.07.1 SAFER lets PostScript read and write the temp directory);
* rlimits on CPU seconds, address space, file size, core dumps and process count, applied by
  util-linux ``prlimit`` right before ``gs`` starts (no ``preexec_fn``, which is unsafe in a
  threaded server), and a wall-clock timeout that kills the whole process group;
* where the platform allows, bubblewrap's namespaces (no network, its own processes, a read-only
  system with only the job directory writable; else a network namespace via ``unshare``), the
  identity of ``nobody`` when the server runs as root, and ``no_new_privs`` (see confine.py);
* only ``out.pdf`` is taken from the job directory, which is deleted afterwards.

:func:`isolation` says which of these apply on this machine.

**Warm start.**  Ghostscript spends about 40 ms initialising before it reads a byte of the
job.  With :func:`keep_warm` on (the server turns it on), one Ghostscript is started ahead of
the next job, exactly as above (its own job directory, limits, identity and namespace) and
blocks reading its standard input; the next job with the same limits and paper is fed to it,
and a new one is started for the job after.  Each Ghostscript still serves exactly one job.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from printer_backend.confine import (
    NOBODY,
    base_environment,
    binary,
    confinement,
    exit_status,
    limits_argv,
)
from printer_backend.errors import ConversionRefused, GhostscriptUnavailable
from printer_backend.limits import Limits, in_words

log = logging.getLogger("printer_backend.ghostscript")

MINIMUM_VERSION = "10.0.0"
"""The oldest Ghostscript we run by default.  Distributions backport security fixes without
changing the version (Debian 12's 10.00.0 has them), so the gate is a floor, not a guarantee."""

_MESSAGES_KEPT = 64 * 1024
_JOB_PREFIX = "pagero-gs-"
_SPARE_MAX_AGE = 6 * 3600.0
"""A Ghostscript kept waiting longer is replaced: tmp cleaners (systemd-tmpfiles) may remove old folders."""
_PAPER_SIZES = {"A4": "a4", "LETTER": "letter"}


class GhostscriptFailed(ConversionRefused):
    """Ghostscript refused or failed the job; ``messages`` holds what it printed (for logs)."""

    def __init__(self, reason: str, messages: str = "") -> None:
        super().__init__(reason)
        self.messages = messages

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.messages))


@dataclass(frozen=True)
class GhostscriptRun:
    """A finished conversion: what Ghostscript printed and how it was confined."""

    messages: str
    isolation: tuple[str, ...]
    seconds: float
    process_id: int  # the Ghostscript (or its confining wrapper) that ran the job


def _gs() -> str:
    path = binary("gs")
    if path is None:
        raise GhostscriptUnavailable("Ghostscript (gs) is not installed; PostScript jobs cannot be printed")
    return path


def ghostscript_version() -> str:
    """The installed Ghostscript's version, e.g. "10.00.0"; GhostscriptUnavailable if it has none."""
    try:
        done = subprocess.run(
            [_gs(), "--version"], env=base_environment(), capture_output=True, timeout=30, check=True, text=True
        )
    except (OSError, subprocess.SubprocessError):
        raise GhostscriptUnavailable("Ghostscript (gs) does not run; PostScript jobs cannot be printed") from None
    version = done.stdout.strip()
    if not re.fullmatch(r"\d+(\.\d+)*", version):
        raise GhostscriptUnavailable(f"Ghostscript reports an unknown version {version[:40]!r}")
    return version


def check_ghostscript(minimum: str = MINIMUM_VERSION) -> str:
    """Check at start-up that Ghostscript and ``prlimit`` exist and gs is at least ``minimum``.

    Returns the version (for the status page).  Raises :class:`GhostscriptUnavailable` with a
    message for the administrator otherwise.
    """
    version = ghostscript_version()
    if _version_tuple(version) < _version_tuple(minimum):
        raise GhostscriptUnavailable(
            f"Ghostscript {version} is older than the required {minimum}; PostScript jobs are refused"
        )
    if binary("prlimit") is None:
        raise GhostscriptUnavailable("prlimit (util-linux) is missing; Ghostscript cannot be confined")
    return version


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def isolation() -> tuple[str, ...]:
    """Which confinement Ghostscript gets on this machine, in words (for notes and the status page)."""
    walls = confinement()
    return ("-dSAFER", *walls.describe(walls.can_drop_in(Path(tempfile.gettempdir()))))


@dataclass(frozen=True)
class _Key:
    """Everything a started Ghostscript is committed to before it sees its job."""

    gs: str
    prlimit: str
    limits: Limits
    paper: str
    root: Path
    drop: bool


@dataclass
class _Started:
    """One confined Ghostscript, started and waiting for its PostScript on standard input."""

    key: _Key
    process: subprocess.Popen[bytes]
    job: Path
    started: float = field(default_factory=time.monotonic)

    def discard(self) -> None:
        if self.process.poll() is None:  # never signal a group whose leader was reaped: its id may be reused
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        shutil.rmtree(self.job, ignore_errors=True)


class _Warm:
    """The one Ghostscript kept started for the next job (see the module's "Warm start")."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.enabled = False
        self.spare: _Started | None = None
        self.starting = False
        self.settled = threading.Event()  # set while no spare is being started
        self.settled.set()

    def take(self, key: _Key) -> _Started | None:
        """The spare if it was started for ``key`` and still waits; None otherwise."""
        with self.lock:
            spare, self.spare = self.spare, None
        if spare is None:
            return None
        fresh = time.monotonic() - spare.started < _SPARE_MAX_AGE and (spare.job / "tmp").is_dir()
        if spare.key == key and spare.process.poll() is None and fresh:
            return spare
        spare.discard()  # other limits or paper; it died; or it waited so long its folder may have been cleaned
        return None

    def refill(self, key: _Key) -> None:
        """Start the next spare in the background (one at a time)."""
        with self.lock:
            if not self.enabled or self.starting or self.spare is not None:
                return
            self.starting = True
            self.settled.clear()
        threading.Thread(target=self._start, args=(key,), name="gs-warm", daemon=True).start()

    def _start(self, key: _Key) -> None:
        started: _Started | None = None
        try:
            started = _start(key)
            with self.lock:
                if self.enabled and self.spare is None:
                    self.spare, started = started, None
            if started is not None:
                started.discard()
        except Exception as error:  # the next job then starts its own, and says what went wrong
            log.warning("could not start a Ghostscript ahead of the next job: %s", error)
        finally:
            with self.lock:
                self.starting = False
                self.settled.set()

    def stop(self) -> None:
        """No more spares; the one waiting is stopped and its job directory removed."""
        with self.lock:
            self.enabled = False
        self.settled.wait(30)
        with self.lock:
            spare, self.spare = self.spare, None
        if spare is not None:
            spare.discard()

    def ready(self, timeout: float) -> int | None:
        """The process id of the spare once one waits (within ``timeout``), else None."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.spare is not None:
                    return self.spare.process.pid
                if not self.enabled:
                    return None
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)


_WARM = _Warm()
atexit.register(_WARM.stop)


def keep_warm(enabled: bool = True, *, limits: Limits | None = None, paper: str = "A4",
              work_root: Path | None = None) -> None:
    """Keep one Ghostscript started ahead of the next job (``enabled``), or stop doing so.

    With ``limits``, the first one is started now for jobs with those limits and ``paper``;
    otherwise after the first job.  Off by default: a one-off conversion starts its own.
    """
    if not enabled:
        _WARM.stop()
        return
    with _WARM.lock:
        _WARM.enabled = True
    if limits is not None:
        key = _key(limits, paper, work_root)
        _sweep(key.root)
        _WARM.refill(key)


def _sweep(root: Path) -> None:
    """Remove job directories left in ``root`` by servers that are no longer running."""
    for job in root.glob(f"{_JOB_PREFIX}*-*"):
        owner = job.name[len(_JOB_PREFIX):].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            shutil.rmtree(job, ignore_errors=True)
        except OSError:  # alive under another user
            continue


def warm_ready(timeout: float = 0.0) -> int | None:
    """The process id of the Ghostscript waiting for the next job, if one is (waits up to ``timeout``)."""
    return _WARM.ready(timeout)


def _key(limits: Limits, paper: str, work_root: Path | None) -> _Key:
    gs = _gs()
    prlimit = binary("prlimit")
    if prlimit is None:
        raise GhostscriptUnavailable("prlimit (util-linux) is missing; Ghostscript cannot be confined")
    root = Path(work_root) if work_root is not None else Path(tempfile.gettempdir())
    drop = confinement().can_drop_in(root)
    return _Key(gs, prlimit, limits, _PAPER_SIZES[paper.upper()], root, drop)


def _start(key: _Key) -> _Started:
    """Start a confined Ghostscript in a new job directory; it waits for PostScript on stdin."""
    # The server's process id is in the name, so that a later start can tell a folder left
    # behind by a server that died (its waiting Ghostscript read end-of-file and quit).
    job = Path(tempfile.mkdtemp(prefix=f"{_JOB_PREFIX}{os.getpid()}-", dir=key.root))
    try:
        scratch = job / "tmp"
        scratch.mkdir(mode=0o700)
        if key.drop:
            for path in (job, scratch):
                os.chown(path, NOBODY, NOBODY)
        limits = key.limits
        argv = [
            *confinement().prefix(key.drop, writable=job),
            *limits_argv(key.prlimit, limits),
            key.gs,
            "-dSAFER",
            "-dBATCH",
            "-dNOPAUSE",
            "-dNOPROMPT",
            "-dQUIET",
            "-sDEVICE=pdfwrite",
            f"-sPAPERSIZE={key.paper}",
            f"-sOutputFile={job / 'out.pdf'}",
            "-_",  # the job from standard input, read with normal buffering ("-" reads it byte by byte)
        ]
        env = {**base_environment(), "TMPDIR": str(scratch), "TMP": str(scratch), "TEMP": str(scratch)}
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=job,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        shutil.rmtree(job, ignore_errors=True)
        raise
    return _Started(key, process, job)


def run_ghostscript(
    source: Path, output: Path, *, limits: Limits, paper: str = "A4", work_root: Path | None = None
) -> GhostscriptRun:
    """Convert the PostScript file ``source`` into the PDF ``output`` with a confined Ghostscript.

    Raises :class:`GhostscriptFailed` (a :class:`ConversionRefused`) when Ghostscript reports a
    PostScript error (file access outside the job, ``getenv``, device switching...), produces
    nothing, or is stopped by a limit; its reason names the limit, e.g. "conversion failed: CPU
    limit reached (60 s)".  ``output`` is written only on success.  ``paper`` ("A4" or
    "Letter", from the configuration) is the page size of PostScript that sets none.  The job
    directory is created in ``work_root`` (default: the system temp directory) and removed
    afterwards.  With :func:`keep_warm` on, a Ghostscript started ahead for the same limits,
    paper and ``work_root`` takes the job.
    """
    key = _key(limits, paper, work_root)
    started_at = time.monotonic()
    with open(source, "rb") as document:  # before any Ghostscript is used up: a read error is ours
        ghostscript = _WARM.take(key) or _start(key)
        _WARM.refill(key)
        try:
            returncode, messages, timed_out = _feed(ghostscript.process, document, wall_seconds=limits.wall_seconds)
            failure = _failure(returncode, messages, timed_out, limits)
            if failure is not None:
                raise GhostscriptFailed(failure, messages)
            _take_output(ghostscript.job / "out.pdf", output, messages)
        finally:
            ghostscript.discard()
    return GhostscriptRun(
        messages=messages, isolation=("-dSAFER", *confinement().describe(key.drop)),
        seconds=time.monotonic() - started_at, process_id=ghostscript.process.pid,
    )


def _take_output(pdf_out: Path, output: Path, messages: str) -> None:
    """Copy out.pdf, and only a plain file: never a link to something gs should not reach."""
    try:
        fd = os.open(pdf_out, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        raise GhostscriptFailed("conversion failed: the PostScript produced no pages", messages) from None
    with open(fd, "rb") as produced:
        status = os.fstat(produced.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
            raise GhostscriptFailed("conversion failed: the job directory was tampered with", messages)
        if status.st_size == 0:
            raise GhostscriptFailed("conversion failed: the PostScript produced no pages", messages)
        with open(output, "wb") as target:
            shutil.copyfileobj(produced, target, 1 << 20)


def _feed(process: subprocess.Popen[bytes], document: BinaryIO, *, wall_seconds: float) -> tuple[int, str, bool]:
    """Give a started Ghostscript its PostScript and wait for it; kill its group after ``wall_seconds``."""
    kept = bytearray()
    assert process.stdin is not None and process.stdout is not None
    reader = threading.Thread(target=_drain, args=(process.stdout, kept), daemon=True)
    reader.start()
    writer = threading.Thread(target=_pour, args=(document, process.stdin), daemon=True)
    writer.start()
    # The pipe reaches its end when gs exits (it cannot fork; bubblewrap, when it wraps gs, holds no
    # copy of the pipe beyond gs's own), so waiting for the reader is
    # waiting for gs, without the 50 ms polling of Popen.wait(timeout=...).
    reader.join(wall_seconds)
    timed_out = reader.is_alive()
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        reader.join(5)
    process.wait()
    writer.join(5)  # a dead reader breaks the pipe, so the writer ends too
    return exit_status(process.returncode), kept.decode("utf-8", "replace"), timed_out


def _pour(document: BinaryIO, stdin: BinaryIO) -> None:
    """Copy the document into Ghostscript's standard input, then close it (end of job)."""
    with contextlib.suppress(OSError):  # gs stopped reading: it failed or was killed
        try:
            shutil.copyfileobj(document, stdin, 1 << 16)
        finally:
            stdin.close()


def _drain(pipe: object, kept: bytearray) -> None:
    """Read a pipe to its end, keeping the first 64 KiB (a looping job can print forever)."""
    read = pipe.read1  # type: ignore[attr-defined]
    while chunk := read(65536):
        if len(kept) < _MESSAGES_KEPT:
            kept += chunk[: _MESSAGES_KEPT - len(kept)]


_ERROR = re.compile(r"Error: (/\w+) in (\S+)")
_REASONS = {
    "/invalidfileaccess": "the document tried to open files it may not use",
    "/invalidaccess": "the document tried to do something the sandbox forbids",
    "/undefinedfilename": "the document tried to open a file or device that is not there",
    "/VMerror": "memory limit reached",
}


def _failure(returncode: int, messages: str, timed_out: bool, limits: Limits) -> str | None:
    """The refusal reason for a finished Ghostscript run, or None if it succeeded."""
    if timed_out:
        return f"conversion failed: time limit reached ({limits.wall_seconds:g} s)"
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL) and "Error:" not in messages:
        return f"conversion failed: CPU limit reached ({limits.cpu_seconds} s)"
    if returncode == -signal.SIGXFSZ:
        return f"conversion failed: output size limit reached ({in_words(limits.output_bytes)})"
    error = _ERROR.search(messages)
    if error is not None:
        name, operator = error.groups()
        detail = _REASONS.get(name, f"PostScript error {name} in {operator}")
        if name == "/VMerror":
            detail = f"{detail} ({in_words(limits.memory_bytes)})"
        return f"conversion failed: {detail}"
    if "Could not open the file" in messages:
        # SAFER stopped a setpagedevice /OutputFile to somewhere else; gs carries on regardless.
        return "conversion failed: the document tried to write to a file"
    if returncode != 0:
        return f"conversion failed: Ghostscript stopped with exit code {returncode}"
    return None
