"""End to end: `lifileucel-eap screen` on each format, invalid input, python -m."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import small_dataset

from lifileucel_analysis.cli import main
from lifileucel_analysis.contract.output_files import neutralise_formulas


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from lifileucel_analysis.contract.writing import write_tables

    root = tmp_path_factory.mktemp("formats")
    tables = small_dataset()
    write_tables(tables, root / "csv", "csv")
    write_tables(tables, root / "book.xlsx", "xlsx")
    write_tables(tables, root / "parquet", "parquet")
    return {"csv": root / "csv", "xlsx": root / "book.xlsx", "parquet": root / "parquet"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_screen_writes_the_spec_files(datasets: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    assert main(["screen", str(datasets[fmt]), "--out", str(tmp_path / "out")]) == 0
    verdicts = pd.read_csv(tmp_path / "out" / "verdicts.csv", keep_default_na=False)
    assert list(verdicts.columns) == ["patient_id", "site_id", "verdict", "failed", "unknown", "waived"]
    assert verdicts.set_index("patient_id")["verdict"].to_dict() == {
        "P1": "eligible", "P2": "pending", "P3": "ineligible"}
    assert verdicts.set_index("patient_id").loc["P2", "unknown"] == "I6"
    assert verdicts.set_index("patient_id").loc["P3", "failed"] == "E3"
    outcomes = pd.read_csv(tmp_path / "out" / "outcomes.csv", keep_default_na=False)
    assert list(outcomes.columns) == ["patient_id", "criterion_id", "outcome", "evidence"]
    assert len(outcomes) == 3 * 19
    assert (outcomes["evidence"] != "").all()


def test_three_formats_give_identical_verdicts(datasets: dict[str, Path], tmp_path: Path) -> None:
    outputs = []
    for fmt, path in datasets.items():
        assert main(["screen", str(path), "--out", str(tmp_path / fmt)]) == 0
        outputs.append(((tmp_path / fmt / "verdicts.csv").read_bytes(), (tmp_path / fmt / "outcomes.csv").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]


def test_invalid_input_exits_2_with_a_message_and_writes_nothing(tmp_path: Path) -> None:
    from lifileucel_analysis.contract.writing import write_tables

    write_tables(small_dataset(), tmp_path / "data", "csv")
    patients = tmp_path / "data" / "patients.csv"
    patients.write_text(patients.read_text().replace("2025-03-01", "03/01/2025", 1))
    result = subprocess.run([sys.executable, "-m", "lifileucel_analysis", "screen", str(tmp_path / "data"),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "03/01/2025" in result.stderr and "patients" in result.stderr and "consent_date" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_refusal_says_that_an_earlier_runs_files_are_not_this_datas(tmp_path: Path, datasets: dict[str, Path],
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing is written on a refusal, so last week's verdicts stay in --out; a coordinator
    # opening them must not take them for this data's (audit, session 16).
    out = tmp_path / "out"
    assert main(["screen", str(datasets["csv"]), "--out", str(out)]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in datasets["csv"].iterdir():
        (bad / path.name).write_bytes(path.read_bytes())
    (bad / "patients.csv").write_text((bad / "patients.csv").read_text().replace("2025-03-01", "03/01/2025", 1))
    capsys.readouterr()
    assert main(["screen", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"note: nothing was written; the files already in {out} are from an earlier run" in err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert main(["screen", str(bad), "--out", str(tmp_path / "new")]) == 2
    assert "earlier run" not in capsys.readouterr().err  # an empty or new folder: nothing to say


@pytest.mark.parametrize(("option", "instead"), [("--out", "give a folder (a blank one would mean the current folder)"),
                                                 ("--history", "give a file, or leave the option out")])
def test_a_blank_output_path_is_refused_and_the_current_folder_kept(
        tmp_path: Path, datasets: dict[str, Path], option: str, instead: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Audit 42C: `--out ''` wrote 18 files into the current folder and removed its outcomes.parquet as an
    # earlier run's (and `--history ''` ended in a traceback); a script's empty variable must stop the command.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outcomes.parquet").write_bytes(b"someone else's file")
    args = ["screen", str(datasets["csv"]), "--out", str(tmp_path / "out")]
    args = [*args[:2], "--out", ""] if option == "--out" else [*args, option, " "]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == f"error: {option} is blank: {instead}\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["outcomes.parquet"]
    assert (tmp_path / "outcomes.parquet").read_bytes() == b"someone else's file"


def test_a_blank_input_path_still_means_its_default(tmp_path: Path, datasets: dict[str, Path]) -> None:
    # Blank = default for inputs (docs/architecture.md, screening_inputs.not_given): review 42 found the first
    # version of the check above refusing `--params ''` and `--drugs ''`, which had run with the defaults.
    out = tmp_path / "out"
    assert main(["screen", str(datasets["csv"]), "--out", str(out), "--params", "", "--drugs", " "]) == 0
    assert (out / "verdicts.csv").is_file()


@pytest.mark.parametrize("option", ["--params", "--drugs", "--history"])
def test_a_folder_where_a_file_is_meant_is_refused_before_anything_is_written(
        tmp_path: Path, datasets: dict[str, Path], option: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Audit 42C: `--history DIR` exited 1 after publishing every output, leaving DIR.lock beside it.
    folder = tmp_path / "dir"
    folder.mkdir()
    assert main(["screen", str(datasets["csv"]), "--out", str(tmp_path / "out"), option, str(folder)]) == 2
    assert capsys.readouterr().err == f"error: {option} names a folder ({folder}): give a file\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dir"]


@pytest.mark.parametrize(("command", "flag"), [(["criteria", "--out"], "--out"), (["redcap-dictionary"], "out")])
def test_a_folder_or_a_blank_where_a_command_writes_one_file_is_refused(
        tmp_path: Path, command: list[str], flag: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Review 42R: `criteria --out DIR` and `redcap-dictionary DIR` exited 1 naming a temporary file beside DIR;
    # a blank one was told to "give a folder", which these two commands do not write.
    folder = tmp_path / "dir"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    assert main([*command, str(folder)]) == 2
    assert capsys.readouterr().err == f"error: {flag} names a folder ({folder}): give a file\n"
    assert main([*command, " "]) == 2
    said = "give a file, or leave the option out to print the catalog" if command[0] == "criteria" else "give a file"
    assert capsys.readouterr().err == f"error: {flag} is blank: {said}\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dir"] and not any(folder.iterdir())


@pytest.mark.parametrize(("choice", "said"), [
    ("", "--criteria is blank: give 'default', a version label of params/criteria/ or a criteria file"),
    ("DIR", "parameter file {tmp}/DIR is a folder: give a YAML file"),
])
def test_compare_refuses_a_blank_or_a_folder_for_a_side(
        tmp_path: Path, datasets: dict[str, Path], choice: str, said: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Review 42R: `compare --criteria ''` read the dataset folder as the criteria file ("parameter file
    # .../demo does not exist"), and a folder was said not to exist.
    (tmp_path / "DIR").mkdir()
    monkeypatch.chdir(tmp_path)
    for first, second in ((choice, "default"), ("default", choice)):  # either side (review 43R)
        args = ["compare", str(datasets["csv"]), "--criteria", first, "--criteria", second, "--out", "out"]
        assert main(args) == 2
        assert capsys.readouterr().err == f"error: {said.format(tmp=tmp_path)}\n"
        assert not (tmp_path / "out").exists()
    # A version label beside a folder of that name is the label (review 43R: it was refused as a folder).
    (tmp_path / "default").mkdir()
    assert main(["compare", str(datasets["csv"]), "--criteria", "default", "--criteria", "what-if steroid 20 mg",
                 "--out", "labels"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(("args", "said"), [
    (["synth", "--patients", "-5", "--seed", "1"], "--patients is -5: give a whole number >= 1"),
    (["synth", "--patients", "0", "--seed", "1"], "--patients is 0: give a whole number >= 1"),
    (["synth", "--patients", "5", "--seed", "-1"], "--seed is -1: give a whole number >= 0"),
    (["synth", "--patients", "5", "--seed", "1", "--weeks", "-2"], "--weeks is -2: give a whole number >= 0"),
])
def test_a_count_below_its_least_is_refused_without_a_traceback(
        tmp_path: Path, args: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Audit 42C: each of these ended in a ValueError traceback (or, with 0 patients, a cohort screen refuses).
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: {said}\n"
    assert not (tmp_path / "out").exists()


def test_bad_params_exit_2(tmp_path: Path, datasets: dict[str, Path]) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("max_ecgo: 2\n")
    assert main(["screen", str(datasets["csv"]), "--out", str(tmp_path / "out"), "--params", str(bad)]) == 2
    assert not (tmp_path / "out").exists()


def test_screen_takes_criteria_as_sdtm_criteria_and_compare_do(tmp_path: Path, datasets: dict[str, Path],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # A new user typed `screen --criteria FILE` as the other commands take it (review 24C): the same run as --params.
    limits = tmp_path / "limits.yaml"
    limits.write_text("max_ecog: 2\n")
    for option in ("--params", "--criteria"):
        assert main(["screen", str(datasets["csv"]), "--out", str(tmp_path / option), option, str(limits)]) == 0
    outcome_bytes = [(tmp_path / option / "outcomes.csv").read_bytes() for option in ("--params", "--criteria")]
    assert outcome_bytes[0] == outcome_bytes[1]
    outcomes = pd.read_csv(tmp_path / "--criteria" / "outcomes.csv", keep_default_na=False)
    assert outcomes.loc[outcomes["criterion_id"] == "I6", "evidence"].str.contains("<= 2").any()  # the file's limit
    # --help names every subcommand in its description, not six of the nine
    with pytest.raises(SystemExit):
        main(["--help"])
    description = capsys.readouterr().out.split("positional arguments")[0].split("\n\n", 1)[1]  # after the usage
    for command in ("screen", "changes", "compare", "partition", "synth", "reports", "redcap-dictionary", "sdtm",
                    "criteria"):
        assert command in description.replace("-\n", "-").replace("\n", " "), command


def test_synth_counts_its_files_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--patients", "5", "--seed", "1", "--format", "xlsx", "--out", str(tmp_path / "c.xlsx")]) == 0
    assert capsys.readouterr().out.rstrip().endswith("(1 file)")  # one workbook, not "(1 files)"
    assert main(["synth", "--patients", "5", "--seed", "1", "--out", str(tmp_path / "csv")]) == 0
    assert capsys.readouterr().out.rstrip().endswith("(5 files)")


def test_a_path_found_nowhere_names_each_place_tried_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # From the project root, "relative to the working directory" and "to the project root" are one place
    # (review 24C: the message said it twice).
    from lifileucel_analysis.paths import PROJECT_ROOT
    from lifileucel_analysis.report.screening_inputs import InputNotFoundError, resolve_input_path

    monkeypatch.chdir(PROJECT_ROOT)
    with pytest.raises(InputNotFoundError) as caught:
        resolve_input_path("nothere.duckdb", None, what="history")
    assert str(caught.value).count(str(PROJECT_ROOT / "nothere.duckdb")) == 1


def test_formulas_are_neutralised() -> None:
    frame = pd.DataFrame({"a": ["=1+1", "+x", "-y", "@z", "ok", None]})
    assert neutralise_formulas(frame)["a"].tolist()[:5] == ["'=1+1", "'+x", "'-y", "'@z", "ok"]
