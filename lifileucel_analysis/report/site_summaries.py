"""Site-level summaries of a screening run: sites side by side, headline figures, rates
per site and criterion, and when each site screened.

Pure functions from a result (see :class:`.summaries.ResultLike`) to tidy DataFrames,
with the conventions of :mod:`.summaries`; the eligible share comes with its 95% Wilson
score interval (:func:`wilson_interval`), which stays meaningful for small sites.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Literal

import pandas as pd

from ..contract.schema import ALL_SITES, CRITERION_IDS, SITE_IDS, SITES, screened_sites
from ..engine.screening import VERDICTS
from .summaries import ResultLike, reconcile, share_of, verdict_counts, verdict_counts_by

RECORD_MILESTONES: tuple[tuple[str, str], ...] = (
    ("2022-06-01", "First posted"),
    ("2022-12-08", "Last update posted"),
)
"""Key record dates of NCT05398640 (registry record: 'First Posted', 'Last Update Posted')."""

CriterionOutcome = Literal["fail", "unknown"]


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    successes : int
        Number of successes ``k`` (``0 <= k <= n``).
    trials : int
        Number of trials ``n``.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when ``trials`` is zero.

    Notes
    -----
    With ``p = k / n`` and ``z`` the ``1 - (1 - confidence) / 2`` normal quantile::

        centre = (p + z**2 / (2 n)) / (1 + z**2 / n)
        half   = z / (1 + z**2 / n) * sqrt(p (1 - p) / n + z**2 / (4 n**2))

    Unlike the Wald interval it stays inside ``[0, 1]`` and is not degenerate at
    ``k = 0`` or ``k = n``, which matters for small sites.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / trials
    denominator = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2))
    # Clip float noise: at k = 0 the low end is exactly 0 and at k = n the high end is 1.
    return (max(0.0, centre - half), min(1.0, centre + half))


SITE_TABLE_NOTE = ("eligible (%): of screened, with its 95% Wilson score interval; eligible of decided (%): of "
                   "eligible + ineligible (pending patients' data are incomplete); 'all' = the whole program.")
"""The note under :func:`site_table` on a page: which denominator each share has."""


def site_table(result: ResultLike, sites: Sequence[str] | None = None, with_total: bool = True) -> pd.DataFrame:
    """Sites side by side: screened, verdicts, eligible share with its 95% Wilson interval.

    Parameters
    ----------
    result : ResultLike
    sites : sequence of str, optional
        Site codes to list, in this order. Default: every site of the program (a site
        without screened patients shows zeros and blank shares), or, when the result
        holds one site only, that site.
    with_total : bool
        Append a row ``site_id = "all"`` (:data:`~..contract.schema.ALL_SITES`) for the whole program.

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``site_name``, ``screened``, ``eligible``, ``pending``, ``ineligible``,
        ``eligible_share`` (of screened), ``ci_low``, ``ci_high``, ``eligible_of_decided_share``
        (of the eligible and ineligible: a site with many pending patients has a low share of
        screened through incomplete data, not through eligibility; user review 24).
    """
    verdicts = result.verdicts.assign(site_id=result.verdicts["site_id"].astype(str))
    if sites is None:
        present = set(verdicts["site_id"])
        sites = screened_sites(present) if len(present) == 1 else list(SITE_IDS)
    counts = verdict_counts_by(verdicts, "site_id").reindex(list(sites), fill_value=0)
    if with_total:
        counts.loc[ALL_SITES] = counts.sum() if len(sites) else 0
    frame = counts.rename_axis("site_id").reset_index()
    frame.insert(1, "site_name", frame["site_id"].map(lambda s: SITES[s].name if s in SITES else "All sites"))
    frame.insert(2, "screened", frame[list(VERDICTS)].sum(axis=1).astype(int))
    return _with_eligible_share(frame)


def _with_eligible_share(frame: pd.DataFrame) -> pd.DataFrame:
    frame["eligible_share"] = share_of(frame["eligible"], frame["screened"])
    bounds = [wilson_interval(int(k), int(n)) for k, n in zip(frame["eligible"], frame["screened"])]
    frame["ci_low"] = [low for low, _ in bounds]
    frame["ci_high"] = [high for _, high in bounds]
    frame["eligible_of_decided_share"] = share_of(frame["eligible"], frame["eligible"] + frame["ineligible"])
    return frame


def site_facts(site_id: str) -> pd.DataFrame:
    """A site's entry in the registry record as a ``fact``, ``value`` table.

    Parameters
    ----------
    site_id : str
        One of :data:`~lifileucel_analysis.contract.schema.SITE_IDS`.
    """
    site = SITES[site_id]
    rows = [
        ("site code", site.site_id),
        ("site", site.name),
        ("city", f"{site.city}, {site.state} {site.zip_code}"),
        ("status in the registry record", site.status),
    ]
    return pd.DataFrame(rows, columns=["fact", "value"])


def key_figures(result: ResultLike) -> pd.DataFrame:
    """The headline numbers of a (site's) screening as a ``figure``, ``value`` table.

    Values are display strings (counts, a percentage with its 95% Wilson interval,
    dates), so that one column can hold them all.
    """
    reconcile(result)
    verdicts = result.verdicts
    n = len(verdicts)
    counts = verdict_counts(result).set_index("verdict")["patients"]
    low, high = wilson_interval(int(counts["eligible"]), n)
    share = share_of(int(counts["eligible"]), n)
    consent = verdicts["consent_date"].dropna()
    first, last = (consent.min(), consent.max()) if len(consent) else (pd.NaT, pd.NaT)
    rows = [
        ("patients screened", f"{n}"),
        ("eligible", f"{counts['eligible']}"),
        ("eligible share (95% Wilson CI)", _percent_with_ci(share, low, high)),
        ("pending (data to collect)", f"{counts['pending']}"),
        ("ineligible", f"{counts['ineligible']}"),
        ("patients with a waiver", f"{result.waivers['patient_id'].nunique()}"),
        ("first consent", _date_text(first)),
        ("last consent", _date_text(last)),
    ]
    return pd.DataFrame(rows, columns=["figure", "value"])


def _percent_with_ci(share: float, low: float, high: float) -> str:
    if math.isnan(share):
        return "n/a (no patients)"
    return f"{share:.1%} ({low:.1%} to {high:.1%})"


def _date_text(value: pd.Timestamp) -> str:
    return "n/a" if pd.isna(value) else value.strftime("%Y-%m-%d")


def site_criterion_rates(result: ResultLike, outcome: CriterionOutcome = "fail",
                         sites: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of each site's screened patients with the given outcome, per criterion.

    Parameters
    ----------
    result : ResultLike
    outcome : {"fail", "unknown"}
        ``"fail"`` for the failure-rate matrix, ``"unknown"`` for the missing-data one.
    sites : sequence of str, optional
        Rows, in this order; default: every site of the program (a site without screened
        patients gives a row of ``NaN``).

    Returns
    -------
    pandas.DataFrame
        A matrix: index ``site_id``, one column per criterion ``I1`` .. ``E11``, values
        in ``[0, 1]``.
    """
    counts = site_criterion_counts(result, outcome, sites)
    screened = site_screened(result, counts.index)
    matrix = counts.div(screened.where(screened > 0), axis=0)
    matrix.index.name, matrix.columns.name = "site_id", "criterion_id"
    return matrix


def site_criterion_counts(result: ResultLike, outcome: CriterionOutcome = "fail",
                          sites: Sequence[str] | None = None) -> pd.DataFrame:
    """Patients of each site with the given outcome, per criterion: the numerators of :func:`site_criterion_rates`."""
    sites = list(SITE_IDS) if sites is None else list(sites)
    outcomes = result.outcomes
    hits = outcomes[outcomes["outcome"].astype(str) == outcome]
    counts = pd.crosstab(hits["site_id"].astype(str), hits["criterion_id"].astype(str))
    counts = counts.reindex(index=sites, columns=list(CRITERION_IDS), fill_value=0)
    counts.index.name, counts.columns.name = "site_id", "criterion_id"
    return counts


def site_criterion_table(result: ResultLike) -> pd.DataFrame:
    """The heat maps' cells as numbers, one row per site and criterion (long, tidy).

    A sponsor comparing sites filters and sorts these rather than reading colours (review 24:
    the matrices were pictures only). Sites with screened patients, in the record's order;
    criteria in protocol order.

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``criterion_id``, ``screened``, ``failed``, ``failed_share``,
        ``unknown``, ``unknown_share`` (shares of the site's screened patients).
    """
    sites = screened_sites(result.verdicts["site_id"].astype(str))
    screened = site_screened(result, sites)
    counts = {outcome: site_criterion_counts(result, outcome, sites).stack() for outcome in ("fail", "unknown")}
    frame = pd.DataFrame({"failed": counts["fail"], "unknown": counts["unknown"]}).reset_index()
    frame.insert(2, "screened", frame["site_id"].map(screened).astype(int))
    frame.insert(4, "failed_share", share_of(frame["failed"], frame["screened"]))
    frame["unknown_share"] = share_of(frame["unknown"], frame["screened"])
    return frame.astype({"failed": int, "unknown": int})


def site_screened(result: ResultLike, sites: Sequence[str]) -> pd.Series:
    """Screened patients per site, in the order of ``sites`` (0 for a site without any)."""
    return result.verdicts["site_id"].astype(str).value_counts().reindex(list(sites), fill_value=0)


def site_timeline(result: ResultLike) -> pd.DataFrame:
    """When each site screened: first and last consent and the number screened.

    Returns
    -------
    pandas.DataFrame
        One row per site of the program: ``site_id``, ``site_name``, ``screened``,
        ``first_consent``, ``last_consent`` (``NaT`` without dated consents).
    """
    verdicts = result.verdicts.assign(site_id=result.verdicts["site_id"].astype(str))
    grouped = verdicts.groupby("site_id")["consent_date"]
    frame = pd.DataFrame({"site_id": list(SITE_IDS)})
    frame["site_name"] = frame["site_id"].map(lambda s: SITES[s].name)
    frame["screened"] = frame["site_id"].map(verdicts["site_id"].value_counts()).fillna(0).astype(int)
    # Reindexed, not mapped: with no patient screened (a cut before every consent) `map` of the empty
    # dates tried to make them floats (audit 43N: the program overview stopped at its timeline).
    frame["first_consent"] = grouped.min().reindex(frame["site_id"]).to_numpy()
    frame["last_consent"] = grouped.max().reindex(frame["site_id"]).to_numpy()
    return frame
