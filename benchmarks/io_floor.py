"""The floor under the yardstick: only reading the inputs and writing our output files.

``python benchmarks/io_floor.py DATASET OURS SCRATCH`` loads the output files that
``lifileucel-eap screen DATASET --out OURS`` wrote into memory (not timed), then times the
two things a screen cannot skip, each done both by DuckDB and by Arrow's C++ readers and
writers, the faster of the two counted:

1. reading the five input tables of ``DATASET`` (CSV or Parquet) into memory, every column
   (DuckDB: ``CREATE TABLE ... AS SELECT * FROM read_parquet / read_csv``; Arrow:
   ``pyarrow.parquet.read_table`` / ``pyarrow.csv.read_csv``, multi-threaded);
2. writing the same output files again into ``SCRATCH``, file by file, in their formats:
   CSV with a header (DuckDB ``COPY``; ``pyarrow.csv.write_csv``), Parquet with zstd
   (DuckDB ``COPY``, its row groups written in parallel; our own writer,
   ``contract.chunked_output.ParquetChunks``, million-row groups).

Nothing is validated, decided or spelt out: every verdict, sentence and worklist row is
already there. The sum of the faster times is a floor for a program that writes what
``screen`` writes from these inputs with the fastest readers and writers at hand, and
``make bench`` sets it beside the yardstick's (the plain SQL verdict program,
``duckdb_yardstick.py``): the yardstick's time minus the floor is all the time a screen
at ratio 1.0 would have for checking, deciding and spelling. The last line printed is
``floor_s cpu_s`` (wall and CPU seconds of the faster variants, without the interpreter's
start and the untimed load); the lines before it give each step, both ways.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lifileucel_analysis.contract.chunked_output import ParquetChunks  # noqa: E402  (the checkout's package)

INPUTS = ("patients", "therapies", "labs", "toxicities", "overrides")


def _timed(step: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of one step.

    CPU time comes from ``time.process_time`` (the process's CPU clock, nanoseconds), not
    ``os.times``: that one counts in clock ticks of 10 ms, and a small cohort's steps take
    less, so their CPU time read as 0.
    """
    start, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - start, time.process_time() - cpu


def _as_text(table: pa.Table) -> pa.Table:
    """Every column as text: a CSV output is written back as the cells it holds."""
    return table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema]))


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Our own Parquet writer, as ``screen`` uses it for the long tables."""
    writer = ParquetChunks(path)
    writer.write_arrow(table)
    writer.close()


def run(dataset: Path, ours: Path, scratch: Path) -> tuple[float, float, list[str]]:
    """Time reading ``dataset`` and re-writing the files in ``ours``; return wall s, CPU s and a log."""
    import duckdb

    scratch.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    outputs = sorted(p for p in ours.iterdir() if p.suffix in (".csv", ".parquet"))
    if not outputs:
        raise SystemExit(f"{ours}: no output files of a screen to write again")
    tables = {}
    for k, path in enumerate(outputs):  # the finished outputs, held in memory: not timed
        tables[k] = pq.read_table(path) if path.suffix == ".parquet" else _as_text(pacsv.read_csv(path))
        con.register(f"arrow_{k}", tables[k])
        con.execute(f"CREATE TABLE out_{k} AS SELECT * FROM arrow_{k}")
    # Each table's file, Parquet or CSV (a dataset folder holds one format).
    found = [[dataset / f"{name}{suffix}" for suffix in (".parquet", ".csv") if (dataset / f"{name}{suffix}").exists()]
             for name in INPUTS]
    inputs = [paths[0] for paths in found if paths]

    def read_duckdb() -> None:
        for k, path in enumerate(inputs):
            reader = f"read_parquet('{path}')" if path.suffix == ".parquet" else f"read_csv('{path}', header=true)"
            con.execute(f"CREATE OR REPLACE TABLE in_{k} AS SELECT * FROM {reader}")

    def read_arrow() -> None:
        for path in inputs:
            pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)

    log: list[str] = []
    steps = [("read the inputs", read_duckdb, read_arrow)]
    for k, path in enumerate(outputs):
        target = scratch / path.name
        options = "(FORMAT parquet, COMPRESSION zstd)" if path.suffix == ".parquet" else "(HEADER, DELIMITER ',')"
        steps.append((f"wrote {path.name}",
                      lambda k=k, target=target, options=options: con.execute(f"COPY out_{k} TO '{target}' {options}"),
                      (lambda k=k, target=target: _write_parquet(tables[k], target)) if path.suffix == ".parquet"
                      else (lambda k=k, target=target: pacsv.write_csv(tables[k], target))))
    wall = cpu = 0.0
    for what, by_duckdb, by_arrow in steps:
        duck, arrow = _timed(by_duckdb), _timed(by_arrow)
        faster = min(duck, arrow)
        wall, cpu = wall + faster[0], cpu + faster[1]
        log.append(f"{what}: DuckDB {duck[0]:.3f} s, Arrow {arrow[0]:.3f} s")
    return wall, cpu, log


if __name__ == "__main__":
    floor_s, cpu_s, steps_log = run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    print("\n".join(steps_log))
    print(f"{floor_s:.6f} {cpu_s:.6f}")
