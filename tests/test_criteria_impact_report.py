"""The criteria impact report (issue 12 item 5): the current criteria (A) against a what-if (B).

A hand-built cohort of nine patients, identical to the eligible baseline but for the
steroid dose (and, for two, one more cell), screened under the package defaults (steroids
> 10 mg/day exclude) and under a what-if allowing 20 mg/day. Every expected value below is
worked out by hand from those doses, never taken from the code under test:

=========  =====  ====================  =========================  ===========================
patient    dose   other change          verdict A (limit 10)       verdict B (limit 20)
=========  =====  ====================  =========================  ===========================
S05        5                            eligible                   eligible
S10        10                           eligible (10 <= 10)        eligible
S105       10.5   site mskcc            ineligible (E6)            eligible
S12        12                           ineligible (E6)            eligible
S20        20                           ineligible (E6)            eligible (20 <= 20)
S25        25                           ineligible (E6)            ineligible (E6)
S15U       15     uveal melanoma        ineligible (E3, E6)        ineligible (E3)
S15P       15     ECOG blank            ineligible (E6; I6 unk.)   pending (I6 unknown)
SBL        blank                        pending (E6 unknown)       pending (E6 unknown)
=========  =====  ====================  =========================  ===========================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from helpers import Build, case_tables, concat_tables

from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.engine.parameters import ParamsError, load_params
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.paths import FIXTURE_DATASET, NOTEBOOKS_DIR, PROJECT_ROOT
from lifileucel_analysis.report import CriteriaImpactReport
from lifileucel_analysis.report.criteria_impact_report import NO_COMPARISON
from lifileucel_analysis.report.criteria_impact_tables import ComparedCriteria, impact_download_tables
from lifileucel_analysis.report.html_tables import HtmlTable, Markup
from lifileucel_analysis.report.screening_inputs import InputNotFoundError
from lifileucel_analysis.runner.report_downloads import screen_plan, write_report_downloads
from lifileucel_analysis.runner.plan import ReportParamsError, ReportSpec, load_report_plan

WHAT_IF = 'version: "steroids 20"\nmax_steroid_mg_per_day:\n  value: 20\n  source: "asked by the sponsor"\n'
PATIENTS = {
    "S05": {"steroid_mg_per_day": 5.0},
    "S10": {"steroid_mg_per_day": 10.0},
    "S105": {"steroid_mg_per_day": 10.5, "site_id": "mskcc"},
    "S12": {"steroid_mg_per_day": 12.0},
    "S20": {"steroid_mg_per_day": 20.0},
    "S25": {"steroid_mg_per_day": 25.0},
    "S15U": {"steroid_mg_per_day": 15.0, "melanoma_subtype": "uveal"},
    "S15P": {"steroid_mg_per_day": 15.0, "ecog": None},
    "SBL": {"steroid_mg_per_day": None},
}
VERDICT_A = {"S05": "eligible", "S10": "eligible", "S105": "ineligible", "S12": "ineligible", "S20": "ineligible",
             "S25": "ineligible", "S15U": "ineligible", "S15P": "ineligible", "SBL": "pending"}
VERDICT_B = {**VERDICT_A, "S105": "eligible", "S12": "eligible", "S20": "eligible", "S15P": "pending"}
BETWEEN_THE_LIMITS = {"S105", "S12", "S20", "S15U", "S15P"}
"""Doses above 10 and at most 20 mg/day: exactly the patients whose E6 outcome differs."""


@pytest.fixture(scope="module")
def cohort() -> ScreeningDataset:
    return ScreeningDataset(**concat_tables([case_tables(patient=changes, patient_id=pid)
                                             for pid, changes in PATIENTS.items()]))


@pytest.fixture(scope="module")
def what_if(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("criteria") / "what-if.yaml"
    path.write_text(WHAT_IF)
    return path


@pytest.fixture(scope="module")
def report(cohort: ScreeningDataset, what_if: Path) -> CriteriaImpactReport:
    params_b = load_params(what_if)
    compared = ComparedCriteria(what_if, params_b, screen(cohort, params_b))
    return CriteriaImpactReport.from_results(screen(cohort, load_params()), cohort, compared)


def _frame(shown: object) -> pd.DataFrame:
    assert isinstance(shown, HtmlTable)
    return shown.frame


# --------------------------------------------------------------------------- the comparison


def test_the_differences_are_the_patients_between_the_two_limits(report: CriteriaImpactReport) -> None:
    diff = _frame(report.differences())
    assert list(diff.columns) == ["patient_id", "site_id", "criterion", "outcome_A", "outcome_B",
                                  "verdict_A", "verdict_B", "evidence_A", "evidence_B"]
    assert set(diff["patient_id"]) == BETWEEN_THE_LIMITS
    assert set(diff["criterion"]) == {"E6 Steroids > 10 mg/day"}  # the ID and A's label
    assert (diff["outcome_A"] == "fail").all() and (diff["outcome_B"] == "pass").all()
    for row in diff.itertuples():
        assert (row.verdict_A, row.verdict_B) == (VERDICT_A[row.patient_id], VERDICT_B[row.patient_id])
    s12 = diff.set_index("patient_id").loc["S12"]
    assert (s12["evidence_A"], s12["evidence_B"]) == ("steroid 12 mg/day > 10", "steroid 12 mg/day <= 20")


def test_every_patient_is_counted_once_in_the_verdict_changes(report: CriteriaImpactReport) -> None:
    tables = report.verdict_changes().tables
    changes = tables[0].frame
    rows = list(changes[["change", "verdict_A", "verdict_B", "patients"]].itertuples(index=False, name=None))
    assert rows == [
        ("ineligible -> eligible", "ineligible", "eligible", 3),   # S105, S12, S20
        ("ineligible -> pending", "ineligible", "pending", 1),     # S15P
        ("criteria differ, same verdict", "ineligible", "ineligible", 1),  # S15U
        ("unchanged", "eligible", "eligible", 2),                  # S05, S10
        ("unchanged", "pending", "pending", 1),                    # SBL
        ("unchanged", "ineligible", "ineligible", 1),              # S25
    ]
    assert changes["share"].tolist() == pytest.approx([3 / 9, 1 / 9, 1 / 9, 2 / 9, 1 / 9, 1 / 9])
    check = dict(zip(tables[1].frame["check"], tables[1].frame["patients"]))
    assert check == {"patients screened (N in)": 9, "verdict differs between A and B": 4,
                     "criteria differ, same verdict": 1, "unchanged": 4, "patients counted once above (N out)": 9}


def test_the_summary_comes_first_and_states_every_direction(report: CriteriaImpactReport) -> None:
    assert report.verdict_moves() == {"ineligible -> eligible": 3, "ineligible -> pending": 1}
    header = report.page_header()
    for words in ("4 patients change verdict from A to B: ineligible -> eligible 3, ineligible -> pending 1",
                  "1 patient keeps its verdict with a criterion outcome that differs; 4 are unchanged",
                  "N in = N out: 9 screened, 9 counted once each",
                  "under A 2 eligible, 1 pending, 6 ineligible", "under B 5 eligible, 2 pending, 2 ineligible",
                  "Criteria A: default", "Criteria B: steroids 20"):
        assert words in header.text, words
    assert 'href="all-differences.xlsx"' in header.html and 'href="all-criterion-impact.csv"' in header.html
    assert 'href="#Verdicts-under-A-and-B"' in header.html


def test_counts_per_site(report: CriteriaImpactReport) -> None:
    counts = _frame(report.site_counts())
    assert list(counts.itertuples(index=False, name=None)) == [
        ("honorhealth", "criteria differ, same verdict", 1),
        ("honorhealth", "ineligible -> eligible", 2),
        ("honorhealth", "ineligible -> pending", 1),
        ("mskcc", "ineligible -> eligible", 1),
    ]


def test_the_criteria_compared_name_the_limit_and_its_source(report: CriteriaImpactReport) -> None:
    sides, limits = (t.frame for t in report.criteria_compared().tables)
    assert sides["version"].tolist() == ["default", "steroids 20"]
    assert limits.to_dict("records") == [{"parameter": "max_steroid_mg_per_day", "value_A": "10", "value_B": "20",
                                          "source_B": "asked by the sponsor"}]


# --------------------------------------------------------------------------- impact


def test_each_criterion_s_impact_on_the_current_screening(report: CriteriaImpactReport) -> None:
    impact = _frame(report.impact()).set_index("criterion_id")
    assert list(impact.index)[:3] == ["I1", "I2", "I3"] and list(impact.index)[-1] == "E11" and len(impact) == 19
    assert impact.loc["E6", "criterion"] == "Steroids > 10 mg/day"
    expected = {
        # fail: the six doses > 10; unknown: SBL; alone: all but S15U (also E3); eligible without it: the four
        # with E6 as only failure and nothing unknown, plus SBL (pending on E6 alone); pending without: S15P.
        "E6": (6, 1, 5, 5, 1),
        "E3": (1, 0, 0, 0, 0),  # S15U also fails E6
        "I6": (0, 1, 0, 0, 0),  # S15P's blank ECOG; it also fails E6
    }
    columns = ["fail", "unknown", "excluded_by_it_alone", "eligible_without_it", "pending_without_it"]
    for cid in impact.index:
        assert tuple(int(v) for v in impact.loc[cid, columns]) == expected.get(cid, (0, 0, 0, 0, 0)), cid


def test_the_impact_figure_draws_the_table_and_says_it_in_words(report: CriteriaImpactReport) -> None:
    fig = report.impact_chart()
    ax = next(a for a in fig.axes if a.get_label() == "impact")
    impact = _frame(report.impact())
    bars = {c.get_label(): [round(p.get_width()) for p in c.patches] for c in ax.containers}
    assert bars["excluded by it alone"] == impact["excluded_by_it_alone"].tolist()
    assert bars["eligible without it"] == impact["eligible_without_it"].tolist()
    assert bars["pending without it"] == impact["pending_without_it"].tolist()
    assert [t.get_text().split()[0] for t in ax.get_yticklabels()][:2] == ["I1", "I2"]  # protocol order, I1 on top
    assert "of 9 patients screened" in fig.alt_text and "excluded by it alone: E6 5" in fig.alt_text
    assert "pending without it: E6 1" in fig.alt_text


def test_downloads_are_the_page_tables(report: CriteriaImpactReport, cohort: ScreeningDataset) -> None:
    assert report.compared is not None
    tables = impact_download_tables(report.current, report.compared.result)
    assert list(tables) == ["differences", "criterion-impact"]
    pd.testing.assert_frame_equal(tables["differences"], _frame(report.differences()))
    pd.testing.assert_frame_equal(tables["criterion-impact"], _frame(report.impact()))


# --------------------------------------------------------------------------- without a comparison


def test_a_blank_compare_with_keeps_only_the_impact(cohort: ScreeningDataset, report: CriteriaImpactReport) -> None:
    alone = CriteriaImpactReport.from_results(report.current, cohort)
    for section in (alone.verdict_changes(), alone.differences(), alone.site_counts(), alone.criteria_compared()):
        assert isinstance(section, Markup) and section.text == NO_COMPARISON
    assert NO_COMPARISON in alone.page_header().text
    pd.testing.assert_frame_equal(_frame(alone.impact()), _frame(report.impact()))
    tables = impact_download_tables(alone.current, None)
    assert tables["differences"].empty and list(tables["differences"].columns) == list(
        _frame(report.differences()).columns)


# --------------------------------------------------------------------------- from files


@pytest.fixture(scope="module")
def cohort_folder(cohort: ScreeningDataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cohort") / "site_data"
    write_tables({name: cohort.table(name) for name in ("patients", "therapies", "labs", "toxicities", "overrides")},
                 folder)
    return folder


def test_build_reads_both_criteria_files_by_the_path_rule(cohort_folder: Path, what_if: Path) -> None:
    built = CriteriaImpactReport.build(dataset=str(cohort_folder), compare_with=str(what_if))
    assert set(_frame(built.differences())["patient_id"]) == BETWEEN_THE_LIMITS
    shown = built.run_parameters().tables[0].frame.set_index("parameter")
    # an absolute path is shown without its folders, so the page holds nothing of this machine
    assert shown.loc["compare_with", "value given"] == ".../what-if.yaml (absolute path)"
    page = built.run_parameters()._repr_html_() + built.provenance()._repr_html_()
    assert str(what_if.parent) not in page and str(cohort_folder.parent) not in page
    # the packaged default: relative to the project root, wherever the kernel runs
    default = CriteriaImpactReport.build(dataset=str(cohort_folder),
                                         compare_with="params/criteria/what-if-steroid-20.yaml")
    assert set(_frame(default.differences())["patient_id"]) == BETWEEN_THE_LIMITS


def test_compare_with_takes_what_compare_criteria_takes(cohort_folder: Path) -> None:
    # A new user's walk-through (review 24): `compare --criteria "what-if steroid 20 mg"` worked, the notebook's
    # compare_with refused the same label. The label is the file's version; "default" the package defaults.
    by_label = CriteriaImpactReport.build(dataset=str(cohort_folder), compare_with="what-if steroid 20 mg")
    assert set(_frame(by_label.differences())["patient_id"]) == BETWEEN_THE_LIMITS
    same = CriteriaImpactReport.build(dataset=str(cohort_folder), compare_with="default")
    assert _frame(same.differences()).empty
    with pytest.raises(InputNotFoundError, match="or name a criteria version: default, what-if steroid 20 mg"):
        CriteriaImpactReport.build(dataset=str(cohort_folder), compare_with="what-if steroid 30 mg")


def test_build_refuses_a_missing_or_unusable_criteria_file(cohort_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="compare_with no-such.yaml not found"):
        CriteriaImpactReport.build(dataset=str(cohort_folder), compare_with="no-such.yaml")
    (tmp_path / "bad.yaml").write_text("max_steroid_mg_per_dy: 20\n")
    with pytest.raises(ParamsError, match="unknown key"):
        CriteriaImpactReport.build(dataset=str(cohort_folder), compare_with=str(tmp_path / "bad.yaml"))


@pytest.mark.parametrize(("value", "why"), [
    ("/etc/what-if.yaml", "absolute paths are refused"),
    ("../what-if.yaml", "'..' is refused"),
    ("params\\\\what-if.yaml", "backslashes are refused"),
    ("params/no-such.yaml", "no such file"),
    ("what-if steroid 30 mg", "no such file"),  # neither a file nor a version label of params/criteria/
    ("params/bad.yaml", "unknown key"),
])
def test_the_build_checks_compare_with_like_criteria_params(tmp_path: Path, notebook_factory: Callable[..., Path],
                                                            value: str, why: str) -> None:
    notebook_factory(tmp_path / "notebooks" / "impact.ipynb",
                     'dataset: str = ""\ncriteria_params: str = ""\ncompare_with: str = ""', ["1"])
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "bad.yaml").write_text("max_steroid_mg_per_dy: 20\n")
    (tmp_path / "params" / "program.yaml").write_text(f'impact:\n  compare_with: "{value}"\n')
    with pytest.raises(ReportParamsError) as caught:
        load_report_plan(tmp_path / "params", tmp_path / "notebooks", tmp_path, require_every_site=False)
    assert "key 'compare_with'" in str(caught.value) and why in str(caught.value)


@pytest.mark.parametrize("value", ["default", "what-if steroid 20 mg"])
def test_the_build_takes_a_criteria_version_label_for_compare_with(tmp_path: Path,
                                                                   notebook_factory: Callable[..., Path],
                                                                   value: str) -> None:
    notebook_factory(tmp_path / "notebooks" / "impact.ipynb",
                     'dataset: str = ""\ncriteria_params: str = ""\ncompare_with: str = ""', ["1"])
    (tmp_path / "params" / "criteria").mkdir(parents=True)
    (tmp_path / "params" / "criteria" / "steroid.yaml").write_text('version: "what-if steroid 20 mg"\n'
                                                                    "max_steroid_mg_per_day: 20\n")
    (tmp_path / "params" / "program.yaml").write_text(f'impact:\n  compare_with: "{value}"\n')
    [spec] = load_report_plan(tmp_path / "params", tmp_path / "notebooks", tmp_path, require_every_site=False)
    assert spec.parameters["compare_with"] == value


def test_the_build_writes_the_page_downloads_with_the_notebook_default(cohort_folder: Path, tmp_path: Path) -> None:
    """``compare_with`` left out of the plan: the downloads use the notebook's default, as the page does."""
    spec = ReportSpec("criteria_impact", {}, "params/program.yaml")
    written = write_report_downloads([spec], tmp_path, screen_plan([spec], cohort_folder), None, NOTEBOOKS_DIR)
    assert sorted(p.name for p in written) == ["all-criterion-impact.csv", "all-criterion-impact.xlsx",
                                               "all-differences.csv", "all-differences.xlsx"]
    diff = pd.read_csv(tmp_path / "criteria_impact" / "all-differences.csv", dtype=str)
    assert set(diff["patient"]) == BETWEEN_THE_LIMITS and set(diff["outcome B"]) == {"pass"}
    impact = pd.read_csv(tmp_path / "criteria_impact" / "all-criterion-impact.csv").set_index("criterion ID")
    assert impact.loc["E6", "excluded by it alone"] == 5 and len(impact) == 19


# --------------------------------------------------------------------------- the built page


@pytest.mark.slow
def test_the_built_page_has_its_sections_downloads_and_the_fixture_s_differences(built_reports: Build) -> None:
    folder = built_reports.out / "criteria_impact"
    page = (folder / "all.html").read_text(encoding="utf-8")
    for heading in ("Verdicts under A and B", "Differences, patient by patient", "Differences per site",
                    "The criteria compared", "Impact of each criterion on the current screening", "Legend",
                    "Appendix: parameters and provenance", "Reconciliation: N in = N out", "N in = N out: 40 screened"):
        assert heading in page, heading
    assert 'alt="Bars per criterion in record order' in page
    # independently of the screening: fixture patients with 10 < dose <= 20 mg/day and no E6 waiver
    data = load_dataset(FIXTURE_DATASET)
    dose = data.patients.set_index("patient_id")["steroid_mg_per_day"]
    waived = set(data.overrides.loc[data.overrides["criterion_id"].astype(str) == "E6", "patient_id"])
    between = {str(p) for p, v in dose.items() if pd.notna(v) and 10 < v <= 20 and p not in waived}
    diff = pd.read_csv(folder / "all-differences.csv", dtype=str)
    assert between and set(diff["patient"]) == between
    impact = pd.read_csv(folder / "all-criterion-impact.csv")
    assert impact["criterion ID"].tolist()[0] == "I1" and len(impact) == 19
    assert (folder / "all-differences.xlsx").is_file() and (folder / "all-criterion-impact.xlsx").is_file()
    assert str(PROJECT_ROOT) not in page


def test_at_a_cut_the_header_accounts_for_every_patient_of_the_dataset() -> None:
    cut = "2026-03-31"
    consent = pd.read_csv(FIXTURE_DATASET / "patients.csv", dtype=str)["consent_date"]
    after = int((consent > cut).sum())
    header = CriteriaImpactReport.build(dataset=str(FIXTURE_DATASET), cut_date=cut).page_header()
    account = (f"{len(consent)} patients in the dataset: {after} consented after the data cut {cut} (set aside, "
               f"not screened), {len(consent) - after} screened.")
    assert f"<p>{account}</p>" in header.html and account in header.text
