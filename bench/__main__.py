"""Run the benchmarks: ``python -m bench`` runs every ``bench/bench_*.py``; ``python -m bench ipp intake`` runs those.

Each script runs as its own process (``python bench/bench_X.py``) so that one
benchmark's servers, threads and imports never colour another's numbers.  Their
Markdown goes to stdout as it comes; the exit status is non-zero if any failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts() -> dict[str, Path]:
    """Every benchmark script, by its short name (``bench_ipp.py`` → ``ipp``), in name order."""
    return {path.stem.removeprefix("bench_"): path for path in sorted(HERE.glob("bench_*.py"))}


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all when none are named); returns the exit status."""
    known = scripts()
    unknown = [name for name in argv if name not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    failed = []
    for name in argv or list(known):
        print(f"<!-- bench {name} -->", flush=True)
        result = subprocess.run([sys.executable, str(known[name])], cwd=HERE.parent, check=False)
        if result.returncode != 0:
            failed.append(name)
            print(f"\n**bench {name} failed (exit {result.returncode})**\n", flush=True)
        print(flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
