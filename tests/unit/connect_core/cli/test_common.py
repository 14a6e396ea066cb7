"""``settle_data_dir``: which data dir a command works on, against real running ``serve`` processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from connect_core.cli.common import CREATE, READ, TEMPLATES, CliParser, settle_data_dir
from connect_core.config import load_config
from connect_core.errors import ConnectError
from connect_core.paths import default_data_dir
from tests.support.harness import Server, running


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What the code under test wrote on stderr, by line."""
    return capsys.readouterr().err.splitlines()


needs_empty_default = pytest.mark.skipif(
    (default_data_dir() / "connect.db").exists(),
    reason=f"this machine has a store in the default data dir {default_data_dir()}")


def test_without_a_server_a_reading_command_refuses_and_creates_nothing(data_root: Path) -> None:
    data_dir = data_root / "nothing-here"
    with pytest.raises(ConnectError, match=f"no Pagero Connect data in {data_dir} yet: start `pagero-connect serve`"):
        settle_data_dir(load_config(None, {"storage.data_dir": str(data_dir)}), READ, own_config=False)
    assert not data_dir.exists()


def test_without_a_server_a_creating_command_goes_on_and_says_where(
        data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(None, {"storage.data_dir": str(data_root / "new")})
    assert settle_data_dir(config, CREATE, own_config=False) is config
    assert stderr_lines(capsys) == [f"pagero-connect: data in {data_root / 'new'} (new)"]


def test_an_explicit_data_dir_without_a_store_names_the_running_servers_data_dir(data_root: Path) -> None:
    with running(data_root / "served") as server:
        for use in (READ, CREATE):
            with pytest.raises(ConnectError) as refused:
                settle_data_dir(load_config(None, {"storage.data_dir": str(data_root / "typo")}), use,
                                own_config=False)
            message = str(refused.value)
            assert f"no Pagero Connect data in {data_root / 'typo'}" in message
            assert f"use --data-dir {server.data_dir}" in message and "\n" not in message
        assert not (data_root / "typo").exists()


def test_an_explicit_empty_folder_made_on_purpose_takes_a_new_store_beside_a_running_server(
        data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running(data_root / "served"):
        made = data_root / "second"
        made.mkdir()
        config = load_config(None, {"storage.data_dir": str(made)})
        assert settle_data_dir(config, CREATE, own_config=False) is config
        assert stderr_lines(capsys)[-1] == f"pagero-connect: data in {made} (new)"
        with pytest.raises(ConnectError, match="use --data-dir"):  # reading an empty folder is still a mistake
            settle_data_dir(config, READ, own_config=False)
        (made / "notes.txt").write_text("not ours\n")  # a folder with other things in it is not made for us
        with pytest.raises(ConnectError, match="use --data-dir"):
            settle_data_dir(config, CREATE, own_config=False)


def test_an_existing_store_is_used_and_named(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running(data_root / "served") as server:
        config = load_config(None, {"storage.data_dir": str(server.data_dir)})
        assert settle_data_dir(config, READ, own_config=False).data_dir == server.data_dir
    assert stderr_lines(capsys) == [f"pagero-connect: data in {server.data_dir}"]


@needs_empty_default
def test_without_a_data_dir_the_one_running_server_is_followed_with_its_settings(
        data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = data_root / "server.yaml"
    settings.write_text("sending:\n  mode: automatic\n")
    existed = default_data_dir().exists()
    with running(data_root / "served", config=settings) as server:
        settled = settle_data_dir(load_config(None), READ, own_config=False)
        assert settled.data_dir == server.data_dir
        assert settled.sending.mode == "automatic"  # approve then queues, as the server would
        assert server.proc is not None
        assert stderr_lines(capsys) == [
            f"pagero-connect: data in {server.data_dir} (of the server running as pid {server.proc.pid})"]
        # Given settings of its own, the command keeps them and only follows the data dir.
        own = settle_data_dir(load_config(None), READ, own_config=True)
        assert own.data_dir == server.data_dir and own.sending.mode == "manual"
    assert default_data_dir().exists() == existed


@needs_empty_default
def test_without_a_data_dir_several_servers_are_named_and_none_is_guessed(data_root: Path) -> None:
    with running(data_root / "one") as one, running(data_root / "two") as two:
        for use in (READ, CREATE):
            with pytest.raises(ConnectError) as refused:
                settle_data_dir(load_config(None), use, own_config=False)
            message = str(refused.value)
            assert str(one.data_dir) in message and str(two.data_dir) in message and "--data-dir" in message
        # extract only looks for templates: it never refuses
        assert settle_data_dir(load_config(None), TEMPLATES, own_config=False).data_dir == default_data_dir()


def test_a_stopped_server_is_no_longer_followed(data_root: Path) -> None:
    server = Server(data_root / "served").start()
    server.stop()
    with pytest.raises(ConnectError, match="yet: start `pagero-connect serve`"):
        settle_data_dir(load_config(None, {"storage.data_dir": str(data_root / "other")}), READ, own_config=False)


def test_a_parser_error_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = CliParser(prog="pagero-connect demo")
    parser.add_argument("--state", choices=("ready", "sent"))
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--state", "bogus"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("pagero-connect demo: argument --state: invalid choice: 'bogus'")
    assert err.count("\n") == 1 and "usage" not in err
