"""Scoring the invoice reader on three sets, per producer, and the rate at which a *ready* invoice is wrong.

The sets (all read from page text only, no templates, embedded XML stripped):

- ``corpus``: the 42 printed Factur-X/ZUGFeRD PDFs (truth: their own XML); the reader's rules
  were written after reading these pages, so they are not held out.
- ``heldout``: public PDFs from producers the reader was not written for (tests/data/heldout),
  split into machine-made (ERP/accounting/invoicing libraries) and real-world bills.
- ``layouts``: the 55 e-invoices printed through ten reportlab layouts in eleven languages
  (tests/support/layouts.py): a check of generality, never a target to tune to.

Leave-one-producer-out: the reader has no learned or data-chosen parts (label tables and rules
are fixed code and data), so the reader "trained without producer P" is the same reader for every
P, and P's row is its score on P's files.  The honest caveat is the author's eyes: a rule written
after looking at P's page is tuning.  The held-out set and the layouts are where that is checked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from connect_core.pipeline.extract import InvoiceFields, read_invoices
from tests.support.corpus import corpus_files, ground_truth, strip_xml
from tests.support.heldout import heldout_samples

#: The fields held to the acceptance bar, and the ones a ready invoice must have right.
KEY_FIELDS = ("invoice_number", "issue_date", "total")
READY_FIELDS = ("invoice_number", "issue_date", "total", "currency")
OTHER_FIELDS = ("due_date", "currency", "seller", "buyer")


@dataclass(frozen=True)
class Case:
    """One invoice to read: the XML-free PDF, where it comes from, and what it says."""

    name: str
    set: str
    producer: str
    group: str
    pdf: Path
    truth: dict[str, Any]


@dataclass(frozen=True)
class Result:
    case: Case
    got: InvoiceFields | None
    """The first invoice read (``None`` when nothing was read)."""
    count: int

    def right(self, field: str) -> bool | None:
        """Whether ``field`` was read right; ``None`` when the truth has no value for it."""
        want = self.case.truth.get(field)
        if want is None:
            return None
        got = getattr(self.got, field) if self.got is not None else None
        if field in ("seller", "buyer"):
            return isinstance(got, str) and (got.casefold() in want.casefold() or want.casefold() in got.casefold())
        if field == "total" and isinstance(got, Decimal) and self.got is not None and self.got.credit_note:
            return abs(got) == abs(want)  # a credit note's sign is in its title; the page may print either
        return bool(got == want)

    @property
    def ready(self) -> bool:
        return self.got is not None and self.count == 1 and self.got.ready_to_send

    @property
    def ready_wrong(self) -> list[str]:
        """The fields a *ready* invoice has wrong (empty when not ready or all right)."""
        if not self.ready:
            return []
        return [field for field in READY_FIELDS if self.right(field) is False]


def corpus_cases(folder: Path) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for pdf in corpus_files():
        truth = ground_truth(pdf)
        producer = pdf.name.split("__")[0]
        cases.append(Case(pdf.name, "corpus", producer, "corpus", strip_xml(pdf, folder / pdf.name),
                          {name: getattr(truth, name) for name in READY_FIELDS + OTHER_FIELDS}))
    return cases


def heldout_cases(folder: Path) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Case(sample.name, "heldout", sample.producer, sample.kind,
                 strip_xml(sample.path, folder / sample.name), sample.truth) for sample in heldout_samples()]


def layout_cases(folder: Path, every_layout: bool = False) -> list[Case]:
    """The 55 e-invoices printed once each (or, with ``every_layout``, through every layout)."""
    from tests.support import layouts

    folder.mkdir(parents=True, exist_ok=True)
    if every_layout:
        rendered = []
        for index, path in enumerate(layouts.einvoice_files()):
            for layout in layouts.LAYOUTS.values():
                language = layout.languages[index % len(layout.languages)]
                rendered.append(layouts.render(path, layout, language,
                                               folder / f"{path.stem}.{layout.name}.{language}.pdf"))
    else:
        rendered = layouts.render_all(folder)
    return [Case(item.path.name, "layouts", item.layout, item.language, item.path, item.truth) for item in rendered]


def read_all(cases: Sequence[Case], read: Callable[[Path], list[InvoiceFields]] = read_invoices) -> list[Result]:
    results = []
    for case in cases:
        invoices = read(case.pdf)
        results.append(Result(case, invoices[0] if invoices else None, len(invoices)))
    return results


def _cell(results: Sequence[Result], field: str) -> str:
    marks = [result.right(field) for result in results]
    counted = [mark for mark in marks if mark is not None]
    if not counted:
        return "–"
    return f"{sum(counted)}/{len(counted)} ({100 * sum(counted) / len(counted):.0f}%)"


def rate(results: Sequence[Result], field: str) -> float:
    counted = [mark for mark in (result.right(field) for result in results) if mark is not None]
    return sum(counted) / len(counted) if counted else 1.0


def table(groups: dict[str, Sequence[Result]]) -> str:
    """A Markdown table: per group, each field's hits and the ready count with how many of those are wrong."""
    fields = KEY_FIELDS + OTHER_FIELDS
    rows = ["| files | n | " + " | ".join(fields) + " | ready | ready but wrong |",
            "|---|---:|" + "---:|" * (len(fields) + 2)]
    for name, results in groups.items():
        ready = [result for result in results if result.ready]
        wrong = [result for result in ready if result.ready_wrong]
        cells = [_cell(results, field) for field in fields]
        rows.append(f"| {name} | {len(results)} | " + " | ".join(cells) + f" | {len(ready)} | {len(wrong)} |")
    return "\n".join(rows)


def by(results: Sequence[Result], key: Callable[[Result], str]) -> dict[str, list[Result]]:
    groups: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        groups[key(result)].append(result)
    return dict(sorted(groups.items()))


def report(results: Sequence[Result]) -> str:
    """All sets: one row per set and group, then one per producer (leave-one-producer-out rows)."""
    sections = []
    for set_name, members in by(results, lambda r: r.case.set).items():
        groups: dict[str, Sequence[Result]] = {f"{set_name}: all": members}
        if set_name == "heldout":
            groups.update({f"heldout: {kind}": group for kind, group in by(members, lambda r: r.case.group).items()})
        groups.update({f"{result_producer} (left out)": group
                       for result_producer, group in by(members, lambda r: r.case.producer).items()})
        sections.append(table(groups))
    return "\n\n".join(sections)


def misses(results: Sequence[Result], field: str) -> list[str]:
    lines = []
    for result in results:
        if result.right(field) is False:
            got = getattr(result.got, field) if result.got is not None else None
            lines.append(f"{result.case.name}: read {got!r}, truth {result.case.truth.get(field)!r}")
    return lines


def ready_wrong(results: Sequence[Result]) -> list[str]:
    return [f"{result.case.name}: ready but {', '.join(result.ready_wrong)} wrong"
            for result in results if result.ready_wrong]
