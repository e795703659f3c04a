"""End to end: `lifileucel-eap screen` on each format, invalid input, python -m."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lifileucel_analysis.contract import schema
from lifileucel_analysis.cli import main, neutralise_formulas

ELIGIBLE = dict(
    site_id="mskcc", sex="female", birth_date="1960-05-01", consent_date="2025-03-01",
    lymphodepletion_date="2025-04-15", melanoma_subtype="cutaneous", ajcc_stage="IV", liver_metastases="no",
    gilbert_syndrome="no", braf_v600="wildtype", ecog=1, life_expectancy_months=6,
    alternative_therapy_available="no", resectable_lesion_cm=2.0, organ_allograft="none", brain_metastases="no",
    steroid_mg_per_day=0, hypersensitivity_to_regimen="no", active_medical_illness="no", hiv_serology="negative",
    syphilis_assay="negative", hbv_serology="negative", primary_immunodeficiency="no", live_vaccine_received="no",
    pregnant="no", breastfeeding="no",
)
LABS = [("anc", 1500, "/uL"), ("platelets", 150, "10^9/L"), ("hemoglobin", 95, "g/L"), ("ast", 40, "U/L"),
        ("alt", 30, "U/L"), ("total_bilirubin", 20, "umol/L"), ("creatinine_clearance", 80, "mL/min")]


def small_dataset() -> dict[str, pd.DataFrame]:
    """Three patients: eligible (P1), pending (P2: ECOG blank), ineligible (P3: uveal)."""
    patients = [dict(ELIGIBLE, patient_id="P1"), dict(ELIGIBLE, patient_id="P2", ecog=None, site_id="honorhealth"),
                dict(ELIGIBLE, patient_id="P3", melanoma_subtype="uveal")]
    therapies = [dict(patient_id=p, line=1, setting="metastatic", agents="nivolumab", start_date="2024-01-01",
                      end_date="2024-06-01", best_response="pd", stop_reason="progression") for p in ("P1", "P2", "P3")]
    labs = [dict(patient_id=p, test=t, value=v, unit=u, uln=40 if t in ("ast", "alt") else None,
                 collected_date="2025-02-20") for p in ("P1", "P2", "P3") for t, v, u in LABS]
    return {
        "patients": schema.coerce("patients", pd.DataFrame(patients)),
        "therapies": schema.coerce("therapies", pd.DataFrame(therapies)),
        "labs": schema.coerce("labs", pd.DataFrame(labs)),
        "toxicities": schema.empty_frame("toxicities"),
        "overrides": schema.empty_frame("overrides"),
    }


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from lifileucel_analysis.contract.writing import write_tables

    root = tmp_path_factory.mktemp("formats")
    tables = small_dataset()
    write_tables(tables, root / "csv", "csv")
    write_tables(tables, root / "book.xlsx", "xlsx")
    write_tables(tables, root / "parquet", "parquet")
    return {"csv": root / "csv", "xlsx": root / "book.xlsx", "parquet": root / "parquet"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_screen_writes_the_spec_files(datasets: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    assert main(["screen", str(datasets[fmt]), "--out", str(tmp_path / "out")]) == 0
    verdicts = pd.read_csv(tmp_path / "out" / "verdicts.csv", keep_default_na=False)
    assert list(verdicts.columns) == ["patient_id", "site_id", "verdict", "failed", "unknown", "waived"]
    assert verdicts.set_index("patient_id")["verdict"].to_dict() == {
        "P1": "eligible", "P2": "pending", "P3": "ineligible"}
    assert verdicts.set_index("patient_id").loc["P2", "unknown"] == "I6"
    assert verdicts.set_index("patient_id").loc["P3", "failed"] == "E3"
    outcomes = pd.read_csv(tmp_path / "out" / "outcomes.csv", keep_default_na=False)
    assert list(outcomes.columns) == ["patient_id", "criterion_id", "outcome", "evidence"]
    assert len(outcomes) == 3 * 19
    assert (outcomes["evidence"] != "").all()


def test_three_formats_give_identical_verdicts(datasets: dict[str, Path], tmp_path: Path) -> None:
    outputs = []
    for fmt, path in datasets.items():
        assert main(["screen", str(path), "--out", str(tmp_path / fmt)]) == 0
        outputs.append(((tmp_path / fmt / "verdicts.csv").read_bytes(), (tmp_path / fmt / "outcomes.csv").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]


def test_invalid_input_exits_2_with_a_message_and_writes_nothing(tmp_path: Path) -> None:
    from lifileucel_analysis.contract.writing import write_tables

    write_tables(small_dataset(), tmp_path / "data", "csv")
    patients = tmp_path / "data" / "patients.csv"
    patients.write_text(patients.read_text().replace("2025-03-01", "03/01/2025", 1))
    result = subprocess.run([sys.executable, "-m", "lifileucel_analysis", "screen", str(tmp_path / "data"),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "03/01/2025" in result.stderr and "patients" in result.stderr and "consent_date" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_params_exit_2(tmp_path: Path, datasets: dict[str, Path]) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("max_ecgo: 2\n")
    assert main(["screen", str(datasets["csv"]), "--out", str(tmp_path / "out"), "--params", str(bad)]) == 2
    assert not (tmp_path / "out").exists()


def test_formulas_are_neutralised() -> None:
    frame = pd.DataFrame({"a": ["=1+1", "+x", "-y", "@z", "ok", None]})
    assert neutralise_formulas(frame)["a"].tolist()[:5] == ["'=1+1", "'+x", "'-y", "'@z", "ok"]
