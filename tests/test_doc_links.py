"""Links between the README and docs/*.md land somewhere: a named file exists and a ``#section``
names one of its headings, as GitHub spells heading anchors.

A section renamed or moved to another page (docs/performance-log.md holds the dated
measurements) would otherwise leave a link that opens the page at its top, silently.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) but not images; code spans are removed first, since they may show link syntax.
MARKDOWN_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"`[^`\n]*`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens.

    Markdown inside the heading (code spans, emphasis, links) counts by its text.
    """
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a page; a repeated heading gets ``-1``, ``-2``, ... as on GitHub."""
    seen: Counter[str] = Counter()
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        base = github_anchor(heading)
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def links(page: Path) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return MARKDOWN_LINK.findall(text)


def test_github_anchor_examples() -> None:
    # Checked by hand against headings as GitHub renders them.
    assert (github_anchor("Bucketed datasets: beyond one machine's memory")
            == "bucketed-datasets-beyond-one-machines-memory")
    assert (github_anchor("The `screen` command, 1,000,000 patients (2026-12-03)")
            == "the-screen-command-1000000-patients-2026-12-03")
    assert github_anchor("A `make bench SCALE=10000000` run") == "a-make-bench-scale10000000-run"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_name_a_file_and_a_heading(page: Path) -> None:
    broken = []
    for target in links(page):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue
        linked = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif parts.fragment and linked.suffix == ".md" and parts.fragment not in anchors(linked):
            broken.append(f"{target}: no heading of {linked.name} has this anchor")
    assert not broken, f"{page.relative_to(ROOT)}:\n" + "\n".join(broken)
