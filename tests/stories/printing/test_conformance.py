"""The stock CUPS ipptool suites against our printer: no failures, and each runs to its end."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.harness import IPPTOOL_DIR, Server
from tests.support.samples import expected_tests, suite_dir

SUITES = [("ipp-1.1.test", "1.1"), ("ipp-2.0.test", "2.0"), ("ipp-everywhere.test", "2.0")]



@pytest.mark.parametrize(("suite", "version"), SUITES)
def test_stock_suite_passes_completely(suite: str, version: str, server: Server, tmp_path: Path) -> None:
    folder = suite_dir(tmp_path / "suite", "ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test")
    result = subprocess.run(
        ["ipptool", "-I", "-t", "-T", "20", "-V", version, "-f", "document-a4.pdf", server.uri, suite],
        cwd=folder, capture_output=True, text=True, timeout=600,
    )
    report = result.stdout
    outcomes = re.findall(r"\[(PASS|FAIL|SKIP)\]", report)
    failed = [line for line in report.splitlines() if "[FAIL]" in line]
    assert not failed, f"{suite}: {len(failed)} failures\n" + report[-4000:]
    assert len(outcomes) == expected_tests(IPPTOOL_DIR / suite), f"{suite} stopped early\n{report[-2000:]}"
    assert outcomes.count("PASS") >= 30
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in server.log_text()
