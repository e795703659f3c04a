"""Writing the screening command's output files: CSV for people, Parquet for long tables, all or none.

CSV cells that a spreadsheet would run as a formula are neutralised, since coordinators open
these files in Excel; Parquet is read by programs and is written as is.

:func:`publish_set` moves a staged set of files into an output folder as one set (the screen's
files, the SDTM export): the folder ends with exactly this run's files of the set's family, or,
on a failure, as it was. Staging folders sit beside the output folder, named for it and the
writing process (:func:`new_stage`), so that a run killed outright leaves nothing a later run
does not remove.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from .chunked_output import write_csv_chunks, write_parquet_chunks
from .csv_rows import FORMULA_PREFIXES, is_text_column
from .output_lock import pid_alive


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote."""
    out = frame.copy()
    for column in out.columns:
        if is_text_column(out[column].dtype):
            text = out[column].astype("string")
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
            out[column] = text.where(~risky, "'" + text)
    return out


PARQUET_ABOVE_ROWS = 1_000_000
"""Long tables (outcomes, missing data) with more rows than this are written as Parquet under
``--long-format auto``: CSV writing of tens of millions of sentences takes minutes."""


def _write_one(frame: pd.DataFrame, path: Path) -> None:
    # One writer for the in-process and the bucketed screen, so both give the same bytes.
    # Parquet is read by programs, not opened as a spreadsheet: no formula neutralising.
    if path.suffix == ".parquet":
        write_parquet_chunks([frame], path)
    else:
        write_csv_chunks([frame], path)


STAGE_MARK = ".staging-"
"""Between an output folder's name and the writing process's PID in its staging folder's name."""


def new_stage(out: Path) -> Path:
    """A new staging folder beside ``out``, named for it and this process: ``.<out>.staging-<pid>-<random>``.

    Beside ``out`` (same file system: publishing is renaming). Staging folders of ``out`` left by
    runs that no longer run (killed with SIGKILL, or the machine stopped) are removed first
    (:func:`remove_abandoned_stages`): a later run tidies what a killed one could not.
    """
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_stages(out)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGE_MARK}{os.getpid()}-", dir=out.parent))


def remove_abandoned_stages(out: Path) -> list[Path]:
    """Remove the staging folders of ``out`` (:func:`new_stage`) whose process no longer runs; return them."""
    out = Path(out).absolute()
    prefix = f".{out.name}{STAGE_MARK}"
    removed = []
    for folder in out.parent.glob(glob.escape(prefix) + "*"):
        pid = folder.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)) and folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def write_outputs(files: dict[str, pd.DataFrame], out: Path, family: Iterable[str] = ()) -> list[Path]:
    """Write CSV or Parquet files (by name) into ``out`` as one set: all of them appear, or none.

    ``family``: other names the writer can produce; such files of an earlier run in ``out`` are
    removed once this run's set is in (:func:`publish_set`).
    """
    staging = new_stage(out)
    try:
        # Files on both cores (a Parquet writer compresses while a CSV is formatted); each
        # file is written by one thread alone, so its bytes do not depend on the others.
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            for done in [pool.submit(_write_one, frame, staging / name) for name, frame in files.items()]:
                done.result()  # re-raises a writer's error here
        return publish_set(staging, list(files), out, [*files, *family])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def long_table_name(stem: str, rows: int, choice: str) -> str:
    """File name of a long output table: CSV, Parquet, or (``auto``) Parquet above the row limit."""
    parquet = choice == "parquet" or (choice == "auto" and rows > PARQUET_ABOVE_ROWS)
    return f"{stem}.parquet" if parquet else f"{stem}.csv"


def publish_set(staging: Path, names: Sequence[str], out: Path, family: Iterable[str]) -> list[Path]:
    """Move the files ``names`` from ``staging`` into ``out`` as one set; remove the rest of ``family`` there.

    Nothing half-written: a new ``out`` is ``staging`` renamed in one step. Into an existing folder, the
    files of ``family`` (every name the writer can produce) it holds are first moved aside, then the new
    files moved in; only when all are in are the old ones deleted, so an earlier run's file that this run
    does not write (DM from a dataset export beside a result folder's IE) does not stay beside them. On
    a failure the new files are taken out and the old ones put back. ``staging`` must be beside ``out``
    (same file system: every move is a rename).

    Parameters
    ----------
    staging : Path
        The folder holding exactly the finished files ``names``.
    names : sequence of str
        This run's files, in the order to return them.
    out : Path
        The output folder (created when missing).
    family : iterable of str
        Every file name the writer can produce (``names`` among them); other files in ``out`` are left alone.

    Returns
    -------
    list of Path
        ``out / name`` for each of ``names``.

    Raises
    ------
    OSError
        A file could not be moved, with ``filename`` the destination in ``out`` and the message saying that
        ``out`` was left as it was (or, if even that failed, where the earlier files are).
    """
    if not out.exists():
        os.chmod(staging, 0o777 & ~current_umask())  # as mkdir would make it (mkdtemp's folder is 0700)
        os.replace(staging, out)
        return [out / name for name in names]
    if not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder; the files are written into a folder",
                                 str(out))
    present = [name for name in dict.fromkeys([*names, *family]) if os.path.lexists(out / name)]
    folders = [name for name in present if (out / name).is_dir() and not (out / name).is_symlink()]
    if folders:
        raise IsADirectoryError(errno.EISDIR, f"is a folder where this run writes a file; nothing in {out} "
                                "was changed: move it away", str(out / folders[0]))
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=out.parent))
    moved_aside: list[str] = []
    moved_in: list[str] = []
    target = out  # the file in ``out`` being moved, for the message
    try:
        for name in present:
            target = out / name
            os.replace(target, aside / name)
            moved_aside.append(name)
        for name in names:
            target = out / name
            os.replace(staging / name, target)
            moved_in.append(name)
    except BaseException as error:  # a signal's exception too (SIGTERM to screen): never a mixed folder
        kept = _roll_back(out, staging, aside, moved_in, moved_aside)
        if not isinstance(error, OSError):
            raise
        raise OSError(error.errno, f"{error.strerror or error}; {kept}", str(target)) from error
    shutil.rmtree(aside, ignore_errors=True)
    return [out / name for name in names]


def current_umask() -> int:
    """The process's umask (read by setting it and back: call it while no other thread creates files)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _roll_back(out: Path, staging: Path, aside: Path, moved_in: list[str], moved_aside: list[str]) -> str:
    """Take this run's files out of ``out`` and put the earlier ones back; say what ``out`` now holds."""
    stuck = []
    for name in reversed(moved_in):
        try:
            os.replace(out / name, staging / name)
        except OSError:
            stuck.append(str(out / name))
    for name in reversed(moved_aside):
        try:
            os.replace(aside / name, out / name)
        except OSError:
            stuck.append(str(aside / name))
    if stuck:
        return (f"{out} could not be put back as it was ({', '.join(stuck)} stayed where they are); the earlier "
                f"files not in {out} are in {aside}")
    shutil.rmtree(aside, ignore_errors=True)
    return f"nothing was changed in {out}"
