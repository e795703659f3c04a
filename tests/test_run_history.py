"""The run history (DuckDB): content, idempotence, one writer at a time, all or nothing (issue 12)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from lifileucel_analysis.cli import main
from lifileucel_analysis.engine.catalog import CATALOG
from lifileucel_analysis.report.provenance import dataset_fingerprint
from lifileucel_analysis.report.run_history import HistoryLockedError, read_table, record_run, runs
from lifileucel_analysis.report.screening_inputs import screen_files
from lifileucel_analysis.paths import DEMO_DATASET

ROOT = Path(__file__).resolve().parents[1]

RECORDER = """
import sys
from lifileucel_analysis.report.run_history import record_run
from lifileucel_analysis.report.screening_inputs import screen_files
history, first = sys.argv[1], int(sys.argv[2])
for day in range(first, first + 28):
    record_run(history, screen_files(None, cut_date=f"2025-02-{day % 28 + 1:02d}"), wait_seconds=60)
    print(day, flush=True)
"""


def _consistent(history: Path) -> list[str]:
    """Each recorded run has all its verdicts and every criterion's outcome for each; return the run IDs."""
    con = duckdb.connect(str(history), read_only=True)
    try:
        rows = con.execute("""
            SELECT r.run_id, r.patients_screened,
                   (SELECT count(*) FROM verdicts v WHERE v.run_id = r.run_id),
                   (SELECT count(*) FROM outcomes o WHERE o.run_id = r.run_id)
            FROM runs r ORDER BY sequence""").fetchall()
    finally:
        con.close()
    for run_id, screened, verdicts, outcomes in rows:
        assert verdicts == screened and outcomes == screened * len(CATALOG), run_id
    return [row[0] for row in rows]


def test_a_run_records_every_verdict_and_outcome_with_its_evidence(tmp_path: Path) -> None:
    history = tmp_path / "h.duckdb"
    inputs = screen_files(None, cut_date="2025-03-31")
    record, new = record_run(history, inputs)
    assert new
    run = runs(history).iloc[0]
    assert run["run_id"] == record.run_id and str(run["cut_date"])[:10] == "2025-03-31"
    assert run["dataset_sha256"] == dataset_fingerprint(DEMO_DATASET)
    assert run["criteria_version"] == "default" and len(run["params_sha256"]) == 64
    assert run["patients_screened"] + run["patients_set_aside"] == 400
    outcomes = read_table(history, "outcomes")
    expected = inputs.result.outcomes
    assert len(outcomes) == len(expected) == run["patients_screened"] * len(CATALOG)
    got = outcomes.set_index(["patient_id", "criterion_id"])
    want = expected.assign(criterion_id=expected["criterion_id"].astype(str)).set_index(["patient_id", "criterion_id"])
    assert (got.loc[want.index, "evidence"] == want["evidence"]).all()
    assert (got.loc[want.index, "outcome"] == want["outcome"].astype(str)).all()


def test_recording_the_same_run_again_changes_nothing(tmp_path: Path) -> None:
    history = tmp_path / "h.duckdb"
    first, new = record_run(history, screen_files(None, cut_date="2025-03-31"))
    before = history.read_bytes()
    again, new_again = record_run(history, screen_files(None, cut_date="2025-03-31"))
    assert new and not new_again and first == again
    assert history.read_bytes() == before
    other, _ = record_run(tmp_path / "other.duckdb", screen_files(None, cut_date="2025-03-31"))
    assert other.run_id == first.run_id  # derived from content, not from the clock or the file


def test_a_site_drug_dictionary_is_part_of_what_identifies_a_run(tmp_path: Path) -> None:
    # --drugs changes I2/I3/E1 outcomes, so a screen with it is another run, not "already recorded".
    history, drugs = tmp_path / "h.duckdb", tmp_path / "site_drugs.csv"
    drugs.write_text("agent,drug_class,source\nzz-unheard-of-mab,anti-pd-1,site list\n", encoding="utf-8")
    without, _ = record_run(history, screen_files(None, cut_date="2025-03-31"))
    with_drugs, new = record_run(history, screen_files(None, cut_date="2025-03-31", drugs=drugs))
    assert new and with_drugs.run_id != without.run_id
    assert with_drugs.params_sha256 != without.params_sha256
    assert with_drugs.criteria_version == without.criteria_version == "default"  # the criteria did not change
    assert len(runs(history)) == 2
    drugs.write_text("agent,drug_class,source\nzz-other-mab,anti-pd-1,site list\n", encoding="utf-8")
    assert record_run(history, screen_files(None, cut_date="2025-03-31", drugs=drugs))[0].run_id not in {
        without.run_id, with_drugs.run_id}  # the file's content counts, not its name


def test_a_second_writer_gets_a_clear_error_while_the_first_holds_the_history(tmp_path: Path) -> None:
    history = tmp_path / "h.duckdb"
    record_run(history, screen_files(None, cut_date="2025-03-01"))
    before = history.read_bytes()
    with (tmp_path / "h.duckdb.lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another writer at work
        with pytest.raises(HistoryLockedError, match="being written by another process"):
            record_run(history, screen_files(None, cut_date="2025-03-02"), wait_seconds=0.3)
    assert history.read_bytes() == before
    assert main(["screen", str(DEMO_DATASET), "--out", str(tmp_path / "o"), "--history", str(history)]) == 0


def _recorder(history: Path, first: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", RECORDER, str(history), str(first)], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)


def test_two_concurrent_writers_both_land_and_nothing_is_corrupt(tmp_path: Path) -> None:
    history = tmp_path / "h.duckdb"
    script = RECORDER.replace("range(first, first + 28)", "range(first, first + 3)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", script, str(history), str(first)], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, text=True) for first in (0, 10)]
    for writer in writers:
        assert writer.wait(timeout=300) == 0
    assert len(_consistent(history)) == 6


def test_a_killed_run_leaves_the_history_as_it_was(tmp_path: Path) -> None:
    history = tmp_path / "h.duckdb"
    writer = _recorder(history, 0)
    assert writer.stdout is not None
    finished = [writer.stdout.readline() for _ in range(2)]  # two runs recorded
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".h.duckdb.*.tmp")):  # the writer's working copy: it is recording now
        assert time.monotonic() < deadline and writer.poll() is None
        time.sleep(0.005)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=60)
    finished += writer.stdout.read().splitlines()
    recorded = _consistent(history)
    # every run it said it finished is there, complete; at most the one it was killed after replacing
    assert len(finished) <= len(recorded) <= len(finished) + 1
    # and the next writer carries on from that state, clearing what the killed one left behind
    record_run(history, screen_files(None, cut_date="2025-04-30"))
    assert _consistent(history)[: len(recorded)] == recorded
    assert not list(tmp_path.glob(".h.duckdb.*.tmp"))


def test_a_report_build_records_into_a_history_that_survives_rebuilds(tmp_path: Path) -> None:
    from helpers import small_dataset, write_notebook

    from lifileucel_analysis.contract.writing import write_tables
    from lifileucel_analysis.runner.build import build_reports

    write_notebook(tmp_path / "notebooks" / "tiny.ipynb", 'site: str = "all"\ndataset: str = ""', ["x = 1"])
    (tmp_path / "params" / "sites").mkdir(parents=True)
    (tmp_path / "params" / "program.yaml").write_text("tiny:\n  site: all\n")
    write_tables(small_dataset(), tmp_path / "data", "csv")
    write_tables(small_dataset(), tmp_path / "data2", "parquet")  # the same patients, other files
    out = tmp_path / "reports"
    for data in ("data", "data2", "data"):
        build_reports(tmp_path / data, out, 1, params_dir=tmp_path / "params",
                      notebooks_dir=tmp_path / "notebooks", history=out / "history.duckdb")
    recorded = runs(out / "history.duckdb")
    # each rebuild kept the file (two datasets, two runs), and the same screening again is no new run
    assert list(recorded["dataset_sha256"]) == [dataset_fingerprint(tmp_path / d) for d in ("data", "data2")]


def test_a_run_recorded_in_many_parts_is_the_run_recorded_in_one(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from lifileucel_analysis.report import run_history
    from lifileucel_analysis.report.run_history import run_tables

    inputs = screen_files(None, cut_date="2025-03-31")
    whole, _ = record_run(tmp_path / "one.duckdb", inputs)
    monkeypatch.setattr(run_history, "PART_ROWS", 1000)  # 400 patients x 19 criteria: eight parts, cut mid-patient
    parts, _ = record_run(tmp_path / "parts.duckdb", inputs)
    assert parts == whole
    assert runs(tmp_path / "parts.duckdb").equals(runs(tmp_path / "one.duckdb"))
    for one, many in zip(run_tables(tmp_path / "one.duckdb", whole.run_id),
                         run_tables(tmp_path / "parts.duckdb", parts.run_id), strict=True):
        keys = [c for c in ("patient_id", "criterion_id") if c in one.columns]
        assert one.sort_values(keys, ignore_index=True).equals(many.sort_values(keys, ignore_index=True))
    assert len(run_tables(tmp_path / "parts.duckdb", parts.run_id)[1]) == inputs.result.n_in * len(CATALOG)


def test_a_file_that_is_not_a_history_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Audit 42C: `changes --history patients.csv` said DuckDB's "Catalog Error: Cannot launch in-memory
    # database in read-only mode!"; the file is simply not a history.
    from lifileucel_analysis import cli

    not_history = tmp_path / "patients.csv"
    not_history.write_text("patient_id,site_id\nP1,mskcc\n", encoding="utf-8")
    assert cli.main(["changes", "--history", str(not_history), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f"error: history {not_history} is not a DuckDB file: give the .duckdb file "
                                       "that `screen --history` or `reports --history` wrote\n")
    assert not (tmp_path / "out").exists()
    assert not_history.read_text(encoding="utf-8") == "patient_id,site_id\nP1,mskcc\n"


@pytest.mark.parametrize("content", [b"patient_id,site_id\nP1,mskcc\n", b"P1,msk\n"])
def test_screen_refuses_a_history_that_is_not_one_before_writing(tmp_path: Path, content: bytes,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Review 42: `screen --history notdb.csv` published the screen's 18 files, then failed naming a temporary
    # copy and said "nothing was written"; a file shorter than DuckDB's magic (8 bytes) slipped past the check.
    from lifileucel_analysis import cli
    from lifileucel_analysis.paths import DEMO_DATASET

    not_history = tmp_path / "notdb.csv"
    not_history.write_bytes(content)
    assert cli.main(["screen", str(DEMO_DATASET), "--out", str(tmp_path / "out"), "--history", str(not_history)]) == 2
    assert capsys.readouterr().err.startswith(f"error: history {not_history} is not a DuckDB file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notdb.csv"]
    assert not_history.read_bytes() == content
    assert cli.main(["changes", "--history", str(not_history), "--out", str(tmp_path / "c")]) == 2
    assert capsys.readouterr().err.startswith(f"error: history {not_history} is not a DuckDB file")
