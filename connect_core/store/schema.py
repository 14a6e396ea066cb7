"""Tables, declared once.  Portable SQL only: the same schema serves PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

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
    Column("door", String(16), nullable=False, default="ipp"),
    Column("source_name", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("processing_at", DateTime, nullable=True),
    Column("completed_at", DateTime, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_print_jobs_state", print_jobs.c.state)
Index("ix_print_jobs_user", print_jobs.c.user_name)


invoices = Table(
    "invoices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),  # the stable senderReference
    Column("job_id", Integer, ForeignKey("print_jobs.id"), nullable=False),
    Column("owner", Text, nullable=False, default=""),
    Column("state", String(32), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("document_uuid", String(36), nullable=False),
    Column("first_page", Integer, nullable=False, default=1),
    Column("last_page", Integer, nullable=True),
    Column("pages", Integer, nullable=False, default=0),
    Column("has_text", Boolean, nullable=False, default=False),
    Column("source_format", String(100), nullable=False, default=""),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False, default=0),
    Column("invoice_number", Text, nullable=True),
    Column("issue_date", Date, nullable=True),
    Column("due_date", Date, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("total", Numeric(18, 2), nullable=True),
    Column("seller", Text, nullable=True),
    Column("buyer", Text, nullable=True),
    Column("fields", Text, nullable=False, default="{}"),
    Column("duplicate_of", Integer, nullable=True),  # the earlier invoice this one repeats (kept once approved)
    Column("pdf_name", String(100), nullable=False, default="document.pdf"),
    Column("environment", String(16), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("first_attempt_at", DateTime, nullable=True),
    Column("next_attempt_at", DateTime, nullable=True),
    Column("outcome_unknown", Boolean, nullable=False, default=False),
    Column("send_generation", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("remote_file_id", String(100), nullable=True),
    Column("remote_filepart_id", String(100), nullable=True),
    Column("delivery_status", String(40), nullable=True),
    Column("distribution", String(20), nullable=True),  # Pagero Online's channel: Electronic, EPrint, OriginalPrint
    Column("sent_at", DateTime, nullable=True),
    Column("checked_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("purged_at", DateTime, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_invoices_state", invoices.c.state, invoices.c.id)
Index("ix_invoices_due", invoices.c.state, invoices.c.next_attempt_at)
Index("ix_invoices_sha256", invoices.c.sha256)
Index("ix_invoices_number", invoices.c.invoice_number)
Index("ix_invoices_job", invoices.c.job_id)
Index("ix_invoices_created", invoices.c.created_at)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("invoice_id", Integer, ForeignKey("invoices.id"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("from_state", String(32), nullable=True),
    Column("to_state", String(32), nullable=True),
    Column("what", Text, nullable=False),
    Column("why", Text, nullable=False, default=""),
    Column("who", Text, nullable=False, default="system"),
)
Index("ix_events_invoice", events.c.invoice_id, events.c.id)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("invoice_id", Integer, ForeignKey("invoices.id"), nullable=False),
    Column("filename", Text, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("document_type", String(40), nullable=False, default="Other"),
    Column("note", Text, nullable=False, default=""),
    Column("added_by", Text, nullable=False, default=""),
    Column("sent_generation", Integer, nullable=True),  # the sending (invoices.send_generation) it went with
    Column("remote_id", String(100), nullable=True),
    Column("outcome_unknown", Boolean, nullable=False, default=False),
)
Index("ix_attachments_invoice", attachments.c.invoice_id)

inbound_documents = Table(
    "inbound_documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("remote_id", String(100), nullable=False, unique=True),
    Column("document_number", Text, nullable=True),
    Column("sender", Text, nullable=True),
    Column("issue_date", Date, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("total", Numeric(18, 2), nullable=True),
    Column("state", String(32), nullable=False),
    Column("path", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("fetched_at", DateTime, nullable=True),
    Column("document_type", String(20), nullable=True),  # invoice, credit-note
    Column("due_date", Date, nullable=True),
    Column("net", Numeric(18, 2), nullable=True),
    Column("tax", Numeric(18, 2), nullable=True),
    Column("sender_ids", Text, nullable=False, default="{}"),  # {"vat": ..., "gln": ..., "org": ...}
    Column("buyer", Text, nullable=True),
    Column("received_at", DateTime, nullable=True),  # when Pagero Online received it (createTime)
    Column("attachments", Text, nullable=False, default="[]"),  # [{"name", "mime", "size", "path"}]
    Column("problem", Text, nullable=False, default=""),  # why it was refused or could not be read
)
Index("ix_inbound_state", inbound_documents.c.state, inbound_documents.c.id)
Index("ix_inbound_number", inbound_documents.c.document_number)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("print_names", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("inbound", Boolean, nullable=False, default=False),  # may see received invoices (admins always do)
)

# A clerk sees the invoices printed under their names: their lists and counts go by owner and state.
Index("ix_invoices_owner", invoices.c.owner, invoices.c.state, invoices.c.id)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie: a copy of the store opens no session
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("seen_at", DateTime, nullable=False),
)
Index("ix_sessions_user", sessions.c.user_id)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(200), primary_key=True),  # "user:<name>" or "ip:<address>"
    Column("failures", Integer, nullable=False, default=0),
    Column("last_failure_at", DateTime, nullable=False),
    Column("blocked_until", DateTime, nullable=True),
)

# What the store knows of each layout file in <data dir>/templates (the file itself is the layout).
layouts = Table(
    "layouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file", String(200), nullable=False, unique=True),  # the file name in <data dir>/templates
    Column("learned_from", Integer, nullable=True),  # the invoice it was learned from (None: written by hand)
    Column("learned_by", Text, nullable=True),
    Column("learned_at", DateTime, nullable=True),
    Column("reads", Integer, nullable=False, default=0),  # invoices read through it since
    Column("last_used_at", DateTime, nullable=True),
)
