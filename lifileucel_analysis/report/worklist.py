"""The pending worklist in plain words, and how current the data are.

A coordinator reads the worklist away from the report (printed, in Excel): each pending
patient once, what to collect named as the data dictionary names it (not
``patients.resectable_lesion_cm``), lab results with the dates of the patient's lab
window, therapy lines by number, how long the patient has been pending, sorted closest to
eligible first.

Days pending count from the data's currency date (:func:`data_currency`): the data cut
date once the dataset carries one (the screening-over-time work adds it); until then the
latest consent date in the data, which every page says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.id_lookup import positions_in
from ..contract.schema import TABLES
from ..engine.catalog import criterion_labels
from ..engine.evidence import TEXT, join_per_patient, text_series

WORKLIST_COLUMNS: tuple[str, ...] = ("patient_id", "site_id", "consent_date", "days_pending", "unknown_count",
                                     "unknown", "to_collect", "why_unknown")
"""Columns of :func:`plain_worklist`, one row per pending patient."""
ABBREVIATIONS: dict[str, str] = {"hiv": "HIV", "hbv": "HBV", "pcr": "PCR", "ajcc": "AJCC", "ecog": "ECOG",
                                 "anc": "ANC", "ast": "AST", "alt": "ALT", "braf": "BRAF", "v600": "V600"}
PLAIN_LABELS: dict[str, str] = {
    "patients.resectable_lesion_cm": "diameter of the largest resectable lesion after resection (cm)",
    "patients.steroid_mg_per_day": "systemic corticosteroid dose (mg/day, prednisone-equivalent)",
    "patients.life_expectancy_months": "life expectancy (months, investigator's estimate)",
    "patients.birth_date": "date of birth",
    "patients.lymphodepletion_date": "NMA-LD start date (planned or actual)",
    "patients.brain_metastases_stable_since": "date brain metastases were first documented stable after treatment",
    "patients.ecog": "ECOG performance status",
}
"""Labels where the schema's description is a note rather than a name."""
_NOTE_STARTS = ("needed", "must", "used only", "changes", "one of", "allowed", "blank", "e.g.")
_TOKEN = re.compile(r"^(patients|labs|therapies)\.([a-z0-9_]+)(.*)$")


@dataclass(frozen=True)
class DataCurrency:
    """How current the data are: the date days pending count from, and what that date is."""

    date: pd.Timestamp | None
    source: str

    def phrase(self) -> str:
        """``2024-03-01 (latest consent date in the data; no data cut date yet)``."""
        return "an unknown date" if self.date is None else f"{self.date:%Y-%m-%d} ({self.source})"

    def sentence(self) -> str:
        """``Data current to 2024-03-01 (latest consent date in the data; no data cut date yet).``"""
        if self.date is None:
            return "Data currency unknown: no consent date in the data."
        return f"Data current to {self.date:%Y-%m-%d} ({self.source})."


def data_currency(verdicts: pd.DataFrame) -> DataCurrency:
    """The latest consent date of ``verdicts`` (the whole program's), until a cut date exists."""
    latest = verdicts["consent_date"].max()
    if pd.isna(latest):
        return DataCurrency(None, "no consent date in the data")
    return DataCurrency(pd.Timestamp(latest), "latest consent date in the data; no data cut date yet")


_WINDOW_SUFFIX = re.compile(r" \(collected .*\)$")


def _words(name: str) -> str:
    return " ".join(ABBREVIATIONS.get(part, part) for part in name.split("_"))


def field_label(token: str) -> str:
    """A field of the worklist in the data dictionary's words.

    ``patients.hiv_serology`` -> ``HIV serology``; ``therapies.agents / setting: line 2
    (x)`` -> ``prior therapy agents / setting: line 2 (x)``; anything else unchanged.
    """
    match = _TOKEN.match(token.strip())
    if not match:
        return token.strip()
    table, column, rest = match.groups()
    if table == "therapies":
        return f"prior therapy {_words(column)}{rest}"
    if table == "labs":
        return f"{_words(column)}{rest}"
    if f"{table}.{column}" in PLAIN_LABELS:
        return PLAIN_LABELS[f"{table}.{column}"] + rest
    spec = next((c for c in TABLES[table].columns if c.name == column), None)
    description = spec.description if spec is not None else ""
    name = _words(column)
    if description and not description.startswith(_NOTE_STARTS):
        return f"{name} ({description}){rest}"
    return name + rest


def lab_window(consent: pd.Series, lymphodepletion: pd.Series, lookback_days: int) -> pd.Series:
    """The lab window of each patient as text: ``2022-06-14 to 2022-07-12`` or ``... to NMA-LD``."""
    start = (consent - pd.Timedelta(days=lookback_days)).dt.strftime("%Y-%m-%d")
    end = lymphodepletion.dt.strftime("%Y-%m-%d").fillna("NMA-LD (not yet scheduled)")
    return (start + " to " + end).where(consent.notna(), "no consent date: window unknown")


def _field_texts(fields: pd.Series) -> tuple[np.ndarray, pa.Array, pa.Array, np.ndarray, np.ndarray]:
    """Each row's fields to collect, read once per distinct value (a few thousand, not a row each).

    Returns the row's distinct-value position, then per distinct value: the fields other
    than labs in plain words (``"; "``-joined), the lab tests (``", "``-joined, their window
    dropped: the row's window is said once), whether there are labs, and how many fields.
    """
    positions, distinct = pd.factorize(fields.fillna("").astype(str), use_na_sentinel=True)
    others, labs, has_labs, counts = [], [], [], []
    for text in distinct:
        tokens = [t for t in str(text).split("; ") if t]
        # The engine names each lab with its window; grouped under the window here, it is said once.
        lab_names = [_WINDOW_SUFFIX.sub("", field_label(t)) for t in tokens if t.startswith("labs.")]
        others.append("; ".join(field_label(t) for t in tokens if not t.startswith("labs.")))
        labs.append(", ".join(lab_names))
        has_labs.append(bool(lab_names))
        counts.append(str(text).count("; ") + 1)
    return (positions, pa.array(others, type=TEXT), pa.array(labs, type=TEXT), np.array(has_labs, dtype=bool),
            np.array(counts, dtype=np.int64))


def _collect_text(fields: pd.Series, window: pa.Array, row_patient: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """One cell per row: lab tests grouped under the patient's window dates, other fields labelled.

    Returns the cells and each row's number of fields (``"; "``-separated names + 1).
    """
    at, others, labs, has_labs, counts = _field_texts(fields)
    if len(at) == 0:
        return pa.array([], type=TEXT), np.zeros(0, dtype=np.int64)
    lead = pc.if_else(pc.equal(others, ""), pa.scalar("", TEXT),
                      pc.binary_join_element_wise(others, pa.scalar("", TEXT), pa.scalar("; ", TEXT)))
    with_labs = pc.binary_join_element_wise(lead.take(at), pa.scalar("lab results collected ", TEXT),
                                            window.take(row_patient), pa.scalar(": ", TEXT), labs.take(at),
                                            pa.scalar("", TEXT))
    return pc.if_else(pa.array(has_labs[at]), with_labs, others.take(at)), counts[at]


def _positions(keys: pd.Series | pa.Array | pa.ChunkedArray, among: pd.Series) -> np.ndarray:
    """The position of each of ``keys`` in ``among`` (distinct IDs), -1 where it is not there."""
    return positions_in(keys, among)


def _criterion_codes(values: pd.Series, names: pd.Index) -> np.ndarray:
    """Each row's criterion as its position in ``names`` (categories looked up once, not per row)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        per_category = np.append(names.get_indexer(values.cat.categories.astype(str)), -1)
        return per_category[values.cat.codes.to_numpy()]
    return names.get_indexer(values.astype(str))


def _evidence_of(outcomes: pd.DataFrame, ids: pd.Series, row_patient: np.ndarray,
                 criteria: pd.Series) -> pa.Array:
    """The evidence of each row's (patient, criterion) among the unknown outcomes, null where there is none."""
    unknown = np.flatnonzero((outcomes["outcome"] == "unknown").to_numpy(dtype=bool))
    their_criteria = outcomes["criterion_id"].iloc[unknown]
    at = _positions(pa.array(outcomes["patient_id"].array).take(pa.array(unknown)), ids)
    names = pd.Index(pd.unique(pd.concat([pd.Series(criteria.unique()).astype(str),
                                          pd.Series(their_criteria.unique()).astype(str)], ignore_index=True)))
    width = max(len(names), 1)
    theirs = at * width + _criterion_codes(their_criteria, names)
    mine = row_patient * width + names.get_indexer(criteria)
    row = pd.Index(np.where(at >= 0, theirs, -1 - np.arange(len(at)))).get_indexer(mine)  # one outcome per key
    evidence = pa.array(outcomes["evidence"].array).take(pa.array(unknown)).cast(TEXT)
    return evidence.take(pa.array(row, mask=row < 0))


def plain_worklist(result: object, patients: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """Each pending patient once: what to collect, in plain words, closest to eligible first.

    Parameters
    ----------
    result : ScreeningResult
        A screening (or a site's part of it): reads ``verdicts``, ``missing_data``,
        ``outcomes`` and ``params``.
    patients : pandas.DataFrame
        The dataset's patients (``patient_id``, ``lymphodepletion_date``) for the lab window.
    as_of : DataCurrency
        The date days pending count from.

    Returns
    -------
    pandas.DataFrame
        :data:`WORKLIST_COLUMNS`; sorted by number of unknown criteria, number of fields to
        collect, then longest pending first, then patient ID.
    """
    verdicts = result.verdicts[(result.verdicts["verdict"] == "pending").to_numpy(dtype=bool)]
    frame = verdicts[["patient_id", "site_id", "consent_date"]].astype({"patient_id": "str"}).reset_index(drop=True)
    ids, n = frame["patient_id"], len(frame)
    work = result.missing_data
    row_patient = _positions(work["patient_id"], ids)
    work = work[row_patient >= 0]  # pending patients' rows only
    row_patient = row_patient[row_patient >= 0]
    criteria = work["criterion_id"].astype(str).reset_index(drop=True)
    labels = criterion_labels(result.params)
    ld = patients["lymphodepletion_date"].reset_index(drop=True)
    ld_at = _positions(ids, patients["patient_id"])
    window = lab_window(frame["consent_date"], ld.take(np.maximum(ld_at, 0)).where(ld_at >= 0).reset_index(drop=True),
                        result.params.lab_lookback_days)
    collect, nfields = _collect_text(work["fields"].reset_index(drop=True), pa.array(window, type=TEXT), row_patient)
    unknown = pa.array(criteria + " " + criteria.map(labels), type=TEXT)
    evidence = pc.fill_null(_evidence_of(result.outcomes, ids, row_patient, criteria), pa.scalar("", TEXT))
    why = pc.binary_join_element_wise(pa.array(criteria, type=TEXT), evidence, pa.scalar(": ", TEXT))
    # Per patient, in row order: the engine's rows joined, as a group-by would join them.
    frame["unknown_count"] = np.bincount(row_patient, minlength=n).astype(np.int64)
    frame["unknown"] = text_series(join_per_patient(row_patient, unknown, n, "; ")).array
    frame["to_collect"] = text_series(join_per_patient(row_patient, collect, n, "; ")).array
    frame["why_unknown"] = text_series(join_per_patient(row_patient, why, n, " | ")).array
    frame["nfields"] = np.bincount(row_patient, weights=nfields, minlength=n).astype(np.int64)
    if as_of.date is None:
        frame["days_pending"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    else:
        days = (as_of.date - frame["consent_date"]).dt.days
        frame["days_pending"] = pd.array(days.to_numpy(dtype=float), dtype="Float64").astype("Int64")
    frame = frame.sort_values(["unknown_count", "nfields", "days_pending", "patient_id"],
                              ascending=[True, True, False, True], na_position="last", kind="stable")
    return frame[list(WORKLIST_COLUMNS)].reset_index(drop=True).fillna({"to_collect": "", "unknown": "",
                                                                         "why_unknown": ""})

