from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.support.cli import invoices


def states(data_dir: Path) -> list[str]:
    return [row["state"] for row in invoices(data_dir)]


def all_in(data_dir: Path, wanted: set[str], count: int) -> list[dict[str, Any]] | None:
    rows = invoices(data_dir)
    return rows if len(rows) == count and all(row["state"] in wanted for row in rows) else None


def attempts(data_dir: Path) -> dict[int, int]:
    with sqlite3.connect(data_dir / "connect.db") as conn:
        return dict(conn.execute("SELECT id, attempts FROM invoices").fetchall())


DELIVERED = {"delivered", "fetched"}
