"""The vectorized engine agrees with the plain row-wise reference on random datasets.

``screen()`` (the engine) and :func:`reference.reference_screen` (written separately from
``docs/criteria.md``, one patient at a time) must give the same outcome for every patient
and criterion, and the same verdict with the same failed/unknown/waived lists. The
datasets come from :mod:`strategies`: blanks everywhere and values on the limits.

Reproducible in CI: ``derandomize=True`` and no example database.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.engine.screening import screen
from reference import reference_screen, verdicts_from_outcomes
from strategies import screening_tables

PARAM_VARIANTS: list[dict[str, object]] = [
    {}, {}, {}, {},
    {"lab_lookback_days": 14, "adjuvant_recurrence_months": 3},
    {"min_prior_lines": 2, "max_prior_lines": 2},
    {"max_ecog": 2, "min_lesion_cm": 2.0, "max_steroid_mg_per_day": 5.0, "min_age_years": 21},
    {"brain_metastases_stable_days": 28, "live_vaccine_window_days": 30, "max_ast_alt_x_uln": 2.5,
     "max_bilirubin_mg_per_dl": 1.5, "min_hemoglobin_g_per_dl": 10.0},
]
"""Mostly the defaults; now and then a site's parameter file (plumbing of every limit)."""

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def describe_patient(tables: dict[str, pd.DataFrame], patient_id: str) -> str:
    """Every row of every table that belongs to ``patient_id``, as text."""
    parts = []
    with pd.option_context("display.width", 250, "display.max_columns", None, "display.max_colwidth", 40):
        for name, frame in tables.items():
            rows = frame[frame["patient_id"] == patient_id]
            if name == "patients":
                parts.append(f"patients:\n{rows.T.to_string()}")
            elif len(rows):
                parts.append(f"{name}:\n{rows.to_string(index=False)}")
            else:
                parts.append(f"{name}: (no rows)")
    return "\n".join(parts)


def mismatch_report(tables: dict[str, pd.DataFrame], joined: pd.DataFrame) -> str:
    """A readable failure message: each disagreeing patient's rows and both outcomes."""
    lines = []
    for patient_id, group in joined.groupby("patient_id", sort=False):
        pairs = ", ".join(f"{r.criterion_id}: engine={r.engine} reference={r.reference}"
                          for r in group.itertuples())
        lines.append(f"=== patient {patient_id}: {pairs}\n{describe_patient(tables, patient_id)}")
    return "\n\n".join(lines)


def engine_outcomes(tables: dict[str, pd.DataFrame], params: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the engine; return (outcomes, verdicts) with plain string columns."""
    result = screen(ScreeningDataset(**tables), params)
    outcomes = result.outcomes[["patient_id", "criterion_id", "outcome"]].astype(str)
    verdicts = result.verdicts[["patient_id", "verdict", "failed", "unknown", "waived"]].astype(str)
    return outcomes.reset_index(drop=True), verdicts.reset_index(drop=True)


@SETTINGS
@given(tables=screening_tables(), require_braf=st.booleans(), variant=st.sampled_from(PARAM_VARIANTS))
def test_engine_equals_reference(tables: dict[str, pd.DataFrame], require_braf: bool,
                                 variant: dict[str, object]) -> None:
    params = load_params(overrides={**variant, "require_braf_inhibitor_if_v600": require_braf})
    engine, engine_verdicts = engine_outcomes(tables, params)
    reference = reference_screen(tables, params.as_dict())

    key = ["patient_id", "criterion_id"]
    joined = engine.merge(reference, on=key, how="outer", suffixes=("_engine", "_reference"), indicator=True)
    assert (joined["_merge"] == "both").all(), f"rows present on one side only:\n{joined[joined['_merge'] != 'both']}"
    assert len(engine) == 19 * len(tables["patients"])
    joined = joined.rename(columns={"outcome_engine": "engine", "outcome_reference": "reference"})
    differ = joined[joined["engine"] != joined["reference"]]
    assert differ.empty, "engine and reference disagree:\n" + mismatch_report(tables, differ)

    expected_verdicts = verdicts_from_outcomes(reference).astype(str)
    both = engine_verdicts.merge(expected_verdicts, on="patient_id", suffixes=("_engine", "_reference"))
    assert len(both) == len(tables["patients"]) == len(engine_verdicts)
    for column in ("verdict", "failed", "unknown", "waived"):
        bad = both[both[f"{column}_engine"] != both[f"{column}_reference"]]
        assert bad.empty, f"verdict column {column!r} differs:\n{bad.to_string()}"


def test_reference_reads_the_same_defaults_and_units_as_the_package() -> None:
    """The reference's own inputs (YAML read directly, exact unit factors) match the package's."""
    from lifileucel_analysis.contract.schema import UNIT_FACTORS
    from reference import EXACT_FACTORS, default_params

    assert default_params() == load_params().as_dict()
    assert set(EXACT_FACTORS) == {(t, u) for t, units in UNIT_FACTORS.items() for u in units}
    for (test, unit), factor in EXACT_FACTORS.items():
        assert float(factor) == pytest.approx(UNIT_FACTORS[test][unit], rel=1e-12)
