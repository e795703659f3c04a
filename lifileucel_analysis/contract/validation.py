"""Check raw tables against the data contract and build the typed dataset: every problem at once.

The second step of loading (the first is :mod:`.reading`). :func:`validate_tables`
takes raw or loosely typed frames (from files or built in memory), checks each column
(:mod:`.cell_parsing`), then what needs more than one cell: missing and extra columns,
repeated keys, event rows of unknown patients, units that do not fit the row's test, a
blank ``uln`` where one is needed. (Dates of one row that contradict each other are
data-quality findings, not contract breaks: :mod:`..engine.data_findings`.) It either
returns the typed :class:`.ScreeningDataset` or raises one :class:`.ContractError` that
lists every problem of every table, each located by table, row, column and value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .cell_parsing import check_column, normalise, parse_id
from .dataset import ContractError, Problem, ScreeningDataset, names_shown
from .findings import Findings
from .id_lookup import positions_in_each
from .messages import (MSG_DUPLICATE_COLUMN, MSG_MISSING_COLUMN, MSG_NO_PATIENTS, MSG_NO_SUCH_PATIENT, MSG_OTHER_CASE,
                       MSG_ULN_NEEDED, MSG_ULN_NEEDED_NO_TEST, counted, noun_for)
from .ordered_threads import in_order
from .schema import (
    PATIENT_ID_PATTERN,
    TABLES,
    TESTS_NEEDING_ULN,
    UNIT_FACTORS,
    UNITS,
    ColumnSpec,
    TableSpec,
    dtype_for,
    empty_frame,
    unit_fits,
)

__all__ = ["READ_ONCE", "in_larger_file", "refused_in_larger_file", "validate_raw", "validate_tables"]

THREADS_FROM_ROWS = 100_000
"""A table's columns are checked on threads from this many rows; below it short pandas calls that hold
the GIL make two threads slower than one (session 34: the demo cohort loads in 54-56 ms serial against
79-91 ms on threads)."""


def validate_tables(raw: Mapping[str, pd.DataFrame], source: str = "in memory") -> ScreeningDataset:
    """Validate raw or loosely typed frames and return the typed dataset.

    Parameters
    ----------
    raw : mapping of str to pandas.DataFrame
        Frames by table name, as :func:`.reading.read_raw_tables` returns them or built in
        memory (text, Python values or typed columns are all accepted). ``overrides``
        may be absent.
    source : str
        Where the frames came from, for messages.

    Returns
    -------
    ScreeningDataset

    Raises
    ------
    ContractError
        As for :func:`.loading.load_dataset`.
    """
    findings = Findings()
    named = {str(name).strip().lower(): frame for name, frame in raw.items()}
    for name in named:
        if name not in TABLES:
            findings.warnings.append(f"ignored table {name!r}: not in the data contract")
    for spec in TABLES.values():
        if spec.required and spec.name not in named:
            findings.add(spec.name, "missing table: the contract requires it (it may have no rows)")
    return validate_raw({name: frame for name, frame in named.items() if name in TABLES}, findings, source)


@dataclass
class _Checked:
    """One table after its cell checks: typed columns, normalised raw columns, row count."""

    spec: TableSpec
    columns: dict[str, pd.Series]
    raw: dict[str, pd.Series]
    n_rows: int


def validate_raw(raw: Mapping[str, pd.DataFrame], findings: Findings, source: str) -> ScreeningDataset:
    """Check contract tables and type them, adding to the problems already in ``findings``.

    The step shared by :func:`validate_tables` and :func:`.loading.load_dataset`, which
    pass in the problems found so far (missing tables, unreadable files), so that one
    error lists them all.

    Parameters
    ----------
    raw : mapping of str to pandas.DataFrame
        Frames by contract table name (lower case; no other tables).
    findings : Findings
        Problems and warnings found so far; this adds its own.
    source : str
        Where the frames came from, for messages and :attr:`.ScreeningDataset.source`.

    Returns
    -------
    ScreeningDataset
        With ``warnings`` from ``findings``.

    Raises
    ------
    ContractError
        When ``findings`` holds any problem, its own or one found before.
    """
    checked = {name: _check_table(TABLES[name], frame, findings) for name, frame in raw.items()}
    patient_ids = _valid_patient_ids(checked.get("patients"))
    positions = _patient_positions([t for name, t in checked.items() if name != "patients"], patient_ids)
    no_patients = "patients" in checked and checked["patients"].n_rows == 0
    if no_patients:  # the one cause, said first: every event row would otherwise be "no such patient"
        findings.add("patients", MSG_NO_PATIENTS)
    repeats = {name: _exact_repeats(checked.get(name)) for name in READ_ONCE}
    orphan = _no_such_patient(findings)
    for name, table in checked.items():
        _check_keys(table, findings)
        if name != "patients" and not no_patients:
            _check_patients_exist(table, patient_ids, positions.get(name), findings, orphan)
    if "labs" in checked:
        _check_lab_units(checked["labs"], findings)
        _check_uln(checked["labs"], findings)
    if findings.problems:
        _name_patients(findings, checked)
    findings.raise_if_any(source)
    frames = {name: _typed_frame(table) for name, table in checked.items()}
    kept, repeated = _read_repeats_once(frames, positions, repeats, findings)
    frames.setdefault("overrides", empty_frame("overrides"))
    dataset = ScreeningDataset(**frames, source=source, warnings=tuple(findings.warnings), source_rows=kept,
                               repeated_rows=repeated)
    # No problem left: the patients' IDs are unique and none is blank, so the positions among
    # them found above are the dataset's (a table looked up by category is looked up again).
    dataset.know_patient_positions(positions)
    return dataset


def _read_repeats_once(frames: dict[str, pd.DataFrame], positions: dict[str, np.ndarray],
                       repeats: Mapping[str, pd.DataFrame | None],
                       findings: Findings) -> tuple[dict[str, np.ndarray], dict[str, pd.DataFrame]]:
    """Drop the rows that repeat an earlier row in every column (``repeats``: :func:`_exact_repeats`) from
    ``frames`` and ``positions`` in place, with a warning each; return per table the file rows kept and
    the repeated rows.

    The same waiver or line written twice is read once, and said. The rows kept remember their
    file rows, so a finding about a later row names its own row.
    """
    kept, repeated = {}, {}
    for name, copies in repeats.items():
        if copies is None or not len(copies):
            continue
        keep = np.ones(len(frames[name]), dtype=bool)
        keep[copies["row"].to_numpy()] = False
        frames[name] = frames[name][keep].reset_index(drop=True)
        if name in positions:  # the rows' patients, found before, for the rows kept
            positions[name] = positions[name][keep]
        kept[name], repeated[name] = np.flatnonzero(keep), copies
        findings.warnings.append(repeat_note(name, copies["row"].to_numpy() + 1))
    return kept, repeated


def _check_table(spec: TableSpec, frame: pd.DataFrame, findings: Findings) -> _Checked:
    frame = _header_checked(spec, frame, findings)
    cells = [(frame[name], _kind_of(spec, name)) for name in frame.columns]  # taken out here, not in threads
    on_threads = len(frame) >= THREADS_FROM_ROWS
    raw = dict(zip(frame.columns, in_order(lambda cell: normalise(*cell), cells, on_threads)))
    raw = _drop_blank_rows(raw, len(frame))
    n_rows = len(next(iter(raw.values()))) if raw else 0
    present = [column for column in spec.columns if column.name in raw]

    def check(column: ColumnSpec) -> tuple[pd.Series, Findings]:
        own = Findings()  # one per column, merged below in column order: the same problems in the same order
        return check_column(spec.name, column, raw[column.name], own), own

    columns = {}
    for column, (typed, own) in zip(present, in_order(check, present, on_threads=n_rows >= THREADS_FROM_ROWS)):
        columns[column.name] = typed
        findings.merge(own)
    return _Checked(spec, columns, raw, n_rows)


_PATIENT_ID = re.compile(PATIENT_ID_PATTERN)


def _name_patients(findings: Findings, checked: Mapping[str, _Checked]) -> None:
    """Give each problem in a table row the ``patient_id`` of that row, where it is readable.

    Rows are counted under the header, which a spreadsheet shows as line 2 and a file with a
    title line above it as line 3: the patient's ID is what a coordinator searches for (audit
    22A). At most :data:`.MAX_PROBLEMS_PER_KIND` problems per kind are kept, so the loop is short.
    """
    named = []
    for problem in findings.problems:
        table = checked.get(problem.table)
        ids = None if table is None else table.raw.get("patient_id")
        at = -1 if ids is None or problem.row is None or problem.column == "patient_id" else problem.row - 1
        patient = ids.iat[at] if 0 <= at < len(ids) else None
        readable = isinstance(patient, str) and _PATIENT_ID.fullmatch(patient) is not None
        named.append(replace(problem, patient=patient) if readable else problem)
    findings.problems = named


def _header_checked(spec: TableSpec, frame: pd.DataFrame, findings: Findings) -> pd.DataFrame:
    """Report missing columns, warn about extra ones, and return the frame with unique names."""
    names = [str(c).strip().lower() for c in frame.columns]
    frame = frame.set_axis(names, axis=1)
    if len(set(names)) != len(names):
        # One pass (Counter): a file may have 100,000 columns, and list.count per name is quadratic.
        for name in sorted(n for n, times in Counter(names).items() if times > 1):
            findings.add(spec.name, MSG_DUPLICATE_COLUMN, column=name)
        frame = frame.loc[:, ~frame.columns.duplicated()]
    for name in spec.column_names:
        if name not in frame.columns:
            findings.add(spec.name, MSG_MISSING_COLUMN, column=name)
    extra = [n for n in frame.columns if n not in spec.column_names]
    if extra:
        findings.warnings.append(
            f"{spec.name}: ignored {counted(len(extra), 'column')} not in the data contract: {names_shown(extra)}")
    return frame.reset_index(drop=True)


def _kind_of(spec: TableSpec, name: str) -> str:
    return spec.column(name).kind if name in spec.column_names else "text"


def _drop_blank_rows(raw: dict[str, pd.Series], n_rows: int) -> dict[str, pd.Series]:
    """Drop rows with no value in any column (spreadsheets keep formatted empty rows).

    Rows are renumbered, but only trailing blank rows are dropped, so the row numbers
    of problems still match the file.
    """
    if not raw or n_rows == 0:
        return raw
    has_value = np.zeros(n_rows, dtype=bool)
    for series in raw.values():
        has_value |= series.notna().to_numpy()
    last = int(np.flatnonzero(has_value)[-1]) + 1 if has_value.any() else 0
    if last == n_rows:
        return raw
    return {name: series.iloc[:last].reset_index(drop=True) for name, series in raw.items()}

# Table and cross-table checks ---------------------------------------------------------


READ_ONCE: dict[str, str] = {"therapies": "line", "overrides": "waiver"}
"""Tables whose rows repeated in every column are one row written twice, read once: a copied
therapy line would count twice toward I2's 1-4 lines. A copied lab or toxicity changes no
verdict, only counts such as "2 recorded", and is kept as sent."""


def in_larger_file(data: ScreeningDataset, rows: Mapping[str, np.ndarray]) -> ScreeningDataset:
    """``data`` read from part of a larger file: ``rows[table][i]`` is the larger file's 0-based data
    row of the part's row ``i`` (a bucket of a partitioned dataset; the instances of a REDCap export).

    Its source rows, its rows read once and the notes on them are composed with ``rows``, so that
    findings and notes name the larger file's rows.
    """
    source_rows = {**data.source_rows, **{name: np.asarray(at)[data.rows_in_source(name)]
                                          for name, at in rows.items()}}
    repeated = {name: frame.assign(row=np.asarray(rows[name])[frame["row"].to_numpy()],
                                   original=np.asarray(rows[name])[frame["original"].to_numpy()])
                if name in rows else frame for name, frame in data.repeated_rows.items()}
    said = {repeat_note(name, data.repeated_rows[name]["row"].to_numpy() + 1):
            repeat_note(name, frame["row"].to_numpy() + 1) for name, frame in repeated.items()}
    return replace(data, source_rows=source_rows, repeated_rows=repeated,
                   warnings=tuple(said.get(note, note) for note in data.warnings))


def refused_in_larger_file(error: ContractError, rows: Mapping[str, np.ndarray]) -> ContractError:
    """``error``, raised reading part of a larger file (``rows`` as :func:`in_larger_file` takes them),
    with each problem's row that of the larger file, the one a site can find (audit 42C: a bucket's
    refusal named the bucket's rows, which no file the site has holds).

    Parameters
    ----------
    error : ContractError
        The refusal of the part, its rows numbered as in the part.
    rows : mapping of str to numpy.ndarray
        Per table, the larger file's 0-based data row of each of the part's rows.

    Returns
    -------
    ContractError
        The same problems, each row the larger file's, its source saying so.
    """
    def moved(problem: Problem) -> Problem:
        at = rows.get(problem.table)
        if problem.row is None or at is None or not 0 < problem.row <= len(at):
            return problem
        return replace(problem, row=int(at[problem.row - 1]) + 1)

    return ContractError([moved(problem) for problem in error.problems],
                         f"{error.source} (rows numbered as in the files it was partitioned from)", error.omitted)


def repeat_note(table: str, rows: np.ndarray) -> str:
    """The note saying which rows (1-based data rows) of ``table`` repeat an earlier one and are read once."""
    shown = names_shown([str(int(i)) for i in rows])
    return (f"{table}: {noun_for(len(rows), 'row')} {shown} {noun_for(len(rows), 'repeats', 'repeat')} an earlier row"
            f" in every column; each {READ_ONCE[table]} is read once")


def _exact_repeats(table: _Checked | None) -> pd.DataFrame | None:
    """Rows of ``table`` equal in every column to an earlier row: ``row`` (0-based), ``original``
    (the first row it repeats) and ``patient_id``; ``None`` without the table or its key columns."""
    if table is None or table.n_rows == 0 or "patient_id" not in table.raw:
        return None
    candidates = np.arange(table.n_rows)
    if table.spec.name == "therapies":
        if not {"patient_id", "line"} <= set(table.columns):
            return None  # a missing column is refused anyway
        # Only rows sharing a patient and line number (or both without one) can repeat each
        # other: hashing every cell of millions of lines for the few that do would take
        # seconds (the typed key hashes faster than its text).
        key = pd.DataFrame({name: table.columns[name] for name in ("patient_id", "line")})
        candidates = np.flatnonzero(key.duplicated(keep=False).to_numpy())
    raw = pd.DataFrame({name: column.iloc[candidates].to_numpy(dtype=object) for name, column in table.raw.items()})
    same = raw.groupby(list(raw.columns), dropna=False, sort=False).ngroup().to_numpy()
    first = pd.Series(candidates).groupby(same).transform("min").to_numpy()
    copy = first != candidates
    return pd.DataFrame({"row": candidates[copy], "original": first[copy],
                         "patient_id": raw["patient_id"].to_numpy()[copy].astype(str).astype(object)})


def _check_keys(table: _Checked, findings: Findings) -> None:
    """Report every row whose key (patient_id, or patient_id + line) repeats."""
    key = table.spec.key
    if not key or any(name not in table.columns for name in key):
        return
    keys = pd.DataFrame({name: table.columns[name] for name in key})
    complete = keys.notna().all(axis=1).to_numpy()
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[complete] = keys[complete].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    shown = _key_text(keys, key)
    if key == ("patient_id",):
        message = "duplicate patient_id: each patient must have exactly one row"
    else:
        message = f"duplicate ({', '.join(key)}): each combination must appear in one row only"
    findings.add_cells(table.spec.name, ", ".join(key), repeated, shown, message)


def _key_text(keys: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    if len(key) == 1:
        return keys[key[0]].astype(object)
    parts = [keys[name].astype(str) for name in key]
    return parts[0].str.cat(parts[1:], sep=", ").astype(object)


def _valid_patient_ids(patients: _Checked | None) -> pd.Series | None:
    """Return the patient IDs every event row must refer to, or None when unknown."""
    if patients is None or "patient_id" not in patients.columns:
        return None
    return patients.columns["patient_id"].dropna()


def _patient_positions(tables: list[_Checked], patient_ids: pd.Series | None) -> dict[str, np.ndarray]:
    """Each event row's position among the patients, for every table whose IDs are text (one look-up for all)."""
    if patient_ids is None:
        return {}
    text = [t for t in tables if "patient_id" in t.columns and not isinstance(t.raw["patient_id"].dtype,
                                                                                pd.CategoricalDtype)]
    found = positions_in_each([t.columns["patient_id"] for t in text], patient_ids)
    return {t.spec.name: at for t, at in zip(text, found)}


def _no_such_patient(findings: Findings) -> str:
    """The message of an event row whose patient is not in the patients table, naming the patients rows whose
    ID was refused where there are any: the likeliest cause, which the message would otherwise point away from
    (audit 34B: one blank ID in patients gave 19 "no such patient" lines and no word of that row).

    Called after the column checks and before the key checks, so the patients ``patient_id`` problems are
    then exactly the unreadable IDs (blank, not an ID, an Excel date cell), not duplicates. Only the rows
    shown are counted (:data:`.MAX_PROBLEMS_PER_KIND` per kind).
    """
    rows = sorted({p.row for p in findings.problems
                   if p.table == "patients" and p.column == "patient_id" and p.row is not None})
    if not rows:
        return MSG_NO_SUCH_PATIENT
    if len(rows) == 1:
        return (f"{MSG_NO_SUCH_PATIENT}, whose row {rows[0]} has no valid patient_id: if this is that patient, "
                f"correct the patients row")
    shown = ", ".join(str(row) for row in rows[:3]) + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")
    return (f"{MSG_NO_SUCH_PATIENT}, whose rows {shown} have no valid patient_id: if this is one of those "
            f"patients, correct its patients row")


def _check_patients_exist(table: _Checked, patient_ids: pd.Series | None, positions: np.ndarray | None,
                          findings: Findings, message: str = MSG_NO_SUCH_PATIENT) -> None:
    """Every row names a patient of the patients table (``positions``: from :func:`_patient_positions`)."""
    if "patient_id" not in table.columns:
        return
    ids = table.columns["patient_id"]
    name = table.spec.name
    if patient_ids is None:
        # Without a patients table, at least check the IDs' form.
        typed, issues = parse_id(table.raw["patient_id"], table.spec.column("patient_id"), "patients")
        for mask, message in issues:
            findings.add_cells(name, "patient_id", mask & ids.notna().to_numpy(), ids, message)
        return
    raw_ids = table.raw["patient_id"]
    if positions is None:  # IDs held as categories: each category is looked up once
        known = np.append(_isin_text(pd.Series(raw_ids.cat.categories, dtype="str"), patient_ids), True)
        missing = ~known[raw_ids.cat.codes.to_numpy()]
    else:
        missing = ids.notna().to_numpy() & (positions < 0)
    # An ID the patients table holds in another letter case is most likely that patient, mistyped:
    # IDs are compared exactly, so say where it is (audit 36B: "eap-000001" beside "EAP-000001").
    other_case = np.zeros(len(missing), dtype=bool)
    if missing.any():
        other_case[missing] = _isin_text(ids[missing].str.casefold(), patient_ids.str.casefold())
    findings.add_cells(name, "patient_id", missing & ~other_case, ids, message)
    findings.add_cells(name, "patient_id", other_case, ids, f"{message}; {MSG_OTHER_CASE}")


def _isin_text(values: pd.Series, allowed: pd.Series) -> np.ndarray:
    """Vectorised membership test of text values (pandas' str ``isin`` boxes each allowed value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.is_in(pa.array(values, type=pa.large_string(), from_pandas=True),
                     value_set=pa.array(allowed, type=pa.large_string(), from_pandas=True))
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _check_lab_units(labs: _Checked, findings: Findings) -> None:
    """Check each unit against the units of its row's test (schema.UNIT_FACTORS)."""
    if "unit" not in labs.columns or "test" not in labs.columns:
        return
    raw_unit = labs.raw["unit"]
    test_codes = labs.columns["test"].cat.codes.to_numpy()
    unit_codes = labs.columns["unit"].cat.codes.to_numpy()
    tests = list(labs.columns["test"].cat.categories)
    units = list(labs.columns["unit"].cat.categories)
    fits = unit_fits(tests, units)  # the extra last row and column stand for code -1 (blank or unknown)
    given = raw_unit.notna().to_numpy()
    wrong = given & ~fits[test_codes, unit_codes]
    unknown_test = test_codes < 0
    findings.add_cells("labs", "unit", wrong & unknown_test & (unit_codes < 0), raw_unit,
                       f"unknown unit: expected one of {', '.join(UNITS)}")
    for position, test in enumerate(tests):
        message = f"unit not allowed for test {test}: use {' or '.join(UNIT_FACTORS[test])}"
        findings.add_cells("labs", "unit", wrong & (test_codes == position), raw_unit, message)
    labs.columns["unit"] = labs.columns["unit"].mask(wrong & ~unknown_test)


def _check_uln(labs: _Checked, findings: Findings) -> None:
    if "uln" not in labs.columns or "test" not in labs.columns:
        return
    needs = labs.columns["test"].isin(list(TESTS_NEEDING_ULN)).to_numpy()
    blank = labs.raw["uln"].isna().to_numpy()
    findings.add_cells("labs", "uln", needs & blank, labs.raw["uln"], MSG_ULN_NEEDED)
    if "unit" in labs.columns:  # a blank test in U/L is AST or ALT, the only tests measured in U/L
        untested = labs.raw["test"].isna().to_numpy() & (labs.columns["unit"] == "U/L").to_numpy()
        findings.add_cells("labs", "uln", untested & blank, labs.raw["uln"], MSG_ULN_NEEDED_NO_TEST)


def _typed_frame(table: _Checked) -> pd.DataFrame:
    spec = table.spec
    data = {c.name: table.columns[c.name].reset_index(drop=True) for c in spec.columns}
    # copy=False: no consolidation of same-dtype columns into one block (a full copy).
    frame = pd.DataFrame(data, index=pd.RangeIndex(table.n_rows), copy=False)
    return frame.astype({c.name: dtype_for(c) for c in spec.columns})

