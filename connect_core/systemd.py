"""``pagero-connect install-service``: run Pagero Connect as a systemd service under its own user.

The canonical unit text is :data:`UNIT_TEMPLATE`; ``packaging/pagero-connect.service`` is that
text rendered for a venv in ``/opt/pagero-connect`` (a test keeps the two identical).  Every
command this module runs is a fixed argv list; the only string from the operator that reaches a
command is the user name, and it is checked against :data:`USER_NAME` first.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from connect_core.errors import ConnectError
from connect_core.fsutil import write_durably

SERVICE = "pagero-connect"
UNIT_NAME = f"{SERVICE}.service"
STATE_DIR = Path("/var/lib") / SERVICE  # what StateDirectory= makes; also the user's home
DEFAULT_USER = "pagero"
DEFAULT_CONFIG = Path("/etc/pagero-connect/config.yaml")
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
DEFAULT_EXECUTABLE = "/opt/pagero-connect/bin/pagero-connect"

USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
"""The portable subset of what ``useradd`` accepts (no dots, no upper case, no trailing ``$``)."""

# A unit file gives meaning to whitespace, quotes, backslashes, ``%`` and ``$`` in ExecStart=;
# paths made only of these characters need no quoting and can carry no specifier.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/._+@-]*")

# ProtectHome=yes hides these from the service: a venv in there cannot start.
_HIDDEN_BY_PROTECT_HOME = (Path("/home"), Path("/root"), Path("/run/user"))

UNIT_TEMPLATE = """\
# Pagero Connect: the "Pagero Printer" that turns print jobs into e-invoices for Pagero Online.
# Written by `pagero-connect install-service`; run it again after moving the installation.
# Local changes belong in a drop-in (`systemctl edit pagero-connect`), which survives a rewrite.

[Unit]
Description=Pagero Connect (Pagero Printer: print to send e-invoices)
Documentation=man:systemd.exec(5)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User={user}
Group={group}
ExecStart={exec_start}
Environment=PYTHONUNBUFFERED=1
# Spool, database and the persistent printer-uuid live in /var/lib/pagero-connect.
StateDirectory=pagero-connect
StateDirectoryMode=0700
# The running server names its data dir in /run/pagero-connect, so that CLI commands find it.
RuntimeDirectory=pagero-connect
RuntimeDirectoryMode=0755
WorkingDirectory=/var/lib/pagero-connect
UMask=0077
StandardOutput=journal
StandardError=journal
SyslogIdentifier=pagero-connect
Restart=on-failure
RestartSec=5s
# SIGTERM to the server only: it finishes the request in flight and stops its own Ghostscript and
# parser children; whatever is left after it exits (or after TimeoutStopSec=) gets SIGKILL.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=30s

# Hardening.  A hot folder (intake.folder) or an inbound folder (inbound.folder) outside
# /var/lib/pagero-connect needs its own ReadWritePaths= line in a drop-in.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/pagero-connect
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
RemoveIPC=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
# AF_NETLINK: listing the network interfaces for DNS-SD.
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
# The converters run in bubblewrap's namespaces (user, mount, PID, IPC, UTS, network, cgroup), made
# without privilege; mounting inside them needs the @mount calls (no capability outside them).
RestrictNamespaces=user mnt pid ipc uts net cgroup
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service @mount
SystemCallErrorNumber=EPERM
CapabilityBoundingSet=
AmbientCapabilities=
# No MemoryDenyWriteExecute=: cffi callbacks (argon2-cffi) may need writable+executable pages.

[Install]
WantedBy=multi-user.target
"""

DEFAULT_CONFIG_TEXT = f"""\
# Pagero Connect configuration (written by `pagero-connect install-service`; never overwritten).
# Every setting and its default: see connect_core/config.py.  After a change:
#   systemctl restart pagero-connect

printer:
  name: Pagero Printer
  # Every network interface, so that computers in the office can add the printer.
  listen: 0.0.0.0:8631
  paper: A4
  location: ""
  dnssd: true

storage:
  data_dir: {STATE_DIR}

sending:
  # manual: invoices wait in "Files to send" until someone sends them.
  mode: manual

online:
  environment: Production
  # Your Pagero Online account; invoices wait here until it is set.
  username: ""
  password: ""
  company_id: ""
"""


@dataclass(frozen=True)
class InstallOptions:
    """What ``install-service`` was asked to do."""

    user: str = DEFAULT_USER
    config: Path = DEFAULT_CONFIG
    unit_dir: Path = DEFAULT_UNIT_DIR
    start: bool = True


def render_unit(exec_start: list[str], user: str = DEFAULT_USER, group: str | None = None) -> str:
    """The unit file text for ``exec_start`` (absolute, plain paths and words only)."""
    for word in exec_start:
        if not re.fullmatch(r"[A-Za-z0-9/._+@:-]+", word):
            raise ConnectError(f"{word!r} cannot be written into a unit file safely")
    return UNIT_TEMPLATE.format(user=_checked_user(user), group=_checked_user(group or user),
                                exec_start=" ".join(exec_start))


def packaged_unit() -> str:
    """The unit as shipped in ``packaging/pagero-connect.service`` (a venv in /opt/pagero-connect)."""
    return render_unit(serve_command(DEFAULT_EXECUTABLE, DEFAULT_CONFIG))


def serve_command(executable: str, config: Path) -> list[str]:
    """The ExecStart= argv: ``serve`` with the configuration file, nothing else."""
    return [executable, "serve", "--config", str(config)]


def this_executable() -> list[str]:
    """The command that starts this very installation: the venv's ``pagero-connect`` script if it
    has one, else its interpreter with ``-m connect_core.cli``.

    ``sys.executable`` is not resolved: a venv's ``bin/python`` is a symlink to the system Python,
    and only the link finds the venv's packages.
    """
    interpreter = Path(sys.executable)
    script = interpreter.parent / SERVICE
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [str(interpreter), "-m", "connect_core.cli"]


def install_service(options: InstallOptions) -> list[str]:
    """Create the user, the configuration (only if absent) and the unit; start it if asked and
    possible.  Returns what was done, one plain sentence per step.  Raises :class:`ConnectError`
    when an argument is wrong (before any change) or when the user cannot run this installation
    (the user then exists, nothing else was written).
    """
    user = _checked_user(options.user)
    if os.geteuid() != 0:
        raise ConnectError("install-service must run as root (sudo pagero-connect install-service)")
    config = _plain_path(options.config.absolute(), "--config")
    unit_dir = options.unit_dir.absolute()
    command = [*this_executable(), "serve", "--config", str(config)]
    _plain_path(Path(command[0]), "the installation")
    hidden = [part for part in _HIDDEN_BY_PROTECT_HOME if Path(command[0]).is_relative_to(part)]
    if hidden:
        raise ConnectError(f"{command[0]} is under {hidden[0]}, which the service cannot see (ProtectHome=yes); "
                           "install Pagero Connect outside home folders, e.g. a venv in /opt/pagero-connect")

    done = [_ensure_user(user)]
    group = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    _check_user_can_run(user, command[:-3])
    done.append(_ensure_config(config, pwd.getpwnam(user).pw_gid, group))
    unit_path = unit_dir / UNIT_NAME
    write_durably(unit_path, render_unit(command, user, group).encode("utf-8"), 0o644)
    done.append(f"Wrote {unit_path} (runs {' '.join(command)} as {user}).")
    done.append(_start(options.start, user, command))
    return done


# -- steps ----------------------------------------------------------------------------


def _checked_user(name: str) -> str:
    if not USER_NAME.fullmatch(name):
        raise ConnectError(f"{name!r} is not a valid user name (lower-case letters, digits, _ and -; at most 32)")
    return name


def _plain_path(path: Path, what: str) -> Path:
    if not _PLAIN_PATH.fullmatch(str(path)):
        raise ConnectError(f"{what}: {path} holds characters a unit file cannot carry safely "
                           "(use a path of letters, digits and / . _ + @ -)")
    return path


def _ensure_user(user: str) -> str:
    try:
        pwd.getpwnam(user)
        return f"System user {user} exists."
    except KeyError:
        pass
    shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/sbin/nologin"
    _run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", str(STATE_DIR),
          "--shell", shell, "--comment", "Pagero Connect", user])
    return f"Created the system user {user} (no login, home {STATE_DIR})."


def _check_user_can_run(user: str, program: list[str]) -> None:
    """Start the installed program as ``user`` once: a venv that user cannot read fails here,
    not at the first boot."""
    try:
        result = subprocess.run(["runuser", "-u", user, "--", *program, "--help"], capture_output=True, text=True,
                                cwd="/", timeout=60)
    except OSError as error:
        raise ConnectError(f"cannot check that {user} can run {program[0]}: runuser: {error.strerror}") from error
    if result.returncode != 0:
        why = (result.stderr.strip().splitlines() or ["exit code " + str(result.returncode)])[-1]
        raise ConnectError(f"the user {user} cannot run {program[0]} ({why}); install Pagero Connect where "
                           "every user can read it, e.g. a venv in /opt/pagero-connect")


def _ensure_config(config: Path, gid: int, group: str) -> str:
    """Write the default configuration unless a file is there; it is root's, readable by ``group``
    (it will hold the Pagero Online password)."""
    if not config.parent.exists():
        config.parent.mkdir(mode=0o750, parents=True)
        os.chown(config.parent, 0, gid)
    try:
        # O_EXCL: an existing configuration is never replaced, not even by a concurrent run.
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        mode = config.stat().st_mode & 0o777
        warning = " It is readable by every user: chmod 640 it, it may hold a password." if mode & 0o004 else ""
        return f"Kept the existing configuration {config}.{warning}"
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchown(handle.fileno(), 0, gid)
        os.fchmod(handle.fileno(), 0o640)  # the umask may have narrowed the mode
        handle.write(DEFAULT_CONFIG_TEXT)
        handle.flush()
        os.fsync(handle.fileno())
    return (f"Wrote the configuration {config} (root:{group}, mode 0640); "
            "add the Pagero Online account under online:.")


def systemd_running() -> bool:
    """True when systemd is this machine's init (what ``sd_booted()`` checks)."""
    return Path("/run/systemd/system").is_dir()


def _start(start: bool, user: str, command: list[str]) -> str:
    by_hand = f"without systemd, run it yourself: runuser -u {user} -- {' '.join(command)}"
    if not start:
        return f"Not started (--no-start). To start it now and at every boot: systemctl enable --now {SERVICE}"
    if not systemd_running() or shutil.which("systemctl") is None:
        return (f"systemd is not running here, so nothing was started. On a machine with systemd run: "
                f"systemctl daemon-reload; systemctl enable --now {SERVICE} — or, {by_hand}")
    _run(["systemctl", "daemon-reload"])
    _run(["systemctl", "enable", "--now", UNIT_NAME])
    return f"Started {SERVICE}; it starts again at every boot. Its log: journalctl -u {SERVICE}"


def _run(argv: list[str]) -> None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except OSError as error:
        raise ConnectError(f"cannot run {argv[0]}: {error.strerror}") from error
    if result.returncode != 0:
        why = result.stderr.strip() or f"exit code {result.returncode}"
        raise ConnectError(f"{argv[0]} failed: {why}")
