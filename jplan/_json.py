"""Numbers for JSON output: floats (or nested lists of them) with NaN and infinities as null."""

from __future__ import annotations

import math

import numpy as np


def number(x) -> float | None:
    """A scalar as a float, or None when it is not finite (JSON has no NaN)."""
    v = float(x)
    return v if math.isfinite(v) else None


def numbers(x):
    """An array of any rank as nested lists of `number`s (a 0-d array gives a single `number`)."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        return number(arr)
    return [numbers(row) for row in arr]
