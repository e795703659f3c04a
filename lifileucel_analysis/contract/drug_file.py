"""Drug dictionaries: the package's and a site's own rows, read and checked before the engine sees them.

The file is a CSV with the package dictionary's columns: ``agent`` (a name as the site
writes it), ``drug_class`` (one of the package's classes, several joined by ``;`` for a
fixed-dose combination) and, optionally, ``source`` (where the classification comes
from). The engine receives the checked table (``screen(..., drugs=table)``); a problem
stops the run with every bad row named, like any other contract problem.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..paths import DRUG_FILE as PACKAGE_DRUG_FILE
from .dataset import DRUG_TABLE, ContractError, Problem

TABLE = DRUG_TABLE
DRUG_CLASS_NAMES = ("anti-pd-1", "anti-pd-l1", "anti-ctla-4", "anti-lag-3", "braf-inhibitor", "mek-inhibitor",
                    "chemotherapy", "cytokine", "oncolytic-virus", "kit-inhibitor", "bispecific",
                    "adoptive-cell-transfer", "other")
"""The classes a row may name (the package dictionary's, plus ``other`` for an agent of no listed class)."""


def check_drug_table(table: pd.DataFrame, source: str = "") -> pd.DataFrame:
    """Check a site's drug rows; return them with ``source`` filled ("site file" when absent).

    Raises
    ------
    ContractError
        Naming each missing column, blank agent, ``+``-joined regimen and unknown class (row, column,
        value), and the file (``source``). Two rows of one drug with different classes are refused
        where the names are compared (:func:`..engine.drug_dictionary.lookup_table`).
    """
    missing = [c for c in ("agent", "drug_class") if c not in table.columns]
    if missing:
        raise ContractError([Problem(TABLE, None, c, None, "required column missing (agent, drug_class[, source])")
                             for c in missing], source)
    table = table.fillna("").astype(str)
    problems = [Problem(TABLE, i + 1, "agent", "", "agent name is blank")
                for i in range(len(table)) if not table["agent"].iloc[i].strip()]
    # Regimens are looked up agent by agent: a "+" row would never match (audit 39C: accepted silently).
    problems += [Problem(TABLE, i + 1, "agent", name, "one drug per row: a regimen's agents are looked up one by "
                                                      "one, so give each agent its own row")
                 for i, name in enumerate(table["agent"]) if "+" in name]
    for i, value in enumerate(table["drug_class"]):
        classes = [c.strip().lower() for c in value.split(";")]
        bad = [c for c in classes if c not in DRUG_CLASS_NAMES]
        if bad:
            problems.append(Problem(TABLE, i + 1, "drug_class", value,
                                    "not a drug class; allowed: " + ", ".join(DRUG_CLASS_NAMES)))
    if problems:
        raise ContractError(problems, source)
    said = table["source"] if "source" in table.columns else pd.Series("", index=table.index)
    # Each class of a combination trimmed: "anti-ctla-4; anti-pd-1" passed the check above but its second
    # class, " anti-pd-1", matched nothing (review 39R).
    classes = table["drug_class"].map(lambda value: ";".join(c.strip().lower() for c in value.split(";")))
    return pd.DataFrame({"agent": table["agent"].str.strip(), "drug_class": classes,
                         "source": said.where(said.str.strip() != "", "site file")})


def read_drug_file(path: str | Path) -> pd.DataFrame:
    """Read and check a site's drug dictionary CSV (see the module docstring).

    Raises
    ------
    ContractError
        When the file is missing or unreadable, or a row breaks the rules.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ContractError([Problem(TABLE, None, None, str(path), f"cannot read the drug file: {error}")],
                            str(path)) from error
    return check_drug_table(table, str(path))


@lru_cache(maxsize=1)
def package_drug_table() -> pd.DataFrame:
    """The package's dictionary (``lifileucel_analysis/data/drug_classes.csv``), every row with its source,
    read once and checked as a site's file is (a bad row in it is a bug, named like any other)."""
    return read_drug_file(PACKAGE_DRUG_FILE)
