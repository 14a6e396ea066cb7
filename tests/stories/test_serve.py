"""Starting and stopping the product the way a person does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipp.status import StatusCode
from tests.support.cli import invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import wait_until
from tests.support.harness import REPO, Server, free_port
from tests.support.ippclient import Client
from tests.support.web import insecure_session, login_page_uris


def test_make_run_prints_the_printer_uri_and_serves_it(data_root: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"ARGS=--listen 127.0.0.1:{port} --data-dir {data_root / 'data'}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "PAGERO_PRINTER_DNSSD": "false"},
    )
    try:
        lines = []
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "demo:" in line or "Online:" in line:
                break
        text = "".join(lines)
        uri = f"ipp://127.0.0.1:{port}/ipp/print"
        # TLS is on unless turned off: ipps:// first, plain ipp:// still open, the status page over https.
        assert f"Printer URI:  ipps://127.0.0.1:{port}/ipp/print and {uri}" in text, text
        assert f"Status page:  https://127.0.0.1:{port}/" in text
        assert re.search(r"Certificate:  SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2} \(self-signed", text), text
        assert "demo: invoices go to the local Pagero Online emulator at http://127.0.0.1:" in text
        # The login page tells a newcomer the same: the secure URI first, the plain one for older computers.
        login = insecure_session().get(f"https://127.0.0.1:{port}/login", timeout=30).text
        assert login_page_uris(login) == [f"ipps://127.0.0.1:{port}/ipp/print", uri]
        attributes = Client(uri).printer_attributes("printer-name", "printer-uri-supported")
        assert attributes["printer-name"].value == "Pagero Printer"
        # The installed command (not this checkout on sys.path) reads an invoice: its converters, behind their
        # walls, find the code too.
        assert Client(uri).print_file(invoice_pdf(data_root / "i.pdf", "RUN-1")).code == StatusCode.SUCCESSFUL_OK
        read = wait_until(lambda: [r for r in invoices(data_root / "data") if r["invoice_number"] == "RUN-1"],
                          timeout=120)
        assert read[0]["state"] != "invalid", read
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_signal(sig: signal.Signals, data_root: Path) -> None:
    server = Server(data_root / "data").start()
    assert Client(server.uri).print_job(b"%PDF-1.4\n%%EOF\n").code == StatusCode.SUCCESSFUL_OK
    assert server.proc is not None
    server.proc.send_signal(sig)
    assert server.wait_exit(30) == 0
    assert "Traceback" not in server.log_text()


def test_printer_uuid_is_kept_across_restarts(data_root: Path) -> None:
    server = Server(data_root / "data").start()
    try:
        first = Client(server.uri).printer_attributes("printer-uuid")["printer-uuid"].value
        server.stop()
        server.start()
        second = Client(server.uri).printer_attributes("printer-uuid")["printer-uuid"].value
    finally:
        server.stop()
    assert first == second
    assert str(first).startswith("urn:uuid:")


def test_status_page_shares_the_port(server: Server) -> None:
    import urllib.request

    with urllib.request.urlopen(server.url + "/", timeout=10) as response:
        page = response.read().decode()
    assert "Pagero Printer" in page and server.uri.replace("127.0.0.1", "127.0.0.1") in page
    with urllib.request.urlopen(server.url + "/printer-icons/128.png", timeout=10) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"


def test_listen_on_port_0_prints_the_port_it_got(data_root: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "connect_core.cli", "serve", "--listen", "127.0.0.1:0",
         "--data-dir", str(data_root / "data")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PAGERO_PRINTER_DNSSD": "false"},
    )
    try:
        assert proc.stdout is not None
        found = None
        deadline = time.monotonic() + 60  # liveness only
        while found is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "serve ended before printing its printer URI"
            found = re.search(r"Printer URI:  .*?\b(ipp://127\.0\.0\.1:(\d+)/ipp/print)", line)
        assert found is not None and int(found.group(2)) != 0
        attributes = Client(found.group(1)).printer_attributes("printer-name")
        assert attributes["printer-name"].value == "Pagero Printer"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
