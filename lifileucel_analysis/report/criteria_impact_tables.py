"""The tables of the criteria impact report: the same patients under two criteria, and each criterion's impact.

Pure functions of screenings (no drawing, no display), so the report object
(:mod:`.criteria_impact_report`) and the build's downloads (:mod:`lifileucel_analysis.runner.report_downloads`)
compute the same rows. The comparison itself is :mod:`.criteria_compare`'s
(:func:`~.criteria_compare.differences`, :func:`~.criteria_compare.difference_counts`), and
the per-criterion counts are :func:`.criterion_impact.criterion_impact`'s: this module adds
the criterion labels, the per-patient verdict moves with their N in = N out check, and the
limits that differ between the two criteria files.

Side A is the current criteria (the notebook's ``criteria_params``), side B the criteria
compared with (``compare_with``: a criteria version or what-if file); ``None`` for B means
no comparison was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..contract.messages import counted
from ..engine.catalog import criterion_labels
from ..engine.parameters import CriteriaParams, load_params
from ..engine.screening import VERDICTS, ScreeningResult, screen
from ..paths import CRITERIA_PARAMS
from .criteria_catalog import value_as_written, value_sources
from .criteria_compare import DIFFERENCE_COLUMNS, differences, resolve_criteria
from .criterion_impact import IMPACT_COLUMNS, criterion_impact
from .provenance import display_path
from .screening_inputs import ScreenedInputs, not_given
from .summaries import ReconciliationError, reconcile, share_of

__all__ = ["SAME_VERDICT", "UNCHANGED", "ComparedCriteria", "criteria_name", "difference_table",
           "empty_differences", "impact_download_tables", "impact_table", "limit_differences", "screen_compared",
           "verdict_changes", "verdict_reconciliation"]

SAME_VERDICT = "criteria differ, same verdict"
"""A patient whose verdict stays with a criterion outcome that differs (the words of
:func:`.criteria_compare.difference_counts`)."""
UNCHANGED = "unchanged"
"""A patient with every criterion outcome the same under A and B."""
DISPLAY_NAMES: dict[str, str] = {
    "outcome_a": "outcome_A", "outcome_b": "outcome_B", "verdict_a": "verdict_A", "verdict_b": "verdict_B",
    "evidence_a": "evidence_A", "evidence_b": "evidence_B",
}
"""Column names of the differences as a reader sees them (shown as ``outcome A`` ...)."""
DIFFERENCE_TABLE_COLUMNS = ["patient_id", "site_id", "criterion",
                            *(DISPLAY_NAMES.get(c, c) for c in DIFFERENCE_COLUMNS[3:])]
"""Columns of the differences table on the page and in its download. ``criterion`` is the ID
and the label in one cell (``E6 Steroids > 10 mg/day``): nine columns still fit an 800 px
window and a printed page, ten do not."""


@dataclass(frozen=True)
class ComparedCriteria:
    """The criteria a screening is compared with (side B), and the screening under them.

    Attributes
    ----------
    path : Path
        The criteria version or what-if file (resolved).
    params : CriteriaParams
        Its parameters (package defaults overridden by the file's keys).
    result : ScreeningResult
        The same dataset screened under them.
    """

    path: Path
    params: CriteriaParams
    result: ScreeningResult


def screen_compared(inputs: ScreenedInputs, compare_with: str | Path | None,
                    base: Path | None = None) -> ComparedCriteria | None:
    """Screen the dataset of ``inputs`` again under the criteria ``compare_with``.

    As ``compare --criteria`` takes it (:func:`.criteria_compare.resolve_criteria`; a new user
    found the notebook refusing a label the command took, review 24): ``default`` (the package
    defaults file), a version label of ``params/criteria/``, or a file by the one rule of
    :func:`.screening_inputs.resolve_input_path` (relative to ``base`` or the working directory,
    then to the project root). Blank means no comparison (``None``).

    Raises
    ------
    InputNotFoundError
        When the file exists in none of the places tried.
    ParamsError
        When it is not a usable criteria file.
    """
    if not_given(compare_with):
        return None
    _, path = resolve_criteria(str(compare_with), base, what="compare_with")
    path = CRITERIA_PARAMS if path is None else path  # "default": the file, so that pages can name and hash it
    params = load_params(path)
    return ComparedCriteria(path, params, screen(inputs.dataset, params))


def criteria_name(params: CriteriaParams, path: Path | None) -> str:
    """How a page names a side: its version label, else its file, else the package defaults."""
    if params.version:
        return params.version
    return display_path(path) if path is not None else "package defaults"


def _criterion_label_column(frame: pd.DataFrame, params: CriteriaParams) -> pd.Series:
    return frame["criterion_id"].astype(str).map(criterion_labels(params))


def difference_table(diff: pd.DataFrame, params: CriteriaParams) -> pd.DataFrame:
    """The differences (:func:`.criteria_compare.differences`) with each criterion's ID and label under A.

    Returns
    -------
    DataFrame
        :data:`DIFFERENCE_TABLE_COLUMNS`: one row per patient and criterion whose outcome
        differs, sorted by site, patient and criterion as the comparison sorts them.
    """
    table = diff.rename(columns=DISPLAY_NAMES)
    table["criterion"] = diff["criterion_id"].astype(str) + " " + _criterion_label_column(diff, params)
    return table[DIFFERENCE_TABLE_COLUMNS].reset_index(drop=True)


def _verdicts(result: ScreeningResult) -> pd.Series:
    return result.verdicts.set_index("patient_id")["verdict"].astype(str)


def verdict_changes(a: ScreeningResult, b: ScreeningResult, diff: pd.DataFrame) -> pd.DataFrame:
    """Every screened patient once: verdict under A against verdict under B.

    Returns
    -------
    DataFrame
        ``change`` (``"ineligible -> eligible"``, :data:`SAME_VERDICT` or
        :data:`UNCHANGED`), ``verdict_A``, ``verdict_B``, ``patients``, ``share`` (of the
        patients screened); verdict moves first, then same verdicts, each in the order
        of :data:`~..engine.screening.VERDICTS`. Only combinations that occur; the
        ``patients`` column adds up to the patients screened.

    Raises
    ------
    ReconciliationError
        When either screening does not reconcile, or the two do not hold the same patients.
    """
    reconcile(a)
    reconcile(b)
    before, after = _verdicts(a), _verdicts(b)
    if set(before.index) != set(after.index):
        raise ReconciliationError("the two screenings do not hold the same patients")
    after = after.reindex(before.index)
    differing = before.index.isin(diff["patient_id"].astype(str).unique())
    moved = before.to_numpy() != after.to_numpy()
    change = pd.Series(UNCHANGED, index=before.index).mask(differing, SAME_VERDICT).mask(
        moved, before + " -> " + after)
    per_patient = pd.DataFrame({"change": change, "verdict_A": before, "verdict_B": after})
    counts = per_patient.value_counts().rename("patients").reset_index()
    rank = {v: i for i, v in enumerate(VERDICTS)}
    # Verdict moves first, then same verdicts with differing criteria, then unchanged patients.
    counts["_same"] = counts["verdict_A"] == counts["verdict_B"]
    counts["_unchanged"] = counts["change"] == UNCHANGED
    counts["_a"], counts["_b"] = counts["verdict_A"].map(rank), counts["verdict_B"].map(rank)
    counts = counts.sort_values(["_same", "_unchanged", "_a", "_b"], kind="stable")
    counts["patients"] = counts["patients"].astype(int)
    counts["share"] = share_of(counts["patients"], pd.Series(len(before), index=counts.index))
    return counts[["change", "verdict_A", "verdict_B", "patients", "share"]].reset_index(drop=True)


def verdict_reconciliation(a: ScreeningResult, changes: pd.DataFrame) -> pd.DataFrame:
    """N in = N out of the verdict changes: patients screened against patients counted above.

    Raises
    ------
    ReconciliationError
        When the verdict changes do not count every patient exactly once.
    """
    n_out = int(changes["patients"].sum())
    if n_out != a.n_in:
        raise ReconciliationError(f"{counted(a.n_in, 'patient')} in, {n_out:,} counted in the verdict changes")
    moved = int(changes.loc[changes["verdict_A"] != changes["verdict_B"], "patients"].sum())
    rows = [("patients screened (N in)", a.n_in), ("verdict differs between A and B", moved),
            (SAME_VERDICT, int(changes.loc[changes["change"] == SAME_VERDICT, "patients"].sum())),
            (UNCHANGED, int(changes.loc[changes["change"] == UNCHANGED, "patients"].sum())),
            ("patients counted once above (N out)", n_out)]
    return pd.DataFrame(rows, columns=["check", "patients"]).astype({"patients": int})


def limit_differences(a: CriteriaParams, b: CriteriaParams, path_b: Path | None) -> pd.DataFrame:
    """The limits that differ between A and B, and criteria switched off on one side only.

    Returns
    -------
    DataFrame
        ``parameter``, ``value_A``, ``value_B``, ``source_B`` (where B's value comes from);
        limits in the criteria file's order, then ``criteria_off`` when it differs.
    """
    values_a, values_b = a.as_dict(), b.as_dict()
    sources = value_sources(b, path_b)
    rows = [(k, value_as_written(values_a[k]), value_as_written(values_b[k]), sources.get(k, "")) for k in values_a
            if values_a[k] != values_b[k]]
    if a.criteria_off != b.criteria_off:
        rows.append(("criteria_off", ";".join(a.criteria_off), ";".join(b.criteria_off), "switched off in B's file"))
    return pd.DataFrame(rows, columns=["parameter", "value_A", "value_B", "source_B"])


def impact_table(result: ScreeningResult) -> pd.DataFrame:
    """Each criterion's impact (:func:`.criterion_impact.criterion_impact`) with its label, record order.

    Returns
    -------
    DataFrame
        ``criterion_id``, ``criterion`` (label with this screening's limits), then the
        counts of :data:`~.criterion_impact.IMPACT_COLUMNS`.
    """
    impact = criterion_impact(result)
    impact.insert(1, "criterion", _criterion_label_column(impact, result.params))
    return impact[["criterion_id", "criterion", *IMPACT_COLUMNS[1:]]]


def empty_differences() -> pd.DataFrame:
    """The differences table of a page without a comparison: its columns, no row."""
    return pd.DataFrame({c: pd.Series(dtype="str") for c in DIFFERENCE_TABLE_COLUMNS})


def impact_download_tables(current: ScreeningResult, compared: ScreeningResult | None) -> dict[str, pd.DataFrame]:
    """The downloads of a criteria impact page, by kind (:data:`.downloads.CRITERIA_IMPACT_DOWNLOAD_KINDS`).

    ``differences``: one row per patient and criterion whose outcome differs (a header
    only without a comparison); ``criterion-impact``: one row per criterion.
    """
    diff = (empty_differences() if compared is None
            else difference_table(differences(current, compared), current.params))
    return {"differences": diff, "criterion-impact": impact_table(current)}
