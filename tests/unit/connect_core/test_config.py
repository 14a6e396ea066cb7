"""A wrong configuration stops start-up with one clear message naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connect_core.config import load_config
from connect_core.errors import ConfigError
from tests.support.harness import REPO


@pytest.mark.parametrize(("text", "message"), [
    ("printer:\n  paper: 5\n", "printer.paper: expected str, got int 5"),
    ("printer:\n  colour: blue\n", "printer.colour: unknown setting"),
    ("intake:\n  folder: /nonexistent/hot\n", "intake.folder: /nonexistent/hot is not a folder"),
    ("sending:\n  mode: sometimes\n", "sending.mode: 'sometimes' is not one of automatic, manual"),
    ("limits:\n  idle_timeout: -1\n", "limits.idle_timeout: -1 is below the minimum 1"),
    ("- just\n- a list\n", "the configuration must be a mapping"),
    ("printer: [unclosed\n", "not valid YAML"),
])
def test_bad_config_stops_start_with_one_clear_message(text: str, message: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "connect_core.cli", "serve", "--config", str(config), "--data-dir",
         str(tmp_path / "data"), "--listen", "127.0.0.1:9"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_unusable_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"inbound:\n  folder: {folder}\n")
    if os.geteuid() == 0:
        # root reads and writes anything on a normal disk, so make the folder truly unwritable.
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], check=True)
    else:
        folder.chmod(0)
    try:
        with pytest.raises(ConfigError, match="inbound.folder: the folder .* cannot be read and written"):
            load_config(config)
        # ... and serve stops on it with that one line, before it opens anything.
        result = subprocess.run(
            [sys.executable, "-m", "connect_core.cli", "serve", "--config", str(config), "--data-dir",
             str(tmp_path / "data"), "--listen", "127.0.0.1:9"],
            capture_output=True, text=True, cwd=REPO, timeout=60,
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "inbound.folder: the folder" in lines[0], result.stderr
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(folder)], check=True)


def test_environment_overrides_file_and_command_line_overrides_both(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("printer:\n  listen: 0.0.0.0:7000\n  name: From File\nsending:\n  mode: automatic\n")
    monkeypatch.setenv("PAGERO_PRINTER_NAME", "From Env")
    loaded = load_config(config, {"printer.listen": "127.0.0.1:7001"})
    assert loaded.printer.name == "From Env"
    assert loaded.listen == ("127.0.0.1", 7001)
    assert loaded.sending.mode == "automatic"
    assert loaded.online.environment == "Production"  # every setting has a default
