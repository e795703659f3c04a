"""Large synthetic cohorts drawn and written chunk by chunk, with memory bounded by the chunk.

Up to :data:`CHUNK_PATIENTS` patients a cohort is drawn in one piece, exactly as
:func:`.cohorts.write_cohort` draws it (so the bundled demo and fixture cohorts keep their
bytes). Above it, chunk ``c`` (patients ``c * CHUNK_PATIENTS + 1`` onwards) is drawn by
:func:`.cohorts.generate_cohort` from its own seed, ``SeedSequence([seed, c])``, and its
five tables are appended to the output files (CSV rows after one header; Parquet row groups
through one writer per table). Same seed, same size, same bytes; the distributions are
those of a one-piece cohort, the random stream is not (and consent order runs within a
chunk, so IDs are in consent order chunk by chunk only).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..contract.schema import TABLES
from ..contract.writing import PARQUET_OPTIONS, PARQUET_ROW_GROUP_SIZE, csv_bytes, parquet_table
from .cohorts import DEFAULT_AS_OF, Format, generate_cohort, write_cohort

__all__ = ["CHUNK_PATIENTS", "chunk_seed", "write_cohort_chunked"]

CHUNK_PATIENTS = 100_000
"""Patients drawn at a time above which a cohort is written chunk by chunk (about 0.5 GiB at peak)."""


def chunk_seed(seed: int, chunk: int) -> int:
    """The seed of chunk ``chunk`` of a cohort seeded ``seed`` (independent streams, reproducible)."""
    return int(np.random.SeedSequence([seed, chunk]).generate_state(1, dtype=np.uint64)[0])


def write_cohort_chunked(n_patients: int, seed: int, out: Path | str, fmt: Format = "csv", *,
                         as_of: str = DEFAULT_AS_OF, chunk: int | None = None) -> list[Path]:
    """Write a synthetic cohort of any size with memory bounded by ``chunk`` patients.

    Parameters
    ----------
    n_patients, seed, as_of
        As for :func:`.cohorts.generate_cohort`.
    out : path
        Output folder (csv, parquet) or workbook path (xlsx, never chunked: a sheet holds
        at most 1,048,576 rows).
    fmt : {"csv", "xlsx", "parquet"}
    chunk : int, optional
        Patients per chunk (default :data:`CHUNK_PATIENTS`).

    Returns
    -------
    list of Path
        The files written.
    """
    chunk = chunk or CHUNK_PATIENTS
    if n_patients <= chunk or fmt == "xlsx":
        return write_cohort(n_patients, seed, out, fmt, as_of=as_of)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    writers: dict[str, Any] = {}
    try:
        width = max(6, len(str(n_patients)))
        for c, start in enumerate(range(0, n_patients, chunk)):
            tables = generate_cohort(min(chunk, n_patients - start), chunk_seed(seed, c), as_of=as_of,
                                     first_id=start + 1, id_width=width)
            for name, frame in tables.items():
                _append(staging / f"{name}.{fmt}", frame, fmt, writers, first=c == 0)
            del tables
        for writer in writers.values():
            writer.close()
        writers.clear()
        out.mkdir(exist_ok=True)
        for name in TABLES:
            os.replace(staging / f"{name}.{fmt}", out / f"{name}.{fmt}")
    finally:
        for writer in writers.values():
            writer.close()
        shutil.rmtree(staging, ignore_errors=True)
    return [out / f"{name}.{fmt}" for name in TABLES]


def _append(path: Path, frame: Any, fmt: str, writers: dict[str, Any], first: bool) -> None:
    """Append one chunk's table to its file (the header or schema with the first chunk)."""
    if fmt == "csv":
        with path.open("ab") as handle:
            handle.write(csv_bytes(frame, header=first))
        return
    import pyarrow.parquet as pq

    table = parquet_table(frame)
    if path.name not in writers:
        writers[path.name] = pq.ParquetWriter(path, table.schema, **PARQUET_OPTIONS)  # type: ignore[attr-defined]
    writers[path.name].write_table(table, row_group_size=PARQUET_ROW_GROUP_SIZE)
