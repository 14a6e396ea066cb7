"""The ``pagero-connect`` command: one subcommand per task, each a small handler.

Every subcommand accepts ``--config FILE`` and ``--data-dir DIR`` and works while
``serve`` runs on the same data dir (the store is shared safely through SQLite WAL).
Errors become one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from connect_core.cli import invoices, system, users
from connect_core.cli.common import Handler
from connect_core.config import load_config
from connect_core.errors import ConnectError
from connect_core.paths import default_config_file


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand of ``pagero-connect``."""
    parser = argparse.ArgumentParser(prog="pagero-connect", description="Print to send e-invoices with Pagero Online.")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (system, invoices, users):
        module.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns its exit code (2 with one line on stderr for any refusal)."""
    args = build_parser().parse_args(argv)
    try:
        overrides = {"storage.data_dir": args.data_dir, "printer.listen": getattr(args, "listen", None)}
        config_file = args.config
        if config_file is None and default_config_file().is_file():
            config_file = default_config_file()
        config = load_config(config_file, overrides)
        handler: Handler = args.handler
        code = handler(args, config)
        sys.stdout.flush()  # inside the try: a reader that went away is handled below, not at exit
        return code
    except ConnectError as error:
        print(f"pagero-connect: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`pagero-connect list | head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
