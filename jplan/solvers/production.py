"""The centralised optimal plan of a production economy: the yardstick for every "gap to optimum".

`optimum(economy)` serves every family: Cobb–Douglas technology with log welfare by the exact closed
form below, every other family (CES technology, CES or Stone–Geary welfare) by the KKT solve of
`jplan.solvers.general`, with a status saying whether the result is certified (`optimal`) or only the
best plan found (`best_known`).

The Cobb–Douglas/log planning problem

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
from jaxtyping import Array

from ..economies.production import Plan, ProductionEconomy, welfare
from . import general
from .exact import Optimum, closed_form, leontief_optimum
from .status import BEST_KNOWN, INFEASIBLE, NUMERICAL_FAILURE, OPTIMAL, OPTIMUM_STATUS, optimum_status_name

__all__ = ["Optimum", "optimum", "closed_form", "plan_start", "reference_function", "OPTIMUM_STATUS", "optimum_status_name"]


def plan_start(economy: ProductionEconomy, plan: Plan) -> Array:
    """A KKT starting point z = (log p, log s, log q) read off a plan (e.g. a procedure's final plan).

    Goods prices are the plan's marginal welfare ∂u/∂c (u the log-homogeneous index), resource prices
    the value of their marginal products averaged over the firms using them, s_j = Σ_i p_i ∂f_i/∂r_ij
    r_ij / R_j (both exact at the optimum); outputs are the plan's. Non-positive entries (a good nobody
    values at the plan, consumption at or below subsistence) are floored, so any plan gives a start.
    """
    from ..economies.production import firm_output, welfare_index

    plan = jax.tree_util.tree_map(lambda x: jnp.where(jnp.isfinite(x), x, 0.0), plan)  # a diverged run's plan
    c = plan.consumption
    floor_c = economy.subsistence + 1e-6 * jnp.maximum(jnp.max(jnp.abs(c)), 1e-300)
    c = jnp.maximum(c, floor_c)
    p = jax.grad(lambda c: welfare_index(economy, welfare(economy, c)))(c)
    p = jnp.where(jnp.isfinite(p) & (p > 0), p, 0.0)
    p = jnp.maximum(p, 1e-3 * jnp.max(p) + 1e-300)
    q = jnp.maximum(plan.output, 1e-9 * jnp.max(plan.output) + 1e-300)
    mp = jax.vmap(jax.grad(firm_output, argnums=1))(economy.firms, plan.resource_use, plan.intermediate_use)
    value = jnp.where(jnp.isfinite(mp), p[:, None] * mp * plan.resource_use, 0.0)
    s = jnp.sum(value, axis=0) / economy.endowments
    s = jnp.maximum(s, 1e-3 * jnp.max(s) + 1e-300)
    return jnp.concatenate([jnp.log(p), jnp.log(s), jnp.log(q)])


def _general(economy: ProductionEconomy, closed: Optimum, starts: int, plans: Plan | None = None) -> Optimum:
    """The KKT solve (see `jplan.solvers.general`): multistart, best welfare index, status, plan."""
    n, m = economy.n, economy.m
    total = jnp.sum(economy.welfare_weights)
    base = jnp.concatenate([
        jnp.log(closed.goods_prices / total), jnp.log(closed.resource_prices / total), jnp.log(closed.plan.output)
    ])
    # start 0 is the Cobb–Douglas/log optimum itself; the others tilt its prices and outputs (fixed keys,
    # so results are deterministic); they matter only where the problem is not certified convex
    tilts = jax.random.normal(jax.random.PRNGKey(20261124), (starts, base.shape[0]), base.dtype) * 0.5
    tilts = tilts.at[0].set(0.0)
    z0s = base[None, :] + tilts
    zs = jax.vmap(lambda z0: general.solve_kkt(economy, z0))(z0s)
    if plans is not None:
        # plans (e.g. the procedures' own final plans) start Newton on the economy itself, no homotopy
        z_plans = jax.vmap(lambda pl: plan_start(economy, pl))(plans)
        polish = general.HOMOTOPY_STAGES * general.STAGE_ITERATIONS + general.POLISH_ITERATIONS
        zs = jnp.concatenate([zs, jax.vmap(lambda z0: general._newton(economy, z0, polish))(z_plans)])
    residuals = jax.vmap(lambda z: jnp.max(jnp.abs(general.kkt_residual(economy, z))))(zs)
    converged = jnp.isfinite(residuals) & (residuals <= 1e3 * general.TOLERANCE)
    index = jax.vmap(lambda z: _plan_index(economy, z))(zs)
    score = jnp.where(converged, index, -jnp.inf)
    best = jnp.argmax(score)
    z = general.implicit_step(economy, zs[best])
    residual = residuals[best]
    ok = converged[best]
    status = jnp.where(~ok, NUMERICAL_FAILURE, jnp.where(general.certified_convex(economy), OPTIMAL, BEST_KNOWN))
    log_p, log_s, log_q = z[:n], z[n : n + m], z[n + m :]
    r, v, _, _ = general._inputs(economy, log_p, log_s, log_q)
    c = economy.subsistence + general._demand(economy, log_p)
    q = jnp.exp(log_q)
    u_welfare = welfare(economy, c)
    # prices in units of U: dU/du = Σw for the log forms, U for CES welfare
    scale = jnp.where(general.is_cobb_douglas(economy.welfare_elasticity), total, u_welfare)
    plan = Plan(consumption=c, output=q, resource_use=r, intermediate_use=v)
    return Optimum(plan=plan, welfare=u_welfare, goods_prices=jnp.exp(log_p) * scale,
                   resource_prices=jnp.exp(log_s) * scale, status=status, residual=residual)


def _plan_index(economy: ProductionEconomy, z: Array) -> Array:
    from ..economies.production import welfare_index

    c = economy.subsistence + general._demand(economy, z[: economy.n])
    u = welfare_index(economy, welfare(economy, c))
    return jnp.where(jnp.isfinite(u), u, -jnp.inf)


def optimum(economy: ProductionEconomy, starts: int = general.MULTISTARTS, plans: Plan | None = None) -> Optimum:
    """The reference optimum of one economy of any family, with its status; given a batch (a leading axis),
    the optimum of each economy.

    Cobb–Douglas/log: the exact closed form (`closed_form`). Otherwise the KKT solve of
    `jplan.solvers.general` from `starts` starting points (the first is the Cobb–Douglas/log optimum of the
    same shares, the others random tilts of it) plus, if given, one start per plan in `plans` (a `Plan`
    with a leading axis: e.g. the final plans of the procedures run on this economy, as `jplan study` does
    for every scenario that is not certified convex; see `plan_start`). The best converged KKT point
    wins. Status `optimal` where the problem is certified convex, `best_known` where it is not (never
    claimed global), `numerical_failure` where Newton did not converge (check it before trusting the
    numbers), `infeasible` where the Stone–Geary subsistence cannot be fed by any feasible plan (proved
    by `jplan.solvers.general.subsistence_reach` on a certified-convex economy; this check runs on a
    concrete economy whose solve failed, not under jit/vmap, where such economies stay
    `numerical_failure`: call `subsistence_reach` yourself there). Pure, jit/vmap-safe and differentiable (`jax.grad`; implicit differentiation of the KKT
    conditions).

    A concrete Cobb–Douglas/log economy goes straight to the closed form; under a transformation (vmap,
    grad, jit) both branches are traced and the right one is selected per economy. A caller that knows a
    whole batch is Cobb–Douglas/log (a study scenario) can call `closed_form` itself.

    A batch passed as such (`optimum(economies)`, rather than `jax.vmap(optimum)(economies)`) first solves
    every economy from the first start only, and runs the other `starts` − 1 (for the whole batch) only
    if some economy needs them: one that is not certified convex, or whose first solve failed. A converged
    KKT point of a certified-convex economy is its optimum, so the extra starts could only find it again;
    skipping them makes 1,000 CES economies at n = 10 about three times faster (README, *Using the
    library*). The answers agree with the vmapped call's to the solver's tolerance (test).
    """
    reference = reference_function(economy)
    batched = economy.welfare_weights.ndim == 2
    if reference is leontief_optimum:
        return _leontief_batch_jit(economy) if batched else leontief_optimum(economy)
    if reference is closed_form:
        return _closed_form_batch_jit(economy) if batched else _closed_form_jit(economy)
    if batched:
        return _optimum_batch(economy, starts, plans)
    result = _optimum_jit(economy, starts, plans)
    if not _traced(economy, result) and not batched and int(result.status) == NUMERICAL_FAILURE \
            and bool(jnp.any(economy.subsistence > 0)) and bool(general.certified_convex(economy)):
        theta, converged = _reach_jit(economy)
        if bool(converged) and float(theta) <= 1.0:
            result = eqx.tree_at(lambda o: o.status, result, jnp.asarray(INFEASIBLE))
    return result


_reach_jit = jax.jit(general.subsistence_reach)


@eqx.filter_jit
def _optimum_batch_solve(economies: ProductionEconomy, starts: int, plans: Plan | None = None) -> Optimum:
    if plans is None:
        return jax.vmap(lambda e: _optimum_jit(e, starts))(economies)
    return jax.vmap(lambda e, p: _optimum_jit(e, starts, p))(economies, plans)


@jax.jit
def _needs_more_starts(economies: ProductionEconomy, first: Optimum) -> Array:
    return (first.status == NUMERICAL_FAILURE) | ~jax.vmap(general.certified_convex)(economies)


def _pick_where(need: Array, full: Optimum, first: Optimum) -> Optimum:
    return jax.tree_util.tree_map(lambda a, b: jnp.where(need.reshape(need.shape + (1,) * (a.ndim - 1)), a, b), full, first)


def _optimum_batch(economies: ProductionEconomy, starts: int, plans: Plan | None = None) -> Optimum:
    """`optimum` of a batch: the first start for all, the rest only where some economy needs them (decided
    on the host for a concrete batch, so the multistart program is not even compiled when no economy needs
    it; by `lax.cond` under a transformation)."""
    first = _optimum_batch_solve(economies, 1, plans)
    if starts <= 1:
        return first
    need = _needs_more_starts(economies, first)
    every_start = lambda: _pick_where(need, _optimum_batch_solve(economies, starts, plans), first)
    if _traced(need):
        return jax.lax.cond(jnp.any(need), every_start, lambda: first)
    return every_start() if bool(jnp.any(need)) else first


def _traced(*trees) -> bool:
    """Whether any leaf is a tracer (inside jit, vmap or grad, where no value can be read on the host)."""
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(trees))


def unfed_subsistence_message(economy: ProductionEconomy) -> str:
    """The one-line error for an economy whose optimum has status ``infeasible``."""
    theta, _ = _reach_jit(economy)
    return (f"welfare.subsistence: no feasible plan can feed it (at most {float(theta):.4g} times the "
            "subsistence of every good can be produced); lower it")


_closed_form_jit = jax.jit(closed_form)
_closed_form_batch_jit = jax.jit(jax.vmap(closed_form))
_leontief_batch_jit = eqx.filter_jit(jax.vmap(leontief_optimum))


def reference_function(economy: ProductionEconomy):
    """`closed_form` when `economy` (one, or a batch) is concrete and all Cobb–Douglas/log, else `optimum`:
    the function to vmap or differentiate for that economy or batch (it saves compiling the KKT solve)."""
    from ..economies.technology import LeontiefTechnology
    from ..errors import JplanInputError

    if isinstance(economy.technology, LeontiefTechnology):
        return leontief_optimum
    if economy.technology is not None:
        # the KKT solve and the closed form read the built-in CES fields, which a user technology leaves as
        # placeholders: answering would be a silently wrong optimum
        raise JplanInputError(
            f"optimum: no reference optimum for the user technology {type(economy.technology).__name__} (the "
            "reference solvers serve the built-in CES families and Leontief); pass your own U* to "
            "run(..., optimal_welfare=...)")
    if _traced(economy):
        return optimum
    check = general.uses_closed_form
    for _ in range(economy.welfare_weights.ndim - 1):
        check = jax.vmap(check)
    return closed_form if bool(jnp.all(check(economy))) else optimum


@eqx.filter_jit
def _optimum_jit(economy: ProductionEconomy, starts: int, plans: Plan | None = None) -> Optimum:
    closed = closed_form(economy)
    use_closed = general.uses_closed_form(economy)
    # the KKT branch must stay finite for economies the closed form serves (e.g. zero welfare weights),
    # or its zero cotangents would turn into NaN gradients
    safe = eqx.tree_at(
        lambda e: e.welfare_weights,
        economy,
        jnp.where(use_closed, jnp.full_like(economy.welfare_weights, 1.0 / economy.n), economy.welfare_weights),
    )
    safe_closed = closed_form(safe)
    kkt = _general(safe, safe_closed, starts, plans)
    pick = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(use_closed, x, y), a, b)
    return pick(closed, kkt)
