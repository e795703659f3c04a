"""CSV rows rendered in Arrow are the bytes pandas writes, or the renderer steps aside.

:func:`lifileucel_analysis.contract.csv_rows.csv_body` renders whole columns in Arrow;
pandas' ``to_csv`` (through CPython's ``csv`` module) after
:func:`~lifileucel_analysis.contract.output_files.neutralise_formulas` is the judge. Texts
are drawn from the characters that make the two differ if anything does: delimiters,
quotes, line breaks, carriage returns, formula starts, blanks and missing values, non-ASCII.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifileucel_analysis.contract.chunked_output import write_csv_chunks
from lifileucel_analysis.contract.csv_rows import csv_body, csv_header
from lifileucel_analysis.contract.output_files import neutralise_formulas

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

TRICKY = st.sampled_from([",", '"', "\n", "\r", "\r\n", "=", "+", "-", "@", "\t", " ", "'", "a", "Z", "1", "é", "—", ";"])
TEXTS = st.one_of(st.none(), st.lists(TRICKY, max_size=5).map("".join), st.text(max_size=6))


def pandas_csv(frame: pd.DataFrame, neutralise: bool = True) -> bytes:
    """What pandas writes (the renderer's judge)."""
    shown = neutralise_formulas(frame) if neutralise else frame
    return shown.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d").encode("utf-8")


def arrow_csv(frame: pd.DataFrame, neutralise: bool = True) -> bytes | None:
    body = csv_body(frame, neutralise)
    return None if body is None else csv_header(frame).encode("utf-8") + b"".join(bytes(buffer) for buffer in body)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    """A frame of every column type the renderer takes, rows with blanks and tricky texts."""
    rows = draw(st.integers(0, 12))
    texts = draw(st.lists(TEXTS, min_size=rows, max_size=rows))
    labels = draw(st.lists(TEXTS.filter(lambda t: t is not None), min_size=1, max_size=4, unique=True))
    codes = draw(st.lists(st.integers(-1, len(labels) - 1), min_size=rows, max_size=rows))
    numbers = draw(st.lists(st.one_of(st.none(), st.integers(-10**12, 10**12)), min_size=rows, max_size=rows))
    flags = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
    # Seconds from 1888 to 2106, times of day included (a date is written without its time, before 1970 too).
    seconds = draw(st.lists(st.one_of(st.none(), st.integers(-2_600_000_000, 4_300_000_000)), min_size=rows,
                            max_size=rows))
    dates = [None if s is None else np.datetime64("1970-01-01T00:00:00") + np.timedelta64(s, "s") for s in seconds]
    frame = pd.DataFrame({
        "text, quoted header": pd.Series(texts, dtype="str"),
        "object text": pd.Series(texts[::-1], dtype=object),
        "category": pd.Categorical.from_codes(codes, categories=labels),
        "count": pd.array(numbers, dtype="Int64"),
        "plain integer": np.array([0 if n is None else n for n in numbers], dtype=np.int64),
        "flag": np.array(flags, dtype=bool),
        "date": pd.Series(dates, dtype="datetime64[s]"),
    })
    return frame[draw(st.permutations(list(frame.columns)))[:draw(st.integers(2, len(frame.columns)))]]


@SETTINGS
@given(frames(), st.booleans())
def test_arrow_rows_are_the_bytes_pandas_writes(frame: pd.DataFrame, neutralise: bool) -> None:
    assert arrow_csv(frame, neutralise) == pandas_csv(frame, neutralise)


def test_blank_cells_quotes_line_breaks_and_formulas_by_hand() -> None:
    # An independent statement of the expected bytes, not only pandas': a formula start gets
    # a leading quote, a delimiter, quote or line feed is quoted with inner quotes doubled,
    # a missing value and an empty text are both blank; categories are never neutralised.
    frame = pd.DataFrame({"a": pd.Series(["=1+2", 'say "hi"', "x,y", "two\nlines", "", None], dtype="str"),
                          "b": pd.Categorical(["=x", "u", "u", None, "u", "u"]),
                          "c": pd.array([1, None, -3, 4, 5, 6], dtype="Int64")})
    assert arrow_csv(frame) == ('a,b,c\n'
                                "'=1+2,=x,1\n"
                                '"say ""hi""",u,\n'
                                '"x,y",u,-3\n'
                                '"two\nlines",,4\n'
                                ",u,5\n"
                                ",u,6\n").encode("utf-8")


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"only": ["", "x"]}),  # one column: the csv module writes an empty cell as ""
    pd.DataFrame({"a": [1.5, 2.0], "b": ["x", "y"]}),  # floats: pandas' repr, not rendered here
    pd.DataFrame({"a": [dt.date(2020, 1, 2), None], "b": ["x", "y"]}),  # an object column of dates
    pd.DataFrame({"a": pd.Categorical([1, 2]), "b": ["x", "y"]}),  # categories that are not text
    pd.DataFrame({"a": pd.Series(["0999-01-01", "2020-01-01"]).astype("datetime64[s]"), "b": ["x", "y"]}),
    pd.DataFrame([[1, 2]], columns=["a", "a"]),  # repeated column names
], ids=["one column", "floats", "object dates", "numeric categories", "three-digit year", "repeated names"])
def test_steps_aside_where_pandas_renders_otherwise(frame: pd.DataFrame) -> None:
    assert csv_body(frame) is None


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"only": ["", "x"]}),
    pd.DataFrame({"a": [1.5, 2.0], "b": ["=x", "y"]}),
    pd.DataFrame({"a": [dt.date(2020, 1, 2), None], "b": ["x", "y"]}),
], ids=["one column", "floats", "object dates"])
def test_writer_falls_back_to_pandas_with_the_same_bytes(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "out.csv"
    write_csv_chunks([frame.iloc[:1], frame.iloc[1:]], path)
    assert path.read_bytes() == pandas_csv(frame)


@SETTINGS
@given(frames(), st.integers(0, 12))
def test_chunked_file_is_the_bytes_of_the_whole_frame(frame: pd.DataFrame, cut: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        write_csv_chunks([frame.iloc[:cut], frame.iloc[cut:]], path)
        assert path.read_bytes() == pandas_csv(frame)


def test_rows_of_a_sliced_multi_chunk_column() -> None:
    # Arrow arrays with an offset and several chunks: the bytes are taken from each chunk's own span.
    texts = pa.chunked_array([pa.array(["x", "a,b", "c"]).slice(1), pa.array(['"q"', None])])
    frame = pd.DataFrame({"t": pd.Series(pd.arrays.ArrowStringArray(texts)), "n": [1, 2, 3, 4]})
    assert arrow_csv(frame) == pandas_csv(frame)
