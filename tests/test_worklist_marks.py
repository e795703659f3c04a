"""The worklist says when each pending patient's NMA-LD is and what changed since the last cut.

A coordinator plans by the NMA-LD date (a pending patient whose NMA-LD is done is treated
without a decided screening) and works first on what is new. Expected texts are written by
hand from the dates and the changes given here.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import case_tables, concat_tables

from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.report.changes import CHANGE_COLUMNS
from lifileucel_analysis.report.worklist import (NO_EARLIER_RUN, WORKLIST_COLUMNS, DataCurrency, mark_changes,
                                                 nmald_for_reading, nmald_status, plain_worklist)

AS_OF = DataCurrency(pd.Timestamp("2025-03-10"), "data cut date")


@pytest.mark.parametrize(("nmald", "as_of", "expected"), [
    ("2025-03-18", AS_OF, "scheduled (in 8 days)"),
    ("2025-03-11", AS_OF, "scheduled (in 1 day)"),
    ("2025-03-10", AS_OF, "date passed"),  # on the currency date: the oversight table's "date passed" too
    ("2025-02-01", AS_OF, "date passed"),
    (None, AS_OF, "not scheduled"),
    # passed or scheduled is not known without a currency date; no date is "not scheduled" all the same
    ("2025-03-18", DataCurrency(None, "no consent date in the data"),
     "date recorded (no consent or cut date to tell passed from scheduled)"),
    (None, DataCurrency(None, "no consent date in the data"), "not scheduled"),
])
def test_nmald_is_said_relative_to_the_data_date(nmald: str | None, as_of: DataCurrency, expected: str) -> None:
    assert nmald_status(pd.Series(pd.to_datetime([nmald])), as_of).tolist() == [expected]


def test_the_worklist_shows_each_pending_patients_nmald() -> None:
    parts = [case_tables(patient_id="W1", patient={"ecog": None, "lymphodepletion_date": "2025-03-29"}),
             case_tables(patient_id="W2", patient={"ecog": None, "lymphodepletion_date": None}),
             case_tables(patient_id="W3", patient={"ecog": None, "lymphodepletion_date": "2025-03-05",
                                                   "consent_date": "2025-02-20"})]
    dataset = ScreeningDataset(**concat_tables(parts), source="in memory")
    result = screen(dataset, load_params())
    work = plain_worklist(result, dataset.patients, AS_OF)
    assert list(work.columns) == list(WORKLIST_COLUMNS)
    # The date and its status are two columns, so a spreadsheet sorts by the one and filters by the other.
    assert dict(zip(work["patient_id"], work["nmald_status"], strict=True)) == {
        "W1": "scheduled (in 19 days)", "W2": "not scheduled", "W3": "date passed"}
    dates = dict(zip(work["patient_id"], work["nmald_date"], strict=True))
    assert dates["W1"] == pd.Timestamp("2025-03-29") and dates["W3"] == pd.Timestamp("2025-03-05")
    assert pd.isna(dates["W2"])


def test_a_page_shows_the_nmald_date_and_its_status_in_one_cell() -> None:
    """Files keep the date and the status apart (a spreadsheet sorts by the one, filters by the other);
    a page is read, and shows them together where the two columns used to be."""
    worklist = pd.DataFrame({
        "patient_id": ["A", "B", "C", "D"],
        "nmald_date": pd.to_datetime(["2025-03-18", None, "2025-03-05", "2025-03-18"]),
        "nmald_status": ["scheduled (in 8 days)", "not scheduled", "date passed",
                         "date recorded (no consent or cut date to tell passed from scheduled)"],
        "since_last_cut": ["no change"] * 4})
    shown = nmald_for_reading(worklist)
    assert list(shown.columns) == ["patient_id", "nmald", "since_last_cut"]
    assert shown["nmald"].tolist() == ["2025-03-18: scheduled (in 8 days)", "not scheduled",
                                       "2025-03-05: date passed", "2025-03-18"]


def _changes(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{c: row.get(c, "") for c in CHANGE_COLUMNS} for row in rows], columns=CHANGE_COLUMNS)


def _worklist(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": ids, "site_id": "mskcc", "nmald_date": pd.NaT,
                         "nmald_status": "not scheduled", "unknown": "I6"})


def test_each_pending_patient_says_what_changed_since_the_earlier_run() -> None:
    changes = _changes([
        {"patient_id": "N1", "change": "new", "verdict_after": "pending", "newly_unknown": "I6"},
        {"patient_id": "V1", "change": "verdict", "verdict_before": "ineligible", "verdict_after": "pending",
         "resolved": "E6", "newly_unknown": "I6;I7"},
        {"patient_id": "V2", "change": "verdict", "verdict_before": "eligible", "verdict_after": "pending",
         "newly_unknown": "I6"},
        {"patient_id": "C1", "change": "criteria", "verdict_before": "pending", "verdict_after": "pending",
         "resolved": "I4"},
        {"patient_id": "GONE", "change": "no longer in data", "verdict_before": "pending"},
    ])
    marked = mark_changes(_worklist(["N1", "V1", "V2", "C1", "U1"]), changes)
    assert list(marked.columns) == ["patient_id", "site_id", "nmald_date", "nmald_status", "since_last_cut",
                                     "unknown"]
    assert marked["since_last_cut"].tolist() == [
        "new patient", "was ineligible; newly unknown: I6, I7; resolved: E6", "was eligible; newly unknown: I6",
        "resolved: I4", "no change"]


def test_without_an_earlier_run_every_row_says_so() -> None:
    marked = mark_changes(_worklist(["A", "B"]), None)
    assert marked["since_last_cut"].tolist() == [NO_EARLIER_RUN, NO_EARLIER_RUN]
    assert mark_changes(_worklist([]), _changes([]))["since_last_cut"].tolist() == []
