"""A criterion waived in more than one row of ``overrides`` (docs/criteria.md, "A criterion
waived in several rows"): read, not refused, since the spec gives overrides no key.

Expected sentences, rows and orders are written out by hand from the rules in the docs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from helpers import case_tables, concat_tables
from helpers import outcome_row as outcome
from lifileucel_analysis.contract.data_cut import apply_cut
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.report.sdtm_inputs import screening_from_result

STEROID_15 = {"steroid_mg_per_day": 15}
FIRST = {"criterion_id": "E6", "approved_by": "medical monitor", "approved_date": "2025-03-02",
         "reason": "taper documented"}
EARLIER = {"criterion_id": "E6", "approved_by": "principal investigator", "approved_date": "2025-02-27",
           "reason": "second opinion"}


def screened(*parts: dict[str, pd.DataFrame], cut: dt.date | None = None) -> object:
    dataset = ScreeningDataset(**concat_tables(list(parts)), source="in memory")
    return screen(dataset if cut is None else apply_cut(dataset, cut)[0])


def test_two_documented_waivers_cite_the_earliest_first_and_list_both() -> None:
    result = screened(case_tables(STEROID_15, patient_id="A", overrides=[FIRST, EARLIER]))
    row = outcome(result, "A", "E6")
    assert row["outcome"] == "waived"
    assert row["evidence"] == ("waived by principal investigator on 2025-02-27: second opinion; also waived by "
                               "medical monitor on 2025-03-02: taper documented (was fail: steroid 15 mg/day > 10)")
    assert result.waivers[["approved_by", "approved_date"]].astype(str).values.tolist() == [
        ["principal investigator", "2025-02-27"], ["medical monitor", "2025-03-02"]]
    assert result.verdicts["waived"].tolist() == ["E6"]
    assert result.findings[["row", "column", "value"]].values.tolist() == [[1, "criterion_id", "E6"],
                                                                         [2, "criterion_id", "E6"]]
    assert result.findings["finding"].iloc[0] == ("E6 has 2 override rows for this patient: it is waived if any of "
                                                  "them applies (at a data cut, one approved by the cut), and the "
                                                  "waivers table lists each one applied")


def test_one_deviation_per_waived_criterion_in_sdtm() -> None:
    waivers = screening_from_result(screened(case_tables(STEROID_15, patient_id="A",
                                                         overrides=[FIRST, EARLIER]))).waivers
    assert waivers.values.tolist() == [["A", "E6", "2025-02-27", "fail"]]


def test_an_unsigned_row_beside_a_signed_one_is_listed_after_it() -> None:
    # Both rows are documented waivers (session 30); the one with its approver speaks first.
    unsigned = {**FIRST, "approved_by": None}
    result = screened(case_tables(STEROID_15, patient_id="A", overrides=[unsigned, EARLIER]))
    row = outcome(result, "A", "E6")
    assert (row["outcome"], row["missing"]) == ("waived", "")
    assert row["evidence"] == ("waived by principal investigator on 2025-02-27: second opinion; also waived on "
                               "2025-03-02, approver not recorded: taper documented "
                               "(was fail: steroid 15 mg/day > 10)")
    assert result.waivers["approved_by"].fillna("(blank)").tolist() == ["principal investigator", "(blank)"]
    found = result.findings[result.findings["column"] == "approved_by"]
    assert found[["row", "finding"]].values.tolist() == [
        [1, "waiver of E6: who approved the waiver is not recorded: that alone does not stop it (each override row "
            "is a documented waiver); record the approver so that its role can be checked"]]


def test_two_unsigned_rows_waive_and_ask_nothing() -> None:
    result = screened(case_tables(STEROID_15, patient_id="A",
                                  overrides=[{**FIRST, "approved_by": None}, {**EARLIER, "approved_by": None}]))
    row = outcome(result, "A", "E6")
    assert (row["outcome"], row["missing"]) == ("waived", "")
    assert row["evidence"] == ("waived on 2025-02-27, approver not recorded: second opinion; also waived on "
                               "2025-03-02, approver not recorded: taper documented (was fail: steroid 15 mg/day "
                               "> 10)")
    assert len(result.waivers) == 2 and result.missing_data.empty
    assert result.findings["column"].tolist().count("approved_by") == 2


def test_at_a_cut_the_dated_waiver_speaks_and_the_undated_one_is_not_applied() -> None:
    undated = {**FIRST, "approved_date": None}
    result = screened(case_tables(STEROID_15, patient_id="A", overrides=[undated, EARLIER]), cut=dt.date(2025, 3, 10))
    row = outcome(result, "A", "E6")
    assert row["outcome"] == "waived"
    assert row["evidence"] == ("waived by principal investigator on 2025-02-27: second opinion "
                               "(was fail: steroid 15 mg/day > 10)")
    assert result.waivers["approved_by"].tolist() == ["principal investigator"]
    # An unsigned row dated by the cut applies there; the undated one does not.
    unsigned_dated = screened(case_tables(STEROID_15, patient_id="A", overrides=[
        {**FIRST, "approved_by": None}, undated]), cut=dt.date(2025, 3, 10))
    row = outcome(unsigned_dated, "A", "E6")
    assert (row["outcome"], row["missing"]) == ("waived", "")
    assert row["evidence"] == ("waived on 2025-03-02, approver not recorded: taper documented "
                               "(was fail: steroid 15 mg/day > 10)")
    assert unsigned_dated.waivers["approved_date"].astype(str).tolist() == ["2025-03-02"]
    # Undated and unsigned at the cut: only the date is asked for.
    neither = screened(case_tables(STEROID_15, patient_id="A", overrides=[{**undated, "approved_by": None}]),
                       cut=dt.date(2025, 3, 10))
    assert (outcome(neither, "A", "E6")["outcome"], outcome(neither, "A", "E6")["missing"]) == (
        "unknown", "overrides.approved_date (waiver of E6)")
    # Without the cut both apply, the dated one first.
    row = outcome(screened(case_tables(STEROID_15, patient_id="A", overrides=[undated, EARLIER])), "A", "E6")
    assert row["evidence"] == ("waived by principal investigator on 2025-02-27: second opinion; also waived by "
                               "medical monitor, approval date not recorded: taper documented (was fail: steroid 15 "
                               "mg/day > 10)")


def test_the_same_date_is_said_in_file_order_and_other_patients_are_untouched() -> None:
    same_day = {**EARLIER, "approved_date": "2025-03-02"}
    result = screened(case_tables(STEROID_15, patient_id="A", overrides=[FIRST, same_day, "I6"]),
                      case_tables(STEROID_15, patient_id="B", overrides=[FIRST]))
    assert outcome(result, "A", "E6")["evidence"].startswith(
        "waived by medical monitor on 2025-03-02: taper documented; also waived by principal investigator on "
        "2025-03-02: second opinion (was fail")
    assert outcome(result, "B", "E6")["evidence"] == ("waived by medical monitor on 2025-03-02: taper documented "
                                                      "(was fail: steroid 15 mg/day > 10)")
    assert result.waivers[["patient_id", "criterion_id", "approved_by"]].astype(str).values.tolist() == [
        ["A", "I6", "medical monitor"], ["A", "E6", "medical monitor"], ["A", "E6", "principal investigator"],
        ["B", "E6", "medical monitor"]]


def test_a_csv_with_two_differing_waivers_loads(tmp_path: Path) -> None:
    from lifileucel_analysis.contract.loading import load_dataset
    from lifileucel_analysis.contract.writing import write_tables

    tables = concat_tables([case_tables(STEROID_15, patient_id="A", overrides=[FIRST, EARLIER])])
    write_tables(tables, tmp_path / "d")
    dataset = load_dataset(tmp_path / "d")
    assert len(dataset.overrides) == 2 and not dataset.warnings
    assert screen(dataset).waivers["reason"].tolist() == ["second opinion", "taper documented"]


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_the_file_order_of_the_rows_does_not_change_the_outcome(order: list[int]) -> None:
    rows = [FIRST, EARLIER]
    result = screened(case_tables(STEROID_15, patient_id="A", overrides=[rows[i] for i in order]))
    assert outcome(result, "A", "E6")["evidence"].startswith("waived by principal investigator on 2025-02-27")
