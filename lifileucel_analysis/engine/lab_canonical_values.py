"""Each lab row's value in its test's canonical unit, a blank value or unit kept as the range it allows.

AST and ALT are given as a multiple of their ULN. A converted value (another unit, a ratio to the
ULN) is put back on the decimal grid and on the side of each limit that the typed value is, so
comparisons at a limit are exact in decimal terms (spec section 2): 34.2 umol/L is exactly
2.0 mg/dL, ALT 99.9 U/L with ULN 33.3 is exactly 3 x ULN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..contract.schema import LAB_TESTS, TESTS_NEEDING_ULN, UNIT_FACTORS, UNITS
from .decimals import on_decimal_grid
from .parameters import CriteriaParams


def lab_limits(params: CriteriaParams) -> dict[str, tuple[float, ...]]:
    """Per test, the limits I7 compares its result with: canonical unit, AST/ALT as x ULN."""
    return {
        "anc": (params.min_anc_10e9_per_l,),
        "platelets": (params.min_platelets_10e9_per_l,),
        "hemoglobin": (params.min_hemoglobin_g_per_dl,),
        "ast": (params.max_ast_alt_x_uln, params.max_ast_alt_x_uln_liver_metastases),
        "alt": (params.max_ast_alt_x_uln, params.max_ast_alt_x_uln_liver_metastases),
        "total_bilirubin": (params.max_bilirubin_mg_per_dl, params.max_bilirubin_mg_per_dl_gilbert),
        "creatinine_clearance": (params.min_creatinine_clearance_ml_per_min,),
    }


def canonical_bounds(labs: pd.DataFrame,
                     limits: Mapping[str, Sequence[float]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the lowest and highest value in the canonical unit its blanks allow.

    AST/ALT are given as a multiple of their ULN. Equal ends where value and unit are recorded.
    A computed value is on the same side of each of its test's ``limits`` as the typed value
    is of the limit in the row's own terms (:func:`_on_the_typed_side`).
    """
    low_factor = np.full((len(LAB_TESTS), len(UNITS) + 1), np.nan)  # last column: unit blank (code -1)
    high_factor = low_factor.copy()
    for t, units in UNIT_FACTORS.items():
        i = LAB_TESTS.index(t)
        for unit, factor in units.items():
            low_factor[i, UNITS.index(unit)] = high_factor[i, UNITS.index(unit)] = factor
        low_factor[i, -1], high_factor[i, -1] = min(units.values()), max(units.values())
    test = labs["test"].cat.codes.to_numpy()
    unit = labs["unit"].cat.codes.to_numpy()
    raw = labs["value"].to_numpy(dtype=float, na_value=np.nan)
    is_liver = np.isin(test, [LAB_TESTS.index(t) for t in TESTS_NEEDING_ULN])
    uln = labs["uln"].to_numpy(dtype=float, na_value=np.nan)
    blank = np.isnan(raw)

    def canonical(at: np.ndarray | slice, factors: np.ndarray, blank_as: float) -> np.ndarray:
        value = np.where(blank[at], blank_as, raw[at])
        factor = factors[test[at], unit[at]]
        with np.errstate(divide="ignore", invalid="ignore"):
            converted = np.where(is_liver[at], value / uln[at], value * factor)
        # A typed value in the canonical unit is already the double nearest its decimal; only a
        # computed one (another unit, a ratio to the ULN) is put back on the decimal grid.
        computed = np.flatnonzero(is_liver[at] | (factor != 1.0))
        converted[computed] = on_decimal_grid(converted[computed])
        if limits and len(computed):
            rows = np.arange(len(blank))[at][computed]
            with np.errstate(divide="ignore", invalid="ignore"):  # 1 / factor on its decimal: 17.1 for umol/L
                per_unit = on_decimal_grid((1.0 / factors).ravel()).reshape(factors.shape)
            divisor = np.where(is_liver[rows], uln[rows], per_unit[test[rows], unit[rows]])
            exact, typed = converted[computed], value[computed]
            for limit in _limit_slots(limits, test[rows]):
                exact = _on_the_typed_side(exact, typed, divisor, limit)
            converted[computed] = exact
        return converted

    low = canonical(slice(None), low_factor, 0.0)
    high = low.copy()
    open_rows = np.flatnonzero(blank | (unit < 0))  # rare: only these rows have two ends
    high[open_rows] = canonical(open_rows, high_factor, np.inf)
    return low, high


def _limit_slots(limits: Mapping[str, Sequence[float]], test: np.ndarray) -> list[np.ndarray]:
    """Per row, its test's first limit, second limit, ... (NaN where the test has fewer)."""
    width = max(len(v) for v in limits.values())
    table = np.full((len(LAB_TESTS), width), np.nan)
    for name, values in limits.items():
        table[LAB_TESTS.index(name), :len(values)] = values
    return [table[test, k] for k in range(width)]


def _on_the_typed_side(converted: np.ndarray, typed: np.ndarray, divisor: np.ndarray,
                       limit: np.ndarray) -> np.ndarray:
    """``converted`` (= ``typed / divisor``) moved onto the side of ``limit`` that the typed value is.

    A quotient such as 99.9000000000001 / 33.3 is not a finite decimal, and in doubles it
    can land on the limit (3) although the typed value is above 3 x 33.3 = 99.9. The limit
    in the row's terms, ``limit x divisor``, is a product of short decimals, which the
    decimal grid holds exactly; the typed value is compared with it, and the converted value
    is set to the limit on a tie, or to the next double beyond the limit where the two sides
    disagree. Comparisons with the limit are then exact in decimal terms (spec section 2).
    """
    out = converted.copy()
    # Only a value within a few parts in 10^13 of the limit can be on the wrong side of it.
    with np.errstate(invalid="ignore"):
        near = np.flatnonzero(np.abs(converted - limit) <= NEAR_A_LIMIT * np.abs(limit))
    typed, limit = typed[near], limit[near]
    in_terms = on_decimal_grid(limit * divisor[near])
    side = np.sign(typed - in_terms)
    moved = np.where(side == 0, limit, np.where(side > 0, np.maximum(out[near], np.nextafter(limit, np.inf)),
                                                 np.minimum(out[near], np.nextafter(limit, -np.inf))))
    out[near] = np.where(np.isnan(side), out[near], moved)
    return out


NEAR_A_LIMIT = 1e-12
"""Relative distance from a limit within which a converted value is checked against the typed one
(the grid's rounding moves a value by at most 5 parts in 10^15)."""
