"""Steps 1–5 of §6.2: essential prices, distribution, household demand, income, capital formation."""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import ndtr, ndtri

from ...economies.rudra_full import RudraFullEconomy


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
