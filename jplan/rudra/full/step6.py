"""Step 6 of §6.2 (the targets' LP) and step 7 (the capital values)."""

from __future__ import annotations

import jax.numpy as jnp

from ...economies.rudra_full import RudraFullEconomy
from ...solvers.lp import linprog_on_basis as _lp
from .lp_rows import _step_lp


# ------------------------------------------------------------------------------------------------- step 6


def _supply(e: RudraFullEconomy, X, m):
    """Domestic output Σ_j (x⁰_ij + b_ij X_j) and total supply (with imports) of each commodity."""
    domestic = jnp.sum(e.old_outputs, axis=1) + e.outputs @ X
    return domestic, domestic + m


def _demand(e: RudraFullEconomy, X, h, z):
    """Σ_j (X⁰_ij + a_ij X_j) + h_i + g⁰_i + z_i + e⁰_i: every use of commodity i except stocks."""
    return jnp.sum(e.old_inputs, axis=1) + e.inputs @ X + h + e.public_floors + z + e.exports


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
