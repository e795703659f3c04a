"""SDTM codelists: every coded value the SDTM export can write, its meaning and, where verified, its NCI code.

``define.csv`` names each coded variable's codelist and ``codelists.csv`` lists, per codelist,
exactly the values this export can write (a Define-XML ``CodeList`` holds the terms a study
uses, not the whole CDISC list: ``NY`` here is ``N`` and ``Y``, never ``U``). The values are
the constants the domains are built from, so a codelist cannot list a value no domain writes.

CDISC codelists (``NY``, ``IECAT``, ``SEX``, ``AGEU``, ``ARMNULRS``, ``DSCAT``, ``PROTMLST``,
``NCOMPLT``, ``EPOCH``) carry the NCI C-code and preferred term of each value, checked in NCI
EVS's *SDTM Terminology* release of :data:`CT_RELEASE`. ``DSDECOD`` draws on two of them, by
``DSCAT``: ``PROTMLST`` for a protocol milestone, ``NCOMPLT`` for a disposition event (value-level
metadata in Define-XML). Sponsor-defined codelists (``DVDECOD``, ``DVCAT``, ``ELIGSTAT``, SUPPDM's
verdict) have no NCI code, nor has ``ISO3166`` (``COUNTRY``, ISO 3166-1 alpha-3, an external
dictionary, not NCI terminology): their ``nci_code`` is blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ..engine.screening import VERDICTS
from .sdtm_disposition import (CONSENT_OBTAINED, DISPOSITION_EVENT, PROTOCOL_MILESTONE, SCREEN_FAILURE_DECOD,
                               SCREENING_EPOCH)
from .sdtm_subjects import AGE_UNIT, COUNTRY, NOT_ASSIGNED, SCREEN_FAILURE, SEX_CODES, SEX_UNKNOWN

__all__ = ["CODELISTS_COLUMNS", "CT_RELEASE", "DV_CAT", "DV_DECOD", "EXCLUSION_MET", "IE_CATEGORIES",
           "INCLUSION_NOT_MET", "TERMS", "VALUE_LEVEL", "VARIABLE_CODELISTS", "Term", "codelists_of",
           "codelists_table"]

CT_RELEASE = "2025-03-25"
"""The NCI EVS SDTM Terminology release the C-codes were checked in."""
INCLUSION_NOT_MET = "N"
EXCLUSION_MET = "Y"
"""IEORRES (= IESTRESC) of an inclusion criterion not met, an exclusion criterion met (CG0176)."""
IE_CATEGORIES = {"inclusion": "INCLUSION", "exclusion": "EXCLUSION"}
"""IECAT of each criterion kind of the catalog."""
DV_DECOD = "ELIGIBILITY CRITERION WAIVED"
DV_CAT = "ELIGIBILITY CRITERIA"
CODELISTS_COLUMNS = ("codelist", "value", "decode", "nci_code", "used_by")


@dataclass(frozen=True)
class Term:
    """One value of a codelist: what the file holds, its meaning in words, its NCI C-code ("" if none)."""

    codelist: str
    value: str
    decode: str
    nci_code: str = ""


_SEX_DECODES = {"M": ("Male", "C20197"), "F": ("Female", "C16576"), SEX_UNKNOWN: ("Unknown", "C17998")}
_VERDICT_DECODES = {
    "eligible": "Eligible at screening: no criterion failed or unknown (a waived criterion counts as met)",
    "pending": "Eligibility pending: no criterion failed, at least one unknown (data missing)",
    "ineligible": "Ineligible at screening: at least one criterion failed (a screen failure)"}
TERMS: tuple[Term, ...] = (
    Term("NY", INCLUSION_NOT_MET, "No", "C49487"), Term("NY", EXCLUSION_MET, "Yes", "C49488"),
    Term("IECAT", IE_CATEGORIES["inclusion"], "Inclusion Criteria", "C25532"),
    Term("IECAT", IE_CATEGORIES["exclusion"], "Exclusion Criteria", "C25370"),
    Term("DVDECOD", DV_DECOD, "An eligibility criterion waived by a documented exception"),
    Term("DVCAT", DV_CAT, "Deviation from the protocol's eligibility criteria"),
    Term("AGEU", AGE_UNIT, "Year", "C29848"),
    *(Term("SEX", code, *_SEX_DECODES[code]) for code in (*SEX_CODES.values(), SEX_UNKNOWN)),
    Term("ARMNULRS", SCREEN_FAILURE, "Trial Screen Failure", "C49628"),
    Term("ARMNULRS", NOT_ASSIGNED, "Subject Not Assigned to Arm", "C142239"),
    Term("ISO3166", COUNTRY, "United States of America"),
    *(Term("ELIGSTAT", verdict.upper(), _VERDICT_DECODES[verdict]) for verdict in VERDICTS),
    Term("DSCAT", PROTOCOL_MILESTONE, "Protocol Milestone", "C74588"),
    Term("DSCAT", DISPOSITION_EVENT, "Protocol Disposition Event", "C74590"),
    Term("PROTMLST", CONSENT_OBTAINED, "Informed Consent", "C16735"),
    Term("NCOMPLT", SCREEN_FAILURE_DECOD, "Trial Screen Failure", "C49628"),
    Term("EPOCH", SCREENING_EPOCH, "Screening Epoch", "C202487"),
)
"""Every coded value the export can write, codelist by codelist."""
VARIABLE_CODELISTS: dict[str, dict[str, tuple[str, ...]]] = {
    "TI": {"IECAT": ("IECAT",)},
    "IE": {"IECAT": ("IECAT",), "IEORRES": ("NY",), "IESTRESC": ("NY",), "EPOCH": ("EPOCH",)},
    "DV": {"DVDECOD": ("DVDECOD",), "DVCAT": ("DVCAT",), "EPOCH": ("EPOCH",)},
    # DM's variables that are always null (DTHFL, RACE) name no codelist: they write no value.
    "DM": {"AGEU": ("AGEU",), "SEX": ("SEX",), "ARMNRS": ("ARMNULRS",), "COUNTRY": ("ISO3166",)},
    "SUPPDM": {"QVAL": ("ELIGSTAT",)},  # SUPPDM's one qualifier, ELIGSTAT
    "DS": {"DSDECOD": ("PROTMLST", "NCOMPLT"), "DSCAT": ("DSCAT",), "EPOCH": ("EPOCH",)},
}
"""Per domain, each coded variable's codelist(s); a variable not named holds free text, a date or a number."""
VALUE_LEVEL: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("DS", "DSDECOD"): ((f"DSCAT = '{PROTOCOL_MILESTONE}'", "PROTMLST"), (f"DSCAT = '{DISPOSITION_EVENT}'", "NCOMPLT")),
}
"""A variable whose codelist depends on another variable: per condition (Define-XML's where clause),
its one codelist. ``define.csv`` gives such a variable one row per condition."""


def codelists_of(domain: str, variable: str) -> tuple[str, ...]:
    """The codelists of ``domain.variable`` (empty for free text, dates and numbers)."""
    return VARIABLE_CODELISTS.get(domain, {}).get(variable, ())


def codelists_table(domains: Mapping[str, object]) -> pd.DataFrame:
    """``codelists.csv``: one row per (codelist, value) of the codelists the given domains use.

    Parameters
    ----------
    domains : Mapping
        The domains written (their names are read; from a result folder DM, SUPPDM and DS are
        not written, and the codelists only they use are not listed).

    Returns
    -------
    DataFrame
        :data:`CODELISTS_COLUMNS`, in :data:`TERMS` order; ``used_by`` the ``DOMAIN.VARIABLE``
        names using the codelist, ``;``-joined.
    """
    used_by: dict[str, list[str]] = {}
    for domain in domains:
        for variable, codelists in VARIABLE_CODELISTS.get(domain, {}).items():
            for codelist in codelists:
                used_by.setdefault(codelist, []).append(f"{domain}.{variable}")
    rows = [(t.codelist, t.value, t.decode, t.nci_code, ";".join(used_by[t.codelist]))
            for t in TERMS if t.codelist in used_by]
    return pd.DataFrame(rows, columns=list(CODELISTS_COLUMNS))
