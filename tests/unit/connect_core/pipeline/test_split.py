"""One file per invoice: a print job holding several invoices becomes several, continuation pages stay put."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from connect_core.pipeline.extract import invoice_ranges, read_invoices, read_text
from connect_core.pipeline.split import SplitError, split_pdf
from printer_backend.limits import Limits
from printer_backend.pdftext import MAX_PAGE_CHARS
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


def _huge(sample: Sample, tmp_path: Path) -> Path:
    """The invoice and a second, very tall page of 2,000 lines of 100 characters each (200,000 in all)."""
    with pikepdf.open(sample.stripped) as pdf:
        pdf.add_blank_page(page_size=(612, 14400))
        helvetica = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                       BaseFont=pikepdf.Name.Helvetica)
        pdf.pages[-1].Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica))
        line = b"(Rechnung Nr. 999 " + b"x" * 82 + b") '\n"
        pdf.pages[-1].Contents = pdf.make_stream(b"BT /F1 5 Tf 7 TL 10 14395 Td\n" + line * 2000 + b"ET\n")
        pdf.save(tmp_path / "huge.pdf", compress_streams=False)
    return tmp_path / "huge.pdf"


def test_a_huge_page_is_read_only_up_to_the_character_limit(corpus: list[Sample], tmp_path: Path) -> None:
    sample = next(s for s in corpus if s.original.name.endswith("Facture_FR_BASICWL.pdf"))
    texts = read_text(_huge(sample, tmp_path))
    assert "FA-2017-0010" in texts[0] and "Rechnung Nr. 999" in texts[1]
    assert len(texts[1]) <= MAX_PAGE_CHARS


def test_a_page_reader_stopped_by_its_time_limit_leaves_the_pages_for_a_person(corpus: list[Sample],
                                                                              tmp_path: Path) -> None:
    sample = next(s for s in corpus if s.original.name.endswith("Facture_FR_BASICWL.pdf"))
    huge = _huge(sample, tmp_path)
    stopped = Limits(wall_seconds=0.001)
    assert read_text(huge, stopped) == ["", ""]
    (invoice,) = read_invoices(huge, limits=stopped)
    assert invoice.pages == (1, 2) and invoice.invoice_number is None and not invoice.ready_to_send


def test_a_scanned_job_of_two_invoices_splits_and_each_piece_keeps_its_recognised_text(
        corpus: list[Sample], tmp_path: Path) -> None:
    from printer_backend.convert import OcrSettings, convert
    from printer_backend.ocr import recognised_pages
    from tests.support import scans

    names = ("Mustangproject__MustangGnuaccountingBeispielRE-20190610_507.pdf",
             "FNFE-factur-x-examples__Facture_FR_BASICWL.pdf")
    stripped = {sample.original.name: sample.stripped for sample in corpus}
    originals = [read_invoices(stripped[name])[0] for name in names]
    job = concatenate([stripped[name] for name in names], tmp_path / "job.pdf")
    raster = scans.pwg(job, tmp_path / "job.pwg")
    made = convert(raster, tmp_path / "document.pdf", ocr=OcrSettings(languages=("deu", "fra", "eng")))
    assert [page.page for page in made.recognised if page.words] == [1, 2]

    found = read_invoices(tmp_path / "document.pdf")
    assert [(f.invoice_number, f.total) for f in found] == [(o.invoice_number, o.total) for o in originals]
    pieces = split_pdf(tmp_path / "document.pdf", [f.pages for f in found], tmp_path / "pieces")
    for piece, original in zip(pieces, originals, strict=True):
        assert sorted(recognised_pages(PdfReader(piece))) == [1]
        (again,) = read_invoices(piece)  # what a correction or a re-read sees: the recognised text, kept
        assert (again.invoice_number, again.total) == (original.invoice_number, original.total)
        assert again.sources["invoice_number"]["source"] == "ocr:page 1"
