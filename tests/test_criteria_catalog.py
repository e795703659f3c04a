"""The criteria catalog as JSON: valid against its schema, complete, and right about what each
criterion reads and which limits it applies.

"Right" is checked from the outside, by perturbation, not by re-reading the catalog's
source: blanking a dataset field (shuffling it, for the structural fields that may not be
blank) may change the outcomes of a criterion only if that
criterion says it reads the field, and changing a limit may change a criterion's outcomes
only if that criterion lists the limit.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from lifileucel_analysis.cli import main
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.contract.schema import CRITERION_IDS, TABLES, empty_frame
from lifileucel_analysis.engine.parameters import FIELD_TYPES, CriteriaParams, ParamsError, load_params
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.paths import DEMO_DATASET, PROJECT_ROOT
from lifileucel_analysis.report.criteria_catalog import criteria_version

SCHEMA = PROJECT_ROOT / "docs" / "criteria-catalog.schema.json"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The catalog the command writes with ``--out``."""
    path = tmp_path_factory.mktemp("catalog") / "catalog.json"
    assert main(["criteria", "--format", "json", "--out", str(path)]) == 0
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_without_waivers() -> ScreeningDataset:
    """The demo cohort with no overrides: outcomes are the rules' own."""
    return dataclasses.replace(load_dataset(DEMO_DATASET), overrides=empty_frame("overrides"))


def outcome_matrix(dataset: ScreeningDataset, params: CriteriaParams | None = None) -> pd.DataFrame:
    """patients x criteria outcomes of a screening."""
    outcomes = screen(dataset, params).outcomes
    return outcomes.pivot(index="patient_id", columns="criterion_id", values="outcome").astype(str)


def changed_criteria(before: pd.DataFrame, after: pd.DataFrame) -> set[str]:
    return {str(c) for c in before.columns if (before[c] != after[c]).any()}


def test_catalog_is_valid_against_its_schema(catalog: dict) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(catalog)


def test_schema_refuses_a_catalog_without_fields_or_with_a_stray_key(catalog: dict) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    broken = json.loads(json.dumps(catalog))
    del broken["criteria"][0]["reads"]
    assert not validator.is_valid(broken)
    stray = json.loads(json.dumps(catalog))
    stray["criteria"][3]["limits"].append({"name": "min_lesion_cm", "value": "1.5", "source": "x"})
    assert not validator.is_valid(stray)


def test_stdout_and_out_file_are_the_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["criteria", "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert main(["criteria", "--out", str(tmp_path / "c.json")]) == 0
    assert (tmp_path / "c.json").read_bytes() == printed.encode("utf-8")
    assert printed.endswith("}\n") and str(PROJECT_ROOT) not in printed


def test_catalog_lists_every_criterion_once_in_order_with_kind(catalog: dict) -> None:
    ids = [c["id"] for c in catalog["criteria"]]
    assert ids == list(CRITERION_IDS)
    assert all(c["kind"] == ("inclusion" if c["id"].startswith("I") else "exclusion") for c in catalog["criteria"])
    assert catalog["criteria_version"] == "1" and catalog["registry_id"] == "NCT05398640"


def test_every_limit_is_in_the_catalog_with_the_value_in_force_and_a_source(catalog: dict) -> None:
    params = load_params().as_dict()
    listed = {limit["name"]: limit for c in catalog["criteria"] for limit in c["limits"]}
    assert set(listed) == set(FIELD_TYPES), "every criteria parameter belongs to some criterion"
    for name, limit in listed.items():
        assert limit["value"] == params[name] and type(limit["value"]) is type(params[name]), name
        assert limit["source"], name


def test_a_blanked_field_changes_only_criteria_that_say_they_read_it(catalog: dict,
                                                                    demo_without_waivers: ScreeningDataset) -> None:
    reads = {c["id"]: set(c["reads"]) for c in catalog["criteria"]}
    before = outcome_matrix(demo_without_waivers)
    seen: set[str] = set()
    for table in TABLES.values():
        if table.name == "overrides":
            continue  # waivers apply to any criterion after the rules: no rule reads them
        for column in table.columns:
            if column.name == "patient_id":
                continue
            frame = demo_without_waivers.table(table.name).copy()
            values = frame[column.name]
            if column.required:  # a blank breaks the contract: shuffle the column's values instead
                order = np.random.default_rng(15).permutation(len(frame))
                frame[column.name] = values.iloc[order].set_axis(frame.index)
            else:
                frame[column.name] = values.where(pd.Series(False, index=frame.index))  # all blank
            after = outcome_matrix(dataclasses.replace(demo_without_waivers, **{table.name: frame}))
            field = f"{table.name}.{column.name}"
            changed = changed_criteria(before, after)
            wrong = sorted(cid for cid in changed if field not in reads[cid])
            assert not wrong, f"blanking {field} changes {wrong}, whose catalog entries do not list it"
            seen |= {field} if changed else set()
    # The perturbation has power: most fields the catalog lists do move some criterion on the demo.
    listed = set().union(*reads.values())
    assert len(seen) >= 0.8 * len(listed), sorted(listed - seen)


def perturbed(value: int | float | bool, factor: float) -> int | float | bool:
    if isinstance(value, bool):
        return not value
    changed = value * factor + (1 if factor > 1 else 0)
    return type(value)(round(changed)) if isinstance(value, int) else changed


@pytest.mark.parametrize("factor", [3.0, 1 / 3])
def test_a_changed_limit_changes_only_criteria_that_list_it(catalog: dict, demo_without_waivers: ScreeningDataset,
                                                           factor: float) -> None:
    uses = {c["id"]: {limit["name"] for limit in c["limits"]} for c in catalog["criteria"]}
    defaults = load_params()
    before = outcome_matrix(demo_without_waivers, defaults)
    moved = set()
    for name, value in defaults.as_dict().items():
        try:
            params = load_params(overrides={name: perturbed(value, factor)})
        except ParamsError:  # outside the key's range or against a min <= max rule: not a usable limit
            continue
        changed = changed_criteria(before, outcome_matrix(demo_without_waivers, params))
        wrong = sorted(cid for cid in changed if name not in uses[cid])
        assert not wrong, f"changing {name} changes {wrong}, whose catalog entries do not list it"
        moved |= {name} if changed else set()
    assert len(moved) >= 0.7 * len(FIELD_TYPES), sorted(set(FIELD_TYPES) - moved)


def test_override_file_values_and_sources_reach_the_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) \
        -> None:
    site = tmp_path / "site.yaml"
    site.write_text("max_ecog:\n  value: 2\n  source: 'site protocol amendment 3'\nmin_lesion_cm: 2.0\n",
                    encoding="utf-8")
    assert main(["criteria", "--criteria", str(site)]) == 0
    catalog = json.loads(capsys.readouterr().out)
    limits = {limit["name"]: limit for c in catalog["criteria"] for limit in c["limits"]}
    assert limits["max_ecog"] == {"name": "max_ecog", "value": 2, "source": "site protocol amendment 3"}
    assert limits["min_lesion_cm"]["value"] == 2.0 and limits["min_lesion_cm"]["source"] == "set in site.yaml"
    assert limits["min_age_years"]["value"] == 18 and "I5" in limits["min_age_years"]["source"]
    assert catalog["parameters_file"] == "site.yaml"


def test_bad_criteria_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_ecog: two\n", encoding="utf-8")
    assert main(["criteria", "--criteria", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "max_ecog" in captured.err and captured.out == ""


def test_criteria_version_is_the_files_version_else_1(tmp_path: Path) -> None:
    assert criteria_version() == "1"
    versioned = tmp_path / "v.yaml"
    versioned.write_text("version: '2.1'\nmax_ecog: 1\n", encoding="utf-8")
    assert criteria_version(versioned) == "2.1"
    plain = tmp_path / "plain.yaml"
    plain.write_text("max_ecog: 1\n", encoding="utf-8")
    assert criteria_version(plain) == "1"
