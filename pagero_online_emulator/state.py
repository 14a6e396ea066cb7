"""What the emulated service holds: stored files with their states, received invoices, faults to inject."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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
    tokens: dict[str, float] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    inbound: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        (self.data_dir / "files").mkdir(parents=True, exist_ok=True)
        index = self.data_dir / "files.jsonl"
        if index.exists():
            for line in index.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    self.files[record["id"]] = StoredFile(**record)
        fetched = self.data_dir / "fetched.json"
        if fetched.exists():
            self.fetched = set(json.loads(fetched.read_text()))

    def mark_fetched(self, ids: list[str]) -> None:
        """Record received documents as fetched; the file is replaced whole, so a reader never sees it half written."""
        with self.lock:
            self.fetched.update(ids)
            path = self.data_dir / "fetched.json"
            partial = path.with_name(path.name + ".part")
            partial.write_text(json.dumps(sorted(self.fetched)))
            partial.replace(path)

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

    def seed_inbound(self, folder: Path) -> None:
        for path in sorted(folder.glob("*.xml")):
            doc_id = "in-" + hashlib.sha256(path.name.encode()).hexdigest()[:16]
            self.inbound[doc_id] = {"path": path, **_inbound_info(path)}


def _inbound_info(path: Path) -> dict[str, Any]:
    """A few header fields of an inbound UBL or CII e-invoice, for the Document API listing."""
    import xml.etree.ElementTree as ET

    text = path.read_bytes()
    if b"<!DOCTYPE" in text[:2000] or b"<!ENTITY" in text:
        return {"number": None, "sender": None, "issueDate": None, "currency": None, "total": None}
    root = ET.fromstring(text)

    def local(element: ET.Element) -> str:
        return element.tag.rsplit("}", 1)[-1]

    def find(path: str) -> str | None:
        """The text at a path of local names below the root ("A/B/C"), any namespace."""
        level = [root]
        for name in path.split("/"):
            level = [child for element in level for child in element if local(child) == name]
        for element in level:
            if (element.text or "").strip():
                return (element.text or "").strip()
        return None

    def either(*paths: str) -> str | None:
        return next((value for path in paths if (value := find(path)) is not None), None)

    return {
        "number": either("ID", "ExchangedDocument/ID"),
        "sender": either("AccountingSupplierParty/Party/PartyLegalEntity/RegistrationName",
                         "AccountingSupplierParty/Party/PartyName/Name",
                         "SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement/SellerTradeParty/Name"),
        "issueDate": either("IssueDate", "ExchangedDocument/IssueDateTime/DateTimeString"),
        "currency": either("DocumentCurrencyCode",
                           "SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/InvoiceCurrencyCode"),
        "total": either("LegalMonetaryTotal/PayableAmount",
                        "SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/"
                        "SpecifiedTradeSettlementHeaderMonetarySummation/DuePayableAmount"),
    }


def now_iso() -> str:
    """Now in UTC as the service writes times (ISO 8601, to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
