"""Heal's quantity-guided procedure, "planning without prices" (Heal 1969; seed 001 §5.2).

The centre allocates resources r and intermediate goods v to firms; consumption is what is left,
c_k = q_k − Σ_i v_ik. Firms (vmapped, each seeing only its own production function and its own
allocation) report output q_i and marginal productivities ∂f_i/∂r_ij, ∂f_i/∂v_ik, obtained by
`jax.grad` of their production function. The centre computes marginal social values by `jax.grad` of U:
π_k = ∂U/∂c_k is good k's value in consumption, σ_ij = π_i ∂f_i/∂r_ij resource j's value in firm i, and
μ_ik = π_i ∂f_i/∂v_ik good k's value in firm i. It then moves each good towards the uses where its
marginal social value is above the average over the uses it takes part in.

Discrete-time rule (ours; Heal states the procedure as a differential equation). The centre shares
every good k's output among its uses u (the firms using it and final consumption) in fractions f_uk,
and every resource j among the firms using it in fractions g_ij. Each step it moves the fractions
towards uses of above-average marginal social value,

    f_uk ← f_uk (value_uk / avg_k)^η / Σ_u' f_u'k (value_u'k / avg_k)^η,   avg_k = Σ_u f_uk value_uk,

(resources alike), which is an ascent direction: to first order welfare changes by the covariance of
log(value) and value over the uses, ≥ 0. The value of a use in production is the marginal productivity
times λ_i, the worth of one more unit of firm i's output *shared over i's uses in their current
fractions* (a linear system solved from the firms' reports; λ = π at the optimum). Valuing it at π_i
instead, its worth in consumption alone, is not an ascent direction when a good matters mostly as an
input, and stalled the procedure on such economies. At η = 1 every use gets the share of its current value flow
(proportional response).

Outputs change when inputs do, and the centre must allocate quantities, not fractions, so it predicts
the new outputs from what the firms reported: their marginal productivities give the output
elasticities ε = (∂f_i/∂x)·x / q_i, and the log-linear prediction solves

    (I − ε_v) Δlog q = ε_r Δlog g + ε_v Δlog f       (Δlog v_ik = Δlog f_ik + Δlog q_k).

It then sends r_ij = g_ij R_j and v_ik = f_ik q̂_k; consumption takes what is left of actual output.
For Cobb–Douglas technology the elasticities are constant and the prediction is exact, so consumption is
exactly f_ck q_k > 0.

Step-size control, which is what makes the procedure feasible and monotone in discrete time: the centre
sends the proposed allocation, firms report output there, and the centre accepts it only if every
consumption stays positive and welfare does not fall; then η grows (×`grow`, capped at `max_step`).
Otherwise the allocation stays and η shrinks (×`shrink`). So every iterate is feasible and welfare is
non-decreasing by construction, for any returns to scale. In log coordinates the problem is a convex
geometric program, which is why the procedure also reaches the optimum under increasing returns.

The start is a feasible allocation that spreads each resource equally over the firms using it and
gives firms intermediate goods in proportion to their input shares, scaled so that about 18% of every
good's output is used as input (Heal assumes a feasible start is given). Domain: every welfare weight > 0
(a good nobody values has no consumption value to compare against).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._linalg import solve
from ..economies.production import FirmTechnology, Plan, ProductionEconomy, firm_output, welfare, xlogy_masked
from .base import Messages, Observation, Procedure

__all__ = ["Heal", "firm_report", "feasible_start"]


def firm_report(tech: FirmTechnology, resources: Array, inputs: Array) -> tuple[Array, Array, Array]:
    """The firm-side agent: output and marginal productivities at the allocation it was sent."""
    q, (mp_r, mp_v) = jax.value_and_grad(firm_output, argnums=(1, 2))(tech, resources, inputs)
    return q, mp_r, mp_v


def feasible_start(economy: ProductionEconomy) -> tuple[Array, Array]:
    """A strictly feasible starting allocation (r [n, m], v [n, n]) with positive consumption of every good.

    v_ik = θ_k β_ik with log θ solving (I − M) log θ = a − log(2e Σ_i β_ik), where M = ρβ and a is the
    log output at unit θ; then each good's intermediate use is 1/(2e) ≈ 18% of its output.
    """
    alpha, beta = economy.resource_shares, economy.input_shares
    users = alpha > 0
    count = jnp.sum(users, axis=0)
    r = jnp.where(users, economy.endowments[None, :] / jnp.maximum(count, 1)[None, :], 0.0)
    M = economy.scaled_input_shares
    a = (
        jnp.log(economy.tfp)
        + jnp.sum(xlogy_masked(economy.returns_to_scale[:, None] * alpha, r), axis=1)
        + jnp.sum(xlogy_masked(M, beta), axis=1)
    )
    colsum = jnp.sum(beta, axis=0)
    target = a - jnp.where(colsum > 0, jnp.log(2.0 * jnp.e * jnp.where(colsum > 0, colsum, 1.0)), 0.0)
    log_theta = solve(jnp.eye(economy.n, dtype=a.dtype) - M, target)
    v = beta * jnp.exp(log_theta)[None, :]
    return r, v


class HealState(eqx.Module):
    plan: Plan
    welfare: Array
    marginal_resources: Array  # firms' last reported ∂f_i/∂r_ij
    marginal_inputs: Array  # firms' last reported ∂f_i/∂v_ik
    step_size: Array


def _reshare(x: Array, value: Array, eta: Array) -> Array:
    """New fractions of each column's total over its uses (rows), moved towards above-average value.

    x [uses, items]: current quantities; value [uses, items]: their marginal social values. Returns
    fractions [uses, items] summing to 1 over the uses of each item, exactly 0 where x == 0.
    """
    total = jnp.sum(x, axis=0)
    safe_total = jnp.where(total > 0, total, 1.0)
    average = jnp.sum(x * value, axis=0) / safe_total
    used = (x > 0) & (value > 0)
    ratio = jnp.where(used, value / jnp.where(average > 0, average, 1.0)[None, :], 1.0)
    moved = jnp.where(used, x / safe_total[None, :] * jnp.exp(eta * jnp.log(ratio)), 0.0)
    norm = jnp.sum(moved, axis=0)
    return moved / jnp.where(norm > 0, norm, 1.0)[None, :]


def _log_ratio(new: Array, old: Array) -> Array:
    ok = (new > 0) & (old > 0)
    return jnp.where(ok, jnp.log(jnp.where(ok, new, 1.0)) - jnp.log(jnp.where(ok, old, 1.0)), 0.0)


class Heal(Procedure):
    """Heal's procedure; see the module docstring for the rule and its step-size control.

    Attributes:
        step_size: initial η. grow, shrink, max_step: step-size control.
        tolerance: stop when every marginal social value is within this relative distance of the
            reference it is compared with (the optimality conditions hold to this accuracy).
    """

    name: ClassVar[str] = "heal"
    has_prices: ClassVar[bool] = False
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(0.5), converter=jnp.asarray)
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-7), converter=jnp.asarray)
    grow: Array = eqx.field(default_factory=lambda: jnp.asarray(1.5), converter=jnp.asarray)
    shrink: Array = eqx.field(default_factory=lambda: jnp.asarray(0.5), converter=jnp.asarray)
    max_step: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        return jnp.any(economy.welfare_weights <= 0)

    def domain_message(self) -> str:
        return "heal: needs every welfare weight > 0"

    def _round(self, economy: ProductionEconomy, r: Array, v: Array):
        """Centre → firms: allocations; firms → centre: outputs and marginal productivities."""
        q, mp_r, mp_v = jax.vmap(firm_report)(economy.firms, r, v)
        c = q - jnp.sum(v, axis=0)
        plan = Plan(consumption=c, output=q, resource_use=r, intermediate_use=v)
        return plan, mp_r, mp_v, Messages.of((r, v), (q, mp_r, mp_v))

    def init(self, economy: ProductionEconomy) -> tuple[HealState, Messages]:
        r, v = feasible_start(economy)
        plan, mp_r, mp_v, msgs = self._round(economy, r, v)
        eta = jnp.asarray(self.step_size, economy.tfp.dtype)
        return HealState(plan, welfare(economy, plan.consumption), mp_r, mp_v, eta), msgs

    def _values(self, economy: ProductionEconomy, state: HealState):
        """Marginal social values of every use: (σ, σ̄, μ, π).

        π = ∂U/∂c is a good's value in consumption. An extra unit of good i's *output* is shared over
        all of i's uses in their current fractions, so it is worth λ_i = f_ci π_i + Σ_j f_ji λ_j ∂f_j/∂v_ji
        (a linear system in λ, solved from the firms' reports); inputs of firm i are valued at λ_i
        times their marginal productivity. At the optimum every use of a good has the same value and
        λ = π.
        """
        plan = state.plan
        pi = jax.grad(welfare, argnums=1)(economy, plan.consumption)
        q = plan.output
        # B[j, i] = f_ji ∂f_j/∂v_ji: output of j gained per unit of i's output sent along i's uses
        B = plan.intermediate_use * state.marginal_inputs / q[None, :]
        lam = solve(jnp.eye(economy.n, dtype=q.dtype) - B.T, plan.consumption / q * pi)
        sigma = lam[:, None] * state.marginal_resources
        total = jnp.sum(plan.resource_use, axis=0)
        sigma_bar = jnp.sum(plan.resource_use * sigma, axis=0) / jnp.where(total > 0, total, 1.0)
        mu = lam[:, None] * state.marginal_inputs
        return sigma, sigma_bar, mu, pi

    def step(self, economy: ProductionEconomy, state: HealState) -> tuple[HealState, Messages]:
        sigma, _, mu, pi = self._values(economy, state)
        eta = state.step_size
        plan = state.plan
        n = economy.n
        # resources: fractions of each endowment over the firms using it
        g_old = plan.resource_use / economy.endowments[None, :]
        g_new = _reshare(plan.resource_use, sigma, eta)
        # goods: fractions of each output over its uses; rows 0..n-1 are firms, row n is consumption
        uses = jnp.concatenate([plan.intermediate_use, plan.consumption[None, :]])
        f_old = uses / plan.output[None, :]
        f_new = _reshare(uses, jnp.concatenate([mu, pi[None, :]]), eta)
        # predicted outputs from the firms' reported elasticities (exact for Cobb–Douglas)
        q = plan.output
        eps_r = state.marginal_resources * plan.resource_use / q[:, None]
        eps_v = state.marginal_inputs * plan.intermediate_use / q[:, None]
        dlog_f = _log_ratio(f_new[:n], f_old[:n])
        rhs = jnp.sum(eps_r * _log_ratio(g_new, g_old), axis=1) + jnp.sum(eps_v * dlog_f, axis=1)
        dlog_q = solve(jnp.eye(n, dtype=q.dtype) - eps_v, rhs)
        r = g_new * economy.endowments[None, :]
        v = f_new[:n] * (q * jnp.exp(dlog_q))[None, :]
        new_plan, mp_r, mp_v, msgs = self._round(economy, r, v)
        new_welfare = welfare(economy, jnp.maximum(new_plan.consumption, 0.0))
        accept = jnp.all(new_plan.consumption > 0) & (new_welfare >= state.welfare)
        new_eta = jnp.where(accept, jnp.minimum(eta * self.grow, self.max_step), eta * self.shrink)
        proposed = HealState(new_plan, new_welfare, mp_r, mp_v, new_eta)
        kept = HealState(state.plan, state.welfare, state.marginal_resources, state.marginal_inputs, new_eta)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b), proposed, kept), msgs

    def observe(self, economy: ProductionEconomy, state: HealState) -> Observation:
        sigma, sigma_bar, mu, pi = self._values(economy, state)
        uses_r = economy.resource_shares > 0
        uses_v = economy.input_shares > 0
        dev_r = jnp.where(uses_r, jnp.abs(sigma / jnp.where(sigma_bar > 0, sigma_bar, 1.0)[None, :] - 1.0), 0.0)
        dev_v = jnp.where(uses_v, jnp.abs(mu / pi[None, :] - 1.0), 0.0)
        nan = lambda k: jnp.full((k,), jnp.nan, pi.dtype)
        return Observation(
            plan=state.plan,
            goods_prices=nan(economy.n),
            resource_prices=nan(economy.m),
            residual=jnp.maximum(jnp.max(dev_r, initial=0.0), jnp.max(dev_v, initial=0.0)),
            failed=jnp.asarray(False),
        )
