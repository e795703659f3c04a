"""One writer per output folder: a lock file next to ``--out`` holding the writer's PID.

``screen`` and ``reports`` hold :func:`output_lock` on their output folder for the whole
run, so two runs into one folder cannot publish a mix of both runs' files: the second
fails at once with :class:`OutputLockedError` (exit status 2, nothing written).

The lock is an advisory ``flock`` on ``.<out name>.lock`` in the folder's parent (the
folder itself is replaced by a rename at the end of ``reports``). The kernel releases it
when its holder dies, however it dies, so a lock file left by a killed run (its PID is
still in it) is taken over by the next run. Where ``flock`` does not exist (Windows),
the PID in the file decides: a lock of a process that no longer runs is taken over.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .messages import ShownAsMessage

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["OutputLockedError", "lock_path", "output_lock", "pid_alive"]


class OutputLockedError(ShownAsMessage, RuntimeError):
    """Another run is writing into the same output folder (exit status 2)."""


def lock_path(out: Path) -> Path:
    """The lock file of output folder ``out``: ``.<name>.lock`` next to it."""
    out = Path(out).absolute()
    return out.parent / f".{out.name}.lock"


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID runs (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # runs, as another user
        return True
    except OSError:
        return False
    return True


def _holder(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _locked_message(out: Path, path: Path, holder: int | None) -> str:
    who = f"PID {holder}" if holder is not None else "another process"
    return (f"--out {out}: another lifileucel-eap run ({who}) is writing into this folder; wait for it to "
            f"finish or choose another --out (lock file {path.name})")


@contextmanager
def output_lock(out: Path) -> Iterator[Path]:
    """Hold the lock of output folder ``out`` for the duration; yield the lock file's path.

    Raises
    ------
    OutputLockedError
        A live process holds the lock.
    """
    out = Path(out)
    path = lock_path(out)
    created = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = _acquire(out, path)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        yield path
    finally:
        with suppress(OSError):
            path.unlink()  # while still holding it, so no one locks the file being removed
        os.close(descriptor)
        _remove_empty(created)


def _remove_empty(created: list[Path]) -> None:
    """Remove the folders made for the lock file, when nothing else was written into them."""
    for folder in created:  # deepest first
        with suppress(OSError):
            folder.rmdir()


def _acquire(out: Path, path: Path) -> int:
    for _ in range(5):  # retried only when the file was replaced between open and lock
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(descriptor, path):
            os.close(descriptor)
            raise OutputLockedError(_locked_message(out, path, _holder(path)))
        try:
            same = os.fstat(descriptor).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
            return descriptor
        os.close(descriptor)  # the holder removed the file as we opened it: lock the new one
    raise OutputLockedError(_locked_message(out, path, _holder(path)))


def _try_lock(descriptor: int, path: Path) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    holder = _holder(path)  # pragma: no cover - Windows: the PID decides
    return holder is None or holder == os.getpid() or not pid_alive(holder)
