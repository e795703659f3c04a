"""Screening on several threads gives exactly what a plain serial loop gives."""

from __future__ import annotations

import pandas as pd
import pytest

from lifileucel_analysis.engine import screening
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.paths import DEMO_DATASET


def tables(result: screening.ScreeningResult) -> dict[str, pd.DataFrame]:
    return {name: getattr(result, name) for name in ("outcomes", "verdicts", "missing_data", "waivers", "findings")}


def test_threads_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = load_dataset(DEMO_DATASET)
    threaded = [tables(screening.screen(dataset)) for _ in range(3)]
    monkeypatch.setattr(screening, "_in_threads", lambda func, items: [func(item) for item in items])
    serial = tables(screening.screen(dataset))
    for run in threaded:
        for name, frame in serial.items():
            pd.testing.assert_frame_equal(run[name], frame, check_exact=True)


def test_interleave_blocks_do_not_matter() -> None:
    """The final gather works in blocks; a block size of 7 patients must give the same column."""
    dataset = load_dataset(DEMO_DATASET)
    result = screening.screen(dataset)
    facts = screening.build_facts(dataset, result.params)
    parts = [criterion.evaluate(facts, result.params) for criterion in screening.CATALOG]
    codes = screening.np.stack([p.codes for p in parts], axis=1)
    at, notes, _ = screening._apply_overrides(dataset, codes, [p.evidence for p in parts])
    assert len(at) > 0, "the demo cohort has waivers, so the blocks must carry some"
    small = screening._interleave([p.evidence for p in parts], at, notes, block=7)
    assert small.to_pylist() == result.outcomes["evidence"].tolist()
    assert small.num_chunks == -(-dataset.n_patients // 7)


def test_interleave_puts_each_sentence_at_its_patient_and_criterion() -> None:
    """The gathered column against a plain double loop over patients and criteria."""
    dataset = load_dataset(DEMO_DATASET)
    result = screening.screen(dataset)
    facts = screening.build_facts(dataset, result.params)
    parts = [criterion.evaluate(facts, result.params) for criterion in screening.CATALOG]
    codes = screening.np.stack([p.codes for p in parts], axis=1)
    at, notes, _ = screening._apply_overrides(dataset, codes, [p.evidence for p in parts])
    pools = [p.evidence.pool.to_pylist() for p in parts]
    replaced = dict(zip(at.tolist(), notes.to_pylist(), strict=True))
    k = len(parts)
    expected = [replaced.get(i * k + j, pools[j][parts[j].evidence.index[i]])
                for i in range(dataset.n_patients) for j in range(k)]
    assert screening._interleave([p.evidence for p in parts], at, notes, block=5).to_pylist() == expected
    assert screening._interleave([p.evidence for p in parts]).to_pylist() == [
        pools[j][parts[j].evidence.index[i]] for i in range(dataset.n_patients) for j in range(k)]
    assert any(s.startswith("waived by") for s in expected)
