"""Running an outside parser (Ghostscript, pdftotext, Tesseract, our own decoders) on a hostile document,
behind every wall the machine allows, without needing root.

Probed once per process:

* bubblewrap (Debian ``bubblewrap``), which needs no privilege: a new mount, network, PID, IPC and UTS
  namespace (unprivileged, through a user namespace) in which the system is read-only and only the
  directories a run needs exist: ``/usr`` and the few parts of ``/etc`` programs read, the interpreter's
  own folders for Python, and the job's private folder, writable.  The data dir, the configuration (which
  holds the Pagero Online password), home folders and other jobs are simply not there.
* without bubblewrap: a new network namespace (``unshare --net``, with ``--user`` when not root);
* ``no_new_privs``, and the identity of ``nobody`` when we are root (``setpriv``).

The commands exec into each other (bubblewrap stays as the namespace's first process and reports the
parser's exit as 128 + signal, which :func:`exit_status` undoes), so one process group holds them all;
rlimits come from util-linux ``prlimit`` right before the parser (no ``preexec_fn``, which is unsafe in a
threaded server): CPU, memory, file size, no core dumps, and no new processes at all.  :meth:`Confinement.prefix`
builds that argv.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from printer_backend.limits import Limits

NOBODY = 65534


# What of /etc a converter may read: the dynamic linker's cache, fonts, Debian's alternatives and
# Ghostscript's font maps, user and group names, the time zone, and Debian Python's site hooks.
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "alternatives", "ghostscript", "passwd", "group",
        "nsswitch.conf", "localtime", "python3*")
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/var/lib/ghostscript")


@dataclass(frozen=True)
class Confinement:
    """What this machine allows, probed once: commands that exec into each other, then into the parser."""

    unshare: tuple[str, ...]  # a new network namespace, or nothing (used only without bubblewrap)
    setpriv: str | None
    can_drop: bool  # we are root and setpriv can switch to nobody
    bwrap: str | None = None  # bubblewrap works here: namespaces and a read-only view of the system

    def prefix(self, drop: bool, writable: Path | None = None, readable: Sequence[Path] = ()) -> list[str]:
        """The argv before the parser's: ``writable`` is the job's folder (the only place it may write, and
        its working directory); ``readable`` are further folders it needs to see (a Python's own)."""
        ids = [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if drop else []
        setpriv = [] if self.setpriv is None else [self.setpriv, "--no-new-privs", *ids, "--"]
        if self.bwrap is None:
            return [*self.unshare, *setpriv]
        if os.geteuid() != 0:  # bubblewrap makes a user namespace for the rest
            return [*setpriv, self.bwrap, "--unshare-all", "--cap-drop", "ALL", *view(writable, readable), "--"]
        # As root, bubblewrap needs no user namespace: it builds the view (reaching folders only root may
        # enter, such as an interpreter under /root), keeps just the two capabilities setpriv needs to
        # become nobody inside, and setpriv's switch of identity drops those too.
        keep = ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if drop else []
        enter: list[str] = []
        if drop and writable is not None:  # root without capabilities cannot enter nobody's 0700 folder: nobody does
            env = binary("env")
            assert env is not None
            enter = [env, f"--chdir={writable}", "--"]
        mounts = view(writable, readable, enter=not enter)
        return [self.bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--cap-drop", "ALL", *keep, *mounts, "--", *setpriv, *enter]

    def can_drop_in(self, folder: Path) -> bool:
        """True if a parser working in ``folder`` can run as nobody (with bubblewrap, folder is bound in)."""
        return self.can_drop and (self.bwrap is not None or nobody_can_reach(folder))

    def describe(self, drop: bool) -> tuple[str, ...]:
        words = ["private empty TMPDIR", "clean environment", "rlimits (CPU, memory, file size, no new processes)"]
        if self.bwrap is not None:
            words += ["no network (own network namespace)", "read-only view of the system (bubblewrap)",
                      "own process namespace"]
        elif self.unshare:
            words.append("no network (own network namespace)")
        if self.setpriv is not None:
            words.append("no_new_privs")
        if drop:
            words.append("uid nobody")
        return tuple(words)


def view(writable: Path | None, readable: Iterable[Path] = (), enter: bool = True) -> list[str]:
    """bubblewrap's mounts: the system read-only, ``readable`` read-only, ``writable`` read-write (and the
    working directory, with ``enter``), and nothing else (the root itself is read-only at the end)."""
    mounts: list[tuple[str, str]] = []  # (option, path), in order
    for top in _SYSTEM:
        path = Path(top)
        if path.is_symlink():  # merged /usr: /bin -> usr/bin
            mounts.append(("--symlink", top))
        elif path.is_dir():
            mounts.append(("--ro-bind", top))
    mounts += [("--ro-bind", found) for pattern in _ETC for found in sorted(glob.glob(f"/etc/{pattern}"))]
    # No /proc at all: nothing to learn about other processes (and systemd's ProtectKernelTunables=
    # forbids mounting a new one), and none of the converters needs it.
    mounts += [("--tmpfs", "/tmp"), ("--tmpfs", "/var/tmp")]
    seen = {Path(top) for top in _SYSTEM}
    for folder in sorted({Path(os.path.realpath(p)) for p in readable}):
        if folder.is_dir() and not any(folder == s or s in folder.parents for s in seen):
            mounts.append(("--ro-bind", str(folder)))
    if writable is not None:
        mounts.append(("--bind", str(writable)))
    options = ["--dev", "/dev"]
    made = {Path("/"), Path("/dev")}
    for option, where in mounts:
        # Folders on the way are made 0755 whatever our umask (the service's is 0077): nobody must pass.
        for parent in reversed(Path(where).parents):
            if parent not in made:
                options += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        made.add(Path(where))
        if option == "--symlink":
            options += ["--symlink", os.readlink(where), where]
        elif option == "--tmpfs":
            options += ["--perms", "1777", "--tmpfs", where]
        else:
            options += [option, where, where]
    options += ["--chdir", str(writable) if writable is not None and enter else "/"]
    return [*options, "--remount-ro", "/"]


def python_folders() -> list[Path]:
    """What a Python child must see besides the system: its interpreter's prefixes, its import path, and this
    package wherever it lives (an editable install finds it through an import hook, not the path)."""
    here = str(Path(__file__).resolve().parent)
    return [Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path, here) if p and os.path.isdir(p)]


def exit_status(returncode: int) -> int:
    """The parser's own exit status: bubblewrap reports a parser killed by signal N as 128 + N; that is -N."""
    if confinement().bwrap is not None and 128 < returncode < 128 + 65:
        return -(returncode - 128)
    return returncode


def binary(name: str) -> str | None:
    """The system's ``name`` (never one from the caller's PATH)."""
    return shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")


def base_environment() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


@functools.cache
def confinement() -> Confinement:
    root = os.geteuid() == 0
    unshare: tuple[str, ...] = ()
    unshare_path = binary("unshare")
    if unshare_path is not None:
        candidate = (unshare_path, "--net", "--") if root else (unshare_path, "--user", "--net", "--")
        if _works([*candidate, "true"]):
            unshare = candidate
    setpriv = binary("setpriv")
    if setpriv is not None and not _works([setpriv, "--no-new-privs", "--", "true"]):
        setpriv = None
    can_drop = (
        root
        and setpriv is not None
        and _works([setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", "true"])
    )
    bwrap = binary("bwrap")
    if bwrap is not None:
        probe = Confinement(unshare, setpriv, can_drop, bwrap)
        if not _works([*probe.prefix(can_drop), "true"]):
            bwrap = None  # no user namespaces here (a container that forbids them): the walls above remain
    return Confinement(unshare, setpriv, can_drop, bwrap)


def limits_argv(prlimit: str, limits: Limits) -> list[str]:
    """``prlimit`` with the CPU, memory, file size, core and process limits of ``limits``, up to its ``--``."""
    return [
        prlimit,
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
        f"--as={limits.memory_bytes}",
        f"--fsize={limits.output_bytes}",
        "--core=0",
        "--nproc=0",  # no fork at all (root is exempt, which is why as root the parser runs as nobody)
        "--",
    ]


def nobody_can_reach(directory: Path) -> bool:
    """True if ``nobody`` can enter ``directory`` (job directories live right inside it)."""
    path = directory.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _works(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, env=base_environment(), capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
