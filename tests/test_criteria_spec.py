"""Spec tables for every criterion, in the style of ehrQL's spec tests.

Each table lists rows of input cells and the outcome that ``docs/criteria.md`` prescribes,
worked out by hand (never by running the code under test). A ``None`` cell is a blank
("not recorded"). Every case is one patient: the fully eligible baseline of
:func:`helpers.case_tables` (consent 2025-03-01, NMA-LD 2025-03-29, one metastatic
nivolumab+ipilimumab line that progressed, normal labs on 2025-02-20) with only the cells
of the table changed, so each row states only what matters.

Every case runs through both implementations: the engine (``screen()``) and the row-wise
reference evaluator (``tests/reference.py``). All cases sharing parameters are screened
together in one dataset, one patient per case.

Date arithmetic used below (consent 2025-03-01, NMA-LD 2025-03-29):

- lab lookback 28 days before consent: 2025-02-01 is day 28 (counts), 2025-01-31 day 29;
- 14 days before NMA-LD: 2025-03-15 (13 days: 2025-03-16);
- 28 days before NMA-LD: 2025-03-01 (29 days: 2025-02-28);
- 28 days before consent: 2025-02-01 (29 days: 2025-01-31).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from lifileucel_analysis.contract.dataset import ScreeningDataset
from lifileucel_analysis.engine.parameters import load_params
from lifileucel_analysis.contract.schema import CRITERION_IDS
from lifileucel_analysis.engine.screening import screen
from helpers import ELIGIBLE_LABS, case_tables, concat_tables
from reference import reference_screen

PASS, FAIL, UNKNOWN, NA, WAIVED = "pass", "fail", "unknown", "not_applicable", "waived"


@dataclass(frozen=True)
class Case:
    """One spec row: a change to the baseline patient and the expected outcome(s)."""

    name: str
    expected: dict[str, str]
    patient: dict[str, Any] = field(default_factory=dict)
    therapies: list[dict[str, Any]] | None = None
    labs: list[dict[str, Any]] = field(default_factory=list)
    toxicities: list[dict[str, Any]] = field(default_factory=list)
    overrides: tuple[str | dict[str, Any], ...] = ()
    """Criterion IDs waived (:data:`helpers.DEFAULT_APPROVAL`), or override cells that differ from it."""
    params: dict[str, Any] = field(default_factory=dict)
    replace_labs: bool = False

    def tables(self, patient_id: str) -> dict[str, pd.DataFrame]:
        """The case as typed tables of one patient."""
        return case_tables(self.patient, self.therapies, self.labs, self.toxicities, self.overrides,
                           patient_id=patient_id, replace_labs=self.replace_labs)

    def describe(self) -> str:
        """The case's inputs, for failure messages."""
        parts = {"patient": self.patient, "therapies": self.therapies, "labs": self.labs,
                 "toxicities": self.toxicities, "overrides": self.overrides, "params": self.params}
        return json.dumps({k: v for k, v in parts.items() if v not in (None, [], (), {})}, default=str)


def table(criterion: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> list[Case]:
    """Cases from a table of patient cells: each row is ``(*cells, expected, note)``."""
    cases = []
    for row in rows:
        *cells, expected, note = row
        cases.append(Case(f"{criterion} {note}", {criterion: expected}, dict(zip(columns, cells, strict=True))))
    return cases


# ----------------------------------------------------------------------------------------
# I1 stage
# ----------------------------------------------------------------------------------------

I1 = table("I1", ["ajcc_stage", "disease_unresectable"], [
    ("IV", None, PASS, "IV needs nothing else"),
    ("IV", "no", PASS, "IV is metastatic by definition"),
    ("IIIC", "yes", PASS, "IIIC unresectable"),
    ("IIID", "yes", PASS, "IIID unresectable"),
    ("IIIC", "no", FAIL, "IIIC resectable"),
    ("IIID", "no", FAIL, "IIID resectable"),
    ("IIIC", None, UNKNOWN, "IIIC resectability blank"),
    ("III", "yes", UNKNOWN, "III without sub-group, unresectable"),
    ("III", None, UNKNOWN, "III without sub-group, blank"),
    ("III", "no", FAIL, "III without sub-group, resectable"),
    ("IIIB", "yes", FAIL, "IIIB is below IIIC"),
    ("IIIA", None, FAIL, "IIIA whatever resectability"),
    ("IIC", "yes", FAIL, "IIC"),
    ("IA", None, FAIL, "IA"),
    ("0", "yes", FAIL, "stage 0"),
    (None, "yes", UNKNOWN, "stage blank"),
    (None, None, UNKNOWN, "stage and resectability blank"),
    (None, "no", UNKNOWN, "stage blank, resectable: IV passes, IIIC fails"),
])

# ----------------------------------------------------------------------------------------
# I2 prior lines and I3 adjuvant anti-PD-(L)1
# ----------------------------------------------------------------------------------------


def line(n: int | None, setting: str | None, agents: str | None, end: str | None = "2024-06-30",
         best: str | None = "pd", stop: str | None = "progression", recurrence: str | None = None,
         start: str = "2023-10-01") -> dict[str, Any]:
    """One therapies row (defaults: ended 2024-06-30 on progression, best response PD)."""
    return {"line": n, "setting": setting, "agents": agents, "start_date": start, "end_date": end,
            "best_response": best, "stop_reason": stop, "recurrence_date": recurrence}


def lines_case(note: str, therapies: list[dict[str, Any]], i2: str, i3: str | None = None,
               e1: str | None = None, **patient: Any) -> Case:
    """A case about the therapies table, with expected I2 (and optionally I3, E1)."""
    expected = {"I2": i2}
    expected.update({"I3": i3} if i3 else {})
    expected.update({"E1": e1} if e1 else {})
    return Case(f"I2 {note}", expected, patient=patient, therapies=therapies)


NIVO = "nivolumab"
ADJUVANT_PEMBRO_END = "2024-01-10"  # + 6 calendar months = 2024-07-10

I2_I3 = [
    lines_case("one metastatic anti-PD-1 line, progression", [line(1, "metastatic", NIVO)], PASS, NA),
    lines_case("no therapy at all", [], FAIL, NA, PASS),
    lines_case("4 lines", [line(1, "metastatic", "nivolumab+ipilimumab", stop="toxicity", best="ne"),
                           line(2, "metastatic", "dabrafenib+trametinib"),
                           line(3, "metastatic", "dacarbazine"),
                           line(4, "metastatic", "relatlimab+nivolumab")], PASS),
    lines_case("5 lines", [line(1, "metastatic", "nivolumab+ipilimumab"),
                           line(2, "metastatic", "dabrafenib+trametinib"),
                           line(3, "metastatic", "dacarbazine"),
                           line(4, "metastatic", "relatlimab+nivolumab"),
                           line(5, "metastatic", "temozolomide")], FAIL),
    lines_case("no PD-(L)1 agent", [line(1, "metastatic", "dabrafenib+trametinib")], FAIL),
    lines_case("anti-PD-L1 counts", [line(1, "metastatic", "atezolizumab")], PASS),
    lines_case("PD-1 earlier, last line progressed", [line(1, "metastatic", NIVO, best="pr", stop="completed"),
                                                      line(2, "metastatic", "ipilimumab")], PASS),
    lines_case("last line completed with CR", [line(1, "metastatic", NIVO, best="cr", stop="completed")], FAIL),
    lines_case("last line stopped 'other', PR", [line(1, "metastatic", NIVO, best="pr", stop="other")], FAIL),
    lines_case("last line best response SD", [line(1, "metastatic", NIVO, best="sd", stop="completed")], PASS),
    lines_case("last line best response PD, stop blank", [line(1, "metastatic", NIVO, best="pd", stop=None)],
               PASS),
    lines_case("last line intolerant (toxicity)", [line(1, "metastatic", NIVO, best="pr", stop="toxicity")],
               PASS),
    lines_case("last line PR, stop blank", [line(1, "metastatic", NIVO, best="pr", stop=None)], UNKNOWN),
    lines_case("last line completed, response blank", [line(1, "metastatic", NIVO, best=None, stop="completed")],
               UNKNOWN),
    lines_case("earlier line progressed, last completed CR",
               [line(1, "metastatic", NIVO), line(2, "metastatic", "ipilimumab", best="cr", stop="completed")],
               FAIL),
    lines_case("line numbers not consecutive: highest is the last",
               [line(3, "metastatic", NIVO, best="cr", stop="completed"), line(7, "metastatic", NIVO)], PASS),
    lines_case("unknown drug name only", [line(1, "metastatic", "investigational-x")], UNKNOWN, NA, UNKNOWN),
    lines_case("unknown drug with a known PD-1", [line(1, "metastatic", "nivolumab+investigational-x")],
               PASS, NA, UNKNOWN),
    lines_case("agents blank", [line(1, "metastatic", None)], UNKNOWN, NA, UNKNOWN),
    lines_case("setting blank on the last line, passes on either reading",
               [line(1, "metastatic", NIVO), line(2, None, "ipilimumab")], PASS),
    lines_case("pembrolizumab progressed, then dacarbazine of blank setting progressed (issue 11)",
               [line(1, "metastatic", "pembrolizumab"), line(2, None, "dacarbazine", stop="progression")], PASS),
    lines_case("blank setting fails on either reading: 5th line or no progression",
               [line(1, "metastatic", NIVO), line(2, "metastatic", NIVO), line(3, "metastatic", NIVO),
                line(4, "metastatic", NIVO, best="cr", stop="completed"), line(5, None, "ipilimumab")], FAIL),
    lines_case("setting blank on the only line", [line(1, None, NIVO)], UNKNOWN, PASS),  # I3: it may be adjuvant
    lines_case("setting blank, no anti-PD-(L)1", [line(1, None, "ipilimumab")], FAIL, NA),
    lines_case("4 sure lines + 1 of blank setting", [line(1, "metastatic", NIVO), line(2, "metastatic", NIVO),
                                                     line(3, "metastatic", NIVO), line(4, "metastatic", NIVO),
                                                     line(5, None, NIVO, best="pd")], UNKNOWN),
    # I3: adjuvant anti-PD-(L)1, 6 calendar months after the end date
    lines_case("adjuvant, recurrence exactly 6 calendar months after end",
               [line(1, "adjuvant", "pembrolizumab", end=ADJUVANT_PEMBRO_END, best=None, stop="completed",
                     recurrence="2024-07-10")], PASS, PASS),
    lines_case("adjuvant, recurrence 6 months + 1 day after end",
               [line(1, "adjuvant", "pembrolizumab", end=ADJUVANT_PEMBRO_END, best=None, stop="completed",
                     recurrence="2024-07-11")], FAIL, PASS),
    lines_case("adjuvant ended 31 Aug, recurrence 29 Feb (month end clipped)",
               [line(1, "adjuvant", NIVO, end="2023-08-31", best=None, stop="completed",
                     recurrence="2024-02-29")], PASS, PASS),
    lines_case("adjuvant ended 31 Aug, recurrence 1 Mar",
               [line(1, "adjuvant", NIVO, end="2023-08-31", best=None, stop="completed",
                     recurrence="2024-03-01")], FAIL, PASS),
    lines_case("neoadjuvant, recurrence on therapy (end blank)",
               [line(1, "neoadjuvant", NIVO, end=None, best=None, stop="ongoing", recurrence="2024-05-01")],
               PASS, PASS),
    lines_case("adjuvant, recurrence before end (on therapy)",
               [line(1, "adjuvant", NIVO, end="2024-06-30", best=None, stop="progression",
                     recurrence="2024-04-01")], PASS, PASS),
    # A patient screened for advanced disease after adjuvant therapy has recurred: a blank
    # recurrence date is a missing date, not "no recurrence" (spec, therapies.recurrence_date).
    lines_case("adjuvant, recurrence date blank after a recorded end", [line(1, "adjuvant", NIVO, recurrence=None)],
               UNKNOWN, PASS),
    # ... but it came by the time the patient was screened (consent 2025-03-01; audit 31A): when even
    # that day is within 6 calendar months of the end, every reading of the date qualifies.
    lines_case("adjuvant ended 2024-09-01, recurrence date blank, consent exactly 6 months later",
               [line(1, "adjuvant", NIVO, end="2024-09-01", best=None, stop="completed")], PASS, PASS),
    lines_case("adjuvant ended 2024-08-31, recurrence date blank, consent 6 months + 1 day later",
               [line(1, "adjuvant", NIVO, end="2024-08-31", best=None, stop="completed")], UNKNOWN, PASS),
    lines_case("adjuvant ended 2024-12-01, recurrence date blank, consent blank: by NMA-LD 2025-03-29",
               [line(1, "adjuvant", NIVO, end="2024-12-01", best=None, stop="completed")], PASS, PASS,
               consent_date=None),
    lines_case("adjuvant ended 2024-09-01, recurrence date blank, consent blank, NMA-LD past the window",
               [line(1, "adjuvant", NIVO, end="2024-09-01", best=None, stop="completed")], UNKNOWN, PASS,
               consent_date=None),
    lines_case("adjuvant ended 2024-12-01, recurrence date blank, consent and NMA-LD blank",
               [line(1, "adjuvant", NIVO, end="2024-12-01", best=None, stop="completed")], UNKNOWN, PASS,
               consent_date=None, lymphodepletion_date=None),
    # A line started after consent: no recurrence both follows it and came by consent (review 31).
    lines_case("adjuvant started after consent, ended 2025-03-20, recurrence date blank",
               [line(1, "adjuvant", NIVO, start="2025-03-10", end="2025-03-20", best=None, stop="completed")],
               UNKNOWN, PASS),
    lines_case("adjuvant, end blank but completed, start 2024-09-01, recurrence date blank: by consent",
               [line(1, "adjuvant", NIVO, start="2024-09-01", end=None, best=None, stop="completed")],
               PASS, PASS),
    lines_case("adjuvant on therapy (no end), recurrence date blank: recurred on therapy",
               [line(1, "adjuvant", NIVO, end=None, recurrence=None)], PASS, PASS),
    # A recurrence dated before its line's start cannot have followed it: a wrong date, open (session 22).
    lines_case("adjuvant, recurrence dated before the line started",
               [line(1, "adjuvant", NIVO, start="2024-03-01", end="2024-08-31", best=None, stop="completed",
                     recurrence="2024-01-15")], UNKNOWN, PASS),
    # A blank end date is "ongoing", unless the stop reason says it stopped (not for the
    # recurrence itself): then the end is missing, some day on or after the start 2024-03-01.
    lines_case("adjuvant, end blank but completed, recurrence date blank",
               [line(1, "adjuvant", NIVO, start="2024-03-01", end=None, best=None, stop="completed")],
               UNKNOWN, PASS),
    lines_case("adjuvant, end blank but completed, recurrence 6 months after the start",
               [line(1, "adjuvant", NIVO, start="2024-03-01", end=None, best=None, stop="completed",
                     recurrence="2024-09-01")], PASS, PASS),
    lines_case("adjuvant, end blank but stopped for toxicity, recurrence 6 months + 1 day after the start",
               [line(1, "adjuvant", NIVO, start="2024-03-01", end=None, best=None, stop="toxicity",
                     recurrence="2024-09-02")], UNKNOWN, PASS),
    lines_case("adjuvant anti-PD-1 with blank recurrence date, then a metastatic anti-PD-1 line that progressed",
               [line(1, "adjuvant", NIVO, recurrence=None), line(2, "metastatic", NIVO)], PASS, PASS),
    lines_case("adjuvant non-PD-1 (ipilimumab) with recurrence",
               [line(1, "adjuvant", "ipilimumab", end=ADJUVANT_PEMBRO_END, recurrence="2024-03-01")], FAIL, NA),
    lines_case("adjuvant unknown agent with qualifying recurrence",
               [line(1, "adjuvant", "investigational-x", end=ADJUVANT_PEMBRO_END, recurrence="2024-03-01")],
               UNKNOWN, PASS, UNKNOWN),  # I3: the unknown agent may be an anti-PD-(L)1 (since session 17)
    lines_case("late adjuvant recurrence, then a metastatic PD-1 line that progressed",
               [line(1, "adjuvant", "pembrolizumab", end=ADJUVANT_PEMBRO_END, recurrence="2024-09-01"),
                line(2, "metastatic", NIVO, start="2024-09-15", end="2025-01-15")], PASS, PASS),
    lines_case("qualifying adjuvant line is the most recent counted line",
               [line(1, "metastatic", "dacarbazine", best="cr", stop="completed", start="2021-06-01",
                     end="2022-01-01"),
                line(2, "adjuvant", "pembrolizumab", end=ADJUVANT_PEMBRO_END, best=None, stop="completed",
                     recurrence="2024-02-01")], PASS, PASS),
    lines_case("4 metastatic lines + 1 qualifying adjuvant = 5 counted lines",
               [line(1, "adjuvant", "pembrolizumab", start="2021-02-01", end="2022-01-10", recurrence="2022-03-01"),
                line(2, "metastatic", NIVO), line(3, "metastatic", "ipilimumab"),
                line(4, "metastatic", "dacarbazine"), line(5, "metastatic", "temozolomide")], FAIL, PASS),
    lines_case("4 metastatic lines + 1 non-qualifying adjuvant = 4 counted lines",
               [line(1, "adjuvant", "pembrolizumab", start="2021-02-01", end="2022-01-10", recurrence="2023-03-01"),
                line(2, "metastatic", NIVO), line(3, "metastatic", "ipilimumab"),
                line(4, "metastatic", "dacarbazine"), line(5, "metastatic", "temozolomide")], PASS, PASS),
]

BRAF = {"require_braf_inhibitor_if_v600": True}
# A blank line number: the line may be the most recent or not (spec section 1: blank = not recorded).
# Two lines of one patient with the same number: the spec gives therapies no key and says each
# row is a line; which of the two came later is not recorded, so each may be the most recent.
I2_SHARED_NUMBER = [
    lines_case("two lines numbered 2, both progressed: pass", [line(1, "metastatic", "dacarbazine"),
               line(2, "metastatic", NIVO), line(2, "metastatic", "ipilimumab")], PASS),
    lines_case("two lines numbered 2, one completed with PR: unknown", [line(2, "metastatic", NIVO),
               line(2, "metastatic", "ipilimumab", best="pr", stop="completed")], UNKNOWN),
    lines_case("two lines numbered 2, both completed with CR: fail", [
        line(2, "metastatic", NIVO, best="cr", stop="completed"),
        line(2, "metastatic", "ipilimumab", best="cr", stop="completed")], FAIL),
    lines_case("two lines numbered 1 below a progressed line 2: pass", [
        line(1, "metastatic", "ipilimumab", best="cr", stop="completed"), line(1, "metastatic", "dacarbazine"),
        line(2, "metastatic", NIVO)], PASS),
    lines_case("five lines, two numbered 4: each counts, fail", [
        line(1, "metastatic", "dacarbazine"), line(2, "metastatic", "ipilimumab"), line(3, "metastatic", NIVO),
        line(4, "metastatic", NIVO), line(4, "metastatic", "ipilimumab")], FAIL),
    lines_case("anti-PD-1 line 1 completed with PR beside a progressed line 1 without it: unknown", [
        line(1, "metastatic", "ipilimumab"), line(1, "metastatic", NIVO, best="pr", stop="completed")], UNKNOWN),
    lines_case("two lines numbered 2, one SD (no response): pass", [
        line(2, "metastatic", NIVO), line(2, "metastatic", "ipilimumab", best="sd", stop="completed")], PASS),
]

I2_UNNUMBERED = [
    lines_case("one line without a number: it is the most recent", [line(None, "metastatic", NIVO)], PASS),
    lines_case("line without a number, progression, beside line 2 with progression: every order passes",
               [line(None, "metastatic", NIVO), line(2, "metastatic", "dacarbazine")], PASS),
    lines_case("line without a number, completed with CR, beside line 1 with progression: unknown",
               [line(1, "metastatic", NIVO), line(None, "metastatic", "dacarbazine", best="cr", stop="completed")],
               UNKNOWN),
    lines_case("line without a number, CR, beside line 1 CR: every order fails",
               [line(1, "metastatic", NIVO, best="cr", stop="completed"),
                line(None, "metastatic", "dacarbazine", best="cr", stop="completed")], FAIL),
    lines_case("two lines without numbers, one CR: unknown",
               [line(None, "metastatic", NIVO), line(None, "metastatic", "dacarbazine", best="cr", stop="completed")],
               UNKNOWN),
    lines_case("line without a number that cannot count (adjuvant, late recurrence) changes nothing",
               [line(1, "metastatic", NIVO),
                line(None, "adjuvant", "pembrolizumab", end=ADJUVANT_PEMBRO_END, recurrence="2024-09-01",
                     best="cr", stop="completed")], PASS),
]

I2_BRAF = [
    Case("I2 BRAF option on, mutant, no BRAF inhibitor", {"I2": FAIL}, {"braf_v600": "mutant"},
         [line(1, "metastatic", NIVO)], params=BRAF),
    Case("I2 BRAF option on, mutant, dabrafenib+trametinib", {"I2": PASS}, {"braf_v600": "mutant"},
         [line(1, "metastatic", "dabrafenib+trametinib"), line(2, "metastatic", NIVO)], params=BRAF),
    Case("I2 BRAF option on, BRAF inhibitor in the adjuvant setting counts", {"I2": PASS},
         {"braf_v600": "mutant"},
         [line(1, "adjuvant", "dabrafenib+trametinib", recurrence=None), line(2, "metastatic", NIVO)],
         params=BRAF),
    Case("I2 BRAF option on, wildtype", {"I2": PASS}, {"braf_v600": "wildtype"},
         [line(1, "metastatic", NIVO)], params=BRAF),
    Case("I2 BRAF option on, status blank", {"I2": UNKNOWN}, {"braf_v600": None},
         [line(1, "metastatic", NIVO)], params=BRAF),
    Case("I2 BRAF option on, mutant, unknown agent", {"I2": UNKNOWN}, {"braf_v600": "mutant"},
         [line(1, "metastatic", "nivolumab+investigational-x")], params=BRAF),
    Case("I2 BRAF option off (default), mutant without BRAF inhibitor", {"I2": PASS}, {"braf_v600": "mutant"},
         [line(1, "metastatic", NIVO)]),
]

# ----------------------------------------------------------------------------------------
# I4 - I6, I8
# ----------------------------------------------------------------------------------------

I4 = table("I4", ["resectable_lesion_cm"], [
    (1.5, PASS, "1.5 cm is enough"),
    (1.4, FAIL, "1.4 cm"),
    (1.49, FAIL, "1.49 cm"),
    (1.6, PASS, "1.6 cm"),
    (None, UNKNOWN, "blank"),
])
I4_PARAM = [Case("I4 site limit 2.0 cm, lesion 1.6 cm", {"I4": FAIL}, {"resectable_lesion_cm": 1.6},
                 params={"min_lesion_cm": 2.0})]
# A limit at the edge of what the contract allows passes a blank: every reading passes (spec
# section 2). Found by a parameter audit (session 14): these were unknown.
LIMITS_AT_THE_EDGE = [
    Case("I4 limit 0 cm, lesion blank", {"I4": PASS}, {"resectable_lesion_cm": None}, params={"min_lesion_cm": 0}),
    Case("I4 limit 0.1 cm, lesion blank", {"I4": UNKNOWN}, {"resectable_lesion_cm": None},
         params={"min_lesion_cm": 0.1}),
    Case("I5 minimum age 0, birth date blank", {"I5": PASS}, {"birth_date": None}, params={"min_age_years": 0}),
    Case("I5 minimum age 0, consent date blank", {"I5": PASS}, {"consent_date": None}, params={"min_age_years": 0}),
    Case("I5 minimum age 1, birth date blank", {"I5": UNKNOWN}, {"birth_date": None}, params={"min_age_years": 1}),
    Case("I5 minimum age 0, birth after consent", {"I5": PASS}, {"birth_date": "2026-01-01"},
         params={"min_age_years": 0}),
    Case("I6 ECOG limit 5, ECOG blank", {"I6": PASS}, {"ecog": None}, params={"max_ecog": 5}),
    Case("I6 ECOG limit 4, ECOG blank", {"I6": UNKNOWN}, {"ecog": None}, params={"max_ecog": 4}),
    Case("I6 life expectancy limit 0, blank", {"I6": PASS}, {"life_expectancy_months": None},
         params={"min_life_expectancy_months": 0}),
    Case("I6 life expectancy limit 0, ECOG 2 still fails", {"I6": FAIL}, {"life_expectancy_months": None, "ecog": 2},
         params={"min_life_expectancy_months": 0}),
]

I5 = table("I5", ["birth_date", "consent_date"], [
    ("2007-03-01", "2025-03-01", PASS, "18th birthday on consent day"),
    ("2007-03-02", "2025-03-01", FAIL, "consent the day before the 18th birthday"),
    ("2006-03-02", "2025-03-01", PASS, "one day before 19th birthday"),
    ("2004-02-29", "2022-02-28", FAIL, "born 29 Feb, 28 Feb of a common year: still 17"),
    ("2004-02-29", "2022-03-01", PASS, "born 29 Feb, 1 Mar of a common year: 18"),
    ("2006-02-28", "2024-02-28", PASS, "18 on 28 Feb of a leap year"),
    ("1950-01-01", "2025-03-01", PASS, "75 years"),
    (None, "2025-03-01", UNKNOWN, "birth date blank"),
    ("2007-03-01", None, UNKNOWN, "consent date blank"),
    # consent comes before NMA-LD (2025-03-29): under 18 there is under 18 at any consent date
    ("2007-03-30", None, FAIL, "consent blank, 17 at NMA-LD"),
    ("2007-03-29", None, UNKNOWN, "consent blank, 18 on the NMA-LD day: an earlier consent is possible"),
    # A birth date after consent (or, consent blank, after NMA-LD) is a wrong date, not a
    # negative age: unknown, with a data-quality finding (docs/criteria.md).
    ("2025-03-02", "2025-03-01", UNKNOWN, "birth the day after consent"),
    ("2025-03-01", "2025-03-01", FAIL, "birth on the consent day: age 0"),
    ("2025-03-30", None, UNKNOWN, "consent blank, birth the day after NMA-LD"),
])
I5_NO_DATES = [Case("I5 consent and NMA-LD blank, 17 today", {"I5": UNKNOWN},
                    {"birth_date": "2010-01-01", "consent_date": None, "lymphodepletion_date": None})]

I6 = table("I6", ["ecog", "life_expectancy_months"], [
    (1, 3.0, PASS, "ECOG 1, 3 months"),
    (0, 24.0, PASS, "ECOG 0"),
    (2, 12.0, FAIL, "ECOG 2"),
    (5, 12.0, FAIL, "ECOG 5"),
    (0, 2.9, FAIL, "life expectancy 2.9 months"),
    (3, None, FAIL, "ECOG 3 fails whatever the life expectancy"),
    (None, 2.0, FAIL, "2 months fails whatever the ECOG"),
    (None, 12.0, UNKNOWN, "ECOG blank"),
    (1, None, UNKNOWN, "life expectancy blank"),
    (None, None, UNKNOWN, "both blank"),
])

I8 = table("I8", ["alternative_therapy_available"], [
    ("no", PASS, "no alternative"),
    ("yes", FAIL, "an alternative exists"),
    (None, UNKNOWN, "blank"),
])

# ----------------------------------------------------------------------------------------
# I7 laboratory values
# ----------------------------------------------------------------------------------------


def lab(test: str | None, value: float | None, unit: str | None, uln: float | None = None,
        day: str | None = "2025-02-25") -> dict[str, Any]:
    """One labs row (collected 2025-02-25 unless told)."""
    return {"test": test, "value": value, "unit": unit, "uln": uln, "collected_date": day}


def lab_table(rows: Iterable[tuple[Any, ...]]) -> list[Case]:
    """I7 cases: rows of ``(test, value, unit, uln, liver_metastases, gilbert, expected, note)``."""
    cases = []
    for test, value, unit, uln, liver, gilbert, expected, note in rows:
        patient = {"liver_metastases": liver, "gilbert_syndrome": gilbert}
        cases.append(Case(f"I7 {note}", {"I7": expected}, patient, labs=[lab(test, value, unit, uln)]))
    return cases


I7_LIMITS = lab_table([
    ("anc", 1.0, "10^9/L", None, "no", "no", PASS, "ANC 1.0 x10^9/L at the limit"),
    ("anc", 0.99, "10^9/L", None, "no", "no", FAIL, "ANC 0.99 x10^9/L"),
    ("anc", 1000, "/uL", None, "no", "no", PASS, "ANC 1000/uL at the limit"),
    ("anc", 999, "/uL", None, "no", "no", FAIL, "ANC 999/uL"),
    ("platelets", 100, "10^9/L", None, "no", "no", PASS, "platelets 100 x10^9/L at the limit"),
    ("platelets", 99.9, "10^9/L", None, "no", "no", FAIL, "platelets 99.9 x10^9/L"),
    ("platelets", 100000, "/uL", None, "no", "no", PASS, "platelets 100000/uL at the limit"),
    ("platelets", 99999, "/uL", None, "no", "no", FAIL, "platelets 99999/uL"),
    ("hemoglobin", 9.0, "g/dL", None, "no", "no", PASS, "hemoglobin 9.0 g/dL at the limit"),
    ("hemoglobin", 8.9, "g/dL", None, "no", "no", FAIL, "hemoglobin 8.9 g/dL"),
    ("hemoglobin", 90, "g/L", None, "no", "no", PASS, "hemoglobin 90 g/L at the limit"),
    ("hemoglobin", 89.9, "g/L", None, "no", "no", FAIL, "hemoglobin 89.9 g/L"),
    ("creatinine_clearance", 40, "mL/min", None, "no", "no", PASS, "CrCl 40 at the limit"),
    ("creatinine_clearance", 39.9, "mL/min", None, "no", "no", FAIL, "CrCl 39.9"),
    # AST/ALT: 3 x ULN, 5 x ULN with liver metastases (ULN 40: 120 and 200)
    ("ast", 120, "U/L", 40, "no", "no", PASS, "AST 3.0 x ULN"),
    ("ast", 121, "U/L", 40, "no", "no", FAIL, "AST 3.025 x ULN, no liver mets"),
    ("ast", 121, "U/L", 40, "yes", "no", PASS, "AST 3.025 x ULN, liver mets"),
    ("ast", 121, "U/L", 40, None, "no", UNKNOWN, "AST 3.025 x ULN, liver mets blank"),
    ("ast", 200, "U/L", 40, "yes", "no", PASS, "AST 5.0 x ULN, liver mets"),
    ("ast", 201, "U/L", 40, "yes", "no", FAIL, "AST 5.025 x ULN, liver mets"),
    ("ast", 201, "U/L", 40, None, "no", FAIL, "AST 5.025 x ULN, liver mets blank"),
    ("ast", 99, "U/L", 33, "no", "no", PASS, "AST 99 with ULN 33 = 3.0 x ULN"),
    ("ast", 30, "U/L", 40, None, "no", PASS, "AST normal, liver mets blank"),
    ("alt", 120, "U/L", 40, "no", "no", PASS, "ALT 3.0 x ULN"),
    ("alt", 121, "U/L", 40, "no", "no", FAIL, "ALT 3.025 x ULN, no liver mets"),
    ("alt", 121, "U/L", 40, "yes", "no", PASS, "ALT 3.025 x ULN, liver mets"),
    ("alt", 121, "U/L", 40, None, "no", UNKNOWN, "ALT 3.025 x ULN, liver mets blank"),
    ("alt", 200, "U/L", 40, "yes", "no", PASS, "ALT 5.0 x ULN, liver mets"),
    ("alt", 201, "U/L", 40, "yes", "no", FAIL, "ALT 5.025 x ULN, liver mets"),
    # bilirubin: 2.0 mg/dL (34.2 umol/L), 3.0 (51.3) with Gilbert
    ("total_bilirubin", 2.0, "mg/dL", None, "no", "no", PASS, "bilirubin 2.0 mg/dL"),
    ("total_bilirubin", 2.1, "mg/dL", None, "no", "no", FAIL, "bilirubin 2.1 mg/dL, no Gilbert"),
    ("total_bilirubin", 2.1, "mg/dL", None, "no", "yes", PASS, "bilirubin 2.1 mg/dL, Gilbert"),
    ("total_bilirubin", 2.1, "mg/dL", None, "no", None, UNKNOWN, "bilirubin 2.1 mg/dL, Gilbert blank"),
    ("total_bilirubin", 3.0, "mg/dL", None, "no", "yes", PASS, "bilirubin 3.0 mg/dL, Gilbert"),
    ("total_bilirubin", 3.1, "mg/dL", None, "no", "yes", FAIL, "bilirubin 3.1 mg/dL, Gilbert"),
    ("total_bilirubin", 3.1, "mg/dL", None, "no", None, FAIL, "bilirubin 3.1 mg/dL, Gilbert blank"),
    ("total_bilirubin", 34.2, "umol/L", None, "no", "no", PASS, "bilirubin 34.2 umol/L = 2.0 mg/dL"),
    ("total_bilirubin", 35.9, "umol/L", None, "no", "no", FAIL, "bilirubin 35.9 umol/L = 2.1 mg/dL"),
    ("total_bilirubin", 35.9, "umol/L", None, "no", None, UNKNOWN, "bilirubin 35.9 umol/L, Gilbert blank"),
    ("total_bilirubin", 51.3, "umol/L", None, "no", "yes", PASS, "bilirubin 51.3 umol/L = 3.0 mg/dL, Gilbert"),
    ("total_bilirubin", 53.0, "umol/L", None, "no", "yes", FAIL, "bilirubin 53.0 umol/L = 3.1 mg/dL, Gilbert"),
    # Exact in decimal terms (issue 11): binary floating point gives 99.9 / 33.3 = 3.0000000000000004.
    ("alt", 99.9, "U/L", 33.3, "no", "no", PASS, "ALT 99.9 with ULN 33.3 is exactly 3 x ULN"),
    ("ast", 99.9, "U/L", 33.3, "no", "no", PASS, "AST 99.9 with ULN 33.3 is exactly 3 x ULN"),
    ("alt", 100, "U/L", 33.3, "no", "no", FAIL, "ALT 100 with ULN 33.3 is above 3 x ULN"),
    ("ast", 166.5, "U/L", 33.3, "yes", "no", PASS, "AST 166.5 with ULN 33.3 is exactly 5 x ULN, liver mets"),
    ("alt", 166.6, "U/L", 33.3, "yes", "no", FAIL, "ALT 166.6 with ULN 33.3 is above 5 x ULN, liver mets"),
    ("alt", 36.3, "U/L", 12.1, "no", "no", PASS, "ALT 36.3 with ULN 12.1 is exactly 3 x ULN"),
    ("total_bilirubin", 34.3, "umol/L", None, "no", "no", FAIL, "bilirubin 34.3 umol/L just above 2.0 mg/dL"),
    ("total_bilirubin", 51.4, "umol/L", None, "no", "yes", FAIL, "bilirubin 51.4 umol/L just above 3.0, Gilbert"),
    ("anc", 1.001, "10^9/L", None, "no", "no", PASS, "ANC 1.001 x10^9/L just above"),
    ("anc", 999.9, "/uL", None, "no", "no", FAIL, "ANC 999.9/uL just below"),
    ("platelets", 99999.9, "/uL", None, "no", "no", FAIL, "platelets 99999.9/uL just below"),
    ("hemoglobin", 8.99, "g/dL", None, "no", "no", FAIL, "hemoglobin 8.99 g/dL just below"),
    ("hemoglobin", 90.1, "g/L", None, "no", "no", PASS, "hemoglobin 90.1 g/L just above"),
    ("creatinine_clearance", 40.01, "mL/min", None, "no", "no", PASS, "CrCl 40.01 just above"),
    # Ten decimals from a limit is still not at it: exact means exact, not "within 5e-10".
    ("anc", 0.9999999999, "10^9/L", None, "no", "no", FAIL, "ANC 0.9999999999 x10^9/L, 1e-10 below"),
    ("anc", 999.9999999, "/uL", None, "no", "no", FAIL, "ANC 999.9999999/uL, 1e-7 /uL below"),
    ("hemoglobin", 89.99999999999, "g/L", None, "no", "no", FAIL, "hemoglobin 89.99999999999 g/L just below"),
    ("alt", 99.9000000001, "U/L", 33.3, "no", "no", FAIL, "ALT 99.9000000001 with ULN 33.3, just above 3 x ULN"),
    ("total_bilirubin", 34.2000000001, "umol/L", None, "no", "no", FAIL, "bilirubin 34.2000000001 umol/L"),
    ("total_bilirubin", 51.3000000001, "umol/L", None, "no", "yes", FAIL, "bilirubin 51.3000000001 umol/L, Gilbert"),
    ("total_bilirubin", 51.29999999999, "umol/L", None, "no", "yes", PASS, "bilirubin 51.29999999999 umol/L, Gilbert"),
    # 15 significant digits, one unit of the last from a limit in another unit or a ULN multiple
    ("anc", 999.999999999999, "/uL", None, "no", "no", FAIL, "ANC 999.999999999999/uL"),
    ("anc", 1000.00000000001, "/uL", None, "no", "no", PASS, "ANC 1000.00000000001/uL"),
    ("alt", 99.9000000000001, "U/L", 33.3, "no", "no", FAIL, "ALT 99.9000000000001 with ULN 33.3"),
    ("alt", 99.9, "U/L", 33.3, "no", "no", PASS, "ALT 99.9 with ULN 33.3 = 3 x ULN (the spec's example)"),
    ("alt", 99.8999999999999, "U/L", 33.3, "no", "no", PASS, "ALT 99.8999999999999 with ULN 33.3"),
    ("ast", 166.500000000001, "U/L", 33.3, "yes", "no", FAIL, "AST 166.500000000001 with ULN 33.3, liver mets"),
    ("total_bilirubin", 34.2000000000001, "umol/L", None, "no", "no", FAIL, "bilirubin 34.2000000000001 umol/L"),
    ("total_bilirubin", 34.1999999999999, "umol/L", None, "no", "no", PASS, "bilirubin 34.1999999999999 umol/L"),
    ("hemoglobin", 89.9999999999999, "g/L", None, "no", "no", FAIL, "hemoglobin 89.9999999999999 g/L"),
])

# A blank value or unit is "not recorded": the result is decided only when every value (>= 0)
# or every unit of its test gives the same outcome (spec section 2, every reading).
I7_BLANK_CELLS = lab_table([
    ("anc", None, "10^9/L", None, "no", "no", UNKNOWN, "ANC value blank"),
    ("ast", None, "U/L", 40, "yes", "no", UNKNOWN, "AST value blank, liver mets"),
    ("anc", 5990, None, None, "no", "no", PASS, "ANC 5990, unit blank: 5.99 or 5990 x10^9/L"),
    ("anc", 0.5, None, None, "no", "no", FAIL, "ANC 0.5, unit blank: 0.0005 or 0.5 x10^9/L"),
    ("anc", 500, None, None, "no", "no", UNKNOWN, "ANC 500, unit blank: 500/uL fails, 500 x10^9/L passes"),
    ("hemoglobin", 12, None, None, "no", "no", UNKNOWN, "hemoglobin 12, unit blank: 1.2 or 12 g/dL"),
    ("hemoglobin", 95, None, None, "no", "no", PASS, "hemoglobin 95, unit blank: 9.5 or 95 g/dL"),
    ("hemoglobin", 8, None, None, "no", "no", FAIL, "hemoglobin 8, unit blank: 0.8 or 8 g/dL"),
    ("ast", 100, None, 40, "no", "no", PASS, "AST 100 (ULN 40), unit blank: U/L is its only unit"),
    ("creatinine_clearance", 39, None, None, "no", "no", FAIL, "CrCl 39, unit blank: mL/min is its only unit"),
    ("total_bilirubin", 1.5, None, None, "no", "no", PASS, "bilirubin 1.5, unit blank: 1.5 mg/dL or umol/L"),
    ("total_bilirubin", 40, None, None, "no", "no", FAIL, "bilirubin 40, unit blank: 2.34 or 40 mg/dL, no Gilbert"),
    ("total_bilirubin", 40, None, None, "no", "yes", UNKNOWN, "bilirubin 40, unit blank, Gilbert: 2.34 or 40"),
    ("total_bilirubin", 40, None, None, "no", None, UNKNOWN, "bilirubin 40, unit blank, Gilbert blank"),
])

I7_BLANK_ON_THE_DAY = [
    # Dates carry no time: either row of the day may be the latest (spec section 1, "the most recent").
    Case("I7 same-day tie: a low ANC beside a blank value is unknown (either may be the latest)", {"I7": UNKNOWN},
         labs=[lab("anc", 0.5, "10^9/L", day="2025-02-20"), lab("anc", None, "10^9/L", day="2025-02-20")]),
    Case("I7 same-day tie: a good ANC beside a blank value is unknown", {"I7": UNKNOWN},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-02-20"), lab("anc", None, "10^9/L", day="2025-02-20")]),
    Case("I7 a blank value superseded by a later result does not count", {"I7": PASS},
         labs=[lab("anc", None, "10^9/L", day="2025-02-10"), lab("anc", 2.0, "10^9/L", day="2025-02-20")]),
    Case("I7 the latest result has a blank value: unknown", {"I7": UNKNOWN},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-02-10"), lab("anc", None, "10^9/L", day="2025-02-20")]),
    # A recorded result beside one whose blank unit leaves it open: either may be the latest
    # (a Hypothesis case once matched no rule of the lab part, session 16).
    Case("I7 hemoglobin 5 g/dL beside 12 with a blank unit (1.2 or 12 g/dL) is unknown", {"I7": UNKNOWN},
         labs=[lab("hemoglobin", 5, "g/dL", day="2025-02-20"), lab("hemoglobin", 12, None, day="2025-02-20")]),
    Case("I7 hemoglobin 5 g/dL beside 8 with a blank unit (0.8 or 8 g/dL): every reading fails", {"I7": FAIL},
         labs=[lab("hemoglobin", 5, "g/dL", day="2025-02-20"), lab("hemoglobin", 8, None, day="2025-02-20")]),
    Case("I7 AST above 5 x ULN beside a blank AST value is unknown", {"I7": UNKNOWN},
         labs=[lab("ast", 201, "U/L", 40, day="2025-02-20"), lab("ast", None, "U/L", 40, day="2025-02-20")]),
]

I7_UNDATED = [
    # A blank collected_date is "not recorded" (spec section 1): the row may be in the window and
    # the most recent, or not. Decided only when every reading gives the same outcome.
    Case("I7 only ANC has a blank date: unknown (it may lie outside the window)", {"I7": UNKNOWN},
         labs=[lab("anc", 2.0, "10^9/L", day=None)]),
    Case("I7 dated ANC 2.0 beside an undated 0.5: unknown (the undated one may be the latest)", {"I7": UNKNOWN},
         labs=[lab("anc", 2.0, "10^9/L"), lab("anc", 0.5, "10^9/L", day=None)]),
    Case("I7 dated ANC 2.0 beside an undated 1.5: every reading passes", {"I7": PASS},
         labs=[lab("anc", 2.0, "10^9/L"), lab("anc", 1.5, "10^9/L", day=None)]),
    Case("I7 dated ANC 0.5 beside an undated 0.8: every reading fails", {"I7": FAIL},
         labs=[lab("anc", 0.5, "10^9/L"), lab("anc", 0.8, "10^9/L", day=None)]),
    Case("I7 dated ANC 0.5 beside an undated 2.0: unknown", {"I7": UNKNOWN},
         labs=[lab("anc", 0.5, "10^9/L"), lab("anc", 2.0, "10^9/L", day=None)]),
    Case("I7 ANC 2.0 only before the window beside an undated 2.0: unknown (no dated result counts)",
         {"I7": UNKNOWN}, labs=[lab("anc", 2.0, "10^9/L", day="2025-01-31"), lab("anc", 2.0, "10^9/L", day=None)]),
    Case("I7 undated 2000 /uL (2.0) beside a dated ANC 2.0: every reading passes", {"I7": PASS},
         labs=[lab("anc", 2.0, "10^9/L"), lab("anc", 2000, "/uL", day=None)]),
    Case("I7 undated AST 150 (ULN 40) beside 30: unknown", {"I7": UNKNOWN},
         labs=[lab("ast", 30, "U/L", 40), lab("ast", 150, "U/L", 40, day=None)]),
    Case("I7 undated AST 150 (ULN 40) beside 160, liver metastases blank: unknown (only the condition)",
         {"I7": UNKNOWN}, {"liver_metastases": None},
         labs=[lab("ast", 160, "U/L", 40), lab("ast", 150, "U/L", 40, day=None)]),
    Case("I7 undated AST 150 (ULN 40) beside 160, liver metastases yes: every reading passes", {"I7": PASS},
         {"liver_metastases": "yes"}, labs=[lab("ast", 160, "U/L", 40), lab("ast", 150, "U/L", 40, day=None)]),
    Case("I7 undated ANC with a blank value beside 2.0: unknown", {"I7": UNKNOWN},
         labs=[lab("anc", 2.0, "10^9/L"), lab("anc", None, "10^9/L", day=None)]),
]

I7_UNTESTED = [
    # A blank test is "not recorded" (spec section 1): the row is a result of one of the tests its
    # unit allows (AST/ALT only with a ULN), each part read over every test it may be. The
    # baseline's seven results are dated 2025-02-20; lab() dates 2025-02-25 unless told.
    Case("I7 no test, 0.5 10^9/L after the other results: fails as ANC and as platelets, so fails",
         {"I7": FAIL}, labs=[lab(None, 0.5, "10^9/L")]),
    Case("I7 no test, 2.0 10^9/L after the other results: unknown (passes as ANC, fails as platelets)",
         {"I7": UNKNOWN}, labs=[lab(None, 2.0, "10^9/L")]),
    Case("I7 no test, 150 10^9/L after the other results: passes as ANC and as platelets", {"I7": PASS},
         labs=[lab(None, 150, "10^9/L")]),
    Case("I7 no test, 0.5 10^9/L before the latest ANC and platelets: does not count", {"I7": PASS},
         labs=[lab(None, 0.5, "10^9/L", day="2025-02-15")]),
    Case("I7 no test, 0.5 10^9/L on the day of the latest ANC and platelets: unknown", {"I7": UNKNOWN},
         labs=[lab(None, 0.5, "10^9/L", day="2025-02-20")]),
    Case("I7 no test, 0.5 10^9/L before the window: does not count", {"I7": PASS},
         labs=[lab(None, 0.5, "10^9/L", day="2025-01-15")]),
    Case("I7 no test, 0.5 10^9/L after NMA-LD: does not count", {"I7": PASS},
         labs=[lab(None, 0.5, "10^9/L", day="2025-03-30")]),
    Case("I7 no test and no date, 0.5 10^9/L: unknown", {"I7": UNKNOWN}, labs=[lab(None, 0.5, "10^9/L", day=None)]),
    Case("I7 no test and no date, 150 10^9/L: passes either way", {"I7": PASS},
         labs=[lab(None, 150, "10^9/L", day=None)]),
    Case("I7 no test, 8 g/dL: only hemoglobin is in g/dL, so it is the latest hemoglobin and fails", {"I7": FAIL},
         labs=[lab(None, 8, "g/dL")]),
    Case("I7 no test, 80 g/L on the day of the hemoglobin 12.5 g/dL: two hemoglobin results disagree",
         {"I7": UNKNOWN}, labs=[lab(None, 80, "g/L", day="2025-02-20")]),
    Case("I7 no test, 35 mL/min: only creatinine clearance is in mL/min", {"I7": FAIL},
         labs=[lab(None, 35, "mL/min")]),
    Case("I7 no test, 150 U/L with ULN 40: fails as AST and as ALT, so fails", {"I7": FAIL},
         labs=[lab(None, 150, "U/L", 40)]),
    Case("I7 no test, 200 U/L with ULN 40, the only AST/ALT result: fails whichever it is", {"I7": FAIL},
         replace_labs=True, labs=[*[dict(row) for row in ELIGIBLE_LABS if row["test"] not in ("ast", "alt")],
                                  lab(None, 200, "U/L", 40)]),
    Case("I7 two results without a test, 0.5 and 0.6 10^9/L: every naming fails a part", {"I7": FAIL},
         labs=[lab(None, 0.5, "10^9/L"), lab(None, 0.6, "10^9/L", day="2025-02-26")]),
    Case("I7 no test, 50 10^9/L after the others: passes as ANC, fails as platelets: unknown", {"I7": UNKNOWN},
         labs=[lab(None, 50, "10^9/L")]),
    Case("I7 no test, 30 U/L with ULN 40: passes as AST and as ALT", {"I7": PASS}, labs=[lab(None, 30, "U/L", 40)]),
    Case("I7 no test, 150 U/L with ULN 40, liver metastases yes: within 5 x ULN either way", {"I7": PASS},
         {"liver_metastases": "yes"}, labs=[lab(None, 150, "U/L", 40)]),
    Case("I7 no test and no unit, 2.0: unknown (ANC in 10^9/L or /uL, platelets, ...)", {"I7": UNKNOWN},
         labs=[lab(None, 2.0, None)]),
    Case("I7 no test and no unit, 500: unknown (ANC 500 /uL would fail, bilirubin 500 mg/dL too)",
         {"I7": UNKNOWN}, labs=[lab(None, 500, None)]),
    Case("I7 no ANC result, only a result without a test of 2.0 10^9/L: unknown (it may be platelets)",
         {"I7": UNKNOWN}, replace_labs=True,
         labs=[*[dict(row) for row in ELIGIBLE_LABS if row["test"] != "anc"],
               lab(None, 2.0, "10^9/L", day="2025-02-15")]),
    Case("I7 ANC 0.5 beside a result without a test of 150 10^9/L on its day: unknown (it may be a second ANC)",
         {"I7": UNKNOWN}, labs=[lab("anc", 0.5, "10^9/L"), lab(None, 150, "10^9/L")]),
    Case("I7 ANC 0.5 after a result without a test of 150 10^9/L: the ANC still fails (platelets pass)",
         {"I7": FAIL}, labs=[lab("anc", 0.5, "10^9/L"), lab(None, 150, "10^9/L", day="2025-02-22")]),
]

I7_WINDOW = [
    Case("I7 only ANC on day 29 before consent: no result", {"I7": UNKNOWN},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-01-31")]),
    Case("I7 ANC on day 28 before consent counts", {"I7": FAIL},
         labs=[lab("anc", 0.5, "10^9/L", day="2025-02-01")]),
    Case("I7 ANC low on day 29 does not count", {"I7": PASS},
         labs=[lab("anc", 0.5, "10^9/L", day="2025-01-31"), lab("anc", 2.0, "10^9/L", day="2025-02-01")]),
    Case("I7 most recent result counts (low earlier)", {"I7": PASS},
         labs=[lab("anc", 0.5, "10^9/L", day="2025-02-10"), lab("anc", 2.0, "10^9/L", day="2025-02-20")]),
    Case("I7 most recent result counts (low later)", {"I7": FAIL},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-02-10"), lab("anc", 0.5, "10^9/L", day="2025-02-20")]),
    Case("I7 result after consent, before NMA-LD counts", {"I7": FAIL},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-02-20"), lab("anc", 0.5, "10^9/L", day="2025-03-20")]),
    Case("I7 result on the NMA-LD day counts", {"I7": FAIL},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-02-20"), lab("anc", 0.5, "10^9/L", day="2025-03-29")]),
    Case("I7 result after NMA-LD does not count", {"I7": PASS},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-02-20"), lab("anc", 0.5, "10^9/L", day="2025-03-30")]),
    Case("I7 NMA-LD not scheduled: later results count", {"I7": FAIL}, {"lymphodepletion_date": None},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-02-20"), lab("anc", 0.5, "10^9/L", day="2025-04-30")]),
    # Several results on the latest day: which is the most recent is not recorded (no time),
    # so the part is decided only where every one of them decides it the same way.
    Case("I7 same-day tie: ANC 2.0 and 0.9 disagree, unknown", {"I7": UNKNOWN},
         labs=[lab("anc", 2.0, "10^9/L", day="2025-02-20"), lab("anc", 0.9, "10^9/L", day="2025-02-20")]),
    Case("I7 same-day tie: ANC 0.5 and 0.9 both fail", {"I7": FAIL},
         labs=[lab("anc", 0.5, "10^9/L", day="2025-02-20"), lab("anc", 0.9, "10^9/L", day="2025-02-20")]),
    Case("I7 same-day tie across units: 900/uL and 1.2 x10^9/L disagree", {"I7": UNKNOWN},
         labs=[lab("anc", 1.2, "10^9/L", day="2025-02-20"), lab("anc", 900, "/uL", day="2025-02-20")]),
    Case("I7 same-day tie across units: 1000/uL and 1.0 x10^9/L agree", {"I7": PASS},
         labs=[lab("anc", 1.0, "10^9/L", day="2025-02-20"), lab("anc", 1000, "/uL", day="2025-02-20")]),
    Case("I7 same-day tie: bilirubin 0.8 mg/dL and 42 umol/L disagree", {"I7": UNKNOWN},
         labs=[lab("total_bilirubin", 0.8, "mg/dL", day="2025-02-20"),
               lab("total_bilirubin", 42.0, "umol/L", day="2025-02-20")]),
    Case("I7 same-day tie: AST compared as value / ULN (2.75 and 3.33 x ULN)", {"I7": UNKNOWN},
         labs=[lab("ast", 110, "U/L", 40, day="2025-02-20"), lab("ast", 100, "U/L", 30, day="2025-02-20")]),
    Case("I7 same-day tie: AST 2.75 and 3.33 x ULN with liver metastases both pass", {"I7": PASS},
         {"liver_metastases": "yes"},
         labs=[lab("ast", 110, "U/L", 40, day="2025-02-20"), lab("ast", 100, "U/L", 30, day="2025-02-20")]),
    Case("I7 same-day tie: AST 2.75 and 3.33 x ULN, liver metastases blank", {"I7": UNKNOWN},
         {"liver_metastases": None},
         labs=[lab("ast", 110, "U/L", 40, day="2025-02-20"), lab("ast", 100, "U/L", 30, day="2025-02-20")]),
    Case("I7 same-day tie: AST 5.5 and 6 x ULN both fail", {"I7": FAIL},
         labs=[lab("ast", 220, "U/L", 40, day="2025-02-20"), lab("ast", 180, "U/L", 30, day="2025-02-20")]),
    Case("I7 same-day tie: both AST within 3 x ULN", {"I7": PASS},
         labs=[lab("ast", 110, "U/L", 40, day="2025-02-20"), lab("ast", 80, "U/L", 30, day="2025-02-20")]),
    Case("I7 no ANC at all", {"I7": UNKNOWN},
         labs=[lab(t, v, u, n) for t, v, u, n in [
             ("platelets", 220, "10^9/L", None), ("hemoglobin", 12.5, "g/dL", None), ("ast", 30, "U/L", 40),
             ("alt", 28, "U/L", 40), ("total_bilirubin", 0.7, "mg/dL", None),
             ("creatinine_clearance", 85, "mL/min", None)]], replace_labs=True),
    Case("I7 no labs at all", {"I7": UNKNOWN}, labs=[], replace_labs=True),
    Case("I7 one failing lab decides while others are missing", {"I7": FAIL},
         labs=[lab("platelets", 50, "10^9/L")], replace_labs=True),
    Case("I7 consent blank: no result can be placed", {"I7": UNKNOWN}, {"consent_date": None}),
    # Consent blank, NMA-LD 2025-03-29: the window starts no later than 2025-03-01 (28 days
    # before NMA-LD), so results from then on count at any consent date; earlier ones may not.
    Case("I7 consent blank: a low ANC 28 days before NMA-LD fails", {"I7": FAIL}, {"consent_date": None},
         labs=[lab("anc", 0.5, "10^9/L", day="2025-03-01")]),
    Case("I7 consent blank: a full normal panel 28 days before NMA-LD passes", {"I7": PASS}, {"consent_date": None},
         labs=[lab(t, v, u, n, day="2025-03-01") for t, v, u, n in [
             ("anc", 2.0, "10^9/L", None), ("platelets", 220, "10^9/L", None), ("hemoglobin", 12.5, "g/dL", None),
             ("ast", 30, "U/L", 40), ("alt", 28, "U/L", 40), ("total_bilirubin", 0.7, "mg/dL", None),
             ("creatinine_clearance", 85, "mL/min", None)]], replace_labs=True),
    Case("I7 consent blank: the same panel 29 days before NMA-LD may not count", {"I7": UNKNOWN},
         {"consent_date": None}, labs=[lab(t, v, u, n, day="2025-02-28") for t, v, u, n in [
             ("anc", 2.0, "10^9/L", None), ("platelets", 220, "10^9/L", None), ("hemoglobin", 12.5, "g/dL", None),
             ("ast", 30, "U/L", 40), ("alt", 28, "U/L", 40), ("total_bilirubin", 0.7, "mg/dL", None),
             ("creatinine_clearance", 85, "mL/min", None)]], replace_labs=True),
    Case("I7 consent and NMA-LD blank: nothing can be placed", {"I7": UNKNOWN},
         {"consent_date": None, "lymphodepletion_date": None}, labs=[lab("anc", 0.5, "10^9/L", day="2025-03-01")]),
    Case("I7 lookback 14 days (parameter): day 15 does not count", {"I7": PASS},
         labs=[lab("anc", 0.5, "10^9/L", day="2025-02-14"), lab("anc", 2.0, "10^9/L", day="2025-02-15")],
         params={"lab_lookback_days": 14}),
]

# ----------------------------------------------------------------------------------------
# Exclusions
# ----------------------------------------------------------------------------------------

E1 = [
    Case("E1 allograft none", {"E1": PASS}, {"organ_allograft": "none"}),
    Case("E1 kidney allograft is allowed", {"E1": PASS}, {"organ_allograft": "kidney"}),
    Case("E1 other allograft", {"E1": FAIL}, {"organ_allograft": "other"}),
    Case("E1 allograft blank", {"E1": UNKNOWN}, {"organ_allograft": None}),
    Case("E1 allograft blank, prior lifileucel", {"E1": FAIL}, {"organ_allograft": None},
         [line(1, "metastatic", NIVO), line(2, "metastatic", "lifileucel")]),
    Case("E1 prior CAR-T", {"E1": FAIL}, {}, [line(1, "metastatic", NIVO), line(2, "metastatic", "car-t")]),
    Case("E1 prior TIL in a combination", {"E1": FAIL}, {},
         [line(1, "metastatic", "tumor-infiltrating lymphocytes+aldesleukin")]),
    Case("E1 unknown agent", {"E1": UNKNOWN}, {}, [line(1, "metastatic", "nivolumab+investigational-x")]),
    *[Case(f"E1 prior CAR-T {name}", {"E1": FAIL, "I2": PASS}, {},
           [line(1, "metastatic", NIVO, best="sd", stop="toxicity"), line(2, "metastatic", name)])
      for name in ["tisagenlecleucel", "axicabtagene ciloleucel", "brexucabtagene autoleucel",
                   "lisocabtagene maraleucel", "idecabtagene vicleucel", "ciltacabtagene autoleucel",
                   "obecabtagene autoleucel", "Kymriah", "Yescarta", "Breyanzi", "liso-cel"]],
    *[Case(f"E1 prior TCR-T or TIL {name}", {"E1": FAIL}, {}, [line(1, "metastatic", NIVO), line(2, "metastatic", name)])
      for name in ["afamitresgene autoleucel", "Tecelra", "Amtagvi", "lifileucel", "TIL"]],
    Case("E1 talimogene laherparepvec (INN with a space) is classified", {"E1": PASS, "I2": PASS}, {},
         [line(1, "metastatic", NIVO), line(2, "metastatic", "talimogene laherparepvec")]),
    *[Case(f"I2 brand name {name} is anti-PD-(L)1", {"I2": PASS, "E1": PASS}, {}, [line(1, "metastatic", name)])
      for name in ["Keytruda", "Opdivo", "Opdivo+Yervoy", "Pembrolizumab 200 mg IV", "cemiplimab-rwlc", "Libtayo",
                   "Tecentriq", "Imfinzi", "Opdualag", "KEYTRUDA®"]],
    Case("I2 Yervoy alone is not anti-PD-(L)1", {"I2": FAIL, "E1": PASS}, {}, [line(1, "metastatic", "Yervoy")]),
    Case("E1 unknown agent but other allograft", {"E1": FAIL}, {"organ_allograft": "other"},
         [line(1, "metastatic", "investigational-x")]),
    Case("E1 no therapies, allograft none", {"E1": PASS}, {}, []),
]


def tox(category: str | None, grade: int | None, ongoing: str | None, term: str = "colitis") -> dict[str, Any]:
    """One toxicities row."""
    return {"term": term, "category": category, "grade": grade, "ongoing": ongoing}


E2 = [
    Case("E2 no toxicities", {"E2": PASS}),
    Case("E2 ongoing grade 2 colitis", {"E2": FAIL}, toxicities=[tox("other", 2, "yes")]),
    Case("E2 ongoing grade 4 hepatitis", {"E2": FAIL}, toxicities=[tox("other", 4, "yes", "hepatitis")]),
    Case("E2 ongoing grade 1", {"E2": PASS}, toxicities=[tox("other", 1, "yes")]),
    Case("E2 grade 5 is not 2-4", {"E2": PASS}, toxicities=[tox("other", 5, "yes")]),
    Case("E2 resolved grade 3", {"E2": PASS}, toxicities=[tox("other", 3, "no")]),
    Case("E2 ongoing grade 3 endocrine", {"E2": PASS}, toxicities=[tox("endocrine", 3, "yes", "hypothyroidism")]),
    Case("E2 ongoing grade 2 ocular", {"E2": PASS}, toxicities=[tox("ocular", 2, "yes", "uveitis")]),
    Case("E2 ongoing grade 2 vitiligo", {"E2": PASS}, toxicities=[tox("vitiligo", 2, "yes", "vitiligo")]),
    Case("E2 grade 2 colitis, ongoing blank", {"E2": UNKNOWN}, toxicities=[tox("other", 2, None)]),
    Case("E2 ongoing colitis, grade blank", {"E2": UNKNOWN}, toxicities=[tox("other", None, "yes")]),
    Case("E2 ongoing grade 2, category blank", {"E2": UNKNOWN}, toxicities=[tox(None, 2, "yes")]),
    Case("E2 category blank but grade 1", {"E2": PASS}, toxicities=[tox(None, 1, "yes")]),
    Case("E2 all blank but resolved", {"E2": PASS}, toxicities=[tox(None, None, "no")]),
    Case("E2 one unknown row and one failing row", {"E2": FAIL},
         toxicities=[tox("other", None, "yes"), tox("other", 3, "yes", "pneumonitis")]),
    Case("E2 one unknown row and one harmless row", {"E2": UNKNOWN},
         toxicities=[tox("other", None, "yes"), tox("endocrine", 3, "yes", "hypophysitis")]),
]

E3 = table("E3", ["melanoma_subtype"], [
    ("uveal", FAIL, "uveal"),
    ("cutaneous", PASS, "cutaneous"),
    ("acral", PASS, "acral"),
    ("mucosal", PASS, "mucosal"),
    ("unknown_primary", PASS, "unknown primary"),
    (None, UNKNOWN, "blank"),
])

E4 = table("E4", ["hypersensitivity_to_regimen"], [("yes", FAIL, "yes"), ("no", PASS, "no"), (None, UNKNOWN, "blank")])
E7 = table("E7", ["active_medical_illness"], [("yes", FAIL, "yes"), ("no", PASS, "no"), (None, UNKNOWN, "blank")])
E9 = table("E9", ["primary_immunodeficiency"], [("yes", FAIL, "yes"), ("no", PASS, "no"), (None, UNKNOWN, "blank")])

E5 = table("E5", ["brain_metastases", "brain_metastases_treated", "brain_metastases_symptomatic",
                  "brain_metastases_stable_since", "lymphodepletion_date"], [
    ("no", None, None, None, "2025-03-29", PASS, "no brain metastases"),
    (None, None, None, None, "2025-03-29", UNKNOWN, "brain metastases blank"),
    ("yes", "yes", "no", "2025-03-15", "2025-03-29", PASS, "treated, stable 14 days"),
    ("yes", "yes", "no", "2025-03-16", "2025-03-29", FAIL, "treated, stable 13 days"),
    ("yes", "yes", "no", "2025-01-10", "2025-03-29", PASS, "treated, stable for months"),
    ("yes", "yes", "no", "2025-04-01", "2025-03-29", FAIL, "stability dated after NMA-LD"),
    ("yes", "no", "no", "2025-01-10", "2025-03-29", FAIL, "untreated"),
    ("yes", "yes", "yes", "2025-01-10", "2025-03-29", FAIL, "symptomatic"),
    ("yes", "no", None, None, None, FAIL, "untreated decides with blanks elsewhere"),
    ("yes", None, None, None, None, UNKNOWN, "treatment blank"),
    ("yes", None, "no", "2025-01-10", "2025-03-29", UNKNOWN, "treated blank"),
    ("yes", "yes", None, "2025-01-10", "2025-03-29", UNKNOWN, "symptomatic blank"),
    ("yes", "yes", "no", None, "2025-03-29", UNKNOWN, "stable-since blank"),
    # NMA-LD not scheduled: it comes after consent (2025-03-01), so 14 days of stability at
    # consent are 14 at any NMA-LD date (every reading passes); fewer leave it open.
    ("yes", "yes", "no", "2025-01-10", None, PASS, "NMA-LD not scheduled, stable 50 days at consent"),
    ("yes", "yes", "no", "2025-02-15", None, PASS, "NMA-LD not scheduled, stable 14 days at consent"),
    ("yes", "yes", "no", "2025-02-16", None, UNKNOWN, "NMA-LD not scheduled, stable 13 days at consent"),
    ("yes", None, "no", "2025-01-10", None, UNKNOWN, "NMA-LD not scheduled, treated blank"),
    (None, "yes", "no", "2025-01-10", None, PASS, "blank, NMA-LD not scheduled, stable 50 days at consent"),
    # brain_metastases blank: "no" passes, so E5 is decided only where "yes" passes too
    (None, "yes", "no", "2025-03-15", "2025-03-29", PASS, "blank, but treated, asymptomatic, stable 14 days"),
    (None, "yes", "no", "2025-03-16", "2025-03-29", UNKNOWN, "blank, treated but stable 13 days"),
    (None, "no", "no", "2025-01-10", "2025-03-29", UNKNOWN, "blank, untreated"),
    (None, "yes", None, "2025-01-10", "2025-03-29", UNKNOWN, "blank, symptomatic blank"),
])

E6 = table("E6", ["steroid_mg_per_day"], [
    (10.0, PASS, "10 mg/day"),
    (10.5, FAIL, "10.5 mg/day"),
    (0.0, PASS, "no steroid"),
    (40.0, FAIL, "40 mg/day"),
    (None, UNKNOWN, "blank"),
])

E8 = table("E8", ["syphilis_assay", "hiv_serology", "hbv_serology", "hbv_pcr"], [
    ("negative", "negative", "negative", None, PASS, "all negative"),
    ("positive", "negative", "negative", None, FAIL, "syphilis positive"),
    ("negative", "positive", "negative", None, FAIL, "HIV positive"),
    ("negative", "negative", "positive", "detectable", FAIL, "HBV positive, PCR detectable"),
    ("negative", "negative", "positive", "undetectable", PASS, "HBV positive, PCR undetectable"),
    ("negative", "negative", "positive", None, UNKNOWN, "HBV positive, PCR blank"),
    ("negative", "negative", None, None, UNKNOWN, "HBV serology blank"),
    ("negative", None, "negative", None, UNKNOWN, "HIV blank"),
    (None, "negative", "negative", None, UNKNOWN, "syphilis blank"),
    ("positive", None, None, None, FAIL, "syphilis positive decides with blanks"),
    (None, None, "positive", "detectable", FAIL, "HBV PCR detectable decides with blanks"),
    ("negative", "negative", None, "undetectable", PASS, "HBV PCR undetectable decides with serology blank"),
    ("negative", "negative", None, "detectable", UNKNOWN, "HBV PCR detectable, serology blank"),
    ("negative", "negative", "negative", "detectable", PASS, "HBV serology negative: a detectable PCR fails only "
                                                            "after a positive serology"),
])

E10 = table("E10", ["live_vaccine_received", "live_vaccine_date", "lymphodepletion_date"], [
    ("no", None, "2025-03-29", PASS, "no live vaccine"),
    ("no", "2025-03-10", "2025-03-29", FAIL, "a recorded date 19 days before NMA-LD counts although received = no"),
    ("no", "2025-01-10", "2025-03-29", PASS, "a recorded date long before NMA-LD, received = no"),
    (None, None, "2025-03-29", UNKNOWN, "received and date blank"),
    ("yes", "2025-03-01", "2025-03-29", FAIL, "28 days before NMA-LD"),
    ("yes", "2025-02-28", "2025-03-29", PASS, "29 days before NMA-LD"),
    ("yes", "2025-03-29", "2025-03-29", FAIL, "on the NMA-LD day"),
    ("yes", "2025-03-30", "2025-03-29", PASS, "after NMA-LD started"),
    ("yes", None, "2025-03-29", UNKNOWN, "date blank"),
    (None, "2025-03-10", "2025-03-29", FAIL, "received blank, a recorded date 19 days before NMA-LD counts"),
    ("yes", "2025-01-31", None, PASS, "NMA-LD blank, 29 days before consent"),
    ("yes", "2025-02-01", None, UNKNOWN, "NMA-LD blank, 28 days before consent"),
    ("yes", "2025-02-20", None, UNKNOWN, "NMA-LD blank, 9 days before consent"),
])

E11 = table("E11", ["sex", "pregnant", "breastfeeding"], [
    ("male", None, None, NA, "male"),
    ("male", "yes", None, NA, "male with a stray pregnancy cell"),
    ("female", "no", "no", PASS, "female, neither"),
    ("female", "yes", "no", FAIL, "pregnant"),
    ("female", "no", "yes", FAIL, "breastfeeding"),
    ("female", "yes", None, FAIL, "pregnant decides with breastfeeding blank"),
    ("female", None, "no", UNKNOWN, "pregnancy blank"),
    ("female", "no", None, UNKNOWN, "breastfeeding blank"),
    (None, "no", "no", UNKNOWN, "sex blank"),
    (None, None, "yes", UNKNOWN, "sex blank, breastfeeding: not applicable if male, so not a fail in every reading"),
    (None, "yes", "no", UNKNOWN, "sex blank, pregnant"),
    (None, "yes", None, UNKNOWN, "sex blank, pregnant, breastfeeding blank"),
    ("female", None, "yes", FAIL, "breastfeeding decides with pregnancy blank"),
])

# ----------------------------------------------------------------------------------------
# Overrides
# ----------------------------------------------------------------------------------------

OVERRIDES = [
    Case("waiver of a failing I6", {"I6": WAIVED}, {"ecog": 2}, overrides=("I6",)),
    Case("waiver of an unknown E8", {"E8": WAIVED, "E6": PASS}, {"hiv_serology": None}, overrides=("E8",)),
    Case("waiver of a passing I4", {"I4": WAIVED}, overrides=("I4",)),
    Case("waiver of a not-applicable I3", {"I3": WAIVED}, overrides=("I3",)),
    Case("waiver of E11 for a male", {"E11": WAIVED}, {"sex": "male"}, overrides=("E11",)),
    Case("waiver of I2 (BRAF not required by the treating physician)", {"I2": WAIVED},
         {"braf_v600": "mutant"}, [line(1, "metastatic", NIVO)], overrides=("I2",), params=BRAF),
    Case("two waivers", {"I5": WAIVED, "E10": WAIVED, "I6": PASS},
         {"birth_date": "2010-01-01", "live_vaccine_received": None}, overrides=("I5", "E10")),
    # Every override row is "a documented waiver" (spec: "one per documented waiver"); a blank
    # approver, date or reason is "not recorded", and every way of filling in the approver is an
    # approver: the waiver applies (session 30; audits 28A and 29A labelled it so).
    Case("waiver without an approver of a failing I6: waived", {"I6": WAIVED}, {"ecog": 2},
         overrides=({"criterion_id": "I6", "approved_by": None},)),
    Case("waiver without an approver of an unknown E8: waived", {"E8": WAIVED}, {"hiv_serology": None},
         overrides=({"criterion_id": "E8", "approved_by": None},)),
    Case("waiver without an approver of a passing I4: waived", {"I4": WAIVED},
         overrides=({"criterion_id": "I4", "approved_by": None},)),
    Case("waiver without an approver of E11 for a male: waived", {"E11": WAIVED}, {"sex": "male"},
         overrides=({"criterion_id": "E11", "approved_by": None},)),
    Case("waiver of a failing I6 without its date and reason: waived", {"I6": WAIVED}, {"ecog": 2},
         overrides=({"criterion_id": "I6", "approved_date": None, "reason": None},)),
    Case("waiver of a failing I6 with approver, date and reason all blank: waived", {"I6": WAIVED}, {"ecog": 2},
         overrides=({"criterion_id": "I6", "approved_by": None, "approved_date": None, "reason": None},)),
    # The spec gives overrides no key: a criterion waived in two rows is waived.
    Case("failing I6 waived in two documented rows: waived", {"I6": WAIVED}, {"ecog": 2},
         overrides=({"criterion_id": "I6"}, {"criterion_id": "I6", "approved_by": "principal investigator",
                                             "approved_date": "2025-02-27", "reason": "second opinion"})),
    Case("failing I6, one unsigned row and one documented: waived", {"I6": WAIVED}, {"ecog": 2},
         overrides=({"criterion_id": "I6", "approved_by": None}, {"criterion_id": "I6"})),
    Case("failing I6, two unsigned rows: waived", {"I6": WAIVED}, {"ecog": 2},
         overrides=({"criterion_id": "I6", "approved_by": None},
                    {"criterion_id": "I6", "approved_by": None, "reason": "other"})),
    Case("passing I4, two unsigned rows: waived", {"I4": WAIVED},
         overrides=({"criterion_id": "I4", "approved_by": None},
                    {"criterion_id": "I4", "approved_by": None, "reason": "other"})),
]

BASELINE = [Case("baseline patient", {c: (NA if c == "I3" else PASS) for c in CRITERION_IDS})]

ALL_CASES: list[Case] = [
    *BASELINE, *I1, *I2_I3, *I2_SHARED_NUMBER, *I2_UNNUMBERED, *I2_BRAF, *I4, *I4_PARAM, *LIMITS_AT_THE_EDGE, *I5, *I5_NO_DATES, *I6, *I7_LIMITS, *I7_BLANK_CELLS,
    *I7_BLANK_ON_THE_DAY, *I7_UNDATED, *I7_UNTESTED, *I7_WINDOW, *I8,
    *E1, *E2, *E3, *E4, *E5, *E6, *E7, *E8, *E9, *E10, *E11, *OVERRIDES,
]

# ----------------------------------------------------------------------------------------
# Running the cases: one dataset per parameter set, one patient per case
# ----------------------------------------------------------------------------------------


def engine(tables: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
    """Outcomes from the vectorized engine."""
    result = screen(ScreeningDataset(**tables), load_params(overrides=params))
    return result.outcomes[["patient_id", "criterion_id", "outcome"]].astype(str)


def reference(tables: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
    """Outcomes from the row-wise reference evaluator."""
    return reference_screen(tables, load_params(overrides=params).as_dict())


IMPLEMENTATIONS: dict[str, Callable[[dict[str, pd.DataFrame], dict[str, Any]], pd.DataFrame]] = {
    "engine": engine,
    "reference": reference,
}


def params_key(case: Case) -> str:
    """Cases with the same parameters are screened together."""
    return json.dumps(case.params, sort_keys=True)


@functools.cache
def outcomes_for(implementation: str, key: str) -> dict[tuple[str, str], str]:
    """``{(patient_id, criterion_id): outcome}`` of every case with parameters ``key``."""
    cases = [(f"C{i:04d}", c) for i, c in enumerate(ALL_CASES) if params_key(c) == key]
    tables = concat_tables([case.tables(pid) for pid, case in cases])
    frame = IMPLEMENTATIONS[implementation](tables, json.loads(key))
    return {(p, c): o for p, c, o in frame[["patient_id", "criterion_id", "outcome"]].itertuples(index=False)}


def test_case_names_are_unique() -> None:
    names = [c.name for c in ALL_CASES]
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]


def test_every_criterion_has_cases_of_each_outcome_it_can_take() -> None:
    seen: dict[str, set[str]] = {c: set() for c in CRITERION_IDS}
    for case in ALL_CASES:
        for criterion, outcome in case.expected.items():
            seen[criterion].add(outcome)
    for criterion in CRITERION_IDS:
        wanted = {PASS, NA, WAIVED} if criterion == "I3" else {PASS, FAIL, UNKNOWN}
        assert wanted <= seen[criterion], (criterion, seen[criterion])


@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_spec_case(case: Case, implementation: str) -> None:
    patient_id = f"C{ALL_CASES.index(case):04d}"
    outcomes = outcomes_for(implementation, params_key(case))
    got = {criterion: outcomes[(patient_id, criterion)] for criterion in case.expected}
    assert got == case.expected, f"{implementation} on {case.name}: {case.describe()}"
