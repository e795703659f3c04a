"""Named helpers for yes/no columns with blanks (three-valued: yes, no, blank).

A blank is *unknown*, never yes and never no. Comparing a nullable column with ``== True``
hides that choice (and needs ``# noqa: E712``); these helpers name it, in the style of
ehrQL's ``is_null`` / ``when_null_then``. Each returns a plain boolean Series, aligned with
its input, with no blanks left: the name says which way a blank went.

====================  =====  =====  =====
helper                yes    no     blank
====================  =====  =====  =====
``is_yes``            True   False  False
``is_no``             False  True   False
``is_blank``          False  False  True
``yes_or_blank``      True   False  True
``no_or_blank``       False  True   True
``surely``            True   False  False
``possibly``          True   False  True
====================  =====  =====  =====

``surely`` and ``possibly`` read a *condition* computed from columns with blanks
(``grade == 5``, ``recurrence <= limit``) as ``is_yes`` and ``yes_or_blank`` read a recorded
yes/no column. A comparison of a nullable column (``Int64``, ``boolean``) is blank where the
column is, and the name says whether that blank makes the condition hold; a comparison that
cannot be blank (dates: a blank date compares False) reads the same through them, so the
call site still says which way a blank is meant to go.
"""

from __future__ import annotations

import pandas as pd


def is_blank(values: pd.Series) -> pd.Series:
    """True where the value is not recorded."""
    return values.isna()


def when_blank_then(values: pd.Series, value: bool) -> pd.Series:
    """A yes/no column with every blank read as ``value`` (ehrQL's ``when_null_then``)."""
    return values.astype("boolean").fillna(value).astype(bool)


def is_yes(values: pd.Series) -> pd.Series:
    """True where the value is recorded as yes; a blank is not yes."""
    return when_blank_then(values, False)


def is_no(values: pd.Series) -> pd.Series:
    """True where the value is recorded as no; a blank is not no."""
    return ~when_blank_then(values, True)


def yes_or_blank(values: pd.Series) -> pd.Series:
    """True where the value is yes or could be (blank): 'not known to be no'."""
    return when_blank_then(values, True)


def no_or_blank(values: pd.Series) -> pd.Series:
    """True where the value is no or could be (blank): 'not known to be yes'."""
    return ~when_blank_then(values, False)


def surely(condition: pd.Series) -> pd.Series:
    """True only where ``condition`` is known to hold (plain ``bool``; a blank condition is False).

    For a condition built from columns with blanks, where only a sure case may act (a finding, a
    sure fail): ``surely(grade == 5)`` is False on a blank grade. :func:`is_yes`'s reading, named
    for a derived condition rather than a recorded column.
    """
    return when_blank_then(condition, False)


def possibly(condition: pd.Series) -> pd.Series:
    """True unless ``condition`` is known not to hold (plain ``bool``; a blank condition is True).

    For a condition where every case that may hold must be kept (a row that could still match, a
    reading still open): ``possibly(sex != "male")`` is True on a blank sex. :func:`yes_or_blank`'s
    reading, named for a derived condition.
    """
    return when_blank_then(condition, True)
