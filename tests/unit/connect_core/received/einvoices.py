"""Received e-invoices to test with: the 55 corpus files, and a corpus invoice grown to many lines."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.harness import DATA

CORPUS = DATA / "corpus" / "einvoices"
EINFACH_UBL = CORPUS / "XML-Rechnung__UBL__EN16931_Einfach.ubl.xml"


def corpus_files() -> list[Path]:
    """Every corpus e-invoice (UBL and CII), in name order."""
    files = sorted(CORPUS.glob("*.xml"))
    assert len(files) == 55, f"the corpus should hold 55 e-invoices, not {len(files)}"
    return files


def with_lines(count: int, source: Path = EINFACH_UBL) -> bytes:
    """``source`` (a UBL invoice) with its InvoiceLines repeated to ``count`` lines, IDs 1..count, each line's
    name ending in "(position N)" so every one can be found in a rendering."""
    text = source.read_text("utf-8")
    lines = re.findall(r"<cac:InvoiceLine>.*?</cac:InvoiceLine>", text, re.S)
    start, end = text.index(lines[0]), text.rindex(lines[-1]) + len(lines[-1])
    copies = []
    for number in range(1, count + 1):
        line = lines[(number - 1) % len(lines)]
        line = re.sub(r"<cbc:ID>[^<]*</cbc:ID>", f"<cbc:ID>{number}</cbc:ID>", line, count=1)
        copies.append(re.sub(r"<cbc:Name>([^<]*)</cbc:Name>", rf"<cbc:Name>\1 (position {number})</cbc:Name>", line,
                             count=1))
    return (text[:start] + "\n  ".join(copies) + text[end:]).encode("utf-8")
