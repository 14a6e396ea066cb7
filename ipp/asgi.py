"""The printer as an ASGI app: IPP over HTTP (RFC 8010 §4) on one path, the rest to another app.

A thin layer over the sans-IO codec: read the body until the attribute section is
complete, hand the rest of the body to the printer as a stream, encode the answer.
HTTP itself (keep-alive, chunked bodies, ``Expect: 100-continue``) is the ASGI
server's job.  Nothing here holds a whole document in memory.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from ipp.codec import Attribute, Group, GroupTag, LimitExceeded, Limits, MessageReader, ProtocolError, Tag, encode
from ipp.codec import Message as IppMessage
from ipp.compression import CompressionError, Inflater
from ipp.printer import ClientGone, Printer, Request
from ipp.status import StatusCode

log = logging.getLogger("ipp.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class HttpLimits:
    idle_timeout: float = 30.0
    """Seconds without any progress from a client before its request is dropped."""
    codec: Limits = Limits()


class IppApp:
    """Serve ``printer`` at its path; pass every other request to ``fallback``."""

    def __init__(self, printer: Printer, fallback: ASGIApp | None = None, limits: HttpLimits = HttpLimits()) -> None:
        self.printer = printer
        self.fallback = fallback
        self.limits = limits
        self.paths = {printer.path, printer.path + "/"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths and scope["method"] == "POST":
            await self._ipp(scope, receive, send)
        elif scope["type"] == "lifespan" and self.fallback is None:
            await _lifespan(receive, send)
        elif self.fallback is not None:
            await self.fallback(scope, receive, send)
        else:
            await _plain(send, 404, b"not found\n")

    async def _ipp(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/ipp":
            await _plain(send, 400, b"IPP requests need Content-Type: application/ipp\n")
            return
        body = _Body(receive, self.limits.idle_timeout, headers.get("content-encoding", "").strip().lower())
        reader = MessageReader(self.limits.codec)
        try:
            if body.encoding not in ("", "identity", "gzip", "deflate"):
                await _plain(send, 415, b"unsupported Content-Encoding\n")
                return
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
            await _ipp_error(send, reader, StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE, str(error), 413)
            return
        except ProtocolError as error:
            await _ipp_error(send, reader, StatusCode.CLIENT_ERROR_BAD_REQUEST, str(error), 400)
            return
        except ClientGone:
            return
        assert message is not None
        host = headers.get("host") or _server_host(scope)
        client = scope.get("client") or ("", 0)
        request = Request(
            message=message,
            host=host,
            document=body.document(reader.leftover),
            peer=str(client[0]),
            http_decoded=body.encoding in ("gzip", "deflate"),
        )
        try:
            response = await self.printer.handle(request)
        except ClientGone:
            return
        payload = encode(response)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/ipp"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class _Body:
    """The request body as a stream, with an idle timeout and HTTP content decoding."""

    def __init__(self, receive: Receive, idle_timeout: float, encoding: str) -> None:
        self.receive = receive
        self.idle_timeout = idle_timeout
        self.encoding = encoding
        self.done = False
        self._inflater = Inflater(encoding) if encoding in ("gzip", "deflate") else None

    async def _raw(self) -> AsyncIterator[bytes]:
        while not self.done:
            try:
                event = await asyncio.wait_for(self.receive(), self.idle_timeout)
            except TimeoutError as error:
                raise ClientGone("client stalled") from error
            if event["type"] == "http.disconnect":
                raise ClientGone("client disconnected")
            self.done = not event.get("more_body", False)
            chunk = event.get("body", b"")
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


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _ipp_error(send: Send, reader: MessageReader, status: StatusCode, text: str, http_status: int) -> None:
    """Answer a request we could not fully read: IPP when its header is known, else plain HTTP."""
    header = reader.header
    if len(header) < 8:
        await _plain(send, http_status, text.encode() + b"\n")
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
    payload = encode(response)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/ipp"), (b"content-length", str(len(payload)).encode()),
                        (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _server_host(scope: Scope) -> str:
    server = scope.get("server") or ("localhost", 631)
    host, port = server[0], server[1]
    if ":" in str(host):
        host = f"[{host}]"
    return f"{host}:{port}"


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
