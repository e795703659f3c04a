"""The floor under the yardstick: DuckDB only reading the inputs and writing our output files.

``python benchmarks/duckdb_floor.py DATASET OURS SCRATCH`` loads the output files that
``lifileucel-eap screen DATASET --out OURS`` wrote into DuckDB's memory (not timed), then
times two things a screen cannot skip, done by DuckDB's multi-threaded C++ code:

1. reading the five input tables of ``DATASET`` (CSV or Parquet) into memory, every column;
2. writing the same output files again into ``SCRATCH``, in their formats: CSV with a
   header, Parquet with zstd (DuckDB's own row groups, written in parallel).

Nothing is validated, decided or spelt out: every verdict, sentence and worklist row is
already there. The time is a lower bound for any program that writes what ``screen``
writes from these inputs, and ``make bench`` sets it beside the yardstick's (the plain SQL
verdict program, ``duckdb_yardstick.py``): where the floor alone takes as long as the
yardstick, a whole ``screen`` at or below the yardstick is out of reach for any engine,
DuckDB included. The last line printed is ``floor_s cpu_s`` (wall and CPU seconds of
steps 1 and 2, without the interpreter's start and the untimed load); the lines before it
give each step and file.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

INPUTS = ("patients", "therapies", "labs", "toxicities", "overrides")


def _source(path: Path) -> str:
    """DuckDB's reader for one file: text for CSV (every cell kept as written), typed for Parquet."""
    if path.suffix == ".parquet":
        return f"read_parquet('{path}')"
    return f"read_csv('{path}', header=true, all_varchar=true)"


def run(dataset: Path, ours: Path, scratch: Path) -> tuple[float, float, list[str]]:
    """Time reading ``dataset`` and re-writing the files in ``ours``; return wall s, CPU s and a log."""
    import duckdb

    scratch.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    outputs = sorted(p for p in ours.iterdir() if p.suffix in (".csv", ".parquet"))
    if not outputs:
        raise SystemExit(f"{ours}: no output files of a screen to write again")
    for k, path in enumerate(outputs):  # the finished outputs, held in memory: not timed
        con.execute(f"CREATE TABLE out_{k} AS SELECT * FROM {_source(path)}")
    log: list[str] = []
    start, cpu_start = time.perf_counter(), os.times()
    for name in INPUTS:
        found = [dataset / f"{name}{suffix}" for suffix in (".parquet", ".csv") if (dataset / f"{name}{suffix}").exists()]
        if found:  # typed by DuckDB's own sniffing for CSV: reading, not the contract's checks
            reader = (_source(found[0]) if found[0].suffix == ".parquet"
                      else f"read_csv('{found[0]}', header=true)")
            con.execute(f"CREATE TABLE in_{name} AS SELECT * FROM {reader}")
    read_s = time.perf_counter() - start
    log.append(f"read the inputs: {read_s:.2f} s")
    for k, path in enumerate(outputs):
        begin = time.perf_counter()
        options = "(FORMAT parquet, COMPRESSION zstd)" if path.suffix == ".parquet" else "(HEADER, DELIMITER ',')"
        con.execute(f"COPY out_{k} TO '{scratch / path.name}' {options}")
        log.append(f"wrote {path.name}: {time.perf_counter() - begin:.2f} s")
    wall, cpu_end = time.perf_counter() - start, os.times()
    cpu = (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system)
    return wall, cpu, log


if __name__ == "__main__":
    floor_s, cpu_s, steps = run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    print("\n".join(steps))
    print(f"{floor_s:.3f} {cpu_s:.3f}")
