"""TLS on the printer's one port (``tls.enabled``): IPPS and HTTPS beside plain IPP, as CUPS serves them.

Real peers only: CUPS's ipptool suites over ``ipps://`` and ``ipp://``, ``openssl s_client`` for the
protocol versions and ciphers, Chromium for the status page, a raw socket for a client that stalls.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ipp.tls import fingerprint, make_self_signed
from tests.support.harness import IPPTOOL_DIR, REPO, Server, free_port
from tests.support.samples import expected_tests, suite_dir
from tests.support.web import insecure_session, login_page_uris

# Each stock suite over ipps://; the two core ones over plain ipp:// on the same TLS port too (ipp-everywhere
# over plain IPP is test_conformance.py's, on a port without TLS: the sniffing path is what differs here).
RUNS = [("ipps", "ipp-1.1.test", "1.1"), ("ipps", "ipp-2.0.test", "2.0"), ("ipps", "ipp-everywhere.test", "2.0"),
        ("ipp", "ipp-1.1.test", "1.1"), ("ipp", "ipp-2.0.test", "2.0")]
TLS = {"PAGERO_TLS_ENABLED": "on", "PAGERO_LIMITS_IDLE_TIMEOUT": "3"}


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("tls") / "data", extra_env=TLS).start()
    yield server
    server.stop()


def served_fingerprint(port: int) -> str:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        der = tls.getpeercert(binary_form=True)
    import hashlib

    digest = hashlib.sha256(der or b"").hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@pytest.mark.parametrize(("scheme", "suite", "version"), RUNS)
def test_the_stock_suites_pass_over_ipps_and_ipp(scheme: str, suite: str, version: str, tls_server: Server,
                                                 tmp_path: Path) -> None:
    folder = suite_dir(tmp_path / "suite", "ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test")
    uri = tls_server.uri.replace("ipp://", f"{scheme}://")
    result = subprocess.run(["ipptool", "-I", "-t", "-T", "20", "-V", version, "-f", "document-a4.pdf", uri, suite],
                            cwd=folder, capture_output=True, text=True, timeout=600)
    report = result.stdout
    failed = [line for line in report.splitlines() if "[FAIL]" in line]
    assert not failed, f"{suite} over {scheme}: {len(failed)} failures\n" + report[-4000:]
    assert len(re.findall(r"\[(PASS|FAIL|SKIP)\]", report)) == expected_tests(IPPTOOL_DIR / suite)
    assert result.returncode == 0, result.stderr


def test_the_printer_says_which_uri_is_secured(tls_server: Server) -> None:
    secure_uri = tls_server.uri.replace("ipp://", "ipps://")
    result = subprocess.run(["ipptool", "-t", "-v", secure_uri, "get-printer-attributes.test"],
                            capture_output=True, text=True, timeout=60)
    out = result.stdout
    port = tls_server.port
    # the host is the one the client named (CUPS says "localhost" for 127.0.0.1 over TLS)
    host = r"(127\.0\.0\.1|localhost)"
    both = rf"ipps://{host}:{port}/ipp/print,ipp://{host}:{port}/ipp/print"
    assert re.search(rf"printer-uri-supported \(1setOf uri\) = {both}\n", out), out[:3000]
    assert "uri-security-supported (1setOf keyword) = tls,none" in out
    assert re.search(rf"printer-more-info \(uri\) = https://{host}:{port}/\n", out)


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_old_tls_versions_are_refused(version: str, tls_server: Server) -> None:
    result = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.port}", version],
                            input="", capture_output=True, text=True, timeout=30)
    assert "Cipher is (NONE)" in result.stdout, result.stdout[-1500:]


def test_a_weak_cipher_is_refused_and_tls_1_2_with_a_strong_one_works(tls_server: Server) -> None:
    weak = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.port}", "-tls1_2",
                           "-cipher", "AES128-SHA:DES-CBC3-SHA:RC4-SHA"], input="", capture_output=True, text=True,
                          timeout=30)
    assert "Cipher is (NONE)" in weak.stdout
    strong = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.port}", "-tls1_2"],
                            input="", capture_output=True, text=True, timeout=30)
    assert re.search(r"Cipher is ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)", strong.stdout), \
        strong.stdout[-1500:]


def test_the_self_signed_certificate_is_kept_private_and_its_fingerprint_is_in_the_banner(tls_server: Server) -> None:
    folder = tls_server.data_dir / "tls"
    assert (folder / "key.pem").stat().st_mode & 0o777 == 0o600
    shown = fingerprint(folder / "cert.pem")
    assert f"SHA-256 {shown}" in tls_server.log_text()
    assert served_fingerprint(tls_server.port) == shown
    assert f"Status page:  https://127.0.0.1:{tls_server.port}/" in tls_server.log_text()


def test_a_client_that_never_sends_or_never_finishes_its_handshake_holds_nothing(tls_server: Server) -> None:
    silent = socket.create_connection(("127.0.0.1", tls_server.port), timeout=30)
    half = socket.create_connection(("127.0.0.1", tls_server.port), timeout=30)
    half.sendall(b"\x16\x03\x01\x00\x50")  # the start of a ClientHello, never finished
    start = time.monotonic()
    try:
        for sock in (silent, half):
            assert sock.recv(1) == b""  # closed by the printer
        assert time.monotonic() - start < 25  # the idle timeout here is 3 s: a liveness limit, not a speed target
        assert requests.get(f"https://127.0.0.1:{tls_server.port}/login", verify=False, timeout=10).status_code == 200
    finally:
        silent.close()
        half.close()


def test_plain_ipp_can_be_closed_and_then_only_ipps_prints(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", extra_env={**TLS, "PAGERO_PRINTER_PLAIN_IPP": "off"}).start()
    try:
        plain = subprocess.run(["ipptool", "-t", server.uri, "get-printer-attributes.test"], capture_output=True,
                               text=True, timeout=60)
        assert plain.returncode != 0
        get_attributes = b"\x02\x00\x00\x0b\x00\x00\x00\x01\x03"
        answer = requests.post(f"http://127.0.0.1:{server.port}/ipp/print", data=get_attributes,
                               headers={"Content-Type": "application/ipp"}, timeout=10)
        assert answer.status_code == 426 and "TLS/1.2" in answer.headers["upgrade"]
        secure = subprocess.run(["ipptool", "-t", "-v", server.uri.replace("ipp://", "ipps://"),
                                 "get-printer-attributes.test"], capture_output=True, text=True, timeout=60)
        assert secure.returncode == 0, secure.stdout[-2000:]
        assert "uri-security-supported (keyword) = tls" in secure.stdout
        login = insecure_session().get(f"https://127.0.0.1:{server.port}/login", timeout=30).text
        assert login_page_uris(login) == [f"ipps://127.0.0.1:{server.port}/ipp/print"]  # no ipp:// offered
    finally:
        server.stop()


def test_a_given_certificate_is_used_and_reloaded_on_sighup(tmp_path: Path) -> None:
    cert, key = tmp_path / "office.crt", tmp_path / "office.key"
    make_self_signed(cert, key, ["printer.office.example"], ["127.0.0.1"])
    first = fingerprint(cert)
    config = tmp_path / "c.yaml"
    config.write_text(f"tls:\n  enabled: on\n  cert: {cert}\n  key: {key}\n")
    server = Server(tmp_path / "data", config=config, extra_env={"PAGERO_LIMITS_IDLE_TIMEOUT": "3"}, tls=None).start()
    try:
        assert served_fingerprint(server.port) == first
        assert not (server.data_dir / "tls").exists()  # no self-signed one is made beside the admin's
        make_self_signed(cert, key, ["printer2.office.example"], ["127.0.0.1"])
        second = fingerprint(cert)
        assert second != first
        assert server.proc is not None
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while served_fingerprint(server.port) != second and time.monotonic() < deadline:
            time.sleep(0.2)
        assert served_fingerprint(server.port) == second
        assert "TLS certificate reloaded" in server.log_text()
    finally:
        server.stop()


@pytest.mark.parametrize("broken", ["garbage", "missing"])
def test_a_broken_certificate_stops_start_up_with_one_line_naming_the_file(broken: str, tmp_path: Path) -> None:
    cert, key = tmp_path / "office.crt", tmp_path / "office.key"
    make_self_signed(cert, key, ["printer.office.example"], ["127.0.0.1"])
    if broken == "garbage":
        cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    else:
        cert.unlink()
    config = tmp_path / "c.yaml"
    config.write_text(f"tls:\n  enabled: on\n  cert: {cert}\n  key: {key}\n")
    argv = [sys.executable, "-m", "connect_core.cli", "serve", "--listen", f"127.0.0.1:{free_port()}",
            "--data-dir", str(tmp_path / "data"), "--config", str(config)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO,
                            env={**os.environ, "PAGERO_PRINTER_DNSSD": "false", "PAGERO_TLS_ENABLED": "on"})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("pagero-connect:")
             and "data in" not in line]
    assert len(lines) == 1 and str(cert) in lines[0], result.stderr
    assert "Traceback" not in result.stderr
