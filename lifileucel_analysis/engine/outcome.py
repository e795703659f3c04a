"""Criterion outcomes and their combination rules, as literal truth tables.

An :class:`Outcome` is one of five states. Combining parts of a criterion follows the
tables below, read row (left operand) by column (right operand); the vectorized engine
applies the very same tables to whole arrays of outcome codes by NumPy indexing.

An outcome is deliberately not a truth value: ``if outcome:`` raises ``TypeError``,
because "unknown" must never silently become ``False``.

The 19 criteria combine their parts with :data:`ALL_OF` only; :data:`ANY_OF` (and
:func:`any_of`, :func:`any_of_codes`) complete the algebra for an analyst writing a
what-if rule in a notebook ("either of two labs suffices"), and the truth-table tests keep
both tables honest.
"""

from __future__ import annotations

from enum import Enum
from functools import reduce

import numpy as np
import pandas as pd


class Outcome(Enum):
    """One patient's outcome for one criterion (or one part of a criterion)."""

    PASS = 0
    FAIL = 1
    UNKNOWN = 2
    NOT_APPLICABLE = 3
    WAIVED = 4

    def __bool__(self) -> bool:
        raise TypeError(
            f"Outcome.{self.name} is not a truth value: compare it with Outcome.PASS / Outcome.FAIL, "
            "or combine outcomes with all_of() / any_of()"
        )

    @property
    def label(self) -> str:
        """The lower-case label used in tables and files (``not_applicable``)."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Outcome:
        """Return the outcome named ``label`` (``"pass"``, ``"not_applicable"``, ...)."""
        return cls[label.upper()]


P, F, U, N, W = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE, Outcome.WAIVED
LABELS: tuple[str, ...] = tuple(o.label for o in Outcome)

# all-of: any fail fails; else any unknown is unknown; else any pass (or waiver) passes;
# only all-not-applicable stays not applicable. A waived part counts as passed.
ALL_OF: dict[tuple[Outcome, Outcome], Outcome] = {
    (P, P): P, (P, F): F, (P, U): U, (P, N): P, (P, W): P,
    (F, P): F, (F, F): F, (F, U): F, (F, N): F, (F, W): F,
    (U, P): U, (U, F): F, (U, U): U, (U, N): U, (U, W): U,
    (N, P): P, (N, F): F, (N, U): U, (N, N): N, (N, W): W,
    (W, P): P, (W, F): F, (W, U): U, (W, N): W, (W, W): W,
}  # fmt: skip

# any-of: any pass (or waiver) passes; else any unknown is unknown; else any fail fails;
# only all-not-applicable stays not applicable.
ANY_OF: dict[tuple[Outcome, Outcome], Outcome] = {
    (P, P): P, (P, F): P, (P, U): P, (P, N): P, (P, W): P,
    (F, P): P, (F, F): F, (F, U): U, (F, N): F, (F, W): W,
    (U, P): P, (U, F): U, (U, U): U, (U, N): U, (U, W): W,
    (N, P): P, (N, F): F, (N, U): U, (N, N): N, (N, W): W,
    (W, P): P, (W, F): W, (W, U): W, (W, N): W, (W, W): W,
}  # fmt: skip


def _as_array(table: dict[tuple[Outcome, Outcome], Outcome]) -> np.ndarray:
    grid = np.empty((len(Outcome), len(Outcome)), dtype=np.uint8)
    for (left, right), result in table.items():
        grid[left.value, right.value] = result.value
    return grid


ALL_OF_CODES = _as_array(ALL_OF)
ANY_OF_CODES = _as_array(ANY_OF)
CODE = {o: np.uint8(o.value) for o in Outcome}


def all_of(*outcomes: Outcome) -> Outcome:
    """Combine outcomes that must all hold (the ``ALL_OF`` table, folded left)."""
    return reduce(lambda a, b: ALL_OF[(a, b)], outcomes)


def any_of(*outcomes: Outcome) -> Outcome:
    """Combine outcomes of which one suffices (the ``ANY_OF`` table, folded left)."""
    return reduce(lambda a, b: ANY_OF[(a, b)], outcomes)


def all_of_codes(*codes: np.ndarray) -> np.ndarray:
    """Vectorized :func:`all_of` over equally long arrays of outcome codes."""
    return reduce(lambda a, b: ALL_OF_CODES[a, b], codes)


def any_of_codes(*codes: np.ndarray) -> np.ndarray:
    """Vectorized :func:`any_of` over equally long arrays of outcome codes."""
    return reduce(lambda a, b: ANY_OF_CODES[a, b], codes)


OUTCOME_DTYPE = pd.CategoricalDtype(list(LABELS))


def codes_to_labels(codes: np.ndarray) -> pd.Categorical:
    """Turn an array of outcome codes into a categorical of outcome labels."""
    return pd.Categorical.from_codes(codes.astype(np.int8), dtype=OUTCOME_DTYPE)
