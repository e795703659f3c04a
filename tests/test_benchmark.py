"""The scale benchmark runs end to end on tiny cohorts (its numbers are for `make bench`, not here)."""

from __future__ import annotations

import os
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
    assert yard["load_avg"].notna().all() and yard["commit"].notna().all()
    big = pd.read_csv(tmp_path / "bucketed.csv")
    assert big["patients"].tolist() == [400] and big["buckets"].tolist() == [3]
    assert big["summary"].str.startswith("screened 400 patients in, 400 verdicts out").all()
    assert (big["screen_peak_rss_mib"] > 0).all()
    assert big["ratio_to_target"].isna().all()  # no 1,000,000-patient screen in this run to compare with
