"""The pending worklist in plain words, and how current the data are.

A coordinator reads the worklist away from the report (printed, in Excel): each pending
patient once, what to collect named as the data dictionary names it (not
``patients.resectable_lesion_cm``), lab results with the dates of the patient's lab
window, therapy lines by number, how long the patient has been pending, sorted closest to
eligible first.

Days pending count from the data's currency date (:func:`data_currency`): the data cut
date when the screening has one (``--cut-date``, the notebooks' ``cut_date``); without a
cut, the latest consent date in the data, which every page says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.id_lookup import positions_in, take_ascending
from ..engine.catalog import criterion_labels
from ..engine.evidence import TEXT, as_arrow, day_count, iso_dates, join_per_patient, text_series
from ..engine.lab_part_rules import window_text
from .field_requests import condition, is_conditional, one_window, request_parts, request_tokens

if TYPE_CHECKING:  # the protocol, for type checkers only
    from .summaries import ResultLike

WORKLIST_COLUMNS: tuple[str, ...] = ("patient_id", "site_id", "consent_date", "days_pending", "nmald_date",
                                     "nmald_status", "unknown_count", "unknown", "to_collect", "why_unknown")
"""Columns of :func:`plain_worklist`, one row per pending patient."""
SINCE_LAST_CUT = "since_last_cut"
"""Column :func:`mark_changes` adds to a report's worklist: what changed since the earlier run."""
NO_EARLIER_RUN = "no earlier run to compare"
WORKLIST_NOTE = ("days pending: from consent to {as_of}; NMA-LD: date passed when on or before that date (the date is "
                 "planned or actual: whether NMA-LD began is not recorded). since last cut: "
                 "against the run history's earlier run. Lab results count when collected in the dates shown (consent "
                 "minus the lab look-back, up to NMA-LD; without a consent date, from the look-back before NMA-LD; "
                 "closed once the NMA-LD date has passed). "
                 "Sorted by number of unknown criteria, then fields to collect (a field asked for 'if' something holds "
                 "is not counted), then longest pending. The same, one row per field with a column to fill in as each "
                 "arrives: {fields}.")
"""The note under a page's worklist (``as_of``: :meth:`DataCurrency.phrase`; ``fields``: the page's
``pending-fields`` download, :mod:`.collection_list`)."""
@dataclass(frozen=True)
class DataCurrency:
    """How current the data are: the date days pending count from, and what that date is."""

    date: pd.Timestamp | None
    source: str

    def phrase(self) -> str:
        """``2024-03-01 (latest consent date in the data; no data cut date given)``."""
        return "an unknown date" if self.date is None else f"{self.date:%Y-%m-%d} ({self.source})"

    def sentence(self) -> str:
        """``Data current to 2024-03-01 (latest consent date in the data; no data cut date given).``"""
        if self.date is None:
            return "Data currency unknown: no consent date in the data."
        return f"Data current to {self.date:%Y-%m-%d} ({self.source})."


CUT_SOURCE = "data cut date: what was known on that day"
"""How a page says that its currency date is the data cut date."""


def data_currency(verdicts: pd.DataFrame, cut_date: object = None) -> DataCurrency:
    """How current the data are: the data cut date when there is one, else the latest consent date.

    Parameters
    ----------
    verdicts : DataFrame
        The whole program's verdicts (``consent_date``).
    cut_date : date, str or None
        The screening's data cut date (:mod:`lifileucel_analysis.contract.data_cut`);
        ``None``: no cut, and the latest consent date in the data stands in for it.
    """
    latest = verdicts["consent_date"].max()
    return currency_of(None if pd.isna(latest) else pd.Timestamp(latest), cut_date)


def currency_of(latest_consent: pd.Timestamp | None, cut_date: object = None) -> DataCurrency:
    """:func:`data_currency` given the latest consent date in the data (``None``: none at all).

    The bucketed screen calls it with the latest over its buckets.
    """
    if cut_date is not None:
        return DataCurrency(pd.Timestamp(cut_date), CUT_SOURCE)
    if latest_consent is None:
        return DataCurrency(None, "no consent date in the data")
    return DataCurrency(pd.Timestamp(latest_consent), "latest consent date in the data; no data cut date given")


def worklist_window(consent: pd.Series, lymphodepletion: pd.Series, lookback_days: int) -> pd.Series:
    """The lab window of each patient as the engine words it (:func:`..engine.lab_part_rules.window_text`:
    ``2022-06-14 to 2022-07-12``; with a blank consent date, from ``lookback_days`` before NMA-LD), so
    that the worklist, its reasons and the fields-to-collect file give one window (review 26B)."""
    text = window_text(consent, lymphodepletion, lookback_days)
    return text.where(text != "", "window unknown: no consent or NMA-LD date")


def _field_texts(fields: pd.Series) -> tuple[np.ndarray, pa.Array, pa.Array, np.ndarray, np.ndarray]:
    """Each row's fields to collect, read once per distinct value (hundreds, not a row each).

    Returns the row's distinct-value position, then per distinct value: the fields other
    than labs in plain words (``"; "``-joined), the lab tests (``", "``-joined, their window
    dropped: the row's window is said once), whether there are labs, and how many fields it certainly asks
    for (one asked "(if ...)" is not counted).
    """
    # The window dates differ from patient to patient and are dropped below anyway: one
    # placeholder window for all (in Arrow, over the whole column) leaves a few hundred
    # distinct values where the dates made one for nearly every patient with labs missing.
    cells = one_window(pc.fill_null(as_arrow(fields).cast(TEXT), pa.scalar("", TEXT)))
    codes = cells.dictionary_encode()
    positions, distinct = codes.indices.to_numpy().astype(np.int64), codes.dictionary.to_pylist()
    others, labs, has_labs, counts = [], [], [], []
    for text in distinct:
        tokens = [t for t in str(text).split("; ") if t]
        # The engine names each lab with its window; grouped under the window here, it is said once.
        # A blank cell of one lab row ("labs.value (ANC result dated ...)") is named on its own.
        parts = [request_parts(t) for t in tokens]
        # A result asked for on a condition says it: "ANC (if the result without a date ...)" (audit 42W).
        lab_names = [label + (f" ({on})" if (on := condition(table, column, detail)) else "")
                     for label, window, table, column, detail in parts if window]
        others.append("; ".join(label for label, window, *_ in parts if not window))
        labs.append(", ".join(lab_names))
        has_labs.append(bool(lab_names))
        # A field asked for "(if received)" or "(line 2, if adjuvant or neoadjuvant)" may need nothing
        # collected: the sort counts the fields a coordinator certainly has to collect (review 24B).
        counts.append(sum(1 for t in tokens if not is_conditional(t)))
    return (positions, pa.array(others, type=TEXT), pa.array(labs, type=TEXT), np.array(has_labs, dtype=bool),
            np.array(counts, dtype=np.int64))


def _collect_text(fields: pd.Series, window: pa.Array, row_patient: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """One cell per row: lab tests grouped under the patient's window dates, other fields labelled.

    Returns the cells and each row's number of fields it certainly asks for (:func:`_field_texts`).
    """
    at, others, labs, has_labs, counts = _field_texts(fields)
    if len(at) == 0:
        return pa.array([], type=TEXT), np.zeros(0, dtype=np.int64)
    lead = pc.if_else(pc.equal(others, ""), pa.scalar("", TEXT),
                      pc.binary_join_element_wise(others, pa.scalar("", TEXT), pa.scalar("; ", TEXT)))
    with_labs = pc.binary_join_element_wise(lead.take(at), pa.scalar("lab results collected ", TEXT),
                                            window.take(row_patient), pa.scalar(": ", TEXT), labs.take(at),
                                            pa.scalar("", TEXT))
    return pc.if_else(pa.array(has_labs[at]), with_labs, others.take(at)), counts[at]


def _positions(keys: pd.Series | pa.Array | pa.ChunkedArray, among: pd.Series) -> np.ndarray:
    """The position of each of ``keys`` in ``among`` (distinct IDs), -1 where it is not there."""
    return positions_in(keys, among)


def _criterion_codes(values: pd.Series, names: pd.Index) -> np.ndarray:
    """Each row's criterion as its position in ``names`` (categories looked up once, not per row)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        per_category = np.append(names.get_indexer(values.cat.categories.astype(str)), -1)
        return per_category[values.cat.codes.to_numpy()]
    return names.get_indexer(values.astype(str))


def _first_asked(fields: pd.Series, row_patient: np.ndarray) -> pd.Series:
    """Each row's fields without those an earlier row of the same patient already asks for.

    Two criteria can wait on one field (a misspelt agent blocks I2 and E1; a blank consent
    date blocks I5 and I7): the coordinator is asked for it once, and the count of fields
    to collect (a sort key) counts it once. Done over all rows at once: the cells are split
    into fields, repeated (patient, field) pairs dropped, the rest joined back per row.
    """
    row, token = request_tokens(fields)
    pairs = pd.DataFrame({"patient": row_patient[row], "token": text_series(token)})
    keep = np.flatnonzero(~pairs.duplicated().to_numpy() & (pairs["token"] != "").to_numpy())
    joined = join_per_patient(row[keep], token.take(keep), len(fields), "; ")
    return text_series(joined)


def _evidence_of(outcomes: pd.DataFrame, ids: pd.Series, row_patient: np.ndarray,
                 criteria: pd.Series) -> pa.Array:
    """The evidence of each row's (patient, criterion) among the unknown outcomes, null where there is none."""
    unknown = np.flatnonzero((outcomes["outcome"] == "unknown").to_numpy(dtype=bool))
    their_criteria = outcomes["criterion_id"].iloc[unknown]
    at = _positions(take_ascending(pa.array(outcomes["patient_id"].array), unknown), ids)
    names = pd.Index(pd.unique(pd.concat([pd.Series(criteria.unique()).astype(str),
                                          pd.Series(their_criteria.unique()).astype(str)], ignore_index=True)))
    width = max(len(names), 1)
    theirs = at * width + _criterion_codes(their_criteria, names)
    mine = row_patient * width + names.get_indexer(criteria)
    row = pd.Index(np.where(at >= 0, theirs, -1 - np.arange(len(at)))).get_indexer(mine)  # one outcome per key
    # Taken chunk by chunk: the chunked column's own ``take`` first copies every sentence of
    # the slice into one array (0.6 s of a million-patient screen, for a tenth of them).
    evidence = as_arrow(take_ascending(pa.array(outcomes["evidence"].array), unknown)).cast(TEXT)
    return evidence.take(pa.array(row, mask=row < 0))


def worklist_rows(result: ResultLike, patients: pd.DataFrame) -> pd.DataFrame:
    """Each pending patient once, in the verdicts' order: what :func:`plain_worklist` shows but days pending.

    Columns: ``patient_id``, ``site_id``, ``consent_date``, ``unknown_count``, ``unknown``, ``to_collect``,
    ``why_unknown``, ``nfields`` (fields certainly to collect, a sort key) and ``lymphodepletion_date``
    (:func:`finish_worklist` adds days pending and the NMA-LD status). Nothing here depends on other
    patients' rows, so a bucket's rows are the whole dataset's rows of its patients (the bucketed screen relies on it).
    """
    verdicts = result.verdicts[(result.verdicts["verdict"] == "pending").to_numpy(dtype=bool)]
    frame = verdicts[["patient_id", "site_id", "consent_date"]].astype({"patient_id": "str"}).reset_index(drop=True)
    ids, n = frame["patient_id"], len(frame)
    work = result.missing_data
    row_patient = _positions(work["patient_id"], ids)
    work = work[row_patient >= 0]  # pending patients' rows only
    row_patient = row_patient[row_patient >= 0]
    criteria = work["criterion_id"].astype(str).reset_index(drop=True)
    labels = criterion_labels(result.params)
    ld = patients["lymphodepletion_date"].reset_index(drop=True)
    ld_at = _positions(ids, patients["patient_id"])
    patient_ld = ld.take(np.maximum(ld_at, 0)).where(ld_at >= 0).reset_index(drop=True)
    window = worklist_window(frame["consent_date"], patient_ld, result.params.lab_lookback_days)
    fields = _first_asked(work["fields"].reset_index(drop=True), row_patient)
    asked = np.flatnonzero(fields.to_numpy() != "")  # rows left with a field to collect
    collect, nfields = _collect_text(fields.iloc[asked].reset_index(drop=True), pa.array(window, type=TEXT),
                                     row_patient[asked])
    unknown = pa.array(criteria + " " + criteria.map(labels), type=TEXT)
    evidence = pc.fill_null(_evidence_of(result.outcomes, ids, row_patient, criteria), pa.scalar("", TEXT))
    why = pc.binary_join_element_wise(pa.array(criteria, type=TEXT), evidence, pa.scalar(": ", TEXT))
    # Per patient, in row order: the engine's rows joined, as a group-by would join them,
    # by offsets in one Arrow call per column (no Python per patient).
    frame["unknown_count"] = np.bincount(row_patient, minlength=n).astype(np.int64)
    frame["unknown"] = text_series(join_per_patient(row_patient, unknown, n, "; ")).array
    frame["to_collect"] = text_series(join_per_patient(row_patient[asked], collect, n, "; ")).array
    frame["why_unknown"] = text_series(join_per_patient(row_patient, why, n, " | ")).array
    frame["nfields"] = np.bincount(row_patient[asked], weights=nfields, minlength=n).astype(np.int64)
    frame["lymphodepletion_date"] = patient_ld
    return frame


DATE_PASSED = "date passed"
"""An NMA-LD date on or before the data's currency date, in the worklist and the oversight flags."""
NOT_SCHEDULED = "not scheduled"
"""The NMA-LD status of a patient without an NMA-LD date."""
NO_CURRENCY_STATUS = "date recorded (no consent or cut date to tell passed from scheduled)"
"""The NMA-LD status of a date when the data have no currency date to count to."""


def nmald_status(dates: pd.Series, as_of: DataCurrency) -> pd.Series:
    """Each NMA-LD date's status at ``as_of``, the words beside the date's own column.

    ``scheduled (in 8 days)`` after the data's currency date; ``date passed`` on or before it (a
    pending patient whose NMA-LD date has passed is also an oversight flag); :data:`NOT_SCHEDULED`
    without a date; :data:`NO_CURRENCY_STATUS` when the currency date is unknown. "Date passed", not
    "done": the contract's date is planned or actual, so whether NMA-LD began is not recorded (audit
    22C). The date and its status are two columns, so that a coordinator's spreadsheet sorts and
    filters each (they were one text, "2025-02-20: date passed", until session 37).
    """
    def status(days: pd.Series) -> pd.Series:
        return _words(days, as_of).fillna(NO_CURRENCY_STATUS)

    return _by_distinct_date(dates, status, NOT_SCHEDULED)


def _words(days: pd.Series, as_of: DataCurrency) -> pd.Series:
    """:func:`nmald_status` of dates none of which is blank; NA where the currency date is unknown."""
    if as_of.date is None:
        return pd.Series(pd.NA, index=days.index, dtype=object)
    ahead = (days - as_of.date).dt.days
    scheduled = "scheduled (in " + text_series(day_count(ahead)).astype(object).set_axis(days.index) + ")"
    return scheduled.where(~window_closed(days, as_of), DATE_PASSED).astype(object)


def _by_distinct_date(dates: pd.Series, text_of: Callable[[pd.Series], pd.Series], blank: object) -> pd.Series:
    """``text_of`` each distinct date, spelt once and placed on every row with that date; ``blank`` where none.

    A fields file repeats a patient's NMA-LD on each of its fields, and a cohort has a few hundred
    distinct dates: spelling each row's text was a third of finishing a fields file (session 27).
    """
    codes, distinct = pd.factorize(dates)  # a blank date is code -1: the appended blank
    if len(distinct) == 0:
        return pd.Series(blank, index=dates.index, dtype=object)
    text = text_of(pd.Series(distinct)).to_numpy(dtype=object)
    return pd.Series(np.append(text, np.array([blank], dtype=object))[codes], index=dates.index, dtype=object)


def finish_worklist(rows: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """Rows of :func:`worklist_rows` with ``days_pending`` counted from ``as_of``, in :data:`WORKLIST_COLUMNS`."""
    frame = rows.copy()
    if as_of.date is None:
        frame["days_pending"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    else:
        days = (as_of.date - frame["consent_date"]).dt.days
        frame["days_pending"] = pd.array(days.to_numpy(dtype=float), dtype="Float64").astype("Int64")
    frame["nmald_date"] = frame["lymphodepletion_date"]
    frame["nmald_status"] = nmald_status(frame["lymphodepletion_date"], as_of)
    closed = window_closed(frame["lymphodepletion_date"], as_of)
    if closed.any():  # "lab results collected 2022-06-21 to 2022-08-09 (closed: ...): platelets"
        text = frame["to_collect"].astype(object)
        frame["to_collect"] = text.where(~closed, text.str.replace(
            r"(lab results collected \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2})", r"\1" + WORKLIST_WINDOW_CLOSED,
            regex=True))
    return frame[list(WORKLIST_COLUMNS)]


WINDOW_CLOSED = " (closed: NMA-LD date passed)"
"""After a lab window in a fields file whose NMA-LD date is on or before the data's currency date."""
WORKLIST_WINDOW_CLOSED = " (closed, NMA-LD date passed: enter a result collected then, or record the new NMA-LD date)"
"""The same in a worklist's "to collect", with what a coordinator can do: no new sample falls in that window."""


def window_closed(dates: pd.Series, as_of: DataCurrency) -> np.ndarray:
    """Per row: the NMA-LD date is on or before the data's currency date ("date passed" in
    :func:`nmald_status`), so the lab window that ends there has closed; False where either date is unknown."""
    if as_of.date is None:
        return np.zeros(len(dates), dtype=bool)
    return (dates.notna() & (dates <= as_of.date)).to_numpy(dtype=bool)


def nmald_for_reading(worklist: pd.DataFrame) -> pd.DataFrame:
    """The worklist as a page shows it: the NMA-LD date and its status in one ``nmald`` column.

    ``2025-03-18: scheduled (in 8 days)``, ``2025-03-05: date passed``, ``not scheduled``; the date
    alone when the data have no currency date (the page's note says so). A file keeps the two
    columns, for a spreadsheet to sort and filter; a page is read, and a worklist of eleven columns
    does not fit an 800 px window (tests/test_browser.py).
    """
    date, status = worklist["nmald_date"], worklist["nmald_status"].astype(object)
    day = iso_dates(date).astype(object)
    text = (day + ": " + status).where(status != NO_CURRENCY_STATUS, day).where(date.notna(), status)
    shown = worklist.drop(columns=["nmald_status"]).rename(columns={"nmald_date": "nmald"})
    shown["nmald"] = text.to_numpy()
    return shown


AS_OF = "as_of"
"""Column a worklist *file* adds before ``days_pending``: the date days pending and NMA-LD count to."""


def dated_for_file(worklist: pd.DataFrame, as_of: DataCurrency, before: str = "days_pending") -> pd.DataFrame:
    """The table as a file carries it: with the date its days pending and NMA-LD status count to,
    in an ``as_of`` column placed before column ``before``.

    A page says that date in its note (:data:`WORKLIST_NOTE`); a file a coordinator keeps,
    sorts or forwards has no note, and "448 days pending" or "NMA-LD done" means nothing
    without its date (independent audit, session 21). Blank where the date is unknown (no
    consent date).
    """
    frame = worklist.copy()
    # A date, not text: a workbook stores it as a date cell (pages and CSV files show it as YYYY-MM-DD).
    day = pd.Series(as_of.date, index=frame.index, dtype="datetime64[ns]")
    frame.insert(frame.columns.get_loc(before), AS_OF, day)
    return frame


def plain_worklist(result: ResultLike, patients: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """Each pending patient once: what to collect, in plain words, closest to eligible first.

    Parameters
    ----------
    result : ScreeningResult
        A screening (or a site's part of it): reads ``verdicts``, ``missing_data``,
        ``outcomes`` and ``params``.
    patients : pandas.DataFrame
        The dataset's patients (``patient_id``, ``lymphodepletion_date``) for the lab window.
    as_of : DataCurrency
        The date days pending count from.

    Returns
    -------
    pandas.DataFrame
        :data:`WORKLIST_COLUMNS`; sorted by number of unknown criteria, number of fields to
        collect, then longest pending first, then patient ID (:func:`worklist_order_key`
        gives the same order as one sortable key).
    """
    rows = worklist_rows(result, patients)
    frame = finish_worklist(rows, as_of).assign(nfields=rows["nfields"])
    frame = frame.sort_values(["unknown_count", "nfields", "days_pending", "patient_id"],
                              ascending=[True, True, False, True], na_position="last", kind="stable")
    return frame[list(WORKLIST_COLUMNS)].reset_index(drop=True)


def mark_changes(worklist: pd.DataFrame, changes: pd.DataFrame | None) -> pd.DataFrame:
    """The worklist with :data:`SINCE_LAST_CUT` after ``nmald_status``: what changed for each pending patient.

    ``new patient``; ``was eligible`` / ``was ineligible`` (the verdict changed); the
    criteria newly unknown and resolved (``newly unknown: I7; resolved: I4``); ``no change``;
    or :data:`NO_EARLIER_RUN` for every row when there is no earlier run.

    Parameters
    ----------
    worklist : DataFrame
        :func:`plain_worklist`'s rows.
    changes : DataFrame or None
        :func:`.changes.patient_changes` of the page's scope against the earlier run (a
        patient not in it did not change); ``None``: no earlier run to compare with.
    """
    if changes is None:
        marks = pd.Series(NO_EARLIER_RUN, index=worklist.index, dtype=object)
    else:
        by_id = changes.astype({"patient_id": "str"}).set_index("patient_id")
        ids = worklist["patient_id"].astype(str)

        def value(column: str) -> pd.Series:  # "" for a patient that did not change
            return ids.map(by_id[column]).astype(object).fillna("").astype(str)

        def listed(column: str, label: str) -> pd.Series:
            criteria = value(column).str.replace(";", ", ", regex=False)
            return (label + criteria).where(criteria != "", "")

        change = value("change")
        was = ("was " + value("verdict_before")).where(change == "verdict", "")
        marks = was
        for piece in (listed("newly_unknown", "newly unknown: "), listed("resolved", "resolved: ")):
            marks = (marks + "; " + piece).where((marks != "") & (piece != ""), marks + piece)
        marks = marks.where(change != "new", "new patient").where(change != "", "no change")
    at = worklist.columns.get_loc("nmald_status") + 1
    framed = worklist.copy()
    framed.insert(at, SINCE_LAST_CUT, marks.astype(object).to_numpy())
    return framed


ORDER_KEY_BYTES = 25
"""Fixed part of :func:`worklist_order_key`: unknown count (8), fields (8), blank consent flag (1), consent day (8)."""


def worklist_order_key(rows: pd.DataFrame) -> pa.Array:
    """One binary key per row of :func:`worklist_rows` whose byte order is :func:`plain_worklist`'s order.

    The order is: fewer unknown criteria first, then fewer fields to collect, then longest
    pending first (= earliest consent day first, whatever date days pending count from,
    since consent dates are whole days; no consent date last), then patient ID. The key
    is those values as big-endian unsigned integers followed by the UTF-8 bytes of the ID,
    so comparing keys byte by byte compares the tuples (the ID is last, the rest fixed
    width; UTF-8 byte order is code point order, as Python compares strings). The
    bucketed screen merges the buckets' worklists by it without knowing the date days
    pending count from.
    """
    n = len(rows)
    fixed = np.zeros((n, ORDER_KEY_BYTES), dtype=np.uint8)
    consent = rows["consent_date"].to_numpy(dtype="datetime64[D]")
    blank = np.isnat(consent)
    day = np.where(blank, 0, consent.astype(np.int64)).astype(np.int64)
    fields = [(0, rows["unknown_count"].to_numpy(dtype=np.int64).astype(np.uint64)),
              (8, np.rint(rows["nfields"].to_numpy(dtype=float)).astype(np.int64).astype(np.uint64)),
              (17, (day.astype(np.uint64) ^ np.uint64(1 << 63)))]  # sign bit flipped: days before 1970 first
    for start, values in fields:
        fixed[:, start:start + 8] = values.astype(">u8").view(np.uint8).reshape(n, 8)
    fixed[:, 16] = blank
    prefix = pa.FixedSizeBinaryArray.from_buffers(pa.binary(ORDER_KEY_BYTES), n, [None, pa.py_buffer(fixed.tobytes())])
    ids = pa.array(rows["patient_id"].astype(str).to_numpy(dtype=object), pa.string()).cast(pa.binary())
    return pc.binary_join_element_wise(prefix.cast(pa.binary()), ids, pa.scalar(b"", pa.binary()))


def in_worklist_order(rows: pd.DataFrame, key_column: str | None = None) -> pd.DataFrame:
    """:func:`worklist_rows`' rows sorted (stably) by :func:`worklist_order_key`, index reset.

    With ``key_column`` the key is kept in that column (the screen command's sliced and bucketed
    paths merge rows by it); the one sort every path shares, so their orders cannot drift apart.
    """
    key = worklist_order_key(rows)
    order = pc.sort_indices(key).to_numpy()
    ordered = rows.iloc[order].reset_index(drop=True)
    if key_column is not None:
        ordered[key_column] = key.take(pa.array(order)).to_numpy(zero_copy_only=False)
    return ordered
