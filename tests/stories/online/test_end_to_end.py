"""Print → converted → checked → uploaded → delivered, over real HTTP against the emulator."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ipp.status import StatusCode
from tests.support.cli import INVOICE, cli, invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.ippclient import Client
from tests.support.online import DELIVERED, all_in


def test_automatic_mode_prints_and_delivers(data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml")).start()
    try:
        assert Client(server.uri).print_file(INVOICE).code == StatusCode.SUCCESSFUL_OK
        rows = wait_until(lambda: all_in(server.data_dir, DELIVERED, 1), message="not delivered")
        shown = json.loads(cli(server.data_dir, "show", str(rows[0]["id"]), "--json").stdout)
        history = [event["to"] for event in shown["history"] if event["to"]]
        assert history[:6] == ["received", "converted", "queued", "uploading", "sent", "delivered"]
        files = emulator.files()
        assert len(files) == 1
        assert files[0]["senderReference"] == rows[0]["uuid"]
        assert files[0]["sendMode"] == "Production"  # the default, as the desktop client did
        assert files[0]["documentType"] == "Invoice"
    finally:
        server.stop()


def test_manual_mode_waits_in_files_to_send_until_sent(data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml", mode="manual")).start()
    try:
        assert Client(server.uri).print_file(INVOICE).code == StatusCode.SUCCESSFUL_OK
        rows = wait_until(lambda: all_in(server.data_dir, {"ready"}, 1))
        time.sleep(2)  # several outbox and poller rounds: a ready invoice is never sent by itself
        assert [row["state"] for row in invoices(server.data_dir)] == ["ready"]
        assert emulator.files() == []
        assert "Queued 1 invoice" in cli(server.data_dir, "send", str(rows[0]["id"])).stdout
        wait_until(lambda: all_in(server.data_dir, DELIVERED, 1))
        assert len(emulator.files()) == 1
    finally:
        server.stop()


def test_test_and_certification_send_modes_reach_the_service(data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml", mode="manual")).start()
    try:
        one = invoice_pdf(data_root / "one.pdf", "T-1")
        two = invoice_pdf(data_root / "two.pdf", "C-2", total="99,00")
        cli(server.data_dir, "import", str(one), str(two), config=server.config)
        rows = sorted(invoices(server.data_dir), key=lambda row: row["id"])
        cli(server.data_dir, "send", str(rows[0]["id"]), "--environment", "Test")
        cli(server.data_dir, "send", str(rows[1]["id"]), "--environment", "Certification")
        wait_until(lambda: all_in(server.data_dir, DELIVERED, 2))
        by_reference = {f["senderReference"]: f["sendMode"] for f in emulator.files()}
        assert by_reference == {rows[0]["uuid"]: "Test", rows[1]["uuid"]: "Certification"}
    finally:
        server.stop()


def test_automatic_mode_sends_in_the_configured_environment(data_root: Path, emulator: Emulator) -> None:
    """online.environment (here from its environment variable) is what automatic sending uses; the banner says so."""
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml"),
                    extra_env={"PAGERO_ONLINE_ENVIRONMENT": "Test"}).start()
    try:
        assert Client(server.uri).print_file(INVOICE).code == StatusCode.SUCCESSFUL_OK
        rows = wait_until(lambda: all_in(server.data_dir, DELIVERED, 1), message="not delivered")
        assert [(f["senderReference"], f["sendMode"]) for f in emulator.files()] == [(rows[0]["uuid"], "Test")]
        assert "automatic mode, Test environment" in server.log_text()
    finally:
        server.stop()
