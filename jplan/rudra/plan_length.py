"""The shortest time path (Rudra's frame paper, Appendix 3): with the foreign assistance λ₀ fixed, the smallest plan
length T whose minimal capital-resources gap λ*(T) is at most λ₀.

T enters through the growth coefficients r_j(T) and the targets d(T) (`jplan.economies.rudra.GrowthPath`
documents the assumptions). The search is the appendix's trial and error made systematic: a first trial
T¹, then bisection on whole years (λ* ≤ λ₀ → try shorter, otherwise longer), each trial one exact central
LP. Bisection presumes λ*(T) falls as T grows, which holds under the adopted assumptions when the targets
are fixed (r_j(T) rises with T, so every γ_j falls) but need not when d(T) grows; so the answer is verified
afterwards by evaluating every shorter T at once (vmap), and a non-monotone λ*(T) is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..economies.rudra import GrowthPath, RudraEconomy
from .central import capital_gap

__all__ = ["ShortestTime", "shortest_time", "gap_at_length"]


def gap_at_length(economy: RudraEconomy, path: GrowthPath, T) -> jax.Array:
    """λ*(T): the minimal capital-resources gap when the plan period has length T (jit/vmap-safe)."""
    return capital_gap(path.apply(economy, T))


_gap_at_length = eqx.filter_jit(gap_at_length)
_gaps_at_lengths = eqx.filter_jit(jax.vmap(gap_at_length, in_axes=(None, None, 0)))


@dataclass(frozen=True)
class ShortestTime:
    """Result of `shortest_time`.

    Attributes:
        length: the shortest T with λ*(T) ≤ λ₀ (None when no T in the range qualifies).
        gap: λ*(length) (None when not found).
        trials: the sequence of (T, λ*(T)) tried, in order (NaN: no feasible plan at that T; −inf: the
            central LP is unbounded at that T).
        status: "found", "not_reached" (even T_max needs more than λ₀), "non_monotone" (bisection's
            answer was beaten by a shorter T found in the verification scan; `length` is the true minimum)
            or "unbounded" (at some T tried, the central LP has no finite minimum, e.g. a sector whose
            γ_j(T) < 0 creates capital; the search stops there, `length` is None and the last trial is
            that T: the data, not the search, need mending).
    """

    length: int | None
    gap: float | None
    trials: tuple[tuple[int, float], ...]
    status: str


def shortest_time(
    economy: RudraEconomy,
    path: GrowthPath,
    assistance: float,
    *,
    min_length: int = 1,
    max_length: int = 100,
    first_trial: int | None = None,
) -> ShortestTime:
    """Find the smallest whole plan length T in [min_length, max_length] with λ*(T) ≤ `assistance`.

    Args:
        economy: the economy (its final demand is d at T_ref).
        path: the growth assumptions (`GrowthPath`).
        assistance: λ₀, the foreign assistance available over the plan period.
        min_length: the shortest plan length considered (years).
        max_length: the longest plan length considered (years).
        first_trial: T¹ (default: the path's reference length, clipped to the range).
    """
    if not 1 <= min_length <= max_length:
        raise ValueError("need 1 <= min_length <= max_length")
    trials: list[tuple[int, float]] = []

    def trial(T: int) -> float:
        value = float(_gap_at_length(economy, path, jnp.asarray(T, economy.capital.dtype)))
        trials.append((T, value))
        return value

    class _Unbounded(Exception):
        pass

    def ok(value: float) -> bool:
        if value == -np.inf:
            raise _Unbounded
        return not np.isnan(value) and value <= assistance

    unbounded = lambda: ShortestTime(None, None, tuple(trials), "unbounded")
    T1 = int(round(float(path.reference_length))) if first_trial is None else int(first_trial)
    T1 = min(max(T1, min_length), max_length)
    try:
        if ok(trial(T1)):
            lo, hi = min_length - 1, T1  # λ*(lo) > λ₀ is presumed; λ*(hi) ≤ λ₀
        else:
            if T1 == max_length or not ok(trial(max_length)):
                return ShortestTime(None, None, tuple(trials), "not_reached")
            lo, hi = T1, max_length
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(trial(mid)):
                hi = mid
            else:
                lo = mid
    except _Unbounded:
        return unbounded()
    status, gap = "found", dict(trials)[hi]  # every bisection end point was a trial
    if hi > min_length:
        lengths = np.arange(min_length, hi)
        shorter = np.asarray(_gaps_at_lengths(economy, path, jnp.asarray(lengths, economy.capital.dtype)))
        if np.any(shorter == -np.inf):
            trials.append((int(lengths[np.argmax(shorter == -np.inf)]), -np.inf))
            return unbounded()
        good = np.flatnonzero(~np.isnan(shorter) & (shorter <= assistance))
        if good.size:
            hi, gap, status = min_length + int(good[0]), float(shorter[good[0]]), "non_monotone"
    return ShortestTime(hi, gap, tuple(trials), status)
