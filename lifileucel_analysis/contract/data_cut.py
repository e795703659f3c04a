"""Data cuts: the dataset as it was known on a given date.

A cut keeps what had happened (and been recorded) on or before the cut date and sets the
rest aside, counting it; a date after the cut is not an error. The rules, one per table
(``docs/history.md`` gives the reasons):

- ``patients``: a patient whose ``consent_date`` is after the cut is not screened (set
  aside and counted); a blank consent date keeps the patient (the screening already says
  what is missing). ``brain_metastases_stable_since`` and ``live_vaccine_date`` after the
  cut were not known at the cut: they become blank (counted). ``lymphodepletion_date`` is
  a *planned* date and may lie after the cut; it is kept. ``birth_date`` is kept.
- ``therapies``: a line started after the cut is set aside. An ``end_date`` after the cut
  means the line was still running at the cut: the end date becomes blank and
  ``stop_reason`` ``ongoing``; a ``recurrence_date`` after the cut becomes blank.
- ``labs``: results collected after the cut are set aside.
- ``toxicities``: the table has no date column (the contract records the status at the
  extract), so a cut cannot date a toxicity: rows are kept as given, for the patients
  still screened. To follow toxicities over time, screen each week's extract (its own
  status) rather than cutting a later extract back.
- ``overrides``: waivers approved after the cut are set aside (not applied); they are kept
  in ``ScreeningDataset.waivers_after_cut`` so that their criterion's sentence names them.

What a cut sets aside or blanks (therapy lines, lab results, the dates above) is kept in
``ScreeningDataset.dated_after_cut``, so that the criteria that read it say it is dated after
the cut rather than "not recorded".

Rows of patients set aside are dropped from every table (they are counted with the patient).
The rows kept remember their file rows (``ScreeningDataset.source_rows``), so findings still
name the file's row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .cell_parsing import ISO_DATE_SHAPE
from .dataset import ScreeningDataset
from .messages import counted
from .parameter_files import ParamsError

__all__ = ["CutDateError", "DataCut", "apply_cut", "combined_cut", "iso_day", "parse_cut_date", "refuse_a_blank_option"]

ROWS_AFTER_CUT: dict[str, str] = {"therapies": "start_date", "labs": "collected_date", "overrides": "approved_date"}
"""Event tables whose rows dated after the cut are set aside, with the column that dates them."""
BLANKED_AFTER_CUT: dict[str, tuple[str, ...]] = {
    "patients": ("brain_metastases_stable_since", "live_vaccine_date"),
    "therapies": ("end_date", "recurrence_date"),
}
"""Cells dated after the cut that become blank (not known yet at the cut)."""


AFTER_CUT_COLUMNS: tuple[str, ...] = ("patient_id", "table", "column", "line", "agents", "setting", "test", "date")
"""Columns of ``ScreeningDataset.dated_after_cut``: what a cut set aside or blanked, by cell."""


def _dated_after(frame: pd.DataFrame, table: str, column: str, rows: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` at ``rows`` as :data:`AFTER_CUT_COLUMNS` entries for ``table.column``."""
    picked = frame.iloc[rows]

    def cells(name: str) -> np.ndarray:
        return picked[name].astype(object).to_numpy() if name in picked else np.full(len(rows), None, dtype=object)

    return pd.DataFrame({"patient_id": picked["patient_id"].astype(str).to_numpy(), "table": table,
                         "column": column, "line": cells("line"), "agents": cells("agents"),
                         "setting": cells("setting"), "test": cells("test"),
                         "date": picked[column].to_numpy()}, columns=list(AFTER_CUT_COLUMNS))


class CutDateError(ParamsError):
    """A cut date that is not an ISO date ``YYYY-MM-DD`` (a bad parameter: exit status 2 in the CLI)."""


def iso_day(text: str) -> dt.date:
    """The date written ``YYYY-MM-DD`` (surrounding spaces allowed), and only that shape.

    :meth:`datetime.date.fromisoformat` also takes ``20250101`` and ``2025-W01-1`` (30 December
    2024) since Python 3.11; a cut date typed so is more likely a slip than meant (audit 39C).

    Raises
    ------
    ValueError
        For any other text, or a day that does not exist (``2025-02-30``).
    """
    text = text.strip()
    if not re.fullmatch(ISO_DATE_SHAPE, text):
        raise ValueError(f"not YYYY-MM-DD: {text[:40]!r}")
    return dt.date.fromisoformat(text)


def refuse_a_blank_option(value: str | None) -> None:
    """Raise :class:`CutDateError` for a ``--cut-date`` given blank: it would screen every row, as if the
    option were left out (a script's empty variable; audit 39C). :func:`parse_cut_date` reads a blank as
    no cut, as a notebook's blank ``cut_date`` parameter says; a command-line option given is meant."""
    if value is not None and not value.strip():
        raise CutDateError("--cut-date is blank; give a date YYYY-MM-DD, or leave the option out to screen every row")


def parse_cut_date(value: str | dt.date | None) -> dt.date | None:
    """Return the cut date as a :class:`datetime.date` (``None``/blank: no cut, as a notebook's
    blank ``cut_date`` parameter says; the CLI refuses a blank ``--cut-date`` itself).

    Raises
    ------
    CutDateError
        For anything but an ISO ``YYYY-MM-DD`` date (:func:`iso_day`).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return iso_day(str(value))
    except ValueError:
        raise CutDateError(f"cut date {str(value)[:40]!r} is not a date written YYYY-MM-DD, e.g. 2025-03-31") from None


FAR_AFTER_DAYS = 365
"""A cut more than this many days after the latest consent kept is said to the user
(:meth:`DataCut.far_after_the_data`)."""


@dataclass(frozen=True)
class DataCut:
    """What a cut kept and what it set aside.

    Attributes
    ----------
    cut_date : datetime.date
    patients_in : int
        Patients in the dataset before the cut.
    patients_set_aside : int
        Patients consented after the cut (not screened).
    rows_set_aside : dict of str to int
        Rows dated after the cut, per table (``therapies``, ``labs``, ``overrides``).
    dates_blanked : dict of str to int
        Cells dated after the cut made blank, per ``table.column``.
    latest_consent : datetime.date or None
        The latest consent date of the patients kept (``None``: none recorded); not written to
        ``data_cut.csv``, only said where the cut lies far beyond it (:meth:`far_after_the_data`).
    """

    cut_date: dt.date
    patients_in: int
    patients_set_aside: int
    rows_set_aside: dict[str, int]
    dates_blanked: dict[str, int]
    latest_consent: dt.date | None = None

    def far_after_the_data(self, days: int = FAR_AFTER_DAYS) -> str | None:
        """A note when the cut lies more than ``days`` after the latest consent kept, else ``None``.

        A cut date is accepted as given (no wall clock is read), but one years after the data
        (a mistyped year, 2031 for 2025) moves every "days pending" and NMA-LD status silently
        (review 29E): ``"the data cut 2031-01-01 is 1583 days after the latest consent date
        (2026-09-01): is its year right? ..."``.
        """
        if self.latest_consent is None or (self.cut_date - self.latest_consent).days <= days:
            return None
        after = counted((self.cut_date - self.latest_consent).days, "day")
        return (f"the data cut {self.cut_date.isoformat()} is {after} after the latest consent date "
                f"({self.latest_consent.isoformat()}): is its year right? Days pending and "
                "NMA-LD status (date passed or scheduled) are counted to the cut date")

    def rows(self) -> list[tuple[str, str]]:
        """``(item, value)`` pairs, in a fixed order, for the run file and report headers."""
        return [("cut_date", self.cut_date.isoformat()),
                ("patients_in_dataset", str(self.patients_in)),
                ("patients_consented_after_cut", str(self.patients_set_aside)),
                *((f"{table}_rows_after_cut", str(n)) for table, n in self.rows_set_aside.items()),
                *((f"{name}_after_cut_blanked", str(n)) for name, n in self.dates_blanked.items())]

    def frame(self) -> pd.DataFrame:
        """:meth:`rows` as a two-column table (``item``, ``value``)."""
        return pd.DataFrame(self.rows(), columns=["item", "value"])

    def account(self, screened: int | None = None) -> str:
        """Every patient of the file accounted for, where a count of screened patients is read.

        ``"400 patients in the dataset: 353 consented after the data cut 2023-01-15 (set aside, not
        screened), 47 screened."``; with ``screened`` ``None`` (a site's page: the cut counts patients
        program-wide only) ``"Data cut 2023-01-15: 353 patients of the program consented after it (set
        aside, not screened)."`` (review 28C: only the provenance appendix counted them).
        """
        date, aside = self.cut_date.isoformat(), self.patients_set_aside
        if screened is None:
            return (f"Data cut {date}: {aside} {'patient' if aside == 1 else 'patients'} of the program consented "
                    "after it (set aside, not screened).")
        return (f"{self.patients_in} {'patient' if self.patients_in == 1 else 'patients'} in the dataset: {aside} "
                f"consented after the data cut {date} (set aside, not screened), {screened} screened.")


def _after(column: pd.Series, cut: pd.Timestamp) -> pd.Series:
    return (column > cut).fillna(False).astype(bool)


def apply_cut(dataset: ScreeningDataset, cut_date: dt.date) -> tuple[ScreeningDataset, DataCut]:
    """Return the dataset as known on ``cut_date`` and the account of what was set aside.

    The rows kept keep their file rows (``source_rows``), so that a finding still names
    the row of the file.

    Parameters
    ----------
    dataset : ScreeningDataset
        The typed dataset (its date columns are ``datetime64``).
    cut_date : datetime.date
        The last day whose data count (inclusive).
    """
    cut = pd.Timestamp(cut_date)
    patients = dataset.patients
    late = _after(patients["consent_date"], cut).to_numpy()
    kept_ids = set(patients.loc[~late, "patient_id"])
    tables: dict[str, pd.DataFrame] = {"patients": patients.iloc[np.flatnonzero(~late)].reset_index(drop=True)}
    source_rows = {"patients": dataset.rows_in_source("patients")[~late]}
    rows_set_aside: dict[str, int] = {}
    late_waivers = dataset.overrides.iloc[:0]
    dated = []  # what is not read at the cut, named in the sentences of the criteria that read it
    for table in ("therapies", "labs", "toxicities", "overrides"):
        frame = dataset.table(table)
        keep = frame["patient_id"].isin(kept_ids).to_numpy()
        if table in ROWS_AFTER_CUT:
            after = _after(frame[ROWS_AFTER_CUT[table]], cut).to_numpy() & keep
            rows_set_aside[table] = int(after.sum())
            keep = keep & ~after
            if table == "overrides":  # not applied, but said in the criterion's sentence
                late_waivers = frame.iloc[np.flatnonzero(after)].reset_index(drop=True)
            else:
                dated.append(_dated_after(frame, table, ROWS_AFTER_CUT[table], np.flatnonzero(after)))
        tables[table] = frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)
        source_rows[table] = dataset.rows_in_source(table)[keep]
    blanked: dict[str, int] = {}
    for table, columns in BLANKED_AFTER_CUT.items():
        frame = tables[table].copy()
        for column in columns:
            after = _after(frame[column], cut)
            dated.append(_dated_after(frame, table, column, np.flatnonzero(after.to_numpy())))
            blanked[f"{table}.{column}"] = int(after.sum())
            if column == "end_date":  # still running at the cut
                frame.loc[after, "stop_reason"] = "ongoing"
            frame.loc[after, column] = pd.NaT
        tables[table] = frame
    consented = patients["consent_date"].iloc[np.flatnonzero(~late)].max()
    account = DataCut(cut_date=cut_date, patients_in=len(patients), patients_set_aside=int(late.sum()),
                      rows_set_aside=rows_set_aside, dates_blanked=blanked,
                      latest_consent=None if pd.isna(consented) else pd.Timestamp(consented).date())
    # A row read once because it repeats another goes where that row goes (set aside or kept).
    repeated = {table: frame[np.isin(frame["original"].to_numpy(), source_rows[table])].reset_index(drop=True)
                for table, frame in dataset.repeated_rows.items()}
    return replace(dataset, **tables, source_rows=source_rows, cut_date=cut_date, repeated_rows=repeated,
                   waivers_after_cut=late_waivers, dated_after_cut=pd.concat(dated, ignore_index=True)), account


def combined_cut(parts: Iterable[DataCut]) -> DataCut:
    """One account from the accounts of a dataset's parts (its buckets) cut on the same date: counts summed.

    Every rule of a cut concerns one patient's rows, so the parts' counts add up to the
    whole dataset's.

    Raises
    ------
    ValueError
        For no part, or parts cut on different dates.
    """
    parts = list(parts)
    if not parts or len({part.cut_date for part in parts}) != 1:
        raise ValueError("combined_cut needs at least one account, all of one cut date")

    def total(counts: list[dict[str, int]]) -> dict[str, int]:
        return {name: sum(c.get(name, 0) for c in counts) for name in counts[0]}

    return DataCut(cut_date=parts[0].cut_date, patients_in=sum(p.patients_in for p in parts),
                   patients_set_aside=sum(p.patients_set_aside for p in parts),
                   latest_consent=max((p.latest_consent for p in parts if p.latest_consent is not None), default=None),
                   rows_set_aside=total([p.rows_set_aside for p in parts]),
                   dates_blanked=total([p.dates_blanked for p in parts]))
