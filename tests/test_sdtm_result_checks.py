"""The SDTM export of a ``screen`` result folder refuses a folder that is not one screen's output.

One outcome row per patient and criterion (a duplicated row gave IE a duplicate USUBJID +
IETESTCD key; a deleted one dropped a failed criterion from IE while ``verdicts.csv`` still named
it), and ``verdicts.csv``'s ``failed``, ``unknown`` and ``waived`` lists as the outcomes give them
(review 28, finding 5). A refusal exits 2, names the file, row, column, value and what is allowed,
and writes nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import middle_consent_date

from lifileucel_analysis.cli import main
from lifileucel_analysis.paths import DEMO_DATASET, PARAMS_DIR
from lifileucel_analysis.report.sdtm import sdtm_domains

STUDYID = "IOV-LN144-EAP"


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's screen output folder."""
    folder = tmp_path_factory.mktemp("screen") / "screened"
    assert main(["screen", str(DEMO_DATASET), "--out", str(folder)]) == 0
    return folder


def copy_of(screened: Path, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A copy of the result folder at ``folder``; its verdicts and outcomes to edit."""
    shutil.copytree(screened, folder)
    return read_csv(folder / "verdicts.csv"), read_csv(folder / "outcomes.csv")


def refused(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Export ``folder``; assert exit 2 and nothing written; return the message."""
    out = tmp_path / "sdtm"
    assert main(["sdtm", str(folder), "--out", str(out), "--studyid", STUDYID]) == 2
    assert not out.exists()
    return capsys.readouterr().err


def test_the_demo_folder_is_accepted(screened: Path, tmp_path: Path) -> None:
    assert main(["sdtm", str(screened), "--out", str(tmp_path / "sdtm"), "--studyid", STUDYID]) == 0


def test_a_duplicated_outcome_row_is_refused(screened: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "dup"
    _, outcomes = copy_of(screened, folder)
    failed = int((outcomes["outcome"] == "fail").to_numpy().argmax())
    doubled = pd.concat([outcomes.iloc[:failed + 1], outcomes.iloc[failed:]], ignore_index=True)
    doubled.to_csv(folder / "outcomes.csv", index=False)
    err = refused(folder, tmp_path, capsys)
    criterion = outcomes.loc[failed, "criterion_id"]
    assert f"outcomes.csv: row {failed + 2}, column criterion_id: value '{criterion}'" in err, err
    assert "one outcome row per patient and criterion" in err


def test_a_deleted_outcome_row_is_refused(screened: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "deleted"
    verdicts, outcomes = copy_of(screened, folder)
    # A failed criterion of a patient with two: the verdict stays right, IE would lose one.
    fails = outcomes[outcomes["outcome"] == "fail"]
    patient = fails["patient_id"].value_counts().index[0]
    gone = fails[fails["patient_id"] == patient].index[-1]
    outcomes.drop(index=gone).to_csv(folder / "outcomes.csv", index=False)
    err = refused(folder, tmp_path, capsys)
    row = int(verdicts.index[verdicts["patient_id"] == patient][0]) + 1
    assert f"verdicts.csv: row {row}, column patient_id: value '{patient}'" in err, err
    assert "one row in outcomes.csv per criterion (19: I1" in err
    assert f"without {outcomes.loc[gone, 'criterion_id']}" in err


@pytest.mark.parametrize("column", ["failed", "unknown", "waived"])
def test_a_criteria_list_the_outcomes_contradict_is_refused(screened: Path, tmp_path: Path, column: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / column
    verdicts, _ = copy_of(screened, folder)
    row = int((verdicts[column] != "").to_numpy().argmax())
    value = verdicts.loc[row, column]
    verdicts.loc[row, column] = value.split(";")[0] + ";E9" if value.split(";")[-1] != "E9" else "I1"
    verdicts.to_csv(folder / "verdicts.csv", index=False)
    err = refused(folder, tmp_path, capsys)
    assert f"verdicts.csv: row {row + 1}, column {column}: value '{verdicts.loc[row, column]}'" in err, err
    assert "joined by ';' in catalog order" in err


def test_a_verdicts_file_without_the_criteria_lists_is_refused(screened: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "old"
    verdicts, _ = copy_of(screened, folder)
    verdicts.drop(columns=["waived"]).to_csv(folder / "verdicts.csv", index=False)
    assert "missing column waived" in refused(folder, tmp_path, capsys)


def test_a_folder_screened_with_other_criteria_is_refused_and_accepted_with_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A what-if screen (steroids up to 20 mg/day) exported with the default criteria: TI would say
    # "> 10 mg/day" beside an IE built on 20 (review 28, finding 4).
    what_if = PARAMS_DIR / "criteria" / "what-if-steroid-20.yaml"
    folder = tmp_path / "what-if"
    assert main(["screen", str(DEMO_DATASET), "--out", str(folder), "--params", str(what_if)]) == 0
    recorded = read_csv(folder / "criteria_used.csv").set_index("item")["value"]
    assert recorded["parameters_file"] == "what-if-steroid-20.yaml"
    assert recorded["criteria_version"] == yaml.safe_load(what_if.read_text(encoding="utf-8"))["version"]
    err = refused(folder, tmp_path, capsys)
    assert "criteria_used.csv: item params_sha256" in err and "what-if-steroid-20.yaml" in err, err
    assert "pass --criteria with the file screen was given" in err
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "ok"), "--studyid", STUDYID,
                 "--criteria", str(what_if)]) == 0
    assert "criteria_used.csv" not in capsys.readouterr().err  # checked, so no note


def test_a_folder_without_its_criteria_record_is_exported_with_a_note(
        screened: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "older"
    copy_of(screened, folder)
    (folder / "criteria_used.csv").unlink()  # as a folder screened before session 28
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "sdtm"), "--studyid", STUDYID]) == 0
    assert "has no criteria_used.csv" in capsys.readouterr().err
    # The library says so on its result (the CLI prints it); a folder with the record is checked.
    assert sdtm_domains(folder, STUDYID).criteria_checked is False
    assert sdtm_domains(screened, STUDYID).criteria_checked is True


def screened_with(criteria_text: str, tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A criteria file holding ``criteria_text`` and the demo's screen folder under it: (file, folder)."""
    criteria = tmp_path / f"{name}.yaml"
    criteria.write_text(criteria_text, encoding="utf-8")
    folder = tmp_path / name
    assert main(["screen", str(DEMO_DATASET), "--out", str(folder), "--params", str(criteria)]) == 0
    return criteria, folder


def test_a_criteria_version_the_csv_writer_quotes_is_matched_as_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # "-draft 2" is stored as "'-draft 2" (a spreadsheet would run it as a formula); the export with the
    # same file must still match it (review 28b: it was refused).
    criteria, folder = screened_with("version: '-draft 2'\n", tmp_path, "draft")
    assert "'-draft 2" in (folder / "criteria_used.csv").read_text(encoding="utf-8")
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "sdtm"), "--studyid", STUDYID,
                 "--criteria", str(criteria)]) == 0
    assert "-draft 2" in (tmp_path / "sdtm" / "ti.csv").read_text(encoding="utf-8")


def test_an_edited_criteria_record_is_refused_with_its_row(screened: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "twice"
    copy_of(screened, folder)
    record = read_csv(folder / "criteria_used.csv")
    pd.concat([record, record.iloc[[0]]], ignore_index=True).to_csv(folder / "criteria_used.csv", index=False)
    err = refused(folder, tmp_path, capsys)
    # Four items since session 39 (criteria_off): the repeated first one is row 5.
    assert "criteria_used.csv: row 5, column item: value 'criteria_version'" in err, err
    record.iloc[[0]].to_csv(folder / "criteria_used.csv", index=False)
    assert "no row for items parameters_file, params_sha256" in refused(folder, tmp_path, capsys)


def test_a_folder_screened_at_a_cut_is_exported_with_its_dataset_at_that_cut(tmp_path: Path) -> None:
    # The dataset holds patients consented after the cut, which the folder's screen set aside; --dataset
    # is read at the folder's cut, so they are not refused as strangers (review 28b: exit 2).
    cut = middle_consent_date(DEMO_DATASET)
    folder = tmp_path / "cut"
    assert main(["screen", str(DEMO_DATASET), "--out", str(folder), "--cut-date", cut]) == 0
    screened = set(read_csv(folder / "verdicts.csv")["patient_id"])
    assert 0 < len(screened) < len(read_csv(DEMO_DATASET / "patients.csv"))
    out = tmp_path / "sdtm"
    assert main(["sdtm", str(folder), "--dataset", str(DEMO_DATASET), "--out", str(out), "--studyid", STUDYID]) == 0
    assert set(read_csv(out / "dm.csv")["SUBJID"]) == screened


def test_at_a_cut_another_extract_or_an_edited_cut_record_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = middle_consent_date(DEMO_DATASET)
    folder = tmp_path / "cut"
    assert main(["screen", str(DEMO_DATASET), "--out", str(folder), "--cut-date", cut]) == 0
    # A later extract: one more patient, consented after the cut, so the same patients at the cut
    # (review 28c: it was accepted); the folder's cut record counted one patient fewer in the dataset.
    later = tmp_path / "later"
    shutil.copytree(DEMO_DATASET, later)
    patients = read_csv(later / "patients.csv")
    extra = patients.iloc[[0]].assign(patient_id="EAP-999999", consent_date="2099-01-01")
    pd.concat([patients, extra], ignore_index=True).to_csv(later / "patients.csv", index=False)
    out = tmp_path / "sdtm"
    args = ["sdtm", str(folder), "--dataset", str(later), "--out", str(out), "--studyid", STUDYID]
    assert main(args) == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "data_cut.csv: item patients_in_dataset is" in err and "give the dataset this folder was screened" in err
    # A cut record with its date twice names the row.
    record = read_csv(folder / "data_cut.csv")
    pd.concat([record, record.iloc[[0]]], ignore_index=True).to_csv(folder / "data_cut.csv", index=False)
    assert main([*args[:3], str(DEMO_DATASET), *args[4:]]) == 2
    assert f"data_cut.csv: row {len(record) + 1}, column item: value 'cut_date'" in capsys.readouterr().err


def test_a_version_written_with_a_leading_quote_matches_its_own_file(tmp_path: Path) -> None:
    criteria = tmp_path / "apos.yaml"
    criteria.write_text("version: \"'-draft 3\"\n", encoding="utf-8")
    folder = tmp_path / "apos"
    assert main(["screen", str(DEMO_DATASET), "--out", str(folder), "--params", str(criteria)]) == 0
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "sdtm"), "--studyid", STUDYID,
                 "--criteria", str(criteria)]) == 0


def test_a_folder_screened_with_a_criterion_switched_off_is_refused_with_the_defaults(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Audit 39C: a file switching E6 off, without a version label, recorded the defaults' version and
    # limits hash, so an export with the defaults passed the check and TI listed E6 as applied.
    off, folder = screened_with("criteria_off: [E6]\n", tmp_path, "e6-off")
    default = tmp_path / "default"
    assert main(["screen", str(DEMO_DATASET), "--out", str(default)]) == 0
    off_items = [read_csv(f / "criteria_used.csv").set_index("item")["value"]["criteria_off"]
                 for f in (folder, default)]
    assert off_items == ["E6", ""]
    err = refused(folder, tmp_path, capsys)
    assert "criteria_used.csv: item criteria_off is 'E6'" in err and "e6-off.yaml" in err, err
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "ok"), "--studyid", STUDYID,
                 "--criteria", str(off)]) == 0
    # A folder written before session 39 has no criteria_off row: exported with its own file, as before.
    record = read_csv(folder / "criteria_used.csv")
    record[record["item"] != "criteria_off"].to_csv(folder / "criteria_used.csv", index=False)
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "old"), "--studyid", STUDYID,
                 "--criteria", str(off)]) == 0


def test_a_folder_screened_with_a_site_drug_file_says_so_and_exports(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # Audit 39C: nothing in the output folder said that a drug file had decided I2, I3 and E1.
    import hashlib

    drugs = tmp_path / "site-drugs.csv"
    drugs.write_text("agent,drug_class\ninvestigational-x,anti-pd-1\n", encoding="utf-8")
    folder = tmp_path / "with-drugs"
    assert main(["screen", str(DEMO_DATASET), "--out", str(folder), "--drugs", str(drugs)]) == 0
    recorded = read_csv(folder / "criteria_used.csv").set_index("item")["value"]
    assert recorded["drugs_file"] == "site-drugs.csv"
    assert recorded["drugs_sha256"] == hashlib.sha256(drugs.read_bytes()).hexdigest()
    plain = tmp_path / "plain"
    assert main(["screen", str(DEMO_DATASET), "--out", str(plain)]) == 0
    assert "drugs_file" not in read_csv(plain / "criteria_used.csv")["item"].tolist()  # unchanged without one
    # The drug items are not TI's: the export with the criteria screen was given passes.
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "sdtm"), "--studyid", STUDYID]) == 0
    assert "criteria_used.csv" not in capsys.readouterr().err
