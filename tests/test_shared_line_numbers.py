"""Two therapy lines of one patient with the same number (docs/criteria.md, I2 "Lines that share
a number"): read, not refused, since the spec gives therapies no key. Their order is not
recorded, so each may be the later one, and I2 decides only where both orders agree.

Expected outcomes, sentences and rows are written out by hand from the spec and the docs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers import case_tables, concat_tables
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.report.field_requests import field_label

NIVO, IPI, DAB = "nivolumab", "ipilimumab", "dabrafenib+trametinib"


def line(n: int | None, agents: str, best: str = "pd", stop: str = "progression",
         setting: str = "metastatic") -> dict[str, Any]:
    return {"line": n, "setting": setting, "agents": agents, "start_date": "2023-10-01", "end_date": "2024-06-30",
            "best_response": best, "stop_reason": stop, "recurrence_date": None}


def i2(*therapies: dict[str, Any]) -> pd.Series:
    result = screen(ScreeningDataset(**concat_tables([case_tables(None, list(therapies), patient_id="A")]),
                                     source="in memory"))
    return result.outcomes.set_index("criterion_id").loc["I2"]


def test_the_latest_two_disagree_so_i2_is_unknown_and_asks_for_the_numbers() -> None:
    row = i2(line(1, DAB), line(2, NIVO), line(2, IPI, best="pr", stop="completed"))
    assert row["outcome"] == "unknown"
    # Both rows say 2: what the site can answer is which of them came later (audit, session 20).
    asked = "therapies.line (line 2: which of its lines came later)"
    assert row["evidence"] == ("most recent counted line unclear: line 2 (nivolumab), line 2 (ipilimumab) have the "
                               "same line number, and which came later is not recorded; would be decided by " + asked)
    assert row["missing"] == asked
    assert field_label(asked) == "prior therapy line number (line 2: which of its lines came later)"


def test_both_progressed_so_either_order_passes() -> None:
    row = i2(line(1, DAB), line(2, NIVO), line(2, IPI))
    assert row["outcome"] == "pass"
    # The evidence does not say which of the two is the later one: that is not recorded.
    assert row["evidence"] == ("3 counted prior lines, within 1-4; anti-PD-(L)1 in line 2 (nivolumab); most recent "
                               "counted line: one of line 2 (nivolumab), line 2 (ipilimumab) (same line number), each "
                               "of which shows progression, intolerance, non-response or a qualifying recurrence")


def test_neither_progressed_so_either_order_fails() -> None:
    row = i2(line(2, NIVO, best="cr", stop="completed"), line(2, IPI, best="pr", stop="completed"))
    assert row["outcome"] == "fail"
    assert row["evidence"] == ("most recent counted line: one of line 2 (nivolumab), line 2 (ipilimumab) (same line "
                               "number), none of which shows progression, intolerance, non-response or a qualifying "
                               "recurrence")


def test_a_line_of_the_number_that_may_not_count_is_not_left_out_of_the_latest() -> None:
    # The adjuvant nivolumab line 2 counts only if it recurred within 6 months (date blank):
    # either way the most recent counted line is one of the two lines numbered 2, both pass
    # (an anti-PD-1 line counts in line 1 either way).
    adjuvant = {**line(2, NIVO, setting="adjuvant"), "recurrence_date": None}
    row = i2(line(1, "pembrolizumab"), line(2, "dacarbazine"), adjuvant)
    assert row["outcome"] == "pass"
    assert row["evidence"].endswith("most recent counted line: one of line 2 (dacarbazine), line 2 (nivolumab) "
                                    "(same line number), each of which shows progression, intolerance, "
                                    "non-response or a qualifying recurrence")


def test_a_higher_line_that_may_count_keeps_its_own_sentence() -> None:
    # Line 3 is adjuvant anti-PD-1 without a recurrence date after its end: it may count or not.
    # Whether it counts decides; the two lines numbered 2 are not said to be the most recent.
    adjuvant = {**line(3, "pembrolizumab", setting="adjuvant"), "recurrence_date": None}
    row = i2(line(2, NIVO, best="cr", stop="completed"), line(2, IPI, best="pr", stop="completed"), adjuvant)
    assert row["outcome"] == "unknown"
    assert "one of line 2" not in row["evidence"]


def test_a_shared_number_below_the_latest_line_changes_nothing() -> None:
    row = i2(line(1, IPI, best="cr", stop="completed"), line(1, DAB), line(2, NIVO))
    assert (row["outcome"], row["missing"]) == ("pass", "")


def test_the_anti_pd1_line_may_be_the_one_without_progression() -> None:
    # ipilimumab progressed, nivolumab did not: nivolumab latest fails; ipilimumab latest passes
    # (the anti-PD-1 line counts below it).
    assert i2(line(1, IPI), line(1, NIVO, best="pr", stop="completed"))["outcome"] == "unknown"


def test_the_lines_count_one_each() -> None:
    # Five lines, two of them numbered 4: more than four counted lines fail I2 in every order.
    row = i2(line(1, DAB), line(2, IPI), line(3, NIVO), line(4, NIVO), line(4, IPI))
    assert row["outcome"] == "fail"
    assert row["evidence"].startswith("5 counted prior lines > 4")


def test_a_blank_stop_reason_of_a_tied_line_is_asked_once_with_the_number() -> None:
    row = i2(line(2, NIVO), line(2, IPI, best=None, stop=None))
    assert row["outcome"] == "unknown"
    assert row["missing"] == ("therapies.line (line 2: which of its lines came later); therapies.stop_reason "
                              "(line 2 (ipilimumab)); therapies.best_response (line 2 (ipilimumab))")


def test_two_lines_with_one_number_and_the_same_agents_are_asked_for_once() -> None:
    row = i2(line(2, NIVO), line(2, NIVO, best="pr", stop="completed"))
    assert (row["outcome"], row["missing"]) == ("unknown", "therapies.line (line 2: which of its lines came later)")


def test_a_line_without_a_number_beside_a_shared_number_names_both() -> None:
    row = i2(line(None, "temozolomide"), line(2, "dacarbazine"), line(2, IPI, best="cr", stop="completed"),
             line(1, NIVO))
    assert row["outcome"] == "unknown"
    assert row["evidence"].startswith(
        "most recent counted line unclear: line without a number (temozolomide) may be the most recent (its place "
        "among the lines is not recorded); line 2 (dacarbazine), line 2 (ipilimumab) have the same line number, and which came "
        "later is not recorded")


def test_each_row_of_a_shared_number_is_a_finding() -> None:
    result = screen(ScreeningDataset(**concat_tables([case_tables(None, [line(1, DAB), line(1, NIVO)],
                                                                  patient_id="A")]), source="in memory"))
    found = result.findings[result.findings["column"] == "line"]
    assert found[["row", "value", "finding"]].values.tolist() == [
        [1, "1", "line 1 is recorded in 2 rows: which came first is not recorded (I2 reads them in either order)"],
        [2, "1", "line 1 is recorded in 2 rows: which came first is not recorded (I2 reads them in either order)"]]
    assert not (result.findings["finding"].str.contains("out of date order")).any()
