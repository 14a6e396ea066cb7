"""Installing the "Pagero Printer" CUPS queue: the ``pagero`` backend, its PPD and ``lpadmin``.

A CUPS queue lets every application on this machine print to Pagero Connect through the
ordinary print dialog, and CUPS keeps each job while the product is not running.  The queue's
device URI ``pagero://127.0.0.1:8631/ipp/print`` selects the ``pagero`` backend
(:mod:`connect_core.intake.cups_backend`), which hands each job to the product over loopback IPP.
The PPD (``packaging/pagero.ppd``, shipped as ``connect_core/intake/pagero.ppd``) passes documents
through unconverted.

cupsd runs a backend only if it and its folder are owned by root and not writable by group or
others; a backend that others may read and execute runs as user ``lp``, so the interpreter
named on its ``#!`` line and this package must be reachable by every user.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import connect_core
from connect_core.errors import ConnectError
from connect_core.intake.cups_backend import SCHEME, BackendError, Target

DEFAULT_NAME = "Pagero_Printer"
DEFAULT_BACKEND_DIR = Path("/usr/lib/cups/backend")
DESCRIPTION = "Pagero Printer"
PPD_NAME = "pagero.ppd"
# What cupsd accepts as a queue name: up to 127 characters, no control characters, spaces, '/', '\\', '#',
# '?' or quotes.
_QUEUE_NAME = re.compile(r"[^\x00-\x20\x7f/\\#?'\"]{1,127}")


class CupsQueueError(ConnectError):
    """The queue cannot be installed; the message says what to fix."""


def ppd_file() -> Path:
    """The PPD shipped with the package (a copy of ``packaging/pagero.ppd``)."""
    return Path(str(resources.files("connect_core.intake") / PPD_NAME))


def default_uri(port: int) -> str:
    """The device URI of a queue for a product listening on ``port`` of this machine."""
    return f"{SCHEME}://127.0.0.1:{port}/ipp/print"


def package_root() -> Path:
    """The folder that holds the ``connect_core`` and ``ipp`` packages."""
    return Path(connect_core.__file__).resolve().parent.parent


def backend_script(python: str, root: Path) -> str:
    """The text of the ``pagero`` backend program: ``python`` running :func:`cups_backend.main`."""
    return (
        f"#!{python} -I\n"
        '"""CUPS backend "pagero": hands print jobs to Pagero Connect (pagero-connect install-cups-queue)."""\n'
        "import sys\n\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "from connect_core.intake.cups_backend import main  # noqa: E402\n\n"
        "sys.exit(main(sys.argv))\n"
    )


def unreachable_by_others(path: Path, mode: int) -> Path | None:
    """The first part of ``path`` that a user other than its owner cannot use, or None.

    Every folder above ``path`` must be searchable by others, and ``path`` itself must allow
    ``mode`` (``stat.S_IROTH``, ``stat.S_IXOTH``, ...) to others.  Symbolic links are checked
    on both sides: where they are and what they point to.
    """
    for candidate in dict.fromkeys([path.absolute(), path.resolve()]):
        for folder in reversed(candidate.parents):
            if not folder.stat().st_mode & stat.S_IXOTH:
                return folder
        if candidate.stat().st_mode & mode != mode:
            return candidate
    return None


def check_runnable_by_lp(python: str, root: Path) -> None:
    """Raise unless user ``lp`` can run ``python`` and import the backend from ``root``."""
    interpreter = Path(python)
    if not interpreter.is_absolute() or not interpreter.is_file() or re.search(r"\s", python):
        raise CupsQueueError(f"{python!r} is not an interpreter path without spaces")
    needed = [(interpreter, stat.S_IXOTH)] + [
        (root / name, stat.S_IROTH)
        for name in ("connect_core/__init__.py", "connect_core/intake/__init__.py",
                     "connect_core/intake/cups_backend.py", "ipp/__init__.py", "ipp/codec.py", "ipp/messages.py",
                     "ipp/reader.py", "ipp/writer.py", "ipp/status.py")
    ]
    for path, mode in needed:
        blocked = unreachable_by_others(path, mode)
        if blocked is not None:
            raise CupsQueueError(
                f"CUPS runs the backend as user lp, which cannot reach {path} ({blocked} is closed to other users); "
                "use --python with an interpreter every user can run, e.g. /usr/bin/python3")


def install_backend(backend_dir: Path, python: str = sys.executable) -> Path:
    """Write the ``pagero`` backend into ``backend_dir`` (mode 0755, owned by root when we are root).

    The file appears complete or not at all (written beside it, then renamed).
    """
    root = package_root()
    check_runnable_by_lp(python, root)
    if not backend_dir.is_dir():
        raise CupsQueueError(f"{backend_dir} is not a folder (is CUPS installed? see --backend-dir)")
    target = backend_dir / SCHEME
    try:
        fd, temp = tempfile.mkstemp(prefix=".pagero-", dir=backend_dir)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(backend_script(python, root))
            os.chmod(temp, 0o755)
            if os.geteuid() == 0:
                os.chown(temp, 0, 0)
            os.replace(temp, target)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as error:
        raise CupsQueueError(f"cannot install the backend in {backend_dir}: {error}") from error
    return target


def lpadmin() -> str | None:
    """Where ``lpadmin`` is: it lives in /usr/sbin, which a normal user's PATH often leaves out."""
    return shutil.which("lpadmin") or shutil.which("lpadmin", path="/usr/sbin:/usr/local/sbin:/sbin")


def lpadmin_argv(name: str, uri: str, ppd: Path) -> list[str]:
    """The ``lpadmin`` command that creates or updates queue ``name``."""
    return [lpadmin() or "lpadmin", "-p", name, "-E", "-v", uri, "-P", str(ppd),
            "-o", "printer-error-policy=retry-job", "-o", "printer-is-shared=false", "-D", DESCRIPTION]


def install_queue(name: str, uri: str, backend_dir: Path, python: str = sys.executable) -> Path:
    """Install the backend and create (or update) CUPS queue ``name`` printing to ``uri``.

    ``lpadmin`` talks to the CUPS server the environment names (``CUPS_SERVER``), else the
    system's.  Returns the installed backend's path.
    """
    if not _QUEUE_NAME.fullmatch(name):
        raise CupsQueueError(f"{name!r} is not a CUPS queue name (no spaces, '/', '\\', '#', '?' or quotes)")
    try:
        Target(uri)
    except BackendError as error:
        raise CupsQueueError(str(error)) from error
    if lpadmin() is None:
        raise CupsQueueError("lpadmin is not installed (Debian package cups-client)")
    backend = install_backend(backend_dir, python)
    result = subprocess.run(lpadmin_argv(name, uri, ppd_file()), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise CupsQueueError(f"lpadmin failed: {(result.stderr or result.stdout).strip()}")
    return backend
