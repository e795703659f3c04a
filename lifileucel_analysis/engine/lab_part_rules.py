"""The rules of one I7 lab part: the result that counts against its limit, and why it is open.

Each part is one decision list (:func:`.evidence.decide`) over :class:`.lab_results.LabResult`:
fail or pass where every reading of the counting day agrees, else the branch that names what
is missing (no result in the window, a blank value or unit, a row without a collected date
or test name, results of one day that disagree) and asks for it. ``criteria_inclusion.i7_labs``
combines the seven parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.schema import UNIT_FACTORS
from .common_rules import F, P, U, column
from .decimals import on_decimal_grid
from .evidence import IF_UNDATED, IF_UNNAMED, TEXT, Part, Rule, decide, format_column, iso_dates, lab_request
from .facts import Facts, LabResult
from .lab_results import shown_unit, window_start
from .nullable import is_no, is_yes
from .parameters import CriteriaParams

__all__ = ["Window", "lab_max_part", "lab_min_part", "lab_window", "window_text"]


@dataclass(frozen=True)
class Window:
    """Per patient: the lab window as text, whether it can be placed at all, whether only its
    latest possible start is known (consent blank, NMA-LD recorded), its first day as text,
    whether it has no end yet (consent recorded, NMA-LD not scheduled), and whether it is empty
    (NMA-LD dated before its first day: no result can count)."""

    text: pd.Series
    placed: np.ndarray
    open_start: np.ndarray
    start: pd.Series
    open_end: np.ndarray
    empty: np.ndarray


def lab_window(f: Facts, p: CriteriaParams) -> Window:
    """The window a lab result must fall in, said with its dates ("2025-01-29 to 2025-03-01")."""
    consent, ld = column(f, "consent_date"), column(f, "lymphodepletion_date")
    open_start = consent.isna() & ld.notna()
    first_day = _first_day(consent, ld, p.lab_lookback_days)
    start = iso_dates(pd.Series(first_day, index=consent.index))
    return Window(_window_text(start, ld), (consent.notna() | ld.notna()).to_numpy(), open_start.to_numpy(), start,
                  (consent.notna() & ld.isna()).to_numpy(), ld.to_numpy(dtype="datetime64[ns]") < first_day)


def window_text(consent: pd.Series, lymphodepletion: pd.Series, lookback_days: int) -> pd.Series:
    """Each patient's lab window as the engine words it: ``2025-01-29 to 2025-03-01``, ``2025-01-29
    onwards (NMA-LD not scheduled)``, ``""`` where it cannot be placed (both dates blank).

    The start is the one :func:`.lab_results.latest_labs` uses; without a consent date, its latest
    possible value (``lookback_days`` before NMA-LD). The worklist says the same window.
    """
    return _window_text(_start_text(consent, lymphodepletion, lookback_days), lymphodepletion)


def _first_day(consent: pd.Series, lymphodepletion: pd.Series, lookback_days: int) -> np.ndarray:
    """The window's first day (NaT where it cannot be placed): :func:`.lab_results.window_start`."""
    return window_start(consent.to_numpy(dtype="datetime64[ns]"), lymphodepletion.to_numpy(dtype="datetime64[ns]"),
                        lookback_days)


def _start_text(consent: pd.Series, lymphodepletion: pd.Series, lookback_days: int) -> pd.Series:
    """The window's first day as ``YYYY-MM-DD`` (NaN where it cannot be placed)."""
    return iso_dates(pd.Series(_first_day(consent, lymphodepletion, lookback_days), index=consent.index))


def _window_text(start: pd.Series, lymphodepletion: pd.Series) -> pd.Series:
    end = iso_dates(lymphodepletion.set_axis(start.index))
    text = (start + " to " + end).where(lymphodepletion.notna().to_numpy(), start + " onwards (NMA-LD not scheduled)")
    return text.fillna("").astype(str)


def _missing_lab(lab: LabResult, name: str, test: str, window: Window) -> list[Rule]:
    """The unknown branches of a lab part without a result: which window, and whether a
    result exists outside it."""
    none = lab.possible.isna()
    return [
        Rule(none & ~window.placed, U, f"no {name} result can be placed: consent date not recorded (consent_date)",
             "patients.consent_date"),
        # An earlier result that an earlier consent date could bring into the window: the consent
        # date is asked once for all tests (:func:`i7_labs`). Without one, no consent date can
        # help: the result itself is to be collected, as when the consent date is known.
        Rule(none & window.open_start & lab.earlier, U, f"no {name} result {{window}}", ""),
        # A new result is needed only if the one on file is not in the window (or not this test's): asked on
        # that condition, so that neither the sort nor a batch order counts it as a draw (audit 42W).
        Rule(none & lab.undated, U, f"no dated {name} result {{window}}; a result without a collected date "
             "(collected_date) is on file", f"labs.collected_date ({name} result without a date); "
             + lab_request(test, IF_UNDATED)),
        Rule(none & lab.untested, U, f"no {name} result {{window}}; a result without a test name (test) is on file",
             f"{_unnamed(name)}; " + lab_request(test, IF_UNNAMED)),
        Rule(none & lab.outside, U, f"no {name} result {{window}}; the latest on file is dated {{outside_latest}}, "
             "outside that window", lab_request(test)),
        Rule(none, U, f"no {name} result on file", lab_request(test)),
    ]


def _blank_in_row(lab: LabResult, name: str, shown: str, condition_open: np.ndarray | bool = False,
                  condition_field: str = "") -> Rule:
    """The unknown branch of a result whose value or unit is blank: it could fall on either side.

    Where ``condition_open``, the blank ``condition_field`` is to be collected too.
    """
    # Only of a dated, named row: a row without a date or test is asked for that first (_undated,
    # _untested); "the ANC result dated ..." would name a row it may not be (audit, session 19).
    blank = (lab.blank != "").to_numpy() & ~lab.undated_end.to_numpy() & ~lab.untested_end.to_numpy()
    text = shown + ": its {blank} is not recorded, so it may pass or fail"
    needs = f"labs.{{blank}} ({name} result dated {{raw_date}})"
    if condition_field:
        blank, text = blank & condition_open, text + f"; {condition_field} not recorded"
        needs += f"; patients.{condition_field}"
    return Rule(blank, U, text, needs)


def _blank_in_open_row(lab: LabResult, name: str) -> list[Rule]:
    """The unknown branches of a blank value or unit where a row without a test name or a date is
    one end of the counting day's range.

    The blank row itself without a test or date: every blank cell of it is asked for, and the row
    is named by what it may be, not by a date it lacks. A dated, named blank row beside such a row:
    its blank and the other row's missing cell are asked for, each of its own row.
    """
    blank = (lab.blank != "").to_numpy()
    own = np.zeros(len(blank), dtype=np.int8) if lab.possible_open is None else lab.possible_open
    undated, untested = lab.undated_end.to_numpy(), lab.untested_end.to_numpy()
    text = name + " {raw}: its {blank} and its %s are not recorded, so it may pass or fail"
    beside = (name + " {raw} on {raw_date}: its {blank} is not recorded, and a result without %s may be the "
              "latest, so it may pass or fail")
    dated_blank = f"labs.{{blank}} ({name} result dated {{raw_date}})"
    return [
        Rule(blank & (own == 3), U, name + " {raw}: its {blank}, its test name (test) and its collected date "
             "(collected_date) are not recorded, so it may pass or fail",
             f"labs.{{blank}} (result that may be the {name}); {_unnamed(name)}; "
             f"labs.collected_date (result that may be the {name})"),
        Rule(blank & (own == 2), U, text % "test name (test)",
             f"labs.{{blank}} (result that may be the {name}); {_unnamed(name)}"),
        Rule(blank & (own == 1), U, text % "collected date (collected_date)",
             f"labs.{{blank}} ({name} result without a date); labs.collected_date ({name} result without a date)"),
        Rule(blank & untested, U, beside % "a test name (test)", f"{dated_blank}; {_unnamed(name)}"),
        Rule(blank & undated, U, beside % "a collected date (collected_date)",
             f"{dated_blank}; labs.collected_date ({name} result without a date)"),
    ]


def _undated(lab: LabResult, name: str, rows: np.ndarray | bool = True) -> Rule:
    """The unknown branch of a result without a collected date that may be the latest and
    disagrees with the counting day's (its date decides whether it counts)."""
    return Rule(lab.several & lab.undated_end & rows, U, name + " results {raw} and {sure} disagree, and one has no "
                "collected date (collected_date): it may be the latest (on or after {date}) or not count",
                f"labs.collected_date ({name} result without a date)")


def _untested(lab: LabResult, name: str, rows: np.ndarray | bool = True) -> list[Rule]:
    """The unknown branches of a result without a test name that may be this test's and
    disagrees with the counting day's (its test decides whether it counts). Where an end is
    undated too, its date is asked for at once: named, the result would still be open."""
    text = (name + " results {raw} and {sure} disagree, and one has no test name (test): it may be the "
            f"{name} result that counts or another test's")
    undated = f"; labs.collected_date (result that may be the {name})"
    return [Rule(lab.several & lab.untested_end & lab.undated_end & rows, U, text, _unnamed(name) + undated),
            Rule(lab.several & lab.untested_end & rows, U, text, _unnamed(name))]


def _unnamed(name: str) -> str:
    """What to collect for a result whose test is blank and may be ``name``'s."""
    return f"labs.test (result that may be the {name})"


def _disagreeing(lab: LabResult, name: str, test: str, rows: np.ndarray | pd.Series | bool = True,
                 condition_field: str = "") -> Rule:
    """The unknown branch of a counting day whose results disagree on the outcome.

    Dates carry no time: which of the day's results is the latest, the one that counts,
    is not recorded (spec section 1), so the site is asked which one it is. Where
    ``condition_field`` is given, it is blank and would decide too.
    """
    text = name + " results disagree on {date}: {raw} and {sure}; which is the latest is not recorded"
    needs = f"labs.{test} (results dated {{date}}: which is the latest)"
    if condition_field:
        text, needs = text + f"; {condition_field} not recorded", needs + f"; patients.{condition_field}"
    return Rule(lab.several & rows, U, text, needs)


def _dates_shown(lab: LabResult) -> tuple[str, str, dict[str, pa.Array]]:
    """How a sentence dates the row it shows (the ``possible`` end, the ``sure`` end) and the values
    that needs: " on 2025-02-25", or for a row without a collected date, whose value already says
    "(collected date not recorded)", ", read with the results of 2025-02-25": it was not taken on
    the counting day, but the dated results of that day are what let it decide (review, session 21)."""
    if not lab.undated_end.any():
        return " on {raw_date}", " on {sure_date}", {}
    return "{raw_on}", "{sure_on}", {"raw_on": _on(lab.possible_date, lab.date),
                                     "sure_on": _on(lab.sure_date, lab.date)}


def _on(dates: pd.Series, day: pd.Series) -> pa.Array:
    """" on 2025-02-25" per patient; ", read with the results of 2025-02-25" (the counting ``day``)
    where the row's own date is blank; "" where both are."""
    own = pc.binary_join_element_wise(pa.scalar(" on ", TEXT), format_column(dates), pa.scalar("", TEXT))
    counting = pc.binary_join_element_wise(pa.scalar(", read with the results of ", TEXT), format_column(day),
                                           pa.scalar("", TEXT))
    undated = pc.if_else(pa.array(day.isna().to_numpy()), pa.scalar("", TEXT), counting)
    return pc.if_else(pa.array(dates.isna().to_numpy()), undated, own)


def _of_the_day(lab: LabResult) -> dict[str, pa.Array | str]:
    """``raw_of`` and ``sure_of``: " (the least favourable of that day's results)" after the row a
    pass shows, " (the most favourable ...)" after the row a fail shows, where the counting day's
    recorded results disagree (which is the latest is not recorded, and every reading agrees): a
    sentence naming one of them hid the other (review 37B: platelets 414000 /uL beside 465 x10^9/L)."""
    # Only where the row shown is one of that day's dated results of this test (review 37C: an undated
    # row or one without a test, read with them, is not "of that day's results").
    shown_of_the_day = lab.conflict & ~lab.undated_end & ~lab.untested_end
    if not shown_of_the_day.any():
        return {"raw_of": "", "sure_of": ""}
    marked = pa.array(shown_of_the_day.to_numpy(dtype=bool))
    return {f"{end}_of": pc.if_else(marked, pa.scalar(f" (the {which} favourable of that day's results)", TEXT),
                                    pa.scalar("", TEXT))
            for end, which in (("raw", "least"), ("sure", "most"))}


def _either_unit(lab: LabResult, test: str) -> dict[str, pa.Array | str]:
    """``sure_units`` and ``raw_units``: " in either unit (x10^9/L or /uL)" where that end's row has a
    blank unit, so that a part decided all the same says it holds whichever unit was meant (audit 26A:
    "ANC 1500 (unit not recorded) >= 1 x10^9/L" did not say that 1500 /uL passes too)."""
    if lab.unit_blank is None:
        return {"sure_units": "", "raw_units": ""}
    said = pa.scalar(" in either unit (" + " or ".join(shown_unit(u) for u in UNIT_FACTORS[test]) + ")", TEXT)
    return {name: pc.if_else(pa.array(blank), said, pa.scalar("", TEXT))
            for name, blank in zip(("sure_units", "raw_units"), lab.unit_blank, strict=True)}


def lab_min_part(lab: LabResult, name: str, unit: str, limit: float, test: str, window: Window) -> Part:
    """A lab with a lower limit (ANC, platelets, hemoglobin, creatinine clearance): one I7 part.

    Fails where the most favourable reading of the counting day (``lab.sure``) is below
    ``limit``, so every reading fails; passes where the least favourable one (``lab.possible``)
    is at or above it, so every reading passes; otherwise unknown, naming what decides it (the
    result, its blank value or unit, which of the day's results is the latest). ``name`` and
    ``unit`` word the sentence ("ANC", "x10^9/L"); ``test`` is the lab code asked for
    (``labs.anc``); ``window`` the days a result counts in.
    """
    raw_on, sure_on, dated = _dates_shown(lab)
    values = {"sure": lab.sure_raw, "raw": lab.possible_raw, "date": lab.date, "sure_date": lab.sure_date,
              "raw_date": lab.possible_date, "limit": limit, "window": window.text, "blank": lab.blank,
              "outside_latest": lab.outside_latest, **dated,
              **_either_unit(lab, test), **_of_the_day(lab)}
    shown = name + " {raw}" + raw_on
    return decide(len(lab.sure), [
        Rule(lab.sure < limit, F, name + " {sure}" + sure_on + "{sure_of} < {limit} " + unit + "{sure_units}"),
        Rule(lab.possible >= limit, P, shown + "{raw_of} >= {limit} " + unit + "{raw_units}"),
        *_missing_lab(lab, name, test, window),
        _blank_in_row(lab, name, shown),
        *_blank_in_open_row(lab, name),
        *_untested(lab, name),
        _undated(lab, name),
        _disagreeing(lab, name, test),
    ], values)


def _above_both(limits: tuple[float, float], condition_field: str) -> str:
    """What a fail above the raised limit says about the blank condition: "(above both limits; X not
    recorded)", or, where a criteria file sets the two limits equal, that the limit is the same (review
    29F: "above both limits" named two limits there)."""
    normal, raised = limits
    if raised != normal:
        return f"(above both limits; {condition_field} not recorded)"
    return f"({condition_field} not recorded; the limit is the same either way)"


def _limits_in_ul(lab: LabResult, limits: tuple[float, float]) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """For AST and ALT, each limit in U/L beside its multiple of the shown row's ULN (" = 105 U/L").

    Returns the templates' pieces by end and limit ("sure_normal": " = {sure_normal_ul} U/L"; "" for a
    test without a ULN) and the numbers they name, per patient. A monitor checking "120 U/L (ULN 35) >
    3 x ULN" had to multiply (audits 35A, 38A); 3 x 33.3 is shown as 99.9, on the decimal grid the
    comparison uses.
    """
    pieces, numbers = dict.fromkeys(("sure_normal", "sure_raised", "raw_normal", "raw_raised"), ""), {}
    if lab.ulns is None:
        return pieces, numbers
    for end, uln in zip(("sure", "raw"), lab.ulns, strict=True):
        for which, limit in zip(("normal", "raised"), limits, strict=True):
            numbers[f"{end}_{which}_ul"] = on_decimal_grid(limit * uln)
            pieces[f"{end}_{which}"] = " = {" + f"{end}_{which}_ul" + "} U/L"
    return pieces, numbers


def lab_max_part(lab: LabResult, name: str, unit: str, limits: tuple[float, float],
                            condition: pd.Series, condition_field: str, test: str, window: Window) -> Part:
    """A lab with an upper limit that is raised when a patient condition is present (AST and ALT with
    liver metastases, total bilirubin with Gilbert syndrome): one I7 part.

    Fails where the most favourable reading of the counting day is above the limit that applies
    (the raised one whatever the condition, or the normal one with the condition recorded ``no``);
    passes where the least favourable reading is within it; otherwise unknown, naming what
    decides it, the condition's blank cell included where it would.

    Parameters
    ----------
    lab : LabResult
        The counting day's result of this test per patient (:func:`.lab_results.latest_labs`).
    name : str
        The test as sentences name it ("AST").
    unit : str
        Written after each limit (" x ULN", " mg/dL").
    limits : tuple of float
        The normal and the raised limit.
    condition : pandas.Series
        Per patient, the yes/no column that raises the limit (blank = not recorded).
    condition_field : str
        That column's name, as sentences and requests give it ("liver_metastases").
    test : str
        The lab code requests ask for ("ast").
    window : Window
        The days a result counts in (:func:`lab_window`).

    Returns
    -------
    Part
        Outcome codes, evidence and fields to collect per patient.
    """
    normal, raised = limits
    raw_on, sure_on, dated = _dates_shown(lab)
    values = {"sure": lab.sure_raw, "raw": lab.possible_raw, "date": lab.date, "sure_date": lab.sure_date,
              "raw_date": lab.possible_date, "normal": normal, "raised": raised, "window": window.text,
              "blank": lab.blank, "outside_latest": lab.outside_latest, **dated, **_either_unit(lab, test),
              **_of_the_day(lab)}
    shown, sure = name + " {raw}" + raw_on, name + " {sure}" + sure_on + "{sure_of}"
    passed = shown + "{raw_of}"  # a pass (and only a pass) says which of the day's results it shows
    at, in_ul = _limits_in_ul(lab, limits)
    values.update(in_ul)
    # The raised limit still matters while the condition is blank and every reading is past the normal one.
    condition_open = condition.isna().to_numpy() & (lab.sure > normal).to_numpy()
    # Disagreeing results all between the two limits leave only the condition open, not their order;
    # otherwise a blank condition decides too when it could pass them (yes) or fail them (no).
    order_matters = ~((lab.sure > normal) & (lab.possible <= raised)).to_numpy()
    condition_decides = condition.isna().to_numpy() & ((lab.possible <= raised) | (lab.sure > normal)).to_numpy()
    # A fail names the limit that applies, with the condition that sets it (audit 29A: "> 5 x ULN" did
    # not say liver_metastases = yes, and "> 3" for a patient without Gilbert syndrome hid the limit 2).
    return decide(len(lab.sure), [
        Rule((lab.sure > normal) & is_no(condition), F, sure + " > {normal}" + unit + at["sure_normal"]
             + "{sure_units} (" + condition_field + " = no)"),
        Rule((lab.sure > raised) & is_yes(condition), F, sure + " > {raised}" + unit + at["sure_raised"]
             + "{sure_units} (" + condition_field + " = yes)"),
        Rule(lab.sure > raised, F,
             sure + " > {raised}" + unit + at["sure_raised"] + "{sure_units} " + _above_both(limits, condition_field)),
        # A pass names the limit that applies too: "<= 3 x ULN" for a patient with liver metastases read
        # as if the wrong limit had been used (review 37B), though every result within it passes.
        Rule((lab.possible <= raised) & is_yes(condition), P, passed + " <= {raised}" + unit + at["raw_raised"]
             + "{raw_units} (" + condition_field + " = yes)"),
        Rule(lab.possible <= normal, P, passed + " <= {normal}" + unit + at["raw_normal"] + "{raw_units}"),
        *_missing_lab(lab, name, test, window),
        _blank_in_row(lab, name, shown, condition_open, condition_field),
        _blank_in_row(lab, name, shown),
        *_blank_in_open_row(lab, name),
        *_untested(lab, name, order_matters),
        _undated(lab, name, order_matters),
        _disagreeing(lab, name, test, order_matters & condition_decides, condition_field),
        _disagreeing(lab, name, test, order_matters),
        # The unit after both limits: "above 3 but within 5 x ULN" read as 3 U/L (audit 35A).
        Rule(True, U, shown + " is above {normal}" + unit + at["raw_normal"] + " but within {raised}" + unit
             + at["raw_raised"] + f"; {condition_field} not recorded",
             f"patients.{condition_field}"),
    ], values)
