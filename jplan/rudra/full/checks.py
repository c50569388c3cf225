"""Checks of a round's result against the seed's identities and objectives, and the savings calibration."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr
from jaxtyping import Array

from ...economies.rudra_full import BALANCED_BY_IMPORT_TAX, RudraFullEconomy
from .steps_1_5 import les_demand
from .rounds import CONVERGED, RoundResult, central_calculation


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


_GRID = (0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0)
"""`calibrate_savings`'s first factors (each capped at 1/max v, where every unit would save all it earns)."""


def calibrate_savings(economy: RudraFullEconomy, iterations: int = 10, rounds: int = 30) -> tuple[RudraFullEconomy, Array]:
    """The economy with its savings rates (new and old units alike) scaled by the one factor c that makes
    them consistent with its own plan: the import sector's balancing tax d_N is 0 at the converged
    calculation, under the economy's own closure where d_N is its balancing item ("import-balance",
    "market-prices"), else under "import-balance".

    d_N rises with c (more saving leaves the import sector more to balance), piecewise linearly with jumps
    where an LP's vertex changes. The search: d_N at a grid of factors (`_GRID`, up to 1/max v) brackets the
    sign change (the lowest grid point where d_N turns positive), then `iterations` Illinois (regula falsi)
    steps narrow the bracket, using the sign of d_N at the last round even where the rounds did not converge
    (a cycle between vertices) and counting a calculation without a finite d_N as below the root (where the
    seed's step 8 turns unbounded: too little saving). Every evaluation is a whole `central_calculation`
    (jit/vmap). Returns the converged evaluation with the smallest |d_N| (relative to 1 + y_N); where none
    converged, c = 1 (the data unchanged). Where d_N jumps across 0 there is no exact root and the best
    point is the nearer side of the jump.

    This is a calibration of the data, as one calibrates a CGE model's savings to its benchmark: under
    "import-balance" it makes d_N = 0 *by construction*, so it says nothing about that closure; it lets the
    other closures and λ be compared on economies whose savings and plan agree. Returns (economy, c)."""
    own = economy.closure in BALANCED_BY_IMPORT_TAX
    base = dataclasses.replace(economy, closure=economy.closure if own else "import-balance")  # static: not a tree_at leaf
    dtype = economy.savings_rate.dtype
    top = 1.0 / jnp.maximum(jnp.max(jnp.concatenate([economy.savings_rate, economy.old_savings_rate])), 1e-12)

    def scaled(e, c):
        return eqx.tree_at(lambda x: (x.savings_rate, x.old_savings_rate), e, (e.savings_rate * c, e.old_savings_rate * c))

    def residual(c):
        """(d_N relative to 1 + y_N with a non-finite one as −∞, converged)."""
        out = central_calculation(scaled(base, c), max_rounds=rounds)
        f = out.result.incomes.import_direct_tax / (1.0 + jnp.abs(out.result.incomes.import_income))
        ok = jnp.isfinite(f)
        return jnp.where(ok, f, -jnp.inf), ok & (out.status == CONVERGED)

    def keep(best, c, f, ok):
        cb, fb = best
        better = ok & (jnp.abs(f) < jnp.abs(fb))
        return jnp.where(better, c, cb), jnp.where(better, f, fb)

    grid = jnp.minimum(jnp.asarray(_GRID, dtype), top)
    fs, oks = jax.lax.map(residual, grid)
    # the best converged grid point (the first of equals), else c = 1 with |d_N| = ∞
    i = jnp.argmin(jnp.where(oks, jnp.abs(fs), jnp.inf))
    best = keep((jnp.asarray(1.0, dtype), jnp.asarray(jnp.inf, dtype)), grid[i], fs[i], oks[i])
    # the bracket: the first grid point with d_N > 0 and the one before it (none: no sign change, no search)
    positive = fs > 0
    k = jnp.argmax(positive)
    found = jnp.any(positive) & (k > 0) & ~positive[0]
    k = jnp.maximum(k, 1)
    lo, hi = grid[k - 1], grid[k]
    flo, fhi = jnp.where(jnp.isfinite(fs[k - 1]), fs[k - 1], -1.0), fs[k]

    def body(carry, _):
        lo, flo, hi, fhi, side, best = carry
        c = (lo * fhi - hi * flo) / (fhi - flo)
        c = jnp.where((c > lo) & (c < hi), c, 0.5 * (lo + hi))
        f, ok = residual(c)
        best = keep(best, c, f, ok)
        up = f > 0  # the root is below c
        f_step = jnp.where(jnp.isfinite(f), f, -1.0)
        # Illinois: halve the stale end's value when the same end moves twice
        flo_new = jnp.where(up, jnp.where(side == 1, 0.5 * flo, flo), f_step)
        fhi_new = jnp.where(up, f_step, jnp.where(side == -1, 0.5 * fhi, fhi))
        lo, hi = jnp.where(up, lo, c), jnp.where(up, c, hi)
        return (lo, flo_new, hi, fhi_new, jnp.where(up, 1, -1), best), None

    carry = (lo, flo, hi, fhi, jnp.asarray(0), best)
    (_, _, _, _, _, searched), _ = jax.lax.scan(body, carry, None, length=iterations)
    c = jnp.where(found, searched[0], best[0])
    return dataclasses.replace(scaled(base, c), closure=economy.closure), c
