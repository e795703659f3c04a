"""The toxicities table: immune-related adverse events of prior systemic therapy."""

from __future__ import annotations

import numpy as np

from .distributions import (
    P_TOX_BLANK, TOX_CATEGORY_P, TOX_GRADE_P, TOX_MAX, TOX_ONGOING_P, TOX_PER_PATIENT, TOX_TERMS,
)
from .sampling import Raw, blank_where, chance, pick, yes


TOX_CATEGORIES = ("endocrine", "ocular", "vitiligo", "other")
TERM_VOCAB: list[str] = [term for terms in TOX_TERMS.values() for term in terms]


def draw_toxicities(rng: np.random.Generator, n_lines: np.ndarray) -> Raw:
    """Immune-related adverse events of patients who had prior systemic therapy."""
    n = len(n_lines)
    count = np.where(n_lines > 0, np.minimum(rng.poisson(TOX_PER_PATIENT, n), TOX_MAX), 0)
    pos = np.repeat(np.arange(n), count)
    rows = len(pos)
    category = pick(rng, rows, TOX_CATEGORY_P)
    term = np.zeros(rows, dtype=np.int64)
    grade = np.zeros(rows, dtype=np.int64)
    term_draw, grade_draw = rng.random(rows), rng.random(rows)
    for c, name in enumerate(TOX_CATEGORIES):
        hit = category == c
        weights = np.asarray(list(TOX_TERMS[name].values()))
        first = TERM_VOCAB.index(next(iter(TOX_TERMS[name])))
        term[hit] = first + _searchsorted_draw(weights, term_draw[hit])
        grade[hit] = 1 + _searchsorted_draw(np.asarray(TOX_GRADE_P[c]), grade_draw[hit])
    ongoing = chance(rng, rows, np.asarray(TOX_ONGOING_P)[category])
    return {
        "pos": pos,
        "term": blank_where(term, chance(rng, rows, P_TOX_BLANK["term"])),
        "category": blank_where(category, chance(rng, rows, P_TOX_BLANK["category"])),
        "grade": blank_where(grade, chance(rng, rows, P_TOX_BLANK["grade"])),
        "ongoing": blank_where(yes(ongoing), chance(rng, rows, P_TOX_BLANK["ongoing"])),
    }


def _searchsorted_draw(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Map uniform draws ``u`` to category indices with the given weights."""
    cdf = np.cumsum(weights) / weights.sum()
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(weights) - 1)
