"""Markup from the input is inert: proven in headless Chromium, not only by string search.

Free text of the data contract (toxicity terms, override reasons and approvers, agent
names) and the dataset's own folder name carry script payloads. One eligibility report is
built from that dataset with the real build (one kernel) and opened, with the index, in
Debian's Chromium: no payload runs, none becomes an element, every payload is shown as
text. Patient IDs cannot carry markup at all: the loader refuses them (the ID pattern of
the data contract), so the build stops before any notebook starts; and the rendering
layer escapes them anyway, which is checked in the browser too, on pages rendered in
process (no kernel).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, LOCAL_SCHEMES, TEST_JOBS, small_dataset

from lifileucel_analysis.contract import schema
from lifileucel_analysis.cli import main as cli_main
from lifileucel_analysis.contract.dataset import ContractError, ScreeningDataset
from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.contract.loading import load_dataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.report.eligibility_report import EligibilityReport
from lifileucel_analysis.cli import EXIT_INVALID, EXIT_OK, build_reports_logged
from lifileucel_analysis.runner.build import INDEX_FILE
from lifileucel_analysis.runner.html_export import notebook_to_html
from lifileucel_analysis.runner.run_notebook import _failure_banner
from lifileucel_analysis.engine.screening import screen

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
SVG = '<svg onload="alert(1)"></svg>'
PAYLOADS = (SCRIPT, IMG, SVG)
DATASET_FOLDER = IMG  # a folder name may hold markup too (no "/" in it): it names the dataset
REPORT = "eligibility_report/all"
ID_PATTERN_WORDS = "1-40 letters, digits, '_', '.' or '-'"
"""How the loader's message states :data:`~lifileucel_analysis.contract.schema.PATIENT_ID_PATTERN`."""
INERT_PROBE = """() => ({
  pwned: typeof window.__pwned,
  scripts: document.scripts.length,
  imgX: Array.from(document.images).filter(i => i.getAttribute('src') === 'x').length,
  handlers: Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)
      .some(a => a.name.toLowerCase().startsWith('on'))).map(e => e.tagName),
  svg: document.querySelectorAll('svg').length,
  text: document.body.innerText,
})"""


def hostile_tables() -> dict[str, pd.DataFrame]:
    """The three patients of the CLI tests, with markup in every free-text field the report shows.

    P3 (uveal, ineligible) has two ongoing grade 3 toxicities whose terms are payloads, so
    they appear in the E2 evidence of "Why patients are ineligible"; P1 has a waiver whose
    approver and reason are payloads; P2 has an agent name that is a payload (a data-quality
    finding).
    """
    tables = small_dataset()
    toxicities = [dict(patient_id="P3", term=term, category="other", grade=3, ongoing="yes") for term in (SCRIPT, IMG)]
    tables["toxicities"] = schema.coerce("toxicities", pd.DataFrame(toxicities))
    overrides = [dict(patient_id="P1", criterion_id="E6", approved_by=SVG, approved_date="2025-03-02",
                      reason=f"reviewed: {IMG} & {SCRIPT}")]
    tables["overrides"] = schema.coerce("overrides", pd.DataFrame(overrides))
    therapies = tables["therapies"].copy()
    therapies.loc[therapies["patient_id"] == "P2", "agents"] = f"nivolumab+{IMG}"
    tables["therapies"] = therapies
    return tables


def with_patient_id(tables: dict[str, pd.DataFrame], old: str, new: str) -> dict[str, pd.DataFrame]:
    """``tables`` with patient ``old`` renamed ``new`` in every table."""
    renamed = {}
    for name, frame in tables.items():
        frame = frame.copy()
        frame["patient_id"] = frame["patient_id"].astype(object).where(frame["patient_id"] != old, new)
        renamed[name] = schema.coerce(name, frame) if name == "patients" else frame
    return renamed


# --------------------------------------------------------------------------- browser


@dataclass
class Probe:
    """What a page did in the browser."""

    pwned: str
    scripts: int
    img_x: int
    handlers: list[str]
    svg: int
    text: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)

    def assert_inert(self) -> None:
        assert self.pwned == "undefined", "an injected script ran"
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
        assert self.scripts == 0, "the page has a <script> element (the offline template has none)"
        assert self.img_x == 0, "an injected <img src=x> became an element"
        assert not self.handlers, f"elements with on* handlers: {self.handlers}"
        assert not self.errors and not self.network, (self.errors, self.network)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def probe(browser: Any, page_path: Path) -> Probe:
    """Open a page from disk, let any handler fire, and report what ran and what is shown."""
    context = browser.new_context()
    network: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            network.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # an onerror / onload handler would have fired by now
    seen = page.evaluate(INERT_PROBE)
    context.close()
    return Probe(seen["pwned"], seen["scripts"], seen["imgX"], seen["handlers"], seen["svg"], seen["text"],
                 dialogs, errors, network)


def test_the_probe_catches_live_markup(browser: Any, tmp_path: Path) -> None:
    """The checks are worth something only if they fail on an unescaped page."""
    page = tmp_path / "live.html"
    page.write_text(f"<html><body><p>{SCRIPT}{IMG}{SVG}</p></body></html>")
    seen = probe(browser, page)
    assert seen.pwned == "number" and seen.dialogs == ["1"]
    assert seen.scripts == 1 and seen.img_x == 1 and seen.svg == 1
    with pytest.raises(AssertionError):
        seen.assert_inert()


# --------------------------------------------------------------------------- the real build


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The all-sites eligibility report (one kernel) of the hostile dataset, and its index."""
    root = tmp_path_factory.mktemp("injection")
    dataset = root / DATASET_FOLDER
    write_tables(hostile_tables(), dataset, "csv")
    out = root / "reports"
    assert build_reports_logged(dataset, out, TEST_JOBS, False, only=(REPORT,)) == EXIT_OK
    return out


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("page", [f"{REPORT}.html", INDEX_FILE])
def test_markup_in_the_data_is_shown_as_text_and_never_runs(browser: Any, hostile_build: Path, page: str) -> None:
    seen = probe(browser, hostile_build / page)
    seen.assert_inert()
    assert IMG in seen.text, "the dataset's folder name is not shown as typed"
    if page != INDEX_FILE:
        for payload in PAYLOADS:
            assert payload in seen.text, f"{payload} is not shown as text"
        assert f"{SCRIPT} grade 3, category other, ongoing yes" in seen.text  # the E2 evidence sentence
        assert f"reviewed: {IMG} & {SCRIPT}" in seen.text  # the waiver reason


@pytest.mark.slow
def test_the_built_page_escapes_every_payload(hostile_build: Path) -> None:
    html = (hostile_build / f"{REPORT}.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<svg" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html


# --------------------------------------------------------------------------- patient IDs


@pytest.fixture(scope="module")
def markup_id_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("markup-id") / "site_data"
    write_tables(with_patient_id(small_dataset(), "P3", IMG), folder, "csv")
    return folder


def test_a_patient_id_with_markup_is_refused_by_the_loader(markup_id_dataset: Path) -> None:
    assert re.fullmatch(schema.PATIENT_ID_PATTERN, IMG) is None
    with pytest.raises(ContractError) as refused:
        load_dataset(markup_id_dataset)
    message = str(refused.value)
    assert "patients row 3, column patient_id" in message
    assert "not a valid patient ID" in message and ID_PATTERN_WORDS in message


def test_the_screen_command_refuses_it_with_exit_2_and_writes_nothing(
        markup_id_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert cli_main(["screen", str(markup_id_dataset), "--out", str(out)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "not a valid patient ID" in err and ID_PATTERN_WORDS in err and "Traceback" not in err
    assert not out.exists()


def test_the_report_build_refuses_it_before_any_notebook_starts(
        markup_id_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from lifileucel_analysis.runner import build as reports_module

    monkeypatch.setattr(reports_module, "run_jobs", lambda *a, **k: pytest.fail("a notebook ran"))
    out = tmp_path / "reports"
    assert build_reports_logged(markup_id_dataset, out, 1, False) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "--dataset site_data:" in err and "not a valid patient ID" in err and ID_PATTERN_WORDS in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "the build wrote something"


def report_sections(report: EligibilityReport) -> list[Any]:
    """Every section of the eligibility report that renders as HTML."""
    return [report.scope(), report.run_parameters(), report.provenance(), report.verdict_counts(),
            report.screening_log(), report.failure_details(), report.pending_worklist(), report.waivers(),
            report.findings()]


@pytest.fixture(scope="module")
def markup_id_report() -> EligibilityReport:
    """A report on IDs the loader would refuse, made in memory (as a caller bypassing the loader could)."""
    tables = with_patient_id(with_patient_id(hostile_tables(), "P3", IMG), "P1", SCRIPT)
    dataset = ScreeningDataset(**tables, source="in memory")
    return EligibilityReport.from_result(screen(dataset, load_params()), dataset)


def test_the_rendering_layer_escapes_a_markup_patient_id(markup_id_report: EligibilityReport) -> None:
    assert set(markup_id_report.result.verdicts["patient_id"]) == {SCRIPT, "P2", IMG}
    for section in report_sections(markup_id_report):
        markup = section._repr_html_()
        assert "<script" not in markup and "<img" not in markup and "<svg" not in markup, type(section)
    log = markup_id_report.screening_log()._repr_html_()
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in log and "&lt;img src=x onerror=" in log


def rendered_page(path: Path, outputs: list[Any], banner: str = "") -> Path:
    """Convert outputs to a report page exactly as the build does (no kernel)."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("report.section()", id="section")
    cell.outputs = outputs
    nb.cells = [cell]
    path.write_text(notebook_to_html(nb, "injection", f'<nav class="eap-banner">{banner}</nav>'), encoding="utf-8")
    return path


@pytest.mark.browser
def test_a_markup_patient_id_rendered_anyway_stays_text_in_the_browser(
        browser: Any, markup_id_report: EligibilityReport, tmp_path: Path) -> None:
    outputs = [nbformat.v4.new_output("display_data", data={"text/html": s._repr_html_(), "text/plain": repr(s)})
               for s in report_sections(markup_id_report)]
    seen = probe(browser, rendered_page(tmp_path / "page.html", outputs))
    seen.assert_inert()
    for payload in PAYLOADS:
        assert payload in seen.text


@pytest.mark.browser
def test_a_failed_report_quoting_the_refusal_stays_text_in_the_browser(
        browser: Any, markup_id_dataset: Path, tmp_path: Path) -> None:
    """A notebook that stops on the loader's refusal shows the message (with the ID) as text.

    The build refuses such a dataset before running anything; a notebook run directly (or
    a dataset changed during a build) still reaches the traceback and the failure banner.
    """
    with pytest.raises(ContractError) as refused:
        load_dataset(markup_id_dataset)
    message = str(refused.value)
    traceback = ["\x1b[0;31m---------------------------------------------------------------\x1b[0m",
                 "\x1b[0;31mContractError\x1b[0m    Traceback (most recent call last)",
                 f"\x1b[0;31mContractError\x1b[0m: {message}"]
    error = nbformat.v4.new_output("error", ename="ContractError", evalue=message, traceback=traceback)
    stream = nbformat.v4.new_output("stream", name="stderr", text=f"warning: {IMG}\n")
    banner = _failure_banner(f"ContractError: {message}", "cell 3 of notebooks/eligibility_report.ipynb")
    seen = probe(browser, rendered_page(tmp_path / "failed.html", [stream, error], banner))
    seen.assert_inert()
    assert seen.text.count(IMG) >= 3, "the ID is not shown as text in banner, stream and traceback"
