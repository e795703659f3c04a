"""lifileucel_analysis/data/criteria_defaults.yaml: every limit has a source; unknown keys and wrong types are errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from lifileucel_analysis.engine.parameters import CriteriaParams, ParamsError, load_params, parameter_sources
from lifileucel_analysis.paths import CRITERIA_PARAMS


def test_defaults_are_the_spec_defaults() -> None:
    p = load_params()
    # The bracketed defaults of shared/spec/screening-data.md section 2, typed in by hand.
    assert (p.max_ecog, p.min_life_expectancy_months, p.min_lesion_cm, p.min_age_years) == (1, 3, 1.5, 18)
    assert (p.min_prior_lines, p.max_prior_lines, p.adjuvant_recurrence_months) == (1, 4, 6)
    assert (p.min_anc_10e9_per_l, p.min_platelets_10e9_per_l, p.min_hemoglobin_g_per_dl) == (1.0, 100, 9.0)
    assert (p.max_ast_alt_x_uln, p.max_ast_alt_x_uln_liver_metastases) == (3, 5)
    assert (p.max_bilirubin_mg_per_dl, p.max_bilirubin_mg_per_dl_gilbert) == (2.0, 3.0)
    assert p.min_creatinine_clearance_ml_per_min == 40
    assert (p.brain_metastases_stable_days, p.max_steroid_mg_per_day, p.live_vaccine_window_days) == (14, 10, 28)
    assert p.lab_lookback_days == 28
    assert p.require_braf_inhibitor_if_v600 is False


def test_every_parameter_has_a_one_line_source() -> None:
    sources = parameter_sources()
    assert set(sources) == {f.name for f in fields(CriteriaParams) if not f.metadata.get("meta")}
    for key, source in sources.items():
        assert source.strip() and "\n" not in source, key


def test_a_site_file_overrides_some_keys(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("max_ecog: 2\nmin_lesion_cm:\n  value: 2.0\n  source: site protocol\n")
    p = load_params(path)
    assert (p.max_ecog, p.min_lesion_cm, p.min_age_years) == (2, 2.0, 18)


@pytest.mark.parametrize("text, words", [
    ("max_ecgo: 2\n", ["unknown key", "max_ecgo", "max_ecog"]),
    ("max_ecog: two\n", ["max_ecog", "'two'", "expected int"]),
    ("max_ecog: 1.5\n", ["max_ecog", "1.5", "expected int"]),
    ("require_braf_inhibitor_if_v600: 1\n", ["require_braf_inhibitor_if_v600", "true or false"]),
    ("min_lesion_cm: -1\n", ["min_lesion_cm", ">= 0"]),
    ("- max_ecog\n", ["mapping"]),
    ("max_ecog: [1\n", ["not valid YAML"]),
    ("max_ecog:\n  value: 1\n  note: x\n", ["'value' and 'source'"]),
])
def test_bad_parameter_files_are_refused_with_a_clear_message(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    for word in words:
        assert word in str(info.value)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="does not exist"):
        load_params(tmp_path / "nope.yaml")


def test_default_file_is_complete_and_typed() -> None:
    data = yaml.safe_load(CRITERIA_PARAMS.read_text())
    assert set(data) == {f.name for f in fields(CriteriaParams) if not f.metadata.get("meta")}
