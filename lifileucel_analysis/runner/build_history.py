"""The run history side of a report build: recording before the notebooks, and weekly series.

:func:`recorded_history` records the build's screening (and the earlier weeks of a weekly
series) into the history and holds the history's writer lock while the notebooks read it
(``docs/history.md``: why the pages read a history the build holds).

A build over a series of weekly extracts (``lifileucel-eap reports --weekly DIR``):

``DIR`` is what ``lifileucel-eap synth --weeks N`` writes, or a site's own folder of
weekly extracts laid out the same way: ``DIR/cuts.csv`` (``week``, ``cut_date``,
``folder``: one row per extract, oldest first) and one dataset folder (or ``.xlsx``) per
row. The build records every week into the run history, each screened at its own cut
date, and builds the reports from the last week at its cut date, so "Since the last cut"
compares the last week with the one before and the program overview plots every week.

Recording is idempotent (a run's ID is its content), so building again records nothing
new and writes the same pages (``docs/history.md``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract.data_cut import iso_day
from ..contract.messages import noun_for
from ..report.screening_inputs import ScreenedInputs

CUTS_FILE = "cuts.csv"
CUTS_COLUMNS: tuple[str, ...] = ("week", "cut_date", "folder")
SAFE_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""A week's folder: one plain name inside ``DIR`` (no ``/``, no ``..``)."""


@dataclass(frozen=True)
class WeeklyCut:
    """One extract of the series: its data and its cut date."""

    week: str
    cut_date: str
    dataset: Path


def read_weekly_cuts(folder: Path) -> tuple[list[WeeklyCut], list[str]]:
    """Read ``folder/cuts.csv``; return the weeks (oldest first) and every problem found.

    Rules: the file exists with the columns ``week``, ``cut_date``, ``folder``; at least
    one row; every cut date is ``YYYY-MM-DD`` and later than the row above; every folder
    is a plain name of an existing file or folder inside ``folder``.
    """
    where = f"--weekly {folder}"
    path = folder / CUTS_FILE
    if not path.is_file():
        return [], [f"{where}: no {CUTS_FILE} (a folder written by lifileucel-eap synth --weeks N)"]
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return [], [f"{where}: {CUTS_FILE} cannot be read ({str(exc)[:200]})"]
    missing = [c for c in CUTS_COLUMNS if c not in table.columns]
    if missing:
        return [], [f"{where}: {CUTS_FILE} lacks the {noun_for(len(missing), 'column')} {', '.join(missing)}; "
                    f"expected {', '.join(CUTS_COLUMNS)}"]
    if table.empty:
        return [], [f"{where}: {CUTS_FILE} lists no week"]
    weeks, problems, previous = [], [], None
    for row, (week, cut, name) in enumerate(table[list(CUTS_COLUMNS)].itertuples(index=False), start=2):
        said = f"{where}: {CUTS_FILE} row {row}"
        try:
            day = iso_day(cut)
        except ValueError:
            problems.append(f"{said}: cut_date {cut[:40]!r} is not a date YYYY-MM-DD")
            continue
        if previous is not None and day <= previous:
            problems.append(f"{said}: cut_date {day} is not after the row above ({previous}); list weeks oldest first")
        previous = day
        if not SAFE_FOLDER.fullmatch(name) or name in (".", ".."):
            problems.append(f"{said}: folder {name[:60]!r} is not a plain name inside {folder}")
            continue
        if not (folder / name).exists():
            problems.append(f"{said}: folder {name!r} does not exist in {folder}")
            continue
        weeks.append(WeeklyCut(week=week, cut_date=day.isoformat(), dataset=folder / name))
    return weeks, problems


def recorded_history(history: Path | None, screened: Mapping[str, ScreenedInputs],
                     earlier_weeks: Sequence[WeeklyCut] = ()) -> contextlib.AbstractContextManager[Any]:
    """Record the earlier weeks, then the build's screening; hold the writer lock until the block ends.

    Every criteria choice of the plan (``screened``, by ``criteria_params`` value; normally
    only the defaults) is recorded, so every page's own run is in the history. Holding the
    lock while the notebooks run keeps any other writer from replacing the file in the
    meantime: every page of the build reads the same history. Readers never take the lock.
    Without a history: a block that does nothing.
    """
    if history is None:
        return contextlib.nullcontext()
    from ..report.run_history import locked_history  # DuckDB is loaded only by a build that records
    from ..report.screening_inputs import screen_files

    held = contextlib.ExitStack()
    writer = held.enter_context(locked_history(history))
    try:
        for week in earlier_weeks:
            for criteria in screened:
                writer.record(screen_files(week.dataset, criteria, cut_date=week.cut_date))
        for inputs in screened.values():
            writer.record(inputs)
    except BaseException:
        held.close()
        raise
    return held
