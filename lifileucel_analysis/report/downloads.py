"""The files a reader takes away from a report page: worklist, screening log, failure details.

Each report page ``<notebook>/<name>.html`` of a build has beside it, per table,
``<name>-<kind>.xlsx`` (one sheet, frozen header, filters, column widths) and
``<name>-<kind>.csv`` (formulas neutralised), written by the runner
(:mod:`lifileucel_analysis.runner.report_downloads`) and linked from the page
(its header, :func:`.page_parts.page_header`) and from the index. Every row of a
patient table carries its patient ID and site; the same inputs give the same bytes.

- ``pending-worklist``: every pending patient exactly once (:mod:`.worklist`);
- ``pending-fields``: one row per field a pending patient waits on, in the worklist's order, with
  a blank ``collected`` column to fill in (:mod:`.collection_list`); every pending patient appears;
- ``screening-log``: every screened patient exactly once;
- ``failure-details``: one row per failed criterion of each ineligible patient (every
  ineligible patient appears, once per criterion failed);
- ``oversight-flags``: one row per flag (:mod:`.oversight`);
- ``waivers``: one row per documented waiver;
- ``findings``: one row per data-quality finding;
- ``changes``: one row per patient that changed since the previous run of the run history
  (:mod:`.since_last_cut`; a header only without a history or an earlier run);
- ``site-criterion-rates``: one row per site and criterion, the heat maps' cells as numbers
  (no patient column).

The criteria impact page (:mod:`.criteria_impact_report`) has its own two
(:data:`CRITERIA_IMPACT_DOWNLOAD_KINDS`): ``differences`` (one row per patient and
criterion whose outcome differs between the two criteria; a header only without a
comparison) and ``criterion-impact`` (one row per criterion). :func:`download_kinds`
says which a notebook's page has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..contract.output_files import neutralise_formulas
from ..contract.writing import xlsx_download_bytes
from . import site_summaries, summaries
from .collection_list import collection_list
from .html_tables import column_title, display_frame, is_percent_column
from .oversight import DEFAULT_WAIVER_ROLES, oversight_flags, waivers_with_roles
from .worklist import DataCurrency, dated_for_file, mark_changes, plain_worklist

if TYPE_CHECKING:  # the protocol, for type checkers only
    from .summaries import ResultLike

DOWNLOAD_KINDS: dict[str, str] = {
    "pending-worklist": "Pending worklist",
    "pending-fields": "Fields to collect",
    "screening-log": "Screening log",
    "failure-details": "Failure details",
    "oversight-flags": "Oversight flags",
    "waivers": "Waivers",
    "findings": "Data-quality findings",
    "changes": "Changes since the last cut",
    "site-criterion-rates": "Rates by site and criterion",
}
"""File-name part and sheet name of every download, in reading order."""
CRITERIA_IMPACT_NOTEBOOK = "criteria_impact"
"""The notebook comparing two criteria (:mod:`.criteria_impact_report`), whose page has its own downloads."""
CRITERIA_IMPACT_DOWNLOAD_KINDS: dict[str, str] = {
    "differences": "Differences A vs B",
    "criterion-impact": "Criterion impact",
}
"""File-name part and sheet name of the criteria impact page's downloads."""
SHEET_NAMES: dict[str, str] = {**DOWNLOAD_KINDS, **CRITERIA_IMPACT_DOWNLOAD_KINDS}
DOWNLOAD_FORMATS: tuple[str, ...] = ("xlsx", "csv")
CHANGE_COLUMNS_SHOWN: list[str] = ["patient_id", "site_id", "change", "site_before", "verdict_before", "verdict_after",
                                   "outcome_changes", "evidence_before", "evidence_after"]
"""The per-patient changes as the page and its download show them (columns of
:func:`.changes.patient_changes`): patient and site first, like every patient table; the
criteria newly failed, resolved and newly unknown are counted per criterion above the table
(and listed in ``changes.csv`` of the ``changes`` command), so that the table fits a printed page."""


def download_name(stem: str, kind: str, fmt: str) -> str:
    """``mskcc-pending-worklist.xlsx``: the file beside the page ``mskcc.html``."""
    return f"{stem}-{kind}.{fmt}"


def download_kinds(notebook: str) -> dict[str, str]:
    """The downloads beside a page of ``notebook`` (``{kind: title}``, reading order)."""
    return CRITERIA_IMPACT_DOWNLOAD_KINDS if notebook == CRITERIA_IMPACT_NOTEBOOK else DOWNLOAD_KINDS


def download_tables(result: ResultLike, patients: pd.DataFrame, as_of: DataCurrency,
                    allowed_roles: tuple[str, ...] = DEFAULT_WAIVER_ROLES,
                    changes: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The tables of a report's downloads, as the page shows them (by kind).

    The pending worklist's and the oversight flags' files add an ``as of`` column
    (:func:`.worklist.dated_for_file`): the date their days pending and NMA-LD "date passed" or
    "scheduled" count to, which the page says in its note.

    ``changes`` is the page's :attr:`.since_last_cut.CutComparison.changes` (``None``: no
    earlier run to compare with, a table with the header only); the worklist marks what
    changed for each pending patient (:func:`.worklist.mark_changes`).
    """
    shown = pd.DataFrame(columns=CHANGE_COLUMNS_SHOWN) if changes is None else changes[CHANGE_COLUMNS_SHOWN]
    return {
        "pending-worklist": dated_for_file(mark_changes(plain_worklist(result, patients, as_of), changes), as_of),
        "pending-fields": dated_for_file(collection_list(result, patients, as_of), as_of, "nmald_date"),
        "screening-log": summaries.screening_log(result),
        "failure-details": summaries.failure_details(result),
        "oversight-flags": dated_for_file(oversight_flags(result, patients, as_of, allowed_roles), as_of, "detail"),
        "waivers": waivers_with_roles(result, allowed_roles),
        "findings": summaries.data_quality_findings(result),
        "changes": shown.reset_index(drop=True),
        "site-criterion-rates": site_summaries.site_criterion_table(result),
    }


def readable(frame: pd.DataFrame, for_workbook: bool = False) -> pd.DataFrame:
    """The frame as the page shows it (titled columns, dates as text), keeping integers numeric.

    ``for_workbook``: dates and shares stay dates and numbers too, which a workbook stores as
    date cells and percentages (:func:`percent_titles`), so that Excel's filters and sorting
    work on them (review 24: they were text cells).
    """
    shown = display_frame(frame)
    shares = percent_titles(frame) if for_workbook else set()
    for column, title in zip(frame.columns, shown.columns, strict=True):
        dtype = frame[column].dtype
        kept = pd.api.types.is_integer_dtype(dtype) or for_workbook and (
            pd.api.types.is_datetime64_any_dtype(dtype) or title in shares)
        if kept:
            shown[title] = frame[column].reset_index(drop=True)
    return shown


def percent_titles(frame: pd.DataFrame) -> set[str]:
    """The titles (as shown) of ``frame``'s float columns that hold fractions (shown as percentages)."""
    return {column_title(column) for column in frame.columns
            if is_percent_column(str(column)) and pd.api.types.is_float_dtype(frame[column].dtype)}


def download_bytes(kind: str, frame: pd.DataFrame, fmt: str) -> bytes:
    """One download file's bytes: ``xlsx`` (one sheet) or ``csv`` (UTF-8 with a byte-order mark, ``\\n``).

    The mark lets Excel, where a coordinator opens the file, read non-ASCII text as UTF-8.
    """
    if fmt == "xlsx":
        return xlsx_download_bytes({SHEET_NAMES[kind]: readable(frame, for_workbook=True)}, percent_titles(frame))
    return neutralise_formulas(readable(frame)).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def write_downloads(tables: Mapping[str, pd.DataFrame], folder: Path, stem: str) -> list[Path]:
    """Write every table of ``tables`` as xlsx and csv into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, frame in tables.items():
        for fmt in DOWNLOAD_FORMATS:
            path = folder / download_name(stem, kind, fmt)
            path.write_bytes(download_bytes(kind, frame, fmt))
            written.append(path)
    return written
