"""``ipp/asgi.py``: the printer as an ASGI app under a real uvicorn on a loopback port.

What the layer promises: an IPP POST to the printer's path is answered with
``application/ipp`` and every other request goes to the fallback app (404 without one);
a body that cannot fit the job size limit is refused (IPP ``client-error-request-entity-too-large``
in an HTTP 200 once the IPP header is known, HTTP 413 before ``100 Continue``) and the
connection is closed instead of reading the rest; chunked bodies, ``Expect: 100-continue``
and gzip/deflate ``Content-Encoding`` work; a client that stops sending its body is answered
408 and dropped after the idle timeout, and one that never finishes its headers is dropped
silently (:func:`guarded_http_protocol`), while everyone else is still served.

Each test runs ``IppApp(Printer(..., MemorySink()), fallback, HttpLimits(...))`` in a uvicorn
server thread and talks to it with ``http.client`` or raw sockets.
"""

from __future__ import annotations

import gzip
import http.client
import select
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import uvicorn

from ipp.asgi import HttpLimits, IppApp, Receive, Scope, Send, guarded_http_protocol
from ipp.asgi import Message as AsgiMessage
from ipp.attributes import PrinterConfig
from ipp.codec import Attribute, GroupTag, Limits, Message, Tag, decode, encode
from ipp.memory import MemorySink
from ipp.printer import Printer
from ipp.status import Operation, StatusCode
from tests.support.fuzzipp import Answer, parse_answer
from tests.support.ipp_requests import group_values, request, status_message

LIMIT = 64 * 1024
"""The printer's ``max_job_bytes`` in these tests."""
LIVENESS = 10.0
"""How long a test waits for something that must happen (a bound on liveness, never a speed claim)."""
SHORT_IDLE = 0.5
"""The idle and header timeout of the servers that test stalled clients."""
PDF = b"%PDF-1.4\n% a small document\n" + b"0123456789" * 300 + b"\n%%EOF\n"


# -- the server under test ---------------------------------------------------------------------------


@dataclass
class Fallback:
    """An ASGI app that records what reached it and answers ``fallback METHOD PATH``."""

    seen: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            event: AsgiMessage = await receive()
            body += event.get("body", b"")
            if not event.get("more_body", False):
                break
        self.seen.append((scope["method"], scope["path"], body))
        text = f"fallback {scope['method']} {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]})
        await send({"type": "http.response.body", "body": text})


@dataclass
class Running:
    port: int
    sink: MemorySink
    fallback: Fallback | None
    since: int = 0
    """Jobs up to this id were made before the current test."""

    @property
    def uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print"

    def jobs(self) -> list[int]:
        """The jobs made since the current test began."""
        return [job.job_id for job in self.sink.list_jobs("all", None, None) if job.job_id > self.since]


@contextmanager
def running(idle: float = LIVENESS, codec: Limits | None = None, with_fallback: bool = True) -> Iterator[Running]:
    """The printer with a memory sink under uvicorn in a thread, on a socket bound to a free loopback port."""
    sink = MemorySink(max_document_bytes=LIMIT, max_total_bytes=16 * LIMIT)
    printer = Printer(PrinterConfig(max_job_bytes=LIMIT), sink)
    fallback = Fallback() if with_fallback else None
    app = IppApp(printer, fallback, HttpLimits(idle_timeout=idle, codec=codec or Limits()))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", log_config=None, access_log=False, lifespan="off",
                            proxy_headers=False, timeout_keep_alive=5, http=guarded_http_protocol(idle))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + LIVENESS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield Running(sock.getsockname()[1], sink, fallback)
    finally:
        server.should_exit = True
        thread.join(LIVENESS)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def shared() -> Iterator[Running]:
    with running() as server:
        yield server


@pytest.fixture
def srv(shared: Running) -> Running:
    """The module's server, with the jobs and fallback requests of earlier tests out of sight."""
    shared.since = max([0, *(job.job_id for job in shared.sink.list_jobs("all", None, None))])
    if shared.fallback is not None:
        shared.fallback.seen.clear()
    return shared


@pytest.fixture
def stalling() -> Iterator[Running]:
    """A server whose idle and header timeouts are short, for the stalled-client tests."""
    with running(idle=SHORT_IDLE) as server:
        yield server


# -- requests and answers -------------------------------------------------------------------------------


def print_job(srv: Running, request_id: int = 4242, *extra: Attribute) -> bytes:
    """The attribute section of a Print-Job for a PDF."""
    return encode(request(Operation.PRINT_JOB, Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"),
                          *extra, uri=srv.uri, request_id=request_id))


def get_printer_attributes(srv: Running, request_id: int = 7) -> bytes:
    return encode(request(Operation.GET_PRINTER_ATTRIBUTES,
                          Attribute.of("requested-attributes", Tag.KEYWORD, "printer-uri-supported",
                                       "printer-is-accepting-jobs"),
                          uri=srv.uri, request_id=request_id))


def post(srv: Running, body: bytes | Iterable[bytes], path: str = "/ipp/print",
         headers: dict[str, str] | None = None, conn: http.client.HTTPConnection | None = None,
         chunked: bool = False) -> tuple[http.client.HTTPResponse, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", srv.port, timeout=LIVENESS)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/ipp", **(headers or {})},
                     encode_chunked=chunked)
        response = conn.getresponse()
        return response, response.read()
    finally:
        if own:
            conn.close()


def ipp_answer(response: http.client.HTTPResponse, payload: bytes) -> Message:
    assert response.status == 200, (response.status, payload[:200])
    assert response.getheader("content-type") == "application/ipp"
    message, rest = decode(payload)
    assert rest == b""
    return message


def still_serving(srv: Running) -> None:
    """A well-behaved client is answered (within the liveness bound)."""
    response, payload = post(srv, get_printer_attributes(srv, request_id=99))
    answer = ipp_answer(response, payload)
    assert (answer.code, answer.request_id) == (StatusCode.SUCCESSFUL_OK, 99)


def head(srv: Running, *lines: str) -> bytes:
    return "\r\n".join(["POST /ipp/print HTTP/1.1", f"Host: 127.0.0.1:{srv.port}", "Content-Type: application/ipp",
                        *lines, "", ""]).encode()


def connect(srv: Running) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=LIVENESS)


def read_answer(sock: socket.socket, data: bytes = b"") -> Answer:
    """The next whole HTTP answer on ``sock`` (``100 Continue`` skipped)."""
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            chunk = b""
        data += chunk
        answer = parse_answer(data, eof=not chunk)
        if answer is not None:
            return answer


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a socket timeout fails the test)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes the connection now that its answer has been read."""
    try:
        return sock.recv(1 << 16) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def ipp_of(answer: Answer) -> Message:
    assert answer.status == 200, answer
    assert answer.headers.get("content-type") == "application/ipp"
    return decode(answer.body)[0]


def send_until_answered(sock: socket.socket, pieces: Iterable[bytes]) -> tuple[int, bytes]:
    """Send ``pieces`` until the server starts answering (or stops reading); returns bytes sent and received."""
    sock.setblocking(False)
    sent = 0
    received = b""
    source = iter(pieces)
    pending = memoryview(b"")
    end = time.monotonic() + 2 * LIVENESS
    try:
        while time.monotonic() < end:
            if not pending:
                piece = next(source, None)
                if piece is None:
                    break
                pending = memoryview(piece)
            readable, writable, _ = select.select([sock], [sock], [], end - time.monotonic())
            if readable:
                try:
                    received = sock.recv(1 << 16)
                except (BlockingIOError, ConnectionResetError):
                    pass
                break
            if writable:
                try:
                    count = sock.send(pending[: 1 << 16])
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
                pending = pending[count:]
                sent += count
        return sent, received
    finally:
        sock.setblocking(True)
        sock.settimeout(LIVENESS)


def filler(total: int, piece: int = 1 << 16) -> Iterator[bytes]:
    """``total`` bytes of a "PDF", made as they are sent."""
    yield b"%PDF-1.4\n" + b"x" * (piece - 9)
    left = total - piece
    block = b"x" * piece
    while left > 0:
        yield block[:left]
        left -= piece


def chunk_frames(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


# -- routing ---------------------------------------------------------------------------------------------


def test_an_ipp_post_to_the_printer_path_is_answered_with_application_ipp(srv: Running) -> None:
    response, payload = post(srv, get_printer_attributes(srv, request_id=31),
                             headers={"Host": "printer.example:8631"})
    answer = ipp_answer(response, payload)
    assert answer.code == StatusCode.SUCCESSFUL_OK
    assert answer.request_id == 31
    printer = group_values(answer, GroupTag.PRINTER)
    # The URIs the printer names follow the Host the client used.
    assert printer["printer-uri-supported"] == "ipp://printer.example:8631/ipp/print"
    assert printer["printer-is-accepting-jobs"] is True
    assert srv.fallback is not None and srv.fallback.seen == []


def test_the_printer_path_with_a_trailing_slash_is_the_printer_too(srv: Running) -> None:
    response, payload = post(srv, get_printer_attributes(srv), path="/ipp/print/")
    assert ipp_answer(response, payload).code == StatusCode.SUCCESSFUL_OK
    assert srv.fallback is not None and srv.fallback.seen == []


def test_a_print_job_stores_its_document_exactly_as_sent(srv: Running) -> None:
    response, payload = post(srv, print_job(srv) + PDF)
    answer = ipp_answer(response, payload)
    assert answer.code == StatusCode.SUCCESSFUL_OK, status_message(answer)
    job_id = group_values(answer, GroupTag.JOB)["job-id"]
    assert isinstance(job_id, int)
    assert srv.sink.document(job_id) == PDF


def test_other_methods_and_paths_go_to_the_fallback_app(srv: Running) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=LIVENESS)
    try:
        for method, path, body in (("GET", "/ipp/print", None), ("GET", "/", None), ("POST", "/api/things", b"x=1"),
                                   ("POST", "/ipp/printer", b"not ipp")):
            conn.request(method, path, body=body)
            response = conn.getresponse()
            assert response.status == 200, (method, path)
            assert response.read() == f"fallback {method} {path}".encode()
    finally:
        conn.close()
    assert srv.fallback is not None
    assert srv.fallback.seen == [("GET", "/ipp/print", b""), ("GET", "/", b""), ("POST", "/api/things", b"x=1"),
                                 ("POST", "/ipp/printer", b"not ipp")]
    assert srv.jobs() == []


def test_without_a_fallback_app_everything_but_ipp_is_not_found() -> None:
    with running(with_fallback=False) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=LIVENESS)
        try:
            for method, path in (("GET", "/"), ("GET", "/ipp/print"), ("POST", "/other")):
                conn.request(method, path, body=b"" if method == "POST" else None)
                response = conn.getresponse()
                response.read()
                assert response.status == 404, (method, path)
        finally:
            conn.close()
        still_serving(srv)


def test_a_post_to_the_printer_path_that_is_not_ipp_is_a_bad_request(srv: Running) -> None:
    response, payload = post(srv, b"hello", headers={"Content-Type": "text/plain"})
    assert response.status == 400
    assert b"application/ipp" in payload
    assert srv.fallback is not None and srv.fallback.seen == []
    assert srv.jobs() == []


def test_several_requests_share_one_keep_alive_connection(srv: Running) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=LIVENESS)
    try:
        for request_id in (1, 2, 3):
            response, payload = post(srv, get_printer_attributes(srv, request_id=request_id), conn=conn)
            assert ipp_answer(response, payload).request_id == request_id
            assert response.getheader("connection") != "close"
        local = conn.sock.getsockname() if conn.sock is not None else None
        response, payload = post(srv, print_job(srv, 4) + PDF, conn=conn)
        assert ipp_answer(response, payload).code == StatusCode.SUCCESSFUL_OK
        assert conn.sock is not None and conn.sock.getsockname() == local, "the connection was not kept"
    finally:
        conn.close()


def test_a_truncated_ipp_message_is_a_bad_request_with_its_request_id(srv: Running) -> None:
    whole = get_printer_attributes(srv, request_id=555)
    response, payload = post(srv, whole[:-1])  # no end-of-attributes tag
    answer = ipp_answer(response, payload)
    assert answer.code == StatusCode.CLIENT_ERROR_BAD_REQUEST
    assert answer.request_id == 555
    still_serving(srv)


def test_an_unknown_content_encoding_is_refused_with_415(srv: Running) -> None:
    response, payload = post(srv, print_job(srv) + PDF, headers={"Content-Encoding": "br"})
    assert response.status == 415
    assert response.getheader("connection") == "close"
    assert srv.jobs() == []


# -- size limits ---------------------------------------------------------------------------------------------


def test_an_honest_content_length_over_the_limit_is_refused_before_the_document_is_sent(srv: Running) -> None:
    ipp = print_job(srv, 4243)
    sock = connect(srv)
    try:
        sock.sendall(head(srv, f"Content-Length: {len(ipp) + 100 * LIMIT}") + ipp)
        # Not one document byte is sent: the answer must come without it.
        answer = read_answer(sock)
        message = ipp_of(answer)
        assert (message.code, message.request_id) == (StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, 4243)
        assert answer.headers.get("connection") == "close"
        assert closed_by_server(sock)
    finally:
        sock.close()
    assert srv.jobs() == []
    still_serving(srv)


def test_with_expect_100_continue_an_oversize_body_gets_413_and_no_continue(srv: Running) -> None:
    ipp = print_job(srv)
    sock = connect(srv)
    try:
        sock.sendall(head(srv, f"Content-Length: {len(ipp) + 100 * LIMIT}", "Expect: 100-continue"))
        data = read_to_close(sock)
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 413"), data[:100]
    assert b"100 Continue" not in data
    answer = parse_answer(data, eof=True)
    assert answer is not None and answer.headers.get("connection") == "close"
    assert srv.jobs() == []
    still_serving(srv)


def test_a_chunked_body_over_the_limit_is_refused_and_the_rest_is_never_read(srv: Running) -> None:
    nominal = 512 * 2**20
    sock = connect(srv)
    try:
        sock.sendall(head(srv, "Transfer-Encoding: chunked"))
        sent, received = send_until_answered(sock, chunk_frames([print_job(srv, 4244), *filler(nominal)]))
        answer = read_answer(sock, received)
        message = ipp_of(answer)
        assert (message.code, message.request_id) == (StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, 4244)
        assert answer.headers.get("connection") == "close"
        assert closed_by_server(sock)
    finally:
        sock.close()
    # Socket buffers hold a few MiB; the server stopped reading long before 512 MiB.
    assert sent < 64 * 2**20
    assert srv.jobs() == []
    still_serving(srv)


def test_an_attribute_section_over_the_codec_limit_is_refused_as_too_large() -> None:
    with running(codec=Limits(max_header_bytes=4096)) as srv:
        big = Attribute.of("document-name", Tag.NAME_WITHOUT_LANGUAGE, "n" * 8000)
        response, payload = post(srv, print_job(srv, 4245, big) + PDF)
        message = ipp_answer(response, payload)
        assert (message.code, message.request_id) == (StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, 4245)
        assert response.getheader("connection") == "close"
        assert srv.jobs() == []
        still_serving(srv)


def test_a_document_just_under_the_limit_is_accepted(srv: Running) -> None:
    document = b"%PDF-1.4\n" + b"x" * (LIMIT - 9)
    response, payload = post(srv, print_job(srv) + document)
    answer = ipp_answer(response, payload)
    assert answer.code == StatusCode.SUCCESSFUL_OK, status_message(answer)
    job_id = group_values(answer, GroupTag.JOB)["job-id"]
    assert isinstance(job_id, int) and srv.sink.document(job_id) == document


# -- chunked bodies and 100-continue ------------------------------------------------------------------------


def test_a_chunked_body_is_read_in_full(srv: Running) -> None:
    ipp = print_job(srv, 4246)
    # The attribute section split across chunks, and the document in pieces of odd sizes.
    pieces = [ipp[:5], ipp[5:17], ipp[17:], PDF[:1], PDF[1:1000], PDF[1000:]]
    response, payload = post(srv, iter(pieces), headers={"Transfer-Encoding": "chunked"}, chunked=True)
    answer = ipp_answer(response, payload)
    assert (answer.code, answer.request_id) == (StatusCode.SUCCESSFUL_OK, 4246), status_message(answer)
    job_id = group_values(answer, GroupTag.JOB)["job-id"]
    assert isinstance(job_id, int) and srv.sink.document(job_id) == PDF


def test_expect_100_continue_is_answered_before_the_body_and_the_job_prints(srv: Running) -> None:
    ipp = print_job(srv, 4247)
    sock = connect(srv)
    try:
        sock.sendall(head(srv, f"Content-Length: {len(ipp) + len(PDF)}", "Expect: 100-continue"))
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = sock.recv(1024)
            assert chunk, "closed before 100 Continue"
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        rest = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        sock.sendall(ipp + PDF)
        message = ipp_of(read_answer(sock, rest))
    finally:
        sock.close()
    assert (message.code, message.request_id) == (StatusCode.SUCCESSFUL_OK, 4247), status_message(message)
    job_id = group_values(message, GroupTag.JOB)["job-id"]
    assert isinstance(job_id, int) and srv.sink.document(job_id) == PDF


# -- Content-Encoding ------------------------------------------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


ENCODERS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": ("gzip", gzip.compress),
    "zlib deflate": ("deflate", zlib.compress),
    "raw deflate": ("deflate", _raw_deflate),
}


@pytest.mark.parametrize("kind", list(ENCODERS))
def test_a_compressed_body_is_decoded_before_the_printer_reads_it(srv: Running, kind: str) -> None:
    encoding, compress = ENCODERS[kind]
    response, payload = post(srv, compress(print_job(srv, 4248) + PDF), headers={"Content-Encoding": encoding})
    answer = ipp_answer(response, payload)
    assert (answer.code, answer.request_id) == (StatusCode.SUCCESSFUL_OK, 4248), status_message(answer)
    job_id = group_values(answer, GroupTag.JOB)["job-id"]
    assert isinstance(job_id, int) and srv.sink.document(job_id) == PDF


def test_a_gzip_body_with_ipp_compression_gzip_is_decoded_once(srv: Running) -> None:
    """CUPS sends ``compression=gzip`` and ``Content-Encoding: gzip`` for one gzip stream: decode it once."""
    ipp = print_job(srv, 4249, Attribute.of("compression", Tag.KEYWORD, "gzip"))
    response, payload = post(srv, gzip.compress(ipp + PDF), headers={"Content-Encoding": "gzip"})
    answer = ipp_answer(response, payload)
    assert answer.code == StatusCode.SUCCESSFUL_OK, status_message(answer)
    job_id = group_values(answer, GroupTag.JOB)["job-id"]
    assert isinstance(job_id, int) and srv.sink.document(job_id) == PDF


def test_a_gzip_body_that_decodes_past_the_limit_is_refused(srv: Running) -> None:
    bomb = gzip.compress(print_job(srv, 4250) + b"%PDF-1.4\n" + bytes(50 * LIMIT))
    assert len(bomb) < LIMIT
    response, payload = post(srv, bomb, headers={"Content-Encoding": "gzip"})
    answer = ipp_answer(response, payload)
    assert (answer.code, answer.request_id) == (StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, 4250)
    assert srv.jobs() == []
    still_serving(srv)


def test_a_body_that_is_not_gzip_is_a_bad_request(srv: Running) -> None:
    response, _payload = post(srv, b"this was never gzip" * 10, headers={"Content-Encoding": "gzip"})
    assert response.status == 400
    assert srv.jobs() == []
    still_serving(srv)


def test_a_gzip_body_cut_short_in_the_document_is_a_bad_request_and_no_job(srv: Running) -> None:
    whole = gzip.compress(print_job(srv, 4251) + PDF + bytes(range(256)) * 64, compresslevel=1)
    response, payload = post(srv, whole[: len(whole) - 40], headers={"Content-Encoding": "gzip"})
    answer = ipp_answer(response, payload)
    assert (answer.code, answer.request_id) == (StatusCode.CLIENT_ERROR_BAD_REQUEST, 4251)
    assert srv.jobs() == []
    still_serving(srv)


# -- stalled clients ----------------------------------------------------------------------------------------------


def _stalled_body_sends(srv: Running) -> dict[str, bytes]:
    ipp = print_job(srv)
    return {
        "part of the attributes": head(srv, f"Content-Length: {len(ipp) + 100}") + ipp[:20],
        "part of the document": head(srv, f"Content-Length: {len(ipp) + 10_000}") + ipp + b"%PDF-1.4\n",
        "part of a chunked document": head(srv, "Transfer-Encoding: chunked") + b"%x\r\n" % (len(ipp) + 9) + ipp
        + b"%PDF-1.4\n\r\n" + b"400\r\n%PDF",
    }


def test_a_client_that_stalls_mid_body_gets_408_and_is_dropped_while_others_are_served(stalling: Running) -> None:
    stalled = []
    for kind, data in _stalled_body_sends(stalling).items():
        sock = connect(stalling)
        sock.sendall(data)
        stalled.append((kind, sock))
    try:
        still_serving(stalling)  # while they hang
        for kind, sock in stalled:
            data = read_to_close(sock)  # a socket timeout (LIVENESS) fails the test: never dropped
            assert data.startswith(b"HTTP/1.1 408"), (kind, data[:100])
    finally:
        for _, sock in stalled:
            sock.close()
    assert stalling.jobs() == []
    still_serving(stalling)


def test_a_client_that_never_finishes_its_headers_is_dropped_silently(stalling: Running) -> None:
    sends = {
        "connects and says nothing": b"",
        "half a request line": b"POST /ipp/pr",
        "headers without their end": f"POST /ipp/print HTTP/1.1\r\nHost: 127.0.0.1:{stalling.port}\r\nContent-Ty"
        .encode(),
    }
    stalled = []
    for kind, data in sends.items():
        sock = connect(stalling)
        sock.sendall(data)
        stalled.append((kind, sock))
    try:
        still_serving(stalling)
        for kind, sock in stalled:
            assert read_to_close(sock) == b"", kind
    finally:
        for _, sock in stalled:
            sock.close()
    still_serving(stalling)


def test_a_client_trickling_header_bytes_is_dropped_at_the_header_deadline(stalling: Running) -> None:
    """Each byte is progress, but the headers must be complete in time (slowloris)."""
    text = f"POST /ipp/print HTTP/1.1\r\nHost: 127.0.0.1:{stalling.port}\r\nX-Slow: " + "z" * 1000
    sock = connect(stalling)
    sent = 0
    try:
        deadline = time.monotonic() + LIVENESS
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], SHORT_IDLE / 5)
            if readable:
                break
            try:
                sock.send(text[sent].encode())
            except OSError:
                break
            sent += 1
        else:
            pytest.fail(f"still open after {LIVENESS:g} s of trickling")
        assert read_to_close(sock) == b""
    finally:
        sock.close()
    assert sent >= 2, "the client kept sending until it was dropped"
    still_serving(stalling)


def test_a_kept_alive_connection_waits_for_its_next_request_beyond_the_header_deadline(stalling: Running) -> None:
    """The header deadline runs from a request's first byte, not while a connection idles between requests."""
    conn = http.client.HTTPConnection("127.0.0.1", stalling.port, timeout=LIVENESS)
    try:
        response, payload = post(stalling, get_printer_attributes(stalling, request_id=1), conn=conn)
        assert ipp_answer(response, payload).request_id == 1
        sock = conn.sock
        time.sleep(3 * SHORT_IDLE)  # longer than the header deadline, shorter than the keep-alive timeout
        response, payload = post(stalling, get_printer_attributes(stalling, request_id=2), conn=conn)
        assert ipp_answer(response, payload).request_id == 2
        assert conn.sock is sock, "http.client had to reconnect: the idle connection was dropped"
    finally:
        conn.close()
