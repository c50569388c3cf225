"""The exact optimum of a Cobb–Douglas/log-welfare production economy (the derivation is in
`jplan.solvers.production`'s docstring), and `Optimum`, the result type of every reference optimum."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._linalg import solve
from ..economies.production import Plan, ProductionEconomy, welfare, xlogy_masked
from .status import OPTIMAL

__all__ = ["Optimum", "closed_form", "leontief_optimum"]


class Optimum(eqx.Module):
    """The optimal plan with its welfare and shadow prices (in units of welfare).

    Attributes:
        plan: the optimal `Plan`.
        welfare: U* = U(c*).
        goods_prices: p* [n], ∂U*/∂(extra unit of good k delivered to the economy).
        resource_prices: s* [m], ∂U*/∂R_j (envelope theorem).
        status: 0 optimal (certified), 1 best_known (non-convex: best KKT point found), 2 numerical_failure,
            3 infeasible (subsistence no feasible plan can feed);
            `optimum_status_name(status)` reads it.
        residual: the largest KKT residual (log units; 0 for the closed form).
    """

    plan: Plan
    welfare: Float[Array, ""]
    goods_prices: Float[Array, " n"]
    resource_prices: Float[Array, " m"]
    status: Array = eqx.field(default_factory=lambda: jnp.asarray(OPTIMAL))
    residual: Array = eqx.field(default_factory=lambda: jnp.asarray(0.0))


def _safe_div(a: Array, b: Array) -> Array:
    ok = b > 0
    return jnp.where(ok, a / jnp.where(ok, b, 1.0), 0.0)


def closed_form(economy: ProductionEconomy) -> Optimum:
    """Exact centralised optimum of a Cobb–Douglas/log-welfare economy (any returns to scale).

    Reads only the Cobb–Douglas fields (σ, η and γ are ignored): for other families it is the optimum of
    the Cobb–Douglas/log economy with the same shares, which `optimum` uses as its homotopy start.

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
    return Optimum(plan=plan, welfare=welfare(economy, c), goods_prices=p, resource_prices=s,
                   status=jnp.asarray(OPTIMAL), residual=jnp.zeros((), p.dtype))


def leontief_optimum(economy: ProductionEconomy) -> Optimum:
    """Exact optimum of an economy of fixed-coefficients firms (`jplan.economies.LeontiefTechnology`) with
    one primary factor, any welfare family.

    With one factor the feasible consumption set is {c ≥ 0 : v·c ≤ L}, v the labour values solving
    v = a₀ + A v (a₀ labour and A inputs per unit of output, A[j, h] good h per unit of good j): the planner
    buys the consumer's demand at prices v with income L (`consumer_demand`; Stone–Geary: income beyond
    subsistence). Outputs solve q = c + Aᵀq. Goods prices are v times the marginal welfare of labour,
    λ = ∂U*/∂L (by autodiff). Status `infeasible` where subsistence costs more than L. Pure, jit/vmap/grad-safe.
    """
    import jax

    from ..economies.production import consumer_demand
    from .status import INFEASIBLE

    tech = economy.technology
    if economy.m != 1:
        raise ValueError(f"the fixed-coefficients optimum needs one primary factor (m = 1), got m = {economy.m}")
    a0 = tech.resource_coefficients[:, 0] / tech.tfp
    A = tech.input_coefficients / tech.tfp[:, None]
    eye = jnp.eye(economy.n, dtype=A.dtype)
    v = solve(eye - A, a0)

    def plan_for(L):
        c = consumer_demand(economy, v, L - v @ economy.subsistence)
        return c, welfare(economy, c)

    L = economy.endowments[0]
    c, U = plan_for(L)
    lam = jax.grad(lambda L: plan_for(L)[1])(L)
    q = solve((eye - A).T, c)
    plan = Plan(consumption=c, output=q, resource_use=(a0 * q)[:, None], intermediate_use=A * q[:, None])
    ok = (L - v @ economy.subsistence > 0) & jnp.all(v > 0) & jnp.all(q >= 0)
    return Optimum(plan=plan, welfare=U, goods_prices=lam * v, resource_prices=lam[None], status=jnp.where(ok, OPTIMAL, INFEASIBLE),
                   residual=jnp.zeros((), v.dtype))
