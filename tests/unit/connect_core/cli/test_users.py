"""``pagero-connect user add | list | remove | passwd`` on a real store (no server: see tests/stories/cli)."""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.support.cli import cli
from tests.support.harness import REPO
from tests.support.web import PASSWORD, add_user


def pagero_connect(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The command with ``stdin`` as its standard input (no terminal)."""
    return subprocess.run([sys.executable, "-m", "connect_core.cli", *args, "--data-dir", str(data_dir)],
                          input=stdin, capture_output=True, text=True, cwd=REPO, timeout=120)


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines on stderr, without the line naming the data dir."""
    return [line for line in result.stderr.splitlines() if not line.startswith("pagero-connect: data in ")]


def on_a_terminal(argv: list[str], answers: list[str], timeout: float = 60) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its controlling terminal; answer each prompt (a line ending
    in ": ") in turn.  Returns the exit code and everything the terminal showed."""
    master, slave = os.openpty()

    def own_the_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # getpass reads /dev/tty: this pty

    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=REPO, start_new_session=True,
                            preexec_fn=own_the_terminal)
    os.close(slave)
    shown, since_answer, pending = b"", b"", list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the program closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            since_answer += chunk
            # Only once the prompt is shown: getpass turns echo off and flushes typed-ahead input first.
            if pending and since_answer.rstrip().endswith(b":"):
                os.write(master, pending.pop(0).encode() + b"\n")
                since_answer = b""
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout), shown.decode(errors="replace")


def test_a_short_password_is_refused_after_the_first_prompt(data_root: Path) -> None:
    data_dir = data_root / "data"
    code, shown = on_a_terminal([sys.executable, "-m", "connect_core.cli", "user", "add", "anna", "--admin",
                                 "--data-dir", str(data_dir)], ["short", "short"])
    assert code == 2, shown
    assert "Password for anna:" in shown and "Again" not in shown
    assert "pagero-connect: the password must have at least 8 characters" in shown
    assert not (data_dir / "connect.db").exists()


def test_a_password_typed_twice_adds_the_user(data_root: Path) -> None:
    data_dir = data_root / "data"
    code, shown = on_a_terminal([sys.executable, "-m", "connect_core.cli", "user", "add", "anna", "--admin",
                                 "--data-dir", str(data_dir)], [PASSWORD, PASSWORD])
    assert code == 0, shown
    assert "Again:" in shown and "User anna added (admin: sees every invoice)." in shown


def test_users_are_listed_as_text_and_json(data_root: Path) -> None:
    data_dir = data_root / "data"
    add_user(data_dir, "anna", admin=True)
    add_user(data_dir, "cleo", print_names=("CLEO-PC", "cleo"))
    listed = json.loads(cli(data_dir, "user", "list", "--json").stdout)
    assert listed == [{"name": "anna", "role": "admin", "print_names": ["anna"], "inbound": True},
                      {"name": "cleo", "role": "clerk", "print_names": ["CLEO-PC", "cleo"], "inbound": False}]
    text = cli(data_dir, "user", "list").stdout.splitlines()
    assert text[0].split() == ["anna", "admin", "every", "invoice"]
    assert text[1].split() == ["cleo", "clerk", "printed", "as", "CLEO-PC,", "cleo"]


def test_the_last_admin_stays_and_a_removal_needs_yes_without_a_terminal(data_root: Path) -> None:
    data_dir = data_root / "data"
    add_user(data_dir, "anna", admin=True)
    add_user(data_dir, "ben")
    last = pagero_connect(data_dir, "user", "remove", "anna", "--yes")
    assert last.returncode == 2 and errors(last) == ["pagero-connect: anna is the last admin; add another admin first"]
    unconfirmed = pagero_connect(data_dir, "user", "remove", "ben")
    assert unconfirmed.returncode == 2
    assert errors(unconfirmed) == ["pagero-connect: user ben was not removed: pass --yes to remove them"]

    removed = pagero_connect(data_dir, "user", "remove", "BEN", "--yes")  # any spelling of the name
    assert removed.returncode == 0 and removed.stdout == "User ben removed; their sessions have ended.\n"
    assert [user["name"] for user in json.loads(cli(data_dir, "user", "list", "--json").stdout)] == ["anna"]
    again = pagero_connect(data_dir, "user", "remove", "ben", "--yes")
    assert errors(again) == ["pagero-connect: no user 'ben'"]

    add_user(data_dir, "zoe", admin=True)  # with a second admin, the first may go
    assert pagero_connect(data_dir, "user", "remove", "anna", "--yes").returncode == 0
    add_user(data_dir, "ben")  # a removed name can be given to a user again
    assert [u["name"] for u in json.loads(cli(data_dir, "user", "list", "--json").stdout)] == ["ben", "zoe"]


def test_passwd_checks_the_user_and_the_length(data_root: Path) -> None:
    data_dir = data_root / "data"
    add_user(data_dir, "anna", admin=True)
    short = pagero_connect(data_dir, "user", "passwd", "anna", "--password-stdin", stdin="short\n")
    assert errors(short) == ["pagero-connect: the password must have at least 8 characters"]
    nobody = pagero_connect(data_dir, "user", "passwd", "ghost", "--password-stdin", stdin=PASSWORD + "\n")
    assert errors(nobody) == ["pagero-connect: no user 'ghost'"]
    changed = pagero_connect(data_dir, "user", "passwd", "anna", "--password-stdin", stdin="a new long password\n")
    assert changed.returncode == 0 and changed.stdout == "Password of anna changed; their sessions have ended.\n"
