"""Attachments with manual attachment handling at Pagero Online, from the command line, through real servers.

The emulator keeps every attachment it is sent (repeats included), so "exactly once" is checked
there; a kill -9 at each step of sending them must not lose one or send one twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfWriter

from connect_core.invoices.attachment_rules import MAX_BYTES
from tests.support.attachments import docx_bytes, pdf_of_size, tiff_bytes, write
from tests.support.cli import cli, invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server


@pytest.fixture
def manual(data_root: Path) -> Emulator:
    """An emulator whose account has manual attachment handling on; DE811234567 is sent as E-print."""
    emulator = Emulator(data_root / "emulator").start()
    emulator.manual_attachment_handling(True)
    emulator.register({"E-PRINT-KUNDE": "EPrint"}, default="Electronic")
    yield emulator  # type: ignore[misc]
    emulator.stop()


def _awaiting(data_dir: Path, count: int) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        rows = invoices(data_dir)
        return rows if len(rows) == count and all(r["state"] == "awaiting-attachments" for r in rows) else None
    return list(wait_until(check, timeout=90, message="invoices did not come to await attachments"))


def _file_of(emulator: Emulator, reference: str) -> dict[str, Any]:
    (found,) = [f for f in emulator.files() if f["senderReference"] == reference]
    return found


def test_attachments_added_from_the_command_line_reach_the_service_once(data_root: Path, manual: Emulator) -> None:
    server = Server(data_root / "data", config=manual.product_config(data_root / "c.yaml")).start()
    try:
        pdf = invoice_pdf(data_root / "inv.pdf", "ATT-1", seller="Kunde E-PRINT-KUNDE AG")
        cli(server.data_dir, "import", str(pdf), config=server.config)
        (row,) = _awaiting(server.data_dir, 1)
        assert row["distribution"] == "EPrint"
        invoice = str(row["id"])
        shown = json.loads(cli(server.data_dir, "show", invoice, "--json", config=server.config).stdout)
        assert "add the attachments" in shown["reason"]

        exact = write(data_root / "lieferschein.pdf", pdf_of_size(MAX_BYTES))
        too_big = write(data_root / "gross.pdf", pdf_of_size(MAX_BYTES + 1))
        scan200 = write(data_root / "scan200.tif", tiff_bytes(200))
        scan300 = write(data_root / "scan300.tif", tiff_bytes(300))
        fake = write(data_root / "vertrag.pdf", b"This is a contract, typed as text.\n")

        added = cli(server.data_dir, "attach", invoice, str(exact), "--type", "delivery note", "--note",
                    "Lieferung 1/2", config=server.config)
        assert "5,242,880 bytes" in added.stdout and "Delivery note" in added.stdout
        for path, words in ((too_big, "at most 5,242,880"), (scan200, "must be 300 dpi"), (fake, "named like a PDF")):
            refused = cli(server.data_dir, "attach", invoice, str(path), "--type", "Other", config=server.config,
                          check=False)
            assert refused.returncode == 2 and words in refused.stderr, refused.stderr
            assert refused.stderr.count("\n") == 2  # the data-dir line and one line saying why
        cli(server.data_dir, "attach", invoice, str(scan300), "--type", "TimeSheet", config=server.config)
        docx = write(data_root / "zeit.docx", docx_bytes())
        refused = cli(server.data_dir, "attach", invoice, str(docx), "--type", "TimeSheet", config=server.config,
                      check=False)
        assert refused.returncode == 2 and "PDF or TIFF" in refused.stderr

        listed = json.loads(cli(server.data_dir, "attachments", invoice, "--json", config=server.config).stdout)
        assert [(a["name"], a["type_name"], a["sent"]) for a in listed] == [
            ("lieferschein.pdf", "Delivery note", False), ("scan300.tif", "Time sheet", False)]
        # Removed before sending: it never reaches the service.
        cli(server.data_dir, "detach", invoice, str(listed[1]["id"]), config=server.config)
        cli(server.data_dir, "send", invoice, config=server.config)

        def released() -> bool:
            at_service = _file_of(manual, row["uuid"])
            return not at_service["awaitingAttachments"] and invoices(server.data_dir)[0]["state"] in (
                "sent", "delivered", "fetched")
        wait_until(released, timeout=60, message="the attachments were not sent and the invoice not released")
        at_service = _file_of(manual, row["uuid"])
        assert [(a["fileName"], a["documentType"], a["note"], a["size"]) for a in at_service["attachments"]] == [
            ("lieferschein.pdf", "DeliveryNote", "Lieferung 1/2", MAX_BYTES)]
        listed = json.loads(cli(server.data_dir, "attachments", invoice, "--json", config=server.config).stdout)
        assert [a["sent"] for a in listed] == [True]
        late = cli(server.data_dir, "attach", invoice, str(exact), "--type", "Other", config=server.config,
                   check=False)
        assert late.returncode == 2 and "attachments are added while Pagero Online holds" in late.stderr
    finally:
        server.stop()


def test_a_resend_is_asked_for_attachments_again_and_the_kept_ones_go_again(data_root: Path,
                                                                            manual: Emulator) -> None:
    server = Server(data_root / "data", config=manual.product_config(data_root / "c.yaml")).start()
    try:
        cli(server.data_dir, "import", str(invoice_pdf(data_root / "inv.pdf", "ATT-2")), config=server.config)
        (row,) = _awaiting(server.data_dir, 1)
        invoice = str(row["id"])
        cli(server.data_dir, "attach", invoice, str(write(data_root / "v.pdf", pdf_of_size(4000))), "--type",
            "Contract", config=server.config)
        cli(server.data_dir, "send", invoice, config=server.config)
        wait_until(lambda: invoices(server.data_dir)[0]["state"] in ("delivered", "fetched"), timeout=60)
        cli(server.data_dir, "resend", invoice, "--yes", config=server.config)
        _awaiting(server.data_dir, 1)
        history = json.loads(cli(server.data_dir, "show", invoice, "--json", config=server.config).stdout)["history"]
        assert any("asks for attachments again after the resend" in e["what"] for e in history)
        listed = json.loads(cli(server.data_dir, "attachments", invoice, "--json", config=server.config).stdout)
        assert [a["sent"] for a in listed] == [False]  # kept here; not yet with this sending
        cli(server.data_dir, "send", invoice, config=server.config)
        wait_until(lambda: invoices(server.data_dir)[0]["state"] in ("sent", "delivered", "fetched"), timeout=60)
        files = [f for f in manual.files() if f["senderReference"].startswith(row["uuid"])]
        assert len(files) == 2 and [len(f["attachments"]) for f in files] == [1, 1]
    finally:
        server.stop()


def test_sending_asks_when_other_invoices_of_the_print_have_no_attachment(data_root: Path, manual: Emulator) -> None:
    server = Server(data_root / "data", config=manual.product_config(data_root / "c.yaml")).start()
    try:
        writer = PdfWriter()
        for number in ("ATT-10", "ATT-11"):
            writer.append(str(invoice_pdf(data_root / f"{number}.pdf", number)))
        both = data_root / "both.pdf"
        writer.write(str(both))
        cli(server.data_dir, "import", str(both), config=server.config)
        rows = sorted(_awaiting(server.data_dir, 2), key=lambda r: r["id"])
        first, second = str(rows[0]["id"]), str(rows[1]["id"])
        cli(server.data_dir, "attach", first, str(write(data_root / "l.pdf", pdf_of_size(3000))), "--type", "Order",
            config=server.config)
        asked = cli(server.data_dir, "send", first, config=server.config, check=False)
        assert asked.returncode == 2
        assert "Some invoices of this print have no attachment (invoice ATT-11). Send anyway?" in asked.stderr
        assert "--yes" in asked.stderr
        assert {r["state"] for r in invoices(server.data_dir)} == {"awaiting-attachments"}
        cli(server.data_dir, "send", first, "--yes", config=server.config)
        wait_until(lambda: {r["id"]: r["state"] for r in invoices(server.data_dir)}[rows[0]["id"]] in (
            "sent", "delivered", "fetched"), timeout=60)
        # The one without is still an invoice of that print with no attachment: asked again, then sent.
        assert cli(server.data_dir, "send", second, config=server.config, check=False).returncode == 2
        cli(server.data_dir, "send", second, "--yes", config=server.config)
        wait_until(lambda: {r["state"] for r in invoices(server.data_dir)} <= {"sent", "delivered", "fetched"},
                   timeout=60)
        counts = sorted(len(f["attachments"]) for f in manual.files())
        assert counts == [0, 1]
    finally:
        server.stop()


@pytest.mark.parametrize("point", ["before_attachment_upload", "after_attachment_before_commit", "before_release"])
def test_a_kill_while_sending_attachments_sends_each_exactly_once(point: str, data_root: Path,
                                                                   manual: Emulator) -> None:
    config = manual.product_config(data_root / "c.yaml")
    server = Server(data_root / "data", config=config).start()
    cli(server.data_dir, "import", str(invoice_pdf(data_root / "inv.pdf", "ATT-90")), config=config)
    (row,) = _awaiting(server.data_dir, 1)
    invoice = str(row["id"])
    for n in range(2):
        cli(server.data_dir, "attach", invoice, str(write(data_root / f"a{n}.pdf", pdf_of_size(3000 + n))),
            "--type", "Other", config=config)
    server.stop()
    server.start(env={"PAGERO_CRASH_AT": point})
    cli(server.data_dir, "send", invoice, config=config)
    assert server.wait_exit(60) == -9, "the crash point did not fire"
    server.start()
    try:
        wait_until(lambda: invoices(server.data_dir)[0]["state"] in ("sent", "delivered", "fetched"), timeout=60,
                   message="the attachments were not finished after the restart")
        at_service = _file_of(manual, row["uuid"])
        assert sorted(a["size"] for a in at_service["attachments"]) == [3000, 3001], "lost or sent twice"
        assert not at_service["awaitingAttachments"]
    finally:
        server.stop()
