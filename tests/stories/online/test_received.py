"""Received invoices from the emulator: every corpus e-invoice saved once under a name a person can use, its
fields in the store, rendered readable; hostile documents and names refused or made harmless, the rest going on."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

from pypdf import PdfReader

from connect_core.received.einvoice import read_einvoice
from connect_core.received.render import format_amount
from connect_core.received.service import list_received, presentation
from connect_core.store import open_database
from tests.support.cli import cli
from tests.support.emulator import Emulator
from tests.support.harness import CORPUS

EINVOICES = sorted((CORPUS / "einvoices").glob("*.xml"))


def _setup(data_root: Path, emulator: Emulator) -> tuple[Path, Path, Path]:
    folder = data_root / "received"
    folder.mkdir()
    config = emulator.product_config(data_root / "c.yaml")
    config.write_text(config.read_text() + f"inbound:\n  mode: manual\n  folder: {folder}\n")
    data = data_root / "data"
    data.mkdir()
    open_database(None, data).dispose()
    return config, data, folder


def _acknowledged(emulator: Emulator) -> set[str]:
    fetched = emulator.data_dir / "fetched.json"
    return set(json.loads(fetched.read_text())) if fetched.exists() else set()


def _words(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
                    .replace("\u202f", " ").split())


def test_every_corpus_e_invoice_is_saved_once_read_into_the_store_and_rendered(data_root: Path) -> None:
    seed = data_root / "seed"
    seed.mkdir()
    for path in EINVOICES:
        shutil.copy(path, seed / path.name)
    emulator = Emulator(data_root / "emulator", inbound=seed).start()
    try:
        config, data, folder = _setup(data_root, emulator)
        out = cli(data, "inbound", "--fetch", "all", config=config).stdout
        assert f"{len(EINVOICES)} new at Pagero Online; {len(EINVOICES)} saved" in out
        assert len(_acknowledged(emulator)) == len(EINVOICES)
        # Each once, byte for byte (the embedded attachments some carry are saved beside them).
        saved = sorted(p.read_bytes() for p in folder.glob("*.xml"))
        assert saved == sorted(p.read_bytes() for p in EINVOICES)
        assert "0 new" in cli(data, "inbound", "--fetch", "all", config=config).stdout
        assert len(list(folder.glob("*.xml"))) == len(EINVOICES)

        db = open_database(None, data)
        try:
            rows = list_received(db, view="fetched", limit=1000)
            assert len(rows) == len(EINVOICES)
            for row in rows:
                original = read_einvoice((folder / str(row.file_name)).read_bytes())
                assert (row.number, row.sender, row.issue_date) == (
                    original.number, original.seller.name or original.seller.trading_name, original.issue_date)
                assert row.file_name and row.file_name.startswith(original.issue_date.isoformat())  # type: ignore[union-attr]
                grand = original.totals.tax_inclusive if original.totals.tax_inclusive is not None \
                    else original.totals.payable
                words = _words(presentation(db, row.id))
                assert str(original.number) in words, row.file_name
                assert " ".join(str(original.seller.name).split()) in words, row.file_name
                assert format_amount(grand).replace("\u202f", " ") in words, (row.file_name, grand)
        finally:
            db.dispose()
    finally:
        emulator.stop()


def _ubl(number: str, sender: str) -> bytes:
    base = (CORPUS / "einvoices" / "XML-Rechnung__UBL__EN16931_Einfach.ubl.xml").read_text("utf-8")
    original = read_einvoice(base.encode())
    assert original.number and original.seller.name
    text = base.replace(f"<cbc:ID>{original.number}</cbc:ID>", f"<cbc:ID>{_escape(number)}</cbc:ID>", 1)
    text = text.replace(original.seller.name, _escape(sender))
    return text.encode("utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&lol3;</ID></Invoice>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&secret;</ID></Invoice>"""


def test_hostile_documents_are_refused_with_their_reason_and_names_stay_in_the_folder(data_root: Path) -> None:
    empty = data_root / "no-seed"
    empty.mkdir()
    emulator = Emulator(data_root / "emulator", inbound=empty).start()
    try:
        hostile_names = {"../../etc/x": "Lieferant GmbH", "CON": "CON", "4711": "A" * 300,
                         "RE\t4711\n-7": "Evil\tCorp\u202egnp.exe", "\u200fRTL-1": "\u202bشركة\u202c"}
        documents = [{"name": f"n{n}.xml", "content_base64": base64.b64encode(_ubl(number, sender)).decode()}
                     for n, (number, sender) in enumerate(hostile_names.items())]
        documents += [{"name": "laughs.xml", "content_base64": base64.b64encode(BILLION_LAUGHS).decode()},
                      {"name": "external.xml", "content_base64": base64.b64encode(EXTERNAL).decode()}]
        emulator.add_received(documents=documents, large={"name": "huge.xml", "bytes": 200 * 1024 * 1024})
        config, data, folder = _setup(data_root, emulator)
        done = cli(data, "inbound", "--fetch", "all", config=config)
        assert "8 new at Pagero Online; 5 saved" in done.stdout
        assert "Traceback" not in done.stderr
        rows = {row["id"]: row for row in json.loads(cli(data, "inbound", "--json", config=config).stdout)}
        refused = [row for row in rows.values() if row["state"] == "refused"]
        assert len(refused) == 3 and not any(row["path"] for row in refused)
        problems = sorted(row["problem"] for row in refused)
        assert any("entities" in p or "DOCTYPE" in p for p in problems), problems
        assert any("outside file" in p and "file:///etc/passwd" in p for p in problems), problems
        assert any("209,715,200" in p and "52,428,800" in p for p in problems), problems
        assert len(_acknowledged(emulator)) == 5  # the refused ones are not acknowledged
        # Every saved file is directly inside the folder, readable, and holds what the service sent.
        saved = list(folder.iterdir())
        assert len(saved) == 5 and all(path.parent == folder and path.is_file() for path in saved)
        assert all(len(path.name.encode()) <= 200 for path in saved)
        assert not any(ch in path.name for path in saved for ch in "/\\\t\n\u202e\u200f\u202b")
        assert any(path.name.startswith("_CON") or "CON" in path.name for path in saved)
        assert not (data_root / "etc").exists() and not Path("/etc/x").exists()
        numbers = {row["number"] for row in rows.values() if row["state"] == "fetched"}
        assert "../../etc/x" in numbers  # kept as data in the store
        # Asked again: the refused ones are not fetched again, nothing else changes.
        assert "0 new at Pagero Online; 0 saved" in cli(data, "inbound", "--fetch", "all", config=config).stdout
        assert len(list(folder.iterdir())) == 5
    finally:
        emulator.stop()
