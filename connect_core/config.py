"""One YAML file, validated at start with messages that name the key and the problem.

The settings are declared once, as typed frozen sections (:class:`Config` and the classes
below it); each field's default and checks are its declaration.  The table of dotted keys
(:data:`SETTINGS`) is derived from them and drives loading: defaults, then the YAML file,
then ``PAGERO_<SECTION>_<KEY>`` environment variables, then command-line options.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connect_core.errors import ConfigError
from connect_core.paths import default_data_dir

ENVIRONMENTS = ("Production", "Test", "Certification")
"""Pagero Online's send modes."""


def setting(default: Any, *, choices: tuple[Any, ...] = (), minimum: float | None = None, folder: bool = False,
            help: str = "", check: Callable[[str, Any], Any] | None = None,
            from_env: Callable[[str], Any] | None = None) -> Any:
    """One setting's declaration: its default and what a value must be.

    ``check(key, value)`` returns the value normalised or raises :class:`ConfigError`; for a setting
    that is not a plain str, int, float or bool it is the whole check.  ``from_env(text)`` reads the
    ``PAGERO_…`` variable's text when that is not simply the value.
    """
    return field(default=default, metadata={"choices": choices, "minimum": minimum, "folder": folder, "help": help,
                                            "check": check, "from_env": from_env})


@dataclass(frozen=True)
class PrinterSettings:
    name: str = setting("Pagero Printer", help="the printer's name as clients show it")
    listen: str = setting("0.0.0.0:8631", help="HOST:PORT for IPP and the status page")
    paper: str = setting("A4", choices=("A4", "Letter"))
    location: str = setting("")
    dnssd: bool = setting(True, help="advertise the printer with DNS-SD")
    plain_ipp: bool = setting(True, help="with tls.enabled: keep printing open on plain ipp:// too")
    authentication: str = setting("none", choices=("none", "basic"),
                                  help="basic: printing needs a status page user's name and password (over ipps://)")


@dataclass(frozen=True)
class TlsSettings:
    enabled: bool = setting(True, help="serve ipps:// and the status page over TLS on the printer's port")
    cert: str = setting("", help="the certificate (PEM) to serve; default: a self-signed one in the data dir")
    key: str = setting("", help="its private key (PEM); reloaded with the certificate on SIGHUP")


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
    max_retry_delay: float = setting(3600.0, minimum=1,
                                     help="seconds: the longest backoff (a Retry-After up to an hour is honoured)")
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


OCR_LANGUAGE = re.compile(r"[a-z]{3}")


def _ocr_languages(key: str, value: Any) -> tuple[str, ...]:
    """Tesseract language codes from a list or one text ("deu+eng", "deu, eng")."""
    if value is None:
        return ()
    items = re.split(r"[\s,+]+", value) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{key}: expected a list of language codes such as [deu, eng], got {value!r}")
    codes: list[str] = []
    for item in items:
        code = item.strip().lower() if isinstance(item, str) else item
        if code == "":
            continue
        if not isinstance(code, str) or not OCR_LANGUAGE.fullmatch(code):
            raise ConfigError(f"{key}: {item!r} is not a Tesseract language code (three letters: deu, eng, fra, ...)")
        if code not in codes:
            codes.append(code)
    return tuple(codes)


@dataclass(frozen=True)
class OcrConfig:
    enabled: bool = setting(True, help="recognise the text of pages that have none (scans, raster prints)")
    languages: tuple[str, ...] = setting(
        (), check=_ocr_languages,
        help="Tesseract languages, e.g. [deu, eng] or \"deu+eng\" (empty: the company's country's and English)")
    page_seconds: float = setting(60.0, minimum=1, help="seconds one page may take; then it is left without text")
    max_pages: int = setting(50, minimum=1, help="pages of one document recognised at most")


@dataclass(frozen=True)
class Company:
    """A company this office invoices as: the seller on the invoices printed here."""

    name: str
    vat_ids: tuple[str, ...] = ()


VAT_ID = re.compile(r"[A-Z]{2}(?=[A-Z]*[0-9])[A-Z0-9]{2,13}")
"""A VAT id once spaces, dots and dashes are gone and letters are capitals: a country's two letters, then
2 to 13 letters or digits (at least one a digit): DE123456789, ATU12345678, NL123456789B01."""
NOT_A_VAT_ID = "is not a VAT id (two letters, then 2 to 13 letters or digits, at least one a digit)"
MAX_NAME = 200


def _company_name(key: str, value: Any, *, what: str = "") -> str:
    """A company name without surrounding spaces; refused if too long or with control characters."""
    if not isinstance(value, str):
        raise ConfigError(f"{key}: {what or 'the name'} must be text, got {type(value).__name__} {value!r}")
    name = value.strip()
    if len(name) > MAX_NAME:
        raise ConfigError(f"{key}: {what or 'the name'} is longer than {MAX_NAME} characters")
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in name):
        raise ConfigError(f"{key}: {what or 'the name'} {name!r} contains a control character")
    return name


def split_vat_ids(text: str) -> list[str]:
    """VAT ids as typed in one text, separated by commas, semicolons or spaces.  Spaces inside one id
    (``DE 123 456 789``) are allowed: a word joins the id before it unless that id already has a digit
    and the word starts with two letters (a new country prefix)."""
    found: list[str] = []
    for piece in re.split(r"[,;]", text):
        words: list[str] = []
        for word in piece.split():
            if words and any(ch.isdigit() for ch in "".join(words)) and re.match(r"[^\W\d_]{2}", word):
                found.append(" ".join(words))
                words = []
            words.append(word)
        if words:
            found.append(" ".join(words))
    return found


def _vat_ids(key: str, value: Any, *, whose: str = "") -> tuple[str, ...]:
    """VAT ids from a list of them or one text (see :func:`split_vat_ids`), each as :data:`VAT_ID`."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ConfigError(f"{key}: expected a list of VAT ids, got {type(value).__name__} {value!r}")
    of = f" ({whose})" if whose else ""
    ids: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"{key}: {item!r}{of} {NOT_A_VAT_ID}")
        for typed in split_vat_ids(item):
            vat_id = re.sub(r"[\s.\-]", "", typed).upper()
            if not VAT_ID.fullmatch(vat_id):
                raise ConfigError(f"{key}: {typed!r}{of} {NOT_A_VAT_ID}")
            if vat_id in ids:
                raise ConfigError(f"{key}: {vat_id}{of} is given twice")
            ids.append(vat_id)
    return tuple(ids)


def _other_companies(key: str, value: Any) -> tuple[Company, ...]:
    """Further companies: a list of ``{name: ..., vat_ids: [...]}`` (or of :class:`Company`)."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key}: expected a list of companies ({{name: ..., vat_ids: [...]}}), "
                          f"got {type(value).__name__} {value!r}")
    companies: list[Company] = []
    for number, entry in enumerate(value, 1):
        if isinstance(entry, Company):
            entry = {"name": entry.name, "vat_ids": entry.vat_ids}
        if not isinstance(entry, dict):
            raise ConfigError(f"{key}: entry {number} is not a company ({{name: ..., vat_ids: [...]}})")
        unknown = sorted(str(k) for k in entry if k not in ("name", "vat_ids"))
        if unknown:
            raise ConfigError(f"{key}: entry {number} has the unknown key {unknown[0]!r} (only name and vat_ids)")
        name = _company_name(key, entry.get("name", ""), what=f"the name of entry {number}")
        if not name:
            raise ConfigError(f"{key}: entry {number} has no name")
        companies.append(Company(name, _vat_ids(key, entry.get("vat_ids"), whose=name)))
    return tuple(companies)


def parse_companies(text: str, *, separator: str = "\n", between: str = ";") -> tuple[dict[str, Any], ...]:
    """Further companies from text, one company per ``separator``-separated part as ``Name<between>VAT ids``
    (the last ``between`` ends the name; without one the part is a name only).  The Settings page uses
    lines of ``Name; VATID VATID``, ``PAGERO_COMPANY_OTHERS`` parts ``Name=VATID VATID`` separated by ``;``."""
    entries: list[dict[str, Any]] = []
    for part in text.split(separator):
        if not part.strip():
            continue
        name, sep, ids = part.rpartition(between)
        if not sep:
            name, ids = ids, ""
        entries.append({"name": name, "vat_ids": ids})
    return tuple(entries)


def _others_from_env(text: str) -> tuple[dict[str, Any], ...]:
    return parse_companies(text, separator=";", between="=")


def format_companies(companies: tuple[Company, ...]) -> str:
    """Further companies as the Settings page's text: one line per company, ``Name; VATID VATID``."""
    return "\n".join(f"{c.name}; {' '.join(c.vat_ids)}".rstrip() for c in companies)


def _fold(name: str) -> str:
    return " ".join(name.casefold().split())


def _check_companies(company: CompanySettings) -> None:
    """What only the three company settings together can say: a name is set, and nothing is given twice."""
    if not company.name:
        for key in ("vat_ids", "others"):
            if getattr(company, key):
                raise ConfigError(f"company.{key}: set company.name too")
        return
    names = {_fold(company.name): company.name}
    owners = dict.fromkeys(company.vat_ids, company.name)
    for other in company.others:
        if _fold(other.name) in names:
            raise ConfigError(f"company.others: the company {other.name!r} is given twice")
        names[_fold(other.name)] = other.name
        for vat_id in other.vat_ids:
            if vat_id in owners:
                raise ConfigError(f"company.others: {vat_id} is given twice ({owners[vat_id]} and {other.name})")
            owners[vat_id] = other.name


@dataclass(frozen=True)
class CompanySettings:
    """The office's own companies: the seller on the invoices printed here."""

    name: str = setting("", check=_company_name, help="the main company's name (the seller on printed invoices)")
    vat_ids: tuple[str, ...] = setting(
        (), check=_vat_ids,
        help="the main company's VAT ids: a list, or one text separated by commas or spaces "
             "(PAGERO_COMPANY_VAT_IDS=\"DE123456789,ATU12345678\"); spaces, dots and dashes are dropped")
    others: tuple[Company, ...] = setting(
        (), check=_other_companies, from_env=_others_from_env,
        help="further companies, each {name: ..., vat_ids: [...]}; PAGERO_COMPANY_OTHERS takes "
             "\"Name=VATID VATID; Other Name=\" (companies separated by ';', the name ended by the last '=')")
    currency: str = setting("", choices=("", "EUR", "SEK", "NOK", "DKK", "GBP", "CHF", "PLN", "USD", "CZK", "HUF"),
                            help="the currency an invoice is in when it prints none (empty: a person is asked)")


@dataclass(frozen=True)
class Config:
    """The settings in force, by section (``config.online.url``).  Frozen: a change makes a new one."""

    printer: PrinterSettings = field(default_factory=PrinterSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    online: OnlineSettings = field(default_factory=OnlineSettings)
    sending: SendingSettings = field(default_factory=SendingSettings)
    inbound: InboundSettings = field(default_factory=InboundSettings)
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    web: WebSettings = field(default_factory=WebSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    company: CompanySettings = field(default_factory=CompanySettings)
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
        if not self.company.name:
            return ()
        return (Company(self.company.name, self.company.vat_ids), *self.company.others)

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
        changed = dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section), **values)
                                               for section, values in sections.items()})
        if "company" in sections:
            _check_companies(changed.company)
        return changed


@dataclass(frozen=True)
class Setting:
    """One dotted key of :data:`SETTINGS`: its type, default and checks (read from the declarations above)."""

    type: type
    default: Any
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    folder: bool = False
    help: str = ""
    check: Callable[[str, Any], Any] | None = None
    from_env: Callable[[str], Any] | None = None


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
        if isinstance(value, dict) and dotted not in SETTINGS:
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
    if kind not in (str, int, float, bool):  # a list: its own check says what it must be
        assert setting.check is not None, key
        return setting.check(key, value)
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
    if setting.check is not None:
        value = setting.check(key, value)
    return float(value) if kind is float and isinstance(value, int | float) else value


def env_name(key: str) -> str:
    """The environment variable that overrides ``key``: ``online.url`` → ``PAGERO_ONLINE_URL``."""
    return "PAGERO_" + key.upper().replace(".", "_")


def _from_env(key: str, raw: str) -> Any:
    kind = SETTINGS[key].type
    parse = SETTINGS[key].from_env
    if parse is not None:
        return parse(raw)
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


def plain(key: str, value: Any) -> Any:
    """A setting's value as the YAML file holds it (lists rather than tuples, companies as mappings)."""
    if isinstance(value, tuple):
        return [{"name": item.name, **({"vat_ids": list(item.vat_ids)} if item.vat_ids else {})}
                if isinstance(item, Company) else item for item in value]
    return value


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
