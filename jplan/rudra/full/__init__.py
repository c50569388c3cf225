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
   infeasible). Three closures are implemented (`RudraFullEconomy.closure`, the file's
   `constraints.closure`); the first two keep the *level* ψ of the non-essential market prices as an unknown
   (their relative prices are the round's; the essential goods keep their step-1 prices, (6.17)), the cost
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
   - ``"market-prices"`` takes the seed's own list of price unknowns: each non-essential market price is
     its cost price plus an indirect tax t_i ∈ [0, c·p_i(d)] chosen by the LP (λ the objective), c the
     economy's `max_indirect_tax_rate` (default 0.15; at c = 1 market prices can spiral round on round until
     step 8 is unbounded, see the README's second closures table); direct-tax
     rates and duties the base year's, d_N balancing. (4.8) is not imposed, as in the seed's step 8:
     foreign exchange at the new prices is left to the next round's step 6 (§6.3 reuses step 8's market
     prices there), and at the fixed point of the rounds (4.8) and (4.5) hold again by Walras' law. This
     is the reading the seed's text supports (its step 8 lists the market prices among the unknowns and
     §6.3 expects new ones), and the only one under which market prices move between rounds.
   Under the first two, ψ = 1 exactly: step 6 balanced foreign exchange at the opening prices, exports are
   valued at market prices, and (4.8) is (4.5) at the new ones, so the non-essential market prices do not
   move between rounds (nor do the essential goods', which step 1 sets from the normative basket). Indirect taxes τ = p − p(d) may be negative (subsidies, as
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

from .lp_rows import StepLP
from .steps_1_5 import les_demand, step1_essential_prices, step2_distribution, step3_household_demand, step4_income, step5_capital_formation
from .step6 import step6_lp, step6_targets, step7_capital_values
from .step8 import step8_lp, step8_prices
from .rounds import CentralCalculation, FULL_STATUS, IncomeStructure, PriceStructure, ProductionStructure, RoundResult, RoundState, central_calculation, central_round, full_capital_gap, full_status_name, initial_state
from .cycles import FullCycles, full_planning_cycles, full_sectoral_criterion, with_full_column
from .checks import balance_residuals, calibrate_savings, objective_slacks
from ...economies.rudra_full import CLOSURES

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
