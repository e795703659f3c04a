"""The fixed wording of the contract's messages, kept together so they read as one voice.

Each message says what is wrong and what to write instead; the problem it belongs to
adds the table, row, column and value. Messages built from the schema (allowed codes,
ranges, file names) are written where they are raised (:mod:`.reading`,
:mod:`.cell_parsing`, :mod:`.validation`).
"""

from __future__ import annotations

import unicodedata


def printable(name: object) -> str:
    """A file, sheet or column name for a message: control and format characters escaped.

    Names come from the user's files; a line break or a terminal escape in one must not
    forge a line of output (``error: ...``) or recolour the terminal.
    """
    text = str(name)
    if all(unicodedata.category(c) not in ("Cc", "Cf") for c in text):
        return text
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)

def noun_for(n: float, noun: str, many: str | None = None) -> str:
    """``noun`` for one, its plural for any other count: ``many``, or ``noun`` + "s".

    Messages say "1 problem" and "2 problems", not "problem(s)", which reads as a template
    left unfilled (audit 40A).

    Parameters
    ----------
    n : float
        The count (a limit such as 1.5 months is plural).
    noun : str
        The singular; may carry its verb ("patient needs").
    many : str, optional
        The plural where it is not ``noun`` + "s" ("patients need").

    Returns
    -------
    str
    """
    return noun if n == 1 else (many if many is not None else noun + "s")


def counted(n: int, noun: str, many: str | None = None) -> str:
    """A count with its noun in the right number: "1 problem", "10,240 problems".

    Parameters
    ----------
    n : int
        The count, written with thousands separators.
    noun, many : str
        As :func:`noun_for`.

    Returns
    -------
    str
    """
    return f"{n:,} {noun_for(n, noun, many)}"


# The dataset as a whole (:mod:`.reading`, and the reports' path rule).
MSG_NO_DATASET = ("no such file or folder{where}: give a folder of the tables' CSV or Parquet files, an .xlsx "
                  "workbook or a REDCap export, absolute or relative to the working directory{or_root}")
"""A dataset path found nowhere; ``where`` names the places looked at, ``or_root`` the project root."""

# Cell values (:mod:`.cell_parsing`).
MSG_NOT_ISO = (
    "not an ISO date: use YYYY-MM-DD (e.g. 2026-03-02); other layouts such as "
    "03/02/2026 are refused because day and month could be swapped"
)
MSG_IMPOSSIBLE_DATE = "no such calendar date: expected a real date YYYY-MM-DD"
MSG_TIME_OF_DAY = "has a time of day: expected a date YYYY-MM-DD without time"
MSG_NOT_FINITE = "not a finite number"
MSG_PLACEHOLDER = "a placeholder, not a value: leave the cell blank if not recorded (blank = unknown); otherwise"
MSG_EXCEL_ERROR = "an Excel error value: correct the formula or type the value; expected"
MSG_DATE_CELL_ID = ("an Excel date cell where a patient ID is expected (Excel turns IDs such as 1-5 into dates): "
                    "format the column as Text and type the ID again")
MSG_FORMULA = ("a formula, not a value: type the value (a workbook written by a program holds no computed result "
               "until it is opened and saved in Excel); expected")
MSG_NUMBER_SEPARATOR = ("not a number: write digits with a decimal point and no thousands separator (1500, 1.5); "
                        "expected")
MSG_DATE_SERIAL = ("not an ISO date but a number (an Excel date serial?): format the cells as dates, or type "
                   "YYYY-MM-DD")
MSG_DATE_RANGE = "implausible year (a typo?): expected a date from 1900-01-01 to 2099-12-31"

# Tables and cross-references (:mod:`.validation`; a duplicate column also in :mod:`.reading`).
MSG_NO_SUCH_PATIENT = "no such patient: this patient_id is not in the patients table"
MSG_OTHER_CASE = ("the patients table has it in another letter case, and IDs are compared exactly: "
                  "write it as there")
MSG_ULN_NEEDED = "blank, but required for ast and alt: give the lab's upper limit of normal (uln) in U/L"
MSG_ULN_NEEDED_NO_TEST = ("blank, but required: a result in U/L with a blank test is an ast or alt result, which needs "
                          "its upper limit of normal (uln) in U/L; give the uln (or the test and unit, if U/L is wrong)")
MSG_MISSING_COLUMN = "missing column: the contract requires it (keep the column and leave cells blank if not recorded)"
MSG_DUPLICATE_COLUMN = "column appears more than once in the header: keep one"
MSG_NO_PATIENTS = "no rows: a screening dataset lists at least one patient (is this the right file or sheet?)"

# Files and sheets (:mod:`.reading`).
MSG_NO_HEADER = "empty: expected a header row with the contract's column names"
MSG_MERGED = ("merged cells: unmerge them and type the value into every cell (a merged range keeps its value "
              "in its first cell only; the others would read as blank)")


class ShownAsMessage:
    """Mixin for errors whose message says all a user needs (a bad cell, path or parameter).

    IPython shows an exception that has ``_render_traceback_`` by the lines it returns: in a
    notebook the analyst sees the message, not a screen of the package's frames above it
    (review 24C; a line naming the package function that raised it was noise to them, review
    25). The exception itself is unchanged: the command line, ``except`` clauses and a debugger
    (``%debug``) see the same type, message and traceback. A notebook run by papermill records the
    error output as rendered, the message alone (a failed report's page shows it; the build's log
    names the error by type and message, as before).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]
