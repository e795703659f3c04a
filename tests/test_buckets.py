"""Bucketed datasets: partitioning keeps every row with its patient, and screening bucket by bucket,
in this process or on a real Dask LocalCluster with 2 workers, writes the same bytes as screening
the unbucketed source: every file of the plain screen's output folder (verdicts, outcomes,
missing data, findings, each site's worklist, the data cut), with ``--cut-date`` and ``--drugs``
too, and records the same run in a history.

The cohort is a synthetic one with its patients shuffled (so that input order is neither ID
order nor bucket order), a few IDs padded with spaces in the event tables (the validator
trims them: the hash must too), the overrides of the synthetic generator (waivers) and
planted data-quality findings on the patients and toxicities tables (so that findings name
rows of three tables).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifileucel_analysis import cli
from lifileucel_analysis.contract import chunked_output
from lifileucel_analysis.contract.buckets import bucket_of, open_bucketed, partition_dataset
from lifileucel_analysis.contract.dataset import ContractError
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.report.provenance import dataset_fingerprint
from lifileucel_analysis.report.run_history import run_tables, runs

from helpers import middle_consent_date, write_messy_cohort, write_site_drugs

ROOT = Path(__file__).resolve().parents[1]

N_PATIENTS, BUCKETS = 240, 4


def fnv1a_64(text: str) -> int:
    """FNV-1a 64 as its specification spells it, one byte at a time (independent of the vectorised code)."""
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) % (1 << 64)
    return h


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_messy_cohort(tmp_path_factory.mktemp("source") / "csv", N_PATIENTS)


@pytest.fixture(scope="module")
def cut_date(source: Path) -> str:
    return middle_consent_date(source)


@pytest.fixture(scope="module")
def drugs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site_drugs(tmp_path_factory.mktemp("drugs") / "site_drugs.csv")


@pytest.fixture(scope="module")
def bucketed(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bucketed") / "b"
    assert cli.main(["partition", str(source), "--buckets", str(BUCKETS), "--out", str(out)]) == 0
    return out


def screen(dataset: Path, out: Path, *extra: str) -> dict[str, bytes]:
    """Every file the screen wrote into ``out`` (a fresh folder), by name: compared whole, so none is forgotten."""
    assert not out.exists()
    assert cli.main(["screen", str(dataset), "--out", str(out), *extra]) == 0
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert {"verdicts.csv", "findings.csv", "waivers.csv"} <= set(files), files
    assert any(n.startswith("worklist-") for n in files), files
    return files


def test_bucket_of_is_fnv1a_of_the_trimmed_id() -> None:
    ids = ["EAP-000001", " EAP-000001 ", "x", "", "Ünï-1", None]
    expected = [fnv1a_64((i or "").strip()) % 7 for i in ids]
    assert bucket_of(pa.array(ids), 7).tolist() == expected
    assert bucket_of(pa.chunked_array([pa.array(ids[:2]), pa.array(ids[2:])]), 7).tolist() == expected


def test_every_row_of_a_patient_is_in_one_bucket(source: Path, bucketed: Path) -> None:
    layout = open_bucketed(bucketed)
    home: dict[str, int] = {}
    positions = []
    for k in range(BUCKETS):
        patients = pd.read_parquet(layout.bucket_path(k) / "patients.parquet")
        positions.append(layout.positions(k))
        assert len(positions[-1]) == len(patients)
        for pid in patients["patient_id"]:
            assert pid not in home
            home[pid.strip()] = k
    assert sorted(np.concatenate(positions).tolist()) == list(range(N_PATIENTS))
    original = pd.read_csv(source / "patients.csv", dtype=str)["patient_id"]
    for k in range(BUCKETS):  # a position points at the same patient in the source
        ids = pd.read_parquet(layout.bucket_path(k) / "patients.parquet")["patient_id"].tolist()
        assert original.iloc[layout.positions(k)].tolist() == ids
    for table in ("therapies", "labs", "toxicities", "overrides"):
        rows = 0
        for k in range(BUCKETS):
            frame = pd.read_parquet(layout.bucket_path(k) / f"{table}.parquet")
            rows += len(frame)
            assert {home[p.strip()] for p in frame["patient_id"]} <= {k}
        assert rows == len(pd.read_csv(source / f"{table}.csv", dtype=str))


def _options(options: str, cut_date: str, drugs: Path) -> list[str]:
    return [*(["--cut-date", cut_date] if "cut" in options else []), *(["--drugs", str(drugs)] if "drugs" in options else [])]


@pytest.mark.parametrize(("long_format", "options"), [("csv", ""), ("parquet", ""), ("csv", "cut+drugs"),
                                                      ("parquet", "cut"), ("csv", "drugs")])
def test_bucketed_screen_writes_the_unbucketed_bytes(source: Path, bucketed: Path, tmp_path: Path, long_format: str,
                                                     options: str, cut_date: str, drugs: Path) -> None:
    extra = ["--long-format", long_format, *_options(options, cut_date, drugs)]
    plain = screen(source, tmp_path / "plain", *extra)
    assert screen(bucketed, tmp_path / "bucketed", *extra) == plain  # every file, byte for byte
    assert ("data_cut.csv" in plain) == ("cut" in options)
    assert f"outcomes.{long_format}" in plain and f"missing_data.{long_format}" in plain
    verdicts = pd.read_csv(tmp_path / "plain" / "verdicts.csv")
    original = pd.read_csv(source / "patients.csv", dtype=str)
    if "cut" in options:  # screened: those consented on or before the cut
        original = original[original["consent_date"].isna() | (original["consent_date"] <= cut_date)]
    assert verdicts["patient_id"].tolist() == original["patient_id"].tolist()  # input order, not ID or bucket order
    assert (verdicts["waived"].notna()).any()  # the overrides were applied in their buckets
    sites = set(verdicts["site_id"])
    assert {n for n in plain if n.startswith("worklist-")} == {f"worklist-{site}.csv" for site in sites}
    assert {n for n in plain if n.startswith("fields-")} == {f"fields-{site}.csv" for site in sites}
    findings = pd.read_csv(tmp_path / "plain" / "findings.csv", dtype=str, keep_default_na=False)
    assert {"patients", "toxicities", "labs"} <= set(findings["table"])  # findings on every kind of row


def test_the_cut_counts_are_summed_over_buckets(source: Path, bucketed: Path, cut_date: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    screen(bucketed, tmp_path / "b", "--cut-date", cut_date)
    assert f"data cut {cut_date}: " in capsys.readouterr().out
    counts = dict(pd.read_csv(tmp_path / "b" / "data_cut.csv", dtype=str).to_numpy())
    patients = pd.read_csv(source / "patients.csv", dtype=str)
    late = patients["consent_date"] > cut_date
    labs = pd.read_csv(source / "labs.csv", dtype=str)
    kept = set(patients.loc[~late, "patient_id"])
    late_labs = labs["patient_id"].str.strip().isin(kept) & (labs["collected_date"] > cut_date)
    assert counts["cut_date"] == cut_date and counts["patients_in_dataset"] == str(N_PATIENTS)
    assert counts["patients_consented_after_cut"] == str(int(late.sum())) != "0"
    assert counts["labs_rows_after_cut"] == str(int(late_labs.sum())) != "0"


def test_findings_name_the_file_row_also_after_a_cut(source: Path, bucketed: Path, cut_date: str,
                                                     tmp_path: Path) -> None:
    screen(bucketed, tmp_path / "b", "--cut-date", cut_date)
    findings = pd.read_csv(tmp_path / "b" / "findings.csv", dtype=str, keep_default_na=False)
    located = findings[findings["row"] != ""]
    assert set(located["table"]) == {"patients", "therapies", "toxicities", "overrides", "labs"}
    for table, rows in located.groupby("table"):
        file = pd.read_csv(source / f"{table}.csv", dtype=str, keep_default_na=False)
        at = file.iloc[rows["row"].astype(int) - 1]  # 1-based data rows of the source file
        assert at["patient_id"].str.strip().tolist() == rows["patient_id"].tolist()
        if table == "labs":  # a same-day conflict quotes its row's result with its unit: "1400 /uL"
            assert [float(value.split(" ")[0]) for value in rows["value"]] == at["value"].astype(float).tolist()
            continue
        cell = rows["column"] != ""
        assert [at[column].iloc[i] for i, column in enumerate(rows["column"]) if cell.iloc[i]] == \
            rows["value"][cell].tolist()
        # A whole row read once: it repeats, in every column, the row its finding names.
        for row, finding in zip(rows["row"][~cell].astype(int), rows["finding"][~cell]):
            original = int(finding.split()[2])
            assert file.iloc[row - 1].tolist() == file.iloc[original - 1].tolist() and row != original


def test_partition_from_parquet_screens_the_same(source: Path, tmp_path: Path) -> None:
    from lifileucel_analysis.contract.reading import read_raw_tables

    parquet = tmp_path / "pq"
    parquet.mkdir()
    for name, frame in read_raw_tables(source).items():
        frame.to_parquet(parquet / f"{name}.parquet", index=False)
    assert cli.main(["partition", str(parquet), "--buckets", "3", "--out", str(tmp_path / "b")]) == 0
    assert screen(tmp_path / "b", tmp_path / "out") == screen(source, tmp_path / "plain")


def recorded(history: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The one run of a history: its ``runs`` row, verdicts and outcomes (in a fixed row order)."""
    table = runs(history)
    assert len(table) == 1
    verdicts, outcomes = run_tables(history, table["run_id"].iloc[0])
    return (table, verdicts.sort_values("patient_id", ignore_index=True),
            outcomes.sort_values(["patient_id", "criterion_id"], ignore_index=True))


def assert_same_runs(a: Path, b: Path) -> None:
    for one, other in zip(recorded(a), recorded(b), strict=True):
        pd.testing.assert_frame_equal(one, other)


def test_dask_local_cluster_with_two_workers_writes_the_same_bytes(source: Path, bucketed: Path, bad_bucketed: Path,
                                                                   tmp_path: Path, cut_date: str, drugs: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    distributed = pytest.importorskip("dask.distributed")
    extra = ["--cut-date", cut_date, "--drugs", str(drugs)]
    plain = screen(source, tmp_path / "plain", *extra, "--history", str(tmp_path / "plain.duckdb"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert len(cluster.workers) == 2
        on_cluster = screen(bucketed, tmp_path / "cluster", *extra, "--scheduler", cluster.scheduler_address,
                            "--history", str(tmp_path / "cluster.duckdb"))
        executed = [worker.state.executed_count for worker in cluster.workers.values()]
        capsys.readouterr()
        # A worker's contract problem reaches the command whole: exit 2, the cell named, nothing written.
        assert cli.main(["screen", str(bad_bucketed), "--out", str(tmp_path / "bad"), "--scheduler",
                         cluster.scheduler_address]) == 2
        assert "column ecog" in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()
    assert sum(executed) == BUCKETS, executed  # every bucket was screened by a worker, none here
    assert on_cluster == plain  # every file, byte for byte (the in-process run is compared above)
    assert_same_runs(tmp_path / "cluster.duckdb", tmp_path / "plain.duckdb")


def test_a_refusal_on_a_local_cluster_is_said_once_without_the_workers_logs(bad_bucketed: Path,
                                                                            tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    # Audit 42C: "distributed.worker - ERROR - Compute Failed" and a worker's traceback came before the message.
    done = subprocess.run([sys.executable, "-m", "lifileucel_analysis", "screen", str(bad_bucketed), "--out",
                           str(tmp_path / "out"), "--scheduler", "local:2"], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: 1 problem in the screening dataset "), done.stderr
    assert "patients row 5, column ecog: value 'two'" in done.stderr
    assert "distributed" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_bucketed_run_is_recorded_as_the_plain_run_of_its_source(source: Path, bucketed: Path, cut_date: str,
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    plain, bucket = tmp_path / "plain.duckdb", tmp_path / "bucketed.duckdb"
    screen(source, tmp_path / "p", "--cut-date", cut_date, "--history", str(plain))
    screen(bucketed, tmp_path / "b", "--cut-date", cut_date, "--history", str(bucket))
    assert_same_runs(bucket, plain)  # run ID, source fingerprint, counts, every verdict and outcome
    run = runs(bucket).iloc[0]
    assert run["dataset_sha256"] == dataset_fingerprint(source)
    late = (pd.read_csv(source / "patients.csv", dtype=str)["consent_date"] > cut_date).sum()
    assert (run["patients_screened"], run["patients_set_aside"]) == (N_PATIENTS - late, late)
    _, verdicts, outcomes = recorded(bucket)
    assert len(verdicts) == N_PATIENTS - late and len(outcomes) == len(verdicts) * 19
    # The same screening again, from the buckets into the plain run's history: the same run, nothing added.
    before = plain.read_bytes()
    capsys.readouterr()
    screen(bucketed, tmp_path / "again", "--cut-date", cut_date, "--history", str(plain))
    assert f"already recorded run {run['run_id']}" in capsys.readouterr().out
    assert plain.read_bytes() == before


def test_a_changed_bucket_file_cannot_be_recorded(bucketed: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(bucketed, changed)
    toxicities = changed / "bucket-00001" / "toxicities.parquet"
    pq.write_table(pq.read_table(toxicities).slice(1), toxicities)  # still a valid bucket, other data
    assert cli.main(["screen", str(changed), "--out", str(tmp_path / "out"), "--history",
                     str(tmp_path / "h.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "bucket-00001/toxicities.parquet" in err and "changed since partition" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "h.duckdb").exists()
    screen(changed, tmp_path / "out")  # without a history the buckets are screened as they are


KILLED_RECORDER = """
import sys, time
from lifileucel_analysis import cli
from lifileucel_analysis.report import run_history

append = run_history._append
def slow_append(con, table, frame, record):  # each bucket's rows appended, said, then a pause
    append(con, table, frame, record)
    print("appended", table, len(frame), flush=True)
    time.sleep(0.5)
run_history._append = slow_append
sys.exit(cli.main(["screen", sys.argv[1], "--out", sys.argv[2], "--history", sys.argv[3]]))
"""


def test_a_killed_bucketed_recording_leaves_the_history_as_it_was(bucketed: Path, tmp_path: Path) -> None:
    history = tmp_path / "h.duckdb"
    screen(bucketed, tmp_path / "first", "--cut-date", "2025-06-30", "--history", str(history))
    before = history.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", KILLED_RECORDER, str(bucketed), str(tmp_path / "second"),
                               str(history)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert writer.stdout is not None
    first = writer.stdout.readline()  # a bucket's verdicts are in the run's transaction: kill it there
    assert first.startswith("appended verdicts"), first
    assert list(tmp_path.glob(".h.duckdb.*.tmp"))  # the writer's working copy exists
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=60)
    assert history.read_bytes() == before  # the history as it was: one run, nothing of the killed one
    assert len(runs(history)) == 1
    screen(bucketed, tmp_path / "third", "--history", str(history))  # the next writer carries on
    assert len(runs(history)) == 2 and not list(tmp_path.glob(".h.duckdb.*.tmp"))


def test_recording_refuses_parts_that_do_not_add_up(tmp_path: Path) -> None:
    from lifileucel_analysis.report.run_history import HistoryError, history_rows, new_run_record, record_run_parts
    from lifileucel_analysis.report.screening_inputs import screen_files
    from lifileucel_analysis.engine.parameters import load_params

    result = screen_files(None).result
    record = new_run_record("0" * 64, load_params(), False, None)
    one = history_rows(result.verdicts, result.outcomes)
    lost = history_rows(result.verdicts.iloc[1:], result.outcomes)  # a patient lost on the way
    history = tmp_path / "h.duckdb"
    assert record_run_parts(history, record, result.n_in, 0, [one])
    before = history.read_bytes()
    with pytest.raises(HistoryError, match="nothing recorded"):
        record_run_parts(history, new_run_record("1" * 64, load_params(), False, None), result.n_in, 0, [lost])
    assert history.read_bytes() == before


def test_worklist_order_key_sorts_as_the_worklist() -> None:
    """Random worklist rows with ties, blank consent dates and non-ASCII IDs: the key's byte order is the sort's."""
    from lifileucel_analysis.report.worklist import DataCurrency, finish_worklist, in_worklist_order, worklist_order_key

    rng = np.random.default_rng(3)
    n = 400
    consent = pd.Series(pd.to_datetime("1969-12-20") + pd.to_timedelta(rng.integers(0, 30, n), unit="D"))
    consent[rng.random(n) < 0.2] = pd.NaT
    rows = pd.DataFrame({
        "patient_id": [f"{rng.choice(['EAP', 'Z', 'é', 'ÉAP', 'a'])}-{i:0{rng.integers(1, 4)}d}" for i in range(n)],
        "site_id": "mskcc", "consent_date": consent, "lymphodepletion_date": consent + pd.Timedelta(days=20),
        "unknown_count": rng.integers(0, 3, n), "unknown": "", "to_collect": "", "why_unknown": "",
        "nfields": rng.integers(0, 4, n).astype(float)})
    shown = finish_worklist(rows, DataCurrency(pd.Timestamp("1970-02-01"), "test")).assign(nfields=rows["nfields"])
    expected = shown.sort_values(["unknown_count", "nfields", "days_pending", "patient_id"],
                                 ascending=[True, True, False, True], na_position="last")["patient_id"].tolist()
    by_key = sorted(zip(worklist_order_key(rows).to_pylist(), rows["patient_id"], strict=True))
    assert [pid for _, pid in by_key] == expected
    # The one sort every path uses: the same order, each row keeping its own key.
    ordered = in_worklist_order(rows, "_key")
    assert ordered["patient_id"].tolist() == expected
    assert ordered["_key"].tolist() == [key for key, _ in by_key]
    assert in_worklist_order(rows)["patient_id"].tolist() == expected


def test_an_earlier_layout_is_refused(bucketed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old"
    shutil.copytree(bucketed, old)
    manifest = json.loads((old / "buckets.json").read_text(encoding="utf-8"))
    (old / "buckets.json").write_text(json.dumps({**manifest, "version": 1}), encoding="utf-8")
    assert cli.main(["screen", str(old), "--out", str(tmp_path / "out")]) == 2
    assert "run partition again" in capsys.readouterr().err


@pytest.fixture(scope="module")
def bad_bucketed(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cohort with ``two`` in one patient's ``ecog`` cell, partitioned."""
    bad = tmp_path_factory.mktemp("bad") / "csv"
    bad.mkdir()
    for path in source.iterdir():
        (bad / path.name).write_bytes(path.read_bytes())
    text = (bad / "patients.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header = text[0].rstrip("\n").split(",")
    cells = text[5].rstrip("\n").split(",")
    cells[header.index("ecog")] = "two"
    text[5] = ",".join(cells) + "\n"
    (bad / "patients.csv").write_text("".join(text), encoding="utf-8")
    out = bad.parent / "b"
    assert cli.main(["partition", str(bad), "--buckets", "2", "--out", str(out)]) == 0
    return out


def test_large_buckets_go_to_worker_processes_with_the_same_bytes(source: Path, bucketed: Path, bad_bucketed: Path,
                                                                 tmp_path: Path, cut_date: str,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from lifileucel_analysis.runner import bucketed_screen

    routes: list[str] = []
    real = bucketed_screen._in_processes
    monkeypatch.setattr(bucketed_screen, "_in_processes",
                        lambda func, jobs: routes.append("processes") or real(func, jobs))
    screen(bucketed, tmp_path / "threads")
    assert routes == []  # 60 patients a bucket: threads, no process start to pay
    monkeypatch.setattr(bucketed_screen, "PROCESSES_FROM_PATIENTS", 60)  # these buckets count as large
    extra = ["--cut-date", cut_date, "--long-format", "parquet"]
    assert screen(bucketed, tmp_path / "processes", *extra) == screen(source, tmp_path / "plain", *extra)
    assert routes == ["processes"]
    capsys.readouterr()
    # A worker process's contract problem reaches the command whole: exit 2, the cell named, nothing left behind.
    assert cli.main(["screen", str(bad_bucketed), "--out", str(tmp_path / "bad")]) == 2
    assert "column ecog" in capsys.readouterr().err and routes == ["processes"] * 2
    assert not (tmp_path / "bad").exists()
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []


def test_worker_processes_return_results_in_order_and_raise_the_first_error_in_order() -> None:
    import math

    from lifileucel_analysis.runner.bucketed_screen import _in_processes

    assert _in_processes(math.sqrt, [16.0, 1.0, 9.0, 4.0, 0.25]) == [4.0, 1.0, 3.0, 2.0, 0.5]
    with pytest.raises(ValueError, match="math domain error"):
        _in_processes(math.sqrt, [4.0, -1.0, 9.0])


def test_a_bad_cell_in_a_bucket_stops_with_exit_2_and_nothing_written(bad_bucketed: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["screen", str(bad_bucketed), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    # The row of the file the site has, not the bucket's (audit 42C): the cell is on data row 5 of patients.csv.
    assert "patients row 5, column ecog: value 'two'" in err
    assert "(rows numbered as in the files it was partitioned from)" in err
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging")] == []


def test_scheduler_needs_a_bucketed_dataset(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["screen", str(source), "--out", str(tmp_path), "--scheduler", "local:2"]) == 2
    assert "bucketed" in capsys.readouterr().err


def test_partition_refuses_what_it_cannot_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["partition", str(tmp_path / "none"), "--buckets", "2", "--out", str(tmp_path / "b")]) == 2
    assert cli.main(["partition", str(tmp_path), "--buckets", "0", "--out", str(tmp_path / "b")]) == 2
    assert not (tmp_path / "b").exists()


def test_the_default_screen_never_imports_dask(source: Path, tmp_path: Path) -> None:
    code = ("import sys; from lifileucel_analysis import cli; "
            f"assert cli.main(['screen', {str(source)!r}, '--out', {str(tmp_path)!r}]) == 0; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'duckdb')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("long_format", ["csv", "parquet"])
def test_empty_buckets_are_skipped(tmp_path: Path, long_format: str) -> None:
    from helpers import small_dataset

    write_tables(small_dataset(), tmp_path / "csv", "csv")
    assert cli.main(["partition", str(tmp_path / "csv"), "--buckets", "8", "--out", str(tmp_path / "b")]) == 0
    layout = open_bucketed(tmp_path / "b")
    sizes = [len(layout.positions(k)) for k in range(8)]
    assert 0 in sizes and sum(sizes) == len(small_dataset()["patients"])
    plain = screen(tmp_path / "csv", tmp_path / "plain", "--long-format", long_format)
    assert screen(tmp_path / "b", tmp_path / "bucketed", "--long-format", long_format) == plain


def test_a_bad_criteria_file_stops_before_any_bucket(bucketed: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text("max_ecog: lots\n", encoding="utf-8")
    assert cli.main(["screen", str(bucketed), "--out", str(tmp_path / "out"), "--params", str(criteria)]) == 2
    assert "max_ecog" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_criteria_overrides_apply_to_every_bucket(source: Path, bucketed: Path, tmp_path: Path) -> None:
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text("max_ecog: 2\nmin_age_years: 21\n", encoding="utf-8")
    plain = screen(source, tmp_path / "plain", "--params", str(criteria))
    assert screen(bucketed, tmp_path / "bucketed", "--params", str(criteria)) == plain
    assert plain != screen(source, tmp_path / "defaults")  # the overrides changed something


def test_the_merge_in_small_windows_and_batches_gives_the_same_bytes(source: Path, bucketed: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from lifileucel_analysis.runner import bucket_merge

    monkeypatch.setattr(bucket_merge, "MERGE_PATIENTS", 7)  # many windows, each cutting through batches
    monkeypatch.setattr(bucket_merge, "MERGE_BATCH_ROWS", 13)
    monkeypatch.setattr(bucket_merge, "MERGE_PIECE_ROWS", 5)  # every window and round handed on in pieces
    # Worklist and fields parts read two rows at a time: a patient's fields (rows of one key) span batches.
    monkeypatch.setattr(bucket_merge, "MERGE_KEY_BATCH_ROWS", 2)
    monkeypatch.setattr(bucket_merge, "MERGE_FIELD_BATCH_ROWS", 2)
    monkeypatch.setattr(chunked_output, "ROW_GROUP_ROWS", 500)  # row groups cut across windows
    for long_format in ("csv", "parquet"):
        plain = screen(source, tmp_path / f"plain-{long_format}", "--long-format", long_format)
        assert screen(bucketed, tmp_path / f"small-{long_format}", "--long-format", long_format) == plain
    fields = pd.concat([pd.read_csv(path, dtype=str) for path in (tmp_path / "plain-csv").glob("fields-*.csv")])
    assert fields["patient"].value_counts().max() >= 3  # some patient's rows cross a batch boundary
    outcomes = pq.ParquetFile(tmp_path / "small-parquet" / "outcomes.parquet")
    assert outcomes.num_row_groups == -(-N_PATIENTS * 19 // 500)
    assert {outcomes.metadata.row_group(i).num_rows for i in range(outcomes.num_row_groups - 1)} == {500}


@pytest.mark.parametrize("second", ["plain", "bucketed"])
def test_an_earlier_runs_other_files_do_not_pass_for_this_runs(source: Path, cut_date: str, tmp_path: Path,
                                                               second: str) -> None:
    """Six sites, Parquet long tables and a cut first; then three patients of two sites, CSV, no cut."""
    from helpers import small_dataset

    write_tables(small_dataset(), tmp_path / "small", "csv")
    assert cli.main(["partition", str(tmp_path / "small"), "--buckets", "2", "--out", str(tmp_path / "b")]) == 0
    out = tmp_path / "out"
    assert cli.main(["screen", str(source), "--out", str(out), "--long-format", "parquet", "--cut-date", cut_date]) == 0
    assert cli.main(["screen", str(tmp_path / ("small" if second == "plain" else "b")), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["criteria_used.csv", "fields-honorhealth.csv", "fields-mskcc.csv",
                                                     "findings.csv", "missing_data.csv", "outcomes.csv", "verdicts.csv",
                                                     "waivers.csv", "worklist-honorhealth.csv", "worklist-mskcc.csv"]


@pytest.mark.parametrize("long_format", ["csv", "parquet"])
def test_a_bucket_whose_patients_the_cut_sets_all_aside(tmp_path: Path, long_format: str) -> None:
    """Three buckets, the first one's patients all consented after the cut: it adds nothing, and breaks nothing."""
    from helpers import patient_row, small_dataset_rows, typed_tables

    rows = small_dataset_rows()
    late = {"consent_date": "2025-06-01", "lymphodepletion_date": "2025-06-20"}
    rows["patients"] += [patient_row(pid) for pid in ("P4", "P5", "P6", "P7", "P8")]
    for row in rows["patients"]:
        if row["patient_id"] in ("P1", "P4", "P7"):  # bucket 0 of 3
            row.update(late)
    write_tables(typed_tables(rows), tmp_path / "csv", "csv")
    assert cli.main(["partition", str(tmp_path / "csv"), "--buckets", "3", "--out", str(tmp_path / "b")]) == 0
    layout = open_bucketed(tmp_path / "b")
    consent = [set(pd.read_parquet(layout.bucket_path(k) / "patients.parquet")["consent_date"]) for k in range(3)]
    assert consent[0] == {"2025-06-01"} and all(len(c) for c in consent)  # bucket 0 only late patients, none empty
    extra = ["--cut-date", "2025-04-01", "--long-format", long_format]
    assert screen(tmp_path / "b", tmp_path / "bucketed", *extra) == screen(tmp_path / "csv", tmp_path / "plain", *extra)


def test_a_bucket_template_keeps_none_of_its_table() -> None:
    """The empty frame kept per bucket for the merge's dtypes must not hold the bucket's table.

    A view (``frame.iloc[:0]``) keeps the Arrow buffers of the whole column alive: with
    every bucket's summary kept until the merge, memory grew by a bucket's outcome table
    per bucket (10,000,000 patients: past 8 GiB). Measured on Arrow's own allocator.
    """
    import gc

    from lifileucel_analysis.runner.bucketed_screen import empty_like

    def retained(make_template: Callable[[pd.DataFrame], pd.DataFrame]) -> int:
        gc.collect()
        before = pa.total_allocated_bytes()
        frame = pd.DataFrame({"evidence": pd.array(["x" * 50] * 100_000, dtype="string[pyarrow]"),
                              "outcome": pd.Categorical(["pass"] * 100_000, categories=["pass", "fail"])})
        template = make_template(frame)
        del frame
        gc.collect()
        kept = pa.total_allocated_bytes() - before
        assert list(template.dtypes.astype(str)) == ["string", "category"] and template.empty
        return kept

    assert retained(lambda frame: frame.iloc[:0]) > 4_000_000  # the view holds the 5 MB column
    assert retained(empty_like) < 100_000


def test_a_part_out_of_source_order_is_refused(bucketed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The merge sorts by source position alone and keeps each part's row order: rows handed to
    # it out of that order would be merged wrongly, so the part is refused instead.
    from dataclasses import replace

    from lifileucel_analysis.runner import bucketed_screen
    from lifileucel_analysis.runner.screen_command import ScreenOptions

    real = bucketed_screen.bucket_tables

    def reversed_verdicts(*args: object) -> object:
        screened = real(*args)
        tables = dict(screened.tables)
        tables["verdicts.csv"] = tables["verdicts.csv"].iloc[::-1].reset_index(drop=True)
        return replace(screened, tables=tables)

    layout = open_bucketed(bucketed)
    job = bucketed_screen.BucketJob(layout.bucket_path(0), {t: layout.positions_path(0, t) for t in layout.tables},
                                    tmp_path / "parts")
    assert bucketed_screen.screen_bucket(ScreenOptions(), job).tables["verdicts.csv"] > 1  # in order: screened
    monkeypatch.setattr(bucketed_screen, "bucket_tables", reversed_verdicts)
    with pytest.raises(ValueError, match="verdicts.csv: rows not in the patients' source order"):
        bucketed_screen.screen_bucket(ScreenOptions(), replace(job, parts=tmp_path / "reversed"))


def test_read_ahead_keeps_order_raises_in_order_and_stops_with_its_consumer() -> None:
    from lifileucel_analysis.runner.bucket_merge import read_ahead

    assert list(read_ahead(iter(range(50)))) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("part unreadable")

    seen = []
    with pytest.raises(RuntimeError, match="part unreadable"):
        for item in read_ahead(failing()):
            seen.append(item)
    assert seen == [1, 2]  # every item before the error, then the error itself
    produced = []

    def endless() -> Iterator[int]:
        k = 0
        while True:
            produced.append(k)
            yield k
            k += 1

    ahead = read_ahead(endless())
    assert next(ahead) == 0
    ahead.close()  # the consumer stops: the producer thread ends (else this test would hang)
    assert len(produced) <= 4


def test_a_part_whose_category_column_comes_in_chunks_of_other_dictionaries_is_written_and_read_back(
        tmp_path: Path) -> None:
    """The IPC file format has no dictionary replacement: a part's chunks get one dictionary."""
    from lifileucel_analysis.runner import bucket_merge

    first = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int8()), pa.array(["pass", "fail"]))
    second = pa.DictionaryArray.from_arrays(pa.array([0, 0, 1], pa.int8()), pa.array(["unknown", "pass"]))
    table = pa.table({"outcome": pa.chunked_array([first, second]), "_pos": pa.array([0, 1, 2, 3, 4])})
    bucket_merge.write_part(table, tmp_path / "outcomes.arrow", rows=2)  # record batches of 2 rows
    back = bucket_merge.read_part(str(tmp_path / "outcomes.arrow"))
    assert back.column("outcome").to_pylist() == ["pass", "fail", "unknown", "unknown", "pass"]
    streamed = pa.concat_tables(list(bucket_merge._batches(str(tmp_path / "outcomes.arrow"), 2)))
    assert streamed.column("_pos").to_pylist() == [0, 1, 2, 3, 4]
    assert streamed.column("outcome").to_pylist() == back.column("outcome").to_pylist()


@pytest.mark.parametrize(("options", "message"), [
    ({"cut_date": "2025-02-30"}, "2025-02-30"),
    ({"params": "/no/such/criteria.yaml"}, "criteria.yaml"),
    ({"drugs": "/no/such/drugs.csv"}, "drugs.csv"),
])
def test_the_library_refuses_unusable_options_before_any_bucket_is_screened(
        bucketed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, str], message: str) -> None:
    # The CLI checked these before calling screen_bucketed; a library caller (a notebook, a Dask job)
    # learnt of them from the first bucket, on a worker (review 26B). Now screen_bucketed checks them.
    from lifileucel_analysis.runner import bucketed_screen
    from lifileucel_analysis.runner.screen_command import ScreenOptions

    def no_bucket(*args: object, **kwargs: object) -> None:
        raise AssertionError("a bucket was screened")

    monkeypatch.setattr(bucketed_screen, "map_buckets", no_bucket)
    with pytest.raises((ValueError, OSError, ContractError), match=message):
        bucketed_screen.screen_bucketed(bucketed, tmp_path / "out", ScreenOptions(**options), "auto")
    assert not (tmp_path / "out").exists()
