"""The commands around the invoices: serve, convert, extract, inbound, the emulator and the installers."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from connect_core.cli.common import TEMPLATES, command, positive_int, print_rows, store, unreadable
from connect_core.config import Config, parse_listen
from connect_core.errors import ConfigError, ConnectError


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    """Run the printer and the status page until stopped."""
    from connect_core.serve import run

    return run(config, demo=args.demo)


def fetch_id(text: str) -> int | str:
    """An argparse type for ``--fetch``: a received invoice's number, or ``all``."""
    if text.strip().lower() == "all":
        return "all"
    return positive_int(text)


def cmd_inbound(args: argparse.Namespace, config: Config) -> int:
    """List received invoices; with --fetch, ask Pagero Online first and download the named ones (or all)."""
    from connect_core.online.client import OnlineError
    from connect_core.online.inbound import list_inbound, make_inbound, unknown_received

    wanted: list[int] | None = None
    if args.fetch is not None and "all" in args.fetch:
        if len(args.fetch) > 1:
            raise ConnectError("--fetch takes the numbers of received invoices, or 'all' alone")
    elif args.fetch is not None:
        wanted = [int(n) for n in args.fetch]
    with store(config) as (db, _spool):
        if wanted:
            missing = unknown_received(db, wanted)
            if missing:  # before asking Pagero Online: nothing is done for a mistyped number
                raise ConnectError(f"no received invoice {', '.join(map(str, missing))}")
        if args.fetch is not None or args.check:
            receiver = make_inbound(config, db)
            if receiver is None:
                raise ConnectError("no Pagero Online account is configured (online.username)")
            try:
                listed = receiver.list_received()
                fetched = receiver.fetch(wanted) if args.fetch is not None else []
            except OnlineError as error:
                raise ConnectError(f"Pagero Online: {error.message}") from error
            print(f"{listed} new at Pagero Online; {len(fetched)} saved in {receiver.folder}.")
        rows = list_inbound(db)
        for row in rows:
            if row["state"] == "refused" and (args.fetch is not None and (wanted is None or row["id"] in wanted)):
                print(f"Received invoice {row['id']} was not saved: {row['problem']}.", file=sys.stderr)
            elif wanted and row["id"] in wanted and row["id"] not in fetched:
                print(f"Received invoice {row['id']} was fetched before: {row['path'] or 'no file kept'}.",
                      file=sys.stderr)

    def line(row: dict[str, Any]) -> str:
        where = f"  {row['path']}" if row["path"] else f"  ({row['problem']})" if row["problem"] else ""
        return f"{row['id']:>6}  {row['state']:<10} {row['number'] or '-':<20} {row['sender'] or '-':<30}{where}"

    return print_rows(rows, args.json, "No received invoices.", line)


def cmd_online_emulator(args: argparse.Namespace, config: Config) -> int:
    """Run the Pagero Online emulator; its options are checked here so that a mistake is one line."""
    from pagero_online_emulator.command import main as emulator_main
    from pagero_online_emulator.state import Faults

    try:
        parse_listen(args.emulator_listen)
    except ConfigError:
        raise ConnectError(f"--listen {args.emulator_listen!r} is not HOST:PORT") from None
    if args.faults:
        try:
            faults = json.loads(args.faults)
            Faults(**faults)
        except (ValueError, TypeError) as error:
            raise ConnectError(f"--faults: not a JSON object of fault settings ({error})") from None
    if args.inbound and not Path(args.inbound).is_dir():
        raise ConnectError(f"--inbound {args.inbound}: not a folder")
    argv = ["--listen", args.emulator_listen, "--data-dir", str(args.data_dir or config.data_dir / "online-emulator"),
            "--step-seconds", str(args.step_seconds)]
    if args.faults:
        argv += ["--faults", args.faults]
    if args.inbound:
        argv += ["--inbound", args.inbound]
    return emulator_main(argv)


def cmd_convert(args: argparse.Namespace, config: Config) -> int:
    """Convert one document to PDF (refusals are one line, exit 2)."""
    from connect_core.pipeline.recognition import ocr_settings
    from printer_backend.convert import main as convert_main

    argv = [args.input, "-o", args.output, "--paper", args.paper or config.printer.paper]
    if args.ocr:
        chosen = {"ocr.enabled": True, **({"ocr.languages": args.languages} if args.languages else {})}
        settings = ocr_settings(config.replace(chosen))  # a wrong code: one line naming ocr.languages
        assert settings is not None
        argv += ["--ocr", "--languages", "+".join(settings.languages)]
    return convert_main(argv + (["--json"] if args.json else []))


def as_pdf(source: Path, folder: Path, config: Config) -> Path:
    """``source`` itself when it is a PDF with text, else its conversion (as the pipeline makes it) in ``folder``."""
    from connect_core.pipeline.recognition import ocr_settings
    from connect_core.pipeline.worker import conversion_limits
    from printer_backend import sniff
    from printer_backend.convert import convert
    from printer_backend.errors import BackendError

    with open(source, "rb") as stream:
        head = stream.read(sniff.HEAD_BYTES)
    ocr = ocr_settings(config)
    if sniff.sniff(head) == sniff.PDF and ocr is None:
        return source
    limits = conversion_limits(config)
    target = folder / "document.pdf"
    try:
        made = convert(source, target, paper=config.printer.paper, limits=limits, ocr=ocr)
    except BackendError as error:
        raise ConnectError(f"{source}: refused — {error.reason}") from None
    return source if made.passthrough else target


def cmd_extract(args: argparse.Namespace, config: Config) -> int:
    """Read the invoices in a document (any printable format, converted first as the pipeline does)."""
    from connect_core.pipeline.extract import load_templates, read_invoices, read_text
    from connect_core.pipeline.worker import conversion_limits

    source = Path(args.file)
    problem = unreadable(source)
    if problem:
        raise ConnectError(problem)
    if args.templates and not args.templates.is_dir():
        raise ConnectError(f"--templates {args.templates}: not a folder")
    folder = args.templates or config.data_dir / "templates"
    templates = load_templates(folder) if not args.text and folder.is_dir() else []
    if templates and not args.templates:
        print(f"pagero-connect: templates in {folder}", file=sys.stderr)
    # pypdf logs what it repairs ("EOF marker not found"); the one-line verdict below is what counts.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="pagero-extract-") as temporary:
        pdf = as_pdf(source, Path(temporary), config)
        if args.text:
            for number, text in enumerate(read_text(pdf, conversion_limits(config)), 1):
                print(f"--- page {number}\n{text}")
            return 0
        invoices = read_invoices(pdf, templates, config.companies, config.company.currency or None,
                                 conversion_limits(config))
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
        if invoice.buyer_ids:
            print(f"  buyer ids   {', '.join(f'{kind} {value}' for kind, value in invoice.buyer_ids.items())}")
        print("  ready to send" if invoice.ready_to_send else "  needs a person: " + " ".join(invoice.not_ready))
    return 0


def cmd_install_cups_queue(args: argparse.Namespace, config: Config) -> int:
    """Add the CUPS queue that prints to this product."""
    from connect_core.intake.cups_queue import default_uri, install_queue

    uri = args.uri or default_uri(config.listen[1])
    backend = install_queue(args.name, uri, args.backend_dir, args.python)
    print(f"CUPS queue {args.name} prints to {uri} (backend {backend}).")
    return 0


def cmd_install_service(args: argparse.Namespace, config: Config) -> int:
    """Install the systemd service; the paths are checked before anything is changed."""
    from connect_core.systemd import InstallOptions, install_service

    if args.service_config.exists() and not args.service_config.is_file():
        raise ConnectError(f"--config {args.service_config}: not a file")
    if args.unit_dir.exists() and not args.unit_dir.is_dir():
        raise ConnectError(f"--unit-dir {args.unit_dir}: not a folder")

    options = InstallOptions(user=args.user, config=args.service_config, unit_dir=args.unit_dir,
                             start=not args.no_start)
    for line in install_service(options):
        print(line)
    return 0


def seconds(text: str) -> float:
    """An argparse type: a number of seconds, zero or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or more seconds, not {text}")
    return value


def add_commands(commands: Any) -> None:
    """The serving, converting, receiving and installing subcommands of ``pagero-connect``."""
    serve = command(commands, "serve", "run the printer and the status page", cmd_serve, data=None)
    serve.add_argument("--listen", help="HOST:PORT to listen on (default 0.0.0.0:8631)")
    serve.add_argument("--demo", action="store_true",
                       help="when no Online account is configured, send to a local Pagero Online emulator")

    receiving = command(commands, "inbound", "list received invoices; --fetch downloads them", cmd_inbound)
    receiving.add_argument("--check", action="store_true", help="ask Pagero Online for new received invoices first")
    receiving.add_argument("--fetch", nargs="+", metavar="ID", type=fetch_id,
                           help="download these received invoices (or 'all') into inbound.folder")
    receiving.add_argument("--json", action="store_true")

    emulator = command(commands, "online-emulator", "run a local emulator of the Pagero Online API",
                       cmd_online_emulator, data=None)
    # Not "listen": that one is the printer's (printer.listen) for serve.
    emulator.add_argument("--listen", dest="emulator_listen", default="127.0.0.1:8700", help="HOST:PORT")
    emulator.add_argument("--step-seconds", type=seconds, default=2.0)
    emulator.add_argument("--faults", help='JSON fault settings, e.g. {"error_rate": 0.3}')
    emulator.add_argument("--inbound", help="folder of UBL/CII e-invoices served as received invoices")

    convert = command(commands, "convert", "convert one document to PDF (format detected from content)",
                      cmd_convert, data=None)
    convert.add_argument("input")
    convert.add_argument("-o", "--output", required=True)
    convert.add_argument("--paper", choices=("A4", "Letter"))
    convert.add_argument("--json", action="store_true")
    convert.add_argument("--ocr", action="store_true",
                         help="recognise the text of pages that have none (scans, raster prints, garbled PostScript)")
    convert.add_argument("--languages", help="with --ocr: Tesseract languages, e.g. deu+eng (default: ocr.languages, "
                                             "else the company's country's and English)")

    extract = command(commands, "extract", "read the invoices in a document (number, dates, total, parties)",
                      cmd_extract, data=TEMPLATES)
    extract.add_argument("file")
    extract.add_argument("--json", action="store_true", help="print a JSON list, one object per invoice")
    extract.add_argument("--templates", type=Path,
                         help="folder of YAML layout templates (default: <data-dir>/templates)")
    extract.add_argument("--text", action="store_true", help="print the page text templates are matched against")

    cups_queue = command(commands, "install-cups-queue",
                         "add a CUPS queue that prints to this product (needs root for the system CUPS)",
                         cmd_install_cups_queue, data=None)
    cups_queue.add_argument("--uri", help="device URI (default: pagero://127.0.0.1:<printer.listen port>/ipp/print)")
    cups_queue.add_argument("--name", default="Pagero_Printer", help="CUPS queue name")
    cups_queue.add_argument("--backend-dir", type=Path, default=Path("/usr/lib/cups/backend"),
                            help="CUPS backend folder (ServerBin/backend)")
    cups_queue.add_argument("--python", default=sys.executable,
                            help="interpreter that runs the backend; user lp must be able to run it")

    # Not command(): --config names the file to create, so it must not be loaded as this run's settings.
    service = commands.add_parser("install-service", help="run Pagero Connect as a systemd service (as root)",
                                  description="Create the pagero user, /etc/pagero-connect/config.yaml (if absent) "
                                              "and the systemd unit, then start the service.")
    service.add_argument("--user", default="pagero", help="system user the service runs as (created if missing)")
    service.add_argument("--config", dest="service_config", type=Path, default=Path("/etc/pagero-connect/config.yaml"),
                         help="configuration file the service reads (written with safe defaults if absent)")
    service.add_argument("--unit-dir", type=Path, default=Path("/etc/systemd/system"))
    service.add_argument("--no-start", action="store_true", help="write everything but do not start the service")
    service.set_defaults(handler=cmd_install_service, config=None, data_dir=None, data=None)
