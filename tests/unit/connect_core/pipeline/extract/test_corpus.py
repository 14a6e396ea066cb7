"""Reading the printed corpus: from the page text alone (XML removed) and from the embedded XML.

The general reader is hand-written rules (label tables and value patterns), with nothing
learned or chosen from data at run time, so "tuned without producer P" is the same reader
for every P and the leave-one-producer-out score of P is its score on P's files.  Honest
caveat: the rules were written by someone who had read the pages of all three producers,
so these per-producer numbers are not a held-out measurement; the snippet tests in
test_languages.py (layouts and languages absent from the corpus) are the closest to that.
"""

from __future__ import annotations

from collections import defaultdict

from connect_core.pipeline.extract import InvoiceFields, read_invoices
from connect_core.pipeline.extract.fields import FIELD_NAMES
from tests.support.corpus import BAR, Sample, misses, rate_table, rates, xpath_truth


def _read_stripped(corpus: list[Sample]) -> list[tuple[Sample, InvoiceFields]]:
    pairs = []
    for sample in corpus:
        invoices = read_invoices(sample.stripped)
        assert len(invoices) == 1, f"{sample.original.name} read as {[i.pages for i in invoices]}"
        pairs.append((sample, invoices[0]))
    return pairs


def test_page_text_alone_meets_the_accuracy_bar(corpus: list[Sample]) -> None:
    pairs = _read_stripped(corpus)
    by_producer: dict[str, list[tuple[Sample, InvoiceFields]]] = defaultdict(list)
    for sample, got in pairs:
        by_producer[sample.producer].append((sample, got))
    table = rate_table({"all": pairs, **{f"{name} (left out)": group for name, group in sorted(by_producer.items())}})
    print("\n" + table)

    overall = rates(pairs)
    failures = []
    for field, bar in BAR.items():
        hits, counted = overall[field]
        if hits < bar * counted:
            failures.append(f"{field}: {hits}/{counted} below {bar:.0%}\n  " + "\n  ".join(misses(pairs, field)))
    assert not failures, "\n".join(failures) + "\n" + table
    for sample, got in pairs:
        assert got.pages == (1, sample.truth.pages[1]), f"{sample.original.name}: pages {got.pages}"
        for field, info in got.sources.items():
            assert info["source"].startswith("text:page ") and 0 < info["confidence"] < 1, (field, info)


def test_embedded_xml_wins_and_matches_exactly(corpus: list[Sample]) -> None:
    """With the XML left in, every field comes from it; checked against a plain XPath reading of the same XML."""
    for sample in corpus:
        invoices = read_invoices(sample.original)
        assert len(invoices) == 1, sample.original.name
        got = invoices[0]
        assert got.pages == (1, sample.truth.pages[1])
        independent = xpath_truth(sample.original)
        for field in FIELD_NAMES:
            assert getattr(got, field) == independent[field], (sample.original.name, field)
            if independent[field] is not None:
                assert got.sources[field] == {"source": "facturx", "confidence": 1.0}, (sample.original.name, field)
        assert got.invoice_number and got.issue_date and got.total is not None, sample.original.name
