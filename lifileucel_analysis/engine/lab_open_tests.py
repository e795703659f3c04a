"""Lab rows whose ``test`` is blank, read as each test they could be.

A blank cell means "not recorded" (spec section 1), so a result whose test name is blank
is still a result: of one of the tests its unit allows (``10^9/L``: ANC or platelets;
``U/L``: AST or ALT; any test when the unit is blank too), and AST or ALT only with a
ULN, which the spec requires for them. The row is copied once per such test. A row that
only one test fits (``g/dL``: hemoglobin) is that test's result. Where several fit, each
copy is an *open* candidate of its test: it may be that test's result or another test's.

:func:`.lab_results.latest_labs` reads a copy as it reads a result without a collected
date: it never moves a test's latest day and is never a conflict between recorded
results, but it joins the counting day's rows as one more reading where it could be the
result that counts (dated in the window on or after that day, or undated). Every
reading of a test is then one that some test name gives: a copy that agrees with the
day's results changes nothing; one that disagrees leaves the part ``unknown`` and asks
for the test name. Each part is read here over its own readings; :mod:`.lab_namings` then
reads the parts together, so that a row failing ANC if it is ANC and platelets if it is
platelets fails I7 (docs/criteria.md, I7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contract.schema import LAB_TESTS, TESTS_NEEDING_ULN, UNITS, unit_fits

OPEN_TEST = "test_not_recorded"
"""The column marking the copies in :attr:`LabRows.frame`, for evidence (present only when there are copies)."""


@dataclass(frozen=True)
class LabRows:
    """Lab rows that each name a test: the recorded ones, and copies of rows without a test."""

    frame: pd.DataFrame
    """The lab table: the copies first (so that among equal results a recorded row is shown),
    then every row with a test, in file order."""
    pos: np.ndarray
    """Each row's patient position."""
    open_test: np.ndarray | None
    """Per row, True for a copy of a row whose test is blank and that more than one test fits;
    None where no copy was made."""
    source: np.ndarray
    """Per row, its position in the table given (a copy: its blank-test row's), for a finding's row."""


def with_open_tests(labs: pd.DataFrame, pos: np.ndarray) -> LabRows:
    """The lab rows with each blank-test row replaced by one copy per test it could be.

    Without a blank test (the usual case) the table is returned as it is, uncopied.
    """
    codes = labs["test"].cat.codes.to_numpy()
    blank = np.flatnonzero(codes < 0)
    if not len(blank):
        return LabRows(labs, pos, None, np.arange(len(labs)))
    source, tests = np.nonzero(possible_tests(labs.iloc[blank]))
    recorded = np.flatnonzero(codes >= 0)
    rows = np.concatenate([blank[source], recorded])
    frame = labs.take(rows).reset_index(drop=True)
    frame["test"] = pd.Categorical.from_codes(np.concatenate([tests, codes[recorded]]).astype(codes.dtype),
                                              dtype=labs["test"].dtype)
    copy = np.arange(len(rows)) < len(source)
    frame[OPEN_TEST] = copy
    fitting = np.bincount(source, minlength=len(blank))[source]  # how many tests the copy's row fits
    open_test = np.zeros(len(rows), dtype=bool)
    open_test[:len(source)] = fitting > 1
    return LabRows(frame, pos[rows], open_test, rows)


def possible_tests(rows: pd.DataFrame) -> np.ndarray:
    """Per row (without a test), per test of ``LAB_TESTS``: whether the row can be that test's result."""
    # fits[unit, test]; the last row stands for a blank unit (code -1), which any test may have.
    fits = unit_fits(LAB_TESTS, UNITS).T[:, :-1]
    fits[-1] = True
    possible = fits[rows["unit"].cat.codes.to_numpy()]
    needs_uln = np.isin(np.array(LAB_TESTS), list(TESTS_NEEDING_ULN))
    no_uln = rows["uln"].isna().to_numpy()
    possible[np.ix_(no_uln, needs_uln)] = False
    return possible


def own_dates(row: np.ndarray, day: np.ndarray, row_dates: np.ndarray) -> pd.Series:
    """Each chosen lab row's own collected date (``row_dates[row]``), aligned with ``day``.

    A copy may join a counting day from a later day, so the sentence that shows it dates it
    by its own date; an undated row has none (NaT: its sentence says "collected date not
    recorded", not the counting day it is read with); no row (-1) keeps the counting day ``day``.
    """
    own = day.copy()
    at = np.flatnonzero(row >= 0)
    own[at] = row_dates[row[at]].astype(day.dtype)
    return pd.Series(own)
