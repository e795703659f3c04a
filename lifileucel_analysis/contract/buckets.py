"""Bucketed datasets: the five tables split by a stable hash of ``patient_id``, read one bucket at a time.

A bucketed dataset is a folder holding ``buckets.json`` (the manifest), one ordinary
Parquet dataset per bucket (``bucket-00000/patients.parquet``, ``therapies.parquet``, ...)
and ``positions/<table>/bucket-00000.parquet``: for each row of the bucket's table, its
0-based data row in the source's table, so that outputs list patients in the source's
order and findings name the source's rows whatever the bucketing (``docs/performance.md``,
"Bucketed datasets"). The manifest also records the source's fingerprint (what a run
recorded from the buckets names as its dataset) and the SHA-256 of every bucket file, by
which a screen checks that the buckets are still what was partitioned (``docs/history.md``).

Every row of a patient lands in the same bucket: the bucket is the FNV-1a 64-bit hash of
the UTF-8 bytes of the trimmed ``patient_id`` (trimmed as the validator trims it), modulo
the number of buckets. The checks that need the whole dataset (unique patient IDs, every
event row's patient exists, overrides name a screened patient) therefore hold for the
whole dataset exactly when they hold in every bucket, and each bucket is validated by the
ordinary :func:`.loading.load_dataset`.

:func:`partition_dataset` streams: it reads record batches (CSV through Arrow's streaming
reader, every cell as text; Parquet batch by batch, keeping its types) and appends them
to one Parquet writer per bucket, so its memory is bounded by the batch size and the
number of buckets, not the size of the input.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .dataset import ContractError, Problem
from .findings import DATASET
from .fingerprints import dataset_fingerprint, sha256_file
from .messages import noun_for
from .schema import TABLES

__all__ = ["BucketedDataset", "bucket_files_sha256", "bucket_of", "is_bucketed", "open_bucketed", "partition_dataset",
           "read_positions"]

MANIFEST = "buckets.json"
LAYOUT = "lifileucel-eap bucketed dataset"
VERSION = 2
HASH_RULE = "fnv1a64(utf8(trim(patient_id))) mod buckets"
BATCH_ROWS = 1 << 16
"""Rows buffered per bucket before they are written as one row group."""
_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


def _problem(table: str, message: str, value: object = None) -> Problem:
    return Problem(table=table, row=None, column=None, value=value, message=message)


def bucket_of(ids: pa.Array | pa.ChunkedArray, buckets: int) -> np.ndarray:
    """Bucket number of each patient ID (FNV-1a 64 of the trimmed UTF-8 bytes, mod ``buckets``).

    Vectorised over the IDs: one pass per character position, not one per ID. A blank
    or missing ID hashes as the empty string (the validator reports it in its bucket).
    """
    text = pc.fill_null(pc.utf8_trim_whitespace(pc.cast(ids, pa.large_string())), "")
    flat = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    flat = pa.concat_arrays([flat]) if flat.offset else flat  # offset 0, so the buffers line up
    offsets = np.frombuffer(flat.buffers()[1], dtype=np.int64)[:len(flat) + 1]
    data = flat.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lengths, starts = np.diff(offsets), offsets[:-1]
    hashed = np.full(len(flat), _FNV_OFFSET, dtype=np.uint64)
    for position in range(int(lengths.max(initial=0))):
        live = lengths > position
        hashed[live] = (hashed[live] ^ data[starts[live] + position].astype(np.uint64)) * _FNV_PRIME
    return (hashed % np.uint64(buckets)).astype(np.int64)


@dataclass(frozen=True)
class BucketedDataset:
    """A bucketed dataset on disk.

    Attributes
    ----------
    root : Path
        The folder holding the manifest.
    buckets : int
        Number of buckets.
    tables : tuple of str
        The contract tables present in every bucket.
    source_sha256 : str
        The fingerprint of the partitioned source (:func:`.fingerprints.dataset_fingerprint`).
    files_sha256 : dict of str to str
        SHA-256 of every bucket table file, by its path relative to ``root``.
    """

    root: Path
    buckets: int
    tables: tuple[str, ...]
    source_sha256: str = ""
    files_sha256: dict[str, str] = field(default_factory=dict)

    def bucket_path(self, k: int) -> Path:
        """Folder of bucket ``k``: an ordinary Parquet dataset."""
        return self.root / f"bucket-{k:05d}"

    def positions_path(self, k: int, table: str = "patients") -> Path:
        """Parquet file of the source rows of bucket ``k``'s ``table`` rows."""
        return self.root / "positions" / table / f"bucket-{k:05d}.parquet"

    def positions(self, k: int, table: str = "patients") -> np.ndarray:
        """0-based rows, in the source's ``table``, of bucket ``k``'s rows of it (in bucket order)."""
        return read_positions(self.positions_path(k, table))


def read_positions(path: Path) -> np.ndarray:
    """The ``position`` column of a positions file, as int64."""
    return pq.read_table(path).column("position").to_numpy().astype(np.int64, copy=False)


def bucket_files_sha256(bucket: Path) -> dict[str, str]:
    """SHA-256 of every table file of one bucket folder, by ``bucket-NNNNN/<table>.parquet``."""
    return {f"{bucket.name}/{path.name}": sha256_file(path) for path in sorted(bucket.glob("*.parquet"))}


def is_bucketed(path: str | Path) -> bool:
    """Whether ``path`` is a bucketed dataset (a folder with ``buckets.json``)."""
    return (Path(path) / MANIFEST).is_file()


def open_bucketed(path: str | Path) -> BucketedDataset:
    """Read the manifest of a bucketed dataset; :class:`ContractError` if it is not one we wrote."""
    root = Path(path)
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("layout") != LAYOUT or manifest.get("hash") != HASH_RULE:
            raise ValueError(f"not a {LAYOUT!r} with hash {HASH_RULE!r}")
        if manifest.get("version") != VERSION:
            raise ValueError(f"layout version {manifest.get('version')!r}, this version reads {VERSION}: "
                             "run partition again on the source")
        found = BucketedDataset(root, int(manifest["buckets"]), tuple(manifest["tables"]),
                                str(manifest["source_sha256"]), dict(manifest["files_sha256"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ContractError([_problem(DATASET, f"{MANIFEST} cannot be used: {error}", str(root))],
                            source=str(root)) from None
    missing = [str(found.bucket_path(k)) for k in range(found.buckets) if not found.bucket_path(k).is_dir()]
    if missing:
        raise ContractError([_problem(DATASET, "bucket folder missing", m) for m in missing[:5]],
                            source=str(root))
    return found


def partition_dataset(source: str | Path, out: str | Path, buckets: int) -> BucketedDataset:
    """Write ``source`` (a folder of CSV or Parquet tables) as a bucketed dataset in ``out``.

    Parameters
    ----------
    source : str or Path
        A folder of CSV files (read as text, header on the first line) or of Parquet files
        with the contract's table names.
    out : str or Path
        Output folder; written in a staging folder beside it and moved into place, so a
        failed run leaves nothing half-written.
    buckets : int
        Number of buckets (at least 1).

    Returns
    -------
    BucketedDataset

    Raises
    ------
    ContractError
        When the source is not a folder of CSV or Parquet tables, a required table is
        missing, or a file cannot be parsed.
    """
    if buckets < 1:
        raise ValueError("--buckets must be at least 1")
    source, out = Path(source), Path(out)
    files = _source_files(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partition-", dir=out.parent))
    try:
        layout = BucketedDataset(staging, buckets, tuple(files))
        for k in range(buckets):
            layout.bucket_path(k).mkdir()
        for table in files:
            layout.positions_path(0, table).parent.mkdir(parents=True)
        # The source's fingerprint before reading it: a run recorded from the buckets names it.
        source_sha256 = dataset_fingerprint(source)
        rows = {table: _partition_table(table, path, layout) for table, path in files.items()}
        digests = {name: digest for k in range(buckets)
                   for name, digest in bucket_files_sha256(layout.bucket_path(k)).items()}
        manifest = {"layout": LAYOUT, "version": VERSION, "hash": HASH_RULE, "buckets": buckets,
                    "tables": list(files), "rows": rows, "source_sha256": source_sha256, "files_sha256": digests}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BucketedDataset(out, buckets, tuple(files), source_sha256, digests)


def _source_files(source: Path) -> dict[str, Path]:
    """The contract's tables in ``source``, by name, all of one format."""
    def fail(message: str) -> ContractError:
        return ContractError([_problem(DATASET, message, str(source))], source=str(source))

    if not source.is_dir():
        raise fail("partition reads a folder of CSV or Parquet tables (convert a workbook or REDCap export first)")
    found: dict[str, dict[str, Path]] = {"csv": {}, "parquet": {}}
    for entry in sorted(source.iterdir()):
        fmt, table = entry.suffix.lower().lstrip("."), entry.stem.strip().lower()
        if entry.is_file() and fmt in found and table in TABLES:
            found[fmt][table] = entry
    formats = [fmt for fmt, tables in found.items() if tables]
    if len(formats) != 1:
        raise fail("expected the contract's tables as CSV or as Parquet files (one format)")
    files = found[formats[0]]
    missing = [name for name, spec in TABLES.items() if spec.required and name not in files]
    if missing:
        raise fail(f"missing {noun_for(len(missing), 'table')}: {', '.join(missing)}")
    return {name: files[name] for name in TABLES if name in files}


def _batches(path: Path) -> Iterator[pa.RecordBatch]:
    """Record batches of one table file; header names trimmed and lower-cased."""
    try:
        if path.suffix.lower() == ".parquet":
            for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
                yield batch.rename_columns([n.strip().lower() for n in batch.schema.names])
            return
        yield from _csv_batches(path)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:
        raise ContractError([_problem(path.stem.lower(), f"{path.name} cannot be read: {error}")],
                            source=str(path.parent)) from None


def _csv_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """CSV record batches with every cell as text, as the CSV loader reads them (blank = "")."""
    import pyarrow.csv as pcsv

    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    reader = pcsv.open_csv(
        path, read_options=pcsv.ReadOptions(block_size=1 << 22),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                            strings_can_be_null=False, quoted_strings_can_be_null=False))
    for batch in reader:
        yield batch.rename_columns([n.strip().lower() for n in batch.schema.names])


def _partition_table(table: str, path: Path, layout: BucketedDataset) -> int:
    """Stream one table into its bucket files; return its number of rows."""
    splitter = _TableSplitter(table, layout)
    try:
        for batch in _batches(path):
            if "patient_id" not in batch.schema.names:
                raise ContractError([_problem(table, "no patient_id column (the header must be on the first line)")],
                                    source=str(path.parent))
            splitter.add(batch)
        splitter.finish(path)
    finally:
        splitter.close()
    return splitter.rows


class _TableSplitter:
    """Appends one table's rows to one Parquet writer per bucket, at most :data:`BATCH_ROWS` held per bucket."""

    def __init__(self, table: str, layout: BucketedDataset) -> None:
        self.table, self.layout = table, layout
        self.writers: dict[int, pq.ParquetWriter] = {}
        self.position_writers: dict[int, pq.ParquetWriter] = {}
        self.pending: dict[int, list[pa.Table]] = {k: [] for k in range(layout.buckets)}
        self.schema: pa.Schema | None = None
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        """Route a batch's rows to their buckets (source positions alongside); write full buckets."""
        self.schema = self.schema or batch.schema
        frame = pa.Table.from_batches([batch]).cast(self.schema)
        positions = np.arange(self.rows, self.rows + len(frame), dtype=np.int64)
        frame = frame.append_column("__position", pa.array(positions))
        self.rows += len(frame)
        where = bucket_of(frame.column("patient_id"), self.layout.buckets)
        for k in map(int, np.unique(where)):
            self.pending[k].append(frame.filter(pa.array(where == k)))
            if sum(len(p) for p in self.pending[k]) >= BATCH_ROWS:
                self.flush(k)

    def flush(self, k: int) -> None:
        """Write bucket ``k``'s held rows and their source positions."""
        if not self.pending[k]:
            return
        part, self.pending[k] = pa.concat_tables(self.pending[k]), []
        if k not in self.writers:
            self.writers[k] = pq.ParquetWriter(self.layout.bucket_path(k) / f"{self.table}.parquet", self.schema,
                                               compression="zstd")
        self.writers[k].write_table(part.drop_columns(["__position"]))
        if k not in self.position_writers:
            self.position_writers[k] = _positions_writer(self.layout.positions_path(k, self.table))
        self.position_writers[k].write_table(part.select(["__position"]).rename_columns(["position"]))

    def finish(self, path: Path) -> None:
        """Write what is held; a bucket without rows still gets the table, with its columns."""
        for k in range(self.layout.buckets):
            self.flush(k)
            if k in self.writers:
                continue
            pq.write_table(_empty_table(self.schema, path), self.layout.bucket_path(k) / f"{self.table}.parquet",
                           compression="zstd")
            with _positions_writer(self.layout.positions_path(k, self.table)) as writer:
                writer.write_table(POSITIONS_SCHEMA.empty_table())

    def close(self) -> None:
        """Close every writer (also after an error: the staging folder is then removed)."""
        for writer in [*self.writers.values(), *self.position_writers.values()]:
            writer.close()


POSITIONS_SCHEMA = pa.schema([("position", pa.int64())])


def _positions_writer(path: Path) -> pq.ParquetWriter:
    # Increasing integers: delta encoding stores them in a few bits each (a labs table has
    # tens of millions of rows at 10,000,000 patients).
    return pq.ParquetWriter(path, POSITIONS_SCHEMA, use_dictionary=False, compression="zstd",
                            column_encoding={"position": "DELTA_BINARY_PACKED"})


def _empty_table(schema: pa.Schema | None, path: Path) -> pa.Table:
    """A table with no rows and the source's columns (text columns from a CSV header)."""
    if schema is None and path.suffix.lower() == ".parquet":
        schema = pq.read_schema(path)
        schema = pa.schema([f.with_name(f.name.strip().lower()) for f in schema])
    if schema is None:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
        schema = pa.schema([(name.strip().lower(), pa.string()) for name in header])
    return schema.empty_table()
