"""One file per invoice: cut a PDF into page ranges, each written durably as its own PDF."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from connect_core.errors import ConnectError
from connect_core.fsutil import durable_file, fsync_dir


class SplitError(ConnectError):
    """A PDF cannot be split as asked (unreadable, or a page range outside the document)."""


def split_pdf(pdf: Path, ranges: list[tuple[int, int]], out_dir: Path) -> list[Path]:
    """Write one PDF per ``(first, last)`` page range (1-based, inclusive) of ``pdf`` into ``out_dir``.

    Returns the paths in the order of ``ranges``, named ``<stem>_p<first>-<last>.pdf``.  Each file
    is complete or absent (:func:`~connect_core.fsutil.durable_file`); the folder is fsynced once for all.
    """
    try:
        reader = PdfReader(pdf)
        count = len(reader.pages)
    except (OSError, PyPdfError, ValueError) as error:
        raise SplitError(f"{pdf}: not a readable PDF: {error}") from error
    for first, last in ranges:
        if not 1 <= first <= last <= count:
            raise SplitError(f"{pdf}: page range {first}-{last} is outside pages 1-{count}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for first, last in ranges:
        writer = PdfWriter()
        for index in range(first - 1, last):
            writer.add_page(reader.pages[index])
        if reader.metadata:
            writer.add_metadata({key: str(value) for key, value in reader.metadata.items()})
        target = out_dir / f"{pdf.stem}_p{first}-{last}.pdf"
        with durable_file(target, sync_folder=False) as handle:
            writer.write(handle)
        written.append(target)
    fsync_dir(out_dir)
    return written

