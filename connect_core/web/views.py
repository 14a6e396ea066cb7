"""What the pages and the JSON API both show and do, on top of the service functions.

Every list, invoice and action goes through here, so a page and its API call can never
disagree.  Input is checked against :data:`LIST_PARAMS`, the same declarations the
OpenAPI document is built from.  Errors are :class:`HttpError` with plain words.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from connect_core.accounts.users import UserError
from connect_core.config import ENVIRONMENTS
from connect_core.errors import ConfigError, ConnectError
from connect_core.invoices import attachments, service
from connect_core.invoices.access import Actor
from connect_core.invoices.actions import ACTIONS, VIEWS
from connect_core.invoices.attachment_rules import AttachmentRefused, Verdict
from connect_core.invoices.errors import NeedsConfirmation, NotAllowed, NotFound
from connect_core.invoices.model import InvoiceDetail
from connect_core.invoices.service import SORTS, list_invoices, sort_value
from connect_core.invoices.states import State
from connect_core.online.client import OnlineError
from connect_core.pipeline import correct as corrections
from connect_core.received import service as received
from connect_core.received.einvoice import Refused
from connect_core.received.service import Received
from connect_core.web.site import Site

MAX_ID = 2**53 - 1
__all__ = ["ACTIONS", "ENVIRONMENTS", "SORTS", "FieldProblem", "HttpError", "Param", "invoice_list", "invoice_detail",
           "act", "correction_form", "correct", "layouts", "rename_layout", "delete_layout", "layout_yaml"]


class HttpError(Exception):
    """An answer other than success: ``status`` and words for the person who asked."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FieldProblem(HttpError):
    """A corrected value that is not acceptable (400): ``field`` names it, for the form and the API's answer."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, message)
        self.field = field


@dataclass(frozen=True)
class Param:
    """One query parameter: its type for OpenAPI and for checking what arrives."""

    name: str
    kind: str  # string | integer | date | amount | enum
    description: str
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    pattern: str | None = None

    def schema(self) -> dict[str, Any]:
        """The parameter's JSON Schema."""
        if self.kind == "integer":
            return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.kind == "date":
            return {"type": "string", "format": "date"}
        if self.kind == "amount":
            return {"type": "string", "pattern": AMOUNT.pattern}
        if self.kind == "enum":
            return {"type": "string", "enum": list(self.enum)}
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.pattern:
            schema["pattern"] = self.pattern
        return schema

    def parse(self, raw: str) -> Any:
        """The value of ``raw``, or :class:`HttpError` 400 naming the parameter."""
        if self.kind == "integer":
            if not re.fullmatch(r"[0-9]{1,16}", raw) or not self.minimum <= int(raw) <= self.maximum:  # type: ignore
                raise HttpError(400, f"{self.name}: give a whole number from {self.minimum} to {self.maximum}")
            return int(raw)
        if self.kind == "date":
            try:
                if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
                    raise ValueError(raw)
                return dt.date.fromisoformat(raw)
            except ValueError as error:
                raise HttpError(400, f"{self.name}: give a date as YYYY-MM-DD") from error
        if self.kind == "amount":
            text = raw.strip()
            if not AMOUNT.fullmatch(text):
                raise HttpError(400, f"{self.name}: give an amount as a number, like 148.51 or 148,51")
            try:
                return Decimal(text.replace(",", "."))
            except InvalidOperation as error:
                raise HttpError(400, f"{self.name}: give an amount as a number, like 148.51 or 148,51") from error
        if self.kind == "enum":
            if raw not in self.enum:
                raise HttpError(400, f"{self.name}: one of {', '.join(self.enum)}")
            return raw
        if len(raw) > self.max_length or not raw.isprintable():
            raise HttpError(400, f"{self.name}: at most {self.max_length} printable characters")
        if self.pattern and not re.fullmatch(self.pattern, raw):
            raise HttpError(400, f"{self.name}: not in the expected form")
        return raw


AMOUNT = re.compile(r"-?[0-9]{1,15}([.,][0-9]{1,2})?")
"""An amount in a search: a decimal point or a decimal comma, as people type it."""
CURSOR = r"[A-Za-z0-9_=-]{1,400}"

LIST_PARAMS: tuple[Param, ...] = (
    Param("view", "enum", "which invoices: Files to send, Sent invoices, Files awaiting attachments, Needs attention, "
          "or all (Search)",
          enum=tuple(VIEWS)),
    Param("status", "enum", "only invoices in this state", enum=tuple(s.value for s in State)),
    Param("number", "string", "invoice number contains this (any case)", max_length=100),
    Param("counterparty", "string", "seller or buyer contains this (any case)", max_length=100),
    Param("issued_from", "date", "invoice date on or after"),
    Param("issued_to", "date", "invoice date on or before"),
    Param("due_from", "date", "due date on or after"),
    Param("due_to", "date", "due date on or before"),
    Param("amount_min", "amount", "total at least"),
    Param("amount_max", "amount", "total at most"),
    Param("sort", "enum", "order of the list (newest first by default)", enum=tuple(SORTS)),
    Param("after", "string", "the next page's cursor, from the previous page's `next`", pattern=CURSOR,
          max_length=400),
    Param("limit", "integer", "rows per page", minimum=1, maximum=200),
)


def parse_query(params: tuple[Param, ...], query: Mapping[str, str], *, known_extra: tuple[str, ...] = ()) -> dict:
    """Checked values of the parameters present (empty form fields count as absent)."""
    declared = {p.name: p for p in params}
    values: dict[str, Any] = {}
    for key, raw in query.items():
        if key in known_extra:
            continue
        param = declared.get(key)
        if param is None:
            continue  # unknown parameters are ignored, as browsers and proxies add their own
        if raw == "":
            continue
        values[key] = param.parse(raw)
    return values


# -- lists ---------------------------------------------------------------------------------


def encode_cursor(value: Any, last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, last_id]).encode()).decode().rstrip("=")


def decode_cursor(text: str, sort: str) -> tuple[Any, int]:
    """The ``(value, id)`` a cursor carries; 400 when it was not made by :func:`encode_cursor`."""
    try:
        padded = text + "=" * (-len(text) % 4)
        value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(last_id, int) or not 0 <= last_id <= MAX_ID:
            raise ValueError(last_id)
        column = SORTS[sort][0]
        if value is not None:
            if column == "id":
                if not isinstance(value, int) or not 0 <= value <= MAX_ID:
                    raise ValueError(value)
            elif not isinstance(value, str) or len(value) > 200:
                raise ValueError(value)
            elif column in ("issue_date", "due_date"):
                dt.date.fromisoformat(value)
            elif column == "total" and not Decimal(value).is_finite():
                raise ValueError(value)
        return value, last_id
    except (ValueError, TypeError, InvalidOperation, binascii.Error, UnicodeDecodeError) as error:
        raise HttpError(400, "after: not a cursor from this list; start again from the first page") from error


def invoice_list(site: Site, actor: Actor, values: dict[str, Any], *, default_view: str = "all",
                 default_limit: int = 50) -> dict[str, Any]:
    """One page of a list: ``{"items": [...], "next": cursor or None}``."""
    view = values.get("view", default_view)
    states = [s.value for s in VIEWS[view]]
    status = values.get("status")
    if status is not None:
        if status not in states:
            return {"items": [], "next": None, "view": view}
        states = [status]
    elif view == "all":
        states = []  # every state: no condition at all
    sort = values.get("sort", "newest")
    limit = values.get("limit", default_limit)
    after = decode_cursor(values["after"], sort) if "after" in values else None
    rows = list_invoices(
        site.db, actor=actor, states=states, limit=limit + 1, sort=sort, after=after,
        number=values.get("number"), counterparty=values.get("counterparty"),
        issued_from=values.get("issued_from"), issued_to=values.get("issued_to"),
        due_from=values.get("due_from"), due_to=values.get("due_to"),
        amount_min=values.get("amount_min"), amount_max=values.get("amount_max"),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(sort_value(rows[-1], sort), rows[-1].id) if more and rows else None
    return {"items": rows, "next": cursor, "view": view}


# -- one invoice ---------------------------------------------------------------------------


def invoice_detail(site: Site, actor: Actor, invoice_id: int) -> InvoiceDetail:
    """The invoice with its fields (value, source, confidence), its print job, its whole history and its actions."""
    try:
        return service.invoice_detail(site.db, invoice_id, actor)
    except NotFound as error:
        raise HttpError(404, "No such invoice.") from error


# -- actions -------------------------------------------------------------------------------


def act(site: Site, actor: Actor, invoice_id: int, action: str, *, confirm: bool = False) -> dict[str, Any]:
    """Approve, resend, restart, delete one invoice or send its attachments; returns ``{"id", "state"}`` after."""
    try:
        if action == "approve":
            service.approve(site.db, invoice_id, actor, automatic=site.config.sending.mode == "automatic")
        elif action == "delete":
            service.delete(site.db, invoice_id, actor)
        elif action == "resend":
            service.resend(site.db, invoice_id, actor, confirm=confirm)
        elif action == "restart":
            service.get_invoice(site.db, invoice_id, actor)  # someone else's invoice is 404 before anything else
            client = site.online_client()
            if client is None:
                raise HttpError(409, "No Pagero Online account is set up (Settings).")
            service.restart(site.db, client, invoice_id, actor)
        elif action == "send-attachments":
            attachments.send_attachments(site.db, [invoice_id], actor, confirm=confirm)
        else:
            raise HttpError(404, f"No action {action!r}.")
        state = service.get_invoice(site.db, invoice_id, actor).state
    except NotFound as error:
        raise HttpError(404, "No such invoice.") from error
    except NeedsConfirmation as error:
        if action == "send-attachments":
            raise NeedsAnswer(str(error)) from error
        raise HttpError(409, f"{error} — confirm to resend") from error
    except NotAllowed as error:
        raise HttpError(409, str(error)) from error
    except OnlineError as error:
        raise HttpError(502, f"Pagero Online: {error.message}") from error
    return {"id": invoice_id, "state": state.value}


def send_invoices(site: Site, actor: Actor, ids: list[int] | None, environment: str) -> list[int]:
    """Queue invoices from Files to send (all the actor may see when ``ids`` is None)."""
    if environment not in ENVIRONMENTS:
        raise HttpError(400, f"environment: one of {', '.join(ENVIRONMENTS)}")
    try:
        return service.send(site.db, ids, environment, actor)
    except NotFound as error:
        raise HttpError(404, "No such invoice.") from error
    except NotAllowed as error:
        raise HttpError(409, str(error)) from error


def user_error(error: ConnectError) -> HttpError:
    """A refused change of users or settings as a 400 with its words."""
    if isinstance(error, UserError | ConfigError):
        return HttpError(400, str(error))
    return HttpError(409, str(error))


# -- corrections and layouts ---------------------------------------------------------------


def correction_form(site: Site, actor: Actor, invoice_id: int) -> corrections.CorrectionForm:
    """What the invoice page's *Correct fields* form shows (404 not the actor's, 409 not correctable)."""
    try:
        return corrections.correction_form(site.db, site.spool, invoice_id, actor)
    except NotFound as error:
        raise HttpError(404, "No such invoice.") from error
    except NotAllowed as error:
        raise HttpError(409, str(error)) from error


def correct(site: Site, actor: Actor, invoice_id: int, values: Mapping[str, str], *,
            learn: bool) -> corrections.Correction:
    """Correct an invoice's fields as ``actor``; :class:`FieldProblem` names a wrong field."""
    try:
        return corrections.correct(site.db, site.spool, site.config, invoice_id, values, actor, learn=learn,
                                   strict=False)
    except corrections.FieldError as error:
        raise FieldProblem(error.field, error.reason) from error
    except NotFound as error:
        raise HttpError(404, "No such invoice.") from error
    except NotAllowed as error:
        raise HttpError(409, str(error)) from error


def layouts(site: Site) -> list[corrections.Layout]:
    """Every layout file, learned or written by hand (refused ones with their error)."""
    return corrections.list_layouts(site.db, site.spool)


def rename_layout(site: Site, actor: Actor, name: str, new_name: str) -> corrections.Layout:
    """Rename a layout: 404 no such layout, 409 the new name is taken, 400 a name that cannot be."""
    try:
        return corrections.rename_layout(site.db, site.spool, name, new_name, actor)
    except NotAllowed as error:
        raise HttpError(403, str(error)) from error
    except corrections.NoSuchLayout as error:
        raise HttpError(404, "No such layout.") from error
    except corrections.LayoutNameTaken as error:
        raise HttpError(409, f"There is a layout called {new_name!r} already.") from error
    except corrections.LayoutError as error:
        raise HttpError(400, str(error)) from error


def delete_layout(site: Site, actor: Actor, name: str) -> None:
    """Delete a layout (admins only); the invoices it read keep their values."""
    try:
        corrections.delete_layout(site.db, site.spool, name, actor)
    except NotAllowed as error:
        raise HttpError(403, str(error)) from error
    except corrections.NoSuchLayout as error:
        raise HttpError(404, "No such layout.") from error


def layout_yaml(site: Site, name: str) -> str:
    """The layout's file as YAML text, to download."""
    try:
        return corrections.layout_yaml(site.spool, name)
    except corrections.NoSuchLayout as error:
        raise HttpError(404, "No such layout.") from error


# -- attachments (Files awaiting attachments, and on the invoice page) ---------------------------

DISTRIBUTION_WORDS = {"Electronic": "e-invoice", "EPrint": "PDF by e-mail (E-print)",
                      "OriginalPrint": "paper (Original print)"}
"""How Pagero Online distributes an invoice, in words (``Invoice.distribution``)."""



class NeedsAnswer(HttpError):
    """Not done until the person answers ``question`` (409): the page asks it with a way to go on and a way back."""

    def __init__(self, question: str) -> None:
        super().__init__(409, question)
        self.question = question


def _sentence(text: str) -> str:
    """A service's words as a sentence for a page (they start in lower case for the command line)."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text[-1] in ".?!" else ".")


def attachment_counts(site: Site, actor: Actor, invoice_ids: list[int]) -> dict[int, int]:
    """How many attachments each of these invoices has (those ``actor`` cannot see are left out)."""
    return attachments.attachment_counts(site.db, invoice_ids, actor)


def invoice_attachments(site: Site, actor: Actor, invoice_id: int) -> list[attachments.Attachment]:
    try:
        return attachments.list_attachments(site.db, invoice_id, actor)
    except NotFound as error:
        raise HttpError(404, "No such invoice.") from error


def add_attachment(site: Site, actor: Actor, invoice_id: int, data: bytes, filename: str, document_type: str,
                   note: str) -> tuple[attachments.Attachment, Verdict]:
    """Keep a file as an attachment: 400 with the rule's words when refused, 409 when the state does not allow it."""
    try:
        return attachments.add_attachment(site.db, site.spool, invoice_id, data, filename, document_type, note,
                                          actor=actor)
    except AttachmentRefused as error:  # its words begin with the file's name: kept as they are
        raise HttpError(400, error.message) from error
    except NotFound as error:
        raise HttpError(404, "No such invoice.") from error
    except NotAllowed as error:
        raise HttpError(409, _sentence(str(error))) from error


def attachment_file(site: Site, actor: Actor, invoice_id: int, attachment_id: int) -> tuple[Path,
                                                                                            attachments.Attachment]:
    """An attachment's file to open: 404 for an invoice ``actor`` may not see, exactly as for one that is not."""
    try:
        path, found = attachments.attachment_file(site.db, site.spool, invoice_id, attachment_id, actor)
    except NotFound as error:
        raise HttpError(404, "No such attachment.") from error
    if not path.is_file():
        raise HttpError(404, "The file of this attachment is no longer kept here (retention).")
    return path, found


def remove_attachment(site: Site, actor: Actor, invoice_id: int, attachment_id: int) -> str:
    try:
        return attachments.remove_attachment(site.db, site.spool, invoice_id, attachment_id, actor)
    except NotFound as error:
        raise HttpError(404, "No such attachment.") from error
    except NotAllowed as error:
        raise HttpError(409, _sentence(str(error))) from error


def send_attachments(site: Site, actor: Actor, ids: list[int], *, confirm: bool) -> list[int]:
    """Send the attachments of these invoices (all or nothing); :class:`NeedsAnswer` when some of a print have none."""
    try:
        return attachments.send_attachments(site.db, ids, actor, confirm=confirm)
    except NotFound as error:
        raise HttpError(404, "No such invoice.") from error
    except NeedsConfirmation as error:
        raise NeedsAnswer(str(error)) from error
    except NotAllowed as error:
        raise HttpError(409, _sentence(str(error))) from error


# -- received invoices (Inbound) -------------------------------------------------------------------

RECEIVED_PARAMS: tuple[Param, ...] = tuple(p for p in LIST_PARAMS if p.name in (
    "number", "counterparty", "issued_from", "issued_to", "due_from", "due_to", "amount_min", "amount_max",
    "limit")) + (Param("before", "integer", "the next page: received invoices older than this id", minimum=1,
                       maximum=MAX_ID),)


def _refused_inbound(actor: Actor, error: NotAllowed) -> HttpError:
    return HttpError(403 if not actor.inbound else 409, _sentence(str(error)))


def received_list(site: Site, actor: Actor, view: str, values: dict[str, Any],
                  default_limit: int = 50) -> dict[str, Any]:
    """One page of received invoices: ``{"items", "next"}`` (``next``: the ``before`` of the next page)."""
    limit = values.get("limit", default_limit)
    try:
        rows = received.list_received(
            site.db, actor, view=view, number=values.get("number"), counterparty=values.get("counterparty"),
            issued_from=values.get("issued_from"), issued_to=values.get("issued_to"),
            due_from=values.get("due_from"), due_to=values.get("due_to"), amount_min=values.get("amount_min"),
            amount_max=values.get("amount_max"), limit=limit + 1, before_id=values.get("before"))
    except NotAllowed as error:
        raise _refused_inbound(actor, error) from error
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": rows[-1].id if more and rows else None}


def received_counts(site: Site, actor: Actor) -> dict[str, int]:
    return received.received_counts(site.db, actor)


def inbound_folder(site: Site) -> Path:
    """Where downloaded invoices are written (as :func:`connect_core.online.inbound.make_inbound` decides)."""
    config = site.config
    return Path(config.inbound.folder) if config.inbound.folder else config.data_dir / "received"


def download_received(site: Site, actor: Actor, ids: list[int] | None) -> tuple[list[int], list[Received]]:
    """*Download selected* (``ids``) or *Download all* (None): the ids saved, and those asked for but refused."""
    try:
        asked = ids if ids is not None else [r.id for r in received.list_received(
            site.db, actor, view="unfetched", limit=100_000)]
        saved = received.download_received(site.config, site.db, ids, actor)
    except NotFound as error:
        raise HttpError(404, "No such received invoice.") from error
    except NotAllowed as error:
        raise _refused_inbound(actor, error) from error
    except OnlineError as error:
        raise HttpError(502, f"Pagero Online: {error.message}") from error
    refused = []
    for received_id in asked:
        if received_id in saved:
            continue
        try:
            row = received.get_received(site.db, received_id, actor)
        except NotFound:
            continue
        if row.state == "refused":
            refused.append(row)
    return saved, refused


def received_detail(site: Site, actor: Actor, received_id: int) -> Received:
    try:
        return received.get_received(site.db, received_id, actor)
    except NotFound as error:
        raise HttpError(404, "No such received invoice.") from error


def received_file(site: Site, actor: Actor, received_id: int) -> Path:
    try:
        return received.received_file(site.db, received_id, actor)
    except NotFound as error:
        raise HttpError(404, _sentence(str(error)) if actor.inbound else "No such received invoice.") from error


def received_presentation(site: Site, actor: Actor, received_id: int) -> bytes:
    """*View target invoice*: the received invoice as a readable PDF."""
    try:
        return received.presentation(site.db, received_id, actor)
    except NotFound as error:
        raise HttpError(404, _sentence(str(error)) if actor.inbound else "No such received invoice.") from error
    except Refused as error:
        raise HttpError(409, _sentence(f"it cannot be shown: {error.reason}")) from error


def received_attachment(site: Site, actor: Actor, received_id: int, index: int) -> tuple[Path, str]:
    try:
        return received.received_attachment(site.db, received_id, index, actor)
    except NotFound as error:
        raise HttpError(404, "No such attachment.") from error
