"""Loading and validating a screening dataset (shared/spec/screening-data.md section 1).

Every dataset here is built inline: a small valid dataset as CSV text, then one change
per test (a bad cell, a missing file, a lenient spelling, ...).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import override_row, patient_row, text_row, therapy_row, toxicity_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from lifileucel_analysis.contract import schema
from lifileucel_analysis.contract.dataset import ContractError, ScreeningDataset
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.contract.findings import MAX_PROBLEMS_PER_KIND
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.contract import reading
from lifileucel_analysis.contract.reading import read_raw_tables
from lifileucel_analysis.contract.validation import validate_tables

PATIENT = text_row(patient_row(disease_unresectable=None, ecog=1, resectable_lesion_cm=2.5))
"""The eligible baseline patient as text cells: a blank optional cell, a non-zero whole number, a decimal."""


def base_rows() -> dict[str, list[dict[str, str]]]:
    """A valid dataset as rows of text cells: two patients and one row per event table."""
    return {
        "patients": [dict(PATIENT, patient_id="P1"), dict(PATIENT, patient_id="P2", sex="male", ecog="")],
        "therapies": [text_row(therapy_row("P1"))],
        "labs": [dict(patient_id="P1", test="anc", value="1500", unit="/uL", uln="", collected_date="2025-02-20"),
                 dict(patient_id="P1", test="ast", value="40", unit="U/L", uln="40", collected_date="2025-02-20")],
        "toxicities": [text_row(toxicity_row("P2"))],
        "overrides": [text_row(override_row("P1", "I6", reason="ECOG documented on paper"))],
    }


def csv_text(rows: list[dict[str, str]], columns: list[str] | None = None, newline: str = "\n") -> str:
    """CSV text of ``rows``; a value with a comma is quoted, as a spreadsheet would."""
    columns = columns or list(rows[0])
    lines = [",".join(columns)] + [",".join(quote(row.get(c, "")) for c in columns) for row in rows]
    return newline.join(lines) + newline


def quote(value: str) -> str:
    return f'"{value}"' if "," in value else value


def write_csv_dataset(folder: Path, rows: dict[str, list[dict[str, str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, table_rows in rows.items():
        columns = list(schema.TABLES[table].column_names)
        extra = [c for c in (table_rows[0] if table_rows else {}) if c not in columns]
        (folder / f"{table}.csv").write_text(csv_text(table_rows, columns + extra), encoding="utf-8")
    return folder


def load_error(path: Path) -> ContractError:
    with pytest.raises(ContractError) as caught:
        load_dataset(path)
    return caught.value


def typed_base() -> dict[str, pd.DataFrame]:
    """The base dataset as typed frames, as the loader must return them."""
    typed = {}
    for table, rows in base_rows().items():
        frame = pd.DataFrame(rows).replace("", None)
        typed[table] = schema.coerce(table, frame)
    return typed


def assert_dataset_equals(data: ScreeningDataset, expected: dict[str, pd.DataFrame]) -> None:
    for table in schema.TABLES:
        pd.testing.assert_frame_equal(data.table(table), expected[table])


# ---------------------------------------------------------------------------------------
# The valid dataset


def test_valid_csv_dataset_loads_as_typed_frames(tmp_path: Path) -> None:
    data = load_dataset(write_csv_dataset(tmp_path / "d", base_rows()))
    assert_dataset_equals(data, typed_base())
    for table in schema.TABLES:
        frame = data.table(table)
        assert list(frame.columns) == list(schema.TABLES[table].column_names)
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
        for column in schema.TABLES[table].columns:
            assert frame[column.name].dtype == schema.dtype_for(column), (table, column.name)
    assert data.warnings == ()
    assert data.source == str(tmp_path / "d")


def test_blank_optional_cells_mean_not_recorded(tmp_path: Path) -> None:
    patients = load_dataset(write_csv_dataset(tmp_path / "d", base_rows())).patients
    assert pd.isna(patients.loc[1, "ecog"])
    assert pd.isna(patients.loc[0, "disease_unresectable"])
    assert pd.isna(patients.loc[0, "hbv_pcr"])
    assert pd.isna(patients.loc[0, "live_vaccine_date"])


def test_overrides_table_is_optional(tmp_path: Path) -> None:
    rows = base_rows()
    del rows["overrides"]
    data = load_dataset(write_csv_dataset(tmp_path / "d", rows))
    pd.testing.assert_frame_equal(data.overrides, schema.empty_frame("overrides"))


def test_event_tables_may_have_no_rows(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    for table in ("therapies", "labs", "toxicities", "overrides"):
        (folder / f"{table}.csv").write_text(",".join(schema.TABLES[table].column_names) + "\n")
    data = load_dataset(folder)
    for table in ("therapies", "labs", "toxicities", "overrides"):
        pd.testing.assert_frame_equal(data.table(table), schema.empty_frame(table))


# ---------------------------------------------------------------------------------------
# One bad cell: the message names table, row, column, value and what is allowed

BAD_CELLS = [
    # table, row index, column, bad value, message fragment
    ("patients", 0, "consent_date", "03/02/2026", "use YYYY-MM-DD"),
    ("patients", 1, "consent_date", "2026-02-30", "no such calendar date"),
    ("patients", 0, "birth_date", "1960-5-1", "not an ISO date"),
    ("patients", 0, "birth_date", "1960-05-01T00:00", "has a time of day: expected a date YYYY-MM-DD"),
    ("patients", 0, "birth_date", "1960-05-01 12:30:00", "has a time of day: expected a date YYYY-MM-DD"),
    ("patients", 0, "birth_date", "1960-05-01T12:30:00Z", "has a time of day: expected a date YYYY-MM-DD"),
    ("patients", 0, "birth_date", "1960-05-01T12:30+02:00", "has a time of day: expected a date YYYY-MM-DD"),
    ("patients", 1, "site_id", "mayo", "unknown site code: expected one of honorhealth"),
    ("patients", 0, "sex", "m", "unknown code: expected one of female, male"),
    ("patients", 0, "sex", ".", "a placeholder, not a value: leave the cell blank"),  # audit 36B
    ("patients", 0, "ajcc_stage", "V", "unknown code"),
    ("patients", 0, "ecog", "2.5", "not a whole number"),
    ("patients", 0, "ecog", "6", "out of range: expected a whole number >= 0 and <= 5"),
    ("patients", 0, "ecog", "two", "not a number"),
    ("patients", 0, "life_expectancy_months", "-1", "out of range: expected a number >= 0"),
    ("patients", 0, "steroid_mg_per_day", "inf", "not a finite number"),
    ("patients", 0, "steroid_mg_per_day", "1,500", "not a number"),
    ("patients", 1, "patient_id", "John Smith", "not a valid patient ID"),
    ("patients", 1, "patient_id", "<script>", "not a valid patient ID"),
    ("patients", 0, "patient_id", "", "blank, but required"),
    ("patients", 0, "site_id", "", "blank, but required"),
    ("patients", 0, "pregnant", "y", "expected yes or no"),
    ("patients", 0, "brain_metastases", "true", "expected yes or no"),
    ("therapies", 0, "line", "0", "out of range: expected a whole number >= 1"),
    ("therapies", 0, "setting", "palliative", "unknown code: expected one of adjuvant, neoadjuvant, metastatic"),
    ("therapies", 0, "end_date", "June 2024", "not an ISO date"),
    ("labs", 0, "unit", "g/L", "unit not allowed for test anc: use 10^9/L or /uL"),
    ("labs", 1, "unit", "IU/ml", "unit not allowed for test ast: use U/L"),
    ("labs", 1, "uln", "", "required for ast and alt"),
    ("labs", 0, "test", "ldh", "unknown code"),
    ("labs", 0, "value", "high", "not a number"),
    ("labs", 0, "collected_date", "20/02/2025", "not an ISO date"),
    ("toxicities", 0, "grade", "6", "out of range"),
    ("toxicities", 0, "patient_id", "P9", "no such patient"),
    ("toxicities", 0, "category", "skin", "unknown code"),
    ("overrides", 0, "criterion_id", "I9", "unknown code"),
    ("overrides", 0, "patient_id", "P3", "no such patient"),
]


def shown(column: str, value: str) -> str:
    """A value as messages show it: a birth date with its letters and digits masked."""
    return re.sub(r"\w", "#", value) if column == "birth_date" else value


@pytest.mark.parametrize(("table", "index", "column", "value", "fragment"), BAD_CELLS,
                         ids=[f"{t}.{c}={v!r}" for t, _, c, v, _ in BAD_CELLS])
def test_a_bad_cell_is_reported_with_its_location(tmp_path: Path, table: str, index: int, column: str,
                                                  value: str, fragment: str) -> None:
    rows = base_rows()
    rows[table][index][column] = value
    error = load_error(write_csv_dataset(tmp_path / "d", rows))
    expected_start = f"{table} row {index + 1}, column {column}: value {shown(column, value)!r}: "
    lines = [str(p) for p in error.problems if str(p).startswith(expected_start)]
    assert lines, f"no problem starting {expected_start!r} in:\n{error}"
    assert any(fragment in line for line in lines), str(error)
    assert expected_start in str(error)


def test_a_blank_lab_test_is_read_as_not_recorded(tmp_path: Path) -> None:
    """A blank test is "not recorded" (spec section 1), not a break: the engine reads the row as
    each test its unit allows (tests/test_criteria_spec.py, I7_UNTESTED)."""
    rows = base_rows()
    rows["labs"][0]["test"] = ""
    labs = load_dataset(write_csv_dataset(tmp_path / "d", rows)).labs
    assert labs["test"].isna().tolist() == [True, False]
    assert labs["unit"].astype(str).tolist() == ["/uL", "U/L"]


def test_a_blank_lab_test_in_u_per_l_needs_the_uln_of_ast_and_alt(tmp_path: Path) -> None:
    """Only AST and ALT are measured in U/L, and the spec requires their ULN."""
    rows = base_rows()
    rows["labs"][1].update(test="", uln="")
    error = load_error(write_csv_dataset(tmp_path / "d", rows))
    assert [str(p) for p in error.problems] == [
        "labs row 2, column uln: value '': blank, but required: a result in U/L with a blank test is an ast or alt "
        "result, which needs its upper limit of normal (uln) in U/L; give the uln (or the test and unit, if U/L is "
        "wrong) (patient_id 'P1')"]


@pytest.mark.parametrize(("table", "index", "column", "value", "fragment"), BAD_CELLS[:12],
                         ids=[f"{t}.{c}={v!r}" for t, _, c, v, _ in BAD_CELLS[:12]])
def test_a_bad_cell_is_reported_the_same_way_from_a_workbook(tmp_path: Path, table: str, index: int, column: str,
                                                             value: str, fragment: str) -> None:
    rows = base_rows()
    rows[table][index][column] = value
    error = load_error(write_workbook(tmp_path / "d.xlsx", rows))
    expected_start = f"{table} row {index + 1}, column {column}: value {shown(column, value)!r}: "
    assert any(str(p).startswith(expected_start) and fragment in str(p) for p in error.problems), str(error)


def test_a_formula_without_a_computed_value_is_refused_not_read_as_blank(tmp_path: Path) -> None:
    # Audit 23C: openpyxl writes formulas without a result, and such a cell read as empty made
    # ECOG "not recorded" without a word. Excel's saved result is read as before.
    rows = base_rows()
    rows["patients"][0]["ecog"] = "=1+0"  # openpyxl stores a string starting with "=" as a formula
    error = load_error(write_workbook(tmp_path / "d.xlsx", rows))
    assert [str(p) for p in error.problems] == [
        "patients row 1, column ecog: value '=1+0': a formula, not a value: type the value (a workbook written by a "
        "program holds no computed result until it is opened and saved in Excel); expected a whole number >= 0 and "
        "<= 5 (patient_id 'P1')"]


def test_an_excel_date_cell_in_the_patient_id_column_is_refused(tmp_path: Path) -> None:
    # Audit 23C: Excel turns an ID typed 1-5 into a date; it was read as the ID "2025-01-05".
    rows = base_rows()
    rows["patients"][1]["patient_id"] = dt.datetime(2025, 1, 5)
    error = load_error(write_workbook(tmp_path / "d.xlsx", rows))
    assert [str(p) for p in error.problems] == [
        "patients row 2, column patient_id: value '(date cell) 2025-01-05': an Excel date cell where a patient ID is "
        "expected (Excel turns IDs such as 1-5 into dates): format the column as Text and type the ID again",
        "toxicities row 1, column patient_id: value 'P2': no such patient: this patient_id is not in the patients "
        "table, whose row 2 has no valid patient_id: if this is that patient, correct the patients row"]


def test_an_orphan_row_names_the_patients_rows_without_a_valid_id(tmp_path: Path) -> None:
    # Audit 34B: one blank ID in patients gave one message on that row and a "no such patient" on each of
    # the patient's other rows, which pointed away from the one cause.
    rows = base_rows()
    rows["patients"][1]["patient_id"] = ""
    error = load_error(write_csv_dataset(tmp_path / "d", rows))
    orphans = [str(p) for p in error.problems if "no such patient" in p.message]
    assert orphans and all(o.endswith("no such patient: this patient_id is not in the patients table, whose row 2 "
                                      "has no valid patient_id: if this is that patient, correct the patients row")
                           for o in orphans)
    rows = base_rows()
    for row in rows["patients"]:
        row["patient_id"] = ""  # several rows without an ID: the message names them all, in the plural
    error = load_error(write_csv_dataset(tmp_path / "s", rows))
    orphans = {p.message for p in error.problems if "no such patient" in p.message}
    assert orphans == {"no such patient: this patient_id is not in the patients table, whose rows "
                       f"{', '.join(str(i + 1) for i in range(len(rows['patients'])))} have no valid patient_id: "
                       "if this is one of those patients, correct its patients row"}
    rows = base_rows()
    rows["toxicities"][0]["patient_id"] = "P9"  # every patients row has its ID: the plain message
    error = load_error(write_csv_dataset(tmp_path / "e", rows))
    assert [p.message for p in error.problems] == ["no such patient: this patient_id is not in the patients table"]


def test_duplicate_patient_ids_are_reported_on_every_row(tmp_path: Path) -> None:
    rows = base_rows()
    rows["patients"][1]["patient_id"] = "P1"
    error = load_error(write_csv_dataset(tmp_path / "d", rows))
    duplicates = [p for p in error.problems if "duplicate patient_id" in p.message]
    assert [(p.row, p.column, p.value) for p in duplicates] == [(1, "patient_id", "P1"), (2, "patient_id", "P1")]


def test_a_therapy_line_written_twice_is_read_once_and_a_shared_number_is_read(tmp_path: Path) -> None:
    """The spec gives therapies no key: a row repeated in every column is one line (read once, said);
    another line with the same number is a second line whose order is not recorded
    (tests/test_shared_line_numbers.py)."""
    from lifileucel_analysis.contract.loading import load_dataset

    rows = base_rows()
    once = load_dataset(write_csv_dataset(tmp_path / "once", rows))
    rows["therapies"].append(dict(rows["therapies"][0]))
    twice = load_dataset(write_csv_dataset(tmp_path / "twice", rows))
    assert twice.therapies.equals(once.therapies)
    assert any("therapies: row 2 repeats an earlier row in every column; each line is read once" in w
               for w in twice.warnings)
    rows["therapies"][1]["agents"] = "ipilimumab"
    shared = load_dataset(write_csv_dataset(tmp_path / "shared", rows))
    assert shared.therapies["line"].tolist() == [1, 1] and not shared.warnings


def test_an_override_written_twice_is_read_once(tmp_path: Path) -> None:
    """Every column equal: one documented waiver, read once (the spec gives overrides no key; one that
    differs is a second waiver of the criterion, tests/test_waived_twice.py)."""
    from lifileucel_analysis.contract.loading import load_dataset

    rows = base_rows()
    once = load_dataset(write_csv_dataset(tmp_path / "once", rows))
    rows["overrides"].append(dict(rows["overrides"][0]))
    twice = load_dataset(write_csv_dataset(tmp_path / "twice", rows))
    assert twice.overrides.equals(once.overrides)
    assert any("overrides: row 2 repeats an earlier row in every column" in w for w in twice.warnings)
    from lifileucel_analysis.engine.parameters import load_params
    from lifileucel_analysis.engine.screening import screen

    # the screening (which reuses the rows' patient positions found by validation) is the single row's
    pd.testing.assert_frame_equal(screen(twice, load_params()).outcomes, screen(once, load_params()).outcomes)


def test_every_problem_of_every_table_is_reported_at_once(tmp_path: Path) -> None:
    rows = base_rows()
    rows["patients"][0]["consent_date"] = "03/02/2026"
    rows["patients"][1]["sex"] = "unknown"
    rows["therapies"][0]["best_response"] = "progressive"
    rows["labs"][1]["uln"] = ""
    rows["toxicities"][0]["grade"] = "7"
    error = load_error(write_csv_dataset(tmp_path / "d", rows))
    assert error.n_problems == 5
    located = {(p.table, p.row, p.column) for p in error.problems}
    assert located == {("patients", 1, "consent_date"), ("patients", 2, "sex"), ("therapies", 1, "best_response"),
                       ("labs", 2, "uln"), ("toxicities", 1, "grade")}
    assert str(error).startswith(f"5 problems in the screening dataset {tmp_path / 'd'}:")


def test_many_problems_are_all_counted_but_only_some_kept(tmp_path: Path) -> None:
    rows = base_rows()
    n_bad = MAX_PROBLEMS_PER_KIND + 500
    rows["labs"] = [dict(rows["labs"][0], collected_date="20/02/2025") for _ in range(n_bad)]
    error = load_error(write_csv_dataset(tmp_path / "d", rows))
    assert error.n_problems == n_bad
    assert len(error.problems) == MAX_PROBLEMS_PER_KIND
    message = str(error)
    assert f"{n_bad:,} problems in the screening dataset" in message
    assert f"{n_bad:,} x labs.collected_date: not an ISO date" in message
    assert len(message.splitlines()) < 20


def test_an_empty_row_between_rows_is_reported_at_its_row(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    labs = folder / "labs.csv"
    header, first, second = labs.read_text().splitlines()
    labs.write_text("\n".join([header, first, ",,,,,", second]) + "\n")
    error = load_error(folder)
    # A blank test, value, unit or collected_date alone is "not recorded"; an empty row has no patient.
    assert {(p.row, p.column) for p in error.problems} == {(2, "patient_id")}


def test_row_numbers_count_data_rows_after_quoted_line_breaks(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    toxicities = folder / "toxicities.csv"
    text = toxicities.read_text().replace("colitis", '"colitis,\nsevere"')
    toxicities.write_text(text + "P2,rash,skin,1,no\n")
    error = load_error(folder)
    assert [str(p) for p in error.problems] == [
        "toxicities row 2, column category: value 'skin': unknown code: expected one of endocrine, ocular, "
        "vitiligo, other (patient_id 'P2')"]


# ---------------------------------------------------------------------------------------
# Lenient input


def edit_csv(folder: Path, table: str, change: Callable[[str], str]) -> None:
    path = folder / f"{table}.csv"
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8", newline="")


LENIENT_CELLS = [
    # table, index, column, written, expected typed value
    ("patients", 0, "sex", "FEMALE", "female"),
    ("patients", 0, "sex", "  Female ", "female"),
    ("patients", 0, "site_id", "MSKCC", "mskcc"),
    ("patients", 0, "ajcc_stage", "iv", "IV"),
    ("patients", 0, "ajcc_stage", "IIIc", "IIIC"),
    ("patients", 0, "pregnant", "Yes", True),
    ("patients", 0, "pregnant", " no ", False),
    ("patients", 0, "pregnant", "NO", False),
    ("patients", 0, "pregnant", "   ", pd.NA),
    ("patients", 0, "ecog", "2.0", 2),
    ("patients", 0, "ecog", " 0 ", 0),
    ("patients", 0, "life_expectancy_months", "1e1", 10.0),
    ("patients", 0, "consent_date", " 2025-03-01 ", pd.Timestamp("2025-03-01")),
    ("patients", 0, "patient_id", "  P1 ", "P1"),
    ("labs", 0, "unit", "/UL", "/uL"),
    ("labs", 1, "unit", "u/l", "U/L"),
    ("therapies", 0, "agents", "Nivolumab+Ipilimumab", "nivolumab+ipilimumab"),
    ("overrides", 0, "criterion_id", "i6", "I6"),
    ("toxicities", 0, "term", "  Colitis  ", "Colitis"),
]


@pytest.mark.parametrize(("table", "index", "column", "written", "expected"), LENIENT_CELLS,
                         ids=[f"{t}.{c}={w!r}" for t, _, c, w, _ in LENIENT_CELLS])
def test_lenient_spellings_load(tmp_path: Path, table: str, index: int, column: str, written: str,
                                expected: object) -> None:
    rows = base_rows()
    rows[table][index][column] = written
    value = load_dataset(write_csv_dataset(tmp_path / "d", rows)).table(table).loc[index, column]
    if expected is pd.NA:
        assert pd.isna(value)
    else:
        assert value == expected


def test_bom_crlf_column_order_and_header_case_are_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    for table, rows in base_rows().items():
        columns = list(reversed(schema.TABLES[table].column_names))
        text = csv_text(rows, columns, newline="\r\n")
        text = text.replace("patient_id", " Patient_ID ", 1)
        (folder / f"{table}.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    data = load_dataset(folder)
    assert_dataset_equals(data, typed_base())


def test_extra_columns_are_ignored_with_a_warning(tmp_path: Path) -> None:
    rows = base_rows()
    for row in rows["patients"]:
        row["patient_name"] = "Jane Doe"
        row["mrn"] = "123456"
    data = load_dataset(write_csv_dataset(tmp_path / "d", rows))
    assert "patient_name" not in data.patients.columns and "mrn" not in data.patients.columns
    assert not data.patients.isin(["Jane Doe", "123456"]).any().any()
    assert data.warnings == ("patients: ignored 2 columns not in the data contract: patient_name, mrn",)


def test_extra_files_are_ignored_with_a_warning(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    (folder / "notes.csv").write_text("anything\n")
    (folder / "README.txt").write_text("not a table\n")
    data = load_dataset(folder)
    assert data.warnings == ("ignored file not in the data contract: notes.csv",)


def test_trailing_empty_rows_are_dropped(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    edit_csv(folder, "labs", lambda text: text + ",,,,,\n  , ,,,,\n\n")
    assert len(load_dataset(folder).labs) == 2


def test_patient_rows_keep_input_order(tmp_path: Path) -> None:
    rows = base_rows()
    rows["patients"] = [dict(PATIENT, patient_id=f"Z{i}") for i in (3, 1, 2)]
    rows["therapies"] = []
    rows["labs"] = []
    rows["toxicities"] = []
    rows["overrides"] = []
    folder = tmp_path / "d"
    folder.mkdir()
    for table, table_rows in rows.items():
        columns = list(schema.TABLES[table].column_names)
        (folder / f"{table}.csv").write_text(csv_text(table_rows, columns) if table_rows else ",".join(columns) + "\n")
    assert load_dataset(folder).patients["patient_id"].tolist() == ["Z3", "Z1", "Z2"]


# ---------------------------------------------------------------------------------------
# Structural problems


def test_missing_required_table(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    (folder / "labs.csv").unlink()
    error = load_error(folder)
    assert [str(p) for p in error.problems] == [f"labs: missing table: expected labs.csv in {folder}"]


def test_missing_column_is_named_even_when_optional(tmp_path: Path) -> None:
    rows = base_rows()
    folder = tmp_path / "d"
    write_csv_dataset(folder, rows)
    columns = [c for c in schema.TABLES["patients"].column_names if c != "hbv_pcr"]
    (folder / "patients.csv").write_text(csv_text(rows["patients"], columns))
    error = load_error(folder)
    assert [(p.table, p.column) for p in error.problems] == [("patients", "hbv_pcr")]
    assert "patients, column hbv_pcr: missing column" in str(error)


def test_duplicate_column_is_refused(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    header = "patient_id,term,category,grade,ongoing,Ongoing"
    (folder / "toxicities.csv").write_text(f"{header}\nP2,colitis,other,2,no,yes\n")
    error = load_error(folder)
    assert "toxicities, column ongoing: column appears more than once" in str(error)


def test_a_row_with_more_fields_than_the_header_is_refused(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    edit_csv(folder, "toxicities", lambda text: text.replace("colitis", "colitis,grade 2"))
    error = load_error(folder)
    assert str(error.problems[0]).startswith("toxicities row 1: 6 fields where the header has 5")


def test_a_row_with_fewer_fields_than_the_header_is_refused(tmp_path: Path) -> None:
    # pandas pads a short row with blank cells; read so, a cut-off live-vaccine date would pass E10 (audit 31B).
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    edit_csv(folder, "toxicities", lambda text: text.replace("colitis,other,2,no", "colitis,other,2"))
    error = load_error(folder)
    assert str(error.problems[0]).startswith("toxicities row 1: 4 fields where the header has 5: every row needs "
                                             "the header's columns")


def test_a_quote_never_closed_names_its_row_in_words(tmp_path: Path) -> None:
    # pandas said "Error tokenizing data. C error: EOF inside string starting at row 1" (audit 31B).
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    edit_csv(folder, "toxicities", lambda text: text.replace("P2,colitis", 'P2,"colitis'))
    problem = str(load_error(folder).problems[0])
    assert problem.startswith("toxicities row 1: a double quote opens a value on this row that is never closed")
    assert "tokenizing" not in problem


def test_a_header_ending_in_a_comma_does_not_make_every_row_short(tmp_path: Path) -> None:
    # The blank name after the last comma names no column: rows without that cell are whole (review 31).
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    edit_csv(folder, "toxicities", lambda text: text.replace("ongoing\n", "ongoing,\n", 1).replace('"', ""))
    assert reading._short_rows((folder / "toxicities.csv").read_text(), 5) == []
    assert len(load_dataset(folder).toxicities) == len(load_dataset(write_csv_dataset(tmp_path / "e",
                                                                                      base_rows())).toxicities)


def test_blank_lines_and_rows_of_blank_cells_are_not_short_rows(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    edit_csv(folder, "toxicities", lambda text: text + "\n,,\n")
    assert reading._short_rows((folder / "toxicities.csv").read_text(), 5) == []


def test_semicolon_separated_csv_is_refused_with_a_hint(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    edit_csv(folder, "toxicities", lambda text: text.replace(",", ";"))
    assert "save it as 'CSV UTF-8 (comma delimited)'" in str(load_error(folder))


@pytest.mark.parametrize(("encoding", "looks_like"), [("cp1252", "Windows-1252"), ("utf-16", "UTF-16")])
def test_a_file_that_is_not_utf8_is_refused_with_advice(tmp_path: Path, encoding: str, looks_like: str) -> None:
    rows = base_rows()
    rows["toxicities"][0]["term"] = "colite sévère"
    folder = write_csv_dataset(tmp_path / "d", rows)
    path = folder / "toxicities.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    message = str(load_error(folder))
    assert "toxicities" in message and "not UTF-8 text" in message and looks_like in message
    assert "save it as 'CSV UTF-8'" in message
    if encoding == "cp1252":
        assert "toxicities row 1: toxicities.csv is not UTF-8 text (byte 0xe9" in message


def test_empty_csv_file_is_refused(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    (folder / "toxicities.csv").write_text("")
    assert "toxicities: toxicities.csv is empty: expected a header row" in str(load_error(folder))


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda tmp: tmp / "nowhere", "no such file or folder"),
    (lambda tmp: tmp, "no tables found: expected patients.csv"),
    (lambda tmp: touch(tmp / "old.xls"), "save it as .xlsx"),
    (lambda tmp: touch(tmp / "patients.csv"), "pass the folder that holds this file"),
    (lambda tmp: touch(tmp / "data.json"), "not a dataset"),
    (lambda tmp: touch(tmp / "broken.xlsx"), "not a readable .xlsx workbook"),
])
def test_a_path_that_is_not_a_dataset(tmp_path: Path, make: Callable[[Path], Path], fragment: str) -> None:
    path = make(tmp_path)
    error = load_error(path)
    assert len(error.problems) == 1 and error.problems[0].table == "dataset"
    assert fragment in str(error)


def touch(path: Path) -> Path:
    path.write_text("x\n")
    return path


def test_a_folder_with_only_a_workbook_points_to_it(tmp_path: Path) -> None:
    write_workbook(tmp_path / "book.xlsx", base_rows())
    assert "pass its path (book.xlsx)" in str(load_error(tmp_path))


def test_a_folder_with_csv_and_parquet_is_ambiguous(tmp_path: Path) -> None:
    folder = write_csv_dataset(tmp_path / "d", base_rows())
    write_tables({"patients": typed_base()["patients"]}, folder, "parquet")
    assert "holds both CSV and Parquet tables" in str(load_error(folder))


def test_problems_in_files_and_cells_are_reported_together(tmp_path: Path) -> None:
    rows = base_rows()
    rows["patients"][0]["sex"] = "x"
    folder = write_csv_dataset(tmp_path / "d", rows)
    (folder / "labs.csv").unlink()
    path = folder / "toxicities.csv"
    path.write_bytes(path.read_text().replace("colitis", "colite sévère").encode("cp1252"))
    error = load_error(folder)
    assert {p.table for p in error.problems} == {"patients", "labs", "toxicities"}


def test_read_raw_tables_returns_text_cells(tmp_path: Path) -> None:
    raw = read_raw_tables(write_csv_dataset(tmp_path / "d", base_rows()))
    assert set(raw) == set(schema.TABLES)
    assert raw["patients"].loc[1, "ecog"] == "" and raw["labs"].loc[0, "value"] == "1500"
    with pytest.raises(ContractError, match="no such file"):
        read_raw_tables(tmp_path / "missing")


# ---------------------------------------------------------------------------------------
# Excel workbooks


def write_workbook(path: Path, rows: dict[str, list[dict[str, object]]]) -> Path:
    """A workbook as a person would make it: one sheet per table, cells as given."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table, table_rows in rows.items():
        sheet = workbook.create_sheet(table)
        columns = list(schema.TABLES[table].column_names)
        sheet.append(columns)
        for row in table_rows:
            sheet.append([None if row.get(c, "") == "" else row.get(c) for c in columns])
    workbook.save(path)
    return path


def test_workbook_with_text_cells_loads(tmp_path: Path) -> None:
    assert_dataset_equals(load_dataset(write_workbook(tmp_path / "d.xlsx", base_rows())), typed_base())


def test_workbook_with_date_cells_numbers_and_booleans_loads(tmp_path: Path) -> None:
    rows: dict[str, list[dict[str, object]]] = base_rows()  # type: ignore[assignment]
    patient = rows["patients"][0]
    patient.update(birth_date=dt.datetime(1970, 6, 15), consent_date=dt.date(2025, 3, 1), ecog=1,
                   life_expectancy_months=12.0, resectable_lesion_cm=2.5, pregnant=False, breastfeeding="No")
    rows["labs"][0].update(value=1500, collected_date=dt.datetime(2025, 2, 20))
    rows["therapies"][0].update(line=1.0)
    data = load_dataset(write_workbook(tmp_path / "d.xlsx", rows))
    assert_dataset_equals(data, typed_base())


def test_workbook_date_cell_with_a_time_of_day_is_refused(tmp_path: Path) -> None:
    rows: dict[str, list[dict[str, object]]] = base_rows()  # type: ignore[assignment]
    rows["patients"][0]["consent_date"] = dt.datetime(2025, 3, 1, 14, 30)
    error = load_error(write_workbook(tmp_path / "d.xlsx", rows))
    # Audit 36B: it said "not an ISO date", as for a layout; the time of day is what to remove.
    assert ("patients row 1, column consent_date: value '2025-03-01 14:30:00': has a time of day: expected a date "
            "YYYY-MM-DD without time") in str(error)


def test_workbook_missing_sheet_and_empty_sheet(tmp_path: Path) -> None:
    rows = base_rows()
    del rows["labs"]
    path = write_workbook(tmp_path / "d.xlsx", rows)
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook.remove(workbook["toxicities"])
    workbook.create_sheet("toxicities")
    workbook.create_sheet("Notes")
    workbook.save(path)
    error = load_error(path)
    assert {str(p) for p in error.problems} == {
        "labs: missing sheet: the workbook needs a sheet named 'labs' (sheets not in the contract: 'Notes')",
        "toxicities: sheet empty: expected a header row with the contract's column names",
    }


def test_workbook_sheet_names_match_case_insensitively_and_extra_sheets_warn(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "d.xlsx", base_rows())
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook["patients"].title = "renamed"  # openpyxl compares titles ignoring case
    workbook["renamed"].title = " Patients"
    workbook.create_sheet("README")
    workbook.save(path)
    data = load_dataset(path)
    assert_dataset_equals(data, typed_base())
    assert data.warnings == ("ignored sheet not in the data contract: README",)


# ---------------------------------------------------------------------------------------
# Parquet


def test_parquet_with_typed_columns_loads(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_tables(typed_base(), folder, "parquet")
    patients = pq.read_table(folder / "patients.parquet")
    assert patients.schema.field("consent_date").type == pa.date32()
    assert patients.schema.field("pregnant").type == pa.bool_()
    assert_dataset_equals(load_dataset(folder), typed_base())


def test_parquet_with_text_columns_loads(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    for table, rows in base_rows().items():
        frame = pd.DataFrame(rows, columns=list(schema.TABLES[table].column_names)).fillna("")
        pq.write_table(pa.Table.from_pandas(frame.astype(str), preserve_index=False), folder / f"{table}.parquet")
    assert_dataset_equals(load_dataset(folder), typed_base())


def test_parquet_timestamps_dictionary_text_and_float_integers_load(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    typed = typed_base()
    write_tables(typed, folder, "parquet")
    patients = pq.read_table(folder / "patients.parquet")
    consent = pa.array([dt.datetime(2025, 3, 1), dt.datetime(2025, 3, 1)], type=pa.timestamp("us"))
    patients = patients.set_column(patients.schema.get_field_index("consent_date"), "consent_date", consent)
    sex = pa.array(["Female", " male"]).dictionary_encode()
    patients = patients.set_column(patients.schema.get_field_index("sex"), "sex", sex)
    ecog = pa.array([1.0, None], type=pa.float64())
    patients = patients.set_column(patients.schema.get_field_index("ecog"), "ecog", ecog)
    pq.write_table(patients, folder / "patients.parquet")
    assert_dataset_equals(load_dataset(folder), typed)


def test_parquet_decimal_lab_values_stay_exact_at_a_limit(tmp_path: Path) -> None:
    # Audit 42C: ALT 102.6 U/L with ULN 34.2 is exactly 3 x ULN (spec: exact in decimal terms), a pass
    # from CSV; as Parquet decimal128 columns Arrow's cast to a double read 102.60000000000001, a fail.
    from decimal import Decimal

    from helpers import ELIGIBLE_LABS, case_tables
    from lifileucel_analysis.engine.screening import screen

    labs = [lab for lab in ELIGIBLE_LABS if lab["test"] != "alt"]
    labs.append({"test": "alt", "value": 102.6, "unit": "U/L", "uln": 34.2, "collected_date": "2025-02-20"})
    folder = tmp_path / "p"
    write_tables(case_tables(labs=labs, replace_labs=True), folder, "parquet")
    table = pq.read_table(folder / "labs.parquet")
    for name in ("value", "uln"):
        exact = [None if v is None else Decimal(repr(v)).quantize(Decimal("0.001")) for v in table[name].to_pylist()]
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(exact, pa.decimal128(12, 3)))
    pq.write_table(table, folder / "labs.parquet")
    assert pq.read_schema(folder / "labs.parquet").field("value").type == pa.decimal128(12, 3)
    outcomes = screen(load_dataset(folder)).outcomes.set_index("criterion_id")
    assert outcomes.loc["I7", "outcome"] == "pass"
    assert "ALT 102.6 U/L (ULN 34.2) on 2025-02-20 <= 3 x ULN = 102.6 U/L" in outcomes.loc["I7", "evidence"]


def test_parquet_list_struct_and_bytes_columns_are_refused(tmp_path: Path) -> None:
    # Audit 42C: a list<string> of agents was read as the text "['nivolumab' 'relatlimab']" and a binary
    # term as "b'colitis'"; neither is one value of the contract per cell.
    folder = tmp_path / "p"
    write_tables(typed_base(), folder, "parquet")
    patients = pq.read_table(folder / "patients.parquet")
    n = patients.num_rows
    patients = patients.set_column(patients.schema.get_field_index("site_id"), "site_id",
                                   pa.array([b"mskcc"] * n, pa.binary()))
    patients = patients.set_column(patients.schema.get_field_index("sex"), "sex",
                                   pa.array([["female"]] * n, pa.list_(pa.string())))
    pq.write_table(patients, folder / "patients.parquet")
    problems = [str(p) for p in load_error(folder).problems]
    assert problems == [
        "patients, column site_id: Parquet type binary holds no single value per cell: expected text, a number, "
        "a date or a boolean (several agents are one text: 'a+b')",
        "patients, column sex: Parquet type list<element: string> holds no single value per cell: expected text, a "
        "number, a date or a boolean (several agents are one text: 'a+b')"]


def test_parquet_timestamp_with_a_time_of_day_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_tables(typed_base(), folder, "parquet")
    patients = pq.read_table(folder / "patients.parquet")
    consent = pa.array([dt.datetime(2025, 3, 1, 23, 0), None], type=pa.timestamp("ms"))
    patients = patients.set_column(patients.schema.get_field_index("consent_date"), "consent_date", consent)
    pq.write_table(patients, folder / "patients.parquet")
    error = load_error(folder)
    assert [str(p) for p in error.problems] == [
        "patients row 1, column consent_date: value '2025-03-01 23:00:00': has a time of day: "
        "expected a date YYYY-MM-DD without time (patient_id 'P1')"]


def test_parquet_bad_typed_values_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_tables(typed_base(), folder, "parquet")
    patients = pq.read_table(folder / "patients.parquet")
    patients = patients.set_column(patients.schema.get_field_index("ecog"), "ecog", pa.array([7, 2.5]))
    patients = patients.set_column(patients.schema.get_field_index("sex"), "sex", pa.array([True, False]))
    pq.write_table(patients, folder / "patients.parquet")
    problems = {str(p) for p in load_error(folder).problems}
    assert problems == {
        "patients row 1, column ecog: value 7.0: out of range: expected a whole number >= 0 and <= 5 (patient_id 'P1')",
        "patients row 2, column ecog: value 2.5: not a whole number: expected a whole number >= 0 and <= 5 "
        "(patient_id 'P2')",
        # The booleans as the file has them (audit 23C: 'yes' and 'no' were named, which the site cannot find).
        "patients row 1, column sex: value 'true': unknown code: expected one of female, male (patient_id 'P1')",
        "patients row 2, column sex: value 'false': unknown code: expected one of female, male (patient_id 'P2')",
    }


# ---------------------------------------------------------------------------------------
# Formats agree: write_tables round trips


def tricky_tables() -> dict[str, pd.DataFrame]:
    """Typed tables with values that are easy to mangle: commas, quotes, '=' text, floats."""
    typed = typed_base()
    labs = pd.DataFrame({
        "patient_id": ["P1", "P1", "P2", "P2"],
        "test": ["hemoglobin", "total_bilirubin", "alt", "platelets"],
        "value": [0.1 + 0.2, 1e-7, 123456789.125, 2.0],
        "unit": ["g/dL", "umol/L", "U/L", "10^9/L"],
        "uln": [None, None, 33.3, None],
        "collected_date": ["2025-02-20", "2025-02-21", "1999-12-31", "2025-02-20"],
    })
    typed["labs"] = schema.coerce("labs", labs)
    toxicities = pd.DataFrame({
        "patient_id": ["P2", "P2", "P1"],
        "term": ['colitis, "severe"', "=cmd|' /C calc'!A0", "pneumonitis\nwith line break"],
        "category": ["other", "endocrine", None],
        "grade": [2, None, 5],
        "ongoing": ["yes", None, "no"],
    })
    typed["toxicities"] = schema.coerce("toxicities", toxicities)
    return typed


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_round_trip_through_each_format_gives_the_same_frames(tmp_path: Path, fmt: str) -> None:
    tables = tricky_tables()
    out = tmp_path / ("d.xlsx" if fmt == "xlsx" else "d")
    write_tables(tables, out, fmt)
    assert_dataset_equals(load_dataset(out), tables)


def test_the_three_formats_load_to_equal_frames(tmp_path: Path) -> None:
    tables = tricky_tables()
    loaded = []
    for fmt, out in (("csv", tmp_path / "c"), ("xlsx", tmp_path / "b.xlsx"), ("parquet", tmp_path / "p")):
        write_tables(tables, out, fmt)
        loaded.append(load_dataset(out))
    for table in schema.TABLES:
        pd.testing.assert_frame_equal(loaded[0].table(table), loaded[1].table(table))
        pd.testing.assert_frame_equal(loaded[0].table(table), loaded[2].table(table))


def test_validate_tables_accepts_typed_frames_in_memory() -> None:
    data = validate_tables(typed_base())
    assert_dataset_equals(data, typed_base())
    assert data.source == "in memory"


def test_validate_tables_reports_problems_in_memory() -> None:
    raw = {table: pd.DataFrame(rows, dtype=object) for table, rows in base_rows().items()}
    raw["patients"].loc[0, "ecog"] = 9
    raw["labs"].loc[0, "value"] = -1.0
    del raw["toxicities"]
    error = pytest.raises(ContractError, validate_tables, raw).value
    assert {str(p) for p in error.problems} == {
        # Each cell's problem names the row's patient: a coordinator searches for the ID, not the row.
        "patients row 1, column ecog: value '9': out of range: expected a whole number >= 0 and <= 5 (patient_id 'P1')",
        "labs row 1, column value: value '-1': out of range: expected a number >= 0 (patient_id 'P1')",
        "toxicities: missing table: the contract requires it (it may have no rows)",
    }


def test_large_parquet_dataset_loads_whole(tmp_path: Path) -> None:
    """50,000 patients and 350,000 lab rows load whole and typed (their speed is `make bench`'s, not a test's)."""
    n = 50_000
    ids = np.array([f"P{i:06d}" for i in range(n)], dtype=object)
    patients = pd.DataFrame([dict(PATIENT, patient_id="x")] * n)
    patients["patient_id"] = ids
    labs = pd.DataFrame({
        "patient_id": np.repeat(ids, 7),
        "test": np.tile(list(schema.LAB_TESTS), n),
        "value": np.tile([1.5, 150, 10, 30, 30, 1.0, 80], n),
        "unit": np.tile([schema.CANONICAL_UNIT[t] for t in schema.LAB_TESTS], n),
        "uln": np.tile([np.nan, np.nan, np.nan, 40, 40, np.nan, np.nan], n),
        "collected_date": "2025-02-20",
    })
    tables = {"patients": schema.coerce("patients", patients.replace("", None)), "labs": schema.coerce("labs", labs)}
    for table in ("therapies", "toxicities"):
        tables[table] = schema.empty_frame(table)
    write_tables(tables, tmp_path / "p", "parquet")
    data = load_dataset(tmp_path / "p")
    assert data.n_patients == n and len(data.labs) == 7 * n
    assert data.patients["patient_id"].tolist() == ids.tolist()
    ast = data.labs[data.labs["test"] == "ast"]
    assert len(ast) == n and ast["value"].eq(30).all() and ast["uln"].eq(40).all()
    assert data.labs["collected_date"].eq(pd.Timestamp("2025-02-20")).all()


def test_problem_messages_never_show_other_columns(tmp_path: Path) -> None:
    """A problem row names its own cell only: no neighbouring values (names) leak into messages."""
    rows = base_rows()
    for row in rows["patients"]:
        row["patient_name"] = "Jane Doe"
    rows["patients"][0]["ecog"] = "9"
    error = load_error(write_csv_dataset(tmp_path / "d", rows))
    assert "Jane Doe" not in str(error)
    assert re.search(r"patients row 1, column ecog: value '9'", str(error))


def test_workbook_value_right_of_the_header_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "d.xlsx", base_rows())
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook["toxicities"]
    sheet.cell(row=2, column=8, value="note: see chart")
    workbook.save(path)
    data = load_dataset(path)
    assert_dataset_equals(data, typed_base())
    assert data.warnings == ("toxicities: ignored 1 column without a header name",)


finite_values = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)
valid_ulns = st.floats(min_value=0, max_value=1e12, exclude_min=True, allow_nan=False, allow_infinity=False)
"""The contract refuses a ULN of 0 (every result would be above it); any other finite ULN is valid."""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(results=st.lists(st.tuples(finite_values, st.one_of(st.none(), valid_ulns)), min_size=1, max_size=8),
       fmt=st.sampled_from(["csv", "parquet"]))
def test_any_lab_value_survives_a_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                             results: list[tuple[float, float | None]], fmt: str) -> None:
    """Floats are written in their shortest exact form, so every value reads back equal."""
    tables = typed_base()
    n = len(results)
    tables["labs"] = schema.coerce("labs", pd.DataFrame({
        "patient_id": ["P1"] * n, "test": ["anc"] * n, "value": [value for value, _ in results],
        "unit": ["10^9/L"] * n, "uln": [uln for _, uln in results], "collected_date": ["2025-02-20"] * n,
    }))
    out = tmp_path_factory.mktemp("round_trip") / "d"
    write_tables(tables, out, fmt)
    assert_dataset_equals(load_dataset(out), tables)


@pytest.mark.parametrize("column", ["value", "unit"])
def test_a_blank_lab_value_or_unit_is_read_as_not_recorded(tmp_path: Path, column: str) -> None:
    """Not a contract break: the row loads with the cell blank (I7 then weighs every reading)."""
    rows = base_rows()
    rows["labs"][0][column] = ""
    dataset = load_dataset(write_csv_dataset(tmp_path / "d", rows))
    assert len(dataset.labs) == len(rows["labs"])
    assert pd.isna(dataset.labs[column].iloc[0])
    assert dataset.labs[column].iloc[1:].notna().all()


def test_a_problem_names_its_rows_patient_only_where_the_id_is_readable(tmp_path: Path) -> None:
    # Audit 22A: "patients row 2" counts rows under the header, which a spreadsheet shows as line 3;
    # the patient's ID is what a coordinator searches for. A row whose ID is itself wrong gets none.
    rows = base_rows()
    rows["patients"][0].update(sex="man")
    rows["patients"][1].update(patient_id="P 2", sex="woman")
    problems = [str(p) for p in load_error(write_csv_dataset(tmp_path / "d", rows)).problems]
    assert "patients row 1, column sex: value 'man': unknown code: expected one of female, male (patient_id 'P1')" \
        in problems
    assert "patients row 2, column sex: value 'woman': unknown code: expected one of female, male" in problems
    assert not any("patient_id 'P 2'" in p for p in problems)
