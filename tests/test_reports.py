"""The report build: parallel runs, failures, index, provenance, offline HTML, reproducibility."""

from __future__ import annotations

import importlib.util
import json
import re
import zipfile
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from helpers import TEST_JOBS, Build

from lifileucel_analysis.cli import EXIT_OK
from lifileucel_analysis.paths import FIXTURE_DATASET, PROJECT_ROOT
from lifileucel_analysis.report.provenance import dataset_fingerprint, sha256_file
from lifileucel_analysis.runner import INDEX_FILE, MANIFEST_FILE, build_reports
from lifileucel_analysis.runner.build import dataset_parameter, output_replacements
from lifileucel_analysis.runner.html_export import notebook_to_html
from lifileucel_analysis.runner.normalise import normalise_notebook, scrub_paths


def _golden_tool() -> ModuleType:
    """``tools/golden.py``, the developer tool that writes the goldens (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("golden_tool", PROJECT_ROOT / "tools" / "golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden_tool = _golden_tool()
NETWORK_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def index_links(index: Path) -> list[str]:
    """Relative links of the index page, in order, without repeats."""
    return list(dict.fromkeys(re.findall(r'href="([^"#]+)"', index.read_text(encoding="utf-8"))))


def output_files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


# Failing, hanging and crashing notebooks, stale outputs and foreign folders:
# tests/test_failure_handling.py.


# --------------------------------------------------------------------------- units


def test_normalise_removes_run_specific_metadata_and_absolute_paths() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata.papermill = {"start_time": "2026-01-01T00:00:00", "end_time": "x", "duration": 1.2,
                             "input_path": "/abs/in.ipynb", "output_path": "/abs/out.ipynb", "parameters": {}}
    nb.metadata.language_info = {"name": "python", "version": "3.11.7"}
    kept = nbformat.v4.new_code_cell("x", id="kept")
    injected = nbformat.v4.new_code_cell("site = 'x'", id="a1b2c3d4")
    injected.metadata.update(tags=["injected-parameters"], execution={"iopub.status.busy": "t"},
                             papermill={"start_time": "t", "duration": 0.1, "status": "completed"})
    kept.outputs = [nbformat.v4.new_output("stream", text=f"read {PROJECT_ROOT}/lifileucel_analysis/x.py\n")]
    nb.cells = [injected, kept]

    normalise_notebook(nb, ["kept"], "notebooks/n.ipynb", "n/all.ipynb")

    assert nb.metadata.papermill == {"input_path": "notebooks/n.ipynb", "output_path": "n/all.ipynb",
                                     "parameters": {}}
    assert nb.metadata.language_info == {"name": "python"}
    assert [c.id for c in nb.cells] == ["injected-parameters", "kept"]
    assert nb.cells[0].metadata.papermill == {"status": "completed"}
    assert "execution" not in nb.cells[0].metadata
    assert nb.cells[1].outputs[0].text == "read lifileucel_analysis/x.py\n"


def test_html_is_offline_without_code_and_with_embedded_images() -> None:
    nb = nbformat.v4.new_notebook()
    figure = nbformat.v4.new_code_cell("secret_code_line()", id="fig")
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "F"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title with $x^2$", id="md"), figure]
    page = notebook_to_html(nb, "T", "<nav>banner</nav>")
    assert "<script" not in page
    assert not NETWORK_REFERENCE.search(page)
    assert "secret_code_line" not in page
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in page
    assert "<nav>banner</nav>" in page


def test_dataset_parameter_is_never_an_absolute_path(tmp_path: Path) -> None:
    assert dataset_parameter(None) == ""
    assert dataset_parameter(FIXTURE_DATASET) == "lifileucel_analysis/data/fixture"
    assert not Path(dataset_parameter(tmp_path)).is_absolute()


def test_a_dataset_outside_the_project_is_shown_as_the_value_passed(tmp_path: Path) -> None:
    value = dataset_parameter(tmp_path)
    replacements = output_replacements(tmp_path, value)
    printed = f"<td>{value}</td><td>{tmp_path.resolve()}</td> File {PROJECT_ROOT}/lifileucel_analysis/a.py"
    assert scrub_paths(printed, replacements) == f"<td>{value}</td><td>{value}</td> File lifileucel_analysis/a.py"


# --------------------------------------------------------------------------- the real build


@pytest.mark.slow
def test_the_fifteen_reports_build_on_the_fixture_cohort(built_reports: Build) -> None:
    assert built_reports.status == EXIT_OK
    files = output_files(built_reports.out)
    assert len([f for f in files if f.endswith(".html") and f != INDEX_FILE]) == 15
    assert len([f for f in files if f.endswith(".ipynb")]) == 15


@pytest.mark.slow
def test_index_links_every_built_report_and_every_link_resolves(built_reports: Build) -> None:
    out = built_reports.out
    links = index_links(out / INDEX_FILE)
    reports = {p.relative_to(out).as_posix() for p in out.rglob("*")
               if p.suffix in (".html", ".ipynb", ".xlsx", ".csv")}  # pages, notebooks, downloads
    assert set(links) == reports - {INDEX_FILE}
    assert all((out / link).is_file() for link in links)


@pytest.mark.slow
def test_index_carries_the_provenance_of_the_run(built_reports: Build) -> None:
    manifest = json.loads((built_reports.out / MANIFEST_FILE).read_text())
    provenance = manifest["provenance"]
    assert provenance["dataset"] == "lifileucel_analysis/data/fixture"
    assert provenance["dataset_sha256"] == dataset_fingerprint(FIXTURE_DATASET)
    assert provenance["lock_sha256"] == sha256_file(PROJECT_ROOT / "requirements.lock")
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?|unknown", provenance["git_commit"])
    assert set(provenance["parameter_files"]) == {"params/program.yaml",
                                                  *(f"params/sites/{s}.yaml" for s in _site_ids())}
    index = (built_reports.out / INDEX_FILE).read_text()
    for value in (provenance["dataset_sha256"], provenance["lock_sha256"], provenance["package_version"]):
        assert value in index
    assert all(r["parameters"]["dataset"] == "lifileucel_analysis/data/fixture" for r in manifest["reports"])


def _site_ids() -> tuple[str, ...]:
    from lifileucel_analysis.contract.schema import SITE_IDS

    return SITE_IDS


@pytest.mark.slow
def test_outputs_hold_no_absolute_path_no_network_reference_and_no_run_timestamps(built_reports: Build) -> None:
    for name, path in output_files(built_reports.out).items():
        if name.endswith(".xlsx"):  # a zip of XML parts: read every part
            with zipfile.ZipFile(path) as book:
                text = "".join(book.read(part).decode("utf-8") for part in book.namelist())
        else:
            text = path.read_text(encoding="utf-8")
        assert str(PROJECT_ROOT) not in text, f"{name} holds the project's absolute path"
        assert str(built_reports.out.parent) not in text, f"{name} holds the build folder's path"
        if name.endswith(".html"):
            assert "<script" not in text and not NETWORK_REFERENCE.search(text), f"{name} loads something"
        if name.endswith(".ipynb"):
            nb = json.loads(text)
            assert "start_time" not in json.dumps(nb["metadata"]), f"{name} keeps a run timestamp"
            assert all("start_time" not in json.dumps(c["metadata"]) for c in nb["cells"])


@pytest.mark.slow
def test_two_builds_give_byte_identical_outputs(built_reports: Build, tmp_path: Path) -> None:
    """A second build of four reports (one per notebook) repeats the session build byte for byte."""
    subset = ("eligibility_report/uofl-brown", "site_summary/honorhealth", "program_overview/all", "criteria_impact/all")
    again = tmp_path / "again"
    assert build_reports(FIXTURE_DATASET, again, TEST_JOBS, only=subset).ok
    rebuilt = [name for name in output_files(again)
               if name.endswith((".html", ".ipynb", ".xlsx", ".csv")) and name != INDEX_FILE]
    # each report: page and notebook; nine downloads as xlsx and csv, two for the criteria impact page
    assert len(rebuilt) == 4 * 2 + (3 * 9 + 2) * 2
    differ = [n for n in rebuilt if (again / n).read_bytes() != (built_reports.out / n).read_bytes()]
    assert not differ, f"a second build changed {differ}"
    # The staging folder's owner mark (a process ID) stays out of the published reports (audit, session 16).
    assert not (again / ".building-pid").exists() and not (built_reports.out / ".building-pid").exists()
    manifests = [json.loads((out / MANIFEST_FILE).read_text()) for out in (again, built_reports.out)]
    assert manifests[0]["provenance"] == manifests[1]["provenance"]
    subset_rows = [r for r in manifests[1]["reports"] if r["key"] in subset]
    assert manifests[0]["reports"] == subset_rows


# --------------------------------------------------------------------------- goldens


@pytest.mark.parametrize("key", golden_tool.GOLDEN_KEYS)
def test_golden_notebooks_are_committed_executed_and_normalised(key: str) -> None:
    path = golden_tool.GOLDEN_DIR / golden_tool.golden_name(key)
    assert path.is_file(), f"{path} is missing: run `make golden`"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "nbval skips cells without execution counts"
    assert "start_time" not in nb.metadata.papermill
    assert nb.metadata.papermill["parameters"]["dataset"] == "lifileucel_analysis/data/fixture"
    assert str(PROJECT_ROOT) not in path.read_text(encoding="utf-8")


def test_a_dataset_outside_the_project_is_fingerprinted_once_in_the_banner() -> None:
    # Audit, session 16: the banner read "(outside the project, SHA-256 d062beccde62) (sha256 d062beccde62)".
    from types import SimpleNamespace

    from lifileucel_analysis.runner.index_page import dataset_with_fingerprint

    outside = SimpleNamespace(dataset="week-04 (outside the project, SHA-256 d062beccde62)", dataset_sha256="d062b" * 8)
    inside = SimpleNamespace(dataset="lifileucel_analysis/data/demo", dataset_sha256="cca9a3814bb5" + "0" * 52)
    assert dataset_with_fingerprint(outside) == "week-04 (outside the project, SHA-256 d062beccde62)"
    assert dataset_with_fingerprint(inside) == "lifileucel_analysis/data/demo (sha256 cca9a3814bb5)"
