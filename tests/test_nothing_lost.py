"""Nothing lost, proven on random datasets: every patient is counted exactly once everywhere.

Datasets come from :mod:`strategies` (blanks and boundary values everywhere, rows in any
order, every site). Each is written to CSV, loaded as a report loads it, screened once,
and read through the same package calls the notebooks make
(:class:`~lifileucel_analysis.report.eligibility_report.EligibilityReport` and :mod:`.summaries`), not through
the HTML, so 50 datasets take seconds:

- the verdicts hold every input patient exactly once, and nobody else;
- the screening log of the eligibility report of each patient's site holds that patient
  exactly once, with the same verdict; the six site reports' logs partition the program
  and the all-sites log holds everyone once;
- the reconciliation line of every report says N in = N out = the site's patients;
- site counts (verdict counts, key figures, monthly counts, the program overview's table)
  sum to the program counts, verdict by verdict.

Reproducible in CI: ``derandomize=True`` and no example database.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from strategies import screening_tables

from lifileucel_analysis.report import site_summaries, summaries
from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.contract.schema import ALL_SITES
from lifileucel_analysis.report.eligibility_report import EligibilityReport
from lifileucel_analysis.contract.schema import SITE_IDS
from lifileucel_analysis.engine.screening import screen

VERDICTS = ("eligible", "pending", "ineligible")
SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def loaded(tables: dict[str, pd.DataFrame]) -> ScreeningDataset:
    """Write the tables as a site would send them (CSV) and load them as a report does."""
    with tempfile.TemporaryDirectory(prefix="nothing-lost-") as folder:
        write_tables(tables, Path(folder) / "data", "csv")
        return load_dataset(Path(folder) / "data")


def reconciliation_line(report: EligibilityReport) -> tuple[int, int]:
    """(N in, N out) as the report's reconciliation table states them."""
    table = summaries.reconciliation(report.result).set_index("check")["patients"]
    return int(table["patients in the input (N in)"]), int(table["patients with a verdict (N out)"])


def verdict_numbers(report: EligibilityReport) -> dict[str, int]:
    counts = summaries.verdict_counts(report.result).set_index("verdict")["patients"]
    return {v: int(counts[v]) for v in VERDICTS}


@SETTINGS
@given(tables=screening_tables(min_patients=1, max_patients=30))
def test_every_patient_is_counted_exactly_once_in_every_report(tables: dict[str, pd.DataFrame]) -> None:
    patients = tables["patients"]
    ids = patients["patient_id"].astype(str)
    site_of = dict(zip(ids, patients["site_id"].astype(str)))
    dataset = loaded(tables)
    assert Counter(dataset.patients["patient_id"].astype(str)) == Counter(ids), "the loader lost or added a patient"

    program = screen(dataset, load_params())
    verdicts = program.verdicts.assign(patient_id=program.verdicts["patient_id"].astype(str))
    assert Counter(verdicts["patient_id"]) == Counter(ids) and verdicts["patient_id"].is_unique
    assert dict(zip(verdicts["patient_id"], verdicts["site_id"].astype(str))) == site_of
    verdict_of = dict(zip(verdicts["patient_id"], verdicts["verdict"].astype(str)))
    assert set(verdict_of.values()) <= set(VERDICTS)

    everyone = EligibilityReport.from_result(program, dataset, site=ALL_SITES)
    assert reconciliation_line(everyone) == (len(ids), len(ids))
    program_counts = verdict_numbers(everyone)
    assert program_counts == {v: list(verdict_of.values()).count(v) for v in VERDICTS}
    all_log = summaries.screening_log(everyone.result)
    assert Counter(all_log["patient_id"].astype(str)) == Counter(ids)

    logged: Counter[str] = Counter()
    site_sums: Counter[str] = Counter()
    for site in SITE_IDS:
        report = EligibilityReport.from_result(program, dataset, site=site)
        expected = sorted(p for p, s in site_of.items() if s == site)
        log = summaries.screening_log(report.result)
        log_ids = log["patient_id"].astype(str)
        assert sorted(log_ids) == expected, f"{site}: the screening log is not exactly the site's patients"
        assert dict(zip(log_ids, log["verdict"].astype(str))) == {p: verdict_of[p] for p in expected}
        assert reconciliation_line(report) == (len(expected), len(expected))
        counts = verdict_numbers(report)
        assert sum(counts.values()) == len(expected)
        figures = site_summaries.key_figures(report.result).set_index("figure")["value"]
        assert int(figures["patients screened"]) == len(expected)
        assert [int(figures[v]) for v in ("eligible", "pending (data to collect)", "ineligible")] == \
            [counts[v] for v in VERDICTS]
        monthly = summaries.monthly_counts(report.result)
        assert int(monthly["screened"].sum()) == len(expected)
        assert {v: int(monthly[v].sum()) for v in VERDICTS} == counts
        logged.update(log_ids)
        site_sums.update(counts)

    assert logged == Counter(ids), "the site reports do not partition the program"
    assert dict(site_sums) | {v: 0 for v in VERDICTS if v not in site_sums} == program_counts

    overview = everyone.site_comparison().frame.set_index("site_id")
    assert list(overview.index) == [*SITE_IDS, "all"]
    for column in ("screened", *VERDICTS):
        assert int(overview.loc[list(SITE_IDS), column].sum()) == int(overview.loc["all", column])
    assert int(overview.loc["all", "screened"]) == len(ids)
    assert {v: int(overview.loc["all", v]) for v in VERDICTS} == program_counts
    for site in SITE_IDS:
        assert int(overview.loc[site, "screened"]) == sum(1 for s in site_of.values() if s == site)
