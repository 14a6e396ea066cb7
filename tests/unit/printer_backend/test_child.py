"""Heavy parsing runs in a child that cannot take the server down, whatever the document does."""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from printer_backend import child
from printer_backend.child import run_limited
from printer_backend.errors import ConversionRefused, UnsupportedFormat
from printer_backend.limits import Limits

# Steps run in the child (module-level so that the child can import them).


def where_am_i() -> dict[str, Any]:
    limits = {
        name: list(resource.getrlimit(getattr(resource, name)))
        for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_CORE")
    }
    return {"pid": os.getpid(), "environment": dict(os.environ), "limits": limits}


def eat_memory(megabytes: int) -> dict[str, Any]:
    hog = bytearray(megabytes * 2**20)
    return {"size": len(hog)}


def spin() -> dict[str, Any]:
    while True:
        pass


def sleep(seconds: float) -> dict[str, Any]:
    started = time.time()
    time.sleep(seconds)
    return {"started": started, "ended": time.time()}


def write_forever(fd: int) -> dict[str, Any]:
    with open(fd, "wb", closefd=False) as out:
        while True:
            out.write(b"x" * 65536)


def crash() -> dict[str, Any]:
    os.kill(os.getpid(), signal.SIGSEGV)
    return {}


def refuse(reason: str) -> dict[str, Any]:
    raise UnsupportedFormat(reason)


def test_a_step_runs_in_another_process_with_a_clean_environment_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERO_TEST_SECRET", "api-token")
    limits = Limits(cpu_seconds=7, memory_bytes=300 * 2**20, output_bytes=5 * 2**20)
    seen = run_limited(where_am_i, limits=limits)
    assert seen["pid"] != os.getpid()
    assert set(seen["environment"]) <= {"PATH", "LC_ALL", "PYTHONPATH", "PWD"}  # PWD: bubblewrap names the cwd
    assert seen["limits"] == {
        "RLIMIT_AS": [300 * 2**20, 300 * 2**20],
        "RLIMIT_CPU": [7, 8],
        "RLIMIT_FSIZE": [5 * 2**20, 5 * 2**20],
        "RLIMIT_CORE": [0, 0],
    }


def test_a_memory_hog_gets_the_memory_limit_not_the_server() -> None:
    with pytest.raises(ConversionRefused, match=r"memory limit reached \(200 MB\)") as refused:
        run_limited(eat_memory, 1024, limits=Limits(memory_bytes=200 * 2**20))
    assert refused.value.peak_memory_bytes is not None and refused.value.peak_memory_bytes <= 200 * 2**20


def test_a_busy_loop_gets_the_cpu_limit() -> None:
    with pytest.raises(ConversionRefused, match=r"CPU limit reached \(1 s\)"):
        run_limited(spin, limits=Limits(cpu_seconds=1, wall_seconds=60))


def test_a_step_that_blocks_gets_the_wall_clock_limit() -> None:
    started = time.monotonic()
    with pytest.raises(ConversionRefused, match="time limit reached"):
        run_limited(sleep, 30, limits=Limits(wall_seconds=1))
    assert time.monotonic() - started < 5


def test_endless_output_gets_the_file_size_limit(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(ConversionRefused, match=r"output size limit reached \(1 MB\)"):
            run_limited(write_forever, files=[fd], limits=Limits(output_bytes=2**20))
    finally:
        os.close(fd)
    assert (tmp_path / "out").stat().st_size <= 2**20


def test_a_crash_is_a_refusal() -> None:
    with pytest.raises(ConversionRefused, match="the converter crashed"):
        run_limited(crash, limits=Limits())


def test_a_refusal_keeps_its_kind_and_reason() -> None:
    with pytest.raises(UnsupportedFormat, match="^a fax$"):
        run_limited(refuse, "a fax", limits=Limits())


def test_steps_run_side_by_side() -> None:
    results: list[dict[str, Any]] = []

    def one() -> None:
        results.append(run_limited(sleep, 2, limits=Limits()))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    spans = sorted((r["started"], r["ended"]) for r in results)
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)), "no two ran at once"


def test_a_dead_zygote_is_replaced() -> None:
    run_limited(where_am_i, limits=Limits())
    process = child._zygote._process
    assert process is not None
    process.kill()
    process.wait()
    assert run_limited(where_am_i, limits=Limits())["pid"] != process.pid
