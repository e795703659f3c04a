"""Check and type the cells of one column, by the column's kind (id, text, code, yes/no, ...).

Each column is checked with vectorised pandas operations (one pass per column, whatever
the number of rows); only the cells that break the contract are visited one by one, to
build their :class:`.Problem`. First :func:`normalise` turns whatever a file gave (text,
workbook values, Arrow types) into trimmed text or a fitting typed column; then
:func:`check_column` parses it with the parser of its kind and reports the bad cells,
with a more precise message for common slips (placeholders such as ``N/A``, Excel error
values, thousands separators, Excel date serials).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from .findings import Findings
from .messages import (
    MSG_DATE_RANGE,
    MSG_DATE_SERIAL,
    MSG_DATE_CELL_ID,
    MSG_EXCEL_ERROR,
    MSG_FORMULA,
    MSG_IMPOSSIBLE_DATE,
    MSG_NOT_FINITE,
    MSG_NOT_ISO,
    MSG_NUMBER_SEPARATOR,
    MSG_PLACEHOLDER,
    MSG_TIME_OF_DAY,
)
from .schema import DATE_DTYPE, PATIENT_ID_PATTERN, ColumnSpec, dtype_for
from .text_kernels import FIRST_DAY, LAST_DAY, arrow_text, blank_as_null, plain_dates, plain_numbers, trim_text
from .writing import format_csv_column

__all__ = ["ISO_DATE_SHAPE", "check_column", "normalise", "parse_id"]

ISO_DATE_SHAPE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # ASCII digits: Python's \d also matches full-width ones
ISO_DATE_WITH_TIME = ISO_DATE_SHAPE + r"[ t][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(z|[+-][0-9]{2}:?[0-9]{2})?"
"""A date followed by a time of day, perhaps with its zone (texts are compared in lower case: ``T`` is ``t``)."""
LARGEST_EXACT_INTEGER = 2.0**53
# 2**53 itself is refused too: 2**53 + 1 parses to the same float, so it cannot be told apart.
SECONDS_PER_DAY = 86_400
TEXT_DTYPE = pd.StringDtype(na_value=np.nan)
LOWER_CASE_TEXT: frozenset[tuple[str, str]] = frozenset({("therapies", "agents")})
"""Text columns the contract declares lower case: read case-insensitively (``Nivolumab``)."""
FIRST_DATE = FIRST_DAY.astype("datetime64[s]")  # one range for the fast and the exact way
LAST_DATE = LAST_DAY.astype("datetime64[s]")
PLACEHOLDERS: frozenset[str] = frozenset({
    "na", "n/a", "n.a.", "n.a", "nan", "null", "none", "nil", "-", "--", ".", "?", "unknown", "unk", "missing",
    "not recorded", "not done", "not available", "nd", "tbd",
})
"""Spellings of "no value" that are refused with a hint to leave the cell blank (unless a valid code)."""
DATE_CELL = "(date cell) "
"""What an Excel date cell in the patient ID column reads as, before its date: refused (:data:`MSG_DATE_CELL_ID`)."""
EXCEL_ERRORS: frozenset[str] = frozenset({
    "#n/a", "#ref!", "#value!", "#div/0!", "#name?", "#num!", "#null!", "#spill!", "#calc!", "#getting_data",
})


# Cell normalisation -------------------------------------------------------------------


def _is_text_dtype(dtype: object) -> bool:
    return isinstance(dtype, pd.StringDtype)


def _is_number_dtype(dtype: object) -> bool:
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not isinstance(dtype, pd.CategoricalDtype))


def normalise(values: pd.Series, kind: str) -> pd.Series:
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
    if (arrow := arrow_text(values)) is not None:  # CSV cells and Parquet text: trimmed in Arrow
        return pd.Series(pd.array(blank_as_null(trim_text(arrow)), dtype=TEXT_DTYPE), copy=False)
    if dtype == object:
        text = pd.Series([_cell_text(cell, kind) for cell in values], dtype="str")
    elif pd.api.types.is_bool_dtype(dtype):  # a Parquet boolean where no yes/no belongs: named as the file has it
        text = values.astype("boolean").map({True: "true", False: "false"}).astype("str")
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


def _cell_text(cell: object, kind: str) -> str | None:
    """Return the text of one workbook or in-memory cell (``None`` when blank).

    An Excel TRUE/FALSE cell is yes/no in a yes/no column; anywhere else it is the text the
    site sees in Excel ("TRUE"), so an ID typed TRUE stays the ID the event rows use.
    """
    if cell is None or cell is pd.NA or cell is pd.NaT or (isinstance(cell, float) and np.isnan(cell)):
        return None
    if isinstance(cell, (bool, np.bool_)):
        if kind == "yesno":
            return "yes" if cell else "no"
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, (dt.datetime, pd.Timestamp)):
        # A real Excel date cell: a date when it has no time of day, else refused later. In the ID
        # column it is marked, and refused: Excel made it from an ID such as 1-5 (audit 23C).
        text = cell.date().isoformat() if cell.time() == dt.time(0) else cell.isoformat(sep=" ")
        return DATE_CELL + text if kind == "id" else text
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, (float, np.floating)):
        text = repr(float(cell))
        return text[:-2] if text.endswith(".0") else text
    return str(cell)


# Column checks ------------------------------------------------------------------------


def check_column(table: str, column: ColumnSpec, raw: pd.Series, findings: Findings) -> pd.Series:
    """Return the typed column; report bad and required-but-blank cells.

    Parameters
    ----------
    table : str
        The table, for the problems' location.
    column : ColumnSpec
        What the column must hold.
    raw : pandas.Series
        Its cells after :func:`normalise`.
    findings : Findings
        Receives one problem per bad cell (at most :data:`.MAX_PROBLEMS_PER_KIND` kept
        per kind).

    Returns
    -------
    pandas.Series
        The column with the dtype of :func:`.schema.dtype_for`; bad cells are blank.
    """
    blank = raw.isna().to_numpy()
    if column.required:
        findings.add_cells(table, column.name, blank, raw, f"blank, but required: expected {column.allowed}")
    parse = _PARSERS[column.kind]
    typed, issues = parse(raw, column, table)
    for mask, message in issues:
        _add_bad_cells(table, column, mask & ~blank, raw, message, findings)
    return typed


def _add_bad_cells(table: str, column: ColumnSpec, bad: np.ndarray, raw: pd.Series, message: str,
                   findings: Findings) -> None:
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
    if text.startswith("="):
        return f"{MSG_FORMULA} {column.allowed}"
    if column.kind == "id" and text.startswith(DATE_CELL):
        return MSG_DATE_CELL_ID
    if text in PLACEHOLDERS and column.required:  # a key or structural field: blank is no way out
        return f"a placeholder, not a value: {column.name} cannot be blank; expected {column.allowed}"
    if text in PLACEHOLDERS:
        return f"{MSG_PLACEHOLDER} {column.allowed}"
    if column.kind in ("int", "number") and message.startswith("not a number") and "," in text:
        return f"{MSG_NUMBER_SEPARATOR} {column.allowed}"
    if column.kind == "date" and message == MSG_NOT_ISO and re.fullmatch(r"[0-9]{4,5}(\.0)?", text):
        return MSG_DATE_SERIAL
    # An Excel date cell with a time of day arrives as "2025-02-03 12:00:00" (audit 36B: "not an ISO
    # date" sent the coordinator to the date's layout, which was right; the time was the problem).
    if column.kind == "date" and message == MSG_NOT_ISO and re.fullmatch(ISO_DATE_WITH_TIME, text):
        return MSG_TIME_OF_DAY
    return message


Issues = list[tuple[np.ndarray, str]]


def parse_id(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    """Type patient IDs; in ``patients``, report those that do not match the ID pattern.

    Parameters
    ----------
    raw : pandas.Series
        Normalised cells (see :func:`normalise`).
    column : ColumnSpec
        The ``patient_id`` column of ``table``.
    table : str
        The table; only ``patients`` checks the form (event tables are checked against
        patients instead, in :mod:`.validation`, which also passes ``"patients"`` here to
        check the form when no patients table could be read).

    Returns
    -------
    tuple of pandas.Series and list of (numpy.ndarray, str)
        The typed IDs and, per message, the mask of the cells it concerns.
    """
    typed = _as_text(raw)
    date_cell = typed.str.startswith(DATE_CELL).fillna(False).to_numpy(dtype=bool)
    if table != "patients":  # event-table IDs are checked against patients instead
        return typed, [(date_cell, MSG_DATE_CELL_ID)] if date_cell.any() else []
    # "NA", "null", "None" fit the pattern but are what a spreadsheet writes for no value.
    placeholder = typed.str.lower().isin(PLACEHOLDERS).to_numpy(dtype=bool)
    valid = typed.str.fullmatch(PATIENT_ID_PATTERN).fillna(False).to_numpy(dtype=bool) & ~placeholder
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
        return typed, []  # checked against the test of each row in validation._check_lab_units
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
    fractional = np.isfinite(values) & ((np.floor(values) != values) | (np.abs(values) >= LARGEST_EXACT_INTEGER))
    issues.append((fractional, f"not a whole number: expected {column.allowed}"))
    whole = np.where(fractional, np.nan, values)
    return pd.Series(whole).astype("Int64"), issues


def _numbers(raw: pd.Series, column: ColumnSpec) -> tuple[pd.Series, Issues]:
    """Parse numbers; report text that is not a number, infinities and values out of range."""
    if raw.dtype == np.float64:
        values = raw.to_numpy(copy=True)
        not_number = np.zeros(len(raw), dtype=bool)
    elif (arrow := arrow_text(raw)) is not None and (plain := plain_numbers(arrow)) is not None:
        values, not_number = plain, np.zeros(len(raw), dtype=bool)  # every cell a plain decimal
    else:
        values = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy(copy=True)
        not_number = np.isnan(values) & raw.notna().to_numpy()
        _off_a_short_decimal(raw, values)
    infinite = np.isinf(values)
    out_of_range = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if column.minimum is not None:
            out_of_range |= (values <= column.minimum) if column.above_minimum else (values < column.minimum)
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


SHORT_DECIMAL_DIGITS = 15
"""Significant digits a double holds for every decimal (limits and typical values are such decimals)."""


def _significant_digits(number: Decimal) -> int:
    return len(number.normalize().as_tuple().digits)


def _off_a_short_decimal(raw: pd.Series, values: np.ndarray) -> None:
    """Move a value typed with more digits than a double holds off the short decimal it was read as.

    ``1.4999999999999999`` is read as the double of ``1.5``: it would sit on a limit of 1.5 that
    the typed decimal is below (spec: comparisons at a limit are exact in decimal terms). Where
    the double read is that of a decimal of at most 15 significant digits (what a limit is) and
    the text is another decimal, the value becomes the neighbouring double on the text's side,
    which lies between the two (the nearest double to the text is at most half a step away):
    on the typed side of that short decimal and of every other, since 15-digit decimals are
    several doubles apart. A double that is no short decimal is left as read. Only the rare cells
    with more than 15 digits are visited one by one; ``values`` is changed in place.
    """
    arrow = arrow_text(raw)
    if arrow is not None:  # whole columns in Arrow: the exact way may read millions of lab values
        digits = pc.fill_null(pc.count_substring_regex(arrow, "[0-9]"), 0).to_numpy()
        many = np.asarray(digits) > SHORT_DECIMAL_DIGITS
    else:
        many = raw.str.count(r"[0-9]").gt(SHORT_DECIMAL_DIGITS).fillna(False).to_numpy(dtype=bool)
    for row in np.flatnonzero(many & np.isfinite(values)):
        try:
            typed = Decimal(str(raw.iat[row]).strip())
        except InvalidOperation:  # a spelling pandas reads and Decimal does not: left as read
            continue
        read = Decimal(repr(float(values[row])))
        if _significant_digits(read) <= SHORT_DECIMAL_DIGITS and typed != read:
            values[row] = np.nextafter(values[row], np.inf if typed > read else -np.inf)


def _parse_date(raw: pd.Series, column: ColumnSpec, table: str) -> tuple[pd.Series, Issues]:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        seconds = raw.to_numpy(dtype=DATE_DTYPE, copy=True)
        has_time = ~np.isnat(seconds) & (seconds.view(np.int64) % SECONDS_PER_DAY != 0)
        seconds[has_time] = np.datetime64("NaT")
        typed, implausible = _plausible(pd.Series(seconds, dtype=dtype_for(column)))
        return typed, [(has_time, MSG_TIME_OF_DAY), (implausible, MSG_DATE_RANGE)]
    if (arrow := arrow_text(raw)) is not None and (days := plain_dates(arrow)) is not None:
        return pd.Series(days, dtype=dtype_for(column)), []  # every cell a plausible YYYY-MM-DD
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
    "id": parse_id,
    "text": _parse_text,
    "code": _parse_code,
    "yesno": _parse_yesno,
    "int": _parse_int,
    "number": _parse_number,
    "date": _parse_date,
}

