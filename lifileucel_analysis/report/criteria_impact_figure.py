"""The figure of the criteria impact report: what each criterion does to the current screening.

Drawn from the impact table (:func:`.criteria_impact_tables.impact_table`), so the bars
are its numbers; the style rules are :mod:`.figure_style`'s. Axes and bar containers
carry labels so the tests read the plotted numbers back as data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .figure_style import OKABE_ITO, VERDICT_COLORS, ReportFigure, criterion_tick_label, figure_style, figure_title
from .figure_style import new_figure, no_data

IMPACT_SERIES: tuple[tuple[str, str, str], ...] = (
    ("excluded by it alone", "excluded_by_it_alone", OKABE_ITO["vermillion"]),
    ("eligible without it", "eligible_without_it", VERDICT_COLORS["eligible"]),
    ("pending without it", "pending_without_it", VERDICT_COLORS["pending"]),
)
"""Bars per criterion: (legend label, impact column, colour), top to bottom within a criterion."""


def impact_chart(impact: pd.DataFrame, n_screened: int, title: str = "Each criterion's impact") -> ReportFigure:
    """Horizontal bars per criterion, in record order (I1 on top): the three impact counts.

    Parameters
    ----------
    impact : DataFrame
        :func:`.criteria_impact_tables.impact_table`: ``criterion_id``, ``criterion`` and
        the counts, one row per criterion in record order.
    n_screened : int
        Patients screened (the denominator named in the title).
    title : str

    Returns
    -------
    ReportFigure
        Axes label ``"impact"``; its bar containers are labelled as :data:`IMPACT_SERIES`
        and their widths equal the table's columns.
    """
    with figure_style():
        fig = new_figure((10, 7.5))
        ax = fig.add_subplot(label="impact")
        figure_title(fig, f"{title} (n = {n_screened} screened)")
        if not n_screened:
            no_data(ax)
            return fig
        y = np.arange(len(impact))
        height = 0.27
        for offset, (label, column, color) in zip((-height, 0.0, height), IMPACT_SERIES):
            bars = ax.barh(y + offset, impact[column], height=height, color=color, label=label)
            ax.bar_label(bars, labels=[str(v) if v else "" for v in impact[column]], padding=2, fontsize=7)
        labels = dict(zip(impact["criterion_id"], impact["criterion"]))
        ax.set_yticks(y, [criterion_tick_label(c, labels) for c in impact["criterion_id"]])
        ax.invert_yaxis()
        ax.set_xlabel("patients")
        ax.margins(x=0.08)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts of patients: no half ticks
        fig.legend(loc="outside lower center", ncols=len(IMPACT_SERIES))
    return fig
