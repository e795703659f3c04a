"""Figures comparing the sites of the program: eligible shares, heat maps, timeline.

Each function takes a result (see :class:`.summaries.ResultLike`; the whole program's,
for all sites) and returns a :class:`~.figure_style.ReportFigure` built inside
:func:`~.figure_style.figure_style`; axes carry a ``label`` so that tests can read the
plotted numbers back as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..contract.schema import ALL_SITES, CRITERION_IDS, SITE_IDS
from ..engine.screening import VERDICTS
from . import site_summaries
from .figure_style import (
    NEUTRAL_GREY,
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    VERDICT_COLORS,
    ReportFigure,
    figure_style,
    figure_title,
    new_figure,
    site_label,
    text_color_on,
)
from .site_summaries import RECORD_MILESTONES, CriterionOutcome
from .summaries import ResultLike


def site_comparison_chart(result: ResultLike, title: str = "Eligible share by site") -> ReportFigure:
    """Eligible share per site with 95% Wilson intervals, annotated ``k / n``.

    A dashed line marks the program-wide share. Axes label ``"sites"``; the plotted
    points (``ax.lines[0]``) are the shares in percent of :func:`.site_summaries.site_table`.
    """
    table = site_summaries.site_table(result, sites=list(SITE_IDS), with_total=True)
    total = table[table["site_id"] == ALL_SITES].iloc[0]
    sites = table[table["site_id"] != ALL_SITES].reset_index(drop=True)
    with figure_style():
        fig = new_figure((10, 5))
        ax = fig.add_subplot(label="sites")
        figure_title(fig, f"{title} (95% Wilson intervals; n = {int(total['screened'])} screened)")
        y = np.arange(len(sites))
        share = 100 * sites["eligible_share"].to_numpy(dtype=float)
        low = share - 100 * sites["ci_low"].to_numpy(dtype=float)
        high = 100 * sites["ci_high"].to_numpy(dtype=float) - share
        ax.errorbar(share, y, xerr=np.vstack([low, high]), fmt="o", color=OKABE_ITO["bluish_green"],
                    ecolor="#333333", capsize=4, markersize=7, label="eligible share (95% CI)")
        for yi, row in sites.iterrows():
            text = "no patients screened" if row["screened"] == 0 else (
                f"{int(row['eligible'])} / {int(row['screened'])} ({row['eligible_share']:.0%}); "
                f"pending {int(row['pending'])}")
            x = 0 if row["screened"] == 0 else 100 * row["ci_high"]
            ax.text(x + 1.5, yi, text, va="center", fontsize=8)
        if total["screened"]:
            ax.axvline(100 * total["eligible_share"], color="#555555", linestyle="--", linewidth=1,
                       label=f"all sites: {total['eligible_share']:.1%}")
        ax.set_yticks(y, [site_label(s) for s in sites["site_id"]])
        ax.invert_yaxis()
        ax.set_xlim(0, 130)  # room for the k / n annotations right of 100%
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel("% of screened patients eligible")
        ax.legend(loc="upper right")
    return fig


def site_heatmap(result: ResultLike, outcome: CriterionOutcome = "fail",
                 title: str | None = None) -> ReportFigure:
    """Heat map site x criterion of the share of screened patients with ``outcome``.

    Every cell is annotated with its count of patients over its percentage, and each site
    with its number screened (a percentage of 3 patients reads differently from one of 300);
    a site without screened patients is a grey row marked ``-``. Axes label ``"heatmap"``;
    its image array is the percentage matrix of :func:`.site_summaries.site_criterion_rates`
    (masked where undefined).
    """
    matrix = site_summaries.site_criterion_rates(result, outcome=outcome)
    counts = site_summaries.site_criterion_counts(result, outcome=outcome)
    screened = site_summaries.site_screened(result, matrix.index)
    values = np.ma.masked_invalid(100 * matrix.to_numpy(dtype=float))
    word = {"fail": "Failures", "unknown": "Unknown outcomes"}[outcome]
    with figure_style():
        fig = new_figure((11, 4.8))
        ax = fig.add_subplot(label="heatmap")
        figure_title(fig, title or f"{word} by site and criterion: patients, and % of the site's screened patients")
        vmax = max(5.0, float(np.ceil(values.max() / 5) * 5)) if values.count() else 5.0
        cmap = matplotlib.colormaps[SEQUENTIAL_CMAP].with_extremes(bad=NEUTRAL_GREY)
        image = ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax, aspect="auto", interpolation="nearest")
        _annotate_cells(ax, values, counts.to_numpy(dtype=np.int64), image)
        ax.set_xticks(range(len(CRITERION_IDS)), CRITERION_IDS)
        ax.set_yticks(range(len(matrix.index)), [f"{site_label(s).replace(chr(10), ' ')} (n={screened[s]:,})"
                                                 for s in matrix.index])
        ax.set_xlabel("criterion")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        bar.set_label(f"% {outcome}")
    return fig


def _annotate_cells(ax: Axes, values: np.ma.MaskedArray, counts: np.ndarray, image: Any) -> None:
    """Each cell's count of patients over its percentage (``-`` for a site without screened patients)."""
    for (row, col), value in np.ndenumerate(values.filled(np.nan)):
        if np.isnan(value):
            ax.text(col, row, "-", ha="center", va="center", fontsize=7, color="black")
            continue
        color = text_color_on(image.cmap(image.norm(value)))
        ax.text(col, row, f"{counts[row, col]:,}\n{value:.0f}%", ha="center", va="center", fontsize=6.5,
                color=color, linespacing=1.1)


# --------------------------------------------------------------------------- timeline

MILESTONE_STYLES: tuple[str, ...] = ("--", ":", "-.")
"""Line styles of the registry record's dates on the timeline (told apart without colour)."""
VERDICT_OFFSETS: Mapping[str, float] = {"eligible": -0.22, "pending": 0.0, "ineligible": 0.22}
"""Vertical offset of each verdict's markers within a site's row (no random jitter)."""


def program_timeline(result: ResultLike, title: str = "Program timeline") -> ReportFigure:
    """Consents over time per site, coloured by verdict, with the registry record's dates.

    Each site is a row: a grey line from first to last consent, one tick mark per
    screened patient at the consent date (offset up/down by verdict), and the number
    screened at the right. Vertical lines mark the record's key dates
    (:data:`.site_summaries.RECORD_MILESTONES`), named in the legend. Axes label ``"timeline"``.
    """
    spans = site_summaries.site_timeline(result)
    verdicts = result.verdicts.assign(site_id=result.verdicts["site_id"].astype(str),
                                      verdict=result.verdicts["verdict"].astype(str))
    site_row = {s: i for i, s in enumerate(SITE_IDS)}
    milestones = [(pd.Timestamp(day), text) for day, text in RECORD_MILESTONES]
    with figure_style():
        fig = new_figure((11, 4.8))
        ax = fig.add_subplot(label="timeline")
        figure_title(fig, f"{title}: consents per site (n = {len(verdicts)} screened)")
        for row, span in spans.iterrows():
            if pd.notna(span["first_consent"]):
                ax.plot([span["first_consent"], span["last_consent"]], [row, row], color="#CCCCCC", linewidth=6,
                        solid_capstyle="round", zorder=1)
        for verdict in VERDICTS:
            mine = verdicts[(verdicts["verdict"] == verdict) & verdicts["consent_date"].notna()]
            rows = mine["site_id"].map(site_row).to_numpy(dtype=float)  # float even when no patient has this verdict
            ax.scatter(mine["consent_date"], rows + VERDICT_OFFSETS[verdict], marker="|",
                       s=60, color=VERDICT_COLORS[verdict], label=verdict, zorder=2)
        # The record's dates go into the legend: labels on the plot would cover the ticks.
        for (day, text), style in zip(milestones, MILESTONE_STYLES):
            ax.axvline(day, color="#333333", linestyle=style, linewidth=1.2, zorder=0,
                       label=f"{text}\n{day:%Y-%m-%d}")
        _timeline_axes(ax, spans, verdicts, milestones)
    return fig


def _timeline_axes(ax: Axes, spans: pd.DataFrame, verdicts: pd.DataFrame,
                   milestones: list[tuple[pd.Timestamp, str]]) -> None:
    dates = [*verdicts["consent_date"].dropna(), *(day for day, _ in milestones)]
    start, end = min(dates), max(dates)
    pad = (end - start) * 0.12 + pd.Timedelta(days=30)
    ax.set_xlim(start - pd.Timedelta(days=30), end + pad)
    for row, span in spans.iterrows():
        ax.text(end + pad * 0.3, row, f"n = {int(span['screened'])}", va="center", fontsize=8)
    ax.set_yticks(range(len(spans)), [site_label(s).replace("\n", " ") for s in spans["site_id"]])
    ax.set_ylim(len(spans) - 0.5, -0.5)
    ax.set_xlabel("date of consent")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="verdict / record dates")
