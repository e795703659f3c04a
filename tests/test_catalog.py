"""The catalog covers each bullet of the registry record's criteria exactly once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lifileucel_analysis.engine.catalog import CATALOG
from lifileucel_analysis.contract.schema import CRITERION_IDS

RECORD = Path(__file__).resolve().parents[1] / "docs" / "record" / "NCT05398640.txt"
SHARED_RECORD = Path(__file__).resolve().parents[2] / "shared" / "record" / "NCT05398640.txt"


def record_bullets(kind: str) -> list[str]:
    """The bullets listed under 'Inclusion Criteria:' or 'Exclusion Criteria:' in the record."""
    text = RECORD.read_text(encoding="utf-8")
    start = text.index(f"{kind} Criteria:")
    bullets = []
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("- "):
            break
        bullets.append(line[2:].strip())
    return bullets


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("kind, prefix, expected", [("Inclusion", "I", 8), ("Exclusion", "E", 11)])
def test_each_record_bullet_is_in_the_catalog_exactly_once(kind: str, prefix: str, expected: int) -> None:
    bullets = record_bullets(kind)
    assert len(bullets) == expected
    texts = [normal(c.record_text) for c in CATALOG if c.id.startswith(prefix)]
    assert sorted(texts) == sorted(normal(b) for b in bullets)
    for bullet in bullets:
        assert texts.count(normal(bullet)) == 1


def test_catalog_ids_follow_the_spec_order_and_kinds() -> None:
    assert tuple(c.id for c in CATALOG) == CRITERION_IDS
    assert {c.kind for c in CATALOG if c.id.startswith("I")} == {"inclusion"}
    assert {c.kind for c in CATALOG if c.id.startswith("E")} == {"exclusion"}


def test_catalog_columns_exist_in_the_contract() -> None:
    from lifileucel_analysis.contract.schema import TABLES

    for criterion in CATALOG:
        for field in criterion.reads:
            table, column = field.split(".")
            assert column in TABLES[table].column_names, (criterion.id, field)


@pytest.mark.skipif(not SHARED_RECORD.exists(), reason="shared/ record copy not beside the repo")
def test_bundled_record_is_the_shared_copy() -> None:
    assert RECORD.read_bytes() == SHARED_RECORD.read_bytes()
