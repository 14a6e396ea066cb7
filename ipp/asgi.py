"""The printer as an ASGI app: IPP over HTTP (RFC 8010 §4) on one path, the rest to another app.

A thin layer over the sans-IO codec: read the body until the attribute section is
complete, hand the rest of the body to the printer as a stream, encode the answer.
HTTP itself (keep-alive, chunked bodies, ``Expect: 100-continue``) is the ASGI
server's job.  Nothing here holds a whole document in memory.

What the network may do to us is bounded here: a body that cannot fit the job size
limit is refused before it is read (before ``100 Continue`` when the client waits for
one), a client that stops sending is answered ``408`` and dropped after the idle
timeout, and an answer sent before the body was read closes the connection rather
than reading the rest.  :func:`guarded_http_protocol` adds the one bound ASGI cannot
see: a deadline for the request line and headers (slowloris, CVE-2025-58436).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import uvicorn

from ipp.codec import Attribute, Group, GroupTag, LimitExceeded, Limits, MessageReader, ProtocolError, Tag, encode
from ipp.codec import Message as IppMessage
from ipp.compression import CompressionError, Inflater
from ipp.printer import ClientGone, Printer, Request
from ipp.status import StatusCode
from ipp.tls import ServerTls, SniffingListener

log = logging.getLogger("ipp.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


DRAIN_LIMIT = 64 * 1024
"""Unread body bytes the server may skip to keep a connection open after answering early;
with more (or an unknown amount) it closes the connection instead of reading them."""


@dataclass(frozen=True)
class HttpLimits:
    idle_timeout: float = 30.0
    """Seconds without any progress from a client before its request is dropped."""
    codec: Limits = Limits()


class ClientStalled(ClientGone):
    """The client sent nothing for the idle timeout: it is answered 408 and dropped."""


Authenticate = Callable[[str, str, str], Awaitable[str | None]]
"""``(user name, password, client address)`` → the user's name when right, None when wrong or throttled."""

ANONYMOUS_OPERATIONS = frozenset({0x000B, 0x0043})
"""What a client may ask without logging in when the printer authenticates: Get-Printer-Attributes and
Get-Printer-Supported-Values (it must learn how to print, and that it must authenticate)."""


class IppApp:
    """Serve ``printer`` at its path; pass every other request to ``fallback``.

    With ``printer.authentication: basic`` (and ``authenticate`` given), every operation but those of
    :data:`ANONYMOUS_OPERATIONS` needs HTTP Basic credentials over TLS: without them 401 (over plain
    HTTP 426), and the job's owner is the user they prove.
    """

    def __init__(self, printer: Printer, fallback: ASGIApp | None = None, limits: HttpLimits = HttpLimits(),
                 authenticate: Authenticate | None = None) -> None:
        self.printer = printer
        self.fallback = fallback
        self.limits = limits
        self.authenticate = authenticate
        self.paths = {printer.path, printer.path + "/"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plain = scope["type"] == "http" and self.printer.config.tls and scope.get("scheme") != "https"
        if plain and not (scope["path"] in self.paths and scope["method"] == "POST"):
            # The status page carries passwords and invoices: over TLS only.
            await _redirect_to_https(scope, send)
            return
        if scope["type"] == "http" and scope["path"] in self.paths and scope["method"] == "POST":
            if plain and not self.printer.config.plain_ipp:
                await _plain(send, 426, b"this printer takes ipps:// only (printer.plain_ipp is off)\n", close=True,
                             extra=[(b"upgrade", b"TLS/1.2, HTTP/1.1")])
                return
            await self._ipp(scope, receive, send)
        elif scope["type"] == "lifespan" and self.fallback is None:
            await _lifespan(receive, send)
        elif self.fallback is not None:
            await self.fallback(scope, receive, send)
        else:
            await _plain(send, 404, b"not found\n")

    async def _authenticated(self, header: str, peer: str) -> str | None:
        """The user HTTP Basic credentials prove, or None (none given, malformed, wrong or throttled)."""
        if self.authenticate is None or not header[:6].lower() == "basic ":
            return None
        try:
            name, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if not name or len(name) > 200 or len(password) > 1000:
            return None
        return await self.authenticate(name, password, peer)

    async def _ipp(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = _content_length(headers)
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/ipp":
            close = declared is None or declared > DRAIN_LIMIT
            await _plain(send, 400, b"IPP requests need Content-Type: application/ipp\n", close=close)
            return
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "deflate"):
            await _plain(send, 415, b"unsupported Content-Encoding\n", close=True)
            return
        max_job = self.printer.config.max_job_bytes
        if (
            declared is not None
            and headers.get("expect", "").lower() == "100-continue"
            and declared > _largest_raw(max_job, compressed=bool(encoding)) + self.limits.codec.max_header_bytes
        ):
            # Answered before the first receive(), so the client never gets "100 Continue"
            # and never sends the body.
            await _plain(send, 413, f"request larger than the {max_job}-byte job limit\n".encode(), close=True)
            return
        body = _Body(receive, self.limits.idle_timeout, encoding)
        reader = MessageReader(self.limits.codec)
        try:
            message = None
            async for chunk in body.chunks():
                reader.feed(chunk)
                message = reader.next_message()
                if message is not None:
                    break
            if message is None:
                reader.finish()
                message = reader.next_message()
        except LimitExceeded as error:
            await _ipp_error(send, reader, StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, str(error), 413, True)
            return
        except ProtocolError as error:
            close = not _can_skip_rest(body, declared)
            await _ipp_error(send, reader, StatusCode.CLIENT_ERROR_BAD_REQUEST, str(error), 400, close)
            return
        except ClientStalled:
            await _plain(send, 408, b"request timed out\n", close=True)
            return
        except ClientGone:
            return
        assert message is not None
        host = headers.get("host") or _server_host(scope)
        client = scope.get("client") or ("", 0)
        user: str | None = None
        if self.printer.config.authentication == "basic" and message.code not in ANONYMOUS_OPERATIONS:
            if scope.get("scheme") != "https":
                await _plain(send, 426, b"printing needs ipps:// and a user name and password\n", close=True,
                             extra=[(b"upgrade", b"TLS/1.2, HTTP/1.1")])
                return
            user = await self._authenticated(headers.get("authorization", ""), str(client[0]))
            if user is None:
                realm = self.printer.config.name.replace('"', "'")
                await _plain(send, 401, b"a user name and password of the status page are needed\n", close=True,
                             extra=[(b"www-authenticate", f'Basic realm="{realm}", charset="UTF-8"'.encode())])
                return
        request = Request(
            message=message,
            host=host,
            document=body.document(reader.leftover),
            peer=str(client[0]),
            http_decoded=body.encoding in ("gzip", "deflate"),
            secure=scope.get("scheme") == "https",
            user=user,
        )
        if declared is not None and not encoding:
            document_bytes = declared - (body.raw_bytes - len(reader.leftover))
            if document_bytes > _largest_raw(max_job, compressed=_compressed(message)):
                # An honest Content-Length tells the document cannot fit: refuse it unread.
                response = self.printer.respond(
                    request, StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, f"document larger than {max_job} bytes"
                )
                await _send_ipp(send, encode(response), close=True)
                return
        try:
            response = await self.printer.handle(request)
        except ClientStalled:
            await _plain(send, 408, b"request timed out\n", close=True)
            return
        except ClientGone:
            return
        close = response.code == StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE or not _can_skip_rest(body, declared)
        await _send_ipp(send, encode(response), close=close)


def _content_length(headers: dict[str, str]) -> int | None:
    """The body size the client declared, or None for a chunked body (the server checked the syntax)."""
    if "transfer-encoding" in headers:
        return None
    value = headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def _compressed(message: IppMessage) -> bool:
    group = message.groups[0] if message.groups else None
    attribute = group.get("compression") if group is not None else None
    return attribute is not None and attribute.value != "none"


def _largest_raw(max_job: int, *, compressed: bool) -> int:
    """The most body bytes a document within ``max_job`` bytes can take on the wire.

    gzip and deflate never grow data by more than a few bytes per 16 KiB block plus a
    header, so a compressed body over this size cannot decode to an acceptable document.
    """
    return max_job + max_job // 1000 + 1024 if compressed else max_job


def _can_skip_rest(body: _Body, declared: int | None) -> bool:
    """Whether the unread rest of the body is small enough for the server to skip it.

    uvicorn discards body bytes that arrive after the answer when the connection stays
    open; that is cheap for a few KiB, but never for a body of unknown or large size.
    """
    if body.done:
        return True
    return declared is not None and declared - body.raw_bytes <= DRAIN_LIMIT


class _Body:
    """The request body as a stream, with an idle timeout and HTTP content decoding."""

    def __init__(self, receive: Receive, idle_timeout: float, encoding: str) -> None:
        self.receive = receive
        self.idle_timeout = idle_timeout
        self.encoding = encoding
        self.done = False
        self.raw_bytes = 0
        """Body bytes received so far, before any Content-Encoding is undone."""
        self._inflater = Inflater(encoding) if encoding in ("gzip", "deflate") else None

    async def _raw(self) -> AsyncIterator[bytes]:
        while not self.done:
            try:
                async with asyncio.timeout(self.idle_timeout):  # no task per chunk, unlike wait_for
                    event = await self.receive()
            except TimeoutError as error:
                raise ClientStalled(f"nothing received for {self.idle_timeout:g} s") from error
            if event["type"] == "http.disconnect":
                raise ClientGone("client disconnected")
            self.done = not event.get("more_body", False)
            chunk = event.get("body", b"")
            self.raw_bytes += len(chunk)
            if chunk:
                yield chunk

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._raw():
                if self._inflater is None:
                    yield chunk
                else:
                    for piece in self._inflater.feed(chunk):
                        yield piece
            if self._inflater is not None:
                rest = self._inflater.finish()
                if rest:
                    yield rest
        except CompressionError as error:
            raise ProtocolError(f"bad {self.encoding} body: {error}") from error

    async def document(self, leftover: bytes) -> AsyncIterator[bytes]:
        if leftover:
            yield leftover
        async for chunk in self.chunks():
            yield chunk


async def _respond(send: Send, status: int, content_type: bytes, body: bytes, close: bool,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """One whole HTTP answer; ``close`` ends the connection after it instead of reading on."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(extra or [])]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _plain(send: Send, status: int, body: bytes, close: bool = False,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await _respond(send, status, b"text/plain; charset=utf-8", body, close, extra)


HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?$")


async def _redirect_to_https(scope: Scope, send: Send) -> None:
    """A plain-HTTP page request goes to the same place over HTTPS (same host and port: one port serves both)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    host = headers.get("host", "")
    if not HOST.match(host):  # a Host a browser would not send: name the server's own address instead
        host = _server_host(scope)
    query = scope.get("query_string", b"").decode("latin-1")
    path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
    location = f"https://{host}{path}" + (f"?{query}" if query else "")
    await _respond(send, 308, b"text/plain; charset=utf-8", f"moved to {location}\n".encode(), close=False,
                   extra=[(b"location", location.encode("latin-1", "replace"))])


async def _send_ipp(send: Send, payload: bytes, close: bool) -> None:
    await _respond(send, 200, b"application/ipp", payload, close)


async def _ipp_error(
    send: Send, reader: MessageReader, status: StatusCode, text: str, http_status: int, close: bool
) -> None:
    """Answer a request we could not fully read: IPP when its header is known, else plain HTTP."""
    header = reader.header
    if len(header) < 8:
        await _plain(send, http_status, text.encode() + b"\n", close)
        return
    major, minor, _code, request_id = struct.unpack(">BBHi", header)
    if major not in (1, 2):
        major, minor = 2, 0
    response = IppMessage((major, minor), status, request_id)
    response.groups.append(
        Group(
            GroupTag.OPERATION,
            [
                Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
                Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"),
                Attribute.of("status-message", Tag.TEXT_WITHOUT_LANGUAGE, text[:255]),
            ],
        )
    )
    await _send_ipp(send, encode(response), close)


def _server_host(scope: Scope) -> str:
    server = scope.get("server") or ("localhost", 631)
    host, port = server[0], server[1]
    if ":" in str(host):
        host = f"[{host}]"
    return f"{host}:{port}"


def guarded_http_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's line and headers.

    uvicorn closes idle keep-alive connections, but nothing bounds a request whose
    headers never end: a socket that connects and sends nothing, or half a request
    line, or a header a byte a minute, holds its connection forever (the slow-client
    class of CVE-2025-58436 in cupsd).  With this protocol the request line and headers
    must be complete ``header_timeout`` seconds after the connection opens or after the
    request's first byte, else the connection is closed.  Bodies have their own idle
    timeout in :class:`IppApp`.  Pass the class as ``uvicorn.Config(http=...)``.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm_header_timer(self) -> None:
            self._disarm_header_timer()
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                log.info("closed a connection from %s: request headers not complete after %g s",
                         self.client[0] if self.client else "?", header_timeout)
                self.transport.close()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            super().connection_made(transport)  # type: ignore[arg-type]
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._disarm_header_timer()
            super().on_headers_complete()

    return GuardedHttpToolsProtocol


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _PrinterServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_listening: Callable[[int], None], tls: ServerTls | None = None,
                 first_byte_timeout: float = 10.0) -> None:
        super().__init__(config)
        self.on_listening = on_listening
        self.tls = tls
        self.first_byte_timeout = first_byte_timeout

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if self.tls is not None and sockets is None:
            await self._startup_sniffing(self.tls)
        else:
            await super().startup(sockets)
        if not self.should_exit:
            # The bound port, which differs from the asked one for port 0.
            bound = [s.getsockname()[1] for server in self.servers for s in server.sockets or ()]
            self.on_listening(bound[0] if bound else self.config.port)

    async def _startup_sniffing(self, tls: ServerTls) -> None:
        """Listen on the configured address and serve each connection as TLS or plain (:mod:`ipp.tls`)."""
        await self.lifespan.startup()
        config = self.config

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=_loop)

        host = config.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, config.port), family=family, backlog=config.backlog,
                                        reuse_port=False)
        except OSError as error:
            log.error("cannot listen on %s:%s: %s", host, config.port, error)
            self.should_exit = True
            raise SystemExit(3) from None
        self.servers = [SniffingListener(sock, create_protocol, tls, self.first_byte_timeout)]  # type: ignore[list-item]
        self.started = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        # uvicorn re-raises the stop signal after a graceful shutdown; a clean stop is exit 0.
        self._captured_signals.clear()


def printer_server(app: IppApp, host: str, port: int, idle_timeout: float,
                   on_listening: Callable[[int], None], tls: ServerTls | None = None) -> uvicorn.Server:
    """uvicorn serving ``app`` as a printer should be served.

    Requests' headers and idle keep-alive connections are bounded by ``idle_timeout``
    (:func:`guarded_http_protocol`), ``X-Forwarded-For`` is never trusted (no proxy sits in
    front), ``on_listening(port)`` is called once clients can connect (with the port actually
    bound), and SIGTERM or SIGINT end :meth:`~uvicorn.Server.run` cleanly.  With ``tls``, the same port
    serves IPPS and HTTPS beside plain IPP and HTTP (:mod:`ipp.tls`).
    """
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                            proxy_headers=False, timeout_keep_alive=int(idle_timeout),
                            http=guarded_http_protocol(idle_timeout))
    return _PrinterServer(config, on_listening, tls, first_byte_timeout=idle_timeout)
