"""§8's decentralised technology choice over the full frame: the sectors' criterion λ_j and the planning cycles."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ...economies.rudra_full import RudraFullEconomy
from .rounds import CONVERGED, CYCLE_LIMIT, RoundState, central_calculation


# ----------------------------------------------------------------------------- decentralised technology choice


def with_full_column(economy: RudraFullEconomy, j, col) -> RudraFullEconomy:
    """The economy with sector j's new-unit technology replaced by a `jplan.economies.rudra.SectorColumn`
    (the form the sectoral planners' technology sets produce): inputs a_·j, outputs b_·j, savings rate
    v_j and growth r_j as given; `col.capital` is the capital value per unit of activity at base-year
    prices, and the column keeps its commodity composition k_·j (scaled to that value)."""
    e = economy
    base_value = e.capital[:, j] @ e.base_prices
    composition = jnp.where(base_value > 0, e.capital[:, j] / jnp.where(base_value > 0, base_value, 1.0),
                            jnp.ones_like(e.base_prices) / (e.n * e.base_prices))
    return eqx.tree_at(
        lambda x: (x.inputs, x.outputs, x.capital, x.savings_rate, x.growth),
        e,
        (e.inputs.at[:, j].set(col.inputs), e.outputs.at[:, j].set(col.outputs),
         e.capital.at[:, j].set(composition * col.capital), e.savings_rate.at[j].set(col.savings_rate),
         e.growth.at[j].set(col.growth)),
    )


def full_sectoral_criterion(economy: RudraFullEconomy, j, col, start: RoundState | None = None, rounds: int = 30,
                            tol: float = 1e-10) -> Float[Array, ""]:
    """λ_j(Ω_j) of §7.3 with the full calculation: λ (5.4) when sector j's column is `col` and the rest of
    the central calculation is re-solved (all its rounds), every other column held fixed. Differentiable in
    `col`; `start` warm-starts the rounds (e.g. from the current plan's `next_state`). NaN where the
    calculation fails, so that a sectoral search treats such a column as inadmissible."""
    out = central_calculation(with_full_column(economy, j, col), rounds, tol, start)
    return jnp.where(out.status == CONVERGED, out.result.capital_gap, jnp.nan)


class FullCycles(eqx.Module):
    """The planning cycles of §8 with the full central calculation (index 0 = the preliminary calculation).

    Attributes:
        capital_gap: λ per cycle [K+1].
        targets: X per cycle [K+1, N].
        sector_criteria: λ_j at each sector's choice [K+1, N] (NaN at 0).
        theta: the sectors' technology parameters [K+1, N, P].
        status: 0 converged (columns and λ unchanged), 1 cycle_limit, ≥ 2 the central calculation's failure.
        cycles: the cycle the run stopped at.
    """

    capital_gap: Float[Array, " K"]
    targets: Float[Array, "K N"]
    sector_criteria: Float[Array, "K N"]
    theta: Float[Array, "K N P"]
    status: Int[Array, ""]
    cycles: Int[Array, ""]


def full_planning_cycles(economy: RudraFullEconomy, technologies, *, cycles: int = 5, steps: int = 40,
                         learning_rate: float = 0.05, rounds: int = 30, tol: float = 1e-7) -> FullCycles:
    """Rudra's planning cycles (§8.2) with the full calculation as operation 3.

    Operation 1: the centre hands each sector the targets X(v−1) and, implicitly, its criterion; operation 2:
    every sector chooses θ_j to minimise `full_sectoral_criterion` at its target (projected gradient descent,
    `jplan.rudra.sectoral.choose_technology`, warm-started from the current plan); operation 3: the centre
    re-solves the full calculation with the chosen columns. Stops when λ and every θ move by ≤ `tol`
    (relative), or after `cycles`. `technologies` is a `jplan.economies.rudra.Technology` with a leading sector
    axis (e.g. `ProjectFrontier`); sectors whose `active()` is False keep their column.
    """
    from ..sectoral import choose_all

    active = jax.vmap(lambda t: t.active())(technologies)
    theta0 = jax.vmap(lambda t: t.project(t.initial()))(technologies)
    plan0 = central_calculation(economy, rounds)
    nan_n = jnp.full(economy.N, jnp.nan, economy.inputs.dtype)

    def cycle(carry, v):
        econ, plan, theta, done, status, last = carry
        criterion = lambda e, j, col: full_sectoral_criterion(e, j, col, plan.next_state, rounds)  # noqa: E731
        choice = choose_all(econ, technologies, plan.result.production.activity, theta, steps=steps,
                            learning_rate=learning_rate, criterion=criterion)
        new_theta = jnp.where(active[:, None], choice.theta, theta)
        new_econ = econ
        for j in range(economy.N):  # static: one column per sector
            col = jax.tree_util.tree_map(lambda x: x[j], choice.coefficients)
            new_econ = jax.tree_util.tree_map(lambda a, b: jnp.where(active[j], a, b), with_full_column(new_econ, j, col), new_econ)
        new_plan = central_calculation(new_econ, rounds, start=plan.next_state)
        lam_old, lam_new = plan.result.capital_gap, new_plan.result.capital_gap
        still = (jnp.max(jnp.abs(new_theta - theta)) <= tol) & (jnp.abs(lam_new - lam_old) <= tol * (1.0 + jnp.abs(lam_old)))
        failed = new_plan.status > CYCLE_LIMIT
        keep = done
        pick = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(keep, x, y), a, b)  # noqa: E731
        new_status = jnp.where(keep, status, jnp.where(failed, new_plan.status, jnp.where(still, CONVERGED, CYCLE_LIMIT)))
        carry = (pick(econ, new_econ), pick(plan, new_plan), pick(theta, new_theta), done | still | failed, new_status,
                 jnp.where(keep, last, v))
        out_plan = pick(plan, new_plan)
        return carry, (out_plan.result.capital_gap, out_plan.result.production.activity,
                       jnp.where(keep, nan_n, jnp.where(active, choice.criterion, jnp.nan)), pick(theta, new_theta))

    failed0 = plan0.status > CYCLE_LIMIT
    init = (economy, plan0, theta0, failed0, jnp.where(failed0, plan0.status, CYCLE_LIMIT), jnp.array(0))
    (_, _, _, _, status, last), (gaps, targets, criteria, thetas) = jax.lax.scan(cycle, init, jnp.arange(1, cycles + 1))
    cat = lambda a, b: jnp.concatenate([a[None], b])  # noqa: E731
    return FullCycles(capital_gap=cat(plan0.result.capital_gap, gaps), targets=cat(plan0.result.production.activity, targets),
                      sector_criteria=cat(nan_n, criteria), theta=cat(theta0, thetas), status=status, cycles=last)
