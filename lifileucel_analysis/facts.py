"""Derived facts: drug classes of therapy lines, counted lines, latest labs, age at consent.

Everything here is whole-column pandas/NumPy. Tri-state facts use the nullable
``boolean`` dtype (``<NA>`` = cannot tell from the data), whose ``&``/``|`` follow
Kleene's logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from .dataset import ContractError, Problem, ScreeningDataset
from .params import CriteriaParams
from .paths import DRUG_CLASSES
from .schema import LAB_TESTS, UNIT_FACTORS

PD1_CLASSES = frozenset({"anti-pd-1", "anti-pd-l1"})
ACT_CLASS = "adoptive-cell-transfer"
BRAF_CLASS = "braf-inhibitor"
LOW_IS_WORSE = frozenset({"anc", "platelets", "hemoglobin", "creatinine_clearance"})


@lru_cache(maxsize=1)
def drug_classes() -> dict[str, str]:
    """Return the drug dictionary: generic agent name -> class."""
    table = pd.read_csv(DRUG_CLASSES, dtype=str)
    return dict(zip(table["agent"], table["drug_class"]))


def patient_positions(patients: pd.DataFrame, events: pd.DataFrame, table: str) -> np.ndarray:
    """Map each event row to the position of its patient in ``patients``.

    Raises
    ------
    ContractError
        If an event row names a patient who is not in ``patients``.
    """
    positions = pd.Index(patients["patient_id"]).get_indexer(events["patient_id"])
    orphans = np.flatnonzero(positions < 0)
    if len(orphans):
        raise ContractError([
            Problem(table, int(i) + 1, "patient_id", events["patient_id"].iloc[i], "not a patient_id of patients")
            for i in orphans[:1000]
        ])
    return positions


def _tri(known_true: pd.Series, known_false: pd.Series) -> pd.Series:
    """Build a nullable boolean: True where ``known_true``, False where ``known_false``, else NA."""
    out = pd.Series(pd.NA, index=known_true.index, dtype="boolean")
    out[known_false.to_numpy(dtype=bool)] = False
    out[known_true.to_numpy(dtype=bool)] = True
    return out


def regimen_classes(agents: pd.Series) -> pd.DataFrame:
    """Classify each therapy row's agents.

    Distinct regimen strings are few, so the split-and-lookup runs once per distinct
    string and is broadcast back by factorized codes.

    Returns
    -------
    pandas.DataFrame
        Aligned with ``agents``: ``pd1``, ``act``, ``braf`` (nullable boolean: NA when an
        agent is unknown and no known agent decides) and ``unknown_agents`` (str, the
        names the dictionary does not know, "" when none).
    """
    codes, regimens = pd.factorize(agents, use_na_sentinel=True)
    per_agent = pd.Series(regimens, dtype=object).str.split("+").explode().str.strip()
    cls = per_agent.map(drug_classes())
    unknown = cls.isna()
    by_regimen = pd.DataFrame({"cls": cls, "unknown": unknown, "agent": per_agent}).groupby(level=0)
    any_unknown = by_regimen["unknown"].any()
    names = per_agent.where(unknown).dropna().groupby(level=0).agg("+".join)

    def flag(classes: frozenset[str]) -> pd.Series:
        hit = cls.isin(classes).groupby(level=0).any()
        return _tri(hit, ~hit & ~any_unknown)

    table = pd.DataFrame({
        "pd1": flag(PD1_CLASSES),
        "act": flag(frozenset({ACT_CLASS})),
        "braf": flag(frozenset({BRAF_CLASS})),
        "unknown_agents": names.reindex(range(len(regimens)), fill_value="").astype(str),
    })
    blank = pd.DataFrame({"pd1": [pd.NA], "act": [pd.NA], "braf": [pd.NA], "unknown_agents": [""]}).astype(
        {"pd1": "boolean", "act": "boolean", "braf": "boolean"}
    )
    # Row -1 of the factorized codes is a blank agents cell: nothing is known about it.
    table = pd.concat([table, blank], ignore_index=True)
    return table.iloc[np.where(codes < 0, len(table) - 1, codes)].reset_index(drop=True)


def therapy_lines(dataset: ScreeningDataset, params: CriteriaParams) -> pd.DataFrame:
    """One row per therapy line with its patient position and derived tri-state facts.

    Columns added to the therapy columns: ``pos``, ``pd1``, ``act``, ``braf``,
    ``unknown_agents``, ``adjuvant`` (bool), ``recurrence_in_window`` (bool),
    ``counted`` and ``progressed`` (nullable boolean), as docs/criteria.md defines them.
    """
    t = dataset.therapies.reset_index(drop=True)
    lines = pd.concat([t, regimen_classes(t["agents"])], axis=1)
    lines["pos"] = patient_positions(dataset.patients, t, "therapies")
    setting = t["setting"]
    lines["adjuvant"] = setting.isin(["adjuvant", "neoadjuvant"]).to_numpy()
    limit = t["end_date"] + pd.DateOffset(months=params.adjuvant_recurrence_months)
    recurred = t["recurrence_date"].notna()
    in_window = recurred & (t["end_date"].isna() | (t["recurrence_date"] <= limit))
    lines["recurrence_in_window"] = in_window.to_numpy()
    adjuvant_counted = lines["pd1"].where(in_window.to_numpy(), False)
    metastatic = (setting == "metastatic").to_numpy()
    counted = pd.Series(pd.NA, index=t.index, dtype="boolean")
    counted[metastatic] = True
    counted[lines["adjuvant"].to_numpy()] = adjuvant_counted[lines["adjuvant"].to_numpy()]
    lines["counted"] = counted
    lines["progressed"] = _progressed(t, lines["adjuvant"].to_numpy())
    return lines


def _progressed(t: pd.DataFrame, adjuvant: np.ndarray) -> pd.Series:
    """Whether a line shows progression, intolerance or no response (NA while blank)."""
    shows = t["stop_reason"].isin(["progression", "toxicity"]) | t["best_response"].isin(["sd", "pd"])
    blank = t["stop_reason"].isna() | t["best_response"].isna()
    progressed = _tri(shows | pd.Series(adjuvant, index=t.index), ~shows & ~blank)
    return progressed


@dataclass(frozen=True)
class LabResult:
    """The result that counts for one lab test, aligned with the patients."""

    value: pd.Series
    """Value in the canonical unit (AST/ALT: as a multiple of ULN); NaN when none."""
    raw: pd.Series
    """Value as reported, with its unit, for evidence (``"1500 /uL"``)."""
    date: pd.Series
    conflict: pd.Series
    """True where several results on the counting day disagreed (the worst one counts)."""


def latest_labs(dataset: ScreeningDataset, params: CriteriaParams) -> dict[str, LabResult]:
    """Select, for every patient and test, the result that counts (one sort, one pass).

    The window is ``consent_date - lab_lookback_days`` to ``lymphodepletion_date`` (when
    known), inclusive. Among results on the latest day the least favourable counts.
    """
    labs = dataset.labs
    n = dataset.n_patients
    pos = patient_positions(dataset.patients, labs, "labs")
    consent = dataset.patients["consent_date"].to_numpy()[pos]
    ld = dataset.patients["lymphodepletion_date"].to_numpy()[pos]
    date = labs["collected_date"].to_numpy()
    start = consent - np.timedelta64(params.lab_lookback_days, "D")
    in_window = (date >= start) & ~np.isnat(consent) & (np.isnat(ld) | (date <= ld))
    factor = _unit_factor(labs)
    canonical = labs["value"].to_numpy() * factor
    is_liver = labs["test"].isin(["ast", "alt"]).to_numpy()
    canonical = np.where(is_liver, labs["value"].to_numpy() / labs["uln"].to_numpy(), canonical)
    low_bad = labs["test"].isin(list(LOW_IS_WORSE)).to_numpy()
    frame = pd.DataFrame({
        "pos": pos, "test": labs["test"].astype(str).to_numpy(), "date": date,
        "value": canonical, "badness": np.where(low_bad, -canonical, canonical),
        "raw": (_raw_text(labs)).to_numpy(),
    })[in_window]
    frame = frame.sort_values(["pos", "test", "date", "badness"], kind="stable")
    last = frame.drop_duplicates(["pos", "test"], keep="last")
    same_day = frame.merge(last[["pos", "test", "date"]], on=["pos", "test", "date"])
    bounds = same_day.groupby(["pos", "test"])["value"].agg(["min", "max"])
    spread = bounds["min"] != bounds["max"]
    return {test: _lab_for(test, last, spread, n) for test in LAB_TESTS}


def _lab_for(test: str, last: pd.DataFrame, spread: pd.Series, n: int) -> LabResult:
    rows = last[last["test"] == test]
    value = pd.Series(np.nan, index=pd.RangeIndex(n))
    value.iloc[rows["pos"].to_numpy()] = rows["value"].to_numpy()
    raw = pd.Series(np.nan, index=pd.RangeIndex(n), dtype=pd.StringDtype(na_value=np.nan))
    raw.iloc[rows["pos"].to_numpy()] = rows["raw"].to_numpy()
    date = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[s]")
    date.iloc[rows["pos"].to_numpy()] = rows["date"].to_numpy()
    conflict = pd.Series(False, index=pd.RangeIndex(n))
    flagged = spread[spread].reset_index()
    flagged = flagged[flagged["test"] == test]
    conflict.iloc[flagged["pos"].to_numpy()] = True
    return LabResult(value, raw, date, conflict)


def _unit_factor(labs: pd.DataFrame) -> np.ndarray:
    factors = {(test, unit): f for test, units in UNIT_FACTORS.items() for unit, f in units.items()}
    keys = pd.MultiIndex.from_arrays([labs["test"].astype(str), labs["unit"].astype(str)])
    return pd.Series(factors).reindex(keys).to_numpy(dtype=float)


def _raw_text(labs: pd.DataFrame) -> pd.Series:
    value = labs["value"].round(3).astype(str).str.replace(r"\.0$", "", regex=True)
    uln = labs["uln"].round(3).astype(str).str.replace(r"\.0$", "", regex=True)
    text = value + " " + labs["unit"].astype(str)
    liver = labs["test"].isin(["ast", "alt"])
    return text.where(~liver, text + " (ULN " + uln + ")")


def age_at_consent(patients: pd.DataFrame) -> pd.Series:
    """Age in whole years at consent (NA when either date is blank)."""
    birth, consent = patients["birth_date"], patients["consent_date"]
    years = consent.dt.year - birth.dt.year
    before_birthday = (consent.dt.month < birth.dt.month) | (
        (consent.dt.month == birth.dt.month) & (consent.dt.day < birth.dt.day)
    )
    return (years - before_birthday.astype("Int64")).astype("Int64")
