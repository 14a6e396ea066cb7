"""Resource limits for one conversion."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one conversion may use.

    ``cpu_seconds``, ``memory_bytes`` (address space) and ``output_bytes`` (largest file written)
    apply to every child process (Ghostscript, the PDF checker, the raster decoder);
    ``wall_seconds`` is the wall-clock time after which the child's whole process group is killed.
    ``max_pixels`` caps one raster/JPEG page, ``max_pages`` the pages of a document.
    """

    cpu_seconds: int = 60
    memory_bytes: int = 512 * 2**20
    output_bytes: int = 512 * 2**20
    wall_seconds: float = 120.0
    max_pixels: int = 100_000_000  # an A3 page at 600 dpi is 70 Mpx
    max_pages: int = 5_000

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "memory_bytes", "output_bytes", "max_pixels", "max_pages"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")
        if self.wall_seconds <= 0:
            raise ValueError("Limits.wall_seconds must be positive")


def in_words(size: int) -> str:
    """A byte count for a message: "512 MB", "300 KB"."""
    if size >= 2**20:
        return f"{size / 2**20:g} MB" if size % 2**20 else f"{size // 2**20} MB"
    return f"{max(1, round(size / 1024))} KB"
