"""``pagero-connect user …``: the status page's users, managed from the office machine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from connect_core.cli.common import command, store
from connect_core.config import Config
from connect_core.errors import ConnectError


def cmd_user_add(args: argparse.Namespace, config: Config) -> int:
    from connect_core.accounts.users import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            raise ConnectError("the passwords differ")
    else:
        raise ConnectError("no terminal to ask for the password: pipe it in with --password-stdin")
    with store(config) as (db, _spool):
        user = add_user(db, args.name, password, role="admin" if args.admin else "clerk",
                        print_names=args.print_name or ())
    sees = "every invoice" if user.admin else f"invoices printed as {', '.join(user.print_names)}"
    print(f"User {user.name} added ({user.role}: sees {sees}).")
    return 0


def add_commands(commands: Any) -> None:
    """``pagero-connect user add``."""
    user = command(commands, "user", "manage the status page's users", cmd_user_add)
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_add = user_commands.add_parser("add", help="add a user (the first one with --admin)",
                                        description="Add a status page user; the password is asked for.")
    user_add.add_argument("name")
    user_add.add_argument("--admin", action="store_true", help="may see everything and change settings")
    user_add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user_add.add_argument("--print-name", action="append", metavar="NAME",
                          help="an IPP requesting-user-name whose invoices this user sees (default: the user "
                               "name; repeat for several)")
    # Given after "add", these must not be reset by the sub-command's defaults when given before it.
    user_add.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="YAML configuration file")
    user_add.add_argument("--data-dir", default=argparse.SUPPRESS, help="data directory (spool, database)")
