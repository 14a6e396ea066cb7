"""Whatever bytes arrive at /ipp/print, the printer answers properly and keeps serving (CUPS fuzzipp).

1,000 deterministic cases per run (the structured seeds of :mod:`tests.support.fuzzipp`, then
mutated requests); ``bench/bench_fuzz.py`` runs 100,000.  A case that fails is named
with its index and how it was made, so ``fuzzipp.cases(uri, SEED, index + 1)`` makes it
again.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from ipp.codec import LimitExceeded, ProtocolError, decode, encode
from tests.support import fuzzipp
from tests.support.harness import Server, stray_documents
from tests.support.ippclient import Client

SEED = 20261128
CASES = 1000
URI = "ipp://127.0.0.1:631/ipp/print"


def test_every_fuzzed_request_gets_a_well_formed_answer_and_the_printer_survives(data_root: Path) -> None:
    config = data_root / "pagero.yaml"
    # A small job limit, so the gzip bomb among the seeds is cut off after 4 MiB.
    config.write_text("limits:\n  max_job_bytes: 4194304\n  idle_timeout: 10\n")
    server = Server(data_root / "data", config).start()
    try:
        report = fuzzipp.run(server.port, fuzzipp.cases(server.uri, SEED, CASES), workers=4, timeout=10.0)
        assert report.sent == CASES
        assert not report.failures, fuzzipp.describe(report)
        # The run reached both ends: requests that were accepted and requests that were refused.
        assert report.counts["ipp 0x0000"] > 0, fuzzipp.describe(report)
        assert report.counts["ipp 0x0400"] > 0, fuzzipp.describe(report)
        client = Client(server.uri, timeout=10.0)
        attributes = client.printer_attributes("printer-state", "printer-is-accepting-jobs")
        client.close()
        assert attributes["printer-is-accepting-jobs"].value is True
    finally:
        code = server.stop()
    log = server.log_text()
    assert "Traceback" not in log, log[max(0, log.index("Traceback") - 500) :][:4000]
    assert code == 0
    assert not stray_documents(data_root / "data")


def test_the_codec_refuses_fuzzed_bytes_only_with_protocol_errors_and_round_trips_the_rest() -> None:
    """In-process, without a server: the parser raises nothing but ProtocolError on any of the
    cases, and every message it accepts encodes back to exactly the bytes it came from."""
    accepted = 0
    for case in fuzzipp.cases(URI, SEED, CASES):
        try:
            message, rest = decode(case.body)
        except (ProtocolError, LimitExceeded):
            continue
        accepted += 1
        assert encode(message) + rest == case.body, f"case {case.index} ({case.name}) does not round-trip"
    assert accepted > 0


def test_cases_are_the_same_for_the_same_seed() -> None:
    first = [(c.name, c.body) for c in itertools.islice(fuzzipp.cases(URI, SEED, CASES), 400, 450)]
    again = [(c.name, c.body) for c in itertools.islice(fuzzipp.cases(URI, SEED, CASES), 400, 450)]
    other = [(c.name, c.body) for c in itertools.islice(fuzzipp.cases(URI, SEED + 1, CASES), 400, 450)]
    assert first == again
    assert first != other
