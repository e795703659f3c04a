"""SDTM DS (disposition): every screened subject's consent milestone, and a screen failure event for
each ineligible subject, read back from SAS transport v5.

Expectations are written by hand from SDTMIG's DS domain (variables and order, DSCAT ``PROTOCOL
MILESTONE`` / ``DISPOSITION EVENT``, DSDECOD ``INFORMED CONSENT OBTAINED`` / ``SCREEN FAILURE``,
EPOCH ``SCREENING``) and from the ``screen`` command's own output files, not from the DS module.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from helpers import SDTM_STUDYID, read_text_csv, study_char_lengths

from lifileucel_analysis.cli import main
from lifileucel_analysis.paths import DEMO_DATASET
from lifileucel_analysis.report.sdtm_disposition import ds_domain

DS_VARIABLES = ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "EPOCH", "DSSTDTC"]
DS_LABELS = ["Study Identifier", "Domain Abbreviation", "Unique Subject Identifier", "Sequence Number",
             "Reported Term for the Disposition Event", "Standardized Disposition Term",
             "Category for Disposition Event", "Epoch", "Start Date/Time of Disposition Event"]
CONSENT = ["INFORMED CONSENT OBTAINED", "INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "SCREENING"]
"""DSTERM, DSDECOD, DSCAT, EPOCH of the consent milestone."""


def test_ds_records_of_an_eligible_a_pending_an_ineligible_and_an_unconsented_subject() -> None:
    subjects = pd.DataFrame({"patient_id": ["P-ELIG", "P-PEND", "P-INEL", "P-NODATE"],
                             "consent": ["2025-01-02", "2025-02-03", "2025-03-04", ""]})
    verdicts = pd.DataFrame({"patient_id": ["P-INEL", "P-NODATE", "P-ELIG", "P-PEND"],
                             "verdict": ["ineligible", "ineligible", "eligible", "pending"]})
    outcomes = pd.DataFrame({  # criteria in a shuffled order; a waived fail is not a failure
        "patient_id": ["P-INEL", "P-INEL", "P-INEL", "P-INEL", "P-NODATE", "P-PEND", "P-ELIG", "P-PEND"],
        "criterion_id": ["E3", "I7", "I4", "E6", "I1", "I4", "I2", "E5"],
        "outcome": ["fail", "unknown", "fail", "waived", "fail", "unknown", "pass", "waived"]})
    ds = ds_domain(subjects, verdicts, outcomes, "S-1")
    expected = pd.DataFrame([
        ["S-1", "DS", "S-1-P-ELIG", 1, *CONSENT, "2025-01-02"],
        ["S-1", "DS", "S-1-P-INEL", 1, *CONSENT, "2025-03-04"],
        ["S-1", "DS", "S-1-P-INEL", 2, "SCREEN FAILURE: INCLUSION I4 NOT MET; EXCLUSION E3 MET", "SCREEN FAILURE", "DISPOSITION EVENT",
         "SCREENING", "2025-03-04"],  # dated as IE's IEDTC: the consent date (the screening visit)
        ["S-1", "DS", "S-1-P-NODATE", 1, *CONSENT, ""],  # consent not recorded: blank, not a guess
        ["S-1", "DS", "S-1-P-NODATE", 2, "SCREEN FAILURE: INCLUSION I1 NOT MET", "SCREEN FAILURE", "DISPOSITION EVENT",
         "SCREENING", ""],
        ["S-1", "DS", "S-1-P-PEND", 1, *CONSENT, "2025-02-03"],  # pending: screening has not ended
    ], columns=DS_VARIABLES).astype({"DSSEQ": "int64"})
    pd.testing.assert_frame_equal(ds, expected)


def test_dsterm_says_inclusion_criteria_not_met_and_exclusion_criteria_met() -> None:
    # Review 28: "SCREEN FAILURE: I1, I7, E10, E11 NOT MET" called the exclusion criteria not met, where IE
    # records them met (IEORRES Y). Each part only where present; every criterion failed still fits XPT's 200.
    everything = [f"I{n}" for n in range(1, 9)] + [f"E{n}" for n in range(1, 12)]
    patients = ["P-BOTH"] * 4 + ["P-EXCL"] + ["P-ALL"] * 19
    criteria = ["E11", "I7", "E10", "I1", "E4", *reversed(everything)]
    subjects = pd.DataFrame({"patient_id": ["P-BOTH", "P-EXCL", "P-ALL"], "consent": ["2025-01-02"] * 3})
    verdicts = pd.DataFrame({"patient_id": ["P-BOTH", "P-EXCL", "P-ALL"], "verdict": ["ineligible"] * 3})
    outcomes = pd.DataFrame({"patient_id": patients, "criterion_id": criteria, "outcome": "fail"})
    ds = ds_domain(subjects, verdicts, outcomes, "S-1")
    terms = ds[ds["DSSEQ"] == 2].set_index("USUBJID")["DSTERM"]
    assert terms["S-1-P-BOTH"] == "SCREEN FAILURE: INCLUSION I1, I7 NOT MET; EXCLUSION E10, E11 MET"
    assert terms["S-1-P-EXCL"] == "SCREEN FAILURE: EXCLUSION E4 MET"
    longest = terms["S-1-P-ALL"]
    assert longest == ("SCREEN FAILURE: INCLUSION I1, I2, I3, I4, I5, I6, I7, I8 NOT MET; "
                       "EXCLUSION E1, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11 MET")
    assert longest.isascii() and len(longest) <= 200


def test_ds_of_no_subjects_is_empty_with_its_variables() -> None:
    none = pd.DataFrame({"patient_id": pd.Series([], dtype=str), "consent": pd.Series([], dtype=str)})
    ds = ds_domain(none, pd.DataFrame({"patient_id": [], "verdict": []}),
                   pd.DataFrame({"patient_id": [], "criterion_id": [], "outcome": []}), "S-1")
    assert ds.empty and list(ds.columns) == DS_VARIABLES


def test_ds_reads_back_from_xpt_with_sdtm_variables_labels_and_types(demo_sdtm: dict[str, Path]) -> None:
    path = demo_sdtm["dataset"] / "ds.xpt"
    data, meta = pyreadstat.read_xport(str(path))
    csv = read_text_csv(demo_sdtm["dataset"] / "ds.csv")
    assert meta.table_name == "DS" and meta.file_label == "Disposition"
    assert list(data.columns) == DS_VARIABLES and meta.column_labels == DS_LABELS
    assert all(len(label) <= 40 for label in meta.column_labels)
    assert meta.readstat_variable_types["DSSEQ"] == "double" and meta.variable_storage_width["DSSEQ"] == 8
    assert data["DSSEQ"].tolist() == [float(v) for v in csv["DSSEQ"]]
    lengths = study_char_lengths(demo_sdtm["dataset"])["DS"]
    for name in DS_VARIABLES:
        if name != "DSSEQ":
            assert meta.readstat_variable_types[name] == "string", name
            assert meta.variable_storage_width[name] == lengths[name] <= 200, name
            assert data[name].fillna("").tolist() == csv[name].tolist(), name
            assert all(value.isascii() for value in csv[name]), name
    frame = pd.read_sas(path, format="xport", encoding="ascii")
    assert list(frame.columns) == DS_VARIABLES and len(frame) == len(csv) > 0
    assert frame["USUBJID"].tolist() == csv["USUBJID"].tolist()
    define = read_text_csv(demo_sdtm["dataset"] / "define.csv")
    rows = define[(define["dataset"] == "DS") & (define["where"] == "")]
    assert rows["variable"].tolist() == DS_VARIABLES and rows["label"].tolist() == DS_LABELS
    assert [int(x) for x in rows["length"]] == [meta.variable_storage_width[v] for v in DS_VARIABLES]


def test_every_dm_subject_is_in_ds_with_its_consent_and_each_ineligible_one_fails(demo_sdtm: dict[str, Path]) -> None:
    ds, dm = read_text_csv(demo_sdtm["dataset"] / "ds.csv"), read_text_csv(demo_sdtm["dataset"] / "dm.csv")
    verdicts = read_text_csv(demo_sdtm["screened"] / "verdicts.csv").set_index("patient_id")["verdict"]
    outcomes = read_text_csv(demo_sdtm["screened"] / "outcomes.csv")
    patients = read_text_csv(DEMO_DATASET / "patients.csv").set_index("patient_id")
    # N in = N out: the same subjects in DM and DS, each with one consent milestone first.
    assert sorted(set(ds["USUBJID"])) == dm["USUBJID"].tolist() and len(dm) == len(patients)
    milestones = ds[ds["DSCAT"] == "PROTOCOL MILESTONE"]
    assert milestones["USUBJID"].tolist() == dm["USUBJID"].tolist()
    assert (milestones[["DSTERM", "DSDECOD", "DSCAT", "EPOCH"]] == CONSENT).all().all()
    assert (milestones["DSSEQ"] == "1").all()
    subject = milestones["USUBJID"].str.removeprefix(SDTM_STUDYID + "-")
    assert milestones["DSSTDTC"].tolist() == patients.loc[subject, "consent_date"].tolist()
    # One screen failure per ineligible subject, naming its failed criteria in protocol order.
    failures = ds[ds["DSCAT"] == "DISPOSITION EVENT"]
    ineligible = sorted(verdicts.index[verdicts == "ineligible"])
    assert failures["USUBJID"].str.removeprefix(SDTM_STUDYID + "-").tolist() == ineligible
    assert (failures[["DSDECOD", "EPOCH", "DSSEQ"]] == ["SCREEN FAILURE", "SCREENING", "2"]).all().all()
    # Dated as IE dates the same failed criteria (IEDTC): the consent date.
    ie = read_text_csv(demo_sdtm["dataset"] / "ie.csv").drop_duplicates("USUBJID").set_index("USUBJID")["IEDTC"]
    assert failures["DSSTDTC"].tolist() == ie.loc[failures["USUBJID"]].tolist()
    assert failures["DSSTDTC"].tolist() == patients.loc[failures["USUBJID"].str.removeprefix(SDTM_STUDYID + "-"),
                                                        "consent_date"].tolist()
    failed = outcomes[outcomes["outcome"] == "fail"]
    order = [f"I{n}" for n in range(1, 9)] + [f"E{n}" for n in range(1, 12)]
    for usubjid, term in zip(failures["USUBJID"], failures["DSTERM"]):
        ids = failed.loc[failed["patient_id"] == usubjid.removeprefix(SDTM_STUDYID + "-"), "criterion_id"]
        inclusion = [c for c in order if c in set(ids) and c.startswith("I")]
        exclusion = [c for c in order if c in set(ids) and c.startswith("E")]
        parts = ([f"INCLUSION {', '.join(inclusion)} NOT MET"] if inclusion else []) + (
            [f"EXCLUSION {', '.join(exclusion)} MET"] if exclusion else [])
        assert term == "SCREEN FAILURE: " + "; ".join(parts), usubjid
        assert term.isascii() and len(term) <= 200
    assert any(", " in term for term in failures["DSTERM"])  # the demo has a subject failing two criteria
    # Sorted by the keys, the milestone first.
    keys = list(zip(ds["USUBJID"], ds["DSSEQ"].astype(int)))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_ds_is_byte_identical_across_runs(demo_sdtm: dict[str, Path], tmp_path: Path) -> None:
    time.sleep(1.1)  # a writer stamping the wall-clock time would now differ
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(tmp_path), "--studyid", SDTM_STUDYID]) == 0
    for name in ("ds.xpt", "ds.csv"):
        assert (tmp_path / name).read_bytes() == (demo_sdtm["dataset"] / name).read_bytes(), name


def test_a_blank_consent_date_gives_a_milestone_without_a_date(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEMO_DATASET, data)
    patients = read_text_csv(data / "patients.csv")
    patients.loc[0, "consent_date"] = ""
    patients.to_csv(data / "patients.csv", index=False)
    assert main(["sdtm", str(data), "--out", str(tmp_path / "out"), "--studyid", SDTM_STUDYID]) == 0
    ds = read_text_csv(tmp_path / "out" / "ds.csv")
    rows = ds[ds["USUBJID"] == SDTM_STUDYID + "-" + patients.loc[0, "patient_id"]]
    assert rows[["DSSEQ", "DSCAT", "DSSTDTC"]].values.tolist() == [["1", "PROTOCOL MILESTONE", ""]]


def test_ds_needs_the_dataset_as_dm_does(demo_sdtm: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sdtm", str(demo_sdtm["screened"]), "--out", str(tmp_path / "alone"), "--studyid", SDTM_STUDYID]) == 0
    assert not (tmp_path / "alone" / "ds.xpt").exists() and not (tmp_path / "alone" / "ds.csv").exists()
    assert "DM, SUPPDM and DS" in capsys.readouterr().err
    assert main(["sdtm", str(demo_sdtm["screened"]), "--dataset", str(DEMO_DATASET), "--out", str(tmp_path / "with"),
                 "--studyid", SDTM_STUDYID]) == 0
    for name in ("ds.xpt", "ds.csv"):
        assert (tmp_path / "with" / name).read_bytes() == (demo_sdtm["dataset"] / name).read_bytes(), name
