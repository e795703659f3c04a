"""Screening a bucketed dataset bucket by bucket, in this process or on a Dask cluster, with identical bytes.

Each bucket (:mod:`lifileucel_analysis.contract.buckets`) is an ordinary dataset: the
caller's ``screen_one`` (the ``screen`` command's own function) loads and screens it and
returns its output tables. Each bucket's tables are written as Parquet *parts* with two
sort keys: ``_pos``, the patient's row position in the source dataset (stored at
partition time), and ``_seq``, the row's place in the bucket's table. Each part is already
in that order, so the parts are merged as sorted streams (a k-way merge in windows of
source positions, batch by batch) and written chunk by chunk through the same writers as
the in-process screen
(:mod:`lifileucel_analysis.contract.chunked_output`). Since every table lists patients in
input order, the merged files are byte-identical to screening the unbucketed source.

Peak memory is one bucket's screen, or while merging one batch per bucket, not the cohort.
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
MERGE_PATIENTS = 50_000
"""Source positions merged at a time: with 19 outcomes each, about a million rows per window."""
MERGE_BATCH_ROWS = 1 << 16


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
            _merge(name, [job.parts for job in jobs], summaries[0].templates[name], final / files[name])
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


def _merge(name: str, part_dirs: Sequence[Path], template: pd.DataFrame, target: Path) -> None:
    """Merge one table's parts in source patient order and write it as ``target`` with ``template``'s dtypes."""
    parts = [str(d / f"{name}.parquet") for d in part_dirs]
    writer = write_parquet_chunks if target.suffix == ".parquet" else write_csv_chunks
    writer(_sorted_frames(parts, template), target)


def _sorted_frames(parts: list[str], template: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """The parts' rows ordered by (``_pos``, ``_seq``), chunk by chunk, with the template's dtypes.

    The template comes first, also when there are no rows: it gives the CSV header and the
    Parquet schema (pandas metadata included), as the unbucketed screen's frame does. Each
    part is already in that order (a bucket keeps its patients in source order), so this is
    a streaming k-way merge: positions are taken in windows of :data:`MERGE_PATIENTS`; each
    part contributes its rows inside the window, read batch by batch; the window's rows are
    sorted and handed on. Memory: one batch per part plus one window.
    """
    yield template
    dtypes = template.dtypes.to_dict()
    streams = [_PartStream(path) for path in parts]
    while any(not stream.done for stream in streams):
        start = min(stream.next_position() for stream in streams if not stream.done)
        window = pa.concat_tables([stream.take_below(start + MERGE_PATIENTS) for stream in streams])
        order = np.lexsort((window.column("_seq").to_numpy(), window.column("_pos").to_numpy()))
        frame = window.drop_columns(["_pos", "_seq"]).take(pa.array(order)).to_pandas()
        typed = frame.astype(dtypes)
        if (typed.isna().sum() != frame.isna().sum()).any():  # a value outside a category: never drop it
            lost = [c for c in frame.columns if typed[c].isna().sum() != frame[c].isna().sum()]
            raise ValueError(f"merging the buckets' outputs would lose values of {lost} to the column types "
                             f"{[str(dtypes[c]) for c in lost]}")
        yield typed


class _PartStream:
    """One bucket's part, read batch by batch, handing out its rows below a source position."""

    def __init__(self, path: str) -> None:
        self.batches = pq.ParquetFile(path).iter_batches(batch_size=MERGE_BATCH_ROWS)
        self.held: pa.Table | None = None
        self._empty = pq.read_schema(path).empty_table()
        self.exhausted = False
        self._fill()

    @property
    def done(self) -> bool:
        """Whether every row has been handed out."""
        return self.exhausted and (self.held is None or self.held.num_rows == 0)

    def next_position(self) -> int:
        """The smallest source position not handed out yet."""
        return int(self.held.column("_pos")[0].as_py())  # type: ignore[union-attr]

    def take_below(self, limit: int) -> pa.Table:
        """Hand out (and forget) the rows whose position is below ``limit``."""
        pieces = []
        while self.held is not None and self.held.num_rows:
            positions = self.held.column("_pos").to_numpy()
            cut = int(np.searchsorted(positions, limit))
            pieces.append(self.held.slice(0, cut))
            self.held = self.held.slice(cut)
            if self.held.num_rows or self.exhausted:
                break
            self._fill()
        return pa.concat_tables(pieces) if pieces else self._empty

    def _fill(self) -> None:
        batch = next(self.batches, None)
        if batch is None:
            self.exhausted = True
            return
        self.held = pa.Table.from_batches([batch])


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
