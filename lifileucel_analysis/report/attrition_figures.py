"""Drawings of :mod:`.attrition`: the protocol-order flow and the UpSet-style combinations.

Both draw the tidy tables of :mod:`.attrition` and nothing else, so the numbers in the
picture are the numbers in the table (the tests read them back from the artists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..contract.messages import counted
from ..contract.schema import CRITERION_IDS
from .attrition import TOP_COMBINATIONS, attrition_table, failure_sets
from .figure_style import OKABE_ITO, VERDICT_COLORS, ReportFigure, figure_style, figure_title, new_figure, no_data

if TYPE_CHECKING:  # the protocol, for type checkers only
    from .summaries import ResultLike

ROW_INCHES = 0.42


def _box(ax: object, x: float, y: float, text: str, edge: str, ha: str = "center") -> None:
    ax.text(x, y, text, ha=ha, va="center", fontsize=8,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": edge, "linewidth": 1.5})


def attrition_chart(result: ResultLike, title: str = "Attrition in protocol order") -> ReportFigure:
    """Screened at the top; one exclusion box per criterion that excludes anyone; pending, eligible.

    Axes label ``"attrition"``; each box is a text artist whose text contains ``n = <count>``.
    """
    table = attrition_table(result)
    excluded = table[(table["box"] == "excluded") & (table["patients"] > 0)]
    rows = 2 + len(excluded)
    with figure_style():
        fig = new_figure((9, 1.2 + ROW_INCHES * rows))
        ax = fig.add_subplot(label="attrition")
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.5, rows - 0.5)
        figure_title(fig, f"{title} (n = {int(table.iloc[0]['patients'])} screened; each ineligible patient "
                          "counted once, at the first criterion failed)")
        y = rows - 1
        _box(ax, 0.3, y, f"Screened\nn = {int(table.iloc[0]['patients'])}", "#333333")
        for _, row in excluded.iterrows():
            y -= 1
            ax.annotate("", xy=(0.3, y - 0.3), xytext=(0.3, y + 0.7),
                        arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 1})
            ax.annotate("", xy=(0.55, y), xytext=(0.3, y),
                        arrowprops={"arrowstyle": "-|>", "color": VERDICT_COLORS["ineligible"], "linewidth": 1})
            _box(ax, 0.56, y, f"Excluded at {row['criterion_id']} {row['criterion']}: n = {int(row['patients'])}",
                 VERDICT_COLORS["ineligible"], ha="left")
            # Below the branch, on the arrow leaving this step: the count left after this exclusion.
            ax.text(0.28, y - 0.22, f"remaining n = {int(row['remaining'])}", ha="right", va="center", fontsize=7)
        y -= 1
        for x, box in ((0.15, "pending"), (0.45, "eligible")):
            count = int(table.loc[table["box"] == box, "patients"].iloc[0])
            ax.annotate("", xy=(x, y + 0.25), xytext=(0.3, y + 0.7),
                        arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 1})
            _box(ax, x, y, f"{box.capitalize()}\nn = {count}", VERDICT_COLORS[box])
    return fig


def upset_chart(result: ResultLike, top: int = TOP_COMBINATIONS,
                title: str = "Combinations of failed criteria") -> ReportFigure:
    """UpSet-style: bars of the most frequent exact failure sets, dots below marking their criteria.

    Axes labels ``"combinations"`` (bars; ``containers[0]`` holds the counts) and ``"sets"``.
    """
    sets = failure_sets(result, top=top)
    n_ineligible = int((result.verdicts["verdict"].astype(str) == "ineligible").sum())
    used = [c for c in CRITERION_IDS if any(c in s for s in sets["criteria"])]
    with figure_style():
        fig = new_figure((9, 2.6 + 0.22 * max(len(used), 1)))
        figure_title(fig, f"{title} ({counted(n_ineligible, 'ineligible patient')}; the {min(top, len(sets))} most "
                          "frequent exact combinations)")
        if sets.empty:
            no_data(fig.add_subplot(label="combinations"), "no patient is ineligible")
            return fig
        grid = fig.add_gridspec(2, 1, height_ratios=[2, max(len(used), 1) * 0.35])
        bars = fig.add_subplot(grid[0], label="combinations")
        dots = fig.add_subplot(grid[1], sharex=bars, label="sets")
        x = np.arange(len(sets))
        container = bars.bar(x, sets["patients"], color=VERDICT_COLORS["ineligible"], label="patients")
        bars.bar_label(container, fontsize=7)
        bars.set_ylabel("patients")
        bars.tick_params(axis="x", labelbottom=False)
        _draw_dots(dots, sets, used, x)
    return fig


def _draw_dots(ax: object, sets: pd.DataFrame, used: list[str], x: np.ndarray) -> None:
    for row, cid in enumerate(used):
        member = np.array([cid in s for s in sets["criteria"]])
        ax.scatter(x, np.full(len(x), row), s=18, color=np.where(member, OKABE_ITO["black"], "#DDDDDD"))
    for position, criteria in zip(x, sets["criteria"], strict=True):
        rows = [used.index(c) for c in criteria]
        if len(rows) > 1:
            ax.plot([position, position], [min(rows), max(rows)], color=OKABE_ITO["black"], linewidth=1.2)
    ax.set_yticks(range(len(used)), used)
    ax.set_ylim(len(used) - 0.5, -0.5)
    ax.set_xticks(x, ["other" if not c else "" for c in sets["criteria"]], fontsize=7)
    ax.spines[["left", "bottom"]].set_visible(False)


def outcome_counts_chart(result: ResultLike, title: str = "Criterion outcomes") -> ReportFigure:
    """Criterion x outcome counts as stacked bars: the outcome grid when it has too many rows to read.

    Axes label ``"outcome counts"``; one bar container per outcome (``label`` = outcome),
    widths = patients with that outcome per criterion, each bar summing to the patients screened.
    """
    from ..engine.outcome import LABELS as OUTCOMES
    from .figure_style import OUTCOME_COLORS, OUTCOME_LABELS, criterion_tick_label
    from .summaries import labels_of_run

    outcomes = result.outcomes.assign(criterion_id=result.outcomes["criterion_id"].astype(str),
                                      outcome=result.outcomes["outcome"].astype(str))
    counts = pd.crosstab(outcomes["criterion_id"], outcomes["outcome"]).reindex(
        index=list(CRITERION_IDS), columns=list(OUTCOMES), fill_value=0)
    n = len(result.verdicts)
    with figure_style():
        fig = new_figure((10, 6))
        ax = fig.add_subplot(label="outcome counts")
        figure_title(fig, f"{title}: patients per criterion and outcome (n = {n} screened; too many patients "
                          "for one row each)")
        left = np.zeros(len(counts))
        y = np.arange(len(counts))
        for outcome in OUTCOMES:
            ax.barh(y, counts[outcome], left=left, color=OUTCOME_COLORS[outcome], label=OUTCOME_LABELS[outcome])
            left += counts[outcome].to_numpy()
        labels = labels_of_run(result)
        ax.set_yticks(y, [criterion_tick_label(c, labels) for c in counts.index])
        ax.invert_yaxis()
        ax.set_xlabel(f"patients (of {n} screened)")
        fig.legend(loc="outside lower center", ncols=len(OUTCOMES), title="Criterion outcome")
    return fig
