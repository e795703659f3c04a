"""The plain ``screen`` of a large dataset, slice by slice, with the bytes of screening it in one piece.

Above :data:`~lifileucel_analysis.contract.patient_slices.SLICE_PATIENTS` patients the
command loads and validates the whole dataset once, then screens it in consecutive slices
of patients (:func:`~lifileucel_analysis.contract.patient_slices.patient_slices`) and
appends each slice's rows to the files as it goes, so the outcome table of the whole
cohort, with its evidence sentences, is never held at once (``docs/performance.md``).

Why the bytes are those of the one-piece screen (``tests/test_sliced_screen.py`` compares
every file):

- every criterion, verdict, missing-data row and finding is a function of one patient's
  rows, and the patient-major files (verdicts, outcomes, missing data, findings, waivers) list
  patients in the ``patients`` table's order, which slices keep: the files are the slices'
  rows end to end;
- the files are written through the chunk writers of the bucketed screen
  (:mod:`lifileucel_analysis.contract.chunked_output`), whose bytes do not depend on how
  the rows are split; a long table's format under ``--long-format auto`` waits until its
  row count is known to exceed the limit (or the last slice is in);
- the worklists and fields files are sorted by the same binary key as the bucketed merge's,
  over all the slices' pending patients (a small table; a patient's fields share its key and
  the sort is stable), and days pending count from the cut date or the latest consent date
  over all slices;
- the history records the same rows, part by part, as :func:`..report.run_history.record_run`
  records a screening in memory.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..contract.chunked_output import CsvChunks, ParquetChunks, chunk_writer, write_csv_chunks
from ..contract.output_files import long_table_name, new_stage
from ..contract.patient_slices import SLICE_PATIENTS, patient_slices
from ..contract.schema import SITE_IDS
from ..contract.screen_output import CRITERIA_FILE
from ..engine.screening import ScreeningResult, screen
from ..report.criteria_catalog import criteria_record
from ..report.screening_inputs import PreparedInputs
from ..report.worklist import DataCurrency, worklist_rows
from .screen_command import (DATA_CUT_FILE, ORDER_KEY, PATIENT_TABLES, ScreenRun, fields_file, finish_ordered_chunk,
                             latest_consent, latest_of, ordered_files, patient_tables, publish, worklist_file)

if TYPE_CHECKING:  # the history module is imported only when a run is recorded
    from ..report.run_history import RunRecord

__all__ = ["screen_in_slices"]


class LongTable:
    """A long output table (bare stem) in the format :func:`..contract.output_files.long_table_name` gives it.

    Under ``--long-format auto`` that depends on the table's total rows: the rows are held
    until the rule says Parquet for the rows so far (then they are written) or the last
    slice is in (then the rule decides on the total): at most the limit's rows wait.
    """

    def __init__(self, stem: str, folder: Path, choice: str) -> None:
        self.stem, self.folder, self.choice = stem, folder, choice
        self._held: list[pd.DataFrame] = []
        self._held_rows = 0
        self._writer: CsvChunks | ParquetChunks | None = None
        if choice != "auto":  # the rule does not look at the rows
            self._open()

    @property
    def path(self) -> Path:
        """The file, once its format is decided."""
        assert self._writer is not None, "the format is decided at the latest by close()"
        return self._writer.path

    def _open(self) -> None:
        self._writer = chunk_writer(self.folder / long_table_name(self.stem, self._held_rows, self.choice))
        for frame in self._held:
            self._writer.write(frame)
        self._held = []

    def write(self, frame: pd.DataFrame) -> None:
        """Append a slice's rows."""
        if self._writer is not None:
            self._writer.write(frame)
            return
        self._held.append(frame)
        self._held_rows += len(frame)
        # Above the limit the total can only be above it too: Parquet is decided.
        if long_table_name(self.stem, self._held_rows, self.choice).endswith(".parquet"):
            self._open()

    def close(self) -> int:
        """Finish the file; return its rows."""
        if self._writer is None:
            self._open()
        assert self._writer is not None
        return self._writer.close()

    def abandon(self) -> None:
        """Close without finishing (the staging folder holding the file is removed)."""
        if self._writer is not None:
            self._writer.abandon()


def screen_in_slices(prepared: PreparedInputs, out: Path, long_format: str, history: str | Path | None = None,
                     size: int = SLICE_PATIENTS) -> ScreenRun:
    """Screen a loaded dataset slice by slice and write every output file into ``out`` (all or none).

    Parameters
    ----------
    prepared : PreparedInputs
        The dataset, loaded, validated and cut, with the criteria and drug dictionary.
    out : Path
        Output folder.
    long_format : {"auto", "csv", "parquet"}
        As ``--long-format``.
    history : str or Path, optional
        Also record the run in this DuckDB history.
    size : int
        Patients per slice.

    Returns
    -------
    ScreenRun
        As :func:`.screen_command.screen_plain` returns it.
    """
    staging = new_stage(out)
    try:
        final, parts = staging / "final", staging / "history"
        final.mkdir()
        parts.mkdir()
        run = _write_slices(prepared, final, long_format, size, parts if history is not None else None)
        written = publish(final, run.files, out)
        recorded = _record(history, prepared, parts, run.slices) if history is not None else None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    cut = prepared.cut
    return ScreenRun(n_in=prepared.dataset.n_patients, verdicts=run.verdicts, findings=run.findings,
                     notes=prepared.notes, cut=cut, written=written, recorded=recorded)


class _Written:
    """What the slices wrote: file names, counts, the number of slices."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.verdicts: dict[str, int] = {}
        self.findings = 0
        self.slices = 0


def _write_slices(prepared: PreparedInputs, final: Path, long_format: str, size: int,
                  history_parts: Path | None) -> _Written:
    done = _Written()
    sinks = {name: LongTable(name, final, long_format) if "." not in name else chunk_writer(final / name)
             for name in PATIENT_TABLES}
    ordered_parts: dict[str, list[pd.DataFrame]] = {}
    latest: list[dt.date | None] = []
    # Each file is written by one thread at a time (one task per file per slice), on both
    # cores: a Parquet writer compresses while a CSV is formatted, and slice k's files are
    # written while slice k + 1 is screened (its jobs finish before the next are queued,
    # so every file still gets its slices in order).
    # The slice's worklist and fields rows are built on the pool too, beside its files, while the
    # next slice is screened (they were 4 of the 34 s of a 1,000,000-patient screen on this thread).
    writing: list[Future[object]] = []
    ordering: list[Future[dict[str, pd.DataFrame]]] = []
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        try:
            for k, part in enumerate(patient_slices(prepared.dataset, size)):
                result = screen(part, prepared.params, prepared.drug_table)
                tables = patient_tables(result)
                for job in writing:
                    job.result()
                writing = [pool.submit(sinks[name].write, frame) for name, frame in tables.items()]
                ordering.append(pool.submit(_ordered_rows, result, part.patients))
                writing.append(ordering[-1])  # waited for as the writers are
                latest.append(latest_consent(result))
                _count(done, result)
                if history_parts is not None:
                    _save_history_part(result, history_parts, k)
                done.slices = k + 1
                del result, tables
            for job in writing:
                job.result()
            for job in ordering:  # in slice order: each file's rows, slice by slice
                for name, rows in job.result().items():
                    ordered_parts.setdefault(name, []).append(rows)
            cut = prepared.cut
            as_of = latest_of(latest, cut.cut_date if cut is not None else None)
            names = _in_site_order(ordered_parts)
            # Two ordered files at a time (a site's fields file of a million-patient cohort: 160,000 rows).
            writing = [pool.submit(_write_ordered, name, ordered_parts.pop(name), as_of, final) for name in names]
            for job in writing:
                job.result()
        except BaseException:
            wait(writing)  # a writer still appending must finish before its file is removed
            for sink in sinks.values():
                sink.abandon()
            raise
    for sink in sinks.values():
        sink.close()
        done.files.append(sink.path.name)
    done.files += names
    if cut is not None:
        write_csv_chunks([cut.frame()], final / DATA_CUT_FILE)
        done.files.append(DATA_CUT_FILE)
    write_csv_chunks([criteria_record(prepared.params, prepared.criteria_params_path, prepared.drugs_path)],
                     final / CRITERIA_FILE)
    done.files.append(CRITERIA_FILE)
    return done


def _ordered_rows(result: ScreeningResult, patients: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One slice's worklist and fields rows by file name, with their order key (:func:`.screen_command.ordered_files`)."""
    return ordered_files(worklist_rows(result, patients), result)


def _write_ordered(name: str, parts: list[pd.DataFrame], as_of: DataCurrency, final: Path) -> None:
    """One worklist or fields file from every slice's rows, in the worklists' order."""
    write_csv_chunks([finish_ordered_chunk(name, _in_key_order(parts), as_of)], final / name)


def _in_site_order(parts: dict[str, list[pd.DataFrame]]) -> list[str]:
    """The ordered files' names as the plain screen lists them: sites in the record's order, worklist first."""
    return [name for site in SITE_IDS for name in (worklist_file(site), fields_file(site)) if name in parts]


def _in_key_order(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One ordered file's rows from every slice in the worklists' order (by the binary key, stably), without the key."""
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    order = pc.sort_indices(pa.array(rows[ORDER_KEY].to_numpy(), type=pa.binary())).to_numpy()
    return rows.drop(columns=ORDER_KEY).iloc[order].reset_index(drop=True)


def _count(done: _Written, result: ScreeningResult) -> None:
    for verdict, n in result.verdicts["verdict"].value_counts().items():
        done.verdicts[str(verdict)] = done.verdicts.get(str(verdict), 0) + int(n)
    done.findings += len(result.findings)


def _save_history_part(result: ScreeningResult, folder: Path, k: int) -> None:
    """One slice's verdicts and outcomes as the history stores them, kept on disk until the run is recorded."""
    from ..report.run_history import history_rows

    verdicts, outcomes = history_rows(result.verdicts, result.outcomes)
    pq.write_table(pa.Table.from_pandas(verdicts, preserve_index=False), folder / f"verdicts-{k:05d}.parquet")
    pq.write_table(pa.Table.from_pandas(outcomes, preserve_index=False), folder / f"outcomes-{k:05d}.parquet")


def _record(history: str | Path, prepared: PreparedInputs, folder: Path, slices: int) -> tuple[RunRecord, bool]:
    """Record the run from the slices' saved rows, one slice at a time, in one transaction."""
    from ..report.run_history import record_run_parts, run_record

    cut = prepared.cut
    record = run_record(prepared)

    def parts() -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        for k in range(slices):
            yield (pq.read_table(folder / f"verdicts-{k:05d}.parquet").to_pandas(),
                   pq.read_table(folder / f"outcomes-{k:05d}.parquet").to_pandas())

    set_aside = cut.patients_set_aside if cut is not None else 0
    return record, record_run_parts(history, record, prepared.dataset.n_patients, set_aside, parts())
