"""Ghostscript converts PostScript, and a hostile job gets nothing out of it (reliability.md T14/T15)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest

from printer_backend.errors import GhostscriptUnavailable
from printer_backend.ghostscript import (
    GhostscriptFailed,
    check_ghostscript,
    ghostscript_version,
    isolation,
    keep_warm,
    run_ghostscript,
    warm_ready,
)
from printer_backend.limits import Limits
from tests.support.printed import INVOICE_NUMBER, INVOICE_TOTAL, Canaries

SHOW = "/Helvetica findfont 10 scalefont setfont 72 700 moveto"


def read_and_show(path: str) -> str:
    return f"%!PS\n{SHOW}\n/f ({path}) (r) file def\nf 200 string readstring pop show showpage\n"


# (job, what Ghostscript must say when it refuses it)
HOSTILE = {
    "read a canary in /tmp": (lambda c: read_and_show(str(c.in_tmp)), "/invalidfileaccess"),
    "read another job's file": (lambda c: read_and_show(str(c.other_job)), "/invalidfileaccess"),
    "read /etc/passwd": (lambda c: read_and_show("/etc/passwd"), "/invalidfileaccess"),
    "open a %pipe%": (
        lambda c: f"%!PS\n(%pipe%touch /tmp/pagero-pwned-{c.token}) (w) file closefile showpage\n",
        "/invalidfileaccess",
    ),
    "a fork bomb through a %pipe%": (
        lambda c: "%!PS\n(%pipe%bomb() { bomb | bomb & }; bomb) (r) file closefile showpage\n",
        "/invalidfileaccess",
    ),
    "write a file in /tmp": (
        lambda c: f"%!PS\n/f (/tmp/pagero-pwned-{c.token}) (w) file def f (x) writestring f closefile showpage\n",
        "/invalidfileaccess",
    ),
    "write into another job": (
        lambda c: f"%!PS\n/f ({c.spool}/job-2/evil.ps) (w) file def f (x) writestring f closefile showpage\n",
        "/invalidfileaccess",
    ),
    "switch devices": (lambda c: "%!PS\n/txtwrite finddevice setdevice showpage\n", "setdevice"),
    "redirect the output file": (
        lambda c: f"%!PS\n<< /OutputFile (/tmp/pagero-pwned-{c.token}) >> setpagedevice showpage\n",
        "Could not open the file",
    ),
    "redirect the output to a pipe": (
        lambda c: f"%!PS\n<< /OutputFile (%pipe%touch /tmp/pagero-pwned-{c.token}) >> setpagedevice showpage\n",
        "Could not open the file",
    ),
    "read the environment": (lambda c: f"%!PS\n{SHOW}\n(PATH) getenv pop show showpage\n", "/undefined in getenv"),
}


class Start:
    """Run jobs in a Ghostscript started for them ("cold") or started ahead and kept waiting ("warm")."""

    def __init__(self, warm: bool) -> None:
        self.warm = warm
        self.spare: int | None = None

    def prepare(self, limits: Limits, work_root: Path | None = None) -> None:
        if self.warm:
            keep_warm(True, limits=limits, work_root=work_root)
            self.spare = warm_ready(timeout=30)
            assert self.spare is not None, "no Ghostscript was started ahead"

    def finish(self) -> None:
        if self.warm:
            keep_warm(False)


@pytest.fixture(params=["cold", "warm"])
def start(request: pytest.FixtureRequest) -> Iterator[Start]:
    started = Start(request.param == "warm")
    yield started
    keep_warm(False)


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_ghostscript_itself_refuses_a_hostile_job(case: str, canaries: Canaries, tmp_path: Path, start: Start) -> None:
    make, refusal = HOSTILE[case]
    source = canaries.job(make(canaries))
    limits = Limits(cpu_seconds=10, wall_seconds=30)
    start.prepare(limits, canaries.work_root)
    before = canaries.tree()
    output = tmp_path / "out.pdf"

    with pytest.raises(GhostscriptFailed) as failed:
        run_ghostscript(source, output, limits=limits, work_root=canaries.work_root)
    start.finish()

    assert refusal in failed.value.messages
    assert failed.value.reason.startswith("conversion failed: ")
    assert not output.exists()
    assert not any(secret in failed.value.messages for secret in canaries.canary_texts)
    assert not any(path.exists() for path in canaries.forbidden_writes())
    assert canaries.tree() == before
    assert list(canaries.work_root.iterdir()) == []  # the job directory is gone too


def test_a_listing_of_tmp_shows_only_the_jobs_own_files(canaries: Canaries, tmp_path: Path, start: Start) -> None:
    source = canaries.job(
        f"%!PS\n{SHOW}\n/y 700 def\n"
        "(/tmp/*) { 72 y moveto show /y y 12 sub def } 1024 string filenameforall\n"
        f"({canaries.spool}/job-2/*) {{ 72 y moveto show /y y 12 sub def }} 1024 string filenameforall\n"
        "72 y moveto (listing done) show showpage\n"
    )
    output = tmp_path / "out.pdf"
    start.prepare(Limits(), canaries.work_root)
    run_ghostscript(source, output, limits=Limits(), work_root=canaries.work_root)
    text = pypdf.PdfReader(output).pages[0].extract_text()
    assert "listing done" in text
    assert canaries.in_tmp.name not in text and "invoice.txt" not in text


def test_the_temp_directory_is_private_to_the_job(canaries: Canaries, tmp_path: Path, start: Start) -> None:
    source = canaries.job(f"%!PS\n{SHOW}\n(probe) (w) .tempfile closefile show showpage\n")
    output = tmp_path / "out.pdf"
    start.prepare(Limits(), canaries.work_root)
    run_ghostscript(source, output, limits=Limits(), work_root=canaries.work_root)
    start.finish()
    temp_file = pypdf.PdfReader(output).pages[0].extract_text().strip()
    assert temp_file.startswith(f"{canaries.work_root}/pagero-gs-") and "/tmp/probe" in temp_file
    assert list(canaries.work_root.iterdir()) == []


def test_an_endless_loop_is_stopped_by_the_cpu_limit(canaries: Canaries, tmp_path: Path, start: Start) -> None:
    # The reason tells the CPU limit from the wall clock (60 s), however loaded this machine is.
    limits = Limits(cpu_seconds=2, wall_seconds=60)
    start.prepare(limits, canaries.work_root)
    with pytest.raises(GhostscriptFailed, match=r"CPU limit reached \(2 s\)"):
        run_ghostscript(canaries.job("%!PS\n{} loop\n"), tmp_path / "out.pdf", limits=limits,
                        work_root=canaries.work_root)
    start.finish()
    assert list(canaries.work_root.iterdir()) == []


def test_an_endless_loop_is_stopped_by_the_wall_clock(canaries: Canaries, tmp_path: Path, start: Start) -> None:
    limits = Limits(cpu_seconds=30, wall_seconds=2)
    start.prepare(limits, canaries.work_root)
    started = time.monotonic()
    with pytest.raises(GhostscriptFailed, match="time limit reached"):
        run_ghostscript(canaries.job("%!PS\n{} loop\n"), tmp_path / "out.pdf", limits=limits,
                        work_root=canaries.work_root)
    assert time.monotonic() - started < 2 + 5
    start.finish()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(canaries.work_root) not in ps  # no Ghostscript left running


def test_a_memory_hog_is_stopped_by_the_memory_limit(canaries: Canaries, tmp_path: Path, start: Start) -> None:
    source = canaries.job("%!PS\n/a 100000 array def 0 1 99999 { a exch 65535 string put } for showpage\n")
    limits = Limits(memory_bytes=200 * 2**20)
    start.prepare(limits)
    with pytest.raises(GhostscriptFailed, match=r"memory limit reached \(200 MB\)"):
        run_ghostscript(source, tmp_path / "out.pdf", limits=limits)


def test_endless_output_is_stopped_by_the_file_size_limit(canaries: Canaries, tmp_path: Path, start: Start) -> None:
    source = canaries.job(
        f"%!PS\n{SHOW}\n1 1 100000 {{ 0 1 50 {{ 72 exch 12 mul 50 add moveto "
        "(Lorem ipsum dolor sit amet, consectetur adipiscing elit) show } for showpage } for\n"
    )
    limits = Limits(output_bytes=100_000)
    start.prepare(limits)
    with pytest.raises(GhostscriptFailed, match=r"output size limit reached \(98 KB\)"):
        run_ghostscript(source, tmp_path / "out.pdf", limits=limits)


def test_an_invoice_keeps_its_text(invoice_ps: Path, tmp_path: Path, start: Start) -> None:
    output = tmp_path / "invoice.pdf"
    start.prepare(Limits())
    run = run_ghostscript(invoice_ps, output, limits=Limits())
    if start.warm:  # the job went to the Ghostscript started ahead, and the next one is on its way
        assert run.process_id == start.spare
        assert warm_ready(timeout=30) not in (None, start.spare)
    reader = pypdf.PdfReader(output)
    assert len(reader.pages) == 2
    text = reader.pages[0].extract_text()
    assert INVOICE_NUMBER in text and INVOICE_TOTAL in text
    assert "-dSAFER" in run.isolation and "private empty TMPDIR" in run.isolation


def test_isolation_uses_what_the_machine_allows() -> None:
    words = isolation()
    assert {"-dSAFER", "private empty TMPDIR", "clean environment"} <= set(words)
    if os.geteuid() == 0 and subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0:
        assert "no network (own network namespace)" in words


def test_the_version_is_the_installed_one() -> None:
    installed = subprocess.run(["gs", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert ghostscript_version() == installed
    assert check_ghostscript("9.50") == installed


def test_an_old_ghostscript_is_refused_at_start() -> None:
    with pytest.raises(GhostscriptUnavailable, match="older than the required 99.0"):
        check_ghostscript("99.0")


def test_the_output_gate_takes_a_plain_file_and_never_follows_a_link(tmp_path: Path) -> None:
    from printer_backend.ghostscript import _take_output

    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-SHADOW")
    link = tmp_path / "out.pdf"
    link.symlink_to(secret)
    with pytest.raises(GhostscriptFailed):
        _take_output(link, tmp_path / "taken.pdf", "")
    assert not (tmp_path / "taken.pdf").exists()
    link.unlink()
    os.link(secret, link)  # a hard link to a file outside the job
    with pytest.raises(GhostscriptFailed, match="tampered"):
        _take_output(link, tmp_path / "taken.pdf", "")


def test_folders_left_by_a_server_that_died_are_swept_at_the_next_start(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])  # a process id that is no longer running
    dead.wait()
    left = tmp_path / f"pagero-gs-{dead.pid}-x1y2z3"
    (left / "tmp").mkdir(parents=True)
    (left / "out.pdf").write_bytes(b"%PDF-1.7\n")
    alive = tmp_path / "pagero-gs-1-a1b2c3"  # process 1 always runs
    alive.mkdir()
    try:
        keep_warm(True, limits=Limits(), work_root=tmp_path)
        assert warm_ready(timeout=30) is not None
        assert not left.exists()
        assert alive.exists()
        mine = [p for p in tmp_path.iterdir() if p.name.startswith(f"pagero-gs-{os.getpid()}-")]
        assert len(mine) == 1  # the waiting Ghostscript's own folder, named after this process
    finally:
        keep_warm(False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name]


def test_a_waiting_ghostscript_whose_folder_was_cleaned_away_is_not_used(invoice_ps: Path, tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    try:
        keep_warm(True, limits=Limits(), work_root=root)
        spare = warm_ready(timeout=30)
        assert spare is not None
        (folder,) = root.iterdir()
        shutil.rmtree(folder)  # as a tmp cleaner does to folders nobody touched for days
        run = run_ghostscript(invoice_ps, tmp_path / "out.pdf", limits=Limits(), work_root=root)
        assert run.process_id != spare
        assert INVOICE_NUMBER in pypdf.PdfReader(tmp_path / "out.pdf").pages[0].extract_text()
        assert not Path(f"/proc/{spare}").exists()  # stopped and reaped
    finally:
        keep_warm(False)
