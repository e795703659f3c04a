"""I2 decided exactly: over every reading of the uncertain therapy lines, at once.

A line is uncertain when its setting is blank (read as metastatic or adjuvant), its agents
are unclassified or blank (read as containing an anti-PD-(L)1 agent or not, and a BRAF
inhibitor or not, independently: one unknown name may be a fixed-dose combination), its
adjuvant recurrence date is blank after a recorded end date (read as inside or outside
the window, unless the day of screening lies inside it: :func:`.facts.recurrence_by_screening`),
or its stop reason / best response is blank (read as showing progression or not). I2 is
``pass`` when every combination of readings passes, ``fail`` when none does, else
``unknown`` (spec section 2).

Every line is crossed with the 16 readings of its four facts as a lines x 16 mask, in which
a recorded fact allows only its own value and a blank one both, and the mask is reduced per
line to a handful of "can / must" flags (a line without blanks allows one reading). Because
different lines' blanks are independent, whether *some* reading passes is then decided by
trying each line as the most recent counted one (lines after it must be able not to count;
the count interval and an anti-PD-(L)1 line below it must fit), and whether some reading
fails part by part. No loop over patients or lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .facts import Facts
from .nullable import is_yes, yes_or_blank
from .parameters import CriteriaParams

BITS = np.arange(16)
MET, PD1, WIN, PROG = (BITS >> 0) & 1 == 1, (BITS >> 1) & 1 == 1, (BITS >> 2) & 1 == 1, (BITS >> 3) & 1 == 1


def _allowed(tri: pd.Series, bit: np.ndarray) -> np.ndarray:
    """lines x 16: whether each reading's ``bit`` agrees with a tri-state fact (NA allows both)."""
    known = tri.notna().to_numpy()
    value = is_yes(tri).to_numpy(dtype=bool)
    return ~known[:, None] | (value[:, None] == bit[None, :])


@dataclass(frozen=True)
class LineFlags:
    """Per therapy line (in ``f.lines`` order): what some / every reading of it allows."""

    can_count: np.ndarray
    must_count: np.ndarray
    can_latest_ok: np.ndarray
    """Some reading counts and shows progression (or is a counted adjuvant line)."""
    can_latest_ok_pd1: np.ndarray
    can_latest_bad: np.ndarray
    """Some reading counts without progression."""
    can_count_pd1: np.ndarray
    can_not_count_pd1: np.ndarray


def line_flags(f: Facts) -> LineFlags:
    """Reduce the readings of every line to its can/must flags."""
    lines = f.lines
    setting = lines["setting"]
    metastatic = pd.Series(pd.NA, index=lines.index, dtype="boolean")
    metastatic[setting.notna().to_numpy()] = (setting == "metastatic")[setting.notna()].to_numpy()
    ok = (_allowed(metastatic, MET) & _allowed(lines["pd1"], PD1) & _allowed(lines["recurrence_in_window"], WIN)
          & _allowed(lines["shows_progression"], PROG))
    counted = MET | (PD1 & WIN)
    shows = counted & (~MET | PROG)

    def some(mask: np.ndarray) -> np.ndarray:
        return (ok & mask[None, :]).any(axis=1)

    return LineFlags(can_count=some(counted), must_count=~some(~counted), can_latest_ok=some(shows),
                     can_latest_ok_pd1=some(shows & PD1), can_latest_bad=some(counted & ~shows),
                     can_count_pd1=some(counted & PD1), can_not_count_pd1=some(~(counted & PD1)))


@dataclass(frozen=True)
class LineOrder:
    """Lines sorted by patient and line number, and which must come after which.

    A line with a blank number may be the most recent or not: no line is forced after it,
    and it is never forced after another (it can be read as below any line). Lines of one
    patient that share a number (a run) are in no recorded order among themselves: neither
    is forced after the other, so each may be read as the later one.
    """

    pos: np.ndarray
    patient_start: np.ndarray
    """Per sorted line, the patient's first sorted line."""
    patient_end: np.ndarray
    """Per sorted line, one past the patient's last sorted line."""
    run_end: np.ndarray
    """Per sorted line, one past the last sorted line with the same number (itself, or the blank-numbered run)."""
    blank: np.ndarray

    def runs(self) -> np.ndarray:
        """Per sorted line, its run: the lines of its patient with its number (or without one)."""
        return np.cumsum(np.r_[True, self.run_end[1:] != self.run_end[:-1]]) - 1 if len(self.run_end) else self.run_end

    def shared(self) -> np.ndarray:
        """Per sorted line, how many lines of its patient share its number (0 for a blank number)."""
        run = self.runs()
        return np.where(self.blank, 0, np.bincount(run)[run] if len(run) else run)

    def _after(self, total: np.ndarray) -> np.ndarray:
        return np.where(self.blank, 0, total[self.patient_end - 1] - total[self.run_end - 1])

    def after(self, values: np.ndarray) -> np.ndarray:
        """Per sorted line, the sum of ``values`` over the lines that must come after it."""
        return self._after(np.cumsum(values.astype(np.int64)))

    def below(self, values: np.ndarray) -> np.ndarray:
        """Per sorted line, the sum of ``values`` over the lines that may come before it."""
        total = np.cumsum(values.astype(np.int64))
        patient_total = total[self.patient_end - 1] - np.concatenate([[0], total])[self.patient_start]
        return patient_total - values - self._after(total)


def line_order(f: Facts) -> tuple[np.ndarray, LineOrder]:
    """The sort of ``f.lines`` by patient and line number (blank numbers first) and its :class:`LineOrder`."""
    number = f.lines["line"].to_numpy(dtype=np.int64, na_value=0)
    order = np.lexsort((number, f.lines["pos"].to_numpy()))
    pos, number = f.lines["pos"].to_numpy()[order], number[order]
    last = np.ones(len(order), dtype=bool)  # the last sorted line of each run of one patient and number
    last[:-1] = (pos[1:] != pos[:-1]) | (number[1:] != number[:-1])
    ends = np.flatnonzero(last) + 1
    run_end = ends[np.searchsorted(ends, np.arange(len(order)), side="right")]
    return order, LineOrder(pos, np.searchsorted(pos, pos, side="left"), np.searchsorted(pos, pos, side="right"),
                            run_end, number == 0)


def may_be_latest(maybe: np.ndarray, must: np.ndarray, ordered: tuple[np.ndarray, LineOrder]) -> np.ndarray:
    """Per line (``f.lines`` order): it may be the most recent counted line, since it may count and
    no line forced after it counts in every reading (``maybe``, ``must``: per line, whether some /
    every reading counts it; ``ordered``: :func:`line_order`'s result)."""
    order, ranks = ordered
    latest = np.zeros(len(maybe), dtype=bool)
    latest[order] = maybe[order] & (ranks.after(must[order]) == 0)
    return latest


def lines_that_may_decide(f: Facts, p: CriteriaParams, must: np.ndarray, maybe: np.ndarray, latest: np.ndarray,
                          order_open: np.ndarray) -> np.ndarray:
    """Per line (``f.lines`` order): its blank fields may change I2, so an unknown I2 asks for them.

    A line may decide I2 where it may be the most recent counted line (``latest``), where which line came
    later is open (``order_open``), where whether it counts is open while the count may leave the
    limits, or where whether it counts or has an anti-PD-(L)1 agent is open while no line surely
    counted has one. Any other line's blanks change nothing in any reading: an earlier dacarbazine
    line of blank setting below a metastatic nivolumab line whose progression is open (audit 42W: the
    worklist asked for its setting; the count was 1 to 2, within 1-4 either way).

    Parameters
    ----------
    f, p : Facts, CriteriaParams
        The screening's facts and limits.
    must, maybe : numpy.ndarray
        Per line, whether every / some reading counts it.
    latest : numpy.ndarray
        Per line, whether it may be the most recent counted line (:func:`may_be_latest`).
    order_open : numpy.ndarray
        Per line, whether its blank or shared line number leaves the order open.

    Returns
    -------
    numpy.ndarray
        Per line, whether its blanks may change I2 (``tests/test_i2_asks_suffice.py``: they suffice).
    """
    pos = f.lines["pos"].to_numpy()
    count_open = f.lines["counted"].isna().to_numpy()
    pd1 = f.lines["pd1"]
    # Also "no counted line at all" fails with a lower limit of 0 (i2_readings' too_few route).
    limits_open = ((f.count(must) < max(p.min_prior_lines, 1)) | (f.count(maybe) > p.max_prior_lines))[pos]
    pd1_settled = (f.count(must & is_yes(pd1).to_numpy(dtype=bool)) > 0)[pos]
    pd1_open = ~pd1_settled & maybe & yes_or_blank(pd1).to_numpy(dtype=bool) & (count_open | pd1.isna().to_numpy())
    return latest | order_open | (limits_open & count_open) | pd1_open


@dataclass(frozen=True)
class SharedNumbers:
    """Per therapy line (``f.lines`` order): lines of one patient that share a line number."""

    shared: np.ndarray
    """Its number is recorded on another line of the patient too."""
    top: np.ndarray
    """It may count and shares the number with another line that may, one of them counts in
    every reading, and no line with a higher number may count: the most recent counted line
    is one of them."""
    top_ok: np.ndarray
    """Of ``top``, a line that shows progression (or is a counted adjuvant line) in some reading."""
    open: np.ndarray
    """Two or more of its number may count, no higher-numbered line must, and one of them may
    show progression as the latest while one may not: which came later decides."""


def shared_numbers(maybe: np.ndarray, must: np.ndarray, ordered: tuple[np.ndarray, LineOrder],
                   flags: LineFlags) -> SharedNumbers:
    """Which lines share a number, and where that leaves the most recent counted line open.

    ``maybe`` and ``must``: per line, whether some / every reading counts it; ``ordered``:
    :func:`line_order`'s result; ``flags``: :func:`line_flags`'s.
    """
    order, ranks = ordered
    shared, top, top_ok, open_ = (np.zeros(len(order), dtype=bool) for _ in range(4))
    sorted_shared = ranks.shared() > 1
    if not sorted_shared.any():  # the usual case: every line number is its own
        return SharedNumbers(shared, top, top_ok, open_)
    run = ranks.runs()

    def in_run(values: np.ndarray) -> np.ndarray:
        return np.bincount(run, weights=values.astype(np.int64))[run]

    may = maybe[order] & sorted_shared
    highest = may & (in_run(may) >= 2) & may_be_latest(maybe, must, (order, ranks))[order]
    disagree = (in_run(flags.can_latest_ok[order] & may) > 0) & (in_run(flags.can_latest_bad[order] & may) > 0)
    # The most recent counted line surely among them: one counts in every reading, and no higher number may.
    surely_latest = (in_run(sorted_shared & must[order]) > 0) & (ranks.after(maybe[order]) == 0)
    shared[order[sorted_shared]] = True
    top[order[highest & surely_latest]] = True
    top_ok[order[highest & surely_latest & flags.can_latest_ok[order]]] = True
    open_[order[highest & disagree]] = True
    return SharedNumbers(shared, top, top_ok, open_)


@dataclass(frozen=True)
class Readings:
    """Per patient: whether some reading passes I2, and whether some reading fails it."""

    some_pass: np.ndarray
    some_fail: np.ndarray
    fail_routes: dict[str, np.ndarray]
    """Per way a reading can fail (``too_few``, ``too_many``, ``no_pd1``, ``latest_bad``, ``braf``), whether
    some reading fails that way. Where no reading passes, every reading fails in at least one of the
    ways marked: what the evidence names (:func:`.prior_line_readings.failing_ways`)."""




def i2_readings(f: Facts, p: CriteriaParams, ordered: tuple[np.ndarray, LineOrder], flags: LineFlags) -> Readings:
    """Decide, per patient, whether some / every reading of the lines passes I2 (``ordered``:
    :func:`line_order`'s result; ``flags``: :func:`line_flags`'s)."""
    order, ranks = ordered
    pos = ranks.pos
    g = {name: getattr(flags, name)[order] for name in LineFlags.__dataclass_fields__}
    lo, hi = p.min_prior_lines, p.max_prior_lines
    must_below, can_below = ranks.below(g["must_count"]), ranks.below(g["can_count"])
    pd1_must_below = ranks.below(g["must_count"] & g["can_count_pd1"]) > 0
    pd1_any_below = ranks.below(g["can_count_pd1"]) > 0
    after_free = ranks.after(g["must_count"]) == 0

    def fits(low: np.ndarray, high: np.ndarray) -> np.ndarray:
        return np.maximum(low, lo) <= np.minimum(high, hi)

    as_latest = g["can_latest_ok"] & after_free & (
        ((g["can_latest_ok_pd1"] | pd1_must_below) & fits(1 + must_below, 1 + can_below))
        | (pd1_any_below & fits(2 + must_below, 1 + can_below)))
    per_patient = np.bincount(pos, weights=as_latest, minlength=f.n) > 0
    braf_pass, braf_fail = _braf(f, p)
    count = {name: np.bincount(pos, weights=g[name], minlength=f.n) for name in ("must_count", "can_count")}
    lines_n = np.bincount(pos, minlength=f.n)
    routes = {
        "too_few": (count["must_count"] < lo) | (count["must_count"] == 0),  # no counted line: too few, or none
        "too_many": count["can_count"] > hi,
        "no_pd1": np.bincount(pos, weights=g["can_not_count_pd1"], minlength=f.n) == lines_n,
        "latest_bad": np.bincount(pos, weights=g["can_latest_bad"] & after_free, minlength=f.n) > 0,
        "braf": braf_fail,
    }
    some_fail = np.logical_or.reduce(list(routes.values()))
    return Readings(some_pass=per_patient & braf_pass, some_fail=some_fail, fail_routes=routes)


def braf_lines(f: Facts) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: (a line surely has a BRAF inhibitor, a line may have one: its agents unclassified).

    Any line counts for the BRAF part, whatever its setting; both I2's decision (:func:`_braf`)
    and its sentence (:func:`.prior_line_evidence.braf_part`) read these.
    """
    braf = f.lines["braf"]
    surely_had = f.count(is_yes(braf).to_numpy(dtype=bool)) > 0
    return surely_had, f.count(yes_or_blank(braf).to_numpy(dtype=bool)) > 0


def _braf(f: Facts, p: CriteriaParams) -> tuple[np.ndarray, np.ndarray]:
    """The optional BRAF part: (some reading passes, some reading fails)."""
    if not p.require_braf_inhibitor_if_v600:
        return np.ones(f.n, dtype=bool), np.zeros(f.n, dtype=bool)
    must, can = braf_lines(f)
    v600 = f.patients["braf_v600"]
    return (v600 != "mutant").to_numpy() | can, (v600 != "wildtype").to_numpy() & ~must
