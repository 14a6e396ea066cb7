"""Every subcommand, given an unknown id, a bad value or an unreadable file, says so in one line.

The table below has cases for every subcommand the parser has (nested ones as ``user add``);
a new subcommand without cases fails :func:`test_every_subcommand_has_cases`.  Besides the
error line, stderr may hold the one ``pagero-connect: data in …`` line that names the data dir
the command used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_core.cli import build_parser
from tests.support.harness import REPO
from tests.support.web import PASSWORD

UNKNOWN, BAD, UNREADABLE = "unknown id", "bad value", "unreadable file"
STORE = ["--data-dir", "{store}"]
EMULATOR = ["--data-dir", "{folder}/emulator"]  # never the machine's default data dir

CASES: dict[str, list[tuple[str, list[str]]]] = {
    "serve": [(BAD, ["--listen", "nonsense"]), (UNREADABLE, ["--config", "{folder}"])],
    "inbound": [(UNKNOWN, ["--fetch", "999", *STORE]), (BAD, ["--fetch", "abc", *STORE]),
                (UNREADABLE, ["--config", "{folder}"])],
    "online-emulator": [(BAD, ["--listen", "nonsense", *EMULATOR]), (BAD, ["--faults", "{not json", *EMULATOR]),
                        (BAD, ["--step-seconds", "-1", *EMULATOR]),
                        (UNREADABLE, ["--inbound", "{missing}", *EMULATOR])],
    "convert": [(BAD, ["{text}", "-o", "{folder}/out.pdf", "--paper", "A5"]),
                (BAD, ["{text}", "-o", "{folder}/out.pdf", "--ocr", "--languages", "../etc"]),
                (UNREADABLE, ["{folder}", "-o", "{folder}/out.pdf"]),
                (UNREADABLE, ["{missing}", "-o", "{folder}/out.pdf"])],
    "extract": [(BAD, ["{text}", "--templates", "{text}"]), (UNREADABLE, ["{folder}"]), (UNREADABLE, ["{missing}"])],
    "install-cups-queue": [(BAD, ["--uri", "pagero://192.0.2.10:8631/ipp/print", "--backend-dir", "{folder}"]),
                           (BAD, ["--name", "no spaces allowed", "--backend-dir", "{folder}"]),
                           (UNREADABLE, ["--backend-dir", "{missing}"])],
    # Each with a user name that is refused before anything is changed: run as root, a case that
    # slipped past its own check must not create a system user or write a unit.
    "install-service": [(BAD, ["--user", "Bad Name", "--unit-dir", "{folder}", "--no-start"]),
                        (UNREADABLE, ["--config", "{folder}", "--user", "Bad Name", "--no-start"]),
                        (UNREADABLE, ["--unit-dir", "{text}", "--user", "Bad Name", "--no-start"])],
    "list": [(BAD, ["--state", "bogus", *STORE]), (BAD, ["--state", "needs_attention", *STORE]),
             (BAD, ["--limit", "zero", *STORE]), (UNREADABLE, ["--config", "{folder}"])],
    "show": [(UNKNOWN, ["999", *STORE]), (BAD, ["abc", *STORE]), (BAD, ["1", "--as", "nobody", *STORE])],
    "approve": [(UNKNOWN, ["999", *STORE]), (BAD, ["abc", *STORE])],
    "delete": [(UNKNOWN, ["999", *STORE]), (BAD, ["abc", *STORE])],
    "send": [(UNKNOWN, ["999", *STORE]), (BAD, ["--all", "--environment", "Bogus", *STORE]), (BAD, STORE)],
    "resend": [(UNKNOWN, ["999", *STORE]), (BAD, ["abc", *STORE])],
    "restart": [(UNKNOWN, ["999", *STORE]), (BAD, ["abc", *STORE])],
    "attach": [(UNKNOWN, ["999", "{text}", "--type", "Other", *STORE]),
               (BAD, ["999", "{text}", "--type", "Bogus", *STORE]), (BAD, ["999", "{text}", *STORE]),
               (UNREADABLE, ["999", "{missing}", "--type", "Other", *STORE]),
               (UNREADABLE, ["999", "{folder}", "--type", "Other", *STORE])],
    "attachments": [(UNKNOWN, ["999", *STORE]), (BAD, ["abc", *STORE])],
    "detach": [(UNKNOWN, ["999", "1", *STORE]), (BAD, ["abc", "1", *STORE])],
    "import": [(UNREADABLE, ["{folder}", *STORE]), (UNREADABLE, ["{missing}", *STORE]),
               (BAD, ["{text}", "--user", "", *STORE])],
    "purge": [(BAD, ["--data-dir", "{missing}"]), (UNREADABLE, ["--config", "{folder}"])],
    "correct": [(UNKNOWN, ["999", "total=1.00", *STORE]), (BAD, ["1", "amount=1", *STORE]),
                (BAD, ["1", "total", *STORE]), (BAD, ["1", "total=1", "total=2", *STORE]),
                (BAD, ["abc", "total=1.00", *STORE]), (BAD, ["1", *STORE])],
    "layouts show": [(UNKNOWN, ["nosuch", *STORE])],
    "layouts rename": [(UNKNOWN, ["nosuch", "other", *STORE]), (BAD, ["nosuch", "bad/name", *STORE])],
    "layouts delete": [(UNKNOWN, ["nosuch", *STORE]), (BAD, ["nosuch", "--as", "nobody", *STORE])],
    "user add": [(BAD, ["Not A Name", "--password-stdin", *STORE]), (UNREADABLE, ["anna", "--config", "{folder}"])],
    "user list": [(BAD, ["--data-dir", "{missing}"]), (UNREADABLE, ["--config", "{folder}"])],
    "user remove": [(UNKNOWN, ["ghost", "--yes", *STORE])],
    "user passwd": [(UNKNOWN, ["ghost", "--password-stdin", *STORE])],
    "user inbound": [(UNKNOWN, ["ghost", "on", *STORE]), (BAD, ["ghost", "maybe", *STORE])],
}


def subcommands(parser: argparse.ArgumentParser) -> list[str]:
    """``["serve", …, "user add", …]``: every runnable subcommand, nested ones with their parent's name."""
    found: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [f"{name} {nested}" for nested in subcommands(sub)] or [name]
    return found


def all_cases() -> Iterator[object]:
    """One pytest case per table entry, plus an unknown option for every subcommand."""
    for name in subcommands(build_parser()):
        cases = [*CASES.get(name, []), (BAD, ["--no-such-option"])]
        for number, (kind, argv) in enumerate(cases):
            yield pytest.param(name, kind, argv, id=f"{name}-{kind}-{number}".replace(" ", "_"))


@pytest.fixture(scope="module")
def places() -> Iterator[dict[str, str]]:
    """A data dir with a store, a folder, a text file and a path that does not exist."""
    root = Path(tempfile.mkdtemp(prefix="pagero-test-", dir="/var/tmp"))
    runtime = Path(tempfile.mkdtemp(prefix="pagero-run-"))
    store = root / "data"
    made = subprocess.run([sys.executable, "-m", "connect_core.cli", "user", "add", "admin", "--admin",
                           "--password-stdin", "--data-dir", str(store)], input=PASSWORD + "\n", text=True,
                          capture_output=True, cwd=REPO, timeout=120,
                          env={**os.environ, "PAGERO_RUNTIME_DIR": str(runtime)})
    assert made.returncode == 0, made.stderr
    text = root / "letter.txt"
    text.write_text("Dear customer,\nthis is not an invoice.\n")
    yield {"store": str(store), "folder": str(root / "folder"), "missing": str(root / "missing"),
           "text": str(text)}
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(runtime, ignore_errors=True)


def fill(part: str, places: dict[str, str]) -> str:
    """``part`` with its ``{store}``, ``{folder}``, … replaced by the real paths."""
    for key, value in places.items():
        part = part.replace(f"{{{key}}}", value)
    return part


def test_every_subcommand_has_cases() -> None:
    assert sorted(CASES) == sorted(subcommands(build_parser())), "add cases for the new subcommand to CASES"


@pytest.mark.parametrize(("name", "kind", "argv"), list(all_cases()))
def test_a_mistake_is_one_line_never_a_traceback(places: dict[str, str], name: str, kind: str,
                                                argv: list[str]) -> None:
    Path(places["folder"]).mkdir(exist_ok=True)
    args = [*name.split(), *(fill(part, places) for part in argv)]
    result = subprocess.run([sys.executable, "-m", "connect_core.cli", *args], input=PASSWORD + "\n", text=True,
                            capture_output=True, cwd=REPO, timeout=120)
    where = f"pagero-connect {' '.join(args)} ({kind})"
    assert result.returncode != 0, f"{where} succeeded: {result.stdout}"
    assert "Traceback" not in result.stderr, where
    lines = result.stderr.splitlines()
    errors = [line for line in lines if not line.startswith("pagero-connect: data in ")]
    assert len(errors) == 1 and len(lines) - len(errors) <= 1, f"{where}: {result.stderr}"
    assert errors[0].startswith("pagero-connect"), f"{where}: {result.stderr}"
    assert result.stdout == "", where
