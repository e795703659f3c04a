"""Protocol-order attrition (CONSORT style) and the failure combinations, as tidy tables.

:func:`attrition_table` is computed once and both shown as a table and drawn
(:mod:`.attrition_figures`). Every ineligible patient is counted once, at the **first**
criterion it fails in the order of the registry record (``I1`` .. ``I8``, ``E1`` ..
``E11``, :data:`~..engine.catalog.CATALOG`); a patient failing I4 and E8 is excluded at
I4. The boxes reconcile: screened = excluded at each criterion (summed) + pending +
eligible, and each ``remaining`` is the previous one minus the box's patients.

This differs on purpose from the "any failure" counts of :func:`.summaries.failure_reasons`
(a patient failing two criteria is counted under both there, once here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..contract.schema import CRITERION_IDS
from ..engine.catalog import criterion_labels

if TYPE_CHECKING:  # the protocol only: summaries imports this module
    from .summaries import ResultLike

ATTRITION_COLUMNS: tuple[str, ...] = ("step", "box", "criterion_id", "criterion", "patients", "remaining")


def first_failures(result: ResultLike) -> pd.Series:
    """For each ineligible patient (index: patient ID), the first failed criterion in record order."""
    rank = {c: i for i, c in enumerate(CRITERION_IDS)}
    fails = result.outcomes[result.outcomes["outcome"].astype(str) == "fail"]
    order = fails["criterion_id"].astype(str).map(rank)
    first = order.groupby(fails["patient_id"].astype(str).to_numpy()).min()
    return first.map(dict(enumerate(CRITERION_IDS))).rename("criterion_id")


def attrition_table(result: ResultLike) -> pd.DataFrame:
    """Screened, then excluded at each criterion in record order, then pending and eligible.

    Returns
    -------
    pandas.DataFrame
        :data:`ATTRITION_COLUMNS`, one row per box: ``screened``; one ``excluded`` row per
        criterion (zero rows included, so the table is the same shape for every site);
        ``pending``; ``eligible``. ``remaining`` is the number still in the flow after
        the box (for ``pending`` and ``eligible``: the box itself).
    """
    verdict = result.verdicts["verdict"].astype(str)
    n = len(result.verdicts)
    ineligible = set(result.verdicts.loc[verdict == "ineligible", "patient_id"].astype(str))
    first = first_failures(result)
    first = first[first.index.isin(ineligible)]
    counts = first.value_counts()
    labels = criterion_labels(result.params)
    rows = [("0", "screened", "", "Patients screened (consent signed)", n, n)]
    remaining = n
    for step, cid in enumerate(CRITERION_IDS, start=1):
        excluded = int(counts.get(cid, 0))
        remaining -= excluded
        rows.append((str(step), "excluded", cid, labels[cid], excluded, remaining))
    for box in ("pending", "eligible"):
        count = int((verdict == box).sum())
        rows.append((box, box, "", {"pending": "Pending: data to collect", "eligible": "Eligible"}[box],
                     count, count))
    return pd.DataFrame(rows, columns=list(ATTRITION_COLUMNS))


TOP_COMBINATIONS = 15
"""Combinations of failed criteria drawn (and tabled) one by one; the rest make one "other" bar."""


def failure_sets(result: ResultLike, top: int = TOP_COMBINATIONS) -> pd.DataFrame:
    """The most frequent exact sets of failed criteria among ineligible patients (UpSet data).

    Returns
    -------
    pandas.DataFrame
        ``combination`` (IDs joined by ``+`` in record order), ``criteria`` (tuple of IDs),
        ``patients``; the ``top`` most frequent, ties by record order (I1 ... E11, as the
        page's table); the rest summed in a last row ``other combinations`` when there are more.
    """
    verdicts = result.verdicts[result.verdicts["verdict"].astype(str) == "ineligible"]
    sets = verdicts["failed"].fillna("").astype(str).str.replace(";", "+", regex=False)
    counts = sets.value_counts().rename_axis("combination").reset_index(name="patients")
    rank = {c: i for i, c in enumerate(CRITERION_IDS)}
    counts["_key"] = counts["combination"].map(lambda c: tuple(rank.get(i, len(rank)) for i in c.split("+")))
    counts = counts.sort_values(["patients", "_key"], ascending=[False, True], kind="stable").drop(columns="_key")
    shown, rest = counts.iloc[:top], counts.iloc[top:]
    if len(rest):
        shown = pd.concat([shown, pd.DataFrame({"combination": [f"other combinations ({len(rest)})"],
                                                "patients": [int(rest["patients"].sum())]})])
    shown = shown.reset_index(drop=True)
    shown["criteria"] = [tuple(c.split("+")) if not c.startswith("other") else () for c in shown["combination"]]
    return shown[["combination", "criteria", "patients"]]
