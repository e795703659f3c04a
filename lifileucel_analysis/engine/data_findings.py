"""Data-quality findings: values that are allowed one by one but odd or contradictory together.

A finding never changes an outcome by itself (the criteria say how each value is read); it
tells the site which cell to look at. One row per finding: ``patient_id``, ``table``,
``row`` (1-based data row of that table's file, as the contract's problems count, also after
a data cut or in a bucket: :attr:`.Facts.source_rows`), ``column``,
``value`` (as recorded) and ``finding`` (what is odd). Whole-column operations only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract.dataset import ScreeningDataset
from ..contract.schema import UNIT_FACTORS
from ..contract.validation import READ_ONCE
from .common_rules import line_numbers
from .evidence import STR, iso_dates
from .facts import Facts, birth_out_of_order, consent_or_nmald, end_missing, on_lines, recurrence_before_start
from .lab_results import shown_unit
from .prior_lines import LineOrder, line_order
from .nullable import is_no, is_yes, surely

COLUMNS = ["patient_id", "table", "row", "column", "value", "finding"]
BRAIN_DETAILS = ["brain_metastases_symptomatic", "brain_metastases_treated", "brain_metastases_stable_since"]


def _frame(ids: pd.Series, table: str, rows: np.ndarray, column: str, value: pd.Series | str,
           finding: pd.Series | str) -> pd.DataFrame:
    """Findings of one kind, for the table rows at positions ``rows`` (0-based)."""
    return pd.DataFrame({
        "patient_id": np.asarray(ids, dtype=object), "table": table, "row": rows + 1, "column": column,
        "value": value if isinstance(value, str) else np.asarray(value.astype(str), dtype=object),
        "finding": finding if isinstance(finding, str) else np.asarray(finding, dtype=object),
    })


def _yes_no(values: pd.Series) -> pd.Series:
    return values.map({True: "yes", False: "no"}).astype(object)


def patient_findings(f: Facts) -> list[pd.DataFrame]:
    """Contradictions within one patients row."""
    p, ids = f.patients, f.patients["patient_id"]
    out = []
    male = (p["sex"] == "male").to_numpy()
    for column in ("pregnant", "breastfeeding"):
        hit = np.flatnonzero(male & is_yes(p[column]).to_numpy())
        out.append(_frame(ids.iloc[hit], "patients", hit, column, "yes", f"male recorded as {column} = yes"))
    vaccine = np.flatnonzero(is_no(p["live_vaccine_received"]).to_numpy() & p["live_vaccine_date"].notna().to_numpy())
    out.append(_frame(ids.iloc[vaccine], "patients", vaccine, "live_vaccine_date",
                      iso_dates(p["live_vaccine_date"].iloc[vaccine]),
                      "a live vaccine date is recorded although live_vaccine_received = no (E10 reads the date)"))
    # The spec's "(the contradiction is a data-quality finding)" follows "says no or is blank": a blank flag
    # beside a date decides nothing (E10 reads the date), so no worklist asks for it (audit 34A).
    unflagged = np.flatnonzero(p["live_vaccine_received"].isna().to_numpy() & p["live_vaccine_date"].notna().to_numpy())
    out.append(_frame(ids.iloc[unflagged], "patients", unflagged, "live_vaccine_received", "",
                      "live_vaccine_received is blank although a live vaccine date ("
                      + iso_dates(p["live_vaccine_date"].iloc[unflagged]) + ") is recorded: record yes if a live "
                      "or attenuated vaccine was given (E10 reads the date)"))
    # A vaccine after the first day of NMA-LD is not "before" it, so E10 passes; but a date after
    # a planned NMA-LD is more often a typo than a vaccine given during the regimen (audit, session 16).
    late = np.flatnonzero(surely(p["live_vaccine_date"] > p["lymphodepletion_date"]).to_numpy())
    out.append(_frame(ids.iloc[late], "patients", late, "live_vaccine_date",
                      iso_dates(p["live_vaccine_date"].iloc[late]),
                      "live vaccine dated after the first day of NMA-LD (E10 passes it as not before NMA-LD)"))
    out.extend(_patient_date_order(p, ids))
    hbv = np.flatnonzero(surely((p["hbv_serology"] == "negative") & (p["hbv_pcr"] == "detectable")).to_numpy())
    out.append(_frame(ids.iloc[hbv], "patients", hbv, "hbv_pcr", "detectable",
                      "HBV PCR detectable although hbv_serology = negative (E8 reads the negative serology)"))
    no_mets = is_no(p["brain_metastases"]).to_numpy()
    for column in BRAIN_DETAILS:
        hit = np.flatnonzero(no_mets & p[column].notna().to_numpy())
        value = p[column].iloc[hit]
        text = iso_dates(value) if column.endswith("since") else _yes_no(value)
        out.append(_frame(ids.iloc[hit], "patients", hit, column, text,
                          f"{column} is filled although brain_metastases = no"))
    return out


def _patient_date_order(p: pd.DataFrame, ids: pd.Series) -> list[pd.DataFrame]:
    """Dates of one patients row that cannot both be right.

    Not contract breaks (the spec's section 1 does not order dates, and one record's typo
    should not stop the whole program's screen): the criteria read the dates as recorded,
    except that no age is computed from a birth date after consent or NMA-LD (I5 is unknown).
    The birth date itself is never shown, as everywhere else.
    """
    consent, ld = p["consent_date"], p["lymphodepletion_date"]
    wrong_birth = birth_out_of_order(p)
    hit = np.flatnonzero(wrong_birth.to_numpy())
    than = pd.Series("consent_date", index=p.index).where(consent.notna(), "lymphodepletion_date").iloc[hit]
    out = [_frame(ids.iloc[hit], "patients", hit, "birth_date", "####-##-##",
                  "birth date after " + than + " (the birth date is not shown): one of the two dates is wrong; "
                  "I5 is unknown until it is corrected")]
    early = np.flatnonzero(surely(ld < consent).to_numpy())
    out.append(_frame(ids.iloc[early], "patients", early, "lymphodepletion_date", iso_dates(ld.iloc[early]),
                      "NMA-LD before consent_date " + iso_dates(consent.iloc[early])
                      + ": one of the two dates is wrong "
                      "(E5, E10 and the I7 lab window read both as recorded)"))
    # Audit 39C: a vaccine typed 1925 for 2025 passed E10 without a word. A birth date already found
    # after consent is the likelier slip: the dates before it are not flagged again.
    born = p["birth_date"].where(~wrong_birth)
    for column, reader in (("live_vaccine_date", "E10"), ("brain_metastases_stable_since", "E5")):
        hit = np.flatnonzero(surely(p[column] < born).to_numpy())
        out.append(_frame(ids.iloc[hit], "patients", hit, column, iso_dates(p[column].iloc[hit]),
                          f"{BEFORE_BIRTH} ({reader} reads it as recorded)"))
    return out


BEFORE_BIRTH = "dated before the birth date (not shown): one of the two dates is wrong"
"""A date of a patient's history before the patient was born (the birth date is never shown)."""


def _therapy_date_order(lines: pd.DataFrame, line_no: pd.Series) -> list[pd.DataFrame]:
    """A line's end or recurrence dated before its start, or a blank end date (ongoing) beside a stop
    reason saying it stopped: said to the site, with how the criteria read it."""
    out = []
    # The recurrence's test is the one I2 and I3 read (facts.recurrence_before_start), not a copy.
    for column, before_start, what, read in (
            ("end_date", surely(lines["end_date"] < lines["start_date"]), "ends before it starts",
             "the criteria read both as recorded"),
            ("recurrence_date", recurrence_before_start(lines), "has a recurrence dated before the line starts",
             "I2 and I3 leave open whether an adjuvant/neoadjuvant line counts until one is corrected")):
        hit = np.flatnonzero(before_start.to_numpy())
        out.append(_frame(lines["patient_id"].iloc[hit], "therapies", hit, column, iso_dates(lines[column].iloc[hit]),
                          "line " + line_no.iloc[hit] + " " + what + " (start_date "
                          + iso_dates(lines["start_date"].iloc[hit]) + "): one of the two dates is wrong ("
                          + read + ")"))
    undated = np.flatnonzero(end_missing(lines).to_numpy())
    out.append(_frame(lines["patient_id"].iloc[undated], "therapies", undated, "end_date", "",
                      "line " + line_no.iloc[undated] + " has no end date (blank = ongoing) but stop_reason "
                      + lines["stop_reason"].iloc[undated].astype(str) + ": it ended on a date not recorded; record "
                      "the end date (I2 and I3 read it as missing on an adjuvant or neoadjuvant line)"))
    # The mirror contradiction (29B): a recorded end date beside stop_reason "ongoing". The date is the
    # more specific record (an adjuvant line stops at the recurrence), so the criteria read it as recorded.
    ended = np.flatnonzero((lines["end_date"].notna() & (lines["stop_reason"] == "ongoing")).to_numpy(
        dtype=bool, na_value=False))
    out.append(_frame(lines["patient_id"].iloc[ended], "therapies", ended, "stop_reason", "ongoing",
                      "line " + line_no.iloc[ended] + " has stop_reason ongoing but an end date ("
                      + iso_dates(lines["end_date"].iloc[ended]) + "): one of the two is wrong, unless the date is a "
                      "planned end (I2 and I3 read the end date as recorded on an adjuvant or neoadjuvant line)"))
    return out


def _after_consent(lines: pd.DataFrame, line_no: pd.Series, patients: pd.DataFrame) -> list[pd.DataFrame]:
    """A prior line started, or a recurrence dated, after the patient's consent: the screening is for
    disease that recurred after prior therapy, so the date (or the consent date) may be wrong. Read as
    recorded (a lifileucel line after consent still fails E1: it may be the program's own infusion
    entered by mistake, audit 22A). With the consent date blank, a date after NMA-LD is after consent
    too (consent comes first, as the criteria read it; audit 39A: such a recurrence went unflagged)."""
    at_consent = on_lines(patients["consent_date"], lines)
    at_nmald = on_lines(patients["lymphodepletion_date"], lines)
    bound = on_lines(consent_or_nmald(patients), lines)

    def after(hit: np.ndarray) -> pd.Series:  # spelt for the few rows found only
        return ("after consent_date " + iso_dates(at_consent.iloc[hit])).where(
            at_consent.iloc[hit].notna(), "after lymphodepletion_date " + iso_dates(at_nmald.iloc[hit])
            + ", and so after consent (consent_date not recorded; it comes first)")

    out = []
    # X07 (audit 33): a recurrence is not a therapy; it had to come before a screening for advanced disease.
    for column, what, why in (
            ("start_date", "starts", "a prior therapy should precede screening; is the date (or the line, such as "
                                     "the program's own infusion) right?"),
            ("recurrence_date", "has a recurrence dated", "a patient screened for unresectable or metastatic "
                                                          "disease has recurred by consent; is the date right?")):
        hit = np.flatnonzero(surely(lines[column] > bound).to_numpy())
        out.append(_frame(lines["patient_id"].iloc[hit], "therapies", hit, column, iso_dates(lines[column].iloc[hit]),
                          "line " + line_no.iloc[hit] + " " + what + " " + after(hit) + ": " + why
                          + " The criteria read it as recorded"))
    return out


def _unknown_agents_said(names: pd.Series) -> pd.Series:
    """``agent not in the drug dictionary: classify agent 'x'``, or for two or more unknown names of one
    regimen ``agents not in ...: classify agents 'x', 'y'``: each name quoted alone, as the worklist asks for
    it (audit 34B: "classify agent 'x+y'" named a drug that does not exist, and a drug file could not add it)."""
    several = names.str.contains("+", regex=False).to_numpy(dtype=bool)
    quoted = "'" + names.str.replace("+", "', '", regex=False) + "'"
    lead = pd.Series(np.where(several, "agents not in the drug dictionary: classify agents ",
                              "agent not in the drug dictionary: classify agent "), index=names.index)
    return lead + quoted


def therapy_findings(f: Facts) -> list[pd.DataFrame]:
    """Unclassified agents, recurrence dates on metastatic lines, a line's dates out of order and line
    numbers out of date order."""
    lines = f.lines
    unknown = np.flatnonzero((lines["unknown_agents"] != "").to_numpy())
    line_no = line_numbers(lines)
    out = [_frame(lines["patient_id"].iloc[unknown], "therapies", unknown, "agents",
                  lines["agents"].iloc[unknown],
                  _unknown_agents_said(lines["unknown_agents"].iloc[unknown]) + " (therapies line "
                  + line_no.iloc[unknown] + ")")]
    branded = np.flatnonzero((lines["brand_agents"] != "").to_numpy())
    out.append(_frame(lines["patient_id"].iloc[branded], "therapies", branded, "agents", lines["agents"].iloc[branded],
                      "a brand name where the contract asks for generic names: " + lines["brand_agents"].iloc[branded]
                      + " (therapies line " + line_no.iloc[branded] + "): read as the generic drug; write its "
                      "generic name"))
    cut = np.flatnonzero(lines["missing_agent"].to_numpy(dtype=bool))
    out.append(_frame(lines["patient_id"].iloc[cut], "therapies", cut, "agents", lines["agents"].iloc[cut],
                      "an agent name is missing (an empty name before, after or between '+' signs): write every "
                      "agent of the regimen, joined by '+' (therapies line " + line_no.iloc[cut] + ")"))
    # The contract gives recurrence_date to adjuvant/neoadjuvant lines only: on a metastatic
    # line it is ignored, and it may mean the setting is wrong.
    stray = np.flatnonzero((surely(lines["setting"] == "metastatic") & lines["recurrence_date"].notna())
                           .to_numpy())
    out.append(_frame(lines["patient_id"].iloc[stray], "therapies", stray, "recurrence_date",
                      iso_dates(lines["recurrence_date"].iloc[stray]),
                      "a recurrence date on a metastatic line (therapies line " + line_no.iloc[stray]
                      + "): it is read only for adjuvant/neoadjuvant lines; is the setting right?"))
    out.extend(_therapy_date_order(lines, line_no))
    out.extend(_after_consent(lines, line_no, f.patients))
    birth = f.patients["birth_date"].where(~birth_out_of_order(f.patients))  # as for the patients' dates
    born = on_lines(birth, lines)
    early = np.flatnonzero(surely(lines["start_date"] < born).to_numpy())
    out.append(_frame(lines["patient_id"].iloc[early], "therapies", early, "start_date",
                      iso_dates(lines["start_date"].iloc[early]),
                      "line " + line_no.iloc[early] + " starts " + BEFORE_BIRTH
                      + " (I2, I3 and E1 read it as recorded)"))
    order, ranks = line_order(f)  # by patient and number, a patient's lines without a number first
    start = lines["start_date"].to_numpy()[order]
    numbered = ~ranks.blank  # a line without a number has no place in the order
    # The next number of the same patient (lines sharing a number have no order among them).
    same = np.zeros(len(order), dtype=bool)
    same[1:] = (ranks.pos[1:] == ranks.pos[:-1]) & (ranks.run_end[1:] != ranks.run_end[:-1]) & numbered[:-1]
    earlier = np.zeros(len(order), dtype=bool)
    earlier[1:] = start[1:] < start[:-1]  # NaT compares False: a blank date is not out of order
    hit = order[same & earlier]
    previous = pd.Series(np.roll(order, 1)[same & earlier])
    out.append(_frame(lines["patient_id"].iloc[hit], "therapies", hit, "start_date",
                      iso_dates(lines["start_date"].iloc[hit]),
                      "line " + line_no.iloc[hit].to_numpy() + " starts before line "
                      + line_no.iloc[previous].to_numpy() + " ("
                      + iso_dates(lines["start_date"].iloc[previous]).to_numpy() + "): line numbers out of date order"))
    out.append(_shared_numbers(lines, line_no, order, ranks.shared()))
    out.append(_ongoing_before_a_later_line(lines, line_no, order, ranks))
    return out


def _ongoing_before_a_later_line(lines: pd.DataFrame, line_no: pd.Series, order: np.ndarray,
                                 ranks: LineOrder) -> pd.DataFrame:
    """A line without an end date and without a stop reason saying it stopped (so read as ongoing) while a
    line of a higher number follows it: a new regimen means the earlier one stopped (audit 33, X10: an
    adjuvant line "ongoing" beside a later metastatic line counted for I2 as recurred on therapy, unsaid).
    A line stopped for progression is left out: whatever its end, it stopped on progression."""
    reason = lines["stop_reason"]
    ongoing = (lines["end_date"].isna() & (reason.isna() | (reason == "ongoing"))).to_numpy(dtype=bool)[order]
    followed = ongoing & ~ranks.blank & (ranks.run_end < ranks.patient_end)  # a run of a higher number comes next
    hit = order[followed]
    later = order[ranks.run_end[followed]]  # the first line of the next number
    starts = iso_dates(lines["start_date"].iloc[later]).fillna("start date not recorded").to_numpy()
    return _frame(lines["patient_id"].iloc[hit], "therapies", hit, "end_date", "",
                  "line " + line_no.iloc[hit].to_numpy() + " has no end date and no stop reason saying it stopped "
                  "(read as ongoing), but line " + line_no.iloc[later].to_numpy() + " follows it (start_date "
                  + starts + "): record when line " + line_no.iloc[hit].to_numpy() + " ended and why")


def _shared_numbers(lines: pd.DataFrame, line_no: pd.Series, order: np.ndarray, size: np.ndarray) -> pd.DataFrame:
    """Lines of one patient that share a number: which came first is not recorded. ``order`` and
    ``size``: :func:`.prior_lines.line_order`'s sort and each sorted line's ``LineOrder.shared``."""
    shared = size > 1
    hit, rows = order[shared], size[shared]
    keep = np.argsort(hit, kind="stable")  # in table order, as the other findings
    hit, rows = hit[keep], rows[keep]
    return _frame(lines["patient_id"].iloc[hit], "therapies", hit, "line", line_no.iloc[hit],
                  "line " + line_no.iloc[hit].to_numpy() + " is recorded in " + rows.astype(str).astype(object)
                  + " rows: which came first is not recorded (I2 reads them in either order)")


def toxicity_findings(f: Facts) -> list[pd.DataFrame]:
    """A grade 5 (fatal) toxicity recorded as ongoing."""
    tox = f.toxicities
    hit = np.flatnonzero((surely(tox["grade"] == 5) & is_yes(tox["ongoing"])).to_numpy())
    return [_frame(tox["patient_id"].iloc[hit], "toxicities", hit, "ongoing", "yes",
                   "grade 5 (fatal) toxicity recorded as ongoing")]


def lab_findings(f: Facts) -> list[pd.DataFrame]:
    """Several results on the counting day that disagree (which is the latest is not recorded)."""
    ids = f.patients["patient_id"]
    out = []
    for test, lab in f.labs.items():
        hit = np.flatnonzero(lab.conflict.to_numpy())
        # The day and the two ends, so the site finds the rows (audit 22C: one value, no date). The
        # ends are quoted only where both are recorded, dated, named results: where a row with a
        # blank stands at an end, the conflict is between other rows (review 22E).
        plain = (~lab.undated_end & ~lab.untested_end).to_numpy()[hit] & lab.conflict_ends_recorded
        quoted = ": " + lab.possible_raw.iloc[hit].astype(str) + " and " + lab.sure_raw.iloc[hit].astype(str)
        ends = " (" + iso_dates(lab.date.iloc[hit]) + ") disagree" + quoted.where(plain, "")
        out.append(pd.DataFrame({
            # The file row whose value is quoted (audit 26A: the row cell was blank).
            "patient_id": ids.iloc[hit].to_numpy(dtype=object), "table": "labs", "column": "value",
            "row": lab.conflict_rows + 1,
            # Its value and unit, as sentences write them ("7 x10^9/L" for the code 10^9/L), without the
            # canonical-unit value the evidence adds ("800 /uL (0.8 x10^9/L)").
            "value": lab.conflict_recorded,
            "finding": (f"several {test} results on the counting day" + ends
                        + "; which is the latest is not recorded").to_numpy(dtype=object),
        }))
    return out


OVERRIDE_BLANKS: dict[str, str] = {
    "approved_by": "who approved the waiver is not recorded: that alone does not stop it (each override row is a "
                   "documented waiver); record the approver so that its role can be checked",
    # Audit 36A: "not applied there" read as if a fail simply stood; a fail or unknown it waives is unknown.
    "approved_date": "the waiver's approval date is not recorded (at a data cut it may postdate the cut: a fail or "
                     "unknown it waives is unknown there, until the date is recorded)",
    "reason": "the waiver's reason is not recorded",
}
"""What a blank cell of an override row means for the waiver (:func:`.waivers.apply_overrides`)."""


def override_findings(overrides: pd.DataFrame,
                      needless: tuple[np.ndarray, np.ndarray] | None = None) -> list[pd.DataFrame]:
    """Override rows with a blank approver, approval date or reason (the waiver is not fully
    documented), rows of one patient and criterion that are more than one, and waivers of an
    outcome that does not block.

    ``needless``: the rows (positions) of waivers applied to a ``pass`` or ``not_applicable`` outcome
    and those outcomes (:attr:`.waivers.Waived.needless`): they change no verdict, but a monitor
    reading the waivers should know the exception was not needed, or names another criterion than
    meant (review 28C).
    """
    cell = overrides["patient_id"].astype(str) + "\t" + overrides["criterion_id"].astype(str)
    rows_of_cell = cell.map(cell.value_counts()).to_numpy() if len(cell) else np.zeros(0, dtype=np.int64)
    criterion = overrides["criterion_id"].astype(str).to_numpy(dtype=object)
    out = []
    for column, finding in OVERRIDE_BLANKS.items():
        hit = np.flatnonzero(overrides[column].isna().to_numpy())
        out.append(_frame(overrides["patient_id"].iloc[hit], "overrides", hit, column, "",
                          "waiver of " + criterion[hit] + ": " + finding))
    hit = np.flatnonzero(rows_of_cell > 1)
    out.append(_frame(overrides["patient_id"].iloc[hit], "overrides", hit, "criterion_id", criterion[hit],
                      criterion[hit] + " has " + rows_of_cell[hit].astype(str).astype(object)
                      + " override rows for this patient: it is waived if any of them applies (at a data cut, one "
                        "approved by the cut), and the waivers table lists each one applied"))
    if needless is not None and len(needless[0]):
        hit, was = needless
        words = pd.Series(was, dtype=object).str.replace("_", " ", regex=False).to_numpy(dtype=object)
        out.append(_frame(overrides["patient_id"].iloc[hit], "overrides", hit, "criterion_id", criterion[hit],
                          "waiver of " + criterion[hit] + ", whose outcome without it is " + words
                          + ": the waiver changes no verdict; check that it names the criterion meant"))
    return out


def _file_rows(f: Facts, tables: np.ndarray, rows: np.ndarray) -> pd.Series:
    """Positional 1-based rows turned into the tables' file rows (blank rows stay blank)."""
    out = rows.copy()
    for table, in_file in f.source_rows.items():
        at = (tables == table) & ~np.isnan(rows)
        out[at] = in_file[rows[at].astype(np.int64) - 1] + 1
    return pd.Series(out).astype("Int64")


def untested_lab_findings(dataset: ScreeningDataset) -> list[pd.DataFrame]:
    """Lab rows whose test is blank: read as each test their unit allows (:mod:`.lab_open_tests`)."""
    hit = np.flatnonzero(dataset.labs["test"].isna().to_numpy())
    if not len(hit):
        return []
    in_file = dataset.rows_in_source("labs")[hit]  # the file row is given here (as data_findings expects)
    return [_frame(dataset.labs["patient_id"].iloc[hit], "labs", in_file, "test", "",
                   "test not recorded: the result is read as each test its unit allows, and I7 decides only "
                   "where every one of them gives the same outcome")]


PLAUSIBLE_RESULTS: dict[str, tuple[float | None, float | None, str]] = {
    "anc": (None, 100.0, "10^9/L"),
    "platelets": (1.0, 2000.0, "10^9/L"),
    "hemoglobin": (2.0, 25.0, "g/dL"),
    "ast": (None, 50_000.0, "U/L"),
    "alt": (None, 50_000.0, "U/L"),
    "total_bilirubin": (None, 50.0, "mg/dL"),
    "creatinine_clearance": (None, 300.0, "mL/min"),
}
"""Per test, the lowest and highest result a patient can have (in the unit named; ``None``: no bound).
Beyond them a result is a typing or unit slip far likelier than a patient: 1500 with unit 10^9/L is
an ANC in /uL, 12 with unit g/L a hemoglobin in g/dL (audit 31B: platelets of 99,999,999 x 10^9/L
passed I7 without a word). A finding, never an outcome: I7 reads the value as recorded."""


def implausible_lab_findings(dataset: ScreeningDataset) -> list[pd.DataFrame]:
    """Lab results outside :data:`PLAUSIBLE_RESULTS` once converted to the test's unit (file rows)."""
    labs = dataset.labs
    # One pass by category codes (14,000,000 lab rows of a million patients): each row's factor to its
    # test's unit and its test's bounds, looked up from small tables; code -1 (blank) reads NaN.
    test, unit = pd.Categorical(labs["test"]), pd.Categorical(labs["unit"])
    names = [str(t) for t in test.categories]
    factor = np.full((len(names) + 1, len(unit.categories) + 1), np.nan)
    bounds = np.full((len(names) + 1, 2), np.nan)
    for i, name in enumerate(names):
        factor[i, :-1] = [UNIT_FACTORS.get(name, {}).get(str(u), np.nan) for u in unit.categories]
        low, high, _ = PLAUSIBLE_RESULTS.get(name, (None, None, ""))
        bounds[i] = [np.nan if low is None else low, np.nan if high is None else high]
    value = labs["value"].to_numpy(dtype=float)
    converted = value * factor[test.codes, unit.codes]
    side = np.where(converted > bounds[test.codes, 1], 1, np.where(converted < bounds[test.codes, 0], 0, -1))
    hits = np.flatnonzero(side >= 0)
    in_file = dataset.rows_in_source("labs")
    out = []
    for (code, beyond), at in pd.Series(hits).groupby([test.codes[hits], side[hits]]):  # a few kinds, not rows
        name, hit = names[code], at.to_numpy()
        low, high, canonical = PLAUSIBLE_RESULTS[name]
        words = f"{name} result {'above' if beyond else 'below'} {(high if beyond else low):g} {shown_unit(canonical)}"
        shown = np.array([np.format_float_positional(v, trim="-") for v in value[hit]], dtype=object)  # the few hit
        out.append(_frame(labs["patient_id"].iloc[hit], "labs", in_file[hit], "value", shown,
                          words + ", beyond any patient's: a typing or unit slip is likelier (check the value and "
                          "its unit); I7 reads it as recorded"))
    return out


def repeated_row_findings(dataset: ScreeningDataset) -> list[pd.DataFrame]:
    """Rows read once because they repeat an earlier row in every column (file rows, 0-based)."""
    return [_frame(frame["patient_id"], table, frame["row"].to_numpy(), "", "",
                   "repeats row " + (frame["original"] + 1).astype(str).to_numpy(dtype=object)
                   + " in every column (the same " + READ_ONCE[table] + " written twice): read once")
            for table, frame in dataset.repeated_rows.items()]


def data_findings(f: Facts, dataset: ScreeningDataset | None = None,
                  needless: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """Every finding, ordered by patient (input order), then table and row (``dataset``: its overrides,
    lab rows without a test and rows read once are read too; ``needless``: as :func:`override_findings`)."""
    found = patient_findings(f) + therapy_findings(f) + toxicity_findings(f)
    in_file = lab_findings(f)  # findings whose rows are file rows already
    if dataset is not None:
        found += override_findings(dataset.overrides.reset_index(drop=True), needless)
        in_file += untested_lab_findings(dataset) + implausible_lab_findings(dataset) + repeated_row_findings(dataset)
    mapped = [frame for frame in found if len(frame)]
    frames = [frame for frame in in_file if len(frame)]
    if mapped:  # positions in the tables, turned into file rows
        positional = pd.concat(mapped, ignore_index=True)
        positional["row"] = _file_rows(f, positional["table"].to_numpy(),
                                       positional["row"].to_numpy(dtype=float, na_value=np.nan))
        frames.insert(0, positional)
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype="Int64" if c == "row" else STR) for c in COLUMNS})
    table = pd.concat(frames, ignore_index=True)
    rank = pd.Series(np.arange(f.n), index=f.patients["patient_id"].to_numpy())
    table["_order"] = rank.reindex(table["patient_id"].to_numpy()).to_numpy()
    table = table.sort_values(["_order", "table", "row"], kind="stable").drop(columns="_order")
    table = table.astype({c: STR for c in COLUMNS if c != "row"}).astype({"row": "Int64"})
    return table.reset_index(drop=True)[COLUMNS]
