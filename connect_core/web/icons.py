"""The printer's icons (``printer-icons``), drawn once at start-up."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw

SIZES = (48, 128, 512)


@cache
def icon_png(size: int) -> bytes:
    """A square PNG of a printer with a sheet coming out, ``size`` pixels wide."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    s = size / 16
    draw.rectangle([4 * s, 1 * s, 12 * s, 6 * s], fill=(255, 255, 255, 255), outline=(60, 60, 60, 255))
    draw.rounded_rectangle([1 * s, 5 * s, 15 * s, 12 * s], radius=s, fill=(0, 94, 128, 255))
    draw.rectangle([4 * s, 10 * s, 12 * s, 15 * s], fill=(255, 255, 255, 255), outline=(60, 60, 60, 255))
    for row in (11.5, 13):
        draw.line([5 * s, row * s, 11 * s, row * s], fill=(0, 94, 128, 255), width=max(1, int(s / 2)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
