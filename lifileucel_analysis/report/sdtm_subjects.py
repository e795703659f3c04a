"""SDTM DM and SUPPDM: every screened subject once, screen failures marked as SDTMIG 3.3 asks.

IE holds only the criteria not met, so an eligible and a pending subject both have no IE
record, and most subjects of a screening would appear in no dataset (audit 22C): the sponsor
could not reconcile N in = N out from the SDTM files. DM lists every screened subject:

* ``ARMNRS`` = ``SCREEN FAILURE`` for an ineligible subject (SDTMIG 3.3 and later keep screen
  failures in DM); ``NOT ASSIGNED`` for an eligible or pending one, since the screening
  assigns no one (``lymphodepletion_date`` is planned or actual: whether a subject was treated
  is not in its data, so the arm variables describe screening only). ``ARMCD``, ``ARM``,
  ``ACTARMCD`` and ``ACTARM`` are blank, as ARMNRS then requires, and so are the Expected
  variables screening cannot fill (reference, treatment and death dates, ``RACE``, ``ACTARMUD``).
* ``RFICDTC`` the consent date, ``AGE`` in whole years at consent (``AGEU`` ``YEARS``; blank
  where the birth or consent date is not recorded or out of order), ``SEX`` ``M``/``F``/``U``,
  ``SITEID`` the site, ``COUNTRY`` ``USA`` (the record's six sites are all in the US).

SUPPDM carries each subject's eligibility verdict at screening (``QNAM`` ``ELIGSTAT``:
``ELIGIBLE``, ``INELIGIBLE``, ``PENDING``), the one thing DM has no variable for. Both need
the dataset (sex, birth and consent dates): an export from a ``screen`` result folder, which
has none of them, writes neither (the command says so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract.dataset import ScreeningDataset
from ..engine.facts import age_at_consent

__all__ = ["AGE_UNIT", "COUNTRY", "DM_ARMS", "DM_LABEL", "DM_NULL_BEFORE", "DM_NULL_DATES", "NOT_ASSIGNED",
           "NULL_EXPECTED", "SCREEN_FAILURE", "SEX_CODES", "SEX_UNKNOWN", "SUPPDM_COLUMNS", "SUPPDM_LABEL", "dm_domain",
           "subjects_of",
           "suppdm_domain"]

DM_LABEL = "Demographics"
SUPPDM_LABEL = "Supplemental Qualifiers for DM"
SCREEN_FAILURE = "SCREEN FAILURE"
NOT_ASSIGNED = "NOT ASSIGNED"
COUNTRY = "USA"
"""ISO 3166 alpha-3 of every site of the record (spec section 3)."""
SEX_CODES = {"male": "M", "female": "F"}
SEX_UNKNOWN = "U"
"""SEX of a blank sex."""
AGE_UNIT = "YEARS"
"""AGEU of every known age (whole years at consent)."""
DM_NULL_BEFORE: tuple[tuple[str, str], ...] = (
    ("RFSTDTC", "Subject Reference Start Date/Time"), ("RFENDTC", "Subject Reference End Date/Time"),
    ("RFXSTDTC", "Date/Time of First Study Treatment"), ("RFXENDTC", "Date/Time of Last Study Treatment"))
"""Expected DM variables before RFICDTC that screening data cannot fill: written as null columns."""
DM_NULL_DATES: tuple[tuple[str, str], ...] = (
    ("RFPENDTC", "Date/Time of End of Participation"), ("DTHDTC", "Date/Time of Death"),
    ("DTHFL", "Subject Death Flag"))
"""Expected DM variables after RFICDTC that screening data cannot fill (null)."""
DM_ARMS: tuple[tuple[str, str], ...] = (
    ("ARMCD", "Planned Arm Code"), ("ARM", "Description of Planned Arm"), ("ACTARMCD", "Actual Arm Code"),
    ("ACTARM", "Description of Actual Arm"))
"""The arm variables, null with ARMNRS: the screening assigns no arm."""
SUPPDM_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("STUDYID", "Study Identifier", "Assigned"), ("RDOMAIN", "Related Domain Abbreviation", "Assigned"),
    ("USUBJID", "Unique Subject Identifier", "Derived"), ("IDVAR", "Identifying Variable", "Assigned"),
    ("IDVARVAL", "Identifying Variable Value", "Assigned"), ("QNAM", "Qualifier Variable Name", "Assigned"),
    ("QLABEL", "Qualifier Variable Label", "Assigned"), ("QVAL", "Data Value", "Derived"),
    ("QORIG", "Origin", "Assigned"), ("QEVAL", "Evaluator", "Assigned"))
"""SUPPDM's variables: name, SDTMIG label, origin."""
_SPONSORS = "not in the screening data: the sponsor's records hold it"
NULL_EXPECTED: dict[tuple[str, str], str] = {
    **{("DM", name): f"Null for every subject; {_SPONSORS} (first and last dose)" for name in
       ("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC")},
    ("DM", "RFPENDTC"): f"Null for every subject; {_SPONSORS} (end of participation)",
    **{("DM", name): f"Null for every subject; {_SPONSORS} (death)" for name in ("DTHDTC", "DTHFL")},
    ("DM", "RACE"): f"Null for every subject; {_SPONSORS} (race is not collected at screening)",
    **{("DM", name): "Null for every subject: the screening assigns no arm (ARMNRS gives the reason)"
       for name, _ in DM_ARMS},
    ("DM", "ACTARMUD"): "Null for every subject: the screening treats no one (ARMNRS is never UNPLANNED TREATMENT)",
    **{("SUPPDM", name): "Null for every record: each qualifies the subject's one DM record" for name in
       ("IDVAR", "IDVARVAL")},
    ("SUPPDM", "QEVAL"): "Null for every record: the verdict is derived by the screening rules, not an evaluator's",
}
"""The Expected variables written null in every record, with the comment ``define.csv`` gives each: "a comment
must be included in the Define-XML document to state that data was not collected" (SDTM v1.4 section 4.1.5,
CDISC rule CG0016; Pinnacle 21 SD1149)."""
ELIGIBILITY_QNAM = "ELIGSTAT"
ELIGIBILITY_QLABEL = "Eligibility Status at Screening"


def subjects_of(dataset: ScreeningDataset) -> pd.DataFrame:
    """Per patient of the screened dataset: ``patient_id``, ``site_id``, ``sex``, ``age``, ``consent``.

    ``age`` is whole years at consent (NA where it cannot be told); ``consent`` an ISO date or "".
    """
    patients = dataset.patients
    return pd.DataFrame({
        "patient_id": patients["patient_id"].astype(str).to_numpy(),
        "site_id": patients["site_id"].astype(str).to_numpy(),
        "sex": patients["sex"].astype(object).map(SEX_CODES).fillna(SEX_UNKNOWN).to_numpy(),
        "age": age_at_consent(patients).astype("Float64").to_numpy(),
        "consent": patients["consent_date"].dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
    })


def dm_domain(subjects: pd.DataFrame, verdicts: pd.DataFrame, studyid: str) -> pd.DataFrame:
    """DM: one record per screened subject, in patient ID order (the key, USUBJID).

    Parameters
    ----------
    subjects : DataFrame
        :func:`subjects_of`.
    verdicts : DataFrame
        ``patient_id``, ``verdict`` of the same patients.
    studyid : str
    """
    rows = _by_subject(subjects, verdicts)
    ids = rows["patient_id"].to_numpy()

    def null(names: tuple[tuple[str, str], ...]) -> dict[str, str]:
        return {name: "" for name, _ in names}

    age = pd.array(rows["age"].round(), dtype="Int64")
    return pd.DataFrame({
        "STUDYID": studyid, "DOMAIN": "DM", "USUBJID": studyid + "-" + ids, "SUBJID": ids, **null(DM_NULL_BEFORE),
        "RFICDTC": rows["consent"].to_numpy(), **null(DM_NULL_DATES), "SITEID": rows["site_id"].to_numpy(),
        "AGE": age, "AGEU": np.where(pd.isna(age), "", AGE_UNIT), "SEX": rows["sex"].to_numpy(), "RACE": "",
        **null(DM_ARMS),
        "ARMNRS": rows["verdict"].eq("ineligible").map({True: SCREEN_FAILURE, False: NOT_ASSIGNED}).to_numpy(),
        "ACTARMUD": "", "COUNTRY": COUNTRY,
    }, index=pd.RangeIndex(len(rows)))


def suppdm_domain(subjects: pd.DataFrame, verdicts: pd.DataFrame, studyid: str) -> pd.DataFrame:
    """SUPPDM: each subject's eligibility verdict at screening (``ELIGSTAT``), one record per subject."""
    rows = _by_subject(subjects, verdicts)
    return pd.DataFrame({
        "STUDYID": studyid, "RDOMAIN": "DM", "USUBJID": studyid + "-" + rows["patient_id"].to_numpy(),
        "IDVAR": "", "IDVARVAL": "", "QNAM": ELIGIBILITY_QNAM, "QLABEL": ELIGIBILITY_QLABEL,
        "QVAL": rows["verdict"].str.upper().to_numpy(), "QORIG": "Derived", "QEVAL": "",
    }, index=pd.RangeIndex(len(rows)))


def _by_subject(subjects: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The subjects with their verdicts, sorted by patient ID (the order of IE and DV too)."""
    joined = subjects.merge(verdicts[["patient_id", "verdict"]], on="patient_id", how="left", validate="one_to_one")
    return joined.sort_values("patient_id", kind="stable").reset_index(drop=True)
