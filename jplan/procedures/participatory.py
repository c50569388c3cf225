"""Iterative participatory planning (Albert and Hahnel 1991; Hahnel 2005), with a facilitation board that
adjusts indicative prices as the Pequod simulator does (a procedure beyond the seeds).

Actors and messages, each round:

- the **facilitation board** (the centre) broadcasts indicative prices for goods p and resources s (n + m
  floats);
- every **worker council** (a firm, knowing only its own technology) proposes its production and its
  requests for inputs and resources: the proposal whose social benefit exceeds its social cost by the most
  at the indicative prices (benefit p_i q_i, cost p·v_i + s·r_i), i.e. Arrow–Hurwicz's profit-maximising
  answer (1 + n + m floats each, not anonymous totals: in participatory planning every council's proposal
  is seen by the others);
- every **consumer council** k = 1..K proposes the consumption that maximises its members' own
  (private) welfare within its budget (n floats each). Council k's preferences are the share a_kj of the
  planners' weight of good j (w^(k) = a_k·w, Σ_k a_kj = 1, drawn once from `seed`: the councils differ in what
  they want), and its budget is the share of the social income I = s·R + Σ_i (p_i q_i − p·v_i − s·r_i) in
  proportion to its weight in welfare, |w^(k)|/|w|;
- the board moves each price by the relative excess demand of its good, capped as in Pequod:
  p_j ← p_j·(1 + clip(δ·(D_j − S_j)/S_j, −cap, cap)).

It stops when every relative excess demand |D − S|/S is at most the tolerance (the councils' proposals
then balance: the plan is the competitive equilibrium of these budgets).

**Choices, and what follows from them.** (1) Budgets. Albert and Hahnel tie budgets to effort ratings; we set
them in proportion to each council's weight in the planners' welfare. With log welfare that is the one
choice (Negishi weights) under which the councils' aggregate demand is the planners' own, w_j·I/(|w| p_j),
*whatever the split a*: the equilibrium is then the planners' optimum and the gap is measured against it.
With other budgets (equal per council, say) the process converges to another efficient plan, and its gap
to the planners' optimum measures the budget rule, not the procedure. (2) Preferences. For CES and
Stone–Geary welfare the councils' demands aggregate to the planners' only when their preferences are
proportional, so there the procedure uses one consumer council (K = 1). (3) The board's rule is Pequod's
capped proportional adjustment on (D − S)/S; δ = `step_size`, cap = `cap`. (4) Councils revise every round
from the new prices (no memory of their earlier proposals). (5) Measured (64 random economies per family,
n = 5, returns 0.6–0.9): with δ = 0.1 and cap = 0.05 it converged on every economy of five families
(Cobb–Douglas; CES complements and substitutes; Stone–Geary and CES welfare) in a median 150–335 rounds
(at most 514), to the planners' optimum within 1.2e-14; with δ = 0.5, cap = 0.2 most runs fall into a
2-cycle of prices (the board overshoots both ways; the run then ends `not_converged`, the residual
alternating between two values). The domain is Arrow–Hurwicz's (strictly
decreasing returns), since worker councils answer prices as firms do.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..economies.production import Plan, ProductionEconomy, consumer_demand, is_cobb_douglas
from .arrow_hurwicz import ArrowHurwicz, firms_supply, firms_supply_flops
from .base import Messages, Observation

__all__ = ["Participatory"]


class ParticipatoryState(eqx.Module):
    goods_prices: Array
    resource_prices: Array
    plan: Plan
    excess: Array  # relative excess demand (D − S)/S of goods and resources
    shares: Array  # a [K, n]: each consumer council's share of each good's weight (its private preferences)


class Participatory(ArrowHurwicz):
    """Iterative participatory planning (see the module docstring).

    Attributes:
        step_size: δ, the board's adjustment per unit of relative excess demand.
        cap: the largest relative price change per round (Pequod caps its adjustments).
        councils: K, consumer councils (static; 1 for CES and Stone–Geary welfare).
        seed: the draw of the councils' private preferences (static).
        tolerance: stop when every |D − S|/S is at most this.
    """

    name: ClassVar[str] = "participatory"
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(0.1), converter=jnp.asarray)
    cap: Array = eqx.field(default_factory=lambda: jnp.asarray(0.05), converter=jnp.asarray)
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-7), converter=jnp.asarray)
    councils: int = eqx.field(default=4, static=True)
    seed: int = eqx.field(default=0, static=True)
    rule: str = eqx.field(default="multiplicative", static=True)

    def _round(self, economy: ProductionEconomy, p: Array, s: Array, shares: Array):
        """Board → councils: prices; worker councils → board: proposals; consumer councils → board: proposals."""
        n, m = economy.n, economy.m
        prices = jnp.concatenate([p, s])
        q, r, v, profit, work = firms_supply(economy, prices)
        income = jnp.sum(s * economy.endowments) + jnp.sum(profit)
        log_welfare = is_cobb_douglas(economy.welfare_elasticity) & jnp.all(economy.subsistence == 0)
        w = economy.welfare_weights
        # each council's demand: log utility with weights a_k·w and budget I·|a_k w|/|w| (log welfare), else
        # one council with the planners' welfare and the whole supernumerary income
        council_w = shares * w[None, :]
        budgets = income * jnp.sum(council_w, axis=1) / jnp.sum(w)
        safe_p = jnp.where(w > 0, p, 1.0)
        per_council = jnp.where(w[None, :] > 0, council_w / jnp.sum(council_w, axis=1, keepdims=True)
                                * budgets[:, None] / safe_p[None, :], 0.0)
        c_log = jnp.sum(per_council, axis=0)
        c_one = consumer_demand(economy, p, income - jnp.sum(p * economy.subsistence))
        c = jnp.where(log_welfare, c_log, c_one)
        plan = Plan(consumption=c, output=q, resource_use=r, intermediate_use=v)
        demand_goods = c + jnp.sum(v, axis=0)
        demand_res = jnp.sum(r, axis=0)
        tiny = jnp.finfo(p.dtype).tiny
        excess = jnp.concatenate([(demand_goods - q) / jnp.maximum(q, tiny),
                                  (demand_res - economy.endowments) / economy.endowments])
        K = shares.shape[0]
        # messages: prices broadcast once; every worker council's proposal (q, v_i, r_i), every consumer council's
        # consumption. Work: the councils' answers (firms: XLA's count; consumer councils ≈ 4n each); the board's
        # excess demands and capped update (≈ 10 per price).
        msgs = Messages.of(prices, (q, v, r, per_council if K > 1 else c), firm_work=work,
                           centre_flops=10 * (n + m),
                           firm_flops=firms_supply_flops(economy, prices) + 4.0 * n * K)
        return plan, excess, msgs

    totals = None  # its state keeps the plan: `run` observes every step

    def init(self, economy: ProductionEconomy):
        n, m = economy.n, economy.m
        dtype = economy.endowments.dtype
        log_welfare = is_cobb_douglas(economy.welfare_elasticity) & jnp.all(economy.subsistence == 0)
        K = self.councils
        draw = jax.random.dirichlet(jax.random.PRNGKey(self.seed), jnp.ones((K,), dtype), (n,)).T  # [K, n]
        one = jnp.zeros((K, n), dtype).at[0].set(1.0)
        shares = jnp.where(log_welfare, draw, one)
        p, s = jnp.full((n,), self.initial_price, dtype), jnp.full((m,), self.initial_price, dtype)
        plan, excess, msgs = self._round(economy, p, s, shares)
        return ParticipatoryState(p, s, plan, excess, shares), msgs

    def step(self, economy: ProductionEconomy, state: ParticipatoryState):
        n = economy.n
        move = jnp.clip(self.step_size * state.excess, -self.cap, self.cap)
        p = state.goods_prices * (1.0 + move[:n])
        s = state.resource_prices * (1.0 + move[n:])
        plan, excess, msgs = self._round(economy, p, s, state.shares)
        return ParticipatoryState(p, s, plan, excess, state.shares), msgs

    def observe(self, economy: ProductionEconomy, state: ParticipatoryState) -> Observation:
        return Observation(plan=state.plan, goods_prices=state.goods_prices, resource_prices=state.resource_prices,
                           residual=jnp.max(jnp.abs(state.excess)), failed=jnp.asarray(False))
