"""Which files may go with an invoice: decided on content, each refusal naming its rule."""

from __future__ import annotations

import pytest

from connect_core.invoices.attachment_rules import MAX_BYTES, AttachmentRefused, check, sniff, tiff_dpi
from tests.support.attachments import docx_bytes, pdf_bytes, pdf_of_size, tiff_bytes


def refused(data: bytes, name: str, channel: str | None) -> AttachmentRefused:
    with pytest.raises(AttachmentRefused) as caught:
        check(data, name, channel)
    return caught.value


def test_five_megabytes_exactly_pass_and_one_byte_more_fails() -> None:
    exact = pdf_of_size(MAX_BYTES)
    assert len(exact) == 5 * 1024 * 1024
    assert check(exact, "lieferschein.pdf", "EPrint").kind == "pdf"
    over = pdf_of_size(MAX_BYTES + 1)
    problem = refused(over, "lieferschein.pdf", "EPrint")
    assert problem.rule == "size" and "5,242,881 bytes" in problem.message and "at most 5,242,880" in problem.message


def test_a_tiff_for_e_print_must_be_300_dpi() -> None:
    assert tiff_dpi(tiff_bytes(200)) == 200 and tiff_dpi(tiff_bytes(300, pages=2)) == 300
    problem = refused(tiff_bytes(200), "scan.tif", "EPrint")
    assert problem.rule == "tiff-dpi" and "200 dpi" in problem.message and "300 dpi" in problem.message
    assert check(tiff_bytes(300), "scan.tif", "EPrint").content_type == "image/tiff"
    assert check(tiff_bytes(300, pages=3), "scan.tiff", "EPrint").kind == "tiff"


def test_original_print_takes_pdf_only() -> None:
    assert check(pdf_bytes(), "a.pdf", "OriginalPrint").kind == "pdf"
    problem = refused(tiff_bytes(300), "scan.tif", "OriginalPrint")
    assert problem.rule == "channel" and "PDF attachments only" in problem.message


def test_e_print_refuses_what_is_neither_pdf_nor_tiff() -> None:
    problem = refused(docx_bytes(), "zeit.docx", "EPrint")
    assert problem.rule == "channel" and "a Word document" in problem.message and "PDF or TIFF" in problem.message


def test_an_e_invoice_takes_a_word_document_and_recommends_pdf() -> None:
    verdict = check(docx_bytes(), "zeitnachweis.docx", "Electronic")
    assert verdict.kind == "docx" and "PDF is recommended" in verdict.advice
    assert check(pdf_bytes(), "a.pdf", "Electronic").advice == ""
    assert check(b"Menge;Preis\n1;2,50\n", "liste.csv", "Electronic").kind == "text"


def test_a_file_named_pdf_that_is_not_a_pdf_is_refused() -> None:
    problem = refused(b"Dear customer,\nthis is not a PDF.\n", "lieferschein.pdf", "Electronic")
    assert problem.rule == "name" and "named like a PDF" in problem.message and "a text file" in problem.message
    cut = pdf_bytes()[:200]  # starts like a PDF but is cut short
    assert refused(cut, "lieferschein.pdf", "Electronic").rule == "damaged"


def test_content_the_service_does_not_take_is_refused_whatever_its_name() -> None:
    program = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 4
    assert sniff(program) is None
    problem = refused(program, "invoice-details.pdf", "Electronic")
    assert problem.rule == "type" and "save it as a PDF" in problem.message
    assert refused(b"", "empty.pdf", "Electronic").rule == "empty"


@pytest.mark.parametrize(("data", "kind"), [
    (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "jpeg"), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "png"),
    (b"GIF89a" + b"\x00" * 40, "gif"), (b"%!PS-Adobe-3.0\n", "postscript"), (b"{\\rtf1\\ansi hello}", "rtf"),
    (b'<?xml version="1.0"?><Invoice/>', "xml"), (b"<!DOCTYPE html><html></html>", "html"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "svg"),
    (b"From: a@b.example\nTo: c@d.example\nSubject: order\n\nhello", "eml"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "office97"),
])
def test_each_accepted_kind_is_known_by_its_content(data: bytes, kind: str) -> None:
    assert sniff(data) == kind
