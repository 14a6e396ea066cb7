"""The Pagero Online emulator as a real server process for tests, plus a product config pointing at it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.harness import REPO, free_port, wait_for_port


class Emulator:
    def __init__(self, data_dir: Path, step_seconds: float = 0.3, token_seconds: int = 300,
                 inbound: Path | None = None, manual_attachments: bool = False,
                 recipients: Path | None = None) -> None:
        self.data_dir = data_dir
        self.inbound = inbound
        """A folder of UBL/CII e-invoices the emulator offers as received invoices."""
        self.manual_attachments = manual_attachments
        """Start with manual attachment handling on (``--manual-attachments``; off keeps what the data dir has)."""
        self.recipients = recipients
        """A recipient register JSON file (``--recipients``)."""
        self.port = free_port()
        self.step_seconds = step_seconds
        self.token_seconds = token_seconds
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}-emulator.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        argv = [sys.executable, "-m", "pagero_online_emulator",
                "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir),
                "--step-seconds", str(self.step_seconds), "--token-seconds", str(self.token_seconds)]
        if self.inbound is not None:
            argv += ["--inbound", str(self.inbound)]
        if self.manual_attachments:
            argv += ["--manual-attachments"]
        if self.recipients is not None:
            argv += ["--recipients", str(self.recipients)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def faults(self, **settings: float) -> None:
        self.admin("/_emulator/faults", settings)

    def files(self) -> list[dict[str, Any]]:
        return list(self.admin("/_emulator/files"))

    def manual_attachment_handling(self, on: bool) -> None:
        """Switch Pagero Online's "manual attachment handling" account setting."""
        self.admin("/_emulator/account", {"manualAttachmentHandling": on})

    def register(self, recipients: dict[str, str], default: str = "Electronic") -> None:
        """Set the recipient register: ``{match text: distribution}`` (Electronic, EPrint or OriginalPrint)."""
        self.admin("/_emulator/recipients", {"recipients": [{"match": match, "distribution": distribution}
                                                            for match, distribution in recipients.items()],
                                             "default": default})

    def add_received(self, **body: Any) -> list[str]:
        """Add received documents (``documents=[...]``, ``generate={...}``, ``large={...}``); their ids."""
        return list(self.admin("/_emulator/received", body)["ids"])

    def product_config(self, path: Path, mode: str = "automatic", **extra: Any) -> Path:
        sending = {"mode": mode, "poll_seconds": 0.3, "max_retry_delay": 5, **extra}
        lines = ["online:", f"  url: {self.url}", "  username: demo", "  password: demo", "  company_id: demo",
                 "sending:"] + [f"  {key}: {value}" for key, value in sending.items()]
        path.write_text("\n".join(lines) + "\n")
        return path


def wait_until(predicate: Any, timeout: float = 60.0, interval: float = 0.3, message: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy (a liveness limit, not a speed target)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout} s (last: {last!r})")
