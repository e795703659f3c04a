"""lifileucel-eap: eligibility screening for the lifileucel Expanded Access Program (NCT05398640).

Top-level API::

    from lifileucel_analysis import load_dataset, load_params, screen, screen_files
    result = screen(load_dataset("my_site_data/"), load_params())
    result.verdicts, result.outcomes, result.missing_data
    result = screen_files("my_site_data/", "params/my_limits.yaml").result  # the same, from paths
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Every name is imported when first used (PEP 562), so importing the package loads neither
# pandas nor pyarrow: the command line chooses Arrow's allocator before pyarrow loads
# (``cli._reuse_freed_memory``), and loading, synthesis and openpyxl cost nothing until used.
_HOME = {
    "CATALOG": ".engine.catalog", "CRITERIA": ".engine.catalog", "Criterion": ".engine.catalog",
    "ContractError": ".contract.dataset", "Problem": ".contract.dataset", "ScreeningDataset": ".contract.dataset",
    "Outcome": ".engine.outcome", "all_of": ".engine.outcome", "any_of": ".engine.outcome",
    "CriteriaParams": ".engine.parameters", "ParamsError": ".engine.parameters", "load_params": ".engine.parameters",
    "ScreeningResult": ".engine.screening", "screen": ".engine.screening",
    "ScreenedInputs": ".report.screening_inputs", "screen_files": ".report.screening_inputs",
    "load_dataset": ".contract.loading", "generate_cohort": ".synth",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'lifileucel_analysis' has no attribute {name!r}")
    value = getattr(import_module(_HOME[name], __name__), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
