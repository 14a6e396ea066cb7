"""What every subcommand shares: its parser, the store it works on, who acts, and how rows are printed."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from connect_core.config import Config, load_config
from connect_core.errors import ConfigError, ConnectError

if TYPE_CHECKING:
    from connect_core.intake.spool import Spool
    from connect_core.invoices.access import Actor
    from connect_core.running import RunningServer
    from connect_core.store import Database

Handler = Callable[[argparse.Namespace, Config], int]

READ = "read"
"""The command works on an existing store and never creates one."""
CREATE = "create"
"""The command may create a new store (``user add``, ``import``) when no server runs elsewhere."""
TEMPLATES = "templates"
"""The command only reads the data dir's templates: it follows a running server but never refuses."""


class CliParser(argparse.ArgumentParser):
    """A parser whose errors are one line (``pagero-connect list: argument --state: …``) and exit code 2.

    argparse's own error prints the whole usage block first; one line is what a person (and a
    script's log) can read.  ``--help`` still prints the full help.
    """

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: <message>`` on stderr and exit with code 2."""
        self.exit(2, f"{self.prog}: {one_line(message)}\n")


def one_line(text: str) -> str:
    """``text`` on one line: messages from elsewhere (lpadmin, a server) may hold line breaks."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def common_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """``--config`` and ``--data-dir``; ``suppress`` for a nested subcommand, so that options given
    before its name are not reset by its defaults."""
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument("--config", type=Path, default=default, help="YAML configuration file")
    parser.add_argument("--data-dir", default=default,
                        help="data directory (spool, database); overrides the config")


def command(commands: Any, name: str, help: str, handler: Handler, *, data: str | None = READ,
            description: str | None = None) -> argparse.ArgumentParser:
    """Add subcommand ``name`` run by ``handler``, with the options every subcommand takes.

    ``data`` says how it uses the data dir: :data:`READ`, :data:`CREATE`, :data:`TEMPLATES` or
    None (not at all, or in its own way like ``serve``).
    """
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help, description=description or help)
    common_options(parser)
    parser.set_defaults(handler=handler, data=data)
    return parser


def acting_option(parser: argparse.ArgumentParser) -> None:
    """``--as USER``: act as a status page user (their invoices only, their name in the history)."""
    parser.add_argument("--as", dest="as_user", metavar="USER",
                        help="act as this status page user: only their invoices, recorded under their name")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def unreadable(path: Path) -> str | None:
    """Why the file ``path`` cannot be read (in words, naming it), or None when it can."""
    if path.is_dir():
        return f"{path} is a folder, not a file"
    try:
        with open(path, "rb"):
            return None
    except OSError as error:
        return f"cannot read {path}: {error.strerror or error}"


# -- the data dir ----------------------------------------------------------------------------


def has_store(config: Config) -> bool:
    """Whether the configured store exists (a database URL other than a SQLite file is taken as existing)."""
    url = config.storage.database_url
    if not url:
        return (config.data_dir / "connect.db").is_file()
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).is_file()
    return True


def _same(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.expanduser().resolve()


def _say(data_dir: Path, note: str = "") -> None:
    # stderr: stdout stays clean for --json and for scripts reading the output.
    print(f"pagero-connect: data in {data_dir}{note}", file=sys.stderr)


def _adopt(config: Config, server: RunningServer, own_config: bool) -> Config:
    """``config`` moved onto ``server``'s data dir, with the server's settings when we were given none."""
    data = {"storage.data_dir": str(server.data_dir)}
    if not own_config and server.config is not None:
        try:
            return load_config(server.config, data)
        except ConfigError:
            pass  # e.g. the service's file is not readable by this user: its data dir is still right
    return config.replace(data)


def _empty_folder(path: Path) -> bool:
    try:
        return path.is_dir() and not any(path.iterdir())
    except OSError:
        return False


def settle_data_dir(config: Config, use: str | None, *, own_config: bool) -> Config:
    """The configuration a command runs with, its data dir checked against the servers running here.

    A store that exists is used (and named on stderr).  Where there is none, a command never
    makes an empty one beside a running server: without an explicit data dir (``--data-dir``,
    the config or ``PAGERO_STORAGE_DATA_DIR``) it follows the one running server (with that
    server's settings when ``own_config`` is False), and refuses when several run; with an
    explicit one it refuses and names the server's, except that a :data:`CREATE` command may start
    a store in an explicit folder that exists and is empty (made on purpose, not mistyped).  With no
    server running, only :data:`CREATE` commands may go on (their store is created); :data:`READ`
    ones refuse.  :data:`TEMPLATES` follows a single server but never refuses and says nothing.
    """
    from connect_core.running import running_servers

    if use is None:
        return config
    data_dir = config.data_dir
    explicit = bool(config.storage.data_dir)
    quiet = use == TEMPLATES
    if has_store(config):
        if quiet:
            return config
        note = ""
        if not explicit:
            # A store left behind by an earlier mistake must not hide the server's data silently.
            servers = running_servers()
            if servers and not any(_same(s.data_dir, data_dir) for s in servers):
                note = (f" (the server running as pid {servers[0].pid} uses {servers[0].data_dir}: "
                        f"pass --data-dir {servers[0].data_dir} to work on its data)")
        _say(data_dir, note)
        return config
    servers = running_servers()
    if any(_same(s.data_dir, data_dir) for s in servers):
        if not quiet:
            _say(data_dir)
        return config
    if not servers:
        if quiet:
            return config
        if use == CREATE:
            _say(data_dir, " (new)")
            return config
        raise ConnectError(f"no Pagero Connect data in {data_dir} yet: start `pagero-connect serve` first, "
                           "or name the data dir it uses with --data-dir")
    if explicit:
        if quiet:
            return config
        if use == CREATE and _empty_folder(data_dir):
            _say(data_dir, " (new)")
            return config
        if len(servers) == 1:
            raise ConnectError(f"no Pagero Connect data in {data_dir}, but the server running as pid "
                               f"{servers[0].pid} keeps its data in {servers[0].data_dir}: use --data-dir "
                               f"{servers[0].data_dir}")
        where = "; ".join(f"pid {s.pid} in {s.data_dir}" for s in servers)
        raise ConnectError(f"no Pagero Connect data in {data_dir}, but {len(servers)} servers run ({where}): "
                           "use --data-dir with the data dir of one of them")
    if len(servers) > 1:
        if quiet:
            return config
        where = "; ".join(f"pid {s.pid} in {s.data_dir}" for s in servers)
        raise ConnectError(f"no Pagero Connect data in {data_dir}, and {len(servers)} servers run ({where}): "
                           "name one with --data-dir")
    server = servers[0]
    adopted = _adopt(config, server, own_config)
    if not quiet:
        _say(adopted.data_dir, f" (of the server running as pid {server.pid})")
    return adopted


@contextmanager
def store(config: Config, *, create: bool = False) -> Iterator[tuple[Database, Spool]]:
    """The store and spool of the configured data dir, for one command; only ``create`` makes a new one."""
    from connect_core.intake.spool import Spool
    from connect_core.store import open_database

    data_dir = config.data_dir
    if not create and not has_store(config):
        raise ConnectError(f"no Pagero Connect data in {data_dir} yet: start `pagero-connect serve` first, "
                           "or name the data dir it uses with --data-dir")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = open_database(config.storage.database_url, data_dir)
    try:
        yield db, Spool(data_dir / "spool")
    finally:
        db.dispose()


def actor(args: argparse.Namespace, db: Database) -> Actor:
    """Who runs this command: the status page user named by ``--as``, else the machine's user (an admin).

    Whoever can run the command on the data dir can read the store anyway, so without ``--as`` the
    command sees everything; the history records the machine user's name.
    """
    name = getattr(args, "as_user", None)
    if name:
        from connect_core.accounts.users import get_user

        return get_user(db, name).actor()
    from connect_core.invoices.access import Actor

    return Actor(machine_user(), admin=True)


def machine_user() -> str:
    """The name the history records for a command run without ``--as``: ``<login> (command line)``."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"{who} (command line)"


def print_rows(rows: list[dict[str, Any]], as_json: bool, empty: str, line: Callable[[dict[str, Any]], str]) -> int:
    """A listing command's output: the rows as JSON, or one line each (``empty`` when there are none)."""
    if as_json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    if not rows:
        print(empty)
    for row in rows:
        print(line(row))
    return 0


def progress(done: int, total: int) -> None:
    """A progress bar on standard error."""
    width = 30
    filled = width * done // total
    print(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}", end="", file=sys.stderr, flush=True)
