"""The overrides table: documented waivers where a criterion would otherwise likely fail."""

from __future__ import annotations

import numpy as np

from ..contract.schema import TABLES
from .distributions import APPROVERS, OVERRIDE_RULES
from .sampling import Raw, chance, pick, uniform_days


APPROVER_VOCAB: list[str] = list(APPROVERS)
REASON_VOCAB: list[str] = [rule.reason for rule in OVERRIDE_RULES]


def draw_overrides(rng: np.random.Generator, p: Raw, plan: Raw, hemoglobin_low: np.ndarray,
                    as_of_day: int) -> Raw:
    """Waivers requested where a criterion would otherwise likely fail (one rule at a time)."""
    n = len(p["consent_date"])
    lesion = p["resectable_lesion_cm"]
    candidates = {
        "I2": plan["n_met"] == 5,
        "I4": (lesion >= 1.2) & (lesion < 1.5),
        "I6": (p["ecog"] == 2) & (p["life_expectancy_months"] >= 3),
        "I7": hemoglobin_low,
        "E6": (p["steroid_mg_per_day"] > 10) & (p["steroid_mg_per_day"] <= 20),
    }
    positions, rules = [], []
    for r, rule in enumerate(OVERRIDE_RULES):
        chosen = np.flatnonzero(candidates[rule.criterion_id] & chance(rng, n, rule.share))
        positions.append(chosen)
        rules.append(np.full(len(chosen), r))
    pos, rule_index = np.concatenate(positions), np.concatenate(rules)
    criterion = np.array([_criterion_code(r.criterion_id) for r in OVERRIDE_RULES], dtype=np.int64)[rule_index]
    order = np.lexsort((criterion, pos))
    pos, rule_index, criterion = pos[order], rule_index[order], criterion[order]
    m = len(pos)
    approved = np.minimum(p["consent_date"][pos] + uniform_days(rng, 3, 28, m), as_of_day)
    return {"pos": pos, "criterion_id": criterion, "approved_by": pick(rng, m, list(APPROVERS.values())),
            "approved_date": approved, "reason": rule_index}


def _criterion_code(criterion_id: str) -> int:
    """Position of a criterion ID among the overrides table's codes."""
    return TABLES["overrides"].column("criterion_id").codes.index(criterion_id)
