"""Printing the same invoice twice: the second waits as a possible duplicate until a person decides."""

from __future__ import annotations

from pathlib import Path

from ipp.status import StatusCode
from tests.support.cli import INVOICE, cli, invoices, wait_for_invoices, write_config
from tests.support.harness import Server
from tests.support.ippclient import Client


def print_twice(server: Server) -> None:
    client = Client(server.uri)
    for _ in range(2):
        assert client.print_file(INVOICE).code == StatusCode.SUCCESSFUL_OK


def test_same_invoice_twice_gives_one_ready_and_one_possible_duplicate(data_root: Path) -> None:
    server = Server(data_root / "data").start()
    try:
        print_twice(server)
        rows = wait_for_invoices(server.data_dir, 2)
        states = sorted(row["state"] for row in rows)
        assert states == ["possible-duplicate", "ready"]
        duplicate = next(row for row in rows if row["state"] == "possible-duplicate")
        original = next(row for row in rows if row["state"] == "ready")
        assert str(original["id"]) in duplicate["reason"]
        assert duplicate["id"] > original["id"]
        # A person approves it while serve is running: it becomes ready, and the history says so.
        assert "approved" in cli(server.data_dir, "approve", str(duplicate["id"])).stdout
        assert {row["state"] for row in invoices(server.data_dir)} == {"ready"}
        shown = cli(server.data_dir, "show", str(duplicate["id"])).stdout
        assert "possible-duplicate → ready" in shown and "approved" in shown
    finally:
        server.stop()


def test_duplicates_off_makes_both_ready(data_root: Path) -> None:
    config = write_config(data_root / "config.yaml", "validation:\n  duplicates: off\n")
    server = Server(data_root / "data", config=config).start()
    try:
        print_twice(server)
        rows = wait_for_invoices(server.data_dir, 2)
        assert [row["state"] for row in rows] == ["ready", "ready"]
    finally:
        server.stop()


def test_deleting_the_duplicate_instead(data_root: Path) -> None:
    server = Server(data_root / "data").start()
    try:
        print_twice(server)
        rows = wait_for_invoices(server.data_dir, 2)
        duplicate = next(row for row in rows if row["state"] == "possible-duplicate")
        cli(server.data_dir, "delete", str(duplicate["id"]))
        assert sorted(row["state"] for row in invoices(server.data_dir)) == ["deleted", "ready"]
        # A deleted invoice cannot be approved: a clear message and exit code 2.
        refused = cli(server.data_dir, "approve", str(duplicate["id"]), check=False)
        assert refused.returncode == 2 and "deleted" in refused.stderr
    finally:
        server.stop()
