"""A plain, row-wise reference evaluator of the 19 criteria, written from docs/criteria.md.

This module is the independent second implementation that the property tests hold the
vectorized engine (:func:`lifileucel_analysis.engine.screening.screen`) against. It is written
deliberately plainly: one patient at a time, plain Python values (``None`` for a blank,
``datetime.date`` for dates, ``bool`` for yes/no), one function per criterion, each an
ordered decision list (fail, then unknown, then pass) copied from the tables of
``docs/criteria.md``. It imports nothing from the package except the schema constants;
the drug dictionary and the default parameters are read straight from their files.

Laboratory limits are compared in exact rational arithmetic (:class:`fractions.Fraction`
of the decimal that was typed), so a result typed exactly at a limit, in either unit
convention, is exactly at the limit (34.2 umol/L is exactly 2.0 mg/dL).
"""

from __future__ import annotations

import calendar
import csv
import itertools
import re
import datetime as dt
from collections.abc import Iterable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from lifileucel_analysis.contract.schema import CRITERION_IDS, TABLES

ROOT = Path(__file__).resolve().parents[1]
DRUG_CLASSES_CSV = ROOT / "lifileucel_analysis" / "data" / "drug_classes.csv"
CRITERIA_YAML = ROOT / "lifileucel_analysis" / "data" / "criteria_defaults.yaml"

PASS, FAIL, UNKNOWN, NA, WAIVED = "pass", "fail", "unknown", "not_applicable", "waived"
YES, NO, MAYBE = "yes", "no", "unknown"  # tri-state facts about a therapy row

Row = dict[str, Any]

# Canonical-unit conversion, exactly as docs/criteria.md words it.
EXACT_FACTORS: dict[tuple[str, str], Fraction] = {
    ("anc", "10^9/L"): Fraction(1),
    ("anc", "/uL"): Fraction(1, 1000),
    ("platelets", "10^9/L"): Fraction(1),
    ("platelets", "/uL"): Fraction(1, 1000),
    ("hemoglobin", "g/dL"): Fraction(1),
    ("hemoglobin", "g/L"): Fraction(1, 10),
    ("ast", "U/L"): Fraction(1),
    ("alt", "U/L"): Fraction(1),
    ("total_bilirubin", "mg/dL"): Fraction(1),
    ("total_bilirubin", "umol/L"): 1 / Fraction("17.1"),
    ("creatinine_clearance", "mL/min"): Fraction(1),
}


# ----------------------------------------------------------------------------------------
# Inputs: parameters, drug dictionary, typed frames -> plain rows
# ----------------------------------------------------------------------------------------


def default_params() -> dict[str, Any]:
    """Read the default parameters straight from ``lifileucel_analysis/data/criteria_defaults.yaml``.

    Returns
    -------
    dict
        ``{key: value}`` for every key of the file.
    """
    data = yaml.safe_load(CRITERIA_YAML.read_text(encoding="utf-8"))
    return {key: entry["value"] for key, entry in data.items()}


def normalise_name(name: str) -> str:
    """Normalise one agent name as docs/criteria.md words it (plainly, one name at a time)."""
    text = name.lower()
    for sign in "®™©":
        text = text.replace(sign, "")
    text = re.sub(r"\([^)]*\)", " ", text)
    text = " ".join(text.replace("-", " ").replace("_", " ").split())
    dose = r"\d+(?:\.\d+)?\s*(?:mg/kg|mg/m2|mg/m\^2|mg|mcg|ug|µg|g|iu|miu|units?|ml)"
    words = {"iv", "po", "sc", "intravenous", "oral", "subcutaneous", "daily", "bid", "tid", "mesylate",
             "hydrochloride", "hcl", "sulfate", "sulphate", "tosylate", "citrate", "besylate", "maleate",
             "phosphate"}
    while True:
        stripped = re.sub(rf"\s+{dose}$", "", text)
        tokens = stripped.split(" ")
        if len(tokens) > 1 and (tokens[-1] in words or re.fullmatch(r"q\d+[wd]", tokens[-1])):
            stripped = " ".join(tokens[:-1])
        if stripped == text:
            return text.strip()
        text = stripped.strip()


def drug_dictionary() -> dict[str, str]:
    """Read the drug dictionary: normalised agent name -> drug class(es) joined by ';'."""
    with DRUG_CLASSES_CSV.open(encoding="utf-8", newline="") as handle:
        return {normalise_name(row["agent"]): row["drug_class"] for row in csv.DictReader(handle)}


def lookup_agent(name: str, dictionary: Mapping[str, str]) -> set[str] | None:
    """The classes of one agent name, or ``None`` when the dictionary does not know it."""
    key = normalise_name(name)
    if key not in dictionary and re.fullmatch(r".+ [a-z]{4}", key) and key[:-5] in dictionary:
        key = key[:-5]  # an FDA four-letter biologic suffix (cemiplimab-rwlc)
    return set(dictionary[key].split(";")) if key in dictionary else None


def _as_mapping(params: Mapping[str, object] | object | None) -> dict[str, Any]:
    """Accept a mapping, anything with ``as_dict()`` (CriteriaParams) or ``None`` (defaults)."""
    merged = default_params()
    if params is None:
        return merged
    if not isinstance(params, Mapping):
        params = params.as_dict()  # type: ignore[attr-defined]
    merged.update(params)
    return merged


def plain(value: Any) -> Any:
    """Turn one cell of a typed frame into a plain Python value; a blank becomes ``None``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return plain(value.item())  # numpy scalars
    if isinstance(value, str) and value == "":
        return None
    return value


def rows_of(frame: pd.DataFrame | None) -> list[Row]:
    """Return the rows of a frame as plain dicts (an absent table has no rows)."""
    if frame is None or len(frame) == 0:
        return []
    columns = list(frame.columns)
    return [{c: plain(v) for c, v in zip(columns, values)} for values in frame.itertuples(index=False)]


def group_by_patient(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """Group event rows by ``patient_id``."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row["patient_id"], []).append(row)
    return groups


# ----------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------


def days_between(start: dt.date, end: dt.date) -> int:
    """``days(a, b)`` of the docs: ``(b - a)`` in whole days."""
    return (end - start).days


def add_months(day: dt.date, months: int) -> dt.date:
    """Add calendar months, clipping to the month end (2025-08-31 + 6 -> 2026-02-28)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def age_in_years(birth: dt.date, on: dt.date) -> int:
    """Age in whole years on ``on`` (a 29 February birthday falls on 1 March in common years)."""
    age = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        age -= 1
    return age


def exact(number: float | int) -> Fraction:
    """The exact rational value of the decimal that was typed (``0.1`` -> 1/10)."""
    return Fraction(repr(float(number)))


def yes_no_blank(value: bool | None, if_yes: str, if_no: str) -> str:
    """Map a yes/no cell to an outcome; blank is unknown."""
    if value is None:
        return UNKNOWN
    return if_yes if value else if_no


def combine_all_of(parts: Iterable[str]) -> str:
    """All parts must pass: any fail fails; else any unknown is unknown; else pass."""
    parts = list(parts)
    if FAIL in parts:
        return FAIL
    if UNKNOWN in parts:
        return UNKNOWN
    return PASS


# ----------------------------------------------------------------------------------------
# Derived facts of one therapy row
# ----------------------------------------------------------------------------------------


def agent_classes(agents: str | None, dictionary: Mapping[str, str]) -> tuple[set[str], bool]:
    """Return (known classes, complete?) of a regimen's ``agents`` cell."""
    if agents is None:
        return set(), False
    classes: set[str] = set()
    pieces = [name.strip() for name in agents.split("+")]
    complete = "" not in pieces  # "pembrolizumab+": a name is missing, its class is open
    names = [name for name in pieces if name]
    if not names:
        return set(), False
    for name in names:
        found = lookup_agent(name, dictionary)
        if found is None:
            complete = False
        else:
            classes |= found
    return classes, complete


def has_class(agents: str | None, wanted: set[str], dictionary: Mapping[str, str]) -> str:
    """Tri-state: does the regimen contain an agent of one of the ``wanted`` classes?"""
    classes, complete = agent_classes(agents, dictionary)
    if classes & wanted:
        return YES
    if complete:
        return NO
    return MAYBE


def is_pd1(therapy: Row, dictionary: Mapping[str, str]) -> str:
    """Tri-state ``pd1``: an anti-PD-1 or anti-PD-L1 agent."""
    return has_class(therapy["agents"], {"anti-pd-1", "anti-pd-l1"}, dictionary)


def is_act(therapy: Row, dictionary: Mapping[str, str]) -> str:
    """Tri-state ``act``: an adoptive cell transfer agent."""
    return has_class(therapy["agents"], {"adoptive-cell-transfer"}, dictionary)


def is_braf(therapy: Row, dictionary: Mapping[str, str]) -> str:
    """Tri-state ``braf``: a BRAF inhibitor."""
    return has_class(therapy["agents"], {"braf-inhibitor"}, dictionary)


def options(tri: str) -> list[bool]:
    """The readings of a tri-state fact."""
    return {YES: [True], NO: [False], MAYBE: [True, False]}[tri]


def line_readings(therapy: Row, params: Mapping[str, Any], dictionary: Mapping[str, str],
                  screened_by: dt.date | None = None) -> set[tuple[bool, ...]]:
    """Every reading of one line as (counted, anti-PD-(L)1, shows progression if latest, BRAF).

    ``screened_by``: the patient's consent date, else NMA-LD date (consent comes first): a
    recurrence whose date is blank came by then (the patient is screened after it recurred).
    """
    settings = [therapy["setting"]] if therapy["setting"] is not None else ["metastatic", "adjuvant"]
    start, end, recurrence = therapy["start_date"], therapy["end_date"], therapy["recurrence_date"]
    months = int(params["adjuvant_recurrence_months"])
    # A blank end date is "ongoing" unless the stop reason says the line stopped, and not for the
    # recurrence itself (progression: on therapy either way): then it is a missing date on or after the start.
    stopped = therapy["stop_reason"] in ("toxicity", "completed", "other")
    if recurrence is not None and start is not None and recurrence < start:
        windows = [True, False]  # a recurrence cannot precede the line it follows: a wrong date
    elif recurrence is not None and end is None and stopped:
        windows = [True] if start is not None and recurrence <= add_months(start, months) else [True, False]
    elif recurrence is not None:
        windows = [end is None or recurrence <= add_months(end, months)]
    elif end is None and not stopped:
        windows = [True]  # recurred on therapy, whatever the date
    else:
        # The recurrence came after the start and by screening; the line ended on ``end`` (or, stopped
        # with a blank end, on some day from its start on). Every such reading is inside when even
        # the earliest end's window reaches the day of screening.
        earliest_end = end if end is not None else start
        # A line started after the day of screening: no recurrence both follows it and came by then.
        reaches = screened_by is not None and earliest_end is not None and \
            screened_by <= add_months(earliest_end, months) and (start is None or start <= screened_by)
        windows = [True] if reaches else [True, False]
    stop, best = therapy["stop_reason"], therapy["best_response"]
    if stop in ("progression", "toxicity") or best in ("sd", "pd"):
        progressions = [True]
    elif stop is None or best is None:
        progressions = [True, False]
    else:
        progressions = [False]
    readings = set()
    for setting, pd1, braf, window, progression in itertools.product(
            settings, options(is_pd1(therapy, dictionary)), options(is_braf(therapy, dictionary)), windows,
            progressions):
        adjuvant = setting in ("adjuvant", "neoadjuvant")
        counted = not adjuvant or (pd1 and window)
        readings.add((counted, pd1, counted and (adjuvant or progression), braf))
    return readings


# ----------------------------------------------------------------------------------------
# Inclusion criteria
# ----------------------------------------------------------------------------------------

EARLY_STAGES = {"0", "IA", "IB", "IIA", "IIB", "IIC", "IIIA", "IIIB"}


def i1_stage(patient: Row) -> str:
    """I1: stage IV, or IIIC/IIID judged unresectable."""
    stage, unresectable = patient["ajcc_stage"], patient["disease_unresectable"]
    if stage is None:
        return UNKNOWN
    if stage == "IV":
        return PASS
    if stage in EARLY_STAGES:
        return FAIL
    if stage in ("IIIC", "IIID"):
        return yes_no_blank(unresectable, PASS, FAIL)
    # stage "III" without sub-group: only "resectable" decides it
    return FAIL if unresectable is False else UNKNOWN


def i2_one_reading(v600: str, lines: list[tuple[int, tuple[bool, ...]]], params: Mapping[str, Any]) -> str:
    """I2 for one complete reading: every fact known."""
    counted = [(number, r) for number, r in lines if r[0]]
    if not int(params["min_prior_lines"]) <= len(counted) <= int(params["max_prior_lines"]):
        return FAIL
    if not any(r[1] for _, r in counted):
        return FAIL
    if not max(counted, key=lambda pair: pair[0])[1][2]:
        return FAIL
    if params["require_braf_inhibitor_if_v600"] and v600 == "mutant" and not any(r[3] for _, r in lines):
        return FAIL
    return PASS


def i2_prior_lines(patient: Row, therapies: list[Row], params: Mapping[str, Any],
                   dictionary: Mapping[str, str]) -> str:
    """I2 by enumerating every reading of the blanks and unclassified agents (spec section 2)."""
    v600s = [patient["braf_v600"]] if patient["braf_v600"] is not None else ["mutant", "wildtype"]
    screened_by = patient["consent_date"] or patient["lymphodepletion_date"]
    per_line = [sorted(line_readings(t, params, dictionary, screened_by)) for t in therapies]
    seen = set()
    for v600 in v600s:
        for numbers in line_number_readings([t["line"] for t in therapies]):
            for combo in itertools.product(*per_line):
                seen.add(i2_one_reading(v600, list(zip(numbers, combo)), params))
                if len(seen) == 2:
                    return UNKNOWN
    return seen.pop()


def line_number_readings(numbers: list[int | None]) -> list[list[float]]:
    """Every order the line numbers allow: each blank line in each gap between the recorded
    numbers (below all, between two, above all), blank lines in the same gap in each order,
    and lines that share a recorded number in each order among themselves."""
    blanks = [i for i, n in enumerate(numbers) if n is None]
    recorded = sorted({n for n in numbers if n is not None})
    shared = [[i for i, n in enumerate(numbers) if n == number] for number in recorded]
    gaps = [0.5] + [n + 0.5 for n in recorded]
    readings = []
    for ties in itertools.product(*(itertools.permutations(group) for group in shared)):
        for places in itertools.product(gaps, repeat=len(blanks)):
            for ranks in itertools.permutations(range(len(blanks))):
                filled = [float(n) if n is not None else 0.0 for n in numbers]
                for group in ties:  # a shared number: its lines a little apart, below the next gap
                    for rank, i in enumerate(group):
                        filled[i] += rank / (len(group) + 1) / 4
                for blank, place, rank in zip(blanks, places, ranks):
                    filled[blank] = place + rank / (len(blanks) + 1) / 2
                readings.append(filled)
    return readings


def i3_adjuvant(therapies: list[Row], dictionary: Mapping[str, str]) -> str:
    """I3: pass with any line that is, or in some reading of its blanks may be, adjuvant/neoadjuvant
    anti-PD-(L)1 (a blank is never a "no"); never blocks (never unknown); not_applicable otherwise."""
    for therapy in therapies:
        if therapy["setting"] in ("adjuvant", "neoadjuvant", None) and is_pd1(therapy, dictionary) != NO:
            return PASS
    return NA


def i4_lesion(patient: Row, params: Mapping[str, Any]) -> str:
    """I4: a resectable lesion of at least 1.5 cm."""
    size = patient["resectable_lesion_cm"]
    if size is None:  # every reading is a size >= 0 (the contract's lowest)
        return PASS if params["min_lesion_cm"] <= 0 else UNKNOWN
    return PASS if size >= params["min_lesion_cm"] else FAIL


def i5_age(patient: Row, params: Mapping[str, Any]) -> str:
    """I5: at least 18 years old at consent."""
    birth, consent, nma_ld = patient["birth_date"], patient["consent_date"], patient["lymphodepletion_date"]
    if (birth is None or consent is None) and params["min_age_years"] <= 0:
        return PASS  # consent never precedes birth: every reading is an age >= 0
    if birth is None:
        return UNKNOWN
    if params["min_age_years"] <= 0:
        return PASS  # nobody is younger than 0, whichever recorded date is wrong
    if consent is None:
        # Every consent date lies between birth and NMA-LD: under age at NMA-LD is under age
        # at any of them; otherwise some reading passes and an early one fails. Born after
        # NMA-LD: a wrong date, no age to compare.
        young = nma_ld is not None and birth <= nma_ld and age_in_years(birth, nma_ld) < params["min_age_years"]
        return FAIL if young else UNKNOWN
    if birth > consent:
        return UNKNOWN  # a birth date after consent is a wrong date, not a negative age
    return PASS if age_in_years(birth, consent) >= params["min_age_years"] else FAIL


def i6_performance(patient: Row, params: Mapping[str, Any]) -> str:
    """I6: ECOG 0-1 and life expectancy of at least 3 months."""
    ecog, life = patient["ecog"], patient["life_expectancy_months"]
    if ecog is not None and ecog > params["max_ecog"]:
        return FAIL
    if life is not None and life < params["min_life_expectancy_months"]:
        return FAIL
    # A blank reads as every allowed value: ECOG 0-5, a life expectancy >= 0.
    ecog_passes = ecog is not None or params["max_ecog"] >= 5
    life_passes = life is not None or params["min_life_expectancy_months"] <= 0
    return PASS if ecog_passes and life_passes else UNKNOWN


BLANK_VALUE_EXTREMES = (Fraction(0), Fraction(10) ** 12)
"""A blank lab value is read as its extremes: values are >= 0, and 10^12 is past every limit.
Every lab part is monotone in each value, so the extremes give every outcome a value can."""


def lab_namings(labs: list[Row]) -> list[list[Row]]:
    """Every way of naming the lab rows whose test is blank: a list of rows, each with a test.

    Such a row is a result of one of the tests its unit allows (AST/ALT only with a ULN):
    of that test when only one fits, else of each in turn, every row independently.
    """
    options = []
    for lab in labs:
        tests = [lab["test"]] if lab["test"] is not None else possible_tests(lab)
        options.append([{**lab, "test": test} for test in tests])
    return [list(naming) for naming in itertools.product(*options)]


def lab_readings(patient: Row, labs: list[Row], test: str, params: Mapping[str, Any]) -> list[Fraction] | None:
    """Every exact value the result that counts for ``test`` can take, or ``None`` without one
    (``labs``: rows that each name a test)."""
    return world_readings(patient, [lab for lab in labs if lab["test"] == test], test, params)


def possible_tests(lab: Row) -> list[str]:
    """The tests a result can be of by its unit (every test when blank) and ULN (AST/ALT need one)."""
    tests = {t for (t, u) in EXACT_FACTORS if lab["unit"] is None or u == lab["unit"]}
    return sorted(t for t in tests if lab["uln"] is not None or t not in ("ast", "alt"))


def world_readings(patient: Row, labs: list[Row], test: str, params: Mapping[str, Any]) -> list[Fraction] | None:
    """The readings of the result that counts among ``labs``, all of them ``test``'s.

    The result that counts is the most recent in the window. Dates carry no time, so any of
    the latest day's rows may be the most recent: each is one reading. A blank value or
    unit is filled in every way (the unit with each of the test's units, the value with
    its extremes), each filling one more reading. Values are in the canonical unit; for
    AST/ALT the ratio value / ULN.
    """
    consent, nma_ld = patient["consent_date"], patient["lymphodepletion_date"]
    if consent is None:
        if nma_ld is None:
            return None
        # Consent falls on or before NMA-LD. Read it as NMA-LD itself: if that narrowest
        # window holds a result, the latest one is the latest of every wider window too; if
        # it holds none, that reading has no result, so the test is unknown either way.
        consent = nma_ld
    earliest = consent - dt.timedelta(days=int(params["lab_lookback_days"]))
    dated = [lab for lab in labs if lab["collected_date"] is not None]
    in_window = [lab for lab in dated if lab["collected_date"] >= earliest
                 and (nma_ld is None or lab["collected_date"] <= nma_ld)]
    if not in_window:
        return None  # also with an undated row: read as outside the window, no result counts
    latest_day = max(lab["collected_date"] for lab in in_window)
    same_day = [lab for lab in in_window if lab["collected_date"] == latest_day]
    # A row without a date may be in the window and the most recent (one more reading each),
    # or not (then the latest day's rows count: readings already listed).
    undated = [lab for lab in labs if lab["collected_date"] is None]
    return [reading for lab in same_day + undated for reading in row_readings(lab, test)]


def row_readings(lab: Row, test: str) -> list[Fraction]:
    """The exact canonical values one lab row can hold, its blanks filled in every way."""
    values = BLANK_VALUE_EXTREMES if lab["value"] is None else (exact(lab["value"]),)
    units = [u for (t, u) in EXACT_FACTORS if t == test] if lab["unit"] is None else [lab["unit"]]
    readings = [v * EXACT_FACTORS[(test, u)] for v in values for u in units]
    if test in ("ast", "alt"):
        readings = [r / exact(lab["uln"]) for r in readings]
    return readings


def all_readings(outcomes: list[str]) -> str:
    """One outcome when every reading gives it, else unknown."""
    return outcomes[0] if len(set(outcomes)) == 1 else UNKNOWN


def at_least(readings: list[Fraction] | None, limit: float) -> str:
    """Lab part with a lower limit."""
    if readings is None:
        return UNKNOWN
    return all_readings([PASS if value >= exact(limit) else FAIL for value in readings])


def at_most_with_exception(readings: list[Fraction] | None, limit: float, wider: float,
                           exception: bool | None) -> str:
    """Lab part with an upper limit that a condition (liver metastases, Gilbert) widens."""
    if readings is None:
        return UNKNOWN

    def one(value: Fraction) -> str:
        if value <= exact(limit):
            return PASS
        if value > exact(wider):
            return FAIL
        return yes_no_blank(exception, PASS, FAIL)

    return all_readings([one(value) for value in readings])


def i7_labs(patient: Row, labs: list[Row], params: Mapping[str, Any]) -> str:
    """I7: adequate hematologic parameters and organ function (seven parts, all of), decided
    when every naming of the rows without a test gives the same outcome (spec section 2:
    "for criteria with several parts too")."""
    return all_readings([i7_named(patient, named, params) for named in lab_namings(labs)])


def i7_named(patient: Row, labs: list[Row], params: Mapping[str, Any]) -> str:
    """I7 of lab rows that each name a test."""
    def counts(test: str) -> list[Fraction] | None:
        return lab_readings(patient, labs, test, params)

    liver, gilbert = patient["liver_metastases"], patient["gilbert_syndrome"]
    return combine_all_of([
        at_least(counts("anc"), params["min_anc_10e9_per_l"]),
        at_least(counts("platelets"), params["min_platelets_10e9_per_l"]),
        at_least(counts("hemoglobin"), params["min_hemoglobin_g_per_dl"]),
        at_most_with_exception(counts("ast"), params["max_ast_alt_x_uln"],
                               params["max_ast_alt_x_uln_liver_metastases"], liver),
        at_most_with_exception(counts("alt"), params["max_ast_alt_x_uln"],
                               params["max_ast_alt_x_uln_liver_metastases"], liver),
        at_most_with_exception(counts("total_bilirubin"), params["max_bilirubin_mg_per_dl"],
                               params["max_bilirubin_mg_per_dl_gilbert"], gilbert),
        at_least(counts("creatinine_clearance"), params["min_creatinine_clearance_ml_per_min"]),
    ])


def i8_no_alternative(patient: Row) -> str:
    """I8: no alternative therapy available."""
    return yes_no_blank(patient["alternative_therapy_available"], FAIL, PASS)


# ----------------------------------------------------------------------------------------
# Exclusion criteria
# ----------------------------------------------------------------------------------------


def e1_allograft_or_cell_therapy(patient: Row, therapies: list[Row], dictionary: Mapping[str, str]) -> str:
    """E1: organ allograft other than kidney, or prior adoptive cell transfer."""
    act = [is_act(t, dictionary) for t in therapies]
    allograft = patient["organ_allograft"]
    if allograft == "other" or YES in act:
        return FAIL
    if allograft in ("none", "kidney") and all(a == NO for a in act):
        return PASS
    return UNKNOWN


def toxicity_matches(toxicity: Row) -> str:
    """Tri-state: is this an ongoing grade 2-4 toxicity of category ``other``?"""
    ongoing, grade, category = toxicity["ongoing"], toxicity["grade"], toxicity["category"]
    if ongoing is False or grade in (1, 5) or category in ("endocrine", "ocular", "vitiligo"):
        return NO
    if ongoing is True and grade in (2, 3, 4) and category == "other":
        return YES
    return MAYBE


def e2_toxicity(toxicities: list[Row]) -> str:
    """E2: ongoing grade 2-4 toxicity from prior immunotherapy (not endocrine/ocular/vitiligo)."""
    matches = [toxicity_matches(t) for t in toxicities]
    if YES in matches:
        return FAIL
    if MAYBE in matches:
        return UNKNOWN
    return PASS


def e3_uveal(patient: Row) -> str:
    """E3: melanoma of uveal origin."""
    subtype = patient["melanoma_subtype"]
    if subtype is None:
        return UNKNOWN
    return FAIL if subtype == "uveal" else PASS


def e4_hypersensitivity(patient: Row) -> str:
    """E4: hypersensitivity to a component of lifileucel or the regimen."""
    return yes_no_blank(patient["hypersensitivity_to_regimen"], FAIL, PASS)


def e5_brain_metastases(patient: Row, params: Mapping[str, Any]) -> str:
    """E5: symptomatic/untreated brain metastases unless treated and stable >= 14 days before NMA-LD."""
    mets = patient["brain_metastases"]
    if mets is None:  # "no" passes: decided only when "yes" passes too
        with_mets = e5_brain_metastases({**patient, "brain_metastases": True}, params)
        return PASS if with_mets == PASS else UNKNOWN
    if mets is False:
        return PASS
    treated, symptomatic = patient["brain_metastases_treated"], patient["brain_metastases_symptomatic"]
    stable_since, nma_ld = patient["brain_metastases_stable_since"], patient["lymphodepletion_date"]
    stable_days = None
    if stable_since is not None and nma_ld is not None:
        stable_days = days_between(stable_since, nma_ld)
    needed = int(params["brain_metastases_stable_days"])
    if treated is False or symptomatic is True or (stable_days is not None and stable_days < needed):
        return FAIL
    if treated is True and symptomatic is False and stable_days is not None and stable_days >= needed:
        return PASS
    consent = patient["consent_date"]
    if nma_ld is None and consent is not None and stable_since is not None and treated is True \
            and symptomatic is False and days_between(stable_since, consent) >= needed:
        return PASS  # every NMA-LD date comes after consent: stable long enough at any of them
    return UNKNOWN


def e6_steroids(patient: Row, params: Mapping[str, Any]) -> str:
    """E6: chronic systemic steroids above 10 mg/day prednisone-equivalent."""
    dose = patient["steroid_mg_per_day"]
    if dose is None:
        return UNKNOWN
    return FAIL if dose > params["max_steroid_mg_per_day"] else PASS


def e7_active_illness(patient: Row) -> str:
    """E7: active medical illness posing increased risk."""
    return yes_no_blank(patient["active_medical_illness"], FAIL, PASS)


def e8_infections(patient: Row) -> str:
    """E8: syphilis, HIV, or HBV serology positive with detectable PCR."""
    syphilis, hiv = patient["syphilis_assay"], patient["hiv_serology"]
    hbv, pcr = patient["hbv_serology"], patient["hbv_pcr"]
    if syphilis == "positive" or hiv == "positive" or (hbv == "positive" and pcr == "detectable"):
        return FAIL
    hbv_ok = hbv == "negative" or pcr == "undetectable"  # an undetectable PCR decides whatever the serology
    if syphilis == "negative" and hiv == "negative" and hbv_ok:
        return PASS
    return UNKNOWN


def e9_immunodeficiency(patient: Row) -> str:
    """E9: primary immunodeficiency."""
    return yes_no_blank(patient["primary_immunodeficiency"], FAIL, PASS)


def e10_live_vaccine(patient: Row, params: Mapping[str, Any]) -> str:
    """E10: a live or attenuated vaccine within 28 days before NMA-LD."""
    received, when = patient["live_vaccine_received"], patient["live_vaccine_date"]
    nma_ld, consent = patient["lymphodepletion_date"], patient["consent_date"]
    window = int(params["live_vaccine_window_days"])
    if when is None:
        return PASS if received is False else UNKNOWN
    if nma_ld is not None:
        before = days_between(when, nma_ld)
        return FAIL if 0 <= before <= window else PASS
    if consent is not None and days_between(when, consent) > window:
        return PASS
    return UNKNOWN


def e11_pregnancy(patient: Row) -> str:
    """E11: pregnant or breastfeeding (females; not applicable to males)."""
    if patient["sex"] == "male":
        return NA
    pregnant, breastfeeding = patient["pregnant"], patient["breastfeeding"]
    # Only a female fails: with sex blank the male reading is not_applicable, so not every
    # reading fails.
    if patient["sex"] == "female" and (pregnant is True or breastfeeding is True):
        return FAIL
    if patient["sex"] == "female" and pregnant is False and breastfeeding is False:
        return PASS
    return UNKNOWN


# ----------------------------------------------------------------------------------------
# One patient, all patients, verdicts
# ----------------------------------------------------------------------------------------


def screen_patient(patient: Row, therapies: list[Row], labs: list[Row], toxicities: list[Row],
                   waived: Iterable[str], params: Mapping[str, Any],
                   dictionary: Mapping[str, str]) -> dict[str, str]:
    """Return ``{criterion_id: outcome}`` for one patient, overrides applied.

    ``waived``: the criteria of the patient's override rows. Every row is a documented waiver
    (spec section 1: "one per documented waiver"), whatever its approver, date or reason
    cells hold (no data cut here).
    """
    outcomes = {
        "I1": i1_stage(patient),
        "I2": i2_prior_lines(patient, therapies, params, dictionary),
        "I3": i3_adjuvant(therapies, dictionary),
        "I4": i4_lesion(patient, params),
        "I5": i5_age(patient, params),
        "I6": i6_performance(patient, params),
        "I7": i7_labs(patient, labs, params),
        "I8": i8_no_alternative(patient),
        "E1": e1_allograft_or_cell_therapy(patient, therapies, dictionary),
        "E2": e2_toxicity(toxicities),
        "E3": e3_uveal(patient),
        "E4": e4_hypersensitivity(patient),
        "E5": e5_brain_metastases(patient, params),
        "E6": e6_steroids(patient, params),
        "E7": e7_active_illness(patient),
        "E8": e8_infections(patient),
        "E9": e9_immunodeficiency(patient),
        "E10": e10_live_vaccine(patient, params),
        "E11": e11_pregnancy(patient),
    }
    for criterion in waived:
        outcomes[criterion] = WAIVED
    return outcomes


def reference_screen(tables: Mapping[str, pd.DataFrame],
                     params: Mapping[str, object] | object | None = None) -> pd.DataFrame:
    """Screen every patient, one at a time.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Typed frames ``patients``, ``therapies``, ``labs``, ``toxicities`` and optionally
        ``overrides`` (as :func:`lifileucel_analysis.contract.schema.coerce` produces them).
    params : mapping, CriteriaParams or None
        Parameter values by key; missing keys take the defaults of ``lifileucel_analysis/data/criteria_defaults.yaml``.

    Returns
    -------
    DataFrame
        ``patient_id``, ``criterion_id``, ``outcome``: 19 rows per patient, patients in input
        order, criteria in section-2 order.
    """
    params = _as_mapping(params)
    dictionary = drug_dictionary()
    therapies = group_by_patient(rows_of(tables.get("therapies")))
    labs = group_by_patient(rows_of(tables.get("labs")))
    toxicities = group_by_patient(rows_of(tables.get("toxicities")))
    waived: dict[str, set[str]] = {}
    for row in rows_of(tables.get("overrides")):
        waived.setdefault(row["patient_id"], set()).add(row["criterion_id"])
    records = []
    for patient in rows_of(tables["patients"]):
        pid = patient["patient_id"]
        outcomes = screen_patient(patient, therapies.get(pid, []), labs.get(pid, []),
                                  toxicities.get(pid, []), waived.get(pid, set()), params, dictionary)
        records += [{"patient_id": pid, "criterion_id": c, "outcome": outcomes[c]} for c in CRITERION_IDS]
    return pd.DataFrame(records, columns=["patient_id", "criterion_id", "outcome"])


def verdict_of(outcomes: Mapping[str, str]) -> dict[str, str]:
    """Verdict and the failed/unknown/waived lists of one patient's ``{criterion: outcome}``."""
    def ids(label: str) -> str:
        return ";".join(c for c in CRITERION_IDS if outcomes[c] == label)

    if FAIL in outcomes.values():
        verdict = "ineligible"
    elif UNKNOWN in outcomes.values():
        verdict = "pending"
    else:
        verdict = "eligible"
    return {"verdict": verdict, "failed": ids(FAIL), "unknown": ids(UNKNOWN), "waived": ids(WAIVED)}


def verdicts_from_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per-patient verdicts from a long ``reference_screen`` table."""
    records = []
    for pid, group in outcomes.groupby("patient_id", sort=False):
        by_criterion = dict(zip(group["criterion_id"], group["outcome"]))
        records.append({"patient_id": pid, **verdict_of(by_criterion)})
    return pd.DataFrame(records, columns=["patient_id", "verdict", "failed", "unknown", "waived"])


def reference_verdicts(tables: Mapping[str, pd.DataFrame],
                       params: Mapping[str, object] | object | None = None) -> pd.DataFrame:
    """Per-patient verdicts: ``patient_id``, ``verdict``, ``failed``, ``unknown``, ``waived``."""
    return verdicts_from_outcomes(reference_screen(tables, params))


def empty_tables() -> dict[str, pd.DataFrame]:
    """Typed, empty frames of all five tables (a convenience for building cases)."""
    from lifileucel_analysis.contract.schema import empty_frame

    return {name: empty_frame(name) for name in TABLES}
