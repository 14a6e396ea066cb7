"""The ``pagero-connect`` command: one subcommand per task, each a small handler.

Every subcommand accepts ``--config FILE`` and ``--data-dir DIR`` and works while
``serve`` runs on the same data dir (the store is shared safely through SQLite WAL).
A command that uses the store names its data dir on stderr first
(``pagero-connect: data in …``, see :func:`~connect_core.cli.common.settle_data_dir`).
Every error is one line on stderr and exit code 2, never a traceback; set
``PAGERO_CONNECT_DEBUG=1`` to see the traceback of an unexpected one.
"""

from __future__ import annotations

import os
import sys

from connect_core.cli import invoices, layouts, system, users
from connect_core.cli.common import CliParser, Handler, one_line, settle_data_dir
from connect_core.config import load_config
from connect_core.errors import ConnectError
from connect_core.paths import default_config_file


def build_parser() -> CliParser:
    """Every subcommand of ``pagero-connect``."""
    parser = CliParser(prog="pagero-connect", description="Print to send e-invoices with Pagero Online.")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (system, invoices, layouts, users):
        module.add_commands(commands)
    return parser


def _fail(message: str) -> int:
    print(f"pagero-connect: {one_line(message)}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns its exit code (2 with one line on stderr for any refusal)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or a wrong argument (2, its one line already printed)
        return stop.code if isinstance(stop.code, int) else 2
    try:
        overrides = {"storage.data_dir": args.data_dir, "printer.listen": getattr(args, "listen", None)}
        config_file = args.config
        if config_file is None and default_config_file().is_file():
            config_file = default_config_file()
        config = load_config(config_file, overrides)
        config = settle_data_dir(config, getattr(args, "data", None), own_config=config_file is not None)
        handler: Handler = args.handler
        code = handler(args, config)
        sys.stdout.flush()  # inside the try: a reader that went away is handled below, not at exit
        return code
    except ConnectError as error:
        return _fail(str(error))
    except BrokenPipeError:
        # The reader went away (`pagero-connect list | head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(file=sys.stderr)  # after the ^C the terminal shows
        _fail("interrupted")
        return 130
    except OSError as error:  # a file or folder the command was pointed at, or a full disk
        where = f": {error.filename}" if error.filename else ""
        return _fail(f"{error.strerror or error}{where}")
    except Exception as error:
        if os.environ.get("PAGERO_CONNECT_DEBUG"):
            raise
        return _fail(f"unexpected error ({type(error).__name__}: {error}); run again with PAGERO_CONNECT_DEBUG=1 "
                     "to see where")
