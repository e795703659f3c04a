"""Running many report notebooks at once, each in a worker process of its own.

Worker processes are spawned (not forked), so no thread or open kernel connection of the
parent leaks into them, and each starts with the deterministic kernel environment of
:func:`.run_notebook.init_worker`. A worker that dies takes only its own reports down.

When the parent is interrupted (:class:`.stopping.BuildInterrupted`, or any other
exception while waiting), queued reports are cancelled and every worker and kernel is
ended at once (:func:`.stopping.stop_descendants`) instead of waiting for them to finish.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed

from .run_notebook import ReportJob, ReportResult, init_worker, run_report
from .stopping import child_pids, stop_pool

ResultCallback = Callable[[ReportResult], None]
"""Called in the parent process with each result as soon as its report is done."""


def run_jobs(jobs: Sequence[ReportJob], workers: int, on_result: ResultCallback | None = None
             ) -> dict[str, ReportResult]:
    """Run report jobs in ``workers`` processes; return results by key.

    Parameters
    ----------
    jobs : sequence of ReportJob
        The reports to build.
    workers : int
        Processes at a time (at least one, at most one per job).
    on_result : callable, optional
        Told of every result in the order they finish (a progress bar, a log line).

    Returns
    -------
    dict of str to ReportResult
        By report key, in the order the reports finished.
    """
    results: dict[str, ReportResult] = {}
    context = multiprocessing.get_context("spawn")
    before = child_pids()
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=context,
                               initializer=init_worker)
    try:
        futures: dict[Future[ReportResult], ReportJob] = {pool.submit(run_report, job): job for job in jobs}
        for future in as_completed(futures):
            result = _result_of(future, futures[future])
            results[result.key] = result
            if on_result is not None:
                on_result(result)
    except BaseException:
        # Interrupted: the workers (one still being spawned too) and their kernels, now.
        stop_pool(pool, everything_if_unknown=True, children_before=before)
        raise
    pool.shutdown()
    return results


def _result_of(future: Future[ReportResult], job: ReportJob) -> ReportResult:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a crashed worker fails its report, not the build
        return ReportResult(job.key, False, error=f"worker process failed: {type(exc).__name__}: {exc}",
                            cell="unknown")
