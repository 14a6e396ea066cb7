"""The invoice commands' answers: states checked, refusals in words, and who the history names."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.cli import INVOICE, cli, invoices
from tests.support.harness import REPO
from tests.support.web import add_user


def history(data_dir: Path, invoice_id: int, *extra: str) -> list[dict[str, Any]]:
    """The invoice's history as ``show --json`` gives it."""
    return list(json.loads(cli(data_dir, "show", str(invoice_id), "--json", *extra).stdout)["history"])


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a refused command (after the line naming the data dir, if any)."""
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("pagero-connect: data in ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_list_checks_the_state_and_suggests_the_spelling(data_root: Path) -> None:
    data_dir = data_root / "data"
    cli(data_dir, "import", str(INVOICE))
    assert refusal(cli(data_dir, "list", "--state", "bogus", check=False)).startswith(
        "pagero-connect list: argument --state: invalid state 'bogus' (choose from received, converted, ready")
    assert refusal(cli(data_dir, "list", "--state", "needs_attention", check=False)) == (
        "pagero-connect list: argument --state: invalid state 'needs_attention': did you mean needs-attention?")
    assert json.loads(cli(data_dir, "list", "--state", "needs-attention", "--json").stdout) == []
    assert len(json.loads(cli(data_dir, "list", "--state", "ready", "--json").stdout)) == 1


def test_the_store_a_command_uses_is_named_on_stderr_and_stdout_stays_json(data_root: Path) -> None:
    data_dir = data_root / "data"
    imported = cli(data_dir, "import", str(INVOICE))
    assert imported.stderr.splitlines()[0] == f"pagero-connect: data in {data_dir} (new)"
    listed = cli(data_dir, "list", "--json")
    assert listed.stderr == f"pagero-connect: data in {data_dir}\n"
    assert len(json.loads(listed.stdout)) == 1


def test_reading_commands_never_create_a_store(data_root: Path) -> None:
    data_dir = data_root / "nothing"
    for args in (("list",), ("show", "1"), ("send", "--all"), ("inbound",), ("user", "list"), ("purge",)):
        line = refusal(cli(data_dir, *args, check=False))
        assert line == (f"pagero-connect: no Pagero Connect data in {data_dir} yet: start `pagero-connect serve` "
                        "first, or name the data dir it uses with --data-dir"), args
    assert not data_dir.exists()


def test_send_of_an_unknown_invoice_and_a_second_delete_say_what_is_wrong(data_root: Path) -> None:
    data_dir = data_root / "data"
    cli(data_dir, "import", str(INVOICE))
    (row,) = invoices(data_dir)
    assert refusal(cli(data_dir, "send", "999", check=False)) == "pagero-connect: no invoice 999"
    assert cli(data_dir, "delete", str(row["id"])).stdout == f"Invoice {row['id']} deleted.\n"
    assert refusal(cli(data_dir, "delete", str(row["id"]), check=False)) == (
        f"pagero-connect: invoice {row['id']} is already deleted")


def test_approve_is_recorded_as_the_person_who_ran_it(data_root: Path) -> None:
    data_dir = data_root / "data"
    cli(data_dir, "import", str(INVOICE), str(INVOICE), str(INVOICE))
    duplicates = sorted(row["id"] for row in invoices(data_dir, "--state", "possible-duplicate"))
    assert len(duplicates) == 2
    add_user(data_dir, "anna", admin=True)

    cli(data_dir, "approve", str(duplicates[0]))
    cli(data_dir, "approve", str(duplicates[1]), "--as", "anna")

    def approver(invoice_id: int) -> str:
        (event,) = [e for e in history(data_dir, invoice_id) if e["what"] == "approved"]
        return str(event["who"])

    assert approver(duplicates[0]) == f"{getpass.getuser()} (command line)"
    assert approver(duplicates[1]) == "anna"


def test_help_still_prints_the_whole_help() -> None:
    result = subprocess.run([sys.executable, "-m", "connect_core.cli", "import", "--help"], capture_output=True,
                            text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: pagero-connect import") and "Exit status: 0 when" in result.stdout
