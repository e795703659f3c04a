"""Why a possibly adjuvant anti-PD-(L)1 line's recurrence window is open, said and asked from one case.

:func:`lifileucel_analysis.engine.common_rules.window_cases` gives each line a
:class:`~lifileucel_analysis.engine.common_rules.WindowCase`; the evidence
(:func:`~lifileucel_analysis.engine.common_rules.window_open_reasons`) and the request
(:func:`~lifileucel_analysis.engine.common_rules.window_requests`) are looked up from it. One
line per case below, with the case, the sentence and the request typed out.
"""

from __future__ import annotations

import pandas as pd
import pytest

from lifileucel_analysis.engine.common_rules import WindowCase, window_cases, window_open_reasons, window_requests
from lifileucel_analysis.engine.facts import earliest_qualifying_end

# case, recurrence_in_window, start, end, stop reason, recurrence, reason (6 months), request
CASES = [
    (WindowCase.CLOSED, True, "2024-01-01", None, None, None, "", ""),
    (WindowCase.BEFORE_START, None, "2024-03-01", "2024-05-01", "progression", "2024-01-15",
     "recurrence 2024-01-15 before its start 2024-03-01, so one of the two is wrong",
     "therapies.recurrence_date (line 2); therapies.start_date (line 2)"),
    (WindowCase.STOPPED_NO_RECURRENCE, None, "2024-01-01", None, "completed", None,
     "end date not recorded although stopped (completed), recurrence date not recorded",
     "therapies.end_date (line 3); therapies.recurrence_date (line 3)"),
    (WindowCase.STOPPED_NO_START, None, None, None, "completed", "2025-01-15",
     "end date not recorded although stopped (completed): recurrence 2025-01-15, start date not recorded",
     "therapies.end_date (line 4)"),
    (WindowCase.STOPPED, None, "2024-01-01", None, "completed", "2025-01-15",
     "end date not recorded although stopped (completed): recurrence 2025-01-15 more than 6 months after its start "
     "2024-01-01, so it qualifies if it ended on or after 2024-07-15",
     "therapies.end_date (line 5)"),
    (WindowCase.NO_RECURRENCE, None, "2024-01-01", "2024-05-01", "progression", None,
     "recurrence date not recorded: it qualifies if on or before 2024-11-01, 6 months after its end 2024-05-01",
     "therapies.recurrence_date (line 6)"),
    (WindowCase.OTHER, None, "2024-01-01", "2024-05-01", "progression", "2025-01-15", "",
     "therapies.recurrence_date (line 7)"),
]


def _lines() -> pd.DataFrame:
    """One adjuvant anti-PD-(L)1 line per case, numbered 1, 2, ... in the order of :data:`CASES`."""
    def dates(k: int) -> pd.Series:
        return pd.to_datetime(pd.Series([row[k] for row in CASES])).astype("datetime64[s]")

    return pd.DataFrame({
        "line": pd.Series(range(1, len(CASES) + 1), dtype="Int64"),
        "setting": pd.Series(["adjuvant"] * len(CASES), dtype="category"),
        "pd1": pd.Series([True] * len(CASES), dtype="boolean"),
        "recurrence_in_window": pd.Series([row[1] for row in CASES], dtype="boolean"),
        "start_date": dates(2), "end_date": dates(3),
        "stop_reason": pd.Series([row[4] for row in CASES], dtype="category"),
        "recurrence_date": dates(5),
    })


def test_each_case_is_said_and_asked() -> None:
    lines = _lines()
    named = pd.Series([f" (line {n})" for n in lines["line"]])
    assert window_cases(lines).tolist() == [row[0] for row in CASES]
    assert window_open_reasons(lines, 6).tolist() == [row[6] for row in CASES]
    assert window_requests(lines, named).tolist() == [row[7] for row in CASES]


def test_no_line_no_case() -> None:
    lines = _lines().iloc[:0]
    assert window_cases(lines).tolist() == []
    assert window_requests(lines, pd.Series([], dtype=str)).tolist() == []


@pytest.mark.parametrize(("recurrence", "months", "earliest_end"), [
    # By hand: the earliest end E with E + months (clipped to the month's end) on or after the recurrence.
    ("2025-01-15", 6, "2024-07-15"),  # 2024-07-15 + 6 = 2025-01-15; 2024-07-14 + 6 = 2025-01-14
    ("2025-02-28", 6, "2024-08-28"),  # 2024-08-28 + 6 = 2025-02-28; 2024-08-27 + 6 = 2025-02-27
    ("2025-03-31", 6, "2024-10-01"),  # 2024-09-30 + 6 = 2025-03-30, short; 2024-10-01 + 6 = 2025-04-01
    ("2025-08-31", 6, "2025-03-01"),  # 2025-02-28 + 6 = 2025-08-28, short; 2025-03-01 + 6 = 2025-09-01
    ("2024-08-29", 6, "2024-02-29"),  # 2024-02-29 + 6 = 2024-08-29; 2024-02-28 + 6 = 2024-08-28
    ("2025-03-31", 1, "2025-03-01"),  # 2025-02-28 + 1 = 2025-03-28, short; 2025-03-01 + 1 = 2025-04-01
])
def test_the_earliest_end_that_qualifies_a_recurrence(recurrence: str, months: int, earliest_end: str) -> None:
    dates = pd.Series(pd.to_datetime([recurrence])).astype("datetime64[s]")
    assert earliest_qualifying_end(dates, months).dt.strftime("%Y-%m-%d").tolist() == [earliest_end]
