"""An analyst's parameter mistakes stop the page where they are made, with the parameter named (audit 43N).

Audit 43N ran the notebooks with papermill as an analyst would: a misspelt parameter name
(``-p cut_dat 2025-06-30``) or a file of ``params/`` passed with ``-f`` was logged by papermill and
ignored, and the page was built on the defaults (an uncut report; an MSKCC page for HonorHealth);
``-p dataset 3`` ended in a ``TypeError`` from pathlib; a history that was a folder was said not to
exist ("record a run first"), and a CSV given as the history failed only halfway down the page; a cut
before every consent stopped the program overview at its timeline; a cut years after the data was
said by ``screen`` but by no page; the header said "4 waiver by a role not allowed".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbclient
import nbformat
import pytest

from lifileucel_analysis.contract.parameter_files import ParamsError, read_yaml_mapping
from lifileucel_analysis.paths import DEMO_DATASET
from lifileucel_analysis.report import EligibilityReport
from lifileucel_analysis.report.notebook_parameters import injected_names, refuse_non_text, refuse_unknown_injected
from lifileucel_analysis.report.run_history import HistoryError

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = 'site: str = "mskcc"  # a site\ndataset: str = ""  # a dataset\ncut_date: str = ""  # a cut\n'
"""A parameters cell as the notebooks write theirs: typed, commented literals."""


def test_the_names_declared_before_papermills_cell_and_the_names_it_sets() -> None:
    cells = [PARAMETERS, '# Parameters\ncut_dat = "2025-06-30"\nsite_summary = {"site": "x"}\n', "report = 1"]
    declared, given = injected_names(cells)
    assert declared == ["site", "dataset", "cut_date"]
    assert given == {"cut_dat": "value", "site_summary": "mapping"}
    assert injected_names([PARAMETERS, "report = 1"]) == ([], {})  # not run by papermill: nothing injected
    assert injected_names(["%matplotlib inline", PARAMETERS, '# Parameters\nsite = "x"\n'])[0] == [
        "site", "dataset", "cut_date"]  # a cell of IPython magics is skipped, not a crash


@pytest.mark.parametrize(("injected", "said"), [
    ('cut_dat = "2025-06-30"', "unknown parameter 'cut_dat': did you mean 'cut_date'? this notebook takes site, "
                               "dataset, cut_date"),
    ("history = 'h.duckdb'", "unknown parameter 'history': this notebook takes site, dataset, cut_date"),
    # A file of params/ holds one mapping per page: the page says whose parameters those are.
    ('site_summary = {"site": "honorhealth"}', "unknown parameter 'site_summary': this notebook takes site, dataset, "
                                               "cut_date (the files of params/ set every page's parameters for "
                                               "`lifileucel-eap reports`; give this notebook its own: papermill "
                                               "-p NAME VALUE, or -f a YAML file of NAME: VALUE)"),
])
def test_a_name_the_notebook_does_not_declare_is_refused(injected: str, said: str) -> None:
    with pytest.raises(ParamsError) as caught:
        refuse_unknown_injected([PARAMETERS, f"# Parameters\n{injected}\n"])
    assert str(caught.value) == said


def test_declared_names_and_no_papermill_pass() -> None:
    refuse_unknown_injected([PARAMETERS, '# Parameters\nsite = "honorhealth"\ncut_date = "2025-06-30"\n'])
    refuse_unknown_injected([PARAMETERS])
    refuse_unknown_injected()  # outside IPython: no kernel history, nothing to check


@pytest.mark.parametrize(("values", "said"), [
    ({"dataset": 3}, 'parameter dataset is 3 (int): give text in quotes, dataset = "3" (papermill -r dataset VALUE '
                     "passes it as text; a blank one means its default)"),
    ({"dataset": "", "waiver_roles": ["A", "B"]}, "parameter waiver_roles is ['A', 'B'] (list): give text in quotes, "),
    ({"history": True}, "parameter history is True (bool): "),
])
def test_a_path_or_text_parameter_given_something_else_is_named(values: dict[str, object], said: str) -> None:
    with pytest.raises(ParamsError) as caught:
        refuse_non_text(values)
    assert str(caught.value).startswith(said)
    refuse_non_text({"dataset": "", "history": Path("h.duckdb")})


def test_the_report_refuses_a_number_for_a_path_before_reading_anything() -> None:
    with pytest.raises(ParamsError, match=r"^parameter criteria_params is 1\.5 \(float\)"):
        EligibilityReport.build(site="mskcc", criteria_params=1.5)  # type: ignore[arg-type]


def test_a_history_that_is_a_folder_or_not_duckdb_is_refused_before_the_screen(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(HistoryError, match=r"^history .*folder is a folder: give the \.duckdb file that "):
        EligibilityReport.build(site="mskcc", history=tmp_path / "folder")
    (tmp_path / "verdicts.csv").write_text("patient_id,verdict\nEAP-000001,eligible\n", encoding="utf-8")
    with pytest.raises(HistoryError, match=r"^history .*verdicts\.csv is not a DuckDB file"):
        EligibilityReport.build(site="mskcc", history=tmp_path / "verdicts.csv")


def test_a_parameter_file_that_is_a_folder_is_said_to_be_one(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"^parameter file .* is a folder: give a YAML file$"):
        read_yaml_mapping(tmp_path)


def test_a_cut_before_every_consent_builds_the_program_overview_timeline() -> None:
    report = EligibilityReport.build(cut_date="2020-01-01")
    assert len(report.result.verdicts) == 0
    figure = report.timeline()  # raised "Cannot cast DatetimeArray to dtype float64"
    assert "(n = 0 screened)" in figure.texts[0].get_text()  # the figure's title, drawn


def test_a_cut_years_after_the_data_is_said_in_the_page_header() -> None:
    header = EligibilityReport.build(cut_date="2030-01-01").page_header("eligibility_report")
    text = re.sub(r"<[^>]+>", "", header.html)
    # The demo's latest consent is 2026-10-27: 1,162 days before the cut.
    assert ("Check the cut date: the data cut 2030-01-01 is 1,162 days after the latest consent date (2026-10-27): "
            "is its year right?") in text
    uncut = EligibilityReport.build().page_header("eligibility_report")
    assert "Check the cut date" not in uncut.html and "Check the cut date" in header.text


def test_the_header_counts_waiver_flags_in_the_right_number_and_names_an_unmatched_role() -> None:
    report = EligibilityReport.build(waiver_roles="Principle Investigator; Sponsor Medical Monitor")
    header = report.page_header("eligibility_report")
    text = re.sub(r"<[^>]+>", "", header.html)
    flagged = re.search(r"(\d+) waivers? by a role not allowed", text)
    assert flagged and int(flagged.group(1)) > 1 and flagged.group(0).endswith("waivers by a role not allowed")
    note = report.oversight().tables[0].note
    assert note.endswith("No waiver of the data names Principle Investigator as approver: is the role spelt as the "
                         "overrides table spells it?")
    assert "No waiver of the data names" not in EligibilityReport.build().oversight().tables[0].note


def _run(notebook: str, tmp_path: Path, parameters: str) -> nbformat.NotebookNode:
    """The notebook with papermill's injected cell after its parameters cell, run as papermill runs it."""
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    at = next(k for k, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("# Parameters\n" + parameters,
                                                      metadata={"tags": ["injected-parameters"]}))
    nb.cells = nb.cells[:at + 3]  # the parameters, the injected cell and the build cell
    nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def test_a_real_notebook_stops_at_its_build_cell_on_a_misspelt_parameter(tmp_path: Path) -> None:
    nb = _run("eligibility_report.ipynb", tmp_path, 'cut_dat = "2025-06-30"\n')
    [error] = [o for o in nb.cells[-1].outputs if o["output_type"] == "error"]
    assert error["traceback"] == ["ParamsError: unknown parameter 'cut_dat': did you mean 'cut_date'? this notebook "
                                  "takes site, dataset, criteria_params, waiver_roles, cut_date, history"]
    ok = _run("program_overview.ipynb", tmp_path, f'dataset = {json.dumps(str(DEMO_DATASET))}\n')
    assert not [o for o in ok.cells[-1].outputs if o["output_type"] == "error"]


def test_an_uncut_page_header_states_n_in_equals_n_out() -> None:
    import pandas as pd

    patients = pd.read_csv(DEMO_DATASET / "patients.csv", dtype=str, keep_default_na=False)
    mskcc = int((patients["site_id"] == "mskcc").sum())
    program = EligibilityReport.build().page_header("program_overview")
    assert (f"{len(patients)} patients in the dataset, {len(patients)} screened (no data cut: every patient is "
            "screened).") in program.html
    site = EligibilityReport.build(site="mskcc").page_header("site_summary")
    assert f"{mskcc} patients in the dataset for this site, {mskcc} screened (no data cut" in site.html
    cut = EligibilityReport.build(cut_date="2025-06-30").page_header("program_overview")
    assert "no data cut" not in cut.html and "consented after the data cut 2025-06-30" in cut.html


def test_papermills_own_names_none_and_a_kernel_without_the_parameters_cell_pass() -> None:
    # Review 43R: --inject-paths adds PAPERMILL_INPUT_PATH; `-y "history:"` gives None (the default, as before);
    # cells run from the injected one on (the parameters cell not run in this kernel) declare nothing.
    refuse_unknown_injected([PARAMETERS, '# Parameters\nsite = "x"\nPAPERMILL_INPUT_PATH = "a.ipynb"\n'])
    refuse_unknown_injected(["", '# Parameters\ncut_date = "2025-06-30"\n'])
    refuse_non_text({"history": None, "dataset": None})
    with pytest.raises(ParamsError, match=r'^parameter waiver_roles is \[.*\] \(list\): give text in quotes, '
                                          r'waiver_roles = "Principal Investigator; Sponsor Medical Monitor"'):
        refuse_non_text({"waiver_roles": ["Principal Investigator", "Sponsor Medical Monitor"]})


@pytest.mark.parametrize("name", ["dataset", "history", "waiver_roles", "criteria_params"])
def test_each_path_or_text_parameter_of_the_eligibility_report_is_checked(name: str) -> None:
    with pytest.raises(ParamsError, match=rf"^parameter {name} is 3 \(int\)"):
        EligibilityReport.build(site="mskcc", **{name: 3})  # type: ignore[arg-type]


def test_the_criteria_impact_page_checks_its_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    from lifileucel_analysis.report import CriteriaImpactReport, notebook_parameters

    monkeypatch.setattr(notebook_parameters, "_kernel_history",
                        lambda: ['dataset: str = ""\ncompare_with: str = ""\n', '# Parameters\ncompare_wth = "x"\n'])
    with pytest.raises(ParamsError, match=r"^unknown parameter 'compare_wth': did you mean 'compare_with'\?"):
        CriteriaImpactReport.build()
    monkeypatch.setattr(notebook_parameters, "_kernel_history", lambda: [])
    for name in ("dataset", "criteria_params"):
        with pytest.raises(ParamsError, match=rf"^parameter {name} is 2 \(int\)"):
            CriteriaImpactReport.build(**{name: 2})  # type: ignore[arg-type]


def test_the_criteria_impact_header_accounts_for_every_patient_and_checks_a_far_cut() -> None:
    from lifileucel_analysis.report import CriteriaImpactReport

    uncut = CriteriaImpactReport.build(compare_with="").page_header()
    assert "400 patients in the dataset, 400 screened (no data cut: every patient is screened)." in uncut.html
    far = CriteriaImpactReport.build(compare_with="", cut_date="2030-01-01").page_header()
    assert "Check the cut date: the data cut 2030-01-01 is 1,162 days after the latest consent date" in far.html


def test_reading_a_history_that_is_a_folder_says_so(tmp_path: Path) -> None:
    from lifileucel_analysis.report.run_history import read_table

    with pytest.raises(HistoryError, match=r"^history .* is a folder: give the \.duckdb file"):
        read_table(tmp_path, "runs")


def test_each_flag_counts_in_its_plural_and_the_role_note_needs_a_flagged_waiver() -> None:
    import pandas as pd

    from lifileucel_analysis.contract.messages import counted
    from lifileucel_analysis.report.oversight import FLAG_PLURALS, roles_no_waiver_names

    assert [counted(2, flag, FLAG_PLURALS[flag]) for flag in FLAG_PLURALS] == [
        "2 NMA-LD while ineligible", "2 NMA-LD while pending", "2 waivers by a role not allowed",
        "2 waivers without a recorded approver"]

    class Result:
        waivers = pd.DataFrame({"approved_by": ["Principal Investigator", " principal investigator ", None]})

    roles = ("Principal Investigator", "Sponsor Medical Monitor")
    assert roles_no_waiver_names(Result(), roles) == ()  # every approver allowed: no sign of a typo
    assert roles_no_waiver_names(Result(), ("Principle Investigator", "Sponsor Medical Monitor")) == (
        "Principle Investigator", "Sponsor Medical Monitor")
