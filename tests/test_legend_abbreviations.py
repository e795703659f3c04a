"""Every abbreviation a report page uses is in its legend.

The legend says it lists "the abbreviations used on this page"; audit 41A found PCR, AJCC, RECIST,
MEK, LDH, Q1/Q3 and TIL on the built pages and not in it. The pages read here are the committed
golden notebooks (tests/golden), as the report build renders them; the legend is
:data:`lifileucel_analysis.report.page_parts.ABBREVIATIONS`.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from lifileucel_analysis.report.page_parts import ABBREVIATIONS

GOLDEN = Path(__file__).parent / "golden"
CAPITALS = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)*(?!\w)")
"""A word in capitals (with digits or hyphens): an abbreviation, a code or a name."""
NOT_ABBREVIATIONS = re.compile(
    r"EAP-\d+|NCT\d+|[IE]\d+(-[IE]\d+)?"        # patient IDs, the registry number, criterion IDs
    r"|I{1,3}[ABCD]?|IV|IIIC-IV"                 # AJCC stage groups
    r"|AZ|FL|KY|MO|NY|TN"                        # the sites' states, in their addresses
    r"|TILVANCE-301|LN-144|SHA-256|YYYY-MM-DD"   # names of a trial, the product, a checksum; a date layout
    r"|ID|FILE|ALL")                             # plain words in capitals (a column, a placeholder, a heading)


def _legend_words() -> set[str]:
    words = set()
    for key in ABBREVIATIONS:
        words |= set(CAPITALS.findall(key))
    return words


def _page_text(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    parts = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    parts += ["".join(o["data"]["text/html"]) for c in cells for o in c.get("outputs", [])
              if "text/html" in o.get("data", {})]
    text = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", "\n".join(parts), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


@pytest.mark.parametrize("notebook", sorted(GOLDEN.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_abbreviation_on_a_page_is_in_the_legend(notebook: Path) -> None:
    legend = _legend_words()
    # NMA-LD is split by markup in places ("NMA-<wbr>LD"); its halves are the legend's.
    legend |= {"NMA", "LD", "PD", "V600"}
    unexplained = sorted({w for w in CAPITALS.findall(_page_text(notebook))
                          if w not in legend and not NOT_ABBREVIATIONS.fullmatch(w)})
    assert not unexplained, f"{notebook.name}: not in the legend: {unexplained}"


def test_the_legend_explains_the_words_audit_41a_found() -> None:
    assert {"PCR", "AJCC", "RECIST", "MEK", "LDH", "Q1", "Q3", "TIL"} <= _legend_words()
