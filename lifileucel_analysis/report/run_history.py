"""The run history: every screening recorded in one DuckDB file, for "what changed since last week?".

Tables (documented for analysts in ``docs/history.md``): ``runs`` (one row per run),
``verdicts`` (per run and patient) and ``outcomes`` (per run, patient and criterion, with
the evidence). A run's ID is derived from its content (cut date, dataset fingerprint,
criteria version and parameter hash, package version), never from the clock, so
recording the same run twice changes nothing.

Safety of the file, which analysts keep open in JupyterLab while a build records:

- one writer at a time: a lock file ``FILE.lock`` (``flock``) is taken before anything is
  read; a second writer waits up to ``wait_seconds`` and then fails with
  :class:`HistoryLockedError`, naming the file;
- all or nothing: the writer copies the history to a temporary file beside it, records
  the run there in one transaction, closes it and atomically replaces the history with it
  (``os.replace``). A run killed at any point leaves the history as it was (at most a
  stray ``.FILE.*.tmp``, removed by the next writer); a reader holding the old file keeps
  reading the old, complete version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # DuckDB is imported only when a history is used: plain screens never load it
    import duckdb

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..engine.parameters import CriteriaParams
from ..engine.screening import ScreeningResult
from .changes import choose_runs, patient_changes, site_counts
from .provenance import dataset_fingerprint, package_version
from .screening_inputs import ScreenedInputs

__all__ = ["HistoryError", "HistoryLockedError", "HistoryWriter", "RunRecord", "changes_since", "compared_runs",
           "locked_history", "params_sha256", "read_table", "record_run", "run_record", "run_tables", "runs",
           "stored_tables", "verdict_counts_per_run"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, sequence INTEGER NOT NULL, cut_date DATE, dataset_sha256 VARCHAR NOT NULL,
    criteria_version VARCHAR NOT NULL, params_sha256 VARCHAR NOT NULL, package_version VARCHAR NOT NULL,
    recorded_at VARCHAR, patients_screened INTEGER NOT NULL, patients_set_aside INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts (
    run_id VARCHAR NOT NULL, patient_id VARCHAR NOT NULL, site_id VARCHAR NOT NULL, verdict VARCHAR NOT NULL,
    failed VARCHAR NOT NULL, unknown VARCHAR NOT NULL, waived VARCHAR NOT NULL, criteria_version VARCHAR NOT NULL,
    PRIMARY KEY (run_id, patient_id));
CREATE TABLE IF NOT EXISTS outcomes (
    run_id VARCHAR NOT NULL, patient_id VARCHAR NOT NULL, site_id VARCHAR NOT NULL, criterion_id VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL, evidence VARCHAR NOT NULL, criteria_version VARCHAR NOT NULL,
    PRIMARY KEY (run_id, patient_id, criterion_id));
"""
TABLES = ("runs", "verdicts", "outcomes")
WAIT_SECONDS = 10.0
"""How long a second writer waits for the first before giving up."""


class HistoryError(RuntimeError):
    """A history file that cannot be used (not a DuckDB file, or without the history's tables)."""


class HistoryLockedError(HistoryError):
    """Another process is recording into the same history."""


@dataclass(frozen=True)
class RunRecord:
    """What identifies a run (the columns of ``runs`` except ``sequence`` and the counts)."""

    run_id: str
    cut_date: str | None
    dataset_sha256: str
    criteria_version: str
    params_sha256: str
    package_version: str


def params_sha256(params: CriteriaParams) -> str:
    """SHA-256 of the parameters' values (canonical JSON), so equal limits give equal hashes."""
    text = json.dumps(params.as_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_record(inputs: ScreenedInputs, criteria_version: str | None = None) -> RunRecord:
    """Identify a screening: its content, hashed, is its run ID (16 hex digits)."""
    cut = inputs.cut.cut_date.isoformat() if inputs.cut is not None else None
    digest = params_sha256(inputs.params)
    version = criteria_version or getattr(inputs.params, "version", None) or (
        "default" if inputs.criteria_params_path is None else f"custom-{digest[:12]}")
    fields = {"cut_date": cut, "dataset_sha256": dataset_fingerprint(inputs.dataset_path),
              "criteria_version": version, "params_sha256": digest, "package_version": package_version()}
    run_id = hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return RunRecord(run_id=run_id, **fields)


@contextlib.contextmanager
def _writer_lock(path: Path, wait_seconds: float) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise HistoryLockedError(
                        f"history {path} is being written by another process (lock {lock_path.name} held for "
                        f"{wait_seconds:g} s); try again when that run has finished") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stored_tables(result: ScreeningResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A screening's ``verdicts`` and ``outcomes`` as the history stores them (text columns, no run ID).

    Comparing a screening that is not recorded with a recorded run goes through this, so
    both sides have the same columns and text.
    """
    verdicts = result.verdicts[["patient_id", "site_id", "verdict", "failed", "unknown", "waived"]].astype(str)
    outcomes = result.outcomes[["patient_id", "site_id", "criterion_id", "outcome", "evidence"]].astype(str)
    return verdicts, outcomes


def _frames(inputs: ScreenedInputs, record: RunRecord) -> dict[str, pd.DataFrame]:
    verdicts, outcomes = stored_tables(inputs.result)
    for frame in (verdicts, outcomes):
        frame.insert(0, "run_id", record.run_id)
        frame["criteria_version"] = record.criteria_version
    return {"verdicts": verdicts, "outcomes": outcomes}


def _insert(con: duckdb.DuckDBPyConnection, inputs: ScreenedInputs, record: RunRecord,
            recorded_at: str | None) -> None:
    sequence = con.execute("SELECT coalesce(max(sequence), 0) + 1 FROM runs").fetchone()[0]
    set_aside = inputs.cut.patients_set_aside if inputs.cut is not None else 0
    con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [record.run_id, sequence, record.cut_date, record.dataset_sha256, record.criteria_version,
                 record.params_sha256, record.package_version, recorded_at, inputs.result.n_in, set_aside])
    for table, frame in _frames(inputs, record).items():
        con.register("incoming", frame)
        con.execute(f"INSERT INTO {table} SELECT * FROM incoming")  # noqa: S608 (fixed table names)
        con.unregister("incoming")


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise HistoryError(f"history {path} cannot be opened as a DuckDB file: {str(exc)[:200]}") from None


class HistoryWriter:
    """Records runs into a history whose writer lock the caller holds (:func:`locked_history`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, inputs: ScreenedInputs, criteria_version: str | None = None,
               recorded_at: str | None = None) -> tuple[RunRecord, bool]:
        """Record one screening, all or nothing (see :func:`record_run`)."""
        path = self.path
        record = run_record(inputs, criteria_version)
        for stray in path.parent.glob(f".{path.name}.*.tmp"):
            stray.unlink(missing_ok=True)  # left by a killed writer; we hold the lock, so none is live
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(handle)
        temp = Path(temp_name)
        try:
            if path.exists():
                shutil.copyfile(path, temp)
            else:
                temp.unlink()  # DuckDB creates its file itself
            con = _connect(temp, read_only=False)
            try:
                con.execute(SCHEMA)
                if con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [record.run_id]).fetchone()[0]:
                    return record, False
                con.execute("BEGIN TRANSACTION")
                _insert(con, inputs, record, recorded_at)
                con.execute("COMMIT")
                con.execute("CHECKPOINT")
            finally:
                con.close()
            if path.exists():
                shutil.copymode(path, temp)
            else:
                temp.chmod(0o644)  # mkstemp's 0600 would hide the history from the team's notebooks
            os.replace(temp, path)
            return record, True
        finally:
            temp.unlink(missing_ok=True)


@contextlib.contextmanager
def locked_history(history: str | Path, wait_seconds: float = WAIT_SECONDS) -> Iterator[HistoryWriter]:
    """Hold the history's writer lock for the whole block; record with the yielded writer.

    A report build holds it while it records and while its notebooks read the history, so
    that no other writer replaces the file in between and every page of the build reads the
    same history (readers themselves never take the lock).

    Raises
    ------
    HistoryLockedError
        When another writer holds the history for longer than ``wait_seconds``.
    """
    path = Path(history)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(path, wait_seconds):
        yield HistoryWriter(path)


def record_run(history: str | Path, inputs: ScreenedInputs, criteria_version: str | None = None,
               recorded_at: str | None = None, wait_seconds: float = WAIT_SECONDS) -> tuple[RunRecord, bool]:
    """Record a screening in the history file (created when absent); all or nothing.

    Parameters
    ----------
    history : str or Path
        The DuckDB file.
    inputs : ScreenedInputs
        The screening (from :func:`~.screening_inputs.screen_files`).
    criteria_version : str, optional
        The criteria version label (default: the parameters' own, else ``default`` or
        ``custom-<hash>``).
    recorded_at : str, optional
        A time stamp to store with the run; never taken from the clock, so that the file's
        content depends on the inputs only.
    wait_seconds : float
        How long to wait for another writer.

    Returns
    -------
    (RunRecord, bool)
        The run, and whether it was new (``False``: already recorded, nothing written).

    Raises
    ------
    HistoryLockedError
        When another writer holds the history for longer than ``wait_seconds``.
    HistoryError
        When the file is not a usable history.
    """
    with locked_history(history, wait_seconds) as writer:
        return writer.record(inputs, criteria_version, recorded_at)


def read_table(history: str | Path, table: str) -> pd.DataFrame:
    """Read one table of the history (read-only), ordered by run sequence and keys."""
    if table not in TABLES:
        raise HistoryError(f"no table {table!r} in a history; tables are {', '.join(TABLES)}")
    path = Path(history)
    if not path.is_file():
        raise HistoryError(f"history {path} does not exist; record a run first (screen --history {path})")
    import duckdb

    con = _connect(path, read_only=True)
    try:
        order = {"runs": "sequence", "verdicts": "run_id, patient_id",
                 "outcomes": "run_id, patient_id, criterion_id"}[table]
        return con.execute(f"SELECT * FROM {table} ORDER BY {order}").df()  # noqa: S608 (fixed names)
    except duckdb.Error as exc:
        raise HistoryError(f"history {path} has no usable table {table!r}: {str(exc)[:200]}") from None
    finally:
        con.close()


def runs(history: str | Path) -> pd.DataFrame:
    """The ``runs`` table, in recording order."""
    return read_table(history, "runs")


def run_tables(history: str | Path, run_id: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``verdicts`` and ``outcomes`` of one run (empty frames for ``None``)."""
    if run_id is None:
        return (pd.DataFrame(columns=["patient_id", "site_id", "verdict"]),
                pd.DataFrame(columns=["patient_id", "criterion_id", "outcome", "evidence"]))
    con = _connect(Path(history), read_only=True)
    try:
        verdicts = con.execute("SELECT * FROM verdicts WHERE run_id = ? ORDER BY patient_id", [run_id]).df()
        outcomes = con.execute("SELECT * FROM outcomes WHERE run_id = ? ORDER BY patient_id", [run_id]).df()
    finally:
        con.close()
    return verdicts, outcomes


def changes_since(history: str | Path, since: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str | None, str]:
    """What changed from an earlier run to the latest (see :mod:`.changes`).

    Returns
    -------
    (changes, site_counts, earlier run ID or None, latest run ID)
    """
    before, after = choose_runs(runs(history), since)
    verdicts_before, outcomes_before = run_tables(history, before)
    verdicts_after, outcomes_after = run_tables(history, after)
    table = patient_changes(verdicts_before, verdicts_after, outcomes_before, outcomes_after)
    return table, site_counts(table), before, after


def compared_runs(history: str | Path, before: str | None, after: str) -> pd.DataFrame:
    """The ``runs`` rows of two compared runs (``role`` = ``before`` / ``after``): the changes' run file."""
    table = runs(history)
    roles = {before: "before", after: "after"}
    picked = table.loc[table["run_id"].isin([r for r in roles if r is not None])].copy()
    picked.insert(0, "role", picked["run_id"].map(roles))
    picked["cut_date"] = picked["cut_date"].astype(str).str[:10].where(picked["cut_date"].notna(), "")
    return picked.sort_values("sequence").reset_index(drop=True)


def verdict_counts_per_run(history: str | Path) -> pd.DataFrame:
    """Patients per run and verdict, counted in the history (``run_id``, ``verdict``, ``patients``)."""
    import duckdb

    path = Path(history)
    con = _connect(path, read_only=True)
    try:
        return con.execute("SELECT run_id, verdict, count(*)::INTEGER AS patients FROM verdicts "
                           "GROUP BY run_id, verdict ORDER BY run_id, verdict").df()
    except duckdb.Error as exc:
        raise HistoryError(f"history {path} has no usable table 'verdicts': {str(exc)[:200]}") from None
    finally:
        con.close()
