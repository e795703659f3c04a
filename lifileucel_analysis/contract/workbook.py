"""Reading an ``.xlsx`` workbook into raw tables, with bounds a hostile file cannot pass.

A workbook is a zip archive of XML files. Before openpyxl parses any of it, the archive
is checked (:func:`archive_problem`): its declared sizes, and that no XML member declares
a document type or entities (``<!DOCTYPE``, ``<!ENTITY``): a spreadsheet never needs
them, and refusing them means no entity is ever expanded (an expansion bomb) or fetched
(an external entity), whichever XML parser openpyxl uses.

Sheets are then read cell by cell from openpyxl's streaming parser, not through its
row padding: a ``<dimension>`` that claims ``A1:XFD1048576`` costs nothing, and what is
kept is bounded by :data:`MAX_COLUMNS`, :data:`MAX_ROWS`, :data:`MAX_CELLS` and
:data:`MAX_CELL_CHARS`. Any error of the parser (truncated XML, a damaged archive) is a
problem of the dataset naming the sheet, never a traceback.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .findings import DATASET, Findings
from .messages import MSG_MERGED, MSG_NO_HEADER, ShownAsMessage, noun_for, printable
from .schema import TABLES
from .table_header import HEADER_SEARCH_ROWS, MAX_COLUMNS, WIDEST_TABLE, blank_cell, header_problem, with_header

__all__ = ["MAX_CELLS", "MAX_CELL_CHARS", "MAX_COLUMNS", "MAX_ROWS", "WORKBOOK_SUFFIXES", "read_workbook"]

WORKBOOK_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
MAX_ROWS = 1_048_576
"""Rows of a sheet: Excel's own limit."""
UNCOMPUTED_FORMULA = "="
"""What a formula cell without a computed value reads as, before its formula (``=1+0``): openpyxl reads
such a cell as empty, which would make a value the site typed as a formula "not recorded" (audit 23C);
as text it is refused in every typed column (:data:`.messages.MSG_FORMULA`)."""
MAX_CELLS = 40_000_000
"""Rows times used columns held in memory for one sheet (about 320 MB of references)."""
MAX_CELL_CHARS = 32_767
"""Characters in one cell: Excel's own limit."""
MAX_UNCOMPRESSED_BYTES = 4 << 30
"""Declared uncompressed size of the whole archive."""
MAX_MEMBERS = 10_000
XML_HEAD_BYTES = 1 << 16
"""Where an XML member's root element must start (a document type can only come before it)."""
FORBIDDEN_XML = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
ROOT_ELEMENT = re.compile(rb"<[A-Za-z_]")


class SheetLimitError(ShownAsMessage, ValueError):
    """A sheet beyond one of the bounds of this module."""


def read_workbook(path: Path, findings: Findings) -> dict[str, pd.DataFrame]:
    """Read every contract table of a workbook; problems go to ``findings`` (see the module docstring)."""
    from openpyxl import load_workbook

    if (foreign := _foreign_workbook(path)) is not None:
        findings.add(DATASET, foreign, value=str(path))
        return {}
    if (problem := archive_problem(path)) is not None:
        findings.add(DATASET, problem, value=str(path))
        return {}
    try:
        # data_only: a formula cell is read as the value Excel last computed for it.
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign file
        findings.add(DATASET, f"not a readable .xlsx workbook ({_short_error(error)})", value=str(path))
        return {}
    try:
        return _read_sheets(workbook, findings)
    finally:
        workbook.close()


def _short_error(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 200 else text[:197] + "..."


def archive_problem(path: Path) -> str | None:
    """Why a workbook's zip archive is not parsed at all (sizes, document types, entities); or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                return f"not a readable .xlsx workbook: {len(members):,} files in the archive (at most {MAX_MEMBERS:,})"
            total = sum(member.file_size for member in members)
            if total > MAX_UNCOMPRESSED_BYTES:
                return (f"not a readable .xlsx workbook: it unpacks to {total:,} bytes "
                        f"(at most {MAX_UNCOMPRESSED_BYTES:,})")
            for member in members:
                if (why := _xml_member_problem(archive, member)) is not None:
                    return f"not a readable .xlsx workbook: {member.filename[:80]!r} {why}"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
        return f"not a readable .xlsx workbook (a damaged zip archive: {_short_error(error)})"
    return None


def _xml_member_problem(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> str | None:
    if member.is_dir():
        return None
    with archive.open(member) as source:
        head = source.read(XML_HEAD_BYTES)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 XML: look at it as 8-bit text
        head = head.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return None  # not XML (an image, a binary part): openpyxl does not parse it as XML
    if FORBIDDEN_XML.search(head):
        return ("declares an XML document type or entities (<!DOCTYPE / <!ENTITY>); a spreadsheet never "
                "needs them and they are not expanded: save the workbook again from Excel")
    if ROOT_ELEMENT.search(head) is None and len(head) == XML_HEAD_BYTES:
        return f"has no XML element in its first {XML_HEAD_BYTES:,} bytes"
    return None


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
            ignored.append(printable(sheet.title))
        elif name in sheets:
            findings.add(name, f"two sheets for this table ({sheets[name].title!r}, {sheet.title!r}): keep one")
        else:
            sheets[name] = sheet
    if ignored:
        findings.warnings.append(f"ignored {noun_for(len(ignored), 'sheet')} not in the data contract: "
                                 f"{', '.join(ignored)}")
    raw = {}
    for spec in TABLES.values():
        if spec.name not in sheets:
            if spec.required:
                # A near miss ('Labs1', 'Lab results') is the usual cause: name the sheets that were not used.
                unused = ", ".join(repr(name) for name in ignored)
                others = f" (sheets not in the contract: {unused})" if ignored else ""
                findings.add(spec.name, f"missing sheet: the workbook needs a sheet named {spec.name!r}{others}")
            continue
        frame = _read_sheet(sheets[spec.name], spec.name, findings)
        if frame is not None:
            raw[spec.name] = frame
    return raw


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
        column = str(name).strip().lower() if not blank_cell(name) else None
        row = int(first_row) - 1
        findings.add(table, MSG_MERGED, column=column, value=f"{first_column}{first_row}:{last_column}{last_row}",
                     row=row if row > 0 else None)


def _read_sheet(sheet: object, table: str, findings: Findings) -> pd.DataFrame | None:
    try:
        columns = _bounded_columns(sheet)
    except SheetLimitError as error:
        findings.add(table, f"sheet {_sheet_name(sheet)}: {error}")
        return None
    except Exception as error:  # the XML parser's errors: truncated or damaged sheet XML
        findings.add(table, f"sheet {_sheet_name(sheet)} cannot be read ({_short_error(error)}): "
                            "the workbook is damaged; save it again from Excel")
        return None
    height = len(columns[0]) if columns else 0
    first = [[column[r] for column in columns] for r in range(min(height, HEADER_SEARCH_ROWS))]
    if all(blank_cell(cell) for row in first for cell in row):
        findings.add(table, f"sheet {MSG_NO_HEADER}")
        return None
    if (problem := header_problem(table, first)) is not None:
        findings.add(table, f"sheet {table!r}: {problem}")
        return None
    header = first[0]
    _check_merged_cells(sheet, table, header, findings)
    cells = pd.DataFrame({i: pd.Series(column[1:], dtype=object) for i, column in enumerate(columns)}, copy=False)
    return with_header(cells, header, table, findings)


def _sheet_name(sheet: object) -> str:
    return repr(str(sheet.title)[:40])  # type: ignore[attr-defined]


def _bounded_columns(sheet: object) -> list[list[object]]:
    """The sheet's cells as columns from A and rows from 1, up to the last cell with a value.

    Read from openpyxl's streaming sheet parser, so neither the ``<dimension>`` nor the
    row numbers of the XML make anything bigger than the cells that hold values.

    Raises
    ------
    SheetLimitError
        A value beyond :data:`MAX_COLUMNS` or :data:`MAX_ROWS`, a cell longer than
        :data:`MAX_CELL_CHARS`, or a used area beyond :data:`MAX_CELLS`.
    """
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class Parser(WorkSheetParser):  # type: ignore[misc]
        def parse_cell(self, element: object) -> dict[str, object]:
            cell = super().parse_cell(element)
            formula = element.find(FORMULA_TAG)  # type: ignore[attr-defined]
            if cell["value"] is None and formula is not None:  # a formula Excel never computed (a script wrote it)
                cell["value"] = UNCOMPUTED_FORMULA + (formula.text or "(shared formula)")
            return cell

    book = sheet.parent  # type: ignore[attr-defined]
    columns: list[list[object]] = []  # grown as values come, so memory follows the values
    last_row = last_column = 0
    with sheet._get_source() as source:  # type: ignore[attr-defined]
        parser = Parser(source, sheet._shared_strings, data_only=book.data_only,  # type: ignore[attr-defined]
                                 epoch=book.epoch, date_formats=book._date_formats,
                                 timedelta_formats=book._timedelta_formats)
        for row, cells in parser.parse():
            for cell in cells:
                value, column = cell["value"], cell["column"]
                if blank_cell(value):
                    continue  # a formatted but empty cell, however far away, adds nothing
                where = f"cell {get_column_letter(min(column, 16384))}{row}"
                if column > MAX_COLUMNS:
                    raise SheetLimitError(f"{where} holds a value beyond column {get_column_letter(MAX_COLUMNS)} "
                                          f"(a table has at most {WIDEST_TABLE} columns): delete it")
                if row > MAX_ROWS:
                    raise SheetLimitError(f"{where} is beyond row {MAX_ROWS:,}, Excel's last row")
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    raise SheetLimitError(f"{where} holds {len(value):,} characters (at most {MAX_CELL_CHARS:,})")
                last_row, last_column = max(last_row, row), max(last_column, column)
                if last_row * last_column > MAX_CELLS:
                    raise SheetLimitError(f"{where} makes the sheet {last_row:,} rows by {last_column:,} columns, "
                                          f"more than {MAX_CELLS:,} cells: delete stray values far from the table")
                _put(columns, row, column, value)
    for values in columns:
        values.extend([None] * (last_row - len(values)))
    return columns


def _put(columns: list[list[object]], row: int, column: int, value: object) -> None:
    """Set the cell at 1-based ``row``, ``column``, growing the lists up to it with blanks."""
    while len(columns) < column:
        columns.append([])
    values = columns[column - 1]
    if len(values) < row:
        values.extend([None] * (row - 1 - len(values)))
        values.append(value)
    else:  # rows out of order in the XML
        values[row - 1] = value
