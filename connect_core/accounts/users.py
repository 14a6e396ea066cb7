"""Users of the status page, their sessions, and login throttling.

Passwords are Argon2id hashes (parameters at or above the OWASP minimum); an unknown
name costs the same verification as a known one, so timing does not tell which names
exist.  Session ids are 256 random bits; the store keeps only their SHA-256, so a copy
of the database opens no session.  A new id is issued at every login (a session id
seen before login is never promoted) and logout deletes it server-side.  Failed logins
slow down per account and per address with growing lockouts and one generic message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, insert, or_, select, update

from connect_core.errors import ConnectError
from connect_core.invoices.service import Actor
from connect_core.store import Database, utcnow
from connect_core.store.schema import login_throttle, sessions, users

ROLES = ("admin", "clerk")

# OWASP Password Storage Cheat Sheet: "19 MiB of memory, an iteration count of 2, and 1 degree of
# parallelism".  The RFC 9106 low-memory profile (64 MiB, p=4) takes over a second per login on a
# small two-core office machine, which would make the login form itself a denial-of-service lever.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))

NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8

# Throttling: this many failures in a row are free, then each further one locks the key for
# twice as long as the one before, up to LOCK_MAX.  A quiet FORGET period clears the count.
FREE_FAILURES_PER_USER = 5
FREE_FAILURES_PER_ADDRESS = 20
LOCK_BASE = dt.timedelta(seconds=2)
LOCK_MAX = dt.timedelta(minutes=15)
FORGET = dt.timedelta(minutes=30)


class UserError(ConnectError):
    """A user could not be added or changed; the message says why."""


@dataclass(frozen=True)
class User:
    """A status-page user: admins see and change everything, clerks see their own invoices."""

    id: int
    name: str
    role: str
    print_names: tuple[str, ...]

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def actor(self) -> Actor:
        """Who acts in the service functions: a clerk sees invoices printed under their print names."""
        return Actor(self.name, self.admin, owners=frozenset(self.print_names))


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    created_at: dt.datetime


def canonical_name(name: str) -> str:
    """The one spelling of a user name: NFKC, case-folded, trimmed (``Alice`` and ``alice`` are one user)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _user(row: Any) -> User:
    names = tuple(n for n in (row.print_names or "").split(",") if n)
    return User(row.id, row.name, row.role, names)


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


def add_user(db: Database, name: str, password: str, *, role: str = "clerk",
             print_names: list[str] | tuple[str, ...] = ()) -> User:
    """Create a user; their invoices are those printed under ``print_names`` (default: their own name)."""
    canonical = canonical_name(name)
    if not NAME.match(canonical):
        raise UserError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
                        "letter or digit")
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    names = clean_print_names(print_names) or (canonical,)
    password_hash = HASHER.hash(password)
    with db.writer.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.name == canonical)).first() is not None:
            raise UserError(f"user {canonical} already exists")
        user_id = conn.execute(insert(users).values(
            name=canonical, password_hash=password_hash, role=role, print_names=",".join(names),
            created_at=utcnow(), disabled=False)).inserted_primary_key[0]  # type: ignore[index]
    return User(int(user_id), canonical, role, names)


def set_print_names(db: Database, name: str, print_names: list[str] | tuple[str, ...]) -> User:
    """Replace the print names a user's invoices are recognised by."""
    names = clean_print_names(print_names)
    if not names:
        raise UserError("give at least one print name")
    with db.writer.begin() as conn:
        done = conn.execute(update(users).where(users.c.name == canonical_name(name))
                            .values(print_names=",".join(names)))
        if done.rowcount != 1:
            raise UserError(f"no user {name!r}")
        row = conn.execute(select(users).where(users.c.name == canonical_name(name))).one()
    return _user(row)


def list_users(db: Database) -> list[User]:
    """Every enabled user, by name."""
    with db.reader.connect() as conn:
        rows = conn.execute(select(users).where(users.c.disabled.is_(False)).order_by(users.c.name)).all()
    return [_user(row) for row in rows]


def user_count(db: Database) -> int:
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


# -- sessions ------------------------------------------------------------------------------


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(db: Database, user: User) -> tuple[str, str]:
    """A fresh session for ``user``: returns its id (for the cookie) and its CSRF token."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    with db.writer.begin() as conn:
        conn.execute(insert(sessions).values(id_hash=_digest(session_id), user_id=user.id, csrf=csrf,
                                             created_at=now, seen_at=now))
    return session_id, csrf


def find_session(db: Database, session_id: str, *, idle: dt.timedelta, absolute: dt.timedelta) -> Session | None:
    """The live session with this id, or None (unknown, idle too long, too old, or its user disabled)."""
    if not session_id or len(session_id) > 100:
        return None
    now = utcnow()
    key = _digest(session_id)
    with db.reader.connect() as conn:
        row = conn.execute(
            select(sessions, users.c.name, users.c.role, users.c.print_names, users.c.disabled)
            .join(users, users.c.id == sessions.c.user_id).where(sessions.c.id_hash == key)
        ).first()
    if row is None:
        return None
    if row.disabled or now - row.seen_at > idle or now - row.created_at > absolute:
        end_session(db, session_id)
        return None
    if now - row.seen_at > dt.timedelta(minutes=1):  # one write a minute at most per session
        with db.writer.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.id_hash == key).values(seen_at=now))
    names = tuple(n for n in (row.print_names or "").split(",") if n)
    return Session(User(row.user_id, row.name, row.role, names), row.csrf, row.created_at)


def end_session(db: Database, session_id: str) -> None:
    """Log out: the id stops working at once."""
    with db.writer.begin() as conn:
        conn.execute(delete(sessions).where(sessions.c.id_hash == _digest(session_id)))


def end_old_sessions(db: Database, *, idle: dt.timedelta, absolute: dt.timedelta) -> int:
    """Forget sessions past their timeouts; returns how many."""
    now = utcnow()
    with db.writer.begin() as conn:
        done = conn.execute(delete(sessions).where((sessions.c.seen_at < now - idle)
                                                   | (sessions.c.created_at < now - absolute)))
    return int(done.rowcount or 0)


# -- login throttling ------------------------------------------------------------------------


def _keys(name: str, address: str) -> list[tuple[str, int]]:
    return [(f"user:{canonical_name(name)[:150]}", FREE_FAILURES_PER_USER),
            (f"ip:{address[:150]}", FREE_FAILURES_PER_ADDRESS)]


def login_blocked(db: Database, name: str, address: str) -> float:
    """Seconds until this name or address may try again (0: may try now)."""
    now = utcnow()
    keys = [key for key, _free in _keys(name, address)]
    with db.reader.connect() as conn:
        rows = conn.execute(select(login_throttle.c.blocked_until).where(login_throttle.c.key.in_(keys))).all()
    waits = [(row.blocked_until - now).total_seconds() for row in rows if row.blocked_until is not None]
    return max([0.0, *waits])


def login_failed(db: Database, name: str, address: str) -> None:
    """Count a failure against the name and the address; past the free ones, lock for longer each time."""
    now = utcnow()
    with db.writer.begin() as conn:
        # Names tried once and never again must not pile up.
        conn.execute(delete(login_throttle).where(login_throttle.c.last_failure_at < now - FORGET,
                                                  or_(login_throttle.c.blocked_until.is_(None),
                                                      login_throttle.c.blocked_until < now)))
        for key, free in _keys(name, address):
            row = conn.execute(select(login_throttle).where(login_throttle.c.key == key)).first()
            failures = 1 if row is None or now - row.last_failure_at > FORGET else row.failures + 1
            blocked = None
            if failures > free:
                blocked = now + min(LOCK_MAX, LOCK_BASE * 2 ** min(failures - free - 1, 20))
            if row is None:
                conn.execute(insert(login_throttle).values(key=key, failures=failures, last_failure_at=now,
                                                           blocked_until=blocked))
            else:
                conn.execute(update(login_throttle).where(login_throttle.c.key == key)
                             .values(failures=failures, last_failure_at=now, blocked_until=blocked))


def login_succeeded(db: Database, name: str) -> None:
    """A right password clears the account's count (the address's count decays by itself)."""
    with db.writer.begin() as conn:
        conn.execute(delete(login_throttle).where(login_throttle.c.key == f"user:{canonical_name(name)[:150]}"))
