"""The drug dictionary: normalised lookup, completeness for the classes that decide, sources, site files."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from helpers import ELIGIBLE_THERAPY, case_tables
from lifileucel_analysis.contract.dataset import ContractError, ScreeningDataset
from lifileucel_analysis.contract.drug_file import check_drug_table, package_drug_table, read_drug_file
from lifileucel_analysis.engine.drug_dictionary import classify_names, lookup_table, normalise_names
from lifileucel_analysis.engine.screening import screen

CSV = Path(__file__).resolve().parents[1] / "lifileucel_analysis" / "data" / "drug_classes.csv"

# Written out here from the FDA labels (not read from the package file): every FDA-approved
# agent of the classes a criterion reads, by INN as sites write it.
FDA_APPROVED = {
    "anti-pd-1": ["pembrolizumab", "nivolumab", "cemiplimab", "dostarlimab", "toripalimab", "tislelizumab",
                  "retifanlimab", "penpulimab"],
    "anti-pd-l1": ["atezolizumab", "durvalumab", "avelumab", "cosibelimab"],
    "anti-ctla-4": ["ipilimumab", "tremelimumab"],
    "anti-lag-3": ["relatlimab"],
    "braf-inhibitor": ["vemurafenib", "dabrafenib", "encorafenib"],
    "mek-inhibitor": ["trametinib", "cobimetinib", "binimetinib"],
    "adoptive-cell-transfer": ["lifileucel", "tisagenlecleucel", "axicabtagene ciloleucel",
                               "brexucabtagene autoleucel", "lisocabtagene maraleucel", "idecabtagene vicleucel",
                               "ciltacabtagene autoleucel", "obecabtagene autoleucel", "afamitresgene autoleucel"],
}
BRANDS = {"Keytruda": "anti-pd-1", "Opdivo": "anti-pd-1", "Libtayo": "anti-pd-1", "Jemperli": "anti-pd-1",
          "Tecentriq": "anti-pd-l1", "Imfinzi": "anti-pd-l1", "Bavencio": "anti-pd-l1", "Yervoy": "anti-ctla-4",
          "Zelboraf": "braf-inhibitor", "Tafinlar": "braf-inhibitor", "Braftovi": "braf-inhibitor",
          "Mekinist": "mek-inhibitor", "Cotellic": "mek-inhibitor", "Mektovi": "mek-inhibitor",
          "Kymriah": "adoptive-cell-transfer", "Yescarta": "adoptive-cell-transfer",
          "Tecartus": "adoptive-cell-transfer", "Breyanzi": "adoptive-cell-transfer",
          "Abecma": "adoptive-cell-transfer", "Carvykti": "adoptive-cell-transfer",
          "Aucatzyl": "adoptive-cell-transfer", "Tecelra": "adoptive-cell-transfer",
          "Amtagvi": "adoptive-cell-transfer", "Imlygic": "oncolytic-virus", "Proleukin": "cytokine"}


def classify(name: str) -> str | None:
    return classify_names(pd.Series([name]), lookup_table(package_drug_table())).iloc[0]


@pytest.mark.parametrize("drug_class, name", [(c, n) for c, names in FDA_APPROVED.items() for n in names])
def test_every_approved_agent_of_a_deciding_class_is_known(drug_class: str, name: str) -> None:
    assert classify(name) == drug_class
    assert classify(name.replace(" ", "-")) == drug_class  # the hyphenated spelling finds the same row


@pytest.mark.parametrize("brand, drug_class", sorted(BRANDS.items()))
def test_brand_names(brand: str, drug_class: str) -> None:
    assert classify(brand) == drug_class
    assert classify(brand.upper() + "®") == drug_class


@pytest.mark.parametrize("written, meant", [
    ("talimogene laherparepvec", "talimogene-laherparepvec"), ("Pembrolizumab 200 mg IV", "pembrolizumab"),
    ("nivolumab 240mg", "nivolumab"), ("dabrafenib mesylate", "dabrafenib"), ("cemiplimab-rwlc", "cemiplimab"),
    ("  Nivolumab  ", "nivolumab"), ("pembrolizumab (Keytruda)", "pembrolizumab"), ("aldesleukin q2w", "aldesleukin"),
])
def test_normalisation_finds_the_same_row(written: str, meant: str) -> None:
    assert classify(written) is not None
    assert classify(written) == classify(meant)


def test_normalisation_keeps_what_changes_the_drug() -> None:
    assert normalise_names(pd.Series(["interleukin-2"])).tolist() == ["interleukin 2"]  # a bare number stays
    assert classify("pembrolizumabb") is None  # no fuzzy matching: a typo is a finding, not a guess
    assert classify("nivolumab xyz1") is None


def test_fixed_dose_combination_has_both_classes() -> None:
    assert classify("Opdualag") == "anti-pd-1;anti-lag-3"


def test_every_row_has_a_class_and_a_source_and_names_are_unique_after_normalisation() -> None:
    with CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["drug_class"] and row["source"] for row in rows)
    keys = normalise_names(pd.Series([row["agent"] for row in rows]))
    classes = pd.Series([row["drug_class"] for row in rows])
    assert (classes.groupby(keys.to_numpy()).nunique() == 1).all()


def test_a_site_file_adds_names_without_editing_the_package(tmp_path: Path) -> None:
    tables = case_tables(therapies=[ELIGIBLE_THERAPY, {**ELIGIBLE_THERAPY, "line": 2, "agents": "zz-cell-777"}])
    before = screen(ScreeningDataset(**tables))
    assert before.outcomes.set_index("criterion_id").loc["E1", "outcome"] == "unknown"
    path = tmp_path / "drugs.csv"
    path.write_text("agent,drug_class,source\nZZ-Cell 777,adoptive-cell-transfer,site pharmacy\n", encoding="utf-8")
    after = screen(ScreeningDataset(**tables), drugs=read_drug_file(path))
    assert after.outcomes.set_index("criterion_id").loc["E1", "outcome"] == "fail"


def test_a_bad_site_file_names_row_column_and_value() -> None:
    with pytest.raises(ContractError) as caught:
        check_drug_table(pd.DataFrame({"agent": ["x", ""], "drug_class": ["anti-pd-2", "chemotherapy"]}))
    text = str(caught.value)
    assert "anti-pd-2" in text and "drug_class" in text and "agent name is blank" in text


def test_a_site_file_is_named_in_its_problems_as_the_drug_file(tmp_path: Path) -> None:
    # Audit 39C: "1 problem(s) in the screening dataset" over a drug-file row, naming no file.
    path = tmp_path / "site-drugs.csv"
    path.write_text("agent,drug_class\nx,anti-pd1\n", encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        read_drug_file(path)
    assert str(caught.value).startswith(f"1 problem in the drug file {path}:\n  - drugs row 1, column drug_class")


def test_a_regimen_row_in_a_site_file_is_refused() -> None:
    # Audit 39C: "a+b" was accepted, and could never match (regimens are looked up agent by agent).
    with pytest.raises(ContractError, match="row 2, column agent: value 'foo\\+bar': one drug per row"):
        check_drug_table(pd.DataFrame({"agent": ["foo", "foo+bar"], "drug_class": ["chemotherapy", "chemotherapy"]}))


@pytest.mark.parametrize(("rows", "refused"), [
    # The same drug once normalised (case, hyphen, a trailing dose), two classes: refused, naming both rows.
    ([("investigational-x", "anti-pd-1"), ("Investigational X 200 mg", "adoptive-cell-transfer")],
     "drugs row 2, column agent: value 'Investigational X 200 mg': class 'adoptive-cell-transfer', but row 1 "
     "('investigational-x', the same drug) says 'anti-pd-1'"),
    # The same class twice is harmless; two different drugs are two rows.
    ([("investigational-x", "anti-pd-1"), ("Investigational X", "Anti-PD-1")], None),
    ([("investigational-x", "anti-pd-1"), ("investigational-y", "chemotherapy")], None),
])
def test_one_drug_with_two_classes_in_a_site_file_is_refused(tmp_path: Path, rows: list[tuple[str, str]],
                                                             refused: str | None) -> None:
    # Audit 39C: the last of two conflicting rows won without a word (it turned E1 to fail).
    from lifileucel_analysis.paths import DEMO_DATASET
    from lifileucel_analysis.report.screening_inputs import prepare_inputs

    path = tmp_path / "drugs.csv"
    path.write_text("agent,drug_class\n" + "".join(f"{a},{c}\n" for a, c in rows), encoding="utf-8")
    if refused is None:
        lookup = lookup_table(package_drug_table(), read_drug_file(path))
        assert lookup["investigational x"] == "anti-pd-1"
        return
    with pytest.raises(ContractError) as caught:
        lookup_table(package_drug_table(), read_drug_file(path))
    assert refused in str(caught.value)
    with pytest.raises(ContractError) as caught:  # as the file is read for a screen, naming it
        prepare_inputs(DEMO_DATASET, drugs=str(path))
    assert str(caught.value).startswith(f"1 problem in the drug file {path}:") and refused in str(caught.value)


def test_a_combination_is_read_whatever_the_spaces_and_order_of_its_classes(tmp_path: Path) -> None:
    # Review 39R: "anti-ctla-4; anti-pd-1" passed the file check, but " anti-pd-1" matched no class, so the
    # agent read as no anti-PD-1; and "a;b" beside "b; a" for one drug was refused as two classes.
    path = tmp_path / "drugs.csv"
    path.write_text("agent,drug_class\ncombo-x,anti-ctla-4; anti-pd-1\nCombo X,anti-pd-1;anti-ctla-4\n",
                    encoding="utf-8")
    table = read_drug_file(path)
    assert table["drug_class"].tolist() == ["anti-ctla-4;anti-pd-1", "anti-pd-1;anti-ctla-4"]
    tables = case_tables(therapies=[{**ELIGIBLE_THERAPY, "agents": "combo-x"}])
    i2 = screen(ScreeningDataset(**tables), drugs=table).outcomes.set_index("criterion_id").loc["I2"]
    assert i2["outcome"] == "pass" and "anti-PD-(L)1 in line 1 (combo-x)" in i2["evidence"]


def test_a_site_file_changing_a_package_class_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Audit 42C: a site row `lifileucel,other` passed E1 for three demo patients without a word. The
    # replacement stays (docs/criteria.md), said on stderr; a new drug or the same class is not a change.
    from lifileucel_analysis.cli import main
    from lifileucel_analysis.engine.drug_dictionary import changed_package_classes
    from lifileucel_analysis.paths import DEMO_DATASET

    site = pd.DataFrame({"agent": ["Lifileucel", "newmab", "Nivolumab"],
                         "drug_class": ["other", "anti-pd-1", " Anti-PD-1 "]})
    assert changed_package_classes(package_drug_table(), site) == ["Lifileucel: adoptive-cell-transfer -> other"]
    drugs = tmp_path / "drugs.csv"
    site.to_csv(drugs, index=False)
    assert main(["screen", str(DEMO_DATASET), "--out", str(tmp_path / "out"), "--drugs", str(drugs)]) == 0
    assert (f"note: the drug file {drugs} changes the class of 1 package drug (E1, I2 and I3 read it): Lifileucel: "
            "adoptive-cell-transfer -> other\n") in capsys.readouterr().err
