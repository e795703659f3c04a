"""The scale benchmark runs end to end on tiny cohorts (its numbers are for `make bench`, not here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_and_logs_every_size(tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "screen_scale.py"), "--sizes", "300", "600",
         "--reference-n", "200", "--repeat", "1", "--results", str(results),
         "--yardstick-sizes", "300", "--bucketed-sizes", "400", "--buckets", "3"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"}, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "outcomes agree: True" in run.stdout
    table = pd.read_csv(results)
    assert table["patients"].tolist() == [300, 600]
    for column in ("load_s", "validate_s", "evaluate_s", "write_s", "cli_s", "cli_peak_rss_mib", "patients_per_s",
                   "reference_speedup", "machine"):
        assert table[column].notna().all(), column
    assert (table["cli_peak_rss_mib"] > 0).all()
    yard = pd.read_csv(tmp_path / "yardstick.csv")
    assert yard["format"].tolist() == ["csv", "parquet"]
    assert (yard["verdicts_agree"] == 300).all()  # the SQL program and the engine decide alike
    assert (yard["ratio"] > 0).all() and (yard["duckdb_s"] > 0).all()
    assert (yard["ours_cpu_s"] > 0).all() and (yard["duckdb_cpu_s"] > 0).all()  # work done, whatever the load
    assert (yard["floor_s"] > 0).all() and (yard["floor_cpu_s"] > 0).all()
    assert (yard["floor_share"] - yard["floor_s"] / yard["duckdb_s"]).abs().max() < 1e-2
    assert yard["load_avg"].notna().all() and yard["commit"].notna().all()
    big = pd.read_csv(tmp_path / "bucketed.csv")
    assert big["patients"].tolist() == [400] and big["buckets"].tolist() == [3]
    assert big["summary"].str.startswith("screened 400 patients in, 400 verdicts out").all()
    assert (big["screen_peak_rss_mib"] > 0).all()
    assert big["ratio_to_target"].isna().all()  # no 1,000,000-patient screen in this run to compare with


def test_the_floor_reads_every_input_and_writes_every_output_file_again(tmp_path: Path) -> None:
    """The floor's files are ours again, row for row: it times the writing of what `screen` writes."""
    import pyarrow.parquet as pq

    fixture, ours = ROOT / "lifileucel_analysis" / "data" / "fixture", tmp_path / "ours"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    screen = subprocess.run([sys.executable, "-m", "lifileucel_analysis", "screen", str(fixture), "--out", str(ours),
                             "--long-format", "parquet"], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=300)
    assert screen.returncode == 0, screen.stderr
    floor = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "io_floor.py"), str(fixture), str(ours),
                            str(tmp_path / "again")], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert floor.returncode == 0, floor.stderr
    lines = floor.stdout.strip().splitlines()
    assert lines[0].startswith("read the inputs: ")
    wall, cpu = (float(x) for x in lines[-1].split())
    assert wall > 0 and cpu > 0  # CPU clock fine enough for a fixture-sized step (os.times read 0 here)
    timed = [re.fullmatch(r".+: DuckDB (\d+\.\d{3}) s, Arrow (\d+\.\d{3}) s", line) for line in lines[:-1]]
    assert all(timed), lines  # every step both ways
    faster = sum(min(float(m.group(1)), float(m.group(2))) for m in timed)  # type: ignore[union-attr]
    assert abs(wall - faster) <= 0.0005 * len(timed) + 0.0005 + 1e-9  # the floor counts the faster way of each step
    written = sorted(p.name for p in ours.iterdir() if p.suffix in (".csv", ".parquet"))
    assert "outcomes.parquet" in written and "verdicts.csv" in written
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == written
    assert [line.split(":")[0] for line in lines[1:-1]] == [f"wrote {name}" for name in written]
    for name in written:  # same rows, counted by other readers than DuckDB
        if name.endswith(".parquet"):
            assert pq.read_metadata(tmp_path / "again" / name).num_rows == pq.read_metadata(ours / name).num_rows
        else:
            again = pd.read_csv(tmp_path / "again" / name, dtype=str, keep_default_na=False)
            mine = pd.read_csv(ours / name, dtype=str, keep_default_na=False)
            assert again.shape == mine.shape and list(again.columns) == list(mine.columns), name
