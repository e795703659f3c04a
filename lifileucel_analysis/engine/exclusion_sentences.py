"""Sentences the exclusion criteria spell for the few rows they concern: E1's cell therapy lines, E2's
blank toxicity cells, E5's brain metastases as recorded, E11's pregnancy cells.

Each criterion is still defined in one place, :mod:`.criteria_exclusion`; these helpers only put what its
rules say into words, for the rows a rule names (so a million patients do not pay for a few sentences).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..contract.messages import counted
from .common_rules import line_names
from .evidence import days_from, iso_dates, join_nonempty, join_per_patient, text_series
from .facts import Facts, consent_or_nmald, on_lines
from .nullable import is_no, is_yes, possibly, surely

__all__ = ["brain_metastases_state", "cell_therapy_lines", "pregnancy_cells_said", "stable_since_needed",
           "toxicity_blank_cells"]


def cell_therapy_lines(f: Facts, rows: np.ndarray) -> pa.Array:
    """Per patient, the cell therapy lines of ``rows``: "line 2 (lifileucel)", and for one that starts after
    consent, "line 2 (lifileucel) (started 2025-07-01, after consent 2025-06-01: the program's own infusion
    entered as a prior line? see findings)" (consent blank: "after NMA-LD 2025-06-20 (consent not recorded)",
    since consent comes first).

    The line still fails E1 as recorded (docs/criteria.md, audit 22A), but a monitor reading the outcome
    alone should see why it may be the program's own infusion (audit 40B: only findings.csv said so).
    """
    lines = f.lines[rows]
    consent, nmald = on_lines(f.patients["consent_date"], lines), on_lines(f.patients["lymphodepletion_date"], lines)
    # With consent blank, a start after NMA-LD is after consent too: the bound its finding uses.
    bound = on_lines(consent_or_nmald(f.patients), lines)
    text = line_names(lines).astype(object)
    late = np.flatnonzero(surely(lines["start_date"] > bound).to_numpy())  # spelt for these few rows only
    after = ("after consent " + iso_dates(consent.iloc[late])).where(
        consent.iloc[late].notna(), "after NMA-LD " + iso_dates(nmald.iloc[late]) + " (consent not recorded)")
    text.iloc[late] = (text.iloc[late] + " (started " + iso_dates(lines["start_date"].iloc[late]) + ", " + after
                       + ": the program's own infusion entered as a prior line? see findings)")
    return join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n)


def toxicity_blank_cells(rows: pd.DataFrame, at: np.ndarray, label: pd.Series, n_rows: int) -> pd.Series:
    """Per toxicity row (``n_rows`` in all), E2's fields to collect: each blank cell of ``rows`` (at
    positions ``at``) by its column, followed by the row's ``label`` ("toxicities.grade (colitis);
    toxicities.ongoing (colitis)"); "" for the other rows."""
    named = join_nonempty([("toxicities." + name + label).where(rows[name].isna().to_numpy(), "")
                           for name in ("grade", "category", "ongoing")], "; ")
    cells = pd.Series("", index=range(n_rows), dtype=object)
    cells.iloc[at] = named.to_numpy()
    return cells


def brain_metastases_state(brain: pd.Series, treated: pd.Series, symptomatic: pd.Series, stable: pd.Series,
                            days: pd.Series, days_at_consent: pd.Series, ld: pd.Series, consent: pd.Series,
                            limit: int) -> pd.Series:
    """What is recorded about brain metastases, in words, for an unknown E5 (rows without "no" only).

    "brain metastases: treatment not recorded, asymptomatic, stable since 2025-02-15, 14
    days before consent (NMA-LD not scheduled; >= 14 days needed before it)". ``days`` and
    ``days_at_consent`` are E5's own; ``ld`` and ``consent`` date a blank stable-since date's latest
    day long enough (:func:`stable_since_needed`).
    """
    # Only these can be unknown: brain metastases not "no", and something blank.
    blank = brain.isna() | treated.isna() | symptomatic.isna() | stable.isna() | days.isna()
    rows = np.flatnonzero((~is_no(brain) & blank).to_numpy())
    b, t, s, st = brain.iloc[rows], treated.iloc[rows], symptomatic.iloc[rows], stable.iloc[rows]
    d = text_series(days_from(days.iloc[rows], "NMA-LD"))
    dc = text_series(days_from(days_at_consent.iloc[rows], "consent"))
    d.index = dc.index = brain.index[rows]
    since = "stable since " + iso_dates(st).astype(str)
    ld_known, consent_known = days.iloc[rows].notna(), days_at_consent.iloc[rows].notna()
    # The first NMA-LD start that would be far enough after it, for a coordinator planning it (audit 22C).
    enough = iso_dates(st + pd.Timedelta(days=limit)).astype(str)
    stability = (since + ", " + d + f" (>= {limit} needed)").where(ld_known, (
        since + ", " + dc + f" (NMA-LD not scheduled; >= {counted(limit, 'day')} needed before it: an NMA-LD "
        "start on or after " + enough + ")"
    ).where(consent_known, since + " (NMA-LD not scheduled, consent date not recorded)"))
    pieces = [
        pd.Series("brain metastases not recorded", index=b.index).where(b.isna(), "brain metastases"),
        pd.Series("treated", index=b.index).where(is_yes(t), pd.Series("treatment not recorded", index=b.index)
                                                   .where(t.isna(), "")),
        pd.Series("asymptomatic", index=b.index).where(is_no(s), pd.Series("symptoms not recorded", index=b.index)
                                                       .where(s.isna(), "")),
        stability.where(st.notna(), stable_since_needed(ld.iloc[rows], consent.iloc[rows], limit)).astype(str),
    ]
    state = pd.Series("", index=brain.index, dtype=object)
    state.iloc[rows] = (pieces[0] + ": " + join_nonempty(pieces[1:], ", ")).to_numpy()
    return state


def stable_since_needed(ld: pd.Series, consent: pd.Series, limit: int) -> pd.Series:
    """A blank stable-since date in words, with the latest date long enough: before a dated NMA-LD,
    "stable-since date not recorded (it must be 2024-04-01 or earlier: >= 14 days before NMA-LD
    2024-04-15)"; NMA-LD not scheduled, "(2024-02-16 or earlier, >= 14 days before consent 2024-03-01,
    is long enough at any NMA-LD date)" (NMA-LD comes after consent). What the coordinator looks for in
    the imaging reports (audit 37A, review 37B)."""
    def latest_before(day: pd.Series) -> pd.Series:
        return iso_dates(day - pd.Timedelta(days=limit)).astype(str)

    dated = ("stable-since date not recorded (it must be " + latest_before(ld) + " or earlier: >= "
             + counted(limit, "day") + " before NMA-LD " + iso_dates(ld).astype(str) + ")")
    unscheduled = ("stable-since date not recorded (" + latest_before(consent) + " or earlier, >= "
                   + counted(limit, "day") + " before consent " + iso_dates(consent).astype(str)
                   + ", is long enough at any NMA-LD date)")
    return dated.where(ld.notna(), unscheduled.where(consent.notna(), "stable-since date not recorded"))


def pregnancy_cells_said(sex: pd.Series, pregnant: pd.Series, feeding: pd.Series) -> dict[str, pd.Series]:
    """E11's cells in words for its last rule ("female; pregnant: no; breastfeeding: not recorded
    (breastfeeding)"), spelt out only where a cell is blank (the rule's patients, a few)."""
    # Males (whose pregnancy cells are mostly blank) are not_applicable before the last rule.
    rows = np.flatnonzero((possibly(sex != "male") & (sex.isna() | pregnant.isna() | feeding.isna())).to_numpy())

    def said(values: pd.Series, blank: str) -> pd.Series:
        out = np.full(len(values), "", dtype=object)
        picked = values.iloc[rows]
        shown = picked.map({True: "yes", False: "no"}) if picked.dtype == "boolean" else picked.astype(object)
        out[rows] = shown.astype(object).where(picked.notna(), blank).to_numpy(dtype=object)
        return pd.Series(out, index=values.index, dtype=object)

    return {"sex": said(sex.where(sex == "female"), "sex not recorded (sex)"),
            "pregnant": said(pregnant, "not recorded (pregnant)"),
            "feeding": said(feeding, "not recorded (breastfeeding)")}
