"""Table 1: the screened patients' baseline characteristics by verdict (``tableone``).

Privacy: ``birth_date`` never leaves this module. :func:`table_one` needs the dataset to
describe patients; :func:`patient_characteristics` derives the age at consent and drops
the birth date before anything else sees the data.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..contract.schema import PATIENTS
from ..engine.evidence import format_scalar
from ..engine.facts import age_at_consent
from ..engine.screening import VERDICTS
from .summaries import ResultLike

if TYPE_CHECKING:
    from ..contract.dataset import ScreeningDataset

AGE_BINS: tuple[float, ...] = (0, 18, 40, 65, 75, math.inf)
AGE_GROUPS: tuple[str, ...] = ("<18", "18-39", "40-64", "65-74", ">=75")
NOT_RECORDED = "not recorded"
YES_NO: dict[bool, str] = {flag: format_scalar(flag) for flag in (True, False)}
"""How a yes/no characteristic is shown: as everywhere in the reports (``yes``, ``no``)."""
TABLE_ONE_NOTE = (
    "Counts (column %) unless stated; 'not recorded' = blank in the data; 'Missing' = number of "
    "patients with the variable blank. Age is the age in whole years at consent; birth dates are "
    "never shown. LDH and tumor burden are not collected by this program's data contract."
)


def patient_characteristics(result: ResultLike, dataset: ScreeningDataset) -> pd.DataFrame:
    """The screened patients' baseline characteristics, one row per patient, with verdict.

    The birth date is read only to compute the age at consent and is not returned.

    Parameters
    ----------
    result : ResultLike
        Its verdicts choose the patients (a site's result gives that site's patients).
    dataset : ScreeningDataset
        The dataset that was screened (for the ``patients`` and ``therapies`` tables).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``verdict``, ``age``, ``age_group``, ``sex``, ``melanoma_subtype``,
        ``ajcc_stage``, ``ecog``, ``braf_v600``, ``brain_metastases``,
        ``liver_metastases``, ``prior_lines``; blanks stay blank (``None``).
    """
    patients = dataset.patients
    wanted = result.verdicts[["patient_id", "verdict"]].astype({"patient_id": "str"})
    frame = wanted.merge(patients.astype({"patient_id": "str"}), on="patient_id", how="left", validate="one_to_one")
    age = age_at_consent(frame).astype("float64")
    frame = frame.drop(columns="birth_date")  # used for the age only; nothing below may see it
    out = pd.DataFrame({"patient_id": frame["patient_id"], "verdict": frame["verdict"].astype(str)})
    out["age"] = age
    out["age_group"] = pd.cut(age, bins=list(AGE_BINS), labels=list(AGE_GROUPS), right=False).astype(object)
    for column in ("sex", "melanoma_subtype", "ajcc_stage", "braf_v600"):
        out[column] = frame[column].astype(object)
    out["ecog"] = frame["ecog"].astype("Int64").astype(object).where(frame["ecog"].notna(), None)
    for column in ("brain_metastases", "liver_metastases"):
        out[column] = frame[column].map(YES_NO).astype(object)
    lines = dataset.therapies["patient_id"].astype(str).value_counts()
    out["prior_lines"] = out["patient_id"].map(lines).fillna(0).astype(int).map(lambda n: str(n) if n < 4 else "4+")
    return out.replace({np.nan: None})


TABLE_ONE_LABELS: dict[str, str] = {
    "age": "Age at consent, years",
    "age_group": "Age group",
    "sex": "Sex",
    "melanoma_subtype": "Melanoma subtype",
    "ajcc_stage": "AJCC stage",
    "ecog": "ECOG performance status",
    "braf_v600": "BRAF V600",
    "brain_metastases": "Brain metastases",
    "liver_metastases": "Liver metastases",
    "prior_lines": "Prior therapy lines recorded",
}


def _table_one_order(characteristics: pd.DataFrame) -> dict[str, list[str]]:
    """Category order per variable: the contract's code order, then 'not recorded' (where there are blanks)."""
    fixed = {
        "age_group": list(AGE_GROUPS),
        "ecog": [str(i) for i in range(6)],
        "brain_metastases": list(YES_NO.values()),
        "liver_metastases": list(YES_NO.values()),
        "prior_lines": ["0", "1", "2", "3", "4+"],
    }
    for column in ("sex", "melanoma_subtype", "ajcc_stage", "braf_v600"):
        fixed[column] = list(PATIENTS.column(column).codes)
    present = {c: set(characteristics[c].dropna().astype(str)) for c in fixed}
    blanks = {c: [NOT_RECORDED] if characteristics[c].isna().any() else [] for c in fixed}
    return {c: [v for v in order if v in present[c]] + blanks[c] for c, order in fixed.items()}


def table_one(result: ResultLike, dataset: ScreeningDataset, rows_of: ResultLike | None = None) -> pd.DataFrame:
    """Table 1 of the screened patients by verdict, made with the ``tableone`` package.

    Parameters
    ----------
    result : ResultLike
        Its verdicts choose the patients and give the grouping.
    dataset : ScreeningDataset
        The screened dataset; the result does not carry patient characteristics, so the
        caller passes the dataset (:class:`~lifileucel_analysis.report.EligibilityReport`
        keeps it alongside the result).
    rows_of : ResultLike, optional
        Whose levels make the rows (default: ``result``'s). A site page passes the whole
        program, so every site's Table 1 has the same rows, a level absent at the site
        shown as ``0 (0.0)``: the sponsor compares sites row by row.

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``level``, ``Missing``, ``Overall``, then one column per verdict
        (all three, even when a verdict has no patients). Values are display strings.

    Notes
    -----
    Missingness is shown twice on purpose: blank categorical values form their own level
    ``"not recorded"`` (so each column's percentages add up to 100), and tableone's
    ``Missing`` column counts the blanks per variable. No p-values: the groups are
    verdicts, i.e. functions of these very variables, so a test would be meaningless.
    Warnings that tableone raises under pandas 3 about its own internals, and numpy's
    runtime warnings on a group whose values are all blank, are silenced here so that they
    do not reach the report's stderr (they are not about the data; blanks are shown).
    """
    from tableone import TableOne  # scipy and statsmodels behind it: import only when Table 1 is made

    characteristics = patient_characteristics(result, dataset)
    columns = list(TABLE_ONE_LABELS)
    categorical = [c for c in columns if c != "age"]
    data = characteristics[columns + ["verdict"]].copy()
    present = [v for v in VERDICTS if (data["verdict"] == v).any()]
    if not present:
        return _empty_table_one()
    levels = _table_one_order(characteristics if rows_of is None else patient_characteristics(rows_of, dataset))
    order = {"verdict": present, **levels}
    for column in categorical:
        # A visible level for blanks: percentages then describe every patient.
        data[column] = data[column].map(lambda v: NOT_RECORDED if v is None else str(v))
    data["age"] = pd.to_numeric(data["age"], errors="coerce")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"tableone(\..*)?$")
        warnings.filterwarnings("ignore", message=r".*(Grouped by|MultiIndex|full-length tuple).*")
        # A verdict group whose ages are all blank: numpy warns, the cell shows 'nan' anyway.
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        table = TableOne(
            data, columns=columns, categorical=categorical, nonnormal=["age"], groupby="verdict",
            order=order, missing=True, overall=True, pval=False, decimals=1,
            rename=TABLE_ONE_LABELS,
        ).tableone
    return _every_level(_flatten_table_one(table, characteristics), levels, present)


def _every_level(flat: pd.DataFrame, levels: dict[str, list[str]], present: list[str]) -> pd.DataFrame:
    """``flat`` with a ``0 (0.0)`` row for each level of ``levels`` that tableone left out (none at this scope).

    tableone lists only the levels it finds; the rows of each variable follow ``levels``,
    and its blanks count stays on its first row.
    """
    zero = {column: "0 (0.0)" if column == "Overall" or column in present else "" for column in
            ["Overall", *VERDICTS]}
    pieces = []
    for variable, rows in flat.groupby("variable", sort=False):
        column = next((c for c, label in TABLE_ONE_LABELS.items() if variable == f"{label}, n (%)"), None)
        if column is None or column not in levels:
            pieces.append(rows)
            continue
        missing = rows["Missing"].iloc[0]
        by_level = rows.set_index("level")
        full = pd.DataFrame([by_level.loc[level].to_dict() if level in by_level.index
                             else {"variable": variable, "Missing": "", **zero} for level in levels[column]])
        full.insert(1, "level", levels[column])
        full["Missing"] = [missing] + [""] * (len(full) - 1)
        pieces.append(full[flat.columns])
    return pd.concat(pieces, ignore_index=True)


def _flatten_table_one(table: pd.DataFrame, characteristics: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    table.columns = [str(column[-1]) for column in table.columns]
    for verdict in VERDICTS:
        if verdict not in table.columns:
            table[verdict] = ""
    # The missing counts come from the raw data (blanks before the 'not recorded' fill).
    missing = {TABLE_ONE_LABELS[c]: int(characteristics[c].isna().sum()) for c in TABLE_ONE_LABELS}
    flat = table.reset_index()
    flat.columns = ["variable", "level", *table.columns]
    flat["variable"] = flat["variable"].astype(str)
    flat["level"] = flat["level"].astype(str)
    n_row = flat["variable"] == "n"
    for verdict in VERDICTS:
        if not (characteristics["verdict"] == verdict).any():
            flat.loc[n_row, verdict] = "0"
    first_of_variable = ~flat["variable"].duplicated()
    base = flat["variable"].str.replace(r", (n \(%\)|median \[Q1,Q3\])$", "", regex=True)
    flat["Missing"] = [
        str(missing[b]) if first and b in missing else "" for b, first in zip(base, first_of_variable)
    ]
    flat = flat.fillna("")
    return flat[["variable", "level", "Missing", "Overall", *VERDICTS]].astype(str)


def _empty_table_one() -> pd.DataFrame:
    frame = pd.DataFrame([["n", "", "", "0", "0", "0", "0"]],
                         columns=["variable", "level", "Missing", "Overall", *VERDICTS])
    return frame
