"""The screening engine: outcome logic, evidence, parameters, derived facts, the criteria
catalog and :func:`screen`. Pure: no file paths, no printing; imports only the contract (and
``paths``, where :mod:`.parameters` finds the packaged default limits).
"""

from __future__ import annotations

from .catalog import CATALOG, CRITERIA, criterion_labels
from .criterion import Criterion
from .outcome import Outcome, all_of, any_of
from .parameters import CriteriaParams, ParamsError, load_params
from .screening import ScreeningResult, screen

__all__ = ["CATALOG", "CRITERIA", "Criterion", "CriteriaParams", "Outcome", "ParamsError", "ScreeningResult",
           "all_of", "any_of", "criterion_labels", "load_params", "screen"]
