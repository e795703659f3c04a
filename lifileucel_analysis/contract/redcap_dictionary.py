"""A REDCap data dictionary generated from the data contract, and the code mapping it defines.

Sites capture screening data in REDCap; :func:`dictionary_frame` turns :mod:`.schema` into
the 18-column data dictionary CSV that REDCap's "Upload Data Dictionary" accepts, so a
site builds its project from the contract instead of by hand:

* one instrument (form) per table, in contract order; ``patient_id`` is the record ID,
  the first field of the first form. The repeating tables (``therapies``, ``labs``,
  ``toxicities``, ``overrides``) carry no ``patient_id`` field: the record is the patient,
  and REDCap numbers their rows as instances once they are set up as repeating
  instruments (a project setting, not part of the dictionary). REDCap variable names are
  unique across a project, so their fields carry a prefix (:data:`FIELD_PREFIX`:
  ``lab_test``, ``thx_line``); patients fields keep the contract's column names;
* codes become ``radio`` (up to :data:`RADIO_MAX_CHOICES` choices) or ``dropdown`` fields,
  yes/no columns ``yesno`` fields (raw ``1`` / ``0``), dates text validated ``date_ymd``,
  whole numbers ``integer`` and numbers ``number`` with the contract's min/max;
* a field the contract makes conditional is shown unless the answers recorded rule it out
  (branching logic, :data:`BRANCHING`): a blank answer hides nothing the engine reads;
* ``birth_date`` is flagged as an identifier (under HIPAA a birth date identifies a
  person), so REDCap's de-identified exports drop it.

REDCap raw codes may hold only letters, digits and underscores, which site codes such as
``orlando-health`` and units such as ``10^9/L`` do not: each choice is ``raw, label`` with
a REDCap-safe raw code (:func:`redcap_code`) and the contract code as its label. The
import (:mod:`.redcap_import`) maps raw codes back with :func:`choice_map`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .schema import SITES, TABLES, TESTS_NEEDING_ULN, UNIT_FACTORS, ColumnSpec

DICTIONARY_COLUMNS: tuple[str, ...] = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)  # fmt: skip
"""The 18 columns of a REDCap data dictionary, in REDCap's order."""

RECORD_ID = "patient_id"
"""The record ID field: the first field of the first instrument."""
RECORD_FORM = "patients"
"""The one non-repeating instrument; every other table is a repeating instrument."""
REPEATING_FORMS: tuple[str, ...] = tuple(name for name in TABLES if name != RECORD_FORM)
FIELD_PREFIX: dict[str, str] = {"therapies": "thx_", "labs": "lab_", "toxicities": "tox_", "overrides": "ovr_"}
"""Prefix of the REDCap variable names of each repeating instrument's fields."""
RADIO_MAX_CHOICES = 4
"""Codes with this many choices or fewer are radio buttons; more make a dropdown."""
YESNO_CODES: dict[str, str] = {"1": "yes", "0": "no"}
"""REDCap's raw values of a ``yesno`` field and the contract's yes/no."""
VALIDATION: dict[str, str] = {"int": "integer", "number": "number", "date": "date_ymd"}
"""REDCap text validation of each contract column kind that has one."""
UNIT_CODES: dict[str, str] = {
    "10^9/L": "x10e9_per_l", "/uL": "per_ul", "g/dL": "g_per_dl", "g/L": "g_per_l", "U/L": "u_per_l",
    "mg/dL": "mg_per_dl", "umol/L": "umol_per_l", "mL/min": "ml_per_min",
}
"""REDCap raw codes of the lab units (a generic spelling would lose the ``^`` and ``/``)."""
SECTIONS: dict[str, str] = {
    "site_id": "Site, consent and dates",
    "melanoma_subtype": "Melanoma",
    "ecog": "Performance status and treatment options",
    "organ_allograft": "Transplant",
    "brain_metastases": "Brain metastases",
    "steroid_mg_per_day": "Medication and medical history",
    "hiv_serology": "Infections",
    "primary_immunodeficiency": "Immunity and vaccines",
    "pregnant": "Pregnancy (not asked for men)",
}
"""Section headers of the patients instrument, by the field they stand above."""
LABELS: dict[str, str] = {
    "patients.life_expectancy_months": "Life expectancy (months)",
    "patients.steroid_mg_per_day": "Systemic corticosteroid dose (mg/day prednisone-equivalent)",
    "therapies.line": "Line of therapy (1 = first)",
    "labs.test": "Laboratory test",
    "labs.value": "Result",
    "labs.uln": "Upper limit of normal (ULN, U/L)",
    "labs.collected_date": "Date collected",
    "toxicities.term": "Toxicity term",
    "toxicities.grade": "CTCAE grade",
    "overrides.criterion_id": "Criterion waived",
}
"""Field labels that say more than the column name does."""
ACRONYMS: dict[str, str] = {
    "id": "ID", "ajcc": "AJCC", "ecog": "ECOG", "braf": "BRAF", "v600": "V600", "hiv": "HIV", "hbv": "HBV",
    "pcr": "PCR", "uln": "ULN", "cm": "(cm)",
}


def variable_name(table: str, column: str) -> str:
    """Return the REDCap variable name of a contract column (``labs``, ``test`` -> ``lab_test``)."""
    return FIELD_PREFIX.get(table, "") + column


def redcap_code(column: ColumnSpec, code: str) -> str:
    """Return the REDCap raw code of a contract code: lower case letters, digits and ``_``.

    Parameters
    ----------
    column : ColumnSpec
        The code column.
    code : str
        One of ``column.codes``.

    Returns
    -------
    str
        ``10^9/L`` -> ``x10e9_per_l`` (:data:`UNIT_CODES`), ``orlando-health`` ->
        ``orlando_health``, ``IIIC`` -> ``iiic``; codes already valid are unchanged.
    """
    if column.name == "unit":
        return UNIT_CODES[code]
    return re.sub(r"[^a-z0-9]+", "_", code.lower()).strip("_")


def choice_map(column: ColumnSpec) -> dict[str, str]:
    """Return ``{REDCap raw code: contract code}`` of a code or yes/no column.

    Raises
    ------
    ValueError
        When two contract codes would share one REDCap raw code.
    """
    if column.kind == "yesno":
        return dict(YESNO_CODES)
    mapping = {redcap_code(column, code): code for code in column.codes}
    if len(mapping) != len(column.codes):
        raise ValueError(f"column {column.name}: two codes map to one REDCap raw code")
    return mapping


def _is(table: str, column: str, code: str, operator: str = "=") -> str:
    """Branching logic ``[column] = 'raw'`` testing a contract code (or ``yes``) of a column."""
    raw = {contract: raw for raw, contract in choice_map(TABLES[table].column(column)).items()}[code]
    return f"[{variable_name(table, column)}] {operator} '{raw}'"


def _branching() -> dict[tuple[str, str], str]:
    """Branching logic of the fields the contract makes conditional ("needed when ...").

    A field is shown unless the answers recorded make it unusable: the engine reads a field while
    the answer it depends on is blank (spec section 2), so a rule tests ``<>`` the answer that rules
    the field out, not ``=`` the one that asks for it (review 28: brain-metastasis details hidden
    while ``brain_metastases`` was blank changed E5's outcome on entry through the form).
    """
    brain = _is("patients", "brain_metastases", "no", "<>")
    not_male = _is("patients", "sex", "male", "<>")
    return {
        # Shown unless the answer rules them out: an undetectable PCR decides E8's HBV part whatever the
        # serology, and a recorded vaccine date counts for E10 even with "received" blank (spec section 2),
        # so a site can enter them while the other answer is still blank (audit, session 21).
        ("patients", "hbv_pcr"): _is("patients", "hbv_serology", "negative", "<>"),
        # E5 reads the details whenever brain metastases are not ruled out, and the stability date
        # unless the metastases are recorded untreated.
        ("patients", "brain_metastases_symptomatic"): brain,
        ("patients", "brain_metastases_treated"): brain,
        ("patients", "brain_metastases_stable_since"):
            f"{brain} and {_is('patients', 'brain_metastases_treated', 'no', '<>')}",
        ("patients", "live_vaccine_date"): _is("patients", "live_vaccine_received", "no", "<>"),
        # E11 needs them unless the patient is male: shown for women and while sex is blank.
        ("patients", "pregnant"): not_male,
        ("patients", "breastfeeding"): not_male,
        ("therapies", "recurrence_date"): _is("therapies", "setting", "metastatic", "<>"),
        ("labs", "uln"): _uln_logic(),
    }


def _uln_logic() -> str:
    """``lab_uln`` is shown for an AST or ALT result, and for a result without a test whose unit one of them
    may have (or whose unit is blank too): the engine reads such a row as each test its unit fits, AST and
    ALT only with a ULN (:func:`..engine.lab_open_tests.possible_tests`)."""
    tests = " or ".join(_is("labs", "test", test) for test in TESTS_NEEDING_ULN)
    units = sorted({unit for test in TESTS_NEEDING_ULN for unit in UNIT_FACTORS[test]})
    blank_unit = f"[{variable_name('labs', 'unit')}] = ''"
    fitting_unit = " or ".join([*(_is("labs", "unit", unit) for unit in units), blank_unit])
    return f"{tests} or ([{variable_name('labs', 'test')}] = '' and ({fitting_unit}))"


BRANCHING: dict[tuple[str, str], str] = _branching()
"""``{(table, column): REDCap branching logic}``: the field is shown unless the recorded answers rule it out."""


@dataclass(frozen=True)
class RedcapField:
    """One field of the REDCap project: a contract column on its instrument."""

    table: str
    column: ColumnSpec

    @property
    def name(self) -> str:
        """The REDCap variable name (:func:`variable_name`)."""
        return variable_name(self.table, self.column.name)

    @property
    def field_type(self) -> str:
        """``text``, ``notes``, ``yesno``, ``radio`` or ``dropdown``."""
        if self.column.kind == "yesno":
            return "yesno"
        if self.column.kind == "code":
            return "radio" if len(self.column.codes) <= RADIO_MAX_CHOICES else "dropdown"
        return "notes" if (self.table, self.column.name) == ("overrides", "reason") else "text"

    @property
    def choices(self) -> str:
        """``raw, label | raw, label`` for radio and dropdown fields; empty otherwise."""
        if self.column.kind != "code":
            return ""
        return " | ".join(f"{raw}, {code}" for raw, code in choice_map(self.column).items())


def redcap_fields() -> tuple[RedcapField, ...]:
    """Return every field of the project in dictionary order (forms contiguous, record ID first)."""
    return tuple(
        RedcapField(table.name, column)
        for table in TABLES.values()
        for column in table.columns
        if table.name == RECORD_FORM or column.name != RECORD_ID
    )


def _label(field: RedcapField) -> str:
    if (label := LABELS.get(f"{field.table}.{field.column.name}")) is not None:
        return label
    words = [ACRONYMS.get(word, word) for word in field.column.name.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


FORM_REQUIRED: dict[tuple[str, str], str] = {
    ("labs", "test"): "",
    ("labs", "uln"): "upper limit of normal; required for ast and alt",
    ("overrides", "approved_by"): "role or name of the approver",
    ("overrides", "approved_date"): "",
    ("overrides", "reason"): "",
}
"""Fields the form requires although the contract reads their blanks, with their notes: at data entry a
result's test and ULN, and a waiver's approver, date and reason, are known (an export may still lack them,
and the contract's "blank = not recorded" is no note for a required field)."""


def _note(field: RedcapField) -> str:
    column = field.column
    note = FORM_REQUIRED.get((field.table, column.name), column.description)
    if column.name == "site_id":
        note = "; ".join(f"{site.site_id}: {site.name}" for site in SITES.values())
    if field.table == "labs" and column.name == "unit":
        note += "; ANC and platelets 10^9/L or /uL, hemoglobin g/dL or g/L, AST/ALT U/L, bilirubin mg/dL or umol/L"
    return note


def _bound(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _row(field: RedcapField) -> dict[str, str]:
    column = field.column
    where = (field.table, column.name)
    required = column.required or where in FORM_REQUIRED
    return {
        "Variable / Field Name": field.name,
        "Form Name": field.table,
        "Section Header": SECTIONS.get(column.name, "") if field.table == RECORD_FORM else "",
        "Field Type": field.field_type,
        "Field Label": _label(field),
        "Choices, Calculations, OR Slider Labels": field.choices,
        "Field Note": _note(field),
        "Text Validation Type OR Show Slider Number": VALIDATION.get(column.kind, ""),
        "Text Validation Min": _bound(column.minimum),
        "Text Validation Max": _bound(column.maximum),
        "Identifier?": "y" if where == ("patients", "birth_date") else "",
        "Branching Logic (Show field only if...)": BRANCHING.get(where, ""),
        "Required Field?": "y" if required and field.name != RECORD_ID else "",
        "Custom Alignment": "",
        "Question Number (surveys only)": "",
        "Matrix Group Name": "",
        "Matrix Ranking?": "",
        "Field Annotation": f"contract: {field.table}.{column.name}",
    }


def dictionary_frame() -> pd.DataFrame:
    """Return the REDCap data dictionary of the contract, one row per field.

    Returns
    -------
    pandas.DataFrame
        The 18 :data:`DICTIONARY_COLUMNS`, all text (blank cells ``""``).
    """
    return pd.DataFrame([_row(field) for field in redcap_fields()], columns=list(DICTIONARY_COLUMNS))


def dictionary_csv() -> str:
    """Return the data dictionary as CSV text (``\\n`` line ends, minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DICTIONARY_COLUMNS)
    writer.writerows(dictionary_frame().itertuples(index=False, name=None))
    return buffer.getvalue()


def write_dictionary(path: str | Path) -> Path:
    """Write the data dictionary CSV (UTF-8) atomically: the whole file appears, or nothing.

    Parameters
    ----------
    path : str or Path
        The CSV file to write; its folder is created if needed.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".dictionary-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(dictionary_csv())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
