"""The printer's capabilities as data: every attribute declared once, read by every operation.

Adding an attribute is one line in :func:`job_template_attributes` or
:func:`printer_description_attributes`.  Values that change (state, times, counts,
URIs that depend on the Host a client used) are built per request by
:mod:`ipp.live_attributes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ipp.codec import Attribute, Collection, Range, Resolution, Tag, Value

DOCUMENT_FORMATS = (
    "application/pdf",
    "application/postscript",
    "image/pwg-raster",
    "image/urf",
    "image/jpeg",
    "text/plain",
    "application/octet-stream",
)

# PWG self-describing media names with their size in hundredths of millimetres.
MEDIA_SIZES: dict[str, tuple[int, int]] = {
    "iso_a4_210x297mm": (21000, 29700),
    "na_letter_8.5x11in": (21590, 27940),
    "na_legal_8.5x14in": (21590, 35560),
    "iso_a5_148x210mm": (14800, 21000),
    "iso_a3_297x420mm": (29700, 42000),
}
PAPER_NAMES = {"A4": "iso_a4_210x297mm", "Letter": "na_letter_8.5x11in"}

RESOLUTIONS = (Resolution(300, 300, 3), Resolution(600, 600, 3))
PWG_RASTER_TYPES = ("black_1", "sgray_8", "srgb_8")
URF_SUPPORTED = ("V1.4", "CP1", "PQ3-4-5", "RS300-600", "SRGB24", "W8", "DM1", "IS1", "MT1")

JOB_TEMPLATE_ATTRIBUTES = (
    "copies",
    "finishings",
    "media",
    "media-col",
    "orientation-requested",
    "output-bin",
    "print-color-mode",
    "print-content-optimize",
    "print-quality",
    "print-rendering-intent",
    "printer-resolution",
    "sides",
    "job-priority",
    "job-sheets",
    "multiple-document-handling",
    "page-ranges",
    "number-up",
    "job-hold-until",
)

# Keyword values a job may ask for, by attribute (validation reads this table).
KEYWORD_CHOICES: dict[str, tuple[str, ...]] = {
    "sides": ("one-sided", "two-sided-long-edge", "two-sided-short-edge"),
    "print-color-mode": ("auto", "monochrome", "color"),
    "print-content-optimize": ("auto", "graphic", "photo", "text", "text-and-graphic"),
    "print-rendering-intent": ("auto", "relative", "perceptual"),
    "output-bin": ("face-down",),
    "multiple-document-handling": ("separate-documents-uncollated-copies", "separate-documents-collated-copies"),
    "job-sheets": ("none",),
    "job-hold-until": ("no-hold",),
    "media-source": ("auto", "main"),
    "media-type": ("stationery",),
    "compression": ("none", "gzip", "deflate"),
    "which-jobs": ("completed", "not-completed", "all"),
}
ENUM_CHOICES: dict[str, tuple[int, ...]] = {
    "finishings": (3,),
    "orientation-requested": (3, 4, 5, 6),
    "print-quality": (3, 4, 5),
}
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "copies": (1, 999),
    "job-priority": (1, 100),
    "number-up": (1, 1),
}


@dataclass
class PrinterConfig:
    """What the person installing the printer chooses; everything else is fixed data."""

    name: str = "Pagero Printer"
    uuid: str = "urn:uuid:00000000-0000-0000-0000-000000000000"
    location: str = ""
    info: str = "Pagero Printer: print to send e-invoices"
    make_and_model: str = "Pagero Connect Printer"
    paper: str = "A4"
    firmware_version: str = "0.1.0"
    organization: str = ""
    dns_sd_name: str = ""
    max_job_bytes: int = 1024 * 1024 * 1024
    tls: bool = False
    """The port serves IPPS (and HTTPS) too: ``ipps://`` comes first in printer-uri-supported."""
    plain_ipp: bool = True
    """Plain ``ipp://`` printing stays open (with ``tls``; without TLS it is the only way)."""
    authentication: str = "none"
    """``basic``: jobs need a user name and password (HTTP Basic, over TLS only); ``none``: as printers are."""

    @property
    def schemes(self) -> tuple[str, ...]:
        """The printer URIs' schemes, in printer-uri-supported order."""
        if not self.tls:
            return ("ipp",)
        return ("ipps", "ipp") if self.plain_ipp else ("ipps",)

    @property
    def media_default(self) -> str:
        """The PWG media name of ``paper`` (a name the table does not know is used as it is)."""
        return PAPER_NAMES.get(self.paper, self.paper)


def k(name: str, *values: str) -> Attribute:
    """A keyword attribute."""
    return Attribute.of(name, Tag.KEYWORD, *values)


def i(name: str, *values: int) -> Attribute:
    """An integer attribute."""
    return Attribute.of(name, Tag.INTEGER, *values)


def e(name: str, *values: int) -> Attribute:
    """An enum attribute."""
    return Attribute.of(name, Tag.ENUM, *values)


def b(name: str, value: bool) -> Attribute:
    """A boolean attribute."""
    return Attribute.of(name, Tag.BOOLEAN, value)


def t(name: str, *values: str) -> Attribute:
    """A textWithoutLanguage attribute."""
    return Attribute.of(name, Tag.TEXT_WITHOUT_LANGUAGE, *values)


def m(name: str, *values: str) -> Attribute:
    """A mimeMediaType attribute."""
    return Attribute.of(name, Tag.MIME_MEDIA_TYPE, *values)


def collection(*members: Attribute) -> Value:
    """A collection value of ``members``, in order."""
    return Value(Tag.BEG_COLLECTION, Collection(list(members)))


MARGIN = 423
"""Page margins we advertise, in hundredths of mm (1/6 inch, what CUPS uses).  A PDF printer
needs none, but CUPS names zero-margin sizes "A4.Borderless" and its filters then fall back to
Letter for a queue whose default is plain "A4" — so A4 invoices would arrive as Letter pages."""


def media_col(media: str, source: str | None = None) -> Value:
    """The media-col for one PWG media name."""
    x, y = MEDIA_SIZES[media]
    members = [
        Attribute("media-size", [collection(i("x-dimension", x), i("y-dimension", y))]),
        i("media-bottom-margin", MARGIN),
        i("media-left-margin", MARGIN),
        i("media-right-margin", MARGIN),
        i("media-top-margin", MARGIN),
        Attribute.of("media-size-name", Tag.KEYWORD, media),
    ]
    if source:
        members.append(k("media-source", source))
    members.append(k("media-type", "stationery"))
    return collection(*members)


def media_supported(config: PrinterConfig) -> list[str]:
    """Every media name, the default first."""
    names = list(MEDIA_SIZES)
    default = config.media_default
    return [default] + [n for n in names if n != default]


def media_ready(config: PrinterConfig) -> list[str]:
    """The media "loaded": the default, and Letter (A4 when Letter is the default)."""
    default = config.media_default
    other = "na_letter_8.5x11in" if default != "na_letter_8.5x11in" else "iso_a4_210x297mm"
    return [default, other]


def job_template_attributes(config: PrinterConfig) -> list[Attribute]:
    """The ``job-template`` group: -default, -supported and -ready values."""
    ready = media_ready(config)
    return [
        i("copies-default", 1),
        Attribute.of("copies-supported", Tag.RANGE_OF_INTEGER, Range(*INTEGER_RANGES["copies"])),
        e("finishings-default", 3),
        e("finishings-supported", *ENUM_CHOICES["finishings"]),
        k("job-hold-until-default", "no-hold"),
        k("job-hold-until-supported", *KEYWORD_CHOICES["job-hold-until"]),
        i("job-priority-default", 50),
        i("job-priority-supported", 100),
        k("job-sheets-default", "none"),
        k("job-sheets-supported", *KEYWORD_CHOICES["job-sheets"]),
        k("media-default", config.media_default),
        k("media-ready", *ready),
        k("media-supported", *media_supported(config)),
        Attribute("media-col-default", [media_col(config.media_default, "auto")]),
        Attribute("media-col-ready", [media_col(name, "main") for name in ready]),
        k(
            "media-col-supported",
            "media-bottom-margin",
            "media-left-margin",
            "media-right-margin",
            "media-size",
            "media-size-name",
            "media-source",
            "media-top-margin",
            "media-type",
        ),
        Attribute(
            "media-size-supported",
            [collection(i("x-dimension", x), i("y-dimension", y)) for x, y in MEDIA_SIZES.values()],
        ),
        i("media-bottom-margin-supported", MARGIN),
        i("media-left-margin-supported", MARGIN),
        i("media-right-margin-supported", MARGIN),
        i("media-top-margin-supported", MARGIN),
        k("media-source-supported", *KEYWORD_CHOICES["media-source"]),
        k("media-type-supported", *KEYWORD_CHOICES["media-type"]),
        k("multiple-document-handling-default", "separate-documents-collated-copies"),
        k("multiple-document-handling-supported", *KEYWORD_CHOICES["multiple-document-handling"]),
        i("number-up-default", 1),
        i("number-up-supported", 1),
        e("orientation-requested-default", 3),
        e("orientation-requested-supported", *ENUM_CHOICES["orientation-requested"]),
        k("output-bin-default", "face-down"),
        k("output-bin-supported", *KEYWORD_CHOICES["output-bin"]),
        b("page-ranges-supported", True),
        k("print-color-mode-default", "auto"),
        k("print-color-mode-supported", *KEYWORD_CHOICES["print-color-mode"]),
        k("print-content-optimize-default", "auto"),
        k("print-content-optimize-supported", *KEYWORD_CHOICES["print-content-optimize"]),
        e("print-quality-default", 4),
        e("print-quality-supported", *ENUM_CHOICES["print-quality"]),
        k("print-rendering-intent-default", "auto"),
        k("print-rendering-intent-supported", *KEYWORD_CHOICES["print-rendering-intent"]),
        Attribute.of("printer-resolution-default", Tag.RESOLUTION, RESOLUTIONS[0]),
        Attribute.of("printer-resolution-supported", Tag.RESOLUTION, *RESOLUTIONS),
        k("sides-default", "one-sided"),
        k("sides-supported", *KEYWORD_CHOICES["sides"]),
    ]


def printer_description_attributes(config: PrinterConfig, operations: Sequence[int]) -> list[Attribute]:
    """The static part of the ``printer-description`` group; ``operations`` are the printer's own
    (operations-supported is read from its table of operations, never listed here)."""
    return [
        Attribute.of("charset-configured", Tag.CHARSET, "utf-8"),
        Attribute.of("charset-supported", Tag.CHARSET, "utf-8", "us-ascii"),
        b("color-supported", True),
        k("compression-supported", *KEYWORD_CHOICES["compression"]),
        m("document-format-default", "application/pdf"),
        m("document-format-preferred", "application/pdf"),
        m("document-format-supported", *DOCUMENT_FORMATS),
        Attribute.of("generated-natural-language-supported", Tag.NATURAL_LANGUAGE, "en"),
        k("identify-actions-default", "display"),
        k("identify-actions-supported", "display", "sound"),
        k("ipp-features-supported", "ipp-everywhere"),
        k("ipp-versions-supported", "1.0", "1.1", "2.0"),
        k("job-creation-attributes-supported", *JOB_TEMPLATE_ATTRIBUTES),
        b("job-ids-supported", True),
        Attribute.of("job-impressions-supported", Tag.RANGE_OF_INTEGER, Range(1, 100000)),
        Attribute.of(
            "job-k-octets-supported", Tag.RANGE_OF_INTEGER, Range(0, max(1, config.max_job_bytes // 1024))
        ),
        Attribute.of("job-media-sheets-supported", Tag.RANGE_OF_INTEGER, Range(1, 100000)),
        b("multiple-document-jobs-supported", False),
        i("multiple-operation-time-out", 60),
        k("multiple-operation-time-out-action", "abort-job"),
        Attribute.of("natural-language-configured", Tag.NATURAL_LANGUAGE, "en"),
        e("operations-supported", *operations),
        k("overrides-supported", "document-number", "pages"),
        i("pages-per-minute", 60),
        i("pages-per-minute-color", 60),
        k("pdl-override-supported", "attempted"),
        b("preferred-attributes-supported", False),
        Attribute.of(
            "printer-device-id",
            Tag.TEXT_WITHOUT_LANGUAGE,
            f"MFG:Pagero;MDL:{config.make_and_model};CMD:PDF,PS,PWG,URF,JPEG;CLS:PRINTER;",
        ),
        Attribute.of("printer-dns-sd-name", Tag.NAME_WITHOUT_LANGUAGE, config.dns_sd_name or config.name),
        Attribute.of("printer-firmware-name", Tag.NAME_WITHOUT_LANGUAGE, "Pagero Connect"),
        t("printer-firmware-string-version", config.firmware_version),
        Attribute.of("printer-firmware-version", Tag.OCTET_STRING, config.firmware_version.encode()),
        Attribute.of("printer-geo-location", Tag.UNKNOWN),
        k("printer-get-attributes-supported", "document-format"),
        t("printer-info", config.info[:127]),
        k("printer-kind", "document"),
        t("printer-location", config.location[:127]),
        t("printer-make-and-model", config.make_and_model[:127]),
        Attribute.of("printer-name", Tag.NAME_WITHOUT_LANGUAGE, config.name[:127]),
        t("printer-organization", config.organization),
        t("printer-organizational-unit", ""),
        Attribute.of("printer-supply", Tag.OCTET_STRING, b"index=1;type=other;maxcapacity=100;level=100;"),
        t("printer-supply-description", "Pagero Online"),
        Attribute.of("printer-uuid", Tag.URI, config.uuid),
        Attribute.of("pwg-raster-document-resolution-supported", Tag.RESOLUTION, *RESOLUTIONS),
        k("pwg-raster-document-sheet-back", "normal"),
        k("pwg-raster-document-type-supported", *PWG_RASTER_TYPES),
        k("uri-authentication-supported", *("basic" if scheme == "ipps" and config.authentication == "basic"
                                             else "requesting-user-name" for scheme in config.schemes)),
        k("uri-security-supported", *("tls" if scheme == "ipps" else "none" for scheme in config.schemes)),
        k("urf-supported", *URF_SUPPORTED),
        k("which-jobs-supported", *KEYWORD_CHOICES["which-jobs"]),
    ]


def media_col_database(config: PrinterConfig) -> Attribute:
    """``media-col-database``: returned only when asked for by name (PWG 5100.7)."""
    return Attribute("media-col-database", [media_col(name) for name in media_supported(config)])


DYNAMIC_DESCRIPTION = (
    "printer-uri-supported",
    "printer-more-info",
    "printer-icons",
    "printer-supply-info-uri",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "queued-job-count",
    "printer-up-time",
    "printer-current-time",
    "printer-state-change-time",
    "printer-state-change-date-time",
    "printer-config-change-time",
    "printer-config-change-date-time",
)
