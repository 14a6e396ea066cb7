"""The printer survives what the network sends: oversize jobs, stalled clients, a full spool.

Each story runs against a real ``pagero-connect serve`` on a loopback port with a
configuration file that makes the limits small (1 MiB jobs, a 2 s idle timeout), and
talks raw HTTP over sockets where a well-behaved client library would hide the point.
"""

from __future__ import annotations

import itertools
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipp.codec import Attribute, Tag, decode, encode
from ipp.status import Operation, StatusCode
from tests.support.cli import cli
from tests.support.fuzzipp import Answer, parse_answer
from tests.support.harness import Server, stray_documents
from tests.support.ippclient import Client, request

LIMIT = 1024 * 1024
"""``limits.max_job_bytes`` of the shared server."""
IDLE = 2
"""``limits.idle_timeout`` of the shared server, in seconds."""
NOMINAL = 2 * 1024**3
"""What the oversize clients claim or try to send: 2 GiB, generated as it goes."""
LIVENESS = 10.0


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


# -- raw HTTP -------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """What one raw connection saw: the bytes the server sent, how much we sent, and whether it closed."""

    received: bytes
    sent: int
    closed: bool

    def answers(self) -> list[Answer]:
        """Every complete HTTP answer in what was received, in order."""
        found: list[Answer] = []
        data = _after_interim(self.received)
        while data:
            answer = parse_answer(data, eof=True)
            assert answer is not None
            found.append(answer)
            data = _after_interim(data[data.index(b"\r\n\r\n") + 4 + len(answer.body) :])
        return found


def _after_interim(data: bytes) -> bytes:
    """``data`` without the ``100 Continue`` answers at its start."""
    while data.startswith(b"HTTP/1.1 100") and b"\r\n\r\n" in data:
        data = data[data.index(b"\r\n\r\n") + 4 :]
    return data


def converse(port: int, head: bytes, pieces: Iterable[bytes] = (), wait_first: float = 0.0,
             deadline: float = 60.0, until_close: bool = True) -> Exchange:
    """Send ``head``, optionally wait ``wait_first`` seconds for an early answer, then send ``pieces``.

    Like a careful IPP client, it watches for an answer while it sends and stops sending
    as soon as one starts; then it reads until the server closes the connection (or
    ``deadline`` passes, which leaves ``closed`` false), or with ``until_close`` false
    until the first whole answer.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head)
    sock.setblocking(False)
    source = iter(pieces)
    pending = memoryview(b"")
    sending = True
    sent = 0
    received = bytearray()
    end = time.monotonic() + deadline
    try:
        if wait_first:
            readable, _, _ = select.select([sock], [], [], wait_first)
            if readable:
                received += sock.recv(1 << 16)
                sending = not _after_interim(bytes(received))

        while time.monotonic() < end:
            if sending and not pending:
                piece = next(source, None)
                if piece is None:
                    sending = False
                else:
                    pending = memoryview(piece)
            readable, writable, _ = select.select([sock], [sock] if sending else [], [], end - time.monotonic())
            if readable:
                try:
                    chunk = sock.recv(1 << 16)
                except ConnectionResetError:
                    chunk = b""
                except BlockingIOError:
                    continue
                if not chunk:
                    return Exchange(bytes(received), sent, True)
                received += chunk
                answer = _after_interim(bytes(received))
                if answer:
                    sending = False  # the server has answered: a careful client stops sending
                    if not until_close and parse_answer(answer, eof=False) is not None:
                        return Exchange(bytes(received), sent, False)
            elif writable:
                try:
                    count = sock.send(pending[: 1 << 16])
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    sending = False
                    continue
                pending = pending[count:]
                sent += count
        return Exchange(bytes(received), sent, False)
    finally:
        sock.close()


def http_head(port: int, *lines: str) -> bytes:
    return "\r\n".join(["POST /ipp/print HTTP/1.1", f"Host: 127.0.0.1:{port}",
                        "Content-Type: application/ipp", *lines, "", ""]).encode()


def print_job_header(server: Server) -> bytes:
    """The attribute section of a Print-Job for a PDF (request-id 4242)."""
    message = request(Operation.PRINT_JOB, server.uri,
                      Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "big one"),
                      Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"))
    message.request_id = 4242
    return encode(message)


def document(total: int, piece: int = 1 << 20) -> Iterator[bytes]:
    """``total`` bytes of a "PDF", made as they are sent (never held whole)."""
    first = b"%PDF-1.4\n" + b"x" * (piece - 9)
    filler = b"x" * piece
    left = total
    while left > 0:
        out = first if left == total else filler
        yield out[:left]
        left -= min(left, piece)


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def job_ids(server: Server) -> set[int]:
    client = Client(server.uri, timeout=LIVENESS)
    try:
        return {int(job["job-id"]) for job in client.get_jobs("all")}  # type: ignore[call-overload]
    finally:
        client.close()


def assert_still_serving(server: Server) -> None:
    client = Client(server.uri, timeout=LIVENESS)
    try:
        attributes = client.printer_attributes("printer-state", "printer-is-accepting-jobs")
    finally:
        client.close()
    assert attributes["printer-is-accepting-jobs"].value is True


def partial_files(server: Server) -> list[Path]:
    """Partial documents left in the spool, once any request still being answered has finished."""
    deadline = time.monotonic() + LIVENESS
    while True:
        found = stray_documents(server.data_dir)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def ipp_status(answer: Answer) -> tuple[int, int]:
    assert answer.status == 200, answer
    message, _ = decode(answer.body)
    return message.code, message.request_id


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


# -- a full spool ------------------------------------------------------------------------------------

FLOOR = 16 * 2**20
"""``limits.min_free_bytes`` on the 64 MiB spool filesystem."""


@pytest.fixture
def small_disk(data_root: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs (mounted by this test, as root) to hold a data dir and a filler file."""
    mount = data_root / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(path: Path, leave_free: int) -> None:
    """Write a filler file until the filesystem holding ``path`` has about ``leave_free`` bytes free."""
    free = shutil.disk_usage(path.parent).free
    with open(path, "ab") as handle:
        handle.write(bytes(max(0, free - leave_free)))


def _printer_state(server: Server) -> tuple[bool, set[str]]:
    client = Client(server.uri, timeout=LIVENESS)
    try:
        attributes = client.printer_attributes("printer-is-accepting-jobs", "printer-state-reasons")
    finally:
        client.close()
    accepting = attributes["printer-is-accepting-jobs"].value
    assert isinstance(accepting, bool)
    return accepting, {str(v) for v in attributes["printer-state-reasons"].plain()}


def _wait_state(server: Server, accepting: bool) -> set[str]:
    deadline = time.monotonic() + LIVENESS
    while True:
        now_accepting, reasons = _printer_state(server)
        if now_accepting == accepting or time.monotonic() > deadline:
            assert now_accepting == accepting, reasons
            return reasons
        time.sleep(0.2)


def _pdf(name: str) -> bytes:
    return b"%PDF-1.4\n% " + name.encode() + b"\n%%EOF\n"


def test_a_full_spool_refuses_new_jobs_and_resumes_when_space_returns(small_disk: Path) -> None:
    config = small_disk.parent / "pagero.yaml"
    config.write_text(f"limits:\n  min_free_bytes: {FLOOR}\n")
    server = Server(small_disk / "data", config).start()
    filler = small_disk / "filler"
    client = Client(server.uri, timeout=LIVENESS)
    try:
        assert client.print_job(_pdf("before")).code == StatusCode.SUCCESSFUL_OK
        before = job_ids(server)
        _fill(filler, leave_free=FLOOR // 2)
        reasons = _wait_state(server, accepting=False)
        assert "spool-area-full" in reasons
        assert client.print_job(_pdf("while full")).code == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
        create = client.send(request(Operation.CREATE_JOB, server.uri))
        assert create.code == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
        assert job_ids(server) == before
        filler.unlink()
        reasons = _wait_state(server, accepting=True)
        assert "spool-area-full" not in reasons
        assert client.print_job(_pdf("after")).code == StatusCode.SUCCESSFUL_OK
    finally:
        client.close()
        server.stop()
    assert not stray_documents(small_disk / "data")
    assert "Traceback" not in server.log_text()


def test_a_job_that_fills_the_disk_is_refused_cleanly(small_disk: Path) -> None:
    """Free space above the floor when the job starts, gone before it ends (ENOSPC while writing)."""
    config = small_disk.parent / "pagero.yaml"
    config.write_text(f"limits:\n  min_free_bytes: {FLOOR}\n")
    server = Server(small_disk / "data", config).start()
    filler = small_disk / "filler"
    client = Client(server.uri, timeout=LIVENESS)
    try:
        _fill(filler, leave_free=FLOOR + 8 * 2**20)
        assert _printer_state(server)[0] is True
        before = job_ids(server)
        ipp = encode(request(Operation.PRINT_JOB, server.uri,
                             Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf")))
        size = 48 * 2**20
        exchange = converse(server.port, http_head(server.port, f"Content-Length: {len(ipp) + size}") + ipp,
                            document(size))
        answers = exchange.answers()
        assert len(answers) == 1
        status, _ = ipp_status(answers[0])
        assert status == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
        assert not stray_documents(small_disk / "data")
        assert job_ids(server) == before
        # The partial document is gone, so the space is back and so is the printer.
        _wait_state(server, accepting=True)
        assert client.print_job(_pdf("small")).code == StatusCode.SUCCESSFUL_OK
    finally:
        client.close()
        server.stop()
    assert "Traceback" not in server.log_text()



def test_an_import_that_fills_the_disk_is_a_clear_error(small_disk: Path, data_root: Path) -> None:
    big = data_root / "big.pdf"
    with open(big, "wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(80 * 2**20)  # more than the 64 MiB disk holds
    result = cli(small_disk / "data", "import", str(big), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"pagero-connect: could not import {big}: No space left on device; "
                                    "nothing was imported"), result.stderr
    assert "Traceback" not in result.stderr
    assert not stray_documents(small_disk / "data")
