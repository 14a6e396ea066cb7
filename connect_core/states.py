"""Invoice states and the one table of allowed transitions.

Every change of state goes through :func:`connect_core.invoices.transition`, which
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
    }
    | {(state, S.DELETED) for state in State if state is not S.DELETED}
)

FINAL: frozenset[State] = frozenset({S.DELETED})
"""States nothing leaves: only these may have their local copies purged."""

APPROVABLE: frozenset[State] = frozenset({S.POSSIBLE_DUPLICATE, S.NEEDS_ATTENTION})
"""States a person can release with "approve"."""


def allowed(current: State | None, target: State) -> bool:
    return (current, target) in TRANSITIONS
