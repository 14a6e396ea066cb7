"""One file per invoice: a print job holding several invoices becomes several, continuation pages stay put."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from connect_core.pipeline.extract import invoice_ranges, read_invoices, read_text
from connect_core.pipeline.extract.reader import MAX_CONTENT_BYTES
from connect_core.pipeline.split import SplitError, split_pdf
from tests.support.corpus import PRINTED, Sample, concatenate, ground_truth

#: Three layouts, three producers, 2 + 1 + 3 pages.
THREE = (
    "intarsys__BASIC__zugferd_2p0_BASIC_Einfach.pdf",
    "FNFE-factur-x-examples__Facture_FR_BASICWL.pdf",
    "intarsys__EN16931__zugferd_2p0_EN16931_Miete.pdf",
)


def test_three_concatenated_invoices_become_three(corpus: list[Sample], tmp_path: Path) -> None:
    stripped = {sample.original.name: sample.stripped for sample in corpus}
    job = concatenate([stripped[name] for name in THREE], tmp_path / "job.pdf")
    assert not PdfReader(job).attachments

    invoices = read_invoices(job)

    assert [invoice.pages for invoice in invoices] == [(1, 2), (3, 3), (4, 6)]
    truths = [ground_truth(PRINTED / name) for name in THREE]
    assert [i.invoice_number for i in invoices] == [t.invoice_number for t in truths]
    assert [i.total for i in invoices] == [t.total for t in truths]
    assert [i.issue_date for i in invoices] == [t.issue_date for t in truths]
    # Sources name the page of the concatenated job, not of the original file.
    assert invoices[2].sources["invoice_number"]["source"] == "text:page 4"

    files = split_pdf(job, [invoice.pages for invoice in invoices], tmp_path / "split")

    assert [len(PdfReader(f).pages) for f in files] == [2, 1, 3]
    assert [read_invoices(f)[0].invoice_number for f in files] == [t.invoice_number for t in truths]
    assert read_text(files[2]) == read_text(job)[3:6]
    assert not list((tmp_path / "split").glob(".*"))  # no temporary file left behind


def test_continuation_pages_with_other_references_stay_with_their_invoice() -> None:
    pages = [
        "Muster GmbH\nRechnung Nr. 2024-001 vom 05.03.2024\nBestellnummer: B-77",
        "Seite 2\nLieferschein Nr. LS-8812\nAuftragsnummer 4711\nKundennummer: K-555\nOrder no. 12\nPO 99812",
        "Seite 3\nÜbertrag 1.234,00",
        "Muster GmbH\nRechnung Nr. 2024-002 vom 06.03.2024",
        "Invoice No. INV-9\nYour order no. 55",
        "Page 2\nDelivery note no. DN-1\nCustomer no. C-2",
    ]
    assert invoice_ranges(pages) == [(1, 3), (4, 4), (5, 6)]


def test_pages_before_the_first_number_and_repeated_numbers() -> None:
    pages = ["Deckblatt\nBitte prüfen", "Rechnung Nr. 7\n", "Rechnung Nr. 7\nSeite 2", "Rechnung Nr. 8", ""]
    assert invoice_ranges(pages) == [(1, 3), (4, 5)]


def test_a_factur_x_pdf_is_one_invoice_even_when_pages_differ(corpus: list[Sample]) -> None:
    multi_page = next(s for s in corpus if s.original.name.endswith("EN16931_Miete.pdf"))
    invoices = read_invoices(multi_page.original)
    assert len(invoices) == 1 and invoices[0].pages == (1, 3)


def test_split_refuses_ranges_outside_the_document(tmp_path: Path) -> None:
    pdf = PRINTED / THREE[0]
    with pytest.raises(SplitError, match="outside pages 1-2"):
        split_pdf(pdf, [(1, 1), (2, 3)], tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    with pytest.raises(SplitError, match="not a readable PDF"):
        split_pdf(Path(__file__), [(1, 1)], tmp_path / "out")


def test_a_page_too_large_to_read_is_skipped_not_stalled(corpus: list[Sample], tmp_path: Path) -> None:
    """Per-page work is bounded: a page whose content stream exceeds the limit is treated as text-less."""
    sample = next(s for s in corpus if s.original.name.endswith("Facture_FR_BASICWL.pdf"))
    with pikepdf.open(sample.stripped) as pdf:
        pdf.add_blank_page()
        operators = b"BT /F1 9 Tf 10 10 Td (Rechnung Nr. 999) Tj ET\n"
        pdf.pages[-1].Contents = pdf.make_stream(operators * (MAX_CONTENT_BYTES // len(operators) + 1))
        pdf.save(tmp_path / "huge.pdf", compress_streams=False)
    texts = read_text(tmp_path / "huge.pdf")
    assert texts[1] == "" and "FA-2017-0010" in texts[0]
    assert [(i.invoice_number, i.pages) for i in read_invoices(tmp_path / "huge.pdf")] == [("FA-2017-0010", (1, 2))]
