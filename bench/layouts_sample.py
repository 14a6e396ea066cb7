"""Print the 55 corpus e-invoices through the test layouts into a folder, to look at them.

Run ``python bench/layouts_sample.py OUTDIR``: it renders every e-invoice of
``tests/data/corpus/einvoices`` with ``tests/support/layouts.render_all`` into OUTDIR, then prints
a Markdown table of how many PDFs each layout × language got, the layouts' credit-note choice,
and the time it took.  (Not a ``bench_*.py`` script: ``python -m bench`` does not run it.)
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.layouts import LANGUAGES, LAYOUTS, render_all  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python bench/layouts_sample.py OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    start = time.perf_counter()
    rendered = render_all(out)
    seconds = time.perf_counter() - start

    counts = Counter((item.layout, item.language) for item in rendered)
    languages = list(LANGUAGES)
    print(f"{len(rendered)} PDFs in {out} ({seconds:.2f} s)\n")
    print("| layout | " + " | ".join(languages) + " | all | credit note |")
    print("|---|" + "---:|" * (len(languages) + 1) + "---|")
    for name, layout in LAYOUTS.items():
        cells = [str(counts[name, code] or "") for code in languages]
        sign = "negative" if layout.credit_negative else "positive + title"
        print(f"| {name} | " + " | ".join(cells) + f" | {sum(counts[name, c] for c in languages)} | {sign} |")
    totals = [str(sum(counts[name, code] for name in LAYOUTS)) for code in languages]
    print("| all | " + " | ".join(totals) + f" | {len(rendered)} | |\n")
    for name, layout in LAYOUTS.items():
        print(f"- {name}: {layout.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
