"""The CLI a person uses: import with progress, list with --state and --json, show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.cli import INVOICE, OTHER_INVOICE, cli, invoices
from tests.support.harness import REPO


def test_import_lists_and_shows(data_root: Path) -> None:
    data_dir = data_root / "data"
    result = cli(data_dir, "import", str(INVOICE), str(OTHER_INVOICE), str(INVOICE))
    assert "3/3" in result.stderr  # the progress bar for many files
    rows = invoices(data_dir)
    assert len(rows) == 3
    for row in rows:
        assert {"id", "state", "job_id", "created"} <= set(row)
    assert [row["state"] for row in rows].count("possible-duplicate") == 1
    only = json.loads(cli(data_dir, "list", "--state", "possible-duplicate", "--json").stdout)
    assert len(only) == 1 and only[0]["state"] == "possible-duplicate"
    shown = json.loads(cli(data_dir, "show", str(rows[-1]["id"]), "--json").stdout)
    assert [event["to"] for event in shown["history"] if event["to"]] == ["received", "converted", "ready"]
    assert "fields read" in [event["what"] for event in shown["history"]]
    assert shown["job"]["door"] == "import"
    assert "No invoices." not in cli(data_dir, "list").stdout


def test_unknown_invoice_is_a_clear_error(data_root: Path) -> None:
    cli(data_root / "data", "import", str(INVOICE))  # show never creates a store
    result = cli(data_root / "data", "show", "999", check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"pagero-connect: data in {data_root / 'data'}",
                                          "pagero-connect: no invoice 999"]


def test_a_reader_that_goes_away_ends_the_command_quietly(data_root: Path) -> None:
    """`pagero-connect list | head`: no traceback when the pipe closes before the output is written."""
    cli(data_root / "d", "import", str(INVOICE))  # list never creates a store
    proc = subprocess.Popen([sys.executable, "-m", "connect_core.cli", "list", "--data-dir", str(data_root / "d")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before anything is written
    stderr = proc.stderr.read().decode()
    assert proc.wait(60) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
