"""Record the IPP requests real clients send, as fixtures for ``tests/unit/ipp/test_captures.py``.

Run from the repository root (it rewrites ``tests/data/ipp-captures/``)::

    .venv/bin/python -m tests.support.capture

A tiny HTTP server on 127.0.0.1 (a free port, ``http.server``) stands in for a
printer and for a CUPS scheduler: it records every POST body byte for byte (chunked
or Content-Length) and answers with a small valid IPP response, so each client goes
on to its next request (``job-id`` for Create-Job then Send-Document, a printer
``pagero`` for ``lp``).  It reads only the 8-octet header of a request (struct, not
our codec) to echo version and request-id; the responses are encoded with our codec,
which the clients accepting them also checks.

The clients are real: ``ipptool`` from cups-ipp-utils with the stock test files and a
few written here (a Windows-like IPP/1.0 Get-Printer-Attributes, a Validate-Job with
many value tags), at ``-V 1.0``, ``1.1`` and ``2.0``, chunked and Content-Length; and
CUPS's own ``lpstat`` and ``lp`` pointed at the server with ``-h``.  The document is a
one-page PDF that Ghostscript makes.

Output: ``<scenario>.<n>.ipp`` (the n-th request body of that client run, document
bytes included), ``<scenario>.plist`` (ipptool's ``-X`` report: what the client says
it sent), ``document.pdf`` and ``manifest.json`` (per body: client, command, HTTP
path and headers).  CUPS 2.4.2's ipptool crashes on a hex ``<...>`` octetString, so
the octetString here is a quoted string; its ``-X`` report crashes on a
textWithLanguage value, so that request runs with ``-t`` and has no plist.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ipp.codec import Attribute, Group, GroupTag, Message, Tag, encode
from ipp.status import Operation
from tests.support.harness import DATA

CAPTURES = DATA / "ipp-captures"
USER = "pagero-capture"
PRINTER = "pagero"
JOB_TITLE = "Invoice INV-2026-0042"

WINDOWS_GPA_TEST = """\
# Get-Printer-Attributes as the Windows IPP class driver asks it (no VERSION: -V decides).
{
\tNAME "Windows-style Get-Printer-Attributes"
\tOPERATION Get-Printer-Attributes
\tGROUP operation-attributes-tag
\tATTR charset attributes-charset utf-8
\tATTR language attributes-natural-language en-us
\tATTR uri printer-uri $uri
\tATTR name requesting-user-name $user
\tATTR keyword requested-attributes uri-authentication-supported,document-format-default,\
document-format-preferred,document-format-supported,ipp-versions-supported,media-supported,\
media-type-supported,mopria-certified,printer-dns-sd-name,printer-device-id,printer-uuid
\tSTATUS successful-ok
}
"""

# ipptool -X (its plist report) crashes on a textWithLanguage value, so this one runs with -t.
TEXT_WITH_LANGUAGE_TEST = """\
{
\tNAME "Validate-Job with a textWithLanguage job-name"
\tOPERATION Validate-Job
\tGROUP operation-attributes-tag
\tATTR charset attributes-charset utf-8
\tATTR language attributes-natural-language en
\tATTR uri printer-uri $uri
\tATTR name requesting-user-name $user
\tATTR textWithLanguage job-name "Rechnung"
\tSTATUS successful-ok
}
"""

VALUE_TAGS_TEST = """\
# One Validate-Job carrying most value tags ipptool can write.
{
\tNAME "Validate-Job with many value tags"
\tOPERATION Validate-Job
\tGROUP operation-attributes-tag
\tATTR charset attributes-charset utf-8
\tATTR language attributes-natural-language en
\tATTR uri printer-uri $uri
\tATTR name requesting-user-name $user
\tATTR mimeMediaType document-format application/pdf
\tGROUP job-attributes-tag
\tATTR integer copies 2
\tATTR boolean x-pagero-bool true
\tATTR enum orientation-requested 4
\tATTR octetString job-password "secret"
\tATTR dateTime job-hold-until-time 2026-01-02T03:04:05Z
\tATTR resolution printer-resolution 600dpi
\tATTR rangeOfInteger page-ranges 1-3,5-6
\tATTR uriScheme x-pagero-scheme ipps
\tATTR naturalLanguage x-pagero-language de-de
\tATTR keyword sides two-sided-long-edge
\tATTR no-value media-type
\tATTR unknown x-pagero-unknown
\tATTR collection media-col {
\t\tMEMBER collection media-size {
\t\t\tMEMBER integer x-dimension 21000
\t\t\tMEMBER integer y-dimension 29700
\t\t}
\t\tMEMBER keyword media-source main
\t}
\tSTATUS successful-ok
}
"""


@dataclass
class Recorded:
    """One POST as it arrived."""

    scenario: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """The requests received, tagged with the scenario that was running."""

    scenario: str = ""
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, headers: dict[str, str], body: bytes) -> None:
        with self.lock:
            self.requests.append(Recorded(self.scenario, path, headers, body))


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, de-chunked if it came chunked (CUPS clients chunk by default)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length", "0")))


def minimal_response(body: bytes, port: int) -> bytes:
    """A valid response to the request ``body``: enough for the client to carry on."""
    major, minor, operation, request_id = struct.unpack_from(">BBHi", body, 0)
    op = Group(GroupTag.OPERATION, [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"),
    ])
    groups = [op]
    printer_uri = f"ipp://127.0.0.1:{port}/printers/{PRINTER}"
    if operation in (Operation.PRINT_JOB, Operation.CREATE_JOB, Operation.SEND_DOCUMENT, Operation.VALIDATE_JOB):
        groups.append(Group(GroupTag.JOB, [
            Attribute.of("job-id", Tag.INTEGER, 1),
            Attribute.of("job-uri", Tag.URI, f"ipp://127.0.0.1:{port}/jobs/1"),
            Attribute.of("job-state", Tag.ENUM, 3),
            Attribute.of("job-state-reasons", Tag.KEYWORD, "none"),
        ]))
    elif operation in (Operation.GET_PRINTER_ATTRIBUTES, 0x4001, 0x4002):  # CUPS-Get-Default, CUPS-Get-Printers
        groups.append(Group(GroupTag.PRINTER, [
            Attribute.of("printer-name", Tag.NAME_WITHOUT_LANGUAGE, PRINTER),
            Attribute.of("printer-uri-supported", Tag.URI, printer_uri),
            Attribute.of("printer-state", Tag.ENUM, 3),
            Attribute.of("printer-state-reasons", Tag.KEYWORD, "none"),
            Attribute.of("printer-is-accepting-jobs", Tag.BOOLEAN, True),
            Attribute.of("printer-type", Tag.ENUM, 0x801044),
            Attribute.of("document-format-supported", Tag.MIME_MEDIA_TYPE, "application/pdf",
                         "application/octet-stream"),
            Attribute.of("ipp-versions-supported", Tag.KEYWORD, "1.0", "1.1", "2.0"),
        ]))
    return encode(Message((major, minor), 0, request_id, groups))


def make_server(recorder: Recorder) -> ThreadingHTTPServer:
    """An HTTP/1.1 server on a free loopback port that records and answers IPP POSTs."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, and "100 Continue" for CUPS's Expect header

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = _read_body(self)
            recorder.add(self.path, dict(self.headers.items()), body)
            data = minimal_response(body, recorder.port)
            self.send_response(200)
            self.send_header("Content-Type", "application/ipp")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.port = int(server.server_address[1])
    return server


def make_document(folder: Path) -> Path:
    """A one-page PDF made by Ghostscript."""
    path = folder / "document.pdf"
    source = "/Helvetica findfont 20 scalefont setfont 72 700 moveto (Invoice INV-2026-0042) show showpage"
    subprocess.run(
        ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", "-o", str(path), "-c", source],
        check=True, capture_output=True,
    )
    return path


def scenarios(tests: Path, document: Path) -> dict[str, list[str]]:
    """Scenario name -> argv, with ``{uri}`` and ``{host}`` to fill in."""
    stock = Path("/usr/share/cups/ipptool")
    ipptool = ["ipptool", "-X", "-T", "10"]
    ipptool_t = ["ipptool", "-t", "-T", "10"]
    doc = ["-f", str(document)]
    return {
        "ipptool-get-printer-attributes": [*ipptool, "{uri}", str(stock / "get-printer-attributes.test")],
        "ipptool-windows-gpa-v1.0": [*ipptool, "-V", "1.0", "{uri}", str(tests / "windows-gpa.test")],
        "ipptool-windows-gpa-v1.1": [*ipptool, "-V", "1.1", "{uri}", str(tests / "windows-gpa.test")],
        "ipptool-print-job-v1.0": [*ipptool, "-V", "1.0", *doc, "{uri}", str(stock / "print-job.test")],
        "ipptool-print-job-v1.1-length": [*ipptool, "-V", "1.1", "-L", *doc, "{uri}", str(stock / "print-job.test")],
        "ipptool-print-job-v2.0": [*ipptool, "-V", "2.0", *doc, "{uri}", str(stock / "print-job.test")],
        "ipptool-print-job-gzip": [*ipptool, "-V", "2.0", *doc, "{uri}", str(stock / "print-job-gzip.test")],
        "ipptool-create-job": [*ipptool, "-V", "2.0", *doc, "{uri}", str(stock / "create-job.test")],
        "ipptool-print-job-media-col": [*ipptool, "-V", "2.0", *doc, "{uri}", str(stock / "print-job-media-col.test")],
        "ipptool-value-tags": [*ipptool, "-V", "2.0", "{uri}", str(tests / "value-tags.test")],
        "ipptool-text-with-language": [*ipptool_t, "-V", "2.0", "{uri}", str(tests / "text-with-language.test")],
        "cups-lpstat": ["lpstat", "-h", "{host}", "-U", USER, "-p"],
        "cups-lp": ["lp", "-h", "{host}", "-U", USER, "-d", PRINTER, "-t", JOB_TITLE, "-o", "sides=two-sided-long-edge",
                    str(document)],
    }


def capture(out: Path = CAPTURES) -> dict[str, dict[str, Any]]:
    """Run every scenario against a fresh server, write the fixtures to ``out``, return the manifest."""
    with tempfile.TemporaryDirectory(prefix="pagero-capture-") as tmp:
        work = Path(tmp)
        (work / "windows-gpa.test").write_text(WINDOWS_GPA_TEST)
        (work / "value-tags.test").write_text(VALUE_TAGS_TEST)
        (work / "text-with-language.test").write_text(TEXT_WITH_LANGUAGE_TEST)
        (work / "home").mkdir()
        document = make_document(work)
        recorder = Recorder()
        server = make_server(recorder)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = recorder.port
        # A private HOME so CUPS clients read no ~/.cups/client.conf or lpoptions of this machine.
        env = {**os.environ, "HOME": str(work / "home"), "LANG": "C", "CUPS_SERVER": f"127.0.0.1:{port}"}
        reports: dict[str, bytes] = {}
        commands: dict[str, list[str]] = {}
        try:
            for name, argv in scenarios(work, document).items():
                recorder.scenario = name
                filled = [a.format(uri=f"ipp://127.0.0.1:{port}/ipp/print", host=f"127.0.0.1:{port}") for a in argv]
                before = len(recorder.requests)
                result = subprocess.run(filled, env=env, capture_output=True, timeout=60)
                # ipptool exits 1 when an EXPECT fails: the stand-in printer answers with few
                # attributes on purpose; what counts is that the requests were sent.
                allowed = (0, 1) if argv[0] == "ipptool" else (0,)
                if result.returncode not in allowed or len(recorder.requests) == before:
                    raise RuntimeError(f"{name}: {filled} exited {result.returncode}: {result.stderr.decode()}")
                if "-X" in argv:
                    # ipptool prints a plain-text summary after the plist when a file has several tests.
                    reports[name] = result.stdout.split(b"</plist>")[0] + b"</plist>\n"
                commands[name] = [
                    a.replace(str(work), "$WORK").replace(str(port), "$PORT")
                    for a in filled
                ]
        finally:
            server.shutdown()
            server.server_close()

        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        shutil.copy(document, out / "document.pdf")
        manifest: dict[str, dict[str, Any]] = {}
        counts: dict[str, int] = {}
        for request in recorder.requests:
            index = counts.get(request.scenario, 0)
            counts[request.scenario] = index + 1
            fixture = f"{request.scenario}.{index}.ipp"
            (out / fixture).write_bytes(request.body)
            keep = ("Content-Type", "Content-Length", "Transfer-Encoding", "Expect", "User-Agent")
            manifest[fixture] = {
                "scenario": request.scenario,
                "index": index,
                "command": commands[request.scenario],
                "path": request.path,
                "headers": {k: v for k, v in request.headers.items() if k in keep},
                "report": f"{request.scenario}.plist" if request.scenario in reports else None,
            }
        for name, report in reports.items():
            (out / f"{name}.plist").write_bytes(report)
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest


def main() -> int:
    manifest = capture()
    for fixture, info in manifest.items():
        print(f"{fixture}: {info['path']} {info['headers'].get('Transfer-Encoding', 'length')}")
    print(f"{len(manifest)} request bodies in {CAPTURES}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
