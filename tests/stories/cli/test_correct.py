"""Correcting an invoice on the command line teaches its layout: the waiting ones move on, the next ones are read.

The real ``pagero-connect`` command on a real store: ``import`` runs the pipeline itself (no server),
``correct`` calls :func:`connect_core.pipeline.correct.correct`, ``layouts`` lists what was learned.
"""

from __future__ import annotations

import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import cli, import_and_send, invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator
from tests.support.harness import running
from tests.support.unread import UnreadInvoice, series, unread_invoice
from tests.support.web import add_user

FIELDS = "invoice_number, issue_date, due_date, currency, total, buyer"


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a refused command (besides the line naming the data dir), exit 2, nothing on stdout."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("pagero-connect: data in ")]
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def printed(inv: UnreadInvoice) -> list[str]:
    """``correct``'s FIELD=VALUE arguments with the values printed on ``inv``."""
    return [f"invoice_number={inv.number}", f"issue_date={inv.issued.isoformat()}", f"due_date={inv.due.isoformat()}",
            f"total={inv.total}", f"buyer={inv.buyer}"]


def shows(row: dict[str, Any], inv: UnreadInvoice) -> bool:
    """Whether an invoice row (``list --json``) holds exactly the values printed on ``inv``."""
    return (row["invoice_number"], row["issue_date"], row["due_date"], row["buyer"]) == (
        inv.number, inv.issued.isoformat(), inv.due.isoformat(), inv.buyer) and Decimal(row["total"]) == inv.total


def imported(data_dir: Path, folder: Path, layout: str, made: list[UnreadInvoice]) -> list[int]:
    """Import ``made`` drawn in ``layout`` (one command); the ids of their invoices, in the same order."""
    files = [unread_invoice(folder / f"{layout}-{inv.number.replace('/', '-')}.pdf", layout, inv) for inv in made]
    before = {row["id"] for row in invoices(data_dir)} if (data_dir / "connect.db").exists() else set()
    cli(data_dir, "import", *map(str, files))
    new = sorted(row["id"] for row in invoices(data_dir) if row["id"] not in before)
    assert len(new) == len(made)
    return new


def by_id(data_dir: Path) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in invoices(data_dir)}


def layouts(data_dir: Path) -> list[dict[str, Any]]:
    return list(json.loads(cli(data_dir, "layouts", "--json").stdout))


def test_one_correction_teaches_the_layout_to_the_waiting_and_the_next_invoices(data_root: Path) -> None:
    data_dir = data_root / "data"
    made = series("magyar", 5)
    first, *others = ids = imported(data_dir, data_root, "magyar", made[:3])
    assert {by_id(data_dir)[n]["state"] for n in ids} == {"needs-attention"}

    corrected = cli(data_dir, "correct", str(first), *printed(made[0]))
    (summary,) = corrected.stdout.splitlines()
    assert summary.startswith(f"Invoice {first} corrected (") and "Learned layout '" in summary, summary
    assert "2 waiting invoices read again" in summary, summary
    name = re.search(r"Learned layout '([^']+)'", summary).group(1)  # type: ignore[union-attr]
    rows = by_id(data_dir)
    for n, inv in zip(ids, made, strict=False):
        assert rows[n]["state"] == "ready", rows[n]
        assert shows(rows[n], inv), rows[n]

    # The next invoice of that office is read through the layout as it comes in.
    (fourth,) = imported(data_dir, data_root, "magyar", made[3:4])
    detail = json.loads(cli(data_dir, "show", str(fourth), "--json").stdout)
    assert detail["state"] == "ready" and shows(detail, made[3]), detail
    sources = {field["name"]: field["source"] for field in detail["fields"]}
    assert sources["invoice_number"] == sources["total"] == f"template:{name}", sources
    (layout,) = layouts(data_dir)
    assert layout["learned_from"] == first and layout["learned"] and layout["reads"] >= 3, layout
    assert layout["learned_by"].endswith("(command line)") and layout["error"] == ""
    assert {"invoice_number", "issue_date", "total"} <= set(layout["fields"])

    # The history names who corrected and which layout read an invoice.
    history = cli(data_dir, "show", str(first)).stdout.split("History:")[1]
    assert "fields corrected by " in history and f"layout {name!r} learned from this invoice by " in history, history
    assert "(command line)" in history
    history = cli(data_dir, "show", str(others[0])).stdout.split("History:")[1]
    assert f"read again through layout {name!r}" in history and f"learned from invoice {first} by " in history

    table = cli(data_dir, "layouts").stdout.splitlines()
    assert table[0].split() == ["name", "learned", "from", "by", "when", "fields", "reads", "last", "used"]
    assert table[1].startswith(name) and f"invoice {first}" in table[1]
    assert yaml.safe_load(cli(data_dir, "layouts", "show", name).stdout)["name"] == name

    # A template file edited into nonsense is named with its key; the learned layout keeps working.
    folder = data_dir / "templates"
    (folder / "broken-list.yaml").write_text("name: broken\nkeywords: [Számla]\nfields: [1, 2]\n")
    (folder / "broken-regex.yaml").write_text("name: regex\nkeywords: [Számla]\nfields:\n  total: 'Fizetendő (\\d+'\n")
    listed = cli(data_dir, "layouts", "--json")
    refused = [line for line in listed.stderr.splitlines() if not line.startswith("pagero-connect: data in ")]
    assert len(refused) == 2, listed.stderr
    assert "broken-list.yaml" in refused[0] and "'fields'" in refused[0], refused
    assert "broken-regex.yaml" in refused[1] and "fields.total" in refused[1], refused
    rows = json.loads(listed.stdout)
    assert [bool(row["error"]) for row in rows] == [True, True, False], rows
    assert cli(data_dir, "layouts").stdout.count("refused") == 2
    (fifth,) = imported(data_dir, data_root, "magyar", made[4:5])
    row = by_id(data_dir)[fifth]
    assert row["state"] == "ready" and shows(row, made[4]), row


def test_mistakes_are_one_line_and_change_nothing_and_no_learn_learns_nothing(data_root: Path) -> None:
    data_dir = data_root / "data"
    made = series("unusual", 3)
    first, second, third = imported(data_dir, data_root, "unusual", made)
    argv = ["correct", str(first)]

    assert error_line(cli(data_dir, *argv, "amount=12.50", check=False)) == (
        f"pagero-connect: unknown field 'amount': the fields are {FIELDS}")
    assert error_line(cli(data_dir, *argv, "total", check=False)) == (
        f"pagero-connect: 'total' is not FIELD=VALUE (e.g. total=1234.50); the fields are {FIELDS}")
    assert error_line(cli(data_dir, *argv, "total=1.00", "total=2.00", check=False)) == (
        "pagero-connect: total is given twice ('1.00' and '2.00'): give each field once")
    assert error_line(cli(data_dir, *argv, "total=12,50", check=False)).startswith("pagero-connect: total: ")
    assert error_line(cli(data_dir, *argv, "issue_date=31.12.2026", check=False)).startswith(
        "pagero-connect: issue_date: ")
    assert error_line(cli(data_dir, "correct", "999", "total=1.00", check=False)) == "pagero-connect: no invoice 999"
    assert {row["state"] for row in invoices(data_dir)} == {"needs-attention"}

    # --no-learn: this invoice only (here with a buyer other than the printed one).
    other_buyer = "Someone Else Ltd"
    alone = cli(data_dir, *argv, *printed(made[0])[:-1], f"buyer={other_buyer}", "--no-learn", "--json")
    done = json.loads(alone.stdout)
    assert done["id"] == first and done["layout"] is None and done["reread"] == [] and done["nothing_learned"]
    assert done["changed"]["buyer"][1] == other_buyer
    rows = by_id(data_dir)
    assert rows[first]["state"] == "ready" and rows[first]["buyer"] == other_buyer
    assert (rows[second]["state"], rows[third]["state"]) == ("needs-attention", "needs-attention")
    assert layouts(data_dir) == []

    # Learning from the second reads the third again (the person's own values on the first stay: checked last).
    learned = cli(data_dir, "correct", str(second), *printed(made[1])).stdout
    assert "Learned layout '" in learned and "No layout learned" not in learned, learned
    rows = by_id(data_dir)
    assert rows[third]["state"] == "ready" and shows(rows[third], made[2]), rows[third]
    (layout,) = layouts(data_dir)
    name = layout["name"]

    # Layouts: unknown names, a clerk may not delete, an admin renames and deletes.
    add_user(data_dir, "ben")
    for args in (("show", "nosuch"), ("rename", "nosuch", "other"), ("delete", "nosuch")):
        assert "nosuch" in error_line(cli(data_dir, "layouts", *args, check=False)), args
    refused = error_line(cli(data_dir, "layouts", "delete", name, "--as", "ben", check=False))
    assert refused.startswith("pagero-connect: ") and "admin" in refused, refused
    renamed = cli(data_dir, "layouts", "rename", name, "Harbour Lane")
    assert renamed.stdout.startswith(f"Layout {name!r} renamed to 'Harbour Lane'"), renamed.stdout
    assert [row["name"] for row in layouts(data_dir)] == ["Harbour Lane"]
    assert cli(data_dir, "layouts", "delete", "Harbour Lane").stdout.startswith("Layout 'Harbour Lane' deleted")
    assert cli(data_dir, "layouts").stdout.startswith("No layouts in ")

    # A deleted invoice cannot be corrected.
    cli(data_dir, "delete", str(third))
    assert f"invoice {third} is" in error_line(cli(data_dir, "correct", str(third), "total=1.00", check=False))

    assert by_id(data_dir)[first]["buyer"] == other_buyer, "a re-read must not undo a person's correction"


def test_a_sent_invoice_cannot_be_corrected(data_root: Path, emulator: Emulator) -> None:
    config = emulator.product_config(data_root / "config.yaml", mode="manual")
    with running(data_root / "data", config=config) as server:
        row, _state = import_and_send(server.data_dir, invoice_pdf(data_root / "RE-1.pdf", "RE-1"), config)
        line = error_line(cli(server.data_dir, "correct", str(row["id"]), "total=1.00", config=config, check=False))
        assert line.startswith(f"pagero-connect: invoice {row['id']} was already sent ("), line
        assert invoices(server.data_dir)[0]["total"] == row["total"]
