from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import Emulator
from tests.support.harness import Server

pytest_plugins = ["tests.support.printed", "tests.support.corpus"]
"""Fixtures shared by unit tests and stories: real documents made with reportlab and Ghostscript, and the corpus."""

# Administration tools (lpadmin, cupsd, userdel) live in the sbin folders a normal user's PATH leaves out.
os.environ["PATH"] = os.pathsep.join(dict.fromkeys(os.environ.get("PATH", "").split(os.pathsep)
                                                   + ["/usr/local/sbin", "/usr/sbin", "/sbin"]))
# Tests never pick up a configuration file installed on the machine running them.
os.environ["PAGERO_CONFIG_FILE"] = "/nonexistent/pagero-connect-test-config.yaml"


@pytest.fixture
def data_root() -> Iterator[Path]:
    """A private folder on real disk (not /tmp: Ghostscript may read /tmp)."""
    root = Path(tempfile.mkdtemp(prefix="pagero-test-", dir="/var/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server(data_root: Path) -> Iterator[Server]:
    """A running product on a free loopback port with an empty data dir."""
    srv = Server(data_root / "data").start()
    yield srv
    srv.stop()


@pytest.fixture
def print_dir() -> Iterator[Path]:
    """A folder for the files a test prints through CUPS (on real disk, readable by CUPS and its filters)."""
    folder = Path(tempfile.mkdtemp(prefix="pagero-print-", dir="/var/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def emulator(data_root: Path) -> Iterator[Emulator]:
    """The Pagero Online emulator as a real server process on a free loopback port."""
    emu = Emulator(data_root / "emulator").start()
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def private_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Servers a test starts register here, and CLI commands look only here: never at other tests' servers
    or at a Pagero Connect running on the machine (``PAGERO_RUNTIME_DIR``, see connect_core/running.py)."""
    folder = Path(tempfile.mkdtemp(prefix="pagero-run-", dir="/var/tmp"))
    monkeypatch.setenv("PAGERO_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
