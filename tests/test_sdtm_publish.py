"""The SDTM export publishes its files as one set (review 28, findings 1 and 2).

A reused ``--out`` folder ends with exactly this export's SDTM files: an earlier export's domains
that this one does not write (DM, SUPPDM, DS from a dataset, beside a result folder's TI, IE, DV)
are removed, other files are left alone. A failure while the files are moved in leaves the folder
as it was, and its message names the destination, not the staging folder. Nothing is written on a
refusal, and two exports into one folder cannot run at once.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from lifileucel_analysis.cli import main
from lifileucel_analysis.contract import output_files
from lifileucel_analysis.contract.output_lock import output_lock
from lifileucel_analysis.paths import DEMO_DATASET
from lifileucel_analysis.report.sdtm import SDTM_FILES

STUDYID = "IOV-LN144-EAP"
RESULT_FILES = {"ti.xpt", "ti.csv", "ie.xpt", "ie.csv", "dv.xpt", "dv.csv", "define.csv", "codelists.csv"}
DATASET_FILES = RESULT_FILES | {"dm.xpt", "dm.csv", "suppdm.xpt", "suppdm.csv", "ds.xpt", "ds.csv"}


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screen") / "screened"
    assert main(["screen", str(DEMO_DATASET), "--out", str(folder)]) == 0
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def sdtm(source: Path, out: Path, studyid: str = STUDYID) -> int:
    return main(["sdtm", str(source), "--out", str(out), "--studyid", studyid])


def test_the_file_names_are_every_domain_s_and_the_two_tables() -> None:
    assert set(SDTM_FILES) == DATASET_FILES


def test_a_reused_folder_keeps_no_earlier_dv_when_nothing_is_waived_now(tmp_path: Path) -> None:
    # Review 40R: since a domain without records is not written (SDTMIG 3.4 section 3.2), an export
    # without waivers into a folder that holds an earlier export's DV must remove it, not leave it
    # beside a define.csv that no longer describes it.
    out = tmp_path / "sdtm"
    assert sdtm(DEMO_DATASET, out) == 0
    assert {"dv.xpt", "dv.csv"} <= set(contents(out))
    unwaived = tmp_path / "unwaived"
    unwaived.mkdir()
    for table in ("patients", "therapies", "labs", "toxicities"):  # overrides.csv is optional: no waiver
        (unwaived / f"{table}.csv").write_bytes((DEMO_DATASET / f"{table}.csv").read_bytes())
    assert sdtm(unwaived, out) == 0
    assert set(contents(out)) == DATASET_FILES - {"dv.xpt", "dv.csv"}
    assert "DV" not in set(pd.read_csv(out / "define.csv", dtype=str, keep_default_na=False)["dataset"])


def test_a_reused_folder_keeps_no_earlier_domain_this_export_does_not_write(screened: Path, tmp_path: Path) -> None:
    out = tmp_path / "sdtm"
    assert sdtm(DEMO_DATASET, out) == 0
    assert set(contents(out)) == DATASET_FILES
    (out / "README.txt").write_text("the sponsor's note\n")
    assert sdtm(screened, out) == 0
    assert set(contents(out)) == RESULT_FILES | {"README.txt"}  # DM, SUPPDM, DS gone; other files kept
    assert (out / "README.txt").read_text() == "the sponsor's note\n"
    define = pd.read_csv(out / "define.csv", dtype=str, keep_default_na=False)
    assert {f"{name.lower()}.xpt" for name in define["dataset"]} == {n for n in RESULT_FILES if n.endswith(".xpt")}
    assert sdtm(screened, tmp_path / "fresh") == 0
    assert contents(out) == {**contents(tmp_path / "fresh"), "README.txt": b"the sponsor's note\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "sdtm"]  # no staging or earlier files left


@pytest.mark.parametrize("failing", ["dv.xpt", "define.csv", "dm.csv"])
def test_a_failure_while_moving_in_leaves_the_folder_as_it_was(tmp_path: Path, failing: str,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A file that cannot be replaced (locked in Excel on Windows, a full disk) partway through: the files
    already moved in are taken out again and the earlier ones put back. dm.csv fails while the earlier
    files are moved aside, dv.xpt and define.csv while the new ones are moved in."""
    out = tmp_path / "sdtm"
    assert sdtm(DEMO_DATASET, out) == 0
    before = contents(out)
    real = os.replace

    def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        if Path(source) == out / failing or Path(target) == out / failing:
            raise PermissionError(13, "Permission denied", str(source))
        real(source, target)

    monkeypatch.setattr(output_files.os, "replace", replace)
    capsys.readouterr()
    assert sdtm(DEMO_DATASET, out, "NEWSTUDY") == 1
    err = capsys.readouterr().err
    monkeypatch.undo()
    assert f"cannot write {out / failing}: Permission denied; nothing was changed in {out}" in err, err
    assert ".staging" not in err
    assert contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sdtm"]


def test_a_folder_where_a_file_goes_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sdtm"
    assert sdtm(DEMO_DATASET, out) == 0
    (out / "dv.xpt").unlink()
    (out / "dv.xpt").mkdir()
    kept = {path.name: path.read_bytes() for path in out.iterdir() if path.name != "dv.xpt"}
    assert sdtm(DEMO_DATASET, out, "NEWSTUDY") == 1
    err = capsys.readouterr().err
    assert f"cannot write {out / 'dv.xpt'}" in err and "is a folder" in err, err
    assert {name: (out / name).read_bytes() for name in kept} == kept and (out / "dv.xpt").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sdtm"]


def test_a_new_folder_is_made_in_one_step_and_readable(tmp_path: Path) -> None:
    out = tmp_path / "new" / "sdtm"
    assert sdtm(DEMO_DATASET, out) == 0
    assert set(contents(out)) == DATASET_FILES
    assert out.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in out.parent.iterdir()) == ["sdtm"]


def test_a_second_export_into_a_folder_being_written_exits_2(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sdtm"
    with output_lock(out):
        assert sdtm(DEMO_DATASET, out) == 2
    assert "another lifileucel-eap run" in capsys.readouterr().err
    assert not out.exists()
