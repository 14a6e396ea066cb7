"""An emulator of Pagero Online's public REST API: a real HTTP server for tests and for the demo.

It speaks the shapes the client uses (OAuth2 token endpoint, File API, file parts and
their actions, attachments to files awaiting them, Document API with target documents
and fetch acknowledgements), moves sent documents through realistic states over time,
serves inbound invoices seeded from a folder of e-invoices, and can inject faults: 5xx,
429 with Retry-After, latency, a connection reset before the response, and a response
dropped after the file was stored.  It never deduplicates: every accepted upload and
every attachment is kept, repeats included, so exactly-once delivery is the client's
job and can be checked here.

API (bearer token from ``POST /oauth/v2/oauth-token``; errors are
``{"errors": [{"status", "message"}], "message"}``; lists are ``{"items": [...], "meta": {...}}``):

* ``GET /account/v1/settings`` → ``{"companyId", "manualAttachmentHandling"}``.
* ``POST /file/v1/files`` (multipart: ``payload``, ``documentType``, ``sendMode``, ``sendingCompanyId``,
  ``senderReference``) → 201 ``{"id"}``.  The recipient register decides the file's ``distribution``
  (``Electronic``, ``EPrint`` or ``OriginalPrint``) from the document's text; with manual attachment
  handling on, the file part waits in ``AwaitingInteraction`` (reason ``AwaitingAttachments``).
* ``GET /file/v1/files/{fileId}/fileparts[?Status=A,B]`` → items ``{"id": "<fileId>-1", "fileId", "status",
  "reason"?, "error"?, "distribution", "attachments"}`` (processed file parts are not listed).
* ``POST /file/v1/fileparts/{filepartId}/action`` ``{"action": "Restart"|"Cancel"}``: Restart releases a
  file part in error or awaiting attachments.
* ``GET /file/v1/attachmenttypes`` → items ``{"code", "name"}``.
* ``POST /file/v1/fileparts/{filepartId}/attachments`` (multipart: ``file``, ``documentType``, ``note``?,
  ``reference``?) → 201 ``{"id", "reference", "fileName", "documentType", "note", "size", "sha256",
  "createTime"}``; 404 unknown file part, 409 not awaiting attachments, 400 missing file / unknown type /
  empty file / note over 500 or reference over 100 characters, 413 over 5 MiB.  Faults apply as for uploads.
* ``GET /file/v1/fileparts/{filepartId}/attachments`` → items as above.
* ``GET /document/v1/documents?fileId=…&senderReference=…`` (sent) or ``?direction=Received
  [&showFetchedOnly=true]`` (received), ``limit``/``offset`` → items with ``distribution``,
  ``attachments``, ``deliveryStatus`` (sent) and ``documentInfo``.
* ``GET /document/v1/documents/{id}/targetdocument`` → the file, streamed (XML or PDF).
* ``POST /document/v1/documents/fetch`` ``{"ids": [...]}`` marks received documents fetched.

Admin endpoints (no auth, for tests): ``POST /_emulator/faults`` with a JSON body
such as ``{"error_rate": 0.3, "throttle_rate": 0.1, "reset_rate": 0.05,
"drop_response_rate": 0.1, "latency_ms": 200}`` (``{}`` clears them), ``GET
/_emulator/files`` (every file received through the File API, each with its
``senderReference``, ``distribution``, ``awaitingAttachments`` and ``attachments``), ``POST
/_emulator/reject`` (``{"status": 422, "message": "..."}`` answers uploads with that error
until cleared with ``{}``), ``POST /_emulator/filepart-error`` (``{"message": "..."}``: the
next uploads' file parts stop in ``Error`` until restarted), ``POST /_emulator/account``
(``{"manualAttachmentHandling": true}``; ``GET`` reads it), ``POST /_emulator/recipients``
(``{"recipients": [{"match": "DE123456789", "distribution": "EPrint"}], "default": "Electronic"}``
replaces the register; ``GET`` reads it), ``POST /_emulator/received`` (any of
``{"documents": [{"name", "content_base64"}]}``, ``{"generate": {"count": 1000, "from": "name"}}``,
``{"large": {"name": "huge.xml", "bytes": 209715200}}``; answers ``{"ids": [...], "documents":
[{"id", "name", "documentIdentifier"}]}``).  Settings, register, attachments and added received
documents are kept in the data dir.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import logging
import os
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

from pagero_online_emulator.state import (
    ATTACHMENT_TYPES,
    Attachment,
    EmulatorState,
    Faults,
    StoredFile,
    now_iso,
)

log = logging.getLogger("pagero_online_emulator")

MAX_UPLOAD = 50 * 1024 * 1024
MAX_ATTACHMENT = 5 * 1024 * 1024
"""Pagero's recommended limit for one attached file (5 MiB)."""
MAX_NOTE = 500
MAX_REFERENCE = 100
STREAM_CHUNK = 256 * 1024
SAMPLES = Path(__file__).with_name("samples")
"""Received invoices the demo offers (a few EN 16931 e-invoices; see the NOTICE there)."""


class _Reset(Exception):
    """Drop the connection without an answer."""


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    _consumed = False

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

    def parse_request(self) -> bool:
        self._consumed = False
        return super().parse_request()

    def _end_headers(self) -> None:
        """End the headers; an answer given before the request's body was read closes the connection (the
        unread body must never be taken for the next request)."""
        if not self._consumed and int(self.headers.get("Content-Length") or 0) > 0:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _send(self, status: int, body: Any = None, *, headers: dict[str, str] | None = None,
              raw: bytes | None = None, content_type: str = "application/json") -> None:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._end_headers()
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
        data = self.rfile.read(length) if length else b""
        self._consumed = True
        return data

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
                stored = list(self.state.files.values())
            files = []
            for each in stored:
                entry = asdict(each)
                entry.pop("received", None)
                entry["awaitingAttachments"] = self._awaiting(each)
                entry["attachments"] = self.state.attachments_of(each.id)
                files.append(entry)
            self._send(200, files)
            return
        if parts == ["_emulator", "health"]:
            self._send(200, {"ok": True})
            return
        if parts == ["_emulator", "account"]:
            self._send(200, self.state.settings())
            return
        if parts == ["_emulator", "recipients"]:
            self._send(200, self.state.register())
            return
        if not self._authorized() or self._faults(upload=False):
            return
        if parts == ["account", "v1", "settings"]:
            self._send(200, self.state.settings())
        elif parts == ["file", "v1", "attachmenttypes"]:
            items = [{"code": code, "name": name} for code, name in ATTACHMENT_TYPES]
            self._send(200, {"items": items, "meta": {"count": len(items), "total": len(items)}})
        elif len(parts) == 5 and parts[:3] == ["file", "v1", "fileparts"] and parts[4] == "attachments":
            if self._filepart(parts[3]) is None:
                self._error(404, "file part not found")
                return
            items = self.state.attachments_of(parts[3].rsplit("-", 1)[0])
            self._send(200, {"items": items, "meta": {"count": len(items), "total": len(items)}})
        elif len(parts) == 5 and parts[:3] == ["file", "v1", "files"] and parts[4] == "fileparts":
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
        if len(parts) == 5 and parts[:3] == ["file", "v1", "fileparts"] and parts[4] == "attachments":
            self._attach(parts[3])
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
        form = self._multipart("payload")
        if form is None:
            return
        fields, payload, filename = form
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
            filepartError=self.state.filepart_error, distribution=self.state.distribution_for(payload),
            awaitingAttachments=self.state.manual_attachments,
        )
        self.state.save_file(stored, payload)
        if fault == "drop":
            self._reset()
        self._send(201, {"id": stored.id})

    def _multipart(self, file_field: str) -> tuple[dict[str, str], bytes | None, str] | None:
        """The text fields, the file's bytes and the file's name of a multipart/form-data body (None: answered)."""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            self._body()  # read, so that the connection can carry the next request
            self._error(415, "expected multipart/form-data")
            return None
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
            if name == file_field:
                payload = data
                filename = part.get_filename() or file_field
            elif isinstance(name, str):
                fields[name] = data.decode("utf-8", "replace")
        return fields, payload, filename

    def _filepart(self, filepart_id: str) -> StoredFile | None:
        """The file of a file part id (``<fileId>-1``: one file part per file)."""
        file_id, _, number = filepart_id.rpartition("-")
        return self.state.files.get(file_id) if number == "1" else None

    def _awaiting(self, stored: StoredFile) -> bool:
        return self._status(stored)[0] == "AwaitingInteraction"

    def _status(self, stored: StoredFile) -> tuple[str, str]:
        """(file part status, delivery status) of a file at this moment."""
        if stored.cancelled:
            return "Cancelled", "Cancelled"
        if stored.filepartError:
            return "Error", "Error"
        if stored.awaitingAttachments:
            return "AwaitingInteraction", "AwaitingInteraction"
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
            elif status == "AwaitingInteraction":
                part["reason"] = "AwaitingAttachments"
            part["distribution"] = stored.distribution
            part["attachments"] = self.state.attachments_of(file_id)
            if not wanted or status in wanted:
                items.append(part)
        self._send(200, {"items": items, "meta": {"count": len(items), "total": len(items)}})

    def _action(self, filepart_id: str) -> None:
        stored = self._filepart(filepart_id)
        action = self._json().get("action")
        if stored is None:
            self._error(404, "file part not found")
            return
        if action == "Restart":
            stored.filepartError = ""
            stored.awaitingAttachments = False
            stored.restarted = time.time()
        elif action == "Cancel":
            stored.cancelled = True
        else:
            self._error(400, "action must be Restart or Cancel")
            return
        self.state.update_file(stored)
        self._send(200, {"id": filepart_id, "action": action})

    def _attach(self, filepart_id: str) -> None:
        """An attachment for a file part awaiting attachments (every accepted post is a new attachment)."""
        fault = self._faults(upload=True)
        if fault == "answered":
            return
        form = self._multipart("file")
        if form is None:
            return
        fields, data, filename = form
        stored = self._filepart(filepart_id)
        codes = [code for code, _ in ATTACHMENT_TYPES]
        document_type = fields.get("documentType", "")
        note, reference = fields.get("note"), fields.get("reference")
        if stored is None:
            self._error(404, "file part not found")
        elif not self._awaiting(stored):
            self._error(409, f"file part {filepart_id} is not awaiting attachments")
        elif data is None:
            self._error(400, "missing file")
        elif document_type not in codes:
            self._error(400, f"documentType {document_type!r} is not one of {', '.join(codes)}")
        elif not data:
            self._error(400, "the file is empty")
        elif len(data) > MAX_ATTACHMENT:
            self._error(413, f"the file has {len(data):,} bytes; at most {MAX_ATTACHMENT:,} are accepted")
        elif note is not None and len(note) > MAX_NOTE:
            self._error(400, f"note has {len(note)} characters; at most {MAX_NOTE} are accepted")
        elif reference is not None and len(reference) > MAX_REFERENCE:
            self._error(400, f"reference has {len(reference)} characters; at most {MAX_REFERENCE} are accepted")
        else:
            attachment = Attachment(
                id=str(uuid.uuid4()), fileId=stored.id, reference=reference, fileName=filename,
                documentType=document_type, note=note, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                createTime=now_iso(),
            )
            self.state.save_attachment(attachment, data)
            if fault == "drop":
                self._reset()
            self._send(201, attachment.record())

    # -- Document API ----------------------------------------------------------------------

    def _sent_document(self, stored: StoredFile) -> dict[str, Any]:
        _, delivery = self._status(stored)
        return {
            "id": f"doc-{stored.id}", "fileId": stored.id, "createTime": stored.receivedAt,
            "distribution": stored.distribution, "isFetched": delivery == "DoneFetched", "sendMode": stored.sendMode,
            "senderReference": stored.senderReference, "deliveryStatus": delivery,
            "documentInfo": {"direction": "Sent", "documentType": stored.documentType},
            "latestBusinessStatus": None, "attachments": self.state.attachments_of(stored.id),
            "validationErrors": {"noOfErrors": 0},
        }

    def _documents(self, query: dict[str, list[str]]) -> None:
        limit = int((query.get("limit") or ["100"])[0])
        offset = int((query.get("offset") or ["0"])[0])
        direction = (query.get("direction") or [""])[0]
        if direction == "Received":
            fetched_only = (query.get("showFetchedOnly") or ["false"])[0] == "true"
            ids = self.state.inbound_ids()
            if fetched_only:
                with self.state.lock:
                    fetched = set(self.state.fetched)
                ids = [doc_id for doc_id in ids if doc_id in fetched]
            # Only the page is built: the fields were read once, when the document was added.
            items = [self._received_document(doc_id) for doc_id in ids[offset : offset + limit]]
            total = len(ids)
        else:
            file_ids = set(query.get("fileId", []))
            references = set(query.get("senderReference", []))
            with self.state.lock:
                files = list(self.state.files.values())
            matching = [self._sent_document(f) for f in files
                        if (not file_ids or f.id in file_ids) and (not references or f.senderReference in references)]
            items, total = matching[offset : offset + limit], len(matching)
        self._send(200, {"items": items, "meta": {"count": len(items), "limit": limit, "offset": offset,
                                                  "total": total}})

    def _received_document(self, doc_id: str) -> dict[str, Any]:
        info = self.state.inbound[doc_id]
        return {
            "id": doc_id, "createTime": info["createTime"], "isFetched": doc_id in self.state.fetched,
            "sendMode": "Production", "distribution": "Electronic",
            "attachments": [dict(attachment) for attachment in info["attachments"]],
            "documentInfo": {"direction": "Received", "documentType": info["documentType"],
                             "documentIdentifier": info["number"], "issueDate": info["issueDate"],
                             "senderName": info["sender"],
                             "amounts": {"currency": info["currency"], "totalAmount": info["total"],
                                         "netAmount": info["net"], "vatAmount": info["vat"]}},
        }

    def _target(self, doc_id: str) -> None:
        entry = self.state.inbound.get(doc_id)
        if entry is not None:
            self._send_file(Path(entry["path"]), None)
            return
        file_id = doc_id.removeprefix("doc-")
        if file_id in self.state.files:
            self._send_file(self.state.data_dir / "files" / f"{file_id}.bin", "application/pdf")
            return
        self._error(404, "document not found")

    def _send_file(self, path: Path, content_type: str | None) -> None:
        """Stream a file from disk (XML, or PDF when it starts so, unless a type is given)."""
        try:
            handle = open(path, "rb")
        except OSError:
            self._error(404, "document not found")
            return
        with handle:
            size = os.fstat(handle.fileno()).st_size
            if content_type is None:
                content_type = "application/pdf" if handle.read(5) == b"%PDF-" else "application/xml"
                handle.seek(0)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(size))
            self._end_headers()
            remaining = size
            while remaining > 0:
                chunk = handle.read(min(STREAM_CHUNK, remaining))
                if not chunk:  # cut short under us: the client sees a short body and retries
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                remaining -= len(chunk)

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
        elif parts == ["account"]:
            unknown = set(body) - {"manualAttachmentHandling"}
            if unknown or not isinstance(body.get("manualAttachmentHandling", False), bool):
                self._error(400, 'expected {"manualAttachmentHandling": true or false}')
                return
            if "manualAttachmentHandling" in body:
                self.state.set_manual_attachments(body["manualAttachmentHandling"])
            self._send(200, self.state.settings())
        elif parts == ["recipients"]:
            try:
                self._send(200, self.state.set_register(body))
            except ValueError as error:
                self._error(400, str(error))
        elif parts == ["received"]:
            self._add_received(body)
        else:
            self._error(404, "not found")


    def _add_received(self, body: dict[str, Any]) -> None:
        unknown = set(body) - {"documents", "generate", "large"}
        if unknown or not body:
            self._error(400, "expected documents, generate and/or large")
            return
        added: list[dict[str, Any]] = []
        try:
            if "documents" in body:
                if not isinstance(body["documents"], list):
                    raise ValueError("documents must be a list")
                added += self.state.add_received(body["documents"])
            if "generate" in body:
                generate = body["generate"]
                count = generate.get("count", 1) if isinstance(generate, dict) else None
                source = generate.get("from") if isinstance(generate, dict) else None
                if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 100_000 or \
                        not isinstance(source, str | None):
                    raise ValueError('generate: expected {"count": 1..100000, "from": "name"?}')
                added += self.state.generate_received(count, source)
            if "large" in body:
                large = body["large"]
                size = large.get("bytes") if isinstance(large, dict) else None
                if not isinstance(size, int) or isinstance(size, bool) or size > 8 * 1024**3:
                    raise ValueError('large: expected {"name": "huge.xml", "bytes": n} (n up to 8 GiB)')
                added.append(self.state.add_large_received(str(large.get("name") or "large.xml"), size))
        except ValueError as error:
            self._error(400, str(error))
            return
        self._send(200, {"ids": [entry["id"] for entry in added], "documents": added})


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        self.state = state
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, Handler)


def make_server(host: str, port: int, data_dir: Path, *, inbound: Path | None = None,
                manual_attachments: bool | None = None, recipients: dict[str, Any] | None = None,
                **settings: Any) -> EmulatorServer:
    """A ready (not yet serving) emulator on ``host:port`` keeping its data in ``data_dir``.

    ``manual_attachments`` and ``recipients`` (a register as ``POST /_emulator/recipients`` takes it; raises
    ValueError when wrong) replace what the data dir holds; None keeps it.
    """
    state = EmulatorState(data_dir=data_dir, **settings)
    if manual_attachments is not None:
        state.set_manual_attachments(manual_attachments)
    if recipients is not None:
        state.set_register(recipients)
    if inbound is not None and inbound.is_dir():
        state.seed_inbound(inbound)
    return EmulatorServer((host, port), state)


def default_inbound() -> Path:
    """The e-invoices the emulator serves as received when no other folder is given (its own samples)."""
    return SAMPLES
