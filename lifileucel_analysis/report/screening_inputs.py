"""From paths to a screening: the one place that turns a dataset path and a criteria YAML
path into a :class:`~..engine.screening.ScreeningResult`.

Used by the report objects (:meth:`.EligibilityReport.build`), the command line and the
report runner, so that a path means the same thing wherever it is given. The engine itself
never reads files; this module does, and imports nothing that draws (no matplotlib).

The path rule (:func:`resolve_input_path`), as ``docs/reports.md`` describes it for the
notebook parameters:

- ``None`` or a blank string means the default: the bundled demo cohort for the dataset,
  the package defaults (``lifileucel_analysis/data/criteria_defaults.yaml``) alone (no override) for the criteria parameters;
- an absolute path is used as is;
- a relative path is looked up in the working directory first (``base``: the usual
  meaning, what the command line and the report runner pass), then in the project root
  (the convention of ``params/*.yaml``), so ``params/my_site.yaml`` works from JupyterLab,
  which starts in ``notebooks/``, as well as from papermill or a shell;
- a path found in neither place raises :class:`InputNotFoundError`, naming both places.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract.data_cut import DataCut, apply_cut, parse_cut_date
from ..contract.dataset import ContractError, Problem, ScreeningDataset
from ..contract.drug_file import package_drug_table, read_drug_file
from ..contract.findings import DATASET
from ..contract.messages import MSG_NO_DATASET, ShownAsMessage, counted
from ..contract.validation import in_larger_file, refused_in_larger_file
from ..engine.drug_dictionary import changed_package_classes, check_site_drugs
from ..engine.parameters import CriteriaParams, load_params
from ..engine.screening import ScreeningResult, screen
from ..paths import DEMO_DATASET, PROJECT_ROOT


class InputNotFoundError(ShownAsMessage, FileNotFoundError):
    """An input path that exists neither where it was given nor in the project root.

    A :class:`FileNotFoundError` (the notebooks' documented error); the command line
    reports it with exit status 2, like any other input that cannot be used. ``tried``
    names the places looked at (``" or "``-joined).
    """

    tried: str = ""


@dataclass(frozen=True)
class ScreenedInputs:
    """A screening together with the inputs it was computed from.

    Attributes
    ----------
    dataset_path : Path
        Where the dataset was read from (resolved, absolute).
    criteria_params_path : Path or None
        The criteria YAML that overrode the package defaults (``lifileucel_analysis/data/criteria_defaults.yaml``) (``None``: defaults only).
    dataset : ScreeningDataset
        The dataset as loaded (its ``warnings`` list the loader's lenient fixes).
    params : CriteriaParams
        The criteria parameters applied.
    result : ScreeningResult
        The screening of the whole dataset (of what was known at the cut, with a cut).
    cut : DataCut or None
        The data cut applied and what it set aside (``None``: no cut, every row counts).
    drugs_path : Path or None
        The site drug dictionary that extended the package's (``None``: the package's only).
    drug_table : pandas.DataFrame or None
        Its rows, as read and checked (``None`` with it).
    """

    dataset_path: Path
    criteria_params_path: Path | None
    dataset: ScreeningDataset
    params: CriteriaParams
    result: ScreeningResult
    cut: DataCut | None = None
    drugs_path: Path | None = None
    drug_table: pd.DataFrame | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        """What the command says besides the verdicts (:func:`screening_notes`)."""
        return screening_notes(self.dataset, self.drugs_path, self.drug_table)


def screening_notes(dataset: ScreeningDataset, drugs_path: Path | None,
                    drug_table: pd.DataFrame | None) -> tuple[str, ...]:
    """The loader's lenient fixes (``dataset.warnings``), and the package drugs whose class the site's drug
    file (``drugs_path``, read as ``drug_table``) changes (:func:`..engine.drug_dictionary.changed_package_classes`),
    for the command to say."""
    if drug_table is None:
        return tuple(dataset.warnings)
    changed = changed_package_classes(package_drug_table(), drug_table)
    said = (f"the drug file {drugs_path} changes the class of {counted(len(changed), 'package drug')} (E1, I2 and "
            f"I3 read it): {'; '.join(changed)}",) if changed else ()
    return (*dataset.warnings, *said)


def not_given(value: str | Path | None) -> bool:
    """Whether a path parameter asks for its default (``None``, ``""`` or only spaces)."""
    return value is None or str(value).strip() == ""


def resolve_input_path(value: str | Path | None, default: Path, base: Path | None = None,
                       what: str = "") -> Path:
    """Resolve an input path by the module's rule: blank -> ``default``.

    Parameters
    ----------
    value : str, Path or None
        The path as given.
    default : Path
        Returned (unchanged) for a blank ``value``.
    base : Path, optional
        Where a relative path is looked up first; the working directory by default.
    what : str
        What the path is (``"dataset"``), to start the error message with.

    Returns
    -------
    Path
        The absolute, resolved path of an existing file or folder.

    Raises
    ------
    InputNotFoundError
        When the path exists in none of the places tried, naming each of them.
    """
    if not_given(value):
        return default
    path = Path(value).expanduser()
    candidates = [path] if path.is_absolute() else [(base or Path.cwd()) / path, PROJECT_ROOT / path]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    tried = " or ".join(dict.fromkeys(str(c) for c in candidates))  # the working directory may be the project root
    prefix = f"{what} " if what else ""
    error = InputNotFoundError(f"{prefix}{value!s} not found: no such file or folder (looked at {tried}); pass an "
                               f"absolute path or one relative to the working directory or the project root")
    error.tried = tried
    raise error


def screen_files(dataset: str | Path | None = None, criteria_params: str | Path | None = None,
                 base: Path | None = None, drugs: str | Path | None = None,
                 cut_date: str | dt.date | None = None,
                 source_rows: Mapping[str, np.ndarray] | None = None) -> ScreenedInputs:
    """Load a dataset and the criteria parameters from their paths and screen the dataset.

    Parameters
    ----------
    dataset : str, Path or None
        A folder of CSV or Parquet files or an ``.xlsx`` workbook; blank = the bundled
        demo cohort.
    criteria_params : str, Path or None
        A criteria YAML overriding (some of) the package defaults (``lifileucel_analysis/data/criteria_defaults.yaml``); blank = the
        defaults alone.
    base : Path, optional
        Where relative paths are looked up first (the working directory by default); see
        the module docstring for the whole rule.
    drugs : str, Path or None
        A site's drug dictionary CSV (``agent``, ``drug_class``, ``source``) extending the
        package's; blank = the package dictionary alone.
    cut_date : str, date or None
        Screen what was known on this date (``YYYY-MM-DD``; see
        :mod:`lifileucel_analysis.contract.data_cut`); blank = no cut, every row counts.
    source_rows : mapping of str to numpy.ndarray, optional
        When the dataset is part of a larger one (a bucket), each table's rows' 0-based data
        rows in the larger dataset's files (``ScreeningDataset.source_rows``), so that
        findings name those rows; a table's array may be longer than the table as loaded
        (trailing blank rows the loader dropped).

    Returns
    -------
    ScreenedInputs

    Raises
    ------
    InputNotFoundError
        When the criteria YAML does not exist (checked before anything is read).
    ContractError
        When the dataset does not exist or breaks the data contract.
    ParamsError
        When the criteria YAML cannot be used, or the cut date is not a date.
    """
    prepared = prepare_inputs(dataset, criteria_params, base, drugs, cut_date, source_rows)
    return prepared.screened(screen(prepared.dataset, prepared.params, prepared.drug_table))


@dataclass(frozen=True)
class PreparedInputs:
    """A dataset loaded, validated and cut, with the criteria and drug dictionary, not yet screened.

    What :func:`screen_files` screens in one piece; the ``screen`` command screens a large
    one slice by slice (:func:`lifileucel_analysis.contract.patient_slices.patient_slices`).
    The attributes are those of :class:`ScreenedInputs` but ``result``, plus
    ``drug_table``: the site drug dictionary's rows (``None``: the package's alone).
    """

    dataset_path: Path
    criteria_params_path: Path | None
    dataset: ScreeningDataset
    params: CriteriaParams
    cut: DataCut | None = None
    drugs_path: Path | None = None
    drug_table: pd.DataFrame | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        """What the command says besides the verdicts (:func:`screening_notes`)."""
        return screening_notes(self.dataset, self.drugs_path, self.drug_table)

    def screened(self, result: ScreeningResult) -> ScreenedInputs:
        """These inputs with their screening."""
        return ScreenedInputs(dataset_path=self.dataset_path, criteria_params_path=self.criteria_params_path,
                              dataset=self.dataset, params=self.params, result=result, cut=self.cut,
                              drugs_path=self.drugs_path, drug_table=self.drug_table)


def read_site_drugs(path: Path) -> pd.DataFrame:
    """Read a site's drug file (``--drugs``) and check it against the package dictionary.

    Parameters
    ----------
    path : Path
        The site's drug file (CSV: ``agent``, ``drug_class``[, ``source``]).

    Returns
    -------
    pandas.DataFrame
        Its rows, checked.

    Raises
    ------
    ContractError
        On a malformed row (:func:`..contract.drug_file.read_drug_file`), or one drug given two
        different sets of classes (:func:`..engine.drug_dictionary.check_site_drugs`), naming the file.
    """
    table = read_drug_file(path)
    check_site_drugs(table, str(path))
    return table


def prepare_inputs(dataset: str | Path | None = None, criteria_params: str | Path | None = None,
                   base: Path | None = None, drugs: str | Path | None = None,
                   cut_date: str | dt.date | None = None,
                   source_rows: Mapping[str, np.ndarray] | None = None) -> PreparedInputs:
    """Everything :func:`screen_files` does but the screening (same parameters, same errors)."""
    # Imported here: reading pulls in openpyxl and pyarrow's readers, which a caller that
    # only resolves paths does not need.
    from ..contract.loading import load_dataset

    try:
        dataset_path = resolve_input_path(dataset, DEMO_DATASET, base, what="dataset")
    except InputNotFoundError as missing:
        # A dataset that is not there is a contract problem like any other, in the contract's own
        # words (exit 2, "N problems in the screening dataset ..."), naming where it was looked for.
        where = f" (looked at {missing.tried})"
        problem = Problem(DATASET, None, None, str(dataset), MSG_NO_DATASET.format(where=where,
                                                                                   or_root=" or the project root"))
        raise ContractError([problem], str((base or Path.cwd()) / Path(str(dataset)).expanduser())) from None
    params_path = None if not_given(criteria_params) else resolve_input_path(
        criteria_params, DEMO_DATASET, base, what="criteria parameters")
    cut_on = parse_cut_date(cut_date)
    params = load_params(params_path)
    drug_table, drugs_path = None, None
    if not not_given(drugs):
        drugs_path = resolve_input_path(drugs, DEMO_DATASET, base, what="drug dictionary")
        drug_table = read_site_drugs(drugs_path)
    try:
        data = load_dataset(dataset_path)
    except ContractError as error:
        if not source_rows:
            raise
        raise refused_in_larger_file(error, source_rows) from None
    if source_rows:  # composed with the loader's own (rows it dropped, such as a repeated override)
        data = in_larger_file(data, source_rows)
    cut = None
    if cut_on is not None:
        data, cut = apply_cut(data, cut_on)
    return PreparedInputs(dataset_path=dataset_path, criteria_params_path=params_path, dataset=data, params=params,
                          cut=cut, drugs_path=drugs_path, drug_table=drug_table)
