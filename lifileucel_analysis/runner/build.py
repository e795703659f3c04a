"""Build every report: run the notebooks with papermill, convert to offline HTML, index them.

``lifileucel-eap reports`` (``make reports``) calls :func:`build_reports`;
``lifileucel-eap golden`` (``make golden``) calls :func:`build_golden`. The reports and
their parameters come from ``params/program.yaml`` and ``params/sites/*.yaml`` (see
:mod:`.report_params` and ``docs/reports.md``).

What a build guarantees:

- every parameter file is checked against its notebook, the dataset against the data
  contract, and every output name against the output folder, before any notebook starts;
- notebooks run in parallel worker processes, each with its own kernel, in the project
  root, with a per-cell time limit; a notebook that raises, hangs or kills its kernel is
  reported (notebook and cell) in the index while the others still build, and the exit
  status is 1;
- the output folder is built in a staging folder next to it and swapped in at the end,
  so no report of an earlier run is left looking current (a failed report's partial page
  is titled and bannered as not built);
- the same inputs give byte-identical notebooks and HTML: run timestamps, durations,
  random cell ids and interpreter versions are normalised, and the project's absolute
  path never reaches an output;
- the HTML pages load nothing from the network (no MathJax, require.js or mermaid), hide
  the code and embed every image, so they open offline from a file share or e-mail.
"""

from __future__ import annotations

import hashlib
import html
import json
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..paths import CRITERIA_PARAMS, DEMO_DATASET, FIXTURE_DATASET, NOTEBOOKS_DIR, PARAMS_DIR, PROJECT_ROOT
from .plan import (
    ALL_SITES,
    ReportParamsError,
    ReportSpec,
    available_notebooks,
    declared_parameters,
    load_report_plan,
    parameter_files,
)
from ..contract.schema import SITES

if TYPE_CHECKING:
    from nbformat import NotebookNode

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 600
"""Per-cell limit. The demo cohort needs seconds per cell; a cell past this is hung."""
KERNEL_START_TIMEOUT_SECONDS = 120
INDEX_FILE = "index.html"
MANIFEST_FILE = "manifest.json"
MARKER_FILE = ".lifileucel-reports"
"""Marks a folder as built by this module: only such a folder is ever replaced."""
KEPT_FILES: tuple[str, ...] = ("README.md",)
"""Files of an existing output folder that a rebuild carries over (reports/README.md)."""
GOLDEN_DIR = PROJECT_ROOT / "tests" / "golden"
GOLDEN_KEYS: tuple[str, ...] = ("eligibility_report/all", "site_summary/mskcc", "program_overview/all")
"""Reports kept as golden notebooks: one per notebook, run on the fixture cohort."""
INJECTED_TAG = "injected-parameters"
LOCK_FILE = PROJECT_ROOT / "requirements.lock"
CRITERIA_FILE = CRITERIA_PARAMS
KERNEL_ENVIRONMENT: dict[str, str] = {
    "PYTHONHASHSEED": "0",  # set ordering and hash-based ids stable across runs
    "TZ": "UTC",
    "SOURCE_DATE_EPOCH": "0",  # matplotlib writes no run date into SVG/PDF
    "TQDM_DISABLE": "1",  # no progress bars inside notebooks or in logs
    "JUPYTER_PREFER_ENV_PATH": "1",  # the venv's python3 kernel, not a stale user one
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
"""Environment of every kernel. ``MPLBACKEND`` is removed: ``agg`` would drop every figure."""
KERNEL_LOG_NOISE: tuple[str, ...] = ("without encryption", "Kernel died while waiting")
"""Kernel log lines that say nothing about why a kernel died."""


# --------------------------------------------------------------------------- provenance


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_fingerprint(dataset: Path) -> str:
    """Return the SHA-256 over a dataset's files, as the reports themselves print it.

    One definition (:func:`.report.dataset_fingerprint`: every table file's name and
    content, in name order) so the index and each report's provenance section agree.
    """
    from ..report.eligibility_report import dataset_fingerprint as fingerprint

    return fingerprint(dataset)


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """Return the commit of ``root`` (``+dirty`` with uncommitted changes), or ``unknown``."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def package_version() -> str:
    """Return the installed version of ``lifileucel-eap``, or ``unknown``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lifileucel-eap")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Provenance:
    """Where a build's reports come from; shown in the index and in ``manifest.json``.

    Attributes
    ----------
    dataset : str
        The dataset as the build names it: ``demo`` (bundled), a path relative to the
        project, or the folder/file name of a dataset elsewhere (never an absolute path).
    dataset_sha256 : str
        :func:`dataset_fingerprint` of the dataset.
    criteria_params_sha256 : str
        SHA-256 of ``params/criteria.yaml`` (the limits the criteria apply).
    parameter_files : dict of str to str
        SHA-256 of every report parameter file, by path relative to the project.
    package_version, lock_sha256, git_commit, python_version : str
        Version of this package, SHA-256 of ``requirements.lock``, commit of the project
        (``unknown`` outside git), and the interpreter the kernels run.
    """

    dataset: str
    dataset_sha256: str
    criteria_params_sha256: str
    parameter_files: dict[str, str] = field(hash=False)
    package_version: str
    lock_sha256: str
    git_commit: str
    python_version: str

    def rows(self) -> list[tuple[str, str]]:
        """Return ``(label, value)`` pairs in reading order."""
        return [
            ("Dataset", self.dataset),
            ("Dataset SHA-256", self.dataset_sha256),
            ("Criteria parameters (params/criteria.yaml) SHA-256", self.criteria_params_sha256),
            *((f"Report parameters {name} SHA-256", digest) for name, digest in self.parameter_files.items()),
            ("lifileucel-eap version", self.package_version),
            ("requirements.lock SHA-256", self.lock_sha256),
            ("Git commit", self.git_commit),
            ("Python", self.python_version),
        ]


def _relative_to_root(path: Path) -> str | None:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return None


def dataset_label(dataset: Path | None) -> str:
    """Name a dataset without machine-specific paths (see :attr:`Provenance.dataset`)."""
    if dataset is None:
        return "demo (bundled: lifileucel_analysis/data/demo)"
    return _relative_to_root(dataset) or dataset.resolve().name


def collect_provenance(dataset: Path | None, params_dir: Path = PARAMS_DIR) -> Provenance:
    """Fingerprint the inputs of a build.

    Parameters
    ----------
    dataset : Path or None
        The screening dataset; ``None`` is the bundled demo cohort.
    params_dir : Path
        Folder of the report parameter files.
    """
    files = {(_relative_to_root(p) or p.name): sha256_file(p) for p in parameter_files(params_dir)}
    return Provenance(
        dataset=dataset_label(dataset),
        dataset_sha256=dataset_fingerprint(dataset or DEMO_DATASET),
        criteria_params_sha256=sha256_file(CRITERIA_FILE) if CRITERIA_FILE.is_file() else "missing",
        parameter_files=files,
        package_version=package_version(),
        lock_sha256=sha256_file(LOCK_FILE) if LOCK_FILE.is_file() else "missing",
        git_commit=git_commit(),
        python_version=platform.python_version(),
    )


# --------------------------------------------------------------------------- normalising


PathReplacements = tuple[tuple[str, str], ...]
"""``(absolute path, replacement)`` pairs applied to every output, most specific first."""


def project_replacements(root: Path = PROJECT_ROOT) -> PathReplacements:
    """The project's absolute path becomes relative (``/x/proj/pkg/a.py`` -> ``pkg/a.py``)."""
    return ((str(root) + os.sep, ""), (str(root), "."))


def scrub_paths(text: str, replacements: PathReplacements | None = None) -> str:
    """Replace machine-specific absolute paths in ``text``.

    Tracebacks and warnings name files under the project (the package, the venv), and a
    report may print where its dataset was read from; the same build on another machine
    must give the same bytes, so these become the relative forms the build passed in.
    """
    for old, new in replacements or project_replacements():
        # Only a path that starts here: "/data/x" inside "../../data/x" is already relative.
        text = re.sub(r"(?<![\w.\-/~])" + re.escape(old), lambda _: new, text)
    return text


def _scrub_output(output: dict[str, Any], replacements: PathReplacements) -> None:
    if "text" in output:
        output["text"] = scrub_paths(output["text"], replacements)
    if "traceback" in output:
        output["traceback"] = [scrub_paths(line, replacements) for line in output["traceback"]]
    if "evalue" in output:
        output["evalue"] = scrub_paths(output["evalue"], replacements)
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") and isinstance(value, str):
            output["data"][mime] = scrub_paths(value, replacements)


def _unique_id(base: str, used: set[str]) -> str:
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    used.add(candidate)
    return candidate


def normalise_notebook(nb: NotebookNode, template_ids: Collection[str], input_path: str, output_path: str,
                       replacements: PathReplacements | None = None) -> NotebookNode:
    """Remove everything from an executed notebook that differs between identical runs.

    Parameters
    ----------
    nb : NotebookNode
        The notebook papermill wrote; changed in place.
    template_ids : collection of str
        Cell ids of the template; any other cell (papermill's injected-parameters and
        error-marker cells, which get random ids) gets an id derived from its tag.
    input_path, output_path : str
        Relative paths recorded in ``metadata.papermill`` instead of absolute ones.
    replacements : PathReplacements, optional
        Absolute paths to replace in outputs; default :func:`project_replacements`.

    Returns
    -------
    NotebookNode
        ``nb``: no run timestamps or durations, no per-cell timing, no interpreter patch
        version, deterministic cell ids, no absolute project path in any output.
    """
    run = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration"):
        run.pop(key, None)
    run.update(input_path=input_path, output_path=output_path)
    nb.metadata.get("language_info", {}).pop("version", None)
    used = {c.get("id") for c in nb.cells if c.get("id") in template_ids}
    for cell in nb.cells:
        for key in ("start_time", "end_time", "duration"):
            cell.metadata.get("papermill", {}).pop(key, None)
        cell.metadata.pop("execution", None)
        if "id" in cell and cell["id"] not in template_ids:
            cell["id"] = _unique_id((cell.metadata.get("tags") or ["generated"])[0], used)
        for output in cell.get("outputs", []):
            _scrub_output(output, replacements or project_replacements())
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write a notebook as nbformat does (sorted keys), with a final newline."""
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- HTML

OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{#- The lab template, minus everything it loads from a CDN: the reports are read offline. -#}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
.eap-banner { font-family: system-ui, sans-serif; font-size: 13px; padding: 8px 12px;
  margin: 0 0 12px 0; border-bottom: 1px solid #ccc; background: #f6f8fa; }
.eap-banner a { margin-right: 1em; }
.eap-banner .eap-failed { color: #b00020; font-weight: bold; display: block; margin-top: 4px; }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.eap_banner }}
{%- endblock body_header -%}
"""
TEMPLATE_FILE = "eap_offline.html.j2"


@lru_cache(maxsize=1)
def _html_exporter() -> Any:
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="lab",
        template_file=TEMPLATE_FILE,
        extra_loaders=[jinja2.DictLoader({TEMPLATE_FILE: OFFLINE_TEMPLATE})],
        exclude_input=True,  # reviewers read results, not code
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,  # markdown images too, not only figures
    )


def notebook_to_html(nb: NotebookNode, title: str, banner_html: str = "") -> str:
    """Convert an executed notebook to a self-contained HTML page without code.

    Parameters
    ----------
    nb : NotebookNode
        The executed, normalised notebook.
    title : str
        Page title.
    banner_html : str
        Trusted HTML shown at the top of the page (navigation and provenance).

    Returns
    -------
    str
        The page: inline CSS, base64 images, no script and no network address to load.
    """
    body, _ = _html_exporter().from_notebook_node(
        nb, resources={"metadata": {"name": title}, "eap_banner": banner_html}
    )
    return body


def report_title(spec_notebook: str, name: str) -> str:
    """Human title of a report: ``Eligibility report - Memorial Sloan Kettering ...``."""
    what = spec_notebook.replace("_", " ").capitalize()
    where = SITES[name].name if name in SITES else "all sites"
    return f"{what} - {where}"


# --------------------------------------------------------------------------- one report


@dataclass(frozen=True)
class ReportJob:
    """Everything a worker process needs to build one report (picklable).

    Attributes
    ----------
    key : str
        ``<notebook>/<name>``.
    template : str
        Absolute path of the notebook template.
    template_rel : str
        Template path recorded in the output notebook (relative to the project).
    parameters : dict
        The values papermill injects.
    stage : str
        Absolute folder the outputs are written into.
    ipynb_rel, html_rel : str
        Output paths relative to ``stage``; ``html_rel`` empty for no HTML (goldens).
    cwd : str
        Working directory of the kernel.
    cell_timeout : float
        Seconds a cell may run.
    title, banner_html : str
        Page title and the banner of the HTML page.
    log_path : str
        File that receives the kernel's stderr (kept out of the reports).
    replacements : PathReplacements
        Absolute paths replaced in the outputs (:func:`scrub_paths`).
    """

    key: str
    template: str
    template_rel: str
    parameters: dict[str, Any] = field(hash=False)
    stage: str
    ipynb_rel: str
    html_rel: str
    cwd: str
    cell_timeout: float
    title: str
    banner_html: str
    log_path: str
    replacements: PathReplacements = ()


@dataclass(frozen=True)
class ReportResult:
    """What became of one report.

    Attributes
    ----------
    key : str
        ``<notebook>/<name>``.
    ok : bool
        The notebook ran to the end.
    ipynb, html : str
        Written paths relative to the output folder; empty when nothing was written.
    error : str
        Why the report failed (exception type and message); empty when ``ok``.
    cell : str
        Where it stopped (``cell 7 of notebooks/x.ipynb (In [6]): first line``).
    seconds : float
        Wall time; for the log only, never written into an output.
    """

    key: str
    ok: bool
    ipynb: str = ""
    html: str = ""
    error: str = ""
    cell: str = ""
    seconds: float = 0.0


def _init_worker() -> None:
    """Give every kernel a worker launches the same deterministic environment."""
    os.environ.update(KERNEL_ENVIRONMENT)
    os.environ.pop("MPLBACKEND", None)
    if hasattr(time, "tzset"):
        time.tzset()


@contextmanager
def _stderr_into(path: Path) -> Iterator[None]:
    """Send this process's stderr, and so the kernel's, to ``path`` for the duration.

    Kernels log start-up notes and tracebacks of their own to stderr; in a parallel build
    they would interleave with the progress lines.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _stopped_cell(executed: NotebookNode, template_ids: Sequence[str], template_rel: str) -> str:
    """Describe the last cell that started: where a failed run stopped."""
    started = [c for c in executed.cells
               if c.cell_type == "code" and (c.metadata.get("papermill") or {}).get("start_time")]
    if not started:
        return "before the first cell (kernel start-up)"
    cell = started[-1]
    if INJECTED_TAG in cell.metadata.get("tags", []):
        return "the injected parameters cell"
    where = (f"cell {template_ids.index(cell['id']) + 1} of {template_rel}"
             if cell.get("id") in template_ids else f"a cell of {template_rel}")
    first_line = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    # A kernel that dies at once may not have numbered the cell yet.
    count = "" if cell.execution_count is None else f"In [{cell.execution_count}]: "
    return f"{where} ({count}{first_line[:60]})"


def _describe_error(exc: BaseException, cell_timeout: float, log_path: Path) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        return f"{exc.ename}: {scrub_paths(str(exc.evalue))}"  # type: ignore[attr-defined]
    if name == "CellTimeoutError":
        return f"timed out: a cell ran longer than the {cell_timeout:g} s limit"
    if name == "DeadKernelError":
        lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
        tail = [line.strip() for line in lines if line.strip() and not any(n in line for n in KERNEL_LOG_NOISE)][-5:]
        return "the kernel died (crash or out of memory)" + (": " + " | ".join(tail) if tail else "")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return scrub_paths(f"{name}: {first}"[:500])


FAILED_TITLE_PREFIX = "DID NOT BUILD - "
"""Start of the page title (browser tab, bookmarks) of a report whose notebook failed."""


def _failure_banner(error: str, cell: str) -> str:
    return (f'<span class="eap-failed">This report did not build: {html.escape(error)} '
            f"&mdash; stopped at {html.escape(cell)}. It is incomplete; see the index.</span>")


def run_report(job: ReportJob) -> ReportResult:
    """Execute one notebook, normalise it, write the ``.ipynb`` and its HTML page.

    Never raises for a notebook problem: a failing, hanging or crashing notebook gives a
    result with ``ok=False``, the error and the cell; whatever the notebook produced up to
    there is still written so a reviewer can see it (with a failure banner).
    """
    import nbformat
    import papermill

    started = time.monotonic()
    stage = Path(job.stage)
    ipynb = stage / job.ipynb_rel
    ipynb.parent.mkdir(parents=True, exist_ok=True)
    template_ids = [c.get("id", "") for c in nbformat.read(job.template, as_version=4).cells]
    error = ""
    log_path = Path(job.log_path)
    try:
        with _stderr_into(log_path):
            papermill.execute_notebook(
                job.template, str(ipynb), parameters=job.parameters, kernel_name=KERNEL_NAME,
                cwd=job.cwd, execution_timeout=job.cell_timeout, start_timeout=KERNEL_START_TIMEOUT_SECONDS,
                progress_bar=False, log_output=False, record_timing=False,
            )
    except Exception as exc:  # noqa: BLE001 - any failure of one notebook must not stop the build
        error = _describe_error(exc, job.cell_timeout, log_path)
    if not ipynb.is_file():
        return ReportResult(job.key, False, error=error or "no notebook was written",
                            cell="before the first cell (kernel start-up)", seconds=time.monotonic() - started)
    executed = nbformat.read(ipynb, as_version=4)
    cell = _stopped_cell(executed, template_ids, job.template_rel) if error else ""  # before timings go
    nb = normalise_notebook(executed, template_ids, job.template_rel, job.ipynb_rel, job.replacements)
    write_notebook(nb, ipynb)
    if job.html_rel:
        banner = job.banner_html + (_failure_banner(error, cell) if error else "") + "</nav>"
        title = f"{FAILED_TITLE_PREFIX}{job.title}" if error else job.title
        (stage / job.html_rel).write_text(notebook_to_html(nb, title, banner), encoding="utf-8")
    return ReportResult(job.key, not error, job.ipynb_rel, job.html_rel, error, cell, time.monotonic() - started)


# --------------------------------------------------------------------------- running many


def _use_progress_bar(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("TQDM_DISABLE")


class _Progress:
    """A tqdm bar on a terminal; one plain line per finished report in logs."""

    def __init__(self, total: int, bar: bool) -> None:
        from tqdm import tqdm

        self.total, self.done = total, 0
        self.bar = tqdm(total=total, unit="report", desc="reports", file=sys.stderr, disable=not bar,
                        dynamic_ncols=True) if bar else None

    def report(self, result: ReportResult) -> None:
        self.done += 1
        status = "ok" if result.ok else "FAILED"
        line = f"[{self.done:>{len(str(self.total))}}/{self.total}] {status:<6} {result.key} ({result.seconds:.1f} s)"
        if not result.ok:
            line += f": {result.error} at {result.cell}"
        if self.bar is None:
            print(line, file=sys.stderr, flush=True)
            return
        if not result.ok:
            self.bar.write(line, file=sys.stderr)
        self.bar.set_postfix_str(result.key, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_jobs(jobs: Sequence[ReportJob], workers: int, progress: bool | None) -> dict[str, ReportResult]:
    """Run report jobs in ``workers`` processes; return results by key.

    Worker processes are spawned (not forked) so no thread or open kernel connection of
    the parent leaks into them. A worker that dies takes only its own reports down.
    """
    results: dict[str, ReportResult] = {}
    bar = _Progress(len(jobs), _use_progress_bar(progress))
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=context,
                                 initializer=_init_worker) as pool:
            futures: dict[Future[ReportResult], ReportJob] = {pool.submit(run_report, job): job for job in jobs}
            for future in as_completed(futures):
                result = _result_of(future, futures[future])
                results[result.key] = result
                bar.report(result)
    finally:
        bar.close()
    return results


def _result_of(future: Future[ReportResult], job: ReportJob) -> ReportResult:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a crashed worker fails its report, not the build
        return ReportResult(job.key, False, error=f"worker process failed: {type(exc).__name__}: {exc}",
                            cell="unknown")


# --------------------------------------------------------------------------- index


def _parameter_text(parameters: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in parameters.items()) or "(notebook defaults)"


def render_index(specs: Sequence[ReportSpec], results: Mapping[str, ReportResult], provenance: Provenance,
                 parameters: Mapping[str, Mapping[str, Any]]) -> str:
    """Render ``index.html``: every report with its status and links, and the provenance.

    Parameters
    ----------
    specs : sequence of ReportSpec
        Reports in reading order.
    results : mapping of str to ReportResult
        By report key.
    provenance : Provenance
        Fingerprints of the inputs.
    parameters : mapping
        The values each report ran with (including ``dataset``), by key.

    Returns
    -------
    str
        A self-contained page (inline CSS, no script, relative links only).
    """
    failed = [s.key for s in specs if not results[s.key].ok]
    summary = (f"{len(specs)} reports, all built." if not failed
               else f"{len(specs)} reports, {len(failed)} FAILED: {', '.join(failed)}.")
    rows = "\n".join(_index_row(spec, results[spec.key], parameters[spec.key]) for spec in specs)
    prov = "\n".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>"
                     for k, v in provenance.rows())
    return INDEX_TEMPLATE.format(summary_class="failed" if failed else "ok", summary=html.escape(summary),
                                 rows=rows, provenance=prov)


def _index_row(spec: ReportSpec, result: ReportResult, parameters: Mapping[str, Any]) -> str:
    title = html.escape(report_title(spec.notebook, spec.name))
    links = []
    if result.html:
        links.append(f'<a href="{html.escape(result.html)}">HTML</a>')
    if result.ipynb:
        links.append(f'<a href="{html.escape(result.ipynb)}">notebook</a>')
    status = ('<td class="ok">built</td>' if result.ok else
              f'<td class="failed">FAILED: {html.escape(result.error)}<br>stopped at {html.escape(result.cell)}</td>')
    first = (f'<a href="{html.escape(result.html)}">{title}</a>' if result.html else title)
    return (f'<tr id="{html.escape(spec.key)}"><td>{first}</td><td><code>{html.escape(spec.notebook)}</code></td>'
            f"<td><code>{html.escape(_parameter_text(parameters))}</code><br><small>from "
            f"{html.escape(spec.source)}</small></td>{status}<td>{' | '.join(links)}</td></tr>")


INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>lifileucel EAP eligibility reports (NCT05398640)</title>
<style type="text/css">
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 14px; }}
thead th {{ background: #f0f0f0; }}
.ok {{ color: #1b5e20; }}
.failed {{ color: #b00020; font-weight: bold; }}
code {{ font-size: 12px; word-break: break-all; }}
</style>
</head>
<body>
<h1>lifileucel Expanded Access Program: eligibility reports</h1>
<p>Screening against the criteria of NCT05398640. Every report below was built in this run
from the dataset and parameters listed under Provenance.</p>
<p class="{summary_class}" id="summary">{summary}</p>
<h2>Reports</h2>
<table id="reports">
<thead><tr><th>Report</th><th>Notebook</th><th>Parameters</th><th>Status</th><th>Files</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>Provenance</h2>
<table id="provenance">
<tbody>
{provenance}
</tbody>
</table>
</body>
</html>
"""


def write_manifest(path: Path, specs: Sequence[ReportSpec], results: Mapping[str, ReportResult],
                   provenance: Provenance, parameters: Mapping[str, Mapping[str, Any]]) -> None:
    """Write the machine-readable twin of the index (no timings: it must be reproducible)."""
    reports = []
    for spec in specs:
        result = asdict(results[spec.key])
        result.pop("seconds")
        reports.append({**result, "notebook": spec.notebook, "name": spec.name, "source": spec.source,
                        "parameters": dict(parameters[spec.key])})
    data = {"provenance": asdict(provenance), "reports": reports}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


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
    foreign = sorted(p.name for p in out.iterdir() if p.name not in KEPT_FILES)
    if foreign:
        return (f"--out {out}: refusing to replace a folder that was not built by lifileucel-eap reports "
                f"(it holds {', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}); "
                "choose a new or empty folder")
    return None


def _new_stage(out: Path) -> Path:
    """A staging folder next to ``out`` (same file system, so the final rename is atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # mkdtemp makes it private; the reports are for reading
    return stage


def _swap_into_place(stage: Path, out: Path) -> None:
    """Replace ``out`` by ``stage``; files of :data:`KEPT_FILES` carry over."""
    if not out.is_dir():
        stage.rename(out)
        return
    for name in KEPT_FILES:
        if (out / name).is_file() and not (stage / name).exists():
            shutil.copy2(out / name, stage / name)
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    out.rename(trash / out.name)
    stage.rename(out)
    shutil.rmtree(trash, ignore_errors=True)


# --------------------------------------------------------------------------- builds


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


def _banner(spec: ReportSpec, parameters: Mapping[str, Any], provenance: Provenance) -> str:
    """Top of every report page; closed by :func:`run_report` after an optional failure line."""
    return (f'<nav class="eap-banner"><a href="../{INDEX_FILE}">&larr; All reports</a>'
            f"<strong>{html.escape(report_title(spec.notebook, spec.name))}</strong> &middot; "
            f"parameters: <code>{html.escape(_parameter_text(parameters))}</code> &middot; "
            f"dataset {html.escape(provenance.dataset)} (sha256 {provenance.dataset_sha256[:12]}) &middot; "
            f"commit {html.escape(provenance.git_commit[:12])}")


def _notebook_parameters(spec: ReportSpec, template: Path, dataset_value: str) -> dict[str, Any]:
    """The file's values plus ``dataset`` when the notebook declares it."""
    values = dict(spec.parameters)
    if "dataset" in declared_parameters(template):
        values["dataset"] = dataset_value
    return values


def output_replacements(dataset: Path | None, dataset_value: str) -> PathReplacements:
    """Paths to take out of the outputs: the dataset's, when outside the project, then the project's.

    A report may print where it read its data (resolved to an absolute path); it shows
    the value the build passed instead.
    """
    if dataset is None or _relative_to_root(dataset) is not None:
        return project_replacements()
    spellings = dict.fromkeys((str(dataset.resolve()), str(dataset.absolute())))
    return (*((spelling, dataset_value) for spelling in spellings), *project_replacements())


def _report_jobs(specs: Sequence[ReportSpec], notebooks: Mapping[str, Path], stage: Path, logs: Path,
                 dataset: Path | None, provenance: Provenance, cell_timeout: float
                 ) -> tuple[list[ReportJob], dict[str, dict[str, Any]]]:
    dataset_value = dataset_parameter(dataset)
    replacements = output_replacements(dataset, dataset_value)
    jobs, parameters = [], {}
    for spec in specs:
        template = notebooks[spec.notebook]
        values = _notebook_parameters(spec, template, dataset_value)
        parameters[spec.key] = values
        jobs.append(ReportJob(
            key=spec.key, template=str(template), template_rel=_relative_to_root(template) or template.name,
            parameters=values, stage=str(stage), ipynb_rel=f"{spec.key}.ipynb", html_rel=f"{spec.key}.html",
            cwd=str(PROJECT_ROOT), cell_timeout=cell_timeout, title=report_title(spec.notebook, spec.name),
            banner_html=_banner(spec, values, provenance), log_path=str(logs / f"{spec.key.replace('/', '--')}.log"),
            replacements=replacements,
        ))
    return jobs, parameters


SAFE_REPORT_KEY = re.compile(r"[a-z][a-z0-9_]*/[a-z0-9][a-z0-9-]*")
"""Shape of a report key (``<notebook>/<site code or all>``), and so of every output path."""


def output_name_problems(specs: Sequence[ReportSpec], out: Path) -> list[str]:
    """Why a report's outputs could land outside ``out``, one line per report; ``[]`` when none can.

    :func:`.report_params.load_report_plan` already allows only site codes and ``all`` as
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
    ID with markup, a missing table) stops the build with exit status 2 and nothing written,
    instead of failing every notebook with the same error.
    """
    from ..contract.dataset import ContractError
    from ..contract.loading import load_dataset

    if dataset is None:
        if not DEMO_DATASET.exists():
            return f"the bundled demo dataset is missing ({_relative_to_root(DEMO_DATASET)})"
        return None
    if not dataset.exists():
        return f"--dataset {dataset}: no such file or folder"
    try:
        load_dataset(dataset)
    except ContractError as exc:
        nested = str(exc).replace("\n", "\n    ")  # the loader's list, indented under this item
        return f"--dataset {dataset_label(dataset)}: {nested}"
    return None


def _prepare(dataset: Path | None, out: Path | None, params_dir: Path, notebooks_dir: Path,
             only: Collection[str] | None) -> list[ReportSpec]:
    """Check everything that can be checked before a kernel starts; raise ReportParamsError."""
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


def build_reports(dataset: Path | None, out: Path, jobs: int, progress: bool | None, *,
                  params_dir: Path = PARAMS_DIR, notebooks_dir: Path = NOTEBOOKS_DIR,
                  cell_timeout: float = CELL_TIMEOUT_SECONDS, only: Collection[str] | None = None) -> int:
    """Build every report of the parameter files, the HTML pages and ``index.html``.

    Parameters
    ----------
    dataset : Path or None
        The screening dataset (folder or ``.xlsx``); ``None`` uses the bundled demo.
    out : Path
        Output folder; replaced as a whole at the end (see :func:`output_folder_problem`).
    jobs : int
        Notebooks run in parallel (``<= 0``: one per CPU).
    progress : bool or None
        Progress bar (``True``), plain log lines (``False``), or a bar only when stderr is
        a terminal (``None``).
    params_dir, notebooks_dir : Path
        Where the parameter files and notebook templates are (tests use small ones).
    cell_timeout : float
        Seconds a single cell may run before the notebook counts as hung.
    only : collection of str, optional
        Build only these report keys (``eligibility_report/mskcc``); for tests.

    Returns
    -------
    int
        0 when every report built, 1 when any failed (the index says which, where),
        2 when parameters, dataset or output folder are unusable (nothing was run).
    """
    out = Path(out)
    try:
        specs = _prepare(dataset, out, params_dir, notebooks_dir, only)
    except ReportParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    provenance = collect_provenance(dataset, params_dir)
    notebooks = available_notebooks(notebooks_dir)
    stage, logs = _new_stage(out), Path(tempfile.mkdtemp(prefix="lifileucel-kernel-logs-"))
    try:
        report_jobs, parameters = _report_jobs(specs, notebooks, stage, logs, dataset, provenance, cell_timeout)
        workers = min(jobs if jobs > 0 else os.cpu_count() or 1, len(report_jobs))
        print(f"building {len(report_jobs)} reports, {workers} at a time, from {provenance.dataset}",
              file=sys.stderr, flush=True)
        results = run_jobs(report_jobs, workers, progress)
        (stage / INDEX_FILE).write_text(render_index(specs, results, provenance, parameters), encoding="utf-8")
        write_manifest(stage / MANIFEST_FILE, specs, results, provenance, parameters)
        (stage / MARKER_FILE).write_text("built by lifileucel-eap reports; replaced by every build\n")
        _swap_into_place(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    failed = [k for k, r in results.items() if not r.ok]
    print(f"{len(specs) - len(failed)} of {len(specs)} reports built"
          + (f"; FAILED: {', '.join(sorted(failed))}" if failed else ""), file=sys.stderr)
    print(out / INDEX_FILE)
    return EXIT_FAILED if failed else EXIT_OK


def golden_name(key: str) -> str:
    """File name of a golden notebook: ``eligibility_report/all`` -> ``eligibility_report-all.ipynb``."""
    return key.replace("/", "-") + ".ipynb"


def build_golden(*, golden_dir: Path = GOLDEN_DIR, dataset: Path = FIXTURE_DATASET, jobs: int = 3,
                 cell_timeout: float = CELL_TIMEOUT_SECONDS) -> int:
    """Regenerate the golden notebooks of the regression tests, on purpose.

    Runs the reports of :data:`GOLDEN_KEYS` on the fixture cohort exactly as a build does
    (same parameters, normalisation and environment), with the kernel in ``golden_dir``
    as nbval runs it, and replaces ``golden_dir/*.ipynb`` only when all of them succeed.
    Review the diff before committing (``docs/reports.md``).

    Returns
    -------
    int
        0 on success; 1 when a notebook failed (the goldens are left as they were);
        2 when the parameter files are unusable.
    """
    try:
        specs = _prepare(dataset, None, PARAMS_DIR, NOTEBOOKS_DIR, GOLDEN_KEYS)
    except ReportParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    notebooks = available_notebooks(NOTEBOOKS_DIR)
    golden_dir.mkdir(parents=True, exist_ok=True)
    stage, logs = Path(tempfile.mkdtemp(prefix="golden-")), Path(tempfile.mkdtemp(prefix="golden-logs-"))
    try:
        golden_jobs = [_golden_job(spec, notebooks[spec.notebook], stage, logs, golden_dir, dataset, cell_timeout)
                       for spec in specs]
        results = run_jobs(golden_jobs, jobs, None)
        failed = [r for r in results.values() if not r.ok]
        for result in failed:
            print(f"error: golden {result.key}: {result.error} at {result.cell}", file=sys.stderr)
        if failed:
            return EXIT_FAILED
        _replace_goldens(stage, golden_dir, [j.ipynb_rel for j in golden_jobs])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    print(f"wrote {len(golden_jobs)} golden notebooks to {_relative_to_root(golden_dir) or golden_dir}; "
          "review with `git diff --stat tests/golden` before committing")
    return EXIT_OK


def _golden_job(spec: ReportSpec, template: Path, stage: Path, logs: Path, golden_dir: Path, dataset: Path,
                cell_timeout: float) -> ReportJob:
    # nbval runs a notebook in its own folder: run the golden there too. The dataset is
    # named relative to the project root, which the notebooks fall back on
    # (report.resolve_path), so the same value works in both runs on every machine.
    values = _notebook_parameters(spec, template, dataset_parameter(dataset, PROJECT_ROOT))
    return ReportJob(key=spec.key, template=str(template), template_rel=_relative_to_root(template) or template.name,
                     parameters=values, stage=str(stage), ipynb_rel=golden_name(spec.key), html_rel="",
                     cwd=str(golden_dir), cell_timeout=cell_timeout, title="", banner_html="",
                     log_path=str(logs / f"{spec.key.replace('/', '--')}.log"))


def _replace_goldens(stage: Path, golden_dir: Path, names: Sequence[str]) -> None:
    for stale in golden_dir.glob("*.ipynb"):
        if stale.name not in names:
            stale.unlink()
    for name in names:
        (stage / name).replace(golden_dir / name)
