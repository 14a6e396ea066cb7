"""TLS for the printer's one port: IPPS and HTTPS beside plain IPP, told apart by the connection's first byte.

CUPS serves ``ipp://`` and ``ipps://`` on the same port 631 by looking at what a client sends first:
a TLS connection starts with a handshake record (byte ``0x16``), an HTTP request with a letter.  The
printer does the same: :class:`SniffingListener` accepts each connection itself, waits (at most the
header timeout) for its first byte without reading it (``MSG_PEEK``), and hands the socket to uvicorn's
HTTP protocol either as it is or wrapped in TLS.  A client that connects and sends nothing, or never
finishes its handshake, is closed after that timeout and holds nothing.

:class:`ServerTls` keeps the certificate and key: the admin's own (``tls.cert``/``tls.key``) or a
self-signed one made at the first start for the machine's names and addresses (the key 0600), TLS 1.2
or newer with forward-secret AEAD ciphers only, reloaded on demand (SIGHUP).  Its SHA-256 fingerprint is
what a person compares with what their browser shows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("ipp.tls")

CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
"""TLS 1.2 suites allowed: forward secrecy and AEAD only (TLS 1.3's own suites are all of that kind)."""
HANDSHAKE = 0x16
VALID_DAYS = 3650


class TlsError(Exception):
    """The certificate or key cannot be used; the message names the file."""


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    self_signed: bool


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for ``cert``/``key``: TLS 1.2+, strong ciphers; :class:`TlsError` naming the bad file."""
    for path in (cert, key):
        if not path.is_file():
            raise TlsError(f"{path}: no such file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    # No TLS 1.3 session tickets: CUPS clients waiting with a timeout (ipptool -T, cupsd's backend) take the
    # ticket records that arrive after the handshake for a closed connection and start over, forever.
    context.num_tickets = 0
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:
        which = cert if "PEM" in str(error) and "KEY" not in str(error).upper() else key
        raise TlsError(f"{which}: not a usable certificate and key ({error.reason or error})") from None
    except OSError as error:
        raise TlsError(f"{error.filename or cert}: {error.strerror}") from None
    return context


def fingerprint(cert: Path) -> str:
    """The certificate's SHA-256 fingerprint as browsers show it (``AB:CD:…``)."""
    import hashlib

    der = ssl.PEM_cert_to_DER_cert(cert.read_text("ascii"))
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def machine_names() -> tuple[list[str], list[str]]:
    """The names and addresses this machine answers to, for a self-signed certificate's subject alternatives."""
    names = {"localhost", socket.gethostname()}
    fqdn = socket.getfqdn()
    if fqdn and "." in fqdn:
        names.add(fqdn)
    names.add(socket.gethostname() + ".local")
    addresses = {"127.0.0.1", "::1"}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            addresses.add(str(info[4][0]).split("%")[0])
    except OSError:
        pass
    return sorted(n for n in names if n), sorted(addresses)


def make_self_signed(cert: Path, key: Path, names: list[str], addresses: list[str]) -> None:
    """A new EC P-256 key (0600) and a self-signed certificate for ``names`` and ``addresses``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "localhost"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pagero Connect (self-signed)")])
    now = dt.datetime.now(dt.UTC)
    alternatives: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    for address in addresses:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            continue
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(private.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(private, hashes.SHA256())
    )
    key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(key, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()), 0o600)
    _write(cert, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    partial = path.with_name(f".{path.name}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


class ServerTls:
    """The printer's certificate and the TLS context new connections get (replaced whole by :meth:`reload`)."""

    def __init__(self, certificate: Certificate) -> None:
        self.certificate = certificate
        self.context = server_context(certificate.cert, certificate.key)
        self.fingerprint = fingerprint(certificate.cert)

    @classmethod
    def for_folder(cls, folder: Path, cert: Path | None = None, key: Path | None = None) -> ServerTls:
        """The admin's certificate when given, else the self-signed one in ``folder`` (made when missing)."""
        if cert is not None or key is not None:
            if cert is None or key is None:
                raise TlsError(f"{cert or key}: give both tls.cert and tls.key")
            return cls(Certificate(cert, key, self_signed=False))
        own_cert, own_key = folder / "cert.pem", folder / "key.pem"
        if not own_cert.is_file() or not own_key.is_file():
            names, addresses = machine_names()
            make_self_signed(own_cert, own_key, names, addresses)
            log.info("made a self-signed certificate for %s", ", ".join(names + addresses))
        return cls(Certificate(own_cert, own_key, self_signed=True))

    def reload(self) -> bool:
        """Read the certificate and key again (after the admin replaced them); False, keeping the old, on error."""
        try:
            context = server_context(self.certificate.cert, self.certificate.key)
            new_fingerprint = fingerprint(self.certificate.cert)
        except (TlsError, OSError, ValueError) as error:
            log.error("TLS certificate not reloaded, the old one stays: %s", error)
            return False
        self.context, self.fingerprint = context, new_fingerprint
        log.info("TLS certificate reloaded: SHA-256 %s", new_fingerprint)
        return True


class SniffingListener:
    """Accepts connections on ``sock`` and serves each as TLS or plain, by its first byte (see the module)."""

    def __init__(self, sock: socket.socket, create_protocol: Callable[[], asyncio.Protocol], tls: ServerTls,
                 first_byte_timeout: float) -> None:
        self.sockets = [sock]
        self._sock = sock
        self._create_protocol = create_protocol
        self._tls = tls
        self._timeout = first_byte_timeout
        self._pending: set[asyncio.Task[None]] = set()
        sock.setblocking(False)
        self._task = asyncio.get_running_loop().create_task(self._accept_loop())

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(self._sock)
            except asyncio.CancelledError:
                raise
            except OSError as error:  # out of file descriptors and the like: do not spin
                log.warning("accepting a connection failed: %s", error)
                await asyncio.sleep(0.1)
                continue
            task = loop.create_task(self._hand_over(conn))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _hand_over(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        conn.setblocking(False)
        try:
            first = await asyncio.wait_for(_peek(loop, conn), self._timeout)
            if not first:
                conn.close()
                return
            context = self._tls.context if first[0] == HANDSHAKE else None
            await loop.connect_accepted_socket(self._create_protocol, conn, ssl=context,
                                               ssl_handshake_timeout=self._timeout if context else None)
        except TimeoutError:
            conn.close()
        except (OSError, ssl.SSLError, ConnectionError) as error:
            log.debug("connection closed before it was served: %s", error)
            conn.close()

    def close(self) -> None:
        self._task.cancel()
        for task in list(self._pending):
            task.cancel()
        self._sock.close()

    async def wait_closed(self) -> None:
        await asyncio.gather(self._task, *self._pending, return_exceptions=True)


async def _peek(loop: asyncio.AbstractEventLoop, conn: socket.socket) -> bytes:
    """The connection's first byte, left in the socket for whoever reads it next (b"" when it closed)."""
    while True:
        try:
            return conn.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            await _readable(loop, conn)


async def _readable(loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(conn.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(conn.fileno())
