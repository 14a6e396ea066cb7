"""Printing tied to real users (``printer.authentication: basic``): jobs need a status page user's name and
password over ``ipps://``, and the job's owner is that user, whatever ``requesting-user-name`` says.

Real peers: a private ``cupsd`` printing through its ``ipps`` backend with the credentials in the device
URI, ``ipptool`` for the printer's attributes, and HTTP Basic requests for the refusals.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import ssl
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ipp.codec import Attribute, Tag, decode, encode
from ipp.status import Operation, StatusCode
from tests.support import fuzzipp
from tests.support.cli import cli
from tests.support.cupsd import private_cupsd
from tests.support.documents import invoice_pdf
from tests.support.emulator import wait_until
from tests.support.harness import Server
from tests.support.ippclient import request
from tests.support.web import PASSWORD, add_user, api_login

AUTH = {"PAGERO_TLS_ENABLED": "on", "PAGERO_PRINTER_AUTHENTICATION": "basic"}


@pytest.fixture(scope="module")
def auth_server() -> Iterator[Server]:
    root = Path(tempfile.mkdtemp(prefix="pagero-test-", dir="/var/tmp"))
    server = Server(root / "data", extra_env=AUTH)
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    add_user(server.data_dir, "cleo")
    add_user(server.data_dir, "dan")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def print_job(server: Server, pdf: Path, user: str, *, auth: tuple[str, str] | None, secure: bool = True,
              job_name: str = "auth") -> requests.Response:
    scheme = "https" if secure else "http"
    message = request(Operation.PRINT_JOB, server.uri.replace("ipp://", "ipps://" if secure else "ipp://"),
                      Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, job_name),
                      Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"), user=user)
    return requests.post(f"{scheme}://127.0.0.1:{server.port}/ipp/print", data=encode(message) + pdf.read_bytes(),
                         headers={"Content-Type": "application/ipp"}, auth=auth, verify=False, timeout=60)


def test_a_job_needs_a_password_over_tls_and_belongs_to_who_gave_it(auth_server: Server, tmp_path: Path) -> None:
    pdf = invoice_pdf(tmp_path / "a.pdf", "AUTH-1")
    anonymous = print_job(auth_server, pdf, "cleo", auth=None)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith('Basic realm="Pagero Printer"')
    plain = print_job(auth_server, pdf, "cleo", auth=("cleo", PASSWORD), secure=False)
    assert plain.status_code == 426  # a password never travels in the clear
    # cleo says she is dan: the job is hers.
    answer = print_job(auth_server, pdf, "dan", auth=("cleo", PASSWORD), job_name="cleo-as-dan")
    assert answer.status_code == 200
    assert decode(answer.content)[0].code == StatusCode.SUCCESSFUL_OK
    rows = wait_until(lambda: [r for r in json.loads(cli(auth_server.data_dir, "list", "--json").stdout)
                               if r["invoice_number"] == "AUTH-1"] or None, timeout=60)
    assert {r["owner"] for r in rows} == {"cleo"}
    # dan does not see it; cleo does, with no print name set for it.
    assert "AUTH-1" not in cli(auth_server.data_dir, "list", "--as", "dan").stdout
    assert "AUTH-1" in cli(auth_server.data_dir, "list", "--as", "cleo").stdout
    # Her lists say what "hers" rests on: the password she printed with.
    cleo, _ = api_login(f"https://127.0.0.1:{auth_server.port}", "cleo", verify=False)
    whose = re.search(r'data-test="whose">(.*?)</p>', cleo.get(f"https://127.0.0.1:{auth_server.port}/outbound/sent",
                                                              timeout=30).text, re.S)
    assert whose is not None and "printed with your name and password" in whose.group(1)


def test_the_printer_says_it_wants_a_password_and_still_answers_who_it_is(auth_server: Server) -> None:
    uri = auth_server.uri.replace("ipp://", "ipps://")
    result = subprocess.run(["ipptool", "-t", "-v", uri, "get-printer-attributes.test"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "uri-authentication-supported (1setOf keyword) = basic,requesting-user-name" in result.stdout


def test_wrong_passwords_are_refused_and_throttled_with_the_login_page(auth_server: Server, tmp_path: Path) -> None:
    pdf = invoice_pdf(tmp_path / "b.pdf", "AUTH-2")
    for _ in range(12):
        assert print_job(auth_server, pdf, "dan", auth=("dan", "not-his-password")).status_code == 401
    # The name is now locked out: the right password is refused too, for printing and for the login page.
    assert print_job(auth_server, pdf, "dan", auth=("dan", PASSWORD)).status_code == 401
    page = requests.Session()
    form = page.get(f"https://127.0.0.1:{auth_server.port}/login", verify=False, timeout=10)
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    login = page.post(f"https://127.0.0.1:{auth_server.port}/login", verify=False, timeout=30,
                      data={"username": "dan", "password": PASSWORD, "csrf": token},
                      headers={"Origin": f"https://127.0.0.1:{auth_server.port}"}, allow_redirects=False)
    assert login.status_code == 429 and "Too many failed logins" in login.text
    assert "printing refused: wrong user name or password for 'dan'" in auth_server.log_text()


def test_cups_prints_over_ipps_with_a_password_and_the_invoice_is_the_users(auth_server: Server,
                                                                           tmp_path: Path) -> None:
    pdf = invoice_pdf(tmp_path / "c.pdf", "AUTH-3")
    device = f"ipps://anna:{urllib.parse.quote(PASSWORD, safe='')}@127.0.0.1:{auth_server.port}/ipp/print"
    with private_cupsd() as cupsd:
        cupsd.run("lpadmin", "-p", "PageroAuth", "-v", device, "-m", "raw", "-E")
        job = cupsd.lp("PageroAuth", pdf, "-U", "mallory")
        cupsd.wait_completed(job)
    rows = wait_until(lambda: [r for r in json.loads(cli(auth_server.data_dir, "list", "--json").stdout)
                               if r["invoice_number"] == "AUTH-3"] or None, timeout=60)
    assert {r["owner"] for r in rows} == {"anna"}  # not "mallory", the name CUPS sent


def test_hostile_requests_over_tls_with_a_password_get_proper_answers(tmp_path: Path) -> None:
    """The fuzz run of test_fuzz.py (CUPS fuzzipp's cases), over ipps:// with a user's password, so every
    case reaches the IPP parser behind TLS and authentication; then without a password, none does."""
    root = Path(tempfile.mkdtemp(prefix="pagero-test-", dir="/var/tmp"))
    config = root / "pagero.yaml"
    config.write_text("limits:\n  max_job_bytes: 4194304\n  idle_timeout: 10\n")  # as test_fuzz.py
    server = Server(root / "data", config=config, extra_env=AUTH)
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna")
    server.start()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # its self-signed certificate
    try:
        credentials = "Basic " + base64.b64encode(f"anna:{PASSWORD}".encode()).decode()
        report = fuzzipp.run(server.port, fuzzipp.cases(server.uri, 20261206, 400), workers=4, timeout=10.0,
                             tls=context, authorization=credentials)
        assert report.sent == 400
        assert not report.failures, fuzzipp.describe(report)
        assert report.counts["ipp 0x0000"] > 0 and report.counts["ipp 0x0400"] > 0, fuzzipp.describe(report)
        # Without a password: nothing but printer attributes, and every answer still a proper one.
        anonymous = fuzzipp.run(server.port, fuzzipp.cases(server.uri, 20261207, 100), workers=2, timeout=10.0,
                                tls=context)
        assert anonymous.sent == 100 and "hang" not in anonymous.counts and "error" not in anonymous.counts
        assert anonymous.counts["http 401"] > 0, fuzzipp.describe(anonymous)
        assert not [problem for _, problem in anonymous.failures if not problem.startswith("HTTP 401")]
        assert "Traceback" not in server.log_text()
        assert json.loads(cli(server.data_dir, "list", "--json").stdout) is not None
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
