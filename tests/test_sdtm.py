"""SDTM exports: TI, IE and DV read back from SAS transport v5 with the right variables, types
and lengths, and IE following CDISC's rules.

Expectations come from the SDTM notes (variable names and order, IEORRES N for an inclusion
criterion not met and Y for an exclusion criterion met, ASCII text of at most 200
characters, names <= 8 and labels <= 40) and from the ``screen`` command's own output
files, not from the SDTM module.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from helpers import (SDTM_NUMERIC, lab_rows, override_row, patient_row, study_char_lengths, therapy_row,
                     toxicity_row, typed_tables)
from lifileucel_analysis.cli import main
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.contract.schema import CRITERION_IDS
from lifileucel_analysis.paths import DEMO_DATASET
from lifileucel_analysis.report.sdtm import ascii_text

STUDYID = "IOV-LN144-EAP"
EXPECTED_VARIABLES = {
    "TI": ["STUDYID", "DOMAIN", "IETESTCD", "IETEST", "IECAT", "TIRL", "TIVERS"],
    "IE": ["STUDYID", "DOMAIN", "USUBJID", "IESEQ", "IETESTCD", "IETEST", "IECAT", "IEORRES", "IESTRESC", "EPOCH",
           "IEDTC"],
    "DV": ["STUDYID", "DOMAIN", "USUBJID", "DVSEQ", "DVTERM", "DVDECOD", "DVCAT", "EPOCH", "DVSTDTC"],
    # SDTMIG 3.3 order, the Expected variables screening cannot fill as null columns (review 22G).
    "DM": ["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC",
           "RFPENDTC", "DTHDTC", "DTHFL", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ARMCD", "ARM", "ACTARMCD", "ACTARM",
           "ARMNRS", "ACTARMUD", "COUNTRY"],
    "SUPPDM": ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"],
    "DS": ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "EPOCH", "DSSTDTC"],
}
NUMERIC = SDTM_NUMERIC
RESULT_FILES = ["ti.xpt", "ti.csv", "ie.xpt", "ie.csv", "dv.xpt", "dv.csv", "define.csv", "codelists.csv"]
"""What an export from a screen result folder writes (no DM or DS: no sex, birth or consent dates)."""
FILES = [*RESULT_FILES, "dm.xpt", "dm.csv", "suppdm.xpt", "suppdm.csv", "ds.xpt", "ds.csv"]


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SDTM from the demo dataset, the demo's screen output folder, and that folder's verdicts; and
    the demo screened without its overrides (``unwaived``): what each waived criterion was before."""
    root = tmp_path_factory.mktemp("sdtm")
    assert main(["screen", str(DEMO_DATASET), "--out", str(root / "screened")]) == 0
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(root / "from_dataset"), "--studyid", STUDYID]) == 0
    assert main(["sdtm", str(root / "screened"), "--out", str(root / "from_result"), "--studyid", STUDYID]) == 0
    shutil.copytree(DEMO_DATASET, root / "no_overrides", ignore=shutil.ignore_patterns("overrides.csv"))
    assert main(["screen", str(root / "no_overrides"), "--out", str(root / "unwaived")]) == 0
    return {"screened": root / "screened", "dataset": root / "from_dataset", "result": root / "from_result",
            "unwaived": root / "unwaived"}


def xpt(path: Path) -> tuple[pd.DataFrame, object]:
    return pyreadstat.read_xport(str(path))


def test_writes_xpt_csv_and_define_for_each_domain(runs: dict[str, Path]) -> None:
    assert sorted(p.name for p in runs["dataset"].iterdir()) == sorted(FILES)


@pytest.mark.parametrize("domain", list(EXPECTED_VARIABLES))
def test_xpt_reads_back_with_sdtm_variables_types_and_lengths(runs: dict[str, Path], domain: str) -> None:
    path = runs["dataset"] / f"{domain.lower()}.xpt"
    data, meta = xpt(path)
    assert meta.table_name == domain
    assert list(data.columns) == EXPECTED_VARIABLES[domain]
    assert all(len(name) <= 8 for name in data.columns)
    assert all(0 < len(label) <= 40 and label.isascii() for label in meta.column_labels)
    csv = read_csv(runs["dataset"] / f"{domain.lower()}.csv")
    assert len(data) == len(csv) > 0
    lengths = study_char_lengths(runs["dataset"])[domain]
    for name in data.columns:
        kind = meta.readstat_variable_types[name]
        width = meta.variable_storage_width[name]
        if name in NUMERIC:
            assert kind == "double" and width == 8, name
            assert data[name].fillna(-1.0).tolist() == [float(v) if v else -1.0 for v in csv[name]], name
        else:
            assert kind == "string", name
            assert width == lengths[name] <= 200, name
            assert data[name].fillna("").tolist() == csv[name].tolist(), name
            assert all(value.isascii() for value in csv[name]), name
    # pandas reads the same file as SAS transport too.
    frame = pd.read_sas(path, format="xport", encoding="ascii")
    assert list(frame.columns) == EXPECTED_VARIABLES[domain] and len(frame) == len(csv)


def test_define_lists_every_variable_with_its_xpt_type_and_length(runs: dict[str, Path]) -> None:
    define = read_csv(runs["dataset"] / "define.csv")
    define = define[define["where"] == ""]  # the variables (a value-level row has its where clause)
    for domain, variables in EXPECTED_VARIABLES.items():
        rows = define[define["dataset"] == domain]
        assert rows["variable"].tolist() == variables
        _, meta = xpt(runs["dataset"] / f"{domain.lower()}.xpt")
        assert dict(zip(rows["variable"], rows["label"])) == meta.column_names_to_labels
        assert [int(x) for x in rows["length"]] == [meta.variable_storage_width[v] for v in variables]
        assert rows["type"].tolist() == ["Num" if v in NUMERIC else "Char" for v in variables]


SDTMIG_EXPECTED = {
    "DM": ["RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC", "RFPENDTC", "DTHDTC", "DTHFL", "AGE", "AGEU", "RACE",
           "ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS", "ACTARMUD"],
    "SUPPDM": ["IDVAR", "IDVARVAL", "QEVAL"],
    "DS": ["DSCAT", "DSSTDTC"],
}
"""The variables written whose SDTMIG 3.4 Core is Expected (as Pinnacle 21's SDTM-IG 3.4 configuration has them);
TI's, IE's and DV's are Required or Permissible."""


def test_define_comments_each_expected_variable_null_in_every_record(runs: dict[str, Path]) -> None:
    # SDTM v1.4 section 4.1.5 (CDISC CG0016, Pinnacle 21 SD1149): an Expected variable without data is a null column
    # "and a comment must be included in the Define-XML document to state that data was not collected".
    define = read_csv(runs["dataset"] / "define.csv")
    define = define[define["where"] == ""].set_index(["dataset", "variable"])["comment"]
    null = set()
    for domain, names in SDTMIG_EXPECTED.items():
        csv = read_csv(runs["dataset"] / f"{domain.lower()}.csv")
        null |= {(domain, name) for name in names if (csv[name] == "").all()}
    assert {("DM", "RACE"), ("DM", "ARMCD"), ("SUPPDM", "QEVAL")} <= null
    assert set(define[define != ""].index) == null
    assert all(len(comment) > 20 for comment in define[define != ""])


def test_ti_has_one_ascii_record_per_criterion(runs: dict[str, Path]) -> None:
    ti = read_csv(runs["dataset"] / "ti.csv")
    assert ti["IETESTCD"].tolist() == list(CRITERION_IDS)
    assert (ti["DOMAIN"] == "TI").all() and (ti["STUDYID"] == STUDYID).all() and (ti["TIVERS"] == "1").all()
    assert ti["IECAT"].tolist() == ["INCLUSION" if c.startswith("I") else "EXCLUSION" for c in CRITERION_IDS]
    assert all(len(code) <= 8 for code in ti["IETESTCD"])
    assert all(text.isascii() and 0 < len(text) <= 200 for text in ti["IETEST"])
    assert ti.set_index("IETESTCD").loc["I5", "IETEST"] == "Must be >= 18 years of age at time of consent"
    assert ti.set_index("IETESTCD").loc["E6", "TIRL"] == "Steroids > 10 mg/day"


def test_ti_rule_carries_the_limits_of_a_what_if_version(tmp_path: Path) -> None:
    what_if = Path(__file__).resolve().parents[1] / "params" / "criteria" / "what-if-steroid-20.yaml"
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(tmp_path), "--studyid", STUDYID,
                 "--criteria", str(what_if)]) == 0
    ti = read_csv(tmp_path / "ti.csv").set_index("IETESTCD")
    assert ti.loc["E6", "IETEST"] == "Chronic systemic steroid therapy of > 10 mg/day"  # the record's bullet
    assert ti.loc["E6", "TIRL"] == "Steroids > 20 mg/day"  # the rule of this version
    assert (ti["TIVERS"] != "1").all()


def outcomes_before_waivers(runs: dict[str, Path]) -> dict[tuple[str, str], str]:
    """Per (patient, criterion) of the demo's overrides (every one documented), its outcome when the
    demo is screened without them: independent of how a waived sentence is worded."""
    overrides = read_csv(DEMO_DATASET / "overrides.csv")
    unwaived = read_csv(runs["unwaived"] / "outcomes.csv").set_index(["patient_id", "criterion_id"])["outcome"]
    cells = list(zip(overrides["patient_id"], overrides["criterion_id"]))
    return dict(zip(cells, unwaived.loc[cells]))


def waived_failures(runs: dict[str, Path]) -> set[tuple[str, str]]:
    """(patient, criterion) waived after failing, whatever the verdict."""
    return {cell for cell, outcome in outcomes_before_waivers(runs).items() if outcome == "fail"}


def test_ie_is_every_criterion_not_met_of_assessed_patients_with_cdisc_results(runs: dict[str, Path]) -> None:
    ie = read_csv(runs["dataset"] / "ie.csv")
    verdicts = read_csv(runs["screened"] / "verdicts.csv")
    outcomes = read_csv(runs["screened"] / "outcomes.csv")
    ineligible = set(verdicts.loc[verdicts["verdict"] == "ineligible", "patient_id"])
    failed = {(p, c) for p, c, o in outcomes[["patient_id", "criterion_id", "outcome"]].itertuples(index=False)
              if o == "fail" and p in ineligible}
    # A criterion waived after failing was still not met: the exception is in IE, the waiver in DV
    # (audit, session 16: eligible-by-waiver patients had no IE record at all).
    waived = waived_failures(runs)
    assert waived and not waived & failed
    expected = failed | waived
    patient = ie["USUBJID"].str.removeprefix(STUDYID + "-")
    assert set(zip(patient, ie["IETESTCD"])) == expected
    assert len(ie) == len(expected), "one record per criterion not met per subject"
    assert ineligible <= set(patient), "every ineligible patient has at least one IE record"
    # Sorted by the keys: USUBJID, then criterion order.
    order = pd.Index(CRITERION_IDS).get_indexer(ie["IETESTCD"])
    assert list(zip(ie["USUBJID"], order)) == sorted(zip(ie["USUBJID"], order))
    # CG0176: inclusion not met -> N, exclusion met -> Y; IESTRESC = IEORRES.
    assert (ie["IEORRES"] == ie["IETESTCD"].str.startswith("I").map({True: "N", False: "Y"})).all()
    assert (ie["IESTRESC"] == ie["IEORRES"]).all()
    assert set(ie["IEORRES"]) == {"N", "Y"}
    assert (ie["IECAT"] == ie["IETESTCD"].str.startswith("I").map({True: "INCLUSION", False: "EXCLUSION"})).all()
    for _, rows in ie.groupby("USUBJID", sort=False):
        assert rows["IESEQ"].astype(int).tolist() == list(range(1, len(rows) + 1))
    ti = read_csv(runs["dataset"] / "ti.csv").set_index("IETESTCD")["IETEST"]
    assert (ie["IETEST"] == ti.loc[ie["IETESTCD"]].to_numpy()).all()


def test_pending_and_eligible_patients_are_in_ie_only_by_a_waived_fail(runs: dict[str, Path]) -> None:
    # Audit 22C: DV had waivers of pending patients' failed criteria with no IE record; a waived
    # fail is assessed whatever else is unknown. Their unknown criteria are never in IE.
    ie = read_csv(runs["dataset"] / "ie.csv")
    verdicts = read_csv(runs["screened"] / "verdicts.csv")
    pending = set(verdicts.loc[verdicts["verdict"] == "pending", "patient_id"])
    eligible = set(verdicts.loc[verdicts["verdict"] == "eligible", "patient_id"])
    assert pending and eligible
    in_ie = set(zip(ie["USUBJID"].str.removeprefix(STUDYID + "-"), ie["IETESTCD"]))
    waived = waived_failures(runs)
    for verdict in (pending, eligible):
        by_waiver = {(p, c) for p, c in waived if p in verdict}
        assert by_waiver and {(p, c) for p, c in in_ie if p in verdict} == by_waiver


def test_iedtc_is_the_consent_date(runs: dict[str, Path]) -> None:
    ie = read_csv(runs["dataset"] / "ie.csv")
    consent = read_csv(DEMO_DATASET / "patients.csv").set_index("patient_id")["consent_date"]
    assert (ie["IEDTC"] == consent.loc[ie["USUBJID"].str.removeprefix(STUDYID + "-")].to_numpy()).all()


def test_dv_has_one_deviation_per_documented_waiver(runs: dict[str, Path]) -> None:
    dv = read_csv(runs["dataset"] / "dv.csv")
    overrides = read_csv(DEMO_DATASET / "overrides.csv")
    got = set(zip(dv["USUBJID"], dv["DVTERM"].str.extract(r"criterion (\w+) waived")[0], dv["DVSTDTC"]))
    expected = set(zip(STUDYID + "-" + overrides["patient_id"], overrides["criterion_id"], overrides["approved_date"]))
    assert got == expected and len(dv) == len(overrides)
    assert (dv["DOMAIN"] == "DV").all()
    # Each deviation says what the waiver replaced (audit, session 16: a waiver of a passing
    # criterion read like one of a failed criterion).
    stated = {(STUDYID + "-" + patient, criterion): outcome.replace("_", " ")
              for (patient, criterion), outcome in outcomes_before_waivers(runs).items()}
    for usubjid, term in zip(dv["USUBJID"], dv["DVTERM"]):
        criterion = term.split(" criterion ")[1].split(" ")[0]
        assert f"waived (outcome before waiver: {stated[(usubjid, criterion)]}): " in term, term


def test_a_result_folder_gives_the_same_domains_without_collection_dates(runs: dict[str, Path]) -> None:
    assert sorted(p.name for p in runs["result"].iterdir()) == sorted(RESULT_FILES)
    for name in ("ti.csv", "dv.csv"):
        assert (runs["result"] / name).read_bytes() == (runs["dataset"] / name).read_bytes(), name
    from_result, from_dataset = read_csv(runs["result"] / "ie.csv"), read_csv(runs["dataset"] / "ie.csv")
    assert (from_result["IEDTC"] == "").all()
    pd.testing.assert_frame_equal(from_result.drop(columns="IEDTC"), from_dataset.drop(columns="IEDTC"))


def test_outputs_are_byte_reproducible(runs: dict[str, Path], tmp_path: Path) -> None:
    time.sleep(1.1)  # a writer stamping the wall-clock time would now differ
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(tmp_path / "again"), "--studyid", STUDYID]) == 0
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (runs["dataset"] / name).read_bytes(), name


def test_no_ineligible_patient_gives_no_ie(runs: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    # SDTMIG 3.4 section 3.2: "the empty dataset should not be submitted and should not be described" (CG0408);
    # until review 40 an IE without records was written with no observations.
    verdicts = read_csv(runs["screened"] / "verdicts.csv")
    outcomes = read_csv(runs["screened"] / "outcomes.csv")
    keep = set(verdicts.loc[verdicts["verdict"] != "ineligible", "patient_id"])
    keep -= {p for p, _ in waived_failures(runs)}  # an exception granted is in IE too
    folder = tmp_path / "no_ineligible"
    folder.mkdir()
    verdicts[verdicts["patient_id"].isin(keep)].to_csv(folder / "verdicts.csv", index=False)
    outcomes[outcomes["patient_id"].isin(keep)].to_csv(folder / "outcomes.csv", index=False)
    waivers = read_csv(runs["screened"] / "waivers.csv")
    waivers[waivers["patient_id"].isin(keep)].to_csv(folder / "waivers.csv", index=False)
    capsys.readouterr()
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 0
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert "ie.xpt" not in written and "ie.csv" not in written and {"ti.xpt", "define.csv"} <= written
    assert "note: IE (no criterion not met)" in capsys.readouterr().err
    assert "IE" not in set(read_csv(tmp_path / "out" / "define.csv")["dataset"])
    codelists = read_csv(tmp_path / "out" / "codelists.csv")
    assert "NY" not in set(codelists["codelist"])  # IEORRES's: no IE, no codelist of its own
    assert set(codelists.loc[codelists["codelist"] == "IECAT", "used_by"]) == {"TI.IECAT"}


@pytest.mark.parametrize("studyid", ["", "STUDY ONE", "ÉTUDE-1", "X" * 41])
def test_bad_studyid_exits_2_and_writes_nothing(tmp_path: Path, studyid: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(out), "--studyid", studyid]) == 2
    assert "--studyid" in capsys.readouterr().err
    assert not out.exists()


def test_bad_result_folder_exits_2_naming_file_row_column_value(runs: dict[str, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    verdicts = read_csv(runs["screened"] / "verdicts.csv")
    verdicts.loc[4, "verdict"] = "maybe"
    verdicts.to_csv(folder / "verdicts.csv", index=False)
    (folder / "outcomes.csv").write_bytes((runs["screened"] / "outcomes.csv").read_bytes())
    out = tmp_path / "out"
    assert main(["sdtm", str(folder), "--out", str(out), "--studyid", STUDYID]) == 2
    err = capsys.readouterr().err
    assert "verdicts.csv" in err and "row 5" in err and "column verdict" in err and "'maybe'" in err
    assert "eligible, pending, ineligible" in err
    assert not out.exists()


def test_a_verdict_its_outcomes_contradict_exits_2(runs: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # Audit, session 16: a verdicts.csv edited to 'ineligible' without a failed criterion was exported.
    folder = tmp_path / "edited"
    folder.mkdir()
    verdicts = read_csv(runs["screened"] / "verdicts.csv")
    row = int((verdicts["verdict"] == "eligible").to_numpy().argmax())
    verdicts.loc[row, "verdict"] = "ineligible"
    verdicts.to_csv(folder / "verdicts.csv", index=False)
    (folder / "outcomes.csv").write_bytes((runs["screened"] / "outcomes.csv").read_bytes())
    assert main(["sdtm", str(folder), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 2
    err = capsys.readouterr().err
    assert f"row {row + 1}, column verdict: value 'ineligible'" in err and "contradicts" in err
    assert not (tmp_path / "out").exists()


def test_bad_dataset_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    assert main(["sdtm", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 2
    assert "no tables found" in capsys.readouterr().err


def test_records_follow_the_keys_not_the_input_row_order(runs: dict[str, Path], tmp_path: Path) -> None:
    # Audit, session 16: a re-sorted extract changed ie.xpt and dv.xpt for the same data.
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for table in ("patients", "therapies", "labs", "toxicities", "overrides"):
        frame = read_csv(DEMO_DATASET / f"{table}.csv")
        frame.sample(frac=1.0, random_state=16).to_csv(shuffled / f"{table}.csv", index=False)
    assert main(["sdtm", str(shuffled), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 0
    for name in FILES:
        assert (tmp_path / "out" / name).read_bytes() == (runs["dataset"] / name).read_bytes(), name


@pytest.mark.parametrize(("version", "says"), [
    ("Amendment 2 \u2013 Nov 2026", "'\\u2013'"),  # audit 16 spelt it "-"; review 28: refused, not rewritten
    ("Amendment \u00e9", "'\\xe9'"),  # review 28: "Amendment e" beside "Amendment e" were one TIVERS
    ("Amendment \u03b1", "'\\u03b1'"),  # audit 21: "Amendment" beside "Amendment beta"
    ("A" * 210 + "1", "211 characters"),  # review 28: cut to 200, two versions differing at the end were one
])
def test_a_criteria_version_tivers_cannot_hold_unchanged_exits_2(tmp_path: Path, version: str, says: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    criteria = tmp_path / "amendment.yaml"
    criteria.write_text(f'version: "{version}"\nmax_steroid_mg_per_day: 10\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(out), "--studyid", STUDYID, "--criteria", str(criteria)]) == 2
    err = capsys.readouterr().err
    assert f"criteria file {criteria}: key 'version' has value '{version[:20]}" in err, err
    assert says in err and "at most 200 printable ASCII characters" in err and "TIVERS" in err
    assert not out.exists()


def test_a_criteria_version_of_200_ascii_characters_is_tivers_unchanged(tmp_path: Path) -> None:
    version = "Amendment 2 - Nov 2026 " + "x" * (200 - 23)
    criteria = tmp_path / "amendment.yaml"
    criteria.write_text(f'version: "{version}"\nmax_steroid_mg_per_day: 10\n', encoding="utf-8")
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(tmp_path / "out"), "--studyid", STUDYID,
                 "--criteria", str(criteria)]) == 0
    data, _ = xpt(tmp_path / "out" / "ti.xpt")
    assert set(data["TIVERS"]) == {version} and len(version) == 200


def test_ascii_text_spells_symbols_and_cuts_at_a_word() -> None:
    assert ascii_text("age ≥ 18 – adults, naïve") == "age >= 18 - adults, naive"
    long = "word " * 60
    cut = ascii_text(long)
    assert len(cut) <= 200 and cut.endswith("word...") and cut.isascii()


def test_an_export_from_a_result_folder_says_that_iedtc_is_blank(runs: dict[str, Path], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sdtm", str(runs["screened"]), "--out", str(tmp_path / "r"), "--studyid", STUDYID]) == 0
    assert "IEDTC (the consent date) is blank" in capsys.readouterr().err
    assert (read_csv(tmp_path / "r" / "ie.csv")["IEDTC"] == "").all()
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(tmp_path / "d"), "--studyid", STUDYID]) == 0
    assert "IEDTC" not in capsys.readouterr().err


def test_a_result_folder_with_its_dataset_gives_the_dataset_s_files(runs: dict[str, Path], tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # The sponsor's route from CI's screen folder (user review 24): --dataset adds DM, SUPPDM and IEDTC,
    # and the files are those of an export from the dataset itself, byte for byte.
    out = tmp_path / "with_dataset"
    assert main(["sdtm", str(runs["screened"]), "--dataset", str(DEMO_DATASET), "--out", str(out),
                 "--studyid", STUDYID]) == 0
    assert "note:" not in capsys.readouterr().err
    for name in FILES:
        assert (out / name).read_bytes() == (runs["dataset"] / name).read_bytes(), name


def test_a_dataset_with_other_patients_than_the_result_folder_exits_2(runs: dict[str, Path], tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    shutil.copytree(DEMO_DATASET, other)
    patients = read_csv(other / "patients.csv")
    dropped = patients["patient_id"].iloc[3]
    keep = {name: read_csv(other / name) for name in ("therapies.csv", "labs.csv", "toxicities.csv", "overrides.csv")}
    patients.drop(index=3).to_csv(other / "patients.csv", index=False)
    for name, frame in keep.items():
        frame[frame["patient_id"] != dropped].to_csv(other / name, index=False)
    out = tmp_path / "out"
    assert main(["sdtm", str(runs["screened"]), "--dataset", str(other), "--out", str(out), "--studyid", STUDYID]) == 2
    err = capsys.readouterr().err
    assert "its patients are not the screen folder's" in err and dropped in err
    assert not out.exists()
    # --dataset belongs to a result folder only
    assert main(["sdtm", str(DEMO_DATASET), "--dataset", str(DEMO_DATASET), "--out", str(out),
                 "--studyid", STUDYID]) == 2
    assert "only with a screen output folder" in capsys.readouterr().err


def _edited_result_folder(runs: dict[str, Path], folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder.mkdir()
    shutil.copy(runs["screened"] / "waivers.csv", folder / "waivers.csv")
    return read_csv(runs["screened"] / "verdicts.csv"), read_csv(runs["screened"] / "outcomes.csv")


HOSTILE_TERM = "rash (was pass: none)"
"""A site's toxicity term that reads like the package's "(was OUTCOME: " in a waived sentence."""


def test_site_text_that_reads_like_the_waiver_sentence_changes_neither_ie_nor_dv(tmp_path: Path) -> None:
    # Review 23B: a result folder's waivers were read from the waived sentence, whose site text
    # (a toxicity term, a reason over two lines, an approver naming a date) could pass for the
    # package's words: the waived E2 fail fell out of IE and DV said "pass". The folder now has
    # waivers.csv; the export from the folder and from the dataset must both say what is typed here.
    tox = toxicity_row("P001", term=HOSTILE_TERM, category="other", grade=3, ongoing="yes")
    waiver = override_row("P001", "E2", approved_by="Dr A (covering on 2020-01-01: PI away)",
                          approved_date="2025-02-27", reason="a reason on\ntwo lines (was pass: re-read)")
    write_tables(typed_tables({"patients": [patient_row("P001")], "therapies": [therapy_row("P001")],
                               "labs": lab_rows("P001"), "toxicities": [tox], "overrides": [waiver]}),
                 tmp_path / "data", "csv")
    assert main(["screen", str(tmp_path / "data"), "--out", str(tmp_path / "screened")]) == 0
    for source, out in ((tmp_path / "screened", "from_result"), (tmp_path / "data", "from_dataset")):
        assert main(["sdtm", str(source), "--out", str(tmp_path / out), "--studyid", STUDYID]) == 0
        ie, dv = read_csv(tmp_path / out / "ie.csv"), read_csv(tmp_path / out / "dv.csv")
        assert ie[["USUBJID", "IETESTCD", "IEORRES"]].values.tolist() == [[f"{STUDYID}-P001", "E2", "Y"]], out
        assert dv[["USUBJID", "DVSTDTC"]].values.tolist() == [[f"{STUDYID}-P001", "2025-02-27"]], out
        assert "waived (outcome before waiver: fail): " in dv.loc[0, "DVTERM"], out


def test_a_waiver_without_its_approver_goes_to_dv_from_the_folder_and_the_dataset(tmp_path: Path) -> None:
    # Session 30: a blank approver waives; the folder's waivers.csv has the cell blank and the waived
    # sentence says "an unrecorded approver": the folder must not be refused as hand-edited.
    waiver = override_row("P001", "E6", approved_by=None, approved_date="2025-02-27", reason="taper documented")
    write_tables(typed_tables({"patients": [patient_row("P001", steroid_mg_per_day=20)],
                               "therapies": [therapy_row("P001")], "labs": lab_rows("P001"),
                               "overrides": [waiver]}), tmp_path / "data", "csv")
    assert main(["screen", str(tmp_path / "data"), "--out", str(tmp_path / "screened")]) == 0
    for source, out in ((tmp_path / "screened", "from_result"), (tmp_path / "data", "from_dataset")):
        assert main(["sdtm", str(source), "--out", str(tmp_path / out), "--studyid", STUDYID]) == 0, out
        dv = read_csv(tmp_path / out / "dv.csv")
        assert dv[["USUBJID", "DVSTDTC"]].values.tolist() == [[f"{STUDYID}-P001", "2025-02-27"]], out
        assert "waived (outcome before waiver: fail): " in dv.loc[0, "DVTERM"], out


def test_a_result_folder_without_waivers_csv_is_refused_when_outcomes_are_waived(
        runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    verdicts, outcomes = _edited_result_folder(runs, tmp_path / "old")
    (tmp_path / "old" / "waivers.csv").unlink()  # a folder an earlier version wrote
    verdicts.to_csv(tmp_path / "old" / "verdicts.csv", index=False)
    outcomes.to_csv(tmp_path / "old" / "outcomes.csv", index=False)
    assert main(["sdtm", str(tmp_path / "old"), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 2
    waived = int((outcomes["outcome"] == "waived").sum())
    assert f"waivers.csv: no such file, and {waived} outcomes are waived: screen the dataset again" in \
        capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("column", "value", "said"), [
    ("original_outcome", "pass", "column criterion_id"),
    ("approved_date", "2022-13-45", "column approved_date: value '2022-13-45': expected a date YYYY-MM-DD or a blank"),
    ("approved_date", "2001-01-01", "column criterion_id"),
])
def test_a_hand_edited_waiver_row_is_refused(runs: dict[str, Path], tmp_path: Path, column: str, value: str,
                                             said: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Review 23E: a waiver made a fail by hand put a never-failed criterion in IE; an impossible date
    # went to DVSTDTC. The first row of each waived criterion must be what its sentence says.
    verdicts, outcomes = _edited_result_folder(runs, tmp_path / "edited")
    waivers = read_csv(tmp_path / "edited" / "waivers.csv")
    row = 0
    assert waivers.loc[row, column] != value
    waivers.loc[row, column] = value
    waivers.to_csv(tmp_path / "edited" / "waivers.csv", index=False)
    verdicts.to_csv(tmp_path / "edited" / "verdicts.csv", index=False)
    outcomes.to_csv(tmp_path / "edited" / "outcomes.csv", index=False)
    assert main(["sdtm", str(tmp_path / "edited"), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 2
    err = capsys.readouterr().err
    assert f"waivers.csv: row {row + 1}, {said}" in err
    assert "expected a date" in err or "does not match the waived outcome's sentence in outcomes.csv" in err
    assert not (tmp_path / "out").exists()


def test_a_waivers_file_that_does_not_match_the_waived_outcomes_is_refused(
        runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    verdicts, outcomes = _edited_result_folder(runs, tmp_path / "edited")
    waivers = read_csv(tmp_path / "edited" / "waivers.csv")
    first = waivers.loc[0, ["patient_id", "criterion_id"]].tolist()
    waivers.loc[0, "criterion_id"] = "E9" if first[1] != "E9" else "E7"  # a waiver of a criterion not waived
    waivers.to_csv(tmp_path / "edited" / "waivers.csv", index=False)
    verdicts.to_csv(tmp_path / "edited" / "verdicts.csv", index=False)
    outcomes.to_csv(tmp_path / "edited" / "outcomes.csv", index=False)
    assert main(["sdtm", str(tmp_path / "edited"), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 2
    err = capsys.readouterr().err
    assert "waivers.csv: row 1, column criterion_id" in err and "is not waived in outcomes.csv" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("patient_id", ["EAP-\u00e9004", "EAP-" + "9" * 250])
def test_a_patient_id_no_usubjid_can_hold_exits_2(runs: dict[str, Path], tmp_path: Path, patient_id: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # Audit, session 21: an edited result folder wrote a non-ASCII and a 254-byte USUBJID.
    verdicts, outcomes = _edited_result_folder(runs, tmp_path / "ids")
    first = verdicts.loc[0, "patient_id"]
    verdicts.loc[0, "patient_id"] = patient_id
    outcomes.loc[outcomes["patient_id"] == first, "patient_id"] = patient_id
    waivers = read_csv(tmp_path / "ids" / "waivers.csv")
    waivers.loc[waivers["patient_id"] == first, "patient_id"] = patient_id
    waivers.to_csv(tmp_path / "ids" / "waivers.csv", index=False)
    verdicts.to_csv(tmp_path / "ids" / "verdicts.csv", index=False)
    outcomes.to_csv(tmp_path / "ids" / "outcomes.csv", index=False)
    assert main(["sdtm", str(tmp_path / "ids"), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 2
    err = capsys.readouterr().err
    assert "row 1, column patient_id" in err and "cannot be a USUBJID" in err and "ASCII" in err
    assert not (tmp_path / "out").exists()


def test_ti_rule_names_every_limit_so_versions_that_differ_in_one_differ_in_ti(tmp_path: Path) -> None:
    # Audit 22C (D4): a file changing only the ANC limit gave I7 the same TIRL ("Adequate labs").
    anc = tmp_path / "anc.yaml"
    anc.write_text("version: ANC 1.5\nmin_anc_10e9_per_l: 1.5\n", encoding="utf-8")
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(tmp_path / "out"), "--studyid", STUDYID,
                 "--criteria", str(anc)]) == 0
    ti = read_csv(tmp_path / "out" / "ti.csv").set_index("IETESTCD")["TIRL"]
    assert ti["I7"] == ("ANC >= 1.5, platelets >= 100 x10^9/L; Hb >= 9 g/dL; AST, ALT <= 3 (5 liver mets) x ULN; "
                        "bilirubin <= 2 (3 Gilbert) mg/dL; CrCl >= 40 mL/min; from 28 days before consent")
    assert ti["E5"] == "Brain metastases untreated, symptomatic, or stable < 14 days before NMA-LD"
    assert ti["I2"].startswith("1-4 counted prior lines (adjuvant anti-PD-(L)1 if recurred <= 6 months)")
    assert ti["E6"] == "Steroids > 10 mg/day"  # a label that names its limit is the rule


def test_dm_lists_every_screened_subject_once_with_screen_failures_marked(runs: dict[str, Path]) -> None:
    # Audit 22C (D1): IE holds only criteria not met, so eligible and pending subjects appeared in no
    # dataset; DM has every subject (SDTMIG 3.3: screen failures in DM, ARMNRS = SCREEN FAILURE).
    dm, supp = read_csv(runs["dataset"] / "dm.csv"), read_csv(runs["dataset"] / "suppdm.csv")
    verdicts = read_csv(runs["screened"] / "verdicts.csv").set_index("patient_id")["verdict"]
    patients = read_csv(DEMO_DATASET / "patients.csv").set_index("patient_id")
    assert sorted(dm["SUBJID"]) == sorted(patients.index) and dm["SUBJID"].is_unique
    assert (dm["USUBJID"] == STUDYID + "-" + dm["SUBJID"]).all()
    assert dm["SUBJID"].tolist() == sorted(dm["SUBJID"])  # by the key
    ineligible = verdicts.loc[dm["SUBJID"]].eq("ineligible").to_numpy()
    assert (dm.loc[ineligible, "ARMNRS"] == "SCREEN FAILURE").all()
    assert (dm.loc[~ineligible, "ARMNRS"] == "NOT ASSIGNED").all()
    unfilled = ["ARMCD", "ARM", "ACTARMCD", "ACTARM", "ACTARMUD", "RFSTDTC", "RFXSTDTC", "DTHFL", "RACE"]
    assert (dm[unfilled] == "").all().all()
    assert (dm["RFICDTC"] == patients.loc[dm["SUBJID"], "consent_date"].to_numpy()).all()
    assert (dm["SITEID"] == patients.loc[dm["SUBJID"], "site_id"].to_numpy()).all()
    sex = patients.loc[dm["SUBJID"], "sex"].map({"male": "M", "female": "F"}).fillna("U")
    assert (dm["SEX"] == sex.to_numpy()).all()
    assert (dm["COUNTRY"] == "USA").all()
    for subjid, age in zip(dm["SUBJID"], dm["AGE"]):  # whole years at consent, worked out here
        birth, consent = (patients.loc[subjid, column] for column in ("birth_date", "consent_date"))
        if not birth or not consent or birth > consent:
            assert age == "", subjid
            continue
        (by, bm, bd), (cy, cm, cd) = (map(int, day.split("-")) for day in (birth, consent))
        assert int(age) == cy - by - ((cm, cd) < (bm, bd)), subjid
    # The eligibility verdict, which DM has no variable for, in SUPPDM: one record per subject.
    assert supp["USUBJID"].tolist() == dm["USUBJID"].tolist()
    assert (supp[["RDOMAIN", "QNAM", "QORIG"]] == ["DM", "ELIGSTAT", "Derived"]).all().all()
    assert supp["QVAL"].tolist() == verdicts.loc[dm["SUBJID"]].str.upper().tolist()
    assert set(supp["QVAL"]) == {"ELIGIBLE", "INELIGIBLE", "PENDING"}


def test_dm_age_is_whole_years_at_consent() -> None:
    from lifileucel_analysis.report.sdtm_subjects import dm_domain
    subjects = pd.DataFrame({"patient_id": ["B", "A"], "site_id": ["mskcc", "honorhealth"], "sex": ["F", "U"],
                             "age": pd.array([17.0, None], dtype="Float64"), "consent": ["2025-03-01", ""]})
    verdicts = pd.DataFrame({"patient_id": ["A", "B"], "verdict": ["pending", "ineligible"]})
    dm = dm_domain(subjects, verdicts, STUDYID)
    assert dm["SUBJID"].tolist() == ["A", "B"]
    assert dm["AGE"].tolist()[1] == 17 and pd.isna(dm["AGE"].tolist()[0])
    assert dm["AGEU"].tolist() == ["", "YEARS"]  # no unit without an age
    assert dm["ARMNRS"].tolist() == ["NOT ASSIGNED", "SCREEN FAILURE"]


def test_a_result_folder_without_screened_patients_gives_ti_alone(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # Review 23E: a folder with no patient (a cut before any consent) stopped with a traceback. Review 40: IE and
    # DV have no records, so are not written (SDTMIG 3.4 section 3.2), nor described in define.csv.
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "verdicts.csv").write_text("patient_id,site_id,verdict,failed,unknown,waived\n")
    (tmp_path / "none" / "outcomes.csv").write_text("patient_id,criterion_id,outcome,evidence\n")
    assert main(["sdtm", str(tmp_path / "none"), "--out", str(tmp_path / "out"), "--studyid", STUDYID]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["codelists.csv", "define.csv", "ti.csv", "ti.xpt"]
    assert "IE (no criterion not met), DV (no criterion waived) not written" in capsys.readouterr().err
    assert len(read_csv(tmp_path / "out" / "ti.csv")) == len(CRITERION_IDS)
    assert set(read_csv(tmp_path / "out" / "define.csv")["dataset"]) == {"TI"}


def test_a_variable_is_as_long_across_the_domains_as_its_longest_value_in_any(tmp_path: Path) -> None:
    # FDA's Study Data Technical Conformance Guide: each character column "set to the maximum length of the
    # variable used across all datasets in the study except for supplementary qualification datasets". Here
    # the one screen failure ("P1", steroids: E6) has the shortest patient ID and a criterion whose code and
    # text are shorter than TI's longest: each dataset was sized by its own values.
    write_tables(typed_tables({"patients": [patient_row("P1", steroid_mg_per_day=20), patient_row("P000000002")],
                               "therapies": [therapy_row("P1"), therapy_row("P000000002")],
                               "labs": [*lab_rows("P1"), *lab_rows("P000000002")]}), tmp_path / "data", "csv")
    out = tmp_path / "out"
    assert main(["sdtm", str(tmp_path / "data"), "--out", str(out), "--studyid", STUDYID]) == 0
    ie, ti, dm = (read_csv(out / f"{name}.csv") for name in ("ie", "ti", "dm"))
    assert ie["IETESTCD"].tolist() == ["E6"] and not (out / "dv.xpt").exists()  # no waiver: no DV
    assert ie["USUBJID"].str.len().max() < dm["USUBJID"].str.len().max()
    assert ie["IETEST"].str.len().max() < ti["IETEST"].str.len().max()
    expected = study_char_lengths(out)
    define = read_csv(out / "define.csv")
    define = define[(define["where"] == "") & (define["type"] == "Char")]
    for domain in [d for d in EXPECTED_VARIABLES if d != "DV"]:
        data, meta = xpt(out / f"{domain.lower()}.xpt")
        widths = {name: meta.variable_storage_width[name] for name in data.columns if name not in NUMERIC}
        assert widths == expected[domain], domain
        assert dict(zip(*define.loc[define["dataset"] == domain, ["variable", "length"]].values.T)) == \
            {name: str(width) for name, width in widths.items()}, domain
        # The values read back as written: no blanks added to the record that carries the length.
        csv = read_csv(out / f"{domain.lower()}.csv")
        assert data[list(widths)].fillna("").values.tolist() == csv[list(widths)].values.tolist(), domain
        frame = pd.read_sas(out / f"{domain.lower()}.xpt", format="xport", encoding="ascii")
        assert frame[list(widths)].fillna("").values.tolist() == data[list(widths)].values.tolist(), domain
    assert expected["IE"]["USUBJID"] == expected["DS"]["USUBJID"] == len(f"{STUDYID}-P000000002")
    assert expected["IE"]["IETESTCD"] == 3 and expected["IE"]["IETEST"] == ti["IETEST"].str.len().max()
