"""A person corrects an invoice's fields, and the product learns the invoice's layout from it.

The service functions the CLI (``pagero-connect correct``, ``layouts``) and the status page
(the invoice page's *Correct fields*, *Settings → Layouts*) call, and nothing else does:

- :func:`correction_form` — what the form shows: the current values, the page's text, and how
  the page prints dates and amounts (so the form can check values as they are typed);
- :func:`correct` — check the values (:class:`FieldError` names the field), store them with a
  history line naming who changed what, learn the layout (:mod:`.extract.learn`) unless told not
  to, re-check the invoice (validation, duplicates) so that it moves on, and read the waiting
  invoices of the learned layout again;
- :func:`list_layouts`, :func:`rename_layout`, :func:`delete_layout`, :func:`layout_yaml` — the
  layouts in ``<data dir>/templates`` (learned ones and hand-written ones) with what the store
  knows of them (learned from which invoice, by whom, when, how often used since).

A layout file a person edited into nonsense is reported (:attr:`Layout.error`) and skipped; the
others keep working.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, delete, select, update

from connect_core.config import Config
from connect_core.errors import ConnectError
from connect_core.fsutil import fsync_dir, write_durably
from connect_core.intake.spool import Spool
from connect_core.invoices.access import Actor, visible_to
from connect_core.invoices.actions import actions_for, refusal
from connect_core.invoices.errors import NotAllowed, NotFound
from connect_core.invoices.history import record, transition
from connect_core.invoices.model import Invoice
from connect_core.invoices.states import State
from connect_core.pipeline.extract import ExtractError, page_grids, pdf_producer, read_invoices
from connect_core.pipeline.extract.decide import READY, REQUIRED
from connect_core.pipeline.extract.grid import plain_lines
from connect_core.pipeline.extract.learn import LearnedPage, learn_layout
from connect_core.pipeline.extract.reader import conventions, lines_of
from connect_core.pipeline.extract.templates import (
    EXTRA_DATE_FORMATS,
    Template,
    TemplateFile,
    formatted_dates,
    load_template_files,
    template_data,
)
from connect_core.pipeline.extract.values import ISO_CURRENCIES, currency_code, find_amounts, find_dates
from connect_core.pipeline.layouts import folder_of, note_learned, note_use
from connect_core.pipeline.validate import Candidate, Policy, duplicate_of, run_checks, verdict
from connect_core.pipeline.worker import conversion_limits, policy_of
from connect_core.store import Database, utcnow
from connect_core.store.schema import invoices, layouts
from printer_backend.limits import Limits

log = logging.getLogger("connect_core.pipeline.correct")

#: The fields a person may correct, in the order the form shows them.
FIELDS = ("invoice_number", "issue_date", "due_date", "currency", "total", "buyer")
#: States whose invoices are read again when a layout they match is learned.
REREAD = (State.NEEDS_ATTENTION, State.READY)
MAX_TEXT = 200
#: The PDF of a whole print job (an invoice split off it has a file of its own).
WHOLE_DOCUMENT = "document.pdf"
_NAME = re.compile(r"^[\w .,&()'+\-]{1,80}$")


class FieldError(ConnectError):
    """A corrected value is not acceptable; ``field`` names the field (for the form), the message says why."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.reason = message


class LayoutError(ConnectError):
    """A layout cannot be renamed or deleted; the message says which and why."""


class NoSuchLayout(LayoutError):
    """No layout file has that name."""


class LayoutNameTaken(LayoutError):
    """Another layout has that name already."""


@dataclass(frozen=True)
class CorrectionForm:
    """What the correction form shows for one invoice."""

    invoice: Invoice
    values: dict[str, str]
    """The current value of each of :data:`FIELDS` as the form shows it ("" when none)."""
    page_text: str
    """The invoice's page text, as the reader saw it ("" when the PDF cannot be read)."""
    decimal: str
    """The decimal separator the page uses ("," or "."): amounts typed either way are accepted."""
    date_order: str
    """How the page's numeric dates read: "dmy" or "mdy"."""


@dataclass(frozen=True)
class Correction:
    """What one correction did."""

    invoice_id: int
    changed: dict[str, tuple[Any, Any]]
    """Field → (value before, value after), only the fields that changed."""
    state: State
    """Where the invoice went after its re-check."""
    layout: str | None = None
    """The layout learned (or improved) from it; None when nothing was learned."""
    learned_fields: tuple[str, ...] = ()
    nothing_learned: str = ""
    """Why no layout was learned (the values only confirmed what was read, ``--no-learn``, no anchor...)."""
    reread: tuple[int, ...] = ()
    """Waiting invoices read again through the learned layout."""
    moved: tuple[int, ...] = ()
    """Of those, the ones that left *Needs attention*."""
    not_on_page: tuple[str, ...] = ()
    """Corrected fields whose value the page does not print (a typing error?): not learned."""

    def summary(self) -> str:
        """One line for the command line and the page's notice."""
        changed = ", ".join(self.changed) or "nothing changed"
        line = f"Invoice {self.invoice_id} corrected ({changed}): {self.state.value}."
        if self.layout:
            line += (f" Learned layout {self.layout!r} ({', '.join(self.learned_fields)});"
                     f" {len(self.reread)} waiting invoice{'s' if len(self.reread) != 1 else ''} read again")
            line += f", {len(self.moved)} moved on." if self.moved else "."
        else:
            line += f" No layout learned: {self.nothing_learned}"
        if self.not_on_page:
            line += (f" Not printed on the page, so not learned: {', '.join(self.not_on_page)}"
                     " (check the value typed).")
        return line

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.invoice_id, "state": self.state.value,
            "changed": {name: [_text(old), _text(new)] for name, (old, new) in self.changed.items()},
            "layout": self.layout, "learned_fields": list(self.learned_fields),
            "nothing_learned": self.nothing_learned, "reread": list(self.reread), "moved": list(self.moved),
            "not_on_page": list(self.not_on_page),
        }


@dataclass(frozen=True)
class Layout:
    """One layout file in ``<data dir>/templates``, with what the store knows about it."""

    name: str
    file: str
    learned: bool
    """Learned from a correction (else written by hand)."""
    fields: tuple[str, ...] = ()
    learned_from: int | None = None
    learned_by: str | None = None
    learned_at: dt.datetime | None = None
    reads: int = 0
    """Invoices read through it since it was learned (or first used)."""
    last_used: dt.datetime | None = None
    error: str = ""
    """Why the file is refused (it is skipped); empty when it loads."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "file": self.file, "learned": self.learned, "fields": list(self.fields),
            "learned_from": self.learned_from, "learned_by": self.learned_by,
            "learned_at": _iso(self.learned_at), "reads": self.reads, "last_used": _iso(self.last_used),
            "error": self.error,
        }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=dt.UTC).isoformat()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# -- the service functions -------------------------------------------------------------------


def templates_dir(spool: Spool) -> Path:
    """Where the layouts live: ``<data dir>/templates``."""
    return folder_of(spool.root.parent)


def _correctable(conn: Connection, invoice_id: int, actor: Actor) -> tuple[Invoice, Any]:
    row = conn.execute(select(invoices).where(invoices.c.id == invoice_id, visible_to(actor, invoices.c.owner))).first()
    if row is None:
        raise NotFound(f"no invoice {invoice_id}")
    invoice = Invoice.from_row(row)
    if "correct" not in actions_for(invoice):
        raise NotAllowed(refusal(invoice, "correct"))
    return invoice, row


def _pdf(spool: Spool, invoice: Invoice) -> Path:
    return spool.job_dir(invoice.document_uuid) / invoice.pdf_name


def _page(spool: Spool, invoice: Invoice, limits: Limits | None) -> LearnedPage:
    pdf = _pdf(spool, invoice)
    try:
        grids = page_grids(pdf, limits)
        producer = pdf_producer(pdf)
    except ExtractError as error:
        log.info("invoice %d: its page text cannot be read for the correction: %s", invoice.id, error)
        return LearnedPage([], None, "dmy", None)
    if invoice.pdf_name == WHOLE_DOCUMENT and invoice.last_page:  # one invoice of a job kept whole
        grids = grids[invoice.first_page - 1:invoice.last_page]
    rows = [row for grid in grids for row in grid]
    text = plain_lines(rows)
    order, decimal = conventions(lines_of([(1, text)]))
    return LearnedPage(rows, producer, order, decimal)


def _shown(value: Any) -> str:
    return "" if value is None else _text(value) or ""


def correction_form(db: Database, spool: Spool, invoice_id: int, actor: Actor,
                    limits: Limits | None = None) -> CorrectionForm:
    """The form for ``invoice_id`` if ``actor`` may see it (:class:`NotFound`) and correct it (:class:`NotAllowed`)."""
    with db.reader.connect() as conn:
        invoice, _row = _correctable(conn, invoice_id, actor)
    page = _page(spool, invoice, limits)
    return CorrectionForm(invoice, {name: _shown(getattr(invoice, name)) for name in FIELDS}, page.text,
                          page.decimal or ".", page.date_order)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DOT_AMOUNT = re.compile(r"-?\d{1,15}(?:\.\d{1,2})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_values(values: Mapping[str, str], *, strict: bool, decimal: str = ".", date_order: str = "dmy"
                 ) -> dict[str, object]:
    """The typed values of a correction; :class:`FieldError` names the first field that is wrong.

    ``strict`` (the command line): dates as YYYY-MM-DD and amounts with a dot only.  Otherwise
    (the form) also dates and amounts as the page prints them (``decimal``, ``date_order``).
    An empty value clears ``due_date`` or ``buyer``; the fields of :data:`REQUIRED` cannot be emptied.
    """
    typed: dict[str, object] = {}
    for name, raw in values.items():
        if name not in FIELDS:
            raise FieldError(str(name)[:40], f"not a field that can be corrected (one of {', '.join(FIELDS)})")
        if not isinstance(raw, str):
            raise FieldError(name, "the value must be text")
        text = " ".join(raw.split())
        if not text:
            if name in REQUIRED:
                raise FieldError(name, "cannot be empty: an invoice is not sent without it")
            typed[name] = None
        elif name in ("issue_date", "due_date"):
            typed[name] = _date(name, text, strict, date_order)
        elif name == "total":
            typed[name] = _amount(name, text, strict, decimal)
        elif name == "currency":
            code = text.upper() if strict else (currency_code(text) or text.upper())
            if code not in ISO_CURRENCIES:
                raise FieldError(name, f"{text!r} is not a currency code (ISO 4217, such as EUR or SEK)")
            typed[name] = code
        else:
            if len(text) > (100 if name == "invoice_number" else MAX_TEXT) or _CONTROL.search(raw):
                raise FieldError(name, "too long or with control characters")
            typed[name] = text
    return typed


def _date(name: str, text: str, strict: bool, order: str) -> dt.date:
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    elif not strict:  # as the page prints it: the general reader's spellings, then those a layout can learn
        found = [*find_dates(text, order)] or [*formatted_dates(text, EXTRA_DATE_FORMATS)]
        if len(found) == 1 and found[0][1] == 0 and found[0][2] >= len(text.rstrip(".")):
            return found[0][0]
    example = "YYYY-MM-DD, such as 2026-12-31" if strict else \
        f"YYYY-MM-DD or as the page prints it, such as {'31.12.2026' if order == 'dmy' else '12/31/2026'}"
    raise FieldError(name, f"{text!r} is not a date ({example})")


def _amount(name: str, text: str, strict: bool, decimal: str) -> Decimal:
    if _DOT_AMOUNT.fullmatch(text):
        return Decimal(text)
    if not strict:
        found = list(find_amounts(text, decimal))
        if len(found) == 1 and not re.search(r"\d", text[:found[0].start]) and abs(found[0].value) < 10**15:
            return found[0].value
    example = "with a dot, such as 1234.50" if strict else f"such as 1234.50 or 1.234{decimal}50"
    raise FieldError(name, f"{text!r} is not an amount ({example})")


def correct(db: Database, spool: Spool, config: Config, invoice_id: int, values: Mapping[str, str],
            actor: Actor, *, learn: bool = True, strict: bool = False) -> Correction:
    """Correct ``invoice_id``'s fields as ``actor``; see the module's description.

    Raises :class:`FieldError` (a field's value), :class:`NotFound` (no such invoice, or not
    ``actor``'s) and :class:`NotAllowed` (already sent, deleted, invalid).
    """
    with db.reader.connect() as conn:
        invoice, row = _correctable(conn, invoice_id, actor)
    if not values:
        raise FieldError("values", f"give at least one field to correct ({', '.join(FIELDS)})")
    if strict:  # dates and amounts as the command line takes them: no need to read the page to check them
        parse_values(values, strict=True)
    limits = conversion_limits(config)
    page = _page(spool, invoice, limits)
    typed = parse_values(values, strict=strict, decimal=page.decimal or ".", date_order=page.date_order)
    changed = {name: (getattr(invoice, name), value) for name, value in typed.items()
               if getattr(invoice, name) != value}
    final = {name: getattr(invoice, name) for name in FIELDS} | typed
    folder = templates_dir(spool)
    learned, nothing, unplaced = _learn(folder, invoice, row, page, final, changed, learn)
    now = utcnow()
    policy = policy_of(config)
    with db.writer.begin() as conn:
        current, current_row = _correctable(conn, invoice_id, actor)
        if current.state is not invoice.state:
            raise NotAllowed(f"invoice {invoice_id} changed meanwhile ({current.state.value}); look again")
        sources = _sources(current_row.fields)
        for name in changed:
            sources[name] = {"source": f"corrected by {actor.name}", "confidence": 1.0}
        conn.execute(update(invoices).where(invoices.c.id == invoice_id)
                     .values(**{name: value for name, value in typed.items()}, fields=json.dumps(sources)))
        what = "; ".join(f"{name}: {_text(old) or '—'} → {_text(new) or '—'}" for name, (old, new) in changed.items())
        record(conn, invoice_id, "fields corrected" if changed else "fields confirmed", who=actor.name,
               why=what or "the values read were confirmed")
        if learned is not None:
            template, file = learned
            note_learned(conn, file, invoice_id, actor.name, now)
            record(conn, invoice_id, f"layout {template.name!r} learned from this invoice", who=actor.name,
                   why=f"fields: {', '.join(template.field_names)} (file {file})")
        missing = tuple(f"The {name.replace('_', ' ')} is missing." for name in REQUIRED if final.get(name) is None)
        state = _recheck(conn, invoice_id, current_row, final, missing, policy, now, who=actor.name,
                         has_text=True)
    if learned is None:
        return Correction(invoice_id, changed, state, nothing_learned=nothing, not_on_page=unplaced)
    template, file = learned
    reread, moved = reread_waiting(db, spool, config, template, file, exclude=invoice_id,
                                   learned_from=invoice_id, learned_by=actor.name)
    return Correction(invoice_id, changed, state, template.name, template.field_names, "", reread, moved,
                      unplaced)


def _sources(stored: str | None) -> dict[str, Any]:
    try:
        data = json.loads(stored or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _learn(folder: Path, invoice: Invoice, row: Any, page: LearnedPage, final: dict[str, object],
           changed: Mapping[str, Any], learn: bool) -> tuple[tuple[Template, str] | None, str, tuple[str, ...]]:
    """Learn (or improve) the invoice's layout: ((template, file name) or None, why not, changed fields the page
    does not print)."""
    if not learn:
        return None, "not asked to (--no-learn).", ()
    if not changed:
        return None, "the values given are the ones already read, so there is nothing new to learn.", ()
    if not page.rows:
        return None, "the invoice has no page text to learn a layout from.", ()
    base_file = _learned_file_of(folder, row.fields)
    base = base_file.template if base_file is not None else None
    name = base.name if base is not None else _new_name(folder, page, invoice.id)
    # What the reader was already sure of (and the person left as it was) is learned as support only: a
    # page of another layout that lacks its label is not held for it.
    stored = _sources(row.fields)
    sure = {name for name, info in stored.items() if isinstance(info, dict) and name not in changed
            and str(info.get("source", "")).startswith("text:") and float(info.get("confidence") or 0) >= READY}
    taught = learn_layout(page, final, name, base, sure)
    unplaced = tuple(name for name in taught.unanchored if name in changed)
    if taught.template is None:
        return None, taught.reason + ".", unplaced
    if taught.template.score(page.text, page.producer, page.rows) <= 0:
        return None, "its printed text is not enough to recognise the layout again.", unplaced
    file = base_file.path.name if base_file is not None else _new_file(folder, invoice.id)
    _write(folder / file, taught.template, f"Learned by Pagero Connect from invoice {invoice.id}.")
    return (taught.template, file), "", unplaced


def _learned_file_of(folder: Path, stored: str | None) -> TemplateFile | None:
    """The learned layout file that read this invoice before, if one did (a correction improves it)."""
    names = {str(info.get("source", ""))[len("template:"):] for info in _sources(stored).values()
             if isinstance(info, dict) and str(info.get("source", "")).startswith("template:")}
    for item in load_template_files(folder):
        if item.template is not None and item.template.learned and item.template.name in names:
            return item
    return None


def _slug(text: str) -> str:
    ascii_text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:40].strip("-")


def _new_name(folder: Path, page: LearnedPage, invoice_id: int) -> str:
    first = next((cell.text for row in page.rows for cell in row if not any(c.isdigit() for c in cell.text)), "")
    base = f"{_slug(first) or 'layout'}-{invoice_id}"
    taken = {item.template.name.casefold() for item in load_template_files(folder)
             if item.template is not None}
    name, n = base, 2
    while name.casefold() in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _new_file(folder: Path, invoice_id: int) -> str:
    name, n = f"learned-{invoice_id}.yaml", 2
    while (folder / name).exists():
        name, n = f"learned-{invoice_id}-{n}.yaml", n + 1
    return name


def _write(path: Path, template: Template, comment: str) -> None:
    text = yaml.safe_dump(template_data(template), allow_unicode=True, sort_keys=False, width=120)
    head = (f"# {comment}\n# A layout template: 'fingerprint' recognises the layout, each field says where its\n"
            "# value stands relative to a printed label (at: after | right | below).\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, (head + text).encode("utf-8"), mode=0o640)


def _recheck(conn: Connection, invoice_id: int, row: Any, values: Mapping[str, object], not_ready: tuple[str, ...],
             policy: Policy, now: dt.datetime, *, who: str, has_text: bool) -> State:
    """Check the invoice again with its new fields (validation, duplicates) and move it on; returns its state."""
    total = values.get("total")
    candidate = Candidate(pages=row.pages, has_text=has_text, size_bytes=row.size_bytes, sha256=row.sha256,
                          source_format=row.source_format or "", invoice_number=_str(values.get("invoice_number")),
                          total=total if isinstance(total, Decimal) else None,
                          seller=_str(values.get("seller", row.seller)), not_ready=not_ready)
    findings = run_checks(candidate, policy)
    duplicate = duplicate_of(conn, candidate, policy, now, exclude=invoice_id)
    target, why = verdict(findings, duplicate, policy)
    current = State(conn.execute(select(invoices.c.state).where(invoices.c.id == invoice_id)).scalar_one())
    conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(
        duplicate_of=duplicate if target is State.POSSIBLE_DUPLICATE else row.duplicate_of))
    if target is current:
        conn.execute(update(invoices).where(invoices.c.id == invoice_id)
                     .values(reason=why if target not in (State.READY, State.QUEUED) else "", updated_at=now))
        record(conn, invoice_id, f"checked again: still {target.value}", why=why, who=who)
        return target
    what = {State.READY: "ready to send", State.QUEUED: "queued for sending"}.get(target, "checked again")
    transition(conn, invoice_id, target, what, why=why, who=who, expect=current)
    return target


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def reread_waiting(db: Database, spool: Spool, config: Config, template: Template, file: str, *,
                   exclude: int | None = None, learned_from: int | None = None, learned_by: str | None = None
                   ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Read the waiting invoices (needs attention, ready) of ``template``'s layout again; returns (read, moved on).

    Done by the program for everyone's invoices (the history names the layout, the invoice it was
    learned from and who corrected that one).  An invoice whose state changed meanwhile is left alone.
    """
    with db.reader.connect() as conn:
        rows = conn.execute(select(invoices).where(
            invoices.c.state.in_([state.value for state in REREAD]), invoices.c.has_text.is_(True),
            invoices.c.id != (exclude if exclude is not None else -1)).order_by(invoices.c.id)).all()
    templates = [item.template for item in load_template_files(templates_dir(spool)) if item.template is not None]
    limits, policy = conversion_limits(config), policy_of(config)
    reread: list[int] = []
    moved: list[int] = []
    origin = (f"learned from invoice {learned_from} by {learned_by}" if learned_from is not None
              else "a layout")
    for row in rows:
        invoice = Invoice.from_row(row)
        if invoice.state is State.NEEDS_ATTENTION and "correct" not in actions_for(invoice):
            continue  # held by an upload error, not by its fields
        if _corrected(row.fields):
            continue  # a person set its fields: a layout never reads over them
        fields = _read_through(spool, invoice, template, templates, config, limits)
        if fields is None:
            continue
        now = utcnow()
        with db.writer.begin() as conn:
            fresh = conn.execute(select(invoices).where(invoices.c.id == invoice.id)).first()
            if fresh is None or fresh.state != invoice.state.value:
                continue
            values = {name: getattr(fields, name) for name in (*FIELDS, "seller")}
            conn.execute(update(invoices).where(invoices.c.id == invoice.id)
                         .values(**values, fields=json.dumps(fields.sources), updated_at=now))
            record(conn, invoice.id, f"read again through layout {template.name!r}",
                   why=f"layout {origin}; " + ", ".join(f"{name} ({info.get('source', '?')})"
                                                       for name, info in fields.sources.items()))
            note_use(conn, file, now)
            state = _recheck(conn, invoice.id, fresh, values, fields.not_ready, policy, now, who="system",
                             has_text=bool(fresh.has_text))
        reread.append(invoice.id)
        if invoice.state is State.NEEDS_ATTENTION and state is not State.NEEDS_ATTENTION:
            moved.append(invoice.id)
    return tuple(reread), tuple(moved)


def _corrected(stored: str | None) -> bool:
    return any(isinstance(info, dict) and str(info.get("source", "")).startswith("corrected by ")
               for info in _sources(stored).values())


def _read_through(spool: Spool, invoice: Invoice, template: Template, templates: Sequence[Template],
                  config: Config, limits: Limits) -> Any:
    """The invoice read again with every layout, if ``template`` is the one that reads it; else None."""
    pdf = _pdf(spool, invoice)
    try:
        found = read_invoices(pdf, templates, config.companies, config.company.currency or None, limits)
    except ExtractError as error:
        log.info("invoice %d cannot be read again: %s", invoice.id, error)
        return None
    wanted = (invoice.first_page, invoice.last_page or invoice.first_page)
    if invoice.pdf_name != WHOLE_DOCUMENT:
        wanted = (1, 1 + wanted[1] - wanted[0])
    match = next((fields for fields in found if fields.pages == wanted), found[0] if len(found) == 1 else None)
    if match is None or match.layout != template.name:
        return None
    return match


# -- layouts ---------------------------------------------------------------------------------------


def list_layouts(db: Database, spool: Spool) -> list[Layout]:
    """Every layout file, learned and hand-written, in file-name order (refused files with their error)."""
    with db.reader.connect() as conn:
        known = {row.file: row for row in conn.execute(select(layouts))}
    found = []
    for item in load_template_files(templates_dir(spool)):
        row = known.get(item.path.name)
        template = item.template
        found.append(Layout(
            name=template.name if template is not None else item.path.stem,
            file=item.path.name,
            learned=(template.learned if template is not None else False) or (row is not None and
                                                                              row.learned_from is not None),
            fields=template.field_names if template is not None else (),
            learned_from=row.learned_from if row is not None else None,
            learned_by=row.learned_by if row is not None else None,
            learned_at=row.learned_at if row is not None else None,
            reads=row.reads if row is not None else 0,
            last_used=row.last_used_at if row is not None else None,
            error=item.error,
        ))
    return found


def _find(spool: Spool, name: str) -> TemplateFile:
    for item in load_template_files(templates_dir(spool)):
        own = item.template.name if item.template is not None else item.path.stem
        if own == name or (item.template is None and item.path.name == name):
            return item
    raise NoSuchLayout(f"no layout named {name!r} (pagero-connect layouts lists them)")


def rename_layout(db: Database, spool: Spool, name: str, new_name: str, actor: Actor) -> Layout:
    """Give a learned layout another name (letters, digits, spaces and ``.,&()'+-``, at most 80); admins only."""
    if not actor.admin:
        raise NotAllowed("only an admin may rename layouts")
    new = " ".join(new_name.split())
    if not _NAME.fullmatch(new):
        raise LayoutError("a layout's name is 1 to 80 letters, digits, spaces or .,&()'+-")
    item = _find(spool, name)
    if item.template is None:
        raise LayoutError(f"layout file {item.path.name} is refused ({item.error}); fix or delete it first")
    if not item.template.learned:
        raise LayoutError(f"{name!r} was written by hand ({item.path.name}): rename it in its file")
    if any(layout.name.casefold() == new.casefold() and layout.file != item.path.name
           for layout in list_layouts(db, spool)):
        raise LayoutNameTaken(f"there is a layout named {new!r} already")
    _write(item.path, dataclasses.replace(item.template, name=new),
           f"Learned by Pagero Connect; renamed from {name!r} by {actor.name}.")
    log.info("layout %r renamed to %r by %s", name, new, actor.name)
    return next(layout for layout in list_layouts(db, spool) if layout.file == item.path.name)


def delete_layout(db: Database, spool: Spool, name: str, actor: Actor) -> None:
    """Delete a layout (admins only: :class:`NotAllowed`); the invoices it read keep their values."""
    if not actor.admin:
        raise NotAllowed("only an admin may delete layouts")
    item = _find(spool, name)
    item.path.unlink(missing_ok=True)
    fsync_dir(item.path.parent)
    with db.writer.begin() as conn:
        conn.execute(delete(layouts).where(layouts.c.file == item.path.name))
    log.info("layout %r (%s) deleted by %s", name, item.path.name, actor.name)


def layout_yaml(spool: Spool, name: str) -> str:
    """The layout's file as YAML text (to download); :class:`NoSuchLayout` when there is none of that name."""
    return _find(spool, name).path.read_text(encoding="utf-8")
