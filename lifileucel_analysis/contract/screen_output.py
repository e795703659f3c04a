"""What one bucket of a bucketed screen hands to the merge: its part of every output file, and its counts.

:func:`lifileucel_analysis.runner.screen_command.bucket_tables` builds it on a worker;
:mod:`lifileucel_analysis.runner.bucketed_screen` writes its tables as sortable parts and
merges the buckets' parts into the files the plain screen writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data_cut import DataCut
from .output_files import long_table_name

__all__ = ["CRITERIA_FILE", "DATA_CUT_FILE", "WAIVERS_COLUMNS", "WAIVERS_FILE", "ScreenedTables", "file_name"]

DATA_CUT_FILE = "data_cut.csv"
"""With ``--cut-date``: the cut and what it set aside (``item``, ``value``; :meth:`.data_cut.DataCut.rows`)."""
CRITERIA_FILE = "criteria_used.csv"
"""The criteria a screen applied (``item``, ``value``: version, parameter file, hash of the limits), which an
SDTM export of the folder checks its criteria against."""
WAIVERS_FILE = "waivers.csv"
"""The screen's documented waivers, one row per override row applied (its criterion is ``waived``)."""
WAIVERS_COLUMNS = ("patient_id", "site_id", "criterion_id", "original_outcome", "original_evidence", "approved_by",
                   "approved_date", "reason")
"""Its columns: who waived which criterion for whom, when and why, and the outcome and sentence it replaced."""


@dataclass(frozen=True)
class ScreenedTables:
    """The output tables of one bucket's screen and what the command says about them.

    Attributes
    ----------
    tables : dict of str to DataFrame
        By file name. A name with an extension (``verdicts.csv``) is written as such; a bare
        stem (``outcomes``) is a long table, written as CSV or Parquet by its total number
        of rows (:func:`file_name`). Every table has a ``patient_id`` column and lists
        patients in input order (patient-major), which is what lets buckets be merged by
        the patients' source positions.
    ordered : dict of str to DataFrame
        By file name: tables in an order of their own (the worklists), each sorted by a
        binary ``_order`` column whose byte order is the file's row order; merged by it.
    patient_ids, positions : numpy.ndarray
        The screened patients' IDs and their 0-based rows in the source's ``patients``
        table: the merge key of ``tables``.
    n_in : int
        Patients in the input.
    verdicts : dict of str to int
        Patients per verdict.
    findings : int
        Data-quality findings.
    notes : tuple of str
        What the loader set aside or fixed.
    cut : DataCut or None
        The cut's account of this bucket (summed over buckets for ``data_cut.csv``).
    latest_consent : datetime.date or None
        The latest consent date of the screened patients (without a cut, the worklists count
        days pending from the latest over all buckets).
    """

    tables: dict[str, pd.DataFrame]
    ordered: dict[str, pd.DataFrame]
    patient_ids: np.ndarray
    positions: np.ndarray
    n_in: int
    verdicts: dict[str, int]
    findings: int
    notes: tuple[str, ...] = field(default=())
    cut: DataCut | None = None
    latest_consent: dt.date | None = None


def file_name(name: str, rows: int, long_format: str) -> str:
    """The file an output table is written to: ``name`` itself, or for a bare stem CSV or Parquet by size."""
    return name if "." in name else long_table_name(name, rows, long_format)
