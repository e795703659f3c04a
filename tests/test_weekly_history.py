"""Weekly cuts screened into one history: ``changes`` finds exactly what the generator planted (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import planted_move, write_weekly_series

from lifileucel_analysis.cli import main
from lifileucel_analysis.report.changes import changes_sentence, criteria_differ

PATIENTS, SEED, WEEKS = 150, 7, 4


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_weekly_series(tmp_path_factory.mktemp("weekly") / "cuts", PATIENTS, SEED, WEEKS)


def test_each_week_changes_are_exactly_the_planted_ones(series: Path, tmp_path: Path) -> None:
    cuts = pd.read_csv(series / "cuts.csv", dtype=str)
    planted = pd.read_csv(series / "planted_changes.csv", dtype=str, keep_default_na=False)
    assert set(planted["change"]) == {"arrival", "blank filled", "correction", "lab redraw"}
    history = tmp_path / "history.duckdb"
    for week, cut_date, folder in cuts.itertuples(index=False):
        assert main(["screen", str(series / folder), "--out", str(tmp_path / folder), "--cut-date", cut_date,
                     "--history", str(history)]) == 0
        assert main(["changes", "--history", str(history), "--out", str(tmp_path / f"changes-{week}")]) == 0
        changes = pd.read_csv(tmp_path / f"changes-{week}" / "changes.csv", dtype=str, keep_default_na=False)
        if week == "1":  # the first run: every patient is new
            screened = pd.read_csv(tmp_path / folder / "verdicts.csv", dtype=str)
            assert sorted(changes["patient_id"]) == sorted(screened["patient_id"])
            assert set(changes["change"]) == {"new"}
            continue
        mine = planted.loc[planted["week"] == week].set_index("patient_id")
        assert sorted(changes["patient_id"]) == sorted(mine.index), f"week {week}"
        for row in changes.itertuples(index=False):
            plant = mine.loc[row.patient_id]
            if plant["change"] == "arrival":
                assert row.change == "new" and row.verdict_before == ""
            else:
                assert row.outcome_changes == planted_move(plant["change"], plant["value_after"]), (week, row.patient_id)
                before, after = row.outcome_changes.split(": ")[1].split(" -> ")
                assert row.evidence_before.startswith(f"{plant['criterion_id']} ({before}): ")
                assert row.evidence_after.startswith(f"{plant['criterion_id']} ({after}): ")
        counts = pd.read_csv(tmp_path / f"changes-{week}" / "site_counts.csv", dtype={"patients": int})
        assert counts["patients"].sum() == len(mine)


def test_weekly_cuts_are_reproducible(series: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert main(["synth", "--patients", str(PATIENTS), "--seed", str(SEED), "--weeks", str(WEEKS),
                 "--out", str(again)]) == 0
    files = sorted(p.relative_to(series) for p in series.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in files:
        assert (series / name).read_bytes() == (again / name).read_bytes(), name


def test_since_a_date_compares_with_the_run_of_that_cut(series: Path, tmp_path: Path) -> None:
    cuts = pd.read_csv(series / "cuts.csv", dtype=str)
    history = tmp_path / "history.duckdb"
    for _, cut_date, folder in cuts.itertuples(index=False):
        assert main(["screen", str(series / folder), "--out", str(tmp_path / folder), "--cut-date", cut_date,
                     "--history", str(history)]) == 0
    assert main(["changes", "--history", str(history), "--since", cuts["cut_date"].iloc[0],
                 "--out", str(tmp_path / "c")]) == 0
    planted = pd.read_csv(series / "planted_changes.csv", dtype=str)
    changes = pd.read_csv(tmp_path / "c" / "changes.csv", dtype=str)
    assert sorted(changes["patient_id"]) == sorted(planted["patient_id"])  # weeks 2..4 together
    assert main(["changes", "--history", str(history), "--since", "not-a-run", "--out", str(tmp_path / "x")]) == 2


def test_changes_and_compare_name_their_runs_and_cut(series: Path, tmp_path: Path) -> None:
    cuts = pd.read_csv(series / "cuts.csv", dtype=str)
    history = tmp_path / "history.duckdb"
    for _, cut_date, folder in cuts.iloc[:2].itertuples(index=False):
        assert main(["screen", str(series / folder), "--out", str(tmp_path / folder), "--cut-date", cut_date,
                     "--history", str(history)]) == 0
    assert main(["changes", "--history", str(history), "--out", str(tmp_path / "c")]) == 0
    compared = pd.read_csv(tmp_path / "c" / "runs.csv", dtype=str)
    assert list(compared["role"]) == ["before", "after"]
    assert list(compared["cut_date"]) == list(cuts["cut_date"].iloc[:2])
    assert main(["compare", str(series / "week-02"), "--criteria", "default", "--criteria", "what-if steroid 20 mg",
                 "--cut-date", cuts["cut_date"].iloc[1], "--out", str(tmp_path / "w")]) == 0
    criteria = pd.read_csv(tmp_path / "w" / "criteria.csv", dtype=str, keep_default_na=False)
    assert list(criteria["version"]) == ["default", "what-if steroid 20 mg"]
    assert set(criteria["cut_date"]) == {cuts["cut_date"].iloc[1]}


def test_a_new_patients_evidence_says_each_criterions_outcome() -> None:
    # Audit 22C (D5): a new patient's failed and unknown criteria read alike in "evidence after",
    # joined by ";" that the sentences hold too.
    from lifileucel_analysis.report.changes import patient_changes
    empty_verdicts = pd.DataFrame(columns=["patient_id", "site_id", "verdict"])
    empty_outcomes = pd.DataFrame(columns=["patient_id", "criterion_id", "outcome", "evidence"])
    verdicts = pd.DataFrame({"patient_id": ["A"], "site_id": ["mskcc"], "verdict": ["ineligible"]})
    outcomes = pd.DataFrame({"patient_id": ["A"] * 3, "criterion_id": ["I2", "I4", "E6"],
                             "outcome": ["fail", "unknown", "pass"],
                             "evidence": ["no counted prior line; x", "lesion not recorded", "steroid 0 mg/day <= 10"]})
    [row] = patient_changes(empty_verdicts, verdicts, empty_outcomes, outcomes).to_dict("records")
    assert (row["change"], row["newly_failed"], row["newly_unknown"]) == ("new", "I2", "I4")
    assert row["evidence_after"] == "I2 (fail): no counted prior line; x | I4 (unknown): lesion not recorded"


def test_a_backfilled_week_does_not_turn_changes_backwards(series: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # Weeks recorded 1, 2, 4, 3 (week 3 backfilled): `changes` compared the last two recorded, week 4
    # "before" week 3, and called last week's arrivals "no longer in data" (review 24). It now takes the
    # latest cut and the cut before it, as the pages do: the same changes as when recorded in order.
    cuts = pd.read_csv(series / "cuts.csv", dtype=str)
    in_order, backfilled = tmp_path / "in_order.duckdb", tmp_path / "backfilled.duckdb"
    for history, weeks in ((in_order, [0, 1, 2, 3]), (backfilled, [0, 1, 3, 2])):
        for i in weeks:
            _, cut_date, folder = cuts.iloc[i]
            assert main(["screen", str(series / folder), "--out", str(tmp_path / folder), "--cut-date", cut_date,
                         "--history", str(history)]) == 0
        assert main(["changes", "--history", str(history), "--out", str(tmp_path / history.stem)]) == 0
    for name in ("changes.csv", "site_counts.csv"):
        assert (tmp_path / "in_order" / name).read_bytes() == (tmp_path / "backfilled" / name).read_bytes(), name
    compared = pd.read_csv(tmp_path / "backfilled" / "runs.csv", dtype=str)
    assert list(compared["role"]) == ["before", "after"]
    assert list(compared["cut_date"]) == list(cuts["cut_date"].iloc[2:4])
    assert "no longer in data" not in set(pd.read_csv(tmp_path / "backfilled" / "changes.csv", dtype=str)["change"])
    # A what-if screen of the last week recorded last: changes say the criteria differ.
    capsys.readouterr()
    _, cut_date, folder = cuts.iloc[3]
    assert main(["screen", str(series / folder), "--out", str(tmp_path / "what-if"), "--cut-date", cut_date,
                 "--params", "params/criteria/what-if-steroid-20.yaml", "--history", str(backfilled)]) == 0
    assert main(["changes", "--history", str(backfilled), "--out", str(tmp_path / "w")]) == 0
    assert "the two runs used different criteria" in capsys.readouterr().err


def test_the_changes_sentence_names_both_runs_cut_and_criteria() -> None:
    compared = pd.DataFrame({"role": ["before", "after"], "run_id": ["r1", "r2"], "cut_date": ["2025-03-03", ""],
                             "criteria_version": ["1", "2"], "params_sha256": ["a", "b"]})
    assert changes_sentence(4, compared) == ("4 patients changed from run r1 (2025-03-03, criteria 1) to run r2 "
                                             "(no cut date, criteria 2)")
    assert criteria_differ(compared)
    assert not criteria_differ(compared.assign(params_sha256="a"))
    first = compared.iloc[[1]]
    assert changes_sentence(0, first) == ("0 patients changed from nothing (first run) to run r2 (no cut date, "
                                          "criteria 2)")
    assert not criteria_differ(first)
