"""Figures of a screening run's patients: the outcome grid, the flow, and bar charts.

Each function takes a result (see :class:`.summaries.ResultLike`) and returns a
:class:`~.figure_style.ReportFigure`, built inside :func:`~.figure_style.figure_style`
(palette, sizes and the style rules are in :mod:`.figure_style`). No randomness anywhere
(no jitter: overlapping markers are offset by verdict). Axes carry a ``label``
(``ax.get_label()``) and bar containers a ``label`` so that the tests can read the plotted
numbers back as data. Figures comparing sites are in :mod:`.site_figures`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from ..contract.schema import CRITERION_IDS, SITE_IDS
from ..engine.outcome import LABELS as OUTCOMES
from ..engine.screening import VERDICTS
from . import summaries
from .figure_style import (
    OKABE_ITO,
    OUTCOME_COLORS,
    OUTCOME_LABELS,
    VERDICT_COLORS,
    ReportFigure,
    criterion_tick_label,
    figure_style,
    figure_title,
    new_figure,
    no_data,
)
from .summaries import ResultLike

MAX_LABELLED_PATIENTS = 60
"""The patient grid names its rows only up to this many patients (beyond, they are too thin)."""


# --------------------------------------------------------------------------- patient grid


def grid_order(result: ResultLike) -> pd.DataFrame:
    """Rows of the patient grid: patients sorted by verdict, site, then patient ID.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``site_id``, ``verdict``, in plotting order (top row first).
    """
    verdicts = result.verdicts[["patient_id", "site_id", "verdict"]].astype(
        {"patient_id": "str", "site_id": "str", "verdict": "str"}
    )
    verdict_rank = verdicts["verdict"].map({v: i for i, v in enumerate(VERDICTS)})
    site_rank = verdicts["site_id"].map({s: i for i, s in enumerate(SITE_IDS)})
    ordered = verdicts.assign(_v=verdict_rank, _s=site_rank).sort_values(["_v", "_s", "patient_id"], kind="stable")
    return ordered.drop(columns=["_v", "_s"]).reset_index(drop=True)


def outcome_codes(result: ResultLike) -> np.ndarray:
    """The patient x criterion matrix of outcome codes (index into :data:`OUTCOMES`).

    Rows follow :func:`grid_order`, columns the record order ``I1`` .. ``E11``; a missing
    outcome (which the engine never produces) is ``-1``.
    """
    order = grid_order(result)
    outcomes = result.outcomes
    codes = outcomes["outcome"].astype(str).map({o: i for i, o in enumerate(OUTCOMES)})
    wide = pd.DataFrame({
        "patient_id": outcomes["patient_id"].astype(str),
        "criterion_id": outcomes["criterion_id"].astype(str),
        "code": codes,
    }).pivot(index="patient_id", columns="criterion_id", values="code")
    wide = wide.reindex(index=order["patient_id"], columns=list(CRITERION_IDS))
    return wide.fillna(-1).to_numpy(dtype=int)


def outcome_grid(result: ResultLike, title: str = "Criterion outcomes per patient") -> ReportFigure:
    """Patient x criterion grid, colour-coded by outcome, patients grouped by verdict.

    A narrow strip on the left shows each patient's verdict. Patient IDs label the rows
    when there are at most :data:`MAX_LABELLED_PATIENTS`; beyond that the rows are too
    thin to read and the strip's group labels carry the counts.

    The grid axes has label ``"grid"``; its image array equals :func:`outcome_codes`.
    """
    order = grid_order(result)
    codes = outcome_codes(result)
    with figure_style():
        fig = new_figure((10, 8))
        strip_ax, ax = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1, 19]})
        strip_ax.set_label("verdict strip")
        ax.set_label("grid")
        figure_title(fig, f"{title} (n = {len(order)})")
        if not len(order):
            no_data(ax)
            strip_ax.set_axis_off()
            return fig
        _draw_outcome_image(ax, codes)
        _draw_verdict_strip(strip_ax, order)
        _label_grid_rows(strip_ax, ax, order)
        handles = [Patch(facecolor=OUTCOME_COLORS[o], edgecolor="#555555", label=OUTCOME_LABELS[o]) for o in OUTCOMES]
        fig.legend(handles=handles, loc="outside lower center", ncols=len(OUTCOMES), title="Criterion outcome")
    return fig


def _draw_outcome_image(ax: Axes, codes: np.ndarray) -> None:
    cmap = ListedColormap([OUTCOME_COLORS[o] for o in OUTCOMES]).with_extremes(under="white")
    norm = BoundaryNorm(np.arange(-0.5, len(OUTCOMES)), cmap.N)
    ax.imshow(codes, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(CRITERION_IDS)), CRITERION_IDS)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("Criterion (inclusion I1-I8, exclusion E1-E11)")
    ax.axvline(7.5, color="white", linewidth=2)  # inclusion | exclusion
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _draw_verdict_strip(ax: Axes, order: pd.DataFrame) -> None:
    verdict_codes = order["verdict"].map({v: i for i, v in enumerate(VERDICTS)}).to_numpy()[:, None]
    cmap = ListedColormap([VERDICT_COLORS[v] for v in VERDICTS])
    ax.imshow(verdict_codes, cmap=cmap, norm=BoundaryNorm(np.arange(-0.5, len(VERDICTS)), cmap.N),
              aspect="auto", interpolation="nearest")
    ax.set_xticks([0], ["verdict"])
    ax.xaxis.set_ticks_position("top")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _label_grid_rows(strip_ax: Axes, ax: Axes, order: pd.DataFrame) -> None:
    """Patient IDs for small grids; verdict group names and counts always."""
    n = len(order)
    if n <= MAX_LABELLED_PATIENTS:
        strip_ax.set_yticks(range(n), order["patient_id"], fontsize=7 if n > 30 else 8)
    else:
        strip_ax.set_yticks([])
        strip_ax.set_ylabel(f"patients, sorted by verdict, site and ID (n = {n})")
    position = 0
    for verdict in VERDICTS:
        size = int((order["verdict"] == verdict).sum())
        if size:
            ax.text(1.01, position + size / 2 - 0.5, f"{verdict}\n(n = {size})", transform=ax.get_yaxis_transform(),
                    va="center", ha="left", fontsize=8, color="#333333")
            if position:
                ax.axhline(position - 0.5, color="black", linewidth=1.2)
        position += size


# --------------------------------------------------------------------------- flow


def consort_flow(result: ResultLike, top: int = 3, title: str = "Screening flow") -> ReportFigure:
    """CONSORT-style flow: screened -> ineligible / pending / eligible, with top reasons.

    Boxes are text boxes on an axes without ticks (label ``"flow"``), joined by arrows;
    each box text starts with its name and ``n = <count>``.
    """
    boxes = summaries.flow_boxes(result, top=top).set_index("box")
    with figure_style():
        fig = new_figure((10, 4.5))
        ax = fig.add_subplot(label="flow")
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0.2, 1)  # the lowest box ends near 0.25 with three reasons listed
        figure_title(fig, title)
        screened = int(boxes.loc["screened", "patients"])
        _flow_box(ax, (0.5, 0.9), f"Patients screened (consent signed)\nn = {screened}", "#333333")
        headings = {"ineligible": "Ineligible\n(a criterion fails)", "pending": "Pending\n(data to collect)",
                    "eligible": "Eligible\n(all criteria met or waived)"}
        reason_titles = {"ineligible": "most frequent failures:", "pending": "most often unknown:", "eligible": ""}
        for x, verdict in zip((0.17, 0.5, 0.83), ("ineligible", "pending", "eligible")):
            row = boxes.loc[verdict]
            lines = [headings[verdict], f"n = {int(row['patients'])} ({_percent(row['share'])})"]
            if row["details"]:
                lines += ["", reason_titles[verdict], *row["details"]] if reason_titles[verdict] else ["", *row["details"]]
            _flow_box(ax, (x, 0.55), "\n".join(lines), VERDICT_COLORS[verdict], va="top")
            ax.annotate("", xy=(x, 0.58), xytext=(0.5, 0.8),
                        arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 1.2,
                                    "shrinkA": 0, "shrinkB": 0})
    return fig


def _flow_box(ax: Axes, xy: tuple[float, float], text: str, edge: str, va: str = "center") -> None:
    x, y = xy
    ax.text(x, y, text, ha="center", va=va, fontsize=8.5,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "white", "edgecolor": edge, "linewidth": 2})


def _percent(share: float) -> str:
    return "n/a" if pd.isna(share) else f"{share:.1%}"


# --------------------------------------------------------------------------- bars


def failure_reasons_chart(result: ResultLike, title: str = "Failure reasons") -> ReportFigure:
    """Horizontal bars per failed criterion: patients failing it, and failing only it.

    Criteria nobody fails are left out; the most frequent reason is on top. The axes has
    label ``"reasons"``; its two bar containers are labelled ``"any failure"`` and
    ``"sole reason"`` and their values equal :func:`summaries.failure_reasons`.
    """
    reasons = summaries.failure_reasons(result)
    reasons = reasons[reasons["any_failure"] > 0].sort_values("any_failure", ascending=False, kind="stable")
    with figure_style():
        fig = new_figure((10, 6))
        ax = fig.add_subplot(label="reasons")
        n_ineligible = int((summaries.verdict_counts(result).set_index("verdict").loc["ineligible", "patients"]))
        figure_title(fig, f"{title} ({n_ineligible} ineligible of {len(result.verdicts)} screened)")
        if reasons.empty:
            no_data(ax, "no criterion failed")
            return fig
        y = np.arange(len(reasons))
        height = 0.4
        specs = (("any failure", "any_failure", -height / 2, OKABE_ITO["vermillion"]),
                 ("sole reason", "sole_reason", height / 2, OKABE_ITO["blue"]))
        for label, column, offset, color in specs:
            bars = ax.barh(y + offset, reasons[column], height=height, color=color, label=label)
            ax.bar_label(bars, padding=2, fontsize=8)
        labels = summaries.labels_of_run(result)
        ax.set_yticks(y, [criterion_tick_label(c, labels) for c in reasons["criterion_id"]])
        ax.invert_yaxis()
        ax.set_xlabel("patients")
        ax.margins(x=0.08)
        ax.legend(loc="lower right")
    return fig


def unknown_rate_chart(result: ResultLike, title: str = "Unknown rate per criterion") -> ReportFigure:
    """Horizontal bars: share of screened patients whose criterion could not be decided.

    All 19 criteria in record order, each annotated ``k (x.x%)``. Axes label
    ``"unknown rates"``; the bar widths are percentages equal to
    ``100 * summaries.unknown_rates(result)["unknown_rate"]``.
    """
    rates = summaries.unknown_rates(result)
    with figure_style():
        fig = new_figure((10, 6))
        ax = fig.add_subplot(label="unknown rates")
        figure_title(fig, f"{title} (data completeness, n = {len(result.verdicts)} screened)")
        if not len(result.verdicts):
            no_data(ax)
            return fig
        y = np.arange(len(rates))
        bars = ax.barh(y, 100 * rates["unknown_rate"], color=OKABE_ITO["orange"], label="unknown")
        ax.bar_label(bars, labels=[f"{k} ({r:.1%})" for k, r in zip(rates["unknown"], rates["unknown_rate"])],
                     padding=2, fontsize=8)
        labels = summaries.labels_of_run(result)
        ax.set_yticks(y, [criterion_tick_label(c, labels) for c in rates["criterion_id"]])
        ax.invert_yaxis()
        ax.set_xlabel("% of screened patients with the criterion unknown")
        ax.set_xlim(0, max(10.0, float(100 * rates["unknown_rate"].max()) * 1.25))
    return fig


def monthly_chart(result: ResultLike, title: str = "Patients screened per month, by verdict") -> ReportFigure:
    """Stacked bars of patients screened per month of consent, one colour per verdict.

    Totals are written on top of each bar. Patients without a consent date are not drawn;
    the title says how many there are. Axes label ``"monthly"``; one bar container per
    verdict, labelled with the verdict, heights equal to :func:`summaries.monthly_counts`.
    """
    monthly = summaries.monthly_counts(result)
    undated = monthly[monthly["month"] == summaries.NO_CONSENT_DATE]
    monthly = monthly[monthly["month"] != summaries.NO_CONSENT_DATE].reset_index(drop=True)
    with figure_style():
        fig = new_figure((10, 4.5))
        ax = fig.add_subplot(label="monthly")
        extra = f"; {int(undated['screened'].sum())} without a consent date not shown" if len(undated) else ""
        figure_title(fig, f"{title} (n = {len(result.verdicts)}{extra})")
        if monthly.empty:
            no_data(ax, "no dated consents")
            return fig
        x = np.arange(len(monthly))
        bottom = np.zeros(len(monthly))
        for verdict in VERDICTS:
            ax.bar(x, monthly[verdict], bottom=bottom, color=VERDICT_COLORS[verdict], label=verdict, width=0.8)
            bottom += monthly[verdict].to_numpy()
        for xi, total in zip(x, monthly["screened"]):
            if total:
                ax.text(xi, total, str(int(total)), ha="center", va="bottom", fontsize=7)
        step = max(1, int(np.ceil(len(monthly) / 24)))  # at most ~24 readable tick labels
        ax.set_xticks(x[::step], monthly["month"][::step], rotation=90)
        ax.set_xlabel("month of consent")
        ax.set_ylabel("patients screened")
        ax.set_ylim(0, max(1.0, float(monthly["screened"].max())) * 1.15)
        ax.legend(loc="upper left", ncols=3)
    return fig
