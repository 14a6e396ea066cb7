"""Checks every invoice passes before it may be sent, each with a reason in plain words.

Checks are a list (:data:`CHECKS`): each looks at one candidate and returns nothing or
a :class:`Finding`.  The next steps of the product add the invoice-field checks here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, and_, or_, select

from connect_core.invoices.states import State
from connect_core.store.schema import invoices


@dataclass(frozen=True)
class Policy:
    """What the office chose: how strict to be and what happens to a good invoice."""

    automatic: bool = False
    duplicates: bool = True
    duplicate_window_days: int = 90
    max_pages: int = 500
    max_bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True)
class Candidate:
    """One invoice about to be stored, as the checks see it."""

    pages: int
    has_text: bool
    size_bytes: int
    sha256: str
    source_format: str
    invoice_number: str | None = None
    total: Decimal | None = None
    seller: str | None = None
    not_ready: tuple[str, ...] = ()
    """Why the reader is not sure enough to send it without a person (empty: ready to send)."""
    no_text: str = ""
    """Why a document without text has none, when text recognition was tried ("No text found: ...")."""


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: State  # INVALID or NEEDS_ATTENTION
    reason: str


Check = Callable[[Candidate, Policy], Finding | None]


def page_count(candidate: Candidate, policy: Policy) -> Finding | None:
    if candidate.pages < 1:
        return Finding("pages", State.INVALID, "The document has no pages.")
    if candidate.pages > policy.max_pages:
        return Finding("pages", State.NEEDS_ATTENTION,
                       f"The document has {candidate.pages} pages; more than {policy.max_pages} needs a look.")
    return None


def size(candidate: Candidate, policy: Policy) -> Finding | None:
    if candidate.size_bytes > policy.max_bytes:
        megabytes = candidate.size_bytes / 2**20
        return Finding("size", State.NEEDS_ATTENTION,
                       f"The PDF is {megabytes:.0f} MB, larger than the {policy.max_bytes // 2**20} MB allowed.")
    return None


def text_layer(candidate: Candidate, policy: Policy) -> Finding | None:
    if not candidate.has_text:
        if candidate.no_text:
            return Finding("text", State.NEEDS_ATTENTION, f"{candidate.no_text} Check it and approve.")
        kind = "an image" if candidate.source_format.startswith("image/") else "a document whose text cannot be read"
        return Finding("text", State.NEEDS_ATTENTION,
                       f"It arrived as {kind}, so the invoice fields cannot be read from it; check it and approve.")
    return None


def invoice_fields(candidate: Candidate, policy: Policy) -> Finding | None:
    if not candidate.has_text:
        return None  # already said: nothing can be read from it
    if candidate.not_ready:
        return Finding("fields", State.NEEDS_ATTENTION,
                       " ".join(candidate.not_ready) + " Check the page and correct or approve it.")
    return None


CHECKS: list[Check] = [page_count, size, text_layer, invoice_fields]


def duplicate_of(conn: Connection, candidate: Candidate, policy: Policy, now: dt.datetime,
                 exclude: int | None = None) -> int | None:
    """An earlier, not deleted invoice with the same content inside the window, if any."""
    if not policy.duplicates:
        return None
    since = now - dt.timedelta(days=policy.duplicate_window_days)
    same = invoices.c.sha256 == candidate.sha256
    if candidate.invoice_number and candidate.seller:
        same = or_(same, and_(invoices.c.invoice_number == candidate.invoice_number,
                              invoices.c.seller == candidate.seller))
    row = conn.execute(
        select(invoices.c.id).where(
            same,
            invoices.c.state != State.DELETED.value,
            invoices.c.created_at >= since,
            invoices.c.id != (exclude if exclude is not None else -1),
        ).order_by(invoices.c.id).limit(1)
    ).first()
    return None if row is None else int(row.id)


def verdict(findings: list[Finding], duplicate: int | None, policy: Policy) -> tuple[State, str]:
    """The state a new invoice lands in, and why."""
    for wanted in (State.INVALID, State.NEEDS_ATTENTION):
        reasons = [f.reason for f in findings if f.verdict is wanted]
        if reasons:
            return wanted, " ".join(reasons)
    if duplicate is not None:
        return State.POSSIBLE_DUPLICATE, (f"The same document, or the same invoice number from the same seller, "
                                          f"was received before as invoice {duplicate}.")
    return (State.QUEUED if policy.automatic else State.READY), ""


def run_checks(candidate: Candidate, policy: Policy) -> list[Finding]:
    return [finding for check in CHECKS if (finding := check(candidate, policy)) is not None]
