"""Synthetic screening cohorts: a seeded, vectorized generator and the bundled datasets.

:func:`generate_cohort` draws a whole screening dataset (the five tables of the data
contract) from ``numpy.random.default_rng(seed)``. Every quantity is drawn for all
patients (or all event rows) at once; event tables are laid out with ``np.repeat`` and
segmented cumulative sums, so a million patients take seconds, not minutes. The same
seed always gives the same frames, and therefore the same bytes once written by
:func:`lifileucel_analysis.io.write_tables`.

The distributions, and the source or assumption behind each, are tabulated in
``docs/synthetic-data.md``. They are realistic in shape but deliberately over-represent
rare exclusions (pregnancy, primary immunodeficiency, prior TIL, ...) so that every
criterion fails for some patients and is unknown for others in the 400-patient demo
cohort. The data are synthetic: no row describes a real person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .paths import DEMO_DATASET, FIXTURE_DATASET
from .contract.schema import AJCC_STAGES, CANONICAL_UNIT, LAB_TESTS, SITE_IDS, TABLES, dtype_for

DEMO_SEED = 20220601
"""Seed of the bundled demo cohort (the record was first posted on 1 June 2022)."""
DEMO_N = 400
"""Patients in the bundled demo cohort."""
FIXTURE_SEED = 144
"""Seed of the bundled fixture cohort (LN-144 is lifileucel's development code)."""
FIXTURE_N = 40
"""Patients in the bundled fixture cohort."""
DEFAULT_AS_OF = "2026-10-31"
"""Data cut-off: no consent, therapy, lab or approval is dated after it."""
PROGRAM_START = "2022-06-01"
"""First posting of NCT05398640; no site was activated before it."""

__all__ = [
    "DEFAULT_AS_OF", "DEMO_N", "DEMO_SEED", "FIXTURE_N", "FIXTURE_SEED", "generate_cohort", "regenerate_bundled",
    "write_cohort",
]

Format = Literal["csv", "xlsx", "parquet"]
Raw = dict[str, object]
STR = pd.StringDtype(na_value=np.nan)
NO_DATE = np.iinfo(np.int64).min
"""Day number that becomes ``NaT`` (it is NumPy's own NaT bit pattern)."""
BLANK = -1
"""Blank code for code / yes-no / integer columns in the raw (pre-typed) arrays."""


def _code_of(table: str, column: str, value: str) -> int:
    """Position of ``value`` among a code column's codes (raw arrays hold these positions)."""
    return TABLES[table].column(column).codes.index(value)


FEMALE, MALE = _code_of("patients", "sex", "female"), _code_of("patients", "sex", "male")
MUTANT, WILDTYPE = _code_of("patients", "braf_v600", "mutant"), _code_of("patients", "braf_v600", "wildtype")
UVEAL = _code_of("patients", "melanoma_subtype", "uveal")
ADJUVANT_SETTING, NEOADJUVANT_SETTING, METASTATIC_SETTING = (
    _code_of("therapies", "setting", s) for s in ("adjuvant", "neoadjuvant", "metastatic"))
PROGRESSION, TOXICITY, COMPLETED, ONGOING = (
    _code_of("therapies", "stop_reason", s) for s in ("progression", "toxicity", "completed", "ongoing"))
NOT_EVALUABLE = _code_of("therapies", "best_response", "ne")
ON_THERAPY, WITHIN_WINDOW, LATE = 0, 1, 2
"""How an adjuvant line recurred: on therapy, within 6 months of its end, or later."""

# --- sites ------------------------------------------------------------------------------

SITE_SHARE: dict[str, float] = {
    "honorhealth": 0.15,
    "orlando-health": 0.13,
    "uofl-brown": 0.11,
    "wustl-siteman": 0.17,
    "mskcc": 0.34,
    "ut-medical-center": 0.10,
}
SITE_ACTIVATION: dict[str, str] = {
    "honorhealth": "2022-07-15",
    "orlando-health": "2022-09-01",
    "uofl-brown": "2022-10-03",
    "wustl-siteman": "2022-08-01",
    "mskcc": "2022-06-15",
    "ut-medical-center": "2022-11-01",
}

# --- patient-level distributions (probabilities follow the order of the schema's codes) --

P_FEMALE = 0.40
P_ADOLESCENT = 0.012
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 57.0, 12.0, 18.3, 88.0
SUBTYPE_P = (0.745, 0.07, 0.07, 0.03, 0.085)  # cutaneous, acral, mucosal, uveal, unknown_primary
BRAF_MUTANT_BY_SUBTYPE = (0.48, 0.15, 0.08, 0.0, 0.45)
STAGE_P = {"IIB": 0.003, "IIC": 0.005, "III": 0.015, "IIIA": 0.004, "IIIB": 0.012,
           "IIIC": 0.10, "IIID": 0.035, "IV": 0.826}  # fmt: skip
P_UNRESECTABLE_III = (0.91, 0.06)  # yes, no (rest blank)
P_UNRESECTABLE_RECORDED_IV = 0.70
P_LIVER_METS, P_LIVER_METS_UVEAL = 0.20, 0.85
P_GILBERT = 0.04
ECOG_P = (0.59, 0.37, 0.025, 0.01, 0.005, 0.0)
LIFE_EXPECTANCY = ((1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0, 24.0),
                   (0.004, 0.008, 0.05, 0.08, 0.30, 0.15, 0.30, 0.108))  # fmt: skip
LESION_MEDIAN_CM, LESION_SIGMA = 2.8, 0.36
ALLOGRAFT_P = (0.978, 0.012, 0.010)  # none, kidney, other
P_BRAIN_METS = 0.20
P_BRAIN_UNTREATED, P_BRAIN_SYMPTOMATIC, P_BRAIN_RECENT = 0.07, 0.05, 0.08
STEROID_DOSES = ((0.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 40.0),
                 (0.89, 0.02, 0.04, 0.01, 0.015, 0.012, 0.010, 0.003))  # fmt: skip
P_HYPERSENSITIVITY, P_ACTIVE_ILLNESS, P_IMMUNODEFICIENCY = 0.015, 0.02, 0.01
P_HIV, P_SYPHILIS, P_HBV = 0.004, 0.006, 0.05
HBV_PCR_P = (0.72, 0.15)  # undetectable, detectable (rest blank: PCR pending)
P_LIVE_VACCINE = 0.08
VACCINE_TIMING_P = (0.60, 0.10, 0.30)  # years before consent, weeks before, during screening
P_PREGNANT_UNDER_50, P_BREASTFEEDING_UNDER_50 = 0.03, 0.03
P_PREGNANCY_UNRECORDED_55_PLUS = 0.15
P_ALTERNATIVE, P_ALTERNATIVE_BRAF_UNTREATED = 0.008, 0.10

# Workup: days after consent by which each stage is usually done, and the stalled share.
STAGE_DAYS = (10, 25, 40)  # labs/serologies, surgical and imaging review, NMA-LD scheduled
P_STALLED = 0.18
STALLED_AT_P = (0.30, 0.35, 0.35)
P_LD_SCHEDULED = 0.97
LD_GAP_MEDIAN_DAYS, LD_GAP_SIGMA = 38.0, 0.30

# Sporadic blanks: probability that a recorded field was left empty anyway.
SPORADIC = 0.01
SPORADIC_BY_COLUMN: dict[str, float] = {
    "sex": 0.004, "birth_date": 0.015, "braf_v600": 0.03, "brain_metastases_treated": 0.02,
    "brain_metastases_symptomatic": 0.02, "brain_metastases_stable_since": 0.02,
    "live_vaccine_date": 0.05, "pregnant": 0.02, "breastfeeding": 0.02,
}  # fmt: skip

# --- therapies ---------------------------------------------------------------------------

P_ADJUVANT, P_ADJUVANT_UVEAL, P_NEOADJUVANT = 0.28, 0.05, 0.10
P_ADJUVANT_BRAF_MEK, P_ADJUVANT_COMPLETED, P_ADJUVANT_RESPONSE_NE = 0.10, 0.60, 0.70
BRAF_LINE_P = (0.25, 0.45, 0.30)  # BRAF-mutant, >= 2 metastatic lines: BRAF/MEK first, second, never
ADJ_RECURRENCE_P = (0.30, 0.35, 0.35)  # on therapy, within 6 months, later
MET_LINES_P = (0.44, 0.31, 0.16, 0.07, 0.02)  # 1..5 metastatic lines
P_NO_MET_LINE = {"qualifying": 0.15, "late": 0.04, "none": 0.008}
P_PRIOR_TIL = 0.03
P_BRAF_ONLY_LINE = 0.02
P_MISSPELLED = 0.012

# Regimens: (agents, duration group). Durations are medians in days (lognormal sigma).
DURATION: dict[str, tuple[float, float]] = {
    "io": (170, 0.7), "ipi": (70, 0.2), "target": (250, 0.7), "chemo": (100, 0.5),
    "cytokine": (20, 0.5), "virus": (120, 0.6), "cell": (6, 0.2), "bispecific": (150, 0.6),
    "kit": (120, 0.6), "adjuvant": (330, 0.1),
}  # fmt: skip
FIRST_LINE_IO = {
    "nivolumab+ipilimumab": 0.36, "nivolumab+relatlimab": 0.20, "pembrolizumab": 0.24, "nivolumab": 0.16,
    "ipilimumab": 0.005, "pembrolizumab+ipilimumab": 0.02,
}  # fmt: skip
LATER_LINE = {
    "ipilimumab": 0.16, "nivolumab+ipilimumab": 0.20, "pembrolizumab": 0.06, "nivolumab+relatlimab": 0.04,
    "carboplatin+paclitaxel": 0.14, "dacarbazine": 0.08, "temozolomide": 0.05, "aldesleukin": 0.05,
    "talimogene-laherparepvec": 0.05, "nab-paclitaxel": 0.04, "pembrolizumab+ipilimumab": 0.04,
    "imatinib": 0.03, "cemiplimab": 0.02, "fotemustine": 0.02, "interferon-alfa": 0.02,
}  # fmt: skip
BRAF_MEK = {"dabrafenib+trametinib": 0.5, "encorafenib+binimetinib": 0.4, "vemurafenib+cobimetinib": 0.1}
ADJUVANT = {"nivolumab": 0.5, "pembrolizumab": 0.5}
PRIOR_TIL = {"lifileucel": 0.6, "tumor-infiltrating-lymphocytes": 0.4}
P_TEBENTAFUSP_UVEAL = 0.45
GROUP = {
    "ipilimumab": "ipi", "carboplatin+paclitaxel": "chemo", "dacarbazine": "chemo", "temozolomide": "chemo",
    "nab-paclitaxel": "chemo", "fotemustine": "chemo", "aldesleukin": "cytokine", "interferon-alfa": "cytokine",
    "talimogene-laherparepvec": "virus", "imatinib": "kit", "tebentafusp": "bispecific",
    "lifileucel": "cell", "tumor-infiltrating-lymphocytes": "cell",
    **dict.fromkeys(BRAF_MEK, "target"),
}  # fmt: skip
STOP_EARLIER_P = (0.68, 0.20, 0.05, 0.0, 0.07)  # progression, toxicity, completed, ongoing, other
STOP_LAST_P = (0.81, 0.10, 0.02, 0.05, 0.02)
RESPONSE_P = (0.04, 0.22, 0.24, 0.40, 0.10)  # cr, pr, sd, pd, ne
RESPONSE_ONGOING_P = (0.0, 0.20, 0.22, 0.55, 0.03)
P_BLANK_STOP, P_BLANK_RESPONSE, P_BLANK_SETTING, P_BLANK_RECURRENCE = 0.02, 0.03, 0.005, 0.02

# --- labs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabModel:
    """How one test's values are drawn, in the canonical unit (AST/ALT: multiples of ULN).

    Attributes
    ----------
    median, sigma : float
        Lognormal baseline of a patient with normal function.
    p_abnormal : float
        Share of patients whose baseline is drawn uniformly from ``abnormal`` instead.
    abnormal : tuple of float
        Range straddling the I7 limit, so most but not all such patients fail.
    decimals : int
        Rounding in the canonical unit.
    alt_unit, alt_factor, alt_decimals, p_alt_unit : str, float, int, float
        The other unit convention: value_alt = value * alt_factor, its rounding, and the
        share of rows reported in it.
    nadir : tuple of float, optional
        Range after NMA-LD (cyclophosphamide/fludarabine nadir) for blood counts.
    plausible : tuple of float
        Physiological range every reported value is clipped to.
    """

    median: float
    sigma: float
    p_abnormal: float
    abnormal: tuple[float, float]
    decimals: int
    alt_unit: str = ""
    alt_factor: float = 1.0
    alt_decimals: int = 0
    p_alt_unit: float = 0.0
    nadir: tuple[float, float] | None = None
    plausible: tuple[float, float] = (0.0, np.inf)


LAB_MODELS: dict[str, LabModel] = {
    "anc": LabModel(3.6, 0.38, 0.010, (0.4, 1.1), 2, "/uL", 1000.0, -1, 0.30, (0.02, 0.5), (0.02, 25.0)),
    "platelets": LabModel(235.0, 0.30, 0.012, (40.0, 110.0), 0, "/uL", 1000.0, -3, 0.30, (15.0, 90.0),
                          (10.0, 800.0)),
    "hemoglobin": LabModel(12.4, 0.11, 0.016, (7.2, 9.2), 1, "g/L", 10.0, 0, 0.10, (7.0, 9.5), (6.0, 18.5)),
    "ast": LabModel(0.65, 0.40, 0.010, (2.5, 6.0), 2, plausible=(0.2, 20.0)),
    "alt": LabModel(0.65, 0.45, 0.010, (2.5, 6.0), 2, plausible=(0.2, 20.0)),
    "total_bilirubin": LabModel(0.55, 0.40, 0.008, (1.6, 3.5), 1, "umol/L", 17.1, 0, 0.10, plausible=(0.1, 8.0)),
    "creatinine_clearance": LabModel(92.0, 0.24, 0.012, (22.0, 45.0), 0, plausible=(10.0, 180.0)),
}
ULN_CHOICES = {"ast": (33.0, 35.0, 40.0), "alt": (35.0, 40.0, 45.0, 56.0)}
GILBERT_BILIRUBIN = (1.3, 3.4)
LIVER_METS_ENZYME_FACTOR = 1.4
P_LAB_MISSING, P_LAB_REPEAT, P_LAB_HISTORY, P_LAB_POST_LD, P_LAB_SAME_DAY = 0.015, 0.30, 0.60, 0.25, 0.004
LAB_NOISE, LAB_HISTORY_NOISE = 0.08, 0.12

# --- toxicities ----------------------------------------------------------------------------

TOX_PER_PATIENT = 0.65
TOX_MAX = 4
TOX_CATEGORY_P = (0.32, 0.04, 0.10, 0.54)  # endocrine, ocular, vitiligo, other
TOX_TERMS: dict[str, dict[str, float]] = {
    "endocrine": {"hypothyroidism": 0.45, "hyperthyroidism": 0.15, "hypophysitis": 0.15,
                  "adrenal insufficiency": 0.15, "type 1 diabetes mellitus": 0.10},
    "ocular": {"uveitis": 0.6, "dry eye": 0.4},
    "vitiligo": {"vitiligo": 1.0},
    "other": {"colitis": 0.25, "hepatitis": 0.15, "pneumonitis": 0.10, "rash maculo-papular": 0.15,
              "arthritis": 0.10, "pruritus": 0.11, "myositis": 0.04, "nephritis": 0.04, "myocarditis": 0.02,
              "sicca syndrome": 0.04},
}  # fmt: skip
TOX_GRADE_P = ((0.25, 0.50, 0.20, 0.05), (0.40, 0.45, 0.15, 0.0), (0.70, 0.30, 0.0, 0.0), (0.35, 0.35, 0.23, 0.07))
TOX_ONGOING_P = (0.85, 0.20, 0.90, 0.12)
P_TOX_BLANK = {"term": 0.005, "category": 0.015, "grade": 0.02, "ongoing": 0.04}

# --- overrides -----------------------------------------------------------------------------

APPROVERS = {"Principal Investigator": 0.55, "Sponsor Medical Monitor": 0.35, "Sub-Investigator": 0.10}


@dataclass(frozen=True)
class OverrideRule:
    """A kind of documented waiver: which criterion, for whom, how often, and why."""

    criterion_id: str
    share: float
    reason: str


OVERRIDE_RULES: tuple[OverrideRule, ...] = (
    OverrideRule("I2", 0.35, "Five prior lines: sponsor agreed the last (palliative chemotherapy) does not count"),
    OverrideRule("I4", 0.25, "Aggregate of resected lesions >= 1.5 cm per surgical assessment"),
    OverrideRule("I6", 0.30, "ECOG 2 from an orthopedic limitation, not from melanoma"),
    OverrideRule("I7", 0.25, "Hemoglobin to be corrected by transfusion before NMA-LD"),
    OverrideRule("E6", 0.40, "Prednisone taper to <= 10 mg/day completed before NMA-LD"),
)


# --- public API --------------------------------------------------------------------------


def generate_cohort(n_patients: int, seed: int, *, as_of: str = DEFAULT_AS_OF) -> dict[str, pd.DataFrame]:
    """Draw a synthetic screening dataset.

    Parameters
    ----------
    n_patients : int
        Number of screened patients (0 or more).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same frames.
    as_of : str, default "2026-10-31"
        ISO data cut-off: consents are spread from the sites' activation (mid-2022) to
        this day, and no event is dated after it (planned NMA-LD dates may be).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``patients``, ``therapies``, ``labs``, ``toxicities``, ``overrides``: typed frames
        with exactly the contract's columns and dtypes (:func:`schema.dtype_for`).

    Raises
    ------
    ValueError
        If ``n_patients`` is negative or ``as_of`` is before the sites opened.
    """
    if n_patients < 0:
        raise ValueError(f"n_patients must be >= 0, got {n_patients}")
    as_of_day = _day(as_of)
    if as_of_day < _day(max(SITE_ACTIVATION.values())):
        raise ValueError(f"as_of {as_of} is before the last site opened ({max(SITE_ACTIVATION.values())})")
    rng = np.random.default_rng(seed)
    patients = _draw_patients(rng, n_patients, as_of_day)
    plan = _plan_therapies(rng, patients)
    therapies = _draw_therapies(rng, patients, plan)
    patients["alternative_therapy_available"] = _alternative_therapy(rng, patients, plan)
    labs, hemoglobin_low = _draw_labs(rng, patients, as_of_day)
    toxicities = _draw_toxicities(rng, plan["n_lines"])
    overrides = _draw_overrides(rng, patients, plan, hemoglobin_low, as_of_day)
    ids = _patient_ids(n_patients)
    raw = {"patients": patients, "therapies": therapies, "labs": labs, "toxicities": toxicities,
           "overrides": overrides}
    return {name: _typed(name, table, ids) for name, table in raw.items()}


def write_cohort(n_patients: int, seed: int, out: Path | str, fmt: Format = "csv", *,
                 as_of: str = DEFAULT_AS_OF) -> list[Path]:
    """Generate a cohort and write it with :func:`lifileucel_analysis.io.write_tables`.

    Parameters
    ----------
    n_patients, seed, as_of
        As for :func:`generate_cohort`.
    out : path
        Output folder (csv, parquet) or workbook path (xlsx).
    fmt : {"csv", "xlsx", "parquet"}

    Returns
    -------
    list of Path
        The files written.
    """
    from .contract.writing import write_tables

    return write_tables(generate_cohort(n_patients, seed, as_of=as_of), Path(out), fmt)


def regenerate_bundled() -> list[Path]:
    """Rewrite the bundled demo and fixture cohorts (CSV) from their fixed seeds.

    Returns
    -------
    list of Path
        The files written, demo first.
    """
    return (write_cohort(DEMO_N, DEMO_SEED, DEMO_DATASET, "csv")
            + write_cohort(FIXTURE_N, FIXTURE_SEED, FIXTURE_DATASET, "csv"))


# --- drawing helpers ---------------------------------------------------------------------


def _day(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date."""
    return int(np.datetime64(iso, "D").astype(np.int64))


def _pick(rng: np.random.Generator, n: int, probs: Sequence[float]) -> np.ndarray:
    """Draw ``n`` category indices with probabilities ``probs`` (normalized here)."""
    cdf = np.cumsum(np.asarray(probs, dtype=float))
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(cdf) - 1)


def _pick_from(rng: np.random.Generator, n: int, weights: dict[str, float], vocab: list[str]) -> np.ndarray:
    """Draw ``n`` entries of ``weights``' keys, returned as indices into ``vocab``."""
    keys = list(weights)
    lookup = np.array([vocab.index(k) for k in keys])
    return lookup[_pick(rng, n, list(weights.values()))]


def _chance(rng: np.random.Generator, n: int, p: float | np.ndarray) -> np.ndarray:
    """Independent yes/no draws with probability ``p``."""
    return rng.random(n) < p


def _uniform_days(rng: np.random.Generator, lo: int | np.ndarray, hi: int | np.ndarray, n: int) -> np.ndarray:
    """Whole days uniformly in ``[lo, hi]`` (inclusive)."""
    return (lo + np.floor(rng.random(n) * (np.asarray(hi) - lo + 1))).astype(np.int64)


def _lognormal(rng: np.random.Generator, median: float | np.ndarray, sigma: float | np.ndarray,
               n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def _yes(flag: np.ndarray) -> np.ndarray:
    """A yes/no raw column (1 yes, 0 no) from a boolean array."""
    return flag.astype(np.int8)


def _blank_where(values: np.ndarray, mask: np.ndarray, fill: float | int = BLANK) -> np.ndarray:
    """Copy of a raw column with ``mask`` rows blank (``fill``: BLANK, NaN or NO_DATE)."""
    return np.where(mask, np.asarray(fill).astype(values.dtype), values)


def _fill_for(table: str, column: str) -> float | int:
    """The raw blank marker of a contract column."""
    kind = TABLES[table].column(column).kind
    return {"number": np.nan, "date": NO_DATE}.get(kind, BLANK)


# --- patients ----------------------------------------------------------------------------


def _draw_patients(rng: np.random.Generator, n: int, as_of_day: int) -> Raw:
    """Draw the patients table as raw arrays, sorted by consent date (IDs follow that order)."""
    site = _pick(rng, n, [SITE_SHARE[s] for s in SITE_IDS])
    opened = np.array([_day(SITE_ACTIVATION[s]) for s in SITE_IDS])[site]
    consent = _uniform_days(rng, opened, as_of_day, n)
    order = np.argsort(consent, kind="stable")
    site, consent = site[order], consent[order]
    p: Raw = {"site_id": site, "consent_date": consent}
    _draw_demographics(rng, p, n)
    _draw_disease(rng, p, n)
    _draw_workup(rng, p, n, as_of_day)
    _draw_history(rng, p, n)
    _draw_brain(rng, p, n, as_of_day)
    _draw_screening_tests(rng, p, n, as_of_day)
    _apply_sporadic_blanks(rng, p, n)
    return p


def _draw_demographics(rng: np.random.Generator, p: Raw, n: int) -> None:
    female = _chance(rng, n, P_FEMALE)
    adolescent = _chance(rng, n, P_ADOLESCENT)
    adult_age = np.clip(rng.normal(AGE_MEAN, AGE_SD, n), AGE_MIN, AGE_MAX)
    age = np.where(adolescent, 15.0 + 2.9 * rng.random(n), adult_age)
    p["sex"] = np.where(female, FEMALE, MALE)
    p["age"] = age  # helper, not a column: pregnancy depends on it
    p["birth_date"] = p["consent_date"] - np.round(age * 365.2425).astype(np.int64)


def _draw_disease(rng: np.random.Generator, p: Raw, n: int) -> None:
    subtype = _pick(rng, n, SUBTYPE_P)
    uveal = subtype == UVEAL
    stage = np.array([AJCC_STAGES.index(s) for s in STAGE_P])[_pick(rng, n, list(STAGE_P.values()))]
    stage_iii = np.isin(stage, [AJCC_STAGES.index(s) for s in ("III", "IIIA", "IIIB", "IIIC", "IIID")])
    stage_iv = stage == AJCC_STAGES.index("IV")
    resect_iii = _pick(rng, n, (*P_UNRESECTABLE_III, 1 - sum(P_UNRESECTABLE_III)))  # 0 yes, 1 no, 2 blank
    recorded_iv = _chance(rng, n, P_UNRESECTABLE_RECORDED_IV)
    unresectable = np.where(stage_iii, np.where(resect_iii == 0, 1, np.where(resect_iii == 1, 0, BLANK)),
                            np.where(stage_iv & recorded_iv, 1, BLANK))
    braf = _chance(rng, n, np.asarray(BRAF_MUTANT_BY_SUBTYPE)[subtype])
    p.update({
        "melanoma_subtype": subtype,
        "ajcc_stage": stage,
        "disease_unresectable": unresectable.astype(np.int8),
        "liver_metastases": _yes(_chance(rng, n, np.where(uveal, P_LIVER_METS_UVEAL, P_LIVER_METS))),
        "gilbert_syndrome": _yes(_chance(rng, n, P_GILBERT)),
        "braf_v600": np.where(braf, MUTANT, WILDTYPE),
        "ecog": _pick(rng, n, ECOG_P).astype(np.int64),
        "life_expectancy_months": np.asarray(LIFE_EXPECTANCY[0])[_pick(rng, n, LIFE_EXPECTANCY[1])],
        "resectable_lesion_cm": np.round(np.maximum(_lognormal(rng, LESION_MEDIAN_CM, LESION_SIGMA, n), 0.3), 1),
    })


def _draw_workup(rng: np.random.Generator, p: Raw, n: int, as_of_day: int) -> None:
    """How far screening has got: 0 history only, 1 labs/serologies, 2 surgery/imaging, 3 NMA-LD.

    Recently consented patients have not reached the later stages yet; a share of the
    others stalled (withdrew, deteriorated, lost to follow-up) and stay incomplete.
    """
    since = as_of_day - p["consent_date"]
    by_time = np.searchsorted(np.asarray(STAGE_DAYS), since, side="right")
    stalled = _chance(rng, n, P_STALLED)
    stalled_at = _pick(rng, n, STALLED_AT_P)
    stage = np.where(stalled, np.minimum(by_time, stalled_at), by_time)
    scheduled = (stage >= 3) & _chance(rng, n, P_LD_SCHEDULED)
    gap = np.clip(np.round(_lognormal(rng, LD_GAP_MEDIAN_DAYS, LD_GAP_SIGMA, n)), 21, 120).astype(np.int64)
    p["workup"] = stage
    p["lymphodepletion_date"] = np.where(scheduled, p["consent_date"] + gap, NO_DATE)
    p["resectable_lesion_cm"] = np.where(stage >= 2, p["resectable_lesion_cm"], np.nan)


def _draw_history(rng: np.random.Generator, p: Raw, n: int) -> None:
    steroid_p = np.asarray(STEROID_DOSES[1])
    p.update({
        "organ_allograft": _pick(rng, n, ALLOGRAFT_P),
        "steroid_mg_per_day": np.asarray(STEROID_DOSES[0])[_pick(rng, n, steroid_p)],
        "hypersensitivity_to_regimen": _yes(_chance(rng, n, P_HYPERSENSITIVITY)),
        "active_medical_illness": _yes(_chance(rng, n, P_ACTIVE_ILLNESS)),
        "primary_immunodeficiency": _yes(_chance(rng, n, P_IMMUNODEFICIENCY)),
    })


def _draw_brain(rng: np.random.Generator, p: Raw, n: int, as_of_day: int) -> None:
    """Brain metastases; stability is dated back from NMA-LD (or consent when unscheduled)."""
    brain = _chance(rng, n, P_BRAIN_METS)
    untreated = _chance(rng, n, P_BRAIN_UNTREATED)
    symptomatic = _chance(rng, n, P_BRAIN_SYMPTOMATIC)
    recent = _chance(rng, n, P_BRAIN_RECENT)
    stable_days = np.clip(np.round(_lognormal(rng, 60.0, 0.6, n)), 14, 720).astype(np.int64)
    stable_days = np.where(recent, _uniform_days(rng, 1, 13, n), stable_days)
    ld = p["lymphodepletion_date"]
    anchor = np.where(ld == NO_DATE, p["consent_date"], ld)
    stable = np.minimum(anchor - stable_days, as_of_day)
    imaged = brain & ~untreated & (p["workup"] >= 2)
    p.update({
        "brain_metastases": _yes(brain),
        "brain_metastases_symptomatic": np.where(brain, symptomatic, BLANK).astype(np.int8),
        "brain_metastases_treated": np.where(brain, ~untreated, BLANK).astype(np.int8),
        "brain_metastases_stable_since": np.where(imaged, stable, NO_DATE),
    })


def _draw_screening_tests(rng: np.random.Generator, p: Raw, n: int, as_of_day: int) -> None:
    """Serologies, pregnancy and vaccine history: collected at stage 1 of the workup."""
    tested = p["workup"] >= 1
    hbv = _chance(rng, n, P_HBV)
    pcr = _pick(rng, n, (*HBV_PCR_P, 1 - sum(HBV_PCR_P)))
    female, age = p["sex"] == FEMALE, p["age"]
    fertile = female & (age < 50)
    unrecorded = female & (age >= 55) & _chance(rng, n, P_PREGNANCY_UNRECORDED_55_PLUS)
    pregnant = fertile & _chance(rng, n, P_PREGNANT_UNDER_50)
    feeding = fertile & _chance(rng, n, P_BREASTFEEDING_UNDER_50)
    vaccine = _chance(rng, n, P_LIVE_VACCINE)
    when = _pick(rng, n, VACCINE_TIMING_P)
    offset = np.select([when == 0, when == 1], [-_uniform_days(rng, 60, 1500, n), -_uniform_days(rng, 1, 59, n)],
                       _uniform_days(rng, 0, 30, n))
    vaccine_date = np.minimum(p["consent_date"] + offset, as_of_day)
    no_pregnancy_data = ~female | unrecorded | ~tested

    def tested_code(code: np.ndarray) -> np.ndarray:
        return np.where(tested, code, BLANK)

    p.update({
        "hiv_serology": tested_code(_chance(rng, n, P_HIV).astype(np.int64)),
        "syphilis_assay": tested_code(_chance(rng, n, P_SYPHILIS).astype(np.int64)),
        "hbv_serology": tested_code(hbv.astype(np.int64)),
        "hbv_pcr": np.where(tested & hbv & (pcr < 2), pcr, BLANK),  # pcr 2: result pending
        "live_vaccine_received": np.where(tested, vaccine, BLANK).astype(np.int8),
        "live_vaccine_date": np.where(tested & vaccine, vaccine_date, NO_DATE),
        "pregnant": np.where(no_pregnancy_data, BLANK, pregnant).astype(np.int8),
        "breastfeeding": np.where(no_pregnancy_data, BLANK, feeding).astype(np.int8),
    })


SPORADIC_COLUMNS = (
    "sex", "birth_date", "melanoma_subtype", "ajcc_stage", "liver_metastases", "gilbert_syndrome", "braf_v600",
    "ecog", "life_expectancy_months", "resectable_lesion_cm", "organ_allograft", "brain_metastases",
    "brain_metastases_symptomatic", "brain_metastases_treated", "brain_metastases_stable_since",
    "steroid_mg_per_day", "hypersensitivity_to_regimen", "active_medical_illness", "hiv_serology",
    "syphilis_assay", "hbv_serology", "primary_immunodeficiency", "live_vaccine_received", "live_vaccine_date",
    "pregnant", "breastfeeding",
)


def _apply_sporadic_blanks(rng: np.random.Generator, p: Raw, n: int) -> None:
    """Blank each recorded clinical field with a small probability (data-entry gaps)."""
    for column in SPORADIC_COLUMNS:
        gap = _chance(rng, n, SPORADIC_BY_COLUMN.get(column, SPORADIC))
        p[column] = _blank_where(np.asarray(p[column]), gap, _fill_for("patients", column))


# --- therapies ---------------------------------------------------------------------------

REGIMENS: list[str] = list(dict.fromkeys([
    *ADJUVANT, *FIRST_LINE_IO, *LATER_LINE, *BRAF_MEK, *PRIOR_TIL, "tebentafusp", "dabrafenib+trametinib",
]))


def _misspell(regimen: str) -> str:
    """A typical transcription error: the first agent's last letter typed twice."""
    first, _, rest = regimen.partition("+")
    return first + first[-1] + ("+" + rest if rest else "")


AGENT_VOCAB: list[str] = REGIMENS + [_misspell(r) for r in REGIMENS]
GROUP_NAMES: list[str] = list(DURATION)
REGIMEN_GROUP = np.array([GROUP_NAMES.index(GROUP.get(r, "io")) for r in REGIMENS])


def _plan_therapies(rng: np.random.Generator, p: Raw) -> Raw:
    """Per patient: adjuvant line and its recurrence, metastatic line count, BRAF/TIL positions."""
    n = len(p["consent_date"])
    uveal = p["melanoma_subtype"] == UVEAL
    braf_mutant = p["braf_v600"] == MUTANT
    adjuvant = _chance(rng, n, np.where(uveal, P_ADJUVANT_UVEAL, P_ADJUVANT))
    recurrence = _pick(rng, n, ADJ_RECURRENCE_P)
    p_none = np.where(~adjuvant, P_NO_MET_LINE["none"],
                      np.where(recurrence == LATE, P_NO_MET_LINE["late"], P_NO_MET_LINE["qualifying"]))
    n_met = np.where(_chance(rng, n, p_none), 0, 1 + _pick(rng, n, MET_LINES_P))
    braf_at = _pick(rng, n, BRAF_LINE_P)  # 0 first, 1 second metastatic line, 2 never
    braf_first_single = _chance(rng, n, P_BRAF_ONLY_LINE)
    braf_line = np.where(n_met >= 2, np.where(braf_at < 2, braf_at, BLANK),
                         np.where((n_met == 1) & braf_first_single, 0, BLANK))
    braf_line = np.where(braf_mutant, braf_line, BLANK)
    til = (n_met >= 2) & _chance(rng, n, P_PRIOR_TIL)
    return {"adjuvant": adjuvant, "recurrence": recurrence, "n_met": n_met, "braf_line": braf_line,
            "til_line": np.where(til, n_met - 1, BLANK), "n_lines": adjuvant.astype(np.int64) + n_met,
            "uveal": uveal, "braf_mutant": braf_mutant}


def _draw_therapies(rng: np.random.Generator, p: Raw, plan: Raw) -> Raw:
    """Lay out every line backwards from consent: last line ends shortly before consent."""
    n_lines = plan["n_lines"]
    pos = np.repeat(np.arange(len(n_lines)), n_lines)
    rows = len(pos)
    first_row = np.cumsum(n_lines) - n_lines
    within = np.arange(rows) - first_row[pos]
    is_adj = plan["adjuvant"][pos] & (within == 0)
    met_index = within - plan["adjuvant"][pos]
    is_last = within == n_lines[pos] - 1
    agents = _regimens(rng, plan, pos, is_adj, met_index)
    group = np.where(is_adj, GROUP_NAMES.index("adjuvant"), REGIMEN_GROUP[agents])
    stop, response = _stop_and_response(rng, rows, is_adj, is_last, plan["recurrence"][pos], group)
    duration = _durations(rng, group, plan["recurrence"][pos], is_adj, stop)
    rec_offset = _recurrence_offsets(rng, plan["recurrence"][pos], rows)
    gap_after = np.where(is_last, np.clip(np.round(_lognormal(rng, 35.0, 0.6, rows)), 5, 200),
                         _uniform_days(rng, 7, 60, rows)).astype(np.int64)
    gap_after = np.where(is_adj, rec_offset + _uniform_days(rng, 14, 75, rows), gap_after)
    gap_after = np.where(stop == ONGOING, 0, gap_after)  # an ongoing line runs up to consent
    span = duration + gap_after
    cumulative = np.cumsum(span)
    after = cumulative[first_row + n_lines - 1][pos] - cumulative if rows else cumulative
    end = p["consent_date"][pos] - after - gap_after
    start = end - duration
    misspelled = _chance(rng, rows, P_MISSPELLED)
    agents = np.where(misspelled, agents + len(REGIMENS), agents)
    setting = np.where(is_adj, np.where(_chance(rng, rows, P_NEOADJUVANT), NEOADJUVANT_SETTING, ADJUVANT_SETTING),
                       METASTATIC_SETTING)
    return {
        "pos": pos,
        "line": within + 1,
        "setting": _blank_where(setting, _chance(rng, rows, P_BLANK_SETTING)),
        "agents": agents,
        "start_date": start,
        "end_date": np.where(stop == ONGOING, NO_DATE, end),
        "best_response": _blank_where(response, _chance(rng, rows, P_BLANK_RESPONSE)),
        "stop_reason": _blank_where(stop, _chance(rng, rows, P_BLANK_STOP) & (stop != ONGOING)),
        "recurrence_date": np.where(is_adj & ~_chance(rng, rows, P_BLANK_RECURRENCE), end + rec_offset, NO_DATE),
    }


def _regimens(rng: np.random.Generator, plan: Raw, pos: np.ndarray, is_adj: np.ndarray,
              met_index: np.ndarray) -> np.ndarray:
    """Agents of each line, as indices into REGIMENS, by line position and patient plan."""
    rows = len(pos)
    braf_line, til_line = plan["braf_line"][pos], plan["til_line"][pos]
    io_rank = met_index - ((braf_line != BLANK) & (braf_line < met_index))
    first_io = _pick_from(rng, rows, FIRST_LINE_IO, REGIMENS)
    later = _pick_from(rng, rows, LATER_LINE, REGIMENS)
    targeted = _pick_from(rng, rows, BRAF_MEK, REGIMENS)
    adjuvant = _pick_from(rng, rows, ADJUVANT, REGIMENS)
    adjuvant_braf = _chance(rng, rows, P_ADJUVANT_BRAF_MEK) & plan["braf_mutant"][pos]
    adjuvant = np.where(adjuvant_braf, REGIMENS.index("dabrafenib+trametinib"), adjuvant)
    cell = _pick_from(rng, rows, PRIOR_TIL, REGIMENS)
    tebentafusp = plan["uveal"][pos] & _chance(rng, rows, P_TEBENTAFUSP_UVEAL)
    first_io = np.where(tebentafusp, REGIMENS.index("tebentafusp"), first_io)
    return np.select(
        [is_adj, met_index == til_line, met_index == braf_line, io_rank == 0],
        [adjuvant, cell, targeted, first_io],
        later,
    )


def _stop_and_response(rng: np.random.Generator, rows: int, is_adj: np.ndarray, is_last: np.ndarray,
                       recurrence: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stop reason and best response codes (schema order) of each line."""
    stop = np.where(is_last, _pick(rng, rows, STOP_LAST_P), _pick(rng, rows, STOP_EARLIER_P))
    cell = group == GROUP_NAMES.index("cell")
    stop = np.where(cell & (stop == ONGOING), PROGRESSION, stop)  # a TIL infusion is never ongoing
    response = np.where(stop == ONGOING, _pick(rng, rows, RESPONSE_ONGOING_P), _pick(rng, rows, RESPONSE_P))
    # Adjuvant therapy stops at recurrence, or after a year (completed), or for toxicity.
    completed = _chance(rng, rows, P_ADJUVANT_COMPLETED)
    adj_stop = np.where(recurrence == ON_THERAPY, PROGRESSION, np.where(completed, COMPLETED, TOXICITY))
    stop = np.where(is_adj, adj_stop, stop)
    # No measurable disease in the adjuvant setting: RECIST response is "ne" or left blank.
    adj_response = np.where(_chance(rng, rows, P_ADJUVANT_RESPONSE_NE), NOT_EVALUABLE, BLANK)
    response = np.where(is_adj, adj_response, response)
    return stop, response


def _durations(rng: np.random.Generator, group: np.ndarray, recurrence: np.ndarray, is_adj: np.ndarray,
               stop: np.ndarray) -> np.ndarray:
    """Days on each line (at least 1): lognormal by regimen group; adjuvant by how it ended."""
    median = np.array([DURATION[g][0] for g in GROUP_NAMES])
    sigma = np.array([DURATION[g][1] for g in GROUP_NAMES])
    days = np.round(_lognormal(rng, median[group], sigma[group], len(group)))
    adjuvant = np.select([recurrence == ON_THERAPY, stop == COMPLETED], [_uniform_days(rng, 60, 330, len(group)),
                                                         _uniform_days(rng, 335, 365, len(group))],
                         _uniform_days(rng, 30, 300, len(group)))
    return np.maximum(np.where(is_adj, adjuvant, days), 1).astype(np.int64)


def _recurrence_offsets(rng: np.random.Generator, recurrence: np.ndarray, rows: int) -> np.ndarray:
    """Days from the end of adjuvant therapy to recurrence (negative: recurred on therapy)."""
    return np.select([recurrence == ON_THERAPY, recurrence == WITHIN_WINDOW],
                     [-_uniform_days(rng, 0, 10, rows), _uniform_days(rng, 14, 175, rows)],
                     _uniform_days(rng, 200, 1000, rows))


def _alternative_therapy(rng: np.random.Generator, p: Raw, plan: Raw) -> np.ndarray:
    """I8: an alternative exists mostly for BRAF-mutant patients never given a BRAF inhibitor."""
    n = len(plan["n_met"])
    untreated_braf = plan["braf_mutant"] & (plan["braf_line"] == BLANK)
    alternative = _chance(rng, n, np.where(untreated_braf, P_ALTERNATIVE_BRAF_UNTREATED, P_ALTERNATIVE))
    return _blank_where(_yes(alternative), _chance(rng, n, SPORADIC))


# --- labs --------------------------------------------------------------------------------

LAB_KINDS = ("history", "repeat", "screening", "same_day", "post_ld")
"""Result slots per patient and test, in chronological order (so no sort is needed)."""


def _draw_labs(rng: np.random.Generator, p: Raw, as_of_day: int) -> tuple[Raw, np.ndarray]:
    """Up to five results per patient and test; returns the raw table and who has low hemoglobin.

    Slots: an old result (outside the 28-day window), an earlier repeat, the screening
    result, a rare conflicting same-day result, and a post-NMA-LD nadir result. Slots are
    chronological, so the rows come out ordered by patient, test and date without a sort.
    """
    n, t = len(p["consent_date"]), len(LAB_TESTS)
    consent = np.repeat(p["consent_date"], t)
    ld = np.repeat(p["lymphodepletion_date"], t)
    screening = np.repeat(p["workup"] >= 1, t) & ~_chance(rng, n * t, P_LAB_MISSING)
    screening_day = consent + _uniform_days(rng, -27, 7, n * t)
    dates = np.stack([
        consent - _uniform_days(rng, 60, 365, n * t),
        screening_day - _uniform_days(rng, 1, 20, n * t),
        screening_day,
        screening_day,
        ld + _uniform_days(rng, 1, 7, n * t),
    ], axis=1)
    present = np.stack([
        _chance(rng, n * t, P_LAB_HISTORY),
        screening & _chance(rng, n * t, P_LAB_REPEAT),
        screening,
        screening & _chance(rng, n * t, P_LAB_SAME_DAY),
        (ld != NO_DATE) & _chance(rng, n * t, P_LAB_POST_LD),
    ], axis=1)
    present &= dates <= as_of_day
    baseline, hemoglobin_low = _lab_baselines(rng, p)
    flat = np.flatnonzero(present.ravel())
    slot, kind = flat // len(LAB_KINDS), flat % len(LAB_KINDS)
    test = slot % t
    value = _lab_values(rng, baseline.ravel()[slot], test, kind)
    value, unit, uln = _lab_units(rng, test, value)
    labs = {"pos": slot // t, "test": test, "value": value, "unit": unit, "uln": uln,
            "collected_date": dates.ravel()[flat]}
    return labs, hemoglobin_low


def _lab_baselines(rng: np.random.Generator, p: Raw) -> tuple[np.ndarray, np.ndarray]:
    """Per patient x test baseline in the canonical unit, and the low-hemoglobin patients."""
    n = len(p["consent_date"])
    columns = []
    for test in LAB_TESTS:
        model = LAB_MODELS[test]
        normal = _lognormal(rng, model.median, model.sigma, n)
        abnormal = model.abnormal[0] + (model.abnormal[1] - model.abnormal[0]) * rng.random(n)
        columns.append(np.where(_chance(rng, n, model.p_abnormal), abnormal, normal))
    baseline = np.stack(columns, axis=1)
    liver = np.isin(LAB_TESTS, ["ast", "alt"])
    baseline[:, liver] *= np.where(p["liver_metastases"] == 1, LIVER_METS_ENZYME_FACTOR, 1.0)[:, None]
    bili = LAB_TESTS.index("total_bilirubin")
    gilbert = GILBERT_BILIRUBIN[0] + (GILBERT_BILIRUBIN[1] - GILBERT_BILIRUBIN[0]) * rng.random(n)
    baseline[:, bili] = np.where(p["gilbert_syndrome"] == 1, gilbert, baseline[:, bili])
    hemoglobin = LAB_TESTS.index("hemoglobin")
    return baseline, baseline[:, hemoglobin] < 9.0


KIND_NOISE = np.array([LAB_HISTORY_NOISE, LAB_NOISE, LAB_NOISE, 2 * LAB_NOISE, LAB_NOISE])


def _lab_values(rng: np.random.Generator, baseline: np.ndarray, test: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Each result: its baseline with noise; post-NMA-LD blood counts at their nadir instead."""
    value = baseline * np.exp(KIND_NOISE[kind] * rng.standard_normal(len(baseline)))
    nadir = np.array([LAB_MODELS[name].nadir or (np.nan, np.nan) for name in LAB_TESTS])
    low, high = nadir[test, 0], nadir[test, 1]
    at_nadir = (kind == LAB_KINDS.index("post_ld")) & ~np.isnan(low)
    value = np.where(at_nadir, low + (high - low) * rng.random(len(baseline)), value)
    bounds = np.array([LAB_MODELS[name].plausible for name in LAB_TESTS])
    return np.clip(value, bounds[test, 0], bounds[test, 1])


def _round_to(value: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """Round each value to its own number of decimals (negative: to tens, thousands...)."""
    scale = 10.0 ** np.abs(decimals)
    return np.where(decimals >= 0, np.rint(value * scale) / scale, np.rint(value / scale) * scale)


def _lab_units(rng: np.random.Generator, test: np.ndarray,
               value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Report each row in its lab's unit convention, rounded as labs print it.

    AST/ALT values are multiples of ULN until here: they become U/L with the lab's ULN.
    """
    units = TABLES["labs"].column("unit").codes
    models = [LAB_MODELS[name] for name in LAB_TESTS]
    canonical_unit = np.array([units.index(CANONICAL_UNIT[name]) for name in LAB_TESTS])
    alt_unit = np.array([units.index(m.alt_unit) if m.alt_unit else -1 for m in models])
    p_alt = np.array([m.p_alt_unit for m in models])
    factor = np.array([m.alt_factor for m in models])
    decimals = np.array([m.decimals for m in models])
    alt_decimals = np.array([m.alt_decimals for m in models])
    other = rng.random(len(test)) < p_alt[test]
    reported = np.where(other, _round_to(value * factor[test], alt_decimals[test]),
                        _round_to(value, decimals[test]))
    unit = np.where(other, alt_unit[test], canonical_unit[test])
    uln_table = np.full((len(LAB_TESTS), 4), np.nan)
    n_choices = np.ones(len(LAB_TESTS), dtype=np.int64)
    for name, choices in ULN_CHOICES.items():
        uln_table[LAB_TESTS.index(name), : len(choices)] = choices
        n_choices[LAB_TESTS.index(name)] = len(choices)
    pick = np.minimum((rng.random(len(test)) * n_choices[test]).astype(np.int64), n_choices[test] - 1)
    uln = uln_table[test, pick]
    enzyme = ~np.isnan(uln)
    reported = np.where(enzyme, np.maximum(np.rint(value * np.nan_to_num(uln)), 1.0), reported)
    return np.maximum(reported, 0.0) + 0.0, unit, uln


# --- toxicities --------------------------------------------------------------------------

TOX_CATEGORIES = ("endocrine", "ocular", "vitiligo", "other")
TERM_VOCAB: list[str] = [term for terms in TOX_TERMS.values() for term in terms]


def _draw_toxicities(rng: np.random.Generator, n_lines: np.ndarray) -> Raw:
    """Immune-related adverse events of patients who had prior systemic therapy."""
    n = len(n_lines)
    count = np.where(n_lines > 0, np.minimum(rng.poisson(TOX_PER_PATIENT, n), TOX_MAX), 0)
    pos = np.repeat(np.arange(n), count)
    rows = len(pos)
    category = _pick(rng, rows, TOX_CATEGORY_P)
    term = np.zeros(rows, dtype=np.int64)
    grade = np.zeros(rows, dtype=np.int64)
    term_draw, grade_draw = rng.random(rows), rng.random(rows)
    for c, name in enumerate(TOX_CATEGORIES):
        hit = category == c
        weights = np.asarray(list(TOX_TERMS[name].values()))
        first = TERM_VOCAB.index(next(iter(TOX_TERMS[name])))
        term[hit] = first + _searchsorted_draw(weights, term_draw[hit])
        grade[hit] = 1 + _searchsorted_draw(np.asarray(TOX_GRADE_P[c]), grade_draw[hit])
    ongoing = _chance(rng, rows, np.asarray(TOX_ONGOING_P)[category])
    return {
        "pos": pos,
        "term": _blank_where(term, _chance(rng, rows, P_TOX_BLANK["term"])),
        "category": _blank_where(category, _chance(rng, rows, P_TOX_BLANK["category"])),
        "grade": _blank_where(grade, _chance(rng, rows, P_TOX_BLANK["grade"])),
        "ongoing": _blank_where(_yes(ongoing), _chance(rng, rows, P_TOX_BLANK["ongoing"])),
    }


def _searchsorted_draw(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Map uniform draws ``u`` to category indices with the given weights."""
    cdf = np.cumsum(weights) / weights.sum()
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(weights) - 1)


# --- overrides ---------------------------------------------------------------------------

APPROVER_VOCAB: list[str] = list(APPROVERS)
REASON_VOCAB: list[str] = [rule.reason for rule in OVERRIDE_RULES]


def _draw_overrides(rng: np.random.Generator, p: Raw, plan: Raw, hemoglobin_low: np.ndarray,
                    as_of_day: int) -> Raw:
    """Waivers requested where a criterion would otherwise likely fail (one rule at a time)."""
    n = len(p["consent_date"])
    lesion = p["resectable_lesion_cm"]
    candidates = {
        "I2": plan["n_met"] == 5,
        "I4": (lesion >= 1.2) & (lesion < 1.5),
        "I6": (p["ecog"] == 2) & (p["life_expectancy_months"] >= 3),
        "I7": hemoglobin_low,
        "E6": (p["steroid_mg_per_day"] > 10) & (p["steroid_mg_per_day"] <= 20),
    }
    positions, rules = [], []
    for r, rule in enumerate(OVERRIDE_RULES):
        chosen = np.flatnonzero(candidates[rule.criterion_id] & _chance(rng, n, rule.share))
        positions.append(chosen)
        rules.append(np.full(len(chosen), r))
    pos, rule_index = np.concatenate(positions), np.concatenate(rules)
    criterion = np.array([_criterion_code(r.criterion_id) for r in OVERRIDE_RULES], dtype=np.int64)[rule_index]
    order = np.lexsort((criterion, pos))
    pos, rule_index, criterion = pos[order], rule_index[order], criterion[order]
    m = len(pos)
    approved = np.minimum(p["consent_date"][pos] + _uniform_days(rng, 3, 28, m), as_of_day)
    return {"pos": pos, "criterion_id": criterion, "approved_by": _pick(rng, m, list(APPROVERS.values())),
            "approved_date": approved, "reason": rule_index}


def _criterion_code(criterion_id: str) -> int:
    return TABLES["overrides"].column("criterion_id").codes.index(criterion_id)


# --- typed frames --------------------------------------------------------------------------

TEXT_VOCAB: dict[tuple[str, str], list[str]] = {
    ("therapies", "agents"): AGENT_VOCAB,
    ("toxicities", "term"): TERM_VOCAB,
    ("overrides", "approved_by"): APPROVER_VOCAB,
    ("overrides", "reason"): REASON_VOCAB,
}


def _patient_ids(n: int) -> pd.api.extensions.ExtensionArray:
    """``EAP-000001`` ... in consent order (wider when there are a million or more)."""
    width = max(6, len(str(n)))
    if n == 0:  # np.strings.zfill cannot reduce over an empty array
        return pd.array(np.array([], dtype=f"<U{width + 4}"), dtype=STR)
    numbers = np.arange(1, n + 1).astype(f"<U{width}")
    return pd.array(np.strings.add("EAP-", np.strings.zfill(numbers, width)), dtype=STR)


def _typed(table: str, raw: Raw, ids: pd.api.extensions.ExtensionArray) -> pd.DataFrame:
    """Turn raw arrays into a typed frame whose dtypes are exactly :func:`schema.dtype_for`'s."""
    spec = TABLES[table]
    columns = {}
    for column in spec.columns:
        if column.name == "patient_id":
            pos = raw.get("pos")
            values: object = ids if pos is None else ids.take(pos)
        else:
            values = _typed_column(table, column.name, column.kind, column.codes, raw[column.name])
        columns[column.name] = pd.Series(values, dtype=dtype_for(column), copy=False)
    length = len(ids) if "pos" not in raw else len(raw["pos"])
    frame = pd.DataFrame(columns, index=pd.RangeIndex(length))
    return frame


def _typed_column(table: str, name: str, kind: str, codes: tuple[str, ...], values: object) -> object:
    array = np.asarray(values)
    if kind == "code":
        return pd.Categorical.from_codes(array.astype(np.int64), dtype=pd.CategoricalDtype(list(codes)))
    if kind == "yesno":
        return pd.arrays.BooleanArray(array == 1, array == BLANK)
    if kind == "int":
        return pd.arrays.IntegerArray(array.astype(np.int64), array == BLANK)
    if kind == "number":
        return array.astype(np.float64)
    if kind == "date":
        return array.astype(np.int64).astype("datetime64[D]").astype("datetime64[s]")
    vocab = pd.array(TEXT_VOCAB[(table, name)], dtype=STR)
    return vocab.take(array.astype(np.int64), allow_fill=True)


if __name__ == "__main__":  # python -m lifileucel_analysis.synth: rewrite the bundled cohorts
    for path in regenerate_bundled():
        print(f"wrote {path}")
