"""Arrow–Hurwicz (Lange) price tâtonnement (Arrow & Hurwicz 1960; seed 001 §5.1.1).

Each step the centre (CPB) announces prices for goods p and resources s; every firm, seeing only its
own technology and those prices, returns its profit-maximising plan; the centre chooses consumption to
maximise U(c) − p·c (c_k = w_k/p_k) and moves prices by excess demand z = demand − supply.

Price rules (`rule`):

- ``"additive"``: the seed's rule p ← max(0, p + η z), resources alike. Faithful, but scale-dependent:
  it converges on decreasing-returns economies only for small η and slowly, and diverges for large η
  (the run then reports status "diverged").
- ``"multiplicative"``: log p ← log p + η e with e = (D − S)/(D + S) ∈ [−1, 1] the relative excess
  demand. Prices stay positive and no step moves a price by more than a factor e^η. Because e has the
  sign of z, this is a diagonally scaled gradient step on the dual function below.
- ``"adaptive"`` (default): the multiplicative rule with a step size the centre adapts by testing
  the dual function g(p, s) = max_c [U(c) − p·c] + Σ_i profit_i + s·R, whose minimum is U*.
  A trial step that lowers g is accepted and η grows by `grow`; otherwise the prices stay and η is
  multiplied by `shrink`. Firms report their profit as one extra float each.

AH is not feasible before the limit (its plan is what the prices call forth) and needs every firm to
have decreasing returns (ρ < 1): with constant returns the profit-maximising supply is 0 or unbounded
(bang-bang) and with increasing returns there is no maximum at all, so such economies get status
"out_of_domain".
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..economies.production import FirmTechnology, Plan, ProductionEconomy, xlogy_masked
from .base import Messages, Observation, Procedure

__all__ = ["ArrowHurwicz", "firm_supply", "AHState"]

RULES = ("additive", "multiplicative", "adaptive")


def firm_supply(tech: FirmTechnology, index: Array, prices: Array) -> tuple[Array, Array, Array, Array]:
    """A firm's profit-maximising plan at prices (decreasing returns only): the firm-side agent.

    Args:
        tech: this firm's technology (its private information).
        index: which good this firm makes (it reads its own output price p_i at this index).
        prices: the centre's message, [n + m]: goods prices then resource prices.

    Returns:
        (output q_i, resource demands r_i [m], input demands v_i [n], profit), closed form for
        Cobb–Douglas: q = [A (ρ p_i)^ρ Π (a_l/π_l)^(ρ a_l)]^(1/(1−ρ)), input_l = ρ a_l p_i q / π_l.
    """
    m = tech.resource_shares.shape[0]
    n = tech.input_shares.shape[0]
    goods_prices, resource_prices = prices[:n], prices[n:]
    own_price = goods_prices[index]
    rho = tech.returns_to_scale
    shares = jnp.concatenate([tech.resource_shares, tech.input_shares])
    input_prices = jnp.concatenate([resource_prices, goods_prices])
    ratio = jnp.where(shares > 0, shares / jnp.where(shares > 0, input_prices, 1.0), 1.0)
    log_q = (jnp.log(tech.tfp) + rho * jnp.log(rho * own_price) + rho * jnp.sum(xlogy_masked(shares, ratio))) / (1.0 - rho)
    q = jnp.exp(log_q)
    demand = jnp.where(shares > 0, rho * shares * own_price * q / jnp.where(shares > 0, input_prices, 1.0), 0.0)
    profit = (1.0 - rho) * own_price * q
    return q, demand[:m], demand[m:], profit


class AHState(eqx.Module):
    """Current prices, the plan they call forth, the dual value there, and the adaptive step size."""

    goods_prices: Array
    resource_prices: Array
    plan: Plan
    dual: Array
    step_size: Array


class ArrowHurwicz(Procedure):
    """Arrow–Hurwicz price tâtonnement; see the module docstring for the rules.

    Attributes:
        step_size: η (an array, so it can be swept, vmapped or differentiated).
        rule: "additive" (seed), "multiplicative" or "adaptive" (default).
        tolerance: stop when the largest relative excess demand |D − S|/(D + S) is below this.
        initial_price: starting price of every good and resource.
        grow, shrink, max_step: the adaptive rule's step-size control.
    """

    name: ClassVar[str] = "arrow-hurwicz"
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(0.1), converter=jnp.asarray)
    rule: str = eqx.field(default="adaptive", static=True)
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-7), converter=jnp.asarray)
    initial_price: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)
    grow: Array = eqx.field(default_factory=lambda: jnp.asarray(1.25), converter=jnp.asarray)
    shrink: Array = eqx.field(default_factory=lambda: jnp.asarray(0.5), converter=jnp.asarray)
    max_step: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)

    def __check_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"arrow-hurwicz: unknown rule {self.rule!r} (known: {', '.join(RULES)})")

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        return jnp.any(economy.returns_to_scale >= 1.0)

    def domain_message(self) -> str:
        return (
            "arrow-hurwicz: needs decreasing returns (every returns_to_scale < 1); with constant or "
            "increasing returns a firm's profit-maximising supply is zero or unbounded"
        )

    # -- agents and centre -------------------------------------------------------------------------
    def _respond(self, economy: ProductionEconomy, p: Array, s: Array):
        """Centre → firms: prices; firms → centre: their plans (and profits). Returns plan, dual, msgs."""
        n = economy.n
        message = jnp.broadcast_to(jnp.concatenate([p, s]), (n, n + economy.m))
        q, r, v, profit = jax.vmap(firm_supply)(economy.firms, jnp.arange(n), message)
        w = economy.welfare_weights
        c = jnp.where(w > 0, w / p, 0.0)
        plan = Plan(consumption=c, output=q, resource_use=r, intermediate_use=v)
        consumer = jnp.sum(xlogy_masked(w, c)) - jnp.sum(p * c)
        dual = consumer + jnp.sum(profit) + jnp.sum(s * economy.endowments)
        reports = (q, r, v, profit) if self.rule == "adaptive" else (q, r, v)
        return plan, dual, Messages.of(message, reports)

    @staticmethod
    def _relative_excess(economy: ProductionEconomy, plan: Plan):
        demand_goods = plan.consumption + jnp.sum(plan.intermediate_use, axis=0)
        demand_res = jnp.sum(plan.resource_use, axis=0)
        e_goods = (demand_goods - plan.output) / (demand_goods + plan.output)
        e_res = (demand_res - economy.endowments) / (demand_res + economy.endowments)
        raw = (demand_goods - plan.output, demand_res - economy.endowments)
        return (e_goods, e_res), raw

    def init(self, economy: ProductionEconomy) -> tuple[AHState, Messages]:
        dtype = economy.tfp.dtype
        p = jnp.full((economy.n,), self.initial_price, dtype)
        s = jnp.full((economy.m,), self.initial_price, dtype)
        plan, dual, msgs = self._respond(economy, p, s)
        return AHState(p, s, plan, dual, jnp.asarray(self.step_size, dtype)), msgs

    def step(self, economy: ProductionEconomy, state: AHState) -> tuple[AHState, Messages]:
        (e_goods, e_res), (z_goods, z_res) = self._relative_excess(economy, state.plan)
        eta = state.step_size
        if self.rule == "additive":
            p = jnp.maximum(0.0, state.goods_prices + eta * z_goods)
            s = jnp.maximum(0.0, state.resource_prices + eta * z_res)
        else:
            p = state.goods_prices * jnp.exp(eta * e_goods)
            s = state.resource_prices * jnp.exp(eta * e_res)
        plan, dual, msgs = self._respond(economy, p, s)
        if self.rule != "adaptive":
            return AHState(p, s, plan, dual, eta), msgs
        accept = jnp.isfinite(dual) & (dual <= state.dual)
        new_eta = jnp.where(accept, jnp.minimum(eta * self.grow, self.max_step), eta * self.shrink)
        keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b), new, old)
        p, s, plan, dual = keep((p, s, plan, dual), (state.goods_prices, state.resource_prices, state.plan, state.dual))
        return AHState(p, s, plan, dual, new_eta), msgs

    def observe(self, economy: ProductionEconomy, state: AHState) -> Observation:
        (e_goods, e_res), _ = self._relative_excess(economy, state.plan)
        residual = jnp.maximum(jnp.max(jnp.abs(e_goods)), jnp.max(jnp.abs(e_res)))
        return Observation(
            plan=state.plan,
            goods_prices=state.goods_prices,
            resource_prices=state.resource_prices,
            residual=residual,
            failed=jnp.asarray(False),
        )
