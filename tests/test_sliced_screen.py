"""The plain screen of a large dataset, slice by slice, writes the one-piece screen's bytes.

Slices are small here (down to 7 patients of 240) so that every boundary case happens: a
patient's event rows far from its patients row, a slice whose patients are all set aside
by a cut, a long table whose format ``--long-format auto`` decides in the middle of the
slices. Each run is compared, file by file and byte by byte, with the same command on the
same data in one piece, whose files the rest of the suite checks against the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lifileucel_analysis import cli
from lifileucel_analysis.contract import output_files
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.contract.patient_slices import patient_slices
from lifileucel_analysis.report.run_history import run_tables, runs
from lifileucel_analysis.runner import screen_command, sliced_screen

from helpers import middle_consent_date, write_messy_cohort, write_site_drugs

N_PATIENTS = 240


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_messy_cohort(tmp_path_factory.mktemp("source") / "csv", N_PATIENTS)


def screen(dataset: Path, out: Path, slice_patients: int, *extra: str,
           monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every file ``screen`` wrote into a fresh folder, with slices of ``slice_patients`` (0: one piece)."""
    monkeypatch.setattr(screen_command, "SLICE_PATIENTS", slice_patients or 10 ** 9)
    sizes: list[int] = []
    real = sliced_screen.screen_in_slices
    monkeypatch.setattr(sliced_screen, "screen_in_slices", lambda *a: sizes.append(a[-1]) or real(*a))
    assert not out.exists()
    assert cli.main(["screen", str(dataset), "--out", str(out), *extra]) == 0
    assert sizes == ([slice_patients] if slice_patients else [])  # the way asked for was taken
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.mark.parametrize(("slice_patients", "extra"), [
    (7, ()), (100, ("--long-format", "parquet")), (61, ("--long-format", "csv", "--cut-date", "cut")),
    (13, ("--drugs", "drugs", "--cut-date", "cut", "--long-format", "parquet")), (239, ())])
def test_slices_write_the_one_piece_bytes(source: Path, tmp_path: Path, slice_patients: int, extra: tuple[str, ...],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    named = {"cut": middle_consent_date(source), "drugs": str(write_site_drugs(tmp_path / "drugs.csv"))}
    args = [named.get(arg, arg) for arg in extra]
    whole = screen(source, tmp_path / "whole", 0, *args, monkeypatch=monkeypatch)
    sliced = screen(source, tmp_path / "sliced", slice_patients, *args, monkeypatch=monkeypatch)
    assert sliced == whole  # every file, byte for byte
    assert {"verdicts.csv", "findings.csv", "waivers.csv"} <= set(whole)
    assert any(n.startswith("worklist-") for n in whole) and any(n.startswith("fields-") for n in whole)
    assert whole["waivers.csv"].count(b"\n") > 2  # waivers of several patients, across the slices
    findings = pd.read_csv(tmp_path / "whole" / "findings.csv", dtype=str, keep_default_na=False)
    assert {"patients", "toxicities", "labs"} <= set(findings["table"])  # rows of three tables named


def test_event_rows_in_patient_order_are_sliced_without_a_copy(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The synthetic generator lists every table's rows in patient order: each slice's rows
    # are consecutive, so they are cut as ranges; the bytes must not notice.
    ordered = write_messy_cohort(tmp_path / "ordered", 120, shuffle=False)
    data = load_dataset(ordered)
    for part in patient_slices(data, 50):
        rows = part.rows_in_source("labs")
        assert (np.diff(rows) == 1).all()
    whole = screen(ordered, tmp_path / "whole", 0, monkeypatch=monkeypatch)
    assert screen(ordered, tmp_path / "sliced", 50, monkeypatch=monkeypatch) == whole


def test_auto_format_switches_to_parquet_in_the_middle_of_the_slices(source: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 240 patients x 19 criteria = 4,560 outcome rows: above a limit of 1,000 from the third
    # slice of 25 patients on; missing data stays under it, so it stays CSV.
    monkeypatch.setattr(output_files, "PARQUET_ABOVE_ROWS", 1_000)
    whole = screen(source, tmp_path / "whole", 0, monkeypatch=monkeypatch)
    assert "outcomes.parquet" in whole and "missing_data.csv" in whole
    assert screen(source, tmp_path / "sliced", 25, monkeypatch=monkeypatch) == whole


def test_a_sliced_run_is_recorded_as_the_one_piece_run(source: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    cut = middle_consent_date(source)
    screen(source, tmp_path / "w", 0, "--cut-date", cut, "--history", str(tmp_path / "whole.duckdb"),
           monkeypatch=monkeypatch)
    screen(source, tmp_path / "s", 31, "--cut-date", cut, "--history", str(tmp_path / "sliced.duckdb"),
           monkeypatch=monkeypatch)
    whole, sliced = runs(tmp_path / "whole.duckdb"), runs(tmp_path / "sliced.duckdb")
    pd.testing.assert_frame_equal(sliced, whole)  # run ID, fingerprint, counts
    run_id = whole["run_id"].iloc[0]
    for one, other in zip(run_tables(tmp_path / "sliced.duckdb", run_id), run_tables(tmp_path / "whole.duckdb", run_id),
                          strict=True):
        keys = ["patient_id", "criterion_id"] if "criterion_id" in one else ["patient_id"]
        pd.testing.assert_frame_equal(one.sort_values(keys, ignore_index=True),
                                      other.sort_values(keys, ignore_index=True))
    late = (pd.read_csv(source / "patients.csv", dtype=str)["consent_date"] > cut).sum()
    assert (whole["patients_screened"].iloc[0], whole["patients_set_aside"].iloc[0]) == (N_PATIENTS - late, late)


def test_a_slice_holds_its_patients_and_every_row_naming_them(source: Path) -> None:
    data = load_dataset(source)
    slices = list(patient_slices(data, 50))
    assert [s.n_patients for s in slices] == [50, 50, 50, 50, 40]
    for table in ("therapies", "labs", "toxicities", "overrides"):
        frame = data.table(table)
        ids = frame["patient_id"].astype(str)
        seen = []
        in_file = data.rows_in_source(table)  # a row read once because it repeats an earlier one has none
        for part in slices:
            mine = set(part.patients["patient_id"].astype(str))
            theirs = part.table(table)["patient_id"].astype(str)
            assert set(theirs) <= mine
            rows = part.rows_in_source(table)
            assert (np.diff(rows) > 0).all()  # the table's order within a slice
            # Independent check: the rows of the whole table whose patient is in the slice.
            positions = [i for i, pid in enumerate(ids) if pid in mine]
            assert rows.tolist() == in_file[positions].tolist()
            pd.testing.assert_frame_equal(part.table(table), frame.iloc[positions].reset_index(drop=True))
            seen += positions
        assert sorted(seen) == list(range(len(frame)))  # every row in exactly one slice


def test_slices_refuse_a_row_of_no_patient_and_a_size_below_one(source: Path) -> None:
    data = load_dataset(source)
    with pytest.raises(ValueError, match="at least 1 patient"):
        next(patient_slices(data, 0))
    orphan = data.labs.copy()
    orphan.loc[3, "patient_id"] = "EAP-NOBODY"
    from dataclasses import replace

    with pytest.raises(ValueError, match=r"labs row 4: patient_id 'EAP-NOBODY' is not in the patients table"):
        next(patient_slices(replace(data, labs=orphan), 100))


def test_positions_kept_by_validation_and_slices_are_those_of_a_row_by_row_look_up(source: Path) -> None:
    data = load_dataset(source)  # validation keeps the positions it found
    known = dict(data._positions)
    assert {"therapies", "labs", "toxicities"} <= set(known)

    def row_by_row(dataset) -> dict[str, list[int]]:
        where = {pid: i for i, pid in enumerate(dataset.patients["patient_id"].astype(str))}
        return {t: [where.get(pid, -1) for pid in dataset.table(t)["patient_id"].astype(str)]
                for t in ("therapies", "labs", "toxicities", "overrides")}

    expected = row_by_row(data)
    assert {t: at.tolist() for t, at in known.items()} == {t: expected[t] for t in known}
    for part in patient_slices(data, 37):
        assert set(part._positions) == set(expected)  # handed down: no look-up of its own
        assert {t: at.tolist() for t, at in part._positions.items()} == row_by_row(part)


def test_a_slice_that_fails_while_the_one_before_is_written_leaves_nothing(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slice k's files are written while slice k + 1 is screened: a failure then removes them all."""
    monkeypatch.setattr(screen_command, "SLICE_PATIENTS", 50)
    real_screen, calls = sliced_screen.screen, []

    def third_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("planted failure in slice 3")
        return real_screen(*args, **kwargs)

    monkeypatch.setattr(sliced_screen, "screen", third_fails)
    out = tmp_path / "run" / "out"
    with pytest.raises(RuntimeError, match="planted failure"):
        cli.main(["screen", str(source), "--out", str(out)])
    assert len(calls) == 3
    assert not out.exists()
    assert list(tmp_path.rglob("*")) in ([], [tmp_path / "run"])  # no staging folder or part left behind


@pytest.mark.parametrize("job", ["_ordered_rows", "_write_ordered"])
def test_a_failure_building_or_writing_the_worklist_and_fields_files_leaves_nothing(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, job: str) -> None:
    """The ordered files' rows are built on the writer pool, and written there two at a time (session 26):
    a failure in either, in the second slice or the second file, removes every file."""
    monkeypatch.setattr(screen_command, "SLICE_PATIENTS", 50)
    real, calls = getattr(sliced_screen, job), []

    def second_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError(f"planted failure in {job}")
        return real(*args, **kwargs)

    monkeypatch.setattr(sliced_screen, job, second_fails)
    out = tmp_path / "run" / "out"
    with pytest.raises(RuntimeError, match="planted failure"):
        cli.main(["screen", str(source), "--out", str(out)])
    assert len(calls) >= 2
    assert not out.exists()
    assert list(tmp_path.rglob("*")) in ([], [tmp_path / "run"])  # no staging folder or part left behind
