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
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ..economies.multiyear import MultiYearEconomy
from .lp import OPTIMAL, linprog_on_basis, lp_status_name

__all__ = ["MultiYearPlan", "multiyear_lp", "solve_multiyear", "lp_status_name", "MultiYearHarmony", "multiyear_complex",
           "harmony_multiyear"]


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


# ------------------------------------------------------------------------------ Cockshott's harmony method


class MultiYearHarmony(eqx.Module):
    """The plan Cockshott's harmony algorithm balances (`harmony_multiyear`), measured as the LP measures one.

    Attributes:
        objective: Σ_t u(t) of the harmony plan, u(t) = min over goods with a target of c_i(t)/τ_i(t).
        fulfilment: u(t) [T].
        output, consumption: x(t), c(t) [T, n] (c = net output of the goods).
        accumulation: A(t) [T, n, n] (zero in the last year: it would serve no year of the plan).
        labour: labour used [T].
        infeasibility: the largest shortfall of any product (labour, a stock, a good) relative to its gross
            availability: 0 for a plan that respects every resource.
        history: the objective after each iteration [iterations].
        intensity: the complex's intensities [q].
        failed: the iteration produced a non-finite intensity (his programs stop there with an error).
    """

    objective: Float[Array, ""]
    fulfilment: Float[Array, " T"]
    output: Float[Array, "T n"]
    consumption: Float[Array, "T n"]
    accumulation: Float[Array, "T n n"]
    labour: Float[Array, " T"]
    infeasibility: Float[Array, ""]
    history: Float[Array, " iterations"]
    intensity: Float[Array, " q"]
    failed: Bool[Array, ""]


def multiyear_complex(e: MultiYearEconomy, capital_pattern=None):
    """The multi-year plan as Cockshott's `harmonyplan` writes it as a technology complex.

    Products, year by year: each good, the year's labour and one capital stock per entry (i, j) of the
    pattern (good i held by industry j; default every entry, an entry with k_ij = 0 being absent).
    Techniques: production of good j in year t (one unit of intensity makes the output its initial stocks
    support, x⁰_j = min_i K⁰_ij/k_ij, his base output; 1 where j holds no capital), consuming a·x⁰, l·x⁰ and
    the year's stocks k·x⁰; and, for every stock and every year but the last, an investment technique that
    turns a unit of good i in year t into (1 − δ_ij)^(s−t−1) of stock (i, j) in every later year s (one
    joint-production technique per stock and year, `setupintertermporalflow`). Resources: each year's
    labour supply and the initial stocks, worn down as the LP wears them, K⁰(1 − δ)^(t−1) in year t (his
    `harmonyplan` offers the undepreciated K⁰ in every year; jplan uses the LP's model so that the two
    answer the same question). Targets: each good's τ_i(t), a zero target replaced by 0.02 and every other
    product's 0.03, as he does. `capital_pattern` (a host boolean [n, n]) limits the stocks to a sparsity
    pattern (for large economies).

    Returns (TechnologyComplex, layout) with layout = (pattern rows, pattern columns, x⁰)."""
    from .harmony import TechnologyComplex, self_entries

    n, T = e.n, e.T
    dtype = jnp.result_type(e.inputs, float)
    pattern = np.ones((n, n), bool) if capital_pattern is None else np.asarray(capital_pattern, bool)
    if pattern.shape != (n, n):
        raise ValueError(f"capital_pattern must be [{n}, {n}], got {pattern.shape}")
    ei, ej = np.nonzero(pattern)
    c = len(ei)
    k = e.capital[ei, ej]
    present_stock = k > 0
    dep = e.depreciation[ei, ej]
    need = e.capital > 0
    x0 = jnp.min(jnp.where(need, e.initial_capital / jnp.where(need, e.capital, 1.0), jnp.inf), axis=0)
    x0 = jnp.where(jnp.isfinite(x0), x0, 1.0)
    good = lambda t, i: t * n + i  # noqa: E731
    lab = lambda t: T * n + t  # noqa: E731
    cap = lambda t, s: T * (n + 1) + t * c + s  # noqa: E731
    prod = lambda t, j: t * n + j  # noqa: E731
    inv = lambda t, s: T * n + t * c + s  # noqa: E731
    p, q = T * (n + 1 + c), T * n + max(T - 1, 0) * c
    tt, ii, jj = np.meshgrid(np.arange(T), np.arange(n), np.arange(n), indexing="ij")
    in_p = [good(tt, ii).ravel(), lab(np.repeat(np.arange(T), n)), np.concatenate([cap(t, np.arange(c)) for t in range(T)])]
    in_t = [prod(tt, jj).ravel(), prod(np.repeat(np.arange(T), n), np.tile(np.arange(n), T)),
            np.concatenate([prod(t, ej) for t in range(T)])]
    in_q = [(e.inputs[None] * x0[None, None, :] * jnp.ones((T, 1, 1), dtype)).ravel(), jnp.tile(e.labour * x0, T),
            jnp.tile(k * x0[ej], T)]
    out_p, out_t, out_q = [good(tt[:, 0, :], jj[:, 0, :]).ravel()], [prod(tt[:, 0, :], jj[:, 0, :]).ravel()], [jnp.tile(x0, T)]
    for t in range(T - 1):
        in_p.append(good(t, ei))
        in_t.append(inv(t, np.arange(c)))
        in_q.append(jnp.where(present_stock, 1.0, 0.0).astype(dtype))
        for s in range(t + 1, T):
            out_p.append(cap(s, np.arange(c)))
            out_t.append(inv(t, np.arange(c)))
            out_q.append(jnp.where(present_stock, (1.0 - dep) ** (s - t - 1), 0.0).astype(dtype))
    in_p, in_t, out_p, out_t = (np.concatenate(a).astype(np.int32) for a in (in_p, in_t, out_p, out_t))
    resources = jnp.zeros(p, dtype)
    resources = resources.at[lab(np.arange(T))].set(e.labour_supply)
    years = np.arange(T)
    stock0 = e.initial_capital[ei, ej][None, :] * (1.0 - dep[None, :]) ** years[:, None]
    resources = resources.at[cap(years[:, None], np.arange(c)[None, :]).ravel()].set(jnp.where(present_stock, stock0, 0.0).ravel())
    targets = jnp.full(p, 0.03, dtype).at[:T * n].set(jnp.where(e.targets > 0, e.targets, 0.02).ravel())
    flags = np.zeros(p, bool)
    nonproduced = flags.copy()
    nonproduced[lab(years)] = True
    nonproduced[cap(0, np.arange(c))] = True
    nonfinal = flags.copy()
    nonfinal[T * n:] = True
    present = jnp.ones(p, bool).at[T * (n + 1):].set(jnp.tile(present_stock, T))
    active = jnp.ones(q, bool).at[T * n:].set(jnp.tile(present_stock, max(T - 1, 0)))
    cx = TechnologyComplex(in_product=jnp.asarray(in_p), in_technique=jnp.asarray(in_t), in_quantity=jnp.concatenate(in_q),
                           in_self=jnp.asarray(self_entries(in_p, in_t, out_p, out_t)), out_product=jnp.asarray(out_p),
                           out_technique=jnp.asarray(out_t), out_quantity=jnp.concatenate(out_q), resources=resources,
                           targets=targets, nonproduced=jnp.asarray(nonproduced), nonfinal=jnp.asarray(nonfinal),
                           present=present, active=active)
    return cx, (ei, ej, x0)


def _plan_from_intensity(e: MultiYearEconomy, cx, layout, z):
    from .harmony import complex_net_output

    n, T = e.n, e.T
    ei, ej, x0 = layout
    c = len(ei)
    net = complex_net_output(cx, z)
    output = z[: T * n].reshape(T, n) * x0[None, :]
    consumption = net[: T * n].reshape(T, n)
    has = e.targets > 0
    u = jnp.min(jnp.where(has, consumption / jnp.where(has, e.targets, 1.0), jnp.inf), axis=1)
    u = jnp.where(jnp.isfinite(u), u, 0.0)
    acc = jnp.zeros((T, n, n), z.dtype)
    if T > 1:
        acc = acc.at[: T - 1, ei, ej].set(z[T * n:].reshape(T - 1, c))
    return u, output, consumption, acc, net


def harmony_multiyear(e: MultiYearEconomy, *, capital_pattern=None, **options) -> MultiYearHarmony:
    """Cockshott's harmony algorithm (`jplan.solvers.harmony.balance_plan`, his constants unless `options` say
    otherwise) on the multi-year plan's technology complex (`multiyear_complex`); the plan it balances,
    measured by the LP's objective so that it can be set beside `solve_multiyear`'s optimum."""
    from .harmony import HARMONY_DEFAULTS, _gross, balance_plan

    unknown = set(options) - set(HARMONY_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown harmony option(s): {', '.join(sorted(unknown))}")
    cx, layout = multiyear_complex(e, capital_pattern)

    def objective(z):
        return jnp.sum(_plan_from_intensity(e, cx, layout, z)[0])

    r = balance_plan(cx, score=objective, **options)
    u, output, consumption, acc, net = _plan_from_intensity(e, cx, layout, r.intensity)
    gross = _gross(cx, r.intensity)
    short = jnp.where(cx.present, jnp.maximum(-net, 0.0) / jnp.maximum(gross, 1e-300), 0.0)
    failed = ~jnp.all(jnp.isfinite(r.intensity))
    nan = lambda a: jnp.where(failed, jnp.nan, a)  # noqa: E731
    return MultiYearHarmony(objective=nan(jnp.sum(u)), fulfilment=nan(u), output=nan(output), consumption=nan(consumption),
                            accumulation=nan(acc), labour=nan(output @ e.labour), infeasibility=nan(jnp.max(short)),
                            history=r.history, intensity=r.intensity, failed=failed)
