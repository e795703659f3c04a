"""Summary tables on small hand-built results whose expected counts are worked out by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest

from helpers import case_tables, concat_tables
from lifileucel_analysis.contract import schema

from lifileucel_analysis.report import site_summaries, summaries, table_one
from lifileucel_analysis.contract.data_cut import DataCut
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.screening import screen
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.contract.schema import CRITERION_IDS, SITE_IDS
from lifileucel_analysis.engine.screening import ScreeningResult
from lifileucel_analysis.report.site_summaries import wilson_interval
from lifileucel_analysis.report.summaries import ReconciliationError

OUTCOME_DTYPE = pd.CategoricalDtype(["pass", "fail", "unknown", "not_applicable", "waived"])
CRITERION_DTYPE = pd.CategoricalDtype(list(CRITERION_IDS), ordered=True)
SITE_DTYPE = pd.CategoricalDtype(list(SITE_IDS))
VERDICT_DTYPE = pd.CategoricalDtype(["eligible", "pending", "ineligible"])

Patient = tuple[str, str, Mapping[str, str]]
"""(site_id, consent date 'YYYY-MM-DD' or '', {criterion_id: outcome}); other criteria pass."""


def _joined(outcomes: Mapping[str, str], wanted: str) -> str:
    return ";".join(c for c in CRITERION_IDS if outcomes.get(c) == wanted)


def build_result(patients: Mapping[str, Patient], waivers: Sequence[Mapping[str, object]] = (),
                 findings: Sequence[Mapping[str, object]] = (), n_in: int | None = None) -> ScreeningResult:
    """A ScreeningResult made by hand: unlisted criteria pass; verdicts follow the spec's rule."""
    rows = [
        {"patient_id": pid, "site_id": site, "criterion_id": c, "outcome": outs.get(c, "pass"),
         "evidence": f"{c} {outs.get(c, 'pass')}", "missing": "patients.ecog" if outs.get(c) == "unknown" else ""}
        for pid, (site, _, outs) in patients.items() for c in CRITERION_IDS
    ]
    columns = ["patient_id", "site_id", "criterion_id", "outcome", "evidence", "missing"]
    outcomes = pd.DataFrame(rows, columns=columns).astype({"site_id": SITE_DTYPE, "criterion_id": CRITERION_DTYPE,
                                          "outcome": OUTCOME_DTYPE})
    verdict_rows = []
    for pid, (site, consent, outs) in patients.items():
        failed, unknown = _joined(outs, "fail"), _joined(outs, "unknown")
        verdict = "ineligible" if failed else "pending" if unknown else "eligible"
        verdict_rows.append({"patient_id": pid, "site_id": site, "consent_date": pd.Timestamp(consent or None),
                             "verdict": verdict, "failed": failed, "unknown": unknown,
                             "waived": _joined(outs, "waived")})
    verdicts = pd.DataFrame(verdict_rows, columns=["patient_id", "site_id", "consent_date", "verdict", "failed",
                                                   "unknown", "waived"])
    verdicts = verdicts.astype({"site_id": SITE_DTYPE, "verdict": VERDICT_DTYPE, "consent_date": "datetime64[s]"})
    pending = verdicts.loc[verdicts["verdict"] == "pending", "patient_id"]
    missing = outcomes[(outcomes["outcome"] == "unknown") & outcomes["patient_id"].isin(pending)]
    missing = missing[["patient_id", "site_id", "criterion_id", "missing"]].rename(columns={"missing": "fields"})
    waiver_columns = ["patient_id", "site_id", "criterion_id", "approved_by", "approved_date", "reason",
                      "original_outcome", "original_evidence"]
    finding_columns = ["patient_id", "table", "column", "value", "finding"]
    return ScreeningResult(
        outcomes=outcomes, verdicts=verdicts, missing_data=missing.reset_index(drop=True),
        waivers=pd.DataFrame(list(waivers), columns=waiver_columns),
        findings=pd.DataFrame(list(findings), columns=finding_columns),
        params=load_params(), n_in=len(patients) if n_in is None else n_in, dataset_source="by hand",
    )


@pytest.fixture
def three() -> ScreeningResult:
    """P1 fails I4 only, P2 fails I4 and E3, P3 is eligible: all at mskcc."""
    return build_result({
        "P1": ("mskcc", "2025-01-10", {"I4": "fail"}),
        "P2": ("mskcc", "2025-03-05", {"I4": "fail", "E3": "fail"}),
        "P3": ("mskcc", "2025-01-20", {}),
    })


@pytest.fixture
def mixed() -> ScreeningResult:
    """Six patients at three sites with every verdict, a waiver and a blank consent date."""
    return build_result({
        "A1": ("honorhealth", "2024-11-30", {"I4": "fail", "E3": "fail"}),
        "A2": ("honorhealth", "2025-01-02", {"I6": "unknown", "E5": "unknown"}),
        "B1": ("mskcc", "2024-11-01", {"E4": "waived"}),
        "B2": ("mskcc", "", {"I4": "fail", "I6": "unknown"}),
        "B3": ("mskcc", "2025-01-31", {"I6": "unknown"}),
        "C1": ("uofl-brown", "2024-11-15", {"E3": "fail", "E11": "not_applicable"}),
    }, waivers=[{"patient_id": "B1", "site_id": "mskcc", "criterion_id": "E4", "approved_by": "PI",
                 "approved_date": pd.Timestamp("2024-11-02"), "reason": "remote history", "original_outcome": "fail",
                 "original_evidence": "hypersensitivity to the regimen: yes"}])


# --------------------------------------------------------------------------- verdicts


def test_verdict_counts_and_reconciliation(mixed: ScreeningResult) -> None:
    counts = summaries.verdict_counts(mixed)
    assert counts["verdict"].tolist() == ["eligible", "pending", "ineligible"]
    assert counts["patients"].tolist() == [1, 2, 3]
    assert counts["share"].tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    table = summaries.reconciliation(mixed).set_index("check")["patients"]
    assert table["patients in the input (N in)"] == 6
    assert table["patients with a verdict (N out)"] == 6


def test_reconciliation_at_a_data_cut_starts_from_every_patient_of_the_dataset(mixed: ScreeningResult) -> None:
    # 10 patients in the file, 4 consented after the cut: the 6 screened are counted from the 10.
    cut = DataCut(dt.date(2025, 3, 5), patients_in=10, patients_set_aside=4, rows_set_aside={}, dates_blanked={})
    table = summaries.reconciliation(mixed, cut)
    assert table.values.tolist()[:3] == [["patients in the dataset", 10],
                                         ["consented after the data cut 2025-03-05 (not screened)", 4],
                                         ["patients screened at the cut (N in)", 6]]
    assert table.values.tolist()[-1] == ["patients with a verdict (N out)", 6]


def test_verdict_counts_list_every_verdict_even_when_zero(three: ScreeningResult) -> None:
    counts = summaries.verdict_counts(three).set_index("verdict")["patients"]
    assert counts.to_dict() == {"eligible": 1, "pending": 0, "ineligible": 2}


def test_reconciliation_raises_when_n_in_differs() -> None:
    result = build_result({"P1": ("mskcc", "2025-01-01", {})}, n_in=2)
    with pytest.raises(ReconciliationError, match="2 patients in, 1 verdict out"):
        summaries.verdict_counts(result)


def test_reconciliation_raises_on_a_patient_with_two_verdicts(three: ScreeningResult) -> None:
    doubled = pd.concat([three.verdicts, three.verdicts.iloc[[0]]], ignore_index=True)
    result = ScreeningResult(three.outcomes, doubled, three.missing_data, three.waivers, three.findings,
                             three.params, n_in=4)
    with pytest.raises(ReconciliationError, match="more than one verdict for P1"):
        summaries.reconcile(result)


def test_reconciliation_raises_on_outcomes_without_verdict(three: ScreeningResult) -> None:
    result = ScreeningResult(three.outcomes, three.verdicts.iloc[:2], three.missing_data, three.waivers,
                             three.findings, three.params, n_in=2)
    with pytest.raises(ReconciliationError, match="outcomes without a verdict for P3"):
        summaries.reconcile(result)


def test_screening_log_is_in_consent_order_with_blank_dates_last(mixed: ScreeningResult) -> None:
    log = summaries.screening_log(mixed)
    assert log.columns.tolist() == ["patient_id", "site_id", "consent_date", "verdict", "failed", "unknown", "waived"]
    assert log["patient_id"].tolist() == ["B1", "C1", "A1", "A2", "B3", "B2"]
    assert log.set_index("patient_id").loc["A1", "failed"] == "I4;E3"
    assert log.set_index("patient_id").loc["B1", "waived"] == "E4"


def test_failure_details_list_each_failed_criterion_with_evidence(three: ScreeningResult) -> None:
    details = summaries.failure_details(three)
    assert list(zip(details["patient_id"], details["criterion_id"].astype(str))) == [
        ("P1", "I4"), ("P2", "I4"), ("P2", "E3")]
    assert details["evidence"].tolist() == ["I4 fail", "I4 fail", "E3 fail"]


def test_waivers_table_shows_who_when_why(mixed: ScreeningResult) -> None:
    waivers = summaries.waivers_table(mixed)
    assert waivers.loc[0, ["patient_id", "approved_by", "reason", "original_outcome"]].tolist() == [
        "B1", "PI", "remote history", "fail"]
    assert waivers.loc[0, "approved_date"] == pd.Timestamp("2024-11-02")


def test_findings_pass_through_sorted() -> None:
    result = build_result({"P1": ("mskcc", "2025-01-01", {}), "P0": ("mskcc", "2025-01-01", {})},
                          findings=[{"patient_id": "P1", "table": "therapies", "column": "agents", "value": "xyz",
                                     "finding": "unknown agent"},
                                    {"patient_id": "P0", "table": "labs", "column": "value", "value": None,
                                     "finding": "conflict"}])
    findings = summaries.data_quality_findings(result)
    assert findings["patient_id"].tolist() == ["P0", "P1"]
    assert findings["value"].tolist() == ["", "xyz"]


# --------------------------------------------------------------------------- reasons


def test_failure_reasons_any_and_sole(three: ScreeningResult) -> None:
    reasons = summaries.failure_reasons(three).set_index("criterion_id")
    assert reasons.index.tolist() == list(CRITERION_IDS)
    assert reasons.loc["I4", "any_failure"] == 2  # P1 and P2
    assert reasons.loc["I4", "sole_reason"] == 1  # P1 only
    assert reasons.loc["E3", "any_failure"] == 1
    assert reasons.loc["E3", "sole_reason"] == 0
    assert reasons["any_failure"].sum() == 3
    assert reasons.loc["I4", "any_failure_share"] == pytest.approx(2 / 3)  # of screened
    assert reasons.loc["I4", "sole_reason_share"] == pytest.approx(1 / 2)  # of ineligible


def test_criterion_labels_name_the_limits_of_the_run(three: ScreeningResult) -> None:
    default = summaries.failure_reasons(three).set_index("criterion_id").loc["I4", "criterion"]
    assert default == "Resectable lesion >= 1.5 cm"
    stricter = dataclasses.replace(three, params=load_params(overrides={"min_lesion_cm": 2.5}))
    assert summaries.failure_reasons(stricter).set_index("criterion_id").loc["I4", "criterion"] == (
        "Resectable lesion >= 2.5 cm")
    assert summaries.failure_details(stricter)["criterion"].tolist()[0] == "Resectable lesion >= 2.5 cm"
    assert summaries.failure_combinations(stricter)["criteria"].tolist()[0] == "Resectable lesion >= 2.5 cm"
    assert "I4 Resectable lesion >= 2.5 cm: 2" in summaries.flow_boxes(stricter).set_index("box").loc[
        "ineligible", "details"]


def test_failure_combinations(three: ScreeningResult) -> None:
    combos = summaries.failure_combinations(three)
    # Tie (1 patient each): record order decides, I4 before I4 + E3.
    assert combos["combination"].tolist() == ["I4", "I4 + E3"]
    assert combos["patients"].tolist() == [1, 1]
    assert combos["share"].tolist() == pytest.approx([0.5, 0.5])


def test_failure_combinations_keep_the_top_n() -> None:
    patients = {f"P{i}": ("mskcc", "2025-01-01", {"I4": "fail"}) for i in range(3)}
    patients |= {"Q1": ("mskcc", "2025-01-01", {"E3": "fail"}), "Q2": ("mskcc", "2025-01-01", {"E6": "fail"})}
    combos = summaries.failure_combinations(build_result(patients), top=2)
    # The rest in one row, so that the table adds up to the 5 ineligible patients (audit, session 16).
    assert combos["combination"].tolist() == ["I4", "E3", "other combinations (1)"]
    assert combos["patients"].tolist() == [3, 1, 1]
    assert combos["share"].sum() == pytest.approx(1.0)


def test_unknown_rates_per_criterion(mixed: ScreeningResult) -> None:
    rates = summaries.unknown_rates(mixed).set_index("criterion_id")
    assert rates.loc["I6", "unknown"] == 3  # A2, B2, B3
    assert rates.loc["E5", "unknown"] == 1
    assert rates.loc["I6", "unknown_rate"] == pytest.approx(3 / 6)
    assert rates["unknown"].sum() == 4
    assert (rates["patients"] == 6).all()


def test_flow_boxes(mixed: ScreeningResult) -> None:
    boxes = summaries.flow_boxes(mixed, top=2).set_index("box")
    assert boxes["patients"].to_dict() == {"screened": 6, "ineligible": 3, "pending": 2, "eligible": 1}
    # I4 fails A1 and B2, E3 fails A1 and C1: a tie, broken by record order.
    first, second = boxes.loc["ineligible", "details"]
    assert first.startswith("I4 ") and first.endswith(": 2")
    assert second.startswith("E3 ") and second.endswith(": 2")
    assert boxes.loc["pending", "details"][0].startswith("I6 ")  # unknown for A2 and B3 (B2 is ineligible)
    assert boxes.loc["pending", "details"][0].endswith(": 2")
    assert boxes.loc["eligible", "details"] == ("with a waiver: 1",)


# --------------------------------------------------------------------------- time and sites


def test_monthly_counts_fill_empty_months_and_keep_undated(mixed: ScreeningResult) -> None:
    monthly = summaries.monthly_counts(mixed)
    assert monthly["month"].tolist() == ["2024-11", "2024-12", "2025-01", summaries.NO_CONSENT_DATE]
    assert monthly.set_index("month").loc["2024-11", ["eligible", "pending", "ineligible"]].tolist() == [1, 0, 2]
    assert monthly.set_index("month").loc["2024-12", "screened"] == 0
    assert monthly.set_index("month").loc["2025-01", "pending"] == 2
    assert monthly["screened"].sum() == 6  # every patient counted once


def test_monthly_counts_of_nobody_is_empty() -> None:
    empty = build_result({})
    assert summaries.monthly_counts(empty).empty


def test_site_table(mixed: ScreeningResult) -> None:
    table = site_summaries.site_table(mixed).set_index("site_id")
    assert table.index.tolist() == [*SITE_IDS, "all"]
    assert table.loc["mskcc", ["screened", "eligible", "pending", "ineligible"]].tolist() == [3, 1, 1, 1]
    assert table.loc["orlando-health", "screened"] == 0
    assert math.isnan(table.loc["orlando-health", "eligible_share"])
    assert math.isnan(table.loc["orlando-health", "ci_low"])
    assert table.loc["all", "screened"] == 6
    assert table.loc["mskcc", "eligible_share"] == pytest.approx(1 / 3)
    # of the decided (1 eligible, 1 ineligible; the pending patient left out), not of the screened
    assert table.loc["mskcc", "eligible_of_decided_share"] == pytest.approx(1 / 2)
    assert math.isnan(table.loc["orlando-health", "eligible_of_decided_share"])
    low, high = wilson_interval(1, 3)
    assert (table.loc["mskcc", "ci_low"], table.loc["mskcc", "ci_high"]) == pytest.approx((low, high))


def test_site_table_of_one_site_lists_that_site(mixed: ScreeningResult) -> None:
    table = site_summaries.site_table(mixed.for_site("mskcc"), with_total=False)
    assert table["site_id"].tolist() == ["mskcc"]


def test_site_criterion_rates(mixed: ScreeningResult) -> None:
    fail = site_summaries.site_criterion_rates(mixed, "fail")
    assert fail.index.tolist() == list(SITE_IDS)
    assert fail.columns.tolist() == list(CRITERION_IDS)
    assert fail.loc["honorhealth", "I4"] == pytest.approx(1 / 2)
    assert fail.loc["mskcc", "I4"] == pytest.approx(1 / 3)
    assert fail.loc["uofl-brown", "E3"] == pytest.approx(1.0)
    assert fail.loc["mskcc", "E4"] == 0  # waived is not a failure
    assert fail.loc["orlando-health"].isna().all()  # no patients: undefined, not 0
    unknown = site_summaries.site_criterion_rates(mixed, "unknown")
    assert unknown.loc["mskcc", "I6"] == pytest.approx(2 / 3)


def test_site_timeline(mixed: ScreeningResult) -> None:
    spans = site_summaries.site_timeline(mixed).set_index("site_id")
    assert spans.loc["mskcc", "screened"] == 3
    assert spans.loc["mskcc", "first_consent"] == pd.Timestamp("2024-11-01")
    assert spans.loc["mskcc", "last_consent"] == pd.Timestamp("2025-01-31")
    assert pd.isna(spans.loc["wustl-siteman", "first_consent"])


def test_key_figures(mixed: ScreeningResult) -> None:
    figures = site_summaries.key_figures(mixed.for_site("mskcc")).set_index("figure")["value"]
    assert figures["patients screened"] == "3"
    low, high = wilson_interval(1, 3)
    assert figures["eligible share (95% Wilson CI)"] == f"33.3% ({low:.1%} to {high:.1%})"
    assert figures["patients with a waiver"] == "1"
    assert figures["first consent"] == "2024-11-01"
    assert figures["last consent"] == "2025-01-31"


def test_site_facts_come_from_the_record() -> None:
    facts = site_summaries.site_facts("mskcc").set_index("fact")["value"]
    assert facts["site"] == "Memorial Sloan Kettering Cancer Center"
    assert facts["city"] == "New York, NY 10065"
    assert facts["status in the registry record"] == "Available"


# --------------------------------------------------------------------------- Wilson


def _wilson_by_quadratic(k: int, n: int, z: float) -> tuple[float, float]:
    """Independent route: the Wilson bounds are the roots p of (k/n - p)^2 = z^2 p (1 - p) / n."""
    p_hat = k / n
    # (1 + z^2/n) p^2 - (2 p_hat + z^2/n) p + p_hat^2 = 0
    roots = np.roots([1 + z**2 / n, -(2 * p_hat + z**2 / n), p_hat**2])
    return float(min(roots.real)), float(max(roots.real))


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    # Worked by hand with z = 1.959964: e.g. 0/10 -> high = z^2/n / (1 + z^2/n) = 0.38415 / 1.38415.
    (0, 10, 0.0, 0.27753),
    (10, 10, 0.72247, 1.0),
    (5, 10, 0.23659, 0.76341),
    (1, 10, 0.0179, 0.4042),  # Newcombe (1998), Stat Med 17:857, table I
    (81, 263, 0.2553, 0.3662),  # ibid.
])
def test_wilson_interval_known_values(k: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(k, n) == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(("k", "n"), [(1, 3), (2, 7), (13, 62), (26, 117), (99, 100), (1, 1), (0, 1)])
def test_wilson_interval_matches_the_quadratic_roots(k: int, n: int) -> None:
    z = 1.959963984540054
    assert wilson_interval(k, n) == pytest.approx(_wilson_by_quadratic(k, n, z), abs=1e-9)


def test_wilson_interval_matches_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for k, n in [(0, 5), (3, 5), (40, 400), (17, 23)]:
        expected = proportion.proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson_interval(k, n) == pytest.approx(expected, abs=1e-9)


def test_wilson_interval_other_confidence_and_edges() -> None:
    low90, high90 = wilson_interval(5, 10, confidence=0.90)
    low95, high95 = wilson_interval(5, 10)
    assert low95 < low90 < 0.5 < high90 < high95
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(-1, 2)


# --------------------------------------------------------------------------- Table 1


def _dataset(rows: Sequence[Mapping[str, object]], therapies: Sequence[Mapping[str, object]] = ()) -> ScreeningDataset:
    return ScreeningDataset(
        patients=schema.coerce("patients", pd.DataFrame(list(rows))),
        therapies=schema.coerce("therapies", pd.DataFrame(list(therapies), columns=["patient_id", "line"])),
        labs=schema.empty_frame("labs"), toxicities=schema.empty_frame("toxicities"),
    )


@pytest.fixture
def table_one_case(three: ScreeningResult) -> tuple[ScreeningResult, ScreeningDataset]:
    rows = [
        # Turns 70 on the consent date: 70.
        dict(patient_id="P1", site_id="mskcc", sex="female", birth_date="1955-01-10", consent_date="2025-01-10",
             melanoma_subtype="cutaneous", ajcc_stage="IV", ecog=1, braf_v600="mutant"),
        # One day before the 40th birthday: 39.
        dict(patient_id="P2", site_id="mskcc", sex=None, birth_date="1985-03-06", consent_date="2025-03-05",
             melanoma_subtype="acral", ajcc_stage="IIIC", ecog=None, braf_v600="wildtype"),
        dict(patient_id="P3", site_id="mskcc", sex="male", birth_date=None, consent_date="2025-01-20",
             melanoma_subtype="cutaneous", ajcc_stage="IV", ecog=0, braf_v600=None),
    ]
    return three, _dataset(rows, therapies=[{"patient_id": "P1", "line": 1}, {"patient_id": "P1", "line": 2}])


def test_patient_characteristics_age_and_no_birth_date(table_one_case: tuple[ScreeningResult, ScreeningDataset]) -> None:
    result, dataset = table_one_case
    chars = table_one.patient_characteristics(result, dataset).set_index("patient_id")
    assert "birth_date" not in chars.columns
    assert chars.loc["P1", "age"] == 70
    assert chars.loc["P2", "age"] == 39
    assert chars.loc["P3", "age"] is None
    assert chars.loc["P1", "age_group"] == "65-74"
    assert chars.loc["P2", "age_group"] == "18-39"
    assert chars.loc["P3", "age_group"] is None
    assert chars.loc["P1", "prior_lines"] == "2"
    assert chars.loc["P3", "prior_lines"] == "0"


def test_table_one_counts_by_verdict(table_one_case: tuple[ScreeningResult, ScreeningDataset]) -> None:
    result, dataset = table_one_case
    table = table_one.table_one(result, dataset)
    assert table.columns.tolist() == ["variable", "level", "Missing", "Overall", "eligible", "pending", "ineligible"]
    n_row = table[table["variable"] == "n"].iloc[0]
    assert (n_row["Overall"], n_row["eligible"], n_row["pending"], n_row["ineligible"]) == ("3", "1", "0", "2")
    sex = table[table["variable"].str.startswith("Sex")].set_index("level")
    assert sex.index.tolist() == ["female", "male", table_one.NOT_RECORDED]
    assert sex.loc["female", "ineligible"].startswith("1 ")  # P1
    assert sex.loc["male", "eligible"].startswith("1 ")  # P3
    assert sex.loc[table_one.NOT_RECORDED, "ineligible"].startswith("1 ")  # P2, blank sex stays visible
    assert sex.loc["female", "Missing"] == "1"
    ecog = table[table["variable"].str.startswith("ECOG")].set_index("level")
    assert ecog.loc[table_one.NOT_RECORDED, "Overall"].startswith("1 ")
    age = table[table["variable"].str.startswith("Age at consent")].iloc[0]
    assert age["Missing"] == "1"
    assert not table.apply(lambda col: col.str.contains("birth", case=False)).any().any()


def test_a_sites_table_one_has_the_programs_rows(table_one_case: tuple[ScreeningResult, ScreeningDataset]) -> None:
    program, dataset = table_one_case
    only_p1 = build_result({"P1": ("mskcc", "2025-01-10", {"I4": "fail"})})  # female, ECOG 1, IV, mutant
    alone = table_one.table_one(only_p1, dataset)
    table = table_one.table_one(only_p1, dataset, rows_of=program)
    assert table[["variable", "level"]].values.tolist() == table_one.table_one(program, dataset)[
        ["variable", "level"]].values.tolist()
    assert len(alone) < len(table)
    sex = table[table["variable"].str.startswith("Sex")].set_index("level")
    assert sex.index.tolist() == ["female", "male", table_one.NOT_RECORDED]
    assert sex["Overall"].tolist() == ["1 (100.0)", "0 (0.0)", "0 (0.0)"]
    assert sex["ineligible"].tolist() == ["1 (100.0)", "0 (0.0)", "0 (0.0)"]
    assert sex["eligible"].tolist() == ["", "", ""]  # no eligible patient at this scope: blank, as tableone leaves it
    assert sex["Missing"].tolist() == ["0", "", ""]  # P1's own blanks, on the variable's first row
    ecog = table[table["variable"].str.startswith("ECOG")].set_index("level")
    assert ecog.index.tolist() == ["0", "1", table_one.NOT_RECORDED]
    assert ecog["Overall"].tolist() == ["0 (0.0)", "1 (100.0)", "0 (0.0)"]


def test_table_one_of_an_empty_result() -> None:
    table = table_one.table_one(build_result({}), _dataset([]))
    assert table.loc[0, "variable"] == "n"
    assert table.loc[0, "Overall"] == "0"


def test_table_one_emits_no_warnings(table_one_case: tuple[ScreeningResult, ScreeningDataset]) -> None:
    # Notebooks compare stderr: tableone's own deprecation noise must not reach it.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table_one.table_one(*table_one_case)


def test_waivers_table_says_what_was_waived() -> None:
    # Audit 22C (D7): the table said "fail" but not the value the waiver let stand.
    tables = concat_tables([case_tables({"steroid_mg_per_day": 20}, patient_id="A", overrides=["E6"]),
                            case_tables({"ecog": 2}, patient_id="B", overrides=["I6", "E3"])])
    waivers = summaries.waivers_table(screen(ScreeningDataset(**tables)))
    shown = waivers[["patient_id", "criterion_id", "original_outcome", "waived_finding"]].astype(str)
    assert shown.values.tolist() == [
        ["A", "E6", "fail", "steroid 20 mg/day > 10"], ["B", "I6", "fail", "ECOG 2 > 1"],
        ["B", "E3", "pass", "cutaneous melanoma"]]
