"""Exclusion criteria E1-E11 of NCT05398640, each defined in one place (see ``docs/criteria.md``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..contract.messages import counted
from .common_rules import F, N, P, U, agent_requests, column, unclassified_lines, yes_fails
from .criterion import criterion
from .evidence import (IF_BRAIN, IF_FEMALE, IF_POSITIVE, IF_RECEIVED, Part, Rule, blank_fields, combine,
                       day_count, decide, enclosed_if_any, join_per_patient, quoted_in_request, text_series)
from .exclusion_sentences import (brain_metastases_state, cell_therapy_lines, pregnancy_cells_said,
                                  toxicity_blank_cells)
from .facts import Facts
from .nullable import is_no, is_yes, possibly, surely
from .parameters import CriteriaParams


@criterion("E1", record="Received organ allograft, except kidney transplant, or prior cell transfer therapy "
                        "including TIL and CAR-T therapies",
           label="Allograft (not kidney) or prior cell therapy", reads="patients.organ_allograft therapies.agents")
def e1_allograft_or_cell_therapy(f: Facts, p: CriteriaParams) -> Part:
    """Fails on an organ allograft other than kidney or any prior line with an adoptive cell transfer agent."""
    allograft = column(f, "organ_allograft")
    act = f.lines["act"]
    had_act = is_yes(act).to_numpy()
    unclear = act.isna().to_numpy()
    pos = f.lines["pos"].to_numpy()
    unknown_agents = unclassified_lines(f, unclear)  # only the unclassified lines are spelt out
    requests = agent_requests(f, unclear)
    asks = join_per_patient(pos[unclear], requests.reset_index(drop=True), f.n, "; ")
    needs = blank_fields({"patients.organ_allograft": allograft.isna()})
    n_unclear = f.count(unclear)
    values = {"allograft": allograft, "act": cell_therapy_lines(f, had_act), "unknown": unknown_agents,
              "asks": asks, "needs": needs}
    had_any = f.count(had_act) > 0
    return decide(f.n, [
        # Both reasons where both hold: correcting one alone would not make the patient eligible (audit 22A).
        Rule((allograft == "other") & had_any, F, "organ allograft other than kidney; prior cell transfer therapy: "
                                                  "{act}"),
        Rule(allograft == "other", F, "organ allograft other than kidney"),
        Rule(had_any, F, "prior cell transfer therapy: {act}"),
        Rule(allograft.notna() & (n_unclear == 0), P, "organ allograft: {allograft}; no prior cell transfer therapy"),
        Rule(n_unclear == 0, U, "organ allograft not recorded (organ_allograft); no prior cell transfer therapy",
             "patients.organ_allograft"),
        Rule(allograft.notna(), U, "organ allograft: {allograft}; prior cell transfer therapy unclear: {unknown}",
             "{asks}"),
        Rule(True, U, "organ allograft not recorded (organ_allograft); prior cell transfer therapy unclear: {unknown}",
             "{needs}; {asks}"),
    ], values)


@criterion("E2", record="Ongoing grade 2-4 toxicity from prior immunotherapy (excluding endocrine, ocular toxicity "
                        "or vitiligo)",
           label="Ongoing grade 2-4 toxicity", reads="toxicities.category toxicities.grade toxicities.ongoing")
def e2_toxicity(f: Facts, p: CriteriaParams) -> Part:
    """Fails on any ongoing grade 2-4 toxicity of category ``other``; a row that could be one keeps it unknown."""
    tox = f.toxicities
    grade, ongoing, category = tox["grade"], tox["ongoing"], tox["category"]
    grade_2_4 = grade.between(2, 4)
    matches = surely(is_yes(ongoing) & grade_2_4 & (category == "other")).to_numpy()
    # Could match: ongoing not known to be 'no', grade 2-4 or blank, category 'other' or blank.
    could = ~is_no(ongoing) & (grade_2_4 | grade.isna()) & ((category == "other") | category.isna())
    could = possibly(could).to_numpy() & ~matches
    # Each cell by its column's word ("category other": "other" alone read as a word of the term, 29E).
    text = tox["term"].fillna("blank term") + " grade " + grade.astype(str).fillna("blank") \
        + ", category " + category.astype(str).fillna("blank") + ", ongoing " \
        + ongoing.map({True: "yes", False: "no"}).astype(str).fillna("blank")
    text = text.reset_index(drop=True)
    # What to collect, per row that could still match: each blank cell by its column, with the
    # row's term to find it (a row that could match always has a blank one).
    could_rows = np.flatnonzero(could)
    open_rows = tox.iloc[could_rows]  # only these are spelt out
    # The term as a request quotes it: a ";" in it would split the request's fields.
    term = " (" + text_series(quoted_in_request(open_rows["term"].fillna("term not recorded").astype(str)))
    term = term.set_axis(open_rows.index) + ")"
    # Two rows of one term ("colitis" twice): the term alone does not say which row to complete, so
    # such a row is named by all it records (audit 22B).
    repeated = pd.DataFrame({"pos": f.tox_pos, "term": tox["term"].to_numpy()}).duplicated(keep=False).to_numpy()
    whole_row = text_series(quoted_in_request(text.iloc[could_rows])).set_axis(open_rows.index)
    term = term.where(~repeated[could_rows], " (" + whole_row + ")")
    asks = toxicity_blank_cells(open_rows, could_rows, term, len(tox))
    # The sentence has just named the row: with one such row, its fields need no label (audit 41A:
    # "... ongoing blank; would be decided by toxicities.ongoing (colitis grade 2, ... ongoing blank)").
    unlabelled = toxicity_blank_cells(open_rows, could_rows, pd.Series("", index=open_rows.index), len(tox))

    def per_patient(rows: np.ndarray, texts: pd.Series = text) -> pa.Array:
        return join_per_patient(f.tox_pos[rows], texts[rows].reset_index(drop=True), f.n, "; ")

    count = np.bincount(f.tox_pos, minlength=f.n)
    unclear_rows = np.bincount(f.tox_pos[could], minlength=f.n)
    settled = unclear_rows == 0
    # Grade 5 is outside 2-4, so it passes, but an ongoing fatal toxicity is a recording error the pass
    # must not hide from a monitor reading outcomes alone (audit 28D; findings.csv names the row).
    fatal = (is_yes(ongoing) & (grade == 5)).to_numpy(dtype=bool, na_value=False)
    # A row with a blank cell that no value could make a match (grade 1, category endocrine, ongoing
    # no): a pass over it says which rows those are, so a reader sees why the blank does not matter (37A).
    harmless = (grade.isna() | category.isna() | ongoing.isna()).to_numpy() & ~could
    harmless_note = enclosed_if_any(per_patient(harmless), "; blank cells that cannot change this: ")
    return decide(f.n, [
        Rule(np.bincount(f.tox_pos[matches], minlength=f.n) > 0, F,
             "ongoing grade 2-4 toxicity: {matched}"),
        # "among the N recorded", not "(N recorded)": that read as N matching toxicities (audit 34A);
        # "in the 1 recorded", not "among the 1 recorded" (audit 40A).
        Rule(count == 0, P, "no toxicity recorded"),
        Rule(settled & (np.bincount(f.tox_pos[fatal], minlength=f.n) > 0), P,
             "no ongoing grade 2-4 toxicity outside endocrine/ocular/vitiligo {among} {count} recorded; grade 5 "
             "(fatal) recorded as ongoing, outside 2-4 and a data-quality finding: {fatal}{harmless}"),
        Rule(settled, P,
             "no ongoing grade 2-4 toxicity outside endocrine/ocular/vitiligo {among} {count} recorded{harmless}"),
        # The rows' own words name no column ("ongoing blank"): the fields follow, as I2 and E5 end (29B).
        Rule(True, U, "toxicity not fully recorded: {unclear}; would be decided by {said}", "{asks}"),
    ], {"matched": per_patient(matches), "unclear": per_patient(could), "asks": per_patient(could, asks),
        "said": pc.if_else(unclear_rows == 1, per_patient(could, unlabelled), per_patient(could, asks)),
        "count": pd.Series(count), "among": pd.Series(np.where(count == 1, "in the", "among the")),
        "fatal": per_patient(fatal), "harmless": harmless_note})


@criterion("E3", record="Melanoma of uveal/ocular origin", label="Uveal melanoma", reads="patients.melanoma_subtype")
def e3_uveal(f: Facts, p: CriteriaParams) -> Part:
    """Fails on uveal melanoma."""
    subtype = column(f, "melanoma_subtype")
    # The code "unknown_primary" read as words (audit 22A: "unknown_primary melanoma").
    named = _subtype_words(subtype)
    return decide(f.n, [
        Rule(subtype == "uveal", F, "uveal melanoma"),
        Rule(subtype.notna(), P, "{subtype}"),
        Rule(True, U, "melanoma subtype not recorded (melanoma_subtype)", "patients.melanoma_subtype"),
    ], {"subtype": named})


UNKNOWN_PRIMARY = "melanoma of unknown primary (not recorded as uveal)"
"""E3's words for the subtype code ``unknown_primary``, which does not read as "<code> melanoma"."""


def _subtype_words(subtype: pd.Series) -> pd.Series:
    """Each subtype as E3 says it, worded once per category: "acral melanoma", :data:`UNKNOWN_PRIMARY`."""
    if not isinstance(subtype.dtype, pd.CategoricalDtype):
        subtype = subtype.astype("category")
    words = [UNKNOWN_PRIMARY if code == "unknown_primary" else f"{code} melanoma" for code in subtype.cat.categories]
    return pd.Series(pd.Categorical.from_codes(subtype.cat.codes, categories=pd.Index(words, dtype=object)),
                     index=subtype.index)


@criterion("E4", record="History of hypersensitivity to any component or excipient of lifileucel or other treatment "
                        "regimen drugs",
           label="Hypersensitivity to regimen", reads="patients.hypersensitivity_to_regimen")
def e4_hypersensitivity(f: Facts, p: CriteriaParams) -> Part:
    """Fails on hypersensitivity to any component of lifileucel or the regimen drugs."""
    return yes_fails(f, "hypersensitivity_to_regimen", "hypersensitivity to the regimen",
                     "no hypersensitivity to the regimen")


BRAIN_BLANK = "brain metastases not recorded (brain_metastases): a no passes, a yes fails"
"""E5's blank ``brain_metastases`` where a recorded follow-up fails a "yes"; the sentence goes on with it."""
UNSCHEDULED_STABLE = ("treated, asymptomatic brain metastases stable since {stable}, {days_at_consent} before consent "
                      "({consent}) >= {limit}, and NMA-LD (not scheduled) comes after consent")


@criterion("E5", record="Symptomatic and/or untreated brain metastases, unless definitively treated and stable for "
                        "≥ 14 days prior to beginning NMA LD preparative regimen",
           label="Untreated or unstable brain metastases",
           reads="patients.brain_metastases patients.brain_metastases_symptomatic patients.brain_metastases_treated "
                 "patients.brain_metastases_stable_since patients.lymphodepletion_date patients.consent_date",
           limits="brain_metastases_stable_days",
           rule="Brain metastases untreated, symptomatic, or stable < {brain_metastases_stable_days} before "
                "NMA-LD")
def e5_brain_metastases(f: Facts, p: CriteriaParams) -> Part:
    """With brain metastases, passes only when treated, asymptomatic and stable long enough before NMA-LD."""
    brain = column(f, "brain_metastases")
    treated, symptomatic = column(f, "brain_metastases_treated"), column(f, "brain_metastases_symptomatic")
    stable, ld = column(f, "brain_metastases_stable_since"), column(f, "lymphodepletion_date")
    days = (ld - stable).dt.days
    # NMA-LD not scheduled: it will come after consent (the program's order), so
    # stability already long enough at consent is long enough at any NMA-LD date (spec section 2).
    days_at_consent = (column(f, "consent_date") - stable).dt.days.where(ld.isna())
    has = is_yes(brain)
    limit = p.brain_metastases_stable_days
    treated_asymptomatic = is_yes(treated) & is_no(symptomatic)
    # NMA-LD decides only while the stability at consent does not already reach the limit.
    ld_open = ld.isna() & ~surely(days_at_consent >= limit)
    needs = blank_fields({
        "patients.brain_metastases": brain.isna(),
        "patients.brain_metastases_treated": has & treated.isna(),
        "patients.brain_metastases_symptomatic": has & symptomatic.isna(),
        "patients.brain_metastases_stable_since": has & stable.isna(),
        # With brain_metastases blank, the follow-up fields are asked only once "yes" is recorded;
        # where they all pass already, NMA-LD alone may decide (audit, session 16).
        "patients.lymphodepletion_date": (has | (brain.isna() & treated_asymptomatic & stable.notna())) & ld_open,
    })
    # A blank brain_metastases whose "yes" is not failed already by a recorded follow-up: its blank
    # follow-ups are asked with it, "(if brain metastases)", not in a second round (audit 37A).
    yes_open = brain.isna() & ~is_no(treated) & ~is_yes(symptomatic) & ~(days < limit)
    follow_ups = {"patients.brain_metastases_treated": (treated, "treatment"),
                  "patients.brain_metastases_symptomatic": (symptomatic, "symptoms"),
                  "patients.brain_metastases_stable_since": (stable, "stable-since date")}
    requests = blank_fields({"patients.brain_metastases": brain.isna(),
                             **{f"{name} ({IF_BRAIN})": yes_open & cell.isna()
                                for name, (cell, _) in follow_ups.items()}})
    also = blank_fields({f"{words} ({name.split('.')[1]})": yes_open & cell.isna()
                         for name, (cell, words) in follow_ups.items()})
    if_yes = enclosed_if_any(pc.replace_substring(also, "; ", ", "), "; if yes, also needed: ")
    settled = treated_asymptomatic & (days >= limit)  # what passes brain metastases
    settled_unscheduled = treated_asymptomatic & (days_at_consent >= limit)
    return decide(f.n, [
        Rule(is_no(brain), P, "no brain metastases"),
        Rule(has & is_no(treated), F, "brain metastases not definitively treated"),
        Rule(has & is_yes(symptomatic), F, "symptomatic brain metastases"),
        Rule(has & (days < 0), F, "brain metastases stable only since {stable}, after the start of NMA-LD ({ld})"),
        # Not "0 days before NMA-LD" (reviews 29A, 29F: true as a comparison, odd as a sentence).
        Rule(has & (days == 0) & (limit > 0), F, "brain metastases stable only since {stable}, the first day of "
                                                 "NMA-LD (stable >= {limit_days} before it is required)"),
        Rule(has & (days < limit), F, "brain metastases stable since {stable}, {days} before NMA-LD ({ld}) < {limit}"),
        Rule(has & settled, P,
             "treated, asymptomatic brain metastases stable since {stable}, {days} before NMA-LD ({ld}) >= {limit}"),
        # Both readings of a blank brain_metastases pass: "no" passes, and "yes" passes on
        # the follow-up fields recorded (spec section 2: decided when every reading agrees).
        Rule(brain.isna() & settled, P,
             "brain metastases not recorded, but passes either way: recorded as treated, asymptomatic and "
             "stable since {stable}, {days} before NMA-LD ({ld}) >= {limit}"),
        Rule(has & settled_unscheduled, P, UNSCHEDULED_STABLE),
        Rule(brain.isna() & settled_unscheduled, P, "brain metastases not recorded, but passes either way: recorded "
                                                    "as " + UNSCHEDULED_STABLE),
        # A "no" passes; a "yes" fails on what is recorded: said, so a monitor sees why it matters.
        Rule(brain.isna() & is_no(treated), U, BRAIN_BLANK + " (recorded as not definitively treated)",
             "patients.brain_metastases"),
        Rule(brain.isna() & is_yes(symptomatic), U, BRAIN_BLANK + " (recorded as symptomatic)",
             "patients.brain_metastases"),
        # Not the first day of NMA-LD where a criteria file's limit of 0 days passes it (review 37C).
        Rule(brain.isna() & ((days < 0) | ((days == 0) & (limit > 0))), U,
             BRAIN_BLANK + " (recorded as stable only since {stable}, not before the start of NMA-LD ({ld}))",
             "patients.brain_metastases"),
        Rule(brain.isna() & (days < limit), U, BRAIN_BLANK + " (recorded as stable since {stable}, {days} before "
                                                             "NMA-LD ({ld}) < {limit})", "patients.brain_metastases"),
        Rule(brain.isna() & pc.equal(needs, "patients.brain_metastases").to_numpy(zero_copy_only=False), U,
             "brain metastases not recorded (brain_metastases){if_yes}", "{requests}"),
        Rule(True, U, "{state}; would be decided by {needs}", "{needs}"),
    ], {"stable": stable, "ld": ld, "days": day_count(days), "limit": limit, "limit_days": counted(limit, "day"),
        "needs": needs, "requests": requests, "if_yes": if_yes,
        "days_at_consent": day_count(days_at_consent), "consent": column(f, "consent_date"),
        "state": brain_metastases_state(brain, treated, symptomatic, stable, days, days_at_consent, ld,
                                         column(f, "consent_date"), limit)})


@criterion("E6", record="Chronic systemic steroid therapy of > 10 mg/day",
           label="Steroids > {max_steroid_mg_per_day} mg/day", reads="patients.steroid_mg_per_day",
           limits="max_steroid_mg_per_day")
def e6_steroids(f: Facts, p: CriteriaParams) -> Part:
    """Fails on a chronic systemic steroid dose above ``max_steroid_mg_per_day`` (prednisone-equivalent)."""
    dose = column(f, "steroid_mg_per_day")
    return decide(f.n, [
        Rule(dose > p.max_steroid_mg_per_day, F, "steroid {dose} mg/day > {limit}"),
        Rule(dose <= p.max_steroid_mg_per_day, P, "steroid {dose} mg/day <= {limit}"),
        Rule(True, U, "steroid dose not recorded (steroid_mg_per_day)", "patients.steroid_mg_per_day"),
    ], {"dose": dose, "limit": p.max_steroid_mg_per_day})


@criterion("E7", record="Active medical illness(es) that would pose increased risk for protocol participation",
           label="Active medical illness", reads="patients.active_medical_illness")
def e7_active_illness(f: Facts, p: CriteriaParams) -> Part:
    """Fails on an active medical illness posing increased risk."""
    return yes_fails(f, "active_medical_illness", "active medical illness posing increased risk",
                     "no active medical illness")


def _serology(f: Facts, name: str, label: str) -> Part:
    value = column(f, name)
    return decide(f.n, [
        Rule(value == "positive", F, f"{label} positive"),
        Rule(value == "negative", P, f"{label} negative"),
        Rule(True, U, f"{label} not recorded ({name})", f"patients.{name}"),
    ], {})


@criterion("E8", record="Must have negative syphilis assay and be seronegative for HIV, positive serology for HBV "
                        "must have corresponding PCR assay and may be enrolled if viral load by PCR is undetectable",
           label="Syphilis, HIV, HBV",
           reads="patients.syphilis_assay patients.hiv_serology patients.hbv_serology patients.hbv_pcr")
def e8_infections(f: Facts, p: CriteriaParams) -> Part:
    """Fails on positive syphilis or HIV, or positive HBV serology with detectable PCR."""
    hbv, pcr = column(f, "hbv_serology"), column(f, "hbv_pcr")
    hbv_part = decide(f.n, [
        # The rule fails a detectable PCR only after a positive serology; the sentence says the PCR was
        # seen (audit 25A: "HBV serology negative" alone hid it; the findings name the contradiction).
        Rule((hbv == "negative") & (pcr == "detectable"), P,
             "HBV serology negative (PCR detectable although the serology is negative: a data-quality finding)"),
        Rule(hbv == "negative", P, "HBV serology negative"),
        Rule((hbv == "positive") & (pcr == "detectable"), F, "HBV serology positive with detectable PCR"),
        Rule((hbv == "positive") & (pcr == "undetectable"), P, "HBV serology positive, PCR undetectable"),
        Rule(hbv == "positive", U, "HBV serology positive, PCR not recorded (hbv_pcr)", "patients.hbv_pcr"),
        Rule(pcr == "undetectable", P, "HBV PCR undetectable (serology not recorded)"),
        Rule(pcr == "detectable", U, "HBV serology not recorded (hbv_serology), PCR detectable",
             "patients.hbv_serology"),
        # The contract needs a PCR only after a positive serology: it is asked for on that condition, in
        # the same request, so that a positive serology does not leave E8 open another week (audit 27A).
        Rule(True, U, "HBV serology not recorded (hbv_serology), nor HBV PCR (hbv_pcr): a negative serology or an "
                      "undetectable PCR would decide", f"patients.hbv_serology; patients.hbv_pcr ({IF_POSITIVE})"),
    ], {})
    return combine([_serology(f, "syphilis_assay", "syphilis assay"), _serology(f, "hiv_serology", "HIV serology"),
                    hbv_part], open_names=("syphilis assay", "HIV serology", "HBV"))


@criterion("E9", record="Primary immunodeficiency", label="Primary immunodeficiency",
           reads="patients.primary_immunodeficiency")
def e9_immunodeficiency(f: Facts, p: CriteriaParams) -> Part:
    """Fails on a primary immunodeficiency."""
    return yes_fails(f, "primary_immunodeficiency", "primary immunodeficiency", "no primary immunodeficiency")


NOT_RECEIVED_OR_DATED = ("whether a live vaccine was received is not recorded (live_vaccine_received), and no "
                         "vaccine date (live_vaccine_date)")
RECEIVED_AND_DATE = f"patients.live_vaccine_received; patients.live_vaccine_date ({IF_RECEIVED})"
"""E10's request beside a blank received flag: "yes" alone leaves E10 open, so the date is asked for with it,
not a week later (review 24)."""


@criterion("E10", record="Received live or attenuated vaccine within 28 days prior to beginning NMA-LD",
           label="Live vaccine <= {live_vaccine_window_days} before NMA-LD",
           reads="patients.live_vaccine_received patients.live_vaccine_date patients.lymphodepletion_date "
                 "patients.consent_date",
           limits="live_vaccine_window_days")
def e10_live_vaccine(f: Facts, p: CriteriaParams) -> Part:
    """Fails on a live vaccine dated within ``live_vaccine_window_days`` before NMA-LD, whatever ``received`` says."""
    received, when = column(f, "live_vaccine_received"), column(f, "live_vaccine_date")
    ld, consent = column(f, "lymphodepletion_date"), column(f, "consent_date")
    window = p.live_vaccine_window_days
    days = (ld - when).dt.days
    long_before_consent = (consent - when).dt.days > window
    # Which NMA-LD starts would fail, for a coordinator planning it while it is not scheduled (audit 22C).
    values = {"when": when, "days": day_count(days), "limit": window, "window": counted(window, "day"),
              "said": _said_received(received), "from": when.where(~(consent > when), consent),
              "until": when + pd.Timedelta(days=window), "ld": ld, "fails_from": ld - pd.Timedelta(days=window)}
    # With NMA-LD dated, the dates a vaccine would fail on, for the coordinator asking (review 37B).
    failing = ": a live vaccine dated {fails_from} to {ld} (within {window} before NMA-LD) fails"
    dated = when.notna()
    return decide(f.n, [
        Rule(dated & (days == 0), F, "live vaccine {when}{said}, on the first day of NMA-LD (counted as within "
                                     "{window} before it)"),
        Rule(dated & days.between(0, window), F,
             "live vaccine {when}{said}, {days} before NMA-LD, within {limit}"),
        Rule(dated & (days > window), P, "live vaccine {when}{said}, {days} before NMA-LD, more than {limit}"),
        Rule(dated & (days < 0), P, "live vaccine {when}{said}, after the start of NMA-LD"),
        Rule(dated & long_before_consent, P, "live vaccine {when}{said}, more than {window} before consent "
                                             "(NMA-LD comes after consent)"),
        # A consent date more than the window after the vaccine would decide it too (NMA-LD comes after consent).
        Rule(dated & consent.isna(), U, "live vaccine {when}{said}; NMA-LD not scheduled "
                                        "(lymphodepletion_date) and consent date not recorded (consent_date)",
             "patients.lymphodepletion_date; patients.consent_date"),
        # Consent exactly the window after the vaccine leaves one failing day, not "from D to D" (review 24B).
        Rule(dated & (values["from"] == values["until"]), U, "live vaccine {when}{said}; NMA-LD not scheduled "
             "(lymphodepletion_date): an NMA-LD start on {until} fails, any other passes",
             "patients.lymphodepletion_date"),
        Rule(dated, U, "live vaccine {when}{said}; NMA-LD not scheduled (lymphodepletion_date): an NMA-LD start "
                       "from {from} to {until} fails, any other passes", "patients.lymphodepletion_date"),
        Rule(is_no(received), P, "no live or attenuated vaccine"),
        Rule(received.isna() & ld.notna(), U, NOT_RECEIVED_OR_DATED + failing, RECEIVED_AND_DATE),
        Rule(received.isna(), U, NOT_RECEIVED_OR_DATED, RECEIVED_AND_DATE),
        Rule(ld.notna(), U, "live vaccine received, date not recorded (live_vaccine_date)" + failing,
             "patients.live_vaccine_date"),
        Rule(True, U, "live vaccine received, date not recorded (live_vaccine_date)", "patients.live_vaccine_date"),
    ], values)


def _said_received(received: pd.Series) -> pd.Series:
    """A note where the received flag contradicts or omits a recorded date."""
    note = pd.Series("", index=received.index, dtype=object)
    note[is_no(received).to_numpy()] = " (recorded although live_vaccine_received = no)"
    note[received.isna().to_numpy()] = " (live_vaccine_received blank)"
    return note.astype(str)


@criterion("E11", record="Pregnant or breastfeeding", label="Pregnant or breastfeeding",
           reads="patients.sex patients.pregnant patients.breastfeeding")
def e11_pregnancy(f: Facts, p: CriteriaParams) -> Part:
    """Females: fails on pregnant or breastfeeding; not_applicable for males."""
    sex, pregnant, feeding = column(f, "sex"), column(f, "pregnant"), column(f, "breastfeeding")
    female = sex == "female"
    # A recorded "yes" fails only a patient known to be female: with sex blank, the male
    # reading makes E11 not_applicable, so the outcome is not "fail for every reading" (spec
    # section 2), and only the sex is left to collect.
    stated = np.where(is_yes(pregnant), np.where(is_yes(feeding), "pregnant and breastfeeding", "pregnant"),
                      "breastfeeding")
    # With sex blank, the pregnancy cells are asked "(if female)": the contract needs them only for a female,
    # and a male patient's coordinator has nothing to collect (audit 34A).
    unsexed = sex.isna()
    needs = blank_fields({"patients.sex": unsexed, "patients.pregnant": female & pregnant.isna(),
                          f"patients.pregnant ({IF_FEMALE})": unsexed & pregnant.isna(),
                          "patients.breastfeeding": female & feeding.isna(),
                          f"patients.breastfeeding ({IF_FEMALE})": unsexed & feeding.isna()})
    return decide(f.n, [
        Rule(sex == "male", N, "male: not applicable"),
        # Each "yes" by its cell, as the other rules word them (37A: a bare "pregnant" named no column).
        Rule(female & is_yes(pregnant) & is_yes(feeding), F, "female; pregnant: yes; breastfeeding: yes"),
        Rule(female & is_yes(pregnant), F, "female; pregnant: yes"),
        Rule(female & is_yes(feeding), F, "female; breastfeeding: yes"),
        Rule(female & is_no(pregnant) & is_no(feeding), P, "not pregnant, not breastfeeding"),
        Rule(is_yes(pregnant) | is_yes(feeding), U,
             "recorded {stated}, sex not recorded (sex): fails if female, not applicable if male", "patients.sex"),
        Rule(is_no(pregnant) & is_no(feeding), U, "sex not recorded (sex); not pregnant, not breastfeeding: a pass "
                                                  "if female, not applicable if male", "patients.sex"),
        # What is recorded and what is not, cell by cell (audit 22A: "not recorded: patients.pregnant").
        Rule(True, U, "{sex}; pregnant: {pregnant}; breastfeeding: {feeding}", "{needs}"),
    ], {"needs": needs, "stated": stated, **pregnancy_cells_said(sex, pregnant, feeding)})
