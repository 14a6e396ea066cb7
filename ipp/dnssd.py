"""DNS-SD (Bonjour) advertising: how IPP Everywhere, AirPrint and Mopria clients find the printer.

The printer is announced as ``_ipp._tcp`` with the subtypes ``_print`` (IPP Everywhere) and
``_universal`` (iOS lists only printers with it), with TLS on also as ``_ipps._tcp`` (``TLS=1.2``;
without ``_ipp._tcp`` when plain IPP is closed), and as ``_printer._tcp`` on port 0, which only
holds the name, as CUPS does.  Every TXT value is read from the printer's own attributes
(:mod:`ipp.attributes`), so what a client discovers is what Get-Printer-Attributes answers.

Advertising happens only where the printer listens: a specific address is announced on that
address's interface alone, a wildcard address on every interface.  Nothing here may stop the
printer: :class:`Advertiser` logs a warning when DNS-SD cannot start and the printer goes on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import sys
import threading

import ifaddr
from zeroconf import (
    InterfaceChoice,
    InterfacesType,
    IPVersion,
    NonUniqueNameException,
    ServiceInfo,
    Zeroconf,
)

from ipp.attributes import PrinterConfig, job_template_attributes, printer_description_attributes
from ipp.codec import Attribute, Collection
from ipp.printer import Printer

log = logging.getLogger("ipp.dnssd")

IPP_TYPE = "_ipp._tcp.local."
IPPS_TYPE = "_ipps._tcp.local."
SUBTYPES = ("_print", "_universal")
NAME_TYPE = "_printer._tcp.local."

# The product's own name, whatever the person installing it calls this printer.
PRODUCT = PrinterConfig().name

# Bonjour Printing Specification 1.2, PaperMax: the smallest class whose box (short side, long
# side, in hundredths of millimetres) holds every supported media size.
PAPER_MAX_CLASSES = (
    ("<legal-A4", (20999, 27939)),
    ("legal-A4", (21590, 35560)),
    ("tabloid-A3", (29700, 43180)),
    ("isoC-A2", (43180, 59400)),
)

_MAX_TXT_STRING = 255  # bytes in one TXT key=value string (RFC 6763 §6.1)
_MAX_LABEL = 63  # bytes in one DNS label, the service instance name included


def _attributes(config: PrinterConfig) -> dict[str, Attribute]:
    description = printer_description_attributes(config, tuple(Printer.OPERATIONS))
    return {a.name: a for a in description + job_template_attributes(config)}


def _strings(attribute: Attribute | None) -> list[str]:
    return [] if attribute is None else [str(v) for v in attribute.plain() if v is not None]


def paper_max(media_sizes: list[tuple[int, int]]) -> str:
    """The PaperMax class for media sizes given as (x, y) in hundredths of millimetres."""
    short = max((min(size) for size in media_sizes), default=0)
    long = max((max(size) for size in media_sizes), default=0)
    for name, (box_short, box_long) in PAPER_MAX_CLASSES:
        if short <= box_short and long <= box_long:
            return name
    return ">isoC-A2"


def _media_sizes(attribute: Attribute | None) -> list[tuple[int, int]]:
    sizes = []
    for value in attribute.plain() if attribute is not None else []:
        if isinstance(value, Collection):
            x, y = value.get("x-dimension"), value.get("y-dimension")
            if x is not None and y is not None:
                sizes.append((int(x.value), int(y.value)))  # type: ignore[call-overload]
    return sizes


def _fit(key: str, value: str) -> str:
    """``value`` cut on a character boundary so that ``key=value`` fits one TXT string."""
    room = _MAX_TXT_STRING - len(key.encode()) - 1
    return value.encode()[:room].decode(errors="ignore")


def txt_record(config: PrinterConfig, admin_url: str, resource_path: str = "/ipp/print",
               secure: bool = False) -> dict[str, str]:
    """The ``_ipp._tcp`` TXT record (``_ipps._tcp`` with ``secure``), every value taken from the printer's attributes.

    ``admin_url`` is the printer's web page as clients reach it through this advertisement
    (``printer-more-info``); ``resource_path`` is the path of the printer URI.  The ``_ipps._tcp``
    record adds ``TLS=1.2``, the lowest version the printer speaks (PWG 5100.14 §4.2.3).
    """
    attrs = _attributes(config)
    formats = [f for f in _strings(attrs.get("document-format-supported")) if f != "application/octet-stream"]
    sides = _strings(attrs.get("sides-supported"))
    color = attrs.get("color-supported")
    auth = _strings(attrs.get("uri-authentication-supported"))
    record = {
        "txtvers": "1",
        "qtotal": "1",
        "rp": resource_path.lstrip("/"),
        "ty": _strings(attrs.get("printer-make-and-model"))[0],
        "adminurl": admin_url,
        "note": _strings(attrs.get("printer-location"))[0],
        "pdl": ",".join(formats),
        "UUID": _strings(attrs.get("printer-uuid"))[0].removeprefix("urn:uuid:"),
        # iOS lists a printer only when URF is present and non-empty.
        "URF": ",".join(_strings(attrs.get("urf-supported"))) or "none",
        "Color": "T" if color is not None and color.value is True else "F",
        "Duplex": "T" if any(s.startswith("two-sided") for s in sides) else "F",
        "kind": ",".join(_strings(attrs.get("printer-kind"))),
        "PaperMax": paper_max(_media_sizes(attrs.get("media-size-supported"))),
        "product": f"({PRODUCT})",
        "priority": "0",
        "air": "username,password" if {"basic", "digest"} & set(auth) else "none",
    }
    if secure:
        record["TLS"] = "1.2"
    return {key: _fit(key, value) for key, value in record.items()}


def instance_name(config: PrinterConfig) -> str:
    """The service instance name: ``printer-dns-sd-name``, cut to one DNS label."""
    name = _strings(_attributes(config).get("printer-dns-sd-name"))[0] or PRODUCT
    return name.encode()[:_MAX_LABEL].decode(errors="ignore")


def host_label(config: PrinterConfig) -> str:
    """This printer's own ``.local`` host name label, stable because ``printer-uuid`` is.

    The printer does not reuse the machine's host name: another responder (Avahi) may already
    announce that name with every address of the machine, while ours must resolve to the
    listen address only.
    """
    digits = config.uuid.removeprefix("urn:uuid:").replace("-", "")
    return f"pagero-{digits[:8].lower()}"


def admin_url(config: PrinterConfig, port: int) -> str:
    """``printer-more-info`` as a client that follows this advertisement sees it."""
    return f"{'https' if config.tls else 'http'}://{host_label(config)}.local:{port}/"


def _local_addresses(version: IPVersion) -> list[str]:
    """Every address of this machine a remote client could use (no loopback, no link-local IPv6)."""
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            address = ipaddress.ip_address(text.split("%")[0])
            if address.is_loopback or (address.version == 6 and address.is_link_local):
                continue
            if (address.version == 4 and version != IPVersion.V6Only) or (
                address.version == 6 and version != IPVersion.V4Only
            ):
                found.append(str(address))
    return found


def where_to_advertise(host: str) -> tuple[InterfacesType, IPVersion, list[str]]:
    """The interfaces, IP version and host addresses that match listening on ``host``.

    A wildcard (``0.0.0.0``, ``::`` or empty) means every interface; anything else means only
    the interface(s) of that address.  A host name is resolved the way the server binds it.
    """
    if host in ("", "0.0.0.0"):
        return InterfaceChoice.All, IPVersion.V4Only, _local_addresses(IPVersion.V4Only)
    if host == "::":
        return InterfaceChoice.All, IPVersion.All, _local_addresses(IPVersion.All)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # uvicorn binds a host name as IPv4 (AF_INET) to its first address.
        address = ipaddress.ip_address(socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    version = IPVersion.V6Only if address.version == 6 else IPVersion.V4Only
    return [str(address)], version, [str(address)]


class Advertiser:
    """Announces one printer with DNS-SD on a background thread; never raises into its caller.

    :meth:`start` returns at once; registration (probing for name conflicts, then announcing)
    takes a second or two.  On a name conflict zeroconf renames the service ("Name-2"); the
    name in use is :attr:`name` once registered.  :meth:`stop` sends goodbyes and closes.
    """

    def __init__(self, config: PrinterConfig, host: str, port: int, resource_path: str = "/ipp/print") -> None:
        self.config = config
        self.host = host
        self.port = port
        self.resource_path = resource_path
        self.name: str | None = None
        self._zeroconf: Zeroconf | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.registered = threading.Event()

    def start(self, port: int | None = None) -> None:
        """Begin advertising in the background (a failure is logged as a warning).

        ``port`` is the port the server actually bound, when it was asked for port 0.
        """
        if port:
            self.port = port
        self._thread = threading.Thread(target=self._run, name="dnssd", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Withdraw the services (goodbye packets) and release the sockets."""
        self._stopping.set()
        with self._lock:
            zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is not None:
            try:
                zeroconf.close()
            except Exception as error:  # noqa: BLE001 - shutting down; nothing left to protect
                log.debug("DNS-SD close failed: %s", error)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._register()
        except Exception as error:  # the printer must keep working without DNS-SD
            if not self._stopping.is_set():
                log.warning("DNS-SD advertising is off: %s: %s", type(error).__name__, error)

    def _register(self) -> None:
        interfaces, version, addresses = where_to_advertise(self.host)
        if not addresses:
            raise OSError(f"no address to advertise for {self.host!r}")
        zeroconf = Zeroconf(interfaces=interfaces, ip_version=version)
        with self._lock:
            if self._stopping.is_set():
                zeroconf.close()
                return
            self._zeroconf = zeroconf
        if interfaces is not InterfaceChoice.All:
            _listen_only_on(zeroconf, addresses[0])
        server = f"{host_label(self.config)}.local."
        instance = instance_name(self.config)
        # ipp:// while plain IPP prints, ipps:// once TLS is on; each with the IPP Everywhere subtypes.
        kinds = [(kind, scheme == "ipps") for scheme, kind in (("ipp", IPP_TYPE), ("ipps", IPPS_TYPE))
                 if scheme in self.config.schemes]
        for kind, secure in kinds:
            info = ServiceInfo(
                kind,
                f"{instance}.{kind}",
                port=self.port,
                properties=txt_record(self.config, admin_url(self.config, self.port), self.resource_path, secure),
                server=server,
                parsed_addresses=addresses,
            )
            zeroconf.register_service(info, allow_name_change=True)
            instance = info.name.removesuffix(f".{kind}")  # a name taken on the network was changed
            for subtype in SUBTYPES:
                zeroconf.register_service(_subtype_alias(info, subtype, kind), cooperating_responders=True)
        holder = ServiceInfo(
            NAME_TYPE, f"{instance}.{NAME_TYPE}", port=0, properties=b"\x00", server=server, parsed_addresses=addresses
        )
        try:
            zeroconf.register_service(holder)
        except NonUniqueNameException:
            # Someone else's LPD printer has this name; the IPP service is what clients use.
            log.info("DNS-SD: %s is taken, not holding the name", holder.name)
        self.name = instance
        self.registered.set()
        log.info("DNS-SD: advertising %r on %s as %s:%d", instance, ", ".join(addresses), server, self.port)


def _subtype_alias(ipp: ServiceInfo, subtype: str, kind: str = IPP_TYPE) -> ServiceInfo:
    """A registry entry that makes zeroconf answer ``<subtype>._sub._ipp._tcp`` browses.

    python-zeroconf registers one type per service name (its registry is keyed by name), so a
    subtype is registered as a copy of the service whose type is the subtype and whose registry
    key differs; its PTR points at the real ``_ipp._tcp`` instance (RFC 6763 §7.1), and its SRV,
    TXT and address records are the same as the service's.
    """
    alias = ServiceInfo(
        f"{subtype}._sub.{kind}",
        ipp.name,
        port=ipp.port,
        properties=ipp.properties,
        server=ipp.server,
        parsed_addresses=ipp.parsed_addresses(),
    )
    alias.key = f"{ipp.key}#{subtype}"
    return alias


def interface_of(address: str) -> str | None:
    """The name of the network interface that holds ``address``, if any."""
    wanted = ipaddress.ip_address(address)
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            if ipaddress.ip_address(text.split("%")[0]) == wanted:
                return str(adapter.name)
    return None


def _listen_only_on(zeroconf: Zeroconf, address: str) -> None:
    """Tie zeroconf's wildcard-bound listening socket to the interface that holds ``address``.

    That socket also receives mDNS from other interfaces (Linux delivers a group joined by any
    program, Avahi say, to every wildcard-bound socket), and zeroconf answers unicast questions
    through it: without this a loopback-only printer would answer on the office network.
    SO_BINDTODEVICE limits what it receives and where it can send.  (IP_MULTICAST_ALL=0 looks
    like the tool for this, but on Linux 6.x it makes the kernel hand a multicast packet to the
    wrong member of a SO_REUSEPORT group, so another mDNS responder on the host goes deaf.)
    """
    if sys.platform != "linux":
        return
    device = interface_of(address)
    if device is None:
        raise OSError(f"no interface holds {address}")
    assert zeroconf.loop is not None
    asyncio.run_coroutine_threadsafe(zeroconf.async_wait_for_start(), zeroconf.loop).result(10)
    for reader in zeroconf.engine.readers:
        if reader.sock.getsockname()[0] in ("0.0.0.0", "::"):
            reader.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
