"""Raw arrays to typed frames whose dtypes are exactly the data contract's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract.schema import TABLES, dtype_for
from .overrides import APPROVER_VOCAB, REASON_VOCAB
from .sampling import BLANK, Raw
from .therapies import AGENT_VOCAB
from .toxicities import TERM_VOCAB

STR = pd.StringDtype(na_value=np.nan)
"""The contract's text dtype (missing values are NaN, as when read from CSV)."""


TEXT_VOCAB: dict[tuple[str, str], list[str]] = {
    ("therapies", "agents"): AGENT_VOCAB,
    ("toxicities", "term"): TERM_VOCAB,
    ("overrides", "approved_by"): APPROVER_VOCAB,
    ("overrides", "reason"): REASON_VOCAB,
}


def patient_ids(n: int, start: int = 1, width: int | None = None) -> pd.api.extensions.ExtensionArray:
    """``EAP-000001`` ... in consent order (wider when there are a million or more).

    ``start`` and ``width`` number one chunk of a larger cohort (:mod:`.chunked`): IDs
    ``start`` .. ``start + n - 1``, zero-padded to the width of the whole cohort.
    """
    width = width or max(6, len(str(n)))
    if n == 0:  # np.strings.zfill cannot reduce over an empty array
        return pd.array(np.array([], dtype=f"<U{width + 4}"), dtype=STR)
    numbers = np.arange(start, start + n).astype(f"<U{width}")
    return pd.array(np.strings.add("EAP-", np.strings.zfill(numbers, width)), dtype=STR)


def typed(table: str, raw: Raw, ids: pd.api.extensions.ExtensionArray) -> pd.DataFrame:
    """Turn raw arrays into a typed frame whose dtypes are exactly :func:`schema.dtype_for`'s."""
    spec = TABLES[table]
    columns = {}
    for column in spec.columns:
        if column.name == "patient_id":
            pos = raw.get("pos")
            values: object = ids if pos is None else ids.take(pos)
        else:
            values = _typed_column(table, column.name, column.kind, column.codes, raw[column.name])
        columns[column.name] = pd.Series(values, dtype=dtype_for(column), copy=False)
    length = len(ids) if "pos" not in raw else len(raw["pos"])
    frame = pd.DataFrame(columns, index=pd.RangeIndex(length))
    return frame


def _typed_column(table: str, name: str, kind: str, codes: tuple[str, ...], values: object) -> object:
    """One raw column as the array of its contract kind (text columns index a vocabulary)."""
    array = np.asarray(values)
    if kind == "code":
        return pd.Categorical.from_codes(array.astype(np.int64), dtype=pd.CategoricalDtype(list(codes)))
    if kind == "yesno":
        return pd.arrays.BooleanArray(array == 1, array == BLANK)
    if kind == "int":
        return pd.arrays.IntegerArray(array.astype(np.int64), array == BLANK)
    if kind == "number":
        return array.astype(np.float64)
    if kind == "date":
        return array.astype(np.int64).astype("datetime64[D]").astype("datetime64[s]")
    vocab = pd.array(TEXT_VOCAB[(table, name)], dtype=STR)
    return vocab.take(array.astype(np.int64), allow_fill=True)
