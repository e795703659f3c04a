"""Screening: every criterion for every patient, overrides applied, verdicts drawn."""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import CATALOG
from .data_findings import data_findings
from .facts import Facts, build_facts
from ..contract.dataset import ScreeningDataset
from .criterion import Criterion
from .evidence import TEXT, Part, Text, as_arrow, text_series
from .facts import patient_positions
from .outcome import CODE, OUTCOME_DTYPE, Outcome, codes_to_labels
from .parameters import CriteriaParams, load_params
from ..contract.schema import CRITERION_IDS

T = TypeVar("T")
U = TypeVar("U")
CRITERION_DTYPE = pd.CategoricalDtype(list(CRITERION_IDS), ordered=True)
VERDICTS = ("eligible", "pending", "ineligible")
VERDICT_DTYPE = pd.CategoricalDtype(list(VERDICTS))


@dataclass(frozen=True)
class ScreeningResult:
    """The screening of one dataset: long tidy tables plus the inputs that produced them.

    Attributes
    ----------
    outcomes : DataFrame
        One row per patient x criterion: ``patient_id``, ``site_id``, ``criterion_id``,
        ``outcome``, ``evidence``, ``missing`` (fields to collect when unknown).
    verdicts : DataFrame
        One row per patient: ``patient_id``, ``site_id``, ``consent_date``, ``verdict``,
        ``failed``, ``unknown``, ``waived`` (criterion IDs joined by ``;``).
    missing_data : DataFrame
        Pending patients' unknown criteria: ``patient_id``, ``site_id``, ``criterion_id``,
        ``fields``.
    waivers : DataFrame
        Applied overrides with who, when, why and the outcome they replaced.
    findings : DataFrame
        Data-quality findings: ``patient_id``, ``table``, ``row``, ``column``, ``value``,
        ``finding`` (see :mod:`.data_findings`).
    params : CriteriaParams
    n_in : int
        Patients in the input.
    dataset_source : str
    """

    outcomes: pd.DataFrame
    verdicts: pd.DataFrame
    missing_data: pd.DataFrame
    waivers: pd.DataFrame
    findings: pd.DataFrame
    params: CriteriaParams
    n_in: int
    dataset_source: str = "in memory"

    @property
    def summary(self) -> pd.DataFrame:
        """Verdict counts and shares, with the reconciliation row N in = N out."""
        counts = self.verdicts["verdict"].value_counts().reindex(list(VERDICTS), fill_value=0)
        table = pd.DataFrame({"patients": counts, "share": (counts / max(self.n_in, 1)).round(3)})
        table.loc["total (N out)"] = [int(counts.sum()), round(counts.sum() / max(self.n_in, 1), 3)]
        table.loc["input (N in)"] = [self.n_in, 1.0]
        table.index.name = "verdict"
        return table.astype({"patients": "int64"})

    def for_site(self, site_id: str) -> ScreeningResult:
        """Return the result restricted to one site (``"all"`` returns the whole result)."""
        if site_id == "all":
            return self

        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["site_id"] == site_id].reset_index(drop=True)

        ids = set(self.verdicts.loc[self.verdicts["site_id"] == site_id, "patient_id"])
        findings = self.findings[self.findings["patient_id"].isin(ids)].reset_index(drop=True)
        return replace(self, outcomes=keep(self.outcomes), verdicts=keep(self.verdicts),
                       missing_data=keep(self.missing_data), waivers=keep(self.waivers), findings=findings,
                       n_in=len(ids))

    def _repr_html_(self) -> str:
        counts = self.summary.to_html(escape=True)
        return (f"<p><b>Screening of {html.escape(self.dataset_source)}</b>: {self.n_in} patients in, "
                f"{len(self.verdicts)} verdicts out.</p>{counts}")


def screen(dataset: ScreeningDataset, params: CriteriaParams | None = None,
           drugs: pd.DataFrame | None = None) -> ScreeningResult:
    """Screen every patient of ``dataset`` against the 19 criteria.

    Parameters
    ----------
    dataset : ScreeningDataset
        Typed, validated tables (see :func:`lifileucel_analysis.contract.loading.load_dataset`).
    params : CriteriaParams, optional
        Limits and windows; defaults to the package defaults (:func:`load_params`).
    drugs : DataFrame, optional
        A site's own drug dictionary rows (``agent``, ``drug_class``, ``source``) that
        extend the package's (see ``docs/criteria.md``, "Drug dictionary").

    Returns
    -------
    ScreeningResult
    """
    params = params or load_params()
    facts = build_facts(dataset, params, drugs)
    parts = _in_threads(lambda criterion: _evaluate(criterion, facts, params), CATALOG)
    codes = np.stack([p.codes for p in parts], axis=1)  # patients x criteria
    waived = _apply_overrides(dataset, codes, [p.evidence for p in parts], [p.needs for p in parts])
    unknown = codes == CODE[Outcome.UNKNOWN]
    evidence = _interleave([p.evidence for p in parts], waived.at, waived.evidence)
    needs = _interleave([p.needs.where(unknown[:, j]) for j, p in enumerate(parts)], waived.needs_at, waived.needs)
    del parts
    outcomes = _outcomes_table(facts, codes, evidence, needs)
    verdicts = _verdicts_table(facts, codes)
    return ScreeningResult(
        outcomes=outcomes,
        verdicts=verdicts,
        missing_data=_missing_table(outcomes, (verdicts["verdict"] == "pending").to_numpy(), codes.shape[1]),
        waivers=waived.table,
        findings=data_findings(facts, dataset),
        params=params,
        n_in=dataset.n_patients,
        dataset_source=dataset.source,
    )


def _evaluate(criterion: Criterion, facts: Facts, params: CriteriaParams) -> Part:
    """A criterion's part; one switched off by the criteria version is ``not_applicable`` for everyone."""
    if criterion.id not in params.criteria_off:
        return criterion.evaluate(facts, params)
    n = len(facts.patients)
    return Part(np.full(n, CODE[Outcome.NOT_APPLICABLE], dtype=np.uint8),
                Text.constant(f"switched off in criteria version {params.version or 'custom'}", n),
                Text.constant("", n))


def _interleave(texts: list[Text], replace_at: np.ndarray | None = None,
                replacements: pa.Array | None = None, block: int = 1 << 16) -> pa.ChunkedArray:
    """Gather per-criterion texts into one patient-major column (patient 0: I1..E11, ...).

    This is the one copy of the sentences into their final place: the criteria's pools
    (and the replacements) are laid end to end once, and each block of the column is one
    ``take`` from them, so no sentence is copied on the way. Blocks keep each step in
    cache and nothing else of full size is allocated. ``replace_at`` (sorted positions in
    the patient-major column) get ``replacements`` instead.
    """
    k, n = len(texts), len(texts[0])
    at = np.zeros(0, dtype=np.int64) if replace_at is None else replace_at
    pools = [t.pool for t in texts] + ([] if replacements is None else [replacements])
    starts = np.cumsum([0] + [len(pool) for pool in pools])  # where each pool begins in ``joined``
    joined = pa.concat_arrays(pools)

    def gather(start: int) -> pa.Array:
        size = min(block, n - start)
        where = np.empty((size, k), dtype=np.int64)
        for j, t in enumerate(texts):
            np.add(t.index[start:start + size], starts[j], out=where[:, j])
        lo, hi = np.searchsorted(at, [start * k, (start + size) * k])
        if hi > lo:
            where.ravel()[at[lo:hi] - start * k] = starts[k] + np.arange(lo, hi)
        return joined.take(where.ravel())

    return pa.chunked_array(_in_threads(gather, range(0, n, block)), type=TEXT)


def _in_threads(func: Callable[[T], U], items: Iterable[T]) -> list[U]:
    """``[func(x) for x in items]``, on as many threads as the machine has cores.

    The work is Arrow and NumPy kernels, which release the GIL; every item is independent
    and results keep the order of ``items``, so the output does not depend on scheduling.
    """
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(func, items))


@dataclass(frozen=True)
class _Waived:
    """What the overrides change: sentences and fields to collect at patient-major positions, and the waivers."""

    at: np.ndarray
    evidence: pa.Array
    needs_at: np.ndarray
    needs: pa.Array
    table: pd.DataFrame
    """The waivers applied (an override without its approver is not one)."""


def _apply_overrides(dataset: ScreeningDataset, codes: np.ndarray, evidence: list[Text],
                     needs: list[Text]) -> _Waived:
    """Turn overridden outcomes into ``waived`` (codes in place).

    The waiver's sentence says who, when, why, and what the outcome was; a blank approval
    date or reason is said as not recorded. An override whose approver is blank is not a
    documented waiver yet (spec section 1: "a documented override"): a blocking outcome
    (fail, unknown) becomes ``unknown``, asking for the approver, since the waiver may be
    valid; a passing one stands, its sentence noting the override.
    """
    o = dataset.overrides.reset_index(drop=True)
    rows = patient_positions(dataset, "overrides")
    cols = pd.Index(CRITERION_IDS).get_indexer(o["criterion_id"].astype(str))
    was = codes_to_labels(codes[rows, cols]) if len(o) else pd.Categorical([], dtype=OUTCOME_DTYPE)
    # Not applied: a waiver nobody is recorded as approving, or (at a data cut) one without a date,
    # which may postdate the cut; either may be valid, so a blocking outcome is unknown meanwhile.
    undated = o["approved_date"].isna().to_numpy() & (dataset.cut_date is not None)
    signed = o["approved_by"].notna().to_numpy() & ~undated
    blocking = np.isin(codes[rows, cols], [CODE[Outcome.FAIL], CODE[Outcome.UNKNOWN]])
    note = _override_sentences(o, pd.Series(was).astype(str), text_series(_texts_at(evidence, rows, cols)),
                               signed, blocking, dataset.cut_date)
    missing = pd.Series(np.where(o["approved_by"].isna(), "approved_by", "approved_date"), index=o.index)
    ask = "overrides." + missing + " (waiver of " + o["criterion_id"].astype(str) + ")"
    previous_needs = text_series(_texts_at(needs, rows, cols)).where(pd.Series(was).astype(str) == "unknown", "")
    asked = (ask + "; " + previous_needs).where(previous_needs != "", ask)
    codes[rows[signed], cols[signed]] = CODE[Outcome.WAIVED]
    codes[rows[~signed & blocking], cols[~signed & blocking]] = CODE[Outcome.UNKNOWN]
    at = rows.astype(np.int64) * codes.shape[1] + cols
    order = np.argsort(at, kind="stable")
    open_at = np.flatnonzero(~signed & blocking)
    open_order = open_at[np.argsort(at[open_at], kind="stable")]
    site = dataset.patients["site_id"].to_numpy()[rows] if len(o) else []
    waivers = pd.DataFrame({
        "patient_id": o["patient_id"], "site_id": pd.Categorical(site, dtype=dataset.patients["site_id"].dtype),
        "criterion_id": o["criterion_id"].astype(str).astype(CRITERION_DTYPE), "approved_by": o["approved_by"],
        "approved_date": o["approved_date"], "reason": o["reason"],
        "original_outcome": pd.Series(was, dtype=OUTCOME_DTYPE),
    })[signed].sort_values(["patient_id", "criterion_id"], kind="stable").reset_index(drop=True)
    return _Waived(at[order], as_arrow(note).cast(TEXT).take(order), at[open_order],
                   as_arrow(asked).cast(TEXT).take(open_order), waivers)


def _override_sentences(o: pd.DataFrame, was: pd.Series, original: pd.Series, signed: np.ndarray,
                        blocking: np.ndarray, cut_date: dt.date | None) -> pd.Series:
    """Per override row, the criterion's new sentence: the waiver (who, when, why, what it replaced), or,
    without an approver (or, at a cut, a date), why it is not applied and what the criterion says without it."""
    when = o["approved_date"].dt.strftime("%Y-%m-%d").fillna("(date not recorded)")
    why = o["reason"].astype(str).where(o["reason"].notna(), "(reason not recorded)")
    waived = "waived by " + o["approved_by"].astype(str) + " on " + when + ": " + why + " (was " + was + ": " \
        + original + ")"
    unsigned = ("a waiver of " + o["criterion_id"].astype(str) + " is on file without its approver (approved_by "
                "not recorded), so it is not applied")
    if cut_date is not None:
        undated = ("a waiver of " + o["criterion_id"].astype(str) + " without an approval date (approved_date not "
                   f"recorded) may postdate the data cut {cut_date.isoformat()}, so it is not applied")
        unsigned = unsigned.where(o["approved_by"].isna(), undated)
    return waived.where(signed, (unsigned + "; without it: " + was + ": " + original)
                        .where(blocking, original + "; " + unsigned))


def _texts_at(texts: list[Text], rows: np.ndarray, cols: np.ndarray) -> pa.Array:
    """The sentences at (``rows[i]``, ``cols[i]``) of per-criterion texts, in the order given."""
    if len(rows) == 0:
        return pa.array([], type=TEXT)
    picked = pa.concat_arrays([t.take(rows[cols == j]) for j, t in enumerate(texts)])
    where = np.concatenate([np.flatnonzero(cols == j) for j in range(len(texts))])
    return picked.take(np.argsort(where, kind="stable"))


def _outcomes_table(facts: Facts, codes: np.ndarray, evidence: pa.Array, needs: pa.Array) -> pd.DataFrame:
    n, k = codes.shape
    patients = facts.patients
    return pd.DataFrame({
        "patient_id": text_series(as_arrow(patients["patient_id"]).take(np.repeat(np.arange(n), k))).array,
        "site_id": pd.Categorical.from_codes(np.repeat(patients["site_id"].cat.codes.to_numpy(), k),
                                             dtype=patients["site_id"].dtype),
        "criterion_id": pd.Categorical.from_codes(np.tile(np.arange(k), n), dtype=CRITERION_DTYPE),
        "outcome": codes_to_labels(codes.ravel()),
        "evidence": text_series(evidence).array,
        "missing": text_series(needs).array,
    })


def _ids_where(mask: np.ndarray) -> pd.Series:
    """Per patient, the criterion IDs where ``mask`` holds, joined by ';' in catalog order.

    Each distinct pattern (an integer, a bit per criterion) is spelt once, by a loop over
    the 19 criteria that appends an ID wherever its bit is set.
    """
    bits = mask.astype(np.int64) @ (np.int64(1) << np.arange(mask.shape[1], dtype=np.int64))
    patterns, inverse = np.unique(bits, return_inverse=True)
    spelt = pa.repeat(pa.scalar("", TEXT), len(patterns))
    for j, cid in enumerate(CRITERION_IDS):
        appended = pc.binary_join_element_wise(spelt, pa.scalar(cid, TEXT), pa.scalar(";", TEXT))
        appended = pc.if_else(pc.equal(spelt, ""), pa.scalar(cid, TEXT), appended)
        spelt = pc.if_else(pa.array((patterns >> j) & 1 == 1), appended, spelt)
    return text_series(spelt.take(inverse))


def verdict_of(any_failed: np.ndarray, any_unknown: np.ndarray) -> np.ndarray:
    """The verdict rule (spec section 2): ``ineligible`` if any criterion fails; otherwise
    ``pending`` if any is unknown; otherwise ``eligible``. Per patient, from two masks."""
    return np.where(any_failed, "ineligible", np.where(any_unknown, "pending", "eligible"))


def _verdicts_table(facts: Facts, codes: np.ndarray) -> pd.DataFrame:
    failed, unknown = codes == CODE[Outcome.FAIL], codes == CODE[Outcome.UNKNOWN]
    verdict = verdict_of(failed.any(axis=1), unknown.any(axis=1))
    patients = facts.patients
    return pd.DataFrame({
        "patient_id": patients["patient_id"],
        "site_id": patients["site_id"],
        "consent_date": patients["consent_date"],
        "verdict": pd.Categorical(verdict, dtype=VERDICT_DTYPE),
        "failed": _ids_where(failed).array,
        "unknown": _ids_where(unknown).array,
        "waived": _ids_where(codes == CODE[Outcome.WAIVED]).array,
    })


def _missing_table(outcomes: pd.DataFrame, pending: np.ndarray, n_criteria: int) -> pd.DataFrame:
    """The unknown outcomes of pending patients (``pending``, per patient), with the fields that would decide them."""
    rows = np.repeat(pending, n_criteria) & (outcomes["outcome"] == "unknown").to_numpy()
    table = outcomes.loc[rows, ["patient_id", "site_id", "criterion_id", "missing"]]
    return table.rename(columns={"missing": "fields"}).reset_index(drop=True)
