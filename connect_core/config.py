"""One YAML file, validated at start with messages that name the key and the problem.

Every setting has a default (the table :data:`SETTINGS`); ``PAGERO_<SECTION>_<KEY>``
environment variables override the file; command-line options override both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connect_core.errors import ConfigError
from connect_core.paths import default_data_dir


@dataclass(frozen=True)
class Setting:
    type: type | tuple[type, ...]
    default: Any
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    folder: bool = False
    help: str = ""


SETTINGS: dict[str, Setting] = {
    "printer.name": Setting(str, "Pagero Printer", help="the printer's name as clients show it"),
    "printer.listen": Setting(str, "0.0.0.0:8631", help="HOST:PORT for IPP and the status page"),
    "printer.paper": Setting(str, "A4", choices=("A4", "Letter")),
    "printer.location": Setting(str, ""),
    "printer.dnssd": Setting(bool, True, help="advertise the printer with DNS-SD"),
    "online.url": Setting(str, "https://api.pageroonline.com", help="Pagero Online API base URL"),
    "online.auth_url": Setting(str, "", help="OAuth2 token URL (default: derived from online.url)"),
    "online.username": Setting(str, ""),
    "online.password": Setting(str, ""),
    "online.company_id": Setting(str, ""),
    "online.environment": Setting(str, "Production", choices=("Production", "Test", "Certification")),
    "sending.mode": Setting(str, "manual", choices=("automatic", "manual")),
    "sending.max_retry_delay": Setting((int, float), 3600, minimum=1, help="seconds"),
    "sending.max_attempts": Setting(int, 12, minimum=1, help="then the invoice needs attention"),
    "sending.poll_seconds": Setting((int, float), 30, minimum=0.1, help="how often sent invoices are checked"),
    "sending.workers": Setting(int, 1, minimum=1, help="parallel uploads"),
    "sending.breaker_cooldown": Setting((int, float), 30, minimum=0.1,
                                        help="seconds to wait before probing a failing service again"),
    "inbound.folder": Setting(str, "", folder=True,
                              help="where received invoices are written (default: received/ in the data dir)"),
    "inbound.mode": Setting(str, "manual", choices=("automatic", "manual")),
    "inbound.poll_seconds": Setting((int, float), 60, minimum=0.1,
                                    help="how often Pagero Online is asked for received invoices"),
    "intake.folder": Setting(str, "", folder=True, help="hot folder: files put here are imported"),
    "intake.settle_seconds": Setting((int, float), 2, minimum=0.1,
                                     help="a hot-folder file must stay unchanged this long"),
    "intake.poll_seconds": Setting((int, float), 1, minimum=0.1),
    "validation.duplicates": Setting(bool, True, help="hold a repeated document as a possible duplicate"),
    "validation.duplicate_window_days": Setting(int, 90, minimum=1),
    "validation.max_pages": Setting(int, 500, minimum=1),
    "retention.days": Setting(int, 365, minimum=1, help="keep local copies of finished invoices this long"),
    "storage.data_dir": Setting(str, "", help="spool, database and printer identity (default per platform)"),
    "storage.database_url": Setting(str, "", help="SQLAlchemy URL (default: SQLite in the data dir)"),
    "web.session_hours": Setting((int, float), 12, minimum=0.1, help="a status page login lasts at most this long"),
    "web.idle_minutes": Setting((int, float), 120, minimum=1, help="a login unused this long ends"),
    "limits.max_job_bytes": Setting(int, 1024 * 1024 * 1024, minimum=1024,
                                    help="largest document accepted; bigger ones get request-entity-too-large"),
    "limits.idle_timeout": Setting((int, float), 30, minimum=1,
                                   help="seconds: a client silent this long, or not done with its headers, is dropped"),
    "limits.convert_seconds": Setting((int, float), 60, minimum=1,
                                      help="CPU seconds one conversion may use (its wall clock gets twice that)"),
    "limits.convert_memory_bytes": Setting(int, 512 * 1024 * 1024, minimum=64 * 1024 * 1024,
                                           help="memory one conversion may use"),
    "limits.min_free_bytes": Setting(int, 64 * 1024 * 1024, minimum=0,
                                     help="below this much free spool space new jobs are refused (spool-area-full)"),
}


@dataclass
class Config:
    """Validated settings, by dotted key."""

    values: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def data_dir(self) -> Path:
        return Path(self.values["storage.data_dir"]) if self.values["storage.data_dir"] else default_data_dir()

    @property
    def listen(self) -> tuple[str, int]:
        return parse_listen(self.values["printer.listen"])


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 as ``[::1]:PORT``) into a host and a port."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"printer.listen: {text!r} is not HOST:PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _check(key: str, value: Any) -> Any:
    setting = SETTINGS.get(key)
    if setting is None:
        raise ConfigError(f"{key}: unknown setting")
    types = setting.type if isinstance(setting.type, tuple) else (setting.type,)
    if bool in types and isinstance(value, str) and value.lower() in ("on", "off"):
        value = value.lower() == "on"
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"{key}: expected {types[0].__name__}, got a boolean")
    if not isinstance(value, types):
        raise ConfigError(f"{key}: expected {types[0].__name__}, got {type(value).__name__} {value!r}")
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(str, setting.choices))}")
    if setting.minimum is not None and value < setting.minimum:  # type: ignore[operator]
        raise ConfigError(f"{key}: {value!r} is below the minimum {setting.minimum}")
    if setting.folder and value:
        folder = Path(str(value))
        if not folder.is_dir():
            raise ConfigError(f"{key}: {value} is not a folder")
        if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            raise ConfigError(f"{key}: the folder {value} cannot be read and written by this user")
    return value


def _from_env(key: str, raw: str) -> Any:
    setting = SETTINGS[key]
    types = setting.type if isinstance(setting.type, tuple) else (setting.type,)
    try:
        if bool in types:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes", "on")
        if int in types:
            return int(raw)
        if float in types:
            return float(raw)
    except ValueError as error:
        raise ConfigError(f"{key}: environment value {raw!r} is not a {types[0].__name__}") from error
    return raw


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the YAML file (if any), then the environment, then ``overrides``."""
    values = {key: setting.default for key, setting in SETTINGS.items()}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the configuration file ({error.strerror})") from error
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or "syntax error"
            raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from error
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the configuration must be a mapping of sections")
        for key, value in _flatten(data).items():
            values[key] = _check(key, value)
    for key in SETTINGS:
        env = "PAGERO_" + key.upper().replace(".", "_")
        if env in os.environ:
            values[key] = _check(key, _from_env(key, os.environ[env]))
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _check(key, value)
    parse_listen(values["printer.listen"])
    return Config(values, path)
