"""Load a screening dataset and check it against the data contract, all problems at once.

A dataset is a folder of CSV files, an ``.xlsx`` workbook, or a folder of Parquet files
(``shared/spec/screening-data.md`` section 1; the columns are in :mod:`.schema`).
:func:`load_dataset` reads it, checks every cell, key and cross-reference, and either
returns typed frames (:class:`.ScreeningDataset`) or raises one :class:`.ContractError`
that lists every problem found, each located by table, row, column and value.

Loading happens in two steps, so that problems of every table are reported together:

1. :func:`.reading.read_raw` turns files into *raw* frames (text, workbook values
   or Arrow-typed columns; nothing checked but the files and headers).
2. :func:`.validation.validate_raw` checks raw frames column by column
   (:mod:`.cell_parsing`), then keys and cross-references, and builds the typed frames.
   At most :data:`.MAX_PROBLEMS_PER_KIND` problems are kept per kind, the rest are counted.

Lenient where a person would expect it (spaces, letter case of codes and yes/no, BOM,
CRLF, column order, extra columns, numbers stored as text, Excel date cells, ``2.0`` for
a whole number); strict where a guess could mislead (non-ISO or impossible dates, unknown
codes or units, out-of-range numbers, malformed IDs, missing tables or columns). The
choices are listed in ``docs/data-dictionary.md``, which
:func:`.data_dictionary.data_dictionary_markdown` generates.
"""

from __future__ import annotations

from pathlib import Path

from .dataset import ScreeningDataset
from .findings import Findings
from .reading import read_raw
from .redcap_import import is_redcap_export, load_redcap_export
from .validation import validate_raw

__all__ = ["load_dataset"]


def load_dataset(path: str | Path) -> ScreeningDataset:
    """Read a screening dataset and validate it against the data contract.

    Parameters
    ----------
    path : str or Path
        A folder of CSV files (``patients.csv``, ``therapies.csv``, ``labs.csv``,
        ``toxicities.csv``, optional ``overrides.csv``), a folder of Parquet files with
        the same names, an ``.xlsx`` workbook with sheets of the same names, or a REDCap
        CSV export (:mod:`.redcap_import`).

    Returns
    -------
    ScreeningDataset
        Typed frames (dtypes of :func:`.schema.dtype_for`), columns in contract order,
        rows in file order with a ``RangeIndex``; ``warnings`` lists lenient fixes.

    Raises
    ------
    ContractError
        Listing every problem found in every table, each naming table, row, column,
        value and what is allowed.
    """
    if is_redcap_export(Path(path)):
        return load_redcap_export(path)
    # One Findings for both steps: a table that cannot be read is reported together
    # with the cell problems of the tables that could.
    findings = Findings()
    raw = read_raw(Path(path), findings)
    return validate_raw(raw, findings, source=str(path))
