"""Criteria parameters: every limit and window of the 19 criteria, their ranges and cross-key rules.

The defaults ship inside the package (``lifileucel_analysis/data/criteria_defaults.yaml``)
so an installed wheel screens without the project checkout; a criteria file given by the
user overrides some or all keys. Files are read by the contract's strict YAML reader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import math

from ..contract.data_cut import iso_day
from ..contract.messages import noun_for
from ..contract.parameter_files import ParamsError, quoted, read_yaml_mapping
from ..contract.schema import CRITERION_IDS
from ..paths import CRITERIA_PARAMS

__all__ = ["META_KEYS", "RANGES", "CriteriaParams", "ParamsError", "load_params", "parameter_sources", "parse_meta",
           "parse_params"]


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
    # What a criteria file says about itself (META_KEYS); not limits, so not in as_dict().
    version: str = field(default="default", metadata={"meta": True})
    effective_date: str = field(default="", metadata={"meta": True})
    changes: tuple[str, ...] = field(default=(), metadata={"meta": True})
    criteria_off: tuple[str, ...] = field(default=(), metadata={"meta": True})

    def as_dict(self) -> dict[str, Any]:
        """Return the limits as a plain ``{key: value}`` mapping (without the version keys)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("meta")}


FIELD_TYPES: dict[str, type] = {
    f.name: {"int": int, "float": float, "bool": bool}[str(f.type)] for f in fields(CriteriaParams)
    if not f.metadata.get("meta")
}
META_KEYS = ("version", "effective_date", "changes", "criteria_off")
"""Top-level keys of a criteria file that describe it rather than set a limit: a version
label, the date it takes effect (``YYYY-MM-DD``), what changed (a sentence or a list), and
criteria switched off (a list of IDs: their outcome becomes ``not_applicable``)."""


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
            f"{where}: unknown {noun_for(len(unknown), 'key')} {', '.join(map(quoted, unknown[:5]))}; "
            f"known keys are {', '.join(FIELD_TYPES)} "
            f"(and, at the top of a criteria file, {', '.join(META_KEYS)})"
        )
    return {key: _check_type(key, _unwrap(key, entry, where), where) for key, entry in data.items()}


def _text(value: Any, key: str, where: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise ParamsError(f"{where}: key {key!r} has value {quoted(value)}; expected a non-empty text")
    return value.strip()


def parse_meta(data: Mapping[str, Any], where: object) -> dict[str, Any]:
    """Validate the version keys (:data:`META_KEYS`) of a criteria file; return them typed.

    Raises
    ------
    ParamsError
        On a blank version, a date that is not ``YYYY-MM-DD``, or an unknown criterion ID.
    """
    meta: dict[str, Any] = {}
    if "version" in data:
        meta["version"] = _text(data["version"], "version", where)
    if "effective_date" in data:
        text = _text(data["effective_date"], "effective_date", where)
        try:
            meta["effective_date"] = iso_day(text).isoformat()
        except ValueError:
            raise ParamsError(f"{where}: key 'effective_date' has value {quoted(text)}; expected YYYY-MM-DD") from None
    if "changes" in data:
        items = data["changes"] if isinstance(data["changes"], list) else [data["changes"]]
        meta["changes"] = tuple(_text(item, "changes", where) for item in items)
    if "criteria_off" in data:
        off = data["criteria_off"]
        if not isinstance(off, list) or any(c not in CRITERION_IDS for c in off):
            raise ParamsError(f"{where}: key 'criteria_off' has value {quoted(off)}; expected a list of criterion "
                              f"IDs ({', '.join(CRITERION_IDS)})")
        meta["criteria_off"] = tuple(c for c in CRITERION_IDS if c in off)  # protocol order, once each
    return meta


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
    values = parse_params(read_yaml_mapping(CRITERIA_PARAMS), CRITERIA_PARAMS)
    missing = sorted(set(FIELD_TYPES) - set(values))
    if missing:
        raise ParamsError(f"{CRITERIA_PARAMS}: missing {noun_for(len(missing), 'key')} {', '.join(missing)}")
    defaults = dict(values)
    meta: dict[str, Any] = {}
    if path not in (None, ""):
        data = dict(read_yaml_mapping(Path(path)))
        meta = parse_meta(data, path)
        values.update(parse_params({k: v for k, v in data.items() if k not in META_KEYS}, path))
    values.update(parse_params(overrides or {}, "overrides"))
    _check_order(values, path if path not in (None, "") else "parameters")
    if "version" not in meta:
        # unlabelled: the defaults' label only while the limits are the defaults' (else "": custom)
        meta["version"] = "default" if values == defaults and not meta.get("criteria_off") else ""
    return CriteriaParams(**values, **meta)


def parameter_sources() -> dict[str, str]:
    """Return the one-line source note of every default parameter."""
    data = read_yaml_mapping(CRITERIA_PARAMS)
    return {key: str(entry.get("source", "")) for key, entry in data.items() if isinstance(entry, Mapping)}
