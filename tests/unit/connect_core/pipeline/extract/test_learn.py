"""Learning a layout from one corrected invoice (``extract.learn``), and reading through what was learned.

A learned layout reads later invoices of its layout exactly; it never changes what is read on
any other layout (the corpus, the held-out set and the 55 own-layout invoices are read the same
with and without it), never overrides Factur-X XML, and a field whose label is missing falls
back to the general reader and holds the invoice by itself.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from connect_core.pipeline.extract import page_grids, pdf_producer, read_invoices
from connect_core.pipeline.extract.learn import LearnedPage, learn_layout
from connect_core.pipeline.extract.templates import Anchor, Template, parse_template, template_data
from tests.support.corpus import PRINTED
from tests.support.reading import corpus_cases, heldout_cases, layout_cases
from tests.support.unread import LAYOUTS, UnreadInvoice, series, unread_invoice

DECIMAL = {"above": ",", "magyar": ",", "unusual": "."}


def _values(invoice: UnreadInvoice) -> dict[str, object]:
    return {"invoice_number": invoice.number, "issue_date": invoice.issued, "due_date": invoice.due,
            "currency": invoice.currency, "total": invoice.total, "buyer": invoice.buyer}


def _learned(folder: Path, layout: str) -> Template:
    invoice = series(layout, 1)[0]
    pdf = unread_invoice(folder / f"{layout}.pdf", layout, invoice)
    rows = [row for grid in page_grids(pdf) for row in grid]
    learned = learn_layout(LearnedPage(rows, pdf_producer(pdf), "dmy", DECIMAL[layout]), _values(invoice),
                           f"{layout}-layout")
    assert learned.template is not None, learned.reason
    return learned.template


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_layout_learned_from_one_invoice_reads_ten_others_of_it_exactly(tmp_path: Path, layout: str) -> None:
    template = _learned(tmp_path, layout)
    # What is written to the file reads back as the same layout.
    again = parse_template(yaml.safe_load(yaml.safe_dump(template_data(template), allow_unicode=True)), "file")
    assert again == template
    for invoice in series(layout, 10, start=2):
        (got,) = read_invoices(unread_invoice(tmp_path / "next.pdf", layout, invoice), [again])
        assert {name: getattr(got, name) for name in _values(invoice)} == _values(invoice)
        assert got.ready_to_send and got.layout == template.name and got.not_ready == ()


def test_learned_layouts_change_nothing_on_every_other_layout(tmp_path: Path) -> None:
    """Every field of the corpus, the held-out set and the 55 own-layout invoices reads the same after learning."""
    learned = [_learned(tmp_path, layout) for layout in LAYOUTS]
    cases = corpus_cases(tmp_path / "corpus") + heldout_cases(tmp_path / "heldout") + \
        layout_cases(tmp_path / "layouts")
    assert len(cases) >= 100
    changed = []
    for case in cases:
        before = [fields.to_json() for fields in read_invoices(case.pdf)]
        after = [fields.to_json() for fields in read_invoices(case.pdf, learned)]
        if before != after:
            changed.append(case.name)
    assert changed == []


def test_a_learned_layout_never_overrides_the_invoice_xml(tmp_path: Path) -> None:
    case = corpus_cases(tmp_path / "corpus")[0]
    truth = {name: case.truth[name] for name in ("invoice_number", "issue_date", "total", "currency")}
    rows = [row for grid in page_grids(case.pdf) for row in grid]
    learned = learn_layout(LearnedPage(rows, pdf_producer(case.pdf), "dmy", None), truth, "corpus-layout")
    assert learned.template is not None, learned.reason
    (through_layout,) = read_invoices(case.pdf, [learned.template])  # the XML-free copy: read through it
    assert through_layout.layout == "corpus-layout"
    original = read_invoices(PRINTED / case.name, [learned.template])
    assert [fields.layout for fields in original] == [None]
    assert {info["source"] for info in original[0].sources.values()} == {"facturx"}


def test_a_field_whose_label_is_missing_falls_back_and_holds_the_invoice_alone(tmp_path: Path) -> None:
    template = _learned(tmp_path, "unusual")
    moved = dataclasses.replace(template, anchors=template.anchors | {"invoice_number": Anchor("Order reference")})
    invoice = series("unusual", 2)[1]
    (got,) = read_invoices(unread_invoice(tmp_path / "b.pdf", "unusual", invoice), [moved])
    assert got.layout == template.name and got.total == invoice.total and got.buyer == invoice.buyer
    assert not got.ready_to_send
    assert got.not_ready[0] == f"The invoice number was not where the layout {template.name} has it."
    assert got.sources["total"]["source"] == f"template:{template.name}"
    assert got.sources.get("invoice_number", {}).get("source", "text").startswith("text")


def test_values_the_page_does_not_print_teach_nothing(tmp_path: Path) -> None:
    invoice = series("above", 1)[0]
    pdf = unread_invoice(tmp_path / "a.pdf", "above", invoice)
    rows = [row for grid in page_grids(pdf) for row in grid]
    learned = learn_layout(LearnedPage(rows, None, "dmy", ","), {"invoice_number": "NOT-ON-PAGE-1"}, "x")
    assert learned.template is None and learned.unanchored == ("invoice_number",)
    assert learned.reason == "no printed label on the page leads to the values given"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_layout_learned_from_a_long_invoice_recognises_short_ones(tmp_path: Path, layout: str) -> None:
    """The invoice lines change from one invoice to the next: they are no part of what recognises the layout."""
    names = ["Kugellager gehärtet", "Schraubensatz Edelstahl", "Dichtungsring groß", "Montagepaste",
             "Wartung vor Ort", "Anfahrt pauschal", "Kleinmaterial", "Prüfprotokoll", "Versandkosten", "Verpackung"]
    first, *later = series(layout, 4)
    items = tuple((name, Decimal("10.00") + n) for n, name in enumerate(names))
    long = dataclasses.replace(first, items=items, total=sum((amount for _name, amount in items), Decimal(0)))
    pdf = unread_invoice(tmp_path / "long.pdf", layout, long)
    rows = [row for grid in page_grids(pdf) for row in grid]
    learned = learn_layout(LearnedPage(rows, pdf_producer(pdf), "dmy", DECIMAL[layout]), _values(long), layout)
    assert learned.template is not None
    assert not set(names) & set(learned.template.fingerprint.texts if learned.template.fingerprint else ())
    for invoice in later:
        (got,) = read_invoices(unread_invoice(tmp_path / "short.pdf", layout, invoice), [learned.template])
        assert got.layout == layout and got.ready_to_send
        assert {name: getattr(got, name) for name in _values(invoice)} == _values(invoice)


def test_an_anchor_for_a_field_the_reader_was_sure_of_never_holds_an_invoice(tmp_path: Path) -> None:
    """Learned as support only: a page without its label is left to the general reader, not held."""
    first, second = series("above", 2)
    pdf = unread_invoice(tmp_path / "a.pdf", "above", first)
    rows = [row for grid in page_grids(pdf) for row in grid]
    learned = learn_layout(LearnedPage(rows, pdf_producer(pdf), "dmy", ","), _values(first), "above", sure={"total"})
    assert learned.template is not None and not learned.template.anchors["total"].hold
    assert learned.template.anchors["invoice_number"].hold
    data = template_data(learned.template)
    assert data["fields"]["total"]["hold"] is False and "hold" not in data["fields"]["invoice_number"]
    moved = dataclasses.replace(learned.template, anchors=learned.template.anchors | {
        "total": dataclasses.replace(learned.template.anchors["total"], label="Nowhere printed")})
    (got,) = read_invoices(unread_invoice(tmp_path / "b.pdf", "above", second), [moved])
    assert got.layout == "above" and got.total == second.total and got.ready_to_send
    assert got.sources["total"]["source"].startswith("text:")
