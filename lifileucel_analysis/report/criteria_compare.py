"""Criteria versions and what-if: screen one dataset under two criteria and list what differs.

A criteria choice (``--criteria``) is one of:

- ``default``: the package defaults (``lifileucel_analysis/data/criteria_defaults.yaml``);
- a version label: the criteria file of ``params/criteria/`` whose ``version`` key says so
  (a protocol amendment: version, effective date, what changed, the limits it sets);
- a path to a criteria file, e.g. a what-if file holding only the keys it changes, or
  ``criteria_off: [E6]`` to switch a criterion off.

:func:`differences` and :func:`difference_counts` are pure functions of two screenings, so
a notebook can show them; :func:`compare_files` is the path-to-result entry point the
command uses.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..contract.data_cut import apply_cut, parse_cut_date
from ..contract.parameter_files import read_yaml_mapping
from ..engine.parameters import CriteriaParams, ParamsError, load_params
from ..engine.screening import ScreeningResult, screen
from ..paths import DEMO_DATASET, PROJECT_ROOT
from .screening_inputs import InputNotFoundError, resolve_input_path

__all__ = ["CRITERIA_DIR", "CRITERIA_SUBDIR", "DIFFERENCE_COLUMNS", "compare_files", "criteria_table",
           "criteria_versions", "difference_counts", "differences", "resolve_criteria"]

CRITERIA_SUBDIR = Path("params", "criteria")
"""Where a project keeps its criteria versions and what-if files, relative to its root."""
CRITERIA_DIR = PROJECT_ROOT / CRITERIA_SUBDIR
"""This project's folder of criteria versions and what-if files."""
DIFFERENCE_COLUMNS = ["patient_id", "site_id", "criterion_id", "outcome_a", "outcome_b", "verdict_a", "verdict_b",
                      "evidence_a", "evidence_b"]
"""Columns of ``differences.csv``."""


def criteria_versions(directory: Path = CRITERIA_DIR) -> dict[str, Path]:
    """``{version label: file}`` of the criteria files in ``directory`` (by file name order)."""
    found: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        label = read_yaml_mapping(path).get("version")
        if isinstance(label, str) and label.strip():
            found.setdefault(label.strip(), path)
    return found


def resolve_criteria(choice: str, base: Path | None = None, directory: Path = CRITERIA_DIR,
                     what: str = "criteria") -> tuple[str, Path | None]:
    """Turn a ``--criteria`` value into (label, criteria file or ``None`` for the defaults).

    ``what`` names the option or parameter in the message (``compare_with`` in the notebook).

    Raises
    ------
    InputNotFoundError
        When ``choice`` is neither ``default``, a version of ``directory`` nor a file; the
        message lists the versions there are.
    """
    if choice.strip() == "default":
        return "default", None
    versions = criteria_versions(directory)
    if choice in versions:
        return choice, versions[choice]
    try:
        path = resolve_input_path(choice, DEMO_DATASET, base, what=what)
    except InputNotFoundError as exc:
        known = ", ".join(["default", *versions]) or "default"
        raise InputNotFoundError(f"{exc}; or name a criteria version: {known}") from None
    return choice, path


def differences(a: ScreeningResult, b: ScreeningResult) -> pd.DataFrame:
    """Every (patient, criterion) whose outcome differs between two screenings of the same patients.

    Returns
    -------
    DataFrame
        :data:`DIFFERENCE_COLUMNS`, sorted by site, patient and criterion (protocol order).
        A patient whose verdict differs always has at least one row.
    """
    keys = ["patient_id", "criterion_id"]
    left = a.outcomes[["patient_id", "site_id", "criterion_id", "outcome", "evidence"]]
    both = left.merge(b.outcomes[keys + ["outcome", "evidence"]], on=keys, suffixes=("_a", "_b"), validate="1:1")
    diff = both.loc[both["outcome_a"].astype(str) != both["outcome_b"].astype(str)].copy()
    for side, result in (("a", a), ("b", b)):
        verdict = result.verdicts.set_index("patient_id")["verdict"].astype(str)
        diff[f"verdict_{side}"] = diff["patient_id"].map(verdict)
        diff[f"outcome_{side}"] = diff[f"outcome_{side}"].astype(str)
    diff["site_id"] = diff["site_id"].astype(str)
    diff = diff.sort_values(["site_id", "patient_id", "criterion_id"], kind="stable")
    diff["criterion_id"] = diff["criterion_id"].astype(str)
    return diff[DIFFERENCE_COLUMNS].reset_index(drop=True)


def difference_counts(diff: pd.DataFrame) -> pd.DataFrame:
    """Per site: patients whose verdict moves (``eligible -> ineligible`` ...) or only criteria differ.

    Returns ``site_id``, ``change``, ``patients``, sorted by site and change.
    """
    per_patient = diff.drop_duplicates("patient_id")
    change = (per_patient["verdict_a"] + " -> " + per_patient["verdict_b"]).where(
        per_patient["verdict_a"] != per_patient["verdict_b"], "criteria differ, same verdict")
    counts = (pd.DataFrame({"site_id": per_patient["site_id"], "change": change})
              .value_counts().rename("patients").reset_index())
    return counts.sort_values(["site_id", "change"], kind="stable").reset_index(drop=True)


def criteria_table(choices: tuple[str, str], params: tuple[CriteriaParams, CriteriaParams],
                   cut_date: dt.date | None) -> pd.DataFrame:
    """The run file of a comparison: per side, the choice, its version, date, changes, switched-off criteria."""
    return pd.DataFrame([{"side": side, "criteria": choice, "version": p.version or "custom",
                          "effective_date": p.effective_date, "changes": "; ".join(p.changes),
                          "criteria_off": ";".join(p.criteria_off),
                          "cut_date": cut_date.isoformat() if cut_date else ""}
                         for side, choice, p in zip(("A", "B"), choices, params)])


def compare_files(dataset: str | Path | None, criteria_a: str, criteria_b: str, base: Path | None = None,
                  cut_date: str | dt.date | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Screen a dataset under two criteria choices; return the differences, the counts and the run file
    (:func:`criteria_table`)."""
    from ..contract.loading import load_dataset

    (label_a, path_a), (label_b, path_b) = resolve_criteria(criteria_a, base), resolve_criteria(criteria_b, base)
    params: list[CriteriaParams] = [load_params(path_a), load_params(path_b)]
    cut_on = parse_cut_date(cut_date)
    data = load_dataset(resolve_input_path(dataset, DEMO_DATASET, base, what="dataset"))
    if cut_on is not None:
        data, _ = apply_cut(data, cut_on)
    if label_a == label_b and path_a == path_b:
        raise ParamsError(f"--criteria {criteria_a} is given twice; compare two different criteria")
    results = [screen(data, p) for p in params]
    table = differences(*results)
    return table, difference_counts(table), criteria_table((label_a, label_b), (params[0], params[1]), cut_on)
