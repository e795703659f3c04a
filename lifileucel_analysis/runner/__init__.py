"""Building reports: the report plan, running one notebook, building many with index and manifest.

Imports the report wing, the engine and the contract; only the CLI (and developer tools such
as ``tools/golden.py``) import it. It prints nothing: a build tells a listener what it does,
returns a :class:`BuildOutcome` and raises :class:`ReportParamsError` (unusable inputs,
nothing ran) or :class:`ReportBuildError` (a notebook failed).

========================  ==================================================================================
module                    what it does
========================  ==================================================================================
:mod:`.plan`              the report plan: ``params/program.yaml`` and ``params/sites/*.yaml``, checked
:mod:`.build`             :func:`build_reports`: check the inputs, stage, run, write the index, swap into place
:mod:`.worker_pool`       :func:`run_jobs`: many notebooks at once, one spawned worker process each
:mod:`.run_notebook`      :func:`run_report`: one notebook with papermill; failures are results, not errors
:mod:`.normalise`         executed notebooks made byte-reproducible, with no absolute path of this machine
:mod:`.html_export`       offline HTML pages: no code, images embedded, nothing loaded from the network
:mod:`.index_page`        ``index.html``, ``manifest.json``, report titles and the banner of every page
:mod:`.screen_command`    the ``screen`` command's files, defined once for the plain and the bucketed screen
:mod:`.bucketed_screen`   a bucketed dataset screened bucket by bucket (here or on Dask), merged into those files
:mod:`.bucket_merge`      k-way merges of the buckets' parts, by source position or by a binary sort key
========================  ==================================================================================
"""

from __future__ import annotations

from .build import BuildListener, BuildOutcome, ReportBuildError, build_reports, check_inputs
from .index_page import INDEX_FILE, MANIFEST_FILE
from .plan import ReportParamsError, ReportSpec, load_report_plan
from .run_notebook import CELL_TIMEOUT_SECONDS, ReportJob, ReportResult, run_report
from .worker_pool import run_jobs

__all__ = [
    "CELL_TIMEOUT_SECONDS", "INDEX_FILE", "MANIFEST_FILE", "BuildListener", "BuildOutcome", "ReportBuildError",
    "ReportJob", "ReportParamsError", "ReportResult", "ReportSpec", "build_reports", "check_inputs",
    "load_report_plan", "run_jobs", "run_report",
]
