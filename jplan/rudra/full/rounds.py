"""The rounds of §6.3: the three structures, one round (steps 1–8 chained) and the calculation to a fixed point."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ...economies.rudra_full import RudraFullEconomy
from ...solvers.lp import INFEASIBLE, OPTIMAL, UNBOUNDED
from .steps_1_5 import step1_essential_prices, step2_distribution, step3_household_demand, step4_income, step5_capital_formation
from .step6 import step6_targets, step7_capital_values
from .step8 import _incomes, step8_prices


CONVERGED, CYCLE_LIMIT, INFEASIBLE_STATUS, UNBOUNDED_STATUS, FAILED = 0, 1, 2, 3, 4
FULL_STATUS = ("converged", "cycle_limit", "infeasible", "unbounded", "failed")


def full_status_name(code) -> str:
    """The name of a central-calculation status code (0 converged … 4 failed)."""
    return FULL_STATUS[int(code)]


# ------------------------------------------------------------------------------------------------- structures


class ProductionStructure(eqx.Module):
    """X (seed §2.3): activity levels and commodity flows of the end year, in physical units."""

    activity: Float[Array, " N"]  # X_j (new units)
    outputs: Float[Array, "n N"]  # x_ij = b_ij X_j
    old_outputs: Float[Array, "n N"]  # x⁰_ij
    inputs: Float[Array, "n N"]  # X_ij = a_ij X_j
    old_inputs: Float[Array, "n N"]  # X⁰_ij
    capital: Float[Array, "n N"]  # K_ij = k_ij X_j
    labour: Float[Array, "u N"]  # L_sj = l_sj X_j
    households: Float[Array, " n"]  # h_i
    public: Float[Array, " n"]  # g_i
    capital_formation: Float[Array, " n"]  # z_i
    exports: Float[Array, " n"]  # e_i
    imports: Float[Array, " n"]  # m_i
    stocks: Float[Array, " n"]  # f_i


class PriceStructure(eqx.Module):
    """Λ (seed §2.4): prices, tax rates, wage rates and the rate of return to capital."""

    market: Float[Array, " n"]  # p_i
    cost: Float[Array, " n"]  # p_i(d), ex-factory
    imports: Float[Array, " n"]  # p_i(m)
    indirect_tax: Float[Array, " n"]  # τ_i = p_i − p_i(d)
    import_duties: Float[Array, " n"]  # τ_i(m)
    wages: Float[Array, " u"]  # w_s
    rate_of_return: Float[Array, ""]  # π


class IncomeStructure(eqx.Module):
    """Δ (seed §2.5): income generated in old and new units and its use; the import sector apart."""

    old_income: Float[Array, " N"]  # y⁰_j
    income: Float[Array, " N"]  # y_j
    old_consumption: Float[Array, " N"]  # c⁰_j
    consumption: Float[Array, " N"]  # c_j
    old_savings: Float[Array, " N"]  # s⁰_j
    savings: Float[Array, " N"]  # s_j
    old_direct_tax: Float[Array, " N"]  # d⁰_j
    direct_tax: Float[Array, " N"]  # d_j
    import_income: Float[Array, ""]  # y_N (the import sector saves all of it after tax)
    import_savings: Float[Array, ""]  # s_N
    import_direct_tax: Float[Array, ""]  # d_N
    capital_value: Float[Array, " N"]  # K_j of step 7 (4.26)


class RoundState(eqx.Module):
    """What one round hands the next (§6.3): the figures that replace the base year's."""

    prices: Float[Array, " n"]
    cost_prices: Float[Array, " n"]
    capital_shares: Float[Array, " n"]


class RoundResult(eqx.Module):
    """One round's structures and intermediate results.

    Attributes:
        production, prices, incomes: X, Λ and Δ.
        capital_gap: λ (5.4) at the round's structures (step 8's value).
        step6_capital_gap: λ as step 6 saw it (at the round's opening prices).
        essential_prices, C_alpha: step 1.  rho1, rho2, mean_consumption: step 2.
        income_estimate, capital_formation_value: y and z of step 4.
        step6_status, step8_status: LP status codes (0 optimal, 1 infeasible, 2 unbounded, …).
        price_level: ψ, the non-essential market prices relative to the round's reference prices (step 8;
            NaN under "market-prices", which sets those prices one by one).
        savings_gap: the end-year savings shortfall step 8 could not close with its instruments in range
            (closure "direct-taxes"; 0 under "import-balance", whose d_N balances).
    """

    production: ProductionStructure
    prices: PriceStructure
    incomes: IncomeStructure
    capital_gap: Float[Array, ""]
    step6_capital_gap: Float[Array, ""]
    essential_prices: Float[Array, " n"]
    C_alpha: Float[Array, ""]
    rho1: Float[Array, ""]
    rho2: Float[Array, ""]
    mean_consumption: Float[Array, ""]
    income_estimate: Float[Array, ""]
    capital_formation_value: Float[Array, ""]
    step6_status: Int[Array, ""]
    step8_status: Int[Array, ""]
    price_level: Float[Array, ""]
    savings_gap: Float[Array, ""]


def initial_state(economy: RudraFullEconomy) -> RoundState:
    """Round 1 uses the base-year figures."""
    e = economy
    return RoundState(prices=e.base_prices, cost_prices=e.base_cost_prices, capital_shares=e.capital_shares)


def central_round(economy: RudraFullEconomy, state: RoundState) -> tuple[RoundState, RoundResult]:
    """One round of §6.2's eight steps from `state`; returns the next round's state (§6.3) and the result."""
    e = economy
    p, C_alpha = step1_essential_prices(e, state.prices)
    rho1, rho2, mean_c = step2_distribution(e, C_alpha)
    h = step3_household_demand(e, p, mean_c)
    y, z = step4_income(e, mean_c, state.cost_prices)
    z_i = step5_capital_formation(e, z, state.capital_shares, state.cost_prices)
    X, m, f, lam6, status6 = step6_targets(e, h, z_i, p, state.cost_prices)
    K = step7_capital_values(e, X, p)
    s8 = step8_prices(e, X, m, f, h, z_i, e.capital.T @ p, p, state.prices)
    y_old, y_new, y_imp = _incomes(e, X, m, s8.prices, s8.cost_prices, s8.import_duties)
    disposable_old, disposable = y_old - s8.old_direct_tax, y_new - s8.direct_tax
    incomes = IncomeStructure(
        old_income=y_old, income=y_new,
        old_consumption=(1.0 - e.old_savings_rate) * disposable_old, consumption=(1.0 - e.savings_rate) * disposable,
        old_savings=e.old_savings_rate * disposable_old, savings=e.savings_rate * disposable,
        old_direct_tax=s8.old_direct_tax, direct_tax=s8.direct_tax,
        import_income=y_imp, import_savings=y_imp - s8.import_direct_tax, import_direct_tax=s8.import_direct_tax,
        capital_value=K)
    production = ProductionStructure(
        activity=X, outputs=e.outputs * X, old_outputs=e.old_outputs, inputs=e.inputs * X, old_inputs=e.old_inputs,
        capital=e.capital * X, labour=e.labour * X, households=h, public=e.public_floors, capital_formation=z_i,
        exports=e.exports, imports=m, stocks=f)
    prices = PriceStructure(market=s8.prices, cost=s8.cost_prices, imports=e.import_prices, indirect_tax=s8.indirect_tax,
                            import_duties=s8.import_duties, wages=e.wages, rate_of_return=s8.rate_of_return)
    result = RoundResult(production=production, prices=prices, incomes=incomes, capital_gap=s8.lam, step6_capital_gap=lam6,
                         essential_prices=p, C_alpha=C_alpha, rho1=rho1, rho2=rho2, mean_consumption=mean_c,
                         income_estimate=y, capital_formation_value=z, step6_status=status6, step8_status=s8.status,
                         price_level=s8.level, savings_gap=s8.savings_gap)
    # §6.3: the first approximations replace the base-year figures; (6.19) for the capital shares.
    value = e.capital * (s8.cost_prices[:, None] * X[None, :])
    total = jnp.sum(value)
    shares = jnp.where(total > 0, jnp.sum(value, axis=1) / jnp.where(total > 0, total, 1.0), state.capital_shares)
    new_state = RoundState(prices=s8.prices, cost_prices=s8.cost_prices, capital_shares=shares)
    return new_state, result


class CentralCalculation(eqx.Module):
    """The result of `central_calculation`.

    Attributes:
        result: the last round's structures (the plan).
        rounds: rounds run.
        status: 0 converged, 1 cycle_limit, 2 infeasible, 3 unbounded, 4 failed (see `FULL_STATUS`).
        change: the last round's largest relative change of X, m, p, p(d) and π.
        history_capital_gap: λ after each round [max_rounds] (NaN after the last round run).
        history_change: the change after each round [max_rounds].
        history_prices: each round's market prices [max_rounds, n] (NaN after the last round run).
        history_price_level: each round's ψ [max_rounds].
        history_direct_tax_rates: each round's direct-tax rates d/y, old units then new units [max_rounds, 2N].
        history_import_direct_tax: each round's import-sector direct tax d_N [max_rounds].
        history_savings_gap: each round's public saving S_g closing the accounts [max_rounds].
        next_state: the figures the next round would start from (§6.3).
    """

    result: RoundResult
    rounds: Int[Array, ""]
    status: Int[Array, ""]
    change: Float[Array, ""]
    history_capital_gap: Float[Array, " R"]
    history_change: Float[Array, " R"]
    history_prices: Float[Array, "R n"]
    history_price_level: Float[Array, " R"]
    history_direct_tax_rates: Float[Array, "R twoN"]
    history_import_direct_tax: Float[Array, " R"]
    history_savings_gap: Float[Array, " R"]
    next_state: RoundState


def _signature(r: RoundResult):
    return jnp.concatenate([r.production.activity, r.production.imports, r.prices.market, r.prices.cost,
                            r.prices.rate_of_return[None]])


def _lp_status(code):
    return jnp.where(code == INFEASIBLE, INFEASIBLE_STATUS, jnp.where(code == UNBOUNDED, UNBOUNDED_STATUS, FAILED))


def central_calculation(economy: RudraFullEconomy, max_rounds: int = 30, tol: float = 1e-9,
                        start: RoundState | None = None) -> CentralCalculation:
    """Rounds of the eight steps (§6.3) until the structures stop changing.

    A `lax.scan` over `max_rounds` rounds (rounds after the stop keep the stopped result), so the whole
    calculation is one compiled program under jit/vmap and reverse-differentiable: `jax.grad` of
    `full_capital_gap` differentiates λ through every round actually run.

    Args:
        economy: a `RudraFullEconomy` (batch with vmap).
        max_rounds: the round limit (static).
        tol: stop when the largest relative change of (X, m, p, p(d), π) between rounds is ≤ tol.
        start: the first round's figures (default `initial_state`: the base year's); a converged run's
            `next_state` warm-starts a nearby economy (the sectoral criterion does so).
    """
    state0 = initial_state(economy) if start is None else start
    shapes = jax.eval_shape(central_round, economy, state0)[1]
    dummy = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

    def body(carry, k):
        state, previous, done, status, rounds, change = carry
        new_state, result = central_round(economy, state)
        lp_ok = (result.step6_status == OPTIMAL) & (result.step8_status == OPTIMAL)
        bad = jnp.where(result.step6_status != OPTIMAL, _lp_status(result.step6_status), _lp_status(result.step8_status))
        sig_new, sig_old = _signature(result), _signature(previous)
        delta = jnp.max(jnp.abs(sig_new - sig_old) / (1.0 + jnp.abs(sig_old)))
        delta = jnp.where(k == 0, jnp.inf, delta)
        finite = jnp.all(jnp.isfinite(sig_new))
        converged = lp_ok & finite & (delta <= tol)
        failed = ~lp_ok | ~finite
        keep = done  # a finished calculation keeps its result
        pick = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(keep, x, y), a, b)  # noqa: E731
        state = pick(state, new_state)
        # a failed round is reported as the result (its status says why); a converged one too
        previous = pick(previous, result)
        status = jnp.where(keep, status, jnp.where(failed, jnp.where(lp_ok, FAILED, bad), jnp.where(converged, CONVERGED, CYCLE_LIMIT)))
        rounds = jnp.where(keep, rounds, k + 1)
        change = jnp.where(keep, change, delta)
        done = done | converged | failed
        inc = result.incomes
        safe = lambda a: jnp.where(a != 0, a, 1.0)  # noqa: E731
        rates = jnp.concatenate([inc.old_direct_tax / safe(inc.old_income), inc.direct_tax / safe(inc.income)])
        record = (result.capital_gap, delta, result.prices.market, result.price_level, rates, inc.import_direct_tax,
                  result.savings_gap)
        record = jax.tree_util.tree_map(lambda a: jnp.where(keep, jnp.nan, a), record)
        return (state, previous, done, status, rounds, change), record

    init = (state0, dummy, jnp.array(False), jnp.array(CYCLE_LIMIT), jnp.array(0), jnp.array(jnp.inf, economy.inputs.dtype))
    (state, result, _, status, rounds, change), record = jax.lax.scan(body, init, jnp.arange(max_rounds))
    gaps, changes, prices, levels, rates, import_tax, savings_gap = record
    return CentralCalculation(result=result, rounds=rounds, status=status, change=change,
                              history_capital_gap=gaps, history_change=changes, history_prices=prices,
                              history_price_level=levels, history_direct_tax_rates=rates,
                              history_import_direct_tax=import_tax, history_savings_gap=savings_gap, next_state=state)


def full_capital_gap(economy: RudraFullEconomy, rounds: int = 30, tol: float = 1e-9) -> Float[Array, ""]:
    """λ (5.4) at the plan of `central_calculation`: a differentiable function of every float field
    (∂λ/∂θ, ∂λ/∂φ, ∂λ/∂q, ∂λ/∂P, tax and savings rates, coefficients), through the rounds run."""
    return central_calculation(economy, rounds, tol).result.capital_gap
