"""Cockshott's multi-year plan as one LP, solved by jplan's simplex (jit, vmap, grad).

The LP is `jplan.economies.multiyear`'s model. Variables, year by year: outputs x(t) [n], capital stocks
K(t) [n, n] (good i held by industry j), accumulation A(t) [n, n] and the year's fulfilment u(t); rows,
year by year (all ≤, with a slack each, so that the slack basis is feasible and phase I is trivial):
capacity k_ij x_j − K_ij ≤ 0; stocks K_ij(1) ≤ K⁰_ij and K_ij(t) − (1 − δ_ij) K_ij(t−1) − A_ij(t−1) ≤ 0;
labour lᵀx ≤ L(t); consumption −x_i + Σ_j a_ij x_j + Σ_j A_ij + τ_i u ≤ 0. Maximise Σ_t u(t).

The solution is re-derived from the data on the optimal basis (`linprog_on_basis`), so `jax.grad` of the
objective with respect to any field (targets, coefficients, labour supply, initial stocks) is the LP's
sensitivity at that basis: with respect to L(t), the shadow price of a unit of labour in year t.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..economies.multiyear import MultiYearEconomy
from .lp import OPTIMAL, linprog_on_basis, lp_status_name

__all__ = ["MultiYearPlan", "multiyear_lp", "solve_multiyear", "lp_status_name"]


class MultiYearPlan(eqx.Module):
    """The optimal multi-year plan.

    Attributes:
        objective: Σ_t u(t), the plan's value (Cockshott's "value of objective function").
        fulfilment: u(t) [T], each year's fulfilment of its least fulfilled target.
        output: x(t) [T, n].
        consumption: final consumption c(t) [T, n] = x − a x − Σ_j A_·j.
        capital: K(t) [T, n, n], the stocks each industry holds (good i, industry j).
        capacity: the output each industry's stocks allow, min_i K_ij/k_ij [T, n] (inf where it needs none).
        accumulation: A(t) [T, n, n], additions to the stocks (they serve year t + 1).
        labour: labour used, lᵀx(t) [T].
        status: the LP's status code (`jplan.solvers.lp.LP_STATUS`; 0 optimal).
    """

    objective: Float[Array, ""]
    fulfilment: Float[Array, " T"]
    output: Float[Array, "T n"]
    consumption: Float[Array, "T n"]
    capital: Float[Array, "T n n"]
    capacity: Float[Array, "T n"]
    accumulation: Float[Array, "T n n"]
    labour: Float[Array, " T"]
    status: Int[Array, ""]


def _layout(n: int, T: int):
    per = n + 2 * n * n + 1
    return per, T * per


def _unpack(e: MultiYearEconomy, z):
    n, T = e.n, e.T
    per, _ = _layout(n, T)
    z = z.reshape(T, per)
    x = z[:, :n]
    K = z[:, n : n + n * n].reshape(T, n, n)
    A = z[:, n + n * n : n + 2 * n * n].reshape(T, n, n)
    u = z[:, -1]
    return x, K, A, u


def multiyear_lp(e: MultiYearEconomy):
    """The LP in jplan's standard form, min cᵀz, A z = b, z ≥ 0 (structural variables, then one slack per
    row): returns (c, A, b, number of structural variables)."""
    n, T = e.n, e.T
    per, nv = _layout(n, T)
    dtype = jnp.result_type(e.inputs, float)
    eye_n = jnp.eye(n, dtype=dtype)
    blocks_rows = []  # one row block per year: [capacity n², stocks n², labour 1, consumption n]
    rhs = []

    def place(t, block, width=per):
        """A block of columns for year t inside the full row."""
        rows = block.shape[0]
        full = jnp.zeros((rows, nv), dtype)
        return full.at[:, t * per : t * per + width].set(block)

    for t in range(T):
        # capacity: k_ij x_j − K_ij ≤ 0; row (i, j)
        cap_x = (e.capital[:, :, None] * eye_n[None, :, :]).reshape(n * n, n)  # ∂/∂x_j of row (i, j)
        cap = jnp.concatenate([cap_x, -jnp.eye(n * n, dtype=dtype), jnp.zeros((n * n, n * n + 1), dtype)], axis=1)
        # stocks
        own = jnp.concatenate([jnp.zeros((n * n, n), dtype), jnp.eye(n * n, dtype=dtype), jnp.zeros((n * n, n * n + 1), dtype)], axis=1)
        stock = place(t, own)
        if t == 0:
            stock_rhs = e.initial_capital.reshape(n * n)
        else:
            prev = jnp.concatenate([jnp.zeros((n * n, n), dtype), -jnp.diag(1.0 - e.depreciation.reshape(n * n)),
                                    -jnp.eye(n * n, dtype=dtype), jnp.zeros((n * n, 1), dtype)], axis=1)
            stock = stock + place(t - 1, prev)
            stock_rhs = jnp.zeros(n * n, dtype)
        lab = jnp.concatenate([e.labour[None, :], jnp.zeros((1, 2 * n * n + 1), dtype)], axis=1)
        acc = jnp.broadcast_to(eye_n[:, :, None], (n, n, n)).reshape(n, n * n)  # Σ_j A_ij for row i
        cons = jnp.concatenate([e.inputs - eye_n, jnp.zeros((n, n * n), dtype), acc, e.targets[t][:, None]], axis=1)
        blocks_rows += [place(t, cap), stock, place(t, lab), place(t, cons)]
        rhs += [jnp.zeros(n * n, dtype), stock_rhs, e.labour_supply[t][None], jnp.zeros(n, dtype)]
    A_ub = jnp.concatenate(blocks_rows, axis=0)
    b = jnp.concatenate(rhs)
    m = A_ub.shape[0]
    c = jnp.zeros(nv, dtype).at[jnp.arange(T) * per + per - 1].set(-1.0)
    A = jnp.concatenate([A_ub, jnp.eye(m, dtype=dtype)], axis=1)
    return jnp.concatenate([c, jnp.zeros(m, dtype)]), A, b, nv


def solve_multiyear(e: MultiYearEconomy, *, max_iter: int | None = None) -> MultiYearPlan:
    """The optimal plan by jplan's simplex (batch with `jax.vmap`; differentiable at a fixed basis)."""
    c, A, b, nv = multiyear_lp(e)
    z, status = linprog_on_basis(c, A, b, max_iter=max_iter)
    x, K, Acc, u = _unpack(e, z[:nv])
    consumption = x - jnp.einsum("ij,tj->ti", e.inputs, x) - jnp.sum(Acc, axis=2)
    need = e.capital[None]
    capacity = jnp.min(jnp.where(need > 0, K / jnp.where(need > 0, need, 1.0), jnp.inf), axis=1)
    ok = status == OPTIMAL
    nan = lambda a: jnp.where(ok, a, jnp.nan)  # noqa: E731
    return MultiYearPlan(objective=nan(jnp.sum(u)), fulfilment=nan(u), output=nan(x), consumption=nan(consumption),
                         capital=nan(K), capacity=nan(capacity), accumulation=nan(Acc), labour=nan(x @ e.labour),
                         status=status)
