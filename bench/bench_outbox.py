"""Draining the outbox (issue 7): 10,000 queued one-page invoices uploaded to the emulator on loopback.

Measured with 1 and 4 upload workers, each attempt durable (state committed before and
after every upload, look-ups when needed); the peer in the same run is a bare loop of
the same uploads with ``requests`` and no bookkeeping at all.  Prints Markdown.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from connect_core.intake.spool import Spool  # noqa: E402
from connect_core.online.client import Account, OnlineClient  # noqa: E402
from connect_core.online.outbox import Outbox, SendingPolicy  # noqa: E402
from connect_core.store import open_database  # noqa: E402
from tests.support.documents import invoice_pdf  # noqa: E402
from tests.support.emulator import Emulator  # noqa: E402

COUNT = int(os.environ.get("BENCH_OUTBOX", "10000"))


def queued_store(root: Path, pdf: Path, count: int) -> tuple[object, Spool]:
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    db = open_database(None, data_dir)
    spool = Spool(data_dir / "spool")
    doc = str(uuid.uuid4())
    spool.job_dir(doc).mkdir()
    shutil.copy(pdf, spool.job_dir(doc) / "document.pdf")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(data_dir / "connect.db") as conn:
        conn.execute(
            "INSERT INTO print_jobs (id, uuid, name, user_name, origin_host, document_format, state, state_reasons,"
            " state_message, size_bytes, documents, impressions, attributes, door, source_name, created_at)"
            " VALUES (1, ?, 'bench', 'bench', '', 'application/pdf', 9, '', '', 1, 1, 1, '{}', 'import', '', ?)",
            (str(uuid.uuid4()), now))
        conn.executemany(
            "INSERT INTO invoices (uuid, job_id, owner, state, reason, document_uuid, first_page, pages, has_text,"
            " source_format, sha256, size_bytes, fields, pdf_name, environment, attempts, outcome_unknown,"
            " send_generation, last_error, created_at, updated_at)"
            " VALUES (?, 1, 'bench', 'queued', '', ?, 1, 1, 1, 'application/pdf', ?, 1, '{}', 'document.pdf',"
            " 'Production', 0, 0, 0, '', ?, ?)",
            [(str(uuid.uuid4()), doc, f"{n:064x}", now, now) for n in range(count)])
    return db, spool


def drain(root: Path, emulator: Emulator, pdf: Path, workers: int) -> float:
    db, spool = queued_store(root / f"w{workers}", pdf, COUNT)
    client = OnlineClient(Account(url=emulator.url, username="demo", password="demo", company_id="demo"))
    outbox = Outbox(db, spool, client, policy=SendingPolicy(poll_interval=3600, idle_wait=0.05),  # type: ignore[arg-type]
                    workers=workers)
    start = time.perf_counter()
    outbox.start()
    data = root / f"w{workers}" / "data" / "connect.db"
    while True:
        with sqlite3.connect(data) as conn:
            left = conn.execute("SELECT count(*) FROM invoices WHERE state != 'sent'").fetchone()[0]
        if left == 0:
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    outbox.stop()
    db.dispose()  # type: ignore[attr-defined]
    return COUNT / elapsed


def bare(emulator: Emulator, pdf: Path, count: int) -> float:
    session = requests.Session()
    token = session.post(emulator.url + "/oauth/v2/oauth-token",
                         data={"grant_type": "password", "username": "demo", "password": "demo"}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    payload = pdf.read_bytes()
    start = time.perf_counter()
    for n in range(count):
        response = session.post(emulator.url + "/file/v1/files", headers=headers,
                                files={"payload": ("a.pdf", payload, "application/pdf")},
                                data={"documentType": "Invoice", "sendMode": "Production",
                                      "sendingCompanyId": "demo", "senderReference": f"bare-{n}"})
        assert response.status_code == 201
    return count / (time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pagero-bench-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        pdf = invoice_pdf(root / "invoice.pdf", "BENCH-1")
        emulator = Emulator(root / "emulator").start()
        try:
            peer = bare(emulator, pdf, min(COUNT, 2000))
            one = drain(root, emulator, pdf, 1)
            four = drain(root, emulator, pdf, 4)
        finally:
            emulator.stop()
    print("\n".join([
        "## Sending: draining the outbox",
        "",
        f"{COUNT:,} queued one-page invoices uploaded to the Pagero Online emulator on loopback "
        "(each attempt committed before and after the upload).",
        "",
        "| uploader | invoices/s | ratio to bare uploads |",
        "|---|---|---|",
        f"| bare `requests` loop, no bookkeeping (2,000 uploads) | {peer:.0f} | 1.00 |",
        f"| outbox, 1 worker | {one:.0f} | {one / peer:.2f} |",
        f"| outbox, 4 workers | {four:.0f} | {four / peer:.2f} |",
        "",
    ]))


if __name__ == "__main__":
    main()
