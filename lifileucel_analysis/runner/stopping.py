"""Stopping a build cleanly: signals become an exception, and no worker or kernel outlives it.

- :func:`signals_stop_the_build`: while a build runs, SIGINT and SIGTERM raise
  :class:`BuildInterrupted` in the main thread (exit status 128 + signal: 130, 143), so the
  build's ``finally`` blocks remove the staging folder and the previous build stays.
- :func:`stop_descendants`: the parent ends every process it started, workers and their
  kernels alike (kernels run in sessions of their own, so a signal to the process group
  does not reach them).
- :func:`watch_parent`: a worker whose parent disappeared (``kill -9``) ends its kernels
  and itself within a second, instead of writing reports nobody will read.
- Staging folders carry :data:`OWNER_FILE` with the PID of their build, so the next build
  removes those of dead builds (:func:`remove_stale_stages`).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

from ..contract.output_lock import pid_alive

__all__ = ["BuildInterrupted", "OWNER_FILE", "child_pids", "mark_stage", "remove_stale_stages",
           "signals_stop_the_build", "stop_descendants", "stop_pool", "watch_parent"]

OWNER_FILE = ".building-pid"
"""In a staging folder: the PID of the build writing it."""
STOP_GRACE_SECONDS = 2.0
"""Time a worker or kernel gets to end after SIGTERM before it is killed."""
STOPPED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class BuildInterrupted(BaseException):
    """The build was stopped by a signal; like KeyboardInterrupt, not caught by ``except Exception``.

    Attributes
    ----------
    signum : int
        The signal.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as a shell reports a process ended by it (130, 143)."""
        return 128 + self.signum


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    for stopped in STOPPED_SIGNALS:  # a second Ctrl-C must not interrupt the clean-up
        signal.signal(stopped, signal.SIG_IGN)
    raise BuildInterrupted(signum)


@contextmanager
def signals_stop_the_build() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into :class:`BuildInterrupted` for the duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOPPED_SIGNALS}
    for signum in STOPPED_SIGNALS:
        signal.signal(signum, _raise_interrupted)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def stop_pool(pool: ProcessPoolExecutor, everything_if_unknown: bool = False,
              children_before: Collection[int] | None = None) -> None:
    """End a process pool's workers (and their descendants) now and cancel its queued work.

    For a pool interrupted or failed part-way: waiting would let its workers run on. Their PIDs
    are read where CPython keeps them (``pool._processes``); where none are found,
    ``everything_if_unknown`` ends every process this one started instead (a build's kernels).
    ``children_before`` (:func:`child_pids` before the pool was made): children started since
    are ended too, so that a worker still being spawned when a signal came (started, but not
    yet in ``pool._processes``) does not outlive the pool.
    """
    workers = set(getattr(pool, "_processes", None) or {})
    if children_before is not None:
        workers |= child_pids() - set(children_before)
    if workers or everything_if_unknown:
        stop_descendants(roots=sorted(workers) or None)
    pool.shutdown(wait=False, cancel_futures=True)


def child_pids() -> set[int]:
    """The PIDs of this process's children (:func:`stop_descendants` leaves multiprocessing's resource
    tracker among them alone)."""
    import psutil

    return {child.pid for child in psutil.Process().children()}


def stop_descendants(grace: float = STOP_GRACE_SECONDS, roots: Collection[int] | None = None) -> int:
    """End processes and all of theirs: SIGTERM, then SIGKILL after ``grace``.

    ``roots``: the PIDs to end with their descendants (a pool's workers); ``None``: every
    process this one started. The whole tree is listed before any process is signalled,
    so kernels whose worker dies first are still found. Returns how many were signalled.
    """
    import psutil

    processes = []
    for root in ([os.getpid()] if roots is None else roots):
        with suppress(psutil.Error):
            process = psutil.Process(root)
            processes += ([] if roots is None else [process]) + process.children(recursive=True)
    processes = [p for p in processes if not _resource_tracker(p)]
    for process in processes:
        with suppress(psutil.Error):
            process.terminate()
    alive = _until_ended(processes, grace)
    for process in alive:
        with suppress(psutil.Error):
            process.kill()
    _until_ended(alive, grace)
    return len(processes)


def _until_ended(processes: list, timeout: float) -> list:
    """Wait up to ``timeout`` for ``processes`` to end; return those still running.

    A child that ended is left as a zombie for its owner to reap. psutil's ``wait_procs`` reaps
    children itself, and a pool worker reaped behind multiprocessing's back reads to it as running
    forever (its ``waitpid`` gets ECHILD): ``ProcessPoolExecutor``'s shutdown then spins on it and
    the command never exits (session 38: a bucketed screen stopped by SIGTERM, seen under load).
    """
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in processes if _running(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def _running(process: object) -> bool:
    """Whether a psutil process still runs (a zombie has ended: only its exit status is left to collect)."""
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE  # type: ignore[attr-defined]
    except psutil.Error:  # gone
        return False


def _resource_tracker(process: object) -> bool:
    """multiprocessing's resource tracker: it ends with this process and must outlive the pool's clean-up."""
    import psutil

    try:
        return "resource_tracker" in " ".join(process.cmdline())  # type: ignore[attr-defined]
    except psutil.Error:
        return False


def watch_parent(poll_seconds: float = 0.5) -> None:
    """In a worker: when the parent process is gone, end this worker's kernels and the worker."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                stop_descendants(grace=0.5)
                os._exit(1)  # no clean-up: the parent's build is abandoned

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def mark_stage(stage: Path) -> None:
    """Write this process's PID into a staging folder (see :func:`remove_stale_stages`)."""
    (stage / OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")


def remove_stale_stages(out: Path) -> list[Path]:
    """Remove staging folders of ``out`` left by builds that no longer run; return them.

    Only folders named like this module's staging folders (``.<out>.building-*``, and the
    ``.<out>.old-*`` of an interrupted swap) whose :data:`OWNER_FILE` names a dead process,
    or that have none (a build killed before writing it, older than a minute) are removed.
    """
    removed = []
    out = Path(out).absolute()
    if not out.parent.is_dir():
        return removed
    for pattern in (f".{out.name}.building-*", f".{out.name}.old-*"):
        for folder in out.parent.glob(pattern):
            if folder.is_dir() and not folder.is_symlink() and _abandoned(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def _abandoned(folder: Path) -> bool:
    try:
        text = (folder / OWNER_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return time.time() - folder.stat().st_mtime > 60
    return not (text.isdigit() and pid_alive(int(text)))
