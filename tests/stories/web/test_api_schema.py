"""Schemathesis against /openapi.json as a logged-in admin: no 5xx, and every answer matches the document."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from connect_core.web.api import openapi_document
from tests.support.harness import REPO
from tests.support.privilege import in_new_netns


def test_every_operation_answers_as_documented_under_fuzzing(data_root: Path) -> None:
    report = data_root / "schemathesis.ndjson"
    # A network namespace of its own: fuzzed settings may point the product at any host.
    result = subprocess.run(in_new_netns([sys.executable, "-m", "tests.support.fuzz_api", str(report)]),
                            capture_output=True, text=True, cwd=REPO, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "session still valid after the run: True" in result.stdout

    fuzzed: dict[str, int] = defaultdict(int)
    failures = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished["recorder"]
        if finished["phase"] == "fuzzing":
            fuzzed[recorder["label"]] += len(recorder.get("cases", {}))
        checks = [check for case in recorder.get("checks", {}).values() for check in case]
        failures += sum(1 for check in checks if check["status"] == "failure")
    assert failures == 0
    document = openapi_document("Pagero Printer")
    operations = {f"{method.upper()} {path}": spec for path, item in document["paths"].items()
                  for method, spec in item.items()}
    assert set(fuzzed) == set(operations)
    for label, spec in operations.items():
        if spec["parameters"] or "requestBody" in spec:
            assert fuzzed[label] >= 100, (label, fuzzed[label])
        else:
            assert fuzzed[label] >= 1, label  # nothing to vary: one request is every request
