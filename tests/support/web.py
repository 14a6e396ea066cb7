"""Helpers for the status page tests: users, printing with ipptool, known invoice fields, logging in."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page

from tests.support.harness import DATA, REPO

HERE = Path(__file__).resolve().parent
SCREENSHOTS = (REPO / "docs" / "screenshots" if os.environ.get("PAGERO_UPDATE_SCREENSHOTS")
               else REPO / ".test-cache" / "screenshots")
"""Where the browser tests save what they saw: ``.test-cache/`` so that ``make test`` leaves the
checkout clean; ``make screenshots`` (``PAGERO_UPDATE_SCREENSHOTS=1``) refreshes the ones in the docs."""
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery"


def add_user(data_dir: Path, name: str, *, admin: bool = False, password: str = PASSWORD,
             print_names: tuple[str, ...] = ()) -> str:
    """``pagero-connect user add`` with the password on standard input; returns its output."""
    argv = [sys.executable, "-m", "connect_core.cli", "user", "add", name, "--password-stdin",
            "--data-dir", str(data_dir)]
    if admin:
        argv.append("--admin")
    for print_name in print_names:
        argv += ["--print-name", print_name]
    result = subprocess.run(argv, input=password + "\n", capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def ipp_print(uri: str, pdf: Path, *, user: str, job_name: str) -> None:
    """Print ``pdf`` with Debian's ``ipptool`` as IPP user ``user``."""
    argv = ["ipptool", "-t", "-T", "30", "-d", f"requester={user}", "-d", f"jobname={job_name}", "-f", str(pdf),
            uri, str(DATA / "print-invoice.test")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def set_fields(data_dir: Path, invoice_id: int, **values: Any) -> None:
    """Give an invoice known fields (what extraction would have found)."""
    columns = ", ".join(f"{name} = ?" for name in values)
    with sqlite3.connect(data_dir / "connect.db", timeout=30) as conn:
        conn.execute(f"UPDATE invoices SET {columns} WHERE id = ?", (*values.values(), invoice_id))


def invoice_ids(data_dir: Path) -> list[int]:
    with sqlite3.connect(data_dir / "connect.db", timeout=30) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM invoices ORDER BY id")]


def login(page: Page, base: str, name: str, password: str = PASSWORD) -> None:
    """Log in through the form, as a person does."""
    page.goto(base + "/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/outbound/files-to-send.*"))


def insecure_session() -> requests.Session:
    """A session that takes the server's self-signed certificate, whatever REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
    in the environment say (requests lets them override a session's ``verify=False``)."""
    session = requests.Session()
    session.verify = False
    session.trust_env = False
    return session


def login_page_uris(html: str) -> list[str]:
    """The printer URIs the login page tells a newcomer to add, in the order shown."""
    told = re.search(r'data-test="printer-uri">(.*?)</div>', html, re.S)
    assert told is not None, "the login page names no printer URI"
    return re.findall(r"<code>(.*?)</code>", told.group(1))


def api_login(base: str, name: str, password: str = PASSWORD, *, verify: bool = True) -> tuple[requests.Session, str]:
    """A logged-in HTTP session (cookie) and its CSRF token, through the same login form (``verify=False``:
    over HTTPS with the server's self-signed certificate)."""
    session = requests.Session() if verify else insecure_session()
    form = session.get(base + "/login", timeout=30).text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    answer = session.post(base + "/login", data={"username": name, "password": password, "csrf": token.group(1)},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text
    csrf = session.get(base + "/api/session", timeout=30).json()["csrf_token"]
    return session, csrf


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot for docs/status-page.md (the visible part only with ``full_page=False``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
