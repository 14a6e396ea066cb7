"""Run one piece of heavy parsing in a resource-limited child process.

PDF checking, raster decoding, Pillow and reportlab never run in the server: a hostile document
can at worst exhaust a child's address space, CPU seconds or file size limit, and a child that
outlives the wall-clock limit is killed by its own interval timer.

Children are forked by a *zygote*: one small process started once (``python -m
printer_backend.child``) with a clean environment, the parsing libraries already imported and,
when the server runs as root, the identity of ``nobody``.  Forking it costs a few milliseconds
where starting Python would cost a few hundred.  A child never opens paths itself: the server
opens the document and the output file and hands over the descriptors, so a child needs no
access to the spool.  What a child sends back is JSON (never pickle): a child that a hostile
document took over cannot make the server run code.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import pickle
import resource
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from printer_backend.confine import NOBODY, confinement, python_folders
from printer_backend.errors import BackendError, ConversionRefused, UnsupportedFormat
from printer_backend.limits import Limits, in_words

JSONDict = dict[str, Any]

_FRAME = struct.Struct(">I")
_MAX_FRAME = 4 * 2**20  # a child's answer is small; anything bigger is garbage
# Modules whose ``warm_up()`` the zygote runs once, so that children inherit loaded libraries,
# fonts and caches instead of building them per document.
_WARM_UP = ("printer_backend.pdf", "printer_backend.raster", "printer_backend.text")


class ChildLimitError(Exception):
    """Raised inside a child when a document exceeds a cap that is not an rlimit (pages, pixels)."""


# --------------------------------------------------------------------------- server side


class _Zygote:
    """The server's handle on its zygote process; restarted when it has died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._owner_pid = 0

    def start(self) -> None:
        with self._lock:
            self._running()

    def submit(self, fds: Sequence[int]) -> None:
        """Hand the zygote the descriptors of one job; it forks a child that owns them."""
        with self._lock:
            for attempt in range(2):
                control = self._running()
                try:
                    socket.send_fds(control, [b"j"], list(fds))
                    return
                except OSError:
                    if attempt:
                        raise
                    self._stop()

    def _running(self) -> socket.socket:
        if self._process is not None and (self._owner_pid != os.getpid() or self._process.poll() is not None):
            self._stop()
        if self._control is None:
            # As root, children run as nobody; if nobody cannot even start Python here (the code
            # lives in a private directory), fall back to our own identity.
            for drop in (True, False) if os.geteuid() == 0 else (False,):
                if self._start(drop):
                    break
            else:
                raise ConversionRefused("conversion failed: the converter process could not start")
        assert self._control is not None
        return self._control

    def _start(self, drop: bool) -> bool:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # The same walls as Ghostscript's (confine.py): with bubblewrap, the zygote and its children see
        # the system and this Python read-only, no spool, no configuration, no network, no other process.
        walls = confinement()
        try:
            process = subprocess.Popen(
                [*walls.prefix(drop, readable=python_folders()),
                 sys.executable, "-m", "printer_backend.child", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=_clean_environment(),
                cwd="/",
                start_new_session=True,  # its own process group, so that stopping it stops every process of it
                # without setpriv, Python switches to nobody itself
                user=NOBODY if drop and walls.setpriv is None else None,
                group=NOBODY if drop and walls.setpriv is None else None,
                extra_groups=[] if drop and walls.setpriv is None else None,
            )
        except OSError:
            ours.close()
            return False
        finally:
            theirs.close()
        ready = False
        ours.settimeout(0.05)
        deadline = time.monotonic() + 60
        while not ready and process.poll() is None and time.monotonic() < deadline:
            try:
                ready = ours.recv(16) == b"ready"
            except TimeoutError:
                continue
            except OSError:
                break
        if not ready:
            ours.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return False
        ours.settimeout(None)
        self._process, self._control, self._owner_pid = process, ours, os.getpid()
        return True

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            if self._owner_pid == os.getpid():
                if self._process.poll() is None:  # never signal a group whose leader was reaped
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
            self._process = None


_zygote = _Zygote()


def _clean_environment() -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    # Where the server found printer_backend, the zygote finds it too (a checkout, a venv).
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def start() -> None:
    """Start the zygote now rather than with the first document (it takes about a second)."""
    _zygote.start()


def run_limited(
    func: Callable[..., JSONDict], *args: Any, files: Sequence[int] = (), limits: Limits
) -> JSONDict:
    """Run ``func(*files, *args)`` in a fresh child under ``limits`` and return its JSON result.

    ``func`` is a module-level function returning a JSON-able dict;
    ``files`` are open descriptors handed to the child (it receives its own copies as ints);
    ``args`` must be picklable.  A :class:`BackendError` raised by ``func`` is raised here as the
    same class with the same reason; running out of memory, CPU time, output size or wall-clock
    time raises :class:`ConversionRefused` naming the limit, e.g. "conversion failed: CPU limit
    reached".  The child is gone when this returns.
    """
    target = f"{func.__module__}:{func.__qualname__}"
    request = pickle.dumps((target, args, len(files), limits))
    ours, theirs = socket.socketpair()
    try:
        try:
            _zygote.submit([theirs.fileno(), *files])
        finally:
            theirs.close()
        ours.sendall(_FRAME.pack(len(request)) + request)
        answer, trailer = _read_answers(ours, time.monotonic() + limits.wall_seconds + 10)
    finally:
        ours.close()
    peak = trailer.get("maxrss") if isinstance(trailer.get("maxrss"), int) else None
    if answer is None:
        raise ConversionRefused(f"conversion failed: {_death_reason(trailer, limits)}", peak_memory_bytes=peak)
    if "ok" in answer and isinstance(answer["ok"], dict):
        return answer["ok"]
    reason = str(answer.get("reason", "the converter failed"))[:500]
    if answer.get("error") == "unsupported":
        raise UnsupportedFormat(reason, peak_memory_bytes=peak)
    raise ConversionRefused(reason, peak_memory_bytes=peak)


def _read_answers(sock: socket.socket, deadline: float) -> tuple[JSONDict | None, JSONDict]:
    """Read the child's answer (if it lived to send one) and the zygote's exit report."""
    answer: JSONDict | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return answer, {"exit": "timeout"}
        sock.settimeout(remaining)
        try:
            frame = _recv_frame(sock)
        except (TimeoutError, ConnectionError, ValueError):
            return answer, {"exit": "lost"}
        if frame is None:
            return answer, {"exit": "lost"}
        if frame.get("from") == "zygote":
            return answer, frame
        if answer is None:
            answer = frame


def _recv_frame(sock: socket.socket) -> JSONDict | None:
    header = _recv_exactly(sock, _FRAME.size)
    if header is None:
        return None
    (length,) = _FRAME.unpack(header)
    if length > _MAX_FRAME:
        raise ValueError("frame too large")
    body = _recv_exactly(sock, length)
    if body is None:
        return None
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("frame is not an object")
    return value


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _death_reason(trailer: JSONDict, limits: Limits) -> str:
    status = trailer.get("exit")
    if status == -signal.SIGXCPU or (status == -signal.SIGKILL and trailer.get("cpu", 0) >= limits.cpu_seconds):
        return f"CPU limit reached ({limits.cpu_seconds} s)"
    if status == -signal.SIGALRM or status == "timeout":
        return f"time limit reached ({limits.wall_seconds:g} s)"
    if status == -signal.SIGXFSZ:
        return f"output size limit reached ({in_words(limits.output_bytes)})"
    if status == -signal.SIGKILL:
        return "the converter was killed"
    if isinstance(status, int) and status < 0:
        return f"the converter crashed (signal {-status})"
    return "the converter stopped unexpectedly"


# --------------------------------------------------------------------------- child side


def apply_limits(limits: Limits) -> None:
    """Lower this process's rlimits to ``limits`` (never raises one)."""
    # CPU: the soft limit sends SIGXCPU, the hard limit one second later SIGKILL.
    _lower(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1)
    _lower(resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes)
    _lower(resource.RLIMIT_FSIZE, limits.output_bytes, limits.output_bytes)
    _lower(resource.RLIMIT_CORE, 0, 0)


def _lower(which: int, soft: int, hard: int) -> None:
    _, old_hard = resource.getrlimit(which)
    if old_hard != resource.RLIM_INFINITY:
        hard = min(hard, old_hard)
    resource.setrlimit(which, (min(soft, hard), hard))


def _send_frame(sock: socket.socket, value: JSONDict) -> None:
    body = json.dumps(value).encode()
    sock.sendall(_FRAME.pack(len(body)) + body)


def _serve_job(job: socket.socket, nfiles_received: list[int]) -> None:
    """In a freshly forked child: read the request, obey the limits, run it, answer in JSON."""
    header = _recv_exactly(job, _FRAME.size)
    if header is None:
        return
    body = _recv_exactly(job, _FRAME.unpack(header)[0])
    if body is None:
        return
    target, args, nfiles, limits = pickle.loads(body)  # from the server, which we trust
    files = nfiles_received[:nfiles]
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the timer kills us whatever we are doing
    signal.setitimer(signal.ITIMER_REAL, limits.wall_seconds)
    apply_limits(limits)
    if os.geteuid() != 0:
        # No child of ours may fork (a parser exploit would need to).
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    _send_frame(job, _run(target, files, args, limits))


def _run(target: str, files: list[int], args: tuple[Any, ...], limits: Limits) -> JSONDict:
    module_name, _, func_name = target.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return {"ok": func(*files, *args)}
    except UnsupportedFormat as exc:
        return {"error": "unsupported", "reason": exc.reason}
    except BackendError as exc:
        return {"error": "refused", "reason": exc.reason}
    except ChildLimitError as exc:
        return {"error": "refused", "reason": str(exc)}
    except MemoryError:
        reason = f"conversion failed: memory limit reached ({in_words(limits.memory_bytes)})"
        return {"error": "refused", "reason": reason}
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            reason = f"output size limit reached ({in_words(limits.output_bytes)})"
        elif exc.errno == errno.ENOMEM:
            reason = f"memory limit reached ({in_words(limits.memory_bytes)})"
        else:
            reason = f"could not read or write the document ({exc.strerror or type(exc).__name__})"
        return {"error": "refused", "reason": f"conversion failed: {reason}"}
    except Exception as exc:  # the parsers raise many types; each one is a refusal
        return {"error": "refused", "reason": f"the document could not be read ({_short(exc)})"}


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    # Parser messages may start with a file name or descriptor; users need neither.
    if ": " in text and (text.startswith("/") or text.startswith("<")):
        text = text.split(": ", 1)[1]
    text = text[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def zygote_main(control_fd: int) -> None:
    """Loop of the zygote: fork one child per job, report each child's exit and peak memory."""
    for name in _WARM_UP:
        importlib.import_module(name).warm_up()
    control = socket.socket(fileno=control_fd)
    control.send(b"ready")
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    jobs: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                try:
                    message, fds, _, _ = socket.recv_fds(control, 16, 64)
                except OSError:
                    message, fds = b"", []
                if not message:
                    return  # the server has gone; running children finish on their own timers
                _fork_job(fds, control, wake_r, wake_w, jobs)
            else:
                os.read(wake_r, 4096)
                _reap(jobs)


def _fork_job(
    fds: list[int], control: socket.socket, wake_r: int, wake_w: int, jobs: dict[int, socket.socket]
) -> None:
    job = socket.socket(fileno=fds[0])
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (control.fileno(), wake_r, wake_w, *(s.fileno() for s in jobs.values())):
                os.close(fd)
            _serve_job(job, fds[1:])
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    for fd in fds[1:]:
        os.close(fd)
    jobs[pid] = job


def _reap(jobs: dict[int, socket.socket]) -> None:
    while jobs:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        job = jobs.pop(pid, None)
        if job is None:
            continue
        report = {
            "from": "zygote",
            "exit": os.waitstatus_to_exitcode(status),
            "maxrss": usage.ru_maxrss * 1024,
            "cpu": usage.ru_utime + usage.ru_stime,
        }
        job.setblocking(False)
        try:
            _send_frame(job, report)
        except OSError:
            pass  # the server stopped waiting
        job.close()


if __name__ == "__main__":
    # Run the zygote from the imported module, not from __main__, so that exception classes
    # raised by the steps and caught here are the same objects.
    from printer_backend.child import zygote_main as _main

    _main(int(sys.argv[1]))
