"""A private CUPS scheduler for tests: its own folders, one loopback port, never the system CUPS.

:class:`Cupsd` writes a ``cupsd.conf`` and ``cups-files.conf`` into a fresh folder and runs
``cupsd -f`` on them.  Everything the scheduler writes (printers.conf, PPDs, spool, cache,
state, logs) stays in that folder; it listens on ``127.0.0.1:<free port>`` only (no domain
socket in /run, no DNS-SD, no browsing).  Clients (``lpadmin``, ``lp``, ``lpstat``, ``cancel``)
reach it through :meth:`Cupsd.run` or the environment :attr:`Cupsd.env`, which names the
private server and keeps them away from the system's ``client.conf`` and certificates.

``ServerBin`` is private too: ``filter``, ``cgi-bin``, ``daemon``, ``notifier``, ``monitor`` and
``driver`` link to the stock ones in /usr/lib/cups, and ``backend/`` is a real folder holding
links to the stock backends that need no discovery (:data:`STOCK_BACKENDS`), so a test can
install its own backend there.  When cupsd runs as
root it only runs a backend or filter that is owned by root and not writable by group or others,
and the same holds for the folder it is in; the folders made here follow that rule.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.harness import free_port, wait_for_port

CUPSD = "/usr/sbin/cupsd"
STOCK_SERVER_BIN = Path("/usr/lib/cups")
LINKED_DIRS = ("filter", "cgi-bin", "daemon", "notifier", "monitor", "driver")
# Stock backends that only talk to the device URI they are given.  The discovery ones (dnssd,
# mdns, snmp, driverless) are left out: ``lpinfo -v`` would make them multicast and broadcast
# on the real network.
STOCK_BACKENDS = ("ipp", "ipps", "http", "https", "socket", "lpd", "beh")

_CUPSD_CONF = """\
LogLevel debug
MaxLogSize 0
Listen 127.0.0.1:{port}
Browsing No
BrowseLocalProtocols none
DefaultShared No
WebInterface No
DefaultAuthType None
ErrorPolicy retry-job
JobRetryInterval {retry_interval}
JobRetryLimit {retry_limit}
PreserveJobHistory Yes
# Anyone on loopback may do anything: the clients are the test itself.
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""

_CUPS_FILES_CONF = """\
ServerRoot {root}/etc
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/state
ServerBin {root}/bin
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
Printcap {root}/printcap
FileDevice No
SystemGroup root
"""

_REQUEST_ID = re.compile(r"request id is (\S+)")


class Cupsd:
    """One private ``cupsd`` on a free loopback port; use :func:`private_cupsd` to run one."""

    def __init__(self, root: Path, retry_interval: int = 5, retry_limit: int = 1000) -> None:
        self.root = root
        self.port = free_port()
        self.retry_interval = retry_interval
        self.retry_limit = retry_limit
        self.proc: subprocess.Popen[bytes] | None = None

    # -- folders ---------------------------------------------------------------------------

    @property
    def server_root(self) -> Path:
        return self.root / "etc"

    @property
    def backend_dir(self) -> Path:
        """The private ``ServerBin/backend``: install a test's backend here."""
        return self.root / "bin" / "backend"

    @property
    def error_log(self) -> Path:
        return self.root / "log" / "error_log"

    def ppd(self, printer: str) -> Path:
        """Where cupsd keeps the PPD of queue ``printer``."""
        return self.server_root / "ppd" / f"{printer}.ppd"

    def _prepare(self) -> None:
        # The scheduler drops to user lp for filters and backends, which must reach the spool
        # and the cache below this folder.
        self.root.chmod(0o755)
        for name in ("etc", "etc/ppd", "spool", "spool/tmp", "cache", "state", "log", "bin", "bin/backend"):
            (self.root / name).mkdir(mode=0o755, exist_ok=True)
        (self.root / "bin").chmod(0o755)
        self.backend_dir.chmod(0o755)
        for name in LINKED_DIRS:
            (self.root / "bin" / name).symlink_to(STOCK_SERVER_BIN / name)
        for name in STOCK_BACKENDS:
            (self.backend_dir / name).symlink_to((STOCK_SERVER_BIN / "backend" / name).resolve())
        (self.server_root / "cupsd.conf").write_text(
            _CUPSD_CONF.format(port=self.port, retry_interval=self.retry_interval, retry_limit=self.retry_limit))
        (self.server_root / "cups-files.conf").write_text(_CUPS_FILES_CONF.format(root=self.root))

    # -- clients ---------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The environment a CUPS client needs to talk to this scheduler and to nothing else."""
        environment = dict(os.environ)
        environment.update({
            "CUPS_SERVER": f"127.0.0.1:{self.port}",
            # client.conf and the local certificates are looked up here, not in /etc/cups or /run/cups.
            "CUPS_SERVERROOT": str(self.server_root),
            "CUPS_STATEDIR": str(self.root / "state"),
            "CUPS_ENCRYPTION": "Never",
            "LC_ALL": "C",
        })
        return environment

    def run(self, *argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a CUPS client (``lp``, ``lpstat``, ...) against this scheduler; raise if it fails and ``check``."""
        result = subprocess.run(list(argv), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}: {result.stdout}{result.stderr}")
        return result

    def lp(self, printer: str, path: Path, *options: str) -> str:
        """Print ``path`` on ``printer``; returns the CUPS job name, e.g. ``Pagero-3``."""
        output = self.run("lp", "-d", printer, *options, "--", str(path)).stdout
        match = _REQUEST_ID.search(output)
        assert match, output
        return match.group(1)

    def jobs(self, which: str = "not-completed") -> list[str]:
        """The CUPS job names ``lpstat -W which -o`` lists."""
        output = self.run("lpstat", "-W", which, "-o").stdout
        return [line.split()[0] for line in output.splitlines() if line.strip()]

    def wait_completed(self, job: str, timeout: float = 60) -> None:
        """Wait until CUPS lists ``job`` as completed; raise with the scheduler's log if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if job in self.jobs("completed"):
                return
            time.sleep(0.25)
        raise AssertionError(f"CUPS job {job} not completed after {timeout} s:\n"
                             f"{self.run('lpstat', '-l', '-o', check=False).stdout}\n{self.log_tail()}")

    def wait_ready(self, printer: str, timeout: float = 60) -> None:
        """Wait until ``printer`` has its PPD and is idle and accepting jobs.

        ``lpadmin -m everywhere`` may return before the PPD is in place (cups#1574); a job sent
        in that window would go out unconverted.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.run("lpstat", "-p", printer, "-a", printer, check=False).stdout
            if (self.ppd(printer).is_file() and f"printer {printer} is idle" in status
                    and f"{printer} accepting requests" in status):
                return
            time.sleep(0.2)
        raise AssertionError(f"queue {printer} not ready after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        """The end of the scheduler's error log, for assertion messages."""
        if not self.error_log.exists():
            return "(no error_log)"
        return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])

    # -- life ------------------------------------------------------------------------------

    def start(self) -> Cupsd:
        self._prepare()
        argv = [CUPSD, "-f", "-c", str(self.server_root / "cupsd.conf"),
                "-s", str(self.server_root / "cups-files.conf")]
        # A bare environment: cupsd hands parts of its own to filters and backends.
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        log = open(self.root / "log" / "cupsd.out", "ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environment,
                                     start_new_session=True)
        log.close()
        try:
            wait_for_port(self.port, self.proc)
            deadline = time.monotonic() + 30
            while "scheduler is running" not in self.run("lpstat", "-r", check=False).stdout:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"private cupsd does not answer:\n{self.log_tail()}")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@contextmanager
def private_cupsd(**kwargs: int) -> Iterator[Cupsd]:
    """A running private cupsd in a fresh folder under /var/tmp, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pagero-cupsd-", dir="/var/tmp"))
    cupsd = Cupsd(root, **kwargs)
    try:
        yield cupsd.start()
    finally:
        cupsd.stop()
        shutil.rmtree(root, ignore_errors=True)
