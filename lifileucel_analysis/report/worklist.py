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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    latest = verdicts["consent_date"].max()
    return currency_of(None if pd.isna(latest) else pd.Timestamp(latest), cut_date)


def currency_of(latest_consent: pd.Timestamp | None, cut_date: object = None) -> DataCurrency:
    """:func:`data_currency` given the latest consent date in the data (``None``: none at all).

    The bucketed screen calls it with the latest over its buckets.
    """
    if cut_date is not None:
        return DataCurrency(pd.Timestamp(cut_date), CUT_SOURCE)
    if latest_consent is None:
        return DataCurrency(None, "no consent date in the data")
    return DataCurrency(pd.Timestamp(latest_consent), "latest consent date in the data; no data cut date given")


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


def _per_patient(work: pd.DataFrame) -> pd.DataFrame:
    """One row per patient of ``work`` (indexed by ID): criteria counted, texts joined in row order, fields summed.

    What ``groupby(sort=False).agg("; ".join)`` gives, without a Python call per patient:
    the rows are ordered by patient (stably), and each text column becomes an Arrow list
    per patient, joined in one call.
    """
    codes, ids = pd.factorize(work["patient_id"], sort=False)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=len(ids)).astype(np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32))

    def joined(column: str, separator: str) -> pd.Series:
        values = pa.array(work[column].to_numpy(dtype=object)[order], pa.string())
        texts = pc.binary_join(pa.ListArray.from_arrays(offsets, values), separator)
        return pd.Series(texts.to_pylist(), index=ids, dtype="str")

    nfields = np.bincount(codes, weights=work["nfields"].to_numpy(dtype=float), minlength=len(ids))
    return pd.DataFrame({"unknown_count": pd.Series(sizes, index=ids), "unknown": joined("unknown", "; "),
                         "to_collect": joined("collect", "; "), "why_unknown": joined("why", " | "),
                         "nfields": pd.Series(nfields.astype(np.int64), index=ids)}).rename_axis("patient_id")


def worklist_rows(result: object, patients: pd.DataFrame) -> pd.DataFrame:
    """Each pending patient once, in the verdicts' order: what :func:`plain_worklist` shows but days pending.

    Columns: :data:`WORKLIST_COLUMNS` without ``days_pending``, plus ``nfields`` (fields to
    collect, a sort key). Nothing here depends on other patients' rows, so a bucket's rows
    are the whole dataset's rows of its patients (the bucketed screen relies on it).
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
    grouped = _per_patient(work)
    frame = verdicts[["patient_id", "site_id", "consent_date"]].astype({"patient_id": "str"})
    frame = frame.merge(grouped, left_on="patient_id", right_index=True, how="left")
    frame["unknown_count"] = frame["unknown_count"].fillna(0).astype("int64")
    frame["nfields"] = frame["nfields"].fillna(0)
    return frame.reset_index(drop=True).fillna({"to_collect": "", "unknown": "", "why_unknown": ""})


def finish_worklist(rows: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """Rows of :func:`worklist_rows` with ``days_pending`` counted from ``as_of``, in :data:`WORKLIST_COLUMNS`."""
    frame = rows.copy()
    if as_of.date is None:
        frame["days_pending"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    else:
        days = (as_of.date - frame["consent_date"]).dt.days
        frame["days_pending"] = pd.array(days.to_numpy(dtype=float), dtype="Float64").astype("Int64")
    return frame[list(WORKLIST_COLUMNS)]


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
        collect, then longest pending first, then patient ID (:func:`worklist_order_key`
        gives the same order as one sortable key).
    """
    rows = worklist_rows(result, patients)
    frame = finish_worklist(rows, as_of).assign(nfields=rows["nfields"])
    frame = frame.sort_values(["unknown_count", "nfields", "days_pending", "patient_id"],
                              ascending=[True, True, False, True], na_position="last", kind="stable")
    return frame[list(WORKLIST_COLUMNS)].reset_index(drop=True)


ORDER_KEY_BYTES = 25
"""Fixed part of :func:`worklist_order_key`: unknown count (8), fields (8), blank consent flag (1), consent day (8)."""


def worklist_order_key(rows: pd.DataFrame) -> pa.Array:
    """One binary key per row of :func:`worklist_rows` whose byte order is :func:`plain_worklist`'s order.

    The order is: fewer unknown criteria first, then fewer fields to collect, then longest
    pending first (= earliest consent day first, whatever date days pending count from,
    since consent dates are whole days; no consent date last), then patient ID. The key
    is those values as big-endian unsigned integers followed by the UTF-8 bytes of the ID,
    so comparing keys byte by byte compares the tuples (the ID is last, the rest fixed
    width; UTF-8 byte order is code point order, as Python compares strings). The
    bucketed screen merges the buckets' worklists by it without knowing the date days
    pending count from.
    """
    n = len(rows)
    fixed = np.zeros((n, ORDER_KEY_BYTES), dtype=np.uint8)
    consent = rows["consent_date"].to_numpy(dtype="datetime64[D]")
    blank = np.isnat(consent)
    day = np.where(blank, 0, consent.astype(np.int64)).astype(np.int64)
    fields = [(0, rows["unknown_count"].to_numpy(dtype=np.int64).astype(np.uint64)),
              (8, np.rint(rows["nfields"].to_numpy(dtype=float)).astype(np.int64).astype(np.uint64)),
              (17, (day.astype(np.uint64) ^ np.uint64(1 << 63)))]  # sign bit flipped: days before 1970 first
    for start, values in fields:
        fixed[:, start:start + 8] = values.astype(">u8").view(np.uint8).reshape(n, 8)
    fixed[:, 16] = blank
    prefix = pa.FixedSizeBinaryArray.from_buffers(pa.binary(ORDER_KEY_BYTES), n, [None, pa.py_buffer(fixed.tobytes())])
    ids = pa.array(rows["patient_id"].astype(str).to_numpy(dtype=object), pa.string()).cast(pa.binary())
    return pc.binary_join_element_wise(prefix.cast(pa.binary()), ids, pa.scalar(b"", pa.binary()))
