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
  the run there, closes it and atomically replaces the history with it (``os.replace``).
  A run killed at any point leaves the history as it was (at most a stray
  ``.FILE.*.tmp``, removed by the next writer); a reader holding the old file keeps
  reading the old, complete version. The copy is the writer's alone, so the run is
  appended to it part by part, each part committed: DuckDB holds an open transaction's
  appended rows in memory (beyond its memory limit), committed ones it writes out, so
  recording a run of millions of patients stays within :data:`WRITER_MEMORY`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # DuckDB is imported only when a history is used: plain screens never load it
    import duckdb

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..contract.fingerprints import sha256_file
from ..contract.messages import ShownAsMessage, counted
from ..engine.catalog import CATALOG
from ..engine.parameters import CriteriaParams
from ..engine.screening import ScreeningResult
from .changes import choose_runs, patient_changes, site_counts
from .criteria_catalog import params_sha256
from .provenance import dataset_fingerprint, package_version
from .screening_inputs import PreparedInputs, ScreenedInputs

__all__ = ["HistoryError", "HistoryLockedError", "HistoryWriter", "RunRecord", "changes_since", "check_history_file",
           "check_history_path", "compared_runs", "history_rows", "locked_history", "new_run_record", "params_sha256",
           "read_table", "record_run", "record_run_parts", "run_record", "run_tables", "runs", "stored_tables",
           "verdict_counts_per_run"]

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
WRITER_MEMORY = "1GB"
"""DuckDB's memory limit while recording (appends committed part by part stay under it)."""
PART_ROWS = 1 << 20
"""Outcome rows per part when a screening in memory is recorded."""


class HistoryError(ShownAsMessage, RuntimeError):
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


def run_record(inputs: ScreenedInputs | PreparedInputs, criteria_version: str | None = None) -> RunRecord:
    """Identify a screening (or the inputs it screens): its content, hashed, is its run ID (16 hex digits)."""
    cut = inputs.cut.cut_date if inputs.cut is not None else None
    drugs = sha256_file(inputs.drugs_path) if inputs.drugs_path is not None else None
    return new_run_record(dataset_fingerprint(inputs.dataset_path), inputs.params,
                          inputs.criteria_params_path is not None, cut, criteria_version, drugs)


def new_run_record(dataset_sha256: str, params: CriteriaParams, from_file: bool, cut_date: dt.date | None,
                   criteria_version: str | None = None, drugs_sha256: str | None = None) -> RunRecord:
    """Identify a screening from its parts (:func:`run_record` for a screening in memory).

    Parameters
    ----------
    dataset_sha256 : str
        The dataset's fingerprint (:func:`~.provenance.dataset_fingerprint`; for a bucketed
        dataset, the fingerprint of the source it was partitioned from).
    params : CriteriaParams
        The limits applied.
    from_file : bool
        Whether a criteria file overrode the defaults (a file without a ``version`` label
        is ``custom-<hash>``, the defaults alone ``default``).
    cut_date : datetime.date or None
        The data cut.
    criteria_version : str, optional
        The version label to record instead of the parameters' own.
    drugs_sha256 : str, optional
        SHA-256 of the site drug dictionary (``--drugs``) when one extended the package's:
        it changes outcomes of I2, I3 and E1, so it is part of ``params_sha256`` and of the
        run ID (without one, both are what they always were).
    """
    digest = params_sha256(params)
    version = criteria_version or getattr(params, "version", None) or (
        f"custom-{digest[:12]}" if from_file else "default")
    if drugs_sha256 is not None:  # the criteria's version stays; what decided the outcomes does not
        digest = hashlib.sha256(f"{digest}\ndrugs:{drugs_sha256}".encode()).hexdigest()
    fields = {"cut_date": cut_date.isoformat() if cut_date is not None else None, "dataset_sha256": dataset_sha256,
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


VERDICT_COLUMNS = ("patient_id", "site_id", "verdict", "failed", "unknown", "waived")
"""The columns of a run's verdicts as the history stores them (the history adds the run's)."""
OUTCOME_COLUMNS = ("patient_id", "site_id", "criterion_id", "outcome", "evidence")
"""The columns of a run's outcomes as the history stores them."""


def history_rows(verdicts: pd.DataFrame, outcomes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Verdicts and outcomes (of a screening, a bucket, a part) as the history stores them: text columns."""
    return verdicts[list(VERDICT_COLUMNS)].astype(str), outcomes[list(OUTCOME_COLUMNS)].astype(str)


def stored_tables(result: ScreeningResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A screening's ``verdicts`` and ``outcomes`` as the history stores them (text columns, no run ID).

    Comparing a screening that is not recorded with a recorded run goes through this, so
    both sides have the same columns and text.
    """
    return history_rows(result.verdicts, result.outcomes)


def _append(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, record: RunRecord) -> None:
    frame = frame.copy()
    frame.insert(0, "run_id", record.run_id)
    frame["criteria_version"] = record.criteria_version
    con.register("incoming", frame)
    con.execute(f"INSERT INTO {table} SELECT * FROM incoming")  # noqa: S608 (fixed table names)
    con.unregister("incoming")


DUCKDB_MAGIC = (8, b"DUCK")
"""Where a DuckDB database file says what it is: bytes 8-11 of its first block."""


def check_history_file(path: Path) -> None:
    """Raise :class:`HistoryError` where ``path`` is a file but not a DuckDB database (an empty file or none
    at all becomes a new history).

    Checked before a screen writes anything, and again on opening (audit 42C: ``changes --history
    patients.csv`` showed DuckDB's "Catalog Error: Cannot launch in-memory database in read-only mode!",
    and ``screen --history`` of such a file failed only after publishing the screen's files).

    Parameters
    ----------
    path : Path
        The history file as the user named it.

    Raises
    ------
    HistoryError
        Its first bytes are not a DuckDB database's (or there are fewer of them).
    """
    at, magic = DUCKDB_MAGIC
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb") as stream:
        head = stream.read(at + len(magic))
    if head[at:] != magic:  # a file shorter than the magic's end is no database either
        raise HistoryError(f"history {path} is not a DuckDB file: give the .duckdb file that "
                           "`screen --history` or `reports --history` wrote")


def check_history_path(path: Path) -> None:
    """Raise :class:`HistoryError` where ``path`` is a folder or a file that is not a DuckDB database.

    A page checks its ``history`` so before it screens (audit 43N: a CSV failed only at "Since the last
    cut"; a folder was "does not exist; record a run first", which would put a history into it).
    """
    if path.is_dir():
        raise HistoryError(f"history {path} is a folder: give the .duckdb file that `screen --history` or "
                           "`reports --history` wrote")
    check_history_file(path)


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    import duckdb

    check_history_file(path)
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
        """Record one screening, all or nothing (see :func:`record_run`).

        In parts of :data:`PART_ROWS` outcomes (the verdicts alongside): neither the text
        copies nor DuckDB's appends hold the whole run at once.
        """
        record = run_record(inputs, criteria_version)
        set_aside = inputs.cut.patients_set_aside if inputs.cut is not None else 0
        result = inputs.result
        n = max(1, -(-len(result.outcomes) // PART_ROWS))
        step_v, step_o = -(-len(result.verdicts) // n), PART_ROWS
        parts = (history_rows(result.verdicts.iloc[i * step_v:(i + 1) * step_v],
                              result.outcomes.iloc[i * step_o:(i + 1) * step_o]) for i in range(n))
        return record, self.record_parts(record, result.n_in, set_aside, parts, recorded_at)

    def record_parts(self, record: RunRecord, patients_screened: int, patients_set_aside: int,
                     parts: Iterable[tuple[pd.DataFrame, pd.DataFrame]], recorded_at: str | None = None) -> bool:
        """Record a run given part by part; all or nothing (see :func:`record_run_parts`)."""
        path = self.path
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
                    return False
                con.execute(f"SET memory_limit = '{WRITER_MEMORY}'")
                verdicts = outcomes = 0
                for verdict_rows, outcome_rows in parts:  # each part committed on its own: memory stays flat
                    _append(con, "verdicts", verdict_rows, record)
                    _append(con, "outcomes", outcome_rows, record)
                    verdicts, outcomes = verdicts + len(verdict_rows), outcomes + len(outcome_rows)
                if verdicts != patients_screened or outcomes != verdicts * len(CATALOG):
                    # N in = N out, or nothing: a part lost on the way is not a run (the copy is dropped)
                    raise HistoryError(f"run {record.run_id}: {counted(verdicts, 'verdict')} and "
                                       f"{counted(outcomes, 'outcome')} given for "
                                       f"{counted(patients_screened, 'patient')} screened; nothing recorded")
                sequence = con.execute("SELECT coalesce(max(sequence), 0) + 1 FROM runs").fetchone()[0]
                con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [record.run_id, sequence, record.cut_date, record.dataset_sha256,
                             record.criteria_version, record.params_sha256, record.package_version, recorded_at,
                             patients_screened, patients_set_aside])
                con.execute("CHECKPOINT")
            finally:
                con.close()
            if path.exists():
                shutil.copymode(path, temp)
            else:
                temp.chmod(0o644)  # mkstemp's 0600 would hide the history from the team's notebooks
            os.replace(temp, path)
            return True
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


def record_run_parts(history: str | Path, record: RunRecord, patients_screened: int, patients_set_aside: int,
                     parts: Iterable[tuple[pd.DataFrame, pd.DataFrame]], recorded_at: str | None = None,
                     wait_seconds: float = WAIT_SECONDS) -> bool:
    """Record a run given part by part (a bucketed screen's buckets); all or nothing.

    Memory holds one part at a time: each is appended to the run's tables on the writer's
    temporary copy of the history (under the writer lock) and committed there, and the
    copy replaces the history only once every part is in, the counts add up and the run's
    row is written: a run killed at any point, or parts that do not add up, leave the
    history as it was. ``parts`` is only iterated when the run is new.

    Parameters
    ----------
    history : str or Path
        The DuckDB file (created when absent).
    record : RunRecord
        The run (:func:`run_record`, :func:`new_run_record`).
    patients_screened, patients_set_aside : int
        The run's counts; the verdicts given must number ``patients_screened``, and the
        outcomes one per patient and criterion.
    parts : iterable of (DataFrame, DataFrame)
        Verdicts (:data:`VERDICT_COLUMNS`) and outcomes (:data:`OUTCOME_COLUMNS`) of some
        of the run's patients each, as :func:`history_rows` gives them.
    recorded_at, wait_seconds
        As for :func:`record_run`.

    Returns
    -------
    bool
        Whether the run was new (``False``: already recorded, nothing written).

    Raises
    ------
    HistoryLockedError
        When another writer holds the history for longer than ``wait_seconds``.
    HistoryError
        When the file is not a usable history, or the parts do not add up to the counts
        (nothing recorded).
    """
    with locked_history(history, wait_seconds) as writer:
        return writer.record_parts(record, patients_screened, patients_set_aside, parts, recorded_at)


def read_table(history: str | Path, table: str) -> pd.DataFrame:
    """Read one table of the history (read-only), ordered by run sequence and keys."""
    if table not in TABLES:
        raise HistoryError(f"no table {table!r} in a history; tables are {', '.join(TABLES)}")
    path = Path(history)
    check_history_path(path)
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
    # before, then after: after a backfill the "before" run can have been recorded later
    return picked.sort_values("role", key=lambda role: role.map({"before": 0, "after": 1})).reset_index(drop=True)


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
