"""The data contract: what a screening dataset holds, and getting it in and out of files.

The lowest wing: it imports nothing else from the package but :mod:`lifileucel_analysis.paths`.

=======================  ====================================================================================
module                   what it does
=======================  ====================================================================================
:mod:`.schema`           tables, columns, codes, units, sites: the machine-readable contract
:mod:`.dataset`          the typed :class:`ScreeningDataset`, its :class:`Problem` and :class:`ContractError`
:mod:`.loading`          :func:`load_dataset`: read and validate a dataset, every problem at once
:mod:`.reading`          path -> raw tables (CSV folder, xlsx workbook, Parquet folder)
:mod:`.validation`       raw tables -> typed dataset (columns, keys, patients, units, date order)
:mod:`.cell_parsing`     per-kind cell checks (id, text, code, yes/no, int, number, date)
:mod:`.findings`         problems and warnings gathered while reading and validating
:mod:`.messages`         the fixed wording of the contract's messages
:mod:`.data_dictionary`  generates ``docs/data-dictionary.md``
:mod:`.writing`          :func:`write_tables`: deterministic CSV, xlsx and Parquet files
:mod:`.parameter_files`  reading YAML parameter files strictly (bounded, no aliases or duplicate keys)
=======================  ====================================================================================
"""

from __future__ import annotations

from .data_dictionary import data_dictionary_markdown
from .dataset import ContractError, Problem, ScreeningDataset
from .loading import load_dataset
from .reading import read_raw_tables
from .schema import TABLES
from .validation import validate_tables
from .writing import FORMATS, write_tables

__all__ = [
    "FORMATS", "TABLES", "ContractError", "Problem", "ScreeningDataset", "data_dictionary_markdown", "load_dataset",
    "read_raw_tables", "validate_tables", "write_tables",
]
