"""Comparisons exact in decimal terms (spec section 2), judged by exact fractions.

The engine holds the contract's decimals in doubles; ``on_decimal_grid`` puts a converted
value back on its decimal before it meets a limit. Each property below builds decimals as
integers times a power of ten, converts them the way a lab result is converted, and asks
``fractions.Fraction`` (exact rational arithmetic, independent of the code under test)
which side of the limit the true value lies on.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lifileucel_analysis.engine.decimals import decimal_text, on_decimal_grid

# (multiply by, divide by) as lab_results converts to the canonical unit; 17.1 umol/L per mg/dL.
CONVERSIONS = {"/uL": (Fraction(1, 1000), 1e-3), "g/L": (Fraction(1, 10), 0.1), "umol/L": (Fraction(10, 171), None)}


def decimals(max_digits: int = 10, max_places: int = 6) -> st.SearchStrategy[Fraction]:
    """Positive decimals of up to ``max_digits`` significant digits and ``max_places`` decimals."""
    return st.builds(lambda m, k: Fraction(m, 10 ** k), st.integers(1, 10 ** max_digits - 1),
                     st.integers(0, max_places))


def as_double(x: Fraction) -> float:
    return float(x)  # the nearest double, as the CSV reader gives it


def converted(value: Fraction, unit: str) -> float:
    factor = CONVERSIONS[unit][1]
    typed = as_double(value)
    return typed / 17.1 if factor is None else typed * factor


@settings(max_examples=400, deadline=None)
@given(decimals(max_digits=14, max_places=10))
def test_a_typed_decimal_comes_back_unchanged(value: Fraction) -> None:
    typed = as_double(value)
    assert on_decimal_grid(np.array([typed]))[0] == typed


@settings(max_examples=400, deadline=None)
@given(value=decimals(), limit=decimals(max_digits=4, max_places=2), unit=st.sampled_from(sorted(CONVERSIONS)))
def test_a_converted_value_lies_on_the_same_side_of_a_limit_as_its_decimal(value: Fraction, limit: Fraction,
                                                                           unit: str) -> None:
    exact = value * CONVERSIONS[unit][0]
    snapped = on_decimal_grid(np.array([converted(value, unit)]))[0]
    assert np.sign(snapped - as_double(limit)) == np.sign(exact - limit)


@settings(max_examples=400, deadline=None)
@given(limit=decimals(max_digits=4, max_places=2), unit=st.sampled_from(sorted(CONVERSIONS)))
def test_a_value_typed_at_a_limit_in_another_unit_lands_on_it(limit: Fraction, unit: str) -> None:
    at_limit = limit / CONVERSIONS[unit][0]  # e.g. 2.0 mg/dL typed as 34.2 umol/L
    assert on_decimal_grid(np.array([converted(at_limit, unit)]))[0] == as_double(limit)


@settings(max_examples=400, deadline=None)
@given(value=decimals(max_places=3), uln=decimals(max_digits=4, max_places=1), times=st.integers(1, 10))
def test_a_ratio_to_the_uln_is_exact(value: Fraction, uln: Fraction, times: int) -> None:
    snapped = on_decimal_grid(np.array([as_double(value) / as_double(uln)]))[0]
    assert np.sign(snapped - times) == np.sign(value / uln - times)
    on_limit = on_decimal_grid(np.array([as_double(uln * times) / as_double(uln)]))[0]
    assert on_limit == times  # 99.9 / 33.3 is 3 x ULN


def test_the_text_of_a_number_is_what_was_typed() -> None:
    values = np.array([1.4999, 1500.0, 0.1 + 0.2, 99.9 / 33.3, np.nan, 0.0, 0.9999999999])
    assert decimal_text(values).to_pylist() == ["1.4999", "1500", "0.3", "3", None, "0", "0.9999999999"]
