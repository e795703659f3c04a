"""What one screen hands to the writer: its output tables by file name, and the counts the CLI prints.

The same object comes back from screening a whole dataset and from screening one bucket
of a bucketed dataset, so that a table added to the ``screen`` command's output flows
through the bucketed path (:mod:`lifileucel_analysis.runner.bucketed_screen`) unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .output_files import long_table_name

__all__ = ["ScreenedTables", "file_name"]


@dataclass(frozen=True)
class ScreenedTables:
    """The output tables of one screen and what the command says about them.

    Attributes
    ----------
    tables : dict of str to DataFrame
        By file name. A name with an extension (``verdicts.csv``) is written as such; a bare
        stem (``outcomes``) is a long table, written as CSV or Parquet by its total number
        of rows (:func:`file_name`). Every table has a ``patient_id`` column and lists
        patients in input order (patient-major), which is what lets buckets be merged.
    n_in : int
        Patients in the input.
    verdicts : dict of str to int
        Patients per verdict.
    findings : int
        Data-quality findings.
    notes : tuple of str
        What the loader set aside or fixed.
    """

    tables: dict[str, pd.DataFrame]
    n_in: int
    verdicts: dict[str, int]
    findings: int
    notes: tuple[str, ...] = field(default=())


def file_name(name: str, rows: int, long_format: str) -> str:
    """The file an output table is written to: ``name`` itself, or for a bare stem CSV or Parquet by size."""
    return name if "." in name else long_table_name(name, rows, long_format)
