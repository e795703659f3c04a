"""What changed, as a medical monitor reads it: a site transfer and `--since` (audit 43M).

Audit 43M recorded weekly cuts and read ``changes`` against the generator's planted changes (all
agreed), then against what the generator never plants: a patient moved from honorhealth to mskcc
was missing from ``changes.csv`` while the two site pages said "no longer in data" and "new";
``--since`` naming the latest run said "0 patients changed from nothing (first run)"; ``--since
11/07/2026`` was read as 7 November.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lifileucel_analysis.cli import main
from lifileucel_analysis.paths import DEMO_DATASET
from lifileucel_analysis.report import EligibilityReport
from lifileucel_analysis.report.changes import NoSuchRunError, choose_runs, patient_changes, site_counts


def _verdicts(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["patient_id", "site_id", "verdict"])


def _outcomes(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([(p, c, o, f"{c} {o}") for p, c, o in rows],
                        columns=["patient_id", "criterion_id", "outcome", "evidence"])


def test_a_patient_that_moved_site_is_one_move_with_the_site_it_left() -> None:
    before = _verdicts([("A", "honorhealth", "eligible"), ("B", "mskcc", "pending"), ("C", "mskcc", "pending")])
    after = _verdicts([("A", "mskcc", "eligible"), ("B", "honorhealth", "eligible"), ("C", "mskcc", "pending")])
    outcomes_before = _outcomes([("A", "I1", "pass"), ("B", "I1", "unknown"), ("C", "I1", "unknown")])
    outcomes_after = _outcomes([("A", "I1", "pass"), ("B", "I1", "pass"), ("C", "I1", "unknown")])
    changes = patient_changes(before, after, outcomes_before, outcomes_after)
    rows = changes.set_index("patient_id")[["site_id", "site_before", "change", "verdict_before", "verdict_after"]]
    assert rows.to_dict("index") == {
        "A": {"site_id": "mskcc", "site_before": "honorhealth", "change": "site", "verdict_before": "eligible",
              "verdict_after": "eligible"},
        # a move with a verdict change is a verdict change; site_before still says where it was
        "B": {"site_id": "honorhealth", "site_before": "mskcc", "change": "verdict", "verdict_before": "pending",
              "verdict_after": "eligible"},
    }  # C changed nothing: not listed
    assert site_counts(changes).values.tolist() == [["honorhealth", "pending -> eligible", 1],
                                                    ["mskcc", "moved from another site, same verdict", 1]]


def test_new_and_gone_patients_keep_their_kinds() -> None:
    before = _verdicts([("GONE", "mskcc", "pending")])
    after = _verdicts([("NEW", "mskcc", "eligible")])
    changes = patient_changes(before, after, _outcomes([("GONE", "I1", "unknown")]), _outcomes([("NEW", "I1", "pass")]))
    kinds = changes.set_index("patient_id")[["change", "site_before"]].to_dict("index")
    assert kinds == {"GONE": {"change": "no longer in data", "site_before": "mskcc"},
                     "NEW": {"change": "new", "site_before": ""}}
    # A patient gone is told as a new one is: what blocked or was open, not every criterion (audit 43M).
    gone = patient_changes(before, _verdicts([]), _outcomes([("GONE", "I1", "pass"), ("GONE", "I4", "unknown"),
                                                            ("GONE", "E6", "fail")]), _outcomes([]))
    assert gone["evidence_before"].tolist() == ["I4 (unknown): I4 unknown | E6 (fail): E6 fail"]


def _runs() -> pd.DataFrame:
    return pd.DataFrame({"run_id": ["aaaa1111", "bbbb2222", "cccc3333"], "sequence": [1, 2, 3],
                         "cut_date": pd.to_datetime(["2026-11-07", "2026-11-14", "2026-11-21"]),
                         "criteria_version": "default", "params_sha256": "x"})


def test_since_the_latest_run_is_refused() -> None:
    with pytest.raises(NoSuchRunError, match=r"^--since 'cccc' names the run compared to \(run cccc3333 "
                                             r"\(2026-11-21, criteria default\)\): name an earlier run"):
        choose_runs(_runs(), "cccc")
    assert choose_runs(_runs(), "aaaa") == ("aaaa1111", "cccc3333")


@pytest.mark.parametrize("since", ["11/07/2026", "07.11.2026", "20261107", "2026-W45-6"])
def test_since_takes_a_date_only_as_yyyy_mm_dd(since: str) -> None:
    with pytest.raises(NoSuchRunError, match="is neither a run ID of the history nor a date YYYY-MM-DD"):
        choose_runs(_runs(), since)


def test_since_a_date_as_yyyy_mm_dd_picks_the_run_of_that_cut() -> None:
    assert choose_runs(_runs(), "2026-11-14") == ("bbbb2222", "cccc3333")
    assert choose_runs(_runs(), " 2026-11-20 ") == ("bbbb2222", "cccc3333")


def test_a_transfer_is_on_both_site_pages_as_a_move(tmp_path: Path) -> None:
    history = tmp_path / "history.duckdb"
    week1 = tmp_path / "week1"
    week1.mkdir()
    for path in DEMO_DATASET.iterdir():
        (week1 / path.name).write_bytes(path.read_bytes())
    assert main(["screen", str(week1), "--out", str(tmp_path / "s1"), "--cut-date", "2026-11-01",
                 "--history", str(history)]) == 0
    week2 = tmp_path / "week2"
    week2.mkdir()
    for path in week1.iterdir():
        (week2 / path.name).write_bytes(path.read_bytes())
    patients = pd.read_csv(week2 / "patients.csv", dtype=str, keep_default_na=False)
    moved = patients.index[patients["site_id"] == "honorhealth"][0]
    who = patients.loc[moved, "patient_id"]
    patients.loc[moved, "site_id"] = "mskcc"
    patients.to_csv(week2 / "patients.csv", index=False)
    pages = {site: EligibilityReport.build(site=site, dataset=week2, cut_date="2026-11-08", history=history)
             for site in ("honorhealth", "mskcc", "all")}
    for site, report in pages.items():  # each page: the patient once, as a move from honorhealth to mskcc
        rows = report.cut_comparison.changes
        assert rows.loc[rows["patient_id"] == who, ["site_id", "site_before", "change"]].values.tolist() == [
            ["mskcc", "honorhealth", "site"]], site
        assert "new" not in set(rows["change"]) and "no longer in data" not in set(rows["change"]), site
    assert main(["screen", str(week2), "--out", str(tmp_path / "s2"), "--cut-date", "2026-11-08",
                 "--history", str(history)]) == 0
    assert main(["changes", "--history", str(history), "--out", str(tmp_path / "c")]) == 0
    changes = pd.read_csv(tmp_path / "c" / "changes.csv", dtype=str, keep_default_na=False)
    assert changes[["patient_id", "site_id", "site_before", "change"]].values.tolist() == [
        [who, "mskcc", "honorhealth", "site"]]


def test_the_sentence_says_when_a_patient_gone_may_have_been_set_aside_by_the_cut() -> None:
    from lifileucel_analysis.report.changes import changes_sentence

    compared = pd.DataFrame({"role": ["before", "after"], "run_id": ["r1", "r2"], "cut_date": ["2026-12-05", "2026-12-12"],
                             "criteria_version": ["default", "default"], "patients_set_aside": [0, 1]})
    said = changes_sentence(2, compared, gone=1)
    assert said == ("2 patients changed from run r1 (2026-12-05, criteria default) to run r2 (2026-12-12, criteria "
                    "default); 1 patient is no longer in the data, and the later run set 1 patient aside as consented "
                    "after its cut: a patient whose consent date now lies after the cut reads as no longer in data")
    assert ";" not in changes_sentence(2, compared, gone=0)  # nobody gone: nothing to say
    assert ";" not in changes_sentence(2, compared.assign(patients_set_aside=0), gone=1)  # nobody set aside


def test_a_waiver_added_this_run_is_counted_as_newly_waived() -> None:
    from lifileucel_analysis.report.since_last_cut import criterion_counts

    # Audit 43M: I4 pass -> waived (a waiver of a passing criterion) was only text in outcome_changes.
    before = _verdicts([("A", "mskcc", "eligible"), ("B", "mskcc", "ineligible")])
    after = _verdicts([("A", "mskcc", "eligible"), ("B", "mskcc", "eligible")])
    changes = patient_changes(before, after, _outcomes([("A", "I4", "pass"), ("B", "E6", "fail")]),
                              _outcomes([("A", "I4", "waived"), ("B", "E6", "waived")]))
    assert changes.set_index("patient_id")[["newly_waived", "resolved"]].to_dict("index") == {
        "A": {"newly_waived": "I4", "resolved": ""}, "B": {"newly_waived": "E6", "resolved": "E6"}}
    counts = criterion_counts(changes).set_index("criterion_id")
    assert counts[["resolved", "newly_waived"]].to_dict("index") == {"I4": {"resolved": 0, "newly_waived": 1},
                                                                   "E6": {"resolved": 1, "newly_waived": 1}}
