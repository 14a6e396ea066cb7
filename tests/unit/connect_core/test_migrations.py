"""The migrations build exactly the schema the code declares (store/schema.py), step by step from nothing."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from connect_core.store import open_database
from connect_core.store.schema import metadata


def test_the_migrated_store_has_every_table_column_and_index_the_code_declares(tmp_path: Path) -> None:
    db = open_database(None, tmp_path)
    try:
        with db.writer.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    finally:
        db.dispose()
    assert differences == []
