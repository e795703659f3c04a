"""Criteria parameters: every limit and window of the 19 criteria, read from YAML."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from ..paths import CRITERIA_PARAMS


class ParamsError(ValueError):
    """A parameter file that cannot be used (exit status 2 in the CLI)."""


@dataclass(frozen=True)
class CriteriaParams:
    """The limits the criteria apply; field names are the keys of ``params/criteria.yaml``."""

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


def _read_yaml(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise ParamsError(f"parameter file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"parameter file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ParamsError(f"parameter file {path} must be a mapping of key: value, not {type(data).__name__}")
    return data


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
        isinstance(value, (int, float)) and not isinstance(value, bool)
        and (expected is float or float(value).is_integer())
    )
    if not ok:
        raise ParamsError(
            f"{path}: key {key!r} has value {value!r}; expected {expected.__name__}"
            + (" (true or false)" if expected is bool else "")
        )
    if expected is bool:
        return value
    if value < 0:
        raise ParamsError(f"{path}: key {key!r} has value {value!r}; expected a number >= 0")
    return expected(value)


def parse_params(data: Mapping[str, Any], where: object = "parameters") -> dict[str, Any]:
    """Validate a mapping of parameter entries; return ``{key: typed value}``.

    Raises
    ------
    ParamsError
        On an unknown key (with the list of known keys) or a value of the wrong type.
    """
    unknown = sorted(set(data) - set(FIELD_TYPES))
    if unknown:
        raise ParamsError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; known keys are {', '.join(FIELD_TYPES)}"
        )
    return {key: _check_type(key, _unwrap(key, entry, where), where) for key, entry in data.items()}


def load_params(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> CriteriaParams:
    """Load the criteria parameters.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file whose keys override the defaults of ``params/criteria.yaml``
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
    return CriteriaParams(**values)


def parameter_sources() -> dict[str, str]:
    """Return the one-line source note of every default parameter."""
    data = _read_yaml(CRITERIA_PARAMS)
    return {key: str(entry.get("source", "")) for key, entry in data.items() if isinstance(entry, Mapping)}
