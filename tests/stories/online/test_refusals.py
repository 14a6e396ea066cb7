"""Refusals need a person: the service's words are shown, and resend/restart work after the fix."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import cli, invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.online import DELIVERED, all_in


def test_422_needs_attention_with_the_service_message_then_resend(data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml")).start()
    try:
        emulator.admin("/_emulator/reject", {"status": 422, "message": "Buyer reference (BT-10) is missing"})
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "a.pdf", "R-1")), config=server.config)
        row = wait_until(lambda: all_in(server.data_dir, {"needs-attention"}, 1))[0]
        assert "Buyer reference (BT-10) is missing" in row["reason"]
        assert "422" in row["reason"]
        emulator.admin("/_emulator/reject", {})  # the cause is fixed at the service
        cli(server.data_dir, "resend", str(row["id"]))
        wait_until(lambda: all_in(server.data_dir, DELIVERED, 1))
        assert len(emulator.files()) == 1
    finally:
        server.stop()


def test_400_also_stops_for_a_person(data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml")).start()
    try:
        emulator.admin("/_emulator/reject", {"status": 400, "message": "Unknown document format"})
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "a.pdf", "R-2")), config=server.config)
        row = wait_until(lambda: all_in(server.data_dir, {"needs-attention"}, 1))[0]
        assert "Unknown document format" in row["reason"]
    finally:
        server.stop()


def test_file_part_in_error_is_restarted(data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml")).start()
    try:
        emulator.admin("/_emulator/filepart-error", {"message": "Customer number 4711 not in the customer register"})
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "a.pdf", "E-1")), config=server.config)
        row = wait_until(lambda: all_in(server.data_dir, {"needs-attention"}, 1))[0]
        assert "Customer number 4711" in row["reason"]
        emulator.admin("/_emulator/filepart-error", {})
        # A resend would duplicate it at the service: the CLI points to restart instead.
        refused = cli(server.data_dir, "resend", str(row["id"]), check=False)
        assert refused.returncode == 2 and "restart" in refused.stderr
        cli(server.data_dir, "restart", str(row["id"]), config=server.config)
        wait_until(lambda: all_in(server.data_dir, DELIVERED, 1))
        assert len(emulator.files()) == 1
        shown = json.loads(cli(server.data_dir, "show", str(row["id"]), "--json").stdout)
        assert "restarted at Pagero Online" in [event["what"] for event in shown["history"]]
    finally:
        server.stop()


def test_resending_a_delivered_invoice_asks_for_confirmation(data_root: Path, emulator: Emulator) -> None:
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml")).start()
    try:
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "a.pdf", "D-1")), config=server.config)
        row = wait_until(lambda: all_in(server.data_dir, DELIVERED, 1))[0]
        refused = cli(server.data_dir, "resend", str(row["id"]), check=False)
        assert refused.returncode == 2 and "pass --yes to resend" in refused.stderr
        assert len(emulator.files()) == 1
        cli(server.data_dir, "resend", str(row["id"]), "--yes")
        wait_until(lambda: all_in(server.data_dir, DELIVERED, 1) and len(emulator.files()) == 2)
        references = sorted(f["senderReference"] for f in emulator.files())
        assert references == [row["uuid"], row["uuid"] + "-r1"]
        assert [r["state"] for r in invoices(server.data_dir)] in (["delivered"], ["fetched"])
    finally:
        server.stop()
