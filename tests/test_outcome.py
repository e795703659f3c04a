"""The outcome truth tables, exhaustively, against grids typed in by hand.

The expected grids below are written from the rules in ``lifileucel_analysis/engine/outcome.py``'s
docstrings and ``docs/criteria.md`` ("any fail fails; else any unknown is unknown; else any
pass or waiver passes; only all-not-applicable stays not applicable"), not copied from the
module's dictionaries. Read a grid row (left operand) by column (right operand).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lifileucel_analysis.engine.outcome import (
    ALL_OF,
    ANY_OF,
    CODE,
    LABELS,
    Outcome,
    all_of,
    all_of_codes,
    any_of,
    any_of_codes,
    codes_to_labels,
)

P, F, U, N, W = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE, Outcome.WAIVED
STATES = (P, F, U, N, W)
LETTER = {"P": P, "F": F, "U": U, "N": N, "W": W}

ALL_OF_GRID = """
      P F U N W
  P   P F U P P
  F   F F F F F
  U   U F U U U
  N   P F U N W
  W   P F U W W
"""

ANY_OF_GRID = """
      P F U N W
  P   P P P P P
  F   P F U F W
  U   P U U U W
  N   P F U N W
  W   P W W W W
"""


def parse_grid(text: str) -> dict[tuple[Outcome, Outcome], Outcome]:
    """Read a hand-typed grid into ``{(left, right): result}``."""
    header, *rows = [line.split() for line in text.strip().splitlines()]
    table = {}
    for row in rows:
        left, results = row[0], row[1:]
        for right, result in zip(header, results, strict=True):
            table[(LETTER[left], LETTER[right])] = LETTER[result]
    return table


EXPECTED_ALL_OF = parse_grid(ALL_OF_GRID)
EXPECTED_ANY_OF = parse_grid(ANY_OF_GRID)
PAIRS = list(itertools.product(STATES, repeat=2))
TRIPLES = list(itertools.product(STATES, repeat=3))


def test_grids_cover_every_pair() -> None:
    assert len(EXPECTED_ALL_OF) == len(EXPECTED_ANY_OF) == 25
    assert set(ALL_OF) == set(ANY_OF) == set(PAIRS)


@pytest.mark.parametrize("left, right", PAIRS, ids=lambda o: o.label)
def test_all_of_every_pair(left: Outcome, right: Outcome) -> None:
    assert all_of(left, right) is EXPECTED_ALL_OF[(left, right)]


@pytest.mark.parametrize("left, right", PAIRS, ids=lambda o: o.label)
def test_any_of_every_pair(left: Outcome, right: Outcome) -> None:
    assert any_of(left, right) is EXPECTED_ANY_OF[(left, right)]


def test_all_of_is_a_priority_rule() -> None:
    """all-of picks the first present of fail, unknown, pass, waived, not applicable."""
    priority = (F, U, P, W, N)
    for pair in PAIRS:
        assert all_of(*pair) is next(o for o in priority if o in pair)


def test_any_of_is_a_priority_rule() -> None:
    """any-of picks the first present of pass, waived, unknown, fail, not applicable."""
    priority = (P, W, U, F, N)
    for pair in PAIRS:
        assert any_of(*pair) is next(o for o in priority if o in pair)


@pytest.mark.parametrize("combine", [all_of, any_of])
def test_commutative(combine) -> None:
    for left, right in PAIRS:
        assert combine(left, right) is combine(right, left), (left, right)


@pytest.mark.parametrize("combine", [all_of, any_of])
def test_associative(combine) -> None:
    for a, b, c in TRIPLES:
        assert combine(combine(a, b), c) is combine(a, combine(b, c)), (a, b, c)
        assert combine(a, b, c) is combine(combine(a, b), c)


@pytest.mark.parametrize("combine", [all_of, any_of])
def test_idempotent(combine) -> None:
    for state in STATES:
        assert combine(state, state) is state


@pytest.mark.parametrize("combine", [all_of, any_of])
def test_not_applicable_is_the_identity(combine) -> None:
    for state in STATES:
        assert combine(N, state) is state
        assert combine(state, N) is state


def test_absorbing_elements() -> None:
    for state in STATES:
        assert all_of(F, state) is F
        assert any_of(P, state) is P


def test_single_operand_is_itself() -> None:
    for state in STATES:
        assert all_of(state) is state
        assert any_of(state) is state


@pytest.mark.parametrize("vectorized, scalar", [(all_of_codes, all_of), (any_of_codes, any_of)])
def test_vectorized_tables_equal_the_scalar_tables_for_every_pair(vectorized, scalar) -> None:
    left = np.array([CODE[a] for a, _ in PAIRS], dtype=np.uint8)
    right = np.array([CODE[b] for _, b in PAIRS], dtype=np.uint8)
    got = vectorized(left, right)
    assert got.shape == (25,)
    assert [Outcome(int(c)) for c in got] == [scalar(a, b) for a, b in PAIRS]


@pytest.mark.parametrize("vectorized, scalar", [(all_of_codes, all_of), (any_of_codes, any_of)])
def test_vectorized_tables_equal_the_scalar_tables_for_every_triple(vectorized, scalar) -> None:
    columns = [np.array([CODE[t[i]] for t in TRIPLES], dtype=np.uint8) for i in range(3)]
    got = vectorized(*columns)
    assert [Outcome(int(c)) for c in got] == [scalar(*t) for t in TRIPLES]


@pytest.mark.parametrize("state", STATES, ids=lambda o: o.label)
def test_an_outcome_is_not_a_truth_value(state: Outcome) -> None:
    with pytest.raises(TypeError):
        bool(state)
    with pytest.raises(TypeError):
        if state:  # noqa: SIM108 - the point is that this raises
            pass


def test_labels_round_trip() -> None:
    assert LABELS == ("pass", "fail", "unknown", "not_applicable", "waived")
    for state in STATES:
        assert Outcome.from_label(state.label) is state
    labels = codes_to_labels(np.array([CODE[s] for s in STATES], dtype=np.uint8))
    assert list(labels) == list(LABELS)
