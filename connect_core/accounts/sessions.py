"""Status page sessions: 256-bit ids of which the store keeps only the SHA-256.

A copy of the database opens no session.  A new id is issued at every login (a session id
seen before login is never promoted) and logout deletes it server-side.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from connect_core.accounts.users import User
from connect_core.store import Database, utcnow
from connect_core.store.schema import sessions, users


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    created_at: dt.datetime


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
            select(sessions, users.c.name, users.c.role, users.c.print_names, users.c.inbound, users.c.disabled)
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
    return Session(User(row.user_id, row.name, row.role, names, bool(row.inbound)), row.csrf, row.created_at)


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
