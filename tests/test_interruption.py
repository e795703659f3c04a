"""Interrupted work and concurrent writers: real signals on a real build, real second runs.

- SIGTERM / SIGINT to ``lifileucel-eap reports`` building the fixture cohort: exit
  143 / 130 within seconds, no process of the build alive 5 s after the signal, no staging
  folder left, the previous build byte for byte as it was.
- After ``kill -9`` of a build, its workers end themselves and the next build removes the
  staging folder it left (the folder names the dead build's PID).
- One writer per output folder: while a process holds the lock of ``--out``, ``screen``
  and ``reports`` fail at once (exit 2, the holder's PID in the message, nothing written);
  a lock file naming a dead PID is taken over.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from lifileucel_analysis.contract.output_lock import lock_path
from lifileucel_analysis.paths import FIXTURE_DATASET, PROJECT_ROOT
from lifileucel_analysis.runner.build import MARKER_FILE
from lifileucel_analysis.runner.stopping import OWNER_FILE, remove_stale_stages

ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TQDM_DISABLE": "1"}
STARTUP_TIMEOUT = 240


def previous_build(out: Path) -> dict[str, bytes]:
    """An output folder as an earlier build left it (its marker, a page, an index)."""
    (out / "eligibility_report").mkdir(parents=True)
    (out / MARKER_FILE).write_text("built by lifileucel-eap reports; replaced by every build\n")
    (out / "index.html").write_text("<p>previous build</p>\n")
    (out / "eligibility_report" / "all.html").write_text("<p>previous report</p>\n")
    return snapshot(out)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def build_temp() -> Iterator[Path]:
    """A temporary folder of the build's own, removed afterwards: a build killed with -9 cannot
    remove its kernel-log folder, and the machine's /tmp should not collect one per test run.
    Short (in /tmp, not under pytest's tmp_path), so that the kernels' Unix socket paths fit
    and the signals hit kernels on the transport builds use (review 30: under tmp_path they fell
    back to TCP)."""
    temp = Path(tempfile.mkdtemp(prefix="eap-build-", dir="/tmp"))
    yield temp
    shutil.rmtree(temp, ignore_errors=True)


def start_reports(out: Path, temp: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "lifileucel_analysis", "reports", "--dataset",
                             str(FIXTURE_DATASET), "--out", str(out), "--jobs", "2"],
                            cwd=PROJECT_ROOT, env={**ENV, "TMPDIR": str(temp)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_kernels(build: subprocess.Popen[str], seen: set[int]) -> None:
    """Wait until the build runs workers and at least one kernel; collect every PID of its tree."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        assert build.poll() is None, build.communicate()
        tree = psutil.Process(build.pid).children(recursive=True)
        seen.update(p.pid for p in tree)
        if any("ipykernel" in " ".join(_cmdline(p)) for p in tree):
            time.sleep(1.0)  # let the kernel start writing
            seen.update(p.pid for p in psutil.Process(build.pid).children(recursive=True))
            return
        time.sleep(0.2)
    pytest.fail("no kernel started")


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def alive(pids: set[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
        except psutil.NoSuchProcess:
            pass
    return living


def stages(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.building-*")) + sorted(out.parent.glob(f".{out.name}.old-*"))


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_build_and_leaves_the_previous_one(signum: int, status: int, tmp_path: Path,
                                                              build_temp: Path) -> None:
    out = tmp_path / "reports"
    before = previous_build(out)
    build = start_reports(out, build_temp)
    seen: set[int] = set()
    try:
        wait_for_kernels(build, seen)
        sockets = list(build_temp.glob("lifileucel-kernel-logs-*/eap-kernel-*/k-1"))
        build.send_signal(signum)
        signalled = time.monotonic()
        _, stderr = build.communicate(timeout=30)
    finally:
        if build.poll() is None:
            build.kill()
    assert build.returncode == status, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    time.sleep(max(0.0, 5.0 - (time.monotonic() - signalled)))
    assert alive(seen) == [], "processes of the build alive 5 s after the signal"
    assert snapshot(out) == before
    assert stages(out) == []
    assert not lock_path(out).exists()
    assert sockets, "the kernels ran on Unix sockets in the build's log folder"
    # (A kernel ended by the signal may leave its connection file, tmp*.json, in TMPDIR: jupyter_client's.)
    assert list(build_temp.glob("lifileucel-kernel-logs-*")) == [], "the build's log folder (and sockets) was left"


def test_after_kill_9_workers_end_and_the_next_build_removes_the_stale_stage(tmp_path: Path,
                                                                              build_temp: Path) -> None:
    out = tmp_path / "reports"
    before = previous_build(out)
    build = start_reports(out, build_temp)
    seen: set[int] = set()
    try:
        wait_for_kernels(build, seen)
        left = stages(out)
        build.kill()
        build.communicate(timeout=30)
    finally:
        if build.poll() is None:
            build.kill()
    assert len(left) == 1 and (left[0] / OWNER_FILE).read_text().strip() == str(build.pid)
    deadline = time.monotonic() + 10
    while alive(seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive(seen) == [], "workers and kernels outlived their killed parent by 10 s"
    assert snapshot(out) == before
    assert remove_stale_stages(out) == left  # what the next build does first, under the lock
    assert stages(out) == []


def hold_lock(out: Path) -> subprocess.Popen[str]:
    code = ("import sys, time; from pathlib import Path; from lifileucel_analysis.contract.output_lock import "
            "output_lock\nwith output_lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n    time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], env=ENV, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.parametrize("command", ["screen", "reports"])
def test_a_second_writer_fails_at_once(command: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # "At once": before any dataset is read. A dataset that does not exist would be its own error,
    # so the lock's message shows the lock was checked first (no wall-clock bound: make bench times).
    absent = tmp_path / "no-such-dataset"
    holder = hold_lock(out)
    try:
        args = (["screen", str(absent)] if command == "screen" else ["reports", "--dataset", str(absent)])
        run = subprocess.run([sys.executable, "-m", "lifileucel_analysis", *args, "--out", str(out)],
                             cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert run.returncode == 2, run.stderr
    assert f"PID {holder.pid}" in run.stderr and "another lifileucel-eap run" in run.stderr
    assert "no-such-dataset" not in run.stderr
    assert not out.exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    out = tmp_path / "out"
    lock_path(out).write_text(f"{dead.stdout.strip()}\n")
    run = subprocess.run([sys.executable, "-m", "lifileucel_analysis", "screen", str(FIXTURE_DATASET), "--out",
                          str(out)], cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (out / "verdicts.csv").is_file()
    assert not lock_path(out).exists()
