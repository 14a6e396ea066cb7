"""An emulator of Pagero Online's public REST API: a real HTTP server for tests and for the demo.

It speaks the shapes the client uses (OAuth2 token endpoint, File API, file parts and
their actions, Document API with target documents and fetch acknowledgements), moves
sent documents through realistic states over time, serves inbound invoices seeded
from a folder of e-invoices, and can inject faults: 5xx, 429 with Retry-After,
latency, a connection reset before the response, and a response dropped after the
file was stored.  It never deduplicates: every accepted upload is kept, repeats
included, so exactly-once delivery is the client's job and can be checked here.

Admin endpoints (no auth, for tests): ``POST /_emulator/faults`` with a JSON body
such as ``{"error_rate": 0.3, "throttle_rate": 0.1, "reset_rate": 0.05,
"drop_response_rate": 0.1, "latency_ms": 200}`` (``{}`` clears them), ``GET
/_emulator/files`` (every file received through the File API, each with its
``senderReference``), ``POST /_emulator/reject`` (``{"status": 422, "message": "..."}``
answers uploads with that error until cleared with ``{}``), ``POST
/_emulator/filepart-error`` (``{"message": "..."}``: the next uploads' file parts stop
in ``Error`` until restarted).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import logging
import secrets
import socket
import struct
import time
import urllib.parse
import uuid
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pagero_online_emulator.state import EmulatorState, Faults, StoredFile, now_iso

log = logging.getLogger("pagero_online_emulator")

MAX_UPLOAD = 50 * 1024 * 1024
SAMPLES = Path(__file__).with_name("samples")
"""Received invoices the demo offers (a few EN 16931 e-invoices; see the NOTICE there)."""


class _Reset(Exception):
    """Drop the connection without an answer."""


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    # -- plumbing ------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.debug("%s " + format, self.client_address[0], *args)

    @property
    def state(self) -> EmulatorState:
        return self.server.state

    def _send(self, status: int, body: Any = None, *, headers: dict[str, str] | None = None,
              raw: bytes | None = None, content_type: str = "application/json") -> None:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"errors": [{"status": status, "message": message}], "message": message}, headers=headers)

    def _reset(self) -> None:
        """Close with RST, as a crashed proxy or a dropped link looks to the client."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        raise _Reset()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_UPLOAD:
            self._error(413, "file too large")
            raise _Reset()
        return self.rfile.read(length) if length else b""

    def _json(self) -> dict[str, Any]:
        try:
            data = json.loads(self._body() or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self._error(400, "expected a JSON object")
            raise _Reset()
        return data

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            self._error(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
            return False
        expires = self.state.tokens.get(header[7:])
        if expires is None or expires < time.time():
            self._error(401, "invalid or expired token", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return False
        return True

    def _faults(self, upload: bool) -> str | None:
        """Apply the configured faults; returns "drop" when the answer must be dropped after storing."""
        faults, rng = self.state.faults, self.state.rng
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        roll = rng.random()
        if roll < faults.reset_rate:
            self._reset()
        roll = rng.random()
        if roll < faults.error_rate:
            self._error(rng.choice((500, 502, 503)), "temporary failure (injected)")
            return "answered"
        roll = rng.random()
        if roll < faults.throttle_rate:
            self._error(429, "too many requests (injected)", {"Retry-After": str(faults.retry_after)})
            return "answered"
        if upload and rng.random() < faults.drop_response_rate:
            return "drop"
        return None

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _Reset:
            self.close_connection = True
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    # -- routing -------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if parts == ["_emulator", "files"]:
            with self.state.lock:
                files = [asdict(f) for f in self.state.files.values()]
            for entry in files:
                entry.pop("received", None)
            self._send(200, files)
            return
        if parts == ["_emulator", "health"]:
            self._send(200, {"ok": True})
            return
        if not self._authorized() or self._faults(upload=False):
            return
        if len(parts) == 5 and parts[:3] == ["file", "v1", "files"] and parts[4] == "fileparts":
            self._fileparts(parts[3], query)
        elif parts[:3] == ["document", "v1", "documents"] and len(parts) == 3:
            self._documents(query)
        elif len(parts) == 5 and parts[:3] == ["document", "v1", "documents"] and parts[4] == "targetdocument":
            self._target(parts[3])
        else:
            self._error(404, "not found")

    def do_POST(self) -> None:  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["_emulator"]:
            self._admin(parts[1:])
            return
        if parts == ["oauth", "v2", "oauth-token"]:
            self._token()
            return
        if not self._authorized():
            return
        if parts == ["file", "v1", "files"]:
            self._upload()
            return
        if self._faults(upload=False):
            return
        if len(parts) == 5 and parts[:3] == ["file", "v1", "fileparts"] and parts[4] == "action":
            self._action(parts[3])
        elif parts == ["document", "v1", "documents", "fetch"]:
            ids = self._json().get("ids") or []
            self.state.mark_fetched([str(i) for i in ids])
            self._send(200, {"ids": ids})
        else:
            self._error(404, "not found")

    # -- auth ----------------------------------------------------------------------------

    def _token(self) -> None:
        form = urllib.parse.parse_qs(self._body().decode("utf-8", "replace"))
        grant = (form.get("grant_type") or [""])[0]
        if grant == "password":
            ok = (form.get("username") or [""])[0] == self.state.username and \
                (form.get("password") or [""])[0] == self.state.password
            if not ok:
                self._send(400, {"error": "invalid_grant", "error_description": "Bad credentials"})
                return
        elif grant == "refresh_token":
            token = (form.get("refresh_token") or [""])[0]
            with self.state.lock:
                if token not in self.state.refresh_tokens:
                    self._send(400, {"error": "invalid_grant", "error_description": "Invalid refresh token"})
                    return
                self.state.refresh_tokens.discard(token)  # refresh tokens work once
        else:
            self._send(400, {"error": "unsupported_grant_type"})
            return
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.tokens[access] = time.time() + self.state.token_seconds
            self.state.refresh_tokens.add(refresh)
        self._send(200, {"access_token": access, "token_type": "Bearer", "expires_in": self.state.token_seconds,
                         "refresh_token": refresh, "scope": "all"})

    # -- File API ------------------------------------------------------------------------

    def _upload(self) -> None:
        fault = self._faults(upload=True)
        if fault == "answered":
            return
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            self._error(415, "expected multipart/form-data")
            return
        body = self._body()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        fields: dict[str, str] = {}
        payload: bytes | None = None
        filename = ""
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            data = raw if isinstance(raw, bytes) else b""
            if name == "payload":
                payload = data
                filename = part.get_filename() or "payload"
            elif isinstance(name, str):
                fields[name] = data.decode("utf-8", "replace")
        reject = self.state.reject
        if reject:
            self._error(int(reject.get("status", 400)), str(reject.get("message", "rejected (injected)")))
            return
        missing = [k for k in ("documentType", "sendMode", "sendingCompanyId") if not fields.get(k)]
        if payload is None or missing:
            self._error(400, "missing " + ", ".join(missing or ["payload"]))
            return
        if fields["sendMode"] not in ("Production", "Test", "Certification"):
            self._error(400, f"sendMode {fields['sendMode']!r} is not Production, Test or Certification")
            return
        if fields["sendingCompanyId"] != self.state.company_id:
            self._error(403, f"no access to company {fields['sendingCompanyId']!r}")
            return
        stored = StoredFile(
            id=str(uuid.uuid4()), senderReference=fields.get("senderReference", ""),
            documentType=fields["documentType"], sendMode=fields["sendMode"],
            sendingCompanyId=fields["sendingCompanyId"], filename=filename, size=len(payload),
            sha256=hashlib.sha256(payload).hexdigest(), receivedAt=now_iso(), received=time.time(),
            filepartError=self.state.filepart_error,
        )
        self.state.save_file(stored, payload)
        if fault == "drop":
            self._reset()
        self._send(201, {"id": stored.id})

    def _status(self, stored: StoredFile) -> tuple[str, str]:
        """(file part status, delivery status) of a file at this moment."""
        if stored.cancelled:
            return "Cancelled", "Cancelled"
        if stored.filepartError:
            return "Error", "Error"
        start = max(stored.received, stored.restarted)
        elapsed = (time.time() - start) / max(self.state.step_seconds, 0.001)
        if elapsed < 1:
            return "Processing", "Processing"
        if elapsed < 2:
            return "Done", "WaitingToBeDelivered"
        if elapsed < 4:
            return "Done", "Done"
        return "Done", "DoneFetched"

    def _fileparts(self, file_id: str, query: dict[str, list[str]]) -> None:
        stored = self.state.files.get(file_id)
        if stored is None:
            self._error(404, "file not found")
            return
        wanted = {s for value in query.get("Status", []) for s in value.split(",") if s}
        status, _ = self._status(stored)
        items = []
        if status != "Done":  # processed file parts are not visible in the API
            part: dict[str, Any] = {"id": f"{file_id}-1", "fileId": file_id, "status": status}
            if status == "Error":
                part["error"] = {"description": [stored.filepartError]}
            if not wanted or status in wanted:
                items.append(part)
        self._send(200, {"items": items, "meta": {"count": len(items), "total": len(items)}})

    def _action(self, filepart_id: str) -> None:
        file_id = filepart_id.rsplit("-", 1)[0]
        stored = self.state.files.get(file_id)
        action = self._json().get("action")
        if stored is None:
            self._error(404, "file part not found")
            return
        if action == "Restart":
            stored.filepartError = ""
            stored.restarted = time.time()
        elif action == "Cancel":
            stored.cancelled = True
        else:
            self._error(400, "action must be Restart or Cancel")
            return
        self.state.update_file(stored)
        self._send(200, {"id": filepart_id, "action": action})

    # -- Document API ----------------------------------------------------------------------

    def _sent_document(self, stored: StoredFile) -> dict[str, Any]:
        _, delivery = self._status(stored)
        return {
            "id": f"doc-{stored.id}", "fileId": stored.id, "createTime": stored.receivedAt,
            "distribution": "Electronic", "isFetched": delivery == "DoneFetched", "sendMode": stored.sendMode,
            "senderReference": stored.senderReference, "deliveryStatus": delivery,
            "documentInfo": {"direction": "Sent", "documentType": stored.documentType},
            "latestBusinessStatus": None, "attachments": [], "validationErrors": {"noOfErrors": 0},
        }

    def _documents(self, query: dict[str, list[str]]) -> None:
        limit = int((query.get("limit") or ["100"])[0])
        offset = int((query.get("offset") or ["0"])[0])
        direction = (query.get("direction") or [""])[0]
        if direction == "Received":
            fetched_only = (query.get("showFetchedOnly") or ["false"])[0] == "true"
            items = [
                {"id": doc_id, "createTime": now_iso(), "isFetched": doc_id in self.state.fetched,
                 "sendMode": "Production",
                 "documentInfo": {"direction": "Received", "documentType": "Invoice",
                                  "documentIdentifier": info["number"], "issueDate": info["issueDate"],
                                  "senderName": info["sender"],
                                  "amounts": {"currency": info["currency"], "totalAmount": info["total"]}}}
                for doc_id, info in sorted(self.state.inbound.items())
                if not fetched_only or doc_id in self.state.fetched
            ]
        else:
            file_ids = set(query.get("fileId", []))
            references = set(query.get("senderReference", []))
            with self.state.lock:
                files = list(self.state.files.values())
            items = [self._sent_document(f) for f in files
                     if (not file_ids or f.id in file_ids) and (not references or f.senderReference in references)]
        page = items[offset : offset + limit]
        self._send(200, {"items": page, "meta": {"count": len(page), "limit": limit, "offset": offset,
                                                 "total": len(items)}})

    def _target(self, doc_id: str) -> None:
        if doc_id in self.state.inbound:
            path = self.state.inbound[doc_id]["path"]
            self._send(200, raw=Path(path).read_bytes(), content_type="application/xml")
            return
        file_id = doc_id.removeprefix("doc-")
        if file_id in self.state.files:
            data = (self.state.data_dir / "files" / f"{file_id}.bin").read_bytes()
            self._send(200, raw=data, content_type="application/pdf")
            return
        self._error(404, "document not found")

    # -- admin -----------------------------------------------------------------------------

    def _admin(self, parts: list[str]) -> None:
        body = self._json()
        if parts == ["faults"]:
            known = set(Faults.__dataclass_fields__)
            unknown = set(body) - known
            if unknown:
                self._error(400, f"unknown fault settings: {', '.join(sorted(unknown))}")
                return
            self.state.faults = Faults(**body)
            self._send(200, asdict(self.state.faults))
        elif parts == ["reject"]:
            self.state.reject = body
            self._send(200, body)
        elif parts == ["filepart-error"]:
            self.state.filepart_error = str(body.get("message", ""))
            self._send(200, body)
        else:
            self._error(404, "not found")


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        self.state = state
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, Handler)


def make_server(host: str, port: int, data_dir: Path, *, inbound: Path | None = None,
                **settings: Any) -> EmulatorServer:
    """A ready (not yet serving) emulator on ``host:port`` keeping its data in ``data_dir``."""
    state = EmulatorState(data_dir=data_dir, **settings)
    if inbound is not None and inbound.is_dir():
        state.seed_inbound(inbound)
    return EmulatorServer((host, port), state)


def default_inbound() -> Path:
    """The e-invoices the emulator serves as received when no other folder is given (its own samples)."""
    return SAMPLES
