"""The engine's requests read as fields: labels in the data dictionary's words, lab windows, conditions.

The engine names what would decide each unknown outcome as ``"; "``-joined requests
(``missing_data.fields``: ``patients.ecog; labs.anc (collected 2025-02-01 to 2025-03-29)``). The
worklist (:mod:`.worklist`) and the fields-to-collect file (:mod:`.collection_list`) read them
here, one way: a field's label (:func:`field_label`), its parts (:func:`request_parts`), the
requests split into fields (:func:`request_tokens`), a lab field's window dropped or taken out
over a whole column (:func:`one_window`, :func:`lab_windows`), and whether a field is asked for
only on a condition (:func:`is_conditional`). The phrases they match are the engine's constants
(:data:`~lifileucel_analysis.engine.evidence.COLLECTED_IN`, ``IF_RECEIVED``, ``IF_ADJUVANT``, ``IF_POSITIVE``,
``IF_FEMALE``, ``IF_BRAIN``, ``IF_STAGE_III``, ``LAB_CONDITIONS``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.schema import LAB_TESTS, TABLES, TESTS_NEEDING_ULN, UNIT_FACTORS, ColumnSpec
from ..engine.criteria_inclusion import LAB_NAMES
from ..engine.evidence import (CLASSIFY_AGENT, COLLECTED_IN, IF_ADJUVANT, IF_BRAIN, IF_FEMALE, IF_POSITIVE,
                               IF_RECEIVED, IF_STAGE_III, LAB_CONDITIONS, TEXT, as_arrow)

ABBREVIATIONS: dict[str, str] = {"hiv": "HIV", "hbv": "HBV", "pcr": "PCR", "ajcc": "AJCC", "ecog": "ECOG",
                                 "anc": "ANC", "ast": "AST", "alt": "ALT", "braf": "BRAF", "v600": "V600"}
PLAIN_LABELS: dict[str, str] = {
    "patients.resectable_lesion_cm": "diameter of the largest resectable lesion after resection (cm)",
    "patients.steroid_mg_per_day": "systemic corticosteroid dose (mg/day, prednisone-equivalent)",
    "patients.life_expectancy_months": "life expectancy (months, investigator's estimate)",
    "patients.birth_date": "date of birth",
    # Not a value on file while NMA-LD is not scheduled: the coordinator records it once it is (29E).
    "patients.lymphodepletion_date": "NMA-LD start date (planned or actual: record it once scheduled)",
    "patients.brain_metastases_stable_since": "date brain metastases were first documented stable after treatment",
    "patients.ecog": "ECOG performance status",
}
"""Labels where the schema's description is a note rather than a name."""
_NOTE_STARTS = ("needed", "must", "used only", "changes", "one of", "allowed", "blank", "e.g.")
_TOKEN = re.compile(r"^(patients|labs|therapies|toxicities|overrides)\.([a-z0-9_]+)(.*)$")


_LAB_CONDITION = f"(?:{'|'.join(LAB_CONDITIONS)})"
"""What a lab request may be asked on, after its window (none holds a regex's special character)."""
_WINDOW_SUFFIX = re.compile(rf" \({COLLECTED_IN} .*\)$")
_ANY_WINDOW = rf" \({COLLECTED_IN} [^;,]*?(, {_LAB_CONDITION})?\)(; |$)"
"""A field's window in a ``"; "``-joined cell (RE2, for Arrow): what ``_WINDOW_SUFFIX`` matches in one field,
its condition kept (a window holds no comma)."""
_ONE_WINDOW = rf" ({COLLECTED_IN} window\1)\2"
_LAB_WINDOW = rf"^labs\.[a-z0-9_]+ \({COLLECTED_IN} (.*?)(?:, {_LAB_CONDITION})?\)$"
"""One lab field (RE2): its window's dates, without the condition it may be asked on."""
_CONDITIONAL = re.compile(rf"^(patients\.live_vaccine_date \({IF_RECEIVED}\)|patients\.hbv_pcr \({IF_POSITIVE}\)"
                          rf"|patients\.(pregnant|breastfeeding) \({IF_FEMALE}\)"
                          rf"|patients\.brain_metastases_(treated|symptomatic|stable_since) \({IF_BRAIN}\)"
                          rf"|patients\.disease_unresectable \({IF_STAGE_III}\)"
                          rf"|therapies\.[a-z_]+ \(line .*, {IF_ADJUVANT}\)"
                          # A lab result beside one on file that may be it, as the engine and the fields file say it.
                          rf"|labs\.[a-z0-9_]+ \({COLLECTED_IN} .*, {_LAB_CONDITION}\)"
                          rf"|labs\.value \(test [a-z0-9_]+, .*, {_LAB_CONDITION}\))$")
"""A field the engine asks for only on a condition: ``patients.live_vaccine_date (if received)``,
``patients.hbv_pcr (if serology positive)``, ``patients.pregnant (if female)``,
``patients.brain_metastases_treated (if brain metastases)``,
``therapies.end_date (line 2, if adjuvant or neoadjuvant)``;
named in full, so that site text
("toxicities.grade (pruritus, if severe)") never reads as a condition (review 25)."""
_CONDITIONS = (IF_RECEIVED, IF_POSITIVE, IF_FEMALE, IF_BRAIN, IF_STAGE_III, IF_ADJUVANT, *LAB_CONDITIONS)
"""The conditions of :data:`_CONDITIONAL`, each the end of its field's detail."""
_UNKNOWN_AGENT = re.compile(rf"^{CLASSIFY_AGENT} '(.*)' \(therapies line (\d+|without a number)\)$")
_ONE_LAB_ROW = re.compile(r"^ \((.+ result dated [0-9-]+)\)$")


def _words(name: str) -> str:
    return " ".join(ABBREVIATIONS.get(part, part) for part in name.split("_"))


def field_label(token: str) -> str:
    """A field of the worklist in the data dictionary's words.

    ``patients.hiv_serology`` -> ``HIV serology``; ``therapies.agents / setting: line 2
    (x)`` -> ``prior therapy agents / setting: line 2 (x)``; ``toxicities.grade (colitis)``
    -> ``toxicity grade (colitis)``; ``classify agent 'x' (therapies
    line 2)`` -> ``agent 'x' of prior therapy line 2 (not in the drug dictionary: check the
    spelling, or ask for the drug to be added)``; anything else unchanged.
    """
    unknown_agent = _UNKNOWN_AGENT.match(token.strip())
    if unknown_agent:  # the site cannot classify a drug; it can check the name it sent, or have the drug
        # added (audit 42W: tilsotolimod, a real investigational drug, was spelt right)
        name, line = unknown_agent.groups()
        return (f"agent '{name}' of prior therapy line {line} (not in the drug dictionary: check the spelling, or "
                "ask for the drug to be added)")
    match = _TOKEN.match(token.strip())
    if not match:
        return token.strip()
    table, column, rest = match.groups()
    if table == "therapies":  # "line" alone would read as the whole line, not its number
        return f"prior therapy {'line number' if column == 'line' else _words(column)}{rest}"
    if table == "toxicities":  # "toxicities.grade (colitis)": the row is named by its term
        return f"toxicity {_words(column)}{rest}"
    if table == "overrides":  # "overrides.approved_by (waiver of I6)", or its approved_date at a data cut
        return f"{'who approved' if column == 'approved_by' else 'approval date of'} the {rest.strip(' ()')}"
    if table == "labs" and column == "test":  # "labs.test (result that may be the ANC)": its test is blank
        return f"test name of the {rest.strip(' ()')}"
    if table == "labs":
        one_row = _ONE_LAB_ROW.match(rest)  # a blank cell of one result: "value of the ANC result dated ..."
        return f"{_words(column)} of the {one_row.group(1)}" if one_row else f"{_words(column)}{rest}"
    if f"{table}.{column}" in PLAIN_LABELS:
        return PLAIN_LABELS[f"{table}.{column}"] + rest
    spec = _column_spec(table, column)
    # Only the description's first clause: "; needed when ..." is a rule for the data, not a
    # word for the field, and "; " separates the worklist's items (audit, session 16).
    description = spec.description.split("; ")[0] if spec is not None else ""
    name = _words(column)
    if description and not description.startswith(_NOTE_STARTS):
        # "AJCC stage (AJCC 8th edition stage group) (sub-group)" reads as two asides: one (audit 22A),
        # joined by ", ": "; " separates the worklist's items (review 24).
        aside = re.fullmatch(r" \((.+)\)", rest)
        return f"{name} ({description}, {aside.group(1)})" if aside else f"{name} ({description}){rest}"
    return name + rest


def request_parts(token: str) -> tuple[str, str, str, str, str]:
    """One field the engine asks for, taken apart: its label, lab window, table, column and detail.

    ``labs.anc (collected 2025-02-01 to 2025-03-29)`` -> ``("ANC result", "2025-02-01 to 2025-03-29",
    "labs", "value", "test anc, with unit and collected_date")`` (a lab result to collect in that
    window, :func:`lab_row_detail`); ``therapies.end_date (line 2)``
    -> ``("prior therapy end date (line 2)", "", "therapies", "end_date", "line 2")``;
    ``classify agent 'x' (therapies line 2)`` -> the agents of line 2; anything else is its own
    label.
    """
    text = token.strip()
    unknown_agent = _UNKNOWN_AGENT.match(text)
    if unknown_agent:
        return field_label(text), "", "therapies", "agents", f"line {unknown_agent.group(2)}"
    match = _TOKEN.match(text)
    if not match:
        return text, "", "", "", ""
    table, column, rest = match.groups()
    if table == "labs" and _WINDOW_SUFFIX.search(rest):  # " (collected 2025-02-01 to 2025-03-29)"
        # The condition it may be asked on ends the detail, as a condition does ("..., if the result ...").
        window, _, asked_on = rest[len(f" ({COLLECTED_IN} "):-1].partition(", if ")
        detail = lab_row_detail(column) + (f", if {asked_on}" if asked_on else "")
        return _WINDOW_SUFFIX.sub("", field_label(text)), window, table, "value", detail
    aside = re.fullmatch(r" \((.+)\)", rest)
    detail = aside.group(1) if aside else rest.strip()
    if table == "labs" and column in LAB_TESTS:  # results of one day that disagree: rows, not a column
        return field_label(text), "", table, "value", f"test {column}, {detail}"
    return field_label(text), "", table, column, detail


def lab_row_detail(test: str) -> str:
    """What a lab result to collect fills in besides its value: ``test anc, with unit and collected_date``.

    The labs table has no column per test (review 28C: a fields row said column ``ast``); a result
    is a row, and an AST or ALT row without its ``uln`` breaks the contract.
    """
    cells = "unit, uln and collected_date" if test in TESTS_NEEDING_ULN else "unit and collected_date"
    return f"test {test}, with {cells}"


def request_tokens(fields: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """The engine's ``"; "``-joined requests split into fields: each field's row in ``fields``, the field."""
    parts = pc.split_pattern(pc.fill_null(as_arrow(fields).cast(TEXT), pa.scalar("", TEXT)), "; ")
    return pc.list_parent_indices(parts).to_numpy(), pc.list_flatten(parts)


def one_window(cells: pa.Array) -> pa.Array:
    """Each field's lab window written ``(collected window)``: the patient's dates dropped, so that the
    fields of a few hundred kinds are read once each, not once per patient."""
    return pc.replace_substring_regex(cells, pattern=_ANY_WINDOW, replacement=_ONE_WINDOW)


def lab_windows(cells: pa.Array) -> pa.Array:
    """Each lab field's window dates (``labs.anc (collected D1 to D2)`` -> ``D1 to D2``), over a whole
    column in Arrow; any other field is left as it is (callers tell lab fields by :func:`request_parts`)."""
    return pc.replace_substring_regex(cells, pattern=_LAB_WINDOW, replacement="\\1")


def is_conditional(token: str) -> bool:
    """Whether the engine asks for the field only on a condition ("(if received)", "(line 2, if adjuvant or
    neoadjuvant)"): it may need nothing collected, so the worklist's sort does not count it (review 24B)."""
    return bool(_CONDITIONAL.search(token))


def condition(table: str, column: str, detail: str) -> str:
    """The condition a field is asked on (``if serology positive``, ``if adjuvant or neoadjuvant``), or ``""``:
    a fields row's ``table``, ``column`` and ``detail`` read as the engine's request (:func:`is_conditional`)."""
    if not detail or not is_conditional(f"{table}.{column} ({detail})"):
        return ""
    # The condition ends the detail ("line 2, if adjuvant or neoadjuvant"); one holds a comma itself
    # ("if stage III, IIIC or IIID"), so it is found by its words, not by the last comma (audit 41A:
    # "disease unresectable (..., IIIC or IIID)" had lost its "if stage III").
    return next(c for c in _CONDITIONS if detail == c or detail.endswith(", " + c))


_LAB_ROW_TEST = re.compile(r"^test ([a-z_]+)\b")
"""A lab result to collect, or results of one day that disagree: ``test anc, with unit and collected_date``."""
_ONE_RESULT_TEST = {label: test for test in LAB_TESTS
                    for label in (f"{LAB_NAMES[test]} result dated", f"{LAB_NAMES[test]} result without a date",
                                  f"result that may be the {LAB_NAMES[test]}")}
"""A cell of one result on file is detailed by what the result is: ``ANC result dated 2025-02-20``, ``ANC result
without a date``, ``result that may be the ANC`` (its test blank: if it is the ANC, an ANC's units)."""
SAME_DAY_RESULTS = "the results of that day: keep the one that counts; correct or remove the others"
"""A test's results of one day that disagree (``test anc, results dated D: which is the latest``): no new value."""
_SUB_GROUPS = ("IIIA", "IIIB", "IIIC", "IIID")
"""What a stage ``III`` without sub-group is asked to become (``ajcc_stage``, detail ``sub-group``)."""


def allowed_values(table: str, column: str, detail: str) -> str:
    """What a fields row's cell accepts, in the contract's words, for whoever fills it in.

    ``patients.ecog`` -> ``a whole number >= 0 and <= 5``; a lab result to collect names each cell of
    its row with the units its test allows (``value: a number >= 0; unit: 10^9/L or /uL;
    collected_date: an ISO date YYYY-MM-DD``); a stage ``III`` to sub-group, the four sub-groups; a
    text column, what the text is (``generic drug names joined by '+', lower case``). ``""`` for a row
    that names no column (audit 42W: the coordinator had to look the codes up in the data dictionary).
    """
    spec = _column_spec(table, column)
    if spec is None:
        return ""
    test = _lab_test(table, detail)
    if test and column == "value" and ", results dated " in detail:  # which of one day's results counts
        return SAME_DAY_RESULTS
    if test and column == "value" and detail.startswith("test "):  # a whole row of the labs table
        labs = TABLES["labs"]
        cells = [("value", labs.column("value")), ("unit", None)]
        if test in TESTS_NEEDING_ULN:
            cells.append(("uln", labs.column("uln")))
        cells.append(("collected_date", labs.column("collected_date")))
        return "; ".join(f"{name}: {_units(test) if cell is None else _allowed(cell)}" for name, cell in cells)
    if test and column == "unit":
        return _units(test)
    if (table, column, detail) == ("patients", "ajcc_stage", "sub-group"):
        return "one of " + ", ".join(_SUB_GROUPS)
    return _allowed(spec)


def _column_spec(table: str, column: str) -> ColumnSpec | None:
    """The contract's column (:meth:`..contract.schema.TableSpec.column`), ``None`` for a name it does not have."""
    return TABLES[table].column(column) if table in TABLES and column in TABLES[table].column_names else None


def _allowed(spec: ColumnSpec) -> str:
    # A text column accepts any text: its description says what text ("role or name of the approver").
    return spec.description.split("; ")[0] if spec.kind == "text" and spec.description else spec.allowed


def _lab_test(table: str, detail: str) -> str:
    if table != "labs":
        return ""
    row = _LAB_ROW_TEST.match(detail)
    if row and row.group(1) in LAB_TESTS:
        return row.group(1)
    return next((test for label, test in _ONE_RESULT_TEST.items() if detail.startswith(label)), "")


def _units(test: str) -> str:
    return " or ".join(UNIT_FACTORS[test])
