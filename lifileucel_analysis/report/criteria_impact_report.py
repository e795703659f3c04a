"""The report object of the ``criteria_impact`` notebook: two criteria side by side, and each criterion's impact.

For reviewers weighing a protocol amendment or a what-if ("how many more patients would
be eligible if the steroid limit were 20 mg/day?"): the dataset screened under the
current criteria (A, the notebook's ``criteria_params``) and under another criteria
version or what-if file (B, ``compare_with``), who changes verdict, which criterion
outcomes differ, per patient and per site; then each criterion's impact on the current
screening. A notebook builds it once and shows one section per cell::

    report = CriteriaImpactReport.build(dataset=dataset, criteria_params=criteria_params,
                                        compare_with=compare_with)
    report.page_header()        # summary first: who changes verdict, N in = N out
    report.differences()        # patient x criterion rows whose outcome differs

The numbers come from :mod:`.criteria_impact_tables` (which reuses
:mod:`.criteria_compare` and :mod:`.criterion_impact`); tables display as
:class:`~.html_tables.HtmlTable`, the figure as a :class:`~.figure_style.ReportFigure` with
alt text. The build writes the page's downloads (:data:`.downloads.CRITERIA_IMPACT_DOWNLOAD_KINDS`)
from the same functions. A blank ``compare_with`` leaves only the impact sections; the
comparison sections say so.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..contract.data_cut import DataCut
from ..contract.dataset import ScreeningDataset
from ..contract.messages import counted, noun_for
from ..contract.schema import ALL_SITES
from ..engine.screening import VERDICTS, ScreeningResult
from ..paths import CRITERIA_PARAMS_NAME
from . import figure_texts, page_parts
from .criteria_catalog import criteria_parameter_table
from .criteria_compare import criteria_table, difference_counts, differences
from .criteria_impact_figure import impact_chart
from .criteria_impact_tables import (
    UNCHANGED,
    ComparedCriteria,
    criteria_name,
    difference_table,
    impact_table,
    limit_differences,
    screen_compared,
    verdict_changes,
    verdict_reconciliation,
)
from .downloads import CRITERIA_IMPACT_DOWNLOAD_KINDS, CRITERIA_IMPACT_NOTEBOOK, download_name
from .eligibility_report import EligibilityReport
from .html_tables import PAGE_ROWS, HtmlTable, Markup, Tables
from .notebook_parameters import refuse_non_text, refuse_unknown_injected
from .provenance import display_given, display_path, sha256_file
from .screening_inputs import screen_files
from .worklist import data_currency

NO_COMPARISON = ("No comparison: compare_with is blank, so this page shows each criterion's impact on the current "
                 "screening only.")
"""What every comparison section says when no criteria were given to compare with."""
RELATED_PAGES: tuple[tuple[str, str], ...] = (
    ("../index.html", "All reports"),
    ("../eligibility_report/all.html", "Eligibility report, all sites"),
    ("../program_overview/all.html", "Program overview"),
)
"""The pages this one links to (it is a program-level page: ``criteria_impact/all.html``)."""


@dataclass(frozen=True)
class CriteriaImpactReport:
    """One dataset screened under the current criteria (A) and, optionally, under B.

    Build it with :meth:`build` (from paths) or :meth:`from_results` (from screenings).

    Attributes
    ----------
    current : ScreeningResult
        The screening under the current criteria (A).
    dataset : ScreeningDataset
        The screened dataset.
    compared : ComparedCriteria or None
        Side B: its file, parameters and screening; ``None`` without a comparison.
    dataset_path, criteria_params_path : Path or None
        Where the dataset and A's criteria file were read from (``None``: in memory / defaults).
    arguments : dict
        The notebook parameters exactly as given.
    cut : DataCut or None
        The data cut both sides were screened at (``None``: no cut).
    """

    current: ScreeningResult
    dataset: ScreeningDataset
    compared: ComparedCriteria | None = None
    dataset_path: Path | None = None
    criteria_params_path: Path | None = None
    arguments: dict[str, str] = field(default_factory=dict)
    cut: DataCut | None = None

    @classmethod
    def build(cls, dataset: str | Path = "", criteria_params: str | Path = "",
              compare_with: str | Path = "", cut_date: str = "") -> CriteriaImpactReport:
        """Load the dataset, screen it under A and (unless ``compare_with`` is blank) under B.

        Parameters
        ----------
        dataset : str or Path
            A folder of CSV or Parquet files or an ``.xlsx`` workbook; ``""`` = the bundled
            demo cohort.
        criteria_params : str or Path
            The current criteria (A): a criteria YAML overriding the package defaults;
            ``""`` = the defaults.
        compare_with : str or Path
            The criteria to compare with (B): a criteria version or what-if YAML (only the
            keys it changes, or ``criteria_off``); ``""`` = no comparison.
        cut_date : str
            Screen what was known on this date (``YYYY-MM-DD``; both sides); ``""`` = no cut.

        Every path follows :func:`.screening_inputs.resolve_input_path` (relative to the
        working directory, then to the project root).

        Raises
        ------
        FileNotFoundError
            When a path does not exist (:class:`.screening_inputs.InputNotFoundError`).
        ParamsError
            When a criteria file cannot be used.
        """
        refuse_unknown_injected()  # papermill's -p of a name this notebook does not take (audit 43N)
        refuse_non_text({"dataset": dataset, "criteria_params": criteria_params})
        arguments = {"dataset": str(dataset), "criteria_params": str(criteria_params),
                     "compare_with": str(compare_with), "cut_date": str(cut_date)}
        inputs = screen_files(dataset, criteria_params, cut_date=cut_date)
        compared = screen_compared(inputs, compare_with)  # the cut dataset: B sees what A sees
        return cls(inputs.result, inputs.dataset, compared, inputs.dataset_path, inputs.criteria_params_path,
                   arguments, inputs.cut)

    @classmethod
    def from_results(cls, current: ScreeningResult, dataset: ScreeningDataset,
                     compared: ComparedCriteria | None = None) -> CriteriaImpactReport:
        """Wrap existing screenings (no loading; for tests and other callers)."""
        return cls(current, dataset, compared, arguments={"dataset": dataset.source})

    # ---------------------------------------------------------------- computed once

    @cached_property
    def _differences(self) -> pd.DataFrame:
        return differences(self.current, self.compared.result) if self.compared is not None else pd.DataFrame()

    @cached_property
    def _changes(self) -> pd.DataFrame:
        assert self.compared is not None
        return verdict_changes(self.current, self.compared.result, self._differences)

    @cached_property
    def _impact(self) -> pd.DataFrame:
        return impact_table(self.current)

    @property
    def name_a(self) -> str:
        """How the page names the current criteria (A)."""
        return criteria_name(self.current.params, self.criteria_params_path)

    @property
    def name_b(self) -> str:
        """How the page names the criteria compared with (B); ``""`` without a comparison."""
        return "" if self.compared is None else criteria_name(self.compared.params, self.compared.path)

    def _no_comparison(self) -> Markup:
        return Markup(f"<p><em>{html.escape(NO_COMPARISON)}</em></p>", text=NO_COMPARISON)

    # ---------------------------------------------------------------- summary first

    def verdict_moves(self) -> dict[str, int]:
        """Patients per verdict move (``{"ineligible -> eligible": 3}``), moves only; empty without B."""
        if self.compared is None:
            return {}
        moved = self._changes[self._changes["verdict_A"] != self._changes["verdict_B"]]
        return {str(c): int(n) for c, n in zip(moved["change"], moved["patients"])}

    def page_header(self) -> Markup:
        """Scope, data currency, the two criteria, who changes verdict (N in = N out), links, downloads."""
        n = len(self.current.verdicts)
        currency = data_currency(self.current.verdicts, None if self.cut is None else self.cut.cut_date).sentence()
        related = " &middot; ".join(f'<a href="{html.escape(h)}">{html.escape(t)}</a>' for h, t in RELATED_PAGES)
        counts_a = _verdict_phrase(self.current)
        parts = [f"<p>Current criteria (A): <strong>{html.escape(self.name_a)}</strong>."]
        text = [f"All sites: {n:,} screened. Criteria A: {self.name_a}; under A {counts_a}."]
        if self.compared is None:
            parts[0] += "</p>"
            parts.append(f"<p>{counted(n, 'patient')} screened; under A {html.escape(counts_a)}.</p>")
            parts.append(f"<p><em>{html.escape(NO_COMPARISON)}</em></p>")
            text.append(NO_COMPARISON)
        else:
            summary = self._comparison_sentence()
            counts_b = _verdict_phrase(self.compared.result)
            parts[0] += f" Compared with (B): <strong>{html.escape(self.name_b)}</strong>.</p>"
            parts.append(f"<p>{counted(n, 'patient')} screened; under A {html.escape(counts_a)}; under B "
                         f"{html.escape(counts_b)}.</p>")
            parts.append(f"<p>{html.escape(summary)} "
                         '(<a href="#Verdicts-under-A-and-B">details</a>).</p>')
            text += [f"Criteria B: {self.name_b}; under B {counts_b}.", summary]
        # every patient of the file accounted for, before who changes (review 28C; without a cut, review 43R)
        account = (self.cut.account(n) if self.cut is not None
                   else page_parts.uncut_account(len(self.dataset.patients), n, ALL_SITES))
        parts.insert(1, f"<p>{html.escape(account)}</p>")
        text.insert(1, account)
        check = page_parts.cut_check(self.cut)  # a cut years after the data (audit 43N)
        currency += f" {check}" if check else ""
        links = page_parts.download_links(ALL_SITES, CRITERIA_IMPACT_DOWNLOAD_KINDS).html
        body = (f'<div class="eap-summary"><h2>All sites</h2>'
                f'<p class="eap-currency"><strong>{html.escape(currency)}</strong></p>{"".join(parts)}'
                f'<p class="eap-related">Related pages of the build: {related}</p>'
                f"<p>Downloads, written beside this page by <code>lifileucel-eap reports</code> (every row names its "
                f"patient and site, or its criterion):</p>{links}</div>")
        return Markup(body, text=" ".join([*text, currency]))

    def _comparison_sentence(self) -> str:
        changes = self._changes
        moves = self.verdict_moves()
        moved = sum(moves.values())
        same = int(changes.loc[(changes["verdict_A"] == changes["verdict_B"])
                               & (changes["change"] != UNCHANGED), "patients"].sum())
        unchanged = int(changes.loc[changes["change"] == UNCHANGED, "patients"].sum())
        n = len(self.current.verdicts)
        detail = ": " + ", ".join(f"{k} {v:,}" for k, v in moves.items()) if moves else ""
        return (f"{counted(moved, 'patient changes', 'patients change')} verdict from A to B{detail}. "
                f"{counted(same, 'patient keeps its', 'patients keep their')} verdict "
                f"with a criterion outcome that differs; {unchanged:,} {noun_for(unchanged, 'is', 'are')} unchanged. "
                f"N in = N out: {n:,} screened, {moved + same + unchanged:,} counted once each.")

    # ---------------------------------------------------------------- comparison sections

    def verdict_changes(self) -> Tables | Markup:
        """Each patient once: verdict under A against verdict under B, and the N in = N out check."""
        if self.compared is None:
            return self._no_comparison()
        return Tables((
            HtmlTable(self._changes, caption="Verdicts under A and B: each screened patient once",
                      note="Verdict moves first, then patients whose verdict stays with a criterion outcome that "
                           "differs, then unchanged patients. share: of the patients screened."),
            HtmlTable(verdict_reconciliation(self.current, self._changes), caption="Reconciliation: N in = N out",
                      note="Every screened patient is counted in exactly one row above; the report stops otherwise."),
        ))

    def differences(self) -> HtmlTable | Markup:
        """One row per patient and criterion whose outcome differs between A and B."""
        if self.compared is None:
            return self._no_comparison()
        return HtmlTable(difference_table(self._differences, self.current.params),
                         caption="Criterion outcomes that differ between A and B",
                         note="One row per patient and criterion whose outcome differs (a patient whose verdict "
                              "differs has at least one row). criterion: its ID and label with A's limits; evidence: "
                              "the screening's sentence under each side.",
                         empty="No criterion outcome differs: A and B give every patient the same outcomes.",
                         max_rows=PAGE_ROWS, download=download_name(ALL_SITES, "differences", "xlsx"))

    def site_counts(self) -> HtmlTable | Markup:
        """Per site: patients whose verdict moves, or whose criteria differ with the same verdict."""
        if self.compared is None:
            return self._no_comparison()
        return HtmlTable(difference_counts(self._differences), caption="Patients who differ, per site",
                         note="A site's patients not counted here are unchanged.",
                         empty="No patient differs at any site.")

    def criteria_compared(self) -> Tables | Markup:
        """The two criteria (version, date, what changed, switched-off criteria) and the limits that differ."""
        if self.compared is None:
            return self._no_comparison()
        files = (display_path(self.criteria_params_path) if self.criteria_params_path else CRITERIA_PARAMS_NAME,
                 display_path(self.compared.path))
        sides = criteria_table(files, (self.current.params, self.compared.params), None).drop(columns="cut_date")
        return Tables((
            HtmlTable(sides, caption="The two criteria",
                      note="criteria: the file; version, effective date, changes and switched-off criteria as the "
                           "file states them (docs/history.md)."),
            HtmlTable(limit_differences(self.current.params, self.compared.params, self.compared.path),
                      caption="Limits that differ between A and B", note="source B: where B's value comes from.",
                      empty="No limit differs and the same criteria are switched off."),
        ))

    # ---------------------------------------------------------------- impact

    def impact(self) -> HtmlTable:
        """Per criterion: fail and unknown counts, excluded by it alone, eligible or pending without it."""
        return HtmlTable(self._impact, caption=f"Impact of each criterion on the current screening (A: {self.name_a})",
                         note="fail, unknown: patients with that outcome. excluded by it alone: patients failing this "
                              "criterion and no other. eligible without it: patients not eligible now who would be "
                              "eligible with it switched off; pending without it: patients ineligible now who would "
                              "be pending. From this screening's outcomes, without screening again.",
                         download=download_name(ALL_SITES, "criterion-impact", "xlsx"))

    def impact_chart(self) -> Figure:
        """Bars per criterion, record order: excluded by it alone, eligible and pending without it."""
        n = len(self.current.verdicts)
        fig = impact_chart(self._impact, n, title=f"Impact of each criterion, criteria A: {self.name_a}")
        return fig.describe(figure_texts.criterion_impact(self._impact, n))

    # ---------------------------------------------------------------- legend and appendix

    def legend(self) -> HtmlTable:
        """Criterion IDs with their labels (A's limits) and the abbreviations."""
        return page_parts.legend(self.current.params)

    def _used(self, name: str) -> str:
        """A path parameter as used, named as every page names it (project-relative, or name + fingerprint)."""
        if name == "dataset":
            if self.dataset_path is not None:
                return display_path(self.dataset_path)
            source = self.dataset.source  # an in-memory dataset: what it says it was read from
            return display_path(Path(source)) if Path(source).is_absolute() else source
        if name == "criteria_params":
            chosen = display_path(self.criteria_params_path) if self.criteria_params_path else ""
            return CRITERIA_PARAMS_NAME + (f" overridden by {chosen}" if chosen else " (defaults)")
        if name == "compare_with":
            return display_path(self.compared.path) if self.compared is not None else "(no comparison)"
        if name == "cut_date":
            return "none: every row of the dataset counts" if self.cut is None else (
                f"{self.cut.cut_date.isoformat()}: what was known on that day")
        return str(self.arguments.get(name, ""))

    def run_parameters(self) -> Tables:
        """The notebook parameters and every criteria parameter of A (and of B), as tables."""
        given = pd.DataFrame({
            "parameter": list(self.arguments),
            "value given": ['"" (default)' if v == "" else display_given(v) for v in self.arguments.values()],
            "used": [self._used(k) for k in self.arguments],
        })
        tables = [HtmlTable(given, caption="Parameters of this run"),
                  HtmlTable(criteria_parameter_table(self.current.params, self.criteria_params_path),
                            caption="Criteria parameters (A)",
                            note="'changed' = differs from the package defaults; source = where the limit comes from.")]
        if self.compared is not None:
            tables.append(HtmlTable(criteria_parameter_table(self.compared.params, self.compared.path),
                                    caption="Criteria parameters (B)",
                                    note="'changed' = differs from the package defaults; source = where the limit "
                                         "comes from (B's criteria file, where it says)."))
        return Tables(tuple(tables))

    def provenance(self) -> HtmlTable:
        """Where the data and the two criteria files came from, and the software versions."""
        table = replace(EligibilityReport.from_result(self.current, self.dataset, dataset_path=self.dataset_path,
                                                      criteria_params_path=self.criteria_params_path),
                        cut=self.cut).provenance()
        files = [("criteria A", self._used("criteria_params"))]
        if self.criteria_params_path is not None:
            files.append(("criteria A SHA-256", sha256_file(self.criteria_params_path)))
        if self.compared is not None:
            files += [("criteria B", self._used("compare_with")),
                      ("criteria B SHA-256", sha256_file(self.compared.path))]
        # After the dataset's own rows (path, fingerprint, files), before table sizes and software.
        at = int(table.frame["item"].astype(str).str.startswith("dataset").sum())
        extra = pd.DataFrame(files, columns=["item", "value"])
        return HtmlTable(pd.concat([table.frame.iloc[:at], extra, table.frame.iloc[at:]], ignore_index=True),
                         caption=table.caption)


def _verdict_phrase(result: ScreeningResult) -> str:
    verdict = result.verdicts["verdict"].astype(str)
    return ", ".join(f"{int((verdict == v).sum())} {v}" for v in VERDICTS)


__all__ = ["CRITERIA_IMPACT_NOTEBOOK", "NO_COMPARISON", "CriteriaImpactReport"]
