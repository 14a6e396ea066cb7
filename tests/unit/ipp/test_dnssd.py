"""DNS-SD: a client on the network finds the printer, and its TXT record says what the printer says.

The acceptance test builds its own network out of two namespaces joined by a veth pair, runs
``pagero-connect serve`` in one and browses with python-zeroconf from the other, so no packet
touches the machine's own interfaces.  Run as root (as ``make test`` is); without namespaces the
test fails, it never skips.

The browsing side is this file run as a program (``python -m tests.unit.ipp.test_dnssd browse ...``) inside
the client namespace; it prints what it found as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipp.attributes import DOCUMENT_FORMATS, URF_SUPPORTED, PrinterConfig
from ipp.dnssd import Advertiser, admin_url, paper_max, txt_record
from tests.support.harness import REPO
from tests.support.privilege import as_root, in_netns

IPP = "_ipp._tcp.local."
TYPES = (IPP, "_print._sub._ipp._tcp.local.", "_universal._sub._ipp._tcp.local.", "_printer._tcp.local.")
SECURE_TYPES = ("_ipps._tcp.local.", "_print._sub._ipps._tcp.local.", "_universal._sub._ipps._tcp.local.")
TXT_KEYS = {
    "txtvers", "qtotal", "rp", "ty", "adminurl", "note", "pdl", "UUID", "URF", "Color", "Duplex", "kind",
    "PaperMax", "product", "priority", "air",
}


# -- the TXT record, built from the printer's attributes -------------------------------------------


def test_txt_record_has_every_key_from_the_printer_attributes() -> None:
    config = PrinterConfig(uuid="urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", location="Stockholm, floor 3",
                           make_and_model="Pagero Connect Printer")
    txt = txt_record(config, "http://pagero-1b4e28ba.local:8631/")
    assert set(txt) == TXT_KEYS
    assert txt["txtvers"] == "1" and txt["qtotal"] == "1" and txt["priority"] == "0"
    assert txt["rp"] == "ipp/print"
    assert txt["ty"] == "Pagero Connect Printer"
    assert txt["adminurl"] == "http://pagero-1b4e28ba.local:8631/"
    assert txt["note"] == "Stockholm, floor 3"
    assert txt["pdl"].split(",") == [f for f in DOCUMENT_FORMATS if f != "application/octet-stream"]
    assert {"application/pdf", "image/pwg-raster", "image/urf", "image/jpeg"} <= set(txt["pdl"].split(","))
    assert txt["UUID"] == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    assert txt["URF"] == ",".join(URF_SUPPORTED) and txt["URF"]
    assert (txt["Color"], txt["Duplex"], txt["kind"], txt["air"]) == ("T", "T", "document", "none")
    assert txt["product"] == "(Pagero Printer)"
    # media-supported includes A3, so the largest paper class is tabloid-A3, not legal-A4.
    assert txt["PaperMax"] == "tabloid-A3"


def test_txt_values_follow_the_configuration_and_fit_a_txt_string() -> None:
    config = PrinterConfig(name="Reception", location="Ö" * 127, make_and_model="Another Model")
    txt = txt_record(config, "http://x.local:1/", "/ipp/other")
    assert txt["rp"] == "ipp/other" and txt["ty"] == "Another Model"
    assert txt["product"] == "(Pagero Printer)"  # the product, not the name someone gave this printer
    for key, value in txt.items():
        assert len(f"{key}={value}".encode()) <= 255, key
    assert txt["note"] and set(txt["note"]) == {"Ö"}


def test_paper_max_classes() -> None:
    a4, legal, a3, a2 = (21000, 29700), (21590, 35560), (29700, 42000), (42000, 59400)
    assert paper_max([(10500, 14800)]) == "<legal-A4"
    assert paper_max([a4, legal]) == "legal-A4"
    assert paper_max([a4, a3]) == "tabloid-A3"
    assert paper_max([a2]) == "isoC-A2"
    assert paper_max([(84100, 118900)]) == ">isoC-A2"


def test_advertiser_failure_is_a_warning_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    # 2001:db8::/32 is for documentation: no interface has it, so zeroconf cannot start.
    advertiser = Advertiser(PrinterConfig(), "2001:db8::1", 8631)
    with caplog.at_level(logging.WARNING, logger="ipp.dnssd"):
        advertiser.start()
        assert advertiser._thread is not None
        advertiser._thread.join(10)
    advertiser.stop()
    assert not advertiser.registered.is_set()
    assert any("DNS-SD advertising is off" in r.getMessage() for r in caplog.records)


# -- the acceptance test: browse from another network namespace ---------------------------------------


@dataclass
class Network:
    server_ns: str
    client_ns: str
    server_ip: str
    client_ip: str


def _ip(*args: str) -> None:
    subprocess.run(as_root(["ip", *args]), check=True, capture_output=True, timeout=10)


@contextmanager
def two_namespaces() -> Iterator[Network]:
    """A server and a client namespace joined by a veth pair; both removed afterwards."""
    tag = secrets.token_hex(3)
    subnet = int(tag[:2], 16)
    net = Network(f"pgdnssd-s-{tag}", f"pgdnssd-c-{tag}", f"10.231.{subnet}.1", f"10.231.{subnet}.2")
    try:
        _ip("netns", "add", net.server_ns)
        _ip("netns", "add", net.client_ns)
        # Both ends are created directly inside their namespaces: the host never sees them.
        _ip("link", "add", f"pgs{tag}", "netns", net.server_ns, "type", "veth",
            "peer", "name", f"pgc{tag}", "netns", net.client_ns)
        for ns, dev, address in ((net.server_ns, f"pgs{tag}", net.server_ip),
                                 (net.client_ns, f"pgc{tag}", net.client_ip)):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "multicast", "on", "up")
        yield net
    finally:
        for ns in (net.client_ns, net.server_ns):
            subprocess.run(as_root(["ip", "netns", "del", ns]), capture_output=True, timeout=10)


@contextmanager
def serve_in(ns: str, listen: str, data_dir: Path, **env: str) -> Iterator[Path]:
    """``pagero-connect serve --listen LISTEN`` inside ``ns`` with DNS-SD on; yields its log file."""
    environment = {**os.environ, "PAGERO_PRINTER_DNSSD": "true", "PYTHONUNBUFFERED": "1", **env}
    log = data_dir.parent / f"{data_dir.name}-serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            in_netns(ns, [sys.executable, "-m", "connect_core.cli", "serve", "--listen", listen,
                          "--data-dir", str(data_dir)]),
            stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=REPO,
        )
    try:
        yield log
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_line(log: Path, text: str, timeout: float = 20.0) -> str:
    """The first line of ``log`` containing ``text``, waiting for it to be written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if text in line:
                return line
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {log}:\n{log.read_text(errors='replace')[-3000:]}")


def browse_in(ns: str, interface: str, name: str, connect: str = "", timeout: float = 20.0,
              secure: bool = False) -> dict:
    """Run :func:`browse` inside ``ns`` and return what it printed."""
    argv = [sys.executable, "-m", "tests.unit.ipp.test_dnssd", "browse",
            "--interface", interface, "--name", name, "--timeout", str(timeout)]
    if connect:
        argv += ["--connect", connect]
    if secure:
        argv.append("--secure")
    argv = in_netns(ns, argv)
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=timeout + 20)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_client_in_another_namespace_finds_the_printer(data_root: Path) -> None:
    started = time.monotonic()
    with two_namespaces() as net:
        # A second printer in the same namespace listens on loopback only: it must not be seen outside.
        with serve_in(net.server_ns, f"{net.server_ip}:8631", data_root / "lan") as lan_log, \
                serve_in(net.server_ns, "127.0.0.1:8632", data_root / "loopback",
                         PAGERO_PRINTER_NAME="Pagero Loopback") as loopback_log:
            local = browse_in(net.server_ns, "127.0.0.1", "Pagero Loopback")
            assert local["complete"], (local, loopback_log.read_text())
            assert local["ipp"]["addresses"] == ["127.0.0.1"] and local["ipp"]["port"] == 8632

            seen = browse_in(net.client_ns, net.client_ip, "Pagero Printer", connect=net.server_ip)
            assert seen["complete"], (seen, lan_log.read_text())

            # A printer with the same name joining the network is renamed, all its services alike.  It runs
            # on the other host (the client namespace) so that the first printer's unicast answer to its
            # probe reaches it and no other program bound to port 5353 on the same address.
            with serve_in(net.client_ns, f"{net.client_ip}:8633", data_root / "same-name") as same_log:
                advertising = wait_for_line(same_log, "DNS-SD: advertising")
                renamed = browse_in(net.client_ns, net.client_ip, "Pagero Printer-2")
                assert renamed["complete"], (renamed, same_log.read_text())
            logs = lan_log.read_text() + loopback_log.read_text() + same_log.read_text()

    # Only the printers that listen on this network are announced on it.
    assert not any("Loopback" in name for names in seen["found"].values() for name in names), seen["found"]
    full_name = f"Pagero Printer.{IPP}"
    for service_type in TYPES[:3]:
        assert seen["found"][service_type] == [full_name], service_type
    assert seen["found"][TYPES[3]] == [f"Pagero Printer.{TYPES[3]}"]
    assert seen["printer_port"] == 0

    ipp, gpa, txt = seen["ipp"], seen["gpa"], seen["ipp"]["txt"]
    assert ipp["port"] == 8631
    assert ipp["addresses"] == [net.server_ip]  # the advertised host name resolves to the listen address
    assert set(txt) == TXT_KEYS
    assert txt["UUID"] == gpa["printer-uuid"].removeprefix("urn:uuid:")
    assert txt["adminurl"] == gpa["printer-more-info"]
    assert txt["rp"] == "ipp/print"
    assert txt["URF"] and txt["URF"].split(",") == gpa["urf-supported"]
    assert txt["pdl"].split(",") == [f for f in gpa["document-format-supported"] if f != "application/octet-stream"]
    assert txt["ty"] == gpa["printer-make-and-model"]

    assert "'Pagero Printer-2'" in advertising
    assert renamed["ipp"]["port"] == 8633 and renamed["printer_port"] == 0
    assert renamed["ipp"]["addresses"] == [net.client_ip]
    assert renamed["ipp"]["txt"]["UUID"] != txt["UUID"]
    assert "DNS-SD advertising is off" not in logs and "Traceback" not in logs
    print(f"DNS-SD acceptance: {time.monotonic() - started:.1f} s")


def test_a_printer_with_tls_is_found_as_ipps_too(data_root: Path) -> None:
    with two_namespaces() as net:
        with serve_in(net.server_ns, f"{net.server_ip}:8631", data_root / "tls", PAGERO_TLS_ENABLED="on") as log:
            seen = browse_in(net.client_ns, net.client_ip, "Pagero Printer", secure=True)
            assert seen["complete"], (seen, log.read_text())
    for service_type in SECURE_TYPES:
        assert seen["found"][service_type] == [f"Pagero Printer.{SECURE_TYPES[0]}"], service_type
    secured, plain = seen["ipps"]["txt"], seen["ipp"]["txt"]
    assert seen["ipps"]["port"] == seen["ipp"]["port"] == 8631  # one port serves both
    assert secured["TLS"] == "1.2" and "TLS" not in plain
    assert secured["adminurl"].startswith("https://") and plain["adminurl"] == secured["adminurl"]
    assert secured["UUID"] == plain["UUID"] and set(secured) == TXT_KEYS | {"TLS"}


def test_the_txt_record_says_tls_only_for_ipps() -> None:
    config = PrinterConfig(tls=True)
    assert txt_record(config, admin_url(config, 8631), secure=True)["TLS"] == "1.2"
    assert "TLS" not in txt_record(config, admin_url(config, 8631))
    assert admin_url(config, 8631).startswith("https://")
    assert admin_url(PrinterConfig(), 8631).startswith("http://")


# -- the browsing side, run inside the client namespace -----------------------------------------------


def browse(interface: str, name: str, timeout: float, connect: str, secure: bool = False) -> dict:
    """Browse every printer type on ``interface`` until ``name`` is seen in all of them, or ``timeout``.

    With ``connect``, also asks the printer for its attributes the way a DNS-SD client does: at the
    resolved address, naming the advertised host in the Host header.
    """
    from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

    types = TYPES + (SECURE_TYPES if secure else ())
    found: dict[str, set[str]] = {t: set() for t in types}

    class Listener(ServiceListener):
        def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            found[type_].add(name)

        def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            found[type_].add(name)

        def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            found[type_].discard(name)

    zc = Zeroconf(interfaces=[interface])
    browsers = [ServiceBrowser(zc, t, Listener()) for t in types]
    wanted = {t: f"{name}.{t.split('._sub.')[-1]}" for t in types}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(wanted[t] in found[t] for t in types):
        time.sleep(0.1)
    complete = all(wanted[t] in found[t] for t in types)
    result: dict = {"complete": complete, "found": {t: sorted(names) for t, names in found.items()}}
    if complete:
        info = zc.get_service_info(IPP, wanted[IPP], timeout=5000)
        holder = zc.get_service_info(TYPES[3], wanted[TYPES[3]], timeout=5000)
        assert info is not None and holder is not None
        result["ipp"] = {
            "port": info.port, "server": info.server, "addresses": info.parsed_addresses(),
            "txt": {k.decode(): (v or b"").decode() for k, v in info.properties.items()},
        }
        result["printer_port"] = holder.port
        if secure:
            secured = zc.get_service_info(SECURE_TYPES[0], wanted[SECURE_TYPES[0]], timeout=5000)
            assert secured is not None
            result["ipps"] = {"port": secured.port,
                              "txt": {k.decode(): (v or b"").decode() for k, v in secured.properties.items()}}
        if connect:
            result["gpa"] = _printer_attributes(connect, info.port or 0, f"{str(info.server).rstrip('.')}:{info.port}")
    for browser in browsers:
        browser.cancel()
    zc.close()
    return result


def _printer_attributes(address: str, port: int, host: str) -> dict[str, object]:
    from ipp.codec import Attribute, GroupTag, Tag, decode, encode
    from ipp.status import Operation
    from tests.support.ippclient import request

    names = ("printer-uuid", "printer-more-info", "urf-supported", "document-format-supported",
             "printer-make-and-model")
    message = request(Operation.GET_PRINTER_ATTRIBUTES, f"ipp://{host}/ipp/print",
                      Attribute.of("requested-attributes", Tag.KEYWORD, *names))
    deadline = time.monotonic() + 20
    while True:
        try:
            conn = http.client.HTTPConnection(address, port, timeout=10)
            conn.request("POST", "/ipp/print", body=encode(message),
                         headers={"Host": host, "Content-Type": "application/ipp"})
            data = conn.getresponse().read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    response = decode(data)[0]
    attrs = {a.name: a.plain() for g in response.groups_of(GroupTag.PRINTER) for a in g.attributes}
    return {n: (attrs[n] if n.endswith("-supported") else attrs[n][0]) for n in names}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["browse"])
    parser.add_argument("--interface", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--connect", default="")
    parser.add_argument("--secure", action="store_true", help="look for _ipps._tcp too")
    args = parser.parse_args()
    print(json.dumps(browse(args.interface, args.name, args.timeout, args.connect, args.secure)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
