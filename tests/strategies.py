"""Hypothesis strategies for random, typed screening datasets that hit the boundaries often.

Every clinical (non-required) column is blank with a fair probability, and the values are
drawn from short lists that sit on and around each limit of ``lifileucel_analysis/data/criteria_defaults.yaml``:
ages 17/18 around the birthday, ECOG 0-5, lesions 1.4/1.5/1.6 cm, labs at their limits in
both unit conventions and collected on days 27/28/29 before consent, brain-metastasis
stability 13/14/15 days before NMA-LD, live vaccines 27/28/29 days before NMA-LD, adjuvant
recurrences at 6 calendar months after the end of therapy and one day either side.

Dates are anchored on days that make calendar arithmetic interesting (month ends, 29
February). Calendar months here use pandas ``DateOffset`` so the generator does not share
code with the reference evaluator.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import pandas as pd
from hypothesis import strategies as st

from lifileucel_analysis.contract.schema import AJCC_STAGES, CRITERION_IDS, LAB_TESTS, SITE_IDS, UNIT_FACTORS, coerce

T = TypeVar("T")

ANCHORS = [dt.date(2024, 2, 29), dt.date(2025, 1, 31), dt.date(2025, 8, 31), dt.date(2025, 3, 15),
           dt.date(2024, 12, 31), dt.date(2025, 3, 1), dt.date(2022, 2, 28), dt.date(2022, 3, 1)]
"""Consent dates (the anchor of every other date of a patient): month ends, 29 February,
and 28 February / 1 March 2022 (18 years after 29 February 2004)."""

PD1 = ["pembrolizumab", "nivolumab", "cemiplimab", "atezolizumab", "durvalumab", "retifanlimab",
       "Keytruda", "Opdivo", "cemiplimab-rwlc", "Pembrolizumab 200 mg IV", "Opdualag"]
OTHER_KNOWN = ["ipilimumab", "relatlimab", "dabrafenib", "trametinib", "vemurafenib", "encorafenib",
               "binimetinib", "dacarbazine", "temozolomide", "aldesleukin", "talimogene-laherparepvec",
               "talimogene laherparepvec", "Yervoy", "Tafinlar", "DTIC",
               "imatinib", "tebentafusp"]
ACT = ["lifileucel", "til", "car-t", "tisagenlecleucel", "tumor-infiltrating lymphocytes",
       "lisocabtagene maraleucel", "Kymriah", "afamitresgene autoleucel", "Amtagvi"]
UNKNOWN_AGENTS = ["investigational-x", "pembrolizumabb", "abc-123"]
AGENT_POOLS = {"pd1": PD1, "other": OTHER_KNOWN, "act": ACT, "unknown": UNKNOWN_AGENTS}

LAB_VALUES: dict[tuple[str, str], list[float]] = {
    ("anc", "10^9/L"): [0.9, 0.99, 1.0, 1.01, 1.5, 3.2],
    ("anc", "/uL"): [900.0, 999.0, 1000.0, 1001.0, 1500.0],
    ("platelets", "10^9/L"): [99.0, 99.9, 100.0, 100.1, 250.0],
    ("platelets", "/uL"): [99000.0, 99999.0, 100000.0, 100001.0, 250000.0],
    ("hemoglobin", "g/dL"): [8.9, 8.99, 9.0, 9.1, 13.5],
    ("hemoglobin", "g/L"): [89.0, 89.9, 90.0, 90.1, 135.0],
    ("total_bilirubin", "mg/dL"): [0.6, 1.9, 2.0, 2.1, 2.9, 3.0, 3.1],
    ("total_bilirubin", "umol/L"): [10.0, 32.5, 34.2, 35.9, 49.6, 51.3, 53.0],
    ("creatinine_clearance", "mL/min"): [39.0, 39.9, 40.0, 40.1, 80.0],
}
GOOD_LABS = [("anc", 2.5, "10^9/L", None), ("platelets", 220.0, "10^9/L", None),
             ("hemoglobin", 12.5, "g/dL", None), ("ast", 30.0, "U/L", 40.0), ("alt", 28.0, "U/L", 40.0),
             ("total_bilirubin", 0.7, "mg/dL", None), ("creatinine_clearance", 85.0, "mL/min", None)]
ULN_VALUES = [40.0, 35.0, 33.0, 33.3, 12.1]
ULN_MULTIPLES = [0.5, 2.9, 3.0, 3.1, 4.9, 5.0, 5.1, 6.0]


def maybe(strategy: st.SearchStrategy[T], blank_weight: int = 1, value_weight: int = 3) -> st.SearchStrategy[T | None]:
    """``strategy`` or a blank (``None``), blank with probability ``blank / (blank + value)``."""
    total = blank_weight + value_weight
    return st.tuples(st.integers(0, total - 1), strategy).map(lambda pair: None if pair[0] < blank_weight else pair[1])


def code(values: list[str] | tuple[str, ...]) -> st.SearchStrategy[str | None]:
    """A code cell, blank one time in four."""
    return maybe(st.sampled_from(list(values)))


def one_of_values(values: list[Any]) -> st.SearchStrategy[Any]:
    """A value of ``values``, blank one time in four."""
    return maybe(st.sampled_from(values))


# Strategies are built once, here: building them inside draws is slow.
YES_NO = code(["yes", "no"])
SEX = code(["female", "male"])
SUBTYPE = code(["cutaneous", "acral", "mucosal", "uveal", "unknown_primary"])
STAGE = code(AJCC_STAGES)
BRAF_STATUS = code(["mutant", "wildtype"])
ALLOGRAFT = code(["none", "kidney", "other"])
SEROLOGY = code(["negative", "positive"])
PCR = code(["undetectable", "detectable"])
ECOG = maybe(st.integers(0, 5))
LIFE_EXPECTANCY = one_of_values([2.0, 2.9, 3.0, 3.1, 6.0, 24.0])
LESION = one_of_values([0.5, 1.4, 1.49, 1.5, 1.51, 1.6, 3.0])
STEROID = one_of_values([0.0, 5.0, 9.9, 10.0, 10.5, 11.0, 20.0])
BLANK_1_IN_6 = st.integers(0, 5)
BLANK_1_IN_8 = st.integers(0, 7)
BLANK_1_IN_3 = st.integers(0, 2)
BLANK_1_IN_4 = st.integers(0, 3)
NEAR_KEEP = st.integers(0, 24)
ANCHOR = st.sampled_from(ANCHORS)
NMA_LD_DAYS = st.sampled_from([0, 1, 13, 14, 15, 27, 28, 29, 40, -3])  # -3: before consent (a finding)
STABLE_DAYS_BEFORE_LD = st.sampled_from([-1, 0, 12, 13, 14, 15, 60])
VACCINE = st.sampled_from([("ld", d) for d in (-1, 0, 1, 27, 28, 29, 90)]
                          + [("consent", d) for d in (27, 28, 29, 30)])
AGE_YEARS = st.sampled_from([18, 18, 18, 17, 19, 45, 80, 0, -1])  # 0 and -1: born on or after consent
AGE_DAYS = st.sampled_from([-1, 0, 0, 1, 200])
SITE = st.sampled_from(SITE_IDS)
BOOL = st.booleans()

LINES = st.lists(st.integers(1, 8), min_size=0, max_size=6, unique=True)
LATER_LINES = st.lists(st.integers(2, 8), min_size=0, max_size=2, unique=True)
START_DAYS = st.integers(60, 900)
DURATION_DAYS = st.integers(30, 365)
RECURRENCE_KIND = st.sampled_from(["6m-1d", "6m", "6m+1d", "before-end", "at-end", "2m", "12m", "before-start", None,
                                   None, None])
SETTING = maybe(st.sampled_from(["adjuvant", "neoadjuvant", "metastatic", "metastatic"]), 1, 6)
POOLS = st.lists(st.sampled_from(["pd1", "pd1", "other", "other", "act", "unknown"]), min_size=1, max_size=3)
AGENT_INDEX = st.integers(0, 100)
SEPARATOR = st.sampled_from(["+", "+", "+", " + "])
RESPONSE = code(["cr", "pr", "sd", "pd", "ne"])
STOP = code(["progression", "toxicity", "completed", "ongoing", "other"])

N_LABS = st.integers(0, 10)
N_LABS_NEAR = st.integers(0, 3)
LAB_TEST = st.sampled_from(LAB_TESTS)
UNIT_INDEX = st.integers(0, 1)
VALUE_INDEX = st.integers(0, 6)
ULN = st.sampled_from(ULN_VALUES)
ULN_MULTIPLE = st.sampled_from(ULN_MULTIPLES)
LAB_DAY = st.sampled_from([("consent", d) for d in (-30, -29, -28, -27, -5, 0, 3)]
                          + [("ld", d) for d in (-1, 0, 1)])

N_TOXICITIES = st.integers(0, 3)
TERM = one_of_values(["colitis", "hypothyroidism", "uveitis", "vitiligo", "hepatitis"])
CATEGORY = code(["endocrine", "ocular", "vitiligo", "other", "other"])
GRADE = maybe(st.integers(1, 5))
N_OVERRIDES = st.sampled_from([0, 0, 0, 1, 2])
OVERRIDDEN = {n: st.lists(st.sampled_from(CRITERION_IDS), min_size=n, max_size=n, unique=True) for n in (0, 1, 2)}
PREFIX = st.sampled_from(["P", "hh-", "MSK.", "eap_"])


def shift(day: dt.date, days: int) -> dt.date:
    """``day`` moved by ``days`` days."""
    return day + dt.timedelta(days=days)


def plus_months(day: dt.date, months: int) -> dt.date:
    """Calendar months via pandas ``DateOffset`` (clipped to the month end)."""
    return (pd.Timestamp(day) + pd.DateOffset(months=months)).date()


def plus_years(day: dt.date, years: int) -> dt.date:
    """Calendar years via pandas ``DateOffset``."""
    return (pd.Timestamp(day) + pd.DateOffset(years=years)).date()


def iso(day: dt.date | None) -> str | None:
    """ISO text of a date (``None`` stays blank)."""
    return None if day is None else day.isoformat()


def blank_sometimes(draw: st.DrawFn, value: T, odds: st.SearchStrategy[int]) -> T | None:
    """``value``, or blank when ``odds`` draws 0."""
    return None if draw(odds) == 0 else value


def chooser(draw: st.DrawFn, near: bool) -> Any:
    """Return ``pick(good, strategy)``: mostly ``good`` for a near-eligible patient, else a draw."""
    def pick(good: Any, strategy: st.SearchStrategy[Any]) -> Any:
        if near and draw(NEAR_KEEP) != 0:
            return good
        return draw(strategy)

    return pick


# ----------------------------------------------------------------------------------------
# patients
# ----------------------------------------------------------------------------------------


def birth_date(draw: st.DrawFn, consent: dt.date) -> dt.date:
    """A birth date making the patient 17 or 18 around the birthday, or clearly adult.

    Sometimes born on 29 February of a leap year (then 18 years later is 28 February or 1
    March of a common year).
    """
    years = draw(AGE_YEARS)
    leap = consent.year - 18
    if years == 18 and draw(BOOL) and leap % 4 == 0:
        return dt.date(leap, 2, 29)
    return shift(plus_years(consent, -years), draw(AGE_DAYS))


@st.composite
def patient_rows(draw: st.DrawFn, patient_id: str, near: bool = False) -> tuple[dict[str, Any], dt.date, dt.date]:
    """One patients row; also returns the hidden consent and NMA-LD dates used as anchors.

    A ``near``-eligible patient takes an eligible value in each field with probability 24/25,
    so whole-patient verdicts ``eligible`` and ``pending`` come up too.
    """
    pick = chooser(draw, near)
    consent = draw(ANCHOR)
    nma_ld = shift(consent, draw(NMA_LD_DAYS))
    brain = pick("no", YES_NO)
    where, days = draw(VACCINE)
    vaccine_date = shift(nma_ld if where == "ld" else consent, -days)
    birth = birth_date(draw, consent)
    row = {
        "patient_id": patient_id,
        "site_id": draw(SITE),
        "sex": pick(draw(SEX) or "female", SEX),
        "birth_date": iso(pick(dt.date(1970, 6, 1), st.just(blank_sometimes(draw, birth, BLANK_1_IN_4)))),
        "consent_date": iso(pick(consent, st.just(blank_sometimes(draw, consent, BLANK_1_IN_6)))),
        "lymphodepletion_date": iso(pick(nma_ld, st.just(blank_sometimes(draw, nma_ld, BLANK_1_IN_3)))),
        "melanoma_subtype": pick("cutaneous", SUBTYPE),
        "ajcc_stage": pick("IV", STAGE),
        "disease_unresectable": pick("yes", YES_NO),
        "liver_metastases": pick("no", YES_NO),
        "gilbert_syndrome": pick("no", YES_NO),
        "braf_v600": pick("wildtype", BRAF_STATUS),
        "ecog": pick(1, ECOG),
        "life_expectancy_months": pick(6.0, LIFE_EXPECTANCY),
        "alternative_therapy_available": pick("no", YES_NO),
        "resectable_lesion_cm": pick(2.0, LESION),
        "organ_allograft": pick("none", ALLOGRAFT),
        "brain_metastases": brain,
        "brain_metastases_symptomatic": draw(YES_NO),
        "brain_metastases_treated": draw(YES_NO),
        "brain_metastases_stable_since": iso(blank_sometimes(draw, shift(nma_ld, -draw(STABLE_DAYS_BEFORE_LD)),
                                                             BLANK_1_IN_4)),
        "steroid_mg_per_day": pick(0.0, STEROID),
        "hypersensitivity_to_regimen": pick("no", YES_NO),
        "active_medical_illness": pick("no", YES_NO),
        "hiv_serology": pick("negative", SEROLOGY),
        "syphilis_assay": pick("negative", SEROLOGY),
        "hbv_serology": pick("negative", SEROLOGY),
        "hbv_pcr": draw(PCR),
        "primary_immunodeficiency": pick("no", YES_NO),
        "live_vaccine_received": pick("no", YES_NO),
        "live_vaccine_date": iso(blank_sometimes(draw, vaccine_date, BLANK_1_IN_4)),
        "pregnant": pick("no", YES_NO),
        "breastfeeding": pick("no", YES_NO),
    }
    if brain == "no" and draw(BOOL):
        row.update(brain_metastases_symptomatic=None, brain_metastases_treated=None,
                   brain_metastases_stable_since=None)
    return row, consent, nma_ld


# ----------------------------------------------------------------------------------------
# therapies
# ----------------------------------------------------------------------------------------


def regimen(draw: st.DrawFn) -> str | None:
    """An ``agents`` cell: 1-3 agents joined by '+', sometimes unknown or ACT, sometimes blank or with an empty name."""
    if draw(st.integers(0, 8)) == 0:
        return None
    agents = []
    for pool in draw(POOLS):
        names = AGENT_POOLS[pool]
        agents.append(names[draw(AGENT_INDEX) % len(names)])
    cell = draw(SEPARATOR).join(dict.fromkeys(agents))
    # Now and then a regimen cut short ("pembrolizumab+", "+ipilimumab"): a name is missing.
    return draw(st.sampled_from([cell] * 10 + [cell + "+", "+" + cell]))


def recurrence_date(kind: str | None, end: dt.date, start: dt.date) -> dt.date | None:
    """A recurrence date relative to the end of therapy (on and around 6 calendar months), or
    before the line's start (a wrong date: the line's window is open, review 22E)."""
    six = plus_months(end, 6)
    return {
        None: None, "6m-1d": shift(six, -1), "6m": six, "6m+1d": shift(six, 1), "before-end": shift(end, -10),
        "at-end": end, "2m": plus_months(end, 2), "12m": plus_months(end, 12), "before-start": shift(start, -5),
    }[kind]


@st.composite
def therapy_rows(draw: st.DrawFn, patient_id: str, consent: dt.date, near: bool = False) -> list[dict[str, Any]]:
    """0-6 lines, their numbers not always consecutive, the first two sometimes blank, and one in
    eight with two or more lines sharing the first line's number.

    A ``near``-eligible patient mostly has one qualifying metastatic anti-PD-1 line 1 that
    progressed, and now and then up to two random later lines.
    """
    pick = chooser(draw, near)
    rows = []
    if near:
        good = {"patient_id": patient_id, "line": 1, "setting": "metastatic", "agents": "nivolumab+ipilimumab",
                "start_date": iso(shift(consent, -400)), "end_date": iso(shift(consent, -200)),
                "best_response": "pd", "stop_reason": "progression", "recurrence_date": None}
        rows += pick([good], st.just([]))
        lines = draw(LATER_LINES) if draw(BLANK_1_IN_3) == 0 else []
    else:
        lines = draw(LINES)
    if len(lines) >= 2 and draw(st.integers(0, 7)) == 0:  # two lines with one number: their order is open
        lines = [lines[0], lines[0], *lines[2:]]
    for index, line in enumerate(lines):
        start = shift(consent, -draw(START_DAYS))
        end = shift(start, draw(DURATION_DAYS))
        recurrence = recurrence_date(draw(RECURRENCE_KIND), end, start)
        rows.append({
            "patient_id": patient_id,
            # A blank line number leaves the line's place open (at most two per patient: the
            # reference tries every place of each).
            "line": blank_sometimes(draw, line, BLANK_1_IN_6) if index < 2 else line,
            "setting": draw(SETTING),
            "agents": regimen(draw),
            # A blank start now and then: an undated end then has no earliest end to measure from.
            "start_date": iso(blank_sometimes(draw, start, BLANK_1_IN_6)),
            "end_date": iso(blank_sometimes(draw, end, BLANK_1_IN_4)),
            "best_response": draw(RESPONSE),
            "stop_reason": draw(STOP),
            "recurrence_date": iso(recurrence),
        })
    return rows


# ----------------------------------------------------------------------------------------
# labs, toxicities, overrides
# ----------------------------------------------------------------------------------------


def lab_value(draw: st.DrawFn, test: str, unit: str) -> tuple[float, float | None]:
    """(value, ULN) of a result near its limit."""
    if test in ("ast", "alt"):
        uln = draw(ULN)
        return round(uln * draw(ULN_MULTIPLE), 2), uln  # typed decimals: 33.3 x 3 = 99.9
    values = LAB_VALUES[(test, unit)]
    return values[draw(VALUE_INDEX) % len(values)], None


@st.composite
def lab_rows(draw: st.DrawFn, patient_id: str, consent: dt.date, nma_ld: dt.date,
             near: bool = False) -> list[dict[str, Any]]:
    """0-10 lab results near their limits, collected around the window edges (ties happen).

    A ``near``-eligible patient mostly has a normal result of each test 5 days before
    consent, plus 0-3 random results.
    """
    pick = chooser(draw, near)
    rows = []
    if near:
        for test, value, unit, uln in GOOD_LABS:
            row = {"patient_id": patient_id, "test": test, "value": value, "unit": unit, "uln": uln,
                   "collected_date": iso(shift(consent, -5))}
            rows += pick([row], st.just([]))
    for i in range(draw(N_LABS_NEAR if near else N_LABS)):
        test = draw(LAB_TEST)
        units = list(UNIT_FACTORS[test])
        unit = units[draw(UNIT_INDEX) % len(units)]
        value, uln = lab_value(draw, test, unit)
        where, days = draw(LAB_DAY)
        collected = shift(consent if where == "consent" else nma_ld, days)
        # A blank value, unit or date is "not recorded": the result could be any value / in any unit /
        # on any day. A blank test: the result of one of the tests its unit (and ULN) allows.
        # At most two rows without a test (up to 7 x 7 namings for the reference to try).
        rows.append({"patient_id": patient_id, "test": blank_sometimes(draw, test, BLANK_1_IN_8) if i < 2 else test,
                     "value": blank_sometimes(draw, value, BLANK_1_IN_6),
                     "unit": blank_sometimes(draw, unit, BLANK_1_IN_6), "uln": uln,
                     "collected_date": iso(blank_sometimes(draw, collected, BLANK_1_IN_6))})
    return rows


@st.composite
def toxicity_rows(draw: st.DrawFn, patient_id: str, near: bool = False) -> list[dict[str, Any]]:
    """0-3 immune-related adverse events, each field sometimes blank (near-eligible: mostly none)."""
    if near and draw(BLANK_1_IN_4) != 0:
        return []
    return [
        {"patient_id": patient_id, "term": draw(TERM), "category": draw(CATEGORY), "grade": draw(GRADE),
         "ongoing": draw(YES_NO)}
        for _ in range(draw(N_TOXICITIES))
    ]


@st.composite
def override_rows(draw: st.DrawFn, patient_id: str, consent: dt.date) -> list[dict[str, Any]]:
    """0-2 waivers of random criteria (most patients have none); one in six with a waiver has a
    second row waiving its first criterion again."""
    criteria = draw(OVERRIDDEN[draw(N_OVERRIDES)])
    if criteria and draw(st.integers(0, 5)) == 0:  # one criterion waived in two rows (the spec gives no key)
        criteria.append(criteria[0])
    # A blank approver, date or reason: the waiver is applied all the same (each row is a
    # documented waiver; no data cut here).
    return [{"patient_id": patient_id, "criterion_id": c,
             "approved_by": blank_sometimes(draw, "medical monitor", BLANK_1_IN_4),
             "approved_date": iso(blank_sometimes(draw, consent, BLANK_1_IN_6)),
             "reason": blank_sometimes(draw, "documented by the treating physician", BLANK_1_IN_6)}
            for c in criteria]


# ----------------------------------------------------------------------------------------
# whole datasets
# ----------------------------------------------------------------------------------------


@st.composite
def screening_tables(draw: st.DrawFn, min_patients: int = 1, max_patients: int = 12) -> dict[str, pd.DataFrame]:
    """A whole dataset as typed frames (``schema.coerce``) keyed by table name.

    Half of the patients are random (blanks and boundary values everywhere), half are
    near-eligible (see :func:`patient_rows`). Rows of every table come in shuffled order.
    """
    n = draw(st.integers(min_patients, max_patients))
    prefix = draw(PREFIX)
    raw: dict[str, list[dict[str, Any]]] = {t: [] for t in ("patients", "therapies", "labs", "toxicities",
                                                             "overrides")}
    for i in range(n):
        pid = f"{prefix}{i + 1:03d}"
        near = draw(BOOL)
        patient, consent, nma_ld = draw(patient_rows(pid, near))
        raw["patients"].append(patient)
        raw["therapies"] += draw(therapy_rows(pid, consent, near))
        raw["labs"] += draw(lab_rows(pid, consent, nma_ld, near))
        raw["toxicities"] += draw(toxicity_rows(pid, near))
        raw["overrides"] += draw(override_rows(pid, consent))
    # rows in any order: nothing may depend on patients or events being sorted or grouped
    shuffled = {name: [rows[i] for i in draw(st.permutations(range(len(rows))))] for name, rows in raw.items()}
    return {name: coerce(name, pd.DataFrame(rows)) for name, rows in shuffled.items()}
