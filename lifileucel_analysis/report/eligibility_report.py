"""The layer the report notebooks call: one object per report, one method per section.

A notebook builds the report once from its parameters and then shows one section per
cell::

    report = EligibilityReport.build(site=site, dataset=dataset, criteria_params=criteria_params)
    report.run_parameters()     # the parameters as a table
    report.verdict_counts()     # verdict counts and the N in = N out check
    report.outcome_grid()       # a matplotlib Figure

Every table method returns an :class:`~.html_tables.HtmlTable` (or :class:`~.html_tables.Tables`),
escaped, deterministic HTML (rules in :mod:`.html_tables`). Paths inside the project are shown relative
to the project root, others by name and fingerprint (:mod:`.provenance`): the same on every machine. Figures are :class:`~.figure_style.ReportFigure` objects from
:mod:`.figures` and :mod:`.site_figures`; each carries its own style and PNG settings, so
building a report changes no global matplotlib state.

Defaults (``""``) resolve from the package, so a notebook runs as is from any working
directory (JupyterLab, papermill, nbval); other relative paths are looked up in the
working directory, then in the project root (:mod:`.screening_inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..contract.data_cut import DataCut
from ..contract.dataset import ScreeningDataset
from ..contract.messages import counted
from ..contract.schema import ALL_SITES, SITE_IDS, SITES, TABLES
from ..engine.screening import ScreeningResult
from ..paths import CRITERIA_PARAMS_NAME
from . import attrition, attrition_figures, figure_texts, figures, oversight, page_parts, site_figures, site_summaries
from . import history_figures, since_last_cut, summaries, table_one
from .collection_list import FIELD_SUMMARY_NOTE, collection_list, fields_by_field
from .criteria_catalog import criteria_parameter_table
from .downloads import download_name
from .html_tables import PAGE_ROWS, Heading, HtmlTable, Markup, Tables
from .html_tables import escape as html_escape
from .notebook_parameters import refuse_non_text, refuse_unknown_injected
from .provenance import dataset_files, dataset_fingerprint, display_given, display_path, software_versions
from .run_history import check_history_path
from .screening_inputs import ScreenedInputs, not_given, resolve_input_path, screen_files
from .worklist import WORKLIST_NOTE, DataCurrency, data_currency, mark_changes, nmald_for_reading, plain_worklist

GRID_MAX_PATIENTS = 600
"""Above this many patients the outcome grid becomes criterion x outcome counts (rows would be < 1 px)."""
PATH_ARGUMENTS: tuple[str, ...] = ("dataset", "criteria_params", "history")
"""Notebook parameters that are paths: shown without machine-specific parts (:func:`.provenance.display_given`)."""


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
    cut : DataCut or None
        The data cut the screening used and what it set aside (``None``: no cut).
    history_path : Path or None
        The run history the page compares with (``None``: none given).
    """

    site: str
    result: ScreeningResult
    program: ScreeningResult
    dataset: ScreeningDataset
    dataset_path: Path | None = None
    criteria_params_path: Path | None = None
    arguments: dict[str, str] = field(default_factory=dict)
    waiver_roles: tuple[str, ...] = oversight.DEFAULT_WAIVER_ROLES
    cut: DataCut | None = None
    history_path: Path | None = None

    @classmethod
    def build(cls, site: str | None = None, dataset: str | Path = "", criteria_params: str | Path = "",
              waiver_roles: str = "", cut_date: str = "", history: str | Path = "", page: str = "") -> EligibilityReport:
        """Load the dataset, screen it with the parameters, keep the site's part.

        Parameters
        ----------
        site : str, optional
            A site code or ``"all"``. ``None`` (a notebook without a ``site`` parameter,
            such as the program overview) means all sites and is not listed among the
            run's parameters.
        dataset : str or Path
            A folder of CSV or Parquet files or an ``.xlsx`` workbook; ``""`` = the
            bundled demo cohort. See :mod:`.screening_inputs` for relative paths.
        criteria_params : str or Path
            A criteria YAML overriding (some of) the package defaults (``lifileucel_analysis/data/criteria_defaults.yaml``); ``""`` = the
            defaults. See :mod:`.screening_inputs` for relative paths.
        waiver_roles : str
            Roles allowed to approve a waiver, ``;``-separated; ``""`` =
            :data:`.oversight.DEFAULT_WAIVER_ROLES`.
        cut_date : str
            Screen what was known on this date (``YYYY-MM-DD``; ``docs/history.md``); ``""`` =
            no cut, every row of the dataset counts.
        history : str or Path
            A run history (DuckDB file) to compare with ("Since the last cut", verdicts over
            the cuts); ``""`` = none. The same path rule as ``dataset``; opened read-only.
        page : str
            The page it is for (``"site_summary"`` refuses site ``"all"`` before screening); ``""``: any.

        Raises
        ------
        ParamsError
            (A ``ValueError``) on an unknown site code, ``"all"`` for a site summary, a bad ``cut_date``.
        FileNotFoundError
            When a path does not exist (:class:`.screening_inputs.InputNotFoundError`).
        ContractError
            When the dataset breaks the data contract or does not exist.
        """
        refuse_unknown_injected()  # papermill's -p of a name this notebook does not take (audit 43N)
        refuse_non_text({"dataset": dataset, "criteria_params": criteria_params, "waiver_roles": waiver_roles,
                         "history": history})
        arguments = {} if site is None else {"site": site}
        arguments |= {"dataset": str(dataset), "criteria_params": str(criteria_params), "waiver_roles": waiver_roles,
                      "cut_date": str(cut_date), "history": str(history)}
        site = ALL_SITES if site is None else site
        page_parts.check_site(site, page)  # before anything is read
        page_parts.check_page_site(page, site)
        history_path = None if not_given(history) else resolve_input_path(history, Path(), what="run history")
        if history_path is not None:
            check_history_path(history_path)  # before the screen, not at "Since the last cut" (audit 43N)
        inputs = screen_files(dataset, criteria_params, cut_date=cut_date)
        report = cls.from_result(inputs.result, inputs.dataset, site=site, dataset_path=inputs.dataset_path,
                                 criteria_params_path=inputs.criteria_params_path, arguments=arguments)
        return replace(report, waiver_roles=oversight.waiver_roles(waiver_roles), cut=inputs.cut,
                       history_path=history_path)

    @classmethod
    def from_result(cls, program: ScreeningResult, dataset: ScreeningDataset, site: str = ALL_SITES,
                    dataset_path: Path | None = None, criteria_params_path: Path | None = None,
                    arguments: dict[str, str] | None = None) -> EligibilityReport:
        """Wrap an existing screening (no loading; used by tests and by :meth:`build`)."""
        page_parts.check_site(site)
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
        account = page_parts.cut_account(self.cut, n if self.site == ALL_SITES else None)
        said = f"{counted(n, 'patient')} screened."
        return Heading(f"{self.scope_name}{code}", f"{said} {account}" if account else said)

    def run_parameters(self) -> Tables:
        """The notebook parameters and every criteria parameter, as tables (not code)."""
        given = pd.DataFrame({"parameter": list(self.arguments),
                              "value given": [self._given_value(k, v) for k, v in self.arguments.items()],
                              "used": [self._used_value(name) for name in self.arguments]})
        return Tables((
            HtmlTable(given, caption="Parameters of this run"),
            HtmlTable(criteria_parameter_table(self.program.params, self.criteria_params_path),
                      caption="Criteria parameters",
                      note="'changed' = differs from the package defaults; source = where the limit comes from."),
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
        if name == "waiver_roles":
            return "; ".join(self.waiver_roles)
        if name == "criteria_params":
            chosen = display_path(self.criteria_params_path) if self.criteria_params_path else ""
            return CRITERIA_PARAMS_NAME + (f" overridden by {chosen}" if chosen else " (defaults)")
        if name == "cut_date":
            return self._cut_text()
        if name == "history":
            return since_last_cut.display_history(self.history_path)
        return str(self.arguments[name])

    def _cut_text(self) -> str:
        if self.cut is None:
            return "none: every row of the dataset counts"
        return f"{self.cut.cut_date.isoformat()}: what was known on that day"

    def provenance(self) -> HtmlTable:
        """Where the data came from (path, fingerprint, table sizes) and the software versions."""
        rows = [("dataset", self._used_value("dataset"))]
        if self.dataset_path is not None:
            rows.append(("dataset SHA-256", dataset_fingerprint(self.dataset_path)))
            rows.append(("dataset files", ", ".join(p.name for p in dataset_files(self.dataset_path))))
        rows += [(f"rows in {table} (whole dataset)", str(len(self.dataset.table(table)))) for table in TABLES]
        rows.append(("loader notes", "; ".join(self.dataset.warnings) or "none"))
        rows.append(("data cut date", self._cut_text()))
        if self.cut is not None:  # what the cut set aside, counted (docs/history.md)
            counts = [f"{item} {value}" for item, value in self.cut.rows()[2:] if value != "0"]
            rows.append(("set aside by the data cut", "; ".join(counts) or "nothing"))
        rows.append(("run history", since_last_cut.display_history(self.history_path)))
        if self.history_path is not None and self.dataset_path is not None:
            rows.append(("run ID (run history)", self.cut_comparison.run_id))
        rows += software_versions()
        return HtmlTable(pd.DataFrame(rows, columns=["item", "value"]), caption="Provenance")

    # ---------------------------------------------------------------- eligibility report

    def verdict_counts(self) -> Tables:
        """Verdict counts and the reconciliation N in = N out (raises if it fails)."""
        return Tables((
            HtmlTable(summaries.verdict_counts(self.result), caption="Verdicts", note="share: of those screened."),
            HtmlTable(summaries.reconciliation(self.result, self.cut if self.site == ALL_SITES else None),
                      caption="Reconciliation: N in = N out",
                      note="Every patient of the input has exactly one verdict; the report stops otherwise."),
        ))

    def screening_log(self) -> HtmlTable:
        """One row per screened patient, in order of consent."""
        return HtmlTable(summaries.screening_log(self.result), caption="Screening log",
                         note="failed / unknown / waived: criterion IDs (I1-I8 inclusion, E1-E11 exclusion; "
                              "see the legend).",
                         empty="No patients screened.", max_rows=PAGE_ROWS,
                         download=download_name(self.site, "screening-log", "xlsx"))

    def failure_details(self) -> HtmlTable:
        """Every failed criterion of every ineligible patient, with the engine's evidence."""
        return HtmlTable(summaries.failure_details(self.result), caption="Why patients are ineligible",
                         empty="No patient is ineligible.", max_rows=PAGE_ROWS,
                         download=download_name(self.site, "failure-details", "xlsx"))

    def outcome_grid(self) -> Figure:
        """Patient x criterion grid of outcomes, sorted by verdict; counts when too many patients to read."""
        if len(self.result.verdicts) > GRID_MAX_PATIENTS:
            fig = attrition_figures.outcome_counts_chart(self.result, title=f"Criterion outcomes, {self.scope_name}")
            return fig.describe(figure_texts.outcome_grid(self.result, aggregated=True))
        fig = figures.outcome_grid(self.result, title=f"Criterion outcomes per patient, {self.scope_name}")
        return fig.describe(figure_texts.outcome_grid(self.result, aggregated=False))

    @property
    def currency(self) -> DataCurrency:
        """How current the data are: the data cut date, or without a cut the program's latest consent date."""
        return data_currency(self.program.verdicts, None if self.cut is None else self.cut.cut_date)

    def worklist_frame(self) -> pd.DataFrame:
        """The pending worklist in plain words, each pending patient once (:mod:`.worklist`), as the page shows it."""
        return nmald_for_reading(mark_changes(plain_worklist(self.result, self.dataset.patients, self.currency),
                                              self.cut_comparison.compared_changes))

    def pending_worklist(self) -> Tables:
        """Each pending patient once, closest to eligible first; then the fields to collect counted by kind."""
        fields = collection_list(self.result, self.dataset.patients, self.currency)
        return Tables((
            HtmlTable(self.worklist_frame(), caption="Pending worklist: data to collect, closest to eligible first",
                      note=WORKLIST_NOTE.format(as_of=self.currency.phrase(),
                                                fields=download_name(self.site, "pending-fields", "xlsx")),
                      empty="No patient is pending.", max_rows=PAGE_ROWS,
                      download=download_name(self.site, "pending-worklist", "xlsx")),
            HtmlTable(fields_by_field(fields), caption="Fields to collect, by field: pending patients waiting on each",
                      note=FIELD_SUMMARY_NOTE, empty="No patient is pending.")))

    # ---------------------------------------------------------------- screening over time (docs/history.md)

    @cached_property
    def cut_comparison(self) -> since_last_cut.CutComparison:
        """This page's screening against the history's earlier run (:mod:`.since_last_cut`), read once per page."""
        if self.history_path is not None and self.dataset_path is None:
            raise ValueError("a report of an in-memory dataset is no run of a history; build it from a path")
        inputs = ScreenedInputs(dataset_path=self.dataset_path or Path(), criteria_params_path=self.criteria_params_path,
                                dataset=self.dataset, params=self.program.params, result=self.program, cut=self.cut)
        return since_last_cut.compare_with_previous(self.history_path, inputs, self.site)

    def since_last_cut(self) -> Tables:
        """Which runs are compared, changes per kind and per criterion, and each patient that changed."""
        return since_last_cut.section(self.cut_comparison, self.site)

    def cuts_frame(self) -> pd.DataFrame:
        """Eligible, pending and ineligible per data cut of the history (all sites; empty without one)."""
        from .run_history import params_sha256

        cut = None if self.cut is None else self.cut.cut_date.isoformat()
        return since_last_cut.verdicts_over_cuts(self.history_path, cut, params_sha256(self.program.params))

    def verdicts_over_cuts_chart(self) -> Figure | Markup:
        """Lines of verdict counts over the history's cuts, or a sentence saying why there are none."""
        frame = self.cuts_frame()
        cut = None if self.cut is None else self.cut.cut_date.isoformat()
        why = since_last_cut.over_cuts_sentence(self.history_path, frame, cut)
        if why:
            return Markup(f"<p>{html_escape(why)}</p>", text=why)
        fig = history_figures.verdicts_over_cuts_chart(frame)
        return fig.describe(history_figures.verdicts_over_cuts_text(frame))

    def verdicts_over_cuts(self) -> HtmlTable:
        """The numbers of :meth:`verdicts_over_cuts_chart` as a table."""
        return HtmlTable(self.cuts_frame(), caption="Verdicts at each data cut, all sites",
                         note="One run per cut date (this page's criteria first, else the latest recorded); "
                              "run ID: its first digits in the history's runs table.",
                         empty="No table: no data cut in a run history (see above).")

    # ---------------------------------------------------------------- page parts, attrition, oversight

    def page_header(self, page: str) -> Markup:
        """Key figures, who needs action, data currency, links to related pages and downloads."""
        return page_parts.page_header(self, page)

    def legend(self) -> HtmlTable:
        """Criterion IDs with their labels (this run's limits) and the abbreviations."""
        return page_parts.legend(self.program.params)

    def attrition(self) -> HtmlTable:
        """Protocol-order attrition: excluded at the first failed criterion, then pending, eligible."""
        return HtmlTable(attrition.attrition_table(self.result), caption="Attrition in protocol order",
                         note="Each ineligible patient is counted once, at the first criterion failed in record "
                              "order; 'any failure' counts elsewhere count a patient under every criterion failed. "
                              "Boxes reconcile: screened = all excluded + pending + eligible.")

    def attrition_chart(self) -> Figure:
        """The attrition table drawn as a CONSORT-style flow."""
        fig = attrition_figures.attrition_chart(self.result, title=f"Attrition in protocol order, {self.scope_name}")
        return fig.describe(figure_texts.attrition(self.result))

    def combinations_chart(self) -> Figure:
        """UpSet-style chart of the most frequent combinations of failed criteria."""
        fig = attrition_figures.upset_chart(self.result, title=f"Combinations of failed criteria, {self.scope_name}")
        return fig.describe(figure_texts.upset(self.result))

    def oversight_frame(self) -> pd.DataFrame:
        """Every oversight flag of the scope (:mod:`.oversight`)."""
        return oversight.oversight_flags(self.result, self.dataset.patients, self.currency, self.waiver_roles)

    def oversight_counts(self) -> dict[str, int]:
        """Flags by kind, for the page header (only kinds that occur)."""
        counts = self.oversight_frame()["flag"].value_counts()
        return {str(k): int(v) for k, v in counts.items() if v}

    def oversight(self) -> Tables:
        """Oversight flags (NMA-LD while not eligible, waivers by roles not allowed) and waiver rates per site."""
        roles = "; ".join(self.waiver_roles)
        unmatched = oversight.roles_no_waiver_names(self.result, self.waiver_roles)  # the page's waivers, as flagged
        spelt = (f" No waiver of the data names {' or '.join(unmatched)} as approver: is the role spelt as the "
                 "overrides table spells it?" if unmatched else "")
        return Tables((
            HtmlTable(self.oversight_frame(), caption="Oversight flags",
                      note=f"NMA-LD 'date passed': on or before {self.currency.phrase()} (planned or actual). "
                           f"Roles allowed to approve a waiver (parameter waiver_roles): {roles}.{spelt}",
                      empty="No oversight flag.", max_rows=PAGE_ROWS,
                      download=download_name(self.site, "oversight-flags", "xlsx")),
            HtmlTable(oversight.waiver_rates(self.result), caption="Waiver rate per site",
                      note="waiver rate: patients with at least one waiver, of the site's screened patients.",
                      empty="No patients screened."),
        ))

    def waivers(self) -> HtmlTable:
        """Documented waivers: who approved which criterion, when and why."""
        return HtmlTable(oversight.waivers_with_roles(self.result, self.waiver_roles), caption="Waivers",
                         empty="No waivers were applied.", max_rows=PAGE_ROWS,
                         download=download_name(self.site, "waivers", "xlsx"))

    def findings(self) -> HtmlTable:
        """Data-quality findings of the screening."""
        found, download = summaries.data_quality_findings(self.result), download_name(self.site, "findings", "xlsx")
        return HtmlTable(found, caption="Data-quality findings", empty="No data-quality findings.", max_rows=PAGE_ROWS,
                         download=download)

    # ---------------------------------------------------------------- site summary

    def site_facts(self) -> HtmlTable:
        """The site's entry in the registry record (all six sites for ``"all"``)."""
        if self.site == ALL_SITES:
            frame = pd.DataFrame([(s.site_id, s.name, f"{s.city}, {s.state} {s.zip_code}", s.status)
                                  for s in SITES.values()], columns=["site_id", "site_name", "city", "status"])
            return HtmlTable(frame, caption="Sites of the program (registry record NCT05398640)")
        return HtmlTable(site_summaries.site_facts(self.site), caption="The site in the registry record NCT05398640")

    def key_figures(self) -> HtmlTable:
        """Headline numbers: screened, verdicts, eligible share with 95% CI, dates."""
        return HtmlTable(site_summaries.key_figures(self.result), caption=f"Key figures, {self.scope_name}")

    def flow(self) -> Figure:
        """CONSORT-style flow figure."""
        fig = figures.consort_flow(self.result, title=f"Screening flow, {self.scope_name}")
        return fig.describe(figure_texts.flow(self.result))

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
                      note="the exact combinations the chart above draws, in its order; the rest in one row, so "
                           "the patients add up to the ineligible patients; share: of the ineligible patients.",
                      empty="No criterion failed."),
        ))

    def failure_reasons_chart(self) -> Figure:
        """Bar chart of the failure reasons (any failure, sole reason)."""
        fig = figures.failure_reasons_chart(self.result, title=f"Failure reasons, {self.scope_name}")
        return fig.describe(figure_texts.failure_reasons(self.result))

    def unknown_rates(self) -> HtmlTable:
        """Unknown rate per criterion (data completeness)."""
        return HtmlTable(summaries.unknown_rates(self.result), caption="Unknown rate per criterion",
                         note="Share of ALL screened patients whose criterion could not be decided from the data, "
                              "ineligible patients included. The flow's and the worklist's pending counts are at "
                              "most these (smaller where a patient who also fails a criterion is ineligible, not "
                              "pending).")

    def unknown_rate_chart(self) -> Figure:
        """Bar chart of the unknown rate per criterion."""
        fig = figures.unknown_rate_chart(self.result, title=f"Unknown rate per criterion, {self.scope_name}")
        return fig.describe(figure_texts.unknown_rates(self.result))

    def monthly_counts(self) -> HtmlTable:
        """Patients screened per month of consent, by verdict."""
        return HtmlTable(summaries.monthly_counts(self.result), caption="Screening per month, by verdict",
                         empty="No patients screened.")

    def monthly_chart(self) -> Figure:
        """Stacked bars of screening per month, by verdict."""
        fig = figures.monthly_chart(self.result, title=f"Screened per month, {self.scope_name}")
        return fig.describe(figure_texts.monthly(self.result))

    def table_one(self) -> HtmlTable:
        """Table 1 of the screened patients by verdict (tableone)."""
        return HtmlTable(table_one.table_one(self.result, self.dataset, rows_of=self.program),
                         caption=f"Table 1: screened patients by verdict, {self.scope_name}",
                         note=table_one.TABLE_ONE_NOTE, blank_repeats=("variable",))

    # ---------------------------------------------------------------- program overview

    def site_comparison(self) -> HtmlTable:
        """All sites side by side: screened, verdicts, eligible share with 95% Wilson CI."""
        return HtmlTable(site_summaries.site_table(self.program, sites=list(SITE_IDS)), caption="Sites side by side",
                         note=site_summaries.SITE_TABLE_NOTE)

    def site_comparison_chart(self) -> Figure:
        """Eligible share per site with 95% Wilson intervals."""
        return site_figures.site_comparison_chart(self.program).describe(figure_texts.site_comparison(self.program))

    def failure_heatmap(self) -> Figure:
        """Heat map of failure rates, site x criterion."""
        return site_figures.site_heatmap(self.program, outcome="fail").describe(figure_texts.heatmap(self.program, "fail"))

    def unknown_heatmap(self) -> Figure:
        """Heat map of unknown rates, site x criterion."""
        fig = site_figures.site_heatmap(self.program, outcome="unknown")
        return fig.describe(figure_texts.heatmap(self.program, "unknown"))

    def timeline(self) -> Figure:
        """Program timeline: consents per site over time, with the record's key dates."""
        return site_figures.program_timeline(self.program).describe(figure_texts.timeline(self.program))
