"""I2's four parts and their sentences: the count, anti-PD-(L)1, progression and BRAF parts.

Each part is decided over the lines that surely / possibly count (``Facts.lines["counted"]``)
and says why in words; :func:`lifileucel_analysis.engine.criteria_inclusion.i2_prior_lines`
combines them, takes the outcome from every reading of the blanks
(:mod:`.prior_lines`), re-words the evidence where the readings decide more than the parts
and ends an unknown by naming the fields that would decide it (:mod:`.prior_line_readings`).
See docs/criteria.md, "I2 exactly".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.messages import counted
from .common_rules import (F, N, P, U, agent_requests, column, line_labels, line_names, line_numbers,
                           recurred_by_screening, recurrence_in_window_reasons, recurrence_past_window,
                           unclassified_lines, unclassified_reasons, window_open_reasons, without_end_date)
from .evidence import TEXT, Part, Rule, decide, enclosed_if_any, iso_dates, join_nonempty, join_per_patient
from .facts import Facts, end_missing
from .nullable import is_no, is_yes, surely, yes_or_blank
from .parameters import CriteriaParams
from .prior_lines import SharedNumbers, braf_lines

__all__ = ["anti_pd1_part", "braf_part", "count_part", "progression_part", "said_of_line", "unnumbered_open",
           "why_not_counted"]


def count_part(f: Facts, p: CriteriaParams, sure: np.ndarray, maybe: np.ndarray, left_out: pa.Array) -> Part:
    """I2's count part: the counted prior lines within [min_prior_lines, max_prior_lines].

    Parameters
    ----------
    f, p : Facts, CriteriaParams
    sure : numpy.ndarray of bool
        Per therapy line (``f.lines``): it counts under every reading of its blanks and
        unclassified agents (a metastatic line; an adjuvant line whose recurrence surely fits).
    maybe : numpy.ndarray of bool
        Per therapy line: it counts under some reading (``sure`` lines included).
    left_out : pyarrow.Array
        Per patient, the clause naming the lines not counted, for a pass ("" where none).

    Returns
    -------
    Part
        Pass where every reading's count is within the limits (the ``sure`` count at least the
        minimum, the ``maybe`` count at most the maximum); fail where every reading counts
        fewer than the minimum or more than the maximum; otherwise unknown, naming the lines
        whose counting is open and what would decide them.
    """
    n_sure, n_maybe = f.count(sure), f.count(maybe)
    # A failed limit quotes the count it is sure of: "at least 3 ... > 2" while lines may or may not count.
    ranged = n_sure != n_maybe
    values = {"sure": pd.Series(n_sure), "maybe": pd.Series(n_maybe), "lo": p.min_prior_lines,
              "hi": p.max_prior_lines, "unclear": _why_count_unclear(f, p, maybe & ~sure), "left_out": left_out,
              "at_most": pd.Series(np.where(ranged, "at most ", "")),
              "at_least": pd.Series(np.where(ranged, "at least ", "")),
              # "1 counted prior line", "0 counted prior lines" (audit 40A: "line(s)" read as a template).
              "sure_lines": _lines_word(n_sure), "maybe_lines": _lines_word(n_maybe)}
    within = (n_sure >= p.min_prior_lines) & (n_maybe <= p.max_prior_lines)
    too_many = n_sure > p.max_prior_lines
    # Too many: which lines were counted, an adjuvant one marked (audit 26A: "5 counted prior lines > 4"
    # beside four metastatic lines on file did not say that I3 had brought in the fifth).
    values["counted"] = _counted_lines(f, sure & too_many[f.lines["pos"].to_numpy()])
    values["either_way"] = _counted_either_way(f, p, sure & f.lines["setting"].isna().to_numpy())
    return decide(f.n, [
        # No therapies row at all: said so, so a coordinator can check that none was left out of the data
        # (audit 40B: "0 counted prior lines" read like lines on file that did not count).
        Rule((f.count(np.ones(len(f.lines), dtype=bool)) == 0) & (n_maybe < p.min_prior_lines), F,
             "no prior line of therapy recorded: 0 counted prior lines < {lo}"),
        Rule(n_maybe < p.min_prior_lines, F, "{at_most}{maybe} counted prior {maybe_lines} < {lo}{left_out}"),
        Rule(too_many, F, "{at_least}{sure} counted prior lines > {hi}: {counted}"),
        # A pass names the lines left out too, as a fail does (audit 22F: "4 counted" beside 5 lines on file).
        Rule(within & (n_sure == n_maybe), P,
             "{sure} counted prior {sure_lines}, within {lo}-{hi}{either_way}{left_out}"),
        Rule(within, P, "{sure} to {maybe} counted prior lines, within {lo}-{hi} either way ({unclear}){either_way}"
                        "{left_out}"),
        Rule(True, U, "{sure} to {maybe} counted prior lines ({unclear})"),
    ], values)


def _lines_word(counts: np.ndarray) -> pd.Series:
    """Per patient, "line" for a count of one, else "lines"."""
    return pd.Series(np.where(np.asarray(counts) == 1, "line", "lines"))


def _counted_lines(f: Facts, rows: np.ndarray) -> pa.Array:
    """Per patient, the selected lines: ``line 1 (pembrolizumab, adjuvant counted under I3), line 2 (nivolumab)``."""
    lines = f.lines[rows]
    setting = lines["setting"].astype(object).fillna("").to_numpy(dtype=object)  # a blank setting: not marked
    aside = np.where(np.isin(setting, ["adjuvant", "neoadjuvant"]), ", " + setting + " counted under I3", "")
    text = ("line " + line_numbers(lines).to_numpy(dtype=object) + " ("
            + lines["agents"].astype(object).fillna("blank agents").astype(str).to_numpy(dtype=object) + aside + ")")
    return join_per_patient(lines["pos"].to_numpy(), pd.Series(text, dtype=object), f.n)


def _counted_either_way(f: Facts, p: CriteriaParams, rows: np.ndarray) -> pa.Array:
    """Per patient, " (line 2 (nivolumab) counted either way: setting not recorded, and as adjuvant it
    qualifies under I3: recurrence 2024-06-17 within 6 months of its end 2024-04-25)" for the selected
    lines (of blank setting, counted in every reading), or "". A pass over such a line said nothing of
    the blank (audit 36A, review 37B); "it recurred in its window" alone read as a recurrence date on
    file where the recurrence was inferred from the consent (audit 38A)."""
    lines = f.lines[rows]
    why = recurrence_in_window_reasons(f, lines, p.adjuvant_recurrence_months)
    text = (line_names(lines) + " counted either way: setting not recorded, and as adjuvant it qualifies under I3: "
            + why)
    listed = join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n, "; ")
    return enclosed_if_any(listed, " (", ")")


def why_not_counted(f: Facts, p: CriteriaParams, rows: np.ndarray) -> pa.Array:
    """Per patient, "; not counted: line 1 (pembrolizumab): adjuvant, recurrence ... after its end ..." or "".

    The adjuvant/neoadjuvant lines that surely do not count (I3), said where I2 fails for
    want of them: a medical monitor reads why a line the site listed was left out.
    """
    lines = f.lines[rows]
    setting = lines["setting"].astype(str)
    window = recurrence_past_window(lines, p.adjuvant_recurrence_months)
    reason = (setting + ", no anti-PD-(L)1").where(is_no(lines["pd1"]), setting + ", " + window)
    text = line_names(lines) + ": " + reason.astype(str)
    listed = join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n, "; ")
    return enclosed_if_any(listed, "; not counted: ")


def _why_count_unclear(f: Facts, p: CriteriaParams, rows: np.ndarray) -> pa.Array:
    """Per patient, each line that may or may not count and the blank that leaves it open.

    "line 2 (pembrolizumab): recurrence date not recorded: it qualifies if on or before 2023-07-31, 6
    months after its end 2023-01-31"; "line 1 (pembrolizumab): setting not recorded: as adjuvant it
    would not count (recurrence ... past the 6-month window from its end ... to ...)"; a
    line can have several reasons.
    """
    lines = f.lines[rows]
    months = p.adjuvant_recurrence_months
    # As metastatic a line of blank setting counts; as adjuvant, what decides it (review 38C: "setting not
    # recorded" alone did not say that its recurrence was past the window).
    setting_blank = lines["setting"].isna()
    as_adjuvant = pd.Series("", index=lines.index, dtype=object)
    as_adjuvant = as_adjuvant.where(~(setting_blank & is_no(lines["pd1"])).to_numpy(),
                                    ": as adjuvant it would not count (no anti-PD-(L)1)")
    past = (setting_blank & is_yes(lines["pd1"]) & is_no(lines["recurrence_in_window"])).to_numpy()
    if past.any():
        as_adjuvant[past] = (": as adjuvant it would not count (" + recurrence_past_window(lines[past], months)
                             + ")").to_numpy()
    pieces = [
        ("setting not recorded" + as_adjuvant).where(setting_blank, ""),
        unclassified_reasons(lines).where(lines["pd1"].isna(), ""),
        window_open_reasons(lines, months),
    ]
    text = line_names(lines) + ": " + join_nonempty(pieces, ", ")
    return join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n, "; ")


def anti_pd1_part(f: Facts, p: CriteriaParams, sure: np.ndarray, maybe: np.ndarray, left_out: pa.Array,
                  reasons_said: np.ndarray) -> Part:
    """I2's anti-PD-(L)1 part: at least one counted line with an anti-PD-1 or anti-PD-L1 agent.

    ``sure``, ``maybe`` and ``left_out`` as in :func:`count_part`; ``reasons_said``: per patient, whether
    the sentence already says why each line that may not count is open (the count part is open and
    said first), so that this part says "(as above)" instead of repeating it. Pass where a line that surely
    counts surely has such an agent; fail where no line that may count may have one; otherwise
    unknown, saying whether the line's counting (and what leaves it open) or its unclassified
    agents leave it open.
    """
    pd1 = f.lines["pd1"]
    hit = sure & is_yes(pd1).to_numpy()
    possible = maybe & yes_or_blank(pd1).to_numpy()
    # An anti-PD-(L)1 line that may not count is not "unclear exposure": it is a count question.
    known = is_yes(pd1).to_numpy()
    may_not_count, unclassified = f.count(possible & known) > 0, f.count(possible & ~known) > 0
    none = f.count(possible) == 0
    # A fail names the lines it read, as a pass does (audit 34B: "no anti-PD-(L)1 in any counted line"
    # beside line 1 (ipilimumab) left a monitor to open the therapies table); only the failing patients'.
    read = maybe & none[f.lines["pos"].to_numpy()]
    # {hits} marks an adjuvant line "adjuvant counted under I3" (audit 33: a pass resting on an adjuvant
    # line read like one on a metastatic line).
    return decide(f.n, [
        Rule(f.count(hit) > 0, P, "anti-PD-(L)1 in {hits}"),
        Rule(f.count(read) > 0, F, "no anti-PD-(L)1 in any counted line: {read}{left_out}"),
        Rule(none, F, "no anti-PD-(L)1 in any counted line{left_out}"),
        # "only in" would be false while another line's agents may be anti-PD-(L)1 too.
        # {unclassified}: why each open line's class is open ("'x' not in the drug dictionary (line 2)").
        # {left_out}: the adjuvant lines that surely do not count, with why (review 37B: a monitor asked why
        # an adjuvant pembrolizumab line on file did not settle it).
        # ({why}): the blank that leaves each such line open, with the day that decides a recurrence date
        # (audit 38A: the sentence named the column but not the cut-off).
        Rule(may_not_count & unclassified, U, "anti-PD-(L)1 in {uncounted}, which may not count ({why}); "
                                              "{unclassified}{left_out}"),
        Rule(may_not_count, U, "anti-PD-(L)1 only in {uncounted}, which may not count ({why}){left_out}"),
        Rule(True, U, "anti-PD-(L)1 exposure unclear: {unclassified}{left_out}"),
    ], {"hits": _counted_lines(f, hit), "uncounted": line_labels(f, possible & known & ~hit),
        "why": _unless_said(_why_count_unclear(f, p, possible & known & ~hit), reasons_said),
        "unclassified": unclassified_lines(f, possible & ~known), "left_out": left_out, "read": line_labels(f, read)})


def _unless_said(reasons: pa.Array, said: np.ndarray) -> pa.Array:
    """``reasons``, or "as above" where ``said`` (the sentence gave them already)."""
    return pc.if_else(pa.array(said), pa.scalar("as above", TEXT), reasons.cast(TEXT))


def _most_recent(f: Facts, maybe: np.ndarray) -> pd.DataFrame:
    """The possibly-counted line with the highest line number, one row per patient position."""
    rows = np.flatnonzero(maybe)
    pos = f.lines["pos"].to_numpy()[rows]
    line = f.lines["line"].to_numpy(dtype=np.int64, na_value=-1)[rows]
    highest = np.full(f.n, -1, dtype=np.int64)
    np.maximum.at(highest, pos, line)
    top = line == highest[pos]
    last = np.full(f.n, -1, dtype=np.int64)
    np.maximum.at(last, pos[top], rows[top])  # a repeated line number: the later row, as a stable sort keeps
    has = np.flatnonzero(last >= 0)
    columns = ["line", "setting", "stop_reason", "best_response", "agents", "recurrence_date", "counted",
               "adjuvant", "progressed", "start_date", "end_date", "screened_by", "recurrence_by_screening", "pos"]
    return f.lines[columns].iloc[last[has]].set_axis(has).reindex(pd.RangeIndex(f.n))


STOP_REASON_WORDS: dict[str, str] = {
    "progression": "stopped for progression", "toxicity": "stopped for toxicity", "completed": "completed",
    "ongoing": "ongoing", "other": "stopped for another reason",
}
"""A line's ``stop_reason`` as the evidence says it (every code of the contract)."""


def said_of_line(stop: pd.Series, response: pd.Series) -> pd.Series:
    """What a line's stop reason and best response say, naming only what is recorded."""
    # "stopped for completed" or "for ongoing" reads oddly (audit, session 20): say what the code means.
    stop_text = stop.astype(str).map(STOP_REASON_WORDS).where(stop.notna(), "")
    response_text = ("best response " + response.astype(str).str.upper()).where(response.notna(), "")
    return join_nonempty([stop_text, response_text], ", ")


def _record(said: pd.Series, unsaid: pd.Series, stop: pd.Series, response: pd.Series) -> pd.Series:
    """What is recorded and what is not: "stopped for completed; best response not recorded"."""
    blank = (stop.isna() | response.isna()).to_numpy()
    return join_nonempty([said, (unsaid + " not recorded").where(blank, "")], "; ")


def _unsaid(stop: pd.Series, response: pd.Series) -> pd.Series:
    """The blank ones of stop reason / best response, as "stop reason, best response"."""
    names = np.where(stop.isna() & response.isna(), "stop reason and best response",
                     np.where(stop.isna(), "stop reason", "best response"))
    return pd.Series(names, index=stop.index)


def unnumbered_open(f: Facts, maybe: np.ndarray) -> np.ndarray:
    """Per line: its blank line number leaves open which counted line is the most recent (the
    patient has another line that may count)."""
    several = (f.count(maybe) >= 2)[f.lines["pos"].to_numpy()]
    return f.lines["line"].isna().to_numpy() & maybe & several


def _recurred_when(m: pd.DataFrame, months: int) -> pd.Series:
    """How a counted adjuvant line's recorded recurrence fits the window, for a pass: "on therapy
    (ended 2024-08-31)", "within 6 months of its end 2024-03-01", "on therapy (no end date: ongoing)"
    (or "(stopped for progression without an end date)", as I3 says it) or, its end missing, "within
    6 months of its start 2024-01-01 (end date not recorded)"."""
    # Only the patients whose most recent line is adjuvant with a recurrence date (a few) are spelt out.
    at = np.flatnonzero((is_yes(m["adjuvant"]) & m["recurrence_date"].notna()).to_numpy())
    rows = m.iloc[at]

    def day(column: str) -> pd.Series:
        return iso_dates(rows[column])

    end, recurrence = rows["end_date"], rows["recurrence_date"]
    missing = end_missing(rows).to_numpy()
    text = np.select(
        [end.isna().to_numpy() & ~missing, missing, surely(recurrence <= end).to_numpy()],
        [("on therapy (" + without_end_date(rows) + ")").to_numpy(),
         (f"within {counted(months, 'month')} of its start " + day("start_date") + " (end date not recorded)"
          ).to_numpy(),
         ("on therapy (ended " + day("end_date") + ")").to_numpy()],
        (f"within {counted(months, 'month')} of its end " + day("end_date")).to_numpy())
    out = np.full(len(m), "", dtype=object)
    out[at] = text
    return pd.Series(out, index=m.index, dtype=object)


def _without_end_date_of_adjuvant(m: pd.DataFrame) -> pd.Series:
    """:func:`.common_rules.without_end_date` of the patients whose most recent counted line is adjuvant
    (the few its rule speaks for), "" for the rest: spelt for those rows only (review 39R)."""
    at = np.flatnonzero(is_yes(m["adjuvant"]).to_numpy())
    out = np.full(len(m), "", dtype=object)
    out[at] = without_end_date(m.iloc[at]).to_numpy(dtype=object)
    return pd.Series(out, index=m.index, dtype=object)


def progression_part(f: Facts, p: CriteriaParams, maybe: np.ndarray, unnumbered: np.ndarray,
                     shared: SharedNumbers) -> Part:
    """The most recent counted line shows progression; ``unnumbered``: :func:`unnumbered_open`;
    ``shared``: lines that share a number (:func:`.prior_lines.shared_numbers`)."""
    m = _most_recent(f, maybe)
    stop, response = m["stop_reason"], m["best_response"]
    said, unsaid = said_of_line(stop, response), _unsaid(stop, response)
    # A blank agents cell reads "blank agents", as everywhere else (audit 40B: "line 2 (blank)" read as a
    # blank line number); a patient without such a line (``pos`` blank) has no sentence that names it.
    agents = m["agents"].astype(object).where(m["agents"].notna() | m["pos"].isna(), "blank agents")
    values = {"line": line_numbers(m), "setting": m["setting"], "agents": agents,
              "recurrence": m["recurrence_date"], "said": said, "unsaid": unsaid,
              "record": _record(said, unsaid, stop, response), "unnumbered": line_labels(f, unnumbered),
              "tied": line_labels(f, shared.open), "top": line_labels(f, shared.top),
              "when": _recurred_when(m, p.adjuvant_recurrence_months),
              "by_screening": recurred_by_screening(f, m, p.adjuvant_recurrence_months),
              "no_end": _without_end_date_of_adjuvant(m)}
    tied, top = f.count(shared.open) > 0, f.count(shared.top) > 0
    # The line named as the most recent is the only one of its number that may count (review 40C: of two
    # lines sharing a number, the later file row was called the most recent, which no record says).
    number = f.lines["line"].to_numpy(dtype=np.float64, na_value=np.nan)
    top_number = m["line"].to_numpy(dtype=np.float64, na_value=np.nan)[f.lines["pos"].to_numpy()]
    alone = f.count(maybe & (number == top_number)) == 1
    return decide(f.n, [
        Rule(f.count(maybe) == 0, N, "no counted line"),
        Rule((f.count(unnumbered) > 0) & tied, U, "most recent counted line unclear: {unnumbered} may be the most "
             "recent (its place among the lines is not recorded); {tied} have the same line number, and which came "
             "later is not recorded", ""),
        Rule(f.count(unnumbered) > 0, U, "most recent counted line unclear: {unnumbered} may be the most recent "
             "(its place among the lines is not recorded)", ""),
        Rule(tied, U, "most recent counted line unclear: {tied} have the same line number, and which came later is "
             "not recorded", ""),
        # Lines of one number, each counted, that agree: the most recent is one of them, either way.
        Rule(top & (f.count(shared.top_ok) > 0), P, "most recent counted line: one of {top} (same line number), each of "
             "which shows progression, intolerance, non-response or a qualifying recurrence"),
        Rule(top, F, "most recent counted line: one of {top} (same line number), none of which shows progression, "
             "intolerance, non-response or a qualifying recurrence"),
        # A blank setting: as metastatic the line counts and is the most recent, so its record is at stake
        # (audit 40B: "whether line 2 counts is unclear" alone hid a completed, CR line that would fail I2).
        # As adjuvant its recurrence would be its progression, so no record is said of an adjuvant line.
        Rule(m["counted"].isna() & m["setting"].isna() & alone, U, "whether line {line} ({agents}) counts is "
             "unclear; as a metastatic line it would be the most recent counted line ({record})", ""),
        Rule(m["counted"].isna() & alone, U, "whether line {line} ({agents}) counts is unclear", ""),
        Rule(m["counted"].isna(), U, "whether line {line} counts is unclear", ""),  # its lines, named below
        # Counted either way: as adjuvant, its recurrence is its progression; as metastatic, its own record.
        Rule(m["setting"].isna() & ~is_yes(m["progressed"]), U, "most recent counted line {line} ({agents}): "
             "setting not recorded (as adjuvant/neoadjuvant its recurrence shows progression; {record})", ""),
        # The end date and the window, so a monitor can check the qualifying recurrence (audit 22F).
        Rule(is_yes(m["adjuvant"]) & m["recurrence_date"].notna(), P,
             "line {line} ({setting}) recurred {recurrence}, {when}"),
        # Counted without a recurrence date after its end: the recurrence came by screening (audit 31A).
        Rule(is_yes(m["adjuvant"]) & is_yes(m["recurrence_by_screening"]), P,
             "line {line} ({setting}) recurred {by_screening}"),
        # Counted without a recurrence date: its end date is blank (still on therapy), so the
        # recurrence the patient is screened for came on therapy; the evidence says so.
        Rule(is_yes(m["adjuvant"]), P, "line {line} ({setting}) recurred on therapy ({no_end}; "
                                       "recurrence date not recorded)"),
        Rule(is_yes(m["progressed"]), P, "most recent counted line {line} ({agents}): {said}"),
        Rule(m["progressed"].isna() & (m["stop_reason"].notna() | m["best_response"].notna()), U,
             "most recent counted line {line} ({agents}): {said}; {unsaid} not recorded", ""),
        Rule(m["progressed"].isna(), U, "most recent counted line {line} ({agents}): {unsaid} not recorded", ""),
        Rule(True, F, "most recent counted line {line} ({agents}): no progression, intolerance or "
                      "non-response ({said})"),
    ], values)


def braf_part(f: Facts, p: CriteriaParams, asked: np.ndarray) -> Part:
    """The BRAF part; ``asked``: lines whose agents I2 asks for anyway (not asked twice)."""
    if not p.require_braf_inhibitor_if_v600:
        return decide(f.n, [Rule(True, N, "BRAF requirement off")], {})
    braf = f.lines["braf"]
    had, may_have = braf_lines(f)
    open_lines = braf.isna().to_numpy()
    v600 = column(f, "braf_v600")
    # Classifying an agent decides it as well as the V600 status does (audit, session 15: it
    # asked for a bare "therapies.agents").
    to_ask = open_lines & ~asked
    asks = join_per_patient(f.lines["pos"].to_numpy()[to_ask], agent_requests(f, to_ask).reset_index(drop=True),
                            f.n, "; ")
    # The V600 status and the agents to classify; only the status where I2 asks for the agents anyway.
    v600_asks = pc.if_else(pc.equal(asks, ""), pa.scalar("patients.braf_v600", TEXT),
                           pc.binary_join_element_wise(pa.scalar("patients.braf_v600", TEXT), asks,
                                                       pa.scalar("; ", TEXT)))
    # The BRAF lines named, whether I2 counts them or not (audit 28D: an adjuvant BRAF line listed as
    # "not counted" beside a bare "prior BRAF inhibitor" read as a contradiction).
    # A MEK inhibitor alone is not "a BRAF inhibitor +/- MEK inhibitor": a fail names such lines, which a
    # coordinator would otherwise read as the requirement met (audit 39B).
    mek_only = is_yes(f.lines["mek"]).to_numpy() & is_no(braf).to_numpy()
    values = {"unclassified": unclassified_lines(f, open_lines), "asks": asks, "v600_asks": v600_asks,
              "braf_lines": line_labels(f, is_yes(braf).to_numpy()),
              "mek_only": enclosed_if_any(line_labels(f, mek_only), " (a MEK inhibitor without one does not count: ",
                                          ")")}
    return decide(f.n, [
        Rule(v600 == "wildtype", P, "BRAF wild-type"),
        Rule(had, P, "prior BRAF inhibitor (any line counts for it): {braf_lines}"),
        Rule((v600 == "mutant") & ~may_have, F, "BRAF V600 mutant without a prior BRAF inhibitor{mek_only}"),
        Rule(v600.isna() & ~may_have, U, "BRAF V600 status not recorded", "patients.braf_v600"),
        Rule(v600.isna(), U, "BRAF V600 status not recorded, BRAF inhibitor exposure unclear: {unclassified}",
             "{v600_asks}"),
        Rule(True, U, "BRAF inhibitor exposure unclear: {unclassified}", "{asks}"),
    ], values)
