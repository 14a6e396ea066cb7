"""``pagero-connect extract``: what a person or a script gets on stdout."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import cli
from tests.support.corpus import Sample, concatenate

KEYS = {"invoice_number", "issue_date", "due_date", "currency", "total", "seller", "buyer", "pages", "sources",
        "credit_note", "buyer_ids", "ready_to_send", "not_ready", "layout"}


def test_extract_json_prints_only_a_list_of_invoices(corpus: list[Sample], data_root: Path) -> None:
    by_name = {sample.original.name: sample for sample in corpus}
    fnfe = by_name["FNFE-factur-x-examples__Facture_FR_BASICWL.pdf"]
    mustang = by_name["Mustangproject__MustangGnuaccountingBeispielRE-20190610_507.pdf"]
    job = concatenate([fnfe.stripped, mustang.stripped], data_root / "job.pdf")

    result = cli(data_root / "data", "extract", str(job), "--json")

    invoices = json.loads(result.stdout)  # nothing but the JSON list on stdout
    assert isinstance(invoices, list) and len(invoices) == 2
    assert all(set(invoice) == KEYS for invoice in invoices)
    first, second = invoices
    assert first["invoice_number"] == "FA-2017-0010" and first["pages"] == [1, 1]
    assert first["issue_date"] == "2017-11-13" and first["due_date"] == "2017-12-13"
    assert first["total"] == "671.15" and first["currency"] == "EUR"
    assert first["sources"]["total"]["source"] == "text:page 1"
    assert second["invoice_number"] == "RE-20190610/507" and second["pages"] == [2, 2]
    assert second["total"] == "571.04" and second["due_date"] == "2019-07-01"


def test_extract_json_reads_factur_x_and_uses_the_data_dir_templates(corpus: list[Sample], data_root: Path) -> None:
    sample = next(s for s in corpus if s.original.name.endswith("EN16931_Miete.pdf"))
    (invoice,) = json.loads(cli(data_root / "data", "extract", str(sample.original), "--json").stdout)
    assert invoice["invoice_number"] == "9314110911/00/M/00/N" and invoice["total"] == "340.96"
    assert invoice["pages"] == [1, 3] and invoice["sources"]["total"] == {"source": "facturx", "confidence": 1.0}
    assert invoice["due_date"] is None

    templates = data_root / "data" / "templates"
    templates.mkdir(parents=True)
    rule = r"'Käufer/Leistungsempfänger:\n(?:.*:.*\n)*(.+)'"  # the first line below without a colon
    (templates / "rental.yaml").write_text(
        f"name: rental\nkeywords: [MUSTER-Autovermietung]\nfields:\n  buyer: {rule}\n", encoding="utf-8")
    (invoice,) = json.loads(cli(data_root / "data", "extract", str(sample.stripped), "--json").stdout)
    assert invoice["buyer"] == "MUSTER-KUNDE GMBH"
    assert invoice["sources"]["buyer"]["source"] == "template:rental"


def test_extract_of_a_file_that_is_no_pdf_is_a_clear_error(data_root: Path) -> None:
    junk = data_root / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\nthis is not a PDF")  # plain text would be converted, as import does
    result = cli(data_root / "data", "extract", str(junk), "--json", check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert "the PDF is damaged beyond repair" in result.stderr
