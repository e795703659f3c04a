"""Bucketed datasets: partitioning keeps every row with its patient, and screening bucket by bucket,
in this process or on a real Dask LocalCluster with 2 workers, writes the same bytes as screening
the unbucketed source.

The cohort is a synthetic one with its patients shuffled (so that input order is neither ID
order nor bucket order), a few IDs padded with spaces in the event tables (the validator
trims them: the hash must too) and the overrides of the synthetic generator (waivers).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifileucel_analysis import cli, synth
from lifileucel_analysis.contract import chunked_output
from lifileucel_analysis.contract.buckets import bucket_of, open_bucketed, partition_dataset
from lifileucel_analysis.contract.writing import write_tables

N_PATIENTS, BUCKETS = 240, 4


def fnv1a_64(text: str) -> int:
    """FNV-1a 64 as its specification spells it, one byte at a time (independent of the vectorised code)."""
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) % (1 << 64)
    return h


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tables = synth.generate_cohort(N_PATIENTS, 7)
    order = np.random.default_rng(1).permutation(N_PATIENTS)
    tables["patients"] = tables["patients"].iloc[order].reset_index(drop=True)
    root = tmp_path_factory.mktemp("source") / "csv"
    write_tables(tables, root, "csv")
    labs = (root / "labs.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    labs[1] = labs[1].replace("EAP-", " EAP-", 1)  # a padded ID: same patient once trimmed
    (root / "labs.csv").write_text("".join(labs), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def bucketed(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bucketed") / "b"
    assert cli.main(["partition", str(source), "--buckets", str(BUCKETS), "--out", str(out)]) == 0
    return out


CORE_STEMS = ("verdicts", "outcomes", "missing_data")
"""The tables a bucketed screen writes so far; findings.csv, the per-site worklists, data_cut.csv
and the run history come from unbucketed screens only (the bucketed path refuses their options)."""


def screen(dataset: Path, out: Path, *extra: str) -> dict[str, bytes]:
    assert cli.main(["screen", str(dataset), "--out", str(out), *extra]) == 0
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    core = {name: data for name, data in files.items() if name.split(".")[0] in CORE_STEMS}
    assert len(core) == len(CORE_STEMS), sorted(files)
    return core


def test_bucket_of_is_fnv1a_of_the_trimmed_id() -> None:
    ids = ["EAP-000001", " EAP-000001 ", "x", "", "Ünï-1", None]
    expected = [fnv1a_64((i or "").strip()) % 7 for i in ids]
    assert bucket_of(pa.array(ids), 7).tolist() == expected
    assert bucket_of(pa.chunked_array([pa.array(ids[:2]), pa.array(ids[2:])]), 7).tolist() == expected


def test_every_row_of_a_patient_is_in_one_bucket(source: Path, bucketed: Path) -> None:
    layout = open_bucketed(bucketed)
    home: dict[str, int] = {}
    positions = []
    for k in range(BUCKETS):
        patients = pd.read_parquet(layout.bucket_path(k) / "patients.parquet")
        positions.append(layout.positions(k))
        assert len(positions[-1]) == len(patients)
        for pid in patients["patient_id"]:
            assert pid not in home
            home[pid.strip()] = k
    assert sorted(np.concatenate(positions).tolist()) == list(range(N_PATIENTS))
    original = pd.read_csv(source / "patients.csv", dtype=str)["patient_id"]
    for k in range(BUCKETS):  # a position points at the same patient in the source
        ids = pd.read_parquet(layout.bucket_path(k) / "patients.parquet")["patient_id"].tolist()
        assert original.iloc[layout.positions(k)].tolist() == ids
    for table in ("therapies", "labs", "toxicities", "overrides"):
        rows = 0
        for k in range(BUCKETS):
            frame = pd.read_parquet(layout.bucket_path(k) / f"{table}.parquet")
            rows += len(frame)
            assert {home[p.strip()] for p in frame["patient_id"]} <= {k}
        assert rows == len(pd.read_csv(source / f"{table}.csv", dtype=str))


@pytest.mark.parametrize("long_format", ["csv", "parquet"])
def test_bucketed_screen_writes_the_unbucketed_bytes(source: Path, bucketed: Path, tmp_path: Path,
                                                     long_format: str) -> None:
    plain = screen(source, tmp_path / "plain", "--long-format", long_format)
    assert screen(bucketed, tmp_path / "bucketed", "--long-format", long_format) == plain
    verdicts = pd.read_csv(tmp_path / "plain" / "verdicts.csv")
    original = pd.read_csv(source / "patients.csv", dtype=str)["patient_id"]
    assert verdicts["patient_id"].tolist() == original.tolist()  # input order, not ID or bucket order
    assert (verdicts["waived"].notna()).any()  # the overrides were applied in their buckets


def test_partition_from_parquet_screens_the_same(source: Path, tmp_path: Path) -> None:
    from lifileucel_analysis.contract.reading import read_raw_tables

    parquet = tmp_path / "pq"
    parquet.mkdir()
    for name, frame in read_raw_tables(source).items():
        frame.to_parquet(parquet / f"{name}.parquet", index=False)
    assert cli.main(["partition", str(parquet), "--buckets", "3", "--out", str(tmp_path / "b")]) == 0
    assert screen(tmp_path / "b", tmp_path / "out") == screen(source, tmp_path / "plain")


def test_dask_local_cluster_with_two_workers_writes_the_same_bytes(bucketed: Path, bad_bucketed: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    distributed = pytest.importorskip("dask.distributed")
    in_process = screen(bucketed, tmp_path / "here")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert len(cluster.workers) == 2
        on_cluster = screen(bucketed, tmp_path / "cluster", "--scheduler", cluster.scheduler_address)
        executed = [worker.state.executed_count for worker in cluster.workers.values()]
        capsys.readouterr()
        # A worker's contract problem reaches the command whole: exit 2, the cell named, nothing written.
        assert cli.main(["screen", str(bad_bucketed), "--out", str(tmp_path / "bad"), "--scheduler",
                         cluster.scheduler_address]) == 2
        assert "column ecog" in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()
    assert sum(executed) == BUCKETS, executed  # every bucket was screened by a worker, none here    assert on_cluster == in_process


@pytest.fixture(scope="module")
def bad_bucketed(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cohort with ``two`` in one patient's ``ecog`` cell, partitioned."""
    bad = tmp_path_factory.mktemp("bad") / "csv"
    bad.mkdir()
    for path in source.iterdir():
        (bad / path.name).write_bytes(path.read_bytes())
    text = (bad / "patients.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header = text[0].rstrip("\n").split(",")
    cells = text[5].rstrip("\n").split(",")
    cells[header.index("ecog")] = "two"
    text[5] = ",".join(cells) + "\n"
    (bad / "patients.csv").write_text("".join(text), encoding="utf-8")
    out = bad.parent / "b"
    assert cli.main(["partition", str(bad), "--buckets", "2", "--out", str(out)]) == 0
    return out


def test_a_bad_cell_in_a_bucket_stops_with_exit_2_and_nothing_written(bad_bucketed: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["screen", str(bad_bucketed), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "column ecog" in err and "two" in err
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging")] == []


def test_scheduler_needs_a_bucketed_dataset(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["screen", str(source), "--out", str(tmp_path), "--scheduler", "local:2"]) == 2
    assert "bucketed" in capsys.readouterr().err


def test_partition_refuses_what_it_cannot_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["partition", str(tmp_path / "none"), "--buckets", "2", "--out", str(tmp_path / "b")]) == 2
    assert cli.main(["partition", str(tmp_path), "--buckets", "0", "--out", str(tmp_path / "b")]) == 2
    assert not (tmp_path / "b").exists()


def test_the_default_screen_never_imports_dask(source: Path, tmp_path: Path) -> None:
    code = ("import sys; from lifileucel_analysis import cli; "
            f"assert cli.main(['screen', {str(source)!r}, '--out', {str(tmp_path)!r}]) == 0; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'duckdb')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("long_format", ["csv", "parquet"])
def test_empty_buckets_are_skipped(tmp_path: Path, long_format: str) -> None:
    from helpers import small_dataset

    write_tables(small_dataset(), tmp_path / "csv", "csv")
    assert cli.main(["partition", str(tmp_path / "csv"), "--buckets", "8", "--out", str(tmp_path / "b")]) == 0
    layout = open_bucketed(tmp_path / "b")
    sizes = [len(layout.positions(k)) for k in range(8)]
    assert 0 in sizes and sum(sizes) == len(small_dataset()["patients"])
    plain = screen(tmp_path / "csv", tmp_path / "plain", "--long-format", long_format)
    assert screen(tmp_path / "b", tmp_path / "bucketed", "--long-format", long_format) == plain


def test_a_bad_criteria_file_stops_before_any_bucket(bucketed: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text("max_ecog: lots\n", encoding="utf-8")
    assert cli.main(["screen", str(bucketed), "--out", str(tmp_path / "out"), "--params", str(criteria)]) == 2
    assert "max_ecog" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_criteria_overrides_apply_to_every_bucket(source: Path, bucketed: Path, tmp_path: Path) -> None:
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text("max_ecog: 2\nmin_age_years: 21\n", encoding="utf-8")
    plain = screen(source, tmp_path / "plain", "--params", str(criteria))
    assert screen(bucketed, tmp_path / "bucketed", "--params", str(criteria)) == plain
    assert plain != screen(source, tmp_path / "defaults")  # the overrides changed something


def test_the_merge_in_small_windows_and_batches_gives_the_same_bytes(source: Path, bucketed: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from lifileucel_analysis.runner import bucket_merge

    monkeypatch.setattr(bucket_merge, "MERGE_PATIENTS", 7)  # many windows, each cutting through batches
    monkeypatch.setattr(bucket_merge, "MERGE_BATCH_ROWS", 13)
    monkeypatch.setattr(chunked_output, "ROW_GROUP_ROWS", 500)  # row groups cut across windows
    for long_format in ("csv", "parquet"):
        plain = screen(source, tmp_path / f"plain-{long_format}", "--long-format", long_format)
        assert screen(bucketed, tmp_path / f"small-{long_format}", "--long-format", long_format) == plain
    outcomes = pq.ParquetFile(tmp_path / "small-parquet" / "outcomes.parquet")
    assert outcomes.num_row_groups == -(-N_PATIENTS * 19 // 500)
    assert {outcomes.metadata.row_group(i).num_rows for i in range(outcomes.num_row_groups - 1)} == {500}
