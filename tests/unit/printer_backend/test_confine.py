"""The walls every converter runs behind, tested beneath Ghostscript's own sandbox: a shell or a Python
child stands in for a parser that a hostile document took over, and tries what such a parser would.

bubblewrap is one of the product's Debian packages (packaging/debian-packages.txt), so these tests expect
it; they run as root (CI) or as a normal user alike.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from printer_backend.child import run_limited
from printer_backend.confine import NOBODY, base_environment, binary, confinement, limits_argv, nobody_can_reach
from printer_backend.errors import ConversionRefused
from printer_backend.ghostscript import isolation
from printer_backend.limits import Limits
from tests.support.processes import descendants

LIMITS = Limits(cpu_seconds=5, wall_seconds=30, memory_bytes=256 * 2**20, output_bytes=2**20)


@pytest.fixture
def job() -> Iterator[Path]:
    """A job folder as the converters get one: private, in the system temp directory."""
    folder = Path(tempfile.mkdtemp(prefix="pagero-confine-"))
    folder.chmod(0o755)
    if drop():
        os.chown(folder, NOBODY, NOBODY)
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


@pytest.fixture
def secret() -> Iterator[Path]:
    """A file like the spool's or the configuration's, readable by everyone by its mode, outside /tmp."""
    folder = Path(tempfile.mkdtemp(prefix="pagero-canary-", dir="/var/lib" if os.geteuid() == 0 else Path.home()))
    folder.chmod(0o777)  # even writable by anyone, by its mode
    canary = folder / "config.yaml"
    canary.write_text("password: canary-7f3a\n")
    canary.chmod(0o644)
    yield canary
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def drop() -> bool:
    return confinement().can_drop and nobody_can_reach(Path(tempfile.gettempdir()))


def confined(job: Path, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``argv`` run exactly as Ghostscript is: walls, then rlimits, then the program, in the job folder."""
    prlimit = binary("prlimit")
    assert prlimit is not None
    command = [*confinement().prefix(drop(), writable=job), *limits_argv(prlimit, LIMITS), *argv]
    environment = {**base_environment(), "TMPDIR": str(job)}
    return subprocess.run(command, env=environment, cwd=job, capture_output=True, text=True, timeout=timeout,
                          start_new_session=True)


def test_this_machine_gives_every_wall() -> None:
    walls = confinement()
    assert walls.bwrap is not None, "bubblewrap is installed by make run / make test and works here"
    words = set(isolation())
    assert {"read-only view of the system (bubblewrap)", "no network (own network namespace)", "no_new_privs",
            "own process namespace", "rlimits (CPU, memory, file size, no new processes)"} <= words
    if os.geteuid() == 0:
        assert "uid nobody" in words


PROBE = """
import os, sys
secret, job = sys.argv[1], sys.argv[2]
def attempt(label, action):
    try:
        action()
        print(label)
    except OSError as error:
        print("refused", label, error.errno)
attempt("READ-SECRET", lambda: print(open(secret).read()))
attempt("SAW-FOLDER", lambda: print(os.listdir(os.path.dirname(secret))))
attempt("WROTE-OUTSIDE", lambda: open(os.path.join(os.path.dirname(secret), "planted"), "w").write("x"))
for place in ("/usr", "/etc", "/var/lib/ghostscript", "/"):
    attempt("WROTE-" + place, lambda: open(os.path.join(place, "pagero-planted"), "w").write("x"))
print("TMP", sorted(os.listdir("/tmp")), sorted(os.listdir("/var/tmp")))
attempt("PROC", lambda: os.listdir("/proc/1"))
attempt("WROTE-JOB", lambda: open(os.path.join(job, "out.txt"), "w").write("made"))
print("UID", os.getuid())
"""


def test_a_taken_over_parser_sees_no_secret_and_writes_only_its_job(job: Path, secret: Path) -> None:
    done = confined(job, "/usr/bin/python3", "-c", PROBE, str(secret), str(job))
    said = done.stdout
    assert "\nWROTE-JOB\n" in said, said + done.stderr  # not a wall because nothing runs at all
    for forbidden in ("READ-SECRET", "SAW-FOLDER", "WROTE-OUTSIDE", "WROTE-/usr", "WROTE-/etc", "WROTE-/var",
                      "WROTE-/\n", "PROC"):
        assert f"\n{forbidden}" not in said, said
    assert "canary-7f3a" not in said + done.stderr
    assert not (secret.parent / "planted").exists()
    assert not any(Path(p, "pagero-planted").exists() for p in ("/usr", "/etc", "/var/lib/ghostscript", "/"))
    assert (job / "out.txt").read_text() == "made"
    # Only the job's own folder in an otherwise empty /tmp; nothing in /var/tmp.
    assert f"TMP ['{job.name}'] []" in said, said
    assert f"UID {NOBODY if drop() else os.getuid()}" in said


def test_a_taken_over_parser_cannot_reach_the_network(job: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    callers: list[Any] = []

    def accept() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not callers:
            try:
                callers.append(listener.accept())
            except TimeoutError:
                continue

    waiter = threading.Thread(target=accept)
    waiter.start()
    python = f"import socket,sys\ntry:\n socket.create_connection(('127.0.0.1', {port}), timeout=5)\n" \
             " print('CONNECTED')\nexcept OSError as e:\n print('REFUSED', e.errno)\n"
    done = confined(job, "/usr/bin/python3", "-c", python)
    waiter.join()
    listener.close()
    assert "REFUSED" in done.stdout and "CONNECTED" not in done.stdout, done.stdout + done.stderr
    assert callers == []


def test_a_fork_bomb_is_contained_and_leaves_nothing_behind(job: Path) -> None:
    already = descendants(os.getpid())  # e.g. the converters' zygote, started by other tests
    before = time.monotonic()
    done = confined(job, "/bin/sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 1; echo SURVIVED", timeout=120)
    took = time.monotonic() - before
    assert "fork" in done.stderr.lower() or "resource" in done.stderr.lower(), done.stderr[-500:]
    assert took < 60  # liveness: it is stopped at the first fork, not after the machine is full
    assert descendants(os.getpid()).keys() <= already.keys()


def test_a_process_that_ignores_the_end_of_its_job_dies_with_its_group(job: Path) -> None:
    """The wall-clock stop kills the process group: bubblewrap and what runs inside it go together."""
    prlimit = binary("prlimit")
    assert prlimit is not None
    command = [*confinement().prefix(drop(), writable=job), *limits_argv(prlimit, LIMITS),
               "/bin/sh", "-c", "trap '' TERM HUP; while :; do :; done"]
    already = descendants(os.getpid())
    process = subprocess.Popen(command, env=base_environment(), cwd=job, start_new_session=True)
    deadline = time.monotonic() + 30
    while not [p for p in descendants(os.getpid()).values() if p == "/bin/sh"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in descendants(os.getpid()).values() if p == "/bin/sh"], "the confined shell never started"
    os.killpg(process.pid, 9)
    process.wait(30)
    deadline = time.monotonic() + 10
    while descendants(os.getpid()).keys() - already.keys() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert descendants(os.getpid()).keys() <= already.keys()


# -- the Python converters' children (the zygote runs behind the same walls) --------------------------


def peek(path: str, port: int) -> dict[str, Any]:
    """Runs in a converter child: what a decoder taken over by a hostile image could read and reach."""
    seen: dict[str, Any] = {"uid": os.getuid()}
    try:
        with open(path) as secret_file:
            seen["read"] = secret_file.read()
    except OSError as error:
        seen["read_error"] = error.errno
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        seen["connected"] = True
    except OSError as error:
        seen["connect_error"] = error.errno
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        seen["forked"] = True
    except OSError as error:
        seen["fork_error"] = error.errno
    return seen


def test_a_python_converter_child_sees_no_secret_no_network_and_cannot_fork(secret: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        seen = run_limited(peek, str(secret), listener.getsockname()[1], limits=LIMITS)
    except ConversionRefused as refused:  # pragma: no cover - says why, instead of a bare failure
        raise AssertionError(refused.reason) from None
    finally:
        listener.close()
    assert "read" not in seen and seen["read_error"] in (2, 13), seen  # not there (or not ours)
    assert "connected" not in seen, seen
    assert "forked" not in seen, seen
    if os.geteuid() == 0:
        assert seen["uid"] in (NOBODY, 0)  # nobody, unless the code lives where nobody cannot read it
