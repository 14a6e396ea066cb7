"""Running an outside parser (Ghostscript, pdftotext) on a hostile document, behind every wall the machine allows.

Probed once per process: a new network namespace (``unshare --net``), ``no_new_privs`` and the
identity of ``nobody`` when we are root (``setpriv``).  The commands exec into each other, so the
parser is the one process that is started; rlimits come from util-linux ``prlimit`` right before
it (no ``preexec_fn``, which is unsafe in a threaded server).  :func:`prefix` builds that argv.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from printer_backend.limits import Limits

NOBODY = 65534


@dataclass(frozen=True)
class Confinement:
    """What this machine allows, probed once: commands that exec into each other, then into the parser."""

    unshare: tuple[str, ...]  # a new network namespace, or nothing
    setpriv: str | None
    can_drop: bool  # we are root and setpriv can switch to nobody

    def prefix(self, drop: bool) -> list[str]:
        prefix = list(self.unshare)
        if self.setpriv is not None:
            ids = [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if drop else []
            prefix += [self.setpriv, "--no-new-privs", *ids, "--"]
        return prefix

    def describe(self, drop: bool) -> tuple[str, ...]:
        words = ["private empty TMPDIR", "clean environment", "rlimits (CPU, memory, file size)"]
        if self.unshare:
            words.append("no network (own network namespace)")
        if self.setpriv is not None:
            words.append("no_new_privs")
        if drop:
            words.append("uid nobody")
        return tuple(words)


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
    return Confinement(unshare, setpriv, can_drop)


def limits_argv(prlimit: str, limits: Limits) -> list[str]:
    """``prlimit`` with the CPU, memory, file size, core and process limits of ``limits``, up to its ``--``."""
    return [
        prlimit,
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
        f"--as={limits.memory_bytes}",
        f"--fsize={limits.output_bytes}",
        "--core=0",
        "--nproc=0",
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
