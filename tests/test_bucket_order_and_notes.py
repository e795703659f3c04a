"""Two behaviours of the sliced and bucketed screens checked only by hand until session 43 (review 42R).

- A refusal on a Dask cluster names the first bad bucket **in bucket order**, as the in-process run
  does, whichever worker finishes first (session 42 gathers in bucket order).
- A site drug file that changes a package drug's class is said **once** on stderr, by the plain, the
  sliced and the bucketed screen alike (not once per slice or bucket).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from helpers import write_messy_cohort

from lifileucel_analysis import cli
from lifileucel_analysis.contract.buckets import bucket_of
from lifileucel_analysis.runner import screen_command

BUCKETS = 3


def _with_bad_ecog(source: Path, folder: Path, rows: list[int]) -> Path:
    """``source`` copied to ``folder`` with ``two`` in the ``ecog`` cell of each of the patients' data ``rows``."""
    folder.mkdir(parents=True)
    for path in source.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    patients = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    patients.loc[rows, "ecog"] = "two"
    patients.to_csv(folder / "patients.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_messy_cohort(tmp_path_factory.mktemp("order") / "csv", 120)


@pytest.fixture(scope="module")
def two_bad_buckets(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A bucketed cohort with a bad cell in the first and in the last non-empty bucket; the first one's data row.

    The last bucket's bad row comes first in the file, so a run that reported the first problem it met in
    file order, or the first bucket to finish, would name the other row.
    """
    ids = pd.read_csv(source / "patients.csv", dtype=str, keep_default_na=False)["patient_id"]
    bucket = bucket_of(pa.array(ids.tolist(), type=pa.string()), BUCKETS)
    first, last = min(set(bucket.tolist())), max(set(bucket.tolist()))
    early = int(next(i for i, b in enumerate(bucket) if b == last))
    late = int(max(i for i, b in enumerate(bucket) if b == first))
    assert early < late
    root = tmp_path_factory.mktemp("bad")
    bad = _with_bad_ecog(source, root / "csv", [early, late])
    assert cli.main(["partition", str(bad), "--buckets", str(BUCKETS), "--out", str(root / "b")]) == 0
    return root / "b", late + 1  # rows numbered from 1 under the header, as the message numbers them


def _refusal(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert cli.main(args) == 2
    return capsys.readouterr().err


def test_a_cluster_names_the_first_bad_bucket_in_bucket_order_as_the_process_does(
        two_bad_buckets: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    distributed = pytest.importorskip("dask.distributed")
    bucketed, row = two_bad_buckets
    in_process = _refusal(["screen", str(bucketed), "--out", str(tmp_path / "p")], capsys)
    assert f"patients row {row}, column ecog: value 'two'" in in_process
    assert in_process.count("column ecog") == 1
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        on_cluster = _refusal(["screen", str(bucketed), "--out", str(tmp_path / "c"), "--scheduler",
                               cluster.scheduler_address], capsys)
    assert on_cluster == in_process
    assert not (tmp_path / "p").exists() and not (tmp_path / "c").exists()


NOTE = "note: the drug file {drugs} changes the class of 1 package drug (E1, I2 and I3 read it): "


@pytest.fixture(scope="module")
def drugs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drugs") / "drugs.csv"
    path.write_text("agent,drug_class\nlifileucel,other\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("way", ["plain", "sliced", "bucketed"])
def test_a_reclassified_package_drug_is_said_once_however_the_screen_runs(
        source: Path, drugs: Path, way: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    dataset = source
    if way == "bucketed":
        dataset = tmp_path / "b"
        assert cli.main(["partition", str(source), "--buckets", str(BUCKETS), "--out", str(dataset)]) == 0
    if way == "sliced":  # 120 patients in slices of 25: five slices
        monkeypatch.setattr(screen_command, "SLICE_PATIENTS", 25)
    capsys.readouterr()
    assert cli.main(["screen", str(dataset), "--out", str(tmp_path / "out"), "--drugs", str(drugs)]) == 0
    err = capsys.readouterr().err
    assert err.count("changes the class of") == 1, err
    assert NOTE.format(drugs=drugs) + "lifileucel: adoptive-cell-transfer -> other\n" in err
