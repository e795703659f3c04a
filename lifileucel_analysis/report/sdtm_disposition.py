"""SDTM DS (disposition): each screened subject's informed consent, and each screen failure.

DM says who was screened and marks screen failures in ``ARMNRS``; SDTMIG's home for *when* and
*why* a subject's participation ended is DS (audit 22C asked for it once screening ends). The
screening knows two disposition facts:

* every screened subject gave **informed consent**: a protocol milestone (``DSCAT``
  ``PROTOCOL MILESTONE``, ``DSTERM`` = ``DSDECOD`` = ``INFORMED CONSENT OBTAINED``, ``DSSTDTC``
  the consent date, blank where it is not recorded);
* an **ineligible** subject is a screen failure: a disposition event (``DSCAT`` ``DISPOSITION
  EVENT``, ``DSDECOD`` ``SCREEN FAILURE``, ``DSTERM`` naming the failed criteria as IE records them,
  ``SCREEN FAILURE: INCLUSION I4 NOT MET; EXCLUSION E3 MET``: an inclusion criterion not met, an
  exclusion criterion met). ``DSSTDTC`` is the consent date, as IE's ``IEDTC`` for the same
  failed criteria: the screening visit, the one day the screening records (review 25: a blank
  date beside IE's dated criteria drew a reviewer's query; a wall-clock date would change the
  files from run to run and claim a day nobody recorded). Blank where consent is not recorded.

An eligible subject gets no disposition event (eligibility is not a disposition: the sponsor's
records say whether the subject was treated), nor does a pending one (screening has not ended).
``EPOCH`` is ``SCREENING`` throughout. Records are sorted by ``USUBJID`` then ``DSSEQ``, the
milestone first.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ..engine.evidence import joined_by_key
from .sdtm_inputs import in_key_order

__all__ = ["CONSENT_OBTAINED", "DISPOSITION_EVENT", "DS_LABEL", "DS_VARIABLES", "PROTOCOL_MILESTONE",
           "SCREENING_EPOCH", "SCREEN_FAILURE_DECOD", "ds_domain", "screen_failure_terms"]

DS_LABEL = "Disposition"
DS_VARIABLES: tuple[tuple[str, str, str, str], ...] = (
    ("STUDYID", "Study Identifier", "Char", "Assigned"), ("DOMAIN", "Domain Abbreviation", "Char", "Assigned"),
    ("USUBJID", "Unique Subject Identifier", "Char", "Derived"), ("DSSEQ", "Sequence Number", "Num", "Derived"),
    ("DSTERM", "Reported Term for the Disposition Event", "Char", "Derived"),
    ("DSDECOD", "Standardized Disposition Term", "Char", "Assigned"),
    ("DSCAT", "Category for Disposition Event", "Char", "Assigned"), ("EPOCH", "Epoch", "Char", "Assigned"),
    ("DSSTDTC", "Start Date/Time of Disposition Event", "Char", "Derived"))
"""DS's variables in SDTMIG order: name, SDTMIG label, type, origin."""
PROTOCOL_MILESTONE = "PROTOCOL MILESTONE"
DISPOSITION_EVENT = "DISPOSITION EVENT"
CONSENT_OBTAINED = "INFORMED CONSENT OBTAINED"
SCREEN_FAILURE_DECOD = "SCREEN FAILURE"
SCREENING_EPOCH = "SCREENING"
INCLUSION_PREFIX = "I"
"""Inclusion criterion IDs start with it (I1..I8), exclusion ones do not (E1..E11)."""
INCLUSION_WORDS = ("INCLUSION ", " NOT MET")
EXCLUSION_WORDS = ("EXCLUSION ", " MET")
"""DSTERM's words around a screen failure's inclusion and exclusion criteria."""
LONGEST_TERM = len(f"{SCREEN_FAILURE_DECOD}: {INCLUSION_WORDS[0]}{', '.join(f'I{n}' for n in range(1, 9))}"
                   f"{INCLUSION_WORDS[1]}; {EXCLUSION_WORDS[0]}{', '.join(f'E{n}' for n in range(1, 12))}"
                   f"{EXCLUSION_WORDS[1]}")
"""Characters of the longest DSTERM (every criterion failed): 124, under XPT's 200."""


def screen_failure_terms(patient_ids: pd.Series, criterion_ids: pd.Series) -> pd.Series:
    """DSTERM of each screen failure: ``SCREEN FAILURE: INCLUSION I4 NOT MET; EXCLUSION E3 MET``.

    Inclusion criteria are "not met" and exclusion criteria "met", as IE records them (``IEORRES``
    ``N`` and ``Y``, CG0176); each part only where the patient has such a criterion, criteria in
    protocol order (review 28: "I1, E10 NOT MET" called the exclusion criteria not met).

    Parameters
    ----------
    patient_ids, criterion_ids : pandas.Series
        One row per failed criterion of a patient, in any order.

    Returns
    -------
    pandas.Series
        Per patient (the index, sorted), its term: at most 8 inclusion and 11 exclusion IDs,
        :data:`LONGEST_TERM` characters, under XPT's 200. One Arrow join per category over all
        rows, no Python per patient.
    """
    ordered = in_key_order(pd.DataFrame({"patient_id": patient_ids.astype(str).to_numpy(),
                                         "criterion_id": criterion_ids.astype(str).to_numpy()}))
    codes, patients = pd.factorize(ordered["patient_id"])  # in key order, so codes ascend with it
    criteria = ordered["criterion_id"].to_numpy()
    inclusion = ordered["criterion_id"].str.startswith(INCLUSION_PREFIX).to_numpy()
    parts = []
    for rows, words in ((inclusion, INCLUSION_WORDS), (~inclusion, EXCLUSION_WORDS)):
        joined = joined_by_key(codes[rows], pa.array(criteria[rows], type=pa.large_string()), ", ")
        part = words[0] + joined + words[1]
        parts.append(part.reindex(range(len(patients)), fill_value=""))
    both = (parts[0] != "") & (parts[1] != "")
    terms = f"{SCREEN_FAILURE_DECOD}: " + parts[0] + both.map({True: "; ", False: ""}) + parts[1]
    return pd.Series(terms.to_numpy(dtype=object), index=patients)


def ds_domain(subjects: pd.DataFrame, verdicts: pd.DataFrame, outcomes: pd.DataFrame, studyid: str) -> pd.DataFrame:
    """DS: every subject's consent milestone, and a screen failure event per ineligible subject.

    Parameters
    ----------
    subjects : DataFrame
        :func:`.sdtm_subjects.subjects_of` (``patient_id``, ``consent``: ISO date or "").
    verdicts : DataFrame
        ``patient_id``, ``verdict`` of the same patients.
    outcomes : DataFrame
        ``patient_id``, ``criterion_id``, ``outcome``: an ineligible subject's ``fail`` outcomes
        name its failure (a waived fail is not one: it did not make the subject ineligible).
    studyid : str

    Returns
    -------
    DataFrame
        The DS variables (:data:`DS_VARIABLES`), ``DSSEQ`` integers, sorted by USUBJID then DSSEQ.
    """
    ids = subjects["patient_id"].astype(str)
    milestones = pd.DataFrame({"patient_id": ids.to_numpy(), "DSSEQ": 1, "DSTERM": CONSENT_OBTAINED,
                               "DSDECOD": CONSENT_OBTAINED, "DSCAT": PROTOCOL_MILESTONE,
                               "DSSTDTC": subjects["consent"].fillna("").astype(str).to_numpy()})
    ineligible = verdicts.loc[verdicts["verdict"] == "ineligible", "patient_id"].astype(str)
    failed = outcomes[(outcomes["outcome"] == "fail") & outcomes["patient_id"].isin(ineligible)]
    terms = screen_failure_terms(failed["patient_id"], failed["criterion_id"])
    consent = milestones.set_index("patient_id")["DSSTDTC"]  # IE's IEDTC: the screening visit
    failures = pd.DataFrame({"patient_id": terms.index.astype(str), "DSSEQ": 2, "DSTERM": terms.to_numpy(),
                             "DSDECOD": SCREEN_FAILURE_DECOD, "DSCAT": DISPOSITION_EVENT,
                             "DSSTDTC": consent.reindex(terms.index.astype(str)).fillna("").to_numpy()})
    # Both frames are in one sort; patient ID order is USUBJID order (one STUDYID prefix).
    rows = pd.concat([milestones, failures], ignore_index=True).sort_values(["patient_id", "DSSEQ"], kind="stable")
    return pd.DataFrame({
        "STUDYID": studyid, "DOMAIN": "DS", "USUBJID": studyid + "-" + rows["patient_id"].to_numpy(),
        "DSSEQ": rows["DSSEQ"].to_numpy(), "DSTERM": rows["DSTERM"].to_numpy(), "DSDECOD": rows["DSDECOD"].to_numpy(),
        "DSCAT": rows["DSCAT"].to_numpy(), "EPOCH": SCREENING_EPOCH, "DSSTDTC": rows["DSSTDTC"].to_numpy(),
    }, index=pd.RangeIndex(len(rows))).astype({"DSSEQ": "int64"})
