"""Criteria parameters: every limit and window of the 19 criteria, their ranges and cross-key rules.

The defaults ship inside the package (``lifileucel_analysis/data/criteria_defaults.yaml``)
so an installed wheel screens without the project checkout; a criteria file given by the
user overrides some or all keys. Files are read by the contract's strict YAML reader.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import math

from ..contract.parameter_files import ParamsError, quoted, read_yaml_mapping
from ..paths import CRITERIA_PARAMS

__all__ = ["RANGES", "CriteriaParams", "ParamsError", "load_params", "parameter_sources", "parse_params"]


@dataclass(frozen=True)
class CriteriaParams:
    """The limits the criteria apply; field names are the keys of the criteria file."""

    min_age_years: int
    max_ecog: int
    min_life_expectancy_months: float
    min_lesion_cm: float
    min_prior_lines: int
    max_prior_lines: int
    adjuvant_recurrence_months: int
    require_braf_inhibitor_if_v600: bool
    lab_lookback_days: int
    min_anc_10e9_per_l: float
    min_platelets_10e9_per_l: float
    min_hemoglobin_g_per_dl: float
    max_ast_alt_x_uln: float
    max_ast_alt_x_uln_liver_metastases: float
    max_bilirubin_mg_per_dl: float
    max_bilirubin_mg_per_dl_gilbert: float
    min_creatinine_clearance_ml_per_min: float
    brain_metastases_stable_days: int
    max_steroid_mg_per_day: float
    live_vaccine_window_days: int

    def as_dict(self) -> dict[str, Any]:
        """Return the parameters as a plain ``{key: value}`` mapping."""
        return dataclasses.asdict(self)


FIELD_TYPES: dict[str, type] = {
    f.name: {"int": int, "float": float, "bool": bool}[str(f.type)] for f in fields(CriteriaParams)
}


RANGES: dict[str, tuple[float, float]] = {
    "min_age_years": (0, 120),
    "max_ecog": (0, 5),
    "min_life_expectancy_months": (0, 120),
    "min_lesion_cm": (0, 100),
    "min_prior_lines": (0, 20),
    "max_prior_lines": (0, 20),
    "adjuvant_recurrence_months": (0, 120),
    "lab_lookback_days": (0, 365),
    "min_anc_10e9_per_l": (0, 100),
    "min_platelets_10e9_per_l": (0, 2000),
    "min_hemoglobin_g_per_dl": (0, 25),
    "max_ast_alt_x_uln": (0, 100),
    "max_ast_alt_x_uln_liver_metastases": (0, 100),
    "max_bilirubin_mg_per_dl": (0, 50),
    "max_bilirubin_mg_per_dl_gilbert": (0, 50),
    "min_creatinine_clearance_ml_per_min": (0, 500),
    "brain_metastases_stable_days": (0, 365),
    "max_steroid_mg_per_day": (0, 1000),
    "live_vaccine_window_days": (0, 365),
}
"""Plausible range of every numeric key (inclusive): a value outside is a typo, not a protocol."""

ORDERED_PAIRS: tuple[tuple[str, str], ...] = (
    ("min_prior_lines", "max_prior_lines"),
    ("max_ast_alt_x_uln", "max_ast_alt_x_uln_liver_metastases"),
    ("max_bilirubin_mg_per_dl", "max_bilirubin_mg_per_dl_gilbert"),
)
"""Cross-key rules: the first key's value must not exceed the second's."""


def _read_yaml(path: Path) -> Mapping[str, Any]:
    return read_yaml_mapping(path)


def _unwrap(key: str, entry: Any, path: object) -> Any:
    """Accept both ``key: value`` and ``key: {value: ..., source: ...}``."""
    if isinstance(entry, Mapping):
        extra = set(entry) - {"value", "source"}
        if "value" not in entry or extra:
            raise ParamsError(f"{path}: key {key!r} must be a value or a mapping with 'value' and 'source'")
        return entry["value"]
    return entry


def _check_type(key: str, value: Any, path: object) -> Any:
    expected = FIELD_TYPES[key]
    ok = isinstance(value, bool) if expected is bool else (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        and (expected is float or float(value).is_integer())
    )
    if not ok:
        raise ParamsError(
            f"{path}: key {key!r} has value {quoted(value)}; expected {expected.__name__}"
            + (" (true or false)" if expected is bool else " (a finite number)" if expected is float else "")
        )
    if expected is bool:
        return value
    if value < 0:
        raise ParamsError(f"{path}: key {key!r} has value {value!r}; expected a number >= 0")
    low, high = RANGES[key]
    if not low <= value <= high:
        raise ParamsError(f"{path}: key {key!r} has value {value!r}; expected a number from {low:g} to {high:g}")
    return expected(value)


def _check_order(values: Mapping[str, Any], where: object) -> None:
    for low, high in ORDERED_PAIRS:
        if values[low] > values[high]:
            raise ParamsError(f"{where}: {low} ({values[low]:g}) is greater than {high} ({values[high]:g}); "
                              f"{low} must be <= {high}")


def parse_params(data: Mapping[str, Any], where: object = "parameters") -> dict[str, Any]:
    """Validate a mapping of parameter entries; return ``{key: typed value}``.

    Raises
    ------
    ParamsError
        On an unknown key (with the list of known keys) or a value of the wrong type.
    """
    unknown = sorted(map(str, set(data) - set(FIELD_TYPES)))
    if unknown:
        raise ParamsError(
            f"{where}: unknown key(s) {', '.join(map(quoted, unknown[:5]))}; known keys are {', '.join(FIELD_TYPES)}"
        )
    return {key: _check_type(key, _unwrap(key, entry, where), where) for key, entry in data.items()}


def load_params(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> CriteriaParams:
    """Load the criteria parameters.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file whose keys override the package defaults
        (all keys or some). ``None`` or ``""`` uses the defaults alone.
    overrides : mapping, optional
        Further ``{key: value}`` overrides, applied last (used by tests).

    Returns
    -------
    CriteriaParams
    """
    values = parse_params(_read_yaml(CRITERIA_PARAMS), CRITERIA_PARAMS)
    missing = sorted(set(FIELD_TYPES) - set(values))
    if missing:
        raise ParamsError(f"{CRITERIA_PARAMS}: missing key(s) {', '.join(missing)}")
    if path not in (None, ""):
        values.update(parse_params(_read_yaml(Path(path)), path))
    values.update(parse_params(overrides or {}, "overrides"))
    _check_order(values, path if path not in (None, "") else "parameters")
    return CriteriaParams(**values)


def parameter_sources() -> dict[str, str]:
    """Return the one-line source note of every default parameter."""
    data = _read_yaml(CRITERIA_PARAMS)
    return {key: str(entry.get("source", "")) for key, entry in data.items() if isinstance(entry, Mapping)}
