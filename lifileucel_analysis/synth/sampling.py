"""Vectorized draws shared by every table, and the raw blank markers.

Raw tables are dicts of NumPy arrays (one entry per column) until :mod:`.frames` types
them: codes are positions in the schema's code list, dates are day numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..contract.schema import TABLES

Raw = dict[str, object]
"""A table as NumPy arrays by column name, before typing."""
NO_DATE = np.iinfo(np.int64).min
"""Day number that becomes ``NaT`` (it is NumPy's own NaT bit pattern)."""
BLANK = -1
"""Blank code for code / yes-no / integer columns in the raw (pre-typed) arrays."""


def day_number(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date."""
    return int(np.datetime64(iso, "D").astype(np.int64))


def pick(rng: np.random.Generator, n: int, probs: Sequence[float]) -> np.ndarray:
    """Draw ``n`` category indices with probabilities ``probs`` (normalized here)."""
    cdf = np.cumsum(np.asarray(probs, dtype=float))
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(cdf) - 1)


def pick_from(rng: np.random.Generator, n: int, weights: dict[str, float], vocab: list[str]) -> np.ndarray:
    """Draw ``n`` entries of ``weights``' keys, returned as indices into ``vocab``."""
    keys = list(weights)
    lookup = np.array([vocab.index(k) for k in keys])
    return lookup[pick(rng, n, list(weights.values()))]


def chance(rng: np.random.Generator, n: int, p: float | np.ndarray) -> np.ndarray:
    """Independent yes/no draws with probability ``p``."""
    return rng.random(n) < p


def uniform_days(rng: np.random.Generator, lo: int | np.ndarray, hi: int | np.ndarray, n: int) -> np.ndarray:
    """Whole days uniformly in ``[lo, hi]`` (inclusive)."""
    return (lo + np.floor(rng.random(n) * (np.asarray(hi) - lo + 1))).astype(np.int64)


def lognormal(rng: np.random.Generator, median: float | np.ndarray, sigma: float | np.ndarray,
               n: int) -> np.ndarray:
    """``n`` lognormal draws with the given median(s) and log-scale sigma(s)."""
    return median * np.exp(sigma * rng.standard_normal(n))


def yes(flag: np.ndarray) -> np.ndarray:
    """A yes/no raw column (1 yes, 0 no) from a boolean array."""
    return flag.astype(np.int8)


def blank_where(values: np.ndarray, mask: np.ndarray, fill: float | int = BLANK) -> np.ndarray:
    """Copy of a raw column with ``mask`` rows blank (``fill``: BLANK, NaN or NO_DATE)."""
    return np.where(mask, np.asarray(fill).astype(values.dtype), values)


def fill_for(table: str, column: str) -> float | int:
    """The raw blank marker of a contract column."""
    kind = TABLES[table].column(column).kind
    return {"number": np.nan, "date": NO_DATE}.get(kind, BLANK)
