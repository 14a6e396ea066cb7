"""Who may see an invoice: the one rule every list, page, action and command applies.

An admin sees every invoice.  A clerk sees the invoices printed under one of their print
names (the IPP ``requesting-user-name`` a PC sent, kept as the invoice's owner and the job's
user name) and under their own name (the owner of what they printed with their password when
``printer.authentication`` is ``basic``).  Anything else is "not found" to
them, never "forbidden": they do not learn that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true
from sqlalchemy.sql.schema import Column


@dataclass(frozen=True)
class Actor:
    """Who acts: the name the history records, whether they see everything, and their print names."""

    name: str = "system"
    admin: bool = True
    owners: frozenset[str] = frozenset()
    inbound: bool = True
    """Sees received invoices (admins and users given the "inbound" role)."""

    @property
    def print_names(self) -> frozenset[str]:
        """The owners whose invoices a clerk sees: their print names and their own name (the owner of what they
        printed with a password, ``printer.authentication: basic``)."""
        return self.owners | {self.name}


SYSTEM = Actor()
"""The program itself (sees everything)."""


def visible_to(actor: Actor, owner: Column[str]) -> ColumnElement[bool]:
    """The condition on ``owner`` (``invoices.c.owner`` or ``print_jobs.c.user_name``) for rows ``actor`` sees."""
    if actor.admin:
        return true()
    return owner.in_(sorted(actor.print_names))
