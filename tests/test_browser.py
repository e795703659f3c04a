"""The built reports in a real browser: headless Debian Chromium through Playwright.

Every page (the index and the 15 reports of the session build) must load from disk
without a console error or a network request, render every image, and every link of
the index must open a page that exists. ``.ci/run`` installs Chromium; without it these
tests are skipped, saying so.
"""

from __future__ import annotations

import datetime

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, LOCAL_SCHEMES, OVERFLOWING_TABLES, PRINT_WIDTHS_PX, Build

from lifileucel_analysis.report.downloads import download_kinds
from lifileucel_analysis.report.html_tables import PAGE_ROWS
from lifileucel_analysis.runner.build import INDEX_FILE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium; .ci/run does)"),
]


@dataclass
class PageVisit:
    """What a browser saw while loading one page."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    image_count: int = 0

    def problems(self) -> list[str]:
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"network request: {u}" for u in self.network_requests]
                + [f"image not rendered: {s}" for s in self.broken_images])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def visit(browser: Any, page_path: Path) -> PageVisit:
    """Open ``page_path`` in a fresh context; block and record anything not local."""
    seen = PageVisit(page_path.as_uri())
    context = browser.new_context()

    def guard(route: Any) -> None:
        if route.request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            seen.network_requests.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.console_errors.append(str(e)))
    page.goto(seen.url, wait_until="load")
    images = page.evaluate("Array.from(document.images).map(i => [i.src.slice(0, 60), i.complete && i.naturalWidth])")
    seen.image_count = len(images)
    seen.broken_images = [src for src, width in images if not width]
    seen.links = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    context.close()
    return seen


def local_target(url: str) -> Path | None:
    """The file a ``file://`` link opens, or ``None`` for other links."""
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def test_index_loads_cleanly_and_every_link_opens_an_existing_page(browser: Any, built_reports: Build) -> None:
    index = visit(browser, built_reports.out / INDEX_FILE)
    assert not index.problems()
    targets = [local_target(link) for link in index.links]
    assert all(t is not None for t in targets), f"the index links off-disk: {index.links}"
    missing = [str(t) for t in targets if t is not None and not t.is_file()]
    assert not missing, f"index links that resolve to nothing: {missing}"
    assert len({t for t in targets if t is not None and t.suffix == ".html"}) == 15


def test_every_report_loads_offline_without_errors_and_renders_its_images(browser: Any,
                                                                          built_reports: Build) -> None:
    pages = sorted(p for p in built_reports.out.rglob("*.html") if p.name != INDEX_FILE)
    assert len(pages) == 15
    problems, images = {}, 0
    for page in pages:
        seen = visit(browser, page)
        images += seen.image_count
        dead_links = [link for link in seen.links
                      if (t := local_target(link.split("#")[0])) is not None and not t.is_file()]
        found = seen.problems() + [f"link to nothing: {link}" for link in dead_links]
        if found:
            problems[page.relative_to(built_reports.out).as_posix()] = found
    assert not problems, problems
    assert images > 0, "no report shows a figure"


def test_the_checks_catch_network_requests_console_errors_and_broken_images(browser: Any, tmp_path: Path) -> None:
    """The browser checks above are only worth something if they can fail."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="missing.png"><script src="https://cdn.example.org/x.js"></script>'
                    "<script>console.error('boom')</script></body></html>")
    seen = visit(browser, page)
    assert seen.network_requests == ["https://cdn.example.org/x.js"]
    assert "boom" in seen.console_errors
    assert len(seen.broken_images) == 1


# --------------------------------------------------------------------------- issue 13: pages people act on

TABLE_OF_DOWNLOAD = {"pending-worklist": "Pending worklist", "screening-log": "Screening log",
                     "failure-details": "Why patients are ineligible", "oversight-flags": "Oversight flags",
                     "waivers": "Waivers", "findings": "Data-quality findings",
                     "changes": "Changes since the last cut: patients",
                     "site-criterion-rates": "Rates by site and criterion",
                     "differences": "Criterion outcomes that differ", "criterion-impact": "Impact of each criterion"}
"""Download kind -> how the caption of its table on the page starts."""
FILE_ONLY_DOWNLOADS = ("pending-fields",)
"""Downloads with no table on the page (the worklist one row per field: tests/test_actionable_reports.py)."""
PAGE_TABLES = """() => Array.from(document.querySelectorAll('.lifileucel-table')).map(d => ({
  caption: d.querySelector('strong')?.textContent || '',
  rows: Array.from(d.querySelectorAll('tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent))}))"""


FILE_ONLY_COLUMNS = ("as of",)
"""Columns a download adds to its page's table: the date the pending worklist and the oversight flags count
to, which the page gives in its note."""


def _sheet_rows(path: Path) -> list[list[str]]:
    """The sheet's data rows, without the columns only a file carries (:data:`FILE_ONLY_COLUMNS`), and
    with a worklist's NMA-LD date and status in one cell, as its page shows them."""
    import openpyxl

    rows = list(openpyxl.load_workbook(path).worksheets[0].iter_rows())
    titles = [cell.value for cell in rows[0]]
    keep = [i for i, title in enumerate(titles) if title not in FILE_ONLY_COLUMNS]
    shown = [[_as_shown(row[i]) for i in keep] for row in rows[1:]]
    kept = [titles[i] for i in keep]
    if "NMA-LD status" in kept:  # the oversight flags' "NMA-LD date" has its status in the detail
        at = kept.index("NMA-LD date")
        assert kept[at + 1] == "NMA-LD status", kept
        shown = [[*row[:at], _nmald_cell(row[at], row[at + 1]), *row[at + 2:]] for row in shown]
    return shown


def _nmald_cell(date: str, status: str) -> str:
    """"2025-03-18: date passed"; "not scheduled" without a date; the date alone without a currency date."""
    if not date:
        return status
    return date if status.startswith("date recorded (no consent or cut date") else f"{date}: {status}"


def _as_shown(cell: Any) -> str:
    """A cell as the page shows it: a workbook keeps dates and shares as numbers, the page shows
    ``YYYY-MM-DD`` and ``12.5%``."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return f"{value:%Y-%m-%d}"
    return f"{value:.1%}" if cell.number_format == "0.0%" else str(value)


def _report_pages(build: Build) -> list[Path]:
    return sorted(p for p in build.out.rglob("*.html") if p.name != INDEX_FILE)


def test_contents_anchors_resolve_and_downloads_match_the_page_tables(browser: Any, built_reports: Build) -> None:
    problems: dict[str, list[str]] = {}
    for page_path in _report_pages(built_reports):
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
        page.goto(page_path.as_uri(), wait_until="load")
        found = [f"console error: {e}" for e in errors]
        anchors = page.evaluate("Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => a.hash.slice(1))")
        found += [f"anchor without target: #{a}" for a in anchors
                  if not page.evaluate("id => document.getElementById(decodeURIComponent(id)) !== null", a)]
        downloads = [t for link in page.evaluate("Array.from(document.querySelectorAll('a[href$=\".xlsx\"]'))"
                                                 ".map(a => a.href)") if (t := local_target(link)) is not None]
        tables = page.evaluate(PAGE_TABLES)
        context.close()
        assert len(downloads) == len(download_kinds(page_path.parent.name)), page_path
        for xlsx in downloads:
            kind = xlsx.stem[len(page_path.stem) + 1:]
            if kind in FILE_ONLY_DOWNLOADS:
                continue
            rows = _sheet_rows(xlsx)
            shown = [t["rows"] for t in tables if t["caption"].startswith(TABLE_OF_DOWNLOAD[kind])]
            if shown and shown[0]:
                if shown[0] != rows[:len(shown[0])]:
                    found.append(f"{xlsx.name}: rows differ from the page's table")
                if len(shown[0]) < len(rows) and len(shown[0]) != PAGE_ROWS:
                    found.append(f"{xlsx.name}: page shows {len(shown[0])} of {len(rows)} rows")
        if found:
            problems[page_path.relative_to(built_reports.out).as_posix()] = found
    assert not problems, problems


def test_every_table_fits_a_printed_page_and_an_800_px_window(browser: Any, built_reports: Build,
                                                               tmp_path: Path) -> None:
    problems: dict[str, list[str]] = {}
    for page_path in _report_pages(built_reports):
        name = page_path.relative_to(built_reports.out).as_posix()
        context = browser.new_context(viewport={"width": 800, "height": 1000})
        page = context.new_page()
        page.goto(page_path.as_uri(), wait_until="load")
        cut = [f"800 px: {c}" for c in page.evaluate(OVERFLOWING_TABLES)]
        page.emulate_media(media="print")
        for paper, width in PRINT_WIDTHS_PX.items():
            page.set_viewport_size({"width": int(width), "height": 1000})
            cut += [f"{paper}: {c}" for c in page.evaluate(OVERFLOWING_TABLES)]
        pdf = page.pdf(format="Letter", margin={"top": "12mm", "bottom": "12mm", "left": "12mm", "right": "12mm"})
        assert pdf.startswith(b"%PDF"), name
        context.close()
        if cut:
            problems[name] = cut
    assert not problems, problems


def test_the_fit_check_catches_a_table_wider_than_the_window(browser: Any, tmp_path: Path) -> None:
    page_path = tmp_path / "wide.html"
    page_path.write_text('<html><body><div class="lifileucel-table"><p><strong>Wide</strong></p><table><tr>'
                         f'<td style="white-space: nowrap">{"x" * 400}</td></tr></table></div></body></html>')
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    page.goto(page_path.as_uri())
    assert page.evaluate(OVERFLOWING_TABLES) == ["Wide"]
    context.close()
