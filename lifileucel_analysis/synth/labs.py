"""The labs table: screening results, repeats, old results, same-day conflicts and nadirs."""

from __future__ import annotations

import numpy as np

from ..contract.schema import CANONICAL_UNIT, LAB_TESTS, TABLES
from .distributions import (
    GILBERT_BILIRUBIN, LAB_HISTORY_NOISE, LAB_MODELS, LAB_NOISE, LIVER_METS_ENZYME_FACTOR, P_LAB_HISTORY,
    P_LAB_MISSING, P_LAB_POST_LD, P_LAB_REPEAT, P_LAB_SAME_DAY, ULN_CHOICES,
)
from .sampling import NO_DATE, Raw, chance, lognormal, uniform_days


LAB_KINDS = ("history", "repeat", "screening", "same_day", "post_ld")
"""Result slots per patient and test, in chronological order (so no sort is needed)."""


def draw_labs(rng: np.random.Generator, p: Raw, as_of_day: int) -> tuple[Raw, np.ndarray]:
    """Up to five results per patient and test; returns the raw table and who has low hemoglobin.

    Slots: an old result (outside the 28-day window), an earlier repeat, the screening
    result, a rare conflicting same-day result, and a post-NMA-LD nadir result. Slots are
    chronological, so the rows come out ordered by patient, test and date without a sort.
    """
    n, t = len(p["consent_date"]), len(LAB_TESTS)
    consent = np.repeat(p["consent_date"], t)
    ld = np.repeat(p["lymphodepletion_date"], t)
    screening = np.repeat(p["workup"] >= 1, t) & ~chance(rng, n * t, P_LAB_MISSING)
    screening_day = consent + uniform_days(rng, -27, 7, n * t)
    dates = np.stack([
        consent - uniform_days(rng, 60, 365, n * t),
        screening_day - uniform_days(rng, 1, 20, n * t),
        screening_day,
        screening_day,
        ld + uniform_days(rng, 1, 7, n * t),
    ], axis=1)
    present = np.stack([
        chance(rng, n * t, P_LAB_HISTORY),
        screening & chance(rng, n * t, P_LAB_REPEAT),
        screening,
        screening & chance(rng, n * t, P_LAB_SAME_DAY),
        (ld != NO_DATE) & chance(rng, n * t, P_LAB_POST_LD),
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
        normal = lognormal(rng, model.median, model.sigma, n)
        abnormal = model.abnormal[0] + (model.abnormal[1] - model.abnormal[0]) * rng.random(n)
        columns.append(np.where(chance(rng, n, model.p_abnormal), abnormal, normal))
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
