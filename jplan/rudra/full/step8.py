"""Step 8 of §6.2: the prices' and taxes' LP under the chosen closure (the package docstring, reading 6)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ...economies.rudra_full import BALANCED_BY_IMPORT_TAX, CLOSURES, RudraFullEconomy
from ...solvers.lp import linprog_on_basis as _lp
from .lp_rows import _step_lp


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

    * ``"market-prices"``: the seed's own list of price unknowns: every non-essential good's market price
      p_i = p_i(d) + t_i with its indirect tax t_i in [0, c·p_i(d)] (c = `max_indirect_tax_rate`, default
      0.15: a rate t/p up to 13%), chosen by the LP
      with λ as objective (a 1e-9 tie-break prefers the smaller taxes); direct-tax rates and duties the base
      year's, d_N balancing. (4.8) is *not* imposed — the seed's step 8 omits it — and foreign exchange at
      the new prices is left to the next round's step 6 (the seed's §6.3: "p_i^1 are to be used for market
      prices ... in steps 1, 3, 6 and 7 in the second round"); at the rounds' fixed point (4.8) and (4.5)
      hold again (Walras' law: measured to 1e-11 on the worked example and 62 random economies).

    Variables z = [ψ, p(d) (n), π, d_N⁺, d_N⁻] ("import-balance"), [ψ, p(d), π, d⁰ (N), d (N), d_N, a slack
    per upper bound (2N + 1), S_g⁺, S_g⁻] ("direct-taxes") or [t (n), p(d) (n), π, d_N⁺, d_N⁻, a slack per
    tax bound (n)] ("market-prices"). Returns (StepLP, unpack, gap), gap(z) = S_g.
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
    market = closure == "market-prices"
    balancing = closure in BALANCED_BY_IMPORT_TAX
    ness = ~e.essential
    cap_rate = e.max_indirect_tax_rate  # market-prices: each non-essential good's t_i in [0, cap_rate · p_i(d)]
    size = (3 * n + 3) if market else (n + 4 if balancing else n + 2 + 2 * (2 * N + 1) + 2)
    allowed = jnp.ones(size, bool)
    if market:  # z = [t (n), p(d) (n), π, d_N⁺, d_N⁻, slack (n)]; t and its slack only for non-essential goods
        allowed = allowed.at[:n].set(ness).at[2 * n + 3:].set(ness)
    penalty = 100.0 * (1.0 + jnp.max(e.growth) + jnp.max(e.old_growth) + e.import_growth)

    def unpack(zv):
        if market:
            t, D, pi = zv[:n], zv[n : 2 * n], zv[2 * n]
            p = jnp.where(e.essential, essential_prices, D + t)
            y_old, y_new, y_imp = _incomes(e, X, m, p, D, import_duties)
            d_old, d_new, d_imp = e.base_direct_tax * y_old, e.base_direct_tax * y_new, zv[2 * n + 1] - zv[2 * n + 2]
            return p, D, pi, d_old, d_new, d_imp, (y_old, y_new, y_imp), zv[2 * n + 3:]
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
        parts = [unit, savings[None], public[None]] if market else [unit, consumption[None], savings[None], public[None]]
        if market:
            t = zv[:n]
            parts.append(jnp.where(ness, t + slack - cap_rate * D, 0.0))
        if not balancing:
            cap = e.max_direct_tax_rate
            upper = jnp.concatenate([cap * y_old, cap * y_new, y_imp[None]])
            parts.append(jnp.concatenate([d_old, d_new, d_imp[None]]) + slack - upper)
        return jnp.concatenate(parts)

    def objective(zv):
        p, D, pi, d_old, d_new, d_imp, (y_old, y_new, y_imp), _ = unpack(zv)
        saved = e.old_growth @ (e.old_savings_rate * (y_old - d_old)) + e.growth @ (e.savings_rate * (y_new - d_new))
        elastic = 0.0 if balancing else penalty * (zv[-2] + zv[-1])
        if market:  # a tiny tie-break: among λ-equal vertices, the smallest indirect taxes
            elastic = 1e-9 * jnp.sum(zv[:n])
        return X @ (e.capital.T @ p) - saved - e.import_growth * (y_imp - d_imp) + elastic

    return _step_lp(rows, objective, size, dtype, allowed), unpack, gap


def step8_prices(economy: RudraFullEconomy, X, m, stocks, households, capital_formation, unit_capital, essential_prices,
                 reference_prices):
    """Step 8: the LP of `step8_lp` solved; its prices, taxes, π, the level ψ (NaN under "market-prices") and λ."""
    e = economy
    lp, unpack, gap = step8_lp(e, X, m, stocks, households, capital_formation, unit_capital, essential_prices,
                               reference_prices)
    x, status = _lp(lp.c, lp.A, lp.b, lp.allowed)
    p, D, pi, d_old, d_new, d_imp, (y_old, y_new, y_imp), _ = unpack(x)
    saved = e.old_growth @ (e.old_savings_rate * (y_old - d_old)) + e.growth @ (e.savings_rate * (y_new - d_new))
    lam = X @ (e.capital.T @ p) - saved - e.import_growth * (y_imp - d_imp)  # λ (5.4), without the elastic term
    level = jnp.asarray(jnp.nan, x.dtype) if e.closure == "market-prices" else x[0]  # no single level: prices one by one
    return _Step8(prices=p, cost_prices=D, indirect_tax=p - D, import_duties=e.base_import_duties, old_direct_tax=d_old,
                  direct_tax=d_new, import_direct_tax=d_imp, rate_of_return=pi, level=level, savings_gap=gap(x),
                  lam=lam, status=status)
