"""Shared fixtures: tiny throwaway notebooks, and one report build per test session.

Building the 15 reports is the slowest step of the suite, so it happens once per run, whatever
the number of xdist workers (:func:`built_reports`), and the report, reproducibility and browser
tests all read it.
Plain helpers and shared test data live in ``tests/helpers.py``.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import SDTM_STUDYID, TEST_JOBS, Build, write_notebook
from hypothesis import settings

# Every property test draws the same examples in every run (CI included): a run that
# passes on a commit passes again on it. HYPOTHESIS_PROFILE=explore draws fresh examples
# (and keeps a local example database) to hunt for new failures on purpose.
settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


@pytest.fixture
def notebook_factory() -> Callable[..., Path]:
    """The :func:`helpers.write_notebook` helper, for tests that build throwaway notebooks."""
    return write_notebook


@pytest.fixture(scope="session")
def built_reports(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """All 15 reports built once on the fixture cohort, shared by the report tests.

    Once per run, not once per pytest-xdist worker: the first worker to need them builds them
    into the run's shared temporary folder under a lock, and the others wait for it and read
    the same folder (the tests only read it). A build is about a minute of both cores.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _build_reports(tmp_path_factory.mktemp("session-build") / "reports")
    shared = tmp_path_factory.getbasetemp().parent / "session-build"  # the run's root, shared by its workers
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = shared / "build.json"
        if not done.exists():
            build = _build_reports(shared / "reports")
            done.write_text(json.dumps({"status": build.status, "seconds": build.seconds}))
        recorded = json.loads(done.read_text())
        return Build(shared / "reports", recorded["status"], recorded["seconds"])


def _build_reports(out: Path) -> Build:
    from lifileucel_analysis.paths import FIXTURE_DATASET
    from lifileucel_analysis.cli import build_reports_logged

    started = time.monotonic()
    status = build_reports_logged(FIXTURE_DATASET, out, TEST_JOBS, False)
    return Build(out, status, time.monotonic() - started)


@pytest.fixture(scope="session")
def demo_sdtm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo screened (``screened``), and SDTM from the demo dataset (``dataset``) and from its screen
    output folder alone (``result``), for the SDTM tests."""
    from lifileucel_analysis.cli import main
    from lifileucel_analysis.paths import DEMO_DATASET

    root = tmp_path_factory.mktemp("demo_sdtm")
    assert main(["screen", str(DEMO_DATASET), "--out", str(root / "screened")]) == 0
    assert main(["sdtm", str(DEMO_DATASET), "--out", str(root / "dataset"), "--studyid", SDTM_STUDYID]) == 0
    assert main(["sdtm", str(root / "screened"), "--out", str(root / "result"), "--studyid", SDTM_STUDYID]) == 0
    return {"screened": root / "screened", "dataset": root / "dataset", "result": root / "result"}
