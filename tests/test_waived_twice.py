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
                                                  "them is documented (its approver recorded), and the waivers table "
                                                  "lists each documented one")


def test_one_deviation_per_waived_criterion_in_sdtm() -> None:
    waivers = screening_from_result(screened(case_tables(STEROID_15, patient_id="A",
                                                         overrides=[FIRST, EARLIER]))).waivers
    assert waivers.values.tolist() == [["A", "E6", "2025-02-27", "fail"]]


def test_an_unsigned_row_beside_a_documented_one_is_waived_and_asks_nothing() -> None:
    unsigned = {**FIRST, "approved_by": None}
    result = screened(case_tables(STEROID_15, patient_id="A", overrides=[unsigned, EARLIER]))
    row = outcome(result, "A", "E6")
    assert (row["outcome"], row["missing"]) == ("waived", "")
    assert row["evidence"] == ("waived by principal investigator on 2025-02-27: second opinion "
                               "(was fail: steroid 15 mg/day > 10)")
    assert result.waivers["approved_by"].tolist() == ["principal investigator"]
    found = result.findings[result.findings["column"] == "approved_by"]
    assert found[["row", "finding"]].values.tolist() == [
        [1, "waiver of E6: who approved this row's waiver is not recorded; another row with its approver waives "
            "the criterion"]]


def test_two_unsigned_rows_ask_once() -> None:
    result = screened(case_tables(STEROID_15, patient_id="A",
                                  overrides=[{**FIRST, "approved_by": None}, {**EARLIER, "approved_by": None}]))
    row = outcome(result, "A", "E6")
    assert (row["outcome"], row["missing"]) == ("unknown", "overrides.approved_by (waiver of E6)")
    assert row["evidence"] == ("a waiver of E6 is on file without its approver (approved_by not recorded): waived once "
                               "its approver is recorded, otherwise fail: steroid 15 mg/day > 10")
    assert result.waivers.empty
    assert result.missing_data["fields"].tolist() == ["overrides.approved_by (waiver of E6)"]


def test_at_a_cut_the_dated_waiver_speaks_and_the_undated_one_is_not_applied() -> None:
    undated = {**FIRST, "approved_date": None}
    result = screened(case_tables(STEROID_15, patient_id="A", overrides=[undated, EARLIER]), cut=dt.date(2025, 3, 10))
    row = outcome(result, "A", "E6")
    assert row["outcome"] == "waived"
    assert row["evidence"] == ("waived by principal investigator on 2025-02-27: second opinion "
                               "(was fail: steroid 15 mg/day > 10)")
    assert result.waivers["approved_by"].tolist() == ["principal investigator"]
    unsigned_undated = screened(case_tables(STEROID_15, patient_id="A", overrides=[
        {**FIRST, "approved_by": None}, undated]), cut=dt.date(2025, 3, 10))
    assert outcome(unsigned_undated, "A", "E6")["outcome"] == "unknown"
    found = unsigned_undated.findings.set_index("column")["finding"]
    # At the cut neither row applies, so the unsigned one is not said to be waived by the other.
    assert found["approved_by"] == ("waiver of E6: who approved the waiver is not recorded: it is not applied until "
                                    "it is (a failing or unknown outcome is unknown meanwhile)")
    # Without the cut both apply, the dated one first.
    row = outcome(screened(case_tables(STEROID_15, patient_id="A", overrides=[undated, EARLIER])), "A", "E6")
    assert row["evidence"] == ("waived by principal investigator on 2025-02-27: second opinion; also waived by "
                               "medical monitor on (date not recorded): taper documented (was fail: steroid 15 "
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
