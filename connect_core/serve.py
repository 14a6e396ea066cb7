"""``pagero-connect serve``: the printer, the status page and the workers in one process."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connect_core import running
from connect_core.accounts.throttle import login_blocked, login_failed, login_succeeded
from connect_core.accounts.users import authenticate
from connect_core.config import Config, OnlineSettings
from connect_core.errors import ConfigError
from connect_core.fsutil import write_durably
from connect_core.intake.hotfolder import HotFolder
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.invoices.retention import RetentionTimer
from connect_core.online.inbound import make_inbound
from connect_core.online.outbox import make_outbox
from connect_core.pipeline.recognition import ocr_status
from connect_core.pipeline.worker import Pipeline, make_pipeline
from connect_core.store import Database, open_database
from connect_core.web.app import create_app
from ipp.asgi import HttpLimits, IppApp, printer_server
from ipp.attributes import PrinterConfig
from ipp.dnssd import Advertiser
from ipp.printer import Printer
from ipp.tls import ServerTls, TlsError
from printer_backend.convert import start_converter, stop_converter
from printer_backend.errors import GhostscriptUnavailable
from printer_backend.ghostscript import check_ghostscript, isolation
from printer_backend.pdftext import PdfTextUnavailable, check_pdftotext

log = logging.getLogger("connect_core.serve")


@dataclass
class Product:
    """Everything ``serve`` wires together, for tests and for the server."""

    config: Config
    db: Database
    spool: Spool
    intake: PrintIntake
    pipeline: Pipeline
    printer: Printer
    app: IppApp
    on_settings: list[Callable[[Config], None]]
    """Hooks the status page calls after an admin saved new settings."""


def printer_uuid(data_dir: Path) -> str:
    """The printer's persistent ``printer-uuid`` (clients break when it changes)."""
    path = data_dir / "printer-uuid"
    try:
        value = path.read_text().strip()
        uuid.UUID(value)
        return f"urn:uuid:{value}"
    except (OSError, ValueError):
        value = str(uuid.uuid4())
        write_durably(path, f"{value}\n".encode(), mode=0o644)
        return f"urn:uuid:{value}"


def start_demo_online(config: Config) -> tuple[Config, Any]:
    """Run the Pagero Online emulator in this process; its account is in force until one is configured.

    The emulator's address and account live only in memory (:attr:`Config.demo`): saving settings
    never writes them, and the next start makes a new emulator again.
    """
    from pagero_online_emulator.server import default_inbound, make_server

    emulator = make_server("127.0.0.1", 0, config.data_dir / "online-emulator", inbound=default_inbound())
    threading.Thread(target=emulator.serve_forever, kwargs={"poll_interval": 0.2}, name="online-emulator",
                     daemon=True).start()
    url = f"http://127.0.0.1:{emulator.server_address[1]}"
    account = OnlineSettings(url=url, username="demo", password="demo", company_id="demo")
    return dataclasses.replace(config, demo=account), emulator


def build(config: Config, tls: ServerTls | None = None) -> Product:
    """Open the store and spool, recover from any crash, and build the ASGI app."""
    data_dir = config.data_dir
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = open_database(config.storage.database_url, data_dir)
    spool = Spool(data_dir / "spool")
    pipeline = make_pipeline(config, db, spool)
    intake = PrintIntake(db, spool, min_free_bytes=config.limits.min_free_bytes, on_stored=pipeline.wake)
    intake.recover()
    printer_config = PrinterConfig(
        name=config.printer.name,
        uuid=printer_uuid(data_dir),
        location=config.printer.location,
        paper=config.printer.paper,
        max_job_bytes=config.limits.max_job_bytes,
        tls=tls is not None,
        plain_ipp=config.printer.plain_ipp,
        authentication=config.printer.authentication,
    )
    printer = Printer(printer_config, intake)
    on_settings: list[Callable[[Config], None]] = []
    certificate = None if tls is None else (lambda: {"fingerprint": tls.fingerprint,
                                                      "self_signed": tls.certificate.self_signed})
    web = create_app(config, db, spool, printer_config.name, printer.path, intake=intake, pipeline=pipeline,
                     on_settings=on_settings, certificate=certificate, printer_schemes=printer_config.schemes)
    app = IppApp(printer, web, HttpLimits(idle_timeout=config.limits.idle_timeout),
                 authenticate=printing_login(db) if config.printer.authentication == "basic" else None)
    return Product(config, db, spool, intake, pipeline, printer, app, on_settings)


def start_postscript(pipeline: Pipeline) -> str:
    """Check Ghostscript at start-up and start one ahead of the first PostScript job; says how it went."""
    try:
        version = check_ghostscript()
        start_converter(pipeline.limits, pipeline.paper, zygote=False)
    except GhostscriptUnavailable as problem:
        log.error("%s", problem.reason)
        return f"refused: {problem.reason}"
    log.info("Ghostscript %s confined by: %s", version, ", ".join(isolation()))
    try:
        log.info("Invoice page text read by %s, confined the same way", check_pdftotext())
    except PdfTextUnavailable as problem:
        log.error("%s", problem.reason)  # every printed invoice will need a person
    return f"Ghostscript {version}, sandboxed"


def printing_login(db: Database) -> Callable[[str, str, str], Awaitable[str | None]]:
    """Checks a printing client's HTTP Basic credentials as the login page checks a person's: the same users,
    Argon2 hashes and per-name and per-address throttle (a failure here counts there too)."""

    def check(name: str, password: str, address: str) -> str | None:
        if login_blocked(db, name, address) > 0:
            return None
        user = authenticate(db, name, password)
        if user is None:
            login_failed(db, name, address)
            log.info("printing refused: wrong user name or password for %r from %s", name[:100], address)
            return None
        login_succeeded(db, name)
        return user.name

    async def login(name: str, password: str, address: str) -> str | None:
        return await asyncio.to_thread(check, name, password, address)

    return login


def server_tls(config: Config) -> ServerTls | None:
    """The printer's TLS when ``tls.enabled``: the admin's certificate, or one made for this machine."""
    if config.printer.authentication == "basic" and not config.tls.enabled:
        raise ConfigError("printer.authentication: basic needs tls.enabled (passwords travel over TLS only)")
    if not config.tls.enabled:
        return None
    try:
        return ServerTls.for_folder(config.data_dir / "tls", Path(config.tls.cert) if config.tls.cert else None,
                                    Path(config.tls.key) if config.tls.key else None)
    except TlsError as error:
        raise ConfigError(f"tls: {error}") from None


def public_host(host: str, port: int) -> str:
    """How clients reach ``host:port``: a wildcard address becomes this machine's name."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn() or socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


def run(config: Config, demo: bool = False) -> int:
    """Serve until SIGTERM or SIGINT; returns the exit code."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    emulator = None
    tls = server_tls(config)  # before anything starts: a broken certificate stops here, in one line
    if demo and not config.online.username:
        config, emulator = start_demo_online(config)
    product = build(config, tls)
    outbox = make_outbox(config, product.db, product.spool)
    host, port = config.listen
    postscript = start_postscript(product.pipeline)
    recognition = ocr_status(config).summary
    log.info("Text recognition (OCR): %s", recognition)

    def banner(port: int) -> str:
        where = public_host(host, port)
        printer_uris = " and ".join(f"{scheme}://{where}{product.printer.path}"
                                    for scheme in product.printer.config.schemes)
        certificate = [] if tls is None else [
            f"  Certificate:  SHA-256 {tls.fingerprint}"
            + (" (self-signed: compare it with what the browser shows)" if tls.certificate.self_signed else "")]
        return "\n".join([
            f"Pagero Connect is running (data in {config.data_dir}).",
            f"  Printer URI:  {printer_uris}",
            f"  PostScript:   {postscript}",
            f"  OCR:          {recognition}",
            f"  Status page:  {'https' if tls else 'http'}://{where}/",
            *certificate,
            f"  Sending:      {config.sending.mode} mode, {config.account.environment} environment",
            (f"  demo: invoices go to the local Pagero Online emulator at {config.account.url}/ "
             "(until an account is set up)" if config.is_demo else
             f"  Online:       {config.online.url} as {config.online.username}" if outbox is not None else
             "  Online:       no account configured (set online.username in the config); invoices wait here"),
        ])

    advertiser = Advertiser(product.printer.config, host, port, product.printer.path) if config.printer.dnssd else None

    registration: list[Path] = []

    def listening(bound: int) -> None:
        print(banner(bound), flush=True)
        where = running.register(config.data_dir, f"{host}:{bound}", config.source)
        registration.extend([where] if where else [])
        if advertiser is not None:
            advertiser.start(bound)  # announced only once clients can connect

    server = printer_server(product.app, host, port, config.limits.idle_timeout, listening, tls=tls)
    if tls is not None:
        signal.signal(signal.SIGHUP, lambda _signum, _frame: tls.reload())
    product.spool.keep_slots_ready()
    product.pipeline.start()
    if outbox is not None:
        outbox.start()
    receiver = make_inbound(config, product.db)
    if receiver is not None:
        receiver.start()
    online: dict[str, Any] = {"outbox": outbox, "inbound": receiver}  # the workers of the Online account

    def new_account(changed: Config) -> None:
        """The admin saved settings: the uploader and the receiver use the account in force from now on."""
        for key, make in (("outbox", lambda: make_outbox(changed, product.db, product.spool)),
                          ("inbound", lambda: make_inbound(changed, product.db))):
            old = online[key]
            if old is not None:
                old.stop()
            fresh = make()
            if fresh is not None:
                fresh.start()
            online[key] = fresh

    product.on_settings.append(new_account)
    retention = RetentionTimer(product.db, product.spool, config.retention.days)
    retention.start()
    hot_folder = None
    if config.intake.folder:
        hot_folder = HotFolder(Path(config.intake.folder), product.intake,
                               settle=config.intake.settle_seconds, poll=config.intake.poll_seconds)
        hot_folder.start()
    try:
        server.run()
    finally:
        if advertiser is not None:
            advertiser.stop()
        for path in registration:
            path.unlink(missing_ok=True)
        if hot_folder is not None:
            hot_folder.stop()
        retention.stop()
        for key in ("inbound", "outbox"):
            if online[key] is not None:
                online[key].stop()
        if emulator is not None:
            emulator.shutdown()
        product.pipeline.stop()
        stop_converter()
        product.spool.stop_slots()
        product.db.dispose()
    log.info("stopped")
    return 0
