"""Data cuts: a screening sees only what was known on the cut date (issue 12)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from helpers import case_tables, concat_tables, lab_rows, override_row, patient_row, therapy_row, typed_tables
from lifileucel_analysis.cli import main
from lifileucel_analysis.contract.data_cut import CutDateError, apply_cut, parse_cut_date
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.report.screening_inputs import screen_files


def _dataset(tmp_path: Path) -> Path:
    """P001 (consent 2025-03-01) has platelets redrawn low on 03-10 and steroids waived on 03-12;
    P002 consents on 03-10; P003's second line ends on 03-08 after progression."""
    rows = {
        "patients": [patient_row("P001", steroid_mg_per_day=20.0), patient_row("P002", consent_date="2025-03-10"),
                     patient_row("P003")],
        "therapies": [therapy_row("P001"), therapy_row("P002"), therapy_row("P003"),
                      therapy_row("P003", line=2, agents="dabrafenib+trametinib", start_date="2025-01-10",
                                  end_date="2025-03-08", best_response="pr", stop_reason="progression")],
        "labs": [*lab_rows("P001"), *lab_rows("P002"), *lab_rows("P003"),
                 {"patient_id": "P001", "test": "platelets", "value": 50.0, "unit": "10^9/L", "uln": None,
                  "collected_date": "2025-03-10"}],
        "overrides": [override_row("P001", "E6", approved_date="2025-03-12")],
    }
    out = tmp_path / "data"
    write_tables(typed_tables(rows), out)
    return out


def _outcomes(inputs) -> dict[tuple[str, str], str]:
    frame = inputs.result.outcomes
    return dict(zip(zip(frame["patient_id"], frame["criterion_id"].astype(str)), frame["outcome"].astype(str)))


def test_same_patient_at_two_cuts_gets_the_data_known_at_each(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    early = screen_files(data, cut_date="2025-03-05")
    late = screen_files(data, cut_date="2025-03-15")
    before, after = _outcomes(early), _outcomes(late)
    # 03-05: the baseline platelets (220) count, the waiver does not exist yet
    assert before[("P001", "I7")] == "pass" and before[("P001", "E6")] == "fail"
    # 03-15: the redraw (50 < 100) counts, the waiver of 03-12 applies
    assert after[("P001", "I7")] == "fail" and after[("P001", "E6")] == "waived"
    # P003's line 2 was still running on 03-05: its end and stop reason were not known yet
    assert before[("P003", "I2")] == "fail" and after[("P003", "I2")] == "pass"
    assert list(early.result.verdicts["patient_id"]) == ["P001", "P003"]
    assert list(late.result.verdicts["patient_id"]) == ["P001", "P002", "P003"]
    assert early.cut.patients_set_aside == 1 and late.cut.patients_set_aside == 0
    assert early.cut.rows_set_aside == {"therapies": 0, "labs": 1, "overrides": 1}
    assert early.cut.dates_blanked["therapies.end_date"] == 1


def test_without_a_cut_every_row_counts(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    inputs = screen_files(data)
    assert inputs.cut is None
    assert _outcomes(inputs) == _outcomes(screen_files(data, cut_date="2025-12-31"))


def test_cut_on_the_day_keeps_that_day() -> None:
    tables = concat_tables([case_tables(patient_id="P001")])
    from lifileucel_analysis.contract.dataset import ScreeningDataset

    dataset = ScreeningDataset(**tables)
    kept, account = apply_cut(dataset, dt.date(2025, 3, 1))  # consent day itself
    assert len(kept.patients) == 1 and account.patients_set_aside == 0
    kept, account = apply_cut(dataset, dt.date(2025, 2, 28))
    assert len(kept.patients) == 0 and account.patients_set_aside == 1
    assert kept.labs.empty and kept.therapies.empty


@pytest.mark.parametrize("value", ["2025-13-01", "yesterday", "01/03/2025", "2025-02-30", "２０２５-01-01",
                                   # Audit 39C: Python 3.11's fromisoformat takes these; a cut typed so is a slip.
                                   "20250101", "2025-W01-1"])
def test_a_cut_date_that_is_not_a_date_is_refused(value: str) -> None:
    with pytest.raises(CutDateError, match="YYYY-MM-DD"):
        parse_cut_date(value)


@pytest.mark.parametrize("value", ["", " ", "20250101"])
def test_the_cli_refuses_a_blank_or_compact_cut_date(tmp_path: Path, value: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # Audit 39C: `--cut-date ""` (a script's empty variable) screened every row as if there were no cut.
    data = _dataset(tmp_path)
    compare = ["compare", str(data), "--criteria", "default", "--criteria", "default", "--out", str(tmp_path / "out")]
    for command in (["screen", str(data), "--out", str(tmp_path / "out")], compare):
        assert main([*command, "--cut-date", value]) == 2
        assert "YYYY-MM-DD" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_screen_command_writes_the_cut_beside_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _dataset(tmp_path)
    assert main(["screen", str(data), "--out", str(tmp_path / "out"), "--cut-date", "2025-03-05"]) == 0
    cut = pd.read_csv(tmp_path / "out" / "data_cut.csv", dtype=str).set_index("item")["value"]
    assert cut["cut_date"] == "2025-03-05" and cut["patients_consented_after_cut"] == "1"
    # Every patient of the file accounted for: 3 in = 1 set aside + 2 screened (review 28C).
    said = capsys.readouterr().out
    assert ("3 patients in the dataset: 1 consented after the data cut 2025-03-05 (set aside, not screened), "
            "2 screened.\nscreened 2 patients in, 2 verdicts out") in said
    assert main(["screen", str(data), "--out", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out" / "data_cut.csv").exists()  # an uncut run must not carry an old cut
    assert main(["screen", str(data), "--out", str(tmp_path / "bad"), "--cut-date", "2025-02-30"]) == 2
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize(("cut", "note"), [
    ("2026-03-10", None),  # 365 days after the latest consent (P002, 2025-03-10): a year's pause, said nothing
    ("2026-03-11", "note: the data cut 2026-03-11 is 366 days after the latest consent date (2025-03-10): is its "
                   "year right? Days pending and NMA-LD status (date passed or scheduled) are counted to the cut date"),
])
def test_a_cut_years_after_the_data_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: str,
                                            note: str | None) -> None:
    # Review 29E: --cut-date 2031-01-01 was taken silently ("days pending 3088"). Still accepted (no
    # wall clock is read to call a date the future), but said, from a plain and a bucketed screen alike.
    data = _dataset(tmp_path)
    assert main(["partition", str(data), "--buckets", "2", "--out", str(tmp_path / "buckets")]) == 0
    capsys.readouterr()
    for source, out in ((data, "plain"), (tmp_path / "buckets", "bucketed")):
        assert main(["screen", str(source), "--out", str(tmp_path / out), "--cut-date", cut]) == 0
        notes = [line for line in capsys.readouterr().err.splitlines() if "the data cut" in line]
        assert notes == ([] if note is None else [note]), out
