"""Arrow's CSV reader gives the same cells as pandas' text parser, or steps aside.

:mod:`lifileucel_analysis.contract.arrow_csv` is the fast way to a CSV table's cells; the
exact way (:mod:`lifileucel_analysis.contract.reading`: decode, control-character scan,
pandas) stays the judge. These tests draw messy files (quotes, doubled quotes, line breaks
of every kind inside and outside quotes, blank lines, byte-order marks, control
characters, bytes that are not UTF-8, short and long rows) and check that whenever the
fast way answers, its cells are pandas' cells, and that it answers for plain files.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifileucel_analysis.contract import arrow_csv, reading
from lifileucel_analysis.contract.findings import Findings
from lifileucel_analysis.paths import DEMO_DATASET

PIECES = [b"a", b"Z", b"1", b"2.5", b" ", b",", b",", b'"', b'""', b"\n", b"\n", b"\r\n", b"\r", b"\t",
          "é".encode(), "€".encode(), b"\xef\xbb\xbf", b"\x01", b"\x7f", "\u0085".encode(), b"\xff", b"\xc3"]
"""Bytes a messy file is made of: cells, separators, quotes, every line end, non-ASCII text,
a byte-order mark, controls (C0, DEL, C1) and bytes that are not UTF-8."""
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def as_array(data: bytes) -> np.ndarray:
    """Bytes as the reader hands them over (a uint8 view of what was read)."""
    return np.frombuffer(data, dtype=np.uint8)


def pandas_cells(data: bytes) -> list[list[str]] | None:
    """The cells pandas reads from ``data`` (decoded as UTF-8, BOM dropped), or None when it refuses."""
    try:
        frame = pd.read_csv(io.StringIO(data.decode("utf-8-sig")), header=None, dtype=str, keep_default_na=False,
                            na_filter=False, skip_blank_lines=False)
    except Exception:  # noqa: BLE001 - any refusal: the exact way reports it
        return None
    return frame.to_numpy().tolist()


def plain_by_python(data: bytes) -> bool:
    """Valid UTF-8 without a control character, judged with Python's own decoder and ``re``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return CONTROL.search(text) is None


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=40))
def test_plain_text_is_decided_as_python_decides_it(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert arrow_csv.plain_utf8_text(as_array(data)) == plain_by_python(data)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([p for p in PIECES if plain_by_python(p)] + [b"a,b\n", b'"x,\ny",'] * 3),
                min_size=1, max_size=40))
def test_arrow_cells_are_pandas_cells_whenever_arrow_answers(pieces: list[bytes]) -> None:
    data = b"a,b,c\n" + b"".join(pieces)
    cells = arrow_csv.arrow_csv_cells(as_array(data))
    if cells is None:
        return  # stepping aside is always allowed: the exact way reads the file
    expected = pandas_cells(data)
    assert expected is not None, f"Arrow read a file pandas refuses: {data!r}"
    assert cells.to_numpy().tolist() == expected


@pytest.mark.parametrize("data", [
    b"a,b\n1,2\n", b"\xef\xbb\xbfa,b\r\n1,2\r\n", b"a,b\r1,2\r", b'a,b\n"1,5","x y z"\n',
    b'a,b\n"1\n5",2\n', b'a,b\n"ab"c,2\n', b"a,b\n1,2", b"a,b\n1,2\n\n3,4\n\n",
    b'a,b\n,\n"",""\n', b"a,b\n  1 , 2 \n", "a,b\né,€\n".encode(),
])
def test_plain_files_are_read_by_arrow_as_pandas_reads_them(data: bytes) -> None:
    assert arrow_csv.plain_utf8_text(as_array(data))
    cells = arrow_csv.arrow_csv_cells(as_array(data))
    assert cells is not None
    assert cells.to_numpy().tolist() == pandas_cells(data)
    assert all(str(dtype) == "str" for dtype in cells.dtypes)


@pytest.mark.parametrize("data", [
    b"a,b\n1\n", b"a,b\n1,2,3\n", b'a,b\n"1,2\n', b"", b'a,b\n1,"2', b'a,b\n1,"2\n3,4\n',
    b'a,b\n"x ""y"" z",2\n', b'a,b\n "ab",2\n', b'a,b\nab"c,2\n',
])
def test_files_arrow_refuses_are_left_to_the_exact_way(data: bytes) -> None:
    """Short or long rows, quotes left open (also at the very end), quotes inside values."""
    assert arrow_csv.arrow_csv_cells(as_array(data)) is None


def _raw(folder: Path, monkeypatch: pytest.MonkeyPatch, fast: bool) -> dict[str, pd.DataFrame]:
    with monkeypatch.context() as patch:
        if fast:  # pandas' parser must not be reached at all on plain files
            patch.setattr(reading.pd, "read_csv", lambda *a, **k: pytest.fail("pandas parser used"))
        else:
            patch.setattr(reading, "arrow_csv_cells", lambda data: None)
        findings = Findings()
        raw = reading.read_raw(folder, findings)
        assert not findings.problems
        return raw


def test_the_demo_folder_reads_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, exact = _raw(DEMO_DATASET, monkeypatch, True), _raw(DEMO_DATASET, monkeypatch, False)
    assert list(fast) == list(exact)
    for name, frame in fast.items():
        pd.testing.assert_frame_equal(frame, exact[name])
        assert len(frame) > 0
