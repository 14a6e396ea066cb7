"""Correcting an invoice's fields teaches its layout: the service functions of ``connect_core.pipeline.correct``.

Invoices of three layouts the general reader handles badly (tests/support/unread.py: labels
above the values, Hungarian labels, a number beside an unusual label) are printed into a real
store through the real pipeline.  Correcting one of them learns the layout: the waiting ones are
read again and move on, and the next print of that layout is read exactly and is ready.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from connect_core.invoices import service
from connect_core.invoices.access import Actor
from connect_core.invoices.errors import NotAllowed, NotFound
from connect_core.invoices.states import State
from connect_core.pipeline.correct import (
    FieldError,
    LayoutError,
    LayoutNameTaken,
    NoSuchLayout,
    correct,
    correction_form,
    delete_layout,
    layout_yaml,
    list_layouts,
    parse_values,
    rename_layout,
    templates_dir,
)
from connect_core.store.schema import invoices
from tests.support.documents import invoice_pdf
from tests.support.unread import LAYOUTS, UnreadInvoice, series, unread_invoice
from tests.unit.connect_core.pipeline.test_worker import Office, open_office

ANNA = Actor("anna", admin=True)
CLERK = Actor("cleo", admin=False, owners=frozenset({"CLEO-PC"}))


@pytest.fixture
def office(data_root: Path) -> Iterator[Office]:
    office = open_office(data_root)
    yield office
    office.db.dispose()


def _print(office: Office, layout: str, invoice: UnreadInvoice, user: str = "ben") -> int:
    """Print one invoice of ``layout``; returns its invoice id."""
    path = unread_invoice(office.root / f"{layout}-{invoice.number.replace('/', '_')}.pdf", layout, invoice)
    job = office.print(path, user)
    (row,) = office.invoices(job)
    return int(row.id)


def _values(invoice: UnreadInvoice) -> dict[str, str]:
    """What a person types on the command line for ``invoice``."""
    return {"invoice_number": invoice.number, "issue_date": invoice.issued.isoformat(),
            "due_date": invoice.due.isoformat(), "currency": invoice.currency, "total": str(invoice.total),
            "buyer": invoice.buyer}


def _row(office: Office, invoice_id: int) -> Any:
    with office.db.reader.connect() as conn:
        return conn.execute(select(invoices).where(invoices.c.id == invoice_id)).one()


def _exact(row: Any, invoice: UnreadInvoice) -> dict[str, tuple[object, object]]:
    """The fields of ``row`` that differ from what ``invoice`` prints (empty when all are right)."""
    want = {"invoice_number": invoice.number, "issue_date": invoice.issued, "due_date": invoice.due,
            "currency": invoice.currency, "total": invoice.total, "buyer": invoice.buyer}
    return {name: (getattr(row, name), value) for name, value in want.items() if getattr(row, name) != value}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_one_correction_teaches_the_layout_the_waiting_invoices_move_on_and_the_next_print_is_ready(
        office: Office, layout: str) -> None:
    made = series(layout, 4)
    ids = [_print(office, layout, invoice) for invoice in made[:3]]
    assert [State(_row(office, n).state) for n in ids] == [State.NEEDS_ATTENTION] * 3

    done = correct(office.db, office.spool, office.config, ids[0], _values(made[0]), ANNA, strict=True)

    assert done.state is State.READY and done.layout is not None
    assert {"invoice_number", "issue_date", "total", "buyer"} <= set(done.learned_fields)
    assert done.reread == tuple(ids[1:]) and done.moved == tuple(ids[1:])
    assert f"Learned layout {done.layout!r}" in done.summary() and "2 waiting invoices read again" in done.summary()
    for invoice_id, invoice in zip(ids, made, strict=False):
        row = _row(office, invoice_id)
        assert (State(row.state), _exact(row, invoice)) == (State.READY, {})
    # The history of a re-read invoice names the layout, the invoice it was learned from and who corrected it.
    lines = [(line.what, line.why, line.who) for line in office.history(ids[1])]
    assert any(what == f"read again through layout {done.layout!r}"
               and f"learned from invoice {ids[0]} by anna" in why for what, why, _who in lines)
    assert lines[-1][0] == "ready to send"
    corrected = [(line.what, line.who) for line in office.history(ids[0])]
    assert ("fields corrected", "anna") in corrected
    assert (f"layout {done.layout!r} learned from this invoice", "anna") in corrected

    # The next print of the layout is read through it: exact, ready, and counted.
    later = _print(office, layout, made[3])
    row = _row(office, later)
    assert (State(row.state), _exact(row, made[3])) == (State.READY, {})
    assert f'"template:{done.layout}"' in row.fields
    (learned,) = list_layouts(office.db, office.spool)
    assert (learned.name, learned.learned, learned.learned_from, learned.learned_by) == (
        done.layout, True, ids[0], "anna")
    assert learned.reads == 3 and learned.last_used is not None
    assert yaml.safe_load(layout_yaml(office.spool, done.layout))["name"] == done.layout


def test_a_layout_learned_on_one_layout_leaves_the_others_alone(office: Office) -> None:
    above, magyar = series("above", 2), series("magyar", 2)
    first = _print(office, "above", above[0])
    other = _print(office, "magyar", magyar[0])
    done = correct(office.db, office.spool, office.config, first, _values(above[0]), ANNA, strict=True)
    assert done.reread == () and State(_row(office, other).state) is State.NEEDS_ATTENTION
    later = _print(office, "magyar", magyar[1])
    assert State(_row(office, later).state) is State.NEEDS_ATTENTION
    assert "template:" not in _row(office, later).fields


def test_confirming_what_was_read_teaches_nothing_and_says_so(office: Office) -> None:
    (invoice,) = series("above", 1)
    invoice_id = _print(office, "above", invoice)
    row = _row(office, invoice_id)
    same = {"issue_date": row.issue_date.isoformat(), "total": str(row.total)}
    done = correct(office.db, office.spool, office.config, invoice_id, same, ANNA, strict=True)
    assert done.changed == {} and done.layout is None
    assert "nothing new to learn" in done.summary()
    assert list_layouts(office.db, office.spool) == []


def test_no_learn_corrects_the_invoice_only(office: Office) -> None:
    made = series("unusual", 2)
    ids = [_print(office, "unusual", invoice) for invoice in made]
    done = correct(office.db, office.spool, office.config, ids[0], _values(made[0]), ANNA, learn=False, strict=True)
    assert done.layout is None and done.state is State.READY and "--no-learn" in done.summary()
    assert _exact(_row(office, ids[0]), made[0]) == {}
    assert State(_row(office, ids[1]).state) is State.NEEDS_ATTENTION
    assert not templates_dir(office.spool).exists() or not list(templates_dir(office.spool).iterdir())


def test_a_correction_that_leaves_a_required_field_missing_keeps_the_invoice_waiting(office: Office) -> None:
    (invoice,) = series("magyar", 1)
    invoice_id = _print(office, "magyar", invoice)
    done = correct(office.db, office.spool, office.config, invoice_id, {"buyer": invoice.buyer}, ANNA,
                   learn=False, strict=True)
    assert done.state is State.NEEDS_ATTENTION
    row = _row(office, invoice_id)
    assert "invoice number is missing" in row.reason
    assert office.history(invoice_id)[-1].what == "checked again: still needs-attention"


def test_a_corrected_number_that_repeats_an_earlier_invoice_is_a_possible_duplicate(office: Office) -> None:
    first = _print(office, "above", series("above", 1)[0])
    correct(office.db, office.spool, office.config, first, _values(series("above", 1)[0]), ANNA, learn=False,
            strict=True)
    twin = series("above", 2)[1]
    second = _print(office, "above", twin)
    values = _values(twin) | {"invoice_number": series("above", 1)[0].number}
    with office.db.writer.begin() as conn:  # the same seller on both, as the office's company would be
        conn.execute(update(invoices).values(seller="Kessler Feinmechanik KG"))
    done = correct(office.db, office.spool, office.config, second, values, ANNA, learn=False, strict=True)
    assert done.state is State.POSSIBLE_DUPLICATE and _row(office, second).duplicate_of == first


def test_the_form_gives_current_values_the_page_text_and_how_the_page_prints_numbers(office: Office) -> None:
    (invoice,) = series("above", 1)
    invoice_id = _print(office, "above", invoice)
    form = correction_form(office.db, office.spool, invoice_id, ANNA)
    assert form.values["invoice_number"] == "" and form.values["total"] == str(invoice.total)
    assert "Beleg-Kennung" in form.page_text and invoice.number in form.page_text
    assert (form.decimal, form.date_order) == (",", "dmy")
    # As the page prints them: 31.12.2026 and 1.234,50 are accepted from the form, not from the command line.
    typed = parse_values({"issue_date": "31.12.2026", "total": "1.234,50"}, strict=False, decimal=",")
    assert typed == {"issue_date": dt.date(2026, 12, 31), "total": Decimal("1234.50")}
    # A Hungarian date as printed (year first, with dots) is taken from the form too.
    assert parse_values({"due_date": "2026.03.05."}, strict=False) == {"due_date": dt.date(2026, 3, 5)}


def test_a_corrected_value_the_page_does_not_print_is_not_learned_and_the_summary_says_so(office: Office) -> None:
    made = series("magyar", 1)
    invoice_id = _print(office, "magyar", made[0])
    typo = _values(made[0]) | {"total": str(made[0].total + 9)}
    done = correct(office.db, office.spool, office.config, invoice_id, typo, ANNA, strict=True)
    assert done.layout is not None and "total" not in done.learned_fields and done.not_on_page == ("total",)
    assert "Not printed on the page, so not learned: total (check the value typed)." in done.summary()


def test_a_layout_learned_later_never_reads_over_a_persons_correction(office: Office) -> None:
    made = series("unusual", 2)
    ids = [_print(office, "unusual", invoice) for invoice in made]
    mine = _values(made[0]) | {"buyer": "Someone Else Ltd"}
    correct(office.db, office.spool, office.config, ids[0], mine, ANNA, learn=False, strict=True)
    done = correct(office.db, office.spool, office.config, ids[1], _values(made[1]), ANNA, strict=True)
    assert done.layout is not None and done.reread == ()
    assert _row(office, ids[0]).buyer == "Someone Else Ltd"


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"colour": "red"}, "colour", "not a field that can be corrected"),
    ({"issue_date": "31.12.2026"}, "issue_date", "is not a date (YYYY-MM-DD"),
    ({"issue_date": "2026-02-30"}, "issue_date", "is not a date"),
    ({"due_date": "tomorrow"}, "due_date", "is not a date"),
    ({"total": "12,50"}, "total", "is not an amount (with a dot"),
    ({"total": "12.5.0"}, "total", "is not an amount"),
    ({"currency": "EURO"}, "currency", "is not a currency code"),
    ({"invoice_number": "  "}, "invoice_number", "cannot be empty"),
    ({"buyer": "x\x00y"}, "buyer", "control characters"),
])
def test_wrong_values_are_refused_naming_the_field_and_change_nothing(
        office: Office, values: dict[str, str], field: str, words: str) -> None:
    (invoice,) = series("magyar", 1)
    invoice_id = _print(office, "magyar", invoice)
    before = office.everything()
    with pytest.raises(FieldError) as refused:
        correct(office.db, office.spool, office.config, invoice_id, values, ANNA, strict=True)
    assert refused.value.field == field and str(refused.value).startswith(f"{field}: ") and words in str(refused.value)
    assert office.everything() == before


def test_an_invoice_already_sent_cannot_be_corrected(data_root: Path) -> None:
    office = open_office(data_root, **{"sending.mode": "automatic"})
    try:
        job = office.print(invoice_pdf(office.root / "a.pdf", "RE-2026-0001", "10,00"))
        (row,) = office.invoices(job)
        assert State(row.state) is State.QUEUED
        sent = rf"invoice {row.id} was already sent \(queued\): only an invoice not sent"
        with pytest.raises(NotAllowed, match=sent):
            correct(office.db, office.spool, office.config, row.id, {"total": "11.00"}, ANNA, strict=True)
    finally:
        office.db.dispose()


def test_a_clerk_corrects_only_their_own_invoices(office: Office) -> None:
    made = series("unusual", 2)
    theirs = _print(office, "unusual", made[0], user="BOB-PC")
    own = _print(office, "unusual", made[1], user="CLEO-PC")
    with pytest.raises(NotFound, match=rf"^no invoice {theirs}$"):
        correct(office.db, office.spool, office.config, theirs, _values(made[0]), CLERK, strict=True)
    with pytest.raises(NotFound):
        correction_form(office.db, office.spool, theirs, CLERK)
    done = correct(office.db, office.spool, office.config, own, _values(made[1]), CLERK, strict=True)
    assert done.state is State.READY and ("fields corrected", "cleo") in [
        (line.what, line.who) for line in office.history(own)]
    # Bob's waiting invoice of the same layout is read again by the program, not by Cleo.
    assert done.reread == (theirs,)
    assert [line.who for line in office.history(theirs) if line.what.startswith("read again")] == ["system"]


def test_layouts_are_renamed_and_deleted_by_admins_and_the_invoices_keep_their_values(office: Office) -> None:
    made = series("above", 3)
    ids = [_print(office, "above", invoice) for invoice in made[:2]]
    done = correct(office.db, office.spool, office.config, ids[0], _values(made[0]), ANNA, strict=True)
    assert done.layout is not None
    with pytest.raises(NotAllowed, match="only an admin may rename layouts"):
        rename_layout(office.db, office.spool, done.layout, "Kessler", CLERK)
    with pytest.raises(LayoutError, match="1 to 80 letters"):
        rename_layout(office.db, office.spool, done.layout, "../../etc/passwd", ANNA)
    renamed = rename_layout(office.db, office.spool, done.layout, "kessler feinmechanik", ANNA)
    by_hand = templates_dir(office.spool) / "by-hand.yaml"
    by_hand.write_text("name: Other\nkeywords: [x]\nfields:\n  total: 'T (\\S+)'\n")
    with pytest.raises(LayoutNameTaken, match="there is a layout named 'other' already"):
        rename_layout(office.db, office.spool, "kessler feinmechanik", "other", ANNA)
    with pytest.raises(NoSuchLayout, match="no layout named 'nothing'"):
        rename_layout(office.db, office.spool, "nothing", "Something", ANNA)
    by_hand.unlink()
    # Only another layout's name is taken: the same name in other letters is a rename of this one.
    renamed = rename_layout(office.db, office.spool, "kessler feinmechanik", "Kessler Feinmechanik", ANNA)
    assert renamed.name == "Kessler Feinmechanik" and renamed.learned_from == ids[0]
    with pytest.raises(LayoutError, match="no layout named"):
        layout_yaml(office.spool, done.layout)
    with pytest.raises(NotAllowed, match="only an admin may delete layouts"):
        delete_layout(office.db, office.spool, "Kessler Feinmechanik", CLERK)
    delete_layout(office.db, office.spool, "Kessler Feinmechanik", ANNA)
    assert list_layouts(office.db, office.spool) == []
    assert _exact(_row(office, ids[1]), made[1]) == {}
    later = _print(office, "above", made[2])
    assert State(_row(office, later).state) is State.NEEDS_ATTENTION


def test_a_layout_file_edited_into_nonsense_is_refused_by_name_and_key_and_the_others_keep_working(
        office: Office, caplog: pytest.LogCaptureFixture) -> None:
    made = series("unusual", 3)
    first = _print(office, "unusual", made[0])
    done = correct(office.db, office.spool, office.config, first, _values(made[0]), ANNA, strict=True)
    folder = templates_dir(office.spool)
    (folder / "aaa-broken.yaml").write_text("name: broken\nkeywords: [x]\nfields:\n  total: {label: Sum, at: left}\n")
    (folder / "bbb-bad-regex.yaml").write_text("name: bad\nkeywords: [x]\nfields:\n  total: 'Total ([0-9'\n")
    found = {layout.file: layout for layout in list_layouts(office.db, office.spool)}
    assert "aaa-broken.yaml" in found["aaa-broken.yaml"].error
    assert "fields.total.at must be one of after, right, below" in found["aaa-broken.yaml"].error
    assert "fields.total is not a valid regex" in found["bbb-bad-regex.yaml"].error
    assert "\n" not in found["bbb-bad-regex.yaml"].error
    with caplog.at_level("WARNING", logger="connect_core.pipeline.worker"):
        later = _print(office, "unusual", made[1])
        _print(office, "unusual", made[2])
    row = _row(office, later)
    assert (State(row.state), _exact(row, made[1])) == (State.READY, {})
    assert f"template:{done.layout}" in row.fields
    # The server's log says it once per refused file (one line naming the file and the key), not at every job.
    refused = [r.getMessage() for r in caplog.records if "layout refused" in r.getMessage()]
    assert len(refused) == 2 and any("aaa-broken.yaml: fields.total.at" in line for line in refused)


def test_a_ready_invoice_of_the_layout_is_read_again_and_stays_ready(office: Office) -> None:
    made = series("above", 2)
    first, sent_as_is = (_print(office, "above", invoice) for invoice in made)
    assert service.approve(office.db, sent_as_is, ANNA) is State.READY  # "Send as it is": no number yet
    assert _row(office, sent_as_is).invoice_number is None
    done = correct(office.db, office.spool, office.config, first, _values(made[0]), ANNA, strict=True)
    assert done.reread == (sent_as_is,) and done.moved == ()
    row = _row(office, sent_as_is)
    assert (State(row.state), _exact(row, made[1])) == (State.READY, {})
    assert [line.what for line in office.history(sent_as_is)][-2:] == [
        f"read again through layout {done.layout!r}", "checked again: still ready"]
