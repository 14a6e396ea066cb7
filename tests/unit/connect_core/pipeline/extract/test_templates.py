"""Layout templates: a matching template makes its layout exact and leaves every other invoice alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from connect_core.pipeline.extract import ExtractError, load_templates, read_invoices
from connect_core.pipeline.extract.fields import FIELD_NAMES
from tests.support.corpus import Sample

# The French layout of the FNFE examples (Facture/Avoir from "Au bon moulin").  A credit
# note's total is printed negative; the template reads it without the sign, as EN 16931 does.
# Written against the text `pagero-connect extract --text` shows: a row's cells joined by " | ".
FNFE_FRENCH = r"""
name: fnfe-au-bon-moulin
keywords: ["Au bon moulin SARL", "Date de facture"]
fields:
  invoice_number: '^(?:Facture|Avoir) (\S+)$'
  issue_date: '^Date de facture \| (\S+)'
  due_date: '^Date d''échéance \| (\S+)'
  total: '(?:^|\| )Total TTC \| -?([\d ,.]+) €$'
  currency: '(?:^|\| )Total TTC .*(€)$'
  seller: '^(Au bon moulin) SARL'
  buyer: '^Adresse de livraison\n([^|\n]+?)(?: \||$)'
date_formats: ["%d/%m/%Y"]
decimal_separator: ","
"""


def test_a_template_makes_its_layout_exact_and_changes_nothing_else(corpus: list[Sample], tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "fnfe.yaml").write_text(FNFE_FRENCH, encoding="utf-8")
    templates = load_templates(folder)

    matched = 0
    for sample in corpus:
        plain = read_invoices(sample.stripped)
        templated = read_invoices(sample.stripped, templates)
        french_fnfe = sample.producer == "FNFE-factur-x-examples" and "_UE_" not in sample.original.name
        if not french_fnfe:
            assert [i.to_json() for i in templated] == [i.to_json() for i in plain], sample.original.name
            continue
        matched += 1
        (got,) = templated
        for field in FIELD_NAMES:
            want = getattr(sample.truth, field)
            if want is None:  # the MINIMUM profile's XML has no due date although the page prints one
                continue
            assert getattr(got, field) == want, (sample.original.name, field)
            want_source = {"source": "template:fnfe-au-bon-moulin", "confidence": 0.95}
            assert got.sources[field] == want_source, (field, sample.original.name)
    assert matched == 5


def test_a_field_the_template_misses_falls_back_to_the_reader(corpus: list[Sample], tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "name: numbers-only\nkeywords: [Au bon moulin]\nfields:\n  invoice_number: 'nothing like this (\\d+)'\n",
        encoding="utf-8")
    sample = next(s for s in corpus if s.original.name.endswith("Facture_FR_BASICWL.pdf"))
    (got,) = read_invoices(sample.stripped, load_templates(tmp_path))
    assert got.invoice_number == "FA-2017-0010" and got.sources["invoice_number"]["source"] == "text:page 1"


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\nkeywords: [a]\nfields:\n  total: 'Total \\d+'\n", "fields.total must have exactly one group"),
    ("name: x\nkeywords: [a]\nfields:\n  amount: '(\\d+)'\n", "fields.amount is not one of"),
    ("name: x\nkeywords: []\nfields:\n  total: '(\\d+)'\n", "'keywords' must be a non-empty list"),
    ("name: x\nkeywords: [a]\nfields:\n  total: '(\\d+'\n", "fields.total is not a valid regex"),
    ("name: x\nkeywords: [a]\nfields: {total: '(\\d+)'}\ndecimal_separator: ';'\n", "'decimal_separator'"),
    ("name: x\n  keywords: [a]\n", "cannot read the template"),
])
def test_a_broken_template_is_named_with_its_problem(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ExtractError, match="broken.yaml") as error:
        load_templates(tmp_path)
    assert message in str(error.value)
