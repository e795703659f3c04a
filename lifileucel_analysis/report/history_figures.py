"""The figure of screening over time: eligible, pending and ineligible patients at each data cut.

Drawn from :func:`.since_last_cut.verdicts_over_cuts` (the table the page shows beside
it), so the figure and the table hold the same numbers. Axes label ``"cuts"``; one line
per verdict (``ax.lines``, labelled with the verdict) whose y values are the table's
columns, for tests to read back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract.messages import counted
from ..engine.screening import VERDICTS
from .figure_style import VERDICT_COLORS, ReportFigure, figure_style, figure_title, new_figure

MARKERS: dict[str, str] = {"eligible": "o", "pending": "s", "ineligible": "^"}
"""A marker per verdict as well as a colour, so the lines are told apart without colour."""


def verdicts_over_cuts_chart(table: pd.DataFrame, title: str = "Verdicts at each data cut, all sites") -> ReportFigure:
    """One point per cut date and verdict, joined by lines; counts written beside the last points."""
    with figure_style():
        fig = new_figure((10, 4))
        ax = fig.add_subplot(label="cuts")
        figure_title(fig, f"{title} ({counted(len(table), 'cut')} in the run history)")
        x = np.arange(len(table))
        for verdict in VERDICTS:
            values = table[verdict].to_numpy(dtype=int)
            ax.plot(x, values, marker=MARKERS[verdict], color=VERDICT_COLORS[verdict], label=verdict, linewidth=1.5)
            if len(values):
                ax.annotate(str(values[-1]), (x[-1], values[-1]), xytext=(6, 0), textcoords="offset points",
                            va="center", fontsize=8)
        ax.set_xticks(x, table["cut_date"].tolist(), rotation=0 if len(table) <= 8 else 90)
        ax.set_xlim(-0.5, max(len(table) - 0.5, 0.5) + 0.3)
        ax.set_xlabel("data cut date")
        ax.set_ylabel("patients")
        top = float(table[list(VERDICTS)].to_numpy().max()) if len(table) else 1.0
        ax.set_ylim(0, max(1.0, top) * 1.15)
        ax.legend(loc="upper left", ncols=3)
    return fig


def verdicts_over_cuts_text(table: pd.DataFrame) -> str:
    """Alt text: every cut with its counts (the table beside the figure holds the same)."""
    points = "; ".join(f"{r.cut_date}: {r.eligible} eligible, {r.pending} pending, {r.ineligible} ineligible "
                       f"of {r.screened}" for r in table.itertuples())
    return f"Lines of eligible, pending and ineligible patients at {counted(len(table), 'data cut')}: {points}."
