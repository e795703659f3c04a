"""Waivers approved after a data cut (docs/history.md, docs/criteria.md "Waivers at a data cut").

A cut screens what was known on its date, so a waiver approved later is not applied: the
outcome stands. Its criterion's sentence names it, so that a medical monitor reading the cut
sees the waiver that is on file since. Expected sentences are written out by hand.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from helpers import case_tables, concat_tables
from helpers import outcome_row as row
from lifileucel_analysis.contract.data_cut import apply_cut
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.contract.patient_slices import patient_slices
from lifileucel_analysis.engine.screening import screen

CUT = dt.date(2025, 3, 10)  # after the cases' consent (2025-03-01), before the waivers below
STEROID_15 = {"steroid_mg_per_day": 15}
LATE = {"criterion_id": "E6", "approved_by": "medical monitor", "approved_date": "2025-04-02",
        "reason": "taper documented"}
BEFORE = {"criterion_id": "E6", "approved_by": "principal investigator", "approved_date": "2025-03-05",
          "reason": "second opinion"}


def cut_dataset(*parts: dict[str, pd.DataFrame]) -> ScreeningDataset:
    return apply_cut(ScreeningDataset(**concat_tables(list(parts))), CUT)[0]


def test_a_waiver_after_the_cut_is_named_and_not_applied() -> None:
    result = screen(cut_dataset(case_tables(STEROID_15, patient_id="A", overrides=[LATE])))
    got = row(result, "A", "E6")
    assert (got["outcome"], got["missing"]) == ("fail", "")
    assert got["evidence"] == ("steroid 15 mg/day > 10; a waiver dated after the data cut 2025-03-10 is not "
                               "applied at this cut (by medical monitor on 2025-04-02: taper documented)")
    assert result.waivers.empty
    assert result.verdicts["verdict"].tolist() == ["ineligible"]


def test_without_the_cut_the_same_waiver_applies() -> None:
    dataset = ScreeningDataset(**concat_tables([case_tables(STEROID_15, patient_id="A", overrides=[LATE])]))
    got = row(screen(dataset), "A", "E6")
    assert got["outcome"] == "waived"
    assert "dated after the data cut" not in got["evidence"]


def test_a_late_waiver_is_added_to_the_waiver_in_force_at_the_cut() -> None:
    result = screen(cut_dataset(case_tables(STEROID_15, patient_id="A", overrides=[LATE, BEFORE])))
    got = row(result, "A", "E6")
    assert got["outcome"] == "waived"
    # Before "(was ...", so that everything the site wrote precedes what the SDTM export reads.
    assert got["evidence"] == ("waived by principal investigator on 2025-03-05: second opinion; a waiver dated after "
                               "the data cut 2025-03-10 is not applied at this cut (by medical monitor on 2025-04-02: "
                               "taper documented) (was fail: steroid 15 mg/day > 10)")
    assert result.waivers["approved_by"].tolist() == ["principal investigator"]


def test_late_waivers_of_a_passing_criterion_without_approver_are_all_named() -> None:
    unsigned = {**LATE, "approved_by": None, "reason": None, "approved_date": "2025-05-01"}
    result = screen(cut_dataset(case_tables(patient_id="A", overrides=[LATE, unsigned])))
    got = row(result, "A", "E6")
    assert (got["outcome"], got["missing"]) == ("pass", "")
    assert got["evidence"] == ("steroid 0 mg/day <= 10; 2 waivers dated after the data cut 2025-03-10 are not "
                               "applied at this cut (by medical monitor on 2025-04-02: taper documented; on "
                               "2025-05-01, approver not recorded: reason not recorded)")


def test_only_the_waived_patient_and_criterion_say_it() -> None:
    result = screen(cut_dataset(case_tables(STEROID_15, patient_id="A", overrides=[LATE]),
                                case_tables(STEROID_15, patient_id="B")))
    said = result.outcomes[result.outcomes["evidence"].str.contains("dated after the data cut")]
    assert said[["patient_id", "criterion_id"]].astype(str).values.tolist() == [["A", "E6"]]


def test_slices_keep_their_own_late_waivers() -> None:
    dataset = cut_dataset(case_tables(STEROID_15, patient_id="A", overrides=[LATE]),
                          case_tables(STEROID_15, patient_id="B", overrides=[{**LATE, "criterion_id": "E7"}]),
                          case_tables(STEROID_15, patient_id="C"))
    pieces = list(patient_slices(dataset, 1))
    assert [p.waivers_after_cut[["patient_id", "criterion_id"]].astype(str).values.tolist() for p in pieces] == [
        [["A", "E6"]], [["B", "E7"]], []]
    whole = screen(dataset).outcomes
    sliced = pd.concat([screen(p).outcomes for p in pieces], ignore_index=True)
    pd.testing.assert_frame_equal(whole.astype(str), sliced.astype(str))


def test_an_unsigned_row_at_the_cut_applies_and_names_the_late_one() -> None:
    unsigned = {**BEFORE, "approved_by": None}
    got = row(screen(cut_dataset(case_tables(STEROID_15, patient_id="A", overrides=[LATE, unsigned]))), "A", "E6")
    assert (got["outcome"], got["missing"]) == ("waived", "")
    assert got["evidence"] == ("waived on 2025-03-05, approver not recorded: second opinion; a waiver dated after "
                               "the data cut 2025-03-10 is not applied at this cut (by medical monitor on 2025-04-02: "
                               "taper documented) (was fail: steroid 15 mg/day > 10)")


def test_the_outcome_before_the_waiver_is_read_right_whatever_a_late_reason_says() -> None:
    # Review, session 21: a late reason holding "(was pass: " came after "(was fail: ...)", and
    # the SDTM export, which reads the last such phrase, called the waived outcome a pass.
    tricky = {**LATE, "reason": "second look (was pass: on re-read of the taper)"}
    # The outcome before the waiver is the waivers table's (waivers.csv), not read from the sentence.
    result = screen(cut_dataset(case_tables(STEROID_15, patient_id="A", overrides=[BEFORE, tricky])))
    assert row(result, "A", "E6")["outcome"] == "waived"
    assert result.waivers[["criterion_id", "original_outcome", "original_evidence"]].astype(str).values.tolist() == [
        ["E6", "fail", "steroid 15 mg/day > 10"]]


def test_a_waiver_of_an_outcome_that_does_not_block_is_a_finding() -> None:
    # P1 (female, cutaneous): E3 passes and E6 fails (steroid 20 mg/day), both waived; P2 (male): E11 is
    # not applicable, waived. The E3 and E11 waivers change no verdict: a monitor should hear that the
    # exception was not needed, or names another criterion (review 28C). Override rows 1-3 in file order.
    tables = concat_tables([case_tables(patient_id="P1", patient={"steroid_mg_per_day": 20.0}, overrides=["E3", "E6"]),
                            case_tables(patient_id="P2", patient={"sex": "male"}, overrides=["E11"])])
    result = screen(ScreeningDataset(**tables))
    found = result.findings[result.findings["finding"].str.contains("changes no verdict")]
    assert found[["patient_id", "table", "row", "column", "value"]].values.tolist() == [
        ["P1", "overrides", 1, "criterion_id", "E3"], ["P2", "overrides", 3, "criterion_id", "E11"]]
    assert found["finding"].tolist()[1] == ("waiver of E11, whose outcome without it is not applicable: the waiver "
                                            "changes no verdict; check that it names the criterion meant")
    assert set(result.waivers["criterion_id"]) == {"E3", "E6", "E11"}  # all three applied, as documented
