"""I2's evidence where the readings of blank lines decide: the sentence of a patient who passes or
fails whichever way the blanks are read, and the fields that would decide an unknown.

:func:`lifileucel_analysis.engine.criteria_inclusion.i2_prior_lines` decides I2 over every
reading of the uncertain lines (:mod:`.prior_lines`); the parts' own sentences
(:mod:`.prior_line_evidence`) stand where the readings decide no more than the parts.
See docs/criteria.md, "I2 exactly".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.messages import counted
from .common_rules import F, N, P, U, line_labels, line_names
from .evidence import CLASSIFY_AGENT, TEXT, Part, Text, combine, iso_dates, join_nonempty, join_per_patient, join_texts
from .facts import Facts
from .outcome import CODE
from .parameters import CriteriaParams
from .prior_line_evidence import said_of_line

__all__ = ["failing_ways", "latest_candidates", "naming_what_decides", "reading_evidence"]


def naming_what_decides(evidence: Text, needs: Text) -> Text:
    """Unknown I2 ends by naming the blank fields that would decide it (spec section 2).

    The parts' sentences say why I2 is open ("line 1 ..., which may not count"), but one
    part's sentence can stand for another part's blank (a recurrence date, another line's
    agents), so the fields are named once, at the end, as the worklist asks for them.
    """
    rows = np.flatnonzero(needs.nonempty())
    if not len(rows):
        return evidence
    # The worklist's "classify agent 'x'" is an action; in the sentence it is what would decide (audit 33:
    # "would be decided by classify agent ...").
    fields = pc.replace_substring(needs.take(rows).cast(TEXT), f"{CLASSIFY_AGENT} '", "the class of agent '")
    said = pc.binary_join_element_wise(evidence.take(rows).cast(TEXT), fields,
                                       pa.scalar("; would be decided by ", TEXT))
    return evidence.with_sentences(rows, said)


def failing_ways(p: CriteriaParams, fail_routes: dict[str, np.ndarray], rows: np.ndarray) -> pa.Array:
    """Per patient of ``rows`` (none of whose readings passes), the ways its readings fail, joined by
    "or" (:attr:`.prior_lines.Readings.fail_routes`): every reading fails in at least one of them."""
    too_few = ("no counted prior line" if p.min_prior_lines <= 1
               else f"fewer than {p.min_prior_lines} counted prior lines")
    names = {"too_few": too_few, "too_many": f"more than {p.max_prior_lines} counted prior lines",
             "no_pd1": "no counted anti-PD-(L)1 line",
             "latest_bad": "a most recent counted line without progression, intolerance, non-response or a "
                           "qualifying recurrence",
             "braf": "BRAF V600 mutant without a prior BRAF inhibitor"}
    pieces = [pd.Series(np.where(fail_routes[key][rows], text, ""), dtype=object) for key, text in names.items()]
    return pa.array(join_nonempty(pieces, " or ").to_numpy(dtype=object), type=TEXT)


def latest_candidates(f: Facts, p: CriteriaParams, latest: np.ndarray) -> pa.Array:
    """Per patient, every line that may be the most recent counted one and what it records:
    "line 2 (ipilimumab): setting not recorded, stopped for progression, best response PD"
    (``latest``: :func:`.prior_lines.may_be_latest`)."""
    lines = f.lines[latest]
    setting = lines["setting"].astype(str).where(lines["setting"].notna(), "setting not recorded")
    recurrence = ("recurrence " + iso_dates(lines["recurrence_date"])).where(
        lines["recurrence_date"].notna(), "")
    # An adjuvant line that may not count is the most recent only where it counts, that is where it
    # recurred in the window: its recurrence is then its progression (spec, I2 and I3).
    within = counted(p.adjuvant_recurrence_months, "month")
    only_if = pd.Series(f"counts only if it recurred on therapy or within {within}, which is then its progression",
                        index=lines.index).where(
        lines["adjuvant"].to_numpy() & lines["counted"].isna().to_numpy(), "")
    said = said_of_line(lines["stop_reason"], lines["best_response"])
    text = line_names(lines) + ": " + join_nonempty([setting, said, recurrence, only_if], ", ")
    return join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n, "; ")


def _passing_parts(f: Facts, p: CriteriaParams, parts: Sequence[Part], latest: np.ndarray,
                   rows: np.ndarray) -> pa.Array:
    """For ``rows`` (every reading passes), each part's sentence, and where the progression part alone is
    open, every line that may be the most recent counted one with what it records.

    Built for ``rows`` alone (a few patients): the candidate lines of every patient cost seconds
    per million (review 22E)."""
    if not len(rows):
        return pa.array([], type=TEXT)
    count, pd1, progression, braf = parts
    mine = np.zeros(f.n, dtype=bool)
    mine[rows] = True
    candidates = pc.binary_join_element_wise(
        pa.scalar("the most recent counted line shows progression, intolerance, non-response or a qualifying "
                  "recurrence whichever line it is: ", TEXT),
        latest_candidates(f, p, latest & mine[f.lines["pos"].to_numpy()]).cast(TEXT).take(rows), pa.scalar("", TEXT))

    def of_rows(text: Text) -> Text:  # the same sentences, for ``rows`` only
        return Text(text.pool, text.index[rows])

    steps = Text(candidates, np.arange(len(rows))).where(progression.codes[rows] == CODE[U])
    said = join_texts([of_rows(count.evidence), of_rows(pd1.evidence),
                       of_rows(progression.evidence.where(progression.codes != CODE[U])), steps,
                       of_rows(braf.evidence.where(braf.codes != CODE[N]))])
    return said.materialize().cast(TEXT)


def reading_evidence(f: Facts, p: CriteriaParams, parts: Sequence[Part], codes: np.ndarray, uncertain: np.ndarray,
                     fail_routes: dict[str, np.ndarray], latest: np.ndarray) -> Text:
    """The parts' evidence, said plainly where the readings of blank lines decide more than the parts.

    ``parts``: the count, anti-PD-(L)1, progression and BRAF parts; ``fail_routes``: how readings fail
    (:attr:`.prior_lines.Readings.fail_routes`); ``latest``: lines that may be the most recent counted
    one (:func:`.prior_lines.may_be_latest`).
    """
    combined = combine(parts)
    changed = codes != combined.codes
    passed, failed = np.flatnonzero(changed & (codes == CODE[P])), np.flatnonzero(changed & (codes == CODE[F]))
    if not len(passed) and not len(failed):
        return combined.evidence
    unclear = line_labels(f, uncertain).cast(TEXT)

    def said(lead: str, rows: np.ndarray, detail: list[pa.Array]) -> pa.Array:
        pieces = [pa.scalar(lead, TEXT), unclear.take(rows), pa.scalar(" are read", TEXT), *detail]
        return pc.binary_join_element_wise(*pieces, pa.scalar("", TEXT))

    # A pass says what every reading has (audit, session 21: it gave no values); a fail says how every
    # reading fails, then the parts' open questions.
    passes = [pa.scalar(": ", TEXT), _passing_parts(f, p, parts, latest, passed)]
    fails = [pa.scalar(": each reading has ", TEXT), failing_ways(p, fail_routes, failed),
             pa.scalar(" (part by part: ", TEXT), combined.evidence.take(failed).cast(TEXT), pa.scalar(")", TEXT)]
    # Only the few patients whose readings decide differently get a new sentence.
    return combined.evidence.with_sentences(np.concatenate([passed, failed]), pa.concat_arrays([
        said("passes whichever way the blanks of ", passed, passes),
        said("fails whichever way the blanks of ", failed, fails)]))
