"""CSV rows of a frame rendered in Arrow, column by column: the bytes pandas' ``to_csv`` writes.

The screen's CSV files (verdicts, worklists, findings, missing data) were formatted by
pandas through CPython's ``csv`` module, one cell at a time: at 10,000,000 patients that
is minutes of one core. Here every column becomes an Arrow string array at once (the
cell's text, formula-like text cells neutralised, a cell quoted only where the ``csv``
module would quote it), the columns are joined row-wise, and the rows are one buffer.

Only column types whose pandas rendering is exact and simple are rendered here: text
(``str`` and object columns of text), categories of text, integers (nullable too),
booleans and timestamps written as dates. For any other column, or a single-column frame
(whose one empty cell the ``csv`` module writes as ``""``), :func:`csv_body` returns
``None`` and the caller lets pandas write the chunk: the bytes are the same either way,
which the property tests check against pandas itself.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FORMULA_PREFIXES", "csv_body", "csv_header", "is_text_column"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Text a spreadsheet would run as a formula: such a cell is written with a leading quote."""


def _quoting_characters() -> str:
    """The characters that make the ``csv`` module quote a field, with a ``"\\n"`` line terminator.

    Asked of the running ``csv`` module rather than written down: Python 3.11 quotes a
    field holding ``"\\r"`` only when the line terminator holds it, Python 3.12 always.
    """
    probe = io.StringIO()
    csv.writer(probe, lineterminator="\n").writerow(["\r", "x"])
    return ',"\n' + ("\r" if probe.getvalue().startswith('"') else "")


QUOTING_CHARACTERS = _quoting_characters()
_FORMULA_START = "^(?:" + "|".join(re.escape(prefix) for prefix in FORMULA_PREFIXES) + ")"
_NEEDS_QUOTES = "|".join(re.escape(character) for character in QUOTING_CHARACTERS)


TEXT = pa.large_string()
"""Every column's text is of one Arrow type, so that the columns join."""


def is_text_column(dtype: object) -> bool:
    """Whether a column of this dtype holds text whose formula-like cells are neutralised (never a category's)."""
    return pd.api.types.is_string_dtype(dtype) or dtype == object


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, TEXT)


def csv_header(frame: pd.DataFrame) -> str:
    """The header line pandas writes for ``frame`` (the column names, quoted where needed)."""
    return frame.iloc[:0].to_csv(index=False, lineterminator="\n")


def csv_body(frame: pd.DataFrame, neutralise: bool = True) -> list[pa.Buffer] | None:
    """The frame's rows as CSV, one ``"\\n"``-terminated line per row, as UTF-8 buffers to write in order.

    Byte for byte what ``neutralise_formulas(frame).to_csv(index=False, header=False,
    lineterminator="\\n", date_format="%Y-%m-%d")`` writes (without ``neutralise``: of
    ``frame`` itself).

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows to write; its index is not written.
    neutralise : bool
        Prefix text cells that start like a formula with ``'`` (:data:`FORMULA_PREFIXES`),
        as :func:`..output_files.neutralise_formulas` does for text columns.

    Returns
    -------
    list of pyarrow.Buffer or None
        ``None`` when a column's type is not rendered here (the caller writes the chunk
        with pandas), or the frame has a single column or non-unique column names.
    """
    if frame.shape[1] < 2 or not frame.columns.is_unique:
        return None
    if len(frame) == 0:
        return []
    cells = []
    for name in frame.columns:
        text = _column_text(frame[name], neutralise)
        if text is None:
            return None
        cells.append(text)
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, _text(",")), _text(""), _text("\n"))
    # Every column is a ChunkedArray, so the joined lines are one too.
    return [_text_bytes(chunk) for chunk in lines.chunks if len(chunk)]


def _text_bytes(lines: pa.Array) -> pa.Buffer:
    """The characters of a string array with no nulls, back to back (its data buffer's used span)."""
    offsets = np.frombuffer(lines.buffers()[1], np.int64 if pa.types.is_large_string(lines.type) else np.int32)
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return lines.buffers()[2].slice(first, last - first)


def _column_text(values: pd.Series, neutralise: bool) -> pa.ChunkedArray | None:
    """Each cell as pandas writes it (quoted where needed, blank for a missing value), or ``None``: not rendered here."""
    dtype = values.dtype
    text_column = is_text_column(dtype)
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    array = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
    kind = array.type
    if text_column and pa.types.is_null(kind):  # an object column of missing values only
        return pc.cast(array, TEXT).fill_null("")
    if text_column:
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            return None  # an object column of numbers, dates, ...: pandas' str() of each, not done here
        text = pc.cast(array, TEXT).fill_null("")
        return _quoted(_neutralised(text) if neutralise else text)
    if isinstance(dtype, pd.CategoricalDtype):
        return _category_text(array)
    # Digits, "-", "True"/"False": nothing here is ever quoted.
    if pa.types.is_integer(kind):
        return pc.cast(array, TEXT).fill_null("")
    if pa.types.is_boolean(kind):
        return pc.if_else(array, _text("True"), _text("False")).fill_null("")
    if pa.types.is_timestamp(kind) and kind.tz is None and _four_digit_years(array):
        return pc.cast(pc.cast(pc.cast(array, pa.date32()), pa.string()), TEXT).fill_null("")
    return None


def _category_text(array: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A category column's labels (quoted where needed), each label rendered once, then taken by code."""
    if not pa.types.is_dictionary(array.type):
        return None
    labels_type = array.type.value_type
    if not (pa.types.is_string(labels_type) or pa.types.is_large_string(labels_type)):
        return None
    pieces = []
    for chunk in array.chunks:
        labels = _quoted(pa.chunked_array([pc.cast(chunk.dictionary, TEXT)])).combine_chunks()
        pieces.append(pc.take(labels, chunk.indices).fill_null(""))
    return pa.chunked_array(pieces, TEXT)


def _four_digit_years(array: pa.ChunkedArray) -> bool:
    """Whether every date is in years 1000-9999 (pandas' ``%Y`` writes other years unpadded)."""
    years = pc.year(array)
    low, high = pc.min(years).as_py(), pc.max(years).as_py()
    return low is None or (low >= 1000 and high <= 9999)


def _neutralised(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text cells that start like a formula, with a leading ``'`` (the others unchanged)."""
    risky = pc.match_substring_regex(text, _FORMULA_START)
    if not pc.any(risky).as_py():
        return text
    return pc.if_else(risky, pc.binary_join_element_wise(_text("'"), text, _text("")), text)


def _quoted(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cells with a delimiter, quote or line break in double quotes, inner quotes doubled (``csv.QUOTE_MINIMAL``)."""
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return text
    quoted = pc.binary_join_element_wise(_text('"'), pc.replace_substring(text, '"', '""'), _text('"'), _text(""))
    return pc.if_else(needs, quoted, text)
