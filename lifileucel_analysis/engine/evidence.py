"""Evidence sentences and decision parts, built over whole columns.

A criterion is decided by *rules* (first match wins) that each carry an outcome and an
evidence template such as ``"ECOG {ecog} > {max}"``. Templates are filled with
column values only on the rows a rule decides, by Arrow string kernels, so no Python code
runs per patient. Text stays in Arrow (``large_string``) end to end: converting millions
of short strings to Python objects and back is what a naive version spends its time on.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.messages import counted
from .decimals import decimal_text
from .nullable import surely
from .outcome import CODE, Outcome, all_of_codes

Column = pd.Series | pa.Array | pa.ChunkedArray | np.ndarray
Value = Column | str | int | float | bool
BLANK = "blank"
STR = pd.StringDtype(na_value=np.nan)
TEXT = pa.large_string()


def as_arrow(values: Column) -> pa.Array:
    """View a column as one Arrow array (zero-copy where pandas already holds Arrow data)."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    array = pa.array(values, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def join_nonempty(pieces: Sequence[pd.Series], sep: str) -> pd.Series:
    """Join aligned ``str`` columns row by row with ``sep``, skipping empty strings.

    ``join_nonempty([said, asked], "; ")``: "a; b", "a", "b" or "". The pieces hold ""
    (never NaN) where they say nothing; the index of the first piece is kept.
    """
    joined = pieces[0].astype(str)
    for piece in pieces[1:]:
        piece = piece.astype(str)
        joined = (joined + sep + piece).where((joined != "") & (piece != ""), joined + piece)
    return joined


def day_count(days: pd.Series) -> pa.Array:
    """Whole days as evidence says them: "1 day", "14 days" (null where blank), over the column in Arrow."""
    counts = pa.array(days.astype("Int64"), type=pa.int64(), from_pandas=True)
    unit = pc.if_else(pc.equal(counts, 1), pa.scalar(" day", TEXT), pa.scalar(" days", TEXT))
    return pc.binary_join_element_wise(counts.cast(TEXT), unit, pa.scalar("", TEXT))


def days_from(days: pd.Series, anchor: str) -> pa.Array:
    """A signed day count said from ``anchor``: "14 days before consent", for a negative count
    "17 days after consent", for none "the day of consent" (null where blank; audit 28A: a
    stable-since date after consent read "-17 days before consent"; audit 29A: "0 days before consent")."""
    after = pa.array((days < 0).to_numpy(dtype=bool, na_value=False))
    side = pc.if_else(after, pa.scalar(f" after {anchor}", TEXT), pa.scalar(f" before {anchor}", TEXT))
    counted = pc.binary_join_element_wise(day_count(days.abs()), side, pa.scalar("", TEXT))
    same_day = pa.array((days == 0).to_numpy(dtype=bool, na_value=False))
    return pc.if_else(same_day, pa.scalar(f"the day of {anchor}", TEXT), counted)


def iso_dates(dates: pd.Series) -> pd.Series:
    """Dates as ``YYYY-MM-DD`` text for sentences built outside a rule's template (NaN where blank).

    Arrow's date32 prints ISO itself: three times faster than pandas' ``strftime`` over a column
    (1,000,000 dates: 0.10 s against 0.30 s), the same text for the contract's years (1900-2099).
    """
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    text = pa.array(values, from_pandas=True).cast(pa.date32(), safe=False).cast(pa.string())
    return pd.Series(pd.array(text, dtype=STR), index=dates.index)


def text_series(text: pa.Array) -> pd.Series:
    """Wrap Arrow text as a pandas ``str`` Series without copying."""
    return pd.Series(pd.array(text.cast(TEXT), dtype=STR))


def format_scalar(value: object) -> str:
    """Format one parameter or value for an evidence sentence."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.15g}" if np.isfinite(value) else BLANK  # every typed digit, no binary residue
    return str(value)


def format_column(values: Column) -> pa.Array:
    """Format a column for evidence: numbers as typed, dates ISO, booleans yes/no, blanks 'blank'."""
    array = as_arrow(values)
    kind = array.type
    if pa.types.is_dictionary(kind):
        array, kind = array.cast(kind.value_type), kind.value_type
    if pa.types.is_boolean(kind):
        text = pc.if_else(array, "yes", "no")
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        # A date32 prints as ISO "YYYY-MM-DD" itself, faster than strftime formats a timestamp (iso_dates).
        text = array.cast(pa.date32(), safe=False)
    elif pa.types.is_floating(kind):
        # Every digit the site typed: a value rounded for show could read against its outcome.
        text = decimal_text(array.to_numpy(zero_copy_only=False))
    else:
        text = array.cast(pa.string())
    return pc.fill_null(text.cast(TEXT), BLANK)


class _Columns:
    """The columns of a rule set as Arrow arrays, converted once and on demand."""

    def __init__(self, values: Mapping[str, Value]) -> None:
        self._values = values
        self._arrow: dict[str, pa.Array] = {}

    def piece(self, name: str, spec: str, index: np.ndarray) -> str | pa.Array:
        value = self._values[name]
        if not isinstance(value, (pd.Series, pa.Array, pa.ChunkedArray, np.ndarray)):
            return format(value, spec) if spec else format_scalar(value)
        if name not in self._arrow:
            self._arrow[name] = as_arrow(value)
        return format_column(self._arrow[name].take(index))


def render(template: str, values: Mapping[str, Value] | _Columns, index: np.ndarray) -> str | pa.Array:
    """Fill ``template`` for the rows at positions ``index``.

    Parameters
    ----------
    template : str
        A ``str.format``-style template; each field names a key of ``values``.
    values : mapping
        Columns (positional, aligned with the patients) or scalars.
    index : numpy.ndarray of int
        The positions to render.

    Returns
    -------
    str or pyarrow.Array
        A plain string when the template reads no column (the same sentence for every
        row), else one sentence per position.
    """
    columns = values if isinstance(values, _Columns) else _Columns(values)
    pieces: list[str | pa.Array] = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        pieces.append(literal)
        if name is not None:
            pieces.append(columns.piece(name, spec or "", index))
    if all(isinstance(p, str) for p in pieces):
        return "".join(pieces)  # type: ignore[arg-type]
    arrays = [pa.scalar(p, TEXT) if isinstance(p, str) else p for p in pieces if not (isinstance(p, str) and p == "")]
    return pc.binary_join_element_wise(*arrays, pa.scalar("", TEXT))


@dataclass(frozen=True)
class Text:
    """One sentence per patient, held as a pool of renderings plus each patient's index into it.

    Renderings are gathered into patient order only once, when the outcomes table is
    built: every intermediate ``take`` of long sentences would copy them again. A sentence
    that does not depend on the patient sits in the pool once.
    """

    pool: pa.Array
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def constant(cls, text: str, n: int) -> Text:
        """The same sentence for ``n`` patients."""
        return cls(pa.array([text], type=TEXT), np.zeros(n, dtype=np.int64))

    @classmethod
    def from_groups(cls, groups: Sequence[tuple[np.ndarray, str | pa.Array]], n: int) -> Text:
        """Build from disjoint row groups, each with one sentence or one sentence per row."""
        pool: list[pa.Array] = []
        index = np.zeros(n, dtype=np.int64)
        offset = 0
        for rows, text in groups:
            chunk = pa.array([text], type=TEXT) if isinstance(text, str) else text.cast(TEXT)
            index[rows] = offset if isinstance(text, str) else offset + np.arange(len(rows))
            pool.append(chunk)
            offset += len(chunk)
        return cls(pa.concat_arrays(pool) if pool else pa.array([], type=TEXT), index)

    def take(self, rows: np.ndarray) -> pa.Array:
        """The sentences of the patients at ``rows``, as an Arrow array."""
        return self.pool.take(self.index[rows])

    def materialize(self) -> pa.Array:
        """Every patient's sentence, in patient order."""
        return self.pool.take(self.index)

    def nonempty(self) -> np.ndarray:
        """Whether each patient's sentence is non-empty."""
        return pc.not_equal(self.pool, "").to_numpy(zero_copy_only=False)[self.index]

    def with_sentences(self, rows: np.ndarray, sentences: pa.Array) -> Text:
        """This text with new sentences for the patients at ``rows`` (one each, in order).

        The new sentences are appended to the pool and only those patients' indices move:
        the few patients a criterion re-words are not worth copying every sentence for.
        """
        index = self.index.copy()
        index[rows] = len(self.pool) + np.arange(len(rows))
        return Text(pa.concat_arrays([self.pool.cast(TEXT), sentences.cast(TEXT)]), index)

    def where(self, keep: np.ndarray, other: str = "") -> Text:
        """Keep the sentence where ``keep`` holds, else ``other``."""
        pool = pa.concat_arrays([self.pool, pa.array([other], type=TEXT)])
        return Text(pool, np.where(keep, self.index, len(self.pool)))


def groups_of(labels: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The rows of each distinct value of ``labels`` (non-negative integers), with one sort."""
    order = np.argsort(labels, kind="stable")
    values, starts = np.unique(labels[order], return_index=True)
    return list(zip(values.tolist(), np.split(order, starts[1:])))


@dataclass(frozen=True)
class Rule:
    """One branch of a decision list: where ``when`` holds, the outcome is ``outcome``."""

    when: np.ndarray | pd.Series | bool
    outcome: Outcome
    template: str
    needs: str = ""
    """For unknown outcomes: the fields to collect (``table.column``), as a template too."""


@dataclass(frozen=True)
class Part:
    """A decided part of a criterion: outcome codes, evidence and fields to collect, per patient.

    ``needs`` is "" where nothing is to be collected.
    """

    codes: np.ndarray
    evidence: Text
    needs: Text = field(repr=False)

    def __len__(self) -> int:
        return len(self.codes)


def _mask(when: np.ndarray | pd.Series | bool, n: int) -> np.ndarray:
    if isinstance(when, (bool, np.bool_)):
        return np.full(n, bool(when))
    if isinstance(when, pd.Series):
        return surely(when).to_numpy(dtype=bool)
    return np.asarray(when, dtype=bool)


def _assemble(which: np.ndarray, templates: Sequence[str], columns: _Columns) -> Text:
    """Render each rule's template on the rows it decided (a constant sentence once)."""
    groups = [(rows, render(templates[k], columns, rows) if templates[k] else "") for k, rows in groups_of(which)]
    return Text.from_groups(groups, len(which))


class DecisionListError(RuntimeError):
    """A criterion's decision list left some patient without an outcome (a bug in the rules, not bad data)."""


def decide(n: int, rules: Sequence[Rule], values: Mapping[str, Value]) -> Part:
    """Apply a first-match decision list to ``n`` patients.

    Raises
    ------
    DecisionListError
        If some patient matches no rule: every decision list must be total.
    """
    codes = np.full(n, 255, dtype=np.uint8)
    which = np.full(n, -1, dtype=np.int16)
    open_rows = np.ones(n, dtype=bool)
    for k, rule in enumerate(rules):
        rows = open_rows & _mask(rule.when, n)
        codes[rows] = CODE[rule.outcome]
        which[rows] = k
        open_rows &= ~rows
    if open_rows.any():  # not an assert: `python -O` would leave those patients without an outcome
        raise DecisionListError(f"decision list not total: {counted(int(open_rows.sum()), 'patient')} matched no rule")
    columns = _Columns(values)
    evidence = _assemble(which, [r.template for r in rules], columns)
    needs = _assemble(which, [r.needs for r in rules], columns)
    return Part(codes, evidence, needs)


def _join(texts: Sequence[Text], keep: Sequence[np.ndarray], sep: str) -> Text:
    """Join the kept, non-empty sentences of several aligned texts with ``sep``.

    Rows are grouped by which texts they keep (a few patterns, one bit per text); each
    pattern joins exactly its texts on its rows, so no separator needs trimming.
    """
    bits = np.zeros(len(texts[0]), dtype=np.int64)
    for i, (text, k) in enumerate(zip(texts, keep)):
        bits |= (np.asarray(k, dtype=bool) & text.nonempty()).astype(np.int64) << i
    groups: list[tuple[np.ndarray, str | pa.Array]] = []
    for pattern, rows in groups_of(bits):
        chosen = [t.take(rows) for i, t in enumerate(texts) if pattern >> i & 1]
        if not chosen:
            groups.append((rows, ""))
        else:
            groups.append((rows, chosen[0] if len(chosen) == 1 else
                           pc.binary_join_element_wise(*chosen, pa.scalar(sep, TEXT))))
    return Text.from_groups(groups, len(bits))


def named_once(needs: Text, field: str) -> Text:
    """``needs`` with ``field`` named once where two parts of a criterion both ask for it.

    I7's AST and ALT parts each ask for ``patients.liver_metastases`` when its answer decides their
    limit (audit 42W: "patients.liver_metastases; patients.liver_metastases", and "I7; I7" in the
    fields file). Only the few patients whose fields name it twice are re-joined.

    Parameters
    ----------
    needs : Text
        Per patient, the fields a criterion asks for, ``"; "``-joined.
    field : str
        The field two parts may both ask for (``patients.liver_metastases``).

    Returns
    -------
    Text
        ``needs`` with every field of those patients named once, in the order first named.
    """
    twice = pc.count_substring(needs.pool.cast(TEXT), field).to_numpy() > 1
    rows = np.flatnonzero(twice[needs.index])
    if not len(rows):
        return needs
    return needs.with_sentences(rows, fields_once(needs.take(rows)))


def fields_once(cells: pa.Array) -> pa.Array:
    """Each ``"; "``-joined cell of fields with every field named once, in the order first named (for
    the few cells where two parts may ask for the same field)."""
    if not len(cells):
        return cells.cast(TEXT)
    fields = pd.Series(cells.to_numpy(zero_copy_only=False)).str.split("; ").explode()
    kept = fields[~fields.reset_index().duplicated().to_numpy()]
    return pa.array(kept.groupby(level=0).agg("; ".join).to_numpy(), TEXT)


def join_texts(texts: Sequence[Text], sep: str = "; ") -> Text:
    """Join aligned texts with ``sep``, skipping empty ones (:func:`_join` keeping every text)."""
    return _join(texts, [np.ones(len(texts[0]), dtype=bool)] * len(texts), sep)


UNDECIDED = "undecided:"
"""Before the names of a failed criterion's parts that the data leave open (:func:`combine`'s ``open_names``)."""


def combine(parts: Sequence[Part], sep: str = "; ", open_names: Sequence[str] | None = None) -> Part:
    """Combine parts with the all-of truth table.

    The evidence keeps the parts that explain the result: the failing parts of a fail,
    the unknown parts of an unknown, every part of a pass. Fields to collect are those of
    the unknown parts. With ``open_names`` (one per part) a fail also names its unknown parts
    after :data:`UNDECIDED` ("platelets 69 x10^9/L ... < 100 x10^9/L; undecided: hemoglobin,
    creatinine clearance"): a monitor asked to waive the criterion for the part that fails
    sees what the data have not decided (audit 35A: a waiver for a low platelet count would
    also cover a creatinine clearance never measured, unsaid). Names only: the fail stays short.
    """
    codes = all_of_codes(*(p.codes for p in parts))
    explains = [p.codes == codes for p in parts]
    evidence = _join([p.evidence for p in parts], explains, sep)
    unknown = [p.codes == CODE[Outcome.UNKNOWN] for p in parts]
    needs = _join([p.needs for p in parts], unknown, "; ")
    if open_names is not None:
        n, failed = len(codes), codes == CODE[Outcome.FAIL]
        named = _join([Text.constant(name, n) for name in open_names], [u & failed for u in unknown], ", ")
        said = named.nonempty()
        undecided = _join([Text.constant(UNDECIDED, n), named], [said, said], " ")
        evidence = join_texts([evidence, undecided], sep)
    return Part(codes, evidence, needs)


def blank_fields(fields: Mapping[str, np.ndarray | pd.Series]) -> pa.Array:
    """Name, per patient, the fields whose mask is true, joined by ``"; "``.

    Used for the fields to collect: ``{"patients.ecog": ecog.isna()}``.
    """
    masks = [_mask(mask, len(mask)) for mask in fields.values()]
    labels = [Text.constant(label, len(m)) for label, m in zip(fields, masks)]
    return _join(labels, masks, "; ").materialize()


def join_per_patient(pos: np.ndarray, text: Column, n: int, sep: str = ", ") -> pa.Array:
    """Join event-row texts per patient, in row order, without a loop over patients.

    Rows are ordered by patient (stably), cut into one list per patient by offsets, and
    each list joined by Arrow's ``binary_join``.
    """
    order = np.argsort(pos, kind="stable")
    values = as_arrow(text).cast(TEXT).take(order) if len(pos) else pa.array([], type=TEXT)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pos, minlength=n), out=offsets[1:])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    return pc.fill_null(pc.binary_join(lists, pa.scalar(sep, TEXT)), "").cast(TEXT)


def enclosed_if_any(text: pa.Array, before: str, after: str = "") -> pa.Array:
    """``before + text + after`` where ``text`` is not empty, else "": a clause that appears only for
    the patients it names ("; not counted: line 1 ...", " (line 2 ... counted either way ...)")."""
    joined = pc.binary_join_element_wise(pa.scalar(before, TEXT), text.cast(TEXT), pa.scalar(after, TEXT),
                                         pa.scalar("", TEXT))
    return pc.if_else(pc.equal(text, ""), pa.scalar("", TEXT), joined)


def joined_by_key(keys: np.ndarray, text: Column, sep: str) -> pd.Series:
    """Join texts that share an integer key, in their row order, without a loop over the keys.

    For a few keys among many possible ones (a data cut's cells, patients x criteria), where
    :func:`join_per_patient`'s dense offsets would be as long as the cohort.

    Returns
    -------
    pandas.Series
        Per distinct key (the index, increasing), its texts joined by ``sep``; ``object`` strings.
    """
    order = np.argsort(keys, kind="stable")
    distinct, counts = np.unique(keys[order], return_counts=True)
    offsets = np.zeros(len(distinct) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    values = as_arrow(text).cast(TEXT).take(order) if len(keys) else pa.array([], type=TEXT)
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), values), pa.scalar(sep, TEXT))
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=distinct, dtype=object)


COLLECTED_IN = "collected"
"""A lab request's window: ``labs.anc (collected 2025-02-01 to 2025-03-29)`` (:func:`lab_request`)."""
IF_RECEIVED = "if received"
"""A field asked for only if a yes/no is yes: ``patients.live_vaccine_date (if received)``."""
IF_ADJUVANT = "if adjuvant or neoadjuvant"
"""A line's dates asked for only if its blank setting is adjuvant: ``therapies.end_date (line 2, if adjuvant or
neoadjuvant)``."""
IF_POSITIVE = "if serology positive"
"""The HBV PCR asked for beside a blank serology, only if that is positive: ``patients.hbv_pcr (if serology
positive)``."""
IF_FEMALE = "if female"
"""Pregnancy and breastfeeding asked for beside a blank sex, needed only for a female (spec: "needed for
`female`"): ``patients.pregnant (if female)``."""
IF_BRAIN = "if brain metastases"
"""E5's follow-up fields asked for beside a blank ``brain_metastases``, needed only for a "yes":
``patients.brain_metastases_treated (if brain metastases)``."""
IF_STAGE_III = "if stage III, IIIC or IIID"
"""Resectability asked for beside a blank AJCC stage, needed only for stage III (without sub-group), IIIC or
IIID (stage IV passes whatever it is, IIIA/IIIB fail): ``patients.disease_unresectable (if stage III, IIIC or
IIID)``. The worklist reads these phrases, and :data:`LAB_CONDITIONS` (``report/field_requests.py``): written once,
here."""
IF_UNDATED = "if the result without a date was collected outside that window"
"""A lab result asked for beside a result of the test without a collected date, needed only if that one
falls outside the window: ``labs.anc (collected 2025-02-01 to 2025-03-29, if the result without a date was
collected outside that window)`` (audit 42W: a new blood draw read as needed whatever the date)."""
IF_UNNAMED = "if the result without a test name is another test's"
"""A lab result asked for beside a result without a test name that may be this test's, needed only if it
is not: ``labs.anc (collected ..., if the result without a test name is another test's)``."""
LAB_CONDITIONS = (IF_UNDATED, IF_UNNAMED)
"""The conditions a lab request may carry after its window (:func:`lab_request`)."""
CLASSIFY_AGENT = "classify agent"
"""An unclassified agent's request: ``classify agent 'x' (therapies line 2)``; the worklist reads it, and I2's
sentence says it as what would decide (``the class of agent 'x' ...``)."""


def lab_request(test: str, condition: str = "") -> str:
    """The request for a lab test's result, its window left as the ``{window}`` placeholder of a rule's template,
    and the condition it is asked on, if any (one of :data:`LAB_CONDITIONS`)."""
    return f"labs.{test} ({COLLECTED_IN} {{window}}{', ' + condition if condition else ''})"


def quoted_in_request(text: Column) -> pa.Array:
    """Site text (a toxicity term, an agent name) as a request quotes it: each ``;`` written ``,``.

    A request's fields are separated by ``"; "`` ("patients.ecog; labs.anc (collected ...)"), which the
    worklist splits on; a term such as "rash; pruritus" would otherwise read as two fields (review 23B).
    """
    return pc.replace_substring(as_arrow(text).cast(TEXT), ";", ",")
