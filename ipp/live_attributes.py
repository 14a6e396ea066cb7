"""The attribute sets built for each answer: the printer's live state and each job's attributes.

The printer's static attributes (:mod:`ipp.attributes`) are encoded once, as
:class:`~ipp.codec.FixedAttribute`, and copied into every answer as bytes.  What
changes is built here per request: state, times and counts, and the URIs that
depend on the Host a client used.  Nothing here talks to the sink: the printer asks
it for a :class:`PrinterStatus` and passes that in.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ipp import attributes as A
from ipp.checks import MAX_NAME, MAX_TEXT
from ipp.codec import Attribute, FixedAttribute, Tag
from ipp.sink import JobInfo
from ipp.status import PrinterState

JOB_RESPONSE = frozenset({"job-id", "job-uri", "job-state", "job-state-reasons", "job-state-message"})
"""The job attributes every job-creating or job-changing operation answers with."""


_STATUS_NAMES = frozenset({"all", "printer-description", *A.DYNAMIC_DESCRIPTION})


def now() -> dt.datetime:
    """This moment in UTC, to the second (what dateTime attributes carry)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class PrinterStatus:
    """What the sink says about the printer right now."""

    accepting: bool
    reasons: tuple[str, ...]
    queued: int


def wants_status(names: set[str]) -> bool:
    """Whether requested-attributes ``names`` include any attribute built from a :class:`PrinterStatus`."""
    return bool(names & _STATUS_NAMES)


class PrinterAttributes:
    """One printer's attributes: fixed ones encoded once, live ones built per request."""

    def __init__(self, config: A.PrinterConfig, path: str, operations: Iterable[int]) -> None:
        self.config = config
        self.path = path
        self.config_changed = now()
        self.state_changed = now()
        self._template = [FixedAttribute.fixed(a) for a in A.job_template_attributes(config)]
        self._description = [
            FixedAttribute.fixed(a) for a in A.printer_description_attributes(config, tuple(operations))
        ]
        self._media_col_database = FixedAttribute.fixed(A.media_col_database(config))

    def printer_uri(self, host: str, secure: bool = False) -> str:
        """The printer's URI as a client that used ``host`` (over TLS when ``secure``) reaches it."""
        return f"{'ipps' if secure else 'ipp'}://{host}{self.path}"

    def web_url(self, host: str, path: str = "/") -> str:
        """A web page of the printer's host, as a client that used ``host`` reaches it (HTTPS when served)."""
        return f"{'https' if self.config.tls else 'http'}://{host}{path}"

    def printer(self, host: str, names: set[str], status: PrinterStatus | None) -> list[Attribute]:
        """The printer's attributes filtered by requested-attributes ``names`` (groups expand).

        The live ones are included when ``status`` is given, which the caller does exactly
        when :func:`wants_status` says they are asked for.
        """
        everything = "all" in names
        want_template = everything or "job-template" in names
        want_description = everything or "printer-description" in names
        result: list[Attribute] = []
        if status is not None:
            result.extend(a for a in self.live(host, status) if want_description or a.name in names)
        result.extend(a for a in self._description if want_description or a.name in names)
        result.extend(a for a in self._template if want_template or a.name in names)
        if "media-col-database" in names:
            result.append(self._media_col_database)
        return result

    def live(self, host: str, status: PrinterStatus) -> list[Attribute]:
        """Every printer attribute that is not fixed (:data:`ipp.attributes.DYNAMIC_DESCRIPTION`)."""
        state = PrinterState.PROCESSING if status.queued else PrinterState.IDLE
        if status.accepting:
            message = "Ready to print."
        else:
            message = "Not accepting jobs: " + ", ".join(status.reasons)
        more_info = self.web_url(host)
        return [
            Attribute.of("printer-uri-supported", Tag.URI,
                         *(f"{scheme}://{host}{self.path}" for scheme in self.config.schemes)),
            Attribute.of("printer-more-info", Tag.URI, more_info),
            Attribute.of(
                "printer-icons",
                Tag.URI,
                self.web_url(host, "/printer-icons/48.png"),
                self.web_url(host, "/printer-icons/128.png"),
                self.web_url(host, "/printer-icons/512.png"),
            ),
            Attribute.of("printer-supply-info-uri", Tag.URI, more_info),
            Attribute.of("printer-state", Tag.ENUM, int(state)),
            Attribute.of("printer-state-reasons", Tag.KEYWORD, *(status.reasons or ("none",))),
            Attribute.of("printer-state-message", Tag.TEXT_WITHOUT_LANGUAGE, message),
            Attribute.of("printer-is-accepting-jobs", Tag.BOOLEAN, status.accepting),
            Attribute.of("queued-job-count", Tag.INTEGER, status.queued),
            Attribute.of("printer-up-time", Tag.INTEGER, int(time.time())),
            Attribute.of("printer-current-time", Tag.DATE_TIME, now()),
            Attribute.of("printer-state-change-time", Tag.INTEGER, int(self.state_changed.timestamp())),
            Attribute.of("printer-state-change-date-time", Tag.DATE_TIME, self.state_changed),
            Attribute.of("printer-config-change-time", Tag.INTEGER, int(self.config_changed.timestamp())),
            Attribute.of("printer-config-change-date-time", Tag.DATE_TIME, self.config_changed),
        ]

    def job(self, host: str, job: JobInfo, names: set[str] | frozenset[str], secure: bool = False) -> list[Attribute]:
        """One job's attributes filtered by requested-attributes ``names`` (groups expand)."""
        everything = "all" in names
        want_description = everything or "job-description" in names
        want_template = everything or "job-template" in names
        printer_uri = self.printer_uri(host, secure)
        description = [
            Attribute.of("job-id", Tag.INTEGER, job.job_id),
            Attribute.of("job-uri", Tag.URI, f"{printer_uri}/{job.job_id}"),
            Attribute.of("job-uuid", Tag.URI, job.job_uuid),
            Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, job.job_name[:MAX_NAME]),
            Attribute.of("job-originating-user-name", Tag.NAME_WITHOUT_LANGUAGE, job.user_name[:MAX_NAME]),
            Attribute.of("job-state", Tag.ENUM, int(job.state)),
            Attribute.of("job-state-reasons", Tag.KEYWORD, *(job.state_reasons or ("none",))),
            Attribute.of("job-state-message", Tag.TEXT_WITHOUT_LANGUAGE, job.state_message[:MAX_TEXT]),
            Attribute.of("job-printer-uri", Tag.URI, printer_uri),
            Attribute.of("job-printer-up-time", Tag.INTEGER, int(time.time())),
            _time_at("time-at-creation", job.created),
            _time_at("time-at-processing", job.processing),
            _time_at("time-at-completed", job.completed),
            _date_at("date-time-at-creation", job.created),
            _date_at("date-time-at-processing", job.processing),
            _date_at("date-time-at-completed", job.completed),
            Attribute.of("number-of-intervening-jobs", Tag.INTEGER, 0),
            Attribute.of("job-k-octets", Tag.INTEGER, job.k_octets),
            Attribute.of("job-impressions", Tag.INTEGER, job.impressions),
            Attribute.of("job-impressions-completed", Tag.INTEGER, job.impressions if job.state.ended else 0),
            Attribute.of("number-of-documents", Tag.INTEGER, job.documents),
            Attribute.of("document-format-supplied", Tag.MIME_MEDIA_TYPE, job.document_format),
        ]
        template = [
            Attribute.of("copies", Tag.INTEGER, 1),
            Attribute.of("media", Tag.KEYWORD, self.config.media_default),
            Attribute.of("sides", Tag.KEYWORD, "one-sided"),
            Attribute.of("print-color-mode", Tag.KEYWORD, "auto"),
            Attribute.of("print-quality", Tag.ENUM, 4),
            Attribute.of("orientation-requested", Tag.ENUM, 3),
        ]
        return [a for a in description if want_description or a.name in names] + [
            a for a in template if want_template or a.name in names
        ]


def _time_at(name: str, moment: dt.datetime | None) -> Attribute:
    if moment is None:
        return Attribute.of(name, Tag.NO_VALUE)
    return Attribute.of(name, Tag.INTEGER, int(moment.timestamp()))


def _date_at(name: str, moment: dt.datetime | None) -> Attribute:
    if moment is None:
        return Attribute.of(name, Tag.NO_VALUE)
    return Attribute.of(name, Tag.DATE_TIME, moment.astimezone(dt.UTC).replace(microsecond=0))
