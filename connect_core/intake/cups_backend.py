"""The ``pagero`` CUPS backend: hands a CUPS job to the running product over loopback IPP.

CUPS runs a backend as ``pagero job-id user title copies options [file]`` with the queue's
``DEVICE_URI`` (e.g. ``pagero://127.0.0.1:8631/ipp/print``) in the environment, and reads
``STATE:``/``INFO:``/``ERROR:`` lines from its stderr (man 7 backend).  This one sends the
document, streamed and unchanged, as one Print-Job to ``http://HOST:PORT/PATH`` with
``document-format`` application/octet-stream: the product tells the format from the bytes.

Its exit code tells CUPS what to do with the job:

* the product stored it → ``CUPS_BACKEND_OK``;
* the product is not running, times out, or answers busy / not accepting / unavailable →
  ``CUPS_BACKEND_RETRY``: CUPS keeps the job and runs the backend again after
  ``JobRetryInterval`` (at most ``JobRetryLimit`` times, both set in cupsd.conf);
* the product refuses the job for good (a ``client-error-*`` status) → ``CUPS_BACKEND_CANCEL``;
* the device URI is not a loopback address, or what answers there is not an IPP printer →
  ``CUPS_BACKEND_STOP``: the queue stops and the job waits for an administrator (for a
  non-loopback URI nothing is sent anywhere).

Only the standard library and :mod:`ipp.codec` are imported, so any Python 3.11 that can reach
this package can run the backend (CUPS runs it as user ``lp``).
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import pwd
import sys
from collections.abc import Iterator
from typing import BinaryIO, TextIO
from urllib.parse import urlsplit

from ipp.codec import Attribute, Group, GroupTag, Message, MessageReader, ProtocolError, Tag, encode
from ipp.status import Operation, StatusCode

CUPS_BACKEND_OK = 0
CUPS_BACKEND_FAILED = 1
CUPS_BACKEND_STOP = 4
CUPS_BACKEND_CANCEL = 5
CUPS_BACKEND_RETRY = 6

SCHEME = "pagero"
DEFAULT_PORT = 8631
DEFAULT_PATH = "/ipp/print"
DISCOVERY_LINE = f'network {SCHEME} "Unknown" "Pagero Printer (Pagero Connect)"'
CHUNK = 64 * 1024
TIMEOUT = 60.0
"""Seconds to wait for each connect, send or receive; the product answers once the document is on disk."""

# The product is there but cannot take the job right now: CUPS should try again later.
RETRY_STATUSES = frozenset({
    StatusCode.SERVER_ERROR_INTERNAL_ERROR,
    StatusCode.SERVER_ERROR_SERVICE_UNAVAILABLE,
    StatusCode.SERVER_ERROR_DEVICE_ERROR,
    StatusCode.SERVER_ERROR_TEMPORARY_ERROR,
    StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS,
    StatusCode.SERVER_ERROR_BUSY,
})
MAX_NAME_OCTETS = 255


class BackendError(Exception):
    """The job cannot be handed over; ``exit_code`` says what CUPS should do with it."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Target:
    """Where the product listens, from a ``pagero://HOST[:PORT][/PATH]`` device URI."""

    def __init__(self, device_uri: str) -> None:
        try:
            parts = urlsplit(device_uri)
            port = parts.port or DEFAULT_PORT
        except ValueError as error:
            raise BackendError(CUPS_BACKEND_STOP, f"bad device URI {device_uri!r}: {error}") from error
        if parts.scheme != SCHEME or not parts.hostname:
            raise BackendError(CUPS_BACKEND_STOP, f"bad device URI {device_uri!r}: expected {SCHEME}://HOST:PORT/PATH")
        self.host = _loopback(parts.hostname)
        self.port = port
        self.path = parts.path or DEFAULT_PATH

    @property
    def printer_uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ipp://{host}:{self.port}{self.path}"


def _loopback(host: str) -> str:
    """The address to connect to for ``host``; refuses anything that is not this machine.

    Names are not resolved (a resolver could point anywhere): only ``localhost`` and loopback
    literals are accepted.
    """
    if host.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise BackendError(CUPS_BACKEND_STOP,
                           f"the pagero backend only talks to this machine; {host!r} is not a loopback address")
    return str(address)


def _name(value: str) -> str:
    """``value`` cut to what an IPP name may hold (255 octets of UTF-8), never empty."""
    data = (value or "untitled").encode("utf-8")[:MAX_NAME_OCTETS]
    return data.decode("utf-8", errors="ignore")


def print_job_request(target: Target, user: str, title: str) -> Message:
    """The Print-Job request (without the document) for one CUPS job."""
    operation = Group(GroupTag.OPERATION, [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"),
        Attribute.of("printer-uri", Tag.URI, target.printer_uri),
        Attribute.of("requesting-user-name", Tag.NAME_WITHOUT_LANGUAGE, _name(user)),
        Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, _name(title)),
        Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, "application/octet-stream"),
    ])
    return Message((2, 0), Operation.PRINT_JOB, 1, [operation])


def _body(header: bytes, document: BinaryIO) -> Iterator[bytes]:
    yield header
    while chunk := document.read(CHUNK):
        yield chunk


def send(target: Target, request: Message, document: BinaryIO, size: int | None) -> Message:
    """POST ``request`` followed by ``document`` to the product; returns its IPP response.

    The document is streamed in :data:`CHUNK`-sized pieces: with a Content-Length when its
    ``size`` is known, chunked otherwise.  Raises :class:`BackendError` with
    ``CUPS_BACKEND_RETRY`` when the product cannot be reached or does not answer.
    """
    header = encode(request)
    headers = {"Content-Type": "application/ipp"}
    if size is not None:
        headers["Content-Length"] = str(len(header) + size)
    conn = http.client.HTTPConnection(target.host, target.port, timeout=TIMEOUT)
    where = f"{target.host}:{target.port}"
    try:
        try:
            conn.request("POST", target.path, body=_body(header, document), headers=headers,
                         encode_chunked=size is None)
        except ConnectionRefusedError as error:
            raise BackendError(CUPS_BACKEND_RETRY, f"Pagero Connect is not running at {where}") from error
        except (BrokenPipeError, ConnectionResetError):
            # The product may have refused the job before reading all of it; its answer is
            # then already waiting to be read.
            pass
        except (TimeoutError, OSError) as error:
            raise BackendError(CUPS_BACKEND_RETRY, f"cannot send the job to Pagero Connect at {where}: {error}") \
                from error
        try:
            response = conn.getresponse()
            body = response.read()
        except (TimeoutError, OSError, http.client.HTTPException) as error:
            raise BackendError(CUPS_BACKEND_RETRY, f"no answer from Pagero Connect at {where}: {error}") from error
    finally:
        conn.close()
    if response.status >= 500:
        raise BackendError(CUPS_BACKEND_RETRY, f"Pagero Connect at {where} answered HTTP {response.status}")
    # Anything else that is not an IPP answer means the device URI does not name the product:
    # stop the queue and keep the job until an administrator fixes it.
    if response.status != 200:
        raise BackendError(CUPS_BACKEND_STOP, f"{where}{target.path} answered HTTP {response.status} "
                                              f"{response.reason}; is the device URI right?")
    reader = MessageReader()
    try:
        reader.feed(body)
        reader.finish()
        message = reader.next_message()
    except ProtocolError as error:
        raise BackendError(CUPS_BACKEND_STOP, f"{where}{target.path} did not answer in IPP ({error}); "
                                              "is the device URI right?") from error
    assert message is not None
    return message


def _status_message(response: Message) -> str:
    group = response.group(GroupTag.OPERATION)
    attribute = group.get("status-message") if group else None
    if attribute is not None and isinstance(attribute.value, str):
        return attribute.value
    try:
        return StatusCode(response.code).keyword
    except ValueError:
        return f"IPP status 0x{response.code:04x}"


def _job_id(response: Message) -> object:
    group = response.group(GroupTag.JOB)
    attribute = group.get("job-id") if group else None
    return attribute.value if attribute else "?"


def outcome(response: Message) -> tuple[int, str]:
    """The CUPS exit code and a message for the product's answer to Print-Job."""
    status = response.code
    if status < 0x0100:
        return CUPS_BACKEND_OK, f"Sent to Pagero Connect as job {_job_id(response)}"
    message = _status_message(response)
    if status in RETRY_STATUSES:
        return CUPS_BACKEND_RETRY, f"Pagero Connect cannot take the job now: {message}"
    return CUPS_BACKEND_CANCEL, f"Pagero Connect refused the job: {message}"


def device_uri(argv: list[str]) -> str:
    """The queue's device URI: ``DEVICE_URI``, or argv[0] as CUPS sets it."""
    return os.environ.get("DEVICE_URI") or (argv[0] if "://" in argv[0] else "")


def _user_name() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def run_job(argv: list[str], stdin: BinaryIO, log: TextIO) -> int:
    """Send one CUPS job (argv as CUPS passes it) and return the backend exit code."""
    _job, user, title, _copies, _options = argv[1:6]
    # Copies are not repeated: each copy of an invoice would be one more invoice.
    print(f"DEBUG: pagero backend running as {_user_name()}", file=log, flush=True)
    try:
        target = Target(device_uri(argv))
        print("STATE: +connecting-to-device", file=log, flush=True)
        print(f"INFO: Sending to Pagero Connect at {target.host}:{target.port}", file=log, flush=True)
        request = print_job_request(target, user, title)
        if len(argv) > 6:
            try:
                document: BinaryIO = open(argv[6], "rb")
            except OSError as error:
                raise BackendError(CUPS_BACKEND_CANCEL, f"cannot read the document: {error}") from error
            with document:
                response = send(target, request, document, os.fstat(document.fileno()).st_size)
        else:
            response = send(target, request, stdin, None)
        code, message = outcome(response)
    except BackendError as error:
        code, message = error.exit_code, str(error)
    finally:
        print("STATE: -connecting-to-device", file=log, flush=True)
    if code == CUPS_BACKEND_OK:
        print("STATE: -offline-report", file=log, flush=True)
        print(f"INFO: {message}", file=log, flush=True)
    elif code == CUPS_BACKEND_RETRY:
        print("STATE: +offline-report", file=log, flush=True)
        print(f"INFO: {message}; CUPS will try again", file=log, flush=True)
    else:
        print(f"ERROR: {message}", file=log, flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run as CUPS runs a backend; ``argv`` includes argv[0] (the device URI) as in C.

    With no arguments, print the discovery line and return 0.  With ``job-id user title copies
    options [file]``, send the job (the file, or standard input) and return a CUPS backend exit
    code.
    """
    argv = list(sys.argv if argv is None else argv)
    if len(argv) == 1:
        print(DISCOVERY_LINE, flush=True)
        return CUPS_BACKEND_OK
    if len(argv) not in (6, 7):
        print("Usage: pagero job-id user title copies options [file]", file=sys.stderr)
        return CUPS_BACKEND_FAILED
    return run_job(argv, sys.stdin.buffer, sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
