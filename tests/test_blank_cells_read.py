"""Blank cells that used to stop the whole screen and are now read: an override's approver, date or
reason, and a lab row's test (docs/criteria.md, "Blank cells of an override" and I7 "Blank test").

Expected sentences and rows are written out by hand from the rules in the docs.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from helpers import case_tables, concat_tables
from helpers import outcome_row as outcome
from lifileucel_analysis.contract.data_cut import apply_cut
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine import lab_namings
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.report.field_requests import field_label


def screened(*parts: dict[str, pd.DataFrame]) -> object:
    return screen(ScreeningDataset(**concat_tables(list(parts)), source="in memory"))


def test_a_waiver_without_its_approver_is_applied_and_is_a_finding() -> None:
    # Session 30 (audits 28A and 29A labelled it so from the spec alone): every override row is
    # "a documented waiver"; any approver filled in would apply it, so a blank one does too.
    result = screened(case_tables({"steroid_mg_per_day": 15}, patient_id="A",
                                  overrides=[{"criterion_id": "E6", "approved_by": None}]))
    row = outcome(result, "A", "E6")
    assert (row["outcome"], row["missing"]) == ("waived", "")
    assert row["evidence"] == ("waived on 2025-03-02, approver not recorded: treating physician's documented "
                               "judgement (was fail: steroid 15 mg/day > 10)")
    assert result.verdicts[["verdict", "waived"]].values.tolist() == [["eligible", "E6"]]
    assert result.waivers[["criterion_id", "original_outcome"]].astype(str).values.tolist() == [["E6", "fail"]]
    assert result.waivers["approved_by"].isna().tolist() == [True]
    assert result.findings[["table", "row", "column"]].values.tolist() == [["overrides", 1, "approved_by"]]
    assert result.findings["finding"].iloc[0] == (
        "waiver of E6: who approved the waiver is not recorded: that alone does not stop it (each override row is "
        "a documented waiver); record the approver so that its role can be checked")


def test_a_waiver_without_its_approver_of_an_unknown_criterion_asks_for_nothing() -> None:
    result = screened(case_tables({"ecog": None}, patient_id="A",
                                  overrides=[{"criterion_id": "I6", "approved_by": None}]))
    row = outcome(result, "A", "I6")
    assert (row["outcome"], row["missing"]) == ("waived", "")
    assert result.missing_data.empty


def test_a_waiver_without_its_approver_of_a_passing_criterion_is_applied_too() -> None:
    result = screened(case_tables(patient_id="A", overrides=[{"criterion_id": "I4", "approved_by": None}]))
    row = outcome(result, "A", "I4")
    assert row["outcome"] == "waived"
    assert row["evidence"].startswith("waived on 2025-03-02, approver not recorded: ")
    assert result.verdicts["verdict"].tolist() == ["eligible"]


def test_a_waiver_without_date_or_reason_applies_and_says_so() -> None:
    result = screened(case_tables({"steroid_mg_per_day": 15}, patient_id="A",
                                  overrides=[{"criterion_id": "E6", "approved_date": None, "reason": None}]))
    row = outcome(result, "A", "E6")
    assert row["outcome"] == "waived"
    assert row["evidence"] == ("waived by medical monitor, approval date not recorded: reason not recorded (was fail: "
                               "steroid 15 mg/day > 10)")
    assert result.waivers["approved_by"].tolist() == ["medical monitor"]
    assert result.findings["column"].tolist() == ["approved_date", "reason"]


def test_a_waiver_without_a_date_may_postdate_a_data_cut() -> None:
    # Kept at the cut (like an undated lab), but it may have been approved after it: read both
    # ways, the failing E6 is unknown there, and the worklist asks for the approval date.
    tables = concat_tables([case_tables({"steroid_mg_per_day": 15}, patient_id="A",
                                        overrides=[{"criterion_id": "E6", "approved_date": None}])])
    kept, cut = apply_cut(ScreeningDataset(**tables, source="in memory"), dt.date(2025, 3, 10))
    assert len(kept.overrides) == 1 and cut.rows_set_aside.get("overrides", 0) == 0
    row = outcome(screen(kept), "A", "E6")
    assert (row["outcome"], row["missing"]) == ("unknown", "overrides.approved_date (waiver of E6)")
    assert row["evidence"] == ("a waiver of E6 without an approval date (approved_date not recorded) may postdate "
                               "the data cut 2025-03-10: waived if it was approved by then, otherwise fail: steroid 15 "
                               "mg/day > 10")
    assert field_label(row["missing"]) == "approval date of the waiver of E6"
    assert screen(kept).waivers.empty
    # The finding says what the outcome shows (audit 36A: it said "not applied there", as if the fail stood).
    finding = screen(kept).findings.set_index("column").loc["approved_date", "finding"]
    assert "a fail or unknown it waives is unknown there" in finding and "not applied" not in finding
    # Without a cut the same waiver applies.
    assert outcome(screened(case_tables({"steroid_mg_per_day": 15}, patient_id="A",
                                        overrides=[{"criterion_id": "E6", "approved_date": None}])),
                   "A", "E6")["outcome"] == "waived"


def test_lab_rows_without_a_test_are_findings_with_their_file_rows() -> None:
    labs = [{"test": None, "value": 150, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-25"}]
    result = screened(case_tables(patient_id="A"), case_tables(patient_id="B", labs=labs))
    found = result.findings
    assert found[["patient_id", "table", "row", "column"]].values.tolist() == [["B", "labs", 15, "test"]]
    assert outcome(result, "B", "I7")["outcome"] == "pass"


def test_beyond_the_readings_limit_a_patient_keeps_the_part_by_part_unknown(monkeypatch) -> None:
    # Two rows of 0.5 x10^9/L without a test: four namings, each failing a part, so I7 fails;
    # with room for only two namings the patient is read part by part: unknown, never a wrong pass.
    labs = [{"test": None, "value": 0.5, "unit": "10^9/L", "uln": None, "collected_date": day}
            for day in ("2025-02-25", "2025-02-26")]
    assert outcome(screened(case_tables(patient_id="A", labs=labs)), "A", "I7")["outcome"] == "fail"
    monkeypatch.setattr(lab_namings, "MAX_READINGS", 2)
    assert outcome(screened(case_tables(patient_id="A", labs=labs)), "A", "I7")["outcome"] == "unknown"


def test_namings_follow_each_patient_when_their_rows_interleave() -> None:
    # Rows of two patients alternate in the file; each patient's namings must use its own rows.
    a = case_tables(patient_id="A", labs=[{"test": None, "value": 0.5, "unit": "10^9/L", "uln": None,
                                           "collected_date": "2025-02-25"}])
    b = case_tables(patient_id="B", labs=[{"test": None, "value": 150, "unit": "10^9/L", "uln": None,
                                           "collected_date": "2025-02-25"}])
    tables = concat_tables([a, b])
    order = np.argsort(np.r_[np.arange(len(a["labs"])), np.arange(len(b["labs"])) + 0.5], kind="stable")
    tables["labs"] = tables["labs"].iloc[order].reset_index(drop=True)
    result = screen(ScreeningDataset(**tables, source="in memory"))
    assert (outcome(result, "A", "I7")["outcome"], outcome(result, "B", "I7")["outcome"]) == ("fail", "pass")


def lab(test: str | None, value: float, day: str | None, unit: str = "10^9/L") -> dict[str, object]:
    return {"test": test, "value": value, "unit": unit, "uln": None, "collected_date": day}


def test_an_undated_result_shown_in_a_decided_sentence_carries_no_date() -> None:
    # Dated ANC 0.5 beside an undated 0.9: both fail; the sentence shows the better one, the
    # undated row, which was read with the counting day but not taken on it.
    row = outcome(screened(case_tables(patient_id="A", labs=[lab("anc", 0.9, None), lab("anc", 0.5, "2025-02-25")])),
                  "A", "I7")
    assert (row["outcome"], row["evidence"]) == ("fail", "ANC 0.9 x10^9/L (collected date not recorded), read with the "
                                                         "results of 2025-02-25 < 1 x10^9/L")


def test_a_failing_naming_is_bracketed_so_its_parts_stay_together() -> None:
    # Two rows without a test (0.5 on the 25th, 0.4 on the 26th), each ANC or platelets: four
    # namings, each failing; a naming that fails ANC and platelets lists both inside its brackets.
    labs = [lab(None, 0.5, "2025-02-25"), lab(None, 0.4, "2025-02-26")]
    row = outcome(screened(case_tables(patient_id="A", labs=labs)), "A", "I7")
    anc_4, plt_4 = ("ANC 0.4 x10^9/L (test not recorded) on 2025-02-26 < 1 x10^9/L",
                    "platelets 0.4 x10^9/L (test not recorded) on 2025-02-26 < 100 x10^9/L")
    anc_5, plt_5 = ("ANC 0.5 x10^9/L (test not recorded) on 2025-02-25 < 1 x10^9/L",
                    "platelets 0.5 x10^9/L (test not recorded) on 2025-02-25 < 100 x10^9/L")
    assert row["outcome"] == "fail"
    assert row["evidence"] == ("every reading fails, whichever test each result without a test name (test) is: "
                               f"[{anc_4}] or [{anc_4}; {plt_5}] or [{anc_5}; {plt_4}] or [{plt_4}]")


def test_a_result_without_test_or_date_says_both_in_one_parenthesis() -> None:
    row = outcome(screened(case_tables(patient_id="A", labs=[lab(None, 12.0, None, "g/dL")])), "A", "I7")
    assert row["outcome"] == "pass"
    # The baseline's hemoglobin of 2025-02-20 is the counting day the row is read with.
    assert ("hemoglobin 12 g/dL (test and collected date not recorded), read with the results of 2025-02-20 >= 9 "
            "g/dL;") in row["evidence"]


def test_a_blank_unit_is_asked_of_its_own_row_beside_an_undated_result() -> None:
    # Review, session 21: the dated row's blank unit was said and asked as the undated row's.
    labs = [lab("anc", 3, "2025-02-25", unit=None), lab("anc", 3.0, None)]
    row = outcome(screened(case_tables(patient_id="A", labs=labs)), "A", "I7")
    assert (row["outcome"], row["missing"]) == (
        "unknown", "labs.unit (ANC result dated 2025-02-25); labs.collected_date (ANC result without a date)")
    assert row["evidence"] == ("ANC 3 (unit not recorded) on 2025-02-25: its unit is not recorded, and a result "
                               "without a collected date (collected_date) may be the latest, so it may pass or fail")


def test_a_result_without_test_date_or_value_asks_for_all_three_at_once() -> None:
    row = outcome(screened(case_tables(patient_id="A", labs=[lab(None, None, None)])), "A", "I7")
    assert row["outcome"] == "unknown"
    assert row["missing"].split("; ")[:3] == ["labs.value (result that may be the ANC)",
                                              "labs.test (result that may be the ANC)",
                                              "labs.collected_date (result that may be the ANC)"]
    assert row["evidence"].startswith("ANC (no value) (test and collected date not recorded): its value, its test "
                                      "name (test) and its collected date (collected_date) are not recorded")


def test_at_a_cut_a_waiver_without_approver_or_date_asks_for_the_date_only() -> None:
    # Review 22E asked for both while a blank approver stopped a waiver; since session 30 only the
    # date decides at a cut (whether the waiver existed then).
    tables = case_tables({"steroid_mg_per_day": 15}, patient_id="A",
                         overrides=[{"criterion_id": "E6", "approved_by": None, "approved_date": None}])
    kept, _ = apply_cut(ScreeningDataset(**concat_tables([tables])), dt.date(2025, 3, 10))
    row = outcome(screen(kept), "A", "E6")
    assert (row["outcome"], row["missing"]) == ("unknown", "overrides.approved_date (waiver of E6)")
    assert row["evidence"] == ("a waiver of E6 without an approval date (approved_date not recorded) may postdate "
                               "the data cut 2025-03-10: waived if it was approved by then, otherwise fail: steroid 15 "
                               "mg/day > 10")


# --------------------------------------------------------------------------- decided in either unit
# Audit 26A: "ANC 1500 (unit not recorded) ... >= 1 x10^9/L" did not say that 1500 /uL (1.5 x10^9/L)
# passes too. A part decided although its row's unit is blank now says it holds in either unit.


def test_a_blank_unit_that_passes_in_either_unit_says_so() -> None:
    row = outcome(screened(case_tables(patient_id="A", labs=[lab("anc", 1500, "2025-02-25", unit=None)])), "A", "I7")
    assert row["outcome"] == "pass"
    assert row["evidence"].startswith("ANC 1500 (unit not recorded) on 2025-02-25 >= 1 x10^9/L in either unit "
                                      "(x10^9/L or /uL); platelets 220 x10^9/L on 2025-02-20 >= 100 x10^9/L;")


def test_a_blank_unit_that_fails_in_either_unit_says_so() -> None:
    # 0.5 read as 10^9/L or as /uL (0.0005 x10^9/L): below 1 either way. Bilirubin 60: 60 mg/dL or
    # 60 umol/L (3.5 mg/dL), above 2 (the limit without Gilbert syndrome) either way.
    labs = [lab("anc", 0.5, "2025-02-25", unit=None), lab("total_bilirubin", 60, "2025-02-25", unit=None)]
    row = outcome(screened(case_tables(patient_id="A", labs=labs)), "A", "I7")
    assert row["outcome"] == "fail"
    assert row["evidence"] == ("ANC 0.5 (unit not recorded) on 2025-02-25 < 1 x10^9/L in either unit (x10^9/L or /uL); "
                               "total bilirubin 60 (unit not recorded) on 2025-02-25 > 2 mg/dL in either unit "
                               "(mg/dL or umol/L) (gilbert_syndrome = no)")


def test_a_blank_unit_of_a_test_with_one_unit_adds_nothing() -> None:
    # AST has one unit (U/L): its blank unit changes no reading, so there is no "either" to say.
    ast = {"test": "ast", "value": 30, "unit": None, "uln": 40, "collected_date": "2025-02-25"}
    row = outcome(screened(case_tables(patient_id="A", labs=[ast])), "A", "I7")
    assert row["outcome"] == "pass"
    assert "AST 30 (unit not recorded) (ULN 40) on 2025-02-25 <= 3 x ULN = 120 U/L;" in row["evidence"]
    assert "either unit" not in row["evidence"]


def test_the_recorded_row_of_a_decided_day_is_said_without_either() -> None:
    # ANC 0.5 x10^9/L beside 2 (unit not recorded) on one day: 0.5 fails, and so does 2 as /uL, but 2 x10^9/L
    # passes: unknown. With 0.4 (unit not recorded) instead: every reading fails; the sentence shows the
    # most favourable reading, 0.5 x10^9/L, whose unit is recorded.
    labs = [lab("anc", 0.5, "2025-02-25"), lab("anc", 0.4, "2025-02-25", unit=None)]
    row = outcome(screened(case_tables(patient_id="A", labs=labs)), "A", "I7")
    assert (row["outcome"], row["evidence"]) == ("fail", "ANC 0.5 x10^9/L on 2025-02-25 < 1 x10^9/L")


def test_either_unit_is_said_whoever_else_is_screened() -> None:
    # Review 27: ANC 0 with a blank unit is 0 in either unit, so it opened no counting day of its own, and
    # "in either unit" was said only when another patient of the same screening (or slice) had a blank cell.
    alone = screened(case_tables(patient_id="A", labs=[lab("anc", 0, "2025-02-25", unit=None)]))
    beside = screened(case_tables(patient_id="A", labs=[lab("anc", 0, "2025-02-25", unit=None)]),
                      case_tables(patient_id="B", labs=[lab("platelets", None, "2025-02-25")]))
    expected = ("fail", "ANC 0 (unit not recorded) on 2025-02-25 < 1 x10^9/L in either unit (x10^9/L or /uL)")
    assert (outcome(alone, "A", "I7")["outcome"], outcome(alone, "A", "I7")["evidence"]) == expected
    assert (outcome(beside, "A", "I7")["outcome"], outcome(beside, "A", "I7")["evidence"]) == expected


@pytest.mark.parametrize(("who", "when", "said"), [
    ("medical monitor", "2025-03-02", "by medical monitor on 2025-03-02"),
    (None, "2025-03-02", "on 2025-03-02, approver not recorded"),
    ("medical monitor", None, "by medical monitor, approval date not recorded"),
    (None, None, "with approver and approval date not recorded")])
def test_who_waived_and_when_is_said_with_its_blanks(who: str | None, when: str | None, said: str) -> None:
    # Audit 33: "waived by an unrecorded approver on (date not recorded)" read badly to a monitor.
    from lifileucel_analysis.engine.waivers import attribution

    assert attribution(pd.Series([who], dtype=object), pd.Series([when], dtype=object)).tolist() == [said]
