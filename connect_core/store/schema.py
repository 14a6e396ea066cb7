"""Tables, declared once.  Portable SQL only: the same schema serves PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

print_jobs = Table(
    "print_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("user_name", Text, nullable=False),
    Column("origin_host", Text, nullable=False, default=""),
    Column("document_format", String(100), nullable=False),
    Column("state", Integer, nullable=False),
    Column("state_reasons", Text, nullable=False, default=""),
    Column("state_message", Text, nullable=False, default=""),
    Column("size_bytes", BigInteger, nullable=False, default=0),
    Column("document_uuid", String(36), nullable=True, unique=True),
    Column("sha256", String(64), nullable=True),
    Column("documents", Integer, nullable=False, default=0),
    Column("source_format", String(100), nullable=True),
    Column("pages", Integer, nullable=True),
    Column("has_text", Boolean, nullable=True),
    Column("impressions", Integer, nullable=False, default=0),
    Column("attributes", Text, nullable=False, default="{}"),
    Column("created_at", DateTime, nullable=False),
    Column("processing_at", DateTime, nullable=True),
    Column("completed_at", DateTime, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_print_jobs_state", print_jobs.c.state)
Index("ix_print_jobs_user", print_jobs.c.user_name)
