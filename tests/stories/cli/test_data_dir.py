"""The admin started the server on a data dir of their own; the command line works on that one.

``make run ARGS="--data-dir X"`` then ``pagero-connect user add anna --admin`` used to write
into the default data dir, say "User anna added", and leave anna unable to log in; ``list``
said "No invoices." and made that folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connect_core.paths import default_data_dir
from tests.support.cli import INVOICE, cli
from tests.support.harness import REPO, Server, running
from tests.support.web import PASSWORD, api_login

pytestmark = pytest.mark.skipif((default_data_dir() / "connect.db").exists(),
                                reason=f"this machine has a store in the default data dir {default_data_dir()}")


def pagero_connect(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The command as the admin types it: no --data-dir, no --config."""
    return subprocess.run([sys.executable, "-m", "connect_core.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_without_a_data_dir_the_command_line_works_on_the_running_servers_data(data_root: Path) -> None:
    existed = default_data_dir().exists()
    server = Server(data_root / "X").start()
    try:
        assert server.proc is not None
        said = f"pagero-connect: data in {server.data_dir} (of the server running as pid {server.proc.pid})"

        added = pagero_connect("user", "add", "anna", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        assert added.stderr.splitlines() == [said]
        api_login(server.url, "anna")  # she can log in: the user is where the server looks

        cli(server.data_dir, "import", str(INVOICE))
        listed = pagero_connect("list", "--json")
        assert listed.stderr.splitlines() == [said]
        assert len(json.loads(listed.stdout)) == 1  # stdout holds only the JSON
        assert default_data_dir().exists() == existed  # no empty store made beside the server's
    finally:
        server.stop()


def test_a_data_dir_without_a_store_is_refused_while_the_server_runs_elsewhere(data_root: Path) -> None:
    with running(data_root / "X") as server:
        typo = data_root / "x"
        for args in (("user", "add", "anna", "--admin", "--password-stdin"), ("import", str(INVOICE)), ("list",)):
            refused = pagero_connect(*args, "--data-dir", str(typo), stdin=PASSWORD + "\n")
            assert refused.returncode == 2, args
            assert refused.stderr.count("\n") == 1 and f"use --data-dir {server.data_dir}" in refused.stderr, args
        assert not typo.exists()


def test_a_folder_made_for_a_second_office_takes_its_first_user_while_another_server_runs(data_root: Path) -> None:
    with running(data_root / "X"):
        second = data_root / "second"
        second.mkdir()
        added = pagero_connect("user", "add", "anna", "--admin", "--password-stdin", "--data-dir", str(second),
                               stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        assert added.stderr.splitlines()[0] == f"pagero-connect: data in {second} (new)"
        with running(second) as other:
            api_login(other.url, "anna")


def test_with_several_servers_the_command_line_asks_which(data_root: Path) -> None:
    with running(data_root / "one") as one, running(data_root / "two") as two:
        for args in (("list",), ("user", "add", "anna", "--admin", "--password-stdin")):
            refused = pagero_connect(*args, stdin=PASSWORD + "\n")
            assert refused.returncode == 2 and refused.stderr.count("\n") == 1, args
            assert str(one.data_dir) in refused.stderr and str(two.data_dir) in refused.stderr, args
            assert "--data-dir" in refused.stderr
