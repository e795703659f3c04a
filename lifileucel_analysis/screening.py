"""Screening: every criterion for every patient, overrides applied, verdicts drawn."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .criteria import CATALOG, Facts, build_facts
from .dataset import ScreeningDataset
from .evidence import STR
from .outcome import CODE, OUTCOME_DTYPE, Outcome, codes_to_labels
from .params import CriteriaParams, load_params
from .schema import CRITERION_IDS

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
        Data-quality findings: ``patient_id``, ``table``, ``column``, ``value``, ``finding``.
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


def screen(dataset: ScreeningDataset, params: CriteriaParams | None = None) -> ScreeningResult:
    """Screen every patient of ``dataset`` against the 19 criteria.

    Parameters
    ----------
    dataset : ScreeningDataset
        Typed, validated tables (see :func:`lifileucel_analysis.loading.load_dataset`).
    params : CriteriaParams, optional
        Limits and windows; defaults to ``params/criteria.yaml``.

    Returns
    -------
    ScreeningResult
    """
    params = params or load_params()
    facts = build_facts(dataset, params)
    parts = [criterion.evaluate(facts, params) for criterion in CATALOG]
    codes = np.stack([p.codes for p in parts], axis=1)  # patients x criteria
    evidence = np.stack([p.evidence.to_numpy(dtype=object) for p in parts], axis=1)
    needs = np.stack([p.needs.to_numpy(dtype=object) for p in parts], axis=1)
    waiver_rows = _apply_overrides(dataset, codes, evidence)
    needs = np.where(codes == CODE[Outcome.UNKNOWN], needs, "")
    outcomes = _outcomes_table(facts, codes, evidence, needs)
    return ScreeningResult(
        outcomes=outcomes,
        verdicts=_verdicts_table(facts, codes),
        missing_data=_missing_table(outcomes, codes),
        waivers=waiver_rows,
        findings=_findings(facts),
        params=params,
        n_in=dataset.n_patients,
        dataset_source=dataset.source,
    )


def _apply_overrides(dataset: ScreeningDataset, codes: np.ndarray, evidence: np.ndarray) -> pd.DataFrame:
    """Turn overridden outcomes into ``waived`` in place; return the waivers table."""
    o = dataset.overrides.reset_index(drop=True)
    rows = pd.Index(dataset.patients["patient_id"]).get_indexer(o["patient_id"])
    cols = pd.Index(CRITERION_IDS).get_indexer(o["criterion_id"].astype(str))
    was = codes_to_labels(codes[rows, cols]) if len(o) else pd.Categorical([], dtype=OUTCOME_DTYPE)
    original = evidence[rows, cols] if len(o) else np.array([], dtype=object)
    note = ("waived by " + o["approved_by"].astype(str) + " on " + o["approved_date"].dt.strftime("%Y-%m-%d")
            + ": " + o["reason"].astype(str) + " (was " + pd.Series(was).astype(str) + ": "
            + pd.Series(original, dtype=STR) + ")")
    codes[rows, cols] = CODE[Outcome.WAIVED]
    evidence[rows, cols] = note.to_numpy(dtype=object)
    site = dataset.patients["site_id"].to_numpy()[rows] if len(o) else []
    return pd.DataFrame({
        "patient_id": o["patient_id"], "site_id": pd.Categorical(site, dtype=dataset.patients["site_id"].dtype),
        "criterion_id": o["criterion_id"].astype(str).astype(CRITERION_DTYPE), "approved_by": o["approved_by"],
        "approved_date": o["approved_date"], "reason": o["reason"],
        "original_outcome": pd.Series(was, dtype=OUTCOME_DTYPE),
    }).sort_values(["patient_id", "criterion_id"], kind="stable").reset_index(drop=True)


def _outcomes_table(facts: Facts, codes: np.ndarray, evidence: np.ndarray, needs: np.ndarray) -> pd.DataFrame:
    n, k = codes.shape
    patients = facts.patients
    return pd.DataFrame({
        "patient_id": np.repeat(patients["patient_id"].to_numpy(), k),
        "site_id": pd.Categorical.from_codes(np.repeat(patients["site_id"].cat.codes.to_numpy(), k),
                                             dtype=patients["site_id"].dtype),
        "criterion_id": pd.Categorical.from_codes(np.tile(np.arange(k), n), dtype=CRITERION_DTYPE),
        "outcome": codes_to_labels(codes.ravel()),
        "evidence": pd.array(evidence.ravel(), dtype=STR),
        "missing": pd.array(needs.ravel(), dtype=STR),
    })


def _ids_where(mask: np.ndarray) -> np.ndarray:
    """Per patient, the criterion IDs where ``mask`` holds, joined by ';' in catalog order."""
    out = np.full(mask.shape[0], "", dtype=object)
    for j, cid in enumerate(CRITERION_IDS):
        hit = mask[:, j]
        out[hit] = np.where(out[hit] == "", cid, out[hit] + ";" + cid)
    return out


def _verdicts_table(facts: Facts, codes: np.ndarray) -> pd.DataFrame:
    failed, unknown = codes == CODE[Outcome.FAIL], codes == CODE[Outcome.UNKNOWN]
    verdict = np.where(failed.any(axis=1), "ineligible", np.where(unknown.any(axis=1), "pending", "eligible"))
    patients = facts.patients
    return pd.DataFrame({
        "patient_id": patients["patient_id"],
        "site_id": patients["site_id"],
        "consent_date": patients["consent_date"],
        "verdict": pd.Categorical(verdict, dtype=VERDICT_DTYPE),
        "failed": pd.array(_ids_where(failed), dtype=STR),
        "unknown": pd.array(_ids_where(unknown), dtype=STR),
        "waived": pd.array(_ids_where(codes == CODE[Outcome.WAIVED]), dtype=STR),
    })


def _missing_table(outcomes: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    pending = ~(codes == CODE[Outcome.FAIL]).any(axis=1) & (codes == CODE[Outcome.UNKNOWN]).any(axis=1)
    rows = np.repeat(pending, codes.shape[1]) & (outcomes["outcome"] == "unknown").to_numpy()
    table = outcomes.loc[rows, ["patient_id", "site_id", "criterion_id", "missing"]]
    return table.rename(columns={"missing": "fields"}).reset_index(drop=True)


def _findings(facts: Facts) -> pd.DataFrame:
    """Data-quality findings: unknown agent names and conflicting same-day lab results."""
    lines = facts.lines
    unknown = lines[lines["unknown_agents"] != ""]
    frames = [pd.DataFrame({
        "patient_id": unknown["patient_id"].to_numpy(), "table": "therapies", "column": "agents",
        "value": unknown["unknown_agents"].to_numpy(),
        "finding": "agent not in the drug dictionary (line " + unknown["line"].astype(str).to_numpy() + ")",
    })]
    ids = facts.patients["patient_id"].to_numpy()
    for test, lab in facts.labs.items():
        hit = lab.conflict.to_numpy()
        frames.append(pd.DataFrame({
            "patient_id": ids[hit], "table": "labs", "column": "value", "value": lab.raw.to_numpy()[hit],
            "finding": f"several {test} results on the counting day disagree; the least favourable counts",
        }))
    table = pd.concat(frames, ignore_index=True)
    return table.astype({c: STR for c in table.columns}).reset_index(drop=True)


def run_screening(dataset: str | Path = "", criteria_params: str | Path = "") -> ScreeningResult:
    """Load a dataset (default: the bundled demo cohort) and screen it; the notebooks' entry point."""
    from .loading import load_dataset
    from .paths import DEMO_DATASET

    data = load_dataset(Path(dataset) if dataset else DEMO_DATASET)
    return screen(data, load_params(criteria_params or None))
