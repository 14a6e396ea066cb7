"""What the emulated service holds: stored files with their states and attachments, the account settings, the
recipient register, received invoices, faults to inject.  Everything but tokens and faults is kept in the data dir."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import json
import logging
import random
import re
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from pagero_online_emulator.received import MAX_PARSE, document_info, large_chunks, renumbered, unknown_info

log = logging.getLogger("pagero_online_emulator")

DISTRIBUTIONS = ("Electronic", "EPrint", "OriginalPrint")
"""How Pagero Online delivers a document: as an e-invoice, as a PDF by e-mail, on paper."""
ATTACHMENT_TYPES = (("DeliveryNote", "Delivery note"), ("TimeSheet", "Time sheet"), ("Contract", "Contract"),
                    ("Order", "Order"), ("Other", "Other"))


@dataclass
class Faults:
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    reset_rate: float = 0.0
    drop_response_rate: float = 0.0
    latency_ms: float = 0.0
    retry_after: int = 1


@dataclass
class StoredFile:
    id: str
    senderReference: str
    documentType: str
    sendMode: str
    sendingCompanyId: str
    filename: str
    size: int
    sha256: str
    receivedAt: str
    received: float
    filepartError: str = ""
    restarted: float = 0.0
    cancelled: bool = False
    distribution: str = "Electronic"
    awaitingAttachments: bool = False
    """Uploaded while manual attachment handling was on, and not yet released by a Restart."""


@dataclass
class Attachment:
    id: str
    fileId: str
    reference: str | None
    fileName: str
    documentType: str
    note: str | None
    size: int
    sha256: str
    createTime: str

    def record(self) -> dict[str, Any]:
        """As the API lists it."""
        entry = asdict(self)
        entry.pop("fileId")
        return entry


@dataclass
class EmulatorState:
    """Everything the emulator knows, kept in a data dir so restarts lose nothing."""

    data_dir: Path
    username: str = "demo"
    password: str = "demo"
    company_id: str = "demo"
    token_seconds: int = 300
    step_seconds: float = 2.0
    faults: Faults = field(default_factory=Faults)
    reject: dict[str, Any] = field(default_factory=dict)
    filepart_error: str = ""
    files: dict[str, StoredFile] = field(default_factory=dict)
    attachments: dict[str, list[Attachment]] = field(default_factory=dict)
    """The attachments of each file, by file id, in the order they came."""
    manual_attachments: bool = False
    recipients: list[dict[str, str]] = field(default_factory=list)
    default_distribution: str = "Electronic"
    tokens: dict[str, float] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    inbound: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Received documents by id: ``path``, ``name``, ``createTime`` and the fields of :func:`document_info`."""
    fetched: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    received_lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while documents are added to data_dir/received (names are chosen and files written under it)."""
    rng: random.Random = field(default_factory=random.Random)
    _inbound_order: list[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        (self.data_dir / "files").mkdir(parents=True, exist_ok=True)
        (self.data_dir / "attachments").mkdir(exist_ok=True)
        (self.data_dir / "received").mkdir(exist_ok=True)
        known = {f.name for f in fields(StoredFile)}
        for record in _read_lines(self.data_dir / "files.jsonl"):
            self.files[record["id"]] = StoredFile(**{k: v for k, v in record.items() if k in known})
        for record in _read_lines(self.data_dir / "attachments.jsonl"):
            attachment = Attachment(**record)
            self.attachments.setdefault(attachment.fileId, []).append(attachment)
        fetched = self.data_dir / "fetched.json"
        if fetched.exists():
            self.fetched = set(json.loads(fetched.read_text()))
        account = self.data_dir / "account.json"
        if account.exists():
            self.manual_attachments = bool(json.loads(account.read_text()).get("manualAttachmentHandling"))
        register = self.data_dir / "recipients.json"
        if register.exists():
            self.recipients, self.default_distribution = parse_register(json.loads(register.read_text()))
        self._load_received()

    def _replace(self, name: str, data: Any) -> None:
        """Write a JSON file in the data dir whole (never seen half written)."""
        path = self.data_dir / name
        partial = path.with_name(path.name + ".part")
        partial.write_text(json.dumps(data))
        partial.replace(path)

    # -- account and register ------------------------------------------------------------------

    def set_manual_attachments(self, on: bool) -> None:
        with self.lock:
            self.manual_attachments = on
            self._replace("account.json", {"manualAttachmentHandling": on})

    def settings(self) -> dict[str, Any]:
        return {"companyId": self.company_id, "manualAttachmentHandling": self.manual_attachments}

    def set_register(self, data: Any) -> dict[str, Any]:
        """Replace the recipient register with ``data`` (raises ValueError naming what is wrong)."""
        recipients, default = parse_register(data)
        with self.lock:
            self.recipients, self.default_distribution = recipients, default
            self._replace("recipients.json", self.register())
        return self.register()

    def register(self) -> dict[str, Any]:
        return {"recipients": list(self.recipients), "default": self.default_distribution}

    def distribution_for(self, payload: bytes) -> str:
        """The channel the register gives a document: the first entry whose ``match`` its text contains."""
        recipients, default = self.recipients, self.default_distribution
        if not recipients:
            return default
        text = payload_text(payload).casefold()
        return next((entry["distribution"] for entry in recipients if entry["match"].casefold() in text), default)

    # -- sent files ------------------------------------------------------------------------------

    def mark_fetched(self, ids: list[str]) -> None:
        """Record received documents as fetched; the file is replaced whole, so a reader never sees it half written."""
        with self.lock:
            self.fetched.update(ids)
            self._replace("fetched.json", sorted(self.fetched))

    def save_file(self, stored: StoredFile, payload: bytes) -> None:
        path = self.data_dir / "files" / f"{stored.id}.bin"
        # No fsync: the emulator stands in for a remote service; a clean restart keeps everything.
        path.write_bytes(payload)
        with self.lock:
            self.files[stored.id] = stored
            self._append(stored)

    def _append(self, stored: StoredFile) -> None:
        with open(self.data_dir / "files.jsonl", "a") as handle:
            handle.write(json.dumps(asdict(stored)) + "\n")

    def update_file(self, stored: StoredFile) -> None:
        with self.lock:
            self._append(stored)  # the last line for an id wins on reload

    def save_attachment(self, attachment: Attachment, data: bytes) -> None:
        (self.data_dir / "attachments" / f"{attachment.id}.bin").write_bytes(data)
        with self.lock:
            self.attachments.setdefault(attachment.fileId, []).append(attachment)
            with open(self.data_dir / "attachments.jsonl", "a") as handle:
                handle.write(json.dumps(asdict(attachment)) + "\n")

    def attachments_of(self, file_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [attachment.record() for attachment in self.attachments.get(file_id, [])]

    # -- received documents ------------------------------------------------------------------------

    def seed_inbound(self, folder: Path) -> None:
        """Offer the e-invoices of ``folder`` as received (read in place; their time is the file's)."""
        for path in sorted(folder.glob("*.xml")):
            doc_id = "in-" + hashlib.sha256(path.name.encode()).hexdigest()[:16]
            stat = path.stat()
            self._add_inbound(doc_id, {"path": path, "name": path.name, "size": stat.st_size,
                                       "createTime": _iso(stat.st_mtime), **document_info(path)})

    def _add_inbound(self, doc_id: str, entry: dict[str, Any]) -> None:
        with self.lock:
            self.inbound[doc_id] = entry
            self._inbound_order = None

    def inbound_ids(self) -> list[str]:
        """Every received document's id, in listing order (sorted; kept until a document is added)."""
        with self.lock:
            if self._inbound_order is None:
                self._inbound_order = sorted(self.inbound)
            return self._inbound_order

    def _load_received(self) -> None:
        """The documents added through the admin API, with the fields cached when they were added."""
        index = {record["name"]: record for record in _read_lines(self.data_dir / "received.jsonl")}
        missing = []
        for path in sorted((self.data_dir / "received").iterdir()):
            if not path.is_file() or path.name.endswith(".part"):
                continue
            record = index.get(path.name)
            size = path.stat().st_size
            if record is None or record.get("size") != size:
                record = {"name": path.name, "size": size, "createTime": _iso(path.stat().st_mtime),
                          "info": document_info(path)}
                missing.append(record)
            self._add_inbound(_received_id(path.name), {"path": path, "name": path.name, "size": size,
                                                        "createTime": record["createTime"], **record["info"]})
        self._index(missing)

    def _index(self, records: list[dict[str, Any]]) -> None:
        if records:
            with open(self.data_dir / "received.jsonl", "a") as handle:
                handle.write("".join(json.dumps(record) + "\n" for record in records))

    def _received(self, name: str, info: dict[str, Any], size: int) -> tuple[str, dict[str, Any]]:
        """Register a file just written to data_dir/received; returns its id and index record."""
        record = {"name": name, "size": size, "createTime": now_iso(), "info": info}
        doc_id = _received_id(name)
        self._add_inbound(doc_id, {"path": self.data_dir / "received" / name, "name": name, "size": size,
                                   "createTime": record["createTime"], **info})
        return doc_id, record

    def _free_name(self, wanted: str) -> str:
        name = safe_name(wanted)
        stem, dot, suffix = name.rpartition(".")
        if not dot:
            stem, suffix = name, ""
        folder = self.data_dir / "received"
        counter = 1
        while (folder / name).exists() or (folder / (name + ".part")).exists():
            counter += 1
            name = f"{stem}-{counter}" + (f".{suffix}" if suffix else "")
        return name

    def _write(self, name: str, chunks: Any) -> int:
        path = self.data_dir / "received" / name
        partial = path.with_name(name + ".part")
        size = 0
        with open(partial, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        partial.replace(path)
        return size

    def add_received(self, documents: list[Any]) -> list[dict[str, Any]]:
        """Store ``[{"name", "content_base64"}]`` as received documents; raises ValueError for a bad entry."""
        decoded = []
        for number, document in enumerate(documents, 1):
            if not isinstance(document, dict) or not isinstance(document.get("content_base64"), str):
                raise ValueError(f"document {number}: expected an object with name and content_base64")
            try:
                data = base64.b64decode(document["content_base64"], validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"document {number}: content_base64 is not base64") from None
            decoded.append((str(document.get("name") or "document.xml"), data))
        added, records = [], []
        with self.received_lock:
            for wanted, data in decoded:
                name = self._free_name(wanted)
                size = self._write(name, [data])
                doc_id, record = self._received(name, document_info(self.data_dir / "received" / name), size)
                records.append(record)
                added.append({"id": doc_id, "name": name, "documentIdentifier": record["info"]["number"]})
            self._index(records)
        return added

    def generate_received(self, count: int, source: str | None = None) -> list[dict[str, Any]]:
        """``count`` copies of a received UBL/CII document, each with its own invoice number and id.

        The source is the document named ``source`` or else the smallest one with an invoice number.  A copy's
        number is the original's plus ``-G000001`` and so on; its fields are the original's (nothing re-parsed).
        """
        with self.lock:
            entries = list(self.inbound.values())
        if source is not None:
            candidates = [entry for entry in entries if entry["name"] == source]
            if not candidates:
                raise ValueError(f"no received document is named {source!r}")
        else:
            candidates = sorted((entry for entry in entries if entry["number"] is not None and
                                 entry["size"] <= MAX_PARSE), key=lambda entry: (entry["size"], entry["name"]))
            if not candidates:
                raise ValueError("no received UBL/CII document with an invoice number to copy")
        original = candidates[0]
        if original["number"] is None:
            raise ValueError(f"{original['name']}: no invoice number could be read from it")
        number = str(original["number"])
        head, tail = renumbered(Path(original["path"]).read_bytes(), number)
        stem, dot, suffix = str(original["name"]).rpartition(".")
        if not dot:
            stem, suffix = original["name"], "xml"
        info = {key: original[key] for key in unknown_info()}
        folder = self.data_dir / "received"
        added, records = [], []
        with self.received_lock:
            serial = 0
            for _ in range(count):
                serial += 1
                while (folder / f"{stem}-G{serial:06d}.{suffix}").exists():
                    serial += 1
                name = f"{stem}-G{serial:06d}.{suffix}"
                new_number = f"{number}-G{serial:06d}"
                size = self._write(name, [head, escape_text(new_number), tail])
                doc_id, record = self._received(name, {**info, "number": new_number}, size)
                records.append(record)
                added.append({"id": doc_id, "name": name, "documentIdentifier": new_number})
            self._index(records)
        return added

    def add_large_received(self, name: str, size: int) -> dict[str, Any]:
        """A well-formed XML document of ``size`` bytes, written to disk in chunks (never built in memory)."""
        chunks = large_chunks(size)  # checks the size before any file is made
        first = next(chunks)
        with self.received_lock:
            name = self._free_name(name)
            written = self._write(name, _chained(first, chunks))
            path = self.data_dir / "received" / name
            doc_id, record = self._received(name, document_info(path) if written <= MAX_PARSE else unknown_info(),
                                            written)
            self._index([record])
        return {"id": doc_id, "name": name, "documentIdentifier": record["info"]["number"]}


def _chained(first: bytes, rest: Any) -> Any:
    yield first
    yield from rest


def _received_id(name: str) -> str:
    """Documents added at run time get ids of their own name space (never a seeded document's id)."""
    return "in-" + hashlib.sha256(("received/" + name).encode()).hexdigest()[:16]


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:  # a line cut short by a crash
                log.warning("%s: skipped a damaged line", path.name)
    return records


def safe_name(name: str) -> str:
    """A plain file name made of ``name`` (no folders, no odd characters)."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return base[:120] or "document.xml"


def escape_text(text: str) -> bytes:
    return escape(text).encode()


def parse_register(data: Any) -> tuple[list[dict[str, str]], str]:
    """The recipient register of ``{"recipients": [{"match", "distribution"}], "default"}``; ValueError if wrong."""
    if not isinstance(data, dict):
        raise ValueError("the recipient register must be a JSON object")
    unknown = set(data) - {"recipients", "default"}
    if unknown:
        raise ValueError(f"unknown register keys: {', '.join(sorted(unknown))}")
    default = data.get("default", "Electronic")
    if default not in DISTRIBUTIONS:
        raise ValueError(f"default {default!r} is not one of {', '.join(DISTRIBUTIONS)}")
    entries = data.get("recipients", [])
    if not isinstance(entries, list):
        raise ValueError("recipients must be a list")
    recipients = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("match"), str) or not entry["match"].strip():
            raise ValueError(f"recipient {number}: expected an object with a non-empty match")
        if entry.get("distribution") not in DISTRIBUTIONS:
            raise ValueError(f"recipient {number}: distribution {entry.get('distribution')!r} is not one of "
                             f"{', '.join(DISTRIBUTIONS)}")
        recipients.append({"match": entry["match"], "distribution": entry["distribution"]})
    return recipients, default


def payload_text(payload: bytes) -> str:
    """The text of an uploaded document: a PDF's page text, anything else its bytes as UTF-8."""
    if not payload[:1024].lstrip().startswith(b"%PDF-"):
        return payload.decode("utf-8", "replace")
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(payload))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception:  # noqa: BLE001 - a broken PDF simply has no text
        return ""


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def now_iso() -> str:
    """Now in UTC as the service writes times (ISO 8601, to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
