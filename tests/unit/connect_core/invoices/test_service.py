"""The invoice service functions (with ``access`` and ``actions``): what the CLI, pages and API all call.

What they promise:

- A clerk lists, gets, counts, sees processing jobs and acts only on invoices whose owner is one of
  her print names (her own name when she has none); an admin sees everything.  Another person's
  invoice is :class:`NotFound` with ``no invoice N`` — never :class:`NotAllowed`, so a clerk does not
  learn it exists.
- ``send`` is all or nothing: one unknown id, or one not ``ready``, and nothing is queued.
- An action the invoice's state does not allow is :class:`NotAllowed` in the words of
  ``actions.refusal``; every action appends a history line naming who acted.
- Lists filter by number, counterparty, dates and amounts, and page by keyset (``sort_value`` /
  ``after``): every invoice appears exactly once across the pages, in the order of each ``SORTS``.
- ``invoice_detail`` gives the fields with their source, the print job, the history and ``actions_for``.

The invoices are real: drawn with reportlab, taken in by ``PrintIntake.accept_file`` and converted by
the real pipeline into a real SQLite store.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select

from connect_core.accounts.users import add_user
from connect_core.config import load_config
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.invoices import service
from connect_core.invoices.access import SYSTEM, Actor
from connect_core.invoices.actions import actions_for, refusal
from connect_core.invoices.errors import NeedsConfirmation, NotAllowed, NotFound
from connect_core.invoices.model import Invoice
from connect_core.invoices.service import SORTS, list_invoices, sort_value
from connect_core.invoices.states import State
from connect_core.pipeline.worker import make_pipeline
from connect_core.store import Database, open_database
from connect_core.store.schema import invoices as invoices_table

CLEO = Actor("cleo", admin=False, owners=frozenset({"CLEO-PC", "cleo"}))
"""A clerk whose invoices are printed from her PC and under her own name."""
BOB = Actor("bob", admin=False, owners=frozenset({"BOB-PC"}))
ADMIN = Actor("ada", admin=True)


# -- real invoices ---------------------------------------------------------------------------


def draw_invoice(path: Path, *, number: str, total: str, seller: str, buyer: str, issued: str,
                 due: str | None) -> Path:
    """A one-page German invoice with a text layer, with the given fields (dates as DD.MM.YYYY)."""
    page = canvas.Canvas(str(path), pagesize=A4)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 770, seller)
    page.setFont("Helvetica", 11)
    page.drawString(72, 740, "Musterstraße 1, 10115 Berlin")
    page.drawString(72, 720, f"Kunde: {buyer}")
    page.drawString(72, 700, f"Rechnung Nr. {number}")
    page.drawString(72, 680, f"Rechnungsdatum: {issued}")
    if due is not None:
        page.drawString(72, 660, f"Fällig am: {due}")
    page.drawString(72, 620, f"Gesamtbetrag: {total} EUR")
    page.showPage()
    page.save()
    return path


def draw_letter(path: Path, text: str) -> Path:
    """A page with text but no invoice fields: the pipeline holds it in needs-attention."""
    page = canvas.Canvas(str(path), pagesize=A4)
    page.drawString(72, 700, text)
    page.showPage()
    page.save()
    return path


@dataclass
class Office:
    """A data dir with a store, a spool, and the real intake and pipeline over them."""

    root: Path
    db: Database
    spool: Spool

    @classmethod
    def open(cls, root: Path) -> Office:
        root.mkdir(parents=True, exist_ok=True)
        return cls(root, open_database(None, root), Spool(root / "spool"))

    def take_in(self, pdf: Path, user: str, *, convert: bool = True) -> int:
        """Import ``pdf`` as printed by ``user``; returns the job id (converted unless ``convert`` is False)."""
        job_id = PrintIntake(self.db, self.spool).accept_file(pdf, door="import", user=user)
        if convert:
            config = load_config(None, {"storage.data_dir": str(self.root)})
            make_pipeline(config, self.db, self.spool).convert_job(job_id)
        return job_id

    def invoice_of(self, job_id: int) -> int:
        with self.db.reader.connect() as conn:
            return int(conn.execute(select(invoices_table.c.id).where(invoices_table.c.job_id == job_id)).scalar_one())

    def set_columns(self, invoice_id: int, **values: Any) -> None:
        """A direct SQL update, for a state only Pagero Online's answers can bring (the pipeline cannot)."""
        columns = ", ".join(f"{name} = ?" for name in values)
        with sqlite3.connect(self.root / "connect.db", timeout=30) as conn:
            conn.execute(f"UPDATE invoices SET {columns} WHERE id = ?", (*values.values(), invoice_id))

    def history(self, invoice_id: int) -> list[Any]:
        return list(service.invoice_detail(self.db, invoice_id).history)

    def close(self) -> None:
        self.db.dispose()


@dataclass(frozen=True)
class Printed:
    key: str
    owner: str
    state: State
    number: str | None = None
    total: str | None = None
    seller: str | None = None
    buyer: str | None = None
    issued: str | None = None
    due: str | None = None


CORPUS: tuple[Printed, ...] = (
    Printed("a", "CLEO-PC", State.READY, "RE-2026-001", "100,50", "Alpha Bau GmbH", "Kunde Nord AG",
            "01.03.2026", "31.03.2026"),
    Printed("b", "cleo", State.READY, "RE-2026-002", "250,00", "Beta Druck GmbH", "Kunde Süd AG",
            "02.03.2026", "01.04.2026"),
    Printed("c", "BOB-PC", State.READY, "RE-2026-003", "100,50", "Gamma Papier KG", "Kunde Nord AG",
            "02.03.2026", None),
    Printed("d", "CLEO-PC", State.READY, "RE-2026-004", "1.999,99", "Delta Licht GmbH", "Hansa Handel eG",
            "15.02.2026", None),
    Printed("e", "BOB-PC", State.READY, "RE-2026-005", "42,00", "Alpha Bau GmbH", "Kunde Ost AG",
            "01.03.2026", "31.03.2026"),
    Printed("f", "BOB-PC", State.READY, "RE_2026_006", "250,00", "Epsilon Holz AG", "Kunde West AG",
            "20.03.2026", "19.04.2026"),
    Printed("g", "cleo", State.NEEDS_ATTENTION),  # a letter: no fields
    Printed("h", "BOB-PC", State.NEEDS_ATTENTION),  # another letter
    Printed("i", "CLEO-PC", State.POSSIBLE_DUPLICATE),  # the same file as "a"
    Printed("j", "cleo", State.INVALID),  # a damaged PDF
)


def print_corpus(office: Office, folder: Path) -> dict[str, int]:
    """Take in every document of :data:`CORPUS`; returns key → invoice id."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    ids: dict[str, int] = {}
    for doc in CORPUS:
        if doc.number is not None:
            assert doc.total and doc.seller and doc.buyer and doc.issued
            pdf = draw_invoice(folder / f"{doc.key}.pdf", number=doc.number, total=doc.total, seller=doc.seller,
                               buyer=doc.buyer, issued=doc.issued, due=doc.due)
        elif doc.state is State.NEEDS_ATTENTION:
            pdf = draw_letter(folder / f"{doc.key}.pdf", f"Dear customer, thank you for letter {doc.key}.")
        elif doc.state is State.POSSIBLE_DUPLICATE:
            pdf = files["a"]
        else:
            pdf = folder / f"{doc.key}.pdf"
            pdf.write_bytes(b"%PDF-1.4\n this is not a PDF at all\n")
        files[doc.key] = pdf
        ids[doc.key] = office.invoice_of(office.take_in(pdf, doc.owner))
    return ids


@dataclass
class Corpus:
    office: Office
    ids: dict[str, int]
    processing: dict[str, int]
    """Print name → the job left unconverted (still processing) for it."""

    def owner(self, invoice_id: int) -> str:
        return {self.ids[d.key]: d.owner for d in CORPUS}[invoice_id]

    def ids_of(self, owners: set[str]) -> set[int]:
        return {self.ids[d.key] for d in CORPUS if d.owner in owners}


@contextmanager
def private_root(prefix: str) -> Iterator[Path]:
    """A private folder on real disk (not /tmp), removed afterwards however the set-up ended."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def corpus() -> Iterator[Corpus]:
    """One store with the whole corpus, shared by the tests that only read."""
    with private_root("pagero-service-read-") as root:
        office = Office.open(root / "data")
        try:
            ids = print_corpus(office, root / "printed")
            letter = draw_letter(root / "waiting.pdf", "Still converting.")
            processing = {name: office.take_in(letter, name, convert=False) for name in ("cleo", "CLEO-PC", "BOB-PC")}
            yield Corpus(office, ids, processing)
        finally:
            office.close()


@pytest.fixture(scope="module")
def template() -> Iterator[tuple[Path, dict[str, int]]]:
    """A finished, closed data dir with the corpus, copied afresh for each test that changes things."""
    with private_root("pagero-service-template-") as root:
        office = Office.open(root / "data")
        try:
            ids = print_corpus(office, root / "printed")
        finally:
            office.close()
        yield root / "data", ids


@pytest.fixture
def office(template: tuple[Path, dict[str, int]], data_root: Path) -> Iterator[tuple[Office, dict[str, int]]]:
    """A private copy of the corpus' data dir: a real store each test may change."""
    source, ids = template
    shutil.copytree(source, data_root / "data")
    opened = Office.open(data_root / "data")
    yield opened, ids
    opened.close()


def test_the_corpus_lands_in_the_states_it_was_made_for(corpus: Corpus) -> None:
    states = {doc.key: service.get_invoice(corpus.office.db, corpus.ids[doc.key]).state for doc in CORPUS}
    assert states == {doc.key: doc.state for doc in CORPUS}


# -- who sees what ---------------------------------------------------------------------------


def _all(db: Database, actor: Actor, **filters: Any) -> list[Invoice]:
    return list_invoices(db, actor=actor, limit=1000, **filters)


def test_a_clerk_lists_only_the_invoices_printed_under_her_print_names(corpus: Corpus) -> None:
    listed = _all(corpus.office.db, CLEO)
    assert {inv.id for inv in listed} == corpus.ids_of({"CLEO-PC", "cleo"})
    assert {inv.owner for inv in listed} == {"CLEO-PC", "cleo"}


def test_an_admin_lists_every_invoice(corpus: Corpus) -> None:
    assert {inv.id for inv in _all(corpus.office.db, ADMIN)} == set(corpus.ids.values())
    assert {inv.id for inv in _all(corpus.office.db, SYSTEM)} == set(corpus.ids.values())


def test_a_clerk_without_print_names_sees_the_invoices_printed_under_her_own_name(corpus: Corpus) -> None:
    bare = Actor("cleo", admin=False)
    assert {inv.id for inv in _all(corpus.office.db, bare)} == corpus.ids_of({"cleo"})
    nobody = Actor("zoe", admin=False)
    assert _all(corpus.office.db, nobody) == []


def test_a_users_actor_sees_exactly_the_print_names_the_user_was_given(corpus: Corpus) -> None:
    db = corpus.office.db
    pc_only = add_user(db, "cleo-pc-only", "long enough password", print_names=["CLEO-PC"]).actor()
    own_name = add_user(db, "cleo", "long enough password").actor()  # no print names: her own name
    admin = add_user(db, "boss", "long enough password", role="admin").actor()
    assert {inv.id for inv in _all(db, pc_only)} == corpus.ids_of({"CLEO-PC"})
    assert {inv.id for inv in _all(db, own_name)} == corpus.ids_of({"cleo"})
    assert {inv.id for inv in _all(db, admin)} == set(corpus.ids.values())


def test_print_names_are_compared_exactly_not_ignoring_case(corpus: Corpus) -> None:
    shouting = Actor("x", admin=False, owners=frozenset({"cleo-pc", "CLEO"}))
    assert _all(corpus.office.db, shouting) == []


def test_another_clerks_invoice_is_not_found_by_every_reading_function(corpus: Corpus) -> None:
    db = corpus.office.db
    for key in ("c", "e", "h"):  # BOB-PC's
        invoice_id = corpus.ids[key]
        for read in (service.get_invoice, service.invoice_detail, service.invoice_files):
            with pytest.raises(NotFound) as caught:
                read(db, invoice_id, CLEO)
            assert str(caught.value) == f"no invoice {invoice_id}"
        # ...while its owner and an admin do see it.
        assert service.get_invoice(db, invoice_id, BOB).id == invoice_id
        assert service.get_invoice(db, invoice_id, ADMIN).id == invoice_id


def test_an_invoice_that_does_not_exist_is_not_found_in_the_same_words(corpus: Corpus) -> None:
    with pytest.raises(NotFound, match=r"^no invoice 987654$"):
        service.get_invoice(corpus.office.db, 987654, ADMIN)


def test_view_counts_count_only_the_invoices_the_actor_sees(corpus: Corpus) -> None:
    db = corpus.office.db

    def expected(owners: set[str] | None) -> dict[str, int]:
        mine = [d for d in CORPUS if owners is None or d.owner in owners]
        return {"files_to_send": sum(d.state is State.READY for d in mine),
                "needs_attention": sum(d.state in (State.NEEDS_ATTENTION, State.INVALID, State.POSSIBLE_DUPLICATE)
                                       for d in mine),
                "awaiting_attachments": sum(d.state is State.AWAITING_ATTACHMENTS for d in mine)}

    assert service.view_counts(db, ADMIN) == expected(None) == {"files_to_send": 6, "needs_attention": 4,
                                                                "awaiting_attachments": 0}
    assert service.view_counts(db, CLEO) == expected({"CLEO-PC", "cleo"}) == {
        "files_to_send": 3, "needs_attention": 3, "awaiting_attachments": 0}
    assert service.view_counts(db, BOB) == expected({"BOB-PC"})
    assert service.view_counts(db, Actor("zoe", admin=False)) == {"files_to_send": 0, "needs_attention": 0,
                                                                  "awaiting_attachments": 0}


def test_processing_jobs_are_those_still_converting_printed_under_the_actors_names(corpus: Corpus) -> None:
    db = corpus.office.db
    by_admin = service.processing_jobs(db, ADMIN)
    assert {job.id for job in by_admin} == set(corpus.processing.values())
    assert [job.id for job in by_admin] == sorted(corpus.processing.values(), reverse=True)  # newest first
    assert {job.id for job in service.processing_jobs(db, CLEO)} == {corpus.processing["cleo"],
                                                                      corpus.processing["CLEO-PC"]}
    assert {job.user for job in service.processing_jobs(db, BOB)} == {"BOB-PC"}
    assert [job.user for job in service.processing_jobs(db, Actor("cleo", admin=False))] == ["cleo"]
    assert len(service.processing_jobs(db, ADMIN, limit=2)) == 2
    assert all(job.door == "import" for job in by_admin)


# -- one invoice ----------------------------------------------------------------------------


def test_invoice_detail_gives_fields_with_their_source_the_print_job_the_history_and_the_actions(
        corpus: Corpus) -> None:
    invoice_id = corpus.ids["a"]
    detail = service.invoice_detail(corpus.office.db, invoice_id, CLEO)
    assert detail.invoice.id == invoice_id and detail.invoice.invoice_number == "RE-2026-001"
    fields = {f.name: f for f in detail.fields}
    assert list(fields) == ["invoice_number", "issue_date", "due_date", "currency", "total", "seller", "buyer"]
    assert fields["invoice_number"].value == "RE-2026-001"
    assert fields["total"].value == Decimal("100.50")
    assert fields["issue_date"].value == dt.date(2026, 3, 1)
    assert fields["seller"].value == "Alpha Bau GmbH"
    assert all(f.source and f.source.startswith("text:") for f in detail.fields)
    assert detail.job is not None
    assert (detail.job.id, detail.job.user, detail.job.door) == (detail.invoice.job_id, "CLEO-PC", "import")
    assert [e.to_state for e in detail.history if e.to_state] == ["received", "converted", "ready"]
    assert detail.history[0].who == "CLEO-PC"
    assert detail.actions == actions_for(detail.invoice) == ("correct", "delete")


def test_invoice_detail_of_a_document_without_fields_has_no_values_and_no_sources(corpus: Corpus) -> None:
    detail = service.invoice_detail(corpus.office.db, corpus.ids["g"], CLEO)
    assert all(f.value is None and f.source is None for f in detail.fields)
    assert detail.actions == ("correct", "approve", "delete")
    assert detail.history[-1].to_state == "needs-attention"


# -- filters --------------------------------------------------------------------------------


def _keys(corpus: Corpus, rows: list[Invoice]) -> set[str]:
    by_id = {v: k for k, v in corpus.ids.items()}
    return {by_id[row.id] for row in rows}


def test_number_filter_matches_any_part_ignoring_case(corpus: Corpus) -> None:
    db = corpus.office.db
    assert _keys(corpus, _all(db, ADMIN, number="re-2026-00")) == {"a", "b", "c", "d", "e", "i"}
    assert _keys(corpus, _all(db, ADMIN, number="004")) == {"d"}
    assert _keys(corpus, _all(db, CLEO, number="2026")) == {"a", "b", "d", "i"}


def test_number_filter_takes_percent_and_underscore_literally(corpus: Corpus) -> None:
    db = corpus.office.db
    assert _keys(corpus, _all(db, ADMIN, number="re_2026")) == {"f"}
    assert _all(db, ADMIN, number="%") == []
    assert _all(db, ADMIN, number="RE\\") == []


def test_counterparty_filter_matches_seller_or_buyer(corpus: Corpus) -> None:
    db = corpus.office.db
    assert _keys(corpus, _all(db, ADMIN, counterparty="alpha bau")) == {"a", "e", "i"}  # seller
    assert _keys(corpus, _all(db, ADMIN, counterparty="KUNDE NORD")) == {"a", "c", "i"}  # buyer
    assert _keys(corpus, _all(db, ADMIN, counterparty="hansa")) == {"d"}
    assert _keys(corpus, _all(db, BOB, counterparty="kunde nord")) == {"c"}


def test_date_filters_include_both_ends(corpus: Corpus) -> None:
    db = corpus.office.db
    march_1 = dt.date(2026, 3, 1)
    assert _keys(corpus, _all(db, ADMIN, issued_from=march_1, issued_to=march_1)) == {"a", "e", "i"}
    assert _keys(corpus, _all(db, ADMIN, issued_to=dt.date(2026, 2, 28))) == {"d"}
    assert _keys(corpus, _all(db, ADMIN, issued_from=dt.date(2026, 3, 2))) == {"b", "c", "f"}
    assert _keys(corpus, _all(db, ADMIN, due_from=dt.date(2026, 4, 1))) == {"b", "f"}
    assert _keys(corpus, _all(db, ADMIN, due_to=dt.date(2026, 3, 31))) == {"a", "e", "i"}


def test_amount_filters_include_both_ends(corpus: Corpus) -> None:
    db = corpus.office.db
    assert _keys(corpus, _all(db, ADMIN, amount_min=Decimal("100.50"), amount_max=Decimal("100.50"))) == {
        "a", "c", "i"}
    assert _keys(corpus, _all(db, ADMIN, amount_min=Decimal("250"))) == {"b", "d", "f"}
    assert _keys(corpus, _all(db, ADMIN, amount_max=Decimal("99.99"))) == {"e"}
    assert _keys(corpus, _all(db, CLEO, amount_min=Decimal("100.51"), amount_max=Decimal("2000"))) == {"b", "d"}


def test_filters_combine_and_missing_values_never_match_a_range(corpus: Corpus) -> None:
    db = corpus.office.db
    assert _keys(corpus, _all(db, ADMIN, amount_min=Decimal("0"))) == {"a", "b", "c", "d", "e", "f", "i"}
    assert _keys(corpus, _all(db, ADMIN, counterparty="kunde", amount_max=Decimal("100.50"),
                              issued_from=dt.date(2026, 3, 2))) == {"c"}
    assert _keys(corpus, _all(db, ADMIN, states=["needs-attention"])) == {"g", "h"}
    assert _keys(corpus, _all(db, CLEO, states=["ready", "invalid"])) == {"a", "b", "d", "j"}


# -- order and keyset paging --------------------------------------------------------------------


def expected_order(rows: list[Invoice], sort: str) -> list[int]:
    """The order ``sort`` promises: by its column (missing values last), then by id in the same direction."""
    column, descending = SORTS[sort]
    present = [r for r in rows if getattr(r, column) is not None]
    missing = [r for r in rows if getattr(r, column) is None]
    present.sort(key=lambda r: (getattr(r, column), r.id), reverse=descending)
    missing.sort(key=lambda r: r.id, reverse=descending)
    return [r.id for r in present + missing]


def walk_pages(db: Database, actor: Actor, sort: str, limit: int, **filters: Any) -> list[list[int]]:
    """Every page of a list, each asked for with the previous page's last row as the cursor."""
    pages: list[list[int]] = []
    after: tuple[Any, int] | None = None
    for _ in range(100):  # a liveness bound: the corpus fits in far fewer pages
        page = list_invoices(db, actor=actor, sort=sort, limit=limit, after=after, **filters)
        if not page:
            return pages
        pages.append([row.id for row in page])
        after = (sort_value(page[-1], sort), page[-1].id)
    raise AssertionError(f"paging by {sort} never ended: {pages}")


@pytest.mark.parametrize("sort", list(SORTS))
def test_the_whole_list_is_in_the_order_of_the_sort_with_missing_values_last(corpus: Corpus, sort: str) -> None:
    rows = _all(corpus.office.db, ADMIN, sort=sort)
    assert len(rows) == len(CORPUS)
    assert [r.id for r in rows] == expected_order(rows, sort)


@pytest.mark.parametrize("sort", list(SORTS))
def test_paging_returns_each_invoice_exactly_once_for_every_sort(corpus: Corpus, sort: str) -> None:
    db = corpus.office.db
    whole = [r.id for r in _all(db, ADMIN, sort=sort)]
    for limit in (1, 2, 3, 4, 7):
        pages = walk_pages(db, ADMIN, sort, limit)
        assert [i for page in pages for i in page] == whole, (sort, limit, pages)
        assert all(len(page) == limit for page in pages[:-1])


def test_the_page_after_one_ending_on_an_invoice_without_the_sorted_value_holds_the_rest(corpus: Corpus) -> None:
    """Invoices without a due date sort last; a page that ends on the first of them leads on to the others."""
    db = corpus.office.db
    whole = list_invoices(db, actor=ADMIN, sort="due_date", limit=1000)
    first_missing = next(n for n, row in enumerate(whole) if row.due_date is None)
    assert whole[first_missing].id == corpus.ids["c"]
    first = list_invoices(db, actor=ADMIN, sort="due_date", limit=first_missing + 1)
    assert first[-1].id == corpus.ids["c"]
    rest = list_invoices(db, actor=ADMIN, sort="due_date", limit=1000,
                         after=(sort_value(first[-1], "due_date"), first[-1].id))
    assert [r.id for r in rest] == [r.id for r in whole[first_missing + 1:]]
    assert {corpus.ids["d"], corpus.ids["g"]} <= {r.id for r in rest}


@settings(max_examples=60, deadline=None)
@given(sort=st.sampled_from(list(SORTS)), limit=st.integers(1, 5),
       actor=st.sampled_from([ADMIN, CLEO, BOB, Actor("cleo", admin=False)]),
       states=st.lists(st.sampled_from([s.value for s in State]), max_size=4, unique=True),
       filters=st.sampled_from([{}, {"counterparty": "kunde"}, {"number": "re"}, {"amount_min": Decimal("100.5")},
                                {"issued_from": dt.date(2026, 3, 1), "due_to": dt.date(2026, 4, 30)}]))
def test_pages_under_any_filters_states_and_actor_add_up_to_the_whole_list(
        corpus: Corpus, sort: str, limit: int, actor: Actor, states: list[str], filters: dict[str, Any]) -> None:
    db = corpus.office.db
    whole = [r.id for r in list_invoices(db, actor=actor, sort=sort, limit=1000, states=states, **filters)]
    pages = walk_pages(db, actor, sort, limit, states=states, **filters)
    flat = [i for page in pages for i in page]
    assert flat == whole
    assert len(set(flat)) == len(flat)
    if not actor.admin:
        assert {corpus.owner(i) for i in flat} <= actor.print_names


def test_sort_value_is_the_json_form_of_the_sorted_column(corpus: Corpus) -> None:
    invoice = service.get_invoice(corpus.office.db, corpus.ids["a"])
    assert sort_value(invoice, "newest") == invoice.id
    assert sort_value(invoice, "-number") == "RE-2026-001"
    assert sort_value(invoice, "issue_date") == "2026-03-01"
    assert sort_value(invoice, "-total") == "100.50"
    assert sort_value(service.get_invoice(corpus.office.db, corpus.ids["c"]), "due_date") is None


# -- acting ---------------------------------------------------------------------------------


def _state(office: Office, invoice_id: int) -> State:
    return service.get_invoice(office.db, invoice_id).state


def test_send_queues_the_given_ready_invoices_with_the_environment_and_a_history_line(
        office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    queued = service.send(store.db, [ids["b"], ids["a"]], "Test", CLEO)
    assert queued == sorted([ids["a"], ids["b"]])
    for key in ("a", "b"):
        invoice = service.get_invoice(store.db, ids[key])
        assert invoice.state is State.QUEUED and invoice.environment == "Test"
        last = store.history(ids[key])[-1]
        assert (last.from_state, last.to_state, last.who) == ("ready", "queued", "cleo")
        assert last.what == "sent by cleo (Test)"
    assert _state(store, ids["d"]) is State.READY  # hers too, but not asked for


def test_send_of_everything_queues_only_the_ready_invoices_the_actor_sees(
        office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    assert service.send(store.db, None, "Production", CLEO) == sorted([ids["a"], ids["b"], ids["d"]])
    assert {k for k in ids if _state(store, ids[k]) is State.QUEUED} == {"a", "b", "d"}
    assert service.send(store.db, None, "Production", CLEO) == []  # nothing left waiting


def test_send_is_all_or_nothing_when_one_id_is_unknown(office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    with pytest.raises(NotFound, match=r"^no invoice 4242$"):
        service.send(store.db, [ids["a"], 4242], "Test", CLEO)
    assert _state(store, ids["a"]) is State.READY
    assert store.history(ids["a"])[-1].to_state == "ready"


def test_send_is_all_or_nothing_when_one_invoice_is_not_ready(office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    with pytest.raises(NotAllowed) as caught:
        service.send(store.db, [ids["a"], ids["g"], ids["b"]], "Test", CLEO)
    assert str(caught.value) == f"not waiting in Files to send: {ids['g']} (needs-attention)"
    assert _state(store, ids["a"]) is State.READY and _state(store, ids["b"]) is State.READY


def test_send_of_another_clerks_invoice_is_not_found_and_queues_nothing(
        office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    with pytest.raises(NotFound) as caught:
        service.send(store.db, [ids["a"], ids["c"]], "Test", CLEO)
    assert str(caught.value) == f"no invoice {ids['c']}"
    assert _state(store, ids["a"]) is State.READY and _state(store, ids["c"]) is State.READY


def test_send_to_an_unknown_environment_is_refused(office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    with pytest.raises(NotAllowed, match="environment 'Staging' is not one of"):
        service.send(store.db, [ids["a"]], "Staging", CLEO)
    assert _state(store, ids["a"]) is State.READY


def test_approve_releases_a_possible_duplicate_to_ready_and_names_the_actor(
        office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    assert service.approve(store.db, ids["i"], CLEO) is State.READY
    last = store.history(ids["i"])[-1]
    assert (last.what, last.from_state, last.to_state, last.who) == ("approved", "possible-duplicate", "ready",
                                                                      "cleo")
    assert service.get_invoice(store.db, ids["i"]).reason == ""


def test_approve_in_automatic_mode_queues_the_invoice(office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    assert service.approve(store.db, ids["g"], CLEO, automatic=True) is State.QUEUED
    assert _state(store, ids["g"]) is State.QUEUED
    assert store.history(ids["g"])[-1].who == "cleo"


def test_delete_marks_the_invoice_deleted_and_names_the_actor(office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    service.delete(store.db, ids["j"], CLEO)
    assert _state(store, ids["j"]) is State.DELETED
    last = store.history(ids["j"])[-1]
    assert (last.what, last.from_state, last.to_state, last.who) == ("deleted", "invalid", "deleted", "cleo")
    assert service.invoice_detail(store.db, ids["j"], CLEO).actions == ()


@pytest.mark.parametrize(("key", "action"), [("a", "approve"), ("a", "resend"), ("j", "approve"), ("j", "resend"),
                                             ("g", "resend"), ("i", "resend")])
def test_an_action_the_state_does_not_allow_is_refused_in_the_words_of_refusal(
        office: tuple[Office, dict[str, int]], key: str, action: str) -> None:
    store, ids = office
    invoice = service.get_invoice(store.db, ids[key])
    before = store.history(ids[key])
    call = {"approve": service.approve, "resend": service.resend}[action]
    with pytest.raises(NotAllowed) as caught:
        call(store.db, ids[key], CLEO)
    assert str(caught.value) == refusal(invoice, action)
    assert _state(store, ids[key]) is invoice.state
    assert store.history(ids[key]) == before


def test_a_deleted_invoice_refuses_every_action_saying_nothing_can_be_done(
        office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    service.delete(store.db, ids["a"], ADMIN)
    for call in (service.approve, service.delete, service.resend):
        with pytest.raises(NotAllowed, match=rf"^invoice {ids['a']} is deleted; nothing can be done with it now$"):
            call(store.db, ids["a"], ADMIN)


def test_refusal_words_say_what_the_invoice_can_do_instead(office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    ready = service.get_invoice(store.db, ids["a"])
    assert refusal(ready, "approve") == f"invoice {ids['a']} is ready; it can be: correct, delete"
    held = service.get_invoice(store.db, ids["g"])
    assert refusal(held, "resend").startswith(f"invoice {ids['g']} was never sent; it needs attention (")
    assert refusal(held, "resend").endswith("): approve it")


def test_every_action_on_another_clerks_invoice_is_not_found_never_not_allowed(
        office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    bobs = ids["h"]  # BOB-PC's letter: approve and delete would be allowed for Bob
    before = store.history(bobs)
    calls = [lambda: service.approve(store.db, bobs, CLEO), lambda: service.delete(store.db, bobs, CLEO),
             lambda: service.resend(store.db, bobs, CLEO, confirm=True),
             lambda: service.send(store.db, [bobs], "Test", CLEO)]
    for call in calls:
        with pytest.raises(NotFound) as caught:
            call()
        assert not isinstance(caught.value, NotAllowed)
        assert str(caught.value) == f"no invoice {bobs}"
    # Even where the state would refuse the action anyway, she learns nothing about it.
    with pytest.raises(NotFound, match=rf"^no invoice {ids['c']}$"):
        service.approve(store.db, ids["c"], CLEO)
    assert _state(store, bobs) is State.NEEDS_ATTENTION
    assert store.history(bobs) == before
    assert service.approve(store.db, bobs, BOB) is State.READY  # its owner may


def test_resend_after_a_failed_upload_queues_again_with_a_fresh_attempt_count(
        office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    # What the outbox leaves after giving up on an upload (it needs Pagero Online to get there).
    store.set_columns(ids["g"], attempts=5, last_error="HTTP 503 from Pagero Online")
    assert service.get_invoice(store.db, ids["g"]).state is State.NEEDS_ATTENTION
    service.resend(store.db, ids["g"], CLEO)
    invoice = service.get_invoice(store.db, ids["g"])
    assert (invoice.state, invoice.attempts) == (State.QUEUED, 0)
    last = store.history(ids["g"])[-1]
    assert (last.what, last.to_state, last.who) == ("resent", "queued", "cleo")


def test_resend_of_a_sent_invoice_needs_confirmation(office: tuple[Office, dict[str, int]]) -> None:
    store, ids = office
    # Only Pagero Online's answer makes an invoice "sent": set it directly.
    store.set_columns(ids["a"], state="delivered", remote_file_id="file-1")
    with pytest.raises(NeedsConfirmation, match="may get it twice") as caught:
        service.resend(store.db, ids["a"], CLEO)
    assert isinstance(caught.value, NotAllowed)
    assert _state(store, ids["a"]) is State.DELIVERED
    service.resend(store.db, ids["a"], CLEO, confirm=True)
    assert _state(store, ids["a"]) is State.QUEUED
    with sqlite3.connect(store.root / "connect.db") as conn:
        generation, remote = conn.execute("SELECT send_generation, remote_file_id FROM invoices WHERE id = ?",
                                          (ids["a"],)).fetchone()
    assert (generation, remote) == (1, None)
    last = store.history(ids["a"])[-1]
    assert (last.what, last.from_state, last.who) == ("resent after confirmation", "delivered", "cleo")


def test_actions_offered_are_exactly_the_actions_accepted(office: tuple[Office, dict[str, int]]) -> None:
    """For each invoice of the corpus, each action succeeds exactly when ``actions_for`` offers it."""
    store, ids = office
    calls = {"approve": lambda i: service.approve(store.db, i, ADMIN),
             "delete": lambda i: service.delete(store.db, i, ADMIN),
             "resend": lambda i: service.resend(store.db, i, ADMIN, confirm=True)}
    for key, invoice_id in ids.items():
        offered = actions_for(service.get_invoice(store.db, invoice_id))
        for action in ("approve", "resend"):  # delete last: it ends every other possibility
            if action in offered:
                continue
            with pytest.raises(NotAllowed):
                calls[action](invoice_id)
        if "delete" in offered:
            calls["delete"](invoice_id)
            assert _state(store, invoice_id) is State.DELETED, key
        else:
            with pytest.raises(NotAllowed):
                calls["delete"](invoice_id)
