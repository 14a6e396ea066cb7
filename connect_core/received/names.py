"""File names for received invoices that people can read, every system can store, and nobody can abuse.

A name is built from the issue date, the sender and the invoice number (``2026-03-05 Lieferant GmbH
471102.xml``), and the sender and number are strings a stranger chose.  :func:`file_name` makes them safe
on Windows, macOS and Linux alike: no path separators or characters Windows forbids, no control, bidi or
zero-width characters (which could disguise ``txt.exe`` as ``exe.txt``), NFC, no leading or trailing dots
and spaces, no Windows device name (``CON``, ``LPT1.xml``), at most :data:`MAX_NAME_BYTES` bytes of UTF-8.

:func:`save_new` writes a file under such a name without ever replacing another: a taken name becomes
``name (2).xml``, ``name (3).xml``, …, unless the file already there holds the very same bytes, which is
then the answer (so a download saved again after a crash lands once).
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from connect_core.fsutil import fsync_dir

MAX_NAME_BYTES = 200
MAX_SUFFIX_CHARS = 16
MAX_COPIES = 10_000
SENDER_KEEP_BYTES = 60  # when both are long, a hostile 300-character number must not crowd out the sender
FALLBACK_STEM = "received invoice"

_FORBIDDEN = str.maketrans({"/": "-", "\\": "-", ":": "-", "*": "-", "|": "-", "?": None, '"': "'", "<": "(",
                            ">": ")"})
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}
_EXTENSION = re.compile(rf"\.[A-Za-z0-9]{{1,{MAX_SUFFIX_CHARS}}}$")
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|(COM|LPT)[0-9¹²³])", re.IGNORECASE)


def file_name(issue_date: dt.date | None, sender: str | None, number: str | None, suffix: str) -> str:
    """``"<issue date> <sender> <number><suffix>"`` made safe for any file system; missing parts are left out.

    With no part at all the name is ``"received invoice<suffix>"``.  ``suffix`` is like ``".xml"``; only its
    ASCII letters, digits and inner dots are kept.  The result is at most :data:`MAX_NAME_BYTES` bytes of UTF-8;
    when too long, the sender is shortened first, then the number, never inside a character.
    """
    date = issue_date.isoformat() if issue_date else ""
    tail = _suffix(suffix)
    parts = [date, _part(sender), _part(number)]
    name = _assemble(parts, tail, MAX_NAME_BYTES)
    if _RESERVED.fullmatch(name.split(".")[0].rstrip(" ")):
        name = "_" + _assemble(parts, tail, MAX_NAME_BYTES - 1)
    return name


def save_new(folder: Path, name: str, data: bytes, mode: int = 0o640) -> Path:
    """Write ``data`` as a new file named ``name`` in ``folder``, durably, and return its path.

    Nothing is ever overwritten: a complete, fsynced temporary file is linked into place only where no file
    is (``os.link`` fails on an existing name), trying ``stem (2).suffix``, ``stem (3).suffix``, … after
    ``name``.  A regular file already holding exactly ``data`` under one of those names is returned as it is,
    and nothing is written.
    ``name`` must be a single, visible file name (as :func:`file_name` makes).
    """
    if not name or name in (".", "..") or name.startswith(".") or any(char in name for char in "/\\\0"):
        raise ValueError(f"not a plain file name: {name!r}")
    digest = hashlib.sha256(data).digest()
    temporary: Path | None = None
    try:
        for candidate in _candidates(name):
            target = folder / candidate
            if _holds(target, data, digest):
                return _inside(folder, target)
            if os.path.lexists(target):
                continue
            if temporary is None:
                temporary = _write_temporary(folder, data, mode)
            try:
                _link(temporary, target, data, mode)
            except FileExistsError:  # someone else took the name in between
                if _holds(target, data, digest):
                    return _inside(folder, target)
                continue
            return _inside(folder, target)
        raise FileExistsError(f"{MAX_COPIES} files named like {name!r} already exist in {folder}")
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
            fsync_dir(folder)


# -- names -------------------------------------------------------------------------------------------------------


def _part(text: str | None) -> str:
    """One piece of a name: NFC, no forbidden, control or invisible characters, spaces collapsed."""
    if not text:
        return ""
    text = _sanitise(unicodedata.normalize("NFC", text[:2000]))
    return _sanitise(unicodedata.normalize("NFC", text))


def _sanitise(text: str) -> str:
    kept = []
    for char in text.translate(_FORBIDDEN):
        category = unicodedata.category(char)
        if char.isspace() or category in ("Zl", "Zp"):
            kept.append(" ")
        elif category not in ("Cc", "Cf", "Cs"):  # controls; bidi, zero-width and other format characters
            kept.append(char)
    return " ".join("".join(kept).split())


def _suffix(suffix: str) -> str:
    kept = "".join(char for char in suffix if char.isascii() and (char.isalnum() or char == "."))
    kept = ".".join(piece for piece in kept.split(".") if piece)[:MAX_SUFFIX_CHARS].rstrip(".")
    return f".{kept}" if kept else ""


def _assemble(parts: list[str], suffix: str, limit: int) -> str:
    """The parts joined into a name of at most ``limit`` bytes: the sender is shortened first (down to
    :data:`SENDER_KEEP_BYTES`), then the number, then the sender again."""
    date, sender, number = parts
    while _size(name := _join(date, sender, number, suffix)) > limit:
        over = _size(name) - limit
        if _size(sender) > SENDER_KEEP_BYTES:
            sender = _shorten(sender, min(over, _size(sender) - SENDER_KEEP_BYTES))
        elif number:
            number = _shorten(number, over)
        elif sender:
            sender = _shorten(sender, over)
        elif number:
            number = _shorten(number, over)
        else:
            raise ValueError(f"a name of {limit} bytes cannot hold {name!r}")  # a date and a suffix always fit
    return name


def _join(date: str, sender: str, number: str, suffix: str) -> str:
    stem = " ".join(part for part in (date, sender, number) if part).strip(". ")
    return f"{stem or FALLBACK_STEM}{suffix}"


def _shorten(text: str, over: int) -> str:
    """``text`` less at least ``over`` bytes at its end, cut between characters, without a trailing space or dot."""
    encoded = text.encode("utf-8")
    return encoded[: max(0, len(encoded) - over)].decode("utf-8", "ignore").rstrip(". ")


def _size(name: str) -> int:
    return len(name.encode("utf-8"))


def _candidates(name: str) -> Iterator[str]:
    """``name``, then ``stem (2).suffix`` … each within :data:`MAX_NAME_BYTES` (the stem shortened if need be)."""
    extension = _EXTENSION.search(name)
    stem, suffix = (name[: extension.start()], extension.group()) if extension else (name, "")
    yield name
    for copy in range(2, MAX_COPIES + 1):
        tail = f" ({copy}){suffix}"
        over = _size(stem + tail) - max(MAX_NAME_BYTES, _size(name))
        yield _shorten(stem, over) + tail if over > 0 else stem + tail


# -- files -------------------------------------------------------------------------------------------------------


def _holds(path: Path, data: bytes, digest: bytes) -> bool:
    """Whether ``path`` is a regular file (not a link) whose bytes are exactly ``data``."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
        return False
    hasher = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.digest() == digest


def _write_temporary(folder: Path, data: bytes, mode: int) -> Path:
    """``data`` in a hidden file in ``folder`` with ``mode``, fsynced; the caller links it into place."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".received-", suffix=".part")
    _fill(fd, Path(name), data, mode)
    return Path(name)


def _link(temporary: Path, target: Path, data: bytes, mode: int) -> None:
    """The temporary file's content at ``target``; FileExistsError if any file is there already.

    Where the file system has no hard links (a FAT disk, some network shares) the data is written straight
    into a file created exclusively at ``target``: still never an overwrite, but a power cut mid-write could
    leave that file short (a retry then saves a complete one beside it).
    """
    try:
        os.link(temporary, target)
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        _write_exclusive(target, data, mode)


def _write_exclusive(target: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    _fill(os.open(target, flags, mode), target, data, mode)


def _fill(fd: int, path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` into the new file ``fd`` (at ``path``) with ``mode`` and fsync it; on any error the file goes."""
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        path.unlink(missing_ok=True)
        raise


def _inside(folder: Path, path: Path) -> Path:
    assert path.parent == folder, f"{path} is not directly inside {folder}"
    return path
