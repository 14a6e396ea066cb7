"""Processes as /proc shows them: who descends from whom, and as which user (for the confinement tests)."""

from __future__ import annotations

from pathlib import Path


def parent_of(pid: int) -> int | None:
    """The parent's process id, or None when ``pid`` is gone."""
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def descends_from(pid: int, ancestor: int) -> bool:
    """True if ``ancestor`` started ``pid``, directly or through wrappers (setpriv, bubblewrap, prlimit)."""
    current: int | None = pid
    for _ in range(64):
        current = parent_of(current) if current is not None else None
        if current is None or current <= 1:
            return False
        if current == ancestor:
            return True
    return False


def descendants(ancestor: int) -> dict[int, str]:
    """Every live process ``ancestor`` started, directly or not: process id → program (argv[0])."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            program = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if program and descends_from(int(entry.name), ancestor):
            found[int(entry.name)] = program
    return found


def uids(pid: int) -> set[int]:
    """The real, effective, saved and file-system user ids of ``pid``."""
    status = (Path("/proc") / str(pid) / "status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    return {int(value) for value in line.split()[1:]}
