"""Decimal numbers held in doubles: comparisons exact in decimal terms, values shown as typed.

The contract's numbers are decimals (``99.9``, ``33.3``, ``1.4999``) and the engine holds
them in binary doubles, which cannot hold most decimals exactly. Two helpers keep the
decimal meaning: :func:`on_decimal_grid` puts a computed value (a converted unit, a ratio
to the ULN) back on the nearest decimal of 15 significant digits before it is compared
with a limit, and :func:`decimal_text` shows a value with every digit it was typed with,
so an evidence sentence never reads against its outcome ("1.4999 < 1.5", not "1.5 < 1.5").

Numbers are read into 64-bit doubles, which hold every decimal of up to 15 significant
digits exactly. A value typed with more digits that its nearest double would put on a
limit (1.4999999999999999 against 1.5) is read as the neighbouring double on its side
(:func:`..contract.cell_parsing._off_a_short_decimal`, docs/criteria.md).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

SIGNIFICANT_DIGITS = 15
"""Decimal digits a double holds exactly (every decimal of up to 15 digits survives the round trip)."""
_POWERS_OF_TEN = np.array([float(f"1e{k}") for k in range(23)])  # exact doubles up to 1e22
_LOG10_2 = float(np.log10(2.0))
_LARGE = 1e14  # from here on a double has no room for decimals to put right


def on_decimal_grid(values: np.ndarray) -> np.ndarray:
    """Each value rounded to 15 significant digits, as the nearest double of that decimal.

    Binary floating point cannot hold 33.3 or 1/17.1 exactly: 99.9 / 33.3 gives
    3.0000000000000004 and 34.2 / 17.1 gives 2.0000000000000004. Both are 3 and 2 in
    decimal, and rounded here they are exactly the double of the limit. A typed decimal of
    up to 15 digits comes back unchanged, and so does any product of it with a power of ten
    (a unit conversion such as /uL to x10^9/L). A quotient that is not a finite decimal
    (a ratio to a ULN of 33.3, a bilirubin in umol/L) can still differ from a limit beyond
    its 15th digit: :func:`.lab_canonical_values.canonical_bounds` puts those on the right side of
    each limit by comparing the typed value with the limit in the row's own terms. Blanks,
    zeros, infinities and values beyond 1e14 are returned as they are.
    """
    values = np.asarray(values, dtype=float)
    out = values.copy()
    with np.errstate(invalid="ignore"):
        at = np.flatnonzero(np.isfinite(values) & (values != 0) & (np.abs(values) < _LARGE))
    v = values[at]
    # frexp's binary exponent gives the decimal magnitude or one more (cheaper than log10 on
    # millions of results); one comparison with the power of ten puts it right, so that
    # exactly 15 significant digits are kept (14 would turn 999.999999999999 into 1000).
    magnitude = np.floor(np.frexp(v)[1] * _LOG10_2).astype(np.int64)
    magnitude -= np.abs(v) < _power_of_ten(magnitude)
    scale = _POWERS_OF_TEN[np.clip(SIGNIFICANT_DIGITS - 1 - magnitude, 0, 22)]
    # An integer count of the last kept digit divided by an exact power of ten: one rounding,
    # to the double nearest the decimal.
    out[at] = np.rint(v * scale) / scale
    return out


def shown_beside_limits(values: np.ndarray, limits: tuple[float, ...], fewest: int = 3) -> np.ndarray:
    """Each computed value rounded to the fewest significant digits (at least ``fewest``) that
    keep it on its side of every limit, for evidence: 42 umol/L is 2.46 mg/dL, but 34.20001
    umol/L is 2.000001 mg/dL, not "2", since it fails "<= 2" (a sentence must not read
    against its outcome). Blanks stay blank.
    """
    values = np.asarray(values, dtype=float)
    out = values.copy()
    todo = np.isfinite(values) & (values != 0)
    if not todo.any():
        return out
    magnitude = np.floor(np.log10(np.abs(np.where(todo, values, 1.0))))
    for digits in range(fewest, SIGNIFICANT_DIGITS + 1):
        scale = 10.0 ** (digits - 1 - magnitude)
        rounded = np.rint(values * scale) / scale
        same_side = np.logical_and.reduce([np.sign(rounded - limit) == np.sign(values - limit) for limit in limits]) \
            if limits else np.ones(len(values), dtype=bool)
        take = todo & same_side
        out[take] = on_decimal_grid(rounded[take])
        todo &= ~same_side
        if not todo.any():
            break
    return out


def _power_of_ten(exponent: np.ndarray) -> np.ndarray:
    """10.0 ** exponent, from exact doubles for exponents 0 to 22 (their reciprocals below 0)."""
    e = np.clip(exponent, -22, 22)
    return np.where(e >= 0, _POWERS_OF_TEN[np.abs(e)], 1.0 / _POWERS_OF_TEN[np.abs(e)])


def decimal_text(values: np.ndarray) -> pa.Array:
    """Each number in its shortest decimal form that reads back as the same double; blanks null.

    A typed value of up to 15 significant digits therefore shows the number it was typed as,
    trailing zeros aside (``1.50`` shows as ``1.5``; audit 26A): ``1.4999``, ``1500``,
    ``999.999999999999``, and ``34.20000000000001`` too, which the decimal grid would show as
    34.2 and make read against its outcome. One typed with more digits, which the reader moved
    off a limit, shows the double it was read as (``1.4999999999999998`` for
    ``1.4999999999999999``). A typed ``-0`` shows as ``0`` (audit 36B: "steroid -0 mg/day").
    The engine shows typed values and limits this way; a computed one (an AST/ALT limit in U/L,
    3 x 33.3) only after :func:`on_decimal_grid`, since a computed 0.1 + 0.2 would show its binary
    residue, 0.30000000000000004.
    """
    # Adding 0.0 turns -0.0 into 0.0 (IEEE 754) and leaves every other value, NaN included, as it is.
    return pa.array(np.asarray(values, dtype=float) + 0.0, from_pandas=True).cast(pa.string())
