"""The download files beside every report page of a build (:mod:`..report.downloads`).

The dataset is screened once per distinct criteria file of the plan (normally once), each
report's site is cut from it, and its worklist, screening log and failure details are
written as xlsx and csv next to ``<notebook>/<name>.html``, in the staging folder, so
they are swapped into place with the pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..contract.schema import ALL_SITES
from ..report.downloads import download_tables, write_downloads
from ..report.oversight import waiver_roles
from ..report.screening_inputs import ScreenedInputs, screen_files
from ..report.worklist import data_currency
from .plan import ReportSpec


def write_report_downloads(specs: Sequence[ReportSpec], dataset: Path | None, stage: Path) -> list[Path]:
    """Write the downloads of every report in ``specs`` under ``stage``; return their paths."""
    screened: dict[str, ScreenedInputs] = {}
    written = []
    for spec in specs:
        criteria = str(spec.parameters.get("criteria_params", "") or "")
        if criteria not in screened:
            screened[criteria] = screen_files("" if dataset is None else dataset, criteria)
        inputs = screened[criteria]
        program = inputs.result
        site = str(spec.parameters.get("site", ALL_SITES))
        roles = waiver_roles(str(spec.parameters.get("waiver_roles", "") or ""))
        tables = download_tables(program.for_site(site), inputs.dataset.patients, data_currency(program.verdicts),
                                 roles)
        written += write_downloads(tables, stage / spec.notebook, spec.name)
    return written
