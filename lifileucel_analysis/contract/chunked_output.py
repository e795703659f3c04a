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

from .csv_rows import csv_body, csv_header

__all__ = ["FIELDS_PREFIX", "FOR_SPREADSHEETS", "ROW_GROUP_ROWS", "UTF8_BOM", "WORKLIST_PREFIX", "CsvChunks",
           "ParquetChunks", "chunk_writer", "write_arrow_chunks", "write_csv_chunks", "write_parquet_chunks"]

ROW_GROUP_ROWS = 1 << 20


WORKLIST_PREFIX = "worklist-"
"""The start of every site worklist's name (``worklist-<site>.csv``; the runner names the files from it)."""
FIELDS_PREFIX = "fields-"
"""The start of every site's fields file's name (``fields-<site>.csv``: the fields its worklist's patients wait on)."""
FOR_SPREADSHEETS = (WORKLIST_PREFIX, FIELDS_PREFIX)
"""Name prefixes of the CSV files a person opens by double-clicking (a site's worklist and fields to collect): they
start with a UTF-8 byte-order mark, without which Excel reads UTF-8 in the local code page
and garbles a site's "érythème" (audit, session 16). Machine files (verdicts, outcomes:
spec section 4) stay plain UTF-8; pandas, csv and REDCap read either."""
UTF8_BOM = b"\xef\xbb\xbf"


class CsvChunks:
    """A CSV file written chunk by chunk (:meth:`write` each frame, then :meth:`close`): the header once.

    A chunk's rows are rendered in Arrow (:func:`.csv_rows.csv_body`) when every column's
    type allows it, else by pandas; both give the same bytes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._first = True
        self._handle = path.open("wb")

    def write(self, frame: pd.DataFrame) -> None:
        """Append the frame's rows (the first frame, even empty, writes the header)."""
        if not self._first and frame.empty:
            return
        if self._first:
            if self.path.name.startswith(FOR_SPREADSHEETS):
                self._handle.write(UTF8_BOM)
            self._handle.write(csv_header(frame).encode("utf-8"))
        body = csv_body(frame)
        if body is None:
            from .output_files import neutralise_formulas  # output_files calls this module

            text = neutralise_formulas(frame).to_csv(index=False, header=False, lineterminator="\n",
                                                     date_format="%Y-%m-%d")
            self._handle.write(text.encode("utf-8"))
        else:
            for buffer in body:
                self._handle.write(buffer)
        self.rows, self._first = self.rows + len(frame), False

    def close(self) -> int:
        """Close the file; return its number of rows."""
        self._handle.close()
        return self.rows

    def abandon(self) -> None:
        """Close without finishing (the file is incomplete; the caller deletes it)."""
        self._handle.close()


class ParquetChunks:
    """A Parquet file written chunk by chunk in row groups of exactly :data:`ROW_GROUP_ROWS` rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._held: list[pa.Table] = []
        self._held_rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Append the frame's rows (same columns and dtypes as the first frame)."""
        self.write_arrow(pa.Table.from_pandas(frame, preserve_index=False))

    def write_arrow(self, table: pa.Table) -> None:
        """Append an Arrow table's rows; the first table's schema (pandas metadata included) is the file's.

        A later table must have the same schema; its own metadata is replaced by the file's,
        so that tables that went through other files (a bucket's parts) write the same bytes.
        """
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        elif table.num_rows == 0:
            return
        else:
            table = table.replace_schema_metadata(self._writer.schema.metadata)
        self._held.append(table)
        self._held_rows += len(table)
        self.rows += len(table)
        while self._held_rows >= ROW_GROUP_ROWS:
            whole = pa.concat_tables(self._held)
            self._writer.write_table(whole.slice(0, ROW_GROUP_ROWS).combine_chunks(), row_group_size=ROW_GROUP_ROWS)
            self._held, self._held_rows = [whole.slice(ROW_GROUP_ROWS)], self._held_rows - ROW_GROUP_ROWS

    def close(self) -> int:
        """Write the last, shorter row group and close the file; return its number of rows."""
        if self._writer is None:
            raise ValueError(f"no frame given for {self.path.name}: pass at least one (possibly empty) frame")
        try:
            if self._held_rows:
                self._writer.write_table(pa.concat_tables(self._held).combine_chunks(), row_group_size=ROW_GROUP_ROWS)
        finally:
            self._writer.close()
            self._held, self._held_rows = [], 0
        return self.rows

    def abandon(self) -> None:
        """Close without finishing (the file is incomplete; the caller deletes it)."""
        if self._writer is not None:
            self._writer.close()


def chunk_writer(path: Path) -> CsvChunks | ParquetChunks:
    """The chunk writer for the file's suffix (``.parquet`` or CSV)."""
    return ParquetChunks(path) if path.suffix == ".parquet" else CsvChunks(path)


def write_csv_chunks(frames: Iterable[pd.DataFrame], path: Path) -> int:
    """Write frames (same columns) as one CSV file; return the number of rows."""
    writer = CsvChunks(path)
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        rows = writer.close()
    return rows


def write_parquet_chunks(frames: Iterable[pd.DataFrame], path: Path) -> int:
    """Write frames (same columns and dtypes) as one Parquet file in fixed-size row groups; return the rows."""
    return write_arrow_chunks((pa.Table.from_pandas(frame, preserve_index=False) for frame in frames), path)


def write_arrow_chunks(tables: Iterable[pa.Table], path: Path) -> int:
    """:func:`write_parquet_chunks` for Arrow tables (the first one's schema is the file's); return the rows."""
    writer = ParquetChunks(path)
    try:
        for table in tables:
            writer.write_arrow(table)
    except BaseException:
        writer.abandon()
        raise
    return writer.close()
