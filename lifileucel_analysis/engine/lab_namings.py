"""Every test that lab rows without a test may be, the seven I7 parts taken together.

The spec decides a criterion over every way of filling in the blanks, "for criteria with
several parts too" (section 2). A lab row whose test is blank and that several tests fit
(:mod:`.lab_open_tests`) is one blank shared by several parts: 0.5 x10^9/L fails ANC if it
is ANC and platelets if it is platelets, so I7 fails whichever it is, although each part
on its own is unknown. Part by part (:mod:`.lab_results`) gives every ``pass`` exactly
(every part passes in every reading) but leaves such a ``fail`` unknown.

So for the few patients with such rows, each way of naming them is a *reading*: a
pseudo-patient with the patient's cells and lab rows, each row without a test named by
the reading. I7 is evaluated on the readings by the same rules
(:func:`.criteria_inclusion.i7_labs`), and a patient whose every reading fails fails.
Readings are laid out as rows, like the I2 readings of :mod:`.prior_lines`: no loop over
patients. A patient with more than :data:`MAX_READINGS` readings keeps the part-by-part
outcome (``unknown``, never a wrong decision).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contract.dataset import ScreeningDataset
from ..contract.schema import TABLES, empty_frame
from .lab_open_tests import OPEN_TEST, possible_tests

MAX_READINGS = 1024
"""At most this many readings of one patient's rows without a test are taken together (seven rows
that may each be one of two tests give 2**7 = 128); a patient with more keeps I7 as read part by part."""


@dataclass(frozen=True)
class LabReadings:
    """Every naming of the lab rows without a test, one pseudo-patient per patient and reading."""

    dataset: ScreeningDataset
    """Per reading, the patient's row (``patients``) and its lab rows, each with a test (``labs``)."""
    pos: np.ndarray
    """Each lab row's reading (pseudo-patient)."""
    patient: np.ndarray
    """Each reading's patient: its position in the screened dataset."""


def lab_readings(dataset: ScreeningDataset, pos: np.ndarray) -> LabReadings | None:
    """The readings of the patients with lab rows that several tests fit (``pos``: each lab row's patient).

    ``None`` where there is no such row (the usual case: nothing is copied).
    """
    labs = dataset.labs
    codes = labs["test"].cat.codes.to_numpy()
    blank = np.flatnonzero(codes < 0)
    if not len(blank):
        return None
    tests = codes.astype(np.int64)  # a copy, made only where some row has no test
    fits = possible_tests(labs.iloc[blank])
    ways = fits.sum(axis=1)
    tests[blank[ways == 1]] = fits[ways == 1].argmax(axis=1)  # one test fits: the row is that test's
    many = ways > 1
    if not many.any():
        return None
    open_rows, open_fits, open_ways = blank[many], fits[many], ways[many]
    n = dataset.n_patients
    log_readings = np.bincount(pos[open_rows], weights=np.log(open_ways), minlength=n)
    kept = (log_readings > 0) & (log_readings <= np.log(MAX_READINGS) + 1e-9)
    if not kept.any():
        return None
    readings = np.where(kept, np.rint(np.exp(log_readings)), 0).astype(np.int64)  # per patient
    first = np.cumsum(readings) - readings  # each patient's first reading
    # The kept patients' rows, grouped by patient (rows of one patient need not be adjacent in the file).
    order = np.flatnonzero(kept[pos[open_rows]])
    order = order[np.lexsort((open_rows[order], pos[open_rows[order]]))]
    open_rows, open_fits, open_ways = open_rows[order], open_fits[order], open_ways[order]
    named = np.flatnonzero(kept[pos] & (tests >= 0))
    rows, reading_of = _per_reading(named, pos, readings, first)
    open_at, open_reading = _per_reading(open_rows, pos, readings, first)
    # The row's test in each reading: readings count in a mixed radix, one digit per row of the patient.
    stride = _strides(pos[open_rows], open_ways)
    sorter = np.argsort(open_rows)
    which = sorter[np.searchsorted(open_rows, open_at, sorter=sorter)]
    digit = ((open_reading - first[pos[open_at]]) // stride[which]) % open_ways[which]
    candidates = np.argsort(~open_fits, axis=1, kind="stable")  # the fitting tests first, in LAB_TESTS order
    named_as = candidates[which, digit]
    frame = labs.take(np.concatenate([rows, open_at])).reset_index(drop=True)
    frame["test"] = pd.Categorical.from_codes(np.concatenate([tests[rows], named_as]), dtype=labs["test"].dtype)
    frame[OPEN_TEST] = np.concatenate([tests[rows] != codes[rows],
                                       np.ones(len(open_at), dtype=bool)])  # said "(test not recorded)"
    patient = np.repeat(np.arange(n), readings)
    tables = {name: empty_frame(name) for name in TABLES}
    tables.update(patients=dataset.patients.iloc[patient].reset_index(drop=True), labs=frame)
    return LabReadings(ScreeningDataset(**tables, source="lab readings"),
                       np.concatenate([reading_of, open_reading]), patient)


def _per_reading(rows: np.ndarray, pos: np.ndarray, readings: np.ndarray,
                 first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``rows`` once per reading of its patient: (row, reading), row by row."""
    times = readings[pos[rows]]
    repeated = np.repeat(rows, times)
    start = np.cumsum(times) - times
    local = np.arange(len(repeated)) - np.repeat(start, times)
    return repeated, first[pos[repeated]] + local


def _strides(owner: np.ndarray, ways: np.ndarray) -> np.ndarray:
    """Per row (grouped by ``owner``, in order), the product of the ``ways`` of its patient's earlier rows."""
    logs = np.log(ways.astype(float))
    total = np.cumsum(logs) - logs  # before each row, over all rows
    group_start = np.r_[True, owner[1:] != owner[:-1]]
    base = np.maximum.accumulate(np.where(group_start, np.arange(len(owner)), 0))
    return np.rint(np.exp(total - total[base])).astype(np.int64)
