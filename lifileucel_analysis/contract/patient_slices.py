"""A validated dataset cut into consecutive slices of patients, each an ordinary dataset.

Every criterion is a function of one patient's rows (the reason a bucketed dataset can be
screened bucket by bucket), so screening the slices one after the other and putting their
outputs end to end gives the outputs of screening the whole dataset: the plain ``screen``
command does that above :data:`SLICE_PATIENTS` patients, so that the outcome table of a
million patients, with its 19 million evidence sentences, never exists in memory at once
(``docs/performance.md``).

A slice holds the patients ``start:stop`` of the ``patients`` table, in their order, and
every row of the other tables that names one of them, in the table's order; its
``source_rows`` keep the rows' places in the files, so a finding names the file's row
exactly as for the whole dataset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd

from .dataset import ScreeningDataset

__all__ = ["SLICE_PATIENTS", "patient_slices"]

SLICE_PATIENTS = 125_000
"""Patients per slice: large enough that each slice's fixed costs (threads, per-criterion
set-up) are small against its work, small enough that one slice's screen stays a fraction
of the typed dataset. At 1,000,000 patients from Parquet, 125,000 held the command's peak
RSS to 3.0-3.1 GiB against 3.7-3.95 GiB with 250,000 (the 4 GiB target), for about a second
(3 %) more: eight slices' fixed costs against four (session 32, ``docs/performance.md``)."""

EVENT_TABLES = ("therapies", "labs", "toxicities", "overrides")


def patient_slices(dataset: ScreeningDataset, size: int = SLICE_PATIENTS) -> Iterator[ScreeningDataset]:
    """Yield the dataset in consecutive slices of ``size`` patients (the last one shorter).

    Parameters
    ----------
    dataset : ScreeningDataset
        A validated dataset: every event row's ``patient_id`` is a patient of it (a row
        naming no patient would belong to no slice, so it raises).
    size : int
        Patients per slice (at least 1).

    Yields
    ------
    ScreeningDataset
        Patients ``k * size : (k + 1) * size`` and their rows of every other table, in
        the tables' order, with ``source_rows`` pointing at the rows of the files.

    Raises
    ------
    ValueError
        When ``size`` is below 1 or an event row names no patient of the dataset.
    """
    if size < 1:
        raise ValueError(f"slice size must be at least 1 patient, not {size}")
    n = dataset.n_patients
    starts = range(0, max(n, 1), size)
    rows_of = {table: _rows_by_slice(dataset, table, size, len(starts)) for table in EVENT_TABLES}
    for k, start in enumerate(starts):
        stop = min(start + size, n)
        tables = {"patients": dataset.patients.iloc[start:stop].reset_index(drop=True)}
        source_rows = {"patients": dataset.rows_in_source("patients")[start:stop]}
        positions = {}
        for table, (order, bounds) in rows_of.items():
            rows = order[bounds[k]:bounds[k + 1]]
            tables[table] = _take(dataset.table(table), rows)
            source_rows[table] = dataset.rows_in_source(table)[rows]
            positions[table] = dataset.patient_positions(table)[rows] - start
        # The few rows kept beside the tables (rows read once, waivers dated after a cut) go with their patients.
        kept_beside = (dataset.repeated_rows or dataset.waivers_after_cut is not None
                       or dataset.dated_after_cut is not None)
        mine = tables["patients"]["patient_id"].astype(str) if kept_beside else None
        repeated = {table: _of_patients(frame, mine) for table, frame in dataset.repeated_rows.items()}
        late = None if dataset.waivers_after_cut is None else _of_patients(dataset.waivers_after_cut, mine)
        dated = None if dataset.dated_after_cut is None else _of_patients(dataset.dated_after_cut, mine)
        piece = replace(dataset, **tables, source_rows=source_rows, repeated_rows=repeated, waivers_after_cut=late,
                        dated_after_cut=dated)
        piece.know_patient_positions(positions)  # known from the whole dataset's: no look-up per slice
        yield piece


def _of_patients(frame: pd.DataFrame, patient_ids: pd.Series) -> pd.DataFrame:
    """The rows of ``frame`` whose ``patient_id`` is one of ``patient_ids``."""
    return frame[frame["patient_id"].astype(str).isin(patient_ids)].reset_index(drop=True)


def _take(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The rows (increasing) of a frame: a slice, not a copy, when they are consecutive (a table
    listing patients in the patients table's order, as exports and the synthetic data do)."""
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1:
        return frame.iloc[int(rows[0]):int(rows[-1]) + 1].reset_index(drop=True)
    return frame.iloc[rows].reset_index(drop=True)


def _rows_by_slice(dataset: ScreeningDataset, table: str, size: int, slices: int) -> tuple[np.ndarray, np.ndarray]:
    """The table's rows grouped by their patient's slice (table order within a slice), and each slice's bounds."""
    frame = dataset.table(table)
    if frame.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(slices + 1, dtype=np.int64)
    at = dataset.patient_positions(table)
    if (at < 0).any():
        row = int(np.flatnonzero(at < 0)[0])
        raise ValueError(f"{table} row {row + 1}: patient_id {frame['patient_id'].iloc[row]!r} is not in the "
                         "patients table; validate the dataset before cutting it into slices")
    slice_of = at // size
    order = np.argsort(slice_of, kind="stable")  # stable: each slice keeps the table's order
    bounds = np.searchsorted(slice_of[order], np.arange(slices + 1))
    return order.astype(np.int64), bounds
