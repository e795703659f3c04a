"""The data contract: tables, columns, codes, units and sites of a screening dataset.

This module is the machine-readable data dictionary of ``shared/spec/screening-data.md``
section 1. The loader validates against it, the engine reads typed frames shaped by it,
and ``docs/data-dictionary.md`` is checked against it by the tests.

Typed frames (what :func:`coerce` and the loader produce, and what the engine reads):

==========  ===================================================  =====================
kind        dtype                                                blank cell becomes
==========  ===================================================  =====================
``id``      pandas ``str``                                       (never blank)
``text``    pandas ``str``                                       ``NaN``
``code``    ``CategoricalDtype(codes)``                          ``NaN``
``yesno``   nullable ``boolean``                                 ``<NA>``
``int``     nullable ``Int64``                                   ``<NA>``
``number``  ``float64``                                          ``NaN``
``date``    ``datetime64[s]``                                    ``NaT``
==========  ===================================================  =====================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

ColumnKind = Literal["id", "text", "code", "yesno", "int", "number", "date"]

DATE_DTYPE = "datetime64[s]"
PATIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
"""Pseudonymous IDs: 1-40 characters, letters, digits, ``_``, ``.``, ``-``; no spaces
or markup, so an ID can never carry a name, a formula or a script."""


@dataclass(frozen=True)
class Site:
    """A treating site of the program, as the registry record lists it."""

    site_id: str
    name: str
    city: str
    state: str
    zip_code: str
    status: str = "Available"


SITES: dict[str, Site] = {
    s.site_id: s
    for s in (
        Site("honorhealth", "HonorHealth Research and Innovation Institute", "Scottsdale", "AZ", "85258"),
        Site("orlando-health", "Orlando Health Cancer Institute", "Orlando", "FL", "32806"),
        Site("uofl-brown", "University of Louisville - Brown Cancer Center", "Louisville", "KY", "40202"),
        Site(
            "wustl-siteman",
            "Washington University School of Medicine - Siteman Cancer Center",
            "Saint Louis",
            "MO",
            "63110",
        ),
        Site("mskcc", "Memorial Sloan Kettering Cancer Center", "New York", "NY", "10065"),
        Site("ut-medical-center", "The University of Tennessee Medical Center", "Knoxville", "TN", "37920"),
    )
}
SITE_IDS: tuple[str, ...] = tuple(SITES)
ALL_SITES = "all"
"""The site value of a report or summary that covers the whole program (every site)."""


def screened_sites(present: Iterable[str]) -> list[str]:
    """The sites among ``present`` (site IDs of screened patients), in the record's order: the rows of
    every per-site table and file (one worklist each, the site x criterion rates, the waiver rates)."""
    seen = set(present)
    return [site for site in SITE_IDS if site in seen]

CRITERION_IDS: tuple[str, ...] = (
    "I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8",
    "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9", "E10", "E11",
)  # fmt: skip

LAB_TESTS: tuple[str, ...] = (
    "anc", "platelets", "hemoglobin", "ast", "alt", "total_bilirubin", "creatinine_clearance",
)  # fmt: skip

CANONICAL_UNIT: dict[str, str] = {
    "anc": "10^9/L",
    "platelets": "10^9/L",
    "hemoglobin": "g/dL",
    "ast": "U/L",
    "alt": "U/L",
    "total_bilirubin": "mg/dL",
    "creatinine_clearance": "mL/min",
}

# value_in_canonical_unit = value * factor. Bilirubin: 1 mg/dL = 17.1 umol/L.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "anc": {"10^9/L": 1.0, "/uL": 1e-3},
    "platelets": {"10^9/L": 1.0, "/uL": 1e-3},
    "hemoglobin": {"g/dL": 1.0, "g/L": 0.1},
    "ast": {"U/L": 1.0},
    "alt": {"U/L": 1.0},
    "total_bilirubin": {"mg/dL": 1.0, "umol/L": 1.0 / 17.1},
    "creatinine_clearance": {"mL/min": 1.0},
}
UNITS: tuple[str, ...] = tuple(dict.fromkeys(u for units in UNIT_FACTORS.values() for u in units))
TESTS_NEEDING_ULN: tuple[str, ...] = ("ast", "alt")


def unit_fits(tests: tuple[str, ...] | list[str], units: tuple[str, ...] | list[str]) -> np.ndarray:
    """``fits[t, u]``: whether :data:`UNIT_FACTORS` allows unit ``units[u]`` for test ``tests[t]``.

    One extra last row and column, all False, stand for a categorical code -1 (a blank or
    unknown test or unit), so that ``fits[test_codes, unit_codes]`` looks up whole columns.
    The one table of which unit goes with which test: validation checks units with it, and
    the engine reads a lab row without a test as each test its unit fits.
    """
    fits = np.zeros((len(tests) + 1, len(units) + 1), dtype=bool)
    for t, test in enumerate(tests):
        for unit in UNIT_FACTORS.get(test, {}):
            if unit in units:
                fits[t, list(units).index(unit)] = True
    return fits


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    Parameters
    ----------
    name : str
        Column name as it appears in the header.
    kind : ColumnKind
        Value kind; decides parsing and dtype.
    description : str
        Meaning, as in the data dictionary.
    codes : tuple of str, optional
        Allowed codes for ``code`` columns (and ``yesno``: ``yes``/``no``).
    minimum, maximum : float, optional
        Inclusive numeric range for ``int``/``number`` columns.
    above_minimum : bool
        The minimum itself is refused too (a ULN of 0 would make every result "above" it).
    required : bool
        True when a blank cell breaks the contract (keys and structural fields);
        clinical fields are never required: their blanks mean "not recorded".
    """

    name: str
    kind: ColumnKind
    description: str = ""
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    above_minimum: bool = False

    @property
    def allowed(self) -> str:
        """Human-readable statement of what the column accepts."""
        if self.kind == "code":
            return "one of " + ", ".join(self.codes)
        if self.kind == "yesno":
            return "yes or no"
        if self.kind == "date":
            return "an ISO date YYYY-MM-DD"
        if self.kind in ("int", "number"):
            word = "a whole number" if self.kind == "int" else "a number"
            lo = "" if self.minimum is None else f" {'>' if self.above_minimum else '>='} {self.minimum:g}"
            hi = "" if self.maximum is None else f" <= {self.maximum:g}"
            joiner = " and" if lo and hi else ""
            return f"{word}{lo}{joiner}{hi}"
        if self.kind == "id":
            return "an ID of 1-40 letters, digits, '_', '.' or '-' (ASCII), starting with a letter or digit"
        return "text"


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract: its columns, whether it must exist, its unique key."""

    name: str
    columns: tuple[ColumnSpec, ...]
    required: bool = True
    key: tuple[str, ...] = ()
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in contract order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name``."""
        return next(c for c in self.columns if c.name == name)


def _yn(name: str, description: str = "") -> ColumnSpec:
    return ColumnSpec(name, "yesno", description, codes=("yes", "no"))


def _code(name: str, codes: tuple[str, ...], description: str = "", required: bool = False) -> ColumnSpec:
    return ColumnSpec(name, "code", description, codes=codes, required=required)


AJCC_STAGES = ("0", "IA", "IB", "IIA", "IIB", "IIC", "III", "IIIA", "IIIB", "IIIC", "IIID", "IV")

PATIENTS = TableSpec(
    "patients",
    (
        ColumnSpec("patient_id", "id", "pseudonymous screening ID; no names or record numbers", required=True),
        _code("site_id", SITE_IDS, "one of the six site codes", required=True),
        _code("sex", ("female", "male")),
        ColumnSpec("birth_date", "date", "used only to compute age at consent; never shown in reports"),
        ColumnSpec("consent_date", "date", "date informed consent was signed"),
        ColumnSpec("lymphodepletion_date", "date", "planned or actual first day of NMA-LD; blank if not scheduled"),
        _code("melanoma_subtype", ("cutaneous", "acral", "mucosal", "uveal", "unknown_primary")),
        _code("ajcc_stage", AJCC_STAGES, "AJCC 8th edition stage group"),
        _yn("disease_unresectable", "investigator judges the stage III disease unresectable"),
        _yn("liver_metastases", "changes the AST/ALT limit"),
        _yn("gilbert_syndrome", "changes the bilirubin limit"),
        _code("braf_v600", ("mutant", "wildtype")),
        ColumnSpec("ecog", "int", "ECOG performance status", minimum=0, maximum=5),
        ColumnSpec("life_expectancy_months", "number", "investigator's estimate", minimum=0),
        _yn("alternative_therapy_available", "an alternative therapy exists for this patient"),
        ColumnSpec("resectable_lesion_cm", "number", "post-resection diameter of the largest resectable lesion",
                   minimum=0),
        _code("organ_allograft", ("none", "kidney", "other")),
        _yn("brain_metastases"),
        _yn("brain_metastases_symptomatic", "needed when brain_metastases = yes"),
        _yn("brain_metastases_treated", "definitively treated; needed when brain_metastases = yes"),
        ColumnSpec("brain_metastases_stable_since", "date", "first date of documented stability after treatment"),
        ColumnSpec("steroid_mg_per_day", "number", "chronic systemic corticosteroid dose, prednisone-equivalent",
                   minimum=0),
        _yn("hypersensitivity_to_regimen", "to any component or excipient of lifileucel or the regimen drugs"),
        _yn("active_medical_illness", "illness that would pose increased risk"),
        _code("hiv_serology", ("negative", "positive")),
        _code("syphilis_assay", ("negative", "positive")),
        _code("hbv_serology", ("negative", "positive")),
        _code("hbv_pcr", ("undetectable", "detectable"), "needed when hbv_serology = positive"),
        _yn("primary_immunodeficiency"),
        _yn("live_vaccine_received", "a live or attenuated vaccine in the recent history"),
        ColumnSpec("live_vaccine_date", "date", "most recent live/attenuated vaccine; needed when received = yes"),
        _yn("pregnant", "needed for female"),
        _yn("breastfeeding", "needed for female"),
    ),
    key=("patient_id",),
    description="one row per screened patient",
)

THERAPIES = TableSpec(
    "therapies",
    (
        ColumnSpec("patient_id", "id", "must exist in patients", required=True),
        ColumnSpec("line", "int", "order of the regimen in the patient's history; blank = not recorded (the line may "
                   "be the most recent or not: I2 then decides only if every order would)", minimum=1),
        _code("setting", ("adjuvant", "neoadjuvant", "metastatic")),
        ColumnSpec("agents", "text", "generic drug names joined by '+', lower case"),
        ColumnSpec("start_date", "date"),
        ColumnSpec("end_date", "date", "blank = ongoing"),
        _code("best_response", ("cr", "pr", "sd", "pd", "ne"), "RECIST best response"),
        _code("stop_reason", ("progression", "toxicity", "completed", "ongoing", "other")),
        ColumnSpec("recurrence_date", "date",
                   "adjuvant/neoadjuvant only; blank = date not recorded (the recurrence itself is not in doubt: "
                   "the patient is screened for advanced disease)"),
    ),
    # No key: two lines with one number are two lines whose order is not recorded (I2 reads
    # them in either order, engine/prior_lines.py); a row repeated in every column is read once.
    description="one row per prior line of systemic therapy",
)

LABS = TableSpec(
    "labs",
    (
        ColumnSpec("patient_id", "id", "must exist in patients", required=True),
        _code("test", LAB_TESTS, "laboratory test; blank = not recorded (the result may be any test its unit "
              "allows: I7 then decides only if every such test would)"),
        ColumnSpec("value", "number",
                   "result, in `unit`; blank = not recorded (I7 then decides only if every value would)", minimum=0),
        _code("unit", UNITS,
              "allowed units depend on the test; blank = not recorded (I7 then decides only if every unit of the "
              "test would)"),
        ColumnSpec("uln", "number", "upper limit of normal; required for ast and alt (so for a result in U/L "
                   "whose test is blank)", minimum=0,
                   above_minimum=True),
        ColumnSpec("collected_date", "date",
                   "date the sample was collected; blank = not recorded (the result may be the latest in the window: "
                   "I7 then decides only if every reading would)"),
    ),
    description="one row per laboratory result",
)

TOXICITIES = TableSpec(
    "toxicities",
    (
        ColumnSpec("patient_id", "id", "must exist in patients", required=True),
        ColumnSpec("term", "text", "e.g. colitis, hypothyroidism"),
        _code("category", ("endocrine", "ocular", "vitiligo", "other")),
        ColumnSpec("grade", "int", "CTCAE grade", minimum=1, maximum=5),
        _yn("ongoing"),
    ),
    description="one row per immune-related adverse event from prior immunotherapy",
)

OVERRIDES = TableSpec(
    "overrides",
    (
        ColumnSpec("patient_id", "id", "must exist in patients", required=True),
        _code("criterion_id", CRITERION_IDS, "a criterion ID", required=True),
        ColumnSpec("approved_by", "text", "role or name of the approver; blank = not recorded: the waiver is "
                   "applied (every override row is a documented waiver; a data-quality finding and an oversight "
                   "flag)"),
        ColumnSpec("approved_date", "date", "date the waiver was approved; blank = not recorded: the waiver is "
                   "applied (a data-quality finding), except at a data cut, which it may postdate (then a "
                   "failing or unknown outcome is unknown)"),
        ColumnSpec("reason", "text", "why the criterion is waived; blank = not recorded: the waiver is applied (a "
                   "data-quality finding)"),
    ),
    required=False,
    # No key: the spec gives overrides none, and a criterion waived in two rows is waived
    # (engine/waivers.py); a row repeated in every column is read once (validation).
    description="one row per documented waiver of a criterion",
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (PATIENTS, THERAPIES, LABS, TOXICITIES, OVERRIDES)}


def dtype_for(column: ColumnSpec) -> object:
    """Return the pandas dtype of a typed frame column."""
    if column.kind in ("id", "text"):
        return pd.StringDtype(na_value=np.nan)
    if column.kind == "code":
        return pd.CategoricalDtype(list(column.codes))
    if column.kind == "yesno":
        return pd.BooleanDtype()
    if column.kind == "int":
        return pd.Int64Dtype()
    if column.kind == "number":
        return np.dtype("float64")
    return np.dtype(DATE_DTYPE)


def empty_frame(table: str) -> pd.DataFrame:
    """Return a typed frame of ``table`` with no rows."""
    spec = TABLES[table]
    return pd.DataFrame({c.name: pd.Series([], dtype=dtype_for(c)) for c in spec.columns})


def coerce(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Cast an already-clean frame to the typed contract, columns in contract order.

    No validation happens here: values must already be of the right kind (``yes``/``no``
    strings or booleans for yes/no columns, ISO strings or datetimes for dates). Missing
    columns become all-blank. Use the loader for untrusted input.
    """
    spec = TABLES[table]
    out = {}
    for col in spec.columns:
        values = frame[col.name] if col.name in frame.columns else pd.Series([None] * len(frame), index=frame.index)
        out[col.name] = _cast(values, col)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _cast(values: pd.Series, col: ColumnSpec) -> pd.Series:
    values = values.reset_index(drop=True)
    if col.kind == "yesno" and values.dtype != "boolean":
        values = values.map({"yes": True, "no": False, True: True, False: False}, na_action="ignore")
    if col.kind == "date":
        return pd.to_datetime(values, format="ISO8601").astype(DATE_DTYPE)
    if col.kind == "number":
        return pd.to_numeric(values).astype("float64")
    if col.kind == "int":
        return pd.to_numeric(values).astype("Int64")
    return values.astype(dtype_for(col))
