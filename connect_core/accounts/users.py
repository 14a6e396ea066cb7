"""Users of the status page: names, roles, print names and Argon2id password hashes.

Passwords are Argon2id hashes (parameters at or above the OWASP minimum); an unknown
name costs the same verification as a known one, so timing does not tell which names
exist.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, delete, func, insert, select, update

from connect_core.errors import ConnectError
from connect_core.invoices.access import Actor
from connect_core.store import Database, utcnow
from connect_core.store.schema import sessions, users

ROLES = ("admin", "clerk")

# OWASP Password Storage Cheat Sheet: "19 MiB of memory, an iteration count of 2, and 1 degree of
# parallelism".  The RFC 9106 low-memory profile (64 MiB, p=4) takes over a second per login on a
# small two-core office machine, which would make the login form itself a denial-of-service lever.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))

NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8


class UserError(ConnectError):
    """A user could not be added or changed; the message says why."""


@dataclass(frozen=True)
class User:
    """A status-page user: admins see and change everything, clerks see their own invoices."""

    id: int
    name: str
    role: str
    print_names: tuple[str, ...]
    inbound: bool = False
    """Sees received invoices too (admins always do)."""

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def actor(self) -> Actor:
        """Who acts in the service functions: a clerk sees invoices printed under their print names."""
        return Actor(self.name, self.admin, owners=frozenset(self.print_names), inbound=self.admin or self.inbound)


def canonical_name(name: str) -> str:
    """The one spelling of a user name: NFKC, case-folded, trimmed (``Alice`` and ``alice`` are one user)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _user(row: Any) -> User:
    names = tuple(n for n in (row.print_names or "").split(",") if n)
    return User(row.id, row.name, row.role, names, bool(row.inbound))


def clean_print_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Print names as given (IPP ``requesting-user-name`` is compared exactly), without blanks or repeats."""
    seen: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if "," in name or len(name) > 255 or not name.isprintable():
            raise UserError(f"print name {name!r} may not contain commas or control characters")
        if name not in seen:
            seen.append(name)
    return tuple(seen)


def check_password(password: str) -> None:
    """:class:`UserError` unless ``password`` is long enough (asked once, before a second prompt)."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")


def add_user(db: Database, name: str, password: str, *, role: str = "clerk",
             print_names: list[str] | tuple[str, ...] = (), inbound: bool = False) -> User:
    """Create a user; their invoices are those printed under ``print_names`` (default: their own name).

    The name of a removed user may be given again: that user comes back with the new password,
    role and print names (the history already carries the name).
    """
    canonical = canonical_name(name)
    if not NAME.match(canonical):
        raise UserError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
                        "letter or digit")
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    check_password(password)
    names = clean_print_names(print_names) or (canonical,)
    password_hash = HASHER.hash(password)
    values = {"password_hash": password_hash, "role": role, "print_names": ",".join(names), "disabled": False,
              "inbound": inbound}
    with db.writer.begin() as conn:
        row = conn.execute(select(users.c.id, users.c.disabled).where(users.c.name == canonical)).first()
        if row is not None and not row.disabled:
            raise UserError(f"user {canonical} already exists")
        if row is not None:
            conn.execute(update(users).where(users.c.id == row.id).values(**values))
            user_id = row.id
        else:
            user_id = conn.execute(insert(users).values(name=canonical, created_at=utcnow(), **values)
                                   ).inserted_primary_key[0]  # type: ignore[index]
    return User(int(user_id), canonical, role, names, inbound)


def _enabled_row(conn: Connection, name: str) -> Any:
    row = conn.execute(select(users).where(users.c.name == canonical_name(name), users.c.disabled.is_(False))).first()
    if row is None:
        raise UserError(f"no user {name!r}")
    return row


def remove_user(db: Database, name: str) -> User:
    """Remove a user: they cannot log in, and their sessions end at once.

    The row stays, disabled, so that the history's names keep meaning someone.  The last admin
    cannot be removed (nobody could then manage the users or the settings on the status page).
    """
    with db.writer.begin() as conn:
        row = _enabled_row(conn, name)
        if row.role == "admin":
            admins = conn.execute(select(func.count()).select_from(users).where(
                users.c.role == "admin", users.c.disabled.is_(False))).scalar_one()
            if admins <= 1:
                raise UserError(f"{row.name} is the last admin; add another admin first")
        conn.execute(update(users).where(users.c.id == row.id).values(disabled=True))
        conn.execute(delete(sessions).where(sessions.c.user_id == row.id))
    return _user(row)


def set_password(db: Database, name: str, password: str) -> User:
    """Give a user a new password; their sessions end at once (whoever knew the old one is logged out)."""
    check_password(password)
    password_hash = HASHER.hash(password)
    with db.writer.begin() as conn:
        row = _enabled_row(conn, name)
        conn.execute(update(users).where(users.c.id == row.id).values(password_hash=password_hash))
        conn.execute(delete(sessions).where(sessions.c.user_id == row.id))
    return _user(row)


def set_print_names(db: Database, name: str, print_names: list[str] | tuple[str, ...]) -> User:
    """Replace the print names a user's invoices are recognised by."""
    names = clean_print_names(print_names)
    if not names:
        raise UserError("give at least one print name")
    with db.writer.begin() as conn:
        done = conn.execute(update(users).where(users.c.name == canonical_name(name), users.c.disabled.is_(False))
                            .values(print_names=",".join(names)))
        if done.rowcount != 1:
            raise UserError(f"no user {name!r}")
        row = conn.execute(select(users).where(users.c.name == canonical_name(name))).one()
    return _user(row)


def set_inbound(db: Database, name: str, inbound: bool) -> User:
    """Let a user see received invoices (the "inbound" role), or no longer."""
    with db.writer.begin() as conn:
        row = _enabled_row(conn, name)
        conn.execute(update(users).where(users.c.id == row.id).values(inbound=inbound))
        row = conn.execute(select(users).where(users.c.id == row.id)).one()
    return _user(row)


def list_users(db: Database) -> list[User]:
    """Every enabled user, by name."""
    with db.reader.connect() as conn:
        rows = conn.execute(select(users).where(users.c.disabled.is_(False)).order_by(users.c.name)).all()
    return [_user(row) for row in rows]


def user_count(db: Database) -> int:
    """How many users the store has ever had, removed ones included (none: the first-run page)."""
    with db.reader.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def authenticate(db: Database, name: str, password: str) -> User | None:
    """The user when the password is right, else None (same work either way).

    A hash made with weaker parameters than today's is replaced on a successful login.
    """
    canonical = canonical_name(name)
    with db.reader.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == canonical, users.c.disabled.is_(False))).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    try:
        HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if HASHER.check_needs_rehash(stored):
        with db.writer.begin() as conn:
            conn.execute(update(users).where(users.c.id == row.id).values(password_hash=HASHER.hash(password)))
    return _user(row)


def get_user(db: Database, name: str) -> User:
    """The enabled user called ``name`` (any spelling of it); :class:`UserError` when there is none."""
    with db.reader.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == canonical_name(name),
                                               users.c.disabled.is_(False))).first()
    if row is None:
        raise UserError(f"no user {name!r}")
    return _user(row)

