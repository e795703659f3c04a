"""The synthetic cohort generator and the bundled demo and fixture datasets.

What is proven here:

- generated frames are typed exactly as the contract says and are contract-valid
  (codes, ranges, keys, and the date orderings a real screening log has);
- the demo cohort exercises every criterion: each one fails for some patients and is
  unknown for others (I3, which never fails, passes for some and is not applicable for
  others); all six sites appear; every site with more than 20 patients has all three
  verdicts; the verdict mix is in the documented target ranges;
- the committed demo and fixture files are byte-identical to what their seeds generate;
- the same seed gives the same bytes in every format, and different seeds differ.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifileucel_analysis import load_dataset, synth
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.paths import DEMO_DATASET, FIXTURE_DATASET
from lifileucel_analysis.contract.schema import (
    CRITERION_IDS,
    PATIENT_ID_PATTERN,
    SITE_IDS,
    TABLES,
    TESTS_NEEDING_ULN,
    UNIT_FACTORS,
    coerce,
    dtype_for,
)
from lifileucel_analysis.engine.screening import ScreeningResult, screen
from lifileucel_analysis.synth.distributions import STAGE_DAYS
from lifileucel_analysis.synth.frames import patient_ids

TABLE_FILES = sorted(f"{name}.csv" for name in TABLES)
AS_OF = pd.Timestamp(synth.DEFAULT_AS_OF)


@pytest.fixture(scope="module")
def demo_tables() -> dict[str, pd.DataFrame]:
    return synth.generate_cohort(synth.DEMO_N, synth.DEMO_SEED)


@pytest.fixture(scope="module")
def demo_result(demo_tables: dict[str, pd.DataFrame]) -> ScreeningResult:
    return screen(ScreeningDataset(**demo_tables), load_params())


@pytest.fixture(scope="module")
def outcome_counts(demo_result: ScreeningResult) -> pd.DataFrame:
    """Criterion x outcome counts of the demo cohort."""
    outcomes = demo_result.outcomes
    return pd.crosstab(outcomes["criterion_id"].astype(str), outcomes["outcome"].astype(str)).reindex(
        index=list(CRITERION_IDS), columns=["pass", "fail", "unknown", "not_applicable", "waived"], fill_value=0)


# --- contract validity -----------------------------------------------------------------


def assert_contract_valid(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp = AS_OF) -> None:
    """Assert the typed tables satisfy the data contract and a screening log's date logic."""
    assert list(tables) == list(TABLES)
    for name, frame in tables.items():
        spec = TABLES[name]
        assert list(frame.columns) == list(spec.column_names), name
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0, name
        for column in spec.columns:
            values = frame[column.name]
            assert values.dtype == dtype_for(column), (name, column.name, values.dtype)
            if column.required:
                assert values.notna().all(), (name, column.name)
            if column.minimum is not None:
                assert (values.dropna() >= column.minimum).all(), (name, column.name)
            if column.maximum is not None:
                assert (values.dropna() <= column.maximum).all(), (name, column.name)
        if spec.key:
            assert not frame.duplicated(list(spec.key)).any(), name
    patients = tables["patients"]
    assert patients["patient_id"].str.fullmatch(PATIENT_ID_PATTERN).all()
    ids = set(patients["patient_id"])
    for name in ("therapies", "labs", "toxicities", "overrides"):
        assert set(tables[name]["patient_id"]) <= ids, name
    _assert_patient_dates(patients, as_of)
    _assert_therapy_dates(tables["therapies"], patients, as_of)
    _assert_labs(tables["labs"], patients, as_of)
    assert (tables["overrides"]["approved_date"] <= as_of).all()


def _assert_patient_dates(p: pd.DataFrame, as_of: pd.Timestamp) -> None:
    assert p["consent_date"].notna().all()
    assert (p["consent_date"] >= pd.Timestamp(synth.PROGRAM_START)).all()
    assert (p["consent_date"] <= as_of).all()
    assert p["consent_date"].is_monotonic_increasing, "IDs follow the order of consent"
    assert (p["birth_date"].dropna() < p.loc[p["birth_date"].notna(), "consent_date"]).all()
    ld = p["lymphodepletion_date"]
    assert (ld.dropna() >= p.loc[ld.notna(), "consent_date"]).all()
    stable = p["brain_metastases_stable_since"]
    both = stable.notna() & ld.notna()
    assert (stable[both] < ld[both]).all()
    assert (stable.dropna() <= as_of).all()
    assert (p["live_vaccine_date"].dropna() <= as_of).all()
    assert p.loc[p["live_vaccine_received"] == False, "live_vaccine_date"].isna().all()  # noqa: E712
    assert p.loc[p["hbv_serology"] == "negative", "hbv_pcr"].isna().all()
    male = p["sex"] == "male"
    assert p.loc[male, ["pregnant", "breastfeeding"]].isna().all().all()


def _per_event(events: pd.DataFrame, patients: pd.DataFrame, column: str) -> pd.Series:
    """The patients' ``column`` aligned with the event rows (``Series.map`` fails on empty frames)."""
    positions = pd.Index(patients["patient_id"]).get_indexer(events["patient_id"])
    return patients[column].iloc[positions].reset_index(drop=True)


def _assert_therapy_dates(t: pd.DataFrame, p: pd.DataFrame, as_of: pd.Timestamp) -> None:
    consent = _per_event(t, p, "consent_date")
    assert (t["start_date"] < consent).all(), "every prior line started before consent"
    ended = t["end_date"].notna()
    assert (t.loc[ended, "end_date"] >= t.loc[ended, "start_date"]).all()
    assert (t.loc[ended, "end_date"] <= consent[ended]).all()
    assert (t["end_date"].isna() == (t["stop_reason"] == "ongoing")).all(), "blank end date = ongoing"
    recurred = t["recurrence_date"].notna()
    assert (t.loc[recurred, "setting"] != "metastatic").all(), "recurrence dates belong to adjuvant lines"
    assert (t.loc[recurred, "recurrence_date"] < consent[recurred]).all()
    lines = t.groupby("patient_id", sort=False)["line"]
    assert (lines.min() == 1).all() and (lines.max() == lines.count()).all(), "lines are 1..k"


def _assert_labs(labs: pd.DataFrame, p: pd.DataFrame, as_of: pd.Timestamp) -> None:
    for test, units in UNIT_FACTORS.items():
        assert set(labs.loc[labs["test"] == test, "unit"].astype(str)) <= set(units), test
    needs_uln = labs["test"].isin(TESTS_NEEDING_ULN)
    assert labs.loc[needs_uln, "uln"].notna().all() and (labs.loc[needs_uln, "uln"] > 0).all()
    assert labs.loc[~needs_uln, "uln"].isna().all()
    assert (labs["collected_date"] <= as_of).all()
    consent, ld = _per_event(labs, p, "consent_date"), _per_event(labs, p, "lymphodepletion_date")
    around_consent = labs["collected_date"] <= consent + pd.Timedelta(days=7)
    after_ld = labs["collected_date"] > ld
    assert (around_consent | after_ld).all(), "labs are screening results or post-NMA-LD results"


def test_demo_cohort_is_typed_and_contract_valid(demo_tables: dict[str, pd.DataFrame]) -> None:
    assert len(demo_tables["patients"]) == synth.DEMO_N
    assert_contract_valid(demo_tables)


def test_a_larger_cohort_is_contract_valid() -> None:
    assert_contract_valid(synth.generate_cohort(5000, 3))


def test_a_different_cut_off_moves_every_date_below_it() -> None:
    as_of = "2024-03-31"
    tables = synth.generate_cohort(500, 11, as_of=as_of)
    assert_contract_valid(tables, pd.Timestamp(as_of))
    assert tables["patients"]["consent_date"].max() <= pd.Timestamp(as_of)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(min_value=0, max_value=60), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_small_cohort_is_contract_valid_and_screens(n: int, seed: int) -> None:
    tables = synth.generate_cohort(n, seed)
    assert len(tables["patients"]) == n
    assert_contract_valid(tables)
    result = screen(ScreeningDataset(**tables), load_params())
    assert len(result.verdicts) == n


def test_patient_ids_are_sequential_and_widen_past_a_million() -> None:
    assert list(synth.generate_cohort(3, 1)["patients"]["patient_id"]) == ["EAP-000001", "EAP-000002", "EAP-000003"]
    ids = patient_ids(1_000_000)
    assert ids[0] == "EAP-0000001" and ids[-1] == "EAP-1000000"
    assert pd.Series(ids[-5:]).str.fullmatch(PATIENT_ID_PATTERN).all()


@pytest.mark.parametrize(("n", "as_of"), [(-1, synth.DEFAULT_AS_OF), (10, "2022-06-30")])
def test_bad_arguments_are_refused(n: int, as_of: str) -> None:
    with pytest.raises(ValueError):
        synth.generate_cohort(n, 1, as_of=as_of)


# --- realism: what the data contain ----------------------------------------------------


def test_demo_cohort_carries_the_documented_variety(demo_tables: dict[str, pd.DataFrame]) -> None:
    p, t, labs, tox, o = (demo_tables[name] for name in TABLES)
    sites = p["site_id"].value_counts()
    assert sites.idxmax() == "mskcc" and sites.nunique() > 1, "mskcc is the largest site; volumes differ"
    assert set(p["melanoma_subtype"].dropna()) == {"cutaneous", "acral", "mucosal", "uveal", "unknown_primary"}
    assert p["melanoma_subtype"].value_counts(normalize=True)["cutaneous"] > 0.5
    assert (p["ajcc_stage"] == "IV").mean() > 0.7 and p["ajcc_stage"].isin(["IIIC", "IIID"]).any()
    age = (p["consent_date"] - p["birth_date"]).dt.days / 365.25
    assert 52 <= age.median() <= 65 and (age < 18).sum() >= 1
    agents = set(t["agents"].dropna())
    assert {"nivolumab+ipilimumab", "nivolumab+relatlimab", "pembrolizumab", "lifileucel"} <= agents
    assert any(a.startswith(("dabrafenib", "encorafenib", "vemurafenib")) for a in agents)
    assert any(re.search(r"(.)\1(\+|$)", a) for a in agents), "a misspelled agent for data-quality findings"
    assert set(t["setting"].dropna()) == {"adjuvant", "neoadjuvant", "metastatic"}
    for test, units in UNIT_FACTORS.items():
        assert set(labs.loc[labs["test"] == test, "unit"].astype(str)) == set(units), test
    assert labs.groupby(["patient_id", "test"], observed=True).size().max() > 2, "several results per test"
    assert set(tox["category"].dropna()) == {"endocrine", "ocular", "vitiligo", "other"}
    assert set(tox["grade"].dropna()) == {1, 2, 3, 4}
    assert set(tox["ongoing"].dropna()) == {True, False}
    assert len(o) > 0 and "Principal Investigator" in set(o["approved_by"])


def test_labs_include_results_outside_the_window_and_after_nmald(demo_tables: dict[str, pd.DataFrame]) -> None:
    p, labs = demo_tables["patients"], demo_tables["labs"]
    consent, ld = _per_event(labs, p, "consent_date"), _per_event(labs, p, "lymphodepletion_date")
    assert (labs["collected_date"] < consent - pd.Timedelta(days=28)).any()
    assert (labs["collected_date"] > ld).any()


def test_recently_consented_patients_are_incomplete(demo_tables: dict[str, pd.DataFrame]) -> None:
    p = demo_tables["patients"]
    recent = p["consent_date"] > AS_OF - pd.Timedelta(days=STAGE_DAYS[0])
    assert recent.any()
    assert p.loc[recent, ["lymphodepletion_date", "resectable_lesion_cm", "hiv_serology"]].isna().all().all()


# --- coverage of the criteria (needs the screening engine) -----------------------------


@pytest.mark.parametrize("criterion", [c for c in CRITERION_IDS if c != "I3"])
def test_every_criterion_fails_and_is_unknown_in_the_demo(outcome_counts: pd.DataFrame, criterion: str) -> None:
    assert outcome_counts.loc[criterion, "fail"] > 0
    assert outcome_counts.loc[criterion, "unknown"] > 0


def test_i3_passes_and_is_not_applicable_in_the_demo(outcome_counts: pd.DataFrame) -> None:
    assert outcome_counts.loc["I3", "pass"] > 0
    assert outcome_counts.loc["I3", "not_applicable"] > 0
    assert outcome_counts.loc["I3", ["fail", "unknown"]].sum() == 0


def test_e11_is_not_applicable_for_men(outcome_counts: pd.DataFrame) -> None:
    assert outcome_counts.loc["E11", "not_applicable"] > 0


def test_overrides_waive_criteria(outcome_counts: pd.DataFrame) -> None:
    assert outcome_counts["waived"].sum() > 0


def test_all_six_sites_appear(demo_result: ScreeningResult) -> None:
    assert set(demo_result.verdicts["site_id"].astype(str)) == set(SITE_IDS)


def test_every_site_over_20_patients_has_all_three_verdicts(demo_result: ScreeningResult) -> None:
    verdicts = demo_result.verdicts.astype({"site_id": str, "verdict": str})
    per_site = verdicts.groupby("site_id")["verdict"].agg(["size", "nunique"])
    assert (per_site.loc[per_site["size"] > 20, "nunique"] == 3).all(), per_site


def test_demo_verdict_mix_is_in_the_target_ranges(demo_result: ScreeningResult) -> None:
    share = demo_result.verdicts["verdict"].value_counts(normalize=True)
    assert 0.25 <= share["eligible"] <= 0.35
    assert 0.35 <= share["ineligible"] <= 0.45
    assert share["pending"] >= 0.20


def test_fixture_cohort_covers_three_verdicts_and_three_sites() -> None:
    tables = synth.generate_cohort(synth.FIXTURE_N, synth.FIXTURE_SEED)
    verdicts = screen(ScreeningDataset(**tables), load_params()).verdicts
    assert set(verdicts["verdict"].astype(str)) == {"eligible", "pending", "ineligible"}
    assert verdicts["site_id"].nunique() >= 3


# --- determinism and the bundled files ----------------------------------------------------


def _read_bytes(paths: list[Path]) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in paths}


@pytest.mark.parametrize(("bundled", "n", "seed"), [
    (DEMO_DATASET, synth.DEMO_N, synth.DEMO_SEED),
    (FIXTURE_DATASET, synth.FIXTURE_N, synth.FIXTURE_SEED),
])
def test_committed_data_are_what_their_seed_generates(tmp_path: Path, bundled: Path, n: int, seed: int) -> None:
    regenerated = _read_bytes(synth.write_cohort(n, seed, tmp_path / "cohort", "csv"))
    assert sorted(regenerated) == TABLE_FILES
    committed = sorted(path.name for path in bundled.iterdir() if path.suffix == ".csv")
    assert committed == TABLE_FILES, f"{bundled} must hold exactly the five tables"
    for name, data in regenerated.items():
        assert (bundled / name).read_bytes() == data, (
            f"{bundled / name} differs from seed {seed}: run `python -m lifileucel_analysis.synth`")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_same_seed_gives_the_same_bytes_and_another_seed_differs(tmp_path: Path, fmt: synth.Format) -> None:
    def write(seed: int, folder: str) -> dict[str, bytes]:
        out = tmp_path / folder / ("cohort.xlsx" if fmt == "xlsx" else "cohort")
        out.parent.mkdir(parents=True, exist_ok=True)
        return _read_bytes(synth.write_cohort(120, seed, out, fmt))

    first, again, other = write(5, "a"), write(5, "b"), write(6, "c")
    assert first == again
    assert first.keys() == other.keys() and first != other


def test_same_seed_gives_equal_frames_and_another_seed_differs() -> None:
    first, again, other = (synth.generate_cohort(300, seed) for seed in (9, 9, 10))
    for name in TABLES:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["patients"].equals(other["patients"])


def test_generation_ignores_global_numpy_state() -> None:
    """Generation only depends on (n, seed, as_of): no hidden global state."""
    np.random.seed(0)
    first = synth.generate_cohort(50, 1)
    np.random.seed(1)
    again = synth.generate_cohort(50, 1)
    pd.testing.assert_frame_equal(first["labs"], again["labs"])


@pytest.mark.parametrize(("bundled", "n", "seed"), [
    (DEMO_DATASET, synth.DEMO_N, synth.DEMO_SEED),
    (FIXTURE_DATASET, synth.FIXTURE_N, synth.FIXTURE_SEED),
])
def test_committed_csv_reads_back_as_the_generated_frames(bundled: Path, n: int, seed: int) -> None:
    """Numbers, dates, yes/no and blanks survive the CSV text exactly (read with schema.coerce)."""
    generated = synth.generate_cohort(n, seed)
    for name in TABLES:
        text = pd.read_csv(bundled / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
        pd.testing.assert_frame_equal(coerce(name, text), generated[name], obj=name)


def test_bundled_demo_loads_back_as_the_generated_frames() -> None:
    """The CSV round trip loses nothing: loading the committed demo gives the generated frames."""
    loaded = load_dataset(DEMO_DATASET)
    generated = synth.generate_cohort(synth.DEMO_N, synth.DEMO_SEED)
    for name in TABLES:
        pd.testing.assert_frame_equal(loaded.table(name).reset_index(drop=True), generated[name], obj=name)
