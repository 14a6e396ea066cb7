"""The CUPS ``fuzzipp`` method in Python, aimed at a running printer over HTTP.

CUPS (``cups/fuzzipp.c``) builds one Print-Job with every common value tag and
mutates it: each cycle overwrites 1-7 bytes or swaps two runs of 1-8 bytes.  Here each
case starts from a clean request (a Print-Job most of the time, other operations the
rest), applies 1-32 such cycles or cuts it short, and is POSTed to ``/ipp/print``.  In
front of the random cases come structured seeds for the bug classes CUPS has shipped
fixes for (bad lengths, request-id 0, version 0.0, tag 0x7F, 0-length values, 10k and
100k attributes, collections 1000 deep, a 65,535-byte name, invalid UTF-8, negative
integers, bad dateTime, ...).

Cases are a pure function of ``(seed, index)``, so a failure names a case that can be
made again.  The test (``tests/test_fuzz.py``) and the benchmark (``bench/bench_fuzz.py``)
share :func:`cases`, :class:`Poster` and :func:`run`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import random
import select
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ipp.codec import (
    Attribute,
    Collection,
    Group,
    GroupTag,
    Message,
    ProtocolError,
    Range,
    Resolution,
    StringWithLanguage,
    Tag,
    Value,
    decode,
    encode,
)
from ipp.status import Operation, StatusCode

PATH = "/ipp/print"
DOCUMENT = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
"""A small document sent with every Print-Job and Send-Document."""

MAX_CYCLES = 32
"""Mutation cycles per random case, at most (CUPS uses 32)."""


@dataclass(frozen=True)
class Case:
    """One request body to send, and a name that says how it was made."""

    index: int
    name: str
    body: bytes


# -- well-formed requests -------------------------------------------------------------------


def _op_group(uri: str, *extra: Attribute) -> Group:
    return Group(GroupTag.OPERATION, [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"),
        Attribute.of("printer-uri", Tag.URI, uri),
        Attribute.of("requesting-user-name", Tag.NAME_WITHOUT_LANGUAGE, "john-doe"),
        *extra,
    ])


def print_job(uri: str, request_id: int = 1) -> Message:
    """A Print-Job with all common value tags in its operation and job groups (as CUPS builds it)."""
    media_size = Collection([
        Attribute.of("x-dimension", Tag.INTEGER, 21000),
        Attribute.of("y-dimension", Tag.INTEGER, 29700),
    ])
    media_col = Collection([
        Attribute("media-size", [Value(Tag.BEG_COLLECTION, media_size)]),
        Attribute.of("media-color", Tag.KEYWORD, "blue"),
        Attribute.of("media-type", Tag.KEYWORD, "stationery"),
    ])
    operation = _op_group(
        uri,
        Attribute.of("job-name", Tag.NAME_WITH_LANGUAGE, StringWithLanguage("es-MX", "Factura José")),
        Attribute.of("document-name", Tag.NAME_WITHOUT_LANGUAGE, "invoice-1001.pdf"),
        Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"),
        Attribute.of("ipp-attribute-fidelity", Tag.BOOLEAN, False),
        Attribute.of("job-k-octets", Tag.INTEGER, 1),
        Attribute.of("compression", Tag.KEYWORD, "none"),
        Attribute.of("job-password", Tag.OCTET_STRING, b"8675309"),
        Attribute.of("job-password-encryption", Tag.KEYWORD, "none"),
        Attribute.of("job-originating-host-name", Tag.NAME_WITHOUT_LANGUAGE, "erp-01"),
    )
    job = Group(GroupTag.JOB, [
        Attribute.of("print-color-mode", Tag.KEYWORD, "color"),
        Attribute.of("print-quality", Tag.ENUM, 5),
        Attribute.of("printer-resolution", Tag.RESOLUTION, Resolution(600, 600, 3)),
        Attribute.of("copies", Tag.INTEGER, 2),
        Attribute.of("sides", Tag.KEYWORD, "two-sided-long-edge"),
        Attribute.of("finishings", Tag.ENUM, 3, 3),
        Attribute.of("page-ranges", Tag.RANGE_OF_INTEGER, Range(1, 5), Range(7, 50)),
        Attribute.of("some-boolean-option", Tag.BOOLEAN, True),
        Attribute.of("some-uri-scheme", Tag.URI_SCHEME, "mailto"),
        Attribute.of("some-text-with-language", Tag.TEXT_WITH_LANGUAGE, StringWithLanguage("es-MX", "¡Hola el mundo!")),
        Attribute.of("job-hold-until-time", Tag.DATE_TIME, _date()),
        Attribute.of("job-message-to-operator", Tag.TEXT_WITHOUT_LANGUAGE, "This is a test job."),
        Attribute.of("media", Tag.KEYWORD, "iso_a4_210x297mm"),
        Attribute("media-col", [Value(Tag.BEG_COLLECTION, media_col)]),
        Attribute.of("orientation-requested", Tag.ENUM, 3),
        Attribute.of("job-priority", Tag.INTEGER, 50),
    ])
    return Message((2, 0), Operation.PRINT_JOB, request_id, [operation, job])


def _date() -> dt.datetime:
    return dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.UTC)


def _other_requests(uri: str) -> list[tuple[str, bytes]]:
    """Well-formed requests for the other operations, each with the document data it takes."""
    gzipped = gzip.compress(DOCUMENT, mtime=0)

    def simple(code: int, *extra: Attribute, document: bytes = b"") -> bytes:
        return encode(Message((1, 1), code, 7, [_op_group(uri, *extra)])) + document

    return [
        ("Print-Job gzip", simple(
            Operation.PRINT_JOB,
            Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"),
            Attribute.of("compression", Tag.KEYWORD, "gzip"),
            document=gzipped,
        )),
        ("Validate-Job", simple(Operation.VALIDATE_JOB, Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "v"))),
        ("Create-Job", simple(Operation.CREATE_JOB, Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, "c"))),
        ("Send-Document", simple(
            Operation.SEND_DOCUMENT, Attribute.of("job-id", Tag.INTEGER, 1),
            Attribute.of("last-document", Tag.BOOLEAN, True),
            Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"), document=DOCUMENT,
        )),
        ("Get-Printer-Attributes", simple(
            Operation.GET_PRINTER_ATTRIBUTES,
            Attribute.of("requested-attributes", Tag.KEYWORD, "printer-description", "media-col-database"),
            Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/pdf"),
        )),
        ("Get-Jobs", simple(
            Operation.GET_JOBS, Attribute.of("which-jobs", Tag.KEYWORD, "all"),
            Attribute.of("my-jobs", Tag.BOOLEAN, True), Attribute.of("limit", Tag.INTEGER, 5),
            Attribute.of("requested-attributes", Tag.KEYWORD, "job-id", "job-state"),
        )),
        ("Get-Job-Attributes", simple(Operation.GET_JOB_ATTRIBUTES, Attribute.of("job-id", Tag.INTEGER, 1))),
        ("Cancel-Job", simple(Operation.CANCEL_JOB, Attribute.of("job-uri", Tag.URI, uri + "/2"))),
        ("Cancel-My-Jobs", simple(Operation.CANCEL_MY_JOBS, Attribute.of("job-ids", Tag.INTEGER, 3, 4))),
        ("Close-Job", simple(Operation.CLOSE_JOB, Attribute.of("job-id", Tag.INTEGER, 5))),
        ("Identify-Printer", simple(Operation.IDENTIFY_PRINTER,
                                    Attribute.of("identify-actions", Tag.KEYWORD, "display"))),
    ]


def templates(uri: str) -> list[tuple[str, bytes]]:
    """The clean requests random cases start from; the first (the full Print-Job) is the main one."""
    return [("Print-Job", encode(print_job(uri)) + DOCUMENT), *_other_requests(uri)]


# -- mutation (cups/fuzzipp.c fuzzdata) ---------------------------------------------------------


def mutate(data: bytes, rng: random.Random, cycles: int) -> bytes:
    """``cycles`` rounds of: overwrite 1-7 random bytes (7 in 8) or swap two runs of 1-8 bytes."""
    buf = bytearray(data)
    for _ in range(cycles):
        choice = rng.randrange(8)
        if choice < 7:
            length = choice + 1
            pos = rng.randrange(len(buf) - length)
            buf[pos : pos + length] = rng.randbytes(length)
        else:
            length = rng.randrange(8) + 1
            pos, pos2 = rng.randrange(len(buf) - length), rng.randrange(len(buf) - length)
            first, second = bytes(buf[pos : pos + length]), bytes(buf[pos2 : pos2 + length])
            buf[pos2 : pos2 + length] = first
            buf[pos : pos + length] = second
    return bytes(buf)


def random_case(uri: str, seed: int, index: int, bases: list[tuple[str, bytes]] | None = None) -> Case:
    """Case ``index`` of the random stream for ``seed``: a mutated (or truncated) clean request."""
    rng = random.Random(f"fuzzipp:{seed}:{index}")
    bases = bases or templates(uri)
    name, base = bases[0] if rng.random() < 0.6 else rng.choice(bases[1:])
    roll = rng.random()
    if roll < 0.1:
        cut = rng.randrange(len(base))
        return Case(index, f"{name} truncated at {cut}", base[:cut])
    # Log-uniform from 1 to 32: few mutations get past the parser to the checks behind it,
    # many mutations stress the parser.
    cycles = int(MAX_CYCLES ** rng.random())
    body = mutate(base, rng, cycles)
    if roll < 0.2:
        cut = rng.randrange(len(body))
        return Case(index, f"{name} x{cycles} mutations, truncated at {cut}", body[:cut])
    return Case(index, f"{name} x{cycles} mutations", body)


def cases(uri: str, seed: int, count: int) -> Iterator[Case]:
    """``count`` cases: every structured seed first (as far as ``count`` goes), then random ones."""
    from tests.support.fuzzseeds import edge_seeds  # the seeds build on this module's requests

    seeds = edge_seeds(uri)
    bases = templates(uri)
    for index in range(count):
        if index < len(seeds):
            name, body = seeds[index]
            yield Case(index, f"seed: {name}", body)
        else:
            yield random_case(uri, seed, index, bases)


# -- sending ------------------------------------------------------------------------------------


class Hang(Exception):
    """No complete answer arrived in time."""


@dataclass
class Answer:
    """One HTTP answer: status, lower-case headers, body, and whether the connection stays open."""

    status: int
    headers: dict[str, str]
    body: bytes
    reusable: bool


class Poster:
    """POSTs bodies to one printer over a keep-alive connection, reconnecting when the server closes it.

    It keeps reading while it sends, the way CUPS clients do, so an answer the server
    sends before the body is read (and the reset that follows when it closes) is seen.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0,
                 tls: ssl.SSLContext | None = None, authorization: str | None = None) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.tls, self.authorization = tls, authorization
        self._sock: socket.socket | None = None
        self.connections = 0

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def post(self, body: bytes, path: str = PATH, content_type: str = "application/ipp") -> Answer:
        """Send one request and return its answer; raises :class:`Hang` after ``timeout`` seconds."""
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            if self.tls is not None:  # the handshake blocking, the exchange not
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
            sock.setblocking(False)
            self._sock = sock
            self.connections += 1
        sock = self._sock
        credentials = f"Authorization: {self.authorization}\r\n" if self.authorization else ""
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: {content_type}\r\n"
                f"{credentials}Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            answer = self._exchange(sock, memoryview(head + body))
        except BaseException:
            self.close()
            raise
        if not answer.reusable:
            self.close()
        return answer

    def _exchange(self, sock: socket.socket, data: memoryview) -> Answer:
        deadline = time.monotonic() + self.timeout
        sent, received = 0, bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Hang(f"no answer after {self.timeout:g} s ({sent} of {len(data)} bytes sent)")
            writers = [sock] if sent < len(data) else []
            if isinstance(sock, ssl.SSLSocket) and sock.pending():  # decrypted bytes select cannot see
                readable, writable = [sock], []
            else:
                readable, writable, _ = select.select([sock], writers, [], remaining)
            if readable:
                try:
                    chunk = sock.recv(1 << 16)
                except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                    chunk = b""
                except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue
                received += chunk
                answer = parse_answer(bytes(received), eof=not chunk)
                if answer is not None:
                    answer.reusable = answer.reusable and sent == len(data) and bool(chunk)
                    return answer
            elif writable:
                try:
                    sent += sock.send(data[sent : sent + (1 << 16)])
                except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue
                except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
                    sent = len(data)  # the server stopped reading; its answer may still be there


def parse_answer(data: bytes, eof: bool) -> Answer | None:
    """The answer in ``data`` once it is complete; None if more is needed.  Raises at EOF without one."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if eof:
            raise ConnectionError(f"connection closed without an answer ({len(data)} bytes received)")
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    rest = data[end + 4 :]
    if status == 100:
        return parse_answer(rest, eof) if rest or eof else None
    length = int(headers.get("content-length", "-1"))
    if length < 0:
        if not eof:
            return None
        length = len(rest)
    if len(rest) < length:
        if eof:
            raise ConnectionError(f"connection closed {length - len(rest)} bytes into the answer body")
        return None
    return Answer(status, headers, rest[:length], "close" not in headers.get("connection", "").lower())


# -- judging ------------------------------------------------------------------------------------


def check_answer(case: Case, answer: Answer) -> str | None:
    """Why ``answer`` is not acceptable for ``case``, or None if it is.

    Acceptable: a decodable IPP response (status class 0x00, 0x04 or 0x05, but never
    server-error-internal-error, which only an unexpected exception produces) with the
    request's request-id, or a plain HTTP 400/413.  Never a 5xx, never a traceback.
    """
    if b"Traceback" in answer.body:
        return f"traceback in the answer (HTTP {answer.status})"
    if answer.status in (400, 413):
        return None
    if answer.status != 200:
        return f"HTTP {answer.status}: {answer.body[:120]!r}"
    if answer.headers.get("content-type") != "application/ipp":
        return f"HTTP 200 with Content-Type {answer.headers.get('content-type')!r}"
    try:
        response, rest = decode(answer.body)
    except ProtocolError as error:
        return f"answer is not a well-formed IPP message: {error}"
    if rest:
        return f"{len(rest)} bytes after the IPP response"
    if response.code >> 8 not in (0x00, 0x04, 0x05):
        return f"status 0x{response.code:04x} is not 0x00xx, 0x04xx or 0x05xx"
    if response.code == StatusCode.SERVER_ERROR_INTERNAL_ERROR:
        return "server-error-internal-error (an unexpected exception in the server)"
    if len(case.body) >= 8 and response.request_id != struct.unpack(">i", case.body[4:8])[0]:
        return f"request-id {response.request_id} does not echo the request's"
    return None


def outcome(answer: Answer) -> str:
    """A label for counting answers: ``ipp 0x0400`` or ``http 413``."""
    if answer.status == 200 and answer.headers.get("content-type") == "application/ipp" and len(answer.body) >= 4:
        return f"ipp 0x{struct.unpack('>H', answer.body[2:4])[0]:04x}"
    return f"http {answer.status}"


@dataclass
class Report:
    """What a fuzz run saw."""

    sent: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[Case, str]] = field(default_factory=list)
    slowest: float = 0.0
    latencies: list[float] = field(default_factory=list)
    """Seconds from sending each case to its whole answer."""
    seconds: float = 0.0
    connections: int = 0


def run(port: int, stream: Iterable[Case], workers: int = 4, timeout: float = 10.0,
        progress: Callable[[Report], None] | None = None, *,
        tls: ssl.SSLContext | None = None, authorization: str | None = None) -> Report:
    """Send every case in ``stream`` with ``workers`` keep-alive connections (over ``tls``, with the
    ``authorization`` header when given); judge every answer."""
    report = Report()
    lock = threading.Lock()
    source = iter(stream)
    started = time.monotonic()

    def work() -> None:
        poster = Poster(port, timeout=timeout, tls=tls, authorization=authorization)
        try:
            while True:
                with lock:
                    case = next(source, None)
                if case is None:
                    return
                began = time.monotonic()
                try:
                    answer = poster.post(case.body)
                    problem, label = check_answer(case, answer), outcome(answer)
                except Hang as error:
                    problem, label = f"hang: {error}", "hang"
                except (OSError, ValueError) as error:
                    problem, label = f"{type(error).__name__}: {error}", "error"
                elapsed = time.monotonic() - began
                with lock:
                    report.sent += 1
                    report.counts[label] += 1
                    report.slowest = max(report.slowest, elapsed)
                    report.latencies.append(elapsed)
                    if problem is not None:
                        report.failures.append((case, problem))
                    if progress is not None:
                        progress(report)
        finally:
            with lock:
                report.connections += poster.connections
            poster.close()

    threads = [threading.Thread(target=work, name=f"fuzz-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.seconds = time.monotonic() - started
    return report


def describe(report: Report, limit: int = 20) -> str:
    """A few lines for a failed assertion or the benchmark's output."""
    lines = [f"{report.sent} cases in {report.seconds:.1f} s ({report.sent / max(report.seconds, 1e-9):.0f}/s), "
             f"{report.connections} connections, slowest {report.slowest:.2f} s"]
    lines += [f"  {label}: {count}" for label, count in sorted(report.counts.items())]
    for case, problem in itertools.islice(report.failures, limit):
        lines.append(f"  FAIL case {case.index} ({case.name}): {problem}")
    return "\n".join(lines)
