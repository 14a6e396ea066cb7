"""Streaming gzip/deflate decoding for request bodies and document data.

``deflate`` arrives in two shapes in the wild: zlib-wrapped (RFC 1950, what the HTTP
spec means) and raw (RFC 1951, what CUPS sends).  The first two bytes tell which.
Output is produced in bounded pieces so a compression bomb never sits in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE = 1 << 20


class CompressionError(Exception):
    """The compressed data is damaged."""


class Inflater:
    """Decode one gzip or deflate stream fed in chunks."""

    def __init__(self, encoding: str) -> None:
        if encoding not in ("gzip", "deflate"):
            raise ValueError(encoding)
        self.encoding = encoding
        self._decoder: zlib._Decompress | None = zlib.decompressobj(31) if encoding == "gzip" else None
        self._head = b""

    def _start(self, data: bytes) -> bytes:
        """Pick zlib or raw deflate once two bytes have arrived."""
        self._head += data
        if len(self._head) < 2:
            return b""
        first, second = self._head[0], self._head[1]
        wrapped = first & 0x0F == 8 and ((first << 8) | second) % 31 == 0
        self._decoder = zlib.decompressobj(15 if wrapped else -15)
        data, self._head = self._head, b""
        return data

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded bytes for ``data``, in pieces of at most 1 MiB."""
        if self._decoder is None:
            data = self._start(data)
        while data and self._decoder is not None:
            try:
                out = self._decoder.decompress(data, PIECE)
            except zlib.error as error:
                raise CompressionError(str(error)) from error
            data = self._decoder.unconsumed_tail
            if out:
                yield out

    def finish(self) -> bytes:
        """The last decoded bytes; raises if the stream was cut short."""
        if self._decoder is None:
            if self._head:
                raise CompressionError("compressed data too short")
            return b""
        try:
            rest = self._decoder.flush()
        except zlib.error as error:
            raise CompressionError(str(error)) from error
        if not self._decoder.eof:
            raise CompressionError("compressed data ends early")
        return rest
