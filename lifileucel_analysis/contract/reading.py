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

import codecs
import csv
import io
import itertools
import re
from pathlib import Path

import pandas as pd

from .arrow_csv import arrow_csv_cells, file_bytes, plain_utf8_text, text_head
from .findings import DATASET, MAX_PROBLEMS_PER_KIND, Findings
from .messages import MSG_NO_DATASET, MSG_NO_HEADER, counted, noun_for, printable
from .schema import TABLES
from .table_header import HEADER_SEARCH_ROWS, MAX_COLUMNS, header_problem, too_many_columns, with_header
from .workbook import WORKBOOK_SUFFIXES, read_workbook

__all__ = ["CONTROL_CHARACTER", "first_rows", "header_names", "read_raw", "read_raw_tables", "table_files"]

FOLDER_FORMATS: tuple[str, ...] = ("csv", "parquet")


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


def table_files(path: str | Path) -> list[Path]:
    """The files the loader reads for a dataset, by name: the one source of truth for fingerprints.

    The workbook itself; or, in a folder, the file of every contract table found in the
    folder's one format, matched as the loader matches them (any letter case, trimmed
    names: ``Patients.CSV``). Other files (a README, a table in the other format of a
    mixed folder, which the loader refuses) are not listed.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    files = _table_files(path, Findings())
    return sorted((file for fmt in FOLDER_FORMATS for file in files[fmt].values()), key=lambda file: file.name)


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
        # Say what a dataset is and where a relative path was looked for (review 24C).
        findings.add(DATASET, MSG_NO_DATASET.format(where="", or_root=""), value=str(path))
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
        return read_workbook(path, findings)
    if suffix == ".xls":
        findings.add(DATASET, "old Excel .xls workbooks are not read: save it as .xlsx (Excel Workbook)",
                     value=str(path))
    elif suffix == ".csv" and _labelled_redcap_export(path):
        findings.add(DATASET, "looks like a REDCap export with labels as column headers: export it again as "
                     "'CSV / Microsoft Excel (raw data)', with variable names as headers and raw values",
                     value=str(path))
    elif suffix in (".csv", ".parquet"):
        findings.add(DATASET, f"a {suffix[1:]} dataset is a folder of tables: pass the folder that holds this file",
                     value=str(path))
    else:
        findings.add(DATASET, "not a dataset: expected a folder of CSV or Parquet tables or an .xlsx workbook",
                     value=str(path))
    return {}


HEADER_SNIFF_BYTES = 1 << 16
"""How much of a CSV file :func:`header_names` reads to find its first line, and :func:`first_rows` to check
the first rows' width: a header row longer than this is refused."""


def header_names(path: Path) -> list[str]:
    """The column names of a CSV file's first line, trimmed, unquoted and case-folded (``[]`` if empty)."""
    with path.open("rb") as stream:
        first = stream.read(HEADER_SNIFF_BYTES).decode("utf-8-sig", errors="replace").splitlines()[:1]
    return [name.strip().strip('"').casefold() for name in next(csv.reader(first), [])] if first else []


def _labelled_redcap_export(path: Path) -> bool:
    """Whether a CSV file's first line is a REDCap export's header written as labels ("Repeat
    Instrument", "Patients Complete?"), which the raw-data import cannot read (audit, session 21)."""
    names = header_names(path)
    return "repeat instrument" in names or any(name.endswith("complete?") for name in names)


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
                # A folder or device of that name is there, not missing (audit 42C: "missing table" misled).
                odd = " (there is one, but not a regular file)" if (folder / f"{spec.name}.{fmt}").exists() else ""
                findings.add(spec.name, f"missing table: expected {spec.name}.{fmt} in {folder}{odd}")
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
            ignored.append(printable(entry.name))
        elif table in files[fmt]:
            findings.add(table, f"two files for this table ({files[fmt][table].name}, {entry.name}): keep one")
        else:
            files[fmt][table] = entry
    if ignored:
        findings.warnings.append(f"ignored {noun_for(len(ignored), 'file')} not in the data contract: "
                                 f"{', '.join(ignored)}")
    return files


def _no_tables_message(folder: Path) -> str:
    expected = ", ".join(f"{name}.csv" for name in TABLES)
    message = f"no tables found: expected {expected} (or the same names as .parquet)"
    workbooks = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in WORKBOOK_SUFFIXES)
    if workbooks:
        message += f"; to read a workbook, pass its path ({workbooks[0]})"
    return message


# CSV ----------------------------------------------------------------------------------

CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Characters a CSV table never holds anywhere: NUL, C0 controls but tab and line ends, DEL, C1."""


def _read_csv(path: Path, table: str, findings: Findings) -> pd.DataFrame | None:
    data = file_bytes(path)
    # Arrow's reader on both cores when the file is certainly plain (arrow_csv says when);
    # otherwise the exact way below, which words every problem.
    if (_binary_kind(data[:8192].tobytes()) is None and plain_utf8_text(data)
            and _csv_layout_problem(path.name, table, text_head(data, HEADER_SNIFF_BYTES + 1)) is None
            and (fast := arrow_csv_cells(data)) is not None):
        return with_header(fast.iloc[1:].reset_index(drop=True), [str(name) for name in fast.iloc[0]], table,
                           findings)
    text = _decode_utf8(path, data.tobytes(), table, findings)
    del data
    if text is None:
        return None
    if (control := CONTROL_CHARACTER.search(text)) is not None:
        row = text.count("\n", 0, control.start())
        findings.add(table, f"{path.name} holds the control character U+{ord(control.group()):04X} on line {row + 1}: "
                            "a table is plain text (tabs and line breaks only); remove it",
                     row=row if row > 0 else None)
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
    except Exception as error:  # noqa: BLE001 - every parser error is a problem of the file, not a crash
        findings.add(table, *_parser_problem(path, error))
        return None
    header = [str(name) for name in cells.iloc[0]]
    # Up to the last named column: a header ending in a comma names no column after it (review 31).
    named = max((i + 1 for i, name in enumerate(header) if name.strip() not in ("", "nan")), default=len(header))
    short = _short_rows(text, named)
    for row, saw in short[:MAX_PROBLEMS_PER_KIND]:
        findings.add(table, f"{counted(saw, 'field')} where the header has {named}: every row needs the header's "
                            "columns (a blank cell still needs its comma)", row=row)
    if short:
        return None
    return with_header(cells.iloc[1:].reset_index(drop=True), header, table, findings)


def _short_rows(text: str, width: int) -> list[tuple[int, int]]:
    """``(data row, fields)`` of each row with fewer fields than the header's ``width``.

    pandas pads such a row with blank cells, which would read as "not recorded" and could
    turn a recorded fact (a live-vaccine date) into a pass (audit 31B); a row with more
    fields is already refused. Only the exact path needs this: Arrow's reader refuses both.
    A line without a value (``""`` or ``",,"``) stays what pandas makes of it, a row of blank cells.
    """
    short = []
    try:
        for index, fields in enumerate(csv.reader(io.StringIO(text, newline=""))):
            if len(fields) < width and any(field.strip() for field in fields):
                short.append((index, len(fields)))
    except csv.Error:  # a cell beyond the csv module's field limit: pandas read the file; keep what was found
        pass
    return short


def first_rows(text: str, limit: int = MAX_COLUMNS, head_size: int = HEADER_SNIFF_BYTES
               ) -> tuple[list[list[str]], str | None]:
    """The first rows of a CSV text (within its first ``head_size`` characters), and why they are too
    wide to parse ("has more than 256 columns: ...", to follow the file's name), or None: a row of
    more than ``limit`` fields, or a first row longer than ``head_size``.

    ``text`` must run past that slice when the file does (one character more is enough), so that a
    first row the slice cuts is seen: its fields beyond the slice are not counted, and a quoted cell
    of 70,000 characters hid 100,000 commas after it from the column count (review 36C). Checked
    before pandas or Arrow makes an object of each column.
    """
    head = text[:head_size]
    try:
        # newline="": a line may end in \n, \r\n or a lone \r, as pandas reads it.
        first = list(itertools.islice(csv.reader(io.StringIO(head, newline="")), HEADER_SEARCH_ROWS))
    except csv.Error as error:  # a cell beyond the csv module's 131,072 characters (NULs are refused before)
        return [], f"cannot be read in its first rows ({error}), where a header row of column names belongs"
    if len(text) > len(head) and len(first) < 2:
        return first, (f"has a first row longer than {len(head):,} characters, too long for a header row of "
                       "column names: delete what follows the names")
    if any(len(row) > limit for row in first):
        return first, too_many_columns(f"more than {limit:,}")
    return first, None


def _csv_layout_problem(name: str, table: str, text: str) -> str | None:
    """Why the first lines of a CSV file cannot be its header (width, separator, title lines), or None."""
    first, too_wide = first_rows(text)
    if too_wide is not None:
        return f"{name} {too_wide}"
    if not any(cell.strip() for row in first for cell in row):
        return f"{name} is {MSG_NO_HEADER}"
    if len(first[0]) == 1 and any(separator in first[0][0] for separator in ";\t"):
        return (f"{name} is not comma-separated (';' or tab between column names): "
                "save it as 'CSV UTF-8 (comma delimited)'")
    problem = header_problem(table, first)
    return None if problem is None else f"{name}: {problem}"


def _parser_problem(path: Path, error: Exception) -> tuple[str, None, None, int | None]:
    """Return (message, column, value, row) for a CSV the parser refuses."""
    if "out of memory" in str(error):  # the machine's limit, not the file's layout: said as such by the command
        raise MemoryError(f"reading {path.name}: {error}") from error
    unclosed = re.search(r"EOF inside string starting at row (\d+)", str(error))
    if unclosed:  # pandas' row: the header is row 0, so it is the data row
        return ("a double quote opens a value on this row that is never closed, so the rest of the file would "
                "be one cell: close the quote, or write a quote inside a value as two (\"\")"), None, None, \
            int(unclosed.group(1))
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if not found:
        detail = str(error)[:200]
        return f"{path.name} is not a well-formed CSV file ({detail}): check quotes and separators", None, None, None
    expected, line, saw = (int(g) for g in found.groups())
    message = (f"{counted(saw, 'field')} where the header has {expected}: a value with a comma needs double quotes, "
               "and every row needs the header's columns")
    return message, None, None, line - 1


def _decode_utf8(path: Path, data: bytes, table: str, findings: Findings) -> str | None:
    """Return the file's text (``data``), or record why it is not UTF-8 text (with the row of the first bad byte)."""
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
    if head.count(0) <= max(1, len(head) // 100) and _utf8_head(head.replace(b"\x00", b"")):
        return None  # text with a stray NUL: the control-character check names its line (audit 36B)
    return "binary data, not a table: export the table as 'CSV UTF-8'"


def _utf8_head(head: bytes) -> bool:
    """Whether the first bytes of a file are UTF-8 text (a character cut at their end allowed)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


# Parquet ------------------------------------------------------------------------------


def _read_parquet(path: Path, table: str, findings: Findings) -> pd.DataFrame | None:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        if len(schema.names) > MAX_COLUMNS:
            findings.add(table, f"{path.name} {too_many_columns(f'{len(schema.names):,}')}")
            return None
        # Code columns come back dictionary-encoded (as Parquet stores them), so checking
        # them costs one look-up per distinct value instead of one per row.
        arrow = pq.read_table(path, read_dictionary=_coded_text_columns(table, schema))
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for a foreign file
        findings.add(table, f"{path.name} is not a readable Parquet file ({str(error)[:200]})")
        return None
    nested = [f for f in arrow.schema if not _one_value_per_cell(f.type)]
    for f in nested:
        # Audit 42C: a list of agents became the text "['nivolumab' 'relatlimab']", bytes "b'colitis'".
        findings.add(table, f"Parquet type {f.type} holds no single value per cell: expected text, a number, "
                            "a date or a boolean (several agents are one text: 'a+b')", column=f.name)
    if nested:
        return None
    try:
        columns = {i: _arrow_column_to_pandas(arrow.column(i)) for i in range(arrow.num_columns)}
    except Exception as error:  # noqa: BLE001 - a type pandas cannot hold is a problem of the file
        findings.add(table, f"{path.name} has a column that cannot be read ({str(error)[:200]})")
        return None
    cells = pd.DataFrame(columns, index=pd.RangeIndex(arrow.num_rows), copy=False)
    return with_header(cells, list(arrow.column_names), table, findings)


def _one_value_per_cell(kind: object) -> bool:
    """Whether a Parquet column's Arrow type holds one text, number, date or boolean per cell (a
    dictionary of such values too): not a list, struct, map or bytes."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type  # type: ignore[attr-defined]
    return any(test(kind) for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer,
                                       pa.types.is_floating, pa.types.is_decimal, pa.types.is_boolean,
                                       pa.types.is_date, pa.types.is_timestamp, pa.types.is_null))


def _coded_text_columns(table: str, schema: object) -> list[str]:
    """Names of the file's text columns that hold codes or yes/no in the contract."""
    import pyarrow as pa

    spec = TABLES[table]
    # Not IDs: unifying the per-chunk dictionaries of a million distinct IDs costs more
    # than checking each row.
    coded = {c.name for c in spec.columns if c.kind in ("code", "yesno")}
    return [f.name for f in schema  # type: ignore[attr-defined]
            if f.name.strip().lower() in coded and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]


UINT64_EXACT_LIMIT = 2**63 - 1
"""Beyond this an unsigned 64-bit column cannot become a pandas int64 column."""
FIRST_DAY, LAST_DAY = -719_162, 2_932_896
"""Days since 1970-01-01 of 0001-01-01 and 9999-12-31, the range of Python's dates."""


def _beyond_calendar(column: object) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    days = pc.cast(column, pa.int32())
    low, high = pc.min(days).as_py(), pc.max(days).as_py()
    return low is not None and (low < FIRST_DAY or high > LAST_DAY)


def _dates_as_objects(column: object) -> pd.Series:
    """A date column with days beyond year 9999: those become text, which the date check refuses."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.compute as pc

    epoch = dt.date(1970, 1, 1)
    days = pc.cast(column, pa.int32()).to_pylist()
    return pd.Series([None if d is None else (epoch + dt.timedelta(days=d) if FIRST_DAY <= d <= LAST_DAY
                                              else f"day {d} after 1970-01-01") for d in days], dtype=object)


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
        # Read as its text, like a CSV cell, so a value at a limit stays on its typed side (audit 42C:
        # Arrow's cast to a double turned decimal128 102.600 into 102.60000000000001, failing ALT at 3 x 34.2).
        return column.cast(pa.string()).to_pandas()  # type: ignore[attr-defined]
    if pa.types.is_date64(kind):
        column = pc.cast(column, pa.date32())
        kind = pa.date32()
    if pa.types.is_date32(kind) and _beyond_calendar(column):
        return _dates_as_objects(column)
    if pa.types.is_uint64(kind) and (pc.max(column).as_py() or 0) > UINT64_EXACT_LIMIT:
        return column.cast(pa.string()).to_pandas()  # type: ignore[attr-defined]  # as text: checked as such
    if pa.types.is_boolean(kind):
        # Default conversion of a boolean column with nulls is a slow object column.
        return column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)  # type: ignore[attr-defined]
    return column.to_pandas(date_as_object=False)  # type: ignore[attr-defined]
