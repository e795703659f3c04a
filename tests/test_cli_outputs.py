"""`lifileucel-eap screen` long tables: CSV or Parquet, the same content either way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import lab_rows, override_row, patient_row, small_dataset, therapy_row, typed_tables

from lifileucel_analysis import cli
from lifileucel_analysis.contract import output_files
from lifileucel_analysis.contract.writing import write_tables


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data") / "csv"
    write_tables(small_dataset(), root, "csv")
    return root


def test_parquet_and_csv_hold_the_same_tables(dataset: Path, tmp_path: Path) -> None:
    assert cli.main(["screen", str(dataset), "--out", str(tmp_path / "csv"), "--long-format", "csv"]) == 0
    assert cli.main(["screen", str(dataset), "--out", str(tmp_path / "pq"), "--long-format", "parquet"]) == 0
    assert sorted(p.name for p in (tmp_path / "pq").iterdir() if not p.name.startswith(("worklist-", "fields-"))) == [
        "criteria_used.csv", "findings.csv", "missing_data.parquet", "outcomes.parquet", "verdicts.csv", "waivers.csv"]
    for stem in ("outcomes", "missing_data"):
        from_csv = pd.read_csv(tmp_path / "csv" / f"{stem}.csv", keep_default_na=False, dtype=str)
        from_parquet = pd.read_parquet(tmp_path / "pq" / f"{stem}.parquet").astype(str)
        assert len(from_csv) == len(from_parquet) > 0
        assert from_csv.to_dict("records") == from_parquet.to_dict("records")
    assert (tmp_path / "csv" / "verdicts.csv").read_bytes() == (tmp_path / "pq" / "verdicts.csv").read_bytes()


def test_auto_switches_to_parquet_above_the_row_limit(dataset: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.main(["screen", str(dataset), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "outcomes.csv").exists()
    monkeypatch.setattr(output_files, "PARQUET_ABOVE_ROWS", 3 * 19 - 1)  # 3 patients x 19 criteria
    assert cli.main(["screen", str(dataset), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "outcomes.parquet").exists()
    assert not (tmp_path / "outcomes.csv").exists(), "an earlier run's CSV would pass for this run's outcomes"
    assert (tmp_path / "missing_data.csv").exists(), "missing data has 1 row: below the limit, still CSV"


def test_long_table_name() -> None:
    assert output_files.long_table_name("outcomes", 10, "auto") == "outcomes.csv"
    assert output_files.long_table_name("outcomes", output_files.PARQUET_ABOVE_ROWS + 1, "auto") == "outcomes.parquet"
    assert output_files.long_table_name("outcomes", 10, "parquet") == "outcomes.parquet"
    assert output_files.long_table_name("outcomes", 10**9, "csv") == "outcomes.csv"


def test_screen_says_what_the_loader_set_aside(dataset: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    extra = tmp_path / "data"
    extra.mkdir()
    for path in dataset.iterdir():
        (extra / path.name).write_bytes(path.read_bytes())
    patients = pd.read_csv(extra / "patients.csv", dtype=str, keep_default_na=False)
    patients["mrn"] = "MRN-0042"
    patients.to_csv(extra / "patients.csv", index=False)
    (extra / "notes.csv").write_text("anything\n1\n")
    assert cli.main(["screen", str(extra), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "note:" in err and "mrn" in err and "notes.csv" in err
    assert "MRN-0042" not in err, "a note names the column, never its values"
    assert "MRN-0042" not in (tmp_path / "out" / "verdicts.csv").read_text()


def test_worklists_open_in_excel_as_utf8_and_machine_files_stay_plain(tmp_path: Path) -> None:
    # Audit, session 16: a site's "érythème" came out garbled when the worklist was
    # double-clicked into Excel, which reads UTF-8 without a byte-order mark in the local code page.
    tables = small_dataset()
    pending = tables["patients"].index[0]
    tables["patients"].loc[pending, "ecog"] = pd.NA  # pending: in its site's worklist
    write_tables(tables, tmp_path / "data", "csv")
    toxicities = pd.read_csv(tmp_path / "data" / "toxicities.csv", dtype=str, keep_default_na=False)
    row = {"patient_id": tables["patients"].loc[pending, "patient_id"], "term": "érythème", "category": "",
           "grade": "2", "ongoing": "yes"}  # category blank: E2 asks for it by its term
    pd.concat([toxicities, pd.DataFrame([row])], ignore_index=True).to_csv(tmp_path / "data" / "toxicities.csv",
                                                                          index=False)
    assert cli.main(["screen", str(tmp_path / "data"), "--out", str(tmp_path / "out")]) == 0
    worklists = sorted((tmp_path / "out").glob("worklist-*.csv"))
    fields = sorted((tmp_path / "out").glob("fields-*.csv"))  # the coordinator's sheet to fill in (review 26C)
    assert worklists and len(fields) == len(worklists)
    assert all(path.read_bytes().startswith(b"\xef\xbb\xbfpatient,") for path in worklists + fields)
    assert any("érythème" in path.read_text(encoding="utf-8-sig") for path in worklists)
    assert any("érythème" in path.read_text(encoding="utf-8-sig") for path in fields)
    for name in ("verdicts.csv", "outcomes.csv", "missing_data.csv", "findings.csv", "waivers.csv"):
        assert (tmp_path / "out" / name).read_bytes().startswith(b"patient_id"), name


def test_waivers_csv_lists_each_documented_waiver_in_input_order(tmp_path: Path) -> None:
    # Review 23E: waivers.csv was only compared between ways of screening; here its rows are typed out.
    patients = [patient_row("P2", ecog=2), patient_row("P1", steroid_mg_per_day=15)]
    overrides = [override_row("P1", "E6"), override_row("P2", "E4", approved_date=None, reason="second look"),
                 override_row("P2", "I6", approved_by="principal investigator"),
                 override_row("P1", "I4", approved_by=None)]  # no approver: applied and listed (session 30)
    tables = typed_tables({"patients": patients, "therapies": [therapy_row(p) for p in ("P2", "P1")],
                           "labs": lab_rows("P2") + lab_rows("P1"), "overrides": overrides})
    write_tables(tables, tmp_path / "data", "csv")
    assert cli.main(["screen", str(tmp_path / "data"), "--out", str(tmp_path / "out")]) == 0
    written = pd.read_csv(tmp_path / "out" / "waivers.csv", dtype=str, keep_default_na=False)
    assert list(written.columns) == ["patient_id", "site_id", "criterion_id", "original_outcome", "original_evidence",
                                     "approved_by", "approved_date", "reason"]
    reason = "treating physician's documented judgement"
    assert written.values.tolist() == [
        ["P2", "honorhealth", "I6", "fail", "ECOG 2 > 1", "principal investigator", "2025-03-02", reason],
        ["P2", "honorhealth", "E4", "pass", "no hypersensitivity to the regimen", "medical monitor", "", "second look"],
        ["P1", "honorhealth", "I4", "pass", "resectable lesion (cm) 2 >= 1.5", "", "2025-03-02", reason],
        ["P1", "honorhealth", "E6", "fail", "steroid 15 mg/day > 10", "medical monitor", "2025-03-02", reason],
    ]

