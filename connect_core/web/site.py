"""What every page and API call shares: the store, the settings in force, and the header's live state."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connect_core.config import Config
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.invoices.access import Actor
from connect_core.invoices.service import InvoiceFiles, change_marker, view_counts
from connect_core.online.client import OnlineClient, client_for
from connect_core.pipeline.recognition import ocr_settings
from connect_core.pipeline.worker import Pipeline
from connect_core.received.service import received_counts
from connect_core.store import Database

log = logging.getLogger("connect_core.web")

ONLINE_CHECK_SECONDS = 60.0


@dataclass
class Site:
    """The running product as the pages see it.  ``config`` changes when an admin saves settings."""

    config: Config
    db: Database
    spool: Spool
    printer_name: str
    printer_path: str = "/ipp/print"
    intake: PrintIntake | None = None
    pipeline: Pipeline | None = None
    on_settings: list[Callable[[Config], None]] = field(default_factory=list)
    """Called with the new settings after an admin saves them (``serve`` restarts the uploader here)."""
    certificate: Callable[[], dict[str, Any]] | None = None
    """The TLS certificate served now (fingerprint, self-signed or not), when the port speaks TLS."""
    printer_schemes: tuple[str, ...] = ("ipp",)
    """The schemes the printer answers on, the secure one first (as in printer-uri-supported)."""
    _online: dict[str, Any] = field(default_factory=dict, init=False)
    _online_at: float = field(default=0.0, init=False)
    _online_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _checking: bool = field(default=False, init=False)

    # -- settings -----------------------------------------------------------------------

    def online_client(self) -> OnlineClient | None:
        """The client of the account in the settings now in force (shared with the uploader), or None."""
        return client_for(self.config)

    def apply(self, config: Config) -> None:
        """Use new settings from now on: the sending mode, the companies and OCR's languages for the next
        document, the account for the next check."""
        self.config = config
        if self.pipeline is not None:
            automatic = config.sending.mode == "automatic"
            self.pipeline.policy = dataclasses.replace(self.pipeline.policy, automatic=automatic)
            self.pipeline.companies = config.companies
            self.pipeline.ocr = ocr_settings(config)
        with self._online_lock:
            self._online, self._online_at = {}, 0.0
        for hook in self.on_settings:
            try:
                hook(config)
            except Exception:
                log.exception("applying the new settings failed; they take effect at the next start")

    # -- the header -----------------------------------------------------------------------

    def printer_status(self) -> dict[str, Any]:
        """Whether the printer accepts jobs now, and why not."""
        if self.intake is None:
            return {"ready": True, "message": "Ready to print."}
        accepting, reasons = self.intake.accepting()
        if accepting:
            return {"ready": True, "message": "Ready to print."}
        words = {"spool-area-full": "the disk is almost full"}
        return {"ready": False, "message": "Not accepting jobs: " + ", ".join(words.get(r, r) for r in reasons)}

    def online_status(self, *, wait: bool = False) -> dict[str, Any]:
        """The last known connection state; a check runs in the background when it is older than a minute.

        ``demo`` says that the account in force is the local emulator's, not the office's.
        """
        return {**self._connection(wait=wait), "demo": self.config.is_demo}

    def _connection(self, *, wait: bool) -> dict[str, Any]:
        if not self.config.account.username:
            return {"configured": False, "connected": False, "logged_in": False, "reachable": False,
                    "message": "No Pagero Online account is set up.", "checked_at": None}
        with self._online_lock:
            stale = time.monotonic() - self._online_at > ONLINE_CHECK_SECONDS or not self._online
            start = stale and not self._checking
            if start:
                self._checking = True
        if start:
            thread = threading.Thread(target=self._check_online, name="web-online-check", daemon=True)
            thread.start()
            if wait:
                thread.join(20)
        with self._online_lock:
            if self._online:
                return dict(self._online)
        return {"configured": True, "connected": False, "logged_in": False, "reachable": False,
                "message": "Checking the connection…", "checked_at": None}

    def check_online(self) -> dict[str, Any]:
        """Test connection now (the Settings button); never raises."""
        self._check_online()
        return self.online_status()

    def _check_online(self) -> None:
        try:
            client = self.online_client()
            # A page waits for this check: seconds, not the uploader's minute.
            result = client.with_timeouts(3.0, 10.0).check() if client is not None else {}
        except Exception as error:  # a check must never take the page down with it
            log.warning("connection check failed: %s", error)
            result = {"reachable": False, "logged_in": False, "message": f"The check failed: {error}"}
        finally:
            with self._online_lock:
                self._checking = False
        if not result:
            return
        message = str(result["message"])
        if self.config.is_demo and result["reachable"] and result["logged_in"]:
            message = "Demo: connected to the local Pagero Online emulator, not to Pagero Online."
        state = {"configured": True, "connected": bool(result["reachable"] and result["logged_in"]),
                 "logged_in": bool(result["logged_in"]), "reachable": bool(result["reachable"]),
                 "message": message, "checked_at": dt.datetime.now(dt.UTC).isoformat()}
        with self._online_lock:
            self._online, self._online_at = state, time.monotonic()

    def status(self, actor: Actor) -> dict[str, Any]:
        """The header: printer, connection, counts, and a ``version`` that changes when any of it may have."""
        printer = self.printer_status()
        online = self.online_status()
        received = received_counts(self.db, actor)
        counts = {**view_counts(self.db, actor), "unfetched": received["unfetched"], "refused": received["refused"]}
        # Received invoices write no history: their counts are part of the version themselves.
        version = (f"{change_marker(self.db)}.{int(printer['ready'])}.{int(online['configured'])}"
                   f".{int(online['connected'])}.{int(bool(online['checked_at']))}"
                   f".{received['unfetched']}.{received['refused']}")
        return {"printer": printer, "online": online, "counts": counts, "version": version}

    def pdf_path(self, files: InvoiceFiles) -> Path:
        """Where the invoice's PDF would be (it may have been refused or purged)."""
        return self.spool.job_dir(files.document_uuid) / files.pdf_name

    def document_path(self, files: InvoiceFiles) -> Path:
        """Where the document as printed would be."""
        return self.spool.document_path(files.document_uuid)
