"""Evidence sentences and decision parts, built over whole columns.

A criterion is decided by *rules* (first match wins) that each carry an outcome and an
evidence template such as ``"ECOG {ecog} > {max_ecog}"``. Templates are filled with
column values only on the rows a rule decides, by vectorized string concatenation, so no
Python code runs per patient.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
import pandas as pd

from .outcome import CODE, Outcome, all_of_codes

Value = pd.Series | str | int | float | bool
BLANK = "blank"
STR = pd.StringDtype(na_value=np.nan)


def format_scalar(value: object) -> str:
    """Format one parameter or value for an evidence sentence."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if np.isfinite(value) else BLANK
    return str(value)


def format_column(values: pd.Series) -> pd.Series:
    """Format a column for evidence: numbers trimmed, dates ISO, booleans yes/no, blanks 'blank'."""
    if pd.api.types.is_bool_dtype(values.dtype):
        text = values.map({True: "yes", False: "no"}).astype("object")
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        text = values.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(values.dtype):
        text = values.round(2).astype(STR).str.replace(r"\.0$", "", regex=True)
    else:
        text = values.astype("object").astype(STR)
    return text.astype(STR).fillna(BLANK)


def render(template: str, values: Mapping[str, Value], rows: np.ndarray) -> pd.Series:
    """Fill ``template`` for the rows selected by the boolean mask ``rows``.

    Parameters
    ----------
    template : str
        A ``str.format``-style template; each field names a key of ``values``.
    values : mapping
        Columns (aligned with the mask, positional) or scalars.
    rows : numpy.ndarray of bool
        Which rows to render.

    Returns
    -------
    pandas.Series of str
        One sentence per selected row (positional index of the selected rows).
    """
    index = np.flatnonzero(rows)
    out = pd.Series("", index=index, dtype=STR)
    for literal, name, spec, _ in string.Formatter().parse(template):
        out = out + literal
        if name is None:
            continue
        value = values[name]
        if isinstance(value, pd.Series):
            out = out + format_column(value.iloc[index]).set_axis(index)
        else:
            out = out + (format(value, spec) if spec else format_scalar(value))
    return out


@dataclass(frozen=True)
class Rule:
    """One branch of a decision list: where ``when`` holds, the outcome is ``outcome``."""

    when: np.ndarray | pd.Series | bool
    outcome: Outcome
    template: str
    needs: str = ""
    """For unknown outcomes: the fields to collect (``table.column``), as a template too."""


@dataclass(frozen=True)
class Part:
    """A decided part of a criterion: outcome codes, evidence and fields to collect, per patient."""

    codes: np.ndarray
    evidence: pd.Series
    needs: pd.Series = field(repr=False)

    def __len__(self) -> int:
        return len(self.codes)


def _mask(when: np.ndarray | pd.Series | bool, n: int) -> np.ndarray:
    if isinstance(when, (bool, np.bool_)):
        return np.full(n, bool(when))
    if isinstance(when, pd.Series):
        return when.fillna(False).to_numpy(dtype=bool)
    return np.asarray(when, dtype=bool)


def decide(n: int, rules: Sequence[Rule], values: Mapping[str, Value]) -> Part:
    """Apply a first-match decision list to ``n`` patients.

    Raises
    ------
    AssertionError
        If some patient matches no rule: every decision list must be total.
    """
    codes = np.full(n, 255, dtype=np.uint8)
    evidence = pd.Series("", index=pd.RangeIndex(n), dtype=STR)
    needs = pd.Series("", index=pd.RangeIndex(n), dtype=STR)
    open_rows = np.ones(n, dtype=bool)
    for rule in rules:
        rows = open_rows & _mask(rule.when, n)
        if not rows.any():
            continue
        codes[rows] = CODE[rule.outcome]
        evidence.iloc[np.flatnonzero(rows)] = render(rule.template, values, rows).to_numpy()
        if rule.needs:
            needs.iloc[np.flatnonzero(rows)] = render(rule.needs, values, rows).to_numpy()
        open_rows &= ~rows
    assert not open_rows.any(), f"decision list not total: {int(open_rows.sum())} patient(s) matched no rule"
    return Part(codes, evidence, needs)


def _join(series: Sequence[pd.Series], keep: Sequence[np.ndarray], sep: str) -> pd.Series:
    """Join the kept, non-empty strings of several aligned columns with ``sep``."""
    pieces = [s.where(k & (s != ""), "") for s, k in zip(series, keep)]
    joined = reduce(lambda a, b: a + np.where((a != "") & (b != ""), sep, "") + b, pieces)
    return joined.astype(STR)


def combine(parts: Sequence[Part], sep: str = "; ") -> Part:
    """Combine parts with the all-of truth table.

    The evidence keeps the parts that explain the result: the failing parts of a fail,
    the unknown parts of an unknown, every part of a pass. Fields to collect are those of
    the unknown parts.
    """
    codes = all_of_codes(*(p.codes for p in parts))
    explains = [p.codes == codes for p in parts]
    evidence = _join([p.evidence for p in parts], explains, sep)
    unknown = [p.codes == CODE[Outcome.UNKNOWN] for p in parts]
    needs = _join([p.needs for p in parts], unknown, "; ")
    return Part(codes, evidence, needs)


def blank_fields(fields: Mapping[str, np.ndarray | pd.Series]) -> pd.Series:
    """Name, per patient, the fields whose mask is true, joined by ``"; "``.

    Used for the fields to collect: ``{"patients.ecog": ecog.isna()}``.
    """
    labels = [pd.Series(np.where(_mask(mask, len(mask)), label, ""), dtype=STR) for label, mask in fields.items()]
    keep = [np.ones(len(s), dtype=bool) for s in labels]
    return _join(labels, keep, "; ")


def join_per_patient(pos: np.ndarray, text: pd.Series, n: int, sep: str = ", ") -> pd.Series:
    """Join event-row texts per patient, in row order, without a loop over patients.

    The loop runs over the rank of a row within its patient (a handful of ranks), each
    step appending one vectorized column.
    """
    out = pd.Series("", index=pd.RangeIndex(n), dtype=STR)
    if len(pos) == 0:
        return out
    order = np.argsort(pos, kind="stable")
    pos_sorted = pos[order]
    text_sorted = text.to_numpy()[order]
    rank = pd.Series(pos_sorted).groupby(pos_sorted).cumcount().to_numpy()
    for r in range(int(rank.max()) + 1):
        at = rank == r
        targets = pos_sorted[at]
        head = out.iloc[targets].to_numpy()
        glue = np.where(head == "", "", sep)
        out.iloc[targets] = (pd.Series(head, dtype=STR) + glue + pd.Series(text_sorted[at], dtype=STR)).to_numpy()
    return out
