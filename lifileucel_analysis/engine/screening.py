"""Screening: every criterion for every patient, overrides applied, verdicts drawn."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import CATALOG
from .data_findings import data_findings
from .facts import Facts, build_facts
from ..contract.dataset import ScreeningDataset
from ..contract.messages import counted
from ..contract.ordered_threads import in_order
from .criterion import Criterion
from .evidence import TEXT, Part, Text, as_arrow, text_series
from .outcome import CODE, Outcome, codes_to_labels
from .parameters import CriteriaParams, load_params
from .waivers import CRITERION_DTYPE, apply_overrides
from ..contract.schema import ALL_SITES, CRITERION_IDS

VERDICTS = ("eligible", "pending", "ineligible")
VERDICT_DTYPE = pd.CategoricalDtype(list(VERDICTS))
THREADS_FROM_PATIENTS = 100_000
"""Criteria are evaluated on threads from this many patients. Below it one thread is faster: each
step is then a short pandas call that holds the GIL, and two threads take turns at it (session 34,
in process: 1,000 patients 0.36-0.54 s serial against 0.54-0.75 s; 50,000: 1.4-2.1 s against 2.1-3.2
s). The plain screen's slices of 125,000 patients keep the threads they were benchmarked with."""


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
        Applied overrides with who, when, why, and the outcome and sentence they replaced
        (``original_outcome``, ``original_evidence``).
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
        """Return the result restricted to one site (:data:`.schema.ALL_SITES`, ``"all"``, returns the whole result)."""
        if site_id == ALL_SITES:
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
        return (f"<p><b>Screening of {html.escape(self.dataset_source)}</b>: {counted(self.n_in, 'patient')} in, "
                f"{counted(len(self.verdicts), 'verdict')} out.</p>{counts}")


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
    parts = in_order(lambda criterion: _evaluate(criterion, facts, params), CATALOG,
                     on_threads=len(facts.patients) >= THREADS_FROM_PATIENTS)
    codes = np.stack([p.codes for p in parts], axis=1)  # patients x criteria
    waived = apply_overrides(dataset, codes, [p.evidence for p in parts], [p.needs for p in parts])
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
        findings=data_findings(facts, dataset, (waived.needless, waived.needless_was)),
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

    return pa.chunked_array(in_order(gather, range(0, n, block), on_threads=n >= THREADS_FROM_PATIENTS), type=TEXT)


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
