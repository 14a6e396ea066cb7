"""``pagero-connect layouts …``: the invoice layouts in ``<data dir>/templates``, learned and hand-written.

Each calls the same service function as the status page's *Settings → Layouts*
(:mod:`connect_core.pipeline.correct`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

from connect_core.cli.common import READ, acting_option, actor, common_options, store
from connect_core.config import Config

if TYPE_CHECKING:
    from connect_core.pipeline.correct import Layout

LAYOUTS_HELP = """List the invoice layouts in <data dir>/templates: those learned from a correction
(`pagero-connect correct`) and those written by hand.

For each: the invoice it was learned from, by whom and when, the fields it reads, how many
invoices it has read since and when it was last used.  A file that cannot be used (edited into
something that is not a layout) is listed with the reason, and named on stderr; it is skipped
and the other layouts keep working.  Exit status 0 even then."""

HEADINGS = ("name", "learned from", "by", "when", "fields", "reads", "last used")


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def layout_cells(layout: Layout) -> tuple[str, ...]:
    """One layout's row of the table (a refused file: its name and why it is refused)."""
    if layout.error:
        return (layout.name, f"refused: {layout.error}")
    if layout.learned:
        source = f"invoice {layout.learned_from}" if layout.learned_from is not None else "-"
        by = layout.learned_by or "-"
    else:
        source, by = "by hand", "-"
    return (layout.name, source, by, _when(layout.learned_at), ", ".join(layout.fields) or "-", str(layout.reads),
            _when(layout.last_used))


def table(rows: list[tuple[str, ...]]) -> list[str]:
    """``rows`` as aligned lines under :data:`HEADINGS`; a short row (a refused file) is not aligned after its name."""
    full = [HEADINGS, *(row for row in rows if len(row) == len(HEADINGS))]
    widths = [max(len(row[n]) for row in full) for n in range(len(HEADINGS))]

    def line(row: tuple[str, ...]) -> str:
        if len(row) != len(HEADINGS):
            return f"{row[0]:<{widths[0]}}  {'  '.join(row[1:])}"
        return "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()

    return [line(HEADINGS), *map(line, rows)]


def cmd_layouts(args: argparse.Namespace, config: Config) -> int:
    """List the layouts (a refused file also on stderr, one line each; exit 0)."""
    from connect_core.pipeline.correct import list_layouts, templates_dir

    with store(config) as (db, spool):
        found = list_layouts(db, spool)
        folder = templates_dir(spool)
    for layout in found:
        if layout.error:
            print(f"pagero-connect: layout file refused, skipped: {layout.error}", file=sys.stderr)
    if args.json:
        print(json.dumps([layout.to_json() for layout in found], indent=1, ensure_ascii=False))
    elif not found:
        print(f"No layouts in {folder}: correct an invoice (`pagero-connect correct`) to learn one.")
    else:
        for line in table([layout_cells(layout) for layout in found]):
            print(line)
    return 0


def cmd_layout_show(args: argparse.Namespace, config: Config) -> int:
    """Print one layout's file (YAML)."""
    from connect_core.pipeline.correct import layout_yaml

    with store(config) as (_db, spool):
        text = layout_yaml(spool, args.name)
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def cmd_layout_rename(args: argparse.Namespace, config: Config) -> int:
    """Give a learned layout another name (admins only)."""
    from connect_core.pipeline.correct import rename_layout

    with store(config) as (db, spool):
        layout = rename_layout(db, spool, args.name, args.new_name, actor(args, db))
    print(f"Layout {args.name!r} renamed to {layout.name!r} ({layout.file}).")
    return 0


def cmd_layout_delete(args: argparse.Namespace, config: Config) -> int:
    """Delete a layout (admins only); the invoices it read keep their values."""
    from connect_core.pipeline.correct import delete_layout

    with store(config) as (db, spool):
        delete_layout(db, spool, args.name, actor(args, db))
    print(f"Layout {args.name!r} deleted; the invoices it read keep their values.")
    return 0


def _subcommand(layouts: Any, name: str, help: str, handler: Any, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = layouts.add_parser(name, help=help, description=description)
    # SUPPRESS: given before the sub-command's name, these must not be reset by its defaults.
    common_options(parser, suppress=True)
    parser.set_defaults(handler=handler, data=READ)
    return parser


def add_commands(commands: Any) -> None:
    """``pagero-connect layouts [show | rename | delete]``."""
    layouts = commands.add_parser("layouts", help="list the invoice layouts learned from corrections (show, rename, "
                                                  "delete one)",
                                  description=LAYOUTS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_options(layouts)
    layouts.add_argument("--json", action="store_true", help="print a JSON array")
    layouts.set_defaults(handler=cmd_layouts, data=READ)
    layout_commands = layouts.add_subparsers(dest="layouts_command", metavar="{show,rename,delete}")

    show = _subcommand(layout_commands, "show", "print a layout's file (YAML)", cmd_layout_show,
                       "Print a layout's file as YAML, as it is kept in <data dir>/templates.")
    show.add_argument("name")

    rename = _subcommand(layout_commands, "rename", "give a learned layout another name (admins only)",
                         cmd_layout_rename,
                         "Give a learned layout another name (admins only): 1 to 80 letters, digits, spaces or "
                         ".,&()'+-.  A layout written by hand is renamed in its file.")
    rename.add_argument("name")
    rename.add_argument("new_name", metavar="NEW")
    acting_option(rename)

    delete = _subcommand(layout_commands, "delete", "delete a layout (admins only)", cmd_layout_delete,
                         "Delete a layout's file (admins only); the invoices it read keep their values.")
    delete.add_argument("name")
    acting_option(delete)
