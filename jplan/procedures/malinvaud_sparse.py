"""Malinvaud's (LSM) procedure on national-size sparse economies (`jplan.economies.SparseProductionEconomy`).

The same rule as `jplan.procedures.Malinvaud`, at a scale where no dense matrix fits: each round the
centre announces goods prices p (labour = 1); every firm j, reading only its own technology and the prices
of the goods in its own input slots, reports its cost-minimising coefficients (Cobb–Douglas, Shephard's
lemma: a0_j = α_j c_j, a_ij = β_jk c_j / p_i with c_j its unit cost); the centre then solves the Leontief
model the reports define,

    p' = a0 + Aᵀ p'          (prices equal to the unit costs of the reported techniques),
    c  = (w/Σw) L / p'        (planned consumption),
    g  = A g + c              (gross outputs),

by the iterative sparse solvers of `jplan.solvers.sparse` (BiCGSTAB, matrix-free over the firms' slots),
each checked on the data. Firms are vmapped over their own input lists. Every plan is feasible (labour
used = p'·c = L) and, as Malinvaud shows, welfare rises and prices fall from the first iterate on; the run
stops when the largest relative price change is at most `tolerance`.

Start: as in the dense procedure, uniform probe prices t = 1, 2, 4, … until every firm's reported
coefficients cover its cost, a0_j + t Σ_i a_ij ≤ t; then p = t·1 certifies that the first reported matrix is
productive. Status: "converged", "not_converged" (the step limit), or "failed" (a solve that did not
converge, or no probe covered the costs).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from ..economies.sparse import CompactPattern, SparseProductionEconomy
from ..solvers.sparse import labour_values, leontief_quantities
from .malinvaud import first_covering_price

__all__ = ["sparse_firm_coefficients", "sparse_malinvaud", "SparseMalinvaudResult"]

STATUS_NAMES = ("not_converged", "converged", "failed")


def sparse_firm_coefficients(shares: Array, labour_share: Array, tfp: Array, input_prices: Array) -> tuple[Array, Array]:
    """The firm-side agent: (labour coefficient, input coefficients [K]) at the prices of its own inputs
    [K] (labour = 1), for q = A ℓ^α Π_k v_k^β_k with α + Σβ = 1."""
    used = shares > 0
    log_p = jnp.log(jnp.where(used, input_prices, 1.0))
    log_cost = (jnp.sum(jnp.where(used, shares * (log_p - jnp.log(jnp.where(used, shares, 1.0))), 0.0))
                - labour_share * jnp.log(labour_share) - jnp.log(tfp))
    cost = jnp.exp(log_cost)
    return labour_share * cost, jnp.where(used, shares * cost / jnp.where(used, input_prices, 1.0), 0.0)


def _reports(economy: SparseProductionEconomy, prices: Array) -> tuple[Array, Array]:
    return jax.vmap(sparse_firm_coefficients)(economy.input_shares, economy.labour_shares, economy.tfp,
                                              prices[economy.inputs])


class SparseMalinvaudResult(eqx.Module):
    """What a run of `sparse_malinvaud` returns (per-step series have length steps + 1; index 0 is the
    opening round).

    Attributes:
        prices: p [n], the last prices the centre computed (labour = 1).
        consumption, output: c [n] and gross outputs g [n] of the last plan.
        welfare: Σ w log c per round; residual: the largest relative price change per round.
        solver_iterations: products with A or Aᵀ the centre's two solves took per round.
        solver_residual: the larger of the two solves' relative residuals, recomputed from the data.
        probes: the uniform probe rounds of the start.
        messages_down, messages_up: floats sent in all (prices to each firm's slots; coefficients back).
        status: 0 not_converged, 1 converged, 2 failed (`STATUS_NAMES`); steps: rounds taken after the first.
    """

    prices: Float[Array, " n"]
    consumption: Float[Array, " n"]
    output: Float[Array, " n"]
    welfare: Float[Array, " T"]
    residual: Float[Array, " T"]
    solver_iterations: Int[Array, " T"]
    solver_residual: Float[Array, " T"]
    probes: Int[Array, ""]
    messages_down: Int[Array, ""]
    messages_up: Int[Array, ""]
    status: Int[Array, ""]
    steps: Int[Array, ""]
    converged: Bool[Array, ""]


def _start(economy: SparseProductionEconomy) -> tuple[Array, Array]:
    """The first uniform price t = 2^k at which every firm's reported coefficients cover its cost."""
    n = economy.n
    dtype = economy.input_shares.dtype

    def covers(t):
        a0, a = _reports(economy, jnp.full((n,), t, dtype))
        return jnp.all(a0 + t * jnp.sum(a, axis=1) <= t)

    return first_covering_price(covers, dtype)


def sparse_malinvaud(economy: SparseProductionEconomy, steps: int = 50, tolerance: float = 1e-9, *,
                     solver_tolerance: float = 1e-12, method: str = "bicgstab", max_iter: int = 10_000,
                     pattern: CompactPattern | None = None) -> SparseMalinvaudResult:
    """Run Malinvaud's procedure on a sparse economy for at most `steps` rounds after the first (see the
    module docstring). jit- and vmap-safe (`steps` static); the rounds are a `lax.scan`, frozen once the
    price change is at most `tolerance` or a solve fails, and gradients flow through the solves' implicit
    adjoints.

    Args:
        economy: one `SparseProductionEconomy`.
        steps: the round limit after the opening round.
        tolerance: stop when max |p'/p − 1| is at most this.
        solver_tolerance: the relative residual the centre's sparse solves must reach.
        method: their method, "bicgstab" or "neumann" (`jplan.solvers.sparse`).
        max_iter: their limit on products with A or Aᵀ.
        pattern: `compact_pattern(economy)` (built once, on the host): the centre then solves each round's
            reported technique in the compact layout (memory ∝ the non-zeros, 3–4× faster at 10⁶ goods on a
            CPU, docs/benchmarks_scale.md) instead of the padded one. The same rounds either way.
    """
    n, K = economy.inputs.shape
    w = economy.welfare_weights
    share = w / jnp.sum(w)

    def round_(prices):
        a0, a = _reports(economy, prices)
        model = (economy.technique(a, a0, jnp.zeros_like(a0)) if pattern is None
                 else pattern.economy(a, a0, jnp.zeros_like(a0)))
        value = labour_values(model, method=method, tolerance=solver_tolerance, max_iter=max_iter)
        new_prices = value.x
        ok_prices = jnp.all(jnp.isfinite(new_prices) & (new_prices > 0))
        c = share * economy.labour / jnp.where(ok_prices, new_prices, 1.0)
        quantity = leontief_quantities(eqx.tree_at(lambda m: m.final_demand, model, c), method=method,
                                       tolerance=solver_tolerance, max_iter=max_iter)
        failed = ~value.converged | ~quantity.converged | ~ok_prices
        return dict(prices=new_prices, consumption=c, output=quantity.x,
                    welfare=jnp.sum(w * jnp.log(c)),
                    residual=jnp.max(jnp.abs(new_prices / prices - 1.0)),
                    solver_iterations=value.iterations + quantity.iterations,
                    solver_residual=jnp.maximum(value.residual, quantity.residual), failed=failed)

    t, probes = _start(economy)
    first = round_(jnp.full((n,), t, economy.input_shares.dtype))
    status0 = jnp.where(first["failed"] | ~jnp.isfinite(t), 2, jnp.where(first["residual"] <= tolerance, 1, 0))

    def body(carry, _):
        current, status = carry
        running = status == 0
        # a real branch for one economy (frozen rounds cost nothing); under vmap both sides, as before
        new = jax.lax.cond(running, lambda c: round_(c["prices"]), lambda c: c, current)
        keep = running & ~new["failed"]
        current = jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), new, current)
        status = jnp.where(running, jnp.where(new["failed"], 2, jnp.where(new["residual"] <= tolerance, 1, 0)), status)
        series = {k: current[k] for k in ("welfare", "residual", "solver_iterations", "solver_residual")}
        return (current, status), (series, running)

    (last, status), (series, active) = jax.lax.scan(body, (first, status0), None, length=steps)
    taken = jnp.sum(active)
    rounds = 1 + taken
    stack = lambda k: jnp.concatenate([jnp.asarray(first[k])[None], series[k]])
    nonzeros = jnp.sum(economy.input_shares > 0)
    return SparseMalinvaudResult(
        prices=last["prices"], consumption=last["consumption"], output=last["output"],
        welfare=stack("welfare"), residual=stack("residual"), solver_iterations=stack("solver_iterations"),
        solver_residual=stack("solver_residual"), probes=probes,
        # each firm hears the prices of its own inputs and answers with its labour and input coefficients
        messages_down=(probes + rounds) * nonzeros, messages_up=(probes + rounds) * (n + nonzeros),
        status=status, steps=taken, converged=status == 1,
    )


# -- Heal's rule on the sparse type -----------------------------------------------------------------------
#
# Every allocation is a *use* of a good: the slot (j, k) of firm j holding good `inputs[j, k]` (the slots
# the firm said it uses) and each good's consumption; labour's uses are the n firms. A good's uses are a
# segment (its id is the good), so every per-good quantity of the dense rule (the count of held uses, the
# averages, the speed, the projection's shift, the half-loss limit) is a segment reduction over the uses.
