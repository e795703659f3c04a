"""HTML rendering of the report layer: escaping, determinism, formatting, parameters, paths."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from lifileucel_analysis.report import eligibility_report as report_module
from lifileucel_analysis.contract import schema
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.paths import PROJECT_ROOT
from lifileucel_analysis.report.eligibility_report import EligibilityReport, HtmlTable, Tables, display_frame
from lifileucel_analysis.engine.screening import screen
from test_cli import ELIGIBLE

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert('x')&lt;/script&gt;"

LABS = [("anc", 1.5, "10^9/L"), ("platelets", 150, "10^9/L"), ("hemoglobin", 12, "g/dL"), ("ast", 30, "U/L"),
        ("alt", 30, "U/L"), ("total_bilirubin", 1.0, "mg/dL"), ("creatinine_clearance", 80, "mL/min")]


def hostile_dataset() -> ScreeningDataset:
    """Three patients whose free text carries markup.

    H1 eligible with an override whose approver and reason are scripts; H2 ineligible on E2
    with a toxicity term that is a script; H3 with an agent name that is a script (a
    data-quality finding) and a blank ECOG (pending).
    """
    patients = [dict(ELIGIBLE, patient_id="H1"), dict(ELIGIBLE, patient_id="H2"),
                dict(ELIGIBLE, patient_id="H3", ecog=None, site_id="honorhealth")]
    therapies = [dict(patient_id=p, line=1, setting="metastatic", agents="nivolumab", start_date="2024-01-01",
                      end_date="2024-06-01", best_response="pd", stop_reason="progression") for p in ("H1", "H2")]
    therapies.append(dict(patient_id="H3", line=1, setting="metastatic", agents=f"nivolumab+{SCRIPT}",
                          start_date="2024-01-01", end_date="2024-06-01", best_response="pd",
                          stop_reason="progression"))
    labs = [dict(patient_id=p, test=t, value=v, unit=u, uln=40 if t in ("ast", "alt") else None,
                 collected_date="2025-02-20") for p in ("H1", "H2", "H3") for t, v, u in LABS]
    toxicities = [dict(patient_id="H2", term=SCRIPT, category="other", grade=3, ongoing="yes")]
    overrides = [dict(patient_id="H1", criterion_id="E6", approved_by=SCRIPT, approved_date="2025-03-02",
                      reason=f"reason {SCRIPT} & more")]
    return ScreeningDataset(
        patients=schema.coerce("patients", pd.DataFrame(patients)),
        therapies=schema.coerce("therapies", pd.DataFrame(therapies)),
        labs=schema.coerce("labs", pd.DataFrame(labs)),
        toxicities=schema.coerce("toxicities", pd.DataFrame(toxicities)),
        overrides=schema.coerce("overrides", pd.DataFrame(overrides)),
        source="hostile test data",
    )


@pytest.fixture(scope="module")
def hostile_report() -> EligibilityReport:
    dataset = hostile_dataset()
    return EligibilityReport.from_result(screen(dataset, load_params()), dataset)


def assert_escaped(markup: str) -> None:
    assert "<script" not in markup.lower()
    assert ESCAPED in markup


# --------------------------------------------------------------------------- escaping


def test_html_table_escapes_values_headers_caption_and_note() -> None:
    frame = pd.DataFrame({SCRIPT: [SCRIPT, "a & b"]})
    markup = HtmlTable(frame, caption=SCRIPT, note=SCRIPT).to_html()
    assert "<script" not in markup
    assert markup.count(ESCAPED) == 4  # header, value, caption, note
    assert "a &amp; b" in markup


def test_waiver_approver_and_reason_are_escaped(hostile_report: EligibilityReport) -> None:
    markup = hostile_report.waivers()._repr_html_()
    assert_escaped(markup)
    assert "reason " + ESCAPED + " &amp; more" in markup


def test_toxicity_term_in_evidence_is_escaped(hostile_report: EligibilityReport) -> None:
    details = hostile_report.result.outcomes
    e2 = details[(details["patient_id"] == "H2") & (details["criterion_id"] == "E2")].iloc[0]
    assert e2["outcome"] == "fail" and SCRIPT in e2["evidence"]  # the raw evidence carries the term
    assert_escaped(hostile_report.failure_details()._repr_html_())


def test_unknown_agent_finding_is_escaped(hostile_report: EligibilityReport) -> None:
    assert SCRIPT in hostile_report.result.findings["value"].tolist()
    assert_escaped(hostile_report.findings()._repr_html_())


def test_no_section_renders_raw_markup(hostile_report: EligibilityReport) -> None:
    for name in ("scope", "run_parameters", "provenance", "verdict_counts", "screening_log", "failure_details",
                 "pending_worklist", "waivers", "findings", "site_facts", "key_figures", "failure_reasons",
                 "unknown_rates", "monthly_counts", "table_one", "site_comparison"):
        markup = getattr(hostile_report, name)()._repr_html_()
        assert "<script" not in markup.lower(), name


# --------------------------------------------------------------------------- determinism


def test_html_has_no_ids_addresses_or_timestamps(hostile_report: EligibilityReport) -> None:
    markup = "\n".join(getattr(hostile_report, name)()._repr_html_() for name in (
        "scope", "verdict_counts", "screening_log", "pending_worklist", "waivers", "findings", "table_one",
        "site_comparison", "failure_reasons", "run_parameters"))
    assert not re.search(r"\bid=", markup)
    assert not re.search(r"0x[0-9a-f]{6,}", markup)
    assert "T_" not in markup  # pandas Styler ids
    assert "<th></th>" not in markup  # no index column


def test_rendering_twice_gives_identical_html() -> None:
    dataset = hostile_dataset()
    first = EligibilityReport.from_result(screen(dataset, load_params()), dataset)
    second = EligibilityReport.from_result(screen(dataset, load_params()), dataset)
    for name in ("screening_log", "table_one", "provenance", "failure_reasons"):
        assert getattr(first, name)()._repr_html_() == getattr(second, name)()._repr_html_()


def test_plain_text_repr_is_short_and_stable() -> None:
    table = HtmlTable(pd.DataFrame({"a": [1, 2]}), caption="Counts")
    assert repr(table) == "Counts [2 rows x 1 columns]"
    assert repr(Tables((table, table))) == "Counts [2 rows x 1 columns]\nCounts [2 rows x 1 columns]"


# --------------------------------------------------------------------------- formatting


def test_display_frame_formats_dates_percentages_and_blanks() -> None:
    frame = pd.DataFrame({
        "consent_date": pd.to_datetime(["2025-01-02", None]).astype("datetime64[s]"),
        "eligible_share": [0.125, float("nan")],
        "patients": [3, 4],
        "lesion": [1.5, float("nan")],
        "site_id": ["mskcc", None],
    })
    shown = display_frame(frame)
    assert shown.columns.tolist() == ["consent date", "eligible (%)", "patients", "lesion", "site"]
    assert shown.iloc[0].tolist() == ["2025-01-02", "12.5%", "3", "1.5", "mskcc"]
    assert shown.iloc[1].tolist() == ["", "", "4", "", ""]


def test_blank_repeats_prints_group_values_once() -> None:
    frame = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "criterion_id": ["I6", "E5", "I6"]})
    shown = display_frame(frame, blank_repeats=("patient_id",))
    assert shown["patient"].tolist() == ["P1", "", "P2"]


def test_empty_table_says_so() -> None:
    markup = HtmlTable(pd.DataFrame({"a": []}), caption="Waivers", empty="No waivers were applied.").to_html()
    assert "No waivers were applied." in markup and "<table" not in markup


# --------------------------------------------------------------------------- sections


def test_verdict_counts_section_shows_the_reconciliation(hostile_report: EligibilityReport) -> None:
    markup = hostile_report.verdict_counts()._repr_html_()
    assert "patients in the input (N in)</td>\n      <td>3</td>" in markup
    assert "patients with a verdict (N out)</td>\n      <td>3</td>" in markup


def test_site_report_keeps_only_that_site() -> None:
    dataset = hostile_dataset()
    site_report = EligibilityReport.from_result(screen(dataset, load_params()), dataset, site="honorhealth")
    assert site_report.result.verdicts["patient_id"].tolist() == ["H3"]
    assert site_report.program.verdicts["patient_id"].tolist() == ["H1", "H2", "H3"]
    assert site_report.scope().text == "HonorHealth Research and Innovation Institute (honorhealth)"
    assert "Scottsdale, AZ 85258" in site_report.site_facts()._repr_html_()


def test_unknown_site_is_refused() -> None:
    dataset = hostile_dataset()
    with pytest.raises(ValueError, match="unknown site 'nowhere'"):
        EligibilityReport.from_result(screen(dataset, load_params()), dataset, site="nowhere")


def test_run_parameters_are_a_table_with_every_criteria_limit(hostile_report: EligibilityReport) -> None:
    parameters = report_module.criteria_parameter_table(load_params(overrides={"min_lesion_cm": 2.0}))
    row = parameters.set_index("parameter").loc["min_lesion_cm"]
    assert (row["value"], row["default"], row["changed"]) == ("2", "1.5", "yes")
    assert row["source"].startswith("I4")
    markup = hostile_report.run_parameters()._repr_html_()
    assert "live_vaccine_window_days" in markup and "<table" in markup


def test_provenance_fingerprints_the_dataset_files(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id\nP1\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not part of the dataset", encoding="utf-8")
    first = report_module.dataset_fingerprint(folder)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    (folder / "notes.txt").write_text("changed", encoding="utf-8")
    assert report_module.dataset_fingerprint(folder) == first  # only table files count
    (folder / "patients.csv").write_text("patient_id\nP2\n", encoding="utf-8")
    assert report_module.dataset_fingerprint(folder) != first


def test_paths_inside_the_project_are_shown_relative() -> None:
    assert report_module.display_path(PROJECT_ROOT / "params" / "criteria.yaml") == "params/criteria.yaml"


def test_paths_outside_the_project_are_shown_as_name_and_fingerprint(tmp_path: Path) -> None:
    """Same data, different folders: the same text, and no absolute path of this machine."""
    shown = []
    for where in ("a", "b/c"):
        folder = tmp_path / where / "site_data"
        folder.mkdir(parents=True)
        (folder / "patients.csv").write_text("patient_id\nP1\n", encoding="utf-8")
        shown.append(report_module.display_path(folder))
    fingerprint = report_module.dataset_fingerprint(tmp_path / "a" / "site_data")
    assert shown[0] == shown[1] == f"site_data (outside the project, SHA-256 {fingerprint[:12]})"
    assert str(tmp_path) not in shown[0]


def test_an_absolute_path_given_is_shown_without_its_folders() -> None:
    assert report_module.display_given("/home/ana/sites/site_data") == ".../site_data (absolute path)"
    assert report_module.display_given("../data/x") == "../data/x"
    assert report_module.display_given("params/x.yaml") == "params/x.yaml"


def test_resolve_path_defaults_cwd_then_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "default"
    assert report_module.resolve_path("", default) == default
    monkeypatch.chdir(tmp_path)
    assert report_module.resolve_path("params/criteria.yaml", default) == (PROJECT_ROOT / "params/criteria.yaml")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "criteria.yaml").write_text("{}", encoding="utf-8")
    assert report_module.resolve_path("params/criteria.yaml", default) == (tmp_path / "params/criteria.yaml")
    with pytest.raises(FileNotFoundError, match="no_such_file.yaml not found"):
        report_module.resolve_path("no_such_file.yaml", default)


def test_build_refuses_an_unknown_site_before_loading_anything() -> None:
    with pytest.raises(ValueError, match="unknown site"):
        EligibilityReport.build(site="MSKCC")


def _write_csv_dataset(dataset: ScreeningDataset, folder: Path) -> None:
    """Write typed frames as contract CSV (yes/no, ISO dates, blank cells)."""
    folder.mkdir()
    for name in schema.TABLES:
        frame = dataset.table(name).copy()
        for column in frame.columns:
            if str(frame[column].dtype) == "boolean":
                frame[column] = frame[column].map({True: "yes", False: "no"})
            elif pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        frame.to_csv(folder / f"{name}.csv", index=False)


def test_build_loads_screens_and_renders_from_any_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_csv_dataset(hostile_dataset(), tmp_path / "site_data")
    limits = tmp_path / "limits.yaml"
    limits.write_text("min_lesion_cm: 2.5\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    built = EligibilityReport.build(site="mskcc", dataset="site_data", criteria_params=str(limits))
    assert built.result.verdicts["patient_id"].tolist() == ["H1", "H2"]
    assert built.program.params.min_lesion_cm == 2.5  # lesions of 2.0 cm now fail I4
    assert set(built.result.verdicts["verdict"].astype(str)) == {"ineligible"}
    parameters = built.run_parameters()._repr_html_()
    assert "<td>site_data</td>" in parameters and "overridden by" in parameters
    assert ".../limits.yaml (absolute path)" in parameters
    assert "limits.yaml (outside the project, SHA-256 " in parameters
    provenance = built.provenance()._repr_html_()
    assert re.search(r"dataset SHA-256</td>\s*<td>[0-9a-f]{64}</td>", provenance)
    assert "site_data (outside the project, SHA-256 " in provenance
    for markup in (parameters, provenance):
        assert str(tmp_path) not in markup, "a report shows an absolute path of this machine"
    assert_escaped(built.waivers()._repr_html_())
