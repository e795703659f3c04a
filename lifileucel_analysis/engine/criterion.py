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
from typing import Any, Literal

from ..contract.messages import noun_for
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
    rule_template : str
        The rule with every limit it applies (SDTM ``TIRL``), where the label leaves some out;
        ``""``: the label says it all.
    """

    id: str
    kind: Kind
    record_text: str
    label_template: str
    reads: tuple[str, ...]
    limits: tuple[str, ...]
    evaluate: Evaluate
    rule_template: str = ""

    def label(self, params: CriteriaParams) -> str:
        """The short name with the limits of ``params`` filled in."""
        return self._filled(self.label_template, params)

    def rule(self, params: CriteriaParams) -> str:
        """The rule with every limit of ``params`` it applies (the label where that says them all)."""
        return self._filled(self.rule_template or self.label_template, params)

    def _filled(self, template: str, params: CriteriaParams) -> str:
        values = params.as_dict()
        return template.format(**{key: _limit_text(key, values[key]) for key in self.limits})


def _limit_text(key: str, value: Any) -> str:
    """A limit as a label says it; a day or month limit with its unit in the right number ("1 day", "28 days")."""
    for suffix, unit in (("_days", "day"), ("_months", "month")):
        if key.endswith(suffix):
            return f"{format_scalar(value)} {noun_for(float(value), unit)}"
    return format_scalar(value)


REGISTRY: dict[str, Criterion] = {}
"""Every criterion defined so far, by ID (filled as the criteria modules are imported)."""


def criterion(cid: str, *, record: str, label: str, reads: str, limits: str = "",
              rule: str = "") -> Callable[[Evaluate], Evaluate]:
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
    rule : str
        The rule with every limit (``{key}`` fields as in the label), where the label leaves
        some out (SDTM TI's ``TIRL``: two versions that differ in a limit differ there).
    """

    def register(evaluate: Evaluate) -> Evaluate:
        if cid in REGISTRY:
            raise ValueError(f"criterion {cid} is defined twice")
        kind: Kind = "inclusion" if cid.startswith("I") else "exclusion"
        REGISTRY[cid] = Criterion(cid, kind, record, label, tuple(reads.split()), tuple(limits.split()), evaluate,
                                  rule)
        return evaluate

    return register
