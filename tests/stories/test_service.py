"""Running as a service: ``install-service`` makes a user, a config and a unit that systemd accepts,
and the unit's command, run as that unprivileged user, is a working printer that stops cleanly.

systemd is not PID 1 in the test container, so the unit is checked by ``systemd-analyze verify``
and ``systemd-analyze security --offline`` and its ExecStart= is run by hand with ``runuser``;
the sandboxing options themselves only take effect under a real systemd.

The project's own venv cannot serve here: its interpreter lives in /root/.pyenv, which no other user
may enter.  So each test builds the kind of installation a service needs, one every user can read:
a venv of Debian's Python (same minor version) whose ``pagero-connect`` script is the one pip writes,
and whose site-packages point at the project's packages and source.
"""

from __future__ import annotations

import configparser
import os
import pwd
import secrets
import shlex
import stat
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_core.config import load_config
from connect_core.systemd import STATE_DIR, packaged_unit
from ipp.status import StatusCode
from tests.support.harness import REPO, free_port, wait_for_port
from tests.support.ippclient import Client
from tests.support.privilege import as_root
from tests.support.processes import descendants
from tests.support.processes import uids as user_ids

SYSTEM_PYTHON = Path("/usr/bin/python3")
CONSOLE_SCRIPT = """#!{python}
import sys
from connect_core.cli import main
if __name__ == "__main__":
    sys.exit(main())
"""


def read_unit(path: Path) -> configparser.SectionProxy:
    """The [Service] section; systemd's format is close enough to INI for the keys we check."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text())
    return parser["Service"]


@pytest.fixture
def installation(data_root: Path) -> Path:
    """A venv in ``data_root`` that runs this checkout; returns its interpreter."""
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert tuple(map(int, version)) == sys.version_info[:2], f"{SYSTEM_PYTHON} is Python {'.'.join(version)}"
    venv = data_root / "venv"
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    project_site = sysconfig.get_paths()["purelib"]  # the packages of the interpreter running the tests
    (site / "pagero-connect-checkout.pth").write_text(f"{project_site}\n{REPO}\n")
    script = venv / "bin" / "pagero-connect"
    script.write_text(CONSOLE_SCRIPT.format(python=venv / "bin" / "python3"))
    script.chmod(0o755)
    return venv / "bin" / "python3"


def install(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pagero-connect install-service`` as root (installing a system service is root's job)."""
    return subprocess.run(as_root([str(python), "-m", "connect_core.cli", "install-service", *args]),
                          capture_output=True, text=True, cwd="/", timeout=120)


def read_as_root(path: Path) -> str:
    """A file only root (and the service's group) may read."""
    return subprocess.run(as_root(["cat", str(path)]), capture_output=True, text=True, check=True).stdout


def servers_of(data: Path) -> list[int]:
    """The ``serve`` processes working on ``data`` (found by their command line, whoever their parent is:
    runuser may fork or exec, and sudo adds a level when the tests are not root)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        launcher = argv[0].rsplit(b"/", 1)[-1] in (b"sudo", b"runuser") if argv else True
        if not launcher and b"serve" in argv and str(data).encode() in argv:
            found.append(int(entry.name))
    return found


def signal_as_root(pid: int, signal_name: str) -> None:
    subprocess.run(as_root(["kill", f"-{signal_name}", str(pid)]), capture_output=True, timeout=30)


@pytest.fixture
def test_user() -> Iterator[str]:
    """A user name no one has; whatever install-service creates under it is removed afterwards."""
    name = f"pagero-test-{secrets.token_hex(3)}"
    yield name
    subprocess.run(as_root(["userdel", name]), capture_output=True)
    subprocess.run(as_root(["groupdel", name]), capture_output=True)  # userdel keeps it on some setups


def test_the_packaged_unit_is_the_one_install_service_writes() -> None:
    packaged = REPO / "packaging" / "pagero-connect.service"
    assert packaged.read_text() == packaged_unit()
    service = read_unit(packaged)
    assert service["User"] == "pagero"
    assert service["ExecStart"].split() == ["/opt/pagero-connect/bin/pagero-connect", "serve",
                                            "--config", "/etc/pagero-connect/config.yaml"]
    assert service["StateDirectory"] == "pagero-connect"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/pagero-connect"
    assert service["NoNewPrivileges"] == service["ProtectHome"] == service["PrivateTmp"] == "yes"
    assert service["RestrictAddressFamilies"].split() == ["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"]


def test_install_service_then_the_unit_command_serves_as_the_unprivileged_user(
        data_root: Path, installation: Path, test_user: str) -> None:
    data_root.chmod(0o755)  # the service user must reach its configuration inside
    config = data_root / "etc" / "config.yaml"
    units = data_root / "units"

    first = install(installation, "--user", test_user, "--config", str(config), "--unit-dir", str(units), "--no-start")
    assert first.returncode == 0, first.stderr

    # A system user that cannot log in.
    account = pwd.getpwnam(test_user)
    assert account.pw_shell.endswith("/nologin")
    assert account.pw_dir == str(STATE_DIR)
    assert account.pw_uid < 1000

    # The configuration: root's, readable by the service's group only, and valid.
    mode, uid, gid = subprocess.run(as_root(["stat", "-c", "%a %u %g", str(config)]), capture_output=True,
                                    text=True, check=True).stdout.split()  # its folder is closed to us if not root
    assert int(mode, 8) == 0o640
    assert (int(uid), int(gid)) == (0, account.pw_gid)
    readable = data_root / "config-as-read-by-the-service.yaml"
    readable.write_text(read_as_root(config))
    assert load_config(readable).data_dir == STATE_DIR

    # A unit systemd accepts, hardened, whose ExecStart= is this installation.
    unit = units / "pagero-connect.service"
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr
    # The threshold is on systemd's 0-100 scale: 30 is "2.9 OK" or better; an unhardened unit is 9.6.
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=30", str(unit)],
                              capture_output=True, text=True, timeout=60)
    assert security.returncode == 0, security.stdout[-400:]
    service = read_unit(unit)
    assert service["User"] == test_user
    command = shlex.split(service["ExecStart"])
    assert command[0] == str(installation.parent / "pagero-connect")
    assert os.access(command[0], os.X_OK)
    assert command[1:] == ["serve", "--config", str(config)]

    # A second run keeps the configuration the office has edited.
    edited = read_as_root(config).replace("name: Pagero Printer", "name: Front desk")
    subprocess.run(as_root(["tee", str(config)]), input=edited, capture_output=True, text=True, check=True)
    second = install(installation, "--user", test_user, "--config", str(config), "--unit-dir", str(units), "--no-start")
    assert second.returncode == 0, second.stderr
    assert read_as_root(config) == edited
    assert "Kept the existing configuration" in second.stdout
    assert stat.S_IMODE(config.stat().st_mode) == 0o640

    # ExecStart= as the service user: it reads the root-owned configuration through its group.
    data = data_root / "state"
    data.mkdir(mode=0o700)
    subprocess.run(as_root(["chown", f"{account.pw_uid}:{account.pw_gid}", str(data)]), check=True)
    port = free_port()
    env = {**os.environ, "PAGERO_PRINTER_DNSSD": "false", "PYTHONUNBUFFERED": "1"}
    log = data_root / "service.log"
    with open(log, "wb") as out:
        runuser = subprocess.Popen(as_root(["runuser", "-u", test_user, "--", *command,
                                            "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)]),
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd="/")
    try:
        wait_for_port(port, runuser, timeout=60)
        client = Client(f"ipp://127.0.0.1:{port}/ipp/print")
        attributes = client.printer_attributes("printer-name", "printer-uuid")
        client.close()
        assert attributes["printer-name"].value == "Front desk"
        assert str(attributes["printer-uuid"].value).startswith("urn:uuid:")

        # The server has the service user's identity.
        servers = servers_of(data)
        assert len(servers) == 1, servers
        server = servers[0]
        uids = next(line for line in Path(f"/proc/{server}/status").read_text().splitlines()
                    if line.startswith("Uid:")).split()[1:]
        assert set(uids) == {str(account.pw_uid)}
        owner = subprocess.run(as_root(["stat", "-c", "%u", str(data / "printer-uuid")]), capture_output=True,
                               text=True, check=True).stdout.strip()
        assert owner == str(account.pw_uid)

        # So do its converters, each behind bubblewrap (no network, no view of the data dir): the
        # Ghostscript started ahead of the next PostScript job and the Python converters' zygote (started
        # for the first document that needs it: a text job).
        client = Client(f"ipp://127.0.0.1:{port}/ipp/print")
        assert client.print_job(b"Invoice 1\nTotal 1.00 EUR\n", fmt="text/plain").code == StatusCode.SUCCESSFUL_OK
        client.close()
        deadline = time.monotonic() + 60  # liveness only
        while time.monotonic() < deadline:
            children = descendants(server)
            if any(p.endswith("/gs") for p in children.values()) and \
                    any("python" in p for p in children.values()):
                break
            time.sleep(0.1)
        assert any(p.endswith("/gs") for p in children.values()), children
        assert any("python" in p for p in children.values()), children
        for pid, program in children.items():
            assert user_ids(pid) == {account.pw_uid}, (program, user_ids(pid))
            if program.endswith("/gs") or "python" in program:
                for namespace in ("net", "mnt"):
                    assert os.readlink(f"/proc/{pid}/ns/{namespace}") != os.readlink(f"/proc/{server}/ns/{namespace}")
        assert "read-only view of the system (bubblewrap)" in log.read_text(errors="replace")

        # systemd's KillSignal=SIGTERM goes to the server itself; runuser passes on its exit code.
        signal_as_root(server, "TERM")
        assert runuser.wait(timeout=30) == 0, log.read_text(errors="replace")[-2000:]
    finally:
        if runuser.poll() is None:
            for leftover in servers_of(data):
                signal_as_root(leftover, "KILL")
            signal_as_root(runuser.pid, "KILL")
            runuser.wait()


def test_an_installation_the_service_user_cannot_read_is_refused(data_root: Path, installation: Path,
                                                                 test_user: str) -> None:
    # data_root stays 0700: the venv inside it is root's alone, as a venv under /root would be.
    config = data_root / "etc" / "config.yaml"
    units = data_root / "units"
    result = install(installation, "--user", test_user, "--config", str(config), "--unit-dir", str(units))
    assert result.returncode == 2
    assert f"the user {test_user} cannot run {installation.parent / 'pagero-connect'}" in result.stderr
    assert not config.exists() and not units.exists()


def test_a_bad_user_name_is_refused_before_anything_is_written(data_root: Path, installation: Path) -> None:
    config = data_root / "etc" / "config.yaml"
    units = data_root / "units"
    result = install(installation, "--user", "x;rm -rf /", "--config", str(config), "--unit-dir", str(units))
    assert result.returncode == 2
    assert "not a valid user name" in result.stderr
    assert not config.parent.exists() and not units.exists()
