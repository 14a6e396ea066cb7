"""Login throttling: failed logins slow down per account and per address, with growing lockouts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, or_, select, update

from connect_core.accounts.users import canonical_name
from connect_core.store import Database, utcnow
from connect_core.store.schema import login_throttle

# Throttling: this many failures in a row are free, then each further one locks the key for
# twice as long as the one before, up to LOCK_MAX.  A quiet FORGET period clears the count.
FREE_FAILURES_PER_USER = 5
FREE_FAILURES_PER_ADDRESS = 20
LOCK_BASE = dt.timedelta(seconds=2)
LOCK_MAX = dt.timedelta(minutes=15)
FORGET = dt.timedelta(minutes=30)


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
