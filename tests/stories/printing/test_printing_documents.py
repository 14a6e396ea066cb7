"""Printing real documents through the IPP printer: what arrives is a faithful PDF, or a plain refusal."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from ipp.status import JobState, StatusCode
from tests.support.documents import invoice_pdf
from tests.support.harness import CORPUS, Server
from tests.support.ippclient import Client, job_id
from tests.support.processes import descendants


def finished_jobs(data_dir: Path, count: int, timeout: float = 180.0) -> dict[int, Any]:
    """Wait until ``count`` jobs have ended (a liveness limit); returns their rows by job id."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(data_dir / "connect.db") as conn:
            conn.row_factory = sqlite3.Row
            rows = {row["id"]: row for row in conn.execute(
                "SELECT * FROM print_jobs WHERE state IN (7, 8, 9)").fetchall()}
        if len(rows) >= count:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(rows)} of {count} jobs ended")
        time.sleep(0.3)


def test_every_corpus_pdf_arrives_unchanged(server: Server) -> None:
    client = Client(server.uri)
    sent: dict[int, str] = {}
    pdfs = sorted((CORPUS / "printed").glob("*.pdf"))
    assert len(pdfs) >= 42, "the corpus in tests/data/corpus/printed"
    for pdf in pdfs:
        response = client.print_file(pdf, name=pdf.name)
        assert response.code == StatusCode.SUCCESSFUL_OK
        sent[job_id(response)] = hashlib.sha256(pdf.read_bytes()).hexdigest()
    rows = finished_jobs(server.data_dir, len(pdfs))
    for jid, digest in sent.items():
        assert rows[jid]["state"] == JobState.COMPLETED, rows[jid]["state_message"]
        folder = server.data_dir / "spool" / "jobs" / rows[jid]["document_uuid"]
        assert hashlib.sha256((folder / "document").read_bytes()).hexdigest() == digest
        assert hashlib.sha256((folder / "document.pdf").read_bytes()).hexdigest() == digest


def waiting_ghostscripts(parent: int) -> set[int]:
    """Ghostscript processes started by ``parent`` (through its confinement wrappers)."""
    return {pid for pid, program in descendants(parent).items() if program.endswith("/gs")}


def wait_for(predicate: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout  # liveness only
    while not (result := predicate()):
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.05)
    return result


def test_postscript_with_unicode_fonts_arrives_as_a_pdf_with_its_text(server: Server, tmp_path: Path) -> None:
    source = invoice_pdf(tmp_path / "invoice.pdf", "PS-2026-0815", total="4.711,00")
    postscript = tmp_path / "invoice.ps"
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=ps2write",
                    f"-sOutputFile={postscript}", str(source)], check=True, timeout=60)
    assert server.proc is not None
    # The server checked Ghostscript at start-up and started one ahead of the first PostScript job.
    assert "PostScript:   Ghostscript " in server.log_text()
    waiting = wait_for(lambda: waiting_ghostscripts(server.proc.pid))  # type: ignore[union-attr]
    assert len(waiting) == 1

    response = Client(server.uri).print_file(postscript, fmt="application/postscript")
    assert response.code == StatusCode.SUCCESSFUL_OK
    row = finished_jobs(server.data_dir, 1)[job_id(response)]
    assert row["state"] == JobState.COMPLETED and row["has_text"] == 1
    pdf = server.data_dir / "spool" / "jobs" / row["document_uuid"] / "document.pdf"
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "PS-2026-0815" in text and "4.711,00" in text
    # That Ghostscript took the job and ended with it; a new one waits for the next job.
    after = wait_for(lambda: waiting_ghostscripts(server.proc.pid))  # type: ignore[union-attr]
    assert len(after) == 1 and not after & waiting
    assert not any(Path(f"/proc/{pid}").exists() for pid in waiting)
    server.stop()
    assert not any(Path(f"/proc/{pid}").exists() for pid in after), "a Ghostscript outlived the server"


def test_hostile_postscript_is_refused_and_the_printer_keeps_serving(data_root: Path, tmp_path: Path) -> None:
    config = data_root / "config.yaml"
    config.write_text("limits:\n  convert_seconds: 5\n")
    server = Server(data_root / "data", config=config).start()
    try:
        _hostile_jobs(server, tmp_path)
    finally:
        server.stop()


def _hostile_jobs(server: Server, tmp_path: Path) -> None:
    token = secrets.token_hex(6)
    canary = Path(f"/tmp/pagero-canary-{token}.txt")
    canary.write_text(f"CANARY-{token}")
    other_job = server.data_dir / "spool" / "jobs" / "another-job"
    other_job.mkdir(parents=True)
    (other_job / "document").write_text(f"OTHER-JOB-{token}")
    show = "/Helvetica findfont 10 scalefont setfont 72 700 moveto"
    jobs = {
        "read /tmp": f"%!PS\n{show}\n({canary}) (r) file 200 string readstring pop show showpage\n",
        "read another job": f"%!PS\n{show}\n({other_job}/document) (r) file 200 string readstring pop show showpage\n",
        "read /etc/passwd": f"%!PS\n{show}\n(/etc/passwd) (r) file 200 string readstring pop show showpage\n",
        "pipe": f"%!PS\n(%pipe%touch /tmp/pagero-pwned-{token}) (w) file closefile showpage\n",
        "write": f"%!PS\n/f (/tmp/pagero-pwned-{token}) (w) file def f (x) writestring f closefile showpage\n",
        "switch device": "%!PS\n/txtwrite finddevice setdevice showpage\n",
        "endless loop": "%!PS\n{} loop\n",
    }
    client = Client(server.uri)
    try:
        ids = {}
        for name, program in jobs.items():
            response = client.print_job(program.encode(), name=name, fmt="application/postscript")
            assert response.code == StatusCode.SUCCESSFUL_OK  # accepted, then refused with a reason
            ids[job_id(response)] = name
        # The printer answers while Ghostscript is busy with them.
        assert client.printer_attributes("printer-state")["printer-state"].value in (3, 4)
        rows = finished_jobs(server.data_dir, len(jobs), timeout=400)
        for jid, name in ids.items():
            row = rows[jid]
            assert row["state"] == JobState.ABORTED, f"{name}: {row['state_message']}"
            assert row["state_message"].startswith("Refused: "), name
            folder = server.data_dir / "spool" / "jobs" / row["document_uuid"]
            output = folder / "document.pdf"
            if output.exists():
                data = output.read_bytes()
                assert token.encode() not in data and b"root:x:0:0" not in data, name
        assert not Path(f"/tmp/pagero-pwned-{token}").exists()
        assert client.print_file(invoice_pdf(tmp_path / "ok.pdf", "AFTER-1")).code == StatusCode.SUCCESSFUL_OK
    finally:
        canary.unlink()
    assert "Traceback" not in server.log_text()
