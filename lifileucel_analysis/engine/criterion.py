"""What a criterion is: one small vectorized function with its metadata, defined in one place.

In the style of a pandera check, the :func:`criterion` decorator puts the function and
everything said about it together::

    @criterion("E6", record="Chronic systemic steroid therapy of > 10 mg/day",
               label="Steroids > {max_steroid_mg_per_day} mg/day",
               reads="patients.steroid_mg_per_day", limits="max_steroid_mg_per_day")
    def e6_steroids(f: Facts, p: CriteriaParams) -> Part: ...

The label is a template filled from the criteria parameters, so a changed limit changes
every heading that shows it. :mod:`lifileucel_analysis.engine.catalog` collects the
registered criteria in protocol order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .evidence import Part, format_scalar
from .facts import Facts
from .parameters import CriteriaParams

Evaluate = Callable[[Facts, CriteriaParams], Part]
Kind = Literal["inclusion", "exclusion"]


@dataclass(frozen=True)
class Criterion:
    """One criterion of the program.

    Attributes
    ----------
    id : str
        ``I1`` .. ``I8``, ``E1`` .. ``E11``.
    kind : {"inclusion", "exclusion"}
    record_text : str
        The bullet of the registry record, verbatim.
    label_template : str
        A short name for tables and figures; ``{key}`` fields name criteria parameters.
    reads : tuple of str
        The ``table.column`` fields the criterion reads.
    limits : tuple of str
        The criteria parameters (keys of the criteria file) it applies.
    evaluate : callable
        ``(facts, params) -> Part``, vectorized over all patients.
    """

    id: str
    kind: Kind
    record_text: str
    label_template: str
    reads: tuple[str, ...]
    limits: tuple[str, ...]
    evaluate: Evaluate

    def label(self, params: CriteriaParams) -> str:
        """The short name with the limits of ``params`` filled in."""
        values = params.as_dict()
        return self.label_template.format(**{key: format_scalar(values[key]) for key in self.limits})


REGISTRY: dict[str, Criterion] = {}
"""Every criterion defined so far, by ID (filled as the criteria modules are imported)."""


def criterion(cid: str, *, record: str, label: str, reads: str, limits: str = "") -> Callable[[Evaluate], Evaluate]:
    """Register the decorated function as criterion ``cid``; the function itself is unchanged.

    Parameters
    ----------
    cid : str
        The criterion ID; ``I..`` is an inclusion, ``E..`` an exclusion criterion.
    record : str
        The record's bullet, verbatim.
    label : str
        The label template (``{key}`` = a criteria parameter listed in ``limits``).
    reads : str
        The ``table.column`` fields it reads, separated by spaces.
    limits : str
        The criteria parameters it applies, separated by spaces.
    """

    def register(evaluate: Evaluate) -> Evaluate:
        if cid in REGISTRY:
            raise ValueError(f"criterion {cid} is defined twice")
        kind: Kind = "inclusion" if cid.startswith("I") else "exclusion"
        REGISTRY[cid] = Criterion(cid, kind, record, label, tuple(reads.split()), tuple(limits.split()), evaluate)
        return evaluate

    return register
