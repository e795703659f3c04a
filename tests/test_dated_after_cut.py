"""What a data cut does not read, named in the sentences of the criteria that read it (audit 22B).

A cut screens what was known on its date: a live vaccine dated after it, a recurrence, an end
date, a line started later, lab results collected later are set aside or blanked, and the
criteria read them as not recorded. Their sentences now say why. Sentences are written out
by hand; the outcomes are the cut's, unchanged.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from helpers import ELIGIBLE_THERAPY, case_tables, concat_tables
from helpers import outcome_row as row
from lifileucel_analysis.contract.data_cut import apply_cut
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.contract.patient_slices import patient_slices
from lifileucel_analysis.engine.screening import screen

CUT = dt.date(2025, 3, 10)  # after the cases' consent (2025-03-01) and labs (2025-02-20)
LEAD = "; dated after the data cut 2025-03-10, so not read at this cut: "


def cut_dataset(*parts: dict[str, pd.DataFrame]) -> ScreeningDataset:
    return apply_cut(ScreeningDataset(**concat_tables(list(parts))), CUT)[0]


def test_a_vaccine_dated_after_the_cut_is_named_in_e10() -> None:
    vaccine = {"live_vaccine_received": "yes", "live_vaccine_date": "2025-03-12"}
    got = row(screen(cut_dataset(case_tables(vaccine, patient_id="A"))), "A", "E10")
    assert (got["outcome"], got["missing"]) == ("unknown", "patients.live_vaccine_date")
    # NMA-LD 2025-03-29 is planned, so kept at the cut: the dates that would fail are said (review 37B).
    assert got["evidence"] == ("live vaccine received, date not recorded (live_vaccine_date): a live vaccine dated "
                               "2025-03-01 to 2025-03-29 (within 28 days before NMA-LD) fails" + LEAD
                               + "live vaccine date 2025-03-12")


def test_a_recurrence_and_an_end_date_after_the_cut_are_named_in_i2_and_i3() -> None:
    adjuvant = {**ELIGIBLE_THERAPY, "setting": "adjuvant", "agents": "nivolumab", "start_date": "2024-06-01",
                "end_date": "2025-03-20", "stop_reason": "completed", "best_response": None,
                "recurrence_date": "2025-03-25"}
    result = screen(cut_dataset(case_tables(therapies=[adjuvant], patient_id="A")))
    # At the cut the line was running (its end after the cut: ongoing), so it recurred on therapy.
    i2 = row(result, "A", "I2")
    assert i2["outcome"] == "pass"
    assert i2["evidence"].endswith(LEAD + "line 1 (nivolumab) end date 2025-03-20 (ongoing at the cut), line 1 "
                                   "(nivolumab) recurrence date 2025-03-25")
    assert row(result, "A", "I3")["evidence"].endswith("recurrence date 2025-03-25")


def test_a_metastatic_lines_end_date_after_the_cut_is_named_in_i2_only() -> None:
    # I3 reads a line's end date only to date an adjuvant line's recurrence window: naming a
    # metastatic line's in I3 was noise (session 22's list). I2 keeps it: the cut reads the line
    # as ongoing, so its stop reason "progression" is not read (review 23E: I2 failed unexplained).
    stopped = {**ELIGIBLE_THERAPY, "end_date": "2025-03-20", "stop_reason": "progression", "best_response": "pr"}
    result = screen(cut_dataset(case_tables(therapies=[stopped], patient_id="A")))
    i2 = row(result, "A", "I2")
    assert i2["outcome"] == "fail"
    assert i2["evidence"] == ("most recent counted line 1 (nivolumab+ipilimumab): no progression, intolerance or "
                              "non-response (ongoing, best response PR)" + LEAD + "line 1 (nivolumab+ipilimumab) end "
                              "date 2025-03-20 (ongoing at the cut)")
    assert row(result, "A", "I3")["evidence"] == "no line recorded as adjuvant/neoadjuvant with an anti-PD-(L)1 agent"


def test_a_line_started_after_the_cut_is_named_in_e1() -> None:
    infusion = {**ELIGIBLE_THERAPY, "line": 2, "agents": "lifileucel", "start_date": "2025-03-15",
                "end_date": "2025-03-16", "best_response": None, "stop_reason": "completed"}
    result = screen(cut_dataset(case_tables(therapies=[ELIGIBLE_THERAPY, infusion], patient_id="A")))
    e1 = row(result, "A", "E1")
    assert e1["outcome"] == "pass"  # the program's own infusion, after the cut: not a prior therapy then
    assert e1["evidence"] == ("organ allograft: none; no prior cell transfer therapy" + LEAD
                              + "line 2 (lifileucel) started 2025-03-15")


def test_lab_results_after_the_cut_are_counted_in_i7() -> None:
    later = [{"test": "anc", "value": 0.5, "unit": "10^9/L", "uln": None, "collected_date": "2025-03-12"},
             {"test": "platelets", "value": 50, "unit": "10^9/L", "uln": None, "collected_date": "2025-03-14"}]
    tables = case_tables(patient_id="A")
    tables["labs"] = pd.concat([tables["labs"], case_tables(labs=later, patient_id="A", replace_labs=True)["labs"]],
                               ignore_index=True)
    got = row(screen(cut_dataset(tables)), "A", "I7")
    assert got["outcome"] == "pass"  # the results known at the cut
    assert got["evidence"].endswith(LEAD + "2 lab results collected 2025-03-12 to 2025-03-14")


def test_nothing_is_said_without_a_cut_or_for_other_criteria() -> None:
    vaccine = {"live_vaccine_received": "yes", "live_vaccine_date": "2025-03-12"}
    plain = screen(ScreeningDataset(**concat_tables([case_tables(vaccine, patient_id="A")])))
    assert not plain.outcomes["evidence"].str.contains("data cut").any()
    cut = screen(cut_dataset(case_tables(vaccine, patient_id="A")))
    assert cut.outcomes.loc[cut.outcomes["evidence"].str.contains("data cut"), "criterion_id"].tolist() == ["E10"]


def test_slices_say_the_same_as_the_whole() -> None:
    vaccine = {"live_vaccine_received": "yes", "live_vaccine_date": "2025-03-12"}
    dataset = cut_dataset(*(case_tables(vaccine if i % 2 else None, patient_id=f"P{i}") for i in range(5)))
    whole = screen(dataset).outcomes
    pieces = pd.concat([screen(piece).outcomes for piece in patient_slices(dataset, 2)], ignore_index=True)
    pd.testing.assert_frame_equal(pieces, whole)
