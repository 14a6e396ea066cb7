"""Schemathesis against the running product's /openapi.json, logged in as an admin.

Run inside a fresh network namespace (see test_api_schema.py): fuzzed settings may name
any host as the Pagero Online URL, and the product then tries to reach it; in the
namespace only loopback exists, so no such attempt can leave this machine.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.cli import cli
from tests.support.documents import invoice_pdf
from tests.support.emulator import Emulator
from tests.support.harness import Server
from tests.support.web import add_user, api_login, invoice_ids, set_fields

EXAMPLES = 200  # Hypothesis stops early on small input spaces; the test checks every operation got 100
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def main(root: Path, report: Path) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    emulator = Emulator(root / "emulator").start()
    server = Server(root / "data", config=emulator.product_config(root / "c.yaml", mode="manual"))
    server.data_dir.mkdir(parents=True)
    add_user(server.data_dir, "admin", admin=True)
    add_user(server.data_dir, "clerk")
    pdfs = [invoice_pdf(root / f"{n}.pdf", f"FZ-{n}", total=f"{n}00,00") for n in range(1, 4)]
    cli(server.data_dir, "import", *map(str, pdfs), str(pdfs[0]), "--user", "clerk", config=server.config)
    for invoice_id in invoice_ids(server.data_dir):
        set_fields(server.data_dir, invoice_id, buyer=f"Buyer {invoice_id}", currency="EUR")
    server.start()
    try:
        session, csrf = api_login(server.url, "admin")
        cookie = session.cookies["pagero_session"]
        argv = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
                "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--phases", "examples,coverage,fuzzing",
                "--generation-with-security-parameters", "false", "--generation-database", "none",
                "--suppress-health-check", "all", "--request-timeout", "30", "--seed", "8", "--no-color",
                "--workers", "1", "-H", f"Cookie: pagero_session={cookie}", "-H", f"X-CSRF-Token: {csrf}",
                "--report", "ndjson", "--report-ndjson-path", str(report)]
        result = subprocess.run(argv, cwd=root, timeout=900)
        # The session must have lasted the whole run, or later operations only saw 401s.
        alive = session.get(f"{server.url}/api/session", timeout=30).status_code == 200
        print(f"session still valid after the run: {alive}", flush=True)
        return result.returncode if alive else 3
    finally:
        server.stop()
        emulator.stop()
        print(server.log_text()[-4000:], flush=True)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="pagero-test-", dir="/var/tmp") as folder:
        sys.exit(main(Path(folder), Path(sys.argv[1])))
