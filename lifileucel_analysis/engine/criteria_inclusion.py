"""Inclusion criteria I1-I8 of NCT05398640, each defined in one place (see ``docs/criteria.md``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

import pyarrow as pa
import pyarrow.compute as pc

from ..contract.messages import counted
from .common_rules import (F, N, P, U, allowed_range, at_least, column, line_names, line_requests,
                           recurrence_in_window_reasons, recurrence_past_window, window_open_reasons, yes_fails)
from .criterion import criterion
from .evidence import (IF_STAGE_III, TEXT, Part, Rule, Text, blank_fields, combine, decide, iso_dates,
                       join_per_patient, join_texts, named_once, text_series)
from .outcome import CODE
from .prior_line_evidence import (anti_pd1_part, braf_part, count_part, progression_part, unnumbered_open,
                                  why_not_counted)
from .prior_line_readings import naming_what_decides, reading_evidence
from .prior_lines import i2_readings, line_flags, line_order, lines_that_may_decide, may_be_latest, shared_numbers
from .facts import Facts, LabResult, age_on, birth_out_of_order
from .lab_part_rules import Window, lab_max_part, lab_min_part, lab_window
from .nullable import is_no, is_yes, yes_or_blank
from .parameters import CriteriaParams

EARLY_STAGES = ["0", "IA", "IB", "IIA", "IIB", "IIC", "IIIA", "IIIB"]


@criterion("I1", record="Unresectable or metastatic melanoma (Stages IIIC/IIID/IV per AJCC 8th edition)",
           label="Stage IIIC-IV, unresectable", reads="patients.ajcc_stage patients.disease_unresectable")
def i1_stage(f: Facts, p: CriteriaParams) -> Part:
    """Stage IV, or IIIC/IIID judged unresectable; stage III without sub-group is unknown unless judged resectable."""
    stage, unresectable = column(f, "ajcc_stage"), column(f, "disease_unresectable")
    # Stage III groups that unresectable disease could make pass (IIIA/IIIB are early stages).
    stage_iii_may_pass = stage.isin(["III", "IIIC", "IIID"])
    return decide(f.n, [
        Rule(stage.isin(EARLY_STAGES), F, "stage {stage} is not IIIC/IIID/IV"),
        Rule(stage_iii_may_pass & is_no(unresectable), F, "stage {stage} judged resectable"),
        Rule(stage == "IV", P, "stage IV (metastatic)"),
        Rule(stage.isin(["IIIC", "IIID"]) & is_yes(unresectable), P, "stage {stage}, unresectable"),
        # Resectability is asked with the stage, on its condition: a III, IIIC or IIID needs it (review 37B: a
        # second round after the stage came in; 37C: plain III too).
        Rule(stage.isna() & unresectable.isna(), U, "AJCC stage not recorded (ajcc_stage); if III, IIIC or IIID, "
             "resectability is needed too (disease_unresectable)",
             f"patients.ajcc_stage; patients.disease_unresectable ({IF_STAGE_III})"),
        Rule(stage.isna(), U, "AJCC stage not recorded (ajcc_stage)", "patients.ajcc_stage"),
        Rule((stage == "III") & is_yes(unresectable), U, "stage III without sub-group (ajcc_stage: IIIC/IIID "
             "passes, IIIA/IIIB fails), unresectable", "patients.ajcc_stage (sub-group)"),
        Rule(stage == "III", U, "stage III without sub-group (ajcc_stage), resectability not recorded "
             "(disease_unresectable)",
             "patients.ajcc_stage (sub-group); patients.disease_unresectable"),
        Rule(True, U, "stage {stage}, resectability not recorded (disease_unresectable)",
             "patients.disease_unresectable"),
    ], {"stage": stage})


# --- I2: four parts (engine/prior_line_evidence.py), decided over every reading (engine/prior_lines.py)

@criterion("I2", record="Progressed on or did not achieve a response or were intolerant due to toxicity following "
                        "1-4 prior lines of systemic therapy including PD-1/ PD-L1 blocking antibody.",
           label="{min_prior_lines}-{max_prior_lines} prior lines incl. anti-PD-(L)1, progressed",
           reads="therapies.line therapies.setting therapies.agents therapies.start_date therapies.end_date "
                 "therapies.best_response therapies.stop_reason therapies.recurrence_date patients.braf_v600",
           limits="min_prior_lines max_prior_lines adjuvant_recurrence_months require_braf_inhibitor_if_v600",
           rule="{min_prior_lines}-{max_prior_lines} counted prior lines (adjuvant anti-PD-(L)1 if recurred <= "
                "{adjuvant_recurrence_months}), one with anti-PD-(L)1, the latest progressed, intolerant or "
                "non-responding; BRAF inhibitor if V600: {require_braf_inhibitor_if_v600}")
def i2_prior_lines(f: Facts, p: CriteriaParams) -> Part:
    """1-4 counted prior lines, one with anti-PD-(L)1, the latest progressed; decided over every reading of blanks."""
    counted, setting = f.lines["counted"], f.lines["setting"]
    surely, maybe = is_yes(counted).to_numpy(), yes_or_blank(counted).to_numpy()
    shows = f.lines["shows_progression"]
    # A line whose blank setting changes whether it shows progression (as adjuvant, its counted
    # recurrence is its progression) is uncertain although it counts either way.
    setting_open = setting.isna().to_numpy() & ~is_yes(shows).to_numpy()
    # A blank line number leaves open which line is the most recent where another line may count.
    unnumbered = unnumbered_open(f, maybe)
    # So does a line number shared by lines that may each be the most recent and say otherwise.
    ordered = line_order(f)
    flags = line_flags(f)  # every line's readings reduced once, for shared numbers and the readings
    shared = shared_numbers(maybe, surely, ordered, flags)
    tied = shared.open
    uncertain = ((counted.isna() | f.lines["pd1"].isna()).to_numpy() | (shows.isna().to_numpy() | setting_open) & maybe
                 | unnumbered | tied)
    # A line's stop reason and best response matter only where it may be the most recent counted line
    # (audit 21b: a first line below four surely counted ones was asked for its best response).
    latest = may_be_latest(maybe, surely, ordered)
    asked = uncertain & lines_that_may_decide(f, p, surely, maybe, latest, unnumbered | tied)
    # The lines whose agents I2 asks for anyway: asked, with the anti-PD-(L)1 class open; the BRAF part asks
    # for the others it needs (review 42: with the trim, a line dropped from I2's asks went unasked).
    braf = braf_part(f, p, asked & f.lines["pd1"].isna().to_numpy())
    left_out = why_not_counted(f, p, f.lines["adjuvant"].to_numpy() & is_no(counted).to_numpy())
    short = f.count(maybe) < p.min_prior_lines
    count = count_part(f, p, surely, maybe, left_out)
    # An open count has named every line that may not count, and why: the anti-PD-(L)1 part, said after
    # it, does not repeat them (audit 40A: one 785-character sentence said the same reasons twice).
    parts = [count, anti_pd1_part(f, p, surely, maybe, pc.if_else(pa.array(short), pa.scalar("", TEXT), left_out),
                                  reasons_said=count.codes == CODE[U]),
             progression_part(f, p, maybe, unnumbered, shared), braf]
    readings = i2_readings(f, p, ordered, flags)
    codes = np.where(~readings.some_fail, CODE[P], np.where(~readings.some_pass, CODE[F], CODE[U])).astype(np.uint8)
    # The blanks of the lines that may decide I2 (they suffice: tests/test_i2_asks_suffice.py), and the BRAF part's.
    lines_needed = Text(line_requests(f, asked, latest, unnumbered | tied, shared.shared), np.arange(f.n))
    needs = join_texts([lines_needed, braf.needs.where(braf.codes == CODE[U])]).where(codes == CODE[U])
    evidence = reading_evidence(f, p, parts, codes, uncertain, readings.fail_routes, latest)
    return Part(codes, naming_what_decides(evidence, needs), needs)


@criterion("I3", record="May have received adjuvant PD-1/PD-L1 blocking antibody if recurred within 6 months of "
                        "discontinuation of therapy or while on therapy",
           label="Adjuvant anti-PD-(L)1 recurrence <= {adjuvant_recurrence_months}",
           reads="therapies.setting therapies.agents therapies.start_date therapies.end_date therapies.stop_reason "
                 "therapies.recurrence_date",
           limits="adjuvant_recurrence_months")
def i3_adjuvant(f: Facts, p: CriteriaParams) -> Part:
    """Which adjuvant anti-PD-(L)1 lines qualify for I2; never blocks.

    ``pass`` while the patient has such a line, or may have one: a line of blank setting
    with an anti-PD-(L)1 agent, or an adjuvant line whose agents are not classified (a
    blank is never a "no", so "no such line" cannot be said of it; audit, session 17).
    ``not_applicable`` only when no line is or may be one.
    """
    setting_open = f.lines["setting"].isna().to_numpy()
    pd1 = f.lines["pd1"]
    adjuvant_pd1 = f.lines["adjuvant"].to_numpy() & is_yes(pd1).to_numpy()
    may_be = (f.lines["adjuvant"].to_numpy() | setting_open) & yes_or_blank(pd1).to_numpy() & ~adjuvant_pd1
    window = f.lines["recurrence_in_window"]
    qualifying = adjuvant_pd1 & is_yes(window).to_numpy()
    unclear = adjuvant_pd1 & window.isna().to_numpy()
    maybe_lines = _if_it_is_one(f, p, may_be)
    # Name only the columns that leave a line open: every such line has a blank setting, unclassified agents or both.
    setting_blank = f.count(may_be & setting_open) > 0
    unclassified = f.count(may_be & pd1.isna().to_numpy()) > 0
    why = pa.array(MAY_BE_ONE, type=TEXT).take(np.where(setting_blank & unclassified, 2, setting_blank.astype(int)))
    also = pc.if_else(pc.equal(maybe_lines, ""), pa.scalar("", TEXT),
                      pc.binary_join_element_wise(pa.scalar("; may also be one (", TEXT), why, pa.scalar("): ", TEXT),
                                                  maybe_lines.cast(TEXT), pa.scalar("", TEXT)))
    # The spec asks the evidence to say which lines qualified, which did not and which are unclear.
    months = p.adjuvant_recurrence_months
    values = {"yes": _lines_or_none(f, qualifying, lambda lines: recurrence_in_window_reasons(f, lines, months)),
              "no": _lines_or_none(f, adjuvant_pd1 & ~qualifying & ~unclear,
                                   lambda lines: recurrence_past_window(lines, months)),
              "unclear": _lines_or_none(f, unclear, lambda lines: window_open_reasons(lines, months), "; "),
              "months": counted(months, "month"), "also": also, "maybe": maybe_lines, "why": why}
    return decide(f.n, [
        Rule(f.count(adjuvant_pd1) > 0, P, "adjuvant/neoadjuvant anti-PD-(L)1 lines qualifying (recurrence on "
                                           "therapy or within {months}): {yes}; not qualifying: {no}; "
                                           "unclear: {unclear}{also}"),
        # Says what it may have first (audit 33: opening on "no line recorded as ..." read as not applicable).
        Rule(f.count(may_be) > 0, P, "may have an adjuvant/neoadjuvant anti-PD-(L)1 line ({why}): {maybe}; none "
                                     "is recorded as one, and I3 never blocks"),
        Rule(True, N, "no line recorded as adjuvant/neoadjuvant with an anti-PD-(L)1 agent"),
    ], values)


MAY_BE_ONE = ("agents unclassified: therapies.agents", "setting blank: therapies.setting",
              "setting blank or agents unclassified: therapies.setting, therapies.agents")
"""Why a patient's lines may be adjuvant anti-PD-(L)1 lines without being recorded as such (I3's
evidence): unclassified agents only, a blank setting only, or both."""


def _if_it_is_one(f: Facts, p: CriteriaParams, rows: np.ndarray) -> pa.Array:
    """Per patient, the lines that may be adjuvant anti-PD-(L)1 lines, each with whether it would
    qualify if it is one: "line 1 (nivolumab) (if so, it qualifies: recurrence on therapy or within
    6 months of its end)", "... (if so, it does not: recurrence 2025-06-01 past the 6-month window
    from its end 2024-06-30 to 2024-12-30)", "... (if so, unclear: recurrence date not
    recorded: it qualifies if on or before ...)" (audit 28A: the evidence named such a line without
    saying what its dates would make of it)."""
    lines = f.lines[rows]
    window = lines["recurrence_in_window"]
    months = p.adjuvant_recurrence_months
    late = recurrence_past_window(lines, months)
    reasons = window_open_reasons(lines, months, name_the_setting=False)  # "if so" says it
    open_text = ("if so, unclear: " + reasons.astype(str)).where(reasons != "", "if so, unclear")
    status = "if so, it qualifies: " + recurrence_in_window_reasons(f, lines, months).astype(object)
    status = status.where(~is_no(window).to_numpy(), "if so, it does not: " + late)
    status = status.where(window.notna().to_numpy(), open_text)
    text = line_names(lines) + " (" + status + ")"
    # "; " between lines: a reason may hold commas ("stopped (completed), recurrence date not recorded"; 29F).
    return join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n, "; ")


def _lines_or_none(f: Facts, rows: np.ndarray, reasons_of: Callable[[pd.DataFrame], pd.Series],
                   sep: str = ", ") -> pa.Array:
    """Per patient, the selected lines, each with its reason in brackets, joined by ``sep``, or "none".

    I3 lists three kinds this way: the qualifying lines (:func:`.common_rules.recurrence_in_window_reasons`:
    "line 1 (pembrolizumab) (recurrence 2024-06-17 within 6 months of its end 2024-04-25)"), the lines
    not qualifying (:func:`.common_rules.recurrence_past_window`) and the unclear ones
    (:func:`.common_rules.window_open_reasons`, joined by "; ": a reason may hold commas).
    """
    lines = f.lines[rows]
    text = line_names(lines) + " (" + reasons_of(lines) + ")"
    listed = join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n, sep)
    return pc.if_else(pc.equal(listed, ""), pa.scalar("none", listed.type), listed)


@criterion("I4", record="At least one resectable lesion (or aggregate of lesions resected) of a minimum 1.5 cm in "
                        "diameter post-resection to generate TIL",
           label="Resectable lesion >= {min_lesion_cm} cm", reads="patients.resectable_lesion_cm",
           limits="min_lesion_cm")
def i4_lesion(f: Facts, p: CriteriaParams) -> Part:
    """Resectable lesion of at least ``min_lesion_cm`` after resection."""
    return at_least(column(f, "resectable_lesion_cm"), p.min_lesion_cm, "patients.resectable_lesion_cm",
                    "resectable lesion (cm)")


@criterion("I5", record="Must be ≥ 18 years of age at time of consent", label="Age >= {min_age_years} at consent",
           reads="patients.birth_date patients.consent_date patients.lymphodepletion_date", limits="min_age_years")
def i5_age(f: Facts, p: CriteriaParams) -> Part:
    """Age in whole years at consent of at least ``min_age_years``."""
    birth, consent, ld = column(f, "birth_date"), column(f, "consent_date"), column(f, "lymphodepletion_date")
    needs = blank_fields({"patients.birth_date": birth.isna(), "patients.consent_date": consent.isna()})
    # Consent is signed before NMA-LD (the program's order), so a patient under age at NMA-LD
    # was under age at any consent date: a fail in every reading. A birth date after consent
    # (or, consent blank, after NMA-LD) gives no age: one of the dates is wrong (a finding).
    age_at_ld = age_on(birth, ld)
    wrong_order = birth_out_of_order(f.patients)
    return decide(f.n, [
        Rule(f.age >= p.min_age_years, P, "age {age} at consent >= {limit}"),
        Rule(f.age < p.min_age_years, F, "age {age} at consent < {limit}"),
        Rule(consent.isna() & (age_at_ld < p.min_age_years), F,
             "consent date not recorded; age {age_at_ld} at NMA-LD ({ld}) < {limit}, and consent comes before "
             "NMA-LD"),
        # Whatever the dates, nobody is younger than 0: every age passes a limit of 0.
        Rule(p.min_age_years <= 0, P, "age at consent not known, but every age passes (>= {limit})"),
        Rule(wrong_order & consent.notna(), U, "birth date after consent date, so one of the two is wrong "
             "(birth_date, consent_date): age at consent unknown", "patients.birth_date; patients.consent_date"),
        Rule(wrong_order, U, "consent date not recorded, and birth date after NMA-LD, so one of the two is wrong "
             "(birth_date, consent_date): age at consent unknown", "patients.birth_date; patients.consent_date"),
        Rule(birth.isna() & consent.isna(), U, "birth date and consent date not recorded (birth_date, "
             "consent_date): age at consent unknown",
             "{needs}"),
        Rule(birth.isna(), U, "birth date not recorded (birth_date): age at consent unknown", "{needs}"),
        Rule(True, U, "consent date not recorded (consent_date): age at consent unknown", "{needs}"),
    ], {"age": f.age, "limit": p.min_age_years, "needs": needs, "age_at_ld": age_at_ld, "ld": ld})


@criterion("I6", record="ECOG performance status of 0-1 and estimated life expectancy of ≥ 3 months",
           label="ECOG 0-{max_ecog}, life expectancy >= {min_life_expectancy_months}",
           reads="patients.ecog patients.life_expectancy_months", limits="max_ecog min_life_expectancy_months")
def i6_performance(f: Facts, p: CriteriaParams) -> Part:
    """ECOG at most ``max_ecog`` and life expectancy of at least ``min_life_expectancy_months``."""
    ecog = column(f, "ecog")
    ecog_part = decide(f.n, [
        Rule(ecog <= p.max_ecog, P, "ECOG {ecog} <= {max}"),
        Rule(ecog > p.max_ecog, F, "ECOG {ecog} > {max}"),
        Rule(allowed_range("patients.ecog")[1] <= p.max_ecog, P,
             "ECOG not recorded, but every allowed value passes (<= {max})"),
        Rule(True, U, "ECOG not recorded (ecog)", "patients.ecog"),
    ], {"ecog": ecog, "max": p.max_ecog})
    life = at_least(column(f, "life_expectancy_months"), p.min_life_expectancy_months,
                    "patients.life_expectancy_months", "life expectancy (months)")
    return combine([ecog_part, life], open_names=("ECOG", "life expectancy"))


# --- I7: seven laboratory values ------------------------------------------------------------


@criterion("I7", record="Adequate hematologic parameters and organ function", label="Adequate labs",
           reads="labs.test labs.value labs.unit labs.uln labs.collected_date patients.consent_date "
                 "patients.lymphodepletion_date patients.liver_metastases patients.gilbert_syndrome",
           limits="lab_lookback_days min_anc_10e9_per_l min_platelets_10e9_per_l min_hemoglobin_g_per_dl "
                  "max_ast_alt_x_uln max_ast_alt_x_uln_liver_metastases max_bilirubin_mg_per_dl "
                  "max_bilirubin_mg_per_dl_gilbert min_creatinine_clearance_ml_per_min",
           rule="ANC >= {min_anc_10e9_per_l}, platelets >= {min_platelets_10e9_per_l} x10^9/L; Hb >= "
                "{min_hemoglobin_g_per_dl} g/dL; AST, ALT <= {max_ast_alt_x_uln} ({max_ast_alt_x_uln_liver_metastases} "
                "liver mets) x ULN; bilirubin <= {max_bilirubin_mg_per_dl} ({max_bilirubin_mg_per_dl_gilbert} "
                "Gilbert) mg/dL; CrCl >= {min_creatinine_clearance_ml_per_min} mL/min; from {lab_lookback_days} "
                "before consent")
def i7_labs(f: Facts, p: CriteriaParams) -> Part:
    """All seven lab parts, each on the result that counts (the window of ``lab_window``); any failing part fails.

    Lab rows without a test that several tests fit are read part by part, then together
    (:mod:`.lab_namings`): a patient whose every naming of them fails fails.
    """
    part, late, w = _i7_parts(f, p)
    if f.lab_readings is not None and f.reading_patient is not None:
        readings, readings_late, _ = _i7_parts(f.lab_readings, p)
        named = _failing_in_every_naming(part, readings, f.reading_patient)
        # A fail found over the namings: noted once, before the brackets, if a naming shows a late result.
        late_naming = np.bincount(f.reading_patient, weights=readings_late, minlength=len(late)) > 0
        late, part = late | ((named.codes != part.codes) & late_naming), named
    return _note_nmald_not_scheduled(part, late, w)


def _failing_in_every_naming(part: Part, readings: Part, patient: np.ndarray) -> Part:
    """``part`` with ``fail`` where it is unknown but every naming of the rows without a test fails.

    The evidence gives each naming's failing results in brackets (the same list once), joined by
    "or": a naming may fail on several parts, whose sentences are joined by "; " inside its brackets.
    """
    n = len(part.codes)
    fails = np.bincount(patient, weights=readings.codes == CODE[F], minlength=n)
    rows = np.flatnonzero((fails == np.bincount(patient, minlength=n)) & (fails > 0) & (part.codes == CODE[U]))
    if not len(rows):
        return part
    at = np.flatnonzero(np.isin(patient, rows))
    named = "[" + text_series(readings.evidence.take(at)) + "]"
    said = pd.DataFrame({"patient": patient[at], "text": named}).drop_duplicates()
    joined = join_per_patient(said["patient"].to_numpy(), said["text"], n, " or ").take(rows)
    lead = pa.scalar("every reading fails, whichever test each result without a test name (test) is: ", TEXT)
    text = pc.binary_join_element_wise(lead, joined.cast(TEXT), pa.scalar("", TEXT))
    codes = part.codes.copy()
    codes[rows] = CODE[F]
    decided = np.zeros(n, dtype=bool)
    decided[rows] = True
    return Part(codes, part.evidence.with_sentences(rows, text), part.needs.where(~decided))


LAB_NAMES = {"anc": "ANC", "platelets": "platelets", "hemoglobin": "hemoglobin", "ast": "AST", "alt": "ALT",
             "total_bilirubin": "total bilirubin", "creatinine_clearance": "creatinine clearance"}
"""Each lab test as I7's sentences name it ("ANC 0.5 x10^9/L ...", "undecided: creatinine clearance")."""


def _i7_parts(f: Facts, p: CriteriaParams) -> tuple[Part, np.ndarray, Window]:
    """I7 read part by part (each lab part over its own readings); where it is decided on a result
    dated after consent with NMA-LD not scheduled (:func:`_note_nmald_not_scheduled`); the lab window."""
    labs = f.labs
    liver, gilbert = column(f, "liver_metastases"), column(f, "gilbert_syndrome")
    liver_limits = (p.max_ast_alt_x_uln, p.max_ast_alt_x_uln_liver_metastases)
    w = lab_window(f, p)
    name = LAB_NAMES  # each part's sentences name their test, and the undecided clause lists them
    parts = {
        "anc": lab_min_part(labs["anc"], name["anc"], "x10^9/L", p.min_anc_10e9_per_l, "anc", w),
        "platelets": lab_min_part(labs["platelets"], name["platelets"], "x10^9/L", p.min_platelets_10e9_per_l,
                                  "platelets", w),
        "hemoglobin": lab_min_part(labs["hemoglobin"], name["hemoglobin"], "g/dL", p.min_hemoglobin_g_per_dl,
                                   "hemoglobin", w),
        "ast": lab_max_part(labs["ast"], name["ast"], " x ULN", liver_limits, liver, "liver_metastases", "ast", w),
        "alt": lab_max_part(labs["alt"], name["alt"], " x ULN", liver_limits, liver, "liver_metastases", "alt", w),
        "total_bilirubin": lab_max_part(labs["total_bilirubin"], name["total_bilirubin"], " mg/dL",
                                        (p.max_bilirubin_mg_per_dl, p.max_bilirubin_mg_per_dl_gilbert),
                                        gilbert, "gilbert_syndrome", "total_bilirubin", w),
        "creatinine_clearance": lab_min_part(labs["creatinine_clearance"], name["creatinine_clearance"], "mL/min",
                                             p.min_creatinine_clearance_ml_per_min, "creatinine_clearance", w),
    }
    part = combine(list(parts.values()), open_names=[name[test] for test in parts])
    part = Part(part.codes, part.evidence, named_once(part.needs, "patients.liver_metastases"))
    late = _shown_after_consent(part.codes, parts, labs, column(f, "consent_date"))
    # Without a consent date or NMA-LD no result can be placed: one request, not one per test.
    unplaced = ~w.placed & (part.codes == CODE[U])
    # Said whether or not results are on file (audit 27A: "no lab result can be placed" read as if some were).
    evidence = part.evidence.where(~unplaced, "consent date not recorded (consent_date) and NMA-LD not scheduled: "
                                              "the lab window cannot be placed")
    part = Part(part.codes, evidence, part.needs.where(~unplaced, "patients.consent_date"))
    part = _before_the_window(part, column(f, "lymphodepletion_date"), w, p.lab_lookback_days)
    return _note_consent_not_recorded(part, labs.values(), w, p.lab_lookback_days), w.open_end & late, w


def _before_the_window(part: Part, ld: pd.Series, w: Window, lookback: int) -> Part:
    """I7 of a patient whose NMA-LD is dated before the lab window opens (``lookback`` days before consent).

    No result can count, so no lab can be collected to decide it: the dates are asked for, as
    contradicting each other (audit 28A: the worklist asked for results "collected 2024-02-02 to
    2024-01-05"). The data-quality findings name NMA-LD before consent too.
    """
    empty = w.empty & (part.codes == CODE[U])
    rows = np.flatnonzero(empty)
    if not len(rows):
        return part
    dates = pa.array(iso_dates(ld.iloc[rows]).to_numpy(dtype=object), type=TEXT)
    starts = pa.array(w.start.iloc[rows].to_numpy(dtype=object), type=TEXT)
    said = pc.binary_join_element_wise(
        pa.scalar("NMA-LD (", TEXT), dates, pa.scalar(") is dated before the lab window opens (", TEXT), starts,
        pa.scalar(f", {counted(lookback, 'day')} before consent): no result can count, and one of the two dates is "
                  "wrong (consent_date, lymphodepletion_date)", TEXT), pa.scalar("", TEXT))
    needs = part.needs.where(~empty, "patients.consent_date; patients.lymphodepletion_date")
    return Part(part.codes, part.evidence.with_sentences(rows, said), needs)


def _shown_after_consent(codes: np.ndarray, parts: Mapping[str, Part], results: Mapping[str, LabResult],
                         consent: pd.Series) -> np.ndarray:
    """Per patient: whether a part its outcome shows (every part of a pass, the failing ones of a fail)
    counts a result dated after consent, which an NMA-LD scheduled before it would leave out."""
    after = np.zeros(len(codes), dtype=bool)
    decided = (codes == CODE[P]) | (codes == CODE[F])
    for test, part in parts.items():
        after |= decided & (part.codes == codes) & (results[test].date.to_numpy() > consent.to_numpy())
    return after


def _note_nmald_not_scheduled(part: Part, rows_to_note: np.ndarray, w: Window) -> Part:
    """I7 decided on a result after consent with NMA-LD not scheduled, said as such: the window has no end yet.

    The spec counts the latest result "up to lymphodepletion when that is known"; without it, a
    result dated after consent counts, and a fail or pass on it said nothing of why (audit 26A). A
    result on or before consent counts at any NMA-LD date (which follows consent): no note (review 27).
    Unknown parts already name the window ("2025-02-01 onwards (NMA-LD not scheduled)").
    """
    rows = np.flatnonzero(rows_to_note & (part.codes != CODE[U]))
    if not len(rows):
        return part
    start = pa.array(w.start.to_numpy(dtype=object)[rows], type=TEXT)
    said = pc.binary_join_element_wise(
        pa.scalar("NMA-LD not scheduled (lymphodepletion_date): the lab window from ", TEXT), start,
        pa.scalar(" has no end yet, so each test's latest result counts", TEXT), pa.scalar("", TEXT))
    n = len(part.codes)
    note = Text.constant("", n).with_sentences(rows, said)
    return combine([Part(part.codes, note, Text.constant("", n)), part])


def _note_consent_not_recorded(part: Part, results: Iterable[LabResult], w: Window, lookback: int) -> Part:
    """I7 of a patient with a blank consent date and a recorded NMA-LD, said as such.

    Results from ``lookback`` days before NMA-LD on count at any consent date; the
    evidence says so first, and where a test has no such result but an earlier one (its
    part is then unknown) the consent date, which could reach it, is asked for once.
    """
    # "up to NMA-LD": the program's order, which the sentence relies on (audit 29A: a consent after
    # NMA-LD, a data-quality finding, would leave these results outside the window).
    said = (f"consent date not recorded (consent_date): results from {counted(lookback, 'day')} before NMA-LD onwards "
            "count at any consent date up to NMA-LD")
    reachable = np.logical_or.reduce([(result.possible.isna() & result.earlier).to_numpy() for result in results])
    reachable &= part.codes == CODE[U]  # where a test fails anyway, its earlier results change nothing
    # An earlier result on file, of a test without a later one: whether it counts is the consent
    # date's to decide, which the sentence says (audit, session 16: it read as if none existed).
    note = Text.constant(said, len(w.placed)).where(w.open_start & ~reachable)
    # "no more than 28 days after them": how early is early enough (audit 38A: seven "no ... result" clauses
    # read as labs to redraw, where the consent date alone may bring the results on file in).
    note = note.where(~(w.open_start & reachable), said + "; earlier results on file count if consent was no more "
                                                          f"than {counted(lookback, 'day')} after them")
    asks = Text.constant("patients.consent_date", len(w.placed)).where(w.open_start & reachable)
    return combine([Part(part.codes, note, asks), part])


@criterion("I8", record="There is no alternative therapy", label="No alternative therapy",
           reads="patients.alternative_therapy_available")
def i8_no_alternative(f: Facts, p: CriteriaParams) -> Part:
    """Passes only when no alternative therapy is available for the patient."""
    return yes_fails(f, "alternative_therapy_available", "an alternative therapy is available",
                     "no alternative therapy")
