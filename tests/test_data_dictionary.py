"""docs/data-dictionary.md agrees with schema.TABLES, so the doc and the validator cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lifileucel_analysis.contract import schema
from lifileucel_analysis.contract.data_dictionary import data_dictionary_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"
KIND_WORDS = {"ID": "id", "text": "text", "code": "code", "yes/no": "yesno", "integer": "int", "number": "number",
              "date": "date"}


def markdown_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Return each '### heading' section's first Markdown table as a list of row dicts."""
    sections: dict[str, list[dict[str, str]]] = {}
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        heading, _, body = section.partition("\n")
        lines = [line for line in body.splitlines() if line.startswith("|")]
        if len(lines) < 2:
            continue
        header = split_row(lines[0])
        sections[heading.strip()] = [dict(zip(header, split_row(line), strict=True)) for line in lines[2:]]
    return sections


def split_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


@pytest.fixture(scope="module")
def documented() -> dict[str, list[dict[str, str]]]:
    return markdown_tables(DOC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("table", list(schema.TABLES))
def test_every_column_is_documented_in_contract_order(documented: dict[str, list[dict[str, str]]],
                                                      table: str) -> None:
    assert table in documented, f"docs/data-dictionary.md has no '### {table}' table"
    names = [backticked(row["column"])[0] for row in documented[table]]
    assert names == list(schema.TABLES[table].column_names)


@pytest.mark.parametrize("table", list(schema.TABLES))
def test_kinds_codes_and_required_flags_agree(documented: dict[str, list[dict[str, str]]], table: str) -> None:
    spec = schema.TABLES[table]
    for row in documented[table]:
        column = spec.column(backticked(row["column"])[0])
        assert KIND_WORDS[row["type"]] == column.kind, column.name
        assert row["required"] == ("yes" if column.required else "no"), column.name
        if column.kind in ("code", "yesno"):
            assert backticked(row["allowed"]) == list(column.codes), column.name
        elif column.kind == "id":
            assert backticked(row["allowed"]) == [schema.PATIENT_ID_PATTERN]
        else:
            assert row["allowed"] == column.allowed, column.name
        assert row["meaning"], f"{table}.{column.name} has no meaning in the doc"


def test_lab_units_and_factors_agree(documented: dict[str, list[dict[str, str]]]) -> None:
    rows = documented["Lab units"]
    listed = {(backticked(r["test"])[0], backticked(r["unit"])[0]): _factor(r["factor"]) for r in rows}
    expected = {(test, unit): factor for test, units in schema.UNIT_FACTORS.items() for unit, factor in units.items()}
    assert listed.keys() == expected.keys()
    for key, factor in expected.items():
        assert listed[key] == pytest.approx(factor, rel=1e-12), key


def _factor(text: str) -> float:
    """A documented factor: ``0.001`` or ``1 / 17.1`` (a division, as computed)."""
    if text.startswith("1 / "):
        return 1 / float(text[4:])
    return float(text)
    for row in rows:
        assert backticked(row["canonical"])[0] == schema.CANONICAL_UNIT[backticked(row["test"])[0]]


def test_required_tables_and_keys_are_stated(documented: dict[str, list[dict[str, str]]]) -> None:
    text = DOC.read_text(encoding="utf-8")
    for spec in schema.TABLES.values():
        section = text.split(f"### {spec.name}\n", 1)[1].split("|", 1)[0]
        assert ("Table required." in section) == spec.required, spec.name
        if spec.key:
            assert "Unique key: " + ", ".join(f"`{k}`" for k in spec.key) in section


def test_doc_has_the_lenient_versus_strict_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "## Lenient versus strict" in text
    assert "03/02/2026" in text and "2026-02-30" in text


def test_committed_doc_is_the_generated_doc() -> None:
    assert DOC.read_text(encoding="utf-8") == data_dictionary_markdown(), (
        "docs/data-dictionary.md is stale: regenerate it with "
        "lifileucel_analysis.contract.data_dictionary.data_dictionary_markdown()")
