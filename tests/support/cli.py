"""Helpers for the core's tests: run the CLI against a data dir and wait for the pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.emulator import wait_until
from tests.support.harness import CORPUS, REPO

INVOICE = CORPUS / "printed" / "intarsys__EN16931__zugferd_2p0_EN16931_Einfach.pdf"
OTHER_INVOICE = CORPUS / "printed" / "intarsys__EN16931__zugferd_2p0_EN16931_Miete.pdf"


def cli(data_dir: Path, *args: str, config: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "connect_core.cli", *args, "--data-dir", str(data_dir)]
    if config is not None:
        argv += ["--config", str(config)]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}: {result.stderr}")
    return result


def invoices(data_dir: Path, *extra: str) -> list[dict[str, Any]]:
    return json.loads(cli(data_dir, "list", "--json", "--limit", "1000", *extra).stdout)


AT_PAGERO_ONLINE = ("sent", "delivered", "fetched", "accepted")


def import_and_send(data_dir: Path, pdf: Path, config: Path, timeout: float = 120.0) -> tuple[dict[str, Any], str]:
    """Import ``pdf`` into a running server's empty data dir, send it and wait until Pagero Online has it.

    Returns the invoice's row as imported and its state once it is there.
    """
    cli(data_dir, "import", str(pdf), config=config)
    (row,) = invoices(data_dir)
    cli(data_dir, "send", str(row["id"]), config=config)

    def at_pagero_online() -> str | None:
        state = {r["id"]: r["state"] for r in invoices(data_dir)}[row["id"]]
        return state if state in AT_PAGERO_ONLINE else None

    return row, wait_until(at_pagero_online, timeout=timeout)


def wait_for_invoices(data_dir: Path, count: int, timeout: float = 90.0) -> list[dict[str, Any]]:
    """Poll ``list --json`` until ``count`` invoices exist (a liveness limit, not a speed target)."""
    deadline = time.monotonic() + timeout
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = invoices(data_dir)
        if len(rows) >= count:
            return rows
        time.sleep(0.3)
    raise AssertionError(f"expected {count} invoices, have {len(rows)}: {rows}")


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
