"""Retries against the real emulator: Retry-After is honoured, and attempts stop at the configured limit."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path
from typing import Any

from tests.support.cli import cli
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.online import DELIVERED, all_in


def _row(data_dir: Path) -> dict[str, Any]:
    with sqlite3.connect(data_dir / "connect.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute(
            "SELECT state, reason, attempts, next_attempt_at, updated_at, last_error FROM invoices")]
    assert len(rows) == 1, rows
    return rows[0]


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_a_429_with_retry_after_is_not_retried_sooner_than_asked(data_root: Path, emulator: Emulator) -> None:
    # The backoff alone would wait at most 1 s; the service asks for 4.
    config = emulator.product_config(data_root / "c.yaml", max_retry_delay=1)
    server = Server(data_root / "data", config=config).start()
    try:
        emulator.faults(throttle_rate=1.0, retry_after=4)
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "a.pdf", "RA-1")), config=server.config)
        row = wait_until(lambda: (r := _row(server.data_dir))["attempts"] >= 1 and r["state"] == "queued"
                         and r["next_attempt_at"] and r)
        assert "429" in row["last_error"] or "too many" in row["last_error"].lower(), row
        waited = (_time(row["next_attempt_at"]) - _time(row["updated_at"])).total_seconds()
        assert 3.9 <= waited <= 4.5, row
        time.sleep(2.5)
        assert _row(server.data_dir)["attempts"] == 1, "retried before Retry-After had passed"
        emulator.faults()  # the service is fine again
        wait_until(lambda: all_in(server.data_dir, DELIVERED, 1), timeout=60)
        assert _row(server.data_dir)["attempts"] == 2
        assert len(emulator.files()) == 1
    finally:
        server.stop()


def test_after_max_attempts_the_invoice_needs_attention_and_waits_for_a_person(
    data_root: Path, emulator: Emulator
) -> None:
    config = emulator.product_config(data_root / "c.yaml", max_retry_delay=1, max_attempts=3, breaker_cooldown=0.5)
    server = Server(data_root / "data", config=config).start()
    try:
        emulator.faults(error_rate=1.0)
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "a.pdf", "MA-1")), config=server.config)
        row = wait_until(lambda: (r := _row(server.data_dir))["state"] == "needs-attention" and r, timeout=60)
        assert row["attempts"] == 3, row
        assert "3 attempts failed" in row["reason"] and "Resend" in row["reason"], row
        assert row["next_attempt_at"] is None
        emulator.faults()  # fixed at the service: still nothing is sent until someone says so
        time.sleep(3)
        assert _row(server.data_dir)["attempts"] == 3 and emulator.files() == []
        cli(server.data_dir, "resend", "1")
        wait_until(lambda: all_in(server.data_dir, DELIVERED, 1), timeout=60)
        assert len(emulator.files()) == 1
    finally:
        server.stop()
