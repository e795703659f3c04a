"""The criteria catalog: I1-I8 and E1-E11 of NCT05398640, each a small vectorized rule set.

Every criterion is data: a frozen :class:`Criterion` with its ID, kind, the record's
bullet text, the columns it reads and a function from :class:`Facts` to a decided
:class:`~lifileucel_analysis.evidence.Part`. The exact semantics, including every choice
the spec leaves open, are in ``docs/criteria.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..contract.dataset import ScreeningDataset
from .evidence import Part, Rule, blank_fields, combine, decide, join_per_patient
from .facts import LabResult, age_at_consent, latest_labs, patient_positions, therapy_lines
from .outcome import Outcome
from .parameters import CriteriaParams

P, F, U, N = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE


@dataclass(frozen=True)
class Facts:
    """Everything the criteria read, aligned with the patients table (positional)."""

    patients: pd.DataFrame
    age: pd.Series
    lines: pd.DataFrame
    labs: dict[str, LabResult]
    toxicities: pd.DataFrame
    tox_pos: np.ndarray

    @property
    def n(self) -> int:
        """Number of patients."""
        return len(self.patients)

    def count(self, rows: np.ndarray) -> np.ndarray:
        """Count therapy rows selected by ``rows`` per patient."""
        return np.bincount(self.lines["pos"].to_numpy()[rows], minlength=self.n)


def build_facts(dataset: ScreeningDataset, params: CriteriaParams) -> Facts:
    """Derive the facts the criteria read from a typed dataset."""
    patients = dataset.patients.reset_index(drop=True)
    return Facts(
        patients=patients,
        age=age_at_consent(patients),
        lines=therapy_lines(dataset, params),
        labs=latest_labs(dataset, params),
        toxicities=dataset.toxicities.reset_index(drop=True),
        tox_pos=patient_positions(patients, dataset.toxicities, "toxicities"),
    )


Evaluate = Callable[[Facts, CriteriaParams], Part]


@dataclass(frozen=True)
class Criterion:
    """One criterion of the program.

    Attributes
    ----------
    id : str
        ``I1`` .. ``I8``, ``E1`` .. ``E11``.
    kind : {"inclusion", "exclusion"}
    record_text : str
        The bullet of the registry record, verbatim.
    label : str
        A short name for tables and figures.
    columns : tuple of str
        The ``table.column`` fields the criterion reads.
    evaluate : callable
        ``(facts, params) -> Part``, vectorized over all patients.
    """

    id: str
    kind: Literal["inclusion", "exclusion"]
    record_text: str
    label: str
    columns: tuple[str, ...]
    evaluate: Evaluate


def _pat(facts: Facts, column: str) -> pd.Series:
    return facts.patients[column]


# --- inclusion -------------------------------------------------------------------------

EARLY_STAGES = ["0", "IA", "IB", "IIA", "IIB", "IIC", "IIIA", "IIIB"]


def i1_stage(f: Facts, p: CriteriaParams) -> Part:
    stage, unresectable = _pat(f, "ajcc_stage"), _pat(f, "disease_unresectable")
    stage_iii = stage.isin(["III", "IIIC", "IIID"])
    return decide(f.n, [
        Rule(stage.isin(EARLY_STAGES), F, "stage {stage} is not IIIC/IIID/IV"),
        Rule(stage_iii & (unresectable == False), F, "stage {stage} judged resectable"),  # noqa: E712
        Rule(stage == "IV", P, "stage IV (metastatic)"),
        Rule(stage.isin(["IIIC", "IIID"]) & (unresectable == True), P, "stage {stage}, unresectable"),  # noqa: E712
        Rule(stage.isna(), U, "AJCC stage not recorded", "patients.ajcc_stage"),
        Rule(stage == "III", U, "stage III without sub-group", "patients.ajcc_stage (sub-group)"),
        Rule(True, U, "stage {stage}, resectability not recorded", "patients.disease_unresectable"),
    ], {"stage": stage})


def _line_labels(f: Facts, rows: np.ndarray, what: str) -> pd.Series:
    """Per patient, 'line 2 (nivolumab)'-style lists of the selected therapy rows."""
    lines = f.lines[rows]
    text = "line " + lines["line"].astype(str) + " (" + lines["agents"].astype(str).fillna("blank agents") + ")"
    if what:
        text = text + " " + what
    return join_per_patient(lines["pos"].to_numpy(), text.reset_index(drop=True), f.n)


def _i2_count(f: Facts, p: CriteriaParams, surely: np.ndarray, maybe: np.ndarray) -> Part:
    n_sure, n_maybe = f.count(surely), f.count(maybe)
    unclear = _line_labels(f, maybe & ~surely, "setting, agents or recurrence unclear")
    values = {"sure": pd.Series(n_sure), "maybe": pd.Series(n_maybe), "lo": p.min_prior_lines,
              "hi": p.max_prior_lines, "unclear": unclear}
    return decide(f.n, [
        Rule(n_maybe < p.min_prior_lines, F, "{maybe} counted prior line(s) < {lo}"),
        Rule(n_sure > p.max_prior_lines, F, "{sure} counted prior lines > {hi}"),
        Rule((n_sure >= p.min_prior_lines) & (n_maybe <= p.max_prior_lines), P,
             "{sure} counted prior line(s), within {lo}-{hi}"),
        Rule(True, U, "{sure} to {maybe} counted prior lines", "therapies: {unclear}"),
    ], values)


def _i2_anti_pd1(f: Facts, surely: np.ndarray, maybe: np.ndarray) -> Part:
    pd1 = f.lines["pd1"]
    hit = surely & pd1.fillna(False).to_numpy()
    possible = maybe & pd1.fillna(True).to_numpy()
    unclear = _line_labels(f, possible & ~hit, "")
    return decide(f.n, [
        Rule(f.count(hit) > 0, P, "anti-PD-(L)1 in {hits}"),
        Rule(f.count(possible) == 0, F, "no anti-PD-(L)1 in any counted line"),
        Rule(True, U, "anti-PD-(L)1 exposure unclear in {unclear}", "therapies.agents / setting: {unclear}"),
    ], {"hits": _line_labels(f, hit, ""), "unclear": unclear})


def _most_recent(f: Facts, maybe: np.ndarray) -> pd.DataFrame:
    """The possibly-counted line with the highest line number, one row per patient position."""
    rows = np.flatnonzero(maybe)
    pos = f.lines["pos"].to_numpy()[rows]
    line = f.lines["line"].to_numpy(dtype=np.int64, na_value=-1)[rows]
    highest = np.full(f.n, -1, dtype=np.int64)
    np.maximum.at(highest, pos, line)
    top = line == highest[pos]
    last = np.full(f.n, -1, dtype=np.int64)
    np.maximum.at(last, pos[top], rows[top])  # a repeated line number: the later row, as a stable sort keeps
    has = np.flatnonzero(last >= 0)
    columns = ["line", "setting", "stop_reason", "best_response", "agents", "recurrence_date", "counted",
               "adjuvant", "progressed"]
    return f.lines[columns].iloc[last[has]].set_axis(has).reindex(pd.RangeIndex(f.n))


def _i2_progression(f: Facts, maybe: np.ndarray) -> Part:
    m = _most_recent(f, maybe)
    values = {"line": m["line"], "setting": m["setting"], "stop": m["stop_reason"],
              "response": m["best_response"], "agents": m["agents"], "recurrence": m["recurrence_date"]}
    return decide(f.n, [
        Rule(m["line"].isna(), N, "no counted line"),
        Rule(m["counted"].isna(), U, "whether line {line} counts is unclear",
             "therapies.setting / agents (line {line})"),
        Rule(m["adjuvant"] == True, P, "line {line} ({setting}) recurred {recurrence}"),  # noqa: E712
        Rule(m["progressed"] == True, P,  # noqa: E712
             "most recent counted line {line} ({agents}): stopped for {stop}, best response {response}"),
        Rule(m["progressed"].isna(), U,
             "most recent counted line {line}: stop reason {stop}, best response {response}",
             "therapies.stop_reason / best_response (line {line})"),
        Rule(True, F, "most recent counted line {line} ({agents}): no progression, intolerance or "
                      "non-response (stopped: {stop}, best response {response})"),
    ], values)


def _i2_braf(f: Facts, p: CriteriaParams) -> Part:
    if not p.require_braf_inhibitor_if_v600:
        return decide(f.n, [Rule(True, N, "BRAF requirement off")], {})
    braf = f.lines["braf"]
    had = f.count(braf.fillna(False).to_numpy()) > 0
    maybe = f.count(braf.fillna(True).to_numpy()) > 0
    v600 = _pat(f, "braf_v600")
    return decide(f.n, [
        Rule(v600 == "wildtype", P, "BRAF wild-type"),
        Rule(had, P, "prior BRAF inhibitor"),
        Rule((v600 == "mutant") & ~maybe, F, "BRAF V600 mutant without a prior BRAF inhibitor"),
        Rule(v600.isna(), U, "BRAF V600 status not recorded", "patients.braf_v600"),
        Rule(True, U, "BRAF inhibitor exposure unclear", "therapies.agents"),
    ], {})


def i2_prior_lines(f: Facts, p: CriteriaParams) -> Part:
    counted = f.lines["counted"]
    surely, maybe = counted.fillna(False).to_numpy(), counted.fillna(True).to_numpy()
    return combine([
        _i2_count(f, p, surely, maybe),
        _i2_anti_pd1(f, surely, maybe),
        _i2_progression(f, maybe),
        _i2_braf(f, p),
    ])


def i3_adjuvant(f: Facts, p: CriteriaParams) -> Part:
    adjuvant_pd1 = f.lines["adjuvant"].to_numpy() & f.lines["pd1"].fillna(False).to_numpy()
    qualifying = adjuvant_pd1 & f.lines["recurrence_in_window"].to_numpy()
    values = {"yes": pd.Series(f.count(qualifying)), "no": pd.Series(f.count(adjuvant_pd1 & ~qualifying)),
              "months": p.adjuvant_recurrence_months}
    return decide(f.n, [
        Rule(f.count(adjuvant_pd1) > 0, P, "adjuvant/neoadjuvant anti-PD-(L)1: {yes} line(s) qualify "
                                           "(recurrence on therapy or within {months} months), {no} do not"),
        Rule(True, N, "no adjuvant/neoadjuvant anti-PD-(L)1 line"),
    ], values)


def _at_least(value: pd.Series, limit: float, field: str, label: str) -> Part:
    return decide(len(value), [
        Rule(value >= limit, P, label + " {v} >= {limit}"),
        Rule(value < limit, F, label + " {v} < {limit}"),
        Rule(True, U, label + " not recorded", field),
    ], {"v": value, "limit": limit})


def i4_lesion(f: Facts, p: CriteriaParams) -> Part:
    return _at_least(_pat(f, "resectable_lesion_cm"), p.min_lesion_cm, "patients.resectable_lesion_cm",
                     "resectable lesion (cm)")


def i5_age(f: Facts, p: CriteriaParams) -> Part:
    needs = blank_fields({"patients.birth_date": _pat(f, "birth_date").isna(),
                          "patients.consent_date": _pat(f, "consent_date").isna()})
    return decide(f.n, [
        Rule(f.age >= p.min_age_years, P, "age {age} at consent >= {limit}"),
        Rule(f.age < p.min_age_years, F, "age {age} at consent < {limit}"),
        Rule(True, U, "age at consent unknown", "{needs}"),
    ], {"age": f.age, "limit": p.min_age_years, "needs": needs})


def i6_performance(f: Facts, p: CriteriaParams) -> Part:
    ecog = _pat(f, "ecog")
    ecog_part = decide(f.n, [
        Rule(ecog <= p.max_ecog, P, "ECOG {ecog} <= {max}"),
        Rule(ecog > p.max_ecog, F, "ECOG {ecog} > {max}"),
        Rule(True, U, "ECOG not recorded", "patients.ecog"),
    ], {"ecog": ecog, "max": p.max_ecog})
    life = _at_least(_pat(f, "life_expectancy_months"), p.min_life_expectancy_months,
                     "patients.life_expectancy_months", "life expectancy (months)")
    return combine([ecog_part, life])


def _lab_min(lab: LabResult, name: str, unit: str, limit: float) -> Part:
    values = {"v": lab.value, "raw": lab.raw, "date": lab.date, "limit": limit}
    shown = name + " {v} " + unit + " ({raw}, {date})"
    return decide(len(lab.value), [
        Rule(lab.value >= limit, P, shown + " >= {limit}"),
        Rule(lab.value < limit, F, shown + " < {limit}"),
        Rule(True, U, f"no {name} result in the window", f"labs.{name.lower().replace(' ', '_')}"),
    ], values)


def _lab_max_with_condition(lab: LabResult, name: str, unit: str, limits: tuple[float, float],
                            condition: pd.Series, condition_field: str, test: str) -> Part:
    """A lab with an upper limit that is raised when a patient condition is present."""
    normal, raised = limits
    values = {"v": lab.value, "raw": lab.raw, "date": lab.date, "normal": normal, "raised": raised}
    shown = name + " {v}" + unit + " ({raw}, {date})"
    return decide(len(lab.value), [
        Rule(lab.value > raised, F, shown + " > {raised}"),
        Rule((lab.value > normal) & (condition == False), F, shown + " > {normal}"),  # noqa: E712
        Rule(lab.value <= normal, P, shown + " <= {normal}"),
        Rule((lab.value <= raised) & (condition == True), P, shown + " <= {raised} (" + condition_field + ")"),  # noqa: E712
        Rule(lab.value.isna(), U, f"no {name} result in the window", f"labs.{test}"),
        Rule(True, U, shown + f" is between {{normal}} and {{raised}}; {condition_field} not recorded",
             f"patients.{condition_field}"),
    ], values)


def i7_labs(f: Facts, p: CriteriaParams) -> Part:
    labs = f.labs
    liver, gilbert = _pat(f, "liver_metastases"), _pat(f, "gilbert_syndrome")
    liver_limits = (p.max_ast_alt_x_uln, p.max_ast_alt_x_uln_liver_metastases)
    return combine([
        _lab_min(labs["anc"], "ANC", "x10^9/L", p.min_anc_10e9_per_l),
        _lab_min(labs["platelets"], "platelets", "x10^9/L", p.min_platelets_10e9_per_l),
        _lab_min(labs["hemoglobin"], "hemoglobin", "g/dL", p.min_hemoglobin_g_per_dl),
        _lab_max_with_condition(labs["ast"], "AST", "x ULN", liver_limits, liver, "liver_metastases", "ast"),
        _lab_max_with_condition(labs["alt"], "ALT", "x ULN", liver_limits, liver, "liver_metastases", "alt"),
        _lab_max_with_condition(labs["total_bilirubin"], "total bilirubin", " mg/dL",
                                (p.max_bilirubin_mg_per_dl, p.max_bilirubin_mg_per_dl_gilbert),
                                gilbert, "gilbert_syndrome", "total_bilirubin"),
        _lab_min(labs["creatinine_clearance"], "creatinine clearance", "mL/min",
                 p.min_creatinine_clearance_ml_per_min),
    ])


def _flag(column: str, fail_when: bool, fail_text: str, pass_text: str) -> Evaluate:
    """A criterion decided by one yes/no column."""

    def evaluate(f: Facts, p: CriteriaParams) -> Part:
        value = _pat(f, column)
        return decide(f.n, [
            Rule(value == fail_when, F, fail_text),
            Rule(value == (not fail_when), P, pass_text),
            Rule(True, U, f"{column} not recorded", f"patients.{column}"),
        ], {})

    evaluate.__name__ = f"flag_{column}"
    return evaluate


# --- exclusion -------------------------------------------------------------------------


def e1_allograft_or_cell_therapy(f: Facts, p: CriteriaParams) -> Part:
    allograft = _pat(f, "organ_allograft")
    act = f.lines["act"]
    had_act = act.fillna(False).to_numpy()
    unclear = act.isna().to_numpy()
    unknown_agents = join_per_patient(f.lines["pos"].to_numpy()[unclear],
                                      f.lines["agents"][unclear].fillna("blank").reset_index(drop=True), f.n)
    needs = blank_fields({"patients.organ_allograft": allograft.isna(),
                          "therapies.agents": f.count(unclear) > 0})
    return decide(f.n, [
        Rule(allograft == "other", F, "organ allograft other than kidney"),
        Rule(f.count(had_act) > 0, F, "prior cell transfer therapy: {act}"),
        Rule(allograft.notna() & (f.count(unclear) == 0), P,
             "organ allograft: {allograft}; no prior cell transfer therapy"),
        Rule(True, U, "allograft {allograft}; unclassified agents: {unknown}", "{needs}"),
    ], {"allograft": allograft, "act": _line_labels(f, had_act, ""), "unknown": unknown_agents, "needs": needs})


def e2_toxicity(f: Facts, p: CriteriaParams) -> Part:
    tox = f.toxicities
    grade, ongoing, category = tox["grade"], tox["ongoing"], tox["category"]
    grade_2_4 = grade.between(2, 4)
    matches = ((ongoing == True) & grade_2_4 & (category == "other")).fillna(False).to_numpy()  # noqa: E712
    could = ((ongoing != False) & (grade_2_4 | grade.isna()) & ((category == "other") | category.isna()))  # noqa: E712
    could = could.fillna(True).to_numpy() & ~matches
    text = tox["term"].fillna("blank term") + " grade " + grade.astype(str).fillna("blank") \
        + ", " + category.astype(str).fillna("blank category") + ", ongoing " \
        + ongoing.map({True: "yes", False: "no"}).astype(str).fillna("blank")
    text = text.reset_index(drop=True)

    def per_patient(rows: np.ndarray) -> pd.Series:
        return join_per_patient(f.tox_pos[rows], text[rows].reset_index(drop=True), f.n, "; ")

    count = np.bincount(f.tox_pos, minlength=f.n)
    return decide(f.n, [
        Rule(np.bincount(f.tox_pos[matches], minlength=f.n) > 0, F,
             "ongoing grade 2-4 toxicity: {matched}"),
        Rule(np.bincount(f.tox_pos[could], minlength=f.n) == 0, P,
             "no ongoing grade 2-4 toxicity outside endocrine/ocular/vitiligo ({count} recorded)"),
        Rule(True, U, "toxicity not fully recorded: {unclear}", "toxicities (grade / category / ongoing): {unclear}"),
    ], {"matched": per_patient(matches), "unclear": per_patient(could), "count": pd.Series(count)})


def e3_uveal(f: Facts, p: CriteriaParams) -> Part:
    subtype = _pat(f, "melanoma_subtype")
    return decide(f.n, [
        Rule(subtype == "uveal", F, "uveal melanoma"),
        Rule(subtype.notna(), P, "{subtype} melanoma"),
        Rule(True, U, "melanoma subtype not recorded", "patients.melanoma_subtype"),
    ], {"subtype": subtype})


def e5_brain_metastases(f: Facts, p: CriteriaParams) -> Part:
    brain = _pat(f, "brain_metastases")
    treated, symptomatic = _pat(f, "brain_metastases_treated"), _pat(f, "brain_metastases_symptomatic")
    stable, ld = _pat(f, "brain_metastases_stable_since"), _pat(f, "lymphodepletion_date")
    days = (ld - stable).dt.days
    has = brain == True  # noqa: E712
    needs = blank_fields({
        "patients.brain_metastases": brain.isna(),
        "patients.brain_metastases_treated": has & treated.isna(),
        "patients.brain_metastases_symptomatic": has & symptomatic.isna(),
        "patients.brain_metastases_stable_since": has & stable.isna(),
        "patients.lymphodepletion_date": has & ld.isna(),
    })
    limit = p.brain_metastases_stable_days
    return decide(f.n, [
        Rule(brain == False, P, "no brain metastases"),  # noqa: E712
        Rule(has & (treated == False), F, "brain metastases not definitively treated"),  # noqa: E712
        Rule(has & (symptomatic == True), F, "symptomatic brain metastases"),  # noqa: E712
        Rule(has & (days < limit), F, "brain metastases stable since {stable}, {days} days before NMA-LD < {limit}"),
        Rule(has & (treated == True) & (symptomatic == False) & (days >= limit), P,  # noqa: E712
             "treated, asymptomatic brain metastases stable {days} days before NMA-LD >= {limit}"),
        Rule(True, U, "brain metastases status incomplete", "{needs}"),
    ], {"stable": stable, "days": days.astype("Int64"), "limit": limit, "needs": needs})


def e6_steroids(f: Facts, p: CriteriaParams) -> Part:
    dose = _pat(f, "steroid_mg_per_day")
    return decide(f.n, [
        Rule(dose > p.max_steroid_mg_per_day, F, "steroid {dose} mg/day > {limit}"),
        Rule(dose <= p.max_steroid_mg_per_day, P, "steroid {dose} mg/day <= {limit}"),
        Rule(True, U, "steroid dose not recorded", "patients.steroid_mg_per_day"),
    ], {"dose": dose, "limit": p.max_steroid_mg_per_day})


def _serology(f: Facts, column: str, name: str) -> Part:
    value = _pat(f, column)
    return decide(f.n, [
        Rule(value == "positive", F, f"{name} positive"),
        Rule(value == "negative", P, f"{name} negative"),
        Rule(True, U, f"{name} not recorded", f"patients.{column}"),
    ], {})


def e8_infections(f: Facts, p: CriteriaParams) -> Part:
    hbv, pcr = _pat(f, "hbv_serology"), _pat(f, "hbv_pcr")
    hbv_part = decide(f.n, [
        Rule(hbv == "negative", P, "HBV serology negative"),
        Rule((hbv == "positive") & (pcr == "detectable"), F, "HBV serology positive with detectable PCR"),
        Rule((hbv == "positive") & (pcr == "undetectable"), P, "HBV serology positive, PCR undetectable"),
        Rule(hbv == "positive", U, "HBV serology positive, PCR not recorded", "patients.hbv_pcr"),
        Rule(True, U, "HBV serology not recorded", "patients.hbv_serology"),
    ], {})
    return combine([_serology(f, "syphilis_assay", "syphilis assay"), _serology(f, "hiv_serology", "HIV serology"),
                    hbv_part])


def e10_live_vaccine(f: Facts, p: CriteriaParams) -> Part:
    received, when = _pat(f, "live_vaccine_received"), _pat(f, "live_vaccine_date")
    ld, consent = _pat(f, "lymphodepletion_date"), _pat(f, "consent_date")
    window = p.live_vaccine_window_days
    days = (ld - when).dt.days
    long_before_consent = (consent - when).dt.days > window
    yes = received == True  # noqa: E712
    values = {"when": when, "days": days.astype("Int64"), "limit": window}
    return decide(f.n, [
        Rule(received == False, P, "no live or attenuated vaccine"),  # noqa: E712
        Rule(received.isna(), U, "live vaccine history not recorded", "patients.live_vaccine_received"),
        Rule(when.isna(), U, "live vaccine received, date not recorded", "patients.live_vaccine_date"),
        Rule(yes & days.between(0, window), F, "live vaccine {when}, {days} days before NMA-LD <= {limit}"),
        Rule(yes & (days > window), P, "live vaccine {when}, {days} days before NMA-LD > {limit}"),
        Rule(yes & (days < 0), P, "live vaccine {when}, after the start of NMA-LD"),
        Rule(yes & long_before_consent, P, "live vaccine {when}, more than {limit} days before consent "
                                           "(NMA-LD comes after consent)"),
        Rule(True, U, "live vaccine {when}; NMA-LD not scheduled", "patients.lymphodepletion_date"),
    ], values)


def e11_pregnancy(f: Facts, p: CriteriaParams) -> Part:
    sex, pregnant, feeding = _pat(f, "sex"), _pat(f, "pregnant"), _pat(f, "breastfeeding")
    not_male = sex != "male"
    needs = blank_fields({"patients.sex": sex.isna(), "patients.pregnant": not_male & pregnant.isna(),
                          "patients.breastfeeding": not_male & feeding.isna()})
    return decide(f.n, [
        Rule(sex == "male", N, "male: not applicable"),
        Rule(pregnant == True, F, "pregnant"),  # noqa: E712
        Rule(feeding == True, F, "breastfeeding"),  # noqa: E712
        Rule((sex == "female") & (pregnant == False) & (feeding == False), P,  # noqa: E712
             "not pregnant, not breastfeeding"),
        Rule(True, U, "pregnancy or breastfeeding status not recorded", "{needs}"),
    ], {"needs": needs})


def _c(cid: str, record_text: str, label: str, columns: str, evaluate: Evaluate) -> Criterion:
    kind: Literal["inclusion", "exclusion"] = "inclusion" if cid.startswith("I") else "exclusion"
    return Criterion(cid, kind, record_text, label, tuple(columns.split()), evaluate)


CATALOG: tuple[Criterion, ...] = (
    _c("I1", "Unresectable or metastatic melanoma (Stages IIIC/IIID/IV per AJCC 8th edition)",
       "Stage IIIC-IV, unresectable", "patients.ajcc_stage patients.disease_unresectable", i1_stage),
    _c("I2", "Progressed on or did not achieve a response or were intolerant due to toxicity following 1-4 prior "
             "lines of systemic therapy including PD-1/ PD-L1 blocking antibody.",
       "1-4 prior lines incl. anti-PD-(L)1, progressed",
       "therapies.line therapies.setting therapies.agents therapies.end_date therapies.best_response "
       "therapies.stop_reason therapies.recurrence_date patients.braf_v600", i2_prior_lines),
    _c("I3", "May have received adjuvant PD-1/PD-L1 blocking antibody if recurred within 6 months of "
             "discontinuation of therapy or while on therapy",
       "Adjuvant anti-PD-(L)1 recurrence <= 6 months",
       "therapies.setting therapies.agents therapies.end_date therapies.recurrence_date", i3_adjuvant),
    _c("I4", "At least one resectable lesion (or aggregate of lesions resected) of a minimum 1.5 cm in diameter "
             "post-resection to generate TIL",
       "Resectable lesion >= 1.5 cm", "patients.resectable_lesion_cm", i4_lesion),
    _c("I5", "Must be ≥ 18 years of age at time of consent", "Age >= 18 at consent",
       "patients.birth_date patients.consent_date", i5_age),
    _c("I6", "ECOG performance status of 0-1 and estimated life expectancy of ≥ 3 months",
       "ECOG 0-1, life expectancy >= 3 months", "patients.ecog patients.life_expectancy_months", i6_performance),
    _c("I7", "Adequate hematologic parameters and organ function", "Adequate labs",
       "labs.test labs.value labs.unit labs.uln labs.collected_date patients.consent_date "
       "patients.lymphodepletion_date patients.liver_metastases patients.gilbert_syndrome", i7_labs),
    _c("I8", "There is no alternative therapy", "No alternative therapy", "patients.alternative_therapy_available",
       _flag("alternative_therapy_available", True, "an alternative therapy is available",
             "no alternative therapy")),
    _c("E1", "Received organ allograft, except kidney transplant, or prior cell transfer therapy including TIL "
             "and CAR-T therapies",
       "Allograft (not kidney) or prior cell therapy", "patients.organ_allograft therapies.agents",
       e1_allograft_or_cell_therapy),
    _c("E2", "Ongoing grade 2-4 toxicity from prior immunotherapy (excluding endocrine, ocular toxicity or "
             "vitiligo)",
       "Ongoing grade 2-4 toxicity", "toxicities.category toxicities.grade toxicities.ongoing", e2_toxicity),
    _c("E3", "Melanoma of uveal/ocular origin", "Uveal melanoma", "patients.melanoma_subtype", e3_uveal),
    _c("E4", "History of hypersensitivity to any component or excipient of lifileucel or other treatment regimen "
             "drugs",
       "Hypersensitivity to regimen", "patients.hypersensitivity_to_regimen",
       _flag("hypersensitivity_to_regimen", True, "hypersensitivity to the regimen",
             "no hypersensitivity to the regimen")),
    _c("E5", "Symptomatic and/or untreated brain metastases, unless definitively treated and stable for ≥ 14 "
             "days prior to beginning NMA LD preparative regimen",
       "Untreated or unstable brain metastases",
       "patients.brain_metastases patients.brain_metastases_symptomatic patients.brain_metastases_treated "
       "patients.brain_metastases_stable_since patients.lymphodepletion_date", e5_brain_metastases),
    _c("E6", "Chronic systemic steroid therapy of > 10 mg/day", "Steroids > 10 mg/day",
       "patients.steroid_mg_per_day", e6_steroids),
    _c("E7", "Active medical illness(es) that would pose increased risk for protocol participation",
       "Active medical illness", "patients.active_medical_illness",
       _flag("active_medical_illness", True, "active medical illness posing increased risk",
             "no active medical illness")),
    _c("E8", "Must have negative syphilis assay and be seronegative for HIV, positive serology for HBV must have "
             "corresponding PCR assay and may be enrolled if viral load by PCR is undetectable",
       "Syphilis, HIV, HBV", "patients.syphilis_assay patients.hiv_serology patients.hbv_serology patients.hbv_pcr",
       e8_infections),
    _c("E9", "Primary immunodeficiency", "Primary immunodeficiency", "patients.primary_immunodeficiency",
       _flag("primary_immunodeficiency", True, "primary immunodeficiency", "no primary immunodeficiency")),
    _c("E10", "Received live or attenuated vaccine within 28 days prior to beginning NMA-LD",
       "Live vaccine <= 28 days before NMA-LD",
       "patients.live_vaccine_received patients.live_vaccine_date patients.lymphodepletion_date "
       "patients.consent_date", e10_live_vaccine),
    _c("E11", "Pregnant or breastfeeding", "Pregnant or breastfeeding",
       "patients.sex patients.pregnant patients.breastfeeding", e11_pregnancy),
)

CRITERIA: dict[str, Criterion] = {c.id: c for c in CATALOG}
