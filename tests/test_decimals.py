"""Comparisons exact in decimal terms (spec section 2), judged by exact fractions.

The engine holds the contract's decimals in doubles; ``on_decimal_grid`` puts a converted
value back on its decimal before it meets a limit. Each property below builds decimals as
integers times a power of ten, converts them the way a lab result is converted, and asks
``fractions.Fraction`` (exact rational arithmetic, independent of the code under test)
which side of the limit the true value lies on.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import case_tables, outcome_row
from lifileucel_analysis.contract.cell_parsing import check_column, normalise
from lifileucel_analysis.contract.findings import Findings
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.contract.schema import TABLES
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.engine.decimals import decimal_text, on_decimal_grid
from lifileucel_analysis.engine.screening import screen

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
@given(decimals(max_digits=15, max_places=10))
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
    values = np.array([1.4999, 1500.0, np.nan, 0.0, 0.9999999999, 999.999999999999, 34.20000000000001, 1e-5])
    assert decimal_text(values).to_pylist() == ["1.4999", "1500", None, "0", "0.9999999999", "999.999999999999",
                                                "34.20000000000001", "0.00001"]


def test_a_typed_negative_zero_reads_as_zero() -> None:
    # Audit 36B: "steroid -0 mg/day <= 10"; the contract's ranges allow 0, and -0 is that value.
    assert decimal_text(np.array([-0.0, -0.5, 0.0])).to_pylist() == ["0", "-0.5", "0"]


# --- canonical_bounds: a converted result keeps its exact side of every limit ----------------

LIMITS = {"anc": (Fraction(1),), "platelets": (Fraction(100),), "hemoglobin": (Fraction(9),),
          "ast": (Fraction(3), Fraction(5)), "alt": (Fraction(3), Fraction(5)),
          "total_bilirubin": (Fraction(2), Fraction(3)), "creatinine_clearance": (Fraction(40),)}
EXACT_FACTORS = {"10^9/L": Fraction(1), "/uL": Fraction(1, 1000), "g/dL": Fraction(1), "g/L": Fraction(1, 10),
                 "U/L": Fraction(1), "mg/dL": Fraction(1), "umol/L": Fraction(10, 171), "mL/min": Fraction(1)}


def near_a_limit() -> st.SearchStrategy[tuple[str, str, Fraction, Fraction | None]]:
    """A lab row typed at, or a few units of its 15th significant digit from, a limit in its unit."""
    def row(test: str, unit_index: int, which: int, uln: Fraction, step: int, digits: int) -> tuple:
        units = [u for u, t in UNIT_OF.items() if test in t]
        unit = units[unit_index % len(units)]
        limit = LIMITS[test][which % len(LIMITS[test])]
        at = limit * (uln if test in ("ast", "alt") else 1) / EXACT_FACTORS[unit]  # the limit in the row's terms
        exponent = len(str(int(at))) - digits  # a step of one unit in the value's last typed digit
        return test, unit, at + step * Fraction(10) ** exponent, uln if test in ("ast", "alt") else None
    return st.builds(row, st.sampled_from(sorted(LIMITS)), st.integers(0, 1), st.integers(0, 1),
                     st.builds(lambda m, k: Fraction(m, 10 ** k), st.integers(1, 9999), st.integers(0, 2)),
                     st.integers(-3, 3), st.integers(10, 15))


UNIT_OF = {"10^9/L": ("anc", "platelets"), "/uL": ("anc", "platelets"), "g/dL": ("hemoglobin",),
           "g/L": ("hemoglobin",), "U/L": ("ast", "alt"), "mg/dL": ("total_bilirubin",),
           "umol/L": ("total_bilirubin",), "mL/min": ("creatinine_clearance",)}


def _decimal_digits(x: Fraction) -> int:
    """Significant digits of a finite decimal."""
    text = f"{x.numerator * 10 ** 30 // x.denominator}".rstrip("0")
    return len(text.lstrip("-"))


@settings(max_examples=400, deadline=None)
@given(st.lists(near_a_limit(), min_size=1, max_size=20))
def test_a_converted_result_is_on_the_side_of_each_limit_its_decimal_is(rows: list) -> None:
    """Values typed with up to 15 significant digits, a few last-digit units from a limit in their own
    unit (34.2 umol/L = 2 mg/dL, 99.9 U/L = 3 x ULN 33.3), judged by exact fractions."""
    from lifileucel_analysis.contract.schema import LAB_TESTS, UNITS
    from lifileucel_analysis.engine.lab_canonical_values import canonical_bounds

    rows = [r for r in rows if r[2] > 0 and _decimal_digits(r[2]) <= 15]
    if not rows:
        return
    labs = pd.DataFrame({
        "test": pd.Categorical([r[0] for r in rows], categories=LAB_TESTS),
        "unit": pd.Categorical([r[1] for r in rows], categories=UNITS),
        "value": [float(r[2]) for r in rows],
        "uln": [float(r[3]) if r[3] is not None else np.nan for r in rows],
    })
    limits = {test: tuple(float(v) for v in values) for test, values in LIMITS.items()}
    low, high = canonical_bounds(labs, limits)
    assert (low == high).all()
    for (test, unit, value, uln), got in zip(rows, low):
        exact = value * EXACT_FACTORS[unit] / (uln if uln is not None else 1)
        for limit in LIMITS[test]:
            assert np.sign(got - float(limit)) == np.sign(exact - limit), (test, unit, str(value), uln, limit, got)


def test_a_converted_value_is_shown_short_but_on_its_side_of_every_limit() -> None:
    from lifileucel_analysis.engine.decimals import decimal_text, shown_beside_limits

    # 42 umol/L = 2.456... mg/dL; 34.20001 umol/L = 2.0000005... mg/dL fails "<= 2", so "2" would read
    # against the outcome; 34.2 umol/L is 2 on the decimal grid; a blank stays blank.
    values = np.array([2.456140350877193, 2.000000584795322, 2.0, 8.4, np.nan])
    assert decimal_text(shown_beside_limits(values, (2.0, 3.0))).to_pylist() == ["2.46", "2.000001", "2", "8.4",
                                                                                 None]


# Values typed with more digits than a double holds (audit, session 22): read from CSV text.
# Each expected outcome is the side of the limit the typed decimal lies on, worked out by hand.
LONG_VALUES = [
    # (patient cells or a lab row, criterion, expected outcome)
    ({"resectable_lesion_cm": "1.4999999999999999"}, "I4", "fail"),    # 1e-16 below 1.5
    ({"resectable_lesion_cm": "1.5000000000000001"}, "I4", "pass"),    # above: passes as before
    ({"resectable_lesion_cm": "1.50000000000000000"}, "I4", "pass"),   # the limit, with zeros
    ({"life_expectancy_months": "2.9999999999999999"}, "I6", "fail"),  # below 3
    ({"steroid_mg_per_day": "10.0000000000000001"}, "E6", "fail"),     # above 10
    ({"steroid_mg_per_day": "9.99999999999999999"}, "E6", "pass"),
    ({"test": "alt", "value": "99.90000000000001", "unit": "U/L", "uln": "33.3"}, "I7", "fail"),  # > 3 x ULN
    ({"test": "anc", "value": "0.99999999999999999", "unit": "10^9/L", "uln": ""}, "I7", "fail"),
    ({"test": "platelets", "value": "99999.999999999999", "unit": "/uL", "uln": ""}, "I7", "fail"),
]


def _as_text_folder(root: Path, tables: dict[str, pd.DataFrame], cells: dict[str, str]) -> Path:
    """The tables as CSV files, with the given cells written as typed text (a lab row replaces that test's row)."""
    write_tables(tables, root, "csv")
    name = "labs" if "test" in cells else "patients"
    frame = pd.read_csv(root / f"{name}.csv", dtype=str, keep_default_na=False)
    at = frame.index[frame["test"] == cells["test"]][0] if name == "labs" else 0
    for column, text in cells.items():
        frame.loc[at, column] = text
    frame.to_csv(root / f"{name}.csv", index=False)
    return root


@pytest.mark.parametrize("cells, criterion, expected", LONG_VALUES)
def test_a_value_typed_beyond_a_doubles_digits_keeps_its_side_of_the_limit(tmp_path: Path, cells: dict[str, str],
                                                                             criterion: str, expected: str) -> None:
    folder = _as_text_folder(tmp_path / "case", case_tables(), cells)
    result = screen(load_dataset(folder))
    assert outcome_row(result, "P001", criterion)["outcome"] == expected


@settings(max_examples=300, deadline=None)
@given(limit=decimals(max_digits=4, max_places=2), extra=st.integers(14, 19), step=st.integers(-9, 9),
       mixed=st.booleans())
def test_a_long_decimal_is_read_on_its_side_of_every_short_limit(limit: Fraction, extra: int, step: int,
                                                                  mixed: bool) -> None:
    # A decimal a few units of its 16th-20th significant digit from a short limit, typed as text,
    # read by the contract's parser (the exact way: a long text never takes the fast one), alone or
    # (`mixed`) beside a short value in its column. Fraction says which side it is on.
    typed = limit + Fraction(step, 10 ** extra) * limit
    text = format(Decimal(typed.numerator) / Decimal(typed.denominator), "f")  # exact: a terminating decimal
    cells = pd.Series([text, "2.5"] if mixed else [text], dtype="string[pyarrow]")
    findings = Findings()
    column = TABLES["labs"].column("value")
    read = check_column("labs", column, normalise(cells, column.kind), findings).to_numpy()[0]
    assert not findings.problems
    assert np.sign(read - float(limit)) == np.sign(typed - limit)
