"""The index page and manifest of a build, and the banner that links each page back to it.

``index.html`` lists every report of a build with its parameters, its status (a failed
report names its error and the cell where it stopped) and links, above the provenance of
the run; ``manifest.json`` holds the same for programs. Both are reproducible: no
timings, no absolute paths. Every value from the data or the parameter files is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..contract.schema import SITES
from ..report.downloads import download_kinds, download_name
from ..report.provenance import Provenance
from .plan import ReportSpec
from .run_notebook import ReportResult

INDEX_FILE = "index.html"
MANIFEST_FILE = "manifest.json"


def report_title(spec_notebook: str, name: str) -> str:
    """Human title of a report: ``Eligibility report - Memorial Sloan Kettering ...``."""
    what = spec_notebook.replace("_", " ").capitalize()
    where = SITES[name].name if name in SITES else "all sites"
    return f"{what} - {where}"


def report_banner(spec: ReportSpec, parameters: Mapping[str, Any], provenance: Provenance) -> str:
    """Top of every report page; closed by :func:`.run_notebook.run_report` after an optional failure line."""
    return (f'<nav class="eap-banner"><a href="../{INDEX_FILE}">&larr; All reports</a>'
            f"<strong>{html.escape(report_title(spec.notebook, spec.name))}</strong> &middot; "
            f"parameters: <code>{html.escape(parameter_text(parameters))}</code> &middot; "
            f"dataset {html.escape(dataset_with_fingerprint(provenance))} &middot; "
            f"commit {html.escape(provenance.git_commit[:12])}")


def dataset_with_fingerprint(provenance: Provenance) -> str:
    """``lifileucel_analysis/data/demo (sha256 d062beccde62)``; a dataset outside the project is
    named with its fingerprint already (:func:`..report.provenance.display_path`), which is
    not repeated (audit, session 16: "(SHA-256 d062beccde62) (sha256 d062beccde62)")."""
    if "SHA-256" in provenance.dataset:
        return provenance.dataset
    return f"{provenance.dataset} (sha256 {provenance.dataset_sha256[:12]})"


def parameter_text(parameters: Mapping[str, Any]) -> str:
    """The values a report ran with, as one line: ``site = 'mskcc', dataset = ''``."""
    return ", ".join(f"{k} = {v!r}" for k, v in parameters.items()) or "(notebook defaults)"


def render_index(specs: Sequence[ReportSpec], results: Mapping[str, ReportResult], provenance: Provenance,
                 parameters: Mapping[str, Mapping[str, Any]]) -> str:
    """Render ``index.html``: every report with its status and links, and the provenance.

    Parameters
    ----------
    specs : sequence of ReportSpec
        Reports in reading order.
    results : mapping of str to ReportResult
        By report key.
    provenance : Provenance
        Fingerprints of the inputs.
    parameters : mapping
        The values each report ran with (including ``dataset``), by key.

    Returns
    -------
    str
        A self-contained page (inline CSS, no script, relative links only).
    """
    failed = [s.key for s in specs if not results[s.key].ok]
    summary = (f"{len(specs)} reports, all built." if not failed
               else f"{len(specs)} reports, {len(failed)} FAILED: {', '.join(failed)}.")
    rows = "\n".join(_index_row(spec, results[spec.key], parameters[spec.key]) for spec in specs)
    prov = "\n".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>"
                     for k, v in provenance.rows())
    return INDEX_TEMPLATE.format(summary_class="failed" if failed else "ok", summary=html.escape(summary),
                                 rows=rows, provenance=prov)


def _index_row(spec: ReportSpec, result: ReportResult, parameters: Mapping[str, Any]) -> str:
    title = html.escape(report_title(spec.notebook, spec.name))
    links = []
    if result.html:
        links.append(f'<a href="{html.escape(result.html)}">HTML</a>')
    if result.ipynb:
        links.append(f'<a href="{html.escape(result.ipynb)}">notebook</a>')
    links += [f'{title_} <a href="{spec.notebook}/{download_name(spec.name, kind, "xlsx")}">xlsx</a> '
              f'<a href="{spec.notebook}/{download_name(spec.name, kind, "csv")}">csv</a>'
              for kind, title_ in download_kinds(spec.notebook).items()]
    status = ('<td class="ok">built</td>' if result.ok else
              f'<td class="failed">FAILED: {html.escape(result.error)}<br>stopped at {html.escape(result.cell)}</td>')
    first = (f'<a href="{html.escape(result.html)}">{title}</a>' if result.html else title)
    return (f'<tr id="{html.escape(spec.key)}"><td>{first}</td><td><code>{html.escape(spec.notebook)}</code></td>'
            f"<td><code>{html.escape(parameter_text(parameters))}</code><br><small>from "
            f"{html.escape(spec.source)}</small></td>{status}<td>{'<br>'.join(links)}</td></tr>")


INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>lifileucel EAP eligibility reports (NCT05398640)</title>
<style type="text/css">
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 14px; }}
thead th {{ background: #f0f0f0; }}
.ok {{ color: #1b5e20; }}
.failed {{ color: #b00020; font-weight: bold; }}
code {{ font-size: 12px; word-break: break-all; }}
</style>
</head>
<body>
<h1>lifileucel Expanded Access Program: eligibility reports</h1>
<p>Screening against the criteria of NCT05398640. Every report below was built in this run
from the dataset and parameters listed under Provenance.</p>
<p class="{summary_class}" id="summary">{summary}</p>
<h2>Reports</h2>
<table id="reports">
<thead><tr><th>Report</th><th>Notebook</th><th>Parameters</th><th>Status</th><th>Files</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>Provenance</h2>
<table id="provenance">
<tbody>
{provenance}
</tbody>
</table>
</body>
</html>
"""


def write_manifest(path: Path, specs: Sequence[ReportSpec], results: Mapping[str, ReportResult],
                   provenance: Provenance, parameters: Mapping[str, Mapping[str, Any]]) -> None:
    """Write the machine-readable twin of the index (no timings: it must be reproducible)."""
    reports = []
    for spec in specs:
        result = asdict(results[spec.key])
        result.pop("seconds")
        reports.append({**result, "notebook": spec.notebook, "name": spec.name, "source": spec.source,
                        "parameters": dict(parameters[spec.key])})
    data = {"provenance": asdict(provenance), "reports": reports}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
