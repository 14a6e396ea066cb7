"""Removing a user or changing their password on the command line ends their sessions at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.support.harness import REPO, running
from tests.support.web import PASSWORD, add_user, api_login

NEW_PASSWORD = "another long password"


def pagero_connect(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The command with ``stdin`` as its standard input (no terminal)."""
    return subprocess.run([sys.executable, "-m", "connect_core.cli", *args, "--data-dir", str(data_dir)],
                          input=stdin, capture_output=True, text=True, cwd=REPO, timeout=120)


def logged_in(base: str, session: requests.Session) -> bool:
    """Whether ``session`` still opens an API page that needs a login."""
    return session.get(base + "/api/invoices", timeout=30).status_code == 200


def refused_login(base: str, name: str, password: str) -> bool:
    """Whether the login form turns ``name`` with ``password`` away."""
    try:
        api_login(base, name, password)
    except AssertionError:
        return True
    return False


def test_a_removed_user_is_logged_out_and_cannot_log_in_again(data_root: Path) -> None:
    with running(data_root / "data") as server:
        add_user(server.data_dir, "anna", admin=True)
        add_user(server.data_dir, "ben")
        ben, _csrf = api_login(server.url, "ben")
        assert logged_in(server.url, ben)

        removed = pagero_connect(server.data_dir, "user", "remove", "ben", "--yes")
        assert removed.returncode == 0, removed.stderr

        assert not logged_in(server.url, ben)
        assert refused_login(server.url, "ben", PASSWORD)
        anna, _csrf = api_login(server.url, "anna")  # the others are untouched
        assert logged_in(server.url, anna)


def test_a_new_password_ends_the_old_sessions_and_is_the_one_that_works(data_root: Path) -> None:
    with running(data_root / "data") as server:
        add_user(server.data_dir, "anna", admin=True)
        anna, _csrf = api_login(server.url, "anna")
        changed = pagero_connect(server.data_dir, "user", "passwd", "anna", "--password-stdin",
                                 stdin=NEW_PASSWORD + "\n")
        assert changed.returncode == 0, changed.stderr
        assert not logged_in(server.url, anna)
        assert refused_login(server.url, "anna", PASSWORD)
        again, _csrf = api_login(server.url, "anna", NEW_PASSWORD)
        assert logged_in(server.url, again)
