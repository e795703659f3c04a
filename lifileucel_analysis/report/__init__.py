"""Reports: summaries, Table 1, figures, display objects, provenance and the report objects the
notebooks call (``from lifileucel_analysis.report import EligibilityReport``).

Imports the engine and the contract; never the runner or the CLI.
"""

from __future__ import annotations

from .eligibility_report import EligibilityReport

__all__ = ["EligibilityReport"]
