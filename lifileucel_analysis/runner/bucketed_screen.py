"""Screening a bucketed dataset bucket by bucket, in this process or on a Dask cluster, with identical bytes.

Each bucket (:mod:`lifileucel_analysis.contract.buckets`) is an ordinary dataset: the
caller's ``screen_one`` (the ``screen`` command's own function) loads and screens it and
returns its output tables. Each bucket's tables are written as Parquet *parts* with two
sort keys: ``_pos``, the patient's row position in the source dataset (stored at
partition time), and ``_seq``, the row's place in the bucket's table. The parts are then
merged by DuckDB (``ORDER BY _pos, _seq``, an external sort under a memory limit) and
written chunk by chunk through the same writers as the in-process screen
(:mod:`lifileucel_analysis.contract.chunked_output`). Since every table lists patients in
input order, the merged files are byte-identical to screening the unbucketed source.

Peak memory is one bucket's screen (plus DuckDB's limit while merging), not the cohort.
With ``scheduler`` the buckets are screened by Dask workers (``client.map``), which must
see the dataset and the output folder at the same paths; the results are gathered in
bucket order. Dask is imported only then: the default path never imports it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..contract.buckets import open_bucketed
from ..contract.chunked_output import write_csv_chunks, write_parquet_chunks
from ..contract.screen_output import ScreenedTables, file_name

__all__ = ["BucketJob", "BucketedRun", "map_buckets", "screen_bucketed"]

T = TypeVar("T")
U = TypeVar("U")
MERGE_MEMORY = "1GB"
"""DuckDB's memory limit while merging the parts; beyond it, the sort spills to disk."""
MERGE_BATCH_ROWS = 1 << 18


@dataclass(frozen=True)
class BucketJob:
    """One bucket to screen: where it is, its patients' source positions, where its parts go."""

    bucket: Path
    positions: Path
    parts: Path


@dataclass(frozen=True)
class BucketedRun:
    """What a bucketed screen did: the totals over all buckets and the files written."""

    n_in: int
    verdicts: dict[str, int]
    findings: int
    notes: tuple[str, ...]
    written: list[Path]


def screen_bucketed(dataset: Path, out: Path, screen_one: Callable[[Path], ScreenedTables], long_format: str,
                    scheduler: str | None = None) -> BucketedRun:
    """Screen every bucket of ``dataset`` and write the merged output tables into ``out``, all or none.

    Parameters
    ----------
    dataset : Path
        A bucketed dataset (:func:`lifileucel_analysis.contract.buckets.partition_dataset`).
    out : Path
        Output folder.
    screen_one : callable
        Screens one dataset folder; picklable (a module-level function or a ``partial`` of one)
        when ``scheduler`` is given.
    long_format : {"auto", "csv", "parquet"}
        As the ``screen`` command's ``--long-format``.
    scheduler : str, optional
        A Dask scheduler address, or ``local:N`` for a ``LocalCluster`` of N worker processes;
        ``None`` screens the buckets one after the other in this process.

    Returns
    -------
    BucketedRun
    """
    layout = open_bucketed(dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out.parent))
    try:
        # A bucket without a single row is skipped (the contract wants at least one patient per
        # dataset); one with event rows but no patient is screened, so that its rows are reported.
        busy = [k for k in range(layout.buckets) if _has_rows(layout.bucket_path(k))] or [0]
        jobs = [BucketJob(layout.bucket_path(k), layout.positions_path(k), staging / "parts" / f"bucket-{k:05d}")
                for k in busy]
        summaries = map_buckets(partial(screen_bucket, screen_one), jobs, scheduler)
        names = summaries[0].tables
        final = staging / "final"
        final.mkdir()
        files = {}
        for name in names:
            rows = sum(s.tables[name] for s in summaries)
            files[name] = file_name(name, rows, long_format)
            _merge(name, [job.parts for job in jobs], summaries[0].templates[name], final / files[name], staging)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in names:
            (final / files[name]).replace(out / files[name])
            written.append(out / files[name])
        _remove_stale(out, [n for n in names if "." not in n], written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    counts: dict[str, int] = {}
    for summary in summaries:
        for verdict, n in summary.verdicts.items():
            counts[verdict] = counts.get(verdict, 0) + n
    notes = tuple(dict.fromkeys(note for s in summaries for note in s.notes))
    return BucketedRun(sum(s.n_in for s in summaries), counts, sum(s.findings for s in summaries), notes, written)


def _has_rows(bucket: Path) -> bool:
    """Whether any table of a bucket has a row (from the Parquet footers, no data read)."""
    return any(pq.ParquetFile(path).metadata.num_rows for path in bucket.glob("*.parquet"))


@dataclass(frozen=True)
class BucketSummary:
    """What a worker sends back for one bucket: table names with row counts and dtypes, and the printed counts."""

    tables: dict[str, int]
    templates: dict[str, pd.DataFrame]
    n_in: int
    verdicts: dict[str, int]
    findings: int
    notes: tuple[str, ...]


def screen_bucket(screen_one: Callable[[Path], ScreenedTables], job: BucketJob) -> BucketSummary:
    """Screen one bucket and write its tables as sortable Parquet parts (runs on a Dask worker too)."""
    screened = screen_one(job.bucket)
    positions = pq.read_table(job.positions).column("position").to_numpy()
    ids = pc.utf8_trim_whitespace(pq.read_table(job.bucket / "patients.parquet", columns=["patient_id"])
                                  .column("patient_id").cast(pa.string()))
    index = pd.Index(ids.to_pandas())
    job.parts.mkdir(parents=True)
    for name, frame in screened.tables.items():
        at = index.get_indexer(frame["patient_id"])
        if (at < 0).any():
            raise ValueError(f"{name}: patient IDs not in the bucket's patients table; cannot order the output")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.append_column("_pos", pa.array(positions[at] if len(at) else np.zeros(0, np.int64)))
        table = table.append_column("_seq", pa.array(np.arange(len(frame), dtype=np.int64)))
        pq.write_table(table, job.parts / f"{name}.parquet")
    # The empty frames carry the exact dtypes (categories included) from the engine to the merge.
    return BucketSummary({name: len(frame) for name, frame in screened.tables.items()},
                         {name: frame.iloc[:0] for name, frame in screened.tables.items()}, screened.n_in,
                         screened.verdicts, screened.findings, screened.notes)


def _merge(name: str, part_dirs: Sequence[Path], template: pd.DataFrame, target: Path, staging: Path) -> None:
    """Merge one table's parts in source patient order and write it as ``target`` with ``template``'s dtypes."""
    parts = [str(d / f"{name}.parquet") for d in part_dirs]
    writer = write_parquet_chunks if target.suffix == ".parquet" else write_csv_chunks
    writer(_sorted_frames(parts, template, staging), target)


def _sorted_frames(parts: list[str], template: pd.DataFrame, staging: Path) -> Iterator[pd.DataFrame]:
    """The parts' rows ordered by (``_pos``, ``_seq``), chunk by chunk, with the template's dtypes.

    The template comes first, also when there are no rows: it gives the CSV header and the
    Parquet schema (pandas metadata included), as the unbucketed screen's frame does.
    """
    import duckdb

    yield template
    dtypes = template.dtypes.to_dict()
    with duckdb.connect() as con:
        con.execute(f"SET memory_limit='{MERGE_MEMORY}'")
        con.execute("SET temp_directory=?", [str(staging / "duckdb-spill")])
        con.execute("SET preserve_insertion_order=true")
        columns = ", ".join(f'"{c}"' for c in template.columns)
        query = f"SELECT {columns} FROM read_parquet($parts) ORDER BY _pos, _seq"
        reader = con.sql(query, params={"parts": parts}).to_arrow_reader(MERGE_BATCH_ROWS)
        for batch in reader:
            frame = batch.to_pandas()
            typed = frame.astype(dtypes)
            if (typed.isna().sum() != frame.isna().sum()).any():  # a value outside a category: never drop it
                lost = [c for c in frame.columns if typed[c].isna().sum() != frame[c].isna().sum()]
                raise ValueError(f"merging the buckets' outputs would lose values of {lost} to the column types "
                                 f"{[str(dtypes[c]) for c in lost]}")
            yield typed


def _remove_stale(out: Path, stems: list[str], written: list[Path]) -> None:
    """Delete an earlier run's long table in the other format, which must not pass for this run's."""
    for stem in stems:
        for ext in ("csv", "parquet"):
            path = out / f"{stem}.{ext}"
            if path not in written and path.exists():
                path.unlink()


def map_buckets(func: Callable[[T], U], jobs: Sequence[T], scheduler: str | None) -> list[U]:
    """``[func(job) for job in jobs]``, here or on a Dask cluster; results in the order of ``jobs``."""
    if scheduler is None:
        return [func(job) for job in jobs]
    from dask.distributed import Client, LocalCluster

    if scheduler.startswith("local:"):
        workers = int(scheduler.split(":", 1)[1])
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            return _gather(client, func, jobs)
    with Client(scheduler) as client:
        return _gather(client, func, jobs)


def _gather(client: Any, func: Callable[[T], U], jobs: Sequence[T]) -> list[U]:
    # pure=False: a bucket is screened once per call, never served from a cache.
    return list(client.gather(client.map(func, list(jobs), pure=False)))
