"""``python -m ipp``: the printer on its own, keeping jobs in memory (:class:`~ipp.memory.MemorySink`).

For trying IPP clients and running conformance suites without the product.  It serves
IPP at ``/ipp/print`` and answers 404 to everything else; it prints the printer URI
(with the port actually bound, for ``--listen HOST:0``) once clients can connect, and
stops cleanly (exit 0) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import uuid
from collections.abc import Sequence

from ipp.asgi import HttpLimits, IppApp, printer_server
from ipp.attributes import PrinterConfig
from ipp.memory import MemorySink
from ipp.printer import Printer

DEFAULT_LISTEN = "127.0.0.1:8632"
IDLE_TIMEOUT = 30.0


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as a host and a port; raises ValueError otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def uri_host(host: str, port: int) -> str:
    """How clients reach ``host:port`` in a URI: a wildcard address becomes this machine's name."""
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m ipp", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help=f"address to serve on (default {DEFAULT_LISTEN}; port 0 picks a free one)")
    parser.add_argument("--name", default=PrinterConfig.name, help="printer-name (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        host, port = parse_listen(args.listen)
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    sink = MemorySink()
    config = PrinterConfig(name=args.name, uuid=f"urn:uuid:{uuid.uuid4()}", max_job_bytes=sink.max_document_bytes)
    printer = Printer(config, sink)
    # No fallback app: IppApp itself answers 404 to everything that is not IPP at printer.path.
    app = IppApp(printer, None, HttpLimits(idle_timeout=IDLE_TIMEOUT))

    def banner(bound: int) -> str:
        return "\n".join([
            f"{config.name} is running (IPP only; jobs are kept in memory).",
            f"  Printer URI:  ipp://{uri_host(host, bound)}{printer.path}",
        ])

    server = printer_server(app, host, port, IDLE_TIMEOUT, lambda bound: print(banner(bound), flush=True))
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
