"""What changed between two screening runs: pure functions over the history's tables.

:func:`patient_changes` gives one row per patient that changed (new, no longer in the data,
a different verdict, or any criterion with a different outcome), with the criteria newly
failed, resolved and newly unknown and the evidence before and after; :func:`site_counts`
counts them per site. Evidence that changed while the outcome did not (a lab redrawn and
still in range) is not a change here: the list is about what a coordinator must act on.
The notebooks and the ``changes`` command call these on frames read by
:mod:`.run_history`; nothing here reads files.
"""

from __future__ import annotations

import pandas as pd

from ..contract.data_cut import iso_day
from ..contract.messages import ShownAsMessage, counted
from ..engine.catalog import CATALOG

__all__ = ["CHANGE_COLUMNS", "CRITERIA_DIFFER_NOTE", "NoSuchRunError", "changes_sentence", "choose_runs",
           "criteria_differ", "cut_days", "latest_run", "patient_changes", "pick_run", "previous_run", "site_counts"]

CHANGE_COLUMNS = ["site_id", "patient_id", "change", "site_before", "verdict_before", "verdict_after", "newly_failed",
                  "resolved", "newly_unknown", "newly_waived", "outcome_changes", "evidence_before", "evidence_after"]
"""Columns of ``changes.csv``, in order."""
BLOCKING_OR_OPEN = ("fail", "unknown")
"""Outcomes that keep a criterion open; leaving them (for pass, not_applicable, waived) resolves it."""
CRITERIA_DIFFER_NOTE = ("note: the two runs used different criteria, so the changes include the criteria's effect "
                        "(the run compared to is the latest recorded at the latest cut: keep what-if screens in a "
                        "history of their own)")
"""What ``changes`` adds when :func:`criteria_differ`. Audit 43M: it said "--since RUN_ID compares runs of one criteria
version", which no option does once a what-if is the latest run."""


class NoSuchRunError(ShownAsMessage, LookupError):
    """``--since`` names no run of the history."""


def latest_run(runs: pd.DataFrame) -> pd.Series:
    """The run ``changes`` reports on: the latest recorded, or, when it has a cut date, the run with the
    latest cut date (a backfilled older week recorded last is not "the latest"; review 24)."""
    ordered = runs.sort_values("sequence", kind="stable")
    last = ordered.iloc[-1]
    if pd.isna(last["cut_date"]):
        return last
    days = cut_days(ordered)
    return ordered.loc[(days == days.max()).to_numpy()].iloc[-1]


def choose_runs(runs: pd.DataFrame, since: str | None = None) -> tuple[str | None, str]:
    """Pick the run to compare from and the run to compare to (:func:`latest_run`).

    Parameters
    ----------
    runs : DataFrame
        The history's ``runs`` table (``run_id``, ``sequence``, ``cut_date``).
    since : str, optional
        A run ID (or a unique prefix of one) or a date ``YYYY-MM-DD``: the latest run whose
        cut date is on or before it. Default: :func:`previous_run` of the latest, the rule of the
        pages' "Since the last cut" (up to session 23 the run recorded before the latest, which
        compared backwards in time after a backfill; review 24).

    Returns
    -------
    (str or None, str)
        The earlier run's ID (``None``: the history has one run, every patient is new) and
        the latest run's ID.
    """
    if runs.empty:
        raise NoSuchRunError("the history has no runs; record one first (screen --history FILE)")
    ordered = runs.sort_values("sequence")
    latest = latest_run(ordered)
    earlier = ordered.loc[ordered["run_id"] != latest["run_id"]]
    if since is None:
        cut = None if pd.isna(latest["cut_date"]) else str(latest["cut_date"])[:10]
        before = previous_run(ordered, latest["run_id"], cut, latest["params_sha256"])
        return (None if before is None else before["run_id"]), latest["run_id"]
    by_id = ordered.loc[ordered["run_id"].str.startswith(since)]
    if len(by_id) > 1:
        raise NoSuchRunError(f"--since {since!r} matches {len(by_id)} runs; give more of the run ID")
    if len(by_id) == 1 and by_id.iloc[0]["run_id"] == latest["run_id"]:
        # Audit 43M: it said "0 patients changed from nothing (first run)" of the sixth run of six.
        raise NoSuchRunError(f"--since {since!r} names the run compared to ({_run_named(latest)}): name an "
                             "earlier run, or leave --since out to compare with the previous cut")
    if len(by_id) == 1:
        return by_id.iloc[0]["run_id"], latest["run_id"]
    try:  # a date only as YYYY-MM-DD, as --cut-date takes it: 11/07/2026 was read as 7 November (audit 43M)
        day = pd.Timestamp(iso_day(since))
    except ValueError:
        raise NoSuchRunError(f"--since {since!r} is neither a run ID of the history nor a date YYYY-MM-DD") from None
    cuts = pd.to_datetime(earlier["cut_date"])
    candidates = earlier.loc[(cuts <= day).fillna(False).astype(bool)]
    if candidates.empty:
        raise NoSuchRunError(f"no run before the latest has a cut date on or before {since}")
    return candidates.iloc[-1]["run_id"], latest["run_id"]


def cut_days(runs: pd.DataFrame) -> pd.Series:
    """Each run's cut date as a day (``NaT`` for a run without one)."""
    return pd.to_datetime(runs["cut_date"]).dt.normalize()


def pick_run(candidates: pd.DataFrame, params_sha256: str) -> pd.Series:
    """Of runs with one cut date: the one with criteria ``params_sha256`` first, else the latest recorded."""
    same = candidates.loc[candidates["params_sha256"] == params_sha256]
    chosen = same if len(same) else candidates
    return chosen.sort_values("sequence", kind="stable").iloc[-1]


def previous_run(runs: pd.DataFrame, run_id: str, cut_date: str | None, params_sha256: str) -> pd.Series | None:
    """The run a screening compares with, or ``None``: "since the last cut".

    With a cut date: the run with the latest cut date *before* it; when several runs carry that
    date, the one with the same criteria parameters if there is one, else the latest recorded
    (runs without a cut date cannot be placed in time and are never chosen). Without a cut date:
    the latest run recorded before ``run_id`` (every run, when it is not recorded). The report
    pages (:mod:`.since_last_cut`) and the ``changes`` command (:func:`choose_runs`) use it alike.

    Parameters
    ----------
    runs : DataFrame
        The history's ``runs`` table.
    run_id, cut_date, params_sha256
        The screening's own run (:func:`.run_history.run_record`); ``cut_date`` ``YYYY-MM-DD`` or ``None``.
    """
    others = runs.loc[runs["run_id"] != run_id]
    if cut_date is not None:
        days = cut_days(others)
        before = (days < pd.Timestamp(cut_date)).fillna(False).to_numpy(dtype=bool)
        if not before.any():
            return None
        latest = days[before].max()
        return pick_run(others.loc[before & (days == latest).to_numpy(dtype=bool)], params_sha256)
    own = runs.loc[runs["run_id"] == run_id, "sequence"]
    earlier = others if own.empty else others.loc[others["sequence"] < own.iloc[0]]
    return None if earlier.empty else earlier.sort_values("sequence", kind="stable").iloc[-1]


EVIDENCE_SEPARATOR = " | "
"""Between the criteria of an evidence cell: a sentence holds "; " itself (the worklist's separator too)."""


def _joined(frame: pd.DataFrame, mask: pd.Series, text: pd.Series, sep: str = ";") -> pd.Series:
    """Per patient, ``text`` of the rows where ``mask`` holds, joined in criterion order by ``sep``."""
    chosen = frame.loc[mask.to_numpy()].assign(_text=text.loc[mask].to_numpy())
    return chosen.groupby("patient_id", sort=False)["_text"].agg(lambda s: sep.join(s) if len(s) else "")


def _change_parts(both: pd.DataFrame) -> dict[str, pd.Series]:
    """Per patient, the columns of :func:`patient_changes` read from its outcomes before and after.

    ``both``: the two runs' outcomes merged per (patient, criterion), in criterion order per patient.
    """
    both = both.assign(**{column: both[column].astype("object").where(both[column].notna(), "")
                          for column in ("outcome_after", "outcome_before", "evidence_after", "evidence_before")})
    moved = both["outcome_after"] != both["outcome_before"]
    old = both["outcome_before"]
    new = both["outcome_after"]
    existed = old != ""
    criterion = both["criterion_id"].astype(str)
    return {
        "newly_failed": _joined(both, moved & (new == "fail"), criterion),
        "resolved": _joined(both, moved & old.isin(BLOCKING_OR_OPEN) & ~new.isin(BLOCKING_OR_OPEN) & (new != ""),
                            criterion),
        "newly_unknown": _joined(both, moved & (new == "unknown"), criterion),
        # the waivers of this run that the earlier did not apply (audit 43M: a waiver of a passing criterion
        # was only text in outcome_changes, in no count)
        "newly_waived": _joined(both, moved & (new == "waived"), criterion),
        "outcome_changes": _joined(both, moved & existed & (new != ""), criterion + ": " + old + " -> " + new),
        # Each sentence with its criterion and outcome ("I2 (fail): ..."), criteria apart by " | ": a new
        # patient's failed and unknown criteria read apart (audit 22C).
        # a patient no longer in the data: likewise only what blocked or was open (audit 43M: all 19 sentences)
        "evidence_before": _joined(both, moved & existed & ((new != "") | old.isin(BLOCKING_OR_OPEN)),
                                   criterion + " (" + old + "): " + both["evidence_before"], EVIDENCE_SEPARATOR),
        # a new patient's evidence: only what blocks or is open (the rest is in the run's outcomes)
        "evidence_after": _joined(both, moved & (new != "") & (existed | new.isin(BLOCKING_OR_OPEN)),
                                  criterion + " (" + new + "): " + both["evidence_after"], EVIDENCE_SEPARATOR),
    }


def patient_changes(verdicts_before: pd.DataFrame, verdicts_after: pd.DataFrame,
                    outcomes_before: pd.DataFrame, outcomes_after: pd.DataFrame) -> pd.DataFrame:
    """One row per patient that changed between two runs (columns :data:`CHANGE_COLUMNS`).

    Parameters
    ----------
    verdicts_before, verdicts_after : DataFrame
        ``patient_id``, ``site_id``, ``verdict`` of each run (empty ``before``: all new).
    outcomes_before, outcomes_after : DataFrame
        ``patient_id``, ``criterion_id``, ``outcome``, ``evidence`` of each run, rows in
        criterion order per patient.

    Returns
    -------
    DataFrame
        Sorted by site and patient. ``change`` is ``new``, ``no longer in data``,
        ``verdict`` (the verdict changed), ``site`` (same verdict, another site: ``site_before``
        says which) or ``criteria`` (same verdict and site, some outcome changed).
    """
    keys = ["patient_id", "criterion_id"]
    # a new patient's criteria count as newly failed / newly unknown: what the coordinator must act on
    both = outcomes_after[keys + ["outcome", "evidence"]].merge(
        outcomes_before[keys + ["outcome", "evidence"]], on=keys, how="outer", suffixes=("_after", "_before"),
        sort=False)
    order = {c.id: i for i, c in enumerate(CATALOG)}
    both = both.assign(_order=both["criterion_id"].astype(str).map(order)).sort_values(
        ["patient_id", "_order"], kind="stable").reset_index(drop=True)
    parts = _change_parts(both)
    table = verdicts_after[["patient_id", "site_id", "verdict"]].astype(str).merge(
        verdicts_before[["patient_id", "site_id", "verdict"]].astype(str), on="patient_id", how="outer",
        suffixes=("_after", "_before"))
    table["site_id"] = table["site_id_after"].fillna(table["site_id_before"])
    table["site_before"] = table["site_id_before"].fillna("")
    # A patient whose site changed is one patient that moved, not one gone and one new (audit 43M: a transfer
    # was missing from changes.csv, and its two site pages said "no longer in data" and "new").
    moved = (table["site_before"] != "") & table["site_id_after"].notna() & (table["site_before"] != table["site_id"])
    for name, series in parts.items():
        mapped = table["patient_id"].map(series).astype("object")
        table[name] = mapped.where(mapped.notna(), "")
    table[["verdict_before", "verdict_after"]] = table[["verdict_before", "verdict_after"]].fillna("")
    table["change"] = "criteria"
    table.loc[moved.to_numpy(), "change"] = "site"
    table.loc[table["verdict_before"] != table["verdict_after"], "change"] = "verdict"
    table.loc[table["verdict_before"] == "", "change"] = "new"
    table.loc[table["verdict_after"] == "", "change"] = "no longer in data"
    changed = (table["change"] != "criteria") | (table["outcome_changes"] != "")
    out = table.loc[changed, CHANGE_COLUMNS].sort_values(["site_id", "patient_id"], kind="stable")
    return out.reset_index(drop=True)


def site_counts(changes: pd.DataFrame) -> pd.DataFrame:
    """Per site, how many patients changed in each way (``site_id``, ``change``, ``patients``).

    ``change`` is ``new patient``, ``no longer in data``, ``<before> -> <after>`` for a
    verdict change, or ``criteria changed, same verdict``; sorted by site and change.
    """
    kind = changes["change"].map({"new": "new patient", "no longer in data": "no longer in data",
                                  "site": "moved from another site, same verdict",
                                  "criteria": "criteria changed, same verdict"})
    kind = kind.where(changes["change"] != "verdict",
                      changes["verdict_before"] + " -> " + changes["verdict_after"])
    counts = (pd.DataFrame({"site_id": changes["site_id"], "change": kind})
              .value_counts().rename("patients").reset_index())
    return counts.sort_values(["site_id", "change"], kind="stable").reset_index(drop=True)


def _run_named(run: pd.Series) -> str:
    """``run 3f2a... (2025-03-10, criteria 1)``: the run ID alone names neither its cut nor its criteria."""
    cut = run["cut_date"]  # text in runs.csv's rows, a timestamp in the history's
    day = str(cut)[:10] if isinstance(cut, str) or not pd.isna(cut) else ""
    return f"run {run['run_id']} ({day or 'no cut date'}, criteria {run['criteria_version']})"


def changes_sentence(changed: int, compared: pd.DataFrame, gone: int = 0) -> str:
    """The ``changes`` command's summary: how many patients changed, from which run to which.

    Parameters
    ----------
    changed : int
        Rows of :func:`patient_changes`.
    compared : pandas.DataFrame
        The two runs' rows (``role`` ``before`` / ``after``, ``run_id``, ``cut_date`` as text,
        ``criteria_version``); without a ``before`` row the after run is the history's first.
    gone : int
        Patients ``no longer in data``: where the after run set patients aside at its cut, one of them may
        be such a patient, whose consent date now lies after the cut (audit 43M: a consent date typed
        wrong read as a withdrawal).
    """
    by_role = compared.set_index("role")
    before = _run_named(by_role.loc["before"]) if "before" in by_role.index else "nothing (first run)"
    text = f"{counted(changed, 'patient')} changed from {before} to {_run_named(by_role.loc['after'])}"
    aside = int(by_role.loc["after"].get("patients_set_aside", 0) or 0)
    if gone and aside:
        text += (f"; {counted(gone, 'patient is', 'patients are')} no longer in the data, and the later run set "
                 f"{counted(aside, 'patient')} aside as consented after its cut: a patient whose consent date now "
                 "lies after the cut reads as no longer in data")
    return text


def criteria_differ(compared: pd.DataFrame) -> bool:
    """Whether the two compared runs screened under different criteria parameters (``params_sha256``)."""
    by_role = compared.set_index("role")
    return "before" in by_role.index and by_role.loc["before", "params_sha256"] != by_role.loc["after", "params_sha256"]
