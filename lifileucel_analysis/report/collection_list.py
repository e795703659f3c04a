"""The fields to collect, one row each: the pending worklist as a list a coordinator works through.

The worklist (:mod:`.worklist`) gives each pending patient one row, with everything to collect
in one cell. A coordinator chasing the data works field by field: asks the lab for the ANC
results of three patients, the clinic for two ECOG scores, ticks each off as it arrives. Here
each field a pending patient waits on is one row, in the worklist's order (closest to
eligible first) and, within a patient, in the order the worklist names them:

- ``nmald_date``, ``nmald_status``: the patient's NMA-LD date and its status as the worklist says
  them (``not scheduled``, ``scheduled (in 8 days)``, ``date passed``): a lab window that ends at a
  date passed is closed, and a new sample counts only once NMA-LD is moved (the download adds the
  ``as_of`` date it counts to);
- ``field``: the field in the data dictionary's words, as the worklist names it (a lab test
  as "ANC result", its dates in ``collect_window``);
- ``collect_window``: for a lab result, the collection dates in which it counts (the engine's
  window for that patient and test), blank otherwise;
- ``criteria``: the unknown criteria that wait on it (a field two criteria wait on is one row);
- ``table``, ``column``, ``detail``: where it goes in the screening data (``therapies``,
  ``end_date``, ``line 2``), for whoever updates the extract;
- ``allowed``: what the cell accepts, in the contract's words (``yes or no``, ``one of negative,
  positive``; a lab result's value, unit, ULN and date, with the units its test allows);
- ``collected``: blank, for the coordinator to fill in (a date, "not done", a note).

Every pending patient appears, with at least one row (a pending patient has an unknown
criterion, and an unknown criterion names what would decide it); no other patient does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from ..contract.schema import CRITERION_IDS
from ..engine.evidence import TEXT, join_per_patient, text_series
from .field_requests import (allowed_values, condition, field_label, lab_windows, one_window, request_parts,
                             request_tokens)
from .worklist import WINDOW_CLOSED, DataCurrency, in_worklist_order, nmald_status, window_closed, worklist_rows

if TYPE_CHECKING:  # the protocol, for type checkers only
    from .summaries import ResultLike

FIELD_COLUMNS: tuple[str, ...] = ("patient_id", "site_id", "nmald_date", "nmald_status", "field", "collect_window",
                                  "criteria", "table", "column", "detail", "allowed", "collected")
"""Columns of :func:`collection_list`, one row per pending patient and field to collect."""
NO_FIELD_NAMED = "no field named by the screening: see why unknown in the pending worklist"
"""The field of a pending patient's row when the screening named none (not expected: every unknown names one)."""


def collection_list(result: ResultLike, patients: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """Each field a pending patient waits on, one row each, in the worklist's order.

    Parameters
    ----------
    result : ScreeningResult
        A screening (or a site's part of it): ``verdicts``, ``missing_data``, ``outcomes``, ``params``.
    patients : pandas.DataFrame
        The dataset's patients (for the worklist's order, as :func:`.worklist.plain_worklist`).
    as_of : DataCurrency
        The date the NMA-LD status counts to (``date passed``, ``scheduled (in 8 days)``).

    Returns
    -------
    pandas.DataFrame
        :data:`FIELD_COLUMNS`.
    """
    rows = worklist_rows(result, patients)
    # The worklist's order as one key (plain_worklist sorts by the same values): the screen
    # command's sliced and bucketed paths order these rows by that key, unsorted here.
    return finish_fields(field_rows(result, in_worklist_order(rows)), as_of)


def field_rows(result: ResultLike, rows: pd.DataFrame, carry: tuple[str, ...] = ()) -> pd.DataFrame:
    """:func:`collection_list`'s rows before the date they count to: ``lymphodepletion_date`` for the NMA-LD columns.

    Parameters
    ----------
    result : ScreeningResult
        The screening (or a slice or bucket of it) the worklist rows come from.
    rows : pandas.DataFrame
        :func:`.worklist.worklist_rows`' rows (``patient_id``, ``site_id``, ``lymphodepletion_date``) in
        the order the fields are listed in; a patient's fields follow in the order the worklist names them.
    carry : tuple of str
        Columns of ``rows`` repeated on each of the patient's fields (the screen command's order key).
    """
    pairs = _patient_fields(result.missing_data, rows["patient_id"])
    # One row per (patient, field), the criteria that wait on it joined in the engine's row order.
    # Group codes in order of first appearance: the k-th first row of a (patient, field) is group k.
    key = pairs["patient"].to_numpy() * max(len(pairs), 1) + pd.factorize(pairs["token"])[0]
    group, first = pd.factorize(key)[0], ~pd.Series(key).duplicated().to_numpy()
    criteria = text_series(join_per_patient(group, pa.array(pairs["criterion"], type=TEXT), int(first.sum()), "; "))
    fields = pairs[first].reset_index(drop=True).assign(criteria=criteria.array)
    fields = fields.sort_values("patient", kind="stable").reset_index(drop=True)  # rows' order, fields as named
    parts = _token_parts(fields["token"])
    patient = fields["patient"].to_numpy()
    frame = pd.DataFrame({
        "patient_id": rows["patient_id"].to_numpy()[patient], "site_id": rows["site_id"].to_numpy()[patient],
        "lymphodepletion_date": rows["lymphodepletion_date"].to_numpy()[patient],
        "field": parts["field"], "collect_window": parts["window"],
        "criteria": fields["criteria"].to_numpy(), "table": parts["table"],
        "column": parts["column"], "detail": parts["detail"], "allowed": parts["allowed"], "collected": "",
    })
    for column in carry:
        frame[column] = rows[column].to_numpy()[patient]
    return frame


def finish_fields(rows: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """:func:`field_rows`' rows with each patient's NMA-LD status at ``as_of``, in :data:`FIELD_COLUMNS`."""
    window = rows["collect_window"].astype(object)
    closed = window_closed(rows["lymphodepletion_date"], as_of) & (window != "").to_numpy(dtype=bool)
    return rows.assign(nmald_date=rows["lymphodepletion_date"],
                       nmald_status=nmald_status(rows["lymphodepletion_date"], as_of).to_numpy(),
                       collect_window=window.where(~closed, window + WINDOW_CLOSED).to_numpy())[list(FIELD_COLUMNS)]


def _patient_fields(missing: pd.DataFrame, ordered_ids: pd.Series) -> pd.DataFrame:
    """The engine's requests split into one row per field: ``patient`` (position in ``ordered_ids``),
    ``criterion``, ``token``; only the listed (pending) patients, blank fields dropped.

    A listed patient left without a field keeps one blank-token row (its criteria, if any): the
    engine names a field for every unknown, but the file must list every pending patient whatever
    it is given (review 25).
    """
    position = pd.Index(ordered_ids.astype(str)).get_indexer(missing["patient_id"].astype(str))
    mine = np.flatnonzero(position >= 0)
    row, tokens = request_tokens(missing["fields"].iloc[mine].astype(object))
    token = text_series(tokens).to_numpy(dtype=object)
    criterion = missing["criterion_id"].astype(str).to_numpy()[mine][row]
    pairs = pd.DataFrame({"patient": position[mine][row], "criterion": criterion, "token": token})
    named = (pairs["token"] != "").to_numpy()
    has_field = np.zeros(len(ordered_ids), dtype=bool)
    has_field[pairs["patient"].to_numpy()[named]] = True
    pairs = pairs[named | ~has_field[pairs["patient"].to_numpy()]]
    absent = np.setdiff1d(np.flatnonzero(~has_field), pairs["patient"].to_numpy())
    blank = pd.DataFrame({"patient": absent, "criterion": "", "token": ""})
    return pd.concat([pairs, blank], ignore_index=True) if absent.size else pairs.reset_index(drop=True)


def _token_parts(tokens: pd.Series) -> dict[str, np.ndarray]:
    """Per token: ``field``, ``window``, ``table``, ``column``, ``detail``, ``allowed`` (object arrays).

    A lab token carries its patient's window dates, so nearly every one is distinct: the window is
    dropped over the whole column (Arrow), each distinct rest read once (a few hundred), as the
    worklist does, and taken back per token; the dates are taken out of the lab tokens alone.
    """
    cells = pa.array(tokens.to_numpy(dtype=object), type=TEXT)
    codes, distinct = pd.factorize(text_series(one_window(cells)))
    read = [request_parts(str(token)) for token in distinct]
    lab = np.array([bool(window) for _, window, *_ in read], dtype=bool)  # read "(collected window)": a lab test
    # A lab test is "ANC result"; a blank token (the screening named no field) says so.
    field = [label + " result" if is_lab else label if str(token) != "" else NO_FIELD_NAMED
             for token, (label, *_), is_lab in zip(distinct, read, lab, strict=True)]
    parts = {"field": field, **{name: [r[k] for r in read] for k, name in ((2, "table"), (3, "column"), (4, "detail"))},
             "allowed": [allowed_values(*r[2:]) for r in read]}
    taken = {name: np.array(values, dtype=object)[codes] for name, values in parts.items()}
    window = np.full(len(codes), "", dtype=object)
    at = np.flatnonzero(lab[codes])
    window[at] = text_series(lab_windows(cells.take(pa.array(at)))).to_numpy(dtype=object)
    return {**taken, "window": window}


FIELD_SUMMARY_COLUMNS: tuple[str, ...] = ("field", "patients", "criteria", "table", "column")
"""Columns of :func:`fields_by_field`, one row per kind of field."""
FIELD_SUMMARY_NOTE = ("patients: pending patients waiting on the field (a lab test in each patient's own window; a "
                      "therapy field of any line). Each patient's fields are in the fields-to-collect file.")
"""The note under a page's fields-by-field table."""


def fields_by_field(fields: pd.DataFrame) -> pd.DataFrame:
    """The fields to collect counted by kind: how many pending patients wait on each, most first.

    A coordinator orders a batch ("12 HIV serologies, 7 ANC results"): one row per contract column
    (a lab test per test), whatever the line, toxicity or window of each patient's request.

    Parameters
    ----------
    fields : pandas.DataFrame
        :func:`collection_list`'s rows.

    Returns
    -------
    pandas.DataFrame
        :data:`FIELD_SUMMARY_COLUMNS`: ``field`` in the dictionary's words without a row's detail
        (``prior therapy end date``, ``ANC result``), ``patients`` (distinct), ``criteria`` (every
        criterion waiting on it, in protocol order); most patients first, then table, column and field.
    """
    if fields.empty:
        return pd.DataFrame(columns=list(FIELD_SUMMARY_COLUMNS))
    # A row the screening did not name (blank table) is its own kind, by its text; a field asked for only
    # on a condition is a kind of its own, named with it: "HBV PCR (if serology positive)" is not a PCR to
    # order for every patient counted (review 27).
    codes, places = pd.factorize(fields["table"] + "\t" + fields["column"] + "\t" + fields["detail"])
    asked_on = np.array([condition(*place.split("\t", 2)) for place in places], dtype=object)[codes]  # a few dozen
    # A lab result to collect is a row of the labs table, told apart by its test (the detail), not its column.
    column = fields["column"].where(fields["collect_window"] == "", fields["detail"])
    # Results of one day that disagree (labs, value, "test anc, results dated ..."): one kind per test.
    disagree = fields["detail"].str.extract(r"^test ([a-z_]+), results dated ", expand=False)
    column = column.where(disagree.isna(), disagree)
    kind = fields["table"].where(fields["table"] != "", fields["field"]) + "." + column + "|" + asked_on
    patients = fields.groupby(kind, sort=False)["patient_id"].nunique()
    leads = ~kind.duplicated()
    first = fields.loc[leads].set_index(kind[leads])
    named = [_kind_label(t, c, f, w, on) for t, c, f, w, on in  # one per kind (its column as kinds count it)
             zip(first["table"], column[leads], first["field"], first["collect_window"], asked_on[leads.to_numpy()],
                 strict=True)]
    waiting = fields.assign(kind=kind.to_numpy())[["kind", "criteria"]]
    pairs = waiting.assign(criterion=waiting["criteria"].str.split("; ")).explode("criterion")
    rank = pd.Index(CRITERION_IDS).get_indexer(pairs["criterion"])
    pairs = pairs.assign(rank=rank).sort_values(["kind", "rank"], kind="stable").drop_duplicates(["kind", "criterion"])
    criteria = pairs.groupby("kind", sort=False)["criterion"].agg("; ".join)
    table = pd.DataFrame({"field": named, "patients": patients.reindex(first.index).to_numpy(),
                          "criteria": criteria.reindex(first.index).fillna("").to_numpy(),
                          "table": first["table"].to_numpy(), "column": first["column"].to_numpy()})
    # Lab results share table and column (labs, value): their label ("ANC result") orders them.
    table = table.sort_values(["patients", "table", "column", "field"], ascending=[False, True, True, True],
                              kind="stable")
    return table.reset_index(drop=True)[list(FIELD_SUMMARY_COLUMNS)]


LAB_CELL_KINDS: dict[str, str] = {"value": "value", "unit": "unit", "uln": "ULN", "collected_date": "collected date",
                                  "test": "test name"}
"""A cell of a lab result on file, as a kind of field: "value of a lab result on file" (audit 42W: a bare
"value" or "unit" beside "ANC result" did not say which table's)."""


def _kind_label(table: str, column: str, field: str, window: str, asked_on: str = "") -> str:
    """A kind of field in the dictionary's words, without one row's line, term or window (with the
    condition it is asked on, if any)."""
    if not table:
        return field
    if window:  # a lab test: "ANC result", or "ANC result (if the result without a date ...)"
        return f"{field} ({asked_on})" if asked_on else field
    if table == "therapies" and column == "agents":
        return ("prior therapy agents (a name not in the drug dictionary: check the spelling, or ask for the drug "
                "to be added)")
    if table == "labs" and column in LAB_CELL_KINDS:
        return f"{LAB_CELL_KINDS[column]} of a lab result on file"
    if table == "labs":  # a test's results of one day that disagree (audit 42W: "ANC" beside "ANC result")
        return f"{field_label(f'labs.{column}')}: which of one day's results counts"
    return field_label(f"{table}.{column} ({asked_on})" if asked_on else f"{table}.{column}")
