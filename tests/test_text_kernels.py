"""The Arrow fast paths for text columns give pandas' values, or step aside.

:mod:`lifileucel_analysis.contract.text_kernels` trims, blanks and parses whole text
columns in Arrow when the column is plain; pandas' ``str.strip``, ``to_numeric`` and
``to_datetime`` (what :mod:`lifileucel_analysis.contract.cell_parsing` falls back to) are
the judge. Texts are drawn from the characters that make the two differ if anything does:
signs, exponents, several dots, leading zeros, negative zero, long digit runs, Unicode
white space, impossible and implausible dates.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifileucel_analysis.contract import text_kernels as tk
from lifileucel_analysis.contract.cell_parsing import normalise
from lifileucel_analysis.contract.dataset import ContractError
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.contract.schema import TABLES
from lifileucel_analysis.paths import DEMO_DATASET

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def column(texts: list[str | None]) -> pa.ChunkedArray:
    """Texts as a two-chunk large_string column (the fast paths work chunk by chunk)."""
    half = len(texts) // 2
    return pa.chunked_array([pa.array(texts[:half], pa.large_string()), pa.array(texts[half:], pa.large_string())],
                            type=pa.large_string())


def same_floats(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit: NaN where NaN, the same sign of zero."""
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


@SETTINGS
@given(st.lists(st.text(alphabet=" \t\u00a0\u2003\x1cab\u00e9", max_size=4), min_size=1, max_size=12))
def test_trimming_and_blanks_are_pandas_strip_and_mask(texts: list[str]) -> None:
    fast = pd.Series(pd.array(tk.blank_as_null(tk.trim_text(column(texts))), dtype="str"))
    stripped = pd.Series(texts, dtype="str").str.strip()
    expected = stripped.mask(stripped == "")
    assert fast.isna().tolist() == expected.isna().tolist()
    assert fast.dropna().tolist() == expected.dropna().tolist()


NUMBER_TEXT = st.text(alphabet="0123456789.-+e ", min_size=1, max_size=20) | st.sampled_from(
    ["-0", "-0.0", "0", "007", "5.", ".5", "-.5", "1e5", "9007199254740993", "1234567890123456",
     "0.1", "2.675", "123456789012.345", "-", ".", "1.2.3"])


@SETTINGS
@given(st.lists(NUMBER_TEXT | st.none(), min_size=1, max_size=12))
def test_numbers_are_pandas_numbers_whenever_the_fast_way_answers(texts: list[str | None]) -> None:
    fast = tk.plain_numbers(column(texts))
    if fast is None:
        return
    expected = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").astype("float64").to_numpy()
    assert same_floats(fast, expected)
    assert not np.isnan(fast[[t is not None for t in texts]]).any()


def test_plain_number_columns_take_the_fast_way() -> None:
    texts = ["1.84", "150", None, "0.5", "-3", "12345.678", "5.", ".25"]
    fast = tk.plain_numbers(column(texts))
    assert fast is not None
    assert same_floats(fast, np.array([1.84, 150, np.nan, 0.5, -3, 12345.678, 5.0, 0.25]))
    assert tk.plain_numbers(column(["1", "-0"])) is None  # pandas reads -0 as the integer 0
    assert tk.plain_numbers(column(["1", "N/A"])) is None  # the pandas way words the problem


DATE_TEXT = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1, 2200), st.integers(0, 13),
                      st.integers(0, 32)) | st.text(alphabet="0123456789-/ T", min_size=8, max_size=12)


@SETTINGS
@given(st.lists(DATE_TEXT | st.none(), min_size=1, max_size=10))
def test_dates_are_pandas_dates_whenever_the_fast_way_answers(texts: list[str | None]) -> None:
    fast = tk.plain_dates(column(texts))
    if fast is None:
        return
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), format="%Y-%m-%d", errors="coerce")
    expected = parsed.astype("datetime64[s]").to_numpy()
    assert fast.dtype == np.dtype("datetime64[s]")
    assert np.array_equal(fast, expected, equal_nan=True)
    given_days = fast[~np.isnat(fast)]
    assert ((given_days >= np.datetime64("1900-01-01")) & (given_days <= np.datetime64("2099-12-31"))).all()


def test_plain_date_columns_take_the_fast_way() -> None:
    fast = tk.plain_dates(column(["2022-05-30", None, "2000-02-29", "1900-01-01", "2099-12-31"]))
    assert fast is not None and str(fast[2]) == "2000-02-29T00:00:00"
    for bad in ("2022-02-30", "1899-12-31", "2022-5-30", "30/05/2022", "2100-01-01"):
        assert tk.plain_dates(column(["2022-05-30", bad])) is None


@pytest.mark.parametrize("kind", ["text", "number", "date", "code"])
def test_normalise_gives_the_same_column_for_arrow_and_python_text(kind: str) -> None:
    texts = ["  a ", "", "b", "\u00a0c\u2003", " ", "d"]
    arrow = pd.Series(pd.array(column(texts), dtype="str"))
    python = pd.Series(np.array(texts, dtype=object))  # the workbook way: Python strings
    pd.testing.assert_series_equal(normalise(arrow, kind), normalise(python, kind))


def test_problems_of_many_columns_are_reported_in_column_order(tmp_path: Path) -> None:
    """Columns are checked on both cores; the problems still come in the contract's column order."""
    folder = tmp_path / "data"
    shutil.copytree(DEMO_DATASET, folder)
    patients = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    bad = {"sex": "m?", "birth_date": "13/07/1961", "ecog": "two", "life_expectancy_months": "lots",
           "steroid_mg_per_day": "N/A", "consent_date": "2024-02-30"}
    for column, value in bad.items():
        patients.loc[[3, 7], column] = value
    patients.to_csv(folder / "patients.csv", index=False)
    with pytest.raises(ContractError) as raised:
        load_dataset(folder)
    columns = [p.column for p in raised.value.problems]
    order = list(TABLES["patients"].column_names)
    assert sorted(set(columns), key=order.index) == [c for c in order if c in bad]
    assert columns == sorted(columns, key=order.index)  # grouped by column, in contract order
    assert [p.row for p in raised.value.problems if p.column == "ecog"] == [4, 8]


def test_an_excel_true_cell_is_yes_only_in_a_yes_no_column() -> None:
    # openpyxl gives a boolean cell as True: an ID typed TRUE must stay "TRUE" (the event rows
    # that refer to it hold that text), not become the patient "yes".
    cells = pd.Series([True, False, "P3", None], dtype=object)
    assert normalise(cells, "id").tolist()[:3] == ["TRUE", "FALSE", "P3"]
    assert normalise(cells, "yesno").tolist()[:3] == ["yes", "no", "P3"]
