"""The synthetic cohort's model: code positions and every distribution the draws use.

Probabilities of a code column follow the order of the schema's codes. Each number's
source or assumption is tabulated in ``docs/synthetic-data.md``; changing one changes
the bundled cohorts (``tests/test_synth.py`` then fails until they are regenerated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract.schema import TABLES


def code_of(table: str, column: str, value: str) -> int:
    """Position of ``value`` among a code column's codes (raw arrays hold these positions)."""
    return TABLES[table].column(column).codes.index(value)


FEMALE, MALE = code_of("patients", "sex", "female"), code_of("patients", "sex", "male")
MUTANT, WILDTYPE = code_of("patients", "braf_v600", "mutant"), code_of("patients", "braf_v600", "wildtype")
UVEAL = code_of("patients", "melanoma_subtype", "uveal")
ADJUVANT_SETTING, NEOADJUVANT_SETTING, METASTATIC_SETTING = (
    code_of("therapies", "setting", s) for s in ("adjuvant", "neoadjuvant", "metastatic"))
PROGRESSION, TOXICITY, COMPLETED, ONGOING = (
    code_of("therapies", "stop_reason", s) for s in ("progression", "toxicity", "completed", "ongoing"))
NOT_EVALUABLE = code_of("therapies", "best_response", "ne")
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
    # Each reason true of every patient its rule picks (five metastatic lines; a lesion of 1.2 to 1.5 cm):
    # a reason the data contradicts, such as "the last line was chemotherapy", misleads a monitor (audit 34B).
    OverrideRule("I2", 0.35, "Five prior metastatic lines: sponsor agreed to waive the 1-4 line limit"),
    OverrideRule("I4", 0.25, "Lesion under 1.5 cm: surgeon expects enough tumor tissue for TIL manufacturing"),
    OverrideRule("I6", 0.30, "ECOG 2 from an orthopedic limitation, not from melanoma"),
    OverrideRule("I7", 0.25, "Hemoglobin to be corrected by transfusion before NMA-LD"),
    OverrideRule("E6", 0.40, "Prednisone taper to <= 10 mg/day completed before NMA-LD"),
)
