"""CDISC SDTM exports of a screening: TI, IE, DV, DM, SUPPDM and DS as SAS transport (XPT v5) and CSV,
plus a define-style CSV of their variables (``define.csv``, with each coded variable's codelist) and
the values of those codelists (``codelists.csv``, :mod:`.sdtm_codelists`).

The sponsor's data management receives eligibility as SDTM:

* **TI** (trial inclusion/exclusion criteria, trial design): one record per criterion of the
  criteria version used, from the criteria catalog (:mod:`.criteria_catalog`);
* **IE** (inclusion/exclusion criteria not met): one record per criterion that failed (for
  an *ineligible* patient), and per criterion that had failed before it was waived, whatever
  the verdict (an exception granted is still a criterion not met; its waiver is in DV): an
  inclusion criterion not met has ``IEORRES = N``, an exclusion criterion met
  ``IEORRES = Y`` (CDISC/FDA rule CG0176), ``IESTRESC = IEORRES``. A pending patient's
  unknown criteria were not assessed and are not in IE. ``IEDTC`` is the consent
  date (the screening visit) when the dataset is at hand, blank when the export is made
  from a result folder, which does not carry it;
* **DV** (protocol deviations): one record per documented waiver of a criterion, saying
  what the criterion's outcome was before the waiver;
* **DM** and **SUPPDM**: every screened subject, screen failures marked, and each verdict
  (:mod:`.sdtm_subjects`), where the dataset is at hand;
* **DS** (disposition): every screened subject's informed consent (a protocol milestone dated
  by the consent date), and for each ineligible subject a ``SCREEN FAILURE`` event naming the
  failed criteria (:mod:`.sdtm_disposition`), where the dataset is at hand, as DM.

A domain without records (IE when no criterion failed, DV when nothing was waived) is neither
written nor described in ``define.csv`` (:meth:`SdtmDomains.frames`).

IE and DV records are sorted by their keys, ``USUBJID`` then criterion order (``--SEQ``),
whatever the input's row order.

Text is ASCII (``≥`` as ``>=``), ``IETEST`` at most 200 characters, names at most 8 and labels
at most 40, as XPT version 5 requires. A character variable's length is its longest value across
every domain written that has it (``USUBJID`` as long in IE, DV and DS as in DM), SUPPDM's its own:
FDA's Study Data Technical Conformance Guide sets each column's length to "the maximum length of
the variable used across all datasets in the study except for supplementary qualification
datasets" (:func:`char_lengths`). The XPT header's creation time is fixed (:data:`XPT_TIMESTAMP`)
so the same screening always gives the same bytes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract.output_files import publish_set
from ..contract.parameter_files import quoted
from ..contract.writing import FIXED_TIMESTAMP
from .criteria_catalog import criteria_catalog
from .sdtm_codelists import (DV_CAT, DV_DECOD, EXCLUSION_MET, IE_CATEGORIES, INCLUSION_NOT_MET, VALUE_LEVEL,
                             codelists_of, codelists_table)
from .sdtm_disposition import DS_LABEL, DS_VARIABLES, SCREENING_EPOCH, ds_domain
from .sdtm_inputs import Screening, SdtmInputError, in_key_order, load_screening, refuse_rows
from .sdtm_subjects import (DM_ARMS, DM_LABEL, DM_NULL_BEFORE, DM_NULL_DATES, NULL_EXPECTED, SUPPDM_COLUMNS,
                            SUPPDM_LABEL, dm_domain, suppdm_domain)

STUDYID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MAX_TEXT = 200
"""Longest character value of an XPT v5 variable (and of IETEST, TIRL, DVTERM)."""
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
XPT_TIMESTAMP = (f"{FIXED_TIMESTAMP.day:02d}{MONTHS[FIXED_TIMESTAMP.month - 1]}{FIXED_TIMESTAMP:%y:%H:%M:%S}"
                 .encode("ascii"))
"""Created/modified time written in every XPT header (the package's fixed file timestamp)."""
XPT_DATETIME = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
XPT_TIME_FIELDS = ((80 + 64, 80 + 80), (160, 176), (400 + 64, 400 + 80), (480, 496))
"""Byte ranges of the library and member created/modified times of a one-member XPT v5 file."""
ASCII_REPLACEMENTS = {"≥": ">=", "≤": "<=", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
                      "×": "x", "µ": "u", "\u00a0": " "}


@dataclass(frozen=True)
class Variable:
    """One SDTM variable: name (<= 8), label (<= 40), ``Char`` or ``Num``, origin, and for a derived
    value copied from another variable, how (Define-XML's method)."""

    name: str
    label: str
    type: str = "Char"
    origin: str = "Assigned"
    method: str = ""


CONSENT_DATE_METHOD = "= DM.RFICDTC (the consent date: the screening visit, at which eligibility is assessed)"
"""How IE's ``IEDTC`` and DS's ``DSSTDTC`` are derived: every such record is dated at the screening visit."""
COMMON = (Variable("STUDYID", "Study Identifier"), Variable("DOMAIN", "Domain Abbreviation"))
SUBJECT = Variable("USUBJID", "Unique Subject Identifier", origin="Derived")
TESTCD = Variable("IETESTCD", "Inclusion/Exclusion Criterion Short Name", origin="Protocol")
TEST = Variable("IETEST", "Inclusion/Exclusion Criterion", origin="Protocol")
CAT = Variable("IECAT", "Inclusion/Exclusion Category", origin="Protocol")
EPOCH = Variable("EPOCH", "Epoch")
"""IE's and DV's epoch, as DS's: ``SCREENING``, where eligibility is assessed and a waiver granted (FDA's
common data issues ask for EPOCH in DV and DS; SDTMIG permits it in IE; audit 35S)."""
DOMAINS: dict[str, tuple[str, tuple[Variable, ...]]] = {
    "TI": ("Trial Inclusion/Exclusion Criteria", (
        *COMMON, TESTCD, TEST, CAT, Variable("TIRL", "Inclusion/Exclusion Criterion Rule", origin="Protocol"),
        Variable("TIVERS", "Protocol Criteria Versions", origin="Protocol"))),
    "IE": ("Inclusion/Exclusion Criteria Not Met", (
        *COMMON, SUBJECT, Variable("IESEQ", "Sequence Number", "Num", "Derived"), TESTCD, TEST, CAT,
        Variable("IEORRES", "I/E Criterion Original Result", origin="Derived"),
        Variable("IESTRESC", "I/E Criterion Result in Std Format", origin="Derived"), EPOCH,
        # Not collected for the criterion: the consent date, copied (audit 35S: "Collected" claimed a date
        # the data do not hold).
        Variable("IEDTC", "Date/Time of Collection", origin="Derived", method=CONSENT_DATE_METHOD))),
    "DV": ("Protocol Deviations", (
        *COMMON, SUBJECT, Variable("DVSEQ", "Sequence Number", "Num", "Derived"),
        Variable("DVTERM", "Protocol Deviation Term", origin="Derived"),
        Variable("DVDECOD", "Protocol Deviation Coded Term"),
        Variable("DVCAT", "Category for Protocol Deviation"), EPOCH,
        Variable("DVSTDTC", "Start Date/Time of Deviation", origin="Collected"))),
    # SDTMIG 3.3 order; the Expected variables the screening cannot fill are null columns (review 22G).
    "DM": (DM_LABEL, (
        *COMMON, SUBJECT, Variable("SUBJID", "Subject Identifier for the Study", origin="Collected"),
        *(Variable(name, label) for name, label in DM_NULL_BEFORE),
        Variable("RFICDTC", "Date/Time of Informed Consent", origin="Collected"),
        *(Variable(name, label) for name, label in DM_NULL_DATES),
        Variable("SITEID", "Study Site Identifier", origin="Collected"), Variable("AGE", "Age", "Num", "Derived"),
        Variable("AGEU", "Age Units"), Variable("SEX", "Sex", origin="Collected"), Variable("RACE", "Race"),
        *(Variable(name, label) for name, label in DM_ARMS),
        Variable("ARMNRS", "Reason Arm and/or Actual Arm is Null", origin="Derived"),
        Variable("ACTARMUD", "Description of Unplanned Actual Arm"), Variable("COUNTRY", "Country"))),
    "SUPPDM": (SUPPDM_LABEL, tuple(Variable(name, label, origin=origin) for name, label, origin in SUPPDM_COLUMNS)),
    "DS": (DS_LABEL, tuple(Variable(name, label, kind, origin, CONSENT_DATE_METHOD if name == "DSSTDTC" else "")
                           for name, label, kind, origin in DS_VARIABLES)),
}
"""Each domain's label and variables, in SDTM order (SDTMIG labels)."""
SDTM_FILES: tuple[str, ...] = (*(f"{domain.lower()}.{ext}" for domain in DOMAINS for ext in ("xpt", "csv")),
                               "define.csv", "codelists.csv")
"""Every file name :func:`write_sdtm` can write: an export removes those of an earlier one it does not write."""


@dataclass(frozen=True)
class SdtmDomains:
    """The domains as frames (``--SEQ`` integers), in SDTM variable order; DM, SUPPDM and DS only
    where the dataset was at hand."""

    ti: pd.DataFrame
    ie: pd.DataFrame
    dv: pd.DataFrame
    dm: pd.DataFrame | None = None
    suppdm: pd.DataFrame | None = None
    ds: pd.DataFrame | None = None
    criteria_checked: bool = True
    """False when TI's criteria could not be checked against the screen's (a result folder without
    ``criteria_used.csv``; :attr:`.sdtm_inputs.Screening.criteria_checked`)."""

    def built(self) -> dict[str, pd.DataFrame]:
        """Return ``{domain: frame}``: TI, IE, DV, then DM, SUPPDM and DS where they were built."""
        subjects = {"DM": self.dm, "SUPPDM": self.suppdm, "DS": self.ds}
        return {"TI": self.ti, "IE": self.ie, "DV": self.dv,
                **{domain: frame for domain, frame in subjects.items() if frame is not None}}

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return ``{domain: frame}`` of the built domains that have records, the ones written and described.

        SDTMIG 3.4 section 3.2: "In the event that no records are present in a dataset (e.g., a small PK
        study where no subjects took concomitant medications), the empty dataset should not be submitted
        and should not be described" in the define file (CDISC rule CG0408): an IE without a criterion not
        met, a DV without a waiver is left out (review 40; they were written with no observations).
        """
        return {domain: frame for domain, frame in self.built().items() if len(frame)}

    def without_records(self) -> list[str]:
        """The built domains that have no record, so are not written (:meth:`frames`)."""
        return [domain for domain, frame in self.built().items() if not len(frame)]


def ascii_text(text: str, limit: int = MAX_TEXT) -> str:
    """Return ``text`` in ASCII (``≥`` -> ``>=``, accents dropped) cut to ``limit`` characters at a word."""
    for symbol, spelt in ASCII_REPLACEMENTS.items():
        text = text.replace(symbol, spelt)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii") \
        if not text.isascii() else text
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit - 3].rsplit(" ", 1)[0] + "..."


def tivers(version: str, parameters_file: str) -> str:
    """The criteria version as TIVERS, unchanged: refused unless it is at most :data:`MAX_TEXT` printable
    ASCII characters.

    TIVERS tells versions apart, so no spelling may make two versions one: cutting two long versions that
    differ at the end, or dropping an accent ("Amendment é", "Amendment e"), did (review 28; "Amendment α"
    and "Amendment β" both became "Amendment" before, audit session 21). The version is the criteria
    file's own text, so its author names it within what an XPT v5 value holds.

    Raises
    ------
    SdtmInputError
        Naming the file, the key, the value and what is allowed.
    """
    bad = sorted({c for c in version if not (" " <= c <= "~")})
    if len(version) <= MAX_TEXT and not bad:
        return version
    found = f"{len(version)} characters" if not bad else "characters outside printable ASCII: " + ", ".join(
        ascii(c) for c in bad)
    raise SdtmInputError(f"criteria file {parameters_file}: key 'version' has value {quoted(version)} ({found}); "
                         f"expected at most {MAX_TEXT} printable ASCII characters: it becomes TIVERS, which tells "
                         "criteria versions apart, and shortening or transliterating it could make two versions "
                         "one; name the version in ASCII letters, digits and punctuation")


def check_studyid(studyid: str) -> str:
    """Return ``studyid`` when it is 1-40 ASCII letters, digits, ``.``, ``_`` or ``-``; raise otherwise."""
    if not STUDYID_PATTERN.fullmatch(studyid):
        raise SdtmInputError(f"--studyid {studyid!r}: expected 1-40 ASCII letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit")
    return studyid


def _refuse_subjects_xpt_cannot_hold(ids: pd.Series, studyid: str, path: Path) -> None:
    """Each USUBJID (``STUDYID-patient_id``) must be ASCII of at most :data:`MAX_TEXT` bytes, as XPT
    v5 holds text; a patient ID is never rewritten into another subject's (audit, session 21: an
    edited result folder wrote a non-ASCII and a 254-byte USUBJID)."""
    usubjid = studyid + "-" + ids
    bad = ~usubjid.map(str.isascii).astype(bool) | (usubjid.str.len() > MAX_TEXT)  # bool also when empty
    refuse_rows(bad.reset_index(drop=True), ids.reset_index(drop=True), path, "patient_id",
                f"cannot be a USUBJID ({studyid}-patient_id): SDTM transport files hold ASCII text of at most "
                f"{MAX_TEXT} bytes; use a pseudonymous ASCII screening ID")


# --- the domains ------------------------------------------------------------------------


def ti_domain(catalog: Mapping[str, Any], studyid: str) -> pd.DataFrame:
    """TI: one record per criterion of the catalog's criteria version.

    IETEST is the registry record's bullet, the same in every version; TIRL is the rule
    with the limits of this version ("Steroids > 20 mg/day" under a what-if file), so a
    version whose limits differ from the record's says so where it is defined.
    """
    criteria = pd.DataFrame(catalog["criteria"])
    return pd.DataFrame({
        "STUDYID": studyid, "DOMAIN": "TI", "IETESTCD": criteria["id"],
        "IETEST": criteria["record_text"].map(ascii_text), "IECAT": criteria["kind"].map(IE_CATEGORIES),
        # The version is the criteria file's own text, refused rather than rewritten (:func:`tivers`).
        "TIRL": criteria["rule"].map(ascii_text),
        "TIVERS": tivers(str(catalog["criteria_version"]), str(catalog["parameters_file"])),
    })


def ie_domain(screening: Screening, catalog: Mapping[str, Any], studyid: str) -> pd.DataFrame:
    """IE: the criteria not met (inclusion not met N, exclusion met Y).

    Every failed criterion (its patient is ineligible), and every criterion that had failed
    before it was waived, whatever the patient's verdict: an exception granted is still a
    criterion not met (SDTMIG's IE lists the criteria "that cause the subject to be in
    violation", and the waiver is the deviation in DV). A pending patient's unknown criteria
    were not assessed and are not in IE, but a waived fail of theirs was (audit 22C: DV had
    deviations of pending patients with no IE record to match).
    """
    ti = ti_domain(catalog, studyid).set_index("IETESTCD")
    verdicts = screening.verdicts.set_index("patient_id")
    outcomes, waivers = screening.outcomes, screening.waivers
    failed = outcomes.loc[outcomes["outcome"] == "fail", ["patient_id", "criterion_id"]]
    waived_fail = waivers.loc[waivers["was"] == "fail", ["patient_id", "criterion_id"]]
    failed = in_key_order(pd.concat([failed, waived_fail], ignore_index=True))
    category = ti.loc[failed["criterion_id"], "IECAT"].to_numpy()
    result = np.where(category == IE_CATEGORIES["inclusion"], INCLUSION_NOT_MET, EXCLUSION_MET)
    return pd.DataFrame({
        "STUDYID": studyid, "DOMAIN": "IE", "USUBJID": studyid + "-" + failed["patient_id"].to_numpy(),
        "IESEQ": failed.groupby("patient_id", sort=False).cumcount().to_numpy() + 1,
        "IETESTCD": failed["criterion_id"].to_numpy(),
        "IETEST": ti.loc[failed["criterion_id"], "IETEST"].to_numpy(), "IECAT": category,
        "IEORRES": result, "IESTRESC": result, "EPOCH": SCREENING_EPOCH,
        "IEDTC": verdicts.loc[failed["patient_id"], "assessed"].to_numpy(),
    }, index=pd.RangeIndex(len(failed))).astype({"IESEQ": "int64"})


def dv_domain(screening: Screening, catalog: Mapping[str, Any], studyid: str) -> pd.DataFrame:
    """DV: one protocol deviation per documented waiver of a criterion, with the outcome it replaced."""
    entries = pd.DataFrame(catalog["criteria"]).set_index("id")
    waivers = in_key_order(screening.waivers)
    criterion = waivers["criterion_id"].reset_index(drop=True)
    # What the waiver replaced: of a failed criterion, an exception granted; of an unknown one, a
    # decision taken without the data ("" where a result folder does not say).
    was = waivers["was"].fillna("").astype(str).reset_index(drop=True)
    state = ("outcome before waiver: " + was.str.replace("_", " ")).where(was != "",
                                                                          "outcome before waiver not recorded")
    term = (entries.loc[criterion, "kind"].str.capitalize().reset_index(drop=True) + " criterion " + criterion
            + " waived (" + state + "): " + entries.loc[criterion, "label"].reset_index(drop=True))
    return pd.DataFrame({
        "STUDYID": studyid, "DOMAIN": "DV", "USUBJID": studyid + "-" + waivers["patient_id"].to_numpy(),
        "DVSEQ": waivers.groupby("patient_id", sort=False).cumcount().to_numpy() + 1,
        "DVTERM": term.map(ascii_text).to_numpy(),
        "DVDECOD": DV_DECOD, "DVCAT": DV_CAT, "EPOCH": SCREENING_EPOCH, "DVSTDTC": waivers["approved"].to_numpy(),
    }, index=pd.RangeIndex(len(waivers))).astype({"DVSEQ": "int64"})


def sdtm_domains(source: Path, studyid: str, criteria: str | Path | None = None,
                 dataset: Path | None = None) -> SdtmDomains:
    """Build TI, IE, DV (and, from a dataset, DM, SUPPDM and DS) from a ``screen`` output folder or a dataset.

    Parameters
    ----------
    source : Path
        A folder holding ``verdicts.csv`` and ``outcomes.csv``/``.parquet`` (as ``screen``
        writes them), or a dataset (screened here with ``criteria``).
    studyid : str
        The STUDYID of the submission.
    criteria : str or Path, optional
        Criteria parameter file of the version used (TI, TIVERS, and the screening of a
        dataset); ``None`` for the criteria in force.
    dataset : Path, optional
        With a result folder: the dataset it was screened from, for DM, SUPPDM, DS and IEDTC
        (:func:`.sdtm_inputs.with_subjects_of`).

    Returns
    -------
    SdtmDomains

    Raises
    ------
    SdtmInputError, ContractError, ParamsError
        For a bad study ID or result folder, a dataset or a parameter file that breaks
        the contract.
    """
    check_studyid(studyid)
    catalog = criteria_catalog(criteria)
    # Before screening a dataset: the file as given names the version TIVERS cannot hold.
    tivers(str(catalog["criteria_version"]), str(criteria) if criteria else str(catalog["parameters_file"]))
    screening = load_screening(Path(source), criteria, None if dataset is None else Path(dataset))
    _refuse_subjects_xpt_cannot_hold(screening.verdicts["patient_id"].astype(str), studyid, Path(source))
    subjects = {} if screening.subjects is None else {
        "dm": dm_domain(screening.subjects, screening.verdicts, studyid),
        "suppdm": suppdm_domain(screening.subjects, screening.verdicts, studyid),
        "ds": ds_domain(screening.subjects, screening.verdicts, screening.outcomes, studyid)}
    return SdtmDomains(ti_domain(catalog, studyid), ie_domain(screening, catalog, studyid),
                       dv_domain(screening, catalog, studyid), **subjects,
                       criteria_checked=screening.criteria_checked)


def export_notes(domains: SdtmDomains, source: Path) -> list[str]:
    """What the ``sdtm`` command says beside the files.

    Parameters
    ----------
    domains : SdtmDomains
        The domains built (:func:`sdtm_domains`).
    source : Path
        The dataset or screen result folder exported, as named in a note.

    Returns
    -------
    list of str
        One note each, without the ``note:`` prefix: the domains not written and why, a blank IEDTC,
        TI's criteria left unchecked, DM/SUPPDM/DS left out for want of the dataset.
    """
    from ..contract.screen_output import CRITERIA_FILE

    why = {"TI": "no criterion", "IE": "no criterion not met", "DV": "no criterion waived", "DM": "no subject",
           "SUPPDM": "no subject", "DS": "no subject"}
    empty = [f"{domain} ({why[domain]})" for domain in domains.without_records()]
    notes = []
    if empty:
        notes.append(f"{', '.join(empty)} not written: SDTMIG 3.4 section 3.2 submits no dataset without records")
    if len(domains.ie) and (domains.ie["IEDTC"].fillna("") == "").all():
        notes.append("IEDTC (the consent date) is blank in IE: a screen result folder does not carry consent "
                     "dates; add --dataset DATASET (the dataset it was screened from) to fill it")
    if not domains.criteria_checked:
        notes.append(f"{source} has no {CRITERIA_FILE} (screened before it was written), so TI's criteria could "
                     "not be checked against the screen's: pass the --criteria screen was given")
    if domains.dm is None:
        notes.append("DM, SUPPDM and DS (every screened subject, screen failures, eligibility, consent) are not "
                     "written: a screen result folder does not carry sex, birth or consent dates; add --dataset "
                     "DATASET to have them")
    return notes


# --- writing ----------------------------------------------------------------------------


def define_table(domains: SdtmDomains) -> pd.DataFrame:
    """A define-style table: per variable (``where`` blank) its dataset, label, type, length, origin, method
    (how a derived copy is made; blank otherwise), codelist (blank for free text, dates and numbers) and
    comment (why an Expected variable is null in every record, :data:`.sdtm_subjects.NULL_EXPECTED`). A
    variable whose codelist depends on another (DS ``DSDECOD`` on ``DSCAT``) has no codelist of its own but a
    row per condition after it, with its ``where`` clause and its one codelist (Define-XML's value-level
    metadata)."""
    rows = []
    lengths = char_lengths(domains.frames())
    for domain in domains.frames():
        label, variables = DOMAINS[domain]
        for order, variable in enumerate(variables, start=1):
            row = {"dataset": domain, "dataset_label": label, "order": order, "variable": variable.name,
                   "label": variable.label, "type": variable.type,
                   "length": 8 if variable.type == "Num" else lengths[domain][variable.name],
                   "origin": variable.origin, "method": variable.method, "where": ""}
            conditions = VALUE_LEVEL.get((domain, variable.name), ())
            rows.append({**row, "codelist": "" if conditions else ";".join(codelists_of(domain, variable.name)),
                         "comment": NULL_EXPECTED.get((domain, variable.name), "")})
            rows += [{**row, "where": where, "codelist": codelist, "comment": ""} for where, codelist in conditions]
    return pd.DataFrame(rows)


def char_lengths(frames: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Each domain's character variables' XPT lengths (bytes; the values are ASCII).

    FDA's Study Data Technical Conformance Guide: "The allotted length for each column containing
    character (text) data should be set to the maximum length of the variable used across all datasets
    in the study except for supplementary qualification datasets". So a variable's length is its longest
    value in every domain given that has it (``IETEST`` in IE as in TI, ``USUBJID`` in DV as in DM), and
    a supplemental qualifier dataset's (SUPPDM) its own longest value; at least 1, the least
    an XPT variable holds (a variable null everywhere).

    Parameters
    ----------
    frames : Mapping
        ``{domain: frame}`` of the domains written (:meth:`SdtmDomains.frames`).

    Returns
    -------
    dict
        ``{domain: {variable: length}}`` for every ``Char`` variable of :data:`DOMAINS`.
    """
    def longest(values: pd.Series) -> int:
        return int(values.fillna("").astype(str).str.len().max()) if len(values) else 0

    def chars(domain: str) -> list[str]:
        return [v.name for v in DOMAINS[domain][1] if v.type == "Char"]

    study: dict[str, int] = {}
    for domain, frame in frames.items():
        if not domain.startswith("SUPP"):
            for name in chars(domain):
                study[name] = max(study.get(name, 1), longest(frame[name]))
    return {domain: {name: max(1, longest(frame[name])) if domain.startswith("SUPP") else study[name]
                     for name in chars(domain)} for domain, frame in frames.items()}


def write_sdtm(domains: SdtmDomains, out: Path) -> list[Path]:
    """Write each domain as ``.xpt`` (v5) and ``.csv``, ``define.csv`` and ``codelists.csv``, as one set.

    Every file is written into a staging folder beside ``out`` first, then the set is moved in
    (:func:`..contract.output_files.publish_set`): ``out`` ends with exactly this export's SDTM files,
    the earlier export's others (of :data:`SDTM_FILES`: DM, SUPPDM, DS from a dataset beside a
    result folder's TI, IE, DV) removed, or, on a failure, as it was (review 28: a reused folder kept
    an earlier run's DM beside a new IE; a failure partway left two runs' files mixed). Other files
    in ``out`` are left alone.

    Returns
    -------
    list of Path
        The files written, in a fixed order.

    Raises
    ------
    OSError
        A file cannot be written or moved in (its ``filename`` is the destination in ``out``).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-sdtm-", dir=out.parent))
    try:
        names = []
        lengths = char_lengths(domains.frames())
        for domain, frame in domains.frames().items():
            _write_xpt(frame, staging / f"{domain.lower()}.xpt", domain, lengths[domain])
            frame.to_csv(staging / f"{domain.lower()}.csv", index=False, lineterminator="\n")
            names += [f"{domain.lower()}.xpt", f"{domain.lower()}.csv"]
        define_table(domains).to_csv(staging / "define.csv", index=False, lineterminator="\n")
        codelists_table(domains.frames()).to_csv(staging / "codelists.csv", index=False, lineterminator="\n")
        names += ["define.csv", "codelists.csv"]
        return publish_set(staging, names, out, SDTM_FILES)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_xpt(frame: pd.DataFrame, path: Path, domain: str, lengths: Mapping[str, int]) -> None:
    """Write ``frame`` as XPT v5, each character variable ``lengths[name]`` bytes long.

    pyreadstat sizes a variable by its longest value and takes no length, so the first record's values
    are written padded with blanks to the length: XPT stores every character value blank-padded to its
    variable's length, so the bytes are those of the unpadded value, and readers strip the blanks.
    ``frame`` has records (:meth:`SdtmDomains.frames`).
    """
    import pyreadstat

    label, variables = DOMAINS[domain]
    data = frame.reset_index(drop=True).astype({v.name: "float64" if v.type == "Num" else object for v in variables})
    for name, length in lengths.items():
        value = data.at[0, name]
        data.at[0, name] = ("" if pd.isna(value) else str(value)).ljust(length)
    pyreadstat.write_xport(data, str(path), file_label=label, column_labels=[v.label for v in variables],
                           table_name=domain, file_format_version=5)
    raw = bytearray(path.read_bytes())
    for start, end in XPT_TIME_FIELDS:
        if not XPT_DATETIME.fullmatch(bytes(raw[start:end])):
            raise RuntimeError(f"{path.name}: no XPT header time at bytes {start}-{end}; the writer changed")
        raw[start:end] = XPT_TIMESTAMP
    path.write_bytes(bytes(raw))
