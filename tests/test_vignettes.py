"""Whole-patient vignettes: realistic screening stories with hand-written verdicts.

Each vignette is a patient a site coordinator could plausibly send, told in a sentence or
two, with the verdict and the failed / unknown / waived criterion lists worked out by hand
from ``docs/criteria.md``. Cells not stated are those of the fully eligible baseline of
:func:`helpers.case_tables` (consent 2025-03-01, NMA-LD 2025-03-29, normal labs on
2025-02-20, no brain metastases, serologies negative, no steroid, no live vaccine).

Every vignette is checked against the engine (``screen()``) and the row-wise reference
evaluator; for pending patients the engine's missing-data worklist must name the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.engine.screening import ScreeningResult, screen
from helpers import case_tables, concat_tables
from reference import reference_verdicts


@dataclass(frozen=True)
class Vignette:
    """A whole patient and the hand-written expectation."""

    name: str
    story: str
    verdict: str
    failed: str = ""
    unknown: str = ""
    waived: str = ""
    patient: dict[str, Any] = field(default_factory=dict)
    therapies: list[dict[str, Any]] | None = None
    labs: list[dict[str, Any]] = field(default_factory=list)
    toxicities: list[dict[str, Any]] = field(default_factory=list)
    overrides: tuple[str, ...] = ()
    replace_labs: bool = False
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per unknown criterion, field names the engine's worklist must mention."""


def therapy(line: int, setting: str, agents: str, start: str, end: str | None, best: str | None,
            stop: str | None, recurrence: str | None = None) -> dict[str, Any]:
    """One therapies row."""
    return {"line": line, "setting": setting, "agents": agents, "start_date": start, "end_date": end,
            "best_response": best, "stop_reason": stop, "recurrence_date": recurrence}


def lab(test: str, value: float, unit: str, uln: float | None = None, day: str = "2025-02-24") -> dict[str, Any]:
    """One labs row."""
    return {"test": test, "value": value, "unit": unit, "uln": uln, "collected_date": day}


LAB_FIELDS = tuple(f"labs.{t}" for t in ("anc", "platelets", "hemoglobin", "ast", "alt", "total_bilirubin",
                                          "creatinine_clearance"))

VIGNETTES = [
    Vignette(
        "braf-mutant-two-lines",
        "52-year-old woman, stage IV cutaneous melanoma, BRAF V600E. Progressed on "
        "nivolumab+ipilimumab (2023-05 to 2024-01), then on dabrafenib+trametinib (2024-02 to "
        "2025-01). ECOG 1, life expectancy 9 months, 3.2 cm axillary node resectable, labs fine.",
        "eligible",
        patient={"sex": "female", "birth_date": "1972-08-19", "braf_v600": "mutant", "ecog": 1,
                 "life_expectancy_months": 9.0, "resectable_lesion_cm": 3.2},
        therapies=[therapy(1, "metastatic", "nivolumab+ipilimumab", "2023-05-02", "2024-01-15", "pr", "progression"),
                   therapy(2, "metastatic", "dabrafenib+trametinib", "2024-02-01", "2025-01-20", "sd",
                           "progression")],
    ),
    Vignette(
        "late-adjuvant-recurrence",
        "Stage IIIB resected, adjuvant pembrolizumab 2023-02-01 to 2024-01-10 (completed). "
        "Recurrence, now stage IV, on 2024-09-01: more than 6 calendar months after the end "
        "(window closes 2024-07-10). No metastatic-setting therapy yet: no line counts for I2.",
        "ineligible", failed="I2",
        therapies=[therapy(1, "adjuvant", "pembrolizumab", "2023-02-01", "2024-01-10", None, "completed",
                           "2024-09-01")],
    ),
    Vignette(
        "labs-not-drawn",
        "Consented 2025-03-01 last week, stage IV, one metastatic nivolumab line that "
        "progressed; NMA-LD not scheduled yet and the screening labs not drawn.",
        "pending", unknown="I7",
        patient={"lymphodepletion_date": None}, labs=[], replace_labs=True,
        missing={"I7": LAB_FIELDS},
    ),
    Vignette(
        "uveal-with-liver-metastases",
        "Uveal melanoma metastatic to the liver; tebentafusp then nivolumab+ipilimumab with "
        "progression. AST 160 U/L with ULN 40 (4 x ULN), acceptable with liver metastases. "
        "Excluded by the uveal origin alone.",
        "ineligible", failed="E3",
        patient={"melanoma_subtype": "uveal", "liver_metastases": "yes"},
        therapies=[therapy(1, "metastatic", "tebentafusp", "2023-09-01", "2024-03-01", "pd", "progression"),
                   therapy(2, "metastatic", "nivolumab+ipilimumab", "2024-03-20", "2024-12-01", "sd",
                           "progression")],
        labs=[lab("ast", 160, "U/L", 40), lab("alt", 150, "U/L", 40)],
    ),
    Vignette(
        "adjuvant-recurrence-on-therapy",
        "Man, stage IIIC acral melanoma judged unresectable. Adjuvant nivolumab from "
        "2024-03-01, recurred on therapy (2024-07-20, before the end on 2024-08-15), then "
        "relatlimab+nivolumab with stable disease, stopped for progression. Two counted lines.",
        "eligible",
        patient={"sex": "male", "pregnant": None, "breastfeeding": None, "melanoma_subtype": "acral",
                 "ajcc_stage": "IIIC", "disease_unresectable": "yes"},
        therapies=[therapy(1, "adjuvant", "nivolumab", "2024-03-01", "2024-08-15", None, "progression",
                           "2024-07-20"),
                   therapy(2, "metastatic", "relatlimab+nivolumab", "2024-09-01", "2025-02-01", "sd",
                           "progression")],
    ),
    Vignette(
        "brain-mets-too-recent-and-dexamethasone",
        "Brain metastases treated with stereotactic radiosurgery, asymptomatic, documented "
        "stable since 2025-03-20: only 9 days before NMA-LD on 2025-03-29. Still on "
        "dexamethasone 4 mg/day (26.7 mg prednisone-equivalent).",
        "ineligible", failed="E5;E6",
        patient={"brain_metastases": "yes", "brain_metastases_treated": "yes",
                 "brain_metastases_symptomatic": "no", "brain_metastases_stable_since": "2025-03-20",
                 "steroid_mg_per_day": 26.7},
    ),
    Vignette(
        "prior-lifileucel-kidney-transplant",
        "Kidney transplant recipient (allowed), progressed on pembrolizumab, then received "
        "lifileucel in a trial (partial response, completed): prior cell transfer excludes (E1), "
        "and the most recent line did not progress, so I2's progression part fails too.",
        "ineligible", failed="I2;E1",
        patient={"organ_allograft": "kidney"},
        therapies=[therapy(1, "metastatic", "pembrolizumab", "2022-01-10", "2022-10-01", "pd", "progression"),
                   therapy(2, "metastatic", "lifileucel", "2023-01-15", "2023-01-15", "pr", "completed")],
    ),
    Vignette(
        "five-lines-and-colitis",
        "Heavily pretreated: five metastatic lines (nivolumab, ipilimumab, dabrafenib+trametinib, "
        "dacarbazine, paclitaxel). Ongoing grade 2 immune colitis from ipilimumab; grade 2 "
        "hypothyroidism on replacement (endocrine, does not count).",
        "ineligible", failed="I2;E2",
        therapies=[therapy(1, "metastatic", "nivolumab", "2021-01-01", "2021-08-01", "pd", "progression"),
                   therapy(2, "metastatic", "ipilimumab", "2021-09-01", "2021-12-01", "pd", "progression"),
                   therapy(3, "metastatic", "dabrafenib+trametinib", "2022-01-01", "2023-01-01", "pr",
                           "progression"),
                   therapy(4, "metastatic", "dacarbazine", "2023-02-01", "2023-08-01", "pd", "progression"),
                   therapy(5, "metastatic", "paclitaxel", "2023-09-01", "2024-06-01", "pd", "progression")],
        toxicities=[{"term": "colitis", "category": "other", "grade": 2, "ongoing": "yes"},
                    {"term": "hypothyroidism", "category": "endocrine", "grade": 2, "ongoing": "yes"}],
    ),
    Vignette(
        "hbv-pcr-pending-gilbert",
        "HBsAg positive, HBV DNA PCR sent but not back. Known Gilbert syndrome with total "
        "bilirubin 2.6 mg/dL (allowed up to 3.0). Everything else fine.",
        "pending", unknown="E8",
        patient={"hbv_serology": "positive", "hbv_pcr": None, "gilbert_syndrome": "yes"},
        labs=[lab("total_bilirubin", 2.6, "mg/dL")],
        missing={"E8": ("patients.hbv_pcr",)},
    ),
    Vignette(
        "seventeen-ecog-two",
        "Adolescent consented on 2025-03-01, the day before the 18th birthday (born "
        "2007-03-02); ECOG 2 after a recent hospital stay.",
        "ineligible", failed="I5;I6",
        patient={"birth_date": "2007-03-02", "ecog": 2},
    ),
    Vignette(
        "investigational-drug-and-vaccine",
        "Only prior line: an investigational agent in a phase 1 trial, name not in the drug "
        "dictionary (class unknown: I2 and E1 cannot be decided). Yellow fever vaccine "
        "2025-02-10 (19 days before consent); NMA-LD not scheduled, so E10 is open.",
        "pending", unknown="I2;E1;E10",
        patient={"live_vaccine_received": "yes", "live_vaccine_date": "2025-02-10",
                 "lymphodepletion_date": None},
        therapies=[therapy(1, "metastatic", "investigational-x", "2024-02-01", "2024-11-01", "pd", "progression")],
        missing={"E10": ("patients.lymphodepletion_date",)},
    ),
    Vignette(
        "stage-iii-unsubgrouped-waived",
        "Referral letter says 'stage III, unresectable' without the sub-group; the medical "
        "monitor documented a waiver of I1 after reviewing the imaging. Life expectancy "
        "exactly 3 months.",
        "eligible", waived="I1",
        patient={"ajcc_stage": "III", "disease_unresectable": "yes", "life_expectancy_months": 3.0},
        overrides=("I1",),
    ),
    Vignette(
        "pregnant-anemic",
        "Woman found pregnant at screening; hemoglobin 85 g/L (8.5 g/dL).",
        "ineligible", failed="I7;E11",
        patient={"pregnant": "yes"}, labs=[lab("hemoglobin", 85, "g/L")],
    ),
    Vignette(
        "resectable-stage-iiib-untreated",
        "Stage IIIB disease judged resectable, no prior systemic therapy: referred too early.",
        "ineligible", failed="I1;I2",
        patient={"ajcc_stage": "IIIB", "disease_unresectable": "no"}, therapies=[],
    ),
    Vignette(
        "brain-mets-stable-labs-in-other-units",
        "Treated, asymptomatic brain metastasis stable since 2025-02-01 (56 days before "
        "NMA-LD). Labs from an outside lab in SI-style units: ANC 1800/uL, platelets "
        "150000/uL, hemoglobin 98 g/L, bilirubin 34.2 umol/L (= 2.0 mg/dL, at the limit).",
        "eligible",
        patient={"brain_metastases": "yes", "brain_metastases_treated": "yes",
                 "brain_metastases_symptomatic": "no", "brain_metastases_stable_since": "2025-02-01"},
        labs=[lab("anc", 1800, "/uL"), lab("platelets", 150000, "/uL"), lab("hemoglobin", 98, "g/L"),
              lab("total_bilirubin", 34.2, "umol/L")],
    ),
]


def vignette_tables() -> dict[str, pd.DataFrame]:
    """All vignettes in one dataset, patient IDs V01, V02, ..."""
    return concat_tables([
        case_tables(v.patient, v.therapies, v.labs, v.toxicities, v.overrides, patient_id=f"V{i:02d}",
                    replace_labs=v.replace_labs)
        for i, v in enumerate(VIGNETTES, start=1)
    ])


@pytest.fixture(scope="module")
def engine_result() -> ScreeningResult:
    return screen(ScreeningDataset(**vignette_tables()), load_params())


@pytest.fixture(scope="module")
def reference_result() -> pd.DataFrame:
    return reference_verdicts(vignette_tables(), load_params().as_dict())


def expected_row(vignette: Vignette) -> dict[str, str]:
    return {"verdict": vignette.verdict, "failed": vignette.failed, "unknown": vignette.unknown,
            "waived": vignette.waived}


def got_row(verdicts: pd.DataFrame, patient_id: str) -> dict[str, str]:
    row = verdicts.set_index("patient_id").loc[patient_id]
    return {k: str(row[k]) for k in ("verdict", "failed", "unknown", "waived")}


def test_a_dozen_vignettes_with_every_verdict() -> None:
    assert len(VIGNETTES) >= 12
    assert {v.verdict for v in VIGNETTES} == {"eligible", "pending", "ineligible"}


@pytest.mark.parametrize("index, vignette", list(enumerate(VIGNETTES, start=1)), ids=[v.name for v in VIGNETTES])
def test_engine_verdict(index: int, vignette: Vignette, engine_result: ScreeningResult) -> None:
    assert got_row(engine_result.verdicts, f"V{index:02d}") == expected_row(vignette), vignette.story


@pytest.mark.parametrize("index, vignette", list(enumerate(VIGNETTES, start=1)), ids=[v.name for v in VIGNETTES])
def test_reference_verdict(index: int, vignette: Vignette, reference_result: pd.DataFrame) -> None:
    assert got_row(reference_result, f"V{index:02d}") == expected_row(vignette), vignette.story


@pytest.mark.parametrize("index, vignette", [(i, v) for i, v in enumerate(VIGNETTES, start=1) if v.missing],
                         ids=[v.name for v in VIGNETTES if v.missing])
def test_engine_worklist_names_the_missing_fields(index: int, vignette: Vignette,
                                                  engine_result: ScreeningResult) -> None:
    outcomes = engine_result.outcomes.set_index(["patient_id", "criterion_id"])
    for criterion, fields in vignette.missing.items():
        missing = str(outcomes.loc[(f"V{index:02d}", criterion), "missing"])
        for name in fields:
            assert name in missing, f"{criterion}: {name!r} not in {missing!r}"
