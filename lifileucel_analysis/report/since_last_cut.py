"""Screening over time on the report pages: "Since the last cut" and verdicts over the cuts.

Both read a run history (:mod:`.run_history`, DuckDB, opened read-only) and compare it
with the page's own screening, which need not be recorded in it (a notebook run in
JupyterLab on a new cut).

**Which earlier run a page compares with** (:func:`previous_run`; ``docs/history.md``):

- a page with a cut date: the run with the latest cut date *before* the page's; when
  several runs carry that date, the one with the page's own criteria parameters if there
  is one, else the latest recorded. Runs without a cut date cannot be placed in time and
  are never chosen;
- a page without a cut date: the latest run recorded before the page's own run (every
  run, when the page's run is not recorded).

Neither rule depends on whether the page's own run is recorded yet, so a rebuild, which
finds its run already in the history, compares with the same run as the first build and
writes the same bytes.

**Verdicts over the cuts** (:func:`verdicts_over_cuts`): one point per cut date, the run
chosen for a date as above (the page's criteria first, else the latest recorded), up to
the page's own cut date; runs without a cut date are left out.

The tables come from :func:`.changes.patient_changes` and :func:`.changes.site_counts`;
nothing here decides what a change is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..contract.schema import ALL_SITES
from ..engine.catalog import CATALOG
from ..engine.screening import VERDICTS, ScreeningResult
from .changes import CHANGE_COLUMNS, cut_days, patient_changes, pick_run, previous_run, site_counts
from .downloads import CHANGE_COLUMNS_SHOWN as PAGE_CHANGE_COLUMNS
from .downloads import download_name
from .html_tables import PAGE_ROWS, HtmlTable, Markup, Tables, escape
from .provenance import display_history
from .screening_inputs import ScreenedInputs

__all__ = ["PAGE_CHANGE_COLUMNS", "CutComparison", "HistoryView", "compare_with_previous", "criterion_counts",
           "display_history", "kind_counts", "over_cuts_sentence", "previous_run", "section", "verdicts_over_cuts"]

CHANGES_DOWNLOAD = "changes"
"""Download kind of the per-patient changes (``<name>-changes.xlsx`` / ``.csv`` beside the page)."""
RUN_ID_SHOWN = 8
"""Hex digits of a run ID shown on a page (the history's ``runs`` table holds all 16)."""
HOW_TO_GET_A_HISTORY = ("To see what changed, build the reports with a run history and a data cut "
                        "(lifileucel-eap reports --history FILE --cut-date YYYY-MM-DD; make reports keeps "
                        "reports/history.duckdb) or set this notebook's parameter history to a history file.")


def _cut_text(value: object) -> str:
    return "no cut date" if value is None or pd.isna(value) else f"cut date {str(value)[:10]}"


@dataclass(frozen=True)
class CutComparison:
    """The page's screening against the earlier run of the history.

    Attributes
    ----------
    history : str
        The history as the page names it (:func:`display_history`), ``"none"`` without one.
    run_id, cut_date, criteria_version, params_sha256
        The page's own run (``cut_date`` ``None``: no cut).
    previous : dict or None
        The earlier run's ``runs`` row (``None``: no history, or no earlier run).
    changes : DataFrame
        One row per patient of the page's scope that changed (every column of
        :func:`.changes.patient_changes`); empty without an earlier run.
    """

    history: str
    run_id: str
    cut_date: str | None
    criteria_version: str
    params_sha256: str
    previous: dict[str, object] | None
    changes: pd.DataFrame

    @property
    def shown(self) -> pd.DataFrame:
        """:attr:`changes` as the page and its download show them (:data:`PAGE_CHANGE_COLUMNS`)."""
        return self.changes[PAGE_CHANGE_COLUMNS].reset_index(drop=True)

    @property
    def compared_changes(self) -> pd.DataFrame | None:
        """:attr:`changes`, or ``None`` when there is no earlier run to compare with."""
        return None if self.previous is None else self.changes

    @property
    def has_history(self) -> bool:
        """Whether the page was given a history at all."""
        return self.history != "none"

    def sentence(self) -> str:
        """The runs compared, or why nothing is compared and how to get a comparison."""
        this = f"this page's run {self.run_id[:RUN_ID_SHOWN]} ({_cut_text(self.cut_date)})"
        if not self.has_history:
            return f"No run history was given, so there is no earlier run to compare with. {HOW_TO_GET_A_HISTORY}"
        if self.previous is None:
            when = (f"with a cut date before {self.cut_date}" if self.cut_date is not None
                    else "recorded before this one")
            return (f"The run history {self.history} holds no run {when}, so there is nothing to compare "
                    f"{this} with yet. Record the next cut into the same history (lifileucel-eap screen DATASET "
                    "--cut-date YYYY-MM-DD --history FILE, or reports --history FILE --cut-date YYYY-MM-DD) "
                    "and this section lists what changed.")
        before = self.previous
        text = (f"Compared with the previous data cut: before, run {str(before['run_id'])[:RUN_ID_SHOWN]} "
                f"({_cut_text(before['cut_date'])}, criteria {before['criteria_version']}); after, {this}, "
                f"criteria {self.criteria_version}. Run history: {self.history}.")
        if before["params_sha256"] != self.params_sha256:
            text += " The two runs used different criteria limits: some changes may come from the criteria."
        return text


class HistoryView:
    """A history's ``runs`` and the runs' tables, each read once (read-only): for the runner,
    which compares every page of a build with the same history."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._runs: pd.DataFrame | None = None
        self._tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
        self._changes: dict[tuple[str, int], tuple[ScreeningResult, pd.DataFrame]] = {}

    def runs(self) -> pd.DataFrame:
        """The ``runs`` table."""
        from .run_history import runs

        if self._runs is None:
            self._runs = runs(self.path)
        return self._runs

    def tables(self, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The ``verdicts`` and ``outcomes`` of one run."""
        from .run_history import run_tables

        if run_id not in self._tables:
            self._tables[run_id] = run_tables(self.path, run_id)
        return self._tables[run_id]

    def changes(self, run_id: str, result: ScreeningResult) -> pd.DataFrame:
        """:func:`.changes.patient_changes` from run ``run_id`` to ``result``, program-wide, computed once per
        pair: every page of a build compares the same screening, each keeping its site's rows."""
        from .run_history import stored_tables

        key = (run_id, id(result))  # the result is kept with its changes, so its id is not reused meanwhile
        if key not in self._changes:
            verdicts_before, outcomes_before = self.tables(run_id)
            verdicts_after, outcomes_after = stored_tables(result)
            self._changes[key] = (result, patient_changes(verdicts_before, verdicts_after, outcomes_before,
                                                          outcomes_after))
        return self._changes[key][1]


def _scope_moved(changes: pd.DataFrame, site: str) -> pd.DataFrame:
    """The changes of ``site``'s patients, now or before (every change for all sites)."""
    if site == ALL_SITES:
        return changes
    mine = (changes["site_id"].astype(str) == site) | (changes["site_before"].astype(str) == site)
    return changes.loc[mine.to_numpy()].reset_index(drop=True)


def compare_with_previous(history: Path | None, inputs: ScreenedInputs, site: str = ALL_SITES,
                          view: HistoryView | None = None) -> CutComparison:
    """Compare a page's screening (``inputs``, restricted to ``site``) with the history's earlier run.

    Parameters
    ----------
    history : Path or None
        An existing history file; ``None``: no history (the comparison says so).
    inputs : ScreenedInputs
        The page's screening, with its dataset path and cut.
    site : str
        A site code or ``"all"``: the changes of the site's patients, in either run (a move on both sites).
    view : HistoryView, optional
        Reads of ``history`` to reuse across calls (default: read afresh).
    """
    empty = pd.DataFrame(columns=CHANGE_COLUMNS)
    if history is None:  # nothing to compare: the run need not even be identified (no dataset path needed)
        cut = None if inputs.cut is None else inputs.cut.cut_date.isoformat()
        return CutComparison(history="none", run_id="", cut_date=cut, criteria_version="", params_sha256="",
                             previous=None, changes=empty)
    from .run_history import run_record

    view = view if view is not None and view.path == history else HistoryView(history)
    record = run_record(inputs)
    base = {"run_id": record.run_id, "cut_date": record.cut_date, "criteria_version": record.criteria_version,
            "params_sha256": record.params_sha256}  # the recorded hash: the run is matched on what identifies it
    before = previous_run(view.runs(), record.run_id, record.cut_date, base["params_sha256"])
    if before is None:
        return CutComparison(history=display_history(history), previous=None, changes=empty, **base)
    # Compared program-wide, then the site's rows kept: a patient that moved site is on both sites' pages as
    # one move, not as "no longer in data" on one and "new" on the other (audit 43M).
    changes = _scope_moved(view.changes(str(before["run_id"]), inputs.result), site)
    return CutComparison(history=display_history(history), previous=before.to_dict(), changes=changes, **base)


def kind_counts(changes: pd.DataFrame) -> pd.DataFrame:
    """Patients per kind of change over the page's scope (``change``, ``patients``).

    The kinds of :func:`.changes.site_counts` summed over sites: ``new patient``,
    ``no longer in data``, ``<before> -> <after>`` per verdict direction,
    ``criteria changed, same verdict``; in that order, then by name.
    """
    counts = site_counts(changes).groupby("change", sort=True)["patients"].sum()
    order = {"new patient": 0, "no longer in data": 1, "moved from another site, same verdict": 3,
             "criteria changed, same verdict": 4}
    frame = counts.rename("patients").reset_index()
    frame["_order"] = frame["change"].map(order).fillna(2)
    return frame.sort_values(["_order", "change"], kind="stable")[["change", "patients"]].reset_index(drop=True)


def criterion_counts(changes: pd.DataFrame) -> pd.DataFrame:
    """Per criterion (record order), patients for whom it newly failed, was resolved, became unknown or waived.

    Columns ``criterion_id``, ``newly_failed``, ``resolved``, ``newly_unknown``, ``newly_waived``; only
    criteria with at least one. A new patient's failed, unknown and waived criteria count as new (as in
    ``changes.csv``).
    """
    kinds = ("newly_failed", "resolved", "newly_unknown", "newly_waived")
    columns = {}
    for kind in kinds:
        ids = changes[kind].astype(str).str.split(";").explode()
        columns[kind] = ids[ids != ""].value_counts()
    table = pd.DataFrame({"criterion_id": [c.id for c in CATALOG]})
    for kind in kinds:
        table[kind] = table["criterion_id"].map(columns[kind]).fillna(0).astype(int)
    return table.loc[table[list(kinds)].sum(axis=1) > 0].reset_index(drop=True)


def verdicts_over_cuts(history: Path | None, cut_date: str | None = None, params_sha256: str = "") -> pd.DataFrame:
    """Eligible, pending and ineligible patients per data cut of the history (all sites).

    One row per cut date (the run of that date chosen as :func:`previous_run` chooses), up
    to ``cut_date`` when the page has one; runs without a cut date are left out. Columns
    ``cut_date`` (text), ``run_id`` (the first digits), ``criteria_version``, ``screened``,
    ``eligible``, ``pending``, ``ineligible``. Empty without a history.
    """
    columns = ["cut_date", "run_id", "criteria_version", "screened", *VERDICTS]
    if history is None:
        return pd.DataFrame(columns=columns)
    from .run_history import runs, verdict_counts_per_run

    table = runs(history)
    table = table.loc[table["cut_date"].notna()].assign(_day=lambda t: cut_days(t))
    if cut_date is not None:
        table = table.loc[table["_day"] <= pd.Timestamp(cut_date)]
    if table.empty:
        return pd.DataFrame(columns=columns)
    chosen = pd.DataFrame([pick_run(group, params_sha256) for _, group in table.groupby("_day", sort=True)])
    counts = verdict_counts_per_run(history).pivot_table(index="run_id", columns="verdict", values="patients",
                                                         aggfunc="sum", fill_value=0)
    out = pd.DataFrame({"cut_date": chosen["_day"].dt.strftime("%Y-%m-%d").to_numpy(),
                        "run_id": chosen["run_id"].str[:RUN_ID_SHOWN].to_numpy(),
                        "criteria_version": chosen["criteria_version"].to_numpy()})
    for verdict in VERDICTS:
        values = chosen["run_id"].map(counts[verdict]) if verdict in counts else pd.Series(0, index=chosen.index)
        out[verdict] = values.fillna(0).astype(int).to_numpy()
    out.insert(3, "screened", out[list(VERDICTS)].sum(axis=1).astype(int))
    return out[columns]


# --------------------------------------------------------------------------- on the page


def section(comparison: CutComparison, site: str) -> Tables:
    """The "Since the last cut" section: which runs, counts per kind and per criterion, then the patients."""
    sentence = comparison.sentence()
    intro = Markup(f'<p class="eap-since-last-cut">{escape(sentence)}</p>', text=sentence)
    if comparison.previous is None:
        return Tables((intro,))
    changes = comparison.changes
    return Tables((
        intro,
        HtmlTable(kind_counts(changes), caption="Changes since the last cut, by kind",
                  note="Patients per kind of change: new in the data, no longer in it, verdict moved (before -> "
                       "after), moved from another site, or some criterion changed with the same verdict. Only "
                       "outcome changes count: "
                       "evidence that changed while the outcome did not is not listed.",
                  empty="No patient changed between the two runs."),
        HtmlTable(criterion_counts(changes), caption="Criteria newly failed, resolved, newly unknown or newly waived",
                  note="Patients per criterion. Resolved: was fail or unknown, now pass, not applicable or waived. "
                       "Newly waived: a waiver the earlier run did not apply. A new patient's failed, unknown and "
                       "waived criteria count as new.",
                  empty="No criterion outcome changed."),
        HtmlTable(comparison.shown, caption="Changes since the last cut: patients",
                  note="One row per patient that changed; evidence before and after of the criteria that changed "
                       "(for a new patient, of its failed and unknown criteria). Criteria IDs are separated by ';'.",
                  empty="No patient changed.", max_rows=PAGE_ROWS,
                  download=download_name(site, CHANGES_DOWNLOAD, "xlsx")),
    ))


def over_cuts_sentence(history: Path | None, cuts: pd.DataFrame, cut_date: str | None) -> str:
    """Why there is no figure of verdicts over the cuts (``""`` when there is one to draw)."""
    if history is None:
        return ("No run history was given, so there are no data cuts to plot. " + HOW_TO_GET_A_HISTORY)
    if cuts.empty:
        upto = f" on or before {cut_date}" if cut_date is not None else ""
        return (f"The run history {display_history(history)} holds no run with a cut date{upto}, so there is "
                "nothing to plot yet.")
    return ""
