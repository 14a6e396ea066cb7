"""The commands that reach Pagero Online (the emulator) refuse in words: resend needs --yes, unknown received ids."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import cli, import_and_send
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator
from tests.support.harness import running


def error_lines(stderr: str) -> list[str]:
    """The error lines on stderr, without the line naming the data dir."""
    return [line for line in stderr.splitlines() if not line.startswith("pagero-connect: data in ")]


def test_resending_a_sent_invoice_asks_for_yes(data_root: Path, emulator: Emulator) -> None:
    config = emulator.product_config(data_root / "config.yaml", mode="manual")
    with running(data_root / "data", config=config) as server:
        row, state = import_and_send(server.data_dir, invoice_pdf(data_root / "RE-1.pdf", "RE-1"), config)
        asked = cli(server.data_dir, "resend", str(row["id"]), config=config, check=False)
        assert asked.returncode == 2
        (line,) = error_lines(asked.stderr)
        assert line.startswith(f"pagero-connect: invoice {row['id']} was already sent (")
        assert line.endswith("the recipient may get it twice; pass --yes to resend"), (state, line)
        assert cli(server.data_dir, "resend", str(row["id"]), "--yes", config=config).returncode == 0


def test_fetching_an_unknown_received_invoice_is_refused(data_root: Path, emulator: Emulator) -> None:
    folder = data_root / "received"
    folder.mkdir()
    config = emulator.product_config(data_root / "config.yaml", mode="manual")
    config.write_text(config.read_text() + f"inbound:\n  mode: manual\n  folder: {folder}\n")
    with running(data_root / "data", config=config) as server:
        refused = cli(server.data_dir, "inbound", "--fetch", "999", config=config, check=False)
        assert refused.returncode == 2 and refused.stdout == ""
        assert error_lines(refused.stderr) == ["pagero-connect: no received invoice 999"]
        checked = cli(server.data_dir, "inbound", "--check", "--json", config=config)
        rows = json.loads(checked.stdout[checked.stdout.index("["):])
        known = max((r["id"] for r in rows), default=0)
        mixed = cli(server.data_dir, "inbound", "--fetch", *[str(r["id"]) for r in rows], str(known + 1),
                    config=config, check=False)
        assert error_lines(mixed.stderr) == [f"pagero-connect: no received invoice {known + 1}"]
        assert list(folder.iterdir()) == []  # all or nothing: none was fetched
        assert rows, "the emulator offers received invoices"
        # Fetching one twice: the second time says where it already is.
        first = str(rows[0]["id"])
        cli(server.data_dir, "inbound", "--fetch", first, config=config)
        again = cli(server.data_dir, "inbound", "--fetch", first, config=config)
        assert f"Received invoice {first} was fetched before: {folder}" in again.stderr
        assert len(list(folder.iterdir())) == 1
