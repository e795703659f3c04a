"""Shared fixtures: tiny throwaway notebooks, and one report build per test session.

Building the 14 reports is the slowest step of the suite, so it happens once
(:func:`built_reports`) and the report, reproducibility and browser tests all read it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

TEST_JOBS = 2
"""Parallel notebooks in tests: CI machines have two CPUs."""


def write_notebook(path: Path, parameters: str, cells: Sequence[str]) -> Path:
    """Write a notebook with a ``parameters`` cell (source ``parameters``) and code cells.

    Cell ids are fixed, as in the committed notebooks, so outputs are reproducible.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    params = new_code_cell(parameters, id="params")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell(f"# {path.stem}", id="title"), params,
                *(new_code_cell(source, id=f"cell-{i}") for i, source in enumerate(cells, start=1))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebook_factory() -> Callable[..., Path]:
    """The :func:`write_notebook` helper, for tests that build throwaway notebooks."""
    return write_notebook


@dataclass(frozen=True)
class Build:
    """A finished report build: its folder, exit status and wall time."""

    out: Path
    status: int
    seconds: float


@pytest.fixture(scope="session")
def built_reports(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """All 14 reports built once on the fixture cohort, shared by the report tests."""
    from lifileucel_analysis.paths import FIXTURE_DATASET
    from lifileucel_analysis.runner.build import build_reports

    out = tmp_path_factory.mktemp("session-build") / "reports"
    started = time.monotonic()
    status = build_reports(FIXTURE_DATASET, out, TEST_JOBS, False)
    return Build(out, status, time.monotonic() - started)
