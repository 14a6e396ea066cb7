"""The Settings page's part of the configuration: read it without secrets, save it to the YAML file.

Saved settings go into the configuration file the service reads (``--config``, or the
per-platform default), written whole to a new file with mode 0600 and renamed over the
old one, so a crash leaves either version and the password is never readable by others.
Passwords are never sent back to a browser: the page only says whether one is set.
The office's own companies (``company.*``) are edited as text on the page only: the VAT ids in one
field, the further companies one per line as ``Name; VATID VATID``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from connect_core.config import SETTINGS, Config, format_companies, parse_companies, plain, read_file
from connect_core.errors import ConfigError
from connect_core.fsutil import write_durably
from connect_core.paths import default_config_file
from connect_core.pipeline.recognition import ocr_status

EDITABLE = ("sending.mode", "online.url", "online.username", "online.password", "online.company_id",
            "online.environment", "company.name", "company.vat_ids", "company.others", "ocr.languages")
SECRET = frozenset({"online.password"})
FIELDS = {"sending_mode": "sending.mode", "url": "online.url", "username": "online.username",
          "password": "online.password", "company_id": "online.company_id", "environment": "online.environment",
          "ocr_languages": "ocr.languages"}
"""The Settings form's (and the API's) field names and the settings they change."""
COMPANY_FIELDS = {"company_name": "company.name", "company_vat_ids": "company.vat_ids",
                  "company_others": "company.others"}
"""The Settings form's fields for the office's own companies (as text: see :func:`company_form`)."""
FORM_FIELDS = {**FIELDS, **COMPANY_FIELDS}
"""Every field of the Settings form and the setting it changes."""
WORDS = {"sending.mode": "sending mode", "online.url": "service URL", "online.username": "user name",
         "online.password": "password", "online.company_id": "company id", "online.environment": "environment",
         "company.name": "company name", "company.vat_ids": "VAT ids", "company.others": "further companies",
         "ocr.languages": "OCR languages"}
LONG = {"company.others": 20000}
"""Settings given as several lines, and how long their text may be (every other one: a line of 2000 at most)."""


def saved_message(changed: list[str]) -> str:
    """What the page says after a save: which settings changed, or that none did."""
    if not changed:
        return "Nothing changed."
    return f"Saved: {', '.join(WORDS[key] for key in changed)}. In force now."


def visible_settings(config: Config) -> dict[str, Any]:
    """The editable settings as the page shows them: secrets replaced by whether they are set."""
    return {
        "sending_mode": config.sending.mode,
        "online": {
            "url": config.online.url,
            "username": config.online.username,
            "password_set": bool(config.online.password),
            "company_id": config.online.company_id,
            "environment": config.online.environment,
        },
        "file": str(settings_file(config)),
        "demo": config.is_demo,
        "ocr": dataclasses.asdict(ocr_status(config)),
        "ocr_languages": ", ".join(config.ocr.languages),
    }


def company_form(config: Config) -> dict[str, str]:
    """The company settings as the Settings form shows them (and takes them back)."""
    return {"company_name": config.company.name, "company_vat_ids": ", ".join(config.company.vat_ids),
            "company_others": format_companies(config.company.others)}


def settings_file(config: Config) -> Path:
    """Where saved settings go: the file the service was started with, else the default one."""
    return config.source or default_config_file()


def check_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate ``{dotted key: value}``; raises :class:`ConfigError` naming the key.  Empty secrets are dropped
    (an empty password field means "keep the one set")."""
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in EDITABLE:
            raise ConfigError(f"{key}: not a setting this page changes")
        if value is None or (key in SECRET and value == ""):
            continue
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected text")
        value = value.strip() if key not in SECRET else value
        if key in LONG:
            if len(value) > LONG[key] or "\x00" in value:
                raise ConfigError(f"{key}: too long")
            clean[key] = parse_companies(value.replace("\r\n", "\n"))
            continue
        if len(value) > 2000 or any(ch in value for ch in "\r\n\x00"):
            raise ConfigError(f"{key}: too long or several lines")
        setting = SETTINGS[key]
        if setting.choices and value not in setting.choices:
            raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(str, setting.choices))}")
        if key == "online.url" and not (value.startswith(("https://", "http://")) and value.isascii()
                                        and value.isprintable() and " " not in value):
            raise ConfigError("online.url: give the address as https://… (letters of the Latin alphabet)")
        clean[key] = value
    return clean


def save_settings(config: Config, changes: dict[str, Any]) -> tuple[Config, list[str]]:
    """Write the settings in ``changes`` that differ from those in force into the configuration file.

    Only the changed keys are written; every other line of the file stays as it was, and nothing
    that is not a setting (the demo emulator's account) is ever written.  Returns the settings now
    in force and the keys that changed (none: nothing was written).
    """
    clean = check_changes(changes)
    typed = config.replace(clean)  # each value as the setting holds it, and the settings together checked
    changed = {key: typed.get(key) for key in clean if typed.get(key) != config.get(key)}
    if not changed:
        return config, []
    path = settings_file(config)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot read the configuration file to update it ({error})") from error
        data = loaded if isinstance(loaded, dict) else {}
    for key, value in changed.items():
        section, name = key.split(".", 1)
        part = data.setdefault(section, {})
        if not isinstance(part, dict):
            raise ConfigError(f"{path}: {section} is not a section; fix the file by hand")
        part[name] = plain(key, value)
    text = yaml.safe_dump(data, default_flow_style=False, sort_keys=True, allow_unicode=True)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_durably(path, text.encode("utf-8"), mode=0o600)
    except OSError as error:
        raise ConfigError(f"cannot save the settings to {path}: {error.strerror}") from error
    read_file(path)  # what was written loads again, or the admin hears it now rather than at the next start
    return dataclasses.replace(typed, source=path), sorted(changed)
