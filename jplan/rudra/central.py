"""The central calculation of Rudra's frame (Rudra's frame paper, §§5–6, Appendix 2): targets, imports and the
minimal capital-resources gap λ, with its sensitivities from the LP's dual values.

    minimise   λ = Σ_j γ_j X_j,   γ_j = k_j − (value-added share)_j · v_j · r_j
    subject to (B − A) X + m − s = d    (s ≥ 0 surplus; s = 0 when balances are equalities, as in A.2.1;
                                         m_i = 0 for commodities that are not importable)
               Σ_i m_i + t = F           (t ≥ 0 unused foreign exchange; t = 0 when imports use exactly F)
               X, m, s, t ≥ 0.

Everything is a pure function of a `RudraEconomy` and runs under jit and vmap. `capital_gap` is
differentiable with respect to every field of the economy (coefficients, targets, F, prices): its
gradient is assembled from the dual values by the envelope theorem (see `jplan.solvers.lp`), so
`jax.grad(capital_gap)(economy)` is the LP sensitivity report ∂λ*/∂(a, b, k, v, r, d, F, p).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..economies.rudra import RudraEconomy, SectorColumn, capital_weights, with_column
from ..solvers.lp import linprog, optimal_value

__all__ = ["CentralPlan", "central_lp", "solve_central", "capital_gap", "sectoral_criterion", "sensitivities"]


def central_lp(economy: RudraEconomy):
    """The central LP in standard form (c, A_eq, b_eq, allowed) over z = [X (N), m (n), s (n), t (1)]."""
    n, N = economy.n, economy.N
    dtype = economy.capital.dtype
    net = economy.outputs - economy.inputs
    eye = jnp.eye(n, dtype=dtype)
    top = jnp.concatenate([net, eye, -eye, jnp.zeros((n, 1), dtype)], axis=1)
    bottom = jnp.concatenate([jnp.zeros((1, N), dtype), jnp.ones((1, n), dtype), jnp.zeros((1, n), dtype), jnp.ones((1, 1), dtype)], axis=1)
    A = jnp.concatenate([top, bottom], axis=0)
    b = jnp.concatenate([economy.final_demand, economy.foreign_exchange[None]])
    c = jnp.concatenate([capital_weights(economy), jnp.zeros(2 * n + 1, dtype)])
    allowed = jnp.concatenate(
        [
            jnp.ones(N, bool),
            economy.importable,
            jnp.broadcast_to(~economy.balance_equality, (n,)),
            jnp.broadcast_to(~economy.imports_equality, (1,)),
        ]
    )
    return c, A, b, allowed


class CentralPlan(eqx.Module):
    """The result of the central calculation.

    Attributes:
        targets: X [N], activity-level targets handed to the sectors.
        imports: m [n].
        surplus: s [n], end-year production beyond final demand and inter-industry use.
        capital_gap: λ, the minimal capital-resources gap (foreign assistance needed).
        gamma: γ [N], the criterion's weight per unit of each sector's activity.
        commodity_values: ∂λ/∂d [n], the dual value of each commodity balance (capital-gap units per unit).
        foreign_exchange_value: ∂λ/∂F (≤ 0: more foreign exchange narrows the gap).
        status: LP status code (0 optimal, 1 infeasible, 2 unbounded, 3 iteration limit, 4 numerical).
    """

    targets: Float[Array, " N"]
    imports: Float[Array, " n"]
    surplus: Float[Array, " n"]
    capital_gap: Float[Array, ""]
    gamma: Float[Array, " N"]
    commodity_values: Float[Array, " n"]
    foreign_exchange_value: Float[Array, ""]
    status: Int[Array, ""]


def solve_central(economy: RudraEconomy) -> CentralPlan:
    """Solve the central calculation exactly (jit/vmap-safe). See the module docstring for the LP."""
    n, N = economy.n, economy.N
    c, A, b, allowed = central_lp(economy)
    sol = linprog(c, A, b, allowed)
    return CentralPlan(
        targets=sol.x[:N],
        imports=sol.x[N : N + n],
        surplus=sol.x[N + n : N + 2 * n],
        capital_gap=sol.objective,
        gamma=capital_weights(economy),
        commodity_values=sol.duals[:n],
        foreign_exchange_value=sol.duals[n],
        status=sol.status,
    )


def capital_gap(economy: RudraEconomy) -> Float[Array, ""]:
    """λ*(economy): the minimal capital-resources gap, differentiable in every field via the dual values.

    NaN if the plan is infeasible, −inf if unbounded (some γ_j < 0 with free disposal).
    """
    c, A, b, allowed = central_lp(economy)
    return optimal_value(c, A, b, allowed)


def sectoral_criterion(economy: RudraEconomy, j, col: SectorColumn) -> Float[Array, ""]:
    """λ_j(Ω_j): the minimal gap when sector j's column is `col` and every other column is held fixed
    (seed §7.3). Differentiable in `col` (the sectoral planner's gradient)."""
    return capital_gap(with_column(economy, j, col))


def sensitivities(economy: RudraEconomy) -> RudraEconomy:
    """∂λ*/∂(every field), as a `RudraEconomy` of gradients (boolean fields are left as they are).

    From the LP duals (envelope theorem): e.g. ∂λ*/∂d = commodity values, ∂λ*/∂F = the foreign exchange
    value, ∂λ*/∂a_ij = y_i X_j + X_j ∂γ_j/∂a_ij. Exact at non-degenerate optima; one-sided at kinks.
    """
    params, static = eqx.partition(economy, eqx.is_inexact_array)
    grads = jax.grad(lambda p: capital_gap(eqx.combine(p, static)))(params)
    return eqx.combine(grads, static)
