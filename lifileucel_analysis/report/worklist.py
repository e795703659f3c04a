"""The pending worklist in plain words, and how current the data are.

A coordinator reads the worklist away from the report (printed, in Excel): each pending
patient once, what to collect named as the data dictionary names it (not
``patients.resectable_lesion_cm``), lab results with the dates of the patient's lab
window, therapy lines by number, how long the patient has been pending, sorted closest to
eligible first.

Days pending count from the data's currency date (:func:`data_currency`): the data cut
date when the screening has one (``--cut-date``, the notebooks' ``cut_date``); without a
cut, the latest consent date in the data, which every page says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..contract.schema import TABLES
from ..engine.catalog import criterion_labels

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
        """``2024-03-01 (latest consent date in the data; no data cut date given)``."""
        return "an unknown date" if self.date is None else f"{self.date:%Y-%m-%d} ({self.source})"

    def sentence(self) -> str:
        """``Data current to 2024-03-01 (latest consent date in the data; no data cut date given).``"""
        if self.date is None:
            return "Data currency unknown: no consent date in the data."
        return f"Data current to {self.date:%Y-%m-%d} ({self.source})."


CUT_SOURCE = "data cut date: what was known on that day"
"""How a page says that its currency date is the data cut date."""


def data_currency(verdicts: pd.DataFrame, cut_date: object = None) -> DataCurrency:
    """How current the data are: the data cut date when there is one, else the latest consent date.

    Parameters
    ----------
    verdicts : DataFrame
        The whole program's verdicts (``consent_date``).
    cut_date : date, str or None
        The screening's data cut date (:mod:`lifileucel_analysis.contract.data_cut`);
        ``None``: no cut, and the latest consent date in the data stands in for it.
    """
    if cut_date is not None:
        return DataCurrency(pd.Timestamp(cut_date), CUT_SOURCE)
    latest = verdicts["consent_date"].max()
    if pd.isna(latest):
        return DataCurrency(None, "no consent date in the data")
    return DataCurrency(pd.Timestamp(latest), "latest consent date in the data; no data cut date given")


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


def _collect_text(fields: pd.Series, window: pd.Series) -> pd.Series:
    """One cell per row: lab tests grouped under their window's dates, other fields labelled."""
    out = []
    for text, dates in zip(fields.fillna("").astype(str), window, strict=True):
        tokens = [t for t in text.split("; ") if t]
        # The engine names each lab with its window; grouped under the window here, it is said once.
        labs = [_WINDOW_SUFFIX.sub("", field_label(t)) for t in tokens if t.startswith("labs.")]
        others = [field_label(t) for t in tokens if not t.startswith("labs.")]
        if labs:
            others.append(f"lab results collected {dates}: {', '.join(labs)}")
        out.append("; ".join(others))
    return pd.Series(out, index=fields.index, dtype=object)


def _lookup(by_patient: pd.Series, patient_ids: pd.Series) -> pd.Series:
    # Series.map of an empty key column with datetime values fails in pandas 3; reindex does not.
    return pd.Series(by_patient.reindex(patient_ids.to_numpy()).to_numpy(), index=patient_ids.index)


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
    verdicts = result.verdicts[result.verdicts["verdict"].astype(str) == "pending"]
    work = result.missing_data.astype({"patient_id": "str", "criterion_id": "str"})
    work = work[work["patient_id"].isin(verdicts["patient_id"].astype(str))]
    labels = criterion_labels(result.params)
    outcomes = result.outcomes[result.outcomes["outcome"].astype(str) == "unknown"]
    evidence = outcomes.astype({"patient_id": "str", "criterion_id": "str"})[["patient_id", "criterion_id", "evidence"]]
    work = work.merge(evidence, on=["patient_id", "criterion_id"], how="left")
    ld = patients.astype({"patient_id": "str"}).set_index("patient_id")["lymphodepletion_date"]
    consent = verdicts.astype({"patient_id": "str"}).set_index("patient_id")["consent_date"]
    window = lab_window(_lookup(consent, work["patient_id"]), _lookup(ld, work["patient_id"]),
                        result.params.lab_lookback_days)
    work["collect"] = _collect_text(work["fields"], window)
    work["nfields"] = work["fields"].fillna("").astype(str).str.count("; ") + 1
    work["unknown"] = work["criterion_id"] + " " + work["criterion_id"].map(labels)
    work["why"] = work["criterion_id"] + ": " + work["evidence"].fillna("").astype(str)
    grouped = work.groupby("patient_id", sort=False).agg(
        unknown_count=("criterion_id", "size"), unknown=("unknown", "; ".join),
        to_collect=("collect", "; ".join), why_unknown=("why", " | ".join), nfields=("nfields", "sum"))
    frame = verdicts[["patient_id", "site_id", "consent_date"]].astype({"patient_id": "str"})
    frame = frame.merge(grouped, left_on="patient_id", right_index=True, how="left")
    frame["unknown_count"] = frame["unknown_count"].fillna(0).astype("int64")
    frame["nfields"] = frame["nfields"].fillna(0)
    if as_of.date is None:
        frame["days_pending"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    else:
        days = (as_of.date - frame["consent_date"]).dt.days
        frame["days_pending"] = pd.array(days.to_numpy(dtype=float), dtype="Float64").astype("Int64")
    frame = frame.sort_values(["unknown_count", "nfields", "days_pending", "patient_id"],
                              ascending=[True, True, False, True], na_position="last", kind="stable")
    return frame[list(WORKLIST_COLUMNS)].reset_index(drop=True).fillna({"to_collect": "", "unknown": "",
                                                                         "why_unknown": ""})

