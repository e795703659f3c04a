"""Report parameter files: the committed ones are right, and bad ones are refused clearly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from lifileucel_analysis.runner import build as reports_module
from lifileucel_analysis.paths import FIXTURE_DATASET, NOTEBOOKS_DIR, PARAMS_DIR
from lifileucel_analysis.runner.plan import (
    ReportParamsError,
    ReportSpec,
    declared_parameters,
    load_report_plan,
    parameter_files,
)
from lifileucel_analysis.cli import EXIT_INVALID, build_reports_logged
from lifileucel_analysis.runner.build import build_reports, output_name_problems
from lifileucel_analysis.contract.schema import SITE_IDS

SITE_PARAMS = 'site: str = "all"\ndataset: str = ""\ncriteria_params: str = ""\nlimit: int = 3'
ONE_SITE_PARAMS = 'site: str = "mskcc"\ndataset: str = ""'


# --------------------------------------------------------------------------- committed files


def test_committed_files_make_exactly_the_fifteen_reports() -> None:
    specs = load_report_plan()
    by_notebook = Counter(spec.notebook for spec in specs)
    assert by_notebook == {"eligibility_report": 7, "site_summary": 6, "program_overview": 1, "criteria_impact": 1}
    assert {s.name for s in specs if s.notebook == "eligibility_report"} == {*SITE_IDS, "all"}
    assert {s.name for s in specs if s.notebook == "site_summary"} == set(SITE_IDS)
    assert len({s.key for s in specs}) == 15


def test_every_site_has_a_file_that_builds_only_its_own_reports() -> None:
    specs = load_report_plan()
    for site in SITE_IDS:
        source = f"params/sites/{site}.yaml"
        assert {s.name for s in specs if s.source == source} == {site}


@pytest.mark.parametrize("path", parameter_files(), ids=lambda p: p.name)
def test_every_parameter_file_is_accepted_by_its_notebooks(path: Path) -> None:
    """Each key of each file is a declared parameter of the notebook, with its type."""
    import yaml

    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert entries, f"{path} names no notebook"
    for notebook, values in entries.items():
        declared = declared_parameters(NOTEBOOKS_DIR / f"{notebook}.ipynb")
        for key, value in (values or {}).items():
            assert key in declared, f"{path}: {notebook} does not declare {key}"
            assert type(value).__name__ == declared[key].type_name
    load_report_plan()  # and the whole set passes every rule


# --------------------------------------------------------------------------- refusals


@pytest.fixture
def project(tmp_path: Path, notebook_factory: Callable[..., Path]) -> Path:
    """A throwaway project: two notebooks and an empty params/ with sites/."""
    notebook_factory(tmp_path / "notebooks" / "report.ipynb", SITE_PARAMS, ["print(site)"])
    notebook_factory(tmp_path / "notebooks" / "summary.ipynb", ONE_SITE_PARAMS, ["print(site)"])
    (tmp_path / "params" / "sites").mkdir(parents=True)
    (tmp_path / "params" / "program.yaml").write_text("report:\n  site: all\n")
    (tmp_path / "params" / "criteria.yaml").write_text("{}\n")
    return tmp_path


def plan(project: Path) -> list:
    return load_report_plan(project / "params", project / "notebooks", project, require_every_site=False)


def refusal(project: Path) -> str:
    with pytest.raises(ReportParamsError) as caught:
        plan(project)
    return str(caught.value)


def write(project: Path, name: str, text: str) -> None:
    (project / "params" / name).write_text(text)


def test_a_valid_throwaway_plan_is_accepted(project: Path) -> None:
    write(project, "sites/mskcc.yaml", "report:\n  site: mskcc\n  limit: 5\nsummary:\n  site: mskcc\n")
    assert [s.key for s in plan(project)] == ["report/all", "report/mskcc", "summary/mskcc"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("report:\n  colour: red\n", ["params/program.yaml", "report", "unknown key 'colour'", "'red'",
                                      "site, criteria_params, limit"]),
        ("report:\n  site: 3\n", ["key 'site' has value 3", "(int)", "declares site: str"]),
        ("report:\n  limit: 2.5\n", ["key 'limit' has value 2.5", "declares limit: int"]),
        ("report:\n  limit: true\n", ["key 'limit' has value True", "declares limit: int"]),
        ("report:\n  site: msk\n", ["key 'site' has value 'msk'", "allowed: honorhealth", "mskcc", "all"]),
        ("summary:\n  site: all\n", ["summary: key 'site' has value 'all'", "allowed: honorhealth"]),
        ("report:\n  site: ../../etc\n", ["'../../etc'", "allowed:"]),
        ("report:\n  dataset: /data/x\n", ["key 'dataset' is set by the build"]),
        ("report:\n  criteria_params: ../criteria.yaml\n", ["'../criteria.yaml'", "'..' is refused"]),
        ("report:\n  criteria_params: /etc/passwd\n", ["'/etc/passwd'", "absolute paths are refused"]),
        ("report:\n  criteria_params: params/nope.yaml\n", ["'params/nope.yaml'", "no such file"]),
        ("overview: {}\n", ["'overview' is not a notebook", "notebooks are report, summary"]),
        ("report: [1, 2]\n", ["report: must map parameter names to values"]),
        ("- report\n", ["must be a mapping of key: value, not list"]),
        ("report: {site: [\n", ["is not valid YAML"]),
    ],
    ids=["unknown-key", "str-as-int", "float-for-int", "bool-for-int", "unknown-site", "all-not-allowed",
         "site-traversal", "dataset-in-file", "path-traversal", "absolute-path", "missing-file", "no-notebook",
         "entry-not-mapping", "file-not-mapping", "bad-yaml"],
)
def test_bad_program_file_is_refused_naming_file_key_value_and_allowed(
    project: Path, text: str, expected: list[str]
) -> None:
    write(project, "program.yaml", text)
    message = refusal(project)
    for fragment in expected:
        assert fragment in message


def test_criteria_params_inside_the_project_is_accepted(project: Path) -> None:
    write(project, "program.yaml", "report:\n  criteria_params: params/criteria.yaml\n")
    assert plan(project)[0].parameters == {"criteria_params": "params/criteria.yaml"}


def test_site_file_must_be_named_after_a_site(project: Path) -> None:
    write(project, "sites/msk.yaml", "report:\n  site: mskcc\n")
    assert "params/sites/msk.yaml: 'msk' is not a site code" in refusal(project)


def test_site_file_cannot_build_another_sites_report(project: Path) -> None:
    write(project, "sites/mskcc.yaml", "report:\n  site: honorhealth\n")
    assert "but this file is for site 'mskcc'; set site: mskcc" in refusal(project)
    # A mistyped code in a site's file: its own code is the answer, not every code and 'all' (29E).
    write(project, "sites/mskcc.yaml", "report:\n  site: mskc\n")
    assert "key 'site' has value 'mskc', but this file is for site 'mskcc'; set site: mskcc" in refusal(project)
    assert "allowed:" not in refusal(project)


def test_site_file_must_set_the_site(project: Path) -> None:
    write(project, "sites/mskcc.yaml", "summary: {}\n")
    assert "params/sites/mskcc.yaml: summary: key 'site' is missing; set site: mskcc" in refusal(project)


def test_two_entries_for_one_report_are_refused(project: Path) -> None:
    write(project, "program.yaml", "report:\n  site: mskcc\n")
    write(project, "sites/mskcc.yaml", "report:\n  site: mskcc\n")
    assert "report report/mskcc is already built by params/program.yaml" in refusal(project)


def test_every_problem_of_every_file_is_reported_at_once(project: Path) -> None:
    write(project, "program.yaml", "report:\n  colour: red\n")
    write(project, "sites/mskcc.yaml", "report:\n  site: honorhealth\n")
    message = refusal(project)
    assert "2 problems in the report inputs" in message and "colour" in message and "honorhealth" in message


def test_missing_site_files_are_refused_for_the_real_project() -> None:
    with pytest.raises(ReportParamsError, match="sites/mskcc.yaml: missing"):
        load_report_plan(PARAMS_DIR.parent / "no-such-params", NOTEBOOKS_DIR)


def test_build_refuses_bad_parameters_before_running_anything(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, "program.yaml", "report:\n  site: nowhere\n")
    out = tmp_path / "out"
    status = build_reports_logged(None, out, 1, False, params_dir=project / "params",
                                  notebooks_dir=project / "notebooks")
    assert status == EXIT_INVALID
    assert not out.exists()
    assert "key 'site' has value 'nowhere'" in capsys.readouterr().err


def test_the_library_raises_bad_parameters_and_prints_nothing(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, "program.yaml", "report:\n  site: nowhere\n")
    out = tmp_path / "out"
    with pytest.raises(ReportParamsError, match="key 'site' has value 'nowhere'"):
        build_reports(None, out, 1, params_dir=project / "params", notebooks_dir=project / "notebooks")
    assert not out.exists()
    assert capsys.readouterr() == ("", "")


# --------------------------------------------------------------------------- parameter safety


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("/etc/passwd", "absolute paths are refused"),
        ("~/criteria.yaml", "absolute paths are refused"),
        ("C:/lifileucel/criteria.yaml", "absolute paths are refused"),
        ("C:\\lifileucel\\criteria.yaml", "absolute paths are refused"),
        ("\\\\server\\share\\criteria.yaml", "absolute paths are refused"),
        ("..\\criteria.yaml", "backslashes are refused"),
        ("params\\criteria.yaml", "backslashes are refused"),
        ("../criteria.yaml", "'..' is refused"),
        ("params/../params/criteria.yaml", "'..' is refused"),
        ("params/./../../x.yaml", "'..' is refused"),
        ("params", "no such file"),
    ],
)
def test_path_parameters_never_leave_the_project(project: Path, value: str, why: str) -> None:
    write(project, "program.yaml", f"report:\n  criteria_params: '{value}'\n")
    message = refusal(project)
    assert f"key 'criteria_params' has value {value!r}" in message
    assert why in message and "allowed: a path relative to the project root" in message


def test_a_symlink_inside_the_project_to_a_file_outside_is_refused(
        project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "criteria.yaml"
    outside.write_text("{}\n")
    (project / "params" / "linked.yaml").symlink_to(outside)
    write(project, "program.yaml", "report:\n  criteria_params: params/linked.yaml\n")
    assert "it leaves the project folder" in refusal(project)


@pytest.mark.parametrize("site", ["MSKCC", " mskcc", "mskcc ", "", "mskcc/../../etc", "../mskcc", "/tmp/x",
                                  "all/../../x", "mskcc\n"])
def test_only_exact_site_codes_are_accepted(project: Path, site: str) -> None:
    write(project, "program.yaml", f"report:\n  site: {site!r}\n".replace("'", '"'))
    assert "allowed: honorhealth, orlando-health" in refusal(project)


def test_a_notebook_name_cannot_point_outside_notebooks(project: Path) -> None:
    write(project, "program.yaml", "../notebooks/report: {}\n/etc/report: {}\n")
    message = refusal(project)
    assert "'../notebooks/report' is not a notebook" in message and "'/etc/report' is not a notebook" in message


def test_site_files_must_be_yaml_named_after_a_site(project: Path) -> None:
    write(project, "sites/mskcc.yml", "report:\n  site: mskcc\n")
    assert "params/sites/mskcc.yml: parameter files end in .yaml" in refusal(project)


def test_every_report_of_the_committed_plan_writes_inside_the_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    specs = load_report_plan()
    assert output_name_problems(specs, out) == []
    for spec in specs:
        for suffix in (".html", ".ipynb"):
            assert (out / f"{spec.key}{suffix}").resolve().is_relative_to(out.resolve())


@pytest.mark.parametrize(
    ("notebook", "site"),
    [("report", "../../etc"), ("report", "/tmp/x"), ("../report", "mskcc"), ("report", "mskcc/../../x"),
     ("report", "elsewhere"), ("Report Card", "mskcc"), ("report", "")],
)
def test_the_build_refuses_any_output_name_that_is_not_a_site_code_even_past_the_file_checks(
        tmp_path: Path, notebook: str, site: str) -> None:
    """Second line of defence: a plan made by other code than load_report_plan is checked too."""
    spec = ReportSpec(notebook, {"site": site}, "params/program.yaml")
    problems = output_name_problems([spec], tmp_path / "out")
    assert len(problems) == 1 and "refusing to write it" in problems[0] and repr(spec.key) in problems[0]


@pytest.mark.parametrize(
    "text",
    ["report:\n  criteria_params: ../criteria.yaml\n", "report:\n  criteria_params: /etc/passwd\n",
     "report:\n  site: ../../etc\n", "report:\n  dataset: /data\n", "../report: {}\n"],
    ids=["dotdot", "absolute", "site-traversal", "dataset", "notebook-traversal"],
)
def test_unsafe_parameters_stop_the_build_before_any_notebook_starts(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        text: str) -> None:
    write(project, "program.yaml", text)

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a notebook was started despite unsafe parameters")

    monkeypatch.setattr(reports_module, "run_jobs", no_run)
    out = tmp_path / "out"
    status = build_reports_logged(FIXTURE_DATASET, out, 1, False, params_dir=project / "params",
                                  notebooks_dir=project / "notebooks")
    assert status == EXIT_INVALID
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["notebooks", "params"]), "something was written"
    assert "1 problem in the report inputs" in capsys.readouterr().err


def test_a_plan_with_an_unsafe_output_name_stops_the_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = [ReportSpec("eligibility_report", {"site": "../../escaped"}, "params/program.yaml")]
    monkeypatch.setattr(reports_module, "load_report_plan", lambda *args, **kwargs: hostile)
    monkeypatch.setattr(reports_module, "run_jobs", lambda *args, **kwargs: pytest.fail("a notebook ran"))
    out = tmp_path / "a" / "out"
    assert build_reports_logged(FIXTURE_DATASET, out, 1, False) == EXIT_INVALID
    assert not (tmp_path / "a").exists() and not (tmp_path / "escaped").exists()
    assert "report name 'eligibility_report/../../escaped'" in capsys.readouterr().err
