"""Waivers: the overrides of a dataset applied to the criteria's outcomes.

A documented override turns its criterion's outcome into ``waived`` (spec section 1): every
row of ``overrides`` is one ("one per documented waiver"), also with its approver, date or
reason blank (a data-quality finding; every way of filling in a blank approver is an
approver, so the waiver applies whoever it is). At a data cut, one without an approval date
may postdate the cut: a blocking outcome (fail, unknown) becomes ``unknown`` and asks for
the date, and a passing one stands, its sentence noting the override.

The spec gives overrides no key, so one patient's criterion may be waived in several rows
(approved twice, or by two people). It is waived when any of them is documented. One row
speaks for the criterion: a documented one before one that is not, then the earliest
approval date, then the first in the file; its sentence names the other documented rows
("also waived by ..."), and the waivers table lists each documented row.

At a data cut, a waiver dated after the cut is not applied (what was known at the cut); its
criterion's sentence says "a waiver dated after the data cut ... is not applied at this cut
(by A on D: why)", so that the waiver on file since is visible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ..contract.dataset import ScreeningDataset
from ..contract.schema import CRITERION_IDS
from .cut_clauses import dated_after_cut_clauses, screened_rows
from .evidence import TEXT, Text, as_arrow, iso_dates, joined_by_key, text_series
from .facts import patient_positions
from .outcome import CODE, OUTCOME_DTYPE, Outcome, codes_to_labels

CRITERION_DTYPE = pd.CategoricalDtype(list(CRITERION_IDS), ordered=True)
UNRECORDED_APPROVER = "approver not recorded"
"""What a waiver's sentence and flag say where ``approved_by`` is blank ("waived on D, approver not recorded")."""


@dataclass(frozen=True)
class Waived:
    """What the overrides change: sentences and fields to collect at patient-major positions, and the waivers."""

    at: np.ndarray
    evidence: pa.Array
    needs_at: np.ndarray
    needs: pa.Array
    table: pd.DataFrame
    """The waivers applied, one row per documented override row (at a data cut, an undated one is not applied)."""
    needless: np.ndarray
    """Positions in ``overrides`` of the waivers applied to an outcome that does not block (``pass`` or
    ``not_applicable``): they change no verdict, and may name the wrong criterion (a data-quality finding)."""
    needless_was: np.ndarray
    """The outcome each of those replaced."""


def apply_overrides(dataset: ScreeningDataset, codes: np.ndarray, evidence: list[Text],
                    needs: list[Text]) -> Waived:
    """Turn overridden outcomes into ``waived`` (``codes``, patients x criteria, in place).

    Parameters
    ----------
    dataset : ScreeningDataset
        Its ``overrides`` and ``cut_date``.
    codes : numpy.ndarray
        Outcome codes, patients x criteria; changed in place.
    evidence, needs : list of Text
        Per criterion, the sentences and the fields to collect before the overrides.

    Returns
    -------
    Waived
        One sentence per overridden (patient, criterion), and per (patient, criterion)
        with a waiver dated after the data cut, sorted by its patient-major position; the
        fields to collect where a waiver is not applied and the outcome is blocking; and the
        waivers table.
    """
    o = dataset.overrides.reset_index(drop=True)
    rows = patient_positions(dataset, "overrides")
    cols = pd.Index(CRITERION_IDS).get_indexer(o["criterion_id"].astype(str))
    was = codes_to_labels(codes[rows, cols]) if len(o) else pd.Categorical([], dtype=OUTCOME_DTYPE)
    signed = documented(o, dataset.cut_date)
    blocking = np.isin(codes[rows, cols], [CODE[Outcome.FAIL], CODE[Outcome.UNKNOWN]])
    at = rows.astype(np.int64) * codes.shape[1] + cols
    rank = _speaking_order(o, at, signed, dataset.rows_in_source("overrides"))
    speaks = np.zeros(len(o), dtype=bool)
    speaks[rank[_firsts(at[rank])]] = True
    # A cell waived by any documented row is waived: the unknowns first, so a waiver overwrites them.
    codes[rows[~signed & blocking], cols[~signed & blocking]] = CODE[Outcome.UNKNOWN]
    codes[rows[signed], cols[signed]] = CODE[Outcome.WAIVED]
    was_text = pd.Series(was).astype(str)
    late = _after_cut(dataset, codes.shape[1])
    original = text_series(_texts_at(evidence, rows, cols))
    note = _override_sentences(o, was_text, original, signed, blocking,
                               dataset.cut_date, _also_waived(o, at, signed & ~speaks, rank),
                               pd.Series(late.reindex(at).to_numpy(dtype=object), index=o.index).fillna(""))
    # Only a waiver left open at a data cut (its approval date blank) asks for a cell: that date.
    ask = "overrides.approved_date (waiver of " + o["criterion_id"].astype(str) + ")"
    previous_needs = text_series(_texts_at(needs, rows, cols)).where(was_text == "unknown", "")
    asked = (ask + "; " + previous_needs).where(previous_needs != "", ask)
    spoken = np.flatnonzero(speaks)
    order = spoken[np.argsort(at[spoken], kind="stable")]
    open_order = order[~signed[order] & blocking[order]]
    cells, sentences = _with_cells_waived_late(at[order], note.iloc[order], late, evidence, codes.shape[1])
    table = _waivers_table(dataset, o, rows, (was, original), signed, rank)
    needless = np.flatnonzero(signed & ~blocking)
    return Waived(cells, as_arrow(sentences).cast(TEXT), at[open_order], as_arrow(asked).cast(TEXT).take(open_order),
                  table, needless, was_text.to_numpy(dtype=object)[needless])


def _after_cut(dataset: ScreeningDataset, n_criteria: int) -> pd.Series:
    """Per patient-major cell, what its sentence adds at a data cut: the data dated after the cut
    that its criterion reads (:func:`.cut_clauses.dated_after_cut_clauses`), then the waivers
    dated after it (:func:`_late_waivers`)."""
    parts = [part for part in (dated_after_cut_clauses(dataset, n_criteria), _late_waivers(dataset, n_criteria))
             if len(part)]
    if len(parts) < 2:
        return parts[0] if parts else pd.Series([], dtype=object)
    both = pd.concat(parts)
    return joined_by_key(both.index.to_numpy(dtype=np.int64), both.to_numpy(dtype=object), "")


def _late_waivers(dataset: ScreeningDataset, n_criteria: int) -> pd.Series:
    """Per patient-major cell (the index, increasing) with override rows dated after the data cut:
    "; a waiver dated after the data cut D is not applied at this cut (by A on D2: why)".

    The cut sets those rows aside (what was known at the cut), so the outcome stands; a medical
    monitor reading the cut still sees the waiver on file since. Empty without a cut.
    """
    late = dataset.waivers_after_cut
    if late is None or late.empty or dataset.cut_date is None:
        return pd.Series([], dtype=object)
    rows = screened_rows(dataset, late["patient_id"], "waivers_after_cut")
    cols = pd.Index(CRITERION_IDS).get_indexer(late["criterion_id"].astype(str))
    cells = rows.astype(np.int64) * n_criteria + cols
    items = joined_by_key(cells, (_by_on(late) + ": " + _why(late)).to_numpy(dtype=object), "; ")
    count = pd.Series(np.unique(cells, return_counts=True)[1], index=items.index)  # items' keys, increasing
    cut = dataset.cut_date.isoformat()
    lead = pd.Series(np.where(count == 1, f"; a waiver dated after the data cut {cut} is not applied at this cut (",
                              "; " + count.astype(str) + f" waivers dated after the data cut {cut} are not applied "
                              "at this cut ("), index=count.index)
    return (lead + items + ")").astype(object)


def _with_cells_waived_late(at: np.ndarray, sentences: pd.Series, late: pd.Series, evidence: list[Text],
                            n_criteria: int) -> tuple[np.ndarray, pd.Series]:
    """The overrides' cells and sentences (``at`` increasing), and each other cell with a clause at a data
    cut (a waiver or data dated after it) with its criterion's own sentence followed by ``late``'s clause
    (:func:`_after_cut`)."""
    sentences = sentences.reset_index(drop=True)
    new = np.setdiff1d(late.index.to_numpy(dtype=np.int64), at)
    if not len(new):
        return at, sentences
    own = text_series(_texts_at(evidence, new // n_criteria, new % n_criteria)).to_numpy(dtype=object)
    text = pd.concat([pd.Series(sentences.to_numpy(), index=at),
                      pd.Series(own + late.reindex(new).to_numpy(dtype=object), index=new)]).sort_index()
    return text.index.to_numpy(dtype=np.int64), text.reset_index(drop=True)


def documented(overrides: pd.DataFrame, cut_date: dt.date | None) -> np.ndarray:
    """Per override row, whether it is a documented waiver that applies: every row, but at a data
    cut one without an approval date, which may postdate the cut (a blocking outcome is unknown
    meanwhile).

    A blank approver does not stop a waiver (decision of session 30; it did from 2026-12-05): the
    spec's overrides table holds "one [row] per documented waiver", names no approver a waiver
    needs, and decides a blank by every way of filling it in, each of which is an approver. The
    blank is a data-quality finding and the oversight flags list the waiver.
    """
    return overrides["approved_date"].notna().to_numpy() | (cut_date is None)


def _speaking_order(o: pd.DataFrame, at: np.ndarray, signed: np.ndarray, in_file: np.ndarray) -> np.ndarray:
    """Override rows ordered by cell, then who speaks first for it: a documented waiver, then one
    with its approver recorded, then the earliest approval date (blank last), then file order
    (the file's row, so a bucketed screen orders them alike)."""
    day = o["approved_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    day = np.where(o["approved_date"].isna().to_numpy(), np.iinfo(np.int64).max, day)
    return np.lexsort((in_file, day, o["approved_by"].isna().to_numpy(), ~signed, at))


def _firsts(sorted_at: np.ndarray) -> np.ndarray:
    """Positions in ``sorted_at`` where a new cell begins."""
    return np.flatnonzero(np.r_[True, sorted_at[1:] != sorted_at[:-1]]) if len(sorted_at) else np.zeros(0, int)


def _also_waived(o: pd.DataFrame, at: np.ndarray, others: np.ndarray, rank: np.ndarray) -> pd.Series:
    """Per override row, "; also waived by B on D: why" for the other documented rows of its cell
    (in speaking order), to be said by the row that speaks; "" where there are none."""
    if not others.any():
        return pd.Series("", index=o.index, dtype=object)
    picked = rank[others[rank]]  # the other documented rows, in speaking order
    said = "also waived " + _by_on(o).iloc[picked] + ": " + _why(o).iloc[picked]
    # Only cells waived more than once come here: a handful of rows, joined per cell.
    joined = said.groupby(at[picked], sort=False).agg("; ".join)
    return ("; " + pd.Series(at, index=o.index).map(joined)).fillna("").astype(object)


def attribution(who: pd.Series, when: pd.Series) -> pd.Series:
    """Who waived and when, as the sentences say it after "waived": "by X on D", and a blank side said
    to be not recorded: "on D, approver not recorded", "by X, approval date not recorded", "with
    approver and approval date not recorded" (audit 33: it read "by an unrecorded approver on (date
    not recorded)"). ``who``: approvers; ``when``: ISO approval dates as text; blanks NA."""
    by, on = who.notna(), when.notna()
    named, dated = "by " + who.astype(str), "on " + when.astype(str)
    neither = pd.Series("with approver and approval date not recorded", index=who.index)
    return (named + " " + dated).where(by & on, (dated + ", " + UNRECORDED_APPROVER).where(
        on & ~by, (named + ", approval date not recorded").where(by & ~on, neither)))


def _by_on(o: pd.DataFrame) -> pd.Series:
    return attribution(o["approved_by"].astype(object), iso_dates(o["approved_date"]))


def _why(o: pd.DataFrame) -> pd.Series:
    return o["reason"].astype(str).where(o["reason"].notna(), "reason not recorded")


def _override_sentences(o: pd.DataFrame, was: pd.Series, original: pd.Series, signed: np.ndarray,
                        blocking: np.ndarray, cut_date: dt.date | None, also: pd.Series, late: pd.Series) -> pd.Series:
    """Per override row, the criterion's new sentence: the waiver (who, when, why, the other documented
    waivers of the cell, those dated after a data cut, what it replaced), or, at a cut without an
    approval date, why it is not applied and what the criterion says without it.

    The replaced outcome and sentence also go to the waivers table (the screen's ``waivers.csv``), which
    is what other code reads: the site's text in a sentence can read like these words."""
    waived = "waived " + _by_on(o) + ": " + _why(o) + also + late \
        + " (was " + was + ": " + original + ")"
    if cut_date is None:  # every row applies
        return waived
    undated = ("a waiver of " + o["criterion_id"].astype(str) + " without an approval date (approved_date not "
               f"recorded) may postdate the data cut {cut_date.isoformat()}")
    # A blocking outcome is unknown: say which way each reading goes (audit 22A: "not applied;
    # without it: fail" read as a fail beside the outcome unknown).
    return waived.where(signed, (undated + ": waived if it was approved by then, otherwise " + was + ": " + original)
                        .where(blocking, original + "; " + undated + ", so it is not applied") + late)


def _waivers_table(dataset: ScreeningDataset, o: pd.DataFrame, rows: np.ndarray,
                   replaced: tuple[pd.Categorical, pd.Series], signed: np.ndarray, rank: np.ndarray) -> pd.DataFrame:
    """One row per documented override row, by patient and criterion, then in speaking order.

    ``replaced``: per override row, the outcome and the sentence its criterion had before the waiver.
    """
    was, original = replaced
    site = dataset.patients["site_id"].to_numpy()[rows] if len(o) else []
    table = pd.DataFrame({
        "patient_id": o["patient_id"], "site_id": pd.Categorical(site, dtype=dataset.patients["site_id"].dtype),
        "criterion_id": o["criterion_id"].astype(str).astype(CRITERION_DTYPE), "approved_by": o["approved_by"],
        "approved_date": o["approved_date"], "reason": o["reason"],
        "original_outcome": pd.Series(was, dtype=OUTCOME_DTYPE),
        # Typed as the site's text columns, so that an empty table (a bucket without waivers) has their type.
        "original_evidence": pd.Series(original.to_numpy(dtype=object), index=o.index, dtype=o["reason"].dtype),
    })
    kept = rank[signed[rank]]
    return table.iloc[kept].sort_values(["patient_id", "criterion_id"], kind="stable").reset_index(drop=True)


def _texts_at(texts: list[Text], rows: np.ndarray, cols: np.ndarray) -> pa.Array:
    """The sentences at (``rows[i]``, ``cols[i]``) of per-criterion texts, in the order given."""
    if len(rows) == 0:
        return pa.array([], type=TEXT)
    picked = pa.concat_arrays([t.take(rows[cols == j]) for j, t in enumerate(texts)])
    where = np.concatenate([np.flatnonzero(cols == j) for j in range(len(texts))])
    return picked.take(np.argsort(where, kind="stable"))
