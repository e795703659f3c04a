"""The patients table: demographics, disease, workup stage, history, brain and screening tests."""

from __future__ import annotations

import numpy as np

from ..contract.schema import AJCC_STAGES, SITE_IDS
from .distributions import (
    AGE_MAX, AGE_MEAN, AGE_MIN, AGE_SD, ALLOGRAFT_P, BRAF_MUTANT_BY_SUBTYPE, ECOG_P, FEMALE, HBV_PCR_P,
    LD_GAP_MEDIAN_DAYS, LD_GAP_SIGMA, LESION_MEDIAN_CM, LESION_SIGMA, LIFE_EXPECTANCY, MALE, MUTANT,
    P_ACTIVE_ILLNESS, P_ADOLESCENT, P_BRAIN_METS, P_BRAIN_RECENT, P_BRAIN_SYMPTOMATIC, P_BRAIN_UNTREATED,
    P_BREASTFEEDING_UNDER_50, P_FEMALE, P_GILBERT, P_HBV, P_HIV, P_HYPERSENSITIVITY, P_IMMUNODEFICIENCY,
    P_LD_SCHEDULED, P_LIVER_METS, P_LIVER_METS_UVEAL, P_LIVE_VACCINE, P_PREGNANCY_UNRECORDED_55_PLUS,
    P_PREGNANT_UNDER_50, P_STALLED, P_SYPHILIS, P_UNRESECTABLE_III, P_UNRESECTABLE_RECORDED_IV, SITE_ACTIVATION,
    SITE_SHARE, SPORADIC, SPORADIC_BY_COLUMN, STAGE_DAYS, STAGE_P, STALLED_AT_P, STEROID_DOSES, SUBTYPE_P, UVEAL,
    VACCINE_TIMING_P, WILDTYPE,
)
from .sampling import (
    BLANK, NO_DATE, Raw, blank_where, chance, day_number, fill_for, lognormal, pick, uniform_days, yes,
)


def draw_patients(rng: np.random.Generator, n: int, as_of_day: int) -> Raw:
    """Draw the patients table as raw arrays, sorted by consent date (IDs follow that order)."""
    site = pick(rng, n, [SITE_SHARE[s] for s in SITE_IDS])
    opened = np.array([day_number(SITE_ACTIVATION[s]) for s in SITE_IDS])[site]
    consent = uniform_days(rng, opened, as_of_day, n)
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
    """Sex, age (a helper, not a column) and birth date counted back from consent."""
    female = chance(rng, n, P_FEMALE)
    adolescent = chance(rng, n, P_ADOLESCENT)
    adult_age = np.clip(rng.normal(AGE_MEAN, AGE_SD, n), AGE_MIN, AGE_MAX)
    age = np.where(adolescent, 15.0 + 2.9 * rng.random(n), adult_age)
    p["sex"] = np.where(female, FEMALE, MALE)
    p["age"] = age  # helper, not a column: pregnancy depends on it
    p["birth_date"] = p["consent_date"] - np.round(age * 365.2425).astype(np.int64)


def _draw_disease(rng: np.random.Generator, p: Raw, n: int) -> None:
    """Subtype, stage, resectability, BRAF, ECOG, life expectancy and lesion size."""
    subtype = pick(rng, n, SUBTYPE_P)
    uveal = subtype == UVEAL
    stage = np.array([AJCC_STAGES.index(s) for s in STAGE_P])[pick(rng, n, list(STAGE_P.values()))]
    stage_iii = np.isin(stage, [AJCC_STAGES.index(s) for s in ("III", "IIIA", "IIIB", "IIIC", "IIID")])
    stage_iv = stage == AJCC_STAGES.index("IV")
    resect_iii = pick(rng, n, (*P_UNRESECTABLE_III, 1 - sum(P_UNRESECTABLE_III)))  # 0 yes, 1 no, 2 blank
    recorded_iv = chance(rng, n, P_UNRESECTABLE_RECORDED_IV)
    unresectable = np.where(stage_iii, np.where(resect_iii == 0, 1, np.where(resect_iii == 1, 0, BLANK)),
                            np.where(stage_iv & recorded_iv, 1, BLANK))
    braf = chance(rng, n, np.asarray(BRAF_MUTANT_BY_SUBTYPE)[subtype])
    p.update({
        "melanoma_subtype": subtype,
        "ajcc_stage": stage,
        "disease_unresectable": unresectable.astype(np.int8),
        "liver_metastases": yes(chance(rng, n, np.where(uveal, P_LIVER_METS_UVEAL, P_LIVER_METS))),
        "gilbert_syndrome": yes(chance(rng, n, P_GILBERT)),
        "braf_v600": np.where(braf, MUTANT, WILDTYPE),
        "ecog": pick(rng, n, ECOG_P).astype(np.int64),
        "life_expectancy_months": np.asarray(LIFE_EXPECTANCY[0])[pick(rng, n, LIFE_EXPECTANCY[1])],
        "resectable_lesion_cm": np.round(np.maximum(lognormal(rng, LESION_MEDIAN_CM, LESION_SIGMA, n), 0.3), 1),
    })


def _draw_workup(rng: np.random.Generator, p: Raw, n: int, as_of_day: int) -> None:
    """How far screening has got: 0 history only, 1 labs/serologies, 2 surgery/imaging, 3 NMA-LD.

    Recently consented patients have not reached the later stages yet; a share of the
    others stalled (withdrew, deteriorated, lost to follow-up) and stay incomplete.
    """
    since = as_of_day - p["consent_date"]
    by_time = np.searchsorted(np.asarray(STAGE_DAYS), since, side="right")
    stalled = chance(rng, n, P_STALLED)
    stalled_at = pick(rng, n, STALLED_AT_P)
    stage = np.where(stalled, np.minimum(by_time, stalled_at), by_time)
    scheduled = (stage >= 3) & chance(rng, n, P_LD_SCHEDULED)
    gap = np.clip(np.round(lognormal(rng, LD_GAP_MEDIAN_DAYS, LD_GAP_SIGMA, n)), 21, 120).astype(np.int64)
    p["workup"] = stage
    p["lymphodepletion_date"] = np.where(scheduled, p["consent_date"] + gap, NO_DATE)
    p["resectable_lesion_cm"] = np.where(stage >= 2, p["resectable_lesion_cm"], np.nan)


def _draw_history(rng: np.random.Generator, p: Raw, n: int) -> None:
    """Allograft, steroid dose and the yes/no medical history fields."""
    steroid_p = np.asarray(STEROID_DOSES[1])
    p.update({
        "organ_allograft": pick(rng, n, ALLOGRAFT_P),
        "steroid_mg_per_day": np.asarray(STEROID_DOSES[0])[pick(rng, n, steroid_p)],
        "hypersensitivity_to_regimen": yes(chance(rng, n, P_HYPERSENSITIVITY)),
        "active_medical_illness": yes(chance(rng, n, P_ACTIVE_ILLNESS)),
        "primary_immunodeficiency": yes(chance(rng, n, P_IMMUNODEFICIENCY)),
    })


def _draw_brain(rng: np.random.Generator, p: Raw, n: int, as_of_day: int) -> None:
    """Brain metastases; stability is dated back from NMA-LD (or consent when unscheduled)."""
    brain = chance(rng, n, P_BRAIN_METS)
    untreated = chance(rng, n, P_BRAIN_UNTREATED)
    symptomatic = chance(rng, n, P_BRAIN_SYMPTOMATIC)
    recent = chance(rng, n, P_BRAIN_RECENT)
    stable_days = np.clip(np.round(lognormal(rng, 60.0, 0.6, n)), 14, 720).astype(np.int64)
    stable_days = np.where(recent, uniform_days(rng, 1, 13, n), stable_days)
    ld = p["lymphodepletion_date"]
    anchor = np.where(ld == NO_DATE, p["consent_date"], ld)
    stable = np.minimum(anchor - stable_days, as_of_day)
    imaged = brain & ~untreated & (p["workup"] >= 2)
    p.update({
        "brain_metastases": yes(brain),
        "brain_metastases_symptomatic": np.where(brain, symptomatic, BLANK).astype(np.int8),
        "brain_metastases_treated": np.where(brain, ~untreated, BLANK).astype(np.int8),
        "brain_metastases_stable_since": np.where(imaged, stable, NO_DATE),
    })


def _draw_screening_tests(rng: np.random.Generator, p: Raw, n: int, as_of_day: int) -> None:
    """Serologies, pregnancy and vaccine history: collected at stage 1 of the workup."""
    tested = p["workup"] >= 1
    hbv = chance(rng, n, P_HBV)
    pcr = pick(rng, n, (*HBV_PCR_P, 1 - sum(HBV_PCR_P)))
    female, age = p["sex"] == FEMALE, p["age"]
    fertile = female & (age < 50)
    unrecorded = female & (age >= 55) & chance(rng, n, P_PREGNANCY_UNRECORDED_55_PLUS)
    pregnant = fertile & chance(rng, n, P_PREGNANT_UNDER_50)
    feeding = fertile & chance(rng, n, P_BREASTFEEDING_UNDER_50)
    vaccine = chance(rng, n, P_LIVE_VACCINE)
    when = pick(rng, n, VACCINE_TIMING_P)
    offset = np.select([when == 0, when == 1], [-uniform_days(rng, 60, 1500, n), -uniform_days(rng, 1, 59, n)],
                       uniform_days(rng, 0, 30, n))
    vaccine_date = np.minimum(p["consent_date"] + offset, as_of_day)
    no_pregnancy_data = ~female | unrecorded | ~tested

    def tested_code(code: np.ndarray) -> np.ndarray:
        return np.where(tested, code, BLANK)

    p.update({
        "hiv_serology": tested_code(chance(rng, n, P_HIV).astype(np.int64)),
        "syphilis_assay": tested_code(chance(rng, n, P_SYPHILIS).astype(np.int64)),
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
        gap = chance(rng, n, SPORADIC_BY_COLUMN.get(column, SPORADIC))
        p[column] = blank_where(np.asarray(p[column]), gap, fill_for("patients", column))
