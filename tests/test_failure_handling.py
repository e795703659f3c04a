"""A notebook that raises, hangs or kills its kernel fails alone, loudly, and leaves nothing stale.

One throwaway project (tiny notebooks, two good reports and three bad ones) is built once
for the module into an output folder that already holds an earlier run, including
"current-looking" pages of the reports that now fail. The tests then read what the
build left: exit status, index, manifest, log lines and pages.

Decision (docs/reports.md): the output folder is rebuilt in a staging folder and swapped
in whole, so every page in it is from this run. A report whose notebook failed keeps its
partial page (a reviewer can see how far it got) but that page says so in its title and
in a red banner; a report that produced nothing has no page and no link.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import TEST_JOBS, small_dataset, write_notebook

from lifileucel_analysis.cli import EXIT_FAILED, EXIT_INVALID, build_reports_logged
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.runner import INDEX_FILE, MANIFEST_FILE, ReportBuildError, build_reports
from lifileucel_analysis.runner import build as reports_module
from lifileucel_analysis.runner.build import MARKER_FILE
from lifileucel_analysis.runner.run_notebook import FAILED_TITLE_PREFIX

CELL_TIMEOUT = 3.0
"""Seconds: short, so the hanging notebook costs little; long enough for a cold import."""
FAILING = {
    # report key: (words of the error, the cell where it stopped)
    "raises/all": ("ZeroDivisionError: division by zero", "cell 4 of raises.ipynb (In [3]: 1 / 0)"),
    "hangs/all": ("timed out: a cell ran longer than the 3 s limit",
                  "cell 3 of hangs.ipynb"),
    "dies/all": ("the kernel died", "cell 4 of dies.ipynb"),
}
GOOD = ("good/all", "good/mskcc")
OLD_PAGE = "<html><body>report of an EARLIER RUN, all fine</body></html>"


@dataclass(frozen=True)
class FailedBuild:
    out: Path
    status: int
    log: str
    stdout: str


def throwaway_project(root: Path, notebook_factory: Callable[..., Path] = write_notebook) -> Path:
    """One good notebook (two sites) and three that raise, hang and kill their kernel."""
    notebooks = root / "notebooks"
    notebook_factory(notebooks / "good.ipynb", 'site: str = "all"\ndataset: str = ""',
                     ["import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 1))\nax.plot([1, 2]);",
                      "print(site)"])
    notebook_factory(notebooks / "raises.ipynb", "n: int = 1", ["x = n", "1 / 0", "y = 2"])
    notebook_factory(notebooks / "hangs.ipynb", "n: int = 1", ["import time\ntime.sleep(120)", "z = 3"])
    notebook_factory(notebooks / "dies.ipynb", "n: int = 1", ["x = n", "import os\nos._exit(3)", "z = 3"])
    (root / "params" / "sites").mkdir(parents=True)
    (root / "params" / "program.yaml").write_text("good:\n  site: all\nraises: {}\nhangs: {}\ndies: {}\n")
    (root / "params" / "sites" / "mskcc.yaml").write_text("good:\n  site: mskcc\n")
    write_tables(small_dataset(), root / "data", "csv")  # valid (checked before the build); not read
    return root


def earlier_run(out: Path) -> None:
    """An output folder as an earlier, fully successful run left it."""
    for key in (*GOOD, *FAILING, "retired/all"):
        page = out / f"{key}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(OLD_PAGE)
        page.with_suffix(".ipynb").write_text("{}")
    (out / INDEX_FILE).write_text("<p>5 reports, all built.</p>")
    (out / MARKER_FILE).write_text("")
    (out / "README.md").write_text("kept\n")


def build(project: Path, out: Path) -> int:
    """Build as ``lifileucel-eap reports`` does: log on stderr, index path on stdout, exit status."""
    # progress=None: stderr is captured (not a terminal), so plain log lines, no bar.
    return build_reports_logged(project / "data", out, TEST_JOBS, None, params_dir=project / "params",
                                notebooks_dir=project / "notebooks", cell_timeout=CELL_TIMEOUT)


@pytest.fixture(scope="module")
def failed_build(tmp_path_factory: pytest.TempPathFactory) -> FailedBuild:
    root = tmp_path_factory.mktemp("failing")
    project = throwaway_project(root / "project")
    out = root / "reports"
    earlier_run(out)
    err, std = io.StringIO(), io.StringIO()  # module fixtures cannot use capsys
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
        status = build(project, out)
    return FailedBuild(out, status, err.getvalue(), std.getvalue())


def manifest_reports(out: Path) -> dict[str, dict]:
    return {r["key"]: r for r in json.loads((out / MANIFEST_FILE).read_text())["reports"]}


# --------------------------------------------------------------------------- the failed build


def test_the_exit_status_says_something_failed(failed_build: FailedBuild) -> None:
    assert failed_build.status == EXIT_FAILED
    assert failed_build.stdout.strip() == str(failed_build.out / INDEX_FILE)


def test_the_good_reports_still_build(failed_build: FailedBuild) -> None:
    reports = manifest_reports(failed_build.out)
    for key in GOOD:
        assert reports[key]["ok"], reports[key]
        page = (failed_build.out / f"{key}.html").read_text()
        assert "did not build" not in page and OLD_PAGE not in page
        assert 'src="data:image/png;base64,' in page


@pytest.mark.parametrize("key", FAILING)
def test_each_failure_is_in_the_manifest_with_error_and_cell(failed_build: FailedBuild, key: str) -> None:
    error, cell = FAILING[key]
    result = manifest_reports(failed_build.out)[key]
    assert not result["ok"]
    assert error in result["error"]
    assert result["cell"].startswith(cell), result["cell"]


@pytest.mark.parametrize("key", FAILING)
def test_each_failure_is_in_the_index_by_notebook_and_cell(failed_build: FailedBuild, key: str) -> None:
    error, cell = FAILING[key]
    index = (failed_build.out / INDEX_FILE).read_text()
    assert "5 reports, 3 FAILED: raises/all, hangs/all, dies/all." in index
    row = index.split(f'<tr id="{key}">', 1)[1].split("</tr>", 1)[0]
    notebook = key.split("/")[0]
    assert f"<code>{notebook}</code>" in row
    assert 'class="failed">FAILED: ' in row and error in row
    assert f"stopped at {cell}" in row


@pytest.mark.parametrize("key", FAILING)
def test_each_failure_is_in_the_log_by_report_and_cell(failed_build: FailedBuild, key: str) -> None:
    error, cell = FAILING[key]
    lines = [line for line in failed_build.log.splitlines() if f"FAILED {key} " in line]
    assert len(lines) == 1, failed_build.log
    assert error in lines[0] and f"at {cell}" in lines[0]
    assert "\r" not in failed_build.log, "a progress bar was drawn into a log"
    assert "2 of 5 reports built; FAILED: dies/all, hangs/all, raises/all" in failed_build.log


def test_the_kernel_log_stays_out_of_the_build_log(failed_build: FailedBuild) -> None:
    assert "Traceback" not in failed_build.log


# --------------------------------------------------------------------------- nothing stale


@pytest.mark.parametrize("key", FAILING)
def test_a_failed_report_never_keeps_the_page_of_an_earlier_run(failed_build: FailedBuild, key: str) -> None:
    """The earlier run's page is gone; the partial page of this run says it did not build."""
    page = failed_build.out / f"{key}.html"
    assert page.is_file(), "the partial page of the failed notebook is missing"
    text = page.read_text()
    assert OLD_PAGE not in text
    assert f"<title>{FAILED_TITLE_PREFIX}" in text
    assert "This report did not build" in text and "It is incomplete" in text
    assert json.loads(page.with_suffix(".ipynb").read_text()) != {}


def test_a_report_no_longer_built_leaves_no_page_and_kept_files_survive(failed_build: FailedBuild) -> None:
    assert not (failed_build.out / "retired").exists()
    assert (failed_build.out / "README.md").read_text() == "kept\n"
    assert not list(failed_build.out.parent.glob(".reports.building-*")), "a staging folder was left behind"
    assert not list(failed_build.out.parent.glob(".reports.old-*"))


def test_an_interrupted_build_leaves_the_earlier_run_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or a crash of the runner) mid-build: the old folder is untouched, no staging left."""
    project = throwaway_project(tmp_path / "project")
    out = tmp_path / "reports"
    earlier_run(out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(reports_module, "run_jobs", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(project, out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "reports"], "a staging folder was left"


def test_the_library_raises_for_a_failed_notebook_after_writing_the_index(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The build prints nothing; a failed notebook is a ReportBuildError carrying the written build."""
    project = throwaway_project(tmp_path / "project")
    out = tmp_path / "reports"
    with pytest.raises(ReportBuildError, match=r"^1 of 2 reports built; FAILED: raises/all\n  raises/all: ") as failed:
        build_reports(project / "data", out, 1, params_dir=project / "params", notebooks_dir=project / "notebooks",
                      cell_timeout=CELL_TIMEOUT, only=("raises/all", "good/mskcc"))
    outcome = failed.value.outcome
    assert outcome is not None and outcome.index == out / INDEX_FILE and outcome.index.is_file()
    assert outcome.failed == ["raises/all"] and outcome.results["good/mskcc"].ok
    assert [r.key for r in failed.value.failures] == ["raises/all"]
    assert FAILING["raises/all"][0] in failed.value.failures[0].error
    assert FAILING["raises/all"][0] in str(failed.value), "the exception's text says why, not only which"
    assert capsys.readouterr() == ("", ""), "the library printed"


def test_a_folder_not_built_by_the_reports_is_never_replaced(tmp_path: Path) -> None:
    project = throwaway_project(tmp_path / "project")
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.docx").write_text("precious")
    assert build(project, out) == EXIT_INVALID
    assert (out / "chapter1.docx").read_text() == "precious"
