"""Correct fields on the status page: a person types what the invoice says, and the product learns its layout.

Invoices drawn in layouts the general reader misses (``tests/support/unread.py``) land in *Needs
attention*.  One correction in the browser sends that invoice on, reads the waiting ones of the same
layout again and reads the next ones as they come.  Values are checked as they are typed and again on
the server; *Settings → Layouts* lists, renames, downloads and deletes what was learned; a clerk
cannot touch another clerk's invoice or delete a layout, and markup typed into a field stays text.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from playwright.sync_api import Browser, Page, expect

from tests.support.cli import cli
from tests.support.emulator import Emulator
from tests.support.harness import Server
from tests.support.unread import UnreadInvoice, series, unread_invoice
from tests.support.web import DESKTOP, add_user, api_login, invoice_ids, login, shot

XSS = "<script>alert(1)</script>"


def _de(amount: Decimal) -> str:
    """An amount as the ``above`` layout prints it (1.234,56)."""
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


@dataclass
class Office:
    server: Server
    folder: Path

    @property
    def url(self) -> str:
        return self.server.url

    def print_invoices(self, layout: str, made: list[UnreadInvoice], user: str) -> list[int]:
        """Print (import) ``made`` drawn in ``layout`` as IPP user ``user``; their invoice ids, in order."""
        before = set(invoice_ids(self.server.data_dir)) if (self.server.data_dir / "connect.db").exists() else set()
        files = [unread_invoice(self.folder / f"{layout}-{inv.number.replace('/', '-')}.pdf", layout, inv)
                 for inv in made]
        cli(self.server.data_dir, "import", *map(str, files), "--user", user, config=self.server.config)
        new = [n for n in invoice_ids(self.server.data_dir) if n not in before]
        assert len(new) == len(made)
        return new


@pytest.fixture
def office(data_root: Path, emulator: Emulator) -> Iterator[Office]:
    """A running product in manual sending mode: admin anna, clerks alice and bob."""
    server = Server(data_root / "data", config=emulator.product_config(data_root / "c.yaml", mode="manual"))
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "anna", admin=True)
    add_user(server.data_dir, "alice")
    add_user(server.data_dir, "bob")
    server.start()
    try:
        yield Office(server, data_root)
    finally:
        server.stop()


@contextmanager
def _signed_in(browser: Browser, office: Office, user: str, *, accept_dialogs: bool = False
               ) -> Iterator[tuple[Page, list[str]]]:
    """A fresh desktop browser context signed in as ``user``; the messages of any dialogs are collected."""
    context = browser.new_context(viewport=DESKTOP)
    dialogs: list[str] = []
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message),
                                          dialog.accept() if accept_dialogs else dialog.dismiss()))
        login(page, office.url, user)
        yield page, dialogs
    finally:
        context.close()


def _invoice(session: requests.Session, base: str, invoice_id: int) -> dict[str, Any]:
    answer = session.get(f"{base}/api/invoices/{invoice_id}", timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _shows(row: dict[str, Any], inv: UnreadInvoice) -> bool:
    """Whether an invoice (API) holds exactly the values printed on ``inv``."""
    return ((row["invoice_number"], row["issue_date"], row["due_date"], row["currency"], row["buyer"])
            == (inv.number, inv.issued.isoformat(), inv.due.isoformat(), inv.currency, inv.buyer)
            and row["total"] is not None and Decimal(row["total"]) == inv.total)


def _fill(page: Page, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.fill(f"#correct input[name={name}]", value)


def _as_printed(inv: UnreadInvoice) -> dict[str, str]:
    """The form's values typed as the ``above`` layout prints them (day-first dates, a decimal comma)."""
    return {"invoice_number": inv.number, "issue_date": inv.issued.strftime("%d.%m.%Y"),
            "due_date": inv.due.strftime("%d.%m.%Y"), "currency": inv.currency, "total": _de(inv.total),
            "buyer": inv.buyer}


def _iso(inv: UnreadInvoice) -> dict[str, str]:
    return {"invoice_number": inv.number, "issue_date": inv.issued.isoformat(), "due_date": inv.due.isoformat(),
            "currency": inv.currency, "total": str(inv.total), "buyer": inv.buyer}


def test_one_correction_in_the_browser_teaches_the_layout(browser: Browser, office: Office) -> None:
    made = series("above", 4)
    first, *waiting = ids = office.print_invoices("above", made[:3], "anna")
    api, _csrf = api_login(office.url, "anna")
    assert [_invoice(api, office.url, n)["state"] for n in ids] == ["needs-attention"] * 3

    with _signed_in(browser, office, "anna") as (page, dialogs):
        page.goto(f"{office.url}/outbound/needs-attention")
        for n in ids:
            row = page.locator(f"#invoice-{n}")
            expect(row.locator("[data-action=correct]")).to_have_text("Correct fields")
            expect(row.locator("[data-action=approve]")).to_have_text("Send as it is")
        expect(page.get_by_text("Approve duplicate")).to_have_count(0)

        # Correct fields opens the form in the invoice's page, the page's text beside the inputs.
        page.locator(f"#invoice-{first} [data-action=correct]").click()
        page.wait_for_url(f"{office.url}/invoices/{first}/correct#correct")
        expect(page.locator("#correct pre[data-test=page-text]")).to_contain_text("Beleg-Kennung")
        expect(page.locator("#correct pre[data-test=page-text]")).to_contain_text(made[0].number)
        expect(page.locator("#correct input[name=learn]")).to_be_checked()
        _fill(page, _as_printed(made[0]))
        expect(page.locator("#correct [data-save]")).to_be_enabled()
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "invoice-correct-desktop", full_page=False)
        page.locator("#correct [data-save]").click()

        page.wait_for_url(re.compile(rf".*/invoices/{first}\?.*"))
        notice = page.locator(".notice.ok[role=status]")
        expect(notice).to_contain_text(f"Invoice {first} corrected")
        expect(notice).to_contain_text("Learned layout '")
        expect(notice).to_contain_text("2 waiting invoices read again")
        expect(page.locator("#invoice-head [data-test=state]")).to_have_text("Ready to send")
        layout = re.search(r"Learned layout '([^']+)'", notice.inner_text())
        assert layout is not None
        name = layout.group(1)
        # The history names the person and the layout.
        history = page.locator("[data-test=history]")
        expect(history.locator("tr", has_text=name).first).to_be_visible()
        expect(history.locator("tr", has_text=name).locator("td[data-label=Who]").first).to_have_text("anna")

        # The two waiting invoices were read through it: ready, with exactly the printed values.
        for n, inv in zip(ids, made, strict=False):
            row = _invoice(api, office.url, n)
            assert row["state"] == "ready" and _shows(row, inv), row
        page.goto(f"{office.url}/outbound/files-to-send")
        for n in ids:
            expect(page.locator(f"#invoice-{n}")).to_be_visible()
        expect(page.locator("[data-test=attention]")).to_contain_text("Nothing needs attention")

        # The next invoice of that layout is read through it as it comes in: ready at once.
        (fourth,) = office.print_invoices("above", made[3:4], "anna")
        row = _invoice(api, office.url, fourth)
        assert row["state"] == "ready" and _shows(row, made[3]), row
        assert {f["source"] for f in row["fields"] if f["name"] in ("invoice_number", "total")} == {
            f"template:{name}"}
        page.goto(f"{office.url}/invoices/{fourth}")
        expect(page.locator("tr[data-field=invoice_number]")).to_contain_text(name)
    assert dialogs == []


def test_a_wrong_value_is_said_as_it_is_typed_and_refused_by_the_server(browser: Browser, office: Office) -> None:
    made = series("above", 2, start=5)
    first, second = office.print_invoices("above", made, "anna")
    api, csrf = api_login(office.url, "anna")
    before = _invoice(api, office.url, first)

    with _signed_in(browser, office, "anna") as (page, _dialogs):
        page.goto(f"{office.url}/invoices/{first}/correct")
        _fill(page, _as_printed(made[0]))
        save = page.locator("#correct [data-save]")
        expect(save).to_be_enabled()

        page.fill("#correct input[name=issue_date]", "31.02.2026")
        expect(page.locator("[data-error-for=issue_date]")).to_contain_text("Not a date")
        expect(save).to_be_disabled()
        page.fill("#correct input[name=issue_date]", made[0].issued.strftime("%Y.%m.%d."))  # as Hungarian pages
        expect(page.locator("[data-error-for=issue_date]")).to_have_text("")
        expect(save).to_be_enabled()
        page.fill("#correct input[name=issue_date]", made[0].issued.isoformat())
        expect(page.locator("[data-error-for=issue_date]")).to_have_text("")
        expect(save).to_be_enabled()
        page.fill("#correct input[name=currency]", "EURO")
        expect(page.locator("[data-error-for=currency]")).to_contain_text("three letters")
        expect(save).to_be_disabled()
        page.fill("#correct input[name=currency]", "EUR")
        page.fill("#correct input[name=total]", "12,3,4")
        expect(page.locator("[data-error-for=total]")).to_contain_text("Not an amount")
        expect(save).to_be_disabled()

        # Posted anyway (the button's disabled attribute removed): the server says so, next to the field.
        save.evaluate("button => button.removeAttribute('disabled')")
        with page.expect_response(f"{office.url}/invoices/{first}/correct") as answer:
            save.click()
        assert answer.value.status == 400
        expect(page.locator("[data-error-for=total]")).to_contain_text("'12,3,4' is not an amount")  # the server's
        expect(page.locator("#correct [data-save]")).to_be_disabled()
        expect(page.locator("#correct input[name=total]")).to_have_value("12,3,4")  # what was typed stays
        expect(page.locator("#correct input[name=buyer]")).to_have_value(made[0].buyer)

    # The API: 400 naming the field.
    refused = api.post(f"{office.url}/api/invoices/{first}/correct", json={"values": {"total": "twelve"}},
                       headers={"X-CSRF-Token": csrf}, timeout=30)
    assert refused.status_code == 400 and refused.json()["field"] == "total", refused.text
    refused = api.post(f"{office.url}/api/invoices/{first}/correct",
                       json={"values": {**_iso(made[0]), "issue_date": "2026-13-45"}},
                       headers={"X-CSRF-Token": csrf}, timeout=30)
    assert refused.status_code == 400 and refused.json()["field"] == "issue_date", refused.text
    # Nothing changed: the same values, the same history, no layout.
    after = _invoice(api, office.url, first)
    assert {k: after[k] for k in ("state", "invoice_number", "issue_date", "total", "buyer")} == {
        k: before[k] for k in ("state", "invoice_number", "issue_date", "total", "buyer")}
    assert len(after["history"]) == len(before["history"])
    assert api.get(f"{office.url}/api/layouts", timeout=30).json()["items"] == []

    # "Learn this layout" unticked: this invoice only.
    with _signed_in(browser, office, "anna") as (page, _dialogs):
        page.goto(f"{office.url}/invoices/{first}/correct")
        _fill(page, _as_printed(made[0]))
        page.uncheck("#correct input[name=learn]")
        page.locator("#correct [data-save]").click()
        page.wait_for_url(re.compile(rf".*/invoices/{first}\?.*"))
        expect(page.locator(".notice.ok[role=status]")).to_contain_text("No layout learned")
    assert _shows(_invoice(api, office.url, first), made[0])
    assert _invoice(api, office.url, second)["state"] == "needs-attention"
    assert api.get(f"{office.url}/api/layouts", timeout=30).json()["items"] == []


def test_settings_lists_renames_downloads_and_deletes_layouts(browser: Browser, office: Office) -> None:
    made = series("unusual", 3)
    ids = office.print_invoices("unusual", made, "bob")
    bob, bob_csrf = api_login(office.url, "bob")
    done = bob.post(f"{office.url}/api/invoices/{ids[0]}/correct", json={"values": _iso(made[0]), "learn": True},
                    headers={"X-CSRF-Token": bob_csrf}, timeout=60)
    assert done.status_code == 200, done.text
    learned = done.json()
    assert learned["state"] == "ready" and learned["layout"] and sorted(learned["reread"]) == ids[1:], learned
    name = learned["layout"]
    anna, _ = api_login(office.url, "anna")
    (listed,) = anna.get(f"{office.url}/api/layouts", timeout=30).json()["items"]
    assert (listed["name"], listed["learned_from"], listed["learned_by"]) == (name, ids[0], "bob"), listed

    with _signed_in(browser, office, "anna", accept_dialogs=True) as (page, _dialogs):
        page.goto(f"{office.url}/settings")
        page.click("[data-test=layouts-link]")
        page.wait_for_url(f"{office.url}/settings/layouts")
        row = page.locator("table[data-test=layouts] tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(name)
        expect(row.locator("[data-test=learned]")).to_contain_text(f"learned from invoice {ids[0]} by bob")
        expect(row.locator("[data-test=reads]")).to_have_text(str(listed["reads"]))
        assert listed["reads"] >= 2
        shot(page, "settings-layouts-desktop", full_page=False)
        row.locator("a", has_text=f"invoice {ids[0]}").click()
        page.wait_for_url(f"{office.url}/invoices/{ids[0]}")
        page.go_back()

        new_name = "Harbour Lane statements"
        row = page.locator("table[data-test=layouts] tbody tr")
        row.locator("input[name=name]").fill(new_name)
        row.locator("[data-action=rename]").click()
        expect(page.locator("[data-test=message]")).to_contain_text(f"is now called '{new_name}'")
        row = page.locator("table[data-test=layouts] tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator("b")).to_have_text(new_name)

        with page.expect_download() as download:
            row.locator("[data-action=download]").click()
        assert re.fullmatch(r"layout-[A-Za-z0-9_.-]+\.yaml", download.value.suggested_filename)
        text = Path(download.value.path()).read_text()
        assert new_name in text and yaml.safe_load(text)["name"] == new_name

        row.locator("[data-action=delete]").click()
        expect(page.locator("[data-test=message]")).to_contain_text(f"Layout '{new_name}' deleted")
        expect(page.locator("table[data-test=layouts]")).to_have_count(0)
        expect(page.locator("[data-test=empty]")).to_contain_text("No layouts yet")
    assert anna.get(f"{office.url}/api/layouts", timeout=30).json()["items"] == []
    for n, inv in zip(ids, made, strict=True):  # what it read stays as it was read
        assert _shows(_invoice(anna, office.url, n), inv)


def test_a_clerk_corrects_only_their_own_and_markup_stays_text(browser: Browser, office: Office) -> None:
    (theirs,) = office.print_invoices("above", series("above", 1, start=8), "bob")
    mine_made = series("above", 1, start=9)
    (mine,) = office.print_invoices("above", mine_made, "alice")
    (admins,) = office.print_invoices("unusual", series("unusual", 1, start=4), "anna")
    anna, anna_csrf = api_login(office.url, "anna")
    taught = anna.post(f"{office.url}/api/invoices/{admins}/correct",
                       json={"values": _iso(series("unusual", 1, start=4)[0])}, headers={"X-CSRF-Token": anna_csrf},
                       timeout=60)
    assert taught.status_code == 200 and taught.json()["layout"], taught.text
    layout = taught.json()["layout"]
    alice, alice_csrf = api_login(office.url, "alice")
    before = _invoice(anna, office.url, theirs)

    # Another clerk's invoice: 404 whichever way, and it stays as it was.
    values = _iso(mine_made[0])
    assert alice.get(f"{office.url}/invoices/{theirs}/correct", timeout=30).status_code == 404
    assert alice.post(f"{office.url}/invoices/{theirs}/correct", data={**values, "csrf": alice_csrf},
                      allow_redirects=False, timeout=30).status_code == 404
    assert alice.post(f"{office.url}/api/invoices/{theirs}/correct", json={"values": values},
                      headers={"X-CSRF-Token": alice_csrf}, timeout=30).status_code == 404
    # A layout: clerks may neither see nor delete one (nor rename it).
    quoted = urllib.parse.quote(layout, safe="")
    assert alice.get(f"{office.url}/settings/layouts", timeout=30).status_code == 403
    assert alice.get(f"{office.url}/layouts/{quoted}.yaml", timeout=30).status_code == 403
    assert alice.delete(f"{office.url}/api/layouts/{quoted}", headers={"X-CSRF-Token": alice_csrf},
                        timeout=30).status_code == 403
    assert alice.post(f"{office.url}/settings/layouts/{quoted}/delete", data={"csrf": alice_csrf},
                      timeout=30).status_code == 403
    assert alice.post(f"{office.url}/api/layouts/{quoted}/rename", json={"name": "Mine now"},
                      headers={"X-CSRF-Token": alice_csrf}, timeout=30).status_code == 403
    assert [item["name"] for item in anna.get(f"{office.url}/api/layouts", timeout=30).json()["items"]] == [layout]
    # Without the CSRF token: refused, page and API alike.
    assert alice.post(f"{office.url}/invoices/{mine}/correct", data=values, allow_redirects=False,
                      timeout=30).status_code == 403
    assert alice.post(f"{office.url}/api/invoices/{mine}/correct", json={"values": values},
                      timeout=30).status_code == 403
    assert alice.post(f"{office.url}/invoices/{mine}/correct", data={**values, "csrf": alice_csrf},
                      headers={"Origin": "http://evil.example"}, allow_redirects=False, timeout=30).status_code == 403
    after = _invoice(anna, office.url, theirs)
    assert (after["state"], after["buyer"], len(after["history"])) == (
        before["state"], before["buyer"], len(before["history"]))
    assert _invoice(anna, office.url, mine)["state"] == "needs-attention"

    # Markup typed into a field is shown as those characters, on the invoice and in the list.
    with _signed_in(browser, office, "alice") as (page, dialogs):
        page.goto(f"{office.url}/invoices/{mine}/correct")
        _fill(page, {**_as_printed(mine_made[0]), "buyer": XSS})
        page.uncheck("#correct input[name=learn]")
        page.locator("#correct [data-save]").click()
        page.wait_for_url(re.compile(rf".*/invoices/{mine}\?.*"))
        expect(page.locator("tr[data-field=buyer] td").first).to_have_text(XSS)
        page.goto(f"{office.url}/search")
        expect(page.locator(f"#invoice-{mine} td[data-label=Counterparty]")).to_have_text(XSS)
        page.wait_for_timeout(300)
    assert dialogs == []
    for path in (f"/invoices/{mine}", "/search"):
        html = alice.get(office.url + path, timeout=30).text
        assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
