"""What the tests share: the one eligible baseline patient, row builders, tiny datasets, constants.

Every hand-built dataset of the suite starts from :data:`ELIGIBLE_PATIENT` (with its one
therapy line :data:`ELIGIBLE_THERAPY` and its seven labs :data:`ELIGIBLE_LABS`) and
changes a few cells, so a test says only what differs. Test modules import from here
(and from ``strategies`` and ``reference``), never from one another.

Dates of the baseline: consent 2025-03-01, NMA-LD 2025-03-29, labs 2025-02-20 (9 days
before consent, inside the 28-day window).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lifileucel_analysis.contract.schema import TABLES, coerce, empty_frame

Row = dict[str, Any]

TEST_JOBS = 2
"""Parallel notebooks in tests: CI machines have two CPUs."""

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, driven by Playwright in the browser tests (``.ci/run`` installs it)."""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_SCHEMES = ("file:", "data:", "about:")
"""URL schemes a report page may load from; anything else is a network request."""
PRINT_WIDTHS_PX = {"Letter": 8.5 * 96 - 2 * 12 / 25.4 * 96, "A4": 210 / 25.4 * 96 - 2 * 12 / 25.4 * 96}
"""Printable width of a page at 12 mm margins (the print stylesheet's), in CSS pixels."""
OVERFLOWING_TABLES = """() => Array.from(document.querySelectorAll('.lifileucel-table table, table'))
  .filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1
               || t.scrollWidth > t.parentElement.clientWidth + 1)
  .map(t => (t.closest('.lifileucel-table')?.querySelector('strong')?.textContent || t.id || 'table'))"""

# ----------------------------------------------------------------------------------------
# the eligible baseline patient
# ----------------------------------------------------------------------------------------

ELIGIBLE_PATIENT: Row = {
    "patient_id": "P001", "site_id": "honorhealth", "sex": "female", "birth_date": "1970-06-15",
    "consent_date": "2025-03-01", "lymphodepletion_date": "2025-03-29", "melanoma_subtype": "cutaneous",
    "ajcc_stage": "IV", "disease_unresectable": "yes", "liver_metastases": "no", "gilbert_syndrome": "no",
    "braf_v600": "wildtype", "ecog": 0, "life_expectancy_months": 12.0, "alternative_therapy_available": "no",
    "resectable_lesion_cm": 2.0, "organ_allograft": "none", "brain_metastases": "no",
    "brain_metastases_symptomatic": None, "brain_metastases_treated": None, "brain_metastases_stable_since": None,
    "steroid_mg_per_day": 0.0, "hypersensitivity_to_regimen": "no", "active_medical_illness": "no",
    "hiv_serology": "negative", "syphilis_assay": "negative", "hbv_serology": "negative", "hbv_pcr": None,
    "primary_immunodeficiency": "no", "live_vaccine_received": "no", "live_vaccine_date": None,
    "pregnant": "no", "breastfeeding": "no",
}
"""Eligible on every criterion (I3 not applicable): every column of the patients table."""

ELIGIBLE_THERAPY: Row = {
    "line": 1, "setting": "metastatic", "agents": "nivolumab+ipilimumab", "start_date": "2024-01-08",
    "end_date": "2024-09-30", "best_response": "pd", "stop_reason": "progression", "recurrence_date": None,
}
"""One metastatic anti-PD-1 line that progressed."""

ELIGIBLE_LABS: list[Row] = [
    {"test": "anc", "value": 2.5, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-20"},
    {"test": "platelets", "value": 220.0, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-20"},
    {"test": "hemoglobin", "value": 12.5, "unit": "g/dL", "uln": None, "collected_date": "2025-02-20"},
    {"test": "ast", "value": 30.0, "unit": "U/L", "uln": 40.0, "collected_date": "2025-02-20"},
    {"test": "alt", "value": 28.0, "unit": "U/L", "uln": 40.0, "collected_date": "2025-02-20"},
    {"test": "total_bilirubin", "value": 0.7, "unit": "mg/dL", "uln": None, "collected_date": "2025-02-20"},
    {"test": "creatinine_clearance", "value": 85.0, "unit": "mL/min", "uln": None, "collected_date": "2025-02-20"},
]
"""All seven tests, normal, 9 days before consent."""

DEFAULT_APPROVAL: Row = {"approved_by": "medical monitor", "approved_date": "2025-03-02",
                         "reason": "treating physician's documented judgement"}
"""Who approved a waiver, when and why, unless a test says otherwise."""

# ----------------------------------------------------------------------------------------
# row builders: one dict per row, the baseline with the given changes
# ----------------------------------------------------------------------------------------


def patient_row(patient_id: str = "P001", **changes: Any) -> Row:
    """The eligible baseline patient with ``changes`` (``None`` = blank cell)."""
    return {**ELIGIBLE_PATIENT, **changes, "patient_id": patient_id}


def therapy_row(patient_id: str, **changes: Any) -> Row:
    """The baseline therapy line of ``patient_id`` with ``changes``."""
    return {"patient_id": patient_id, **ELIGIBLE_THERAPY, **changes}


def lab_rows(patient_id: str, labs: Iterable[Row] = (), replace: bool = False) -> list[Row]:
    """The baseline labs of ``patient_id``, each test in ``labs`` replacing the baseline result.

    Parameters
    ----------
    patient_id : str
    labs : iterable of dict
        Results (``test``, ``value``, ``unit``, ``collected_date``, optional ``uln``).
    replace : bool
        When true, ``labs`` replaces all baseline results (tests not given have none).

    Returns
    -------
    list of dict
    """
    labs = list(labs)
    replaced = {lab["test"] for lab in labs}
    kept = [] if replace else [lab for lab in ELIGIBLE_LABS if lab["test"] not in replaced]
    return [{"patient_id": patient_id, "uln": None, **lab} for lab in kept + labs]


def toxicity_row(patient_id: str, term: str = "colitis", category: str = "other", grade: int | None = 2,
                 ongoing: str | None = "no") -> Row:
    """One immune-related adverse event (by default a resolved grade 2 colitis)."""
    return {"patient_id": patient_id, "term": term, "category": category, "grade": grade, "ongoing": ongoing}


def override_row(patient_id: str, criterion_id: str, **changes: Any) -> Row:
    """A waiver of ``criterion_id`` for ``patient_id`` (:data:`DEFAULT_APPROVAL` unless changed)."""
    return {"patient_id": patient_id, "criterion_id": criterion_id, **DEFAULT_APPROVAL, **changes}


def typed_tables(rows: Mapping[str, Sequence[Row]]) -> dict[str, pd.DataFrame]:
    """Typed frames of the five tables from rows; a table not given (or with no rows) is empty."""
    return {name: coerce(name, pd.DataFrame(list(rows[name]))) if rows.get(name) else empty_frame(name)
            for name in TABLES}


# ----------------------------------------------------------------------------------------
# tiny datasets
# ----------------------------------------------------------------------------------------


def case_tables(patient: Row | None = None, therapies: list[Row] | None = None, labs: list[Row] | None = None,
                toxicities: list[Row] | None = None, overrides: Sequence[str | Row] = (), patient_id: str = "P001",
                replace_labs: bool = False) -> dict[str, pd.DataFrame]:
    """Typed tables of one patient: the baseline with the given changes.

    Parameters
    ----------
    patient : dict, optional
        Patient cells that differ from :data:`ELIGIBLE_PATIENT` (``None`` = blank).
    therapies : list of dict, optional
        The patient's therapy lines; ``None`` keeps :data:`ELIGIBLE_THERAPY`, ``[]`` means none.
    labs : list of dict, optional
        Results that replace the baseline results of the same tests (other tests keep theirs).
    toxicities : list of dict, optional
        Immune-related adverse events (none by default).
    overrides : sequence of str or dict
        Criterion IDs waived for the patient, or override cells (``criterion_id`` and those
        that differ from :data:`DEFAULT_APPROVAL`; ``None`` = blank).
    patient_id : str
        The patient's ID (to put several cases in one dataset).
    replace_labs : bool
        When true, ``labs`` replaces all baseline labs (tests not given have no result).

    Returns
    -------
    dict of str to DataFrame
    """
    lines = [ELIGIBLE_THERAPY] if therapies is None else therapies
    rows = {
        "patients": [patient_row(patient_id, **(patient or {}))],
        "therapies": [{"patient_id": patient_id, **t} for t in lines],
        "labs": lab_rows(patient_id, labs or [], replace=replace_labs),
        "toxicities": [{"patient_id": patient_id, **t} for t in (toxicities or [])],
        "overrides": [override_row(patient_id, c) if isinstance(c, str) else override_row(patient_id, **c)
                      for c in overrides],
    }
    return {name: coerce(name, pd.DataFrame(table_rows)) for name, table_rows in rows.items()}


def outcome_row(result: Any, patient: str, criterion: str) -> pd.Series:
    """One patient's outcome of one criterion in a screening result (``outcome``, ``evidence``, ``missing``)."""
    return result.outcomes.set_index(["patient_id", "criterion_id"]).loc[(patient, criterion)]


def concat_tables(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Stack the tables of several one-patient datasets (distinct patient IDs) into one."""
    return {name: coerce(name, pd.concat([p[name] for p in parts], ignore_index=True)) for name in parts[0]}


SMALL_VERDICTS = {"P1": "eligible", "P2": "pending", "P3": "ineligible"}
"""The verdicts of :func:`small_dataset`."""


def small_dataset_rows() -> dict[str, list[Row]]:
    """Rows of :func:`small_dataset` (fresh copies: a test may change them)."""
    patients = [patient_row("P1", site_id="mskcc"), patient_row("P2", ecog=None),
                patient_row("P3", site_id="mskcc", melanoma_subtype="uveal")]
    return {
        "patients": patients,
        "therapies": [therapy_row(p) for p in SMALL_VERDICTS],
        "labs": [lab for p in SMALL_VERDICTS for lab in lab_rows(p)],
    }


def small_dataset() -> dict[str, pd.DataFrame]:
    """Three patients: eligible (P1, mskcc), pending (P2, honorhealth: ECOG blank), ineligible (P3, mskcc: uveal)."""
    return typed_tables(small_dataset_rows())


# ----------------------------------------------------------------------------------------
# rows as a spreadsheet holds them
# ----------------------------------------------------------------------------------------


def text_cell(value: Any) -> str:
    """A typed cell as CSV text: blank for ``None``, whole numbers without ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def text_row(row: Row) -> dict[str, str]:
    """A row with every cell as CSV text (:func:`text_cell`)."""
    return {column: text_cell(value) for column, value in row.items()}


# ----------------------------------------------------------------------------------------
# notebooks and report builds
# ----------------------------------------------------------------------------------------


def write_notebook(path: Path, parameters: str, cells: Sequence[str]) -> Path:
    """Write a notebook with a ``parameters`` cell (source ``parameters``) and code cells.

    Cell ids are fixed, as in the committed notebooks, so outputs are reproducible.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    params = new_code_cell(parameters, id="params")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell(f"# {path.stem}", id="title"), params,
                *(new_code_cell(source, id=f"cell-{i}") for i, source in enumerate(cells, start=1))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@dataclass(frozen=True)
class Build:
    """A finished report build: its folder, exit status and wall time."""

    out: Path
    status: int
    seconds: float


PLANTED_MOVES = {
    # (change, value after) -> the outcome change each planted edit of ``synth --weeks`` must
    # cause, by the contract's rules (docs/history.md); "" = any value after.
    ("blank filled", "no"): "E7: unknown -> pass",
    ("blank filled", "yes"): "E7: unknown -> fail",
    ("lab redraw", ""): "I7: unknown -> fail",
    ("correction", ""): "E3: fail -> pass",
}


def planted_move(change: str, value_after: str) -> str:
    """The outcome change a planted edit must cause (``""`` for an arrival: every outcome is new)."""
    return PLANTED_MOVES.get((change, value_after), PLANTED_MOVES.get((change, ""), ""))


def write_weekly_series(out: Path, patients: int, seed: int, weeks: int) -> Path:
    """``synth --weeks`` into ``out`` (week folders, cuts.csv, planted_changes.csv); returns ``out``."""
    from lifileucel_analysis.cli import main

    assert main(["synth", "--patients", str(patients), "--seed", str(seed), "--weeks", str(weeks),
                 "--out", str(out)]) == 0
    return out


# A cohort written as messy as sites send it, for tests that split a dataset by patient
# (buckets, slices) and must get the one-piece screen's bytes back.

def write_messy_cohort(root: Path, n_patients: int, seed: int = 7, shuffle: bool = True) -> Path:
    """A synthetic cohort as a CSV folder: patients shuffled (unless not), a padded lab ID, findings on three tables."""
    import numpy as np

    from lifileucel_analysis import synth
    from lifileucel_analysis.contract.writing import write_tables

    tables = synth.generate_cohort(n_patients, seed)
    order = np.random.default_rng(1).permutation(n_patients) if shuffle else np.arange(n_patients)
    tables["patients"] = tables["patients"].iloc[order].reset_index(drop=True)
    write_tables(tables, root, "csv")
    labs = (root / "labs.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    labs[1] = labs[1].replace("EAP-", " EAP-", 1)  # a padded ID: same patient once trimmed
    (root / "labs.csv").write_text("".join(labs), encoding="utf-8")
    patients = pd.read_csv(root / "patients.csv", dtype=str, keep_default_na=False)
    male = patients.index[patients["sex"] == "male"][-12:]  # late in the file: a cut moves their rows up
    patients.loc[male, "pregnant"] = "yes"  # a finding on the patients table
    patients.to_csv(root / "patients.csv", index=False)
    toxicities = pd.read_csv(root / "toxicities.csv", dtype=str, keep_default_na=False)
    toxicities.loc[toxicities.index[::15], ["grade", "ongoing"]] = ["5", "yes"]  # findings on toxicities
    toxicities.to_csv(root / "toxicities.csv", index=False)
    # Rows read once or read together, late in the files: a therapy and an override written
    # twice, a second line with an existing number, a criterion waived twice.
    therapies = pd.read_csv(root / "therapies.csv", dtype=str, keep_default_na=False)
    numbered = therapies[therapies["line"] != ""]
    shared = numbered.iloc[[3]].assign(agents="ipilimumab", stop_reason="completed", best_response="pr")
    pd.concat([therapies, numbered.iloc[[1]], shared]).to_csv(root / "therapies.csv", index=False)
    overrides = pd.read_csv(root / "overrides.csv", dtype=str, keep_default_na=False)
    if len(overrides) >= 2:
        second = overrides.iloc[[1]].assign(approved_by="principal investigator", approved_date="2020-01-02")
        # A waiver approved after any cut (the latest consent date) of the earliest-consented waived
        # patient: at a cut in the middle it is not applied, but named in the criterion's sentence.
        consent = patients.set_index("patient_id")["consent_date"]
        first = consent.reindex(overrides["patient_id"]).replace("", "9999").to_numpy().argmin()
        late = overrides.iloc[[first]].assign(approved_by="medical monitor", approved_date=consent.max(),
                                              reason="approved after the cut")
        pd.concat([overrides, overrides.iloc[[0]], second, late]).to_csv(root / "overrides.csv", index=False)
    return root


def middle_consent_date(root: Path) -> str:
    """A cut in the middle of the consent dates of a CSV folder: about half the patients set aside."""
    consent = sorted(pd.read_csv(root / "patients.csv", dtype=str)["consent_date"].dropna())
    return consent[len(consent) // 2]


def write_site_drugs(path: Path) -> Path:
    """A site's drug names for the synthetic cohort's misspelt agents (they change findings and outcomes)."""
    path.write_text("agent,drug_class,source\npembrolizumabb,anti-pd-1,site list\nnivolumabb,anti-pd-1,site list\n",
                    encoding="utf-8")
    return path


SDTM_STUDYID = "IOV-LN144-EAP"
"""STUDYID of the SDTM tests' exports."""


def read_text_csv(path: Path) -> pd.DataFrame:
    """A CSV file as text cells, blanks as ``""`` (as a file's reader sees them)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


SDTM_NUMERIC = frozenset({"IESEQ", "DVSEQ", "DSSEQ", "AGE"})
"""The SDTM export's numeric variables; every other one is character."""


def study_char_lengths(folder: Path) -> dict[str, dict[str, int]]:
    """The character lengths FDA's Study Data Technical Conformance Guide asks of the SDTM files in ``folder``,
    from their ``.csv`` twins: "the maximum length of the variable used across all datasets in the study except
    for supplementary qualification datasets" (a ``SUPP--`` dataset's variable: its own longest value); at
    least 1, the least an XPT variable holds. ``{DOMAIN: {variable: length}}``."""
    frames = {path.stem.upper(): read_text_csv(path) for path in sorted(folder.glob("*.csv"))
              if path.stem not in ("define", "codelists")}

    def longest(values: pd.Series) -> int:
        return int(values.str.len().max()) if len(values) else 0

    study: dict[str, int] = {}
    for domain, frame in frames.items():
        if not domain.startswith("SUPP"):
            for name in frame.columns:
                study[name] = max(study.get(name, 1), longest(frame[name]))
    return {domain: {name: max(1, longest(frame[name])) if domain.startswith("SUPP") else study[name]
                     for name in frame.columns if name not in SDTM_NUMERIC} for domain, frame in frames.items()}
