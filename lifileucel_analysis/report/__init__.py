"""Reports: summaries, Table 1, figures, display objects, provenance and the report objects the
notebooks call (``from lifileucel_analysis.report import EligibilityReport``, and
``CriteriaImpactReport`` for the criteria impact notebook).

Imports the engine and the contract; never the runner or the CLI.

The report objects are imported on first use (module ``__getattr__``), so that importing a
submodule that does not draw (:mod:`.screening_inputs`, :mod:`.provenance`) does not import
matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .criteria_impact_report import CriteriaImpactReport
    from .eligibility_report import EligibilityReport

__all__ = ["CriteriaImpactReport", "EligibilityReport"]


def __getattr__(name: str) -> Any:
    if name == "EligibilityReport":
        from .eligibility_report import EligibilityReport

        return EligibilityReport
    if name == "CriteriaImpactReport":
        from .criteria_impact_report import CriteriaImpactReport

        return CriteriaImpactReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
