"""Intake and listing speed (issue 5): 1,000 one-page invoices end to end; ``list`` over 100,000.

Peers in the same run: for intake, the bare cost of making the same bytes durable
(write + fsync + rename + fsync folder, no IPP, no database); for listing, the same
page of 50 read with a raw ``sqlite3`` query.  Prints a Markdown section.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.documents import invoice_pdf  # noqa: E402
from tests.support.harness import Server  # noqa: E402
from tests.support.ippclient import Client  # noqa: E402

INVOICES = int(os.environ.get("BENCH_INVOICES", "1000"))
LISTED = int(os.environ.get("BENCH_LISTED", "100000"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_page_invoice(folder: Path, n: int) -> bytes:
    return invoice_pdf(folder / f"invoice-{n}.pdf", f"RE-2026-{n:06d}", f"{100 + n},50").read_bytes()


def bare_durable_write(folder: Path, data: bytes) -> float:
    start = time.perf_counter()
    tmp = folder / f"{uuid.uuid4()}.part"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    os.rename(tmp, folder / tmp.stem)
    dir_fd = os.open(folder, os.O_RDONLY)
    os.fsync(dir_fd)
    os.close(dir_fd)
    return time.perf_counter() - start


def bench_intake(root: Path) -> list[str]:
    (root / "docs").mkdir()
    documents = [one_page_invoice(root / "docs", n) for n in range(INVOICES)]
    server = Server(root / "data").start()
    accept: list[float] = []
    try:
        def send(batch: list[bytes]) -> list[float]:
            client = Client(server.uri)
            times = []
            for doc in batch:
                start = time.perf_counter()
                assert client.print_job(doc).code == 0
                times.append(time.perf_counter() - start)
            return times

        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            for times in pool.map(send, [documents[i::4] for i in range(4)]):
                accept.extend(times)
        accepted = time.perf_counter() - started
        db = server.data_dir / "connect.db"
        while True:
            with sqlite3.connect(db) as conn:
                done = conn.execute("SELECT count(*) FROM invoices").fetchone()[0]
            if done >= INVOICES:
                break
            time.sleep(0.2)
        finished = time.perf_counter() - started
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT created_at, completed_at FROM print_jobs").fetchall()
            states = dict(conn.execute("SELECT state, count(*) FROM invoices GROUP BY state").fetchall())
        latency = [(dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a)).total_seconds() for a, b in rows]
    finally:
        server.stop()
    bare_dir = root / "bare"
    bare_dir.mkdir()
    bare = [bare_durable_write(bare_dir, doc) for doc in documents]
    p50_accept, p95_accept = pct(accept, 0.5), pct(accept, 0.95)
    return [
        f"### Intake of {INVOICES} one-page invoices (4 IPP clients, automatic conversion and checks)",
        "",
        "| metric | Pagero Connect | bare durable write | ratio |",
        "|---|---|---|---|",
        f"| IPP answer p50 (ms) | {p50_accept * 1000:.1f} | {pct(bare, 0.5) * 1000:.1f} | "
        f"{p50_accept / pct(bare, 0.5):.1f} |",
        f"| IPP answer p95 (ms) | {p95_accept * 1000:.1f} | {pct(bare, 0.95) * 1000:.1f} | "
        f"{p95_accept / pct(bare, 0.95):.1f} |",
        f"| accepted per second | {INVOICES / accepted:.0f} | {len(bare) / sum(bare):.0f} | "
        f"{(INVOICES / accepted) / (len(bare) / sum(bare)):.2f} |",
        f"| invoices per second, end to end | {INVOICES / finished:.1f} | – | – |",
        f"| per invoice, stored → checked, p50 / p95 (s) | {pct(latency, 0.5):.2f} / "
        f"{pct(latency, 0.95):.2f} | – | – |",
        "",
        f"Final states: {states}.",
        "",
    ]


def bench_list(root: Path) -> list[str]:
    from connect_core.invoices.service import list_invoices
    from connect_core.store import open_database

    data_dir = root / "listing"
    data_dir.mkdir()
    db = open_database(None, data_dir)
    now = dt.datetime(2026, 11, 1)
    states = ["ready", "queued", "possible-duplicate", "needs-attention", "deleted"]
    with sqlite3.connect(data_dir / "connect.db") as conn:
        conn.executemany(
            "INSERT INTO print_jobs (id, uuid, name, user_name, origin_host, document_format, state, state_reasons,"
            " state_message, size_bytes, documents, impressions, attributes, door, source_name, created_at)"
            " VALUES (?, ?, 'job', 'clerk', '', 'application/pdf', 9, '', '', 1000, 1, 1, '{}', 'ipp', '', ?)",
            [(n, str(uuid.uuid4()), now.isoformat(" ")) for n in range(1, LISTED + 1)],
        )
        conn.executemany(
            "INSERT INTO invoices (id, uuid, job_id, owner, state, reason, document_uuid, first_page, last_page, pages,"
            " has_text, source_format, sha256, size_bytes, invoice_number, fields, created_at, updated_at)"
            " VALUES (?, ?, ?, 'clerk', ?, '', ?, 1, 1, 1, 1, 'application/pdf', ?, 1000, ?, '{}', ?, ?)",
            [(n, str(uuid.uuid4()), n, states[n % len(states)], str(uuid.uuid4()), f"{n:064x}", f"RE-{n:07d}",
              (now + dt.timedelta(seconds=n)).isoformat(" "), (now + dt.timedelta(seconds=n)).isoformat(" "))
             for n in range(1, LISTED + 1)],
        )
    rng = random.Random(7)
    ours: list[float] = []
    raw: list[float] = []
    filtered: list[float] = []
    with sqlite3.connect(data_dir / "connect.db") as conn:
        for _ in range(300):
            before = rng.randint(51, LISTED)
            start = time.perf_counter()
            page = list_invoices(db, limit=50, before_id=before)
            ours.append(time.perf_counter() - start)
            assert len(page) == 50
            start = time.perf_counter()
            conn.execute("SELECT * FROM invoices WHERE id < ? ORDER BY id DESC LIMIT 50", (before,)).fetchall()
            raw.append(time.perf_counter() - start)
            start = time.perf_counter()
            list_invoices(db, state="possible-duplicate", limit=50, before_id=before)
            filtered.append(time.perf_counter() - start)
    db.dispose()
    return [
        f"### `list` over {LISTED:,} stored invoices (page of 50, keyset pagination, 300 random pages)",
        "",
        "| query | Pagero Connect p50 / p95 (ms) | raw sqlite3 p50 / p95 (ms) | ratio p95 |",
        "|---|---|---|---|",
        f"| newest first | {pct(ours, 0.5) * 1000:.2f} / {pct(ours, 0.95) * 1000:.2f} | "
        f"{pct(raw, 0.5) * 1000:.2f} / {pct(raw, 0.95) * 1000:.2f} | {pct(ours, 0.95) / pct(raw, 0.95):.1f} |",
        f"| one state (`--state possible-duplicate`) | {pct(filtered, 0.5) * 1000:.2f} / "
        f"{pct(filtered, 0.95) * 1000:.2f} | – | – |",
        "",
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pagero-bench-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        lines = ["## Core: intake and listing", ""]
        lines += bench_intake(root)
        lines += bench_list(root)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
