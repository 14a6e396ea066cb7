"""The ``pagero-connect`` command: one subcommand per task, each a small handler.

Every subcommand accepts ``--config FILE`` and ``--data-dir DIR`` and works while
``serve`` runs on the same data dir (the store is shared safely through SQLite WAL).
Errors become one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connect_core.config import Config, load_config
from connect_core.errors import ConnectError
from connect_core.paths import default_config_file

Handler = Callable[[argparse.Namespace, Config], int]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--data-dir", help="data directory (spool, database); overrides the config")


def _command(commands: Any, name: str, help: str, handler: Handler) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help, description=help)
    _common(parser)
    parser.set_defaults(handler=handler)
    return parser


# -- handlers ---------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    from connect_core.serve import run

    return run(config, demo=args.demo)


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices.service import list_invoices

    with _store(config) as (db, _spool):
        rows = list_invoices(db, state=args.state, limit=args.limit)

    def line(row: dict[str, Any]) -> str:
        number = row["invoice_number"] or "-"
        reason = f"  ({row['reason']})" if row["reason"] else ""
        return f"{row['id']:>6}  {row['state']:<18} job {row['job_id']:<6} {number:<20} {row['created']}{reason}"

    return _print_rows(rows, args.json, "No invoices.", line)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, empty: str, line: Callable[[dict[str, Any]], str]) -> int:
    """A listing command's output: the rows as JSON, or one line each (``empty`` when there are none)."""
    if as_json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print(empty)
    for row in rows:
        print(line(row))
    return 0


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices.service import get_invoice

    with _store(config) as (db, _spool):
        data = get_invoice(db, args.id)
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    print(f"Invoice {data['id']}: {data['state']}" + (f" — {data['reason']}" if data["reason"] else ""))
    for key in ("invoice_number", "issue_date", "due_date", "total", "currency", "seller", "buyer", "pages",
                "source_format", "sha256"):
        print(f"  {key.replace('_', ' '):<15} {data[key] if data[key] is not None else '-'}")
    job = data["job"]
    if job:
        print(f"  print job       {job['id']} “{job['name']}” from {job['user']} via {job['door']}")
    print("History:")
    for event in data["history"]:
        change = f" [{event['from'] or '-'} → {event['to']}]" if event["to"] else ""
        why = f": {event['why']}" if event["why"] else ""
        print(f"  {event['at']}  {event['what']}{change} by {event['who']}{why}")
    return 0


def cmd_approve(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices.service import approve

    with _store(config) as (db, _spool):
        state = approve(db, args.id, automatic=config["sending.mode"] == "automatic")
    print(f"Invoice {args.id} approved: {state.value}.")
    return 0


def cmd_delete(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices.service import delete

    with _store(config) as (db, _spool):
        delete(db, args.id)
    print(f"Invoice {args.id} deleted.")
    return 0


def cmd_import(args: argparse.Namespace, config: Config) -> int:
    from connect_core.intake.sink import PrintIntake
    from connect_core.pipeline.worker import make_pipeline

    files = [Path(f) for f in args.files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConnectError(f"not a readable file: {', '.join(missing)}")
    with _store(config) as (db, spool):
        pipeline = make_pipeline(config, db, spool)
        intake = PrintIntake(db, spool)
        show = len(files) > 1
        for done, path in enumerate(files, 1):
            try:
                job_id = intake.accept_file(path, door="import", user=args.user)
            except OSError as error:  # e.g. the disk is full, or a starting server set the file aside
                imported = f"{done - 1} of {len(files)} imported before it" if done > 1 else "nothing was imported"
                raise ConnectError(f"could not import {path}: {error.strerror or error}; {imported}") from None
            pipeline.convert_job(job_id)
            if show:
                _progress(done, len(files))
        if show:
            print(file=sys.stderr)
    print(f"Imported {len(files)} file{'s' if len(files) != 1 else ''}.")
    return 0


def cmd_send(args: argparse.Namespace, config: Config) -> int:
    from connect_core.online.outbox import send

    if not args.all and not args.ids:
        raise ConnectError("name the invoices to send, or use --all")
    environment = args.environment or config["online.environment"]
    with _store(config) as (db, _spool):
        sent = send(db, None if args.all else args.ids, environment)
    print(f"Queued {len(sent)} invoice{'s' if len(sent) != 1 else ''} for sending ({environment}).")
    return 0


def cmd_resend(args: argparse.Namespace, config: Config) -> int:
    from connect_core.online.outbox import resend

    with _store(config) as (db, _spool):
        resend(db, args.id, confirm=args.yes)
    print(f"Invoice {args.id} queued to be sent again.")
    return 0


def cmd_restart(args: argparse.Namespace, config: Config) -> int:
    from connect_core.online.outbox import make_outbox, restart

    with _store(config) as (db, spool):
        outbox = make_outbox(config, db, spool)
        if outbox is None:
            raise ConnectError("no Pagero Online account is configured (online.username)")
        restart(db, outbox.client, args.id)
    print(f"Invoice {args.id} restarted at Pagero Online.")
    return 0


def cmd_inbound(args: argparse.Namespace, config: Config) -> int:
    """List received invoices; with --fetch, ask Pagero Online first and download the named ones (or all)."""
    from connect_core.online.client import OnlineError
    from connect_core.online.inbound import list_inbound, make_inbound

    with _store(config) as (db, _spool):
        if args.fetch is not None or args.check:
            receiver = make_inbound(config, db)
            if receiver is None:
                raise ConnectError("no Pagero Online account is configured (online.username)")
            try:
                listed = receiver.list_received()
                fetched = receiver.fetch(None if args.fetch == ["all"] else [int(n) for n in args.fetch]) \
                    if args.fetch is not None else []
            except OnlineError as error:
                raise ConnectError(f"Pagero Online: {error.message}") from error
            except ValueError as error:
                raise ConnectError("name the received invoices to fetch by number, or use --fetch all") from error
            print(f"{listed} new at Pagero Online; {len(fetched)} saved in {receiver.folder}.")
        rows = list_inbound(db)

    def line(row: dict[str, Any]) -> str:
        where = f"  {row['path']}" if row["path"] else ""
        return f"{row['id']:>6}  {row['state']:<10} {row['number'] or '-':<20} {row['sender'] or '-':<30}{where}"

    return _print_rows(rows, args.json, "No received invoices.", line)


def cmd_online_emulator(args: argparse.Namespace, config: Config) -> int:
    from pagero_online_emulator.command import main as emulator_main

    argv = ["--listen", args.listen, "--data-dir", str(args.data_dir or config.data_dir / "online-emulator"),
            "--step-seconds", str(args.step_seconds)]
    if args.faults:
        argv += ["--faults", args.faults]
    if args.inbound:
        argv += ["--inbound", args.inbound]
    return emulator_main(argv)


def cmd_purge(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices.retention import purge

    with _store(config) as (db, spool):
        purged = purge(db, spool, config["retention.days"])
    print(f"Purged {len(purged)} local cop{'ies' if len(purged) != 1 else 'y'}.")
    return 0


def cmd_convert(args: argparse.Namespace, config: Config) -> int:
    from printer_backend.convert import main as convert_main

    argv = [args.input, "-o", args.output, "--paper", args.paper or config["printer.paper"]]
    return convert_main(argv + (["--json"] if args.json else []))


def cmd_install_cups_queue(args: argparse.Namespace, config: Config) -> int:
    from connect_core.intake.cups_queue import default_uri, install_queue

    uri = args.uri or default_uri(config.listen[1])
    backend = install_queue(args.name, uri, args.backend_dir, args.python)
    print(f"CUPS queue {args.name} prints to {uri} (backend {backend}).")
    return 0


def cmd_extract(args: argparse.Namespace, config: Config) -> int:
    from connect_core.pipeline.extract import load_templates, read_invoices, read_text

    pdf = Path(args.file)
    if not pdf.is_file():
        raise ConnectError(f"not a readable file: {pdf}")
    if args.text:
        for number, text in enumerate(read_text(pdf), 1):
            print(f"--- page {number}\n{text}")
        return 0
    folder = args.templates or config.data_dir / "templates"
    templates = load_templates(folder) if args.templates or folder.is_dir() else []
    invoices = read_invoices(pdf, templates)
    if args.json:
        print(json.dumps([invoice.to_json() for invoice in invoices], indent=1, ensure_ascii=False))
        return 0
    for invoice in invoices:
        first, last = invoice.pages
        print(f"Invoice {invoice.invoice_number or '(no number)'}  pages {first}-{last}")
        for name in ("issue_date", "due_date", "currency", "total", "seller", "buyer"):
            field = invoice.field(name)
            where = f"  ({field.source}, {field.confidence:.2f})" if field.value is not None else ""
            print(f"  {name.replace('_', ' '):<11} {field.value or '-'}{where}")
    return 0


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
    with _store(config) as (db, _spool):
        user = add_user(db, args.name, password, role="admin" if args.admin else "clerk",
                        print_names=args.print_name or ())
    sees = "every invoice" if user.admin else f"invoices printed as {', '.join(user.print_names)}"
    print(f"User {user.name} added ({user.role}: sees {sees}).")
    return 0


def cmd_install_service(args: argparse.Namespace, config: Config) -> int:
    from connect_core.systemd import InstallOptions, install_service

    options = InstallOptions(user=args.user, config=args.service_config, unit_dir=args.unit_dir,
                             start=not args.no_start)
    for line in install_service(options):
        print(line)
    return 0


# -- plumbing ---------------------------------------------------------------------------


class _store:
    """Open the store and spool of the configured data dir for one command."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def __enter__(self) -> tuple[Any, Any]:
        from connect_core.intake.spool import Spool
        from connect_core.store import open_database

        data_dir = self.config.data_dir
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.db = open_database(self.config["storage.database_url"], data_dir)
        return self.db, Spool(data_dir / "spool")

    def __exit__(self, *exc: object) -> None:
        self.db.dispose()


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    print(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}", end="", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pagero-connect", description="Print to send e-invoices with Pagero Online.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = _command(commands, "serve", "run the printer and the status page", cmd_serve)
    serve.add_argument("--listen", help="HOST:PORT to listen on (default 0.0.0.0:8631)")
    serve.add_argument("--demo", action="store_true",
                       help="when no Online account is configured, send to a local Pagero Online emulator")

    listing = _command(commands, "list", "list invoices, newest first", cmd_list)
    listing.add_argument("--state", help="only invoices in this state (e.g. ready, possible-duplicate)")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="print a JSON array")

    show = _command(commands, "show", "show one invoice with its history", cmd_show)
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")

    approve = _command(commands, "approve", "release a possible duplicate or an invoice needing attention",
                       cmd_approve)
    approve.add_argument("id", type=int)

    delete = _command(commands, "delete", "delete an invoice (it is never sent)", cmd_delete)
    delete.add_argument("id", type=int)

    importing = _command(commands, "import", "import PDF (or other printable) files as invoices", cmd_import)
    importing.add_argument("files", nargs="+")
    importing.add_argument("--user", default="import", help="owner of the imported invoices")

    sending = _command(commands, "send", "send invoices waiting in Files to send", cmd_send)
    sending.add_argument("ids", type=int, nargs="*")
    sending.add_argument("--all", action="store_true", help="send every invoice ready to send")
    sending.add_argument("--environment", choices=("Production", "Test", "Certification"),
                         help="send mode at Pagero Online (default: online.environment)")

    resending = _command(commands, "resend", "send an invoice again after fixing what stopped it", cmd_resend)
    resending.add_argument("id", type=int)
    resending.add_argument("--yes", action="store_true", help="confirm re-sending an invoice already delivered")

    restarting = _command(commands, "restart", "restart an invoice stopped in Error at Pagero Online", cmd_restart)
    restarting.add_argument("id", type=int)

    receiving = _command(commands, "inbound", "list received invoices; --fetch downloads them", cmd_inbound)
    receiving.add_argument("--check", action="store_true", help="ask Pagero Online for new received invoices first")
    receiving.add_argument("--fetch", nargs="+", metavar="ID",
                           help="download these received invoices (or 'all') into inbound.folder")
    receiving.add_argument("--json", action="store_true")

    emulator = _command(commands, "online-emulator", "run a local emulator of the Pagero Online API",
                        cmd_online_emulator)
    emulator.add_argument("--listen", default="127.0.0.1:8700")
    emulator.add_argument("--step-seconds", type=float, default=2.0)
    emulator.add_argument("--faults", help='JSON fault settings, e.g. {"error_rate": 0.3}')
    emulator.add_argument("--inbound", help="folder of UBL/CII e-invoices served as received invoices")

    _command(commands, "purge", "remove local copies of finished invoices past retention.days", cmd_purge)

    convert = _command(commands, "convert", "convert one document to PDF (format detected from content)",
                       cmd_convert)
    convert.add_argument("input")
    convert.add_argument("-o", "--output", required=True)
    convert.add_argument("--paper", choices=("A4", "Letter"))
    convert.add_argument("--json", action="store_true")

    cups_queue = _command(commands, "install-cups-queue",
                          "add a CUPS queue that prints to this product (needs root for the system CUPS)",
                          cmd_install_cups_queue)
    cups_queue.add_argument("--uri", help="device URI (default: pagero://127.0.0.1:<printer.listen port>/ipp/print)")
    cups_queue.add_argument("--name", default="Pagero_Printer", help="CUPS queue name")
    cups_queue.add_argument("--backend-dir", type=Path, default=Path("/usr/lib/cups/backend"),
                            help="CUPS backend folder (ServerBin/backend)")
    cups_queue.add_argument("--python", default=sys.executable,
                            help="interpreter that runs the backend; user lp must be able to run it")

    extract = _command(commands, "extract", "read the invoices in a PDF (number, dates, total, parties)",
                       cmd_extract)
    extract.add_argument("file")
    extract.add_argument("--json", action="store_true", help="print a JSON list, one object per invoice")
    extract.add_argument("--templates", type=Path,
                         help="folder of YAML layout templates (default: <data-dir>/templates)")
    extract.add_argument("--text", action="store_true", help="print the page text templates are matched against")

    user = _command(commands, "user", "manage the status page's users", cmd_user_add)
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

    # Not _command(): --config names the file to create, so it must not be loaded as this run's settings.
    service = commands.add_parser("install-service", help="run Pagero Connect as a systemd service (as root)",
                                  description="Create the pagero user, /etc/pagero-connect/config.yaml (if absent) "
                                              "and the systemd unit, then start the service.")
    service.add_argument("--user", default="pagero", help="system user the service runs as (created if missing)")
    service.add_argument("--config", dest="service_config", type=Path, default=Path("/etc/pagero-connect/config.yaml"),
                         help="configuration file the service reads (written with safe defaults if absent)")
    service.add_argument("--unit-dir", type=Path, default=Path("/etc/systemd/system"))
    service.add_argument("--no-start", action="store_true", help="write everything but do not start the service")
    service.set_defaults(handler=cmd_install_service, config=None, data_dir=None)
    return parser


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
