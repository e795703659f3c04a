"""Figures of a screening run: each function takes a result and returns a matplotlib Figure.

Design rules, so that figures are legible, accessible and byte-for-byte reproducible:

- One colour-blind-safe palette (Okabe & Ito, 2008), defined once in :data:`OKABE_ITO`;
  outcomes and verdicts always have the same colours (:data:`OUTCOME_COLORS`,
  :data:`VERDICT_COLORS`).
- Fixed size in inches and fixed dpi per figure; the bundled DejaVu Sans font; no
  randomness anywhere (no jitter: overlapping markers are offset by verdict).
- Figures are built with :class:`matplotlib.figure.Figure` directly, never with
  ``pyplot``: nothing global is created or closed, the inline backend does not display
  them a second time, and the caller owns the returned object.
- Every figure is drawn inside ``matplotlib.rc_context(STYLE)``, so the look does not
  depend on the caller's rcParams.
- Axes carry a ``label`` (``ax.get_label()``) and bar containers a ``label`` so that the
  tests can read the plotted numbers back as data.

Notebooks call :func:`configure_matplotlib` once (the report layer does it) to make inline
PNGs deterministic: fixed ``svg.hashsalt``, no ``Software`` PNG metadata, no tight
bounding box (fixed pixel size).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import summaries
from ..contract.schema import CRITERION_IDS, SITE_IDS, SITES
from .summaries import OUTCOMES, RECORD_MILESTONES, VERDICTS, ResultLike

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe-Ito colour-blind-safe palette."""
NEUTRAL_GREY = "#BBBBBB"
"""For 'not applicable' and empty cells: a grey that no palette colour can be confused with."""

OUTCOME_COLORS: dict[str, str] = {
    "pass": OKABE_ITO["bluish_green"],
    "fail": OKABE_ITO["vermillion"],
    "unknown": OKABE_ITO["orange"],
    "not_applicable": NEUTRAL_GREY,
    "waived": OKABE_ITO["sky_blue"],
}
VERDICT_COLORS: dict[str, str] = {
    "eligible": OKABE_ITO["bluish_green"],
    "pending": OKABE_ITO["orange"],
    "ineligible": OKABE_ITO["vermillion"],
}
OUTCOME_LABELS: dict[str, str] = {
    "pass": "pass",
    "fail": "fail",
    "unknown": "unknown (data missing)",
    "not_applicable": "not applicable",
    "waived": "waived",
}
SEQUENTIAL_CMAP = "cividis"
"""Heat maps: perceptually uniform and readable with colour-vision deficiency."""

DPI = 100
SVG_HASHSALT = "lifileucel-eap"
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "image.interpolation": "nearest",
    "svg.hashsalt": SVG_HASHSALT,
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "text.usetex": False,
}
"""rcParams every figure is drawn with (and that :func:`configure_matplotlib` sets)."""
PRINT_FIGURE_KWARGS: dict[str, Any] = {"metadata": {"Software": None}, "bbox_inches": None}
"""Inline-backend ``print_figure`` arguments: no Software chunk, fixed pixel size."""

MAX_LABELLED_PATIENTS = 60
"""The patient grid names its rows only up to this many patients (beyond, they are too thin)."""


def configure_matplotlib() -> None:
    """Make matplotlib output in notebooks deterministic; call once per kernel.

    Sets :data:`STYLE` in the global rcParams and, inside IPython, makes the inline
    backend render :class:`~matplotlib.figure.Figure` objects as PNG with
    :data:`PRINT_FIGURE_KWARGS` (no ``Software`` metadata, no tight bounding box). Outside
    IPython only the rcParams change. Figures from this module do not need it to look
    right; it only fixes how notebooks serialise them.
    """
    matplotlib.rcParams.update(STYLE)
    shell = _ipython_shell()
    if shell is None:
        return
    from IPython.core.pylabtools import select_figure_formats
    from matplotlib_inline.config import InlineBackend

    backend = InlineBackend.instance()
    # Both places: the config is re-read if pyplot activates the inline backend later.
    backend.print_figure_kwargs = dict(PRINT_FIGURE_KWARGS)
    backend.figure_formats = {"png"}
    select_figure_formats(shell, {"png"}, **PRINT_FIGURE_KWARGS)


def _ipython_shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the notebook stack
        return None
    return get_ipython()


def _new_figure(size: tuple[float, float]) -> Figure:
    """A figure of fixed size and dpi with constrained layout, outside pyplot."""
    return Figure(figsize=size, dpi=DPI, layout="constrained")


def _criterion_label(criterion_id: str, width: int = 48) -> str:
    label = summaries.CRITERION_LABELS.get(criterion_id, criterion_id)
    return f"{criterion_id}  {textwrap.shorten(label, width=width, placeholder='...')}"


def _no_data(ax: Axes, message: str = "no patients screened") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def _text_color_on(fill: Sequence[float] | str) -> str:
    """Black or white text, whichever reads better on ``fill`` (relative luminance)."""
    r, g, b = to_rgb(fill)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


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


def outcome_grid(result: ResultLike, title: str = "Criterion outcomes per patient") -> Figure:
    """Patient x criterion grid, colour-coded by outcome, patients grouped by verdict.

    A narrow strip on the left shows each patient's verdict. Patient IDs label the rows
    when there are at most :data:`MAX_LABELLED_PATIENTS`; beyond that the rows are too
    thin to read and the strip's group labels carry the counts.

    The grid axes has label ``"grid"``; its image array equals :func:`outcome_codes`.
    """
    order = grid_order(result)
    codes = outcome_codes(result)
    with matplotlib.rc_context(STYLE):
        fig = _new_figure((10, 8))
        strip_ax, ax = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1, 19]})
        strip_ax.set_label("verdict strip")
        ax.set_label("grid")
        fig.suptitle(f"{title} (n = {len(order)})", fontweight="bold")
        if not len(order):
            _no_data(ax)
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


def consort_flow(result: ResultLike, top: int = 3, title: str = "Screening flow") -> Figure:
    """CONSORT-style flow: screened -> ineligible / pending / eligible, with top reasons.

    Boxes are text boxes on an axes without ticks (label ``"flow"``), joined by arrows;
    each box text starts with its name and ``n = <count>``.
    """
    boxes = summaries.flow_boxes(result, top=top).set_index("box")
    with matplotlib.rc_context(STYLE):
        fig = _new_figure((10, 4.5))
        ax = fig.add_subplot(label="flow")
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0.2, 1)  # the lowest box ends near 0.25 with three reasons listed
        fig.suptitle(title, fontweight="bold")
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


def failure_reasons_chart(result: ResultLike, title: str = "Failure reasons") -> Figure:
    """Horizontal bars per failed criterion: patients failing it, and failing only it.

    Criteria nobody fails are left out; the most frequent reason is on top. The axes has
    label ``"reasons"``; its two bar containers are labelled ``"any failure"`` and
    ``"sole reason"`` and their values equal :func:`summaries.failure_reasons`.
    """
    reasons = summaries.failure_reasons(result)
    reasons = reasons[reasons["any_failure"] > 0].sort_values("any_failure", ascending=False, kind="stable")
    with matplotlib.rc_context(STYLE):
        fig = _new_figure((10, 6))
        ax = fig.add_subplot(label="reasons")
        n_ineligible = int((summaries.verdict_counts(result).set_index("verdict").loc["ineligible", "patients"]))
        ax.set_title(f"{title} ({n_ineligible} ineligible of {len(result.verdicts)} screened)")
        if reasons.empty:
            _no_data(ax, "no criterion failed")
            return fig
        y = np.arange(len(reasons))
        height = 0.4
        specs = (("any failure", "any_failure", -height / 2, OKABE_ITO["vermillion"]),
                 ("sole reason", "sole_reason", height / 2, OKABE_ITO["blue"]))
        for label, column, offset, color in specs:
            bars = ax.barh(y + offset, reasons[column], height=height, color=color, label=label)
            ax.bar_label(bars, padding=2, fontsize=8)
        ax.set_yticks(y, [_criterion_label(c) for c in reasons["criterion_id"]])
        ax.invert_yaxis()
        ax.set_xlabel("patients")
        ax.margins(x=0.08)
        ax.legend(loc="lower right")
    return fig


def unknown_rate_chart(result: ResultLike, title: str = "Unknown rate per criterion") -> Figure:
    """Horizontal bars: share of screened patients whose criterion could not be decided.

    All 19 criteria in record order, each annotated ``k (x.x%)``. Axes label
    ``"unknown rates"``; the bar widths are percentages equal to
    ``100 * summaries.unknown_rates(result)["unknown_rate"]``.
    """
    rates = summaries.unknown_rates(result)
    with matplotlib.rc_context(STYLE):
        fig = _new_figure((10, 6))
        ax = fig.add_subplot(label="unknown rates")
        ax.set_title(f"{title} (data completeness, n = {len(result.verdicts)} screened)")
        if not len(result.verdicts):
            _no_data(ax)
            return fig
        y = np.arange(len(rates))
        bars = ax.barh(y, 100 * rates["unknown_rate"], color=OKABE_ITO["orange"], label="unknown")
        ax.bar_label(bars, labels=[f"{k} ({r:.1%})" for k, r in zip(rates["unknown"], rates["unknown_rate"])],
                     padding=2, fontsize=8)
        ax.set_yticks(y, [_criterion_label(c) for c in rates["criterion_id"]])
        ax.invert_yaxis()
        ax.set_xlabel("% of screened patients with the criterion unknown")
        ax.set_xlim(0, max(10.0, float(100 * rates["unknown_rate"].max()) * 1.25))
    return fig


def monthly_chart(result: ResultLike, title: str = "Patients screened per month, by verdict") -> Figure:
    """Stacked bars of patients screened per month of consent, one colour per verdict.

    Totals are written on top of each bar. Patients without a consent date are not drawn;
    the title says how many there are. Axes label ``"monthly"``; one bar container per
    verdict, labelled with the verdict, heights equal to :func:`summaries.monthly_counts`.
    """
    monthly = summaries.monthly_counts(result)
    undated = monthly[monthly["month"] == summaries.NO_CONSENT_DATE]
    monthly = monthly[monthly["month"] != summaries.NO_CONSENT_DATE].reset_index(drop=True)
    with matplotlib.rc_context(STYLE):
        fig = _new_figure((10, 4.5))
        ax = fig.add_subplot(label="monthly")
        extra = f"; {int(undated['screened'].sum())} without a consent date not shown" if len(undated) else ""
        ax.set_title(f"{title} (n = {len(result.verdicts)}{extra})")
        if monthly.empty:
            _no_data(ax, "no dated consents")
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


# --------------------------------------------------------------------------- sites


def _site_label(site_id: str) -> str:
    name = SITES[site_id].name if site_id in SITES else "All sites"
    return "\n".join(textwrap.wrap(name, width=34))


def site_comparison_chart(result: ResultLike, title: str = "Eligible share by site") -> Figure:
    """Eligible share per site with 95% Wilson intervals, annotated ``k / n``.

    A dashed line marks the program-wide share. Axes label ``"sites"``; the plotted
    points (``ax.lines[0]``) are the shares in percent of :func:`summaries.site_table`.
    """
    table = summaries.site_table(result, sites=list(SITE_IDS), with_total=True)
    total = table[table["site_id"] == "all"].iloc[0]
    sites = table[table["site_id"] != "all"].reset_index(drop=True)
    with matplotlib.rc_context(STYLE):
        fig = _new_figure((10, 5))
        ax = fig.add_subplot(label="sites")
        ax.set_title(f"{title} (95% Wilson intervals; n = {int(total['screened'])} screened)")
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
        ax.set_yticks(y, [_site_label(s) for s in sites["site_id"]])
        ax.invert_yaxis()
        ax.set_xlim(0, 130)  # room for the k / n annotations right of 100%
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel("% of screened patients eligible")
        ax.legend(loc="upper right")
    return fig


def site_heatmap(result: ResultLike, outcome: summaries.CriterionOutcome = "fail",
                 title: str | None = None) -> Figure:
    """Heat map site x criterion of the share of screened patients with ``outcome``.

    Every cell is annotated with its percentage; a site without screened patients is a
    grey row marked ``-``. Axes label ``"heatmap"``; its image array is the percentage
    matrix of :func:`summaries.site_criterion_rates` (masked where undefined).
    """
    matrix = summaries.site_criterion_rates(result, outcome=outcome)
    values = np.ma.masked_invalid(100 * matrix.to_numpy(dtype=float))
    word = {"fail": "Failure", "unknown": "Unknown"}[outcome]
    with matplotlib.rc_context(STYLE):
        fig = _new_figure((11, 4.8))
        ax = fig.add_subplot(label="heatmap")
        ax.set_title(title or f"{word} rate by site and criterion (% of the site's screened patients)")
        vmax = max(5.0, float(np.ceil(values.max() / 5) * 5)) if values.count() else 5.0
        cmap = matplotlib.colormaps[SEQUENTIAL_CMAP].with_extremes(bad=NEUTRAL_GREY)
        image = ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax, aspect="auto", interpolation="nearest")
        _annotate_cells(ax, values, image)
        ax.set_xticks(range(len(CRITERION_IDS)), CRITERION_IDS)
        ax.set_yticks(range(len(matrix.index)), [_site_label(s).replace("\n", " ") for s in matrix.index])
        ax.set_xlabel("criterion")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        bar.set_label(f"% {outcome}")
    return fig


def _annotate_cells(ax: Axes, values: np.ma.MaskedArray, image: Any) -> None:
    for (row, col), value in np.ndenumerate(values.filled(np.nan)):
        if np.isnan(value):
            ax.text(col, row, "-", ha="center", va="center", fontsize=7, color="black")
            continue
        color = _text_color_on(image.cmap(image.norm(value)))
        ax.text(col, row, f"{value:.0f}", ha="center", va="center", fontsize=7, color=color)


# --------------------------------------------------------------------------- timeline

MILESTONE_STYLES: tuple[str, ...] = ("--", ":", "-.")
"""Line styles of the registry record's dates on the timeline (told apart without colour)."""
VERDICT_OFFSETS: Mapping[str, float] = {"eligible": -0.22, "pending": 0.0, "ineligible": 0.22}
"""Vertical offset of each verdict's markers within a site's row (no random jitter)."""


def program_timeline(result: ResultLike, title: str = "Program timeline") -> Figure:
    """Consents over time per site, coloured by verdict, with the registry record's dates.

    Each site is a row: a grey line from first to last consent, one tick mark per
    screened patient at the consent date (offset up/down by verdict), and the number
    screened at the right. Vertical lines mark the record's key dates
    (:data:`summaries.RECORD_MILESTONES`), named in the legend. Axes label ``"timeline"``.
    """
    spans = summaries.site_timeline(result)
    verdicts = result.verdicts.assign(site_id=result.verdicts["site_id"].astype(str),
                                      verdict=result.verdicts["verdict"].astype(str))
    site_row = {s: i for i, s in enumerate(SITE_IDS)}
    milestones = [(pd.Timestamp(day), text) for day, text in RECORD_MILESTONES]
    with matplotlib.rc_context(STYLE):
        fig = _new_figure((11, 4.8))
        ax = fig.add_subplot(label="timeline")
        ax.set_title(f"{title}: consents per site (n = {len(verdicts)} screened)")
        for row, span in spans.iterrows():
            if pd.notna(span["first_consent"]):
                ax.plot([span["first_consent"], span["last_consent"]], [row, row], color="#CCCCCC", linewidth=6,
                        solid_capstyle="round", zorder=1)
        for verdict in VERDICTS:
            mine = verdicts[(verdicts["verdict"] == verdict) & verdicts["consent_date"].notna()]
            ax.scatter(mine["consent_date"], mine["site_id"].map(site_row) + VERDICT_OFFSETS[verdict], marker="|",
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
    ax.set_yticks(range(len(spans)), [_site_label(s).replace("\n", " ") for s in spans["site_id"]])
    ax.set_ylim(len(spans) - 0.5, -0.5)
    ax.set_xlabel("date of consent")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="verdict / record dates")
