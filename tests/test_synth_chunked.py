"""Synthetic cohorts drawn chunk by chunk: valid, reproducible, the same content in CSV and Parquet,
and the one-piece cohorts (demo, fixture, anything up to a chunk) unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lifileucel_analysis import cli, load_dataset
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.synth import generate_cohort
from lifileucel_analysis.synth.chunked import write_cohort_chunked


def test_a_chunked_cohort_is_valid_and_numbered_through(tmp_path: Path) -> None:
    write_cohort_chunked(250, 3, tmp_path / "csv", "csv", chunk=100)
    data = load_dataset(tmp_path / "csv")
    assert data.n_patients == 250
    assert data.patients["patient_id"].tolist() == [f"EAP-{i:06d}" for i in range(1, 251)]
    assert set(data.labs["patient_id"]) <= set(data.patients["patient_id"])
    assert len(data.therapies) > 250 and len(data.overrides) > 0


def test_chunked_bytes_are_reproducible_and_formats_agree(tmp_path: Path) -> None:
    for run in ("a", "b"):
        for fmt in ("csv", "parquet"):
            write_cohort_chunked(250, 3, tmp_path / run / fmt, fmt, chunk=100)
    for fmt in ("csv", "parquet"):
        a, b = sorted((tmp_path / "a" / fmt).iterdir()), sorted((tmp_path / "b" / fmt).iterdir())
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    from_csv, from_parquet = load_dataset(tmp_path / "a" / "csv"), load_dataset(tmp_path / "a" / "parquet")
    for table in ("patients", "therapies", "labs", "toxicities", "overrides"):
        pd.testing.assert_frame_equal(getattr(from_csv, table), getattr(from_parquet, table))


def test_up_to_one_chunk_the_cohort_is_the_one_piece_cohort(tmp_path: Path) -> None:
    write_cohort_chunked(100, 5, tmp_path / "chunked", "csv", chunk=100)
    write_tables(generate_cohort(100, 5), tmp_path / "plain", "csv")
    for path in sorted((tmp_path / "plain").iterdir()):
        assert (tmp_path / "chunked" / path.name).read_bytes() == path.read_bytes()


def test_synth_command_writes_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lifileucel_analysis.synth import chunked

    monkeypatch.setattr(chunked, "CHUNK_PATIENTS", 100)
    assert cli.main(["synth", "--patients", "250", "--seed", "3", "--out", str(tmp_path / "cli"),
                     "--format", "parquet"]) == 0
    write_cohort_chunked(250, 3, tmp_path / "direct", "parquet", chunk=100)
    for path in sorted((tmp_path / "direct").iterdir()):
        assert (tmp_path / "cli" / path.name).read_bytes() == path.read_bytes()
