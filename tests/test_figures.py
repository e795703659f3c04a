"""Figures tested as data: the plotted arrays, bar sizes and texts equal hand-made counts."""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Mapping

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib._pylab_helpers import Gcf
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lifileucel_analysis.report import attrition_figures, figure_style, figure_texts, figures, site_figures
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.contract.schema import CRITERION_IDS, SITE_IDS
from lifileucel_analysis.engine.screening import ScreeningResult

OUTCOME_DTYPE = pd.CategoricalDtype(["pass", "fail", "unknown", "not_applicable", "waived"])
CRITERION_DTYPE = pd.CategoricalDtype(list(CRITERION_IDS), ordered=True)
SITE_DTYPE = pd.CategoricalDtype(list(SITE_IDS))
VERDICT_DTYPE = pd.CategoricalDtype(["eligible", "pending", "ineligible"])
CODE = {"pass": 0, "fail": 1, "unknown": 2, "not_applicable": 3, "waived": 4}


def build_result(patients: Mapping[str, tuple[str, str, Mapping[str, str]]]) -> ScreeningResult:
    """Hand-made result: id -> (site, consent date, {criterion: outcome}); unlisted criteria pass."""
    rows = [{"patient_id": pid, "site_id": site, "criterion_id": c, "outcome": outs.get(c, "pass"),
             "evidence": "", "missing": ""} for pid, (site, _, outs) in patients.items() for c in CRITERION_IDS]
    outcomes = pd.DataFrame(rows, columns=["patient_id", "site_id", "criterion_id", "outcome", "evidence", "missing"])
    outcomes = outcomes.astype({"site_id": SITE_DTYPE, "criterion_id": CRITERION_DTYPE, "outcome": OUTCOME_DTYPE})

    def ids(outs: Mapping[str, str], which: str) -> str:
        return ";".join(c for c in CRITERION_IDS if outs.get(c) == which)

    verdicts = pd.DataFrame([
        {"patient_id": pid, "site_id": site, "consent_date": pd.Timestamp(consent or None),
         "verdict": "ineligible" if ids(outs, "fail") else "pending" if ids(outs, "unknown") else "eligible",
         "failed": ids(outs, "fail"), "unknown": ids(outs, "unknown"), "waived": ids(outs, "waived")}
        for pid, (site, consent, outs) in patients.items()
    ], columns=["patient_id", "site_id", "consent_date", "verdict", "failed", "unknown", "waived"])
    verdicts = verdicts.astype({"site_id": SITE_DTYPE, "verdict": VERDICT_DTYPE, "consent_date": "datetime64[s]"})
    empty = pd.DataFrame(columns=["patient_id", "site_id", "criterion_id", "approved_by", "approved_date", "reason",
                                  "original_outcome", "original_evidence"])
    return ScreeningResult(outcomes, verdicts, pd.DataFrame(columns=["patient_id", "site_id", "criterion_id", "fields"]),
                           empty, pd.DataFrame(columns=["patient_id", "table", "column", "value", "finding"]),
                           load_params(), n_in=len(patients))


@pytest.fixture
def result() -> ScreeningResult:
    """Five patients: P1 fails I4; P2 fails I4 and E3; P3 eligible with E11 n/a; P4 pending on I6; P5 waived E6."""
    return build_result({
        "P1": ("mskcc", "2025-01-10", {"I4": "fail"}),
        "P2": ("honorhealth", "2025-03-05", {"I4": "fail", "E3": "fail"}),
        "P3": ("mskcc", "2025-01-20", {"E11": "not_applicable"}),
        "P4": ("mskcc", "2025-03-15", {"I6": "unknown"}),
        "P5": ("honorhealth", "2025-01-25", {"E6": "waived"}),
    })


def axes(fig: Figure, label: str) -> Axes:
    (ax,) = [a for a in fig.axes if a.get_label() == label]
    return ax


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def test_outcome_grid_image_is_the_outcome_matrix_sorted_by_verdict(result: ScreeningResult) -> None:
    fig = figures.outcome_grid(result)
    order = figures.grid_order(result)
    # eligible (P3, P5 honorhealth first by site order), pending (P4), ineligible (P2 honorhealth, P1 mskcc)
    assert order["patient_id"].tolist() == ["P5", "P3", "P4", "P2", "P1"]
    expected = np.zeros((5, len(CRITERION_IDS)), dtype=int)
    col = {c: i for i, c in enumerate(CRITERION_IDS)}
    expected[0, col["E6"]] = CODE["waived"]
    expected[1, col["E11"]] = CODE["not_applicable"]
    expected[2, col["I6"]] = CODE["unknown"]
    expected[3, col["I4"]] = expected[3, col["E3"]] = CODE["fail"]
    expected[4, col["I4"]] = CODE["fail"]
    image = axes(fig, "grid").images[0].get_array()
    np.testing.assert_array_equal(np.asarray(image), expected)
    strip = axes(fig, "verdict strip").images[0].get_array()
    np.testing.assert_array_equal(np.asarray(strip).ravel(), [0, 0, 1, 2, 2])
    # Five patients: their IDs label the rows.
    assert [t.get_text() for t in axes(fig, "verdict strip").get_yticklabels()] == ["P5", "P3", "P4", "P2", "P1"]


def test_outcome_grid_legend_names_the_five_outcomes(result: ScreeningResult) -> None:
    fig = figures.outcome_grid(result)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["pass", "fail", "unknown (data missing)", "not applicable", "waived"]
    colors = [matplotlib.colors.to_hex(p.get_facecolor()) for p in legend.get_patches()]
    assert colors == [figure_style.OUTCOME_COLORS[o].lower() for o in CODE]


def test_outcome_grid_scales_to_hundreds_of_patients_without_row_labels() -> None:
    many = build_result({f"P{i:03d}": ("mskcc", "2025-01-01", {"I4": "fail"} if i % 3 else {})
                         for i in range(400)})
    fig = figures.outcome_grid(many)
    assert np.asarray(axes(fig, "grid").images[0].get_array()).shape == (400, 19)
    assert axes(fig, "verdict strip").get_yticklabels() == []
    assert any("eligible\n(n = 134)" == t for t in texts(fig))
    assert tuple(fig.get_size_inches()) == (10, 8)


def test_consort_flow_boxes_carry_the_counts(result: ScreeningResult) -> None:
    fig = figures.consort_flow(result)
    shown = "\n".join(texts(fig))
    assert "Patients screened (consent signed)\nn = 5" in shown
    assert "Ineligible\n(a criterion fails)\nn = 2 (40.0%)" in shown
    assert "Pending\n(data to collect)\nn = 1 (20.0%)" in shown
    assert "Eligible\n(all criteria met or waived)\nn = 2 (40.0%)" in shown
    assert "I4 Resectable lesion >= 1.5 cm: 2" in shown
    arrows = [t for t in axes(fig, "flow").texts if isinstance(t, matplotlib.text.Annotation)]
    assert len(arrows) == 3  # screened -> each verdict


def test_failure_reasons_bars_equal_counts(result: ScreeningResult) -> None:
    fig = figures.failure_reasons_chart(result)
    ax = axes(fig, "reasons")
    bars = {c.get_label(): c.datavalues.tolist() for c in ax.containers}
    # I4: any 2 (P1, P2), sole 1 (P1); E3: any 1, sole 0. Most frequent first.
    assert bars == {"any failure": [2, 1], "sole reason": [1, 0]}
    assert [t.get_text() for t in ax.get_yticklabels()][0].startswith("I4")
    assert {t.get_text() for t in ax.texts} >= {"2", "1", "0"}  # counts written on the bars


def test_criterion_tick_labels_name_the_limits_of_the_run(result: ScreeningResult) -> None:
    stricter = dataclasses.replace(result, params=load_params(overrides={"min_lesion_cm": 2.5}))
    for make, label in ((figures.failure_reasons_chart, "reasons"), (figures.unknown_rate_chart, "unknown rates")):
        ticks = [t.get_text() for t in axes(make(stricter), label).get_yticklabels()]
        assert "I4  Resectable lesion >= 2.5 cm" in ticks, make.__name__


def test_unknown_rate_bars_equal_percentages(result: ScreeningResult) -> None:
    ax = axes(figures.unknown_rate_chart(result), "unknown rates")
    (bars,) = ax.containers
    widths = dict(zip(CRITERION_IDS, bars.datavalues))
    assert widths["I6"] == pytest.approx(20.0)  # 1 of 5
    assert sum(widths.values()) == pytest.approx(20.0)
    assert "1 (20.0%)" in [t.get_text() for t in ax.texts]


def test_monthly_chart_stacks_verdict_counts(result: ScreeningResult) -> None:
    ax = axes(figures.monthly_chart(result), "monthly")
    heights = {c.get_label(): c.datavalues.tolist() for c in ax.containers}
    # 2025-01: P1 ineligible, P3 and P5 eligible; 2025-02: nobody; 2025-03: P2 ineligible, P4 pending.
    assert heights == {"eligible": [2, 0, 0], "pending": [0, 0, 1], "ineligible": [1, 0, 1]}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2025-01", "2025-02", "2025-03"]
    assert [t.get_text() for t in ax.texts] == ["3", "2"]  # totals on top of non-empty bars


def test_site_comparison_points_are_eligible_shares(result: ScreeningResult) -> None:
    ax = axes(site_figures.site_comparison_chart(result), "sites")
    x, y = ax.lines[0].get_data()
    shares = dict(zip([SITE_IDS[int(i)] for i in y], np.asarray(x, dtype=float)))
    assert shares["mskcc"] == pytest.approx(100 / 3)  # P3 of P1, P3, P4
    assert shares["honorhealth"] == pytest.approx(50.0)  # P5 of P2, P5
    assert np.isnan(shares["uofl-brown"])
    shown = [t.get_text() for t in ax.texts]
    assert "1 / 3 (33%); pending 1" in shown
    assert shown.count("no patients screened") == 4


def test_heatmap_values_are_site_criterion_percentages(result: ScreeningResult) -> None:
    fig = site_figures.site_heatmap(result, "fail")
    ax = axes(fig, "heatmap")
    image = ax.images[0].get_array()
    col = {c: i for i, c in enumerate(CRITERION_IDS)}
    row = {s: i for i, s in enumerate(SITE_IDS)}
    assert image[row["mskcc"], col["I4"]] == pytest.approx(100 / 3)
    assert image[row["honorhealth"], col["E3"]] == pytest.approx(50.0)
    assert image.mask[row["orlando-health"]].all()
    annotations = [t.get_text() for t in ax.texts]
    assert annotations.count("-") == 4 * len(CRITERION_IDS)  # sites without patients
    assert "1\n33%" in annotations and "1\n50%" in annotations  # count over percentage: 1 of 3, 1 of 2
    sites = [t.get_text() for t in ax.get_yticklabels()]
    assert sites[row["mskcc"]].endswith("(n=3)") and sites[row["orlando-health"]].endswith("(n=0)")
    unknown = axes(site_figures.site_heatmap(result, "unknown"), "heatmap").images[0].get_array()
    assert unknown[row["mskcc"], col["I6"]] == pytest.approx(100 / 3)


def test_timeline_marks_one_tick_per_patient(result: ScreeningResult) -> None:
    ax = axes(site_figures.program_timeline(result), "timeline")
    counts = {c.get_label(): len(c.get_offsets()) for c in ax.collections}
    assert counts == {"eligible": 2, "pending": 1, "ineligible": 2}
    shown = [t.get_text() for t in ax.texts]
    assert "n = 3" in shown and "n = 0" in shown
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["eligible", "pending", "ineligible", "First posted\n2022-06-01", "Last update posted\n2022-12-08"]


SUMMARY_FIGURES = (figures.outcome_grid, figures.consort_flow, figures.failure_reasons_chart,
                   figures.unknown_rate_chart, figures.monthly_chart, site_figures.site_comparison_chart,
                   site_figures.site_heatmap)
"""Figures a site report may draw for no patient (the timeline is the whole program's, which has patients)."""


def test_empty_result_draws_without_error() -> None:
    empty = build_result({})
    for make in SUMMARY_FIGURES:
        fig = make(empty)
        fig.savefig(io.BytesIO(), format="png")


@pytest.mark.parametrize("outcome", ["pass", "fail", "unknown"])
def test_every_figure_draws_when_two_verdicts_have_no_patient(outcome: str) -> None:
    # All eligible, all ineligible or all pending: the timeline once failed on an empty verdict.
    one_verdict = build_result({f"P{i}": ("mskcc", "2025-01-10", {"I6": outcome}) for i in range(3)})
    for make in (*SUMMARY_FIGURES, site_figures.program_timeline):
        fig = make(one_verdict)
        fig.savefig(io.BytesIO(), format="png")
    ticks = axes(site_figures.program_timeline(one_verdict), "timeline").collections
    verdict = {"pass": "eligible", "fail": "ineligible", "unknown": "pending"}[outcome]
    assert {c.get_label(): len(c.get_offsets()) for c in ticks}[verdict] == 3


def test_figures_are_deterministic_and_carry_no_software_metadata(result: ScreeningResult) -> None:
    def png() -> bytes:
        buffer = io.BytesIO()
        figures.outcome_grid(result).savefig(buffer, format="png", **figure_style.PRINT_FIGURE_KWARGS)
        return buffer.getvalue()

    first, second = png(), png()
    assert first == second
    assert b"Software" not in first and b"matplotlib" not in first

    def svg() -> bytes:
        buffer = io.BytesIO()
        figures.consort_flow(result).savefig(buffer, format="svg", metadata={"Date": None})  # styled by the figure
        return buffer.getvalue()

    assert svg() == svg()


def test_figures_leave_pyplot_and_rcparams_alone(result: ScreeningResult) -> None:
    before_figures = Gcf.get_num_fig_managers()
    before_rc = dict(matplotlib.rcParams)
    fig = figures.failure_reasons_chart(result)
    assert isinstance(fig, Figure)
    assert Gcf.get_num_fig_managers() == before_figures
    assert dict(matplotlib.rcParams) == before_rc
    assert fig.dpi == figure_style.DPI
    assert tuple(fig.get_size_inches()) == (10, 6)


def test_palette_is_okabe_ito() -> None:
    assert set(figure_style.VERDICT_COLORS.values()) <= set(figure_style.OKABE_ITO.values())
    assert {figure_style.OUTCOME_COLORS[o] for o in ("pass", "fail", "unknown", "waived")} <= set(
        figure_style.OKABE_ITO.values())


def test_figure_style_applies_inside_the_block_only() -> None:
    before = dict(matplotlib.rcParams)
    with figure_style.figure_style():
        assert matplotlib.rcParams["svg.hashsalt"] == figure_style.SVG_HASHSALT
        assert matplotlib.rcParams["font.family"] == ["DejaVu Sans"]
    assert dict(matplotlib.rcParams) == before


def test_figures_draw_the_same_whatever_the_callers_rcparams(result: ScreeningResult) -> None:
    # Ticks and layout are resolved when a figure is drawn, after the function returned:
    # the figure must draw in its own style, not in whatever rcParams are in force then.
    def saved(fig: Figure) -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", **figure_style.PRINT_FIGURE_KWARGS)
        return buffer.getvalue()

    def printed(fig: Figure) -> bytes:  # as IPython's inline backend renders a figure, without savefig
        buffer = io.BytesIO()
        fig.canvas.print_figure(buffer, format="png", dpi=fig.dpi, facecolor=fig.get_facecolor(),
                                edgecolor=fig.get_edgecolor(), **figure_style.PRINT_FIGURE_KWARGS)
        return buffer.getvalue()

    odd = {"font.size": 20, "xtick.labelsize": 30, "ytick.labelsize": 30, "xtick.major.size": 12,
           "figure.facecolor": "red", "savefig.facecolor": "red", "font.family": "monospace"}
    for make in (figures.unknown_rate_chart, site_figures.site_heatmap, site_figures.program_timeline):
        plain = saved(make(result))
        assert printed(make(result)) == plain, make.__name__
        for render in (saved, printed):
            with matplotlib.rc_context(odd):
                built_in_odd = make(result)
                assert render(built_in_odd) == plain, (make.__name__, render.__name__)
            built_plain = make(result)
            with matplotlib.rc_context(odd):
                assert render(built_plain) == plain, (make.__name__, render.__name__)


def test_a_figure_shows_itself_as_the_inline_png(result: ScreeningResult) -> None:
    fig = figures.outcome_grid(result)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **figure_style.PRINT_FIGURE_KWARGS)
    data, metadata = fig._repr_png_()
    shown = base64.b64decode(data)
    assert shown == buffer.getvalue()
    assert metadata == {"alt": "Criterion outcomes per patient (n = 5)"}  # the title when not described
    assert fig.describe("A  grid\nof 5 patients")._repr_png_()[1] == {"alt": "A grid of 5 patients"}
    assert b"Software" not in shown
    assert repr(fig) == "<Figure size 1000x800 with 2 Axes>"  # the notebooks' text/plain output


def test_the_combinations_alt_text_lists_the_bars_the_chart_draws() -> None:
    # 17 distinct single-criterion failures: the chart draws 15 bars and one "other" bar of 2 patients in
    # 2 combinations; its text listed the top 5 and an "other" of 12 patients no bar showed (review 24).
    from lifileucel_analysis.report.attrition_figures import upset_chart
    from lifileucel_analysis.report.figure_texts import upset

    ids = [c for c in CRITERION_IDS if c != "I3"][:17]
    many = build_result({f"P{i:02d}": ("mskcc", "2025-01-10", {c: "fail"}) for i, c in enumerate(ids)})
    fig = upset_chart(many).figure
    heights = [int(round(bar.get_height())) for bar in axes_bars(fig)]
    listed = [int(part.rsplit(" ", 1)[1]) for part in upset(many).rstrip(".").split(": ", 1)[1].split("; ")]
    assert heights == listed == [1] * 15 + [2]
    assert "other combinations (2) 2" in upset(many)


def axes_bars(fig: Figure) -> list[matplotlib.patches.Rectangle]:
    """The bars of the chart's bar axes (the one whose bars are labelled 'patients')."""
    (container,) = [c for ax in fig.axes for c in ax.containers if c.get_label() == "patients"]
    return list(container)


def test_attrition_remaining_counts_sit_below_the_exclusion_they_follow() -> None:
    # Review 24D: each "remaining n" label sat above its exclusion box, on the arrow into the step,
    # so it read as the count before the step while it is the count after it.
    four = build_result({"P1": ("mskcc", "2025-01-10", {"I1": "fail"}),
                         "P2": ("mskcc", "2025-01-11", {"I4": "fail"}),
                         "P3": ("mskcc", "2025-01-12", {"I4": "fail", "E3": "fail"}),
                         "P4": ("mskcc", "2025-01-13", {})})
    ax = axes(attrition_figures.attrition_chart(four), "attrition")
    # Keyed by the box's first words ("Excluded at I1", "Screened") or the whole label.
    y = {" ".join(t.get_text().split("\n")[0].split()[:3 if t.get_text().startswith("Excluded") else 4]):
         t.get_position()[1] for t in ax.texts if t.get_text()}
    assert y["Screened"] > y["Excluded at I1"] > y["remaining n = 3"] > y["Excluded at I4"] > y["remaining n = 1"]
    assert y["remaining n = 1"] > y["Eligible"] == y["Pending"]


def test_alt_text_names_every_criterion_tied_with_the_last_named() -> None:
    # Audit 41A: "most frequent: I2 4; I7 3; I8 3" left out E3, also 3, drawn as long a bar.
    impact = pd.DataFrame({"criterion_id": ["I2", "I7", "I8", "E3", "E5", "E6"],
                           "excluded_by_it_alone": [4, 3, 3, 3, 1, 0],
                           "eligible_without_it": [0, 0, 0, 0, 0, 0],
                           "pending_without_it": [2, 0, 0, 0, 0, 0]})
    text = figure_texts.criterion_impact(impact, 10)
    assert "patients excluded by it alone: I2 4; I7 3; I8 3; E3 3; would be eligible without it: none; " \
           "would be pending without it: I2 2." in text, text
