from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.online.emulator import Emulator


@pytest.fixture
def emulator(data_root: Path) -> Iterator[Emulator]:
    emu = Emulator(data_root / "emulator").start()
    yield emu
    emu.stop()
