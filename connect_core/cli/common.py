"""What every subcommand shares: its parser, the store it works on, who acts, and how rows are printed."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connect_core.config import Config

if TYPE_CHECKING:
    from connect_core.intake.spool import Spool
    from connect_core.invoices.access import Actor
    from connect_core.store import Database

Handler = Callable[[argparse.Namespace, Config], int]


def common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--data-dir", help="data directory (spool, database); overrides the config")


def command(commands: Any, name: str, help: str, handler: Handler) -> argparse.ArgumentParser:
    """Add subcommand ``name`` run by ``handler``, with the options every subcommand takes."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help, description=help)
    common_options(parser)
    parser.set_defaults(handler=handler)
    return parser


def acting_option(parser: argparse.ArgumentParser) -> None:
    """``--as USER``: act as a status page user (their invoices only, their name in the history)."""
    parser.add_argument("--as", dest="as_user", metavar="USER",
                        help="act as this status page user: only their invoices, recorded under their name")


@contextmanager
def store(config: Config) -> Iterator[tuple[Database, Spool]]:
    """The store and spool of the configured data dir, for one command."""
    from connect_core.intake.spool import Spool
    from connect_core.store import open_database

    data_dir = config.data_dir
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = open_database(config.storage.database_url, data_dir)
    try:
        yield db, Spool(data_dir / "spool")
    finally:
        db.dispose()


def actor(args: argparse.Namespace, db: Database) -> Actor:
    """Who runs this command: the status page user named by ``--as``, else the machine's user (an admin).

    Whoever can run the command on the data dir can read the store anyway, so without ``--as`` the
    command sees everything; the history records the machine user's name.
    """
    name = getattr(args, "as_user", None)
    if name:
        from connect_core.accounts.users import get_user

        return get_user(db, name).actor()
    from connect_core.invoices.access import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(f"{who} (command line)", admin=True)


def print_rows(rows: list[dict[str, Any]], as_json: bool, empty: str, line: Callable[[dict[str, Any]], str]) -> int:
    """A listing command's output: the rows as JSON, or one line each (``empty`` when there are none)."""
    if as_json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    if not rows:
        print(empty)
    for row in rows:
        print(line(row))
    return 0


def progress(done: int, total: int) -> None:
    """A progress bar on standard error."""
    width = 30
    filled = width * done // total
    print(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}", end="", file=sys.stderr, flush=True)

