"""Whole-column fast paths for text cells, in Arrow compute: taken only where the result is certain.

:mod:`.cell_parsing` checks a column of text with pandas (trim, blank, ``to_numeric``,
``to_datetime``), which for the 14 million lab rows of a million patients costs tens of
seconds. Most columns are plain: every number a short decimal, every date ``YYYY-MM-DD``
inside the plausible range, nothing to trim. For such a column the functions here give
the same typed values as the pandas way from Arrow kernels and a few NumPy passes over the
columns' own buffers; for any other column they answer ``None``, and the pandas way, which
words every problem, decides. So a bad cell is always reported exactly as before.

Why the answers are the same:

- **Trimming** changes a text only when its first or last byte is white space, and in
  UTF-8 every white space character starts with a byte ``<= 0x20`` (ASCII) or ``>= 0x80``
  (the lead byte of a longer one) and ends with such a byte. A column where no text starts
  or ends with such a byte is trimmed to itself; any other column is trimmed by
  ``utf8_trim_whitespace``, the kernel pandas' ``str.strip`` calls.
- **Numbers**: only columns whose texts are at most :data:`MAX_NUMBER_CHARS` characters
  of ``0-9``, ``.`` and ``-`` that Arrow reads as numbers. Such a text is a plain decimal
  of at most 16 digits: both Arrow (``fast_float``) and pandas (``precise_xstrtod``, or
  exact integers for whole numbers) give the correctly rounded double. A negative zero is
  left to pandas (it reads ``-0`` as an integer, ``+0.0``).
- **Dates**: only columns of 10-character texts that Arrow's strict ``YYYY-MM-DD`` reader
  accepts (no impossible day), all within 1900-01-01..2099-12-31; pandas' ISO shape, its
  parser and the range check would accept each of them and give the same day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FIRST_DAY", "LAST_DAY", "arrow_text", "blank_as_null", "plain_dates", "plain_numbers", "trim_text"]

MAX_NUMBER_CHARS = 16
"""Longest number text taken by the fast way (16 digits at most: exact in both parsers)."""
NUMBER_BYTES = np.zeros(256, dtype=bool)
NUMBER_BYTES[list(b"0123456789.-")] = True
FIRST_DAY = np.datetime64("1900-01-01", "D")
LAST_DAY = np.datetime64("2099-12-31", "D")
"""The plausible dates of the contract (``messages.MSG_DATE_RANGE``); ``cell_parsing`` takes its bounds from here."""
TEXT = pa.large_string()


def arrow_text(values: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow text under a pandas ``str`` column (no copy), or None for any other column."""
    if not isinstance(values.dtype, pd.StringDtype) or values.dtype.storage != "pyarrow":
        return None
    array = pa.array(values.array)
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    return array if array.type == TEXT else None


def _parts(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A large_string chunk's offsets (one per text and one more) and its bytes, as NumPy views."""
    _, offsets, data = chunk.buffers()
    positions = np.frombuffer(offsets, dtype=np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
    return positions, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


def _may_need_trim(chunk: pa.Array) -> bool:
    """Whether some text of ``chunk`` starts or ends with a byte that may belong to white space."""
    offsets, data = _parts(chunk)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    edges = np.concatenate([data[starts[filled]], data[ends[filled] - 1]])
    return bool(((edges <= 0x20) | (edges >= 0x80)).any())


def trim_text(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """``text`` with white space trimmed from both ends, as pandas' ``str.strip()`` trims it."""
    return pa.chunked_array([pc.utf8_trim_whitespace(chunk) if _may_need_trim(chunk) else chunk
                             for chunk in text.chunks], type=TEXT)


def blank_as_null(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """``text`` with empty texts made null (the bytes are shared, only the validity is new)."""
    chunks = []
    for chunk in text.chunks:
        offsets, _ = _parts(chunk)
        keep = np.diff(offsets) > 0
        if chunk.null_count:
            keep &= chunk.is_valid().to_numpy(zero_copy_only=False)
        if keep.all():
            chunks.append(chunk)
            continue
        validity = pa.py_buffer(np.packbits(keep, bitorder="little"))
        _, offsets_buffer, data = chunk.buffers()
        own_offsets = offsets_buffer.slice(chunk.offset * 8, (len(chunk) + 1) * 8)  # the validity starts at 0
        chunks.append(pa.Array.from_buffers(TEXT, len(chunk), [validity, own_offsets, data]))
    return pa.chunked_array(chunks, type=TEXT)


def plain_numbers(text: pa.ChunkedArray) -> np.ndarray | None:
    """Every text as a float64 (NaN where null), or None unless the column is plain (module docstring)."""
    for chunk in text.chunks:
        offsets, data = _parts(chunk)
        if len(chunk) and (np.diff(offsets).max() > MAX_NUMBER_CHARS
                           or not NUMBER_BYTES[data[offsets[0]:offsets[-1]]].all()):
            return None
    try:
        numbers = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = np.array(pc.fill_null(numbers, np.nan).to_numpy(), dtype=np.float64)  # a writable copy
    if (np.signbit(values) & (values == 0)).any():
        return None
    return values


def plain_dates(text: pa.ChunkedArray) -> np.ndarray | None:
    """Every text as a ``datetime64[s]`` day (NaT where null), or None unless the column is plain."""
    lengths = pc.binary_length(text)
    if len(text) - text.null_count and (pc.min(lengths).as_py() != 10 or pc.max(lengths).as_py() != 10):
        return None
    try:
        days = pc.cast(text, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = days.to_numpy()  # datetime64[D], NaT where null
    if values.dtype != np.dtype("datetime64[D]"):
        values = values.astype("datetime64[D]")
    given = ~np.isnat(values)
    if given.any() and ((values[given] < FIRST_DAY).any() or (values[given] > LAST_DAY).any()):
        return None
    return values.astype("datetime64[s]")
