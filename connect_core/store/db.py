"""Engine set-up: the durability settings are applied to, and read back from, every connection."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event

MIGRATIONS = Path(__file__).with_name("migrations")


def utcnow() -> dt.datetime:
    """Now, as the store keeps every moment: UTC without a time zone (portable across databases)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class Database:
    """Two engines on one database: ``writer`` begins IMMEDIATE (one writer at a time,
    no SQLITE_BUSY surprises mid-transaction), ``reader`` begins deferred."""

    url: str
    writer: Engine
    reader: Engine

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    # The writer has one pooled connection: threads of this process queue for it in the pool, which
    # hands it over the moment it is returned.  With several connections they would queue in
    # SQLite's busy handler instead, which sleeps 1, 2, 5, 10, 15, 20... ms between tries: four
    # printing clients then waited up to 58 ms for a lock held 0.3 ms.  Other processes (the CLI)
    # still meet busy_timeout.
    pooling: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if immediate else {}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pooling)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_database(url: str | None, data_dir: Path) -> Database:
    """Open (and create) the store; the default is ``<data_dir>/connect.db``."""
    if not url:
        url = f"sqlite:///{data_dir / 'connect.db'}"
    if url.startswith("sqlite"):
        writer = _sqlite_engine(url, immediate=True)
        reader = _sqlite_engine(url, immediate=False)
    else:
        writer = reader = create_engine(url, pool_pre_ping=True)
    migrate(writer)
    return Database(url, writer, reader)


def alembic_config(connection: Any) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic), creating it on a new store."""
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "head")
        connection.commit()
