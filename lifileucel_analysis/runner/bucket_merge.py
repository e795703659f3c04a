"""Merging the buckets' parts of one output table into the table's order, batch by batch.

Each bucket's part of a table is an Arrow IPC file of record batches (:func:`write_part`,
the part format's one definition) already sorted by the table's merge key, so the parts
are merged as sorted streams (a k-way merge): memory holds one batch per part and the rows
handed on, never the table. Two keys:

- :func:`by_position`: patient-major tables (verdicts, outcomes, missing data, findings),
  by ``_pos`` (the patient's row in the source's ``patients`` table); a patient's rows are
  all in its bucket's part, one after another in the engine's order, and a stable sort
  keeps them so; positions are taken in windows of :data:`MERGE_PATIENTS`;
- :func:`by_key`: tables in an order of their own (the worklists), by a binary ``_order``
  column compared byte by byte: each round hands on every held row up to the smallest
  "last key held" of the parts that still have rows to read.

Both yield the template (an empty frame with the table's exact dtypes) first, then the
rows in chunks with those dtypes, ready for :mod:`..contract.chunked_output`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

__all__ = ["MERGE_BATCH_ROWS", "MERGE_FIELD_BATCH_ROWS", "MERGE_KEY_BATCH_ROWS", "MERGE_PATIENTS", "by_key",
           "by_position", "by_position_arrow", "read_ahead", "read_part", "write_part"]

MERGE_PATIENTS = 50_000
"""Source positions merged at a time: with 19 outcomes each, about a million rows per window."""
MERGE_BATCH_ROWS = 1 << 16
"""Rows read from a patient-major part at a time (and a part's record batch). Every part holds
one batch during the merge, so memory grows with parts x batch: 40 parts of outcomes at
65,536 rows hold about 270 MB (worklist parts, whose rows are far wider, have their own).
Fewer, larger batches decode faster: the 10M-patient merge took 77-90 s against 92 s
with 16,384-row Snappy row groups (when the parts were Parquet)."""
MERGE_KEY_BATCH_ROWS = 1 << 13
"""Rows read from a worklist part at a time (and its record batch): a worklist row carries a
patient's unknown criteria, what to collect and why in words, often a kilobyte or more,
and a round of the key merge can hold every part's batch (40 parts: about 330 MB). Each round
is finished and written as one chunk at a fixed cost: 2,048-row batches made 97 rounds of one
site's 185,830-row worklist of a 2,000,000-patient, 8-bucket screen (2.89 s); 8,192, a quarter as many
(2.77 s; session 27)."""
MERGE_FIELD_BATCH_ROWS = 1 << 14
"""Rows read from a fields part at a time: a fields row names one field (a few hundred bytes), and
each round of the key merge is finished and written as one chunk, whose fixed cost made 2,048-row
batches take 12 s of CPU for the 948,636 fields rows of a 4-bucket 1,000,000-patient screen
(4.5 s at 16,384; session 26). 40 parts hold about 160 MB."""
MERGE_PIECE_ROWS = 1 << 16
"""Rows converted to pandas and handed to a CSV writer at a time."""
POSITION_KEYS = ("_pos",)
ORDER_KEY = "_order"
T = TypeVar("T")


def _pieces(window: pa.Table, order: pa.Array | np.ndarray, dtypes: dict[str, object]) -> Iterator[pd.DataFrame]:
    """:func:`_typed` in pieces of at most :data:`MERGE_PIECE_ROWS` rows, in order.

    A window or round can hold a batch from every part (40 parts: 650,000 worklist rows of
    a few hundred bytes each); its pandas copies on the way to the CSV writer are made a
    piece at a time. The rows and their order are the same, so the file is too.
    """
    order = pa.array(order)
    for start in range(0, len(order), MERGE_PIECE_ROWS):
        yield _typed(window, order.slice(start, MERGE_PIECE_ROWS), dtypes)


def _typed(window: pa.Table, order: pa.Array, dtypes: dict[str, object]) -> pd.DataFrame:
    """The window's rows in ``order``, the template's columns (no merge keys) with its dtypes; never a value lost."""
    frame = window.select(list(dtypes)).take(order).to_pandas()
    typed = frame.astype(dtypes)
    if (typed.isna().sum() != frame.isna().sum()).any():  # a value outside a category: never drop it
        lost = [c for c in frame.columns if typed[c].isna().sum() != frame[c].isna().sum()]
        raise ValueError(f"merging the buckets' outputs would lose values of {lost} to the column types "
                         f"{[str(dtypes[c]) for c in lost]}")
    return typed


def by_position(parts: list[str], template: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """The parts' rows ordered by ``_pos`` (stably), chunk by chunk, with the template's dtypes.

    The template comes first, also when there are no rows: it gives the CSV header and the
    Parquet schema (pandas metadata included), as the unbucketed screen's frame does.
    Positions are taken in windows of :data:`MERGE_PATIENTS`; each part contributes its
    rows inside the window, read batch by batch; the window's rows are sorted and handed
    on. Memory: one batch per part plus one window.
    """
    yield template
    dtypes = template.dtypes.to_dict()
    for window, order in _position_windows(parts):
        yield from _pieces(window, order, dtypes)


def by_position_arrow(parts: list[str], schema: pa.Schema) -> Iterator[pa.Table]:
    """:func:`by_position` for a Parquet output: Arrow tables of ``schema`` (first an empty one), no pandas.

    The parts were written from frames of the same dtypes, so their columns hold the
    output's values in Arrow types that cast to the output's exactly; skipping the trip
    through pandas and back saves two conversions of every evidence sentence.
    """
    yield schema.empty_table()
    names = list(schema.names)
    for window, order in _position_windows(parts):
        # A cast only where the parts' Arrow type is another spelling of the column's (a category's
        # labels as string rather than large_string); a value it cannot carry raises.
        yield window.select(names).take(pa.array(order)).cast(schema)


def _position_windows(parts: list[str]) -> Iterator[tuple[pa.Table, np.ndarray]]:
    """The parts' rows window by window of :data:`MERGE_PATIENTS` source positions, with each
    window's order by ``_pos``: the merge both :func:`by_position` flavours share."""
    streams = [_PartStream(path, MERGE_BATCH_ROWS) for path in parts]
    while any(not stream.done for stream in streams):
        start = min(stream.next_position() for stream in streams if not stream.done)
        window = pa.concat_tables([stream.take_below(start + MERGE_PATIENTS) for stream in streams])
        # A stable sort by position alone is the sort by (position, row): a patient's rows all
        # come from its one bucket's part, already in row order, and stay in that order.
        yield window, np.argsort(window.column("_pos").to_numpy(), kind="stable")


def write_part(table: pa.Table, path: Path, rows: int | None = None) -> None:
    """Write one bucket's part of a table: an Arrow IPC file of record batches of ``rows``
    (default :data:`MERGE_BATCH_ROWS`), so that the merge reads and holds one batch at a time.

    Arrow's own format rather than Parquet: a part is written once and read once, and IPC
    is a copy of the columns' buffers where Parquet encodes every string value by value
    (one bucket's ten parts: written in 0.57-0.61 s against 0.99-1.07 s; the outcomes part
    read in 0.16 s against 0.26 s). LZ4 keeps them small (a 250,000-patient bucket's parts:
    88 MiB against 41 MiB as Parquet).
    """
    options = ipc.IpcWriteOptions(compression="lz4", use_threads=False)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema, options=options) as writer:
        # One dictionary per category column for the whole file: the IPC file format has no
        # dictionary replacement, and a column converted from pandas in chunks may have several.
        for batch in table.unify_dictionaries().to_batches(max_chunksize=rows or MERGE_BATCH_ROWS):
            writer.write_batch(batch)


def read_part(path: str) -> pa.Table:
    """A whole part (an Arrow IPC file), read into memory: the history's recording reads a bucket's part at once."""
    with pa.OSFile(path) as source:
        return ipc.open_file(source).read_all()


def _batches(path: str, batch_rows: int) -> Iterator[pa.Table]:
    """A part's rows, ``batch_rows`` at a time, read record batch by record batch.

    Read, not memory-mapped: a mapped part's pages would count in the process's resident
    memory until the merge ends (40 parts of outcomes, about 3 GiB). A part's batches are
    of the batch size (:func:`write_part` writes them so), so one is decompressed at a time.
    """
    with pa.OSFile(path) as source:
        reader = ipc.open_file(source)
        for index in range(reader.num_record_batches):
            table = pa.Table.from_batches([reader.get_batch(index)])
            for start in range(0, table.num_rows, batch_rows):
                yield table.slice(start, batch_rows)


def _part_schema(path: str) -> pa.Schema:
    """A part's columns and types (from the IPC file's schema message, no batch read)."""
    with pa.OSFile(path) as source:
        return ipc.open_file(source).schema


class _Stream:
    """One bucket's part, read batch by batch; ``held`` is never empty while batches remain."""

    def __init__(self, path: str, batch_rows: int) -> None:
        self.batches = _batches(path, batch_rows)
        self.held: pa.Table = _part_schema(path).empty_table()
        self._empty = self.held
        self.exhausted = False
        self._fill()

    @property
    def done(self) -> bool:
        """Whether every row has been handed out."""
        return self.exhausted and self.held.num_rows == 0

    def _fill(self) -> None:
        """Read batches until one with rows is held, or none is left."""
        while self.held.num_rows == 0 and not self.exhausted:
            batch = next(self.batches, None)
            if batch is None:
                self.exhausted = True
            else:
                self.held = batch

    def _hand_out(self, rows: int) -> pa.Table:
        taken, self.held = self.held.slice(0, rows), self.held.slice(rows)
        self._fill()
        return taken


class _PartStream(_Stream):
    """A part sorted by ``_pos``: hands out its rows below a source position."""

    def next_position(self) -> int:
        """The smallest source position not handed out yet."""
        return int(self.held.column("_pos")[0].as_py())

    def take_below(self, limit: int) -> pa.Table:
        """Hand out (and forget) the rows whose position is below ``limit``."""
        pieces = []
        while self.held.num_rows:
            cut = int(np.searchsorted(self.held.column("_pos").to_numpy(), limit))
            whole = cut == self.held.num_rows
            pieces.append(self._hand_out(cut))
            if not whole:
                break
        return pa.concat_tables(pieces) if pieces else self._empty


class _KeyStream(_Stream):
    """A part sorted by the binary ``_order`` key: hands out its rows up to a key."""

    def last_key(self) -> pa.Scalar:
        """The largest key held (the part's rows still unread are all at or above it)."""
        return self.held.column(ORDER_KEY)[self.held.num_rows - 1]

    def take_through(self, limit: pa.Scalar | None) -> pa.Table:
        """Hand out (and forget) the held rows whose key is at most ``limit`` (every held row for ``None``)."""
        if limit is None:
            return self._hand_out(self.held.num_rows)
        rows = pc.sum(pc.less_equal(self.held.column(ORDER_KEY), limit)).as_py() or 0
        return self._hand_out(rows)


def by_key(parts: list[str], template: pd.DataFrame, batch_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The parts' rows ordered by their binary ``_order`` key, chunk by chunk, with the template's dtypes.

    Each round hands on every held row whose key is at most the smallest last held key of
    the parts with batches still unread (no unread row can come before those), sorted by
    key; the part that set the limit is then used up and reads its next batch. Memory:
    one batch per part plus the rows handed on.
    """
    yield template
    dtypes = template.dtypes.to_dict()
    streams = [_KeyStream(path, MERGE_KEY_BATCH_ROWS if batch_rows is None else batch_rows) for path in parts]
    while any(not stream.done for stream in streams):
        live = [stream for stream in streams if not stream.done]
        bounds = [stream.last_key() for stream in live if not stream.exhausted]
        limit = min(bounds, key=lambda key: key.as_py()) if bounds else None
        window = pa.concat_tables([stream.take_through(limit) for stream in live])
        order = pc.sort_indices(window, sort_keys=[(ORDER_KEY, "ascending")])
        yield from _pieces(window, order, dtypes)


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """``items``, produced one ahead on a thread of their own (an error is raised here, in order).

    The outcomes merge decodes and sorts the parts' windows and encodes the file, both
    mostly without the GIL: producing the next window while the last one is compressed
    uses both cores for the merge's longest file. One item ahead: memory holds one window
    more (the 10,000,000-patient merge: 2.0-2.1 GiB peak against 1.8-2.0).
    """
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():  # the consumer may have stopped early (an error of its own)
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as error:  # handed to the consumer, raised there
            put((False, error))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            more, item = handoff.get()
            if not more:
                if item is not None:
                    raise item  # type: ignore[misc]
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
