"""File names for received invoices and saving without overwriting (``connect_core.received.names``).

What it promises: a readable name from date, sender and number; whatever a stranger put in the sender
or the number, the name is one plain file name that Windows, macOS and Linux accept, at most 200 bytes,
and the file lands directly in the folder; a taken name gets " (2)", " (3)", …, never an overwrite; the
same bytes saved twice (a retry after a crash) land once.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_core.received.names import MAX_NAME_BYTES, file_name, save_new

MARCH_5 = dt.date(2026, 3, 5)
WINDOWS_FORBIDDEN = set('/\\:*?"<>|')
INVISIBLE = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)), *(f"LPT{n}" for n in range(10))}


def assert_safe(name: str) -> None:
    """``name`` is one file name every system accepts, as file_name promises."""
    assert name and len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert not WINDOWS_FORBIDDEN & set(name), name
    assert not any(unicodedata.category(char) in ("Cc", "Cf", "Cs") for char in name), ascii(name)
    assert not any(ord(char) in INVISIBLE for char in name), ascii(name)
    assert unicodedata.is_normalized("NFC", name), ascii(name)
    assert name == name.strip(" .") and name not in (".", "..")
    assert name.split(".")[0].rstrip(" ").upper() not in RESERVED, name


def test_the_name_is_date_sender_number() -> None:
    assert file_name(MARCH_5, "Lieferant GmbH", "471102", ".xml") == "2026-03-05 Lieferant GmbH 471102.xml"


@pytest.mark.parametrize(("date", "sender", "number", "expected"), [
    (None, "Lieferant GmbH", "471102", "Lieferant GmbH 471102.xml"),
    (MARCH_5, None, "471102", "2026-03-05 471102.xml"),
    (MARCH_5, "Lieferant GmbH", None, "2026-03-05 Lieferant GmbH.xml"),
    (None, None, None, "received invoice.xml"),
    (None, "", "  ", "received invoice.xml"),
    (MARCH_5, "Müller & Söhne KG", "RE/2026/0001", "2026-03-05 Müller & Söhne KG RE-2026-0001.xml"),
    (None, "Lieferant GmbH", "471102.", "Lieferant GmbH 471102.xml"),
])
def test_missing_parts_are_left_out(date: dt.date | None, sender: str | None, number: str | None,
                                    expected: str) -> None:
    assert file_name(date, sender, number, ".xml") == expected


def test_the_name_is_nfc_whatever_the_sender_sent() -> None:
    decomposed = unicodedata.normalize("NFD", "Müller")
    assert file_name(None, decomposed, "1", ".xml") == "Müller 1.xml"


@pytest.mark.parametrize("number", ["CON", "con", "Con.xml", "PRN", "aux", "NUL", "COM1", "lpt9", "LPT1.txt",
                                    "com¹", "CON .xml"])
def test_windows_device_names_are_made_harmless(number: str) -> None:
    name = file_name(None, None, number, ".xml")
    assert name.startswith("_")
    assert_safe(name)


HOSTILE = ["../../etc/x", "..\\..\\windows\\system32", "CON", "con.xml", "LPT1", "x" * 300, "ä" * 300, "€" * 300,
           "Lieferant\x00GmbH\x1b[31m\x7f\x85\x9f", "\u202eexe.txt", "Lief\u200berant\u200d\u2066\u2069\ufeff",
           "...", ". . .", "..", "", "   ", "a:b*c?d\"e<f>g|h", "\n\r\t", "\U0001f4a9" * 100, "a\u0301" * 150,
           ".hidden", "trailing.", "Ελληνικά / ООО Ромашка / שלום"]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_numbers_and_senders_give_names_that_stay_in_the_folder(text: str, data_root: Path) -> None:
    for date, sender, number in ((MARCH_5, text, "471102"), (None, "Lieferant GmbH", text), (None, text, text)):
        name = file_name(date, sender, number, ".xml")
        assert_safe(name)
        data = f"<Invoice>{text!r}</Invoice>".encode()
        path = save_new(data_root, name, data)
        assert path.parent == data_root and path.read_bytes() == data


def test_the_sender_is_shortened_before_the_number_and_never_inside_a_character() -> None:
    name = file_name(MARCH_5, "Lieferantenverbund " * 30, "471102", ".xml")
    assert name.startswith("2026-03-05 Lieferantenverbund") and name.endswith(" 471102.xml")
    assert len(name.encode()) <= MAX_NAME_BYTES
    euros = file_name(MARCH_5, "€" * 300, "471102", ".xml")
    assert euros.endswith(" 471102.xml") and set(euros[11:-11]) == {"€"}
    both = file_name(MARCH_5, "S" * 300, "9" * 300, ".xml")
    assert both.startswith("2026-03-05 SSSS") and "9999" in both and len(both.encode()) == MAX_NAME_BYTES


@settings(max_examples=200, deadline=None)
@given(sender=st.text(), number=st.text(), date=st.none() | st.dates(), suffix=st.sampled_from([".xml", ".pdf", ""]))
def test_any_text_gives_a_safe_name_that_is_saved_inside_the_folder(sender: str, number: str, date: dt.date | None,
                                                                    suffix: str) -> None:
    name = file_name(date, sender, number, suffix)
    assert_safe(name)
    with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
        folder = Path(scratch)
        path = save_new(folder, name, b"<Invoice/>")
        assert path.parent == folder and path.name == name and path.read_bytes() == b"<Invoice/>"


def test_different_bytes_under_a_taken_name_get_a_number_and_nothing_is_overwritten(data_root: Path) -> None:
    name = "2026-03-05 Lieferant GmbH 471102.xml"
    first = save_new(data_root, name, b"<Invoice>first</Invoice>")
    second = save_new(data_root, name, b"<Invoice>second</Invoice>")
    third = save_new(data_root, name, b"<Invoice>third</Invoice>")
    assert [first.name, second.name, third.name] == [name, "2026-03-05 Lieferant GmbH 471102 (2).xml",
                                                     "2026-03-05 Lieferant GmbH 471102 (3).xml"]
    assert first.read_bytes() == b"<Invoice>first</Invoice>" and second.read_bytes() == b"<Invoice>second</Invoice>"
    assert sorted(os.listdir(data_root)) == sorted([first.name, second.name, third.name])  # no temporary file left


def test_the_same_bytes_saved_twice_land_once(data_root: Path) -> None:
    name = "2026-03-05 Lieferant GmbH 471102.xml"
    save_new(data_root, name, b"<Invoice>other</Invoice>")
    once = save_new(data_root, name, b"<Invoice>the download</Invoice>")
    mtime = once.stat().st_mtime_ns
    again = save_new(data_root, name, b"<Invoice>the download</Invoice>")
    assert again == once and once.name == "2026-03-05 Lieferant GmbH 471102 (2).xml"
    assert once.stat().st_mtime_ns == mtime and len(os.listdir(data_root)) == 2


def test_a_symlink_with_the_same_name_is_neither_followed_nor_taken_as_the_same_file(data_root: Path) -> None:
    secret = data_root / "elsewhere.txt"
    secret.write_bytes(b"<Invoice/>")
    (data_root / "inbox").mkdir()
    (data_root / "inbox" / "a.xml").symlink_to(secret)
    path = save_new(data_root / "inbox", "a.xml", b"<Invoice/>")
    assert path.name == "a (2).xml" and not path.is_symlink() and secret.read_bytes() == b"<Invoice/>"


def test_the_file_gets_the_mode_asked_for(data_root: Path) -> None:
    path = save_new(data_root, "a.xml", b"<Invoice/>")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(save_new(data_root, "b.xml", b"<Invoice/>", 0o600).stat().st_mode) == 0o600


def test_numbered_names_stay_within_the_limit(data_root: Path) -> None:
    name = file_name(MARCH_5, "L" * 300, "471102", ".xml")
    assert len(name.encode()) == MAX_NAME_BYTES
    paths = [save_new(data_root, name, f"<Invoice>{n}</Invoice>".encode()) for n in range(12)]
    assert len({path.name for path in paths}) == 12
    assert all(len(path.name.encode()) <= MAX_NAME_BYTES and path.name.endswith(".xml") for path in paths)
    assert paths[-1].name.endswith(" (12).xml")


@pytest.mark.parametrize("name", ["", ".", "..", "../x.xml", "a/b.xml", "a\\b.xml", ".hidden.xml", "a\0.xml"])
def test_save_new_takes_only_a_plain_file_name(name: str, data_root: Path) -> None:
    with pytest.raises(ValueError, match="not a plain file name"):
        save_new(data_root, name, b"<Invoice/>")
    assert list(data_root.iterdir()) == []


def test_without_hard_links_the_file_is_still_saved_without_overwriting(data_root: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")  # as on a FAT disk or some network shares

    monkeypatch.setattr(os, "link", no_links)
    first = save_new(data_root, "a.xml", b"<Invoice>first</Invoice>")
    second = save_new(data_root, "a.xml", b"<Invoice>second</Invoice>")
    assert save_new(data_root, "a.xml", b"<Invoice>second</Invoice>") == second
    assert (first.name, second.name) == ("a.xml", "a (2).xml")
    assert first.read_bytes() == b"<Invoice>first</Invoice>" and stat.S_IMODE(second.stat().st_mode) == 0o640
    assert sorted(os.listdir(data_root)) == ["a (2).xml", "a.xml"]
