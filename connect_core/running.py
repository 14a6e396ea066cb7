"""Which ``serve`` processes run on this machine, and where each keeps its data.

A server writes one small file while it runs (``serve-<pid>.json`` in :func:`registry_dirs`'s
first folder) naming its data dir, address and configuration file; the CLI reads them so that
a command run without ``--data-dir`` works on the store the server uses instead of creating an
empty one somewhere else.  Files of processes that are gone are ignored and cleaned up.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIR = Path("/run/pagero-connect")
"""Where the service (and root) registers; systemd makes it (``RuntimeDirectory=``)."""


@dataclass(frozen=True)
class RunningServer:
    pid: int
    data_dir: Path
    listen: str
    config: Path | None


def _user_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    name = "pagero-connect" if os.environ.get("XDG_RUNTIME_DIR") else f"pagero-connect-{os.geteuid()}"
    return Path(base) / name


def registry_dirs() -> list[Path]:
    """Where servers register: the system folder when it can be written here, else this user's own.

    ``PAGERO_RUNTIME_DIR`` names the only folder instead: as root the system folder is always
    read, so without it a test (or a second installation) would see every other server on the machine.
    """
    if os.environ.get("PAGERO_RUNTIME_DIR"):
        return [Path(os.environ["PAGERO_RUNTIME_DIR"])]
    dirs = [SYSTEM_DIR, _user_dir()]
    return dirs if os.geteuid() == 0 or os.access(SYSTEM_DIR, os.W_OK) else dirs[::-1]


def _private(folder: Path) -> bool:
    """A folder only its owner (this user or root) can write: anything else could plant a server."""
    try:
        info = folder.stat()
    except OSError:
        return False
    return info.st_uid in (0, os.geteuid()) and not info.st_mode & 0o022


def register(data_dir: Path, listen: str, config: Path | None) -> Path | None:
    """Record this process as a running server; returns the file to remove at exit (None: nowhere to write)."""
    entry = {"pid": os.getpid(), "data_dir": str(data_dir.resolve()), "listen": listen,
             "config": str(config.resolve()) if config else None}
    for folder in registry_dirs():
        try:
            folder.mkdir(mode=0o755 if folder == SYSTEM_DIR else 0o700, parents=True, exist_ok=True)
            if not _private(folder):
                continue
            path = folder / f"serve-{os.getpid()}.json"
            temporary = path.with_name(f".{path.name}.part")
            temporary.write_text(json.dumps(entry))
            temporary.chmod(0o644)
            os.replace(temporary, path)
            return path
        except OSError:
            continue
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process (e.g. the service user's): it exists
    return True


def running_servers() -> list[RunningServer]:
    """The servers running now, by pid (stale registrations of gone processes are removed when possible)."""
    found: dict[int, RunningServer] = {}
    for folder in registry_dirs():
        if not _private(folder):
            continue
        for path in sorted(folder.glob("serve-*.json")):
            try:
                data = json.loads(path.read_text())
                server = RunningServer(int(data["pid"]), Path(data["data_dir"]), str(data["listen"]),
                                       Path(data["config"]) if data.get("config") else None)
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if not _alive(server.pid):
                if os.access(folder, os.W_OK):
                    path.unlink(missing_ok=True)
                continue
            found.setdefault(server.pid, server)
    return sorted(found.values(), key=lambda server: server.pid)
