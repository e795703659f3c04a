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

from ..contract.dataset import ContractError, Problem, ScreeningDataset
from ..contract.drug_file import package_drug_table
from .parameters import CriteriaParams
from .drug_dictionary import brand_generics, classify_normalised, lookup_table, normalise_names
from .lab_results import LabResult, latest_labs
from .lab_namings import LabReadings, lab_readings
from .nullable import surely

PD1_CLASSES = frozenset({"anti-pd-1", "anti-pd-l1"})
ACT_CLASS = "adoptive-cell-transfer"
BRAF_CLASS = "braf-inhibitor"
MEK_CLASS = "mek-inhibitor"


@lru_cache(maxsize=1)
def drug_lookup() -> dict[str, str]:
    """Return the package's drug dictionary: normalised agent name -> class(es)."""
    return lookup_table(package_drug_table())


@lru_cache(maxsize=1)
def brand_names() -> dict[str, str]:
    """The package's brand names: normalised brand name -> generic name(s)."""
    return brand_generics(package_drug_table())


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
        Aligned with ``agents``: ``pd1``, ``act``, ``braf``, ``mek`` (nullable boolean: NA when an
        agent is unknown and no known agent decides), ``unknown_agents`` (str, the
        names the dictionary does not know, "" when none), ``brand_agents`` (str, "'keytruda' is
        pembrolizumab" for each brand name written, joined by "; ", "" when none) and
        ``missing_agent`` (bool: the cell has an empty name, as in ``pembrolizumab+`` or ``a++b``).
    """
    codes, regimens = pd.factorize(agents, use_na_sentinel=True)
    per_agent = pd.Series(regimens, dtype=object).str.split("+").explode().str.strip()
    # An empty name ("pembrolizumab+", "a++b", "+") is an agent whose name is missing, e.g. a
    # regimen cut short on export: its class is open, as for a blank cell, never "no agent".
    empty = per_agent.fillna("") == ""
    missing_agent = empty.groupby(level=0).any().reindex(range(len(regimens)), fill_value=False)
    per_agent = per_agent[~empty]
    keys = normalise_names(per_agent)  # once: the classes and the brand names are looked up by it
    cls = classify_normalised(keys, drug_lookup() if lookup is None else lookup)
    unknown = cls.isna()
    by_regimen = pd.DataFrame({"cls": cls, "unknown": unknown, "agent": per_agent}).groupby(level=0)
    any_unknown = by_regimen["unknown"].any().reindex(range(len(regimens)), fill_value=True) | missing_agent
    names = per_agent.where(unknown).dropna().groupby(level=0).agg("+".join)
    # Audit 33 (K19): a brand name is read as its generic drug, and the site is told (the contract asks for generics).
    generic = keys.map(brand_names()).astype(object)
    branded = pd.Series([], dtype=object)
    if generic.notna().any():  # rare: the sentences only then (screen() runs on one patient in tests, too)
        said = "'" + per_agent.astype(object).astype(str) + "' is " + generic.fillna("").astype(str)
        branded = said[generic.notna()].groupby(level=0).agg("; ".join)

    def flag(classes: frozenset[str]) -> pd.Series:
        pattern = "(?:^|;)(?:" + "|".join(sorted(classes)) + ")(?:;|$)"
        hit = cls.fillna("").str.contains(pattern, regex=True).groupby(level=0).any()
        hit = hit.reindex(range(len(regimens)), fill_value=False)
        return _tri(hit, ~hit & ~any_unknown)

    table = pd.DataFrame({
        "pd1": flag(PD1_CLASSES),
        "act": flag(frozenset({ACT_CLASS})),
        "braf": flag(frozenset({BRAF_CLASS})),
        "mek": flag(frozenset({MEK_CLASS})),
        "unknown_agents": names.reindex(range(len(regimens)), fill_value="").astype(str),
        "brand_agents": branded.reindex(range(len(regimens)), fill_value="").astype(str),
        "missing_agent": missing_agent.to_numpy(dtype=bool),
    })
    blank = pd.DataFrame({"pd1": [pd.NA], "act": [pd.NA], "braf": [pd.NA], "mek": [pd.NA], "unknown_agents": [""],
                          "brand_agents": [""], "missing_agent": [False]}).astype(
        {"pd1": "boolean", "act": "boolean", "braf": "boolean", "mek": "boolean"})
    # Row -1 of the factorized codes is a blank agents cell: nothing is known about it.
    table = pd.concat([table, blank], ignore_index=True)
    return table.iloc[np.where(codes < 0, len(table) - 1, codes)].reset_index(drop=True)


def therapy_lines(dataset: ScreeningDataset, params: CriteriaParams,
                  lookup: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per therapy line with its patient position and derived tri-state facts.

    Columns added to the therapy columns: ``pd1``, ``act``, ``braf``, ``unknown_agents``,
    ``missing_agent`` and ``brand_agents`` (:func:`regimen_classes`), ``pos``, ``adjuvant`` (bool),
    ``screened_by`` (the day of screening), ``recurrence_by_screening``, ``recurrence_in_window``,
    ``counted``, ``shows_progression`` (the line's own stop reason / best response) and
    ``progressed`` (nullable boolean), as docs/criteria.md defines them.
    """
    t = dataset.therapies.reset_index(drop=True)
    lines = pd.concat([t, regimen_classes(t["agents"], lookup)], axis=1)
    lines["pos"] = patient_positions(dataset, "therapies")
    setting = t["setting"]
    lines["adjuvant"] = setting.isin(["adjuvant", "neoadjuvant"]).to_numpy()
    lines["screened_by"] = screened_by(dataset.patients, lines["pos"].to_numpy())
    window_end = earliest_window_end(t, params.adjuvant_recurrence_months)  # once: both facts below read it
    lines["recurrence_by_screening"] = recurrence_by_screening(t, window_end, lines["screened_by"])
    lines["recurrence_in_window"] = recurrence_in_window(t, window_end, lines["recurrence_by_screening"])
    adjuvant_counted = lines["pd1"] & lines["recurrence_in_window"]
    metastatic = (setting == "metastatic").to_numpy()
    counted = pd.Series(pd.NA, index=t.index, dtype="boolean")
    counted[metastatic] = True
    counted[lines["adjuvant"].to_numpy()] = adjuvant_counted[lines["adjuvant"].to_numpy()]
    # A blank setting counts for sure when it would as adjuvant too (metastatic lines always count).
    counted[setting.isna().to_numpy() & surely(adjuvant_counted).to_numpy()] = True
    lines["counted"] = counted
    lines["shows_progression"] = _progressed(t, np.zeros(len(t), dtype=bool))
    lines["progressed"] = _progressed(t, lines["adjuvant"].to_numpy())
    return lines


def screened_by(patients: pd.DataFrame, positions: np.ndarray) -> pd.Series:
    """Per row of a patient's table, the latest day a prior recurrence can have come: the patient's consent
    date, else the NMA-LD date (consent comes before it), else NaT.

    A patient is screened for unresectable or metastatic disease after adjuvant therapy has
    recurred (the contract's ``recurrence_date``): a recurrence whose date is missing came on
    or before the patient was screened, that is by consent (audit 31A).
    """
    latest = patients["consent_date"].fillna(patients["lymphodepletion_date"]).to_numpy()
    return pd.Series(latest[positions], dtype=patients["consent_date"].dtype)


def earliest_window_end(t: pd.DataFrame, months: int) -> pd.Series:
    """Per line, the earliest day its recurrence window can end: ``months`` after the end date,
    or after the start for a line that stopped on an end date not recorded (:func:`end_missing`)."""
    return t["end_date"].where(~end_missing(t), t["start_date"]) + pd.DateOffset(months=months)


def earliest_qualifying_end(recurrence: pd.Series, months: int) -> pd.Series:
    """Per recurrence date, the earliest end date whose window (``months`` calendar months after it,
    clipped to the month's end as :func:`earliest_window_end` adds them) reaches it: a line that stopped
    on an end date not recorded qualifies if it ended on or after this day.

    Not simply ``months`` before the recurrence: clipping loses days at a month's end. 6 months
    before 2025-03-31 is 2024-09-30, whose window ends 2025-03-30; the answer is 2024-10-01."""
    offset = pd.DateOffset(months=months)
    back = recurrence - offset
    return back.where(~surely(back + offset < recurrence), back + pd.Timedelta(days=1))


def recurrence_by_screening(t: pd.DataFrame, window_end: pd.Series, latest: pd.Series) -> pd.Series:
    """Per line with a blank ``recurrence_date`` that ended (or stopped): the recurrence, whatever
    its date, is in the window, since it came by ``latest`` (:func:`screened_by`) and that is
    on or before ``window_end`` (:func:`earliest_window_end`), the earliest the window can end."""
    ended = t["end_date"].notna() | end_missing(t)
    latest = pd.Series(latest.to_numpy(), index=t.index)
    reaches = surely(latest <= window_end)
    # A line started after that day has no recurrence that both follows it and came by then (review 31).
    return t["recurrence_date"].isna() & ended & reaches & ~surely(t["start_date"] > latest)


def recurrence_in_window(t: pd.DataFrame, window_end: pd.Series, by_screening: pd.Series) -> pd.Series:
    """Whether an (adjuvant) line's recurrence came on therapy or on or before ``window_end``
    (:func:`earliest_window_end`: the configured months after its end).

    A blank ``recurrence_date`` is a recurrence whose date is missing (the patient is
    screened for advanced disease): on therapy (blank ``end_date``) it is in the window; so
    it is where ``by_screening`` holds (:func:`recurrence_by_screening`: it came by a day
    inside the window); else it is unknown (NA). A blank end date is "ongoing" (the contract)
    unless the stop reason says the line stopped (:func:`end_missing`): then the end is a
    missing date on or after the start, and only a recurrence within the months after the
    start is surely in the window. A recurrence dated before the line's start
    (:func:`recurrence_before_start`) cannot have followed it: one of the dates is wrong, and
    the window is unknown (docs/criteria.md).
    """
    end, recurrence = t["end_date"], t["recurrence_date"]
    on_therapy = end.isna() & ~end_missing(t)
    recorded = recurrence.notna() & ~recurrence_before_start(t)
    inside = recorded & (on_therapy | surely(recurrence <= window_end))
    outside = recorded & ~inside & end.notna()
    return _tri(inside | (recurrence.isna() & on_therapy) | by_screening, outside)


def end_missing(t: pd.DataFrame) -> pd.Series:
    """Per line: a blank end date (the contract's "ongoing") beside a stop reason saying the line
    stopped (toxicity, completed, other), so it ended on a date not recorded. A line stopped for
    progression is not one: its blank end date reads as the contract's "ongoing", on therapy. (With an
    end date recorded, its blank recurrence date stays unknown: docs/criteria.md, review 38C.)"""
    return surely(t["end_date"].isna() & t["stop_reason"].isin(["toxicity", "completed", "other"]))


def recurrence_before_start(t: pd.DataFrame) -> pd.Series:
    """Per line: a recurrence dated before the line's start, which it is defined to follow."""
    return surely(t["recurrence_date"] < t["start_date"])


def _progressed(t: pd.DataFrame, adjuvant: np.ndarray) -> pd.Series:
    """Whether a line shows progression, intolerance or no response (NA while blank)."""
    shows = t["stop_reason"].isin(["progression", "toxicity"]) | t["best_response"].isin(["sd", "pd"])
    blank = t["stop_reason"].isna() | t["best_response"].isna()
    progressed = _tri(shows | pd.Series(adjuvant, index=t.index), ~shows & ~blank)
    return progressed


def age_at_consent(patients: pd.DataFrame) -> pd.Series:
    """Age in whole years at consent (NA when either date is blank or birth comes after consent)."""
    return age_on(patients["birth_date"], patients["consent_date"])


def consent_or_nmald(patients: pd.DataFrame) -> pd.Series:
    """Per patient, the day a date must come after to be after consent: the consent date, or with it blank
    the first day of NMA-LD, since consent comes first (as the criteria read it). NaT when both are blank.

    The one bound behind a birth date out of order, a therapy dated after consent (its finding) and
    E1's after-consent clause, so that the sentence and the finding it points to agree.
    """
    consent = patients["consent_date"]
    return consent.where(consent.notna(), patients["lymphodepletion_date"])


def on_lines(values: pd.Series, lines: pd.DataFrame) -> pd.Series:
    """Each patient's value (``values``, one per patient in screening order) on every one of that
    patient's therapy lines, indexed as ``lines`` (by its ``pos`` column): a line's consent date."""
    return pd.Series(values.to_numpy()[lines["pos"].to_numpy()], index=lines.index)


def birth_out_of_order(patients: pd.DataFrame) -> pd.Series:
    """A birth date after consent, or (consent blank) after NMA-LD: one of the dates is wrong.

    The one definition behind I5's "no age" and the data-quality finding on ``birth_date``.
    """
    return surely(patients["birth_date"] > consent_or_nmald(patients))


def age_on(birth: pd.Series, day: pd.Series) -> pd.Series:
    """Age in whole years on ``day`` (NA when either date is blank, or when ``day`` precedes
    birth: a negative age is a wrong date, a data-quality finding, not an age to compare)."""
    years = day.dt.year - birth.dt.year
    before_birthday = (day.dt.month < birth.dt.month) | (
        (day.dt.month == birth.dt.month) & (day.dt.day < birth.dt.day)
    )
    age = (years - before_birthday.astype("Int64")).astype("Int64")
    return age.mask(age < 0)


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
    lab_readings: Facts | None = None
    """The namings of lab rows without a test, as pseudo-patients' facts (:mod:`.lab_namings`); None without any."""
    reading_patient: np.ndarray | None = None
    """Each of ``lab_readings``' pseudo-patients' patient."""

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
    lab_pos = patient_positions(dataset, "labs")
    readings = lab_readings(dataset, lab_pos)
    return Facts(
        patients=patients,
        age=age_at_consent(patients),
        lines=therapy_lines(dataset, params, lookup_table(package_drug_table(), drugs) if drugs is not None else None),
        labs=latest_labs(dataset, params, lab_pos),
        toxicities=dataset.toxicities.reset_index(drop=True),
        tox_pos=patient_positions(dataset, "toxicities"),
        source_rows={name: dataset.rows_in_source(name) for name in ("patients", "therapies", "toxicities",
                                                                     "overrides")},
        lab_readings=None if readings is None else _reading_facts(readings, params),
        reading_patient=None if readings is None else readings.patient,
    )


def _reading_facts(readings: LabReadings, params: CriteriaParams) -> Facts:
    """The facts I7 reads (patients and lab results) of the pseudo-patients of :func:`.lab_namings.lab_readings`."""
    patients = readings.dataset.patients
    return Facts(patients=patients, age=pd.Series(np.nan, index=patients.index), lines=pd.DataFrame(),
                 labs=latest_labs(readings.dataset, params, readings.pos), toxicities=pd.DataFrame(),
                 tox_pos=np.zeros(0, dtype=np.int64))
