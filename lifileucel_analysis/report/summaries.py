"""Summary tables of a screening run: pure functions from a result to tidy DataFrames.

Every function here takes a :class:`~lifileucel_analysis.screening.ScreeningResult` (or a
site's part of one, ``result.for_site(site)``) and returns a new DataFrame; nothing is
printed, plotted or cached. The report layer (:mod:`.report`) formats these tables for
reading and :mod:`.figures` draws them.

The functions read only these attributes of the result, so any object that carries them
works (the unit tests build small ones by hand):

- ``outcomes``: ``patient_id``, ``site_id``, ``criterion_id``, ``outcome``, ``evidence``,
  ``missing``;
- ``verdicts``: ``patient_id``, ``site_id``, ``consent_date``, ``verdict``, ``failed``,
  ``unknown``, ``waived``;
- ``missing_data``, ``waivers``, ``findings``, ``n_in``.

Conventions: counts are ``int``; shares and rates are fractions in ``[0, 1]`` (the report
layer turns them into percentages); a denominator of zero gives ``NaN``, never a
division error. Rows follow the order of the registry record (criteria ``I1`` .. ``E11``)
and of :data:`~lifileucel_analysis.schema.SITES`.

Privacy: ``birth_date`` never leaves this module. :func:`table_one` needs the dataset to
describe patients; it derives age at consent and drops the birth date before anything
else sees the data.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import pandas as pd

from ..engine.criteria import CATALOG
from ..engine.facts import age_at_consent
from ..contract.schema import CRITERION_IDS, PATIENTS, SITE_IDS, SITES

if TYPE_CHECKING:
    from ..contract.dataset import ScreeningDataset

VERDICTS: tuple[str, ...] = ("eligible", "pending", "ineligible")
"""Verdicts in reading order: the good news first."""
OUTCOMES: tuple[str, ...] = ("pass", "fail", "unknown", "not_applicable", "waived")
CRITERION_LABELS: dict[str, str] = {c.id: c.label for c in CATALOG}
"""Short names of the criteria for tables and figure axes (from the criteria catalog)."""
RECORD_MILESTONES: tuple[tuple[str, str], ...] = (
    ("2022-06-01", "First posted"),
    ("2022-12-08", "Last update posted"),
)
"""Key record dates of NCT05398640 (registry record: 'First Posted', 'Last Update Posted')."""
NO_CONSENT_DATE = "no consent date"
"""Month label of the patients whose consent date is blank (kept so that counts add up)."""

CriterionOutcome = Literal["fail", "unknown"]


class ResultLike(Protocol):
    """The attributes of a screening result that the summaries read."""

    outcomes: pd.DataFrame
    verdicts: pd.DataFrame
    missing_data: pd.DataFrame
    waivers: pd.DataFrame
    findings: pd.DataFrame
    n_in: int


class ReconciliationError(RuntimeError):
    """The verdicts do not account for every input patient exactly once (a bug, not bad data)."""


# --------------------------------------------------------------------------- helpers


def _share(count: pd.Series | int, total: pd.Series | int) -> pd.Series | float:
    """``count / total`` with ``NaN`` (not an error, not 0) where the total is zero."""
    if isinstance(total, pd.Series):
        return count / total.where(total > 0)
    return float(count) / total if total else math.nan


def _split_ids(joined: pd.Series) -> pd.Series:
    """Turn ``"I4;E3"`` strings into lists of criterion IDs (``""`` -> ``[]``)."""
    return joined.fillna("").astype(str).map(lambda text: [part for part in text.split(";") if part])


def _criterion_frame() -> pd.DataFrame:
    """One row per criterion in record order: ``criterion_id``, ``criterion`` (short label)."""
    return pd.DataFrame({"criterion_id": list(CRITERION_IDS), "criterion": [CRITERION_LABELS[c] for c in CRITERION_IDS]})


def _verdict_counts_by(verdicts: pd.DataFrame, key: str) -> pd.DataFrame:
    """Cross-count patients by ``key`` and verdict, every verdict present as a column."""
    counts = pd.crosstab(verdicts[key], verdicts["verdict"].astype(str))
    counts = counts.reindex(columns=list(VERDICTS), fill_value=0)
    counts.columns.name = None
    return counts


# --------------------------------------------------------------------------- verdicts


def reconcile(result: ResultLike) -> None:
    """Check that every input patient has exactly one verdict (N in = N out).

    Raises
    ------
    ReconciliationError
        When the number of verdict rows differs from ``result.n_in``, a patient has more
        than one verdict row, a verdict is not one of :data:`VERDICTS`, or a patient has
        criterion outcomes but no verdict.
    """
    verdicts = result.verdicts
    problems = []
    if len(verdicts) != result.n_in:
        problems.append(f"{result.n_in} patients in, {len(verdicts)} verdicts out")
    duplicated = sorted(verdicts.loc[verdicts["patient_id"].duplicated(), "patient_id"].astype(str).unique())
    if duplicated:
        problems.append(f"more than one verdict for {', '.join(duplicated[:5])}")
    odd = sorted(set(verdicts["verdict"].dropna().astype(str)) - set(VERDICTS))
    if odd or verdicts["verdict"].isna().any():
        problems.append(f"verdicts outside {', '.join(VERDICTS)}: {odd or ['blank']}")
    without = sorted(set(result.outcomes["patient_id"].astype(str)) - set(verdicts["patient_id"].astype(str)))
    if without:
        problems.append(f"outcomes without a verdict for {', '.join(without[:5])}")
    if problems:
        raise ReconciliationError("screening does not reconcile: " + "; ".join(problems))


def verdict_counts(result: ResultLike) -> pd.DataFrame:
    """Count patients per verdict, after checking that N in = N out.

    Returns
    -------
    pandas.DataFrame
        One row per verdict (``eligible``, ``pending``, ``ineligible``, all three even
        when zero): ``verdict``, ``patients``, ``share`` (of all screened patients).

    Raises
    ------
    ReconciliationError
        See :func:`reconcile`.
    """
    reconcile(result)
    counts = result.verdicts["verdict"].astype(str).value_counts().reindex(list(VERDICTS), fill_value=0)
    frame = pd.DataFrame({"verdict": list(VERDICTS), "patients": counts.to_numpy(dtype=int)})
    frame["share"] = _share(frame["patients"], pd.Series(len(result.verdicts), index=frame.index))
    return frame


def reconciliation(result: ResultLike) -> pd.DataFrame:
    """The N in = N out check as a two-column table for reviewers.

    Returns
    -------
    pandas.DataFrame
        ``check``, ``patients``: patients in the input (N in), each verdict, and patients
        with a verdict (N out, the sum of the verdicts). The two totals are equal by
        construction: the function raises instead of returning a table where they differ.

    Raises
    ------
    ReconciliationError
        See :func:`reconcile`.
    """
    counts = verdict_counts(result)
    rows = [("patients in the input (N in)", result.n_in)]
    rows += [(f"verdict {verdict}", int(n)) for verdict, n in zip(counts["verdict"], counts["patients"])]
    n_out = int(counts["patients"].sum())
    rows.append(("patients with a verdict (N out)", n_out))
    frame = pd.DataFrame(rows, columns=["check", "patients"])
    frame["patients"] = frame["patients"].astype(int)
    return frame


def screening_log(result: ResultLike) -> pd.DataFrame:
    """One row per screened patient, in order of consent.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``site_id``, ``consent_date``, ``verdict``, ``failed``,
        ``unknown``, ``waived`` (criterion IDs joined by ``;``, ``""`` when none), sorted
        by consent date (blank dates last), then patient ID.
    """
    columns = ["patient_id", "site_id", "consent_date", "verdict", "failed", "unknown", "waived"]
    log = result.verdicts[columns].copy()
    for column in ("failed", "unknown", "waived"):
        log[column] = log[column].fillna("").astype(str)
    return log.sort_values(["consent_date", "patient_id"], na_position="last", kind="stable").reset_index(drop=True)


def failure_details(result: ResultLike) -> pd.DataFrame:
    """Why each ineligible patient is ineligible: one row per failed criterion.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``site_id``, ``criterion_id``, ``criterion``, ``evidence``; sorted
        by patient, then criterion in record order.
    """
    failed = result.outcomes[result.outcomes["outcome"].astype(str) == "fail"]
    frame = failed[["patient_id", "site_id", "criterion_id", "evidence"]].copy()
    frame.insert(3, "criterion", frame["criterion_id"].astype(str).map(CRITERION_LABELS))
    return _sort_by_patient_and_criterion(frame)


def _sort_by_patient_and_criterion(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame["criterion_id"].astype(str).map({c: i for i, c in enumerate(CRITERION_IDS)})
    frame = frame.assign(_order=order).sort_values(["patient_id", "_order"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def pending_worklist(result: ResultLike) -> pd.DataFrame:
    """What to collect for each pending patient: one row per unknown criterion.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``site_id``, ``criterion_id``, ``criterion`` (short label),
        ``fields`` (the blank ``table.column`` fields that would decide it), ``evidence``
        (the engine's sentence for the unknown outcome); sorted by site, patient, then
        criterion in record order.
    """
    work = result.missing_data[["patient_id", "site_id", "criterion_id", "fields"]].copy()
    evidence = result.outcomes[["patient_id", "criterion_id", "evidence"]].astype(
        {"patient_id": "str", "criterion_id": "str"}
    )
    work = work.astype({"patient_id": "str"}).assign(_cid=work["criterion_id"].astype(str))
    work = work.merge(evidence.rename(columns={"criterion_id": "_cid"}), on=["patient_id", "_cid"], how="left")
    work = work.drop(columns="_cid")
    work.insert(3, "criterion", work["criterion_id"].astype(str).map(CRITERION_LABELS))
    work["fields"] = work["fields"].fillna("").astype(str)
    work["evidence"] = work["evidence"].fillna("").astype(str)
    site_rank = work["site_id"].astype(str).map({s: i for i, s in enumerate(SITE_IDS)})
    work = _sort_by_patient_and_criterion(work.assign(_site=site_rank))
    return work.sort_values("_site", kind="stable").drop(columns="_site").reset_index(drop=True)


def waivers_table(result: ResultLike) -> pd.DataFrame:
    """Documented waivers: who approved which criterion for whom, when and why.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``site_id``, ``criterion_id``, ``criterion``,
        ``original_outcome``, ``approved_by``, ``approved_date``, ``reason``; sorted by
        patient then criterion.
    """
    columns = ["patient_id", "site_id", "criterion_id", "original_outcome", "approved_by", "approved_date", "reason"]
    frame = result.waivers[columns].copy()
    frame.insert(3, "criterion", frame["criterion_id"].astype(str).map(CRITERION_LABELS))
    return _sort_by_patient_and_criterion(frame)


def data_quality_findings(result: ResultLike) -> pd.DataFrame:
    """The engine's data-quality findings (unknown agent names, conflicting labs, ...).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``table``, ``column``, ``value``, ``finding``; sorted by patient,
        table and column.
    """
    columns = ["patient_id", "table", "column", "value", "finding"]
    frame = result.findings[columns].copy()
    frame["value"] = frame["value"].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return frame.sort_values(["patient_id", "table", "column"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- reasons


def failure_reasons(result: ResultLike) -> pd.DataFrame:
    """Failures per criterion, counted two of the three ways (see also :func:`failure_combinations`).

    *Any failure* counts every patient who fails the criterion; *sole reason* counts the
    patients for whom it is the only failed criterion, i.e. who would not be ineligible
    without it.

    Returns
    -------
    pandas.DataFrame
        One row per criterion in record order: ``criterion_id``, ``criterion``,
        ``any_failure``, ``any_failure_share`` (of screened patients), ``sole_reason``,
        ``sole_reason_share`` (of ineligible patients).
    """
    failed = _split_ids(result.verdicts["failed"])
    any_counts = failed.explode().value_counts()
    sole_counts = failed[failed.map(len) == 1].map(lambda ids: ids[0]).value_counts()
    frame = _criterion_frame()
    frame["any_failure"] = frame["criterion_id"].map(any_counts).fillna(0).astype(int)
    frame["any_failure_share"] = _share(frame["any_failure"], pd.Series(len(result.verdicts), index=frame.index))
    n_ineligible = int((failed.map(len) > 0).sum())
    frame["sole_reason"] = frame["criterion_id"].map(sole_counts).fillna(0).astype(int)
    frame["sole_reason_share"] = _share(frame["sole_reason"], pd.Series(n_ineligible, index=frame.index))
    return frame


def failure_combinations(result: ResultLike, top: int = 10) -> pd.DataFrame:
    """The most frequent combinations of failed criteria (the third way of counting).

    Parameters
    ----------
    result : ResultLike
    top : int
        How many combinations to keep; ties at the cut are broken by record order.

    Returns
    -------
    pandas.DataFrame
        ``combination`` (criterion IDs joined by ``" + "`` in record order, a single ID
        for a sole reason), ``criteria`` (their short labels), ``patients``, ``share`` (of
        ineligible patients); most frequent first.
    """
    failed = _split_ids(result.verdicts["failed"])
    failed = failed[failed.map(len) > 0]
    rank = {c: i for i, c in enumerate(CRITERION_IDS)}
    combos = failed.map(lambda ids: tuple(sorted(ids, key=lambda c: rank.get(c, len(rank)))))
    counts = combos.value_counts()
    frame = pd.DataFrame({"ids": counts.index, "patients": counts.to_numpy(dtype=int)})
    # Stable order: most patients first, then the combination that comes first in the record.
    frame["_key"] = frame["ids"].map(lambda ids: tuple(rank.get(c, len(rank)) for c in ids))
    frame = frame.sort_values(["patients", "_key"], ascending=[False, True], kind="stable").head(top)
    frame["combination"] = frame["ids"].map(" + ".join)
    frame["criteria"] = frame["ids"].map(lambda ids: " + ".join(CRITERION_LABELS.get(c, c) for c in ids))
    frame["share"] = _share(frame["patients"], pd.Series(len(failed), index=frame.index))
    return frame[["combination", "criteria", "patients", "share"]].reset_index(drop=True)


def unknown_rates(result: ResultLike) -> pd.DataFrame:
    """How often each criterion could not be decided: the data-completeness signal.

    The denominator is every screened patient (a criterion is evaluated for everyone; a
    ``not_applicable`` outcome is decided, not missing). The outcome counted is the final
    one: a waived criterion counts as waived even if it was unknown before the waiver.

    Returns
    -------
    pandas.DataFrame
        One row per criterion in record order: ``criterion_id``, ``criterion``,
        ``patients``, ``unknown``, ``unknown_rate``.
    """
    return _outcome_rates(result, "unknown").rename(columns={"n": "unknown", "rate": "unknown_rate"})


def _outcome_rates(result: ResultLike, outcome: str) -> pd.DataFrame:
    outcomes = result.outcomes
    hits = outcomes.loc[outcomes["outcome"].astype(str) == outcome, "criterion_id"].astype(str).value_counts()
    frame = _criterion_frame()
    frame["patients"] = len(result.verdicts)
    frame["n"] = frame["criterion_id"].map(hits).fillna(0).astype(int)
    frame["rate"] = _share(frame["n"], frame["patients"])
    return frame


def flow_boxes(result: ResultLike, top: int = 3) -> pd.DataFrame:
    """The boxes of a CONSORT-style flow: screened, then ineligible, pending, eligible.

    Parameters
    ----------
    result : ResultLike
    top : int
        How many reasons to list per box: the most frequent failed criteria for the
        ineligible box, the most frequent unknown criteria for the pending box.

    Returns
    -------
    pandas.DataFrame
        Four rows (``screened``, ``ineligible``, ``pending``, ``eligible``): ``box``,
        ``patients``, ``share`` (of screened), ``details`` (a tuple of short lines such
        as ``"E3 Uveal melanoma: 26"``; for eligible, the number with a waiver).

    Raises
    ------
    ReconciliationError
        See :func:`reconcile`.
    """
    counts = verdict_counts(result).set_index("verdict")
    n = len(result.verdicts)
    failing = failure_reasons(result)
    failing = failing[failing["any_failure"] > 0].sort_values("any_failure", ascending=False, kind="stable")
    pending_ids = set(result.verdicts.loc[result.verdicts["verdict"].astype(str) == "pending", "patient_id"])
    unknown = result.outcomes[
        (result.outcomes["outcome"].astype(str) == "unknown") & result.outcomes["patient_id"].isin(pending_ids)
    ]
    unknown_counts = _criterion_frame().assign(
        n=lambda f: f["criterion_id"].map(unknown["criterion_id"].astype(str).value_counts()).fillna(0).astype(int)
    )
    unknown_counts = unknown_counts[unknown_counts["n"] > 0].sort_values("n", ascending=False, kind="stable")
    eligible_ids = set(result.verdicts.loc[result.verdicts["verdict"].astype(str) == "eligible", "patient_id"])
    waived = int(result.waivers["patient_id"].isin(eligible_ids).groupby(result.waivers["patient_id"]).any().sum())
    details = {
        "screened": (),
        "ineligible": _reason_lines(failing.head(top), "any_failure"),
        "pending": _reason_lines(unknown_counts.head(top), "n"),
        "eligible": (f"with a waiver: {waived}",) if waived else (),
    }
    rows = [("screened", n, _share(n, n), details["screened"])]
    rows += [(v, int(counts.loc[v, "patients"]), float(counts.loc[v, "share"]), details[v]) for v in
             ("ineligible", "pending", "eligible")]
    return pd.DataFrame(rows, columns=["box", "patients", "share", "details"])


def _reason_lines(frame: pd.DataFrame, count_column: str) -> tuple[str, ...]:
    return tuple(f"{cid} {textwrap.shorten(label, width=32, placeholder='...')}: {n}" for cid, label, n in
                 zip(frame["criterion_id"], frame["criterion"], frame[count_column]))


# --------------------------------------------------------------------------- time and sites


def monthly_counts(result: ResultLike) -> pd.DataFrame:
    """Patients screened per calendar month of consent, by verdict.

    Every month from the first to the last consent appears, months without screening
    with zeros. Patients whose consent date is blank are counted in a last row labelled
    :data:`NO_CONSENT_DATE`, so that the column sums equal the number screened.

    Returns
    -------
    pandas.DataFrame
        ``month`` (``"YYYY-MM"``), ``eligible``, ``pending``, ``ineligible``,
        ``screened``.
    """
    verdicts = result.verdicts
    dated = verdicts[verdicts["consent_date"].notna()]
    month = dated["consent_date"].dt.to_period("M")
    counts = _verdict_counts_by(dated.assign(month=month), "month")
    if len(dated):
        counts = counts.reindex(pd.period_range(month.min(), month.max(), freq="M"), fill_value=0)
    counts.index = [str(period) for period in counts.index]
    undated = verdicts[verdicts["consent_date"].isna()]
    if len(undated):
        extra = _verdict_counts_by(undated.assign(month=NO_CONSENT_DATE), "month")
        counts = pd.concat([counts, extra])
    frame = counts.rename_axis("month").reset_index().astype({v: int for v in VERDICTS})
    frame["screened"] = frame[list(VERDICTS)].sum(axis=1).astype(int)
    return frame


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
        Append a row ``site_id = "all"`` for the whole program.

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``site_name``, ``screened``, ``eligible``, ``pending``, ``ineligible``,
        ``eligible_share``, ``ci_low``, ``ci_high``.
    """
    verdicts = result.verdicts.assign(site_id=result.verdicts["site_id"].astype(str))
    if sites is None:
        present = set(verdicts["site_id"])
        sites = [s for s in SITE_IDS if s in present] if len(present) == 1 else list(SITE_IDS)
    counts = _verdict_counts_by(verdicts, "site_id").reindex(list(sites), fill_value=0)
    if with_total:
        counts.loc["all"] = counts.sum() if len(sites) else 0
    frame = counts.rename_axis("site_id").reset_index()
    frame.insert(1, "site_name", frame["site_id"].map(lambda s: SITES[s].name if s in SITES else "All sites"))
    frame.insert(2, "screened", frame[list(VERDICTS)].sum(axis=1).astype(int))
    return _with_eligible_share(frame)


def _with_eligible_share(frame: pd.DataFrame) -> pd.DataFrame:
    frame["eligible_share"] = _share(frame["eligible"], frame["screened"])
    bounds = [wilson_interval(int(k), int(n)) for k, n in zip(frame["eligible"], frame["screened"])]
    frame["ci_low"] = [low for low, _ in bounds]
    frame["ci_high"] = [high for _, high in bounds]
    return frame


def site_facts(site_id: str) -> pd.DataFrame:
    """A site's entry in the registry record as a ``fact``, ``value`` table.

    Parameters
    ----------
    site_id : str
        One of :data:`~lifileucel_analysis.schema.SITE_IDS`.
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
    share = _share(int(counts["eligible"]), n)
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
    sites = list(SITE_IDS) if sites is None else list(sites)
    outcomes = result.outcomes
    hits = outcomes[outcomes["outcome"].astype(str) == outcome]
    counts = pd.crosstab(hits["site_id"].astype(str), hits["criterion_id"].astype(str))
    counts = counts.reindex(index=sites, columns=list(CRITERION_IDS), fill_value=0)
    screened = result.verdicts["site_id"].astype(str).value_counts().reindex(sites, fill_value=0)
    matrix = counts.div(screened.where(screened > 0), axis=0)
    matrix.index.name, matrix.columns.name = "site_id", "criterion_id"
    return matrix


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
    frame["first_consent"] = frame["site_id"].map(grouped.min())
    frame["last_consent"] = frame["site_id"].map(grouped.max())
    return frame


# --------------------------------------------------------------------------- Table 1

AGE_BINS: tuple[float, ...] = (0, 18, 40, 65, 75, math.inf)
AGE_GROUPS: tuple[str, ...] = ("<18", "18-39", "40-64", "65-74", ">=75")
NOT_RECORDED = "not recorded"
TABLE_ONE_NOTE = (
    "Counts (column %) unless stated; 'not recorded' = blank in the data; 'Missing' = number of "
    "patients with the variable blank. Age is the age in whole years at consent; birth dates are "
    "never shown. LDH and tumour burden are not collected by this program's data contract."
)


def patient_characteristics(result: ResultLike, dataset: ScreeningDataset) -> pd.DataFrame:
    """The screened patients' baseline characteristics, one row per patient, with verdict.

    The birth date is read only to compute the age at consent and is not returned.

    Parameters
    ----------
    result : ResultLike
        Its verdicts choose the patients (a site's result gives that site's patients).
    dataset : ScreeningDataset
        The dataset that was screened (for the ``patients`` and ``therapies`` tables).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``verdict``, ``age``, ``age_group``, ``sex``, ``melanoma_subtype``,
        ``ajcc_stage``, ``ecog``, ``braf_v600``, ``brain_metastases``,
        ``liver_metastases``, ``prior_lines``; blanks stay blank (``None``).
    """
    patients = dataset.patients
    wanted = result.verdicts[["patient_id", "verdict"]].astype({"patient_id": "str"})
    frame = wanted.merge(patients.astype({"patient_id": "str"}), on="patient_id", how="left", validate="one_to_one")
    age = age_at_consent(frame).astype("float64")
    frame = frame.drop(columns="birth_date")  # used for the age only; nothing below may see it
    out = pd.DataFrame({"patient_id": frame["patient_id"], "verdict": frame["verdict"].astype(str)})
    out["age"] = age
    out["age_group"] = pd.cut(age, bins=list(AGE_BINS), labels=list(AGE_GROUPS), right=False).astype(object)
    for column in ("sex", "melanoma_subtype", "ajcc_stage", "braf_v600"):
        out[column] = frame[column].astype(object)
    out["ecog"] = frame["ecog"].astype("Int64").astype(object).where(frame["ecog"].notna(), None)
    for column in ("brain_metastases", "liver_metastases"):
        out[column] = frame[column].map({True: "yes", False: "no"}).astype(object)
    lines = dataset.therapies["patient_id"].astype(str).value_counts()
    out["prior_lines"] = out["patient_id"].map(lines).fillna(0).astype(int).map(lambda n: str(n) if n < 4 else "4+")
    return out.replace({np.nan: None})


TABLE_ONE_LABELS: dict[str, str] = {
    "age": "Age at consent, years",
    "age_group": "Age group",
    "sex": "Sex",
    "melanoma_subtype": "Melanoma subtype",
    "ajcc_stage": "AJCC stage",
    "ecog": "ECOG performance status",
    "braf_v600": "BRAF V600",
    "brain_metastases": "Brain metastases",
    "liver_metastases": "Liver metastases",
    "prior_lines": "Prior therapy lines recorded",
}


def _table_one_order(characteristics: pd.DataFrame) -> dict[str, list[str]]:
    """Category order per variable: the contract's code order, then 'not recorded'."""
    fixed = {
        "age_group": list(AGE_GROUPS),
        "ecog": [str(i) for i in range(6)],
        "brain_metastases": ["yes", "no"],
        "liver_metastases": ["yes", "no"],
        "prior_lines": ["0", "1", "2", "3", "4+"],
    }
    for column in ("sex", "melanoma_subtype", "ajcc_stage", "braf_v600"):
        fixed[column] = list(PATIENTS.column(column).codes)
    present = {c: set(characteristics[c].dropna().astype(str)) for c in fixed}
    return {c: [v for v in order if v in present[c]] + [NOT_RECORDED] for c, order in fixed.items()}


def table_one(result: ResultLike, dataset: ScreeningDataset) -> pd.DataFrame:
    """Table 1 of the screened patients by verdict, made with the ``tableone`` package.

    Parameters
    ----------
    result : ResultLike
        Its verdicts choose the patients and give the grouping.
    dataset : ScreeningDataset
        The screened dataset; the result does not carry patient characteristics, so the
        caller passes the dataset (:class:`~lifileucel_analysis.report.EligibilityReport`
        keeps it alongside the result).

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``level``, ``Missing``, ``Overall``, then one column per verdict
        (all three, even when a verdict has no patients). Values are display strings.

    Notes
    -----
    Missingness is shown twice on purpose: blank categorical values form their own level
    ``"not recorded"`` (so each column's percentages add up to 100), and tableone's
    ``Missing`` column counts the blanks per variable. No p-values: the groups are
    verdicts, i.e. functions of these very variables, so a test would be meaningless.
    Warnings that tableone raises under pandas 3 about its own internals, and numpy's
    runtime warnings on a group whose values are all blank, are silenced here so that they
    do not reach the report's stderr (they are not about the data; blanks are shown).
    """
    from tableone import TableOne  # scipy and statsmodels behind it: import only when Table 1 is made

    characteristics = patient_characteristics(result, dataset)
    columns = list(TABLE_ONE_LABELS)
    categorical = [c for c in columns if c != "age"]
    data = characteristics[columns + ["verdict"]].copy()
    present = [v for v in VERDICTS if (data["verdict"] == v).any()]
    if not present:
        return _empty_table_one()
    order = {"verdict": present, **_table_one_order(characteristics)}
    for column in categorical:
        # A visible level for blanks: percentages then describe every patient.
        data[column] = data[column].map(lambda v: NOT_RECORDED if v is None else str(v))
    data["age"] = pd.to_numeric(data["age"], errors="coerce")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"tableone(\..*)?$")
        warnings.filterwarnings("ignore", message=r".*(Grouped by|MultiIndex|full-length tuple).*")
        # A verdict group whose ages are all blank: numpy warns, the cell shows 'nan' anyway.
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        table = TableOne(
            data, columns=columns, categorical=categorical, nonnormal=["age"], groupby="verdict",
            order=order, missing=True, overall=True, pval=False, decimals=1,
            rename=TABLE_ONE_LABELS,
        ).tableone
    return _flatten_table_one(table, characteristics)


def _flatten_table_one(table: pd.DataFrame, characteristics: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    table.columns = [str(column[-1]) for column in table.columns]
    for verdict in VERDICTS:
        if verdict not in table.columns:
            table[verdict] = ""
    # The missing counts come from the raw data (blanks before the 'not recorded' fill).
    missing = {TABLE_ONE_LABELS[c]: int(characteristics[c].isna().sum()) for c in TABLE_ONE_LABELS}
    flat = table.reset_index()
    flat.columns = ["variable", "level", *table.columns]
    flat["variable"] = flat["variable"].astype(str)
    flat["level"] = flat["level"].astype(str)
    n_row = flat["variable"] == "n"
    for verdict in VERDICTS:
        if not (characteristics["verdict"] == verdict).any():
            flat.loc[n_row, verdict] = "0"
    first_of_variable = ~flat["variable"].duplicated()
    base = flat["variable"].str.replace(r", (n \(%\)|median \[Q1,Q3\])$", "", regex=True)
    flat["Missing"] = [
        str(missing[b]) if first and b in missing else "" for b, first in zip(base, first_of_variable)
    ]
    flat = flat.fillna("")
    return flat[["variable", "level", "Missing", "Overall", *VERDICTS]].astype(str)


def _empty_table_one() -> pd.DataFrame:
    frame = pd.DataFrame([["n", "", "", "0", "0", "0", "0"]],
                         columns=["variable", "level", "Missing", "Overall", *VERDICTS])
    return frame
