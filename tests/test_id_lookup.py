"""One hash look-up per run of equal IDs gives every row's answer of a look-up per row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from lifileucel_analysis.contract.id_lookup import positions_in, positions_in_each

IDS = st.sampled_from(["P1", "P2", "P3", "P10", "", "p1"]) | st.none()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(IDS, max_size=30), st.lists(IDS, max_size=8))
def test_positions_are_index_in_row_by_row(keys: list[str | None], among: list[str | None]) -> None:
    expected = pc.fill_null(pc.index_in(pa.array(keys, pa.large_string()),
                                        value_set=pa.array(among, pa.large_string())), -1).to_numpy()
    assert positions_in(pd.Series(keys, dtype="str"), pd.Series(among, dtype="str")).tolist() == expected.tolist()


def test_runs_sorted_or_not_and_categorical_keys() -> None:
    among = pd.Series(["A", "B", "C"], dtype="str")
    keys = ["B", "B", "B", "A", "Z", "Z", "C", "B", "A", "A"]
    expected = [1, 1, 1, 0, -1, -1, 2, 1, 0, 0]
    assert positions_in(pd.Series(keys, dtype="str"), among).tolist() == expected
    assert positions_in(pd.Series(keys, dtype="category"), among).tolist() == expected
    assert positions_in(pd.Series([], dtype="str"), among).dtype == np.int64


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.lists(IDS, max_size=12), max_size=4), st.lists(IDS, max_size=8))
def test_several_columns_at_once_answer_as_one_at_a_time(columns: list[list[str | None]],
                                                          among: list[str | None]) -> None:
    expected = [pc.fill_null(pc.index_in(pa.array(keys, pa.large_string()),
                                         value_set=pa.array(among, pa.large_string())), -1).to_numpy().tolist()
                for keys in columns]
    got = positions_in_each([pd.Series(keys, dtype="str") for keys in columns], pd.Series(among, dtype="str"))
    assert [g.tolist() for g in got] == expected
    assert all(g.dtype == np.int64 for g in got)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(IDS, max_size=30), st.lists(st.integers(0, 12), max_size=6), st.lists(IDS, max_size=8))
def test_keys_in_chunks_answer_as_one_array(keys: list[str | None], cuts: list[int],
                                            among: list[str | None]) -> None:
    """Keys read from files come in chunks (some empty, runs across their edges): same answers."""
    edges = sorted({0, len(keys), *(min(c, len(keys)) for c in cuts)})
    pieces = [pa.array(keys[lo:hi], pa.large_string()) for lo, hi in zip(edges[:-1], edges[1:])]
    pieces += [pa.array([], pa.large_string())] * (len(cuts) % 2)  # an empty chunk at the end too
    chunked = pa.chunked_array(pieces, type=pa.large_string())
    expected = pc.fill_null(pc.index_in(pa.array(keys, pa.large_string()),
                                        value_set=pa.array(among, pa.large_string())), -1).to_numpy()
    assert positions_in(chunked, pd.Series(among, dtype="str")).tolist() == expected.tolist()
