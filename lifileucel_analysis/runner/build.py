"""Build every report: check the inputs, run the notebooks, write the index, swap into place.

``lifileucel-eap reports`` (``make reports``) calls :func:`build_reports`. The reports and
their parameters come from ``params/program.yaml`` and ``params/sites/*.yaml`` (see
:mod:`.plan` and ``docs/reports.md``).

What a build guarantees:

- every parameter file is checked against its notebook, the dataset against the data
  contract, and every output name against the output folder, before any notebook starts
  (:func:`check_inputs`);
- notebooks run in parallel worker processes (:mod:`.worker_pool`), each with its own
  kernel, in the project root, with a per-cell time limit; a notebook that raises, hangs
  or kills its kernel is reported (notebook and cell) in the index while the others still
  build, and :class:`ReportBuildError` is raised at the end;
- the output folder is built in a staging folder next to it and swapped in at the end,
  so no report of an earlier run is left looking current (a failed report's partial page
  is titled and bannered as not built);
- one build at a time per output folder (:func:`..contract.output_lock.output_lock`);
  SIGINT/SIGTERM end the workers and kernels within seconds, remove the staging folder,
  leave the previous build as it was and raise :class:`.stopping.BuildInterrupted`;
  staging folders of builds killed outright are removed by the next build (:mod:`.stopping`);
- the same inputs give byte-identical notebooks and HTML (:mod:`.normalise`), and the
  project's absolute path never reaches an output;
- the HTML pages load nothing from the network (:mod:`.html_export`);
- with ``history``, the build's screening (and, with ``weekly``, every earlier week of the
  series, each at its cut date: :mod:`.build_history`) is recorded into the run history
  *before* the notebooks run, under the history's writer lock, held until the notebooks
  and downloads are done: every page reads the same history, read-only, and a rebuild
  (whose runs are already recorded) reads the same one again (``docs/history.md``).

The build prints nothing: it tells a :class:`BuildListener` (the CLI's log) what it does,
returns a :class:`BuildOutcome` and raises typed errors, which the CLI turns into
messages and exit statuses.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..contract.data_cut import parse_cut_date
from ..contract.output_files import current_umask
from ..contract.output_lock import output_lock
from ..contract.schema import ALL_SITES, SITES
from ..paths import DEMO_DATASET, NOTEBOOKS_DIR, PARAMS_DIR, PROJECT_ROOT
from ..report.provenance import Provenance, collect_provenance, project_relative
from .report_downloads import screen_plan, write_report_downloads
from .index_page import INDEX_FILE, MANIFEST_FILE, render_index, report_banner, report_title, write_manifest
from .normalise import PathReplacements, project_replacements
from .plan import (
    ReportParamsError,
    ReportSpec,
    available_notebooks,
    declared_parameters,
    load_report_plan,
    parameter_files,
)
from .run_notebook import CELL_TIMEOUT_SECONDS, ReportJob, ReportResult
from .stopping import OWNER_FILE, mark_stage, remove_stale_stages, signals_stop_the_build
from .build_history import WeeklyCut, read_weekly_cuts, recorded_history
from .worker_pool import run_jobs

MARKER_FILE = ".lifileucel-reports"
"""Marks a folder as built by this module: only such a folder is ever replaced."""
KEPT_FILES: tuple[str, ...] = ("README.md", "history.duckdb")
"""Files of an existing output folder that a rebuild carries over (reports/README.md, the run history
that ``make reports`` keeps there)."""
SAFE_REPORT_KEY = re.compile(r"[a-z][a-z0-9_]*/[a-z0-9][a-z0-9-]*")
"""Shape of a report key (``<notebook>/<site code or all>``), and so of every output path."""


# --------------------------------------------------------------------------- what a build says


class BuildListener(Protocol):
    """Told what a build does while it runs (the CLI logs it; the library prints nothing)."""

    def started(self, reports: int, workers: int, dataset: str) -> None:
        """The inputs passed every check; ``reports`` notebooks now run, ``workers`` at a time."""

    def finished(self, result: ReportResult) -> None:
        """One report is done (built or failed), in the order they finish."""


@dataclass(frozen=True)
class BuildOutcome:
    """What a build wrote: the output folder, and what became of every report.

    Attributes
    ----------
    out : Path
        The output folder, now holding this build (and :data:`KEPT_FILES` of an earlier one).
    specs : tuple of ReportSpec
        The reports of the build, in reading order.
    results : dict of str to ReportResult
        By report key.
    provenance : Provenance
        The inputs' fingerprints, as the index and ``manifest.json`` show them.
    """

    out: Path
    specs: tuple[ReportSpec, ...]
    results: dict[str, ReportResult] = field(hash=False)
    provenance: Provenance

    @property
    def index(self) -> Path:
        """``index.html`` of the build."""
        return self.out / INDEX_FILE

    @property
    def failed(self) -> list[str]:
        """Keys of the reports whose notebook failed, sorted."""
        return sorted(key for key, result in self.results.items() if not result.ok)

    @property
    def ok(self) -> bool:
        """Every report built."""
        return not self.failed

    def summary(self) -> str:
        """One line: ``12 of 14 reports built; FAILED: a/all, b/mskcc``."""
        failed = self.failed
        return (f"{len(self.specs) - len(failed)} of {len(self.specs)} reports built"
                + (f"; FAILED: {', '.join(failed)}" if failed else ""))


class ReportBuildError(RuntimeError):
    """One or more notebooks failed to run (exit status 1).

    Attributes
    ----------
    failures : list of ReportResult
        The failed reports, each with its error and the cell where it stopped.
    outcome : BuildOutcome or None
        The build, when one was written anyway (its index lists the failures).
    """

    def __init__(self, message: str, failures: Sequence[ReportResult], outcome: BuildOutcome | None = None) -> None:
        # Each failure's reason is part of the text: a test or a log that only shows the
        # exception must still say why (a flaky build once said only which report failed).
        super().__init__("\n".join([message, *(_failure_line(result) for result in failures)]))
        self.failures = list(failures)
        self.outcome = outcome


def _failure_line(result: ReportResult) -> str:
    """``  program_overview/all: KeyError: 'x' (stopped at cell 3 of ...)``."""
    where = f" (stopped at {result.cell})" if result.cell else ""
    return f"  {result.key}: {result.error or 'no reason recorded'}{where}"


# --------------------------------------------------------------------------- output folder


def output_folder_problem(out: Path) -> str | None:
    """Why ``out`` may not be replaced by a build, or ``None`` when it may.

    A folder is replaced only when it is new, empty (but for :data:`KEPT_FILES`), or was
    built by this module (it holds :data:`MARKER_FILE`), so a typo in ``--out`` cannot
    delete someone's files.
    """
    if out.exists() and not out.is_dir():
        return f"--out {out}: exists and is not a folder"
    if not out.is_dir() or (out / MARKER_FILE).is_file():
        return None
    foreign = sorted(p.name for p in out.iterdir() if p.name not in KEPT_FILES and not _history_companion(p.name))
    if foreign:
        return (f"--out {out}: refusing to replace a folder that was not built by lifileucel-eap reports "
                f"(it holds {', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}); "
                "choose a new or empty folder")
    return None


def _history_companion(name: str) -> bool:
    """A kept file's writer lock (``history.duckdb.lock``) or a killed writer's temporary copy: never foreign.

    A build records into a history inside ``--out`` before it swaps the folder in, so a
    build stopped in between leaves these next to the history in an unmarked folder.
    """
    return any(name == f"{kept}.lock" or (name.startswith(f".{kept}.") and name.endswith(".tmp"))
               for kept in KEPT_FILES)


def _new_stage(out: Path) -> Path:
    """A staging folder next to ``out`` (same file system, so the final rename is atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    stage.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; the reports are for reading
    mark_stage(stage)
    return stage


def _swap_into_place(stage: Path, out: Path) -> None:
    """Replace ``out`` by ``stage``; files of :data:`KEPT_FILES` carry over.

    The stage's owner mark is removed first: it names this build's process, which is not
    part of the reports (a rebuild would differ by it; audit, session 16).
    """
    (stage / OWNER_FILE).unlink(missing_ok=True)
    if not out.is_dir():
        stage.rename(out)
        return
    for name in KEPT_FILES:
        if (out / name).is_file() and not (stage / name).exists():
            shutil.copy2(out / name, stage / name)
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    mark_stage(trash)
    out.rename(trash / out.name)
    stage.rename(out)
    shutil.rmtree(trash, ignore_errors=True)


# --------------------------------------------------------------------------- notebook values


def dataset_parameter(dataset: Path | None, cwd: Path = PROJECT_ROOT) -> str:
    """The ``dataset`` value given to the notebooks.

    ``""`` (the notebooks' default: the bundled demo) for ``None``; otherwise the path
    relative to the kernel's working directory, so no absolute path of this machine is
    written into a notebook (an absolute path only when no relative one exists).
    """
    if dataset is None:
        return ""
    try:
        return Path(os.path.relpath(dataset.resolve(), cwd.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(dataset.resolve())


def notebook_parameters(spec: ReportSpec, template: Path, dataset_value: str,
                        build_values: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The file's values plus ``dataset`` (and ``build_values``: ``cut_date``, ``history``) the notebook declares.

    A build value is passed only when the build has one, so a build without a cut or a
    history runs the notebooks on their defaults for those, as before.
    """
    values = dict(spec.parameters)
    declared = declared_parameters(template)
    if "dataset" in declared:
        values["dataset"] = dataset_value
    values |= {name: value for name, value in (build_values or {}).items() if name in declared}
    return values


def output_replacements(dataset: Path | None, dataset_value: str) -> PathReplacements:
    """Paths to take out of the outputs: the dataset's, when outside the project, then the project's.

    A report may print where it read its data (resolved to an absolute path); it shows
    the value the build passed instead.
    """
    if dataset is None or project_relative(dataset) is not None:
        return project_replacements()
    spellings = dict.fromkeys((str(dataset.resolve()), str(dataset.absolute())))
    return (*((spelling, dataset_value) for spelling in spellings), *project_replacements())


def _report_jobs(specs: Sequence[ReportSpec], notebooks: Mapping[str, Path], stage: Path, logs: Path,
                 dataset: Path | None, provenance: Provenance, cell_timeout: float,
                 build_values: Mapping[str, str] | None = None) -> tuple[list[ReportJob], dict[str, dict[str, Any]]]:
    dataset_value = dataset_parameter(dataset)
    replacements = output_replacements(dataset, dataset_value)
    jobs, parameters = [], {}
    for spec in specs:
        template = notebooks[spec.notebook]
        values = notebook_parameters(spec, template, dataset_value, build_values)
        parameters[spec.key] = values
        jobs.append(ReportJob(
            key=spec.key, template=str(template), template_rel=project_relative(template) or template.name,
            parameters=values, stage=str(stage), ipynb_rel=f"{spec.key}.ipynb", html_rel=f"{spec.key}.html",
            cwd=str(PROJECT_ROOT), cell_timeout=cell_timeout, title=report_title(spec.notebook, spec.name),
            banner_html=report_banner(spec, values, provenance),
            log_path=str(logs / f"{spec.key.replace('/', '--')}.log"), replacements=replacements,
        ))
    return jobs, parameters


# --------------------------------------------------------------------------- checks before any run


def output_name_problems(specs: Sequence[ReportSpec], out: Path) -> list[str]:
    """Why a report's outputs could land outside ``out``, one line per report; ``[]`` when none can.

    :func:`.plan.load_report_plan` already allows only site codes and ``all`` as
    names; this second check (on the names actually used for paths) keeps that guarantee
    even for a plan built by other code: a key must be ``<notebook>/<site code or all>``
    in lower-case letters, digits, ``_`` and ``-``, and its files must resolve inside ``out``.
    """
    problems = []
    root = out.resolve()
    for spec in specs:
        allowed_name = spec.name in SITES or spec.name == ALL_SITES
        if not (SAFE_REPORT_KEY.fullmatch(spec.key) and allowed_name) or not all(
                (root / f"{spec.key}{suffix}").resolve().is_relative_to(root) for suffix in (".html", ".ipynb")):
            problems.append(f"{spec.source}: {spec.notebook}: report name {spec.key!r} is not "
                            f"<notebook>/<site code or {ALL_SITES}>; refusing to write it")
    return problems


def dataset_problem(dataset: Path | None) -> str | None:
    """Why the dataset cannot be screened (every contract breach), or ``None``.

    Checked once before any kernel starts, so a dataset that breaks the contract (a patient
    ID with markup, a missing table) stops the build with nothing written, instead of
    failing every notebook with the same error.
    """
    from ..contract.dataset import ContractError
    from ..contract.loading import load_dataset

    if dataset is None:
        if not DEMO_DATASET.exists():
            return f"the bundled demo dataset is missing ({project_relative(DEMO_DATASET)})"
        return None
    if not dataset.exists():
        return f"--dataset {dataset}: no such file or folder"
    try:
        load_dataset(dataset)
    except ContractError as exc:
        nested = str(exc).replace("\n", "\n    ")  # the loader's list, indented under this item
        # Named as the user typed it, short: the folder's name when it is outside the project.
        return f"--dataset {project_relative(dataset) or dataset.resolve().name}: {nested}"
    except (OSError, ValueError, TypeError, MemoryError) as exc:  # the loader should say these; never a traceback
        return f"--dataset {project_relative(dataset) or dataset.resolve().name}: cannot be read ({str(exc)[:200]})"
    return None


def check_inputs(dataset: Path | None, out: Path | None, params_dir: Path = PARAMS_DIR,
                 notebooks_dir: Path = NOTEBOOKS_DIR, only: Collection[str] | None = None) -> list[ReportSpec]:
    """Check everything that can be checked before a kernel starts; return the reports to build.

    Parameters
    ----------
    dataset : Path or None
        The screening dataset; ``None`` is the bundled demo.
    out : Path or None
        The output folder; ``None`` when the caller writes elsewhere (the golden notebooks).
    params_dir, notebooks_dir : Path
        Where the parameter files and notebook templates are.
    only : collection of str, optional
        Keep only these report keys (each must be in the parameter files).

    Raises
    ------
    ReportParamsError
        Every problem of the dataset, output folder, parameter files and output names.
    """
    problems = []
    if why := dataset_problem(dataset):
        problems.append(why)
    if out is not None and (why := output_folder_problem(out)):
        problems.append(why)
    specs = load_report_plan(params_dir, notebooks_dir, require_every_site=params_dir == PARAMS_DIR)
    if only is not None:
        unknown = sorted(set(only) - {s.key for s in specs})
        problems += [f"report {k!r} is not in the parameter files" for k in unknown]
        specs = [s for s in specs if s.key in set(only)]
    if out is not None:
        problems += output_name_problems(specs, out)
    if problems:
        raise ReportParamsError(problems)
    return specs


# --------------------------------------------------------------------------- the build


def build_reports(dataset: Path | None, out: Path, jobs: int, *, listener: BuildListener | None = None,
                  params_dir: Path = PARAMS_DIR, notebooks_dir: Path = NOTEBOOKS_DIR,
                  cell_timeout: float = CELL_TIMEOUT_SECONDS, only: Collection[str] | None = None,
                  history: Path | None = None, cut_date: str | None = None,
                  weekly: Path | None = None) -> BuildOutcome:
    """Build every report of the parameter files, the HTML pages and ``index.html``.

    Parameters
    ----------
    dataset : Path or None
        The screening dataset (folder or ``.xlsx``); ``None`` uses the bundled demo.
    out : Path
        Output folder; replaced as a whole at the end (see :func:`output_folder_problem`).
    jobs : int
        Notebooks run in parallel (``<= 0``: one per CPU).
    listener : BuildListener, optional
        Told when the notebooks start and as each report finishes.
    params_dir, notebooks_dir : Path
        Where the parameter files and notebook templates are (tests use small ones).
    cell_timeout : float
        Seconds a single cell may run before the notebook counts as hung.
    only : collection of str, optional
        Build only these report keys (``eligibility_report/mskcc``); for tests.
    history : Path, optional
        Record the build's screening in this run history (DuckDB; see
        :mod:`lifileucel_analysis.report.run_history`) before the notebooks run, and let
        the pages compare with it (notebook parameter ``history``); a file inside ``out``
        named in :data:`KEPT_FILES` survives the rebuild.
    cut_date : str, optional
        Screen what was known on this date (``YYYY-MM-DD``; notebook parameter ``cut_date``).
    weekly : Path, optional
        A folder of weekly extracts with ``cuts.csv`` (:mod:`.build_history`): every week is
        recorded into ``history`` at its cut date, and the reports are built from the last
        week at its cut date. Excludes ``dataset`` and ``cut_date``; needs ``history``.

    Returns
    -------
    BuildOutcome
        Every report built; ``out`` holds them and the index.

    Raises
    ------
    ReportParamsError
        Parameters, dataset or output folder are unusable; nothing ran, nothing was written.
    ReportBuildError
        A notebook failed; ``out`` was still replaced, and its index says which failed,
        where (:attr:`ReportBuildError.outcome`).
    OutputLockedError
        Another build or screen writes into ``out``; nothing ran.
    BuildInterrupted
        SIGINT or SIGTERM: workers and kernels ended, staging removed, ``out`` unchanged.
    """
    out = Path(out)
    with signals_stop_the_build(), output_lock(out):
        remove_stale_stages(out)
        weeks = weekly_plan(weekly, dataset, cut_date, history)
        if weeks:
            dataset, cut_date = weeks[-1].dataset, weeks[-1].cut_date
        return _build_locked(dataset, out, jobs, listener, params_dir, notebooks_dir, cell_timeout, only, history,
                             cut_date, weeks[:-1])


def weekly_plan(weekly: Path | None, dataset: Path | None, cut_date: str | None,
                history: Path | None) -> list[WeeklyCut]:
    """The weeks of ``--weekly`` (``[]`` without it), every earlier week's data checked; raise all problems."""
    if weekly is None:
        return []
    problems = []
    if dataset is not None or cut_date:
        problems.append("--weekly takes the dataset and the cut date from its cuts.csv (the last week); "
                        "drop --dataset and --cut-date")
    if history is None:
        problems.append("--weekly needs --history FILE: every week is recorded there")
    weeks, found = read_weekly_cuts(Path(weekly))
    problems += found
    problems += [why for week in weeks[:-1] if (why := dataset_problem(week.dataset))]  # the last: check_inputs
    if problems:
        raise ReportParamsError(problems)
    return weeks


def _build_locked(dataset: Path | None, out: Path, jobs: int, listener: BuildListener | None, params_dir: Path,
                  notebooks_dir: Path, cell_timeout: float, only: Collection[str] | None,
                  history: Path | None = None, cut_date: str | None = None,
                  earlier_weeks: Sequence[WeeklyCut] = ()) -> BuildOutcome:
    cut_on = parse_cut_date(cut_date)  # a bad date stops the build before anything runs (exit 2)
    cut_date = None if cut_on is None else cut_on.isoformat()
    specs = check_inputs(dataset, out, params_dir, notebooks_dir, only)
    provenance = collect_provenance(dataset, parameter_files(params_dir), cut_date, history)
    notebooks = available_notebooks(notebooks_dir)
    build_values = {"cut_date": cut_date or "", "history": "" if history is None else dataset_parameter(history)}
    screened = screen_plan(specs, dataset, cut_date)
    stage, logs = _new_stage(out), Path(tempfile.mkdtemp(prefix="lifileucel-kernel-logs-"))
    try:
        report_jobs, parameters = _report_jobs(specs, notebooks, stage, logs, dataset, provenance, cell_timeout,
                                               {k: v for k, v in build_values.items() if v})
        workers = min(jobs if jobs > 0 else os.cpu_count() or 1, len(report_jobs))
        with recorded_history(history, screened, earlier_weeks):  # pages read the history the build holds
            if listener is not None:
                listener.started(len(report_jobs), workers, provenance.dataset)
            results = run_jobs(report_jobs, workers, listener.finished if listener is not None else None)
            write_report_downloads(specs, stage, screened, history, notebooks_dir)  # beside each page, linked from it and the index
        (stage / INDEX_FILE).write_text(render_index(specs, results, provenance, parameters), encoding="utf-8")
        write_manifest(stage / MANIFEST_FILE, specs, results, provenance, parameters)
        (stage / MARKER_FILE).write_text("built by lifileucel-eap reports; replaced by every build\n")
        _swap_into_place(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    outcome = BuildOutcome(out, tuple(specs), results, provenance)
    if not outcome.ok:
        raise ReportBuildError(outcome.summary(), [results[key] for key in outcome.failed], outcome)
    return outcome
