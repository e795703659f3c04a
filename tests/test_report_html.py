"""HTML rendering of the report layer: escaping, determinism, formatting, parameters, paths."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from helpers import lab_rows, override_row, patient_row, therapy_row, toxicity_row, typed_tables
from matplotlib._pylab_helpers import Gcf

from lifileucel_analysis.contract.dataset import ContractError
from lifileucel_analysis.report import eligibility_report as report_module
from lifileucel_analysis.report import screening_inputs
from lifileucel_analysis.report.provenance import (
    collect_provenance,
    dataset_fingerprint,
    dataset_label,
    display_given,
    display_path,
    python_version,
)
from lifileucel_analysis.contract import schema
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.paths import DEMO_DATASET, FIXTURE_DATASET, PARAMS_DIR, PROJECT_ROOT
from lifileucel_analysis.report.eligibility_report import EligibilityReport
from lifileucel_analysis.report.html_tables import HtmlTable, Tables, display_frame
from lifileucel_analysis.engine.screening import screen

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert('x')&lt;/script&gt;"


def hostile_dataset() -> ScreeningDataset:
    """Three patients whose free text carries markup.

    H1 eligible with an override whose approver and reason are scripts; H2 ineligible on E2
    with a toxicity term that is a script; H3 with an agent name that is a script (a
    data-quality finding) and a blank ECOG (pending).
    """
    tables = typed_tables({
        "patients": [patient_row("H1", site_id="mskcc"), patient_row("H2", site_id="mskcc"),
                     patient_row("H3", ecog=None, site_id="honorhealth")],
        "therapies": [therapy_row("H1"), therapy_row("H2"), therapy_row("H3", agents=f"nivolumab+{SCRIPT}")],
        "labs": [lab for p in ("H1", "H2", "H3") for lab in lab_rows(p)],
        "toxicities": [toxicity_row("H2", term=SCRIPT, category="other", grade=3, ongoing="yes")],
        "overrides": [override_row("H1", "E6", approved_by=SCRIPT, reason=f"reason {SCRIPT} & more")],
    })
    return ScreeningDataset(**tables, source="hostile test data")


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
    # the value is the agents cell as recorded; the finding quotes the unknown name exactly
    assert any(SCRIPT in value for value in hostile_report.result.findings["value"].tolist())
    assert any(f"classify agent '{SCRIPT}'" in text for text in hostile_report.result.findings["finding"].tolist())
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
    assert repr(table) == "Counts [2 rows x 1 column]"
    assert repr(Tables((table, table))) == "Counts [2 rows x 1 column]\nCounts [2 rows x 1 column]"


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


def test_object_columns_of_texts_and_blanks_read_as_each_value_would() -> None:
    """A column of texts with blanks of every kind (the worklist's NMA-LD status) and one mixing
    texts with other values both show what :func:`format_value` shows for each cell."""
    texts = pd.Series(["2025-03-18: date passed", None, float("nan"), pd.NA, "not scheduled"], dtype=object)
    mixed = pd.Series(["a", 2.5, None, pd.Timestamp("2025-01-02"), True], dtype=object)
    shown = display_frame(pd.DataFrame({"nmald": texts, "value": mixed}))
    assert shown["NMA-LD"].tolist() == ["2025-03-18: date passed", "", "", "", "not scheduled"]
    assert shown["value"].tolist() == ["a", "2.5", "", "2025-01-02", "yes"]


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


def test_a_site_summary_of_all_sites_is_refused_as_the_build_refuses_it() -> None:
    # Run alone (JupyterLab, papermill), the site summary rendered "All sites" (review 24C); the build's
    # plan refuses site "all" for it, and the eligibility report and program overview still take it.
    dataset = hostile_dataset()
    program = EligibilityReport.from_result(screen(dataset, load_params()), dataset)
    with pytest.raises(ValueError, match="a site summary is one site's page"):
        program.page_header("site_summary")
    assert "All sites" in program.page_header("eligibility_report").text
    assert "All sites" in program.page_header("program_overview").text


def test_the_site_summary_notebook_refuses_all_sites_before_reading_the_dataset() -> None:
    # The notebook passes page="site_summary" to build: the refusal comes before the dataset is looked
    # for (a dataset that does not exist would otherwise raise first), not after a whole screening.
    with pytest.raises(ValueError, match="a site summary is one site's page"):
        EligibilityReport.build(site="all", dataset="no/such/dataset", page="site_summary")
    with pytest.raises(ContractError, match="no such file or folder"):  # other pages take "all"
        EligibilityReport.build(site="all", dataset="no/such/dataset", page="eligibility_report")
    # A mistyped site: the site summary offers the site codes, not "all", which it refuses (review 29E).
    with pytest.raises(ValueError, match=r"did you mean 'mskcc'\? use one of [a-z, -]+$") as refused:
        EligibilityReport.build(site="mskc", dataset="no/such/dataset", page="site_summary")
    assert "'all'" not in str(refused.value)
    with pytest.raises(ValueError, match=r"use one of .* or 'all'$"):
        EligibilityReport.build(site="mskc", dataset="no/such/dataset", page="eligibility_report")
    source = json.loads((PROJECT_ROOT / "notebooks" / "site_summary.ipynb").read_text(encoding="utf-8"))
    build_cells = ["".join(c["source"]) for c in source["cells"] if "EligibilityReport.build(" in "".join(c["source"])]
    assert len(build_cells) == 1 and 'page="site_summary"' in build_cells[0]


def test_run_parameters_are_a_table_with_every_criteria_limit(hostile_report: EligibilityReport) -> None:
    parameters = report_module.criteria_parameter_table(load_params(overrides={"min_lesion_cm": 2.0}))
    row = parameters.set_index("parameter").loc["min_lesion_cm"]
    assert (row["value"], row["default"], row["changed"]) == ("2", "1.5", "yes")
    # A changed value with no source of its own never shows the default's as its support (audit 41A).
    assert row["source"].startswith("for the default 1.5, not this value: I4"), row["source"]
    assert parameters.set_index("parameter").loc["max_ecog", "source"].startswith("I6")  # unchanged: the default's
    markup = hostile_report.run_parameters()._repr_html_()
    assert "live_vaccine_window_days" in markup and "<table" in markup


def test_a_criteria_files_own_source_is_the_parameters_source(tmp_path: Path) -> None:
    criteria = tmp_path / "what-if.yaml"
    criteria.write_text("max_steroid_mg_per_day:\n  value: 20\n  source: \"what-if asked by the sponsor\"\n"
                        "min_lesion_cm: 2\n", encoding="utf-8")
    params = load_params(criteria)
    table = report_module.criteria_parameter_table(params, criteria).set_index("parameter")["source"]
    assert table["max_steroid_mg_per_day"] == "what-if asked by the sponsor"
    assert table["min_lesion_cm"] == "set in what-if.yaml"


def test_a_default_source_copied_beside_a_new_value_is_not_its_support(tmp_path: Path) -> None:
    # Review 41: a copy of the defaults file with one value edited keeps the default's source beside it.
    from lifileucel_analysis.engine.parameters import parameter_sources
    from lifileucel_analysis.report.criteria_impact_tables import limit_differences

    default_source = parameter_sources()["max_ecog"]
    criteria = tmp_path / "copy.yaml"
    criteria.write_text(f"max_ecog:\n  value: 2\n  source: {json.dumps(default_source)}\n", encoding="utf-8")
    params = load_params(criteria)
    table = report_module.criteria_parameter_table(params, criteria).set_index("parameter")["source"]
    assert table["max_ecog"] == f"for the default 1, not this value: {default_source}"
    differ = limit_differences(load_params(), params, criteria).set_index("parameter")["source_B"]
    assert differ["max_ecog"] == f"for the default 1, not this value: {default_source}"


def test_provenance_fingerprints_the_dataset_files(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id\nP1\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not part of the dataset", encoding="utf-8")
    first = dataset_fingerprint(folder)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    (folder / "notes.txt").write_text("changed", encoding="utf-8")
    assert dataset_fingerprint(folder) == first  # only table files count
    (folder / "patients.csv").write_text("patient_id\nP2\n", encoding="utf-8")
    assert dataset_fingerprint(folder) != first


def test_paths_inside_the_project_are_shown_relative() -> None:
    assert display_path(PROJECT_ROOT / "params" / "criteria.yaml") == "params/criteria.yaml"


def test_paths_outside_the_project_are_shown_as_name_and_fingerprint(tmp_path: Path) -> None:
    """Same data, different folders: the same text, and no absolute path of this machine."""
    shown = []
    for where in ("a", "b/c"):
        folder = tmp_path / where / "site_data"
        folder.mkdir(parents=True)
        (folder / "patients.csv").write_text("patient_id\nP1\n", encoding="utf-8")
        shown.append(display_path(folder))
    fingerprint = dataset_fingerprint(tmp_path / "a" / "site_data")
    assert shown[0] == shown[1] == f"site_data (outside the project, SHA-256 {fingerprint[:12]})"
    assert str(tmp_path) not in shown[0]


def test_an_absolute_path_given_is_shown_without_its_folders() -> None:
    assert display_given("/home/ana/sites/site_data") == ".../site_data (absolute path)"
    assert display_given("../data/x") == "../data/x"
    assert display_given("params/x.yaml") == "params/x.yaml"


def test_a_relative_path_out_of_the_project_shows_no_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from lifileucel_analysis.paths import PROJECT_ROOT

    (tmp_path / "site_data").mkdir()
    monkeypatch.chdir(PROJECT_ROOT / "notebooks")  # where JupyterLab and papermill run a notebook
    typed = os.path.relpath(tmp_path / "site_data", PROJECT_ROOT / "notebooks")
    assert typed.startswith("..") and str(tmp_path.parent.name) in typed
    assert display_given(typed) == ".../site_data (outside the project)"
    assert display_given("../lifileucel_analysis/data/demo") == "../lifileucel_analysis/data/demo"  # inside: as typed
    assert display_given("../no/such/folder") == "../no/such/folder"  # not found: the page's error names it


def test_resolve_path_defaults_cwd_then_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "default"
    assert screening_inputs.resolve_input_path("", default) == default
    assert screening_inputs.resolve_input_path(None, default) == default
    monkeypatch.chdir(tmp_path)
    in_project = PROJECT_ROOT / "params/program.yaml"
    assert screening_inputs.resolve_input_path("params/program.yaml", default) == in_project
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "program.yaml").write_text("{}", encoding="utf-8")
    assert screening_inputs.resolve_input_path("params/program.yaml", default) == (tmp_path / "params/program.yaml")
    with pytest.raises(FileNotFoundError, match="no_such_file.yaml not found"):
        screening_inputs.resolve_input_path("no_such_file.yaml", default)
    # base: where a relative path is looked up first (the working directory by default)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "params").mkdir(parents=True)
    (elsewhere / "params" / "criteria.yaml").write_text("{}", encoding="utf-8")
    found = screening_inputs.resolve_input_path("params/criteria.yaml", default, base=elsewhere)
    assert found == elsewhere / "params/criteria.yaml"


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
    # The criteria headings name the run's limit, not the default one.
    assert "Resectable lesion &gt;= 2.5 cm" in built.failure_details()._repr_html_()


def test_building_and_drawing_a_report_leaves_matplotlib_alone() -> None:
    before_rc = dict(matplotlib.rcParams)
    before_figures = Gcf.get_num_fig_managers()
    built = EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET))
    built.outcome_grid()._repr_png_()
    assert dict(matplotlib.rcParams) == before_rc
    assert Gcf.get_num_fig_managers() == before_figures


def test_screen_files_resolves_paths_by_the_one_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the project: the relative path is found in the project root
    defaults = "lifileucel_analysis/data/criteria_defaults.yaml"  # a complete criteria file inside the project
    inputs = screening_inputs.screen_files("lifileucel_analysis/data/fixture", defaults)
    assert inputs.dataset_path == FIXTURE_DATASET.resolve()
    assert inputs.criteria_params_path == (PROJECT_ROOT / defaults).resolve()
    assert inputs.result.n_in == len(inputs.dataset.patients) == len(inputs.result.verdicts)
    assert inputs.params == inputs.result.params == load_params()
    assert screening_inputs.screen_files(FIXTURE_DATASET).criteria_params_path is None  # blank: defaults only
    with pytest.raises(ContractError, match="(?s)no_such_folder.*no such file or folder"):
        screening_inputs.screen_files("no_such_folder")  # a missing dataset is a contract problem
    with pytest.raises(screening_inputs.InputNotFoundError, match="criteria parameters nope.yaml not found"):
        screening_inputs.screen_files(FIXTURE_DATASET, "nope.yaml")
    assert issubclass(screening_inputs.InputNotFoundError, FileNotFoundError)


def test_paths_and_provenance_import_no_matplotlib() -> None:
    code = ("import sys, lifileucel_analysis.report.screening_inputs, lifileucel_analysis.report.provenance; "
            "from lifileucel_analysis import screen_files; print('matplotlib' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert shown.stdout.strip() == "False"


def test_the_index_names_the_dataset_as_the_report_pages_do(tmp_path: Path) -> None:
    assert dataset_label(None) == "demo (bundled: lifileucel_analysis/data/demo)"
    assert dataset_label(FIXTURE_DATASET) == display_path(FIXTURE_DATASET) == "lifileucel_analysis/data/fixture"
    outside = tmp_path / "site_data"
    outside.mkdir()
    (outside / "patients.csv").write_text("patient_id\nP1\n", encoding="utf-8")
    assert dataset_label(outside) == display_path(outside)
    build = collect_provenance(None, [PARAMS_DIR / "program.yaml"])
    assert build.dataset_sha256 == dataset_fingerprint(DEMO_DATASET)
    assert list(build.parameter_files) == ["params/program.yaml"]
    assert build.python_version == python_version() == ".".join(map(str, sys.version_info[:2]))


def test_a_patient_tables_short_text_columns_are_marked_to_break_between_words_only() -> None:
    from lifileucel_analysis.report.html_tables import HtmlTable
    from lifileucel_analysis.runner.html_export import OFFLINE_TEMPLATE

    # Column 3 holds short texts (a date and its status), column 4 sentences with long column names
    # (review 28C: "2023-12-26: date passe / d" in print).
    frame = pd.DataFrame({"patient_id": ["P1", "P2"], "site_id": ["mskcc", "mskcc"],
                          "nmald": ["2023-12-26: date passed", "not scheduled"],
                          "why_unknown": ["I8: alternative therapy available not recorded "
                                          "(alternative_therapy_available)", "I6: ECOG not recorded (ecog)"]})
    html = HtmlTable(frame).to_html()
    assert re.search(r'<table[^>]*class="[^"]*\beap-patient-table eap-words-3"', html)
    assert "eap-words-4" not in html
    # The page's style sheet keeps a marked column's words whole, printed and in a wide window.
    assert ("@media print, (min-width: 1000px) {\n  .jp-RenderedHTMLCommon div.lifileucel-table "
            "table.eap-words-3 td:nth-child(3) { overflow-wrap: break-word; }") in OFFLINE_TEMPLATE
    # A table that is not a patient table is not marked.
    assert "eap-words" not in HtmlTable(frame.drop(columns="site_id")).to_html()
