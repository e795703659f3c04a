"""Oversight flags for a medical monitor: what happened that the screening did not allow.

- ``NMA-LD while ineligible`` / ``NMA-LD while pending``: a lymphodepletion date (planned
  or actual) for a patient the screening does not find eligible. ``date passed`` when the
  date is on or before the data's currency date (:mod:`.worklist`), ``scheduled`` after it.
- ``waiver by a role not allowed``: a waiver whose approver is not one of the roles allowed
  to waive (compared without case or surrounding spaces). The roles are a report parameter
  (``waiver_roles``, ``;``-separated; blank = :data:`DEFAULT_WAIVER_ROLES`).
- ``waiver without a recorded approver``: a waiver whose ``approved_by`` is blank. It is
  applied (every override row is a documented waiver), but nobody can tell whether its
  approver may waive.
- the waiver rate per site: patients with at least one waiver among those screened.

:func:`oversight_flags` is one tidy table, one row per flag (a patient may carry several),
written beside each page as ``<name>-oversight-flags.csv/.xlsx``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..contract.schema import SITE_IDS, screened_sites
from ..engine.waivers import UNRECORDED_APPROVER
from .summaries import waivers_table
from .worklist import DataCurrency, nmald_status

if TYPE_CHECKING:  # the protocol, for type checkers only
    from .summaries import ResultLike

DEFAULT_WAIVER_ROLES: tuple[str, ...] = ("Principal Investigator", "Sponsor Medical Monitor")
"""Roles allowed to approve a waiver when the report parameter ``waiver_roles`` is blank."""
FLAG_COLUMNS: tuple[str, ...] = ("patient_id", "site_id", "flag", "verdict", "nmald_date", "approved_date", "detail")
"""Columns of :func:`oversight_flags`: each kind of flag fills the date it is about and leaves the other blank, so a
monitor sorting by a date sorts one kind of date (review 24: one ``date`` column held both)."""
LD_FLAGS: dict[str, str] = {"ineligible": "NMA-LD while ineligible", "pending": "NMA-LD while pending"}
WAIVER_FLAG = "waiver by a role not allowed"
UNSIGNED_WAIVER_FLAG = "waiver without a recorded approver"
FLAG_PLURALS: dict[str, str] = {**{flag: flag for flag in LD_FLAGS.values()},
                                WAIVER_FLAG: "waivers by a role not allowed",
                                UNSIGNED_WAIVER_FLAG: "waivers without a recorded approver"}
"""Each flag as a count of several says it (audit 43N: the page header said "4 waiver by a role not allowed")."""


def waiver_roles(text: str | None) -> tuple[str, ...]:
    """The allowed roles of a ``waiver_roles`` parameter (``"A; B"``); blank = the defaults."""
    roles = tuple(part.strip() for part in (text or "").split(";") if part.strip())
    return roles or DEFAULT_WAIVER_ROLES


def lymphodepletion_flags(result: ResultLike, patients: pd.DataFrame, as_of: DataCurrency) -> pd.DataFrame:
    """Patients with an NMA-LD date whose verdict is ineligible or pending (:data:`FLAG_COLUMNS`)."""
    ld = patients.astype({"patient_id": "str"}).set_index("patient_id")["lymphodepletion_date"]
    verdicts = result.verdicts.astype({"patient_id": "str"})
    # reindex, not map: map fails on a dataset without patients (no dates to infer a dtype from; review 24)
    date = pd.Series(ld.reindex(verdicts["patient_id"]).to_numpy(), index=verdicts.index)
    verdict = verdicts["verdict"].astype(str)
    hit = date.notna() & verdict.isin(list(LD_FLAGS))
    rows = verdicts[hit]
    # The worklist's words for the date, which has its own column (review 26B: without a currency
    # date this said "scheduled").
    status = nmald_status(date[hit], as_of)
    reasons = ("failed: " + rows["failed"].fillna("").astype(str)).where(verdict[hit] == "ineligible",
                                                                         "unknown: " + rows["unknown"].fillna("").astype(str))
    return pd.DataFrame({
        "patient_id": rows["patient_id"], "site_id": rows["site_id"].astype(str),
        "flag": verdict[hit].map(LD_FLAGS), "verdict": verdict[hit], "nmald_date": date[hit],
        "detail": "NMA-LD " + status.astype(str) + "; " + reasons,
    }, columns=list(FLAG_COLUMNS))


def role_allowed(approved_by: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """Per waiver, whether its approver's role is one of ``allowed`` (case and spaces aside)."""
    allowed_keys = {role.strip().casefold() for role in allowed}
    return approved_by.fillna("").astype(str).str.strip().str.casefold().isin(allowed_keys)


def roles_no_waiver_names(result: ResultLike, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The allowed roles no waiver's approver matches, where some waiver's approver matches none of them.

    A misspelt role ("Principle Investigator") flags every waiver its role approved, without a word of
    why (audit 43N); the oversight note names such roles so that the spelling is checked. Nothing is
    said while every waiver's approver is allowed (a role that approved none then is no sign of a typo).
    """
    approvers = result.waivers["approved_by"].dropna().astype(str).str.strip().str.casefold()
    if approvers.empty or role_allowed(approvers, allowed).all():
        return ()
    return tuple(role for role in allowed if role.strip().casefold() not in set(approvers))


def waivers_with_roles(result: ResultLike, allowed: tuple[str, ...]) -> pd.DataFrame:
    """The waivers table (:func:`.summaries.waivers_table`) with ``approver_allowed``: ``yes``, or
    ``no`` where the approver's role may not waive (audit, session 16: only the oversight
    flags said so, not the table a monitor reads the waivers in)."""
    table = waivers_table(result)
    allowed_text = role_allowed(table["approved_by"], allowed).map({True: "yes", False: "no (not in waiver_roles)"})
    allowed_text = allowed_text.where(table["approved_by"].notna(), "not known (approver not recorded)")
    table.insert(table.columns.get_loc("approved_by") + 1, "approver_allowed", allowed_text.astype(str))
    return table


def waiver_flags(result: ResultLike, allowed: tuple[str, ...]) -> pd.DataFrame:
    """Waivers approved by a role not in ``allowed``, or by nobody recorded (:data:`FLAG_COLUMNS`)."""
    waivers = result.waivers.astype({"patient_id": "str"})
    rows = waivers[~role_allowed(waivers["approved_by"], allowed)]
    verdict = rows["patient_id"].map(result.verdicts.astype({"patient_id": "str"}).set_index("patient_id")["verdict"])
    return pd.DataFrame({
        "patient_id": rows["patient_id"], "site_id": rows["site_id"].astype(str),
        "flag": pd.Series(WAIVER_FLAG, index=rows.index).where(rows["approved_by"].notna(), UNSIGNED_WAIVER_FLAG),
        "verdict": verdict.astype(str), "approved_date": rows["approved_date"],
        # The screening applies every documented waiver (the spec defines no roles): the flag says the
        # verdict already counts it, so a monitor knows what revoking it would change (review 29E).
        "detail": (rows["criterion_id"].astype(str) + " waived "
                   + ("by " + rows["approved_by"].astype(str)).where(rows["approved_by"].notna(),
                                                                     "(" + UNRECORDED_APPROVER + ")")
                   + "; applied, as every documented waiver is: the verdict (" + verdict.astype(str) + ") counts "
                   + rows["criterion_id"].astype(str) + " as waived; allowed: " + "; ".join(allowed)),
    }, columns=list(FLAG_COLUMNS))


def oversight_flags(result: ResultLike, patients: pd.DataFrame, as_of: DataCurrency,
                    allowed: tuple[str, ...] = DEFAULT_WAIVER_ROLES) -> pd.DataFrame:
    """Every flag, sorted by site (record order), flag, patient."""
    frame = pd.concat([lymphodepletion_flags(result, patients, as_of), waiver_flags(result, allowed)],
                      ignore_index=True)
    for column in ("nmald_date", "approved_date"):
        frame[column] = pd.to_datetime(frame[column])
    site_rank = frame["site_id"].map({s: i for i, s in enumerate(SITE_IDS)})
    frame = frame.assign(_site=site_rank).sort_values(["_site", "flag", "patient_id"], kind="stable")
    return frame.drop(columns="_site").reset_index(drop=True)


def waiver_rates(result: ResultLike) -> pd.DataFrame:
    """Per site (record order, sites with patients): screened, waivers, patients waived, rate."""
    verdicts, waivers = result.verdicts, result.waivers
    sites = screened_sites(verdicts["site_id"].astype(str))
    screened = verdicts["site_id"].astype(str).value_counts()
    count = waivers["site_id"].astype(str).value_counts()
    patients = waivers.drop_duplicates("patient_id")["site_id"].astype(str).value_counts()
    frame = pd.DataFrame({"site_id": sites,
                          "screened": [int(screened.get(s, 0)) for s in sites],
                          "waivers": [int(count.get(s, 0)) for s in sites],
                          "patients_waived": [int(patients.get(s, 0)) for s in sites]})
    frame["waiver_rate"] = frame["patients_waived"] / frame["screened"]
    return frame
