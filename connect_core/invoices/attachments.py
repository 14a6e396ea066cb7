"""Attachments: files sent with an invoice that Pagero Online holds for them (the service functions).

With *manual attachment handling* on at Pagero Online, every sent invoice waits there in
*Awaiting interaction* and here in **Files awaiting attachments**.  A person adds files (a
delivery note, a time sheet, a contract…) with a document type and a note, may open or remove
them, and then sends: the outbox (:mod:`connect_core.online.outbox`) sends each attachment once
and tells Pagero Online to go on.  After a deliberate re-send Pagero Online asks again; the
files kept here go again with the next *Send*.

The files live in the invoice's job folder (``attachments/<uuid>``); the name a person gave is
data in the store, never a path.  Who may see an attachment is who may see its invoice
(:func:`~connect_core.invoices.access.visible_to`), and what may be done follows the invoice's
state (:func:`~connect_core.invoices.actions.actions_for`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from connect_core.fsutil import write_durably
from connect_core.intake.spool import Spool
from connect_core.invoices.access import SYSTEM, Actor, visible_to
from connect_core.invoices.actions import actions_for, refusal
from connect_core.invoices.attachment_rules import MAX_BYTES, AttachmentRefused, Verdict, check
from connect_core.invoices.errors import NeedsConfirmation, NotAllowed, NotFound
from connect_core.invoices.history import record, transition
from connect_core.invoices.model import Invoice
from connect_core.invoices.states import State
from connect_core.online.client import ATTACHMENT_TYPES
from connect_core.store import Database, utcnow
from connect_core.store.schema import attachments, invoices

MAX_NOTE = 500
MAX_NAME = 200

__all__ = ["MAX_BYTES", "AttachmentRefused", "Attachment", "add_attachment", "list_attachments",
           "remove_attachment", "attachment_file", "attachment_counts", "send_attachments", "attachment_path",
           "reference", "type_code"]


@dataclass(frozen=True)
class Attachment:
    """One file that goes (or went) with an invoice."""

    id: int
    uuid: str
    invoice_id: int
    name: str
    document_type: str
    type_name: str
    note: str
    size: int
    content_type: str
    added_by: str
    added: dt.datetime
    sent: bool
    """At Pagero Online with the invoice's current sending."""

    @classmethod
    def from_row(cls, row: Any, generation: int) -> Attachment:
        return cls(row.id, row.uuid, row.invoice_id, row.filename, row.document_type,
                   ATTACHMENT_TYPES.get(row.document_type, row.document_type), row.note, row.size_bytes,
                   row.content_type, row.added_by, row.created_at.replace(tzinfo=dt.UTC),
                   row.remote_id is not None and row.sent_generation == generation)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "invoice_id": self.invoice_id, "name": self.name, "document_type": self.document_type,
                "type_name": self.type_name, "note": self.note, "size": self.size, "content_type": self.content_type,
                "added_by": self.added_by, "added": self.added.isoformat(), "sent": self.sent}


def reference(attachment_uuid: str, generation: int) -> str:
    """The stable reference of one attachment in one sending (looked up at Pagero Online after a lost answer)."""
    return attachment_uuid if generation == 0 else f"{attachment_uuid}-r{generation}"


def attachment_path(spool: Spool, document_uuid: str, attachment_uuid: str) -> Path:
    return spool.job_dir(document_uuid) / "attachments" / attachment_uuid


def _invoice(conn: Connection, invoice_id: int, actor: Actor) -> tuple[Invoice, Any]:
    row = conn.execute(select(invoices).where(invoices.c.id == invoice_id, visible_to(actor, invoices.c.owner))).first()
    if row is None:
        raise NotFound(f"no invoice {invoice_id}")
    return Invoice.from_row(row), row


def _clean(text: str, limit: int) -> str:
    """A name or note as one line of printable text (control and bidi-override characters dropped)."""
    kept = "".join(ch if ch.isprintable() and unicodedata.category(ch) != "Cf" else " " for ch in text)
    return " ".join(kept.split())[:limit]


def type_code(text: str, types: dict[str, str] | None = None) -> str:
    """The document type code for what a person typed: the code or the name, any case (``delivery note``)."""
    accepted = types or ATTACHMENT_TYPES
    wanted = "".join(ch for ch in text.casefold() if ch.isalnum())
    for code, name in accepted.items():
        if wanted in ("".join(ch for ch in code.casefold() if ch.isalnum()),
                      "".join(ch for ch in name.casefold() if ch.isalnum())):
            return code
    choices = ", ".join(f"{code} ({name})" for code, name in accepted.items())
    raise AttachmentRefused("document-type", f"document type {text!r} is not one Pagero Online takes; choose one of "
                            f"{choices}")


def add_attachment(db: Database, spool: Spool, invoice_id: int, data: bytes, filename: str, document_type: str,
                   note: str = "", actor: Actor = SYSTEM,
                   types: dict[str, str] | None = None) -> tuple[Attachment, Verdict]:
    """Keep ``data`` as an attachment of the invoice (checked on its content: :mod:`.attachment_rules`).

    Returns the attachment and the verdict (with advice such as "PDF is recommended").
    :class:`AttachmentRefused` says which rule refused it; nothing is kept then.
    """
    accepted = types or ATTACHMENT_TYPES
    if document_type not in accepted:
        choices = ", ".join(f"{code} ({name})" for code, name in accepted.items())
        raise AttachmentRefused("document-type", f"document type {document_type!r} is not one Pagero Online takes; "
                                f"choose one of {choices}")
    name = _clean(PurePath(filename.replace("\\", "/")).name, MAX_NAME) or "attachment"
    if len(note) > MAX_NOTE:
        raise AttachmentRefused("note", f"the note has {len(note)} characters; at most {MAX_NOTE} are sent")
    with db.reader.connect() as conn:
        invoice, row = _invoice(conn, invoice_id, actor)
    if "attach" not in actions_for(invoice):
        raise NotAllowed(refusal(invoice, "attach"))
    verdict = check(data, name, invoice.distribution)
    attachment_uuid = str(uuidlib.uuid4())
    write_durably(attachment_path(spool, row.document_uuid, attachment_uuid), data, 0o600)
    with db.writer.begin() as conn:
        current, _ = _invoice(conn, invoice_id, actor)
        if "attach" not in actions_for(current):  # it moved on while the file was written
            attachment_path(spool, row.document_uuid, attachment_uuid).unlink(missing_ok=True)
            raise NotAllowed(refusal(current, "attach"))
        new_id = conn.execute(insert(attachments).values(
            uuid=attachment_uuid, invoice_id=invoice_id, filename=name, content_type=verdict.content_type,
            size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), created_at=utcnow(),
            document_type=document_type, note=_clean(note, MAX_NOTE), added_by=actor.name,
        )).inserted_primary_key[0]  # type: ignore[index]
        record(conn, invoice_id, f"attachment added: {name} ({accepted[document_type]})", who=actor.name)
        added = conn.execute(select(attachments).where(attachments.c.id == new_id)).one()
    return Attachment.from_row(added, invoice.send_generation), verdict


def list_attachments(db: Database, invoice_id: int, actor: Actor = SYSTEM) -> list[Attachment]:
    """The attachments of an invoice ``actor`` may see, in the order they were added."""
    with db.reader.connect() as conn:
        invoice, _ = _invoice(conn, invoice_id, actor)
        rows = conn.execute(select(attachments).where(attachments.c.invoice_id == invoice_id)
                            .order_by(attachments.c.id)).all()
    return [Attachment.from_row(r, invoice.send_generation) for r in rows]


def attachment_counts(db: Database, invoice_ids: list[int], actor: Actor = SYSTEM) -> dict[int, int]:
    """How many attachments each of ``invoice_ids`` that ``actor`` may see has (one query for a whole list)."""
    if not invoice_ids:
        return {}
    query = (select(invoices.c.id, func.count(attachments.c.id))
             .select_from(invoices.outerjoin(attachments, attachments.c.invoice_id == invoices.c.id))
             .where(invoices.c.id.in_(invoice_ids), visible_to(actor, invoices.c.owner)).group_by(invoices.c.id))
    with db.reader.connect() as conn:
        return {int(invoice_id): int(count) for invoice_id, count in conn.execute(query)}


def _attachment_row(conn: Connection, invoice_id: int, attachment_id: int) -> Any:
    row = conn.execute(select(attachments).where(attachments.c.id == attachment_id,
                                                 attachments.c.invoice_id == invoice_id)).first()
    if row is None:
        raise NotFound(f"invoice {invoice_id} has no attachment {attachment_id}")
    return row


def attachment_file(db: Database, spool: Spool, invoice_id: int, attachment_id: int,
                    actor: Actor = SYSTEM) -> tuple[Path, Attachment]:
    """Where an attachment's file is, to open it (only for someone who may see the invoice)."""
    with db.reader.connect() as conn:
        invoice, row = _invoice(conn, invoice_id, actor)
        found = _attachment_row(conn, invoice_id, attachment_id)
    return attachment_path(spool, row.document_uuid, found.uuid), Attachment.from_row(found, invoice.send_generation)


def remove_attachment(db: Database, spool: Spool, invoice_id: int, attachment_id: int, actor: Actor = SYSTEM) -> str:
    """Remove an attachment not yet sent; returns its name."""
    with db.writer.begin() as conn:
        invoice, row = _invoice(conn, invoice_id, actor)
        found = _attachment_row(conn, invoice_id, attachment_id)
        if "attach" not in actions_for(invoice):
            raise NotAllowed(refusal(invoice, "attach"))
        if found.remote_id is not None and found.sent_generation == invoice.send_generation:
            raise NotAllowed(f"{found.filename} is already at Pagero Online with invoice {invoice_id}; it cannot be "
                             "taken back from here")
        conn.execute(delete(attachments).where(attachments.c.id == attachment_id))
        record(conn, invoice_id, f"attachment removed: {found.filename}", who=actor.name)
    attachment_path(spool, row.document_uuid, found.uuid).unlink(missing_ok=True)
    return str(found.filename)


def send_attachments(db: Database, ids: list[int], actor: Actor = SYSTEM, *, confirm: bool = False) -> list[int]:
    """Send the attachments of invoices awaiting them and let Pagero Online go on; returns the ids.

    All or nothing, like *Send*.  When a print held several invoices and some of those still
    waiting have no attachment, :class:`NeedsConfirmation` asks first (``confirm`` answers yes).
    """
    if not ids:
        raise NotAllowed("name the invoices whose attachments to send")
    with db.writer.begin() as conn:
        rows = {r.id: r for r in conn.execute(select(invoices).where(invoices.c.id.in_(ids),
                                                                      visible_to(actor, invoices.c.owner)))}
        missing = sorted(set(ids) - set(rows))
        if missing:
            raise NotFound(f"no invoice {', '.join(map(str, missing))}")
        others = [f"{n} ({rows[n].state})" for n in sorted(rows) if rows[n].state != State.AWAITING_ATTACHMENTS.value]
        if others:
            raise NotAllowed("not waiting in Files awaiting attachments: " + ", ".join(others))
        if not confirm:
            bare = _bare_siblings(conn, {r.job_id for r in rows.values()}, actor)
            if bare:
                named = ", ".join(f"invoice {number}" if number else f"invoice #{n}" for n, number in bare)
                raise NeedsConfirmation(f"Some invoices of this print have no attachment ({named}). Send anyway?")
        for invoice_id in sorted(rows):
            count = conn.execute(select(func.count()).select_from(attachments)
                                 .where(attachments.c.invoice_id == invoice_id)).scalar_one()
            conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(
                attempts=0, first_attempt_at=None, next_attempt_at=None, last_error=""))
            transition(conn, invoice_id, State.ATTACHING,
                       f"sent by {actor.name} with {count} attachment{'s' if count != 1 else ''}", who=actor.name,
                       expect=State.AWAITING_ATTACHMENTS)
    return sorted(rows)


def _bare_siblings(conn: Connection, job_ids: set[int], actor: Actor) -> list[tuple[int, str | None]]:
    """Invoices (id, number) of prints that held several, still awaiting attachments and having none, that
    ``actor`` sees."""
    several = [job for job, n in conn.execute(
        select(invoices.c.job_id, func.count()).where(invoices.c.job_id.in_(job_ids)).group_by(invoices.c.job_id))
        if n > 1]
    if not several:
        return []
    with_files = select(attachments.c.invoice_id)
    return [(n, number) for n, number in conn.execute(
        select(invoices.c.id, invoices.c.invoice_number).where(invoices.c.job_id.in_(several),
                                    invoices.c.state == State.AWAITING_ATTACHMENTS.value,
                                    visible_to(actor, invoices.c.owner),
                                    invoices.c.id.not_in(with_files)).order_by(invoices.c.id))]
