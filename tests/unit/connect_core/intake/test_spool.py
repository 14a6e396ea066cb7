"""The spool's ready slots: documents land in durable pre-made folders; recovery tells slots from strays."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from connect_core.fsutil import write_durably
from connect_core.intake.spool import DOCUMENT, Spool


def wait_ready(spool: Spool, count: int) -> None:
    deadline = time.monotonic() + 30  # liveness only
    while spool.ready_slots() < count:
        assert time.monotonic() < deadline, f"only {spool.ready_slots()} of {count} slots were made"
        time.sleep(0.01)


def record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path fsynced from now on (the real fsync still runs)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_a_document_taken_into_a_ready_slot_is_kept_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path / "spool")
    spool.keep_slots_ready(4)
    try:
        wait_ready(spool, 4)
        slots = {p.name for p in spool.jobs.iterdir()}
        assert len(slots) == 4
        assert all((spool.jobs / name / DOCUMENT).stat().st_size == 0 for name in slots)

        synced = record_fsyncs(monkeypatch)
        partial = spool.open()
        assert partial.uuid in slots and partial.durable_name
        partial.write(b"%PDF-1.7 one\n")
        partial.write(b"%%EOF\n")
        stored = spool.keep(partial)
        monkeypatch.undo()
        # One fsync: the document's data.  Its name was made durable with the slot.
        assert synced == [str(stored.path)]
        assert stored.path == spool.document_path(partial.uuid)
        assert stored.path.read_bytes() == b"%PDF-1.7 one\n%%EOF\n"
        assert stored.sha256 == hashlib.sha256(b"%PDF-1.7 one\n%%EOF\n").hexdigest()
        assert stored.size == 19
        # Below half, the slots are topped up again in one batch.
        taken = {spool.open().uuid, spool.open().uuid}
        wait_ready(spool, 4)
        assert not taken & {spool.open().uuid for _ in range(4)}
    finally:
        spool.stop_slots()


def test_without_ready_slots_the_folder_is_made_and_fsynced_with_the_document(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path / "spool")
    synced = record_fsyncs(monkeypatch)
    partial = spool.open()
    assert not partial.durable_name
    partial.write(b"%!PS\n")
    stored = spool.keep(partial)
    monkeypatch.undo()
    assert synced == [str(stored.path), str(stored.path.parent), str(spool.jobs)]


def test_an_aborted_document_leaves_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.keep_slots_ready(2)
    try:
        wait_ready(spool, 2)
        partial = spool.open()
        partial.write(b"half a docu")
        partial.abort()
        partial.abort()  # twice is fine
        assert not partial.path.parent.exists()
    finally:
        spool.stop_slots()
    fresh = spool.open()
    fresh.abort()
    assert not fresh.path.parent.exists()


def test_recovery_removes_unused_slots_and_quarantines_unnamed_documents(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.keep_slots_ready(3)
    wait_ready(spool, 3)
    spool.stop_slots()
    named = spool.keep(_written(spool, b"%PDF named"))
    unnamed = spool.keep(_written(spool, b"%PDF never committed"))
    half = _written(spool, b"%PDF half")  # the crash came while it arrived
    (spool.incoming / "old.part").write_bytes(b"from an older version")

    removed, quarantined = Spool(tmp_path / "spool").recover({named.uuid})

    assert removed == 1
    assert sorted(quarantined) == sorted([unnamed.uuid, half.uuid])
    assert {p.name for p in spool.jobs.iterdir()} == {named.uuid}
    assert (spool.quarantine / unnamed.uuid / DOCUMENT).read_bytes() == b"%PDF never committed"
    assert not list(spool.incoming.iterdir())


def _written(spool: Spool, data: bytes):  # type: ignore[no-untyped-def]
    partial = spool.open()
    partial.write(data)
    return partial


def test_a_document_removed_while_it_was_written_is_not_kept(tmp_path: Path) -> None:
    """E.g. a server starting (and recovering) while the CLI's import still writes its document."""
    spool = Spool(tmp_path / "spool")
    partial = spool.open()
    partial.write(b"%PDF-1.7 ")
    Spool(tmp_path / "spool").recover(set())  # the document is already non-empty: quarantined
    partial.write(b"more")
    with pytest.raises(FileNotFoundError, match="removed from the spool while it was written"):
        spool.keep(partial)


def test_an_empty_document_taken_for_a_slot_and_removed_is_not_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    partial = spool.open()  # not written yet: it looks like an unused slot
    Spool(tmp_path / "spool").recover(set())
    assert not partial.path.parent.exists()
    partial.write(b"%PDF-1.7 late")
    with pytest.raises(FileNotFoundError):
        spool.keep(partial)


def test_write_durably_replaces_whole_or_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "received-000001.xml"
    write_durably(target, b"<first/>", 0o640)
    assert target.read_bytes() == b"<first/>" and (target.stat().st_mode & 0o777) == 0o640
    write_durably(target, b"<second/>" * 1000, 0o640)
    assert target.read_bytes() == b"<second/>" * 1000
    with pytest.raises(TypeError):
        write_durably(target, "not bytes", 0o640)  # type: ignore[arg-type]  # fails after the temp file exists
    assert target.read_bytes() == b"<second/>" * 1000
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary left behind
