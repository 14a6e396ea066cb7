"""Turning one print document into a PDF: sniffing, PDF checks, confined Ghostscript, raster, text.

Knows nothing of IPP, invoices or the queue; :func:`printer_backend.convert.convert` is the door.
"""

from printer_backend.convert import Conversion, convert, main, start_converter, stop_converter
from printer_backend.errors import BackendError, ConversionRefused, GhostscriptUnavailable, UnsupportedFormat
from printer_backend.ghostscript import check_ghostscript, ghostscript_version
from printer_backend.limits import Limits

__all__ = [
    "BackendError",
    "Conversion",
    "ConversionRefused",
    "GhostscriptUnavailable",
    "Limits",
    "UnsupportedFormat",
    "check_ghostscript",
    "convert",
    "ghostscript_version",
    "main",
    "start_converter",
    "stop_converter",
]
