"""Read a dataset's files into raw tables: the first step of loading, before any cell is checked.

A dataset is a folder of CSV files, an ``.xlsx`` workbook, or a folder of Parquet files
(``shared/spec/screening-data.md`` section 1). This module finds the contract's tables
there and turns each into a *raw* frame: CSV cells as text, workbook cells as the Python
values openpyxl gives (text, numbers, dates), Parquet columns with their Arrow types.
Header names are trimmed and lower-cased; row ``i`` of a raw frame is data row ``i + 1``
of the file.

What it refuses is about files, not values: a path that does not exist, mixed or foreign
formats, text that is not UTF-8, a header that is missing or not on the first row,
duplicate column names, merged cells. Cell values are checked by :mod:`.validation`.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from .findings import DATASET, Findings
from .messages import MSG_DUPLICATE_COLUMN, MSG_MERGED, MSG_NO_HEADER
from .schema import TABLES

__all__ = ["read_raw", "read_raw_tables"]

FOLDER_FORMATS: tuple[str, ...] = ("csv", "parquet")
WORKBOOK_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
HEADER_SEARCH_ROWS = 20
"""Rows searched for a header that is not on the first row (a title or blank lines above it)."""


def read_raw_tables(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the tables of a dataset without validating their cells.

    Parameters
    ----------
    path : str or Path
        As for :func:`.loading.load_dataset`.

    Returns
    -------
    dict of str to pandas.DataFrame
        The tables found, by contract name. Header names are trimmed and lower-cased;
        CSV cells are text (``""`` or NaN for blank), workbook cells are openpyxl values
        (``None`` for blank), Parquet columns keep their Arrow-derived dtypes. Row ``i``
        is data row ``i + 1`` of the file. Files not in the contract are not read.

    Raises
    ------
    ContractError
        When the path, a file or a table cannot be read at all (cell values are not
        checked here).
    """
    findings = Findings()
    raw = read_raw(Path(path), findings)
    findings.raise_if_any(str(path))
    return raw


def read_raw(path: Path, findings: Findings) -> dict[str, pd.DataFrame]:
    """Read every contract table found at ``path``; problems go to ``findings``.

    The step shared by :func:`read_raw_tables` and :func:`.loading.load_dataset`: it
    never raises for a problem of the data, so that :func:`.loading.load_dataset` can
    report it together with the cell problems of the tables that could be read.

    Parameters
    ----------
    path : Path
        As for :func:`.loading.load_dataset`.
    findings : Findings
        Receives the problems and warnings.

    Returns
    -------
    dict of str to pandas.DataFrame
        The tables that could be read, as :func:`read_raw_tables` describes them.
    """
    if not path.exists():
        findings.add(DATASET, "no such file or folder", value=str(path))
        return {}
    try:
        if path.is_file():
            return _read_file_dataset(path, findings)
        return _read_folder(path, findings)
    except OSError as error:
        findings.add(DATASET, f"cannot be read: {error.strerror or error}", value=str(path))
        return {}


def _read_file_dataset(path: Path, findings: Findings) -> dict[str, pd.DataFrame]:
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return _read_workbook(path, findings)
    if suffix == ".xls":
        findings.add(DATASET, "old Excel .xls workbooks are not read: save it as .xlsx (Excel Workbook)",
                     value=str(path))
    elif suffix in (".csv", ".parquet"):
        findings.add(DATASET, f"a {suffix[1:]} dataset is a folder of tables: pass the folder that holds this file",
                     value=str(path))
    else:
        findings.add(DATASET, "not a dataset: expected a folder of CSV or Parquet tables or an .xlsx workbook",
                     value=str(path))
    return {}


def _read_folder(folder: Path, findings: Findings) -> dict[str, pd.DataFrame]:
    files = _table_files(folder, findings)
    formats = [fmt for fmt in FOLDER_FORMATS if files[fmt]]
    if not formats:
        findings.add(DATASET, _no_tables_message(folder), value=str(folder))
        return {}
    if len(formats) > 1:
        findings.add(DATASET, "holds both CSV and Parquet tables: keep one format in the folder", value=str(folder))
        return {}
    fmt = formats[0]
    reader = _read_csv if fmt == "csv" else _read_parquet
    raw: dict[str, pd.DataFrame] = {}
    for spec in TABLES.values():
        found = files[fmt].get(spec.name)
        if found is None:
            if spec.required:
                findings.add(spec.name, f"missing table: expected {spec.name}.{fmt} in {folder}")
            continue
        try:
            frame = reader(found, spec.name, findings)
        except OSError as error:  # permissions, a file removed while reading, ...
            findings.add(spec.name, f"{found.name} cannot be read: {error.strerror or error}")
            continue
        if frame is not None:
            raw[spec.name] = frame
    return raw


def _table_files(folder: Path, findings: Findings) -> dict[str, dict[str, Path]]:
    """Return ``{format: {table: file}}``; file names match case-insensitively."""
    files: dict[str, dict[str, Path]] = {fmt: {} for fmt in FOLDER_FORMATS}
    ignored = []
    for entry in sorted(folder.iterdir()):
        fmt = entry.suffix.lower().lstrip(".")
        if not entry.is_file() or fmt not in FOLDER_FORMATS:
            continue
        table = entry.stem.strip().lower()
        if table not in TABLES:
            ignored.append(entry.name)
        elif table in files[fmt]:
            findings.add(table, f"two files for this table ({files[fmt][table].name}, {entry.name}): keep one")
        else:
            files[fmt][table] = entry
    if ignored:
        findings.warnings.append(f"ignored file(s) not in the data contract: {', '.join(ignored)}")
    return files


def _no_tables_message(folder: Path) -> str:
    expected = ", ".join(f"{name}.csv" for name in TABLES)
    message = f"no tables found: expected {expected} (or the same names as .parquet)"
    workbooks = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in WORKBOOK_SUFFIXES)
    if workbooks:
        message += f"; to read a workbook, pass its path ({workbooks[0]})"
    return message


# CSV ----------------------------------------------------------------------------------


def _read_csv(path: Path, table: str, findings: Findings) -> pd.DataFrame | None:
    text = _decode_utf8(path, table, findings)
    if text is None:
        return None
    if (layout := _csv_layout_problem(path.name, table, text)) is not None:
        findings.add(table, layout)
        return None
    try:
        # header=None: the header line fixes the width, so a row with more fields than
        # the header is an error instead of silently shifted or cut data.
        cells = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        findings.add(table, f"{path.name} is {MSG_NO_HEADER}")
        return None
    except (pd.errors.ParserError, ValueError) as error:
        findings.add(table, *_parser_problem(path, error))
        return None
    header = [str(name) for name in cells.iloc[0]]
    return _with_header(cells.iloc[1:].reset_index(drop=True), header, table, findings)


def _csv_layout_problem(name: str, table: str, text: str) -> str | None:
    """Why the first lines of a CSV file cannot be its header (separator, title lines), or None."""
    try:
        # newline="": a line may end in \n, \r\n or a lone \r, as pandas reads it.
        first = list(itertools.islice(csv.reader(io.StringIO(text[:1 << 16], newline="")), HEADER_SEARCH_ROWS))
    except csv.Error:
        return None  # read_csv reports what is wrong with the file
    if not any(cell.strip() for row in first for cell in row):
        return f"{name} is {MSG_NO_HEADER}"
    if len(first[0]) == 1 and any(separator in first[0][0] for separator in ";\t"):
        return (f"{name} is not comma-separated (';' or tab between column names): "
                "save it as 'CSV UTF-8 (comma delimited)'")
    problem = _header_problem(table, first)
    return None if problem is None else f"{name}: {problem}"


def _header_problem(table: str, rows: Sequence[Sequence[object]]) -> str | None:
    """Why the first of ``rows`` is not the table's header, or None when it names a contract column.

    A header further down (a title or notes above it) is pointed to by its line number; a
    first row that names no column at all is reported as a missing header row, instead of
    one "missing column" problem per contract column.
    """
    if not rows or _contract_names_in(table, rows[0]) > 0:
        return None
    for position, row in enumerate(rows[1:], start=1):
        if _contract_names_in(table, row) >= min(2, len(TABLES[table].columns)):
            return (f"the header must be the first row, but the column names are on line {position + 1}: "
                    f"delete the {position} line(s) above them")
    names = ", ".join(TABLES[table].column_names[:3])
    return (f"no header row with the contract's column names: the first row names none of them (expected {names}, "
            "...): add the header, or rename the columns as in the data dictionary")


def _contract_names_in(table: str, row: Sequence[object]) -> int:
    """How many cells of ``row`` are column names of ``table`` (trimmed, any letter case)."""
    names = set(TABLES[table].column_names)
    return sum(1 for cell in row if isinstance(cell, str) and cell.strip().lower() in names)


def _parser_problem(path: Path, error: Exception) -> tuple[str, None, None, int | None]:
    """Return (message, column, value, row) for a CSV the parser refuses."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if not found:
        return f"{path.name} is not a well-formed CSV file ({error}): check quotes and separators", None, None, None
    expected, line, saw = (int(g) for g in found.groups())
    message = (f"{saw} fields where the header has {expected}: a value with a comma needs double quotes, "
               "and every row needs the header's columns")
    return message, None, None, line - 1


def _decode_utf8(path: Path, table: str, findings: Findings) -> str | None:
    """Return the file's text, or record why it is not UTF-8 text (with the row of the first bad byte)."""
    data = path.read_bytes()
    if (binary := _binary_kind(data[:8192])) is not None:
        findings.add(table, f"{path.name} is not UTF-8 CSV text: it looks like {binary}")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data.count(b"\n", 0, error.start)
        guess = ("UTF-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff")
                 else "a legacy encoding such as Windows-1252 or Latin-1 (ISO-8859-1)")
        message = (f"{path.name} is not UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded; the file "
                   f"looks like {guess}): save it as 'CSV UTF-8' and load it again")
        findings.add(table, message, row=row if row > 0 else None)
        return None


def _binary_kind(head: bytes) -> str | None:
    """What a file that is not UTF-8 text looks like, from its first bytes; None when it may be text.

    A UTF-16 file with a byte-order mark is left to the decoder, which names the encoding.
    """
    if head.startswith(b"PK\x03\x04"):
        return ("an Excel workbook or a zip archive renamed .csv: pass the .xlsx path, or save each sheet "
                "as 'CSV UTF-8'")
    if head.startswith(b"PAR1"):
        return "a Parquet file renamed .csv: name it .parquet (and keep one format in the folder)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel .xls workbook renamed .csv: save each sheet as 'CSV UTF-8'"
    if b"\x00" not in head or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    if max(head[0::2].count(0), head[1::2].count(0)) > len(head) // 4:
        return "UTF-16 text without a byte-order mark: save it as 'CSV UTF-8'"
    return "binary data, not a table: export the table as 'CSV UTF-8'"


def _with_header(cells: pd.DataFrame, header: list[str], table: str, findings: Findings) -> pd.DataFrame:
    """Name the columns of ``cells`` after ``header``: trimmed, lower case, first of duplicates."""
    names = [str(name).strip().lower() if name is not None else "" for name in header]
    keep, seen = [], set()
    unnamed_with_data = 0
    for position, name in enumerate(names):
        if not name:
            unnamed_with_data += int(_has_data(cells[cells.columns[position]]))
            continue
        if name in seen:
            findings.add(table, MSG_DUPLICATE_COLUMN, column=name)
            continue
        seen.add(name)
        keep.append(position)
    if unnamed_with_data:
        findings.warnings.append(f"{table}: ignored {unnamed_with_data} column(s) without a header name")
    frame = cells.iloc[:, keep]
    frame.columns = [names[p] for p in keep]
    return frame.reset_index(drop=True)


def _has_data(column: pd.Series) -> bool:
    text = column.dropna()
    return bool(len(text)) and bool((text.astype(str).str.strip() != "").any())


# xlsx ---------------------------------------------------------------------------------


def _read_workbook(path: Path, findings: Findings) -> dict[str, pd.DataFrame]:
    from openpyxl import load_workbook

    if (foreign := _foreign_workbook(path)) is not None:
        findings.add(DATASET, foreign, value=str(path))
        return {}
    try:
        # data_only: a formula cell is read as the value Excel last computed for it.
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign file
        findings.add(DATASET, f"not a readable .xlsx workbook ({type(error).__name__}: {error})", value=str(path))
        return {}
    try:
        return _read_sheets(workbook, findings)
    finally:
        workbook.close()


def _foreign_workbook(path: Path) -> str | None:
    """Why a file named .xlsx is not an .xlsx workbook (a zip archive), from its first bytes; or None."""
    with path.open("rb") as file:
        head = file.read(8192)
    if head.startswith(b"PK\x03\x04"):
        return None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ("not a readable .xlsx workbook: it is in the old Excel format (an .xls renamed, or a "
                "password-protected workbook): save it as an unprotected Excel Workbook (.xlsx)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return ("not a readable .xlsx workbook (an .xlsx file is a zip archive, this is not): save it from Excel "
                "as Excel Workbook (.xlsx)")
    return ("not a readable .xlsx workbook: it is a text file (a CSV renamed .xlsx?): save it from Excel as "
            "Excel Workbook (.xlsx), or put one CSV file per table in a folder and pass the folder")


def _read_sheets(workbook: object, findings: Findings) -> dict[str, pd.DataFrame]:
    sheets: dict[str, object] = {}
    ignored = []
    for sheet in workbook.worksheets:  # type: ignore[attr-defined]
        name = sheet.title.strip().lower()
        if name not in TABLES:
            ignored.append(sheet.title)
        elif name in sheets:
            findings.add(name, f"two sheets for this table ({sheets[name].title!r}, {sheet.title!r}): keep one")
        else:
            sheets[name] = sheet
    if ignored:
        findings.warnings.append(f"ignored sheet(s) not in the data contract: {', '.join(ignored)}")
    raw = {}
    for spec in TABLES.values():
        if spec.name not in sheets:
            if spec.required:
                findings.add(spec.name, f"missing sheet: the workbook needs a sheet named {spec.name!r}")
            continue
        frame = _read_sheet(sheets[spec.name], spec.name, findings)
        if frame is not None:
            raw[spec.name] = frame
    return raw


def _read_sheet(sheet: object, table: str, findings: Findings) -> pd.DataFrame | None:
    rows = list(sheet.iter_rows(values_only=True))  # type: ignore[attr-defined]
    first = rows[:HEADER_SEARCH_ROWS]
    if all(_blank_cell(cell) for row in first for cell in row):
        findings.add(table, f"sheet {MSG_NO_HEADER}")
        return None
    if (problem := _header_problem(table, first)) is not None:
        findings.add(table, f"sheet {table!r}: {problem}")
        return None
    header, body = rows[0], rows[1:]
    # A value right of the last header cell lands in a column without a name (warned).
    width = max([len(header)] + [len(row) for row in body])
    header = list(header) + [None] * (width - len(header))
    _check_merged_cells(sheet, table, header, findings)
    body = [row + (None,) * (width - len(row)) if len(row) != width else row for row in body]
    columns = list(zip(*body, strict=True)) if body else [() for _ in range(width)]
    cells = pd.DataFrame({i: pd.Series(col, dtype=object) for i, col in enumerate(columns)}, copy=False)
    return _with_header(cells, header, table, findings)


MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")


def _merge_refs(source: io.BufferedIOBase) -> Iterator[re.Match[bytes]]:
    """Find ``<mergeCell ref=...>`` tags in an XML stream, a megabyte at a time."""
    tail = b""
    while chunk := source.read(1 << 20):
        buffer, end = tail + chunk, 0
        for found in MERGE_REF.finditer(buffer):
            end = found.end()
            yield found
        tail = buffer[max(end, len(buffer) - 256):]  # a tag cut at the chunk's end is found next time


def _check_merged_cells(sheet: object, table: str, header: list[object], findings: Findings) -> None:
    """Report every merged range of a sheet, located by its first data row and column.

    openpyxl's read-only mode does not expose merged ranges, so they are read from the
    sheet's XML (they follow the cell data there); without that XML nothing is checked.
    """
    from openpyxl.utils import column_index_from_string

    try:
        with sheet._get_source() as source:  # type: ignore[attr-defined]
            ranges = [found.groups() for found in _merge_refs(source)]
    except (AttributeError, OSError, KeyError):
        return
    for groups in ranges:
        first_column, first_row, last_column, last_row = (g.decode() if g else g for g in groups)
        if last_column is None or (first_column, first_row) == (last_column, last_row):
            continue  # a one-cell "range" merges nothing
        position = column_index_from_string(first_column) - 1
        name = header[position] if position < len(header) else None
        column = str(name).strip().lower() if not _blank_cell(name) else None
        row = int(first_row) - 1
        findings.add(table, MSG_MERGED, column=column, value=f"{first_column}{first_row}:{last_column}{last_row}",
                     row=row if row > 0 else None)


def _blank_cell(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


# Parquet ------------------------------------------------------------------------------


def _read_parquet(path: Path, table: str, findings: Findings) -> pd.DataFrame | None:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        # Code columns come back dictionary-encoded (as Parquet stores them), so checking
        # them costs one look-up per distinct value instead of one per row.
        arrow = pq.read_table(path, read_dictionary=_coded_text_columns(table, schema))
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for a foreign file
        findings.add(table, f"{path.name} is not a readable Parquet file ({error})")
        return None
    columns = {i: _arrow_column_to_pandas(arrow.column(i)) for i in range(arrow.num_columns)}
    cells = pd.DataFrame(columns, index=pd.RangeIndex(arrow.num_rows), copy=False)
    return _with_header(cells, list(arrow.column_names), table, findings)


def _coded_text_columns(table: str, schema: object) -> list[str]:
    """Names of the file's text columns that hold codes or yes/no in the contract."""
    import pyarrow as pa

    spec = TABLES[table]
    # Not IDs: unifying the per-chunk dictionaries of a million distinct IDs costs more
    # than checking each row.
    coded = {c.name for c in spec.columns if c.kind in ("code", "yesno")}
    return [f.name for f in schema  # type: ignore[attr-defined]
            if f.name.strip().lower() in coded and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]


def _arrow_column_to_pandas(column: object) -> pd.Series:
    """Convert one Arrow column, keeping dates as datetimes and codes as text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type  # type: ignore[attr-defined]
    if pa.types.is_dictionary(kind):
        if pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type):
            return column.to_pandas()  # type: ignore[attr-defined]  # a Categorical of text
        column, kind = pc.cast(column, kind.value_type), kind.value_type
    if pa.types.is_decimal(kind):
        column = pc.cast(column, pa.float64())
    if pa.types.is_date64(kind):
        column = pc.cast(column, pa.date32())
    if pa.types.is_boolean(kind):
        # Default conversion of a boolean column with nulls is a slow object column.
        return column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)  # type: ignore[attr-defined]
    return column.to_pandas(date_as_object=False)  # type: ignore[attr-defined]
