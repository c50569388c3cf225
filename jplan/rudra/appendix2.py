"""Seed 002, Appendix 2 ("Use of criterion λ_j: a numerical example"), reproduced and extended.

The appendix's LP (A.2.1): X₁ − a₁₂X₂ + m₁ = 100, −a₂₁X₁ + X₂ + m₂ = 100, m₁ + m₂ = 20, minimise
λ = γ₁X₁ + γ₂X₂ with a₂₁ = 0.6, a₁₂ = 0.8, k = (2.4, 1.6), v = (0.2, 0.1), r = (4, 7), so γ = (2.08, 1.46).

**A correction to the seed.** The appendix argues "γ₁ being greater than γ₂, the solution will correspond to
m₂ = 0", giving targets 307.7 and 284.6 and λ = 1055. That rule compares the wrong quantities: an import of
commodity i saves γᵀ(I − A)⁻¹ e_i, which is 5.68 for commodity 1 and 6.01 for commodity 2, so with both
commodities importable the LP's optimum imports commodity 2 (X = (315.4, 269.2), λ = 1049.1). The seed's
numbers are exactly the LP optimum when commodity 2 cannot be imported, which is how the shipped example
states it (`importable = [true, false]`); `unrestricted_imports` in the report gives the other reading.

The two projects of sector 1 (minimum current cost: a₂₁ = 0.55, k₁ = 2.92, r₁ = 3.2; minimum fixed capital:
a₂₁ = 0.75, k₁ = 2.19, r₁ = 4.4; v₁ = 0.2) give λ₁ = 1127.4 (the seed prints 1126.9, from its γ₁ rounded to
2.63) and 1372.

**The frontier (ours, documented):** the appendix ends with "search for technological combinations
intermediate between the extremes" without giving the intermediate techniques. We take the smooth frontier
of `ProjectFrontier` through the two projects: weights (1 − θ, θ) on (minimum current cost, minimum fixed
capital), with intermediate combinations saving 2θ(1 − θ)·0.1 in a₂₁ and 2θ(1 − θ)·0.36 in k₁ relative to the
chord (a convex technology set; at every θ the capital coefficient stays above the minimum-capital project's
2.19 and a₂₁ above the minimum-cost project's 0.55, so the end points keep their names). Along it λ₁ has an interior
minimum, λ₁ ≈ 1043.07 at θ ≈ 0.3774, below both projects and below the preliminary 1055.5.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..economies.rudra import capital_weights, column, with_column
from ..economies.rudra_io import RudraFile, loads_rudra
from .central import capital_gap, solve_central
from .._json import numbers
from .cycles import cycle_status_name, plan_cycles
from .report import central_json, column_json
from .sectoral import choose_technology, criterion_along

__all__ = ["APPENDIX2_TOML", "appendix2", "reproduce_appendix2"]

APPENDIX2_TOML = """\
# Seed 002 (Ashok Rudra), Appendix 2: the two-sector example of the sectoral criterion λ_j.
# See jplan/rudra/appendix2.py for the data's provenance and the one correction made explicit here:
# commodity 2 is not importable (the seed's solution sets m2 = 0).
kind = "rudra"

[commodities]
names = ["commodity 1", "commodity 2"]
final_demand = [100.0, 100.0]
importable = [true, false]

[sectors]
names = ["sector 1", "sector 2"]
inputs = [[0.0, 0.8], [0.6, 0.0]]   # a12 = 0.8 (commodity 1 into sector 2), a21 = 0.6
capital = [2.4, 1.6]
savings_rate = [0.2, 0.1]
growth = [4.0, 7.0]

[foreign_exchange]
available = 20.0

[constraints]
balances = "equality"
imports = "equality"

[[technology]]
sector = "sector 1"
projects = [
  { name = "minimum current cost", inputs = [0.0, 0.55], capital = 2.92, savings_rate = 0.2, growth = 3.2 },
  { name = "minimum fixed capital", inputs = [0.0, 0.75], capital = 2.19, savings_rate = 0.2, growth = 4.4 },
]
mixing_savings = { inputs = [0.0, 0.1], capital = 0.36 }
reference_level = 307.7
"""


def appendix2() -> RudraFile:
    """The Appendix 2 economy with sector 1's frontier (the text of `APPENDIX2_TOML`)."""
    return loads_rudra(APPENDIX2_TOML)


# Compiled once per process (Python ints such as `steps` are static under filter_jit).
_choose = eqx.filter_jit(choose_technology)
_cycles = eqx.filter_jit(plan_cycles)


@eqx.filter_jit
def _along_frontier(economy, technology, sector, level, weights):
    return jax.vmap(lambda t: criterion_along(economy, technology, sector, jnp.stack([1.0 - t, t]), level))(weights)


def _plan_dict(plan) -> dict:
    out = central_json(plan)
    del out["status"], out["surplus"]
    return out


def reproduce_appendix2(*, grid_points: int = 100_001, steps: int = 300) -> dict:
    """Every number of Appendix 2, the gradient search along the frontier, a grid check and the cycles.

    Returns a JSON-ready dict with keys `targets`, `imports`, `lambda`, `gamma`, `projects` (each with its
    coefficients and `lambda_1`), `optimal_technology` (θ, coefficients, λ₁, and the grid search's θ and λ₁),
    `path` (the gradient search's λ₁ per step), `frontier` (θ and λ₁ on a coarse grid, for plotting),
    `cycles` (planning cycles from the preliminary round) and `unrestricted_imports` (both commodities
    importable: the correction discussed in the module docstring).
    """
    f = appendix2()
    economy, tech = f.economy, f.technologies
    sector = 0
    tech1 = jax.tree.map(lambda x: x[sector], tech)
    plan = solve_central(economy)
    level = plan.targets[sector]

    projects = []
    for p, name in enumerate(f.projects[sector]):
        theta = jnp.eye(tech1.mask.shape[0])[p]
        col = tech1.coefficients(theta, level)
        varied = with_column(economy, sector, col)
        projects.append(
            {
                "name": name,
                "theta": numbers(theta),
                "coefficients": column_json(col),
                "gamma_1": float(capital_weights(varied)[sector]),
                "lambda_1": float(capital_gap(varied)),
            }
        )

    choice = _choose(economy, tech1, sector, level, steps=steps)
    weights = jnp.linspace(0.0, 1.0, grid_points)
    lam = _along_frontier(economy, tech1, sector, level, weights)
    best = int(jnp.nanargmin(lam))
    coarse = np.linspace(0, len(weights) - 1, 101).astype(int)

    history = _cycles(economy, tech, cycles=10, steps=steps)
    last = int(history.cycles)

    free = dataclasses.replace(economy, importable=jnp.ones_like(economy.importable))
    free_plan = solve_central(free)
    free_projects = [
        float(capital_gap(with_column(free, sector, tech1.coefficients(jnp.eye(2)[p], level)))) for p in range(2)
    ]
    return {
        **_plan_dict(plan),
        "base_column_sector_1": column_json(column(economy, sector)),
        "projects": projects,
        "optimal_technology": {
            "theta": numbers(choice.theta),
            "coefficients": column_json(choice.coefficients),
            "lambda_1": float(choice.criterion),
            "gradient_steps": steps,
            "grid_theta": float(weights[best]),
            "grid_lambda_1": float(lam[best]),
            "grid_points": grid_points,
        },
        "path": numbers(choice.path_criterion),
        "path_theta": numbers(choice.path_theta[:, 1]),
        "frontier": {"theta": numbers(weights[coarse]), "lambda_1": numbers(lam[coarse])},
        "cycles": {
            "status": cycle_status_name(history.status),
            "cycles": last,
            "lambda": numbers(history.capital_gap[: last + 1]),
            "targets": numbers(history.targets[: last + 1]),
        },
        "unrestricted_imports": {**_plan_dict(free_plan), "projects_lambda_1": free_projects},
    }
