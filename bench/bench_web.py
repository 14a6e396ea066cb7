"""Status page speed (issue 8): the first page of *Sent invoices* with 100,000 invoices in the store.

A real ``pagero-connect serve`` process answers over loopback as a logged-in admin (and a
clerk); the server's own time comes from its ``Server-Timing`` header, the whole round
trip is measured too.  The peer is the same page read with a raw ``sqlite3`` query on the
same file.  Prints a Markdown section.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from tests.support.harness import Server  # noqa: E402

INVOICES = int(os.environ.get("BENCH_INVOICES", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))
PASSWORD = "bench password 1"
SENT = ("queued", "uploading", "sent", "delivered", "fetched", "accepted", "rejected", "cancelled")
STATES = ["delivered"] * 6 + ["fetched", "sent", "accepted", "rejected", "ready", "needs-attention"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fill(data_dir: Path) -> None:
    """100,000 invoices with fields, most of them sent, printed by five people."""
    from connect_core.accounts.users import add_user
    from connect_core.store import open_database

    db = open_database(None, data_dir)
    add_user(db, "admin", PASSWORD, role="admin")
    add_user(db, "clerk1", PASSWORD, role="clerk")
    db.dispose()
    rng = random.Random(8)
    start = dt.datetime(2024, 1, 1)
    with sqlite3.connect(data_dir / "connect.db") as conn:
        conn.executemany(
            "INSERT INTO print_jobs (id, uuid, name, user_name, origin_host, document_format, state, state_reasons,"
            " state_message, size_bytes, documents, impressions, attributes, door, source_name, created_at)"
            " VALUES (?, ?, 'Invoice', ?, '', 'application/pdf', 9, '', '', 1000, 1, 1, '{}', 'ipp', '', ?)",
            [(n, str(uuid.uuid4()), f"clerk{n % 5}", (start + dt.timedelta(minutes=5 * n)).isoformat(" "))
             for n in range(1, INVOICES + 1)],
        )
        rows = []
        for n in range(1, INVOICES + 1):
            at = start + dt.timedelta(minutes=5 * n)
            issued = at.date()
            rows.append((n, str(uuid.uuid4()), n, f"clerk{n % 5}", STATES[n % len(STATES)], str(uuid.uuid4()),
                         f"{n:064x}", f"RE-{n:07d}", issued.isoformat(), (issued + dt.timedelta(days=30)).isoformat(),
                         "EUR", round(rng.uniform(10, 20000), 2), "Pagero Bench AB", f"Customer {n % 997} GmbH",
                         at.isoformat(" "), at.isoformat(" ")))
        conn.executemany(
            "INSERT INTO invoices (id, uuid, job_id, owner, state, reason, document_uuid, first_page, last_page, pages,"
            " has_text, source_format, sha256, size_bytes, invoice_number, issue_date, due_date, currency, total,"
            " seller, buyer, fields, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, '', ?, 1, 1, 1, 1, 'application/pdf', ?, 1000, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
            rows,
        )


def login(url: str, name: str) -> requests.Session:
    session = requests.Session()
    token = re.search(r'name="csrf" value="([^"]+)"', session.get(f"{url}/login", timeout=30).text)
    assert token is not None
    answer = session.post(f"{url}/login", data={"username": name, "password": PASSWORD, "csrf": token.group(1)},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text
    return session


def measure(get: Callable[[], requests.Response]) -> tuple[list[float], list[float]]:
    """Server time (Server-Timing) and round trip of ROUNDS requests, in seconds."""
    server, trip = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        answer = get()
        trip.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.status_code
        server.append(float(answer.headers["server-timing"].split("dur=")[1]) / 1000)
    return server, trip


def raw_page(path: Path, where: str, args: tuple[object, ...], *, per_state: bool) -> list[float]:
    """The same page as one hand-written query: per state down the (state, id) index and merged (what the
    product does for an admin), or one walk down the (owner, id) index for a clerk."""
    if per_state:
        parts = " UNION ALL ".join(
            f"SELECT id FROM (SELECT id FROM invoices WHERE state = ? {where} ORDER BY id DESC LIMIT 51)" for _ in SENT)
        sql = (f"SELECT * FROM invoices WHERE id IN (SELECT id FROM ({parts}) ORDER BY id DESC LIMIT 51)"
               " ORDER BY id DESC")
        params: tuple[object, ...] = tuple(value for state in SENT for value in (state, *args))
    else:
        marks = ",".join("?" * len(SENT))
        sql = f"SELECT * FROM invoices WHERE state IN ({marks}) {where} ORDER BY id DESC LIMIT 51"
        params = (*SENT, *args)
    times = []
    with sqlite3.connect(path) as conn:
        for _ in range(ROUNDS):
            start = time.perf_counter()
            rows = conn.execute(sql, params).fetchall()
            times.append(time.perf_counter() - start)
            assert rows
    return times


def ms(values: list[float]) -> str:
    return f"{pct(values, 0.5) * 1000:.1f} / {pct(values, 0.95) * 1000:.1f}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pagero-bench-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        data_dir.mkdir()
        fill(data_dir)
        server = Server(data_dir).start()
        try:
            admin = login(server.url, "admin")
            clerk = login(server.url, "clerk1")
            cases = [
                ("Sent invoices, first page (HTML, admin)", admin, "/outbound/sent", "", (), True),
                ("Sent invoices, first page (JSON API, admin)", admin, "/api/invoices?view=sent", "", (), True),
                ("Sent invoices, first page (HTML, clerk: own invoices)", clerk, "/outbound/sent",
                 "AND owner IN (?)", ("clerk1",), True),
                ("Sent invoices filtered by invoice number (HTML, admin)", admin, "/outbound/sent?number=RE-00999",
                 "AND lower(invoice_number) LIKE ?", ("%re-00999%",), True),
            ]
            results = []
            for label, session, path, where, args, per_state in cases:
                session.get(server.url + path, timeout=30)  # warm up
                server_times, trips = measure(lambda s=session, p=path: s.get(server.url + p, timeout=30))
                raw = raw_page(data_dir / "connect.db", where, args, per_state=per_state)
                results.append((label, server_times, trips, raw))
        finally:
            server.stop()
    lines = [
        "## Status page",
        "",
        f"First page of *Sent invoices* (50 rows) with {INVOICES:,} invoices in the store, {ROUNDS} requests each "
        "to a real `pagero-connect serve` over loopback, logged in; server time from the `Server-Timing` header "
        "(session check, query, header counts, rendering). Peer: the same page as one raw `sqlite3` query "
        "(the same plan: one walk down the state index per state, merged).",
        "",
        "| page | server p50 / p95 (ms) | round trip p50 / p95 (ms) | raw sqlite3 p50 / p95 (ms) | ratio p50 / p95 |",
        "|---|---|---|---|---|",
    ]
    for label, server_times, trips, raw in results:
        ratio = f"{pct(server_times, 0.5) / pct(raw, 0.5):.0f}× / {pct(server_times, 0.95) / pct(raw, 0.95):.0f}×"
        lines.append(f"| {label} | {ms(server_times)} | {ms(trips)} | {ms(raw)} | {ratio} |")
    lines.append("")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
