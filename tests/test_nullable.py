"""The yes/no helpers of :mod:`lifileucel_analysis.engine.nullable`, as literal truth tables.

Each helper maps yes / no / blank to a plain ``bool`` Series aligned with its input; the
tables below are the module docstring's, typed out, so a helper that sends a blank the
other way fails here. ``surely`` and ``possibly`` also take a plain ``bool`` condition
(a date comparison) and a ``boolean`` one built from a nullable column (``Int64 == 5``).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from lifileucel_analysis.engine.nullable import (is_blank, is_no, is_yes, no_or_blank, possibly, surely,
                                                 when_blank_then, yes_or_blank)

YES_NO_BLANK = pd.Series([True, False, pd.NA], dtype="boolean", index=[10, 20, 30])
"""yes, no, blank; an index other than 0..2, to show the output keeps it."""

TABLES: dict[str, tuple[Callable[[pd.Series], pd.Series], list[bool]]] = {
    #                 helper         yes    no     blank
    "is_yes": (is_yes, [True, False, False]),
    "is_no": (is_no, [False, True, False]),
    "is_blank": (is_blank, [False, False, True]),
    "yes_or_blank": (yes_or_blank, [True, False, True]),
    "no_or_blank": (no_or_blank, [False, True, True]),
    "surely": (surely, [True, False, False]),
    "possibly": (possibly, [True, False, True]),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_truth_table(name: str) -> None:
    helper, expected = TABLES[name]
    out = helper(YES_NO_BLANK)
    assert out.tolist() == expected
    assert out.dtype == bool
    assert list(out.index) == [10, 20, 30]


@pytest.mark.parametrize("value, expected", [(True, [True, False, True]), (False, [True, False, False])])
def test_when_blank_then(value: bool, expected: list[bool]) -> None:
    assert when_blank_then(YES_NO_BLANK, value).tolist() == expected


def test_surely_and_possibly_of_a_nullable_comparison() -> None:
    """``grade == 5`` on an ``Int64`` column is blank where the grade is: surely no, possibly yes."""
    grade = pd.Series([5, 3, pd.NA], dtype="Int64")
    assert surely(grade == 5).tolist() == [True, False, False]
    assert possibly(grade == 5).tolist() == [True, False, True]


def test_surely_and_possibly_keep_a_plain_condition() -> None:
    """A condition without blanks (NaT compares False) comes back as it was."""
    dates = pd.Series(pd.to_datetime(["2024-01-01", None, "2024-03-01"]))
    after = dates > pd.Timestamp("2024-02-01")
    assert surely(after).tolist() == possibly(after).tolist() == [False, False, True]
    assert surely(after).dtype == possibly(after).dtype == bool
