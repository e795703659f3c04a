"""The laboratory result that counts for each patient and test, with blanks kept as bounds.

A lab row's ``value`` or ``unit`` may be blank ("not recorded", spec section 1). Such a row
is not dropped and does not stop the screen: it stands for every value it could hold, so
each row carries the interval ``[low, high]`` of its value in the canonical unit:

- both recorded: ``low = high`` = the converted value;
- ``unit`` blank: the value converted with the smallest and with the largest factor of
  that test's units (``hemoglobin 12``: 1.2 g/dL if g/L, 12 g/dL if g/dL; a test with one
  unit, e.g. AST, is decided by its value alone);
- ``value`` blank: ``0`` to ``inf`` (values are >= 0).

The result that counts is the most recent one in the window (spec section 1). Dates carry
no time, so where several rows share the latest day, which of them is the most recent is
not recorded: any of them may be the one that counts, and each may hold any value of its
interval. The criterion decides from the two ends of all those readings: the *sure* end
(the most favourable value any reading gives: ``max(high)`` over the day's rows for a test
where low values are worse, ANC, ...; ``min(low)`` for AST, ALT, bilirubin) fails only
when it is past the limit, so every reading fails; the *possible* end (the least
favourable value any reading gives) passes when it is within it, so every reading passes;
otherwise the part is unknown and names what to collect: the blank cell, or which of the
day's disagreeing results is the latest. With one row, nothing blank, both ends are its value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.dataset import ScreeningDataset
from ..contract.schema import CANONICAL_UNIT, DATE_DTYPE, LAB_TESTS, TESTS_NEEDING_ULN, UNIT_FACTORS
from .decimals import decimal_text, shown_beside_limits
from .lab_canonical_values import canonical_bounds, lab_limits
from .lab_open_tests import OPEN_TEST, own_dates, with_open_tests
from .parameters import CriteriaParams

LOW_IS_WORSE = frozenset({"anc", "platelets", "hemoglobin", "creatinine_clearance"})
NO_VALUE = "(no value)"
NO_UNIT = "(unit not recorded)"
UNIT_SHOWN = {"10^9/L": "x10^9/L"}
"""A unit code as a sentence writes it after a number, where the code alone misleads: "ANC 1 10^9/L" read as
"1 10^9" or "110^9" beside the limit's "1 x10^9/L" (audit 35A). Other codes are written as they are."""
NO_DATE = " (collected date not recorded)"
NO_TEST = " (test not recorded)"
NO_TEST_OR_DATE = " (test and collected date not recorded)"


def shown_unit(code: str) -> str:
    """The unit ``code`` as evidence writes it after a number (:data:`UNIT_SHOWN`)."""
    return UNIT_SHOWN.get(code, code)


@dataclass(frozen=True)
class LabResult:
    """The result that counts for one lab test, aligned with the patients.

    ``sure`` and ``possible`` are equal (the recorded value) unless a row of the counting
    day has a blank value or unit, or the day's rows disagree; both are NaN when there is
    no result in the window.
    """

    sure: pd.Series
    """The most favourable value any reading of the counting day gives, canonical unit (AST/ALT:
    multiple of ULN): past the limit, every reading fails."""
    possible: pd.Series
    """The least favourable value any reading gives (``inf``/``0`` for a blank value): within
    the limit, every reading passes."""
    sure_raw: pd.Series
    """The row holding ``sure``, as reported (``"1500 /uL"``), for evidence."""
    possible_raw: pd.Series
    """The row holding ``possible``, as reported, for evidence."""
    blank: pd.Series
    """The blank fields of the ``possible`` row that matter (``"value"``, ``"unit"``), else ""."""
    date: pd.Series
    """The counting day (NaT where there is no result)."""
    sure_date: pd.Series
    """The ``sure`` row's own date: the counting day, unless it is a row without a test dated later,
    or NaT for a row without a collected date."""
    possible_date: pd.Series
    """The ``possible`` row's own date, likewise."""
    conflict: pd.Series
    """True where several recorded results on the counting day disagree (which is the latest is
    not recorded)."""
    outside: pd.Series
    """True where the patient has a result of this test, but none in the window."""
    earlier: pd.Series
    """True where the patient has a result of this test dated before the window's first day:
    with a blank consent date, an earlier consent date could bring it into the window."""
    several: pd.Series
    """True where the two ends come from different rows of the counting day (recorded results
    that disagree, or a recorded result beside one with a blank): which is the latest matters."""
    undated: pd.Series
    """True where a result of this test with a blank ``collected_date`` is on file."""
    undated_end: pd.Series
    """True where one of the two ends comes from a row with a blank ``collected_date``."""
    untested: pd.Series
    """True where a result with a blank ``test`` that may be this test's is in the window or undated."""
    untested_end: pd.Series
    """True where one of the two ends comes from a row with a blank ``test`` (:mod:`.lab_open_tests`)."""
    conflict_recorded: np.ndarray
    """For the patients where ``conflict`` holds, in patient order: the least favourable of the
    disagreeing results as recorded ("800 /uL", no canonical-unit value beside it), which the
    data-quality finding quotes."""
    conflict_ends_recorded: np.ndarray
    """For the same patients: True where both ends' rows have their value and unit recorded, so the
    finding can quote them as the two results that disagree."""
    conflict_rows: np.ndarray
    """For the same patients: the 0-based data row, in the lab file, of the row ``conflict_recorded`` quotes."""
    possible_open: np.ndarray | None = None
    """What the ``possible`` row lacks: 1 its date, 2 its test, 3 both, 0 neither (None: no day is open)."""
    unit_blank: tuple[np.ndarray, np.ndarray] | None = None
    """Whether the ``sure`` row's and the ``possible`` row's unit is blank in a test of two units
    (None: no patient's is), so that a decided part says it holds in either unit."""
    outside_latest: pd.Series | None = None
    """Where ``outside`` holds, the date of the latest dated result of this test on file (NaT elsewhere)."""
    ulns: tuple[np.ndarray, np.ndarray] | None = None
    """AST and ALT: the ``sure`` and the ``possible`` row's ULN (NaN where none), for a limit in U/L."""


def latest_labs(dataset: ScreeningDataset, params: CriteriaParams, pos: np.ndarray) -> dict[str, LabResult]:
    """Select, for every patient and test, the result that counts (``pos``: each lab row's patient).

    The window is ``consent_date - lab_lookback_days`` to ``lymphodepletion_date`` (when
    known), inclusive; with a blank consent date, ``lymphodepletion_date - lab_lookback_days``
    to it (the part of the window certain at any consent date). No sort: grouped maxima over the dense key ``patient position x
    test`` (``ufunc.at``) find the latest day, the worst ends on it and the rows that hold
    them, each in one pass; among rows that tie, the last in file order is shown.
    """
    n = dataset.n_patients
    named = with_open_tests(dataset.labs, pos)  # a row without a test: one open copy per test it may be
    labs, pos = named.frame, named.pos
    counting = _latest_day_rows(dataset.patients, labs, n, params, pos, named.open_test)
    rows, key = counting.rows, counting.key
    limits = lab_limits(params)
    low, high = canonical_bounds(labs, limits)
    low_bad = np.isin(key % len(LAB_TESTS), [LAB_TESTS.index(t) for t in LOW_IS_WORSE])
    groups = n * len(LAB_TESTS)
    # Badness grows with how unfavourable a value is; a value that cannot be converted (NaN)
    # counts as the worst of all, so that it never hides behind a good one.
    sure_end = np.where(low_bad, high[rows], low[rows])
    possible_end = np.where(low_bad, low[rows], high[rows])
    possible_row = _worst_rows(key, rows, _badness(possible_end, low_bad), groups)
    cells = _RowCells(labs["collected_date"].to_numpy(), labs["value"].isna().to_numpy(),
                      labs["unit"].cat.codes.to_numpy() < 0,
                      np.zeros(len(labs), dtype=bool) if named.open_test is None else named.open_test, named.source,
                      dataset.source_rows.get("labs"))
    # Blank cells and disagreeing rows on one day are rare: without them both ends are the same rows.
    # An undated row is open too: it may or may not be the latest; so is a row without a test.
    joined_row = np.isnat(cells.date[rows]) | cells.open_test[rows]
    open_row = (sure_end != possible_end) | joined_row
    blanks = bool(open_row.any())
    least, most = np.full(groups, np.inf), np.full(groups, -np.inf)
    # A conflict is between recorded, dated results only: the counting rows kept for it.
    kept = np.flatnonzero((low[rows] == high[rows]) & ~joined_row) if blanks else slice(None)
    recorded_key, recorded = key[kept], low[rows][kept]
    np.fmin.at(least, recorded_key, recorded)
    np.fmax.at(most, recorded_key, recorded)
    conflict = (least < most).reshape(n, len(LAB_TESTS))
    quoted = _quoted_rows(recorded_key, rows[kept], recorded, low_bad[kept], (least, most), groups) \
        if conflict.any() else np.full(groups, -1, dtype=np.int64)
    uncertain = blanks or bool(conflict.any())
    sure_row = _most_favourable_rows(key, rows, sure_end, low_bad, open_row, conflict, possible_row) \
        if uncertain else possible_row
    any_key, any_date = pos * len(LAB_TESTS) + labs["test"].cat.codes.to_numpy(), cells.date
    if counting.undated.any() or named.open_test is not None:  # "outside the window": dated, named results
        dated_named = ~np.isnat(cells.date) & ~cells.open_test
        any_key, any_date = any_key[dated_named], any_date[dated_named]
    on_file = (np.bincount(any_key, minlength=groups) > 0).reshape(n, len(LAB_TESTS))
    outside = on_file & (possible_row < 0)
    outside_latest = _latest_dated(any_key, any_date, outside.ravel()).reshape(n, len(LAB_TESTS))
    day = counting.day.reshape(n, len(LAB_TESTS))
    result = {}
    for code, name in enumerate(LAB_TESTS):
        ends = (high, low) if name in LOW_IS_WORSE else (low, high)
        sure = sure_row[:, code] if uncertain else None  # None: the same rows as the possible end
        shown = _InCanonicalUnit(CANONICAL_UNIT[name], limits[name], low)
        result[name] = _lab_for(sure, possible_row[:, code], ends, labs, name, shown, cells,
                                quoted.reshape(n, len(LAB_TESTS))[:, code],
                                outside[:, code], counting.earlier[:, code], day[:, code],
                                counting.undated[:, code], counting.untested[:, code], outside_latest[:, code])
    return result


def _latest_dated(keys: np.ndarray, dates: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per group (patient x test), the latest of ``dates`` among the rows of that group (``keys``), for the
    ``wanted`` groups only (NaT elsewhere): the few results on file that lie outside their window, whose
    date the evidence gives (audit 35A: "a result outside that window is on file" did not say when)."""
    hit = np.flatnonzero(wanted[keys])
    # NaT is the smallest int64: a row without a date never wins, and a group without a row stays NaT.
    days = dates[hit].astype("datetime64[ns]").view(np.int64)
    return _group_max(keys[hit], days, len(wanted), np.iinfo(np.int64).min).view("datetime64[ns]")


@dataclass(frozen=True)
class _InCanonicalUnit:
    """What shows a result typed in another unit in the canonical one too: "84 g/L (8.4 g/dL)"."""

    unit: str
    """The test's canonical unit (``g/dL``)."""
    limits: tuple[float, ...]
    """The test's limits: the shown value keeps its side of each (:func:`.decimals.shown_beside_limits`)."""
    value: np.ndarray
    """Per lab row, its value in the canonical unit (:func:`canonical_bounds`' low end)."""


@dataclass(frozen=True)
class _RowCells:
    """Per lab row, read once for all seven tests: its date and which cells are blank."""

    date: np.ndarray
    no_value: np.ndarray
    no_unit: np.ndarray
    open_test: np.ndarray
    """A copy of a row whose test is blank (:mod:`.lab_open_tests`)."""
    source: np.ndarray
    """The row's position in the dataset's lab table (:attr:`.lab_open_tests.LabRows.source`)."""
    in_file: np.ndarray | None
    """Per row of the dataset's lab table, its 0-based data row in the file (None: its position)."""

    def file_rows(self, rows: np.ndarray) -> np.ndarray:
        """The 0-based file rows of ``rows`` (only those: no array of the whole table is built)."""
        at = self.source[rows]
        return at if self.in_file is None else np.asarray(self.in_file, dtype=np.int64)[at]


def _badness(end: np.ndarray, low_bad: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(end), np.inf, np.where(low_bad, -end, end))


def _worst_rows(key: np.ndarray, rows: np.ndarray, badness: np.ndarray, groups: int) -> np.ndarray:
    """Per (patient, test), the last row in file order with the greatest ``badness``; -1 where none.

    Given the negated badness, the row with the least (the most favourable row).
    """
    holds = badness == _group_max(key, badness, groups, -np.inf)[key]
    chosen = _group_max(key[holds], rows[holds].astype(np.int64), groups, -1)
    return chosen.reshape(-1, len(LAB_TESTS))


def _most_favourable_rows(key: np.ndarray, rows: np.ndarray, sure_end: np.ndarray, low_bad: np.ndarray,
                          open_row: np.ndarray, conflict: np.ndarray, possible_row: np.ndarray) -> np.ndarray:
    """Per (patient, test), the day's row with the most favourable value: any row may be the latest.

    Only the few groups whose rows differ (a conflict, a blank) are searched again; every other
    group's row is the one :func:`_worst_rows` chose already.
    """
    groups = possible_row.size
    differ = conflict.ravel().copy()
    differ[key[open_row]] = True
    search = differ[key]
    chosen = _worst_rows(key[search], rows[search], -_badness(sure_end[search], low_bad[search]), groups)
    return np.where(chosen >= 0, chosen, possible_row)


@dataclass(frozen=True)
class _CountingDay:
    """The rows that may hold the result that counts, per (patient, test) key ``patient x 7 + test``."""

    rows: np.ndarray
    """Lab rows in the window on their key's latest day, then the undated rows of keys that have one."""
    key: np.ndarray
    day: np.ndarray
    """Per key, the latest day in the window (NaT where none)."""
    earlier: np.ndarray
    """Per (patient, test): a result dated before the window's first day."""
    undated: np.ndarray
    """Per (patient, test): a result with a blank ``collected_date`` is on file."""
    untested: np.ndarray
    """Per (patient, test): a result with a blank ``test`` may be this one, in the window or undated."""


def _latest_day_rows(patients: pd.DataFrame, labs: pd.DataFrame, n: int, params: CriteriaParams, pos: np.ndarray,
                     open_test: np.ndarray | None) -> _CountingDay:
    """Lab rows in the window and on their (patient, test)'s latest day, with that key.

    A row with a blank ``collected_date`` may lie in the window and be the most recent, or
    not: where its (patient, test) has a result in the window, it joins that latest day's
    rows (each is one reading, as for rows of one day); where there is none, some reading
    has no result, so the test stays unknown whatever the row holds. A copy of a row without
    a test (``open_test``) joins the same way where it is undated or dated in the window on or
    after the latest day; it never sets that day, which the named results do.
    """
    consent = patients["consent_date"].to_numpy()[pos]
    ld = patients["lymphodepletion_date"].to_numpy()[pos]
    date = labs["collected_date"].to_numpy()
    start = window_start(consent, ld, params.lab_lookback_days)
    in_window = (date >= start) & ~np.isnat(start) & (np.isnat(ld) | (date <= ld))
    named = np.ones(len(date), dtype=bool) if open_test is None else ~open_test
    rows = np.flatnonzero(in_window & named)
    codes = labs["test"].cat.codes.to_numpy()
    key = pos[rows] * len(LAB_TESTS) + codes[rows]
    day = date[rows].astype(np.int64)
    groups = n * len(LAB_TESTS)
    none = np.iinfo(np.int64).min
    latest = _group_max(key, day, groups, none)
    on_day = day == latest[key]
    rows, key = rows[on_day], key[on_day]
    before = np.flatnonzero((date < start) & named)  # NaT compares False: nothing is "before" an unplaced window
    earlier = np.bincount(pos[before] * len(LAB_TESTS) + codes[before], minlength=groups) > 0
    blank = np.flatnonzero(np.isnat(date) & named)
    blank_key = pos[blank] * len(LAB_TESTS) + codes[blank]
    undated = np.bincount(blank_key, minlength=groups) > 0
    joins = latest[blank_key] != none
    untested = np.zeros(groups, dtype=bool)
    if open_test is not None:
        copies = np.flatnonzero(open_test & (in_window | np.isnat(date)))
        copy_key = pos[copies] * len(LAB_TESTS) + codes[copies]
        untested[copy_key] = True
        copy_day, copy_latest = date[copies].astype(np.int64), latest[copy_key]
        copy_joins = (copy_latest != none) & (np.isnat(date[copies]) | (copy_day >= copy_latest))
        blank, blank_key = np.concatenate([blank, copies]), np.concatenate([blank_key, copy_key])
        joins = np.concatenate([joins, copy_joins])
    if joins.any():
        rows, key = np.concatenate([rows, blank[joins]]), np.concatenate([key, blank_key[joins]])
    # The empty marker, the least int64, is NaT's bit pattern: a key without a day reads as NaT.
    return _CountingDay(rows, key, latest.view(date.dtype), earlier.reshape(-1, len(LAB_TESTS)),
                        undated.reshape(-1, len(LAB_TESTS)), untested.reshape(-1, len(LAB_TESTS)))


def window_start(consent: np.ndarray, ld: np.ndarray, lookback_days: int) -> np.ndarray:
    """The first day of the lab window: ``lookback_days`` before consent (NaT where it cannot be placed).

    With a blank consent date and a recorded NMA-LD, ``lookback_days`` before NMA-LD: consent
    comes before NMA-LD (the program's order), so the window starts no later than that and
    results from then on count at any consent date; an earlier one may or may not, which
    leaves its test unknown.
    """
    return np.where(np.isnat(consent), ld, consent) - np.timedelta64(lookback_days, "D")


def _group_max(key: np.ndarray, values: np.ndarray, groups: int, empty: float | int) -> np.ndarray:
    """Maximum of ``values`` per dense integer ``key`` in ``range(groups)``; ``empty`` where none."""
    out = np.full(groups, empty, dtype=values.dtype)
    np.maximum.at(out, key, values)
    return out


def _quoted_rows(keys: np.ndarray, rows: np.ndarray, values: np.ndarray, low_bad: np.ndarray,
                 bounds: tuple[np.ndarray, np.ndarray], groups: int) -> np.ndarray:
    """Per (patient, test) group whose recorded results disagree, the row a finding quotes; ``-1`` elsewhere.

    The least favourable of the group's recorded, dated, named results (lowest ANC, highest AST as a
    multiple of ULN; among equals the last in the lab table, whose rows keep their file order within a
    patient in every path: loaded, cut, sliced, bucketed), so that the finding's value and row are one of
    the results that disagree, never a blank or undated row beside them (review 27). ``low_bad``: per
    row, whether low values of its test are the unfavourable ones; ``bounds``: each group's least and most.
    """
    least, most = bounds
    worst = np.where(low_bad, least[keys], most[keys])
    hit = (least < most)[keys] & (values == worst)
    return _group_max(keys[hit], rows[hit].astype(np.int64, copy=False), groups, -1)


def _lab_for(sure_row: np.ndarray | None, possible_row: np.ndarray, ends: tuple[np.ndarray, np.ndarray],
             labs: pd.DataFrame, test: str, shown: _InCanonicalUnit, cells: _RowCells, quoted: np.ndarray,
             outside: np.ndarray, earlier: np.ndarray, day: np.ndarray, undated: np.ndarray,
             untested: np.ndarray, outside_latest: np.ndarray) -> LabResult:
    """One test's chosen rows (``-1`` = none; ``sure_row`` None = ``possible_row``), aligned with the
    patients; ``day`` is each patient's counting day (an undated chosen row has none of its own);
    ``quoted`` the row a same-day conflict's finding quotes (:func:`_quoted_rows`; ``-1``: no conflict)."""
    conflict = quoted >= 0
    sure_end, possible_end = ends
    with_uln = test in TESTS_NEEDING_ULN
    possible, possible_raw = _pick(possible_row, possible_end, labs, with_uln, shown)
    sure, sure_raw = (possible, possible_raw) if sure_row is None else _pick_beside(
        sure_row, sure_end, possible_row, possible_raw, labs, with_uln, shown)
    has = possible_row >= 0
    dates = day.astype(DATE_DTYPE)
    at = possible_row[has]
    blank = np.full(len(possible_row), "", dtype=object)
    if sure_row is not None:  # some counting day holds a blank or a conflict: name the few blank cells
        no_value, no_unit = cells.no_value[at], cells.no_unit[at] & (len(UNIT_FACTORS[test]) > 1)
        hit = np.flatnonzero(no_value | no_unit)
        blank[np.flatnonzero(has)[hit]] = np.where(no_value[hit], "value", "unit")
    several = np.zeros(len(possible_row), dtype=bool) if sure_row is None else sure_row != possible_row
    undated_end = np.zeros(len(possible_row), dtype=bool)
    untested_end = undated_end.copy()
    possible_open = None if sure_row is None else np.zeros(len(possible_row), dtype=np.int8)
    if sure_row is not None:  # only an open counting day can hold an undated row or a row without a test
        no_date, no_test = np.isnat(cells.date[at]), cells.open_test[at]
        undated_end[has] = no_date | np.isnat(cells.date[sure_row[has]])
        untested_end[has] = no_test | cells.open_test[sure_row[has]]
        possible_open[has] = no_date.astype(np.int8) + 2 * no_test.astype(np.int8)
    unit_blank = None
    if len(UNIT_FACTORS[test]) > 1:  # whatever other patients hold: a value of 0 alone opens no day (review 27)
        sure_blank = _unit_blank(cells, possible_row if sure_row is None else sure_row)
        possible_blank = _unit_blank(cells, possible_row)
        unit_blank = (sure_blank, possible_blank) if sure_blank.any() or possible_blank.any() else None
    in_conflict = np.flatnonzero(conflict)
    recorded = _raw_text(labs, quoted[in_conflict], with_uln).to_numpy(zero_copy_only=False)
    ends_recorded = _value_and_unit(cells, possible_row[in_conflict])
    if sure_row is not None:
        ends_recorded &= _value_and_unit(cells, sure_row[in_conflict])
    sure_date = possible_date = date = pd.Series(dates)
    if untested_end.any() or undated_end.any():  # own dates: a later day's row without a test; none if undated
        sure_date, possible_date = own_dates(sure_row, dates, cells.date), own_dates(possible_row, dates, cells.date)
    return LabResult(pd.Series(sure), pd.Series(possible), sure_raw, possible_raw, pd.Series(blank, dtype=object),
                     date, sure_date, possible_date, pd.Series(conflict), pd.Series(outside), pd.Series(earlier),
                     pd.Series(several), pd.Series(undated), pd.Series(undated_end), pd.Series(untested),
                     pd.Series(untested_end), recorded.astype(object), ends_recorded,
                     cells.file_rows(quoted[in_conflict]), possible_open, unit_blank,
                     pd.Series(outside_latest.astype(DATE_DTYPE)),
                     _ulns(labs, possible_row if sure_row is None else sure_row, possible_row) if with_uln else None)


def _ulns(labs: pd.DataFrame, *rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The ULN of each of ``rows`` (``-1``: none, NaN), per array of rows."""
    uln = labs["uln"].to_numpy(dtype=float, na_value=np.nan)
    return tuple(np.where(r >= 0, uln[np.maximum(r, 0)] if len(uln) else np.nan, np.nan) for r in rows)


def _unit_blank(cells: _RowCells, rows: np.ndarray) -> np.ndarray:
    """Whether each of ``rows`` (``-1``: none) has a blank unit."""
    if not len(cells.no_unit):
        return np.zeros(len(rows), dtype=bool)
    return (rows >= 0) & cells.no_unit[np.maximum(rows, 0)]


def _value_and_unit(cells: _RowCells, rows: np.ndarray) -> np.ndarray:
    """Whether each of ``rows`` has its value and its unit recorded."""
    return ~cells.no_value[rows] & ~cells.no_unit[rows]


def _pick(row: np.ndarray, end: np.ndarray, labs: pd.DataFrame, with_uln: bool,
          shown: _InCanonicalUnit) -> tuple[np.ndarray, pd.Series]:
    """The ``end`` value and the as-reported text of each patient's chosen row (NaN / NA where none)."""
    has = row >= 0
    picked = row[has]
    values = np.full(len(row), np.nan)
    values[has] = end[picked]
    gather = np.full(len(row), len(picked), dtype=np.int64)  # len(picked) = the blank appended below
    gather[has] = np.arange(len(picked))
    raw = pa.concat_arrays([_raw_text(labs, picked, with_uln, shown).cast(pa.large_string()),
                            pa.nulls(1, pa.large_string())])
    return values, pd.Series(pd.array(raw.take(gather), dtype=pd.StringDtype(na_value=np.nan)))


def _pick_beside(row: np.ndarray, end: np.ndarray, base_row: np.ndarray, base_raw: pd.Series, labs: pd.DataFrame,
                 with_uln: bool, shown: _InCanonicalUnit) -> tuple[np.ndarray, pd.Series]:
    """As :func:`_pick`, spelling out only the rows that differ from ``base_row`` (a few):
    the other patients' text is ``base_raw``'s."""
    has = row >= 0
    values = np.full(len(row), np.nan)
    values[has] = end[row[has]]
    differ = np.flatnonzero(row != base_row)
    if not len(differ):
        return values, base_raw
    texts = _raw_text(labs, row[differ], with_uln, shown).cast(pa.large_string())
    gather = np.arange(len(row), dtype=np.int64)
    gather[differ] = len(row) + np.arange(len(differ))
    base = pa.array(base_raw, type=pa.large_string(), from_pandas=True)
    raw = pa.concat_arrays([base, texts]).take(gather)
    return values, pd.Series(pd.array(raw, dtype=pd.StringDtype(na_value=np.nan)))


def _raw_text(labs: pd.DataFrame, rows: np.ndarray, with_uln: bool, shown: _InCanonicalUnit | None = None) -> pa.Array:
    """The results as reported, for evidence: "1500 /uL (1.5 x10^9/L)", "48 U/L (ULN 40)" ``with_uln``,
    "12 (unit not recorded)", "(no value)".

    A value typed in another unit is shown in the canonical one too (``shown``), so a
    sentence never compares "84 g/L" with "9 g/dL" (audit, session 16).
    """
    categories = labs["unit"].cat.categories.astype(str).tolist()
    units = pa.array([*(shown_unit(c) for c in categories), NO_UNIT], type=pa.string())
    codes = labs["unit"].cat.codes.to_numpy()[rows]
    unit = units.take(np.where(codes < 0, len(units) - 1, codes))
    typed = labs["value"].to_numpy(dtype=float, na_value=np.nan)[rows]
    number = decimal_text(typed)
    text = pc.fill_null(pc.binary_join_element_wise(number, unit, " "), NO_VALUE)  # a blank value: no unit shown
    if shown is not None:
        other = np.isin(codes, [i for i, name in enumerate(categories) if name != shown.unit]) & ~np.isnan(typed)
        at = np.flatnonzero(other)
        if len(at):
            value = decimal_text(shown_beside_limits(shown.value[rows[at]], shown.limits))
            converted = pc.binary_join_element_wise(text.take(at), " (", value, " " + shown_unit(shown.unit) + ")", "")
            gather = np.arange(len(rows))
            gather[at] = len(rows) + np.arange(len(at))
            text = pa.concat_arrays([text.cast(pa.string()), converted.cast(pa.string())]).take(gather)
    if with_uln:
        uln = decimal_text(labs["uln"].to_numpy(dtype=float, na_value=np.nan)[rows])
        text = pc.binary_join_element_wise(text, " (ULN ", uln, ")", "")
    # Rare: a row without a date (lab_part_rules._dates_shown) or a test (lab_open_tests) says so, in one parenthesis.
    undated = np.isnat(labs["collected_date"].to_numpy()[rows])
    untested = labs[OPEN_TEST].to_numpy()[rows] if OPEN_TEST in labs.columns else np.zeros(len(rows), dtype=bool)
    beside = ((undated & ~untested, NO_DATE), (untested & ~undated, NO_TEST), (untested & undated, NO_TEST_OR_DATE))
    for lacks, said in beside:
        if lacks.any():
            text = pc.if_else(pa.array(lacks), pc.binary_join_element_wise(text, said, ""), text)
    return text
