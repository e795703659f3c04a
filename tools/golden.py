"""Regenerate the golden notebooks of the regression tests (``tests/golden/*.ipynb``), on purpose.

Usage: ``make golden`` (or ``.venv/bin/python tools/golden.py [--golden-dir DIR]``).

Runs the reports of :data:`GOLDEN_KEYS` on the fixture cohort exactly as a report build
does (same parameters, normalisation and kernel environment), with the kernel in the
golden folder as nbval runs it, and replaces ``tests/golden/*.ipynb`` only when every one
of them succeeds. Review the diff before committing (``docs/reports.md``).

A developer tool, not a user command: it writes into ``tests/``. Exit status: 0 written;
1 a notebook failed (the goldens are left as they were); 2 the parameter files are unusable.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from lifileucel_analysis.cli import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from lifileucel_analysis.paths import FIXTURE_DATASET, NOTEBOOKS_DIR, PARAMS_DIR, PROJECT_ROOT
from lifileucel_analysis.report.provenance import project_relative
from lifileucel_analysis.runner import (
    CELL_TIMEOUT_SECONDS,
    ReportBuildError,
    ReportJob,
    ReportResult,
    ReportParamsError,
    ReportSpec,
    check_inputs,
    run_jobs,
)
from lifileucel_analysis.runner.build import dataset_parameter, notebook_parameters
from lifileucel_analysis.runner.plan import available_notebooks

GOLDEN_DIR = PROJECT_ROOT / "tests" / "golden"
GOLDEN_KEYS: tuple[str, ...] = ("eligibility_report/all", "site_summary/mskcc", "program_overview/all",
                                 "criteria_impact/all")
"""Reports kept as golden notebooks: one per notebook, run on the fixture cohort."""


def golden_name(key: str) -> str:
    """File name of a golden notebook: ``eligibility_report/all`` -> ``eligibility_report-all.ipynb``."""
    return key.replace("/", "-") + ".ipynb"


def build_golden(*, golden_dir: Path = GOLDEN_DIR, dataset: Path = FIXTURE_DATASET, jobs: int = 3,
                 cell_timeout: float = CELL_TIMEOUT_SECONDS) -> list[Path]:
    """Run the golden reports and replace ``golden_dir/*.ipynb`` with them.

    Returns
    -------
    list of Path
        The golden notebooks written.

    Raises
    ------
    ReportParamsError
        The parameter files (or the fixture cohort) are unusable; nothing ran.
    ReportBuildError
        A notebook failed; the goldens are left as they were.
    """
    specs = check_inputs(dataset, None, PARAMS_DIR, NOTEBOOKS_DIR, GOLDEN_KEYS)
    notebooks = available_notebooks(NOTEBOOKS_DIR)
    golden_dir.mkdir(parents=True, exist_ok=True)
    stage, logs = Path(tempfile.mkdtemp(prefix="golden-")), Path(tempfile.mkdtemp(prefix="golden-logs-"))
    try:
        golden_jobs = [_golden_job(spec, notebooks[spec.notebook], stage, logs, golden_dir, dataset, cell_timeout)
                       for spec in specs]
        results = run_jobs(golden_jobs, jobs, _log)
        failed = [r for r in results.values() if not r.ok]
        if failed:
            raise ReportBuildError(f"{len(failed)} golden notebook(s) failed", failed)
        names = [job.ipynb_rel for job in golden_jobs]
        _replace_goldens(stage, golden_dir, names)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    return [golden_dir / name for name in names]


def _log(result: ReportResult) -> None:
    status = "ok" if result.ok else "FAILED"
    print(f"{status:<6} {result.key} ({result.seconds:.1f} s)", file=sys.stderr, flush=True)


def _golden_job(spec: ReportSpec, template: Path, stage: Path, logs: Path, golden_dir: Path, dataset: Path,
                cell_timeout: float) -> ReportJob:
    # nbval runs a notebook in its own folder: run the golden there too. The dataset is
    # named relative to the project root, which the notebooks fall back on
    # (report.resolve_path), so the same value works in both runs on every machine.
    values = notebook_parameters(spec, template, dataset_parameter(dataset, PROJECT_ROOT))
    return ReportJob(key=spec.key, template=str(template), template_rel=project_relative(template) or template.name,
                     parameters=values, stage=str(stage), ipynb_rel=golden_name(spec.key), html_rel="",
                     cwd=str(golden_dir), cell_timeout=cell_timeout, title="", banner_html="",
                     log_path=str(logs / f"{spec.key.replace('/', '--')}.log"))


def _replace_goldens(stage: Path, golden_dir: Path, names: Sequence[str]) -> None:
    for stale in golden_dir.glob("*.ipynb"):
        if stale.name not in names:
            stale.unlink()
    for name in names:
        (stage / name).replace(golden_dir / name)


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the goldens; print what happened; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden-dir", type=Path, default=GOLDEN_DIR,
                        help="folder of the golden notebooks (default: tests/golden)")
    args = parser.parse_args(argv)
    golden_dir = args.golden_dir.resolve()
    try:
        written = build_golden(golden_dir=golden_dir)
    except ReportParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ReportBuildError as exc:
        for result in exc.failures:
            print(f"error: golden {result.key}: {result.error} at {result.cell}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {len(written)} golden notebooks to {project_relative(golden_dir) or golden_dir}; "
          "review with `git diff --stat tests/golden` before committing")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
