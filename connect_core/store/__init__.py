"""The product's store: SQLAlchemy Core over SQLite (WAL, synchronous=FULL) by default."""

from connect_core.store.db import Database, open_database, utcnow
from connect_core.store.schema import metadata, print_jobs

__all__ = ["Database", "open_database", "utcnow", "metadata", "print_jobs"]
