"""The ``screen`` command's output files, defined once for the plain and the bucketed screen.

A screen writes (``docs/performance.md``, "Bucketed datasets", lists the same files):

- ``verdicts.csv``, ``outcomes`` and ``missing_data`` (the two long tables as ``.csv`` or
  ``.parquet`` by size, :func:`.output_files.long_table_name`): :func:`core_tables`;
- ``findings.csv``: the data-quality findings;
- ``waivers.csv``: the documented waivers applied, with the outcome and sentence each replaced
  (:func:`waivers_file`; the SDTM export of a screen folder reads them here, not from the sentences);
- ``worklist-<site>.csv`` for every site with screened patients: its pending patients in
  plain words, closest to eligible first (:func:`..report.worklist.plain_worklist`);
- ``fields-<site>.csv`` beside it: each field those patients wait on, one row each, in the
  worklist's order, with a blank column to tick off (:func:`..report.collection_list.collection_list`,
  the pages' ``pending-fields`` download);
- ``data_cut.csv`` with ``--cut-date``: the cut and what it set aside.

:func:`screen_plain` writes them from one screening in memory (above 125,000 patients
slice by slice, :mod:`.sliced_screen`, the same bytes). For a bucketed dataset,
:func:`bucket_tables` is what each bucket hands back (patient-major tables, the worklists'
and fields' rows with their sort key, the cut's counts, the latest consent date) and
:mod:`.bucketed_screen` merges the buckets into the same files. Both paths build each
file from the same functions here, so a file added to the plain screen has to be added
to :func:`bucket_tables` too; ``tests/test_buckets.py`` compares every file of the plain
screen's output folder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..contract.chunked_output import FIELDS_PREFIX, WORKLIST_PREFIX
from ..contract.data_cut import DataCut
from ..contract.output_files import long_table_name, publish_set, write_outputs
from ..contract.patient_slices import SLICE_PATIENTS
from ..contract.schema import SITE_IDS, screened_sites
from ..contract.screen_output import CRITERIA_FILE, DATA_CUT_FILE, WAIVERS_COLUMNS, WAIVERS_FILE, ScreenedTables
from ..engine.screening import ScreeningResult, screen
from ..report.collection_list import field_rows, finish_fields
from ..report.criteria_catalog import criteria_record
from ..report.downloads import readable
from ..report.screening_inputs import ScreenedInputs, prepare_inputs, screen_files
from ..report.worklist import (DataCurrency, currency_of, dated_for_file, finish_worklist, in_worklist_order,
                               worklist_rows)

if TYPE_CHECKING:  # the history module is imported only when a run is recorded
    from ..report.run_history import RunRecord

__all__ = ["CORE_TABLES", "DATA_CUT_FILE", "FIELDS_PREFIX", "FINDINGS_FILE", "ORDER_KEY", "PATIENT_TABLES",
           "ScreenOptions", "ScreenRun", "bucket_tables", "core_tables", "fields_file", "finish_ordered_chunk",
           "finish_worklist_chunk", "latest_consent", "latest_of", "ordered_files", "patient_tables", "publish",
           "screen_family", "screen_plain", "waivers_file", "worklist_file"]

FINDINGS_FILE = "findings.csv"
ORDER_KEY = "_order"
"""Column of a bucket's worklist rows holding :func:`..report.worklist.worklist_order_key`."""


@dataclass(frozen=True)
class ScreenOptions:
    """What a screen applies besides the data (picklable: Dask workers receive it).

    Attributes
    ----------
    params : str or None
        Criteria YAML (absolute, so that workers elsewhere find it); ``None``: the defaults.
    drugs : str or None
        A site's drug dictionary CSV (absolute); ``None``: the package dictionary alone.
    cut_date : str or None
        ``YYYY-MM-DD``: screen what was known on that day; ``None``: no cut.
    """

    params: str | None = None
    drugs: str | None = None
    cut_date: str | None = None


@dataclass(frozen=True)
class ScreenRun:
    """What a screen did, for the command to say: counts, the cut, files written, the history run."""

    n_in: int
    verdicts: dict[str, int]
    findings: int
    notes: tuple[str, ...]
    cut: DataCut | None
    written: list[Path]
    recorded: tuple[RunRecord, bool] | None = field(default=None)
    """``(RunRecord, new)`` when the run was recorded in a history."""


CORE_TABLES = ("verdicts.csv", "outcomes", "missing_data")
"""The names of :func:`core_tables`, in its order."""


def core_tables(result: ScreeningResult) -> dict[str, pd.DataFrame]:
    """The spec's screen tables (section 4) by name (:data:`CORE_TABLES`): a name with an extension is a
    fixed file, a bare stem a long table whose format (CSV or Parquet) is chosen by size."""
    return dict(zip(CORE_TABLES, (
        result.verdicts[["patient_id", "site_id", "verdict", "failed", "unknown", "waived"]],
        result.outcomes[["patient_id", "criterion_id", "outcome", "evidence"]],
        result.missing_data,
    ), strict=True))


def waivers_file(result: ScreeningResult) -> pd.DataFrame:
    """``waivers.csv``: the result's waivers table, patients in the verdicts' order (patient-major, so
    that slices and buckets append and merge it as the other tables), then criteria in catalog order,
    then each criterion's rows in speaking order (the row its sentence cites first)."""
    waivers = result.waivers
    at = pd.Index(result.verdicts["patient_id"]).get_indexer(waivers["patient_id"])
    order = np.lexsort((waivers["criterion_id"].cat.codes.to_numpy(), at))  # stable: speaking order kept
    return waivers.iloc[order][list(WAIVERS_COLUMNS)].reset_index(drop=True)


PATIENT_TABLES = (*CORE_TABLES, FINDINGS_FILE, WAIVERS_FILE)
"""The names of :func:`patient_tables`, in its order."""


def patient_tables(result: ScreeningResult) -> dict[str, pd.DataFrame]:
    """Every patient-major output table by name (:data:`PATIENT_TABLES`): :func:`core_tables`, the
    findings, the waivers."""
    return dict(zip(PATIENT_TABLES, (*core_tables(result).values(), result.findings, waivers_file(result)),
                    strict=True))


def worklist_file(site: str) -> str:
    """``worklist-<site>.csv``."""
    return f"{WORKLIST_PREFIX}{site}.csv"


def fields_file(site: str) -> str:
    """``fields-<site>.csv``: the fields ``worklist-<site>.csv``'s patients wait on, one row each."""
    return f"{FIELDS_PREFIX}{site}.csv"


def ordered_files(rows: pd.DataFrame, result: ScreeningResult) -> dict[str, pd.DataFrame]:
    """Each site's worklist and fields rows, in the worklists' order, with their :data:`ORDER_KEY`.

    ``rows``: :func:`..report.worklist.worklist_rows` of ``result`` (a slice or a bucket of a
    screening). A patient's fields share the patient's key and keep the order the worklist names
    them in: the merges order rows by key stably, so they stay together and in that order.
    """
    rows = in_worklist_order(rows, ORDER_KEY)
    fields = field_rows(result, rows, carry=(ORDER_KEY,))
    row_site, field_site = rows["site_id"].astype(str).to_numpy(), fields["site_id"].astype(str).to_numpy()
    files = {}
    for site in _sites(result):
        files[worklist_file(site)] = rows[row_site == site].reset_index(drop=True)
        files[fields_file(site)] = fields[field_site == site].reset_index(drop=True)
    return files


def _sites(result: ScreeningResult) -> list[str]:
    """The sites with screened patients, in the contract's order."""
    # The distinct values first: a bucket's 125,000 site IDs turned into strings took 0.09 s each time.
    return screened_sites(str(site) for site in result.verdicts["site_id"].unique())


def finish_worklist_chunk(rows: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """Worklist rows (already in order) as the file shows them: days pending from ``as_of``, titled columns."""
    return readable(dated_for_file(finish_worklist(rows, as_of), as_of))


def finish_ordered_chunk(name: str, rows: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """Rows of the ordered file ``name`` (a worklist or a fields file, in order) as the file shows them."""
    if name.startswith(FIELDS_PREFIX):
        return readable(dated_for_file(finish_fields(rows, as_of), as_of, "nmald_date"))
    return finish_worklist_chunk(rows, as_of)


def latest_consent(result: ScreeningResult) -> dt.date | None:
    """The screened patients' latest consent date (``None``: none known): without a cut, days pending count from it."""
    latest = result.verdicts["consent_date"].max()
    return None if pd.isna(latest) else pd.Timestamp(latest).date()


def screen_family() -> list[str]:
    """Every file name a screen can write: an earlier run's such file that this run does not write
    (the long tables in the other format, ``data_cut.csv`` of an earlier cut, the worklist and
    fields files of a site no longer in the data) must not pass for this run's, so publishing
    removes it (:func:`..contract.output_files.publish_set`)."""
    names = [*CORE_TABLES[:1], FINDINGS_FILE, WAIVERS_FILE, CRITERIA_FILE, DATA_CUT_FILE]
    names += [f"{stem}.{ext}" for stem in ("outcomes", "missing_data") for ext in ("csv", "parquet")]
    return names + [name(site) for site in SITE_IDS for name in (worklist_file, fields_file)]


def publish(final: Path, names: Iterable[str], out: Path) -> list[Path]:
    """Move the finished files ``names`` from a staging folder into ``out`` as one set (earlier files of
    :func:`screen_family` that this run does not write are removed, on success only).

    The sliced and the bucketed screen write into ``final`` (beside ``out``, same file
    system, so each move is a rename) and publish only once every file is complete.
    """
    return publish_set(final, list(names), out, screen_family())


def screen_plain(dataset: str | Path, out: Path, options: ScreenOptions, long_format: str,
                 history: str | Path | None = None, slice_patients: int | None = None) -> ScreenRun:
    """Screen a dataset in memory and write every output file into ``out`` (all or none), then record it.

    A dataset of more than ``slice_patients`` patients is screened slice by slice
    (:func:`.sliced_screen.screen_in_slices`): the same files, byte for byte, without the
    whole cohort's outcome table in memory.

    Parameters
    ----------
    dataset : str or Path
        As :func:`..report.screening_inputs.screen_files` takes it.
    out : Path
        Output folder.
    options : ScreenOptions
    long_format : {"auto", "csv", "parquet"}
        As ``--long-format``.
    history : str or Path, optional
        Also record the run in this DuckDB history (:func:`..report.run_history.record_run`).
    slice_patients : int, optional
        Patients per slice, and the size above which a dataset is screened in slices
        (default :data:`~lifileucel_analysis.contract.patient_slices.SLICE_PATIENTS`).
    """
    if history is not None:  # before anything is written, not after the outputs are published (audit 42C)
        from ..report.run_history import check_history_file

        check_history_file(Path(history))
    prepared = prepare_inputs(dataset, options.params, drugs=options.drugs, cut_date=options.cut_date)
    size = SLICE_PATIENTS if slice_patients is None else slice_patients
    if prepared.dataset.n_patients > size:
        from .sliced_screen import screen_in_slices  # calls this module

        return screen_in_slices(prepared, out, long_format, history, size)
    inputs = prepared.screened(screen(prepared.dataset, prepared.params, prepared.drug_table))
    written = write_outputs(_plain_files(inputs, long_format), out, screen_family())
    recorded = None
    if history is not None:
        from ..report.run_history import record_run  # DuckDB only when a history is asked for

        recorded = record_run(history, inputs)
    result = inputs.result
    counts = result.verdicts["verdict"].value_counts()
    return ScreenRun(n_in=result.n_in, verdicts={str(v): int(n) for v, n in counts.items()},
                     findings=len(result.findings), notes=inputs.notes, cut=inputs.cut,
                     written=written, recorded=recorded)


def _plain_files(inputs: ScreenedInputs, long_format: str) -> dict[str, pd.DataFrame]:
    result = inputs.result
    files = {name if "." in name else long_table_name(name, len(frame), long_format): frame
             for name, frame in patient_tables(result).items()}
    # Days pending count from the cut date when there is one, else from the latest consent date.
    as_of = latest_of([latest_consent(result)], inputs.cut.cut_date if inputs.cut is not None else None)
    # The program's worklist rows, cut by site: every step is per patient and the order is fixed
    # by the sort key (IDs are unique), so each site's part is what its own worklist would be.
    for name, rows in ordered_files(worklist_rows(result, inputs.dataset.patients), result).items():
        files[name] = finish_ordered_chunk(name, rows.drop(columns=ORDER_KEY), as_of)
    if inputs.cut is not None:  # the run file: which cut these tables are, and what it set aside
        files[DATA_CUT_FILE] = inputs.cut.frame()
    files[CRITERIA_FILE] = criteria_record(inputs.params, inputs.criteria_params_path, inputs.drugs_path)  # TI, drugs
    return files


def bucket_tables(bucket: Path, options: ScreenOptions, source_rows: Mapping[str, np.ndarray]) -> ScreenedTables:
    """Screen one bucket of a bucketed dataset: what it contributes to each output file.

    Module-level and free of printing, so that Dask workers can run it.

    Parameters
    ----------
    bucket : Path
        The bucket's folder (an ordinary Parquet dataset).
    options : ScreenOptions
    source_rows : mapping of str to numpy.ndarray
        Each table's rows' 0-based rows in the source (the partition's positions).

    Returns
    -------
    ScreenedTables
        ``tables``: :func:`patient_tables` (patient-major, patients in the
        bucket's order); ``ordered``: per site with screened patients, its worklist and fields
        rows (:func:`ordered_files`) sorted by their :data:`ORDER_KEY` column; ``positions``: the source row of each screened patient; the cut's counts
        and the latest consent date, which the merge needs from every bucket.
    """
    inputs = screen_files(bucket, options.params, drugs=options.drugs, cut_date=options.cut_date,
                          source_rows=source_rows)
    result = inputs.result
    # Each row is one patient's own: the bucket's rows of a site are the site's rows of its patients.
    ordered = ordered_files(worklist_rows(result, inputs.dataset.patients), result)
    counts = result.verdicts["verdict"].value_counts()
    latest = latest_consent(result)
    return ScreenedTables(
        tables=patient_tables(result), ordered=ordered,
        patient_ids=inputs.dataset.patients["patient_id"].astype(str).to_numpy(dtype=object),
        positions=inputs.dataset.rows_in_source("patients"),
        n_in=result.n_in, verdicts={str(v): int(n) for v, n in counts.items()}, findings=len(result.findings),
        notes=inputs.notes, cut=inputs.cut,
        latest_consent=latest)


def latest_of(dates: Iterable[dt.date | None], cut_date: dt.date | None = None) -> DataCurrency:
    """The data currency of a screening split in parts: the cut date, else the latest of the parts' latest consents."""
    known = [d for d in dates if d is not None]
    return currency_of(pd.Timestamp(max(known)) if known else None, cut_date)
