"""Housekeeping: local copies of finished invoices go after ``retention.days``.

Only invoices whose work is done (:data:`connect_core.invoices.states.DONE`) are purged, never one still
waiting; the row and its history stay (they are small and are the record of what was sent).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading

from sqlalchemy import func, select, update

from connect_core.intake.spool import Spool
from connect_core.invoices.history import record
from connect_core.invoices.states import DONE
from connect_core.store import Database, utcnow
from connect_core.store.schema import invoices

log = logging.getLogger("connect_core.invoices.retention")


def purge(db: Database, spool: Spool, days: int, now: dt.datetime | None = None) -> list[int]:
    """Remove local copies of final-state invoices not touched for ``days``; returns their ids."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=days)
    final = [state.value for state in DONE]
    with db.reader.connect() as conn:
        rows = conn.execute(
            select(invoices.c.id, invoices.c.document_uuid)
            .where(invoices.c.state.in_(final), invoices.c.updated_at < cutoff, invoices.c.purged_at.is_(None))
        ).all()
    purged: list[int] = []
    for invoice_id, document_uuid in rows:
        with db.writer.begin() as conn:
            # A document shared by several invoices (a split print job) goes with the last of them.
            still_used = conn.execute(
                select(func.count()).select_from(invoices).where(
                    invoices.c.document_uuid == document_uuid, invoices.c.id != invoice_id,
                    invoices.c.purged_at.is_(None),
                )
            ).scalar_one()
            conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(purged_at=now))
            record(conn, invoice_id, "local copy purged", why=f"retention: older than {days} days")
        if not still_used:
            shutil.rmtree(spool.job_dir(document_uuid), ignore_errors=True)
        purged.append(invoice_id)
    if purged:
        log.info("retention purged %d local copies", len(purged))
    return purged


class RetentionTimer:
    """Runs :func:`purge` at start and then every ``interval`` seconds inside ``serve``."""

    def __init__(self, db: Database, spool: Spool, days: int, interval: float = 3600.0) -> None:
        self.db, self.spool, self.days, self.interval = db, spool, days, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            try:
                purge(self.db, self.spool, self.days)
            except Exception:
                log.exception("retention run failed; trying again later")
            if self._stop.wait(self.interval):
                return
