"""The verdict rule of spec section 2 as a small table: one patient per row, written from the spec.

"``ineligible`` if any criterion fails; otherwise ``pending`` if any is unknown; otherwise
``eligible``"; ``waived`` and ``not_applicable`` never block. Mutation check 29C: turning the
rule's order round (pending before ineligible) was caught only by the randomised differential
test; these rows catch it, and a waiver on the wrong side of it, by name.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import case_tables, concat_tables

from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.screening import screen

# patient cells changed from the eligible baseline | waivers | verdict | failed | unknown | waived
# ECOG 2 fails I6; a blank HIV serology leaves E8 unknown; sex male makes E11 not_applicable.
VERDICTS: list[tuple[str, dict[str, Any], tuple[str, ...], str, str, str, str]] = [
    ("baseline", {}, (), "eligible", "", "", ""),
    ("one fail", {"ecog": 2}, (), "ineligible", "I6", "", ""),
    ("one unknown", {"hiv_serology": None}, (), "pending", "", "E8", ""),
    ("a fail beside an unknown", {"ecog": 2, "hiv_serology": None}, (), "ineligible", "I6", "E8", ""),
    ("a waived fail", {"ecog": 2}, ("I6",), "eligible", "", "", "I6"),
    ("a waived fail beside an unknown", {"ecog": 2, "hiv_serology": None}, ("I6",), "pending", "", "E8", "I6"),
    ("a waived unknown beside a fail", {"ecog": 2, "hiv_serology": None}, ("E8",), "ineligible", "I6", "", "E8"),
    ("not applicable", {"sex": "male", "pregnant": None, "breastfeeding": None}, (), "eligible", "", "", ""),
    ("two fails, listed in section 2's order", {"ecog": 2, "melanoma_subtype": "uveal"}, (), "ineligible",
     "I6;E3", "", ""),
]


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, str]]:
    """The verdicts of one dataset holding every row of :data:`VERDICTS` (patient ``V0``, ``V1``, ...)."""
    parts = [case_tables(patient=cells, overrides=waived, patient_id=f"V{k}")
             for k, (_, cells, waived, *_) in enumerate(VERDICTS)]
    table = screen(ScreeningDataset(**concat_tables(parts))).verdicts.fillna("")
    return {str(row["patient_id"]): {column: str(row[column]) for column in ("verdict", "failed", "unknown", "waived")}
            for _, row in table.iterrows()}


@pytest.mark.parametrize(("k", "case"), list(enumerate(VERDICTS)), ids=[case[0] for case in VERDICTS])
def test_the_verdict_follows_the_spec_rule(verdicts: dict[str, dict[str, str]], k: int,
                                           case: tuple[str, dict[str, Any], tuple[str, ...], str, str, str, str]
                                           ) -> None:
    _, _, _, verdict, failed, unknown, waived = case
    assert verdicts[f"V{k}"] == {"verdict": verdict, "failed": failed, "unknown": unknown, "waived": waived}
