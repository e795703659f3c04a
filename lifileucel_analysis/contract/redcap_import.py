"""Read a REDCap flat CSV export (made with the contract's dictionary) as a screening dataset.

A REDCap project built from :mod:`.redcap_dictionary` exports one CSV file ("CSV / Microsoft
Excel (raw data)"): the record ID first, ``redcap_repeat_instrument`` and
``redcap_repeat_instance``, then every field, each instrument followed by its
``<instrument>_complete`` status. A record has one row for the ``patients`` instrument
(both repeat columns blank) and one row per instance of each repeating instrument.

:func:`load_redcap_export` splits those rows back into the contract's raw tables (raw codes
mapped to contract codes, yes/no ``1``/``0`` to ``yes``/``no``), validates them with the
loader's own checks (:func:`.validation.validate_tables`), and words every problem in REDCap's
terms: the record, the instrument and the instance where the bad value sits, the export row
and the REDCap variable. Problems of the export's layout (an unknown instrument, a repeating
row holding another instrument's fields, an instance twice) are reported with them.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import ContractError, Problem, ScreeningDataset, names_shown
from .messages import MSG_MISSING_COLUMN, counted
from .reading import CONTROL_CHARACTER, first_rows, header_names
from .validation import in_larger_file, validate_tables
from .redcap_dictionary import RECORD_FORM, RECORD_ID, REPEATING_FORMS, RedcapField, choice_map, redcap_fields
from .schema import TABLES

REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
SYSTEM_COLUMNS: frozenset[str] = frozenset({
    REPEAT_INSTRUMENT, REPEAT_INSTANCE, "redcap_event_name", "redcap_data_access_group", "redcap_survey_identifier",
})
"""REDCap's own columns of a record export: the repeat columns are read, the others ignored."""
EXPORT = "REDCap export"
"""The ``table`` of problems that concern the export as a whole."""
EXPORT_MAX_COLUMNS = 16_384
"""Columns an export may have: Excel's limit. A site's REDCap project may hold fields beyond this
contract's, which the import ignores with a note; an export wider than a spreadsheet is not one."""
EXPORT_HEADER_CHARACTERS = 1 << 20
"""How long an export's header row may be: 16,384 field names of up to 64 characters."""


@dataclass(frozen=True)
class RedcapProblem(Problem):
    """A contract problem located in a REDCap export: record, instrument, instance, export row.

    ``table``, ``row`` and ``column`` keep the contract's location (for grouping); the
    message shows REDCap's: the record ID, the instrument, the instance (for repeating
    instruments), the data row of the export file and the REDCap variable.
    """

    record: str | None = None
    instrument: str | None = None
    instance: str | None = None
    export_row: int | None = None
    variable: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.record is not None:
            parts.append(f"REDCap record {self.record!r}")
        if self.instrument is not None and self.record is None:
            parts.append(f"instrument {self.instrument}")
        elif self.instrument is not None:
            instance = "not repeating" if self.instance is None else f"instance {self.instance}"
            parts.append(f"instrument {self.instrument} ({instance})")
        if self.export_row is not None:
            parts.append(f"export row {self.export_row}")
        if self.variable is not None:
            parts.append(f"field {self.variable}")
        where = ", ".join(parts) or EXPORT
        value = "" if self.value is None else f": value {self.value!r}"
        return f"{where}{value}: {self.message}"


def is_redcap_export(path: Path) -> bool:
    """Return whether ``path`` is a REDCap flat CSV export of this contract's project.

    It is when it is a ``.csv`` file whose header starts with the record ID (``patient_id``)
    and holds ``redcap_repeat_instrument`` or ``patients_complete``.
    """
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    header = header_names(path)
    return bool(header) and header[0] == RECORD_ID and (
        REPEAT_INSTRUMENT in header or f"{RECORD_FORM}_complete" in header)


def load_redcap_export(path: str | Path) -> ScreeningDataset:
    """Read and validate a REDCap flat CSV export (raw values) as a screening dataset.

    Parameters
    ----------
    path : str or Path
        The CSV file REDCap exported from a project built with the contract's dictionary.

    Returns
    -------
    ScreeningDataset
        As :func:`.loading.load_dataset` returns it; ``warnings`` also name the export's
        columns that were ignored.

    Raises
    ------
    ContractError
        Listing every problem, each naming the REDCap record, instrument and instance,
        the export row, the field, the value and what is allowed.
    """
    path = Path(path)
    frame = _read_export(path)
    tables, locators, problems, warnings = split_export(frame)
    if not tables:  # no record ID column: nothing can be placed
        raise ContractError(problems, str(path))
    try:
        dataset = validate_tables(tables, source=str(path))
    except ContractError as error:
        fields = {(f.table, f.column.name): f for f in redcap_fields()}
        located = problems + [_locate(p, locators, fields) for p in error.problems]
        raise ContractError(located, str(path), omitted=error.omitted) from None
    if problems:
        raise ContractError(problems, str(path))
    # Findings and notes name the export's data rows, where a site looks for them (audit, session 21:
    # they named rows of the tables the export was split into, which the export does not have).
    in_export = in_larger_file(dataset, {name: frame["export_row"].to_numpy() - 1 for name, frame in locators.items()})
    return dataclasses.replace(in_export, warnings=tuple(warnings) + in_export.warnings)


def _read_export(path: Path) -> pd.DataFrame:
    def fail(message: str) -> ContractError:
        return ContractError([RedcapProblem(EXPORT, None, None, str(path), message)], str(path))

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise fail(f"not UTF-8 text (byte {error.start}): export the data from REDCap again as CSV") from None
    if (control := CONTROL_CHARACTER.search(text)) is not None:  # the rule of every CSV table
        line = text.count("\n", 0, control.start()) + 1
        raise fail(f"holds the control character U+{ord(control.group()):04X} on line {line}: a table is plain "
                   "text (tabs and line breaks only); remove it")
    # Before pandas makes an object of each column (audit 36B). A site's project may hold far more
    # fields than this contract's 54, so an export may be as wide as an Excel sheet, not a table.
    rows, too_long = first_rows(text, limit=sys.maxsize, head_size=EXPORT_HEADER_CHARACTERS)
    if too_long is not None:
        raise fail(f"the export {too_long}")
    if rows and len(rows[0]) > EXPORT_MAX_COLUMNS:
        raise fail(f"the export has {len(rows[0]):,} columns, more than {EXPORT_MAX_COLUMNS:,}: export only "
                   "this project's instruments")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except Exception as error:  # noqa: BLE001 - every parser error is a problem of the file
        raise fail(f"not a readable CSV file ({str(error)[:200]})") from None
    return frame.set_axis([str(name).strip().lower() for name in frame.columns], axis=1)


def split_export(frame: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame],
                                              list[Problem], list[str]]:
    """Split a REDCap export into the contract's raw tables.

    Parameters
    ----------
    frame : pandas.DataFrame
        The export as text cells, header names lower case.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Raw tables by contract name (contract column names, contract codes).
    locators : dict of str to pandas.DataFrame
        Per table, aligned with its rows: ``record``, ``instance`` and ``export_row``.
    problems : list of Problem
        Problems of the export's layout.
    warnings : list of str
        Columns ignored.
    """
    problems: list[Problem] = []
    fields = redcap_fields()
    known = {RECORD_ID} | {f.name for f in fields}
    ignored = [c for c in frame.columns if c not in known and c not in SYSTEM_COLUMNS and not c.endswith("_complete")]
    warnings = [f"REDCap export: ignored {counted(len(ignored), 'column')} not in the contract's dictionary: "
                f"{names_shown(ignored)}"] if ignored else []
    if RECORD_ID not in frame.columns:
        problems.append(RedcapProblem(EXPORT, None, RECORD_ID, None, "no record ID column: the export's first "
                                      f"column must be {RECORD_ID} (export the whole project, all fields)"))
        return {}, {}, problems, warnings
    cells = frame.apply(lambda column: column.str.strip())
    record = cells[RECORD_ID]
    instrument = cells[REPEAT_INSTRUMENT] if REPEAT_INSTRUMENT in cells else pd.Series("", index=cells.index)
    instance = cells[REPEAT_INSTANCE] if REPEAT_INSTANCE in cells else pd.Series("", index=cells.index)
    export_row = pd.Series(np.arange(1, len(cells) + 1), index=cells.index)
    bad = _layout_problems(cells, record, instrument, instance, export_row, fields, problems)
    tables, locators = {}, {}
    for table in TABLES:
        rows = (instrument == ("" if table == RECORD_FORM else table)) & ~bad
        own = [f for f in fields if f.table == table]
        tables[table] = _table_frame(cells.loc[rows], record[rows], own)
        locators[table] = pd.DataFrame({"record": record[rows], "instance": instance[rows],
                                        "export_row": export_row[rows]}).reset_index(drop=True)
    return tables, locators, problems, warnings


def _layout_problems(cells: pd.DataFrame, record: pd.Series, instrument: pd.Series, instance: pd.Series,
                     export_row: pd.Series, fields: tuple[RedcapField, ...], problems: list[Problem]) -> pd.Series:
    """Check which instrument each row belongs to; return the rows that cannot be placed."""
    repeating = instrument != ""
    unknown = repeating & ~instrument.isin(REPEATING_FORMS)
    instance_ok = instance.str.fullmatch(r"[1-9][0-9]*")
    checks = [
        (record == "", "blank record ID: every row of the export names its record"),
        (unknown, f"unknown repeating instrument: expected one of {', '.join(REPEATING_FORMS)} "
                  f"({RECORD_FORM} is not repeating: its row leaves {REPEAT_INSTRUMENT} blank)"),
        (repeating & ~instance_ok, f"{REPEAT_INSTANCE} must be a whole number >= 1 on a repeating row"),
        (~repeating & (instance != ""), f"{REPEAT_INSTANCE} is set but {REPEAT_INSTRUMENT} is blank"),
    ]
    placed = pd.Series(np.where(repeating, instrument, RECORD_FORM), index=cells.index)
    for table in TABLES:  # values in the fields of another instrument
        for other in TABLES:
            foreign = [f.name for f in fields if f.table == other != table and f.name in cells and f.name != RECORD_ID]
            if foreign:
                filled = (cells[foreign] != "").any(axis=1)
                checks.append(((placed == table) & filled & ~unknown,
                               f"holds values of fields of instrument {other}: each row carries one instrument "
                               f"(set up {', '.join(REPEATING_FORMS)} as repeating instruments and export again)"))
    twice = repeating & instance_ok & pd.DataFrame({"r": record, "i": instrument, "n": instance}).duplicated(keep=False)
    checks.append((twice, "this instance appears more than once in the export"))
    bad = pd.Series(False, index=cells.index)
    for mask, message in checks:
        for position in np.flatnonzero(mask.to_numpy() & ~bad.to_numpy())[:1000]:
            problems.append(RedcapProblem(
                placed.iloc[position], None, None, None, message, record=record.iloc[position] or None,
                instrument=placed.iloc[position], instance=instance.iloc[position] if repeating.iloc[position]
                else None, export_row=int(export_row.iloc[position])))
        bad |= mask
    return bad


def _table_frame(cells: pd.DataFrame, record: pd.Series, fields: list[RedcapField]) -> pd.DataFrame:
    """One raw table: contract column names, REDCap raw codes mapped to contract codes."""
    columns = {RECORD_ID: record.reset_index(drop=True)}
    for field in fields:
        if field.name not in cells:
            continue  # the contract check reports the missing column
        values = cells[field.name].reset_index(drop=True)
        if field.column.kind in ("code", "yesno"):
            mapped = values.str.lower().map(choice_map(field.column))
            values = mapped.where(mapped.notna(), values)
        columns[field.column.name] = values
    return pd.DataFrame(columns)


def _locate(problem: Problem, locators: dict[str, pd.DataFrame],
            fields: dict[tuple[str, str | None], RedcapField]) -> Problem:
    """Word a contract problem in REDCap's terms (record, instrument, instance, field)."""
    table = problem.table
    field = fields.get((table, problem.column))
    variable = field.name if field is not None else problem.column
    message = problem.message
    if message == MSG_MISSING_COLUMN:
        message = ("field missing from the export: export all records and fields, identifiers included (blank "
                   "values are fine; a de-identified export drops birth_date)")
    if field is not None and field.column.kind in ("code", "yesno") and problem.row is not None:
        raw = ", ".join(f"{raw} = {code}" for raw, code in choice_map(field.column).items())
        message += f" (REDCap raw codes: {raw})"
    if problem.row is None or table not in locators:
        instrument = table if table in TABLES else None
        return RedcapProblem(table, None, problem.column, problem.value, message, instrument=instrument,
                             variable=variable)
    where = locators[table].iloc[problem.row - 1]
    return RedcapProblem(
        table, problem.row, problem.column, problem.value, message, record=str(where["record"]), instrument=table,
        instance=None if table == RECORD_FORM else str(where["instance"]), export_row=int(where["export_row"]),
        variable=variable)
