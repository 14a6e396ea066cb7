"""The invoices' exception family: turned into 404/409 on the web and one line on the command line."""

from __future__ import annotations

from connect_core.errors import StoreError


class NotFound(StoreError):
    """No such invoice, or none the asking user may see (both look the same to them)."""


class NotAllowed(StoreError):
    """The invoice's state does not allow this action; the message says why and what to do instead."""


class NeedsConfirmation(NotAllowed):
    """Allowed only once the person confirms (a resend the recipient may get twice)."""
