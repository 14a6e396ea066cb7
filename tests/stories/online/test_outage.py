"""The service is down for a while: nothing is lost, attempts are not burnt, sending resumes by itself."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.cli import cli
from tests.support.documents import invoices as make_invoices
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.online import DELIVERED, all_in, attempts, states


def test_emulator_down_then_back(data_root: Path, emulator: Emulator) -> None:
    config = emulator.product_config(data_root / "c.yaml", breaker_cooldown=2)
    server = Server(data_root / "data", config=config).start()
    try:
        emulator.stop()
        cli(server.data_dir, "import", *map(str, make_invoices(data_root / "docs", 20)), config=server.config)
        time.sleep(10)  # five breaker cool-downs with the service unreachable
        assert set(states(server.data_dir)) <= {"queued", "uploading"}
        spent = sum(attempts(server.data_dir).values())
        # The breaker opens after 5 failures; afterwards only one probe per cool-down, never one per invoice.
        assert spent <= 5 + 10 / 2 + 2, f"{spent} attempts burnt while the service was down"
        emulator.start()  # same port, same data
        rows = wait_until(lambda: all_in(server.data_dir, DELIVERED, 20), timeout=90)
        files = emulator.files()
        assert sorted(f["senderReference"] for f in files) == sorted(row["uuid"] for row in rows)
    finally:
        server.stop()
