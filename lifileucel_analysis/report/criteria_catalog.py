"""The criteria catalog as data: every criterion's ID, kind, record text, label, the fields it
reads and the limits it applies (value and source), for one criteria version.

Peers keep eligibility criteria in exchangeable forms (OHDSI Circe JSON, MatchMiner CTML,
CQL, FHIR); ours are Python rules plus YAML limits. :func:`criteria_catalog` states them as
plain JSON-ready data, described by ``docs/criteria-catalog.schema.json``, so that nothing
outside the package has to read Python to know which rules and limits decided a verdict.
The same catalog feeds the SDTM trial design domain TI (:mod:`.sdtm`).

The engine's criterion objects are read in one place, :func:`criterion_entry`; the criteria
version in one other, :func:`criteria_version`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract.fingerprints import sha256_file
from ..contract.parameter_files import read_yaml_mapping
from ..engine.catalog import CATALOG
from ..engine.criterion import Criterion
from ..engine.evidence import format_scalar
from ..engine.outcome import Outcome
from ..engine.parameters import CriteriaParams, load_params, parameter_sources
from ..paths import CRITERIA_PARAMS, CRITERIA_PARAMS_NAME

CATALOG_FORMAT = "1"
"""Version of the catalog's JSON layout (``docs/criteria-catalog.schema.json``)."""
REGISTRY_ID = "NCT05398640"
DEFAULT_CRITERIA_VERSION = "1"
VERDICT_RULE = ("ineligible if any criterion is fail; otherwise pending if any is unknown; otherwise eligible "
                "(waived and not_applicable never block)")



def criteria_version(criteria: str | Path | None = None) -> str:
    """Return the label of the criteria version in force (SDTM ``TIVERS``, the catalog's version).

    Parameters
    ----------
    criteria : str or Path, optional
        The criteria parameter file; ``None`` for the package defaults.

    Returns
    -------
    str
        The file's top-level ``version`` when it has one, else :data:`DEFAULT_CRITERIA_VERSION`.
    """
    data = read_yaml_mapping(Path(criteria) if criteria else CRITERIA_PARAMS)
    version = data.get("version")
    return DEFAULT_CRITERIA_VERSION if version in (None, "") else str(version)


def limit_sources(criteria: str | Path | None = None) -> dict[str, str]:
    """Return the source note of every parameter: the override file's, else the default's.

    A key the override file sets as ``{value, source}`` takes that source; a bare value is
    sourced to the file by name.
    """
    sources = parameter_sources()
    if criteria:
        for key, entry in read_yaml_mapping(Path(criteria)).items():
            if key in sources:
                given = entry.get("source") if isinstance(entry, Mapping) else None
                sources[key] = str(given) if given else f"set in {Path(criteria).name}"
    return sources


def criterion_entry(criterion: Criterion, params: CriteriaParams, sources: Mapping[str, str]) -> dict[str, Any]:
    """Return the catalog entry of one criterion: the one reader of the engine's criterion objects.

    Parameters
    ----------
    criterion : Criterion
        A criterion of :data:`..engine.catalog.CATALOG`.
    params : CriteriaParams
        The limits in force.
    sources : mapping of str to str
        The source note of each parameter (:func:`limit_sources`).

    Returns
    -------
    dict
        ``id``, ``kind``, ``record_text``, ``label``, ``rule`` (with every limit), ``reads`` (``table.column`` fields)
        and ``limits`` (``name``, ``value``, ``source``).
    """
    values = params.as_dict()
    return {
        "id": criterion.id,
        "kind": criterion.kind,
        "record_text": criterion.record_text,
        "label": criterion.label(params),
        "rule": criterion.rule(params),
        "reads": list(criterion.reads),
        "limits": [{"name": name, "value": values[name], "source": sources.get(name, "")}
                   for name in criterion.limits],
    }


def criteria_catalog(criteria: str | Path | None = None) -> dict[str, Any]:
    """Return the criteria catalog of a criteria version as JSON-ready data.

    Parameters
    ----------
    criteria : str or Path, optional
        A criteria parameter file overriding the package defaults (as ``screen --params``).

    Returns
    -------
    dict
        ``catalog_format``, ``registry_id``, ``criteria_version``, ``parameters_file``,
        ``outcomes``, ``verdict_rule`` and ``criteria`` (one :func:`criterion_entry` each,
        in catalog order).

    Raises
    ------
    ParamsError
        When the parameter file cannot be used.
    """
    params = load_params(criteria)
    sources = limit_sources(criteria)
    return {
        "catalog_format": CATALOG_FORMAT,
        "registry_id": REGISTRY_ID,
        "criteria_version": criteria_version(criteria),
        "parameters_file": Path(criteria).name if criteria else CRITERIA_PARAMS_NAME,
        "outcomes": [outcome.label for outcome in Outcome],
        "verdict_rule": VERDICT_RULE,
        "criteria": [criterion_entry(criterion, params, sources) for criterion in CATALOG],
    }


def catalog_json(catalog: Mapping[str, Any]) -> str:
    """Return the catalog as JSON text: two-space indent, keys in catalog order, final newline."""
    return json.dumps(catalog, indent=2, ensure_ascii=False) + "\n"


def write_catalog(catalog: Mapping[str, Any], path: str | Path) -> Path:
    """Write the catalog's JSON (UTF-8) atomically; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".catalog-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(catalog_json(catalog))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def params_sha256(params: CriteriaParams) -> str:
    """SHA-256 of the parameters' values (canonical JSON), so equal limits give equal hashes."""
    text = json.dumps(params.as_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def criteria_record(params: CriteriaParams, criteria: str | Path | None = None,
                    drugs: str | Path | None = None) -> pd.DataFrame:
    """The criteria a screen applied, as ``item``, ``value`` rows (``screen``'s ``criteria_used.csv``).

    ``criteria_version`` (SDTM ``TIVERS``, :func:`criteria_version`), ``parameters_file`` (its name) and
    ``params_sha256`` (:func:`params_sha256` of the limits): an SDTM export of the folder builds TI from
    the criteria it is given, and refuses criteria other than these (review 28: a what-if screen
    exported with the default criteria gave a TI whose limits contradicted IE and DM). ``criteria_off``:
    the criteria switched off, joined by ";" ("" when none; audit 39C: a file switching E6 off without a
    version label recorded the defaults' version and hash, so an export with the defaults passed and TI
    listed E6 as applied). With a site drug dictionary (``--drugs``) also :data:`DRUG_ITEMS`: its file
    name and SHA-256, which decided I2, I3 and E1 beside the package's (audit 39C).
    """
    rows = [("criteria_version", criteria_version(criteria)),
            ("parameters_file", Path(criteria).name if criteria else CRITERIA_PARAMS_NAME),
            ("params_sha256", params_sha256(params)), ("criteria_off", ";".join(params.criteria_off))]
    if drugs not in (None, ""):
        rows += list(zip(DRUG_ITEMS, (Path(drugs).name, sha256_file(Path(drugs)))))
    return pd.DataFrame(rows, columns=["item", "value"])


DRUG_ITEMS = ("drugs_file", "drugs_sha256")
"""The items :func:`criteria_record` adds for a site drug dictionary."""
CHECKED_ITEMS = ("criteria_version", "parameters_file", "params_sha256")
"""The items every ``criteria_used.csv`` holds with a value; ``criteria_off`` came in session 39 (an
earlier folder has none, and its switched-off criteria cannot be checked)."""


def value_sources(params: CriteriaParams, criteria: str | Path | None = None) -> dict[str, str]:
    """Where each limit of ``params`` comes from, never the default's source beside another value.

    Parameters
    ----------
    params : CriteriaParams
        The limits shown.
    criteria : str or Path, optional
        The criteria file they were read from (its own sources: :func:`limit_sources`).

    Returns
    -------
    dict
        ``{parameter: source}``. A value other than the default whose source is the default's (none
        given, or the default's copied) says so: "for the default 10, not this value: E6, record: ..."
        (audit 41A: a what-if 20 mg/day beside the record's "> 10 mg/day" read as its support).
    """
    defaults, default_sources = load_params().as_dict(), parameter_sources()
    sources = limit_sources(criteria)
    return {k: (f"for the default {value_as_written(defaults.get(k))}, not this value: {sources.get(k, '')}"
                if v != defaults.get(k) and sources.get(k, "") == default_sources.get(k, "") else sources.get(k, ""))
            for k, v in params.as_dict().items()}


def criteria_parameter_table(params: CriteriaParams, criteria: str | Path | None = None) -> pd.DataFrame:
    """Every criteria parameter: ``parameter``, ``value``, ``default``, ``changed``, ``source``.

    Parameters
    ----------
    params : CriteriaParams
        The limits used.
    criteria : str or Path, optional
        The criteria file they were read from: ``source`` is its own where it gives one
        (:func:`value_sources`).

    Returns
    -------
    pandas.DataFrame
        One row per parameter, in the criteria file's order.
    """
    defaults, sources, values = load_params().as_dict(), value_sources(params, criteria), params.as_dict()
    return pd.DataFrame({
        "parameter": list(values), "value": [value_as_written(v) for v in values.values()],
        "default": [value_as_written(defaults.get(k)) for k in values],
        "changed": [format_scalar(True) if values[k] != defaults.get(k) else "" for k in values],
        "source": [sources[k] for k in values],
    })


def value_as_written(value: object) -> str:
    """A limit as a criteria file writes it: ``true``/``false``, ``1.5``, ``10``.

    Parameters
    ----------
    value : object
        A parameter's value.

    Returns
    -------
    str
    """
    # As the value is written in a criteria file (true/false), not as a table's yes/no.
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)
