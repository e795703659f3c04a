"""Screening over time on the report pages (issue 12): cut dates, "Since the last cut", verdicts over cuts.

Expected values come from the synthetic generator's own record (``planted_changes.csv``),
from each week's data files and from ``screen`` runs, never from the section's own code.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from helpers import (CHROMIUM, CHROMIUM_ARGS, OVERFLOWING_TABLES, PRINT_WIDTHS_PX, TEST_JOBS, planted_move,
                     write_notebook, write_weekly_series)

from lifileucel_analysis.cli import main
from lifileucel_analysis.paths import FIXTURE_DATASET, PROJECT_ROOT
from lifileucel_analysis.report import EligibilityReport
from lifileucel_analysis.report.html_tables import Markup
from lifileucel_analysis.report.run_history import record_run
from lifileucel_analysis.report.screening_inputs import screen_files
from lifileucel_analysis.report.since_last_cut import previous_run
from lifileucel_analysis.runner import build_reports
from lifileucel_analysis.synth.cohorts import DEMO_N, DEMO_SEED, FIXTURE_N, FIXTURE_SEED

WEEKS = 3
KEYS = ("eligibility_report/all", "site_summary/mskcc", "program_overview/all", "criteria_impact/all")
"""One page of each notebook."""
SITE = "mskcc"


# --------------------------------------------------------------------------- a small weekly series, built


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three weekly extracts of the fixture-size cohort, with the generator's record."""
    return write_weekly_series(tmp_path_factory.mktemp("weekly-fixture") / "weeks", FIXTURE_N, FIXTURE_SEED, WEEKS)


@pytest.fixture(scope="module")
def weekly_build(series: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One report of each notebook built with --weekly into reports/ holding its history."""
    out = tmp_path_factory.mktemp("weekly-build") / "reports"
    outcome = build_reports(None, out, TEST_JOBS, only=KEYS, history=out / "history.duckdb", weekly=series)
    assert outcome.ok, outcome.summary()
    return out


def _cuts(series: Path) -> pd.DataFrame:
    return pd.read_csv(series / "cuts.csv", dtype=str)


def _planted_last_week(series: Path) -> pd.DataFrame:
    planted = pd.read_csv(series / "planted_changes.csv", dtype=str, keep_default_na=False)
    last = planted.loc[planted["week"] == str(WEEKS)].copy()
    sites = pd.read_csv(series / f"week-{WEEKS:02d}" / "patients.csv", dtype=str).set_index("patient_id")["site_id"]
    last["site_id"] = last["patient_id"].map(sites)
    return last


class _Tables(HTMLParser):
    """Every ``<table>`` of a page by its caption (the ``<strong>`` in its ``<caption>``), as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption, self._in_strong, self._cell, self._row = "", False, None, None
        self._rows: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "strong":
            self._in_strong, self._caption = True, ""
        elif tag == "table":
            self._rows = []
        elif tag == "tr":
            self._row = []
        elif tag == "td":
            self._cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "strong":
            self._in_strong = False
        elif tag == "td" and self._row is not None:
            self._row.append(self._cell or "")
            self._cell = None
        elif tag == "tr" and self._row:
            self._rows.append(self._row)
            self._row = None
        elif tag == "table":  # keyed once its caption (read inside it) is known
            self.tables[self._caption] = self._rows

    def handle_data(self, data: str) -> None:
        if self._in_strong:
            self._caption += data
        if self._cell is not None:
            self._cell += data


def _page_tables(page: Path) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tables


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))))


@pytest.mark.slow
def test_the_section_lists_exactly_the_changes_the_generator_planted(series: Path, weekly_build: Path) -> None:
    planted = _planted_last_week(series)
    changes = pd.read_csv(weekly_build / "eligibility_report" / "all-changes.csv", dtype=str, keep_default_na=False)
    assert sorted(changes["patient"]) == sorted(planted["patient_id"])
    for row in planted.itertuples(index=False):
        got = changes.loc[changes["patient"] == row.patient_id].iloc[0]
        assert got["site"] == row.site_id
        if row.change == "arrival":
            assert (got["change"], got["verdict before"]) == ("new", "")
        else:
            assert got["outcome changes"] == planted_move(row.change, row.value_after), row.patient_id
            before, after = got["outcome changes"].split(": ")[1].split(" -> ")
            assert got["evidence before"].startswith(f"{row.criterion_id} ({before}): ")
            assert got["evidence after"].startswith(f"{row.criterion_id} ({after}): ")
    # the page shows the same table, and the counts per kind add up to it
    tables = _page_tables(weekly_build / "eligibility_report" / "all.html")
    shown = tables["Changes since the last cut: patients"]
    assert [r[0] for r in shown] == list(changes["patient"])
    kinds = {kind: int(n) for kind, n in tables["Changes since the last cut, by kind"]}
    assert kinds["new patient"] == int((planted["change"] == "arrival").sum())
    assert sum(kinds.values()) == len(planted)


@pytest.mark.slow
def test_the_worklist_marks_what_the_generator_planted_since_the_last_cut(series: Path, weekly_build: Path) -> None:
    planted = _planted_last_week(series).set_index("patient_id")
    work = pd.read_csv(weekly_build / "eligibility_report" / "all-pending-worklist.csv", dtype=str,
                       keep_default_na=False, encoding="utf-8-sig")
    expected_mark = {"arrival": "new patient", "blank filled": "resolved: E7", "correction": "was ineligible"}
    seen = set()
    for row in work.itertuples(index=False):
        mark = row[list(work.columns).index("since last cut")]
        if row.patient not in planted.index:
            assert mark == "no change", row.patient
            continue
        change = planted.loc[row.patient, "change"]
        seen.add(change)
        assert mark.startswith(expected_mark[change]) or expected_mark[change] in mark, (row.patient, mark)
        if change == "correction":
            assert "resolved: E3" in mark, (row.patient, mark)
    assert "arrival" in seen and "no change" in set(work["since last cut"])  # both kinds are on the list


@pytest.mark.slow
def test_the_section_names_the_two_runs_compared(series: Path, weekly_build: Path) -> None:
    cuts = _cuts(series)
    con = duckdb.connect(str(weekly_build / "history.duckdb"), read_only=True)
    run_of = dict(con.execute("SELECT strftime(cut_date, '%Y-%m-%d'), run_id FROM runs").fetchall())
    con.close()
    before, after = cuts["cut_date"].iloc[-2], cuts["cut_date"].iloc[-1]
    text = _text(weekly_build / "eligibility_report" / "all.html")
    assert (f"before, run {run_of[before][:8]} (cut date {before}" in text
            and f"after, this page's run {run_of[after][:8]} (cut date {after})" in text)
    assert "Run history: history.duckdb" in text


@pytest.mark.slow
def test_a_site_page_shows_only_its_sites_changes(series: Path, weekly_build: Path) -> None:
    planted = _planted_last_week(series)
    mine = planted.loc[planted["site_id"] == SITE, "patient_id"]
    assert len(mine) and len(mine) < len(planted)  # the series plants at this site and at others
    changes = pd.read_csv(weekly_build / "site_summary" / f"{SITE}-changes.csv", dtype=str, keep_default_na=False)
    assert sorted(changes["patient"]) == sorted(mine)
    assert set(changes["site"]) == {SITE}
    shown = _page_tables(weekly_build / "site_summary" / f"{SITE}.html")["Changes since the last cut: patients"]
    assert sorted(r[0] for r in shown) == sorted(mine)


@pytest.mark.slow
def test_every_page_header_gives_the_cut_date(series: Path, weekly_build: Path) -> None:
    last_cut = _cuts(series)["cut_date"].iloc[-1]
    for key in KEYS:
        text = _text(weekly_build / f"{key}.html")
        assert f"Data current to {last_cut} (data cut date" in text, key
        assert f"data cut date {last_cut}: what was known on that day" in text, key  # the provenance appendix
    index = _text(weekly_build / "index.html")
    assert f"Data cut date {last_cut}" in index


@pytest.mark.slow
def test_verdicts_over_cuts_are_each_weeks_own_screening(series: Path, weekly_build: Path, tmp_path: Path) -> None:
    """The program overview's table holds, per cut, the verdict counts of screening that week at its cut date."""
    expected = []
    for week, cut_date, folder in _cuts(series).itertuples(index=False):
        assert main(["screen", str(series / folder), "--out", str(tmp_path / folder), "--cut-date", cut_date]) == 0
        verdicts = pd.read_csv(tmp_path / folder / "verdicts.csv", dtype=str)["verdict"]
        expected.append([cut_date, str(len(verdicts)),
                         *(str(int((verdicts == v).sum())) for v in ("eligible", "pending", "ineligible"))])
    rows = _page_tables(weekly_build / "program_overview" / "all.html")["Verdicts at each data cut, all sites"]
    assert [[r[0], *r[3:]] for r in rows] == expected
    # and the figure draws the same numbers (read back from the report object the notebook builds)
    last = _cuts(series).iloc[-1]
    report = EligibilityReport.build(dataset=str(series / last["folder"]), cut_date=last["cut_date"],
                                     history=str(weekly_build / "history.duckdb"))
    figure = report.verdicts_over_cuts_chart()
    lines = {line.get_label(): [int(y) for y in line.get_ydata()] for line in figure.axes[0].lines}
    assert lines == {v: [int(r[i]) for r in expected] for i, v in ((2, "eligible"), (3, "pending"), (4, "ineligible"))}
    assert all(f"{r[0]}: {r[2]} eligible, {r[3]} pending, {r[4]} ineligible of {r[1]}" in figure.alt_text
               for r in expected)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium; .ci/run does)")
def test_the_sections_fit_a_printed_page_and_their_anchors_resolve(weekly_build: Path) -> None:
    from playwright.sync_api import sync_playwright

    problems = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for key, anchor in (("eligibility_report/all", "Since-the-last-cut"), ("site_summary/mskcc", "Since-the-last-cut"),
                            ("program_overview/all", "Verdicts-at-each-data-cut")):
            context = browser.new_context(viewport={"width": 800, "height": 1000})
            page = context.new_page()
            page.goto((weekly_build / f"{key}.html").as_uri(), wait_until="load")
            found = [] if page.evaluate(f"document.getElementById('{anchor}') !== null") else [f"no #{anchor}"]
            found += [f"800 px: {c}" for c in page.evaluate(OVERFLOWING_TABLES)]
            page.emulate_media(media="print")
            for paper, width in PRINT_WIDTHS_PX.items():
                page.set_viewport_size({"width": int(width), "height": 1000})
                found += [f"{paper}: {c}" for c in page.evaluate(OVERFLOWING_TABLES)]
            context.close()
            if found:
                problems[key] = found
        browser.close()
    assert not problems, problems


@pytest.mark.slow
def test_rebuilding_with_the_history_gives_the_same_bytes(series: Path, weekly_build: Path,
                                                          tmp_path: Path) -> None:
    """make reports twice: the second build finds every week recorded, reads the same history, writes the same files."""
    first = {p.relative_to(weekly_build).as_posix(): p.read_bytes() for p in weekly_build.rglob("*")
             if p.is_file() and not p.name.startswith(".")}
    assert "history.duckdb" in first
    assert build_reports(None, weekly_build, TEST_JOBS, only=KEYS, history=weekly_build / "history.duckdb",
                         weekly=series).ok
    second = {p.relative_to(weekly_build).as_posix(): p.read_bytes() for p in weekly_build.rglob("*")
              if p.is_file() and not p.name.startswith(".")}
    assert sorted(second) == sorted(first)
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"a rebuild changed {differ}"
    con = duckdb.connect(str(weekly_build / "history.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == WEEKS  # nothing recorded twice
    con.close()


# --------------------------------------------------------------------------- without a history, one cut


def test_without_a_history_the_pages_say_so_and_how_to_get_one() -> None:
    report = EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET))
    section = report.since_last_cut()
    assert len(section.tables) == 1  # one sentence, no tables
    said = repr(section)
    assert said.startswith("No run history was given") and "--history FILE --cut-date YYYY-MM-DD" in said
    chart = report.verdicts_over_cuts_chart()
    assert isinstance(chart, Markup) and chart.text.startswith("No run history was given")
    assert report.verdicts_over_cuts().frame.empty
    assert report.cut_comparison.changes.empty


def test_a_history_without_an_earlier_cut_says_there_is_nothing_to_compare_yet(tmp_path: Path) -> None:
    history = tmp_path / "h.duckdb"
    record_run(history, screen_files(FIXTURE_DATASET, cut_date="2026-01-31"))
    report = EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET), cut_date="2026-01-31",
                                     history=str(history))
    said = repr(report.since_last_cut())
    assert said.startswith("The run history h.duckdb (outside the project) holds no run with a cut date before "
                           "2026-01-31")
    assert "lifileucel-eap screen DATASET --cut-date YYYY-MM-DD --history FILE" in said
    assert str(tmp_path) not in said  # never the machine's path


def test_the_page_header_and_the_worklist_count_from_the_cut_date() -> None:
    cut = "2026-03-31"
    report = EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET), cut_date=cut)
    header = report.page_header("eligibility_report")
    assert f"Data current to {cut} (data cut date: what was known on that day)." in header.text
    assert f"Data current to {cut}" in header.html
    patients = pd.read_csv(FIXTURE_DATASET / "patients.csv", dtype=str).set_index("patient_id")["consent_date"]
    work = report.worklist_frame()
    assert len(work)
    for row in work.itertuples(index=False):
        expected = (dt.date.fromisoformat(cut) - dt.date.fromisoformat(patients[row.patient_id])).days
        assert row.days_pending == expected, row.patient_id
    without = EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET))
    latest = pd.read_csv(FIXTURE_DATASET / "patients.csv", dtype=str)["consent_date"].max()
    assert f"Data current to {latest} (latest consent date in the data" in without.page_header("program_overview").text


def test_at_a_cut_the_pages_account_for_every_patient_of_the_dataset() -> None:
    # Counted from the file: patients consented after the cut are set aside (review 28C: the heading said
    # only the number screened, and the reconciliation started from it).
    cut = "2026-03-31"
    consent = pd.read_csv(FIXTURE_DATASET / "patients.csv", dtype=str)["consent_date"]
    after = int((consent > cut).sum())
    assert 0 < after < len(consent)
    report = EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET), cut_date=cut)
    account = (f"{len(consent)} patients in the dataset: {after} consented after the data cut {cut} (set aside, "
               f"not screened), {len(consent) - after} screened.")
    # The header every page opens with (review 28, 3: the first version changed only scope(), which no
    # notebook shows), in its HTML and its text.
    for page in ("program_overview", "eligibility_report"):
        header = report.page_header(page)
        assert f"<p>{account}</p>" in header.html and account in header.text
    assert report.scope().detail == f"{len(consent) - after} patients screened. {account}"
    table = report.verdict_counts().tables[1].frame.set_index("check")["patients"]
    assert table["patients in the dataset"] == len(consent)
    assert table[f"consented after the data cut {cut} (not screened)"] == after
    screened = len(consent) - after
    assert table["patients screened at the cut (N in)"] == table["patients with a verdict (N out)"] == screened
    site = EligibilityReport.build(site="mskcc", dataset=str(FIXTURE_DATASET), cut_date=cut)
    said = (f"Data cut {cut}: {after} {'patient' if after == 1 else 'patients'} of the program consented after it "
            "(set aside, not screened).")
    assert f"<p>{said}</p>" in site.page_header("site_summary").html
    assert site.scope().detail.endswith(said)
    assert "patients in the dataset" not in set(site.verdict_counts().tables[1].frame["check"])


def test_the_cut_date_is_in_the_provenance_and_the_parameters() -> None:
    report = EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET), cut_date="2026-03-31")
    items = dict(report.provenance().frame.itertuples(index=False))
    assert items["data cut date"] == "2026-03-31: what was known on that day"
    assert items["run history"] == "none"
    given = report.run_parameters().tables[0].frame.set_index("parameter")
    assert given.loc["cut_date", "value given"] == "2026-03-31"
    assert given.loc["history", "value given"] == '"" (default)'
    plain = dict(EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET)).provenance().frame
                 .itertuples(index=False))
    assert plain["data cut date"] == "none: every row of the dataset counts"


def test_a_missing_history_file_is_an_error_not_a_silent_no_history(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run history"):
        EligibilityReport.build(site="all", dataset=str(FIXTURE_DATASET), history=str(tmp_path / "nope.duckdb"))


# --------------------------------------------------------------------------- which earlier run


def _runs(*rows: tuple[str, int, str | None, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["run_id", "sequence", "cut_date", "params_sha256"]).assign(
        cut_date=lambda t: pd.to_datetime(t["cut_date"]))


def test_with_a_cut_date_the_previous_run_is_the_latest_earlier_cut() -> None:
    runs = _runs(("a", 1, "2026-01-07", "p"), ("b", 2, "2026-01-14", "p"), ("c", 3, None, "p"),
                 ("d", 4, "2026-01-21", "p"), ("e", 5, "2026-01-07", "p"))
    assert previous_run(runs, "d", "2026-01-21", "p")["run_id"] == "b"   # recorded or not, the same answer
    assert previous_run(runs, "new", "2026-01-21", "p")["run_id"] == "b"
    assert previous_run(runs, "new", "2026-01-14", "p")["run_id"] == "e"  # two runs of that cut: the latest recorded
    assert previous_run(runs, "new", "2026-01-07", "p") is None           # nothing earlier; the no-cut run never counts
    assert previous_run(runs, "new", "2026-02-28", "p")["run_id"] == "d"  # a later run (d) recorded after this cut's


def test_of_two_runs_of_one_cut_the_one_with_the_pages_criteria_is_chosen() -> None:
    runs = _runs(("a", 1, "2026-01-07", "mine"), ("b", 2, "2026-01-07", "what-if"))
    assert previous_run(runs, "x", "2026-01-14", "mine")["run_id"] == "a"
    assert previous_run(runs, "x", "2026-01-14", "other")["run_id"] == "b"


def test_without_a_cut_date_the_previous_run_is_the_one_recorded_before() -> None:
    runs = _runs(("a", 1, None, "p"), ("b", 2, "2026-01-14", "p"), ("c", 3, None, "p"))
    assert previous_run(runs, "c", None, "p")["run_id"] == "b"    # a rebuild: its own run is c
    assert previous_run(runs, "new", None, "p")["run_id"] == "c"  # not recorded: the latest
    assert previous_run(runs, "a", None, "p") is None


# --------------------------------------------------------------------------- the build's plumbing


def _tiny_project(tmp_path: Path) -> tuple[Path, Path]:
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "tiny.ipynb", 'site: str = "all"\ndataset: str = ""\ncut_date: str = ""\n'
                   'history: str = ""', ["print(repr(cut_date), repr(history))"])
    (tmp_path / "params" / "sites").mkdir(parents=True)
    (tmp_path / "params" / "program.yaml").write_text("tiny:\n  site: all\n")
    return notebooks, tmp_path / "params"


def _printed(out: Path) -> str:
    import nbformat

    nb = nbformat.read(out / "tiny" / "all.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_the_build_passes_cut_date_and_history_only_when_given(tmp_path: Path) -> None:
    notebooks, params = _tiny_project(tmp_path)
    out = tmp_path / "reports"
    build_reports(FIXTURE_DATASET, out, 1, params_dir=params, notebooks_dir=notebooks)
    assert _printed(out) == "'' ''\n"
    history = out / "history.duckdb"
    build_reports(FIXTURE_DATASET, out, 1, params_dir=params, notebooks_dir=notebooks, history=history,
                  cut_date="2026-03-31")
    cut, path = _printed(out).split()
    assert cut == "'2026-03-31'"
    assert Path(path.strip("'")).is_absolute() or (PROJECT_ROOT / path.strip("'")).resolve() == history.resolve()
    con = duckdb.connect(str(history), read_only=True)
    assert [str(d) for (d,) in con.execute("SELECT cut_date FROM runs").fetchall()] == ["2026-03-31"]
    con.close()


def test_weekly_records_every_week_at_its_cut_date_before_the_notebooks_run(series: Path, tmp_path: Path) -> None:
    notebooks, params = _tiny_project(tmp_path)
    out = tmp_path / "reports"
    build_reports(None, out, 1, params_dir=params, notebooks_dir=notebooks, history=out / "history.duckdb",
                  weekly=series)
    cuts = _cuts(series)
    assert _printed(out).split()[0] == repr(cuts["cut_date"].iloc[-1])
    con = duckdb.connect(str(out / "history.duckdb"), read_only=True)
    recorded = con.execute("SELECT strftime(cut_date, '%Y-%m-%d'), patients_screened FROM runs ORDER BY sequence")
    rows = recorded.fetchall()
    con.close()
    sizes = [len(pd.read_csv(series / f / "patients.csv")) for f in cuts["folder"]]
    assert rows == list(zip(cuts["cut_date"], sizes))


@pytest.mark.parametrize(("extra", "said"), [
    (["--dataset", "x"], "drop --dataset and --cut-date"),
    (["--cut-date", "2026-01-01"], "drop --dataset and --cut-date"),
    ([], "--weekly needs --history FILE"),
])
def test_weekly_refuses_what_it_decides_itself(series: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                               extra: list[str], said: str) -> None:
    history = [] if said.startswith("--weekly needs") else ["--history", str(tmp_path / "h.duckdb")]
    assert main(["reports", "--weekly", str(series), "--out", str(tmp_path / "r"), *history, *extra]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not (tmp_path / "h.duckdb").exists()


def test_a_bad_cuts_file_or_cut_date_stops_the_build_before_anything_runs(series: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "weeks"
    bad.mkdir()
    (bad / "cuts.csv").write_text("week,cut_date,folder\n1,2026-01-14,week-01\n2,2026-01-07,../x\n3,soon,week-01\n")
    (bad / "week-01").mkdir()
    assert main(["reports", "--weekly", str(bad), "--out", str(tmp_path / "r"),
                 "--history", str(tmp_path / "h.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "row 3: cut_date 2026-01-07 is not after the row above" in err
    assert "row 3: folder '../x' is not a plain name" in err
    assert "row 4: cut_date 'soon' is not a date" in err
    assert main(["reports", "--out", str(tmp_path / "r"), "--cut-date", "31/03/2026"]) == 2
    assert "is not a date written YYYY-MM-DD" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not (tmp_path / "h.duckdb").exists()


def test_a_parameter_file_cannot_set_the_cut_date_or_the_history(tmp_path: Path) -> None:
    from lifileucel_analysis.runner.plan import ReportParamsError, load_report_plan

    notebooks, params = _tiny_project(tmp_path)
    (params / "program.yaml").write_text("tiny:\n  site: all\n  cut_date: '2026-01-01'\n  history: h.duckdb\n")
    with pytest.raises(ReportParamsError) as raised:
        load_report_plan(params, notebooks, tmp_path, require_every_site=False)
    assert "key 'cut_date' is set by the build (lifileucel-eap reports --cut-date)" in str(raised.value)
    assert "key 'history' is set by the build (lifileucel-eap reports --history)" in str(raised.value)


def test_make_reports_writes_the_weekly_extracts_of_the_bundled_demo() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    values = dict(re.findall(r"^(DEMO_PATIENTS|DEMO_SEED) := (\d+)$", makefile, re.MULTILINE))
    assert (int(values["DEMO_PATIENTS"]), int(values["DEMO_SEED"])) == (DEMO_N, DEMO_SEED)
    assert "--weekly $(DEMO_WEEKS_DIR)" in makefile and "--history reports/history.duckdb" in makefile


def test_a_stopped_build_leaves_a_history_lock_that_does_not_make_the_folder_foreign(tmp_path: Path) -> None:
    from lifileucel_analysis.runner.build import output_folder_problem

    out = tmp_path / "reports"
    out.mkdir()
    for name in ("history.duckdb", "history.duckdb.lock", ".history.duckdb.x1y2.tmp"):
        (out / name).write_text("")
    assert output_folder_problem(out) is None
    (out / "notes.txt").write_text("mine")
    assert "notes.txt" in (output_folder_problem(out) or "")


def test_screen_with_a_cut_date_counts_days_pending_from_it(tmp_path: Path) -> None:
    cut = "2026-03-31"
    assert main(["screen", str(FIXTURE_DATASET), "--out", str(tmp_path), "--cut-date", cut]) == 0
    consent = pd.read_csv(FIXTURE_DATASET / "patients.csv", dtype=str).set_index("patient_id")["consent_date"]
    rows = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(tmp_path.glob("worklist-*.csv"))])
    assert len(rows)
    expected = [(dt.date.fromisoformat(cut) - dt.date.fromisoformat(consent[p])).days for p in rows["patient"]]
    assert rows["days pending"].astype(int).tolist() == expected
    # The file says the date it counts to, just before the count (a kept file has no page note).
    assert set(rows["as of"]) == {cut}
    assert list(rows.columns[2:5]) == ["consent date", "as of", "days pending"]


def test_screen_without_a_cut_counts_to_the_latest_consent_and_says_so(tmp_path: Path) -> None:
    assert main(["screen", str(FIXTURE_DATASET), "--out", str(tmp_path)]) == 0
    latest = pd.read_csv(FIXTURE_DATASET / "patients.csv", dtype=str)["consent_date"].max()
    rows = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(tmp_path.glob("worklist-*.csv"))])
    assert len(rows) and set(rows["as of"]) == {latest}
