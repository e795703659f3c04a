"""lifileucel-eap: eligibility screening for the lifileucel Expanded Access Program (NCT05398640).

Top-level API::

    from lifileucel_analysis import load_dataset, load_params, screen, screen_files
    result = screen(load_dataset("my_site_data/"), load_params())
    result.verdicts, result.outcomes, result.missing_data
    result = screen_files("my_site_data/", "params/my_limits.yaml").result  # the same, from paths
"""

from __future__ import annotations

from typing import Any

from .engine.catalog import CATALOG, CRITERIA, Criterion
from .contract.dataset import ContractError, Problem, ScreeningDataset
from .engine.outcome import Outcome, all_of, any_of
from .engine.parameters import CriteriaParams, ParamsError, load_params
from .engine.screening import ScreeningResult, screen
from .report.screening_inputs import ScreenedInputs, screen_files

__version__ = "0.1.0"

__all__ = [
    "CATALOG", "CRITERIA", "ContractError", "Criterion", "CriteriaParams", "Outcome", "ParamsError", "Problem",
    "ScreenedInputs", "ScreeningDataset", "ScreeningResult", "all_of", "any_of", "generate_cohort", "load_dataset",
    "load_params", "screen", "screen_files",
]


def __getattr__(name: str) -> Any:
    # Loading and synthesis pull in openpyxl/pyarrow: import them only when used.
    if name == "load_dataset":
        from .contract.loading import load_dataset

        return load_dataset
    if name == "generate_cohort":
        from .synth import generate_cohort

        return generate_cohort
    raise AttributeError(f"module 'lifileucel_analysis' has no attribute {name!r}")
