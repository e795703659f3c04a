"""The ``screen`` command's ``fields-<site>.csv``: the fields a site's pending patients wait on, one row each.

A coordinator who runs ``screen`` instead of building the pages gets the pages' fields-to-collect
download beside each worklist (session 26; it had the worklist only). Checked here against the
screen's own other files, read back as a user would: the worklist's patients in its order, the
unknown criteria of ``outcomes.csv``, and the site page's download. That the plain, sliced and
bucketed screens write the same bytes is checked with every other file in ``test_buckets.py``
and ``test_sliced_screen.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import middle_consent_date, write_messy_cohort

from lifileucel_analysis import cli
from lifileucel_analysis.contract.schema import SITE_IDS
from lifileucel_analysis.report.downloads import download_bytes, download_tables
from lifileucel_analysis.report.screening_inputs import screen_files
from lifileucel_analysis.report.worklist import data_currency


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module", params=["no cut", "cut"])
def screened(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("fields")
    data = write_messy_cohort(root / "data", 400)
    cut = middle_consent_date(data) if request.param == "cut" else ""
    assert cli.main(["screen", str(data), "--out", str(root / "out"), *(["--cut-date", cut] if cut else [])]) == 0
    return data, root / "out", cut


def _sites(out: Path) -> list[str]:
    return [site for site in SITE_IDS if (out / f"worklist-{site}.csv").exists()]


def test_a_fields_file_beside_every_worklist_and_no_other(screened: tuple[Path, Path, str]) -> None:
    _, out, _ = screened
    verdicts = _read(out / "verdicts.csv")
    sites = _sites(out)
    assert set(sites) == set(verdicts["site_id"]) and len(sites) >= 3
    assert sorted(p.name for p in out.glob("fields-*.csv")) == sorted(f"fields-{site}.csv" for site in sites)


def test_each_site_lists_its_pending_patients_once_each_in_the_worklists_order(
        screened: tuple[Path, Path, str]) -> None:
    _, out, _ = screened
    verdicts = _read(out / "verdicts.csv")
    for site in _sites(out):
        worklist, fields = _read(out / f"worklist-{site}.csv"), _read(out / f"fields-{site}.csv")
        pending = verdicts[(verdicts["site_id"] == site) & (verdicts["verdict"] == "pending")]["patient_id"]
        first_rows = fields["patient"].drop_duplicates().tolist()
        assert first_rows == worklist["patient"].tolist()  # the worklist's order
        assert sorted(first_rows) == sorted(pending)  # every pending patient of the site, no other
        runs = (fields["patient"] != fields["patient"].shift()).sum()
        assert runs == len(first_rows)  # a patient's fields are together
        assert set(fields["site"]) <= {site}
        assert (fields["collected (date or note)"] == "").all()


def test_every_criterion_named_is_unknown_for_that_patient_and_every_unknown_is_named(
        screened: tuple[Path, Path, str]) -> None:
    _, out, _ = screened
    outcomes = _read(out / "outcomes.csv")
    verdicts = _read(out / "verdicts.csv")
    pending = set(verdicts.loc[verdicts["verdict"] == "pending", "patient_id"])
    unknown = outcomes[(outcomes["outcome"] == "unknown") & outcomes["patient_id"].isin(pending)]
    expected = set(zip(unknown["patient_id"], unknown["criterion_id"], strict=True))
    fields = pd.concat([_read(out / f"fields-{site}.csv") for site in _sites(out)], ignore_index=True)
    named = {(patient, criterion) for patient, criteria in zip(fields["patient"], fields["criteria"], strict=True)
             for criterion in criteria.split("; ")}
    assert named == expected
    assert len(expected) > 50


def test_the_file_is_the_site_pages_download_byte_for_byte(screened: tuple[Path, Path, str]) -> None:
    # The page's download is built from the site's own part of the screening and written by the
    # report's writer; the screen's file is the program's rows cut by site, written by the chunk
    # writer. Byte for byte: the same rows, order, titles, dates and byte-order mark (review 26C: the
    # mark was missing, so Excel garbled accented text in the file a coordinator fills in).
    data, out, cut = screened
    inputs = screen_files(data, "", cut_date=cut)
    program = inputs.result
    currency = data_currency(program.verdicts, inputs.cut.cut_date if inputs.cut is not None else None)
    for site in _sites(out):
        download = download_tables(program.for_site(site), inputs.dataset.patients, currency)["pending-fields"]
        assert (out / f"fields-{site}.csv").read_bytes() == download_bytes("pending-fields", download, "csv")
