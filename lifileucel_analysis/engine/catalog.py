"""The criteria catalog: I1-I8 and E1-E11 of NCT05398640 in protocol order.

Each criterion is defined, with its record text, label template, the fields it reads and
the limits it applies, beside its rules in :mod:`.criteria_inclusion` or
:mod:`.criteria_exclusion`; importing those modules registers them. The exact semantics,
including every choice the spec leaves open, are in ``docs/criteria.md``.
"""

from __future__ import annotations

from . import criteria_exclusion, criteria_inclusion  # noqa: F401  (importing registers the criteria)
from ..contract.schema import CRITERION_IDS
from .criterion import REGISTRY, Criterion
from .parameters import CriteriaParams

CATALOG: tuple[Criterion, ...] = tuple(REGISTRY[cid] for cid in CRITERION_IDS)
"""Every criterion, in the record's order (I1..I8, E1..E11)."""

CRITERIA: dict[str, Criterion] = {c.id: c for c in CATALOG}


def criterion_labels(params: CriteriaParams) -> dict[str, str]:
    """``{criterion_id: label}`` with the limits of ``params`` filled in, in catalog order."""
    return {c.id: c.label(params) for c in CATALOG}
