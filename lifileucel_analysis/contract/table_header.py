"""A table's header row: where it is, and naming a raw table's columns after it.

Shared by the CSV, workbook and Parquet readers (:mod:`.reading`, :mod:`.workbook`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .findings import Findings
from .messages import MSG_DUPLICATE_COLUMN, counted
from .schema import TABLES

__all__ = ["HEADER_SEARCH_ROWS", "MAX_COLUMNS", "WIDEST_TABLE", "blank_cell", "header_problem", "too_many_columns",
           "with_header"]

HEADER_SEARCH_ROWS = 20
"""Rows searched for a header that is not on the first row (a title or blank lines above it)."""
WIDEST_TABLE = max(len(spec.columns) for spec in TABLES.values())
MAX_COLUMNS = max(256, 4 * WIDEST_TABLE)
"""Columns a table may have in any format (the widest has :data:`WIDEST_TABLE`; the rest is room for
notes). Checked before a file is parsed: pandas holds one object per column, so a CSV header of
5,000,000 commas (a 5 MB file) took more than 20 GB (audit 36B); a sheet's cells beyond it are refused
by :mod:`.workbook`."""


def too_many_columns(columns: str) -> str:
    """The problem of a table file wider than :data:`MAX_COLUMNS`, after its name; ``columns``: how many it has."""
    return (f"has {columns} columns: a table may have at most {MAX_COLUMNS} (the contract's widest has "
            f"{WIDEST_TABLE}); save only the table's columns, without empty ones after the last")


def blank_cell(cell: object) -> bool:
    """A cell with nothing in it (``None`` or only white space)."""
    return cell is None or (isinstance(cell, str) and not cell.strip())


def header_problem(table: str, rows: Sequence[Sequence[object]]) -> str | None:
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
                    f"delete the {position} {'line' if position == 1 else 'lines'} above them")
    names = ", ".join(TABLES[table].column_names[:3])
    return (f"no header row with the contract's column names: the first row names none of them (expected {names}, "
            "...): add the header, or rename the columns as in the data dictionary")


def _contract_names_in(table: str, row: Sequence[object]) -> int:
    """How many cells of ``row`` are column names of ``table`` (trimmed, any letter case)."""
    names = set(TABLES[table].column_names)
    return sum(1 for cell in row if isinstance(cell, str) and cell.strip().lower() in names)


def with_header(cells: pd.DataFrame, header: list[str], table: str, findings: Findings) -> pd.DataFrame:
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
        findings.warnings.append(f"{table}: ignored {counted(unnamed_with_data, 'column')} without a header name")
    frame = cells.iloc[:, keep]
    frame.columns = [names[p] for p in keep]
    return frame.reset_index(drop=True)


def _has_data(column: pd.Series) -> bool:
    text = column.dropna()
    return bool(len(text)) and bool((text.astype(str).str.strip() != "").any())
