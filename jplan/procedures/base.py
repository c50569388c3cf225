"""The procedure protocol and the one run loop every procedure shares.

A procedure is a frozen `equinox.Module` of hyperparameters with pure methods:

- `init(economy) -> (state, Messages)`: the opening round that forms the first plan.
- `step(economy, state) -> (state, Messages)`: one round of centre → agents → centre; the messages
  are counted from the arrays the agents actually receive and send back.
- `observe(economy, state) -> Observation`: the current plan, its welfare and infeasibility, prices
  where the procedure has them, and the procedure's own optimality residual (its stopping rule never
  looks at the reference optimum).
- `domain_violation(economy) -> bool array`: True where the economy is outside the procedure's domain.

`run` drives any procedure with `lax.scan`, so it is jit-, vmap- and grad-safe; its `Trace` has the
same fields for every procedure, so they compare like for like.
"""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ..economies.production import (
    FirmTechnology,
    Plan,
    ProductionEconomy,
    infeasibility,
    infeasibility_of_totals,
    is_cobb_douglas,
    welfare,
    welfare_index,
)
from .._batching import cond_all
from ..errors import DomainError, JplanInputError

__all__ = [
    "Messages",
    "Observation",
    "Totals",
    "Procedure",
    "Trace",
    "run",
    "relative_gap",
    "STATUS_NAMES",
    "RUNNING",
    "CONVERGED",
    "DIVERGED",
    "OUT_OF_DOMAIN",
    "FAILED",
    "status_name",
    "check_domain",
]

#: Status codes; `STATUS_NAMES[code]` is what users read.
RUNNING, CONVERGED, DIVERGED, OUT_OF_DOMAIN, FAILED = 0, 1, 2, 3, 4
STATUS_NAMES = ("not_converged", "converged", "diverged", "out_of_domain", "failed")

#: A plan or price whose magnitude passes this is treated as divergence, before it overflows.
DIVERGENCE_BOUND = 1e150


def status_name(code) -> str:
    """The readable name of a status code ("converged", "diverged", ...)."""
    return STATUS_NAMES[int(code)]


def _as_float(x) -> Array:
    """A flop count as a float array (float64 under x64: counts reach 1e12 and must not round)."""
    return jnp.asarray(x, dtype=jnp.result_type(float))


class Messages(eqx.Module):
    """What one step costs: floats centre → agents (`down`), agents → centre (`up`), and the work done
    (Lustosa's criterion 2): `solves`, the dense linear systems of order n the centre solves, and
    `firm_work`, the firms' responses computed, summed over firms (a closed-form response, or one report of
    output and marginal productivities, counts one; a response found by an inner solver counts its
    iterations). `centre_flops` and `firm_flops` count the same work in one unit, floating-point
    operations (`jplan.procedures.work` states how each side is counted).

    Counting conventions (Lustosa 1987, §6): a price vector broadcast to every agent counts once; where the
    centre hears only totals (Arrow–Hurwicz's anonymity) only the totals count; an allocation sent to
    each firm counts every firm's own part. Messages add (`a + b`) and repeat (`k * a`).
    """

    down: Int[Array, ""]
    up: Int[Array, ""]
    solves: Int[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(0), converter=jnp.asarray)
    firm_work: Int[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(0), converter=jnp.asarray)
    centre_flops: Float[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(0.0), converter=_as_float)
    firm_flops: Float[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(0.0), converter=_as_float)

    @staticmethod
    def of(down_arrays, up_arrays, solves=0, firm_work=0, centre_flops=0.0, firm_flops=0.0) -> "Messages":
        """Count the floats in the message arrays actually passed between centre and agents."""
        count = lambda arrays: sum(int(np.prod(jnp.shape(a))) for a in jax.tree_util.tree_leaves(arrays))
        return Messages(down=jnp.asarray(count(down_arrays)), up=jnp.asarray(count(up_arrays)),
                        solves=jnp.asarray(solves), firm_work=jnp.asarray(firm_work),
                        centre_flops=centre_flops, firm_flops=firm_flops)

    def __add__(self, other: "Messages") -> "Messages":
        return jax.tree_util.tree_map(jnp.add, self, other)

    def __rmul__(self, k) -> "Messages":
        return jax.tree_util.tree_map(lambda x: k * x, self)

    def where(self, active) -> "Messages":
        """These counts where `active`, zero elsewhere (rounds that did not happen cost nothing)."""
        return jax.tree_util.tree_map(lambda x: jnp.where(active, x, 0), self)

    def total(self) -> "Messages":
        """Sum over a leading axis of stacked per-round counts (e.g. the output of a `lax.scan`)."""
        return jax.tree_util.tree_map(lambda x: jnp.sum(x, axis=0), self)


class Observation(eqx.Module):
    """What a procedure's current iterate says.

    Attributes:
        plan: the current plan (for price procedures, the plan the prices call forth).
        goods_prices: [n] prices of goods in the procedure's units, NaN where it has none.
        resource_prices: [m] prices of resources, NaN where it has none.
        residual: the procedure's own optimality residual; it stops when this is ≤ its tolerance (+inf: no
            certificate yet, e.g. no finite Lagrangian bound).
        failed: a procedure-specific failure (e.g. a non-productive technique matrix for Malinvaud).
        failure: why it failed, a code the procedure's `failure_message` reads (0: no reason given).
    """

    plan: Plan
    goods_prices: Float[Array, " n"]
    resource_prices: Float[Array, " m"]
    residual: Float[Array, ""]
    failed: Bool[Array, ""]
    failure: Int[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(0), converter=jnp.asarray)


class Totals(eqx.Module):
    """What `run` reads of a production economy's iterate at every step, for a procedure that can say it
    without forming every firm's plan (`Procedure.totals`); the plan itself is formed once, by `observe`,
    at the end of the run. Welfare, the gap and the infeasibility depend on the plan only through these
    totals, so the trace is the same either way.

    Attributes:
        consumption: c [n]. output: q [n]. goods_used: the firms' total use of each good Σ_i v_i [n].
        resources_used: their total use of each resource Σ_i r_i [m].
        goods_prices, resource_prices, residual, failed, failure: as in `Observation`.
        finite: True where every firm's plan (the one `observe` would form) is finite; `run` also checks
            that the totals are finite and bounded (the plans are non-negative, so bounded totals bound
            every entry).
    """

    consumption: Float[Array, " n"]
    output: Float[Array, " n"]
    goods_used: Float[Array, " n"]
    resources_used: Float[Array, " m"]
    goods_prices: Float[Array, " n"]
    resource_prices: Float[Array, " m"]
    residual: Float[Array, ""]
    finite: Bool[Array, ""]
    failed: Bool[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(False), converter=jnp.asarray)
    failure: Int[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(0), converter=jnp.asarray)


class Procedure(eqx.Module):
    """Base class of planning procedures. Subclasses set `name`, `has_prices` and the methods below.

    Attributes:
        tolerance: the run stops (status "converged") once `observe(...).residual <= tolerance`.
    """

    name: ClassVar[str] = "procedure"
    has_prices: ClassVar[bool] = True
    #: The economies it runs on: "production" (`ProductionEconomy`) or "divisions" (`DivisionsEconomy`).
    economy_kind: ClassVar[str] = "production"
    #: Whether `run` skips the step once every economy of a batch has stopped (a real branch under vmap,
    #: `jplan._batching.cond_all`). Worth it for steps that solve an LP or a master problem (their batch
    #: usually stops long before the step limit); cheap closed-form steps are faster without the branch,
    #: whose outputs XLA CPU materialises every step. Results are the same either way.
    skip_when_batch_stopped: ClassVar[bool] = False

    def init(self, economy: ProductionEconomy) -> tuple[Any, Messages]:
        raise NotImplementedError

    def step(self, economy: ProductionEconomy, state: Any) -> tuple[Any, Messages]:
        raise NotImplementedError

    def observe(self, economy: ProductionEconomy, state: Any) -> Observation:
        raise NotImplementedError

    #: Optional, for production economies: `totals(economy, state) -> Totals`, what `run` records at every
    #: step without forming each firm's plan (whose n(n + m) entries a closed-form price procedure would
    #: otherwise write every step); `observe` is then called only at the start and the end. None: `run`
    #: observes every step.
    totals = None

    def domain_violation(self, economy: ProductionEconomy) -> Bool[Array, ""]:
        """True where the economy lies outside this procedure's domain."""
        return jnp.asarray(False)

    def domain_message(self) -> str:
        """One line saying what the domain is."""
        return f"{self.name}: economy outside the procedure's domain"

    def failure_message(self, code: int) -> str:
        """What a failure code of `Observation.failure` means, in words (naming the LP or system that
        failed); "" where the procedure gives no reason."""
        return ""


def decreasing_returns_violation(economy: ProductionEconomy) -> Bool[Array, ""]:
    """True unless every firm's technology has strictly decreasing returns and no set-up cost (a convex
    production set whose profit-maximising supply is finite and unique), checked on the data: the built-in
    CES firms by their ρ < 1 and κ = 0; a user technology (`with_technology`) along the ray through one unit
    of every input, by f(2x) < 2 f(x)(1 − 1e-9) and f(x) > 0 at x = 1 and x = 1/2 (its `returns_to_scale`
    field is a placeholder there, so it is not read)."""
    firms = economy.firms
    if isinstance(firms, FirmTechnology):
        return jnp.any(economy.returns_to_scale >= 1.0) | jnp.any(economy.setup_cost > 0)
    half, one, two = outputs_along_the_ray(economy)
    decreasing = (two < 2.0 * one * (1.0 - 1e-9)) & (one < 2.0 * half * (1.0 - 1e-9)) & (half > 0)
    return jnp.any(~(decreasing & jnp.isfinite(two)))


def outputs_along_the_ray(economy: ProductionEconomy) -> tuple[Array, Array, Array]:
    """Every firm's output [n] at half a unit, one unit and two units of every input: the data the domain
    checks read returns to scale from where a user technology has no `returns_to_scale` field."""
    dtype = economy.endowments.dtype
    r, v = jnp.ones((economy.m,), dtype), jnp.ones((economy.n,), dtype)
    return jax.vmap(lambda tech: tuple(tech.output(k * r, k * v) for k in (0.5, 1.0, 2.0)))(economy.firms)


def check_domain(procedure: Procedure, economy: ProductionEconomy) -> None:
    """Raise `DomainError` (one line) if a single, concrete economy is outside the domain."""
    if bool(procedure.domain_violation(economy)):
        raise DomainError(procedure.domain_message())


def relative_gap(economy: ProductionEconomy, welfare_value: Array, optimal_welfare: Array) -> Array:
    """The welfare gap |u* − u|: the uniform proportional change of consumption (above subsistence, for
    Stone–Geary) that would make up the welfare difference, in log points (1e-2 ≈ 1% of every good).

    u is the log-homogeneous welfare index (`jplan.economies.welfare_index`): for log and Stone–Geary
    welfare the gap is |U* − U|/Σw, for CES welfare |log U* − log U|. It depends neither on the units of
    goods nor on the scale of the weights, and means the same for every welfare family.
    """
    log_form = is_cobb_douglas(economy.welfare_elasticity)
    by_weights = jnp.abs(optimal_welfare - welfare_value) / jnp.sum(economy.welfare_weights)
    by_index = jnp.abs(welfare_index(economy, optimal_welfare) - welfare_index(economy, welfare_value))
    return jnp.where(log_form, by_weights, by_index)


class Trace(eqx.Module):
    """The record of one run; every per-step field has length steps + 1 (index 0 is the start).

    Attributes:
        welfare, gap, infeasibility, residual: per-step series (gap is NaN without a reference optimum).
        messages_down, messages_up: floats exchanged in each step (index 0: the opening round(s) that
            formed the first plan; 0 after the run stopped).
        solves: linear systems the centre solved in each step.
        firm_work: the firms' responses computed in each step (see `Messages`).
        centre_flops, firm_flops: the centre's and the firms' floating-point operations in each step
            (`jplan.procedures.work`).
        active: whether the procedure was still iterating at that index.
        plan, goods_prices, resource_prices: the final iterate.
        status: final status code (see `STATUS_NAMES`).
        steps: the number of steps actually taken (to convergence, divergence or the step limit).
        failure: for a failed run, the procedure's reason code (`Procedure.failure_message`; 0: none given).
    """

    welfare: Float[Array, " T"]
    gap: Float[Array, " T"]
    infeasibility: Float[Array, " T"]
    residual: Float[Array, " T"]
    messages_down: Int[Array, " T"]
    messages_up: Int[Array, " T"]
    solves: Int[Array, " T"]
    firm_work: Int[Array, " T"]
    centre_flops: Float[Array, " T"]
    firm_flops: Float[Array, " T"]
    active: Bool[Array, " T"]
    plan: Plan
    goods_prices: Float[Array, " n"]
    resource_prices: Float[Array, " m"]
    status: Int[Array, ""]
    steps: Int[Array, ""]
    failure: Int[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(0), converter=jnp.asarray)


def _score(economy, plan, optimal_welfare):
    """(welfare, gap, infeasibility) of a plan. For a production economy: welfare U, the gap in log points of
    consumption (`relative_gap`) and the largest relative excess demand; for a block-angular economy
    (`jplan.economies.DivisionsEconomy`): the plan's objective Σ c_jᵀx_j, the gap |V* − V|/max(1, |V*|) and
    the largest relative constraint violation. The gap is NaN without a reference."""
    from ..economies.divisions import DivisionsEconomy, division_infeasibility, plan_value

    if isinstance(economy, DivisionsEconomy):
        u = plan_value(economy, plan)
        gap = (jnp.abs(optimal_welfare - u) / jnp.maximum(1.0, jnp.abs(optimal_welfare))
               if optimal_welfare is not None else jnp.full_like(u, jnp.nan))
        return u, gap, division_infeasibility(economy, plan)
    u = welfare(economy, plan.consumption)
    gap = relative_gap(economy, u, optimal_welfare) if optimal_welfare is not None else jnp.full_like(u, jnp.nan)
    return u, gap, infeasibility(economy, plan)


def _finite_and_bounded(obs: Observation) -> Array:
    return _iterate_ok(jax.tree_util.tree_leaves(obs.plan), obs.residual, obs.goods_prices, obs.resource_prices)


def _totals_finite_and_bounded(t: Totals) -> Array:
    """`_finite_and_bounded` from `Totals`: the totals finite and bounded (the plans are non-negative, so
    that bounds every entry) and the procedure's own finiteness of the plans; the residual and prices alike."""
    leaves = (t.consumption, t.output, t.goods_used, t.resources_used)
    return t.finite & _iterate_ok(leaves, t.residual, t.goods_prices, t.resource_prices)


def _iterate_ok(leaves, residual, goods_prices, resource_prices) -> Array:
    """Every plan array finite and below `DIVERGENCE_BOUND`, the residual too (or +inf), and the prices NaN
    (none) or finite and bounded."""
    ok = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x) & (jnp.abs(x) < DIVERGENCE_BOUND)) for x in leaves]))
    # a residual of +inf means "no optimality certificate yet" (e.g. Dantzig–Wolfe while a division answers
    # with an extreme ray), not divergence; NaN or -inf is
    ok = ok & ((jnp.isfinite(residual) & (jnp.abs(residual) < DIVERGENCE_BOUND)) | (residual == jnp.inf))
    prices = jnp.concatenate([goods_prices, resource_prices])
    return ok & jnp.all(jnp.isnan(prices) | (jnp.isfinite(prices) & (jnp.abs(prices) < DIVERGENCE_BOUND)))


def _where_tree(pred, a, b):
    return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def _check_plan_shapes(procedure, economy, plan) -> None:
    """A procedure's plan has the protocol's shapes (checked once, at trace time: shapes are static), so a
    plugin returning, say, a scalar consumption is refused instead of being silently broadcast."""
    if not isinstance(economy, ProductionEconomy):
        return
    n, m = economy.n, economy.m
    expected = {"consumption": (n,), "output": (n,), "resource_use": (n, m), "intermediate_use": (n, n)}
    for field, shape in expected.items():
        got = tuple(jnp.shape(getattr(plan, field)))
        if got != shape:
            raise JplanInputError(f"procedure {procedure.name!r}: its plan's {field} has shape {list(got)}, expected "
                                  f"{list(shape)} (n = {n} goods, m = {m} resources)")


def run(
    procedure: Procedure,
    economy: ProductionEconomy,
    steps: int,
    *,
    optimal_welfare: Array | None = None,
    checkpoint: bool = False,
) -> Trace:
    """Run `procedure` on `economy` for at most `steps` steps and record a `Trace`.

    The loop is a `lax.scan` of fixed length: once the procedure converges (residual ≤ tolerance),
    fails (a procedure-specific failure) or diverges (a non-finite or exploding iterate), its state is
    frozen; a failed or diverged iterate is never returned, the last good one is kept, and later entries repeat the final values with zero messages.
    So `run` is jit/vmap-safe (a batch is an economy pytree with a leading axis) and differentiable
    (gradients flow through the unrolled steps; `checkpoint=True` rematerialises each step to bound
    memory). An economy outside the domain gets status "out_of_domain" and no steps.

    Args:
        procedure: any `Procedure`.
        economy: a (single) `ProductionEconomy`; `vmap` `run` for a batch.
        steps: the step limit (static).
        optimal_welfare: U* if known, to record the relative welfare gap; else the gap is NaN.
        checkpoint: rematerialise each step in the backward pass (for long differentiated runs).
    """
    state0, msgs0 = procedure.init(economy)
    obs0 = procedure.observe(economy, state0)
    _check_plan_shapes(procedure, economy, obs0.plan)
    by_totals = procedure.totals is not None and isinstance(economy, ProductionEconomy)

    def check(state, obs=None):
        """(scores, residual, failed, failure, ok) of an iterate: from `observe`, or from `totals`."""
        if not by_totals:
            obs = procedure.observe(economy, state) if obs is None else obs
            u, gap, infeasible = _score(economy, obs.plan, optimal_welfare)
            scored = dict(welfare=u, gap=gap, infeasibility=infeasible, residual=obs.residual)
            return scored, obs.residual, obs.failed, obs.failure, _finite_and_bounded(obs)
        t = procedure.totals(economy, state)
        u = welfare(economy, t.consumption)
        gap = relative_gap(economy, u, optimal_welfare) if optimal_welfare is not None else jnp.full_like(u, jnp.nan)
        infeasible = infeasibility_of_totals(economy, t.consumption, t.output, t.goods_used, t.resources_used)
        scored = dict(welfare=u, gap=gap, infeasibility=infeasible, residual=t.residual)
        return scored, t.residual, t.failed, t.failure, _totals_finite_and_bounded(t)

    kept0, residual0, failed0, failure_code0, start_ok = check(state0, obs0)
    out_of_domain = procedure.domain_violation(economy)
    status0 = jnp.where(
        out_of_domain,
        OUT_OF_DOMAIN,
        jnp.where(failed0, FAILED, jnp.where(~start_ok, DIVERGED, RUNNING)),
    )
    status0 = jnp.where((status0 == RUNNING) & (residual0 <= procedure.tolerance), CONVERGED, status0)

    def record(kept: dict, msgs: Messages, active):
        return dict(
            **kept,
            messages_down=jnp.where(active, msgs.down, 0),
            messages_up=jnp.where(active, msgs.up, 0),
            solves=jnp.where(active, msgs.solves, 0),
            firm_work=jnp.where(active, msgs.firm_work, 0),
            centre_flops=jnp.where(active, msgs.centre_flops, 0.0),
            firm_flops=jnp.where(active, msgs.firm_flops, 0.0),
            active=active,
        )

    # The loop carries the state and the recorded scores of the last accepted iterate, not its
    # observation: the final observation is `observe` of the final state (the same function of the same
    # state), so the plan need not be copied through every step.
    if procedure.skip_when_batch_stopped:
        shapes = jax.eval_shape(procedure.step, economy, state0)[1]
        idle = jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
        advance = lambda running, state: cond_all(~running, lambda s: (s, idle), lambda s: procedure.step(economy, s), state)
    else:
        advance = lambda running, state: procedure.step(economy, state)

    def body(carry, _):
        state, kept, status, taken, failure = carry
        running = status == RUNNING
        new_state, msgs = advance(running, state)
        scored, residual, failed, failure_code, ok = check(new_state)
        accept = running & ok & ~failed
        # where every economy of the batch accepted (the common case) the new state passes through whole,
        # without a select over every array of the state (`cond_all`: a real branch under vmap)
        state = cond_all(accept, lambda: new_state, lambda: _where_tree(accept, new_state, state))
        kept = _where_tree(accept, scored, kept)
        new_status = jnp.where(
            failed,
            FAILED,
            jnp.where(~ok, DIVERGED, jnp.where(residual <= procedure.tolerance, CONVERGED, RUNNING)),
        )
        failure = jnp.where(running & failed, failure_code.astype(failure.dtype), failure)
        status = jnp.where(running, new_status, status)
        taken = taken + running.astype(taken.dtype)
        return (state, kept, status, taken, failure), record(kept, msgs, running)

    if checkpoint:
        body = jax.checkpoint(body)
    first = record(kept0, msgs0, jnp.asarray(True))
    first["active"] = jnp.asarray(False)
    failure0 = jnp.where(failed0, failure_code0, 0).astype(jnp.int32)
    (state, _, status, taken, failure), series = jax.lax.scan(
        body, (state0, kept0, status0, jnp.asarray(0), failure0), None, length=steps
    )
    series = {k: jnp.concatenate([jnp.asarray(first[k])[None], series[k]]) for k in series}
    obs = procedure.observe(economy, state)
    return Trace(
        **series,
        plan=obs.plan,
        goods_prices=obs.goods_prices,
        resource_prices=obs.resource_prices,
        status=status,
        steps=taken,
        failure=failure,
    )
