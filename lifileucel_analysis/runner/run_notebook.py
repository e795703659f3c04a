"""Running one report notebook in a worker process: execute, normalise, write, convert.

:func:`run_report` is what every worker process of :func:`.worker_pool.run_jobs` runs: it
executes one notebook with papermill (its own kernel, a per-cell time limit, the kernel's
stderr in a log file), normalises the result (:mod:`.normalise`) and writes the
``.ipynb`` and its offline HTML page (:mod:`.html_export`). A notebook that raises, hangs
or kills its kernel is a result with ``ok=False`` naming the error and the cell, never an
exception: one bad notebook must not stop the others.
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .html_export import notebook_to_html
from .normalise import PathReplacements, normalise_notebook, scrub_paths, write_notebook
from .stopping import watch_parent

if TYPE_CHECKING:
    from nbformat import NotebookNode

KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 600
"""Per-cell limit. The demo cohort needs seconds per cell; a cell past this is hung."""
KERNEL_START_TIMEOUT_SECONDS = 120
INJECTED_TAG = "injected-parameters"
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
        Absolute paths replaced in the outputs (:func:`.normalise.scrub_paths`).
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


def init_worker() -> None:
    """Give every kernel a worker launches the same deterministic environment; watch the parent.

    Ctrl-C reaches the whole process group: the parent stops the workers, so they ignore
    SIGINT (no traceback per worker); a worker whose parent was killed ends itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent()
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


IPC_PATH_LIMIT = 100
"""Longest socket path prefix used for IPC (a Unix socket path holds at most 107 bytes, plus ``-N``)."""


@contextmanager
def _kernel_sockets(within: Path) -> Iterator[dict[str, Any]]:
    """Kernel manager settings that give the kernel Unix sockets in a folder of its own, made in ``within``.

    With TCP, jupyter_client picks free ports by binding and releasing them, and the kernel
    binds them a moment later: concurrent builds in other processes (the worker pool, test
    workers) can take the same port in between, and the kernel dies at start-up. Sockets in
    a private folder cannot collide. ``within`` is the build's kernel-log folder, which the
    build removes also when it is interrupted (a worker ended by a signal never reaches this
    function's own clean-up). Falls back to TCP (no settings) where Unix sockets are
    unavailable or the folder's path is too long for one.
    """
    if os.name != "posix":
        yield {}
        return
    from traitlets.config import Config  # with papermill: loaded only where a kernel starts

    folder = tempfile.mkdtemp(prefix="eap-kernel-", dir=within)
    try:
        prefix = os.path.join(folder, "k")
        yield ({} if len(prefix.encode()) > IPC_PATH_LIMIT
               else {"config": Config({"KernelManager": {"transport": "ipc", "ip": prefix}})})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
        return "the kernel died (crash or out of memory)" + _log_tail(log_path)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    # Any other error (a kernel that died or hung at start-up: "Kernel died before replying to
    # kernel_info") says what the kernel's own log says, so that a rare failure can be diagnosed
    # from the index or the exception alone (session 29's flaky build named none).
    return scrub_paths(f"{name}: {first}"[:500] + _log_tail(log_path))


def _log_tail(log_path: Path) -> str:
    """``": line | line"``: the last five lines of the kernel's log that say something ("" for none)."""
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    tail = [line.strip()[:200] for line in lines
            if line.strip() and not any(n in line for n in KERNEL_LOG_NOISE)][-5:]
    return ": " + " | ".join(tail) if tail else ""


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
        with _stderr_into(log_path), _kernel_sockets(log_path.parent) as config:
            papermill.execute_notebook(
                job.template, str(ipynb), parameters=job.parameters, kernel_name=KERNEL_NAME,
                cwd=job.cwd, execution_timeout=job.cell_timeout, start_timeout=KERNEL_START_TIMEOUT_SECONDS,
                progress_bar=False, log_output=False, record_timing=False, **config,
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
