"""The Leontief–Samuelson–Malinvaud (LSM) procedure (Malinvaud 1967; seed 001 §5.1.2).

Domain: one primary factor (labour, the numeraire, endowment L) and constant returns in every firm.

Each step the centre announces goods prices p^s. Every firm reports the input coefficients that
minimise its unit cost at those prices, obtained as the gradient of its unit-cost function
(Shephard's lemma, by `jax.grad`): labour coefficient a0_j and intermediate coefficients a_·j. The
centre then reasons on the Leontief model they define:

    p^{s+1} = (I − A^s)ᵀ⁻¹ a0^s            (prices equal to unit costs of the reported techniques)
    c = argmax U(c) s.t. p^{s+1}·c = L      (c_k = (w_k/Σw) L / p_k)
    g = (I − A^s)⁻¹ c                        (gross outputs)

Every plan is feasible (labour used = p·c = L, each balance holds with equality) and, as Malinvaud
shows, prices fall and welfare rises from the first iterate on; the prices converge to the
non-substitution-theorem prices, the plan to the optimum.

A technique matrix that is not productive (spectral radius ≥ 1) shows up as a non-positive price
vector; the run then ends with status "failed". The default starting prices, a uniform price t at which
every firm's unit cost is at most t, make the first reported matrix productive.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._linalg import solve
from ..economies.production import FirmTechnology, Plan, ProductionEconomy, output, xlogy_masked
from .base import Messages, Observation, Procedure

__all__ = ["Malinvaud", "unit_cost", "firm_coefficients", "cost_covering_price"]


def unit_cost(tech: FirmTechnology, input_prices: Array) -> Array:
    """Minimum cost of one unit of output at input prices [1 + n] (labour first), constant returns.

    For Cobb–Douglas with shares a: c(π) = (1/A) Π_l (π_l / a_l)^(a_l). Labour is the first resource
    (in the procedure's domain the only one).
    """
    shares = jnp.concatenate([tech.resource_shares[:1], tech.input_shares])
    return jnp.exp(jnp.sum(xlogy_masked(shares, input_prices)) - jnp.sum(xlogy_masked(shares, shares)) - jnp.log(tech.tfp))


def firm_coefficients(tech: FirmTechnology, goods_prices: Array) -> tuple[Array, Array]:
    """The firm-side agent: cost-minimising coefficients at the announced prices (Shephard's lemma).

    Returns:
        (labour coefficient a0_j, intermediate coefficients a_·j [n]) = ∇ unit_cost at (1, p).
    """
    prices = jnp.concatenate([jnp.ones((1,), goods_prices.dtype), goods_prices])
    grad = jax.grad(unit_cost, argnums=1)(tech, prices)
    return grad[0], grad[1:]


def cost_covering_price(economy: ProductionEconomy) -> Array:
    """A uniform price t with unit_cost_j(1, t, …, t) ≤ t for every firm (twice the smallest such t).

    With labour share α_j and κ_j = unit_cost_j(1, 1, …, 1): unit_cost_j(1, t·1) = κ_j t^(1−α_j), which
    is ≤ t iff t ≥ κ_j^(1/α_j).
    """
    ones = jnp.ones((economy.n, 1 + economy.n), economy.tfp.dtype)
    kappa = jax.vmap(unit_cost)(economy.firms, ones)
    alpha = economy.resource_shares[:, 0]
    return 2.0 * jnp.max(jnp.exp(jnp.log(kappa) / alpha))


class MalinvaudState(eqx.Module):
    prices: Array  # the prices the centre will announce next (p^{s+1})
    previous_prices: Array  # the prices announced this step (p^s)
    plan: Plan
    failed: Array


class Malinvaud(Procedure):
    """The LSM procedure; see the module docstring.

    Attributes:
        tolerance: stop when the largest relative price change |p^{s+1}/p^s − 1| is below this.
        initial_prices: optional starting prices [n] (labour = 1); default: `cost_covering_price`.
    """

    name: ClassVar[str] = "malinvaud"
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-12), converter=jnp.asarray)
    initial_prices: Array | None = None

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        if economy.m != 1:
            return jnp.asarray(True)
        return jnp.any(jnp.abs(economy.returns_to_scale - 1.0) > 1e-12) | jnp.any(economy.resource_shares[:, 0] <= 0)

    def domain_message(self) -> str:
        return (
            "malinvaud: needs exactly one resource (labour), constant returns (every returns_to_scale = 1) "
            "and a positive labour share in every firm"
        )

    def _round(self, economy: ProductionEconomy, prices: Array):
        """Centre → firms: prices; firms → centre: coefficients; the centre's Leontief calculation."""
        n = economy.n
        message = jnp.broadcast_to(prices, (n, n))
        a0, inputs = jax.vmap(firm_coefficients)(economy.firms, message)  # inputs[j, h]: good h per unit of j
        eye = jnp.eye(n, dtype=prices.dtype)
        new_prices = solve(eye - inputs, a0)
        failed = ~jnp.all(jnp.isfinite(new_prices) & (new_prices > 0))
        labour = economy.endowments[0]
        w = economy.welfare_weights
        c = w / jnp.sum(w) * labour / new_prices
        g = solve(eye - inputs.T, c)
        # labour is resource 1; other columns exist only for economies outside the domain (status)
        resource_use = jnp.zeros((n, economy.m), g.dtype).at[:, 0].set(a0 * g)
        intermediate_use = inputs * g[:, None]
        plan = Plan(
            consumption=c,
            output=output(economy, resource_use, intermediate_use),
            resource_use=resource_use,
            intermediate_use=intermediate_use,
        )
        return new_prices, plan, failed, Messages.of(message, (a0, inputs))

    def init(self, economy: ProductionEconomy) -> tuple[MalinvaudState, Messages]:
        if self.initial_prices is None:
            p0 = jnp.full((economy.n,), cost_covering_price(economy))
        else:
            p0 = jnp.broadcast_to(jnp.asarray(self.initial_prices, economy.tfp.dtype), (economy.n,))
        prices, plan, failed, msgs = self._round(economy, p0)
        return MalinvaudState(prices, p0, plan, failed), msgs

    def step(self, economy: ProductionEconomy, state: MalinvaudState) -> tuple[MalinvaudState, Messages]:
        prices, plan, failed, msgs = self._round(economy, state.prices)
        return MalinvaudState(prices, state.prices, plan, failed), msgs

    def observe(self, economy: ProductionEconomy, state: MalinvaudState) -> Observation:
        residual = jnp.max(jnp.abs(state.prices / state.previous_prices - 1.0))
        return Observation(
            plan=state.plan,
            goods_prices=state.prices,
            resource_prices=jnp.ones((economy.m,), state.prices.dtype),
            residual=residual,
            failed=state.failed,
        )
