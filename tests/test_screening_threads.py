"""Screening on several threads gives exactly what a plain serial loop gives."""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lifileucel_analysis.contract import ordered_threads, validation
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
    monkeypatch.setattr(ordered_threads, "ThreadPoolExecutor", CountedPool)
    monkeypatch.setattr(screening, "THREADS_FROM_PATIENTS", 0)  # the demo's 400 patients on threads
    threaded = [tables(screening.screen(dataset)) for _ in range(3)]
    # The gathers' one block of 65,536 patients (more than the demo's) makes no pool: the blocks' test below
    # runs them on threads.
    assert CountedPool.made == 3, "the criteria run on a pool"
    monkeypatch.setattr(screening, "THREADS_FROM_PATIENTS", dataset.n_patients + 1)
    serial = tables(screening.screen(dataset))
    assert CountedPool.made == 3, "below the limit no pool is made"
    for run in threaded:
        for name, frame in serial.items():
            pd.testing.assert_frame_equal(run[name], frame, check_exact=True)


def test_column_checks_on_threads_change_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shutil.copytree(DEMO_DATASET, tmp_path / "demo")
    therapies = tmp_path / "demo" / "therapies.csv"
    lines = therapies.read_text(encoding="utf-8").splitlines(keepends=True)
    therapies.write_text("".join([*lines, lines[-1]]), encoding="utf-8")  # a repeated row: a warning
    monkeypatch.setattr(CountedPool, "made", 0)
    monkeypatch.setattr(ordered_threads, "ThreadPoolExecutor", CountedPool)
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


@pytest.mark.parametrize("threads_from", [0, 10**9], ids=["threads", "one thread"])
def test_interleave_blocks_do_not_matter(demo: DemoParts, threads_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The final gather works in blocks; a block size of 7 patients must give the same column, on threads or not."""
    assert len(demo.at) > 0, "the demo cohort has waivers, so the blocks must carry some"
    monkeypatch.setattr(CountedPool, "made", 0)
    monkeypatch.setattr(ordered_threads, "ThreadPoolExecutor", CountedPool)
    monkeypatch.setattr(screening, "THREADS_FROM_PATIENTS", threads_from)
    small = screening._interleave(demo.texts, demo.at, demo.notes, block=7)
    assert CountedPool.made == (1 if threads_from == 0 else 0)
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


def test_in_order_keeps_the_order_of_items_whatever_the_threads_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CountedPool, "made", 0)
    monkeypatch.setattr(ordered_threads, "ThreadPoolExecutor", CountedPool)
    seen: set[str] = set()

    def slow_first(x: int) -> int:
        seen.add(threading.current_thread().name)
        time.sleep(0.05 if x == 0 else 0)  # the first item finishes last
        return x * 10

    assert ordered_threads.in_order(slow_first, range(5), on_threads=True) == [0, 10, 20, 30, 40]
    assert CountedPool.made == 1 and any(name != "MainThread" for name in seen)
    seen.clear()
    assert ordered_threads.in_order(slow_first, iter(range(5)), on_threads=False) == [0, 10, 20, 30, 40]
    assert ordered_threads.in_order(slow_first, [7], on_threads=True) == [70]  # one item: no pool for it
    assert CountedPool.made == 1 and seen == {"MainThread"}
