"""Writing one output table from a sequence of frames, with the same bytes however it is split.

Both ways of screening write through here: the in-process screen passes its whole table
as one frame, the bucketed screen (:mod:`lifileucel_analysis.runner.bucketed_screen`)
passes the merged buckets chunk by chunk. The bytes depend only on the rows:

- CSV: the header once, then every chunk's rows (formula-like cells neutralised cell by
  cell, so a chunk boundary changes nothing);
- Parquet: row groups of exactly :data:`ROW_GROUP_ROWS` rows (the last one shorter), each
  written from one contiguous Arrow table, so neither the caller's chunks nor the
  engine's internal Arrow chunks move a page boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ROW_GROUP_ROWS", "write_csv_chunks", "write_parquet_chunks"]

ROW_GROUP_ROWS = 1 << 20


def write_csv_chunks(frames: Iterable[pd.DataFrame], path: Path) -> int:
    """Write frames (same columns) as one CSV file; return the number of rows."""
    from .output_files import neutralise_formulas  # output_files calls this module

    rows, first = 0, True
    with path.open("w", encoding="utf-8", newline="") as handle:
        for frame in frames:
            if not first and frame.empty:
                continue
            neutralise_formulas(frame).to_csv(handle, index=False, header=first, lineterminator="\n",
                                              date_format="%Y-%m-%d")
            rows, first = rows + len(frame), False
    return rows


def write_parquet_chunks(frames: Iterable[pd.DataFrame], path: Path) -> int:
    """Write frames (same columns and dtypes) as one Parquet file in fixed-size row groups; return the rows."""
    writer: pq.ParquetWriter | None = None
    held: list[pa.Table] = []
    rows = held_rows = 0
    try:
        for frame in frames:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            elif frame.empty:
                continue
            held.append(table)
            held_rows += len(table)
            rows += len(table)
            while held_rows >= ROW_GROUP_ROWS:
                whole = pa.concat_tables(held)
                writer.write_table(whole.slice(0, ROW_GROUP_ROWS).combine_chunks(), row_group_size=ROW_GROUP_ROWS)
                held, held_rows = [whole.slice(ROW_GROUP_ROWS)], held_rows - ROW_GROUP_ROWS
        if writer is not None and held_rows:
            writer.write_table(pa.concat_tables(held).combine_chunks(), row_group_size=ROW_GROUP_ROWS)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError(f"no frame given for {path.name}: pass at least one (possibly empty) frame")
    return rows
