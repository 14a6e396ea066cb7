"""The office's own companies (``company.*``): read from YAML, the environment and the Settings page,
each wrong key refused with one message naming it, saved by writing only the keys that changed."""

from __future__ import annotations

import asyncio
import html
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette

from connect_core.accounts.sessions import start_session
from connect_core.accounts.users import add_user
from connect_core.config import Company, Config, format_companies, load_config, parse_companies, split_vat_ids
from connect_core.errors import ConfigError
from connect_core.intake.spool import Spool
from connect_core.settings import company_form, save_settings
from connect_core.store import open_database
from connect_core.web.app import create_app
from connect_core.web.security import SESSION_COOKIE
from tests.support.harness import REPO
from tests.support.loop import run

ENV = ("PAGERO_COMPANY_NAME", "PAGERO_COMPANY_VAT_IDS", "PAGERO_COMPANY_OTHERS")


@pytest.fixture(autouse=True)
def _no_company_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def _load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


# -- reading ---------------------------------------------------------------------------------


def test_no_company_configured_is_no_companies() -> None:
    config = load_config(None)
    assert config.companies == ()
    assert (config.company.name, config.company.vat_ids, config.company.others) == ("", (), ())


def test_yaml_lists_give_the_companies_main_first(tmp_path: Path) -> None:
    config = _load(tmp_path, """\
company:
  name: Acme GmbH
  vat_ids: [DE123456789, ATU12345678]
  others:
    - {name: Acme Services GmbH, vat_ids: [DE987654321]}
    - {name: Acme Nederland B.V., vat_ids: [NL123456789B01]}
    - {name: Acme Holding}
""")
    assert config.companies == (
        Company("Acme GmbH", ("DE123456789", "ATU12345678")),
        Company("Acme Services GmbH", ("DE987654321",)),
        Company("Acme Nederland B.V.", ("NL123456789B01",)),
        Company("Acme Holding"),
    )
    assert all(isinstance(c, Company) for c in config.companies)
    assert config.get("company.vat_ids") == ("DE123456789", "ATU12345678")


def test_a_single_string_of_vat_ids_is_split_and_normalised(tmp_path: Path) -> None:
    config = _load(tmp_path, """\
company:
  name: "  Acme GmbH  "
  vat_ids: "de 123.456-789, ATU12345678 gb123456789;NL 123456789 B01"
  others:
    - {name: Acme Services GmbH, vat_ids: "DE 987 654 321"}
""")
    assert config.company.name == "Acme GmbH"
    assert config.company.vat_ids == ("DE123456789", "ATU12345678", "GB123456789", "NL123456789B01")
    assert config.company.others == (Company("Acme Services GmbH", ("DE987654321",)),)


@pytest.mark.parametrize(("text", "ids"), [
    ("DE123456789,ATU12345678", ["DE123456789", "ATU12345678"]),
    ("DE123456789 ATU12345678", ["DE123456789", "ATU12345678"]),
    ("DE 123 456 789 ATU 12345678", ["DE 123 456 789", "ATU 12345678"]),
    ("NL 123456789 B01", ["NL 123456789 B01"]),
    ("FR AB 123456789", ["FR AB 123456789"]),
    (" , ;", []),
])
def test_vat_ids_in_one_text_are_separated_by_commas_or_spaces(text: str, ids: list[str]) -> None:
    assert split_vat_ids(text) == ids


def test_the_environment_sets_the_companies_and_wins_over_the_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("company:\n  name: From File\n  vat_ids: [DE111111111]\n", encoding="utf-8")
    monkeypatch.setenv("PAGERO_COMPANY_NAME", "Acme GmbH")
    monkeypatch.setenv("PAGERO_COMPANY_VAT_IDS", "DE123456789,ATU12345678")
    monkeypatch.setenv("PAGERO_COMPANY_OTHERS", "Acme Services GmbH=DE987654321 ATU1234567; Other Ltd=; Third Co")
    assert load_config(path).companies == (
        Company("Acme GmbH", ("DE123456789", "ATU12345678")),
        Company("Acme Services GmbH", ("DE987654321", "ATU1234567")),
        Company("Other Ltd"),
        Company("Third Co"),
    )


def test_a_wrong_environment_value_names_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERO_COMPANY_NAME", "Acme GmbH")
    monkeypatch.setenv("PAGERO_COMPANY_OTHERS", "Acme Services GmbH=DE9")
    with pytest.raises(ConfigError) as caught:
        load_config(None)
    assert str(caught.value) == ("company.others: 'DE9' (Acme Services GmbH) is not a VAT id (two letters, "
                                 "then 2 to 13 letters or digits, at least one a digit)")


def test_others_text_one_company_a_line_the_last_separator_ends_the_name() -> None:
    text = "Acme Services GmbH; DE987654321 ATU12345678\n\n  Acme; Sons Ltd;  \nAcme Holding\r\n"
    assert parse_companies(text.replace("\r\n", "\n")) == (
        {"name": "Acme Services GmbH", "vat_ids": " DE987654321 ATU12345678"},
        {"name": "  Acme; Sons Ltd", "vat_ids": "  "},
        {"name": "Acme Holding", "vat_ids": ""},
    )
    config = load_config(None, {"company.name": "Acme GmbH", "company.others": parse_companies(text)})
    assert config.company.others == (Company("Acme Services GmbH", ("DE987654321", "ATU12345678")),
                                     Company("Acme; Sons Ltd"), Company("Acme Holding"))
    # ... and back to the same text, which reads as the same companies.
    shown = format_companies(config.company.others)
    assert shown == "Acme Services GmbH; DE987654321 ATU12345678\nAcme; Sons Ltd;\nAcme Holding;"
    again = load_config(None, {"company.name": "Acme GmbH", "company.others": parse_companies(shown)})
    assert again.company.others == config.company.others


# -- refusing ---------------------------------------------------------------------------------

DIGITS = "is not a VAT id (two letters, then 2 to 13 letters or digits, at least one a digit)"


@pytest.mark.parametrize(("text", "message"), [
    ("company:\n  name: Acme\n  vat_ids: [DE1]\n", f"company.vat_ids: 'DE1' {DIGITS}"),
    ("company:\n  name: Acme\n  vat_ids: 'DE123456789, 12345678'\n", f"company.vat_ids: '12345678' {DIGITS}"),
    ("company:\n  name: Acme\n  vat_ids: [ACME]\n", f"company.vat_ids: 'ACME' {DIGITS}"),
    ("company:\n  name: Acme\n  vat_ids: [DE12345678901234]\n", f"company.vat_ids: 'DE12345678901234' {DIGITS}"),
    ("company:\n  name: Acme\n  vat_ids: [123456789]\n", f"company.vat_ids: 123456789 {DIGITS}"),
    ("company:\n  name: Acme\n  vat_ids: {DE: 123456789}\n",
     "company.vat_ids: expected a list of VAT ids, got dict {'DE': 123456789}"),
    ("company:\n  name: Acme\n  vat_ids: [DE123456789, de 123 456 789]\n",
     "company.vat_ids: DE123456789 is given twice"),
    ("company:\n  vat_ids: [DE123456789]\n", "company.vat_ids: set company.name too"),
    ("company:\n  others: [{name: B}]\n", "company.others: set company.name too"),
    ("company:\n  name: 5\n", "company.name: expected str, got int 5"),
    (f"company:\n  name: {'A' * 201}\n", "company.name: the name is longer than 200 characters"),
    ('company:\n  name: "Acme\\u0007 GmbH"\n', "company.name: the name 'Acme\\x07 GmbH' contains a control character"),
    ('company:\n  name: "Acme\\nGmbH"\n', "company.name: the name 'Acme\\nGmbH' contains a control character"),
    ("company:\n  name: Acme\n  others: {name: B}\n",
     "company.others: expected a list of companies ({name: ..., vat_ids: [...]}), got dict {'name': 'B'}"),
    ("company:\n  name: Acme\n  others: [B GmbH]\n",
     "company.others: entry 1 is not a company ({name: ..., vat_ids: [...]})"),
    ("company:\n  name: Acme\n  others: [{name: B}, {vat_ids: [DE123456789]}]\n",
     "company.others: entry 2 has no name"),
    ("company:\n  name: Acme\n  others: [{name: '  '}]\n", "company.others: entry 1 has no name"),
    ("company:\n  name: Acme\n  others: [{name: B, vat: DE123456789}]\n",
     "company.others: entry 1 has the unknown key 'vat' (only name and vat_ids)"),
    (f"company:\n  name: Acme\n  others: [{{name: {'B' * 201}}}]\n",
     "company.others: the name of entry 1 is longer than 200 characters"),
    ("company:\n  name: Acme\n  others: [{name: B, vat_ids: [XX]}]\n", f"company.others: 'XX' (B) {DIGITS}"),
    ("company:\n  name: Acme GmbH\n  others: [{name: ' acme  gmbh '}]\n",
     "company.others: the company 'acme  gmbh' is given twice"),
    ("company:\n  name: Acme\n  others: [{name: B}, {name: b}]\n", "company.others: the company 'b' is given twice"),
    ("company:\n  name: Acme\n  vat_ids: [DE123456789]\n  others: [{name: B, vat_ids: [DE123456789]}]\n",
     "company.others: DE123456789 is given twice (Acme and B)"),
    ("company:\n  name: Acme\n  others: [{name: B, vat_ids: [ATU12345678]}, {name: C, vat_ids: [atu12345678]}]\n",
     "company.others: ATU12345678 is given twice (B and C)"),
    ("company:\n  name: Acme\n  branch: Vienna\n", "company.branch: unknown setting"),
])
def test_each_wrong_company_key_is_one_message_naming_it(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert str(caught.value) == message


def test_serve_stops_on_a_wrong_vat_id_with_that_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("company:\n  name: Acme\n  vat_ids: [DE1]\n")
    result = subprocess.run(
        [sys.executable, "-m", "connect_core.cli", "serve", "--config", str(config), "--data-dir",
         str(tmp_path / "data"), "--listen", "127.0.0.1:9"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"pagero-connect: company.vat_ids: 'DE1' {DIGITS}"]


# -- saving ---------------------------------------------------------------------------------

FILE = """\
# the office's settings
printer:
  name: Office Printer
sending:
  mode: automatic
"""


def _config(tmp_path: Path, text: str = FILE) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, {"storage.data_dir": str(tmp_path / "data")})


def test_saving_writes_only_the_company_keys_and_reads_back_equal(tmp_path: Path) -> None:
    config = _config(tmp_path)
    before = yaml.safe_load(config.source.read_text()) if config.source else {}
    saved, changed = save_settings(config, {
        "sending.mode": "automatic",  # as in force: not written again
        "company.name": "Acme GmbH",
        "company.vat_ids": "DE 123 456 789, atu12345678",
        "company.others": "Acme Services GmbH; DE987654321\nOther Ltd",
    })
    assert changed == ["company.name", "company.others", "company.vat_ids"]
    assert config.source is not None
    written = yaml.safe_load(config.source.read_text())
    assert written == {**before, "company": {
        "name": "Acme GmbH", "vat_ids": ["DE123456789", "ATU12345678"],
        "others": [{"name": "Acme Services GmbH", "vat_ids": ["DE987654321"]}, {"name": "Other Ltd"}]}}
    expected = (Company("Acme GmbH", ("DE123456789", "ATU12345678")),
                Company("Acme Services GmbH", ("DE987654321",)), Company("Other Ltd"))
    assert saved.companies == expected
    reread = load_config(config.source, {"storage.data_dir": str(tmp_path / "data")})
    assert reread.companies == expected and reread == saved

    # The same values again, as the page shows them: nothing changes and nothing is written.
    mtime = config.source.stat().st_mtime_ns
    form = company_form(saved)
    assert form == {"company_name": "Acme GmbH", "company_vat_ids": "DE123456789, ATU12345678",
                    "company_others": "Acme Services GmbH; DE987654321\nOther Ltd;"}
    again, unchanged = save_settings(saved, {"company.name": form["company_name"],
                                             "company.vat_ids": form["company_vat_ids"],
                                             "company.others": form["company_others"]})
    assert unchanged == [] and again is saved and config.source.stat().st_mtime_ns == mtime

    # One changed key: only that one is written.
    _, one = save_settings(saved, {"company.name": "Acme GmbH", "company.vat_ids": "DE123456789"})
    assert one == ["company.vat_ids"]
    assert yaml.safe_load(config.source.read_text())["company"]["vat_ids"] == ["DE123456789"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"company.vat_ids": "DE1"}, f"company.vat_ids: 'DE1' {DIGITS}"),
    ({"company.vat_ids": "DE123456789"}, "company.vat_ids: set company.name too"),
    ({"company.name": "Acme", "company.others": "Acme; DE123456789"},
     "company.others: the company 'Acme' is given twice"),
    ({"company.name": "Acme", "company.others": "; DE123456789"}, "company.others: entry 1 has no name"),
    ({"company.name": "Acme\nGmbH"}, "company.name: too long or several lines"),
    ({"company.name": "A" * 201}, "company.name: the name is longer than 200 characters"),
    ({"company.name": "Acme", "company.others": "B\n" * 10001}, "company.others: too long"),
])
def test_a_wrong_value_writes_nothing_and_says_which_key(tmp_path: Path, changes: dict[str, Any],
                                                         message: str) -> None:
    config = _config(tmp_path)
    assert config.source is not None
    with pytest.raises(ConfigError) as caught:
        save_settings(config, {"sending.mode": "manual", **changes})
    assert str(caught.value) == message
    assert config.source.read_text() == FILE


# -- the Settings page -----------------------------------------------------------------------


@dataclass
class Page:
    status: int
    text: str

    def field(self, name: str) -> str:
        """The value shown in the form's input or textarea ``name`` (unescaped)."""
        found = (re.search(rf'<input name="{name}" value="([^"]*)"', self.text)
                 or re.search(rf'<textarea name="{name}"[^>]*>([^<]*)</textarea>', self.text))
        assert found is not None, name
        return html.unescape(found.group(1))

    def problem(self) -> str:
        found = re.search(r'data-test="problem">([^<]*)</p>', self.text)
        return html.unescape(found.group(1)) if found else ""


def _request(app: Starlette, method: str, path: str, session: tuple[str, str], form: dict[str, str] | None = None,
             ) -> Page:
    """One request to the app in-process, as a browser sends it (cookie, url-encoded form, its own Origin)."""
    headers = [(b"host", b"testserver"), (b"cookie", f"{SESSION_COOKIE}={session[0]}".encode())]
    body = b""
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers += [(b"content-type", b"application/x-www-form-urlencoded"), (b"origin", b"http://testserver")]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 40000), "server": ("testserver", 80)}
    sent: list[MutableMapping[str, Any]] = []

    async def exchange() -> None:
        delivered = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await asyncio.wait_for(app(scope, receive, send), timeout=60)

    run(exchange())
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return Page(status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode())


@dataclass
class Served:
    app: Starlette
    session: tuple[str, str]
    file: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = _config(tmp_path)
    assert config.source is not None
    config.data_dir.mkdir()
    db = open_database(None, config.data_dir)
    session = start_session(db, add_user(db, "ada", "correct horse battery", role="admin"))
    yield Served(create_app(config, db, Spool(config.data_dir / "spool"), "Pagero Printer"), session, config.source)
    db.dispose()


def _form(served: Served, **company: str) -> dict[str, str]:
    """What the browser posts from the Settings form: the account as shown, the company fields as given."""
    return {"csrf": served.session[1], "sending_mode": "automatic", "url": "https://api.pageroonline.com",
            "username": "", "password": "", "company_id": "", "environment": "Production", **company}


def test_the_settings_page_saves_the_companies_and_shows_them_again(served: Served) -> None:
    empty = _request(served.app, "GET", "/settings", served.session)
    assert empty.status == 200
    assert [empty.field(f) for f in ("company_name", "company_vat_ids", "company_others")] == ["", "", ""]

    saved = _request(served.app, "POST", "/settings", served.session, _form(
        served, company_name="Acme <GmbH> & \"Co\"", company_vat_ids="DE 123 456 789 ATU12345678",
        company_others="Acme Services GmbH; DE987654321\r\n<b>Other</b> Ltd\r\n"))
    assert saved.status == 200, saved.text
    assert "Saved: company name, further companies, VAT ids. In force now." in saved.text
    assert "<b>Other" not in saved.text and "Acme <GmbH>" not in saved.text  # escaped
    assert saved.field("company_name") == 'Acme <GmbH> & "Co"'
    assert saved.field("company_vat_ids") == "DE123456789, ATU12345678"
    assert saved.field("company_others") == "Acme Services GmbH; DE987654321\n<b>Other</b> Ltd;"
    written = yaml.safe_load(served.file.read_text())
    assert written["company"] == {"name": 'Acme <GmbH> & "Co"', "vat_ids": ["DE123456789", "ATU12345678"],
                                  "others": [{"name": "Acme Services GmbH", "vat_ids": ["DE987654321"]},
                                             {"name": "<b>Other</b> Ltd"}]}
    assert written["printer"] == {"name": "Office Printer"} and written["sending"] == {"mode": "automatic"}

    # Posting the form back as shown changes nothing.
    again = _request(served.app, "POST", "/settings", served.session, _form(
        served, company_name=saved.field("company_name"), company_vat_ids=saved.field("company_vat_ids"),
        company_others=saved.field("company_others")))
    assert again.status == 200 and "Nothing changed." in again.text


def test_a_wrong_company_value_reshows_the_form_as_typed_and_writes_nothing(served: Served) -> None:
    before = served.file.read_text()
    refused = _request(served.app, "POST", "/settings", served.session, _form(
        served, company_name="Acme GmbH", company_vat_ids="DE123456789",
        company_others="Acme Services GmbH; DE987654321\nOther Ltd; DE1"))
    assert refused.status == 400
    assert refused.problem() == f"company.others: 'DE1' (Other Ltd) {DIGITS}"
    assert refused.field("company_name") == "Acme GmbH"
    assert refused.field("company_others") == "Acme Services GmbH; DE987654321\nOther Ltd; DE1"
    assert served.file.read_text() == before
    shown = _request(served.app, "GET", "/settings", served.session)
    assert shown.field("company_name") == "" and shown.field("company_others") == ""


def test_the_company_form_needs_the_csrf_token(served: Served) -> None:
    before = served.file.read_text()
    form = {**_form(served, company_name="Evil Corp"), "csrf": "forged"}
    refused = _request(served.app, "POST", "/settings", served.session, form)
    assert refused.status == 403
    assert served.file.read_text() == before
