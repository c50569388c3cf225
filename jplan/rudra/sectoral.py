"""Sectoral planners (Rudra's frame paper, §§7.3–7.5, §8.2 operation 2): each sector chooses its technology θ_j to
minimise its criterion λ_j(θ_j) = λ*(economy with column j = Ω_j(θ_j, X_j)), all other columns held fixed.

The search is projected gradient descent with optax (Adam on a cosine-decayed step applied to the gradient's
component along the admissible set, projecting θ back onto the set after every update); the gradient of λ_j is exact (LP duals through the
envelope theorem, `jplan.rudra.central.capital_gap`). Like the seed's sectoral planners (§7.5), a planner
only moves when the sequence λ_j(θ¹), λ_j(θ²), … actually decreases: the best point visited is returned,
and the starting technology is kept unless it is beaten by more than `rtol` (so a fixed point of the
planning cycles is exact). Every sector runs in parallel under `vmap`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from ..economies.rudra import RudraEconomy, SectorColumn, Technology
from .central import sectoral_criterion

__all__ = ["SectoralChoice", "choose_technology", "choose_all", "criterion_along"]

DEFAULT_STEPS = 300
DEFAULT_LEARNING_RATE = 0.05


class SectoralChoice(eqx.Module):
    """A sector's decision.

    Attributes:
        theta: the chosen technology parameters.
        coefficients: Ω_j at the chosen θ and the given activity level.
        criterion: λ_j at the choice.
        start_criterion: λ_j at the starting θ.
        path_theta: θ after every gradient step [steps + 1, P] (index 0 is the start).
        path_criterion: λ_j along the path [steps + 1].
    """

    theta: Float[Array, " P"]
    coefficients: SectorColumn
    criterion: Float[Array, ""]
    start_criterion: Float[Array, ""]
    path_theta: Float[Array, "S P"]
    path_criterion: Float[Array, " S"]


def criterion_along(economy: RudraEconomy, technology: Technology, j, theta, level) -> Float[Array, ""]:
    """λ_j(θ): the sectoral criterion of sector j with technology θ read off at activity level `level`."""
    return sectoral_criterion(economy, j, technology.coefficients(theta, level))


def choose_technology(
    economy: RudraEconomy,
    technology: Technology,
    j,
    level,
    theta0=None,
    *,
    steps: int = DEFAULT_STEPS,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    rtol: float = 1e-12,
    criterion=None,
) -> SectoralChoice:
    """Minimise λ_j over sector j's technology set by projected gradient descent (optax Adam).

    Args:
        economy: the current central data (sector j's own column is replaced, the others are fixed).
        technology: sector j's technology set (arrays for this one sector).
        j: the sector's index (may be traced, e.g. under `vmap` over sectors).
        level: the activity level X_j at which the technology is read off (the previous target).
        theta0: starting θ (default `technology.initial()`); projected before use.
        steps: gradient steps (fixed, so the search is jit/vmap-safe).
        learning_rate: initial Adam step in θ units, decayed by a cosine schedule to 1e-4 of it.
        rtol: relative improvement needed to leave the starting θ.
        criterion: λ_j as a function (economy, j, column) -> scalar, differentiable in the column; default
            `sectoral_criterion` (the Appendix-2 LP). `jplan.rudra.full.full_sectoral_criterion` is the
            full central calculation's.
    """
    theta0 = technology.initial() if theta0 is None else theta0
    theta0 = technology.project(jnp.asarray(theta0, economy.capital.dtype))
    criterion = sectoral_criterion if criterion is None else criterion
    objective = lambda th: criterion(economy, j, technology.coefficients(th, level))  # noqa: E731
    value_and_grad = jax.value_and_grad(objective)
    optimiser = optax.adam(optax.cosine_decay_schedule(learning_rate, steps, alpha=1e-4))

    def evaluate(theta):
        value, grad = value_and_grad(theta)
        value = jnp.where(jnp.isfinite(value), value, jnp.inf)
        return value, technology.tangent(theta, jnp.where(jnp.isfinite(grad), grad, 0.0))

    def step(carry, _):
        # One LP (value and dual-value gradient together) per step: the new point's value is kept for
        # the best-point bookkeeping and its gradient for the next update.
        theta, value, grad, opt_state, best_theta, best_value = carry
        updates, opt_state = optimiser.update(grad, opt_state, theta)
        new_theta = technology.project(optax.apply_updates(theta, updates))
        new_value, new_grad = evaluate(new_theta)
        better = new_value < best_value
        best_theta = jnp.where(better, new_theta, best_theta)
        best_value = jnp.where(better, new_value, best_value)
        return (new_theta, new_value, new_grad, opt_state, best_theta, best_value), (new_theta, new_value)

    start_value, start_grad = evaluate(theta0)
    init = (theta0, start_value, start_grad, optimiser.init(theta0), theta0, start_value)
    (*_, best_theta, best_value), (path_theta, path_value) = jax.lax.scan(step, init, None, length=steps)
    keep = ~(best_value < start_value - rtol * (1.0 + jnp.abs(start_value)))
    theta = jnp.where(keep, theta0, best_theta)
    value = jnp.where(keep, start_value, best_value)
    return SectoralChoice(
        theta=theta,
        coefficients=technology.coefficients(theta, level),
        criterion=value,
        start_criterion=start_value,
        path_theta=jnp.concatenate([theta0[None], path_theta]),
        path_criterion=jnp.concatenate([start_value[None], path_value]),
    )


def choose_all(
    economy: RudraEconomy,
    technologies: Technology,
    levels: Float[Array, " N"],
    theta0: Float[Array, "N P"] | None = None,
    *,
    steps: int = DEFAULT_STEPS,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    criterion=None,
) -> SectoralChoice:
    """Operation 2 of a planning cycle: every sector chooses at once (vmap over sectors).

    `technologies` carries a leading sector axis on its arrays; `levels` are the previous targets X(v−1).
    Every sector sees the same `economy` (the others' columns as handed down by the centre).
    """
    if theta0 is None:
        theta0 = jax.vmap(lambda t: t.initial())(technologies)
    sectors = jnp.arange(economy.N)

    def one(tech, j, level, th0):
        return choose_technology(economy, tech, j, level, th0, steps=steps, learning_rate=learning_rate, criterion=criterion)

    return jax.vmap(one)(technologies, sectors, levels, theta0)
