"""Where things live on each platform when the configuration does not say."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def default_data_dir() -> Path:
    """The per-platform data directory (spool, database, printer identity)."""
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "Pagero Connect"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Pagero Connect"
    if os.geteuid() == 0:
        return Path("/var/lib/pagero-connect")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pagero-connect"


def default_config_file() -> Path:
    """The per-platform configuration file (``PAGERO_CONFIG_FILE`` names another)."""
    if os.environ.get("PAGERO_CONFIG_FILE"):
        return Path(os.environ["PAGERO_CONFIG_FILE"])
    if sys.platform == "win32" or sys.platform == "darwin":
        return default_data_dir() / "config.yaml"
    if os.geteuid() == 0:
        return Path("/etc/pagero-connect/config.yaml")
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pagero-connect" / "config.yaml"
