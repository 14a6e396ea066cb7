"""Durable files (``connect_core.fsutil``).

What it promises: :func:`write_durably` and :func:`durable_file` make the target appear whole, with
exactly the given mode (whatever the umask or a leftover temporary file had), or not at all; no
temporary file is left behind after success or after an error inside the block; an existing file is
untouched until the new one replaces it and untouched if writing fails; missing parent folders are
created.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connect_core.fsutil import durable_file, fsync_dir, write_durably


@pytest.fixture
def folder(data_root: Path) -> Path:
    target = data_root / "files"
    target.mkdir()
    return target


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """A umask that would take every permission from group and others (restored afterwards)."""
    old = os.umask(0o077)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_durably_puts_the_data_at_the_path_with_mode_0600_by_default(folder: Path) -> None:
    target = folder / "settings.yaml"
    write_durably(target, b"sending:\n  mode: manual\n")
    assert target.read_bytes() == b"sending:\n  mode: manual\n"
    assert _mode(target) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["settings.yaml"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o400, 0o755])
def test_the_file_gets_exactly_the_mode_asked_for_whatever_the_umask(folder: Path, strict_umask: None,
                                                                      mode: int) -> None:
    target = folder / "unit.service"
    write_durably(target, b"[Unit]\n", mode)
    assert _mode(target) == mode


def test_a_leftover_temporary_file_changes_neither_the_mode_nor_the_content(folder: Path) -> None:
    target = folder / "online-token.json"
    leftover = folder / ".online-token.json.part"
    leftover.write_bytes(b"an old half-written token that is much longer than the new one")
    leftover.chmod(0o666)
    write_durably(target, b'{"token": 1}')
    assert target.read_bytes() == b'{"token": 1}'
    assert _mode(target) == 0o600
    assert not leftover.exists()


def test_an_existing_file_is_replaced_whole_by_a_rename(folder: Path) -> None:
    target = folder / "printer-uuid"
    target.write_bytes(b"the old content, longer than the new one\n")
    with open(target, "rb") as reader_of_the_old:
        write_durably(target, b"new\n")
        assert reader_of_the_old.read() == b"the old content, longer than the new one\n"  # never changed in place
    assert target.read_bytes() == b"new\n"
    assert sorted(p.name for p in folder.iterdir()) == ["printer-uuid"]


def test_the_target_keeps_its_old_content_until_the_block_ends(folder: Path) -> None:
    target = folder / "received-1.xml"
    target.write_bytes(b"<old/>")
    with durable_file(target, 0o644) as handle:
        handle.write(b"<new>")
        handle.flush()
        assert target.read_bytes() == b"<old/>"
        handle.write(b"</new>")
    assert target.read_bytes() == b"<new></new>"
    assert _mode(target) == 0o644


def test_a_new_file_does_not_exist_until_the_block_ends(folder: Path) -> None:
    target = folder / "received-2.pdf"
    with durable_file(target) as handle:
        handle.write(b"%PDF-1.7\n")
        assert not target.exists()
    assert target.read_bytes() == b"%PDF-1.7\n"


@pytest.mark.parametrize("error", [RuntimeError("the reader failed"), KeyboardInterrupt()])
def test_an_error_inside_the_block_leaves_no_file_and_no_temporary_file(folder: Path,
                                                                        error: BaseException) -> None:
    target = folder / "split-1.pdf"
    with pytest.raises(type(error)), durable_file(target) as handle:
        handle.write(b"half an invoice")
        raise error
    assert list(folder.iterdir()) == []


def test_an_error_inside_the_block_leaves_an_existing_file_untouched(folder: Path) -> None:
    target = folder / "settings.yaml"
    target.write_bytes(b"the settings in force\n")
    target.chmod(0o640)
    inode = target.stat().st_ino
    with pytest.raises(ValueError, match="bad value"), durable_file(target, 0o600) as handle:
        handle.write(b"half of the new settings")
        raise ValueError("bad value")
    assert target.read_bytes() == b"the settings in force\n"
    assert _mode(target) == 0o640 and target.stat().st_ino == inode
    assert sorted(p.name for p in folder.iterdir()) == ["settings.yaml"]


def test_when_the_rename_fails_what_was_there_stays_and_nothing_is_left_behind(folder: Path) -> None:
    occupied = folder / "taken"
    occupied.mkdir()
    (occupied / "inside").write_bytes(b"keep me")
    with pytest.raises(OSError):
        write_durably(occupied, b"cannot replace a folder")
    assert (occupied / "inside").read_bytes() == b"keep me"
    assert sorted(p.name for p in folder.iterdir()) == ["taken"]


def test_when_the_temporary_file_cannot_be_made_nothing_is_written(folder: Path) -> None:
    not_a_folder = folder / "plain-file"
    not_a_folder.write_bytes(b"x")
    with pytest.raises(OSError):
        write_durably(not_a_folder / "child.txt", b"data")
    assert not_a_folder.read_bytes() == b"x"


def test_missing_parent_folders_are_created(folder: Path) -> None:
    target = folder / "inbound" / "2026" / "03" / "received-7.xml"
    write_durably(target, b"<Invoice/>", 0o640)
    assert target.read_bytes() == b"<Invoice/>"
    assert _mode(target) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["received-7.xml"]


def test_without_syncing_the_folder_the_file_is_still_written_whole(folder: Path) -> None:
    target = folder / "part-1.pdf"
    with durable_file(target, sync_folder=False) as handle:
        handle.write(b"%PDF-1.7 part\n")
    fsync_dir(folder)  # what the caller does once after several files
    assert target.read_bytes() == b"%PDF-1.7 part\n"
    assert sorted(p.name for p in folder.iterdir()) == ["part-1.pdf"]


def test_fsync_dir_of_a_missing_folder_fails_loudly(folder: Path) -> None:
    with pytest.raises(FileNotFoundError):
        fsync_dir(folder / "missing")


# The folder is shared by every example on purpose: each one writes over what the one before left.
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.binary(max_size=4096), second=st.binary(max_size=4096))
def test_whatever_was_there_the_file_holds_exactly_the_last_data_written(data_root: Path, first: bytes,
                                                                         second: bytes) -> None:
    target = data_root / "property" / "file.bin"
    write_durably(target, first)
    write_durably(target, second)
    assert target.read_bytes() == second
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]
