"""The attachment service over a real store and spool: who may see and change an invoice's attachments,
what its state allows, and that a refused file leaves nothing behind."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_core.intake.spool import Spool
from connect_core.invoices.access import Actor
from connect_core.invoices.attachment_rules import AttachmentRefused
from connect_core.invoices.attachments import (
    add_attachment,
    attachment_counts,
    attachment_file,
    list_attachments,
    remove_attachment,
    send_attachments,
    type_code,
)
from connect_core.invoices.errors import NotAllowed, NotFound
from connect_core.invoices.service import view_counts
from connect_core.invoices.states import State
from tests.support.attachments import docx_bytes, pdf_bytes
from tests.unit.connect_core.invoices.test_states import Store

CLEO = Actor("cleo", admin=False, owners=frozenset({"cleo"}), inbound=False)  # printed the invoice
DAN = Actor("dan", admin=False, owners=frozenset({"dan"}), inbound=False)  # another clerk


@pytest.fixture
def store() -> Iterator[Store]:
    root = Path(tempfile.mkdtemp(prefix="pagero-attach-", dir="/var/tmp"))
    try:
        made = Store(root / "data")
        made.force(State.AWAITING_ATTACHMENTS)
        with sqlite3.connect(made.root / "connect.db") as conn:
            conn.execute("UPDATE invoices SET distribution = 'Electronic', remote_filepart_id = 'f-1'")
        yield made
        made.db.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def spool_of(store: Store) -> Spool:
    return Spool(store.root / "spool")


def files_in(store: Store) -> list[Path]:
    return [p for p in (store.root / "spool").rglob("attachments/*") if p.is_file()]


def test_a_clerk_sees_and_changes_only_the_attachments_of_their_own_invoices(store: Store) -> None:
    spool = spool_of(store)
    note = pdf_bytes()
    added, verdict = add_attachment(store.db, spool, store.invoice_id, note, "lieferschein.pdf",
                                    "DeliveryNote", "für März", CLEO)
    assert verdict.advice == "" and added.added_by == "cleo" and added.note == "für März"
    for call in (lambda: list_attachments(store.db, store.invoice_id, DAN),
                 lambda: attachment_file(store.db, spool, store.invoice_id, added.id, DAN),
                 lambda: remove_attachment(store.db, spool, store.invoice_id, added.id, DAN),
                 lambda: add_attachment(store.db, spool, store.invoice_id, pdf_bytes(), "x.pdf", "Other", "", DAN),
                 lambda: send_attachments(store.db, [store.invoice_id], DAN)):
        with pytest.raises(NotFound, match=f"no invoice {store.invoice_id}"):
            call()
    assert attachment_counts(store.db, [store.invoice_id, 999], CLEO) == {store.invoice_id: 1}
    assert attachment_counts(store.db, [store.invoice_id], DAN) == {}
    assert view_counts(store.db, CLEO)["awaiting_attachments"] == 1
    assert view_counts(store.db, DAN)["awaiting_attachments"] == 0
    path, found = attachment_file(store.db, spool, store.invoice_id, added.id, CLEO)
    assert path.read_bytes() == note and found.name == "lieferschein.pdf"
    with pytest.raises(NotFound, match="has no attachment 999"):
        attachment_file(store.db, spool, store.invoice_id, 999, CLEO)
    assert remove_attachment(store.db, spool, store.invoice_id, added.id, CLEO) == "lieferschein.pdf"
    assert list_attachments(store.db, store.invoice_id, CLEO) == [] and files_in(store) == []
    whats = [e.what for e in store.history()]
    assert "attachment added: lieferschein.pdf (Delivery note)" in whats
    assert "attachment removed: lieferschein.pdf" in whats


def test_a_refused_file_leaves_nothing_and_a_name_is_data(store: Store) -> None:
    spool = spool_of(store)
    with pytest.raises(AttachmentRefused, match="named like a PDF"):
        add_attachment(store.db, spool, store.invoice_id, b"just text\n", "a.pdf", "Other")
    assert files_in(store) == [] and list_attachments(store.db, store.invoice_id) == []
    added, verdict = add_attachment(store.db, spool, store.invoice_id, docx_bytes(),
                                    "..\\..\\evil\u202egnp.docx", "TimeSheet")
    assert "PDF is recommended" in verdict.advice
    assert added.name == "evil gnp.docx"  # the last part only; the bidi override is gone
    (kept,) = files_in(store)
    assert kept.name == added.uuid and kept.parent.name == "attachments"
    with pytest.raises(AttachmentRefused, match="document type 'Invoice'"):
        add_attachment(store.db, spool, store.invoice_id, pdf_bytes(), "a.pdf", "Invoice")
    assert type_code("time sheet") == "TimeSheet" and type_code("DELIVERYNOTE") == "DeliveryNote"


def test_attachments_change_only_while_pagero_online_holds_the_invoice(store: Store) -> None:
    spool = spool_of(store)
    added, _ = add_attachment(store.db, spool, store.invoice_id, pdf_bytes(), "a.pdf", "Order")
    assert send_attachments(store.db, [store.invoice_id]) == [store.invoice_id]
    assert store.state() is State.ATTACHING
    with pytest.raises(NotAllowed, match="sending its attachments now"):
        add_attachment(store.db, spool, store.invoice_id, pdf_bytes(), "b.pdf", "Order")
    with pytest.raises(NotAllowed, match="sending its attachments now"):
        remove_attachment(store.db, spool, store.invoice_id, added.id)
    with pytest.raises(NotAllowed, match="not waiting in Files awaiting attachments"):
        send_attachments(store.db, [store.invoice_id])
