"""Received invoices: listed at the emulator, saved in the inbound folder once each, then acknowledged."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_core.config import load_config
from connect_core.online.inbound import DOWNLOADED, FETCHED, make_inbound
from connect_core.store import open_database
from tests.support.cli import cli
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import CORPUS, Server

SEEDS = ("XML-Rechnung__CII__EN16931_Einfach.cii.xml", "XML-Rechnung__CII__EN16931_Gutschrift.cii.xml",
         "XML-Rechnung__CII__EN16931_Elektron.cii.xml")


@pytest.fixture
def seeded(data_root: Path) -> Iterator[Emulator]:
    """An emulator offering three corpus e-invoices as received, one of them with a path as its number."""
    folder = data_root / "seed"
    folder.mkdir()
    for name in SEEDS:
        shutil.copy(CORPUS / "einvoices" / name, folder / name)
    hostile = folder / SEEDS[2]
    text, count = re.subn(r"(<rsm:ExchangedDocument>\s*<ram:ID>)", r"\1../../escape-", hostile.read_text("utf-8"))
    assert count == 1
    text, count = re.subn(r"(<ram:SellerTradeParty>.*?<ram:Name>)[^<]*", "\\1Evil\n\tCorp  Ltd", text, flags=re.S)
    assert count == 1
    hostile.write_text(text, encoding="utf-8")
    emulator = Emulator(data_root / "emulator", inbound=folder).start()
    yield emulator
    emulator.stop()


def _config(data_root: Path, emulator: Emulator, mode: str, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = emulator.product_config(data_root / "c.yaml")
    path.write_text(path.read_text() + f"inbound:\n  mode: {mode}\n  folder: {folder}\n  poll_seconds: 0.3\n")
    return path


def _acknowledged(emulator: Emulator) -> set[str]:
    fetched = emulator.data_dir / "fetched.json"
    return set(json.loads(fetched.read_text())) if fetched.exists() else set()


def _saved(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_automatic_mode_saves_each_received_invoice_once_and_acknowledges_it(
        data_root: Path, seeded: Emulator) -> None:
    folder = data_root / "received"
    config = _config(data_root, seeded, "automatic", folder)
    server = Server(data_root / "data", config=config).start()
    try:
        wait_until(lambda: len(_acknowledged(seeded)) == 3, timeout=60, message="not all acknowledged")
        saved = _saved(folder)
        # Named from the invoice (date, sender, number), never a path: the hostile number stays inside the folder.
        assert len(saved) == 3 and all(re.fullmatch(r"\d{4}-\d\d-\d\d .+\.xml", name) for name in saved), saved
        assert any(name.startswith("2018-") and "Evil Corp Ltd" in name and "escape-" in name for name in saved)
        assert sorted(saved.values()) == sorted((data_root / "seed" / name).read_bytes() for name in SEEDS)
        rows = json.loads(cli(server.data_dir, "inbound", "--json", config=config).stdout)
        assert {row["state"] for row in rows} == {FETCHED}
        assert {row["path"] for row in rows} == {str(folder / name) for name in saved}
        # The number the service sent is kept as data, never used as a name.
        assert any(row["number"] and row["number"].startswith("../../escape-") for row in rows)
        assert not list(data_root.glob("escape*")) and not list(folder.parent.parent.glob("escape*"))
        assert "Evil Corp Ltd" in {row["sender"] for row in rows}  # one line of text, whatever was sent
    finally:
        server.stop()
    # Started again: nothing is saved twice.
    server.start()
    try:
        wait_until(lambda: "Pagero Connect is running" in server.log_text())
        time.sleep(2)  # several polls
        assert len(_saved(folder)) == 3
    finally:
        server.stop()


def test_manual_mode_lists_and_saves_only_what_is_asked_for(data_root: Path, seeded: Emulator) -> None:
    folder = data_root / "received"
    config = _config(data_root, seeded, "manual", folder)
    data = data_root / "data"
    data.mkdir()
    open_database(None, data).dispose()  # the store `serve` makes: inbound never creates one
    listed = cli(data, "inbound", "--check", "--json", config=config).stdout
    rows = json.loads(listed[listed.index("["):])
    assert len(rows) == 3 and {row["state"] for row in rows} == {"unfetched"}
    assert _saved(folder) == {} and _acknowledged(seeded) == set()

    one = min(row["id"] for row in rows)
    assert "1 saved" in cli(data, "inbound", "--fetch", str(one), config=config).stdout
    assert len(_saved(folder)) == 1 and len(_acknowledged(seeded)) == 1
    assert "2 saved" in cli(data, "inbound", "--fetch", "all", config=config).stdout
    assert len(_saved(folder)) == 3 and len(_acknowledged(seeded)) == 3
    assert "0 new" in cli(data, "inbound", "--check", config=config).stdout


def test_a_stop_between_saving_and_acknowledging_is_finished_without_a_second_copy(
        data_root: Path, seeded: Emulator) -> None:
    folder = data_root / "received"
    config = load_config(_config(data_root, seeded, "automatic", folder), {"storage.data_dir": str(data_root / "d")})
    config.data_dir.mkdir()
    db = open_database(None, config.data_dir)
    try:
        receiver = make_inbound(config, db)
        assert receiver is not None

        def cut_off(ids: list[str]) -> None:
            raise ConnectionError("the process stopped here")

        receiver.client.acknowledge = cut_off  # type: ignore[method-assign]
        receiver.list_received()
        with pytest.raises(ConnectionError):
            receiver.fetch(None)
        # The documents are durably saved and recorded, not yet acknowledged (they are, together, after saving).
        assert len(_saved(folder)) == 3 and _acknowledged(seeded) == set()
        with db.reader.connect() as conn:
            states = [r[0] for r in conn.exec_driver_sql("SELECT state FROM inbound_documents ORDER BY id")]
        assert states == [DOWNLOADED] * 3

        del receiver.client.acknowledge  # the next start talks to the service as usual
        again = make_inbound(config, db)
        assert again is not None
        again.poll_once()
        assert len(_saved(folder)) == 3 and len(_acknowledged(seeded)) == 3
        with db.reader.connect() as conn:
            assert {r[0] for r in conn.exec_driver_sql("SELECT state FROM inbound_documents")} == {FETCHED}
    finally:
        db.dispose()


def test_a_kill_before_the_acknowledgement_saves_nothing_twice_and_acknowledges_after_the_restart(
        data_root: Path, seeded: Emulator) -> None:
    folder = data_root / "received"
    config = _config(data_root, seeded, "automatic", folder)
    server = Server(data_root / "data", config=config)
    try:
        server.start(env={"PAGERO_CRASH_AT": "before_acknowledge"})
    except RuntimeError:
        pass  # the receiver may reach the crash point before the printer's port is even open
    assert server.wait_exit(60) == -9, "the crash point did not fire"
    assert len(_saved(folder)) == 3 and _acknowledged(seeded) == set()  # on disk first, acknowledged never
    server.start()
    try:
        wait_until(lambda: len(_acknowledged(seeded)) == 3, timeout=60, message="not acknowledged after the restart")
        assert len(_saved(folder)) == 3
        rows = json.loads(cli(server.data_dir, "inbound", "--json", config=config).stdout)
        assert {row["state"] for row in rows} == {FETCHED}
    finally:
        server.stop()
