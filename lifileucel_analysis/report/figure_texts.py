"""Alt text of every report figure: what it shows, in words, with its counts and denominators.

A reader who cannot see the image (a screen reader, a text-only mail client, a failed
image) gets the figure's message from these sentences; they are computed from the same
tables the figures draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..contract.messages import counted
from ..engine.screening import VERDICTS
from . import site_summaries, summaries
from .attrition import attrition_table, failure_sets

if TYPE_CHECKING:  # the protocol, for type checkers only
    from .summaries import ResultLike


def _verdict_counts(result: ResultLike) -> str:
    verdict = result.verdicts["verdict"].astype(str)
    return ", ".join(f"{int((verdict == v).sum()):,} {v}" for v in VERDICTS)


def _top(frame: pd.DataFrame, count: str, n: int = 3) -> str:
    """The ``n`` criteria of the largest counts, with every criterion tied with the last of them (audit 41A:
    "most frequent: I2 4; I7 3; I8 3" left out E3, also 3, which the figure shows as long)."""
    rows = frame[frame[count] > 0].sort_values(count, ascending=False, kind="stable")
    rows = rows[rows[count] >= rows[count].iloc[min(n, len(rows)) - 1]] if len(rows) else rows
    return "; ".join(f"{r.criterion_id} {int(getattr(r, count))}" for r in rows.itertuples()) or "none"


def outcome_grid(result: ResultLike, aggregated: bool) -> str:
    """The patient grid (or its aggregate)."""
    n = len(result.verdicts)
    shape = ("Stacked bars of patients per criterion and outcome" if aggregated
             else "Grid of patients (rows, grouped by verdict) by the 19 criteria (columns), coloured by outcome")
    return f"{shape}; {counted(n, 'patient')} screened: {_verdict_counts(result)}."


def flow(result: ResultLike) -> str:
    """The three-way flow."""
    return f"Flow: {counted(len(result.verdicts), 'patient')} screened split into {_verdict_counts(result)}."


def attrition(result: ResultLike) -> str:
    """The protocol-order attrition."""
    table = attrition_table(result)
    steps = table[(table["box"] == "excluded") & (table["patients"] > 0)]
    excluded = "; ".join(f"{r.criterion_id} {r.patients}" for r in steps.itertuples()) or "nobody"
    left = table.set_index("box")["patients"]
    return (f"Attrition in record order from {int(table.iloc[0]['patients'])} screened: excluded at the first "
            f"failed criterion: {excluded}; remaining {int(left['pending'])} pending and "
            f"{int(left['eligible'])} eligible.")


def upset(result: ResultLike) -> str:
    """The failure combinations, as the chart draws them: its bars and its "other" bar (review 24: the text
    listed five and an "other" the chart does not have)."""
    sets = failure_sets(result)
    listed = "; ".join(f"{r.combination} {r.patients}" for r in sets.itertuples()) or "none"
    n = int((result.verdicts["verdict"].astype(str) == "ineligible").sum())
    among = counted(n, "ineligible patient")
    return f"Bars of the most frequent exact combinations of failed criteria among {among}: {listed}."


def failure_reasons(result: ResultLike) -> str:
    """Any-failure and sole-reason bars."""
    reasons = summaries.failure_reasons(result)
    n = int((result.verdicts["verdict"].astype(str) == "ineligible").sum())
    return (f"Bars per criterion of patients failing it (of {n} ineligible, {len(result.verdicts)} screened); "
            f"most frequent: {_top(reasons, 'any_failure')}.")


def unknown_rates(result: ResultLike) -> str:
    """Unknown rate bars."""
    rates = summaries.unknown_rates(result)
    return (f"Bars per criterion of patients whose criterion is unknown, of {len(result.verdicts)} screened; "
            f"most often unknown: {_top(rates, 'unknown')}.")


def criterion_impact(impact: pd.DataFrame, n_screened: int) -> str:
    """Per-criterion impact bars (:mod:`.criteria_impact_figure`)."""
    return (f"Bars per criterion in record order (I1-E11), of {counted(n_screened, 'patient')} screened: "
            "patients excluded "
            f"by it alone: {_top(impact, 'excluded_by_it_alone')}; would be eligible without it: "
            f"{_top(impact, 'eligible_without_it')}; would be pending without it: "
            f"{_top(impact, 'pending_without_it')}.")


def monthly(result: ResultLike) -> str:
    """Monthly stacked bars."""
    months = summaries.monthly_counts(result)
    return (f"Stacked bars of patients screened per month of consent, by verdict, over "
            f"{counted(len(months), 'month')}; {len(result.verdicts):,} screened in all: {_verdict_counts(result)}.")


def site_comparison(program: object) -> str:
    """Eligible share per site."""
    table = site_summaries.site_table(program, with_total=True)
    parts = "; ".join(f"{r.site_id} {r.eligible_share:.0%} of {r.screened}" for r in table.itertuples()
                      if pd.notna(r.eligible_share))
    return f"Eligible share per site with 95% Wilson intervals: {parts}."


def heatmap(program: object, outcome: str) -> str:
    """Site x criterion rates."""
    word = {"fail": "failing", "unknown": "with unknown outcome for"}[outcome]
    return (f"Heat map: number and share of each site's screened patients {word} each criterion "
            f"({len(program.verdicts)} screened in the program); the cells are also in the download "
            f"'Rates by site and criterion' (one row per site and criterion).")


def timeline(program: object) -> str:
    """Program timeline."""
    dates = program.verdicts["consent_date"].dropna()
    span = f" from {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}" if len(dates) else ""
    return f"Consent dates per site{span}, coloured by verdict, {counted(len(program.verdicts), 'patient')} screened."
