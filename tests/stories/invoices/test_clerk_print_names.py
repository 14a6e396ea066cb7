"""A clerk with print names acts on exactly the invoices those names printed, from the CLI and the web.

Cleo prints from two PCs, as ``CLEO-PC`` and as ``cleo``; Ben prints as ``ben``.  Cleo sees,
sends, deletes and resends her own invoices and gets "no such invoice" (404 / exit 2) for
Ben's, whichever door she uses; every action is recorded under her name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cli import cli, invoices
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator, wait_until
from tests.support.harness import Server
from tests.support.web import add_user, api_login, ipp_print

PRINTED_BY = {"RE-CLEO-1": "CLEO-PC", "RE-CLEO-2": "CLEO-PC", "RE-CLEO-3": "cleo", "RE-BEN-1": "ben",
              "RE-BEN-2": "ben"}


def as_cleo(server: Server, config: Path, *args: str) -> Any:
    return cli(server.data_dir, *args, "--as", "cleo", config=config, check=False)


def test_a_clerk_acts_on_exactly_the_invoices_her_print_names_printed(data_root: Path, emulator: Emulator) -> None:
    config = emulator.product_config(data_root / "config.yaml", mode="manual")
    server = Server(data_root / "data", config=config).start()
    try:
        data = server.data_dir
        add_user(data, "anna", admin=True)
        add_user(data, "cleo", print_names=("CLEO-PC", "cleo"))
        add_user(data, "ben")
        for number, user in PRINTED_BY.items():
            pdf = invoice_pdf(data_root / f"{number}.pdf", number, total=f"{len(number)}0,00")
            ipp_print(server.uri, pdf, user=user, job_name=number)

        def all_ready() -> list[dict[str, Any]] | None:
            rows = [row for row in invoices(data) if row["state"] == "ready"]
            return rows if len(rows) == len(PRINTED_BY) else None

        rows = wait_until(all_ready, timeout=120)
        by_number = {row["invoice_number"]: row["id"] for row in rows}
        assert set(by_number) == set(PRINTED_BY)
        cleos = {by_number[n] for n, user in PRINTED_BY.items() if user in ("CLEO-PC", "cleo")}
        bens = {by_number[n] for n, user in PRINTED_BY.items() if user == "ben"}
        cleo_1, cleo_2, cleo_3 = sorted(cleos)
        ben_1, ben_2 = sorted(bens)

        # -- the command line --------------------------------------------------------------------
        listed = json.loads(as_cleo(server, config, "list", "--json").stdout)
        assert {row["id"] for row in listed} == cleos
        for args in (("send", str(ben_1)), ("delete", str(ben_1)), ("resend", str(ben_1), "--yes"),
                     ("show", str(ben_1))):
            refused = as_cleo(server, config, *args)
            assert refused.returncode == 2, (args, refused.stdout)
            assert refused.stderr.splitlines()[-1] == f"pagero-connect: no invoice {ben_1}", args
        mixed = as_cleo(server, config, "send", str(cleo_1), str(ben_2))
        assert mixed.returncode == 2 and f"no invoice {ben_2}" in mixed.stderr
        assert {r["id"]: r["state"] for r in invoices(data)}[cleo_1] == "ready"  # all or nothing
        assert as_cleo(server, config, "send", str(cleo_1)).returncode == 0
        assert as_cleo(server, config, "delete", str(cleo_2)).returncode == 0
        sent = as_cleo(server, config, "send", "--all")  # only hers: cleo_3; Ben's stay ready
        assert sent.returncode == 0 and "Queued 1 invoice" in sent.stdout
        states = {r["id"]: r["state"] for r in invoices(data)}
        assert states[ben_1] == states[ben_2] == "ready" and states[cleo_2] == "deleted"
        wait_until(lambda: {r["id"]: r["state"] for r in invoices(data)}[cleo_1] in ("sent", "delivered", "fetched"),
                   timeout=120)
        assert as_cleo(server, config, "resend", str(cleo_1), "--yes").returncode == 0

        # -- the web (the JSON API behind the pages, with Cleo's session) -----------------------
        web, csrf = api_login(server.url, "cleo")
        headers = {"X-CSRF-Token": csrf}
        listed_web = web.get(server.url + "/api/invoices", params={"view": "all"}, timeout=30).json()["items"]
        assert {row["id"] for row in listed_web} == cleos
        for method, path, body in (("POST", "/api/invoices/send", {"ids": [ben_1], "environment": "Test"}),
                                   ("DELETE", f"/api/invoices/{ben_1}", None),
                                   ("POST", f"/api/invoices/{ben_2}/resend", {"confirm": True}),
                                   ("GET", f"/api/invoices/{ben_2}", None),
                                   ("GET", f"/invoices/{ben_2}/pdf", None)):
            answer = web.request(method, server.url + path, json=body, headers=headers, timeout=30)
            assert answer.status_code == 404, (method, path, answer.text)
        wait_until(lambda: {r["id"]: r["state"] for r in invoices(data)}[cleo_1] in ("sent", "delivered", "fetched"),
                   timeout=120)
        resent = web.post(server.url + f"/api/invoices/{cleo_1}/resend", json={"confirm": True}, headers=headers,
                          timeout=30)
        assert resent.status_code == 200 and resent.json()["state"] == "queued"

        # Ben's invoices were never touched; Cleo's history names her.
        assert {r["id"]: r["state"] for r in invoices(data)}[ben_1] == "ready"
        history = json.loads(cli(data, "show", str(cleo_1), "--json").stdout)["history"]
        assert [e["who"] for e in history if e["what"].startswith("sent by")] == ["cleo"]
        assert [e["who"] for e in history if e["what"].startswith("resent")] == ["cleo", "cleo"]
        deleted = json.loads(cli(data, "show", str(cleo_2), "--json").stdout)["history"]
        assert deleted[-1]["to"] == "deleted" and deleted[-1]["who"] == "cleo"
    finally:
        server.stop()
