"""One correction teaches a layout: how well the next invoices of that layout are read, and at what cost.

For each of the ten own layouts (tests/support/layouts.py, each in its first language and one
fixed date/number style, as one office's ERP prints), the 55 e-invoices are printed; the first
one with a due date is "corrected" (its true values given to the learner) and the other 54 are
read through what was learned.  The peer is the general reader on the same 54 pages.  Reported
per layout: fields read exactly (number, issue date, due date, total, currency, buyer), ready,
ready and wrong (must stay 0), and how often a layout learned on one layout was used on another
(must stay 0).  The same for the held-out producers that have several invoices (belegradar,
bulkinvoicer: one correction, the others read).  Timing: learning once, and one read with the
learned layouts beside the general reader.

    python bench/bench_learning.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connect_core.pipeline.extract import page_grids, pdf_producer, read_invoices  # noqa: E402
from connect_core.pipeline.extract.decide import READY  # noqa: E402
from connect_core.pipeline.extract.fields import InvoiceFields  # noqa: E402
from connect_core.pipeline.extract.learn import LearnedPage, learn_layout  # noqa: E402
from connect_core.pipeline.extract.reader import conventions, lines_of  # noqa: E402
from connect_core.pipeline.extract.templates import Template  # noqa: E402
from tests.support import layouts  # noqa: E402
from tests.support.corpus import strip_xml  # noqa: E402
from tests.support.heldout import heldout_samples  # noqa: E402

FIELDS = ("invoice_number", "issue_date", "due_date", "total", "currency", "buyer")
KEY = ("invoice_number", "issue_date", "total", "currency")


def learn(pdf: Path, truth: dict[str, Any], name: str) -> Template | None:
    grids = page_grids(pdf)
    rows = [row for grid in grids for row in grid]
    order, decimal = conventions(lines_of([(1, "\n".join(cell.text for row in rows for cell in row))]))
    # As a correction does: what the general reader was sure of and had right is learned as support only.
    read = read_invoices(pdf)
    general = read[0] if len(read) == 1 else None
    values = {field: truth.get(field) for field in FIELDS}
    sure = {field for field in FIELDS if general is not None and getattr(general, field) == truth.get(field)
            and general.sources.get(field, {}).get("confidence", 0) >= READY}
    return learn_layout(LearnedPage(rows, pdf_producer(pdf), order, decimal), values, name, sure=sure).template


def exact(got: InvoiceFields | None, truth: dict[str, Any], field: str) -> bool | None:
    want = truth.get(field)
    if want is None:
        return None
    value = getattr(got, field) if got is not None else None
    if field == "buyer":
        return isinstance(value, str) and value.casefold() == str(want).casefold()
    return bool(value == want)


def score(cases: Sequence[tuple[Path, dict[str, Any]]], templates: list[Template]) -> dict[str, Any]:
    right = {field: 0 for field in FIELDS}
    asked = {field: 0 for field in FIELDS}
    ready = wrong = through = 0
    for pdf, truth in cases:
        found = read_invoices(pdf, templates)
        got = found[0] if len(found) == 1 else None
        for field in FIELDS:
            ok = exact(got, truth, field)
            if ok is not None:
                asked[field] += 1
                right[field] += ok
        if got is not None and got.ready_to_send:
            ready += 1
            bad = [field for field in KEY if exact(got, truth, field) is False]
            wrong += bool(bad)
            if bad and "-v" in sys.argv:
                print(f"    ready & wrong: {pdf.name} {[(f, getattr(got, f), truth.get(f)) for f in bad]}")
        through += got is not None and got.layout is not None
    return {"right": right, "asked": asked, "ready": ready, "wrong": wrong, "through": through, "n": len(cases)}


def cells(result: dict[str, Any]) -> str:
    parts = [f"{result['right'][f]}/{result['asked'][f]}" for f in FIELDS]
    return " | ".join(parts) + f" | {result['ready']}/{result['n']} | {result['wrong']}"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-learning-"))
    files = layouts.einvoice_files()
    rendered: dict[str, list[layouts.Rendered]] = {}
    for layout in layouts.LAYOUTS.values():
        language = layout.languages[0]
        rendered[layout.name] = [layouts.render(path, layout, language, work / layout.name / f"{path.stem}.pdf",
                                                variant=0) for path in files]
    learned: dict[str, Template] = {}
    learn_ms = []
    for name, items in rendered.items():
        teacher = next(item for item in items if item.truth.get("due_date") is not None)
        start = time.perf_counter()
        template = learn(teacher.path, teacher.truth, name)
        learn_ms.append((time.perf_counter() - start) * 1000)
        if template is not None:
            learned[name] = template
    header = ("| layout | number | issue date | due date | total | currency | buyer | ready | ready & wrong |\n"
              "|---|---|---|---|---|---|---|---|---|")
    print("### One correction, then the other 54 invoices of the layout\n")
    print(f"Each cell: read exactly / printed.  *general*: the reader alone; *learned*: through the layout "
          f"learned from one corrected invoice.  Layouts learned: {len(learned)} of {len(rendered)}.\n")
    print(header)
    totals = {"general": [], "learned": []}
    for name, items in rendered.items():
        teacher = next(item for item in items if item.truth.get("due_date") is not None)
        rest = [(item.path, item.truth) for item in items if item is not teacher]
        general = score(rest, [])
        through = score(rest, [learned[name]] if name in learned else [])
        totals["general"].append(general)
        totals["learned"].append(through)
        print(f"| {name} general | {cells(general)} |")
        print(f"| {name} learned | {cells(through)} |")
    for kind, results in totals.items():
        summed = {"right": {f: sum(r["right"][f] for r in results) for f in FIELDS},
                  "asked": {f: sum(r["asked"][f] for r in results) for f in FIELDS},
                  "ready": sum(r["ready"] for r in results), "wrong": sum(r["wrong"] for r in results),
                  "n": sum(r["n"] for r in results)}
        print(f"| **all, {kind}** | {cells(summed)} |")
    # A layout learned on one layout must not read another one.
    crossed = others = cross_wrong = cross_ready = 0
    for name, items in rendered.items():
        foreign = [template for other, template in learned.items() if other != name]
        for item in items:
            others += 1
            found = read_invoices(item.path, foreign)
            got = found[0] if len(found) == 1 else None
            crossed += got is not None and got.layout is not None
            if got is not None and got.ready_to_send:
                cross_ready += 1
                cross_wrong += any(exact(got, item.truth, field) is False for field in KEY)
    print(f"\nInvoices of one layout read with the nine layouts learned on the others: {crossed} of {others} "
          f"were read through one of them; {cross_ready} ready, {cross_wrong} of those wrong.\n")

    # Held-out producers with several invoices: one corrected, the others read.
    print("### Held-out producers with several invoices (one corrected, the others read)\n")
    print(header)
    samples = heldout_samples()
    for producer in ("belegradar", "bulkinvoicer"):
        group = [sample for sample in samples if sample.producer == producer]
        stripped = [(strip_xml(sample.path, work / sample.name), sample.truth) for sample in group]
        teacher = next((pdf, truth) for pdf, truth in stripped if truth.get("due_date") is not None)
        template = learn(teacher[0], teacher[1], producer)
        rest = [case for case in stripped if case is not teacher]
        print(f"| {producer} general | {cells(score(rest, []))} |")
        print(f"| {producer} learned | {cells(score(rest, [template] if template else []))} |")

    # Cost: learning once; reading one page with the ten learned layouts beside the general reader.
    pages = [items[1].path for items in rendered.values()]
    plain, beside = [], []
    every = list(learned.values())
    for _ in range(5):
        for pdf in pages:
            start = time.perf_counter()
            read_invoices(pdf, [])
            plain.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            read_invoices(pdf, every)
            beside.append((time.perf_counter() - start) * 1000)
    p50_plain, p50_beside = statistics.median(plain), statistics.median(beside)
    print("\n### Cost\n")
    print("| what | p50 ms | ratio |\n|---|---|---|")
    print(f"| read one page, general reader only (peer) | {p50_plain:.1f} | 1.00 |")
    print(f"| read one page with {len(every)} learned layouts | {p50_beside:.1f} | {p50_beside / p50_plain:.2f} |")
    print(f"| learn one layout (median of {len(learn_ms)}) | {statistics.median(learn_ms):.1f} | — |")


if __name__ == "__main__":
    main()
