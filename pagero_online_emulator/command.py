"""The emulator as a command: ``python -m pagero_online_emulator`` or ``pagero-connect online-emulator``."""

from __future__ import annotations

import argparse
import json
import logging
import threading
from pathlib import Path

from pagero_online_emulator.server import default_inbound, make_server
from pagero_online_emulator.state import Faults, parse_register


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C; returns the exit code."""
    parser = argparse.ArgumentParser(prog="pagero-connect online-emulator",
                                     description="Run a local emulator of the Pagero Online API.")
    parser.add_argument("--listen", default="127.0.0.1:8700")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--inbound", help="folder of UBL/CII e-invoices to serve as received invoices")
    parser.add_argument("--step-seconds", type=float, default=2.0, help="time a sent document spends per state")
    parser.add_argument("--token-seconds", type=int, default=300)
    parser.add_argument("--username", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--company-id", default="demo")
    parser.add_argument("--faults", default="", help='JSON, e.g. {"error_rate": 0.3}')
    parser.add_argument("--manual-attachments", action="store_true",
                        help="turn on manual attachment handling: uploaded files wait for attachments until restarted")
    parser.add_argument("--recipients", metavar="FILE.json",
                        help='recipient register, e.g. {"recipients": [{"match": "DE123456789", '
                             '"distribution": "EPrint"}], "default": "Electronic"}')
    args = parser.parse_args(argv)
    recipients = None
    if args.recipients:
        try:
            recipients = json.loads(Path(args.recipients).read_text(encoding="utf-8"))
            parse_register(recipients)
        except (OSError, ValueError) as error:
            parser.error(f"--recipients {args.recipients}: {error}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, _, port = args.listen.rpartition(":")
    inbound = Path(args.inbound) if args.inbound else default_inbound()
    server = make_server(host.strip("[]") or "127.0.0.1", int(port), Path(args.data_dir), inbound=inbound,
                         step_seconds=args.step_seconds, token_seconds=args.token_seconds,
                         username=args.username, password=args.password, company_id=args.company_id,
                         manual_attachments=True if args.manual_attachments else None, recipients=recipients)
    if args.faults:
        server.state.faults = Faults(**json.loads(args.faults))
    print(f"Pagero Online emulator listening on http://{args.listen}/ (user {args.username}, "
          f"company {args.company_id})", flush=True)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

