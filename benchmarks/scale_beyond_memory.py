"""The two measurements of issue 16, run by ``benchmarks/screen_scale.py`` (``make bench``).

- **Yardstick**: on the same synthetic cohort, as a CSV folder and as Parquet, the whole
  ``lifileucel-eap screen`` command and the plain DuckDB SQL program of the verdict rules
  (``benchmarks/duckdb_yardstick.py``), each in a fresh process, median of ``repeat`` runs;
  reported as the ratio ours / DuckDB (target <= 1.0 at 1,000,000 patients) together with
  how many of the two programs' verdicts agree.
- **Bucketed**: a cohort written chunk by chunk as Parquet (``synth``), partitioned
  (``partition --buckets B``) and screened bucket by bucket (``screen BUCKETED``), each
  step's wall time and peak RSS (target at 10,000,000 patients: peak RSS <= 4 GiB, wall
  time <= 11x the 1,000,000-patient ``screen``).

Each appends its rows to its own CSV beside ``results.csv``.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
YARDSTICK = ROOT / "benchmarks" / "duckdb_yardstick.py"
CLI = [sys.executable, "-m", "lifileucel_analysis"]
Runner = Callable[[list[str]], tuple[str, float, int]]


def agreement(ours: Path, theirs: Path) -> int:
    """Patients whose verdict, failed, unknown and waived lists are the same in both verdict files."""
    a = pd.read_csv(ours, keep_default_na=False, dtype=str)
    b = pd.read_csv(theirs, keep_default_na=False, dtype=str)
    columns = ["patient_id", "verdict", "failed", "unknown", "waived"]
    if len(a) != len(b):
        return 0
    return int((a[columns].to_numpy() == b[columns].to_numpy()).all(axis=1).sum())


def yardstick(n: int, seed: int, workdir: Path, repeat: int, run_child: Runner) -> list[dict[str, object]]:
    """Ours vs the DuckDB SQL program on ``n`` patients, from CSV and from Parquet."""
    rows = []
    for fmt in ("csv", "parquet"):
        data = workdir / f"yard_{n}_{fmt}"
        run_child([*CLI, "synth", "--patients", str(n), "--seed", str(seed), "--out", str(data), "--format", fmt])
        ours, sql, ours_rss, sql_rss = [], [], 0, 0
        for _ in range(repeat):
            _, wall, rss = run_child([*CLI, "screen", str(data), "--out", str(workdir / "yard_ours")])
            ours.append(wall)
            ours_rss = max(ours_rss, rss)
            _, wall, rss = run_child([sys.executable, str(YARDSTICK), str(data), str(workdir / "yard_sql")])
            sql.append(wall)
            sql_rss = max(sql_rss, rss)
        rows.append({"patients": n, "format": fmt, "ours_s": statistics.median(ours),
                     "duckdb_s": statistics.median(sql), "ratio": statistics.median(ours) / statistics.median(sql),
                     "ours_peak_rss_mib": ours_rss, "duckdb_peak_rss_mib": sql_rss, "runs": repeat,
                     "verdicts_agree": agreement(workdir / "yard_ours" / "verdicts.csv",
                                                 workdir / "yard_sql" / "verdicts.csv")})
    return rows


def bucketed(n: int, seed: int, buckets: int, workdir: Path, run_child: Runner) -> dict[str, object]:
    """Synthesise ``n`` patients as Parquet in chunks, partition them, screen bucket by bucket (one run each)."""
    data, parts, out = workdir / f"big_{n}", workdir / f"big_{n}_b{buckets}", workdir / f"big_{n}_out"
    _, synth_s, synth_rss = run_child([*CLI, "synth", "--patients", str(n), "--seed", str(seed), "--out", str(data),
                                       "--format", "parquet"])
    _, partition_s, partition_rss = run_child([*CLI, "partition", str(data), "--buckets", str(buckets),
                                               "--out", str(parts)])
    stdout, screen_s, screen_rss = run_child([*CLI, "screen", str(parts), "--out", str(out)])
    return {"patients": n, "buckets": buckets, "synth_s": synth_s, "synth_peak_rss_mib": synth_rss,
            "partition_s": partition_s, "partition_peak_rss_mib": partition_rss, "screen_s": screen_s,
            "screen_peak_rss_mib": screen_rss, "summary": stdout.strip().splitlines()[0]}


def report(yard: list[dict[str, object]], big: list[dict[str, object]], stamp: dict[str, str],
           results_dir: Path) -> None:
    """Print both tables, append them to their CSVs."""
    if yard:
        table = pd.DataFrame(yard)
        print("\nyardstick: whole `screen` command vs a plain DuckDB SQL program of the verdict rules")
        print(table.round(2).to_string(index=False))
        print("target at 1,000,000 patients: ratio <= 1.0 from CSV and from Parquet, peak RSS <= 4 GiB")
        _append(table.assign(**stamp), results_dir / "yardstick.csv")
    if big:
        table = pd.DataFrame(big)
        print("\nbucketed: synth (chunked) -> partition -> screen bucket by bucket")
        print(table.drop(columns="summary").round(2).to_string(index=False))
        print("target at 10,000,000 patients: screen peak RSS <= 4 GiB, wall <= 11x the 1,000,000-patient screen")
        _append(table.assign(**stamp), results_dir / "bucketed.csv")


def _append(table: pd.DataFrame, path: Path) -> None:
    table.round(3).to_csv(path, mode="a", header=not path.exists(), index=False)
    print(f"appended to {path}")
