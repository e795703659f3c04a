"""The screening dataset as typed frames, and the errors raised for contract breaches."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .messages import ShownAsMessage, counted, noun_for, printable
from .schema import TABLES, empty_frame

MAX_EXAMPLES_PER_PROBLEM = 3
"""Examples shown per kind of problem when there are too many problems to list them all."""
MAX_LISTED_PROBLEMS = 50
"""Up to this many problems, each is listed; above, they are counted per kind with examples."""
MAX_KINDS_SHOWN = 30
"""Kinds of problem shown with examples; further kinds are summed on one line."""
MAX_VALUE_CHARS = 80
"""A longer value is cut in messages (the row and column still locate it)."""
MAX_NAMES_SHOWN = 20
"""Column names listed in a note (ignored columns); the rest are counted (a file may have 100,000)."""


@dataclass(frozen=True)
class Problem:
    """One breach of the data contract, located as precisely as possible.

    ``row`` is the 1-based data row (the header is row 0; in a spreadsheet the first data
    row is line 2), or ``None`` for table-level problems.
    """

    table: str
    row: int | None
    column: str | None
    value: object
    message: str
    patient: str | None = None
    """The row's ``patient_id`` where it is readable (a coordinator finds the patient, not the row)."""

    @property
    def kind(self) -> str:
        """A grouping key: same table, column and message."""
        return f"{self.table}.{self.column or '*'}: {self.message}"

    def __str__(self) -> str:
        where = self.table if self.row is None else f"{self.table} row {self.row}"
        where += "" if self.column is None else f", column {printable(self.column)}"
        value = "" if self.value is None else f": value {_shown(self.value)}"
        patient = "" if self.patient is None else f" (patient_id {_shown(self.patient)})"
        return f"{where}{value}: {self.message}{patient}"


def names_shown(names: Sequence[str]) -> str:
    """The first :data:`MAX_NAMES_SHOWN` names, each cut like a value, and how many more: a note stays one line."""
    shown = ", ".join(name if len(name) <= MAX_VALUE_CHARS
                      else f"{name[:MAX_VALUE_CHARS]}... ({len(name):,} characters)" for name in names[:MAX_NAMES_SHOWN])
    more = len(names) - MAX_NAMES_SHOWN
    return shown + (f" and {more:,} more" if more > 0 else "")


def _shown(value: object) -> str:
    """``repr`` of a value for a message, cut to :data:`MAX_VALUE_CHARS` characters."""
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return f"{value[:MAX_VALUE_CHARS]!r}... ({len(value):,} characters)"
    return repr(value)


DRUG_TABLE = "drugs"
"""The table name a site drug file's problems carry (:mod:`.drug_file`)."""


class ContractError(ShownAsMessage, Exception):
    """Input that breaks the data contract (exit status 2 in the CLI).

    The message lists every problem; when there are many it counts them per kind and shows
    the first few examples of each, so that 10,000 problems stay readable.
    """

    def __init__(self, problems: list[Problem], source: str = "", omitted: Mapping[str, int] | None = None) -> None:
        self.problems = problems
        self.source = source
        # Problems counted but not kept as objects (per Problem.kind), so that a file with
        # a million bad cells is reported in full without a million objects.
        self.omitted: dict[str, int] = {k: int(v) for k, v in (omitted or {}).items() if v}
        super().__init__(self.render())

    def __reduce__(self) -> tuple[type[ContractError], tuple[list[Problem], str, dict[str, int]]]:
        # Rebuilt from its parts, not its message: a Dask worker's error reaches the driver whole.
        return (type(self), (self.problems, self.source, self.omitted))

    @property
    def n_problems(self) -> int:
        """Number of problems found, including those counted in ``omitted``."""
        return len(self.problems) + sum(self.omitted.values())

    def render(self) -> str:
        """Return the human-readable report of all problems."""
        # A site's drug file is checked as a table of its own; its problems are not the dataset's (audit 39C).
        drugs = bool(self.problems) and all(p.table == DRUG_TABLE for p in self.problems)
        head = f"{counted(self.n_problems, 'problem')} in the {'drug file' if drugs else 'screening dataset'}"
        head += f" {printable(self.source)}" if self.source else ""
        lines = [head + ":"]
        if self.n_problems <= MAX_LISTED_PROBLEMS:
            return "\n".join(lines + [f"  - {p}" for p in self.problems])
        counts = Counter(p.kind for p in self.problems) + Counter(self.omitted)
        examples: dict[str, list[Problem]] = {}
        for problem in self.problems:
            kept = examples.setdefault(problem.kind, [])
            if len(kept) < MAX_EXAMPLES_PER_PROBLEM:
                kept.append(problem)
        kinds = list(counts.items())
        for kind, count in kinds[:MAX_KINDS_SHOWN]:
            lines.append(f"  - {count:,} x {kind}")
            lines += [f"      e.g. {problem}" for problem in examples.get(kind, [])]
        if rest := kinds[MAX_KINDS_SHOWN:]:
            more = sum(c for _, c in rest)
            lines.append(f"  - and {more:,} more {noun_for(more, 'problem')} of {counted(len(rest), 'other kind')}; "
                         "fix the ones above and run again to see them")
        return "\n".join(lines)


@dataclass(frozen=True)
class ScreeningDataset:
    """The five tables of a screening dataset, as typed frames (see :mod:`.schema`).

    Attributes
    ----------
    patients, therapies, labs, toxicities, overrides : pandas.DataFrame
        Typed frames with exactly the contract's columns, in contract order.
    source : str
        Where the data came from (a path or ``"in memory"``); for provenance only.
    warnings : tuple of str
        Lenient fixes the loader made (ignored extra columns, ...).
    source_rows : mapping of str to numpy.ndarray
        For a table whose rows are not its file's data rows one to one (a data cut set
        rows aside; a bucket is part of a larger dataset), the 0-based data row in the
        file of each of its rows. A table not listed: row ``i`` is data row ``i + 1``.
        What the data-quality findings report as ``row``, so that they point at the file.
    cut_date : datetime.date or None
        The data cut the tables were cut at (:func:`.data_cut.apply_cut`), else None: an
        override without an approval date may postdate it.
    repeated_rows : mapping of str to pandas.DataFrame
        Per table read once row by row (therapies, overrides), the rows dropped because they
        repeat an earlier row in every column (said in ``warnings`` and as findings): ``row``
        and ``original`` (the row repeated), 0-based data rows in the file, and ``patient_id``.
    waivers_after_cut : pandas.DataFrame or None
        At a data cut, the override rows approved after it, of the patients still screened:
        not applied (the cut's rule), but named in their criterion's sentence, so that a
        medical monitor sees the waiver that is coming. ``None`` without a cut.
    dated_after_cut : pandas.DataFrame or None
        At a data cut, what the cut set aside or blanked because it is dated after the cut, of
        the patients still screened (:data:`.data_cut.AFTER_CUT_COLUMNS`: ``patient_id``, ``table``,
        ``column``, ``line``, ``agents``, ``setting``, ``test``, ``date``): not read, but named in the sentences of
        the criteria that read it, so that a sentence does not call a recorded date "not
        recorded" without saying why. ``None`` without a cut.
    """

    patients: pd.DataFrame
    therapies: pd.DataFrame
    labs: pd.DataFrame
    toxicities: pd.DataFrame
    overrides: pd.DataFrame = field(default_factory=lambda: empty_frame("overrides"))
    source: str = "in memory"
    warnings: tuple[str, ...] = ()
    source_rows: Mapping[str, np.ndarray] = field(default_factory=dict)
    cut_date: dt.date | None = None
    repeated_rows: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    waivers_after_cut: pd.DataFrame | None = None
    dated_after_cut: pd.DataFrame | None = None
    # Not an init field, so that ``dataclasses.replace`` (a slice, a cut) starts afresh.
    _positions: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    def table(self, name: str) -> pd.DataFrame:
        """Return the table called ``name``."""
        if name not in TABLES:
            raise KeyError(f"no table {name!r}; tables are {', '.join(TABLES)}")
        return getattr(self, name)

    def rows_in_source(self, name: str) -> np.ndarray:
        """The 0-based data row in its file of each row of table ``name`` (see ``source_rows``)."""
        rows = self.source_rows.get(name)
        return np.arange(len(self.table(name)), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)

    @property
    def n_patients(self) -> int:
        """Number of screened patients."""
        return len(self.patients)

    def patient_positions(self, table: str) -> np.ndarray:
        """Each row's patient in table ``table``: its position in ``patients`` (-1 for none).

        Every table not yet known is looked up at once (one hash set of the patient IDs,
        which at a million patients takes a quarter of a second to build), then kept: the
        criteria, the overrides and the slicing of a large dataset all ask.
        """
        if table not in self._positions:
            from .id_lookup import positions_in_each  # pyarrow: loaded when first needed, not on import

            names = [name for name in TABLES if name != "patients" and name not in self._positions]
            found = positions_in_each([self.table(name)["patient_id"] for name in names], self.patients["patient_id"])
            self._positions.update(zip(names, found))
        return self._positions[table]

    def know_patient_positions(self, positions: Mapping[str, np.ndarray]) -> None:
        """Keep positions already found (by validation, or a slice's from its whole dataset).

        The caller vouches that they are :meth:`patient_positions` of this dataset; a test
        compares them with a fresh look-up.
        """
        self._positions.update(positions)
