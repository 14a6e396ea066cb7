"""The hot folder: files are imported once complete, and a broken one is kept with its reason."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

from tests.support.cli import INVOICE, wait_for_invoices, write_config
from tests.support.harness import Server


def stored_jobs(data_dir: Path) -> int:
    """Jobs in the store, read directly (fast enough not to slow the writer down)."""
    with sqlite3.connect(data_dir / "connect.db") as conn:
        return int(conn.execute("SELECT count(*) FROM print_jobs").fetchone()[0])


def start_with_folder(data_root: Path) -> tuple[Server, Path]:
    folder = data_root / "hot"
    folder.mkdir()
    config = write_config(data_root / "config.yaml",
                          f"intake:\n  folder: {folder}\n  settle_seconds: 3\n  poll_seconds: 0.2\n")
    return Server(data_root / "data", config=config).start(), folder


def test_file_still_being_written_is_not_picked_up(data_root: Path) -> None:
    server, folder = start_with_folder(data_root)
    try:
        content = INVOICE.read_bytes()
        target = folder / "invoice.pdf"
        pieces = [content[i : i + len(content) // 5 + 1] for i in range(0, len(content), len(content) // 5 + 1)]
        with open(target, "wb") as handle:
            # A slow copy: a piece a second, each pause shorter than settle_seconds — never picked up meanwhile.
            for piece in pieces:
                handle.write(piece)
                handle.flush()
                time.sleep(1.0)
                assert target.exists()
                assert stored_jobs(server.data_dir) == 0
        rows = wait_for_invoices(server.data_dir, 1)
        assert len(rows) == 1
        assert rows[0]["sha256"] == hashlib.sha256(content).hexdigest()
        assert rows[0]["state"] == "ready"
        deadline = time.monotonic() + 10
        while target.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not target.exists(), "the file should leave the folder once stored"
    finally:
        server.stop()


def test_broken_file_is_kept_and_listed_with_its_reason(data_root: Path) -> None:
    server, folder = start_with_folder(data_root)
    try:
        broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer garbage"
        (folder / "broken.pdf").write_bytes(broken)
        rows = wait_for_invoices(server.data_dir, 1)
        assert rows[0]["state"] == "invalid"
        assert rows[0]["reason"], "an invalid invoice must say why"
        # Never deleted: the exact bytes are kept in the spool.
        kept = [p for p in (server.data_dir / "spool" / "jobs").glob("*/document")
                if hashlib.sha256(p.read_bytes()).hexdigest() == hashlib.sha256(broken).hexdigest()]
        assert len(kept) == 1
    finally:
        server.stop()
