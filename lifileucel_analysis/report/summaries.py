"""Summary tables of a screening run: pure functions from a result to tidy DataFrames.

Verdict counts and the N in = N out check, the screening log, the failure details, the
waivers, data-quality findings, failure reasons counted three ways,
unknown rates, the boxes of the flow figure and the monthly counts. Site-level tables
(sites side by side, key figures, site x criterion rates) are in :mod:`.site_summaries`,
Table 1 in :mod:`.table_one`.

Every function here takes a :class:`~lifileucel_analysis.engine.screening.ScreeningResult`
(or a site's part of one, ``result.for_site(site)``) and returns a new DataFrame; nothing
is printed, plotted or cached. The report objects (:mod:`.eligibility_report`) format
these tables for reading and :mod:`.figures` draws them.

The functions read only these attributes of the result, so any object that carries them
works (the unit tests build small ones by hand):

- ``outcomes``: ``patient_id``, ``site_id``, ``criterion_id``, ``outcome``, ``evidence``,
  ``missing``;
- ``verdicts``: ``patient_id``, ``site_id``, ``consent_date``, ``verdict``, ``failed``,
  ``unknown``, ``waived``;
- ``missing_data``, ``waivers``, ``findings``, ``n_in``;
- ``params``: the criteria parameters, which fill in the criteria's labels (a changed
  limit changes the label in every table and figure: :func:`labels_of_run`).

Conventions: counts are ``int``; shares and rates are fractions in ``[0, 1]`` (the report
layer turns them into percentages); a denominator of zero gives ``NaN``, never a
division error. Rows follow the order of the registry record (criteria ``I1`` .. ``E11``)
and of :data:`~lifileucel_analysis.contract.schema.SITES`. The verdicts and outcomes are
the engine's vocabulary (:data:`~lifileucel_analysis.engine.screening.VERDICTS`,
:data:`~lifileucel_analysis.engine.outcome.LABELS`), not redefined here.
"""

from __future__ import annotations

import math
import textwrap
from typing import Protocol

import pandas as pd

from ..contract.data_cut import DataCut
from ..contract.messages import counted
from ..contract.schema import CRITERION_IDS
from ..engine.catalog import criterion_labels as catalog_labels
from ..engine.parameters import CriteriaParams
from ..engine.screening import VERDICTS
from .attrition import TOP_COMBINATIONS, failure_sets

NO_CONSENT_DATE = "no consent date"
"""Month label of the patients whose consent date is blank (kept so that counts add up)."""


class ResultLike(Protocol):
    """The attributes of a screening result that the summaries read."""

    outcomes: pd.DataFrame
    verdicts: pd.DataFrame
    missing_data: pd.DataFrame
    waivers: pd.DataFrame
    findings: pd.DataFrame
    params: CriteriaParams
    n_in: int


class ReconciliationError(RuntimeError):
    """The verdicts do not account for every input patient exactly once (a bug, not bad data)."""


# --------------------------------------------------------------------------- helpers


def labels_of_run(result: ResultLike) -> dict[str, str]:
    """Short names of the criteria for tables and figure axes, with the run's limits filled in.

    ``{criterion_id: label}`` in record order, from the catalog's label templates and
    ``result.params`` (``"Steroids > 10 mg/day"``), so that a report screened with another
    limit names that limit.
    """
    return catalog_labels(result.params)


def share_of(count: pd.Series | int, total: pd.Series | int) -> pd.Series | float:
    """``count / total`` with ``NaN`` (not an error, not 0) where the total is zero."""
    if isinstance(total, pd.Series):
        return count / total.where(total > 0)
    return float(count) / total if total else math.nan


def _criterion_frame(result: ResultLike) -> pd.DataFrame:
    """One row per criterion in record order: ``criterion_id``, ``criterion`` (short label)."""
    labels = labels_of_run(result)
    return pd.DataFrame({"criterion_id": list(CRITERION_IDS), "criterion": [labels[c] for c in CRITERION_IDS]})


def verdict_counts_by(verdicts: pd.DataFrame, key: str) -> pd.DataFrame:
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
        problems.append(f"{counted(result.n_in, 'patient')} in, {counted(len(verdicts), 'verdict')} out")
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
    frame["share"] = share_of(frame["patients"], pd.Series(len(result.verdicts), index=frame.index))
    return frame


def reconciliation(result: ResultLike, cut: DataCut | None = None) -> pd.DataFrame:
    """The N in = N out check as a two-column table for reviewers.

    Parameters
    ----------
    result : ScreeningResult-like
        The screening (of the page's patients).
    cut : DataCut, optional
        The data cut of a program-wide screening: the table starts from the patients in the
        dataset and the patients the cut set aside, so that every patient of the file is
        accounted for (review 28C: the pages said "47 patients screened" of 400 and counted
        the 353 consented after the cut only in the provenance appendix).

    Returns
    -------
    pandas.DataFrame
        ``check``, ``patients``: with a cut, the patients in the dataset and those consented
        after the cut (not screened); patients in the input (N in), each verdict, and patients
        with a verdict (N out, the sum of the verdicts). The two totals are equal by
        construction: the function raises instead of returning a table where they differ.

    Raises
    ------
    ReconciliationError
        See :func:`reconcile`.
    """
    counts = verdict_counts(result)
    rows = [] if cut is None else [
        ("patients in the dataset", cut.patients_in),
        (f"consented after the data cut {cut.cut_date.isoformat()} (not screened)", cut.patients_set_aside)]
    rows += [("patients in the input (N in)" if cut is None else "patients screened at the cut (N in)", result.n_in)]
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
    frame.insert(3, "criterion", frame["criterion_id"].astype(str).map(labels_of_run(result)))
    return _sort_by_patient_and_criterion(frame)


def _sort_by_patient_and_criterion(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame["criterion_id"].astype(str).map({c: i for i, c in enumerate(CRITERION_IDS)})
    frame = frame.assign(_order=order).sort_values(["patient_id", "_order"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def waivers_table(result: ResultLike) -> pd.DataFrame:
    """Documented waivers: who approved which criterion for whom, when and why.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``site_id``, ``criterion_id``, ``criterion``, ``original_outcome``,
        ``waived_finding`` (what the waiver replaced: "steroid 20 mg/day > 10"), ``approved_by``,
        ``approved_date``, ``reason``; sorted by patient then criterion.
    """
    columns = ["patient_id", "site_id", "criterion_id", "original_outcome", "original_evidence", "approved_by",
               "approved_date", "reason"]
    # What was waived beside who waived it: a monitor reads the value (audit 22C: the table said "fail" only).
    frame = result.waivers[columns].rename(columns={"original_evidence": "waived_finding"})
    frame.insert(3, "criterion", frame["criterion_id"].astype(str).map(labels_of_run(result)))
    return _sort_by_patient_and_criterion(frame)


def data_quality_findings(result: ResultLike) -> pd.DataFrame:
    """The engine's data-quality findings (unknown agent names, conflicting labs, ...).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``site_id``, ``table``, ``column``, ``value``, ``finding``; sorted by
        patient, table and column. The site, as on every patient table: the file a site
        corrects its data from is filtered by it (review 24).
    """
    columns = ["patient_id", "table", "column", "value", "finding"]
    frame = result.findings[columns].copy()
    sites = result.verdicts.astype({"patient_id": "str"}).set_index("patient_id")["site_id"].astype(str)
    frame.insert(1, "site_id", frame["patient_id"].astype(str).map(sites).astype(object))
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
    # From the long outcomes (one row per failed criterion), not by splitting the verdicts' "I4;E3" text.
    outcomes = result.outcomes
    fails = outcomes.loc[outcomes["outcome"].astype(str) == "fail", ["patient_id", "criterion_id"]].astype(str)
    per_patient = fails.groupby("patient_id")["criterion_id"].transform("size")
    any_counts = fails["criterion_id"].value_counts()
    sole_counts = fails.loc[per_patient == 1, "criterion_id"].value_counts()
    frame = _criterion_frame(result)
    frame["any_failure"] = frame["criterion_id"].map(any_counts).fillna(0).astype(int)
    frame["any_failure_share"] = share_of(frame["any_failure"], pd.Series(len(result.verdicts), index=frame.index))
    n_ineligible = int(fails["patient_id"].nunique())
    frame["sole_reason"] = frame["criterion_id"].map(sole_counts).fillna(0).astype(int)
    frame["sole_reason_share"] = share_of(frame["sole_reason"], pd.Series(n_ineligible, index=frame.index))
    return frame


def failure_combinations(result: ResultLike, top: int = TOP_COMBINATIONS) -> pd.DataFrame:
    """The most frequent combinations of failed criteria (the third way of counting), as the
    page's UpSet chart draws them (:func:`.attrition.failure_sets`: the same rows, order and
    ``other combinations`` row, so the table adds up to the ineligible patients; audit,
    session 16: the table kept 10 without the rest and broke ties unlike the chart).

    Returns
    -------
    pandas.DataFrame
        ``combination`` (criterion IDs joined by ``" + "`` in record order, a single ID
        for a sole reason; ``other combinations (n)``), ``criteria`` (their short labels),
        ``patients``, ``share`` (of ineligible patients); most frequent first.
    """
    sets = failure_sets(result, top=top)
    labels = labels_of_run(result)
    frame = pd.DataFrame({
        "combination": [" + ".join(ids) if ids else name for ids, name in zip(sets["criteria"], sets["combination"])],
        "criteria": [" + ".join(labels.get(c, c) for c in ids) for ids in sets["criteria"]],
        "patients": sets["patients"].astype(int).to_numpy(),
    })
    frame["share"] = share_of(frame["patients"], pd.Series(int(frame["patients"].sum()), index=frame.index))
    return frame


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
    frame = _criterion_frame(result)
    frame["patients"] = len(result.verdicts)
    frame["n"] = frame["criterion_id"].map(hits).fillna(0).astype(int)
    frame["rate"] = share_of(frame["n"], frame["patients"])
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
    unknown_counts = _criterion_frame(result).assign(
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
    rows = [("screened", n, share_of(n, n), details["screened"])]
    rows += [(v, int(counts.loc[v, "patients"]), float(counts.loc[v, "share"]), details[v]) for v in
             ("ineligible", "pending", "eligible")]
    return pd.DataFrame(rows, columns=["box", "patients", "share", "details"])


def _reason_lines(frame: pd.DataFrame, count_column: str) -> tuple[str, ...]:
    return tuple(f"{cid} {textwrap.shorten(label, width=32, placeholder='...')}: {n}" for cid, label, n in
                 zip(frame["criterion_id"], frame["criterion"], frame[count_column]))




# --------------------------------------------------------------------------- time


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
    counts = verdict_counts_by(dated.assign(month=month), "month")
    if len(dated):
        counts = counts.reindex(pd.period_range(month.min(), month.max(), freq="M"), fill_value=0)
    counts.index = [str(period) for period in counts.index]
    undated = verdicts[verdicts["consent_date"].isna()]
    if len(undated):
        extra = verdict_counts_by(undated.assign(month=NO_CONSENT_DATE), "month")
        counts = pd.concat([counts, extra])
    frame = counts.rename_axis("month").reset_index().astype({v: int for v in VERDICTS})
    frame["screened"] = frame[list(VERDICTS)].sum(axis=1).astype(int)
    return frame
