"""Load a screening dataset and check it against the data contract, all problems at once.

A dataset is a folder of CSV files, an ``.xlsx`` workbook, or a folder of Parquet files
(``shared/spec/screening-data.md`` section 1; the columns are in :mod:`.schema`).
:func:`load_dataset` reads it, checks every cell, key and cross-reference, and either
returns typed frames (:class:`.ScreeningDataset`) or raises one :class:`.ContractError`
that lists every problem found, each located by table, row, column and value.

Reading happens in two steps, so that problems of every table are reported together:

1. :func:`read_raw_tables` turns files into *raw* frames: CSV cells as text, workbook
   cells as the Python values openpyxl gives (text, numbers, dates), Parquet columns with
   their Arrow types. Header names are trimmed and lower-cased; row ``i`` of a raw frame
   is data row ``i + 1`` of the file.
2. :func:`validate_tables` checks raw frames column by column with vectorised pandas
   operations (one pass per column, whatever the number of rows) and builds the typed
   frames. Only the rows that break the contract are visited one by one, to build their
   :class:`.Problem`; at most :data:`MAX_PROBLEMS_PER_KIND` are kept per kind, the rest
   are counted.

Lenient where a person would expect it (spaces, letter case of codes and yes/no, BOM,
CRLF, column order, extra columns, numbers stored as text, Excel date cells, ``2.0`` for
a whole number); strict where a guess could mislead (non-ISO or impossible dates, unknown
codes or units, out-of-range numbers, malformed IDs, missing tables or columns). The
choices are listed in ``docs/data-dictionary.md``, which :func:`data_dictionary_markdown`
generates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import ContractError, Problem, ScreeningDataset
from .writing import format_csv_column
from .schema import (
    DATE_DTYPE,
    PATIENT_ID_PATTERN,
    TABLES,
    TESTS_NEEDING_ULN,
    UNIT_FACTORS,
    UNITS,
    ColumnSpec,
    TableSpec,
    dtype_for,
    empty_frame,
)

__all__ = [
    "MAX_PROBLEMS_PER_KIND",
    "data_dictionary_markdown",
    "load_dataset",
    "read_raw_tables",
    "validate_tables",
]

MAX_PROBLEMS_PER_KIND = 1000
"""Problems kept as objects per (table, column, message); further ones are only counted."""
DATASET = "dataset"
"""The ``table`` of problems that concern the dataset as a whole (path, files)."""
FOLDER_FORMATS: tuple[str, ...] = ("csv", "parquet")
WORKBOOK_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
ISO_DATE_SHAPE = r"\d{4}-\d{2}-\d{2}"
LARGEST_EXACT_INTEGER = 2.0**53
SECONDS_PER_DAY = 86_400
TEXT_DTYPE = pd.StringDtype(na_value=np.nan)
LOWER_CASE_TEXT: frozenset[tuple[str, str]] = frozenset({("therapies", "agents")})
"""Text columns the contract declares lower case: read case-insensitively (``Nivolumab``)."""

MSG_NOT_ISO = (
    "not an ISO date: use YYYY-MM-DD (e.g. 2026-03-02); other layouts such as "
    "03/02/2026 are refused because day and month could be swapped"
)
MSG_IMPOSSIBLE_DATE = "no such calendar date: expected a real date YYYY-MM-DD"
MSG_TIME_OF_DAY = "has a time of day: expected a date YYYY-MM-DD without time"
MSG_NOT_FINITE = "not a finite number"
MSG_NO_SUCH_PATIENT = "no such patient: this patient_id is not in the patients table"
MSG_ULN_NEEDED = "blank, but required for ast and alt: give the lab's upper limit of normal (uln) in U/L"
MSG_MISSING_COLUMN = "missing column: the contract requires it (keep the column and leave cells blank if not recorded)"
MSG_DUPLICATE_COLUMN = "column appears more than once in the header: keep one"
MSG_NO_HEADER = "empty: expected a header row with the contract's column names"
MSG_NO_PATIENTS = "no rows: a screening dataset lists at least one patient (is this the right file or sheet?)"
MSG_MERGED = ("merged cells: unmerge them and type the value into every cell (a merged range keeps its value "
              "in its first cell only; the others would read as blank)")
MSG_PLACEHOLDER = "a placeholder, not a value: leave the cell blank if not recorded (blank = unknown); otherwise"
MSG_EXCEL_ERROR = "an Excel error value: correct the formula or type the value; expected"
MSG_NUMBER_SEPARATOR = ("not a number: write digits with a decimal point and no thousands separator (1500, 1.5); "
                        "expected")

FIRST_DATE = np.datetime64("1900-01-01", "s")
LAST_DATE = np.datetime64("2099-12-31", "s")
MSG_DATE_SERIAL = ("not an ISO date but a number (an Excel date serial?): format the cells as dates, or type "
                   "YYYY-MM-DD")
MSG_DATE_RANGE = "implausible year (a typo?): expected a date from 1900-01-01 to 2099-12-31"
HEADER_SEARCH_ROWS = 20
"""Rows searched for a header that is not on the first row (a title or blank lines above it)."""
PLACEHOLDERS: frozenset[str] = frozenset({
    "na", "n/a", "n.a.", "n.a", "nan", "null", "none", "nil", "-", "--", "?", "unknown", "unk", "missing",
    "not recorded", "not done", "not available", "nd", "tbd",
})
"""Spellings of "no value" that are refused with a hint to leave the cell blank (unless a valid code)."""
EXCEL_ERRORS: frozenset[str] = frozenset({
    "#n/a", "#ref!", "#value!", "#div/0!", "#name?", "#num!", "#null!", "#spill!", "#calc!", "#getting_data",
})
MASKED_COLUMNS: frozenset[tuple[str, str]] = frozenset({("patients", "birth_date")})
"""Columns whose values are never repeated in a message (digits and letters shown as ``#``)."""
DATE_ORDER: tuple[tuple[str, str, str, str, str], ...] = (
    # table, earlier date, later date, column reported, message
    ("patients", "birth_date", "consent_date", "birth_date",
     "after consent_date: the birth date must come before consent (is the year right?)"),
    ("patients", "consent_date", "lymphodepletion_date", "lymphodepletion_date",
     "before consent_date: lymphodepletion (NMA-LD) comes after consent is signed"),
    ("therapies", "start_date", "end_date", "end_date",
     "before start_date: a line of therapy cannot end before it starts"),
    ("therapies", "start_date", "recurrence_date", "recurrence_date",
     "before start_date: a recurrence recorded for a line cannot precede the line's start"),
)
"""Dates of one row that contradict each other: a later date before the earlier one is refused."""


# ---------------------------------------------------------------------------------------
# Problem collection


@dataclass
class _Findings:
    """Problems and warnings gathered while reading and validating."""

    problems: list[Problem] = field(default_factory=list)
    omitted: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def add(self, table: str, message: str, column: str | None = None, value: object = None,
            row: int | None = None) -> None:
        """Record one problem."""
        self.problems.append(Problem(table, row, column, value, message))

    def add_cells(self, table: str, column: str, mask: np.ndarray, values: pd.Series, message: str) -> None:
        """Record a problem for each row where ``mask`` is true, keeping the first few."""
        positions = np.flatnonzero(mask)
        if positions.size == 0:
            return
        kept = positions[:MAX_PROBLEMS_PER_KIND]
        show = _masked if (table, column) in MASKED_COLUMNS else _plain
        for position, value in zip(kept, values.iloc[kept], strict=True):
            self.problems.append(Problem(table, int(position) + 1, column, show(value), message))
        if positions.size > kept.size:
            self.omitted[Problem(table, None, column, None, message).kind] += int(positions.size - kept.size)

    def raise_if_any(self, source: str) -> None:
        """Raise :class:`.ContractError` when any problem was found."""
        if self.problems or self.omitted:
            raise ContractError(self.problems, source, omitted=self.omitted)


def _plain(value: object) -> object:
    """Return a cell value as a plain Python object for messages (no numpy scalars)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ") if value.time() != dt.time(0) else value.date().isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _masked(value: object) -> object:
    """Return a cell value with every letter and digit shown as ``#`` (``1960-5-1`` -> ``####-#-#``).

    The layout stays visible, so the message still says what is wrong, but the value of a
    masked column (the birth date) is never repeated in a message or a report quoting it.
    """
    plain = _plain(value)
    return re.sub(r"\w", "#", str(plain)) if plain != "" else plain


# ---------------------------------------------------------------------------------------
# Public API


def load_dataset(path: str | Path) -> ScreeningDataset:
    """Read a screening dataset and validate it against the data contract.

    Parameters
    ----------
    path : str or Path
        A folder of CSV files (``patients.csv``, ``therapies.csv``, ``labs.csv``,
        ``toxicities.csv``, optional ``overrides.csv``), a folder of Parquet files with
        the same names, an ``.xlsx`` workbook with sheets of the same names, or a REDCap
        CSV export (:mod:`.redcap_import`).

    Returns
    -------
    ScreeningDataset
        Typed frames (dtypes of :func:`.schema.dtype_for`), columns in contract order,
        rows in file order with a ``RangeIndex``; ``warnings`` lists lenient fixes.

    Raises
    ------
    ContractError
        Listing every problem found in every table, each naming table, row, column,
        value and what is allowed.
    """
    from .redcap_import import is_redcap_export, load_redcap_export  # here: it imports this module

    if is_redcap_export(Path(path)):
        return load_redcap_export(path)
    findings = _Findings()
    raw = _read_raw(Path(path), findings)
    return _validate(raw, findings, source=str(path))


def read_raw_tables(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the tables of a dataset without validating their cells.

    Parameters
    ----------
    path : str or Path
        As for :func:`load_dataset`.

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
    findings = _Findings()
    raw = _read_raw(Path(path), findings)
    findings.raise_if_any(str(path))
    return raw


def validate_tables(raw: Mapping[str, pd.DataFrame], source: str = "in memory") -> ScreeningDataset:
    """Validate raw or loosely typed frames and return the typed dataset.

    Parameters
    ----------
    raw : mapping of str to pandas.DataFrame
        Frames by table name, as :func:`read_raw_tables` returns them or built in
        memory (text, Python values or typed columns are all accepted). ``overrides``
        may be absent.
    source : str
        Where the frames came from, for messages.

    Returns
    -------
    ScreeningDataset

    Raises
    ------
    ContractError
        As for :func:`load_dataset`.
    """
    findings = _Findings()
    named = {str(name).strip().lower(): frame for name, frame in raw.items()}
    for name in named:
        if name not in TABLES:
            findings.warnings.append(f"ignored table {name!r}: not in the data contract")
    for spec in TABLES.values():
        if spec.required and spec.name not in named:
            findings.add(spec.name, "missing table: the contract requires it (it may have no rows)")
    return _validate({name: frame for name, frame in named.items() if name in TABLES}, findings, source)


# ---------------------------------------------------------------------------------------
# Reading: path -> raw frames


def _read_raw(path: Path, findings: _Findings) -> dict[str, pd.DataFrame]:
    """Read every contract table found at ``path``; problems go to ``findings``."""
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


def _read_file_dataset(path: Path, findings: _Findings) -> dict[str, pd.DataFrame]:
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


def _read_folder(folder: Path, findings: _Findings) -> dict[str, pd.DataFrame]:
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


def _table_files(folder: Path, findings: _Findings) -> dict[str, dict[str, Path]]:
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


def _read_csv(path: Path, table: str, findings: _Findings) -> pd.DataFrame | None:
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


def _decode_utf8(path: Path, table: str, findings: _Findings) -> str | None:
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


def _with_header(cells: pd.DataFrame, header: list[str], table: str, findings: _Findings) -> pd.DataFrame:
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


def _read_workbook(path: Path, findings: _Findings) -> dict[str, pd.DataFrame]:
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


def _read_sheets(workbook: object, findings: _Findings) -> dict[str, pd.DataFrame]:
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


def _read_sheet(sheet: object, table: str, findings: _Findings) -> pd.DataFrame | None:
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


def _check_merged_cells(sheet: object, table: str, header: list[object], findings: _Findings) -> None:
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


def _read_parquet(path: Path, table: str, findings: _Findings) -> pd.DataFrame | None:
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


# ---------------------------------------------------------------------------------------
# Validation: raw frames -> typed frames


@dataclass
class _Checked:
    """One table after its cell checks: typed columns, normalised raw columns, row count."""

    spec: TableSpec
    columns: dict[str, pd.Series]
    raw: dict[str, pd.Series]
    n_rows: int


def _validate(raw: Mapping[str, pd.DataFrame], findings: _Findings, source: str) -> ScreeningDataset:
    checked = {name: _check_table(TABLES[name], frame, findings) for name, frame in raw.items()}
    patient_ids = _valid_patient_ids(checked.get("patients"))
    for name, table in checked.items():
        _check_keys(table, findings)
        if name != "patients":
            _check_patients_exist(table, patient_ids, findings)
    if "labs" in checked:
        _check_lab_units(checked["labs"], findings)
        _check_uln(checked["labs"], findings)
    if "patients" in checked and checked["patients"].n_rows == 0:
        findings.add("patients", MSG_NO_PATIENTS)
    for table, earlier, later, column, message in DATE_ORDER:
        if table in checked:
            _check_date_order(checked[table], earlier, later, column, message, findings)
    findings.raise_if_any(source)
    frames = {name: _typed_frame(table) for name, table in checked.items()}
    frames.setdefault("overrides", empty_frame("overrides"))
    return ScreeningDataset(**frames, source=source, warnings=tuple(findings.warnings))


def _check_table(spec: TableSpec, frame: pd.DataFrame, findings: _Findings) -> _Checked:
    frame = _header_checked(spec, frame, findings)
    raw = {name: _normalise(frame[name], _kind_of(spec, name)) for name in frame.columns}
    raw = _drop_blank_rows(raw, len(frame))
    n_rows = len(next(iter(raw.values()))) if raw else 0
    columns = {}
    for column in spec.columns:
        if column.name in raw:
            columns[column.name] = _check_column(spec.name, column, raw[column.name], findings)
    return _Checked(spec, columns, raw, n_rows)


def _header_checked(spec: TableSpec, frame: pd.DataFrame, findings: _Findings) -> pd.DataFrame:
    """Report missing columns, warn about extra ones, and return the frame with unique names."""
    names = [str(c).strip().lower() for c in frame.columns]
    frame = frame.set_axis(names, axis=1)
    if len(set(names)) != len(names):
        for name in sorted({n for n in names if names.count(n) > 1}):
            findings.add(spec.name, MSG_DUPLICATE_COLUMN, column=name)
        frame = frame.loc[:, ~frame.columns.duplicated()]
    for name in spec.column_names:
        if name not in frame.columns:
            findings.add(spec.name, MSG_MISSING_COLUMN, column=name)
    extra = [n for n in frame.columns if n not in spec.column_names]
    if extra:
        findings.warnings.append(
            f"{spec.name}: ignored {len(extra)} column(s) not in the data contract: {', '.join(extra)}")
    return frame.reset_index(drop=True)


def _kind_of(spec: TableSpec, name: str) -> str:
    return spec.column(name).kind if name in spec.column_names else "text"


def _drop_blank_rows(raw: dict[str, pd.Series], n_rows: int) -> dict[str, pd.Series]:
    """Drop rows with no value in any column (spreadsheets keep formatted empty rows).

    Rows are renumbered, but only trailing blank rows are dropped, so the row numbers
    of problems still match the file.
    """
    if not raw or n_rows == 0:
        return raw
    has_value = np.zeros(n_rows, dtype=bool)
    for series in raw.values():
        has_value |= series.notna().to_numpy()
    last = int(np.flatnonzero(has_value)[-1]) + 1 if has_value.any() else 0
    if last == n_rows:
        return raw
    return {name: series.iloc[:last].reset_index(drop=True) for name, series in raw.items()}


# Cell normalisation -------------------------------------------------------------------


def _is_text_dtype(dtype: object) -> bool:
    return isinstance(dtype, pd.StringDtype)


def _is_number_dtype(dtype: object) -> bool:
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not isinstance(dtype, pd.CategoricalDtype))


def _normalise(values: pd.Series, kind: str) -> pd.Series:
    """Return trimmed text with blanks as NaN, or a typed column whose type fits ``kind``.

    Typed columns (from Parquet or memory) are kept when their type fits the kind:
    booleans for yes/no, numbers for numbers, datetimes for dates. Anything else is
    turned into the text a CSV would hold, and checked as text.
    """
    values = values.reset_index(drop=True)
    dtype = values.dtype
    if kind == "yesno" and pd.api.types.is_bool_dtype(dtype):
        return values.astype("boolean")
    if kind in ("int", "number") and _is_number_dtype(dtype):
        return values.astype("float64")
    if kind == "date" and pd.api.types.is_datetime64_any_dtype(dtype):
        return values.dt.tz_localize(None) if getattr(dtype, "tz", None) is not None else values
    if isinstance(dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(dtype.categories.dtype):
        trimmed = _normalise_categorical(values)
        return trimmed if kind in ("id", "text", "code", "yesno") else _as_text(trimmed)
    if dtype == object:
        text = pd.Series([_cell_text(cell) for cell in values], dtype="str")
    elif _is_text_dtype(dtype):
        text = values.astype(TEXT_DTYPE)
    else:
        text = format_csv_column(values).astype("str")
    text = text.str.strip()
    return text.mask(text == "")


def _normalise_categorical(values: pd.Series) -> pd.Series:
    """Trim the categories of coded text; a category that trims to nothing is blank."""
    categories = pd.Series(values.cat.categories.astype(str), dtype="str")
    stripped = categories.str.strip()
    if (stripped == categories).all() and not (stripped == "").any():
        return values  # the usual case: nothing to trim, so no pass over the rows
    positions, distinct = pd.factorize(stripped.mask(stripped == ""), use_na_sentinel=True)
    codes = np.append(positions, -1)[values.cat.codes.to_numpy()]
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(distinct, dtype="str")))


def _cell_text(cell: object) -> str | None:
    """Return the text of one workbook or in-memory cell (``None`` when blank)."""
    if cell is None or cell is pd.NA or cell is pd.NaT or (isinstance(cell, float) and np.isnan(cell)):
        return None
    if isinstance(cell, (bool, np.bool_)):
        return "yes" if cell else "no"
    if isinstance(cell, (dt.datetime, pd.Timestamp)):
        # A real Excel date cell: a date when it has no time of day, else refused later.
        return cell.date().isoformat() if cell.time() == dt.time(0) else cell.isoformat(sep=" ")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, (float, np.floating)):
        text = repr(float(cell))
        return text[:-2] if text.endswith(".0") else text
    return str(cell)


# Column checks ------------------------------------------------------------------------


def _check_column(table: str, column: ColumnSpec, raw: pd.Series, findings: _Findings) -> pd.Series:
    """Return the typed column; report bad and required-but-blank cells."""
    blank = raw.isna().to_numpy()
    if column.required:
        findings.add_cells(table, column.name, blank, raw, f"blank, but required: expected {column.allowed}")
    parse = _PARSERS[column.kind]
    typed, issues = parse(raw, column, table)
    for mask, message in issues:
        _add_bad_cells(table, column, mask & ~blank, raw, message, findings)
    return typed


def _add_bad_cells(table: str, column: ColumnSpec, bad: np.ndarray, raw: pd.Series, message: str,
                   findings: _Findings) -> None:
    """Report bad cells, with a more precise message for placeholders (``N/A``) and the like.

    Only the bad cells are looked at (one look-up per distinct bad value), so a valid column
    costs nothing here.
    """
    positions = np.flatnonzero(bad)
    if positions.size == 0:
        return
    texts = raw.iloc[positions].astype(str).str.strip().str.lower()
    which, distinct = pd.factorize(texts)
    messages = pd.Index([_precise_message(str(text), column, message) for text in distinct])
    codes, kinds = pd.factorize(messages[which])
    for code, kind in enumerate(kinds):
        mask = np.zeros(len(raw), dtype=bool)
        mask[positions[codes == code]] = True
        findings.add_cells(table, column.name, mask, raw, str(kind))


def _precise_message(text: str, column: ColumnSpec, message: str) -> str:
    """The message for one bad value (lower case, trimmed): a hint for common slips, else ``message``."""
    if text in EXCEL_ERRORS:
        return f"{MSG_EXCEL_ERROR} {column.allowed}"
    if text in PLACEHOLDERS:
        return f"{MSG_PLACEHOLDER} {column.allowed}"
    if column.kind in ("int", "number") and message.startswith("not a number") and "," in text:
        return f"{MSG_NUMBER_SEPARATOR} {column.allowed}"
    if column.kind == "date" and message == MSG_NOT_ISO and re.fullmatch(r"\d{4,5}(\.0)?", text):
        return MSG_DATE_SERIAL
    return message


Issues = list[tuple[np.ndarray, str]]


def _parse_id(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    typed = _as_text(raw)
    if table != "patients":
        return typed, []  # event-table IDs are checked against patients instead
    valid = typed.str.fullmatch(PATIENT_ID_PATTERN).fillna(False).to_numpy(dtype=bool)
    message = f"not a valid patient ID: expected {column.allowed} (pseudonymous; no names or spaces)"
    return typed, [(~valid, message)]


def _parse_text(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    typed = _as_text(raw)
    if (table, column.name) in LOWER_CASE_TEXT:
        typed = typed.str.lower()
    return typed, []


def _as_text(raw: pd.Series) -> pd.Series:
    """Return ``raw`` as the typed frames' text dtype (fast for dictionary-encoded text)."""
    if not isinstance(raw.dtype, pd.CategoricalDtype):
        return raw.astype(TEXT_DTYPE)
    import pyarrow as pa

    codes = raw.cat.codes.to_numpy()
    indices = pa.array(codes, mask=codes < 0)
    dictionary = pa.array(raw.cat.categories.astype(str), type=pa.large_string())
    text = pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.large_string())
    return pd.Series(text.to_pandas(), dtype=TEXT_DTYPE)


def _parse_code(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    typed = _as_category(raw, column.codes, dtype_for(column))
    if (table, column.name) == ("labs", "unit"):
        return typed, []  # checked against the test of each row in _check_lab_units
    word = "site code" if column.name == "site_id" else "code"
    unknown = (typed.isna() & raw.notna()).to_numpy()
    return typed, [(unknown, f"unknown {word}: expected {column.allowed}")]


def _as_category(raw: pd.Series, codes: tuple[str, ...], dtype: object) -> pd.Series:
    """Map text to the canonical codes, ignoring letter case (``MALE`` -> ``male``, ``iv`` -> ``IV``)."""
    lookup = {code.lower(): position for position, code in enumerate(codes)}
    category_codes = _map_distinct(raw, lambda text: lookup.get(text.lower(), -1))
    return pd.Series(pd.Categorical.from_codes(category_codes, dtype=dtype))


def _map_distinct(raw: pd.Series, to_code: Callable[[str], int]) -> np.ndarray:
    """Return ``to_code`` of each cell (-1 for blank), calling it once per distinct value.

    A code column of millions of rows holds a handful of distinct spellings; mapping
    those, then broadcasting by factorized position, is far faster than string ops on
    every row.
    """
    if isinstance(raw.dtype, pd.CategoricalDtype):
        positions, distinct = raw.cat.codes.to_numpy(), raw.cat.categories
    else:
        positions, distinct = pd.factorize(raw, use_na_sentinel=True)
    table = np.array([to_code(str(text)) for text in distinct] + [-1], dtype=np.int64)
    return table[positions]  # position -1 (blank) picks the trailing -1


def _parse_yesno(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    if isinstance(raw.dtype, pd.BooleanDtype):
        return raw, []
    answers = {"no": 0, "yes": 1}
    codes = _map_distinct(raw, lambda text: answers.get(text.lower(), -1))
    typed = pd.Series(pd.arrays.BooleanArray(codes == 1, codes < 0))
    bad = (codes < 0) & raw.notna().to_numpy()
    return typed, [(bad, "expected yes or no (leave the cell blank if not recorded)")]


def _parse_number(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    numbers, issues = _numbers(raw, column)
    return numbers, issues


def _parse_int(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    numbers, issues = _numbers(raw, column)
    values = numbers.to_numpy()
    fractional = np.isfinite(values) & ((np.floor(values) != values) | (np.abs(values) > LARGEST_EXACT_INTEGER))
    issues.append((fractional, f"not a whole number: expected {column.allowed}"))
    whole = np.where(fractional, np.nan, values)
    return pd.Series(whole).astype("Int64"), issues


def _numbers(raw: pd.Series, column: ColumnSpec) -> tuple[pd.Series, Issues]:
    """Parse numbers; report text that is not a number, infinities and values out of range."""
    if raw.dtype == np.float64:
        values = raw.to_numpy(copy=True)
        not_number = np.zeros(len(raw), dtype=bool)
    else:
        values = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy(copy=True)
        not_number = np.isnan(values) & raw.notna().to_numpy()
    infinite = np.isinf(values)
    out_of_range = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if column.minimum is not None:
            out_of_range |= values < column.minimum
        if column.maximum is not None:
            out_of_range |= values > column.maximum
    out_of_range &= ~infinite
    issues = [
        (not_number, f"not a number: expected {column.allowed}"),
        (infinite, f"{MSG_NOT_FINITE}: expected {column.allowed}"),
        (out_of_range, f"out of range: expected {column.allowed}"),
    ]
    values[not_number | infinite | out_of_range] = np.nan
    return pd.Series(values, dtype="float64"), issues


def _parse_date(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        seconds = raw.to_numpy(dtype=DATE_DTYPE, copy=True)
        has_time = ~np.isnat(seconds) & (seconds.view(np.int64) % SECONDS_PER_DAY != 0)
        seconds[has_time] = np.datetime64("NaT")
        typed, implausible = _plausible(pd.Series(seconds, dtype=dtype_for(column)))
        return typed, [(has_time, MSG_TIME_OF_DAY), (implausible, MSG_DATE_RANGE)]
    iso_shape = raw.str.fullmatch(ISO_DATE_SHAPE).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(raw.where(iso_shape), format="%Y-%m-%d", errors="coerce")
    impossible = iso_shape & parsed.isna().to_numpy()
    typed, implausible = _plausible(parsed.astype(dtype_for(column)))
    issues = [(~iso_shape, MSG_NOT_ISO), (impossible, MSG_IMPOSSIBLE_DATE), (implausible, MSG_DATE_RANGE)]
    return typed, issues


def _plausible(dates: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Blank out dates outside :data:`FIRST_DATE`..:data:`LAST_DATE`; return them and where they were."""
    seconds = dates.to_numpy(dtype=DATE_DTYPE)
    outside = ~np.isnat(seconds) & ((seconds < FIRST_DATE) | (seconds > LAST_DATE))
    if not outside.any():
        return dates, outside
    return dates.mask(outside), outside


_PARSERS = {
    "id": _parse_id,
    "text": _parse_text,
    "code": _parse_code,
    "yesno": _parse_yesno,
    "int": _parse_int,
    "number": _parse_number,
    "date": _parse_date,
}


# Table and cross-table checks ---------------------------------------------------------


def _check_keys(table: _Checked, findings: _Findings) -> None:
    """Report every row whose key (e.g. patient_id, or patient_id + line) repeats."""
    key = table.spec.key
    if not key or any(name not in table.columns for name in key):
        return
    keys = pd.DataFrame({name: table.columns[name] for name in key})
    complete = keys.notna().all(axis=1).to_numpy()
    repeated = keys.duplicated(keep=False).to_numpy() & complete
    if not repeated.any():
        return
    shown = _key_text(keys, key)
    if key == ("patient_id",):
        message = "duplicate patient_id: each patient must have exactly one row"
    else:
        message = f"duplicate ({', '.join(key)}): each combination must appear in one row only"
    findings.add_cells(table.spec.name, ", ".join(key), repeated, shown, message)


def _key_text(keys: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    if len(key) == 1:
        return keys[key[0]].astype(object)
    parts = [keys[name].astype(str) for name in key]
    return parts[0].str.cat(parts[1:], sep=", ").astype(object)


def _valid_patient_ids(patients: _Checked | None) -> pd.Series | None:
    """Return the patient IDs every event row must refer to, or None when unknown."""
    if patients is None or "patient_id" not in patients.columns:
        return None
    return patients.columns["patient_id"].dropna()


def _check_patients_exist(table: _Checked, patient_ids: pd.Series | None, findings: _Findings) -> None:
    if "patient_id" not in table.columns:
        return
    ids = table.columns["patient_id"]
    name = table.spec.name
    if patient_ids is None:
        # Without a patients table, at least check the IDs' form.
        typed, issues = _parse_id(table.raw["patient_id"], table.spec.column("patient_id"), "patients")
        for mask, message in issues:
            findings.add_cells(name, "patient_id", mask & ids.notna().to_numpy(), ids, message)
        return
    raw_ids = table.raw["patient_id"]
    if isinstance(raw_ids.dtype, pd.CategoricalDtype):
        known = np.append(_isin_text(pd.Series(raw_ids.cat.categories, dtype="str"), patient_ids), True)
        missing = ~known[raw_ids.cat.codes.to_numpy()]
    else:
        missing = ids.notna().to_numpy() & ~_isin_text(ids, patient_ids)
    findings.add_cells(name, "patient_id", missing, ids, MSG_NO_SUCH_PATIENT)


def _isin_text(values: pd.Series, allowed: pd.Series) -> np.ndarray:
    """Vectorised membership test of text values (pandas' str ``isin`` boxes each allowed value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.is_in(pa.array(values, type=pa.large_string(), from_pandas=True),
                     value_set=pa.array(allowed, type=pa.large_string(), from_pandas=True))
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _check_lab_units(labs: _Checked, findings: _Findings) -> None:
    """Check each unit against the units of its row's test (schema.UNIT_FACTORS)."""
    if "unit" not in labs.columns or "test" not in labs.columns:
        return
    raw_unit = labs.raw["unit"]
    test_codes = labs.columns["test"].cat.codes.to_numpy()
    unit_codes = labs.columns["unit"].cat.codes.to_numpy()
    tests = list(labs.columns["test"].cat.categories)
    units = list(labs.columns["unit"].cat.categories)
    # fits[test, unit]; the extra last row and column stand for code -1 (blank or unknown).
    fits = np.zeros((len(tests) + 1, len(units) + 1), dtype=bool)
    for test, allowed in UNIT_FACTORS.items():
        for unit in allowed:
            fits[tests.index(test), units.index(unit)] = True
    given = raw_unit.notna().to_numpy()
    wrong = given & ~fits[test_codes, unit_codes]
    unknown_test = test_codes < 0
    findings.add_cells("labs", "unit", wrong & unknown_test & (unit_codes < 0), raw_unit,
                       f"unknown unit: expected one of {', '.join(UNITS)}")
    for position, test in enumerate(tests):
        message = f"unit not allowed for test {test}: use {' or '.join(UNIT_FACTORS[test])}"
        findings.add_cells("labs", "unit", wrong & (test_codes == position), raw_unit, message)
    labs.columns["unit"] = labs.columns["unit"].mask(wrong & ~unknown_test)


def _check_date_order(table: _Checked, earlier: str, later: str, column: str, message: str,
                      findings: _Findings) -> None:
    """Report rows whose ``later`` date comes before their ``earlier`` date (blank dates pass)."""
    if earlier not in table.columns or later not in table.columns:
        return
    first = table.columns[earlier].to_numpy(dtype=DATE_DTYPE)
    second = table.columns[later].to_numpy(dtype=DATE_DTYPE)
    wrong = second < first  # NaT compares False
    findings.add_cells(table.spec.name, column, wrong, table.raw[column], message)


def _check_uln(labs: _Checked, findings: _Findings) -> None:
    if "uln" not in labs.columns or "test" not in labs.columns:
        return
    needs = labs.columns["test"].isin(list(TESTS_NEEDING_ULN)).to_numpy()
    blank = labs.raw["uln"].isna().to_numpy()
    findings.add_cells("labs", "uln", needs & blank, labs.raw["uln"], MSG_ULN_NEEDED)


def _typed_frame(table: _Checked) -> pd.DataFrame:
    spec = table.spec
    data = {c.name: table.columns[c.name].reset_index(drop=True) for c in spec.columns}
    # copy=False: no consolidation of same-dtype columns into one block (a full copy).
    frame = pd.DataFrame(data, index=pd.RangeIndex(table.n_rows), copy=False)
    return frame.astype({c.name: dtype_for(c) for c in spec.columns})


# ---------------------------------------------------------------------------------------
# The data dictionary document


def data_dictionary_markdown() -> str:
    """Return ``docs/data-dictionary.md``, generated from :mod:`.schema`.

    Returns
    -------
    str
        Markdown: one table of columns per data table, the unit table of labs, the
        lenient-vs-strict rules and the decisions the contract leaves open.
    """
    parts = [_DICTIONARY_INTRO]
    for spec in TABLES.values():
        parts.append(_table_section(spec))
    parts.append(_units_section())
    parts.append(_DICTIONARY_RULES)
    return "\n".join(parts)


_KIND_WORDS = {
    "id": "ID", "text": "text", "code": "code", "yesno": "yes/no", "int": "integer", "number": "number",
    "date": "date",
}


def _table_section(spec: TableSpec) -> str:
    need = "required" if spec.required else "optional (absent = no overrides)"
    key = f" Unique key: {', '.join(f'`{k}`' for k in spec.key)}." if spec.key else ""
    lines = [
        f"### {spec.name}",
        "",
        f"{spec.description[0].upper()}{spec.description[1:]}. Table {need}.{key}",
        "",
        "| column | type | allowed | required | meaning |",
        "|---|---|---|---|---|",
    ]
    for column in spec.columns:
        lines.append(f"| `{column.name}` | {_KIND_WORDS[column.kind]} | {_allowed_cell(spec, column)} | "
                     f"{'yes' if column.required else 'no'} | {_meaning(spec, column)} |")
    return "\n".join(lines) + "\n"


# Meanings from shared/spec/screening-data.md for columns whose schema description is empty.
_SPEC_MEANINGS: dict[tuple[str, str], str] = {
    ("patients", "sex"): "needed for the pregnancy and breastfeeding criterion",
    ("patients", "melanoma_subtype"): "primary site; uveal melanoma is excluded",
    ("patients", "braf_v600"): "BRAF V600 mutation status",
    ("patients", "organ_allograft"): "prior organ allograft (kidney allowed)",
    ("patients", "brain_metastases"): "brain metastases present",
    ("patients", "hiv_serology"): "HIV serology",
    ("patients", "syphilis_assay"): "syphilis assay",
    ("patients", "hbv_serology"): "hepatitis B serology",
    ("patients", "primary_immunodeficiency"): "primary immunodeficiency",
    ("therapies", "setting"): "setting of the line",
    ("therapies", "start_date"): "first day of the line",
    ("therapies", "stop_reason"): "why the line stopped",
    ("labs", "test"): "laboratory test",
    ("labs", "value"): "result, in `unit`",
    ("labs", "collected_date"): "date the sample was collected",
    ("toxicities", "category"): "organ category; endocrine, ocular and vitiligo do not exclude",
    ("toxicities", "ongoing"): "the toxicity is ongoing",
    ("overrides", "approved_date"): "date the waiver was approved",
    ("overrides", "reason"): "why the criterion is waived",
}


def _meaning(spec: TableSpec, column: ColumnSpec) -> str:
    return column.description or _SPEC_MEANINGS.get((spec.name, column.name), "")


def _allowed_cell(spec: TableSpec, column: ColumnSpec) -> str:
    if column.kind in ("code", "yesno"):
        if (spec.name, column.name) == ("labs", "unit"):
            return "per test (see Lab units): " + ", ".join(f"`{u}`" for u in column.codes)
        return ", ".join(f"`{code}`" for code in column.codes)
    if column.kind == "id":
        return f"matches `{PATIENT_ID_PATTERN}`"
    return column.allowed


def _units_section() -> str:
    lines = ["### Lab units", "", "Value in the canonical unit = value x factor.", "",
             "| test | unit | factor | canonical |", "|---|---|---|---|"]
    for test, units in UNIT_FACTORS.items():
        canonical = next(iter(units))
        for unit, factor in units.items():
            lines.append(f"| `{test}` | `{unit}` | {factor:.6g} | `{canonical}` |")
    return "\n".join(lines) + "\n"


_DICTIONARY_INTRO = """\
# Data dictionary

<!-- Generated by lifileucel_analysis.loading.data_dictionary_markdown() from
lifileucel_analysis/contract/schema.py; tests/test_data_dictionary.py checks that this file and
the schema agree. Edit the schema (or the text in loading.py) and regenerate:
python -c "from lifileucel_analysis.loading import data_dictionary_markdown as d; \
open('docs/data-dictionary.md','w').write(d())" -->

The screening dataset, as `lifileucel_analysis.load_dataset` reads and checks it. The
contract is `shared/spec/screening-data.md` section 1; the machine-readable version is
`lifileucel_analysis/contract/schema.py`.

## Formats

A dataset is one of:

- a folder of CSV files `patients.csv`, `therapies.csv`, `labs.csv`, `toxicities.csv` and
  optionally `overrides.csv` (UTF-8, header row, comma-separated);
- an Excel workbook (`.xlsx`) with sheets of the same names;
- a folder of Parquet files `patients.parquet`, ... (for large data).

Conventions: dates are ISO `YYYY-MM-DD`; yes/no columns hold `yes` or `no`; codes are
those listed below; **a blank cell means "not recorded" (unknown), never "no"**. A
patient with no rows in an event table (therapies, labs, toxicities) has no such events
recorded. "Required = yes" means a blank cell breaks the contract; every other blank is
allowed and read as not recorded (`NaN`, `NaT` or `<NA>` in the typed frames).

Row numbers in messages count data rows: row 1 is the first row under the header (line 2
of a spreadsheet or CSV file).

## Tables
"""

_DICTIONARY_RULES = """\
## Lenient versus strict

Lenient where a person would expect it; these are read without a message:

- spaces around any value or column name; cells holding only spaces (tabs, non-breaking
  spaces) are blank, and a blank means "not recorded" (unknown), never an error unless the
  column is required;
- letter case of codes, units, yes/no and column names (`Yes`, `MALE`, ` no `, `iv`,
  `ML/MIN`); codes are stored in the canonical spelling listed above;
- a UTF-8 byte-order mark, Windows (CRLF) or old Mac (CR) line endings, quotes around any
  value, any column order;
- whole numbers written as `2.0` in integer columns; numbers stored as text in Excel;
- real Excel date cells (without a time of day) in date columns;
- in Parquet, typed columns (`date32`/timestamp dates at midnight, booleans for yes/no,
  integer or floating numbers) as well as text columns;
- empty rows at the end of a table (spreadsheets often keep formatted empty rows).

Lenient with a warning (in `ScreeningDataset.warnings`; the data are never used):

- extra columns (for example names or record numbers): ignored, so they never reach the
  typed frames or any report;
- extra files in the folder or extra sheets in the workbook.

Strict where a guess could mislead; each is a problem, and all problems of all tables
are reported together before anything is screened:

- dates that are not `YYYY-MM-DD` (`03/02/2026` could be 3 February or 2 March), dates
  that do not exist (`2026-02-30`), datetimes with a time of day, dates outside 1900-01-01
  to 2099-12-31 (a typo in the year, `0025` or `2205`), Excel date serial numbers (`45717`);
- dates of one row that contradict each other: a birth date after consent, lymphodepletion
  before consent, a therapy `end_date` or `recurrence_date` before its `start_date`;
- unknown codes, unknown site codes, units that are not listed for the row's test
  (`mmol/L` for bilirubin), `yes`/`no` spelled otherwise (`y`, `true`, `1`);
- placeholders for a missing value (`N/A`, `NULL`, `NaN`, `-`, `unknown`, ...) and Excel
  error values (`#N/A`, `#REF!`, ...) in any coded, yes/no, number or date column: the
  message says to leave the cell blank;
- text in number columns, fractions in integer columns (`2.5`), infinities, numbers
  outside the stated range (including negative values), thousands separators (`1,500`);
- patient IDs that do not match the ID pattern (spaces, names, markup);
- a blank cell in a required column, a blank `uln` for `ast` or `alt`;
- a repeated key (`patient_id` in patients; `patient_id` + `line` in therapies;
  `patient_id` + `criterion_id` in overrides);
- an event or override row whose `patient_id` is not in patients;
- a missing required table or sheet (`overrides` is optional: absent means none); a
  missing column, including optional clinical columns (keep the column, leave it blank);
  a column name that appears twice; a patients table without rows; a header that is not
  on the first row (a title above it) or no header at all; merged cells in a workbook;
- a path that does not exist, a folder without tables, a folder holding both CSV and
  Parquet tables, an old `.xls` workbook, a CSV file that is not UTF-8 (save it as
  "CSV UTF-8"; Latin-1/Windows-1252 files are refused, never guessed), a file that is
  not what its name says (a workbook or binary data named `.csv`, a CSV named `.xlsx`),
  an empty sheet without a header row.

Why each rule is there, how the messages read and what never reaches an output (birth
dates, columns outside the contract) is in `docs/validation.md`.

## Decisions the contract leaves open

- Patient IDs are compared exactly (case-sensitive): `P1` and `p1` are two patients.
- `therapies.agents` is lower-cased on reading (the contract declares it lower case, and
  the drug dictionary is keyed by lower-case generic names), so `Nivolumab+Ipilimumab` is
  recognised. Other free-text columns (`term`, `approved_by`, `reason`) are trimmed but
  keep their letter case.
- Only *trailing* empty rows are dropped; an empty row between data rows is kept as a
  row, so that row numbers in messages always match the file (it then breaks required
  columns and is reported).
- A workbook is read with cached formula results (what Excel last computed). Excel
  `TRUE`/`FALSE` cells read as `yes`/`no`; a number cell in a text or code column reads
  as its text (`0` for stage 0); a date cell with a time of day is refused.
- A CSV row with more fields than the header is refused (an unquoted comma would shift
  every later value); a row with fewer fields has its missing trailing cells blank. A
  file separated by `;` or tabs is refused with a hint to save it comma-separated.
- Row numbers count records, not file lines: a quoted value with a line break does not
  shift the rows after it.
- Unit spellings are matched ignoring case, but no aliases are guessed (`µmol/L`,
  `mmol/L` and `x10^9/L` are refused; the message lists the units of the row's test).
- In Parquet, a timezone-aware timestamp gives the date of its wall-clock time.
- Event-table IDs are checked by their existence in patients (the form of an ID is
  checked in patients); when the patients table itself cannot be read, their form is
  checked instead.
- When a problem repeats, at most 1000 examples per table, column and message are kept;
  all are counted in the message. Above 50 problems the message lists each kind with its
  count and 3 examples (at most 30 kinds); a value longer than 80 characters is cut.
- A birth date is never repeated in a message: its letters and digits show as `#`
  (`13/07/1961` reads `##/##/####`), which keeps the layout that is wrong visible.
- Exact duplicate rows of labs or toxicities are kept (they have no key): the same result
  twice changes no outcome. Several *different* results of one test on the counting day
  are not an error either: the least favourable counts and a data-quality finding names
  them (`docs/criteria.md`, I7).
- `write_tables` (in `lifileucel_analysis.io`) writes the same frames to the same bytes
  in every format; in a folder it replaces the files of the tables it writes and removes
  stale files of other contract tables of the same format (so a stale `overrides.csv`
  can never be read with new tables).
"""
