"""Each criterion's impact on one screening: who it excludes alone, who it holds back.

For a reviewer weighing an amendment: per criterion, how many patients fail it, how many
fail it and nothing else (excluded by it alone), and how many would become eligible or
pending if it were switched off (``criteria_off``), computed from the outcomes table in
one pass over whole columns, without screening again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.catalog import CATALOG
from ..engine.screening import ScreeningResult

__all__ = ["IMPACT_COLUMNS", "criterion_impact"]

IMPACT_COLUMNS = ["criterion_id", "fail", "unknown", "excluded_by_it_alone", "eligible_without_it",
                  "pending_without_it"]
"""Columns of the impact table (counts of patients)."""


def criterion_impact(result: ScreeningResult) -> pd.DataFrame:
    """Per criterion (protocol order): fail and unknown counts, and what switching it off would change.

    ``eligible_without_it``: patients not eligible now who would be eligible without the
    criterion; ``pending_without_it``: patients ineligible now who would be pending.
    """
    ids = [c.id for c in CATALOG]
    outcome = result.outcomes.pivot(index="patient_id", columns="criterion_id", values="outcome")
    outcome = outcome.reindex(columns=ids).astype(str)
    fail = (outcome == "fail").to_numpy()
    unknown = (outcome == "unknown").to_numpy()
    other_fail = fail.sum(axis=1, keepdims=True) - fail
    other_unknown = unknown.sum(axis=1, keepdims=True) - unknown
    now_eligible = ~fail.any(axis=1, keepdims=True) & ~unknown.any(axis=1, keepdims=True)
    now_ineligible = fail.any(axis=1, keepdims=True)
    eligible_without = (other_fail == 0) & (other_unknown == 0)
    pending_without = (other_fail == 0) & (other_unknown > 0)
    return pd.DataFrame({
        "criterion_id": ids,
        "fail": fail.sum(axis=0),
        "unknown": unknown.sum(axis=0),
        "excluded_by_it_alone": (fail & (other_fail == 0)).sum(axis=0),
        "eligible_without_it": (eligible_without & ~now_eligible).sum(axis=0),
        "pending_without_it": (pending_without & now_ineligible).sum(axis=0),
    }, columns=IMPACT_COLUMNS).astype({c: np.int64 for c in IMPACT_COLUMNS[1:]})
