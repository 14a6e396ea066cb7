"""``pagero-connect user …``: the status page's users, managed from the office machine."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from connect_core.cli.common import CREATE, READ, common_options, print_rows, store
from connect_core.config import Config
from connect_core.errors import ConnectError


def read_password(args: argparse.Namespace, prompt: str) -> str:
    """The new password: one line of stdin with ``--password-stdin``, else asked twice on the terminal.

    Its length is checked right after the first prompt, so a short one is not typed twice for nothing.
    """
    from connect_core.accounts.users import check_password

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        check_password(password)
        return password
    if not sys.stdin.isatty():
        raise ConnectError("no terminal to ask for the password: pipe it in with --password-stdin")
    import getpass

    password = getpass.getpass(prompt)
    check_password(password)
    if getpass.getpass("Again: ") != password:
        raise ConnectError("the passwords differ")
    return password


def cmd_user_add(args: argparse.Namespace, config: Config) -> int:
    """Add a status page user (the first one with --admin)."""
    from connect_core.accounts.users import add_user

    password = read_password(args, f"Password for {args.name}: ")
    with store(config, create=True) as (db, _spool):
        user = add_user(db, args.name, password, role="admin" if args.admin else "clerk",
                        print_names=args.print_name or (), inbound=args.inbound)
    sees = "every invoice" if user.admin else f"invoices printed as {', '.join(user.print_names)}"
    if user.inbound and not user.admin:
        sees += " and received invoices"
    print(f"User {user.name} added ({user.role}: sees {sees}).")
    return 0


def cmd_user_list(args: argparse.Namespace, config: Config) -> int:
    """List the status page's users (removed ones are not listed)."""
    from connect_core.accounts.users import list_users

    with store(config) as (db, _spool):
        rows = [{"name": user.name, "role": user.role, "print_names": list(user.print_names),
                 "inbound": user.admin or user.inbound} for user in list_users(db)]

    def line(row: dict[str, Any]) -> str:
        sees = "every invoice" if row["role"] == "admin" else "printed as " + ", ".join(row["print_names"])
        if row["inbound"] and row["role"] != "admin":
            sees += "; received invoices"
        return f"{row['name']:<24} {row['role']:<6} {sees}"

    return print_rows(rows, args.json, "No users: add the first with `pagero-connect user add NAME --admin`.", line)


def cmd_user_inbound(args: argparse.Namespace, config: Config) -> int:
    """Let a user see received invoices, or no longer."""
    from connect_core.accounts.users import set_inbound

    with store(config) as (db, _spool):
        user = set_inbound(db, args.name, args.allow == "on")
    if user.admin:
        print(f"{user.name} is an admin and sees received invoices either way.")
    else:
        print(f"{user.name} {'now sees' if user.inbound else 'no longer sees'} received invoices.")
    return 0


def _confirmed(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def cmd_user_remove(args: argparse.Namespace, config: Config) -> int:
    """Remove a user: no more logins, their sessions end now; the history keeps their name."""
    from connect_core.accounts.users import get_user, remove_user

    with store(config) as (db, _spool):
        name = get_user(db, args.name).name  # an unknown name is refused before any question
        if not args.yes and not _confirmed(f"Remove user {name}?"):
            raise ConnectError(f"user {name} was not removed: pass --yes to remove them")
        remove_user(db, name)
    print(f"User {name} removed; their sessions have ended.")
    return 0


def cmd_user_passwd(args: argparse.Namespace, config: Config) -> int:
    """Set a user's password; their sessions end now."""
    from connect_core.accounts.users import get_user, set_password

    with store(config) as (db, _spool):
        name = get_user(db, args.name).name  # before the prompts: no password typed for nobody
        password = read_password(args, f"New password for {name}: ")
        set_password(db, name, password)
    print(f"Password of {name} changed; their sessions have ended.")
    return 0


def _subcommand(users: Any, name: str, help: str, handler: Any, data: str, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = users.add_parser(name, help=help, description=description)
    # SUPPRESS: given before the sub-command's name, these must not be reset by its defaults.
    common_options(parser, suppress=True)
    parser.set_defaults(handler=handler, data=data)
    return parser


def add_commands(commands: Any) -> None:
    """``pagero-connect user add | list | remove | passwd``."""
    user = commands.add_parser("user", help="manage the status page's users",
                               description="Manage the status page's users.")
    common_options(user)
    user_commands = user.add_subparsers(dest="user_command", required=True)

    user_add = _subcommand(user_commands, "add", "add a user (the first one with --admin)", cmd_user_add, CREATE,
                           "Add a status page user; the password is asked for.")
    user_add.add_argument("name")
    user_add.add_argument("--admin", action="store_true", help="may see everything and change settings")
    user_add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user_add.add_argument("--print-name", action="append", metavar="NAME",
                          help="an IPP requesting-user-name whose invoices this user sees (default: the user "
                               "name; repeat for several)")

    user_add.add_argument("--inbound", action="store_true", help="may see received invoices (admins always do)")

    user_inbound = _subcommand(user_commands, "inbound", "let a user see received invoices, or no longer",
                               cmd_user_inbound, READ, "Give a user the inbound role (on) or take it away (off).")
    user_inbound.add_argument("name")
    user_inbound.add_argument("allow", choices=("on", "off"))

    user_list = _subcommand(user_commands, "list", "list the users", cmd_user_list, READ,
                            "List the status page's users, their roles and print names.")
    user_list.add_argument("--json", action="store_true", help="print a JSON array")

    user_remove = _subcommand(user_commands, "remove", "remove a user (never the last admin)", cmd_user_remove,
                              READ, "Remove a status page user: they can no longer log in and their sessions end "
                                    "at once.  Their name stays in the invoices' history.  The last admin cannot "
                                    "be removed.")
    user_remove.add_argument("name")
    user_remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    user_passwd = _subcommand(user_commands, "passwd", "set a user's password", cmd_user_passwd, READ,
                              "Set a status page user's password; their sessions end at once.")
    user_passwd.add_argument("name")
    user_passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
