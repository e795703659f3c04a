"""The fast way to a CSV table's cells: Arrow's multi-threaded reader, taken only when it is certain.

:mod:`.reading` reads a CSV file the exact, single-threaded way (decode, scan for control
characters, pandas' text parser) and reports every problem of the file in its own words.
That way costs about 30 s for the 14 million lab rows of a million patients. This module
gives the same cells (every cell as text, nothing trimmed, blank cells as ``""``) from
Arrow's CSV reader on both cores, but only for a file on which both ways certainly agree:

- valid UTF-8 (an all-ASCII file is; any other file is decoded piece by piece to check);
- no control character anywhere (the bytes of :data:`.reading.CONTROL_CHARACTER`: C0
  controls but tab and line ends, DEL, and the C1 controls, which UTF-8 spells
  ``\\xc2\\x80``-``\\xc2\\x9f``, ``\\xc2`` being only ever a lead byte in valid UTF-8);
- every row with the header's number of fields (Arrow refuses any other row; pandas would
  pad a short row);
- quotes only around values: an even number of them, and none inside a value. Then every
  quote opens or closes a quoted value, and none is left open at the end of the file
  (which Arrow would read to the end and pandas refuses).

For anything else :func:`arrow_csv_cells` answers ``None`` and the reader takes the exact
way, which finds and words the problem. On the files it accepts, Arrow's parser and
pandas' agree cell for cell (quotes, doubled quotes, quoted line breaks and commas,
``\\n``, ``\\r\\n`` and lone ``\\r`` line ends, a byte-order mark, blank lines as rows of
blank cells); ``tests/test_arrow_csv.py`` checks them side by side.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["arrow_csv_cells", "file_bytes", "plain_utf8_text", "text_head"]

SCAN_BYTES = 1 << 24
"""Bytes scanned at a time (bounded temporary memory whatever the file size)."""
ALLOWED_LOW_BYTES = np.array([0x09, 0x0A, 0x0D], dtype=np.uint8)
"""The only bytes below 0x20 a CSV table may hold: tab, line feed, carriage return."""
BLOCK_BYTES = 1 << 24
"""Arrow's CSV block: large blocks give few chunks per column (each later kernel call pays per chunk)."""


def file_bytes(path: Path) -> np.ndarray:
    """The file's bytes as a NumPy ``uint8`` view (no copy of what was read).

    Read, not memory-mapped: a mapped file cut short while it is read would stop the
    process with a bus error instead of a message.
    """
    return np.frombuffer(path.read_bytes(), dtype=np.uint8)


def plain_utf8_text(data: np.ndarray) -> bool:
    """Whether the bytes ``data`` are valid UTF-8 without any control character a table may not hold.

    Exactly the condition under which the exact reader neither refuses the encoding nor
    reports a control character (tab and line ends allowed). All-ASCII data, the usual
    case, is judged by NumPy passes over the bytes, a piece at a time.
    """
    ascii_only = True
    for start in range(0, len(data), SCAN_BYTES):
        chunk = data[start:start + SCAN_BYTES]
        low = chunk[chunk < 0x20]  # mostly line ends: few bytes to look at twice
        if not np.isin(low, ALLOWED_LOW_BYTES).all() or (chunk == 0x7F).any():
            return False
        ascii_only = ascii_only and not (chunk >= 0x80).any()
    if ascii_only:
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), SCAN_BYTES):
            decoder.decode(data[start:start + SCAN_BYTES].tobytes(), final=start + SCAN_BYTES >= len(data))
    except UnicodeDecodeError:
        return False
    lead = np.flatnonzero(data[:-1] == 0xC2)
    return not ((data[lead + 1] >= 0x80) & (data[lead + 1] <= 0x9F)).any()


def text_head(data: np.ndarray, characters: int = 1 << 16) -> str:
    """The first ``characters`` characters of UTF-8 ``data`` (a byte-order mark dropped).

    ``data`` must be valid UTF-8 (:func:`plain_utf8_text`): a character cut by the byte
    limit can only be the last one, beyond the characters returned.
    """
    return data[:4 * characters + 3].tobytes().decode("utf-8-sig", errors="ignore")[:characters]


def arrow_csv_cells(data: np.ndarray) -> pd.DataFrame | None:
    """Every row of a CSV file (the header included, as row 0) as text cells, or None.

    Parameters
    ----------
    data : numpy.ndarray
        The file's bytes (``uint8``, :func:`file_bytes`), already known to be plain UTF-8
        text (:func:`plain_utf8_text`).

    Returns
    -------
    pandas.DataFrame or None
        Columns ``0..n-1`` of pandas ``str`` (Arrow-backed), the cells as the file holds
        them; ``None`` when Arrow's reader refuses the file (a row with another number of
        fields than the first, an unterminated quote), so that the exact reader reports it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    quotes = sum(int(np.count_nonzero(data[start:start + SCAN_BYTES] == 0x22))
                 for start in range(0, len(data), SCAN_BYTES))
    quoted = quotes > 0
    if quotes % 2:
        return None  # perhaps a quote left open at the end, which Arrow reads and pandas refuses
    head = text_head(data)
    try:
        first = next(csv.reader(io.StringIO(head, newline="")), None)
    except csv.Error:
        return None
    if not first:
        return None
    names = [f"c{i}" for i in range(len(first))]
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),  # no copy: Arrow parses the bytes where they are
            read_options=pcsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES, use_threads=True),
            # A file without quotes cannot hold a line break in a value, and is split faster.
            parse_options=pcsv.ParseOptions(newlines_in_values=quoted, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.large_string()),
                                                strings_can_be_null=False, check_utf8=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if quoted and any(pc.any(pc.match_substring(column, '"')).as_py() for column in table.columns):
        return None  # a quote inside a value: doubled, or where the two parsers may read it differently
    columns = {i: pd.Series(pd.array(table.column(i), dtype="str"), copy=False) for i in range(len(names))}
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows), copy=False)
