"""SDTM codelists: define.csv names each coded variable's codelist, and codelists.csv lists exactly the
values the export writes, with the NCI C-codes of CDISC's terms.

The expectations are written by hand: the codelists and C-codes from NCI EVS's SDTM Terminology
(2025-03-25 release: NY C66742, IECAT C66797, SEX C66731, AGEU C66781, ARMNULRS C142179, DSCAT
C74558, PROTMLST C114118, NCOMPLT C66727, EPOCH C99079), the sponsor-defined values from
docs/exchange.md; the demo's export is then checked against them in both directions.
"""

from __future__ import annotations

from pathlib import Path

from helpers import read_text_csv

EXPECTED_TERMS = {
    "NY": {"N": "C49487", "Y": "C49488"},
    "IECAT": {"INCLUSION": "C25532", "EXCLUSION": "C25370"},
    "DVDECOD": {"ELIGIBILITY CRITERION WAIVED": ""},
    "DVCAT": {"ELIGIBILITY CRITERIA": ""},
    "AGEU": {"YEARS": "C29848"},
    "SEX": {"M": "C20197", "F": "C16576", "U": "C17998"},
    "ARMNULRS": {"SCREEN FAILURE": "C49628", "NOT ASSIGNED": "C142239"},
    "ISO3166": {"USA": ""},
    "ELIGSTAT": {"ELIGIBLE": "", "PENDING": "", "INELIGIBLE": ""},
    "DSCAT": {"PROTOCOL MILESTONE": "C74588", "DISPOSITION EVENT": "C74590"},
    "PROTMLST": {"INFORMED CONSENT OBTAINED": "C16735"},
    "NCOMPLT": {"SCREEN FAILURE": "C49628"},
    "EPOCH": {"SCREENING": "C202487"},
}
"""Per codelist, each value the export can write and its NCI C-code ("" where none is verified)."""
EXPECTED_CODED = {
    ("TI", "IECAT"): "IECAT", ("IE", "IECAT"): "IECAT", ("IE", "IEORRES"): "NY", ("IE", "IESTRESC"): "NY",
    ("DV", "DVDECOD"): "DVDECOD", ("DV", "DVCAT"): "DVCAT", ("DM", "AGEU"): "AGEU", ("DM", "SEX"): "SEX",
    ("DM", "ARMNRS"): "ARMNULRS", ("DM", "COUNTRY"): "ISO3166", ("SUPPDM", "QVAL"): "ELIGSTAT",
    ("DS", "DSCAT"): "DSCAT", ("DS", "EPOCH"): "EPOCH", ("IE", "EPOCH"): "EPOCH", ("DV", "EPOCH"): "EPOCH",
}
"""define.csv's codelist of each coded variable; every other variable's is blank."""
EXPECTED_VALUE_LEVEL = {
    ("DS", "DSDECOD", "DSCAT = 'PROTOCOL MILESTONE'"): "PROTMLST",
    ("DS", "DSDECOD", "DSCAT = 'DISPOSITION EVENT'"): "NCOMPLT",
}
"""define.csv's value-level rows: DSDECOD's codelist is the one its DSCAT names."""
DSDECOD_BY_DSCAT = {"PROTOCOL MILESTONE": "PROTMLST", "DISPOSITION EVENT": "NCOMPLT"}
BLANK_ALLOWED = {("DM", "AGEU")}
"""Coded variables that may be null: AGEU where the age is unknown."""


def listed(folder: Path) -> dict[tuple[str, str], str]:
    """codelists.csv as {(codelist, value): nci_code}, refusing a duplicate row."""
    rows = read_text_csv(folder / "codelists.csv")
    assert list(rows.columns) == ["codelist", "value", "decode", "nci_code", "used_by"]
    assert not rows.duplicated(["codelist", "value"]).any()
    return {(c, v): code for c, v, code in rows[["codelist", "value", "nci_code"]].itertuples(index=False)}


def written(folder: Path) -> dict[tuple[str, str], set[str]]:
    """Per coded (codelist, value) of EXPECTED_CODED and DS DSDECOD, the DOMAIN.VARIABLE names that write it."""
    seen: dict[tuple[str, str], set[str]] = {}
    for (domain, variable), codelists in {**EXPECTED_CODED, ("DS", "DSDECOD"): "by DSCAT"}.items():
        path = folder / f"{domain.lower()}.csv"
        if not path.is_file():
            continue
        frame = read_text_csv(path)
        for value, category in zip(frame[variable], frame["DSCAT"] if domain == "DS" else frame[variable]):
            if value == "" and (domain, variable) in BLANK_ALLOWED:
                continue
            # DSDECOD's codelist is the one its DSCAT names (value-level metadata).
            codelist = DSDECOD_BY_DSCAT[category] if variable == "DSDECOD" else codelists
            seen.setdefault((codelist, value), set()).add(f"{domain}.{variable}")
    return seen


def test_codelists_csv_lists_the_expected_values_with_their_nci_codes(demo_sdtm: dict[str, Path]) -> None:
    expected = {(codelist, value): code for codelist, terms in EXPECTED_TERMS.items() for value, code in terms.items()}
    assert listed(demo_sdtm["dataset"]) == expected
    rows = read_text_csv(demo_sdtm["dataset"] / "codelists.csv")
    assert all(decode and decode.isascii() for decode in rows["decode"])
    assert rows.set_index(["codelist", "value"]).loc[("NY", "N"), "decode"] == "No"
    assert rows.set_index(["codelist", "value"]).loc[("SEX", "F"), "decode"] == "Female"


def test_define_names_each_coded_variable_s_codelist(demo_sdtm: dict[str, Path]) -> None:
    define = read_text_csv(demo_sdtm["dataset"] / "define.csv")
    assert list(define.columns) == ["dataset", "dataset_label", "order", "variable", "label", "type", "length",
                                    "origin", "method", "where", "codelist", "comment"]
    dates = define[define["variable"].isin(["IEDTC", "DSSTDTC"]) & (define["where"] == "")]
    # Both are the consent date copied in, not a date collected for the criterion or the event (audit 35S).
    assert list(dates["origin"]) == ["Derived", "Derived"]
    assert all(method.startswith("= DM.RFICDTC") for method in dates["method"])
    assert (define.loc[~define["variable"].isin(["IEDTC", "DSSTDTC"]), "method"] == "").all()
    variables = define[define["where"] == ""]
    assert not variables.duplicated(["dataset", "variable"]).any()  # one row per variable
    got = {(d, v): c for d, v, c in variables[["dataset", "variable", "codelist"]].itertuples(index=False) if c}
    assert got == EXPECTED_CODED
    value_level = define[define["where"] != ""]
    assert {(d, v, w): c for d, v, w, c in value_level[["dataset", "variable", "where", "codelist"]].itertuples(
        index=False)} == EXPECTED_VALUE_LEVEL
    # Every codelist define.csv names is in codelists.csv, and none other; one codelist per row.
    assert not define["codelist"].str.contains(";").any()
    named = set(got.values()) | set(EXPECTED_VALUE_LEVEL.values())
    assert named == {codelist for codelist, _ in listed(demo_sdtm["dataset"])}


def test_every_value_written_is_listed_and_every_listed_value_is_written(demo_sdtm: dict[str, Path]) -> None:
    # Both directions on the demo, whose 400 subjects produce every value (a blank sex: U; all
    # three verdicts; inclusion and exclusion criteria not met).
    seen, rows = written(demo_sdtm["dataset"]), read_text_csv(demo_sdtm["dataset"] / "codelists.csv")
    assert set(seen) == set(listed(demo_sdtm["dataset"]))
    used_by = {(c, v): set(u.split(";")) for c, v, u in rows[["codelist", "value", "used_by"]].itertuples(index=False)}
    for key, variables in seen.items():
        assert variables <= used_by[key], key
    assert used_by[("NY", "Y")] == {"IE.IEORRES", "IE.IESTRESC"}
    assert used_by[("IECAT", "INCLUSION")] == {"TI.IECAT", "IE.IECAT"}
    assert used_by[("NCOMPLT", "SCREEN FAILURE")] == {"DS.DSDECOD"}


def test_from_a_result_folder_only_the_codelists_of_ti_ie_and_dv_are_listed(demo_sdtm: dict[str, Path]) -> None:
    names = ("NY", "IECAT", "DVDECOD", "DVCAT", "EPOCH")
    expected = {(c, v): code for c in names for v, code in EXPECTED_TERMS[c].items()}
    assert listed(demo_sdtm["result"]) == expected
    assert set(written(demo_sdtm["result"])) == set(expected)
    used_by = read_text_csv(demo_sdtm["result"] / "codelists.csv").set_index(["codelist", "value"])["used_by"]
    assert used_by[("IECAT", "EXCLUSION")] == "TI.IECAT;IE.IECAT"
