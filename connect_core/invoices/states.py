"""Invoice states and the one table of allowed transitions.

Every change of state goes through :func:`connect_core.invoices.service.transition`, which
checks this table and appends the change to the invoice's history.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    RECEIVED = "received"
    CONVERTED = "converted"
    READY = "ready"  # waits in "Files to send" (manual mode)
    QUEUED = "queued"  # waits for the uploader (automatic mode or "Send")
    NEEDS_ATTENTION = "needs-attention"
    INVALID = "invalid"
    POSSIBLE_DUPLICATE = "possible-duplicate"
    DELETED = "deleted"
    UPLOADING = "uploading"  # an upload attempt is under way (its outcome may be unknown after a crash)
    SENT = "sent"  # Pagero Online has the file
    AWAITING_ATTACHMENTS = "awaiting-attachments"  # Pagero Online holds it until its attachments are added
    ATTACHING = "attaching"  # its attachments are being sent; then Pagero Online is told to go on
    DELIVERED = "delivered"  # "Done": delivered to the recipient's channel
    FETCHED = "fetched"  # "Done (Fetched)": the recipient fetched it
    ACCEPTED = "accepted"  # the recipient accepted it (business response)
    REJECTED = "rejected"  # the recipient or the network rejected it
    CANCELLED = "cancelled"


S = State
# (from, to) pairs; None is "no invoice yet".
TRANSITIONS: frozenset[tuple[State | None, State]] = frozenset(
    {
        (None, S.RECEIVED),
        (S.RECEIVED, S.CONVERTED),
        (S.RECEIVED, S.INVALID),
        (S.CONVERTED, S.READY),
        (S.CONVERTED, S.QUEUED),
        (S.CONVERTED, S.NEEDS_ATTENTION),
        (S.CONVERTED, S.INVALID),
        (S.CONVERTED, S.POSSIBLE_DUPLICATE),
        (S.POSSIBLE_DUPLICATE, S.READY),
        (S.POSSIBLE_DUPLICATE, S.QUEUED),
        (S.NEEDS_ATTENTION, S.READY),
        (S.NEEDS_ATTENTION, S.QUEUED),
        (S.READY, S.QUEUED),
        (S.QUEUED, S.UPLOADING),
        (S.QUEUED, S.NEEDS_ATTENTION),
        (S.UPLOADING, S.QUEUED),
        (S.UPLOADING, S.SENT),
        (S.UPLOADING, S.NEEDS_ATTENTION),
        (S.SENT, S.DELIVERED),
        (S.SENT, S.FETCHED),
        (S.SENT, S.ACCEPTED),
        (S.SENT, S.REJECTED),
        (S.SENT, S.NEEDS_ATTENTION),
        (S.SENT, S.CANCELLED),
        (S.DELIVERED, S.FETCHED),
        (S.DELIVERED, S.ACCEPTED),
        (S.DELIVERED, S.REJECTED),
        (S.FETCHED, S.ACCEPTED),
        (S.FETCHED, S.REJECTED),
        (S.NEEDS_ATTENTION, S.SENT),  # a stopped file part restarted at Pagero Online
        (S.NEEDS_ATTENTION, S.CANCELLED),
        # manual attachment handling at Pagero Online: the sent file waits for its attachments
        (S.SENT, S.AWAITING_ATTACHMENTS),
        (S.AWAITING_ATTACHMENTS, S.ATTACHING),
        (S.ATTACHING, S.SENT),
        (S.ATTACHING, S.AWAITING_ATTACHMENTS),  # the service refused an attachment: a person decides
        (S.AWAITING_ATTACHMENTS, S.CANCELLED),
    }
    # a person corrected the fields, or a learned layout read them again: checked again, the invoice moves on
    | {(a, b) for a in (S.NEEDS_ATTENTION, S.READY, S.POSSIBLE_DUPLICATE)
       for b in (S.NEEDS_ATTENTION, S.READY, S.POSSIBLE_DUPLICATE, S.QUEUED, S.INVALID) if a is not b}
    # a deliberate re-send (asks for confirmation when the invoice was delivered)
    | {(state, S.QUEUED) for state in (S.SENT, S.DELIVERED, S.FETCHED, S.ACCEPTED, S.REJECTED, S.CANCELLED,
                                        S.AWAITING_ATTACHMENTS)}
    | {(state, S.DELETED) for state in State if state not in (S.DELETED, S.UPLOADING, S.ATTACHING)}
)

DONE: frozenset[State] = frozenset({S.DELETED, S.CANCELLED, S.DELIVERED, S.FETCHED, S.ACCEPTED, S.REJECTED})
"""States where the office's work is finished: only these may have their local copies purged."""

TRACKED: frozenset[State] = frozenset({S.SENT, S.DELIVERED, S.FETCHED})
"""Sent invoices whose status the poller still follows at Pagero Online."""

REACHED_RECIPIENT: frozenset[State] = frozenset({S.DELIVERED, S.FETCHED, S.ACCEPTED, S.REJECTED})
"""Resending one of these asks for confirmation: the recipient would get it twice."""

APPROVABLE: frozenset[State] = frozenset({S.POSSIBLE_DUPLICATE, S.NEEDS_ATTENTION})
"""States a person can release with "approve"."""


def allowed(current: State | None, target: State) -> bool:
    return (current, target) in TRANSITIONS
