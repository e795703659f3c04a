"""Rule sets shared by several criteria: a patient column, a lower limit, a yes/no flag, line labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .evidence import Part, Rule, decide, join_per_patient
from .facts import Facts
from .nullable import is_no, is_yes
from .outcome import Outcome

P, F, U, N = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE


def column(f: Facts, name: str) -> pd.Series:
    """A column of the patients table, aligned with the facts."""
    return f.patients[name]


def line_labels(f: Facts, rows: np.ndarray, what: str) -> pa.Array:
    """Per patient, 'line 2 (nivolumab)'-style lists of the selected therapy rows."""
    lines = f.lines[rows]
    text = "line " + lines["line"].astype(str) + " (" + lines["agents"].astype(str).fillna("blank agents") + ")"
    if what:
        text = text + " " + what
    return join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n)


def at_least(value: pd.Series, limit: float, field: str, label: str) -> Part:
    """Pass at or above ``limit``, fail below it, unknown when blank."""
    return decide(len(value), [
        Rule(value >= limit, P, label + " {v} >= {limit}"),
        Rule(value < limit, F, label + " {v} < {limit}"),
        Rule(True, U, label + " not recorded", field),
    ], {"v": value, "limit": limit})


def yes_fails(f: Facts, name: str, fail_text: str, pass_text: str) -> Part:
    """A criterion decided by one yes/no column where yes fails, no passes, blank is unknown."""
    value = column(f, name)
    return decide(f.n, [
        Rule(is_yes(value), F, fail_text),
        Rule(is_no(value), P, pass_text),
        Rule(True, U, f"{name} not recorded", f"patients.{name}"),
    ], {})
