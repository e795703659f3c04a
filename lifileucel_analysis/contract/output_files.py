"""Writing the screening command's output files: CSV for people, Parquet for long tables, all or none.

CSV cells that a spreadsheet would run as a formula are neutralised, since coordinators open
these files in Excel; Parquet is read by programs and is written as is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from .chunked_output import write_csv_chunks, write_parquet_chunks
from .csv_rows import FORMULA_PREFIXES, is_text_column



def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote."""
    out = frame.copy()
    for column in out.columns:
        if is_text_column(out[column].dtype):
            text = out[column].astype("string")
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
            out[column] = text.where(~risky, "'" + text)
    return out


PARQUET_ABOVE_ROWS = 1_000_000
"""Long tables (outcomes, missing data) with more rows than this are written as Parquet under
``--long-format auto``: CSV writing of tens of millions of sentences takes minutes."""


def _write_one(frame: pd.DataFrame, path: Path) -> None:
    # One writer for the in-process and the bucketed screen, so both give the same bytes.
    # Parquet is read by programs, not opened as a spreadsheet: no formula neutralising.
    if path.suffix == ".parquet":
        write_parquet_chunks([frame], path)
    else:
        write_csv_chunks([frame], path)


def write_outputs(files: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Write CSV or Parquet files (by name) into ``out`` atomically: all of them appear, or none."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out.parent))
    try:
        # Files on both cores (a Parquet writer compresses while a CSV is formatted); each
        # file is written by one thread alone, so its bytes do not depend on the others.
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            for done in [pool.submit(_write_one, frame, staging / name) for name, frame in files.items()]:
                done.result()  # re-raises a writer's error here
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in files:
            (staging / name).replace(out / name)
            written.append(out / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def long_table_name(stem: str, rows: int, choice: str) -> str:
    """File name of a long output table: CSV, Parquet, or (``auto``) Parquet above the row limit."""
    parquet = choice == "parquet" or (choice == "auto" and rows > PARQUET_ABOVE_ROWS)
    return f"{stem}.parquet" if parquet else f"{stem}.csv"
