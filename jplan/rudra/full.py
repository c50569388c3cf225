"""Rudra's full central calculation (Rudra's frame paper, §§3–6): the eight steps of §6.2 and the rounds
of §6.3, producing the production structure X, the price structure Λ and the income structure Δ.

Each step is a pure function named after the seed's step; `central_round` chains them, and
`central_calculation` repeats rounds until the structures stop changing. Everything runs under jit and
vmap (a batch of economies is a `RudraFullEconomy` with a leading axis) and is differentiable: the two LPs
are solved by jplan's simplex and their solutions re-derived from the optimal basis (x_B = A_B⁻¹b), so
`jax.grad` of λ through a fixed number of rounds is exact wherever the optimal bases do not change.

**Readings of the seed.** The scan of §§4–6 is garbled in places and two of its systems are not determinate
as printed. Where an equation had to be interpreted, this is the reading, and why:

1. *Step 1 is underdetermined by one.* (4.11) is, as the seed says, a "tautology": every demand system
   satisfies adding-up, Σ p_i D_i(C, p) = C, so (4.1) and (4.11) are n₀ independent equations in n₀ + 1
   unknowns (p_1..p_n₀, C_α). We close it with a price normalisation: the normative basket of the
   essential goods costs at the planned prices what it cost at base-year prices, Σ_{i≤n₀} p_i q_i =
   Σ_{i≤n₀} p⁰_i q_i. With the linear expenditure system D_i = γ_i + (b_i/p_i)(C − pᵀγ) the solution is
   in closed form: p_i = b_i S/(q_i − γ_i) with the poorest group's supernumerary expenditure
   S = Σ p⁰_i q_i / Σ b_i q_i/(q_i − γ_i), and C_α = pᵀγ + S.
2. *(4.13) is the partial mean.* C_α is "the per capita total consumption expenditure of the lowest α%",
   so (4.13) is C_α = (1/α)∫_0^{c_α} C dF = E[C]·Φ(Φ⁻¹(α) − σ)/α for a lognormal with log-mean ρ₁ and
   log-standard deviation ρ₂ = σ; (4.3) is θ = 2Φ(σ/√2) − 1, the lognormal's Lorenz (Gini) ratio. Step 2
   solves both in closed form.
3. *(4.12) integrates demand over the whole distribution*: h_i = P ∫ D_i(C, p) dF(C), which for the linear
   expenditure system is P·D_i(E[C], p) exactly (demand is linear in C).
4. *Step 4 is (6.1)–(6.2) as printed*, public consumption at the floors g⁰ valued at cost prices.
5. *Step 6* is (6.4) with the old units' inputs X⁰ on the demand side (they are in (4.6); the scan drops
   them), exports e⁰ (the scan's c⁰), the stock share β of (4.23) (whose β the scan drops), and the
   foreign-exchange balance (4.5) as a constraint on imports (Objective 5 must bind the imports, which are
   among step 6's unknowns). A surplus beyond β's share, where balances are inequalities, is an addition
   to stocks too: f_i = β_i·supply_i + surplus_i, so (4.6) holds with equality in the accounts.
6. *Step 8* keeps (6.11) as an equality for the sectors step 6 made active: a unit of activity's sales
   at cost prices pay for its current inputs at market prices, its labour at the given wage rates and
   the return π on its capital value k_jᵀp of step 7, so (4.7) holds with y_j of (4.19); an idle
   technique prices its outputs at its unit cost where no active sector makes them. To (4.7), (4.9) and (4.10) it adds (4.8): the seed's step 8 omits
   it, but by Walras' law it is the foreign-exchange balance (4.5) at the new prices, without which the
   accounts cannot all close. The net foreign payments m₀ are the public authorities' (they stand beside
   public consumption in (6.1)): (4.10) reads Σ d + Σ τ_i·output_i + Σ τ_i(m) m_i = Σ g_i p_i + m₀.
   *The closure.* As printed, step 8 leaves every sector's direct tax, every indirect tax, every
   non-essential price and π free, four accounting equations bind them, and λ (5.4) is linear in how a
   fixed total of savings (4.9) is spread over sectors with different growth coefficients; its LP minimum
   is then a vertex with 100% direct taxes on some sectors paid back as subsidies to others, or unbounded
   (tried: with every direct tax in [0, income], 94% of 200 random economies had an infeasible second
   round; with market prices in a ±50% band instead, prices sat at the band and 56% of first rounds were
   infeasible). Two closures are implemented (`RudraFullEconomy.closure`, the file's
   `constraints.closure`); both keep the *level* ψ of the non-essential market prices as an unknown (their
   relative prices are the round's; the essential goods keep their step-1 prices, (6.17)), the cost
   prices p(d) (from (6.11)) and π:
   - ``"import-balance"`` (default) reads step 8 as the seed's "linear system of equations" with as many
     unknowns as it has independent equations: the direct-tax rates δ⁰ and import duties τ⁰(m) stay the
     base year's, as step 6 uses them, and the import sector's direct tax d_N balances (either sign: a tax
     on the import margin or a transfer to it; its size says how far the given savings rates, tax rates
     and φ are from consistent). (Tried and rejected: a uniform change of every direct-tax rate as the
     balancing item instead of d_N; rates went past 100% and 58 of 100 random economies ended infeasible.)
   - ``"direct-taxes"`` reads it as the seed's LP over the direct taxes it lists as unknowns, each in its
     range: every sector's tax on its old and new units in [0, δ_max·y] (`max_direct_tax_rate`, default
     0.5), the import sector's in [0, y_N]; where these cannot close the accounts, the public
     authorities' saving S_g (0 in the seed's (4.10)) closes them at an exact penalty and is reported.
     λ, linear in how the taxes are spread over sectors of different r_j·v_j, puts them at the ends of
     their ranges (the worked example: old units untaxed, new units at δ_max, the import margin taxed
     whole), so this closure's λ depends on δ_max: that is the LP the seed prints, not a finding about
     the economy.
   Under both, ψ = 1 in practice: step 6 balanced foreign exchange at the opening prices, and (4.5) must
   hold again at the new ones, so the non-essential market prices do not move between rounds (the
   essential goods' prices do, through step 1). Indirect taxes τ = p − p(d) may be negative (subsidies, as
   for essential goods priced below cost). `jplan rudra closures` measures both on the worked example and
   on random economies (README).
7. *The rounds* (§6.3): "the first approximations arrived at in the first round are to be used in the
   second round in every place where in the first round base year figures were used": market prices of
   the non-essential goods (steps 1, 3, 6, 7 and 8), cost prices (steps 4–6) and the capital shares μ by
   (6.19). Rounds stop when no structure moves by more than `tol` (relative), or at `max_rounds`
   (`cycle_limit`). On 200 random economies of `sample_rudra_full` (n = N = 4) every calculation
   converged, in 9–14 rounds. Where two techniques of one commodity are both active, (6.11) cannot hold
   for both at one π and step 8 is infeasible (25–40% of random economies with N = 1.5n).

The identities (4.6)–(4.10) and (4.18) hold at every round's result (to the LP's accuracy, ~1e-12);
Objectives 2, 3 and 5 hold by construction, Objective 1 at a fixed point of the rounds (step 8 moves the
prices step 1 took as given), and Objective 4 only approximately: (6.1) leaves stock additions and the
gap between market and cost prices out of y (the worked example misses φ by −0.011).
`objective_slacks` reports each.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr, ndtri
from jaxtyping import Array, Float, Int

from ..economies.rudra_full import CLOSURES, RudraFullEconomy
from ..solvers.lp import INFEASIBLE, OPTIMAL, UNBOUNDED
from ..solvers.lp import linprog_on_basis as _lp

__all__ = [
    "FULL_STATUS",
    "full_status_name",
    "les_demand",
    "step1_essential_prices",
    "step2_distribution",
    "step3_household_demand",
    "step4_income",
    "step5_capital_formation",
    "StepLP",
    "step6_lp",
    "step6_targets",
    "step7_capital_values",
    "step8_lp",
    "step8_prices",
    "CLOSURES",
    "RoundState",
    "ProductionStructure",
    "PriceStructure",
    "IncomeStructure",
    "RoundResult",
    "CentralCalculation",
    "initial_state",
    "central_round",
    "central_calculation",
    "full_capital_gap",
    "with_full_column",
    "full_sectoral_criterion",
    "FullCycles",
    "full_planning_cycles",
    "balance_residuals",
    "objective_slacks",
    "calibrate_savings",
]

CONVERGED, CYCLE_LIMIT, INFEASIBLE_STATUS, UNBOUNDED_STATUS, FAILED = 0, 1, 2, 3, 4
FULL_STATUS = ("converged", "cycle_limit", "infeasible", "unbounded", "failed")


def full_status_name(code) -> str:
    """The name of a central-calculation status code (0 converged … 4 failed)."""
    return FULL_STATUS[int(code)]


# ---------------------------------------------------------------------------------------------- LP plumbing


def _affine(fn, size: int, dtype):
    """(J, f(0)) of an affine map f: R^size -> R^k, by forward differentiation (exact for affine maps)."""
    zero = jnp.zeros(size, dtype)
    return jax.jacfwd(fn)(zero), fn(zero)


def _step_lp(rows, objective, size: int, dtype, allowed) -> "StepLP":
    """A step's LP in standard form from its equations written as affine maps of the variable vector:
    `rows(z) = 0` (A z = −rows(0)) and `objective(z)` (c, with objective(0) as the constant offset)."""
    A, r0 = _affine(rows, size, dtype)
    c, c0 = _affine(objective, size, dtype)
    return StepLP(c=c, offset=c0, A=A, b=-r0, allowed=allowed)


# -------------------------------------------------------------------------------------------------- steps 1–5


def les_demand(C, p, subsistence, budget_shares):
    """The linear expenditure system: D_i(C, p) = γ_i + (b_i/p_i)(C − pᵀγ), per head (adds up to C)."""
    return subsistence + budget_shares / p * (C - p @ subsistence)


def step1_essential_prices(economy: RudraFullEconomy, reference_prices):
    """Step 1: prices of the essential goods and C_α from (4.1) and (4.11), the other prices at
    `reference_prices` (base-year prices in round 1). Closed with the basket normalisation (reading 1).

    Returns:
        (p, C_alpha): market prices with the essential goods' entries replaced, and C_α.
    """
    e = economy
    q, g, b = e.minima, e.subsistence, e.budget_shares
    weight = jnp.where(e.essential, b * q / jnp.where(e.essential, q - g, 1.0), 0.0)
    basket = jnp.sum(jnp.where(e.essential, e.base_prices * q, 0.0))
    S = basket / jnp.sum(weight)  # the poorest group's supernumerary expenditure
    p = jnp.where(e.essential, b * S / jnp.where(e.essential, q - g, 1.0), reference_prices)
    return p, p @ g + S


def step2_distribution(economy: RudraFullEconomy, C_alpha):
    """Step 2: the lognormal's parameters from (4.13) and (4.3) (reading 2).

    Returns:
        (rho1, rho2, mean): log-mean ρ₁, log-standard deviation ρ₂ = σ, and E[C] = exp(ρ₁ + σ²/2).
    """
    sigma = jnp.sqrt(2.0) * ndtri((1.0 + economy.lorenz_target) / 2.0)
    mean = economy.alpha * C_alpha / ndtr(ndtri(economy.alpha) - sigma)
    return jnp.log(mean) - sigma**2 / 2.0, sigma, mean


def step3_household_demand(economy: RudraFullEconomy, prices, mean_consumption):
    """Step 3: household demand h_i = P ∫ D_i(C, p) dF(C) = P·D_i(E[C], p) (reading 3)."""
    return economy.population * les_demand(mean_consumption, prices, economy.subsistence, economy.budget_shares)


def step4_income(economy: RudraFullEconomy, mean_consumption, cost_prices):
    """Step 4: (6.1) (1 − φ) y = P E[C] + Σ g⁰_i p_i(d) + m₀ and (6.2) z = φ y. Returns (y, z)."""
    e = economy
    y = (e.population * mean_consumption + e.public_floors @ cost_prices + e.net_foreign_payments) / (1.0 - e.capital_formation_ratio)
    return y, e.capital_formation_ratio * y


def step5_capital_formation(economy: RudraFullEconomy, z, capital_shares, cost_prices):
    """Step 5: (6.3) z_i p_i(d) = μ_i z, the physical flow of commodity i into capital formation."""
    del economy
    return capital_shares * z / cost_prices


# ------------------------------------------------------------------------------------------------- step 6


def _supply(e: RudraFullEconomy, X, m):
    """Domestic output Σ_j (x⁰_ij + b_ij X_j) and total supply (with imports) of each commodity."""
    domestic = jnp.sum(e.old_outputs, axis=1) + e.outputs @ X
    return domestic, domestic + m


def _demand(e: RudraFullEconomy, X, h, z):
    """Σ_j (X⁰_ij + a_ij X_j) + h_i + g⁰_i + z_i + e⁰_i: every use of commodity i except stocks."""
    return jnp.sum(e.old_inputs, axis=1) + e.inputs @ X + h + e.public_floors + z + e.exports


class StepLP(eqx.Module):
    """A step's LP in standard form: minimise cᵀz + offset subject to A z = b, z ≥ 0, z_k = 0 where not
    `allowed` (the form `jplan.solvers.lp.linprog` solves; tests hand the same data to HiGHS)."""

    c: Float[Array, " nv"]
    offset: Float[Array, ""]
    A: Float[Array, "m nv"]
    b: Float[Array, " m"]
    allowed: Array


def step6_lp(economy: RudraFullEconomy, households, capital_formation, prices, cost_prices):
    """Step 6: the LP (6.4)–(6.9) in the activity levels X and imports m (reading 5).

        minimise λ = Σ_j X_j [k_jᵀp − r_j v_j (1 − δ_j)(b_jᵀp(d) − a_jᵀp)]
                     − r_N Σ_i m_i (p_i − p_i(m) − τ_i(m)) − Σ_j r⁰_j s⁰_j
        subject to (1 − β_i)(m_i + Σ_j (x⁰_ij + b_ij X_j)) ≥ Σ_j (X⁰_ij + a_ij X_j) + h_i + g⁰_i + z_i + e⁰_i
                   Σ_i p_i(m) m_i = Σ_i e⁰_i p_i − m₀   (≤ where imports need not use it all)
                   X, m ≥ 0, m_i = 0 where i is not importable.

    Variables z = [X (N), m (n), surplus (n), unused foreign exchange (1)]; λ's constant part (the old
    units' savings) is the offset. Returns (StepLP, unpack).
    """
    e = economy
    n, N = e.n, e.N
    direct_tax, import_duties = e.base_direct_tax, e.base_import_duties
    dtype = e.inputs.dtype
    s_old = (e.old_outputs.T @ cost_prices - e.old_inputs.T @ prices) * (1.0 - direct_tax) * e.old_savings_rate

    def unpack(zv):
        return zv[:N], zv[N : N + n], zv[N + n : N + 2 * n], zv[-1]

    def rows(zv):
        X, m, surplus, unused = unpack(zv)
        _, supply = _supply(e, X, m)
        balance = (1.0 - e.inventory_shares) * supply - _demand(e, X, households, capital_formation) - surplus
        fx = e.import_prices @ m + unused - (e.exports @ prices - e.net_foreign_payments)
        return jnp.concatenate([balance, fx[None]])

    def objective(zv):
        X, m, _, _ = unpack(zv)
        saved = X * (e.outputs.T @ cost_prices - e.inputs.T @ prices) * (1.0 - direct_tax) * e.savings_rate
        margin = m @ (prices - e.import_prices - import_duties)
        return X @ (e.capital.T @ prices) - e.growth @ saved - e.import_growth * margin - e.old_growth @ s_old

    allowed = jnp.concatenate([jnp.ones(N, bool), e.importable, jnp.broadcast_to(~e.balance_equality, (n,)),
                               jnp.broadcast_to(~e.imports_equality, (1,))])
    return _step_lp(rows, objective, 2 * n + N + 1, dtype, allowed), unpack


def step6_targets(economy: RudraFullEconomy, households, capital_formation, prices, cost_prices):
    """Step 6: the LP of `step6_lp` solved. Returns (X, m, f, lam, status): f the additions to stocks
    (β's share plus any surplus), λ the LP's value, status the LP status code."""
    e = economy
    lp, unpack = step6_lp(e, households, capital_formation, prices, cost_prices)
    x, status = _lp(lp.c, lp.A, lp.b, lp.allowed)
    X, m, surplus, _ = unpack(x)
    _, supply = _supply(e, X, m)
    return X, m, e.inventory_shares * supply + surplus, lp.c @ x + lp.offset, status


def step7_capital_values(economy: RudraFullEconomy, X, prices):
    """Step 7: (6.10) K_j = X_j Σ_i k_ij p_i, the value of the new units' capital at the round's prices."""
    return X * (economy.capital.T @ prices)


# ------------------------------------------------------------------------------------------------- step 8


class _Step8(eqx.Module):
    prices: Float[Array, " n"]
    cost_prices: Float[Array, " n"]
    indirect_tax: Float[Array, " n"]
    import_duties: Float[Array, " n"]
    old_direct_tax: Float[Array, " N"]
    direct_tax: Float[Array, " N"]
    import_direct_tax: Float[Array, ""]
    rate_of_return: Float[Array, ""]
    level: Float[Array, ""]
    savings_gap: Float[Array, ""]
    lam: Float[Array, ""]
    status: Int[Array, ""]


def _incomes(e: RudraFullEconomy, X, m, p, D, T):
    """Income generated: old units y⁰_j = x⁰_jᵀp(d) − X⁰_jᵀp, new units y_j = X_j(b_jᵀp(d) − a_jᵀp), and the
    import sector's margin y_N = Σ m_i (p_i − p_i(m) − τ_i(m))."""
    return e.old_outputs.T @ D - e.old_inputs.T @ p, X * (e.outputs.T @ D - e.inputs.T @ p), m @ (p - e.import_prices - T)


def step8_lp(economy: RudraFullEconomy, X, m, stocks, households, capital_formation, unit_capital, essential_prices,
             reference_prices):
    """Step 8: the LP (6.11)–(6.18) for the price structure and the financial accounts, minimising λ (5.4)
    (reading 6), under the economy's `closure`.

    Common to every closure: the cost prices p(d), the rate of return π ≥ 0, the essential goods at their
    step-1 prices (6.17); equalities (6.11) per unit of activity, b_jᵀp(d) = a_jᵀp + l_jᵀw + κ_j π with κ_j = k_jᵀp
    the capital value per unit of step 7, for every sector step 6 made active (so (4.7) with (4.19) holds) and
    every idle sector whose outputs no active sector makes (it prices them at its unit cost); households'
    consumption (4.8); savings = capital formation and stocks (4.9); the public account (4.10).

    * ``"import-balance"``: non-essential prices ψ·p_ref (ψ ≥ 0 an unknown level); direct-tax rates δ⁰ and
      duties τ⁰(m) the base year's; the import sector's direct tax d_N balances, of either sign.
    * ``"direct-taxes"``: non-essential prices ψ·p_ref as above; every sector's direct tax on its old and
      new units is an unknown quantum 0 ≤ d ≤ δ_max·y (δ_max = `max_direct_tax_rate`), as is the import
      sector's, 0 ≤ d_N ≤ y_N: the seed's own list of unknowns for the direct taxes, with their ranges.
      Where these instruments in their ranges cannot close the accounts, the public authorities' saving
      S_g (their receipts beyond current expenditure, which the seed's (4.10) sets to 0) closes them: it
      enters (4.10) and (4.9), and the objective at a penalty per unit far above any growth coefficient,
      so it is 0 whenever the instruments suffice (an exact penalty), and reported (`savings_gap`).

    Variables z = [ψ, p(d) (n), π, d_N⁺, d_N⁻] ("import-balance") or [ψ, p(d), π, d⁰ (N), d (N), d_N, a slack
    per upper bound (2N + 1), S_g⁺, S_g⁻] ("direct-taxes"). Returns (StepLP, unpack, gap), gap(z) = S_g.
    """
    e = economy
    closure = e.closure
    if closure not in CLOSURES:
        raise ValueError(f"closure must be one of {', '.join(CLOSURES)}, got {closure!r}")
    n, N = e.n, e.N
    import_duties = e.base_import_duties
    dtype = e.inputs.dtype
    output = jnp.sum(e.old_outputs, axis=1) + e.outputs @ X
    active = X > 1e-9 * (1.0 + jnp.max(X))
    # an idle technique whose outputs an active sector makes is priced by that sector (its own (6.11) is
    # dropped); one whose outputs nobody makes prices them at its own unit cost
    priced = jnp.any(active[None, :] & (e.outputs > 0), axis=1)
    bound = active | ~jnp.all(jnp.where(e.outputs > 0, priced[:, None], True), axis=0)
    balancing = closure == "import-balance"
    size = n + 4 if balancing else n + 2 + 2 * (2 * N + 1) + 2
    penalty = 100.0 * (1.0 + jnp.max(e.growth) + jnp.max(e.old_growth) + e.import_growth)

    def unpack(zv):
        level, D, pi = zv[0], zv[1 : n + 1], zv[n + 1]
        p = jnp.where(e.essential, essential_prices, level * reference_prices)
        y_old, y_new, y_imp = _incomes(e, X, m, p, D, import_duties)
        if balancing:
            d_old, d_new, d_imp = e.base_direct_tax * y_old, e.base_direct_tax * y_new, zv[n + 2] - zv[n + 3]
            slack = jnp.zeros(0, dtype)
        else:
            k = n + 2
            d_old, d_new, d_imp = zv[k : k + N], zv[k + N : k + 2 * N], zv[k + 2 * N]
            slack = zv[k + 2 * N + 1 : k + 4 * N + 2]
        return p, D, pi, d_old, d_new, d_imp, (y_old, y_new, y_imp), slack

    def gap(zv):
        return jnp.asarray(0.0, dtype) if balancing else zv[-2] - zv[-1]

    def rows(zv):
        p, D, pi, d_old, d_new, d_imp, (y_old, y_new, y_imp), slack = unpack(zv)
        unit = jnp.where(bound, e.outputs.T @ D - e.inputs.T @ p - e.labour.T @ e.wages - unit_capital * pi, 0.0)
        consumption = (1.0 - e.old_savings_rate) @ (y_old - d_old) + (1.0 - e.savings_rate) @ (y_new - d_new) - households @ p
        savings = (e.old_savings_rate @ (y_old - d_old) + e.savings_rate @ (y_new - d_new) + (y_imp - d_imp) + gap(zv)
                   - (capital_formation + stocks) @ p)
        public = (jnp.sum(d_old) + jnp.sum(d_new) + d_imp + output @ (p - D) + m @ import_duties
                  - e.public_floors @ p - e.net_foreign_payments - gap(zv))
        parts = [unit, consumption[None], savings[None], public[None]]
        if not balancing:
            cap = e.max_direct_tax_rate
            upper = jnp.concatenate([cap * y_old, cap * y_new, y_imp[None]])
            parts.append(jnp.concatenate([d_old, d_new, d_imp[None]]) + slack - upper)
        return jnp.concatenate(parts)

    def objective(zv):
        p, D, pi, d_old, d_new, d_imp, (y_old, y_new, y_imp), _ = unpack(zv)
        saved = e.old_growth @ (e.old_savings_rate * (y_old - d_old)) + e.growth @ (e.savings_rate * (y_new - d_new))
        elastic = 0.0 if balancing else penalty * (zv[-2] + zv[-1])
        return X @ (e.capital.T @ p) - saved - e.import_growth * (y_imp - d_imp) + elastic

    return _step_lp(rows, objective, size, dtype, jnp.ones(size, bool)), unpack, gap


def step8_prices(economy: RudraFullEconomy, X, m, stocks, households, capital_formation, unit_capital, essential_prices,
                 reference_prices):
    """Step 8: the LP of `step8_lp` solved; its prices, taxes, π, the non-essential price level ψ and λ."""
    e = economy
    lp, unpack, gap = step8_lp(e, X, m, stocks, households, capital_formation, unit_capital, essential_prices,
                               reference_prices)
    x, status = _lp(lp.c, lp.A, lp.b, lp.allowed)
    p, D, pi, d_old, d_new, d_imp, (y_old, y_new, y_imp), _ = unpack(x)
    saved = e.old_growth @ (e.old_savings_rate * (y_old - d_old)) + e.growth @ (e.savings_rate * (y_new - d_new))
    lam = X @ (e.capital.T @ p) - saved - e.import_growth * (y_imp - d_imp)  # λ (5.4), without the elastic term
    return _Step8(prices=p, cost_prices=D, indirect_tax=p - D, import_duties=e.base_import_duties, old_direct_tax=d_old,
                  direct_tax=d_new, import_direct_tax=d_imp, rate_of_return=pi, level=x[0], savings_gap=gap(x),
                  lam=lam, status=status)


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
        price_level: ψ, the non-essential market prices relative to the round's reference prices (step 8).
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


# ----------------------------------------------------------------------------- decentralised technology choice


def with_full_column(economy: RudraFullEconomy, j, col) -> RudraFullEconomy:
    """The economy with sector j's new-unit technology replaced by a `jplan.economies.rudra.SectorColumn`
    (the form the sectoral planners' technology sets produce): inputs a_·j, outputs b_·j, savings rate
    v_j and growth r_j as given; `col.capital` is the capital value per unit of activity at base-year
    prices, and the column keeps its commodity composition k_·j (scaled to that value)."""
    e = economy
    base_value = e.capital[:, j] @ e.base_prices
    composition = jnp.where(base_value > 0, e.capital[:, j] / jnp.where(base_value > 0, base_value, 1.0),
                            jnp.ones_like(e.base_prices) / (e.n * e.base_prices))
    return eqx.tree_at(
        lambda x: (x.inputs, x.outputs, x.capital, x.savings_rate, x.growth),
        e,
        (e.inputs.at[:, j].set(col.inputs), e.outputs.at[:, j].set(col.outputs),
         e.capital.at[:, j].set(composition * col.capital), e.savings_rate.at[j].set(col.savings_rate),
         e.growth.at[j].set(col.growth)),
    )


def full_sectoral_criterion(economy: RudraFullEconomy, j, col, start: RoundState | None = None, rounds: int = 30,
                            tol: float = 1e-10) -> Float[Array, ""]:
    """λ_j(Ω_j) of §7.3 with the full calculation: λ (5.4) when sector j's column is `col` and the rest of
    the central calculation is re-solved (all its rounds), every other column held fixed. Differentiable in
    `col`; `start` warm-starts the rounds (e.g. from the current plan's `next_state`). NaN where the
    calculation fails, so that a sectoral search treats such a column as inadmissible."""
    out = central_calculation(with_full_column(economy, j, col), rounds, tol, start)
    return jnp.where(out.status == CONVERGED, out.result.capital_gap, jnp.nan)


class FullCycles(eqx.Module):
    """The planning cycles of §8 with the full central calculation (index 0 = the preliminary calculation).

    Attributes:
        capital_gap: λ per cycle [K+1].
        targets: X per cycle [K+1, N].
        sector_criteria: λ_j at each sector's choice [K+1, N] (NaN at 0).
        theta: the sectors' technology parameters [K+1, N, P].
        status: 0 converged (columns and λ unchanged), 1 cycle_limit, ≥ 2 the central calculation's failure.
        cycles: the cycle the run stopped at.
    """

    capital_gap: Float[Array, " K"]
    targets: Float[Array, "K N"]
    sector_criteria: Float[Array, "K N"]
    theta: Float[Array, "K N P"]
    status: Int[Array, ""]
    cycles: Int[Array, ""]


def full_planning_cycles(economy: RudraFullEconomy, technologies, *, cycles: int = 5, steps: int = 40,
                         learning_rate: float = 0.05, rounds: int = 30, tol: float = 1e-7) -> FullCycles:
    """Rudra's planning cycles (§8.2) with the full calculation as operation 3.

    Operation 1: the centre hands each sector the targets X(v−1) and, implicitly, its criterion; operation 2:
    every sector chooses θ_j to minimise `full_sectoral_criterion` at its target (projected gradient descent,
    `jplan.rudra.sectoral.choose_technology`, warm-started from the current plan); operation 3: the centre
    re-solves the full calculation with the chosen columns. Stops when λ and every θ move by ≤ `tol`
    (relative), or after `cycles`. `technologies` is a `jplan.economies.rudra.Technology` with a leading sector
    axis (e.g. `ProjectFrontier`); sectors whose `active()` is False keep their column.
    """
    from .sectoral import choose_all

    active = jax.vmap(lambda t: t.active())(technologies)
    theta0 = jax.vmap(lambda t: t.project(t.initial()))(technologies)
    plan0 = central_calculation(economy, rounds)
    nan_n = jnp.full(economy.N, jnp.nan, economy.inputs.dtype)

    def cycle(carry, v):
        econ, plan, theta, done, status, last = carry
        criterion = lambda e, j, col: full_sectoral_criterion(e, j, col, plan.next_state, rounds)  # noqa: E731
        choice = choose_all(econ, technologies, plan.result.production.activity, theta, steps=steps,
                            learning_rate=learning_rate, criterion=criterion)
        new_theta = jnp.where(active[:, None], choice.theta, theta)
        new_econ = econ
        for j in range(economy.N):  # static: one column per sector
            col = jax.tree_util.tree_map(lambda x: x[j], choice.coefficients)
            new_econ = jax.tree_util.tree_map(lambda a, b: jnp.where(active[j], a, b), with_full_column(new_econ, j, col), new_econ)
        new_plan = central_calculation(new_econ, rounds, start=plan.next_state)
        lam_old, lam_new = plan.result.capital_gap, new_plan.result.capital_gap
        still = (jnp.max(jnp.abs(new_theta - theta)) <= tol) & (jnp.abs(lam_new - lam_old) <= tol * (1.0 + jnp.abs(lam_old)))
        failed = new_plan.status > CYCLE_LIMIT
        keep = done
        pick = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(keep, x, y), a, b)  # noqa: E731
        new_status = jnp.where(keep, status, jnp.where(failed, new_plan.status, jnp.where(still, CONVERGED, CYCLE_LIMIT)))
        carry = (pick(econ, new_econ), pick(plan, new_plan), pick(theta, new_theta), done | still | failed, new_status,
                 jnp.where(keep, last, v))
        out_plan = pick(plan, new_plan)
        return carry, (out_plan.result.capital_gap, out_plan.result.production.activity,
                       jnp.where(keep, nan_n, jnp.where(active, choice.criterion, jnp.nan)), pick(theta, new_theta))

    failed0 = plan0.status > CYCLE_LIMIT
    init = (economy, plan0, theta0, failed0, jnp.where(failed0, plan0.status, CYCLE_LIMIT), jnp.array(0))
    (_, _, _, _, status, last), (gaps, targets, criteria, thetas) = jax.lax.scan(cycle, init, jnp.arange(1, cycles + 1))
    cat = lambda a, b: jnp.concatenate([a[None], b])  # noqa: E731
    return FullCycles(capital_gap=cat(plan0.result.capital_gap, gaps), targets=cat(plan0.result.production.activity, targets),
                      sector_criteria=cat(nan_n, criteria), theta=cat(theta0, thetas), status=status, cycles=last)


# ------------------------------------------------------------------------------------------------- checks


def balance_residuals(economy: RudraFullEconomy, r: RoundResult) -> dict[str, Array]:
    """Residuals of the plan's balance conditions at a round's result, each relative to its scale
    (0 where the condition holds exactly; (4.6) is ≥ 0 where it holds):

    - `commodity_balances` (4.6): supply − every use − the minimum stock addition β·supply, per commodity
      (≥ 0; = 0 with `stocks` counting the surplus too, `commodity_accounts`).
    - `sector_accounts` (4.7) with (4.19): sales at cost prices − inputs at market prices − wages − K_j π.
    - `household_consumption` (4.8), `savings_investment` (4.9), `public_account` (4.10), and
      `national_income` (4.18): income generated − (consumption + savings + direct taxes). The public
      saving S_g of the "direct-taxes" closure (`savings_gap`, 0 otherwise) counts in (4.9) and (4.10).
    """
    e, X, P, D = economy, r.production, r.prices, r.incomes
    p, pd = P.market, P.cost
    supply = jnp.sum(X.old_outputs + X.outputs, axis=1) + X.imports
    uses = jnp.sum(X.old_inputs + X.inputs, axis=1) + X.households + X.public + X.capital_formation + X.exports
    scale_q = 1.0 + jnp.abs(supply)
    sales = X.outputs.T @ pd
    costs = X.inputs.T @ p + X.labour.T @ P.wages + D.capital_value * P.rate_of_return
    income = jnp.sum(D.old_income + D.income) + D.import_income
    spent = jnp.sum(D.old_consumption + D.consumption + D.old_savings + D.savings + D.old_direct_tax + D.direct_tax) + D.import_savings + D.import_direct_tax
    scale_v = 1.0 + jnp.abs(income)
    taxes = (jnp.sum(D.old_direct_tax + D.direct_tax) + D.import_direct_tax
             + jnp.sum(X.old_outputs + X.outputs, axis=1) @ P.indirect_tax + X.imports @ P.import_duties)
    return {
        "commodity_balances": (supply - uses - e.inventory_shares * supply) / scale_q,
        "commodity_accounts": (supply - uses - X.stocks) / scale_q,
        "sector_accounts": (sales - costs) / (1.0 + jnp.abs(sales)),
        "household_consumption": (jnp.sum(D.old_consumption + D.consumption) - X.households @ p) / scale_v,
        "savings_investment": (jnp.sum(D.old_savings + D.savings) + D.import_savings + r.savings_gap
                               - (X.capital_formation + X.stocks) @ p) / scale_v,
        "public_account": (taxes - X.public @ p - e.net_foreign_payments - r.savings_gap) / scale_v,
        "national_income": (income - spent) / scale_v,
        "indirect_taxes": (p - pd - P.indirect_tax) / (1.0 + jnp.abs(p)),
    }


def objective_slacks(economy: RudraFullEconomy, r: RoundResult) -> dict[str, Array]:
    """How the five objectives are met at a round's result (0: met exactly; see the module docstring).

    - `essential_minima` (Objective 1): D_i(C_α, p) − q_i per essential good (0 elsewhere), at the final
      prices (exact at a fixed point of the rounds).
    - `public_floors` (Objective 2): g − g⁰ (≥ 0).
    - `lorenz_ratio` (Objective 3): θ(ρ₂) − θ (0) and `lorenz_below_base`: θ⁰ − θ (≥ 0).
    - `capital_formation_ratio` (Objective 4): z/y − φ with z = Σ z_i p_i(d) (4.27), y (4.18).
    - `foreign_exchange` (Objective 5): Σ e_i p_i − Σ m_i p_i(m) − m₀ (0, or ≥ 0 where imports may
      fall short of the foreign exchange).
    """
    e, X, P, D = economy, r.production, r.prices, r.incomes
    demand = les_demand(r.C_alpha, P.market, e.subsistence, e.budget_shares)
    income = jnp.sum(D.old_income + D.income) + D.import_income
    return {
        "essential_minima": jnp.where(e.essential, demand - e.minima, 0.0),
        "public_floors": X.public - e.public_floors,
        "lorenz_ratio": 2.0 * ndtr(r.rho2 / jnp.sqrt(2.0)) - 1.0 - e.lorenz_target,
        "lorenz_below_base": e.lorenz_base - e.lorenz_target,
        "capital_formation_ratio": (X.capital_formation @ P.cost) / income - e.capital_formation_ratio,
        "foreign_exchange": X.exports @ P.market - X.imports @ P.imports - e.net_foreign_payments,
    }


def calibrate_savings(economy: RudraFullEconomy, iterations: int = 8, rounds: int = 30) -> tuple[RudraFullEconomy, Array]:
    """The economy with its savings rates (new and old units alike) scaled by the one factor c that makes
    them consistent with its own plan: the import sector's balancing tax d_N of the "import-balance" closure
    is 0 at the converged calculation. A secant search on c from 1 and 0.8 (`iterations` steps, each a whole
    `central_calculation`; jit/vmap), c kept in (0, 1/max v]. This is a calibration of the data, as one
    calibrates a CGE model's savings to its benchmark: under "import-balance" it makes d_N = 0 *by
    construction*, so it says nothing about that closure; it lets the other closures and λ be compared on
    economies whose savings and plan agree. Returns (economy, c)."""
    base = dataclasses.replace(economy, closure="import-balance")  # `closure` is static: not a tree_at leaf
    top = 1.0 / jnp.maximum(jnp.max(jnp.concatenate([economy.savings_rate, economy.old_savings_rate])), 1e-12)

    def scaled(e, c):
        return eqx.tree_at(lambda x: (x.savings_rate, x.old_savings_rate), e, (e.savings_rate * c, e.old_savings_rate * c))

    def residual(c):
        out = central_calculation(scaled(base, c), max_rounds=rounds)
        scale = 1.0 + jnp.abs(out.result.incomes.import_income)
        return jnp.where(out.status == CONVERGED, out.result.incomes.import_direct_tax / scale, jnp.nan)

    def body(carry, _):
        c0, f0, c1, f1 = carry
        slope = (f1 - f0) / jnp.where(c1 != c0, c1 - c0, 1.0)
        step = jnp.where((slope != 0) & jnp.isfinite(slope) & jnp.isfinite(f1), -f1 / jnp.where(slope != 0, slope, 1.0), 0.0)
        c2 = jnp.clip(c1 + step, 1e-3, top)
        f2 = residual(c2)
        done = ~jnp.isfinite(f2) | (jnp.abs(f1) <= 1e-12)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(done, a, b), (c0, f0, c1, f1), (c1, f1, c2, f2)), None

    dtype = economy.savings_rate.dtype
    c0, c1 = jnp.asarray(1.0, dtype), jnp.minimum(jnp.asarray(0.8, dtype), top)
    (_, _, c, _), _ = jax.lax.scan(body, (c0, residual(c0), c1, residual(c1)), None, length=iterations)
    return dataclasses.replace(scaled(base, c), closure=economy.closure), c
