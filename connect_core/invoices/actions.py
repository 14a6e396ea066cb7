"""What a person can do with an invoice in each state, and which states each outbound view lists.

The buttons a page shows and the checks the service functions make are both read from
:func:`actions_for`, so a button is offered exactly when the action would be accepted.
"""

from __future__ import annotations

from connect_core.invoices.model import Invoice
from connect_core.invoices.states import State

ACTIONS = ("correct", "approve", "resend", "restart", "attach", "send-attachments", "delete")
"""The actions on one invoice (``send`` is the action on the list *Files to send*).  ``correct`` opens the
form of :mod:`connect_core.pipeline.correct`; ``approve`` reads "Approve duplicate" on a possible duplicate
and "Send as it is" on an invoice a check holds.  ``attach`` adds or removes attachments of an invoice Pagero
Online holds for them, ``send-attachments`` sends them and lets Pagero Online go on."""

SENT_STATES = (State.SENT, State.DELIVERED, State.FETCHED, State.ACCEPTED, State.REJECTED, State.CANCELLED)
"""At Pagero Online already: a resend asks for confirmation."""

VIEWS: dict[str, tuple[State, ...]] = {
    "files-to-send": (State.READY,),
    "sent": (State.QUEUED, State.UPLOADING, *SENT_STATES),
    "awaiting-attachments": (State.AWAITING_ATTACHMENTS, State.ATTACHING),
    "needs-attention": (State.NEEDS_ATTENTION, State.INVALID, State.POSSIBLE_DUPLICATE),
    "all": tuple(State),
}
"""The outbound views and the invoice states each one lists."""


def actions_for(invoice: Invoice) -> tuple[str, ...]:
    """The actions ``invoice`` allows now, in the order its buttons are shown."""
    state = invoice.state
    if state is State.POSSIBLE_DUPLICATE:
        return ("correct", "approve", "delete")
    if state is State.INVALID:
        return ("delete",)
    if state is State.NEEDS_ATTENTION:
        if invoice.restartable:
            return ("restart", "delete")
        if invoice.last_error or invoice.attempts:
            return ("resend", "delete")
        return ("correct", "approve", "delete")
    if state is State.READY:
        return ("correct", "delete")
    if state in SENT_STATES:
        return ("resend",)
    if state is State.AWAITING_ATTACHMENTS:
        return ("attach", "send-attachments")
    return ()


def refusal(invoice: Invoice, action: str) -> str:
    """Why ``action`` is not offered for ``invoice``, and what is, in words for the person who asked."""
    offered = actions_for(invoice)
    state = invoice.state.value
    if action == "resend" and "restart" in offered:
        return f"invoice {invoice.id} stopped at Pagero Online; restart it there instead (restart {invoice.id})"
    if action == "resend" and "approve" in offered:
        return f"invoice {invoice.id} was never sent; it needs attention ({invoice.reason or state}): approve it"
    if action == "correct":
        done = "was already sent" if invoice.state in (*SENT_STATES, State.QUEUED, State.UPLOADING) else "is"
        return (f"invoice {invoice.id} {done} ({state}): only an invoice not sent yet (needs attention, ready, "
                "possible duplicate) can be corrected")
    if action in ("attach", "send-attachments"):
        if invoice.state is State.ATTACHING:
            return f"invoice {invoice.id} is sending its attachments now; they cannot be changed any more"
        return (f"invoice {invoice.id} is {state}: attachments are added while Pagero Online holds an invoice for "
                "them (Files awaiting attachments)")
    if not offered:
        return f"invoice {invoice.id} is {state}; nothing can be done with it now"
    return f"invoice {invoice.id} is {state}; it can be: {', '.join(offered)}"
