"""The printers bench_ipp.py measures side by side: CUPS ippeveprinter, our serve, and the HTTP floor.

The floor runs as ``python bench/ipp_peers.py --floor PORT``: uvicorn with serve's own protocol class and
settings, answering every Print-Job at once with a fixed success and storing nothing.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.harness import Server, free_port, wait_for_port  # noqa: E402

DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass(frozen=True)
class Target:
    """A running printer: its URI and the process whose CPU time (with its children's) it costs."""

    uri: str
    pid: int
    stores: bool = True
    """False for the HTTP floor, which keeps no jobs (and so has none to wait for)."""


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and every live descendant, including the children each has reaped.

    ippeveprinter reaps its ``/bin/true`` per job; our server's conversion children are
    reaped by its zygote, so both printers' whole work is counted.
    """
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # After the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 1-based from "state" = 3.
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(x) for x in fields[11:15]) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return total


def check_loopback_only(port: int) -> None:
    """Fail unless something listens on ``port`` and every listener there is on a loopback address."""
    loopback = {"0100007F", "00000000000000000000000001000000"}
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                address, _, hex_port = fields[1].partition(":")
                if fields[3] == "0A" and int(hex_port, 16) == port:
                    found.append(address)
    if not found or not set(found) <= loopback:
        raise RuntimeError(f"port {port} listeners {found}: expected loopback only")


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError("no output from dbus-daemon")
    return proc.stdout.readline().strip()


def _stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def ippeveprinter(root: Path, *, tls: bool = False) -> Iterator[Target]:
    """CUPS ippeveprinter on a free loopback port; yields it and stops it (and its D-Bus) after.

    Debian's build initialises Avahi even with ``-r off`` and exits ("Unable to
    initialize DNS-SD") without a system bus, so it gets a private ``dbus-daemon`` on
    a Unix socket in ``root``; no Avahi daemon is on that bus, so nothing is announced.

    It always answers ``ipps://`` on the same port as ``ipp://``.  With ``tls``, ``-K`` points
    it at a private key folder, ``root/ippeve-keys``, where it makes its self-signed certificate
    (RSA 2048, for ``localhost``) at the first TLS connection, or uses the ``localhost.crt`` and
    ``localhost.key`` a caller put there first; without ``-K`` it would make it in the system's
    ``/etc/cups/ssl`` (running as root), which the bench must not touch.
    """
    bus = root / "dbus"
    bus.mkdir()
    config = bus / "bus.conf"
    config.write_text(DBUS_CONFIG.format(socket=bus / "socket"))
    spool = root / "ippeve-spool"
    spool.mkdir()
    keys: list[str] = []
    if tls:
        (root / "ippeve-keys").mkdir(mode=0o700, exist_ok=True)
        keys = ["-K", str(root / "ippeve-keys")]
    port = free_port()
    with ExitStack() as stack:
        dbus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        stack.callback(_stop, dbus)
        address = _first_line(dbus, 10)
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address, "DBUS_SESSION_BUS_ADDRESS": address}
        log = stack.enter_context(open(root / "ippeveprinter.log", "wb"))
        eve = subprocess.Popen(
            ["ippeveprinter", "-n", "localhost", "-p", str(port), "-r", "off", "-c", "/bin/true",
             "-f", "application/pdf", "-d", str(spool), *keys, "BenchEve"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        stack.callback(_stop, eve)
        wait_for_port(port, eve)  # type: ignore[arg-type]
        check_loopback_only(port)
        yield Target(f"ipp://127.0.0.1:{port}/ipp/print", eve.pid)


@contextmanager
def pagero(root: Path, *, tls: bool = False) -> Iterator[Target]:
    """Our printer (``pagero-connect serve``, DNS-SD off) on a free loopback port; yields it and stops it after.

    With ``tls`` it serves ``ipps://`` beside ``ipp://`` on that port (its self-signed certificate is made in
    its data dir); the yielded URI stays ``ipp://``.  Without, plain IPP only (``tls.enabled`` off).
    """
    server = Server(root / "pagero-data", tls=tls).start()
    try:
        assert server.proc is not None
        check_loopback_only(server.port)
        yield Target(server.uri, server.proc.pid)
    finally:
        server.stop()


def floor_main(port: int) -> None:
    """The HTTP floor (``--floor PORT``): read each request whole, answer a fixed Print-Job success."""
    import struct

    import uvicorn

    from ipp.asgi import guarded_http_protocol
    from ipp.codec import Attribute, Group, GroupTag, Message, Tag, encode

    async def app(scope: dict, receive: Callable, send: Callable) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            event = await receive()
            body += event.get("body", b"")
            more = event.get("more_body", False)
        major, minor, _operation, request_id = struct.unpack(">BBHi", body[:8].ljust(8, b"\0"))
        answer = Message((major, minor), 0, request_id)  # the client's version, as RFC 8011 §4.1.8 asks
        answer.groups.append(Group(GroupTag.OPERATION, [
            Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
            Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en")]))
        answer.groups.append(Group(GroupTag.JOB, [
            Attribute.of("job-id", Tag.INTEGER, 1),
            Attribute.of("job-uri", Tag.URI, f"ipp://127.0.0.1:{port}/ipp/print/1"),
            Attribute.of("job-state", Tag.ENUM, 5),
            Attribute.of("job-state-reasons", Tag.KEYWORD, "none")]))
        payload = encode(answer)
        headers = [(b"content-type", b"application/ipp"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off",
                proxy_headers=False, timeout_keep_alive=30, http=guarded_http_protocol(30.0))


@contextmanager
def http_floor() -> Iterator[Target]:
    """The HTTP floor on a free loopback port (see the module's docstring)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--floor", str(port)], cwd=REPO)
    try:
        wait_for_port(port, proc)  # type: ignore[arg-type]
        check_loopback_only(port)
        yield Target(f"ipp://127.0.0.1:{port}/ipp/print", proc.pid, stores=False)
    finally:
        _stop(proc)


def wait_idle(uri: str, timeout: float = 300.0) -> None:
    """Wait until the printer has no unfinished job, so one phase's backlog does not slow the next."""
    from ipp.codec import Attribute, Tag
    from ipp.status import Operation
    from tests.support.ippclient import Client, request

    client = Client(uri)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            response = client.send(request(Operation.GET_PRINTER_ATTRIBUTES, uri,
                                           Attribute.of("requested-attributes", Tag.KEYWORD,
                                                        "queued-job-count", "printer-state")))
            group = response.groups[1] if len(response.groups) > 1 else None
            queued = group.get("queued-job-count") if group is not None else None
            if queued is not None and queued.value == 0:
                return
            time.sleep(0.2)
    finally:
        client.close()
    raise TimeoutError(f"{uri} still busy after {timeout:g} s")


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--floor":
    floor_main(int(sys.argv[2]))
