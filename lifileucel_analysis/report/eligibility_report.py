"""The layer the report notebooks call: one object per report, one method per section.

A notebook builds the report once from its parameters and then shows one section per
cell::

    report = EligibilityReport.build(site=site, dataset=dataset, criteria_params=criteria_params)
    report.run_parameters()     # the parameters as a table
    report.verdict_counts()     # verdict counts and the N in = N out check
    report.outcome_grid()       # a matplotlib Figure

Every table method returns an :class:`HtmlTable` (or :class:`Tables`), whose
``_repr_html_`` is what a notebook shows. Rendering rules, so that reports are safe and
byte-for-byte reproducible:

- every value and header from the input is HTML-escaped (``DataFrame.to_html(escape=True)``,
  captions through :func:`html.escape`): a ``<script>`` in an evidence sentence, a waiver
  reason or a toxicity term is shown as text, never run;
- no index column, no element ids, no random uuids, no memory addresses, no timestamps;
- dates as ``YYYY-MM-DD``, shares as percentages with one decimal;
- paths inside the project are shown relative to the project root, so the same run
  renders identically on every machine.

Figures are :class:`matplotlib.figure.Figure` objects from :mod:`.figures`; building a
report calls :func:`.figures.configure_matplotlib`, which makes their inline PNGs
deterministic.

Defaults (``""``) resolve from the package, so a notebook runs as is from any working
directory (JupyterLab, papermill, nbval); other relative paths are looked up in the
working directory, then in the project root (:func:`resolve_path`).
"""

from __future__ import annotations

import hashlib
import html
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import figures

from . import summaries
from ..contract.dataset import ScreeningDataset
from ..engine.parameters import CriteriaParams, load_params, parameter_sources
from ..paths import CRITERIA_PARAMS, DEMO_DATASET, PROJECT_ROOT
from ..contract.schema import SITE_IDS, SITES, TABLES
from ..engine.screening import ScreeningResult, screen

ALL_SITES = "all"
PATH_ARGUMENTS: tuple[str, ...] = ("dataset", "criteria_params")
"""Notebook parameters that are paths: shown without machine-specific parts (:func:`display_given`)."""
PERCENT_SUFFIXES: tuple[str, ...] = ("share", "rate", "ci_low", "ci_high")
"""Columns whose name ends with one of these hold fractions and are shown as percentages."""
COLUMN_TITLES: dict[str, str] = {
    "patient_id": "patient",
    "site_id": "site",
    "criterion_id": "criterion ID",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "any_failure": "any failure",
    "any_failure_share": "any failure (% of screened)",
    "sole_reason": "sole reason",
    "sole_reason_share": "sole reason (% of ineligible)",
    "eligible_share": "eligible (%)",
    "unknown_rate": "unknown (% of screened)",
    "original_outcome": "outcome before waiver",
    "fields": "fields to collect",
}


# --------------------------------------------------------------------------- display objects


@dataclass(frozen=True)
class HtmlTable:
    """A table that shows itself as escaped, deterministic HTML in a notebook.

    Attributes
    ----------
    frame : pandas.DataFrame
        The table to show, as returned by :mod:`.summaries`; it is formatted for reading
        (dates, percentages, blanks) at render time, not changed.
    caption : str
        One line above the table.
    note : str
        A footnote below the table.
    empty : str
        What to say instead of an empty table.
    blank_repeats : sequence of str
        Columns whose value is printed only when it changes from the row above (for
        grouped tables such as Table 1 and the worklist).
    """

    frame: pd.DataFrame
    caption: str = ""
    note: str = ""
    empty: str = "None."
    blank_repeats: Sequence[str] = ()

    def to_html(self) -> str:
        """Return the table as an HTML fragment with every input value escaped."""
        parts = ['<div class="lifileucel-table">']
        if self.caption:
            parts.append(f"<p><strong>{_escape(self.caption)}</strong></p>")
        if self.frame.empty:
            parts.append(f"<p><em>{_escape(self.empty)}</em></p>")
        else:
            shown = display_frame(self.frame, blank_repeats=self.blank_repeats)
            parts.append(shown.to_html(index=False, escape=True, border=0, na_rep="", justify="left"))
        if self.note:
            parts.append(f"<p><small>{_escape(self.note)}</small></p>")
        parts.append("</div>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        # text/plain of the notebook output: short and stable (the HTML carries the table).
        rows, columns = self.frame.shape
        title = self.caption or "table"
        return f"{title} [{rows} rows x {columns} columns]"


@dataclass(frozen=True)
class Tables:
    """Several tables shown together (one notebook cell, one output)."""

    tables: tuple[HtmlTable, ...]

    def _repr_html_(self) -> str:
        return "\n".join(table.to_html() for table in self.tables)

    def __repr__(self) -> str:
        return "\n".join(repr(table) for table in self.tables)


@dataclass(frozen=True)
class Heading:
    """A heading line computed from the data (a site name); escaped like everything else."""

    text: str
    detail: str = ""

    def _repr_html_(self) -> str:
        detail = f"<p>{_escape(self.detail)}</p>" if self.detail else ""
        return f"<h2>{_escape(self.text)}</h2>{detail}"

    def __repr__(self) -> str:
        return self.text + (f"\n{self.detail}" if self.detail else "")


def _escape(text: str) -> str:
    """Escape text for an HTML text node, as ``DataFrame.to_html(escape=True)`` does."""
    return html.escape(text, quote=False)


def _is_percent_column(name: str) -> bool:
    return any(str(name).endswith(suffix) for suffix in PERCENT_SUFFIXES)


def _format_value(value: object, percent: bool) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        return f"{value:.1%}" if percent else f"{value:g}"
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, tuple | list):
        return "; ".join(str(v) for v in value)
    return str(value)


def display_frame(frame: pd.DataFrame, blank_repeats: Sequence[str] = ()) -> pd.DataFrame:
    """Return ``frame`` as strings for reading: dates, percentages, blanks, titled columns.

    Fractions in columns ending with :data:`PERCENT_SUFFIXES` become ``"12.5%"``; dates
    become ``YYYY-MM-DD``; blanks become ``""``; booleans ``yes``/``no``. Values are not
    escaped here (``to_html(escape=True)`` does that once, at the end).
    """
    shown = pd.DataFrame(index=range(len(frame)))
    for column in frame.columns:
        values = frame[column].reset_index(drop=True)
        percent = _is_percent_column(column)
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%d").fillna("")
        else:
            text = values.astype(object).map(lambda v, p=percent: _format_value(v, p))
        if column in blank_repeats:
            text = text.where(text.ne(text.shift()), "")
        title = COLUMN_TITLES.get(str(column), str(column).replace("_", " "))
        if title in shown.columns:
            raise ValueError(f"two columns would both be titled {title!r}")
        shown[title] = text.astype(str)
    return shown


# --------------------------------------------------------------------------- provenance


def resolve_path(value: str | Path, default: Path) -> Path:
    """Resolve a notebook path parameter: ``""`` -> ``default``.

    An absolute path is used as is. A relative path is looked up in the kernel's working
    directory first (the usual meaning, and what the report runner passes), then in the
    project root (the convention of ``params/*.yaml``), so ``params/my_site.yaml`` works
    from JupyterLab (which starts in ``notebooks/``) as well as from papermill.

    Raises
    ------
    FileNotFoundError
        When the path exists in neither place, naming both locations tried.
    """
    if str(value).strip() == "":
        return default
    path = Path(value).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, PROJECT_ROOT / path]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    tried = " or ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"{value!s} not found (looked at {tried}); pass an absolute path or one relative "
                            f"to the working directory or the project root")


def display_path(path: Path) -> str:
    """A path as shown in reports, never an absolute path of this machine.

    Inside the project: relative to the project root (``lifileucel_analysis/data/demo``).
    Elsewhere: the file or folder name with the first 12 hex digits of its
    :func:`dataset_fingerprint` (``site_data (outside the project, SHA-256 3f2a...)``),
    which names the content wherever it is stored, so the same data give the same page
    on every machine and a report sent by e-mail does not reveal the sender's folders.
    """
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT.resolve()).as_posix()
    except ValueError:
        pass
    fingerprint = dataset_fingerprint(resolved)[:12] if resolved.exists() else "missing"
    return f"{resolved.name or 'dataset'} (outside the project, SHA-256 {fingerprint})"


def display_given(value: str) -> str:
    """A path parameter as given, with an absolute path cut to its last part.

    ``"../data/x"`` and ``"params/x.yaml"`` are shown as typed; ``"/home/ana/sites/x"``
    becomes ``".../x (absolute path)"``, so running a notebook directly on an absolute path
    does not put that path into the page.
    """
    text = str(value)
    if text.strip() and Path(text).expanduser().is_absolute():
        return f".../{Path(text).name} (absolute path)"
    return text


def dataset_files(path: Path) -> list[Path]:
    """The files a dataset consists of: the workbook, or the table files of the folder."""
    if path.is_file():
        return [path]
    names = {f"{table}.{ext}" for table in TABLES for ext in ("csv", "parquet")}
    return sorted((p for p in path.iterdir() if p.name in names), key=lambda p: p.name)


def dataset_fingerprint(path: Path) -> str:
    """SHA-256 over the dataset's files (name and content, in name order), hex.

    The same files give the same fingerprint wherever they are stored; any changed byte
    changes it. A single file's fingerprint is not its plain ``sha256sum`` (the name is
    hashed too), so that renaming a table is noticed.
    """
    digest = hashlib.sha256()
    for file in dataset_files(path):
        digest.update(file.name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).hexdigest().encode("ascii") + b"\n")
    return digest.hexdigest()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class EligibilityReport:
    """One screening run, restricted to a site (or all), with a method per report section.

    Build it with :meth:`build`; the attributes are for tests and for readers who want
    the underlying tables.

    Attributes
    ----------
    site : str
        A site code of :data:`~.schema.SITE_IDS` or ``"all"``.
    result : ScreeningResult
        The screening restricted to ``site`` (``program`` when ``site == "all"``).
    program : ScreeningResult
        The screening of the whole dataset.
    dataset : ScreeningDataset
        The screened dataset (Table 1 reads patient characteristics from it).
    dataset_path : Path or None
        Where the dataset was read from (``None`` for an in-memory dataset).
    criteria_params_path : Path or None
        The criteria YAML that overrode the defaults (``None``: defaults only).
    arguments : dict
        The notebook parameters exactly as given.
    """

    site: str
    result: ScreeningResult
    program: ScreeningResult
    dataset: ScreeningDataset
    dataset_path: Path | None = None
    criteria_params_path: Path | None = None
    arguments: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, site: str | None = None, dataset: str | Path = "",
              criteria_params: str | Path = "") -> EligibilityReport:
        """Load the dataset, screen it with the parameters, keep the site's part.

        Parameters
        ----------
        site : str, optional
            A site code or ``"all"``. ``None`` (a notebook without a ``site`` parameter,
            such as the program overview) means all sites and is not listed among the
            run's parameters.
        dataset : str or Path
            A folder of CSV or Parquet files or an ``.xlsx`` workbook; ``""`` = the
            bundled demo cohort. See :func:`resolve_path` for relative paths.
        criteria_params : str or Path
            A criteria YAML overriding (some of) ``params/criteria.yaml``; ``""`` = the
            defaults. See :func:`resolve_path` for relative paths.

        Raises
        ------
        ValueError
            On an unknown site code.
        FileNotFoundError
            When a path does not exist.
        """
        arguments = {} if site is None else {"site": site}
        arguments |= {"dataset": str(dataset), "criteria_params": str(criteria_params)}
        site = ALL_SITES if site is None else site
        check_site(site)
        from ..contract.loading import load_dataset

        figures.configure_matplotlib()
        dataset_path = resolve_path(dataset, DEMO_DATASET)
        params_path = resolve_path(criteria_params, CRITERIA_PARAMS) if str(criteria_params).strip() else None
        data = load_dataset(dataset_path)
        program = screen(data, load_params(params_path))
        return cls.from_result(program, data, site=site, dataset_path=dataset_path, criteria_params_path=params_path,
                               arguments=arguments)

    @classmethod
    def from_result(cls, program: ScreeningResult, dataset: ScreeningDataset, site: str = ALL_SITES,
                    dataset_path: Path | None = None, criteria_params_path: Path | None = None,
                    arguments: dict[str, str] | None = None) -> EligibilityReport:
        """Wrap an existing screening (no loading; used by tests and by :meth:`build`)."""
        check_site(site)
        return cls(site=site, result=program.for_site(site), program=program, dataset=dataset,
                   dataset_path=dataset_path, criteria_params_path=criteria_params_path,
                   arguments=dict(arguments or {"site": site}))

    # ---------------------------------------------------------------- run and provenance

    @property
    def scope_name(self) -> str:
        """``"All sites"`` or the site's name from the record."""
        return "All sites" if self.site == ALL_SITES else SITES[self.site].name

    def scope(self) -> Heading:
        """A heading naming the site (or all sites) and the number screened."""
        n = len(self.result.verdicts)
        code = "" if self.site == ALL_SITES else f" ({self.site})"
        return Heading(f"{self.scope_name}{code}", f"{n} patients screened.")

    def run_parameters(self) -> Tables:
        """The notebook parameters and every criteria parameter, as tables (not code)."""
        given = pd.DataFrame({
            "parameter": list(self.arguments),
            "value given": [self._given_value(k, v) for k, v in self.arguments.items()],
            "used": [self._used_value(name) for name in self.arguments],
        })
        return Tables((
            HtmlTable(given, caption="Parameters of this run"),
            HtmlTable(criteria_parameter_table(self.program.params), caption="Criteria parameters",
                      note="'changed' = differs from params/criteria.yaml; source = where the limit comes from."),
        ))

    @staticmethod
    def _given_value(name: str, value: str) -> str:
        if value == "":
            return '"" (default)'
        return display_given(value) if name in PATH_ARGUMENTS else value

    def _used_value(self, name: str) -> str:
        if name == "dataset":
            if self.dataset_path is not None:
                return display_path(self.dataset_path)
            source = self.dataset.source  # a loaded dataset wrapped by from_result: its path
            return display_path(Path(source)) if Path(source).is_absolute() else source
        if name == "criteria_params":
            chosen = display_path(self.criteria_params_path) if self.criteria_params_path else ""
            return f"{display_path(CRITERIA_PARAMS)}" + (f" overridden by {chosen}" if chosen else " (defaults)")
        return str(self.arguments[name])

    def provenance(self) -> HtmlTable:
        """Where the data came from (path, fingerprint, table sizes) and the software versions."""
        rows = [("dataset", self._used_value("dataset"))]
        if self.dataset_path is not None:
            rows.append(("dataset SHA-256", dataset_fingerprint(self.dataset_path)))
            rows.append(("dataset files", ", ".join(p.name for p in dataset_files(self.dataset_path))))
        rows += [(f"rows in {table} (whole dataset)", str(len(self.dataset.table(table)))) for table in TABLES]
        rows.append(("loader notes", "; ".join(self.dataset.warnings) or "none"))
        rows += [
            ("lifileucel-eap", _version("lifileucel-eap")),
            # major.minor only: the lock pins packages, not the interpreter's patch release.
            ("python", ".".join(platform.python_version_tuple()[:2])),
            *((name, _version(name)) for name in ("pandas", "numpy", "matplotlib", "tableone")),
        ]
        return HtmlTable(pd.DataFrame(rows, columns=["item", "value"]), caption="Provenance")

    # ---------------------------------------------------------------- eligibility report

    def verdict_counts(self) -> Tables:
        """Verdict counts and the reconciliation N in = N out (raises if it fails)."""
        return Tables((
            HtmlTable(summaries.verdict_counts(self.result), caption="Verdicts"),
            HtmlTable(summaries.reconciliation(self.result), caption="Reconciliation: N in = N out",
                      note="Every patient of the input has exactly one verdict; the report stops otherwise."),
        ))

    def screening_log(self) -> HtmlTable:
        """One row per screened patient, in order of consent."""
        return HtmlTable(summaries.screening_log(self.result), caption="Screening log",
                         note="failed / unknown / waived: criterion IDs (I1-I8 inclusion, E1-E11 exclusion).",
                         empty="No patients screened.")

    def failure_details(self) -> HtmlTable:
        """Every failed criterion of every ineligible patient, with the engine's evidence."""
        return HtmlTable(summaries.failure_details(self.result), caption="Why patients are ineligible",
                         blank_repeats=("patient_id", "site_id"), empty="No patient is ineligible.")

    def outcome_grid(self) -> Figure:
        """Patient x criterion grid of outcomes, sorted by verdict."""
        return figures.outcome_grid(self.result, title=f"Criterion outcomes per patient, {self.scope_name}")

    def pending_worklist(self) -> HtmlTable:
        """Per pending patient and unknown criterion: the fields to collect."""
        return HtmlTable(summaries.pending_worklist(self.result), caption="Pending worklist: data to collect",
                         blank_repeats=("patient_id", "site_id"), empty="No patient is pending.")

    def waivers(self) -> HtmlTable:
        """Documented waivers: who approved which criterion, when and why."""
        return HtmlTable(summaries.waivers_table(self.result), caption="Waivers",
                         empty="No waivers were applied.")

    def findings(self) -> HtmlTable:
        """Data-quality findings of the screening."""
        return HtmlTable(summaries.data_quality_findings(self.result), caption="Data-quality findings",
                         empty="No data-quality findings.")

    # ---------------------------------------------------------------- site summary

    def site_facts(self) -> HtmlTable:
        """The site's entry in the registry record (all six sites for ``"all"``)."""
        if self.site == ALL_SITES:
            frame = pd.DataFrame([(s.site_id, s.name, f"{s.city}, {s.state} {s.zip_code}", s.status)
                                  for s in SITES.values()], columns=["site_id", "site_name", "city", "status"])
            return HtmlTable(frame, caption="Sites of the program (registry record NCT05398640)")
        return HtmlTable(summaries.site_facts(self.site), caption="The site in the registry record NCT05398640")

    def key_figures(self) -> HtmlTable:
        """Headline numbers: screened, verdicts, eligible share with 95% CI, dates."""
        return HtmlTable(summaries.key_figures(self.result), caption=f"Key figures, {self.scope_name}")

    def flow(self) -> Figure:
        """CONSORT-style flow figure."""
        return figures.consort_flow(self.result, title=f"Screening flow, {self.scope_name}")

    def failure_reasons(self) -> Tables:
        """Failure reasons counted three ways: any failure, sole reason, top combinations."""
        reasons = summaries.failure_reasons(self.result)
        return Tables((
            HtmlTable(reasons[reasons["any_failure"] > 0].reset_index(drop=True),
                      caption="Failure reasons: any failure and sole reason",
                      note="any failure: patients failing the criterion (possibly among others); sole reason: "
                           "patients for whom it is the only failed criterion. Criteria nobody fails are omitted.",
                      empty="No criterion failed."),
            HtmlTable(summaries.failure_combinations(self.result), caption="Most frequent combinations of failures",
                      empty="No criterion failed."),
        ))

    def failure_reasons_chart(self) -> Figure:
        """Bar chart of the failure reasons (any failure, sole reason)."""
        return figures.failure_reasons_chart(self.result, title=f"Failure reasons, {self.scope_name}")

    def unknown_rates(self) -> HtmlTable:
        """Unknown rate per criterion (data completeness)."""
        return HtmlTable(summaries.unknown_rates(self.result), caption="Unknown rate per criterion",
                         note="Share of screened patients whose criterion could not be decided from the data.")

    def unknown_rate_chart(self) -> Figure:
        """Bar chart of the unknown rate per criterion."""
        return figures.unknown_rate_chart(self.result, title=f"Unknown rate per criterion, {self.scope_name}")

    def monthly_counts(self) -> HtmlTable:
        """Patients screened per month of consent, by verdict."""
        return HtmlTable(summaries.monthly_counts(self.result), caption="Screening per month, by verdict",
                         empty="No patients screened.")

    def monthly_chart(self) -> Figure:
        """Stacked bars of screening per month, by verdict."""
        return figures.monthly_chart(self.result, title=f"Screened per month, {self.scope_name}")

    def table_one(self) -> HtmlTable:
        """Table 1 of the screened patients by verdict (tableone)."""
        return HtmlTable(summaries.table_one(self.result, self.dataset),
                         caption=f"Table 1: screened patients by verdict, {self.scope_name}",
                         note=summaries.TABLE_ONE_NOTE, blank_repeats=("variable",))

    # ---------------------------------------------------------------- program overview

    def site_comparison(self) -> HtmlTable:
        """All sites side by side: screened, verdicts, eligible share with 95% Wilson CI."""
        return HtmlTable(summaries.site_table(self.program, sites=list(SITE_IDS)), caption="Sites side by side",
                         note="Eligible share with its 95% Wilson score interval; 'all' = the whole program.")

    def site_comparison_chart(self) -> Figure:
        """Eligible share per site with 95% Wilson intervals."""
        return figures.site_comparison_chart(self.program)

    def failure_heatmap(self) -> Figure:
        """Heat map of failure rates, site x criterion."""
        return figures.site_heatmap(self.program, outcome="fail")

    def unknown_heatmap(self) -> Figure:
        """Heat map of unknown rates, site x criterion."""
        return figures.site_heatmap(self.program, outcome="unknown")

    def timeline(self) -> Figure:
        """Program timeline: consents per site over time, with the record's key dates."""
        return figures.program_timeline(self.program)


def check_site(site: str) -> None:
    """Raise ``ValueError`` unless ``site`` is a site code or ``"all"``."""
    if site != ALL_SITES and site not in SITES:
        raise ValueError(f"unknown site {site!r}; use one of {', '.join(SITE_IDS)} or {ALL_SITES!r}")


def criteria_parameter_table(params: CriteriaParams) -> pd.DataFrame:
    """Every criteria parameter: ``parameter``, ``value``, ``default``, ``changed``, ``source``."""
    defaults = load_params().as_dict()
    sources = parameter_sources()
    values = params.as_dict()
    return pd.DataFrame({
        "parameter": list(values),
        "value": [_parameter_text(v) for v in values.values()],
        "default": [_parameter_text(defaults.get(k)) for k in values],
        "changed": ["yes" if values[k] != defaults.get(k) else "" for k in values],
        "source": [sources.get(k, "") for k in values],
    })


def _parameter_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)

