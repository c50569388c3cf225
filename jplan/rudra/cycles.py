"""Planning cycles of Rudra's frame (Rudra's frame paper, §8).

Preliminary round (§8.3): the centre solves the central LP with the base-year (statistical) coefficients
of the economy, giving targets X(0) and prices Λ(0). Cycle v = 1, 2, …:

1. the centre passes each sector its target X_j(v−1), the prices and the criterion λ_j (operation 1);
2. every sector, in parallel (vmap), chooses its technology θ_j(v) minimising λ_j with the other columns
   as handed down, reading its technological functions off at X_j(v−1) (operation 2, `choose_all`);
3. the centre re-solves with the new columns, giving X(v), λ(v) and new prices (operation 3).

Rudra does not claim convergence ("we have not considered … the convergence of decision sequences"), and
it fails in simple cases (technologies with scale economies can make the sectors' choices alternate), so
the run reports what happened: `converged` (targets, coefficients and λ all stopped moving), `cycling`
(the state repeats with period p ≥ 2), `diverged` (the central LP became infeasible or unbounded, or an
iterate was not finite), `cycle_limit` (none of these within the cycles allowed) or `base_infeasible`
(the preliminary LP itself has no optimal plan). The run is one `lax.scan` (jit/vmap-safe); cycles after
the stop repeat the final state without computing it again (`lax.cond`; under vmap, a select).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..economies.rudra import RudraEconomy, Technology
from .central import solve_central
from .sectoral import DEFAULT_LEARNING_RATE, DEFAULT_STEPS, choose_all

__all__ = ["CycleHistory", "plan_cycles", "CYCLE_STATUS", "cycle_status_name"]

CONVERGED, CYCLE_LIMIT, CYCLING, DIVERGED, BASE_INFEASIBLE = 0, 1, 2, 3, 4
CYCLE_STATUS = ("converged", "cycle_limit", "cycling", "diverged", "base_infeasible")


def cycle_status_name(code) -> str:
    """Name of a cycle status code."""
    return CYCLE_STATUS[int(code)]


class CycleHistory(eqx.Module):
    """Per-cycle record of a planning run (index 0 = preliminary round; K + 1 entries).

    Attributes:
        targets: [K+1, N] activity levels.
        imports: [K+1, n].
        capital_gap: [K+1] the centre's λ.
        commodity_values: [K+1, n] the prices handed down (the LP's duals).
        sector_criteria: [K+1, N] λ_j at each sector's choice (NaN at index 0).
        theta: [K+1, N, P] the sectors' technology parameters.
        inputs: [K+1, n, N] the input columns used by the centre.
        outputs: [K+1, n, N] the output columns used by the centre.
        capital: [K+1, N] capital coefficients used by the centre.
        savings_rate: [K+1, N] savings rates used by the centre.
        growth: [K+1, N] growth coefficients used by the centre.
        lp_status: [K+1] the central LP's status code per cycle.
        status: a `CYCLE_STATUS` code.
        cycles: the last cycle actually computed (the stopping cycle).
        period: the repetition period when cycling (0 otherwise).
    """

    targets: Float[Array, "K N"]
    imports: Float[Array, "K n"]
    capital_gap: Float[Array, " K"]
    commodity_values: Float[Array, "K n"]
    sector_criteria: Float[Array, "K N"]
    theta: Float[Array, "K N P"]
    inputs: Float[Array, "K n N"]
    outputs: Float[Array, "K n N"]
    capital: Float[Array, "K N"]
    savings_rate: Float[Array, "K N"]
    growth: Float[Array, "K N"]
    lp_status: Int[Array, " K"]
    status: Int[Array, ""]
    cycles: Int[Array, ""]
    period: Int[Array, ""]


def _state_vector(targets, economy: RudraEconomy):
    return jnp.concatenate(
        [targets, economy.inputs.ravel(), economy.outputs.ravel(), economy.capital, economy.savings_rate, economy.growth]
    )


def _distance(u, v):
    return jnp.max(jnp.abs(u - v) / (1.0 + jnp.abs(v)))


def _close(u, v, tol):
    return _distance(u, v) <= tol


def plan_cycles(
    economy: RudraEconomy,
    technologies: Technology,
    *,
    cycles: int = 30,
    tol: float = 1e-9,
    cycle_tol: float = 1e-6,
    max_period: int = 8,
    steps: int = DEFAULT_STEPS,
    learning_rate: float = DEFAULT_LEARNING_RATE,
) -> CycleHistory:
    """Run Rudra's planning cycles (see the module docstring).

    Args:
        economy: the central data with the base-year coefficients (preliminary round).
        technologies: every sector's technology set, arrays with a leading sector axis (sectors whose
            `active()` is False keep their base column).
        cycles: the cycle limit K.
        tol: relative change in targets, coefficients and λ below which the run has converged.
        cycle_tol: a state counts as a repeat of the one p ≥ 2 cycles back (cycling) when their relative
            distance is at most cycle_tol times the distance moved in the last cycle (and at most cycle_tol).
        max_period: longest cycle period looked for (the run stops as soon as a state repeats one 2 …
            max_period cycles back).
        steps: the sectoral planners' gradient steps (`choose_technology`).
        learning_rate: their Adam learning rate.
    """
    active = jax.vmap(lambda t: t.active())(technologies)
    theta0 = jax.vmap(lambda t: t.initial())(technologies)
    theta0 = jax.vmap(lambda t, th: t.project(th))(technologies, theta0)
    plan0 = solve_central(economy)
    nan_n = jnp.full(economy.N, jnp.nan, economy.capital.dtype)

    def record(econ, plan, theta, criteria):
        return dict(
            targets=plan.targets,
            imports=plan.imports,
            capital_gap=plan.capital_gap,
            commodity_values=plan.commodity_values,
            sector_criteria=criteria,
            theta=theta,
            inputs=econ.inputs,
            outputs=econ.outputs,
            capital=econ.capital,
            savings_rate=econ.savings_rate,
            growth=econ.growth,
            lp_status=plan.status,
        )

    lags = jnp.arange(2, max_period + 1)

    def advance(carry, v):
        econ, plan, theta, _, _, recent = carry
        choice = choose_all(econ, technologies, plan.targets, theta, steps=steps, learning_rate=learning_rate)
        col = choice.coefficients
        new_econ = eqx.tree_at(
            lambda e: (e.inputs, e.outputs, e.capital, e.savings_rate, e.growth),
            econ,
            (
                jnp.where(active[None, :], col.inputs.T, econ.inputs),
                jnp.where(active[None, :], col.outputs.T, econ.outputs),
                jnp.where(active, col.capital, econ.capital),
                jnp.where(active, col.savings_rate, econ.savings_rate),
                jnp.where(active, col.growth, econ.growth),
            ),
        )
        new_plan = solve_central(new_econ)
        new_theta = jnp.where(active[:, None], choice.theta, theta)
        rec = record(new_econ, new_plan, new_theta, jnp.where(active, choice.criterion, jnp.nan))
        new_state = _state_vector(new_plan.targets, new_econ)
        failed = (new_plan.status != 0) | ~jnp.all(jnp.isfinite(new_state))
        step_distance = _distance(new_state, recent[0])
        converged = (step_distance <= tol) & _close(new_plan.capital_gap, plan.capital_gap, tol) & ~failed
        # Cycling: the new state repeats the state p >= 2 cycles back (recent[p - 1]; p = 1 is convergence)
        # far more closely than it moved in this cycle (a damped oscillation towards a fixed point is not
        # a cycle: its lag-p and lag-1 distances shrink together).
        repeats = jax.vmap(lambda p: _distance(new_state, recent[p - 1]) <= cycle_tol * jnp.minimum(1.0, step_distance))(lags)
        # Cycle v has states 0 … v−1 behind it, so only lags p ≤ v exist (unfilled slots never match).
        repeats = repeats & (lags <= v) & ~converged & ~failed
        cycling = jnp.any(repeats)
        period = jnp.where(cycling, lags[jnp.argmax(repeats)], 0)
        recent = jnp.concatenate([new_state[None], recent[:-1]])
        carry = (new_econ, new_plan, new_theta, converged | failed | cycling, rec, recent)
        return carry, (rec, jnp.stack([converged, failed, cycling]), period)

    def frozen(carry, v):
        # After the stop the run is over: repeat the final record (the scan has a fixed length).
        return carry, (carry[4], jnp.zeros(3, bool), jnp.zeros((), lags.dtype))

    def cycle(carry, v):
        return jax.lax.cond(carry[3], frozen, advance, carry, v)

    first = record(economy, plan0, theta0, nan_n)
    base_failed = plan0.status != 0
    state0 = _state_vector(plan0.targets, economy)
    recent0 = jnp.broadcast_to(state0, (max_period, state0.shape[0]))
    init = (economy, plan0, theta0, base_failed, first, recent0)
    _, (recs, flags, periods) = jax.lax.scan(cycle, init, jnp.arange(1, cycles + 1))
    hist = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, recs)

    idx = jnp.arange(1, cycles + 1)
    converged_at = jnp.min(jnp.where(flags[:, 0], idx, cycles + 1))
    failed_at = jnp.min(jnp.where(flags[:, 1], idx, cycles + 1))
    cycling_at = jnp.min(jnp.where(flags[:, 2], idx, cycles + 1))
    stop = jnp.minimum(jnp.minimum(converged_at, failed_at), cycling_at)
    last_cycle = jnp.where(base_failed, 0, jnp.minimum(stop, cycles))
    period = jnp.where(cycling_at <= cycles, periods[jnp.minimum(cycling_at, cycles) - 1], 0)
    status = jnp.where(
        base_failed,
        BASE_INFEASIBLE,
        jnp.where(
            stop > cycles,
            CYCLE_LIMIT,
            jnp.where(stop == converged_at, CONVERGED, jnp.where(stop == failed_at, DIVERGED, CYCLING)),
        ),
    )
    return CycleHistory(
        **hist,
        status=status,
        cycles=last_cycle,
        period=jnp.where(status == CYCLING, period, 0),
    )
