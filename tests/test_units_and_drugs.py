"""Lab unit conversion and the drug dictionary, checked against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from lifileucel_analysis.engine.drug_dictionary import classify_names
from lifileucel_analysis.engine.facts import drug_lookup, regimen_classes
from lifileucel_analysis.contract.schema import CANONICAL_UNIT, UNIT_FACTORS


@pytest.mark.parametrize("test, value, unit, canonical", [
    ("anc", 1500, "/uL", 1.5),
    ("anc", 1.5, "10^9/L", 1.5),
    ("platelets", 100000, "/uL", 100.0),
    ("hemoglobin", 90, "g/L", 9.0),
    ("hemoglobin", 9.0, "g/dL", 9.0),
    ("total_bilirubin", 34.2, "umol/L", 2.0),
    ("total_bilirubin", 51.3, "umol/L", 3.0),
    ("creatinine_clearance", 40, "mL/min", 40.0),
])
def test_unit_conversion(test: str, value: float, unit: str, canonical: float) -> None:
    assert value * UNIT_FACTORS[test][unit] == pytest.approx(canonical)


def test_every_test_has_its_canonical_unit_with_factor_one() -> None:
    for test, unit in CANONICAL_UNIT.items():
        assert UNIT_FACTORS[test][unit] == 1.0


@pytest.mark.parametrize("agent, drug_class", [
    ("pembrolizumab", "anti-pd-1"), ("nivolumab", "anti-pd-1"), ("cemiplimab", "anti-pd-1"),
    ("dostarlimab", "anti-pd-1"), ("toripalimab", "anti-pd-1"), ("tislelizumab", "anti-pd-1"),
    ("retifanlimab", "anti-pd-1"), ("atezolizumab", "anti-pd-l1"), ("durvalumab", "anti-pd-l1"),
    ("avelumab", "anti-pd-l1"), ("ipilimumab", "anti-ctla-4"), ("relatlimab", "anti-lag-3"),
    ("dabrafenib", "braf-inhibitor"), ("trametinib", "mek-inhibitor"), ("dacarbazine", "chemotherapy"),
    ("aldesleukin", "cytokine"), ("talimogene-laherparepvec", "oncolytic-virus"),
    ("lifileucel", "adoptive-cell-transfer"), ("tisagenlecleucel", "adoptive-cell-transfer"),
    ("afamitresgene-autoleucel", "adoptive-cell-transfer"),
])
def test_drug_dictionary(agent: str, drug_class: str) -> None:
    assert classify_names(pd.Series([agent]), drug_lookup()).tolist() == [drug_class]


def test_regimen_classes_are_tri_state() -> None:
    agents = pd.Series(["nivolumab+ipilimumab", "dabrafenib+trametinib", "pembrolizumabb", None,
                        "lifileucel", "pembrolizumabb+nivolumab"], dtype="str")
    table = regimen_classes(agents)
    assert table["pd1"].tolist() == [True, False, pd.NA, pd.NA, False, True]
    assert table["act"].tolist() == [False, False, pd.NA, pd.NA, True, pd.NA]
    assert table["braf"].tolist() == [False, True, pd.NA, pd.NA, False, pd.NA]
    assert table["unknown_agents"].tolist() == ["", "", "pembrolizumabb", "", "", "pembrolizumabb"]
    assert not table["missing_agent"].any()


def test_an_empty_agent_name_leaves_the_classes_it_could_have_open() -> None:
    agents = pd.Series(["pembrolizumab+", "+", "nivolumab++ipilimumab", " + lifileucel", "nivolumab"], dtype="str")
    table = regimen_classes(agents)
    assert table["missing_agent"].tolist() == [True, True, True, True, False]
    assert table["pd1"].tolist() == [True, pd.NA, True, pd.NA, True]  # a known anti-PD-1 decides pd1 anyway
    assert table["act"].tolist() == [pd.NA, pd.NA, pd.NA, True, False]
    assert table["unknown_agents"].tolist() == ["", "", "", "", ""]
