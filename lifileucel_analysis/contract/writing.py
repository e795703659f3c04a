"""Deterministic, atomic writing of typed screening tables as CSV, Excel or Parquet.

:func:`write_tables` is the one writer of datasets in the package (the synthetic-data
generator, the tests and the examples use it). The same frames always give the same
bytes, in every format, so that generated datasets can be committed and compared:

* CSV: UTF-8 without BOM, ``\\n`` line endings, a header row, dates ``YYYY-MM-DD``,
  booleans ``yes``/``no``, blanks empty, integers without ``.0``, floats in the shortest
  form that reads back to the same value (``2.5``, ``0.1``, ``2`` for 2.0).
* xlsx: one sheet per table, written by openpyxl; dates are real Excel date cells
  (format ``yyyy-mm-dd``), booleans ``yes``/``no`` text, numbers numeric cells. The
  workbook's created/modified properties and every zip entry's timestamp are fixed to
  :data:`FIXED_TIMESTAMP`, which openpyxl would otherwise set to "now".
* Parquet: one file per table, plain Arrow types (string, bool, int64, double, date32),
  no pandas metadata, fixed compression and row-group size.

Writing is atomic: everything is written into a temporary folder next to ``out`` and
then renamed into place, so a failure never leaves a half-written dataset behind.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .schema import TABLES

Format = Literal["csv", "xlsx", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "parquet")
FIXED_TIMESTAMP = dt.datetime(2022, 6, 1, 0, 0, 0)
"""Workbook metadata and zip-entry time of every written xlsx (the record's first posting)."""
PARQUET_COMPRESSION = "zstd"
PARQUET_ROW_GROUP_SIZE = 1_000_000
_ZIP_TIME = FIXED_TIMESTAMP.timetuple()[:6]
_CORE_TIMESTAMP = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_tables(tables: Mapping[str, pd.DataFrame], out: Path | str, fmt: Format = "csv") -> list[Path]:
    """Write typed tables deterministically and atomically.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Table name to frame, usually typed frames (see :mod:`.schema`). Frames are written
        with their own columns in their own order; the index is not written.
    out : path
        A folder for ``csv`` and ``parquet`` (one ``<table>.<fmt>`` file per table), the
        workbook file for ``xlsx`` (one sheet per table, in mapping order).
    fmt : {"csv", "xlsx", "parquet"}
        Output format.

    Returns
    -------
    list of Path
        The files written, in mapping order (one path for ``xlsx``).

    Notes
    -----
    In a folder, files of contract tables that are *not* in ``tables`` but exist with the
    same extension are removed, so that a stale ``overrides.csv`` from an earlier dataset
    can never be read together with the new tables. Other files are left alone.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        _atomic_write_bytes(out, _xlsx_bytes(tables))
        return [out]
    return _write_folder(tables, out, fmt)


def format_csv_column(values: pd.Series) -> pd.Series:
    """Return ``values`` as the strings :func:`write_tables` puts in a CSV cell.

    Parameters
    ----------
    values : pandas.Series
        A typed column (any dtype of :func:`.schema.dtype_for`, or object).

    Returns
    -------
    pandas.Series
        ``object`` strings; blanks are ``""``.
    """
    blank = values.isna().to_numpy()
    dtype = values.dtype
    if isinstance(dtype, pd.BooleanDtype) or dtype == np.dtype(bool):
        text = np.where(values.fillna(False).to_numpy(dtype=bool), "yes", "no").astype(object)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        days = values.to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
        text = np.datetime_as_string(days, unit="D").astype(object)
    elif pd.api.types.is_integer_dtype(dtype):
        text = values.astype("Int64").astype(str).to_numpy(dtype=object)
    elif pd.api.types.is_float_dtype(dtype):
        text = _shortest_floats(values.to_numpy(dtype="float64"))
    elif isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) and dtype != object:
        text = values.astype(object).to_numpy()
    else:
        text = np.array([_format_cell(v) for v in values], dtype=object)
    text = np.array(text, dtype=object)  # a copy: pandas may hand out read-only views
    text[blank] = ""
    return pd.Series(text, index=values.index, dtype=object)


def _shortest_floats(values: np.ndarray) -> np.ndarray:
    # numpy's str of a float64 is the shortest text that reads back to the same value
    # (as Python's repr). A whole number loses its ".0" ("2", as a person types it);
    # such a value is below 1e16 (larger ones print as "1e+16"), so int64 holds it exactly.
    text = values.astype(str)
    whole = np.strings.endswith(text, ".0")
    text = text.astype(object)
    text[whole] = values[whole].astype(np.int64).astype(str)
    text[np.isnan(values)] = ""
    return text


def _format_cell(value: object) -> str:
    """Format one cell of an untyped (object) column."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (float, np.floating)):
        return str(_shortest_floats(np.array([value], dtype="float64"))[0])
    return str(value)


def _csv_bytes(frame: pd.DataFrame, header: bool = True) -> bytes:
    text = pd.DataFrame({name: format_csv_column(frame[name]) for name in frame.columns}, columns=frame.columns)
    return text.to_csv(index=False, header=header, lineterminator="\n").encode("utf-8")


def csv_bytes(frame: pd.DataFrame, header: bool = True) -> bytes:
    """The bytes :func:`write_tables` writes for ``frame`` as CSV (``header=False``: the rows only, to append)."""
    return _csv_bytes(frame, header)


def parquet_table(frame: pd.DataFrame) -> object:
    """The Arrow table :func:`write_tables` writes for ``frame`` as Parquet (plain types, no pandas metadata)."""
    return _arrow_table(frame)


PARQUET_OPTIONS = {"compression": PARQUET_COMPRESSION, "use_dictionary": True, "write_statistics": True,
                   "version": "2.6"}
"""The Parquet writer's options, for a writer that appends chunks (:mod:`lifileucel_analysis.synth.chunked`)."""


# ---------------------------------------------------------------------------------------
# Parquet


def _arrow_table(frame: pd.DataFrame) -> object:
    """Return ``frame`` as an Arrow table of plain types, without pandas metadata."""
    import pyarrow as pa

    arrays, names = [], []
    for name in frame.columns:
        arrays.append(_arrow_array(frame[name]))
        names.append(str(name))
    return pa.Table.from_arrays(arrays, names=names)


def _arrow_array(values: pd.Series) -> object:
    import pyarrow as pa

    dtype = values.dtype
    mask = values.isna().to_numpy()
    if isinstance(dtype, pd.BooleanDtype) or dtype == np.dtype(bool):
        return pa.array(values.fillna(False).to_numpy(dtype=bool), type=pa.bool_(), mask=mask)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        days = values.to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
        return pa.array(days, type=pa.date32(), mask=mask)
    if pd.api.types.is_integer_dtype(dtype):
        return pa.array(values.fillna(0).to_numpy(dtype="int64"), type=pa.int64(), mask=mask)
    if pd.api.types.is_float_dtype(dtype):
        return pa.array(values.to_numpy(dtype="float64"), type=pa.float64(), mask=mask)
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) and dtype != object:
        return pa.array(values.astype(object).where(~mask, None).to_numpy(), type=pa.string())
    return pa.array(format_csv_column(values).where(~mask, None).to_numpy(), type=pa.string())


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(
        _arrow_table(frame),
        sink,
        compression=PARQUET_COMPRESSION,
        row_group_size=PARQUET_ROW_GROUP_SIZE,
        use_dictionary=True,
        write_statistics=True,
        version="2.6",
    )
    return sink.getvalue()


# ---------------------------------------------------------------------------------------
# xlsx


MAX_WIDTH = 60
"""The widest column of a workbook for people, in characters; wider text wraps."""


def xlsx_download_bytes(tables: Mapping[str, pd.DataFrame], percent_columns: Collection[str] = ()) -> bytes:
    """A workbook for people: one sheet per table, frozen header, filters, column widths.

    Deterministic like every xlsx of :func:`write_tables` (fixed timestamps); text that a
    spreadsheet would run as a formula stays text. Widths follow the longest cell of each
    column (header included), between 8 and 60 characters. Columns named in
    ``percent_columns`` hold fractions, shown as ``12.5%`` and kept numbers (sortable).
    """
    return _xlsx_bytes(tables, for_people=True, percent_columns=frozenset(percent_columns))


def _xlsx_bytes(tables: Mapping[str, pd.DataFrame], for_people: bool = False,
                percent_columns: frozenset[str] = frozenset()) -> bytes:
    from openpyxl import Workbook

    # Every cell is formatted before openpyxl is involved, so a bad value fails here and
    # leaves no half-built workbook (and none of openpyxl's temporary sheet files).
    sheets = [(name, [str(c) for c in frame.columns], _xlsx_rows(frame)) for name, frame in tables.items()]
    workbook = Workbook(write_only=True)
    workbook.properties.created = FIXED_TIMESTAMP
    workbook.properties.modified = FIXED_TIMESTAMP
    workbook.properties.creator = "lifileucel-eap"
    for name, header, rows in sheets:
        sheet = workbook.create_sheet(title=name)
        styles = _dress_sheet(sheet, header, rows, percent_columns) if for_people else {}
        sheet.append(header)
        for row in rows:
            sheet.append([_xlsx_cell(sheet, value, styles.get(position)) for position, value in enumerate(row)])
    if not sheets:
        workbook.create_sheet("empty")
    buffer = io.BytesIO()
    workbook.save(buffer)
    sizes = [(len(frame) + 1, max(len(frame.columns), 1)) for frame in tables.values()] or [(1, 1)]
    return _normalise_zip(buffer.getvalue(), sizes)


def _dress_sheet(sheet: object, header: list[str], rows: list[tuple[object, ...]],
                 percent_columns: frozenset[str] = frozenset()) -> dict[int, str]:
    """Frozen header row, an autofilter over the table and column widths (before any row).

    Returns the style of each column that has one: ``"percent"`` for ``percent_columns``;
    ``"wrap"`` where any text is wider than the widest column (60 characters), since a long
    "to collect" or "why unknown" cell would otherwise be cut off at its filled neighbour
    (review 24). Widths are read from the first 5,000 rows; the wrap from every row.
    """
    from openpyxl.utils import get_column_letter

    if not header:
        return {}
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    styles = {}
    for position, title in enumerate(header):
        longest = max([len(title), *(len(_width_text(row[position])) for row in rows[:5000])])
        sheet.column_dimensions[get_column_letter(position + 1)].width = min(max(longest + 2, 8), MAX_WIDTH)
        if title in percent_columns:
            styles[position] = "percent"
        elif any(isinstance(row[position], str) and len(row[position]) + 2 > MAX_WIDTH for row in rows):
            styles[position] = "wrap"
    return styles


def _width_text(value: object) -> str:
    return "2000-01-01" if isinstance(value, dt.datetime) else "" if value is None else str(value)


def _xlsx_rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Return the cell values of ``frame`` row by row (``None`` for blank)."""
    columns = [_xlsx_values(frame[c]) for c in frame.columns]
    return list(zip(*columns, strict=True))


def _xlsx_cell(sheet: object, value: object, style: str | None = None) -> object:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment

    if style == "percent" and isinstance(value, float):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0.0%"
        return cell
    if style == "wrap" and isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # also keeps text starting with "=" text
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, str) and value.startswith("="):
        # openpyxl would store this text as a formula; keep it text.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def _xlsx_values(values: pd.Series) -> list[object]:
    """Return the Python cell values of one column (``None`` for blank)."""
    dtype = values.dtype
    mask = values.isna().to_numpy()
    if isinstance(dtype, pd.BooleanDtype) or dtype == np.dtype(bool):
        cells = np.where(values.fillna(False).to_numpy(dtype=bool), "yes", "no").astype(object)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        # Midnight datetimes become real Excel date cells (openpyxl's date type is datetime).
        days = values.to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
        cells = days.astype("datetime64[us]").astype(object)
    elif pd.api.types.is_integer_dtype(dtype):
        cells = np.array(values.fillna(0).to_numpy(dtype="int64").tolist(), dtype=object)
    elif pd.api.types.is_float_dtype(dtype):
        cells = np.array(values.to_numpy(dtype="float64").tolist(), dtype=object)
    elif isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) and dtype != object:
        cells = values.astype(object).to_numpy()
    else:
        cells = format_csv_column(values).to_numpy()
    cells = np.array(cells, dtype=object)
    cells[mask] = None
    return cells.tolist()


def _normalise_zip(data: bytes, sizes: list[tuple[int, int]]) -> bytes:
    """Rewrite an xlsx zip: fixed entry timestamps, fixed core properties, sheet dimensions.

    ``sizes`` holds (rows, columns) of each sheet, in sheet order.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _fix_core_dates(content)
            sheet = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if sheet:
                content = _add_dimension(content, *sizes[int(sheet.group(1)) - 1])
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            entry.create_system = 0
            target.writestr(entry, content)
    return target_buffer.getvalue()


def _add_dimension(content: bytes, rows: int, columns: int) -> bytes:
    # openpyxl's write-only sheets carry no <dimension>; without it every reader in
    # read-only mode parses each sheet twice (once only to find its size).
    from openpyxl.utils import get_column_letter

    if b"<dimension" in content:
        return content
    element = f'<dimension ref="A1:{get_column_letter(columns)}{rows}" />'.encode()
    return content.replace(b"<sheetViews>", element + b"<sheetViews>", 1)


def _fix_core_dates(content: bytes) -> bytes:
    # openpyxl stamps "modified" with the time of saving, whatever the properties say.
    pattern = rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)"
    return re.sub(pattern, rb"\g<1>" + _CORE_TIMESTAMP.encode() + rb"\g<2>", content)


# ---------------------------------------------------------------------------------------
# Atomic file-system operations


def _write_folder(tables: Mapping[str, pd.DataFrame], out: Path, fmt: str) -> list[Path]:
    encode = _csv_bytes if fmt == "csv" else _parquet_bytes
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a folder; {fmt} tables are written into a folder")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name, frame in tables.items():
            (staging / f"{name}.{fmt}").write_bytes(encode(frame))
        _publish_folder(staging, out, names=[f"{name}.{fmt}" for name in tables], fmt=fmt)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / f"{name}.{fmt}" for name in tables]


def _publish_folder(staging: Path, out: Path, names: list[str], fmt: str) -> None:
    """Move the staged files into ``out``; a new folder is renamed in one step."""
    if not out.exists():
        os.chmod(staging, 0o755)
        os.replace(staging, out)
        return
    for name in names:
        os.replace(staging / name, out / name)
    for table in TABLES:
        stale = out / f"{table}.{fmt}"
        if f"{table}.{fmt}" not in names and stale.exists():
            stale.unlink()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; an xlsx workbook is written to a file path")
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        staged = staging / path.name
        staged.write_bytes(data)
        os.chmod(staged, 0o644)
        os.replace(staged, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
