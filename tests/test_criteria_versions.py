"""Criteria versions, switched-off criteria, and compare / what-if (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import case_tables
from lifileucel_analysis.cli import main
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.engine.parameters import ParamsError, load_params
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.paths import DEMO_DATASET
from lifileucel_analysis.report.criteria_compare import differences, resolve_criteria
from lifileucel_analysis.report.run_history import record_run, read_table
from lifileucel_analysis.report.screening_inputs import screen_files

AMENDMENT = """\
version: "amendment 2"
effective_date: 2026-01-15
changes:
  - "E6 limit raised to 20 mg/day"
  - "E10 switched off"
criteria_off: [E10]
max_steroid_mg_per_day:
  value: 20
  source: "amendment 2, section 5.2"
"""


def test_a_criteria_file_carries_its_version_and_what_changed(tmp_path: Path) -> None:
    (tmp_path / "a2.yaml").write_text(AMENDMENT)
    params = load_params(tmp_path / "a2.yaml")
    assert (params.version, params.effective_date, params.criteria_off) == ("amendment 2", "2026-01-15", ("E10",))
    assert params.changes == ("E6 limit raised to 20 mg/day", "E10 switched off")
    assert params.max_steroid_mg_per_day == 20
    assert set(params.as_dict()) == set(load_params().as_dict())  # the version keys are not limits
    assert load_params().version == "default"
    (tmp_path / "plain.yaml").write_text("max_ecog: 2\n")
    assert load_params(tmp_path / "plain.yaml").version == ""  # changed limits without a label: not "default"
    assert load_params(overrides={"max_ecog": 2}).version == ""


@pytest.mark.parametrize(("text", "words"), [
    ("criteria_off: [E99]\n", "expected a list of criterion IDs"),
    ("criteria_off: E6\n", "expected a list of criterion IDs"),
    ("effective_date: 2026-02-30\n", "expected YYYY-MM-DD"),
    ("version: ''\n", "expected a non-empty text"),
    ("versoin: x\n", "unknown key"),
])
def test_version_keys_are_read_strictly(tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ParamsError, match=words):
        load_params(tmp_path / "bad.yaml")


def test_a_switched_off_criterion_no_longer_blocks_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "off.yaml").write_text('version: "no E6"\ncriteria_off: [E6]\n')
    data = ScreeningDataset(**case_tables(patient={"steroid_mg_per_day": 40.0}))
    before = screen(data, load_params())
    after = screen(data, load_params(tmp_path / "off.yaml"))
    assert before.verdicts["verdict"].iloc[0] == "ineligible"
    assert after.verdicts["verdict"].iloc[0] == "eligible"
    e6 = after.outcomes.loc[after.outcomes["criterion_id"] == "E6"].iloc[0]
    assert e6["outcome"] == "not_applicable" and e6["evidence"] == "switched off in criteria version no E6"


def test_every_recorded_verdict_names_the_version_that_decided_it(tmp_path: Path) -> None:
    (tmp_path / "a2.yaml").write_text(AMENDMENT)
    history = tmp_path / "h.duckdb"
    record_run(history, screen_files(None))
    record_run(history, screen_files(None, tmp_path / "a2.yaml"))
    verdicts = read_table(history, "verdicts")
    assert sorted(verdicts["criteria_version"].unique()) == ["amendment 2", "default"]
    assert (verdicts.groupby("criteria_version").size() == 400).all()


@pytest.fixture(scope="module")
def demo() -> ScreeningDataset:
    return load_dataset(DEMO_DATASET)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limits=st.lists(st.sampled_from([0, 2.5, 5, 7.5, 10, 12.5, 15, 20, 25, 40, 60]), min_size=2, max_size=2,
                       unique=True).map(sorted))
def test_relaxing_one_limit_lists_exactly_the_patients_between_the_limits(demo: ScreeningDataset,
                                                                          limits: list[float]) -> None:
    strict, relaxed = limits
    a = screen(demo, load_params(overrides={"max_steroid_mg_per_day": strict}))
    b = screen(demo, load_params(overrides={"max_steroid_mg_per_day": relaxed}))
    diff = differences(a, b)
    # independently, from the raw column: a dose above the strict limit and within the relaxed one,
    # for patients whose E6 is not waived
    dose = demo.patients.set_index("patient_id")["steroid_mg_per_day"]
    waived = set(demo.overrides.loc[demo.overrides["criterion_id"].astype(str) == "E6", "patient_id"])
    between = {pid for pid, v in dose.items() if strict < v <= relaxed and pid not in waived}
    assert set(diff["criterion_id"]) <= {"E6"}
    assert set(diff["patient_id"]) == between
    assert (diff["outcome_a"] == "fail").all() and (diff["outcome_b"] == "pass").all()


def test_compare_command_resolves_versions_and_what_if_files(tmp_path: Path) -> None:
    label, path = resolve_criteria("what-if steroid 20 mg")
    assert path is not None and path.name == "what-if-steroid-20.yaml"
    assert main(["compare", str(DEMO_DATASET), "--criteria", "default", "--criteria", "what-if steroid 20 mg",
                 "--out", str(tmp_path / "c")]) == 0
    diff = pd.read_csv(tmp_path / "c" / "differences.csv", dtype=str)
    dose = load_dataset(DEMO_DATASET).patients.set_index("patient_id")["steroid_mg_per_day"]
    assert set(diff["patient_id"]) <= {pid for pid, v in dose.items() if 10 < v <= 20}
    counts = pd.read_csv(tmp_path / "c" / "site_counts.csv")
    assert counts["patients"].sum() == diff["patient_id"].nunique()
    assert main(["compare", str(DEMO_DATASET), "--criteria", "default", "--criteria", "no-such-version",
                 "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_criterion_impact_agrees_with_screening_again_with_the_criterion_switched_off(
        demo: ScreeningDataset, tmp_path: Path) -> None:
    from lifileucel_analysis.report.criterion_impact import criterion_impact

    base = screen(demo, load_params())
    impact = criterion_impact(base).set_index("criterion_id")
    now = base.verdicts.set_index("patient_id")["verdict"].astype(str)
    for cid in ("I7", "E6", "I4"):
        (tmp_path / f"{cid}.yaml").write_text(f"criteria_off: [{cid}]\n")
        without = screen(demo, load_params(tmp_path / f"{cid}.yaml")).verdicts.set_index("patient_id")["verdict"]
        moved = pd.DataFrame({"now": now, "without": without.astype(str)})
        assert impact.loc[cid, "eligible_without_it"] == ((moved["now"] != "eligible")
                                                         & (moved["without"] == "eligible")).sum()
        assert impact.loc[cid, "pending_without_it"] == ((moved["now"] == "ineligible")
                                                        & (moved["without"] == "pending")).sum()
        outcomes = base.outcomes.loc[base.outcomes["criterion_id"] == cid, "outcome"].astype(str)
        assert impact.loc[cid, "fail"] == (outcomes == "fail").sum()
    assert (impact["excluded_by_it_alone"] <= impact["fail"]).all()
