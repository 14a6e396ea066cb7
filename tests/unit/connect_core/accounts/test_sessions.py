"""Status page sessions (``connect_core.accounts.sessions``).

What it promises: every login gets a new random id (and CSRF token); the store keeps only the
SHA-256 of the id, so a copy of the database opens no session; a session ends when unused for the
idle timeout, when older than the absolute timeout, when its user is disabled, and at once on
``end_session``; ``end_old_sessions`` forgets the expired ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_core.accounts.sessions import end_old_sessions, end_session, find_session, start_session
from connect_core.accounts.users import User, add_user
from connect_core.store import Database, open_database, utcnow

IDLE = dt.timedelta(hours=1)
ABSOLUTE = dt.timedelta(hours=12)


@pytest.fixture
def db(data_root: Path) -> Iterator[Database]:
    opened = open_database(None, data_root)
    yield opened
    opened.dispose()


@pytest.fixture
def cleo(db: Database) -> User:
    return add_user(db, "cleo", "correct horse battery", print_names=["CLEO-PC"])


def _find(db: Database, session_id: str) -> object:
    return find_session(db, session_id, idle=IDLE, absolute=ABSOLUTE)


def _age(data_root: Path, session_id: str, *, created: dt.timedelta | None = None,
         seen: dt.timedelta | None = None) -> None:
    """Make a session look older: time passing is all this stands for (the columns are the store's own)."""
    key = hashlib.sha256(session_id.encode()).hexdigest()
    now = utcnow()
    with sqlite3.connect(data_root / "connect.db") as conn:
        if created is not None:
            conn.execute("UPDATE sessions SET created_at = ? WHERE id_hash = ?", ((now - created).isoformat(" "), key))
        if seen is not None:
            conn.execute("UPDATE sessions SET seen_at = ? WHERE id_hash = ?", ((now - seen).isoformat(" "), key))


def _rows(data_root: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_root / "connect.db") as conn:
        return conn.execute("SELECT * FROM sessions").fetchall()


def test_a_session_found_by_its_id_carries_the_user_and_the_csrf_token(db: Database, cleo: User) -> None:
    session_id, csrf = start_session(db, cleo)
    session = find_session(db, session_id, idle=IDLE, absolute=ABSOLUTE)
    assert session is not None
    assert session.user == cleo and session.csrf == csrf
    assert session.user.actor().print_names == frozenset({"CLEO-PC", "cleo"})  # and what she printed with her password


def test_every_login_gets_a_new_id_and_a_new_csrf_token(db: Database, cleo: User) -> None:
    issued = [start_session(db, cleo) for _ in range(5)]
    assert len({session_id for session_id, _ in issued}) == 5
    assert len({csrf for _, csrf in issued}) == 5
    assert all(len(session_id) >= 43 for session_id, _ in issued)  # 256 bits, URL-safe base64
    assert all(_find(db, session_id) is not None for session_id, _ in issued)


def test_only_the_hash_of_the_id_is_stored(db: Database, cleo: User, data_root: Path) -> None:
    session_id, _csrf = start_session(db, cleo)
    rows = _rows(data_root)
    assert len(rows) == 1
    assert hashlib.sha256(session_id.encode()).hexdigest() in rows[0]
    assert not any(session_id in str(value) for value in rows[0])
    for path in data_root.glob("connect.db*"):  # the database, its WAL and shared memory
        assert session_id.encode() not in path.read_bytes(), path


def test_the_stored_hash_itself_opens_no_session(db: Database, cleo: User) -> None:
    session_id, _csrf = start_session(db, cleo)
    assert _find(db, hashlib.sha256(session_id.encode()).hexdigest()) is None


@pytest.mark.parametrize("session_id", ["", "not-a-session", "x" * 101])
def test_an_unknown_or_malformed_id_finds_no_session(db: Database, cleo: User, session_id: str) -> None:
    start_session(db, cleo)
    assert _find(db, session_id) is None


def test_a_session_unused_longer_than_the_idle_timeout_ends(db: Database, cleo: User, data_root: Path) -> None:
    session_id, _csrf = start_session(db, cleo)
    _age(data_root, session_id, seen=IDLE + dt.timedelta(minutes=1))
    assert _find(db, session_id) is None
    assert _rows(data_root) == []  # ended for good, not only refused this once
    assert find_session(db, session_id, idle=dt.timedelta(days=30), absolute=dt.timedelta(days=30)) is None


def test_using_a_session_keeps_it_from_the_idle_timeout(db: Database, cleo: User, data_root: Path) -> None:
    session_id, _csrf = start_session(db, cleo)
    _age(data_root, session_id, seen=dt.timedelta(minutes=40))
    assert _find(db, session_id) is not None  # seen now
    assert find_session(db, session_id, idle=dt.timedelta(minutes=30), absolute=ABSOLUTE) is not None


def test_a_session_older_than_the_absolute_timeout_ends_even_in_use(db: Database, cleo: User,
                                                                    data_root: Path) -> None:
    session_id, _csrf = start_session(db, cleo)
    _age(data_root, session_id, created=ABSOLUTE + dt.timedelta(minutes=1), seen=dt.timedelta(0))
    assert _find(db, session_id) is None
    assert _rows(data_root) == []


def test_a_session_just_inside_both_timeouts_lives(db: Database, cleo: User, data_root: Path) -> None:
    session_id, _csrf = start_session(db, cleo)
    _age(data_root, session_id, created=ABSOLUTE - dt.timedelta(minutes=5), seen=IDLE - dt.timedelta(minutes=5))
    assert _find(db, session_id) is not None


def test_end_session_ends_that_session_at_once_and_no_other(db: Database, cleo: User) -> None:
    first, _ = start_session(db, cleo)
    second, _ = start_session(db, cleo)
    end_session(db, first)
    assert _find(db, first) is None
    assert _find(db, second) is not None
    end_session(db, first)  # logging out twice is harmless


def test_a_disabled_users_sessions_end(db: Database, cleo: User, data_root: Path) -> None:
    session_id, _csrf = start_session(db, cleo)
    # Disabled directly in the store: the column the lookup checks.
    with sqlite3.connect(data_root / "connect.db") as conn:
        conn.execute("UPDATE users SET disabled = 1 WHERE id = ?", (cleo.id,))
    assert _find(db, session_id) is None


def test_end_old_sessions_forgets_exactly_the_expired_ones(db: Database, cleo: User, data_root: Path) -> None:
    idle, _ = start_session(db, cleo)
    old, _ = start_session(db, cleo)
    fresh, _ = start_session(db, cleo)
    _age(data_root, idle, seen=IDLE + dt.timedelta(minutes=1))
    _age(data_root, old, created=ABSOLUTE + dt.timedelta(minutes=1))
    assert end_old_sessions(db, idle=IDLE, absolute=ABSOLUTE) == 2
    assert len(_rows(data_root)) == 1
    assert _find(db, fresh) is not None
    assert end_old_sessions(db, idle=IDLE, absolute=ABSOLUTE) == 0
