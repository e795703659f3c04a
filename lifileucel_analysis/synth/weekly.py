"""Weekly data cuts of one synthetic cohort, with the generator's own record of what it changed.

A screening program receives a new extract every week. :func:`weekly_cuts` draws one
cohort (:func:`~.cohorts.generate_cohort`, nothing dated after ``as_of``) and derives
``weeks`` extracts from it, week 1 cut on ``as_of`` and each later week seven days on.
From week 2, each week plants, on patients of its own (a patient is planted at most once):

- ``arrival``: patients held back from the earlier extracts (the latest consents) arrive;
- ``blank filled``: ``patients.active_medical_illness`` was blank in the earlier extracts
  and now carries its value (E7 reads only that column: unknown -> pass or fail);
- ``correction``: ``patients.melanoma_subtype`` was wrongly ``uveal`` in the earlier
  extracts and is corrected to its true subtype (E3 reads only that column: fail -> pass);
- ``lab redraw``: a platelet count of 20 x10^9/L, drawn on the consent day, enters the
  extract of a patient who had no result inside the default 28-day window before consent
  (I7: unknown, since every test is blank, -> fail, since one result below the limit
  decides it whatever else is missing).

Patients whose criterion is waived by an override are never planted on (a waiver would
hide the change). Nothing else differs between two extracts, so "what changed" between
weeks is exactly the record (``tests/test_weekly_history.py`` checks it). The cohort's
own draws are untouched: planting uses a random stream of its own, so the bundled
cohorts keep their bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract.schema import coerce
from .cohorts import DEFAULT_AS_OF, Format, generate_cohort

__all__ = ["PLANTED_COLUMNS", "WeeklyCuts", "weekly_cuts", "write_weekly_cuts"]

PER_WEEK = {"arrival": 2, "blank filled": 1, "correction": 1, "lab redraw": 1}
"""Patients planted per week, by kind of change (fewer when a cohort has too few candidates)."""
PLANTED_COLUMNS = ["week", "cut_date", "patient_id", "change", "table", "column", "value_before", "value_after",
                   "criterion_id"]
"""Columns of the record (``planted_changes.csv``)."""
WINDOW_DAYS = 28
"""The default ``lab_lookback_days``: a redraw candidate has no result this close before consent."""
REDRAW_PLATELETS = 20.0
"""x10^9/L: below any plausible platelet limit."""


@dataclass(frozen=True)
class WeeklyCuts:
    """The extracts and the record.

    Attributes
    ----------
    cut_dates : list of str
        ISO cut date of each week (week 1 first).
    extracts : list of dict of str to DataFrame
        Each week's five typed tables.
    planted : DataFrame
        The record: one row per planted change (:data:`PLANTED_COLUMNS`).
    """

    cut_dates: list[str]
    extracts: list[dict[str, pd.DataFrame]]
    planted: pd.DataFrame


def _waived(tables: dict[str, pd.DataFrame], criterion: str) -> set[str]:
    overrides = tables["overrides"]
    return set(overrides.loc[overrides["criterion_id"].astype(str) == criterion, "patient_id"])


def _redraw_candidates(tables: dict[str, pd.DataFrame]) -> pd.Series:
    """Patients with a consent date and no lab result from 28 days before consent up to NMA-LD."""
    patients = tables["patients"].set_index("patient_id")
    labs = tables["labs"]
    consent = labs["patient_id"].map(patients["consent_date"])
    ld = labs["patient_id"].map(patients["lymphodepletion_date"])
    counts = (labs["collected_date"] >= consent - pd.Timedelta(days=WINDOW_DAYS)) & (
        ld.isna() | (labs["collected_date"] <= ld))
    with_result = set(labs.loc[counts.fillna(False).astype(bool), "patient_id"])
    ok = patients["consent_date"].notna() & ~patients.index.isin(with_result) & (
        patients["lymphodepletion_date"].isna() | (patients["lymphodepletion_date"] >= patients["consent_date"]))
    return pd.Series(patients.index[ok.to_numpy()])


def _candidates(tables: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    p = tables["patients"]
    subtype = p["melanoma_subtype"].astype("string")
    return {
        "blank filled": list(p.loc[p["active_medical_illness"].notna()
                                   & ~p["patient_id"].isin(_waived(tables, "E7")), "patient_id"]),
        "correction": list(p.loc[subtype.notna() & (subtype != "uveal")
                                 & ~p["patient_id"].isin(_waived(tables, "E3")), "patient_id"]),
        "lab redraw": [pid for pid in _redraw_candidates(tables) if pid not in _waived(tables, "I7")],
    }


def _plan(tables: dict[str, pd.DataFrame], weeks: int, rng: np.random.Generator,
          cut_dates: list[str]) -> pd.DataFrame:
    """Choose who is planted when; return the record."""
    p = tables["patients"]
    by_consent = p.sort_values(["consent_date", "patient_id"], kind="stable")["patient_id"].tolist()
    arrivals = by_consent[len(by_consent) - PER_WEEK["arrival"] * (weeks - 1):] if weeks > 1 else []
    used = set(arrivals)
    rows: list[dict[str, object]] = []
    for week in range(2, weeks + 1):
        batch = arrivals[(week - 2) * PER_WEEK["arrival"]:(week - 1) * PER_WEEK["arrival"]]
        rows += [{"week": week, "patient_id": pid, "change": "arrival"} for pid in batch]
    pools = _candidates(tables)
    for kind in ("blank filled", "correction", "lab redraw"):
        pool = [pid for pid in pools[kind] if pid not in used]
        chosen = rng.permutation(np.array(pool, dtype=object))[: PER_WEEK[kind] * (weeks - 1)] if pool else []
        for i, pid in enumerate(chosen):
            rows.append({"week": 2 + i // PER_WEEK[kind], "patient_id": pid, "change": kind})
            used.add(pid)
    record = pd.DataFrame(rows, columns=["week", "patient_id", "change"])
    return _describe(record, p, cut_dates)


def _describe(record: pd.DataFrame, patients: pd.DataFrame, cut_dates: list[str]) -> pd.DataFrame:
    """Add table, column, values before and after and the criterion each change is meant to move."""
    by_id = patients.set_index("patient_id")
    what = {"arrival": ("patients", "", ""), "blank filled": ("patients", "active_medical_illness", "E7"),
            "correction": ("patients", "melanoma_subtype", "E3"), "lab redraw": ("labs", "value", "I7")}
    record["table"] = record["change"].map(lambda c: what[c][0])
    record["column"] = record["change"].map(lambda c: what[c][1])
    record["criterion_id"] = record["change"].map(lambda c: what[c][2])
    illness = record["patient_id"].map(by_id["active_medical_illness"]).map({True: "yes", False: "no"})
    subtype = record["patient_id"].map(by_id["melanoma_subtype"].astype("string"))
    record["value_before"] = np.select([record["change"] == "correction"], ["uveal"], "")
    record["value_after"] = np.select(
        [record["change"] == "blank filled", record["change"] == "correction", record["change"] == "lab redraw"],
        [illness.fillna(""), subtype.fillna(""), f"platelets {REDRAW_PLATELETS:g} 10^9/L"], "")
    record["cut_date"] = record["week"].map(lambda w: cut_dates[w - 1])
    return record.sort_values(["week", "patient_id"], kind="stable")[PLANTED_COLUMNS].reset_index(drop=True)


def _extract(tables: dict[str, pd.DataFrame], record: pd.DataFrame, week: int) -> dict[str, pd.DataFrame]:
    """The tables as the extract of ``week`` shows them."""
    later = record.loc[record["week"] > week]
    absent = set(later.loc[later["change"] == "arrival", "patient_id"])
    out = {name: frame.loc[~frame["patient_id"].isin(absent)].copy() for name, frame in tables.items()}
    p = out["patients"]
    blank = p["patient_id"].isin(later.loc[later["change"] == "blank filled", "patient_id"])
    p.loc[blank, "active_medical_illness"] = pd.NA
    wrong = p["patient_id"].isin(later.loc[later["change"] == "correction", "patient_id"])
    p.loc[wrong, "melanoma_subtype"] = "uveal"
    drawn = record.loc[(record["week"] <= week) & (record["change"] == "lab redraw"), "patient_id"]
    consent = p.set_index("patient_id")["consent_date"]
    redraws = pd.DataFrame({"patient_id": drawn.to_numpy(), "test": "platelets", "value": REDRAW_PLATELETS,
                            "unit": "10^9/L", "uln": np.nan, "collected_date": drawn.map(consent).to_numpy()})
    labs = pd.concat([out["labs"], coerce("labs", redraws)], ignore_index=True)
    out["labs"] = labs.sort_values(["patient_id", "collected_date", "test"], kind="stable")
    return {name: frame.reset_index(drop=True) for name, frame in out.items()}


def weekly_cuts(n_patients: int, seed: int, weeks: int, *, as_of: str = DEFAULT_AS_OF) -> WeeklyCuts:
    """Draw one cohort and its ``weeks`` weekly extracts, with the record of planted changes.

    Parameters
    ----------
    n_patients, seed, as_of
        As for :func:`~.cohorts.generate_cohort`; ``as_of`` is week 1's cut date.
    weeks : int
        Number of weekly extracts (1 or more).

    Returns
    -------
    WeeklyCuts
    """
    if weeks < 1:
        raise ValueError(f"weeks must be >= 1, got {weeks}")
    tables = generate_cohort(n_patients, seed, as_of=as_of)
    start = pd.Timestamp(as_of)
    cut_dates = [(start + pd.Timedelta(days=7 * k)).date().isoformat() for k in range(weeks)]
    record = _plan(tables, weeks, np.random.default_rng([seed, weeks, 12]), cut_dates)
    return WeeklyCuts(cut_dates, [_extract(tables, record, w) for w in range(1, weeks + 1)], record)


def write_weekly_cuts(n_patients: int, seed: int, weeks: int, out: Path | str, fmt: Format = "csv", *,
                      as_of: str = DEFAULT_AS_OF) -> list[Path]:
    """Write ``out/week-01/`` ... (one dataset per week), ``out/cuts.csv`` and ``out/planted_changes.csv``.

    Returns
    -------
    list of Path
        The files written.
    """
    from ..contract.writing import write_tables

    series = weekly_cuts(n_patients, seed, weeks, as_of=as_of)
    out = Path(out)
    written: list[Path] = []
    folders = [f"week-{w:02d}" for w in range(1, weeks + 1)]
    for folder, tables in zip(folders, series.extracts):
        target = out / folder / "data.xlsx" if fmt == "xlsx" else out / folder
        written += write_tables(tables, target, fmt)
    cuts = pd.DataFrame({"week": range(1, weeks + 1), "cut_date": series.cut_dates, "folder": folders})
    for name, frame in (("cuts.csv", cuts), ("planted_changes.csv", series.planted)):
        frame.to_csv(out / name, index=False, lineterminator="\n")
        written.append(out / name)
    return written
