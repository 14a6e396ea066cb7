"""``correct``'s FIELD=VALUE arguments and the ``layouts`` table, without a store."""

from __future__ import annotations

import datetime as dt

import pytest

from connect_core.cli import build_parser
from connect_core.cli.invoices import CORRECT_FIELDS, CORRECT_HELP, field_values
from connect_core.cli.layouts import layout_cells, table
from connect_core.errors import ConnectError
from connect_core.pipeline.correct import FIELDS, Layout


def test_the_help_names_the_fields_the_service_takes() -> None:
    assert CORRECT_FIELDS == FIELDS
    assert ", ".join(FIELDS) in " ".join(CORRECT_HELP.split())


def test_field_values() -> None:
    assert field_values(["total=12.50", "buyer=A=B Ltd", "due_date="], FIELDS) == {
        "total": "12.50", "buyer": "A=B Ltd", "due_date": ""}
    with pytest.raises(ConnectError, match=r"^unknown field 'amount': the fields are invoice_number, issue_date"):
        field_values(["amount=1"], FIELDS)
    with pytest.raises(ConnectError, match=r"^'total' is not FIELD=VALUE"):
        field_values(["total"], FIELDS)
    with pytest.raises(ConnectError, match=r"^total is given twice \('1' and '2'\)"):
        field_values(["total=1", "total=2"], FIELDS)


def test_the_parser_takes_the_options_before_or_after_the_values() -> None:
    args = build_parser().parse_args(["correct", "7", "--no-learn", "total=1.00", "buyer=X", "--as", "ben"])
    assert (args.id, args.values, args.no_learn, args.as_user, args.json) == (7, ["total=1.00", "buyer=X"], True,
                                                                              "ben", False)
    listing = build_parser().parse_args(["layouts", "--json"])
    assert listing.handler.__name__ == "cmd_layouts" and listing.json
    deleting = build_parser().parse_args(["layouts", "delete", "x", "--as", "ben", "--data-dir", "/d"])
    assert (deleting.handler.__name__, deleting.name, deleting.as_user, deleting.data_dir) == (
        "cmd_layout_delete", "x", "ben", "/d")
    before = build_parser().parse_args(["layouts", "--data-dir", "/d", "show", "x"])
    assert (before.handler.__name__, before.data_dir) == ("cmd_layout_show", "/d")


def test_the_layouts_table() -> None:
    when = dt.datetime(2026, 5, 4, 10, 30)
    learned = Layout("tisza", "tisza.yaml", True, ("invoice_number", "total"), 3, "anna", when, 4, when)
    by_hand = Layout("moulin", "moulin.yaml", False, ("total",))
    refused = Layout("broken", "broken.yaml", False, error="broken.yaml: 'fields' must map field names")
    lines = table([layout_cells(layout) for layout in (by_hand, learned, refused)])
    assert lines[0].split() == ["name", "learned", "from", "by", "when", "fields", "reads", "last", "used"]
    assert lines[1].split() == ["moulin", "by", "hand", "-", "-", "total", "0", "-"]
    assert lines[2].split() == ["tisza", "invoice", "3", "anna", "2026-05-04", "10:30", "invoice_number,", "total",
                                "4", "2026-05-04", "10:30"]
    assert lines[3].split()[:2] == ["broken", "refused:"] and lines[3].endswith("'fields' must map field names")
    assert lines[0].index("fields") == lines[1].index("total") == lines[2].index("invoice_number")  # aligned
