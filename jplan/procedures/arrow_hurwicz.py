"""Arrow–Hurwicz (Lange) price tâtonnement (Arrow & Hurwicz 1960; Lustosa (1987) §5.1.1).

Each step the centre (CPB) announces prices for goods p and resources s; every firm, seeing only its
own technology and those prices, returns its profit-maximising plan; the centre chooses consumption to
maximise U(c) − p·c (log and Stone–Geary welfare: c_k = γ_k + w_k/p_k; for CES welfare, whose U is
homogeneous of degree 1, it uses u = log U, see `jplan.economies.consumer_demand`) and moves prices by
excess demand z = demand − supply. Under the seed's anonymity the centre hears only totals: each good's
supply and the firms' total demand for each good and resource (2n + m floats up), and broadcasts the
n + m prices once.

Firms' supply is in closed form for CES technology (Cobb–Douglas included): with κ the unit cost of the
firm's degree-1 aggregate at the input prices, q = (ρ p_i A^(1/ρ)/κ)^(ρ/(1−ρ)), inputs (q/A)^(1/ρ)·∇κ.

Price rules (`rule`):

- ``"additive"`` (`arrow-hurwicz`, the seed's rule): p_k ← max(0, p_k + ρ_k z_k), resources alike, with
  one fixed speed per good as Arrow and Hurwicz allow. The seed's start is "an arbitrary price vector";
  ours uses public data only, so that prices start at the right scale: s⁰_j = Σw/(m R_j) (resources
  worth the planner's total weight) and p⁰_k = w_k / R̄ (consumption of about one mean endowment R̄ of
  each good). Unit normalisation of the speeds: ρ_k = η p⁰_k / (D⁰_k + S⁰_k), with D⁰_k and S⁰_k good k's
  demand and supply in the opening round, and ρ_j = η s⁰_j / R_j, so η is unit-free and the first step
  moves no price by more than η times its starting level. Faithful and slow: supplies of firms with returns near 1 are very
  elastic, so stable speeds are small. It diverges for large η (status "diverged"; a price driven to 0
  makes consumption demand unbounded, reported the same way).
- ``"multiplicative"``: log p ← log p + η e with e = (D − S)/(D + S) ∈ [−1, 1] the relative excess
  demand. Prices stay positive and no step moves a price by more than a factor e^η. Because e has the
  sign of z, this is a diagonally scaled gradient step on the dual function below.
- ``"adaptive"`` (`arrow-hurwicz-adaptive`, a variant, not the seed's rule): the multiplicative rule with
  a step size the centre adapts by testing
  the dual function g(p, s) = max_c [U(c) − p·c] + Σ_i profit_i + s·R, whose minimum is U*.
  A trial step that lowers g is accepted and η grows by `grow`; one that raises g by no more than g's
  own rounding error (16 ulps of the sum of the absolute terms of g) is accepted with η unchanged;
  otherwise the prices stay and η is multiplied by `shrink`. (Near the optimum the true decrease of g
  falls below its rounding error; an exact test then rejects steps on noise and, on some CPUs, stalled
  at a relative excess demand of 2e-7, just above the default tolerance.) The centre also hears the firms' total profit (one extra float).

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

from ..economies.production import (
    FirmTechnology,
    Plan,
    ProductionEconomy,
    ces_cost_shares,
    cobb_douglas_cost_shares,
    consumer_demand,
    for_firms,
    is_cobb_douglas,
    welfare,
    welfare_index,
)
from .._batching import cond_all
from .base import Messages, Observation, Procedure, Totals, decreasing_returns_violation
from .work import firms_flops

__all__ = ["ArrowHurwicz", "ArrowHurwiczAdaptive", "firm_supply", "firms_totals", "AHState"]

RULES = ("additive", "multiplicative", "adaptive")
ROUNDING_ULPS = 16  # the adaptive rule's acceptance slack, in units of eps × the size of g's terms


def firm_supply(tech: FirmTechnology, index: Array, prices: Array, log_prices: Array | None = None,
                cobb_douglas: bool = False) -> tuple[Array, Array, Array, Array]:
    """A firm's profit-maximising plan at prices (decreasing returns only): the firm-side agent.

    Args:
        tech: this firm's technology (its private information).
        index: which good this firm makes (it reads its own output price p_i at this index).
        prices: the centre's message, [n + m]: goods prices then resource prices.
        log_prices: optionally log(prices), where the caller prices many firms at one vector and takes
            the logarithms once (`firms_supply`); the answer is the same.
        cobb_douglas: (static) the caller knows this firm is Cobb–Douglas without a set-up cost, and the
            CES and set-up formulas are skipped; the answer is the same.

    Returns:
        (output q_i, resource demands r_i [m], input demands v_i [n], profit). With κ the unit cost of the
        firm's degree-1 aggregate at its input prices π and s its cost shares (`ces_cost_shares`):
        q = (ρ p_i A^(1/ρ)/κ)^(ρ/(1−ρ)) and input_l = ρ p_i q s_l / π_l (cost is ρ times revenue at the
        optimum); for Cobb–Douglas s = the shares, which is q = [A (ρ p_i)^ρ Π (a_l/π_l)^(ρ a_l)]^(1/(1−ρ)).
        With a set-up cost k the same plan plus k κ s/π of inputs, or nothing where its profit would be
        negative.
    """
    m = tech.resource_shares.shape[0]
    n = tech.input_shares.shape[0]
    if log_prices is None:
        log_prices = jnp.log(jnp.where(prices > 0, prices, 1.0))
    log_prices = jnp.where(prices > 0, log_prices, -jnp.inf)
    own_price = prices[index]
    rho = tech.returns_to_scale
    shares = jnp.concatenate([tech.resource_shares, tech.input_shares])
    input_prices = jnp.concatenate([prices[n:], prices[:n]])
    log_input_prices = jnp.concatenate([log_prices[n:], log_prices[:n]])
    if cobb_douglas:
        log_kappa, s = cobb_douglas_cost_shares(shares, log_input_prices)
    else:
        log_kappa, s = ces_cost_shares(shares, log_input_prices, tech.elasticity)
    q = _supply_at_unit_cost(rho, own_price, tech.tfp, log_kappa)
    per_price = jnp.where(s > 0, s / jnp.where(s > 0, input_prices, 1.0), 0.0)
    demand = rho * own_price * q * per_price
    profit = (1.0 - rho) * own_price * q
    if cobb_douglas:
        return q, demand[:m], demand[m:], profit
    # a set-up cost k (units of the aggregate): the interior plan is unchanged (marginal conditions), it
    # costs k·κ more and needs k·κ s/π more inputs; where that makes the profit negative the firm shuts
    # down (supply 0: a jump, the non-convexity price procedures meet). k = 0 leaves the above untouched.
    k = tech.setup_cost
    kappa = jnp.exp(log_kappa)
    profit_k = profit - k * kappa
    open_ = profit_k >= 0
    has_setup = k > 0
    q = jnp.where(has_setup, jnp.where(open_, q, 0.0), q)
    demand = jnp.where(has_setup, jnp.where(open_, demand + k * kappa * per_price, 0.0), demand)
    profit = jnp.where(has_setup, jnp.maximum(profit_k, 0.0), profit)
    return q, demand[:m], demand[m:], profit


def _supply_at_unit_cost(rho: Array, own_price: Array, tfp: Array, log_kappa: Array) -> Array:
    """The profit-maximising output q = (ρ p_i A^(1/ρ)/κ)^(ρ/(1−ρ)) from the log unit cost log κ."""
    return jnp.exp(rho / (1.0 - rho) * (jnp.log(rho * own_price) + jnp.log(tfp) / rho - log_kappa))


def firms_supply_flops(economy: ProductionEconomy, prices: Array) -> Array:
    """The firms' flops of one `firms_supply` round (`jplan.procedures.work`): XLA's count of one firm's
    response × n, plus the n + m logarithms of the broadcast prices where the closed form reads them."""
    n = economy.n
    message = jnp.broadcast_to(prices, (n, n + economy.m))
    supply, _ = supply_function(economy)
    if supply is firm_supply:
        return firms_flops(economy, firm_supply, jnp.arange(n), message, message) + (n + economy.m)
    return firms_flops(economy, supply, jnp.arange(n), message)


def firms_supply(economy: ProductionEconomy, prices: Array) -> tuple[Array, Array, Array, Array, int]:
    """Every firm's profit-maximising plan at the broadcast prices [n + m]: (q [n], r [n, m], v [n, n],
    profit [n], work). Each firm reads only its own technology; `work` counts the responses computed
    (one per firm in closed form, the inner solver's iterations for a user technology)."""
    n = economy.n
    message = jnp.broadcast_to(prices, (n, n + economy.m))
    supply, work = supply_function(economy)
    if supply is firm_supply:  # every firm reads the same broadcast: its logarithms are taken once
        log_message = jnp.broadcast_to(jnp.log(jnp.where(prices > 0, prices, 1.0)), message.shape)
        q, r, v, profit = for_firms(economy, firm_supply, jnp.arange(n), message, log_message)
        return q, r, v, profit, work
    q, r, v, profit = jax.vmap(supply)(economy.firms, jnp.arange(n), message)
    return q, r, v, profit, work


def firms_totals(economy: ProductionEconomy, prices: Array) -> tuple[Array, Array, Array, Array, Array, int]:
    """Every firm's answer at the broadcast prices [n + m], as the centre hears it under anonymity: (q [n],
    the firms' total demand for each good Σ_i v_i [n] and each resource Σ_i r_i [m], profits [n], finite,
    work), `finite` saying whether every firm's plan is finite.

    For a batch marked Cobb–Douglas by `jplan.economies.specialise`, firm i's demand for input l is
    ρ_i p_i q_i a_il / π_l, and the totals are summed as (Σ_i a_il ρ_i p_i q_i) / π_l: one product with the
    shares and one division per input, instead of forming each firm's n + m demands (the same sums,
    associated differently: they agree with `firms_supply`'s to rounding). Otherwise the firms' plans of
    `firms_supply`, summed."""
    n, m = economy.n, economy.m
    firms = economy.firms
    if not (isinstance(firms, FirmTechnology) and firms.known_cobb_douglas):
        q, r, v, profit, work = firms_supply(economy, prices)
        finite = jnp.all(jnp.isfinite(r)) & jnp.all(jnp.isfinite(v))
        return q, jnp.sum(v, axis=0), jnp.sum(r, axis=0), profit, finite, work
    log_prices = jnp.where(prices > 0, jnp.log(jnp.where(prices > 0, prices, 1.0)), -jnp.inf)
    shares = jnp.concatenate([firms.resource_shares, firms.input_shares], axis=1)  # [n, m + n]: each firm's own
    input_prices = jnp.concatenate([prices[n:], prices[:n]])
    # log κ_i = Σ_l a_il (log π_l − log a_il): the shares times the broadcast log prices, less each firm's own
    # constant Σ_l a_il log a_il (the same every step); −∞ where an input the firm uses has price 0
    log_inputs = jnp.concatenate([log_prices[n:], log_prices[:n]])
    used_by = shares > 0
    own_constant = jnp.sum(jnp.where(used_by, shares * jnp.log(jnp.where(used_by, shares, 1.0)), 0.0), axis=1)
    # a firm gets its inputs free where one it uses has price 0; that test reads every firm's n + m shares, a
    # fifth of the step at n = 30, so it runs only where some economy of the batch has a price of 0 (`cond_all`)
    zero_price = input_prices <= 0
    free = cond_all(~jnp.any(zero_price), lambda u, z: jnp.zeros(u.shape[0], bool),
                    lambda u, z: jnp.any(u & z, axis=1), used_by, zero_price)
    log_kappa = jnp.where(free, -jnp.inf, shares @ jnp.where(input_prices > 0, log_inputs, 0.0) - own_constant)
    own = prices[:n]
    rho = firms.returns_to_scale
    q = _supply_at_unit_cost(rho, own, firms.tfp, log_kappa)
    spend = rho * own * q  # what each firm spends on its inputs (ρ times its revenue)
    used = jnp.any(used_by, axis=0)
    demand = jnp.where(used, (spend @ shares) / jnp.where(used, input_prices, 1.0), 0.0)
    # each firm's demand is finite where its spending is and every input it uses has a positive price
    finite = jnp.all(jnp.isfinite(spend)) & jnp.all(jnp.where(used, input_prices > 0, True))
    return q, demand[m:], demand[:m], (1.0 - rho) * own * q, finite, n


def supply_function(economy: ProductionEconomy):
    """(supply, work): one firm's response `supply(tech, index, prices) -> (q, r, v, profit)` for this
    economy's kind of technology, and the work of all n responses (see `firms_supply`)."""
    if isinstance(economy.firms, FirmTechnology):
        return firm_supply, economy.n  # closed form (CES, Cobb–Douglas): one response per firm
    from ..economies.technology import SUPPLY_ITERATIONS, generic_supply  # a user technology: the inner solver

    return (lambda tech, i, pr: generic_supply(tech, i, pr, economy.m)), economy.n * SUPPLY_ITERATIONS


class AHState(eqx.Module):
    """Current prices, the totals the centre heard at them, consumption, the dual value there (computed for
    the adaptive rule, which tests it; 0 under the others), the adaptive step size, and the per-good scales
    of the additive rule (opening-round supplies, endowments).

    The firms' plans are not kept: they are a function of the prices, and `observe` forms them (each firm
    answering the current prices) when a plan is asked for, so the run loop writes no n(n + m) plan per step.
    """

    goods_prices: Array
    resource_prices: Array
    consumption: Array
    dual: Array
    step_size: Array
    scale: Array
    #: the totals the centre heard at these prices: supplies q, the firms' demand for goods Σ_i v_i and for
    #: resources Σ_i r_i (its excess demands are computed from these)
    heard: tuple
    #: whether every firm's answer at these prices was finite (`Totals.finite`)
    finite: Array


class ArrowHurwicz(Procedure):
    """Arrow–Hurwicz price tâtonnement; see the module docstring for the rules.

    Attributes:
        step_size: η (an array, so it can be swept, vmapped or differentiated).
        rule: "additive" (the seed's rule, default), "multiplicative" or "adaptive"
            (`ArrowHurwiczAdaptive` is the adaptive variant under its own name).
        tolerance: stop when the largest relative excess demand |D − S|/(D + S) is below this.
        initial_price: starting price of every good and resource.
        grow, shrink, max_step: the adaptive rule's step-size control.
    """

    name: ClassVar[str] = "arrow-hurwicz"
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(0.03), converter=jnp.asarray)
    rule: str = eqx.field(default="additive", static=True)
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-7), converter=jnp.asarray)
    initial_price: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)
    grow: Array = eqx.field(default_factory=lambda: jnp.asarray(1.25), converter=jnp.asarray)
    shrink: Array = eqx.field(default_factory=lambda: jnp.asarray(0.5), converter=jnp.asarray)
    max_step: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)

    def __check_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"arrow-hurwicz: unknown rule {self.rule!r} (known: {', '.join(RULES)})")

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        return decreasing_returns_violation(economy)

    def domain_message(self) -> str:
        return (
            f"{self.name}: needs decreasing returns and convex technologies (every returns_to_scale < 1, no "
            "set-up cost); otherwise a firm's profit-maximising supply is zero, unbounded or jumps"
        )

    # -- agents and centre -------------------------------------------------------------------------
    def _respond(self, economy: ProductionEconomy, p: Array, s: Array):
        """Centre → firms: prices (one broadcast); firms → centre: totals only (anonymity).

        Returns the plan (each firm's, for the record), the dual value and the messages: the centre's
        own computations use only the broadcast prices and the totals.
        """
        prices = jnp.concatenate([p, s])
        q, r, v, profit, work = firms_supply(economy, prices)
        c, answer, msgs = self._centre(economy, p, s, (q, jnp.sum(v, axis=0), jnp.sum(r, axis=0)), profit, work)
        return Plan(consumption=c, output=q, resource_use=r, intermediate_use=v), answer, msgs

    def _respond_totals(self, economy: ProductionEconomy, p: Array, s: Array):
        """`_respond` without forming the firms' plans (`firms_totals`): (consumption, (dual, size, totals),
        finite, messages), `finite` saying whether every firm's answer was finite."""
        q, goods_used, resources_used, profit, finite, work = firms_totals(economy, jnp.concatenate([p, s]))
        c, answer, msgs = self._centre(economy, p, s, (q, goods_used, resources_used), profit, work)
        return c, answer, finite, msgs

    def _centre(self, economy: ProductionEconomy, p: Array, s: Array, totals: tuple, profit: Array, work):
        """The centre's side of a round, from the totals it heard: consumption, (dual, size, totals) and
        the round's messages."""
        prices = jnp.concatenate([p, s])
        c = consumer_demand(economy, p)
        if self.rule == "adaptive":  # the dual value g the adaptive rule tests (the other rules never read it)
            # U − p·c for the log forms, u − p·c for CES welfare (see consumer_demand)
            u = welfare(economy, c)
            value = jnp.where(is_cobb_douglas(economy.welfare_elasticity), u, welfare_index(economy, u))
            consumer = value - jnp.sum(p * c)
            dual = consumer + jnp.sum(profit) + jnp.sum(s * economy.endowments)
            # the size of the terms summed into g: its rounding error is a few ulps of this
            size = jnp.abs(value) + jnp.sum(p * c) + jnp.sum(jnp.abs(profit)) + jnp.sum(s * economy.endowments)
        else:
            dual = size = jnp.zeros((), p.dtype)
        reports = (*totals, jnp.sum(profit)) if self.rule == "adaptive" else totals
        n, m = economy.n, economy.m
        # centre: consumption demand and welfare (10n), relative excess demands and the price update
        # (8 per price), and for the adaptive rule the dual value it tests (4 per price)
        centre = 10 * n + 8 * (n + m) + (4 * (n + m) if self.rule == "adaptive" else 0)
        msgs = Messages.of(prices, reports, firm_work=work, centre_flops=centre, firm_flops=firms_supply_flops(economy, prices))
        return c, (dual, size, totals), msgs

    @staticmethod
    def _relative_excess(economy: ProductionEconomy, plan: Plan | None, heard: tuple | None = None,
                         consumption: Array | None = None):
        """Relative and absolute excess demands, from the totals the centre heard where given (`AHState.heard`,
        with `consumption`), else from a plan's totals."""
        if heard is None:
            heard = (plan.output, jnp.sum(plan.intermediate_use, axis=0), jnp.sum(plan.resource_use, axis=0))
        if consumption is None:
            consumption = plan.consumption
        supply, firms_goods, demand_res = heard
        demand_goods = consumption + firms_goods
        e_goods = (demand_goods - supply) / (demand_goods + supply)
        e_res = (demand_res - economy.endowments) / (demand_res + economy.endowments)
        raw = (demand_goods - supply, demand_res - economy.endowments)
        return (e_goods, e_res), raw

    def start_prices(self, economy: ProductionEconomy) -> tuple[Array, Array]:
        """The centre's first prices (p⁰, s⁰), from public data only (welfare weights, endowments)."""
        dtype = economy.endowments.dtype
        if self.rule == "additive":  # the public-data start (see the module docstring)
            w, R = economy.welfare_weights, economy.endowments
            p = jnp.where(w > 0, w, jnp.min(jnp.where(w > 0, w, jnp.inf))) / jnp.mean(R)
            return p, jnp.sum(w) / (economy.m * R)
        return jnp.full((economy.n,), self.initial_price, dtype), jnp.full((economy.m,), self.initial_price, dtype)

    def _opening_scale(self, economy: ProductionEconomy, p: Array, s: Array, c: Array, heard: tuple) -> Array:
        """The additive rule's per-good scales from the opening round: (demand + supply)/p, R/s."""
        return jnp.concatenate([(c + heard[1] + heard[0]) / p, economy.endowments / s])

    def init(self, economy: ProductionEconomy) -> tuple[AHState, Messages]:
        dtype = economy.tfp.dtype
        p, s = self.start_prices(economy)
        c, (dual, _, heard), finite, msgs = self._respond_totals(economy, p, s)
        scale = self._opening_scale(economy, p, s, c, heard)
        return AHState(p, s, c, dual, jnp.asarray(self.step_size, dtype), scale, heard, finite), msgs

    def step(self, economy: ProductionEconomy, state: AHState) -> tuple[AHState, Messages]:
        (e_goods, e_res), (z_goods, z_res) = self._relative_excess(economy, None, state.heard, state.consumption)
        eta = state.step_size
        if self.rule == "additive":
            n = economy.n
            p = jnp.maximum(0.0, state.goods_prices + eta * z_goods / state.scale[:n])
            s = jnp.maximum(0.0, state.resource_prices + eta * z_res / state.scale[n:])
        else:
            p = state.goods_prices * jnp.exp(eta * e_goods)
            s = state.resource_prices * jnp.exp(eta * e_res)
        c, (dual, size, heard), finite, msgs = self._respond_totals(economy, p, s)
        if self.rule != "adaptive":
            return AHState(p, s, c, dual, eta, state.scale, heard, finite), msgs
        # a trial step is accepted unless it raises g by more than g's own rounding error: near the
        # optimum true decreases fall below that error, and an exact test would then reject every step
        # on rounding noise (on some CPUs the iteration stalled at a relative excess demand of 2e-7)
        slack = ROUNDING_ULPS * jnp.finfo(size.dtype).eps * size
        accept = jnp.isfinite(dual) & (dual <= state.dual + slack)
        lower = jnp.isfinite(dual) & (dual < state.dual)
        new_eta = jnp.where(lower, jnp.minimum(eta * self.grow, self.max_step), jnp.where(accept, eta, eta * self.shrink))
        keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b), new, old)
        p, s, c, dual, heard, finite = keep((p, s, c, dual, heard, finite), (state.goods_prices, state.resource_prices,
                                                                            state.consumption, state.dual, state.heard, state.finite))
        return AHState(p, s, c, dual, new_eta, state.scale, heard, finite), msgs

    def _residual(self, economy: ProductionEconomy, plan: Plan | None, heard: tuple | None = None,
                  consumption: Array | None = None) -> Array:
        """The largest relative excess demand |D − S|/(D + S) (arguments as `_relative_excess`)."""
        (e_goods, e_res), _ = self._relative_excess(economy, plan, heard, consumption)
        return jnp.maximum(jnp.max(jnp.abs(e_goods)), jnp.max(jnp.abs(e_res)))

    def totals(self, economy: ProductionEconomy, state: AHState) -> Totals:
        """What `run` records each step: the totals the centre heard (no firm's plan is formed)."""
        q, goods_used, resources_used = state.heard
        return Totals(consumption=state.consumption, output=q, goods_used=goods_used, resources_used=resources_used,
                      goods_prices=state.goods_prices, resource_prices=state.resource_prices,
                      residual=self._residual(economy, None, state.heard, state.consumption), finite=state.finite)

    def observe(self, economy: ProductionEconomy, state: AHState) -> Observation:
        """The plan the current prices call forth: each firm answers them (the same answers the centre heard
        the totals of), with the centre's consumption."""
        q, r, v, _, _ = firms_supply(economy, jnp.concatenate([state.goods_prices, state.resource_prices]))
        return Observation(
            plan=Plan(consumption=state.consumption, output=q, resource_use=r, intermediate_use=v),
            goods_prices=state.goods_prices,
            resource_prices=state.resource_prices,
            residual=self._residual(economy, None, state.heard, state.consumption),
            failed=jnp.asarray(False),
        )

    def _observe_kept_plan(self, economy: ProductionEconomy, state) -> Observation:
        """`observe` for the variants whose states keep the plan (accelerated-dual, learned-tatonnement)."""
        return Observation(plan=state.plan, goods_prices=state.goods_prices, resource_prices=state.resource_prices,
                           residual=self._residual(economy, state.plan), failed=jnp.asarray(False))


class ArrowHurwiczAdaptive(ArrowHurwicz):
    """The adaptive multiplicative variant of Arrow–Hurwicz (not the seed's rule; see the module docstring).

    Multiplicative price steps log p ← log p + η (D − S)/(D + S) whose η the centre adapts by testing
    the dual function (accept and grow ×`grow`, or refuse and shrink ×`shrink`).
    """

    name: ClassVar[str] = "arrow-hurwicz-adaptive"
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(0.1), converter=jnp.asarray)
    rule: str = eqx.field(default="adaptive", static=True)
