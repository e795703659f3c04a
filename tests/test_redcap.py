"""The REDCap bridge: the data dictionary obeys REDCap's documented rules, and a REDCap export
of the demo cohort screens to the same verdicts as the CSV demo.

The dictionary rules are written from REDCap's documentation (collected in the project's
notes on exchange formats), not from the generator: 18 columns in REDCap's order; the
record ID first, a text field; variable names lower case letters, digits and underscores
starting with a letter, unique; the fields of a form contiguous; valid field types;
choices ``raw, label | raw, label``; branching logic ``[field] = 'raw'`` (or ``<>``), joined by ``and``/``or``
and parentheses.

The REDCap export of the demo data is built here, independently of the importer, the way
REDCap builds one: from the dictionary file (which field of which form holds which contract
column, per its Field Annotation; choice labels are the contract codes), one row per record
for the non-repeating form and one per instance of each repeating form.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from lifileucel_analysis.cli import main
from lifileucel_analysis.contract.dataset import ContractError
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.contract.redcap_dictionary import dictionary_csv
from lifileucel_analysis.contract.schema import TABLES
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.paths import DEMO_DATASET

REDCAP_COLUMNS = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]  # fmt: skip
FIELD_TYPES = {"text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc", "file", "slider",
               "descriptive", "sql"}
CHOICE_TYPES = {"dropdown", "radio", "checkbox"}
VARIABLE = re.compile(r"^[a-z][a-z0-9_]*$")
RAW_CODE = re.compile(r"^[A-Za-z0-9_]+$")
CONDITION = re.compile(r"\[([a-z][a-z0-9_]*)\]\s*(=|<>|!=)\s*'([^']*)'")
CONNECTIVE = re.compile(r"^\s*(and|or)\s*$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


# --- helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dictionary(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """The dictionary as the command writes it, read back with the csv module."""
    path = tmp_path_factory.mktemp("redcap") / "dictionary.csv"
    assert main(["redcap-dictionary", str(path)]) == 0
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == REDCAP_COLUMNS
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def parse_choices(text: str) -> list[tuple[str, str]]:
    """``raw, label | raw, label`` -> [(raw, label)]; the label may itself hold commas."""
    pairs = []
    for choice in text.split("|"):
        raw, sep, label = choice.partition(",")
        assert sep, f"choice {choice!r} has no comma between raw value and label"
        pairs.append((raw.strip(), label.strip()))
    return pairs


def contract_column(field: dict[str, str]) -> tuple[str, str]:
    """The contract table and column a field holds, from its Field Annotation."""
    match = re.fullmatch(r"contract: (\w+)\.(\w+)", field["Field Annotation"])
    assert match, field
    return match.group(1), match.group(2)


def redcap_export(dataset: Path, fields: list[dict[str, str]]) -> pd.DataFrame:
    """The flat "raw data" CSV export REDCap would give for ``dataset`` in a project made from ``fields``."""
    record_id = fields[0]["Variable / Field Name"]
    forms = list(dict.fromkeys(f["Form Name"] for f in fields))
    header = [record_id, "redcap_repeat_instrument", "redcap_repeat_instance"]
    parts = []
    for number, form in enumerate(forms):
        own = [f for f in fields if f["Form Name"] == form and f["Variable / Field Name"] != record_id]
        header += [f["Variable / Field Name"] for f in own] + [f"{form}_complete"]
        table = pd.read_csv(dataset / f"{form}.csv", dtype=str, keep_default_na=False)
        out = pd.DataFrame({record_id: table["patient_id"]})
        for field in own:
            values = table[contract_column(field)[1]]
            if field["Field Type"] == "yesno":
                values = values.map({"yes": "1", "no": "0", "": ""})
            elif field["Field Type"] in CHOICE_TYPES:
                to_raw = {label: raw for raw, label in parse_choices(field["Choices, Calculations, OR Slider Labels"])}
                to_raw[""] = ""
                values = values.map(to_raw)
            out[field["Variable / Field Name"]] = values
        out[f"{form}_complete"] = "2"
        repeating = number > 0
        out["redcap_repeat_instrument"] = form if repeating else ""
        out["redcap_repeat_instance"] = (out.groupby(record_id).cumcount() + 1).astype(str) if repeating else ""
        out["_form"] = number
        parts.append(out)
    export = pd.concat(parts, ignore_index=True)
    order = {record: i for i, record in enumerate(parts[0][record_id])}
    export = export.assign(_record=export[record_id].map(order)).sort_values(["_record", "_form"], kind="stable")
    return export.reindex(columns=header).fillna("").reset_index(drop=True)


@pytest.fixture(scope="module")
def demo_export(dictionary: list[dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "EAPScreening_DATA_2026-01-01_1200.csv"
    redcap_export(DEMO_DATASET, dictionary).to_csv(path, index=False, lineterminator="\n")
    return path


def edited(export: Path, tmp_path: Path, edits: list[tuple[str, str, str, str, str]]) -> Path:
    """A copy of the export with cells replaced: (record, instrument, instance, field, value)."""
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    for record, instrument, instance, field, value in edits:
        row = ((frame["patient_id"] == record) & (frame["redcap_repeat_instrument"] == instrument)
               & (frame["redcap_repeat_instance"] == instance))
        assert row.sum() == 1, (record, instrument, instance)
        frame.loc[row, field] = value
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


# --- the dictionary follows REDCap's rules -----------------------------------------------


def test_first_field_is_the_record_id_a_text_field(dictionary: list[dict[str, str]]) -> None:
    first = dictionary[0]
    assert first["Variable / Field Name"] == "patient_id"
    assert first["Field Type"] == "text"
    assert first["Form Name"] == dictionary[0]["Form Name"] == "patients"
    assert first["Branching Logic (Show field only if...)"] == ""


def test_variable_names_are_valid_and_unique(dictionary: list[dict[str, str]]) -> None:
    names = [f["Variable / Field Name"] for f in dictionary]
    assert all(VARIABLE.match(name) for name in names), [n for n in names if not VARIABLE.match(n)]
    assert len(set(names)) == len(names)
    assert not any(name.startswith("redcap_") or name.endswith("_complete") for name in names)


def test_forms_are_contiguous_and_named_like_variables(dictionary: list[dict[str, str]]) -> None:
    forms = [f["Form Name"] for f in dictionary]
    runs = [form for i, form in enumerate(forms) if i == 0 or forms[i - 1] != form]
    assert len(runs) == len(set(runs)), f"a form's fields are split: {runs}"
    assert runs == list(TABLES), "one form per contract table, in contract order"
    assert all(VARIABLE.match(form) for form in runs)


def test_field_types_and_validation_are_valid(dictionary: list[dict[str, str]]) -> None:
    for field in dictionary:
        kind, validation = field["Field Type"], field["Text Validation Type OR Show Slider Number"]
        assert kind in FIELD_TYPES, field
        if validation:
            assert kind == "text" and validation in {"date_ymd", "number", "integer"}, field
        low, high = field["Text Validation Min"], field["Text Validation Max"]
        for bound in (low, high):
            assert bound == "" or (validation in {"number", "integer"} and NUMBER.match(bound)), field
        if low and high:
            assert float(low) <= float(high), field
        assert field["Identifier?"] in {"", "y"} and field["Required Field?"] in {"", "y"}, field


def test_choices_are_well_formed(dictionary: list[dict[str, str]]) -> None:
    for field in dictionary:
        choices = field["Choices, Calculations, OR Slider Labels"]
        if field["Field Type"] not in CHOICE_TYPES:
            assert choices == "", field
            continue
        pairs = parse_choices(choices)
        raws = [raw for raw, _ in pairs]
        assert all(RAW_CODE.match(raw) for raw in raws), field
        assert len(set(raws)) == len(raws) and all(label for _, label in pairs), field


def test_choice_labels_are_the_contract_codes(dictionary: list[dict[str, str]]) -> None:
    for field in dictionary:
        table, column = contract_column(field)
        spec = TABLES[table].column(column)
        if field["Field Type"] in CHOICE_TYPES:
            labels = [label for _, label in parse_choices(field["Choices, Calculations, OR Slider Labels"])]
            assert labels == list(spec.codes), field
        assert (field["Field Type"] == "yesno") == (spec.kind == "yesno"), field
        expected = {"date": "date_ymd", "int": "integer", "number": "number"}.get(spec.kind, "")
        assert field["Text Validation Type OR Show Slider Number"] == expected, field
        assert field["Text Validation Min"] == ("" if spec.minimum is None else f"{spec.minimum:g}"), field
        assert field["Text Validation Max"] == ("" if spec.maximum is None else f"{spec.maximum:g}"), field


def test_every_contract_column_is_one_field_and_repeating_forms_have_no_patient_id(
        dictionary: list[dict[str, str]]) -> None:
    held = [contract_column(field) for field in dictionary]
    expected = [(t.name, c.name) for t in TABLES.values() for c in t.columns
                if t.name == "patients" or c.name != "patient_id"]
    assert held == expected
    assert all(f["Form Name"] == contract_column(f)[0] for f in dictionary)


def test_branching_logic_names_fields_and_their_raw_codes(dictionary: list[dict[str, str]]) -> None:
    by_name = {f["Variable / Field Name"]: f for f in dictionary}
    conditional = {}
    for field in dictionary:
        logic = field["Branching Logic (Show field only if...)"]
        if not logic:
            continue
        conditional[contract_column(field)] = logic
        # The text around the conditions: nothing, then and/or, with balanced parentheses.
        assert logic.count("(") == logic.count(")"), logic
        between = [text.replace("(", " ").replace(")", " ") for text in CONDITION.split(logic)[::4]]
        assert between[0].strip() == between[-1].strip() == "", logic
        assert all(CONNECTIVE.match(text) for text in between[1:-1]), logic
        for name, _, raw in CONDITION.findall(logic):
            target = by_name[name]
            if raw == "":  # a blank answer
                continue
            if target["Field Type"] == "yesno":
                assert raw in {"1", "0"}, logic
            else:
                assert raw in {r for r, _ in parse_choices(target["Choices, Calculations, OR Slider Labels"])}, logic
    # The conditional fields of the contract (and of the issue): HBV PCR, pregnancy, brain metastases.
    for column in ("hbv_pcr", "pregnant", "breastfeeding", "brain_metastases_symptomatic",
                   "brain_metastases_treated", "brain_metastases_stable_since"):
        assert ("patients", column) in conditional, column
    # Shown unless ruled out: E8 and E10 read them while the controlling answer is blank (spec section 2).
    assert "[hbv_serology] <> 'negative'" == conditional[("patients", "hbv_pcr")]
    assert "[live_vaccine_received] <> '0'" == conditional[("patients", "live_vaccine_date")]
    assert "[brain_metastases] <> '0'" == conditional[("patients", "brain_metastases_treated")]


def shown(logic: str, answers: dict[str, str]) -> bool:
    """Evaluate REDCap branching logic (``[field] = 'raw'``, ``<>``, ``and``, ``or``, parentheses) on one
    record's raw answers (a blank answer is ``""``), as REDCap does when it shows or hides the field."""
    if not logic:
        return True
    python = CONDITION.sub(lambda m: f"({answers.get(m.group(1), '')!r} {'==' if m.group(2) == '=' else '!='} "
                                     f"{m.group(3)!r})", logic)
    assert re.fullmatch(r"[\s()]*(\('[^']*' (==|!=) '[^']*'\)[\s()]*(and|or)?[\s()]*)+", python), python
    return bool(eval(python, {"__builtins__": {}}))  # noqa: S307 - only the conditions matched above


# For each conditional field: the answers it depends on, and when they rule it out (the engine cannot use it).
RULED_OUT: dict[str, tuple[tuple[str, ...], object]] = {
    "hbv_pcr": (("hbv_serology",), lambda a: a["hbv_serology"] == "negative"),
    "brain_metastases_symptomatic": (("brain_metastases",), lambda a: a["brain_metastases"] == "0"),
    "brain_metastases_treated": (("brain_metastases",), lambda a: a["brain_metastases"] == "0"),
    "brain_metastases_stable_since": (("brain_metastases", "brain_metastases_treated"),
                                      lambda a: "0" in (a["brain_metastases"], a["brain_metastases_treated"])),
    "live_vaccine_date": (("live_vaccine_received",), lambda a: a["live_vaccine_received"] == "0"),
    "pregnant": (("sex",), lambda a: a["sex"] == "male"),
    "breastfeeding": (("sex",), lambda a: a["sex"] == "male"),
    "thx_recurrence_date": (("thx_setting",), lambda a: a["thx_setting"] == "metastatic"),
    # AST and ALT need a ULN; a result without a test is read as each test its unit fits (U/L: AST or ALT).
    "lab_uln": (("lab_test", "lab_unit"),
                lambda a: a["lab_test"] not in {"ast", "alt", ""}
                or (a["lab_test"] == "" and a["lab_unit"] not in {"u_per_l", ""})),
}


def test_branching_shows_a_field_unless_the_recorded_answers_rule_it_out(
        dictionary: list[dict[str, str]]) -> None:
    """Every answer combination, blanks included: a blank answer never hides a field the engine reads
    (review 28: brain-metastasis details hidden while brain_metastases was blank changed E5 on entry)."""
    import itertools

    by_name = {f["Variable / Field Name"]: f for f in dictionary}
    conditional = {name for name, f in by_name.items() if f["Branching Logic (Show field only if...)"]}
    assert conditional == set(RULED_OUT)
    for name, (controls, ruled_out) in RULED_OUT.items():
        logic = by_name[name]["Branching Logic (Show field only if...)"]
        values = []
        for control in controls:
            field = by_name[control]
            raws = (["1", "0"] if field["Field Type"] == "yesno"
                    else [raw for raw, _ in parse_choices(field["Choices, Calculations, OR Slider Labels"])])
            values.append([*raws, ""])
        for combination in itertools.product(*values):
            answers = dict(zip(controls, combination, strict=True))
            assert shown(logic, answers) == (not ruled_out(answers)), (name, answers, logic)



def entered_through_the_form(export: pd.DataFrame, fields: list[dict[str, str]]) -> pd.DataFrame:
    """``export`` as entry through the project's forms leaves it: each field its branching logic hides
    is blank (in dictionary order, so a hidden field's blank counts for the fields after it)."""
    entered = export.copy()
    for field in fields:
        logic = field["Branching Logic (Show field only if...)"]
        if logic:
            hidden = [not shown(logic, row) for row in entered.to_dict("records")]
            entered.loc[hidden, field["Variable / Field Name"]] = ""
    return entered


def test_fields_the_branching_logic_hides_change_no_outcome(dictionary: list[dict[str, str]], demo_export: Path,
                                                          tmp_path: Path) -> None:
    """A record entered through the forms screens as the full export: what the logic hides the engine does not
    use. EAP-000001 has brain metastases not recorded but details that pass E5 either way (eligible);
    EAP-000002 treatment not recorded and a stability date 5 days before NMA-LD (E5 fails). With the details
    shown only for brain_metastases = yes (and treated = yes) both became pending (review 28, finding 3)."""
    full = edited(demo_export, tmp_path, [
        ("EAP-000001", "", "", "brain_metastases", ""), ("EAP-000001", "", "", "brain_metastases_symptomatic", "0"),
        ("EAP-000001", "", "", "brain_metastases_treated", "1"),
        ("EAP-000001", "", "", "brain_metastases_stable_since", "2022-01-10"),
        ("EAP-000002", "", "", "brain_metastases", "1"), ("EAP-000002", "", "", "brain_metastases_symptomatic", "0"),
        ("EAP-000002", "", "", "brain_metastases_stable_since", "2022-08-04"),
        # Ruled out by "no brain metastases", so hidden: the form leaves it blank, and E5 does not read it.
        ("EAP-000003", "", "", "brain_metastases_symptomatic", "1")])
    form = tmp_path / "form" / "EAPScreening_DATA_2026-01-01_1200.csv"
    form.parent.mkdir()
    export = pd.read_csv(full, dtype=str, keep_default_na=False)
    entered_through_the_form(export, dictionary).to_csv(form, index=False, lineterminator="\n")
    hidden = pd.read_csv(form, dtype=str, keep_default_na=False) != export
    assert hidden.any(axis=None), "EAP-000003's detail is hidden"
    results = [screen(load_dataset(path)) for path in (full, form)]
    verdicts = [r.verdicts.set_index("patient_id")["verdict"].astype(str) for r in results]
    assert verdicts[0]["EAP-000001"] == "eligible" and verdicts[0]["EAP-000002"] == "ineligible"
    pd.testing.assert_series_equal(verdicts[0], verdicts[1])
    outcomes = [r.outcomes[["patient_id", "criterion_id", "outcome", "evidence"]].astype(str)
                .sort_values(["patient_id", "criterion_id"]).reset_index(drop=True) for r in results]
    pd.testing.assert_frame_equal(outcomes[0], outcomes[1])

def test_birth_date_is_flagged_as_an_identifier(dictionary: list[dict[str, str]]) -> None:
    flagged = [f["Variable / Field Name"] for f in dictionary if f["Identifier?"] == "y"]
    assert flagged == ["birth_date"]


def test_dictionary_file_is_byte_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "sub" / "b.csv"
    assert main(["redcap-dictionary", str(first)]) == 0
    assert main(["redcap-dictionary", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes() == dictionary_csv().encode("utf-8")
    assert b"\r\n" not in first.read_bytes()


# --- a REDCap export screens like the CSV dataset ---------------------------------------


def test_redcap_export_of_the_demo_loads_to_the_same_tables(demo_export: Path) -> None:
    from_redcap, from_csv = load_dataset(demo_export), load_dataset(DEMO_DATASET)
    assert from_redcap.source == str(demo_export)
    for name in TABLES:
        a, b = from_redcap.table(name), from_csv.table(name)
        key = list(a.columns)
        a = a.sort_values(key, kind="stable").reset_index(drop=True)
        b = b.sort_values(key, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, obj=name)


def test_redcap_export_of_the_demo_screens_to_the_same_verdicts(demo_export: Path, tmp_path: Path) -> None:
    assert main(["screen", str(demo_export), "--out", str(tmp_path / "redcap")]) == 0
    assert main(["screen", str(DEMO_DATASET), "--out", str(tmp_path / "csv")]) == 0
    redcap = pd.read_csv(tmp_path / "redcap" / "verdicts.csv", dtype=str, keep_default_na=False)
    plain = pd.read_csv(tmp_path / "csv" / "verdicts.csv", dtype=str, keep_default_na=False)
    assert len(redcap) == len(plain) == 400
    assert redcap["patient_id"].is_unique
    pd.testing.assert_frame_equal(redcap.sort_values("patient_id").reset_index(drop=True),
                                  plain.sort_values("patient_id").reset_index(drop=True))
    assert set(plain["verdict"]) == {"eligible", "pending", "ineligible"}
    assert (plain["waived"] != "").any(), "the demo's waivers (overrides) must cross the bridge too"
    outcomes = [pd.read_csv(tmp_path / run / "outcomes.csv", dtype=str, keep_default_na=False)
                .sort_values(["patient_id", "criterion_id"]).reset_index(drop=True) for run in ("redcap", "csv")]
    pd.testing.assert_frame_equal(*outcomes)


def test_form_complete_and_other_redcap_columns_are_ignored(demo_export: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(demo_export, dtype=str, keep_default_na=False)
    frame.insert(3, "redcap_data_access_group", "mskcc")
    frame["patients_complete"] = "0"
    frame["comorbidity___1"] = ""
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    dataset = load_dataset(path)
    assert dataset.n_patients == 400
    assert any("comorbidity___1" in note for note in dataset.warnings)
    assert not any("_complete" in note or "redcap_data_access_group" in note for note in dataset.warnings)
    verdicts = screen(dataset).verdicts.sort_values("patient_id").reset_index(drop=True)
    demo = screen(load_dataset(DEMO_DATASET)).verdicts.sort_values("patient_id").reset_index(drop=True)
    assert verdicts["verdict"].tolist() == demo["verdict"].tolist()


# --- bad input: exit 2, naming record, instrument and instance ------------------------


def test_bad_value_in_a_repeating_instrument_exits_2_naming_record_instrument_instance(
        demo_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = edited(demo_export, tmp_path, [("EAP-000003", "labs", "2", "lab_value", "abc")])
    out = tmp_path / "out"
    assert main(["screen", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if "'abc'" in line)
    assert "REDCap record 'EAP-000003'" in line
    assert "instrument labs (instance 2)" in line
    assert "field lab_value" in line
    assert "a number >= 0" in line
    assert not out.exists(), "nothing may be written on bad input"


def test_bad_codes_name_the_redcap_raw_codes(demo_export: Path, tmp_path: Path) -> None:
    bad = edited(demo_export, tmp_path, [
        ("EAP-000004", "", "", "liver_metastases", "2"),
        ("EAP-000004", "", "", "site_id", "orlando-healthcare"),
        ("EAP-000010", "therapies", "1", "thx_setting", "palliative"),
    ])
    with pytest.raises(ContractError) as caught:
        load_dataset(bad)
    text = str(caught.value)
    assert caught.value.n_problems == 3
    liver = next(line for line in text.splitlines() if "liver_metastases" in line)
    assert "REDCap record 'EAP-000004', instrument patients (not repeating)" in liver
    assert "value '2'" in liver and "1 = yes, 0 = no" in liver
    site = next(line for line in text.splitlines() if "site_id" in line)
    assert "orlando_health = orlando-health" in site
    setting = next(line for line in text.splitlines() if "thx_setting" in line)
    assert "REDCap record 'EAP-000010', instrument therapies (instance 1)" in setting


def test_layout_problems_are_reported_with_the_rows_problems(demo_export: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(demo_export, dtype=str, keep_default_na=False)
    labs = frame.index[(frame["patient_id"] == "EAP-000002") & (frame["redcap_repeat_instrument"] == "labs")]
    frame.loc[labs[0], "redcap_repeat_instrument"] = "lab"  # a misspelt instrument
    frame.loc[labs[1], "ecog"] = "1"  # a patients field on a labs row
    frame.loc[labs[2], "redcap_repeat_instance"] = frame.loc[labs[3], "redcap_repeat_instance"]  # twice
    frame.loc[(frame["patient_id"] == "EAP-000007") & (frame["redcap_repeat_instrument"] == ""), "ecog"] = "9"
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ContractError) as caught:
        load_dataset(path)
    lines = str(caught.value).splitlines()[1:]
    assert any("'EAP-000002'" in line and "unknown repeating instrument" in line for line in lines)
    assert any("'EAP-000002'" in line and "fields of instrument patients" in line for line in lines)
    assert sum("'EAP-000002'" in line and "more than once" in line for line in lines) == 2
    assert any("'EAP-000007'" in line and "field ecog" in line and "value '9'" in line for line in lines)


def test_an_export_without_identifiers_is_refused_naming_the_field(demo_export: Path, tmp_path: Path) -> None:
    path = tmp_path / "deidentified.csv"
    pd.read_csv(demo_export, dtype=str, keep_default_na=False).drop(columns="birth_date").to_csv(path, index=False)
    with pytest.raises(ContractError) as caught:
        load_dataset(path)
    assert caught.value.n_problems == 1
    assert "instrument patients, field birth_date: field missing from the export" in str(caught.value)


def with_header_tail(export: Path, tmp_path: Path, tail: str) -> Path:
    """A copy of the export with ``tail`` after its header's last name."""
    lines = export.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "wide.csv"
    path.write_text("\n".join([lines[0] + tail, *lines[1:]]) + "\n", encoding="utf-8")
    return path


def test_an_export_with_a_site_projects_extra_fields_is_read(demo_export: Path, tmp_path: Path) -> None:
    # A site's project may hold more fields than the contract's 54 (review 36C: a table's 256 refused 261).
    path = with_header_tail(demo_export, tmp_path, "".join(f",extra_{i}" for i in range(300)))
    dataset = load_dataset(path)
    assert dataset.n_patients == 400 and any("extra_0" in note for note in dataset.warnings)


@pytest.mark.parametrize(("tail", "words"), [
    ("," * 100_000, "the export has 100,061 columns, more than 16,384: export only this project's instruments"),
    # Names beyond the first 1 MiB would not be counted, as a long quoted cell once hid the commas
    # after it from a count over the first 64 KiB (review 36C).
    (("," + "y" * 120) * 10_000, "the export has a first row longer than 1,048,576 characters"),
    (',"' + "x" * 200_000 + '"' + "," * 100_000, "the export cannot be read in its first rows (field larger than"),
], ids=["many-columns", "long-header-row", "header-cell-beyond-the-csv-limit"])
def test_an_export_too_wide_to_parse_is_refused_before_it_is_parsed(demo_export: Path, tmp_path: Path,
                                                                     tail: str, words: str) -> None:
    with pytest.raises(ContractError) as caught:
        load_dataset(with_header_tail(demo_export, tmp_path, tail))
    assert caught.value.n_problems == 1
    assert words in str(caught.value)


def test_an_export_without_the_record_id_is_refused(demo_export: Path, tmp_path: Path) -> None:
    from lifileucel_analysis.contract.redcap_import import is_redcap_export, load_redcap_export

    path = tmp_path / "no_id.csv"
    pd.read_csv(demo_export, dtype=str, keep_default_na=False).drop(columns="patient_id").to_csv(path, index=False)
    assert not is_redcap_export(path) and is_redcap_export(demo_export)
    with pytest.raises(ContractError, match="no record ID column") as caught:
        load_redcap_export(path)
    assert caught.value.n_problems == 1


def test_a_plain_csv_file_is_still_refused_as_a_dataset(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_text((DEMO_DATASET / "patients.csv").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ContractError, match="folder of tables"):
        load_dataset(path)


def test_an_export_with_label_headers_is_refused_asking_for_raw_data(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # Audit, session 21: REDCap's "labels" export was refused as "a csv dataset is a folder of tables".
    export = tmp_path / "export_labels.csv"
    export.write_text('"Screening ID","Repeat Instrument","Repeat Instance","Site","Patients Complete?"\n'
                      '"EAP-000001","","","mskcc","Complete"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["screen", str(export), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "REDCap export with labels as column headers" in err and "(raw data)" in err
    assert not out.exists()


def test_findings_of_an_export_name_the_export_row(demo_export: Path, tmp_path: Path) -> None:
    # Audit, session 21: a finding named the row of the therapies table the export was split into
    # (row 129), which the export does not have; the site looks in the export (row 1101).
    frame = pd.read_csv(demo_export, dtype=str, keep_default_na=False)
    at = ((frame["redcap_repeat_instrument"] == "therapies") & (frame["redcap_repeat_instance"] == "2")).to_numpy()
    row = int(at.nonzero()[0][len(at.nonzero()[0]) // 2])  # a therapy instance in the middle of the export
    record = frame.loc[row, "patient_id"]
    bad = edited(demo_export, tmp_path, [(record, "therapies", "2", "thx_agents", "nivolumab-zz")])
    out = tmp_path / "out"
    assert main(["screen", str(bad), "--out", str(out)]) == 0
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    found = findings[findings["value"].str.contains("nivolumab-zz")]
    assert found[["patient_id", "table", "row", "column"]].values.tolist() == [
        [record, "therapies", str(row + 1), "agents"]]  # data row row + 1 of the export (row 1: under the header)
