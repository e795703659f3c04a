"""Problems and warnings gathered while a dataset is read and validated.

Every check records into one :class:`Findings`, so that the problems of every table are
reported together in one :class:`.ContractError` at the end, not one at a time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .dataset import ContractError, Problem

__all__ = ["DATASET", "MAX_PROBLEMS_PER_KIND", "Findings"]

MAX_PROBLEMS_PER_KIND = 1000
"""Problems kept as objects per (table, column, message); further ones are only counted."""
DATASET = "dataset"
"""The ``table`` of problems that concern the dataset as a whole (path, files)."""
MASKED_COLUMNS: frozenset[tuple[str, str]] = frozenset({("patients", "birth_date")})
"""Columns whose values are never repeated in a message (digits and letters shown as ``#``)."""


@dataclass
class Findings:
    """Problems and warnings gathered while reading and validating."""

    problems: list[Problem] = field(default_factory=list)
    omitted: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def add(self, table: str, message: str, column: str | None = None, value: object = None,
            row: int | None = None) -> None:
        """Record one problem."""
        self.problems.append(Problem(table, row, column, value, message))

    def add_cells(self, table: str, column: str, mask: np.ndarray, values: pd.Series, message: str) -> None:
        """Record a problem for each row where ``mask`` is true, keeping the first few."""
        positions = np.flatnonzero(mask)
        if positions.size == 0:
            return
        kept = positions[:MAX_PROBLEMS_PER_KIND]
        show = _masked if (table, column) in MASKED_COLUMNS else _plain
        for position, value in zip(kept, values.iloc[kept], strict=True):
            self.problems.append(Problem(table, int(position) + 1, column, show(value), message))
        if positions.size > kept.size:
            self.omitted[Problem(table, None, column, None, message).kind] += int(positions.size - kept.size)

    def merge(self, other: Findings) -> None:
        """Add ``other``'s problems, counts and warnings after this one's (in that order)."""
        self.problems.extend(other.problems)
        self.omitted.update(other.omitted)
        self.warnings.extend(other.warnings)

    def raise_if_any(self, source: str) -> None:
        """Raise :class:`.ContractError` when any problem was found."""
        if self.problems or self.omitted:
            raise ContractError(self.problems, source, omitted=self.omitted)


def _plain(value: object) -> object:
    """Return a cell value as a plain Python object for messages (no numpy scalars)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ") if value.time() != dt.time(0) else value.date().isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _masked(value: object) -> object:
    """Return a cell value with every letter and digit shown as ``#`` (``1960-5-1`` -> ``####-#-#``).

    The layout stays visible, so the message still says what is wrong, but the value of a
    masked column (the birth date) is never repeated in a message or a report quoting it.
    """
    plain = _plain(value)
    return re.sub(r"\w", "#", str(plain)) if plain != "" else plain

