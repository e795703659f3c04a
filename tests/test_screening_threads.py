"""Screening on several threads gives exactly what a plain serial loop gives."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lifileucel_analysis.contract import validation
from lifileucel_analysis.engine import screening
from lifileucel_analysis.engine.evidence import Text
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.paths import DEMO_DATASET


def tables(result: screening.ScreeningResult) -> dict[str, pd.DataFrame]:
    return {name: getattr(result, name) for name in ("outcomes", "verdicts", "missing_data", "waivers", "findings")}


class CountedPool(ThreadPoolExecutor):
    """A thread pool that counts how many were made, to show the threaded run used threads."""

    made = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        CountedPool.made += 1
        super().__init__(*args, **kwargs)


def test_threads_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = load_dataset(DEMO_DATASET)
    monkeypatch.setattr(CountedPool, "made", 0)
    monkeypatch.setattr(screening, "ThreadPoolExecutor", CountedPool)
    monkeypatch.setattr(screening, "THREADS_FROM_PATIENTS", 0)  # the demo's 400 patients on threads
    threaded = [tables(screening.screen(dataset)) for _ in range(3)]
    assert CountedPool.made == 3 * 3, "the criteria and the two gathers (evidence, requests) each run on a pool"
    monkeypatch.setattr(screening, "THREADS_FROM_PATIENTS", dataset.n_patients + 1)
    serial = tables(screening.screen(dataset))
    assert CountedPool.made == 3 * 3, "below the limit no pool is made"
    for run in threaded:
        for name, frame in serial.items():
            pd.testing.assert_frame_equal(run[name], frame, check_exact=True)


def test_column_checks_on_threads_change_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shutil.copytree(DEMO_DATASET, tmp_path / "demo")
    therapies = tmp_path / "demo" / "therapies.csv"
    lines = therapies.read_text(encoding="utf-8").splitlines(keepends=True)
    therapies.write_text("".join([*lines, lines[-1]]), encoding="utf-8")  # a repeated row: a warning
    monkeypatch.setattr(CountedPool, "made", 0)
    monkeypatch.setattr(validation, "ThreadPoolExecutor", CountedPool)
    serial = load_dataset(tmp_path / "demo")
    assert CountedPool.made == 0, "below the limit no pool is made"
    monkeypatch.setattr(validation, "THREADS_FROM_ROWS", 0)
    threaded = load_dataset(tmp_path / "demo")
    assert CountedPool.made > 0, "the threaded load checked its columns on pools"
    for name in ("patients", "therapies", "labs", "toxicities", "overrides"):
        pd.testing.assert_frame_equal(getattr(threaded, name), getattr(serial, name), check_exact=True)
    assert threaded.warnings == serial.warnings and len(serial.warnings) == 1


@dataclass(frozen=True)
class DemoParts:
    """The demo cohort's screen and the pieces ``_interleave`` gathers from (criteria parts, waivers)."""

    n_patients: int
    result: screening.ScreeningResult
    texts: list[Text]
    at: np.ndarray
    notes: pa.Array


@pytest.fixture(scope="module")
def demo() -> DemoParts:
    dataset = load_dataset(DEMO_DATASET)
    result = screening.screen(dataset)
    facts = screening.build_facts(dataset, result.params)
    parts = [criterion.evaluate(facts, result.params) for criterion in screening.CATALOG]
    codes = np.stack([p.codes for p in parts], axis=1)
    waived = screening.apply_overrides(dataset, codes, [p.evidence for p in parts], [p.needs for p in parts])
    return DemoParts(dataset.n_patients, result, [p.evidence for p in parts], waived.at, waived.evidence)


def test_interleave_blocks_do_not_matter(demo: DemoParts) -> None:
    """The final gather works in blocks; a block size of 7 patients must give the same column."""
    assert len(demo.at) > 0, "the demo cohort has waivers, so the blocks must carry some"
    small = screening._interleave(demo.texts, demo.at, demo.notes, block=7)
    assert small.to_pylist() == demo.result.outcomes["evidence"].tolist()
    assert small.num_chunks == -(-demo.n_patients // 7)


def test_interleave_puts_each_sentence_at_its_patient_and_criterion(demo: DemoParts) -> None:
    """The gathered column against a plain double loop over patients and criteria."""
    pools = [t.pool.to_pylist() for t in demo.texts]
    k = len(demo.texts)
    plain = [pools[j][demo.texts[j].index[i]] for i in range(demo.n_patients) for j in range(k)]
    replaced = dict(zip(demo.at.tolist(), demo.notes.to_pylist(), strict=True))
    expected = [replaced.get(position, sentence) for position, sentence in enumerate(plain)]
    assert screening._interleave(demo.texts, demo.at, demo.notes, block=5).to_pylist() == expected
    assert screening._interleave(demo.texts).to_pylist() == plain
    assert any(s.startswith("waived by") for s in expected)
