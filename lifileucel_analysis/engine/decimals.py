"""Decimal numbers held in doubles: comparisons exact in decimal terms, values shown as typed.

The contract's numbers are decimals (``99.9``, ``33.3``, ``1.4999``) and the engine holds
them in binary doubles, which cannot hold most decimals exactly. Two helpers keep the
decimal meaning: :func:`on_decimal_grid` puts a computed value (a converted unit, a ratio
to the ULN) back on the nearest decimal of 14-15 significant digits before it is compared
with a limit, and :func:`decimal_text` shows a value with every digit it was typed with,
so an evidence sentence never reads against its outcome ("1.4999 < 1.5", not "1.5 < 1.5").
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
    """Each value rounded to 14-15 significant digits, as the nearest double of that decimal.

    Binary floating point cannot hold 33.3 or 1/17.1 exactly: 99.9 / 33.3 gives
    3.0000000000000004 and 34.2 / 17.1 gives 2.0000000000000004. Both are 3 and 2 in
    decimal, and rounded here they are exactly the double of the limit. A result that
    differs from a limit within its first 14 significant digits (every result a laboratory
    reports) stays on its side of it, so comparisons are exact in decimal terms (spec
    section 2), and a typed decimal of up to 14 digits comes back unchanged. Blanks,
    zeros, infinities and values beyond 1e14 are returned as they are.
    """
    values = np.asarray(values, dtype=float)
    out = values.copy()
    with np.errstate(invalid="ignore"):
        at = np.flatnonzero(np.isfinite(values) & (values != 0) & (np.abs(values) < _LARGE))
    v = values[at]
    # frexp's binary exponent gives the decimal magnitude or one more (cheaper than log10 on
    # millions of results): 15 significant digits are kept, or 14.
    magnitude = np.floor(np.frexp(v)[1] * _LOG10_2).astype(np.int64)
    scale = _POWERS_OF_TEN[np.clip(SIGNIFICANT_DIGITS - 1 - magnitude, 0, 22)]
    # An integer count of the last kept digit divided by an exact power of ten: one rounding,
    # to the double nearest the decimal.
    out[at] = np.rint(v * scale) / scale
    return out


def decimal_text(values: np.ndarray) -> pa.Array:
    """Each number in its shortest decimal form (``1.4999``, ``1500``, ``0.3`` for 0.1 + 0.2); blanks null.

    The value is first put on the decimal grid, so a computed value shows no binary
    residue, and a typed one shows exactly the digits it was typed with.
    """
    return pa.array(on_decimal_grid(values), from_pandas=True).cast(pa.string())
