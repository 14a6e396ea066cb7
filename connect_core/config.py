"""One YAML file, validated at start with messages that name the key and the problem.

The settings are declared once, as typed frozen sections (:class:`Config` and the classes
below it); each field's default and checks are its declaration.  The table of dotted keys
(:data:`SETTINGS`) is derived from them and drives loading: defaults, then the YAML file,
then ``PAGERO_<SECTION>_<KEY>`` environment variables, then command-line options.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connect_core.errors import ConfigError
from connect_core.paths import default_data_dir

ENVIRONMENTS = ("Production", "Test", "Certification")
"""Pagero Online's send modes."""


def setting(default: Any, *, choices: tuple[Any, ...] = (), minimum: float | None = None, folder: bool = False,
            help: str = "") -> Any:
    """One setting's declaration: its default and what a value must be."""
    return field(default=default, metadata={"choices": choices, "minimum": minimum, "folder": folder, "help": help})


@dataclass(frozen=True)
class PrinterSettings:
    name: str = setting("Pagero Printer", help="the printer's name as clients show it")
    listen: str = setting("0.0.0.0:8631", help="HOST:PORT for IPP and the status page")
    paper: str = setting("A4", choices=("A4", "Letter"))
    location: str = setting("")
    dnssd: bool = setting(True, help="advertise the printer with DNS-SD")


@dataclass(frozen=True)
class OnlineSettings:
    url: str = setting("https://api.pageroonline.com", help="Pagero Online API base URL")
    auth_url: str = setting("", help="OAuth2 token URL (default: derived from online.url)")
    username: str = setting("")
    password: str = setting("")
    company_id: str = setting("")
    environment: str = setting("Production", choices=ENVIRONMENTS)


@dataclass(frozen=True)
class SendingSettings:
    mode: str = setting("manual", choices=("automatic", "manual"))
    max_retry_delay: float = setting(3600.0, minimum=1, help="seconds")
    max_attempts: int = setting(12, minimum=1, help="then the invoice needs attention")
    poll_seconds: float = setting(30.0, minimum=0.1, help="how often sent invoices are checked")
    workers: int = setting(1, minimum=1, help="parallel uploads")
    breaker_cooldown: float = setting(30.0, minimum=0.1, help="seconds to wait before probing a failing service again")


@dataclass(frozen=True)
class InboundSettings:
    folder: str = setting("", folder=True,
                          help="where received invoices are written (default: received/ in the data dir)")
    mode: str = setting("manual", choices=("automatic", "manual"))
    poll_seconds: float = setting(60.0, minimum=0.1, help="how often Pagero Online is asked for received invoices")


@dataclass(frozen=True)
class IntakeSettings:
    folder: str = setting("", folder=True, help="hot folder: files put here are imported")
    settle_seconds: float = setting(2.0, minimum=0.1, help="a hot-folder file must stay unchanged this long")
    poll_seconds: float = setting(1.0, minimum=0.1)


@dataclass(frozen=True)
class ValidationSettings:
    duplicates: bool = setting(True, help="hold a repeated document as a possible duplicate")
    duplicate_window_days: int = setting(90, minimum=1)
    max_pages: int = setting(500, minimum=1)


@dataclass(frozen=True)
class RetentionSettings:
    days: int = setting(365, minimum=1, help="keep local copies of finished invoices this long")


@dataclass(frozen=True)
class StorageSettings:
    data_dir: str = setting("", help="spool, database and printer identity (default per platform)")
    database_url: str = setting("", help="SQLAlchemy URL (default: SQLite in the data dir)")


@dataclass(frozen=True)
class WebSettings:
    session_hours: float = setting(12.0, minimum=0.1, help="a status page login lasts at most this long")
    idle_minutes: float = setting(120.0, minimum=1, help="a login unused this long ends")


@dataclass(frozen=True)
class LimitsSettings:
    max_job_bytes: int = setting(1024 * 1024 * 1024, minimum=1024,
                                 help="largest document accepted; bigger ones get request-entity-too-large")
    idle_timeout: float = setting(30.0, minimum=1,
                                  help="seconds: a client silent this long, or not done with its headers, is dropped")
    convert_seconds: float = setting(60.0, minimum=1,
                                     help="CPU seconds one conversion may use (its wall clock gets twice that)")
    convert_memory_bytes: int = setting(512 * 1024 * 1024, minimum=64 * 1024 * 1024,
                                        help="memory one conversion may use")
    min_free_bytes: int = setting(64 * 1024 * 1024, minimum=0,
                                  help="below this much free spool space new jobs are refused (spool-area-full)")


@dataclass(frozen=True)
class Company:
    """A company this office invoices as: the seller on the invoices printed here."""

    name: str
    vat_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """The settings in force, by section (``config.online.url``).  Frozen: a change makes a new one."""

    printer: PrinterSettings = field(default_factory=PrinterSettings)
    online: OnlineSettings = field(default_factory=OnlineSettings)
    sending: SendingSettings = field(default_factory=SendingSettings)
    inbound: InboundSettings = field(default_factory=InboundSettings)
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    web: WebSettings = field(default_factory=WebSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    source: Path | None = field(default=None, compare=False)
    """The configuration file these settings were read from (None: defaults and environment only)."""
    demo: OnlineSettings | None = field(default=None, compare=False)
    """The local emulator's account (``serve --demo``), used while no account is configured; kept in
    memory only: it is never a setting, never saved and never shown as one."""

    @property
    def account(self) -> OnlineSettings:
        """The Pagero Online account in force: the configured one, else the demo emulator's (if running)."""
        if self.demo is not None and not self.online.username:
            return dataclasses.replace(self.demo, environment=self.online.environment)
        return self.online

    @property
    def is_demo(self) -> bool:
        """Whether invoices go to the local emulator of the demo rather than to a configured account."""
        return self.demo is not None and not self.online.username

    @property
    def companies(self) -> tuple[Company, ...]:
        """The office's own companies, the main one first; empty when none is configured."""
        return ()

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir) if self.storage.data_dir else default_data_dir()

    @property
    def listen(self) -> tuple[str, int]:
        return parse_listen(self.printer.listen)

    def get(self, key: str) -> Any:
        """The value of a dotted key (``"online.url"``)."""
        section, name = _split(key)
        return getattr(getattr(self, section), name)

    def values(self) -> dict[str, Any]:
        """Every setting by dotted key."""
        return {key: self.get(key) for key in SETTINGS}

    def replace(self, changes: Mapping[str, Any]) -> Config:
        """A copy with ``{dotted key: value}`` changed, each value checked as at load."""
        sections: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            section, name = _split(key)
            sections.setdefault(section, {})[name] = _check(key, value)
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section), **values)
                                            for section, values in sections.items()})


@dataclass(frozen=True)
class Setting:
    """One dotted key of :data:`SETTINGS`: its type, default and checks (read from the declarations above)."""

    type: type
    default: Any
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    folder: bool = False
    help: str = ""


def _table() -> dict[str, Setting]:
    table: dict[str, Setting] = {}
    for section in dataclasses.fields(Config):
        if section.name in ("source", "demo"):
            continue
        cls = typing.get_type_hints(Config)[section.name]
        hints = typing.get_type_hints(cls)
        for item in dataclasses.fields(cls):
            table[f"{section.name}.{item.name}"] = Setting(hints[item.name], item.default, **item.metadata)
    return table


SETTINGS: dict[str, Setting] = _table()
"""Every setting by dotted key, derived from :class:`Config`."""


def _split(key: str) -> tuple[str, str]:
    if key not in SETTINGS:
        raise ConfigError(f"{key}: unknown setting")
    section, _, name = key.partition(".")
    return section, name


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
    """``value`` as the type ``key`` declares, or :class:`ConfigError` naming the key and the problem."""
    setting = SETTINGS.get(key)
    if setting is None:
        raise ConfigError(f"{key}: unknown setting")
    kind = setting.type
    if kind is bool and isinstance(value, str) and value.lower() in ("on", "off"):
        value = value.lower() == "on"
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{key}: expected {kind.__name__}, got a boolean")
    if not isinstance(value, int if kind is float else kind) and not isinstance(value, kind):
        raise ConfigError(f"{key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(str, setting.choices))}")
    if setting.minimum is not None and value < setting.minimum:  # type: ignore[operator]  # int or float here
        raise ConfigError(f"{key}: {value!r} is below the minimum {setting.minimum}")
    if setting.folder and value:
        folder = Path(str(value))
        if not folder.is_dir():
            raise ConfigError(f"{key}: {value} is not a folder")
        if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            raise ConfigError(f"{key}: the folder {value} cannot be read and written by this user")
    return float(value) if kind is float and isinstance(value, int | float) else value


def env_name(key: str) -> str:
    """The environment variable that overrides ``key``: ``online.url`` → ``PAGERO_ONLINE_URL``."""
    return "PAGERO_" + key.upper().replace(".", "_")


def _from_env(key: str, raw: str) -> Any:
    kind = SETTINGS[key].type
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes", "on")
        if kind in (int, float):
            return kind(raw)
    except ValueError as error:
        raise ConfigError(f"{key}: environment value {raw!r} is not a {kind.__name__}") from error
    return raw


def read_file(path: Path) -> dict[str, Any]:
    """The settings a YAML file sets, by dotted key, each checked; :class:`ConfigError` names the file and key."""
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
    return {key: _check(key, value) for key, value in _flatten(data).items()}


def load_config(path: Path | None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Defaults, then the YAML file (if any), then the environment, then ``overrides`` (None values skipped)."""
    values: dict[str, Any] = read_file(path) if path is not None else {}
    for key in SETTINGS:
        env = env_name(key)
        if env in os.environ:
            values[key] = _from_env(key, os.environ[env])
    values.update({key: value for key, value in (overrides or {}).items() if value is not None})
    config = dataclasses.replace(Config().replace(values), source=path)
    parse_listen(config.printer.listen)
    return config
