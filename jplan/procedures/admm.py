"""ADMM and a primal–dual hybrid gradient method: modern decentralised procedures (beyond the seeds).

Both treat the plan as an *exchange* among N = n + 2 agents, each with a net supply vector x_j over the n
goods and m resources: the n firms (x_j = y_j ∈ Y_j, their production sets, private), the consumer (x_c =
(−c, 0), welfare U, which the centre holds as in Arrow–Hurwicz) and the holder of the endowments (x_R = (0, s),
0 ≤ s ≤ R: resources released, the rest disposed of). The plan balances when Σ_j x_j = 0. Each round the
centre broadcasts one vector of n + m floats; every agent answers with a *proximal* plan — the best at the
announced prices that stays close to its own previous plan (`jplan.procedures.proximal`: a firm projects onto
its own production set, which it alone knows) — and the centre hears the totals (Arrow–Hurwicz's
anonymity: n + m floats) plus, for its stopping rule, each firm's largest relative change (one float per firm).

- ``admm`` — ADMM for the exchange problem (Boyd, Parikh, Chu, Peleato and Eckstein 2011, *Distributed
  Optimization and Statistical Learning via the Alternating Direction Method of Multipliers*, §7.3.2), with a
  diagonal penalty W (a price per unit of each good, from public data; ADMM in the metric W):

      x_j ← argmin_{x ∈ X_j} f_j(x) + ½‖x − (x_j − x̄ + p/W)‖²_W,     p ← p − W ⊙ x̄⁺,

  x̄ = Σ_j x_j / N the mean net supply (negative where demand exceeds supply, so prices rise there). The centre
  broadcasts p/W − x̄; agent j adds its own previous plan.
- ``pdhg`` — the primal–dual hybrid gradient method of Chambolle and Pock (2011, *J. Math. Imaging Vis.* 40,
  120–145) on the saddle point min_x max_{p ≥ 0} Σ f_j(x_j) − p·Σ_j x_j, with their diagonal preconditioning
  (Pock and Chambolle 2011, ICCV; α = 0): primal step T = W⁻¹ for every agent, dual step Σ = W/(n + 1) (n + 1
  agents touch each good and each resource), and the extrapolation θ = 1:

      x_j ← argmax_{x ∈ X_j} p·x − f_j(x) − ½‖x − x_j‖²_W,     p ← max(0, p − Σ ⊙ (2 Σ_j x_j⁺ − Σ_j x_j)).

  The centre broadcasts p; the totals it hears give the extrapolated excess demand.

The metric W (a price per unit of quantity, so that η is unit-free). The opening round uses
W_k = η p⁰_k / R̄ for goods and η s⁰_j / R_j for resources, with (p⁰, s⁰) Arrow–Hurwicz's public-data start
prices and R̄ the mean endowment; it starts from the zero plan. After every round the centre re-sets
W_k = η max(|p_k|, 10⁻³ p⁰_k) / (gross flow of k), from its current prices and the totals it heard (`penalty =
"prices"`, the default): a variable metric, in the spirit of the varying penalty of Boyd et al. §3.4.1, which
keeps the quadratic term's value comparable with the plan's at any price level. The textbook fixed metric
(`penalty = "fixed"`) is kept as an option; measured on 32 Cobb–Douglas economies (n = 5), it converged on none
within 400 rounds at η = 0.3, 1 or 3 (median gap after 400 rounds 1.74, 1.26, 0.85; on one economy inspected the
public start prices were 40× below the optimum's, and W inherits that scale), where the variable metric converges
on all 32 in a median 96 rounds (η = 3). Default η: 3 for ADMM (1 took 224 rounds, 10 took 220,
30 left a quarter unconverged at 600), 1.5 for PDHG (3 drove a price to zero at the first round and diverged
on every economy; 2 converged on all 32 of each family but is close to that edge; 1 took twice the rounds).

What they need: convex production sets (every returns_to_scale ≤ 1, no set-up cost), so both run on the
constant-returns economies that price procedures cannot (their proximal answers are finite there; Arrow–Hurwicz's
are not). With increasing returns the sets are not convex and the economy is out of their domain. The plan is
not feasible before the limit (like Arrow–Hurwicz's). The stopping rule is the standard pair for both methods:
the primal residual (largest relative imbalance |Σ_j x_j| / gross flow, goods and resources) and the dual one
(largest relative change of an agent's plan in the round) both at most `tolerance`.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from ..economies.production import FirmTechnology, Plan, ProductionEconomy, for_firms
from .arrow_hurwicz import ArrowHurwicz
from .base import Messages, Observation, Procedure, outputs_along_the_ray
from .proximal import PROX_ITERATIONS, consumer_proximal, firm_proximal
from .work import firms_flops

__all__ = ["ADMM", "PDHG", "ProximalState", "convex_technology_violation"]


def convex_technology_violation(economy: ProductionEconomy) -> Array:
    """True unless every firm's production set is convex (returns_to_scale ≤ 1, no set-up cost) and its
    technology differentiable (not Leontief's fixed coefficients), checked on the data; a user technology along
    the ray through one unit of every input (f(2x) ≤ 2 f(x) (1 + 1e-9))."""
    from ..economies.technology import is_differentiable

    firms = economy.firms
    if not is_differentiable(firms):  # a kinked technology (Leontief): the firm's Newton solve needs a Hessian
        return jnp.asarray(True)
    if isinstance(firms, FirmTechnology):
        return jnp.any(economy.returns_to_scale > 1.0 + 1e-12) | jnp.any(economy.setup_cost > 0)
    _, one, two = outputs_along_the_ray(economy)
    return jnp.any(~((two <= 2.0 * one * (1.0 + 1e-9)) & jnp.isfinite(two) & (one > 0)))


class ProximalState(eqx.Module):
    """Each firm's own plan (net supply, inputs, output: its private memory and warm start), the centre's
    consumption and released resources, the prices, the penalty W and the largest relative change of an agent's
    plan in the last round. The totals Σ_j x_j are `total()` (the centre hears the firms' part as totals)."""

    net: Array  # [n, n + m] firms' net supplies y_j (goods, resources)
    inputs: Array  # [n, m + n] firms' inputs (resources, goods)
    output: Array  # [n]
    consumption: Array  # [n]
    released: Array  # [m]
    prices: Array  # [n + m]
    weight: Array  # [n + m] W
    change: Array  # []

    def total(self) -> Array:
        """Σ_j x_j [n + m]: the firms' net supplies, the consumer's −c and the released resources s."""
        return jnp.sum(self.net, axis=0) + jnp.concatenate([-self.consumption, self.released])


def _relative_change(new: Array, old: Array) -> Array:
    size = jnp.maximum(jnp.max(jnp.abs(new), axis=-1), jnp.max(jnp.abs(old), axis=-1))
    tiny = jnp.finfo(new.dtype).tiny
    return jnp.max(jnp.abs(new - old), axis=-1) / jnp.maximum(size, tiny)


class ADMM(Procedure):
    """ADMM for the exchange problem (see the module docstring).

    Attributes:
        step_size: η, the unit-free penalty (W = η × start price per typical quantity).
        tolerance: stop when the largest relative imbalance and the largest relative change of an agent's
            plan are both at most this.
    """

    name: ClassVar[str] = "admm"
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(3.0), converter=jnp.asarray)
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-7), converter=jnp.asarray)
    penalty: str = eqx.field(default="prices", static=True)
    # a round costs every firm a Newton solve: once a batch has stopped, skip it
    skip_when_batch_stopped: ClassVar[bool] = True

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        return convex_technology_violation(economy)

    def domain_message(self) -> str:
        return (f"{self.name}: needs convex production sets (every returns_to_scale ≤ 1, no set-up cost) and a "
                "differentiable technology (not fixed coefficients); with increasing returns a firm's proximal "
                "answer is not defined, and the firms solve for it by Newton's method")

    # -- agents ------------------------------------------------------------------------------------
    def _agents(self, economy: ProductionEconomy, state: ProximalState, anchor_shift: Array):
        """One round: every agent's proximal answer to the target (its own previous plan + `anchor_shift`).

        The firms' part is `firm_proximal` on each firm's own technology; the consumer's and the holder's
        are the centre's. Returns the new state pieces and the messages."""
        n, m = economy.n, economy.m
        W = state.weight
        targets = state.net + anchor_shift[None, :]
        index = jnp.arange(n)
        weights = jnp.broadcast_to(W, (n, n + m))
        y, x, q = for_firms(economy, firm_proximal, index, targets, weights, state.inputs)
        c = consumer_proximal(economy, -state.consumption + anchor_shift[:n], W[:n], state.consumption)
        s = jnp.clip(state.released + anchor_shift[n:], 0.0, economy.endowments)
        firm_change = _relative_change(y, state.net)
        change = jnp.maximum(jnp.max(firm_change), jnp.maximum(_relative_change(c, state.consumption),
                                                               _relative_change(s, state.released)))
        # messages: the broadcast (n + m); Arrow–Hurwicz's totals (outputs, total input use of each good and
        # resource: 2n + m), from which the centre forms Σ_j x_j and the gross flows, and each firm's change (n).
        # Work: the firms' Newton iterations (XLA's count of one answer × n); the centre's consumer answer and
        # updates (≈ 12 per price, and ≈ 40 n per Newton iteration where its welfare is CES)
        reports = (q, jnp.sum(x[:, m:], axis=0), jnp.sum(x[:, :m], axis=0), firm_change)
        msgs = Messages.of(anchor_shift, reports, firm_work=n * PROX_ITERATIONS,
                           centre_flops=12 * (n + m) + 40 * PROX_ITERATIONS * n,
                           firm_flops=firms_flops(economy, firm_proximal, index, targets, weights, state.inputs))
        return (y, x, q, c, s, change), msgs

    def _start(self, economy: ProductionEconomy) -> ProximalState:
        """The zero plan, Arrow–Hurwicz's public-data prices and the penalty W from them (public data only)."""
        n, m = economy.n, economy.m
        dtype = economy.endowments.dtype
        p, s = ArrowHurwicz().start_prices(economy)
        R = economy.endowments
        typical = jnp.mean(R)
        prices = jnp.concatenate([p, s])
        weight = self.step_size * prices / jnp.concatenate([jnp.full((n,), typical, dtype), R])
        # the agents' first Newton guesses (not their plans): a share of the typical quantity of each input
        guess = jnp.broadcast_to(jnp.concatenate([R, jnp.full((n,), typical, dtype)]) / n, (n, m + n))
        zeros = jnp.zeros((n, n + m), dtype)
        return ProximalState(zeros, guess, jnp.zeros((n,), dtype), jnp.zeros((n,), dtype),
                             jnp.zeros((m,), dtype), prices, weight, jnp.asarray(jnp.inf, dtype))

    def init(self, economy: ProductionEconomy):
        return self._round(economy, self._start(economy))

    def step(self, economy: ProductionEconomy, state: ProximalState):
        return self._round(economy, state)

    def _round(self, economy: ProductionEconomy, state: ProximalState):
        N = economy.n + 2
        mean = state.total() / N
        (y, x, q, c, s, change), msgs = self._agents(economy, state, state.prices / state.weight - mean)
        new = ProximalState(y, x, q, c, s, state.prices, state.weight, change)
        prices = state.prices - state.weight * new.total() / N
        return ProximalState(y, x, q, c, s, prices, self._penalty(economy, prices, new), change), msgs

    def _penalty(self, economy, prices: Array, state: ProximalState) -> Array:
        """W for the next round, from the new `prices` and the round's plans in `state`: η × price per unit of
        the good's gross flow (what the totals show)."""
        if self.penalty == "fixed":
            return state.weight
        m, x = economy.m, state.inputs
        flow = jnp.concatenate([0.5 * (state.consumption + jnp.sum(x[:, m:], axis=0) + state.output),
                                0.5 * (jnp.sum(x[:, :m], axis=0) + state.released)])
        floor = 1e-3 * jnp.mean(economy.endowments)
        # a price that hits zero (PDHG projects onto p ≥ 0) must not zero the metric: 1e-3 of its start price
        start = jnp.concatenate(ArrowHurwicz().start_prices(economy))
        return self.step_size * jnp.maximum(jnp.abs(prices), 1e-3 * start) / jnp.maximum(flow, floor)

    # -- what the iterate says ---------------------------------------------------------------------
    def observe(self, economy: ProductionEconomy, state: ProximalState) -> Observation:
        n, m = economy.n, economy.m
        r, v = state.inputs[:, :m], state.inputs[:, m:]
        plan = Plan(consumption=state.consumption, output=state.output, resource_use=r, intermediate_use=v)
        gross = jnp.concatenate([state.consumption + jnp.sum(v, axis=0) + state.output,
                                 jnp.sum(r, axis=0) + state.released])
        tiny = jnp.finfo(gross.dtype).tiny
        imbalance = jnp.max(jnp.abs(state.total()) / jnp.maximum(gross, tiny))
        residual = jnp.maximum(imbalance, state.change)
        return Observation(plan=plan, goods_prices=state.prices[:n], resource_prices=state.prices[n:],
                           residual=residual, failed=jnp.asarray(False))


class PDHG(ADMM):
    """Chambolle–Pock's primal–dual hybrid gradient method on the exchange saddle point, diagonally
    preconditioned (see the module docstring).

    Attributes:
        step_size: η, the unit-free primal metric (T = W⁻¹, W = η × price per typical quantity).
        tolerance: as `admm`'s.
    """

    name: ClassVar[str] = "pdhg"
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(1.5), converter=jnp.asarray)

    def _round(self, economy: ProductionEconomy, state: ProximalState):
        (y, x, q, c, s, change), msgs = self._agents(economy, state, state.prices / state.weight)
        new = ProximalState(y, x, q, c, s, state.prices, state.weight, change)
        sigma = state.weight / (economy.n + 1)
        prices = jnp.maximum(0.0, state.prices - sigma * (2.0 * new.total() - state.total()))
        return ProximalState(y, x, q, c, s, prices, self._penalty(economy, prices, new), change), msgs
