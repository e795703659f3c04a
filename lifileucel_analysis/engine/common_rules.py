"""Rule sets shared by several criteria: a patient column, a lower limit, a yes/no flag, line labels."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.messages import counted
from ..contract.schema import TABLES
from .evidence import (CLASSIFY_AGENT, IF_ADJUVANT, TEXT, Part, Rule, decide, iso_dates, join_nonempty,
                       join_per_patient, quoted_in_request, text_series)
from .facts import Facts, earliest_qualifying_end, earliest_window_end, end_missing, recurrence_before_start
from .nullable import is_no, is_yes, surely, yes_or_blank
from .outcome import Outcome

P, F, U, N = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE


def column(f: Facts, name: str) -> pd.Series:
    """A column of the patients table, aligned with the facts."""
    return f.patients[name]


def line_numbers(lines: pd.DataFrame) -> pd.Series:
    """Each therapy line's number as evidence says it: ``2``, or ``without a number`` where ``line`` is blank."""
    return lines["line"].astype(str).where(lines["line"].notna(), "without a number")


def line_names(lines: pd.DataFrame) -> pd.Series:
    """Each therapy line as evidence names it: ``line 2 (nivolumab)``, ``line 3 (blank agents)``."""
    return "line " + line_numbers(lines) + " (" + lines["agents"].astype(str).fillna("blank agents") + ")"


def line_labels(f: Facts, rows: np.ndarray) -> pa.Array:
    """Per patient, 'line 2 (nivolumab)'-style lists of the selected therapy rows."""
    lines = f.lines[rows]
    return join_per_patient(lines["pos"].to_numpy(), line_names(lines).reset_index(drop=True), f.n)


def allowed_range(field: str) -> tuple[float | None, float | None]:
    """The lowest and highest value the contract allows in ``table.column`` (``None``: no bound)."""
    table, name = field.split(".")
    spec = TABLES[table].column(name)
    return spec.minimum, spec.maximum


def at_least(value: pd.Series, limit: float, field: str, label: str) -> Part:
    """Pass at or above ``limit``, fail below it; blank is unknown unless every allowed value passes.

    A limit at the contract's lowest value (``min_lesion_cm: 0``) passes a blank cell: every
    way of filling it in passes (spec section 2).
    """
    lowest, _ = allowed_range(field)
    return decide(len(value), [
        Rule(value >= limit, P, label + " {v} >= {limit}"),
        Rule(value < limit, F, label + " {v} < {limit}"),
        Rule(lowest is not None and lowest >= limit, P,
             label + " not recorded, but every allowed value passes (>= {limit})"),
        Rule(True, U, label + " not recorded (" + field.split(".")[1] + ")", field),
    ], {"v": value, "limit": limit})


def yes_fails(f: Facts, name: str, fail_text: str, pass_text: str) -> Part:
    """A criterion decided by one yes/no column where yes fails, no passes, blank is unknown."""
    value = column(f, name)
    return decide(f.n, [
        Rule(is_yes(value), F, fail_text),
        Rule(is_no(value), P, pass_text),
        Rule(True, U, name.replace("_", " ") + f" not recorded ({name})", f"patients.{name}"),
    ], {})


def agent_requests(f: Facts, rows: np.ndarray | None = None) -> pd.Series:
    """Per therapy line (or per selected line, ``rows``): what to do about its agents ("" when classified).

    An unclassified name asks ``classify agent 'X' (therapies line N)``, with the exact
    text as written; a blank cell, or one with an empty name (``pembrolizumab+``), asks for
    ``therapies.agents (line N)``.
    """
    lines = f.lines if rows is None else f.lines[rows]
    line = pa.array(line_numbers(lines), type=TEXT)
    # Every name of every line, with the line it came from; blank names ("a++b") ask nothing.
    split = pc.split_pattern(pa.array(lines["unknown_agents"], type=TEXT), "+")
    names, parent = pc.list_flatten(split), pc.list_parent_indices(split).to_numpy()
    named = pc.not_equal(names, "").to_numpy(zero_copy_only=False)
    names, parent = quoted_in_request(names.filter(pa.array(named))), parent[named]
    asks = pc.binary_join_element_wise(pa.scalar(f"{CLASSIFY_AGENT} '", TEXT), names,
                                       pa.scalar("' (therapies line ", TEXT), line.take(pa.array(parent)),
                                       pa.scalar(")", TEXT), pa.scalar("", TEXT))
    per_line = text_series(join_per_patient(parent, asks, len(lines), "; "))
    per_line.index = lines.index
    cell = "therapies.agents (line " + line_numbers(lines) + ")"
    blank = lines["agents"].isna().to_numpy()
    missing = lines["missing_agent"].to_numpy(dtype=bool) & ~blank
    per_line = per_line.where(~missing, join_nonempty([per_line, cell], "; "))
    return per_line.where(~blank, cell).astype(str)


def unclassified_reasons(lines: pd.DataFrame) -> pd.Series:
    """Per therapy line, why its agents' classes are open, without the line number ("" when classified).

    ``agents not recorded``; ``'foobarmab' not in the drug dictionary``; ``a name missing in
    'pembrolizumab+'``. Only the unknown names are quoted, not the known ones beside them.
    """
    names = lines["unknown_agents"].astype(str)
    quoted = ("'" + names.str.replace("+", "', '", regex=False) + "' not in the drug dictionary").where(names != "", "")
    cut_short = lines["missing_agent"].to_numpy(dtype=bool)
    cut = ("a name missing in '" + lines["agents"].astype(str) + "'").where(cut_short, "")
    return join_nonempty([quoted, cut], ", ").where(lines["agents"].notna(), "agents not recorded")


def why_unclassified(lines: pd.DataFrame) -> pd.Series:
    """Per therapy line, :func:`unclassified_reasons` with the line: ``agents not recorded (line 2)``."""
    reasons = unclassified_reasons(lines)
    return (reasons + " (line " + line_numbers(lines) + ")").where(reasons != "", "")


def unclassified_lines(f: Facts, rows: np.ndarray) -> pa.Array:
    """Per patient, why the selected lines' agents are open: "'x' not in the drug dictionary (line 2); ..."."""
    lines = f.lines[rows]
    return join_per_patient(lines["pos"].to_numpy(), why_unclassified(lines).reset_index(drop=True), f.n, "; ")


def recurrence_date_open(lines: pd.DataFrame) -> np.ndarray:
    """Per line: its recurrence window is open and leaves open whether it counts (a possibly adjuvant
    anti-PD-(L)1 line), so the fields of :func:`window_requests` are worth collecting."""
    return (lines["recurrence_in_window"].isna() & ~surely(lines["setting"] == "metastatic")
            & yes_or_blank(lines["pd1"])).to_numpy(dtype=bool)


class WindowCase(IntEnum):
    """Why a line's recurrence window is open (:func:`window_cases`), the first that holds, or that it is not.

    :func:`window_open_reasons` says it and :func:`window_requests` asks for the fields that
    would close it, each by a lookup on the case, so the two cannot drift apart.
    """

    CLOSED = 0
    """Not a line of :func:`recurrence_date_open`: nothing to say or ask."""
    BEFORE_START = 1
    """The recurrence is dated before the line's start (:func:`.facts.recurrence_before_start`)."""
    STOPPED_NO_RECURRENCE = 2
    """The line stopped on an end date not recorded (:func:`.facts.end_missing`); recurrence date blank."""
    STOPPED_NO_START = 3
    """The line stopped on an end date not recorded; start date blank: no earliest end to measure from."""
    STOPPED = 4
    """The line stopped on an end date not recorded; the recurrence is past the earliest window's end."""
    NO_RECURRENCE = 5
    """Recurrence date blank."""
    OTHER = 6
    """Open otherwise: nothing to say; the recurrence date is asked for."""


def window_cases(lines: pd.DataFrame) -> np.ndarray:
    """Per line, its :class:`WindowCase` (as ``int``): the first that holds, in the order of the class.

    Parameters
    ----------
    lines : pandas.DataFrame
        Therapy lines, as :attr:`.Facts.lines` or a selection of them.

    Returns
    -------
    numpy.ndarray
        One ``WindowCase`` code per line, in ``lines`` order.
    """
    before, undated = recurrence_before_start(lines).to_numpy(), end_missing(lines).to_numpy()
    recurrence_blank = lines["recurrence_date"].isna().to_numpy()
    start_blank = lines["start_date"].isna().to_numpy()
    return np.select([~recurrence_date_open(lines), before, undated & recurrence_blank, undated & start_blank, undated,
                      recurrence_blank],
                     [WindowCase.CLOSED, WindowCase.BEFORE_START, WindowCase.STOPPED_NO_RECURRENCE,
                      WindowCase.STOPPED_NO_START, WindowCase.STOPPED, WindowCase.NO_RECURRENCE], WindowCase.OTHER)


def _by_case(cases: np.ndarray, table: dict[WindowCase, pd.Series | str], index: pd.Index) -> pd.Series:
    """Per line, the text ``table`` gives its case (a constant, or that line's row of a Series); "" for a case
    the table leaves out."""
    out = np.full(len(cases), "", dtype=object)
    for case, text in table.items():
        rows = cases == case
        out[rows] = text if isinstance(text, str) else text.to_numpy(dtype=object)[rows]
    return pd.Series(out, index=index, dtype=object)


def recurrence_past_window(lines: pd.DataFrame, months: int) -> pd.Series:
    """Per line, why its recurrence is outside the window, for evidence: "recurrence 2025-03-01 past the
    6-month window from its end 2024-08-31 to 2025-02-28" (I2's lines not counted, I3's lines that may be
    adjuvant).

    The window's last day is said because calendar months end on different days: 6 months after
    31 August is 28 February, and a reader counting days would not find it (audit 36A). It is the day
    the decision used (:func:`.facts.earliest_window_end`; these lines have their end date recorded).
    An end dated before the line's start says so: the dates are read as recorded (docs/criteria.md).
    """
    last_day = iso_dates(earliest_window_end(lines, months)).astype(str)
    # No brackets: the text always sits inside a line's own, often inside another reason's (")))" read
    # badly); no commas or semicolons: I3 lists lines with ", ", I2 with "; ".
    text = ("recurrence " + iso_dates(lines["recurrence_date"]).astype(str) + f" past the {months}-month window"
            " from its end " + iso_dates(lines["end_date"]).astype(str) + " to " + last_day)
    # An end dated before the start is read as recorded (a finding too), but a reader should see why a
    # line that may be a typo away from qualifying does not (audit 39C).
    backwards = surely(lines["end_date"] < lines["start_date"]).to_numpy()
    text[backwards] = text[backwards] + (" and its end is dated before its start " + iso_dates(
        lines["start_date"][backwards]).astype(str) + ": one of the two dates is wrong")
    return text


def recurred_by_screening(f: Facts, lines: pd.DataFrame, months: int) -> pd.Series:
    """Per line of :func:`.facts.recurrence_by_screening`, why its recurrence is in the window
    although its date is not recorded: "by consent 2023-03-01 (recurrence date not recorded) and so
    within 6 months of its end 2022-12-01"; with the consent date blank, "by NMA-LD 2023-03-01
    (consent and recurrence dates not recorded: consent comes first) ..."; for a line that stopped on
    an end date not recorded, "... within 6 months of its start 2022-06-01 (end date not recorded: it
    ended after that)"; "" for any other line. No commas: I3 lists its lines with ", "."""
    out = np.full(len(lines), "", dtype=object)
    at = np.flatnonzero(is_yes(lines["recurrence_by_screening"]).to_numpy(dtype=bool))
    if len(at) == 0:  # the usual case: no date is spelt
        return pd.Series(out, index=lines.index, dtype=object)
    rows = lines.iloc[at]
    consent_known = f.patients["consent_date"].notna().to_numpy()[rows["pos"].to_numpy(dtype=np.int64)]

    def day(name: str) -> np.ndarray:  # both branches below are spelt for every row: blanks as ""
        return iso_dates(rows[name]).fillna("").to_numpy(dtype=object)

    by = np.where(consent_known, "by consent ", "by NMA-LD ").astype(object) + day("screened_by")
    blank = np.where(consent_known, " (recurrence date not recorded)",
                     " (consent and recurrence dates not recorded: consent comes first)").astype(object)
    end = np.where(end_missing(rows).to_numpy(), "its start " + day("start_date")
                   + " (end date not recorded: it ended after that)", "its end " + day("end_date"))
    out[at] = by + blank + f" and so within {counted(months, 'month')} of " + end
    return pd.Series(out, index=lines.index, dtype=object)


def without_end_date(lines: pd.DataFrame) -> pd.Series:
    """Per line without an end date that reads as on therapy (not :func:`.facts.end_missing`), why:
    "no end date: ongoing", or "stopped for progression without an end date" (its stop reason says it
    is not running; the progression is the recurrence). I2 and I3 say it the same way (audit 39A: I2
    said "ongoing" of a line that I3 called stopped for progression)."""
    stopped = is_yes(lines["stop_reason"] == "progression")
    return pd.Series("no end date: ongoing", index=lines.index, dtype=object).where(
        ~stopped, "stopped for progression without an end date")


def recurrence_in_window_reasons(f: Facts, lines: pd.DataFrame, months: int) -> pd.Series:
    """Per line whose recurrence is in the window (``recurrence_in_window`` yes), why, for I3's evidence:
    "recurrence 2024-06-17 within 6 months of its end 2024-04-25"; "recurrence 2024-03-01 on or before
    its end 2024-04-25 (on therapy)"; "recurrence on therapy (no end date: ongoing)" or "(stopped for
    progression without an end date)"; the :func:`recurred_by_screening` sentence for a recurrence date
    not recorded. A monitor can check the dates; "recurrence on therapy or within 6 months of its end"
    alone could not be checked (review 37B). No commas: I3 lists its lines with ", "."""
    recurrence, end = lines["recurrence_date"], lines["end_date"]
    when = "recurrence " + iso_dates(recurrence).astype(str)
    end_text, start_text = iso_dates(end).astype(str), iso_dates(lines["start_date"]).astype(str)
    stopped_undated = end_missing(lines)
    ongoing = end.isna() & ~stopped_undated
    text = (when + f" within {counted(months, 'month')} of its end " + end_text).astype(object)
    text = text.where(~surely(recurrence <= end), when + " on or before its end " + end_text + " (on therapy)")
    text = text.where(~stopped_undated, when + f" within {counted(months, 'month')} of its start " + start_text
                      + " (end date not recorded: it ended after that)")
    # No end date: ongoing, or stopped by the progression that is the recurrence (facts.end_missing).
    no_end = " on therapy (" + without_end_date(lines) + ")"
    text = text.where(~ongoing, when + no_end)
    text = text.where(recurrence.notna() | ~ongoing, "recurrence" + no_end)
    by_screening = recurred_by_screening(f, lines, months)
    return ("recurred " + by_screening).where(by_screening != "", text).astype(str)


def window_open_reasons(lines: pd.DataFrame, months: int, *, name_the_setting: bool = True) -> pd.Series:
    """Per line of :func:`recurrence_date_open`, why its recurrence window (``months``) is open, for
    evidence: "recurrence date not recorded: it qualifies if on or before 2023-07-31, 6 months after its
    end 2023-01-31" ("as adjuvant it qualifies ..." for a line of blank setting, unless not
    ``name_the_setting``: a sentence that says "if so" already); "end date not recorded although stopped (completed)"
    with "recurrence date not recorded" or "recurrence 2025-01-15 more than 6 months after its
    start 2024-01-01, so it qualifies if it ended on or after 2024-07-15" (or "start date not
    recorded"); or "recurrence 2024-01-15 before its start 2024-03-01,
    so one of the two is wrong"; "" for any other line (:class:`WindowCase`)."""
    recurrence = "recurrence " + iso_dates(lines["recurrence_date"])
    stopped = "end date not recorded although stopped (" + lines["stop_reason"].astype(str) + ")"
    return _by_case(window_cases(lines), {
        WindowCase.BEFORE_START: recurrence + " before its start " + iso_dates(lines["start_date"])
        + ", so one of the two is wrong",
        WindowCase.STOPPED_NO_RECURRENCE: stopped + ", recurrence date not recorded",
        # Without a start date there is no earliest end to measure from (review 22E).
        WindowCase.STOPPED_NO_START: stopped + ": " + recurrence + ", start date not recorded",
        # The day the end must reach, as a blank recurrence date names its cut-off (audit 36A).
        WindowCase.STOPPED: stopped + ": " + recurrence + f" more than {counted(months, 'month')} after its start "
        + iso_dates(lines["start_date"]) + ", so it qualifies if it ended on or after "
        + iso_dates(earliest_qualifying_end(lines["recurrence_date"], months)),
        # The day that decides it, as a line outside the window names it (audit 38A: the sentence named the
        # column but not the cut-off). Its end date is recorded: a line without one is another case.
        # A line of blank setting counts as metastatic anyway: the day decides it only as adjuvant (review 38C).
        WindowCase.NO_RECURRENCE: "recurrence date not recorded: "
        + pd.Series("as adjuvant it", index=lines.index).where(lines["setting"].isna() & name_the_setting, "it")
        + " qualifies if on or before " + iso_dates(earliest_window_end(lines, months)).astype(str)
        + f", {counted(months, 'month')} after its end " + iso_dates(lines["end_date"]).astype(str),
    }, lines.index)


def window_requests(lines: pd.DataFrame, line: pd.Series) -> pd.Series:
    """Per line of :func:`recurrence_date_open`, the fields that would decide its window (``line``:
    how requests name it, " (line 2)"): the recurrence date, the end date of a line that stopped
    on a date not recorded, or both dates of a recurrence before the start (and the end date, blank on a line
    that stopped); "" for any other line
    (:class:`WindowCase`). A line whose setting is blank has them asked for "(line 2, if adjuvant or
    neoadjuvant)": as a metastatic line its dates decide nothing (review 24)."""
    setting_blank = lines["setting"].isna().to_numpy()
    line = line.where(~setting_blank, line.str[:-1] + f", {IF_ADJUVANT})")
    recurrence = "therapies.recurrence_date" + line
    end = "therapies.end_date" + line
    # Put right, the two dates may still need the end date of a line that stopped on a day not recorded
    # (review 42: asks that did not suffice, found by tests/test_i2_asks_suffice.py).
    end_too = ("; " + end).where(end_missing(lines).to_numpy(), "")
    return _by_case(window_cases(lines), {
        WindowCase.BEFORE_START: recurrence + "; therapies.start_date" + line + end_too,
        WindowCase.STOPPED_NO_RECURRENCE: end + "; " + recurrence,
        WindowCase.STOPPED_NO_START: end,
        WindowCase.STOPPED: end,
        WindowCase.NO_RECURRENCE: recurrence,
        WindowCase.OTHER: recurrence,
    }, lines.index)


def line_requests(f: Facts, rows: np.ndarray, progression: np.ndarray, order: np.ndarray,
                  shared: np.ndarray | None = None) -> pa.Array:
    """Per patient, the blank fields of the selected lines that could decide, one format.

    ``rows`` selects uncertain lines; ``progression`` (per line) asks for their blank
    stop reason / best response too (lines that may be the most recent counted one);
    ``order`` (per line) asks for a blank line number, or for which came later of the lines
    sharing a number (where which line is the most recent is open); ``shared`` (per line):
    another line has its number. A line without a number or with a shared one is named by
    its agents too: ``(line 2 (ipilimumab))``, not ``(line 2)``.
    A field is named only when it is blank and its reading matters: the setting; the
    agents while no agent decides the class; the dates that decide a possibly-adjuvant
    anti-PD-(L)1 line's window (:func:`window_requests`: its recurrence date, the end date of a
    line that stopped on a date not recorded, both dates of a recurrence before the start); stop
    reason or best response while the other does not show progression already.
    """
    lines = f.lines[rows]  # only the selected lines are spelt out (a few of millions)
    line = " (line " + line_numbers(lines) + ")"
    shared_here = np.zeros(len(lines), dtype=bool) if shared is None else shared[rows]
    named = shared_here | lines["line"].isna().to_numpy()
    if named.any():
        quoted = text_series(quoted_in_request(line_names(lines))).set_axis(lines.index)  # a ";" would split fields
        line = line.where(~named, " (" + quoted + ")")
    # Both lines of a shared number say it: the request is the order of the number's lines, asked once.
    order_asked = ("therapies.line" + line).where(~shared_here, "therapies.line (line " + line_numbers(lines)
                                                  + ": which of its lines came later)")
    stop, best = lines["stop_reason"], lines["best_response"]
    # A line recorded as adjuvant counts only through its qualifying recurrence, which is its
    # progression: its stop reason and best response cannot change I2 and are not asked for.
    progress_open = lines["progressed"].isna().to_numpy() & progression[rows]
    pieces = [
        order_asked.where(order[rows], ""),
        ("therapies.setting" + line).where(lines["setting"].isna(), ""),
        agent_requests(f, rows).where(lines["pd1"].isna(), ""),
        window_requests(lines, line),
        ("therapies.stop_reason" + line).where(progress_open & stop.isna().to_numpy(), ""),
        ("therapies.best_response" + line).where(progress_open & best.isna().to_numpy(), ""),
    ]
    text = join_nonempty(pieces, "; ")
    keep = (text != "").to_numpy(dtype=bool)
    pos = lines["pos"].to_numpy()
    if not pd.DataFrame({"pos": pos, "line": lines["line"].to_numpy()})[keep].duplicated().any():
        return join_per_patient(pos[keep], text[keep].reset_index(drop=True), f.n, "; ")
    # Two lines of a patient share a number, so their requests read alike ("therapies.line (line 2)"):
    # each is asked once, in the same order.
    tokens = pd.DataFrame({"pos": np.tile(pos, len(pieces)), "row": np.tile(np.arange(len(lines)), len(pieces)),
                           "piece": np.repeat(np.arange(len(pieces)), len(lines)),
                           "text": np.concatenate([piece.to_numpy(dtype=object) for piece in pieces])})
    tokens = tokens[tokens["text"] != ""].sort_values(["row", "piece"], kind="stable")
    tokens = tokens.drop_duplicates(["pos", "text"])
    return join_per_patient(tokens["pos"].to_numpy(), tokens["text"].reset_index(drop=True), f.n, "; ")
