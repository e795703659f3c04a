"""The data contract: the schema, the typed dataset and its problems, reading and validating
screening files (CSV, xlsx, Parquet), the data dictionary, and writing tables.

The lowest wing: it imports nothing else from the package but :mod:`lifileucel_analysis.paths`.
"""

from __future__ import annotations

from .dataset import ContractError, Problem, ScreeningDataset

__all__ = ["ContractError", "Problem", "ScreeningDataset"]
