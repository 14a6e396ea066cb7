"""The one exception family of ``printer_backend``.

Every refusal carries ``reason``: plain words a clerk can read on the status page or in an
IPP ``job-state-message``.  Internal details (paths, tracebacks) never go into ``reason``.
"""

from __future__ import annotations


class BackendError(Exception):
    """A print document could not be turned into a PDF; ``reason`` says why in plain words."""

    def __init__(self, reason: str, *, peak_memory_bytes: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        # Peak resident memory of the child process that did the work, when it could tell.
        self.peak_memory_bytes = peak_memory_bytes

    def __reduce__(self) -> tuple[object, ...]:
        # Keeps the keyword-only argument across the pickle that brings it back from a child.
        return (_rebuild, (type(self), self.reason, self.peak_memory_bytes))


def _rebuild(cls: type[BackendError], reason: str, peak: int | None) -> BackendError:
    return cls(reason, peak_memory_bytes=peak)


class UnsupportedFormat(BackendError):
    """The content is none of the formats we print; ``reason`` names what arrived."""


class ConversionRefused(BackendError):
    """The document is damaged, encrypted, hostile or hit a resource limit."""


class GhostscriptUnavailable(BackendError):
    """Ghostscript (or the tools that confine it) is missing or older than the configured minimum."""
