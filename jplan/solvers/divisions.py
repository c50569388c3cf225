"""The exact optimum of a block-angular economy: the whole LP solved at once by jplan's JAX simplex
(`linprog`), the reference every decomposition procedure is measured against.

Standard form: variables (x [N·a], shared slacks [m0], private slacks [N·p]); rows: the m0 shared
constraints Σ_j D_j x_j + s₀ = b₀, then the N·p private rows A_j x_j + s_j = b_j; the objective is −Σ c_jᵀx_j
(linprog minimises). Padded activities are excluded through linprog's `allowed` mask.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..economies.divisions import DivisionPlan, DivisionsEconomy
from .lp import linprog

__all__ = ["DivisionsOptimum", "divisions_optimum", "standard_form"]


class DivisionsOptimum(eqx.Module):
    """The optimum of a block-angular economy.

    Attributes:
        objective: Σ_j c_jᵀx_j at the optimum (NaN unless status is optimal).
        plan: the optimal activities.
        resource_prices: π [m0] ≥ 0, the shared resources' shadow prices, ∂objective/∂b₀.
        division_prices: [N, p] ≥ 0, the shadow prices of the divisions' private constraints.
        status: an LP status code (`jplan.solvers.LP_STATUS`: optimal, infeasible, unbounded,
            iteration_limit, numerical_failure).
    """

    objective: Float[Array, ""]
    plan: DivisionPlan
    resource_prices: Float[Array, " m0"]
    division_prices: Float[Array, "N p"]
    status: Int[Array, ""]


def standard_form(economy: DivisionsEconomy):
    """(c, A, b, allowed) of the whole LP in linprog's standard form (see the module docstring)."""
    N, m0 = economy.divisions, economy.shared
    a, p = economy.objective.shape[-1], economy.limits.shape[-1]
    dtype = economy.objective.dtype
    nx = N * a
    shared_rows = jnp.concatenate(
        [jnp.transpose(economy.shared_use, (1, 0, 2)).reshape(m0, nx), jnp.eye(m0, dtype=dtype),
         jnp.zeros((m0, N * p), dtype)], axis=1)
    block = jnp.zeros((N, p, N, a), dtype).at[jnp.arange(N), :, jnp.arange(N), :].set(economy.constraints)
    private_rows = jnp.concatenate(
        [block.reshape(N * p, nx), jnp.zeros((N * p, m0), dtype), jnp.eye(N * p, dtype=dtype)], axis=1)
    A = jnp.concatenate([shared_rows, private_rows], axis=0)
    b = jnp.concatenate([economy.resources, economy.limits.reshape(-1)])
    c = jnp.concatenate([-jnp.where(economy.activity_mask, economy.objective, 0.0).reshape(-1),
                         jnp.zeros(m0 + N * p, dtype)])
    allowed = jnp.concatenate([economy.activity_mask.reshape(-1), jnp.ones(m0 + N * p, bool)])
    return c, A, b, allowed


def divisions_optimum(economy: DivisionsEconomy) -> DivisionsOptimum:
    """Solve the whole block-angular LP exactly (jit/vmap-safe). The centre of a decomposition procedure
    never calls this: it is the reference its gaps are measured against."""
    N, m0 = economy.divisions, economy.shared
    a, p = economy.objective.shape[-1], economy.limits.shape[-1]
    c, A, b, allowed = standard_form(economy)
    sol = linprog(c, A, b, allowed)
    x = sol.x[: N * a].reshape(N, a)
    return DivisionsOptimum(
        objective=-sol.objective,
        plan=DivisionPlan(activities=jnp.where(economy.activity_mask, x, 0.0)),
        resource_prices=-sol.duals[:m0] + 0.0,  # + 0.0: no "-0.0" in printed prices
        division_prices=-sol.duals[m0:].reshape(N, p) + 0.0,
        status=sol.status,
    )
