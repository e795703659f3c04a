"""At a data cut, what was not read because it is dated after the cut, said where it matters.

A cut keeps what was known on its day (:mod:`..contract.data_cut`): a live vaccine dated
after it, a brain-metastases stability date, a therapy line's end or recurrence, a line that
started later and the lab results collected later are set aside or blanked. The criteria then
read "not recorded" or "no ANC result on file" while the file holds the value (audit 22B), so
the sentence of each criterion that reads such a cell ends with a clause naming it:
"; dated after the data cut 2025-03-10, so not read at this cut: live vaccine date
2025-03-20". The outcome stays the cut's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract.dataset import ScreeningDataset
from ..contract.schema import CRITERION_IDS
from .evidence import iso_dates, joined_by_key

__all__ = ["READ_BY", "dated_after_cut_clauses", "screened_rows"]

READ_BY: dict[tuple[str, str], tuple[str, ...]] = {
    ("patients", "live_vaccine_date"): ("E10",),
    ("patients", "brain_metastases_stable_since"): ("E5",),
    ("therapies", "end_date"): ("I2", "I3"),
    ("therapies", "recurrence_date"): ("I2", "I3"),
    ("therapies", "start_date"): ("I2", "I3", "E1"),
    ("labs", "collected_date"): ("I7",),
}
"""The criteria whose sentence names a cell the cut did not read, by the cell's ``table.column``
(a whole therapy line or lab result is set aside by its start or collected date)."""
METASTATIC_READ_BY: dict[tuple[str, str], tuple[str, ...]] = {
    ("therapies", "end_date"): ("I2",),
    ("therapies", "recurrence_date"): (),
}
"""The criteria that read these cells of a metastatic line (the rest of :data:`READ_BY` reads them only to
date an adjuvant or neoadjuvant line's recurrence window): I2 reads the stop reason, which the cut sets to
``ongoing`` with an end date after it, so I2's sentence names that end date (review 23E); I3 does not."""
WORDS: dict[tuple[str, str], str] = {
    ("patients", "live_vaccine_date"): "live vaccine date ",
    ("patients", "brain_metastases_stable_since"): "brain metastases stable since ",
    ("therapies", "end_date"): "end date ",
    ("therapies", "recurrence_date"): "recurrence date ",
    ("therapies", "start_date"): "started ",
}
"""How a patient or therapy cell set aside by the cut is named (lab results are counted instead)."""


def dated_after_cut_clauses(dataset: ScreeningDataset, n_criteria: int) -> pd.Series:
    """Per patient-major cell (the index, increasing) whose criterion reads something dated after
    the data cut, the clause its sentence ends with; empty without a cut or such a cell."""
    dated = dataset.dated_after_cut
    if dated is None or dated.empty or dataset.cut_date is None:
        return pd.Series([], dtype=object)
    rows = screened_rows(dataset, dated["patient_id"], "dated_after_cut")
    labs = (dated["table"] == "labs").to_numpy()
    items = [_lab_items(dated[labs], rows[labs]), _other_items(dated[~labs], rows[~labs])]
    patient_rows = np.concatenate([item[0] for item in items])
    texts = np.concatenate([item[1].to_numpy(dtype=object) for item in items])
    kinds = pd.concat([item[2] for item in items], ignore_index=True)
    metastatic = np.concatenate([np.zeros(len(items[0][0]), dtype=bool),
                                 (dated.loc[~labs, "setting"] == "metastatic").to_numpy(dtype=bool)])
    # Each (patient, item) to every criterion that reads its cell: a loop over the kinds of cell.
    cells, said = [], []
    for (table, column), criteria in READ_BY.items():
        hit = (kinds == f"{table}.{column}").to_numpy()
        for cid in criteria:
            read = hit & (~metastatic | (cid in METASTATIC_READ_BY.get((table, column), (cid,))))
            cells.append(patient_rows[read] * n_criteria + CRITERION_IDS.index(cid))
            said.append(texts[read])
    joined = joined_by_key(np.concatenate(cells), np.concatenate(said), ", ")
    lead = f"; dated after the data cut {dataset.cut_date.isoformat()}, so not read at this cut: "
    return (lead + joined).astype(object)


def screened_rows(dataset: ScreeningDataset, ids: pd.Series, kept_in: str) -> np.ndarray:
    """Each ID's row in the screened ``patients`` table; raises for one not screened (the cut and the
    slices keep only their own patients' rows in ``kept_in``)."""
    rows = pd.Index(dataset.patients["patient_id"].astype(str)).get_indexer(ids.astype(str))
    if (rows < 0).any():
        raise ValueError(f"{kept_in} names a patient who is not screened")
    return rows


def _other_items(dated: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Each patient or therapy cell in words ("live vaccine date 2025-03-20", "line 2 (nivolumab)
    recurrence date 2025-04-01"): its patient row, the words, its ``table.column``."""
    kind = (dated["table"] + "." + dated["column"]).reset_index(drop=True)
    words = kind.map({f"{t}.{c}": w for (t, c), w in WORDS.items()}).fillna("")
    line = dated["line"].astype(object).where(dated["line"].notna(), "without a number").astype(str)
    agents = dated["agents"].astype(object).where(dated["agents"].notna(), "blank agents").astype(str)
    owner = ("line " + line + " (" + agents + ") ").where((dated["table"] == "therapies"), "").reset_index(drop=True)
    # An end date after the cut was read as "ongoing" at the cut (the cut's rule).
    ongoing = pd.Series(np.where(kind == "therapies.end_date", " (ongoing at the cut)", ""))
    return rows.astype(np.int64), owner + words + iso_dates(dated["date"]).reset_index(drop=True) + ongoing, kind


def _lab_items(dated: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Per patient, its lab results collected after the cut, counted: "3 lab results collected
    2025-03-12 to 2025-03-20" (a weekly extract holds many; the sentence names them once)."""
    day = pd.to_datetime(dated["date"]).to_numpy()
    per = pd.DataFrame({"row": rows.astype(np.int64), "day": day}).groupby("row", sort=True)["day"]
    first, last, count = per.min(), per.max(), per.size()
    span = iso_dates(first) + (" to " + iso_dates(last)).where(last != first, "")
    noun = pd.Series(np.where(count == 1, " lab result collected ", " lab results collected "), index=count.index)
    text = (count.astype(str) + noun + span).reset_index(drop=True)
    return count.index.to_numpy(dtype=np.int64), text, pd.Series("labs.collected_date", index=text.index)
