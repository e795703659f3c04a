"""The public entry points: draw a cohort, write it, regenerate the bundled cohorts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..paths import DEMO_DATASET, FIXTURE_DATASET
from .distributions import SITE_ACTIVATION
from .frames import patient_ids, typed
from .labs import draw_labs
from .overrides import draw_overrides
from .patients import draw_patients
from .sampling import day_number
from .therapies import alternative_therapy, draw_therapies, plan_therapies
from .toxicities import draw_toxicities

DEMO_SEED = 20220601
"""Seed of the bundled demo cohort (the record was first posted on 1 June 2022)."""
DEMO_N = 400
"""Patients in the bundled demo cohort."""
FIXTURE_SEED = 144
"""Seed of the bundled fixture cohort (LN-144 is lifileucel's development code)."""
FIXTURE_N = 40
"""Patients in the bundled fixture cohort."""
DEFAULT_AS_OF = "2026-10-31"
"""Data cut-off: no consent, therapy, lab or approval is dated after it."""
PROGRAM_START = "2022-06-01"
"""First posting of NCT05398640; no site was activated before it."""

Format = Literal["csv", "xlsx", "parquet"]


def generate_cohort(n_patients: int, seed: int, *, as_of: str = DEFAULT_AS_OF, first_id: int = 1,
                    id_width: int | None = None) -> dict[str, pd.DataFrame]:
    """Draw a synthetic screening dataset.

    Parameters
    ----------
    n_patients : int
        Number of screened patients (0 or more).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same frames.
    as_of : str, default "2026-10-31"
        ISO data cut-off: consents are spread from the sites' activation (mid-2022) to
        this day, and no event is dated after it (planned NMA-LD dates may be).
    first_id, id_width : int
        Number and zero-padded width of the first patient ID (one chunk of a larger
        cohort, :mod:`.chunked`); by default ``EAP-000001`` onwards, as wide as needed.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``patients``, ``therapies``, ``labs``, ``toxicities``, ``overrides``: typed frames
        with exactly the contract's columns and dtypes (:func:`schema.dtype_for`).

    Raises
    ------
    ValueError
        If ``n_patients`` is negative or ``as_of`` is before the sites opened.
    """
    if n_patients < 0:
        raise ValueError(f"n_patients must be >= 0, got {n_patients}")
    as_of_day = day_number(as_of)
    if as_of_day < day_number(max(SITE_ACTIVATION.values())):
        raise ValueError(f"as_of {as_of} is before the last site opened ({max(SITE_ACTIVATION.values())})")
    rng = np.random.default_rng(seed)
    patients = draw_patients(rng, n_patients, as_of_day)
    plan = plan_therapies(rng, patients)
    therapies = draw_therapies(rng, patients, plan)
    patients["alternative_therapy_available"] = alternative_therapy(rng, patients, plan)
    labs, hemoglobin_low = draw_labs(rng, patients, as_of_day)
    toxicities = draw_toxicities(rng, plan["n_lines"])
    overrides = draw_overrides(rng, patients, plan, hemoglobin_low, as_of_day)
    ids = patient_ids(n_patients, first_id, id_width)
    raw = {"patients": patients, "therapies": therapies, "labs": labs, "toxicities": toxicities,
           "overrides": overrides}
    return {name: typed(name, table, ids) for name, table in raw.items()}


def write_cohort(n_patients: int, seed: int, out: Path | str, fmt: Format = "csv", *,
                 as_of: str = DEFAULT_AS_OF) -> list[Path]:
    """Generate a cohort and write it with :func:`lifileucel_analysis.contract.writing.write_tables`.

    Parameters
    ----------
    n_patients, seed, as_of
        As for :func:`generate_cohort`.
    out : path
        Output folder (csv, parquet) or workbook path (xlsx).
    fmt : {"csv", "xlsx", "parquet"}

    Returns
    -------
    list of Path
        The files written.
    """
    from ..contract.writing import write_tables

    return write_tables(generate_cohort(n_patients, seed, as_of=as_of), Path(out), fmt)


def regenerate_bundled() -> list[Path]:
    """Rewrite the bundled demo and fixture cohorts (CSV) from their fixed seeds.

    Returns
    -------
    list of Path
        The files written, demo first.
    """
    return (write_cohort(DEMO_N, DEMO_SEED, DEMO_DATASET, "csv")
            + write_cohort(FIXTURE_N, FIXTURE_SEED, FIXTURE_DATASET, "csv"))
