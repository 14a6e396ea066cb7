"""Retention purges only local copies of final-state invoices past the window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from connect_core.intake.spool import Spool
from connect_core.invoices.retention import purge
from connect_core.invoices.states import DONE, State
from connect_core.store import open_database
from tests.support.cli import INVOICE, OTHER_INVOICE, cli, invoices


def test_retention_purges_only_final_state_copies_past_the_window(data_root: Path) -> None:
    data_dir = data_root / "data"
    cli(data_dir, "import", str(INVOICE), str(OTHER_INVOICE))
    rows = invoices(data_dir)
    assert {row["state"] for row in rows} == {"ready"}
    deleted, waiting = rows[0], rows[1]
    cli(data_dir, "delete", str(deleted["id"]))

    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    try:
        folders = {row["id"]: _folder(db, row["id"]) for row in rows}
        # Inside the window nothing goes, not even the deleted one.
        assert purge(db, spool, days=30) == []
        assert all((spool.jobs / f).exists() for f in folders.values())
        # Past the window only the final-state (deleted) invoice loses its local copy.
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=31)
        assert purge(db, spool, days=30, now=later) == [deleted["id"]]
        assert not (spool.jobs / folders[deleted["id"]]).exists()
        assert (spool.jobs / folders[waiting["id"]]).exists()
        # It is done once, and recorded in the history.
        assert purge(db, spool, days=30, now=later) == []
    finally:
        db.dispose()
    assert "local copy purged" in cli(data_dir, "show", str(deleted["id"])).stdout


def test_retention_keeps_every_unfinished_state_and_purges_every_finished_one(data_root: Path) -> None:
    """Each state of the life cycle in turn, past the window: only the states in DONE lose their copy."""
    import sqlite3

    data_dir = data_root / "data"
    cli(data_dir, "import", str(INVOICE))
    (row,) = invoices(data_dir)
    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=31)
    purged_states = []
    try:
        folder = spool.jobs / _folder(db, row["id"])
        for state in State:
            with sqlite3.connect(data_dir / "connect.db") as conn:
                conn.execute("UPDATE invoices SET state = ?, purged_at = NULL WHERE id = ?", (state.value, row["id"]))
            if not folder.exists():  # put back what the previous finished state purged
                folder.mkdir()
                (folder / "document").write_bytes(INVOICE.read_bytes())
            if purge(db, spool, days=30, now=later) == [row["id"]]:
                assert not folder.exists(), state
                purged_states.append(state)
            else:
                assert folder.exists(), state
    finally:
        db.dispose()
    assert set(purged_states) == set(DONE)
    assert {State.QUEUED, State.UPLOADING, State.SENT, State.NEEDS_ATTENTION, State.READY} & set(purged_states) == set()


def _folder(db: object, invoice_id: int) -> str:
    from sqlalchemy import select

    from connect_core.store.schema import invoices as table

    with db.reader.connect() as conn:  # type: ignore[attr-defined]
        return str(conn.execute(select(table.c.document_uuid).where(table.c.id == invoice_id)).scalar_one())
