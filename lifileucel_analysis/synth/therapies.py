"""The therapies table: each patient's prior lines, laid out backwards from consent."""

from __future__ import annotations

import numpy as np

from .distributions import (
    ADJ_RECURRENCE_P, ADJUVANT, ADJUVANT_SETTING, BRAF_LINE_P, BRAF_MEK, COMPLETED, DURATION, FIRST_LINE_IO,
    GROUP, LATE, LATER_LINE, MET_LINES_P, METASTATIC_SETTING, MUTANT, NEOADJUVANT_SETTING, NOT_EVALUABLE,
    ON_THERAPY, ONGOING, P_ADJUVANT, P_ADJUVANT_BRAF_MEK, P_ADJUVANT_COMPLETED, P_ADJUVANT_RESPONSE_NE,
    P_ADJUVANT_UVEAL, P_ALTERNATIVE, P_ALTERNATIVE_BRAF_UNTREATED, P_BLANK_RECURRENCE, P_BLANK_RESPONSE,
    P_BLANK_SETTING, P_BLANK_STOP, P_BRAF_ONLY_LINE, P_MISSPELLED, P_NEOADJUVANT, P_NO_MET_LINE, P_PRIOR_TIL,
    P_TEBENTAFUSP_UVEAL, PRIOR_TIL, PROGRESSION, RESPONSE_ONGOING_P, RESPONSE_P, SPORADIC, STOP_EARLIER_P,
    STOP_LAST_P, TOXICITY, UVEAL, WITHIN_WINDOW,
)
from .sampling import BLANK, NO_DATE, Raw, blank_where, chance, lognormal, pick, pick_from, uniform_days, yes


REGIMENS: list[str] = list(dict.fromkeys([
    *ADJUVANT, *FIRST_LINE_IO, *LATER_LINE, *BRAF_MEK, *PRIOR_TIL, "tebentafusp", "dabrafenib+trametinib",
]))


def _misspell(regimen: str) -> str:
    """A typical transcription error: the first agent's last letter typed twice."""
    first, _, rest = regimen.partition("+")
    return first + first[-1] + ("+" + rest if rest else "")


AGENT_VOCAB: list[str] = REGIMENS + [_misspell(r) for r in REGIMENS]
GROUP_NAMES: list[str] = list(DURATION)
REGIMEN_GROUP = np.array([GROUP_NAMES.index(GROUP.get(r, "io")) for r in REGIMENS])


def plan_therapies(rng: np.random.Generator, p: Raw) -> Raw:
    """Per patient: adjuvant line and its recurrence, metastatic line count, BRAF/TIL positions."""
    n = len(p["consent_date"])
    uveal = p["melanoma_subtype"] == UVEAL
    braf_mutant = p["braf_v600"] == MUTANT
    adjuvant = chance(rng, n, np.where(uveal, P_ADJUVANT_UVEAL, P_ADJUVANT))
    recurrence = pick(rng, n, ADJ_RECURRENCE_P)
    p_none = np.where(~adjuvant, P_NO_MET_LINE["none"],
                      np.where(recurrence == LATE, P_NO_MET_LINE["late"], P_NO_MET_LINE["qualifying"]))
    n_met = np.where(chance(rng, n, p_none), 0, 1 + pick(rng, n, MET_LINES_P))
    braf_at = pick(rng, n, BRAF_LINE_P)  # 0 first, 1 second metastatic line, 2 never
    braf_first_single = chance(rng, n, P_BRAF_ONLY_LINE)
    braf_line = np.where(n_met >= 2, np.where(braf_at < 2, braf_at, BLANK),
                         np.where((n_met == 1) & braf_first_single, 0, BLANK))
    braf_line = np.where(braf_mutant, braf_line, BLANK)
    til = (n_met >= 2) & chance(rng, n, P_PRIOR_TIL)
    return {"adjuvant": adjuvant, "recurrence": recurrence, "n_met": n_met, "braf_line": braf_line,
            "til_line": np.where(til, n_met - 1, BLANK), "n_lines": adjuvant.astype(np.int64) + n_met,
            "uveal": uveal, "braf_mutant": braf_mutant}


def draw_therapies(rng: np.random.Generator, p: Raw, plan: Raw) -> Raw:
    """Lay out every line backwards from consent: last line ends shortly before consent."""
    n_lines = plan["n_lines"]
    pos = np.repeat(np.arange(len(n_lines)), n_lines)
    rows = len(pos)
    first_row = np.cumsum(n_lines) - n_lines
    within = np.arange(rows) - first_row[pos]
    is_adj = plan["adjuvant"][pos] & (within == 0)
    met_index = within - plan["adjuvant"][pos]
    is_last = within == n_lines[pos] - 1
    agents = _regimens(rng, plan, pos, is_adj, met_index)
    group = np.where(is_adj, GROUP_NAMES.index("adjuvant"), REGIMEN_GROUP[agents])
    stop, response = _stop_and_response(rng, rows, is_adj, is_last, plan["recurrence"][pos], group)
    duration = _durations(rng, group, plan["recurrence"][pos], is_adj, stop)
    rec_offset = _recurrence_offsets(rng, plan["recurrence"][pos], rows)
    gap_after = np.where(is_last, np.clip(np.round(lognormal(rng, 35.0, 0.6, rows)), 5, 200),
                         uniform_days(rng, 7, 60, rows)).astype(np.int64)
    gap_after = np.where(is_adj, rec_offset + uniform_days(rng, 14, 75, rows), gap_after)
    gap_after = np.where(stop == ONGOING, 0, gap_after)  # an ongoing line runs up to consent
    span = duration + gap_after
    cumulative = np.cumsum(span)
    after = cumulative[first_row + n_lines - 1][pos] - cumulative if rows else cumulative
    end = p["consent_date"][pos] - after - gap_after
    start = end - duration
    misspelled = chance(rng, rows, P_MISSPELLED)
    agents = np.where(misspelled, agents + len(REGIMENS), agents)
    setting = np.where(is_adj, np.where(chance(rng, rows, P_NEOADJUVANT), NEOADJUVANT_SETTING, ADJUVANT_SETTING),
                       METASTATIC_SETTING)
    return {
        "pos": pos,
        "line": within + 1,
        "setting": blank_where(setting, chance(rng, rows, P_BLANK_SETTING)),
        "agents": agents,
        "start_date": start,
        "end_date": np.where(stop == ONGOING, NO_DATE, end),
        "best_response": blank_where(response, chance(rng, rows, P_BLANK_RESPONSE)),
        "stop_reason": blank_where(stop, chance(rng, rows, P_BLANK_STOP) & (stop != ONGOING)),
        "recurrence_date": np.where(is_adj & ~chance(rng, rows, P_BLANK_RECURRENCE), end + rec_offset, NO_DATE),
    }


def _regimens(rng: np.random.Generator, plan: Raw, pos: np.ndarray, is_adj: np.ndarray,
              met_index: np.ndarray) -> np.ndarray:
    """Agents of each line, as indices into REGIMENS, by line position and patient plan."""
    rows = len(pos)
    braf_line, til_line = plan["braf_line"][pos], plan["til_line"][pos]
    io_rank = met_index - ((braf_line != BLANK) & (braf_line < met_index))
    first_io = pick_from(rng, rows, FIRST_LINE_IO, REGIMENS)
    later = pick_from(rng, rows, LATER_LINE, REGIMENS)
    targeted = pick_from(rng, rows, BRAF_MEK, REGIMENS)
    adjuvant = pick_from(rng, rows, ADJUVANT, REGIMENS)
    adjuvant_braf = chance(rng, rows, P_ADJUVANT_BRAF_MEK) & plan["braf_mutant"][pos]
    adjuvant = np.where(adjuvant_braf, REGIMENS.index("dabrafenib+trametinib"), adjuvant)
    cell = pick_from(rng, rows, PRIOR_TIL, REGIMENS)
    tebentafusp = plan["uveal"][pos] & chance(rng, rows, P_TEBENTAFUSP_UVEAL)
    first_io = np.where(tebentafusp, REGIMENS.index("tebentafusp"), first_io)
    return np.select(
        [is_adj, met_index == til_line, met_index == braf_line, io_rank == 0],
        [adjuvant, cell, targeted, first_io],
        later,
    )


def _stop_and_response(rng: np.random.Generator, rows: int, is_adj: np.ndarray, is_last: np.ndarray,
                       recurrence: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stop reason and best response codes (schema order) of each line."""
    stop = np.where(is_last, pick(rng, rows, STOP_LAST_P), pick(rng, rows, STOP_EARLIER_P))
    cell = group == GROUP_NAMES.index("cell")
    stop = np.where(cell & (stop == ONGOING), PROGRESSION, stop)  # a TIL infusion is never ongoing
    response = np.where(stop == ONGOING, pick(rng, rows, RESPONSE_ONGOING_P), pick(rng, rows, RESPONSE_P))
    # Adjuvant therapy stops at recurrence, or after a year (completed), or for toxicity.
    completed = chance(rng, rows, P_ADJUVANT_COMPLETED)
    adj_stop = np.where(recurrence == ON_THERAPY, PROGRESSION, np.where(completed, COMPLETED, TOXICITY))
    stop = np.where(is_adj, adj_stop, stop)
    # No measurable disease in the adjuvant setting: RECIST response is "ne" or left blank.
    adj_response = np.where(chance(rng, rows, P_ADJUVANT_RESPONSE_NE), NOT_EVALUABLE, BLANK)
    response = np.where(is_adj, adj_response, response)
    return stop, response


def _durations(rng: np.random.Generator, group: np.ndarray, recurrence: np.ndarray, is_adj: np.ndarray,
               stop: np.ndarray) -> np.ndarray:
    """Days on each line (at least 1): lognormal by regimen group; adjuvant by how it ended."""
    median = np.array([DURATION[g][0] for g in GROUP_NAMES])
    sigma = np.array([DURATION[g][1] for g in GROUP_NAMES])
    days = np.round(lognormal(rng, median[group], sigma[group], len(group)))
    adjuvant = np.select([recurrence == ON_THERAPY, stop == COMPLETED], [uniform_days(rng, 60, 330, len(group)),
                                                         uniform_days(rng, 335, 365, len(group))],
                         uniform_days(rng, 30, 300, len(group)))
    return np.maximum(np.where(is_adj, adjuvant, days), 1).astype(np.int64)


def _recurrence_offsets(rng: np.random.Generator, recurrence: np.ndarray, rows: int) -> np.ndarray:
    """Days from the end of adjuvant therapy to recurrence (negative: recurred on therapy)."""
    return np.select([recurrence == ON_THERAPY, recurrence == WITHIN_WINDOW],
                     [-uniform_days(rng, 0, 10, rows), uniform_days(rng, 14, 175, rows)],
                     uniform_days(rng, 200, 1000, rows))


def alternative_therapy(rng: np.random.Generator, p: Raw, plan: Raw) -> np.ndarray:
    """I8: an alternative exists mostly for BRAF-mutant patients never given a BRAF inhibitor."""
    n = len(plan["n_met"])
    untreated_braf = plan["braf_mutant"] & (plan["braf_line"] == BLANK)
    alternative = chance(rng, n, np.where(untreated_braf, P_ALTERNATIVE_BRAF_UNTREATED, P_ALTERNATIVE))
    return blank_where(yes(alternative), chance(rng, n, SPORADIC))
