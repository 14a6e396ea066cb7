"""The printer survives what the network sends: oversize jobs, malformed HTTP, huge jobs, stalled clients.

Each story runs against a real ``pagero-connect serve`` on a loopback port with a
configuration file that makes the limits small (1 MiB jobs, a 2 s idle timeout), and
talks raw HTTP over sockets where a well-behaved client library would hide the point.
"""

from __future__ import annotations

import itertools
import select
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipp.codec import Attribute, Tag, encode
from ipp.status import Operation, StatusCode
from tests.support.harness import Server
from tests.support.ippclient import Client, request
from tests.support.rawhttp import (
    LIVENESS,
    assert_still_serving,
    chunked,
    converse,
    document,
    http_head,
    ipp_status,
    job_ids,
    partial_files,
    print_job_header,
)

LIMIT = 1024 * 1024
"""``limits.max_job_bytes`` of the shared server."""
IDLE = 2
"""``limits.idle_timeout`` of the shared server, in seconds."""
NOMINAL = 2 * 1024**3
"""What the oversize clients claim or try to send: 2 GiB, generated as it goes."""


@pytest.fixture(scope="module")
def small() -> Iterator[Server]:
    """One server with a 1 MiB job limit and a 2 s idle timeout, for the stories that only need limits."""
    root = Path(tempfile.mkdtemp(prefix="pagero-test-limits-", dir="/var/tmp"))
    config = root / "pagero.yaml"
    config.write_text(f"limits:\n  max_job_bytes: {LIMIT}\n  idle_timeout: {IDLE}\n")
    server = Server(root / "data", config).start()
    try:
        yield server
    finally:
        code = server.stop()
        log = server.log_text()
        shutil.rmtree(root, ignore_errors=True)
        assert code == 0
        assert "Traceback" not in log, log[log.index("Traceback") - 500 :][:3000]


# -- oversize jobs ---------------------------------------------------------------------------------


def test_a_chunked_job_over_the_limit_is_refused_and_the_rest_is_never_read(small: Server) -> None:
    before = job_ids(small)
    exchange = converse(small.port, http_head(small.port, "Transfer-Encoding: chunked"),
                        chunked(itertools.chain([print_job_header(small)], document(NOMINAL))))
    answers = exchange.answers()
    assert len(answers) == 1
    assert ipp_status(answers[0]) == (StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, 4242)
    assert answers[0].headers.get("connection") == "close"
    assert exchange.closed, "the server should close instead of reading the other 2 GiB"
    # Socket buffers hold a few MiB; the server stopped reading long before 2 GiB.
    assert exchange.sent < LIMIT + 64 * 2**20
    assert partial_files(small) == []
    assert job_ids(small) == before
    assert_still_serving(small)


def test_an_honest_content_length_over_the_limit_is_refused_right_after_the_attributes(small: Server) -> None:
    before = job_ids(small)
    ipp = print_job_header(small)
    head = http_head(small.port, f"Content-Length: {len(ipp) + NOMINAL}") + ipp
    # Not one document byte is sent before the answer arrives.
    exchange = converse(small.port, head, document(NOMINAL), wait_first=LIVENESS)
    assert exchange.sent == 0, "the answer must come before any document data is needed"
    answers = exchange.answers()
    assert len(answers) == 1
    assert ipp_status(answers[0]) == (StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, 4242)
    assert exchange.closed
    assert partial_files(small) == []
    assert job_ids(small) == before
    assert_still_serving(small)


def test_with_expect_100_continue_an_oversize_job_is_refused_before_the_body_is_sent(small: Server) -> None:
    before = job_ids(small)
    ipp = print_job_header(small)
    head = http_head(small.port, f"Content-Length: {len(ipp) + NOMINAL}", "Expect: 100-continue")
    exchange = converse(small.port, head, itertools.chain([ipp], document(NOMINAL)), wait_first=LIVENESS)
    assert exchange.sent == 0
    assert not exchange.received.startswith(b"HTTP/1.1 100"), "no 100 Continue for a body that cannot fit"
    answers = exchange.answers()
    assert [a.status for a in answers] == [413]
    assert exchange.closed
    assert job_ids(small) == before
    assert_still_serving(small)


def test_a_job_within_the_limit_still_prints(small: Server) -> None:
    """The refusals above are about size: a document just under the limit is accepted, with 100-continue too."""
    ipp = print_job_header(small)
    size = LIMIT - 10
    head = http_head(small.port, f"Content-Length: {len(ipp) + size}", "Expect: 100-continue")
    exchange = converse(small.port, head, itertools.chain([ipp], document(size)), wait_first=LIVENESS)
    assert exchange.received.startswith(b"HTTP/1.1 100 Continue")
    exchange_answers = exchange.answers()
    assert ipp_status(exchange_answers[0]) == (StatusCode.SUCCESSFUL_OK, 4242)


def test_bytes_beyond_a_lying_content_length_are_refused_as_a_bad_request(small: Server) -> None:
    """``Content-Length: 1024`` followed by 2 GiB: the first 1024 bytes are one whole request;
    what follows is not HTTP, so the server answers 400 and closes instead of reading it."""
    before = job_ids(small)
    ipp = print_job_header(small)
    exchange = converse(small.port, http_head(small.port, "Content-Length: 1024") + ipp, document(NOMINAL))
    answers = exchange.answers()
    assert answers and answers[-1].status == 400
    assert exchange.closed
    assert exchange.sent < 64 * 2**20
    assert partial_files(small) == []
    # The 1024-byte request is complete and valid HTTP: it may become a job, but one that
    # holds only the bytes within the Content-Length.
    client = Client(small.uri, timeout=LIVENESS)
    new = [job for job in client.get_jobs("all") if int(job["job-id"]) not in before]  # type: ignore[call-overload]
    client.close()
    assert len(new) <= 1
    assert all(job["job-k-octets"] == 1 for job in new)
    assert_still_serving(small)


@pytest.mark.parametrize("framing", [
    "Content-Length: -1",
    "Content-Length: 99999999999999999999999",
    "Content-Length: 12, 13",
    "Transfer-Encoding: chunked\r\nContent-Length: 100",
])
def test_malformed_http_framing_is_refused(small: Server, framing: str) -> None:
    """Negative, overflowing, repeated and contradictory lengths (BID 6437 crashed cupsd with one)."""
    before = job_ids(small)
    ipp = print_job_header(small)
    body = b"%x\r\n" % (len(ipp) + 9) + ipp + b"%PDF-1.4\n\r\n0\r\n\r\n" if "chunked" in framing else ipp
    exchange = converse(small.port, http_head(small.port, framing) + body, deadline=LIVENESS)
    answers = exchange.answers()
    assert answers and answers[0].status in (400, 413), answers
    assert exchange.closed
    assert job_ids(small) == before
    assert_still_serving(small)


@pytest.mark.parametrize("size_line", [b"FFFFFFFFFFFF", b"FFFFFFFFFFFFFFFFFFFFFFFF", b"-1", b"0x10"])
def test_absurd_chunk_sizes_are_refused(small: Server, size_line: bytes) -> None:
    """A chunk that claims 256 TiB (or more than 64 bits, or less than nothing) is never waited for."""
    before = job_ids(small)
    ipp = print_job_header(small)
    head = http_head(small.port, "Transfer-Encoding: chunked") + b"%x\r\n" % len(ipp) + ipp + b"\r\n"
    exchange = converse(small.port, head + size_line + b"\r\n", document(NOMINAL), deadline=LIVENESS * 3)
    answers = exchange.answers()
    assert len(answers) == 1
    if answers[0].status == 200:
        assert ipp_status(answers[0])[0] == StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    else:
        assert answers[0].status == 400
    assert exchange.closed
    assert exchange.sent < LIMIT + 64 * 2**20
    assert partial_files(small) == []
    assert job_ids(small) == before
    assert_still_serving(small)


# -- memory ------------------------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _pwg_raster(total: int, piece: int = 1 << 20) -> Iterator[bytes]:
    """``total`` bytes that sniff as PWG raster (so the job is stored) but describe no page
    (so converting it after the test ends quickly)."""
    yield b"RaS2" + bytes(piece - 4)
    left = total - piece
    filler = bytes(piece)
    while left > 0:
        yield filler[:left]
        left -= min(left, piece)


def test_a_300_mb_job_streams_to_disk_without_growing_the_server(data_root: Path) -> None:
    config = data_root / "pagero.yaml"
    config.write_text(f"limits:\n  max_job_bytes: {512 * 2**20}\n")
    server = Server(data_root / "data", config).start()
    size = 300 * 1000 * 1000
    try:
        assert server.proc is not None
        pid = server.proc.pid
        assert_still_serving(server)  # everything a request touches is loaded before the baseline
        baseline = _status_kib(pid, "VmRSS")
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart VmHWM from the current RSS
        samples: list[int] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                samples.append(_status_kib(pid, "VmRSS"))

        sampler = threading.Thread(target=sample)
        sampler.start()
        message = request(Operation.PRINT_JOB, server.uri,
                          Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "image/pwg-raster"))
        ipp = encode(message)
        try:
            exchange = converse(server.port, http_head(server.port, f"Content-Length: {len(ipp) + size}") + ipp,
                                _pwg_raster(size), deadline=600, until_close=False)
        finally:
            done.set()
            sampler.join()
        peak = _status_kib(pid, "VmHWM")
        answers = exchange.answers()
        assert exchange.sent == size
        assert ipp_status(answers[0])[0] == StatusCode.SUCCESSFUL_OK
        growth_mb = (max([peak, *samples]) - baseline) / 1024
        assert growth_mb <= 50, f"server RSS grew {growth_mb:.0f} MB while receiving {size // 10**6} MB"
    finally:
        server.stop()
        for document_file in (data_root / "data" / "spool" / "jobs").glob("*/document*"):
            document_file.unlink()
    assert "Traceback" not in server.log_text()


# -- stalled clients -----------------------------------------------------------------------------------


def _stalls(server: Server) -> dict[str, list[bytes]]:
    """What each kind of stalled client sends before it goes quiet, by kind."""
    ipp = print_job_header(server)
    port = server.port
    return {
        "connects and says nothing": [b""],
        "half a request line": [b"POST /ipp/pr"],
        "headers without their end": [f"POST /ipp/print HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Ty".encode()],
        "part of the attributes": [http_head(port, f"Content-Length: {len(ipp) + 100}") + ipp[:20]],
        "part of the document": [http_head(port, "Transfer-Encoding: chunked") + b"%x\r\n" % (len(ipp) + 9)
                                 + ipp + b"%PDF-1.4\n\r\n" + b"400\r\n%PDF"],
    }


def test_stalled_clients_are_dropped_without_delaying_anyone(small: Server) -> None:
    assert small.proc is not None
    pid = small.proc.pid
    assert_still_serving(small)
    fds_before = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    stalled: list[tuple[str, socket.socket]] = []
    for kind, sends in _stalls(small).items():
        for _ in range(4):
            sock = socket.create_connection(("127.0.0.1", small.port), timeout=LIVENESS)
            for data in sends:
                sock.sendall(data)
            stalled.append((kind, sock))
    # A slowloris client: one header byte every half second, never finishing.
    trickle = socket.create_connection(("127.0.0.1", small.port), timeout=LIVENESS)
    trickle_text = f"POST /ipp/print HTTP/1.1\r\nHost: 127.0.0.1:{small.port}\r\nX-Slow: " + "z" * 1000
    try:
        # While they all hang, a healthy client is served (a liveness bound, not a speed test).
        for _ in range(3):
            assert_still_serving(small)
        # Every stalled connection is closed by the server: silently while headers were
        # incomplete, with 408 Request Timeout once the request had started.
        deadline = time.monotonic() + IDLE + LIVENESS
        closed: dict[int, bytes] = {}
        sent_trickle = 0
        trickle_closed = False
        while time.monotonic() < deadline and (len(closed) < len(stalled) or not trickle_closed):
            socks = [s for i, (_, s) in enumerate(stalled) if i not in closed]
            readable, _, _ = select.select(socks + ([] if trickle_closed else [trickle]), [], [], 0.5)
            for sock in readable:
                if sock is trickle:
                    trickle_closed = True
                    continue
                index = next(i for i, (_, s) in enumerate(stalled) if s is sock)
                closed[index] = _read_to_close(sock)
            if not trickle_closed:
                try:
                    trickle.send(trickle_text[sent_trickle].encode())
                    sent_trickle += 1
                except OSError:
                    trickle_closed = True
        assert trickle_closed, "a client trickling its headers must be dropped at the header deadline"
        assert sent_trickle >= 2, "the trickling client kept sending until it was dropped"
        missing = [stalled[i][0] for i in range(len(stalled)) if i not in closed]
        assert not missing, f"still open after {IDLE + LIVENESS:g} s: {missing}"
        for index, data in closed.items():
            kind = stalled[index][0]
            if kind.startswith("part of"):
                assert data.startswith(b"HTTP/1.1 408"), (kind, data[:100])
            else:
                assert data == b"", (kind, data[:100])
    finally:
        for _, sock in stalled:
            sock.close()
        trickle.close()
    assert_still_serving(small)
    deadline = time.monotonic() + LIVENESS
    while len(list(Path(f"/proc/{pid}/fd").iterdir())) > fds_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list(Path(f"/proc/{pid}/fd").iterdir())) <= fds_before


def _read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    sock.settimeout(LIVENESS)
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
