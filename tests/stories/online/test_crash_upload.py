"""Crashes around an upload: every invoice is delivered exactly once (the emulator keeps repeats)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import cli
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.online import DELIVERED, all_in


@pytest.mark.parametrize("point", ["before_upload", "after_upload_before_commit", "after_commit"])
def test_crash_during_upload_then_restart(point: str, data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml"))
    server.start(env={"PAGERO_CRASH_AT": point})
    cli(server.data_dir, "import", str(invoice_pdf(data_root / "inv.pdf", "CRASH-1")), config=server.config)
    assert server.wait_exit(60) == -9, "the crash point did not fire"
    uploaded_before_restart = len(emulator.files())
    assert uploaded_before_restart == (0 if point == "before_upload" else 1)
    server.start()
    try:
        rows = wait_until(lambda: all_in(server.data_dir, DELIVERED, 1), message="not delivered after restart")
        files = emulator.files()
        assert [f["senderReference"] for f in files] == [rows[0]["uuid"]], "sent twice or lost"
    finally:
        server.stop()
