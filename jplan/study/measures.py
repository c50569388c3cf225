"""The measures a study reports, defined once: tolerances, "iterations to a tolerance", robust medians.

Shared by the collection stage (`tables`: the per-run columns) and the summary stage (`summary`: the
per-job numbers), so that `runs.parquet` and `summary.json` can never disagree on what a number means.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TOLERANCES", "EARLY", "FEASIBLE_TOL", "tolerance_label", "iterations_to", "quantiles", "median"]

#: Gaps at which a run's progress is reported (`it→tol`, `floats→tol`).
TOLERANCES = (1e-2, 1e-4, 1e-6)
#: Iterations k at which the gap is reported (`gap@k`, Lustosa's criterion (b)).
EARLY = (5, 10, 50)
#: Largest relative excess demand that still counts as a feasible iterate.
FEASIBLE_TOL = 1e-9


def tolerance_label(tol: float) -> str:
    """How a tolerance is written in summary keys and table columns: 1e-4 -> "1e-4" (not "0.0001")."""
    mantissa, exponent = f"{tol:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def iterations_to(gap: np.ndarray, tol: float) -> np.ndarray:
    """Per run, the first index from which gap ≤ tol holds to the end (NaN where never)."""
    below = gap <= tol
    stays = np.flip(np.logical_and.accumulate(np.flip(below, axis=1), axis=1), axis=1)
    reached = stays.any(axis=1)
    first = np.argmax(stays, axis=1).astype(float)
    return np.where(reached, first, np.nan)


def welfare_drops(welfare: np.ndarray) -> np.ndarray:
    """[runs, steps]: where welfare fell from one step to the next (beyond rounding). A step between two
    infinite welfares (a start below subsistence, −∞ to −∞) is no drop, and says nothing (no warning)."""
    with np.errstate(invalid="ignore"):
        return np.diff(welfare, axis=1) < -1e-12 * np.maximum(1.0, np.abs(welfare[:, 1:]))


def quantiles(x: np.ndarray, qs=(0.1, 0.25, 0.5, 0.75, 0.9)) -> dict:
    """{"q10": …, "q90": …} over the finite entries (None where there are none)."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {f"q{int(q * 100):02d}": None for q in qs}
    return {f"q{int(q * 100):02d}": float(np.quantile(x, q)) for q in qs}


def median(x) -> float | None:
    """The median of the finite entries (None where there are none)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None
