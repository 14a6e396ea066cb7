"""The invoice commands: list, show, correct, approve, delete, send, resend, restart, attach, attachments,
detach, import, purge.

Each calls the same service function as the status page, as the user who runs it (or the
status page user named by ``--as``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connect_core.cli.common import (
    CREATE,
    acting_option,
    actor,
    command,
    positive_int,
    print_rows,
    progress,
    store,
    unreadable,
)
from connect_core.config import ENVIRONMENTS, Config
from connect_core.errors import ConnectError
from connect_core.invoices.model import source_in_words
from connect_core.invoices.states import State

if TYPE_CHECKING:
    from connect_core.invoices.service import JobOutcome

IMPORT_HELP = """Import PDF (or other printable) files as invoices, as if they were printed.

One line per file says what became of it.  Exit status: 0 when every file became invoices,
even those that wait for a person (needs-attention, possible-duplicate: approve or delete them);
1 when any file was refused (not a printable document, or an invalid one), the others being
imported; 2 when nothing could be imported (an unreadable file, a wrong option)."""


CORRECT_FIELDS = ("invoice_number", "issue_date", "due_date", "currency", "total", "buyer")
"""The fields ``correct`` takes, as :data:`connect_core.pipeline.correct.FIELDS` names them (checked by a test:
the parser is built without importing the pipeline)."""

CORRECT_HELP = f"""Correct an invoice's fields, and learn its layout from the correction.

Give each field as FIELD=VALUE; the fields are
{", ".join(CORRECT_FIELDS)}.
Dates as YYYY-MM-DD, amounts with a dot (1234.50), the currency as its ISO code (EUR);
an empty value (due_date=) clears due_date or buyer.  Only an invoice not sent yet (needs
attention, ready, possible duplicate) can be corrected; it is checked again at once.

Unless --no-learn is given, the invoice's layout is learned from the values (a file in
<data dir>/templates, see `pagero-connect layouts`): the invoices of that layout waiting in
Needs attention or Files to send are read again, and the next ones are read through it.

  pagero-connect correct 17 invoice_number=TN/2026/7037 issue_date=2026-02-08 total=1234.50"""


def state_name(text: str) -> str:
    """An argparse type: an invoice state (``needs_attention`` gets a suggestion of ``needs-attention``)."""
    try:
        return State(text.strip().lower()).value
    except ValueError:
        pass
    guess = text.strip().lower().replace("_", "-").replace(" ", "-")
    if guess in {state.value for state in State}:
        raise argparse.ArgumentTypeError(f"invalid state {text!r}: did you mean {guess}?")
    raise argparse.ArgumentTypeError(f"invalid state {text!r} (choose from {', '.join(s.value for s in State)})")


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    """List the invoices the actor sees, newest first."""
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
    """Show one invoice: its fields, print job and history."""
    from connect_core.invoices import service

    with store(config) as (db, _spool):
        detail = service.invoice_detail(db, args.id, actor(args, db))
    if args.json:
        print(json.dumps(detail.to_json(), indent=1, ensure_ascii=False))
        return 0
    invoice = detail.invoice
    print(f"Invoice {invoice.id}: {invoice.state.value}" + (f" — {invoice.reason}" if invoice.reason else ""))
    for field in detail.fields:
        where = f"  ({source_in_words(field.source)})" if field.source else ""
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


def field_values(assignments: list[str], fields: tuple[str, ...]) -> dict[str, str]:
    """``["total=12.50", …]`` as ``{"total": "12.50"}``; a field not in ``fields``, one without ``=`` or given
    twice is refused."""
    values: dict[str, str] = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        name = name.strip()
        if not equals:
            raise ConnectError(f"{assignment!r} is not FIELD=VALUE (e.g. total=1234.50); "
                               f"the fields are {', '.join(fields)}")
        if name not in fields:
            raise ConnectError(f"unknown field {name!r}: the fields are {', '.join(fields)}")
        if name in values:
            raise ConnectError(f"{name} is given twice ({values[name]!r} and {value!r}): give each field once")
        values[name] = value
    return values


def cmd_correct(args: argparse.Namespace, config: Config) -> int:
    """Correct an invoice's fields (and learn its layout), as the person who runs this."""
    from connect_core.pipeline.correct import FIELDS, correct

    values = field_values(args.values, FIELDS)  # before the store is opened: a typing mistake changes nothing
    with store(config) as (db, spool):
        done = correct(db, spool, config, args.id, values, actor(args, db), learn=not args.no_learn, strict=True)
    if args.json:
        print(json.dumps(done.to_json(), indent=1, ensure_ascii=False))
    else:
        print(done.summary())
    return 0


def cmd_approve(args: argparse.Namespace, config: Config) -> int:
    """Release a possible duplicate or an invoice held by a check, as the person who runs this."""
    from connect_core.invoices import service

    with store(config) as (db, _spool):
        state = service.approve(db, args.id, actor(args, db), automatic=config.sending.mode == "automatic")
    print(f"Invoice {args.id} approved: {state.value}.")
    return 0


def cmd_delete(args: argparse.Namespace, config: Config) -> int:
    """Delete an invoice (it is never sent)."""
    from connect_core.invoices import service

    with store(config) as (db, _spool):
        who = actor(args, db)
        # The service's "is deleted; nothing can be done" is right but reads oddly for a second delete.
        if service.get_invoice(db, args.id, who).state is State.DELETED:
            raise ConnectError(f"invoice {args.id} is already deleted")
        service.delete(db, args.id, who)
    print(f"Invoice {args.id} deleted.")
    return 0


def cmd_send(args: argparse.Namespace, config: Config) -> int:
    """Queue invoices waiting in Files to send; send the attachments of those awaiting them."""
    from connect_core.invoices import service
    from connect_core.invoices.attachments import send_attachments
    from connect_core.invoices.errors import NeedsConfirmation

    if not args.all and not args.ids:
        raise ConnectError("name the invoices to send, or use --all")
    if args.all and args.ids:
        raise ConnectError("name the invoices to send or use --all, not both")
    environment = args.environment or config.online.environment
    with store(config) as (db, _spool):
        who = actor(args, db)
        awaiting = [] if args.all else [n for n in args.ids if service.get_invoice(db, n, who).state
                                        is State.AWAITING_ATTACHMENTS]
        if awaiting:
            if len(awaiting) != len(args.ids):
                raise ConnectError("send the invoices awaiting attachments (" + ", ".join(map(str, awaiting))
                                   + ") apart from the others")
            try:
                done = send_attachments(db, awaiting, who, confirm=args.yes)
            except NeedsConfirmation as question:
                raise ConnectError(f"{question} Pass --yes to send anyway.") from None
            print(f"Sending the attachments of {len(done)} invoice{'s' if len(done) != 1 else ''}; Pagero Online "
                  "goes on with each once they are there.")
            return 0
        sent = service.send(db, None if args.all else args.ids, environment, who)
    print(f"Queued {len(sent)} invoice{'s' if len(sent) != 1 else ''} for sending ({environment}).")
    return 0


def cmd_attach(args: argparse.Namespace, config: Config) -> int:
    """Add a file to an invoice Pagero Online holds for its attachments."""
    from connect_core.invoices.attachment_rules import MAX_BYTES
    from connect_core.invoices.attachments import add_attachment, type_code

    path = Path(args.file)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise ConnectError(f"cannot read {path}: {error.strerror or error}") from None
    with store(config) as (db, spool):
        attachment, verdict = add_attachment(db, spool, args.invoice, data, path.name, type_code(args.type),
                                             args.note or "", actor(args, db))
    print(f"Attachment {attachment.id} added to invoice {args.invoice}: {attachment.name} ({attachment.type_name}, "
          f"{attachment.size:,} bytes).")
    if verdict.advice:
        print(f"Note: {verdict.advice}")
    return 0


def cmd_attachments(args: argparse.Namespace, config: Config) -> int:
    """List an invoice's attachments."""
    from connect_core.invoices.attachments import list_attachments

    with store(config) as (db, _spool):
        found = list_attachments(db, args.invoice, actor(args, db))

    def line(row: dict[str, Any]) -> str:
        sent = "sent" if row["sent"] else "not sent yet"
        note = f" — {row['note']}" if row["note"] else ""
        return (f"{row['id']:>5}  {row['name']}  ({row['type_name']}, {row['size']:,} bytes, added by "
                f"{row['added_by']}, {sent}){note}")

    return print_rows([a.to_json() for a in found], args.json, f"Invoice {args.invoice} has no attachments.", line)


def cmd_detach(args: argparse.Namespace, config: Config) -> int:
    """Remove an attachment not sent yet."""
    from connect_core.invoices.attachments import remove_attachment

    with store(config) as (db, spool):
        name = remove_attachment(db, spool, args.invoice, args.attachment, actor(args, db))
    print(f"Attachment {args.attachment} ({name}) removed from invoice {args.invoice}.")
    return 0


def cmd_resend(args: argparse.Namespace, config: Config) -> int:
    """Send an invoice again; one the recipient may already have needs --yes."""
    from connect_core.invoices import service
    from connect_core.invoices.errors import NeedsConfirmation

    with store(config) as (db, _spool):
        try:
            service.resend(db, args.id, actor(args, db), confirm=args.yes)
        except NeedsConfirmation as question:
            raise ConnectError(f"{question}; pass --yes to resend") from None
    print(f"Invoice {args.id} queued to be sent again.")
    return 0


def cmd_restart(args: argparse.Namespace, config: Config) -> int:
    """Restart an invoice stopped in Error at Pagero Online."""
    from connect_core.invoices import service
    from connect_core.online.client import client_for

    with store(config) as (db, _spool):
        who = actor(args, db)
        service.get_invoice(db, args.id, who)  # an unknown id is "no invoice N", account or not
        client = client_for(config)
        if client is None:
            raise ConnectError("no Pagero Online account is configured (online.username)")
        service.restart(db, client, args.id, who)
    print(f"Invoice {args.id} restarted at Pagero Online.")
    return 0


def owner_name(text: str) -> str:
    """An argparse type: the print name imported invoices are recorded under."""
    name = text.strip()
    if not name or len(name) > 255 or not name.isprintable() or "," in name:
        raise argparse.ArgumentTypeError(f"{text!r} is not a print name (1-255 printable characters, no commas)")
    return name


def outcome_line(name: str, outcome: JobOutcome) -> tuple[str, bool]:
    """One file's line of ``import`` output, and whether the file was refused."""
    if outcome.state == "processing":
        return f"{name}: received; the running server is still converting it (job {outcome.job_id})", False
    if outcome.state != "completed":
        why = outcome.message.removeprefix("Refused: ").rstrip(".")
        return f"{name}: refused — {why}", True
    refused = any(invoice.state is State.INVALID for invoice in outcome.invoices)
    count = len(outcome.invoices)

    def one(invoice: Any) -> str:
        reason = f" ({invoice.reason})" if invoice.reason and invoice.state is not State.READY else ""
        return f"{invoice.state.value}{reason}"

    if count == 1:
        (invoice,) = outcome.invoices
        return f"{name}: 1 invoice ({invoice.id}), {one(invoice)}", refused
    each = ", ".join(f"{invoice.id} {one(invoice)}" for invoice in outcome.invoices)
    return f"{name}: {count} invoices: {each}", refused


def cmd_import(args: argparse.Namespace, config: Config) -> int:
    """Import files as printed documents and say per file what became of it (exit 1: one was refused)."""
    from connect_core.intake.sink import PrintIntake
    from connect_core.invoices import service
    from connect_core.pipeline.worker import make_pipeline

    files = [Path(f) for f in args.files]
    problems = [problem for problem in map(unreadable, files) if problem]
    if problems:
        raise ConnectError(f"{'; '.join(problems)}; nothing was imported")
    lines: list[str] = []
    refused = False
    # The worker logs each refusal for the server's log; here the file's own line below says it.
    logging.getLogger("connect_core.pipeline").setLevel(logging.ERROR)
    with store(config, create=True) as (db, spool):
        pipeline = make_pipeline(config, db, spool)
        intake = PrintIntake(db, spool, min_free_bytes=config.limits.min_free_bytes)
        show = len(files) > 1
        for done, path in enumerate(files, 1):
            try:
                job_id = intake.accept_file(path, door="import", user=args.user)
            except OSError as error:  # e.g. the disk is full, or a starting server set the file aside
                imported = f"{done - 1} of {len(files)} imported before it" if done > 1 else "nothing was imported"
                raise ConnectError(f"could not import {path}: {error.strerror or error}; {imported}") from None
            pipeline.convert_job(job_id)
            line, bad = outcome_line(path.name, service.job_outcome(db, job_id))
            lines.append(line)
            refused = refused or bad
            if show:
                progress(done, len(files))
        if show:
            print(file=sys.stderr)
    # Printed after the progress bar, which would otherwise be torn by these lines on a terminal.
    for line in lines:
        print(line)
    return 1 if refused else 0


def cmd_purge(args: argparse.Namespace, config: Config) -> int:
    """Remove local copies of finished invoices past retention.days."""
    from connect_core.invoices.retention import purge

    with store(config) as (db, spool):
        purged = purge(db, spool, config.retention.days)
    print(f"Purged {len(purged)} local cop{'ies' if len(purged) != 1 else 'y'}.")
    return 0


def add_commands(commands: Any) -> None:
    """The invoice subcommands of ``pagero-connect``."""
    listing = command(commands, "list", "list invoices, newest first", cmd_list)
    listing.add_argument("--state", type=state_name,
                         help="only invoices in this state (e.g. ready, needs-attention, possible-duplicate)")
    listing.add_argument("--limit", type=positive_int, default=50, help="at most this many (default 50)")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    acting_option(listing)

    show = command(commands, "show", "show one invoice with its history", cmd_show)
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    acting_option(show)

    correcting = command(commands, "correct", "correct an invoice's fields and learn its layout", cmd_correct,
                         description=CORRECT_HELP)
    correcting.formatter_class = argparse.RawDescriptionHelpFormatter
    correcting.add_argument("id", type=int)
    correcting.add_argument("values", nargs="+", metavar="FIELD=VALUE",
                            help=f"a field's correct value; fields: {', '.join(CORRECT_FIELDS)}")
    correcting.add_argument("--no-learn", action="store_true",
                            help="correct this invoice only: learn no layout, read no other invoice again")
    correcting.add_argument("--json", action="store_true", help="print what was done as a JSON object")
    acting_option(correcting)

    approve = command(commands, "approve", "release a possible duplicate or an invoice held by a check",
                      cmd_approve)
    approve.add_argument("id", type=int)
    acting_option(approve)

    delete = command(commands, "delete", "delete an invoice (it is never sent)", cmd_delete)
    delete.add_argument("id", type=int)
    acting_option(delete)

    sending = command(commands, "send", "send invoices waiting in Files to send, or the attachments of invoices "
                      "awaiting them", cmd_send)
    sending.add_argument("ids", type=int, nargs="*")
    sending.add_argument("--all", action="store_true", help="send every invoice ready to send")
    sending.add_argument("--environment", choices=ENVIRONMENTS,
                         help="send mode at Pagero Online (default: online.environment)")
    sending.add_argument("--yes", action="store_true",
                         help="send attachments even when other invoices of the same print have none")
    acting_option(sending)

    attaching = command(commands, "attach", "add a file to an invoice awaiting attachments", cmd_attach)
    attaching.add_argument("invoice", type=int)
    attaching.add_argument("file")
    attaching.add_argument("--type", required=True, metavar="T",
                           help="document type: DeliveryNote, TimeSheet, Contract, Order or Other (or its name)")
    attaching.add_argument("--note", metavar="N", help="a note for the recipient (at most 500 characters)")
    acting_option(attaching)

    listing_attachments = command(commands, "attachments", "list an invoice's attachments", cmd_attachments)
    listing_attachments.add_argument("invoice", type=int)
    listing_attachments.add_argument("--json", action="store_true", help="print a JSON array")
    acting_option(listing_attachments)

    detaching = command(commands, "detach", "remove an attachment not sent yet", cmd_detach)
    detaching.add_argument("invoice", type=int)
    detaching.add_argument("attachment", type=int)
    acting_option(detaching)

    resending = command(commands, "resend", "send an invoice again after fixing what stopped it", cmd_resend)
    resending.add_argument("id", type=int)
    resending.add_argument("--yes", action="store_true", help="confirm re-sending an invoice already delivered")
    acting_option(resending)

    restarting = command(commands, "restart", "restart an invoice stopped in Error at Pagero Online", cmd_restart)
    restarting.add_argument("id", type=int)
    acting_option(restarting)

    importing = command(commands, "import", "import PDF (or other printable) files as invoices", cmd_import,
                        data=CREATE, description=IMPORT_HELP)
    importing.formatter_class = argparse.RawDescriptionHelpFormatter
    importing.add_argument("files", nargs="+", metavar="FILE")
    importing.add_argument("--user", type=owner_name, default="import",
                           help="print name the imported invoices are recorded under (default: import)")

    command(commands, "purge", "remove local copies of finished invoices past retention.days", cmd_purge)
