"""Synthetic screening cohorts: a seeded, vectorized generator and the bundled datasets.

:func:`generate_cohort` draws a whole screening dataset (the five tables of the data
contract) from ``numpy.random.default_rng(seed)``. Every quantity is drawn for all
patients (or all event rows) at once; event tables are laid out with ``np.repeat`` and
segmented cumulative sums, so a million patients take seconds, not minutes. The same
seed always gives the same frames, and therefore the same bytes once written by
:func:`lifileucel_analysis.contract.writing.write_tables`.

The distributions, and the source or assumption behind each, are tabulated in
``docs/synthetic-data.md``. They are realistic in shape but deliberately over-represent
rare exclusions (pregnancy, primary immunodeficiency, prior TIL, ...) so that every
criterion fails for some patients and is unknown for others in the 400-patient demo
cohort. The data are synthetic: no row describes a real person.

Modules, in the order a cohort is drawn (the order of the random draws is part of the
bundled cohorts' bytes: never reorder them):

- :mod:`.distributions`: the model, every probability and range;
- :mod:`.sampling`: the vectorized draws and the raw blank markers;
- :mod:`.patients`, :mod:`.therapies`, :mod:`.labs`, :mod:`.toxicities`,
  :mod:`.overrides`: one table each, as raw arrays;
- :mod:`.frames`: raw arrays to typed frames;
- :mod:`.cohorts`: :func:`generate_cohort`, :func:`write_cohort`, :func:`regenerate_bundled`;
- :mod:`.chunked`: :func:`write_cohort_chunked`, large cohorts chunk by chunk in bounded memory.

Only the data contract (and :mod:`lifileucel_analysis.paths`) is imported: synthesis
needs no engine, report or runner.
"""

from __future__ import annotations

from .cohorts import (
    DEFAULT_AS_OF,
    DEMO_N,
    DEMO_SEED,
    FIXTURE_N,
    FIXTURE_SEED,
    PROGRAM_START,
    Format,
    generate_cohort,
    regenerate_bundled,
    write_cohort,
)
from .chunked import CHUNK_PATIENTS, write_cohort_chunked

__all__ = [
    "DEFAULT_AS_OF", "DEMO_N", "DEMO_SEED", "FIXTURE_N", "FIXTURE_SEED", "PROGRAM_START", "Format",
    "generate_cohort", "regenerate_bundled", "write_cohort", "CHUNK_PATIENTS", "write_cohort_chunked",
]
