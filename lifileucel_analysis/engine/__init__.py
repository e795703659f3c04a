"""The screening engine: outcome logic, evidence, parameters, derived facts, the criteria
catalog and :func:`screen`. Pure: no file paths, no printing; imports only the contract.
"""

from __future__ import annotations

from .criteria import CATALOG, CRITERIA, Criterion
from .outcome import Outcome, all_of, any_of
from .parameters import CriteriaParams, ParamsError, load_params
from .screening import ScreeningResult, screen

__all__ = ["CATALOG", "CRITERIA", "Criterion", "CriteriaParams", "Outcome", "ParamsError", "ScreeningResult",
           "all_of", "any_of", "load_params", "screen"]
