"""The fields-to-collect file's ``allowed values``: what each row's cell accepts, for whoever fills it in.

Audit 42W: a coordinator working from ``fields-<site>.csv`` had to look up in the data dictionary
which codes an HIV serology takes or which units an ANC result may come in. The expected texts
below are written from the contract (``shared/spec/screening-data.md`` section 1: codes, ranges,
units per test), not read from the package.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from lifileucel_analysis import cli
from lifileucel_analysis.report.collection_list import FIELD_COLUMNS
from lifileucel_analysis.report.field_requests import allowed_values

DEMO = Path(__file__).resolve().parents[1] / "lifileucel_analysis" / "data" / "demo"


@pytest.mark.parametrize(("table", "column", "detail", "expected"), [
    ("patients", "ecog", "", "a whole number >= 0 and <= 5"),
    ("patients", "hiv_serology", "", "one of negative, positive"),
    ("patients", "hbv_pcr", "if serology positive", "one of undetectable, detectable"),
    ("patients", "pregnant", "if female", "yes or no"),
    ("patients", "brain_metastases_stable_since", "if brain metastases", "an ISO date YYYY-MM-DD"),
    ("patients", "resectable_lesion_cm", "", "a number >= 0"),
    ("patients", "ajcc_stage", "", "one of 0, IA, IB, IIA, IIB, IIC, III, IIIA, IIIB, IIIC, IIID, IV"),
    # A stage III without sub-group is asked for its sub-group: only these four are an answer.
    ("patients", "ajcc_stage", "sub-group", "one of IIIA, IIIB, IIIC, IIID"),
    ("therapies", "setting", "line 2", "one of adjuvant, neoadjuvant, metastatic"),
    ("therapies", "stop_reason", "line 1", "one of progression, toxicity, completed, ongoing, other"),
    ("therapies", "agents", "line 3", "generic drug names joined by '+', lower case"),
    ("toxicities", "ongoing", "colitis", "yes or no"),
    ("toxicities", "grade", "colitis", "a whole number >= 1 and <= 5"),
    # A lab result to collect is a whole row: each cell, with the units its test allows.
    ("labs", "value", "test anc, with unit and collected_date",
     "value: a number >= 0; unit: 10^9/L or /uL; collected_date: an ISO date YYYY-MM-DD"),
    ("labs", "value", "test total_bilirubin, with unit and collected_date",
     "value: a number >= 0; unit: mg/dL or umol/L; collected_date: an ISO date YYYY-MM-DD"),
    ("labs", "value", "test alt, with unit, uln and collected_date",
     "value: a number >= 0; unit: U/L; uln: a number > 0; collected_date: an ISO date YYYY-MM-DD"),
    ("labs", "value", "test anc, with unit and collected_date, if the result without a date was collected "
     "outside that window",
     "value: a number >= 0; unit: 10^9/L or /uL; collected_date: an ISO date YYYY-MM-DD"),
    # One blank cell of a result on file: that cell alone, the unit as its test allows.
    ("labs", "unit", "hemoglobin result dated 2025-02-20", "g/dL or g/L"),
    ("labs", "unit", "creatinine clearance result dated 2025-02-20", "mL/min"),
    ("labs", "collected_date", "result that may be the ANC", "an ISO date YYYY-MM-DD"),
    # Review 43R: a result without a date, or one whose test is blank, was offered all eight units.
    ("labs", "unit", "hemoglobin result without a date", "g/dL or g/L"),
    ("labs", "unit", "result that may be the total bilirubin", "mg/dL or umol/L"),
    ("labs", "value", "result that may be the ANC", "a number >= 0"),
    # Results of one day that disagree: no new row to fill in, one to keep.
    ("labs", "value", "test anc, results dated 2025-02-20: which is the latest",
     "the results of that day: keep the one that counts; correct or remove the others"),
    ("overrides", "approved_by", "waiver of I6", "role or name of the approver"),
    # The row of a pending patient whose screening named no field: nothing to accept.
    ("", "", "", ""),
])
def test_each_cell_to_collect_says_what_it_accepts(table: str, column: str, detail: str, expected: str) -> None:
    assert allowed_values(table, column, detail) == expected


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("allowed")
    data = root / "data"
    shutil.copytree(DEMO, data)
    labs = pd.read_csv(data / "labs.csv", dtype=str, keep_default_na=False)
    # EAP-000002 (pending on I7's platelets) gets a hemoglobin of 50 with its unit blank, collected on its
    # NMA-LD day (2022-08-09), so the latest that counts: 50 g/dL passes, 50 g/L (5.0 g/dL) fails.
    row = pd.DataFrame([{"patient_id": "EAP-000002", "test": "hemoglobin", "value": "50", "unit": "", "uln": "",
                         "collected_date": "2022-08-09"}])
    pd.concat([labs, row], ignore_index=True).to_csv(data / "labs.csv", index=False)
    assert cli.main(["screen", str(data), "--out", str(root / "out")]) == 0
    return root / "out"


def _fields(out: Path) -> pd.DataFrame:
    return pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False) for path in sorted(out.glob("fields-*.csv"))],
                     ignore_index=True)


def test_the_column_sits_before_the_one_the_coordinator_fills_in(screened: Path) -> None:
    header = list(_fields(screened).columns)
    assert header[-2:] == ["allowed values", "collected (date or note)"]
    assert FIELD_COLUMNS[-2:] == ("allowed", "collected")


def test_every_row_that_names_a_column_says_what_it_accepts(screened: Path) -> None:
    fields = _fields(screened)
    named = fields["column"] != ""
    assert named.sum() > 100
    assert (fields.loc[named, "allowed values"] != "").all()
    serology = fields[fields["column"] == "hiv_serology"]
    assert len(serology) and (serology["allowed values"] == "one of negative, positive").all()


def test_a_blank_unit_on_file_is_asked_with_its_tests_units(screened: Path) -> None:
    fields = _fields(screened)
    unit = fields[(fields["table"] == "labs") & (fields["column"] == "unit")]
    assert len(unit) == 1, unit
    assert unit["detail"].iloc[0].startswith("hemoglobin result dated ")
    assert unit["allowed values"].iloc[0] == "g/dL or g/L"
