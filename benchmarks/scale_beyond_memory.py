"""The two measurements of issue 16, run by ``benchmarks/screen_scale.py`` (``make bench``).

- **Yardstick**: on the same synthetic cohort, as a CSV folder and as Parquet, the whole
  ``lifileucel-eap screen`` command and the plain DuckDB SQL program of the verdict rules
  (``benchmarks/duckdb_yardstick.py``), each in a fresh process, median of ``repeat`` runs
  after one untimed run of each;
  reported as the ratio ours / DuckDB (target <= 1.0 at 1,000,000 patients) together with
  how many of the two programs' verdicts agree; and beside them the **floor**
  (``benchmarks/io_floor.py``): only reading the inputs and writing our output files
  again, already computed, each step by the faster of DuckDB and Arrow, with
  ``floor_share`` = floor / yardstick (what is left below 1.0 is all the time a screen at
  the yardstick's pace would have for checking, deciding and spelling).
- **Bucketed** (only when asked: ``--bucketed-sizes``, ``make bench SCALE=10000000``): a
  cohort written chunk by chunk as Parquet (``synth``), partitioned (``partition --buckets
  B``) and screened bucket by bucket (``screen BUCKETED``), each step's wall time and peak
  RSS (target at 10,000,000 patients: peak RSS <= 4 GiB, wall time <= 11x the
  1,000,000-patient ``screen`` from Parquet of the same run).

Each appends its rows to its own CSV beside ``results.csv``.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
YARDSTICK = ROOT / "benchmarks" / "duckdb_yardstick.py"
FLOOR = ROOT / "benchmarks" / "io_floor.py"
CLI = [sys.executable, "-m", "lifileucel_analysis"]
Runner = Callable[[list[str]], tuple[str, float, int, float]]
"""Runs a command: its stdout, wall seconds, peak RSS in MiB and CPU seconds (user + system)."""


def agreement(ours: Path, theirs: Path) -> int:
    """Patients whose verdict, failed, unknown and waived lists are the same in both verdict files."""
    a = pd.read_csv(ours, keep_default_na=False, dtype=str)
    b = pd.read_csv(theirs, keep_default_na=False, dtype=str)
    columns = ["patient_id", "verdict", "failed", "unknown", "waived"]
    if len(a) != len(b):
        return 0
    return int((a[columns].to_numpy() == b[columns].to_numpy()).all(axis=1).sum())


def yardstick(n: int, seed: int, workdir: Path, repeat: int, run_child: Runner) -> list[dict[str, object]]:
    """Ours vs the DuckDB SQL program on ``n`` patients, from CSV and from Parquet.

    The two run alternately (ours, DuckDB, ours, ...) so that a neighbour's load falls on
    both; each row keeps the medians, the largest peak RSS, the CPU seconds and the mean
    1-minute load average seen before the runs (the machine's other work, ours excluded
    only in so far as the previous run has ended).
    """
    rows = []
    for fmt in ("csv", "parquet"):
        data = workdir / f"yard_{n}_{fmt}"
        run_child([*CLI, "synth", "--patients", str(n), "--seed", str(seed), "--out", str(data), "--format", fmt])
        ours, sql, ours_cpu, sql_cpu, loads, ours_rss, sql_rss = [], [], [], [], [], 0, 0
        floor, floor_cpu = [], []
        # One untimed run of each first: this machine pages out idle file pages, and a cold
        # start reads the libraries (1.2 GiB of .so files for ours) from a slow disk, which
        # added up to 17 s to whichever program happened to run first.
        run_child([*CLI, "screen", str(data), "--out", str(workdir / "yard_ours")])
        run_child([sys.executable, str(YARDSTICK), str(data), str(workdir / "yard_sql")])
        for _ in range(repeat):
            loads.append(os.getloadavg()[0])
            _, wall, rss, cpu = run_child([*CLI, "screen", str(data), "--out", str(workdir / "yard_ours")])
            ours.append(wall)
            ours_cpu.append(cpu)
            ours_rss = max(ours_rss, rss)
            loads.append(os.getloadavg()[0])
            _, wall, rss, cpu = run_child([sys.executable, str(YARDSTICK), str(data), str(workdir / "yard_sql")])
            sql.append(wall)
            sql_cpu.append(cpu)
            sql_rss = max(sql_rss, rss)
            # The floor re-writes what our screen of this round wrote (its own clock: loading our
            # files into memory first is not part of it).
            stdout, _, _, _ = run_child([sys.executable, str(FLOOR), str(data), str(workdir / "yard_ours"),
                                         str(workdir / "yard_floor")])
            wall, cpu = (float(x) for x in stdout.strip().splitlines()[-1].split())
            floor.append(wall)
            floor_cpu.append(cpu)
        rows.append({"patients": n, "format": fmt, "ours_s": statistics.median(ours),
                     "duckdb_s": statistics.median(sql), "ratio": statistics.median(ours) / statistics.median(sql),
                     "ours_cpu_s": statistics.median(ours_cpu), "duckdb_cpu_s": statistics.median(sql_cpu),
                     "ours_peak_rss_mib": ours_rss, "duckdb_peak_rss_mib": sql_rss, "runs": repeat,
                     "floor_s": statistics.median(floor), "floor_cpu_s": statistics.median(floor_cpu),
                     "floor_share": statistics.median(floor) / statistics.median(sql),
                     "load_avg": round(statistics.mean(loads), 2),
                     "verdicts_agree": agreement(workdir / "yard_ours" / "verdicts.csv",
                                                 workdir / "yard_sql" / "verdicts.csv")})
    return rows


def bucketed(n: int, seed: int, buckets: int, workdir: Path, run_child: Runner,
             one_million_s: float | None = None) -> dict[str, object]:
    """Synthesise ``n`` patients as Parquet in chunks, partition them, screen bucket by bucket (one run each).

    ``one_million_s``: the whole ``screen`` of 1,000,000 patients from Parquet in the same
    run; the target wall time is 1.1 x (n / 1,000,000) times it (11x for 10,000,000).
    """
    data, parts, out = workdir / f"big_{n}", workdir / f"big_{n}_b{buckets}", workdir / f"big_{n}_out"
    load_before = os.getloadavg()[0]
    _, synth_s, synth_rss, _ = run_child([*CLI, "synth", "--patients", str(n), "--seed", str(seed), "--out", str(data),
                                          "--format", "parquet"])
    _, partition_s, partition_rss, _ = run_child([*CLI, "partition", str(data), "--buckets", str(buckets),
                                                  "--out", str(parts)])
    stdout, screen_s, screen_rss, screen_cpu = run_child([*CLI, "screen", str(parts), "--out", str(out)])
    target = None if one_million_s is None else 1.1 * n / 1_000_000 * one_million_s
    return {"patients": n, "buckets": buckets, "synth_s": synth_s, "synth_peak_rss_mib": synth_rss,
            "partition_s": partition_s, "partition_peak_rss_mib": partition_rss, "screen_s": screen_s,
            "screen_cpu_s": screen_cpu, "screen_peak_rss_mib": screen_rss, "target_s": target,
            "ratio_to_target": None if target is None else screen_s / target,
            "load_avg": round((load_before + os.getloadavg()[0]) / 2, 2), "summary": stdout.strip().splitlines()[0]}


def report(yard: list[dict[str, object]], big: list[dict[str, object]], stamp: dict[str, str],
           results_dir: Path) -> None:
    """Print both tables, append them to their CSVs."""
    if yard:
        table = pd.DataFrame(yard)
        print("\nyardstick: whole `screen` command vs a plain DuckDB SQL program of the verdict rules")
        print(table.round(2).to_string(index=False))
        print("target at 1,000,000 patients: ratio <= 1.0 from CSV and from Parquet, peak RSS <= 4 GiB")
        print("floor: only reading the inputs and writing our files again (already computed), the faster of DuckDB "
              "and Arrow per step; floor_share = floor / duckdb (1 - floor_share: the share left for the work)")
        _append(table.assign(**stamp), results_dir / "yardstick.csv")
    if big:
        table = pd.DataFrame(big)
        print("\nbucketed: synth (chunked) -> partition -> screen bucket by bucket")
        print(table.drop(columns="summary").round(2).to_string(index=False))
        print("target at 10,000,000 patients: screen peak RSS <= 4 GiB, wall <= 11x the 1,000,000-patient screen "
              "(target_s: 1.1 x patients / 1,000,000 x this run's 1,000,000-patient Parquet screen; "
              "ratio_to_target <= 1.0)")
        _append(table.assign(**stamp), results_dir / "bucketed.csv")


def _append(table: pd.DataFrame, path: Path) -> None:
    """Add the rows to the log; columns added since older rows were written stay blank there."""
    if path.exists():
        table = pd.concat([pd.read_csv(path), table], ignore_index=True)
    table.round(3).to_csv(path, index=False)
    print(f"appended to {path}")
