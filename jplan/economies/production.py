"""The production economy shared by the short-run procedures (DESIGN.md §3, seed 001 §5).

n produced goods, one firm each, and m primary resources. Firm i turns resources r_i ∈ R^m_+ and
intermediate goods v_i ∈ R^n_+ into output

    q_i = A_i · Π_j r_ij^(ρ_i α_ij) · Π_k v_ik^(ρ_i β_ik),      Σ_j α_ij + Σ_k β_ik = 1,

so ρ_i is firm i's returns to scale. Social welfare is U(c) = Σ_k w_k log c_k. A plan is feasible when
c_k + Σ_i v_ik ≤ q_k for every good and Σ_i r_ij ≤ R_j for every resource.

Everything here is a pure function of arrays; an economy is a pytree, so a batch of economies is the
same class with a leading batch axis on every leaf.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = [
    "ProductionEconomy",
    "FirmTechnology",
    "Plan",
    "xlogy_masked",
    "firm_output",
    "output",
    "welfare",
    "excess_demand",
    "infeasibility",
    "plan_from_inputs",
]


def xlogy_masked(share: Array, x: Array) -> Array:
    """`share * log(x)` where `share > 0`, and exactly 0 (with a zero gradient) where `share == 0`.

    The double `where` keeps gradients finite at x = 0 for inputs a technology does not use.
    """
    used = share > 0
    safe_x = jnp.where(used, x, 1.0)
    return jnp.where(used, share * jnp.log(safe_x), 0.0)


class FirmTechnology(eqx.Module):
    """What one firm knows: its own Cobb–Douglas technology (informational privacy, seed 001 §4).

    With a leading axis of length n this is all firms at once, ready for `jax.vmap`.
    """

    tfp: Float[Array, ""]
    returns_to_scale: Float[Array, ""]
    resource_shares: Float[Array, " m"]
    input_shares: Float[Array, " n"]


def firm_output(tech: FirmTechnology, resources: Array, inputs: Array) -> Array:
    """Output of one firm from its resources `resources` [m] and intermediate inputs `inputs` [n]."""
    rho = tech.returns_to_scale
    log_q = (
        jnp.log(tech.tfp)
        + rho * jnp.sum(xlogy_masked(tech.resource_shares, resources))
        + rho * jnp.sum(xlogy_masked(tech.input_shares, inputs))
    )
    return jnp.exp(log_q)


class ProductionEconomy(eqx.Module):
    """A Cobb–Douglas production economy with log social welfare (DESIGN.md §3).

    Attributes:
        endowments: R [m], resource endowments, > 0.
        welfare_weights: w [n], weights of U(c) = Σ w_k log c_k, ≥ 0 and not all 0.
        tfp: A [n], total factor productivity, > 0.
        returns_to_scale: ρ [n], > 0 (ρ < 1 decreasing, = 1 constant, > 1 increasing).
        resource_shares: α [n, m], row i is firm i's resource exponents before scaling by ρ_i.
        input_shares: β [n, n], row i is firm i's intermediate-input exponents (own use allowed).

    Rows of α and β together sum to 1. Build one with `jplan.economies.from_arrays` (validated) or
    `jplan.economies.sample` (valid by construction).
    """

    endowments: Float[Array, " m"]
    welfare_weights: Float[Array, " n"]
    tfp: Float[Array, " n"]
    returns_to_scale: Float[Array, " n"]
    resource_shares: Float[Array, "n m"]
    input_shares: Float[Array, "n n"]

    @property
    def n(self) -> int:
        """Number of produced goods (= firms)."""
        return self.welfare_weights.shape[-1]

    @property
    def m(self) -> int:
        """Number of primary resources."""
        return self.endowments.shape[-1]

    @property
    def firms(self) -> FirmTechnology:
        """Every firm's private technology, stacked on a leading axis of length n."""
        return FirmTechnology(
            tfp=self.tfp,
            returns_to_scale=self.returns_to_scale,
            resource_shares=self.resource_shares,
            input_shares=self.input_shares,
        )

    @property
    def scaled_input_shares(self) -> Array:
        """M = ρ_i β_ik: the log-linear input–output matrix; productive iff its spectral radius < 1."""
        return self.returns_to_scale[:, None] * self.input_shares


class Plan(eqx.Module):
    """A production and consumption plan.

    Attributes:
        consumption: c [n], final consumption.
        output: q [n], gross output of each firm.
        resource_use: r [n, m], resource j used by firm i.
        intermediate_use: v [n, n], good k used by firm i (row i = firm i).
    """

    consumption: Float[Array, " n"]
    output: Float[Array, " n"]
    resource_use: Float[Array, "n m"]
    intermediate_use: Float[Array, "n n"]


def output(economy: ProductionEconomy, resource_use: Array, intermediate_use: Array) -> Array:
    """Gross outputs q [n] of every firm from the input allocation (r [n, m], v [n, n])."""
    return jax.vmap(firm_output)(economy.firms, resource_use, intermediate_use)


def welfare(economy: ProductionEconomy, consumption: Array) -> Array:
    """Social welfare U(c) = Σ_k w_k log c_k (goods with w_k = 0 contribute nothing)."""
    return jnp.sum(xlogy_masked(economy.welfare_weights, consumption))


def plan_from_inputs(
    economy: ProductionEconomy, resource_use: Array, intermediate_use: Array
) -> Plan:
    """The plan in which consumption is what is left of output after intermediate use."""
    q = output(economy, resource_use, intermediate_use)
    c = q - jnp.sum(intermediate_use, axis=0)
    return Plan(consumption=c, output=q, resource_use=resource_use, intermediate_use=intermediate_use)


def excess_demand(economy: ProductionEconomy, plan: Plan) -> tuple[Array, Array]:
    """Excess demands of a plan: goods c + Σ_i v_i· − q [n] and resources Σ_i r_i· − R [m]."""
    goods = plan.consumption + jnp.sum(plan.intermediate_use, axis=0) - plan.output
    resources = jnp.sum(plan.resource_use, axis=0) - economy.endowments
    return goods, resources


def infeasibility(economy: ProductionEconomy, plan: Plan) -> Array:
    """Largest relative excess demand of a plan (0 when the plan is feasible).

    Goods are measured relative to their output, resources relative to their endowment; a good with no
    output but positive demand counts as infinitely infeasible.
    """
    goods, resources = excess_demand(economy, plan)
    tiny = jnp.finfo(plan.output.dtype).tiny
    goods_rel = jnp.where(goods > 0, goods / jnp.maximum(plan.output, tiny), 0.0)
    resources_rel = jnp.maximum(resources, 0.0) / economy.endowments
    negative = jnp.minimum(jnp.min(plan.consumption), 0.0)
    worst = jnp.maximum(jnp.max(goods_rel), jnp.max(resources_rel))
    # negative consumption is infeasible too: count it relative to the largest output
    return jnp.maximum(worst, -negative / jnp.maximum(jnp.max(plan.output), tiny))
