"""The download files beside every report page of a build (:mod:`..report.downloads`).

The dataset is screened once per distinct criteria file of the plan (normally once), at
the build's cut date (:func:`screen_plan`); each report's site is cut from it, and its
worklist, screening log, failure details, oversight flags, waivers and changes since the
last cut are written as xlsx and csv next to ``<notebook>/<name>.html``, in the staging
folder, so they are swapped into place with the pages. A criteria impact page gets its
own two (differences between the two criteria, each criterion's impact), computed by the
same functions as the page (:mod:`..report.criteria_impact_tables`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..contract.schema import ALL_SITES
from ..paths import NOTEBOOKS_DIR
from ..report.downloads import CRITERIA_IMPACT_NOTEBOOK, download_tables, write_downloads
from ..report.oversight import waiver_roles
from ..report.screening_inputs import ScreenedInputs, screen_files
from ..report.since_last_cut import HistoryView, compare_with_previous
from ..report.worklist import data_currency
from .plan import COMPARE_PARAMETER, ReportSpec, declared_parameters

if TYPE_CHECKING:
    import pandas as pd


def _criteria(spec: ReportSpec) -> str:
    return str(spec.parameters.get("criteria_params", "") or "")


def screen_plan(specs: Sequence[ReportSpec], dataset: Path | None, cut_date: str | None = None
                ) -> dict[str, ScreenedInputs]:
    """The build's screening, once per distinct ``criteria_params`` of ``specs`` (``""``: the defaults)."""
    screened: dict[str, ScreenedInputs] = {}
    for spec in specs:
        criteria = _criteria(spec)
        if criteria not in screened:
            screened[criteria] = screen_files("" if dataset is None else dataset, criteria, cut_date=cut_date)
    return screened


def write_report_downloads(specs: Sequence[ReportSpec], stage: Path, screened: Mapping[str, ScreenedInputs],
                           history: Path | None = None, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Write the downloads of every report in ``specs`` under ``stage``; return their paths.

    ``screened`` is :func:`screen_plan` of the build; ``history`` the run history the pages
    compare with (their ``changes`` download is the page's table; a header only without
    it). ``notebooks_dir`` holds the templates, whose defaults count for a parameter the
    plan leaves out (the criteria impact notebook's ``compare_with``).
    """
    written = []
    view = None if history is None else HistoryView(history)  # the history read once for every page
    for spec in specs:
        inputs = screened[_criteria(spec)]
        if spec.notebook == CRITERIA_IMPACT_NOTEBOOK:
            tables = _criteria_impact_tables(spec, inputs, notebooks_dir)
        else:
            program = inputs.result
            site = str(spec.parameters.get("site", ALL_SITES))
            roles = waiver_roles(str(spec.parameters.get("waiver_roles", "") or ""))
            cut = None if inputs.cut is None else inputs.cut.cut_date
            changes = compare_with_previous(history, inputs, site, view).compared_changes
            tables = download_tables(program.for_site(site), inputs.dataset.patients,
                                     data_currency(program.verdicts, cut), roles, changes)
        written += write_downloads(tables, stage / spec.notebook, spec.name)
    return written


def _criteria_impact_tables(spec: ReportSpec, inputs: ScreenedInputs, notebooks_dir: Path) -> dict[str, pd.DataFrame]:
    from ..report.criteria_impact_tables import impact_download_tables, screen_compared

    compare_with = spec.parameters.get(COMPARE_PARAMETER)
    if compare_with is None:  # left out of the plan: the notebook's own default, as the page used it
        compare_with = declared_parameters(notebooks_dir / f"{spec.notebook}.ipynb")[COMPARE_PARAMETER].default
    compared = screen_compared(inputs, str(compare_with or ""))
    return impact_download_tables(inputs.result, None if compared is None else compared.result)
