"""The Pagero Online API client: OAuth2 password grant, File API, Document API.

Every call has explicit timeouts, only the configured API and token hosts are ever
contacted (redirects are not followed), tokens never reach a log, and the token file
is written with mode 0600.  Failures are sorted into the few kinds the outbox acts on.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from connect_core.config import Config
from connect_core.errors import ConnectError
from connect_core.fsutil import write_durably

log = logging.getLogger("connect_core.online")

PAGERO_API_HOST = "api.pageroonline.com"
PAGERO_TOKEN_URL = "https://sso.pageroonline.com/oauth/v2/oauth-token"
REFRESH_MARGIN = 60.0


class OnlineError(ConnectError):
    """Something went wrong talking to Pagero Online; ``message`` is for people."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Unreachable(OnlineError):
    """The request never reached the service (connection refused, DNS, connect timeout)."""


class Ambiguous(OnlineError):
    """The request was sent but no answer came back: the service may or may not have acted."""


class Retryable(OnlineError):
    """The service answered "not now" (408, 429, 5xx); ``retry_after`` seconds if it said."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Rejected(OnlineError):
    """The service refused the request for good (400, 401, 403, 409, 413, 422...)."""


class LoginRefused(Rejected):
    """The account's user name or password was refused: nothing can be sent until the account is fixed."""


class TooLarge(OnlineError):
    """A document the service offered is larger than we take in; it was not read."""


ATTACHMENT_TYPES: dict[str, str] = {"DeliveryNote": "Delivery note", "TimeSheet": "Time sheet",
                                    "Contract": "Contract", "Order": "Order", "Other": "Other"}
"""The attachment document types Pagero Online accepts, by code (used when the service cannot be asked)."""


def default_auth_url(api_url: str) -> str:
    """Pagero's SSO token URL for Pagero's API; ``{api_url}/oauth/v2/oauth-token`` for anything else."""
    host = urllib.parse.urlsplit(api_url).hostname or ""
    if host == PAGERO_API_HOST:
        return PAGERO_TOKEN_URL
    return api_url.rstrip("/") + "/oauth/v2/oauth-token"


@dataclass(frozen=True)
class Account:
    """One Pagero Online account on one service, and how long to wait for it."""

    url: str
    username: str
    password: str
    company_id: str
    environment: str = "Production"
    auth_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 60.0

    @property
    def token_url(self) -> str:
        return self.auth_url or default_auth_url(self.url)


class _Tokens:
    """The OAuth tokens of one account, shared by every view of its client (one lock, one file)."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.lock = threading.Lock()
        self.data: dict[str, Any] = {}


class OnlineClient:
    """One account on one Pagero Online service."""

    def __init__(self, account: Account, token_file: Path | None = None) -> None:
        self.account = account
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "Pagero-Connect/0.1"
        self._allowed = {_origin(account.url), _origin(account.token_url)}
        self._tokens = _Tokens(token_file)
        self._tokens.data = self._load_token()

    def with_timeouts(self, connect: float, read: float) -> OnlineClient:
        """The same client (same session and tokens) waiting at most ``connect``/``read`` seconds per call."""
        view = copy.copy(self)
        view.account = dataclasses.replace(self.account, connect_timeout=connect, read_timeout=read)
        return view

    # -- tokens ----------------------------------------------------------------------------

    def _load_token(self) -> dict[str, Any]:
        file = self._tokens.file
        if file is None or not file.exists():
            return {}
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        if data.get("url") != self.account.token_url or data.get("username") != self.account.username:
            return {}
        return data

    def _save_token(self) -> None:
        if self._tokens.file is not None:
            write_durably(self._tokens.file, json.dumps(self._tokens.data).encode(), mode=0o600)

    def _grant(self, form: dict[str, str]) -> None:
        if self.account.client_id:
            form = {**form, "client_id": self.account.client_id, "client_secret": self.account.client_secret}
        response = self._send("POST", self.account.token_url, data=form, auth_request=True)
        if response.status_code != 200:
            detail = _message(response)
            raise LoginRefused(f"login to Pagero Online failed: {detail}", status=response.status_code)
        body = response.json()
        self._tokens.data = {
            "url": self.account.token_url, "username": self.account.username,
            "access_token": body["access_token"], "refresh_token": body.get("refresh_token", ""),
            "expires_at": time.time() + float(body.get("expires_in", 300)),
        }
        self._save_token()

    def _login(self) -> None:
        self._grant({"grant_type": "password", "username": self.account.username,
                     "password": self.account.password, "scope": "all"})

    def _refresh(self) -> None:
        refresh = self._tokens.data.get("refresh_token")
        if refresh:
            try:
                self._grant({"grant_type": "refresh_token", "refresh_token": refresh})
                return
            except Rejected:
                pass  # an expired or used refresh token: log in again
        self._login()

    def access_token(self) -> str:
        """A token valid for at least another minute (refreshed or renewed as needed)."""
        with self._tokens.lock:
            if not self._tokens.data.get("access_token"):
                self._login()
            elif self._tokens.data.get("expires_at", 0) - time.time() < REFRESH_MARGIN:
                self._refresh()
            return str(self._tokens.data["access_token"])

    # -- transport -------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, auth_request: bool = False, **kwargs: Any) -> requests.Response:
        if _origin(url) not in self._allowed:
            raise Rejected(f"refusing to contact {_origin(url)}: not the configured Pagero Online service")
        timeout = (self.account.connect_timeout, self.account.read_timeout)
        try:
            return self.session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
        except requests.exceptions.ConnectTimeout as error:
            raise Unreachable("Pagero Online did not answer the connection") from error
        except requests.exceptions.SSLError as error:
            raise Unreachable(f"secure connection to Pagero Online failed: {error}") from error
        except requests.exceptions.ConnectionError as error:
            text = str(error)
            if "Connection refused" in text or "Name or service not known" in text or \
                    "Failed to establish a new connection" in text:
                raise Unreachable("Pagero Online cannot be reached") from error
            raise Ambiguous("the connection to Pagero Online broke before an answer came") from error
        except requests.exceptions.Timeout as error:
            raise Ambiguous("Pagero Online did not answer in time") from error

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An authorized API call; on 401 the token is renewed once and the call retried."""
        url = self.account.url.rstrip("/") + path
        for attempt in (1, 2):
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.access_token()}"}
            response = self._send(method, url, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 1:
                with self._tokens.lock:
                    self._tokens.data["expires_at"] = 0
                continue
            break
        _raise_for(response)
        return response

    # -- File API --------------------------------------------------------------------------

    def upload(self, pdf: Path, *, sender_reference: str, send_mode: str | None = None,
               document_type: str = "Invoice", filename: str | None = None) -> str:
        """POST the file; returns the service's file id."""
        with open(pdf, "rb") as handle:
            response = self.request(
                "POST", "/file/v1/files",
                files={"payload": (filename or pdf.name, handle, "application/pdf")},
                data={"documentType": document_type, "sendMode": send_mode or self.account.environment,
                      "sendingCompanyId": self.account.company_id, "senderReference": sender_reference},
            )
        if response.status_code not in (200, 201):
            raise Ambiguous(f"unexpected answer {response.status_code} to an upload")
        return str(response.json()["id"])

    def fileparts(self, file_id: str,
                  statuses: tuple[str, ...] = ("AwaitingInteraction", "Error")) -> list[dict[str, Any]]:
        response = self.request("GET", f"/file/v1/files/{urllib.parse.quote(file_id)}/fileparts",
                                params={"Status": ",".join(statuses)})
        return list(response.json().get("items", []))

    def attachment_types(self) -> dict[str, str]:
        """The attachment document types the service accepts: code → name."""
        items = self.request("GET", "/file/v1/attachmenttypes").json().get("items") or []
        return {str(i["code"]): str(i.get("name") or i["code"]) for i in items if isinstance(i, dict) and i.get("code")}

    def account_settings(self) -> dict[str, Any]:
        """The account's settings at Pagero Online (``manualAttachmentHandling`` among them)."""
        return dict(self.request("GET", "/account/v1/settings").json())

    def add_attachment(self, filepart_id: str, path: Path, *, filename: str, document_type: str, note: str,
                       reference: str, content_type: str = "application/octet-stream") -> str:
        """POST one attachment to a file part awaiting attachments; returns the service's attachment id."""
        with open(path, "rb") as handle:
            response = self.request(
                "POST", f"/file/v1/fileparts/{urllib.parse.quote(filepart_id)}/attachments",
                files={"file": (filename, handle, content_type)},
                data={"documentType": document_type, "note": note, "reference": reference})
        if response.status_code not in (200, 201):
            raise Ambiguous(f"unexpected answer {response.status_code} to an attachment")
        return str(response.json()["id"])

    def attachments(self, filepart_id: str) -> list[dict[str, Any]]:
        """The attachments a file part holds at the service (to look one up by its ``reference``)."""
        response = self.request("GET", f"/file/v1/fileparts/{urllib.parse.quote(filepart_id)}/attachments")
        return [item for item in response.json().get("items") or [] if isinstance(item, dict)]

    def filepart_action(self, filepart_id: str, action: str) -> None:
        if action not in ("Restart", "Cancel"):
            raise ValueError(action)
        self.request("POST", f"/file/v1/fileparts/{urllib.parse.quote(filepart_id)}/action", json={"action": action})

    # -- Document API ------------------------------------------------------------------------

    def documents(self, **params: Any) -> list[dict[str, Any]]:
        response = self.request("GET", "/document/v1/documents", params=params)
        return list(response.json().get("items", []))

    def find_sent(self, sender_reference: str) -> list[dict[str, Any]]:
        """Documents the service holds for our reference (the look-up before any re-send)."""
        return self.documents(senderReference=sender_reference, direction="Sent")

    def received(self, *, limit: int = 100, offset: int = 0, fetched_only: bool = False) -> dict[str, Any]:
        response = self.request("GET", "/document/v1/documents", params={
            "direction": "Received", "documentType": ["Invoice", "PaymentReminder"],
            "showFetchedOnly": "true" if fetched_only else "false", "companyId": self.account.company_id,
            "limit": limit, "offset": offset})
        return dict(response.json())

    def target_document(self, document_id: str, max_bytes: int | None = None) -> bytes:
        """The received document's bytes; :class:`TooLarge` (nothing kept) when it has more than ``max_bytes``."""
        path = f"/document/v1/documents/{urllib.parse.quote(document_id)}/targetdocument"
        if max_bytes is None:
            return self.request("GET", path).content
        response = self.request("GET", path, stream=True)
        with response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"{int(declared):,} bytes is more than the {max_bytes:,} a received invoice may have")
            data = bytearray()
            try:
                for chunk in response.iter_content(1 << 16):
                    data += chunk
                    if len(data) > max_bytes:
                        raise TooLarge(f"more than the {max_bytes:,} bytes a received invoice may have")
            except requests.exceptions.RequestException as error:
                raise Ambiguous("the connection to Pagero Online broke during a download") from error
        return bytes(data)

    def acknowledge(self, ids: list[str]) -> None:
        self.request("POST", "/document/v1/documents/fetch", json={"ids": ids})

    def check(self) -> dict[str, Any]:
        """Test connection: can we log in and reach the API?  Never raises."""
        try:
            self.access_token()
        except OnlineError as error:
            return {"reachable": not isinstance(error, Unreachable), "logged_in": False, "message": error.message}
        try:
            self.documents(limit=1, direction="Received")
        except OnlineError as error:
            # A token kept from earlier proves nothing about the login when the service cannot be asked.
            reachable = not isinstance(error, Unreachable)
            return {"reachable": reachable, "logged_in": reachable and not isinstance(error, Rejected),
                    "message": error.message}
        message = "Connected to Pagero Online."
        manual: bool | None = None
        try:
            manual = bool(self.account_settings().get("manualAttachmentHandling"))
        except (OnlineError, ValueError):
            pass  # an older service without the settings call: sending works the same
        if manual:
            message += (" Manual attachment handling is on there: each sent invoice waits in Files awaiting "
                        "attachments until its attachments are added and sent.")
        return {"reachable": True, "logged_in": True, "message": message, "manual_attachments": manual}


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if body.get(key):
                return str(body[key])[:300]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0])[:300]
    return str(body)[:300]


def _raise_for(response: requests.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    message = _message(response)
    if status in (408, 429) or status >= 500:
        retry_after = None
        header = response.headers.get("Retry-After")
        if header and header.strip().isdigit():
            retry_after = float(header.strip())
        raise Retryable(f"Pagero Online answered {status}: {message}", status=status, retry_after=retry_after)
    raise Rejected(f"Pagero Online refused it ({status}): {message}", status=status)


_clients: dict[tuple[Account, Path], OnlineClient] = {}
_clients_lock = threading.Lock()


def client_for(config: Config) -> OnlineClient | None:
    """The client of the configured Pagero Online account, or None when none is set up.

    One client per account in a process: the uploader, the receiver and the status page share
    its session and its tokens, so a refresh by one never invalidates another's token.  The
    tokens are kept in ``online-token.json`` in the data dir (mode 0600).
    """
    online = config.account
    if not online.username:
        return None
    account = Account(url=online.url, auth_url=online.auth_url, username=online.username,
                      password=online.password, company_id=online.company_id, environment=online.environment)
    key = (account, config.data_dir / "online-token.json")
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = OnlineClient(account, token_file=key[1])
        return client
