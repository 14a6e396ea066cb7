"""The invoice commands: list, show, approve, delete, send, resend, restart, import, purge.

Each calls the same service function as the status page, as the user who runs it (or the
status page user named by ``--as``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from connect_core.cli.common import acting_option, actor, command, print_rows, progress, store
from connect_core.config import ENVIRONMENTS, Config
from connect_core.errors import ConnectError


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices import service

    with store(config) as (db, _spool):
        rows = service.list_invoices(db, actor=actor(args, db), states=[args.state] if args.state else None,
                                     limit=args.limit)

    def line(row: dict[str, Any]) -> str:
        number = row["invoice_number"] or "-"
        reason = f"  ({row['reason']})" if row["reason"] else ""
        return f"{row['id']:>6}  {row['state']:<18} job {row['job_id']:<6} {number:<20} {row['created']}{reason}"

    return print_rows([invoice.to_json() for invoice in rows], args.json, "No invoices.", line)


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices import service

    with store(config) as (db, _spool):
        detail = service.invoice_detail(db, args.id, actor(args, db))
    if args.json:
        print(json.dumps(detail.to_json(), indent=1, ensure_ascii=False))
        return 0
    invoice = detail.invoice
    print(f"Invoice {invoice.id}: {invoice.state.value}" + (f" — {invoice.reason}" if invoice.reason else ""))
    for field in detail.fields:
        where = f"  ({field.source})" if field.source else ""
        print(f"  {field.label.lower():<15} {field.value if field.value is not None else '-'}{where}")
    for key in ("pages", "source_format", "sha256"):
        print(f"  {key.replace('_', ' '):<15} {getattr(invoice, key)}")
    job = detail.job
    if job:
        print(f"  print job       {job.id} “{job.name}” from {job.user} via {job.door}")
    print("History:")
    for event in detail.history:
        change = f" [{event.from_state or '-'} → {event.to_state}]" if event.to_state else ""
        why = f": {event.why}" if event.why else ""
        print(f"  {event.at.isoformat()}  {event.what}{change} by {event.who}{why}")
    return 0


def cmd_approve(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices import service

    with store(config) as (db, _spool):
        state = service.approve(db, args.id, actor(args, db), automatic=config.sending.mode == "automatic")
    print(f"Invoice {args.id} approved: {state.value}.")
    return 0


def cmd_delete(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices import service

    with store(config) as (db, _spool):
        service.delete(db, args.id, actor(args, db))
    print(f"Invoice {args.id} deleted.")
    return 0


def cmd_send(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices import service

    if not args.all and not args.ids:
        raise ConnectError("name the invoices to send, or use --all")
    environment = args.environment or config.online.environment
    with store(config) as (db, _spool):
        sent = service.send(db, None if args.all else args.ids, environment, actor(args, db))
    print(f"Queued {len(sent)} invoice{'s' if len(sent) != 1 else ''} for sending ({environment}).")
    return 0


def cmd_resend(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices import service

    with store(config) as (db, _spool):
        service.resend(db, args.id, actor(args, db), confirm=args.yes)
    print(f"Invoice {args.id} queued to be sent again.")
    return 0


def cmd_restart(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices import service
    from connect_core.online.client import client_for

    client = client_for(config)
    if client is None:
        raise ConnectError("no Pagero Online account is configured (online.username)")
    with store(config) as (db, _spool):
        service.restart(db, client, args.id, actor(args, db))
    print(f"Invoice {args.id} restarted at Pagero Online.")
    return 0


def cmd_import(args: argparse.Namespace, config: Config) -> int:
    from connect_core.intake.sink import PrintIntake
    from connect_core.pipeline.worker import make_pipeline

    files = [Path(f) for f in args.files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConnectError(f"not a readable file: {', '.join(missing)}")
    with store(config) as (db, spool):
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
                progress(done, len(files))
        if show:
            print(file=sys.stderr)
    print(f"Imported {len(files)} file{'s' if len(files) != 1 else ''}.")
    return 0


def cmd_purge(args: argparse.Namespace, config: Config) -> int:
    from connect_core.invoices.retention import purge

    with store(config) as (db, spool):
        purged = purge(db, spool, config.retention.days)
    print(f"Purged {len(purged)} local cop{'ies' if len(purged) != 1 else 'y'}.")
    return 0


def add_commands(commands: Any) -> None:
    """The invoice subcommands of ``pagero-connect``."""
    listing = command(commands, "list", "list invoices, newest first", cmd_list)
    listing.add_argument("--state", help="only invoices in this state (e.g. ready, possible-duplicate)")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    acting_option(listing)

    show = command(commands, "show", "show one invoice with its history", cmd_show)
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    acting_option(show)

    approve = command(commands, "approve", "release a possible duplicate or an invoice held by a check",
                      cmd_approve)
    approve.add_argument("id", type=int)
    acting_option(approve)

    delete = command(commands, "delete", "delete an invoice (it is never sent)", cmd_delete)
    delete.add_argument("id", type=int)
    acting_option(delete)

    sending = command(commands, "send", "send invoices waiting in Files to send", cmd_send)
    sending.add_argument("ids", type=int, nargs="*")
    sending.add_argument("--all", action="store_true", help="send every invoice ready to send")
    sending.add_argument("--environment", choices=ENVIRONMENTS,
                         help="send mode at Pagero Online (default: online.environment)")
    acting_option(sending)

    resending = command(commands, "resend", "send an invoice again after fixing what stopped it", cmd_resend)
    resending.add_argument("id", type=int)
    resending.add_argument("--yes", action="store_true", help="confirm re-sending an invoice already delivered")
    acting_option(resending)

    restarting = command(commands, "restart", "restart an invoice stopped in Error at Pagero Online", cmd_restart)
    restarting.add_argument("id", type=int)
    acting_option(restarting)

    importing = command(commands, "import", "import PDF (or other printable) files as invoices", cmd_import)
    importing.add_argument("files", nargs="+")
    importing.add_argument("--user", default="import", help="owner of the imported invoices")

    command(commands, "purge", "remove local copies of finished invoices past retention.days", cmd_purge)
