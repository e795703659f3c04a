"""Display objects of the report notebooks: tables and headings as escaped, deterministic HTML.

Every table method of :class:`~.eligibility_report.EligibilityReport` returns an
:class:`HtmlTable` (or :class:`Tables`), whose ``_repr_html_`` is what a notebook shows.
Rendering rules, so that reports are safe and byte-for-byte reproducible:

- every value and header from the input is HTML-escaped (``DataFrame.to_html(escape=True)``,
  captions through :func:`html.escape`): a ``<script>`` in an evidence sentence, a waiver
  reason or a toxicity term is shown as text, never run;
- no index column, no element ids, no random uuids, no memory addresses, no timestamps;
- dates as ``YYYY-MM-DD``, shares as percentages with one decimal, booleans as
  ``yes``/``no`` (the engine's :func:`~..engine.evidence.format_scalar`, as in the
  evidence sentences).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contract.messages import counted
from ..engine.evidence import format_scalar

PERCENT_SUFFIXES: tuple[str, ...] = ("share", "rate", "ci_low", "ci_high")
"""Columns whose name ends with one of these hold fractions and are shown as percentages."""
COLUMN_TITLES: dict[str, str] = {
    "patient_id": "patient",
    "site_id": "site",
    "criterion_id": "criterion ID",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "any_failure": "any failure",
    "any_failure_share": "any failure (% of screened)",
    "sole_reason": "sole reason",
    "sole_reason_share": "sole reason (% of ineligible)",
    "eligible_share": "eligible (%)",
    "eligible_of_decided_share": "eligible of decided (%)",
    "unknown_rate": "unknown (% of screened)",
    "original_outcome": "outcome before waiver",
    "waived_finding": "what was waived",
    "approver_allowed": "approver's role may waive",
    "fields": "fields to collect",
    "nmald": "NMA-LD",
    "nmald_status": "NMA-LD status",
    "nmald_date": "NMA-LD date",
    "allowed": "allowed values",
    "collected": "collected (date or note)",
}
"""Column headers as shown; any other column is shown with ``_`` replaced by a space."""
PAGE_ROWS = 500
"""Per-patient tables show at most this many rows (those needing action first); the download has all.
The program screens hundreds of patients: 500 lists every one of the demo's 400 on the page
(200 left the newest half of the screening log to the download; audit, session 16), and a
page of 20,000 patients stays within docs/report-scale.md's 2 MB."""


@dataclass(frozen=True)
class HtmlTable:
    """A table that shows itself as escaped, deterministic HTML in a notebook.

    Attributes
    ----------
    frame : pandas.DataFrame
        The table to show, as returned by :mod:`.summaries`; it is formatted for reading
        (dates, percentages, blanks) at render time, not changed.
    caption : str
        One line above the table.
    note : str
        A footnote below the table.
    empty : str
        What to say instead of an empty table.
    blank_repeats : sequence of str
        Columns whose value is printed only when it changes from the row above (for
        grouped tables such as Table 1 and the worklist).
    """

    frame: pd.DataFrame
    caption: str = ""
    note: str = ""
    empty: str = "None."
    blank_repeats: Sequence[str] = ()
    max_rows: int | None = None
    download: str = ""

    @property
    def shown_rows(self) -> int:
        """Rows on the page: all, or the first :attr:`max_rows` when the table is longer."""
        return len(self.frame) if self.max_rows is None else min(len(self.frame), self.max_rows)

    def to_html(self) -> str:
        """Return the table as an HTML fragment with every input value escaped."""
        parts = ['<div class="lifileucel-table">']
        title = f"<strong>{escape(self.caption)}</strong>" if self.caption else ""
        if self.frame.empty:
            parts += [f"<p>{title}</p>"] if title else []
            parts.append(f"<p><em>{escape(self.empty)}</em></p>")
        else:
            shown = display_frame(self.frame.iloc[:self.shown_rows], blank_repeats=self.blank_repeats)
            # Patient and site first: the table class keeps those two cells on one line each.
            patients = list(self.frame.columns[:2]) == ["patient_id", "site_id"]
            classes = (["eap-patient-table", *(f"eap-words-{n}" for n in short_word_columns(shown))] if patients
                       else None)
            table = shown.to_html(index=False, escape=True, border=0, na_rep="", justify="left", classes=classes)
            if title:  # a <caption>: a screen reader announces it with the table; printed, it stays with it
                table = table.replace(">", f'>\n  <caption style="text-align: left">{title}</caption>', 1)
            parts.append(table)
            if self.shown_rows < len(self.frame):
                where = f" The full list is in the download: {self.download}." if self.download else ""
                parts.append(f'<p class="eap-truncated"><strong>Showing the first {self.shown_rows:,} of '
                             f"{len(self.frame):,} rows.</strong>{escape(where)}</p>")
        if self.note:
            parts.append(f"<p><small>{escape(self.note)}</small></p>")
        parts.append("</div>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        # text/plain of the notebook output: short and stable (the HTML carries the table).
        rows, columns = self.frame.shape
        title = self.caption or "table"
        return f"{title} [{counted(rows, 'row')} x {counted(columns, 'column')}]"


@dataclass(frozen=True)
class Tables:
    """Several tables (and sentences, :class:`Markup`) shown together: one notebook cell, one output."""

    tables: tuple[HtmlTable | Markup, ...]

    def _repr_html_(self) -> str:
        return "\n".join(table.to_html() for table in self.tables)

    def __repr__(self) -> str:
        return "\n".join(repr(table) for table in self.tables)


@dataclass(frozen=True)
class Markup:
    """HTML built by the report layer itself (links, lists), every data value already escaped."""

    html: str
    text: str = ""

    def to_html(self) -> str:
        """The HTML as given (every data value in it already escaped)."""
        return self.html

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text or "(links)"


@dataclass(frozen=True)
class Heading:
    """A heading line computed from the data (a site name); escaped like everything else."""

    text: str
    detail: str = ""

    def _repr_html_(self) -> str:
        detail = f"<p>{escape(self.detail)}</p>" if self.detail else ""
        return f"<h2>{escape(self.text)}</h2>{detail}"

    def __repr__(self) -> str:
        return self.text + (f"\n{self.detail}" if self.detail else "")


def escape(text: str) -> str:
    """Escape text for an HTML text node, as ``DataFrame.to_html(escape=True)`` does."""
    return html.escape(text, quote=False)


def column_title(name: object) -> str:
    """How a column is titled on a page and in its downloads (:data:`COLUMN_TITLES`, else ``_`` as a space)."""
    return COLUMN_TITLES.get(str(name), str(name).replace("_", " "))


def is_percent_column(name: str) -> bool:
    """Whether column ``name`` holds fractions shown as percentages (:data:`PERCENT_SUFFIXES`)."""
    return any(str(name).endswith(suffix) for suffix in PERCENT_SUFFIXES)


def format_value(value: object, percent: bool = False) -> str:
    """One cell as text: blanks ``""``, floats ``12.5%`` (``percent``) or ``%g``, dates
    ``YYYY-MM-DD``, booleans ``yes``/``no``, lists joined by ``"; "``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        return f"{value:.1%}" if percent else f"{value:g}"
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, bool | np.bool_):
        return format_scalar(bool(value))
    if isinstance(value, tuple | list):
        return "; ".join(str(v) for v in value)
    return str(value)


SHORT_CELL = 32
"""Characters of the longest cell a column of short texts holds (``2023-12-26: date passed``, ``no change``)."""
MAX_SHORT_WORD_COLUMN = 24
"""The last column position the page's style sheet has a short-text rule for."""


def short_word_columns(shown: pd.DataFrame) -> list[int]:
    """The 1-based positions, from the third on, of the columns of :func:`display_frame`'s ``shown``
    whose every cell has at most :data:`SHORT_CELL` characters: the page breaks their cells between
    words only (the runner's style sheet), so a date or "passed" is not cut in two (review 28C). The
    columns of sentences (what to collect, why unknown) may still break anywhere and share the rest of
    the width, so that a long column name in a sentence cannot push the table off the page."""
    return [n for n, column in enumerate(shown.columns[2:MAX_SHORT_WORD_COLUMN], start=3)
            if not len(shown) or shown[column].str.len().max() <= SHORT_CELL]


def display_frame(frame: pd.DataFrame, blank_repeats: Sequence[str] = ()) -> pd.DataFrame:
    """Return ``frame`` as strings for reading: dates, percentages, blanks, titled columns.

    Fractions in columns ending with :data:`PERCENT_SUFFIXES` become ``"12.5%"``; dates
    become ``YYYY-MM-DD``; blanks become ``""``; booleans ``yes``/``no`` (:func:`format_value`).
    Values are not escaped here (``to_html(escape=True)`` does that once, at the end).

    Raises
    ------
    ValueError
        When two columns would be shown under the same title.
    """
    shown = pd.DataFrame(index=range(len(frame)))
    for column in frame.columns:
        values = frame[column].reset_index(drop=True)
        percent = is_percent_column(column)
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%d").fillna("")
        elif isinstance(values.dtype, pd.StringDtype):
            text = values.fillna("")  # format_value of a text is the text, of a blank ""
        elif isinstance(values.dtype, pd.CategoricalDtype):
            # Each category shown once, then placed by code (-1, a blank, picks the trailing "").
            shown_categories = [format_value(v, percent) for v in values.cat.categories] + [""]
            text = pd.Series(np.array(shown_categories, dtype=object)[values.cat.codes.to_numpy()])
        elif pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:
            text = values.astype(str).astype(object)  # format_value of an integer is str(value)
        elif values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "string":
            # Texts and blanks only (a worklist's NMA-LD status): format_value of each, without a call each.
            text = values.where(values.notna(), "")
        else:
            text = values.astype(object).map(lambda v, p=percent: format_value(v, p))
        if column in blank_repeats:
            text = text.where(text.ne(text.shift()), "")
        title = column_title(column)
        if title in shown.columns:
            raise ValueError(f"two columns would both be titled {title!r}")
        shown[title] = text.astype(str)
    return shown
