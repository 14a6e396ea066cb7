"""Every CLI test sees only the servers it starts itself."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private registry of running servers for this test, inherited by its ``serve`` and CLI processes.

    As root ``running.registry_dirs()`` always reads ``/run/pagero-connect`` whatever
    ``XDG_RUNTIME_DIR`` says, so ``PAGERO_RUNTIME_DIR`` is what keeps servers of other tests
    (or a real installation) out of sight.
    """
    folder = Path(tempfile.mkdtemp(prefix="pagero-run-"))
    monkeypatch.setenv("PAGERO_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
