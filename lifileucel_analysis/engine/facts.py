"""Derived facts: drug classes of therapy lines, counted lines, latest labs, age at consent.

Everything here is whole-column pandas/NumPy. Tri-state facts use the nullable
``boolean`` dtype (``<NA>`` = cannot tell from the data), whose ``&``/``|`` follow
Kleene's logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.dataset import ContractError, Problem, ScreeningDataset
from .parameters import CriteriaParams
from .drug_dictionary import classify_names, lookup_table
from ..contract.schema import DATE_DTYPE, LAB_TESTS, TESTS_NEEDING_ULN, UNIT_FACTORS, UNITS

PD1_CLASSES = frozenset({"anti-pd-1", "anti-pd-l1"})
ACT_CLASS = "adoptive-cell-transfer"
BRAF_CLASS = "braf-inhibitor"
EXACT_DECIMALS = 9
LOW_IS_WORSE = frozenset({"anc", "platelets", "hemoglobin", "creatinine_clearance"})


@lru_cache(maxsize=1)
def drug_classes() -> dict[str, str]:
    """Return the package's drug dictionary: normalised agent name -> class(es)."""
    return lookup_table()


def patient_positions(dataset: ScreeningDataset, table: str) -> np.ndarray:
    """Map each row of ``table`` to the position of its patient in ``dataset.patients``.

    Raises
    ------
    ContractError
        If a row names a patient who is not in ``patients``.
    """
    positions = dataset.patient_positions(table)
    orphans = np.flatnonzero(positions < 0)
    if len(orphans):
        ids = dataset.table(table)["patient_id"]
        raise ContractError([
            Problem(table, int(i) + 1, "patient_id", ids.iloc[i], "not a patient_id of patients") for i in orphans[:1000]
        ])
    return positions


def _tri(known_true: pd.Series, known_false: pd.Series) -> pd.Series:
    """Build a nullable boolean: True where ``known_true``, False where ``known_false``, else NA."""
    out = pd.Series(pd.NA, index=known_true.index, dtype="boolean")
    out[known_false.to_numpy(dtype=bool)] = False
    out[known_true.to_numpy(dtype=bool)] = True
    return out


def regimen_classes(agents: pd.Series, lookup: dict[str, str] | None = None) -> pd.DataFrame:
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
    per_agent = per_agent[per_agent.fillna("") != ""]  # "a++b" or a trailing "+": no empty agent
    cls = classify_names(per_agent, drug_classes() if lookup is None else lookup)
    unknown = cls.isna()
    by_regimen = pd.DataFrame({"cls": cls, "unknown": unknown, "agent": per_agent}).groupby(level=0)
    any_unknown = by_regimen["unknown"].any().reindex(range(len(regimens)), fill_value=True)
    names = per_agent.where(unknown).dropna().groupby(level=0).agg("+".join)

    def flag(classes: frozenset[str]) -> pd.Series:
        pattern = "(?:^|;)(?:" + "|".join(sorted(classes)) + ")(?:;|$)"
        hit = cls.fillna("").str.contains(pattern, regex=True).groupby(level=0).any()
        hit = hit.reindex(range(len(regimens)), fill_value=False)
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


def therapy_lines(dataset: ScreeningDataset, params: CriteriaParams,
                  lookup: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per therapy line with its patient position and derived tri-state facts.

    Columns added to the therapy columns: ``pos``, ``pd1``, ``act``, ``braf``,
    ``unknown_agents``, ``adjuvant`` (bool), ``recurrence_in_window``, ``counted``,
    ``shows_progression`` (the line's own stop reason / best response) and ``progressed``
    (nullable boolean), as docs/criteria.md defines them.
    """
    t = dataset.therapies.reset_index(drop=True)
    lines = pd.concat([t, regimen_classes(t["agents"], lookup)], axis=1)
    lines["pos"] = patient_positions(dataset, "therapies")
    setting = t["setting"]
    lines["adjuvant"] = setting.isin(["adjuvant", "neoadjuvant"]).to_numpy()
    lines["recurrence_in_window"] = recurrence_in_window(t, params.adjuvant_recurrence_months)
    adjuvant_counted = lines["pd1"] & lines["recurrence_in_window"]
    metastatic = (setting == "metastatic").to_numpy()
    counted = pd.Series(pd.NA, index=t.index, dtype="boolean")
    counted[metastatic] = True
    counted[lines["adjuvant"].to_numpy()] = adjuvant_counted[lines["adjuvant"].to_numpy()]
    lines["counted"] = counted
    lines["shows_progression"] = _progressed(t, np.zeros(len(t), dtype=bool))
    lines["progressed"] = _progressed(t, lines["adjuvant"].to_numpy())
    return lines


def recurrence_in_window(t: pd.DataFrame, months: int) -> pd.Series:
    """Whether an (adjuvant) line's recurrence came on therapy or within ``months`` of its end.

    A blank ``recurrence_date`` is a recurrence whose date is missing (the patient is
    screened for advanced disease): on therapy (blank ``end_date``) it is in the window,
    else it is unknown (NA).
    """
    limit = t["end_date"] + pd.DateOffset(months=months)
    recorded = t["recurrence_date"].notna()
    on_therapy = t["end_date"].isna()
    inside = recorded & (on_therapy | (t["recurrence_date"] <= limit))
    return _tri(inside | (~recorded & on_therapy), recorded & ~inside)


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
    outside: pd.Series
    """True where the patient has a result of this test, but none in the window."""


def latest_labs(dataset: ScreeningDataset, params: CriteriaParams) -> dict[str, LabResult]:
    """Select, for every patient and test, the result that counts.

    The window is ``consent_date - lab_lookback_days`` to ``lymphodepletion_date`` (when
    known), inclusive. Among results on the latest day the least favourable counts (the
    last such row in file order when several tie). No sort: grouped maxima/minima over the
    dense key ``patient position x test`` (``ufunc.at``) find the latest day, the worst
    value on it, the row that holds it and the day's spread, each in one pass.
    """
    labs, n = dataset.labs, dataset.n_patients
    pos = patient_positions(dataset, "labs")
    rows, key = _latest_day_rows(dataset, params, pos)
    canonical = _canonical_values(labs)
    value = canonical[rows]
    low_bad = np.isin(key % len(LAB_TESTS), [LAB_TESTS.index(t) for t in LOW_IS_WORSE])
    # A value that cannot be converted (NaN) counts as the worst: it must not hide behind a good one.
    badness = np.where(np.isnan(value), np.inf, np.where(low_bad, -value, value))
    groups = n * len(LAB_TESTS)
    holds = badness == _group_max(key, badness, groups, -np.inf)[key]
    chosen = _group_max(key[holds], rows[holds].astype(np.int64), groups, -1).reshape(n, len(LAB_TESTS))
    low, high = np.full(groups, np.inf), np.full(groups, -np.inf)
    np.fmin.at(low, key, value)
    np.fmax.at(high, key, value)
    conflict = (low != high).reshape(n, len(LAB_TESTS)) & (chosen >= 0)
    any_key = pos * len(LAB_TESTS) + labs["test"].cat.codes.to_numpy()
    on_file = (np.bincount(any_key, minlength=groups) > 0).reshape(n, len(LAB_TESTS))
    outside = on_file & (chosen < 0)
    return {name: _lab_for(chosen[:, code], conflict[:, code], canonical, labs, name in TESTS_NEEDING_ULN,
                           outside[:, code])
            for code, name in enumerate(LAB_TESTS)}


def _latest_day_rows(dataset: ScreeningDataset, params: CriteriaParams,
                     pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lab rows in the window and on their (patient, test)'s latest day, with that key (``pos``: each row's patient)."""
    labs, patients = dataset.labs, dataset.patients
    consent = patients["consent_date"].to_numpy()[pos]
    ld = patients["lymphodepletion_date"].to_numpy()[pos]
    date = labs["collected_date"].to_numpy()
    start = consent - np.timedelta64(params.lab_lookback_days, "D")
    rows = np.flatnonzero((date >= start) & ~np.isnat(consent) & (np.isnat(ld) | (date <= ld)))
    key = pos[rows] * len(LAB_TESTS) + labs["test"].cat.codes.to_numpy()[rows]
    day = date[rows].astype(np.int64)
    on_day = day == _group_max(key, day, dataset.n_patients * len(LAB_TESTS), np.iinfo(np.int64).min)[key]
    return rows[on_day], key[on_day]


def _group_max(key: np.ndarray, values: np.ndarray, groups: int, empty: float) -> np.ndarray:
    """Maximum of ``values`` per dense integer ``key`` in ``range(groups)``; ``empty`` where none."""
    out = np.full(groups, empty, dtype=values.dtype)
    np.maximum.at(out, key, values)
    return out


def _lab_for(row: np.ndarray, conflict: np.ndarray, canonical: np.ndarray, labs: pd.DataFrame,
             with_uln: bool, outside: np.ndarray) -> LabResult:
    """One test's chosen lab rows (``-1`` = none), as values aligned with the patients."""
    has = row >= 0
    picked = row[has]
    values = np.full(len(row), np.nan)
    values[has] = canonical[picked]
    dates = np.full(len(row), np.datetime64("NaT"), dtype=DATE_DTYPE)
    dates[has] = labs["collected_date"].to_numpy()[picked]
    gather = np.full(len(row), len(picked), dtype=np.int64)  # len(picked) = the blank appended below
    gather[has] = np.arange(len(picked))
    raw = pa.concat_arrays([_raw_text(labs, picked, with_uln).cast(pa.large_string()), pa.nulls(1, pa.large_string())])
    text = pd.array(raw.take(gather), dtype=pd.StringDtype(na_value=np.nan))
    return LabResult(pd.Series(values), pd.Series(text), pd.Series(dates), pd.Series(conflict), pd.Series(outside))


def _canonical_values(labs: pd.DataFrame) -> np.ndarray:
    """Values in the canonical unit; AST/ALT as a multiple of their ULN."""
    factors = np.full((len(LAB_TESTS), len(UNITS)), np.nan)
    for t, units in UNIT_FACTORS.items():
        for unit, factor in units.items():
            factors[LAB_TESTS.index(t), UNITS.index(unit)] = factor
    test = labs["test"].cat.codes.to_numpy()
    unit = labs["unit"].cat.codes.to_numpy()
    raw = labs["value"].to_numpy()
    canonical = raw * np.where(unit >= 0, factors[test, unit], np.nan)
    is_liver = np.isin(test, [LAB_TESTS.index(t) for t in TESTS_NEEDING_ULN])
    # Binary floating point cannot hold 33.3 or 1/17.1 exactly: 99.9 / 33.3 = 3.0000000000000004.
    # Rounding to 9 decimals puts a value typed at a limit exactly on it; a value that differs
    # from the limit by less than 5e-10 (more digits than any lab reports) is read as on it.
    return np.round(np.where(is_liver, raw / labs["uln"].to_numpy(), canonical), EXACT_DECIMALS)


def _number_text(values: np.ndarray) -> pa.Array:
    """Numbers as the site wrote them (up to 6 decimals), no trailing ".0"."""
    return pa.array(np.round(values, 6), from_pandas=True).cast(pa.string())


def _raw_text(labs: pd.DataFrame, rows: np.ndarray, with_uln: bool) -> pa.Array:
    """The results as reported, for evidence: "1500 /uL", or "48 U/L (ULN 40)" ``with_uln``."""
    units = pa.array(labs["unit"].cat.categories.astype(str).tolist(), type=pa.string())
    unit = units.take(labs["unit"].cat.codes.to_numpy()[rows])
    text = pc.binary_join_element_wise(_number_text(labs["value"].to_numpy()[rows]), unit, " ")
    if not with_uln:
        return text
    return pc.binary_join_element_wise(text, " (ULN ", _number_text(labs["uln"].to_numpy()[rows]), ")", "")


def age_at_consent(patients: pd.DataFrame) -> pd.Series:
    """Age in whole years at consent (NA when either date is blank)."""
    birth, consent = patients["birth_date"], patients["consent_date"]
    years = consent.dt.year - birth.dt.year
    before_birthday = (consent.dt.month < birth.dt.month) | (
        (consent.dt.month == birth.dt.month) & (consent.dt.day < birth.dt.day)
    )
    return (years - before_birthday.astype("Int64")).astype("Int64")


@dataclass(frozen=True)
class Facts:
    """Everything the criteria read, aligned with the patients table (positional)."""

    patients: pd.DataFrame
    age: pd.Series
    lines: pd.DataFrame
    labs: dict[str, LabResult]
    toxicities: pd.DataFrame
    tox_pos: np.ndarray
    source_rows: dict[str, np.ndarray] = field(default_factory=dict)
    """Per table, the 0-based file row of each row (``ScreeningDataset.rows_in_source``): what findings name."""

    @property
    def n(self) -> int:
        """Number of patients."""
        return len(self.patients)

    def count(self, rows: np.ndarray) -> np.ndarray:
        """Count therapy rows selected by ``rows`` per patient."""
        return np.bincount(self.lines["pos"].to_numpy()[rows], minlength=self.n)


def build_facts(dataset: ScreeningDataset, params: CriteriaParams, drugs: pd.DataFrame | None = None) -> Facts:
    """Derive the facts the criteria read from a typed dataset."""
    patients = dataset.patients.reset_index(drop=True)
    return Facts(
        patients=patients,
        age=age_at_consent(patients),
        lines=therapy_lines(dataset, params, lookup_table(drugs) if drugs is not None else None),
        labs=latest_labs(dataset, params),
        toxicities=dataset.toxicities.reset_index(drop=True),
        tox_pos=patient_positions(dataset, "toxicities"),
        source_rows={name: dataset.rows_in_source(name) for name in ("patients", "therapies", "toxicities")},
    )
