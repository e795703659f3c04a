"""Reports people can act on: worklist in plain words, downloads, attrition, oversight flags.

Expected values are written out by hand or computed another way than the code under test
(the attrition's first failure from the verdicts' ``failed`` text, not from the outcomes).
"""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from helpers import case_tables, concat_tables
from hypothesis import HealthCheck, given, settings
from strategies import screening_tables

from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.contract.schema import CRITERION_IDS, SITE_IDS, TABLES
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.engine.screening import ScreeningResult, screen
from lifileucel_analysis.paths import FIXTURE_DATASET
from lifileucel_analysis.report import EligibilityReport
from lifileucel_analysis.report.attrition import attrition_table, failure_sets
from lifileucel_analysis.report.collection_list import FIELD_COLUMNS, collection_list, fields_by_field
from lifileucel_analysis.report.downloads import DOWNLOAD_KINDS, download_bytes, download_tables, write_downloads
from lifileucel_analysis.report.oversight import (
    DEFAULT_WAIVER_ROLES,
    oversight_flags,
    waiver_flags,
    waiver_rates,
    waiver_roles,
    waivers_with_roles,
)
from lifileucel_analysis.report.site_summaries import site_criterion_table
from lifileucel_analysis.report.field_requests import field_label
from lifileucel_analysis.report.worklist import _collect_text, data_currency, plain_worklist


def _screen(tables: dict[str, pd.DataFrame]) -> tuple[ScreeningResult, ScreeningDataset]:
    dataset = ScreeningDataset(**tables, source="in memory")
    return screen(dataset, load_params()), dataset


@pytest.fixture(scope="module")
def cohort() -> tuple[ScreeningResult, ScreeningDataset]:
    """Five patients: eligible with NMA-LD (E1), ineligible with NMA-LD done (X1), pending with
    NMA-LD (W1), pending without (W2, two unknown criteria), eligible by a sub-investigator's waiver (S1)."""
    parts = [
        case_tables(patient_id="E1"),
        case_tables(patient_id="X1", patient={"melanoma_subtype": "uveal", "lymphodepletion_date": "2025-03-01"}),
        case_tables(patient_id="W1", patient={"ecog": None, "consent_date": "2025-03-10"}),
        case_tables(patient_id="W2", patient={"hiv_serology": None, "resectable_lesion_cm": None,
                                              "lymphodepletion_date": None, "consent_date": "2025-02-01"}),
        case_tables(patient_id="S1", patient={"melanoma_subtype": "uveal"}, overrides=["E3"]),
    ]
    tables = concat_tables(parts)
    tables["overrides"].loc[tables["overrides"]["patient_id"] == "S1", "approved_by"] = "Sub-Investigator"
    return _screen(tables)


def test_the_cohort_has_the_verdicts_the_tests_rely_on(cohort: tuple[ScreeningResult, ScreeningDataset]) -> None:
    verdicts = cohort[0].verdicts.set_index("patient_id")["verdict"].astype(str).to_dict()
    assert verdicts == {"E1": "eligible", "X1": "ineligible", "W1": "pending", "W2": "pending", "S1": "eligible"}


# --------------------------------------------------------------------------- worklist


def test_worklist_lists_each_pending_patient_once_closest_to_eligible_first(cohort) -> None:
    result, dataset = cohort
    currency = data_currency(result.verdicts)
    assert currency.date == pd.Timestamp("2025-03-10")  # W1's consent: the latest in the data
    work = plain_worklist(result, dataset.patients, currency)
    assert work["patient_id"].tolist() == ["W1", "W2"]  # W1: one unknown criterion; W2: two
    assert work["unknown_count"].tolist() == [1, 2]
    assert work["days_pending"].tolist() == [0, 37]  # 2025-02-01 -> 2025-03-10
    assert work.loc[0, "to_collect"] == "ECOG performance status"
    w2 = work.loc[1, "to_collect"]
    assert "diameter of the largest resectable lesion after resection (cm)" in w2 and "HIV serology" in w2
    assert "patients." not in w2 and "patients." not in work.loc[0, "to_collect"]


def test_lab_results_to_collect_carry_the_window_dates() -> None:
    result, dataset = _screen(case_tables(patient_id="L1", labs=[], replace_labs=True))
    work = plain_worklist(result, dataset.patients, data_currency(result.verdicts))
    # consent 2025-03-01 minus the 28-day look-back, up to NMA-LD 2025-03-29
    assert work.loc[0, "to_collect"].startswith("lab results collected 2025-02-01 to 2025-03-29: ANC, platelets")


def test_a_field_asked_for_only_if_received_does_not_count_in_the_sort() -> None:
    # Review 24B: E10's "live vaccine received; live vaccine date (if received)" counted two fields, so it
    # tied with a patient who certainly needs two (ECOG and life expectancy) and the ID decided.
    tables = concat_tables([case_tables(patient_id="P1", patient={"ecog": None, "life_expectancy_months": None}),
                            case_tables(patient_id="P2", patient={"live_vaccine_received": None,
                                                                  "live_vaccine_date": None})])
    result, dataset = _screen(tables)
    work = plain_worklist(result, dataset.patients, data_currency(result.verdicts))
    assert work["unknown"].tolist() == ["E10 Live vaccine <= 28 days before NMA-LD",
                                        "I6 ECOG 0-1, life expectancy >= 3 months"]
    assert work["patient_id"].tolist() == ["P2", "P1"]
    assert work.loc[0, "to_collect"].endswith("live vaccine date (most recent live/attenuated vaccine, if received)")


def test_site_text_that_reads_like_a_condition_still_counts_as_a_field() -> None:
    # Review 25: a toxicity term "pruritus, if severe" ended like the engine's "(..., if adjuvant or
    # neoadjuvant)" and its field was not counted in the sort.
    fields = pd.Series(["toxicities.grade (pruritus, if severe)", "patients.live_vaccine_date (if received)",
                        "therapies.end_date (line 2, if adjuvant or neoadjuvant)", "patients.pregnant (if female)",
                        "toxicities.grade (rash, if female)"], dtype="str")
    _, counts = _collect_text(fields, pa.array(["W"], type=pa.large_string()), np.array([0, 0, 0, 0, 0]))
    assert counts.tolist() == [1, 0, 0, 0, 1]


def test_a_result_needed_only_if_the_one_on_file_is_not_it_is_asked_on_that_condition() -> None:
    # Audit 42W (W03): the only ANC result has no date. Its date is asked for; a new ANC result only if that
    # date is outside the window, so it is said so, not counted in the sort, and a kind of its own by field.
    # U1: an undated ANC; U2: the same and a blank ECOG. By hand: U1 certainly needs 1 field, U2 2.
    undated = [{"test": "anc", "value": 2.0, "unit": "10^9/L", "collected_date": None}]
    tables = concat_tables([case_tables(patient_id="U1", labs=undated),
                            case_tables(patient_id="U2", labs=undated, patient={"ecog": None})])
    result, dataset = _screen(tables)
    as_of = data_currency(result.verdicts)
    work = plain_worklist(result, dataset.patients, as_of).set_index("patient_id")
    asked = ("collected date (ANC result without a date); lab results collected 2025-02-01 to 2025-03-29: ANC (if "
             "the result without a date was collected outside that window)")
    assert work.loc["U1", "to_collect"] == asked
    assert work.loc["U2", "to_collect"] == "ECOG performance status; " + asked
    fields = collection_list(result, dataset.patients, as_of)
    anc = fields[(fields["patient_id"] == "U1") & (fields["field"] == "ANC result")]
    assert anc[["collect_window", "detail"]].values.tolist() == [
        ["2025-02-01 to 2025-03-29", "test anc, with unit and collected_date, if the result without a date was "
                                     "collected outside that window"]]
    summary = fields_by_field(fields).set_index("field")["patients"].to_dict()
    assert summary["ANC result (if the result without a date was collected outside that window)"] == 2
    assert "ANC result" not in summary
    _, counts = _collect_text(result.missing_data["fields"].iloc[:1].reset_index(drop=True),
                              pa.array(["W"], type=pa.large_string()), np.array([0]))
    assert counts.tolist() == [1]  # the date; the result only on its condition


def test_a_field_two_criteria_wait_on_is_asked_for_once() -> None:
    # A misspelt agent leaves I2 and E1 open; a blank consent date leaves I5 and I7 open.
    tables = case_tables(patient_id="D1", patient={"consent_date": None},
                         therapies=[{"line": 1, "setting": "metastatic", "agents": "nivolumabb",
                                     "start_date": "2024-01-10", "end_date": "2024-06-10", "best_response": "pd",
                                     "stop_reason": "progression", "recurrence_date": None}])
    result, dataset = _screen(tables)
    work = plain_worklist(result, dataset.patients, data_currency(result.verdicts))
    assert work.loc[0, "unknown"].split("; ")[:3] == ["I2 1-4 prior lines incl. anti-PD-(L)1, progressed",
                                                      "I5 Age >= 18 at consent", "I7 Adequate labs"]
    items = work.loc[0, "to_collect"].split("; ")
    assert items == ["agent 'nivolumabb' of prior therapy line 1 (not in the drug dictionary: check the spelling, "
                     "or ask for the drug to be added)",
                     "consent date (date informed consent was signed)"]


def test_fields_to_collect_are_worded_alike_whatever_the_window_dates() -> None:
    # Fields as the engine names them, windows with nested brackets among other fields; the
    # cells are written by hand, so are the expected texts (the rows' own window is given).
    fields = pd.Series([
        "labs.anc (collected 2025-02-01 to 2025-03-29); labs.alt (collected 2025-02-01 to 2025-03-29)",
        "labs.anc (collected 2024-05-03 onwards (NMA-LD not scheduled)); patients.hbv_pcr",
        "patients.ecog; labs.hemoglobin (collected 2023-01-01 to 2023-02-02); labs.value (ANC result dated 2023-01-05)",
        None,
        "patients.ecog",
    ], dtype="str")
    window = pa.array(["W0", "W1", "W2"], type=pa.large_string())
    cells, counts = _collect_text(fields, window, np.array([0, 1, 2, 2, 0]))
    assert cells.to_pylist() == [
        "lab results collected W0: ANC, ALT",
        "HBV PCR; lab results collected W1: ANC",
        "ECOG performance status; value of the ANC result dated 2023-01-05; lab results collected W2: hemoglobin",
        "",
        "ECOG performance status",
    ]
    assert counts.tolist() == [2, 2, 3, 0, 1]  # a blank cell asks for nothing (was counted 1 up to session 24)


def test_field_labels_come_from_the_data_dictionary() -> None:
    assert field_label("patients.hbv_pcr") == "HBV PCR"
    # One item, one aside: "; " separates the items of "to collect" (review 24).
    assert field_label("patients.ajcc_stage (sub-group)") == "AJCC stage (AJCC 8th edition stage group, sub-group)"
    assert field_label("patients.live_vaccine_date (if received)") == (
        "live vaccine date (most recent live/attenuated vaccine, if received)")
    assert field_label("therapies.recurrence_date (line 2, if adjuvant or neoadjuvant)") == (
        "prior therapy recurrence date (line 2, if adjuvant or neoadjuvant)")
    assert field_label("therapies.agents / setting: line 2 (x)") == "prior therapy agents / setting: line 2 (x)"
    assert field_label("toxicities.grade (colitis)") == "toxicity grade (colitis)"
    assert field_label("something else: x") == "something else: x"


@pytest.mark.parametrize("table", ["patients", "therapies", "labs", "toxicities", "overrides"])
def test_no_field_label_holds_the_item_separator(table: str) -> None:
    # The coordinator's "to collect" cell is items joined by "; ": a label with "; " inside reads as two items.
    for spec in TABLES[table].columns:
        for rest in ("", " (sub-group)", " (line 2)", " (if received)"):
            assert "; " not in field_label(f"{table}.{spec.name}{rest}"), (table, spec.name, rest)


def test_conditional_follow_ups_are_listed_on_their_condition_and_not_counted_for_the_order() -> None:
    # Review 37C: E5's "(if brain metastases)" and I1's "(if stage III, IIIC or IIID)" fields, rendered in the
    # worklist and the fields file. C1 waits on brain_metastases alone plus three conditional follow-ups; C2 on
    # ECOG and HIV serology: two counted fields, so C1 (one) comes first although its row is longer.
    brain = {"brain_metastases": None, "brain_metastases_treated": None, "brain_metastases_symptomatic": None,
             "brain_metastases_stable_since": None}
    tables = concat_tables([case_tables(patient_id="C2", patient={"ecog": None, "hiv_serology": None}),
                            case_tables(patient_id="C1", patient=brain),
                            case_tables(patient_id="C3", patient={"ajcc_stage": None, "disease_unresectable": None})])
    result, dataset = _screen(tables)
    currency = data_currency(result.verdicts)
    work = plain_worklist(result, dataset.patients, currency).set_index("patient_id")
    assert work.index.tolist() == ["C1", "C3", "C2"]
    assert work.loc["C1", "to_collect"] == (
        "brain metastases; brain metastases treated (definitively treated, if brain metastases); brain metastases "
        "symptomatic (if brain metastases); date brain metastases were first documented stable after treatment (if "
        "brain metastases)")
    assert work.loc["C3", "to_collect"] == (
        "AJCC stage (AJCC 8th edition stage group); disease unresectable (investigator judges the stage III disease "
        "unresectable, if stage III, IIIC or IIID)")
    fields = collection_list(result, dataset.patients, currency)
    conditional = fields[fields["detail"].str.startswith("if ")]
    assert sorted(zip(conditional["patient_id"], conditional["column"], conditional["detail"])) == [
        ("C1", "brain_metastases_stable_since", "if brain metastases"),
        ("C1", "brain_metastases_symptomatic", "if brain metastases"),
        ("C1", "brain_metastases_treated", "if brain metastases"),
        ("C3", "disease_unresectable", "if stage III, IIIC or IIID")]


def test_the_fields_to_collect_are_one_row_each_in_worklist_order() -> None:
    # F1: a blank consent date leaves I5 and I7 open (one field, both criteria). F2: ECOG and the HIV serology
    # are missing (two fields, two criteria); F3: the ANC result (its window is the patient's lab window).
    # Fewest unknown criteria first, then fewest fields, as in the worklist: F3, F1, F2.
    tables = concat_tables([case_tables(patient_id="F2", patient={"ecog": None, "hiv_serology": None}),
                            case_tables(patient_id="F1", patient={"consent_date": None}),
                            case_tables(patient_id="F3", labs=[{"test": "anc", "collected_date": "2024-12-01"}])])
    result, dataset = _screen(tables)
    currency = data_currency(result.verdicts)
    fields = collection_list(result, dataset.patients, currency)
    assert list(fields.columns) == list(FIELD_COLUMNS)
    assert fields[["patient_id", "field", "collect_window", "criteria", "table", "column"]].values.tolist() == [
        ["F3", "ANC result", "2025-02-01 to 2025-03-29", "I7", "labs", "value"],  # consent 2025-03-01 - 28 days
        ["F1", "consent date (date informed consent was signed)", "", "I5; I7", "patients", "consent_date"],
        ["F2", "ECOG performance status", "", "I6", "patients", "ecog"],
        ["F2", "HIV serology", "", "E8", "patients", "hiv_serology"],
    ]
    # A lab result is a row of the labs table: its column is value, its test and other cells the detail
    # (review 28C: the column read "anc", which the labs table does not have).
    assert fields["detail"].tolist() == ["test anc, with unit and collected_date", "", "", ""]
    assert list(dict.fromkeys(fields["patient_id"])) == plain_worklist(result, dataset.patients,
                                                                        currency)["patient_id"].tolist()
    assert set(fields["collected"]) == {""}  # for the coordinator to fill in
    # Every row says the patient's NMA-LD as the worklist does: 2025-03-29, 28 days after the data's currency
    # date (the latest consent, 2025-03-01), so a lab window ending then is still open.
    assert set(fields["nmald_status"]) == {"scheduled (in 28 days)"}
    assert set(fields["nmald_date"]) == {pd.Timestamp("2025-03-29")}



def test_the_fields_by_field_count_pending_patients_per_kind_most_first() -> None:
    # G1 and G2: ECOG blank (I6); G2 also its only ANC result out of its lab window (I7). By hand: ECOG
    # 2 patients, the ANC result 1; most patients first.
    tables = concat_tables([case_tables(patient_id="G1", patient={"ecog": None}),
                            case_tables(patient_id="G2", patient={"ecog": None},
                                        labs=[{"test": "anc", "collected_date": "2024-12-01"}])])
    result, dataset = _screen(tables)
    summary = fields_by_field(collection_list(result, dataset.patients, data_currency(result.verdicts)))
    assert list(summary.columns) == ["field", "patients", "criteria", "table", "column"]
    assert summary.values.tolist() == [["ECOG performance status", 2, "I6", "patients", "ecog"],
                                       ["ANC result", 1, "I7", "labs", "value"]]
    assert fields_by_field(collection_list(result, dataset.patients, data_currency(result.verdicts)).iloc[:0]).empty


def test_each_lab_test_to_collect_is_its_own_kind_and_an_ast_row_asks_for_its_uln() -> None:
    # H1: ANC and AST results only out of the lab window; H2: the AST alone. By hand: AST 2 patients, ANC 1.
    old = "2024-12-01"
    tables = concat_tables([case_tables(patient_id="H1", labs=[{"test": "anc", "collected_date": old},
                                                               {"test": "ast", "collected_date": old}]),
                            case_tables(patient_id="H2", labs=[{"test": "ast", "collected_date": old}])])
    result, dataset = _screen(tables)
    fields = collection_list(result, dataset.patients, data_currency(result.verdicts))
    assert sorted(set(zip(fields["field"], fields["detail"], strict=True))) == [
        ("ANC result", "test anc, with unit and collected_date"),
        ("AST result", "test ast, with unit, uln and collected_date")]
    assert fields_by_field(fields).values.tolist() == [["AST result", 2, "I7", "labs", "value"],
                                                       ["ANC result", 1, "I7", "labs", "value"]]


def test_results_of_one_day_that_disagree_are_rows_of_the_labs_table_one_kind_per_test() -> None:
    # K1, K2: two ANC results of one day, one below the limit; K2's day is another. By hand: the cells
    # to correct are labs rows' values (the labs table has no column "anc"; audit 31C), one ANC kind.
    def conflict(day: str) -> list[dict[str, object]]:
        return [{"test": "anc", "value": v, "unit": "10^9/L", "collected_date": day} for v in (0.8, 1.6)]

    tables = concat_tables([case_tables(patient_id="K1", labs=conflict("2025-02-20")),
                            case_tables(patient_id="K2", labs=conflict("2025-02-21"))])
    result, dataset = _screen(tables)
    fields = collection_list(result, dataset.patients, data_currency(result.verdicts))
    assert fields[["table", "column", "detail"]].values.tolist() == [
        ["labs", "value", "test anc, results dated 2025-02-20: which is the latest"],
        ["labs", "value", "test anc, results dated 2025-02-21: which is the latest"]]
    summary = fields_by_field(fields)
    assert summary[["patients", "criteria", "table"]].values.tolist() == [[2, "I7", "labs"]]
    # Named by its test, not "value" (review 31), nor as the bare "ANC" beside "ANC result" (audit 42W).
    assert summary["field"].iloc[0] == "ANC: which of one day's results counts"


def test_a_cell_of_a_lab_result_on_file_says_so_in_the_fields_by_field() -> None:
    # Audit 42W: bare "value", "unit" and "collected date" kinds did not say which table's. B1: an ANC row
    # without its value; B2: one without its unit; B3: one without its date. By hand: one patient each.
    base = {"test": "anc", "value": 2.5, "unit": "10^9/L", "collected_date": "2025-02-20"}
    tables = concat_tables([case_tables(patient_id="B1", labs=[{**base, "value": None}]),
                            case_tables(patient_id="B2", labs=[{**base, "unit": None}]),
                            case_tables(patient_id="B3", labs=[{**base, "collected_date": None}])])
    result, dataset = _screen(tables)
    summary = fields_by_field(collection_list(result, dataset.patients, data_currency(result.verdicts)))
    labs = {field: n for field, n, table in summary[["field", "patients", "table"]].itertuples(index=False)
            if table == "labs"}
    assert {"value of a lab result on file": 1, "unit of a lab result on file": 1,
            "collected date of a lab result on file": 1}.items() <= labs.items(), labs


def test_a_field_asked_on_a_condition_is_counted_as_its_own_kind() -> None:
    # C1 and C2: HBV serology and PCR blank (E8 asks the PCR "if serology positive"); C2 also received a live
    # vaccine with no date (E10 asks the date, unconditionally); C3: received blank and no date (E10 asks both,
    # the date "if received"). By hand: serology 2, the conditional PCR 2, received 1, the date 1 + 1 in
    # two kinds, never one "HBV PCR" row a coordinator would order for every patient counted (review 27).
    hbv = {"hbv_serology": None, "hbv_pcr": None}
    tables = concat_tables([
        case_tables(patient_id="C1", patient=hbv),
        case_tables(patient_id="C2", patient={**hbv, "live_vaccine_received": "yes", "live_vaccine_date": None}),
        case_tables(patient_id="C3", patient={"live_vaccine_received": None, "live_vaccine_date": None})])
    result, dataset = _screen(tables)
    summary = fields_by_field(collection_list(result, dataset.patients, data_currency(result.verdicts)))
    counted = {field: n for field, n in summary[["field", "patients"]].itertuples(index=False)}
    assert counted == {"HBV serology": 2, "HBV PCR (if serology positive)": 2,
                       "live vaccine received (a live or attenuated vaccine in the recent history)": 1,
                       "live vaccine date (most recent live/attenuated vaccine)": 1,
                       "live vaccine date (most recent live/attenuated vaccine, if received)": 1}


def test_a_condition_with_a_comma_keeps_all_its_words() -> None:
    # Audit 41A: stage and resectability blank; I1 asks the resectability "if stage III, IIIC or IIID", and
    # the by-field table named it "(..., IIIC or IIID)", cut at the condition's own comma.
    tables = case_tables(patient_id="S1", patient={"ajcc_stage": None, "disease_unresectable": None})
    result, dataset = _screen(tables)
    summary = fields_by_field(collection_list(result, dataset.patients, data_currency(result.verdicts)))
    resectability = [f for f in summary["field"] if f.startswith("disease unresectable")]
    assert len(resectability) == 1 and resectability[0].endswith(", if stage III, IIIC or IIID)"), resectability


def test_the_fields_to_collect_list_each_pending_patient_and_field_once(cohort) -> None:
    # Recounted from the engine's requests with plain Python: every pending patient, only they, and each
    # distinct field a patient waits on once, with every criterion that waits on it.
    for result, patients in ((cohort[0], cohort[1].patients),
                             (fixture := screen(load_dataset(FIXTURE_DATASET), load_params()),
                              load_dataset(FIXTURE_DATASET).patients)):
        fields = collection_list(result, patients, data_currency(result.verdicts))
        pending = set(result.verdicts.loc[result.verdicts["verdict"] == "pending", "patient_id"].astype(str))
        assert set(fields["patient_id"]) == pending
        expected: dict[tuple[str, str], list[str]] = {}
        for row in result.missing_data.itertuples():
            if str(row.patient_id) in pending:
                for token in str(row.fields).split("; "):
                    expected.setdefault((str(row.patient_id), token), []).append(str(row.criterion_id))
        assert len(fields) == len(expected)
        # Each field with its own criteria: the engine's token, rebuilt from the file's table, column,
        # detail and window, keys the criteria that wait on it.
        got = {}
        for row in fields.itertuples():
            # A window whose NMA-LD date has passed says it is closed; the engine's token has the dates only.
            window = row.collect_window.removesuffix(" (closed: NMA-LD date passed)")
            if row.collect_window:
                assert (window != row.collect_window) == (row.nmald_status == "date passed"), row
            disagree = row.detail.startswith("test ") and ", results dated " in row.detail
            rest = (f" (collected {window})" if window
                    else f" ({row.detail.split(', ', 1)[1]})" if disagree else f" ({row.detail})" if row.detail else "")
            # A lab result to collect (or results of one day that disagree): column "value", its test the
            # detail's second word ("test anc, with ...").
            column = row.detail.split(",")[0].removeprefix("test ") if window or disagree else row.column
            token = (f"classify agent {row.field.split(' of prior')[0].removeprefix('agent ')} (therapies {row.detail})"
                     if row.field.startswith("agent '") else f"{row.table}.{column}{rest}")
            got[(row.patient_id, token)] = row.criteria
        assert got == {key: "; ".join(cs) for key, cs in expected.items()}
    assert len(fixture.verdicts) > 0


# --------------------------------------------------------------------------- downloads


def test_downloads_are_formatted_workbooks_with_patient_and_site_on_every_row(cohort, tmp_path) -> None:
    result, dataset = cohort
    tables = download_tables(result, dataset.patients, data_currency(result.verdicts))
    assert list(tables) == list(DOWNLOAD_KINDS)
    paths = write_downloads(tables, tmp_path, "all")
    assert sorted(p.name for p in paths) == sorted(f"all-{k}.{f}" for k in DOWNLOAD_KINDS for f in ("xlsx", "csv"))
    for kind, frame in tables.items():
        book = openpyxl.load_workbook(tmp_path / f"all-{kind}.xlsx")
        sheet = book[DOWNLOAD_KINDS[kind]]
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(frame.columns))}{len(frame) + 1}"
        if kind != "site-criterion-rates":
            assert sheet.column_dimensions["A"].width == len("patient") + 2  # the longest cell: the header
        rows = list(sheet.iter_rows(values_only=True))
        # Every patient table leads with patient and site; the site x criterion rates have no patient.
        lead = ("site", "criterion ID") if kind == "site-criterion-rates" else ("patient", "site")
        assert rows[0][:2] == lead
        assert len(rows) == len(frame) + 1
        assert all(row[0] and row[1] for row in rows[1:])
        csv = pd.read_csv(tmp_path / f"all-{kind}.csv", dtype=str, keep_default_na=False)
        assert csv[lead[0]].tolist() == [r[0] for r in rows[1:]]
    log = pd.read_csv(tmp_path / "all-screening-log.csv", dtype=str)
    assert sorted(log["patient"]) == sorted(result.verdicts["patient_id"])  # every patient exactly once
    # The worklist file says the date its days pending count to (W1's consent, the latest).
    work = pd.read_csv(tmp_path / "all-pending-worklist.csv", dtype=str)
    assert list(work.columns[2:5]) == ["consent date", "as of", "days pending"]
    assert set(work["as of"]) == {"2025-03-10"}
    flags = pd.read_csv(tmp_path / "all-oversight-flags.csv", dtype=str)
    assert list(flags.columns[-2:]) == ["as of", "detail"] and set(flags["as of"]) == {"2025-03-10"}
    # In the workbook, dates are date cells (Excel's date filters work on them) and text wider than the
    # widest column wraps instead of being cut off at its neighbour (review 24).
    sheet = openpyxl.load_workbook(tmp_path / "all-pending-worklist.xlsx")["Pending worklist"]
    header = [cell.value for cell in sheet[1]]
    for title in ("consent date", "as of"):
        cell = sheet.cell(row=2, column=header.index(title) + 1)
        assert cell.is_date and cell.number_format == "yyyy-mm-dd", title
    wide = [i for i, title in enumerate(header)
            if max(len(str(row[i].value or "")) for row in sheet.iter_rows(min_row=1)) + 2 > 60]
    assert wide, "the cohort has no text wider than a column: the wrap is not exercised"
    for i in wide:
        assert all(row[i].alignment.wrap_text for row in sheet.iter_rows(min_row=2) if row[i].value), header[i]


def test_site_criterion_rates_count_each_site_s_outcomes(cohort) -> None:
    # The heat maps' cells as numbers (review 24), recounted here row by row from the outcomes, on a
    # cohort spread over two sites (the record's order, not the data's) and on the fixture's six.
    result, _ = cohort
    tables = concat_tables([case_tables(patient_id="M1", patient={"site_id": "mskcc", "ecog": 3}),
                            case_tables(patient_id="H1", patient={"site_id": "honorhealth", "ecog": None}),
                            case_tables(patient_id="H2", patient={"site_id": "honorhealth"})])
    two_sites, _ = _screen(tables)
    assert list(dict.fromkeys(site_criterion_table(two_sites)["site_id"])) == ["honorhealth", "mskcc"]
    six_sites = screen(load_dataset(FIXTURE_DATASET), load_params())
    for scope in (result, two_sites, six_sites):
        _rates_recount(scope)


def _rates_recount(result: ScreeningResult) -> None:
    table = site_criterion_table(result)
    sites = [s for s in SITE_IDS if s in set(result.verdicts["site_id"].astype(str))]
    assert list(table[["site_id", "criterion_id"]].itertuples(index=False, name=None)) == [
        (s, c) for s in sites for c in CRITERION_IDS]
    outcomes = result.outcomes.astype({"site_id": str, "criterion_id": str, "outcome": str})
    for row in table.itertuples():
        mine = outcomes[(outcomes["site_id"] == row.site_id) & (outcomes["criterion_id"] == row.criterion_id)]
        screened = int((result.verdicts["site_id"].astype(str) == row.site_id).sum())
        assert (row.screened, row.failed, row.unknown) == (
            screened, int((mine["outcome"] == "fail").sum()), int((mine["outcome"] == "unknown").sum()))
        assert row.failed_share == pytest.approx(row.failed / screened)
        assert row.unknown_share == pytest.approx(row.unknown / screened)
    assert table["failed"].sum() == int((outcomes["outcome"] == "fail").sum())
    # In the workbook the shares are numbers shown as percentages, so that Excel sorts them as numbers.
    sheet = openpyxl.load_workbook(io.BytesIO(download_bytes("site-criterion-rates", table, "xlsx"))).active
    header = [cell.value for cell in sheet[1]]
    for title in ("failed share", "unknown share"):
        cells = [row[header.index(title)] for row in sheet.iter_rows(min_row=2)]
        # (a 0.0 reads back from the file as the integer 0: a number either way, not the text "0.0%")
        assert all(isinstance(c.value, (int, float)) and c.number_format == "0.0%" for c in cells), title


def test_downloads_are_byte_reproducible(cohort) -> None:
    result, dataset = cohort
    tables = download_tables(result, dataset.patients, data_currency(result.verdicts))
    again = download_tables(result, dataset.patients, data_currency(result.verdicts))
    for kind in DOWNLOAD_KINDS:
        for fmt in ("xlsx", "csv"):
            assert download_bytes(kind, tables[kind], fmt) == download_bytes(kind, again[kind], fmt)


def test_a_formula_in_a_download_stays_text() -> None:
    frame = pd.DataFrame({"patient_id": ["P1"], "site_id": ["mskcc"], "evidence": ["=HYPERLINK(1)"]})
    csv = download_bytes("failure-details", frame, "csv").decode()
    assert "'=HYPERLINK(1)" in csv
    sheet = openpyxl.load_workbook(io.BytesIO(download_bytes("failure-details", frame, "xlsx"))).active
    assert sheet["C2"].data_type == "s"


def test_page_tables_no_longer_blank_repeated_patients(cohort) -> None:
    result, dataset = cohort
    report = EligibilityReport.from_result(result, dataset)
    html = report.failure_details().to_html()
    assert html.count("<td>X1</td>") == len(result.outcomes.query("patient_id == 'X1' and outcome == 'fail'"))


# --------------------------------------------------------------------------- attrition


def _expected_attrition(result: ScreeningResult) -> dict[str, int]:
    # Independently of the outcomes table: the first ID of each ineligible patient's `failed` text.
    ineligible = result.verdicts[result.verdicts["verdict"].astype(str) == "ineligible"]
    firsts = ineligible["failed"].astype(str).str.split(";").str[0]
    return {cid: int((firsts == cid).sum()) for cid in CRITERION_IDS}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=screening_tables(min_patients=1, max_patients=12))
def test_attrition_boxes_reconcile_to_n(tables: dict[str, pd.DataFrame]) -> None:
    result, _ = _screen(tables)
    table = attrition_table(result)
    n = len(result.verdicts)
    boxes = table.set_index("box")
    excluded = table[table["box"] == "excluded"]
    assert int(boxes.loc["screened", "patients"]) == n
    assert int(excluded["patients"].sum()) + int(boxes.loc["pending", "patients"]) \
        + int(boxes.loc["eligible", "patients"]) == n
    assert excluded["criterion_id"].tolist() == list(CRITERION_IDS)  # protocol order
    assert dict(zip(excluded["criterion_id"], excluded["patients"], strict=True)) == _expected_attrition(result)
    remaining = [n, *excluded["remaining"].tolist()]
    assert all(a - b == k for a, b, k in zip(remaining, remaining[1:], excluded["patients"], strict=False))
    assert remaining[-1] == int(boxes.loc["pending", "patients"]) + int(boxes.loc["eligible", "patients"])
    assert int(failure_sets(result)["patients"].sum()) == int((result.verdicts["verdict"] == "ineligible").sum())


# --------------------------------------------------------------------------- oversight


def test_nma_ld_flags_only_patients_not_eligible(cohort) -> None:
    result, dataset = cohort
    flags = oversight_flags(result, dataset.patients, data_currency(result.verdicts))
    ld = flags[flags["flag"].str.startswith("NMA-LD")].set_index("patient_id")
    assert sorted(ld.index) == ["W1", "X1"]  # E1 and S1 are eligible; W2 has no NMA-LD date
    assert ld.loc["X1", "flag"] == "NMA-LD while ineligible"
    assert ld.loc["X1", "detail"].startswith("NMA-LD date passed")  # 2025-03-01 <= 2025-03-10
    assert ld.loc["W1", "flag"] == "NMA-LD while pending"
    assert ld.loc["W1", "detail"].startswith("NMA-LD scheduled (in 19 days); unknown: ")  # 2025-03-29 > 2025-03-10
    # Without a currency date (no consent date, no cut) nothing tells passed from scheduled: it said
    # "scheduled" where the worklist gives the date alone (review 26B).
    unknown_currency = oversight_flags(result, dataset.patients, data_currency(result.verdicts.iloc[:0]))
    assert unknown_currency.set_index("patient_id").loc["W1", "detail"].startswith(
        "NMA-LD date recorded (no consent or cut date to tell passed from scheduled); unknown: ")
    # Each flag fills the date it is about: the NMA-LD date here, no approval date (review 24).
    assert ld.loc["W1", "nmald_date"] == pd.Timestamp("2025-03-29") and pd.isna(ld.loc["W1", "approved_date"])
    waived = flags[flags["flag"] == "waiver by a role not allowed"]
    assert waived["approved_date"].notna().all() and waived["nmald_date"].isna().all()


def test_a_waiver_without_its_approver_is_flagged_and_its_role_not_known() -> None:
    # Session 30: a blank approver waives (every override row is a documented waiver); the monitor
    # sees it as a flag of its own, not as "a role not allowed" with an empty name.
    tables = concat_tables([case_tables({"steroid_mg_per_day": 15}, patient_id="U1",
                                        overrides=[{"criterion_id": "E6", "approved_by": None}])])
    result, dataset = _screen(tables)
    flags = oversight_flags(result, dataset.patients, data_currency(result.verdicts))
    waived = flags[flags["patient_id"] == "U1"]
    assert waived["flag"].tolist() == ["waiver without a recorded approver"]
    assert waived["detail"].iloc[0].startswith("E6 waived (approver not recorded); applied, as every documented "
                                               "waiver is: the verdict (eligible) counts E6 as waived")
    roles = waivers_with_roles(result, DEFAULT_WAIVER_ROLES)
    assert roles["approver_allowed"].tolist() == ["not known (approver not recorded)"]


def test_every_download_of_a_dataset_without_patients_has_its_header_and_no_row() -> None:
    # The NMA-LD flags looked each patient's date up with Series.map, which failed on zero patients
    # ("Cannot cast DatetimeArray to dtype float64"; review 24).
    empty = {name: frame.iloc[0:0] for name, frame in case_tables(patient_id="A1").items()}
    result, dataset = _screen(empty)
    tables = download_tables(result, dataset.patients, data_currency(result.verdicts))
    assert list(tables) == list(DOWNLOAD_KINDS) and all(len(frame) == 0 for frame in tables.values())
    assert list(tables["oversight-flags"].columns[4:6]) == ["nmald_date", "approved_date"]
    for kind, frame in tables.items():
        assert download_bytes(kind, frame, "csv").decode("utf-8-sig").count("\n") == 1, kind


def test_a_waiver_by_a_role_not_allowed_is_flagged(cohort) -> None:
    result, _ = cohort
    flags = waiver_flags(result, DEFAULT_WAIVER_ROLES)
    assert flags["patient_id"].tolist() == ["S1"]
    assert flags.loc[0, "detail"].startswith("E3 waived by Sub-Investigator")
    # The waiver is applied all the same; the flag says so (review 29E: it read as if it were not).
    verdict = result.verdicts.set_index("patient_id").loc["S1", "verdict"]
    assert f"applied, as every documented waiver is: the verdict ({verdict}) counts E3 as waived" \
        in flags.loc[0, "detail"]


def test_allowed_roles_are_configurable_and_compared_without_case() -> None:
    assert waiver_roles("") == DEFAULT_WAIVER_ROLES
    assert waiver_roles(" sub-investigator ; PI ") == ("sub-investigator", "PI")
    result, _ = _screen(case_tables(patient_id="S1", patient={"melanoma_subtype": "uveal"}, overrides=["E3"]))
    assert result.waivers["approved_by"].tolist() == ["medical monitor"]
    assert waiver_flags(result, ("Medical Monitor ",)).empty
    assert len(waiver_flags(result, DEFAULT_WAIVER_ROLES)) == 1


def test_waiver_rate_per_site(cohort) -> None:
    result, _ = cohort
    rates = waiver_rates(result).set_index("site_id")
    assert rates.loc["honorhealth"].to_dict() == {"screened": 5, "waivers": 1, "patients_waived": 1,
                                                  "waiver_rate": pytest.approx(0.2)}


def test_the_page_header_says_who_needs_action_and_how_current(cohort) -> None:
    result, dataset = cohort
    header = EligibilityReport.from_result(result, dataset).page_header("eligibility_report")._repr_html_()
    assert "Data current to 2025-03-10 (latest consent date in the data; no data cut date given)." in header
    assert "2 pending</strong> patients need data" in header
    assert "1 NMA-LD while ineligible; 1 NMA-LD while pending; 1 waiver by a role not allowed" in header
    assert 'href="all-pending-worklist.xlsx"' in header and 'href="../program_overview/all.html"' in header


def test_the_page_header_says_one_pending_patient_in_the_singular() -> None:
    result, dataset = _screen(case_tables(patient_id="S1", patient={"ecog": None}))
    header = EligibilityReport.from_result(result, dataset).page_header("eligibility_report")._repr_html_()
    assert "1 patient screened:" in header and "1 pending</strong> patient needs data" in header, header


def test_screen_writes_one_worklist_per_site_with_every_pending_patient_once(cohort, tmp_path) -> None:
    from lifileucel_analysis.cli import main
    from lifileucel_analysis.contract.writing import write_tables

    result, dataset = cohort
    tables = {name: dataset.table(name).copy() for name in ("patients", "therapies", "labs", "toxicities",
                                                            "overrides")}
    tables["patients"].loc[tables["patients"]["patient_id"] == "W2", "site_id"] = "mskcc"
    tables["overrides"]["patient_id"] = tables["overrides"]["patient_id"].astype(str)
    write_tables(tables, tmp_path / "data")
    assert main(["screen", str(tmp_path / "data"), "--out", str(tmp_path / "out")]) == 0
    files = sorted(p.name for p in (tmp_path / "out").glob("worklist-*.csv"))
    assert files == ["worklist-honorhealth.csv", "worklist-mskcc.csv"]
    honor = pd.read_csv(tmp_path / "out" / "worklist-honorhealth.csv", dtype=str)
    msk = pd.read_csv(tmp_path / "out" / "worklist-mskcc.csv", dtype=str)
    assert honor["patient"].tolist() == ["W1"] and msk["patient"].tolist() == ["W2"]
    assert set(msk["site"]) == {"mskcc"}


# --------------------------------------------------------------------------- figures for readers


def test_a_long_title_wraps_inside_the_figure() -> None:
    from lifileucel_analysis.report.figure_style import figure_style, figure_title, new_figure

    with figure_style():
        fig = new_figure((6, 3))
        fig.add_subplot()
        figure_title(fig, "Failure reasons, Memorial Sloan Kettering Cancer Center (65 ineligible of 144 screened)")
        fig.canvas.draw()
        title = fig._suptitle.get_window_extent()
        assert "\n" in fig._suptitle.get_text()
        assert title.x0 >= 0 and title.x1 <= fig.bbox.width


def test_every_figure_of_a_page_has_alt_text_in_the_html(cohort) -> None:
    import nbformat

    from lifileucel_analysis.runner.html_export import notebook_to_html

    result, dataset = cohort
    report = EligibilityReport.from_result(result, dataset)
    figures = [report.flow(), report.attrition_chart(), report.combinations_chart(), report.outcome_grid(),
               report.failure_reasons_chart(), report.unknown_rate_chart(), report.monthly_chart(),
               report.site_comparison_chart(), report.failure_heatmap(), report.unknown_heatmap(), report.timeline()]
    cells = []
    for fig in figures:
        data, metadata = fig._repr_png_()
        cells.append(nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": data, "text/plain": "fig"}, metadata={"image/png": metadata})]))
        assert metadata["alt"] and any(ch.isdigit() for ch in metadata["alt"]), metadata  # counts stated
    page = notebook_to_html(nbformat.v4.new_notebook(cells=cells), "t")
    assert page.count('alt="') == len(figures)
    assert "No description has been provided" not in page
    assert 'alt="Flow: 5 patients screened split into 2 eligible, 2 pending, 1 ineligible."' in page


def test_the_waivers_table_says_whether_the_approvers_role_may_waive() -> None:
    # Audit, session 16: a sub-investigator's waiver was flagged only in the oversight section.
    from types import SimpleNamespace

    from lifileucel_analysis.report.oversight import waivers_with_roles

    waivers = pd.DataFrame({
        "patient_id": ["P1", "P2"], "site_id": ["mskcc", "mskcc"], "criterion_id": ["I6", "E6"],
        "original_outcome": ["fail", "fail"], "original_evidence": ["ECOG 2 > 1", "steroid 20 mg/day > 10"],
        "approved_by": [" Medical Monitor ", "Sub-Investigator"],
        "approved_date": pd.to_datetime(["2025-03-02", "2025-03-03"]), "reason": ["a", "b"]})
    from lifileucel_analysis.engine.parameters import load_params

    outcomes = pd.DataFrame({"patient_id": ["P1", "P2"], "criterion_id": ["I6", "E6"], "outcome": ["waived"] * 2,
                             "evidence": ["waived by x on 2025-03-02: a (was fail: ECOG 2 > 1)",
                                          "waived by y on 2025-03-03: b (was fail: steroid 20 mg/day > 10)"]})
    result = SimpleNamespace(waivers=waivers, outcomes=outcomes, params=load_params(None))
    table = waivers_with_roles(result, ("medical monitor", "principal investigator"))
    assert table["approver_allowed"].tolist() == ["yes", "no (not in waiver_roles)"]
    assert list(table.columns).index("approver_allowed") == list(table.columns).index("approved_by") + 1
