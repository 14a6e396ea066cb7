"""Raw HTTP over sockets, for the stories where a well-behaved client library would hide the point."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ipp.codec import Attribute, Tag, decode, encode
from ipp.status import Operation
from tests.support.fuzzipp import Answer, parse_answer
from tests.support.harness import Server, stray_documents
from tests.support.ippclient import Client, request

LIVENESS = 10.0


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
