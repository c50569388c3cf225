"""The centralised optimal plan of a production economy: the yardstick for every "gap to optimum".

The planning problem (DESIGN.md §3)

    max Σ_k w_k log c_k   s.t.  c_k + Σ_i v_ik ≤ q_k(r_k, v_k),   Σ_i r_ij ≤ R_j

is a geometric program: in log coordinates (log c, log r, log v) the objective is linear and every
constraint is a log-sum-exp minus an affine function, so the problem is convex for *every* ρ,
increasing returns included, and its KKT conditions characterise the global optimum.

For Cobb–Douglas technology with log welfare the KKT conditions solve in closed form. With p_k the
shadow price of good k, s_j that of resource j (both in units of welfare) and x_k = p_k q_k the value of
output k, the first-order conditions are

    c_k = w_k / p_k,   v_ik = ρ_i β_ik x_i / p_k,   r_ij = ρ_i α_ij x_i / s_j,

and the balances (which bind) give two linear systems,

    x = (I − M)ᵀ⁻¹ w                      (values;  M = ρ_i β_ik),
    s_j = Σ_i ρ_i α_ij x_i / R_j,
    (I − M) log q = b,   b_i = log A_i + Σ_j ρ_i α_ij log r_ij + Σ_k M_ik log(M_ik x_i / x_k).

A good with x_k = 0 is worth nothing to welfare even as an input: its firm shuts down (q_k = 0) and its
shadow price is 0. The solution is exact to rounding, batched by `vmap`, and differentiable by
`jax.grad` (the linear solves are differentiated implicitly), which `jplan.sensitivity` builds on.
Tests check it against an independent conic solver (Clarabel through CVXPY's geometric programming).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._linalg import solve
from ..economies.production import Plan, ProductionEconomy, welfare, xlogy_masked

__all__ = ["Optimum", "optimum"]


class Optimum(eqx.Module):
    """The optimal plan with its welfare and shadow prices (in units of welfare).

    Attributes:
        plan: the optimal `Plan`.
        welfare: U* = U(c*).
        goods_prices: p* [n], ∂U*/∂(extra unit of good k delivered to the economy).
        resource_prices: s* [m], ∂U*/∂R_j (envelope theorem).
    """

    plan: Plan
    welfare: Float[Array, ""]
    goods_prices: Float[Array, " n"]
    resource_prices: Float[Array, " m"]


def _safe_div(a: Array, b: Array) -> Array:
    ok = b > 0
    return jnp.where(ok, a / jnp.where(ok, b, 1.0), 0.0)


@jax.jit
def optimum(economy: ProductionEconomy) -> Optimum:
    """Exact centralised optimum of a Cobb–Douglas/log-welfare economy (any returns to scale).

    Requires the economy to be productive (spectral radius of ρβ below 1), which file loading and the
    samplers guarantee. Pure and jit/vmap/grad-safe; `vmap` it for a batch.
    """
    n = economy.n
    eye = jnp.eye(n, dtype=economy.tfp.dtype)
    M = economy.scaled_input_shares
    rho_alpha = economy.returns_to_scale[:, None] * economy.resource_shares
    w = economy.welfare_weights
    x = solve((eye - M).T, w)
    x = jnp.maximum(x, 0.0)
    active = x > 0
    s = jnp.sum(rho_alpha * x[:, None], axis=0) / economy.endowments
    r = _safe_div(rho_alpha * x[:, None], s[None, :])
    # value flows M_ik x_i / x_k; an active firm only ever uses active goods
    ratio = _safe_div(M * x[:, None], x[None, :])
    b = jnp.log(economy.tfp) + jnp.sum(xlogy_masked(rho_alpha, r), axis=1) + jnp.sum(xlogy_masked(M, ratio), axis=1)
    M_active = jnp.where(active[:, None], M, 0.0)
    log_q = solve(eye - M_active, jnp.where(active, b, 0.0))
    q = jnp.where(active, jnp.exp(log_q), 0.0)
    p = _safe_div(x, q)
    c = _safe_div(w * q, x)
    v = ratio * q[None, :]
    plan = Plan(consumption=c, output=q, resource_use=r, intermediate_use=v)
    return Optimum(plan=plan, welfare=welfare(economy, c), goods_prices=p, resource_prices=s)
