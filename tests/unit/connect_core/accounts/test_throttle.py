"""Login throttling (``connect_core.accounts.throttle``).

What it promises: a user name has ``FREE_FAILURES_PER_USER`` failed logins for free and an address
``FREE_FAILURES_PER_ADDRESS``; each failure beyond locks that name or address for twice as long as
the one before (starting at ``LOCK_BASE``, at most ``LOCK_MAX``); the name counts in its canonical
spelling; a right password clears the name's count (not the address's); a quiet ``FORGET`` period
starts the count afresh, and rows quiet that long are cleared away.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_core.accounts.throttle import (
    FORGET,
    FREE_FAILURES_PER_ADDRESS,
    FREE_FAILURES_PER_USER,
    LOCK_BASE,
    LOCK_MAX,
    login_blocked,
    login_failed,
    login_succeeded,
)
from connect_core.store import Database, open_database, utcnow

HERE = "192.0.2.10"
THERE = "198.51.100.20"


@pytest.fixture
def db(data_root: Path) -> Iterator[Database]:
    opened = open_database(None, data_root)
    yield opened
    opened.dispose()


def _fail(db: Database, name: str, address: str, times: int) -> None:
    for _ in range(times):
        login_failed(db, name, address)


def _lock(data_root: Path, key: str) -> dt.timedelta | None:
    """How long the last failure of ``key`` locked it (read from the store's own row)."""
    with sqlite3.connect(data_root / "connect.db") as conn:
        row = conn.execute("SELECT last_failure_at, blocked_until FROM login_throttle WHERE key = ?",
                           (key,)).fetchone()
    assert row is not None, key
    if row[1] is None:
        return None
    return dt.datetime.fromisoformat(row[1]) - dt.datetime.fromisoformat(row[0])


def _keys(data_root: Path) -> set[str]:
    with sqlite3.connect(data_root / "connect.db") as conn:
        return {key for (key,) in conn.execute("SELECT key FROM login_throttle")}


def test_a_name_has_its_free_failures_then_is_locked(db: Database) -> None:
    _fail(db, "alice", HERE, FREE_FAILURES_PER_USER)
    assert login_blocked(db, "alice", HERE) == 0
    login_failed(db, "alice", HERE)
    wait = login_blocked(db, "alice", HERE)
    assert 0 < wait <= LOCK_BASE.total_seconds()
    assert 0 < login_blocked(db, "alice", THERE) <= LOCK_BASE.total_seconds()  # from anywhere
    assert login_blocked(db, "bob", HERE) == 0  # the address still has free failures


def test_each_further_failure_locks_twice_as_long_up_to_the_maximum(db: Database, data_root: Path) -> None:
    _fail(db, "alice", HERE, FREE_FAILURES_PER_USER)
    assert _lock(data_root, "user:alice") is None
    locks = []
    for _ in range(12):
        login_failed(db, "alice", HERE)
        locks.append(_lock(data_root, "user:alice"))
    expected = [min(LOCK_MAX, LOCK_BASE * 2**n) for n in range(12)]
    assert locks == expected
    assert locks[-1] == LOCK_MAX
    assert 0 < login_blocked(db, "alice", HERE) <= LOCK_MAX.total_seconds()


def test_an_address_has_its_free_failures_over_all_names_then_is_locked(db: Database) -> None:
    for n in range(FREE_FAILURES_PER_ADDRESS):
        login_failed(db, f"guess{n}", HERE)  # never more than the free ones per name
    assert login_blocked(db, "newcomer", HERE) == 0
    login_failed(db, "one-more", HERE)
    assert 0 < login_blocked(db, "newcomer", HERE) <= LOCK_BASE.total_seconds()
    assert login_blocked(db, "newcomer", THERE) == 0  # the name itself is not locked


def test_a_name_counts_in_its_canonical_spelling(db: Database) -> None:
    for spelling in ("Alice", "ALICE", " alice ", "ａｌｉｃｅ", "alice"):
        login_failed(db, spelling, HERE)
    assert login_blocked(db, "alice", THERE) == 0
    login_failed(db, "AlIcE", HERE)
    assert login_blocked(db, "alice", THERE) > 0


def test_failures_of_one_name_from_many_addresses_add_up(db: Database) -> None:
    for n in range(FREE_FAILURES_PER_USER + 1):
        login_failed(db, "alice", f"203.0.113.{n}")
    assert login_blocked(db, "alice", "203.0.113.200") > 0


def test_a_success_clears_the_names_count(db: Database) -> None:
    _fail(db, "alice", HERE, FREE_FAILURES_PER_USER)
    login_succeeded(db, "Alice")
    _fail(db, "alice", HERE, FREE_FAILURES_PER_USER)  # a fresh set of free failures
    assert login_blocked(db, "alice", THERE) == 0


def test_a_success_lifts_a_names_lock_but_not_the_addresss_count(db: Database) -> None:
    for n in range(FREE_FAILURES_PER_ADDRESS - 1):
        login_failed(db, f"guess{n}", HERE)
    _fail(db, "alice", THERE, FREE_FAILURES_PER_USER + 1)
    assert login_blocked(db, "alice", THERE) > 0
    login_succeeded(db, "alice")
    assert login_blocked(db, "alice", "203.0.113.1") == 0
    login_succeeded(db, "guess0")
    login_failed(db, "guess0", HERE)  # the address's 20th: still free
    assert login_blocked(db, "someone", HERE) == 0
    login_failed(db, "guess0", HERE)
    assert login_blocked(db, "someone", HERE) > 0


def test_a_quiet_period_starts_the_count_afresh_and_clears_old_rows(db: Database, data_root: Path) -> None:
    _fail(db, "alice", HERE, FREE_FAILURES_PER_USER)
    login_failed(db, "once", THERE)
    # As if FORGET had passed since these failures (the store's own column).
    past = (utcnow() - FORGET - dt.timedelta(minutes=1)).isoformat(" ")
    with sqlite3.connect(data_root / "connect.db") as conn:
        conn.execute("UPDATE login_throttle SET last_failure_at = ?", (past,))
    login_failed(db, "alice", HERE)
    assert login_blocked(db, "alice", HERE) == 0
    assert f"ip:{THERE}" not in _keys(data_root) and "user:once" not in _keys(data_root)
    with sqlite3.connect(data_root / "connect.db") as conn:
        assert conn.execute("SELECT failures FROM login_throttle WHERE key = 'user:alice'").fetchone() == (1,)


def test_a_running_lock_is_not_cleared_by_the_quiet_period_clean_up(db: Database, data_root: Path) -> None:
    _fail(db, "alice", HERE, FREE_FAILURES_PER_USER + 10)  # locked for LOCK_MAX
    past = (utcnow() - FORGET - dt.timedelta(minutes=1)).isoformat(" ")
    # The last failure long ago, the lock still running (a lock longer than FORGET would look like this).
    with sqlite3.connect(data_root / "connect.db") as conn:
        conn.execute("UPDATE login_throttle SET last_failure_at = ? WHERE key = 'user:alice'", (past,))
    login_failed(db, "bob", THERE)
    assert "user:alice" in _keys(data_root)
    assert login_blocked(db, "alice", THERE) > 0


def test_nothing_is_blocked_in_an_empty_store(db: Database) -> None:
    assert login_blocked(db, "alice", HERE) == 0
