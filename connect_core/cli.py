"""The ``pagero-connect`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connect_core.config import load_config
from connect_core.errors import ConnectError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--data-dir", help="data directory (spool, database); overrides the config")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pagero-connect", description="Print to send e-invoices with Pagero Online.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the printer and the status page")
    _common(serve)
    serve.add_argument("--listen", help="HOST:PORT to listen on (default 0.0.0.0:8631)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {"storage.data_dir": args.data_dir, "printer.listen": getattr(args, "listen", None)}
        config = load_config(args.config, overrides)
        if args.command == "serve":
            from connect_core.serve import run

            return run(config)
    except ConnectError as error:
        print(f"pagero-connect: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
