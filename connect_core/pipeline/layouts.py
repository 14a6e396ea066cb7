"""The layout files in ``<data dir>/templates`` and what the store keeps about them.

Shared by the pipeline (which reads through them and counts each use) and the correction
service (:mod:`.correct`, which learns, renames and deletes them).  A file is the layout; the
``layouts`` row beside it says where a learned one came from and how often it has read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, update

from connect_core.pipeline.extract.templates import Template, TemplateFile, load_template_files
from connect_core.store.schema import layouts

__all__ = ["Template", "TemplateFile", "folder_of", "load_template_files", "note_learned", "note_use"]


def folder_of(data_dir: Path) -> Path:
    """Where the layouts live: ``<data dir>/templates``."""
    return data_dir / "templates"


def note_use(conn: Connection, file: str, now: dt.datetime) -> None:
    """Count one invoice read through the layout in ``file`` (a row is made for a hand-written one)."""
    _upsert(conn, file, {"reads": layouts.c.reads + 1, "last_used_at": now}, {"reads": 1, "last_used_at": now})


def note_learned(conn: Connection, file: str, invoice_id: int, who: str, now: dt.datetime) -> None:
    """Record that the layout in ``file`` was learned (or improved) from ``invoice_id`` by ``who``."""
    learned = {"learned_from": invoice_id, "learned_by": who, "learned_at": now}
    _upsert(conn, file, learned, {**learned, "reads": 0})


def _upsert(conn: Connection, file: str, change: dict[str, Any], new: dict[str, Any]) -> None:
    """Change the row of ``file``, or make it (portable SQL: an update, then an insert if it changed nothing)."""
    if conn.execute(update(layouts).where(layouts.c.file == file).values(change)).rowcount == 0:
        conn.execute(insert(layouts).values(file=file, **new))
