"""Evidence and worklists as a coordinator reads them (issue 11): every template with blanks.

Each case screens one patient (the eligible baseline with a change) and checks the exact
evidence sentence and the fields to collect, written here by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from helpers import ELIGIBLE_LABS, ELIGIBLE_THERAPY, case_tables, toxicity_row
from lifileucel_analysis import cli
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.report.field_requests import field_label, is_conditional


def outcome_of(criterion: str, **changes: Any) -> tuple[str, str, str]:
    """(outcome, evidence, missing) of ``criterion`` for the baseline patient with ``changes``."""
    result = screen(ScreeningDataset(**case_tables(**changes)))
    row = result.outcomes.set_index("criterion_id").loc[criterion]
    return str(row["outcome"]), str(row["evidence"]), str(row["missing"])


def line(n: int, **changes: Any) -> dict[str, Any]:
    return {**ELIGIBLE_THERAPY, "line": n, **changes}


WITHOUT_CONSENT = ("consent date not recorded (consent_date): results from 28 days before NMA-LD onwards count at "
                   "any consent date up to NMA-LD")
"""How I7 begins for a patient without a consent date and with NMA-LD scheduled."""


def test_consent_date_blank_asks_for_the_consent_date_not_for_every_lab() -> None:
    # NMA-LD 2025-03-29, every result on 2025-02-20: before 2025-03-01, the latest start the
    # window can have, so whether they count depends on the consent date.
    outcome, evidence, missing = outcome_of("I7", patient={"consent_date": None})
    assert outcome == "unknown"
    assert missing == "patients.consent_date"
    assert evidence.startswith(WITHOUT_CONSENT + "; earlier results on file count if consent was no more than 28 "
                               "days after them; no ANC result 2025-03-01 to 2025-03-29; no platelets result ")
    outcome, evidence, missing = outcome_of("I7", patient={"consent_date": None, "lymphodepletion_date": None})
    unplaced = "consent date not recorded (consent_date) and NMA-LD not scheduled: the lab window cannot be placed"
    assert (outcome, evidence, missing) == ("unknown", unplaced, "patients.consent_date")
    # The same words without any result on file (audit 27A: "no lab result can be placed" implied some).
    assert outcome_of("I7", patient={"consent_date": None, "lymphodepletion_date": None}, labs=[],
                      replace_labs=True) == ("unknown", unplaced, "patients.consent_date")


def test_e8_with_both_hbv_fields_blank_asks_the_pcr_on_the_serologys_condition() -> None:
    # Audit 27A: the evidence named both fields, the request only the serology; the contract needs the PCR only
    # after a positive serology, so it is asked for on that condition, in the same request (as E10's vaccine date).
    outcome, evidence, missing = outcome_of("E8", patient={"hbv_serology": None, "hbv_pcr": None})
    assert (outcome, missing) == ("unknown", "patients.hbv_serology; patients.hbv_pcr (if serology positive)")
    assert evidence == ("HBV serology not recorded (hbv_serology), nor HBV PCR (hbv_pcr): a negative serology or an "
                        "undetectable PCR would decide")
    assert [field_label(field) for field in missing.split("; ")] == ["HBV serology", "HBV PCR (if serology positive)"]
    assert is_conditional("patients.hbv_pcr (if serology positive)") and not is_conditional("patients.hbv_pcr")


def test_consent_date_blank_results_close_to_nma_ld_decide_and_say_why() -> None:
    outcome, evidence, missing = outcome_of(
        "I7", patient={"consent_date": None},
        labs=[{"test": "anc", "value": 0.5, "unit": "10^9/L", "collected_date": "2025-03-01"}])
    assert (outcome, missing) == ("fail", "")
    # The baseline's other results (2025-02-20) count only if consent was early enough: open, and named.
    assert evidence == (WITHOUT_CONSENT + "; ANC 0.5 x10^9/L on 2025-03-01 < 1 x10^9/L; undecided: platelets, "
                        "hemoglobin, AST, ALT, total bilirubin, creatinine clearance")


@pytest.mark.parametrize(("criterion", "changes", "expected"), [
    ("I7", {"labs": [{"test": "platelets", "value": 69, "unit": "10^9/L", "collected_date": "2025-02-20"},
                     {"test": "hemoglobin", "value": None, "unit": "g/dL", "collected_date": "2025-02-20"}]},
     "platelets 69 x10^9/L on 2025-02-20 < 100 x10^9/L; undecided: hemoglobin"),
    ("I6", {"patient": {"ecog": 3, "life_expectancy_months": None}}, "ECOG 3 > 1; undecided: life expectancy"),
    ("E8", {"patient": {"syphilis_assay": "positive", "hiv_serology": None}},
     "syphilis assay positive; undecided: HIV serology"),
    ("I6", {"patient": {"ecog": 3}}, "ECOG 3 > 1"),  # nothing open: nothing added
])
def test_a_fail_names_the_parts_the_data_leave_undecided(criterion: str, changes: dict[str, Any],
                                                          expected: str) -> None:
    # Audit 35A: a fail named only its failing part, so a waiver granted for it would also cover a part
    # never measured without a word; the open parts are named (names only: the fail stays short).
    outcome, evidence, _ = outcome_of(criterion, **changes)
    assert (outcome, evidence) == ("fail", expected)


def test_a_waived_fail_keeps_the_undecided_parts_in_its_was_clause() -> None:
    labs = [{"test": "platelets", "value": 69, "unit": "10^9/L", "collected_date": "2025-02-20"},
            {"test": "hemoglobin", "value": None, "unit": "g/dL", "collected_date": "2025-02-20"}]
    outcome, evidence, _ = outcome_of("I7", labs=labs, overrides=["I7"])
    assert outcome == "waived"
    assert evidence.endswith("(was fail: platelets 69 x10^9/L on 2025-02-20 < 100 x10^9/L; undecided: hemoglobin)")


def test_lab_unknown_gives_the_window_and_the_date_of_the_latest_result_outside_it() -> None:
    outcome, evidence, missing = outcome_of(
        "I7", labs=[{"test": "anc", "value": 2.0, "unit": "10^9/L", "collected_date": "2025-01-01"}])
    assert outcome == "unknown"
    assert evidence == "no ANC result 2025-02-01 to 2025-03-29; the latest on file is dated 2025-01-01, outside that window"
    assert missing == "labs.anc (collected 2025-02-01 to 2025-03-29)"


@pytest.mark.parametrize(("dates", "latest"), [
    (["2025-01-15", "2025-01-01"], "2025-01-15"),  # the latest of two before the window, whatever the file order
    (["2025-01-15", "2025-04-02"], "2025-04-02"),  # one after NMA-LD (2025-03-29) is the latest on file
    (["2025-04-02", "2025-01-15"], "2025-04-02"),
])
def test_the_latest_result_outside_the_window_is_the_one_dated(dates: list[str | None], latest: str) -> None:
    # Audit 35A: "a result outside that window is on file" did not say when; a coordinator decides from the
    # date whether a result was simply missed or must be drawn again.
    labs = [{"test": "anc", "value": 2.0, "unit": "10^9/L", "collected_date": day} for day in dates]
    outcome, evidence, _ = outcome_of("I7", labs=labs)
    assert outcome == "unknown"
    assert f"the latest on file is dated {latest}, outside that window" in evidence


NO_NMALD = ("NMA-LD not scheduled (lymphodepletion_date): the lab window from 2025-02-01 has no end yet, so each "
            "test's latest result counts")


@pytest.mark.parametrize(("anc", "expected"), [
    # Audit 26A: a fail on a result dated after consent, NMA-LD blank, did not say why that result counts.
    ({"value": 0.5, "collected_date": "2025-03-20"}, ("fail", f"{NO_NMALD}; ANC 0.5 x10^9/L on 2025-03-20 < 1 x10^9/L")),
    ({"value": 2.5, "collected_date": "2025-03-20"}, ("pass", f"{NO_NMALD}; ANC 2.5 x10^9/L on 2025-03-20 >= 1 x10^9/L; "
                                                              "platelets 220 x10^9/L on 2025-02-20 >= 100 x10^9/L")),
    # A result on or before consent (2025-03-01) counts at any NMA-LD date, which follows consent: no note.
    ({"value": 0.5, "collected_date": "2025-02-20"}, ("fail", "ANC 0.5 x10^9/L on 2025-02-20 < 1 x10^9/L")),
    ({"value": 0.5, "collected_date": "2025-03-01"}, ("fail", "ANC 0.5 x10^9/L on 2025-03-01 < 1 x10^9/L")),
    # An unknown part names the window itself ("onwards (NMA-LD not scheduled)"): no note.
    ({"value": 2.5, "collected_date": "2025-01-20"},
     ("unknown", "no ANC result 2025-02-01 onwards (NMA-LD not scheduled); the latest on file is dated 2025-01-20, "
                 "outside that window")),
])
def test_a_decided_lab_part_without_nmald_says_the_window_has_no_end(anc: dict[str, Any],
                                                                      expected: tuple[str, str]) -> None:
    outcome, evidence, _ = outcome_of("I7", patient={"lymphodepletion_date": None},
                                      labs=[{"test": "anc", "unit": "10^9/L", **anc}])
    assert outcome == expected[0]
    assert evidence.startswith(expected[1]) if outcome == "pass" else evidence == expected[1]


def test_a_fail_over_every_naming_of_rows_without_a_test_says_the_window_note_once() -> None:
    # Two rows without a test after consent (ANC or platelets each), NMA-LD not scheduled: every naming fails;
    # the note stands once before the brackets, not inside each (review 27).
    labs = [{"test": None, "value": value, "unit": "10^9/L", "collected_date": day}
            for value, day in ((0.5, "2025-03-05"), (0.4, "2025-03-06"))]
    outcome, evidence, _ = outcome_of("I7", patient={"lymphodepletion_date": None}, labs=labs)
    assert outcome == "fail"
    assert evidence.startswith(f"{NO_NMALD}; every reading fails, whichever test each result without a test name "
                               "(test) is: [ANC 0.4 x10^9/L (test not recorded) on 2025-03-06 < 1 x10^9/L]")
    assert evidence.count("NMA-LD not scheduled") == 1


def test_a_decided_lab_part_with_nmald_has_no_window_note() -> None:
    outcome, evidence, _ = outcome_of("I7", labs=[{"test": "anc", "value": 0.5, "unit": "10^9/L",
                                                   "collected_date": "2025-03-20"}])
    assert (outcome, evidence) == ("fail", "ANC 0.5 x10^9/L on 2025-03-20 < 1 x10^9/L")


def test_lab_unknown_without_any_result() -> None:
    tables = dict(labs=[{"test": "anc", "value": 2.0, "unit": "10^9/L", "collected_date": "2025-02-20"}],
                  replace_labs=True, patient={"lymphodepletion_date": None})
    outcome, evidence, missing = outcome_of("I7", **tables)
    assert outcome == "unknown"
    assert "no platelets result on file" in evidence
    assert "labs.platelets (collected 2025-02-01 onwards (NMA-LD not scheduled))" in missing


@pytest.mark.parametrize(("criterion", "changes", "expected"), [
    ("I4", {"patient": {"resectable_lesion_cm": 1.4999}}, ("fail", "resectable lesion (cm) 1.4999 < 1.5")),
    ("I6", {"patient": {"life_expectancy_months": 2.9999}}, ("fail", "life expectancy (months) 2.9999 < 3")),
    ("E6", {"patient": {"steroid_mg_per_day": 10.00001}}, ("fail", "steroid 10.00001 mg/day > 10")),
    ("I7", {"labs": [{"test": "anc", "value": 0.9999999999, "unit": "10^9/L", "collected_date": "2025-02-25"}]},
     ("fail", "ANC 0.9999999999 x10^9/L on 2025-02-25 < 1 x10^9/L")),
])
def test_a_value_near_a_limit_is_shown_with_every_digit_typed(criterion: str, changes: dict[str, Any],
                                                            expected: tuple[str, str]) -> None:
    # Rounded for show, each of these read "1.5 < 1.5", "3 < 3", "10 > 10", "1 >= 1" (and the
    # ANC passed: it was compared after rounding to 9 decimals).
    outcome, evidence, _ = outcome_of(criterion, **changes)
    assert (outcome, evidence) == expected


def test_lab_evidence_shows_the_value_as_entered_and_agrees_with_the_outcome() -> None:
    outcome, evidence, _ = outcome_of(
        "I7", labs=[{"test": "platelets", "value": 99999, "unit": "/uL", "collected_date": "2025-02-25"}])
    assert outcome == "fail"
    # Shown in the canonical unit too, with the digits that keep it below the limit (audit,
    # session 16: "hemoglobin 84 g/L ... < 9 g/dL" read as 84 < 9).
    assert evidence == "platelets 99999 /uL (99.999 x10^9/L) on 2025-02-25 < 100 x10^9/L"
    outcome, evidence, _ = outcome_of(
        "I7", labs=[{"test": "hemoglobin", "value": 84, "unit": "g/L", "collected_date": "2025-02-25"}])
    assert (outcome, evidence) == ("fail", "hemoglobin 84 g/L (8.4 g/dL) on 2025-02-25 < 9 g/dL")
    outcome, evidence, _ = outcome_of(
        "I7", labs=[{"test": "total_bilirubin", "value": 34.20001, "unit": "umol/L", "collected_date": "2025-02-25"}])
    assert (outcome, evidence) == ("fail", "total bilirubin 34.20001 umol/L (2.000001 mg/dL) on 2025-02-25 > 2 mg/dL "
                                           "(gilbert_syndrome = no)")
    outcome, evidence, _ = outcome_of(
        "I7", labs=[{"test": "alt", "value": 99.9, "unit": "U/L", "uln": 33.3, "collected_date": "2025-02-25"}])
    assert outcome == "pass"
    assert "ALT 99.9 U/L (ULN 33.3) on 2025-02-25 <= 3 x ULN = 99.9 U/L;" in evidence
    # The limit in U/L is the decimal product (3 x 33.3 = 99.9, 5 x 33.3 = 166.5), not the double's 99.89999999999999
    # (audits 35A, 38A: a monitor had to multiply at the boundary).
    outcome, evidence, _ = outcome_of(
        "I7", labs=[{"test": "alt", "value": 100, "unit": "U/L", "uln": 33.3, "collected_date": "2025-02-25"}])
    assert (outcome, evidence) == ("fail", "ALT 100 U/L (ULN 33.3) on 2025-02-25 > 3 x ULN = 99.9 U/L "
                                           "(liver_metastases = no)")
    outcome, evidence, _ = outcome_of("I7", patient={"liver_metastases": "yes"}, labs=[
        {"test": "alt", "value": 166.6, "unit": "U/L", "uln": 33.3, "collected_date": "2025-02-25"}])
    assert (outcome, evidence) == ("fail", "ALT 166.6 U/L (ULN 33.3) on 2025-02-25 > 5 x ULN = 166.5 U/L "
                                           "(liver_metastases = yes)")


def test_liver_metastases_asked_by_ast_and_alt_is_asked_once() -> None:
    # Audit 42W (Y01): AST and ALT both 3.75 x ULN (150 U/L, ULN 40), liver metastases blank: each part
    # is open between its 3 and 5 x ULN limits and asked for the same field, which was named twice.
    labs = [lab for lab in ELIGIBLE_LABS if lab["test"] not in ("ast", "alt")]
    labs += [{"test": test, "value": 150, "unit": "U/L", "uln": 40, "collected_date": "2025-02-20"}
             for test in ("ast", "alt")]
    outcome, evidence, missing = outcome_of("I7", patient={"liver_metastases": None}, labs=labs)
    assert (outcome, missing) == ("unknown", "patients.liver_metastases")
    assert evidence.count("liver_metastases") == 2  # each part still says why it is open
    # One open part alone: the same field, once, as before.
    labs[-1] = {**labs[-1], "value": 50}
    assert outcome_of("I7", patient={"liver_metastases": None}, labs=labs)[::2] == (
        "unknown", "patients.liver_metastases")


@pytest.mark.parametrize(("patient", "lab", "evidence"), [
    # AST 250 with ULN 40 is 6.25 x ULN: above 3 and 5 x ULN. The fail names the limit that applies
    # and the condition that sets it (audit 29A: "> 5 x ULN" did not say liver_metastases = yes).
    ({"liver_metastases": "yes"}, ("ast", 250, "U/L", 40),
     "AST 250 U/L (ULN 40) on 2025-02-25 > 5 x ULN = 200 U/L (liver_metastases = yes)"),
    ({"liver_metastases": "no"}, ("ast", 250, "U/L", 40),
     "AST 250 U/L (ULN 40) on 2025-02-25 > 3 x ULN = 120 U/L (liver_metastases = no)"),
    ({"liver_metastases": None}, ("ast", 250, "U/L", 40),
     "AST 250 U/L (ULN 40) on 2025-02-25 > 5 x ULN = 200 U/L (above both limits; liver_metastases not recorded)"),
    # Bilirubin 3.5 mg/dL: above 2 and above 3 (with Gilbert syndrome); "> 3" alone hid the limit 2.
    ({"gilbert_syndrome": "no"}, ("total_bilirubin", 3.5, "mg/dL", None),
     "total bilirubin 3.5 mg/dL on 2025-02-25 > 2 mg/dL (gilbert_syndrome = no)"),
    ({"gilbert_syndrome": "yes"}, ("total_bilirubin", 3.5, "mg/dL", None),
     "total bilirubin 3.5 mg/dL on 2025-02-25 > 3 mg/dL (gilbert_syndrome = yes)"),
    ({"gilbert_syndrome": None}, ("total_bilirubin", 3.5, "mg/dL", None),
     "total bilirubin 3.5 mg/dL on 2025-02-25 > 3 mg/dL (above both limits; gilbert_syndrome not recorded)"),
])
def test_a_fail_above_a_raised_limit_names_the_limit_and_its_condition(
        patient: dict[str, Any], lab: tuple[str, float, str, float | None], evidence: str) -> None:
    test, value, unit, uln = lab
    row = {"test": test, "value": value, "unit": unit, "uln": uln, "collected_date": "2025-02-25"}
    assert outcome_of("I7", patient=patient, labs=[row])[:2] == ("fail", evidence)


@pytest.mark.parametrize(("patient", "lab", "evidence"), [
    # Review 37B: AST 48 with ULN 35 (1.37 x ULN) passes 3 x ULN and 5 x ULN alike; with liver metastases the
    # pass names the limit that applies, as a fail does, not the 3 x ULN of a patient without them.
    ({"liver_metastases": "yes"}, ("ast", 48, "U/L", 35),
     "AST 48 U/L (ULN 35) on 2025-02-25 <= 5 x ULN = 175 U/L (liver_metastases = yes)"),
    ({"liver_metastases": "no"}, ("ast", 48, "U/L", 35), "AST 48 U/L (ULN 35) on 2025-02-25 <= 3 x ULN = 105 U/L"),
    # Blank: 3 x ULN is the limit of either reading's worst case, and the result is within it.
    ({"liver_metastases": None}, ("ast", 48, "U/L", 35), "AST 48 U/L (ULN 35) on 2025-02-25 <= 3 x ULN = 105 U/L"),
    ({"gilbert_syndrome": "yes"}, ("total_bilirubin", 0.7, "mg/dL", None),
     "total bilirubin 0.7 mg/dL on 2025-02-25 <= 3 mg/dL (gilbert_syndrome = yes)"),
    ({"gilbert_syndrome": "no"}, ("total_bilirubin", 0.7, "mg/dL", None),
     "total bilirubin 0.7 mg/dL on 2025-02-25 <= 2 mg/dL"),
])
def test_a_pass_names_the_limit_that_applies(patient: dict[str, Any], lab: tuple[str, float, str, float | None],
                                             evidence: str) -> None:
    test, value, unit, uln = lab
    row = {"test": test, "value": value, "unit": unit, "uln": uln, "collected_date": "2025-02-25"}
    outcome, text, _ = outcome_of("I7", patient=patient, labs=[row])
    assert outcome == "pass"
    assert evidence in text.split("; ")


@pytest.mark.parametrize(("rows", "expected"), [
    # Review 37B: two results of one day, both on one side of the limit, decide; the sentence named one and
    # hid the other. A pass shows the least favourable (all pass), a fail the most favourable (all fail).
    ([("hemoglobin", 12.5, "g/dL", None), ("hemoglobin", 11.0, "g/dL", None)],
     ("pass", "hemoglobin 11 g/dL on 2025-02-20 (the least favourable of that day's results) >= 9 g/dL")),
    ([("hemoglobin", 8.0, "g/dL", None), ("hemoglobin", 8.5, "g/dL", None)],
     ("fail", "hemoglobin 8.5 g/dL on 2025-02-20 (the most favourable of that day's results) < 9 g/dL")),
    ([("ast", 30.0, "U/L", 40.0), ("ast", 50.0, "U/L", 40.0)],
     ("pass", "AST 50 U/L (ULN 40) on 2025-02-20 (the least favourable of that day's results) <= 3 x ULN = 120 U/L")),
    # Two ULNs on one day (review 38C): each end's limit in U/L is of its own row. A fail shows the most
    # favourable, 130 / 40 = 3.25 x ULN (not 100 / 30 = 3.33): 3 x 40 = 120 U/L, not 3 x 30 = 90.
    ([("alt", 130.0, "U/L", 40.0), ("alt", 100.0, "U/L", 30.0)],
     ("fail", "ALT 130 U/L (ULN 40) on 2025-02-20 (the most favourable of that day's results) > 3 x ULN = 120 U/L "
              "(liver_metastases = no)")),
    # A pass shows the least favourable, 75 / 30 = 2.5 x ULN (not 80 / 40 = 2): 3 x 30 = 90 U/L, not 120.
    ([("alt", 80.0, "U/L", 40.0), ("alt", 75.0, "U/L", 30.0)],
     ("pass", "ALT 75 U/L (ULN 30) on 2025-02-20 (the least favourable of that day's results) <= 3 x ULN = 90 U/L")),
])
def test_results_of_one_day_that_disagree_on_one_side_say_so(rows: list[tuple[str, float, str, float | None]],
                                                              expected: tuple[str, str]) -> None:
    tests = {test for test, *_ in rows}
    labs = [row for row in ELIGIBLE_LABS if row["test"] not in tests] + [
        {"test": test, "value": value, "unit": unit, "uln": uln, "collected_date": "2025-02-20"}
        for test, value, unit, uln in rows]
    outcome, evidence, _ = outcome_of("I7", labs=labs)
    assert outcome == expected[0]
    assert expected[1] in evidence.split("; ")


def test_an_undated_result_read_with_the_day_is_not_called_one_of_that_days_results() -> None:
    # Review 37C: ANC 2.0 and 3.0 on 2025-02-20 disagree; an undated 1.5 is the least favourable row and is
    # shown, read with that day's results, but it is not one of them.
    labs = [row for row in ELIGIBLE_LABS if row["test"] != "anc"] + [
        {"test": "anc", "value": v, "unit": "10^9/L", "uln": None, "collected_date": d}
        for v, d in ((2.0, "2025-02-20"), (3.0, "2025-02-20"), (1.5, None))]
    outcome, evidence, _ = outcome_of("I7", labs=labs)
    assert outcome == "pass"
    anc = evidence.split("; ")[0]
    assert anc.startswith("ANC 1.5 x10^9/L") and "favourable" not in anc


def test_a_criteria_file_with_equal_limits_does_not_say_above_both() -> None:
    # Review 29F: a what-if file setting both AST/ALT limits to 3 x ULN read "above both limits".
    params = load_params(overrides={"max_ast_alt_x_uln_liver_metastases": 3})
    row = {"test": "ast", "value": 250, "unit": "U/L", "uln": 40, "collected_date": "2025-02-25"}
    result = screen(ScreeningDataset(**case_tables(patient={"liver_metastases": None}, labs=[row])), params)
    got = result.outcomes.set_index("criterion_id").loc["I7"]
    assert (got["outcome"], got["evidence"]) == (
        "fail", "AST 250 U/L (ULN 40) on 2025-02-25 > 3 x ULN = 120 U/L (liver_metastases not recorded; the limit is "
                "the same either way)")


def test_progression_evidence_names_only_what_is_recorded() -> None:
    outcome, evidence, _ = outcome_of("I2", therapies=[line(1, stop_reason=None, best_response="pd")])
    assert outcome == "pass"
    assert "stopped for blank" not in evidence
    assert evidence.endswith("most recent counted line 1 (nivolumab+ipilimumab): best response PD")


def test_progression_unknown_asks_only_for_the_blank_field() -> None:
    outcome, evidence, missing = outcome_of("I2", therapies=[line(1, stop_reason="completed", best_response=None)])
    assert outcome == "unknown"
    assert missing == "therapies.best_response (line 1)"
    assert "most recent counted line 1 (nivolumab+ipilimumab): completed; best response not recorded" in evidence


def test_blank_setting_asks_for_the_setting_once_and_not_for_recorded_agents() -> None:
    # Ended 2024-06-30, consent 2025-03-01: a recurrence by consent may be more than 6 months after the end.
    outcome, _, missing = outcome_of("I2", therapies=[line(1, setting=None, end_date="2024-06-30")])
    # metastatic: passes; adjuvant with no recurrence date after a recorded end: unclear
    assert outcome == "unknown"
    assert missing == "therapies.setting (line 1); therapies.recurrence_date (line 1, if adjuvant or neoadjuvant)"
    assert "agents" not in missing


def test_unknown_agent_asks_to_classify_the_exact_text() -> None:
    outcome, evidence, missing = outcome_of("E1", therapies=[line(1), line(2, agents="nivolumab+Zorblimab X")])
    assert outcome == "unknown"
    assert missing == "classify agent 'Zorblimab X' (therapies line 2)"
    # Only the unknown name is quoted, not the known one beside it (audit, session 15).
    assert evidence == "organ allograft: none; prior cell transfer therapy unclear: 'Zorblimab X' not in the drug " \
                       "dictionary (line 2)"


@pytest.mark.parametrize(("agents", "reason"), [
    ("pembrolizumab+", "a name missing in 'pembrolizumab+'"),
    ("+", "a name missing in '+'"),
    ("nivolumab++Zorblimab", "'Zorblimab' not in the drug dictionary, a name missing in 'nivolumab++Zorblimab'"),
    (None, "agents not recorded"),
])
def test_an_empty_agent_name_leaves_cell_therapy_open_and_asks_for_the_agents(agents: str | None, reason: str) -> None:
    # "pembrolizumab+" names one agent and leaves room for another (a regimen cut short): the
    # missing one could be a cell therapy, so E1 cannot pass (spec section 1: an agent of
    # unknown class keeps E1 unknown unless the rest decides). It was read as no agent at all.
    outcome, evidence, missing = outcome_of("E1", therapies=[line(1), line(2, agents=agents)])
    assert outcome == "unknown"
    assert evidence == f"organ allograft: none; prior cell transfer therapy unclear: {reason} (line 2)"
    assert missing.endswith("therapies.agents (line 2)")


def test_consent_date_blank_asks_for_a_lab_no_consent_date_could_bring_into_the_window() -> None:
    # NMA-LD 2025-03-29; six tests on 2025-03-10 count at any consent date. ANC has no
    # result at all, or only one after NMA-LD: no consent date can place one, so the site
    # must collect an ANC result (audit, session 15: only the consent date was asked).
    labs = [{**lab, "collected_date": "2025-03-10"} for lab in ELIGIBLE_LABS if lab["test"] != "anc"]
    anc = WITHOUT_CONSENT + "; no ANC result "
    assert outcome_of("I7", patient={"consent_date": None}, labs=labs, replace_labs=True) == (
        "unknown", anc + "on file", "labs.anc (collected 2025-03-01 to 2025-03-29)")
    late = {**ELIGIBLE_LABS[0], "collected_date": "2025-04-02"}
    assert outcome_of("I7", patient={"consent_date": None}, labs=[*labs, late], replace_labs=True) == (
        "unknown", anc + "2025-03-01 to 2025-03-29; the latest on file is dated 2025-04-02, outside that window",
        "labs.anc (collected 2025-03-01 to 2025-03-29)")
    # An earlier ANC result, which an earlier consent date would bring into the window: the consent date.
    early = {**ELIGIBLE_LABS[0], "collected_date": "2025-02-20"}
    assert outcome_of("I7", patient={"consent_date": None}, labs=[*labs, early], replace_labs=True) == (
        "unknown", WITHOUT_CONSENT + "; earlier results on file count if consent was no more than 28 days after "
                   "them; no ANC result 2025-03-01 to 2025-03-29", "patients.consent_date")


def test_the_worklist_asks_for_the_nmald_date_as_a_date_to_record_once_scheduled() -> None:
    # Review 29E: "NMA-LD start date" read as data to collect for a patient not yet scheduled; it is a
    # date the coordinator records once NMA-LD is planned. Brain metastases stable 7 days before
    # consent: only NMA-LD's date decides E5.
    from lifileucel_analysis.report.worklist import data_currency, plain_worklist

    patient = {**BRAIN_FOLLOW_UP, "brain_metastases": "yes", "brain_metastases_stable_since": "2025-02-22"}
    dataset = ScreeningDataset(**case_tables(patient=patient))
    result = screen(dataset)
    [row] = plain_worklist(result, dataset.patients, data_currency(result.verdicts)).to_dict("records")
    assert row["to_collect"] == "NMA-LD start date (planned or actual: record it once scheduled)"


def test_the_worklist_gives_the_engines_window_when_the_consent_date_is_blank() -> None:
    # NMA-LD 2025-03-29, no ANC result: the engine asks for one collected 2025-03-01 to 2025-03-29 (28
    # days before NMA-LD: counts at any consent date). The worklist said "no consent date: window
    # unknown" beside the engine's dates in the same row (review 26B).
    from lifileucel_analysis.report.worklist import data_currency, plain_worklist

    labs = [{**lab, "collected_date": "2025-03-10"} for lab in ELIGIBLE_LABS if lab["test"] != "anc"]
    dataset = ScreeningDataset(**case_tables(patient={"consent_date": None}, labs=labs, replace_labs=True))
    result = screen(dataset)
    [row] = plain_worklist(result, dataset.patients, data_currency(result.verdicts)).to_dict("records")
    assert "lab results collected 2025-03-01 to 2025-03-29: ANC" in row["to_collect"]
    assert "window unknown" not in row["to_collect"]


def test_e2_asks_for_each_blank_toxicity_cell_by_its_column_and_term() -> None:
    # Audit, session 15: it asked "toxicities (grade / category / ongoing): ..." for every row,
    # naming recorded cells too and in no table.column form.
    outcome, evidence, missing = outcome_of("E2", toxicities=[
        toxicity_row("P001", grade=None, ongoing="yes"), toxicity_row("P001", term="rash", category=None, ongoing=None,
                                                                      grade=3),
        toxicity_row("P001", term="hypophysitis", category="endocrine", grade=None, ongoing="yes")])
    assert outcome == "unknown"
    # The evidence ends with the fields, by column (29B: "ongoing blank" named no column).
    assert evidence == ("toxicity not fully recorded: colitis grade blank, category other, ongoing yes; rash grade 3, "
                        "category blank, ongoing blank; would be decided by toxicities.grade (colitis); "
                        "toxicities.category (rash); toxicities.ongoing (rash)")
    assert missing == "toxicities.grade (colitis); toxicities.category (rash); toxicities.ongoing (rash)"


def test_e2_one_unclear_row_is_not_named_twice() -> None:
    # Audit 41A: the sentence named the one unclear row, then its field with the row again ("... ongoing
    # blank; would be decided by toxicities.ongoing (colitis grade 2, category other, ongoing blank)").
    # The field to collect keeps the row: two colitis rows, only the whole row says which one.
    outcome, evidence, missing = outcome_of("E2", toxicities=[
        toxicity_row("P001", grade=2, ongoing=None), toxicity_row("P001", grade=1, ongoing="no")])
    assert outcome == "unknown"
    assert evidence == ("toxicity not fully recorded: colitis grade 2, category other, ongoing blank; would be "
                        "decided by toxicities.ongoing")
    assert missing == "toxicities.ongoing (colitis grade 2, category other, ongoing blank)"


ADJUVANT_AUGUST = {"setting": "adjuvant", "agents": "pembrolizumab", "start_date": "2024-02-01",
                   "end_date": "2024-08-31", "stop_reason": "completed", "best_response": None}


def test_i2_says_which_adjuvant_line_did_not_count_and_why() -> None:
    # 2024-08-31 + 6 calendar months = 2025-02-28: a recurrence on 2025-03-01 is outside.
    # Audit, session 15: I2 said only "0 counted prior lines < 1", I3 alone said why.
    why = ("not counted: line 1 (pembrolizumab): adjuvant, recurrence 2025-03-01 past the 6-month window from its "
           "end 2024-08-31 to 2025-02-28")
    late = line(1, **ADJUVANT_AUGUST, recurrence_date="2025-03-01")
    assert outcome_of("I2", therapies=[late]) == (
        "fail", f"0 counted prior lines < 1; {why}; no anti-PD-(L)1 in any counted line", "")
    assert outcome_of("I2", therapies=[late, line(2, agents="ipilimumab")]) == (
        "fail", f"no anti-PD-(L)1 in any counted line: line 2 (ipilimumab); {why}", "")
    assert outcome_of("I2", therapies=[line(1, **ADJUVANT_AUGUST, recurrence_date="2025-02-28")])[0] == "pass"
    no_pd1 = line(1, **{**ADJUVANT_AUGUST, "agents": "ipilimumab"}, recurrence_date="2024-10-01")
    assert outcome_of("I2", therapies=[no_pd1]) == (
        "fail", "0 counted prior lines < 1; not counted: line 1 (ipilimumab): adjuvant, no anti-PD-(L)1; "
                "no anti-PD-(L)1 in any counted line", "")


def test_i2_counts_one_line_in_the_singular() -> None:
    # Audit 40A: "1 counted prior line(s)" read as an unfilled template.
    one = screen(ScreeningDataset(**case_tables(therapies=[line(1)])), load_params(overrides={"min_prior_lines": 2}))
    assert one.outcomes.set_index("criterion_id").loc["I2", "evidence"].startswith("1 counted prior line < 2")
    two = outcome_of("I2", therapies=[line(1, stop_reason="toxicity"), line(2)])
    assert two[1].startswith("2 counted prior lines, within 1-4")


def test_i2_s_anti_pd1_part_says_why_a_line_may_not_count_where_the_count_does_not() -> None:
    # Audit 40A: where the count is open it gives each line's reason first, and the anti-PD-(L)1 part
    # says "(as above)" (test_i2_names_the_blank_recurrence_date_...). Beside a metastatic line that
    # surely counts, the count is decided (1 to 2, within 1-4) and not said: the part gives the reason.
    adjuvant = line(1, **ADJUVANT_AUGUST, recurrence_date=None)
    outcome, evidence, _ = outcome_of("I2", therapies=[adjuvant, line(2, agents="ipilimumab")])
    assert outcome == "unknown"
    assert evidence.startswith("anti-PD-(L)1 only in line 1 (pembrolizumab), which may not count (line 1 "
                               "(pembrolizumab): recurrence date not recorded: it qualifies if on or before "
                               "2025-02-28, 6 months after its end 2024-08-31)")


def test_i2_says_no_therapy_is_recorded_and_names_blank_agents_as_such() -> None:
    # Audit 40B: "0 counted prior lines < 1" did not tell a patient without any therapies row from one
    # whose lines did not count, and a most recent line with blank agents read "line 2 (blank)".
    assert outcome_of("I2", therapies=[]) == (
        "fail", "no prior line of therapy recorded: 0 counted prior lines < 1; no anti-PD-(L)1 in any counted "
                "line", "")
    outcome, evidence, _ = outcome_of("I2", therapies=[line(1, agents="nivolumab"), line(2, agents=None)])
    assert outcome == "pass"
    assert "most recent counted line 2 (blank agents): stopped for progression" in evidence


def test_i2_says_what_is_at_stake_only_for_a_lone_line_of_blank_setting() -> None:
    # Review 40C. Line 2 (ipilimumab), setting blank: as metastatic it counts and is the most recent, and its
    # record fails I2; as adjuvant it does not count, and line 1's progression passes I2.
    blank = line(2, agents="ipilimumab", setting=None, stop_reason="completed", best_response=None)
    assert outcome_of("I2", therapies=[line(1), blank])[1] == (
        "whether line 2 (ipilimumab) counts is unclear; as a metastatic line it would be the most recent counted "
        "line (completed; best response not recorded); would be decided by therapies.setting (line 2); "
        "therapies.best_response (line 2)")
    # Two lines numbered 2 that may count and record the same: neither is named as the most recent, which
    # no record says (the later file row was).
    same = {**blank, "best_response": "cr"}
    assert outcome_of("I2", therapies=[line(1), same, {**same, "agents": "dacarbazine"}])[1] == (
        "whether line 2 counts is unclear; would be decided by therapies.setting (line 2 (ipilimumab)); "
        "therapies.setting (line 2 (dacarbazine))")


def test_e1_says_when_a_cell_therapy_line_starts_after_consent() -> None:
    # Audit 40B: a lifileucel line dated after consent (2025-03-01) fails E1 as recorded (docs/criteria.md,
    # audit 22A), and the sentence now says why it may be the program's own infusion; one before consent
    # is named plainly.
    late = line(2, agents="lifileucel", start_date="2025-03-20", end_date="2025-03-20", stop_reason="completed")
    assert outcome_of("E1", therapies=[line(1), late]) == (
        "fail", "prior cell transfer therapy: line 2 (lifileucel) (started 2025-03-20, after consent 2025-03-01: "
                "the program's own infusion entered as a prior line? see findings)", "")
    early = {**late, "start_date": "2024-11-02", "end_date": "2024-11-02"}
    assert outcome_of("E1", therapies=[line(1), early])[1] == "prior cell transfer therapy: line 2 (lifileucel)"
    # Consent blank: after NMA-LD (2025-03-29) is after consent too, as the finding says (review 40C); with
    # NMA-LD blank too, or a start before NMA-LD, nothing places the line after consent.
    after_nmald = {**late, "start_date": "2025-04-02", "end_date": "2025-04-02"}
    assert outcome_of("E1", patient={"consent_date": None}, therapies=[line(1), after_nmald])[1] == (
        "prior cell transfer therapy: line 2 (lifileucel) (started 2025-04-02, after NMA-LD 2025-03-29 (consent not "
        "recorded): the program's own infusion entered as a prior line? see findings)")
    for patient in ({"consent_date": None}, {"consent_date": None, "lymphodepletion_date": None}):
        assert outcome_of("E1", patient=patient, therapies=[line(1), late])[1] == (
            "prior cell transfer therapy: line 2 (lifileucel)")


BLANK_SETTING_PEMBRO = {"setting": None, "agents": "pembrolizumab", "start_date": "2024-04-01", "end_date": None,
                        "recurrence_date": None}


def test_a_blank_setting_line_that_counts_either_way_is_not_called_unclear() -> None:
    # Ongoing anti-PD-1 with a blank setting: metastatic, it counts; adjuvant, it recurred on
    # therapy and counts. Audit, session 15b: I2 said "0 to 1 counted prior lines ... which
    # may not count" (false), and asked for the setting where it could change nothing.
    outcome, evidence, missing = outcome_of("I2", therapies=[line(1, **BLANK_SETTING_PEMBRO, stop_reason=None,
                                                                  best_response=None)])
    assert outcome == "unknown"
    assert evidence.startswith("most recent counted line 1 (pembrolizumab): setting not recorded (as "
                               "adjuvant/neoadjuvant its recurrence shows progression; stop reason and best "
                               "response not recorded)")
    assert missing == "therapies.setting (line 1); therapies.stop_reason (line 1); therapies.best_response (line 1)"
    # Completed with a complete response: metastatic, it fails; adjuvant, it counts only if it recurred
    # in the window, and "completed" says the blank end date is a missing date, not "ongoing"
    # (session 22): the setting, the end date and the recurrence date decide; the dates only if the line is
    # adjuvant or neoadjuvant, which the request says (review 24: a metastatic line's dates decide nothing).
    assert outcome_of("I2", therapies=[line(1, **BLANK_SETTING_PEMBRO, stop_reason="completed",
                                            best_response="cr")])[2] == (
        "therapies.setting (line 1); therapies.end_date (line 1, if adjuvant or neoadjuvant); "
        "therapies.recurrence_date (line 1, if adjuvant or neoadjuvant)")
    # Ongoing: as adjuvant it recurred on therapy, so only the setting decides.
    assert outcome_of("I2", therapies=[line(1, **BLANK_SETTING_PEMBRO, stop_reason="ongoing",
                                            best_response="cr")])[2] == "therapies.setting (line 1)"
    # Progressed: it counts and shows progression in every reading; the setting is not asked.
    outcome, evidence, missing = outcome_of("I2", therapies=[
        line(1, **BLANK_SETTING_PEMBRO, stop_reason="progression", best_response=None),
        line(2, setting=None, agents=None, start_date="2024-06-01", end_date=None, stop_reason=None,
             best_response=None)])
    assert outcome == "unknown"
    assert "line 1" not in missing
    assert outcome_of("I2", therapies=[line(1, **BLANK_SETTING_PEMBRO, stop_reason="progression",
                                            best_response=None)]) == (
        "pass", "1 counted prior line, within 1-4 (line 1 (pembrolizumab) counted either way: setting not "
                "recorded, and as adjuvant it qualifies under I3: recurrence on therapy (stopped for progression "
                "without an end date)); anti-PD-(L)1 in line 1 (pembrolizumab); most recent counted line 1 "
                "(pembrolizumab): stopped for progression", "")


def test_a_failed_count_limit_says_at_least_when_lines_may_or_may_not_count() -> None:
    metastatic = [line(n, agents="ipilimumab") for n in (1, 2)]
    maybe = line(3, setting="adjuvant", agents="pembrolizumab", end_date="2024-06-30", recurrence_date=None)
    later = [line(n, agents="ipilimumab") for n in (4, 5, 6)]
    outcome, evidence, _ = outcome_of("I2", therapies=[*metastatic, maybe, *later])
    assert outcome == "fail"
    assert evidence.startswith("at least 5 counted prior lines > 4: line 1 (ipilimumab), line 2 (ipilimumab), "
                               "line 4 (ipilimumab), line 5 (ipilimumab), line 6 (ipilimumab)")  # line 3 may count


def test_a_pass_on_an_adjuvant_anti_pd1_line_says_it_is_adjuvant_and_counted_under_i3() -> None:
    # Audit 33 (C29): "anti-PD-(L)1 in line 1 (pembrolizumab)" read as a metastatic line; the pass rests on I3.
    # Line 1: adjuvant pembrolizumab ended 2023-06-30, recurrence 2023-10-01 (within 6 months): counts.
    adjuvant = line(1, setting="adjuvant", agents="pembrolizumab", start_date="2023-01-02", end_date="2023-06-30",
                    recurrence_date="2023-10-01")
    outcome, evidence, _ = outcome_of("I2", therapies=[adjuvant, line(2, agents="ipilimumab")])
    assert outcome == "pass"
    assert "; anti-PD-(L)1 in line 1 (pembrolizumab, adjuvant counted under I3); " in evidence
    # A metastatic anti-PD-1 line is named as before, unmarked.
    outcome, evidence, _ = outcome_of("I2", therapies=[line(1, agents="nivolumab")])
    assert outcome == "pass"
    assert "; anti-PD-(L)1 in line 1 (nivolumab); " in evidence


def test_too_many_lines_names_the_lines_counted_and_the_adjuvant_one_i3_brought_in() -> None:
    # Audit 26A: "5 counted prior lines > 4" beside four metastatic lines on file did not say which fifth line
    # counted. Line 1: adjuvant pembrolizumab ended 2023-06-30, recurrence 2023-10-01 (within 6 months): counts.
    adjuvant = line(1, setting="adjuvant", agents="pembrolizumab", start_date="2023-01-02", end_date="2023-06-30",
                    recurrence_date="2023-10-01")
    metastatic = [line(n, agents=agents) for n, agents in ((2, "nivolumab"), (3, "ipilimumab"),
                                                           (4, "dabrafenib+trametinib"), (5, "dacarbazine"))]
    outcome, evidence, _ = outcome_of("I2", therapies=[adjuvant, *metastatic])
    assert outcome == "fail"
    assert evidence.startswith("5 counted prior lines > 4: line 1 (pembrolizumab, adjuvant counted under I3), "
                               "line 2 (nivolumab), line 3 (ipilimumab), line 4 (dabrafenib+trametinib), "
                               "line 5 (dacarbazine)")
    # A line of blank setting that counts in every reading (adjuvant with a qualifying recurrence, or
    # metastatic) is listed unmarked; it crashed the sentence (a blank setting read as NaN, session 26).
    blank_setting = {**adjuvant, "setting": None}
    outcome, evidence, _ = outcome_of("I2", therapies=[blank_setting, *metastatic])
    assert outcome == "fail"
    assert evidence.startswith("5 counted prior lines > 4: line 1 (pembrolizumab), line 2 (nivolumab), ")


def test_allograft_blank_alone_does_not_speak_of_unclassified_agents() -> None:
    outcome, evidence, missing = outcome_of("E1", patient={"organ_allograft": None})
    assert (outcome, missing) == ("unknown", "patients.organ_allograft")
    assert evidence == "organ allograft not recorded (organ_allograft); no prior cell transfer therapy"


def test_brain_metastases_stable_after_nma_ld_is_not_negative_days() -> None:
    outcome, evidence, _ = outcome_of("E5", patient={
        "brain_metastases": "yes", "brain_metastases_treated": "yes", "brain_metastases_symptomatic": "no",
        "brain_metastases_stable_since": "2025-04-02"})
    assert outcome == "fail"
    assert evidence == "brain metastases stable only since 2025-04-02, after the start of NMA-LD (2025-03-29)"
    assert "-4" not in evidence


def test_stability_and_a_vaccine_on_the_first_day_of_nma_ld_are_not_zero_days_before_it() -> None:
    # Reviews 29A and 29F: "0 days before NMA-LD < 14" was true as a comparison, odd as a sentence.
    outcome, evidence, _ = outcome_of("E5", patient={
        "brain_metastases": "yes", "brain_metastases_treated": "yes", "brain_metastases_symptomatic": "no",
        "brain_metastases_stable_since": "2025-03-29"})
    assert (outcome, evidence) == ("fail", "brain metastases stable only since 2025-03-29, the first day of NMA-LD "
                                           "(stable >= 14 days before it is required)")
    outcome, evidence, _ = outcome_of("E10", patient={"live_vaccine_received": "yes",
                                                      "live_vaccine_date": "2025-03-29"})
    assert (outcome, evidence) == ("fail", "live vaccine 2025-03-29, on the first day of NMA-LD (counted as within 28 "
                                           "days before it)")
    outcome, evidence, _ = outcome_of("E10", patient={"live_vaccine_received": "yes",
                                                      "live_vaccine_date": "2025-03-28"})
    assert (outcome, evidence) == ("fail", "live vaccine 2025-03-28, 1 day before NMA-LD, within 28")
    # With a criteria file's limit of 0 days, the first day of NMA-LD is stable long enough (review 30).
    params = load_params(overrides={"brain_metastases_stable_days": 0})
    brain = {"brain_metastases": "yes", "brain_metastases_treated": "yes", "brain_metastases_symptomatic": "no",
             "brain_metastases_stable_since": "2025-03-29"}
    got = screen(ScreeningDataset(**case_tables(patient=brain)), params).outcomes.set_index("criterion_id").loc["E5"]
    assert got["outcome"] == "pass"


def test_pregnancy_evidence_says_what_each_field_records() -> None:
    outcome, evidence, missing = outcome_of("E11", patient={"breastfeeding": None})
    assert (outcome, missing) == ("unknown", "patients.breastfeeding")
    assert evidence == "female; pregnant: no; breastfeeding: not recorded (breastfeeding)"
    # Sex blank beside two "no": no reading blocks, but female passes and male is not applicable.
    outcome, evidence, missing = outcome_of("E11", patient={"sex": None, "pregnant": "no", "breastfeeding": "no"})
    assert (outcome, missing) == ("unknown", "patients.sex")
    assert evidence == ("sex not recorded (sex); not pregnant, not breastfeeding: a pass if female, not applicable "
                        "if male")


def test_with_sex_blank_the_pregnancy_fields_are_asked_if_female() -> None:
    # The contract needs pregnant and breastfeeding "for female" only: beside a blank sex they are asked on
    # that condition, as the vaccine date is "if received" (audit 34A).
    blank = {"sex": None, "pregnant": None, "breastfeeding": None}
    outcome, _, missing = outcome_of("E11", patient=blank)
    assert (outcome, missing) == ("unknown", "patients.sex; patients.pregnant (if female); "
                                             "patients.breastfeeding (if female)")
    outcome, _, missing = outcome_of("E11", patient={**blank, "pregnant": "no"})
    assert (outcome, missing) == ("unknown", "patients.sex; patients.breastfeeding (if female)")
    # A known female owes both plainly; a known male owes nothing.
    _, _, missing = outcome_of("E11", patient={**blank, "sex": "female"})
    assert missing == "patients.pregnant; patients.breastfeeding"
    assert outcome_of("E11", patient={**blank, "sex": "male"})[0] == "not_applicable"


@pytest.mark.parametrize("received", ["no", None])
def test_recorded_vaccine_date_counts_whatever_the_flag(received: str | None) -> None:
    outcome, evidence, _ = outcome_of("E10", patient={"live_vaccine_received": received,
                                                      "live_vaccine_date": "2025-03-12"})
    assert outcome == "fail"
    assert evidence.startswith("live vaccine 2025-03-12")
    assert "17 days before NMA-LD, within 28" in evidence


def test_adjuvant_blank_recurrence_date_is_a_missing_date() -> None:
    outcome, _, missing = outcome_of("I2", therapies=[line(1, setting="adjuvant", agents="nivolumab",
                                                            end_date="2024-06-30", recurrence_date=None)])
    assert outcome == "unknown"
    assert missing == "therapies.recurrence_date (line 1)"


def test_adjuvant_blank_recurrence_date_within_the_window_of_consent_asks_for_nothing() -> None:
    # Ended 2024-12-01, consent 2025-03-01: the recurrence came by consent, within 6 months (audit 31A).
    outcome, evidence, missing = outcome_of("I2", therapies=[line(1, setting="adjuvant", agents="nivolumab",
                                                                  end_date="2024-12-01", recurrence_date=None)])
    assert (outcome, missing) == ("pass", "")
    assert evidence.endswith("line 1 (adjuvant) recurred by consent 2025-03-01 (recurrence date not recorded) and "
                             "so within 6 months of its end 2024-12-01")


@pytest.mark.parametrize(("pregnant", "breastfeeding", "stated"), [("yes", None, "pregnant"),
                                                                    ("no", "yes", "breastfeeding")])
def test_a_recorded_pregnancy_with_sex_blank_asks_only_for_the_sex(pregnant: str, breastfeeding: str | None,
                                                                    stated: str) -> None:
    outcome, evidence, missing = outcome_of("E11", patient={"sex": None, "pregnant": pregnant,
                                                            "breastfeeding": breastfeeding})
    assert (outcome, missing) == ("unknown", "patients.sex")
    assert evidence == f"recorded {stated}, sex not recorded (sex): fails if female, not applicable if male"


def test_a_lab_result_without_a_value_asks_for_that_value() -> None:
    labs = [{"test": "anc", "value": None, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-25"}]
    outcome, evidence, missing = outcome_of("I7", labs=labs)
    assert (outcome, missing) == ("unknown", "labs.value (ANC result dated 2025-02-25)")
    assert evidence == "ANC (no value) on 2025-02-25: its value is not recorded, so it may pass or fail"


def test_a_lab_result_without_a_unit_that_matters_asks_for_the_unit() -> None:
    labs = [{"test": "hemoglobin", "value": 12, "unit": None, "uln": None, "collected_date": "2025-02-25"}]
    outcome, evidence, missing = outcome_of("I7", labs=labs)
    assert (outcome, missing) == ("unknown", "labs.unit (hemoglobin result dated 2025-02-25)")
    assert evidence == ("hemoglobin 12 (unit not recorded) on 2025-02-25: its unit is not recorded, "
                        "so it may pass or fail")


def test_a_blank_lab_value_beside_a_band_value_asks_for_the_value_and_the_condition() -> None:
    # 4 x ULN beside a blank value on the same day: the blank is asked for first.
    labs = [{"test": "ast", "value": 160, "unit": "U/L", "uln": 40, "collected_date": "2025-02-25"},
            {"test": "ast", "value": None, "unit": "U/L", "uln": 40, "collected_date": "2025-02-25"}]
    outcome, evidence, missing = outcome_of("I7", labs=labs, patient={"liver_metastases": None})
    assert outcome == "unknown"
    assert missing == "labs.value (AST result dated 2025-02-25)"
    assert evidence == "AST (no value) (ULN 40) on 2025-02-25: its value is not recorded, so it may pass or fail"
    # Either row may be the latest (dates carry no time), so neither the blank value nor liver
    # metastases decides alone; the value is asked first, then the disagreement (session 16).
    labs[1]["value"] = 80
    outcome, evidence, missing = outcome_of("I7", labs=labs, patient={"liver_metastases": None})
    assert (outcome, missing) == ("unknown", "labs.ast (results dated 2025-02-25: which is the latest); "
                                             "patients.liver_metastases")


def test_the_worklist_names_one_lab_rows_blank_cell_in_words() -> None:
    assert field_label("labs.value (ANC result dated 2025-02-25)") == "value of the ANC result dated 2025-02-25"
    assert field_label("labs.anc (collected 2025-01-28 to 2025-03-29)") == "ANC (collected 2025-01-28 to 2025-03-29)"


ADJUVANT_PEMBRO: dict[str, Any] = {**ELIGIBLE_THERAPY, "agents": "pembrolizumab", "setting": "adjuvant",
                                   "start_date": "2022-02-01", "end_date": "2023-01-10", "stop_reason": "completed",
                                   "best_response": None}

Q_0710 = "recurrence date not recorded: it qualifies if on or before 2023-07-10, 6 months after its end 2023-01-10"
"""ADJUVANT_PEMBRO's open window, as evidence says it (its end 2023-01-10 + 6 calendar months = 2023-07-10)."""


def test_i3_evidence_names_the_lines_that_qualified_did_not_and_are_unclear() -> None:
    # Lines 1-3 adjuvant pembrolizumab ended 2023-01-10 (+ 6 months = 2023-07-10): line 1 recurred
    # 2024-06-01 (outside), line 2 has no recurrence date, line 3 recurred 2023-03-01 (inside).
    therapies = [{**ADJUVANT_PEMBRO, "line": 1, "recurrence_date": "2024-06-01"},
                 {**ADJUVANT_PEMBRO, "line": 2, "recurrence_date": None},
                 {**ADJUVANT_PEMBRO, "line": 3, "recurrence_date": "2023-03-01"}, line(4)]
    outcome, evidence, _ = outcome_of("I3", therapies=therapies)
    assert (outcome, evidence) == ("pass", "adjuvant/neoadjuvant anti-PD-(L)1 lines qualifying (recurrence on "
                                           "therapy or within 6 months): line 3 (pembrolizumab) (recurrence "
                                           "2023-03-01 within 6 months of its end 2023-01-10); not qualifying: "
                                           "line 1 (pembrolizumab) (recurrence 2024-06-01 past the 6-month window "
                                           "from its end 2023-01-10 to 2023-07-10); unclear: line 2 "
                                           "(pembrolizumab) (recurrence date not recorded: it qualifies if on or "
                                           "before 2023-07-10, 6 months after its end 2023-01-10)")
    # I2 passes with 2 or 3 counted lines: the evidence says both, not one count.
    outcome, evidence, _ = outcome_of("I2", therapies=therapies)
    assert outcome == "pass"
    assert evidence.startswith("2 to 3 counted prior lines, within 1-4 either way "
                               "(line 2 (pembrolizumab): recurrence date not recorded: it qualifies if on or before "
                               "2023-07-10, 6 months after its end 2023-01-10); ")


@pytest.mark.parametrize(("changes", "why"), [
    # ADJUVANT_PEMBRO started 2022-02-01 and ended 2023-01-10; consent 2025-03-01. Review 37B: each
    # qualifying line says which dates make it qualify.
    ({"end_date": None, "stop_reason": "ongoing", "recurrence_date": "2022-10-01"},
     "recurrence 2022-10-01 on therapy (no end date: ongoing)"),
    ({"end_date": None, "stop_reason": "ongoing", "recurrence_date": None},
     "recurrence on therapy (no end date: ongoing)"),
    # Stopped on an end date not recorded: 2022-06-01 is within 6 months of the start, so of any end.
    ({"end_date": None, "stop_reason": "completed", "recurrence_date": "2022-06-01"},
     "recurrence 2022-06-01 within 6 months of its start 2022-02-01 (end date not recorded: it ended after that)"),
    ({"recurrence_date": "2022-12-01"}, "recurrence 2022-12-01 on or before its end 2023-01-10 (on therapy)"),
    # Ended 2024-12-01: any recurrence by consent 2025-03-01 is within 6 months of it.
    ({"end_date": "2024-12-01", "recurrence_date": None},
     "recurred by consent 2025-03-01 (recurrence date not recorded) and so within 6 months of its end 2024-12-01"),
])
def test_a_qualifying_adjuvant_line_says_why_it_qualifies(changes: dict[str, Any], why: str) -> None:
    outcome, evidence, _ = outcome_of("I3", therapies=[{**ADJUVANT_PEMBRO, **changes}, line(2)])
    assert (outcome, evidence) == ("pass", "adjuvant/neoadjuvant anti-PD-(L)1 lines qualifying (recurrence on "
                                           f"therapy or within 6 months): line 1 (pembrolizumab) ({why}); not "
                                           "qualifying: none; unclear: none")


def test_an_unclear_anti_pd1_exposure_says_why_an_anti_pd1_line_on_file_does_not_count() -> None:
    # Review 37B: "anti-PD-(L)1 exposure unclear: 'nivolumabb' ..." beside an adjuvant pembrolizumab line
    # left a monitor asking why that line did not settle it. Ended 2023-01-10: its window ended 2023-07-10.
    therapies = [{**ADJUVANT_PEMBRO, "line": 1, "recurrence_date": "2024-06-01"}, line(2, agents="nivolumabb")]
    assert outcome_of("I2", therapies=therapies)[:2] == (
        "unknown", "anti-PD-(L)1 exposure unclear: 'nivolumabb' not in the drug dictionary (line 2); not counted: "
                   "line 1 (pembrolizumab): adjuvant, recurrence 2024-06-01 past the 6-month window from its end "
                   "2023-01-10 to 2023-07-10; would be decided by the class of agent 'nivolumabb' "
                   "(therapies line 2)")


def test_a_pass_says_a_line_of_blank_setting_counts_either_way() -> None:
    # Audit 36A, review 37B: a pass counting a line of blank setting said nothing of the blank. As metastatic
    # it counts; as adjuvant anti-PD-1 ended 2024-12-01 it recurred by consent 2025-03-01, within 6 months.
    blank = line(2, setting=None, agents="nivolumab", start_date="2024-10-15", end_date="2024-12-01",
                 recurrence_date=None)
    outcome, evidence, _ = outcome_of("I2", therapies=[line(1), blank])
    assert outcome == "pass"
    # The recurrence is inferred, not on file: the sentence says so with its dates (audit 38A: "it recurred in
    # its window" read as a recurrence date on file).
    assert evidence.startswith("2 counted prior lines, within 1-4 (line 2 (nivolumab) counted either way: setting "
                               "not recorded, and as adjuvant it qualifies under I3: recurred by consent 2025-03-01 "
                               "(recurrence date not recorded) and so within 6 months of its end 2024-12-01); "
                               "anti-PD-(L)1 in ")
    # With the date on file, the sentence quotes it (2025-01-10 is within 6 months of 2024-12-01).
    dated = {**blank, "recurrence_date": "2025-01-10"}
    assert "as adjuvant it qualifies under I3: recurrence 2025-01-10 within 6 months of its end 2024-12-01); " in (
        outcome_of("I2", therapies=[line(1), dated])[1])


def test_a_line_of_blank_setting_says_what_the_adjuvant_reading_makes_of_it() -> None:
    # Review 38C: as metastatic the line counts; as adjuvant its recurrence 2025-03-10 is past the window, which
    # ended 2025-02-28 (2024-08-31 + 6 calendar months): "setting not recorded" alone did not say so.
    past = line(1, setting=None, agents="pembrolizumab", start_date="2024-03-01", end_date="2024-08-31",
                stop_reason="completed", best_response="pd", recurrence_date="2025-03-10")
    outcome, evidence, missing = outcome_of("I2", patient={"consent_date": "2025-06-01",
                                                           "lymphodepletion_date": "2025-06-20"}, therapies=[past])
    assert (outcome, missing) == ("unknown", "therapies.setting (line 1)")
    assert ("line 1 (pembrolizumab): setting not recorded: as adjuvant it would not count (recurrence 2025-03-10 "
            "past the 6-month window from its end 2024-08-31 to 2025-02-28)") in evidence
    # The recurrence date blank: the day decides it only as adjuvant, and the sentence says so.
    blank = {**past, "recurrence_date": None}
    evidence = outcome_of("I2", patient={"consent_date": "2025-06-01", "lymphodepletion_date": "2025-06-20"},
                          therapies=[blank])[1]
    assert ("line 1 (pembrolizumab): setting not recorded, recurrence date not recorded: as adjuvant it qualifies "
            "if on or before 2025-02-28, 6 months after its end 2024-08-31") in evidence


def test_i2_names_the_blank_recurrence_date_and_asks_for_nothing_that_cannot_decide() -> None:
    outcome, evidence, missing = outcome_of("I2", therapies=[{**ADJUVANT_PEMBRO, "line": 1, "recurrence_date": None}])
    assert outcome == "unknown"
    # Each names the day that decides the blank date (audit 38A): 2023-01-10 + 6 months = 2023-07-10.
    # The anti-PD-(L)1 part does not say it again (audit 40A).
    assert evidence.startswith(f"0 to 1 counted prior lines (line 1 (pembrolizumab): {Q_0710}); anti-PD-(L)1 only "
                               "in line 1 (pembrolizumab), which may not count (as above)")
    assert evidence.count(Q_0710) == 1
    # Recorded as adjuvant, its record is not at stake (its recurrence would be its progression): no
    # "as a metastatic line" clause (review 40C).
    assert evidence.endswith("; whether line 1 (pembrolizumab) counts is unclear; would be decided by "
                             "therapies.recurrence_date (line 1)")
    # A line recorded as adjuvant shows progression by its qualifying recurrence: its blank
    # best response cannot change I2, so it is not asked for.
    assert missing == "therapies.recurrence_date (line 1)"


METASTATIC_DACARBAZINE: dict[str, Any] = {**ELIGIBLE_THERAPY, "agents": "dacarbazine", "setting": "metastatic",
                                          "stop_reason": "progression", "best_response": "pd"}


@pytest.mark.parametrize(("therapies", "evidence", "missing"), [
    # The count and the progression parts pass (line 2 counts and progressed); the anti-PD-(L)1
    # part's sentence is about line 1's count, whose deciding blank it did not name.
    ([{**ADJUVANT_PEMBRO, "line": 1, "recurrence_date": None}, {**METASTATIC_DACARBAZINE, "line": 2}],
     f"anti-PD-(L)1 only in line 1 (pembrolizumab), which may not count (line 1 (pembrolizumab): {Q_0710}); would "
     "be decided by therapies.recurrence_date (line 1)", "therapies.recurrence_date (line 1)"),
    # Line 2's blank setting: metastatic (counts, no progression) or adjuvant without anti-PD-(L)1.
    ([line(1, agents="pembrolizumab"), {**METASTATIC_DACARBAZINE, "line": 2, "setting": None,
                                        "stop_reason": "completed", "best_response": "cr"}],
     # Audit 40B: the sentence says what is at stake, line 2's own record as the most recent line.
     "whether line 2 (dacarbazine) counts is unclear; as a metastatic line it would be the most recent counted "
     "line (completed, best response CR); would be decided by therapies.setting (line 2)",
     "therapies.setting (line 2)"),
    # Line 2's agents are blank: it may be the anti-PD-(L)1 line, so "only in line 1" would be false.
    ([{**ADJUVANT_PEMBRO, "line": 1, "recurrence_date": None},
      {**METASTATIC_DACARBAZINE, "line": 2, "agents": None}],
     f"anti-PD-(L)1 in line 1 (pembrolizumab), which may not count (line 1 (pembrolizumab): {Q_0710}); agents not "
     "recorded (line 2); "
     "would be decided by therapies.recurrence_date (line 1); "
     "therapies.agents (line 2)", "therapies.recurrence_date (line 1); therapies.agents (line 2)"),
])
def test_an_unknown_i2_names_every_field_that_would_decide_it(therapies: list[dict[str, Any]], evidence: str,
                                                              missing: str) -> None:
    # Spec section 2: "the evidence names the column(s) that would decide it" (helper audit, session 14).
    assert outcome_of("I2", therapies=therapies) == ("unknown", evidence, missing)


def test_blank_agents_are_not_called_a_name_missing_from_the_dictionary() -> None:
    outcome, evidence, missing = outcome_of("I2", therapies=[line(1, agents=None)])
    assert (outcome, missing) == ("unknown", "therapies.agents (line 1)")
    assert evidence == ("anti-PD-(L)1 exposure unclear: agents not recorded (line 1); would be decided by "
                        "therapies.agents (line 1)")
    # Where the blank leaves the count open, the reason says the agents are not recorded.
    outcome, evidence, _ = outcome_of("I2", therapies=[{**ADJUVANT_PEMBRO, "line": 1, "agents": None},
                                                       line(2, agents="pembrolizumab")])
    assert outcome == "pass"
    assert evidence.startswith("1 to 2 counted prior lines, within 1-4 either way (line 1 (blank agents): agents not "
                               f"recorded, {Q_0710}); ")


def test_a_cut_short_regimen_in_i2_is_called_cut_short_not_unknown_to_the_dictionary() -> None:
    # "ipilimumab+" names one agent and leaves room for another: the class is open because a
    # name is missing, not because the dictionary lacks ipilimumab (session 15's review).
    outcome, evidence, missing = outcome_of("I2", therapies=[line(1, agents="ipilimumab+")])
    assert (outcome, missing) == ("unknown", "therapies.agents (line 1)")
    assert evidence == ("anti-PD-(L)1 exposure unclear: a name missing in 'ipilimumab+' (line 1); would be decided "
                        "by therapies.agents (line 1)")
    # As the reason a line may or may not count: adjuvant, recurred 2023-03-01 within 6 months
    # of its end 2023-01-10, so it counts exactly when the missing agent is an anti-PD-(L)1.
    outcome, evidence, _ = outcome_of("I2", therapies=[
        {**ADJUVANT_PEMBRO, "line": 1, "agents": "ipilimumab+", "recurrence_date": "2023-03-01"},
        line(2, agents="pembrolizumab")])
    assert outcome == "pass"
    assert evidence.startswith("1 to 2 counted prior lines, within 1-4 either way (line 1 (ipilimumab+): a name "
                               "missing in 'ipilimumab+'); ")
    # A name the dictionary does not know is quoted alone, the known one beside it is not.
    _, evidence, _ = outcome_of("I2", therapies=[
        {**ADJUVANT_PEMBRO, "line": 1, "agents": "ipilimumab+zorblimab", "recurrence_date": "2023-03-01"},
        line(2, agents="pembrolizumab")])
    assert evidence.startswith("1 to 2 counted prior lines, within 1-4 either way (line 1 (ipilimumab+zorblimab): "
                               "'zorblimab' not in the drug dictionary); ")


BRAIN_FOLLOW_UP: dict[str, Any] = {"brain_metastases_treated": "yes", "brain_metastases_symptomatic": "no",
                                   "lymphodepletion_date": None}
"""Treated, asymptomatic brain metastases, NMA-LD not scheduled (consent 2025-03-01)."""


@pytest.mark.parametrize(("patient", "evidence", "missing"), [
    # Stable 14 days before consent: long enough at any NMA-LD date, so only "treated" decides
    # (audit, session 16: it asked for NMA-LD too, and said "brain metastases: not recorded: ...").
    ({"brain_metastases": "yes", "brain_metastases_treated": None, "brain_metastases_stable_since": "2025-02-15"},
     "brain metastases: treatment not recorded, asymptomatic, stable since 2025-02-15, 14 days before consent "
     "(NMA-LD not scheduled; >= 14 days needed before it: an NMA-LD start on or after 2025-03-01); would be decided "
     "by patients.brain_metastases_treated",
     "patients.brain_metastases_treated"),
    # 13 days before consent, brain_metastases blank: "no" passes, and an NMA-LD a day after
    # consent or later passes "yes": either field alone decides.
    ({"brain_metastases": None, "brain_metastases_stable_since": "2025-02-16"},
     "brain metastases not recorded: treated, asymptomatic, stable since 2025-02-16, 13 days before consent "
     "(NMA-LD not scheduled; >= 14 days needed before it: an NMA-LD start on or after 2025-03-02); would be decided "
     "by patients.brain_metastases; "
     "patients.lymphodepletion_date", "patients.brain_metastases; patients.lymphodepletion_date"),
    # Stable only since 17 days after consent (audit 28A: it read "-17 days before consent").
    ({"brain_metastases": "yes", "brain_metastases_stable_since": "2025-03-18"},
     "brain metastases: treated, asymptomatic, stable since 2025-03-18, 17 days after consent "
     "(NMA-LD not scheduled; >= 14 days needed before it: an NMA-LD start on or after 2025-04-01); would be decided "
     "by patients.lymphodepletion_date", "patients.lymphodepletion_date"),
    # Stable since the consent date itself (audit 29A: it read "0 days before consent").
    ({"brain_metastases": "yes", "brain_metastases_stable_since": "2025-03-01"},
     "brain metastases: treated, asymptomatic, stable since 2025-03-01, the day of consent "
     "(NMA-LD not scheduled; >= 14 days needed before it: an NMA-LD start on or after 2025-03-15); would be decided "
     "by patients.lymphodepletion_date", "patients.lymphodepletion_date"),
    # Review 37B: the date long enough whatever NMA-LD becomes: 14 days before consent 2025-03-01 is 2025-02-15.
    ({"brain_metastases": "yes", "brain_metastases_stable_since": None},
     "brain metastases: treated, asymptomatic, stable-since date not recorded (2025-02-15 or earlier, >= 14 days "
     "before consent 2025-03-01, is long enough at any NMA-LD date); would be decided by "
     "patients.brain_metastases_stable_since; patients.lymphodepletion_date",
     "patients.brain_metastases_stable_since; patients.lymphodepletion_date"),
])
def test_an_unknown_e5_says_what_is_recorded_and_names_only_the_fields_that_decide(
        patient: dict[str, Any], evidence: str, missing: str) -> None:
    assert outcome_of("E5", patient={**BRAIN_FOLLOW_UP, **patient}) == ("unknown", evidence, missing)


BRAIN_BLANK: dict[str, Any] = {"brain_metastases": None, "brain_metastases_treated": None,
                               "brain_metastases_symptomatic": None, "brain_metastases_stable_since": None}
"""brain_metastases and its three follow-ups blank; NMA-LD 2025-03-29, consent 2025-03-01."""


def test_a_blank_brain_metastases_asks_its_blank_follow_ups_if_yes() -> None:
    # Audit 37A: only "brain metastases" was asked, so a "yes" needed a second round for the treatment,
    # symptoms and stable-since date. They are asked with it, on its condition, as E10's vaccine date is.
    outcome, evidence, missing = outcome_of("E5", patient=BRAIN_BLANK)
    assert (outcome, missing) == ("unknown", "patients.brain_metastases; "
                                             "patients.brain_metastases_treated (if brain metastases); "
                                             "patients.brain_metastases_symptomatic (if brain metastases); "
                                             "patients.brain_metastases_stable_since (if brain metastases)")
    assert evidence == ("brain metastases not recorded (brain_metastases); if yes, also needed: treatment "
                        "(brain_metastases_treated), symptoms (brain_metastases_symptomatic), stable-since date "
                        "(brain_metastases_stable_since)")
    assert is_conditional("patients.brain_metastases_stable_since (if brain metastases)")
    assert not is_conditional("patients.brain_metastases_stable_since")
    assert is_conditional("patients.disease_unresectable (if stage III, IIIC or IIID)")
    assert not is_conditional("patients.disease_unresectable")
    # Only the blank ones.
    outcome, evidence, missing = outcome_of("E5", patient={**BRAIN_BLANK, "brain_metastases_treated": "yes",
                                                           "brain_metastases_symptomatic": "no"})
    assert (outcome, missing) == ("unknown", "patients.brain_metastases; "
                                             "patients.brain_metastases_stable_since (if brain metastases)")
    assert evidence == ("brain metastases not recorded (brain_metastases); if yes, also needed: stable-since date "
                        "(brain_metastases_stable_since)")


@pytest.mark.parametrize(("recorded", "why"), [
    ({"brain_metastases_treated": "no"}, "recorded as not definitively treated"),
    ({"brain_metastases_symptomatic": "yes"}, "recorded as symptomatic"),
    # 2025-03-16 is 13 days before NMA-LD 2025-03-29; 2025-03-29 is its first day.
    ({"brain_metastases_stable_since": "2025-03-16"}, "recorded as stable since 2025-03-16, 13 days before NMA-LD "
                                                      "(2025-03-29) < 14"),
    ({"brain_metastases_stable_since": "2025-03-29"}, "recorded as stable only since 2025-03-29, not before the "
                                                      "start of NMA-LD (2025-03-29)"),
])
def test_a_blank_brain_metastases_whose_yes_would_fail_says_why_and_asks_it_alone(
        recorded: dict[str, str], why: str) -> None:
    # Audit 37A: "brain metastases not recorded" did not say that a "yes" fails on what is on file.
    outcome, evidence, missing = outcome_of("E5", patient={**BRAIN_BLANK, **recorded})
    assert (outcome, missing) == ("unknown", "patients.brain_metastases")
    assert evidence == f"brain metastases not recorded (brain_metastases): a no passes, a yes fails ({why})"


def test_with_a_limit_of_0_days_a_blank_brain_metastases_stable_from_nma_ld_is_not_said_to_fail() -> None:
    # Review 37C: stable since the first day of NMA-LD passes a criteria file's limit of 0 days, so a "yes"
    # would not fail: the follow-ups still blank are asked, not "a yes fails".
    params = load_params(overrides={"brain_metastases_stable_days": 0})
    patient = {**BRAIN_BLANK, "brain_metastases_stable_since": "2025-03-29"}
    got = screen(ScreeningDataset(**case_tables(patient=patient)), params)
    row = got.outcomes.set_index("criterion_id").loc["E5"]
    assert (row["outcome"], row["evidence"]) == (
        "unknown", "brain metastases not recorded (brain_metastases); if yes, also needed: treatment "
                   "(brain_metastases_treated), symptoms (brain_metastases_symptomatic)")


def test_a_blank_stable_since_date_says_the_latest_date_that_is_long_enough() -> None:
    # Audit 37A: with NMA-LD dated, the coordinator is told which imaging date would do: 14 days before
    # 2025-03-29 is 2025-03-15 (2025-03-15 itself is 14 days before: a pass, as the boundary test shows).
    patient = {"brain_metastases": "yes", "brain_metastases_treated": "yes", "brain_metastases_symptomatic": "no",
               "brain_metastases_stable_since": None}
    assert outcome_of("E5", patient=patient) == (
        "unknown", "brain metastases: treated, asymptomatic, stable-since date not recorded (it must be 2025-03-15 "
                   "or earlier: >= 14 days before NMA-LD 2025-03-29); would be decided by "
                   "patients.brain_metastases_stable_since", "patients.brain_metastases_stable_since")
    assert outcome_of("E5", patient={**patient, "brain_metastases_stable_since": "2025-03-15"})[0] == "pass"
    assert outcome_of("E5", patient={**patient, "brain_metastases_stable_since": "2025-03-16"})[1] == (
        "brain metastases stable since 2025-03-16, 13 days before NMA-LD (2025-03-29) < 14")


SAME_DAY = "2025-02-20"


@pytest.mark.parametrize(("liver", "ast", "evidence", "missing"), [
    # 2.75 and 3.33 x ULN: one passes, one fails at 3 x ULN; with liver metastases both pass.
    ("no", [(110, 40), (100, 30)],
     "AST results disagree on 2025-02-20: 100 U/L (ULN 30) and 110 U/L (ULN 40); which is the latest is not recorded",
     "labs.ast (results dated 2025-02-20: which is the latest)"),
    (None, [(110, 40), (100, 30)],
     "AST results disagree on 2025-02-20: 100 U/L (ULN 30) and 110 U/L (ULN 40); which is the latest is not "
     "recorded; liver_metastases not recorded",
     "labs.ast (results dated 2025-02-20: which is the latest); patients.liver_metastases"),
    # 3.5 and 4 x ULN: both between the limits, so only liver metastases decides, not their order.
    (None, [(140, 40), (120, 30)],
     "AST 120 U/L (ULN 30) on 2025-02-20 is above 3 x ULN = 90 U/L but within 5 x ULN = 150 U/L; "
     "liver_metastases not recorded",
     "patients.liver_metastases"),
])
def test_disagreeing_results_of_one_day_ask_which_is_the_latest(liver: str | None, ast: list[tuple[float, float]],
                                                               evidence: str, missing: str) -> None:
    # Dates carry no time: which result of the day is the most recent is not recorded (audit, session 16).
    labs = [lab for lab in ELIGIBLE_LABS if lab["test"] != "ast"] + [
        {"test": "ast", "value": value, "unit": "U/L", "uln": uln, "collected_date": SAME_DAY} for value, uln in ast]
    assert outcome_of("I7", patient={"liver_metastases": liver}, labs=labs, replace_labs=True) == (
        "unknown", evidence, missing)


@pytest.mark.parametrize(("criterion", "patient", "expected"), [
    ("I5", {"birth_date": None},
     ("birth date not recorded (birth_date): age at consent unknown", "patients.birth_date")),
    ("I5", {"consent_date": None},
     ("consent date not recorded (consent_date): age at consent unknown", "patients.consent_date")),
    ("E10", {"live_vaccine_received": None},
     # "yes" would still leave the date open: it is asked for in the same request (review 24). With NMA-LD
     # dated (2025-03-29) the sentence says which dates fail: 28 days before it is 2025-03-01 (review 37B).
     ("whether a live vaccine was received is not recorded (live_vaccine_received), and no vaccine date "
      "(live_vaccine_date): a live vaccine dated 2025-03-01 to 2025-03-29 (within 28 days before NMA-LD) fails",
      "patients.live_vaccine_received; patients.live_vaccine_date (if received)")),
    ("E10", {"live_vaccine_received": "yes", "live_vaccine_date": None},
     ("live vaccine received, date not recorded (live_vaccine_date): a live vaccine dated 2025-03-01 to 2025-03-29 "
      "(within 28 days before NMA-LD) fails", "patients.live_vaccine_date")),
    ("E10", {"live_vaccine_received": None, "lymphodepletion_date": None},
     ("whether a live vaccine was received is not recorded (live_vaccine_received), and no vaccine date "
      "(live_vaccine_date)", "patients.live_vaccine_received; patients.live_vaccine_date (if received)")),
    ("I1", {"ajcc_stage": "III", "disease_unresectable": None},
     ("stage III without sub-group (ajcc_stage), resectability not recorded (disease_unresectable)",
      "patients.ajcc_stage (sub-group); patients.disease_unresectable")),
    # Review 37B: with the stage blank, resectability is asked with it, on its condition (a IIIC/IIID needs it).
    ("I1", {"ajcc_stage": None, "disease_unresectable": None},
     ("AJCC stage not recorded (ajcc_stage); if III, IIIC or IIID, resectability is needed too (disease_unresectable)",
      "patients.ajcc_stage; patients.disease_unresectable (if stage III, IIIC or IIID)")),
    ("I1", {"ajcc_stage": None, "disease_unresectable": "yes"},
     ("AJCC stage not recorded (ajcc_stage)", "patients.ajcc_stage")),
    ("I1", {"ajcc_stage": "III", "disease_unresectable": "yes"},
     ("stage III without sub-group (ajcc_stage: IIIC/IIID passes, IIIA/IIIB fails), unresectable",
      "patients.ajcc_stage (sub-group)")),
    # Both dates blank: a consent date long after the vaccine would decide it, as NMA-LD would (audit, session 15).
    ("E10", {"live_vaccine_received": "yes", "live_vaccine_date": "2025-01-02", "consent_date": None,
             "lymphodepletion_date": None},
     ("live vaccine 2025-01-02; NMA-LD not scheduled (lymphodepletion_date) and consent date not recorded "
      "(consent_date)",
      "patients.lymphodepletion_date; patients.consent_date")),
    ("E10", {"live_vaccine_received": "yes", "live_vaccine_date": "2025-02-20", "lymphodepletion_date": None,
             "consent_date": "2025-02-01"},
     # 2025-02-20 + 28 days = 2025-03-20: an NMA-LD start in between fails E10 (audit 22C: say when it passes).
     ("live vaccine 2025-02-20; NMA-LD not scheduled (lymphodepletion_date): an NMA-LD start from 2025-02-20 to "
      "2025-03-20 fails, any other passes", "patients.lymphodepletion_date")),
    ("E10", {"live_vaccine_received": "yes", "live_vaccine_date": "2025-02-20", "lymphodepletion_date": None,
             "consent_date": "2025-03-01"},
     # NMA-LD comes on or after consent (2025-03-01), so the window a coordinator can still hit starts there
     # (review 24: the sentence said "from 2025-02-20", days no NMA-LD can fall on).
     ("live vaccine 2025-02-20; NMA-LD not scheduled (lymphodepletion_date): an NMA-LD start from 2025-03-01 to "
      "2025-03-20 fails, any other passes", "patients.lymphodepletion_date")),
    # Consent exactly 28 days after the vaccine: one day is left that fails (review 24B: "from D to D").
    ("E10", {"live_vaccine_received": "yes", "live_vaccine_date": "2025-02-20", "lymphodepletion_date": None,
             "consent_date": "2025-03-20"},
     ("live vaccine 2025-02-20; NMA-LD not scheduled (lymphodepletion_date): an NMA-LD start on 2025-03-20 fails, "
      "any other passes", "patients.lymphodepletion_date")),
    ("E8", {"hbv_serology": None, "hbv_pcr": None},
     ("HBV serology not recorded (hbv_serology), nor HBV PCR (hbv_pcr): a negative serology or an undetectable PCR "
      "would decide", "patients.hbv_serology; patients.hbv_pcr (if serology positive)")),
    ("E8", {"hbv_serology": None, "hbv_pcr": "detectable"},
     ("HBV serology not recorded (hbv_serology), PCR detectable", "patients.hbv_serology")),
])
def test_an_unknown_names_the_blank_that_decides_it(criterion: str, patient: dict[str, Any],
                                                    expected: tuple[str, str]) -> None:
    outcome, evidence, missing = outcome_of(criterion, patient=patient)
    assert (outcome, evidence, missing) == ("unknown", *expected)


def test_a_recurrence_counted_without_its_date_says_why() -> None:
    # Adjuvant pembrolizumab still going (end date blank), recurrence date blank: the recurrence
    # the patient is screened for came on therapy (docs/criteria.md), and the evidence says how
    # that was concluded rather than stating a recorded recurrence.
    therapy = {**ADJUVANT_PEMBRO, "line": 1, "end_date": None, "stop_reason": "ongoing", "recurrence_date": None}
    outcome, evidence, _ = outcome_of("I2", therapies=[therapy])
    assert outcome == "pass"
    assert evidence.endswith("line 1 (adjuvant) recurred on therapy (no end date: ongoing; "
                             "recurrence date not recorded)")
    # Audit 39A: stopped for progression on a blank end date, I2 said "ongoing" where I3 said "stopped".
    stopped = {**therapy, "stop_reason": "progression"}
    outcome, evidence, _ = outcome_of("I2", therapies=[stopped])
    assert outcome == "pass"
    assert evidence.endswith("line 1 (adjuvant) recurred on therapy (stopped for progression without an end date; "
                             "recurrence date not recorded)")


def test_decided_in_every_reading_of_a_blank_says_so() -> None:
    # Consent blank, NMA-LD 2025-03-29: 17 at NMA-LD is 17 at any earlier consent.
    outcome, evidence, _ = outcome_of("I5", patient={"consent_date": None, "birth_date": "2007-03-30"})
    assert (outcome, evidence) == ("fail", "consent date not recorded; age 17 at NMA-LD (2025-03-29) < 18, and "
                                           "consent comes before NMA-LD")
    # brain_metastases blank: "no" passes, and "yes" passes on what the follow-up fields say.
    outcome, evidence, _ = outcome_of("E5", patient={
        "brain_metastases": None, "brain_metastases_treated": "yes", "brain_metastases_symptomatic": "no",
        "brain_metastases_stable_since": "2025-03-01"})
    assert (outcome, evidence) == ("pass", "brain metastases not recorded, but passes either way: recorded as "
                                           "treated, asymptomatic and stable since 2025-03-01, 28 days before "
                                           "NMA-LD (2025-03-29) >= 14")


@pytest.mark.parametrize("therapy", [
    {},  # metastatic, progressed: only the BRAF part is open
    {"setting": "adjuvant", "end_date": None, "recurrence_date": None, "stop_reason": None, "best_response": None},
])
@pytest.mark.parametrize(("v600", "evidence", "missing", "decided_by"), [
    ("mutant", "BRAF inhibitor exposure unclear: 'foobarmab' not in the drug dictionary (line 1)",
     "classify agent 'foobarmab' (therapies line 1)", "the class of agent 'foobarmab' (therapies line 1)"),
    (None, "BRAF V600 status not recorded, BRAF inhibitor exposure unclear: 'foobarmab' not in the drug "
            "dictionary (line 1)",
     "patients.braf_v600; classify agent 'foobarmab' (therapies line 1)",
     "patients.braf_v600; the class of agent 'foobarmab' (therapies line 1)"),  # audit 33: "decided by classify"
])
def test_an_open_braf_part_asks_to_classify_the_agent_that_decides_it(therapy: dict[str, Any], v600: str | None,
                                                                      evidence: str, missing: str,
                                                                      decided_by: str) -> None:
    # Audit, session 15b: it asked for a bare "therapies.agents"; pembrolizumab decides the
    # anti-PD-(L)1 part, foobarmab could be a BRAF inhibitor. The adjuvant ongoing line is
    # uncertain for its own reasons, and its agent must still be asked once.
    params = load_params(overrides={"require_braf_inhibitor_if_v600": True})
    tables = case_tables(patient={"braf_v600": v600},
                         therapies=[{**ELIGIBLE_THERAPY, "agents": "pembrolizumab+foobarmab", **therapy}])
    row = screen(ScreeningDataset(**tables), params).outcomes.set_index("criterion_id").loc["I2"]
    assert (row["outcome"], row["evidence"], row["missing"]) == (
        "unknown", f"{evidence}; would be decided by {decided_by}", missing)


def test_no_field_label_holds_the_item_separator() -> None:
    # "; " separates the worklist's items: "live vaccine date (most recent live/attenuated
    # vaccine; needed when received = yes)" read as two (audit, session 16).
    from lifileucel_analysis.contract.schema import TABLES


    labels = {f"{t.name}.{c.name}": field_label(f"{t.name}.{c.name}") for t in TABLES.values() for c in t.columns
              if t.name != "overrides"}
    assert labels["patients.live_vaccine_date"] == "live vaccine date (most recent live/attenuated vaccine)"
    assert not {field: label for field, label in labels.items() if "; " in label}


def test_i3_names_a_line_that_may_be_adjuvant_anti_pd1() -> None:
    """A blank setting or an unclassified agent may make an adjuvant anti-PD-(L)1 line: I3 passes and says which."""
    from helpers import case_tables, concat_tables

    from lifileucel_analysis.contract.dataset import ScreeningDataset
    from lifileucel_analysis.engine.parameters import load_params
    from lifileucel_analysis.engine.screening import screen

    def line(setting: str | None, agents: str) -> dict[str, object]:
        return {"line": 1, "setting": setting, "agents": agents, "start_date": "2024-01-10", "end_date": "2024-06-10",
                "best_response": "pd", "stop_reason": "progression", "recurrence_date": None}

    parts = [case_tables(patient_id="A", therapies=[line(None, "nivolumab")]),
             case_tables(patient_id="B", therapies=[line("adjuvant", "newmab")]),
             case_tables(patient_id="C", therapies=[line(None, "ipilimumab")]),
             case_tables(patient_id="D", therapies=[line(None, "newmab")])]
    dataset = ScreeningDataset(**concat_tables(parts), source="in memory")
    outcomes = screen(dataset, load_params()).outcomes.set_index(["patient_id", "criterion_id"])
    assert outcomes.loc[("A", "I3"), "outcome"] == "pass"
    # The evidence names only the columns that leave the line open (audit, session 18).
    for patient, agent, why in [("A", "nivolumab", "setting blank: therapies.setting"),
                                ("B", "newmab", "agents unclassified: therapies.agents"),
                                ("D", "newmab", "setting blank or agents unclassified: therapies.setting, "
                                                "therapies.agents")]:
        assert outcomes.loc[(patient, "I3"), "evidence"] == (
            f"may have an adjuvant/neoadjuvant anti-PD-(L)1 line ({why}): line 1 ({agent}) (if so, unclear: "
            "recurrence date not recorded: it qualifies if on or before 2024-12-10, 6 months after its end "
            "2024-06-10); none is recorded as one, and I3 never blocks"), patient
    assert outcomes.loc[("C", "I3"), "outcome"] == "not_applicable"  # no reading makes ipilimumab anti-PD-(L)1


@pytest.mark.parametrize(("recurrence", "end", "if_so"), [
    # End 2024-06-30 + 6 calendar months = 2024-12-30: within, after, on therapy (no end). Review 37B: a
    # qualifying line names the dates that make it qualify, so a monitor can check them.
    ("2024-12-30", "2024-06-30", "it qualifies: recurrence 2024-12-30 within 6 months of its end 2024-06-30"),
    ("2024-12-31", "2024-06-30", "it does not: recurrence 2024-12-31 past the 6-month window from its end "
                                 "2024-06-30 to 2024-12-30"),
    ("2024-12-31", None, "it qualifies: recurrence 2024-12-31 on therapy (stopped for progression without an "
                         "end date)"),
    ("2024-06-30", "2024-06-30", "it qualifies: recurrence 2024-06-30 on or before its end 2024-06-30 (on therapy)"),
])
def test_a_line_that_may_be_adjuvant_says_what_its_dates_would_make_of_it(
        recurrence: str, end: str | None, if_so: str) -> None:
    # Audit 28A: I3 named a line of blank setting without saying whether it would qualify.
    therapy = {**ELIGIBLE_THERAPY, "setting": None, "agents": "nivolumab", "end_date": end,
               "stop_reason": "progression", "recurrence_date": recurrence}
    outcome, evidence, _ = outcome_of("I3", therapies=[therapy])
    assert (outcome, evidence) == ("pass", "may have an adjuvant/neoadjuvant anti-PD-(L)1 line (setting blank: "
                                           f"therapies.setting): line 1 (nivolumab) (if so, {if_so}); none is "
                                           "recorded as one, and I3 never blocks")


def test_several_lines_that_may_be_adjuvant_each_say_what_their_dates_would_make_of_them() -> None:
    # Review 29F: several may-be lines, an open reason holding a comma, and the "may also be one" branch
    # beside a recorded adjuvant anti-PD-(L)1 line were not tested. End 2024-06-30 + 6 months = 2024-12-30.
    def line(n: int, **changes: Any) -> dict[str, Any]:
        return {**ELIGIBLE_THERAPY, "line": n, "setting": None, "agents": "nivolumab", "start_date": "2024-01-08",
                "end_date": "2024-06-30", "stop_reason": "progression", "recurrence_date": "2024-12-01", **changes}

    lines = [line(1), line(2, end_date=None, stop_reason="completed", recurrence_date=None),
             line(3, recurrence_date="2025-01-15")]
    both = ("line 1 (nivolumab) (if so, it qualifies: recurrence 2024-12-01 within 6 months of its end 2024-06-30); "
            "line 2 (nivolumab) (if so, unclear: end date not recorded although stopped (completed), recurrence "
            "date not recorded); line 3 (nivolumab) (if so, it does not: recurrence 2025-01-15 past the 6-month "
            "window from its end 2024-06-30 to 2024-12-30)")
    assert outcome_of("I3", therapies=lines)[:2] == (
        "pass", "may have an adjuvant/neoadjuvant anti-PD-(L)1 line (setting blank: therapies.setting): "
                f"{both}; none is recorded as one, and I3 never blocks")
    recorded = line(4, setting="adjuvant", start_date="2024-07-01", end_date="2024-08-01", recurrence_date="2024-09-01")
    outcome, evidence, _ = outcome_of("I3", therapies=[*lines, recorded])
    assert outcome == "pass"
    assert evidence.endswith(f"; may also be one (setting blank: therapies.setting): {both}")


def test_an_undated_lab_result_that_may_be_the_latest_asks_for_its_date() -> None:
    # Dated ANC 2.0 on 2025-02-25 and 0.5 without a date: the undated one may be the latest.
    labs = [{"test": "anc", "value": 2.0, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-25"},
            {"test": "anc", "value": 0.5, "unit": "10^9/L", "uln": None, "collected_date": None}]
    outcome, evidence, missing = outcome_of("I7", labs=labs)
    assert (outcome, missing) == ("unknown", "labs.collected_date (ANC result without a date)")
    assert evidence == ("ANC results 0.5 x10^9/L (collected date not recorded) and 2 x10^9/L disagree, and one has "
                        "no collected date (collected_date): it may be the latest (on or after 2025-02-25) or not "
                        "count")


def test_an_undated_lab_result_alone_asks_for_its_date_or_a_dated_result() -> None:
    labs = [{"test": "anc", "value": 2.0, "unit": "10^9/L", "uln": None, "collected_date": None}]
    outcome, evidence, missing = outcome_of("I7", labs=labs)
    assert outcome == "unknown"
    # A new result only if the one on file is dated outside the window (audit 42W: read as a draw in any case).
    assert missing == ("labs.collected_date (ANC result without a date); labs.anc (collected 2025-02-01 to 2025-03-29, "
                       "if the result without a date was collected outside that window)")
    assert evidence == ("no dated ANC result 2025-02-01 to 2025-03-29; a result without a collected date "
                        "(collected_date) is on file")


def test_an_undated_lab_result_that_agrees_changes_nothing() -> None:
    labs = [{"test": "anc", "value": 2.0, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-25"},
            {"test": "anc", "value": 2.0, "unit": "10^9/L", "uln": None, "collected_date": None}]
    assert outcome_of("I7", labs=labs)[0] == "pass"


def test_a_line_without_a_number_that_may_be_the_most_recent_asks_for_its_number() -> None:
    lines = [line(1), line(None, agents="dacarbazine", best_response="cr", stop_reason="completed")]
    outcome, evidence, missing = outcome_of("I2", therapies=lines)
    # Named by its agents: a patient may have several lines without a number (audit, session 20).
    assert (outcome, missing) == ("unknown", "therapies.line (line without a number (dacarbazine))")
    assert evidence == ("most recent counted line unclear: line without a number (dacarbazine) may be the most "
                        "recent (its place among the lines is not recorded); would be decided by therapies.line (line without "
                        "a number (dacarbazine))")
    assert field_label(missing) == "prior therapy line number (line without a number (dacarbazine))"


def test_a_result_without_a_test_that_may_count_asks_for_its_test_name() -> None:
    # 2.0 x10^9/L without a test on 2025-02-25, after the baseline's results of 2025-02-20: as ANC
    # it passes (>= 1), as platelets it fails (< 100), so only the platelets part is open.
    labs = [{"test": None, "value": 2.0, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-25"}]
    outcome, evidence, missing = outcome_of("I7", labs=labs)
    assert (outcome, missing) == ("unknown", "labs.test (result that may be the platelets)")
    assert evidence == ("platelets results 2 x10^9/L (test not recorded) and 220 x10^9/L disagree, and one has no test "
                        "name (test): it may be the platelets result that counts or another test's")
    assert field_label(missing) == "test name of the result that may be the platelets"


def test_a_result_without_a_test_that_only_one_test_fits_is_that_tests() -> None:
    labs = [{"test": None, "value": 8, "unit": "g/dL", "uln": None, "collected_date": "2025-02-25"}]
    assert outcome_of("I7", labs=labs) == ("fail", "hemoglobin 8 g/dL (test not recorded) on 2025-02-25 < 9 g/dL", "")


def test_a_test_with_only_a_result_without_a_test_name_asks_for_both() -> None:
    labs = [dict(row) for row in ELIGIBLE_LABS if row["test"] != "anc"]
    labs.append({"test": None, "value": 2.0, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-15"})
    outcome, evidence, missing = outcome_of("I7", labs=labs, replace_labs=True)
    assert outcome == "unknown"
    assert missing == ("labs.test (result that may be the ANC); labs.anc (collected 2025-02-01 to 2025-03-29, if the "
                       "result without a test name is another test's)")
    assert evidence == ("no ANC result 2025-02-01 to 2025-03-29; a result without a test name (test) is on file")


def test_a_result_without_a_test_from_a_later_day_is_shown_on_its_own_date() -> None:
    # 150 x10^9/L without a test on 2025-02-25 joins the platelets of 2025-02-20 (it may be a later
    # platelets result); it is the least favourable reading, so the pass is said of it, on its own date.
    labs = [{"test": None, "value": 150, "unit": "10^9/L", "uln": None, "collected_date": "2025-02-25"}]
    outcome, evidence, _ = outcome_of("I7", labs=labs)
    assert outcome == "pass"
    assert evidence.split("; ")[:2] == ["ANC 2.5 x10^9/L on 2025-02-20 >= 1 x10^9/L",
                                        "platelets 150 x10^9/L (test not recorded) on 2025-02-25 >= 100 x10^9/L"]


def test_a_result_without_a_test_or_a_date_asks_for_both_at_once() -> None:
    # 0.5 x10^9/L with neither test nor date: it may be the latest ANC or platelets result. Named
    # ANC, it would still be undated and open, so the date is asked for in the same round.
    labs = [{"test": None, "value": 0.5, "unit": "10^9/L", "uln": None, "collected_date": None}]
    outcome, _, missing = outcome_of("I7", labs=labs)
    assert outcome == "unknown"
    assert missing == ("labs.test (result that may be the ANC); labs.collected_date (result that may be the ANC); "
                       "labs.test (result that may be the platelets); labs.collected_date (result that may be the "
                       "platelets)")
    assert field_label("labs.collected_date (result that may be the ANC)") == (
        "collected date (result that may be the ANC)")


def test_a_line_below_surely_counted_lines_is_not_asked_for_its_best_response() -> None:
    # Audit 21b (B09): line 1 (setting blank, best response blank) below four metastatic lines
    # is never the most recent counted line; only its setting decides (adjuvant ipilimumab does
    # not count: 4 lines, pass; metastatic: 5 lines, fail), so only the setting is asked for.
    first = line(1, setting=None, agents="ipilimumab", best_response=None, stop_reason="completed")
    later = [line(n, start_date=f"202{n - 2}-01-01", end_date=f"202{n - 2}-06-01") for n in (2, 3, 4, 5)]
    outcome, evidence, missing = outcome_of("I2", therapies=[first, *later])
    assert (outcome, missing) == ("unknown", "therapies.setting (line 1)")
    assert evidence.endswith("; would be decided by therapies.setting (line 1)")


def test_a_line_that_may_be_the_most_recent_is_still_asked_for_its_best_response() -> None:
    # The same blanks on the top line: its stop reason and best response decide the progression part.
    top = line(2, setting="metastatic", agents="dacarbazine", best_response=None, stop_reason=None)
    outcome, _, missing = outcome_of("I2", therapies=[line(1), top])
    assert outcome == "unknown"
    assert missing == "therapies.stop_reason (line 2); therapies.best_response (line 2)"


@pytest.mark.parametrize("first", [
    # Audit 42W (Y06, Z01-Z03): line 2, metastatic nivolumab, is surely counted and the most recent; only
    # its progression is open. Whether line 1 counts moves the count between 1 and 2 (within 1-4 either
    # way), and line 2 is the anti-PD-(L)1 line, so line 1's blanks decide nothing and are not asked.
    {"setting": None, "agents": "dacarbazine"},
    {"setting": None, "agents": "nivolumab"},
    {"setting": "adjuvant", "agents": "nivolumab", "recurrence_date": None},
    {"setting": "metastatic", "agents": "foomab"},
])
def test_an_earlier_line_that_cannot_change_i2_is_not_asked_for(first: dict[str, Any]) -> None:
    lines = [line(1, start_date="2023-01-01", end_date="2023-03-01", **first),
             line(2, start_date="2024-06-01", end_date="2024-12-01", best_response=None, stop_reason=None)]
    outcome, evidence, missing = outcome_of("I2", therapies=lines)
    assert (outcome, missing) == ("unknown", "therapies.stop_reason (line 2); therapies.best_response (line 2)")
    assert evidence.endswith("; would be decided by therapies.stop_reason (line 2); therapies.best_response (line 2)")
    # Either answer decides I2 with line 1 still blank: the two asked fields are enough.
    for stop, best, decided in [("progression", None, "pass"), ("completed", "cr", "fail")]:
        lines[1] = {**lines[1], "stop_reason": stop, "best_response": best}
        assert outcome_of("I2", therapies=lines)[0] == decided


def test_an_earlier_line_is_asked_for_where_the_count_may_leave_the_limits() -> None:
    # The same line 1 below four surely counted lines: counted, it makes five (> 4), so its setting decides.
    lines = [line(1, setting=None, agents="dacarbazine", start_date="2019-01-01", end_date="2019-03-01")]
    lines += [line(n, start_date=f"202{n - 2}-01-01", end_date=f"202{n - 2}-06-01", best_response=None,
                   stop_reason=None) if n == 5 else line(n, start_date=f"202{n - 2}-01-01", end_date=f"202{n - 2}-06-01")
              for n in (2, 3, 4, 5)]
    outcome, _, missing = outcome_of("I2", therapies=lines)
    assert outcome == "unknown"
    assert missing == "therapies.setting (line 1); therapies.stop_reason (line 5); therapies.best_response (line 5)"


def test_a_fail_in_every_reading_says_how_each_reading_fails() -> None:
    # Audit 21b (R11): four metastatic lines, the fourth a complete response, and a fifth line,
    # adjuvant nivolumab, whose blank recurrence date leaves open whether it counts. Counted:
    # five lines, more than 4. Not counted: line 4 is the most recent, without progression.
    lines = [line(n, start_date=f"20{14 + n}-01-01", end_date=f"20{14 + n}-06-01") for n in (1, 2, 3)]
    lines.append(line(4, start_date="2018-01-01", end_date="2018-06-01", best_response="cr", stop_reason="completed"))
    lines.append(line(6, setting="adjuvant", agents="nivolumab", start_date="2020-01-01", end_date="2020-06-01",
                      recurrence_date=None, best_response=None, stop_reason="completed"))
    outcome, evidence, missing = outcome_of("I2", therapies=lines)
    assert (outcome, missing) == ("fail", "")
    assert evidence.startswith(
        "fails whichever way the blanks of line 6 (nivolumab) are read: each reading has more than 4 counted prior "
        "lines or a most recent counted line without progression, intolerance, non-response or a qualifying "
        "recurrence (part by part: 4 to 5 counted prior lines")


def test_a_pass_in_every_reading_says_what_every_reading_has() -> None:
    # Audit of session 21's list: a pass in every reading gave no values. Line 1 pembrolizumab
    # progressed; line 2 dacarbazine progressed with a blank setting. Metastatic: 2 counted lines,
    # the most recent progressed; adjuvant: it does not count (no anti-PD-(L)1), line 1 is the
    # most recent: both readings pass, and the sentence gives what each candidate line records.
    first = line(1, setting="metastatic", agents="pembrolizumab", best_response="pd", stop_reason="progression")
    second = line(2, setting=None, agents="dacarbazine", start_date="2024-01-01", end_date="2024-06-01",
                  best_response="sd", stop_reason="toxicity")
    outcome, evidence, missing = outcome_of("I2", therapies=[first, second])
    assert (outcome, missing) == ("pass", "")
    assert evidence == (
        "passes whichever way the blanks of line 2 (dacarbazine) are read: 1 to 2 counted prior lines, within 1-4 "
        "either way (line 2 (dacarbazine): setting not recorded: as adjuvant it would not count (no anti-PD-(L)1)); "
        "anti-PD-(L)1 in line 1 (pembrolizumab); the most "
        "recent counted line shows progression, intolerance, non-response or a qualifying recurrence whichever line "
        "it is: line 1 (pembrolizumab): metastatic, stopped for progression, best response PD; line 2 (dacarbazine): "
        "setting not recorded, stopped for toxicity, best response SD")


def test_an_adjuvant_line_that_may_not_count_is_said_to_count_only_with_its_recurrence() -> None:
    # Line 2 adjuvant nivolumab without a recurrence date: counted (it recurred in the window, its
    # progression) or not (line 1, pembrolizumab, progressed, is the most recent): a pass either way.
    first = line(1, setting="metastatic", agents="pembrolizumab", start_date="2022-01-01", end_date="2022-06-01",
                 best_response="pd", stop_reason="progression")
    second = line(2, setting="adjuvant", agents="nivolumab", start_date="2024-01-01", end_date="2024-06-01",
                  best_response=None, stop_reason="completed", recurrence_date=None)
    outcome, evidence, _ = outcome_of("I2", therapies=[first, second])
    assert outcome == "pass"
    assert evidence.endswith(
        "line 2 (nivolumab): adjuvant, completed, counts only if it recurred on therapy or within 6 months, which is "
        "then its progression")


def test_a_recurrence_dated_before_its_line_leaves_the_line_open() -> None:
    # Audit 22B (D1): adjuvant nivolumab 2024-03-01 to 2024-08-31, recurrence 2024-01-15. The
    # recurrence is the one that followed the line (contract), so one of the dates is wrong: not
    # on therapy, not after its end; whether the line counts is open, never a pass.
    adjuvant = line(1, setting="adjuvant", agents="nivolumab", start_date="2024-03-01", end_date="2024-08-31",
                    best_response=None, stop_reason="completed", recurrence_date="2024-01-15")
    outcome, evidence, missing = outcome_of("I2", therapies=[adjuvant])
    assert (outcome, missing) == ("unknown", "therapies.recurrence_date (line 1); therapies.start_date (line 1)")
    assert evidence.startswith("0 to 1 counted prior lines (line 1 (nivolumab): recurrence 2024-01-15 before its "
                               "start 2024-03-01, so one of the two is wrong)")
    assert outcome_of("I3", therapies=[adjuvant])[1].endswith(
        "unclear: line 1 (nivolumab) (recurrence 2024-01-15 before its start 2024-03-01, so one of the two is wrong)")


@pytest.mark.parametrize("stop, recurrence, expected, missing", [
    # Audit 22B (D2): a blank end date is "ongoing", but "completed" or "toxicity" says the line
    # stopped: its end is a missing date on or after the start 2024-03-01 (+ 6 months = 2024-09-01).
    ("completed", None, "unknown", "therapies.end_date (line 1); therapies.recurrence_date (line 1)"),
    ("completed", "2024-09-01", "pass", ""),  # within 6 months of the start: of any end after it
    ("toxicity", "2024-09-02", "unknown", "therapies.end_date (line 1)"),
    ("ongoing", None, "pass", ""),  # recurred on therapy
    (None, None, "pass", ""),  # blank end date, nothing against "ongoing"
    ("progression", None, "pass", ""),  # stopped for the recurrence itself: on therapy
])
def test_a_blank_end_date_beside_a_stop_is_a_missing_date(stop: str | None, recurrence: str | None, expected: str,
                                                           missing: str) -> None:
    adjuvant = line(1, setting="adjuvant", agents="nivolumab", start_date="2024-03-01", end_date=None,
                    best_response=None, stop_reason=stop, recurrence_date=recurrence)
    outcome, _, asked = outcome_of("I2", therapies=[adjuvant])
    assert (outcome, asked) == (expected, missing)


def test_e1_gives_both_reasons_when_both_hold() -> None:
    # Audit 22A (Y-15): an allograft other than kidney and a prior lifileucel line; the sentence gave
    # only the allograft, so correcting it to kidney would have seemed to clear the patient.
    cell = line(2, agents="lifileucel", start_date="2024-10-01", end_date="2024-10-02")
    outcome, evidence, _ = outcome_of("E1", patient={"organ_allograft": "other"}, therapies=[line(1), cell])
    assert (outcome, evidence) == ("fail", "organ allograft other than kidney; prior cell transfer therapy: line 2 "
                                           "(lifileucel)")
    assert outcome_of("E1", patient={"organ_allograft": "other"})[:2] == ("fail", "organ allograft other than kidney")


def test_a_toxicity_term_recorded_twice_is_asked_for_by_all_its_row_records() -> None:
    # Audit 22B: two "colitis" rows, each with a blank; "toxicities.grade (colitis)" did not say which.
    rows = [{"term": "colitis", "category": "other", "grade": None, "ongoing": "yes"},
            {"term": "colitis", "category": None, "grade": 2, "ongoing": "yes"},
            {"term": "rash", "category": None, "grade": 2, "ongoing": "yes"}]
    outcome, _, missing = outcome_of("E2", toxicities=rows)
    assert (outcome, missing) == ("unknown", "toxicities.grade (colitis grade blank, category other, ongoing yes); "
                                             "toxicities.category (colitis grade 2, category blank, ongoing yes); "
                                             "toxicities.category (rash)")


@pytest.mark.parametrize("end, recurrence, stop, said", [
    # Audit 22F (T10): the pass gave the recurrence alone, not the end date and the window it fits.
    ("2024-06-01", "2024-09-01", "completed", "recurred 2024-09-01, within 6 months of its end 2024-06-01"),
    ("2024-06-01", "2024-05-01", "progression", "recurred 2024-05-01, on therapy (ended 2024-06-01)"),
    (None, "2024-05-01", "ongoing", "recurred 2024-05-01, on therapy (no end date: ongoing)"),
    # Audit 39A: I3 called this line stopped for progression; I2 said "ongoing".
    (None, "2024-05-01", "progression", "recurred 2024-05-01, on therapy (stopped for progression without an "
                                        "end date)"),
    (None, "2024-07-01", "completed", "recurred 2024-07-01, within 6 months of its start 2024-01-01 (end date not "
                                      "recorded)"),
])
def test_an_adjuvant_recurrence_pass_says_the_window_it_fits(end: str | None, recurrence: str, stop: str,
                                                              said: str) -> None:
    adjuvant = line(1, setting="adjuvant", agents="nivolumab", start_date="2024-01-01", end_date=end,
                    recurrence_date=recurrence, stop_reason=stop, best_response=None)
    outcome, evidence, _ = outcome_of("I2", therapies=[adjuvant])
    assert outcome == "pass"
    assert evidence.endswith("; line 1 (adjuvant) " + said)


def test_a_pass_names_the_lines_not_counted() -> None:
    # Audit 22F (T05): "1 counted" beside two lines on file, without saying why one was left out.
    ipilimumab = line(1, setting="adjuvant", agents="ipilimumab", start_date="2022-01-01", end_date="2022-06-01",
                      recurrence_date="2022-09-01")
    outcome, evidence, _ = outcome_of("I2", therapies=[ipilimumab, line(2)])
    assert outcome == "pass"
    assert evidence.startswith("1 counted prior line, within 1-4; not counted: line 1 (ipilimumab): adjuvant, no "
                               "anti-PD-(L)1; anti-PD-(L)1 in line 2")


def test_an_undated_end_without_a_start_says_so() -> None:
    # Review 22E (D4): "more than 6 months after its start" was said of a line without a start date.
    adjuvant = line(1, setting="adjuvant", agents="nivolumab", start_date=None, end_date=None,
                    best_response=None, stop_reason="completed", recurrence_date="2022-01-10")
    outcome, evidence, missing = outcome_of("I2", therapies=[adjuvant])
    assert (outcome, missing) == ("unknown", "therapies.end_date (line 1)")
    assert evidence.startswith("0 to 1 counted prior lines (line 1 (nivolumab): end date not recorded although "
                               "stopped (completed): recurrence 2022-01-10, start date not recorded)")


def test_a_semicolon_in_site_text_does_not_split_a_request_into_two_fields(tmp_path: Path) -> None:
    # Review 23B: a term "rash; patients.hiv_serology" was listed as "toxicity grade (rash" and
    # "HIV serology)", two fields. Site text in a request has its ";" written ",".
    tables = case_tables(toxicities=[toxicity_row("P001", term="rash; patients.hiv_serology", grade=None,
                                                  ongoing="yes")],
                         therapies=[ELIGIBLE_THERAPY, line(2, agents="zorb; imab")])
    outcome, _, missing = outcome_of("E2", toxicities=tables["toxicities"].to_dict("records"))
    assert (outcome, missing) == ("unknown", "toxicities.grade (rash, patients.hiv_serology)")
    write_tables(tables, tmp_path / "data", "csv")
    assert cli.main(["screen", str(tmp_path / "data"), "--out", str(tmp_path / "out")]) == 0
    [worklist] = list((tmp_path / "out").glob("worklist-*.csv"))
    row = pd.read_csv(worklist, dtype=str, keep_default_na=False, encoding="utf-8-sig").iloc[0]
    assert row["to collect"] == ("agent 'zorb, imab' of prior therapy line 2 (not in the drug dictionary: check "
                                 "the spelling, or ask for the drug to be added); toxicity grade (rash, "
                                 "patients.hiv_serology)")


def test_a_vaccine_more_than_28_days_before_consent_passes_e10_before_nma_ld_is_scheduled() -> None:
    # One day past the case above (consent 2025-03-21, 29 days after the vaccine): no NMA-LD date can fail.
    patient = {"live_vaccine_received": "yes", "live_vaccine_date": "2025-02-20", "lymphodepletion_date": None,
               "consent_date": "2025-03-21"}
    assert outcome_of("E10", patient=patient) == (
        "pass", "live vaccine 2025-02-20, more than 28 days before consent (NMA-LD comes after consent)", "")


def test_a_negative_hbv_serology_beside_a_detectable_pcr_says_the_pcr_was_seen() -> None:
    # Audit 25A: "HBV serology negative" alone read as if no PCR were recorded; E8 passes on the serology.
    outcome, evidence, _ = outcome_of("E8", patient={"hbv_serology": "negative", "hbv_pcr": "detectable"})
    assert outcome == "pass"
    assert evidence.endswith("HBV serology negative (PCR detectable although the serology is negative: a "
                             "data-quality finding)")


def test_an_nmald_dated_before_the_lab_window_asks_for_the_dates_not_for_labs_in_an_empty_window() -> None:
    # Consent 2025-03-01: the window opens 2025-02-01; NMA-LD 2025-01-31 closes it before it opens
    # (audit 28A: the worklist asked for results "collected 2025-02-01 to 2025-01-31").
    assert outcome_of("I7", patient={"lymphodepletion_date": "2025-01-31"}) == (
        "unknown", "NMA-LD (2025-01-31) is dated before the lab window opens (2025-02-01, 28 days before consent): "
                   "no result can count, and one of the two dates is wrong (consent_date, lymphodepletion_date)",
        "patients.consent_date; patients.lymphodepletion_date")
    # On the window's first day the window is one day long: a result could still count there.
    outcome, evidence, missing = outcome_of("I7", patient={"lymphodepletion_date": "2025-02-01"})
    assert (outcome, missing.split("; ")[0]) == ("unknown", "labs.anc (collected 2025-02-01 to 2025-02-01)")
    # A failing result on that day decides it as ever.
    outcome, _, _ = outcome_of("I7", patient={"lymphodepletion_date": "2025-02-01"}, labs=[
        {"test": "anc", "value": 0.5, "unit": "10^9/L", "collected_date": "2025-02-01"}])
    assert outcome == "fail"


def test_an_ongoing_grade_5_toxicity_passes_e2_but_its_sentence_says_so() -> None:
    # Grade 5 is outside the record's 2-4, so E2 passes; an ongoing fatal toxicity is a recording error,
    # which the pass must not hide from a monitor reading outcomes alone (audit 28D).
    fatal = {"term": "colitis", "category": "other", "grade": 5, "ongoing": "yes"}
    assert outcome_of("E2", toxicities=[fatal, {**fatal, "term": "rash", "grade": 1}]) == (
        "pass", "no ongoing grade 2-4 toxicity outside endocrine/ocular/vitiligo among the 2 recorded; grade 5 "
                "(fatal) recorded as ongoing, outside 2-4 and a data-quality finding: colitis grade 5, category other, "
                "ongoing yes", "")
    assert outcome_of("E2", toxicities=[{**fatal, "ongoing": "no"}]) == (
        "pass", "no ongoing grade 2-4 toxicity outside endocrine/ocular/vitiligo in the 1 recorded", "")


def test_an_e2_pass_counts_every_toxicity_recorded_not_matching_ones() -> None:
    # "(1 recorded)" after "no ongoing ... toxicity" read as one matching toxicity (audit 34A: an ongoing
    # grade 3 endocrine hypophysitis).
    endocrine = {"term": "hypophysitis", "category": "endocrine", "grade": 3, "ongoing": "yes"}
    assert outcome_of("E2", toxicities=[endocrine]) == (
        "pass", "no ongoing grade 2-4 toxicity outside endocrine/ocular/vitiligo in the 1 recorded", "")
    assert outcome_of("E2", toxicities=[]) == ("pass", "no toxicity recorded", "")


def test_an_e2_pass_names_the_rows_whose_blanks_cannot_change_it() -> None:
    # Audit 37A: a pass over rows with blank cells did not say why the blanks do not matter. Grade 1, category
    # vitiligo and ongoing no each keep a row out of 2-4 ongoing "other" whatever its blank cell holds.
    rows = [{"term": "rash", "category": None, "grade": 1, "ongoing": "yes"},
            {"term": "vitiligo", "category": "vitiligo", "grade": None, "ongoing": "yes"},
            {"term": "colitis", "category": "other", "grade": 3, "ongoing": "no"},
            {"term": "nausea", "category": "other", "grade": None, "ongoing": "no"}]
    assert outcome_of("E2", toxicities=rows) == (
        "pass", "no ongoing grade 2-4 toxicity outside endocrine/ocular/vitiligo among the 4 recorded; blank cells "
                "that cannot change this: rash grade 1, category blank, ongoing yes; vitiligo grade blank, category "
                "vitiligo, ongoing yes; nausea grade blank, category other, ongoing no", "")
    # A row whose blank could make it match keeps E2 unknown, and is not called harmless.
    outcome, evidence, missing = outcome_of("E2", toxicities=[rows[0], {**rows[2], "ongoing": None}])
    assert (outcome, missing) == ("unknown", "toxicities.ongoing (colitis)")
    assert "cannot change" not in evidence


def test_an_e2_pass_beside_a_fatal_toxicity_still_names_the_harmless_blanks() -> None:
    # Review 38C: the grade-5 clause came first and left the harmless row unnamed.
    fatal = {"term": "colitis", "category": "other", "grade": 5, "ongoing": "yes"}
    rash = {"term": "rash", "category": None, "grade": 1, "ongoing": "yes"}
    assert outcome_of("E2", toxicities=[fatal, rash])[1].endswith(
        "a data-quality finding: colitis grade 5, category other, ongoing yes; blank cells that cannot change this: "
        "rash grade 1, category blank, ongoing yes")


def test_an_e11_fail_names_each_field_recorded_yes() -> None:
    # Audit 37A: the fail said a bare "pregnant"; with both recorded yes it named only the first.
    assert outcome_of("E11", patient={"pregnant": "yes"})[:2] == ("fail", "female; pregnant: yes")
    assert outcome_of("E11", patient={"breastfeeding": "yes", "pregnant": None})[:2] == (
        "fail", "female; breastfeeding: yes")
    assert outcome_of("E11", patient={"pregnant": "yes", "breastfeeding": "yes"})[:2] == (
        "fail", "female; pregnant: yes; breastfeeding: yes")
    # With sex blank, both named too (review 38C).
    assert outcome_of("E11", patient={"sex": None, "pregnant": "yes", "breastfeeding": "yes"}) == (
        "unknown", "recorded pregnant and breastfeeding, sex not recorded (sex): fails if female, not applicable if "
                   "male", "patients.sex")


def test_a_braf_inhibitor_line_i2_does_not_count_is_named_where_it_meets_the_braf_option() -> None:
    # BRAF option on, V600 mutant: an adjuvant BRAF line is not counted by I2 (no anti-PD-(L)1) but meets
    # the BRAF requirement; the pass names it (audit 28D: "not counted: line 1 ..." beside a bare "prior
    # BRAF inhibitor" read as a contradiction).
    import dataclasses

    params = dataclasses.replace(load_params(), require_braf_inhibitor_if_v600=True)
    tables = case_tables(patient={"braf_v600": "mutant"}, therapies=[
        line(1, agents="dabrafenib+trametinib", setting="adjuvant", recurrence_date="2024-06-01"),
        line(2, agents="pembrolizumab")])
    row = screen(ScreeningDataset(**tables), params).outcomes.set_index("criterion_id").loc["I2"]
    assert row["outcome"] == "pass"
    assert "not counted: line 1 (dabrafenib+trametinib)" in row["evidence"]
    assert row["evidence"].endswith("; prior BRAF inhibitor (any line counts for it): line 1 (dabrafenib+trametinib)")


def test_a_braf_fail_names_a_mek_inhibitor_line_that_does_not_meet_the_option() -> None:
    # Audit 39B: "+/- MEK inhibitor" reads as a BRAF inhibitor with or without a MEK inhibitor, so
    # trametinib alone fails the option; the fail did not name the trametinib line a coordinator would
    # find on file and take for the requirement met.
    import dataclasses

    params = dataclasses.replace(load_params(), require_braf_inhibitor_if_v600=True)
    tables = case_tables(patient={"braf_v600": "mutant"}, therapies=[
        line(1, agents="trametinib"), line(2, agents="pembrolizumab")])
    row = screen(ScreeningDataset(**tables), params).outcomes.set_index("criterion_id").loc["I2"]
    assert row["outcome"] == "fail"
    assert row["evidence"].endswith("BRAF V600 mutant without a prior BRAF inhibitor (a MEK inhibitor without one "
                                    "does not count: line 1 (trametinib))")
    # Without a MEK line, the sentence is as before.
    tables = case_tables(patient={"braf_v600": "mutant"}, therapies=[line(2, agents="pembrolizumab")])
    row = screen(ScreeningDataset(**tables), params).outcomes.set_index("criterion_id").loc["I2"]
    assert row["evidence"].endswith("BRAF V600 mutant without a prior BRAF inhibitor")


@pytest.mark.parametrize(("as_of", "closed"), [("2025-03-28", False), ("2025-03-29", True), ("2025-04-15", False)])
def test_a_lab_window_whose_nmald_date_has_passed_is_said_to_be_closed(as_of: str, closed: bool) -> None:
    # No ANC result; NMA-LD 2025-03-29 ends the window. On or before the data's currency date the window
    # is closed: no new sample falls in it (the "date passed" of the NMA-LD column). 2025-04-15 with NMA-LD
    # moved to 2025-05-01: open again.
    from lifileucel_analysis.report.collection_list import collection_list
    from lifileucel_analysis.report.worklist import DataCurrency, plain_worklist

    moved = as_of == "2025-04-15"
    patient = {"lymphodepletion_date": "2025-05-01"} if moved else {}
    dataset = ScreeningDataset(**case_tables(patient=patient, labs=[lab for lab in ELIGIBLE_LABS
                                                                    if lab["test"] != "anc"], replace_labs=True))
    result = screen(dataset, load_params())
    currency = DataCurrency(pd.Timestamp(as_of), "data cut date")
    [collect] = plain_worklist(result, dataset.patients, currency)["to_collect"].tolist()
    [window] = collection_list(result, dataset.patients, currency)["collect_window"].tolist()
    end = "2025-05-01" if moved else "2025-03-29"
    if closed:
        assert collect == (f"lab results collected 2025-02-01 to {end} (closed, NMA-LD date passed: enter a result "
                           "collected then, or record the new NMA-LD date): ANC")
        assert window == f"2025-02-01 to {end} (closed: NMA-LD date passed)"
    else:
        assert (collect, window) == (f"lab results collected 2025-02-01 to {end}: ANC", f"2025-02-01 to {end}")


def test_a_line_ending_before_it_starts_says_so_where_it_does_not_count() -> None:
    # Audit 39C: an end date before the start (a finding) decided I2 with no word of it in the sentence;
    # read as recorded (docs/criteria.md), the line does not qualify, and the sentence says why to check.
    adjuvant = line(1, setting="adjuvant", agents="nivolumab", start_date="2024-01-01", end_date="2023-01-01",
                    recurrence_date="2024-03-01", stop_reason="completed", best_response=None)
    outcome, evidence, _ = outcome_of("I2", therapies=[adjuvant])
    assert outcome == "fail"
    assert ("not counted: line 1 (nivolumab): adjuvant, recurrence 2024-03-01 past the 6-month window from its "
            "end 2023-01-01 to 2023-07-01 and its end is dated before its start 2024-01-01: one of the two dates is "
            "wrong") in evidence
    # 2023-01-01 + 6 months = 2023-07-01, before the recurrence 2024-03-01: as recorded, outside its window.
